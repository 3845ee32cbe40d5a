//! The embedded mock Salesforce org: an org file becomes users, permissions, sharing, records and
//! apps; one enforcement pipeline serves the REST API; every call lands in the audit log.

pub mod access;
pub mod audit;
pub mod clock;
pub mod connect;
pub mod data;
pub mod error;
pub mod event_log;
pub mod faults;
pub mod form;
pub mod ids;
pub mod login_history;
pub mod mcp;
pub mod model;
pub mod oauth;
pub mod orgfile;
pub mod pipeline;
pub mod rest;
pub mod server;
pub mod soql;
pub mod store;
pub mod tokens;
mod validate;

pub use model::{Org, OrgFileError};
pub use server::{Public, RunningOrg, api_app, app, start, start_behind};

use faults::Fault;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};

/// Scopes that open the REST data API. Not `mcp_api`: on the platform a token carries the scopes
/// its app grants, `mcp_api` reaches the hosted MCP servers only, and REST refuses such a token
/// with 401 `INVALID_SESSION_ID` (Salesforce Help, "OAuth Tokens and Scopes"; the hosted MCP
/// servers' setup guide). A gate reads REST through an app that grants `api`: its probe app.
pub const REST_SCOPES: &[&str] = &["api", "full"];

/// An MCP session's opener. The token is kept only so the session faults can misuse it.
#[derive(Debug, Clone)]
pub struct McpSession {
    pub user_id: String,
    pub token: String,
    /// The MCP server (its resource URL) the session was opened on.
    pub resource: String,
    /// When it last carried a request: sessions idle longer than `mcp::guard::SESSION_IDLE` are
    /// forgotten, as rmcp's own session worker closes them.
    pub last_used: std::time::Instant,
}

/// One running org: its declaration, its mutable state, its clock, tokens and audit log.
pub struct MockOrg {
    pub org: Org,
    pub clock: clock::Clock,
    pub tokens: tokens::TokenService,
    pub audit: audit::AuditLog,
    pub oauth: oauth::grants::Grants,
    /// MCP session id -> who opened it.
    pub mcp_sessions: std::sync::Mutex<std::collections::HashMap<String, McpSession>>,
    /// The requests pending at the gateway the `mcp-answers-by-rpc-id` fault puts in front.
    pub mcp_pending: mcp::multiplexer::Pending,
    /// Record prompts waiting for their second round (stateless era, SEP-2322).
    pub request_states: mcp::request_state::RequestStates,
    /// Progress tokens booked by JSON-RPC id (only under `mcp-progress-by-rpc-id`).
    pub progress: mcp::progress::ProgressBook,
    store: RwLock<store::Store>,
    /// Per-user times (org clock, ms) of the requests admitted in the last minute.
    rate: std::sync::Mutex<std::collections::HashMap<String, std::collections::VecDeque<i64>>>,
    base_url: String,
    /// Where the hosted MCP servers answer: the stand-in for the API host
    /// (`https://api.salesforce.com`), an origin of its own.
    api_url: String,
    request_seq: AtomicU64,
    /// Every HTTP request the org answered, whatever its kind (for benchmarks and load checks).
    pub requests_served: AtomicU64,
}

impl MockOrg {
    /// `base_url` is where the org answers (its My Domain), e.g. `http://127.0.0.1:41234`;
    /// `api_url` where its hosted MCP servers do (the API host).
    pub fn new(org: Org, base_url: String, api_url: String) -> Self {
        let clock = clock::Clock::default();
        let store = store::Store::seed(&org, clock.now_ms());
        let delay = org
            .faults
            .on(Fault::RevocationDelay)
            .then_some(std::time::Duration::from_millis(faults::REVOCATION_DELAY_MS));
        MockOrg {
            tokens: tokens::TokenService::new(base_url.clone())
                .with_revocation_delay(delay)
                .with_opaque_tokens(org.faults.on(Fault::OpaqueAccessTokens)),
            org,
            clock,
            audit: audit::AuditLog::default(),
            oauth: oauth::grants::Grants::default(),
            mcp_sessions: Default::default(),
            mcp_pending: Default::default(),
            request_states: Default::default(),
            progress: Default::default(),
            store: RwLock::new(store),
            rate: Default::default(),
            base_url,
            api_url,
            request_seq: AtomicU64::new(0),
            requests_served: AtomicU64::new(0),
        }
    }

    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The API host's origin, where the hosted MCP servers answer.
    pub fn api_url(&self) -> &str {
        &self.api_url
    }

