//! The fault matrix: the gate against the clean mock org and against each fault of the table
//! (`mock_org::faults::TABLE`), through `headless-gate selftest`. The clean org must pass every
//! control; each fault must fail exactly the controls its row names. A fault that slips through,
//! or is caught only by some other check, fails this test with the row that shows it.

mod support;

use mock_org::faults::{PROFILES, TABLE};
use std::process::Command;

#[test]
fn every_fault_is_caught_by_the_controls_meant_for_it_and_by_no_other() {
    let dir = support::scratch("fault-matrix");
    let _ = std::fs::remove_dir_all(&dir);
    let out = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["selftest", "--reports"])
        .arg(&dir)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the gate binary runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let matrix: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("matrix.json")).expect("matrix.json written"))
            .expect("matrix.json is JSON");
    let rows = matrix["rows"].as_array().expect("rows");
    assert_eq!(rows.len(), 1 + TABLE.len() + PROFILES.len(), "one row per fault and profile, plus the clean org");
    let wrong: Vec<String> = rows
        .iter()
        .filter(|r| {
            r["error"].is_string()
                || !r["missed"].as_array().is_some_and(Vec::is_empty)
                || !r["unexpected"].as_array().is_some_and(Vec::is_empty)
        })
        .map(|r| r.to_string())
        .collect();
    assert!(wrong.is_empty(), "imprecise rows:\n{}\n\n{stdout}", wrong.join("\n"));
    let clean = &rows[0];
    assert_eq!(clean["fault"], "(clean org)");
    assert_eq!(clean["failed"], serde_json::json!([]), "the clean org fails nothing");
    for (row, spec) in rows[1..].iter().zip(TABLE) {
        assert_eq!(row["fault"], spec.name);
        let failed: Vec<&str> = row["failed"].as_array().unwrap().iter().filter_map(|v| v.as_str()).collect();
        assert_eq!(failed, spec.controls(), "{}: the failed controls are exactly the row's", spec.name);
        assert_eq!(row["matched"], spec.caught_by.len(), "{}: every catch met by scenario and message", spec.name);
    }
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.contains(&format!(
            "{} faults, {} detected precisely (100%), {} rows matched by scenario and message",
            TABLE.len() + PROFILES.len(),
            TABLE.len() + PROFILES.len(),
            TABLE.len() + PROFILES.len()
        )),
        "{stdout}"
    );
    assert!(stdout.contains("selftest: PASSED"));
    // Each run left its reports, so the matrix can be audited run by run.
    assert!(dir.join("runs/password-grant/junit.xml").is_file());
    assert!(
        std::fs::read_to_string(dir.join("runs/password-grant/results.json")).unwrap().contains("\"password-grant\"")
    );
    // Under `revocation-delay` the concurrent probe of HG-REV-03 measures the delay itself: a
    // revoked token alive for N ms shows a stale window close to N (the bounds are wide: this is
    // what was measured, not how fast).
    let delayed = std::fs::read_to_string(dir.join("runs/revocation-delay/results.json")).unwrap();
    let window: u64 = delayed
        .split("stale window: ")
        .nth(1)
        .and_then(|s| s.split(" ms").next())
        .and_then(|n| n.parse().ok())
        .expect("the evidence states the stale window");
    let n = mock_org::faults::REVOCATION_DELAY_MS;
    assert!(window >= n * 3 / 4 && window <= n + 500, "stale window {window} ms under a {n} ms revocation delay");
}
