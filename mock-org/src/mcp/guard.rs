//! The resource-server guard in front of every MCP server (MCP authorization spec, RFC 6750,
//! RFC 9728): Origin validation, a bearer JWT verified against this server's URL as audience and
//! against revocation on every request, the `mcp_api` scope, and sessions bound to the user who
//! opened them (a session id is never a credential by itself).

use crate::faults::Fault;
use crate::pipeline::bearer;
use crate::tokens::TokenRejection;
use crate::{McpSession, MockOrg};
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

/// Sessions one user may hold open on one server: a client opening sessions without end gets a
/// 429 instead of the org's memory.
pub const MAX_SESSIONS_PER_USER: usize = 200;

/// How long an unused session lives (rmcp's session worker closes it then too).
pub const SESSION_IDLE: std::time::Duration = std::time::Duration::from_secs(300);

#[derive(Clone)]
pub struct GuardState {
    pub org: Arc<MockOrg>,
    pub server: String,
}

fn metadata_url(s: &MockOrg, server: &str) -> String {
    format!("{}/.well-known/oauth-protected-resource{}", s.api_url(), s.org.mcp_path(server))
}

/// A refusal in the gateway's shape; the RFC 6750 code, where there is one, is in `challenge`.
fn refuse(status: StatusCode, challenge: Option<String>, message: &str) -> Response {
    let mut r = (status, axum::Json(super::gateway::errors(message))).into_response();
    if let Some(c) = challenge.and_then(|c| HeaderValue::from_str(&c).ok()) {
        r.headers_mut().insert(header::WWW_AUTHENTICATE, c);
    }
    r
}

