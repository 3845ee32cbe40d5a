//! The gate's command line end to end: the real binary against the embedded mock org.

mod support;

use std::process::Command;

fn gate(args: &[&str]) -> (i32, String, String) {
    let mut args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    if args.first().map(String::as_str) == Some("run") {
        // Each test its own reports folder: tests run at once.
        let dir = support::scratch(&format!("cli-reports-{}", args.join("_").replace(['/', '@', ' '], "")));
        args.extend(["--reports".to_string(), dir.display().to_string()]);
    }
    let out = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(&args)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("the gate binary runs");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn write_org(name: &str, text: &str) -> std::path::PathBuf {
    let dir = support::scratch(&format!("cli-{name}"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("org.toml");
    std::fs::write(&path, text).unwrap();
    path
}

const DEFAULT_ORG: &str = include_str!("../mock-org/orgs/default.toml");

#[test]
fn the_clean_default_org_passes_the_gate() {
    let (code, stdout, stderr) = gate(&["run"]);
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("gate: PASSED"));
    // Every catalog row is accounted for, and every one passed but the write probe, which has no
    // write tool to call (the agent's servers offer none), and HG-RS-06's per-server row (the
    // mock's tokens name the platform, as Salesforce's do).
    let counts = stdout.lines().find(|l| l.contains(" controls in ")).unwrap_or_else(|| panic!("{stdout}"));
    let rows: usize = counts.split(" rows: ").next().and_then(|s| s.rsplit(' ').next()).unwrap().parse().unwrap();
    assert_eq!(rows, headless_gate::catalog::shipped().len());
    assert!(counts.ends_with(&format!("rows: {} passed, 2 not applicable", rows - 2)), "{counts}");
    assert!(stdout.contains("  NOT APPLICABLE HG-RS-06 a token issued for another resource is refused: the target declares one platform audience"), "{stdout}");
    assert!(
        stdout.contains("  NOT APPLICABLE HG-SYS-02 no write tool changes a record the agent may not edit: the persona can list no write tool"),
        "{stdout}"
    );
    assert!(
        stdout.contains("C4  negative tests for restricted users") && stdout.contains("PASSED"),
        "the checklist table:\n{stdout}"
    );
    // No credential reaches the console: passwords, JWT access tokens, refresh tokens, codes.
    for marker in ["Passw0rd", "eyJ", "5Aep", "aPrx"] {
        assert!(!stdout.contains(marker) && !stderr.contains(marker), "{marker} on the console");
    }
}

const DEFAULT_ROLLOUT: &str = include_str!("../mock-org/orgs/default.rollout.toml");

/// HG-DECL-01 checks a document, not the org, so its proof of failure is a rollout file (beside
/// the org file) whose justification is blank; the clean run above is its twin.
#[test]
fn a_rollout_without_a_justification_fails_decl_01_and_nothing_else() {
    let path = write_org("no-justification", DEFAULT_ORG);
    let blank: String = DEFAULT_ROLLOUT
        .lines()
        .map(|l| if l.starts_with("justification = ") { "justification = \"  \"" } else { l })
        .collect::<Vec<_>>()
        .join("\n");
    assert_ne!(blank.trim_end(), DEFAULT_ROLLOUT.trim_end(), "the justification was blanked");
    std::fs::write(path.with_extension("rollout.toml"), blank).unwrap();
    let (code, stdout, _) = gate(&["run", "--org", path.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  FAILED ")).collect();
    assert_eq!(
        failed,
        [
            "  FAILED HG-DECL-01 the use case and its justification are declared: expected a justification, observed none"
        ],
        "{stdout}"
    );
}

#[test]
fn an_agent_permission_set_that_grants_too_much_fails_the_gate() {
    // A drifted permission set: the agent can now read Opportunity, so HG-PERM-01 must fail.
    let drifted = DEFAULT_ORG.replacen(
        "  { object = \"CaseHistory\", allowRead = true },\n]\nfieldPermissions = [\n  { field = \"Account.Industry\", readable = true },",
        "  { object = \"CaseHistory\", allowRead = true },\n  { object = \"Opportunity\", allowRead = true },\n]\nfieldPermissions = [\n  { field = \"Account.Industry\", readable = true },",
        1,
    );
    assert_ne!(drifted, DEFAULT_ORG, "the drift was applied");
    let path = write_org("drift", &drifted);
    let (code, stdout, _) = gate(&["run", "--org", path.to_str().unwrap(), "--tags", "@HG-PERM-01"]);
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("gate: FAILED"));
    assert!(
        stdout.contains("expected 400 INVALID_TYPE, observed 200"),
        "the failure says what was expected and observed:\n{stdout}"
    );
}

#[test]
fn a_bad_org_file_is_a_usage_error_naming_the_key() {
    let path = write_org("bad", &DEFAULT_ORG.replacen("profile = \"Custom: Sales Profile\"", "profile = \"Ghost\"", 1));
    let (code, _, stderr) = gate(&["run", "--org", path.to_str().unwrap()]);
    assert_eq!(code, 2);
    assert!(stderr.contains("users[4].profile: 'Ghost' is not a declared profile"), "{stderr}");
}

#[test]
fn a_selection_that_runs_nothing_is_a_usage_error() {
    let (code, _, stderr) = gate(&["run", "--tags", "@no-such-control"]);
    assert_eq!(code, 2, "a gate that checked nothing must not pass:\n{stderr}");
    assert!(stderr.contains("--tags: @no-such-control is not a tag of any control"), "{stderr}");
    let (code, _, stderr) = gate(&["run", "--tags", "@HG-META-01 and @HG-META-02"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tags: '@HG-META-01 and @HG-META-02' selects no control"), "{stderr}");
}

/// A selection evidences part of the checklist: it never passes the gate, and every catalog
/// control is in the reports with its outcome.
#[test]
fn a_selection_is_inconclusive_and_reports_every_control() {
    let (code, stdout, _) = gate(&["run", "--tags", "@HG-META-01"]);
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("gate: INCONCLUSIVE"), "{stdout}");
    assert!(stdout.contains("controls were not selected (--tags)"), "{stdout}");
    assert!(stdout.contains("C4  negative tests for restricted users                      NOT EVIDENCED"), "{stdout}");
    let dir = support::scratch("cli-reports-run_--tags_HG-META-01");
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "inconclusive");
    let controls = json["controls"].as_array().unwrap();
    let catalog = headless_gate::catalog::shipped();
    assert_eq!(controls.len(), catalog.len(), "every catalog row is reported");
    assert_eq!(controls.iter().filter(|c| c["status"] == "passed").count(), 1);
    assert_eq!(controls.iter().filter(|c| c["status"] == "not selected").count(), catalog.len() - 1);
}

/// `--features` adds a team's own feature files to the shipped ones (compiled in): a file that
/// does not parse names its line, a shipped file edited in place or a scenario reusing a shipped
/// name is a configuration error, never a pass; a copy of shipped files adds nothing.
#[test]
fn a_teams_feature_folder_joins_the_catalog_or_is_a_configuration_error() {
    let dir = support::scratch("cli-features");
    let _ = std::fs::remove_dir_all(&dir);
    let copy = Command::new("cp").args(["-r", "features"]).arg(&dir).current_dir(env!("CARGO_MANIFEST_DIR")).status();
    assert!(copy.unwrap().success());
    // A copy of the shipped folder (or of part of it) is the shipped catalog (a run of one tag is
    // inconclusive: exit 3).
    let catalog = headless_gate::catalog::shipped();
    let ids: std::collections::BTreeSet<&str> = catalog.iter().map(|c| c.id.as_str()).collect();
    let one_of_all =
        format!("{} controls in {} rows: 1 passed, {} not selected", ids.len(), catalog.len(), catalog.len() - 1);
    let (code, stdout, stderr) = gate(&["run", "--features", dir.to_str().unwrap(), "--tags", "@HG-GRANT-01"]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stdout.contains(&one_of_all), "{one_of_all} in {stdout}");
    let (code, stdout, stderr) = gate(&["run", "--features", "features/oauth", "--tags", "@HG-GRANT-01"]);
    assert_eq!(code, 3, "{stderr}");
    assert!(stdout.contains(&one_of_all), "{one_of_all} in {stdout}");

    let own = dir.join("acme/broken.feature");
    std::fs::create_dir_all(own.parent().unwrap()).unwrap();
    std::fs::write(&own, "Feature: Acme\n\n  Scenario ACME-01 a colon is missing\n").unwrap();
    let (code, _, stderr) = gate(&["run", "--features", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("acme/broken.feature:3:"), "{stderr}");
    assert!(stderr.contains("not valid Gherkin"), "{stderr}");

    let grants_text = std::fs::read_to_string(dir.join("oauth/grants.feature")).unwrap();
    std::fs::write(&own, "Feature: Acme\n\n  Scenario: HG-GRANT-01 the password grant is refused even with a real user's valid credentials\n    Then agent holds no admin-level right\n").unwrap();
    let (code, _, stderr) = gate(&["run", "--features", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("two scenarios are named 'HG-GRANT-01"), "{stderr}");
    std::fs::remove_file(&own).unwrap();

    // A shipped scenario edited in place (here a MUST made SHOULD) is not the catalog.
    let should = grants_text.replacen("@HG-GRANT-01 @MUST", "@HG-GRANT-01 @SHOULD", 1);
    assert_ne!(should, grants_text);
    std::fs::write(dir.join("oauth/grants.feature"), should).unwrap();
    let (code, _, stderr) = gate(&["run", "--features", dir.to_str().unwrap()]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("oauth/grants.feature differs from the catalog built into this binary"), "{stderr}");
    let (code, _, stderr) = gate(&["run", "--features", "no/such/folder"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("features folder no/such/folder does not exist"), "{stderr}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The binary as installed: copied to an empty folder and run from another empty folder, with no
/// checkout anywhere near (`cargo install` puts the same file on the PATH). The shipped scenarios,
/// the mock org and its Apex are all inside it; a team's own feature runs with the shipped steps.
#[test]
fn the_installed_binary_runs_the_whole_gate_from_an_empty_directory() {
    let base = support::scratch("installed");
    let _ = std::fs::remove_dir_all(&base);
    let (bin, work) = (base.join("bin"), base.join("work"));
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&work).unwrap();
    let exe = bin.join("headless-gate");
    std::fs::copy(env!("CARGO_BIN_EXE_headless-gate"), &exe).unwrap();
    let run = |args: &[&str]| {
        let out = Command::new(&exe).args(args).current_dir(&work).env_remove("CARGO_MANIFEST_DIR").output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let (code, stdout, stderr) = run(&["controls"]);
    assert_eq!(code, 0, "{stderr}");
    assert!(stdout.contains("HG-SYS-03"), "{stdout}");
    // The whole gate against the embedded mock, with the Apex scan (SYS-03/04) in it.
    let (code, stdout, stderr) = run(&["run"]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.contains("gate: PASSED"), "{stdout}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("reports/results.json")).unwrap()).unwrap();
    let status = |id: &str| {
        results["controls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["id"] == id)
            .map(|c| c["status"].clone())
            .collect::<Vec<_>>()
    };
    assert_eq!(status("HG-SYS-03"), ["passed"]);
    assert_eq!(status("HG-SYS-04"), ["passed"]);
    // A team's own feature, written with the shipped steps, runs beside the catalog.
    std::fs::create_dir_all(work.join("ours")).unwrap();
    std::fs::write(
        work.join("ours/acme.feature"),
        "Feature: Acme's own checks\n\n  @ACME-01 @C3 @MUST\n  Scenario: ACME-01 the agent's app never hands out a token for a password\n    When the client asks for a token with the password grant as agent\n    Then the token request is refused as a grant the client may not use\n",
    )
    .unwrap();
    let (code, stdout, stderr) = run(&["run", "--features", "ours", "--tags", "@ACME-01", "--reports", "acme"]);
    assert_eq!(code, 3, "a run of one tag is inconclusive\n{stdout}{stderr}");
    let results: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(work.join("acme/results.json")).unwrap()).unwrap();
    let acme: Vec<&serde_json::Value> =
        results["controls"].as_array().unwrap().iter().filter(|c| c["id"] == "ACME-01").collect();
    assert_eq!(acme.len(), 1, "{results}");
    assert_eq!(acme[0]["status"], "passed");
    // Nothing is left behind but the reports.
    let left: Vec<String> =
        std::fs::read_dir(&work).unwrap().map(|e| e.unwrap().file_name().to_string_lossy().into_owned()).collect();
    let mut left = left;
    left.sort();
    assert_eq!(left, ["acme", "ours", "reports"]);
    std::fs::remove_dir_all(&base).unwrap();
}

#[test]
fn a_bad_tag_expression_is_a_usage_error() {
    let (code, _, stderr) = gate(&["run", "--tags", "@a and and"]);
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--tags"), "{stderr}");
}

#[test]
fn a_system_mode_tool_is_caught_naming_the_tool_the_argument_and_the_field() {
    // The custom Apex tool switched to system mode (`without sharing`): HG-SYS-01 must catch it.
    let system_mode = DEFAULT_ORG.replacen("executionMode = \"user\"", "executionMode = \"system\"", 1);
    assert_ne!(system_mode, DEFAULT_ORG);
    let path = write_org("sysmode", &system_mode);
    let (code, stdout, _) = gate(&["run", "--org", path.to_str().unwrap(), "--tags", "@C5"]);
    assert_eq!(code, 1, "{stdout}");
    let line = stdout.lines().find(|l| l.contains("FAILED HG-SYS-01")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(line.contains("getCaseHealthSummary with {\"caseId\":\"500000000000003\"} leaked case.Subject"), "{line}");
    // The org runs the tool in system mode while its Apex source says user mode: HG-SYS-04
    // reports the disagreement with both verdicts.
    let sys04 = stdout.lines().find(|l| l.contains("FAILED HG-SYS-04")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(sys04.contains("getCaseHealthSummary: the scan says user mode, the probe saw a canary"), "{sys04}");
    // The twin, the write probe and the scan itself pass: the failures are the leak, not a broken probe.
    assert!(
        stdout.contains(
            "C5  custom code reviewed for sharing/CRUD/FLS/system mode    FAILED         (2 passed, 2 failed, 1 not applicable)"
        ),
        "{stdout}"
    );
}

/// By default the console shows progress (plain lines on stderr off a terminal), then the
/// checklist, what needs a look and the verdict, with no colour off a terminal; `--verbose` shows
/// every step instead of the progress.
#[test]
fn the_console_shows_progress_then_the_checklist_and_every_step_only_when_verbose() {
    let tags = "@HG-GRANT-01 or @HG-GRANT-02";
    let (code, stdout, stderr) = gate(&["run", "--tags", tags]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(!stdout.contains('✔') && !stdout.contains("Scenario"), "{stdout}");
    assert!(stdout.contains("Rollout checklist") && stdout.contains("gate: INCONCLUSIVE"), "{stdout}");
    assert!(!stdout.contains('\x1b'), "no colour off a terminal: {stdout}");
    assert!(stderr.contains("progress: 1/2 rows (50%)"), "{stderr}");
    assert!(stderr.contains("progress: 2/2 rows (100%), 0 failed or not verifiable"), "{stderr}");

    let (code, stdout, stderr) = gate(&["run", "--verbose", "--tags", tags]);
    assert_eq!(code, 3, "{stdout}{stderr}");
    assert!(stdout.contains("✔  When the client asks for a token with the password grant as agent"), "{stdout}");
    assert!(!stderr.contains("progress:"), "{stderr}");
}

/// On GitHub Actions the Markdown summary goes on the job's page: appended to the file
/// `GITHUB_STEP_SUMMARY` names, after what earlier steps wrote.
#[test]
fn the_summary_is_appended_to_the_ci_job_page() {
    let page = support::scratch("step-summary.md");
    std::fs::write(&page, "earlier step\n").unwrap();
    let reports = support::scratch("step-summary-reports");
    let out = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["run", "--tags", "@HG-GRANT-01", "--reports", reports.to_str().unwrap()])
        .env("GITHUB_STEP_SUMMARY", &page)
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(3));
    let text = std::fs::read_to_string(&page).unwrap();
    assert!(text.starts_with("earlier step\n# headless-gate: INCONCLUSIVE\n"), "{text}");
    assert_eq!(text.trim_start_matches("earlier step\n"), std::fs::read_to_string(reports.join("summary.md")).unwrap());
}

/// Ctrl-C at a terminal, SIGTERM from a CI runner cancelling the job, SIGHUP from a closed
/// terminal: the same partial reports.
#[rstest::rstest]
#[case::ctrl_c("INT")]
#[case::ci_cancel("TERM")]
#[case::closed_terminal("HUP")]
fn an_interrupted_run_writes_partial_reports_marked_interrupted(#[case] signal: &str) {
    use std::io::{BufRead, BufReader};
    let dir = support::scratch(&format!("cli-interrupt-{signal}"));
    let _ = std::fs::remove_dir_all(&dir);
    let mut child = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["run", "--verbose", "--concurrency", "1", "--reports", dir.to_str().unwrap()])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Interrupt once the first scenario has finished: one at a time, the rest is still to come.
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    for line in lines.by_ref() {
        if line.unwrap().contains("✔") {
            break;
        }
    }
    let status = Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]).status().unwrap();
    assert!(status.success());
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    let code = child.wait().unwrap().code();
    assert_eq!(code, Some(130), "{}", rest.join("\n"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.join("results.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["interrupted"], true);
    assert_eq!(json["verdict"], "interrupted", "an interrupted run never passes");
    // The rows that had not finished are in the reports too, as not verifiable.
    let controls = json["controls"].as_array().unwrap();
    assert_eq!(controls.len(), headless_gate::catalog::shipped().len());
    assert!(controls.iter().any(|c| c["message"] == "the run was interrupted before this control finished"));
    assert!(std::fs::read_to_string(dir.join("report.html")).unwrap().contains("This run was interrupted"));
    assert!(rest.iter().any(|l| l.contains("gate: INTERRUPTED")));
}

#[test]
fn scan_apex_names_the_system_mode_lines_writes_sarif_and_exits_by_verdict() {
    let dir = support::scratch("cli-apex");
    let _ = std::fs::remove_dir_all(&dir);
    let sarif = dir.join("apex.sarif");
    std::fs::create_dir_all(&dir).unwrap();
    // The mock's tree holds the fault matrix's unsafe twin: findings, exit 1.
    let (code, stdout, stderr) = gate(&["scan-apex", "mock-org/apex", "--sarif", sarif.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}{stderr}");
    assert!(stdout.contains("CaseHealthActionUnsafe.cls:7:30: APEX-WITHOUT-SHARING"), "{stdout}");
    assert!(stdout.contains("CaseHealthActionUnsafe.cls:17:22: APEX-QUERY-NO-USER-MODE"), "{stdout}");
    assert!(!stdout.contains("CaseHealthAction.cls:"), "the user-mode class is clean: {stdout}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&sarif).unwrap()).unwrap();
    assert_eq!(doc["version"], "2.1.0");
    assert_eq!(doc["runs"][0]["results"].as_array().unwrap().len(), 3);
    // The clean class alone: exit 0.
    let clean = dir.join("force-app/classes");
    std::fs::create_dir_all(&clean).unwrap();
    for f in ["CaseHealthAction.cls", "CaseHealthAction.cls-meta.xml"] {
        std::fs::copy(format!("mock-org/apex/classes/{f}"), clean.join(f)).unwrap();
    }
    let (code, stdout, _) = gate(&["scan-apex", dir.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("0 findings"), "{stdout}");
    // No tree: a usage error.
    let (code, _, stderr) = gate(&["scan-apex", "no/such/tree"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read no/such/tree"), "{stderr}");
}

/// Each finding carries its path from the tool's entry method, on the console and as a SARIF code
/// flow; an operation a check clears is a `pass` result naming the check; both files validate
/// against the SARIF 2.1.0 schema (as `summary_md_and_results_sarif_of_a_failing_run` checks).
#[test]
fn scan_apex_shows_each_findings_path_and_what_a_check_cleared_in_valid_sarif() {
    let dir = support::scratch("cli-apex-paths");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let corpus = "apex-scan/tests/corpus";
    let leak = dir.join("leak.sarif");
    let (code, stdout, _) =
        gate(&["scan-apex", &format!("{corpus}/call_through_an_interface_leak"), "--sarif", leak.to_str().unwrap()]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains(
            "    path: entry point Tool.run (Tool.cls:1) → calls CaseFinder.find (Tool.cls:1) → SOQL (CaseFinder.cls:1)"
        ),
        "{stdout}"
    );
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&leak).unwrap()).unwrap();
    let result = &doc["runs"][0]["results"][0];
    let steps = result["codeFlows"][0]["threadFlows"][0]["locations"].as_array().unwrap();
    let said: Vec<&str> = steps.iter().map(|s| s["location"]["message"]["text"].as_str().unwrap()).collect();
    assert_eq!(said, ["entry point Tool.run", "calls CaseFinder.find", "SOQL"]);
    assert!(
        steps[2]["location"]["physicalLocation"]["artifactLocation"]["uri"]
            .as_str()
            .unwrap()
            .ends_with("CaseFinder.cls")
    );
    let clean = dir.join("clean.sarif");
    let (code, stdout, _) = gate(&[
        "scan-apex",
        &format!("{corpus}/strip_inaccessible_covers_the_query_clean"),
        "--sarif",
        clean.to_str().unwrap(),
    ]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("cleared: SOQL in Tool.run (Security.stripInaccessible(AccessType.READABLE)"), "{stdout}");
    let doc: serde_json::Value = serde_json::from_str(&std::fs::read_to_string(&clean).unwrap()).unwrap();
    assert_eq!(doc["runs"][0]["results"][0]["kind"], "pass");
    for sarif in [&leak, &clean] {
        support::assert_valid_sarif(sarif);
    }
}

/// `baseline write` turns a run's results.json into the baseline file and says what it holds;
/// no results.json is a usage error that says to run the gate first.
#[test]
fn baseline_write_records_a_runs_rows_and_decisions_or_says_what_is_missing() {
    let dir = support::scratch("cli-baseline");
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let (code, stdout, stderr) = gate(&["run", "--tags", "@HG-PERM-01"]);
    assert!(code == 0 || code == 3, "{stdout}{stderr}");
    let reports = stdout.lines().find_map(|l| l.strip_prefix("reports: ")).expect("the run names its reports");
    let file = dir.join("baseline.json");
    let results = std::path::Path::new(reports).join("results.json");
    let (code, stdout, stderr) =
        gate(&["baseline", "write", file.to_str().unwrap(), "--from", results.to_str().unwrap()]);
    assert_eq!(code, 0, "{stdout}{stderr}");
    assert!(stdout.starts_with("baseline: "), "{stdout}");
    let b = headless_gate::baseline::Baseline::read(&file).unwrap();
    assert!(b.rows.iter().all(|r| r.id == "HG-PERM-01"), "{:?}", b.rows);
    assert!(!b.decisions.is_empty() && b.decisions.iter().all(|d| d.persona != "admin"), "{:?}", b.decisions);
    let (code, _, stderr) = gate(&["baseline", "write", file.to_str().unwrap(), "--from", "no/such/results.json"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("cannot read no/such/results.json") && stderr.contains("run the gate first"), "{stderr}");
}

#[test]
fn an_unknown_fault_is_a_usage_error_naming_the_known_ones() {
    let (code, _, stderr) = gate(&["run", "--fault", "open-sesame"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("unknown fault 'open-sesame'; known: password-grant,"), "{stderr}");
}

#[test]
fn the_legacy_org_profile_fails_the_gate_on_the_controls_it_breaks() {
    let (code, stdout, _) = gate(&["run", "--fault", "legacy-org"]);
    assert_eq!(code, 1, "{stdout}");
    for id in ["HG-GRANT-01", "HG-PKCE-01", "HG-REDIR-02", "HG-RT-02", "HG-RT-05"] {
        assert!(stdout.contains(&format!("FAILED {id} ")), "{id}:\n{stdout}");
    }
    assert!(stdout.contains("gate: FAILED"));
    // The code the prefix-matching server sent to `callback#hg?code=...` is under a parameter
    // named `hg?code`: it is known as a code all the same, and never printed (step output
    // included), here or in the reports.
    let redir07 = stdout.lines().find(|l| l.starts_with("  FAILED HG-REDIR-07")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(redir07.contains("#hg?code=[REDACTED authorization code]"), "{redir07}");
    let dir = support::scratch("cli-reports-run_--fault_legacy-org");
    for text in [stdout.clone()].into_iter().chain(
        ["junit.xml", "results.json", "report.html"].iter().map(|f| std::fs::read_to_string(dir.join(f)).unwrap()),
    ) {
        // Codes, refresh tokens, passwords (the JWT-bearer probe's own unsigned assertion is no
        // secret, so JWTs are checked by the report test, against every token the run held).
        for marker in ["aPrx", "5Aep", "Passw0rd"] {
            assert!(!text.contains(marker), "{marker} in the output");
        }
    }
}

/// Proof before denial: on an org whose shared account holds no billing street, the denial of
/// that field would pass having tested nothing. The admin's read shows it, and the row is not
/// verifiable (failing the gate), never passed. (`target_mode.rs` does the same for a record the
/// target does not have.)
#[test]
fn a_denial_of_a_field_the_org_leaves_empty_is_not_verifiable() {
    let blank = DEFAULT_ORG.replacen("BillingStreet = \"CANARY-BILLING-7f3a 1 Canary Way\", ", "", 1);
    assert_ne!(blank, DEFAULT_ORG);
    let path = write_org("no-fixture-values", &blank);
    let (code, stdout, _) = gate(&["run", "--org", path.to_str().unwrap(), "--tags", "@HG-PERM-02"]);
    assert_eq!(code, 1, "{stdout}");
    let nv: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  NOT VERIFIABLE ")).collect();
    assert_eq!(nv.len(), 3, "the REST row, the MCP row and the twin that shows the fields: {stdout}");
    assert!(
        nv.iter()
            .all(|l| l.contains(": the admin sees no value in Account.BillingStreet of the record 'shared-account'")),
        "{stdout}"
    );
    assert!(!stdout.lines().any(|l| l.starts_with("  FAILED HG-")), "nothing is a finding here: {stdout}");
}
