//! The World: one per scenario. It holds the target, the probe (and so the evidence), the
//! personas' sessions and the last answer; steps are one-liners over these methods.

use crate::login::{self, LoginError, Outcome, TokenSet};
use crate::probe::{Probe, ProbeError, Reply, Request};
use crate::target::{self, McpEra, Persona, RecordRef, Target};
use reqwest::Method;
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;

/// Why a step stopped. Its text is what cucumber prints and the reports keep, so it is redacted
/// with the run's secrets when it is written (`Display`), whatever the target put in it.
#[derive(Debug, thiserror::Error)]
pub enum StepError {
    #[error("unknown record alias '{}': the target declares no such record", shown(.0))]
    UnknownRecord(String),
    #[error("sign-in as '{}' failed: {}", shown(persona), shown(&source.to_string()))]
    SignIn { persona: String, source: LoginError },
    #[error("{}", shown(&.0.to_string()))]
    Probe(#[from] ProbeError),
    #[error("no request was made before this check")]
    NothingSent,
    /// A control failed: one line, "expected ..., observed ...".
    #[error("expected {}, observed {}", shown(expected), shown(observed))]
    Expectation { expected: String, observed: String },
    /// The control applies, but this target gives no way to check it: what is missing and how
    /// to provide it. The runner reads the row's outcome from this text's prefix.
    #[error("not verifiable: {}", shown(.0))]
    NotVerifiable(String),
    /// The catalog says the control does not apply to this target's declared kind.
    #[error("not applicable: {}", shown(.0))]
    NotApplicable(String),
}

fn shown(text: &str) -> String {
    target::redact_installed(text)
}

/// The prefixes of `StepError::NotVerifiable` and `NotApplicable`'s text, which the runner maps to
/// the row's outcome.
pub const NOT_VERIFIABLE: &str = "not verifiable: ";
pub const NOT_APPLICABLE: &str = "not applicable: ";

/// Judges a refusal against the table and writes down which accepted shape the target chose; a
/// token in the answer is checked by the caller.
pub fn refused_as(w: &mut GateWorld, what: &str, kind: crate::refusals::Kind) -> Result<(), StepError> {
    let r = w.last()?;
    let (status, error) = (r.status, crate::refusals::error_code(r));
    let observed = format!("{status} {}", error.as_deref().unwrap_or("(no error code)"));
    if !(200..300).contains(&status)
        && let Some(d) = crate::refusals::Doubt::applying(&w.doubts, error.as_deref())
    {
        return Err(StepError::NotVerifiable(format!("{what} was refused ({observed}), but {}", d.reason)));
    }
    let shape = crate::refusals::judge(w.target.flavor, kind, status, error.as_deref())
        .map_err(|expected| StepError::Expectation { expected, observed: observed.clone() })?;
    if crate::refusals::is_client_auth_failure(&shape) && !w.client_refusal_is_the_answer {
        let sent_secret = w.secret_sent;
        let fix = if sent_secret {
            "the declared client secret was refused: check app.client_secret_env / app.other_client_secret_env"
        } else {
            "declare the client's secret (app.client_secret_env / app.other_client_secret_env)"
        };
        return Err(StepError::NotVerifiable(format!(
            "{what} was refused ({observed}) because the server did not authenticate the client, so what it asked for was never judged: {fix}"
        )));
    }
    w.probe.evidence.push(format!(
        "{what} refused with {status} {}: allowed by {}",
        error.as_deref().unwrap_or("(no error code)"),
        shape.cite
    ));
    Ok(())
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
    /// Persona -> its token set from the probe app, for REST where the agent's app grants no
    /// REST scope.
    rest_sessions: HashMap<String, TokenSet>,
    pub last: Option<Reply>,
    pub last_authorize: Option<Outcome>,
    /// An admin read taken before a write: (URL, body), compared after it.
    pub snapshot: Option<(String, String)>,
    /// An authorization code waiting to be redeemed, with what redeems it.
    pub code: Option<PendingCode>,
    /// Token sets issued in this scenario, oldest first.
    pub grants: Vec<TokenSet>,
    /// What to undo when the scenario ends, passed or failed (the runner's after-hook runs it),
    /// each with its entry in the run's undo ledger (`queue_undo`).
    cleanup: Vec<(Option<u64>, Cleanup)>,
    /// The scenario's name, as the undo ledger reports it (set by the runner's before-hook).
    pub scenario: String,
    pub burst: Option<crate::limit_steps::Burst>,
    pub apex: Option<crate::sys_steps::ApexVerdicts>,
    pub history: Option<crate::history_steps::EditCoverage>,
    pub started: std::time::Instant,
    /// Open MCP sessions: (persona, server) -> Mcp-Session-Id ("" where the server keeps none).
    pub mcp_sessions: HashMap<(String, String), String>,
    /// The REST and MCP requests this scenario sent, for the audit checks.
    pub sent: Vec<Sent>,
    /// The event log rows (by `event_log::row_key`) the admin saw before an audit scenario's calls.
    pub event_log_seen: Option<std::collections::BTreeSet<String>>,
    /// The sign-ins this scenario attempted, for the login history checks.
    pub sign_ins: crate::login_history::SignIns,
    /// What makes a refusal of the last request to the authorization server prove nothing
    /// (`refusals::Doubt`).
    pub doubts: Vec<crate::refusals::Doubt>,
    /// A refusal of the last request by failing client authentication is the refusal itself (a
    /// public client asking for a confidential client's grant).
    pub client_refusal_is_the_answer: bool,
    /// The last request to the authorization server carried a client secret.
    pub secret_sent: bool,
    /// What the system-mode probe found.
    pub sys: Option<crate::canary_prober::ProbeReport>,
    /// Tool definitions listed across the MCP servers.
    pub listed: Option<Vec<Value>>,
    /// Canary records the admin seeded in this scenario: (object, id).
    pub seeded: Vec<(String, String)>,
    /// The concurrent redemptions of one code (HG-CODE-03).
    pub code_race: Option<CodeRace>,
    /// The last request sent as a persona other than the admin, as decisions name it.
    pub asked: Option<crate::decisions::Asked>,
    /// Every allow/deny decision the scenario observed (for the drift baseline).
    pub decisions: Vec<crate::decisions::Decision>,
    pub revocation_race: Option<RevocationRace>,
    /// What the admin's read through an MCP door showed (HG-DOOR-01/02).
    pub door_proof: Option<crate::doors::DoorProof>,
    /// What clients with colliding JSON-RPC ids got (HG-ISO-02).
    pub crosstalk: Option<crate::isolation::Crosstalk>,
    /// The persona's catalog per server, as HG-PIN-01 observed it.
    pub catalog: Option<(String, crate::catalog_pin::PersonaCatalog)>,
    /// One server's catalog listed twice in a session, and whether list_changed came between.
    pub relisted: Option<crate::catalog_pin::Relisting>,
    /// Why the last tool call was not made (the target has no tool for it): the checks on its
    /// result have nothing to judge, and say so.
    pub skipped_call: Option<String>,
}

/// What the concurrent redemptions of one code got.
#[derive(Debug, Clone)]
pub struct CodeRace {
    pub successes: usize,
    /// Every other answer: status, `error`, and whether it carried a token anyway.
    pub losers: Vec<(u16, String, bool)>,
}

/// What callers using a token while it was revoked got after the revoke answered (HG-REV-03).
#[derive(Debug, Clone)]
pub struct RevocationRace {
    /// Requests that succeeded, and the latest of them after the revoke (ms).
    pub after_ok: usize,
    pub stale_ms: u128,
    /// Every other answer but 401, by status (0: none came).
    pub after_other: BTreeMap<u16, usize>,
}

/// A request this scenario sent, as the audit checks look for it.
#[derive(Debug, Clone)]
pub struct Sent {
    /// The `X-Request-Id` it carried, which the org's audit record names.
    pub id: String,
    /// The JSON-RPC method of an MCP request (`tools/call`), or `REST`.
    pub what: String,
    /// The code its caller was refused with; None when it was allowed.
    pub refusal: Option<String>,
    /// When it was sent (ms since the epoch), as the org's event log times it.
    pub at_ms: i64,
    pub http_method: String,
    pub status: u16,
    /// Who sent it, and through which MCP server and tool, where a persona's step did.
    pub persona: Option<String>,
    pub server: Option<String>,
    pub tool: Option<String>,
    pub entity: Option<String>,
    /// The request's path, without its query.
    pub uri: String,
    /// It carried the probe app's token (REST where the agent's app grants no REST scope).
    pub probe_app: bool,
}

impl Sent {
    /// `at_ms`: when, by the target's clock (`Target::now_ms`), as the org's event log times it.
    fn new(id: String, what: String, method: &str, reply: &Reply, refusal: Option<String>, at_ms: i64) -> Sent {
        Sent {
            id,
            what,
            refusal,
            at_ms,
            http_method: method.to_string(),
            status: reply.status,
            persona: None,
            server: None,
            tool: None,
            entity: None,
            uri: String::new(),
            probe_app: false,
        }
    }
}

/// A SOQL string literal: quotes and backslashes escaped, so a value from the target file stays a
/// value.
pub fn soql_string(s: &str) -> String {
    format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'"))
}

/// A listed tool's name (empty where it has none).
pub fn tool_name(tool: &Value) -> String {
    tool["name"].as_str().unwrap_or_default().to_string()
}

/// A tool is read-only only where its annotations say so: MCP's `readOnlyHint` defaults to false,
/// so an unannotated tool may write.
pub fn is_read_only(tool: &Value) -> bool {
    tool["annotations"]["readOnlyHint"] == Value::Bool(true)
}

/// A broad tool reaches data beyond one record: free-form queries, search, exports, code.
pub fn is_broad(name: &str) -> bool {
    let l = name.to_ascii_lowercase();
    ["query", "soql", "sosl", "search", "export", "bulk", "apex", "execute"].iter().any(|k| l.contains(k))
}

/// A fresh request id, for the `X-Request-Id` header.
fn request_id() -> String {
    format!("hg-{:016x}", rand::random::<u64>())
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
    /// Put back every updateable field of a record that differs from the admin's earlier read.
    AdminRestore { object: String, id: String, before: Value },
    /// Delete records of the object that the admin's earlier query did not list.
    AdminDeleteNew { object: String, before: Vec<String> },
    /// Delete a record the scenario seeded.
    AdminDelete { object: String, id: String },
    /// Create this record as the admin (a removed assignment put back).
    AdminCreate { object: String, body: Value },
}

impl Cleanup {
    /// Whether it puts the org back (the mock's clock dies with the run).
    fn changes_the_org(&self) -> bool {
        !matches!(self, Cleanup::AdvanceClock(_))
    }
}

/// What an undo does, as the evidence and the reports of an interrupted run say it.
impl std::fmt::Display for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cleanup::AdminPatch { path, body } => write!(f, "PATCH {path} {body} as the admin"),
            Cleanup::AdvanceClock(by) => write!(f, "move the mock's clock on by {} s", by.as_secs()),
            Cleanup::AdminRestore { object, id, .. } => write!(f, "restore {object} {id} as the admin read it before"),
            Cleanup::AdminDeleteNew { object, .. } => {
                write!(f, "delete the {object} records created since the admin's earlier read")
            }
            Cleanup::AdminDelete { object, id } => write!(f, "delete {object} {id} as the admin"),
            Cleanup::AdminCreate { object, body } => write!(f, "create {object} {body} as the admin"),
        }
    }
}