pub async fn guard(State(g): State<GuardState>, mut req: Request, next: Next) -> Response {
    let s = &g.org;
    let resource = s.mcp_url(&g.server);
    // DNS-rebinding and cross-site defence: a browser Origin must be the platform's own (the API
    // host or the org's My Domain).
    let foreign_origin = req.headers().get(header::ORIGIN).is_some_and(|o| {
        let o = o.to_str().unwrap_or_default();
        o != s.api_url() && o != s.base_url() && !(s.fault(Fault::McpOriginLoopback) && loopback_or_null(o))
    });
    if foreign_origin && !s.fault(Fault::McpOriginUnchecked) {
        return refuse(StatusCode::FORBIDDEN, None, "requests from this Origin are not accepted");
    }
    let meta = metadata_url(s, &g.server);
    let challenge = |c: String| (!s.fault(Fault::McpNoChallenge)).then_some(c);
    let session = req.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
    let opener =
        session.as_ref().and_then(|sid| s.mcp_sessions.lock().unwrap_or_else(|p| p.into_inner()).get(sid).cloned());
    let header_token =
        bearer(req.headers().get(header::AUTHORIZATION).and_then(|v| v.to_str().ok())).map(str::to_string);
    let token = presented_token(s, header_token.clone(), req.uri().query(), opener.as_ref());
    if token != header_token {
        // A fault found the token elsewhere: hand it on as if it had come in the header.
        if let Some(v) = token.as_ref().and_then(|t| HeaderValue::from_str(&format!("Bearer {t}")).ok()) {
            req.headers_mut().insert(header::AUTHORIZATION, v);
        }
    }
    let malformed = req.headers().contains_key(header::AUTHORIZATION) && header_token.is_none();
    if malformed && token.is_none() && s.fault(Fault::McpMalformedAuthAnonymous) {
        return next.run(req).await;
    }
    if s.fault(Fault::McpAnyProtocolVersion) {
        normalize_protocol_version(req.headers_mut());
    }
    let token = match token {
        None if s.fault(Fault::McpTrustsIdentityHeader) => identity_header_token(s, &mut req),
        t => t,
    };
    let Some(token) = token else {
        // Tokens in the query string are not accepted (RFC 9700 2.5): they count as no token.
        return refuse(
            StatusCode::UNAUTHORIZED,
            challenge(format!("Bearer resource_metadata=\"{meta}\"")),
            super::gateway::TOKEN_REQUIRED,
        );
    };
    let invalid = |why: &str| {
        refuse(
            StatusCode::UNAUTHORIZED,
            challenge(format!(
                "Bearer resource_metadata=\"{meta}\", error=\"invalid_token\", error_description=\"{why}\""
            )),
            why,
        )
    };
    let claims = match s.tokens.verify_with(&s.clock, &token, &s.audience_at(resource.clone()), s.mcp_checks()) {
        Ok(c) => c,
        Err(TokenRejection::WrongAudience) => return invalid("the token is for another resource"),
        Err(TokenRejection::Expired) => return invalid("the token expired"),
        Err(_) => return invalid("the token is not valid"),
    };
    if !s.mcp_token_user_ok(&claims.sub) {
        return invalid("the user cannot sign in");
    }
    if !claims.has_scope("mcp_api") && !s.fault(Fault::McpScopeUnchecked) {
        return refuse(
            StatusCode::FORBIDDEN,
            Some(format!("Bearer resource_metadata=\"{meta}\", error=\"insufficient_scope\", scope=\"mcp_api\"")),
            "the token lacks the mcp_api scope",
        );
    }
    if opener.as_ref().is_some_and(|o| o.user_id != claims.sub) {
        return refuse(StatusCode::FORBIDDEN, None, "the session belongs to another user");
    }
    if let Some(sid) = &session
        && let Some(entry) = s.mcp_sessions.lock().unwrap_or_else(|p| p.into_inner()).get_mut(sid)
    {
        entry.last_used = std::time::Instant::now();
    }
    // A POST without a session may open one: its place is held while it is served, so callers
    // racing each other cannot open more than the cap between them.
    let held = match session.is_none() && req.method() == axum::http::Method::POST {
        true => hold_a_session_place(s, &claims.sub, &resource, &token),
        false => Ok(None),
    };
    let Ok(held) = held else {
        return refuse(
            StatusCode::TOO_MANY_REQUESTS,
            None,
            &format!("at most {MAX_SESSIONS_PER_USER} open sessions per user on this server; end one (DELETE) first"),
        );
    };
    if session.is_none() && s.fault(Fault::McpSessionOptional) {
        req = with_callers_session(s, req, &claims.sub, &resource).await;
    }
    let closing = req.method() == axum::http::Method::DELETE;
    let response: Response<Body> = match s.fault(Fault::McpAnswersByRpcId) && req.method() == axum::http::Method::POST {
        true => s.mcp_pending.serve(&resource, req, next, s.org.max_request_bytes).await,
        false => next.run(req).await,
    };
    let opened = response.headers().get("mcp-session-id").and_then(|v| v.to_str().ok()).filter(|_| session.is_none());
    let mut sessions = s.mcp_sessions.lock().unwrap_or_else(|p| p.into_inner());
    let held = held.and_then(|place| sessions.remove(&place));
    if let (Some(sid), Some(mut entry)) = (opened, held) {
        entry.last_used = std::time::Instant::now();
        sessions.insert(sid.to_string(), entry);
    } else if let Some(sid) = session.filter(|_| closing && response.status().is_success()) {
        // A terminated session is no longer the caller's to be served on.
        sessions.remove(&sid);
    }
    drop(sessions);
    response
}

/// The key prefix of a place held for a session being opened (no session id has a space).
const PLACE_HELD: &str = " opening ";

