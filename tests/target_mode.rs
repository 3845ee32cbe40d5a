//! `run --target FILE`: the same scenarios against a deployment described by a target file. Here
//! the deployment is a mock org this test starts on loopback, reached only through the file.

mod support;

use std::process::Command;

/// The agent app's consumer secret in the mock's org file, given to the gate as a variable.
const CLIENT_SECRET: &str = "mock-consumer-secret-7c1d0e2b9a44f8b6";

const PERSONAS: &[(&str, &str, &str)] = &[
    ("agent", "agent.service@acme.test", "mock-agent-Passw0rd!"),
    ("admin", "admin@acme.test", "mock-admin-Passw0rd!"),
    ("csr", "csr.broad@acme.test", "mock-csr-Passw0rd!"),
    ("manager", "support.manager@acme.test", "mock-manager-Passw0rd!"),
    ("sales", "sales.rep@acme.test", "mock-sales-Passw0rd!"),
    ("noapi", "noapi.user@acme.test", "mock-noapi-Passw0rd!"),
];

/// A target file for a deployment whose instance and API host are both at `url` (one that is never
/// reached, or a proxy serving both).
fn target_file(url: &str) -> String {
    headless_gate::mock_target::loopback_target_file(url, url, "HG_TEST")
}

/// A target file for the running mock: its instance and its API host.
fn org_target_file(org: &mock_org::RunningOrg) -> String {
    headless_gate::mock_target::loopback_target_file(&org.url, &org.api_url, "HG_TEST")
}

fn write(name: &str, text: &str) -> std::path::PathBuf {
    let p = support::scratch(&format!("target-{name}.toml"));
    std::fs::write(&p, text).unwrap();
    p
}

/// The variables the target file names: every persona's password (but `skip`'s) and the app's
/// client secret.
fn with_credentials(cmd: &mut Command, skip: Option<&str>) {
    for (name, _, pw) in PERSONAS.iter().filter(|p| Some(p.0) != skip) {
        cmd.env(format!("HG_TEST_{}_PASSWORD", name.to_uppercase()), pw);
    }
    cmd.env("HG_TEST_CLIENT_SECRET", CLIENT_SECRET);
}

