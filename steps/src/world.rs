//! The World: one per scenario. It holds the target, the probe (and so the evidence), the
//! personas' sessions and the last answer; steps are one-liners over these methods.

use crate::login::{self, LoginError, Outcome, TokenSet};
use crate::probe::{Probe, ProbeError, Reply, Request};
use crate::target::{self, Persona, RecordRef, Target};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;

#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("unknown persona '{0}': the target declares no such persona")]
    UnknownPersona(String),
    #[error("unknown record alias '{0}': the target declares no such record")]
    UnknownRecord(String),
    #[error("sign-in as '{persona}' failed: {source}")]
    SignIn { persona: String, source: LoginError },
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("no request was made before this check")]
    NothingSent,
    /// A control failed: one line, "expected ..., observed ...".
    #[error("expected {expected}, observed {observed}")]
    Expectation { expected: String, observed: String },
}

pub fn expect(ok: bool, expected: impl Into<String>, observed: impl FnOnce() -> String) -> Result<(), StepError> {
    if ok { Ok(()) } else { Err(StepError::Expectation { expected: expected.into(), observed: observed() }) }
}

#[derive(Debug, cucumber::World)]
#[world(init = Self::new)]
pub struct GateWorld {
    pub target: Arc<Target>,
    pub probe: Probe,
    sessions: HashMap<String, TokenSet>,
    pub last: Option<Reply>,
    pub last_authorize: Option<Outcome>,
    /// An admin read taken before a write: (URL, body), compared after it.
    pub snapshot: Option<(String, String)>,
    /// An authorization code waiting to be redeemed, with what redeems it.
    pub code: Option<PendingCode>,
    /// Token sets issued in this scenario, oldest first.
    pub grants: Vec<TokenSet>,
    /// What to undo when the scenario ends, passed or failed (the runner's after-hook runs it).
    pub cleanup: Vec<Cleanup>,
    pub burst: Option<crate::limit_steps::Burst>,
    pub apex: Option<crate::sys_steps::ApexVerdicts>,
    pub history: Option<crate::history_steps::EditCoverage>,
    pub started: std::time::Instant,
    /// Open MCP sessions: (persona, server) -> Mcp-Session-Id ("" where the server keeps none).
    pub mcp_sessions: HashMap<(String, String), String>,
    /// Request ids this scenario sent, with what they were, for the audit checks.
    pub sent_ids: Vec<(String, String)>,
    /// What the system-mode probe found.
    pub sys: Option<crate::sys_steps::ProbeReport>,
    /// Tool definitions listed across the MCP servers.
    pub listed: Option<Vec<Value>>,
}

#[derive(Debug, Clone)]
pub struct PendingCode {
    pub code: String,
    pub verifier: String,
    pub challenge: String,
    pub redirect_uri: String,
}

/// An admin action that restores the org after a scenario changed shared state.
#[derive(Debug, Clone)]
pub enum Cleanup {
    /// PATCH this REST path with this body as the admin.
    AdminPatch { path: String, body: Value },
    /// Move the target's clock (the mock's) past a window the scenario used up.
    AdvanceClock(std::time::Duration),
}

impl GateWorld {
    fn new() -> Self {
        let target = target::current();
        GateWorld {
            probe: Probe::new(target.secrets.clone()),
            target,
            sessions: HashMap::new(),
            last: None,
            last_authorize: None,
            snapshot: None,
            code: None,
            grants: Vec::new(),
            cleanup: Vec::new(),
            burst: None,
            apex: None,
            history: None,
            started: std::time::Instant::now(),
            mcp_sessions: HashMap::new(),
            sent_ids: Vec::new(),
            sys: None,
            listed: None,
        }
    }

    pub fn persona(&self, name: &str) -> Result<Persona, StepError> {
        self.target.personas.get(name).cloned().ok_or_else(|| StepError::UnknownPersona(name.into()))
    }

    pub fn record(&self, alias: &str) -> Result<RecordRef, StepError> {
        self.target.records.get(alias).cloned().ok_or_else(|| StepError::UnknownRecord(alias.into()))
    }

