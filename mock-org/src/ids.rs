//! Salesforce record ids: 15-character case-sensitive ids and their 18-character
//! case-insensitive form (the 3-character suffix encodes which letters are upper case).

const SUFFIX_ALPHABET: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ012345";
const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

/// Whether `s` has the shape of a Salesforce id (15 or 18 alphanumerics).
pub fn is_well_formed(s: &str) -> bool {
    (s.len() == 15 || s.len() == 18) && s.bytes().all(|b| b.is_ascii_alphanumeric())
}

/// The 18-character form of a well-formed id, or `None` when `s` is not one. An 18-character id
/// is case-insensitive: its suffix restores the case of the body, so `001a0000006vm9riac` is
/// `001A0000006Vm9rIAC`; a suffix that contradicts the body (an upper-case flag on a digit) is
/// rejected.
pub fn to18(s: &str) -> Option<String> {
    if !is_well_formed(s) {
        return None;
    }
    let mut body: Vec<u8> = s.as_bytes()[..15].to_vec();
    if s.len() == 18 {
        for (chunk, flag) in body.chunks_mut(5).zip(s[15..].bytes()) {
            let bits = SUFFIX_ALPHABET.iter().position(|c| *c == flag.to_ascii_uppercase())?;
            for (i, b) in chunk.iter_mut().enumerate() {
                let upper = bits & (1 << i) != 0;
                if upper && !b.is_ascii_alphabetic() {
                    return None;
                }
                *b = if upper { b.to_ascii_uppercase() } else { b.to_ascii_lowercase() };
            }
        }
    }
    let mut out = String::from_utf8(body).ok()?;
    let suffix: String = out
        .as_bytes()
        .chunks(5)
        .map(|chunk| {
            let bits =
                chunk.iter().enumerate().filter(|(_, b)| b.is_ascii_uppercase()).fold(0, |acc, (i, _)| acc | (1 << i));
            SUFFIX_ALPHABET[bits] as char
        })
        .collect();
    out.push_str(&suffix);
    Some(out)
}

/// A new 18-character id: the object's key prefix, then `n` in base 62, zero padded.
pub fn make(prefix: &str, mut n: u64) -> String {
    let mut digits = [b'0'; 12];
    for slot in digits.iter_mut().rev() {
        *slot = BASE62[(n % 62) as usize];
        n /= 62;
    }
    let body = format!("{prefix}{}", std::str::from_utf8(&digits).expect("ascii"));
    to18(&body).expect("generated ids are well formed")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn suffix_matches_salesforce_algorithm() {
        // Known pair from Salesforce documentation examples.
        assert_eq!(to18("001A0000006Vm9r").as_deref(), Some("001A0000006Vm9rIAC"));
        assert_eq!(to18("001A0000006Vm9rIAC").as_deref(), Some("001A0000006Vm9rIAC"));
        assert_eq!(to18("001a0000006vm9riac").as_deref(), Some("001A0000006Vm9rIAC"));
        assert_eq!(to18("001A0000006Vm9r555"), None, "upper-case flags on digits");
        assert_eq!(to18("001A0000006Vm9"), None);
        assert_eq!(to18("001A0000006Vm9r!!!"), None);
    }

    #[test]
    fn generated_ids_carry_prefix_and_are_unique() {
        let a = make("001", 1);
        let b = make("001", 2);
        assert!(a.starts_with("001") && a.len() == 18);
        assert_ne!(a, b);
    }
}