    /// The URL of the MCP server `name` (`platform/sobject-reads`, `custom/service-agent`) on the
    /// API host.
    pub fn mcp_url(&self, name: &str) -> String {
        format!("{}{}", self.api_url, self.org.mcp_path(name))
    }

    pub fn fault(&self, f: Fault) -> bool {
        self.org.faults.on(f)
    }

    /// Counts one request of the user against the org's per-user rate over the last minute of
    /// the org's clock (a sliding window, so a burst cannot slip through at a minute boundary);
    /// the refusal when over it.
    pub fn admit(&self, user_id: &str) -> Result<(), error::SfError> {
        let Some(limit) = self.org.per_user_requests_per_minute.filter(|_| !self.fault(Fault::NoRateLimit)) else {
            return Ok(());
        };
        const WINDOW_MS: i64 = 60_000;
        let now = self.clock.now_ms();
        let mut rate = self.rate.lock().unwrap_or_else(|p| p.into_inner());
        let recent = rate.entry(user_id.to_string()).or_default();
        while recent.front().is_some_and(|t| *t <= now - WINDOW_MS) {
            recent.pop_front();
        }
        if recent.len() >= limit as usize {
            let oldest = recent.front().copied().unwrap_or(now);
            let mut e = error::SfError::new(
                429,
                "REQUEST_LIMIT_EXCEEDED",
                format!("TotalRequests Limit exceeded: more than {limit} requests by this user in one minute"),
            );
            e.retry_after_secs = Some(((oldest + WINDOW_MS - now).max(0) as u64).div_ceil(1000).max(1));
            return Err(e);
        }
        recent.push_back(now);
        Ok(())
    }

    /// The checks the MCP resource server applies to a bearer token.
    pub fn mcp_checks(&self) -> tokens::Checks {
        tokens::Checks {
            signature: !self.fault(Fault::McpSignatureUnchecked),
            audience: !self.fault(Fault::McpAudienceUnchecked),
            expiry: !self.fault(Fault::McpExpiryUnchecked),
            revocation: !self.fault(Fault::McpNoRevocationCheck),
        }
    }

    /// Whether a token of this user may still be used: an active, unfrozen user (a frozen one too
    /// under the `frozen-tokens-live` fault).
    /// The MCP servers' check of a token's user: the org's, or under
    /// `deactivated-tokens-live-on-mcp` only whether the user is frozen (deactivation then kills
    /// the refresh tokens but not the access tokens, and only REST re-checks the user).
    pub fn mcp_token_user_ok(&self, user_id: &str) -> bool {
        if !self.fault(Fault::DeactivatedTokensLiveOnMcp) {
            return self.token_user_ok(user_id);
        }
        self.store_read().user_state(&self.org, user_id).is_some_and(|(_, frozen)| !frozen)
    }

    /// The user as of now: the org file's user with the permission sets the store assigns, which
    /// an admin may have changed since (under `permission-set-cached`, those assigned at load).
    pub fn current_user(&self, user_id: &str) -> Option<model::User> {
        let mut user = self.org.user(user_id)?.clone();
        if !self.fault(Fault::PermissionSetCached) {
            user.permission_sets = self.store_read().assigned_permission_sets(&user.id);
        }
        Some(user)
    }

    pub fn token_user_ok(&self, user_id: &str) -> bool {
        let frozen_tokens_live = self.fault(Fault::FrozenTokensLive);
        self.store_read()
            .user_state(&self.org, user_id)
            .is_some_and(|(active, frozen)| active && (!frozen || frozen_tokens_live))
    }

