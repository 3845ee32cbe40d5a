//! HG-AUD-01/02 for sign-ins: the org's `LoginHistory` (Object Reference: LoginHistory; read
//! with Manage Users or Monitor Login History) shows each sign-in the scenario made, through the
//! agent's app and with `Status = 'Success'`, and each refused one with a failed status. The
//! platform writes a row as it judges the attempt, so the rows are read in the scenario itself,
//! a few times over a few seconds for replication. A row is the attempt's when it is new since the
//! admin's read before it: no clock is compared (the org's and the gate's need not agree, and a
//! test double's may be moved on).

use crate::world::{GateWorld, StepError, query_path, query_records, soql_string};
use reqwest::Method;
use serde_json::Value;
use std::collections::BTreeSet;

/// One sign-in the scenario attempted: who, whether it was refused, and why a refusal would
/// prove nothing here (the request never reached the user's login).
#[derive(Debug, Clone)]
pub struct Attempt {
    pub persona: String,
    pub refused: bool,
    pub doubt: Option<String>,
}

/// The scenario's sign-ins and, per persona, its user id and the login history rows the admin
/// saw before them.
#[derive(Debug, Clone, Default)]
pub struct SignIns {
    pub attempts: Vec<Attempt>,
    seen: std::collections::HashMap<String, (String, BTreeSet<String>)>,
}

impl SignIns {
    pub fn push(&mut self, persona: &str, refused: bool, doubt: Option<String>) {
        self.attempts.push(Attempt { persona: persona.to_string(), refused, doubt });
    }
}

/// Reads of the login history before a missing row counts, and the pause between them (the
/// platform documents no delay; this allows for replication).
const READS: u32 = 3;
const PAUSE: std::time::Duration = std::time::Duration::from_secs(2);
/// The platform's status for a login that succeeded.
const SUCCESS: &str = "Success";
/// The user permission that reads every user's login history (Monitor Login History does too;
/// without either, an admin sees only its own rows, and the agent's would look absent).
const READS_ALL: &str = "ManageUsers";

/// The username-password request just answered was a login attempt of the persona: refused
/// unless it got a 2xx, and in doubt where the request was incomplete (no client secret, no
/// security token) or the app itself was refused (`invalid_client`): then no login was judged.
pub fn password_sent(w: &mut GateWorld, persona: &str) -> Result<(), StepError> {
    let r = w.last()?;
    let refused = !(200..300).contains(&r.status);
    let error = crate::refusals::error_code(r);
    let doubt = match crate::refusals::Doubt::applying(&w.doubts, error.as_deref()) {
        Some(d) => Some(d.reason.clone()),
        None if error.as_deref() == Some("invalid_client") => {
            Some("the app was refused (invalid_client) before the user's login was judged".to_string())
        }
        None => None,
    };
    w.sign_ins.push(persona, refused, doubt.filter(|_| refused));
    Ok(())
}

/// The persona's newest attempt of the kind asked for.
fn attempt(w: &GateWorld, persona: &str, refused: bool) -> Result<Attempt, StepError> {
    let all: Vec<&Attempt> = w.sign_ins.attempts.iter().filter(|a| a.persona == persona).collect();
    if all.is_empty() {
        return Err(StepError::NothingSent);
    }
    let a = all.into_iter().rev().find(|a| a.refused == refused).cloned().ok_or_else(|| {
        StepError::NotVerifiable(match refused {
            true => format!("{persona}'s sign-in was not refused (its own control judges that), so no refused sign-in is there to look for"),
            false => format!("{persona}'s sign-in was refused, so no successful one is there to look for"),
        })
    })?;
    match &a.doubt {
        Some(why) => Err(StepError::NotVerifiable(format!("{persona}'s sign-in was refused, but {why}"))),
        None => Ok(a),
    }
}

/// The persona's newest login history rows, as the admin reads them.
async fn rows(w: &mut GateWorld, user_id: &str) -> Result<Vec<Value>, StepError> {
    let soql = format!(
        "SELECT Id, UserId, LoginTime, LoginType, Status, Application FROM LoginHistory WHERE UserId = {} ORDER BY LoginTime DESC LIMIT 200",
        soql_string(user_id)
    );
    w.rest("admin", Method::GET, &query_path(&soql), None).await?;
    query_records(w.last()?, |status, code| {
        format!("the admin cannot read LoginHistory ({status} {code}): grant the admin persona Manage Users")
    })
}

fn row_id(row: &Value) -> String {
    row["Id"].as_str().unwrap_or_default().to_string()
}

