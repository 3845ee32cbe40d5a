//! Evidence: every exchange a scenario makes, as text an auditor can read. Secrets are redacted at
//! capture time, so no later writer can leak them by forgetting to.

use aho_corasick::{AhoCorasick, MatchKind};
use std::sync::{Arc, Mutex};

/// Secrets known to a run (tokens, codes, verifiers, passwords, client secrets), shared by every
/// scenario's probe so one scenario's token is redacted in another's evidence too.
#[derive(Debug, Clone, Default)]
pub struct Secrets {
    inner: Arc<Mutex<Known>>,
}

#[derive(Debug, Default)]
struct Known {
    list: Vec<(String, &'static str)>,
    /// The patterns (each secret and its form-encoded twin) with their kinds.
    patterns: Vec<(String, &'static str)>,
    /// One automaton over the first `built` patterns; the ones added since are searched one by
    /// one until there are `PENDING` of them. A run adds hundreds of secrets while it redacts
    /// thousands of records: rebuilding on every addition would cost more than the search.
    matcher: Option<Arc<AhoCorasick>>,
    built: usize,
}

const PENDING: usize = 32;

struct SearchPlan {
    matcher: Option<Arc<AhoCorasick>>,
    kinds: Vec<&'static str>,
    pending: Vec<(String, &'static str)>,
}

impl Known {
    /// The automaton (rebuilt when too many patterns wait outside it) with the kinds of its
    /// patterns, and the waiting patterns.
    fn search_plan(&mut self) -> SearchPlan {
        if self.patterns.len() - self.built > PENDING || (self.matcher.is_none() && !self.patterns.is_empty()) {
            let texts: Vec<&str> = self.patterns.iter().map(|(p, _)| p.as_str()).collect();
            self.matcher = AhoCorasick::builder().match_kind(MatchKind::Standard).build(&texts).ok().map(Arc::new);
            self.built = self.patterns.len();
        }
        SearchPlan {
            matcher: self.matcher.clone(),
            kinds: self.patterns[..self.built].iter().map(|(_, kind)| *kind).collect(),
            pending: self.patterns[self.built..].to_vec(),
        }
    }
}

impl Secrets {
    /// Registers a value to redact; short values are ignored (they would redact ordinary text).
    pub fn add(&self, value: &str, kind: &'static str) {
        if value.len() < 6 {
            return;
        }
        let mut k = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if !k.list.iter().any(|(s, _)| s == value) {
            k.list.push((value.to_string(), kind));
            k.patterns.push((value.to_string(), kind));
            let encoded = encode(value);
            if encoded != value {
                k.patterns.push((encoded, kind));
            }
        }
    }

    /// Replaces every occurrence of every secret. Overlapping occurrences (a secret inside
    /// another, or two that overlap) merge into one redaction named for the longest, so no byte
    /// of any secret survives.
    pub fn redact(&self, text: &str) -> String {
        let plan = self.inner.lock().unwrap_or_else(|p| p.into_inner()).search_plan();
        // (start, end, kind) of every occurrence.
        let mut hits: Vec<(usize, usize, &'static str)> = Vec::new();
        if let Some(m) = &plan.matcher {
            hits.extend(
                m.find_overlapping_iter(text).map(|h| (h.start(), h.end(), plan.kinds[h.pattern().as_usize()])),
            );
        }
        for (p, kind) in &plan.pending {
            hits.extend(text.match_indices(p.as_str()).map(|(i, _)| (i, i + p.len(), *kind)));
        }
        if hits.is_empty() {
            return text.to_string();
        }
        hits.sort_by_key(|&(start, end, _)| (start, std::cmp::Reverse(end)));
        let mut out = String::with_capacity(text.len());
        let mut at = 0;
        let mut i = 0;
        while i < hits.len() {
            let (start, mut end, mut kind) = hits[i];
            let mut longest = end - start;
            i += 1;
            while i < hits.len() && hits[i].0 < end {
                if hits[i].1 - hits[i].0 > longest {
                    longest = hits[i].1 - hits[i].0;
                    kind = hits[i].2;
                }
                end = end.max(hits[i].1);
                i += 1;
            }
            out.push_str(&text[at..start]);
            out.push_str(&format!("[REDACTED {kind}]"));
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    pub fn all(&self) -> Vec<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).list.iter().map(|(s, _)| s.clone()).collect()
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

    #[test]
    fn every_secret_is_found_whether_in_the_automaton_or_waiting_for_it() {
        let s = Secrets::default();
        let many: Vec<String> = (0..100).map(|i| format!("secret-number-{i:03}")).collect();
        for (i, m) in many.iter().enumerate() {
            s.add(m, "code");
            // Redact between additions, so some are in the automaton and some wait.
            assert_eq!(s.redact(&format!("<{}>", many[i / 2])), "<[REDACTED code]>");
        }
        let text = many.join(" ");
        assert!(!s.redact(&text).contains("secret-number"), "{}", s.redact(&text));
    }

    #[test]
    fn overlapping_secrets_leave_no_byte_behind() {
        let s = Secrets::default();
        s.add("aaaa-bbbb", "code");
        s.add("bbbb-cccc", "password");
        assert_eq!(s.redact("x aaaa-bbbb-cccc y"), "x [REDACTED code] y");
    }

    #[test]
    fn a_secret_containing_another_is_replaced_whole_and_later_secrets_count() {
        let s = Secrets::default();
        s.add("inner-secret", "code");
        assert_eq!(s.redact("x inner-secret"), "x [REDACTED code]");
        s.add("outer-inner-secret-tail", "access token");
        assert_eq!(s.redact("outer-inner-secret-tail / inner-secret"), "[REDACTED access token] / [REDACTED code]");
    }
}
