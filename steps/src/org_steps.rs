//! Steps for the org's data API as a persona: reads, queries, writes, and the checks on what came
//! back. Each is one line over the World.

use crate::hidden_fields::{Expect, Surface};
use crate::world::{Cleanup, GateWorld, StepError, error_code, expect, query_path};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::Value;

#[given(expr = "{word} has signed in through the agent's app")]
async fn signed_in(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.token(&persona).await.map(|_| ())
}

#[when(expr = "{word} reads the {word} record {string}")]
async fn reads(w: &mut GateWorld, persona: String, object: String, alias: String) -> Result<(), StepError> {
    let r = w.record(&alias)?;
    w.rest(&persona, Method::GET, &format!("/sobjects/{object}/{}", r.id), None).await
}

#[when(expr = "{word} queries {string}")]
async fn queries(w: &mut GateWorld, persona: String, soql: String) -> Result<(), StepError> {
    w.rest(&persona, Method::GET, &query_path(&soql), None).await
}

#[when(expr = "{word} describes {word}")]
async fn describes(w: &mut GateWorld, persona: String, object: String) -> Result<(), StepError> {
    w.rest(&persona, Method::GET, &format!("/sobjects/{object}/describe"), None).await
}

#[when(expr = "{word} updates the {word} record {string} with {string}")]
async fn updates(
    w: &mut GateWorld,
    persona: String,
    object: String,
    alias: String,
    json: String,
) -> Result<(), StepError> {
    let path = format!("/sobjects/{object}/{}", w.record(&alias)?.id);
    admin_read(w, object, alias).await?;
    w.rest(&persona, Method::PATCH, &path, Some(parse_json(&json)?)).await
}

#[when(expr = "{word} deletes the {word} record {string}")]
async fn deletes(w: &mut GateWorld, persona: String, object: String, alias: String) -> Result<(), StepError> {
    let path = format!("/sobjects/{object}/{}", w.record(&alias)?.id);
    w.take_snapshot(&path).await?;
    w.rest(&persona, Method::DELETE, &path, None).await
}

#[when(expr = "{word} creates a {word} with {string}")]
async fn creates(w: &mut GateWorld, persona: String, object: String, json: String) -> Result<(), StepError> {
    admin_listed(w, object.clone()).await?;
    w.rest(&persona, Method::POST, &format!("/sobjects/{object}"), Some(parse_json(&json)?)).await
}

/// The admin's read of a record, compared after a write and restored when the scenario ends.
#[given(expr = "the admin has read the {word} record {string}")]
async fn admin_read(w: &mut GateWorld, object: String, alias: String) -> Result<(), StepError> {
    let id = w.record(&alias)?.id;
    w.take_snapshot(&format!("/sobjects/{object}/{id}")).await?;
    let before = w.snapshot.as_ref().and_then(|(_, b)| serde_json::from_str(b).ok()).unwrap_or(Value::Null);
    w.queue_undo(Cleanup::AdminRestore { object, id, before });
    Ok(())
}

/// Proof before denial: the admin reads the record, so a denial that follows is of something
/// that exists on this target (not a 404 for a record, object or field it never had).
#[given(expr = "the admin can read the {word} record {string}")]
async fn admin_proves_record(w: &mut GateWorld, object: String, alias: String) -> Result<(), StepError> {
    w.prove_exists(&object, &alias, None).await
}

/// Proof before a field denial: the admin sees a value in the field of the record.
#[given(expr = "the admin sees a value in the {word} field of the {word} record {string}")]
async fn admin_proves_field(w: &mut GateWorld, field: String, object: String, alias: String) -> Result<(), StepError> {
    w.prove_exists(&object, &alias, Some(&field)).await
}

/// The admin's list of an object's records; anything created after it is deleted when the
/// scenario ends (a write that should have been refused leaves nothing behind).
#[given(expr = "the admin has listed the {word} records")]
async fn admin_listed(w: &mut GateWorld, object: String) -> Result<(), StepError> {
    w.take_snapshot(&query_path(&format!("SELECT Id FROM {object} ORDER BY Id"))).await?;
    let before = w.admin_ids(&object).await?;
    w.queue_undo(Cleanup::AdminDeleteNew { object, before });
    Ok(())
}

