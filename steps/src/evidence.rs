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
    /// Every value and every pattern registered, for a constant-time "seen already".
    values: std::collections::HashSet<String>,
    pattern_set: std::collections::HashSet<String>,
    /// The patterns (each secret in each of its forms) with their kinds.
    patterns: Vec<(String, &'static str)>,
    /// One automaton over the first `built` patterns, rebuilt only when `PENDING` more wait: a
    /// run adds hundreds of secrets while it redacts thousands of records, and rebuilding over
    /// all of them on every addition would cost more than the search. The waiting ones have a
    /// small automaton of their own, rebuilt when one more waits.
    big: Option<Arc<Automaton>>,
    built: usize,
    small: Option<Arc<Automaton>>,
    small_upto: usize,
}

/// Patterns waiting outside the big automaton before it is rebuilt (each secret brings about ten
/// forms).
const PENDING: usize = 256;

#[derive(Debug)]
struct Automaton {
    matcher: AhoCorasick,
    kinds: Vec<&'static str>,
}

impl Automaton {
    /// `quick`: the kind that is cheapest to build (for the small automaton, rebuilt often).
    fn over(patterns: &[(String, &'static str)], quick: bool) -> Option<Arc<Automaton>> {
        let texts: Vec<&str> = patterns.iter().map(|(p, _)| p.as_str()).collect();
        let kind = quick.then_some(aho_corasick::AhoCorasickKind::NoncontiguousNFA);
        let matcher = AhoCorasick::builder().match_kind(MatchKind::Standard).kind(kind).build(&texts).ok()?;
        Some(Arc::new(Automaton { matcher, kinds: patterns.iter().map(|(_, kind)| *kind).collect() }))
    }
}

struct SearchPlan {
    automata: Vec<Arc<Automaton>>,
}

impl Known {
    /// The automata that together cover every pattern, rebuilt as needed.
    fn search_plan(&mut self) -> SearchPlan {
        let n = self.patterns.len();
        if n - self.built > PENDING || (self.big.is_none() && n > 0) {
            self.big = Automaton::over(&self.patterns, false);
            (self.built, self.small, self.small_upto) = (n, None, n);
        }
        if self.small_upto < n {
            self.small = Automaton::over(&self.patterns[self.built..], true);
            self.small_upto = n;
        }
        SearchPlan { automata: self.big.iter().chain(self.small.iter()).cloned().collect() }
    }
}

impl Secrets {
    /// Registers a value to redact, of any length, with every form a server may echo it in.
    pub fn add(&self, value: &str, kind: &'static str) {
        if value.is_empty() {
            return;
        }
        let mut k = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        if k.values.insert(value.to_string()) {
            k.list.push((value.to_string(), kind));
            for form in forms(value) {
                if k.pattern_set.insert(form.clone()) {
                    k.patterns.push((form, kind));
                }
            }
        }
    }

    /// Replaces every occurrence of every secret, in any of its forms: as registered (raw,
    /// form- and percent-encoded, base64), and as the text reads once its JSON escapes
    /// (`\u002d`, `\/`) and percent escapes are undone, however they are mixed. Overlapping
    /// occurrences (a secret inside another, or two that overlap) merge into one redaction named
    /// for the longest, so no byte of any secret survives.
    pub fn redact(&self, text: &str) -> String {
        let plan = self.inner.lock().unwrap_or_else(|p| p.into_inner()).search_plan();
        // (start, end, kind) of every occurrence, in `text`'s bytes.
        let mut hits = plan.find(text.as_bytes());
        if let Some(view) = Unescaped::of(text) {
            hits.extend(plan.find(&view.bytes).into_iter().map(|(s, e, kind)| (view.from[s], view.to[e - 1], kind)));
        }
        for (start, end, bytes) in base64_views(text) {
            // Decoded byte i comes from the four characters of group i / 3.
            hits.extend(
                plan.find(&bytes)
                    .into_iter()
                    .map(|(s, e, kind)| (start + s / 3 * 4, end.min(start + (e - 1) / 3 * 4 + 4), kind)),
            );
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
            // A hit found in the unescaped view may start or end inside a multi-byte character of
            // the text: widen it to whole characters.
            let start = floor_char(text, start.max(at));
            let end = ceil_char(text, end);
            out.push_str(&text[at..start]);
            out.push_str(&format!("[REDACTED {kind}]"));
            at = end;
        }
        out.push_str(&text[at..]);
        out
    }

    /// Every secret with its kind.
    pub fn with_kinds(&self) -> Vec<(String, &'static str)> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).list.clone()
    }

    pub fn all(&self) -> Vec<String> {
        self.inner.lock().unwrap_or_else(|p| p.into_inner()).list.iter().map(|(s, _)| s.clone()).collect()
    }
}

impl SearchPlan {
    fn find(&self, hay: &[u8]) -> Vec<(usize, usize, &'static str)> {
        self.automata
            .iter()
            .flat_map(|a| {
                a.matcher.find_overlapping_iter(hay).map(|h| (h.start(), h.end(), a.kinds[h.pattern().as_usize()]))
            })
            .collect()
    }
}

fn floor_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i -= 1;
    }
    i
}

