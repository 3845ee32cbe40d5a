//! One result per control row: what the reports and the console summary are made of. The row's
//! outcome is decided here (`Outcome::of_run`), and so are the checklist items' and the gate's
//! verdicts (`checklist`, `gate_verdict`): the writers only render.

use serde::Serialize;

/// The rollout checklist; the gate gives a verdict per item.
pub const CHECKLIST: &[(&str, &str)] = &[
    ("C1", "use case documented"),
    ("C2", "smallest tool set for the persona"),
    ("C3", "dedicated External Client App"),
    ("C4", "negative tests for restricted users"),
    ("C5", "custom code reviewed for sharing/CRUD/FLS/system mode"),
    ("C6", "human-approval actions decided"),
    ("C7", "monitoring reconstructs user, tool and token activity"),
    ("C8", "revocation and incident response tested"),
];

/// How a control row ended: exactly one of these (CONTROLS.md). Serialized, labelled and printed
/// with the same words everywhere.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum Outcome {
    #[serde(rename = "passed")]
    Passed,
    #[serde(rename = "failed")]
    Failed,
    /// The control applies, but this target gives the gate no way to check it; the message says
    /// what is missing. Counts against the gate like a failure unless excluded by ID.
    #[serde(rename = "not verifiable")]
    NotVerifiable,
    /// The catalog says it does not apply to this target's declared kind.
    #[serde(rename = "not applicable")]
    NotApplicable,
    /// Excluded by ID in the target file, with its reason.
    #[serde(rename = "excluded")]
    Excluded,
    /// Outside the run's `--tags`.
    #[serde(rename = "not selected")]
    NotSelected,
}

impl Outcome {
    pub const ALL: [Outcome; 6] = [
        Outcome::Passed,
        Outcome::Failed,
        Outcome::NotVerifiable,
        Outcome::NotApplicable,
        Outcome::Excluded,
        Outcome::NotSelected,
    ];

