//! Shared helpers for the project's own tests: a default mock org on loopback, tokens for its
//! personas, and one-line REST calls that return (status, JSON body).
#![allow(dead_code)]

use mock_org::RunningOrg;
use serde_json::Value;
use std::path::PathBuf;

thread_local! {
    /// This test's scratch root. libtest runs every test on a thread of its own, so the root is
    /// removed when the test ends, passed or failed, and nothing is left in the system's temp.
    static SCRATCH: std::cell::OnceCell<tempfile::TempDir> = const { std::cell::OnceCell::new() };
}

/// `name` under this test's scratch root (not created): the same name gives the same path for
/// the rest of the test, so a path a helper chose can be found again.
pub fn scratch(name: &str) -> PathBuf {
    SCRATCH.with(|root| {
        root.get_or_init(|| tempfile::Builder::new().prefix("hg-test-").tempdir().expect("a scratch folder"))
            .path()
            .join(name)
    })
}

pub const ADMIN: &str = "admin@acme.test";
pub const AGENT: &str = "agent.service@acme.test";
pub const CSR: &str = "csr.broad@acme.test";
pub const MANAGER: &str = "support.manager@acme.test";
pub const SALES: &str = "sales.rep@acme.test";
pub const FROZEN: &str = "frozen.user@acme.test";
pub const NOAPI: &str = "noapi.user@acme.test";

/// Fixture record ids (15-character form, as written in the org file).
pub const ACCOUNT_SHARED: &str = "001000000000001";
pub const ACCOUNT_SALES: &str = "001000000000002";
pub const CONTACT_SHARED: &str = "003000000000001";
pub const CASE_CSR: &str = "500000000000001";
pub const CASE_AGENT: &str = "500000000000002";
pub const CASE_SALES: &str = "500000000000003";
pub const CASE_PEER: &str = "500000000000004";
pub const HISTORY_CSR: &str = "017000000000001";
pub const HISTORY_SALES: &str = "017000000000002";
pub const OPPORTUNITY: &str = "006000000000001";

pub const API: &str = "/services/data/v66.0";

pub struct TestOrg {
    pub running: RunningOrg,
    pub http: reqwest::Client,
}

pub fn id18(id15: &str) -> String {
    mock_org::ids::to18(id15).expect("a well-formed id")
}

impl TestOrg {
    pub async fn start() -> Self {
        Self::start_with(mock_org::Org::default_fixture()).await
    }

    pub async fn start_with(org: mock_org::Org) -> Self {
        let running = mock_org::start(org).await.expect("mock org starts");
        let http = reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .expect("client");
        TestOrg { running, http }
    }

    /// The token the agent would hold after Authorization Code + PKCE: `mcp_api refresh_token`.
    pub fn token(&self, username: &str) -> String {
        self.running.state.mint_test_token(username, &["mcp_api", "refresh_token"])
    }

    /// A token for the REST API (`api refresh_token`, as the gate's probe app holds): REST
    /// refuses the agent's `mcp_api` tokens, as the platform does.
    pub fn rest_token(&self, username: &str) -> String {
        self.running.state.mint_test_token(username, &["api", "refresh_token"])
    }

    pub async fn call(
        &self,
        method: reqwest::Method,
        token: Option<&str>,
        path: &str,
        body: Option<Value>,
    ) -> (u16, Value) {
        let url = if path.starts_with("/services") {
            format!("{}{path}", self.running.url)
        } else {
            format!("{}{API}{path}", self.running.url)
        };
        let mut req = self.http.request(method, url);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.expect("the mock answers");
        let status = resp.status().as_u16();
        let text = resp.text().await.expect("a body");
        (status, if text.is_empty() { Value::Null } else { serde_json::from_str(&text).expect("a JSON body") })
    }

