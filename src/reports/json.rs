//! `results.json`: the run's metadata, the checklist verdicts and every control with its evidence.
//! Schema (version 2):
//! `{schema, run: RunInfo, verdict: "passed"|"failed"|"inconclusive"|"interrupted", reasons,
//! checklist: [{item, title, verdict, passed, failed, not_verifiable, not_applicable, excluded,
//! not_selected}], controls: [{id, title, feature, checklist, severity, specs, positive, status,
//! message, duration_ms, downgraded, informational, evidence}]}`, where `status` is one of
//! "passed", "failed", "not verifiable", "not applicable", "excluded", "not selected", and every
//! catalog control has a row. `run.requests` counts what the run sent to the target:
//! `{total, by_kind: {discovery, login, token, rest, mcp, other}, rest_and_mcp, floor_round_trips,
//! floor_serial_round_trips, longest_scenario_round_trips}` (REST and MCP calls count against an
//! org's daily API limit; the floor times a round trip is the least time the run could take).

use super::RunInfo;
use crate::results::{ControlResult, checklist};
use serde_json::json;

pub fn render(info: &RunInfo, results: &[ControlResult]) -> Vec<u8> {
    let doc = json!({
        "schema": "headless-gate/results/v2",
        "run": info,
        "verdict": info.verdict,
        "reasons": info.reasons,
        "checklist": checklist(results),
        "controls": results,
    });
    serde_json::to_vec_pretty(&doc).expect("serializable")
}
