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
    pub started: std::time::Instant,
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
            started: std::time::Instant::now(),
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
            }
        }
    }

    pub fn last(&self) -> Result<&Reply, StepError> {
        self.last.as_ref().ok_or(StepError::NothingSent)
    }
}

pub fn query_path(soql: &str) -> String {
    let mut u = url::Url::parse("http://x/query").expect("static URL");
    u.query_pairs_mut().append_pair("q", soql);
    format!("/query?{}", u.query().unwrap_or_default())
}