async fn gate(args: Vec<String>, with_passwords: bool) -> (i32, String, String) {
    tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_headless-gate"));
        cmd.args(&args).current_dir(env!("CARGO_MANIFEST_DIR"));
        if with_passwords {
            with_credentials(&mut cmd, None);
        }
        let out = cmd.output().unwrap();
        (
            out.status.code().unwrap_or(-1),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap()
}

fn reports_dir(name: &str) -> String {
    support::scratch(&format!("target-reports-{name}")).display().to_string()
}

/// `run --target FILE --tags TAGS` with every persona's variable, reports under `name`: the exit
/// code, the console and results.json.
async fn run_tagged(file: &std::path::Path, name: &str, tags: &str) -> (i32, String, String, serde_json::Value) {
    let reports = reports_dir(name);
    let args = ["run", "--target", &file.display().to_string(), "--reports", &reports, "--tags", tags];
    let (code, stdout, stderr) = gate(args.iter().map(|a| a.to_string()).collect(), true).await;
    let json = std::fs::read_to_string(format!("{reports}/results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .unwrap_or(serde_json::Value::Null);
    (code, stdout, stderr, json)
}

#[tokio::test]
async fn the_scenarios_run_against_a_deployment_named_by_a_target_file() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    // What this file gives no way to check is excluded by ID, with the reason (LIM-01 not even run
    // for information: its burst spends the org's API limits).
    let excluded = r#"
[[exclude]]
id = "HG-LIM-01"
reason = "its burst spends the org's API limits; rate limiting is evidenced by the platform's own limits"
run = false

[[exclude]]
id = "HG-DECL-02"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-01"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-02"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-03"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-04"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-05"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-06"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-ECA-07"
reason = "the app's metadata is reviewed by hand in the change request"

[[exclude]]
id = "HG-SYS-03"
reason = "the Apex is scanned in the org's own pipeline"
expires = "2999-12-31"

[[exclude]]
id = "HG-SYS-04"
reason = "the Apex is scanned in the org's own pipeline"

[[exclude]]
id = "HG-PIN-01"
reason = "the catalog is pinned by the team's baseline, which CI passes with --baseline"
"#;
    let file = write("ok", &format!("{}{excluded}", org_target_file(&org)));
    let reports = reports_dir("ok");
    let args = vec!["run".into(), "--target".into(), file.display().to_string(), "--reports".into(), reports.clone()];
    let (code, stdout, stderr) = gate(args, true).await;
    assert_eq!(code, 0, "stdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("EXCLUDED HG-CODE-05"), "{stdout}");
    for pw in PERSONAS.iter().map(|p| p.2).chain([CLIENT_SECRET]) {
        assert!(!stdout.contains(pw) && !stderr.contains(pw));
        assert!(!std::fs::read_to_string(format!("{reports}/results.json")).unwrap().contains(pw));
    }
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{reports}/results.json")).unwrap()).unwrap();
    assert_eq!(json["run"]["target"], "loopback deployment");
    assert_eq!(
        json["run"]["exclusions"][0],
        "HG-CODE-05: the code lifetime cannot be waited out within the run's time budget"
    );
    assert_eq!(
        json["run"]["exclusions"][2],
        "HG-LIM-01 (not run): its burst spends the org's API limits; rate limiting is evidenced by the platform's own limits"
    );
    let exclusions: Vec<&str> =
        json["run"]["exclusions"].as_array().unwrap().iter().filter_map(|e| e.as_str()).collect();
    assert!(exclusions.iter().any(|e| e.starts_with("HG-SYS-03 (until 2999-12-31): ")), "{exclusions:?}");
    let controls = json["controls"].as_array().unwrap();
    let excluded: Vec<&serde_json::Value> = controls.iter().filter(|c| c["status"] == "excluded").collect();
    let ids: Vec<&str> = excluded.iter().map(|c| c["id"].as_str().unwrap()).collect();
    let eca = (1..=7).flat_map(|i| [format!("HG-ECA-0{i}"), format!("HG-ECA-0{i}")]);
    let mut expected: Vec<String> =
        ["HG-CODE-05", "HG-DECL-02", "HG-DECL-02"].iter().map(|s| s.to_string()).chain(eca).collect();
    expected.extend(
        ["HG-LIM-01", "HG-PIN-01", "HG-PIN-01", "HG-PIN-01", "HG-RS-05", "HG-SYS-03", "HG-SYS-04"].map(String::from),
    );
    assert_eq!(ids, expected);
    // Excluded controls still run for information, unless the exclusion says not to: without a
    // movable clock CODE-05 is not verifiable here, so its exclusion is not stale.
    let row = |id: &str| controls.iter().find(|c| c["id"] == id).unwrap();
    assert_eq!(row("HG-CODE-05")["informational"], "not verifiable");
    assert_eq!(row("HG-LIM-01")["informational"], serde_json::Value::Null);
    // A target file pins no catalog by itself: without --baseline HG-PIN-01 cannot be checked.
    assert_eq!(row("HG-PIN-01")["informational"], "not verifiable");
    assert_eq!(row("HG-SYS-03")["informational"], "not verifiable");
    assert!(!stdout.contains("stale"), "{stdout}");
    // The gate's own count of what it sent is what the deployment answered, kind by kind
    // adding up, and the REST and MCP share (the org's API limit) is named on the console.
    let requests = &json["run"]["requests"];
    let served = org.state.requests_served.load(std::sync::atomic::Ordering::SeqCst);
    assert_eq!(requests["total"], served, "the mock answered {served}: {requests}");
    let kinds = ["discovery", "login", "token", "rest", "mcp", "other"];
    let by_kind = |k: &str| requests["by_kind"][k].as_u64().unwrap_or_else(|| panic!("{k}: {requests}"));
    assert_eq!(kinds.iter().map(|k| by_kind(k)).sum::<u64>(), served);
    assert_eq!(requests["rest_and_mcp"], by_kind("rest") + by_kind("mcp"));
    assert!(kinds[..5].iter().all(|k| by_kind(k) > 0) && by_kind("other") == 0, "{requests}");
    let floor = requests["floor_round_trips"].as_u64().unwrap();
    assert!(floor > 0 && floor < served, "{requests}");
    assert!(stdout.contains(&format!("{served} requests sent to the target (discovery ")), "{stdout}");
    // The deployment saw the gate's traffic: the audit log names the agent.
    assert!(org.state.audit.snapshot().iter().any(|r| r.username.as_deref() == Some("agent.service@acme.test")));
    assert_seeds_created_and_removed(&org);
    // The write checks through MCP ran on the `all` server the file names.
    let mcp_writes = json["controls"].as_array().unwrap().iter().filter(|c| {
        c["title"].as_str().unwrap().contains("through MCP")
            && ["HG-PERM-04", "HG-PERM-05"].contains(&c["id"].as_str().unwrap())
    });
    assert_eq!(mcp_writes.filter(|c| c["status"] == "passed").count(), 4);
}

/// The direct grants authenticate the app on Salesforce: without its consumer secret a refusal of
/// the password or client-credentials grant proves nothing, so they are not verifiable, naming the
/// key, even on an org whose app has the flow on. With the secret the same org fails them.
#[tokio::test]
async fn a_direct_grant_refused_for_a_missing_client_secret_proves_nothing() {
    let mut org = mock_org::Org::default_fixture();
    org.enable_fault("client-credentials").unwrap();
    org.enable_fault("password-grant").unwrap();
    let org = mock_org::start(org).await.unwrap();
    let with_secret = org_target_file(&org);
    let without = with_secret.replacen("client_secret_env = \"HG_TEST_CLIENT_SECRET\"\n", "", 1);
    assert_ne!(with_secret, without);

    let (code, stdout, _, json) =
        run_tagged(&write("nosecret", &without), "nosecret", "@HG-GRANT-01 or @HG-GRANT-02").await;
    assert_eq!(code, 1, "{stdout}");
    let row = |json: &serde_json::Value, id: &str| {
        json["controls"].as_array().unwrap().iter().find(|c| c["id"] == id).cloned().unwrap()
    };
    for id in ["HG-GRANT-01", "HG-GRANT-02"] {
        let r = row(&json, id);
        assert_eq!(r["status"], "not verifiable", "{r}");
        assert!(r["message"].as_str().unwrap().contains("set app.client_secret_env"), "{r}");
    }

    let (code, stdout, _, json) =
        run_tagged(&write("secret", &with_secret), "secret", "@HG-GRANT-01 or @HG-GRANT-02").await;
    assert_eq!(code, 1, "{stdout}");
    for id in ["HG-GRANT-01", "HG-GRANT-02"] {
        let r = row(&json, id);
        assert_eq!(r["status"], "failed", "{r}");
        assert!(r["message"].as_str().unwrap().contains("observed 200"), "{r}");
    }
    assert!(!stdout.contains(CLIENT_SECRET));
}

/// The admin created canaries (the audit log has the inserts) and none is left in the org.
fn assert_seeds_created_and_removed(org: &mock_org::RunningOrg) {
    let created = org
        .state
        .audit
        .snapshot()
        .iter()
        .filter(|r| r.username.as_deref() == Some("admin@acme.test") && r.method == "POST" && r.status == 201)
        .count();
    assert!(created >= 2, "the admin seeded canaries ({created} inserts)");
    let store = org.state.store_read();
    for object in ["Case", "Opportunity"] {
        let left: Vec<&str> = store
            .of_object(object)
            .filter(|r| r.fields.values().any(|v| v.as_str().is_some_and(|s| s.starts_with("CANARY-SEEDED"))))
            .map(|r| r.id.as_str())
            .collect();
        assert!(left.is_empty(), "seeded {object} canaries left behind: {left:?}");
    }
}

#[tokio::test]
async fn seeded_canaries_are_removed_when_the_probe_fails() {
    let mut fixture = mock_org::Org::default_fixture();
    fixture.enable_fault("tool-without-sharing").unwrap();
    let org = mock_org::start(fixture).await.unwrap();
    let file = write("leak", &org_target_file(&org));
    let (code, stdout, stderr, _) = run_tagged(&file, "leak", "@HG-SYS-01").await;
    assert_eq!(code, 1, "the probe catches the leak\nstdout:\n{stdout}\nstderr:\n{stderr}");
    assert!(stdout.contains("FAILED HG-SYS-01 no tool the agent can list returns a canary"), "{stdout}");
    assert_seeds_created_and_removed(&org);
}

#[tokio::test]
async fn a_missing_password_variable_is_a_usage_error_naming_the_key() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let file = write("noenv", &org_target_file(&org));
    let (code, _, stderr) = gate(
        vec!["run".into(), "--target".into(), file.display().to_string(), "--reports".into(), reports_dir("noenv")],
        false,
    )
    .await;
    assert_eq!(code, 2);
    // The agent's variable must be set; the others may sit out (see below).
    assert!(
        stderr.contains("personas.agent.password_env: the environment variable HG_TEST_AGENT_PASSWORD is not set"),
        "{stderr}"
    );
    // A declared client secret must be there too.
    let out = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_headless-gate"));
        cmd.args(["run", "--target", file.to_str().unwrap(), "--reports", &reports_dir("nosecretenv")]);
        with_credentials(&mut cmd, None);
        cmd.env_remove("HG_TEST_CLIENT_SECRET").current_dir(env!("CARGO_MANIFEST_DIR")).output().unwrap()
    })
    .await
    .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("app.client_secret_env: the environment variable HG_TEST_CLIENT_SECRET is not set"),
        "{stderr}"
    );
}

