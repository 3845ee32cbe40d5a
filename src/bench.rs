//! What BENCHMARKS.md measures, and the load check: the whole suite against the embedded mock,
//! the mock's MCP tool-call throughput next to a bare axum handler, the loopback floor, and
//! many clients mixing REST calls, tool calls, refreshes and revocations. Loopback only; every
//! loop is bounded by a count. The `headless-gate-bench` binary prints the figures; the project's
//! tests call `load` with a small count and assert what it found, never how fast.

use crate::RunOptions;
use crate::results::GateVerdict;
use mock_org::{Org, RunningOrg};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use steps::target::{McpEra, Target};

pub fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(|a, b| a.total_cmp(b));
    match v.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => v[n / 2],
        n => (v[n / 2 - 1] + v[n / 2]) / 2.0,
    }
}

/// One run of the whole suite against the embedded mock, in this process (no compilation, no
/// process start): its wall time, the requests the mock answered, and whether the gate passed.
#[derive(Debug, Clone)]
pub struct SuiteRun {
    pub wall: Duration,
    pub requests: u64,
    pub passed: bool,
    /// Scenario title -> status, to compare runs.
    pub outcomes: BTreeMap<String, String>,
}

pub async fn suite_once(reports: &Path, concurrency: usize) -> Result<SuiteRun, crate::GateError> {
    let started = Instant::now();
    let outcome = crate::run(RunOptions { concurrency, ..RunOptions::mock(reports.to_path_buf()) }).await?;
    Ok(SuiteRun {
        wall: started.elapsed(),
        requests: outcome.requests_served.unwrap_or_default(),
        passed: outcome.verdict == GateVerdict::Passed,
        outcomes: outcome.results.iter().map(|r| (r.title.clone(), format!("{:?}", r.status))).collect(),
    })
}

/// The default fixture without its per-user rate, so a benchmark's volume is not refused.
fn unlimited_org() -> Org {
    let mut org = Org::default_fixture();
    org.per_user_requests_per_minute = None;
    org
}

/// The agent's tokens through the real flow (Authorization Code + PKCE via the login form).
async fn sign_in(target: &Target, persona: &str) -> steps::login::TokenSet {
    let mut probe = steps::probe::Probe::new(target.secrets.clone(), target.limits.clone());
    let p = target.personas[persona].clone();
    steps::login::sign_in(&mut probe, target, &p).await.expect("the mock signs its own fixture persona in")
}

async fn start_mock() -> (RunningOrg, Target) {
    let running = mock_org::start(unlimited_org()).await.expect("the mock starts on loopback");
    let target = crate::mock_target::for_mock(&running, None, Default::default(), McpEra::Stateless);
    (running, target)
}

/// A stateless (2026-07-28) `tools/call`: one self-contained POST, no session, built by the same
/// function the scenarios use.
fn tool_call(url: &str, token: &str, tool: &str, id: u64) -> reqwest::RequestBuilder {
    let body = json!({"jsonrpc": "2.0", "id": id, "method": "tools/call", "params": {"name": tool, "arguments": {}}});
    let req = steps::world::mcp_http(url, body, McpEra::Stateless, None).bearer(token);
    steps::probe::builder(&http_client(), &req).0
}

/// One connection pool for the benchmarks; no redirect is followed.
fn http_client() -> reqwest::Client {
    static CLIENT: std::sync::OnceLock<reqwest::Client> = std::sync::OnceLock::new();
    CLIENT
        .get_or_init(|| {
            reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .timeout(Duration::from_secs(30))
                .build()
                .expect("an HTTP client without TLS options always builds")
        })
        .clone()
}

