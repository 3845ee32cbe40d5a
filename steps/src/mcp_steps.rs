//! Steps for the MCP servers: the resource-server and transport controls with raw JSON-RPC (so
//! malformed and forged requests can be sent), and tool calls as a persona.

use crate::probe::Request;
use crate::world::{GateWorld, StepError, expect, mcp_http, opening_request, rpc, tool_error_code};
use cucumber::{then, when};
use reqwest::Method;
use serde_json::{Value, json};

fn list_request() -> Value {
    json!({"jsonrpc": "2.0", "id": 7, "method": "tools/list"})
}

// ---------------------------------------------------------------- tools as a persona

#[when(expr = "{word} lists the tools of the {word} MCP server")]
async fn list_tools(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    w.mcp_request(&persona, &server, "tools/list", json!({})).await
}

#[when(expr = "{word} calls {word} on the {word} MCP server with {string}")]
async fn call_tool(
    w: &mut GateWorld,
    persona: String,
    tool: String,
    server: String,
    args: String,
) -> Result<(), StepError> {
    let mut args: Value = serde_json::from_str(&args).map_err(|e| StepError::Expectation {
        expected: "JSON arguments in the scenario".into(),
        observed: e.to_string(),
    })?;
    // "@alias" stands for the id of the target's record of that alias.
    if let Some(o) = args.as_object_mut() {
        for v in o.values_mut() {
            if let Some(alias) = v.as_str().and_then(|s| s.strip_prefix('@')) {
                *v = json!(w.record(alias)?.id);
            }
        }
    }
    w.mcp_request(&persona, &server, "tools/call", json!({"name": tool, "arguments": args})).await
}

// A check after a call the target has no tool for (`skipped_call`) has no result to judge; the
// skip is in the evidence, and the row's other calls carry it.

/// The decision on the last tool call: allowed when it returned a result that is not an error.
fn decide_call(w: &mut GateWorld) {
    let Ok(r) = w.last() else { return };
    let allowed = crate::decisions::mcp_decision(r.status, rpc(r).get("result"));
    w.decide(allowed, None);
}

fn tool_result(w: &GateWorld) -> Result<Value, StepError> {
    let r = w.last()?;
    let v = rpc(r);
    v.get("result").cloned().ok_or_else(|| StepError::Expectation {
        expected: "a tool result".into(),
        observed: format!("{} {}", r.status, v.get("error").cloned().unwrap_or(Value::Null)),
    })
}

#[then(expr = "the tool result is an error with {word}")]
pub(crate) async fn tool_error(w: &mut GateWorld, code: String) -> Result<(), StepError> {
    if w.skipped_call.is_some() {
        return Ok(());
    }
    let marker = w.target.canary_marker.clone();
    decide_call(w);
    let result = tool_result(w)?;
    let got = tool_error_code(&result).unwrap_or_else(|| "(none)".into());
    expect(result["isError"] == json!(true) && got == code, format!("isError with {code}"), || {
        format!("isError={} {got}", result["isError"])
    })?;
    expect(!result.to_string().contains(&marker), "no seeded sensitive value in the error", || "a canary value".into())
}

#[then(expr = "the tool error names the field {word}")]
async fn tool_error_field(w: &mut GateWorld, field: String) -> Result<(), StepError> {
    if w.skipped_call.is_some() {
        return Ok(());
    }
    let result = tool_result(w)?;
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    let fields = serde_json::from_str::<Value>(text).ok().map(|e| e[0]["fields"].clone()).unwrap_or(Value::Null);
    expect(fields == json!([field]), format!("fields [{field}]"), || fields.to_string())
}

#[then("the tool result succeeds")]
pub(crate) async fn tool_ok(w: &mut GateWorld) -> Result<(), StepError> {
    if w.skipped_call.is_some() {
        return Ok(());
    }
    decide_call(w);
    let result = tool_result(w)?;
    expect(result["isError"] != json!(true), "a successful tool result", || {
        result["content"][0]["text"].as_str().unwrap_or_default().chars().take(160).collect()
    })
}

