//! A failed row's reproduction: the scenario's last request as a copy-pasteable curl command.
//! Every secret the run knows (tokens, codes, verifiers, passwords, client secrets) becomes an
//! environment variable named by its kind (`${HG_ACCESS_TOKEN}`), never its value: the command
//! starts with the variables it needs, to be filled with fresh values (the scenario's own are
//! spent or revoked by then, and never written anywhere).

use crate::evidence::Secrets;
use crate::probe::{Body, Request};

const MARK: &str = "[REDACTED ";

/// Headers whose value is a secret by its name, whatever the run registered (the session id is
/// no secret, but the scenario's own: a reproduction opens its own session).
const HEADER_SECRETS: &[(&str, &str)] =
    &[("authorization", "authorization"), ("cookie", "cookie"), ("mcp-session-id", "mcp session id")];
/// Form fields whose value is a secret by its name.
const FORM_SECRETS: &[(&str, &str)] = &[
    ("password", "password"),
    ("client_secret", "client secret"),
    ("code", "authorization code"),
    ("code_verifier", "code verifier"),
    ("refresh_token", "refresh token"),
    ("token", "token"),
    ("client_assertion", "client assertion"),
    ("assertion", "assertion"),
];

fn by_name(name: &str, table: &[(&str, &'static str)]) -> Option<&'static str> {
    table.iter().find(|(n, _)| n.eq_ignore_ascii_case(name)).map(|(_, kind)| *kind)
}

/// `access token` -> `HG_ACCESS_TOKEN`.
fn variable(kind: &str) -> String {
    let name: String =
        kind.chars().map(|c| if c.is_ascii_alphanumeric() { c.to_ascii_uppercase() } else { '_' }).collect();
    format!("HG_{name}")
}

/// One shell word in double quotes: the text redacted, escaped for double quotes, and each
/// redacted secret a `${HG_...}` reference; the variables it uses are added to `needs`.
fn word(text: &str, secrets: &Secrets, needs: &mut Vec<String>) -> String {
    let redacted = secrets.redact(text);
    let mut out = String::from("\"");
    let mut rest = redacted.as_str();
    while let Some(at) = rest.find(MARK) {
        let (before, from) = rest.split_at(at);
        let Some(end) = from.find(']') else { break };
        escape_into(before, &mut out);
        let var = variable(&from[MARK.len()..end]);
        out.push_str(&format!("${{{var}}}"));
        if !needs.contains(&var) {
            needs.push(var);
        }
        rest = &from[end + 1..];
    }
    escape_into(rest, &mut out);
    out.push('"');
    out
}

fn escape_into(text: &str, out: &mut String) {
    for c in text.chars() {
        if matches!(c, '"' | '\\' | '$' | '`') {
            out.push('\\');
        }
        out.push(c);
    }
}

/// The request as a curl command: the variables it needs on the first line (a comment), then
/// the command, with its headers and body as the gate sent them.
pub fn curl(req: &Request, secrets: &Secrets) -> String {
    let mut needs = Vec::new();
    let mut args = vec![format!("curl -sS -i -X {}", req.method), word(&req.url, secrets, &mut needs)];
    // A bearer token is a credential whether or not the run registered it (a forged one too).
    if req.bearer.is_some() {
        args.push(format!("-H {}", word("Authorization: Bearer [REDACTED access token]", secrets, &mut needs)));
    }
    for (k, v) in &req.headers {
        let v = match by_name(k, HEADER_SECRETS) {
            Some(kind) => format!("[REDACTED {kind}]"),
            None => v.clone(),
        };
        args.push(format!("-H {}", word(&format!("{k}: {v}"), secrets, &mut needs)));
    }
    match &req.body {
        Some(Body::Json(v)) => {
            args.push("-H \"Content-Type: application/json\"".into());
            args.push(format!("--data-raw {}", word(&v.to_string(), secrets, &mut needs)));
        }
        Some(Body::Form(pairs)) => {
            for (k, v) in pairs {
                let v = match by_name(k, FORM_SECRETS) {
                    Some(kind) => format!("[REDACTED {kind}]"),
                    None => v.clone(),
                };
                args.push(format!("--data-urlencode {}", word(&format!("{k}={v}"), secrets, &mut needs)));
            }
        }
        None => {}
    }
    let head = match needs.is_empty() {
        true => "# needs no secret".to_string(),
        false => format!("# set first (the run's values are never written): {}", needs.join(" ")),
    };
    format!("{head}\n{}", args.join(" "))
}

#[cfg(test)]
mod tests {
    use super::*;
    use reqwest::Method;
    use serde_json::json;

    #[test]
    fn secrets_become_variables_named_by_kind_and_the_rest_is_quoted_for_the_shell() {
        let s = Secrets::default();
        s.add("tok-ABCDEFGHIJKLMNOPQRSTUV", "access token");
        s.add("verifier-0123456789abcdefghij", "code verifier");
        let req = Request::new(Method::POST, "http://127.0.0.1:1/token?x=\"$HOME\"")
            .bearer("tok-ABCDEFGHIJKLMNOPQRSTUV")
            .form(vec![("code_verifier".into(), "verifier-0123456789abcdefghij".into()), ("a".into(), "`id`".into())]);
        let c = curl(&req, &s);
        assert!(!c.contains("tok-ABCDEFGHIJKLMNOPQRSTUV") && !c.contains("verifier-0123456789abcdefghij"), "{c}");
        assert!(
            c.starts_with("# set first (the run's values are never written): HG_ACCESS_TOKEN HG_CODE_VERIFIER\n"),
            "{c}"
        );
        assert!(c.contains("-H \"Authorization: Bearer ${HG_ACCESS_TOKEN}\""), "{c}");
        assert!(c.contains("--data-urlencode \"code_verifier=${HG_CODE_VERIFIER}\""), "{c}");
        assert!(c.contains("\"http://127.0.0.1:1/token?x=\\\"\\$HOME\\\"\""), "{c}");
        assert!(c.contains("\"a=\\`id\\`\""), "{c}");
    }

    #[test]
    fn a_header_a_target_chose_cannot_end_the_quoting() {
        let mut req = Request::new(Method::POST, "http://127.0.0.1:1/mcp");
        req.headers.push(("Mcp-Name".into(), "x\"; touch /tmp/pwned; echo \"".into()));
        let c = curl(&req, &Secrets::default());
        assert!(c.contains("-H \"Mcp-Name: x\\\"; touch /tmp/pwned; echo \\\"\""), "{c}");
    }

    #[test]
    fn a_request_without_secrets_needs_none_and_a_session_id_is_left_to_the_reader() {
        let mut with_session = Request::new(Method::POST, "http://127.0.0.1:1/mcp");
        with_session.headers.push(("Mcp-Session-Id".into(), "f52e4f1b".into()));
        let c = curl(&with_session, &Secrets::default());
        assert!(c.contains("-H \"Mcp-Session-Id: ${HG_MCP_SESSION_ID}\"") && !c.contains("f52e4f1b"), "{c}");
        let req = Request::new(Method::POST, "http://127.0.0.1:1/mcp").json(json!({"jsonrpc": "2.0", "id": 1}));
        let c = curl(&req, &Secrets::default());
        assert!(c.starts_with("# needs no secret\ncurl -sS -i -X POST \"http://127.0.0.1:1/mcp\""), "{c}");
        assert!(c.contains("--data-raw \"{") && c.contains("\\\"id\\\":1"), "{c}");
    }
}