fn ceil_char(s: &str, mut i: usize) -> usize {
    i = i.min(s.len());
    while !s.is_char_boundary(i) {
        i += 1;
    }
    i
}

/// A text with its JSON (`\uXXXX`, `\/`) and percent (`%XX`) escapes undone, each byte knowing
/// the span of the text it came from. None when the text has no escape.
struct Unescaped {
    bytes: Vec<u8>,
    /// For each byte of `bytes`: where its source starts in the text, and where it ends.
    from: Vec<usize>,
    to: Vec<usize>,
}

impl Unescaped {
    fn of(text: &str) -> Option<Unescaped> {
        let t = text.as_bytes();
        if !t.iter().any(|&b| b == b'%' || b == b'\\') {
            return None;
        }
        let hex = |s: &[u8]| std::str::from_utf8(s).ok().and_then(|h| u32::from_str_radix(h, 16).ok());
        let mut v = Unescaped { bytes: Vec::with_capacity(t.len()), from: Vec::new(), to: Vec::new() };
        let mut i = 0;
        while i < t.len() {
            let (decoded, len): (Vec<u8>, usize) = match t[i] {
                b'%' if t.len() >= i + 3 && hex(&t[i + 1..i + 3]).is_some() => {
                    (vec![hex(&t[i + 1..i + 3]).unwrap_or_default() as u8], 3)
                }
                b'\\' if t.get(i + 1) == Some(&b'u') && t.len() >= i + 6 => match hex(&t[i + 2..i + 6]) {
                    Some(c) => match char::from_u32(c) {
                        Some(ch) => (ch.to_string().into_bytes(), 6),
                        None => (vec![t[i]], 1),
                    },
                    None => (vec![t[i]], 1),
                },
                b'\\' if matches!(t.get(i + 1), Some(b'/') | Some(b'"') | Some(b'\\')) => (vec![t[i + 1]], 2),
                b => (vec![b], 1),
            };
            for b in decoded {
                v.bytes.push(b);
                v.from.push(i);
                v.to.push(i + len);
            }
            i += len;
        }
        Some(v)
    }
}