impl GateWorld {
    /// A World outside a run (`audit reconcile`): the installed target, no scenario.
    pub fn standalone() -> Self {
        Self::new()
    }

    fn new() -> Self {
        let target = target::current();
        GateWorld {
            probe: Probe::new(target.secrets.clone(), target.limits.clone()),
            target,
            sessions: HashMap::new(),
            rest_sessions: HashMap::new(),
            last: None,
            last_authorize: None,
            snapshot: None,
            code: None,
            grants: Vec::new(),
            cleanup: Vec::new(),
            scenario: String::new(),
            burst: None,
            apex: None,
            history: None,
            started: std::time::Instant::now(),
            mcp_sessions: HashMap::new(),
            sent: Vec::new(),
            sign_ins: Default::default(),
            event_log_seen: None,
            doubts: Vec::new(),
            client_refusal_is_the_answer: false,
            secret_sent: false,
            sys: None,
            listed: None,
            seeded: Vec::new(),
            code_race: None,
            asked: None,
            decisions: Vec::new(),
            revocation_race: None,
            door_proof: None,
            crosstalk: None,
            catalog: None,
            relisted: None,
            skipped_call: None,
        }
    }

    pub fn persona(&self, name: &str) -> Result<Persona, StepError> {
        if let Some(why) = self.target.unavailable.get(self.target.persona_name(name)) {
            return Err(StepError::NotVerifiable(format!("persona '{name}' sits out this run: {why}")));
        }
        // A persona the scenario needs and the target does not name: this target gives no way to
        // check it (not a failure of the target), with the key that would.
        self.target.persona_for(name).cloned().ok_or_else(|| {
            StepError::NotVerifiable(match name {
                "second-user" | "restricted" | "admin" => format!(
                    "the target names no persona in the role {name} (add roles.{} or a persona of that name)",
                    name.replace('-', "_")
                ),
                _ => format!("the target names no persona '{name}' (add personas.{name})"),
            })
        })
    }

