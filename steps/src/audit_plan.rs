//! The audit plan: the REST and tool calls the audit scenarios (HG-AUD-01..04) made, written into
//! the reports so `headless-gate audit reconcile` can later find each in the org's event log
//! files. A real org's `ApiTotalUsage` log names its own request ids and appears hours late, so the
//! plan keeps what the log can be matched on: when, as whom, through which app, what entity, how
//! it ended. Secrets are kept as SHA-256 fingerprints only (never passwords: a low-entropy value's
//! hash can be guessed), so the reconciler can tell a logged credential without holding one.

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// One call the org's event log must show.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct PlannedCall {
    /// The control whose scenario made it (`HG-AUD-01`).
    pub control: String,
    /// When it was sent, in milliseconds since the epoch.
    pub at_ms: i64,
    /// The user it was made as.
    pub username: String,
    /// `REST` or `MCP`.
    pub api: String,
    pub http_method: String,
    /// The MCP server's name and the tool, for a tool call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub server: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool: Option<String>,
    /// The request's path (a REST call's, which the log's `URI` names).
    #[serde(default)]
    pub uri: String,
    /// The object it touched, where the gate can tell.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub entity: Option<String>,
    /// The app whose token it carried, by name, where the target names it (the agent's app).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub app: Option<String>,
    /// The HTTP status the caller got (a tool's refusal comes in a 200).
    pub status: u16,
    /// Refused, and with what code, as the caller saw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// The `X-Request-Id` it carried (a real org's log does not name it; for people reading).
    pub request_id: String,
}

impl PlannedCall {
    pub fn denied(&self) -> bool {
        self.refusal.is_some()
    }
}

/// The controls the reconciler judges. The plan keeps every scenario's calls: each consumes its
/// own row of the log, so no other scenario's row stands in for an audit scenario's call.
pub const PLANNED_CONTROLS: &[&str] = &["HG-AUD-01", "HG-AUD-02", "HG-AUD-03", "HG-AUD-04"];

/// The calls a scenario of `control` made as its personas (not the admin's lookups), as the event
/// log must show them.
pub fn planned(control: &str, w: &crate::world::GateWorld) -> Vec<PlannedCall> {
    w.sent
        .iter()
        .filter(|s| s.what == "REST" || s.what == "tools/call")
        .filter_map(|s| {
            let persona = s.persona.as_deref().filter(|p| *p != "admin")?;
            Some(PlannedCall {
                control: control.to_string(),
                at_ms: s.at_ms,
                username: w.target.persona_for(persona)?.username.clone(),
                api: if s.what == "REST" { "REST" } else { "MCP" }.into(),
                http_method: s.http_method.clone(),
                server: s.server.clone(),
                tool: s.tool.clone(),
                entity: s.entity.clone(),
                uri: s.uri.clone(),
                app: (!s.probe_app).then(|| w.target.app_name.clone()),
                status: s.status,
                refusal: s.refusal.clone(),
                request_id: s.id.clone(),
            })
        })
        .collect()
}

/// The plan a run writes as `audit-plan.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditPlan {
    pub run_id: String,
    pub target: String,
    pub started: String,
    pub finished: String,
    pub calls: Vec<PlannedCall>,
    /// SHA-256 (hex) of every token, code, verifier and client secret the run saw.
    pub secret_fingerprints: Vec<String>,
}

/// Kinds of secret whose fingerprint is kept: high-entropy values only.
const FINGERPRINTED: &[&str] = &[
    "access token",
    "refresh token",
    "authorization code",
    "code verifier",
    "client secret",
    "MCP session id",
    "session cookie",
    "security token",
];

pub fn fingerprint(secret: &str) -> String {
    Sha256::digest(secret.as_bytes()).iter().map(|b| format!("{b:02x}")).collect()
}

/// The fingerprints of the run's secrets worth keeping.
pub fn fingerprints(secrets: &crate::evidence::Secrets) -> Vec<String> {
    let mut out: Vec<String> = secrets
        .with_kinds()
        .into_iter()
        .filter(|(_, kind)| FINGERPRINTED.contains(kind))
        .map(|(s, _)| fingerprint(&s))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// The object a request touched, from its REST path or the SOQL it carries: `/sobjects/Case/…`,
/// `… FROM Case …`, or a tool argument naming an object.
pub fn entity_of(text: &str) -> Option<String> {
    let re = regex::Regex::new(r"(?:/sobjects/|\bFROM[\s+]+|(?i:object\w*)\W+)([A-Za-z][A-Za-z0-9_]*)").ok()?;
    re.captures(text).map(|c| c[1].to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_entity_comes_from_the_path_the_query_or_an_object_argument() {
        assert_eq!(entity_of("/sobjects/Case/500000000000001").as_deref(), Some("Case"));
        assert_eq!(entity_of("/query?q=SELECT+Id+FROM+Opportunity").as_deref(), Some("Opportunity"));
        assert_eq!(entity_of("SELECT Id, Name FROM Opportunity").as_deref(), Some("Opportunity"));
        assert_eq!(entity_of(r#"{"objectName":"Account","recordId":"001"}"#).as_deref(), Some("Account"));
        assert_eq!(entity_of(r#"{"sobject":"Account"}"#).as_deref(), Some("Account"), "any argument naming an object");
        assert_eq!(entity_of("{}"), None);
    }

    #[test]
    fn fingerprints_are_sha256_hex() {
        assert_eq!(fingerprint("abc"), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    }
}
