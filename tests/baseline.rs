//! The drift baseline end to end: a clean run is written down as the baseline; a later run of the
//! same controls with a fault that opens access fails on the denials that became allows, and
//! names them, with the rows broken since, in drift.md and summary.md.

mod support;

use headless_gate::RunOptions;
use headless_gate::baseline::Baseline;
use headless_gate::results::GateVerdict;

const TAGS: &str = "@C4";

#[tokio::test]
async fn a_deny_that_became_an_allow_since_the_baseline_fails_and_is_named() {
    let dir = support::scratch("baseline-e2e");
    let _ = std::fs::remove_dir_all(&dir);
    let clean = dir.join("clean");
    let opts = RunOptions { tags: Some(TAGS.into()), ..RunOptions::mock(clean.clone()) };
    let first = headless_gate::run(opts).await.expect("the clean run completes");
    assert!(first.results.iter().all(|r| !r.fails_gate()), "the clean mock passes its C4 rows");
    let base = Baseline::from_results_json(&std::fs::read_to_string(clean.join("results.json")).unwrap()).unwrap();
    let denied = base.decisions.iter().filter(|d| !d.allowed).count();
    assert!(denied >= 10 && base.decisions.len() > denied, "{} decisions, {denied} denied", base.decisions.len());
    let file = dir.join("baseline.json");
    std::fs::write(&file, base.to_json()).unwrap();

    // The same controls, same mock: no drift.
    let again = dir.join("again");
    let opts = RunOptions { tags: Some(TAGS.into()), baseline: Some(file.clone()), ..RunOptions::mock(again.clone()) };
    let same = headless_gate::run(opts).await.expect("the second run completes");
    assert!(
        same.reasons
            .iter()
            .any(|r| r.contains("0 denial(s) became allowed, 0 allow(s) became denied, 0 row(s) broken")),
        "{:?}",
        same.reasons
    );
    assert_ne!(same.verdict, GateVerdict::Failed);

    // A fault that lets the agent read every record: denials become allows.
    let drifted = dir.join("drifted");
    let opts = RunOptions {
        tags: Some(TAGS.into()),
        faults: vec!["agent-view-all-data".into()],
        baseline: Some(file.clone()),
        ..RunOptions::mock(drifted.clone())
    };
    let after = headless_gate::run(opts).await.expect("the drifted run completes");
    assert_eq!(after.verdict, GateVerdict::Failed);
    let reason = after.reasons.iter().find(|r| r.starts_with("drift since the baseline")).expect("a drift reason");
    assert!(!reason.contains(": 0 denial(s)"), "{reason}");
    let md = std::fs::read_to_string(drifted.join("drift.md")).unwrap();
    assert!(md.starts_with(&format!("## headless-gate: drift since `{}`", file.display())), "{md}");
    let opened: Vec<&str> = md.lines().filter(|l| l.starts_with("| **opened**")).collect();
    assert!(!opened.is_empty(), "{md}");
    assert!(opened.iter().all(|l| l.ends_with("| deny | allow |") && l.contains("agent \\| ")), "{opened:?}");
    assert!(md.lines().any(|l| l.starts_with("| broken | HG-PERM")), "{md}");
    let summary = std::fs::read_to_string(drifted.join("summary.md")).unwrap();
    assert!(summary.contains("## Drift since the baseline") && summary.contains("| **opened**"), "{summary}");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(drifted.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["drift"]["opened"].as_array().unwrap().len(), opened.len());
}

#[tokio::test]
async fn an_unreadable_baseline_is_a_usage_error_before_anything_runs() {
    let dir = support::scratch("baseline-bad");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("baseline.json");
    std::fs::write(&file, "{\"format\": 1}").unwrap();
    let opts = RunOptions { baseline: Some(file.clone()), ..RunOptions::mock(dir.join("reports")) };
    let err = headless_gate::run(opts).await.err().expect("refused").to_string();
    assert!(err.starts_with(&format!("--baseline: {} is not a baseline file", file.display())), "{err}");
    assert!(!dir.join("reports/results.json").exists(), "nothing ran");
}

/// The catalog pin travels in the baseline (HG-PIN-01): a baseline written while the org offers
/// an extra tool pins it, so the same catalog passes against it on purpose, and the fault-free
/// catalog then fails with the pinned tool named as removed.
#[tokio::test]
async fn the_baseline_pins_the_tool_catalog_until_it_is_written_again() {
    let dir = support::scratch("baseline-pin");
    let _ = std::fs::remove_dir_all(&dir);
    let pin_tags = Some("@HG-PIN-01".to_string());
    let with_extra = |reports: std::path::PathBuf, baseline: Option<std::path::PathBuf>| RunOptions {
        tags: pin_tags.clone(),
        faults: vec!["tool-outside-allowlist".into()],
        baseline,
        ..RunOptions::mock(reports)
    };
    // Against the mock's own fault-free pin, the extra tool is drift.
    let first = headless_gate::run(with_extra(dir.join("first"), None)).await.expect("the run completes");
    let rows = |r: &headless_gate::RunOutcome| {
        r.results
            .iter()
            .filter(|c| c.id == "HG-PIN-01")
            .map(|c| (c.title.clone(), c.message.clone()))
            .collect::<Vec<_>>()
    };
    assert!(
        rows(&first).iter().any(|(_, m)| m.as_deref().unwrap_or_default().contains("custom: getCaseDetails added"))
    );
    // Written down on purpose, the extra tool is the pin.
    let base = Baseline::from_results_json(&std::fs::read_to_string(dir.join("first/results.json")).unwrap()).unwrap();
    assert!(base.decisions.iter().any(|d| d.what.starts_with("catalog tool getCaseDetails ")), "{:?}", base.decisions);
    let file = dir.join("baseline.json");
    std::fs::write(&file, base.to_json()).unwrap();
    let pinned =
        headless_gate::run(with_extra(dir.join("pinned"), Some(file.clone()))).await.expect("the run completes");
    assert!(pinned.results.iter().filter(|c| c.id == "HG-PIN-01").all(|c| !c.fails_gate()), "{:?}", rows(&pinned));
    // The fault-free catalog against that baseline: the pinned tool is gone.
    let opts = RunOptions { tags: pin_tags.clone(), baseline: Some(file), ..RunOptions::mock(dir.join("clean")) };
    let clean = headless_gate::run(opts).await.expect("the run completes");
    assert!(
        rows(&clean)
            .iter()
            .filter(|(title, _)| !title.contains("twin"))
            .all(|(_, m)| m.as_deref().unwrap_or_default().contains("custom: getCaseDetails removed")),
        "{:?}",
        rows(&clean)
    );
}
