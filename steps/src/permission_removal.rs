//! HG-REV-08: a permission set taken away. The admin removes a persona's assignment of the set
//! the target names (`app.agent_permission_set`, the set that gives the agent its objects), and
//! the persona's read of a record that set opens is sampled on the MCP server and on REST until
//! refused; the assignment is put back afterwards, also when a step fails. Before the removal the
//! same reads must succeed: a refusal proves a loss of access only where there was access.

use crate::revocation::{SAMPLES, Window, since};
use crate::world::{Cleanup, GateWorld, StepError, expect, query_path, rpc, soql_string};
use reqwest::Method;
use serde_json::{Value, json};

const ASSIGNMENT: &str = "PermissionSetAssignment";

/// One read of the record as the persona on each surface: the primary MCP server's record tool
/// and REST's record resource. `Some(true)`: the record came back; `Some(false)`: refused or
/// answered without it; `None`: an answer that decides nothing.
async fn read_once(w: &mut GateWorld, persona: &str, alias: &str) -> Result<(Option<bool>, Option<bool>), StepError> {
    let record = w.record(alias)?;
    let args = json!({"objectName": record.object, "recordId": record.id});
    w.mcp_request(persona, "primary", "tools/call", json!({"name": "getRecord", "arguments": args})).await?;
    let r = w.last()?;
    let result = rpc(r).get("result").cloned();
    let shown = result.as_ref().is_some_and(|v| carries_id(v, &record.id));
    let mcp = crate::decisions::mcp_decision(r.status, result.as_ref()).map(|allowed| allowed && shown);
    w.rest(persona, Method::GET, &format!("/sobjects/{}/{}", record.object, record.id), None).await?;
    let rest = match w.last()?.status {
        200 => Some(true),
        401 | 403 | 404 => Some(false),
        _ => None,
    };
    Ok((mcp, rest))
}

/// Whether an answer names the record (a 15-character id is the 18's first 15).
fn carries_id(v: &Value, id: &str) -> bool {
    let short = id.get(..15).unwrap_or(id);
    v.to_string().contains(short)
}

/// Samples the persona's read until each surface has decided: `refused` for the loss of access
/// after a removal, otherwise its return after the set is assigned again.
pub async fn sample(w: &mut GateWorld, persona: &str, alias: &str) -> Result<(Window, Window), StepError> {
    let start = std::time::Instant::now();
    let mut mcp = Window { surface: "MCP".into(), ..Window::default() };
    let mut rest = Window { surface: "REST".into(), ..Window::default() };
    for _ in 0..SAMPLES {
        let (m, r) = read_once(w, persona, alias).await?;
        let ms = since(start);
        mcp.decide(m, ms);
        rest.decide(r, ms);
    }
    Ok((mcp, rest))
}

/// The set the target names, once the removal can be made and shown: an admin persona to make it
/// and the record to read.
fn permission_set(w: &GateWorld, alias: &str) -> Result<String, StepError> {
    let name = w.target.agent_permission_set.clone().ok_or_else(|| {
        StepError::NotVerifiable(
            "the target names no app.agent_permission_set (the permission set that gives the agent its objects)".into(),
        )
    })?;
    if !w.target.personas.contains_key("admin") {
        return Err(StepError::NotVerifiable(format!("no admin persona to remove {name} (add personas.admin)")));
    }
    if !w.target.records.contains_key(alias) {
        return Err(StepError::NotVerifiable(format!("the target file names no record '{alias}' ([records])")));
    }
    Ok(name)
}

/// After the removal, when the persona still reads the record: whether the org itself says it may
/// (Salesforce's UserRecordAccess, asked as the admin). `Some(true)`: another grant than the
/// removed set still opens the record, so its removal takes nothing away and proves nothing.
pub async fn org_still_grants(w: &mut GateWorld, persona: &str, alias: &str) -> Result<Option<bool>, StepError> {
    let record = w.record(alias)?;
    let user = w.admin_user_id(persona).await?;
    let soql = format!(
        "SELECT RecordId, HasReadAccess FROM UserRecordAccess WHERE UserId = '{user}' AND RecordId = '{}'",
        record.id
    );
    w.rest("admin", Method::GET, &query_path(&soql), None).await?;
    let r = w.last()?;
    Ok(r.json().filter(|_| r.status == 200).and_then(|v| v["records"][0]["HasReadAccess"].as_bool()))
}

