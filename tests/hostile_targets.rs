//! The gate against targets that misbehave (wiremock fakes, and one hand-written slow-drip server,
//! all on loopback). In every case the run finishes within its bounds, writes all three reports,
//! the affected controls fail with a message saying what the target did, nothing panics, nothing
//! is followed off the named hosts, and no credential reaches a report or the console.

mod support;

use std::path::PathBuf;
use std::time::Duration;
use wiremock::matchers::{method, path, path_regex};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PASSWORDS: &[(&str, &str)] = &[
    ("HG_HOSTILE_AGENT_PASSWORD", "hostile-agent-Passw0rd!"),
    ("HG_HOSTILE_ADMIN_PASSWORD", "hostile-admin-Passw0rd!"),
];
/// Credentials the fake hands out; none may appear in a report.
const FAKE_TOKENS: &[&str] =
    &["hostile-access-token-0123456789", "hostile-refresh-token-0123456789", "hostile-code-0123456789"];
/// A few controls that sign in, call REST and call MCP: enough to meet every failure mode.
const TAGS: &str = "@HG-META-01 or @HG-PERM-01 or @HG-RS-01";

fn target_file(issuer: &str, instance: &str) -> String {
    format!(
        r#"name = "hostile target"
flavor = "salesforce"

[endpoints]
issuer = "{issuer}"
instance_url = "{instance}"
mcp_servers = {{ reads = "{instance}/platform/mcp/v1/platform/sobject-reads" }}

[app]
client_id = "3MVG9hostile"
callback_url = "https://agent.example.test/oauth/callback"
scopes = ["mcp_api", "refresh_token"]

[personas.agent]
username = "agent@hostile.test"
password_env = "HG_HOSTILE_AGENT_PASSWORD"

[personas.admin]
username = "admin@hostile.test"
password_env = "HG_HOSTILE_ADMIN_PASSWORD"

[limits]
request_timeout_seconds = 1
scenario_seconds = 5
"#
    )
}

fn metadata(base: &str) -> serde_json::Value {
    serde_json::json!({
        "issuer": base,
        "authorization_endpoint": format!("{base}/services/oauth2/authorize"),
        "token_endpoint": format!("{base}/services/oauth2/token"),
        "revocation_endpoint": format!("{base}/services/oauth2/revoke"),
        "introspection_endpoint": format!("{base}/services/oauth2/introspect"),
        "response_types_supported": ["code"],
        "grant_types_supported": ["authorization_code", "refresh_token"],
        "code_challenge_methods_supported": ["S256"],
    })
}

/// An authorization server that signs anyone in at once: straight to `to` with a code and the
/// request's own state.
struct SignInTo(String);

impl Respond for SignInTo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let state = req.url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned()).unwrap_or_default();
        ResponseTemplate::new(302)
            .insert_header("location", format!("{}?code={}&state={state}", self.0, FAKE_TOKENS[2]))
    }
}

fn tokens() -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(serde_json::json!({
        "access_token": FAKE_TOKENS[0], "refresh_token": FAKE_TOKENS[1], "token_type": "Bearer",
        "scope": "mcp_api refresh_token",
    }))
}

/// A fake whose metadata is sound; each case mounts what misbehaves.
async fn fake() -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(metadata(&server.uri())))
        .mount(&server)
        .await;
    server
}

/// Signs in at once and hands out the fake tokens.
async fn sign_in_works(server: &MockServer) {
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(SignInTo("https://agent.example.test/oauth/callback".into()))
        .mount(server)
        .await;
    Mock::given(method("POST")).and(path("/services/oauth2/token")).respond_with(tokens()).mount(server).await;
}

struct Run {
    code: i32,
    stdout: String,
    stderr: String,
    results: serde_json::Value,
    reports: Vec<(String, String)>,
}

impl Run {
    /// The one-line messages of the failed controls.
    fn failures(&self) -> Vec<String> {
        self.results["controls"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|c| c["status"] == "failed")
            .map(|c| format!("{}: {}", c["id"].as_str().unwrap(), c["message"].as_str().unwrap_or_default()))
            .collect()
    }

    fn any_failure(&self, needle: &str) -> bool {
        self.failures().iter().any(|f| f.contains(needle))
    }
}