/// A persona other than the agent whose variable is not set sits out: a run of a few tags needs
/// only its own personas, and what needs the missing one is not verifiable, naming the variable.
#[tokio::test]
async fn a_persona_whose_variable_is_not_set_sits_out() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let file = write("admin-unset", &org_target_file(&org));
    let reports = reports_dir("admin-unset");
    let (code, stdout, stderr) = tokio::task::spawn_blocking(move || {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_headless-gate"));
        cmd.args(["run", "--target", &file.display().to_string(), "--reports", &reports])
            .args(["--tags", "@HG-GRANT-06 or @HG-RS-10 or @HG-REV-04"])
            .current_dir(env!("CARGO_MANIFEST_DIR"));
        with_credentials(&mut cmd, Some("admin"));
        let out = cmd.output().unwrap();
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    })
    .await
    .unwrap();
    assert_ne!(code, Some(2), "{stderr}");
    // The agent's own scenarios ran.
    let results = std::fs::read_to_string(format!("{}/results.json", reports_dir("admin-unset"))).unwrap();
    let results: serde_json::Value = serde_json::from_str(&results).unwrap();
    let grant06 = results["controls"].as_array().unwrap().iter().find(|c| c["id"] == "HG-GRANT-06").unwrap();
    assert_eq!(grant06["status"], "passed", "{stdout}");
    assert!(
        stdout.contains(
            "HG-REV-04 when the admin freezes the user, its tokens die at once and it cannot sign in: persona 'admin' sits out this run: the environment variable HG_TEST_ADMIN_PASSWORD is not set"
        ),
        "{stdout}"
    );
}

/// A password variable that is set but empty, or not UTF-8, is named as such, not as unset.
#[tokio::test]
async fn an_empty_or_unreadable_password_variable_is_named() {
    let file = write("emptypw", &target_file("http://127.0.0.1:1"));
    for (value, problem) in [
        (std::ffi::OsString::from(""), "the environment variable HG_TEST_ADMIN_PASSWORD is empty"),
        (
            std::os::unix::ffi::OsStringExt::from_vec(vec![0xff, 0xfe]),
            "the environment variable HG_TEST_ADMIN_PASSWORD is not valid UTF-8",
        ),
    ] {
        let out = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
            .args(["run", "--target", file.to_str().unwrap(), "--reports", &reports_dir("emptypw")])
            .current_dir(env!("CARGO_MANIFEST_DIR"))
            .envs(PERSONAS.iter().map(|(n, _, pw)| (format!("HG_TEST_{}_PASSWORD", n.to_uppercase()), pw.to_string())))
            .env("HG_TEST_CLIENT_SECRET", CLIENT_SECRET)
            .env("HG_TEST_ADMIN_PASSWORD", value)
            .output()
            .unwrap();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{stderr}");
        assert!(stderr.contains(&format!("personas.admin.password_env: {problem}")), "{stderr}");
    }
}

#[tokio::test]
async fn an_unreachable_target_is_reported_at_start() {
    // A port nothing listens on: bind one, note it, close it.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let file = write("down", &target_file(&format!("http://127.0.0.1:{port}")));
    let (code, _, stderr) = gate(
        vec!["run".into(), "--target".into(), file.display().to_string(), "--reports".into(), reports_dir("down")],
        true,
    )
    .await;
    assert_eq!(code, 2);
    assert!(stderr.contains("unreachable at start"), "{stderr}");
}

#[tokio::test]
async fn a_bad_target_file_names_the_key() {
    let file =
        write("bad", &target_file("http://127.0.0.1:1").replacen("flavor = \"salesforce\"", "flavor = \"soap\"", 1));
    let (code, _, stderr) = gate(vec!["run".into(), "--target".into(), file.display().to_string()], true).await;
    assert_eq!(code, 2);
    assert!(stderr.contains(": flavor: 'soap' is not salesforce or oauth2.1"), "{stderr}");
    // Roles name real roles and personas of the file.
    for (text, says) in [
        ("boss = \"admin\"\n", "roles.boss: is not a role: the roles are agent, restricted, second_user, admin"),
        ("admin = \"nobody\"\n", "roles.admin: 'nobody' is not a persona of this file"),
    ] {
        let t = target_file("http://127.0.0.1:1").replacen("[roles]\n", &format!("[roles]\n{text}"), 1);
        let file = write("bad-role", &t);
        let (code, _, stderr) = gate(vec!["run".into(), "--target".into(), file.display().to_string()], true).await;
        assert_eq!(code, 2);
        assert!(stderr.contains(says), "{stderr}");
    }
    // Several MCP servers: the file names the agent's primary one, and it must be one of them.
    for (text, says) in [
        ("", "endpoints.primary_mcp_server: is required with 2 MCP servers"),
        (
            "primary_mcp_server = \"other\"\n",
            "endpoints.primary_mcp_server: 'other' is not a key of endpoints.mcp_servers",
        ),
    ] {
        let t = target_file("http://127.0.0.1:1").replacen("primary_mcp_server = \"reads\"\n", text, 1);
        let file = write("bad-primary", &t);
        let (code, _, stderr) = gate(vec!["run".into(), "--target".into(), file.display().to_string()], true).await;
        assert_eq!(code, 2);
        assert!(stderr.contains(says), "{stderr}");
    }
}

#[test]
fn init_writes_a_template_that_parses_and_refuses_to_overwrite() {
    let dir = support::scratch("init");
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("target.toml");
    let _ = std::fs::remove_file(&path);
    let run = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_headless-gate")).arg("init").arg(&path).args(extra).output().unwrap()
    };
    assert!(run(&[]).status.success());
    assert!(headless_gate::target_file::load(&path).is_ok());
    assert_eq!(run(&[]).status.code(), Some(2), "no silent overwrite");
    assert!(run(&["--force"]).status.success());
    // The generic template, for a stack that is not Salesforce.
    assert!(run(&["--force", "--flavor", "oauth2.1"]).status.success());
    let generic = headless_gate::target_file::load(&path).unwrap();
    assert_eq!(generic.flavor, "oauth2.1");
    assert_eq!(generic.endpoints.instance_url, generic.endpoints.issuer, "no instance URL needed");
}

#[test]
fn controls_lists_the_catalog() {
    let out = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["controls"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    assert!(out.status.success());
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("HG-REV-03") && text.contains("HG-PERM-07") && text.contains("HG-META-01"));
    assert!(text.lines().last().unwrap().ends_with("scenarios"));
}

/// SFDX metadata for the mock's apps, as `sf project retrieve start` would write it.
fn write_app_metadata(dir: &std::path::Path, apps: &[(&str, &str, &str, &str)]) {
    let (g, s) = (dir.join("extlClntAppGlobalOauthSets"), dir.join("extlClntAppOauthSettings"));
    std::fs::create_dir_all(&g).unwrap();
    std::fs::create_dir_all(&s).unwrap();
    for (name, key, callbacks, scopes) in apps {
        std::fs::write(
            g.join(format!("{name}.ecaGlblOauth-meta.xml")),
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ExtlClntAppGlobalOauthSettings xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <callbackUrl>{callbacks}</callbackUrl>\n    <consumerKey>{key}</consumerKey>\n    <externalClientApplication>{name}</externalClientApplication>\n</ExtlClntAppGlobalOauthSettings>\n"
            ),
        )
        .unwrap();
        std::fs::write(
            s.join(format!("{name}.ecaOauth-meta.xml")),
            format!(
                "<ExtlClntAppOauthSettings xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <commaSeparatedOauthScopes>{scopes}</commaSeparatedOauthScopes>\n    <externalClientApplication>{name}</externalClientApplication>\n</ExtlClntAppOauthSettings>\n"
            ),
        )
        .unwrap();
    }
}

