//! Whom a token is for (HG-RS-06, HG-RS-11). A target declares its audience policy: per server
//! (RFC 8707 and the MCP authorization spec: a server refuses another's token, which RS-06's
//! per-server row checks) or one platform audience (Salesforce's hosted MCP servers: every token
//! names `https://api.salesforce.com`). Either way a token replayed elsewhere, at another MCP
//! server or at REST, must be refused or answered with no more than its user's own access.

use crate::probe::Request;
use crate::target::TokenAudience;
use crate::world::{GateWorld, StepError, error_code, expect, identity_in, opening_request, rpc};
use reqwest::Method;
use serde_json::{Value, json};

/// The values of a JWT's `aud` claim (a string or an array); `None` for an opaque token.
fn audiences(token: &str) -> Option<Vec<String>> {
    let claims = crate::login::jwt_claims(token)?;
    Some(match &claims["aud"] {
        Value::String(s) => vec![s.clone()],
        Value::Array(a) => a.iter().filter_map(|v| v.as_str().map(str::to_string)).collect(),
        _ => Vec::new(),
    })
}

/// An audience at or beneath the platform's: the platform itself or a resource under it.
fn within(aud: &str, platform: &str) -> bool {
    let platform = platform.trim_end_matches('/');
    aud.trim_end_matches('/') == platform || aud.starts_with(&format!("{platform}/"))
}

/// HG-RS-06 under a platform policy: the agent's token names the declared audience, and no
/// audience beyond it.
pub fn platform_audience_holds(w: &mut GateWorld, token: &str) -> Result<(), StepError> {
    let TokenAudience::Platform(platform) = w.target.token_audience.clone() else {
        return Err(StepError::NotVerifiable("the target declares per-server audiences".into()));
    };
    let aud = audiences(token).ok_or_else(|| {
        StepError::NotVerifiable(
            "the access token is opaque, so its audience cannot be read (issue JWT-based access tokens)".into(),
        )
    })?;
    w.probe.evidence.push(format!("the token's aud: {aud:?}; declared platform audience: {platform}"));
    let beyond: Vec<&String> = aud.iter().filter(|a| !within(a, &platform)).collect();
    expect(
        aud.iter().any(|a| a.trim_end_matches('/') == platform.trim_end_matches('/')) && beyond.is_empty(),
        format!("aud names {platform} and nothing beyond it"),
        || format!("aud {aud:?}"),
    )
}

/// The agent's token for the primary MCP server (asked for that resource where audiences are per
/// server, else the agent's token, which names the platform and so every server), shown to be
/// accepted there first: a token that works nowhere would be "refused" everywhere.
async fn token_for_primary(w: &mut GateWorld) -> Result<String, StepError> {
    let token = match w.target.token_audience {
        TokenAudience::PerServer => {
            let primary = w.mcp_url("primary")?;
            crate::bearer_variants::token_with(w, &[("resource", &primary)]).await?
        }
        TokenAudience::Platform(_) => w.token("agent").await?,
    };
    let primary = w.mcp_url("primary")?;
    w.mcp_send(&primary, Some(&token), None, opening_request(w.target.mcp_era), &[]).await?;
    let status = w.last()?.status;
    if status != 200 {
        return Err(StepError::NotVerifiable(format!(
            "the token is not accepted at the primary MCP server itself ({status}), so a refusal elsewhere would prove nothing"
        )));
    }
    w.probe.evidence.push("proof: the primary MCP server accepts the token (200)".into());
    Ok(token)
}

/// HG-RS-11's twin: the token asked for the primary server works there.
pub async fn accepted_at_primary(w: &mut GateWorld) -> Result<(), StepError> {
    token_for_primary(w).await.map(|_| ())
}

/// How one other MCP server took the primary server's token.
enum Taken {
    Refused(u16),
    AsItsUser,
    /// Served, but nothing says whose access it got (no identity tool, a 429 or a 5xx).
    Undecided(String),
}

/// HG-RS-11 at the other MCP servers: each refuses the primary server's token (401/403), or serves
/// it as the agent itself (its identity tool names the agent's user). A server that serves it
/// and cannot be judged leaves the row not verifiable; one that answers as another user fails it.
/// The identity tool tells the caller's context, not a tool's sharing mode: HG-SYS-01/03 judge that.
pub async fn replayed_at_other_servers(w: &mut GateWorld) -> Result<(), StepError> {
    let primary = w.mcp_url("primary")?;
    let others: Vec<String> = w
        .target
        .mcp_servers
        .values()
        .chain(w.target.other_mcp_servers.values())
        .filter(|u| **u != primary)
        .cloned()
        .collect();
    if others.is_empty() {
        return Err(StepError::NotVerifiable(
            "only one MCP server is configured (add another to endpoints.mcp_servers or other_mcp_servers)".into(),
        ));
    }
    let token = token_for_primary(w).await?;
    let mut unjudged = Vec::new();
    for url in others {
        match taken_at(w, &url, &token).await? {
            Taken::Refused(status) => w.probe.evidence.push(format!("{url}: refused the token ({status})")),
            Taken::AsItsUser => w.probe.evidence.push(format!("{url}: served the token as its own user")),
            Taken::Undecided(why) => {
                w.probe.evidence.push(format!("{url}: {why}"));
                unjudged.push(format!("{url} ({why})"));
            }
        }
    }
    if !unjudged.is_empty() {
        return Err(StepError::NotVerifiable(format!("not judged: {}", unjudged.join("; "))));
    }
    Ok(())
}

