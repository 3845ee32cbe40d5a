//! `headless-gate selftest`: the fault matrix. The gate runs against the clean mock org and once
//! per fault (each in its own process with its own in-process mock org, several at once), and
//! every run is judged against the fault table: the clean org fails nothing; a fault fails every
//! row its table entry names, each with the message fragment it names, and nothing else. As in
//! wasmtime's spec runner, an expected failure that does not happen is itself an error: a fault
//! that slips through is a gate that cannot fail, and one caught only for another reason (a
//! sign-in error, a broken twin) is not caught.

use mock_org::faults::{Catch, PROFILES, TABLE};
use serde::Serialize;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

/// The clean org's row name.
pub const CLEAN: &str = "(clean org)";

/// A single run's wall-clock bound: far above a normal run (a few seconds), so only a hang hits it.
const RUN_TIMEOUT: Duration = Duration::from_secs(300);

/// One row of the matrix to run: the clean org, a fault, or a profile.
#[derive(Debug, Clone)]
pub struct Case {
    pub name: String,
    pub what: String,
    pub expected: Vec<Catch>,
}

/// Every row: the clean org first, then the table in order, then the profiles.
pub fn cases() -> Vec<Case> {
    let clean = Case { name: CLEAN.into(), what: "no fault: every control passes".into(), expected: Vec::new() };
    let faults =
        TABLE.iter().map(|s| Case { name: s.name.into(), what: s.what.into(), expected: s.caught_by.to_vec() });
    let profiles = PROFILES.iter().map(|p| Case {
        name: p.name.into(),
        what: p.what.into(),
        expected: p.faults.iter().flat_map(|f| mock_org::faults::spec(*f).caught_by.iter().copied()).collect(),
    });
    std::iter::once(clean).chain(faults).chain(profiles).collect()
}

/// What one run showed, judged against its row.
#[derive(Debug, Clone, Serialize)]
pub struct Row {
    pub fault: String,
    pub what: String,
    /// The controls the row names.
    pub expected: Vec<String>,
    /// Controls with a row that did not pass in the run (failed, not verifiable, not applicable
    /// beyond the clean org's own).
    pub failed: Vec<String>,
    /// Catches no failed row met ("row ~ 'message'"): the fault slipped through, or was caught
    /// for another reason.
    pub missed: Vec<String>,
    /// Failed rows no catch explains ("title: message"): caught by the wrong check, or a broken run.
    pub unexpected: Vec<String>,
    /// Catches met by a failed row with the named message.
    pub matched: usize,
    /// The run did not produce results (crash, timeout, usage error).
    pub error: Option<String>,
    pub duration_ms: u128,
}

impl Row {
    pub fn precise(&self) -> bool {
        self.error.is_none() && self.missed.is_empty() && self.unexpected.is_empty()
    }
}

fn controls_of(catches: &[Catch]) -> Vec<String> {
    let set: BTreeSet<String> = catches.iter().map(|c| c.control().to_string()).collect();
    set.into_iter().collect()
}

/// The rows the clean org does not pass, and why: the agent's servers offer no write tool for the
/// write probe. Any other row that does not pass, in any run, needs a catch.
const CLEAN_NOT_APPLICABLE: &[Catch] = &[
    Catch { row: "HG-SYS-02", says: "the persona can list no write tool" },
    // One HG-RS-06 row per audience policy: the mock's is the platform's, but under the faults
    // that set per-server audiences.
    Catch { row: "HG-RS-06", says: "the target declares one platform audience" },
    Catch { row: "HG-RS-06", says: "the target declares per-server token audiences" },
];

/// In a run of the stateless era (a fault that exists only there), the scenarios that need a
/// session are not applicable too.
const STATELESS_NOT_APPLICABLE: Catch = Catch { row: "HG-", says: "which has no sessions" };