async fn gate(name: &str, file_text: String) -> Run {
    gate_tags(name, file_text, TAGS).await
}

async fn gate_tags(name: &str, file_text: String, tags: &str) -> Run {
    let dir = support::scratch(&format!("hostile-{name}"));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("target.toml");
    std::fs::write(&file, file_text).unwrap();
    let reports: PathBuf = dir.join("reports");
    let args: Vec<String> =
        ["run", "--target", file.to_str().unwrap(), "--reports", reports.to_str().unwrap(), "--tags", tags]
            .iter()
            .map(|s| s.to_string())
            .collect();
    let run = tokio::task::spawn_blocking(move || {
        let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_headless-gate"));
        cmd.args(&args).current_dir(env!("CARGO_MANIFEST_DIR"));
        for (var, value) in PASSWORDS {
            cmd.env(var, value);
        }
        cmd.output().unwrap()
    });
    // A bound against a hang, not a speed check: the run's own limits end it long before.
    let out = tokio::time::timeout(Duration::from_secs(300), run).await.expect("the run ends").unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    let reports: Vec<(String, String)> = ["junit.xml", "results.json", "report.html"]
        .iter()
        .filter_map(|f| std::fs::read_to_string(reports.join(f)).ok().map(|t| (f.to_string(), t)))
        .collect();
    let results = reports
        .iter()
        .find(|(f, _)| f == "results.json")
        .map(|(_, t)| serde_json::from_str(t).expect("results.json parses"))
        .unwrap_or(serde_json::Value::Null);
    Run { code: out.status.code().unwrap_or(-1), stdout, stderr, results, reports }
}

/// What holds in every case: no panic, and no credential anywhere. (cucumber words every failed
/// step "Step panicked"; a real panic is the runtime's "panicked at <file>" line.)
fn assert_clean(run: &Run) {
    assert!(!run.stderr.contains("panicked at") && !run.stdout.contains("panicked at"), "{}", run.stderr);
    let secrets = PASSWORDS.iter().map(|(_, p)| *p).chain(FAKE_TOKENS.iter().copied());
    for s in secrets {
        assert!(!run.stdout.contains(s) && !run.stderr.contains(s), "a credential on the console");
        for (name, text) in &run.reports {
            assert!(!text.contains(s), "a credential in {name}");
        }
    }
}

