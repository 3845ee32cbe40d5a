//! The reports of a real run against the embedded mock: structure, verdicts, and redaction.

mod support;

use headless_gate::{GateVerdict, RunOptions};
use std::path::PathBuf;

async fn run_into(dir: &str, tags: Option<&str>) -> (headless_gate::RunOutcome, PathBuf) {
    let reports = support::scratch(&format!("reports-{dir}"));
    let _ = std::fs::remove_dir_all(&reports);
    let opts = RunOptions { tags: tags.map(str::to_string), ..RunOptions::mock(reports.clone()) };
    (headless_gate::run(opts).await.expect("the run completes"), reports)
}

#[tokio::test]
async fn reports_of_a_full_run_are_complete_valid_and_hold_no_secret() {
    let (outcome, dir) = run_into("full", None).await;
    assert_eq!(outcome.verdict, GateVerdict::Passed);

    // Redaction is proven: every credential the run handled is known, and none is in a report.
    let secrets = outcome.secrets.all();
    assert!(secrets.len() > 50, "the run registered its credentials ({})", secrets.len());
    let files: Vec<(String, String)> = ["junit.xml", "results.json", "report.html"]
        .iter()
        .map(|f| (f.to_string(), std::fs::read_to_string(dir.join(f)).expect("written")))
        .collect();
    for (name, text) in &files {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{name} contains a secret of {} characters", s.len());
        }
        assert!(text.contains("[REDACTED access token]"), "{name} shows where a token was");
    }
    for name in ["summary.md", "results.sarif"] {
        let text = std::fs::read_to_string(dir.join(name)).expect("written");
        assert!(secrets.iter().all(|s| !text.contains(s.as_str())), "{name} holds no secret");
    }
    for kind in ["access token", "refresh token", "authorization code", "code verifier", "password"] {
        assert!(files[1].1.contains(&format!("[REDACTED {kind}]")), "results.json redacts a {kind}");
    }

    // JUnit: parsed by a JUnit reader; a testcase per control, names starting with the ID.
    let suites = junit_parser::from_reader(std::io::Cursor::new(files[0].1.as_bytes())).expect("valid JUnit");
    let cases: Vec<&junit_parser::TestCase> = suites.suites.iter().flat_map(|s| s.cases.iter()).collect();
    assert_eq!(cases.len(), outcome.results.len());
    for c in &cases {
        assert!(c.original_name.starts_with("HG-"), "{}", c.original_name);
        assert!(c.classname.as_deref().is_some_and(|k| k.starts_with('C')), "{:?}", c.classname);
        // Every row passed but the write probe, not applicable (the agent has no write tool), and
        // HG-RS-06's per-server row (the mock's tokens name the platform).
        match c.original_name.starts_with("HG-SYS-02 ") || c.original_name.starts_with("HG-RS-06 a token issued") {
            true => assert!(c.status.is_skipped(), "{}", c.name),
            false => assert!(c.status.is_success(), "{}", c.name),
        }
    }
    assert!(suites.suites.iter().any(|s| s.name == "Callback URLs match exactly"));

    // JSON: the documented shape.
    let json: serde_json::Value = serde_json::from_str(&files[1].1).unwrap();
    assert_eq!(json["schema"], "headless-gate/results/v2");
    assert_eq!(json["verdict"], "passed");
    assert_eq!(json["checklist"].as_array().unwrap().len(), 8);
    assert_eq!(json["run"]["interrupted"], false);
    let c = &json["controls"][0];
    for key in ["id", "title", "checklist", "severity", "specs", "status", "duration_ms", "evidence"] {
        assert!(c.get(key).is_some(), "control has {key}");
    }

    // HTML: self-contained, verdict and checklist first.
    let html = &files[2].1;
    assert!(html.contains("id=\"verdict\"") && html.contains("id=\"checklist\""));
    assert!(
        !html.contains("<script src") && !html.contains("http-equiv") && !html.contains("<link"),
        "no external assets (the filter's script is inline)"
    );
    // Variants that differ only in a header read differently: the request headers are shown.
    for variant in ["&gt; authorization: foo", "&gt; authorization: Basic ", "&gt; origin: https://evil.example"] {
        assert!(html.contains(variant), "{variant} in the evidence");
    }
    assert!(html.contains("&lt; www-authenticate: Bearer"), "response headers in the evidence");
}

