//! A target file made into the scenarios' `Target`: passwords read from the environment, the
//! endpoints read from the authorization server's own metadata (and refused when they point at a
//! host the target file does not name).

use crate::target_file::{TargetFile, TargetFileError};
use std::collections::BTreeMap;
use steps::evidence::Secrets;
use steps::probe::{Limits, authority};
use steps::target::{
    CanarySeed, Flavor, HiddenField, McpEra, Persona, ProbeApp, RecordRef, RefreshChain, SALESFORCE_PLATFORM_AUDIENCE,
    Target, TokenAudience,
};

#[derive(Debug, thiserror::Error)]
pub enum TargetError {
    #[error("{0}")]
    File(#[from] TargetFileError),
    #[error("the target is unreachable at start: {0}")]
    Unreachable(String),
    #[error("the authorization server metadata at {url}: {problem}")]
    Metadata { url: String, problem: String },
}

/// A path the target file names, relative to the file.
fn relative_to(file: &str, path: &str) -> std::path::PathBuf {
    std::path::Path::new(file).parent().unwrap_or(std::path::Path::new(".")).join(path)
}

/// `scheme://host:port`, the port made explicit.
fn origin(u: &str) -> Option<String> {
    let u = url::Url::parse(u).ok()?;
    Some(format!("{}://{}:{}", u.scheme(), u.host_str()?, u.port_or_known_default()?))
}

/// The value of the environment variable a key names; its absence is the key's problem.
fn from_env(file: &str, key: &str, var: &str) -> Result<String, TargetFileError> {
    let problem = match std::env::var(var) {
        Ok(v) if !v.is_empty() => return Ok(v),
        Ok(_) => format!("the environment variable {var} is empty"),
        Err(std::env::VarError::NotUnicode(_)) => format!("the environment variable {var} is not valid UTF-8"),
        Err(std::env::VarError::NotPresent) => format!("the environment variable {var} is not set"),
    };
    Err(TargetFileError { file: file.into(), key: key.into(), problem })
}

pub async fn build(file: &str, t: &TargetFile) -> Result<Target, TargetError> {
    let secrets = Secrets::default();
    let mut personas = BTreeMap::new();
    let mut unavailable = BTreeMap::new();
    let agent = t.roles.get("agent").map(String::as_str).unwrap_or("agent");
    for (name, p) in &t.personas {
        let var = p.password_env.as_ref().or(p.refresh_token_env.as_ref());
        // A persona whose variable is not set sits out: the scenarios that need it are not
        // verifiable, naming the variable (a run of a few tags needs only its own personas).
        // The agent is needed by nearly every control, so its variable must be set.
        if let Some(var) = var.filter(|v| std::env::var_os(v).is_none() && name != agent) {
            unavailable.insert(name.clone(), format!("the environment variable {var} is not set"));
            continue;
        }
        let from_env = |key: &str, var: &str| from_env(file, &format!("personas.{name}.{key}"), var);
        // The file has been checked to name exactly one of the two.
        let persona = match (&p.password_env, &p.refresh_token_env) {
            (Some(var), _) => {
                let password = from_env("password_env", var)?;
                secrets.add(&password, "password");
                Persona { username: p.username.clone(), password, refresh: None, security_token: None }
            }
            (None, Some(var)) => {
                let token = from_env("refresh_token_env", var)?;
                secrets.add(&token, "refresh token");
                Persona {
                    username: p.username.clone(),
                    password: String::new(),
                    refresh: Some(RefreshChain::new(token)),
                    security_token: None,
                }
            }
            (None, None) => unreachable!("target_file::parse requires password_env or refresh_token_env"),
        };
        let mut persona = persona;
        if let Some(var) = &p.security_token_env {
            let token = from_env("security_token_env", var)?;
            secrets.add(&token, "security token");
            persona.security_token = Some(token);
        }
        personas.insert(name.clone(), persona);
    }
    let client_secret = |key: &str, var: &Option<String>| -> Result<Option<String>, TargetFileError> {
        let Some(var) = var else { return Ok(None) };
        let secret = from_env(file, key, var)?;
        secrets.add(&secret, "client secret");
        Ok(Some(secret))
    };
    let agent_secret = client_secret("app.client_secret_env", &t.app.client_secret_env)?;
    let other_secret = client_secret("app.other_client_secret_env", &t.app.other_client_secret_env)?;
    let probe_app = match &t.probe_app {
        Some(p) => Some(ProbeApp {
            client_id: p.client_id.clone(),
            redirect_uri: p.callback_url.clone(),
            scopes: p.scopes.clone(),
            client_secret: client_secret("probe_app.client_secret_env", &p.client_secret_env)?,
        }),
        None => None,
    };
    let found = discover(t).await?;
    // The hosts that may see a bearer token: the ones the file names, and the endpoints the
    // metadata states (already refused unless on those hosts).
    let trusted: Vec<String> = [
        &t.endpoints.issuer,
        &t.endpoints.instance_url,
        &found.metadata_url,
        &found.authorize_url,
        &found.token_url,
        &found.revoke_url,
        &found.introspect_url,
    ]
    .into_iter()
    .chain(t.endpoints.mcp_servers.values())
    .chain(t.endpoints.other_mcp_servers.values())
    .filter_map(|u| authority(u))
    .collect();
    let records =
        t.records.iter().map(|(k, r)| (k.clone(), RecordRef { object: r.object.clone(), id: r.id.clone() })).collect();
    let mut target = Target {
        name: t.name.clone(),
        instance_url: t.endpoints.instance_url.trim_end_matches('/').to_string(),
        issuer: t.endpoints.issuer.clone(),
        authorize_url: found.authorize_url,
        token_url: found.token_url,
        revoke_url: found.revoke_url,
        introspect_url: found.introspect_url,
        metadata_url: found.metadata_url,
        flavor: if t.flavor == "salesforce" { Flavor::Salesforce } else { Flavor::OAuth21 },
        api_version: t.endpoints.api_version.clone(),
        client_id: t.app.client_id.clone(),
        app_name: t.app.name.clone().unwrap_or_default(),
        app_usage_id: t.app.external_client_app_id.clone(),
        agent_permission_set: t.app.agent_permission_set.clone(),
        redirect_uri: t.app.callback_url.clone(),
        agent_callbacks: std::iter::once(&t.app.callback_url).chain(&t.app.other_callback_urls).cloned().collect(),
        app_metadata: match &t.app.metadata {
            Some(dir) => {
                Some(crate::app_metadata::read(&relative_to(file, dir)).map_err(|problem| TargetFileError {
                    file: file.into(),
                    key: "app.metadata".into(),
                    problem,
                })?)
            }
            None => None,
        },
        app_ip_policy: t.app.ip_policy.clone().unwrap_or_else(|| "Enforce".into()),
        other_client_id: t.app.other_client_id.clone(),
        client_secret: agent_secret,
        other_client_secret: other_secret,
        probe_app,
        token_audience: match (t.endpoints.token_audience.as_deref(), t.flavor == "salesforce") {
            (Some("per-server"), _) | (None, false) => TokenAudience::PerServer,
            (Some(url), _) => TokenAudience::Platform(url.to_string()),
            (None, true) => TokenAudience::Platform(SALESFORCE_PLATFORM_AUDIENCE.into()),
        },
        max_access_token_minutes: t.limits.max_access_token_minutes,
        code_lifetime: t.limits.code_lifetime_seconds.map(std::time::Duration::from_secs),
        revocation_windows_ms: t.limits.revocation_windows_ms.clone(),
        per_user_requests_per_minute: t.limits.per_user_requests_per_minute,
        clock: None,
        org_now: None,
        event_log_delay_ms: t.limits.event_log_delay_minutes.map(|m| m as i64 * 60_000),
        scopes: t.app.scopes.clone(),
        resources: Vec::new(),
        personas,
        roles: t.roles.iter().map(|(role, p)| (role.clone(), p.clone())).collect(),
        unavailable,
        identity_tool: match (&t.identity_tool, t.flavor.as_str()) {
            (Some(id), _) => Some((id.tool.clone(), id.pointer.clone())),
            // The platform's standard tool on Salesforce's hosted MCP servers.
            (None, "salesforce") => Some(("getUserInfo".into(), "/structuredContent/username".into())),
            (None, _) => None,
        },
        mcp_tools: t.tool_map(),
        mcp_servers: t.endpoints.mcp_servers.clone(),
        other_mcp_servers: t.endpoints.other_mcp_servers.clone(),
        primary_mcp_server: t
            .endpoints
            .primary_mcp_server
            .clone()
            .or_else(|| t.endpoints.mcp_servers.keys().next().cloned()),
        mcp_era: t.endpoints.mcp_protocol.as_deref().and_then(McpEra::parse).unwrap_or(McpEra::Sessions),
        apex_root: t.apex.as_ref().map(|a| relative_to(file, &a.source)),
        tool_classes: t.apex.as_ref().map(|a| a.tools.clone()).unwrap_or_default(),
        records,
        canary_records: t.canary_records.clone(),
        hidden_fields: t
            .hidden_fields
            .iter()
            .map(|h| HiddenField { record: h.record.clone(), field: h.field.clone() })
            .collect(),
        canary_seeds: t
            .canary_seed
            .iter()
            .map(|c| CanarySeed { object: c.object.clone(), fields: c.fields.clone() })
            .collect(),
        declarations: t.declarations.as_ref().map(|d| d.to_steps()),
        canary_marker: "CANARY-".into(),
        catalog_pin: None,
        secrets,
        limits: Limits {
            request_timeout: std::time::Duration::from_secs(t.limits.request_timeout_seconds),
            scenario_budget: std::time::Duration::from_secs(t.limits.scenario_seconds),
            trusted,
        },
    };
    if t.app.resource_indicators {
        target.resources = target.used_resources();
    }
    Ok(target)
}

/// The authorization server's endpoints, as its metadata states them.
#[derive(Debug, Clone)]
pub struct Endpoints {
    pub metadata_url: String,
    pub authorize_url: String,
    pub token_url: String,
    /// Empty where the metadata names none.
    pub revoke_url: String,
    pub introspect_url: String,
}

/// Reads the authorization server's metadata. Only hosts the target file names are trusted with
/// credentials, so an endpoint elsewhere is refused.
pub async fn discover(t: &TargetFile) -> Result<Endpoints, TargetError> {
    let metadata_url = t.endpoints.metadata_url.clone().unwrap_or_else(|| {
        format!("{}/.well-known/oauth-authorization-server", t.endpoints.issuer.trim_end_matches('/'))
    });
    // The file's own limit on one exchange, and the probe's cap on a body: a target that
    // answers slowly or without end is cut off, here as everywhere.
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(std::time::Duration::from_secs(t.limits.request_timeout_seconds))
        .build()
        .map_err(|e| TargetError::Unreachable(e.to_string()))?;
    let unreachable = |e: reqwest::Error| {
        TargetError::Unreachable(format!(
            "{metadata_url}: {}",
            if e.is_timeout() { "timed out" } else { "no connection" }
        ))
    };
    let mut resp = client.get(&metadata_url).send().await.map_err(unreachable)?;
    let status = resp.status().as_u16();
    let mut body = Vec::new();
    while let Some(chunk) = resp.chunk().await.map_err(unreachable)? {
        body.extend_from_slice(&chunk);
        if body.len() > steps::probe::BODY_CAP {
            return Err(TargetError::Metadata {
                url: metadata_url.clone(),
                problem: format!("{status}, a body over {} bytes", steps::probe::BODY_CAP),
            });
        }
    }
    let doc: serde_json::Value = serde_json::from_slice(&body).map_err(|_| TargetError::Metadata {
        url: metadata_url.clone(),
        problem: format!("{status}, not a JSON document"),
    })?;
    // Trusted by origin (scheme, host and port), not host alone: another port of the same host
    // is another server, and an `http` endpoint under an `https` issuer sends the code and the
    // verifier in clear text.
    let trusted: Vec<String> =
        [&t.endpoints.issuer, &t.endpoints.instance_url].iter().filter_map(|u| origin(u)).collect();
    let endpoint = |key: &str, required: bool| -> Result<String, TargetError> {
        match doc.get(key).and_then(|v| v.as_str()) {
            Some(u) if origin(u).is_some_and(|o| trusted.contains(&o)) => Ok(u.to_string()),
            Some(u) => Err(TargetError::Metadata {
                url: metadata_url.clone(),
                problem: format!(
                    "{key} points at {u}, an origin (scheme, host and port) the target file does not name"
                ),
            }),
            None if required => {
                Err(TargetError::Metadata { url: metadata_url.clone(), problem: format!("{key} is missing") })
            }
            None => Ok(String::new()),
        }
    };
    Ok(Endpoints {
        authorize_url: endpoint("authorization_endpoint", true)?,
        token_url: endpoint("token_endpoint", true)?,
        revoke_url: endpoint("revocation_endpoint", false)?,
        introspect_url: endpoint("introspection_endpoint", false)?,
        metadata_url,
    })
}
