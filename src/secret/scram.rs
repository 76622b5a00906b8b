//! Postgres SCRAM-SHA-256 password verifiers, so `ALTER ROLE … PASSWORD` sends a salted hash and
//! never the password itself: the statement may end up in Postgres's log (a failed statement is
//! logged with its text), and the verifier is what `pg_authid` stores anyway.
//!
//! The format is Postgres's own (`src/common/scram-common.c`):
//! `SCRAM-SHA-256$<iterations>:<salt>$<StoredKey>:<ServerKey>`, base64, with
//! SaltedPassword = PBKDF2-HMAC-SHA256(password, salt, iterations), ClientKey =
//! HMAC(SaltedPassword, "Client Key"), StoredKey = SHA-256(ClientKey), ServerKey =
//! HMAC(SaltedPassword, "Server Key").

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use hmac::{Hmac, KeyInit, Mac};
use rand::RngExt;
use sha2::{Digest, Sha256};

use super::Secret;

/// Postgres's default iteration count (`scram_iterations`).
pub const ITERATIONS: u32 = 4096;

fn hmac(key: &[u8], data: &[u8]) -> Vec<u8> {
    // HMAC accepts keys of any length, so this cannot fail.
    let mut mac = match <Hmac<Sha256> as KeyInit>::new_from_slice(key) {
        Ok(m) => m,
        Err(_) => unreachable_key(),
    };
    mac.update(data);
    mac.finalize().into_bytes().to_vec()
}

#[cold]
fn unreachable_key() -> ! {
    // `new_from_slice` only fails for fixed-size-key MACs; HMAC is not one.
    panic!("HMAC refused a key")
}

/// Whether Postgres hashes this password as given: SASLprep leaves printable ASCII unchanged, so
/// for it our verifier is exactly the one Postgres would compute.
pub fn is_supported(password: &Secret) -> bool {
    password
        .expose()
        .chars()
        .all(|c| c.is_ascii_graphic() || c == ' ')
}

/// The verifier of `password` with a given salt (tests) …
pub fn verifier_with_salt(password: &Secret, salt: &[u8], iterations: u32) -> String {
    let mut salted = [0u8; 32];
    pbkdf2::pbkdf2_hmac::<Sha256>(password.expose().as_bytes(), salt, iterations, &mut salted);
    let client_key = hmac(&salted, b"Client Key");
    let stored_key = Sha256::digest(&client_key);
    let server_key = hmac(&salted, b"Server Key");
    format!(
        "SCRAM-SHA-256${iterations}:{}${}:{}",
        STANDARD.encode(salt),
        STANDARD.encode(stored_key),
        STANDARD.encode(server_key)
    )
}

/// … and with a fresh random 16-byte salt, as Postgres makes them.
pub fn verifier(password: &Secret) -> Secret {
    let mut salt = [0u8; 16];
    rand::rng().fill(&mut salt);
    Secret::new(verifier_with_salt(password, &salt, ITERATIONS))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn hmac_matches_rfc_4231_case_2() {
        assert_eq!(
            hex(&hmac(b"Jefe", b"what do ya want for nothing?")),
            "5bdcc146bf60754e6a042426089575c75a003f089d2739839dec58b964ec3843"
        );
    }

    #[test]
    fn pbkdf2_matches_rfc_7914() {
        let mut out = [0u8; 64];
        pbkdf2::pbkdf2_hmac::<Sha256>(b"passwd", b"salt", 1, &mut out);
        assert_eq!(
            hex(&out),
            "55ac046e56e3089fec1691c22544b605f94185216dde0465e68b9d57c20dacbc\
             49ca9cccf179b645991664b39d77ef317c71b845b1e30bd509112041d3a19783"
        );
    }

    #[test]
    fn verifier_shape_and_salt() {
        let pw = Secret::new("Db-Passw0rd");
        let v = verifier_with_salt(&pw, &[0u8; 16], 4096);
        assert!(
            v.starts_with("SCRAM-SHA-256$4096:AAAAAAAAAAAAAAAAAAAAAA==$"),
            "{v}"
        );
        assert_eq!(v.matches(':').count(), 2);
        assert!(!v.contains("Db-Passw0rd"));
        // Same password, fresh salts: different verifiers.
        assert_ne!(verifier(&pw).expose(), verifier(&pw).expose());
        assert!(is_supported(&pw));
        assert!(!is_supported(&Secret::new("pässwort")));
    }
}
