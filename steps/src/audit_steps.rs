//! HG-AUD-01..04: the org's audit trail reconstructs who did what. The REST and tool calls a
//! scenario made are found in the org's event log files (`event_log`: ApiTotalUsage, matched on
//! time, user, API, method, path, object and status, as `audit reconcile` finds them later), and
//! its sign-ins in `LoginHistory` (`login_history`).

use crate::world::{GateWorld, StepError};
use cucumber::{given, then};

#[given("the admin has read the org's event log")]
async fn event_log_read(w: &mut GateWorld) -> Result<(), StepError> {
    crate::event_log::note(w).await
}

#[then(expr = "every request {word} sent is in the audit log with who, what and how it ended")]
async fn audited(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::event_log::judge_in_run(w, "HG-AUD-01", &persona).await
}

#[then(expr = "each denied request of {word}'s is recorded as denied, and each allowed one as allowed")]
async fn denials_audited(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    // Both kinds, so a log that records every request as denied (or none) cannot pass.
    let calls = crate::audit_plan::planned("HG-AUD-02", w);
    let denied = calls.iter().filter(|c| c.denied()).count();
    if denied == 0 || denied == calls.len() {
        return Err(StepError::NotVerifiable(format!(
            "the scenario's {} calls were not both refused and allowed ({denied} refused), so the log has nothing to tell apart",
            calls.len()
        )));
    }
    crate::event_log::judge_in_run(w, "HG-AUD-02", &persona).await
}

#[then(expr = "the audit records of this scenario attribute the calls to {word}")]
async fn attributed(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::event_log::judge_in_run(w, "HG-AUD-04", &persona).await
}

#[then(expr = "no credential of this run appears in the audit log, {word}'s calls found")]
async fn no_secret_in_audit(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::event_log::judge_in_run(w, "HG-AUD-03", &persona).await
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