/// `calls` requests from `concurrency` workers; the rate (per second) and the statuses seen.
async fn hammer<F>(calls: usize, concurrency: usize, make: F) -> (f64, BTreeMap<u16, u64>)
where
    F: Fn(u64) -> reqwest::RequestBuilder + Send + Sync + 'static,
{
    let make = Arc::new(make);
    let next = Arc::new(std::sync::atomic::AtomicU64::new(0));
    let started = Instant::now();
    let mut workers = Vec::new();
    for _ in 0..concurrency {
        let (make, next) = (make.clone(), next.clone());
        workers.push(tokio::spawn(async move {
            let mut statuses: BTreeMap<u16, u64> = BTreeMap::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= calls as u64 {
                    break;
                }
                let status = match make(i).send().await {
                    Ok(r) => {
                        let s = r.status().as_u16();
                        let _ = r.bytes().await;
                        s
                    }
                    Err(_) => 0,
                };
                *statuses.entry(status).or_default() += 1;
            }
            statuses
        }));
    }
    let mut all: BTreeMap<u16, u64> = BTreeMap::new();
    for w in workers {
        for (s, n) in w.await.unwrap_or_default() {
            *all.entry(s).or_default() += n;
        }
    }
    (calls as f64 / started.elapsed().as_secs_f64(), all)
}

/// A bare axum server answering any POST with a fixed JSON-RPC result, like a tool that does
/// nothing: the floor the mock's tool calls are compared with.
async fn bare_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("a loopback port");
    let url = format!("http://{}", listener.local_addr().expect("bound"));
    let app = axum::Router::new().route(
        "/mcp",
        axum::routing::post(|axum::Json(req): axum::Json<Value>| async move {
            axum::Json(
                json!({"jsonrpc": "2.0", "id": req["id"], "result": {"content": [{"type": "text", "text": "{}"}]}}),
            )
        }),
    );
    let listener = axum::serve::ListenerExt::tap_io(listener, |tcp: &mut tokio::net::TcpStream| {
        let _ = tcp.set_nodelay(true);
    });
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    url
}

#[derive(Debug)]
pub struct Throughput {
    pub mock_per_sec: f64,
    pub bare_per_sec: f64,
    pub mock_statuses: BTreeMap<u16, u64>,
}

/// The mock's `getUserInfo` (guard, pipeline, audit record) against the bare handler.
pub async fn mcp_throughput(calls: usize, concurrency: usize) -> Throughput {
    let (running, target) = start_mock().await;
    let token = sign_in(&target, "agent").await.access_token;
    let url = target.mcp_servers["reads"].clone();
    let (mock_per_sec, mock_statuses) =
        hammer(calls, concurrency, move |i| tool_call(&url, &token, "getUserInfo", i)).await;
    let bare = format!("{}/mcp", bare_server().await);
    let (bare_per_sec, _) = hammer(calls, concurrency, move |i| tool_call(&bare, "x", "getUserInfo", i)).await;
    running.shutdown().await;
    Throughput { mock_per_sec, bare_per_sec, mock_statuses }
}

/// The median round trip of one small request to a bare handler, one at a time.
pub async fn loopback_round_trip(samples: usize) -> Duration {
    let bare = format!("{}/mcp", bare_server().await);
    let mut times = Vec::new();
    for i in 0..samples as u64 {
        let started = Instant::now();
        let _ = tool_call(&bare, "x", "getUserInfo", i).send().await.map(|r| r.bytes());
        times.push(started.elapsed().as_secs_f64());
    }
    Duration::from_secs_f64(median(times))
}

/// What the load check saw: requests by kind, statuses by kind, and what the org recorded.
#[derive(Debug, Default)]
pub struct LoadReport {
    pub sent: BTreeMap<&'static str, u64>,
    /// (kind, status) -> count; status 0 is no answer.
    pub statuses: BTreeMap<(&'static str, u16), u64>,
    /// Requests the org answered during the load (its HTTP counter).
    pub served: u64,
    /// Audit records the org wrote during the load.
    pub audited: u64,
    pub wall: Duration,
}

impl LoadReport {
    pub fn total(&self) -> u64 {
        self.sent.values().sum()
    }