    pub fn record(&self, alias: &str) -> Result<RecordRef, StepError> {
        self.target.records.get(alias).cloned().ok_or_else(|| StepError::UnknownRecord(alias.into()))
    }

    /// The persona's token for the REST API: its agent-app token where that app grants a REST
    /// scope, else one signed in through the target's probe app (kept for the scenario); with
    /// neither, REST-side checks are not verifiable.
    pub async fn rest_token(&mut self, name: &str) -> Result<String, StepError> {
        if self.target.agent_reaches_rest() {
            return self.token(name).await;
        }
        if let Some(t) = self.rest_sessions.get(name) {
            return Ok(t.access_token.clone());
        }
        let probe_app = self.target.as_probe_app().ok_or_else(|| {
            StepError::NotVerifiable(format!(
                "the agent's app grants no REST scope ({}), so REST refuses its tokens: declare the gate's probe app (probe_app.client_id, with scope api)",
                self.target.scopes.join(" ")
            ))
        })?;
        let persona = self.persona(name)?;
        if persona.refresh.is_some() {
            return Err(StepError::NotVerifiable(format!(
                "persona '{name}' signs in with a stored refresh token of the agent's app, which REST refuses, and the probe app signs personas in with their password (give it password_env instead)"
            )));
        }
        let ts = login::sign_in(&mut self.probe, &probe_app, &persona)
            .await
            .map_err(|source| StepError::SignIn { persona: format!("{name} (probe app)"), source })?;
        let access = ts.access_token.clone();
        self.rest_sessions.insert(name.into(), ts);
        Ok(access)
    }

    /// The persona's access token, signing in through the agent's app on first use (or, for a
    /// persona with a stored refresh token, refreshing it).
    pub async fn token(&mut self, name: &str) -> Result<String, StepError> {
        if let Some(t) = self.sessions.get(name) {
            return Ok(t.access_token.clone());
        }
        let persona = self.persona(name)?;
        let target = self.target.clone();
        let ts = match &persona.refresh {
            Some(chain) => login::refresh(&mut self.probe, &target, chain).await,
            None => login::sign_in(&mut self.probe, &target, &persona).await,
        }
        .map_err(|source| StepError::SignIn { persona: name.into(), source })?;
        let access = ts.access_token.clone();
        self.sessions.insert(name.into(), ts);
        Ok(access)
    }