    /// The audience REST accepts: the instance URL (its RFC 8707 resource identifier) where
    /// audiences are per server, the platform otherwise (a platform token is for the org's APIs).
    pub fn rest_audience(&self) -> String {
        self.audience_at(self.base_url.clone())
    }

    /// The resources a client may name (RFC 8707): the REST API and every MCP server.
    pub fn known_resources(&self) -> Vec<String> {
        let mut aud = vec![self.base_url.clone()];
        aud.extend(self.org.mcp_servers.iter().map(|s| self.mcp_url(&s.name)));
        aud
    }

    /// Whether tokens name each MCP server (the org file's `tokenAudience = "per-server"`, which
    /// `mcp-audience-unchecked` presumes) rather than the platform.
    pub fn per_server_audience(&self) -> bool {
        self.org.per_server_audience || self.fault(Fault::McpAudienceUnchecked)
    }

    /// The platform audience every token names where audiences are not per server: the API
    /// host's origin, the stand-in for `https://api.salesforce.com`.
    pub fn platform_audience(&self) -> String {
        self.api_url.clone()
    }

    /// What a token is for when the client names `resources` (RFC 8707): those (none: every
    /// known resource) with per-server audiences; the platform otherwise, whatever the client
    /// named, as the platform does.
    pub fn audience_for(&self, resources: &[String]) -> Vec<String> {
        if self.per_server_audience() {
            return if resources.is_empty() { self.known_resources() } else { resources.to_vec() };
        }
        let mut aud = vec![self.platform_audience()];
        if self.fault(Fault::TokenAudienceBroad) {
            aud.push(faults::BROAD_AUDIENCE.to_string());
        }
        aud
    }

    /// What a token is for when the client names no resource.
    pub fn default_audience(&self) -> Vec<String> {
        self.audience_for(&[])
    }

    /// The audience the resource at `url` (an MCP server, the REST API) accepts: its own URL with
    /// per-server audiences, the platform's otherwise.
    pub fn audience_at(&self, url: String) -> String {
        if self.per_server_audience() { url } else { self.platform_audience() }
    }

