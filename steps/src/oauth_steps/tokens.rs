//! Access tokens at the resource server and the MCP server, and the revocation window sampled on both.

use super::*;

/// One request with exactly this token to the resource server: the org's REST API where the
/// agent's tokens open it and the target names a record to read (`own-case`), else its primary
/// MCP server (a stack with no REST API, or a platform whose REST refuses `mcp_api` tokens).
pub(super) async fn resource_with(w: &mut GateWorld, token: &str) -> Result<Reply, StepError> {
    match resource_request(w) {
        Some(req) => Ok(w.probe.send(req.bearer(token)).await?),
        None => {
            if !w.target.agent_reaches_rest() {
                let note = "the resource server is the MCP server: the agent's app grants no REST scope";
                if !w.probe.evidence.iter().any(|e| e == note) {
                    w.probe.evidence.push(note.into());
                }
            }
            mcp_with(w, token).await
        }
    }
}

/// The REST read the token checks use, where the target has a REST API with a record to read.
pub(super) fn resource_request(w: &GateWorld) -> Option<Request> {
    if !w.target.agent_reaches_rest() {
        return None;
    }
    let id = w.target.records.get("own-case")?.id.clone();
    Some(Request::new(Method::GET, w.target.rest(&format!("/sobjects/Case/{id}"))))
}

pub(super) fn grant(w: &GateWorld, which: &str) -> Result<crate::login::TokenSet, StepError> {
    let g = match which {
        "first" => w.grants.first(),
        _ => w.grants.last(),
    };
    g.cloned().ok_or(StepError::NothingSent)
}

#[then(expr = "the {word} access token works at the resource server")]
pub(super) async fn access_works(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    let r = resource_with(w, &t).await?;
    expect(r.status == 200, "200 from the resource server", || format!("{}", r.status))
}

#[then(expr = "the {word} access token is dead at the resource server at once")]
async fn access_dead(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    // The very first call after the event: no sleep, no retry.
    let r = resource_with(w, &t).await?;
    let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
    // Salesforce's REST API names the refusal; an MCP server or another API answers a bare 401.
    let salesforce_rest = w.target.flavor == Flavor::Salesforce && resource_request(w).is_some();
    let expected = if salesforce_rest { "401 INVALID_SESSION_ID" } else { "401" };
    let ok = r.status == 401 && (!salesforce_rest || code == "INVALID_SESSION_ID");
    expect(ok, expected, || format!("{} {code}", r.status))
}

/// The agent's primary MCP server, where token checks that need one go.
pub(super) fn primary_mcp_server(w: &GateWorld) -> Result<String, StepError> {
    w.mcp_url("primary")
}

/// The era's opening MCP request to the target's primary MCP server with exactly this token.
pub(super) async fn mcp_with(w: &mut GateWorld, token: &str) -> Result<Reply, StepError> {
    let url = primary_mcp_server(w)?;
    let opening = crate::world::opening_request(w.target.mcp_era);
    w.mcp_send(&url, Some(token), None, opening, &[]).await?;
    Ok(w.last()?.clone())
}

/// The persona's REST read of its own case with its REST token (the probe app's where the agent's
/// app grants no REST scope): `None` on a target with no REST API (a generic stack).
async fn rest_with_persona_token(w: &mut GateWorld, persona: &str) -> Result<Option<Reply>, StepError> {
    if w.target.flavor != Flavor::Salesforce {
        return Ok(None);
    }
    let token = w.rest_token(persona).await?;
    let id = w.record("own-case")?.id;
    let req = Request::new(Method::GET, w.target.rest(&format!("/sobjects/Case/{id}")));
    Ok(Some(w.probe.send(req.bearer(&token)).await?))
}

/// HG-REV-04: the persona's REST token works before the action (a user-wide action must end it).
#[given(expr = "{word}'s REST token works on REST")]
async fn rest_token_works(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    match rest_with_persona_token(w, &persona).await? {
        Some(r) => expect(r.status == 200, format!("{persona}'s REST token works (200)"), || r.status.to_string()),
        None => {
            w.probe.evidence.push("no REST API on this target: the REST half is not run".into());
            Ok(())
        }
    }
}

/// HG-REV-04: after a user-wide action every token of the user is dead, its REST token too: 401
/// `INVALID_SESSION_ID` on the very first call.
#[then(expr = "{word}'s REST token is dead on REST at once")]
async fn rest_token_dead(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let Some(r) = rest_with_persona_token(w, &persona).await? else { return Ok(()) };
    let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
    expect(r.status == 401 && code == "INVALID_SESSION_ID", "401 INVALID_SESSION_ID on REST", || {
        format!("{} {code}", r.status)
    })
}

#[then(expr = "the {word} access token works on the MCP server")]
async fn access_works_mcp(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    let r = mcp_with(w, &t).await?;
    expect(r.status == 200, "200 from the MCP server", || format!("{}", r.status))
}

#[then(expr = "the {word} access token is dead on the MCP server at once")]
async fn access_dead_mcp(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    // The very first call after the event: no sleep, no retry.
    // Dead is 401; what the challenge says is HG-RS-01's and HG-RS-03's business.
    let r = mcp_with(w, &t).await?;
    expect(r.status == 401, "401 from the MCP server", || format!("{}", r.status))
}

/// HG-REV-07...: the latest access token sampled on the MCP server and on REST after a
/// revocation path's action, against the target's declared window for the path (none: zero).
#[then(expr = "the latest access token is refused on the MCP server and on REST within the {word} window")]
async fn refused_within_window(w: &mut GateWorld, path: String) -> Result<(), StepError> {
    use crate::revocation::{McpSampler, SAMPLES, Window, since};
    let t = grant(w, "latest")?.access_token;
    let url = primary_mcp_server(w)?;
    let start = std::time::Instant::now();
    let mut mcp = Window { surface: "MCP".into(), ..Window::default() };
    let mut rest = Window { surface: "REST".into(), ..Window::default() };
    let mut sampler = McpSampler::default();
    for _ in 0..SAMPLES {
        let (r, sent) = sampler.sample(w, &url, &t, start).await?;
        mcp.add(&r, sent);
        if let Some(req) = resource_request(w) {
            let r = w.probe.send(req.bearer(&t)).await?;
            rest.add(&r, since(start));
        }
    }
    let surfaces = if resource_request(w).is_some() { vec![mcp, rest] } else { vec![mcp] };
    if !w.target.agent_reaches_rest() {
        let scopes = w.target.scopes.join(" ");
        w.probe.evidence.push(format!(
            "REST not sampled: the agent's app grants '{scopes}', no REST scope, so a REST refusal would say nothing of the revocation"
        ));
    }
    crate::revocation::held_to_window(w, &path, &surfaces)
}

#[then(expr = "introspection says the {word} access token is {word}")]
async fn introspection(w: &mut GateWorld, which: String, state: String) -> Result<(), StepError> {
    let want = json!(state == "active");
    let t = grant(w, &which)?.access_token;
    let form = pairs(&[("token", &t), ("client_id", &w.target.client_id.clone())]);
    let r = w.probe.send(Request::new(Method::POST, w.target.introspect_url.clone()).form(form)).await?;
    let active = r.json().and_then(|v| v.get("active").cloned());
    expect(r.status == 200 && active.as_ref() == Some(&want), format!("200 {{\"active\": {want}}}"), || {
        format!("{} active={active:?}", r.status)
    })
}
