//! The embedded mock org as a target: its endpoints, the agent's External Client App, and the
//! personas and records of the default fixture under the names the scenarios use.

use mock_org::RunningOrg;
use std::collections::BTreeMap;
use std::sync::Arc;
use steps::evidence::Secrets;
use steps::mcp_tools::{ToolMap, ToolRole};
use steps::probe::{Limits, authority};
use steps::target::{
    AppMetadata, CanarySeed, Flavor, HiddenField, McpEra, Persona, Posture, ProbeApp, RecordRef, Target, TokenAudience,
};

/// Scenario persona name -> username in the default org file.
pub const PERSONAS: &[(&str, &str)] = &[
    ("agent", "agent.service@acme.test"),
    ("admin", "admin@acme.test"),
    ("csr", "csr.broad@acme.test"),
    ("manager", "support.manager@acme.test"),
    ("sales", "sales.rep@acme.test"),
    ("frozen", "frozen.user@acme.test"),
    ("noapi", "noapi.user@acme.test"),
];

/// Scenario record alias -> (object, id) in the default org file.
pub const RECORDS: &[(&str, &str, &str)] = &[
    ("shared-account", "Account", "001000000000001"),
    ("unshared-account", "Account", "001000000000002"),
    ("shared-contact", "Contact", "003000000000001"),
    ("shared-case", "Case", "500000000000001"),
    ("own-case", "Case", "500000000000002"),
    ("unshared-case", "Case", "500000000000003"),
    ("peer-case", "Case", "500000000000004"),
    ("shared-history", "CaseHistory", "017000000000001"),
    ("unshared-history", "CaseHistory", "017000000000002"),
    ("opportunity", "Opportunity", "006000000000001"),
];

/// The fixture's fields hidden from the agent by field-level security (HG-PERM-02), each with a
/// record that holds a value in it.
pub const HIDDEN_FIELDS: &[(&str, &str)] = &[
    ("shared-account", "BillingStreet"),
    ("shared-account", "PaymentMethod__c"),
    ("shared-account", "InternalTier__c"),
    ("shared-case", "InternalNotes__c"),
    ("shared-contact", "Birthdate__c"),
];

/// Canaries the admin seeds before the system-mode probe: an admin-owned case and account (not
/// shared with the agent's role), the account's FLS-hidden payment method, and an opportunity (an
/// object the agent cannot read).
pub const SEEDS: &[(&str, &[(&str, &str)])] = &[
    ("Case", &[("Subject", "CANARY-SEEDED-CASE-{run}"), ("Description", "CANARY-SEEDED-CASE-{run} internal only")]),
    ("Account", &[("Name", "CANARY-SEEDED-ACCOUNT-{run}"), ("PaymentMethod__c", "CANARY-SEEDED-PAYMENT-{run}")]),
    ("Opportunity", &[("Name", "CANARY-SEEDED-OPPORTUNITY-{run}"), ("StageName", "Prospecting")]),
];

/// The rollout declarations beside an org file (`x.toml` -> `x.rollout.toml`); the default
/// fixture's are compiled in.
pub fn declarations_for(
    org_file: Option<&std::path::Path>,
) -> Result<Option<steps::target::Declarations>, crate::target_file::TargetFileError> {
    let (name, text) = match org_file {
        None => (
            "mock-org/orgs/default.rollout.toml".to_string(),
            include_str!("../mock-org/orgs/default.rollout.toml").to_string(),
        ),
        Some(p) => {
            let path = p.with_extension("rollout.toml");
            match std::fs::read_to_string(&path) {
                Ok(t) => (path.display().to_string(), t),
                Err(_) => return Ok(None),
            }
        }
    };
    crate::target_file::parse_rollout(&name, &text).map(|d| Some(d.to_steps()))
}

/// The scopes the agent's rollout declares: Headless 360's.
const SCOPES: &[&str] = &["mcp_api", "refresh_token"];
/// The mock org's app for the gate's REST reads (scope `api`).
const PROBE_APP: &str = "Headless_Gate_Probe";