    /// The token set the persona signed in with in this scenario, if it has.
    pub fn session(&self, name: &str) -> Option<&TokenSet> {
        self.sessions.get(name)
    }

    /// Lets a lifetime pass for something the target issued. The mock's clock is moved by
    /// `on_mock`; a real target is waited out (`lifetime` and two seconds more) where that fits
    /// what is left of the scenario's budget, and the run's interruption cuts the wait short;
    /// otherwise the check is not verifiable, saying what to change. Never a movable clock
    /// outside the mock.
    pub async fn let_pass(
        &mut self,
        what: &str,
        lifetime: Option<std::time::Duration>,
        on_mock: std::time::Duration,
        how_to_know: &str,
    ) -> Result<(), StepError> {
        if let Some(clock) = &self.target.clock {
            clock(on_mock);
            return Ok(());
        }
        let Some(lifetime) = lifetime else {
            return Err(StepError::NotVerifiable(format!("{what}'s lifetime is not known ({how_to_know})")));
        };
        let wait = lifetime + std::time::Duration::from_secs(2);
        let left = self.probe.budget_left().saturating_sub(self.probe.limits.request_timeout);
        if wait > left {
            return Err(StepError::NotVerifiable(format!(
                "{what} lives {} s, more than the scenario's budget leaves to wait ({} s): raise limits.scenario_seconds to at least {}",
                lifetime.as_secs(),
                left.as_secs(),
                (self.probe.limits.scenario_budget - left + wait + self.probe.limits.request_timeout).as_secs() + 1
            )));
        }
        self.probe.evidence.push(format!("waited {} s for {what} ({} s) to pass", wait.as_secs(), lifetime.as_secs()));
        tokio::select! {
            _ = tokio::time::sleep(wait) => Ok(()),
            _ = crate::stop::RUN.requested_now() => {
                self.probe.interrupted = true;
                Err(StepError::Probe(ProbeError::Interrupted))
            }
        }
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
        self.sign_ins.push(name, outcome.param("code").is_none(), None);
        self.code = outcome.param("code").map(|code| {
            self.probe.secrets.add(&code, "authorization code");
            PendingCode { code, verifier: pkce.verifier.clone(), challenge: pkce.challenge.clone(), redirect_uri }
        });
        self.last_authorize = Some(outcome);
        Ok(())
    }

    /// A request to the authorization server is about to go out: a refusal of it is judged by
    /// what it carries, not by an earlier request's doubts.
    pub fn judging(&mut self, form: &[(String, String)]) {
        self.doubts.clear();
        self.client_refusal_is_the_answer = false;
        self.secret_sent = form.iter().any(|(k, _)| k == "client_secret");
    }

    /// POSTs to the token endpoint (with the client's secret where the target declares one); the
    /// answer becomes `last`, and tokens in it are kept.
    pub async fn token_request(&mut self, mut pairs: Vec<(String, String)>) -> Result<(), StepError> {
        let target = self.target.clone();
        login::authenticate_client(&target, &mut pairs);
        self.judging(&pairs);
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
        let token = self.rest_token(persona).await?;
        let id = request_id();
        self.asked = (persona != "admin")
            .then(|| crate::decisions::rest(persona, method.as_str(), path, body.as_ref(), &self.target.records));
        let method_name = method.to_string();
        let mut req = Request::new(method, self.target.rest(path)).bearer(&token);
        req.headers.push(("X-Request-Id".into(), id.clone()));
        if let Some(b) = body {
            req = req.json(b);
        }
        let reply = self.probe.send(req).await?;
        let at_ms = self.target.now_ms();
        let mut sent = Sent::new(id, "REST".into(), method_name.as_str(), &reply, refusal(&reply, false), at_ms);
        sent.persona = Some(persona.to_string());
        sent.entity = crate::audit_plan::entity_of(path);
        sent.uri = url::Url::parse(&self.target.rest(path)).map(|u| u.path().to_string()).unwrap_or_default();
        sent.probe_app = !self.target.agent_reaches_rest();
        self.sent.push(sent);
        self.last = Some(reply);
        Ok(())
    }

    /// The fields of an object's describe as the persona sees them (empty when it cannot).
    pub async fn describe_fields(&mut self, persona: &str, object: &str) -> Result<Vec<Value>, StepError> {
        self.rest(persona, Method::GET, &format!("/sobjects/{object}/describe"), None).await?;
        Ok(self.last()?.json().and_then(|v| v["fields"].as_array().cloned()).unwrap_or_default())
    }

    /// The admin's view of a REST resource, kept to compare after a write.
    pub async fn take_snapshot(&mut self, path: &str) -> Result<(), StepError> {
        let token = self.rest_token("admin").await?;
        let url = self.target.rest(path);
        let reply = self.probe.send(Request::new(Method::GET, url.clone()).bearer(&token)).await?;
        self.snapshot = Some((url, reply.body));
        Ok(())
    }

