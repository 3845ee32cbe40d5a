//! HG-AUD-01/02 for sign-ins: the org's `LoginHistory` (Object Reference: LoginHistory; read
//! with Manage Users or Monitor Login History) shows each sign-in the scenario made, through the
//! agent's app and with `Status = 'Success'`, and each refused one with a failed status. The
//! platform writes a row as it judges the attempt, so the rows are read in the scenario itself,
//! a few times over a few seconds for replication. A row is the attempt's when it is new since the
//! admin's read before it: no clock is compared (the org's and the gate's need not agree, and a
//! test double's may be moved on).

use crate::world::{GateWorld, StepError, error_code, query_path, soql_string};
use reqwest::Method;
use serde_json::Value;

/// One sign-in the scenario attempted: who, and whether it was refused.
#[derive(Debug, Clone)]
pub struct Attempt {
    pub persona: String,
    pub refused: bool,
}

/// The scenario's sign-ins and, per persona, the login history rows the admin saw before them.
#[derive(Debug, Clone, Default)]
pub struct SignIns {
    pub attempts: Vec<Attempt>,
    seen: std::collections::HashMap<String, std::collections::BTreeSet<String>>,
}

impl SignIns {
    pub fn push(&mut self, persona: &str, refused: bool) {
        self.attempts.push(Attempt { persona: persona.to_string(), refused });
    }
}

/// Reads of the login history before a missing row counts, and the pause between them.
const READS: u32 = 3;
const PAUSE: std::time::Duration = std::time::Duration::from_secs(2);
/// The platform's status for a login that succeeded.
const SUCCESS: &str = "Success";

/// The persona's newest attempt of the kind asked for.
fn attempt(w: &GateWorld, persona: &str, refused: bool) -> Result<Attempt, StepError> {
    let all: Vec<&Attempt> = w.sign_ins.attempts.iter().filter(|a| a.persona == persona).collect();
    if all.is_empty() {
        return Err(StepError::NothingSent);
    }
    all.into_iter().rev().find(|a| a.refused == refused).cloned().ok_or_else(|| {
        StepError::NotVerifiable(match refused {
            true => format!("{persona}'s sign-in was not refused (its own control judges that), so no refused sign-in is there to look for"),
            false => format!("{persona}'s sign-in was refused, so no successful one is there to look for"),
        })
    })
}

/// The persona's newest login history rows, as the admin reads them.
async fn rows(w: &mut GateWorld, user_id: &str) -> Result<Vec<Value>, StepError> {
    let soql = format!(
        "SELECT Id, UserId, LoginTime, LoginType, Status, Application FROM LoginHistory WHERE UserId = {} ORDER BY LoginTime DESC LIMIT 200",
        soql_string(user_id)
    );
    w.rest("admin", Method::GET, &query_path(&soql), None).await?;
    let r = w.last()?;
    if r.status != 200 {
        let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
        return Err(StepError::NotVerifiable(format!(
            "the admin cannot read LoginHistory ({} {code}): grant the admin persona Manage Users or Monitor Login History",
            r.status
        )));
    }
    r.json().and_then(|v| v["records"].as_array().cloned()).ok_or_else(|| {
        StepError::NotVerifiable("the admin's LoginHistory query answered 200 without a records list".into())
    })
}

fn row_id(row: &Value) -> String {
    row["Id"].as_str().unwrap_or_default().to_string()
}

/// Whether a row records this attempt: new since the admin's earlier read, and ended as it did.
fn records(row: &Value, a: &Attempt, app: Option<&str>, seen: &std::collections::BTreeSet<String>) -> bool {
    let status = row["Status"].as_str().unwrap_or_default();
    let ended = match a.refused {
        true => !status.is_empty() && status != SUCCESS,
        false => status == SUCCESS && app.is_none_or(|name| row["Application"].as_str() == Some(name)),
    };
    !row_id(row).is_empty() && !seen.contains(&row_id(row)) && ended
}

