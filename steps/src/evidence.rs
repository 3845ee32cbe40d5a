//! Evidence: every exchange a scenario makes, as text an auditor can read. Secrets are redacted at
//! capture time, so no later writer can leak them by forgetting to.

use std::sync::{Arc, Mutex};

/// Secrets known to a run (tokens, codes, verifiers, passwords, client secrets), shared by every
/// scenario's probe so one scenario's token is redacted in another's evidence too.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    inner: Arc<Mutex<Vec<(String, &'static str)>>>,
}

impl Secrets {
    /// Registers a value to redact; short values are ignored (they would redact ordinary text).
    pub fn add(&self, value: &str, kind: &'static str) {
        if value.len() < 6 {
            return;
        }
        let mut v = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !v.iter().any(|(s, _)| s == value) {
            v.push((value.to_string(), kind));
            // Longest first, so a secret containing another is replaced whole.
            v.sort_by_key(|(s, _)| std::cmp::Reverse(s.len()));
        }
    }

    pub fn redact(&self, text: &str) -> String {
        let v = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = text.to_string();
        for (secret, kind) in v.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), &format!("[REDACTED {kind}]"));
            }
        }
        // Percent-encoded forms travel in URLs and form bodies.
        for (secret, kind) in v.iter() {
            let enc = encode(secret);
            if enc != *secret && out.contains(&enc) {
                out = out.replace(&enc, &format!("[REDACTED {kind}]"));
            }
        }
        out
    }

    pub fn all(&self) -> Vec<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).iter().map(|(s, _)| s.clone()).collect()
    }
}

/// The form encoding request bodies and query strings carry (`application/x-www-form-urlencoded`).
fn encode(s: &str) -> String {
    url::form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_plain_and_encoded_forms() {
        let s = Secrets::default();
        s.add("tok+en/secret=", "access token");
        s.add("abc", "too short");
        let text = "Bearer tok+en/secret= and code=tok%2Ben%2Fsecret%3D abc";
        assert_eq!(s.redact(text), "Bearer [REDACTED access token] and code=[REDACTED access token] abc");
    }
}
