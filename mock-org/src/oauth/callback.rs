//! Callback URL matching: exact string equality against the app's registered list, with one
//! exception, RFC 8252 7.3 loopback redirects, where only the port may vary, and only for apps that
//! opt in. No prefix, case, trailing-slash, query, fragment or scheme tolerance.

use crate::faults::{Fault, Faults};
use url::Url;

pub fn matches(registered: &[String], supplied: &str, loopback_port_variance: bool) -> bool {
    if registered.iter().any(|r| r == supplied) {
        return true;
    }
    loopback_port_variance && registered.iter().any(|r| same_loopback_except_port(r, supplied))
}

/// `matches`, loosened the way the callback faults reproduce real servers' mistakes.
pub fn matches_with(registered: &[String], supplied: &str, loopback_port_variance: bool, faults: &Faults) -> bool {
    if matches(registered, supplied, loopback_port_variance) {
        return true;
    }
    let without_query = |u: &str| u.split_once('?').map_or(u, |(a, _)| a).to_string();
    registered.iter().any(|r| {
        (faults.on(Fault::RedirectPrefix) && supplied.starts_with(r.as_str()))
            || (faults.on(Fault::RedirectTrailingSlash) && r.trim_end_matches('/') == supplied.trim_end_matches('/'))
            || (faults.on(Fault::RedirectQueryIgnored) && without_query(r) == without_query(supplied))
            || (faults.on(Fault::RedirectHostSuffix) && host_suffix_match(r, supplied))
            || (faults.on(Fault::RedirectAnyLoopback) && any_loopback(r, supplied))
            || (faults.on(Fault::RedirectDecoded) && crate::form::percent_decode(supplied).is_ok_and(|d| d == *r))
    })
}

/// Same scheme and raw path; the supplied host ends with the registered one, in any case.
fn host_suffix_match(registered: &str, supplied: &str) -> bool {
    let (Ok(r), Ok(s)) = (Url::parse(registered), Url::parse(supplied)) else { return false };
    let tail = |text: &str| text.splitn(4, '/').nth(3).map(str::to_string);
    let (Some(rh), Some(sh)) = (r.host_str(), s.host_str()) else { return false };
    r.scheme() == s.scheme()
        && sh.to_ascii_lowercase().ends_with(&rh.to_ascii_lowercase())
        && r.port() == s.port()
        && s.username().is_empty()
        && tail(registered) == tail(supplied)
}

/// Any http loopback host and port with the registered path, whatever the registered host.
fn any_loopback(registered: &str, supplied: &str) -> bool {
    let Ok(s) = Url::parse(supplied) else { return false };
    let loopback = matches!(s.host_str(), Some("127.0.0.1") | Some("[::1]") | Some("localhost"));
    let tail = |text: &str| text.splitn(4, '/').nth(3).map(str::to_string);
    loopback && s.scheme() == "http" && tail(registered) == tail(supplied)
}

/// `http://127.0.0.1:<any>/path` against a registered `http://127.0.0.1:<port>/path`: RFC 8252
/// names the IP literals, not `localhost`, and everything but the port must match to the byte.
fn same_loopback_except_port(registered: &str, supplied: &str) -> bool {
    let (Ok(r), Ok(s)) = (Url::parse(registered), Url::parse(supplied)) else { return false };
    let loopback = |u: &Url| u.scheme() == "http" && matches!(u.host_str(), Some("127.0.0.1") | Some("[::1]"));
    if !loopback(&r) || !loopback(&s) || r.host_str() != s.host_str() || s.username() != "" || s.password().is_some() {
        return false;
    }
    // Compare the raw text after the authority so encodings and dot-segments are not normalized away.
    let tail = |text: &str| text.splitn(4, '/').nth(3).map(str::to_string);
    let authority_host =
        |text: &str| text.split('/').nth(2).map(|a| a.rsplit_once(':').map_or(a, |(h, _)| h).to_string());
    tail(registered) == tail(supplied)
        && authority_host(registered) == authority_host(supplied)
        && s.fragment().is_none()
}

#[cfg(test)]
mod tests {
    use super::matches;

    const R: &str = "https://agent.example.test/oauth/callback";

    #[test]
    fn only_the_exact_uri_matches() {
        let reg = vec![R.to_string()];
        assert!(matches(&reg, R, false));
        for bad in [
            "https://agent.example.test/oauth/callback/",
            "https://agent.example.test/oauth/callbac",
            "https://agent.example.test/oauth/callback/x",
            "https://agent.example.test/oauth/callback/../callback",
            "https://agent.example.test/oauth%2Fcallback",
            "https://agent.example.test/oauth/callback?x=1",
            "https://agent.example.test/oauth/callback#f",
            "https://AGENT.example.test/oauth/callback",
            "https://agent.example.test:443/oauth/callback",
            "https://agent.example.test.evil.test/oauth/callback",
            "https://agent.example.test@evil.test/oauth/callback",
            "http://agent.example.test/oauth/callback",
            "https://evil.agent.example.test/oauth/callback",
        ] {
            assert!(!matches(&reg, bad, true), "{bad} must not match");
        }
    }

    #[test]
    fn loopback_port_varies_only_when_allowed() {
        let reg = vec!["http://127.0.0.1:53682/callback".to_string()];
        assert!(matches(&reg, "http://127.0.0.1:53682/callback", false));
        assert!(!matches(&reg, "http://127.0.0.1:9999/callback", false));
        assert!(matches(&reg, "http://127.0.0.1:9999/callback", true));
        assert!(!matches(&reg, "http://localhost:53682/callback", true));
        assert!(!matches(&reg, "http://127.0.0.1:9999/callback/x", true));
        assert!(!matches(&reg, "http://127.0.0.1:9999/callback?x", true));
        assert!(!matches(&reg, "http://user@127.0.0.1:9999/callback", true));
    }
}