/// A run that got going but never saw the target work: exit 3 (inconclusive: no positive twin
/// passed, so no refusal means anything), all three reports, the listed failures.
fn assert_failed_with_reports(run: &Run) {
    assert_clean(run);
    assert_eq!(run.code, 3, "stdout:\n{}\nstderr:\n{}", run.stdout, run.stderr);
    assert!(run.stdout.contains("gate: INCONCLUSIVE"), "{}", run.stdout);
    assert_eq!(run.reports.len(), 3, "all three reports are written");
    assert!(!run.failures().is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_server_that_never_answers_times_out_per_request() {
    let server = fake().await;
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(60)))
        .mount(&server)
        .await;
    let run = gate("silent", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    assert!(
        run.any_failure("HG-PERM-01: sign-in as 'agent' failed") && run.any_failure("timed out"),
        "{:?}",
        run.failures()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_errors_fail_the_controls_that_met_them() {
    let server = fake().await;
    Mock::given(path_regex(".*")).respond_with(ResponseTemplate::new(500).set_body_string("boom")).mount(&server).await;
    let run = gate("5xx", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("stopped on a page with status 500"), "{:?}", run.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn truncated_json_from_the_token_endpoint_is_a_refused_sign_in() {
    let server = fake().await;
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(SignInTo("https://agent.example.test/oauth/callback".into()))
        .mount(&server)
        .await;
    Mock::given(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("{\"access_token\": \"hostile-acc", "application/json"))
        .mount(&server)
        .await;
    let run = gate("truncated", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("the token endpoint refused the code: 200"), "{:?}", run.failures());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_body_far_over_the_cap_is_cut_and_kept_short_in_the_reports() {
    let server = fake().await;
    sign_in_works(&server).await;
    let huge = "x".repeat(8 << 20);
    Mock::given(path_regex("^/services/data/.*"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(huge, "application/json"))
        .mount(&server)
        .await;
    let run = gate("huge", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("HG-PERM-01"), "{:?}", run.failures());
    for (name, text) in &run.reports {
        assert!(text.len() < 2 << 20, "{name} is {} bytes: the body was not cut", text.len());
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_with_the_wrong_content_is_a_configuration_error_at_start() {
    let server = MockServer::start().await;
    Mock::given(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html><body>Welcome</body></html>", "text/html"))
        .mount(&server)
        .await;
    let run = gate("html-metadata", target_file(&server.uri(), &server.uri())).await;
    assert_clean(&run);
    assert_eq!(run.code, 2);
    assert!(run.stderr.contains("200, not a JSON document"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_pointing_at_a_foreign_host_is_reported_not_trusted() {
    let server = MockServer::start().await;
    let mut doc = metadata(&server.uri());
    doc["token_endpoint"] = "https://tokens.evil.example/token".into();
    Mock::given(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(&server)
        .await;
    let run = gate("foreign-metadata", target_file(&server.uri(), &server.uri())).await;
    assert_clean(&run);
    assert_eq!(run.code, 2);
    assert!(
        run.stderr.contains(
            "token_endpoint points at https://tokens.evil.example/token, an origin (scheme, host and port) the target file does not name"
        ),
        "{}",
        run.stderr
    );
    assert!(server.received_requests().await.unwrap().iter().all(|r| r.url.path().starts_with("/.well-known/")));
}

/// The same host on another port is another server: the code and the verifier would go to it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_pointing_at_another_port_of_the_same_host_is_not_trusted() {
    let server = MockServer::start().await;
    let other = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let mut doc = metadata(&server.uri());
    doc["token_endpoint"] = format!("http://127.0.0.1:{other}/services/oauth2/token").into();
    Mock::given(path("/.well-known/oauth-authorization-server"))
        .respond_with(ResponseTemplate::new(200).set_body_json(doc))
        .mount(&server)
        .await;
    let run = gate("other-port", target_file(&server.uri(), &server.uri())).await;
    assert_clean(&run);
    assert_eq!(run.code, 2, "{}", run.stderr);
    assert!(
        run.stderr
            .contains(&format!("token_endpoint points at http://127.0.0.1:{other}/services/oauth2/token, an origin")),
        "{}",
        run.stderr
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redirect_to_another_host_is_never_followed_and_gets_no_token() {
    let server = fake().await;
    let evil = MockServer::start().await;
    Mock::given(path_regex(".*")).respond_with(ResponseTemplate::new(200)).mount(&evil).await;
    sign_in_works(&server).await;
    Mock::given(path_regex("^/(services/data|platform)/.*"))
        .respond_with(ResponseTemplate::new(307).insert_header("location", format!("{}/steal", evil.uri())))
        .mount(&server)
        .await;
    let run = gate("redirect", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("observed 307"), "{:?}", run.failures());
    assert!(evil.received_requests().await.unwrap().is_empty(), "the gate followed a redirect to another host");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_authorization_server_redirecting_to_an_evil_callback_is_caught_not_followed() {
    let server = fake().await;
    let evil = MockServer::start().await;
    Mock::given(path_regex(".*")).respond_with(ResponseTemplate::new(200)).mount(&evil).await;
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(SignInTo(format!("{}/oauth/callback.evil", evil.uri())))
        .mount(&server)
        .await;
    Mock::given(method("POST")).and(path("/services/oauth2/token")).respond_with(tokens()).mount(&server).await;
    let run = gate("evil-callback", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("/oauth/callback.evil?code=[REDACTED authorization code]"), "{:?}", run.failures());
    assert!(evil.received_requests().await.unwrap().is_empty(), "the evil callback was visited");
    let token_calls =
        server.received_requests().await.unwrap().iter().filter(|r| r.url.path().ends_with("/token")).count();
    assert_eq!(token_calls, 0, "a code delivered to the wrong callback was redeemed");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_connection_mid_run_fails_the_controls_that_needed_it() {
    let server = fake().await;
    sign_in_works(&server).await;
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let run = gate("refused", target_file(&server.uri(), &format!("http://127.0.0.1:{closed}"))).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("connection failed"), "{:?}", run.failures());
}

/// A server that sends its headers and then one byte every 200 ms, forever (until the client
/// hangs up). Written by hand: it is the subject under test.
async fn slow_drip() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        // Bounded: enough connections for the few scenarios, each closed by the client's timeout.
        for _ in 0..64 {
            let Ok((mut sock, _)) = listener.accept().await else { return };
            tokio::spawn(async move {
                use tokio::io::{AsyncReadExt, AsyncWriteExt};
                // Take the request first (one read: the harness's requests are small).
                let mut buf = vec![0u8; 64 * 1024];
                if sock.read(&mut buf).await.is_err() {
                    return;
                }
                let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 100000\r\n\r\n";
                if sock.write_all(head.as_bytes()).await.is_err() {
                    return;
                }
                for _ in 0..600 {
                    tokio::time::sleep(Duration::from_millis(200)).await;
                    if sock.write_all(b" ").await.is_err() {
                        return;
                    }
                }
            });
        }
    });
    url
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_drip_is_cut_by_the_exchange_timeout() {
    let server = fake().await;
    sign_in_works(&server).await;
    let drip = slow_drip().await;
    let run = gate("drip", target_file(&server.uri(), &drip)).await;
    assert_failed_with_reports(&run);
    assert!(run.any_failure("timed out"), "{:?}", run.failures());
}

/// The forms an echoing server may put a value in: as it came, JSON-escaped the way Gson does
/// (every character but letters and digits as `\uXXXX`), percent-encoded, base64.
fn echoed_forms(v: &str) -> Vec<String> {
    use base64::Engine;
    let gson: String = v
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c.to_string() } else { format!("\\u{:04x}", c as u32) })
        .collect();
    let pct: String = v
        .bytes()
        .map(|b| if b.is_ascii_alphanumeric() { (b as char).to_string() } else { format!("%{b:02X}") })
        .collect();
    vec![v.to_string(), gson, pct, base64::engine::general_purpose::STANDARD.encode(v)]
}

/// A server that echoes every credential it is sent, in every form, wherever it can: token
/// answers carry the request's own body back; every other answer is a 401 whose body,
/// `WWW-Authenticate` and error description carry the Authorization header, the body and the URL.
struct Echo;

impl Respond for Echo {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let auth = req.headers.get("authorization").and_then(|v| v.to_str().ok()).unwrap_or_default().to_string();
        let bare = auth.strip_prefix("Bearer ").unwrap_or(&auth).to_string();
        let carried =
            [auth.clone(), bare.clone(), String::from_utf8_lossy(&req.body).into_owned(), req.url.to_string()];
        let all: Vec<String> = carried.iter().filter(|c| !c.is_empty()).flat_map(|c| echoed_forms(c)).collect();
        if req.url.path().ends_with("/token") {
            return ResponseTemplate::new(200).set_body_json(serde_json::json!({
                "access_token": FAKE_TOKENS[0], "refresh_token": FAKE_TOKENS[1], "token_type": "Bearer",
                "scope": "mcp_api refresh_token", "echo": all,
            }));
        }
        let header_safe: Vec<&String> = all.iter().filter(|f| f.bytes().all(|b| b.is_ascii_graphic())).collect();
        let challenge = format!(
            "Bearer error=\"invalid_token\", error_description=\"{}\"",
            header_safe.iter().map(|s| s.replace('"', "")).collect::<Vec<_>>().join(" ")
        );
        ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str()).set_body_string(format!(
            "[{{\"errorCode\":\"INVALID_SESSION_ID\",\"message\":\"you sent {}\"}}]",
            all.join(" | ")
        ))
    }
}

/// Whether a text shows a secret in any form the echo used, base64 inside a longer value included.
fn shows(text: &str, secret: &str) -> bool {
    use base64::Engine;
    if echoed_forms(secret).iter().any(|f| text.contains(f.as_str())) {
        return true;
    }
    let b64 = |c: char| c.is_ascii_alphanumeric() || c == '+' || c == '/' || c == '=';
    text.split(|c: char| !b64(c)).filter(|run| run.len() >= 8).any(|run| {
        let run = &run[..run.len() / 4 * 4];
        base64::engine::general_purpose::STANDARD
            .decode(run.trim_end_matches('='))
            .or_else(|_| base64::engine::general_purpose::STANDARD.decode(run))
            .is_ok_and(|d| String::from_utf8_lossy(&d).contains(secret))
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_target_that_echoes_every_credential_gets_none_into_any_output() {
    let server = fake().await;
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(SignInTo("https://agent.example.test/oauth/callback".into()))
        .mount(&server)
        .await;
    Mock::given(path_regex(".*")).respond_with(Echo).mount(&server).await;
    let run = gate("echo", target_file(&server.uri(), &server.uri())).await;
    assert_failed_with_reports(&run);
    // The echo reached the gate: the tokens it was sent came back in its answers.
    let received = server.received_requests().await.unwrap();
    assert!(
        received.iter().any(|r| r.headers.get("authorization").is_some()),
        "the gate called the target with a token"
    );
    let outputs: Vec<(&str, &str)> = std::iter::once(("stdout", run.stdout.as_str()))
        .chain(std::iter::once(("stderr", run.stderr.as_str())))
        .chain(run.reports.iter().map(|(n, t)| (n.as_str(), t.as_str())))
        .collect();
    assert!(
        outputs.iter().any(|(_, t)| t.contains("[REDACTED access token]")),
        "the echoed token was seen and redacted"
    );
    for secret in FAKE_TOKENS.iter().copied().chain(PASSWORDS.iter().map(|(_, p)| *p)) {
        for (name, text) in &outputs {
            assert!(!shows(text, secret), "{name} shows a credential in some form");
        }
    }
}

/// A challenge naming protected-resource metadata on a host the target file does not name: the
/// gate does not go there, and HG-RS-02 is not verifiable (never passed, never fetched).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resource_metadata_on_a_foreign_host_is_never_fetched() {
    let server = fake().await;
    let evil = MockServer::start().await;
    Mock::given(path_regex(".*")).respond_with(ResponseTemplate::new(200)).mount(&evil).await;
    sign_in_works(&server).await;
    let challenge = format!("Bearer resource_metadata=\"{}/.well-known/oauth-protected-resource\"", evil.uri());
    Mock::given(path_regex("^/platform/.*"))
        .respond_with(ResponseTemplate::new(401).insert_header("www-authenticate", challenge.as_str()))
        .mount(&server)
        .await;
    let run = gate_tags("foreign-resource-metadata", target_file(&server.uri(), &server.uri()), "@HG-RS-02").await;
    assert_clean(&run);
    let rows = run.results["controls"].as_array().unwrap();
    let rs02 = rows.iter().find(|c| c["id"] == "HG-RS-02" && c["positive"] == false).unwrap();
    assert_eq!(rs02["status"], "not verifiable", "{rs02}");
    assert!(rs02["message"].as_str().unwrap().contains("on a host the target file does not name"), "{rs02}");
    assert!(evil.received_requests().await.unwrap().is_empty(), "the gate fetched metadata from a foreign host");
}

/// A target whose revocation works and whose resource server answers every request with `answer`.
async fn revocation_target(answer: ResponseTemplate) -> MockServer {
    let server = fake().await;
    sign_in_works(&server).await;
    Mock::given(method("POST"))
        .and(path("/services/oauth2/revoke"))
        .respond_with(ResponseTemplate::new(200))
        .mount(&server)
        .await;
    Mock::given(path_regex("^/(services/data|platform)/.*")).respond_with(answer).mount(&server).await;
    server
}

/// HG-REV-03's callers go through the probe's rules: a redirect to a host the target does not name
/// is an answer, never followed with the token.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_sampling_never_follows_a_redirect_to_another_host() {
    let evil = MockServer::start().await;
    Mock::given(path_regex(".*")).respond_with(ResponseTemplate::new(200)).mount(&evil).await;
    let server =
        revocation_target(ResponseTemplate::new(307).insert_header("location", format!("{}/steal", evil.uri()))).await;
    let run = gate_tags("rev03-redirect", target_file(&server.uri(), &server.uri()), "@HG-REV-03").await;
    assert_clean(&run);
    assert!(run.any_failure("HG-REV-03"), "{:?}", run.failures());
    assert!(evil.received_requests().await.unwrap().is_empty(), "a caller followed the redirect with the token");
}

/// HG-REV-03's callers stop with the scenario's budget (5 s here): a resource server that takes
/// 0.9 s an answer gets a bounded number of requests, not 8 callers x 200 samples.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn revocation_sampling_stops_with_the_scenario_budget() {
    let slow = ResponseTemplate::new(200).set_delay(Duration::from_millis(900));
    let server = revocation_target(slow).await;
    let run = gate_tags("rev03-budget", target_file(&server.uri(), &server.uri()), "@HG-REV-03").await;
    assert_clean(&run);
    let sampled =
        server.received_requests().await.unwrap().iter().filter(|r| r.url.path().starts_with("/platform/")).count();
    // Each caller sends one at a time: at most budget / 0.9 s + 1 each.
    assert!(sampled <= 8 * 7, "{sampled} requests in a 5 s budget");
    let row = run.results["controls"].as_array().unwrap().iter().find(|c| c["id"] == "HG-REV-03").unwrap().clone();
    assert_ne!(row["status"], "passed", "{row}");
}

/// HG-RT-05 on a server whose access tokens are opaque: the lifetime comes from the answer's
/// `expires_in` (RFC 6749 §5.1): a day fails, ten minutes passes; none at all is not verifiable.
#[rstest::rstest]
#[case::a_day(Some(86_400), "failed")]
#[case::ten_minutes(Some(600), "passed")]
#[case::unstated(None, "not verifiable")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_opaque_token_is_judged_by_its_expires_in(#[case] expires_in: Option<u64>, #[case] outcome: &str) {
    let server = fake().await;
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(SignInTo("https://agent.example.test/oauth/callback".into()))
        .mount(&server)
        .await;
    let mut body = serde_json::json!({
        "access_token": FAKE_TOKENS[0], "refresh_token": FAKE_TOKENS[1], "token_type": "Bearer",
        "scope": "mcp_api refresh_token",
    });
    if let Some(s) = expires_in {
        body["expires_in"] = s.into();
    }
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(body))
        .mount(&server)
        .await;
    let run = gate_tags(&format!("rt05-{outcome}"), target_file(&server.uri(), &server.uri()), "@HG-RT-05").await;
    assert_clean(&run);
    let row = run.results["controls"].as_array().unwrap().iter().find(|c| c["id"] == "HG-RT-05").unwrap().clone();
    assert_eq!(row["status"], outcome, "{row}");
}

/// HG-CODE-05 on a real target: the declared code lifetime is waited out where it fits the
/// scenario's budget (5 s here), then the code must be refused; a lifetime that does not fit is
/// not verifiable, naming the key to raise. No clock is moved.
#[rstest::rstest]
#[case::fits(1, "passed")]
#[case::does_not_fit(60, "not verifiable")]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_code_lifetime_is_waited_out_when_it_fits(#[case] seconds: u64, #[case] outcome: &str) {
    let server = fake().await;
    Mock::given(path("/services/oauth2/authorize"))
        .respond_with(SignInTo("https://agent.example.test/oauth/callback".into()))
        .mount(&server)
        .await;
    let expired = serde_json::json!({"error": "invalid_grant", "error_description": "expired authorization code"});
    Mock::given(method("POST"))
        .and(path("/services/oauth2/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(expired))
        .mount(&server)
        .await;
    let file = format!("{}code_lifetime_seconds = {seconds}\n", target_file(&server.uri(), &server.uri()));
    let run = gate_tags(&format!("code05-{seconds}"), file, "@HG-CODE-05").await;
    assert_clean(&run);
    let row = run.results["controls"].as_array().unwrap().iter().find(|c| c["id"] == "HG-CODE-05").unwrap().clone();
    assert_eq!(row["status"], outcome, "{row}");
    match outcome {
        "passed" => assert!(row["evidence"].to_string().contains("waited 3 s for the authorization code"), "{row}"),
        _ => assert!(row["message"].as_str().unwrap().contains("raise limits.scenario_seconds"), "{row}"),
    }
}
