//! `summary.md`: the verdict, the checklist and what needs a look, in Markdown for a CI job page
//! (`$GITHUB_STEP_SUMMARY`) or a pull-request comment.

use super::RunInfo;
use crate::results::{self, ControlResult, Outcome};

pub fn render(info: &RunInfo, rows: &[ControlResult]) -> String {
    let mut s = format!("# headless-gate: {}\n\n", info.verdict.label());
    s.push_str(&format!("Target: {} · {} to {}", cell(&info.target), info.started, info.finished));
    if info.interrupted {
        s.push_str(" · **interrupted**");
    }
    s.push_str("\n\n");
    for why in &info.reasons {
        s.push_str(&format!("- {}\n", cell(why)));
    }
    s.push_str("\n| item | checklist | verdict | rows |\n|---|---|---|---|\n");
    for i in results::checklist(rows) {
        s.push_str(&format!("| {} | {} | {} | {} |\n", i.item, cell(i.title), i.verdict.label(), i.counts()));
    }
    let needs_look: Vec<&ControlResult> =
        rows.iter().filter(|r| matches!(r.status, Outcome::Failed | Outcome::NotVerifiable)).collect();
    if !needs_look.is_empty() {
        s.push_str(
            "\n## Failed or not verifiable\n\n| outcome | control | what was seen | reproduce |\n|---|---|---|---|\n",
        );
        for r in needs_look {
            let why = r.message.as_deref().unwrap_or_default();
            let rerun = r.reproduce.as_deref().map(|c| format!("`{}`", cell(c).replace('`', "'"))).unwrap_or_default();
            s.push_str(&format!("| {} | {} | {} | {rerun} |\n", r.status.label(), cell(&r.title), cell(why)));
        }
    }
    if info.requests.total > 0 {
        s.push_str(&format!("\n{}.\n", cell(&info.requests.line())));
    }
    if let Some(d) = &info.drift {
        s.push_str(&format!("\n## Drift since the baseline\n\n{}", crate::baseline::table(d)));
    }
    for undo in &info.undo_outstanding {
        s.push_str(&format!("\n**Not undone (put it back by hand):** {}\n", cell(undo)));
    }
    s
}

/// Text safe in a table cell: no line breaks, no column separators, no HTML.
fn cell(text: &str) -> String {
    text.replace(['\r', '\n'], " ").replace('|', "\\|").replace('<', "&lt;").replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cells_hold_any_text() {
        assert_eq!(cell("a|b\nc <script>"), "a\\|b c &lt;script&gt;");
    }
}
