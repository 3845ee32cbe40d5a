//! The allow/deny decisions a run observed: persona × surface × what (an object, record, field or
//! tool), each as the target answered it, whatever the row expected. The drift baseline compares
//! them between runs: a deny that became an allow fails the gate.
//!
//! A request as a persona is remembered as `Asked` (record ids written back as the target file's
//! aliases, so the same decision has the same name on every run); the step that judges the answer
//! records what it observed about it: the call itself, or one record, field or tool within it.

use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;

use crate::target::RecordRef;

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Decision {
    pub persona: String,
    /// `REST` or `MCP <server>`.
    pub surface: String,
    /// `GET /sobjects/Case/@restricted_case`, `tools/call getCase {"caseId":"@restricted_case"}`,
    /// with `: record @alias`, `: field Salary__c` or `: tool deleteCase` when about one part.
    pub what: String,
    pub allowed: bool,
}

impl Decision {
    /// The name a decision is compared by across runs.
    pub fn key(&self) -> String {
        format!("{} | {} | {}", self.persona, self.surface, self.what)
    }

    pub fn verb(&self) -> &'static str {
        if self.allowed { "allow" } else { "deny" }
    }
}

/// The last request sent as a persona, as decisions name it.
#[derive(Debug, Clone)]
pub struct Asked {
    pub persona: String,
    pub surface: String,
    pub what: String,
}

impl Asked {
    /// The decision observed about the request (`about: None`) or one part of its answer.
    pub fn decided(&self, allowed: bool, about: Option<&str>) -> Decision {
        let what = match about {
            Some(a) => format!("{}: {a}", self.what),
            None => self.what.clone(),
        };
        Decision { persona: self.persona.clone(), surface: self.surface.clone(), what, allowed }
    }
}

/// Record ids in a text written back as `@alias`.
fn aliased(text: &str, records: &BTreeMap<String, RecordRef>) -> String {
    let mut out = text.to_string();
    for (alias, r) in records {
        if !r.id.is_empty() {
            out = out.replace(&r.id, &format!("@{alias}"));
        }
    }
    out
}

/// A REST request as decisions name it; a query is named by its SOQL, decoded.
pub fn rest(
    persona: &str,
    method: &str,
    path: &str,
    body: Option<&Value>,
    records: &BTreeMap<String, RecordRef>,
) -> Asked {
    // A write is named by the fields it writes too: a field refused and one allowed are two
    // decisions, never merged into one.
    let fields = body.and_then(Value::as_object).map(|o| {
        let mut keys: Vec<&String> = o.keys().collect();
        keys.sort();
        format!(" {{{}}}", keys.iter().map(|k| k.as_str()).collect::<Vec<_>>().join(", "))
    });
    let what = match path.strip_prefix("/query?") {
        Some(q) => {
            let soql = url::form_urlencoded::parse(q.as_bytes()).find(|(k, _)| k == "q").map(|(_, v)| v.into_owned());
            format!("{method} /query {}", soql.unwrap_or_default())
        }
        None => format!("{method} {path}{}", fields.unwrap_or_default()),
    };
    Asked { persona: persona.into(), surface: "REST".into(), what: aliased(&what, records) }
}

pub fn mcp(persona: &str, server: &str, method: &str, params: &Value, records: &BTreeMap<String, RecordRef>) -> Asked {
    let what = match method {
        "tools/call" => format!("tools/call {} {}", params["name"].as_str().unwrap_or_default(), params["arguments"]),
        "tools/list" => "tools/list".to_string(),
        other => format!("{other} {params}"),
    };
    Asked { persona: persona.into(), surface: format!("MCP {server}"), what: aliased(&what, records) }
}

/// The decision a REST answer is: a 2xx lets the caller through; 400, 401, 403 and 404 refuse it;
/// anything else (a 5xx, a 429) is no decision about access and is not recorded.
pub fn rest_decision(status: u16) -> Option<bool> {
    match status {
        200..=299 => Some(true),
        400 | 401 | 403 | 404 => Some(false),
        _ => None,
    }
}

/// The decision an MCP answer is: a tool result lets the caller through unless it is an error;
/// a 401 or 403 refuses; a JSON-RPC error or a server failure is no decision.
pub fn mcp_decision(status: u16, result: Option<&Value>) -> Option<bool> {
    match (result, status) {
        (Some(r), _) => Some(r.get("isError") != Some(&Value::Bool(true))),
        (None, 401 | 403) => Some(false),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_become_aliases_so_a_decision_keeps_its_name_across_runs() {
        let records = BTreeMap::from([(
            "restricted_case".to_string(),
            RecordRef { object: "Case".into(), id: "500000000000003".into() },
        )]);
        let a = mcp(
            "restricted",
            "sobject-reads",
            "tools/call",
            &serde_json::json!({"name": "getCase", "arguments": {"caseId": "500000000000003"}}),
            &records,
        );
        let d = a.decided(false, Some("field Subject"));
        assert_eq!(
            d.key(),
            "restricted | MCP sobject-reads | tools/call getCase {\"caseId\":\"@restricted_case\"}: field Subject"
        );
        let r = rest("agent", "GET", "/sobjects/Case/500000000000003", None, &records);
        assert_eq!(r.decided(true, None).what, "GET /sobjects/Case/@restricted_case");
        let q = rest("agent", "GET", "/query?q=SELECT+Id%2C+Subject+FROM+Case", None, &records);
        assert_eq!(q.what, "GET /query SELECT Id, Subject FROM Case");
        let body = serde_json::json!({"Phone": "1", "PaymentMethod__c": "x"});
        let w = rest("agent", "PATCH", "/sobjects/Account/500000000000003", Some(&body), &records);
        assert_eq!(w.what, "PATCH /sobjects/Account/@restricted_case {PaymentMethod__c, Phone}");
        assert_eq!((rest_decision(503), rest_decision(404), rest_decision(201)), (None, Some(false), Some(true)));
        assert_eq!(mcp_decision(200, None), None);
        assert_eq!(mcp_decision(200, Some(&serde_json::json!({"isError": true}))), Some(false));
    }
}