    /// Queues an undo for when the scenario ends. What changes the org is written into the run's
    /// undo ledger until it has run, so an interrupted run can say what is still in place.
    pub fn queue_undo(&mut self, c: Cleanup) {
        let owed = c.changes_the_org().then(|| crate::stop::RUN.owe(&self.scenario, c.to_string()));
        self.cleanup.push((owed, c));
    }

    /// The newest undo, still queued.
    pub fn newest_undo(&self) -> Option<&Cleanup> {
        self.cleanup.last().map(|(_, c)| c)
    }

    /// The persona's user id, as the admin finds it by username.
    pub async fn admin_user_id(&mut self, persona: &str) -> Result<String, StepError> {
        let username = self.persona(persona)?.username;
        let soql = format!("SELECT Id FROM User WHERE Username = {}", soql_string(&username));
        self.rest("admin", Method::GET, &query_path(&soql), None).await?;
        let id = self.last()?.json().and_then(|v| v["records"][0]["Id"].as_str().map(str::to_string));
        id.ok_or_else(|| StepError::Expectation {
            expected: format!("the admin finds {persona}'s user {username}"),
            observed: "none".into(),
        })
    }

    /// Withdraws the newest undo: the change it would put back was refused, so nothing is owed.
    pub fn withdraw_last_undo(&mut self) {
        if let Some((Some(id), _)) = self.cleanup.pop() {
            crate::stop::RUN.done(id);
        }
    }

    /// Undoes what the scenario changed in the org, newest first. Runs after every scenario,
    /// passed, failed or interrupted (the probe lets an undo out after the run's interruption);
    /// a failure here is reported in the evidence and stays in the ledger, not hidden.
    pub async fn run_cleanup(&mut self) {
        self.probe.undoing = true;
        while let Some((owed, c)) = self.cleanup.pop() {
            let undone = match &c {
                Cleanup::AdminPatch { path, body } => {
                    match self.rest("admin", Method::PATCH, path, Some(body.clone())).await {
                        Ok(()) => self.last().map(|r| r.status).and_then(|status| {
                            expect((200..300).contains(&status), format!("2xx for PATCH {path}"), || status.to_string())
                        }),
                        Err(e) => Err(e),
                    }
                }
                Cleanup::AdvanceClock(by) => {
                    if let Some(clock) = &self.target.clock {
                        clock(*by);
                    }
                    Ok(())
                }
                Cleanup::AdminRestore { object, id, before } => self.restore(object, id, before).await,
                Cleanup::AdminDeleteNew { object, before } => match self.admin_ids(object).await {
                    Ok(now) => {
                        let mut all = Ok(());
                        for id in now.into_iter().filter(|id| !before.contains(id)) {
                            all = all.and(self.delete_as_admin(object, &id).await);
                        }
                        all
                    }
                    Err(e) => Err(e),
                },
                Cleanup::AdminDelete { object, id } => self.delete_as_admin(object, id).await,
                Cleanup::AdminCreate { object, body } => {
                    let path = format!("/sobjects/{object}");
                    match self.rest("admin", Method::POST, &path, Some(body.clone())).await {
                        // Already there again (DUPLICATE_VALUE) is put back too.
                        Ok(()) => self.last().and_then(|r| {
                            let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
                            let status = r.status;
                            expect(status == 201 || code == "DUPLICATE_VALUE", format!("201 for POST {path}"), || {
                                format!("{status} {code}")
                            })
                        }),
                        Err(e) => Err(e),
                    }
                }
            };
            match (undone, owed) {
                (Ok(()), Some(id)) => crate::stop::RUN.done(id),
                (Ok(()), None) => {}
                (Err(e), _) => self.probe.evidence.push(format!("cleanup failed: {c}: {e}")),
            }
        }
        self.probe.undoing = false;
    }

    async fn delete_as_admin(&mut self, object: &str, id: &str) -> Result<(), StepError> {
        let path = format!("/sobjects/{object}/{id}");
        self.rest("admin", Method::DELETE, &path, None).await?;
        let status = self.last()?.status;
        expect(status == 204, format!("204 for DELETE {path}"), || status.to_string())
    }

    /// The ids of an object's records, as the admin sees them.
    pub async fn admin_ids(&mut self, object: &str) -> Result<Vec<String>, StepError> {
        self.rest("admin", Method::GET, &query_path(&format!("SELECT Id FROM {object} ORDER BY Id")), None).await?;
        let v = self.last()?.json().unwrap_or(Value::Null);
        Ok(v["records"]
            .as_array()
            .map(|a| a.iter().filter_map(|r| r["Id"].as_str().map(str::to_string)).collect())
            .unwrap_or_default())
    }

    /// Writes back the updateable fields whose values differ from `before`.
    async fn restore(&mut self, object: &str, id: &str, before: &Value) -> Result<(), StepError> {
        let path = format!("/sobjects/{object}/{id}");
        self.rest("admin", Method::GET, &path, None).await?;
        let now = self.last()?.json().unwrap_or(Value::Null);
        let updateable: Vec<String> = self
            .describe_fields("admin", object)
            .await?
            .iter()
            .filter(|f| f["updateable"] == Value::Bool(true))
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect();
        let changed: serde_json::Map<String, Value> = updateable
            .iter()
            .filter(|f| now.get(f.as_str()) != before.get(f.as_str()))
            .map(|f| (f.clone(), before.get(f.as_str()).cloned().unwrap_or(Value::Null)))
            .collect();
        if !changed.is_empty() {
            self.rest("admin", Method::PATCH, &path, Some(Value::Object(changed))).await?;
            let status = self.last()?.status;
            expect(status == 204, "the admin's restore accepted (204)", || status.to_string())?;
        }
        Ok(())
    }

