//! What the scenarios run against: endpoints, the agent's External Client App, personas and the
//! records scenarios refer to by alias. The CLI builds one (for the embedded mock or from a target
//! file) and installs it before the run; every World reads it.

use crate::evidence::Secrets;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone)]
pub struct Persona {
    pub username: String,
    /// For the login form; empty for a persona that signs in with a stored refresh token.
    pub password: String,
    /// A refresh token from `headless-gate login` (for personas who cannot use a password form,
    /// e.g. behind SSO): the persona's access tokens come from refreshing it.
    pub refresh: Option<RefreshChain>,
    /// The Salesforce security token the password grant appends to the password, if declared.
    pub security_token: Option<String>,
}

/// A persona's current refresh token, shared by every scenario of the run. Refreshes take turns,
/// so a server that rotates refresh tokens always sees the newest one.
#[derive(Clone)]
pub struct RefreshChain(pub Arc<tokio::sync::Mutex<String>>);

impl RefreshChain {
    pub fn new(token: String) -> RefreshChain {
        RefreshChain(Arc::new(tokio::sync::Mutex::new(token)))
    }
}

impl std::fmt::Debug for RefreshChain {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("RefreshChain([REDACTED refresh token])")
    }
}

/// What the rollout declares (checklist items C1, C2, C6).
#[derive(Debug, Clone, Default)]
pub struct Declarations {
    pub use_case: String,
    pub justification: String,
    pub tool_allowlist: Vec<String>,
    pub broad_tools: Vec<String>,
    pub approval_required: Vec<String>,
    /// Whether the rollout states the list at all (an empty list is a statement too).
    pub approval_declared: bool,
    pub read_only_phase: bool,
    /// The other integrations in the org, by name -> their client id (HG-DECL-02: none may share
    /// the agent's app).
    pub other_integrations: BTreeMap<String, String>,
    /// object -> (fields read, fields edited)
    pub action_list: BTreeMap<String, (Vec<String>, Vec<String>)>,
}

/// A record the admin creates before the system-mode probe and deletes after it: its values with
/// the canary marker are what the restricted persona must never see. `{run}` in a value becomes a
/// fresh tag per seeding, so leftovers of one run are never mistaken for another's.
#[derive(Debug, Clone)]
pub struct CanarySeed {
    pub object: String,
    pub fields: BTreeMap<String, String>,
}

/// An External Client App as the org's metadata states it (HG-DECL-02, HG-ECA-*).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AppMetadata {
    pub name: String,
    pub consumer_key: String,
    pub callback_urls: Vec<String>,
    pub scopes: Vec<String>,
    pub posture: Posture,
}

/// The app's security settings as its metadata states them (`ExtlClntAppGlobalOauthSettings` and
/// `ExtlClntAppOauthConfigurablePolicies`); each `None` where the retrieved files hold no such
/// setting (a file not retrieved: the org may not let the Metadata API read the global settings).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Posture {
    /// `isClientCredentialsFlowEnabled`, true where either file says so.
    pub client_credentials: Option<bool>,
    pub pkce_required: Option<bool>,
    pub rotation: Option<bool>,
    /// `refreshTokenPolicyType` with its period (`SpecificLifetime 30 Days`).
    pub refresh_policy: Option<String>,
    /// `permittedUsersPolicyType`.
    pub permitted_users: Option<String>,
    pub permission_sets: Vec<String>,
    /// `ipRelaxationPolicyType`.
    pub ip_policy: Option<String>,
}

/// The gate's own app for the REST API, signed in as the same personas: on the platform a token
/// carries its app's scopes, the agent's app grants `mcp_api` (the MCP servers only), and REST
/// needs `api`.
#[derive(Clone)]
pub struct ProbeApp {
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub client_secret: Option<String>,
}

impl std::fmt::Debug for ProbeApp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ProbeApp").field("client_id", &self.client_id).finish_non_exhaustive()
    }
}

/// Whom the target's access tokens are for (HG-RS-06): each MCP server on its own (RFC 8707, the
/// MCP authorization spec's rule), or one audience for every server of a platform.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenAudience {
    PerServer,
    Platform(String),
}

/// The audience of Salesforce's hosted MCP servers' tokens (their `aud` includes it; public
/// reports quote the claim, forcedotcom/mcp-hosted#46).
pub const SALESFORCE_PLATFORM_AUDIENCE: &str = "https://api.salesforce.com";

/// Scopes that open Salesforce's REST API to a token (Salesforce Help, "OAuth Tokens and Scopes").
pub const REST_SCOPES: &[&str] = &["api", "full"];

/// A field field-level security hides from the agent, and a record (by alias) holding a value in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HiddenField {
    pub record: String,
    pub field: String,
}

#[derive(Debug, Clone)]
pub struct RecordRef {
    pub object: String,
    pub id: String,
}

/// Which set of expected error codes applies: a Salesforce org's or a generic OAuth 2.1 server's.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Flavor {
    Salesforce,
    OAuth21,
}

/// The MCP protocol era a target speaks: sessions opened by `initialize` (2025-11-25), or the
/// stateless revision (2026-07-28) where every request carries its protocol version in `_meta`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum McpEra {
    Sessions,
    Stateless,
}