/// Judges a run's results (`results.json`'s `controls`) against the row's catches: every catch
/// is met by a row that failed, is not verifiable or not applicable, with its message, and every
/// such row is explained by a catch (or is the clean org's own not-applicable row).
pub fn judge(case: &Case, controls: &serde_json::Value) -> Row {
    let failing: Vec<(&str, &str, &str)> = controls
        .as_array()
        .into_iter()
        .flatten()
        .filter(|c| c["status"] != "passed")
        .filter(|c| {
            let (title, message) = (c["title"].as_str().unwrap_or(""), c["message"].as_str().unwrap_or(""));
            let stateless = mock_org::faults::STATELESS_ERA.contains(&case.name.as_str());
            let allowed = CLEAN_NOT_APPLICABLE.iter().chain(stateless.then_some(&STATELESS_NOT_APPLICABLE));
            c["status"] != "not applicable" || !allowed.into_iter().any(|x| x.matches(title, message))
        })
        .map(|c| {
            (c["id"].as_str().unwrap_or(""), c["title"].as_str().unwrap_or(""), c["message"].as_str().unwrap_or(""))
        })
        .collect();
    let met = |c: &Catch| failing.iter().any(|(_, title, message)| c.matches(title, message));
    let missed: Vec<String> =
        case.expected.iter().filter(|c| !met(c)).map(|c| format!("{} ~ '{}'", c.row, c.says)).collect();
    let unexpected = failing
        .iter()
        .filter(|(_, title, message)| !case.expected.iter().any(|c| c.matches(title, message)))
        .map(|(_, title, message)| format!("{title}: {message}"))
        .collect();
    let failed: BTreeSet<String> = failing.iter().map(|(id, _, _)| id.to_string()).collect();
    Row {
        fault: case.name.clone(),
        what: case.what.clone(),
        expected: controls_of(&case.expected),
        failed: failed.into_iter().collect(),
        matched: case.expected.len() - missed.len(),
        missed,
        unexpected,
        error: None,
        duration_ms: 0,
    }
}

/// Runs one row: the gate binary against the mock with the fault on, reports into `dir`.
async fn run_case(exe: &Path, features: Option<&Path>, dir: &Path, case: &Case) -> Row {
    let started = std::time::Instant::now();
    let mut cmd = tokio::process::Command::new(exe);
    cmd.arg("run").arg("--reports").arg(dir);
    if let Some(f) = features {
        cmd.arg("--features").arg(f);
    }
    if case.name != CLEAN {
        cmd.arg("--fault").arg(&case.name);
    }
    if mock_org::faults::STATELESS_ERA.contains(&case.name.as_str()) {
        cmd.arg("--mcp-protocol").arg(mock_org::faults::STATELESS_PROTOCOL);
    }
    cmd.stdout(std::process::Stdio::null()).stderr(std::process::Stdio::piped()).kill_on_drop(true);
    let failed_run = |error: String| Row {
        fault: case.name.clone(),
        what: case.what.clone(),
        expected: controls_of(&case.expected),
        failed: Vec::new(),
        missed: case.expected.iter().map(|c| format!("{} ~ '{}'", c.row, c.says)).collect(),
        unexpected: Vec::new(),
        matched: 0,
        error: Some(error),
        duration_ms: started.elapsed().as_millis(),
    };
    let output = match tokio::time::timeout(RUN_TIMEOUT, cmd.output()).await {
        Err(_) => return failed_run(format!("no result within {} s", RUN_TIMEOUT.as_secs())),
        Ok(Err(e)) => return failed_run(format!("cannot start {}: {e}", exe.display())),
        Ok(Ok(o)) => o,
    };
    // Exit 0 or 1 is a verdict; anything else (2 usage, 3 inconclusive: the gate never saw the
    // mock work, 130 interrupted, a signal) is a broken run.
    if !matches!(output.status.code(), Some(0) | Some(1)) {
        let stderr = String::from_utf8_lossy(&output.stderr);
        return failed_run(format!("exit {:?}: {}", output.status.code(), stderr.trim()));
    }
    let results = std::fs::read_to_string(dir.join("results.json"))
        .map_err(|e| e.to_string())
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).map_err(|e| e.to_string()));
    match results {
        Ok(v) => {
            let mut row = judge(case, &v["controls"]);
            row.duration_ms = started.elapsed().as_millis();
            row
        }
        Err(e) => failed_run(format!("no readable results.json: {e}")),
    }
}

