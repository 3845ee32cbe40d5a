//! Target files: the same scenarios against a real authorization server, MCP server and org.
//! Parsed once, at the edge, into typed values; every error names the file, the key and the
//! problem. Secrets never live in the file: it names the environment variables that hold them.

use serde::Deserialize;
use std::collections::BTreeMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct TargetFileError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TargetFile {
    pub name: String,
    /// `salesforce` or `oauth2.1`: which set of expected error codes applies.
    pub flavor: String,
    pub endpoints: Endpoints,
    pub app: App,
    /// The gate's own app for the REST API, where the agent's app grants no REST scope (on
    /// Salesforce `mcp_api` tokens reach the MCP servers only): every REST-side check signs the
    /// same persona in through it.
    #[serde(default)]
    pub probe_app: Option<ProbeAppDef>,
    pub personas: BTreeMap<String, PersonaDef>,
    /// Which persona plays which role, where its name is not the role's: `agent`, `restricted`
    /// (the restricted user), `second_user` (another user of the agent's app), `admin`.
    #[serde(default)]
    pub roles: BTreeMap<String, String>,
    /// How to learn the caller's identity from a tool (HG-RS-10): the tool's name and a JSON
    /// pointer into its result to the username. Default on a Salesforce org: the platform's
    /// `getUserInfo`, at `/structuredContent/username`.
    #[serde(default)]
    pub identity_tool: Option<IdentityTool>,
    /// Which MCP tool does what (HG-PERM-01..05 through MCP), by role: `query`, `describe`,
    /// `read`, `list_recent`, `create`, `update`, `delete`, `record_action`. Default: the
    /// platform's SObject tools (`soqlQuery` with `q`, ...); `read` and `record_action` have none.
    #[serde(default)]
    pub mcp_tools: BTreeMap<String, ToolBindingDef>,
    #[serde(default)]
    pub records: BTreeMap<String, RecordDef>,
    /// Aliases (from `records`) the restricted persona must never see: the system-mode probe's
    /// canaries. Their sensitive values start with `CANARY-`.
    #[serde(default)]
    pub canary_records: Vec<String>,
    /// Fields field-level security hides from the agent (HG-PERM-02), each with a record (an
    /// alias in `records`) the admin sees a value in it.
    #[serde(default)]
    pub hidden_fields: Vec<HiddenFieldDef>,
    /// Records the admin creates before the system-mode probe and deletes after it.
    #[serde(default)]
    pub canary_seed: Vec<CanarySeedDef>,
    #[serde(default)]
    pub declarations: Option<Declarations>,
    #[serde(default)]
    pub limits: Limits,
    /// The Apex behind the custom tools, for the static scan (HG-SYS-03/04).
    #[serde(default)]
    pub apex: Option<ApexSource>,
    /// Shipped exclusion files to take in (`EXCLUSION_PROFILES`), e.g. the platform's known
    /// deviations.
    #[serde(default)]
    pub exclusion_profiles: Vec<String>,
    #[serde(default)]
    pub exclude: Vec<Exclusion>,
    #[serde(default)]
    pub downgrade: Vec<Exclusion>,
}

/// The shipped exclusion profiles by name: publicly reported deviations a team may choose to
/// accept, each with its source and an expiry (`profiles/` in the source tree).
pub const EXCLUSION_PROFILES: &[(&str, &str)] =
    &[("salesforce-known-deviations", include_str!("../profiles/salesforce-known-deviations.toml"))];

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ExclusionProfile {
    exclude: Vec<Exclusion>,
}

/// The exclusions of the shipped profile `name`.
pub fn exclusion_profile(name: &str) -> Option<Vec<Exclusion>> {
    let (_, text) = EXCLUSION_PROFILES.iter().find(|(n, _)| *n == name)?;
    let profile: ExclusionProfile = toml::from_str(text).expect("the shipped profiles parse (a unit test reads each)");
    Some(profile.exclude.into_iter().map(|x| Exclusion { profile: Some(name.to_string()), ..x }).collect())
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct IdentityTool {
    pub tool: String,
    /// An RFC 6901 JSON pointer into the tool's `result`, e.g. `/structuredContent/username`.
    pub pointer: String,
}

/// One role of `[mcp_tools]`: the tool, the server it is called on (for `record_action`, whose
/// tool lives on one server), and the tool's name for each value the role fills in.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ToolBindingDef {
    pub tool: String,
    #[serde(default)]
    pub server: Option<String>,
    #[serde(default)]
    pub arguments: BTreeMap<String, String>,
}

impl TargetFile {
    /// The tool map: the platform's defaults with the file's roles over them.
    pub fn tool_map(&self) -> steps::mcp_tools::ToolMap {
        let mut map = steps::mcp_tools::ToolMap::default();
        for (key, b) in &self.mcp_tools {
            if let Some(role) = steps::mcp_tools::ToolRole::from_key(key) {
                map.set(role, b.tool.clone(), b.server.clone(), b.arguments.clone());
            }
        }
        map
    }
}