/// Before the removal: the persona reads the record on both surfaces, or nothing can be shown.
pub async fn reads_before(w: &mut GateWorld, persona: &str, alias: &str) -> Result<(), StepError> {
    permission_set(w, alias)?;
    let (mcp, rest) = read_once(w, persona, alias).await?;
    if mcp == Some(true) && rest == Some(true) {
        return Ok(());
    }
    Err(StepError::NotVerifiable(format!(
        "{persona} does not read the record '{alias}' before the removal (MCP getRecord: {}, REST: {}), so a refusal after it would prove nothing",
        shown(mcp),
        shown(rest)
    )))
}

fn shown(d: Option<bool>) -> &'static str {
    match d {
        Some(true) => "read",
        Some(false) => "refused",
        None => "no decision",
    }
}

/// The id of the first row a query returns as the admin; a refused query is not verifiable (the
/// admin persona lacks the right to read setup objects), none found is `missing`.
async fn admin_first_id(w: &mut GateWorld, soql: &str, missing: String) -> Result<String, StepError> {
    w.rest("admin", Method::GET, &query_path(soql), None).await?;
    let r = w.last()?;
    if r.status != 200 {
        let code = r.json().as_ref().and_then(crate::world::error_code).unwrap_or_default();
        return Err(StepError::NotVerifiable(format!(
            "the admin persona's query was refused ({} {code}): it needs View Setup and Configuration",
            r.status
        )));
    }
    let id = r.json().and_then(|v| v["records"][0]["Id"].as_str().map(str::to_string));
    id.ok_or(StepError::NotVerifiable(missing))
}

/// Removes the persona's assignment of the target's permission set as the admin, queuing the
/// assignment's re-creation first.
pub async fn remove(w: &mut GateWorld, persona: &str) -> Result<(), StepError> {
    let name = w
        .target
        .agent_permission_set
        .clone()
        .ok_or_else(|| StepError::NotVerifiable("the target names no app.agent_permission_set".into()))?;
    let soql = format!("SELECT Id FROM PermissionSet WHERE Name = {}", soql_string(&name));
    let set = admin_first_id(w, &soql, format!("the admin finds no permission set named {name}")).await?;
    let user = w.admin_user_id(persona).await?;
    let soql =
        format!("SELECT Id FROM PermissionSetAssignment WHERE AssigneeId = '{user}' AND PermissionSetId = '{set}'");
    let missing = format!("{persona} is not assigned {name}, so removing it proves nothing");
    let assignment = admin_first_id(w, &soql, missing).await?;
    w.queue_undo(Cleanup::AdminCreate {
        object: ASSIGNMENT.into(),
        body: json!({"AssigneeId": user, "PermissionSetId": set}),
    });
    let path = format!("/sobjects/{ASSIGNMENT}/{assignment}");
    w.rest("admin", Method::DELETE, &path, None).await?;
    let r = w.last()?;
    let (status, code) = (r.status, r.json().as_ref().and_then(crate::world::error_code).unwrap_or_default());
    if matches!(status, 400 | 403) {
        w.withdraw_last_undo();
        return Err(StepError::NotVerifiable(format!(
            "the admin persona may not remove {persona}'s assignment of {name} ({status} {code}): it needs Assign Permission Sets"
        )));
    }
    w.probe.evidence.push(format!("removed {persona}'s assignment of the permission set {name}"));
    expect(status == 204, "the admin's removal accepted (204)", || status.to_string())
}

/// Puts the assignment back now (the queued undo, run early and withdrawn).
pub async fn reassign(w: &mut GateWorld) -> Result<(), StepError> {
    let Some(Cleanup::AdminCreate { object, body }) = w.newest_undo().cloned() else {
        return Err(StepError::Expectation {
            expected: "a removed assignment to put back".into(),
            observed: "none".into(),
        });
    };
    w.rest("admin", Method::POST, &format!("/sobjects/{object}"), Some(body)).await?;
    let status = w.last()?.status;
    expect(status == 201, "the admin's assignment accepted (201)", || status.to_string())?;
    w.withdraw_last_undo();
    Ok(())
}
