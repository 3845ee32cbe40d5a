//! HG-REV-08: a permission set taken away. The admin removes a persona's assignment of the set
//! the target names (`app.agent_permission_set`, the set that gives the agent its objects), and
//! the persona's read of a record that set opens is sampled on the MCP server and on REST until
//! refused; the assignment is put back afterwards, also when a step fails. Before the removal the
//! same reads must succeed: a refusal proves a loss of access only where there was access.

use crate::revocation::{SAMPLES, Window, since};
use crate::world::{Cleanup, GateWorld, StepError, expect, query_path, rpc, soql_string};
use reqwest::Method;
use serde_json::{Value, json};

/// The record tool of Salesforce's hosted SObject servers, as the mock serves it.
const RECORD_TOOL: &str = "getRecord";
const ASSIGNMENT: &str = "PermissionSetAssignment";

/// The codes a read of a record the user may no longer reach is refused with: the object gone
/// (`NOT_FOUND`, `INVALID_TYPE`), the record out of reach (`INSUFFICIENT_ACCESS*`), the token
/// itself ended (`INVALID_SESSION_ID`). Anything else (a limit, a server error) decides nothing.
pub fn access_refusal(code: &str) -> bool {
    matches!(code, "NOT_FOUND" | "INVALID_TYPE" | "INVALID_SESSION_ID") || code.starts_with("INSUFFICIENT_ACCESS")
}

/// One read through the primary MCP server's record tool. `Some(true)`: a successful result that
/// names the record; `Some(false)`: a JSON-RPC error, a 401/403, a tool error with an access
/// refusal's code, or a success without the record; `None`: an answer that decides nothing.
async fn read_mcp(w: &mut GateWorld, persona: &str, alias: &str) -> Result<Option<bool>, StepError> {
    let record = w.record(alias)?;
    let args = json!({"objectName": record.object, "recordId": record.id});
    w.mcp_request(persona, "primary", "tools/call", json!({"name": RECORD_TOOL, "arguments": args})).await?;
    let r = w.last()?;
    let message = rpc(r);
    Ok(match (message.get("result"), message.get("error"), r.status) {
        (Some(result), _, 200) => match crate::world::tool_error_code(result) {
            Some(code) => access_refusal(&code).then_some(false),
            None => Some(carries_id(result, &record.id)),
        },
        (None, Some(_), 200 | 400 | 404) | (_, _, 401 | 403) => Some(false),
        _ => None,
    })
}

/// One read of the record's REST resource: 200 is a read; a refusal counts with its code.
async fn read_rest(w: &mut GateWorld, persona: &str, alias: &str) -> Result<Option<bool>, StepError> {
    let record = w.record(alias)?;
    w.rest(persona, Method::GET, &format!("/sobjects/{}/{}", record.object, record.id), None).await?;
    let r = w.last()?;
    let code = r.json().as_ref().and_then(crate::world::error_code).unwrap_or_default();
    Ok(match r.status {
        200 => Some(true),
        401 | 403 | 404 if access_refusal(&code) => Some(false),
        _ => None,
    })
}

/// Whether an answer names the record (a 15-character id is the 18's first 15).
fn carries_id(v: &Value, id: &str) -> bool {
    let short = id.get(..15).unwrap_or(id);
    v.to_string().contains(short)
}

/// Samples the persona's read on each surface, `SAMPLES` times, without sleeping; each answer is
/// timed from the first sample to when its request was sent.
pub async fn sample(w: &mut GateWorld, persona: &str, alias: &str) -> Result<(Window, Window), StepError> {
    let start = std::time::Instant::now();
    let mut mcp = Window { surface: "MCP".into(), ..Window::default() };
    let mut rest = Window { surface: "REST".into(), ..Window::default() };
    for _ in 0..SAMPLES {
        let sent = since(start);
        let m = read_mcp(w, persona, alias).await?;
        mcp.decide(m, sent);
        let sent = since(start);
        let r = read_rest(w, persona, alias).await?;
        rest.decide(r, sent);
    }
    Ok((mcp, rest))
}

/// After the removal: the read refused on both surfaces within the path's window. Where it was
/// not, the admin asks the org whether the persona may still read the record
/// (UserRecordAccess): if the org says so, another grant than the removed set opens it and the
/// removal proved nothing; if the org cannot say, neither can the gate.
pub async fn refused_within(w: &mut GateWorld, persona: &str, alias: &str, path: &str) -> Result<(), StepError> {
    let (mcp, rest) = sample(w, persona, alias).await?;
    let limit = crate::revocation::limit(w, path);
    if mcp.within(limit) && rest.within(limit) {
        return crate::revocation::held_to_window(w, path, &[mcp, rest]);
    }
    w.probe.evidence.extend([mcp.describe(), rest.describe()]);
    match org_still_grants(w, persona, alias).await? {
        Some(true) => Err(StepError::NotVerifiable(format!(
            "the org still grants {persona} the record '{alias}' after the removal (UserRecordAccess.HasReadAccess): another grant than app.agent_permission_set opens it, so its removal proves nothing"
        ))),
        Some(false) => crate::revocation::held_to_window(w, path, &[mcp, rest]),
        None => Err(StepError::NotVerifiable(format!(
            "{persona} still read the record '{alias}' after the removal, and the admin persona cannot ask the org (UserRecordAccess) whether another grant opens it"
        ))),
    }
}