    /// Whether the primary MCP server takes `token` now: the status of an `initialize` there
    /// (the agent's `mcp_api` tokens work on the MCP servers only, as on the platform).
    pub async fn mcp_status(&self, token: Option<&str>) -> u16 {
        let url = format!("{}/platform/mcp/v1/platform/sobject-reads", self.running.api_url);
        let body = serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {
            "protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "hg-test", "version": "0"}}});
        let mut req = self.http.post(url).header("Accept", "application/json, text/event-stream").json(&body);
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send().await.expect("the MCP server answers").status().as_u16()
    }

    pub async fn get(&self, who: &str, path: &str) -> (u16, Value) {
        let t = self.rest_token(who);
        self.call(reqwest::Method::GET, Some(&t), path, None).await
    }

    pub async fn query(&self, who: &str, soql: &str) -> (u16, Value) {
        let q: String = url_encode(soql);
        self.get(who, &format!("/query?q={q}")).await
    }

    pub async fn send(&self, method: reqwest::Method, who: &str, path: &str, body: Option<Value>) -> (u16, Value) {
        let t = self.rest_token(who);
        self.call(method, Some(&t), path, body).await
    }

    /// Ids the query returns, in order.
    pub async fn ids(&self, who: &str, soql: &str) -> Vec<String> {
        let (status, body) = self.query(who, soql).await;
        assert_eq!(status, 200, "{soql} as {who}: {body}");
        body["records"].as_array().expect("records").iter().map(|r| r["Id"].as_str().expect("Id").to_string()).collect()
    }
}

pub fn url_encode(s: &str) -> String {
    mock_org::form::encode(s)
}

/// A Salesforce denial: exactly this status, exactly this errorCode, and nothing but the error.
#[track_caller]
pub fn assert_denied(status: u16, body: &Value, want_status: u16, want_code: &str) {
    assert_eq!(status, want_status, "status; body: {body}");
    let arr = body.as_array().unwrap_or_else(|| panic!("an error array, got {body}"));
    assert_eq!(arr.len(), 1, "one error: {body}");
    assert_eq!(arr[0]["errorCode"], want_code, "errorCode; body: {body}");
    assert!(arr[0]["message"].as_str().is_some_and(|m| !m.is_empty()), "a message: {body}");
    assert!(!body.to_string().contains("CANARY-"), "a denial leaks no data: {body}");
}

/// Asserts a SARIF file is valid against the SARIF 2.1.0 schema (the OASIS schema as
/// @microsoft/jest-sarif ships it, checked with Python's jsonschema from the interop venv).
pub fn assert_valid_sarif(sarif: &std::path::Path) {
    let interop = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop");
    let schema = interop.join("node_modules/@microsoft/jest-sarif/lib/schemas/sarif-2.1.0-rtm.5.json");
    let python = interop.join("python/.venv/bin/python");
    assert!(schema.is_file() && python.is_file(), "run tests/interop/install (.ci/run does)");
    let check =
        "import json,sys,jsonschema; jsonschema.validate(json.load(open(sys.argv[2])), json.load(open(sys.argv[1])))";
    let out = std::process::Command::new(python).args(["-c", check]).arg(&schema).arg(sarif).output().unwrap();
    assert!(
        out.status.success(),
        "{} is not valid SARIF 2.1.0: {}",
        sarif.display(),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The default org with its MCP tools under other names: the standard tools renamed on both
/// SObject servers (`soqlQuery` is `run_soql` taking `statement`, record ids go in `id`, ...),
/// and the custom tool `summarize_case` taking `case`. A deployment the tool map must follow.
pub fn renamed_tools_org() -> String {
    let default = include_str!("../../mock-org/orgs/default.toml");
    let reads = "standardTools = [\"getUserInfo\", \"getObjectSchema\", \"soqlQuery\", \"getRecord\", \"listRecentSobjectRecords\"]\n";
    let all = "standardTools = [\"getUserInfo\", \"getObjectSchema\", \"soqlQuery\", \"getRecord\", \"listRecentSobjectRecords\", \"createSobjectRecord\", \"updateSobjectRecord\", \"deleteSobjectRecord\"]\n";
    let read_names = "soqlQuery = \"run_soql\", getObjectSchema = \"describe_sobject\", getRecord = \"fetch_record\", listRecentSobjectRecords = \"recent_records\"";
    let write_names = "createSobjectRecord = \"insert_record\", updateSobjectRecord = \"patch_record\", deleteSobjectRecord = \"remove_record\"";
    let arguments =
        "argumentNames = { q = \"statement\", objectName = \"sobject\", recordId = \"id\", fields = \"values\" }\n";
    let renamed = default
        .replacen(reads, &format!("{reads}toolNames = {{ {read_names} }}\n{arguments}"), 1)
        .replacen(all, &format!("{all}toolNames = {{ {read_names}, {write_names} }}\n{arguments}"), 1)
        .replacen("name = \"getCaseHealthSummary\"\n", "name = \"summarize_case\"\nargument = \"case\"\n", 1);
    assert_eq!(renamed.matches("toolNames").count(), 2, "both SObject servers renamed");
    assert!(renamed.contains("summarize_case"), "the custom tool renamed");
    renamed
}

/// The tool map a target file gives for `renamed_tools_org`.
pub const RENAMED_TOOL_MAP: &str = r#"[mcp_tools]
query = { tool = "run_soql", arguments = { query = "statement" } }
describe = { tool = "describe_sobject", arguments = { object = "sobject" } }
read = { tool = "fetch_record", arguments = { object = "sobject", id = "id" } }
list_recent = { tool = "recent_records", arguments = { object = "sobject" } }
create = { tool = "insert_record", arguments = { object = "sobject", fields = "values" } }
update = { tool = "patch_record", arguments = { object = "sobject", id = "id", fields = "values" } }
delete = { tool = "remove_record", arguments = { object = "sobject", id = "id" } }
record_action = { tool = "summarize_case", server = "custom", arguments = { id = "case" } }
"#;
