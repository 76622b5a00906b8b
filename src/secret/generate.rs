//! Generated passwords: long, random, and always inside Kestra's policy (upper, lower, digit).

use rand::RngExt;

use super::Secret;

/// Letters and digits only: no quoting trouble in YAML, URLs, shells or JDBC.
const ALPHABET: &[u8] = b"ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz23456789";

/// A random password of `len` (≥ 8) characters with at least one upper-case letter, one
/// lower-case letter and one digit. Uses the thread's CSPRNG, seeded from the OS.
pub fn generate_password(len: usize) -> Secret {
    let len = len.max(8);
    let mut rng = rand::rng();
    loop {
        let candidate: String = (0..len)
            .map(|_| ALPHABET[rng.random_range(0..ALPHABET.len())] as char)
            .collect();
        let ok = candidate.chars().any(|c| c.is_ascii_uppercase())
            && candidate.chars().any(|c| c.is_ascii_lowercase())
            && candidate.chars().any(|c| c.is_ascii_digit());
        if ok {
            return Secret::new(candidate);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn meets_the_policy_and_differs_each_time() {
        let a = generate_password(32);
        let b = generate_password(32);
        assert_eq!(a.expose().len(), 32);
        assert_ne!(a, b);
        assert_eq!(generate_password(3).expose().len(), 8);
    }
}