/// The set the target names, once the removal can be made and shown: an admin persona to make it
/// and the record to read.
fn permission_set(w: &GateWorld, alias: &str) -> Result<String, StepError> {
    let name = w.target.agent_permission_set.clone().ok_or_else(|| {
        StepError::NotVerifiable(
            "the target names no app.agent_permission_set (the permission set that gives the agent its objects)".into(),
        )
    })?;
    if w.target.persona_for("admin").is_none() {
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
async fn org_still_grants(w: &mut GateWorld, persona: &str, alias: &str) -> Result<Option<bool>, StepError> {
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
    let mcp = read_mcp(w, persona, alias).await?;
    let rest = read_rest(w, persona, alias).await?;
    if mcp == Some(true) && rest == Some(true) {
        return Ok(());
    }
    Err(StepError::NotVerifiable(format!(
        "{persona} does not read the record '{alias}' before the removal (MCP {RECORD_TOOL}: {}, REST: {}), so a refusal after it would prove nothing",
        shown(mcp),
        shown(rest)
    )))
}

/// After the set is assigned again: the persona reads the record on both surfaces within the
/// samples.
pub async fn reads_again(w: &mut GateWorld, persona: &str, alias: &str) -> Result<(), StepError> {
    let (mcp, rest) = sample(w, persona, alias).await?;
    let missing: Vec<String> = [mcp, rest].iter().filter(|s| s.accepted_ms.is_empty()).map(|s| s.describe()).collect();
    expect(missing.is_empty(), "the record read again on every surface", || missing.join("; "))
}

fn shown(d: Option<bool>) -> &'static str {
    match d {
        Some(true) => "read",
        Some(false) => "refused",
        None => "no decision",
    }
}

/// The first row a query returns as the admin; a refused query is not verifiable (the admin
/// persona lacks the right to read setup objects), none found is `missing`.
async fn admin_first_row(w: &mut GateWorld, soql: &str, missing: String) -> Result<Value, StepError> {
    w.rest("admin", Method::GET, &query_path(soql), None).await?;
    let r = w.last()?;
    if r.status != 200 {
        let code = r.json().as_ref().and_then(crate::world::error_code).unwrap_or_default();
        return Err(StepError::NotVerifiable(format!(
            "the admin persona's query was refused ({} {code}): it needs View Setup and Configuration",
            r.status
        )));
    }
    let row = r.json().map(|v| v["records"][0].clone()).filter(|row| row["Id"].is_string());
    row.ok_or(StepError::NotVerifiable(missing))
}

/// Removes the persona's assignment of the target's permission set as the admin, queuing its
/// re-creation first (with its expiry, so a time-limited assignment comes back time-limited).
pub async fn remove(w: &mut GateWorld, persona: &str) -> Result<(), StepError> {
    let name = w
        .target
        .agent_permission_set
        .clone()
        .ok_or_else(|| StepError::NotVerifiable("the target names no app.agent_permission_set".into()))?;
    let soql = format!("SELECT Id FROM PermissionSet WHERE Name = {}", soql_string(&name));
    let set = admin_first_row(w, &soql, format!("the admin finds no permission set named {name}")).await?;
    let set = set["Id"].as_str().unwrap_or_default().to_string();
    let user = w.admin_user_id(persona).await?;
    let soql = format!(
        "SELECT Id, ExpirationDate FROM PermissionSetAssignment WHERE AssigneeId = '{user}' AND PermissionSetId = '{set}'"
    );
    let missing = format!("{persona} is not assigned {name}, so removing it proves nothing");
    let assignment = admin_first_row(w, &soql, missing).await?;
    let mut body = json!({"AssigneeId": user, "PermissionSetId": set});
    if let Some(expiry) = assignment["ExpirationDate"].as_str() {
        body["ExpirationDate"] = json!(expiry);
    }
    w.queue_undo(Cleanup::AdminCreate { object: ASSIGNMENT.into(), body });
    let path = format!("/sobjects/{ASSIGNMENT}/{}", assignment["Id"].as_str().unwrap_or_default());
    w.rest("admin", Method::DELETE, &path, None).await?;
    let r = w.last()?;
    let (status, code) = (r.status, r.json().as_ref().and_then(crate::world::error_code).unwrap_or_default());
    if matches!(status, 400 | 403 | 404) {
        // Refused or not there: nothing was removed, so nothing is owed.
        w.withdraw_last_undo();
        let why = if code.starts_with("INSUFFICIENT_ACCESS") {
            "the admin persona needs Assign Permission Sets".to_string()
        } else {
            format!("the org refused it ({status} {code}); a profile's own permission set cannot be unassigned")
        };
        return Err(StepError::NotVerifiable(format!("{persona}'s assignment of {name} could not be removed: {why}")));
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