    /// The words every report uses.
    pub fn label(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotVerifiable => "not verifiable",
            Outcome::NotApplicable => "not applicable",
            Outcome::Excluded => "excluded",
            Outcome::NotSelected => "not selected",
        }
    }

    /// A CSS class / file-safe form of the label.
    pub fn slug(self) -> &'static str {
        match self {
            Outcome::Passed => "passed",
            Outcome::Failed => "failed",
            Outcome::NotVerifiable => "not-verifiable",
            Outcome::NotApplicable => "not-applicable",
            Outcome::Excluded => "excluded",
            Outcome::NotSelected => "not-selected",
        }
    }

    /// The outcome of a row that ran, from its failure text (None: every step passed). A step
    /// that cannot check reports `steps::world::StepError::NotVerifiable` / `NotApplicable`, whose
    /// text starts with the prefix read here; anything else that stopped the scenario is a failure.
    pub fn of_run(failure: Option<&str>) -> (Outcome, Option<String>) {
        let Some(text) = failure else { return (Outcome::Passed, None) };
        let text = text.trim();
        for (prefix, outcome) in [
            (steps::world::NOT_VERIFIABLE, Outcome::NotVerifiable),
            (steps::world::NOT_APPLICABLE, Outcome::NotApplicable),
        ] {
            if let Some(reason) = text.strip_prefix(prefix) {
                return (outcome, Some(reason.lines().next().unwrap_or_default().trim().to_string()));
            }
        }
        (Outcome::Failed, Some(one_line(text)))
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ControlResult {
    /// `HG-AREA-NN`.
    pub id: String,
    /// The scenario's name (it starts with the ID).
    pub title: String,
    pub feature: String,
    pub checklist: Vec<String>,
    /// MUST or SHOULD.
    pub severity: String,
    pub specs: Vec<String>,
    /// A positive twin (the same persona succeeding where it should).
    pub positive: bool,
    pub status: Outcome,
    /// One line: "expected ..., observed ..." when failed; the reason for every other outcome
    /// but passed.
    pub message: Option<String>,
    pub duration_ms: u128,
    /// Why a failed SHOULD does not fail the gate here (from the target file), if it does not.
    pub downgraded: Option<String>,
    /// An excluded row that was still run for information: what it would have been. `passed`
    /// here is a stale exclusion.
    pub informational: Option<Outcome>,
    /// The redacted transcript of every exchange the scenario made.
    pub evidence: Vec<String>,
    /// For a failed or not-verifiable row: the command that runs its control again (secrets stay
    /// in the environment variables the target file names).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reproduce: Option<String>,
    /// For a failed row: the scenario's last request as a curl command, each secret an
    /// environment variable named by its kind (`steps::reproduce`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub curl: Option<String>,
    /// The allow/deny decisions the row observed (persona × surface × what), for the drift
    /// baseline.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub decisions: Vec<steps::decisions::Decision>,
    /// The row's tags (feature, scenario and example tags), for selection.
    #[serde(skip)]
    pub tags: Vec<String>,
    /// The calls the event log must show (HG-AUD-01..04), for `audit-plan.json`.
    #[serde(skip)]
    pub planned: Vec<steps::audit_plan::PlannedCall>,
}

const SPEC_PREFIXES: &[&str] = &["rfc", "mcp-", "salesforce-", "owasp"];

impl ControlResult {
    /// Classifies a scenario's tags (feature tags included).
    pub fn from_tags(title: &str, feature: &str, tags: &[String]) -> ControlResult {
        /// `HG-RS-01`, `ACME-07`: capitals and digits in dash-separated parts, ending in a number.
        fn is_control_id(w: &str) -> bool {
            let parts: Vec<&str> = w.split('-').collect();
            parts.len() >= 2
                && parts
                    .iter()
                    .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_uppercase() || c.is_ascii_digit()))
                && parts.last().is_some_and(|p| p.chars().all(|c| c.is_ascii_digit()))
        }
        // The title starts with the control ID (a scenario tagged with two IDs names the one it is):
        // the catalog's HG-..., or a team's own (ACME-01) in its own feature files.
        let id = title
            .split_whitespace()
            .next()
            .filter(|w| is_control_id(w))
            .map(str::to_string)
            .or_else(|| tags.iter().find(|t| t.starts_with("HG-")).cloned())
            .unwrap_or_else(|| "HG-UNTAGGED".into());
        let mut checklist: Vec<String> = tags.iter().filter(|t| t.len() == 2 && t.starts_with('C')).cloned().collect();
        checklist.dedup();
        let severity = if tags.iter().any(|t| t == "SHOULD") { "SHOULD" } else { "MUST" }.to_string();
        let specs = tags.iter().filter(|t| SPEC_PREFIXES.iter().any(|p| t.starts_with(p))).cloned().collect();
        ControlResult {
            id: id.clone(),
            title: title.to_string(),
            feature: feature.to_string(),
            checklist,
            severity,
            specs,
            positive: tags.iter().any(|t| t == "positive"),
            status: Outcome::Passed,
            message: None,
            duration_ms: 0,
            downgraded: None,
            informational: None,
            evidence: Vec::new(),
            reproduce: None,
            curl: None,
            decisions: Vec::new(),
            // The row's ID is one of its tags even where an outline's example row names it, so
            // `--tags @HG-PKCE-06` (and the reproduce command) select it.
            tags: tags.iter().cloned().chain((!tags.contains(&id)).then(|| id.clone())).collect(),
            planned: Vec::new(),
        }
    }

    /// The row counts against the gate: failed or not verifiable, unless a SHOULD the target
    /// downgraded.
    pub fn fails_gate(&self) -> bool {
        matches!(self.status, Outcome::Failed | Outcome::NotVerifiable) && self.downgraded.is_none()
    }

    /// An exclusion the control no longer needs: it was run for information and passed.
    pub fn stale_exclusion(&self) -> bool {
        self.status == Outcome::Excluded && self.informational == Some(Outcome::Passed)
    }
}

/// A checklist item's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ItemVerdict {
    Passed,
    Failed,
    NotEvidenced,
}