    pub fn mcp_url(&self, server: &str) -> Result<String, StepError> {
        let t = &self.target;
        let server = match server {
            "primary" => t.primary_mcp_server.as_deref().ok_or_else(|| {
                StepError::NotVerifiable("the target names no primary MCP server (endpoints.primary_mcp_server)".into())
            })?,
            other => other,
        };
        t.mcp_servers.get(server).or_else(|| t.other_mcp_servers.get(server)).cloned().ok_or_else(|| {
            StepError::NotVerifiable(format!(
                "the target names no MCP server '{server}' (endpoints.mcp_servers or endpoints.other_mcp_servers)"
            ))
        })
    }

    /// One JSON-RPC POST to an MCP server in the target's era; the answer becomes `last`.
    /// `headers` replace any the era sets (a scenario may send a wrong protocol version).
    pub async fn mcp_send(
        &mut self,
        url: &str,
        token: Option<&str>,
        session: Option<&str>,
        body: Value,
        headers: &[(&str, &str)],
    ) -> Result<(), StepError> {
        let id = request_id();
        let method = body.get("method").and_then(Value::as_str).unwrap_or("?").to_string();
        let mut req = mcp_http(url, body, self.target.mcp_era, session);
        req.headers.push(("X-Request-Id".into(), id.clone()));
        for (k, v) in headers {
            req.headers.retain(|(x, _)| !x.eq_ignore_ascii_case(k));
            req.headers.push((k.to_string(), v.to_string()));
        }
        if let Some(t) = token {
            req = req.bearer(t);
        }
        let reply = self.probe.send(req).await?;
        let refused = refusal(&reply, true);
        let at_ms = self.target.now_ms();
        let mut sent = Sent::new(id, method, "POST", &reply, refused, at_ms);
        sent.uri = url::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_default();
        self.sent.push(sent);
        self.last = Some(reply);
        Ok(())
    }