/// The server with every SObject tool (`platform/sobject-all`): the agent's rollout does not use
/// it, the write checks through MCP do.
const ALL_SERVER: &str = "all";

/// The agent's app is the org's first External Client App.
pub fn for_mock(
    running: &RunningOrg,
    declarations: Option<steps::target::Declarations>,
    secrets: Secrets,
    mcp_era: McpEra,
) -> Target {
    let org = &running.state.org;
    let app = &org.apps[0];
    for secret in org.apps.iter().filter_map(|a| a.consumer_secret.as_deref()) {
        secrets.add(secret, "client secret");
    }
    let personas = PERSONAS
        .iter()
        .filter_map(|(name, username)| {
            let u = org.user_by_username(username)?;
            Some((
                name.to_string(),
                Persona {
                    username: u.username.clone(),
                    password: u.password.clone(),
                    refresh: None,
                    security_token: None,
                },
            ))
        })
        .collect::<BTreeMap<_, _>>();
    // Scenario names: `custom` for the custom server, else the last word (`reads`, `all`).
    let servers: Vec<(String, String)> = org
        .mcp_servers
        .iter()
        .map(|m| {
            let alias =
                if m.name.starts_with("custom/") { "custom" } else { m.name.rsplit('-').next().unwrap_or(&m.name) };
            (alias.to_string(), running.state.mcp_url(&m.name))
        })
        .collect();
    let records = RECORDS
        .iter()
        .map(|(alias, object, id)| (alias.to_string(), RecordRef { object: object.to_string(), id: id.to_string() }))
        .collect();
    let mut target = Target {
        name: format!("embedded mock org '{}'", org.name),
        instance_url: running.url.clone(),
        issuer: running.state.tokens.issuer().to_string(),
        authorize_url: format!("{}/services/oauth2/authorize", running.url),
        token_url: format!("{}/services/oauth2/token", running.url),
        revoke_url: format!("{}/services/oauth2/revoke", running.url),
        introspect_url: format!("{}/services/oauth2/introspect", running.url),
        metadata_url: format!("{}/.well-known/oauth-authorization-server", running.url),
        flavor: Flavor::Salesforce,
        api_version: format!("v{}.0", org.max_api_version / 10),
        client_id: app.consumer_key.clone(),
        app_name: app.name.clone(),
        app_usage_id: Some(mock_org::connect::app_id(0)),
        agent_permission_set: Some("Headless_Service_Agent_Access".into()),
        redirect_uri: app.callback_urls[0].clone(),
        agent_callbacks: vec![app.callback_urls[0].clone()],
        // The org itself is the mock's metadata.
        app_metadata: Some(
            org.apps
                .iter()
                .map(|a| AppMetadata {
                    name: a.name.clone(),
                    consumer_key: a.consumer_key.clone(),
                    callback_urls: a.callback_urls.clone(),
                    scopes: a.scopes.clone(),
                    posture: Posture {
                        client_credentials: Some(a.is_client_credentials_flow_enabled),
                        pkce_required: Some(a.is_pkce_required),
                        rotation: Some(a.is_refresh_token_rotation_enabled),
                        // The org file's `Immediately` is the metadata's `Zero`.
                        refresh_policy: Some(match a.refresh_token_policy_type.as_str() {
                            "Immediately" => "Zero".into(),
                            other => other.into(),
                        }),
                        permitted_users: Some(
                            if a.admin_pre_authorized { "AdminApprovedPreAuthorized" } else { "AllSelfAuthorized" }
                                .into(),
                        ),
                        permission_sets: a.permission_sets.clone(),
                        ip_policy: Some(a.ip_relaxation_policy_type.clone()),
                    },
                })
                .collect(),
        ),
        app_ip_policy: "Enforce".into(),
        other_client_id: org.apps.get(1).map(|a| a.consumer_key.clone()),
        client_secret: app.consumer_secret.clone(),
        other_client_secret: org.apps.get(1).and_then(|a| a.consumer_secret.clone()),
        token_audience: if running.state.per_server_audience() {
            TokenAudience::PerServer
        } else {
            TokenAudience::Platform(running.state.platform_audience())
        },
        probe_app: org.apps.iter().find(|a| a.name == PROBE_APP).map(|a| ProbeApp {
            client_id: a.consumer_key.clone(),
            redirect_uri: a.callback_urls[0].clone(),
            scopes: a.scopes.clone(),
            client_secret: None,
        }),
        max_access_token_minutes: 60,
        code_lifetime: None,
        revocation_windows_ms: Default::default(),
        // The mock declares the rate its org file enforces (a fault can switch enforcement off).
        per_user_requests_per_minute: org.per_user_requests_per_minute,
        clock: Some({
            let state = running.state.clone();
            Arc::new(move |d| state.clock.advance(d))
        }),
        org_now: Some({
            let state = running.state.clone();
            Arc::new(move || state.clock.now_ms())
        }),
        // The mock's event log files are written as the calls happen, complete.
        event_log_delay_ms: Some(0),
        // What the rollout declares (Headless 360's), not what the app happens to grant.
        scopes: SCOPES.iter().map(|s| s.to_string()).collect(),
        resources: Vec::new(),
        personas,
        // The fixture's restricted CSR is also the other user of the agent's app.
        unavailable: Default::default(),
        roles: [("restricted", "csr"), ("second_user", "csr")].map(|(r, p)| (r.to_string(), p.to_string())).into(),
        identity_tool: Some(("getUserInfo".into(), "/structuredContent/username".into())),
        mcp_tools: tool_map(org, &servers),
        mcp_servers: servers.iter().filter(|(alias, _)| alias != ALL_SERVER).cloned().collect(),
        other_mcp_servers: servers.iter().filter(|(alias, _)| alias == ALL_SERVER).cloned().collect(),
        // The agent's read server where the org has one (the default org does), else its first.
        primary_mcp_server: servers
            .iter()
            .map(|(alias, _)| alias.clone())
            .filter(|alias| alias != ALL_SERVER)
            .find(|alias| alias == "reads")
            .or_else(|| servers.iter().map(|(alias, _)| alias.clone()).find(|alias| alias != ALL_SERVER)),
        mcp_era,
        // The run sets it to the Apex compiled into the binary (`RunFiles::apex`).
        apex_root: None,
        tool_classes: org
            .mcp_servers
            .iter()
            .flat_map(|s| s.custom_tools.iter().map(|t| (t.name.clone(), t.apex_class.clone())))
            .collect(),
        records,
        declarations,
        canary_records: RECORDS
            .iter()
            .map(|(a, _, _)| a.to_string())
            .filter(|a| a.starts_with("unshared-") || a == "opportunity")
            .collect(),
        hidden_fields: HIDDEN_FIELDS
            .iter()
            .map(|(record, field)| HiddenField { record: record.to_string(), field: field.to_string() })
            .collect(),
        canary_seeds: SEEDS
            .iter()
            .map(|(object, fields)| CanarySeed {
                object: object.to_string(),
                fields: fields.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect(),
            })
            .collect(),
        canary_marker: "CANARY-".into(),
        catalog_pin: None,
        secrets,
        // The instance and the API host, where the MCP servers answer.
        limits: Limits {
            trusted: [&running.url, &running.api_url].into_iter().filter_map(|u| authority(u)).collect(),
            ..Limits::default()
        },
    };
    target.resources = target.used_resources();
    target
}