#[tokio::test]
async fn decl_02_reads_the_app_metadata_a_target_file_names() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let dir = support::scratch("decl02");
    let agent = (
        "Headless_Service_Agent",
        "3MVG9mockHeadlessServiceAgentKey0001",
        "https://agent.example.test/oauth/callback",
        "McpApi, RefreshToken",
    );
    let dashboard = (
        "Reporting_Dashboard",
        "3MVG9mockReportingDashboardKey0002",
        "http://127.0.0.1:53682/callback",
        "Api, RefreshToken",
    );
    let inspector =
        ("MCP_Inspector", "3MVG9mockMcpInspectorKey000000003", "http://localhost:6274/oauth/callback", "McpApi");
    let with_metadata = |name: &str, extra: &str| {
        let text = org_target_file(&org).replacen(
            "other_client_id = ",
            &format!("metadata = \"{}\"\nother_client_id = ", dir.join(name).display()),
            1,
        );
        write(name, &format!("{text}{extra}"))
    };
    let run = |file: std::path::PathBuf, name: &str| {
        let file = file.display().to_string();
        let args = ["run", "--target", &file, "--reports", &reports_dir(name), "--tags", "@HG-DECL-02"];
        gate(args.iter().map(|a| a.to_string()).collect(), true)
    };

    write_app_metadata(&dir.join("dedicated"), &[agent, dashboard, inspector]);
    let (code, stdout, _) = run(with_metadata("dedicated", ""), "dedicated").await;
    // Both rows passed; the rest of the checklist was not selected.
    assert_eq!(code, 3, "{stdout}");
    assert!(stdout.contains("rows: 2 passed, "), "{stdout}");
    assert!(!stdout.contains("FAILED HG-"), "{stdout}");

    // The dashboard's integration runs on the agent's app: its callback is there, and the
    // declarations give it the agent's client id.
    let shared_agent =
        (agent.0, agent.1, "https://agent.example.test/oauth/callback\nhttp://127.0.0.1:53682/callback", agent.3);
    write_app_metadata(&dir.join("shared"), &[shared_agent, inspector]);
    let file = with_metadata("shared", "").to_str().unwrap().to_string();
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "\"Reporting dashboard\" = \"3MVG9mockReportingDashboardKey0002\"",
        "\"Reporting dashboard\" = \"3MVG9mockHeadlessServiceAgentKey0001\"",
    );
    std::fs::write(&file, text).unwrap();
    let (code, stdout, _) = run(file.into(), "shared").await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("callbacks not the agent's [\"http://127.0.0.1:53682/callback\"]"), "{stdout}");
    assert!(stdout.contains("Reporting dashboard is declared with the agent's client id"), "{stdout}");

    // No metadata named: the control is not verifiable, which fails the gate until it is
    // excluded by ID with a reason, and the report says what to set.
    let (code, stdout, _) = run(write("nometa", &org_target_file(&org)), "nometa").await;
    assert_eq!(code, 1, "{stdout}");
    assert!(stdout.contains("NOT VERIFIABLE HG-DECL-02 the agent's External Client App is dedicated to it: the target names no External Client App metadata (set app.metadata to the SFDX files)"), "{stdout}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Exclusions stay honest: an ID the catalog does not have is an error naming the key; an
/// exclusion past its date fails the gate; an excluded control still runs for information, and
/// one that passes is reported as a stale exclusion; an item whose controls are all excluded is
/// NOT EVIDENCED, never passed.
#[tokio::test]
async fn exclusions_name_real_controls_expire_and_show_when_stale() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let with = |name: &str, extra: &str| write(name, &format!("{}{extra}", org_target_file(&org)));
    let run = |file: std::path::PathBuf, name: &str, tags: &str| {
        let args = ["run", "--target", file.to_str().unwrap(), "--reports", &reports_dir(name), "--tags", tags];
        gate(args.iter().map(|a| a.to_string()).collect(), true)
    };

    let typo = with("typo", "\n[[exclude]]\nid = \"HG-AUD-99\"\nreason = \"no such control\"\n");
    let (code, _, stderr) = run(typo, "typo", "@C7").await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains(": exclude[2].id: 'HG-AUD-99' is not a control of the catalog"), "{stderr}");

    let all_of_c7: String = ["HG-AUD-01", "HG-AUD-02", "HG-AUD-03", "HG-AUD-04", "HG-AUD-05"]
        .iter()
        .map(|id| {
            format!("\n[[exclude]]\nid = \"{id}\"\nreason = \"monitoring is evidenced by the SOC's own review\"\n")
        })
        .collect();
    let (code, stdout, _) = run(with("c7", &all_of_c7), "c7", "@C7 or @HG-DECL-01").await;
    assert_eq!(code, 3, "a selection never passes\n{stdout}");
    let c7 = stdout.lines().find(|l| l.starts_with("  C7 ")).unwrap_or_else(|| panic!("{stdout}"));
    assert!(c7.contains("NOT EVIDENCED") && c7.contains("(8 excluded)"), "{c7}");
    // The mock target answers the audit checks, so these exclusions are stale, and say so.
    assert!(
        stdout.contains("EXCLUDED HG-AUD-05 every object the agent can edit has field history tracking on: excluded by the target file: monitoring is evidenced by the SOC's own review (stale: it passes; remove the exclusion)"),
        "{stdout}"
    );

    let expired = with(
        "expired",
        "\n[[exclude]]\nid = \"HG-DECL-01\"\nreason = \"until the use case is written\"\nexpires = \"2020-01-31\"\n",
    );
    let (code, stdout, _) = run(expired, "expired", "@HG-DECL-01 or @HG-META-01").await;
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("exclusion expired: HG-DECL-01 (expired 2020-01-31): until the use case is written"),
        "{stdout}"
    );
    assert!(!stdout.contains("EXCLUDED HG-DECL-01"), "an expired exclusion is not honoured\n{stdout}");
}

/// Proof before denial: a target file whose record alias names a record the org does not have.
/// The agent's 404 for it would pass having tested nothing; the admin's read shows there is
/// nothing to deny, and the rows are not verifiable, never passed.
#[tokio::test]
async fn a_denial_of_a_record_the_target_does_not_have_is_not_verifiable() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let text = org_target_file(&org).replacen(
        "unshared-case = {{ object = \"Case\", id = \"500000000000003\" }}"
            .replace("{{", "{")
            .replace("}}", "}")
            .as_str(),
        "unshared-case = { object = \"Case\", id = \"500000000000093\" }",
        1,
    );
    assert!(text.contains("500000000000093"));
    let file = write("norecord", &text);
    let args =
        ["run", "--target", file.to_str().unwrap(), "--reports", &reports_dir("norecord"), "--tags", "@HG-PERM-03"];
    let (code, stdout, _) = gate(args.iter().map(|a| a.to_string()).collect(), true).await;
    assert_eq!(code, 1, "{stdout}");
    let nv: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  NOT VERIFIABLE ")).collect();
    assert_eq!(nv.len(), 2, "the REST row and the MCP row of unshared-case: {stdout}");
    assert!(
        nv.iter().all(|l| l.contains("the admin cannot read the Case record 'unshared-case' (404 NOT_FOUND)")),
        "{stdout}"
    );
    // The twin in which the owner lists that record fails too: there is nothing to list.
    let failed: Vec<&str> = stdout.lines().filter(|l| l.starts_with("  FAILED HG-")).collect();
    assert_eq!(failed.len(), 1, "{stdout}");
    assert!(failed[0].starts_with("  FAILED HG-PERM-03 twin: the owner sees its own records"), "{stdout}");
}

