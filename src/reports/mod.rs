//! The run's reports: `junit.xml` for CI, `results.json` for tools, `report.html` for auditors.
//! Each is written to a temporary file and renamed, so a reader never sees half a report.

pub mod html;
pub mod json;
pub mod junit;

use crate::results::ControlResult;
use serde::Serialize;
use std::path::Path;

/// What the reports say about the run as a whole.
#[derive(Debug, Clone, Serialize)]
pub struct RunInfo {
    pub tool: &'static str,
    pub version: &'static str,
    pub target: String,
    pub started: String,
    pub finished: String,
    pub interrupted: bool,
    pub exclusions: Vec<String>,
    pub downgrades: Vec<String>,
    /// With --strict, downgrades are ignored.
    pub strict: bool,
    pub faults: Vec<String>,
}

pub fn write_all(dir: &Path, info: &RunInfo, results: &[ControlResult]) -> std::io::Result<()> {
    std::fs::create_dir_all(dir)?;
    atomic_write(&dir.join("junit.xml"), &junit::render(info, results))?;
    atomic_write(&dir.join("results.json"), &json::render(info, results))?;
    atomic_write(&dir.join("report.html"), &html::render(info, results))?;
    Ok(())
}

pub fn atomic_write(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("report");
    let tmp = path.with_file_name(format!(".{name}.{}.tmp", std::process::id()));
    std::fs::write(&tmp, bytes)?;
    std::fs::rename(&tmp, path)
}

/// The run's verdict from its results: failed if a control failed (a downgraded SHOULD aside) or
/// if nothing ran at all.
pub fn gate_passed(results: &[ControlResult]) -> bool {
    let ran = results.iter().any(|r| r.status != crate::results::Status::Excluded);
    ran && !results.iter().any(ControlResult::fails_gate)
}
