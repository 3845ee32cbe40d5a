//! The authorization drift baseline: every row's outcome and every allow/deny decision a run
//! observed, in a file the team commits (`headless-gate baseline write`). A later run with
//! `--baseline FILE` fails on any decision that went from deny to allow, and names the rows fixed
//! and broken since, also as a Markdown table for a pull-request comment (`drift.md`).

use crate::results::{ControlResult, Outcome};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;
use steps::decisions::Decision;

/// The format this build writes and reads.
pub const FORMAT: u32 = 1;

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RowOutcome {
    pub id: String,
    pub title: String,
    /// The outcome as results.json names it (`passed`, `failed`, `not verifiable` ...).
    pub outcome: String,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub format: u32,
    /// The run it was written from: its target and when it finished.
    pub target: String,
    pub finished: String,
    pub rows: Vec<RowOutcome>,
    pub decisions: Vec<Decision>,
}

impl Baseline {
    /// From a run's rows (rows not selected are left out: they say nothing).
    pub fn of(target: &str, finished: &str, results: &[ControlResult]) -> Baseline {
        let rows = results
            .iter()
            .filter(|r| r.status != Outcome::NotSelected)
            .map(|r| RowOutcome { id: r.id.clone(), title: r.title.clone(), outcome: name(r.status) })
            .collect();
        Baseline {
            format: FORMAT,
            target: target.to_string(),
            finished: finished.to_string(),
            rows,
            decisions: merged(results.iter().flat_map(|r| r.decisions.iter().cloned())),
        }
    }

    /// From a run's `results.json`.
    pub fn from_results_json(text: &str) -> Result<Baseline, String> {
        let v: Value = serde_json::from_str(text).map_err(|e| format!("not JSON: {e}"))?;
        let controls = v["controls"].as_array().ok_or("no `controls` list: not a headless-gate results.json")?;
        let mut rows = Vec::new();
        let mut decisions = Vec::new();
        for (i, c) in controls.iter().enumerate() {
            let field = |k: &str| c[k].as_str().map(str::to_string).ok_or_else(|| format!("controls[{i}]: no `{k}`"));
            let outcome = field("status")?;
            if outcome != name(Outcome::NotSelected) {
                rows.push(RowOutcome { id: field("id")?, title: field("title")?, outcome });
            }
            if let Some(ds) = c.get("decisions") {
                let ds: Vec<Decision> =
                    serde_json::from_value(ds.clone()).map_err(|e| format!("controls[{i}].decisions: {e}"))?;
                decisions.extend(ds);
            }
        }
        Ok(Baseline {
            format: FORMAT,
            target: v["run"]["target"].as_str().unwrap_or_default().to_string(),
            finished: v["run"]["finished"].as_str().unwrap_or_default().to_string(),
            rows,
            decisions: merged(decisions),
        })
    }

    /// Reads a baseline file; the error names the file and what is wrong with it.
    pub fn read(path: &Path) -> Result<Baseline, String> {
        let text = std::fs::read_to_string(path).map_err(|e| format!("cannot read {}: {e}", path.display()))?;
        let b: Baseline =
            serde_json::from_str(&text).map_err(|e| format!("{} is not a baseline file: {e}", path.display()))?;
        if b.format != FORMAT {
            return Err(format!("{}: format {} (this build reads format {FORMAT})", path.display(), b.format));
        }
        Ok(b)
    }

    pub fn to_json(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default() + "\n"
    }
}

/// An outcome as results.json writes it (`passed`, `not verifiable` ...).
fn name(o: Outcome) -> String {
    serde_json::to_value(o).ok().and_then(|v| v.as_str().map(str::to_string)).unwrap_or_default()
}

/// One decision per key: where one run saw the same request both allowed and denied, allowed
/// (the more open answer is the one to hold the target to).
fn merged(all: impl IntoIterator<Item = Decision>) -> Vec<Decision> {
    let mut by_key: BTreeMap<String, Decision> = BTreeMap::new();
    for d in all {
        by_key.entry(d.key()).and_modify(|e| e.allowed |= d.allowed).or_insert(d);
    }
    by_key.into_values().collect()
}