fn check_tool_map(t: &TargetFile, err: &dyn Fn(&str, String) -> TargetFileError) -> Result<(), TargetFileError> {
    use steps::mcp_tools::ToolRole;
    for (key, b) in &t.mcp_tools {
        let Some(role) = ToolRole::from_key(key) else {
            let roles: Vec<&str> = ToolRole::ALL.iter().map(|r| r.key()).collect();
            return Err(err(
                &format!("mcp_tools.{key}"),
                format!("is not a tool role: the roles are {}", roles.join(", ")),
            ));
        };
        if b.tool.trim().is_empty() {
            return Err(err(&format!("mcp_tools.{key}.tool"), "is empty".into()));
        }
        for (slot, name) in &b.arguments {
            if !role.slots().contains(&slot.as_str()) {
                return Err(err(
                    &format!("mcp_tools.{key}.arguments.{slot}"),
                    format!("is not a value this role fills in: {}", role.slots().join(", ")),
                ));
            }
            if name.trim().is_empty() {
                return Err(err(&format!("mcp_tools.{key}.arguments.{slot}"), "is empty".into()));
            }
        }
        if let Some(s) = &b.server
            && !t.endpoints.mcp_servers.contains_key(s)
            && !t.endpoints.other_mcp_servers.contains_key(s)
        {
            return Err(err(
                &format!("mcp_tools.{key}.server"),
                format!("'{s}' is not a server of endpoints.mcp_servers or endpoints.other_mcp_servers"),
            ));
        }
    }
    // A role without a default names every argument itself, and the record action its server;
    // two values of one call never go in one argument.
    let map = t.tool_map();
    for (role, b) in &map.bindings {
        let mut seen = std::collections::BTreeSet::new();
        if let Some((slot, _)) = b.arguments.iter().find(|(_, name)| !seen.insert(name.as_str())) {
            return Err(err(
                &format!("mcp_tools.{}.arguments.{slot}", role.key()),
                "names an argument another value of this tool already goes in".into(),
            ));
        }
    }
    for role in [ToolRole::Read, ToolRole::RecordAction] {
        if let Some(b) = map.bindings.get(&role)
            && let Some(missing) = role.slots().iter().find(|s| !b.arguments.contains_key(**s))
        {
            return Err(err(
                &format!("mcp_tools.{}.arguments.{missing}", role.key()),
                "is required: the tool's argument for it".into(),
            ));
        }
    }
    if t.mcp_tools.get("record_action").is_some_and(|b| b.server.is_none()) {
        return Err(err("mcp_tools.record_action.server", "is required: the server the custom tool is on".into()));
    }
    Ok(())
}

/// The roles a target file may assign.
pub const ROLES: &[&str] = &["agent", "restricted", "second_user", "admin"];

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Endpoints {
    /// The authorization server's issuer, exactly as its metadata must state it.
    pub issuer: String,
    /// Default: `{issuer}/.well-known/oauth-authorization-server`.
    #[serde(default)]
    pub metadata_url: Option<String>,
    /// The org's instance URL (REST under `/services/data/{api_version}/`). Required for a
    /// Salesforce org; a generic OAuth 2.1 stack has no REST API and may leave it out.
    #[serde(default)]
    pub instance_url: String,
    #[serde(default = "default_api_version")]
    pub api_version: String,
    /// The hosted MCP servers by the names scenarios use (`reads`, `custom`) -> URL.
    #[serde(default)]
    pub mcp_servers: BTreeMap<String, String>,
    /// Which of `mcp_servers` is the agent's primary one (token checks go there); needed where
    /// there are several.
    #[serde(default)]
    pub primary_mcp_server: Option<String>,
    /// MCP servers the agent's rollout does not use but the gate may (`all`: the server with the
    /// SObject write tools, for HG-PERM-04/05 through MCP).
    #[serde(default)]
    pub other_mcp_servers: BTreeMap<String, String>,
    /// `2025-11-25` (sessions, the default) or `2026-07-28` (stateless).
    #[serde(default)]
    pub mcp_protocol: Option<String>,
    /// Whom the tokens are for (HG-RS-06): `per-server` (each MCP server its own audience, the
    /// MCP authorization spec's rule; the default for oauth2.1), or the URL of one audience for
    /// every server of a platform (the default on Salesforce: `https://api.salesforce.com`).
    #[serde(default)]
    pub token_audience: Option<String>,
}