/// A reverse proxy in front of the mock that, once a user has been frozen or deactivated, holds
/// every request but a PATCH (the undo) forever, so a signal lands while the scenario is under
/// way; `undo_fails` refuses the undo too.
struct HoldingProxy {
    upstream: String,
    client: reqwest::Client,
    changed: std::sync::atomic::AtomicBool,
    tell: tokio::sync::Notify,
    undo_fails: bool,
}

async fn holding(
    axum::extract::State(p): axum::extract::State<std::sync::Arc<HoldingProxy>>,
    req: axum::extract::Request,
) -> axum::response::Response {
    use std::sync::atomic::Ordering::SeqCst;
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let text = String::from_utf8_lossy(&body).replace(' ', "");
    let is_patch = parts.method == reqwest::Method::PATCH;
    let changes_user = is_patch && (text.contains("\"IsFrozen\":true") || text.contains("\"IsActive\":false"));
    if p.changed.load(SeqCst) && !changes_user {
        if !is_patch {
            std::future::pending::<()>().await;
        }
        if p.undo_fails {
            let answer = r#"[{"errorCode":"UNKNOWN_EXCEPTION","message":"held by the test"}]"#;
            return axum::response::Response::builder().status(500).body(answer.into()).unwrap();
        }
    }
    let url = format!("{}{}", p.upstream, parts.uri.path_and_query().map(|q| q.as_str()).unwrap_or("/"));
    let mut headers = parts.headers.clone();
    headers.remove(axum::http::header::HOST);
    let answer = p.client.request(parts.method, url).headers(headers).body(body).send().await.unwrap();
    if changes_user {
        p.changed.store(true, SeqCst);
        p.tell.notify_one();
    }
    let mut out = axum::response::Response::builder().status(answer.status());
    for (k, v) in answer.headers().iter().filter(|(k, _)| *k != axum::http::header::TRANSFER_ENCODING) {
        out = out.header(k, v);
    }
    out.body(answer.bytes().await.unwrap().into()).unwrap()
}

/// Runs REV-04 against the mock behind a holding proxy, sends SIGTERM once the user is changed,
/// and gives the exit code, the results and the mock.
async fn interrupted_mid_revocation(
    name: &str,
    undo_fails: bool,
) -> (Option<i32>, serde_json::Value, mock_org::RunningOrg) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let public = format!("http://{}", listener.local_addr().unwrap());
    let addresses = mock_org::Public { url: Some(public.clone()), api_url: None };
    let org = mock_org::start_behind(mock_org::Org::default_fixture(), addresses).await.unwrap();
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let proxy = std::sync::Arc::new(HoldingProxy {
        upstream: org.url.clone(),
        client,
        changed: Default::default(),
        tell: tokio::sync::Notify::new(),
        undo_fails,
    });
    let app = axum::Router::new().fallback(holding).with_state(proxy.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    let file = write(name, &headless_gate::mock_target::loopback_target_file(&public, &org.api_url, "HG_TEST"));
    let reports = reports_dir(name);
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_headless-gate"));
    cmd.args(["run", "--target", &file.display().to_string(), "--reports", &reports])
        .args(["--tags", "@HG-REV-04", "--concurrency", "1"])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null());
    with_credentials(&mut cmd, None);
    let mut child = cmd.spawn().unwrap();
    let changed = tokio::time::timeout(std::time::Duration::from_secs(60), proxy.tell.notified()).await;
    let pid = child.id().to_string();
    assert!(Command::new("kill").args(["-TERM", &pid]).status().unwrap().success());
    assert!(changed.is_ok(), "the scenario changed the user before the signal");
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap().code()).await.unwrap();
    let json = serde_json::from_str(&std::fs::read_to_string(format!("{reports}/results.json")).unwrap()).unwrap();
    (code, json, org)
}

fn frozen_or_inactive(org: &mock_org::RunningOrg, username: &str) -> bool {
    let store = org.state.store_read();
    let user = store.of_object("User").find(|u| u.get("Username") == username).expect("the user");
    let login = store.of_object("UserLogin").find(|l| l.get("UserId") == &serde_json::json!(user.id));
    user.get("IsActive") == &serde_json::json!(false)
        || login.is_some_and(|l| l.get("IsFrozen") == &serde_json::json!(true))
}

/// SIGTERM while REV-04 has the agent frozen: the scenario's undo still runs (the agent is not
/// left frozen in the org), and the scenario is in the reports, not verifiable.
#[tokio::test]
async fn a_signal_mid_scenario_still_runs_its_undo_before_the_reports() {
    let (code, json, org) = interrupted_mid_revocation("undo", false).await;
    assert_eq!(code, Some(130));
    assert!(!frozen_or_inactive(&org, "agent.service@acme.test"), "the agent was left changed in the org");
    let rows: Vec<&serde_json::Value> =
        json["controls"].as_array().unwrap().iter().filter(|c| c["id"] == "HG-REV-04").collect();
    assert_eq!(rows.len(), 2);
    assert!(rows.iter().all(|r| r["status"] == "not verifiable"), "{rows:?}");
    assert!(rows.iter().any(|r| r["message"] == "the run was interrupted before this control finished"));
    assert_eq!(json["run"]["undo_outstanding"], serde_json::json!([]));
}

/// An undo the target refuses is named in the reports, so a team knows the org needs a hand.
#[tokio::test]
async fn an_undo_that_could_not_run_is_named_in_the_reports() {
    let (code, json, org) = interrupted_mid_revocation("undo-refused", true).await;
    assert_eq!(code, Some(130));
    assert!(frozen_or_inactive(&org, "agent.service@acme.test"));
    let left = json["run"]["undo_outstanding"].as_array().unwrap();
    assert_eq!(left.len(), 1, "{left:?}");
    let left = left[0].as_str().unwrap();
    assert!(left.starts_with("HG-REV-04 ") && left.contains("PATCH /sobjects/User"), "{left}");
}

/// A signal while the gate is still discovering the target's endpoints: the reports are written,
/// every control in them not verifiable.
#[tokio::test]
async fn a_signal_during_discovery_still_writes_the_reports() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    let file = write("discovery", &target_file(&url));
    let reports = reports_dir("discovery");
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_headless-gate"));
    cmd.args(["run", "--target", &file.display().to_string(), "--reports", &reports])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdout(std::process::Stdio::null());
    with_credentials(&mut cmd, None);
    let mut child = cmd.spawn().unwrap();
    // The gate has connected: discovery is under way, and the connection never answers.
    let (_held, _) =
        tokio::time::timeout(std::time::Duration::from_secs(60), listener.accept()).await.unwrap().unwrap();
    assert!(Command::new("kill").args(["-TERM", &child.id().to_string()]).status().unwrap().success());
    let code = tokio::task::spawn_blocking(move || child.wait().unwrap().code()).await.unwrap();
    assert_eq!(code, Some(130));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(format!("{reports}/results.json")).unwrap()).unwrap();
    assert_eq!(json["verdict"], "interrupted");
    let controls = json["controls"].as_array().unwrap();
    assert_eq!(controls.len(), headless_gate::catalog::shipped().len());
    assert!(controls.iter().all(|c| c["status"] == "not verifiable"));
}