/// What changed since the baseline.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Drift {
    /// Denied in the baseline, allowed now: each fails the gate.
    pub opened: Vec<String>,
    /// Allowed in the baseline, denied now.
    pub closed: Vec<String>,
    /// Rows that passed in the baseline and do not now: (title, then, now).
    pub broken: Vec<(String, String, String)>,
    /// Rows that did not pass in the baseline and pass now.
    pub fixed: Vec<(String, String, String)>,
    /// Decisions this run observed that the baseline does not hold (allowed ones first).
    pub new_decisions: Vec<String>,
    /// Baseline decisions this run did not observe (a row not selected, not reached, or renamed).
    pub unobserved: usize,
    /// The baseline was written against another target: (then, now).
    pub target_changed: Option<(String, String)>,
}

impl Drift {
    pub fn fails_gate(&self) -> bool {
        !self.opened.is_empty()
    }

    /// One line for the verdict's reasons.
    pub fn reason(&self) -> String {
        format!(
            "drift since the baseline: {} denial(s) became allowed, {} allow(s) became denied, {} row(s) broken, {} fixed",
            self.opened.len(),
            self.closed.len(),
            self.broken.len(),
            self.fixed.len()
        )
    }
}

pub fn compare(base: &Baseline, now: &Baseline) -> Drift {
    let mut d = Drift::default();
    if base.target != now.target {
        d.target_changed = Some((base.target.clone(), now.target.clone()));
    }
    let then: BTreeMap<String, bool> = base.decisions.iter().map(|x| (x.key(), x.allowed)).collect();
    let mut seen = 0;
    for x in &now.decisions {
        match then.get(&x.key()) {
            Some(false) if x.allowed => d.opened.push(x.key()),
            Some(true) if !x.allowed => d.closed.push(x.key()),
            Some(_) => {}
            None => d.new_decisions.push(format!("{} ({})", x.key(), x.verb())),
        }
        seen += usize::from(then.contains_key(&x.key()));
    }
    d.new_decisions.sort_by_key(|s| !s.ends_with("(allow)"));
    d.unobserved = then.len() - seen;
    let rows: BTreeMap<&str, &str> = base.rows.iter().map(|r| (r.title.as_str(), r.outcome.as_str())).collect();
    for r in &now.rows {
        let Some(before) = rows.get(r.title.as_str()) else { continue };
        let passed = name(Outcome::Passed);
        if *before == passed && r.outcome != passed {
            d.broken.push((r.title.clone(), before.to_string(), r.outcome.clone()));
        } else if *before != passed && r.outcome == passed {
            d.fixed.push((r.title.clone(), before.to_string(), r.outcome.clone()));
        }
    }
    d
}

fn cell(s: &str) -> String {
    s.replace('|', "\\|").replace('\n', " ")
}

/// The drift as Markdown for a pull-request comment (`drift.md`).
pub fn markdown(d: &Drift, baseline: &Path) -> String {
    format!("## headless-gate: drift since `{}`\n\n{}", baseline.display(), table(d))
}

