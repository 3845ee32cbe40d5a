//! The PERM rows through MCP say what a call does ("queries", "reads the record", "updates the
//! record"); the target's tool map (`mcp_tools`) names the tool and its arguments, so a deployment
//! whose tools go by other names is judged by the same rows.

use crate::mcp_tools::ToolRole;
use crate::world::{GateWorld, StepError};
use cucumber::when;
use serde_json::{Value, json};

/// Calls the tool mapped to `role` as `persona`, on the role's own server or else `server`. A
/// target without a record-read tool (the platform has none) skips the read and says so: the
/// query and list rows stand for it. Any other unmapped role is not verifiable, naming the key.
pub(crate) async fn call_role(
    w: &mut GateWorld,
    persona: &str,
    server: Option<&str>,
    role: ToolRole,
    values: &[(&str, Value)],
) -> Result<(), StepError> {
    let call = match w.target.mcp_tools.call(role, values) {
        Ok(call) => call,
        Err(why) if role == ToolRole::Read && w.target.mcp_tools.tool(role).is_none() => {
            let note = format!("record read through MCP not run: {why}; the query and list calls stand for it");
            w.probe.evidence.push(note.clone());
            w.skipped_call = Some(note);
            // Nothing answered: a later check must not read the previous call's answer as this one's.
            w.last = None;
            return Ok(());
        }
        Err(why) => return Err(StepError::NotVerifiable(why)),
    };
    let server = call.server.as_deref().or(server).ok_or_else(|| {
        StepError::NotVerifiable(format!("mcp_tools.{} names no server to call {} on", role.key(), call.tool))
    })?;
    let server = server.to_string();
    w.mcp_request(persona, &server, "tools/call", json!({"name": call.tool, "arguments": call.arguments})).await
}

fn parse_fields(fields: &str) -> Result<Value, StepError> {
    serde_json::from_str(fields).map_err(|e| StepError::Expectation {
        expected: "JSON field values in the scenario".into(),
        observed: e.to_string(),
    })
}

#[when(expr = "{word} queries {string} through the {word} MCP server")]
async fn query(w: &mut GateWorld, persona: String, soql: String, server: String) -> Result<(), StepError> {
    call_role(w, &persona, Some(&server), ToolRole::Query, &[("query", json!(soql))]).await
}

#[when(expr = "{word} describes {word} through the {word} MCP server")]
async fn describe(w: &mut GateWorld, persona: String, object: String, server: String) -> Result<(), StepError> {
    call_role(w, &persona, Some(&server), ToolRole::Describe, &[("object", json!(object))]).await
}

#[when(expr = "{word} reads the {word} record {string} through the {word} MCP server")]
async fn read(
    w: &mut GateWorld,
    persona: String,
    object: String,
    alias: String,
    server: String,
) -> Result<(), StepError> {
    on_record(w, &persona, &server, ToolRole::Read, &object, &alias).await
}

/// A call of `role` on one record: the object and the record's id.
async fn on_record(
    w: &mut GateWorld,
    persona: &str,
    server: &str,
    role: ToolRole,
    object: &str,
    alias: &str,
) -> Result<(), StepError> {
    let id = w.record(alias)?.id;
    call_role(w, persona, Some(server), role, &[("object", json!(object)), ("id", json!(id))]).await
}

#[when(expr = "{word} lists the recent {word} records through the {word} MCP server")]
async fn list_recent(w: &mut GateWorld, persona: String, object: String, server: String) -> Result<(), StepError> {
    call_role(w, &persona, Some(&server), ToolRole::ListRecent, &[("object", json!(object))]).await
}

#[when(expr = "{word} creates a {word} with {string} through the {word} MCP server")]
async fn create(
    w: &mut GateWorld,
    persona: String,
    object: String,
    fields: String,
    server: String,
) -> Result<(), StepError> {
    let fields = parse_fields(&fields)?;
    call_role(w, &persona, Some(&server), ToolRole::Create, &[("object", json!(object)), ("fields", fields)]).await
}

#[when(expr = "{word} updates the {word} record {string} with {string} through the {word} MCP server")]
async fn update(
    w: &mut GateWorld,
    persona: String,
    object: String,
    alias: String,
    fields: String,
    server: String,
) -> Result<(), StepError> {
    let (id, fields) = (w.record(&alias)?.id, parse_fields(&fields)?);
    let values = [("object", json!(object)), ("id", json!(id)), ("fields", fields)];
    call_role(w, &persona, Some(&server), ToolRole::Update, &values).await
}

#[when(expr = "{word} deletes the {word} record {string} through the {word} MCP server")]
async fn delete(
    w: &mut GateWorld,
    persona: String,
    object: String,
    alias: String,
    server: String,
) -> Result<(), StepError> {
    on_record(w, &persona, &server, ToolRole::Delete, &object, &alias).await
}

#[when(expr = "{word} runs the record action on the record {string}")]
async fn record_action(w: &mut GateWorld, persona: String, alias: String) -> Result<(), StepError> {
    let id = w.record(&alias)?.id;
    call_role(w, &persona, None, ToolRole::RecordAction, &[("id", json!(id))]).await
}