/// Whether a row is new since the admin's earlier read and ended as the attempt did (a refused
/// one: any status but `Success`).
fn ended_as(row: &Value, a: &Attempt, seen: &BTreeSet<String>) -> bool {
    let status = row["Status"].as_str().unwrap_or_default();
    let ended = if a.refused { !status.is_empty() && status != SUCCESS } else { status == SUCCESS };
    !row_id(row).is_empty() && !seen.contains(&row_id(row)) && ended
}

/// The admin reads the persona's login history before the scenario signs in, so the rows that
/// come after are told apart. An admin without the right to read every user's rows sees only its
/// own (not a refusal), so the right is shown first.
pub async fn note(w: &mut GateWorld, persona: &str) -> Result<(), StepError> {
    let rights = crate::decl_steps::admin_rights(w, "admin").await?;
    if !rights.iter().any(|r| r == READS_ALL) {
        return Err(StepError::NotVerifiable(
            "the admin persona lacks Manage Users, so it may read only its own LoginHistory rows and the agent's would look absent: grant it Manage Users".into(),
        ));
    }
    let user_id = w.admin_user_id(persona).await?;
    let ids = rows(w, &user_id).await?.iter().map(row_id).collect();
    w.sign_ins.seen.insert(persona.to_string(), (user_id, ids));
    Ok(())
}

/// The persona's newest sign-in (`refused` or not) is in the org's login history as it ended:
/// a successful one with `Success` through the agent's app, a refused one with a failed status.
pub async fn shows(w: &mut GateWorld, persona: &str, refused: bool) -> Result<(), StepError> {
    let a = attempt(w, persona, refused)?;
    let (user_id, seen) = w.sign_ins.seen.get(persona).cloned().ok_or_else(|| StepError::Expectation {
        expected: format!("the admin's read of {persona}'s login history before the sign-in"),
        observed: "none in the scenario".into(),
    })?;
    let app = w.target.app_name.clone();
    let mut new = Vec::new();
    for read in 0..READS {
        if read > 0 {
            tokio::time::sleep(PAUSE).await;
        }
        new = rows(w, &user_id).await?.into_iter().filter(|r| ended_as(r, &a, &seen)).collect::<Vec<_>>();
        if !new.is_empty() {
            break;
        }
    }
    let kind = if refused { "a failed Status" } else { "Status Success" };
    let Some(first) = new.first() else {
        return Err(StepError::Expectation {
            expected: format!("a new LoginHistory row of {persona}'s sign-in with {kind}"),
            observed: format!("no row with {kind} new since the sign-in"),
        });
    };
    // A successful sign-in is the agent's app's: its row names the app, where the target names it
    // (LoginHistory may show another form of the name, so a mismatch decides nothing).
    let row = match refused || app.is_empty() {
        true => first,
        false => new.iter().find(|r| r["Application"].as_str() == Some(app.as_str())).ok_or_else(|| {
            let names: Vec<&str> = new.iter().filter_map(|r| r["Application"].as_str()).collect();
            StepError::NotVerifiable(format!(
                "{persona}'s new Success row names the application {names:?}, not the agent's app '{app}'"
            ))
        })?,
    };
    w.probe.evidence.push(format!(
        "LoginHistory {}: {} at {}, {} through {}{}",
        row_id(row),
        row["Status"].as_str().unwrap_or("?"),
        row["LoginTime"].as_str().unwrap_or("?"),
        row["LoginType"].as_str().unwrap_or("?"),
        row["Application"].as_str().unwrap_or("no application"),
        if !refused && app.is_empty() { " (the target names no app, so the app was not compared)" } else { "" },
    ));
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attempt(refused: bool) -> Attempt {
        Attempt { persona: "agent".into(), refused, doubt: None }
    }

    #[test]
    fn a_row_is_the_attempts_when_new_and_ended_as_it_did() {
        let seen: BTreeSet<String> = ["0Ya1".to_string()].into();
        let ok = json!({"Id": "0Ya2", "Status": "Success", "Application": "Agent_App"});
        assert!(ended_as(&ok, &attempt(false), &seen));
        assert!(!ended_as(&ok, &attempt(true), &seen), "a success is no refusal");
        let old = json!({"Id": "0Ya1", "Status": "Success", "Application": "Agent_App"});
        assert!(!ended_as(&old, &attempt(false), &seen), "seen before the sign-in");
        let failed = json!({"Id": "0Ya3", "Status": "Username-Password Flow Disabled"});
        assert!(ended_as(&failed, &attempt(true), &seen));
        assert!(!ended_as(&failed, &attempt(false), &seen), "a failure is no success");
        assert!(!ended_as(&json!({"Id": "0Ya4", "Status": ""}), &attempt(true), &seen), "no status");
        assert!(!ended_as(&json!({"Status": "Invalid Password"}), &attempt(true), &seen), "no id");
    }
}
