//! PKCE (RFC 7636), S256 only.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};

/// A verifier is 43 to 128 characters of the unreserved set.
pub fn verifier_is_well_formed(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// An S256 challenge is the base64url (no padding) of a SHA-256 digest: 43 characters.
pub fn challenge_is_well_formed(c: &str) -> bool {
    c.len() == 43 && c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// A plain challenge (accepted only under the `pkce-plain` fault) is stored marked as such, so
/// the token endpoint compares the verifier with it as RFC 7636's plain method does.
pub fn plain_marker(challenge: &str) -> String {
    format!("plain:{challenge}")
}

pub fn is_plain(stored: &str) -> bool {
    stored.starts_with("plain:")
}

/// Whether the verifier answers the stored challenge (S256, or a marked plain one).
pub fn verifier_answers(stored: &str, verifier: &str) -> bool {
    match stored.strip_prefix("plain:") {
        Some(plain) => plain == verifier,
        None => verifier_is_well_formed(verifier) && s256(verifier) == stored,
    }
}

pub fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc7636_appendix_b() {
        assert_eq!(s256("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"), "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM");
        assert!(verifier_is_well_formed("dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk"));
        assert!(!verifier_is_well_formed("short"));
        assert!(!verifier_is_well_formed(&"a+".repeat(30)));
        assert!(challenge_is_well_formed("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM"));
        assert!(!challenge_is_well_formed("E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-c="));
    }
}