/// RFC 8707 resource indicators go out unless the file turns them off, and then only with a
/// reason, which the reports show.
#[tokio::test]
async fn resource_indicators_are_sent_unless_turned_off_with_a_reason() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let with = |extra: &str| org_target_file(&org).replacen("[app]\n", &format!("[app]\n{extra}"), 1);
    let no_reason = write("rfc8707-no-reason", &with("resource_indicators = false\n"));
    let args = vec!["run".into(), "--target".into(), no_reason.display().to_string()];
    let (code, _, stderr) = gate(args, true).await;
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("app.resource_indicators_off_because"), "{stderr}");
    let off = write(
        "rfc8707-off",
        &with(
            "resource_indicators = false\nresource_indicators_off_because = \"this server rejects unknown parameters\"\n",
        ),
    );
    let (_, _, stderr, json) = run_tagged(&off, "rfc8707-off", "@HG-GRANT-06").await;
    assert_eq!(
        json["run"]["client_deviations"][0],
        "RFC 8707 resource indicators are not sent (app.resource_indicators = false): this server rejects unknown parameters",
        "{stderr}"
    );
    let row = &json["controls"].as_array().unwrap().iter().find(|c| c["id"] == "HG-GRANT-06").unwrap()["evidence"];
    assert!(!row.to_string().contains("resource="), "{row}");
    // Twin: by default the authorization request names every resource the agent's token is used at.
    let on = write("rfc8707-on", &org_target_file(&org));
    let (_, _, _, json) = run_tagged(&on, "rfc8707-on", "@HG-GRANT-06").await;
    let row = &json["controls"].as_array().unwrap().iter().find(|c| c["id"] == "HG-GRANT-06").unwrap()["evidence"];
    let encoded = |u: &str| u.replace(':', "%3A").replace('/', "%2F");
    assert!(row.to_string().contains(&format!("resource={}", encoded(&org.url))), "{row}");
    assert_eq!(json["run"]["client_deviations"], serde_json::json!([]));
}

/// The remote benchmark's run, through the latency proxy: the gate reaches the mock only through
/// the proxy, counts what the mock answered, and the floor is a part of it. (How long it took is
/// BENCHMARKS.md's business, never a test's.)
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_remote_benchmark_runs_the_gate_through_the_latency_proxy() {
    let gate = std::path::Path::new(env!("CARGO_BIN_EXE_headless-gate"));
    let run =
        headless_gate::bench::remote_once(gate, &support::scratch("remote"), std::time::Duration::from_millis(2), 8)
            .await
            .unwrap();
    // Not verifiable by design of the loopback file: no app metadata files, no Apex, no rate.
    assert_eq!(run.exit, Some(1), "{run:?}");
    assert_eq!(run.requests["total"], run.served, "{run:?}");
    let floor = run.requests["floor_round_trips"].as_u64().unwrap();
    assert!(floor > run.requests["floor_serial_round_trips"].as_u64().unwrap() && floor < run.served, "{run:?}");
    assert_eq!(run.floor(), std::time::Duration::from_millis(2) * floor as u32);
}

/// The shipped profile of known platform deviations: where the deviation occurs (the mock's MCP
/// server accepting a token issued for another server, as the platform's hosted servers do) its
/// row is excluded with the profile, the source and the failure kept for information; where it
/// does not, the exclusion shows stale.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn known_deviations_are_excluded_where_they_occur_and_stale_where_they_do_not() {
    for (fault, informational) in [(Some("mcp-metadata-wrong-resource"), "failed"), (None, "passed")] {
        let mut fixture = mock_org::Org::default_fixture();
        if let Some(f) = fault {
            fixture.enable_fault(f).unwrap();
        }
        let org = mock_org::start(fixture).await.unwrap();
        let text = org_target_file(&org).replacen(
            "flavor = \"salesforce\"\n",
            "flavor = \"salesforce\"\nexclusion_profiles = [\"salesforce-known-deviations\"]\n",
            1,
        );
        let name = format!("deviations-{informational}");
        let file = write(&name, &text);
        let (code, stdout, _, json) = run_tagged(&file, &name, "@HG-RS-02").await;
        assert_eq!(code, 3, "a selection is inconclusive, never failed by an excluded row\n{stdout}");
        let rows: Vec<&serde_json::Value> =
            json["controls"].as_array().unwrap().iter().filter(|c| c["id"] == "HG-RS-02").collect();
        assert!(!rows.is_empty());
        for row in rows {
            assert_eq!(row["status"], "excluded", "{row}");
            assert_eq!(row["informational"], informational, "{row}");
            let why = row["message"].as_str().unwrap();
            assert!(
                why.starts_with("excluded as a known platform deviation (exclusion profile salesforce-known-deviations (until 2027-05-31)): ")
                    && why.ends_with("; reported in https://github.com/forcedotcom/mcp-hosted/issues/44 (2026-08-13)"),
                "{why}"
            );
        }
        assert_eq!(stdout.contains("(stale: it passes; remove the exclusion)"), fault.is_none(), "{stdout}");
        assert!(json["run"]["exclusions"].as_array().unwrap().iter().any(|x| {
            x.as_str().unwrap().starts_with("HG-RS-02 (profile salesforce-known-deviations) (until 2027-05-31): ")
        }));
        org.shutdown().await;
    }
}

/// An admin persona without the right to freeze users makes REV-04 not verifiable, naming the
/// right, and nothing is left frozen: the gap is the target file's, not a failure of the org.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_admin_persona_that_may_not_freeze_users_makes_rev04_not_verifiable() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    // The admin persona is the sales rep, who may read but not manage users.
    let text = org_target_file(&org).replacen(
        "username = \"admin@acme.test\"\npassword_env = \"HG_TEST_ADMIN_PASSWORD\"",
        "username = \"sales.rep@acme.test\"\npassword_env = \"HG_TEST_SALES_PASSWORD\"",
        1,
    );
    assert!(text.contains("[personas.admin]\nusername = \"sales.rep@acme.test\""));
    let file = write("admin-not-admin", &text);
    let (code, stdout, _, json) = run_tagged(&file, "admin-not-admin", "@HG-REV-04").await;
    // Not verifiable counts against the gate: exit 1, with the reasons, never a pass or a failure.
    assert_eq!(code, 1, "{stdout}");
    let rows: Vec<&serde_json::Value> =
        json["controls"].as_array().unwrap().iter().filter(|c| c["id"] == "HG-REV-04").collect();
    let why: Vec<&str> = rows.iter().map(|r| r["message"].as_str().unwrap()).collect();
    assert!(rows.len() == 2 && rows.iter().all(|r| r["status"] == "not verifiable"), "{why:?}");
    assert!(why.iter().any(|w| w.ends_with("(400 INSUFFICIENT_ACCESS_OR_READONLY): it needs Manage Users")), "{why:?}");
    assert!(why.iter().any(|w| w.starts_with("the admin cannot read agent.service@acme.test's UserLogin")), "{why:?}");
    // The refused change never happened: nothing is owed to the org, nothing to put back by hand.
    assert_eq!(json["run"]["undo_outstanding"], serde_json::json!([]), "{stdout}");
    assert!(!stdout.contains("NOT UNDONE"), "{stdout}");
    assert!(!frozen_or_inactive(&org, "agent.service@acme.test"));
}

