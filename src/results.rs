//! One result per control run: what the reports and the console summary are made of. Filled by
//! the runner's after-hook from the scenario, its tags and the World's redacted evidence.

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

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Status {
    Passed,
    Failed,
    /// Not run: the target file excludes it, with a reason.
    Excluded,
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
    pub status: Status,
    /// One line, "expected ..., observed ...", when failed.
    pub message: Option<String>,
    pub duration_ms: u128,
    /// Why a failed SHOULD does not fail the gate here (from the target file), if it does not.
    pub downgraded: Option<String>,
    /// The redacted transcript of every exchange the scenario made.
    pub evidence: Vec<String>,
}

const SPEC_PREFIXES: &[&str] = &["rfc", "mcp-", "salesforce-", "owasp"];

impl ControlResult {
    /// Classifies a scenario's tags (feature tags included).
    pub fn from_tags(title: &str, feature: &str, tags: &[String]) -> ControlResult {
        // The title starts with the control ID (a scenario tagged with two IDs names the one it is).
        let id = title
            .split_whitespace()
            .next()
            .filter(|w| w.starts_with("HG-"))
            .map(str::to_string)
            .or_else(|| tags.iter().find(|t| t.starts_with("HG-")).cloned())
            .unwrap_or_else(|| "HG-UNTAGGED".into());
        let mut checklist: Vec<String> = tags.iter().filter(|t| t.len() == 2 && t.starts_with('C')).cloned().collect();
        checklist.dedup();
        let severity = if tags.iter().any(|t| t == "SHOULD") { "SHOULD" } else { "MUST" }.to_string();
        let specs = tags.iter().filter(|t| SPEC_PREFIXES.iter().any(|p| t.starts_with(p))).cloned().collect();
        ControlResult {
            id,
            title: title.to_string(),
            feature: feature.to_string(),
            checklist,
            severity,
            specs,
            positive: tags.iter().any(|t| t == "positive"),
            status: Status::Passed,
            message: None,
            duration_ms: 0,
            downgraded: None,
            evidence: Vec::new(),
        }
    }
}

impl ControlResult {
    /// A failure counts unless it is a SHOULD the target downgraded.
    pub fn fails_gate(&self) -> bool {
        self.status == Status::Failed && self.downgraded.is_none()
    }
}

/// A checklist item's verdict: every control evidencing it passed, one failed, or none ran.
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
    pub passed: usize,
    pub failed: usize,
}

pub fn checklist(results: &[ControlResult]) -> Vec<ItemSummary> {
    CHECKLIST
        .iter()
        .map(|(item, title)| {
            let of_item: Vec<&ControlResult> =
                results.iter().filter(|r| r.checklist.iter().any(|c| c == item)).collect();
            let failed = of_item.iter().filter(|r| r.status == Status::Failed).count();
            let verdict = match (of_item.len(), failed) {
                (0, _) => ItemVerdict::NotEvidenced,
                (_, 0) => ItemVerdict::Passed,
                _ => ItemVerdict::Failed,
            };
            ItemSummary { item, title, verdict, passed: of_item.len() - failed, failed }
        })
        .collect()
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
    fn item_verdicts() {
        let mut a = ControlResult::from_tags("HG-A-01", "f", &tags(&["C3"]));
        let mut b = ControlResult::from_tags("HG-B-01", "f", &tags(&["C4"]));
        b.status = Status::Failed;
        a.status = Status::Passed;
        let items = checklist(&[a, b]);
        assert_eq!(items[2].verdict, ItemVerdict::Passed);
        assert_eq!(items[3].verdict, ItemVerdict::Failed);
        assert_eq!(items[0].verdict, ItemVerdict::NotEvidenced);
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
