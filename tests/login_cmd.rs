//! `headless-gate login` end to end against a mock org on loopback: the command prints the URL,
//! a "browser" (this test) signs in through the mock's login form, the callback reaches the
//! command's listener, and the refresh token lands in a file only its owner can read. A run then
//! signs the persona in with that token.

mod support;

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port()
}

fn target_file(org: &mock_org::RunningOrg) -> String {
    let (url, api) = (&org.url, &org.api_url);
    format!(
        r#"name = "loopback login"
flavor = "salesforce"

[endpoints]
issuer = "{url}"
instance_url = "{url}"
mcp_servers = {{ reads = "{api}/platform/mcp/v1/platform/sobject-reads" }}

[app]
client_id = "3MVG9mockHeadlessServiceAgentKey0001"
callback_url = "https://agent.example.test/oauth/callback"
scopes = ["mcp_api", "refresh_token"]

[probe_app]
client_id = "3MVG9mockHeadlessGateProbeKey00004"
callback_url = "https://gate.example.test/oauth/callback"

[personas.agent]
username = "agent.service@acme.test"
refresh_token_env = "HG_TEST_AGENT_REFRESH"

[personas.admin]
username = "admin@acme.test"
password_env = "HG_TEST_ADMIN_PASSWORD"

[records]
shared-account = {{ object = "Account", id = "001000000000001" }}
opportunity = {{ object = "Opportunity", id = "006000000000001" }}
"#
    )
}

/// What a browser does with the printed URL on the mock: the login form, then the redirect to
/// the callback, which is the command's listener.
async fn sign_in_as_browser(url: &str) {
    let client = reqwest::Client::builder().redirect(reqwest::redirect::Policy::none()).build().unwrap();
    let page = client.get(url).send().await.unwrap();
    assert_eq!(page.status(), 200, "the login form");
    let authorize = url::Url::parse(url).unwrap();
    let mut form: Vec<(String, String)> = authorize.query_pairs().into_owned().collect();
    form.push(("username".into(), "agent.service@acme.test".into()));
    form.push(("password".into(), "mock-agent-Passw0rd!".into()));
    form.push(("Login".into(), "Log In".into()));
    let action = format!("{}://{}{}", authorize.scheme(), authorize.authority(), authorize.path());
    let done = client.post(action).form(&form).send().await.unwrap();
    assert_eq!(done.status(), 302);
    let callback = done.headers()["location"].to_str().unwrap().to_string();
    assert!(callback.starts_with("http://127.0.0.1:"), "{callback}");
    let landing = client.get(callback).send().await.unwrap();
    assert_eq!(landing.status(), 200);
    assert!(landing.text().await.unwrap().contains("You can close this window"));
}

// Multi-threaded: the test blocks on the command's output while the mock answers it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn login_stores_a_refresh_token_that_a_run_signs_in_with() {
    let port = free_port();
    let callback = format!("http://127.0.0.1:{port}/OauthRedirect");
    let mut fixture = mock_org::Org::default_fixture();
    fixture.apps[0].callback_urls.push(callback.clone());
    let org = mock_org::start(fixture).await.unwrap();
    let dir = support::scratch("login");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("target.toml");
    std::fs::write(&file, target_file(&org)).unwrap();
    let out = dir.join("agent.refresh-token");
    let _ = std::fs::remove_file(&out);

    let mut child = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["login", "--target", file.to_str().unwrap(), "--persona", "agent", "--callback", &callback])
        .args(["--out", out.to_str().unwrap(), "--timeout", "60"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let mut printed = String::new();
    let url = loop {
        let line = lines.next().expect("the command prints the URL to open").unwrap();
        printed.push_str(&line);
        printed.push('\n');
        if let Some(u) = line.trim().strip_prefix("http").map(|rest| format!("http{rest}")) {
            break u;
        }
    };
    assert!(url.starts_with(&format!("{}/services/oauth2/authorize?", org.url)), "{url}");
    assert!(url.contains("code_challenge_method=S256") && url.contains("state="));
    sign_in_as_browser(&url).await;
    for line in lines {
        printed.push_str(&line.unwrap());
        printed.push('\n');
    }
    let status = child.wait().unwrap();
    let stderr = std::io::read_to_string(child.stderr.take().unwrap()).unwrap();
    assert!(status.success(), "stdout:\n{printed}\nstderr:\n{stderr}");
    let token = std::fs::read_to_string(&out).unwrap();
    assert!(token.len() > 20);
    assert!(!printed.contains(&token) && !stderr.contains(&token), "the token is never printed");
    assert!(printed.contains("HG_TEST_AGENT_REFRESH"), "{printed}");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&out).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // A run signs the agent in with the stored token (the admin with its password), in several
    // scenarios one after another: the mock rotates refresh tokens, so each takes the newest.
    let reports = dir.join("reports");
    let run = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["run", "--target", file.to_str().unwrap(), "--reports", reports.to_str().unwrap()])
        .args(["--tags", "@HG-PERM-01 and @mcp"])
        .env("HG_TEST_AGENT_REFRESH", &token)
        .env("HG_TEST_ADMIN_PASSWORD", "mock-admin-Passw0rd!")
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    // A selection: nothing failed, and the rest of the checklist is not evidenced.
    assert_eq!(run.status.code(), Some(3), "{stdout}\n{}", String::from_utf8_lossy(&run.stderr));
    assert!(stdout.contains("rows: 2 passed, "), "{stdout}");
    assert!(!stdout.contains(" failed"), "{stdout}");
    assert!(!stdout.contains(&token));
    let refreshes = org
        .state
        .audit
        .snapshot()
        .iter()
        .filter(|r| {
            r.username.as_deref() == Some("agent.service@acme.test") && r.operation.as_deref() == Some("refresh")
        })
        .count();
    assert_eq!(refreshes, 2, "one refresh per scenario");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_callback_the_login_cannot_listen_on_is_refused_naming_the_key() {
    let org = mock_org::start(mock_org::Org::default_fixture()).await.unwrap();
    let dir = support::scratch("login-bad");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("target.toml");
    std::fs::write(&file, target_file(&org)).unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["login", "--target", file.to_str().unwrap(), "--persona", "agent"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("app.callback_url: https://agent.example.test/oauth/callback is not on a loopback host"),
        "{stderr}"
    );
    let unknown = Command::new(env!("CARGO_BIN_EXE_headless-gate"))
        .args(["login", "--target", file.to_str().unwrap(), "--persona", "nobody"])
        .output()
        .unwrap();
    assert_eq!(unknown.status.code(), Some(2));
    assert!(
        String::from_utf8_lossy(&unknown.stderr).contains("--persona: 'nobody' is not in the target file's personas")
    );
}