/// Runs the selected rows, `parallel` at a time; each run's reports land in `out/<row>/`.
pub async fn run_matrix(exe: &Path, features: Option<&Path>, out: &Path, parallel: usize, only: &[String]) -> Vec<Row> {
    let selected: Vec<Case> =
        cases().into_iter().filter(|c| only.is_empty() || c.name == CLEAN || only.contains(&c.name)).collect();
    let permits = std::sync::Arc::new(tokio::sync::Semaphore::new(parallel.max(1)));
    let mut tasks = tokio::task::JoinSet::new();
    // The slow runs first (the semaphore serves in order); the rows keep the table's order.
    let mut ordered: Vec<(usize, Case)> = selected.into_iter().enumerate().collect();
    ordered.sort_by_key(|(_, c)| !mock_org::faults::SLOW.contains(&c.name.as_str()));
    for (i, case) in ordered {
        let (exe, features, permits) = (exe.to_path_buf(), features.map(Path::to_path_buf), permits.clone());
        let dir: PathBuf = out.join(if case.name == CLEAN { "clean" } else { case.name.as_str() });
        tasks.spawn(async move {
            let _permit = permits.acquire_owned().await.expect("the semaphore stays open");
            (i, run_case(&exe, features.as_deref(), &dir, &case).await)
        });
    }
    let mut rows: Vec<(usize, Row)> = tasks.join_all().await;
    rows.sort_by_key(|(i, _)| *i);
    rows.into_iter().map(|(_, r)| r).collect()
}

/// The matrix as an auditor reads it: fault, expected controls, what was detected.
pub fn render(rows: &[Row]) -> String {
    let mut s = format!("{:<32} {:<44} {}\n", "FAULT", "MUST BE CAUGHT BY", "DETECTED");
    for r in rows {
        let expected = if r.expected.is_empty() { "(nothing fails)".to_string() } else { r.expected.join(" ") };
        let verdict = match (&r.error, r.precise()) {
            (Some(e), _) => format!("ERROR: {e}"),
            (None, true) if r.expected.is_empty() => "clean: nothing failed".to_string(),
            (None, true) => "yes, precisely".to_string(),
            (None, false) => {
                let mut parts = Vec::new();
                if !r.missed.is_empty() {
                    parts.push(format!("MISSED {}", r.missed.join(" | ")));
                }
                if !r.unexpected.is_empty() {
                    parts.push(format!("ALSO FAILED {}", r.unexpected.join(" | ")));
                }
                parts.join("; ")
            }
        };
        s.push_str(&format!("{:<32} {:<44} {verdict}\n", r.fault, expected));
    }
    let faults: Vec<&Row> = rows.iter().filter(|r| r.fault != CLEAN).collect();
    let precise = faults.iter().filter(|r| r.precise()).count();
    let by_message = faults.iter().filter(|r| r.precise() && r.matched > 0).count();
    let catches: usize = faults.iter().map(|r| r.matched).sum();
    let rate = if faults.is_empty() { 100.0 } else { 100.0 * precise as f64 / faults.len() as f64 };
    let clean_ok = rows.iter().filter(|r| r.fault == CLEAN).all(Row::precise);
    s.push_str(&format!(
        "{} faults, {precise} detected precisely ({rate:.0}%), {by_message} rows matched by scenario and message ({catches} catches); clean org {}\nselftest: {}\n",
        faults.len(),
        if clean_ok { "passes every control" } else { "FAILS" },
        if passed(rows) { "PASSED" } else { "FAILED" }
    ));
    s
}

pub fn passed(rows: &[Row]) -> bool {
    !rows.is_empty() && rows.iter().all(Row::precise)
}