/// The primary server's token at one other server: its opening request, then the identity tool.
async fn taken_at(w: &mut GateWorld, url: &str, token: &str) -> Result<Taken, StepError> {
    let era = w.target.mcp_era;
    w.mcp_send(url, Some(token), None, opening_request(era), &[]).await?;
    let r = w.last()?.clone();
    match r.status {
        401 | 403 => return Ok(Taken::Refused(r.status)),
        200 => {}
        s if s == 0 || s == 429 || s >= 500 => return Ok(Taken::Undecided(format!("answered {s}"))),
        s => {
            return Err(StepError::Expectation {
                expected: format!("{url}: the token refused (401/403) or served (200)"),
                observed: s.to_string(),
            });
        }
    }
    let session = r.header("mcp-session-id").filter(|s| !s.is_empty()).map(str::to_string);
    if let Some(s) = &session {
        w.probe.secrets.add(s, "MCP session id");
        let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        w.mcp_send(url, Some(token), Some(s), note, &[]).await?;
    }
    let Ok((tool, pointer)) = w.identity_tool() else {
        return Ok(Taken::Undecided("served the token, and the target names no identity tool".into()));
    };
    let call = json!({"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
    w.mcp_send(url, Some(token), session.as_deref(), call, &[]).await?;
    let reply = w.last()?.clone();
    if matches!(reply.status, 401 | 403) {
        return Ok(Taken::Refused(reply.status));
    }
    let answer = rpc(&reply);
    if reply.status != 200 || answer.get("error").is_some() || answer["result"]["isError"] == json!(true) {
        return Ok(Taken::Undecided(format!("served the token; its identity tool {tool} did not answer")));
    }
    let username = w.persona("agent")?.username;
    let who = identity_in(&answer["result"], &pointer);
    expect(
        who.as_deref().is_some_and(|u| u.eq_ignore_ascii_case(&username)),
        format!("{url}: served as {username} only"),
        || format!("answered as {who:?}"),
    )?;
    Ok(Taken::AsItsUser)
}

/// HG-RS-11 at REST: the agent's token reading a record the agent must not see (shown to exist
/// by the admin) is refused (401), refused as the agent (403/404 with an access code), never
/// answered with the record.
pub async fn replayed_at_rest(w: &mut GateWorld, alias: &str) -> Result<(), StepError> {
    let record = w.record(alias)?;
    w.prove_exists(&record.object, alias, None).await?;
    let token = token_for_primary(w).await?;
    let url = w.target.rest(&format!("/sobjects/{}/{}", record.object, record.id));
    let r = w.probe.send(Request::new(Method::GET, url).bearer(&token)).await?;
    let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
    if r.status == 200 {
        // A 200 for a record this user may not read is the record served, whoever it ran as.
        return Err(StepError::Expectation {
            expected: "refused, or no more than the agent's own access".into(),
            observed: format!("200 with the record '{alias}'"),
        });
    }
    let refused = matches!(r.status, 401 | 403 | 404) && crate::permission_removal::access_refusal(&code);
    if !refused {
        return Err(StepError::NotVerifiable(format!("REST answered {} {code}, which decides nothing", r.status)));
    }
    w.probe.evidence.push(format!("REST refused the token ({} {code})", r.status));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_audience_is_within_the_platform_at_or_beneath_it_only() {
        let p = "https://api.salesforce.com";
        assert!(within("https://api.salesforce.com", p));
        assert!(within("https://api.salesforce.com/", p));
        assert!(within("https://api.salesforce.com/platform/mcp/v1/platform/sobject-reads", p));
        assert!(!within("https://api.salesforce.com.evil.example", p));
        assert!(!within("https://other-resource.example", p));
        assert!(!within("*", p));
    }

    #[test]
    fn a_jwt_names_its_audiences_and_an_opaque_token_none() {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        let jwt = |aud: Value| format!("{}.{}.sig", b64(json!({"alg": "none"})), b64(json!({"aud": aud})));
        assert_eq!(audiences(&jwt(json!("a"))), Some(vec!["a".to_string()]));
        assert_eq!(audiences(&jwt(json!(["a", "b"]))), Some(vec!["a".to_string(), "b".to_string()]));
        assert_eq!(audiences("00Dxx!opaque"), None);
    }
}