/// REST refuses the agent's `mcp_api` tokens, as the platform does: without the gate's probe app
/// every REST-side check is not verifiable (naming the key), the admin's proofs included, while
/// the agent's own MCP calls still run; with it, the same rows pass.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rest_side_checks_need_the_probe_app() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let with = org_target_file(&org);
    let probe_table = with.find("\n[probe_app]").expect("the loopback file names the probe app");
    let end = with[probe_table + 1..].find("\n[").map(|i| probe_table + 1 + i).unwrap();
    let without = format!("{}{}", &with[..probe_table], &with[end..]);
    assert!(!without.contains("probe_app"));
    for (name, text, probe) in [("no-probe-app", &without, false), ("probe-app", &with, true)] {
        let file = write(name, text);
        let (_, stdout, _, json) = run_tagged(&file, name, "@HG-PERM-01").await;
        let rows = json["controls"].as_array().unwrap_or_else(|| panic!("results.json\n{stdout}"));
        let (rest, mcp): (Vec<_>, Vec<_>) = rows
            .iter()
            .filter(|c| c["id"] == "HG-PERM-01")
            .partition(|c| !c["title"].as_str().unwrap().contains("through MCP"));
        assert!(!rest.is_empty() && !mcp.is_empty(), "{stdout}");
        for row in &rest {
            if probe {
                assert_eq!(row["status"], "passed", "{row}");
            } else {
                assert_eq!(row["status"], "not verifiable", "{row}");
                let why = row["message"].as_str().unwrap();
                assert!(why.contains("declare the gate's probe app (probe_app.client_id"), "{why}");
            }
        }
        let twin = mcp.iter().find(|c| c["title"].as_str().unwrap().contains("twin")).expect("the MCP twin");
        assert_eq!(twin["status"], "passed", "{twin}");
    }
}

/// The PERM rows through MCP say what a call does; the target file's tool map names the tool.
/// On an org whose tools and arguments go by other names, every row passes with the map, and
/// the faults that make tools skip field-level security, sharing or CRUD are still caught. The
/// same rows with the platform's names (the loopback file's) cannot pass there: the map is what
/// they run on.
#[tokio::test]
async fn perm_rows_through_mcp_follow_the_target_files_tool_map() {
    let mcp_rows = |json: &serde_json::Value| -> Vec<(String, String)> {
        json["controls"]
            .as_array()
            .map(|a| {
                a.iter()
                    .filter(|c| c["title"].as_str().unwrap_or_default().contains("through MCP"))
                    .map(|c| (c["title"].as_str().unwrap().to_string(), c["status"].as_str().unwrap().to_string()))
                    .collect()
            })
            .unwrap_or_default()
    };
    let start = |faults: &str| {
        let text = support::renamed_tools_org().replacen("[org]\n", &format!("faults = [{faults}]\n\n[org]\n"), 1);
        mock_org::Org::parse("renamed-tools.toml", &text).expect("the renamed org parses")
    };
    // The loopback file with its [mcp_tools] table swapped for the renamed org's.
    let mapped = |org: &mock_org::RunningOrg| {
        let file = org_target_file(org);
        let at = file.find("\n[mcp_tools]\n").expect("the loopback file maps tools");
        let end = file[at + 1..].find("\n[").map(|i| at + 1 + i).unwrap();
        format!("{}\n{}{}", &file[..at], support::RENAMED_TOOL_MAP, &file[end..])
    };
    let org = mock_org::start(start("")).await.unwrap();
    let (_, stdout, _, json) = run_tagged(&write("renamed", &mapped(&org)), "renamed", "@C4 and @mcp").await;
    let rows = mcp_rows(&json);
    assert!(rows.len() >= 10, "the PERM rows through MCP ran: {stdout}");
    assert!(rows.iter().all(|(_, s)| s == "passed"), "{rows:#?}");

    let (_, stdout, _, json) = run_tagged(&write("unmapped", &org_target_file(&org)), "unmapped", "@C4 and @mcp").await;
    let unmapped = mcp_rows(&json);
    let twin = unmapped.iter().find(|(t, _)| t.starts_with("HG-PERM-01 through MCP, twin")).expect(&stdout);
    assert_eq!(twin.1, "failed", "the platform's soqlQuery is not on this org: {unmapped:#?}");
    drop(org);

    for (fault, row) in [
        ("tool-ignores-fls", "HG-PERM-02 through MCP"),
        ("tool-without-sharing", "HG-PERM-03 through MCP"),
        ("write-tool-ignores-crud", "HG-PERM-04 through MCP"),
    ] {
        let org = mock_org::start(start(&format!("\"{fault}\""))).await.unwrap();
        let (_, stdout, _, json) = run_tagged(&write(fault, &mapped(&org)), fault, "@C4 and @mcp").await;
        let rows = mcp_rows(&json);
        let caught = rows.iter().find(|(t, _)| t.starts_with(row) && !t.contains("twin")).expect(&stdout);
        assert_eq!(caught.1, "failed", "{fault}: {rows:#?}");
    }
}