#[tokio::test]
async fn a_failing_control_is_a_junit_failure_with_a_one_line_message() {
    // A drifted org: the agent's permission set grants Opportunity.
    let drifted = include_str!("../mock-org/orgs/default.toml").replacen(
        "  { object = \"CaseHistory\", allowRead = true },\n]\nfieldPermissions = [\n  { field = \"Account.Industry\", readable = true },",
        "  { object = \"CaseHistory\", allowRead = true },\n  { object = \"Opportunity\", allowRead = true },\n]\nfieldPermissions = [\n  { field = \"Account.Industry\", readable = true },",
        1,
    );
    let org = support::scratch("reports-org.toml");
    std::fs::write(&org, drifted).unwrap();
    let reports = support::scratch("reports-fail");
    let opts = RunOptions {
        org: Some(org),
        tags: Some("@HG-PERM-01".into()),
        concurrency: 2,
        ..RunOptions::mock(reports.clone())
    };
    let outcome = headless_gate::run(opts).await.unwrap();
    assert_eq!(outcome.verdict, GateVerdict::Failed);
    let xml = std::fs::read_to_string(reports.join("junit.xml")).unwrap();
    let suites = junit_parser::from_reader(std::io::Cursor::new(xml.as_bytes())).unwrap();
    let failed: Vec<&junit_parser::TestCase> =
        suites.suites.iter().flat_map(|s| s.cases.iter()).filter(|c| c.status.is_failure()).collect();
    // Both sides of HG-PERM-01 catch the drift: the REST scenario and the MCP one.
    assert_eq!(failed.len(), 2, "{:?}", failed.iter().map(|c| &c.original_name).collect::<Vec<_>>());
    let rest = failed.iter().find(|c| !c.original_name.contains("through MCP")).unwrap();
    let f = rest.status.failure_as_ref();
    assert_eq!(f.message, "expected 400 INVALID_TYPE, observed 200 (none)");
    let mcp = failed.iter().find(|c| c.original_name.contains("through MCP")).unwrap();
    assert_eq!(
        mcp.status.failure_as_ref().message,
        "expected isError with INVALID_TYPE, observed isError=false (none)"
    );
    assert!(f.text.contains("SELECT"), "the body is the evidence transcript");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(reports.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "failed");
    let c4 = json["checklist"].as_array().unwrap().iter().find(|i| i["item"] == "C4").unwrap().clone();
    assert_eq!(c4["verdict"], "failed");
}

/// A failing run's summary.md names the verdict, the checklist and the failure; its results.sarif
/// is valid against the SARIF 2.1.0 schema (the OASIS schema as @microsoft/jest-sarif ships it,
/// checked with Python's jsonschema from the interop venv), one rule per control and one result
/// per failed row, pointing at the file that described the target.
#[tokio::test]
async fn summary_md_and_results_sarif_of_a_failing_run() {
    let reports = support::scratch("reports-sarif");
    let _ = std::fs::remove_dir_all(&reports);
    let opts = RunOptions {
        faults: vec!["password-grant".into()],
        tags: Some("@C3".into()),
        ..RunOptions::mock(reports.clone())
    };
    let outcome = headless_gate::run(opts).await.expect("the run completes");
    assert_eq!(outcome.verdict, GateVerdict::Failed);

    let md = std::fs::read_to_string(reports.join("summary.md")).unwrap();
    assert!(md.starts_with("# headless-gate: FAILED\n"), "{md}");
    assert!(md.contains("| C3 | dedicated External Client App | FAILED |"), "{md}");
    assert!(md.contains("| failed | HG-GRANT-01 the password grant is refused"), "{md}");

    let sarif_path = reports.join("results.sarif");
    let sarif: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif_path).unwrap()).unwrap();
    let run = &sarif["runs"][0];
    let controls: std::collections::BTreeSet<&str> = outcome.results.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(run["tool"]["driver"]["rules"].as_array().unwrap().len(), controls.len());
    let results = run["results"].as_array().unwrap();
    assert_eq!(results.len(), 1, "{results:?}");
    assert_eq!(results[0]["ruleId"], "HG-GRANT-01");
    assert_eq!(results[0]["level"], "error");
    // Every format says how to run the failed control again.
    let rerun = "headless-gate run --fault password-grant --tags @HG-GRANT-01";
    assert_eq!(results[0]["properties"]["reproduce"], rerun);
    assert!(md.contains(&format!("`{rerun}`")), "{md}");
    for name in ["junit.xml", "results.json", "report.html"] {
        assert!(std::fs::read_to_string(reports.join(name)).unwrap().contains(rerun), "{name}");
    }
    // And the failing request by hand: its secrets are variables, never values.
    let curl = results[0]["properties"]["curl"].as_str().expect("a curl reproduction");
    assert!(
        curl.starts_with("# set first (the run's values are never written): HG_PASSWORD HG_CLIENT_SECRET\n"),
        "{curl}"
    );
    assert!(curl.contains("--data-urlencode \"grant_type=password\"") && curl.contains("\"password=${HG_PASSWORD}\""));
    let org = include_str!("../mock-org/orgs/default.toml");
    for secret in ["mock-agent-Passw0rd!", "mock-consumer-secret-7c1d0e2b9a44f8b6"] {
        assert!(org.contains(secret), "the fixture's secret {secret} (update this list with the fixture)");
        for name in ["junit.xml", "results.json", "report.html", "results.sarif"] {
            assert!(!std::fs::read_to_string(reports.join(name)).unwrap().contains(secret), "{name}");
        }
    }
    assert!(std::fs::read_to_string(reports.join("junit.xml")).unwrap().contains("the last request, by hand:"));
    assert_eq!(results[0]["locations"][0]["physicalLocation"]["artifactLocation"]["uri"], "mock-org/orgs/default.toml");
    let rule = &run["tool"]["driver"]["rules"][results[0]["ruleIndex"].as_u64().unwrap() as usize];
    assert_eq!(rule["id"], "HG-GRANT-01");
    assert!(rule["properties"]["tags"].as_array().unwrap().contains(&serde_json::json!("CWE-287")));

    support::assert_valid_sarif(&sarif_path);
}