impl ItemVerdict {
    pub fn label(self) -> &'static str {
        match self {
            ItemVerdict::Passed => "PASSED",
            ItemVerdict::Failed => "FAILED",
            ItemVerdict::NotEvidenced => "NOT EVIDENCED",
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ItemSummary {
    pub item: &'static str,
    pub title: &'static str,
    pub verdict: ItemVerdict,
    /// Rows of the item per outcome, in `Outcome::ALL` order.
    pub passed: usize,
    pub failed: usize,
    pub not_verifiable: usize,
    pub not_applicable: usize,
    pub excluded: usize,
    pub not_selected: usize,
}

impl ItemSummary {
    /// "3 passed, 1 not verifiable": the non-zero counts.
    pub fn counts(&self) -> String {
        let n = [self.passed, self.failed, self.not_verifiable, self.not_applicable, self.excluded, self.not_selected];
        let parts: Vec<String> =
            Outcome::ALL.iter().zip(n).filter(|(_, n)| *n > 0).map(|(o, n)| format!("{n} {}", o.label())).collect();
        if parts.is_empty() { "no controls".into() } else { parts.join(", ") }
    }
}

/// Per item: PASSED only when at least one of its rows passed (one that is not a positive twin)
/// and none fails the gate (a failed or not verifiable MUST, or SHOULD not downgraded); FAILED
/// when one does; otherwise (every row excluded, not applicable or not selected, or only twins
/// passed) NOT EVIDENCED, never passed.
pub fn checklist(results: &[ControlResult]) -> Vec<ItemSummary> {
    CHECKLIST
        .iter()
        .map(|(item, title)| {
            let of_item: Vec<&ControlResult> =
                results.iter().filter(|r| r.checklist.iter().any(|c| c == item)).collect();
            let count = |o: Outcome| of_item.iter().filter(|r| r.status == o).count();
            // A passed twin alone shows the target works, not that it refuses: an item needs a
            // passed row that is not a positive twin.
            let refusal_seen = of_item.iter().any(|r| r.status == Outcome::Passed && !r.positive);
            let verdict = if of_item.iter().any(|r| r.fails_gate()) {
                ItemVerdict::Failed
            } else if refusal_seen {
                ItemVerdict::Passed
            } else {
                ItemVerdict::NotEvidenced
            };
            ItemSummary {
                item,
                title,
                verdict,
                passed: count(Outcome::Passed),
                failed: count(Outcome::Failed),
                not_verifiable: count(Outcome::NotVerifiable),
                not_applicable: count(Outcome::NotApplicable),
                excluded: count(Outcome::Excluded),
                not_selected: count(Outcome::NotSelected),
            }
        })
        .collect()
}

/// The gate's verdict, with what decided it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum GateVerdict {
    /// Every MUST (and every SHOULD not downgraded) passed or is excluded by ID with a reason.
    Passed,
    /// A row fails the gate, or an exclusion has expired.
    Failed,
    /// The evidence cannot carry a verdict: every positive twin failed (no working token, nothing
    /// answered), nothing passed, or controls the gate needs were not selected.
    Inconclusive,
    /// Ctrl-C, SIGTERM or SIGHUP: the reports are partial.
    Interrupted,
}

impl GateVerdict {
    pub fn label(self) -> &'static str {
        match self {
            GateVerdict::Passed => "PASSED",
            GateVerdict::Failed => "FAILED",
            GateVerdict::Inconclusive => "INCONCLUSIVE",
            GateVerdict::Interrupted => "INTERRUPTED",
        }
    }

    /// The process exit code (README: 0 passed, 1 failed, 2 usage or configuration error,
    /// 3 inconclusive, 130 interrupted).
    pub fn exit_code(self) -> u8 {
        match self {
            GateVerdict::Passed => 0,
            GateVerdict::Failed => 1,
            GateVerdict::Inconclusive => 3,
            GateVerdict::Interrupted => 130,
        }
    }
}

/// The gate's verdict and its reasons (one line each; empty when it passed).
#[derive(Debug, Clone, Serialize)]
pub struct Judgement {
    pub verdict: GateVerdict,
    pub reasons: Vec<String>,
}

