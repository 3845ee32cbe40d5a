//! The tool map: which MCP tool does what, under which argument names. The PERM rows through MCP
//! say what they do ("queries", "reads the record", "updates the record"), and the map turns that
//! into the target's own tool and arguments, so a deployment whose tools are named otherwise is
//! judged by the same rows. Defaults are Salesforce's hosted SObject tools (`soqlQuery` takes
//! `q`); the platform has no tool that reads one record by id, so `read` has no default.

use serde_json::{Map, Value, json};
use std::collections::BTreeMap;

/// What a mapped tool does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum ToolRole {
    /// Runs a SOQL query (`query`).
    Query,
    /// Describes an object (`object`).
    Describe,
    /// Reads one record by id (`object`, `id`).
    Read,
    /// Lists an object's recent records (`object`).
    ListRecent,
    /// Creates a record (`object`, `fields`).
    Create,
    /// Updates a record (`object`, `id`, `fields`).
    Update,
    /// Deletes a record (`object`, `id`).
    Delete,
    /// A custom tool that acts on one record by its id (`id`), on its own server.
    RecordAction,
}

impl ToolRole {
    pub const ALL: &[ToolRole] = &[
        ToolRole::Query,
        ToolRole::Describe,
        ToolRole::Read,
        ToolRole::ListRecent,
        ToolRole::Create,
        ToolRole::Update,
        ToolRole::Delete,
        ToolRole::RecordAction,
    ];

    /// The role's key in the target file's `[mcp_tools]`.
    pub fn key(self) -> &'static str {
        match self {
            ToolRole::Query => "query",
            ToolRole::Describe => "describe",
            ToolRole::Read => "read",
            ToolRole::ListRecent => "list_recent",
            ToolRole::Create => "create",
            ToolRole::Update => "update",
            ToolRole::Delete => "delete",
            ToolRole::RecordAction => "record_action",
        }
    }

    pub fn from_key(key: &str) -> Option<ToolRole> {
        ToolRole::ALL.iter().copied().find(|r| r.key() == key)
    }

    /// The values a call of this role fills in.
    pub fn slots(self) -> &'static [&'static str] {
        match self {
            ToolRole::Query => &["query"],
            ToolRole::Describe | ToolRole::ListRecent => &["object"],
            ToolRole::Read | ToolRole::Delete => &["object", "id"],
            ToolRole::Create => &["object", "fields"],
            ToolRole::Update => &["object", "id", "fields"],
            ToolRole::RecordAction => &["id"],
        }
    }
}

/// One mapped tool: its name, the server it is called on (`None`: the step names the server),
/// and slot -> argument name.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolBinding {
    pub tool: String,
    pub server: Option<String>,
    pub arguments: BTreeMap<String, String>,
}

/// The target's tool map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ToolMap {
    pub bindings: BTreeMap<ToolRole, ToolBinding>,
}

fn binding(tool: &str, arguments: &[(&str, &str)]) -> ToolBinding {
    ToolBinding {
        tool: tool.into(),
        server: None,
        arguments: arguments.iter().map(|(s, a)| (s.to_string(), a.to_string())).collect(),
    }
}

impl Default for ToolMap {
    /// Salesforce's hosted SObject tools (`platform/sobject-*`).
    fn default() -> ToolMap {
        let object = ("object", "objectName");
        let id = ("id", "recordId");
        let fields = ("fields", "fields");
        let bindings = [
            (ToolRole::Query, binding("soqlQuery", &[("query", "q")])),
            (ToolRole::Describe, binding("getObjectSchema", &[object])),
            (ToolRole::ListRecent, binding("listRecentSobjectRecords", &[object])),
            (ToolRole::Create, binding("createSobjectRecord", &[object, fields])),
            (ToolRole::Update, binding("updateSobjectRecord", &[object, id, fields])),
            (ToolRole::Delete, binding("deleteSobjectRecord", &[object, id])),
        ];
        ToolMap { bindings: bindings.into_iter().collect() }
    }
}