#[cfg(test)]
mod tests {
    use super::*;
    use rstest::rstest;
    use serde_json::json;

    const A: Catch = Catch { row: "HG-A-01", says: "observed 200" };

    fn case(expected: &[Catch]) -> Case {
        Case { name: "f".into(), what: String::new(), expected: expected.to_vec() }
    }

    fn controls(failed: &[(&str, &str)], passed: &[&str]) -> serde_json::Value {
        let f = failed
            .iter()
            .map(|(id, m)| json!({"id": id, "title": format!("{id} x"), "status": "failed", "message": m}));
        let p = passed.iter().map(|id| json!({"id": id, "title": format!("{id} x"), "status": "passed"}));
        serde_json::Value::Array(f.chain(p).collect())
    }

    #[rstest]
    #[case::caught_precisely(&[A], &[("HG-A-01", "expected 401, observed 200")], &["HG-B-01"], true)]
    #[case::slipped_through(&[A], &[], &["HG-A-01", "HG-B-01"], false)]
    #[case::caught_for_another_reason(&[A], &[("HG-A-01", "sign-in as 'agent' failed")], &[], false)]
    #[case::caught_by_the_wrong_check(&[A], &[("HG-A-01", "observed 200"), ("HG-B-01", "observed 200")], &[], false)]
    #[case::expected_control_never_ran(&[A], &[], &["HG-B-01"], false)]
    #[case::clean_org_passes(&[], &[], &["HG-A-01"], true)]
    #[case::clean_org_fails_something(&[], &[("HG-A-01", "observed 200")], &[], false)]
    fn judging(
        #[case] expected: &[Catch],
        #[case] failed: &[(&str, &str)],
        #[case] passed: &[&str],
        #[case] precise: bool,
    ) {
        let row = judge(&case(expected), &controls(failed, passed));
        assert_eq!(row.precise(), precise, "{row:?}");
    }

    #[test]
    fn a_control_with_one_failed_scenario_counts_as_failed() {
        let row = judge(
            &case(&[A]),
            &json!([{"id": "HG-A-01", "title": "HG-A-01 x", "status": "passed"}, {"id": "HG-A-01", "title": "HG-A-01 y", "status": "failed", "message": "expected 401, observed 200"}]),
        );
        assert!(row.precise());
        assert_eq!(row.matched, 1);
    }

    #[test]
    fn a_not_applicable_row_needs_a_catch_unless_the_clean_org_has_it_too() {
        let na = |title: &str, message: &str| json!({"id": "HG-X-01", "title": title, "status": "not applicable", "message": message});
        let own = na("HG-SYS-02 no write tool changes a record", "the persona can list no write tool");
        assert!(judge(&case(&[]), &json!([own])).precise(), "the clean org's own");
        let other = na("HG-RS-04 forged tokens are refused (alg-none)", "the target's access tokens are opaque");
        assert!(!judge(&case(&[]), &json!([other.clone()])).precise(), "a fault that turns a control off is no pass");
        let opaque = Catch { row: "HG-RS-04", says: "access tokens are opaque" };
        assert!(judge(&case(&[opaque]), &json!([other])).precise());
    }

    #[test]
    fn a_not_verifiable_row_in_a_fault_run_is_no_catch() {
        let row = judge(
            &case(&[A]),
            &json!([{"id": "HG-A-01", "title": "HG-A-01 x", "status": "not verifiable", "message": "no admin persona"}]),
        );
        assert!(!row.precise());
        assert_eq!(row.unexpected, ["HG-A-01 x: no admin persona"]);
    }

    #[test]
    fn rows_cover_the_clean_org_every_fault_and_every_profile() {
        let c = cases();
        assert_eq!(c.len(), 1 + TABLE.len() + PROFILES.len());
        assert_eq!(c[0].name, CLEAN);
        assert!(c[1..].iter().all(|r| !r.expected.is_empty()));
    }

    #[test]
    fn an_empty_matrix_does_not_pass() {
        assert!(!passed(&[]));
    }
}
