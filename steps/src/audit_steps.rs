//! HG-AUD-01..04: the org's audit log (the mock's `ApiEvent`, read by the admin through SOQL)
//! reconstructs who did what. Each REST and tool call the scenario sent carried an
//! `X-Request-Id`; its record is found by that id and compared with what the caller saw.

use crate::probe::Reply;
use crate::world::{GateWorld, Sent, StepError, error_code, expect, query_path};
use cucumber::{given, then};
use reqwest::Method;
use serde_json::Value;

/// The REST and tool calls this scenario sent so far (not the admin's audit queries to come).
fn calls(w: &GateWorld) -> Vec<Sent> {
    w.sent.iter().filter(|s| s.what == "REST" || s.what == "tools/call").cloned().collect()
}

/// The audit records naming one request.
async fn records(w: &mut GateWorld, id: &str) -> Result<Vec<Value>, StepError> {
    let soql = format!(
        "SELECT Username, ConnectedAppName, TokenId, ToolName, ApiFamily, Outcome, DenialCode, ExecutionMode FROM ApiEvent WHERE RequestIdentifier = '{id}'"
    );
    w.rest("admin", Method::GET, &query_path(&soql), None).await?;
    rows(w.last()?)
}

/// The rows of the admin's audit query. An org whose audit log cannot be queried this way (a real
/// org's Event Monitoring assigns its own request ids) makes the check not verifiable: it must not
/// read as "the request was not audited".
fn rows(r: &Reply) -> Result<Vec<Value>, StepError> {
    if r.status != 200 {
        let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
        return Err(StepError::NotVerifiable(format!(
            "the org's audit log cannot be queried by request id (ApiEvent.RequestIdentifier): the admin's audit query was refused: {} {code}",
            r.status
        )));
    }
    // A 200 that is no query answer is no evidence that nothing was recorded.
    r.json().and_then(|v| v["records"].as_array().cloned()).ok_or_else(|| {
        StepError::NotVerifiable(format!(
            "the admin's audit query answered 200 without a records list: {}",
            r.body.chars().take(160).collect::<String>()
        ))
    })
}

/// The one record of a request; none or several is a failure.
async fn record(w: &mut GateWorld, s: &Sent) -> Result<Value, StepError> {
    let rows = records(w, &s.id).await?;
    expect(rows.len() == 1, format!("one audit record for {} request {}", s.what, s.id), || {
        format!("{} records", rows.len())
    })?;
    Ok(rows[0].clone())
}

fn outcome(s: &Sent) -> &'static str {
    if s.refusal.is_some() { "denied" } else { "allowed" }
}

#[then("every request this scenario sent is in the audit log with who, what and how it ended")]
async fn audited(w: &mut GateWorld) -> Result<(), StepError> {
    let sent = calls(w);
    expect(!sent.is_empty(), "requests to look up", || "none was sent".into())?;
    for s in sent {
        let row = record(w, &s).await?;
        let mut fields = vec!["Username", "ConnectedAppName", "TokenId", "Outcome", "ExecutionMode"];
        if s.what == "tools/call" {
            fields.push("ToolName");
        }
        for field in fields {
            expect(
                row[field].as_str().is_some_and(|v| !v.is_empty()),
                format!("{field} recorded for {}", s.id),
                || format!("{field} = {}", row[field]),
            )?;
        }
        expect(row["Outcome"] == outcome(&s), format!("{} recorded as {}", s.id, outcome(&s)), || {
            format!("Outcome = {}", row["Outcome"])
        })?;
    }
    Ok(())
}

#[then("each denied request is recorded with the code its caller was given, and each allowed one with none")]
async fn denials_audited(w: &mut GateWorld) -> Result<(), StepError> {
    let sent = calls(w);
    // Both kinds, so a log that records every request as denied (or none) cannot pass.
    expect(
        sent.iter().any(|s| s.refusal.is_some()) && sent.iter().any(|s| s.refusal.is_none()),
        "denied and allowed requests to compare",
        || format!("{} sent, {} denied", sent.len(), sent.iter().filter(|s| s.refusal.is_some()).count()),
    )?;
    for s in sent {
        let row = record(w, &s).await?;
        let code = row["DenialCode"].as_str().filter(|c| !c.is_empty()).map(str::to_string);
        expect(
            row["Outcome"] == outcome(&s) && code == s.refusal,
            format!(
                "{} {} recorded as {} {}",
                s.what,
                s.id,
                outcome(&s),
                s.refusal.as_deref().unwrap_or("with no denial code")
            ),
            || format!("{} {}", row["Outcome"], code.as_deref().unwrap_or("with no denial code")),
        )?;
    }
    Ok(())
}

#[then(expr = "the audit records of this scenario attribute the tool calls to {word}")]
async fn attributed(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let username = w.persona(&persona)?.username;
    let last_call = calls(w).into_iter().rev().find(|s| s.what == "tools/call").ok_or(StepError::NothingSent)?;
    let row = record(w, &last_call).await?;
    let who = row["Username"].as_str().unwrap_or_default().to_string();
    expect(who.eq_ignore_ascii_case(&username), format!("attributed to {username}"), || {
        format!("attributed to {who:?}")
    })
}

#[then("no credential of this run appears in the audit log")]
async fn no_secret_in_audit(w: &mut GateWorld) -> Result<(), StepError> {
    w.rest(
        "admin",
        Method::GET,
        &query_path("SELECT Id, RequestIdentifier, Username, TokenId, Resource, Records, DenialCode FROM ApiEvent"),
        None,
    )
    .await?;
    rows(w.last()?)?;
    let body = w.last()?.body.clone();
    let leaked = w.probe.secrets.all().into_iter().filter(|s| body.contains(s.as_str())).count();
    expect(leaked == 0, "no token, code, verifier or password in any audit record", || {
        format!("{leaked} credentials found")
    })
}

#[given(expr = "the admin has read {word}'s login history")]
async fn login_history_read(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::login_history::note(w, &persona).await
}

#[then(expr = "the login history shows {word}'s sign-in through the agent's app")]
async fn sign_in_in_login_history(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::login_history::shows(w, &persona, false).await
}

#[then(expr = "the login history shows {word}'s refused sign-in as failed")]
async fn refusal_in_login_history(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::login_history::shows(w, &persona, true).await
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply(status: u16, body: &str) -> Reply {
        Reply { status, headers: Default::default(), body: body.into(), truncated: false }
    }

    #[test]
    fn a_refused_audit_query_is_not_verifiable_never_an_empty_log() {
        let refused =
            reply(400, r#"[{"errorCode": "INVALID_TYPE", "message": "sObject type 'ApiEvent' is not supported."}]"#);
        match rows(&refused) {
            Err(StepError::NotVerifiable(why)) => {
                assert_eq!(
                    why,
                    "the org's audit log cannot be queried by request id (ApiEvent.RequestIdentifier): the admin's audit query was refused: 400 INVALID_TYPE"
                )
            }
            other => panic!("{other:?}"),
        }
        let answered = reply(200, r#"{"totalSize": 1, "done": true, "records": [{"Outcome": "denied"}]}"#);
        assert_eq!(rows(&answered).unwrap(), vec![serde_json::json!({"Outcome": "denied"})]);
        assert!(rows(&reply(200, r#"{"totalSize": 0, "done": true, "records": []}"#)).unwrap().is_empty());
    }
}