    pub fn store_read(&self) -> RwLockReadGuard<'_, store::Store> {
        self.store.read().unwrap_or_else(|p| p.into_inner())
    }

    pub fn store_write(&self) -> RwLockWriteGuard<'_, store::Store> {
        self.store.write().unwrap_or_else(|p| p.into_inner())
    }

    pub fn next_request_id(&self) -> String {
        format!("req-{:010}", self.request_seq.fetch_add(1, Ordering::SeqCst) + 1)
    }

    pub fn apply(&self, effects: Vec<data::Effect>) {
        for e in effects {
            match e {
                // The refresh tokens die; the access tokens live on where nothing re-checks the user.
                data::Effect::RevokeUserTokens(user_id) if self.fault(Fault::DeactivatedTokensLiveOnMcp) => {
                    self.oauth.with(|g| {
                        for f in g.families_of(&user_id, None) {
                            g.revoke_family(&f);
                        }
                    });
                }
                data::Effect::RevokeUserTokens(user_id) => self.revoke_user_grants(&user_id, None),
                data::Effect::FreezeUser(_) if self.fault(Fault::FrozenTokensLive) => {}
                data::Effect::FreezeUser(user_id) => self.revoke_user_grants(&user_id, None),
                data::Effect::RevokeAppAccess(..) if self.fault(Fault::KillSwitchIgnored) => {}
                data::Effect::RevokeAppAccess(user_id, app_name) => {
                    if let Some(app) = self.org.apps.iter().find(|a| a.name == app_name) {
                        self.revoke_user_grants(&user_id, Some(&app.consumer_key));
                    }
                }
            }
        }
    }

    /// Kills every access and refresh token of a user (freeze, deactivation), or only those of one
    /// app (the app kill switch).
    pub fn revoke_user_grants(&self, user_id: &str, client_id: Option<&str>) {
        let jtis: Vec<String> =
            self.oauth.with(|g| g.families_of(user_id, client_id).iter().flat_map(|f| g.revoke_family(f)).collect());
        for j in jtis {
            self.tokens.revoke(&j);
        }
        self.tokens.revoke_user(user_id, client_id);
    }

    /// Records that the user has authorized the app (the OauthToken row the kill switch deletes),
    /// once per user and app.
    pub fn note_app_authorization(&self, user_id: &str, app_name: &str) {
        let mut store = self.store_write();
        let exists = store
            .of_object("OauthToken")
            .any(|r| r.get("UserId").as_str() == Some(user_id) && r.get("AppName").as_str() == Some(app_name));
        if !exists {
            let id = store.new_id("0CQ");
            let fields = [
                ("Id", serde_json::json!(id)),
                ("UserId", serde_json::json!(user_id)),
                ("AppName", serde_json::json!(app_name)),
                ("CreatedDate", serde_json::json!(clock::format_datetime(self.clock.now_ms()))),
            ];
            let fields = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
            store.insert(store::Record { object: "OauthToken".into(), id, fields });
        }
    }

    /// Mints an access token for `username` through the first External Client App, as the OAuth
    /// server will once it exists. For the project's own tests only.
    #[cfg(feature = "test-support")]
    pub fn mint_test_token(&self, username: &str, scopes: &[&str]) -> String {
        let user = self.org.user_by_username(username).expect("a declared user");
        let app = self.org.apps.first().expect("an External Client App");
        let scopes: Vec<String> = scopes.iter().map(|s| s.to_string()).collect();
        let lifetime = i64::from(app.access_token_lifetime_minutes) * 60;
        self.tokens.mint(&self.clock, &user.id, &app.consumer_key, &scopes, self.default_audience(), lifetime).0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_per_user_rate_refuses_the_request_over_it_and_only_for_that_user() {
        let org = Org::default_fixture();
        let limit = org.per_user_requests_per_minute.expect("the fixture declares a rate") as usize;
        let s = MockOrg::new(org, "http://127.0.0.1:1".into(), "http://127.0.0.1:2".into());
        for _ in 0..limit {
            s.admit("005A").expect("within the rate");
        }
        let e = s.admit("005A").expect_err("one over the rate");
        assert_eq!((e.status, e.error_code), (429, "REQUEST_LIMIT_EXCEEDED"));
        assert!(e.retry_after_secs.is_some_and(|r| (1..=60).contains(&r)), "{e:?}");
        s.admit("005B").expect("another user is served");
        s.clock.advance(std::time::Duration::from_secs(61));
        s.admit("005A").expect("the window slid past the burst");
    }

    #[test]
    fn a_removed_permission_set_assignment_is_gone_at_the_next_request_unless_cached() {
        for cached in [false, true] {
            let mut org = Org::default_fixture();
            if cached {
                org.enable_fault("permission-set-cached").unwrap();
            }
            let s = MockOrg::new(org, "http://127.0.0.1:1".into(), "http://127.0.0.1:2".into());
            let agent = s.org.user_by_username("agent.service@acme.test").unwrap().id.clone();
            let set = "Headless_Service_Agent_Access";
            assert!(s.current_user(&agent).unwrap().permission_sets.iter().any(|p| p == set));
            let id = {
                let store = s.store_read();
                let set_id = store.of_object("PermissionSet").find(|r| r.get("Name") == set).unwrap().id.clone();
                let row = store.of_object("PermissionSetAssignment").find(|r| {
                    r.get("AssigneeId").as_str() == Some(agent.as_str()) && r.get("PermissionSetId") == set_id.as_str()
                });
                row.unwrap().id.clone()
            };
            s.store_write().remove(&id);
            let still = s.current_user(&agent).unwrap().permission_sets.iter().any(|p| p == set);
            assert_eq!(still, cached, "cached={cached}");
        }
    }

    #[test]
    fn no_rate_limit_fault_admits_everything() {
        let mut org = Org::default_fixture();
        org.enable_fault("no-rate-limit").unwrap();
        let limit = org.per_user_requests_per_minute.unwrap() as usize;
        let s = MockOrg::new(org, "http://127.0.0.1:1".into(), "http://127.0.0.1:2".into());
        for _ in 0..=limit {
            s.admit("005A").expect("never limited");
        }
    }
}