    /// The persona's access token, signing in through the agent's app on first use.
    pub async fn token(&mut self, name: &str) -> Result<String, StepError> {
        if let Some(t) = self.sessions.get(name) {
            return Ok(t.access_token.clone());
        }
        let persona = self.persona(name)?;
        let target = self.target.clone();
        let ts = login::sign_in(&mut self.probe, &target, &persona)
            .await
            .map_err(|source| StepError::SignIn { persona: name.into(), source })?;
        let access = ts.access_token.clone();
        self.sessions.insert(name.into(), ts);
        Ok(access)
    }

    /// Runs the authorization request as the persona with the standard parameters.
    pub async fn try_authorize(&mut self, name: &str) -> Result<(), StepError> {
        self.authorize_with(name, |_| {}).await
    }

    /// Runs the authorization request as the persona with the standard parameters changed by
    /// `vary`, and keeps where it ended. A code that came back is kept for redemption.
    pub async fn authorize_with(
        &mut self,
        name: &str,
        vary: impl FnOnce(&mut Vec<(String, String)>),
    ) -> Result<(), StepError> {
        let persona = self.persona(name)?;
        let target = self.target.clone();
        let pkce = crate::pkce::Pkce::new();
        self.probe.secrets.add(&pkce.verifier, "code verifier");
        let mut params = login::standard_params(&target, &pkce, "hg-state");
        vary(&mut params);
        let redirect_uri = params.iter().find(|(k, _)| k == "redirect_uri").map(|(_, v)| v.clone()).unwrap_or_default();
        let outcome = login::authorize(&mut self.probe, &target, &persona, &params)
            .await
            .map_err(|source| StepError::SignIn { persona: name.into(), source })?;
        self.code = outcome.param("code").map(|code| {
            self.probe.secrets.add(&code, "authorization code");
            PendingCode { code, verifier: pkce.verifier.clone(), challenge: pkce.challenge.clone(), redirect_uri }
        });
        self.last_authorize = Some(outcome);
        Ok(())
    }

    /// POSTs to the token endpoint; the answer becomes `last`, and tokens in it are kept.
    pub async fn token_request(&mut self, pairs: Vec<(String, String)>) -> Result<(), StepError> {
        let target = self.target.clone();
        let reply = login::exchange(&mut self.probe, &target, pairs)
            .await
            .map_err(|source| StepError::SignIn { persona: "(client)".into(), source })?;
        if let Some(ts) = login::token_set(&reply).filter(|_| reply.status == 200) {
            self.grants.push(ts);
        }
        self.last = Some(reply);
        Ok(())
    }