#[then(expr = "the tool result has no {word} field")]
pub(crate) async fn tool_no_field(w: &mut GateWorld, field: String) -> Result<(), StepError> {
    if w.skipped_call.is_some() {
        return Ok(());
    }
    let result = tool_result(w)?;
    let s = &result["structuredContent"];
    let present =
        s.get(&field).is_some() || s["records"].as_array().is_some_and(|a| a.iter().any(|r| r.get(&field).is_some()));
    w.decide(Some(present), Some(&format!("field {field}")));
    expect(!present, format!("no field {field}"), || format!("{field} is in the result"))
}

#[then(expr = "the tool result does not list the {string} record")]
async fn tool_not_listing(w: &mut GateWorld, alias: String) -> Result<(), StepError> {
    if w.skipped_call.is_some() {
        return Ok(());
    }
    let id = w.record(&alias)?.id;
    let result = tool_result(w)?;
    w.decide(Some(result.to_string().contains(&id)), Some(&format!("record @{alias}")));
    expect(!result.to_string().contains(&id), format!("record {alias} absent"), || "it is in the result".into())
}

#[then(expr = "the tool result lists the {string} record")]
async fn tool_listing(w: &mut GateWorld, alias: String) -> Result<(), StepError> {
    if w.skipped_call.is_some() {
        return Ok(());
    }
    let id = w.record(&alias)?.id;
    let result = tool_result(w)?;
    expect(result.to_string().contains(&id), format!("record {alias} listed"), || "it is not in the result".into())
}

#[then(expr = "the tool list offers {word}")]
async fn offers(w: &mut GateWorld, tool: String) -> Result<(), StepError> {
    let names = tool_names(w)?;
    w.decide(Some(names.contains(&tool)), Some(&format!("tool {tool}")));
    expect(names.contains(&tool), format!("{tool} listed"), || format!("{names:?}"))
}

#[then(expr = "the tool list does not offer {word}")]
async fn not_offers(w: &mut GateWorld, tool: String) -> Result<(), StepError> {
    let names = tool_names(w)?;
    w.decide(Some(names.contains(&tool)), Some(&format!("tool {tool}")));
    expect(!names.contains(&tool), format!("{tool} not listed"), || format!("{names:?}"))
}

fn tool_names(w: &GateWorld) -> Result<Vec<String>, StepError> {
    let result = tool_result(w)?;
    Ok(result["tools"]
        .as_array()
        .map(|a| a.iter().filter_map(|t| t["name"].as_str().map(str::to_string)).collect())
        .unwrap_or_default())
}

// ---------------------------------------------------------------- the resource server

#[when(expr = "a client calls the {word} MCP server with {word} authorization")]
async fn call_with_authorization(w: &mut GateWorld, server: String, variant: String) -> Result<(), StepError> {
    let (auth, url) = crate::bearer_variants::authorization(w, &server, &variant).await?;
    let mut req = mcp_http(&url, opening_request(w.target.mcp_era), w.target.mcp_era, None);
    if let Some(a) = auth {
        req.headers.push(("Authorization".into(), a));
    }
    w.last = Some(w.probe.send(req).await?);
    Ok(())
}

