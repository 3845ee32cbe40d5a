//! `results.json`: the run's metadata, the checklist verdicts and every control with its evidence.
//! Schema (version 1):
//! `{schema, run: RunInfo, verdict: "passed"|"failed", checklist: [{item, title, verdict, passed,
//! failed}], controls: [{id, title, feature, checklist, severity, specs, positive, status, message,
//! duration_ms, evidence}]}`.

use super::RunInfo;
use crate::results::{ControlResult, checklist};
use serde_json::json;

pub fn render(info: &RunInfo, results: &[ControlResult]) -> Vec<u8> {
    let verdict = if super::gate_passed(results) && !info.interrupted { "passed" } else { "failed" };
    let doc = json!({
        "schema": "headless-gate/results/v1",
        "run": info,
        "verdict": verdict,
        "checklist": checklist(results),
        "controls": results,
    });
    serde_json::to_vec_pretty(&doc).expect("serializable")
}
