//! `report.html`: one self-contained page for an auditor. The verdict and the checklist first,
//! then every control with what was sent and what came back (redacted). No external assets.

use super::RunInfo;
use crate::results::{ControlResult, ItemVerdict, Status, checklist};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}.passed{color:#0a6b0a}.failed{color:#b00020}.not-evidenced{color:#8a6d00}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap}details{margin:.4rem 0}";

pub fn render(info: &RunInfo, results: &[ControlResult]) -> Vec<u8> {
    let passed = super::gate_passed(results) && !info.interrupted;
    let mut h = String::new();
    h.push_str(&format!("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>headless-gate report</title><style>{STYLE}</style></head><body>"));
    h.push_str("<h1>headless-gate report</h1>");
    let verdict = if passed { "<span class=\"passed\">PASSED</span>" } else { "<span class=\"failed\">FAILED</span>" };
    h.push_str(&format!("<p id=\"verdict\">Gate verdict: <strong>{verdict}</strong></p>"));
    if info.interrupted {
        h.push_str("<p class=\"failed\"><strong>This run was interrupted.</strong> Controls that had not finished are missing.</p>");
    }
    h.push_str(&format!(
        "<p>Target: {} · {} {} · started {} · finished {}</p>",
        esc(&info.target),
        info.tool,
        info.version,
        esc(&info.started),
        esc(&info.finished)
    ));
    if !info.faults.is_empty() {
        h.push_str(&format!("<p>Faults switched on in the mock: {}</p>", esc(&info.faults.join(", "))));
    }
    let exclusions = if info.exclusions.is_empty() { "none".to_string() } else { esc(&info.exclusions.join("; ")) };
    h.push_str(&format!("<p>Exclusions: {exclusions}</p>"));
    let downgrades = match (info.strict, info.downgrades.is_empty()) {
        (true, _) => "none (--strict: every SHOULD counts as MUST)".to_string(),
        (false, true) => "none".to_string(),
        (false, false) => esc(&info.downgrades.join("; ")),
    };
    h.push_str(&format!("<p>SHOULD controls downgraded by the target file: {downgrades}</p>"));
    h.push_str("<h2>Rollout checklist</h2><table id=\"checklist\"><tr><th>Item</th><th>What it asks</th><th>Verdict</th><th>Controls passed</th><th>Controls failed</th></tr>");
    for i in checklist(results) {
        let class = match i.verdict {
            ItemVerdict::Passed => "passed",
            ItemVerdict::Failed => "failed",
            ItemVerdict::NotEvidenced => "not-evidenced",
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td><td>{}</td></tr>",
            i.item,
            esc(i.title),
            i.verdict.label(),
            i.passed,
            i.failed
        ));
    }
    h.push_str("</table><h2>Controls</h2>");
    let mut sorted: Vec<&ControlResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id).then(a.title.cmp(&b.title)));
    for r in sorted {
        let (class, label) = match (r.status, &r.downgraded) {
            (Status::Passed, _) => ("passed", "passed"),
            (Status::Failed, None) => ("failed", "FAILED"),
            (Status::Failed, Some(_)) => ("not-evidenced", "FAILED (SHOULD, downgraded)"),
            (Status::Excluded, _) => ("not-evidenced", "excluded"),
        };
        h.push_str(&format!(
            "<details{}><summary><span class=\"{class}\">{label}</span> {} <small>({}, {}; {})</small></summary>",
            if r.status == Status::Failed { " open" } else { "" },
            esc(&r.title),
            esc(&r.severity),
            esc(&r.checklist.join(", ")),
            esc(&r.specs.join(", "))
        ));
        if let Some(m) = &r.message {
            h.push_str(&format!("<p class=\"{class}\">{}</p>", esc(m)));
        }
        if let Some(why) = &r.downgraded {
            h.push_str(&format!("<p>Downgraded by the target file: {}</p>", esc(why)));
        }
        h.push_str(&format!("<pre>{}</pre></details>", esc(&r.evidence.join("\n\n"))));
    }
    h.push_str("</body></html>");
    h.into_bytes()
}