/// `--bundle`: every report, the org file with its passwords and consumer secret removed, the
/// version, the catalog, and a SHA-256 manifest that matches every file; no secret anywhere.
#[tokio::test]
async fn the_evidence_bundle_holds_the_reports_a_redacted_target_and_a_manifest_that_matches() {
    use sha2::Digest;
    use std::io::Read;
    let dir = support::scratch("reports-bundle");
    let _ = std::fs::remove_dir_all(&dir);
    let zip_path = dir.join("evidence.zip");
    let opts = RunOptions {
        tags: Some("@C3".into()),
        bundle: Some(zip_path.clone()),
        ..RunOptions::mock(dir.join("reports"))
    };
    let outcome = headless_gate::run(opts).await.expect("the run completes");
    let mut zip = zip::ZipArchive::new(std::fs::File::open(&zip_path).unwrap()).unwrap();
    let mut files = std::collections::BTreeMap::new();
    for i in 0..zip.len() {
        let mut f = zip.by_index(i).unwrap();
        let mut text = String::new();
        f.read_to_string(&mut text).unwrap();
        files.insert(f.name().unwrap().to_string(), text);
    }
    let names: Vec<&str> = files.keys().map(String::as_str).collect();
    assert_eq!(
        names,
        [
            "MANIFEST.sha256",
            "VERSION",
            "catalog.txt",
            "reports/junit.xml",
            "reports/report.html",
            "reports/results.json",
            "reports/results.sarif",
            "reports/summary.md",
            "target/default.toml"
        ]
    );
    let manifest = &files["MANIFEST.sha256"];
    assert_eq!(manifest.lines().count(), files.len() - 1);
    for line in manifest.lines() {
        let (digest, name) = line.split_once("  ").unwrap();
        let hex: String = sha2::Sha256::digest(files[name].as_bytes()).iter().map(|b| format!("{b:02x}")).collect();
        assert_eq!(digest, hex, "{name}");
    }
    assert!(files["catalog.txt"].contains("HG-RS-01"));
    assert!(files["VERSION"].starts_with("headless-gate "));
    // The org file's every password and consumer secret, used by the run or not, is gone.
    let org = mock_org::model::Org::DEFAULT_TEXT;
    let quoted = regex::Regex::new(r#"(?m)^\s*(?:password|consumerSecret)\s*=\s*"([^"]+)""#).unwrap();
    let mut secrets: Vec<String> = quoted.captures_iter(org).map(|c| c[1].to_string()).collect();
    assert!(secrets.len() >= 6, "{secrets:?}");
    secrets.extend(outcome.secrets.all());
    for (name, text) in &files {
        for s in &secrets {
            assert!(!text.contains(s.as_str()), "{name} holds a secret");
        }
    }
    assert!(files["target/default.toml"].contains("consumerSecret = \"[REDACTED]\""));
}
