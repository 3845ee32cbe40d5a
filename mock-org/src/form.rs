//! `application/x-www-form-urlencoded` decoding for query strings and OAuth form posts. Written
//! out rather than taken from serde_urlencoded so a malformed escape is a clear 400, not a 500.

/// Decodes `a=1&b=2`; a malformed percent-escape or invalid UTF-8 is an error naming the position.
pub fn pairs(raw: &str) -> Result<Vec<(String, String)>, String> {
    raw.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            Ok((percent_decode(k)?, percent_decode(v)?))
        })
        .collect()
}

/// The value of `name`; a parameter sent twice is an error (RFC 6749 3.1: parameters MUST NOT be
/// included more than once).
pub fn single(pairs: &[(String, String)], name: &str) -> Result<Option<String>, String> {
    let mut found = pairs.iter().filter(|(k, _)| k == name);
    let first = found.next().map(|(_, v)| v.clone());
    if found.next().is_some() {
        return Err(format!("parameter '{name}' is repeated"));
    }
    Ok(first)
}

pub fn percent_decode(s: &str) -> Result<String, String> {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                out.push(hex.ok_or_else(|| format!("malformed percent-encoding at character {}", i + 1))?);
                i += 2;
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8(out).map_err(|_| "parameters are not valid UTF-8".to_string())
}

/// Percent-encodes everything but RFC 3986 unreserved characters.
pub fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decodes_and_refuses_bad_escapes() {
        assert_eq!(pairs("a=1+2&b=%41").unwrap(), vec![("a".into(), "1 2".into()), ("b".into(), "A".into())]);
        assert!(pairs("a=%G1").unwrap_err().contains("character 1"));
        assert!(pairs("a=%").is_err());
        assert!(pairs("a=%FF").is_err());
        assert_eq!(single(&pairs("a=1&a=2").unwrap(), "a").unwrap_err(), "parameter 'a' is repeated");
        assert_eq!(encode("a b/é"), "a%20b%2F%C3%A9");
    }
}
