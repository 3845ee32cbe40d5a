//! `report.html`: one self-contained page for an auditor. The verdict and the checklist first,
//! then the controls by checklist item, what fails the gate first, each with what it checks, the
//! spec, what to change, how to run it again and what was sent and came back (redacted, with
//! headers). A filter by outcome, area and text; each item starts a page when printed. No
//! external assets.

use super::RunInfo;
use crate::results::{ControlResult, GateVerdict, ItemVerdict, checklist};

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;")
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:2rem;max-width:70rem}table{border-collapse:collapse}td,th{border:1px solid #999;padding:.3rem .6rem;text-align:left}.passed{color:#0a6b0a}.failed{color:#b00020}.not-evidenced,.not-verifiable,.inconclusive{color:#8a6d00}.excluded,.not-applicable,.not-selected{color:#555}pre{background:#f4f4f4;padding:.6rem;overflow-x:auto;white-space:pre-wrap}details{margin:.4rem 0}.fix{background:#fff4e5;padding:.4rem}@media print{#filter{display:none}body{margin:0;max-width:none}section.item{break-before:page}pre{white-space:pre-wrap;word-break:break-all}}";

/// One control row: its outcome and title, what it checks and against which spec, what to change
/// when it fails, how to run it again, and the redacted exchanges.
fn row(r: &ControlResult) -> String {
    let class = r.status.slug();
    let label = match (&r.downgraded, r.stale_exclusion()) {
        (Some(_), _) => format!("{} (SHOULD, downgraded)", r.status.label()),
        (None, true) => "excluded (stale: it passes)".to_string(),
        (None, false) => r.status.label().to_string(),
    };
    let area = r.id.split('-').nth(1).unwrap_or_default();
    let specs = if r.specs.is_empty() { String::new() } else { format!("; {}", r.specs.join(", ")) };
    let mut h = format!(
        "<details class=\"row\" data-outcome=\"{class}\" data-area=\"{}\"{}><summary><span class=\"{class}\">{label}</span> {} <small>({}, {}{})</small></summary>",
        esc(area),
        if r.fails_gate() { " open" } else { "" },
        esc(&r.title),
        esc(&r.severity),
        esc(&r.checklist.join(", ")),
        esc(&specs)
    );
    let intent = r.title.strip_prefix(&r.id).unwrap_or(&r.title).trim();
    let spec = if r.specs.is_empty() {
        String::new()
    } else {
        format!(" <small>(spec: {})</small>", esc(&r.specs.join(", ")))
    };
    h.push_str(&format!("<p>Checks that {}{spec}</p>", esc(intent)));
    if let Some(m) = &r.message {
        h.push_str(&format!("<p class=\"{class}\">{}</p>", esc(m)));
    }
    if let Some(fix) = super::advice::fix(&r.id).filter(|_| r.fails_gate()) {
        h.push_str(&format!("<p class=\"fix\"><strong>To fix:</strong> {}</p>", esc(fix)));
    }
    if let Some(why) = &r.downgraded {
        h.push_str(&format!("<p>Downgraded by the target file: {}</p>", esc(why)));
    }
    if let Some(cmd) = &r.reproduce {
        h.push_str(&format!("<p>Reproduce: <code>{}</code></p>", esc(cmd)));
    }
    if let Some(curl) = &r.curl {
        h.push_str(&format!("<p>The last request, by hand:</p><pre class=\"curl\">{}</pre>", esc(curl)));
    }
    h.push_str(&format!("<pre>{}</pre></details>", esc(&r.evidence.join("\n\n"))));
    h
}

/// Filters by outcome, area and text (inline script; without it every row shows).
fn filter_bar(results: &[ControlResult]) -> String {
    let mut outcomes: Vec<(&str, &str)> = results.iter().map(|r| (r.status.slug(), r.status.label())).collect();
    outcomes.sort();
    outcomes.dedup();
    let mut areas: Vec<&str> = results.iter().filter_map(|r| r.id.split('-').nth(1)).collect();
    areas.sort();
    areas.dedup();
    let mut h = String::from(
        "<h2>Controls</h2><p id=\"filter\">Show <select id=\"f-outcome\"><option value=\"\">every outcome</option>",
    );
    for (slug, label) in outcomes {
        h.push_str(&format!("<option value=\"{slug}\">{label}</option>"));
    }
    h.push_str("</select> <select id=\"f-area\"><option value=\"\">every area</option>");
    for a in areas {
        h.push_str(&format!("<option value=\"{0}\">{0}</option>", esc(a)));
    }
    h.push_str("</select> <input id=\"f-text\" type=\"search\" placeholder=\"text\"></p>");
    h
}

const SCRIPT: &str = "<script>(()=>{const v=id=>document.getElementById(id).value;const f=()=>{const o=v('f-outcome'),a=v('f-area'),t=v('f-text').toLowerCase();document.querySelectorAll('details.row').forEach(d=>{d.hidden=(o&&d.dataset.outcome!==o)||(a&&d.dataset.area!==a)||(t&&!d.textContent.toLowerCase().includes(t))});document.querySelectorAll('section.item').forEach(s=>{s.hidden=!s.querySelector('details.row:not([hidden])')})};['f-outcome','f-area','f-text'].forEach(id=>document.getElementById(id).addEventListener('input',f));window.addEventListener('beforeprint',()=>document.querySelectorAll('details.row').forEach(d=>{d.open=true}))})();</script>";

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
    h.push_str("</table>");
    h.push_str(&filter_bar(results));
    // Grouped by checklist item (a row under its first item), what needs a look first.
    let items = checklist(results);
    let mut groups: Vec<(String, String, Vec<&ControlResult>)> =
        items.iter().map(|i| (i.item.to_string(), format!("{} {}", i.item, i.title), Vec::new())).collect();
    groups.push(("other".into(), "Not on the checklist".into(), Vec::new()));
    for r in results {
        let at = r.checklist.first().and_then(|c| groups.iter().position(|g| &g.0 == c)).unwrap_or(groups.len() - 1);
        groups[at].2.push(r);
    }
    // Items with a row that fails the gate come first (the order is stable otherwise).
    groups.sort_by_key(|g| !g.2.iter().any(|r| r.fails_gate()));
    for (key, heading, mut rows) in groups.into_iter().filter(|g| !g.2.is_empty()) {
        rows.sort_by_key(|r| (!r.fails_gate(), r.status.slug() == "passed", r.id.clone(), r.title.clone()));
        let verdict = items.iter().find(|i| i.item == key).map(|i| i.verdict.label()).unwrap_or_default();
        h.push_str(&format!(
            "<section class=\"item\" id=\"item-{}\"><h2>{} <small>{verdict}</small></h2>",
            esc(&key),
            esc(&heading)
        ));
        for r in rows {
            h.push_str(&row(r));
        }
        h.push_str("</section>");
    }
    h.push_str(SCRIPT);
    h.push_str("</body></html>");
    h.into_bytes()
}