    /// A REST call as the persona; the answer becomes `last`.
    pub async fn rest(
        &mut self,
        persona: &str,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(), StepError> {
        let token = self.token(persona).await?;
        let mut req = Request::new(method, self.target.rest(path)).bearer(&token);
        if let Some(b) = body {
            req = req.json(b);
        }
        self.last = Some(self.probe.send(req).await?);
        Ok(())
    }

    /// The fields of an object's describe as the persona sees them (empty when it cannot).
    pub async fn describe_fields(&mut self, persona: &str, object: &str) -> Result<Vec<Value>, StepError> {
        self.rest(persona, Method::GET, &format!("/sobjects/{object}/describe"), None).await?;
        Ok(self.last()?.json().and_then(|v| v["fields"].as_array().cloned()).unwrap_or_default())
    }

    /// The admin's view of a REST resource, kept to compare after a write.
    pub async fn take_snapshot(&mut self, path: &str) -> Result<(), StepError> {
        let token = self.token("admin").await?;
        let url = self.target.rest(path);
        let reply = self.probe.send(Request::new(Method::GET, url.clone()).bearer(&token)).await?;
        self.snapshot = Some((url, reply.body));
        Ok(())
    }

    /// Undoes what the scenario changed in the org, newest first. Runs after every scenario,
    /// passed or failed; a failure here is reported in the evidence, not hidden.
    pub async fn run_cleanup(&mut self) {
        while let Some(c) = self.cleanup.pop() {
            match c {
                Cleanup::AdminPatch { path, body } => {
                    if let Err(e) = self.rest("admin", Method::PATCH, &path, Some(body)).await {
                        self.probe.evidence.push(format!("cleanup failed: PATCH {path}: {e}"));
                    }
                }
                Cleanup::AdvanceClock(by) => {
                    if let Some(clock) = &self.target.clock {
                        clock(by);
                    }
                }
            }
        }
    }

    pub fn mcp_url(&self, server: &str) -> Result<String, StepError> {
        self.target.mcp_servers.get(server).cloned().ok_or_else(|| StepError::Expectation {
            expected: format!("an MCP server named '{server}' in the target"),
            observed: "not verifiable on this target: no such MCP server is configured".into(),
        })
    }

    /// One JSON-RPC POST to an MCP server; the answer becomes `last`.
    pub async fn mcp_send(
        &mut self,
        url: &str,
        token: Option<&str>,
        session: Option<&str>,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Result<(), StepError> {
        let request_id = format!("hg-{:016x}", rand::random::<u64>());
        let mut req = Request::new(Method::POST, url).json(body.clone());
        req.headers.push(("Accept".into(), "application/json, text/event-stream".into()));
        req.headers.push(("X-Request-Id".into(), request_id.clone()));
        if let Some(s) = session.filter(|s| !s.is_empty()) {
            req.headers.push(("Mcp-Session-Id".into(), s.into()));
            req.headers.push(("MCP-Protocol-Version".into(), MCP_PROTOCOL.into()));
        }
        for (k, v) in headers {
            req.headers.retain(|(x, _)| !x.eq_ignore_ascii_case(k));
            req.headers.push((k.to_string(), v.to_string()));
        }
        if let Some(t) = token {
            req = req.bearer(t);
        }
        self.sent_ids.push((request_id, body.get("method").and_then(Value::as_str).unwrap_or("?").to_string()));
        self.last = Some(self.probe.send(req).await?);
        Ok(())
    }

    /// Opens (once) the persona's session on an MCP server: initialize, then initialized.
    pub async fn mcp_open(&mut self, persona: &str, server: &str) -> Result<String, StepError> {
        let key = (persona.to_string(), server.to_string());
        if let Some(s) = self.mcp_sessions.get(&key) {
            return Ok(s.clone());
        }
        let url = self.mcp_url(server)?;
        let token = self.token(persona).await?;
        self.mcp_send(&url, Some(&token), None, initialize_request(), &[]).await?;
        let r = self.last()?;
        expect(r.status == 200 && rpc(r).get("result").is_some(), "the MCP server initializes (200)", || {
            format!("{} {}", r.status, r.body.chars().take(200).collect::<String>())
        })?;
        let session = r.header("mcp-session-id").unwrap_or_default().to_string();
        let note = serde_json::json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
        self.mcp_send(&url, Some(&token), Some(&session), note, &[]).await?;
        self.mcp_sessions.insert(key, session.clone());
        Ok(session)
    }

    /// A JSON-RPC request on the persona's session.
    pub async fn mcp_request(
        &mut self,
        persona: &str,
        server: &str,
        method: &str,
        params: Value,
    ) -> Result<(), StepError> {
        let session = self.mcp_open(persona, server).await?;
        let url = self.mcp_url(server)?;
        let token = self.token(persona).await?;
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
        self.mcp_send(&url, Some(&token), Some(&session), body, &[]).await
    }

    pub fn last(&self) -> Result<&Reply, StepError> {
        self.last.as_ref().ok_or(StepError::NothingSent)
    }
}

/// The protocol era the harness speaks (sessions, `Mcp-Session-Id`).
pub const MCP_PROTOCOL: &str = "2025-11-25";

/// The JSON-RPC `initialize` the harness opens every MCP session with.
pub fn initialize_request() -> Value {
    serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
        "params": {"protocolVersion": MCP_PROTOCOL, "capabilities": {}, "clientInfo": {"name": "headless-gate", "version": env!("CARGO_PKG_VERSION")}}})
}

/// A JSON-RPC answer from a JSON body or from the `data:` events of an SSE stream.
pub fn rpc(r: &Reply) -> Value {
    if let Some(v) = r.json() {
        return v;
    }
    r.body
        .lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("result").is_some() || v.get("error").is_some())
        .unwrap_or(Value::Null)
}

pub fn query_path(soql: &str) -> String {
    let mut u = url::Url::parse("http://x/query").expect("static URL");
    u.query_pairs_mut().append_pair("q", soql);
    format!("/query?{}", u.query().unwrap_or_default())
}