/// The one place the gate's verdict is decided. `expired` lists exclusions past their date.
pub fn gate_verdict(results: &[ControlResult], expired: &[String], interrupted: bool) -> Judgement {
    if interrupted {
        return Judgement {
            verdict: GateVerdict::Interrupted,
            reasons: vec!["the run was interrupted: the reports are partial".into()],
        };
    }
    // What counts against the gate, listed whatever the verdict turns out to be.
    let mut reasons = Vec::new();
    let failing = results.iter().filter(|r| r.fails_gate()).count();
    if failing > 0 {
        reasons.push(format!("{failing} rows failed or are not verifiable"));
    }
    for x in expired {
        reasons.push(format!("exclusion expired: {x}"));
    }
    // Positive twins that ran: if none of them passed, the gate never saw the target work (no
    // working token, nothing answered) and no refusal it saw means anything.
    let positives: Vec<&ControlResult> =
        results.iter().filter(|r| r.positive && matches!(r.status, Outcome::Passed | Outcome::Failed)).collect();
    if !positives.is_empty() && positives.iter().all(|r| r.status != Outcome::Passed) {
        reasons.insert(
            0,
            format!(
                "every positive twin that ran ({}) failed: the gate never saw the target succeed, so no refusal means anything",
                positives.len()
            ),
        );
        return Judgement { verdict: GateVerdict::Inconclusive, reasons };
    }
    if !reasons.is_empty() {
        return Judgement { verdict: GateVerdict::Failed, reasons };
    }
    if !results.iter().any(|r| r.status == Outcome::Passed) {
        reasons.push("no control passed".into());
        return Judgement { verdict: GateVerdict::Inconclusive, reasons };
    }
    let unselected: std::collections::BTreeSet<&str> =
        results.iter().filter(|r| r.status == Outcome::NotSelected).map(|r| r.id.as_str()).collect();
    if !unselected.is_empty() {
        reasons.push(format!(
            "{} controls were not selected (--tags), so the checklist is not evidenced in full",
            unselected.len()
        ));
        return Judgement { verdict: GateVerdict::Inconclusive, reasons };
    }
    Judgement { verdict: GateVerdict::Passed, reasons }
}

