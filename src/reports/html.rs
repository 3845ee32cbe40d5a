//! `report.html`: one self-contained page for an auditor. The verdict and the checklist first,
//! then every control with what was sent and what came back (redacted). No external assets.

use super::RunInfo;
use crate::results::{ControlResult, GateVerdict, ItemVerdict, checklist};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}.passed{color:#0a6b0a}.failed{color:#b00020}.not-evidenced,.not-verifiable,.inconclusive{color:#8a6d00}.excluded,.not-applicable,.not-selected{color:#555}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap}details{margin:.4rem 0}";

pub fn render(info: &RunInfo, results: &[ControlResult]) -> Vec<u8> {
    let mut h = String::new();
    h.push_str(&format!("<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>headless-gate report</title><style>{STYLE}</style></head><body>"));
    h.push_str("<h1>headless-gate report</h1>");
    let class = match info.verdict {
        GateVerdict::Passed => "passed",
        GateVerdict::Failed => "failed",
        GateVerdict::Inconclusive | GateVerdict::Interrupted => "inconclusive",
    };
    h.push_str(&format!(
        "<p id=\"verdict\">Gate verdict: <strong><span class=\"{class}\">{}</span></strong></p>",
        info.verdict.label()
    ));
    if !info.reasons.is_empty() {
        h.push_str("<ul id=\"reasons\">");
        for why in &info.reasons {
            h.push_str(&format!("<li>{}</li>", esc(why)));
        }
        h.push_str("</ul>");
    }
    if info.interrupted {
        h.push_str("<p class=\"failed\"><strong>This run was interrupted.</strong> Controls that had not finished are not verifiable.</p>");
    }
    if !info.undo_outstanding.is_empty() {
        h.push_str("<p class=\"failed\" id=\"undo\"><strong>Changes the run could not undo</strong> (put them back in the org by hand):</p><ul>");
        for undo in &info.undo_outstanding {
            h.push_str(&format!("<li>{}</li>", esc(undo)));
        }
        h.push_str("</ul>");
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
    if !info.expired.is_empty() {
        h.push_str(&format!(
            "<p class=\"failed\">Expired exclusions (not honoured): {}</p>",
            esc(&info.expired.join("; "))
        ));
    }
    if !info.client_deviations.is_empty() {
        h.push_str(&format!(
            "<p>The gate's client, as the target file sets it: {}</p>",
            esc(&info.client_deviations.join("; "))
        ));
    }
    if !info.not_run.is_empty() {
        h.push_str(&format!("<p>Not run on this target: {}</p>", esc(&info.not_run.join("; "))));
    }
    let downgrades = match (info.strict, info.downgrades.is_empty()) {
        (true, _) => "none (--strict: every SHOULD counts as MUST)".to_string(),
        (false, true) => "none".to_string(),
        (false, false) => esc(&info.downgrades.join("; ")),
    };
    h.push_str(&format!("<p>SHOULD controls downgraded by the target file: {downgrades}</p>"));
    h.push_str("<h2>Rollout checklist</h2><table id=\"checklist\"><tr><th>Item</th><th>What it asks</th><th>Verdict</th><th>Rows</th></tr>");
    for i in checklist(results) {
        let class = match i.verdict {
            ItemVerdict::Passed => "passed",
            ItemVerdict::Failed => "failed",
            ItemVerdict::NotEvidenced => "not-evidenced",
        };
        h.push_str(&format!(
            "<tr><td>{}</td><td>{}</td><td class=\"{class}\">{}</td><td>{}</td></tr>",
            i.item,
            esc(i.title),
            i.verdict.label(),
            i.counts()
        ));
    }
    h.push_str("</table><h2>Controls</h2>");
    let mut sorted: Vec<&ControlResult> = results.iter().collect();
    sorted.sort_by(|a, b| a.id.cmp(&b.id).then(a.title.cmp(&b.title)));
    for r in sorted {
        let class = r.status.slug();
        let label = match (&r.downgraded, r.stale_exclusion()) {
            (Some(_), _) => format!("{} (SHOULD, downgraded)", r.status.label()),
            (None, true) => "excluded (stale: it passes)".to_string(),
            (None, false) => r.status.label().to_string(),
        };
        h.push_str(&format!(
            "<details{}><summary><span class=\"{class}\">{label}</span> {} <small>({}, {}; {})</small></summary>",
            if r.fails_gate() { " open" } else { "" },
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
        if let Some(cmd) = &r.reproduce {
            h.push_str(&format!("<p>Reproduce: <code>{}</code></p>", esc(cmd)));
        }
        h.push_str(&format!("<pre>{}</pre></details>", esc(&r.evidence.join("\n\n"))));
    }
    h.push_str("</body></html>");
    h.into_bytes()
}