fn default_api_version() -> String {
    "v66.0".into()
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct App {
    /// The agent's External Client App: consumer key and metadata name.
    pub client_id: String,
    #[serde(default)]
    pub name: Option<String>,
    pub callback_url: String,
    pub scopes: Vec<String>,
    /// The environment variable holding the app's client secret (Salesforce: the consumer
    /// secret). Sent on every token request of this client; without it, a refusal of a grant that
    /// authenticates the client (client credentials, password on Salesforce) proves nothing.
    #[serde(default)]
    pub client_secret_env: Option<String>,
    /// Another registered client, for the checks that codes and tokens are bound to theirs.
    #[serde(default)]
    pub other_client_id: Option<String>,
    /// The environment variable holding the other client's secret, where it has one.
    #[serde(default)]
    pub other_client_secret_env: Option<String>,
    /// Further callbacks of this same client (e.g. its staging host), for HG-DECL-02.
    #[serde(default)]
    pub other_callback_urls: Vec<String>,
    /// An SFDX source tree with the org's External Client App metadata (`*.ecaGlblOauth-meta.xml`,
    /// `*.ecaOauth-meta.xml` and `*.ecaOauthPlcy-meta.xml`, from `sf project retrieve start`),
    /// relative to this file.
    #[serde(default)]
    pub metadata: Option<String>,
    /// The IP relaxation the rollout declares for the agent's app (HG-ECA-07): `Enforce` (the
    /// default), `Enforce_RelaxRefresh`, `Bypass_2factor` or `Bypass`.
    #[serde(default)]
    pub ip_policy: Option<String>,
    /// The External Client App's identifier for the Connect API's OAuth usage resources
    /// (HG-REV-09), as `GET /services/data/vXX.X/apps/oauth/usage` lists it.
    #[serde(default)]
    pub external_client_app_id: Option<String>,
    /// The permission set (by API name) that gives the agent persona its objects: HG-REV-08
    /// removes the agent's assignment of it, samples the loss of access, and assigns it again.
    #[serde(default)]
    pub agent_permission_set: Option<String>,
    /// Whether the client sends RFC 8707 `resource` indicators (the MCP authorization spec asks
    /// it to). `false` for an authorization server that rejects them, with the reason in
    /// `resource_indicators_off_because`, which the reports show.
    #[serde(default = "yes")]
    pub resource_indicators: bool,
    #[serde(default)]
    pub resource_indicators_off_because: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProbeAppDef {
    /// The probe app's consumer key.
    pub client_id: String,
    pub callback_url: String,
    /// Scopes it asks for: one that opens REST (`api` or `full`).
    #[serde(default = "probe_scopes")]
    pub scopes: Vec<String>,
    /// The environment variable holding its consumer secret, where its web server flow needs one.
    #[serde(default)]
    pub client_secret_env: Option<String>,
}

fn probe_scopes() -> Vec<String> {
    vec!["api".into(), "refresh_token".into()]
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PersonaDef {
    pub username: String,
    /// The environment variable that holds the password (for the login form).
    #[serde(default)]
    pub password_env: Option<String>,
    /// Or: the environment variable that holds a refresh token from `headless-gate login`.
    #[serde(default)]
    pub refresh_token_env: Option<String>,
    /// The environment variable holding the user's Salesforce security token, which the
    /// password grant appends to the password (HG-GRANT-01 sends the complete credentials).
    #[serde(default)]
    pub security_token_env: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RecordDef {
    pub object: String,
    pub id: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HiddenFieldDef {
    pub record: String,
    pub field: String,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CanarySeedDef {
    pub object: String,
    /// Field values; at least one starts with `CANARY-`. `{run}` becomes a fresh tag per seeding.
    pub fields: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Declarations {
    pub use_case: String,
    pub justification: String,
    #[serde(default)]
    pub tool_allowlist: Vec<String>,
    /// Broad tools (free-form query, bulk export) the rollout accepts, by name.
    #[serde(default)]
    pub broad_tools: Vec<String>,
    #[serde(default)]
    pub approval_required: Option<Vec<String>>,
    /// The org's other integrations: name -> client id. None may use the agent's app.
    #[serde(default)]
    pub other_integrations: BTreeMap<String, String>,
    /// `read-only` or `read-write`.
    #[serde(default)]
    pub rollout_phase: Option<String>,
    /// The agent's action list: object -> the fields it reads and edits.
    #[serde(default)]
    pub action_list: BTreeMap<String, Actions>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Actions {
    #[serde(default)]
    pub read: Vec<String>,
    #[serde(default)]
    pub edit: Vec<String>,
}

/// A rollout file: just the declarations (the embedded mock keeps one beside its org file).
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RolloutFile {
    pub declarations: Declarations,
}

pub fn parse_rollout(file: &str, text: &str) -> Result<Declarations, TargetFileError> {
    toml::from_str::<RolloutFile>(text).map(|r| r.declarations).map_err(|e| {
        let msg = e.message().to_string();
        let key = msg.split('`').nth(1).filter(|_| msg.contains("field")).unwrap_or("(document)").to_string();
        TargetFileError { file: file.into(), key, problem: msg }
    })
}

impl Declarations {
    /// The scenarios' view of the declarations.
    pub fn to_steps(&self) -> steps::target::Declarations {
        steps::target::Declarations {
            use_case: self.use_case.clone(),
            justification: self.justification.clone(),
            tool_allowlist: self.tool_allowlist.clone(),
            broad_tools: self.broad_tools.clone(),
            approval_required: self.approval_required.clone().unwrap_or_default(),
            approval_declared: self.approval_required.is_some(),
            read_only_phase: self.rollout_phase.as_deref() == Some("read-only"),
            other_integrations: self.other_integrations.clone(),
            action_list: self.action_list.iter().map(|(o, a)| (o.clone(), (a.read.clone(), a.edit.clone()))).collect(),
        }
    }
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Limits {
    #[serde(default = "default_max_minutes")]
    pub max_access_token_minutes: i64,
    /// The org's per-user request rate. Opt-in: only when set does HG-LIM-01 send its burst.
    #[serde(default)]
    pub per_user_requests_per_minute: Option<u32>,
    /// The bound on one exchange with the target, body included.
    #[serde(default = "default_request_timeout")]
    pub request_timeout_seconds: u64,
    /// The bound on all of one scenario's exchanges.
    #[serde(default = "default_scenario_seconds")]
    pub scenario_seconds: u64,
    /// How long the server's authorization codes live, as the team knows it: HG-CODE-05 waits it
    /// out where it fits the scenario's budget.
    #[serde(default)]
    pub code_lifetime_seconds: Option<u64>,
    /// Per revocation path (HG-REV-07...), how long a revoked token may still be accepted, in
    /// milliseconds; a path not named allows none.
    #[serde(default)]
    pub revocation_windows_ms: std::collections::BTreeMap<String, u64>,
    /// How long after a call the org's event log may still lack it (`audit reconcile`); default:
    /// the platform's documented delay, 6 hours for hourly files, 30 for daily ones.
    #[serde(default)]
    pub event_log_delay_minutes: Option<u64>,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_access_token_minutes: default_max_minutes(),
            per_user_requests_per_minute: None,
            request_timeout_seconds: default_request_timeout(),
            scenario_seconds: default_scenario_seconds(),
            code_lifetime_seconds: None,
            revocation_windows_ms: Default::default(),
            event_log_delay_minutes: None,
        }
    }
}

fn default_request_timeout() -> u64 {
    steps::probe::TIMEOUT.as_secs()
}

fn default_scenario_seconds() -> u64 {
    steps::probe::SCENARIO_BUDGET.as_secs()
}

fn default_max_minutes() -> i64 {
    60
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApexSource {
    /// An SFDX source tree (`**/classes/*.cls` with their `-meta.xml`), relative to the target file.
    pub source: String,
    /// Custom tool name -> the Apex class behind it.
    #[serde(default)]
    pub tools: BTreeMap<String, String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exclusion {
    pub id: String,
    pub reason: String,
    /// `YYYY-MM-DD`: from that day on the exclusion is no longer honoured and fails the gate.
    #[serde(default)]
    pub expires: Option<String>,
    /// `false`: not run even for information (it would spend limits or change the org). An
    /// excluded control is otherwise still run, so a stale exclusion shows.
    #[serde(default = "yes")]
    pub run: bool,
    /// Where the deviation was reported (exclusion profiles).
    #[serde(default)]
    pub source: Option<String>,
    /// The exclusion profile it came from; `None`: the target file's own.
    #[serde(skip)]
    pub profile: Option<String>,
}

fn yes() -> bool {
    true
}

impl Exclusion {
    /// Expired on `today` (`YYYY-MM-DD`, UTC).
    pub fn expired(&self, today: &str) -> bool {
        self.expires.as_deref().is_some_and(|d| d <= today)
    }
}

impl TargetFile {
    /// Every exclusion and downgrade names a control of the catalog the run has, once; only a
    /// SHOULD control can be downgraded. `catalog` maps each control ID to whether it is SHOULD.
    pub fn check_ids(
        &self,
        file: &str,
        catalog: &std::collections::BTreeMap<&str, bool>,
    ) -> Result<(), TargetFileError> {
        let err = |key: String, problem: String| TargetFileError { file: file.into(), key, problem };
        for (section, list) in [("exclude", &self.exclude), ("downgrade", &self.downgrade)] {
            for (i, x) in list.iter().enumerate() {
                let key = format!("{section}[{i}].id");
                match catalog.get(x.id.as_str()) {
                    None => {
                        return Err(err(
                            key,
                            format!("'{}' is not a control of the catalog (headless-gate controls lists them)", x.id),
                        ));
                    }
                    Some(false) if section == "downgrade" => {
                        return Err(err(key, format!("{} is a MUST control; only a SHOULD can be downgraded", x.id)));
                    }
                    _ => {}
                }
                if list[..i].iter().any(|y| y.id == x.id) {
                    return Err(err(key, format!("{} is named twice in [[{section}]]", x.id)));
                }
            }
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` with a real month and day.
fn is_date(d: &str) -> bool {
    let p: Vec<&str> = d.split('-').collect();
    let num = |s: &str, n: usize| s.len() == n && s.bytes().all(|b| b.is_ascii_digit());
    if p.len() != 3 || !num(p[0], 4) || !num(p[1], 2) || !num(p[2], 2) {
        return false;
    }
    let n = |s: &str| s.parse::<u32>().unwrap_or(0);
    let (y, m, day) = (n(p[0]), n(p[1]), n(p[2]));
    let leap = (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
    let days = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return false,
    };
    (1..=days).contains(&day)
}

/// A target file is a regular file of at most this many bytes: a device, a FIFO or a runaway
/// file is refused before it is read.
const MAX_FILE_BYTES: u64 = 1 << 20;

pub fn load(path: &Path) -> Result<TargetFile, TargetFileError> {
    let file = path.display().to_string();
    let err = |problem: String| TargetFileError { file: file.clone(), key: "(file)".into(), problem };
    let meta = std::fs::metadata(path).map_err(|e| err(format!("cannot read: {e}")))?;
    if !meta.is_file() {
        return Err(err("is not a regular file".into()));
    }
    if meta.len() > MAX_FILE_BYTES {
        return Err(err(format!("is {} bytes; a target file is at most {MAX_FILE_BYTES}", meta.len())));
    }
    let text = std::fs::read_to_string(path).map_err(|e| err(format!("cannot read: {e}")))?;
    parse(&file, &text)
}

pub fn parse(file: &str, text: &str) -> Result<TargetFile, TargetFileError> {
    let err = |key: &str, problem: String| TargetFileError { file: file.into(), key: key.into(), problem };
    let mut t: TargetFile = toml::from_str(text).map_err(|e| {
        let msg = e.message().to_string();
        let key = msg.split('`').nth(1).filter(|_| msg.contains("field")).map(str::to_string);
        let line = e.span().map(|s| text[..s.start.min(text.len())].lines().count().max(1));
        let at = line.map(|l| format!(" (line {l})")).unwrap_or_default();
        let key = key.or_else(|| e.span().and_then(|s| key_at(text, s.start)));
        err(&key.unwrap_or_else(|| "(document)".into()), format!("{msg}{at}"))
    })?;
    if t.flavor != "salesforce" && t.flavor != "oauth2.1" {
        return Err(err("flavor", format!("'{}' is not salesforce or oauth2.1", t.flavor)));
    }
    if t.endpoints.instance_url.is_empty() {
        if t.flavor == "salesforce" {
            return Err(err("endpoints.instance_url", "is required for a Salesforce org (its REST API)".into()));
        }
        t.endpoints.instance_url = t.endpoints.issuer.clone();
    }
    for (key, url) in [
        ("endpoints.issuer", &t.endpoints.issuer),
        ("endpoints.instance_url", &t.endpoints.instance_url),
        ("app.callback_url", &t.app.callback_url),
    ]
    .into_iter()
    .chain(t.endpoints.metadata_url.as_ref().map(|u| ("endpoints.metadata_url", u)))
    .chain(t.probe_app.as_ref().map(|p| ("probe_app.callback_url", &p.callback_url)))
    .chain(t.endpoints.token_audience.as_ref().filter(|a| *a != "per-server").map(|a| ("endpoints.token_audience", a)))
    {
        check_url(url).map_err(|p| err(key, p))?;
    }
    for (key, servers) in
        [("mcp_servers", &t.endpoints.mcp_servers), ("other_mcp_servers", &t.endpoints.other_mcp_servers)]
    {
        for (name, u) in servers {
            check_url(u).map_err(|p| err(&format!("endpoints.{key}.{name}"), p))?;
        }
    }
    match (&t.endpoints.primary_mcp_server, t.endpoints.mcp_servers.len()) {
        (Some(p), _) if !t.endpoints.mcp_servers.contains_key(p) => {
            return Err(err("endpoints.primary_mcp_server", format!("'{p}' is not a key of endpoints.mcp_servers")));
        }
        (None, n) if n > 1 => {
            return Err(err(
                "endpoints.primary_mcp_server",
                format!("is required with {n} MCP servers: name the agent's primary one (token checks go there)"),
            ));
        }
        _ => {}
    }
    if let Some(p) = &t.probe_app
        && !p.scopes.iter().any(|s| steps::target::REST_SCOPES.contains(&s.as_str()))
    {
        return Err(err(
            "probe_app.scopes",
            format!(
                "{:?} opens no REST: the probe app exists to hold one of {:?}",
                p.scopes,
                steps::target::REST_SCOPES
            ),
        ));
    }
    if let Some(v) = &t.endpoints.mcp_protocol
        && steps::target::McpEra::parse(v).is_none()
    {
        return Err(err(
            "endpoints.mcp_protocol",
            format!("'{v}' is not one of {}", steps::target::McpEra::CHOICES.join(", ")),
        ));
    }
    if !t.endpoints.api_version.starts_with('v')
        || mock_org::model::parse_api_version(&t.endpoints.api_version[1..]).is_none()
    {
        return Err(err(
            "endpoints.api_version",
            format!("'{}' is not an API version like v66.0", t.endpoints.api_version),
        ));
    }
    for (key, v) in [
        ("limits.request_timeout_seconds", t.limits.request_timeout_seconds),
        ("limits.scenario_seconds", t.limits.scenario_seconds),
    ] {
        if v == 0 {
            return Err(err(key, "must be at least 1".into()));
        }
    }
    // HG-LIM-01 sends this many requests and more: a bound keeps a typo from spending a day's
    // API limit.
    if let Some(rate) = t.limits.per_user_requests_per_minute
        && !(1..=100_000).contains(&rate)
    {
        return Err(err("limits.per_user_requests_per_minute", format!("{rate} is not from 1 to 100000")));
    }
    for (role, persona) in &t.roles {
        if !ROLES.contains(&role.as_str()) {
            return Err(err(&format!("roles.{role}"), format!("is not a role: the roles are {}", ROLES.join(", "))));
        }
        if !t.personas.contains_key(persona) {
            return Err(err(&format!("roles.{role}"), format!("'{persona}' is not a persona of this file")));
        }
    }
    if let Some(id) = &t.identity_tool
        && !(id.pointer.is_empty() || id.pointer.starts_with('/'))
    {
        return Err(err("identity_tool.pointer", format!("'{}' is not a JSON pointer (it starts with /)", id.pointer)));
    }
    check_tool_map(&t, &err)?;
    if t.app.scopes.is_empty() {
        return Err(err("app.scopes", "lists no scope".into()));
    }
    let off_because = t.app.resource_indicators_off_because.as_deref().map(str::trim).unwrap_or_default();
    if !t.app.resource_indicators && off_because.is_empty() {
        return Err(err(
            "app.resource_indicators_off_because",
            "is required when app.resource_indicators = false: the reports say why the gate's client leaves out what the MCP authorization spec asks of clients".into(),
        ));
    }
    for (name, p) in &t.personas {
        match (&p.password_env, &p.refresh_token_env) {
            (None, None) => {
                return Err(err(
                    &format!("personas.{name}.password_env"),
                    "names no environment variable for the password (or set refresh_token_env)".into(),
                ));
            }
            (Some(_), Some(_)) => {
                return Err(err(
                    &format!("personas.{name}.refresh_token_env"),
                    "set either password_env or refresh_token_env, not both".into(),
                ));
            }
            _ => {}
        }
    }
    for (i, h) in t.hidden_fields.iter().enumerate() {
        if !t.records.contains_key(&h.record) {
            return Err(err(
                &format!("hidden_fields[{i}].record"),
                format!("'{}' is not an alias in [records]", h.record),
            ));
        }
        let api_name = h.field.chars().next().is_some_and(|c| c.is_ascii_alphabetic())
            && h.field.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if !api_name {
            return Err(err(&format!("hidden_fields[{i}].field"), format!("'{}' is not a field API name", h.field)));
        }
    }
    for (i, alias) in t.canary_records.iter().enumerate() {
        if !t.records.contains_key(alias) {
            return Err(err(&format!("canary_records[{i}]"), format!("'{alias}' is not an alias in [records]")));
        }
    }
    for (i, seed) in t.canary_seed.iter().enumerate() {
        if !seed.fields.values().any(|v| v.starts_with("CANARY-")) {
            return Err(err(
                &format!("canary_seed[{i}].fields"),
                "no value starts with CANARY-, so no leak could be seen".into(),
            ));
        }
    }
    for (i, name) in t.exclusion_profiles.iter().enumerate() {
        let Some(profile) = exclusion_profile(name) else {
            let known: Vec<&str> = EXCLUSION_PROFILES.iter().map(|p| p.0).collect();
            return Err(err(
                &format!("exclusion_profiles[{i}]"),
                format!("'{name}' is not a shipped exclusion profile (known: {})", known.join(", ")),
            ));
        };
        // The file's own exclusion of an ID wins over a profile's.
        let own: Vec<String> = t.exclude.iter().map(|x| x.id.clone()).collect();
        t.exclude.extend(profile.into_iter().filter(|x| !own.contains(&x.id)));
    }
    for (section, list) in [("exclude", &t.exclude), ("downgrade", &t.downgrade)] {
        for (i, x) in list.iter().enumerate() {
            let well_formed = x.id.starts_with("HG-") && x.id.split('-').count() == 3;
            if !well_formed {
                return Err(err(
                    &format!("{section}[{i}].id"),
                    format!("'{}' is not a control ID like HG-PKCE-01", x.id),
                ));
            }
            if x.reason.trim().is_empty() {
                return Err(err(&format!("{section}[{i}].reason"), "must say why".into()));
            }
            if let Some(d) = &x.expires
                && !is_date(d)
            {
                return Err(err(&format!("{section}[{i}].expires"), format!("'{d}' is not a date like 2027-03-31")));
            }
        }
    }
    Ok(t)
}

/// The dotted key a value at `offset` belongs to: the table header above it and the key on its
/// line (`limits.scenario_seconds`), so a wrong type names the key like every other error.
fn key_at(text: &str, offset: usize) -> Option<String> {
    let before = text.get(..offset.min(text.len()))?;
    let line = before.rsplit('\n').next().unwrap_or_default().to_string()
        + text[before.len()..].split('\n').next().unwrap_or_default();
    let key = line.split_once('=')?.0.trim().trim_matches('"').to_string();
    let table = before
        .lines()
        .rev()
        .map(str::trim)
        .find(|l| l.starts_with('['))
        .map(|l| l.trim_matches(|c| c == '[' || c == ']').trim().to_string());
    Some(match table {
        Some(t) if !t.is_empty() => format!("{t}.{key}"),
        _ => key,
    })
}

/// HTTPS, or plain HTTP on loopback only (local test servers).
fn check_url(u: &str) -> Result<(), String> {
    let parsed = url::Url::parse(u).map_err(|e| format!("'{u}' is not a URL: {e}"))?;
    let loopback = matches!(parsed.host_str(), Some("127.0.0.1") | Some("localhost") | Some("[::1]"));
    match parsed.scheme() {
        "https" => Ok(()),
        "http" if loopback => Ok(()),
        _ => Err(format!("'{u}' must be https (plain http only on loopback)")),
    }
}

/// The commented template `headless-gate init` writes: a Salesforce org's.
pub const TEMPLATE: &str = include_str!("target_template.toml");
/// The template for any OAuth 2.1 authorization server and MCP server (`init --flavor oauth2.1`).
pub const TEMPLATE_OAUTH21: &str = include_str!("target_template_oauth21.toml");

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_templates_parse() {
        let t = parse("template.toml", TEMPLATE).expect("the template is valid");
        assert_eq!(t.flavor, "salesforce");
        assert!(t.personas.contains_key("agent"));
        let g = parse("generic.toml", TEMPLATE_OAUTH21).expect("the generic template is valid");
        assert_eq!((g.flavor.as_str(), g.endpoints.instance_url.as_str()), ("oauth2.1", g.endpoints.issuer.as_str()));
        let e = parse("sf.toml", &TEMPLATE.replacen("instance_url = ", "# instance_url = ", 1)).unwrap_err();
        assert_eq!(e.key, "endpoints.instance_url", "{e}");
    }

    /// The README's sandbox example: secrets, security token, the deviations profile, everything
    /// the gate can use on a real org, and only IDs of the catalog.
    #[test]
    fn the_sandbox_example_validates() {
        let t = parse("examples/sandbox.toml", include_str!("../examples/sandbox.toml")).expect("valid");
        assert_eq!(t.app.client_secret_env.as_deref(), Some("HG_AGENT_APP_SECRET"));
        assert!(t.personas["agent"].security_token_env.is_some());
        assert!(t.exclude.iter().any(|x| x.profile.as_deref() == Some("salesforce-known-deviations")));
        let mut ids = std::collections::BTreeMap::new();
        let catalog = crate::catalog::shipped();
        for c in &catalog {
            *ids.entry(c.id.as_str()).or_default() |= c.severity == "SHOULD";
        }
        t.check_ids("examples/sandbox.toml", &ids).expect("every excluded ID is a control");
    }

    #[test]
    fn a_target_file_is_a_regular_file_of_bounded_size() {
        let e = load(Path::new("/dev/zero")).unwrap_err();
        assert_eq!((e.key.as_str(), e.problem.as_str()), ("(file)", "is not a regular file"));
        let e = load(Path::new("/")).unwrap_err();
        assert_eq!(e.problem, "is not a regular file");
        let big = std::env::temp_dir().join(format!("hg-big-target-{}.toml", std::process::id()));
        std::fs::write(&big, vec![b'#'; (MAX_FILE_BYTES + 1) as usize]).unwrap();
        assert!(load(&big).unwrap_err().problem.starts_with("is 1048577 bytes"));
        std::fs::remove_file(&big).unwrap();
    }

    #[test]
    fn a_value_of_the_wrong_type_names_its_key() {
        let t = TEMPLATE.replacen("max_access_token_minutes = 60", "max_access_token_minutes = \"sixty\"", 1);
        assert_ne!(t, TEMPLATE);
        let e = parse("t.toml", &t).unwrap_err();
        assert_eq!(e.key, "limits.max_access_token_minutes", "{e}");
    }

    #[test]
    fn a_rate_beyond_bounds_is_refused_naming_the_key() {
        let t =
            TEMPLATE.replacen("# per_user_requests_per_minute = 500", "per_user_requests_per_minute = 4294967295", 1);
        assert_ne!(t, TEMPLATE);
        let e = parse("t.toml", &t).unwrap_err();
        assert_eq!(e.key, "limits.per_user_requests_per_minute", "{e}");
    }

    #[test]
    fn the_shipped_exclusion_profiles_name_a_source_and_an_expiry_and_a_files_own_exclusion_wins() {
        for (name, _) in EXCLUSION_PROFILES {
            let profile = exclusion_profile(name).expect("parses");
            assert!(!profile.is_empty());
            for x in profile {
                assert!(x.source.as_deref().is_some_and(|s| s.starts_with("https://")), "{}", x.id);
                assert!(x.expires.as_deref().is_some_and(is_date), "{}", x.id);
                assert_eq!(x.profile.as_deref(), Some(*name));
            }
        }
        let with = |extra: &str| {
            TEMPLATE.replacen("flavor = \"salesforce\"\n", &format!("flavor = \"salesforce\"\n{extra}\n"), 1)
        };
        let t = parse("t.toml", &with("exclusion_profiles = [\"salesforce-known-deviations\"]")).unwrap();
        let ids: Vec<&str> = t.exclude.iter().map(|x| x.id.as_str()).collect();
        assert!(ids.contains(&"HG-RS-02") && ids.contains(&"HG-META-02"), "{ids:?}");
        // The file's own exclusion of HG-RS-02 stays, the profile's is left out.
        let own = format!(
            "{}\n[[exclude]]\nid = \"HG-RS-02\"\nreason = \"ours\"\n",
            with("exclusion_profiles = [\"salesforce-known-deviations\"]")
        );
        let t = parse("t.toml", &own).unwrap();
        let rs06: Vec<&Exclusion> = t.exclude.iter().filter(|x| x.id == "HG-RS-02").collect();
        assert_eq!(rs06.len(), 1);
        assert_eq!((rs06[0].reason.as_str(), rs06[0].profile.as_deref()), ("ours", None));
        let e = parse("t.toml", &with("exclusion_profiles = [\"salesforce\"]")).unwrap_err();
        assert_eq!(e.key, "exclusion_profiles[0]");
        assert_eq!(e.problem, "'salesforce' is not a shipped exclusion profile (known: salesforce-known-deviations)");
    }

    #[test]
    fn exclusion_dates_are_real_days() {
        for ok in ["2027-03-31", "2028-02-29", "2000-02-29"] {
            assert!(is_date(ok), "{ok}");
        }
        for bad in ["2027-02-31", "2027-02-29", "1900-02-29", "2027-13-01", "2027-04-31", "27-03-31", "2027-3-31"] {
            assert!(!is_date(bad), "{bad}");
        }
    }

    #[test]
    fn errors_name_the_key() {
        let bad = TEMPLATE.replacen("flavor = \"salesforce\"", "flavor = \"soap\"", 1);
        assert_eq!(
            parse("t.toml", &bad).unwrap_err().to_string(),
            "t.toml: flavor: 'soap' is not salesforce or oauth2.1"
        );
        let bad = TEMPLATE.replacen("[app]", "[app]\nclient_secret = \"oops\"", 1);
        let e = parse("t.toml", &bad).unwrap_err();
        assert_eq!(e.key, "client_secret", "{e}");
        assert!(e.problem.contains("unknown field"), "{e}");
        let bad = TEMPLATE.replacen("https://agent.example.com/oauth/callback", "http://agent.example.com/cb", 1);
        assert_eq!(parse("t.toml", &bad).unwrap_err().key, "app.callback_url");
        // The probe app exists to open REST: one without a REST scope is a mistake, named.
        let bad = TEMPLATE.replacen("# scopes = [\"api\", \"refresh_token\"]", "scopes = [\"mcp_api\"]", 1);
        let e = parse("t.toml", &bad).unwrap_err();
        assert_eq!(e.key, "probe_app.scopes", "{e}");
        assert!(e.problem.contains("opens no REST"), "{e}");
        let bad = TEMPLATE.replacen("https://gate.example.com/oauth/callback", "ftp://gate", 1);
        assert_eq!(parse("t.toml", &bad).unwrap_err().key, "probe_app.callback_url");
        let t = parse("t.toml", TEMPLATE).unwrap();
        assert_eq!(t.probe_app.unwrap().scopes, ["api", "refresh_token"], "the default scopes");
        let bad = TEMPLATE.replacen("password_env = \"HG_AGENT_PASSWORD\"", "", 1);
        assert_eq!(parse("t.toml", &bad).unwrap_err().key, "personas.agent.password_env");
    }

    #[test]
    fn the_tool_map_names_its_key_and_keeps_the_platforms_defaults() {
        let with = |table: &str| TEMPLATE.replacen("[records]", &format!("[mcp_tools]\n{table}\n\n[records]"), 1);
        let key = |table: &str| parse("t.toml", &with(table)).unwrap_err().key;
        assert_eq!(key("fetch = { tool = \"x\" }"), "mcp_tools.fetch");
        assert_eq!(key("query = { tool = \"x\", arguments = { id = \"i\" } }"), "mcp_tools.query.arguments.id");
        assert_eq!(key("query = { tool = \" \" }"), "mcp_tools.query.tool");
        assert!(
            key("update = { tool = \"u\", arguments = { object = \"recordId\" } }")
                .starts_with("mcp_tools.update.arguments.")
        );
        assert_eq!(key("read = { tool = \"r\", arguments = { object = \"o\" } }"), "mcp_tools.read.arguments.id");
        assert_eq!(
            key("record_action = { tool = \"a\", arguments = { id = \"i\" } }"),
            "mcp_tools.record_action.server"
        );
        assert_eq!(
            key("record_action = { tool = \"a\", server = \"nowhere\", arguments = { id = \"i\" } }"),
            "mcp_tools.record_action.server"
        );
        let t = parse("t.toml", &with("query = { tool = \"run_soql\" }")).unwrap();
        let map = t.tool_map();
        assert_eq!(map.tool(steps::mcp_tools::ToolRole::Query), Some("run_soql"));
        assert_eq!(map.bindings[&steps::mcp_tools::ToolRole::Query].arguments["query"], "q", "the default argument");
        assert_eq!(map.tool(steps::mcp_tools::ToolRole::Describe), Some("getObjectSchema"));
    }
}