/// `audit reconcile` judges HG-AUD-01..04 from the org's event log files (ApiTotalUsage CSV),
/// matching the run's planned calls without the request ids a real org does not keep. On a clean
/// org all four pass; each audit fault the platform's log can show fails exactly its controls.
#[tokio::test]
async fn audit_reconcile_judges_the_audit_controls_from_the_event_log_files() {
    let reconcile = |name: &'static str,
                     faults: &'static [&'static str],
                     want: &'static [(&'static str, &'static str)]| async move {
        let text = include_str!("../mock-org/orgs/default.toml");
        let quoted: Vec<String> = faults.iter().map(|f| format!("\"{f}\"")).collect();
        let mut text = text.replacen("[org]\n", &format!("faults = [{}]\n\n[org]\n", quoted.join(", ")), 1);
        if name.ends_with("no-permission") {
            text = text.replacen(", \"ViewEventLogFiles\"]", "]", 1);
        }
        let org = mock_org::start(mock_org::Org::parse("org.toml", &text).unwrap()).await.unwrap();
        let file = write(name, &org_target_file(&org));
        let reports = reports_dir(name);
        // The clean run also makes C4's calls: rows of other scenarios compete for each call.
        let tags = if name == "reconcile-clean" { "@C7 or @C4" } else { "@C7" };
        let args = ["run", "--target", &file.display().to_string(), "--reports", &reports, "--tags", tags];
        gate(args.iter().map(|a| a.to_string()).collect(), true).await;
        let plan = std::fs::read_to_string(format!("{reports}/audit-plan.json")).expect("the run wrote its audit plan");
        assert!(!plan.contains("Passw0rd") && !plan.contains(CLIENT_SECRET), "no secret in the plan");
        let args = ["audit", "reconcile", "--run", &reports, "--target", &file.display().to_string()];
        let (code, stdout, stderr) = gate(args.iter().map(|a| a.to_string()).collect(), true).await;
        let json: serde_json::Value =
            serde_json::from_str(&std::fs::read_to_string(format!("{reports}/audit-reconcile.json")).unwrap()).unwrap();
        let got: Vec<(String, String)> = json["verdicts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|v| (v["id"].as_str().unwrap().to_string(), v["status"].as_str().unwrap().to_string()))
            .collect();
        let want: Vec<(String, String)> = want.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        assert_eq!(got, want, "{name}: {stdout}{stderr}");
        let code_wanted = match want[0].1.as_str() {
            "not verifiable" => 3,
            _ if want.iter().any(|(_, s)| s == "failed") => 1,
            _ => 0,
        };
        assert_eq!(code, code_wanted, "{stdout}");
        if want[0].1 == "not verifiable" {
            let why = json["verdicts"][0]["message"].as_str().unwrap();
            assert!(why.contains("grant it View Event Log Files (ViewEventLogFiles)"), "{why}");
        } else {
            assert!(json["files"].as_u64().unwrap() >= 1 && json["interval"] == "Hourly", "{json}");
        }
    };
    let all = |s: &'static str| -> &'static [(&'static str, &'static str)] {
        match s {
            "passed" => {
                &[("HG-AUD-01", "passed"), ("HG-AUD-02", "passed"), ("HG-AUD-03", "passed"), ("HG-AUD-04", "passed")]
            }
            _ => unreachable!(),
        }
    };
    reconcile("reconcile-clean", &[], all("passed")).await;
    let nv = &[
        ("HG-AUD-01", "not verifiable"),
        ("HG-AUD-02", "not verifiable"),
        ("HG-AUD-03", "not verifiable"),
        ("HG-AUD-04", "not verifiable"),
    ];
    reconcile("reconcile-no-permission", &[], nv).await;
    reconcile(
        "reconcile-missing-denied",
        &["audit-missing-denied"],
        &[("HG-AUD-01", "failed"), ("HG-AUD-02", "failed"), ("HG-AUD-03", "passed"), ("HG-AUD-04", "passed")],
    )
    .await;
    reconcile(
        "reconcile-missing-user",
        &["audit-missing-user"],
        &[("HG-AUD-01", "failed"), ("HG-AUD-02", "passed"), ("HG-AUD-03", "passed"), ("HG-AUD-04", "failed")],
    )
    .await;
    reconcile(
        "reconcile-integration-user",
        &["integration-user-attribution"],
        &[("HG-AUD-01", "passed"), ("HG-AUD-02", "passed"), ("HG-AUD-03", "passed"), ("HG-AUD-04", "failed")],
    )
    .await;
    reconcile(
        "reconcile-token-logged",
        &["token-in-audit-log"],
        &[("HG-AUD-01", "passed"), ("HG-AUD-02", "passed"), ("HG-AUD-03", "failed"), ("HG-AUD-04", "passed")],
    )
    .await;
}

/// The sign-in rows of HG-AUD-01/02 read the org's LoginHistory, and each refuses to judge what
/// it cannot see: an admin without Manage Users reads only its own rows (so the agent's would
/// look absent), and a password request without the app's secret may have been refused as the
/// app's before any login was judged. Both are not verifiable, never failed or passed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sign_in_rows_are_not_verifiable_without_the_proof_they_need() {
    let rows = |json: &serde_json::Value| -> Vec<(String, String, String)> {
        json["controls"]
            .as_array()
            .into_iter()
            .flatten()
            .filter(|c| c["title"].as_str().unwrap_or_default().contains("login history"))
            .map(|c| {
                let s = |k: &str| c[k].as_str().unwrap_or_default().to_string();
                (s("title"), s("status"), s("message"))
            })
            .collect()
    };
    let text = include_str!("../mock-org/orgs/default.toml");
    let without =
        text.replacen("\"ModifyAllData\", \"ManageUsers\", \"ViewSetup\"", "\"ModifyAllData\", \"ViewSetup\"", 1);
    assert_ne!(without, text, "the admin profile held Manage Users");
    let org = mock_org::start(mock_org::Org::parse("org.toml", &without).unwrap()).await.unwrap();
    let (_, stdout, _, json) =
        run_tagged(&write("lh-no-right", &org_target_file(&org)), "lh-no-right", "@C7 and @serial").await;
    let seen = rows(&json);
    assert_eq!(seen.len(), 2, "both sign-in rows ran: {stdout}");
    for (title, status, message) in &seen {
        assert_eq!(status, "not verifiable", "{title}: {message}");
        assert!(message.contains("lacks Manage Users"), "{title}: {message}");
    }
    // The twin: with the right, both pass (the whole suite's clean run shows it too).
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let (_, _, _, json) = run_tagged(&write("lh-clean", &org_target_file(&org)), "lh-clean", "@C7 and @serial").await;
    assert!(rows(&json).iter().all(|(_, status, _)| status == "passed"), "{:?}", rows(&json));
    // No client secret declared: the refused password request proves nothing about the login.
    let text = org_target_file(&org);
    let no_secret: String = text.lines().filter(|l| !l.starts_with("client_secret_env")).collect::<Vec<_>>().join("\n");
    assert_ne!(no_secret.len(), text.len());
    let (_, _, _, json) = run_tagged(&write("lh-no-secret", &no_secret), "lh-no-secret", "@C7 and @serial").await;
    let refused = rows(&json).into_iter().find(|(title, _, _)| title.contains("refused sign-in")).expect("the row ran");
    assert_eq!(refused.1, "not verifiable", "{refused:?}");
    assert!(refused.2.contains("consumer secret"), "{refused:?}");
}

/// The run's own audit rows read the org's event log files as they are: where the target says
/// they come late (`limits.event_log_delay_minutes`), a call not in them yet leaves the row not
/// verifiable, pointing at `audit reconcile`, never failed; where they come at once, the same
/// missing rows fail it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_runs_audit_rows_wait_for_late_event_log_files() {
    let text = include_str!("../mock-org/orgs/default.toml");
    let faulty = text.replacen("[org]\n", "faults = [\"audit-missing-denied\"]\n\n[org]\n", 1);
    let org = mock_org::start(mock_org::Org::parse("org.toml", &faulty).unwrap()).await.unwrap();
    let status = |json: &serde_json::Value, prefix: &str| -> (String, String) {
        let c = json["controls"].as_array().unwrap().iter().find(|c| c["title"].as_str().unwrap().starts_with(prefix));
        let c = c.unwrap_or_else(|| panic!("{prefix} ran"));
        (c["status"].as_str().unwrap().to_string(), c["message"].as_str().unwrap_or_default().to_string())
    };
    let late = org_target_file(&org).replacen("event_log_delay_minutes = 0", "event_log_delay_minutes = 600", 1);
    let (_, _, _, json) = run_tagged(&write("aud-late", &late), "aud-late", "@HG-AUD-02").await;
    let (s, m) = status(&json, "HG-AUD-02 denied");
    assert_eq!(s, "not verifiable", "{m}");
    assert!(m.contains("not in the event log yet") && m.contains("audit reconcile"), "{m}");
    let (_, _, _, json) = run_tagged(&write("aud-now", &org_target_file(&org)), "aud-now", "@HG-AUD-02").await;
    let (s, m) = status(&json, "HG-AUD-02 denied");
    assert_eq!(s, "failed", "{m}");
    assert!(m.contains("no event log row"), "{m}");
}