/// A data-returning MCP method sent without a token, straight away (no `initialize` first), with
/// an identity header a proxy might set (`none`: no header). `@persona` stands for that persona's
/// username; the tool called is the target's identity tool.
#[when(
    expr = "a client sends {word} to the {word} MCP server without a token, with the header {string} set to {string}"
)]
async fn send_without_token(
    w: &mut GateWorld,
    method: String,
    server: String,
    header: String,
    value: String,
) -> Result<(), StepError> {
    let url = w.mcp_url(&server)?;
    // The target's identity tool where it names one; the name matters only to a server that lets
    // the request through, and then any answer but the refusal fails the row.
    let tool = w.identity_tool().map(|(t, _)| t).unwrap_or_else(|_| "hg-door-probe".into());
    let params = match method.as_str() {
        "tools/call" => json!({"name": tool, "arguments": {}}),
        "resources/read" => json!({"uri": "salesforce://sobjects/Case"}),
        "prompts/get" => json!({"name": "summarize", "arguments": {}}),
        other => json!({"method": other}),
    };
    let body = json!({"jsonrpc": "2.0", "id": 1, "method": method, "params": params});
    let mut req = mcp_http(&url, body, w.target.mcp_era, None);
    if header != "none" {
        let value = match value.strip_prefix('@') {
            Some(persona) => w.persona(persona)?.username,
            None => value,
        };
        req.headers.push((header, value));
    }
    w.last = Some(w.probe.send(req).await?);
    Ok(())
}

/// RFC 6750 §3: a 401 carries a Bearer challenge. MCP 2025-11-25 lets a server name its metadata
/// in the challenge or serve it at the well-known URI: either is found.
#[then(
    expr = "the MCP server refuses with 401, a Bearer challenge and discoverable resource metadata of the {word} MCP server"
)]
async fn refused_401_challenge(w: &mut GateWorld, server: String) -> Result<(), StepError> {
    let r = w.last()?;
    let challenge = r.header("www-authenticate").unwrap_or_default().to_string();
    expect(r.status == 401 && challenge.starts_with("Bearer"), "401 with WWW-Authenticate: Bearer", || {
        format!("{} WWW-Authenticate: {challenge:?}", r.status)
    })?;
    expect(rpc(r).get("result").is_none(), "no result", || "a JSON-RPC result".into())?;
    let url = w.mcp_url(&server)?;
    find_resource_metadata(w, &url, &challenge).await.map(|_| ())
}

#[then(expr = "the MCP server refuses {refusal}")]
async fn refused_as(w: &mut GateWorld, kind: crate::refusals::Kind) -> Result<(), StepError> {
    crate::world::refused_as(w, "the MCP request", kind)?;
    expect(rpc(w.last()?).get("result").is_none(), "no result", || "a JSON-RPC result".into())
}

#[then("the MCP server refuses with 403 insufficient_scope")]
async fn refused_scope(w: &mut GateWorld) -> Result<(), StepError> {
    let r = w.last()?;
    let challenge = r.header("www-authenticate").unwrap_or_default();
    let ok = (r.status == 403 && challenge.contains("insufficient_scope")) || r.status == 401;
    expect(ok, "403 insufficient_scope (or 401)", || format!("{} {challenge:?}", r.status))?;
    expect(rpc(r).get("result").is_none(), "no result", || "a JSON-RPC result".into())
}

#[then("the MCP server accepts the request")]
async fn accepted(w: &mut GateWorld) -> Result<(), StepError> {
    let r = w.last()?;
    expect(r.status == 200 && rpc(r).get("result").is_some(), "200 with a result", || format!("{}", r.status))
}

/// The server's protected-resource metadata, found as a client finds it after the request just
/// made (its challenge first).
pub(crate) async fn resource_metadata_of(w: &mut GateWorld, server: &str) -> Result<Value, StepError> {
    let url = w.mcp_url(server)?;
    let challenge = w.last()?.header("www-authenticate").unwrap_or_default().to_string();
    find_resource_metadata(w, &url, &challenge).await
}

#[then(expr = "the protected resource metadata of the {word} MCP server names it, the issuer and the mcp_api scope")]
async fn resource_metadata(w: &mut GateWorld, server: String) -> Result<(), StepError> {
    let url = w.mcp_url(&server)?;
    let v = resource_metadata_of(w, &server).await?;
    expect(v["resource"] == json!(url), format!("resource {url}"), || format!("resource {}", v["resource"]))?;
    let issuer = w.target.issuer.clone();
    let servers: Vec<&str> =
        v["authorization_servers"].as_array().map(|a| a.iter().filter_map(Value::as_str).collect()).unwrap_or_default();
    expect(servers.contains(&issuer.as_str()), format!("authorization_servers has {issuer}"), || {
        format!("{servers:?}")
    })?;
    expect(
        v["scopes_supported"].as_array().is_some_and(|a| a.contains(&json!("mcp_api"))),
        "scopes_supported has mcp_api",
        || v["scopes_supported"].to_string(),
    )
}