/// A call the map resolved: the tool, its server where the map names one, and its arguments.
#[derive(Debug, Clone, PartialEq)]
pub struct MappedCall {
    pub tool: String,
    pub server: Option<String>,
    pub arguments: Value,
}

impl ToolMap {
    /// Overrides one role; slots the override leaves out keep the default's argument names.
    pub fn set(&mut self, role: ToolRole, tool: String, server: Option<String>, arguments: BTreeMap<String, String>) {
        let mut merged = self.bindings.get(&role).map(|b| b.arguments.clone()).unwrap_or_default();
        merged.extend(arguments);
        self.bindings.insert(role, ToolBinding { tool, server, arguments: merged });
    }

    /// The call for a role with its slot values, or why it cannot be made (the key to set).
    pub fn call(&self, role: ToolRole, values: &[(&str, Value)]) -> Result<MappedCall, String> {
        let b = self.bindings.get(&role).ok_or_else(|| {
            format!("the target maps no MCP tool that {} (set mcp_tools.{})", role_phrase(role), role.key())
        })?;
        let mut args = Map::new();
        for (slot, value) in values {
            let name = b.arguments.get(*slot).ok_or_else(|| {
                format!("mcp_tools.{} names no argument for '{slot}' (set arguments.{slot})", role.key())
            })?;
            args.insert(name.clone(), value.clone());
        }
        Ok(MappedCall { tool: b.tool.clone(), server: b.server.clone(), arguments: json!(args) })
    }

    /// The tool a role maps to, if any.
    pub fn tool(&self, role: ToolRole) -> Option<&str> {
        self.bindings.get(&role).map(|b| b.tool.as_str())
    }
}

fn role_phrase(role: ToolRole) -> &'static str {
    match role {
        ToolRole::Query => "runs a SOQL query",
        ToolRole::Describe => "describes an object",
        ToolRole::Read => "reads one record by id",
        ToolRole::ListRecent => "lists an object's recent records",
        ToolRole::Create => "creates a record",
        ToolRole::Update => "updates a record",
        ToolRole::Delete => "deletes a record",
        ToolRole::RecordAction => "acts on one record by its id",
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_defaults_are_the_platforms_tools_and_soql_goes_in_q() {
        let m = ToolMap::default();
        let c = m.call(ToolRole::Query, &[("query", json!("SELECT Id FROM Case"))]).unwrap();
        assert_eq!(c.tool, "soqlQuery");
        assert_eq!(c.arguments, json!({"q": "SELECT Id FROM Case"}));
        let u = m.call(ToolRole::Update, &[("object", json!("Case")), ("id", json!("500")), ("fields", json!({}))]);
        assert_eq!(u.unwrap().arguments, json!({"objectName": "Case", "recordId": "500", "fields": {}}));
    }

    #[test]
    fn an_unmapped_role_names_the_key_to_set() {
        let m = ToolMap::default();
        let e = m.call(ToolRole::Read, &[("object", json!("Case"))]).unwrap_err();
        assert!(e.contains("mcp_tools.read"), "{e}");
        let e = m.call(ToolRole::RecordAction, &[("id", json!("500"))]).unwrap_err();
        assert!(e.contains("mcp_tools.record_action"), "{e}");
    }

    #[test]
    fn an_override_keeps_the_default_argument_names_it_does_not_give() {
        let mut m = ToolMap::default();
        m.set(ToolRole::Update, "patch_record".into(), None, [("id".to_string(), "id".to_string())].into());
        let c = m
            .call(ToolRole::Update, &[("object", json!("Case")), ("id", json!("500")), ("fields", json!({"a": 1}))])
            .unwrap();
        assert_eq!(c.tool, "patch_record");
        assert_eq!(c.arguments, json!({"objectName": "Case", "id": "500", "fields": {"a": 1}}));
        // A role with no default takes only what it is given: a slot it lacks is named.
        m.set(ToolRole::RecordAction, "summarize".into(), Some("custom".into()), BTreeMap::new());
        let e = m.call(ToolRole::RecordAction, &[("id", json!("500"))]).unwrap_err();
        assert!(e.contains("arguments.id"), "{e}");
    }
}