/// Forgets sessions idle past `SESSION_IDLE`; then, where the user holds fewer sessions on this
/// server than it may (places held by requests in flight count), holds one more place under a key
/// no session id takes. `Err` when the user is at the cap.
fn hold_a_session_place(s: &MockOrg, user_id: &str, resource: &str, token: &str) -> Result<Option<String>, ()> {
    static NEXT: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
    let mut sessions = s.mcp_sessions.lock().unwrap_or_else(|p| p.into_inner());
    sessions.retain(|_, o| o.last_used.elapsed() < SESSION_IDLE);
    if sessions.values().filter(|o| o.user_id == user_id && o.resource == resource).count() >= MAX_SESSIONS_PER_USER {
        return Err(());
    }
    let place = format!("{PLACE_HELD}{}", NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    let entry = McpSession {
        user_id: user_id.to_string(),
        token: token.to_string(),
        resource: resource.to_string(),
        last_used: std::time::Instant::now(),
    };
    sessions.insert(place.clone(), entry);
    Ok(Some(place))
}

/// The bearer token a request is served with: the `Authorization` header's in a clean org. The
/// resource faults also take it from the query string, or from the session's opener.
fn presented_token(
    s: &MockOrg,
    header: Option<String>,
    query: Option<&str>,
    opener: Option<&McpSession>,
) -> Option<String> {
    if let Some(o) = opener {
        let session_stands_in = match header {
            Some(_) => s.fault(Fault::McpSessionUnbound),
            None => s.fault(Fault::McpSessionIsCredential),
        };
        if session_stands_in {
            return Some(o.token.clone());
        }
    }
    if header.is_none() && s.fault(Fault::McpQueryToken) {
        let pairs = crate::form::pairs(query.unwrap_or_default()).unwrap_or_default();
        return pairs.into_iter().find(|(k, _)| k == "access_token").map(|(_, v)| v);
    }
    header
}

/// Under `mcp-trusts-identity-header`: the user an `X-Forwarded-User` header names gets a token
/// minted on the spot, handed on as if it had come in the header.
fn identity_header_token(s: &MockOrg, req: &mut Request) -> Option<String> {
    let username = req.headers().get("x-forwarded-user")?.to_str().ok()?.to_string();
    let user = s.org.user_by_username(&username)?;
    let app = s.org.apps.first()?;
    let scopes: Vec<String> = app.scopes.clone();
    let lifetime = i64::from(app.access_token_lifetime_minutes) * 60;
    let (token, _) = s.tokens.mint(&s.clock, &user.id, &app.consumer_key, &scopes, s.default_audience(), lifetime);
    req.headers_mut().insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {token}")).ok()?);
    Some(token)
}

/// Under `mcp-session-optional`: a request other than `initialize` that names no session is put
/// on one of the caller's open sessions (the body is read to tell `initialize` apart).
async fn with_callers_session(s: &MockOrg, req: Request, user_id: &str, resource: &str) -> Request {
    let (mut parts, body) = req.into_parts();
    let bytes = axum::body::to_bytes(body, s.org.max_request_bytes).await.unwrap_or_default();
    let opening = serde_json::from_slice::<serde_json::Value>(&bytes).is_ok_and(|v| v["method"] == "initialize");
    let sessions = s.mcp_sessions.lock().unwrap_or_else(|p| p.into_inner());
    let theirs = sessions
        .iter()
        .find(|(sid, o)| o.user_id == user_id && o.resource == resource && !sid.starts_with(PLACE_HELD))
        .map(|(sid, _)| sid.clone());
    drop(sessions);
    if let Some(v) = theirs.filter(|_| !opening).and_then(|sid| HeaderValue::from_str(&sid).ok()) {
        parts.headers.insert("mcp-session-id", v);
    }
    Request::from_parts(parts, Body::from(bytes))
}

/// Under `mcp-any-protocol-version`: a version rmcp does not know is swapped for one it does, as
/// a lenient gateway in front of a server might.
fn normalize_protocol_version(headers: &mut axum::http::HeaderMap) {
    const KNOWN: &[&str] = &["2024-11-05", "2025-03-26", "2025-06-18", "2025-11-25", "2026-07-28"];
    let unknown = headers.get("mcp-protocol-version").is_some_and(|v| !KNOWN.contains(&v.to_str().unwrap_or("")));
    if unknown {
        headers.insert("mcp-protocol-version", HeaderValue::from_static("2025-11-25"));
    }
}

/// RFC 9728 protected-resource metadata for one server.
pub async fn resource_metadata(s: Arc<MockOrg>, server: String) -> Response {
    // Under `mcp-metadata-wrong-resource` the document names the org, not this server (RFC 9728
    // §3.3: a client must then not use it).
    let resource = match s.fault(Fault::McpMetadataWrongResource) {
        true => s.base_url().to_string(),
        false => s.mcp_url(&server),
    };
    axum::Json(json!({
        "resource": resource,
        "authorization_servers": [s.tokens.issuer()],
        "scopes_supported": if s.fault(Fault::McpMetadataScopesWidened) { json!(["mcp_api", "sfap_api"]) } else { json!(["mcp_api"]) },
        "bearer_methods_supported": ["header"],
        "resource_name": server,
    }))
    .into_response()
}

/// Under `mcp-origin-loopback`: an Origin on any loopback host and port, or `null`.
fn loopback_or_null(origin: &str) -> bool {
    origin == "null"
        || url::Url::parse(origin)
            .is_ok_and(|u| matches!(u.host_str(), Some("127.0.0.1") | Some("localhost") | Some("[::1]")))
}