/// The tool map of the org's servers, under the names the org file gives the tools and their
/// arguments: the platform's roles, the mock's own `getRecord` as the record read, and the first
/// custom tool as the record action.
fn tool_map(org: &mock_org::model::Org, aliases: &[(String, String)]) -> ToolMap {
    let mut map = ToolMap::default();
    let roles = [
        (ToolRole::Query, "soqlQuery", &[("query", "q")][..]),
        (ToolRole::Describe, "getObjectSchema", &[("object", "objectName")][..]),
        (ToolRole::Read, "getRecord", &[("object", "objectName"), ("id", "recordId")][..]),
        (ToolRole::ListRecent, "listRecentSobjectRecords", &[("object", "objectName")][..]),
        (ToolRole::Create, "createSobjectRecord", &[("object", "objectName"), ("fields", "fields")][..]),
        (
            ToolRole::Update,
            "updateSobjectRecord",
            &[("object", "objectName"), ("id", "recordId"), ("fields", "fields")][..],
        ),
        (ToolRole::Delete, "deleteSobjectRecord", &[("object", "objectName"), ("id", "recordId")][..]),
    ];
    for (role, standard, slots) in roles {
        // The rows write on the `all` server and read on the others: a tool offered on both (a
        // fault adds a write tool to the reads server) is named as the rows' server offers it.
        let writes = matches!(role, ToolRole::Create | ToolRole::Update | ToolRole::Delete);
        let offering =
            || org.mcp_servers.iter().zip(aliases).filter(|(s, _)| s.standard_tools.iter().any(|t| t == standard));
        let Some((server, _)) =
            offering().find(|(_, (alias, _))| (alias == ALL_SERVER) == writes).or_else(|| offering().next())
        else {
            continue;
        };
        let arguments = slots.iter().map(|(slot, arg)| (slot.to_string(), server.offered_argument(arg).to_string()));
        map.set(role, server.offered_name(standard).to_string(), None, arguments.collect());
    }
    let custom = org
        .mcp_servers
        .iter()
        .zip(aliases)
        .find_map(|(s, (alias, _))| s.custom_tools.iter().find(|t| t.read_only_hint).map(|t| (alias.clone(), t)));
    if let Some((alias, t)) = custom {
        map.set(ToolRole::RecordAction, t.name.clone(), Some(alias), [("id".to_string(), t.argument.clone())].into());
    }
    map
}

