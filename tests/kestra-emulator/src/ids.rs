//! Identifiers shaped like Kestra's `IdUtils.create()`: a random UUID written in base62 (22 chars).

use rand::RngExt;

const ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

pub fn new_id() -> String {
    let mut rng = rand::rng();
    let mut v: u128 = rng.random();
    // A v4 UUID has 122 random bits; base62 of 128 bits gives at most 22 digits.
    let mut out = Vec::with_capacity(22);
    for _ in 0..22 {
        let idx = usize::try_from(v % 62).unwrap_or(0);
        out.push(ALPHABET[idx]);
        v /= 62;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

/// Deterministic id for seeded data, so seeds are reproducible across restarts.
pub fn seeded_id(n: u64) -> String {
    let mut v = u128::from(n).wrapping_mul(0x9E37_79B9_7F4A_7C15_F39C_C060_5CED_C835) ^ 0x5EED;
    let mut out = Vec::with_capacity(22);
    for _ in 0..22 {
        let idx = usize::try_from(v % 62).unwrap_or(0);
        out.push(ALPHABET[idx]);
        v /= 62;
    }
    out.reverse();
    String::from_utf8(out).unwrap_or_default()
}

pub fn uuid_v4() -> String {
    let mut rng = rand::rng();
    let mut b: [u8; 16] = rng.random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    #[test]
    fn shapes() {
        let a = super::new_id();
        assert_eq!(a.len(), 22);
        assert_ne!(a, super::new_id());
        assert_eq!(super::seeded_id(7), super::seeded_id(7));
        assert_ne!(super::seeded_id(7), super::seeded_id(8));
        assert_eq!(super::uuid_v4().len(), 36);
    }
}