/// The protected-resource metadata as an MCP client finds it (MCP 2025-11-25, authorization:
/// the challenge's `resource_metadata`, else the well-known URI with the server's path inserted,
/// else the well-known URI at the root; RFC 9728 §3.1), fetched only from hosts the target names.
async fn find_resource_metadata(w: &mut GateWorld, url: &str, challenge: &str) -> Result<Value, StepError> {
    let named = challenge.split("resource_metadata=\"").nth(1).and_then(|s| s.split('"').next()).map(str::to_string);
    let candidates = match named {
        Some(meta) => vec![(meta, "the challenge's resource_metadata")],
        None => {
            let u = url::Url::parse(url).map_err(|e| StepError::Expectation {
                expected: "a parseable MCP URL".into(),
                observed: e.to_string(),
            })?;
            let origin = u.origin().ascii_serialization();
            let path = u.path().trim_end_matches('/');
            vec![
                (format!("{origin}/.well-known/oauth-protected-resource{path}"), "the well-known URI with the path"),
                (format!("{origin}/.well-known/oauth-protected-resource"), "the well-known URI at the root"),
            ]
        }
    };
    let mut tried = Vec::new();
    for (meta, how) in candidates {
        // A challenge must not send the gate to a host the target does not name.
        if !w.probe.limits.trusts(&meta) {
            return Err(StepError::NotVerifiable(format!(
                "the resource metadata is named at {meta}, on a host the target file does not name"
            )));
        }
        let r = w.probe.send(Request::new(Method::GET, meta.clone())).await?;
        match r.json().filter(|v| r.status == 200 && v.is_object()) {
            Some(v) => {
                w.probe.evidence.push(format!("protected-resource metadata found through {how}: {meta}"));
                return Ok(v);
            }
            None => tried.push(format!("{meta} ({})", r.status)),
        }
    }
    Err(StepError::Expectation {
        expected: "protected-resource metadata through resource_metadata in the challenge or a well-known URI".into(),
        observed: format!("none at {}", tried.join(", ")),
    })
}

// ---------------------------------------------------------------- sessions and transport

#[when(expr = "{word} calls the identity tool on the {word} MCP server")]
async fn call_identity_tool(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    let (tool, _) = w.identity_tool()?;
    w.mcp_request(&persona, &server, "tools/call", json!({"name": tool, "arguments": {}})).await
}