#[then(expr = "the admin reads the {word} record {string} with {word} {string}")]
async fn admin_reads_value(
    w: &mut GateWorld,
    object: String,
    alias: String,
    field: String,
    value: String,
) -> Result<(), StepError> {
    let id = w.record(&alias)?.id;
    w.rest("admin", Method::GET, &format!("/sobjects/{object}/{id}"), None).await?;
    let v = w.last()?.json().unwrap_or(Value::Null);
    expect(v[&field] == Value::String(value.clone()), format!("{field} = {value:?}"), || {
        format!("{field} = {}", v[&field])
    })
}

fn parse_json(s: &str) -> Result<Value, StepError> {
    serde_json::from_str(s)
        .map_err(|e| StepError::Expectation { expected: "a JSON body in the scenario".into(), observed: e.to_string() })
}

/// A denial: exactly this status and errorCode, and no data in the answer.
#[then(expr = "the call is denied with {int} {word}")]
pub(crate) async fn denied(w: &mut GateWorld, status: u16, code: String) -> Result<(), StepError> {
    let marker = w.target.canary_marker.clone();
    let allowed = crate::decisions::rest_decision(w.last()?.status);
    w.decide(allowed, None);
    let r = w.last()?;
    let body = r.json().unwrap_or(Value::Null);
    let got_code = error_code(&body).unwrap_or_else(|| "(none)".into());
    expect(r.status == status && got_code == code, format!("{status} {code}"), || format!("{} {got_code}", r.status))?;
    expect(!r.body.contains(&marker), "no seeded sensitive value in the denial", || {
        "a canary value in the body".into()
    })?;
    expect(body.get("records").is_none(), "no records in a denial", || "records".into())
}

#[then(expr = "the call succeeds with {int}")]
pub(crate) async fn succeeds(w: &mut GateWorld, status: u16) -> Result<(), StepError> {
    let allowed = crate::decisions::rest_decision(w.last()?.status);
    w.decide(allowed, None);
    let r = w.last()?;
    expect(r.status == status, format!("{status}"), || {
        format!("{} {}", r.status, r.json().as_ref().and_then(error_code).unwrap_or_default())
    })
}

#[then("no seeded sensitive value is in the answer")]
pub(crate) async fn no_canary(w: &mut GateWorld) -> Result<(), StepError> {
    let marker = w.target.canary_marker.clone();
    let r = w.last()?;
    let at = r.body.find(&marker);
    expect(at.is_none(), "no canary value", || {
        let i = at.unwrap_or(0);
        format!("{}...", &r.body[i..(i + 40).min(r.body.len())])
    })
}

#[then(expr = "the answer lists the {string} record")]
async fn lists(w: &mut GateWorld, alias: String) -> Result<(), StepError> {
    let id = w.record(&alias)?.id;
    let ids = record_ids(w.last()?);
    w.decide(Some(ids.iter().any(|i| i.starts_with(&id))), Some(&format!("record @{alias}")));
    expect(ids.iter().any(|i| i.starts_with(&id)), format!("record {alias} listed"), || {
        format!("{} records, not it", ids.len())
    })
}

#[then(expr = "the answer does not list the {string} record")]
async fn not_lists(w: &mut GateWorld, alias: String) -> Result<(), StepError> {
    let id = w.record(&alias)?.id;
    let listed = record_ids(w.last()?).iter().any(|i| i.starts_with(&id));
    w.decide(Some(listed), Some(&format!("record @{alias}")));
    let r = w.last()?;
    expect(r.status == 200, "a successful query", || format!("{}", r.status))?;
    let ids = record_ids(r);
    expect(!ids.iter().any(|i| i.starts_with(&id)), format!("record {alias} absent"), || "it is listed".into())
}