/// The changes as a Markdown table, then what the baseline does not hold.
pub fn table(d: &Drift) -> String {
    let mut md = String::new();
    if let Some((then, now)) = &d.target_changed {
        md.push_str(&format!(
            "**The baseline was written against {}; this run is against {}.**\n\n",
            cell(then),
            cell(now)
        ));
    }
    if d.opened.is_empty() && d.closed.is_empty() && d.broken.is_empty() && d.fixed.is_empty() {
        md.push_str("No decision and no row changed since the baseline.\n");
    } else {
        md.push_str("| change | what | baseline | now |\n|---|---|---|---|\n");
        for k in &d.opened {
            md.push_str(&format!("| **opened** (fails the gate) | {} | deny | allow |\n", cell(k)));
        }
        for k in &d.closed {
            md.push_str(&format!("| closed | {} | allow | deny |\n", cell(k)));
        }
        for (t, a, b) in &d.broken {
            md.push_str(&format!("| broken | {} | {a} | {b} |\n", cell(t)));
        }
        for (t, a, b) in &d.fixed {
            md.push_str(&format!("| fixed | {} | {a} | {b} |\n", cell(t)));
        }
    }
    if !d.new_decisions.is_empty() {
        md.push_str(&format!(
            "\n{} decision(s) not in the baseline (write it again to hold them): {}\n",
            d.new_decisions.len(),
            d.new_decisions.iter().take(10).map(|s| format!("`{}`", cell(s))).collect::<Vec<_>>().join(", ")
        ));
    }
    if d.unobserved > 0 {
        md.push_str(&format!("\n{} baseline decision(s) were not observed in this run.\n", d.unobserved));
    }
    md
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decision(what: &str, allowed: bool) -> Decision {
        Decision { persona: "restricted".into(), surface: "REST".into(), what: what.into(), allowed }
    }

    fn baseline(decisions: Vec<Decision>, rows: &[(&str, &str)]) -> Baseline {
        Baseline {
            format: FORMAT,
            target: "mock".into(),
            finished: "now".into(),
            rows: rows
                .iter()
                .map(|(t, o)| RowOutcome { id: "HG-X-01".into(), title: t.to_string(), outcome: o.to_string() })
                .collect(),
            decisions,
        }
    }

    #[test]
    fn a_deny_that_became_an_allow_fails_and_every_change_is_named() {
        let base = baseline(
            vec![decision("GET a", false), decision("GET b", true), decision("GET c", false)],
            &[("row one", "passed"), ("row two", "failed"), ("row three", "passed")],
        );
        let now = baseline(
            vec![decision("GET a", true), decision("GET b", false), decision("GET d", true)],
            &[("row one", "failed"), ("row two", "passed"), ("row three", "passed")],
        );
        let d = compare(&base, &now);
        assert!(d.fails_gate());
        assert_eq!(d.opened, ["restricted | REST | GET a"]);
        assert_eq!(d.closed, ["restricted | REST | GET b"]);
        assert_eq!(d.broken, [("row one".to_string(), "passed".to_string(), "failed".to_string())]);
        assert_eq!(d.fixed, [("row two".to_string(), "failed".to_string(), "passed".to_string())]);
        assert_eq!(d.new_decisions, ["restricted | REST | GET d (allow)"]);
        assert_eq!(d.unobserved, 1);
        let md = markdown(&d, Path::new("baseline.json"));
        assert!(md.contains("| **opened** (fails the gate) | restricted \\| REST \\| GET a | deny | allow |"), "{md}");
        assert!(md.contains("| broken | row one | passed | failed |"), "{md}");
    }

    #[test]
    fn the_same_decisions_are_no_drift_and_a_mixed_one_counts_as_allowed() {
        let b = baseline(merged([decision("GET a", false), decision("GET a", true)]), &[("row", "passed")]);
        assert_eq!(b.decisions, [decision("GET a", true)]);
        let d = compare(&b, &b.clone());
        assert_eq!(d, Drift::default());
        assert!(markdown(&d, Path::new("b.json")).contains("No decision and no row changed"));
    }

    #[test]
    fn a_file_of_another_format_or_shape_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("b.json");
        std::fs::write(&p, r#"{"format": 9, "target": "", "finished": "", "rows": [], "decisions": []}"#).unwrap();
        assert!(Baseline::read(&p).unwrap_err().ends_with("format 9 (this build reads format 1)"));
        std::fs::write(&p, "{}").unwrap();
        assert!(Baseline::read(&p).unwrap_err().contains("is not a baseline file"));
        assert!(Baseline::from_results_json("{}").unwrap_err().contains("no `controls` list"));
    }
}
