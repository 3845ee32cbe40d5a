//! The run's reports: `junit.xml` for CI, `results.json` for tools, `report.html` for auditors,
//! `summary.md` for a job page or a pull request, `results.sarif` for code-scanning dashboards.
//! Each is written to a temporary file and renamed, so a reader never sees half a report.

pub mod advice;
pub mod bundle;
pub mod html;
pub mod json;
pub mod junit;
pub mod markdown;
pub mod sarif;

use crate::results::{ControlResult, GateVerdict};
use serde::Serialize;
use std::path::Path;

/// What the reports say about the run as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub tool: &'static str,
    pub version: &'static str,
    pub target: String,
    /// The file that described the target: the target file, or the mock's org file (SARIF results
    /// point at it).
    pub source: String,
    pub started: String,
    pub finished: String,
    pub interrupted: bool,
    /// The gate's verdict (decided in `results::gate_verdict`) and what decided it.
    pub verdict: GateVerdict,
    pub reasons: Vec<String>,
    /// Exclusions in the target file, with their reasons and dates.
    pub exclusions: Vec<String>,
    /// Exclusions past their date: not honoured, and the gate fails.
    pub expired: Vec<String>,
    /// Rows this target cannot run, by tag, with the outcome and reason.
    pub not_run: Vec<String>,
    pub downgrades: Vec<String>,
    /// With --strict, downgrades are ignored.
    pub strict: bool,
    pub faults: Vec<String>,
    /// Undo the run queued and could not finish (a failed undo, or one an interruption cut off):
    /// changes still in the org, for someone to put back by hand.
    pub undo_outstanding: Vec<String>,
    /// Where the gate's client leaves out what the MCP authorization spec asks of clients, because
    /// the target file says so, with its reason.
    pub client_deviations: Vec<String>,
    /// The requests the run sent to the target, by kind, and its floor in round trips.
    pub requests: steps::traffic::Summary,
    /// What changed since the drift baseline the run was given, if any.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub drift: Option<crate::baseline::Drift>,
}

pub fn write_all(dir: &Path, info: &RunInfo, results: &[ControlResult]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    atomic_write(&dir.join("junit.xml"), &junit::render(info, results))?;
    atomic_write(&dir.join("results.json"), &json::render(info, results))?;
    atomic_write(&dir.join("report.html"), &html::render(info, results))?;
    let summary = markdown::render(info, results);
    atomic_write(&dir.join("summary.md"), summary.as_bytes())?;
    atomic_write(&dir.join("results.sarif"), sarif::render(info, results).as_bytes())?;
    // GitHub Actions shows this file on the job's page; steps append to it.
    if let Some(path) = std::env::var_os("GITHUB_STEP_SUMMARY").filter(|p| !p.is_empty()) {
        use std::io::Write;
        std::fs::OpenOptions::new().create(true).append(true).open(path)?.write_all(summary.as_bytes())?;
    }
    Ok(())
}

/// `audit-plan.json`: the calls the audit scenarios made, for `audit reconcile` to find in the
/// org's event log files later. Written only when an audit scenario ran.
pub fn write_audit_plan(
    dir: &Path,
    info: &RunInfo,
    results: &[ControlResult],
    secrets: &steps::evidence::Secrets,
) -> std::io::Result<()> {
    let calls: Vec<steps::audit_plan::PlannedCall> = results.iter().flat_map(|r| r.planned.iter().cloned()).collect();
    if calls.is_empty() {
        return Ok(());
    }
    let plan = steps::audit_plan::AuditPlan {
        run_id: format!("{}@{}", info.target, info.started),
        target: info.target.clone(),
        started: info.started.clone(),
        finished: info.finished.clone(),
        calls,
        secret_fingerprints: steps::audit_plan::fingerprints(secrets),
    };
    let text = serde_json::to_string_pretty(&plan).map_err(std::io::Error::other)?;
    atomic_write(&dir.join("audit-plan.json"), secrets.redact(&text).as_bytes())
}

pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}