impl McpEra {
    pub const CHOICES: &[&str] = &["2025-11-25", "2026-07-28"];

    pub fn parse(version: &str) -> Option<McpEra> {
        match version {
            "2025-11-25" => Some(McpEra::Sessions),
            "2026-07-28" => Some(McpEra::Stateless),
            _ => None,
        }
    }

    pub fn version(self) -> &'static str {
        match self {
            McpEra::Sessions => "2025-11-25",
            McpEra::Stateless => "2026-07-28",
        }
    }
}

#[derive(Clone)]
pub struct Target {
    pub name: String,
    /// The org's instance URL: REST lives under `/services/data/{api_version}/`.
    pub instance_url: String,
    pub issuer: String,
    pub authorize_url: String,
    pub token_url: String,
    pub revoke_url: String,
    pub introspect_url: String,
    /// The authorization server metadata document (RFC 8414).
    pub metadata_url: String,
    pub flavor: Flavor,
    pub api_version: String,
    pub client_id: String,
    /// The agent's External Client App by its metadata name (the kill switch finds it by name).
    pub app_name: String,
    /// The app's identifier in the Connect API's OAuth usage resources (HG-REV-09).
    pub app_usage_id: Option<String>,
    /// The permission set that gives the agent persona its objects (HG-REV-08 removes the
    /// assignment and puts it back).
    pub agent_permission_set: Option<String>,
    pub redirect_uri: String,
    /// Every callback the agent's client uses: `redirect_uri` and any others the target declares.
    pub agent_callbacks: Vec<String>,
    /// The org's External Client Apps from its metadata; `None`: HG-DECL-02 is not verifiable.
    pub app_metadata: Option<Vec<AppMetadata>>,
    /// The IP relaxation the rollout declares for the agent's app (HG-ECA-07; `Enforce` unless
    /// the target file says otherwise).
    pub app_ip_policy: String,
    /// Another registered client, for the checks that codes and tokens are bound to their client.
    pub other_client_id: Option<String>,
    /// The agent's client secret and the other client's, where the target declares them; sent
    /// on that client's token requests.
    pub client_secret: Option<String>,
    pub other_client_secret: Option<String>,
    /// The app the gate reads REST through where the agent's app grants no REST scope.
    pub probe_app: Option<ProbeApp>,
    /// The audience policy the target declares for its tokens.
    pub token_audience: TokenAudience,
    /// Longest acceptable access-token lifetime (HG-RT-05).
    pub max_access_token_minutes: i64,
    /// How long authorization codes live, where the target file says (HG-CODE-05 waits it out).
    pub code_lifetime: Option<std::time::Duration>,
    /// Per revocation path, how long a revoked token may still be accepted (HG-REV-07...); a
    /// path not named allows none.
    pub revocation_windows_ms: BTreeMap<String, u64>,
    /// The per-user request rate the target declares (HG-LIM-01); `None`: the control is not
    /// verifiable (its burst spends the org's API limits, so it needs the rate declared).
    pub per_user_requests_per_minute: Option<u32>,
    /// Moves the target's clock (the mock only); `None` where time cannot be moved.
    pub clock: Option<Arc<dyn Fn(std::time::Duration) + Send + Sync>>,
    /// Reads the target's clock in ms since the epoch, where the gate can (the mock's, which the
    /// scenarios move on); `None`: the gate's own clock stands for the org's.
    pub org_now: Option<Arc<dyn Fn() -> i64 + Send + Sync>>,
    /// How long after a call its event log row may still be missing (`limits.event_log_delay_minutes`);
    /// `None`: the platform's documented delay for the files the org has.
    pub event_log_delay_ms: Option<i64>,
    pub scopes: Vec<String>,
    /// RFC 8707 resource indicators the client sends on authorization, code and refresh requests,
    /// as the MCP authorization spec asks of clients: the resources the agent's token is used at.
    /// Empty where the target file turns them off.
    pub resources: Vec<String>,
    pub personas: BTreeMap<String, Persona>,
    /// Role -> persona name, where the persona's name is not the role's (`second-user` -> `csr`).
    /// Steps name roles; `persona_for` resolves them.
    pub roles: BTreeMap<String, String>,
    /// Personas the file names that sit out this run, with why (their variable is not set).
    pub unavailable: BTreeMap<String, String>,
    /// How to learn the caller's identity from a tool: (tool name, JSON pointer into its result).
    pub identity_tool: Option<(String, String)>,
    /// Which MCP tool does what, for the PERM rows through MCP.
    pub mcp_tools: crate::mcp_tools::ToolMap,
    /// The agent's MCP servers by the names scenarios use ("reads", "custom") -> their URLs. The
    /// catalog and system-mode controls walk every tool on these.
    pub mcp_servers: BTreeMap<String, String>,
    /// MCP servers the gate may use that the agent does not reach (e.g. `all`, with the SObject
    /// write tools, for HG-PERM-04/05 through MCP); left out of the catalog and the probe.
    pub other_mcp_servers: BTreeMap<String, String>,
    /// The agent's primary MCP server (a key of `mcp_servers`): where the token checks go and
    /// what the Gherkin's "primary MCP server" is.
    pub primary_mcp_server: Option<String>,
    pub mcp_era: McpEra,
    /// The SFDX source tree of the Apex behind custom tools (HG-SYS-03/04); `None`: not scanned.
    pub apex_root: Option<std::path::PathBuf>,
    /// Custom tool name -> the Apex class behind it.
    pub tool_classes: BTreeMap<String, String>,
    pub records: BTreeMap<String, RecordRef>,
    /// Aliases of records the restricted persona must never see (unshared, or of an unreadable
    /// object); with the FLS-hidden values, they are the canaries of the system-mode probe.
    pub canary_records: Vec<String>,
    /// Fields hidden from the agent by field-level security, each with a record the admin sees
    /// a value in (HG-PERM-02).
    pub hidden_fields: Vec<HiddenField>,
    /// Canaries seeded through the admin API for the probe, and removed after it.
    pub canary_seeds: Vec<CanarySeed>,
    pub declarations: Option<Declarations>,
    /// Values starting with this are seeded sensitive data: seeing one where it must not be is a leak.
    pub canary_marker: String,
    /// The tool catalog pinned per persona and server (HG-PIN-01): from `run --baseline`, or the
    /// embedded mock's own fault-free catalog.
    pub catalog_pin: Option<crate::catalog_pin::CatalogPin>,
    pub secrets: Secrets,
    /// Time bounds and the hosts that may see a bearer token.
    pub limits: crate::probe::Limits,
}