/// The personas a loopback target file names (all but the frozen user, whom scenarios freeze
/// and thaw through the admin).
pub const LOOPBACK_PERSONAS: &[&str] = &["agent", "admin", "csr", "manager", "sales", "noapi"];

/// A target file for the default mock org with its instance at `url` and its API host at `api`
/// (the mock itself, or proxies in front of it): the tests' and the remote benchmark's
/// deployment, reached only through the file. Secrets come from `{prefix}_{PERSONA}_PASSWORD`
/// and `{prefix}_CLIENT_SECRET`.
pub fn loopback_target_file(url: &str, api: &str, prefix: &str) -> String {
    let mut t = format!(
        r#"name = "loopback deployment"
flavor = "salesforce"
canary_records = ["unshared-account", "unshared-case", "unshared-history", "opportunity"]

[endpoints]
issuer = "{url}"
instance_url = "{url}"
api_version = "v66.0"
mcp_servers = {{ reads = "{api}/platform/mcp/v1/platform/sobject-reads", custom = "{api}/platform/mcp/v1/custom/service-agent" }}
other_mcp_servers = {{ all = "{api}/platform/mcp/v1/platform/sobject-all" }}
primary_mcp_server = "reads"
token_audience = "{api}"

[app]
client_id = "3MVG9mockHeadlessServiceAgentKey0001"
name = "Headless_Service_Agent"
external_client_app_id = "{app_id}"
agent_permission_set = "Headless_Service_Agent_Access"
callback_url = "https://agent.example.test/oauth/callback"
scopes = ["mcp_api", "refresh_token"]
client_secret_env = "{prefix}_CLIENT_SECRET"
other_client_id = "3MVG9mockReportingDashboardKey0002"

[probe_app]
client_id = "3MVG9mockHeadlessGateProbeKey00004"
callback_url = "https://gate.example.test/oauth/callback"

# The platform's tools are the defaults; the mock adds a record read and a custom record action.
[mcp_tools]
read = {{ tool = "getRecord", arguments = {{ object = "objectName", id = "recordId" }} }}
record_action = {{ tool = "getCaseHealthSummary", server = "custom", arguments = {{ id = "caseId" }} }}

[records]
shared-account = {{ object = "Account", id = "001000000000001" }}
unshared-account = {{ object = "Account", id = "001000000000002" }}
shared-contact = {{ object = "Contact", id = "003000000000001" }}
shared-case = {{ object = "Case", id = "500000000000001" }}
own-case = {{ object = "Case", id = "500000000000002" }}
unshared-case = {{ object = "Case", id = "500000000000003" }}
peer-case = {{ object = "Case", id = "500000000000004" }}
shared-history = {{ object = "CaseHistory", id = "017000000000001" }}
unshared-history = {{ object = "CaseHistory", id = "017000000000002" }}
opportunity = {{ object = "Opportunity", id = "006000000000001" }}

[[hidden_fields]]
record = "shared-account"
field = "BillingStreet"

[[hidden_fields]]
record = "shared-account"
field = "PaymentMethod__c"

[[hidden_fields]]
record = "shared-account"
field = "InternalTier__c"

[[hidden_fields]]
record = "shared-case"
field = "InternalNotes__c"

[[hidden_fields]]
record = "shared-contact"
field = "Birthdate__c"

[[canary_seed]]
object = "Case"
fields = {{ Subject = "CANARY-SEEDED-CASE-{{run}}" }}

[[canary_seed]]
object = "Opportunity"
fields = {{ Name = "CANARY-SEEDED-OPPORTUNITY-{{run}}", StageName = "Prospecting" }}

# The mock's event log files are written as the calls happen, complete.
[limits]
event_log_delay_minutes = 0

[[exclude]]
id = "HG-CODE-05"
reason = "the code lifetime cannot be waited out within the run's time budget"

[[exclude]]
id = "HG-RS-05"
reason = "access tokens cannot be aged within the run's time budget"
"#,
        app_id = mock_org::connect::app_id(0),
    );
    // The rollout's declarations, as the mock ships them.
    t.push_str(include_str!("../mock-org/orgs/default.rollout.toml"));
    for name in LOOPBACK_PERSONAS {
        let user = PERSONAS.iter().find(|p| p.0 == *name).map(|p| p.1).unwrap_or_default();
        t.push_str(&format!(
            "\n[personas.{name}]\nusername = \"{user}\"\npassword_env = \"{prefix}_{}_PASSWORD\"\n",
            name.to_uppercase()
        ));
    }
    t.push_str("\n[roles]\nrestricted = \"csr\"\nsecond_user = \"csr\"\n");
    t
}