    /// Opens (once) the persona's session on an MCP server: initialize, then initialized. The
    /// stateless era has no session: nothing is sent and the session id is "".
    pub async fn mcp_open(&mut self, persona: &str, server: &str) -> Result<String, StepError> {
        let key = (persona.to_string(), server.to_string());
        if let Some(s) = self.mcp_sessions.get(&key) {
            return Ok(s.clone());
        }
        if self.target.mcp_era == McpEra::Stateless {
            return Ok(String::new());
        }
        let url = self.mcp_url(server)?;
        let token = self.token(persona).await?;
        self.mcp_send(&url, Some(&token), None, opening_request(McpEra::Sessions), &[]).await?;
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
        self.skipped_call = None;
        let session = self.mcp_open(persona, server).await?;
        let url = self.mcp_url(server)?;
        let token = self.token(persona).await?;
        self.asked =
            (persona != "admin").then(|| crate::decisions::mcp(persona, server, method, &params, &self.target.records));
        let tool = params.get("name").and_then(Value::as_str).map(str::to_string);
        let entity = params.get("arguments").and_then(|a| crate::audit_plan::entity_of(&a.to_string()));
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 2, "method": method, "params": params});
        self.mcp_send(&url, Some(&token), Some(&session), body, &[]).await?;
        if let Some(sent) = self.sent.last_mut() {
            (sent.persona, sent.server, sent.tool, sent.entity) =
                (Some(persona.into()), Some(server.into()), tool, entity);
        }
        Ok(())
    }

    /// Proof that what a denial is about exists here: the admin reads the record (and sees a
    /// value in the field). Without an admin persona, the record in the target file, or the
    /// admin's read, the denial that follows would prove nothing: not verifiable.
    pub async fn prove_exists(&mut self, object: &str, alias: &str, field: Option<&str>) -> Result<(), StepError> {
        let what = match field {
            Some(f) => format!("{object}.{f} of the record '{alias}'"),
            None => format!("the {object} record '{alias}'"),
        };
        if self.target.persona_for("admin").is_none() {
            return Err(StepError::NotVerifiable(format!(
                "no admin persona to show that {what} exists (add personas.admin)"
            )));
        }
        let Some(record) = self.target.records.get(alias).cloned() else {
            return Err(StepError::NotVerifiable(format!("the target file names no record '{alias}' ([records])")));
        };
        self.rest("admin", Method::GET, &format!("/sobjects/{object}/{}", record.id), None).await?;
        let r = self.last()?;
        let body = r.json().unwrap_or(Value::Null);
        if r.status != 200 {
            let code = error_code(&body).unwrap_or_default();
            return Err(StepError::NotVerifiable(format!(
                "the admin cannot read {what} ({} {code}), so a denial of it would prove nothing",
                r.status
            )));
        }
        if let Some(f) = field
            && (body[f].is_null() || body[f] == Value::String(String::new()))
        {
            return Err(StepError::NotVerifiable(format!(
                "the admin sees no value in {what}, so its absence from an answer would prove nothing"
            )));
        }
        self.probe
            .evidence
            .push(format!("proof: the admin reads {what}{}", if field.is_some() { " with a value" } else { "" }));
        Ok(())
    }

    /// Every tool the persona can list on the server (`list_all` of `tools/list`).
    pub async fn list_tools(&mut self, persona: &str, server: &str) -> Result<Vec<Value>, StepError> {
        self.list_all(persona, server, "tools/list", "tools").await
    }

    /// Every item a list method returns (`tools`, `resourceTemplates`, `prompts`): follows
    /// `nextCursor` page by page (at most `MAX_PAGES`), and fails on any answer that is not a
    /// result with that list, so an empty, refused or broken list never reads as "none".
    pub async fn list_all(
        &mut self,
        persona: &str,
        server: &str,
        method: &str,
        key: &str,
    ) -> Result<Vec<Value>, StepError> {
        const MAX_PAGES: usize = 50;
        let mut items = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let params = match &cursor {
                Some(c) => serde_json::json!({"cursor": c}),
                None => serde_json::json!({}),
            };
            self.mcp_request(persona, server, method, params).await?;
            let r = self.last()?;
            let v = rpc(r);
            let page = v["result"][key].as_array().cloned().filter(|_| r.status == 200);
            let Some(page) = page else {
                return Err(StepError::Expectation {
                    expected: format!("a {method} result from the {server} MCP server"),
                    observed: format!("{} {}", r.status, v.get("error").cloned().unwrap_or(Value::Null)),
                });
            };
            items.extend(page);
            cursor = v["result"]["nextCursor"].as_str().filter(|c| !c.is_empty()).map(str::to_string);
            if cursor.is_none() {
                return Ok(items);
            }
        }
        Err(StepError::Expectation {
            expected: format!("a {method} of at most {MAX_PAGES} pages"),
            observed: "a nextCursor on every page".into(),
        })
    }

    /// Records what the target decided about the last persona request, or one part of its answer
    /// (`None`: the answer was no decision, e.g. a server failure).
    pub fn decide(&mut self, allowed: Option<bool>, about: Option<&str>) {
        if let (Some(a), Some(allowed)) = (&self.asked, allowed) {
            let d = a.decided(allowed, about);
            if !self.decisions.contains(&d) {
                self.decisions.push(d);
            }
        }
    }

    /// The tool that tells who the caller is, and where in its result the username is.
    pub fn identity_tool(&self) -> Result<(String, String), StepError> {
        self.target.identity_tool.clone().ok_or_else(|| {
            StepError::NotVerifiable(
                "the target names no tool that tells who the caller is (set identity_tool.tool and identity_tool.pointer)"
                    .into(),
            )
        })
    }

    pub fn last(&self) -> Result<&Reply, StepError> {
        self.last.as_ref().ok_or(StepError::NothingSent)
    }
}

fn client_info() -> Value {
    serde_json::json!({"name": "headless-gate", "version": env!("CARGO_PKG_VERSION")})
}

/// The request a client starts talking to an MCP server with: `initialize` in the sessions era;
/// the stateless era has no handshake, so there it is a `tools/list`.
pub fn opening_request(era: McpEra) -> Value {
    match era {
        McpEra::Sessions => serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize",
            "params": {"protocolVersion": era.version(), "capabilities": {}, "clientInfo": client_info()}}),
        McpEra::Stateless => serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list", "params": {}}),
    }
}

/// The HTTP POST of one JSON-RPC message in an era. Sessions: the session id and protocol version
/// headers once a session is open. Stateless: every request carries its protocol version and
/// client capabilities in `_meta`, with the matching `MCP-Protocol-Version`, `Mcp-Method` and
/// (for a tool call, a prompt or a resource read) `Mcp-Name` headers.
pub fn mcp_http(url: &str, body: Value, era: McpEra, session: Option<&str>) -> Request {
    let mut body = with_unique_rpc_id(body);
    let mut headers: Vec<(String, String)> = vec![("Accept".into(), "application/json, text/event-stream".into())];
    match era {
        McpEra::Sessions => {
            if let Some(s) = session.filter(|s| !s.is_empty()) {
                headers.push(("Mcp-Session-Id".into(), s.into()));
                headers.push(("MCP-Protocol-Version".into(), era.version().into()));
            }
        }
        McpEra::Stateless => {
            headers.push(("MCP-Protocol-Version".into(), era.version().into()));
            if let Some(m) = body.get("method").and_then(Value::as_str) {
                headers.push(("Mcp-Method".into(), m.into()));
            }
            if let Some(n) = mcp_name(&body) {
                headers.push(("Mcp-Name".into(), n));
            }
            if body.get("id").is_some() {
                // Capabilities a request declares for itself (elicitation, for a multi round-trip
                // request) are kept; otherwise the gate declares none.
                let declared = body["params"]["_meta"]["io.modelcontextprotocol/clientCapabilities"].clone();
                let capabilities = if declared.is_object() { declared } else { serde_json::json!({}) };
                let meta = serde_json::json!({
                    "io.modelcontextprotocol/protocolVersion": era.version(),
                    "io.modelcontextprotocol/clientCapabilities": capabilities,
                    "io.modelcontextprotocol/clientInfo": client_info(),
                });
                if !body.get("params").is_some_and(Value::is_object) {
                    body["params"] = serde_json::json!({});
                }
                body["params"]["_meta"] = meta;
            }
        }
    }
    let mut req = Request::new(Method::POST, url).json(body);
    req.headers.extend(headers);
    req
}