impl std::fmt::Debug for Target {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Target")
            .field("name", &self.name)
            .field("instance_url", &self.instance_url)
            .finish_non_exhaustive()
    }
}

impl Target {
    /// Now, by the target's clock where the gate can read it, else by the gate's.
    pub fn now_ms(&self) -> i64 {
        match &self.org_now {
            Some(now) => now(),
            None => std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map(|d| d.as_millis() as i64)
                .unwrap_or_default(),
        }
    }

    /// The persona a step's word names: a persona of that name, else the persona playing that
    /// role (`second-user` and `second_user` alike).
    pub fn persona_for(&self, word: &str) -> Option<&Persona> {
        self.personas.get(self.persona_name(word))
    }

    /// The persona name a step's word resolves to (itself, or the persona playing that role).
    pub fn persona_name<'a>(&'a self, word: &'a str) -> &'a str {
        if self.personas.contains_key(word) || self.unavailable.contains_key(word) {
            return word;
        }
        self.roles.get(&word.replace('-', "_")).map(String::as_str).unwrap_or(word)
    }

    /// The resources the agent's token is used at: every MCP server the target names and, on a
    /// Salesforce org, its REST API (the instance URL).
    pub fn used_resources(&self) -> Vec<String> {
        let mut out: Vec<String> = self.mcp_servers.values().chain(self.other_mcp_servers.values()).cloned().collect();
        if self.flavor == Flavor::Salesforce {
            out.push(self.instance_url.clone());
        }
        out.sort();
        out.dedup();
        out
    }

    /// Whether the agent's own tokens open the REST API: on Salesforce only where its app grants
    /// `api` or `full`; a generic stack has no REST API of its own to refuse them.
    pub fn agent_reaches_rest(&self) -> bool {
        self.flavor != Flavor::Salesforce || self.scopes.iter().any(|s| REST_SCOPES.contains(&s.as_str()))
    }

    /// This target as the probe app's client: the same org and personas, the probe app's
    /// client id, callback, scopes and secret, no resource indicators (REST takes none).
    pub fn as_probe_app(&self) -> Option<Target> {
        let p = self.probe_app.as_ref()?;
        let mut t = self.clone();
        t.client_id = p.client_id.clone();
        t.redirect_uri = p.redirect_uri.clone();
        t.agent_callbacks = vec![p.redirect_uri.clone()];
        t.scopes = p.scopes.clone();
        t.client_secret = p.client_secret.clone();
        t.resources = Vec::new();
        Some(t)
    }

    pub fn rest(&self, path: &str) -> String {
        format!("{}/services/data/{}{path}", self.instance_url, self.api_version)
    }
}

static CURRENT: RwLock<Option<Arc<Target>>> = RwLock::new(None);

/// Makes `t` the target of the scenarios that start from now on.
pub fn install(t: Target) -> Arc<Target> {
    let t = Arc::new(t);
    *CURRENT.write().unwrap_or_else(|p| p.into_inner()) = Some(t.clone());
    t
}

/// A text redacted with the installed target's secrets (as it is where none is installed): what
/// a step's error says goes through it before cucumber prints it or a report keeps it.
pub fn redact_installed(text: &str) -> String {
    match CURRENT.read().unwrap_or_else(|p| p.into_inner()).as_ref() {
        Some(t) => t.secrets.redact(text),
        None => text.to_string(),
    }
}

/// The installed target. Running scenarios without one is a programming error of the runner.
pub fn current() -> Arc<Target> {
    CURRENT.read().unwrap_or_else(|p| p.into_inner()).clone().expect("a target is installed before scenarios run")
}