/// The admin reads the persona's login history before the scenario signs in, so the rows that
/// come after are told apart.
pub async fn note(w: &mut GateWorld, persona: &str) -> Result<(), StepError> {
    let user_id = w.admin_user_id(persona).await?;
    let ids = rows(w, &user_id).await?.iter().map(row_id).collect();
    w.sign_ins.seen.insert(persona.to_string(), ids);
    Ok(())
}

/// The persona's newest sign-in (`refused` or not) is in the org's login history as it ended:
/// a successful one with `Success` through the agent's app, a refused one with a failed status.
pub async fn shows(w: &mut GateWorld, persona: &str, refused: bool) -> Result<(), StepError> {
    let a = attempt(w, persona, refused)?;
    let seen = w.sign_ins.seen.get(persona).cloned().ok_or_else(|| StepError::Expectation {
        expected: format!("the admin's read of {persona}'s login history before the sign-in"),
        observed: "none in the scenario".into(),
    })?;
    let user_id = w.admin_user_id(persona).await?;
    // The app is the agent's: its name is what `Application` shows. A refused attempt names the
    // app where it got that far; its row is not held to it.
    let app = (!refused && !w.target.app_name.is_empty()).then(|| w.target.app_name.clone());
    let mut new = 0;
    for read in 0..READS {
        if read > 0 {
            tokio::time::sleep(PAUSE).await;
        }
        let rows = rows(w, &user_id).await?;
        new = rows.iter().filter(|r| !seen.contains(&row_id(r))).count();
        if let Some(row) = rows.iter().find(|r| records(r, &a, app.as_deref(), &seen)) {
            w.probe.evidence.push(format!(
                "LoginHistory {}: {} at {}, {} through {}",
                row["Id"].as_str().unwrap_or("?"),
                row["Status"].as_str().unwrap_or("?"),
                row["LoginTime"].as_str().unwrap_or("?"),
                row["LoginType"].as_str().unwrap_or("?"),
                row["Application"].as_str().unwrap_or("no application"),
            ));
            return Ok(());
        }
    }
    let expected = match &app {
        _ if refused => format!("a LoginHistory row of {persona}'s refused sign-in with a failed Status"),
        Some(name) => format!("a LoginHistory row of {persona}'s sign-in with Status Success through {name}"),
        None => format!("a LoginHistory row of {persona}'s sign-in with Status Success"),
    };
    let kind = if refused { "a failed Status" } else { "Status Success" };
    Err(StepError::Expectation {
        expected,
        observed: format!("no row with {kind} among the {new} new since the sign-in"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn attempt(refused: bool) -> Attempt {
        Attempt { persona: "agent".into(), refused }
    }

    #[test]
    fn a_row_records_an_attempt_when_new_and_ended_as_it_did() {
        let seen: std::collections::BTreeSet<String> = ["0Ya1".to_string()].into();
        let ok = json!({"Id": "0Ya2", "Status": "Success", "Application": "Agent_App"});
        assert!(records(&ok, &attempt(false), Some("Agent_App"), &seen));
        assert!(!records(&ok, &attempt(false), Some("Other_App"), &seen), "another app's sign-in");
        assert!(records(&ok, &attempt(false), None, &seen), "no app named: any");
        assert!(!records(&ok, &attempt(true), None, &seen), "a success is no refusal");
        let old = json!({"Id": "0Ya1", "Status": "Success", "Application": "Agent_App"});
        assert!(!records(&old, &attempt(false), Some("Agent_App"), &seen), "seen before the sign-in");
        let failed = json!({"Id": "0Ya3", "Status": "Username-Password Flow Disabled"});
        assert!(records(&failed, &attempt(true), None, &seen));
        assert!(!records(&json!({"Id": "0Ya4", "Status": ""}), &attempt(true), None, &seen), "no status");
        assert!(!records(&json!({"Status": "Invalid Password"}), &attempt(true), None, &seen), "no id");
    }
}