/// The username a tool result names at `pointer`. A pointer into `structuredContent` is also
/// followed into the JSON of a text block: a tool without an output schema answers in text only,
/// and one with it SHOULD repeat the structure there (MCP 2025-06-18, tools, structured content).
pub fn identity_in(result: &Value, pointer: &str) -> Option<String> {
    if let Some(who) = result.pointer(pointer).and_then(Value::as_str) {
        return Some(who.to_string());
    }
    let inner = pointer.strip_prefix("/structuredContent")?;
    result["content"].as_array()?.iter().find_map(|block| {
        let text: Value = serde_json::from_str(block["text"].as_str()?).ok()?;
        text.pointer(inner).and_then(Value::as_str).map(str::to_string)
    })
}

/// The gate numbers its JSON-RPC requests across the whole run, so no two it sends carry one id
/// (JSON-RPC 2.0 §4 asks a client for ids unique among its own requests): the only colliding
/// ids a server sees are HG-ISO-02's, sent on purpose.
pub fn with_unique_rpc_id(mut body: Value) -> Value {
    // From a random base well above the small ids clients start from (HG-ISO-02 sends 1).
    static NEXT: std::sync::OnceLock<std::sync::atomic::AtomicU64> = std::sync::OnceLock::new();
    let next = NEXT.get_or_init(|| std::sync::atomic::AtomicU64::new(1_000_000 + u64::from(rand::random::<u32>())));
    if body.get("id").is_some() {
        body["id"] = Value::from(next.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
    }
    body
}

/// SEP-2243's `Mcp-Name`: the tool's or prompt's `name`, or the resource's `uri`, Base64-wrapped
/// (`=?base64?...?=`) where it could not travel as a bare header value.
fn mcp_name(body: &Value) -> Option<String> {
    let key = match body.get("method").and_then(Value::as_str)? {
        "tools/call" | "prompts/get" => "name",
        "resources/read" | "resources/subscribe" | "resources/unsubscribe" => "uri",
        _ => return None,
    };
    let value = body.get("params")?.get(key)?.as_str()?;
    let bare = value.bytes().all(|b| (0x20..0x7f).contains(&b)) && value.trim() == value && !value.starts_with("=?");
    Some(match bare {
        true => value.to_string(),
        false => {
            use base64::Engine;
            format!("=?base64?{}?=", base64::engine::general_purpose::STANDARD.encode(value))
        }
    })
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

/// The `errorCode` of a Salesforce error body (`[{"errorCode": ...}]`), as REST answers and MCP
/// tools carry them.
pub fn error_code(v: &Value) -> Option<String> {
    v.get(0)?.get("errorCode")?.as_str().map(str::to_string)
}

/// The `errorCode` inside a tool result marked `isError` (its first content block holds the
/// Salesforce error body); None for a result that is not an error.
pub fn tool_error_code(result: &Value) -> Option<String> {
    if result["isError"] != Value::Bool(true) {
        return None;
    }
    let text = result["content"][0]["text"].as_str().unwrap_or_default();
    Some(serde_json::from_str::<Value>(text).ok().as_ref().and_then(error_code).unwrap_or_else(|| "(none)".into()))
}

/// The code a reply refused its caller with: an HTTP refusal's Salesforce `errorCode` (or OAuth
/// `error`, or else its status), or for MCP a tool error's code. None when it was allowed.
pub fn refusal(r: &Reply, mcp: bool) -> Option<String> {
    if r.status >= 400 {
        let body = r.json().unwrap_or(Value::Null);
        let oauth = body.get("error").and_then(Value::as_str).map(str::to_string);
        return Some(error_code(&body).or(oauth).unwrap_or_else(|| r.status.to_string()));
    }
    if !mcp {
        return None;
    }
    rpc(r).get("result").and_then(tool_error_code)
}

/// The rows of an answered SOQL query. A refusal (told by `refused` from its status and code) or a
/// 200 that is no query answer leaves the check not verifiable: neither shows that nothing is there.
pub fn query_records(r: &Reply, refused: impl FnOnce(u16, &str) -> String) -> Result<Vec<Value>, StepError> {
    if r.status != 200 {
        let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
        return Err(StepError::NotVerifiable(refused(r.status, &code)));
    }
    r.json().and_then(|v| v["records"].as_array().cloned()).ok_or_else(|| {
        StepError::NotVerifiable(format!(
            "the query answered 200 without a records list: {}",
            r.body.chars().take(160).collect::<String>()
        ))
    })
}

pub fn query_path(soql: &str) -> String {
    let mut u = url::Url::parse("http://x/query").expect("static URL");
    u.query_pairs_mut().append_pair("q", soql);
    format!("/query?{}", u.query().unwrap_or_default())
}