/// The variables `loopback_target_file` names, with their values from `org`.
pub fn loopback_credentials(org: &mock_org::Org, prefix: &str) -> Vec<(String, String)> {
    let mut vars: Vec<(String, String)> = LOOPBACK_PERSONAS
        .iter()
        .filter_map(|name| {
            let username = PERSONAS.iter().find(|p| p.0 == *name)?.1;
            Some((
                format!("{prefix}_{}_PASSWORD", name.to_uppercase()),
                org.user_by_username(username)?.password.clone(),
            ))
        })
        .collect();
    if let Some(secret) = org.apps.first().and_then(|a| a.consumer_secret.clone()) {
        vars.push((format!("{prefix}_CLIENT_SECRET"), secret));
    }
    vars
}

/// The catalog the fault-free org offers the agent and the restricted persona on each of the
/// agent's MCP servers: the embedded mock's pin for HG-PIN-01, built by the code that serves
/// `tools/list` and fingerprinted as the gate fingerprints what it lists.
pub fn catalog_pin(clean: &mock_org::Org, target: &Target) -> steps::catalog_pin::CatalogPin {
    let mut pin = steps::catalog_pin::CatalogPin::new();
    for persona in ["agent", "restricted"] {
        let Some(user) = target.persona_for(persona).and_then(|p| clean.user_by_username(&p.username)) else {
            continue;
        };
        for (alias, url) in &target.mcp_servers {
            let Some(server) = clean.mcp_servers.iter().find(|s| url.ends_with(&clean.mcp_path(&s.name))) else {
                continue;
            };
            let tools: Vec<serde_json::Value> = mock_org::mcp::tools::offered(clean, server, user)
                .into_iter()
                .filter_map(|t| serde_json::to_value(t).ok())
                .collect();
            pin.entry(persona.to_string()).or_default().insert(alias.clone(), steps::catalog_pin::catalog(&tools));
        }
    }
    pin
}
