//! HG-AUD-01..04: the org's audit trail reconstructs who did what. The REST and tool calls a
//! scenario made are found in the org's event log files (`event_log`: ApiTotalUsage, matched on
//! time, user, API, method, path, object and status, as `audit reconcile` finds them later), and
//! its sign-ins in `LoginHistory` (`login_history`).

use crate::world::{GateWorld, StepError, expect};
use cucumber::{given, then};

#[then("every request this scenario sent is in the audit log with who, what and how it ended")]
async fn audited(w: &mut GateWorld) -> Result<(), StepError> {
    crate::event_log::judge_in_run(w, "HG-AUD-01").await
}

#[then("each denied request is recorded as denied, and each allowed one as allowed")]
async fn denials_audited(w: &mut GateWorld) -> Result<(), StepError> {
    // Both kinds, so a log that records every request as denied (or none) cannot pass.
    let calls = crate::audit_plan::planned("HG-AUD-02", w);
    let denied = calls.iter().filter(|c| c.denied()).count();
    expect(denied > 0 && denied < calls.len(), "denied and allowed requests to compare", || {
        format!("{} sent, {denied} denied", calls.len())
    })?;
    crate::event_log::judge_in_run(w, "HG-AUD-02").await
}

#[then(expr = "the audit records of this scenario attribute the calls to {word}")]
async fn attributed(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let username = w.persona(&persona)?.username;
    let calls = crate::audit_plan::planned("HG-AUD-04", w);
    expect(calls.iter().all(|c| c.username == username), format!("calls made as {persona} only"), || {
        format!("{} calls, made as {:?}", calls.len(), calls.iter().map(|c| c.username.as_str()).collect::<Vec<_>>())
    })?;
    crate::event_log::judge_in_run(w, "HG-AUD-04").await
}

#[then("no credential of this run appears in the audit log")]
async fn no_secret_in_audit(w: &mut GateWorld) -> Result<(), StepError> {
    crate::event_log::judge_in_run(w, "HG-AUD-03").await
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