/// Every run of base64 characters long enough to hold a secret, decoded from its start (standard
/// and URL-safe alphabets, padding optional): (start, end, bytes). Basic credentials, encoded
/// JSON and tokens inside tokens are read this way.
fn base64_views(text: &str) -> Vec<(usize, usize, Vec<u8>)> {
    use base64::Engine;
    use base64::alphabet::{STANDARD, URL_SAFE};
    use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};
    const SHORTEST: usize = 8;
    let config = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    let engines = [GeneralPurpose::new(&STANDARD, config), GeneralPurpose::new(&URL_SAFE, config)];
    let b = text.as_bytes();
    let is_b64 = |c: u8| c.is_ascii_alphanumeric() || matches!(c, b'+' | b'/' | b'-' | b'_');
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if !is_b64(b[i]) {
            i += 1;
            continue;
        }
        let start = i;
        while i < b.len() && is_b64(b[i]) {
            i += 1;
        }
        let mut len = i - start;
        if len % 4 == 1 {
            len -= 1;
        }
        if len < SHORTEST {
            continue;
        }
        let run = &b[start..start + len];
        let url = run.iter().any(|c| matches!(c, b'-' | b'_'));
        let std = run.iter().any(|c| matches!(c, b'+' | b'/'));
        for (engine, fits) in engines.iter().zip([!url, url && !std]) {
            if let Some(bytes) = fits.then(|| engine.decode(run).ok()).flatten() {
                out.push((start, start + len, bytes));
            }
        }
    }
    out
}

/// The forms a secret is registered in: as it is, form-encoded (bodies, query strings) and
/// percent-encoded (RFC 3986, upper- and lower-case hex). Base64 and JSON escapes are undone in
/// the text instead (`Unescaped`, `base64_views`), which finds a secret however it is placed.
fn forms(value: &str) -> Vec<String> {
    let mut out = vec![value.to_string(), encode(value)];
    let pct: String = value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect();
    out.push(pct.clone());
    out.push(lower_hex_escapes(&pct));
    out.retain(|f| !f.is_empty());
    out.dedup();
    out
}

fn lower_hex_escapes(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    let b = s.as_bytes();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%' && i + 3 <= b.len() {
            out.push('%');
            out.push_str(&s[i + 1..i + 3].to_ascii_lowercase());
            i += 3;
        } else {
            out.push(b[i] as char);
            i += 1;
        }
    }
    out
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
        let text = "Bearer tok+en/secret= and code=tok%2Ben%2Fsecret%3D abc";
        assert_eq!(s.redact(text), "Bearer [REDACTED access token] and code=[REDACTED access token] abc");
    }

    /// A server may echo a secret in any escaping: JSON `\uXXXX` (Gson escapes `=` and `-`),
    /// `\/`, RFC 3986 percent-encoding in either case, base64 at any alignment (Basic
    /// credentials), or a mix. None of it survives, and short secrets count too.
    #[test]
    fn redacts_every_escaped_form_and_short_secrets() {
        use base64::Engine;
        let s = Secrets::default();
        let token = "eyJhbGc-iOi/JIUzI1NiJ9=";
        s.add(token, "access token");
        s.add("pw5ch", "password");
        let b64 = |v: &str| base64::engine::general_purpose::STANDARD.encode(v);
        for text in [
            r#"{"echo":"eyJhbGc\u002diOi\/JIUzI1NiJ9\u003d"}"#.to_string(),
            "eyJhbGc%2DiOi%2FJIUzI1NiJ9%3D".to_string(),
            "eyJhbGc-iOi%2fJIUzI1NiJ9%3d".to_string(),
            r"eyJhbGc\u002DiOi%2FJIUzI1NiJ9=".to_string(),
            format!("Authorization: Basic {}", b64(&format!("client:{token}"))),
            format!("x {} y", b64(&format!("ab{token}cd"))),
            format!("x {} y", base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(format!("a{token}"))),
            r"the password was pw5ch, pw%35ch and pw\u0035ch".to_string(),
        ] {
            let out = s.redact(&text);
            assert!(out.contains("[REDACTED"), "{text} -> {out}");
            for fragment in ["JIUzI1NiJ9", "iOi", "pw5ch", "pw%35ch", r"pw\u0035ch"] {
                assert!(!out.contains(fragment), "{text} -> {out}");
            }
        }
    }

    #[test]
    fn redaction_keeps_the_text_around_multibyte_characters_whole() {
        let s = Secrets::default();
        s.add("sécret-value", "password");
        assert_eq!(s.redact("«s%C3%A9cret-value»"), "«[REDACTED password]»");
        assert_eq!(s.redact(r"é\u0073écret-value é"), "é[REDACTED password] é");
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
