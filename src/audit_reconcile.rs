//! `headless-gate audit reconcile`: HG-AUD-01..04 from a real org's event log files, after the
//! fact. A run writes `audit-plan.json` (the calls its scenarios made); this reads the org's
//! ApiTotalUsage files around it and judges each planned call (`steps::event_log`), pending while
//! the platform's documented delay has not passed.

use crate::results::Outcome;
use serde::Serialize;
use steps::audit_plan::AuditPlan;
use steps::event_log::{Context, Verdict, delay_ms, judge, read_log, user_ids, window};

/// The outcome a verdict's status stands for in the gate's terms (pending is inconclusive).
pub fn outcome(status: &str) -> Outcome {
    match status {
        "passed" => Outcome::Passed,
        "failed" => Outcome::Failed,
        _ => Outcome::NotVerifiable,
    }
}

/// Why a reconciliation could not start (each names what to fix).
#[derive(Debug, thiserror::Error)]
pub enum ReconcileError {
    #[error("{path}: {problem}")]
    Plan { path: String, problem: String },
    #[error("{0}")]
    Target(#[from] crate::file_target::TargetError),
    #[error("{0}")]
    TargetFile(#[from] crate::target_file::TargetFileError),
    #[error("{dir}: cannot write the reconciliation: {source}")]
    Write { dir: String, source: std::io::Error },
}

/// What `audit reconcile` found, and what it read.
#[derive(Debug, Clone, Serialize)]
pub struct Reconciled {
    pub run_id: String,
    pub target: String,
    pub reconciled_at: String,
    /// `Hourly` or `Daily`, and how many files and rows were read.
    pub interval: Option<String>,
    pub files: usize,
    pub rows: usize,
    pub verdicts: Vec<Verdict>,
}

impl Reconciled {
    /// 0 every control passed, 1 one failed, 3 pending or not verifiable.
    pub fn exit_code(&self) -> u8 {
        if self.verdicts.iter().any(|v| v.status == "failed") {
            1
        } else if self.verdicts.iter().all(|v| v.status == "passed") {
            0
        } else {
            3
        }
    }
}

fn now_ms() -> i64 {
    std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).map(|d| d.as_millis() as i64).unwrap_or(0)
}

/// Reads the run's plan, the org's ApiTotalUsage files around it and the personas' user ids (as
/// the target file's admin), judges AUD-01..04, and writes `audit-reconcile.json` beside the
/// run's reports.
pub async fn reconcile(run: &std::path::Path, target_path: &std::path::Path) -> Result<Reconciled, ReconcileError> {
    let plan_path = run.join("audit-plan.json");
    let shown = plan_path.display().to_string();
    let text = std::fs::read_to_string(&plan_path).map_err(|e| ReconcileError::Plan {
        path: shown.clone(),
        problem: format!("cannot read ({e}): run the gate with the audit controls (@C7) first"),
    })?;
    let plan: AuditPlan = serde_json::from_str(&text)
        .map_err(|e| ReconcileError::Plan { path: shown.clone(), problem: format!("not an audit plan: {e}") })?;
    let file = crate::target_file::load(target_path)?;
    let target = crate::file_target::build(&target_path.display().to_string(), &file).await?;
    let configured_delay = target.event_log_delay_ms;
    steps::target::install(target);
    let mut w = steps::GateWorld::standalone();
    let mut out = Reconciled {
        run_id: plan.run_id.clone(),
        target: plan.target.clone(),
        reconciled_at: mock_org::clock::format_datetime(now_ms()),
        interval: None,
        files: 0,
        rows: 0,
        verdicts: Vec::new(),
    };
    match read_log(&mut w, window(&plan)).await {
        Err(why) => {
            out.verdicts = steps::audit_plan::PLANNED_CONTROLS
                .iter()
                .map(|id| Verdict {
                    id: id.to_string(),
                    status: "not verifiable".into(),
                    message: Some(why.clone()),
                    calls: Vec::new(),
                    failures: Vec::new(),
                })
                .collect();
        }
        Ok(log) => {
            let delay = delay_ms(configured_delay, log.hourly);
            let user_ids = user_ids(&mut w, &plan).await;
            let cx = Context { user_ids: &user_ids, now_ms: now_ms(), delay_ms: delay };
            out.interval = Some(if log.hourly { "Hourly" } else { "Daily" }.into());
            (out.files, out.rows) = (log.files, log.rows.len());
            out.verdicts = judge(&plan, &log.rows, &cx);
        }
    }
    let secrets = w.probe.secrets.clone();
    let json = secrets.redact(&serde_json::to_string_pretty(&out).unwrap_or_default());
    crate::reports::atomic_write(&run.join("audit-reconcile.json"), json.as_bytes())
        .map_err(|source| ReconcileError::Write { dir: run.display().to_string(), source })?;
    Ok(out)
}