#[when(expr = "the {word}'s session on the {word} MCP server is used {word}")]
async fn session_used(w: &mut GateWorld, persona: String, server: String, how: String) -> Result<(), StepError> {
    let session = w.mcp_open(&persona, &server).await?;
    // Sessions are optional in 2025-11-25: without one, there is nothing to misuse.
    if session.is_empty() {
        return Err(StepError::NotVerifiable(format!(
            "the {server} MCP server keeps no session (no Mcp-Session-Id on initialize), so there is no session to use"
        )));
    }
    let url = w.mcp_url(&server)?;
    let token = match how.as_str() {
        "without-a-token" => None,
        "with-its-token" => Some(w.token(&persona).await?),
        other => match other.strip_prefix("by-") {
            Some(intruder) => Some(w.token(intruder).await?),
            None => {
                return Err(StepError::Expectation {
                    expected: "a known way to use the session".into(),
                    observed: other.into(),
                });
            }
        },
    };
    let (tool, _) = w.identity_tool()?;
    let body = json!({"jsonrpc": "2.0", "id": 9, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
    w.mcp_send(&url, token.as_deref(), Some(&session), body, &[]).await
}

#[then(expr = "the answer is refused or in {word}'s own context")]
async fn refused_or_own(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let username = w.persona(&persona)?.username;
    let r = w.last()?;
    if (400..500).contains(&r.status) {
        return Ok(());
    }
    let (_, pointer) = w.identity_tool()?;
    let result = rpc(r)["result"].clone();
    let who = crate::world::identity_in(&result, &pointer).unwrap_or_default();
    expect(who.eq_ignore_ascii_case(&username), format!("refused, or answered as {username}"), || {
        format!("answered as {who:?}")
    })
}

#[when(expr = "{word}'s token is revoked")]
async fn persona_token_revoked(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let token = w.token(&persona).await?;
    let mut form = vec![("token".into(), token), ("client_id".into(), w.target.client_id.clone())];
    crate::login::authenticate_client(&w.target, &mut form);
    let r = w.probe.send(Request::new(Method::POST, w.target.revoke_url.clone()).form(form)).await?;
    expect(r.status == 200, "the revocation accepted (200)", || format!("{}", r.status))
}

#[when(expr = "{word} sends tools\\/list to the {word} MCP server with the header {string} set to {string}")]
async fn with_header(
    w: &mut GateWorld,
    persona: String,
    server: String,
    name: String,
    value: String,
) -> Result<(), StepError> {
    let session = w.mcp_open(&persona, &server).await?;
    let url = w.mcp_url(&server)?;
    let token = w.token(&persona).await?;
    w.mcp_send(&url, Some(&token), Some(&session), list_request(), &[(&name, &value)]).await
}

#[when(expr = "{word} sends tools\\/list to the {word} MCP server in the target's protocol version")]
async fn in_own_version(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    w.mcp_request(&persona, &server, "tools/list", json!({})).await
}

#[when(expr = "{word} sends tools\\/list to the {word} MCP server without its session id")]
async fn without_session(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    w.mcp_open(&persona, &server).await?;
    let url = w.mcp_url(&server)?;
    let token = w.token(&persona).await?;
    let version = w.target.mcp_era.version();
    w.mcp_send(&url, Some(&token), None, list_request(), &[("MCP-Protocol-Version", version)]).await
}

#[when(expr = "{word} ends its session on the {word} MCP server and uses it again")]
async fn terminated_session(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    let session = w.mcp_open(&persona, &server).await?;
    let url = w.mcp_url(&server)?;
    let token = w.token(&persona).await?;
    let mut del = Request::new(Method::DELETE, url.clone()).bearer(&token);
    del.headers.push(("Mcp-Session-Id".into(), session.clone()));
    del.headers.push(("MCP-Protocol-Version".into(), w.target.mcp_era.version().into()));
    let r = w.probe.send(del).await?;
    if r.status == 405 {
        return Err(StepError::NotApplicable(
            "the server does not let clients end sessions (405 to DELETE, which MCP 2025-11-25 allows): no session is terminated to reuse".into(),
        ));
    }
    expect(
        (200..300).contains(&r.status),
        "the session ended (2xx), or 405 where clients may not end sessions",
        || format!("{}", r.status),
    )?;
    w.mcp_send(&url, Some(&token), Some(&session), list_request(), &[]).await
}

#[then(expr = "the MCP server answers {int}")]
async fn answers(w: &mut GateWorld, status: u16) -> Result<(), StepError> {
    let r = w.last()?;
    expect(r.status == status, format!("{status}"), || format!("{}", r.status))?;
    let v = rpc(r);
    if status >= 400 {
        expect(v.get("result").is_none(), "no result", || "a JSON-RPC result".into())?;
    } else {
        // A 200 that carries a JSON-RPC error is no success: the twin must see a result.
        expect(v.get("result").is_some() && v.get("error").is_none(), "a JSON-RPC result", || {
            format!("{}", v.get("error").cloned().unwrap_or(Value::Null))
        })?;
    }
    Ok(())
}