fn record_ids(r: &crate::probe::Reply) -> Vec<String> {
    let v = r.json().unwrap_or(Value::Null);
    let from_records = v
        .get("records")
        .and_then(Value::as_array)
        .map(|a| a.iter().filter_map(|x| x.get("Id")?.as_str().map(str::to_string)).collect());
    from_records.unwrap_or_else(|| v.get("Id").and_then(Value::as_str).map(|s| vec![s.to_string()]).unwrap_or_default())
}

/// Whether a describe lists the field.
fn described(v: &Value, field: &str) -> bool {
    v.get("fields")
        .and_then(Value::as_array)
        .is_some_and(|fs| fs.iter().any(|f| f.get("name").and_then(Value::as_str) == Some(field)))
}

/// Whether an answer carries the field: in a record, in a list of records, or in a describe.
fn field_present(v: &Value, field: &str) -> bool {
    v.get(field).is_some()
        || described(v, field)
        || v.get("records").and_then(Value::as_array).is_some_and(|a| a.iter().any(|x| x.get(field).is_some()))
}

#[then(expr = "the answer has no {word} field")]
pub(crate) async fn no_field(w: &mut GateWorld, field: String) -> Result<(), StepError> {
    let present = field_present(&w.last()?.json().unwrap_or(Value::Null), &field);
    w.decide(Some(present), Some(&format!("field {field}")));
    let r = w.last()?;
    expect(r.status == 200, "a successful read", || format!("{}", r.status))?;
    expect(!present, format!("no field {field}"), || format!("{field} is in the answer"))
}

#[then(expr = "the answer has a {word} field")]
pub(crate) async fn has_field(w: &mut GateWorld, field: String) -> Result<(), StepError> {
    let v = w.last()?.json().unwrap_or(Value::Null);
    let present = v.get(&field).is_some() || described(&v, &field);
    w.decide(Some(present), Some(&format!("field {field}")));
    let status = w.last()?.status;
    expect(present, format!("field {field}"), || format!("{status} without it"))
}

#[then(expr = "the error names the field {word}")]
async fn names_field(w: &mut GateWorld, field: String) -> Result<(), StepError> {
    let v = w.last()?.json().unwrap_or(Value::Null);
    let fields = v.get(0).and_then(|e| e.get("fields")).cloned().unwrap_or(Value::Null);
    expect(fields == serde_json::json!([field]), format!("fields [{field}]"), || fields.to_string())
}

#[then("the admin reads the org back unchanged")]
async fn unchanged(w: &mut GateWorld) -> Result<(), StepError> {
    let (url, before) = w.snapshot.clone().ok_or(StepError::NothingSent)?;
    let token = w.rest_token("admin").await?;
    let now = w.probe.send(crate::probe::Request::new(Method::GET, url).bearer(&token)).await?;
    expect(now.body == before, "the org unchanged", || "the admin's read-back differs".into())
}

#[then(expr = "{word} obtains no authorization code")]
async fn no_code(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.try_authorize(&persona).await?;
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    expect(o.param("code").is_none(), "no code", || "a code was issued".into())
}

#[then(expr = "the sign-in ends at the callback with error {word}")]
async fn callback_error(w: &mut GateWorld, error: String) -> Result<(), StepError> {
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    let observed = o.param("error").unwrap_or_else(|| "(no error parameter)".into());
    expect(
        observed == error && o.param("state").as_deref() == Some("hg-state"),
        format!("error={error} with state"),
        || observed,
    )
}

// ---------------------------------------------------------------- fields hidden by FLS

#[then(expr = "{word} sees none of the fields hidden from the agent on REST")]
async fn hidden_on_rest(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::hidden_fields::judge(w, &persona, &Surface::Rest, Expect::Hidden).await
}

#[then(expr = "{word} sees every field hidden from the agent on REST")]
async fn shown_on_rest(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::hidden_fields::judge(w, &persona, &Surface::Rest, Expect::Shown).await
}

#[then(expr = "{word} sees none of the fields hidden from the agent through the {word} MCP server")]
async fn hidden_through_mcp(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    crate::hidden_fields::judge(w, &persona, &Surface::Mcp(server), Expect::Hidden).await
}