    pub fn server_errors(&self) -> u64 {
        self.statuses.iter().filter(|((_, s), _)| *s >= 500 || *s == 0).map(|(_, n)| n).sum()
    }

    /// Answers other than the one each kind must get (200 everywhere: the tokens stay valid).
    pub fn unexpected(&self) -> Vec<String> {
        self.statuses.iter().filter(|((_, s), _)| *s != 200).map(|((k, s), n)| format!("{n} x {k} {s}")).collect()
    }
}

/// `clients` agents, each signed in through the real flow, each doing `rounds` rounds of a REST
/// read (with the agent's token from the probe app: REST refuses `mcp_api` tokens), a tool call
/// and a refresh (the rotated tokens replace the old), and every fifth round revoking the access
/// token it just replaced. Every request is one the org audits.
pub async fn load(clients: usize, rounds: usize) -> LoadReport {
    let (running, target) = start_mock().await;
    let target = Arc::new(target);
    let probe_app = target.as_probe_app().expect("the mock ships the gate's probe app");
    let mut sessions = Vec::new();
    for _ in 0..clients {
        sessions.push((sign_in(&target, "agent").await, sign_in(&probe_app, "agent").await.access_token));
    }
    let audited_before = running.state.audit.snapshot().len() as u64;
    let served_before = running.state.requests_served.load(Ordering::SeqCst);
    let started = Instant::now();
    let mut tasks = Vec::new();
    for (c, (mut ts, rest_token)) in sessions.into_iter().enumerate() {
        let target = target.clone();
        tasks.push(tokio::spawn(async move {
            let client = http_client();
            let rest = target.rest("/sobjects/Case/500000000000001");
            let mcp = target.mcp_servers["reads"].clone();
            let mut seen: Vec<(&'static str, u16)> = Vec::new();
            let status = |r: Result<reqwest::Response, reqwest::Error>| r.map(|r| r.status().as_u16()).unwrap_or(0);
            for round in 0..rounds {
                seen.push(("rest", status(client.get(&rest).bearer_auth(&rest_token).send().await)));
                let call = tool_call(&mcp, &ts.access_token, "getUserInfo", (c * rounds + round) as u64);
                seen.push(("tool call", status(call.send().await)));
                let form = [
                    ("grant_type", "refresh_token"),
                    ("refresh_token", ts.refresh_token.as_deref().unwrap_or_default()),
                    ("client_id", target.client_id.as_str()),
                ];
                let reply = client.post(&target.token_url).form(&form).send().await;
                let old = ts.access_token.clone();
                match reply {
                    Ok(r) if r.status().as_u16() == 200 => {
                        seen.push(("refresh", 200));
                        let v: Value = r.json().await.unwrap_or(Value::Null);
                        ts.access_token = v["access_token"].as_str().unwrap_or_default().to_string();
                        if let Some(rt) = v["refresh_token"].as_str() {
                            ts.refresh_token = Some(rt.to_string());
                        }
                    }
                    r => seen.push(("refresh", status(r))),
                }
                if round % 5 == 4 {
                    let form = [("token", old.as_str()), ("client_id", target.client_id.as_str())];
                    seen.push(("revoke", status(client.post(&target.revoke_url).form(&form).send().await)));
                }
            }
            seen
        }));
    }
    let mut report = LoadReport::default();
    for t in tasks {
        for (kind, status) in t.await.unwrap_or_default() {
            *report.sent.entry(kind).or_default() += 1;
            *report.statuses.entry((kind, status)).or_default() += 1;
        }
    }
    report.wall = started.elapsed();
    report.served = running.state.requests_served.load(Ordering::SeqCst) - served_before;
    report.audited = running.state.audit.snapshot().len() as u64 - audited_before;
    running.shutdown().await;
    report
}

/// What a flood against the mock did: the answers, how much the mock kept, and this process's
/// resident memory (the mock and the flooding client share it; the client keeps only counts).
#[derive(Debug, Clone, Default)]
pub struct FloodReport {
    pub wall: Duration,
    pub statuses: BTreeMap<u16, u64>,
    /// Resident memory (MB) before the flood, at its peak, and after it.
    pub rss_before: f64,
    pub rss_peak: f64,
    pub rss_after: f64,
    /// Audit records the mock holds after the flood, and how long the admin's count of them took.
    pub audit_records: usize,
    pub count_query: Duration,
}

/// This process's resident memory and its high-water mark, in MB (Linux `/proc`; 0 elsewhere).
fn rss_mb() -> (f64, f64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let kb = |key: &str| {
        status
            .lines()
            .find(|l| l.starts_with(key))
            .and_then(|l| l.split_whitespace().nth(1)?.parse::<f64>().ok())
            .unwrap_or_default()
    };
    (kb("VmRSS:") / 1024.0, kb("VmHWM:") / 1024.0)
}

/// Which flood: one user opening MCP sessions, or requests nobody signed (garbage token
/// requests and REST calls with a made-up bearer and a long path).
#[derive(Debug, Clone, Copy)]
pub enum Flood {
    Sessions,
    Garbage,
}

pub async fn flood(kind: Flood, requests: usize, concurrency: usize) -> FloodReport {
    let (running, target) = start_mock().await;
    let agent = sign_in(&target, "agent").await.access_token;
    let admin = sign_in(&target, "admin").await.access_token;
    let rss_before = rss_mb().0;
    let started = Instant::now();
    let (_, statuses) = match kind {
        Flood::Sessions => {
            let url = target.mcp_servers["reads"].clone();
            hammer(requests, concurrency, move |_| {
                let open = steps::world::opening_request(McpEra::Sessions);
                let req = steps::world::mcp_http(&url, open, McpEra::Sessions, None).bearer(&agent);
                steps::probe::builder(&http_client(), &req).0
            })
            .await
        }
        Flood::Garbage => {
            let (token_url, rest) = (target.token_url.clone(), target.rest(""));
            hammer(requests, concurrency, move |i| {
                let junk = format!("{i:032x}").repeat(128);
                match i % 2 {
                    0 => http_client().post(&token_url).body(format!("grant_type={junk}&code={junk}")),
                    _ => http_client().get(format!("{rest}/sobjects/Case/{junk}")).bearer_auth(&junk),
                }
            })
            .await
        }
    };
    let wall = started.elapsed();
    let counted = Instant::now();
    let count = http_client()
        .get(target.rest(&steps::world::query_path("SELECT COUNT() FROM ApiEvent")))
        .bearer_auth(&admin)
        .send()
        .await
        .map(|r| r.status().as_u16());
    let count_query = counted.elapsed();
    assert_eq!(count.ok(), Some(200), "the admin counts the audit log");
    let audit_records = running.state.audit.len();
    running.shutdown().await;
    let (rss_after, rss_peak) = rss_mb();
    FloodReport { wall, statuses, rss_before, rss_peak, rss_after, audit_records, count_query }
}

/// One gate run against the default mock org behind the latency proxy, as a real deployment is
/// run: the `headless-gate` binary with a target file (`mock_target::loopback_target_file`).
#[derive(Debug, Clone)]
pub struct RemoteRun {
    pub rtt: Duration,
    pub wall: Duration,
    /// The gate's exit code (0: the gate passed).
    pub exit: Option<i32>,
    /// `run.requests` of results.json.
    pub requests: Value,
    /// Requests the mock answered, to hold the gate's own count against.
    pub served: u64,
}

impl RemoteRun {
    /// The floor: the round trips no run can avoid, at this round-trip time.
    pub fn floor(&self) -> Duration {
        self.rtt * self.requests["floor_round_trips"].as_u64().unwrap_or(0) as u32
    }
}

pub async fn remote_once(gate: &Path, dir: &Path, rtt: Duration, concurrency: usize) -> Result<RemoteRun, String> {
    // One delaying proxy in front of the instance, one in front of the API host.
    let front = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let api_front = tokio::net::TcpListener::bind("127.0.0.1:0").await.map_err(|e| e.to_string())?;
    let public = format!("http://{}", front.local_addr().map_err(|e| e.to_string())?);
    let public_api = format!("http://{}", api_front.local_addr().map_err(|e| e.to_string())?);
    let org = Org::default_fixture();
    let credentials = crate::mock_target::loopback_credentials(&org, "HG_BENCH");
    let addresses = mock_org::Public { url: Some(public.clone()), api_url: Some(public_api.clone()) };
    let running = mock_org::start_behind(org, addresses).await.map_err(|e| e.to_string())?;
    let upstream = |u: &str| u.trim_start_matches("http://").to_string();
    let proxies = [
        crate::latency_proxy::spawn(front, upstream(&running.url), rtt),
        crate::latency_proxy::spawn(api_front, upstream(&running.api_url), rtt),
    ];
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let file = dir.join("target.toml");
    let text = crate::mock_target::loopback_target_file(&public, &public_api, "HG_BENCH");
    std::fs::write(&file, text).map_err(|e| e.to_string())?;
    let reports = dir.join("reports");
    let mut cmd = tokio::process::Command::new(gate);
    cmd.arg("run").arg("--target").arg(&file).arg("--reports").arg(&reports);
    cmd.args(["--concurrency", &concurrency.to_string()]).envs(credentials).stdout(std::process::Stdio::null());
    let started = Instant::now();
    let status = cmd.status().await.map_err(|e| format!("{}: {e}", gate.display()))?;
    let wall = started.elapsed();
    proxies.iter().for_each(|p| p.abort());
    let served = running.state.requests_served.load(Ordering::SeqCst);
    running.shutdown().await;
    let results: Value = std::fs::read_to_string(reports.join("results.json"))
        .ok()
        .and_then(|t| serde_json::from_str(&t).ok())
        .ok_or("the run wrote no results.json")?;
    Ok(RemoteRun { rtt, wall, exit: status.code(), requests: results["run"]["requests"].clone(), served })
}

/// Writes a synthetic SFDX tree of `classes` classes shaped like a service layer, in groups of
/// ten: a tool (an invocable entry point) that builds a service with a selector injected through
/// its constructor and enqueues a job; the service (a field of interface type, DML); a selector
/// implementing the one `ISelector` interface every selector implements (so each interface call
/// fans out to every selector); the queueable job; a domain class with a queried property and a
/// static initializer; and five utility classes calling one another. Each class has filler
/// methods so the tree is about 40 lines a class.
pub fn write_apex_tree(root: &Path, classes: usize) -> std::io::Result<()> {
    let dir = root.join("force-app/main/default/classes");
    std::fs::create_dir_all(&dir)?;
    let meta = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<ApexClass xmlns=\"http://soap.sforce.com/2006/04/metadata\">\n    <apiVersion>66.0</apiVersion>\n    <status>Active</status>\n</ApexClass>\n";
    let filler = |n: usize| -> String {
        (0..6)
            .map(|k| {
                format!(
                    "    public static String label{k}(Integer x) {{\n        String s = 'item' + x;\n        for (Integer j = 0; j < x; j++) {{\n            s += String.valueOf(j * {n});\n        }}\n        return s.left(20);\n    }}\n"
                )
            })
            .collect()
    };
    let write = |name: String, body: String| -> std::io::Result<()> {
        std::fs::write(dir.join(format!("{name}.cls")), body)?;
        std::fs::write(dir.join(format!("{name}.cls-meta.xml")), meta)
    };
    write("ISelector".into(), "public interface ISelector {\n    List<Case> byIds(Set<Id> ids);\n}\n".into())?;
    for i in 0..classes.saturating_sub(1) {
        let g = i / 10;
        let (name, body) = match i % 10 {
            0 => (
                format!("Tool{g}"),
                format!(
                    "public with sharing class Tool{g} {{\n    @InvocableMethod(label='Tool {g}')\n    public static List<String> run(List<Id> ids) {{\n        Service{g} svc = new Service{g}(new Selector{g}());\n        System.enqueueJob(new Job{g}(ids));\n        List<String> out = svc.names(new Set<Id>(ids));\n        out.add(Util{g}a.label0(ids.size()));\n        return out;\n    }}\n{}}}\n",
                    filler(i)
                ),
            ),
            1 => (
                format!("Service{g}"),
                format!(
                    "public with sharing class Service{g} {{\n    private ISelector selector;\n    public Service{g}(ISelector selector) {{\n        this.selector = selector;\n    }}\n    public List<String> names(Set<Id> ids) {{\n        List<String> out = new List<String>();\n        List<Case> cs = selector.byIds(ids);\n        for (Case c : cs) {{\n            out.add(c.Subject + Domain{g}.openCount);\n        }}\n        update as user cs;\n        return out;\n    }}\n{}}}\n",
                    filler(i)
                ),
            ),
            2 => (
                format!("Selector{g}"),
                format!(
                    "public {} class Selector{g} implements ISelector {{\n    public List<Case> byIds(Set<Id> ids) {{\n        return [SELECT Id, Subject, Status FROM Case WHERE Id IN :ids{}];\n    }}\n{}}}\n",
                    if g % 7 == 0 { "without sharing" } else { "with sharing" },
                    if g % 5 == 0 { "" } else { " WITH USER_MODE" },
                    filler(i)
                ),
            ),
            3 => (
                format!("Job{g}"),
                format!(
                    "public with sharing class Job{g} implements Queueable {{\n    private List<Id> ids;\n    public Job{g}(List<Id> ids) {{\n        this.ids = ids;\n    }}\n    public void execute(QueueableContext ctx) {{\n        List<Case> cs = Database.query('SELECT Id FROM Case WHERE Id IN :ids', AccessLevel.USER_MODE);\n        Util{g}b.touch(cs.size());\n    }}\n{}}}\n",
                    filler(i)
                ),
            ),
            4 => (
                format!("Domain{g}"),
                format!(
                    "public with sharing class Domain{g} {{\n    private static final Map<String, String> LABELS = new Map<String, String>{{ 'a' => 'b' }};\n    public static Integer openCount {{\n        get {{\n            return [SELECT COUNT() FROM Case WHERE IsClosed = false WITH USER_MODE];\n        }}\n    }}\n{}}}\n",
                    filler(i)
                ),
            ),
            k => {
                let me = ["a", "b", "c", "d", "e"][k - 5];
                let next = ["b", "c", "d", "e", "a"][k - 5];
                (
                    format!("Util{g}{me}"),
                    format!(
                        "public with sharing class Util{g}{me} {{\n    public static void touch(Integer n) {{\n        if (n > 0) {{\n            Util{g}{next}.touch(n - 1);\n        }}\n    }}\n{}}}\n",
                        filler(i)
                    ),
                )
            }
        };
        write(name, body)?;
    }
    Ok(())
}

/// One timed scan of a tree: reading, then parsing and analysing, and what it found.
pub struct ApexRun {
    pub read: Duration,
    pub scan: Duration,
    pub files: usize,
    pub lines: usize,
    pub entry_points: usize,
    pub findings: usize,
}

pub fn apex_scan_once(root: &Path) -> std::io::Result<ApexRun> {
    let started = Instant::now();
    let files = apex_scan::read_tree(root)?;
    let read = started.elapsed();
    let started = Instant::now();
    let scan = apex_scan::scan(&files, &[]);
    Ok(ApexRun {
        read,
        scan: started.elapsed(),
        files: files.len(),
        lines: files.iter().map(|f| f.text.lines().count()).sum(),
        entry_points: scan.entry_points.len(),
        findings: scan.findings.len(),
    })
}