/// The first "expected ..., observed ..." line of a failure, else its first line.
pub fn one_line(message: &str) -> String {
    let m = message.trim();
    let from = m.find("expected ").map(|i| &m[i..]).unwrap_or(m);
    from.lines().next().unwrap_or_default().trim().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tags(t: &[&str]) -> Vec<String> {
        t.iter().map(|s| s.to_string()).collect()
    }

    fn row(id: &str, item: &str, status: Outcome) -> ControlResult {
        let mut r = ControlResult::from_tags(&format!("{id} x"), "f", &tags(&[item]));
        r.status = status;
        r
    }

    #[test]
    fn classifies_tags() {
        let r =
            ControlResult::from_tags("HG-RT-05 x", "Refresh", &tags(&["C8", "oauth", "rfc9700", "HG-RT-05", "SHOULD"]));
        assert_eq!(r.id, "HG-RT-05");
        assert_eq!(r.checklist, vec!["C8"]);
        assert_eq!(r.severity, "SHOULD");
        assert_eq!(r.specs, vec!["rfc9700"]);
        assert!(!r.positive);
        let untagged = ControlResult::from_tags("HG-REDIR-03 variant", "Callbacks", &tags(&["C3"]));
        assert_eq!(untagged.id, "HG-REDIR-03");
    }

    #[test]
    fn outcomes_of_a_run_come_from_the_step_errors() {
        assert_eq!(Outcome::of_run(None), (Outcome::Passed, None));
        let (o, m) = Outcome::of_run(Some("Step panicked. expected 401, observed 200\nmore"));
        assert_eq!((o, m.as_deref()), (Outcome::Failed, Some("expected 401, observed 200")));
        let nv = steps::world::StepError::NotVerifiable("set app.metadata".into()).to_string();
        assert_eq!(Outcome::of_run(Some(&nv)), (Outcome::NotVerifiable, Some("set app.metadata".into())));
        let na = steps::world::StepError::NotApplicable("the token is opaque".into()).to_string();
        assert_eq!(Outcome::of_run(Some(&na)), (Outcome::NotApplicable, Some("the token is opaque".into())));
        // The prefix must open the text: a target's words quoted inside a failure do not count.
        let quoted = "expected 401, observed body 'not verifiable: x'";
        assert_eq!(Outcome::of_run(Some(quoted)).0, Outcome::Failed);
    }

    #[test]
    fn item_verdicts() {
        let items = checklist(&[
            row("HG-A-01", "C3", Outcome::Passed),
            row("HG-B-01", "C4", Outcome::Failed),
            row("HG-B-02", "C4", Outcome::Passed),
            row("HG-C-01", "C5", Outcome::Passed),
            row("HG-C-02", "C5", Outcome::NotVerifiable),
            row("HG-D-01", "C7", Outcome::Excluded),
            row("HG-D-02", "C7", Outcome::NotSelected),
            row("HG-E-01", "C8", Outcome::NotApplicable),
            row("HG-E-02", "C8", Outcome::Passed),
        ]);
        assert_eq!(items[0].verdict, ItemVerdict::NotEvidenced, "C1: no rows");
        assert_eq!(items[2].verdict, ItemVerdict::Passed);
        assert_eq!(items[3].verdict, ItemVerdict::Failed);
        assert_eq!(items[4].verdict, ItemVerdict::Failed, "a not verifiable MUST fails the item");
        assert_eq!(items[6].verdict, ItemVerdict::NotEvidenced, "all excluded or not selected: never passed");
        assert_eq!(items[6].counts(), "1 excluded, 1 not selected");
        assert_eq!(items[7].verdict, ItemVerdict::Passed);
    }

    #[test]
    fn an_item_with_only_its_twins_passed_is_not_evidenced() {
        let mut twin = row("HG-A-02", "C4", Outcome::Passed);
        twin.positive = true;
        let items = checklist(&[twin, row("HG-A-01", "C4", Outcome::NotApplicable)]);
        assert_eq!(items[3].verdict, ItemVerdict::NotEvidenced);
    }

    #[test]
    fn an_inconclusive_run_still_names_its_failures_and_expired_exclusions() {
        let mut twin = row("HG-A-02", "C3", Outcome::Failed);
        twin.positive = true;
        let j = gate_verdict(
            &[twin, row("HG-B-01", "C4", Outcome::Failed)],
            &["HG-C-01 (expired 2026-01-01)".into()],
            false,
        );
        assert_eq!(j.verdict, GateVerdict::Inconclusive);
        assert!(j.reasons[0].starts_with("every positive twin that ran (1) failed"), "{:?}", j.reasons);
        assert!(j.reasons.contains(&"2 rows failed or are not verifiable".to_string()), "{:?}", j.reasons);
        assert!(j.reasons.iter().any(|r| r.starts_with("exclusion expired: HG-C-01")), "{:?}", j.reasons);
    }

    #[test]
    fn a_downgraded_should_does_not_fail_its_item_or_the_gate() {
        let mut s = row("HG-B-01", "C4", Outcome::Failed);
        s.severity = "SHOULD".into();
        s.downgraded = Some("accepted risk".into());
        let rows = [s, row("HG-B-02", "C4", Outcome::Passed)];
        assert_eq!(checklist(&rows)[3].verdict, ItemVerdict::Passed);
        assert_eq!(gate_verdict(&rows, &[], false).verdict, GateVerdict::Passed);
    }

    #[test]
    fn gate_verdicts() {
        let pass = row("HG-A-01", "C3", Outcome::Passed);
        let mut twin = row("HG-A-02", "C3", Outcome::Failed);
        twin.positive = true;
        let v = |rows: &[ControlResult], expired: &[String]| gate_verdict(rows, expired, false).verdict;
        assert_eq!(v(std::slice::from_ref(&pass), &[]), GateVerdict::Passed);
        assert_eq!(v(&[pass.clone(), row("HG-B-01", "C4", Outcome::Failed)], &[]), GateVerdict::Failed);
        assert_eq!(v(&[pass.clone(), row("HG-B-01", "C4", Outcome::NotVerifiable)], &[]), GateVerdict::Failed);
        assert_eq!(v(&[pass.clone(), row("HG-B-01", "C4", Outcome::Excluded)], &[]), GateVerdict::Passed);
        assert_eq!(v(&[pass.clone(), row("HG-B-01", "C4", Outcome::NotApplicable)], &[]), GateVerdict::Passed);
        assert_eq!(v(&[pass.clone(), twin.clone()], &[]), GateVerdict::Inconclusive, "every positive twin failed");
        assert_eq!(v(&[row("HG-B-01", "C4", Outcome::Excluded)], &[]), GateVerdict::Inconclusive, "nothing passed");
        assert_eq!(v(&[pass.clone(), row("HG-B-01", "C4", Outcome::NotSelected)], &[]), GateVerdict::Inconclusive);
        assert_eq!(
            v(std::slice::from_ref(&pass), &["HG-B-01 (2026-01-01)".into()]),
            GateVerdict::Failed,
            "an expired exclusion"
        );
        assert_eq!(gate_verdict(&[pass], &[], true).verdict, GateVerdict::Interrupted);
        assert_eq!(v(&[], &[]), GateVerdict::Inconclusive, "an empty run never passes");
    }

    #[test]
    fn one_line_finds_the_expectation() {
        assert_eq!(
            one_line("Step panicked. Captured output: expected 401, observed 200\nmore"),
            "expected 401, observed 200"
        );
        assert_eq!(one_line("sign-in failed\nx"), "sign-in failed");
    }
}
