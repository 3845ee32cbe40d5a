//! The mock org's MCP servers over real HTTP: the resource-server guard, sessions bound to users,
//! tools through the enforcement pipeline, and one audit record per tool call.

mod support;

use serde_json::{Value, json};
use support::*;

const READS: &str = "/platform/mcp/v1/platform/sobject-reads";
const CUSTOM: &str = "/platform/mcp/v1/custom/service-agent";

struct Mcp<'a> {
    org: &'a TestOrg,
    path: &'static str,
    token: Option<String>,
    session: Option<String>,
}

struct Rpc {
    status: u16,
    headers: reqwest::header::HeaderMap,
    body: Value,
}

/// A JSON-RPC answer from a JSON body or the first `data:` event of an SSE stream.
fn parse_body(text: &str) -> Value {
    if let Ok(v) = serde_json::from_str(text) {
        return v;
    }
    text.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .find(|v| v.get("id").is_some() || v.get("error").is_some())
        .unwrap_or(Value::Null)
}

impl<'a> Mcp<'a> {
    fn new(org: &'a TestOrg, path: &'static str, token: Option<String>) -> Self {
        Mcp { org, path, token, session: None }
    }

    async fn post(&self, body: Value, extra: &[(&str, &str)]) -> Rpc {
        let mut req = self
            .org
            .http
            .post(format!("{}{}", self.org.running.api_url, self.path))
            .header("Accept", "application/json, text/event-stream")
            .header("Content-Type", "application/json")
            .json(&body);
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(s) = &self.session {
            req = req.header("Mcp-Session-Id", s).header("MCP-Protocol-Version", "2025-11-25");
        }
        for (k, v) in extra {
            req = req.header(*k, *v);
        }
        let resp = req.send().await.unwrap();
        let status = resp.status().as_u16();
        let headers = resp.headers().clone();
        let text = resp.text().await.unwrap();
        Rpc { status, headers, body: parse_body(&text) }
    }

    async fn initialize(&mut self) -> Rpc {
        let r = self
            .post(json!({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": {"protocolVersion": "2025-11-25", "capabilities": {}, "clientInfo": {"name": "hg-test", "version": "0"}}}), &[])
            .await;
        self.session = r.headers.get("mcp-session-id").and_then(|v| v.to_str().ok()).map(str::to_string);
        if self.session.is_some() {
            let _ = self.post(json!({"jsonrpc": "2.0", "method": "notifications/initialized"}), &[]).await;
        }
        r
    }

    async fn list(&self) -> Rpc {
        self.post(json!({"jsonrpc": "2.0", "id": 2, "method": "tools/list"}), &[]).await
    }

    async fn call(&self, name: &str, args: Value) -> Rpc {
        self.post(
            json!({"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": name, "arguments": args}}),
            &[],
        )
        .await
    }
}

fn tool_names(r: &Rpc) -> Vec<String> {
    r.body["result"]["tools"]
        .as_array()
        .map(|a| a.iter().map(|t| t["name"].as_str().unwrap().to_string()).collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn the_agent_lists_and_calls_tools_with_a_real_token() {
    let org = TestOrg::start().await;
    let mut mcp = Mcp::new(&org, READS, Some(org.token(AGENT)));
    let init = mcp.initialize().await;
    assert_eq!(init.status, 200, "{}", init.body);
    assert!(mcp.session.is_some(), "a 2025-11-25 session");
    let list = mcp.list().await;
    assert_eq!(
        tool_names(&list),
        ["getUserInfo", "getObjectSchema", "soqlQuery", "getRecord", "listRecentSobjectRecords"]
    );
    let q = mcp.call("soqlQuery", json!({"q": "SELECT Id, Subject FROM Case"})).await;
    assert_eq!(q.body["result"]["isError"], false, "{}", q.body);
    let ids: Vec<String> = q.body["result"]["structuredContent"]["records"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["Id"].as_str().unwrap().to_string())
        .collect();
    assert!(ids.contains(&id18(CASE_CSR)) && !ids.contains(&id18(CASE_SALES)), "sharing applies: {ids:?}");
    assert!(!q.body.to_string().contains("CANARY-"));
}

#[tokio::test]
async fn denials_are_is_error_results_with_the_salesforce_error() {
    let org = TestOrg::start().await;
    let mut mcp = Mcp::new(&org, READS, Some(org.token(AGENT)));
    mcp.initialize().await;
    for (tool, args, code) in [
        ("soqlQuery", json!({"q": "SELECT Id, BillingStreet FROM Account"}), "INVALID_FIELD"),
        ("soqlQuery", json!({"q": "SELECT Id FROM Opportunity"}), "INVALID_TYPE"),
        ("getRecord", json!({"objectName": "Case", "recordId": CASE_SALES}), "NOT_FOUND"),
    ] {
        let r = mcp.call(tool, args).await;
        assert_eq!(r.body["result"]["isError"], true, "{}", r.body);
        let text = r.body["result"]["content"][0]["text"].as_str().unwrap();
        let err: Value = serde_json::from_str(text).unwrap();
        assert_eq!(err[0]["errorCode"], code);
        assert!(!r.body.to_string().contains("CANARY-"));
    }
    // Unknown tools and bad arguments are protocol errors, not tool results.
    let r = mcp.call("dropDatabase", json!({})).await;
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.body);
    let r = mcp.call("soqlQuery", json!({"query": "x"})).await;
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.body);
}

/// The hosted MCP servers answer on the API host, an origin apart from the org's instance, as the
/// platform's do: the instance serves no MCP server, and the API host answers a path naming no
/// server with the gateway's 404.
#[tokio::test]
async fn the_mcp_servers_answer_on_the_api_host_only() {
    let org = TestOrg::start().await;
    assert_ne!(org.running.url, org.running.api_url);
    let agent = org.token(AGENT);
    assert_eq!(Mcp::new(&org, READS, Some(agent.clone())).initialize().await.status, 200);
    let on_instance = org.http.post(format!("{}{READS}", org.running.url)).bearer_auth(&agent).json(&json!({}));
    let r = on_instance.send().await.unwrap();
    assert_eq!(r.status(), 404);
    let body: Value = r.json().await.unwrap();
    assert_eq!(body[0]["errorCode"], "NOT_FOUND", "the instance's REST 404: {body}");
    for path in ["/platform/mcp/v1/platform/no-such-server", "/.well-known/oauth-protected-resource/platform/mcp/v1/x"]
    {
        let r = org.http.post(format!("{}{path}", org.running.api_url)).bearer_auth(&agent).send().await.unwrap();
        assert_eq!(r.status(), 404, "{path}");
        let body: Value = r.json().await.unwrap();
        let expected = json!({"error": {"code": 404, "message": format!("Server definition not found for: {path}")}});
        assert_eq!(body, expected, "the gateway's 404");
    }
    let meta = org.http.get(format!("{}/.well-known/oauth-protected-resource{READS}", org.running.url));
    assert_eq!(meta.send().await.unwrap().status(), 404, "the metadata lives on the API host too");
}

/// A sandbox's hosted MCP servers answer with `/sandbox/` in their paths, and name those paths in
/// their metadata and challenges.
#[tokio::test]
async fn a_sandboxs_mcp_servers_answer_under_sandbox() {
    let text = mock_org::Org::DEFAULT_TEXT.replacen("[org]\n", "[org]\nisSandbox = true\n", 1);
    let org = TestOrg::start_with(mock_org::Org::parse("sandbox.toml", &text).expect("the sandbox org parses")).await;
    const SANDBOX_READS: &str = "/platform/mcp/v1/sandbox/platform/sobject-reads";
    let agent = org.token(AGENT);
    assert_eq!(Mcp::new(&org, SANDBOX_READS, Some(agent.clone())).initialize().await.status, 200);
    assert_eq!(Mcp::new(&org, READS, Some(agent)).initialize().await.status, 404, "no production path");
    let r = Mcp::new(&org, SANDBOX_READS, None).initialize().await;
    let meta = format!("{}/.well-known/oauth-protected-resource{SANDBOX_READS}", org.running.api_url);
    assert_eq!(r.headers["www-authenticate"].to_str().unwrap(), format!("Bearer resource_metadata=\"{meta}\""));
    let metadata: Value = org.http.get(&meta).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], format!("{}{SANDBOX_READS}", org.running.api_url));
}

#[tokio::test]
async fn the_resource_server_refuses_bad_tokens_with_a_challenge() {
    let org = TestOrg::start().await;
    let meta = format!("{}/.well-known/oauth-protected-resource{READS}", org.running.api_url);
    let mut none = Mcp::new(&org, READS, None);
    let r = none.initialize().await;
    assert_eq!(r.status, 401);
    let challenge = r.headers["www-authenticate"].to_str().unwrap().to_string();
    assert_eq!(challenge, format!("Bearer resource_metadata=\"{meta}\""));
    assert_eq!(r.body, json!({"errors": [{"message": "JWT Token is required"}]}), "the gateway's body");
    for bad in ["garbage", &TestOrg::start().await.token(AGENT)] {
        let mut m = Mcp::new(&org, READS, Some(bad.to_string()));
        let r = m.initialize().await;
        assert_eq!(r.status, 401);
        assert!(r.headers["www-authenticate"].to_str().unwrap().contains("error=\"invalid_token\""));
    }
    let no_scope = org.running.state.mint_test_token(AGENT, &["api"]);
    let r = Mcp::new(&org, READS, Some(no_scope)).initialize().await;
    assert_eq!(r.status, 403);
    assert!(r.headers["www-authenticate"].to_str().unwrap().contains("insufficient_scope"));
    let r = Mcp::new(&org, READS, Some(org.token(AGENT)))
        .post(json!({"jsonrpc": "2.0", "id": 1, "method": "tools/list"}), &[("Origin", "https://evil.example")])
        .await;
    assert_eq!(r.status, 403);
    let metadata: Value = org.http.get(&meta).send().await.unwrap().json().await.unwrap();
    assert_eq!(metadata["resource"], format!("{}{READS}", org.running.api_url));
    assert_eq!(metadata["authorization_servers"][0], org.running.url);
    assert_eq!(metadata["scopes_supported"], json!(["mcp_api"]));
}

#[tokio::test]
async fn a_session_is_bound_to_its_user_and_revocation_is_immediate() {
    let org = TestOrg::start().await;
    let agent_token = org.token(AGENT);
    let mut a = Mcp::new(&org, READS, Some(agent_token.clone()));
    a.initialize().await;
    // Another user's token on the agent's session is refused.
    let mut b = Mcp::new(&org, READS, Some(org.token(CSR)));
    b.session = a.session.clone();
    assert_eq!(b.list().await.status, 403);
    // The session without a token is refused.
    let mut c = Mcp::new(&org, READS, None);
    c.session = a.session.clone();
    assert_eq!(c.list().await.status, 401);
    // Revoked: the very next request on the session is refused.
    assert_eq!(a.list().await.status, 200);
    let jti = {
        use base64::Engine;
        let p =
            base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(agent_token.split('.').nth(1).unwrap()).unwrap();
        serde_json::from_slice::<Value>(&p).unwrap()["jti"].as_str().unwrap().to_string()
    };
    org.running.state.tokens.revoke(&jti);
    assert_eq!(a.list().await.status, 401);
}

#[tokio::test]
async fn custom_tools_need_their_apex_class_and_are_audited() {
    let org = TestOrg::start().await;
    let mut agent = Mcp::new(&org, CUSTOM, Some(org.token(AGENT)));
    agent.initialize().await;
    // The platform's identity tool, then the custom tool.
    assert_eq!(tool_names(&agent.list().await), ["getUserInfo", "getCaseHealthSummary"]);
    let r = agent.call("getCaseHealthSummary", json!({"caseId": CASE_CSR})).await;
    assert_eq!(r.body["result"]["isError"], false, "{}", r.body);
    assert_eq!(r.body["result"]["structuredContent"]["case"]["Status"], "Working");
    let r = agent.call("getCaseHealthSummary", json!({"caseId": CASE_SALES})).await;
    assert_eq!(r.body["result"]["isError"], true, "user mode: the unshared case is not found");
    let mut sales = Mcp::new(&org, CUSTOM, Some(org.token(SALES)));
    sales.initialize().await;
    assert_eq!(tool_names(&sales.list().await), ["getUserInfo"], "no class access, no custom tool");
    let records = org.running.state.audit.snapshot();
    let calls: Vec<_> = records.iter().filter(|r| r.tool.as_deref() == Some("getCaseHealthSummary")).collect();
    assert_eq!(calls.len(), 2);
    assert_eq!(calls[0].username.as_deref(), Some(AGENT));
    assert_eq!(calls[0].outcome, "allowed");
    assert_eq!(calls[1].denial_code.as_deref(), Some("NOT_FOUND"));
}

/// Resources, prompts and completions are doors to the same records as tools: each read goes
/// through the pipeline as the caller, is audited, and a bad URI or argument is a JSON-RPC error.
#[tokio::test]
async fn record_doors_apply_the_same_rules_as_tools() {
    let org = TestOrg::start().await;
    let mut mcp = Mcp::new(&org, READS, Some(org.token(AGENT)));
    mcp.initialize().await;
    let read = |uri: String| json!({"jsonrpc": "2.0", "id": 4, "method": "resources/read", "params": {"uri": uri}});
    let mine = mcp.post(read(format!("salesforce://sobject/Case/{CASE_CSR}")), &[]).await;
    let text = mine.body["result"]["contents"][0]["text"].as_str().expect("a record resource").to_string();
    assert!(text.contains("Printer on fire") && !text.contains("CANARY-"), "{text}");
    for uri in [
        format!("salesforce://sobject/Case/{CASE_SALES}"),
        "salesforce://sobject/Opportunity/006000000000001".to_string(),
        "salesforce://sobject/Case/500' OR Id != '".to_string(),
        "file:///etc/passwd".to_string(),
    ] {
        let r = mcp.post(read(uri.clone()), &[]).await;
        assert_eq!(r.body["error"]["code"], -32002, "{uri}: {}", r.body);
        assert!(!r.body.to_string().contains("CANARY-"), "{uri}");
    }
    let prompt = |id: &str| json!({"jsonrpc": "2.0", "id": 5, "method": "prompts/get", "params": {"name": "summarizeRecord", "arguments": {"objectName": "Case", "recordId": id}}});
    let r = mcp.post(prompt(CASE_SALES), &[]).await;
    assert_eq!(r.body["error"]["code"], -32602, "{}", r.body);
    let r = mcp.post(prompt(CASE_CSR), &[]).await;
    assert!(r.body["result"]["messages"][0]["content"]["text"].as_str().unwrap().contains("Printer on fire"));
    let complete = json!({"jsonrpc": "2.0", "id": 6, "method": "completion/complete", "params": {"ref": {"type": "ref/prompt", "name": "summarizeRecord"}, "argument": {"name": "recordId", "value": "500"}, "context": {"arguments": {"objectName": "Case"}}}});
    let values = mcp.post(complete, &[]).await.body["result"]["completion"]["values"].clone();
    assert!(values.as_array().unwrap().contains(&json!(id18(CASE_CSR))), "{values}");
    assert!(!values.as_array().unwrap().contains(&json!(id18(CASE_SALES))), "{values}");
    let audited = org.running.state.audit.snapshot();
    let door_reads = audited.iter().filter(|r| ["resources/read", "prompts/get"].contains(&r.method.as_str()));
    assert_eq!(door_reads.count(), 5, "one audit record per read that reached the pipeline");
    // A server without the doors says so.
    let mut custom = Mcp::new(&org, CUSTOM, Some(org.token(AGENT)));
    custom.initialize().await;
    let r = custom.post(read(format!("salesforce://sobject/Case/{CASE_CSR}")), &[]).await;
    assert_eq!(r.body["error"]["code"], -32601, "{}", r.body);
}

/// A client's `X-Request-Id` is recorded as on REST: a sane one as it came, a 60 KB one replaced
/// with one of the org's own (the audit log never stores what a client makes it store).
#[tokio::test]
async fn a_tool_call_request_id_is_capped_as_on_rest() {
    let org = TestOrg::start().await;
    let mut mcp = Mcp::new(&org, READS, Some(org.token(AGENT)));
    mcp.initialize().await;
    let huge = "x".repeat(60_000);
    for id in ["hg-sane-id-1", huge.as_str()] {
        let r = mcp
            .post(
                json!({"jsonrpc": "2.0", "id": 4, "method": "tools/call", "params": {"name": "getUserInfo", "arguments": {}}}),
                &[("X-Request-Id", id)],
            )
            .await;
        assert_eq!(r.status, 200);
    }
    let ids: Vec<String> = org
        .running
        .state
        .audit
        .snapshot()
        .iter()
        .filter(|r| r.tool.as_deref() == Some("getUserInfo"))
        .map(|r| r.request_id.clone())
        .collect();
    assert_eq!(ids.len(), 2, "{ids:?}");
    assert_eq!(ids[0], "hg-sane-id-1");
    assert!(ids[1].len() <= 64 && !ids[1].starts_with("xxxx"), "{}", &ids[1][..ids[1].len().min(80)]);
}

/// One user opening sessions without end gets a 429 once it holds the most it may, while another
/// user is still served; ending a session makes room again.
#[tokio::test]
async fn sessions_are_capped_per_user() {
    let org = TestOrg::start().await;
    let token = org.token(AGENT);
    let cap = mock_org::mcp::guard::MAX_SESSIONS_PER_USER;
    let mut first = None;
    for _ in 0..cap {
        let mut mcp = Mcp::new(&org, READS, Some(token.clone()));
        assert_eq!(mcp.initialize().await.status, 200);
        first = first.or(mcp.session.clone());
    }
    let mut one_more = Mcp::new(&org, READS, Some(token.clone()));
    let refused = one_more.initialize().await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let message = refused.body["errors"][0]["message"].as_str().unwrap_or_default();
    assert!(message.contains("open sessions per user"), "the gateway's error body: {}", refused.body);
    let mut other = Mcp::new(&org, READS, Some(org.token(CSR)));
    assert_eq!(other.initialize().await.status, 200, "another user is served");
    let ended = org
        .http
        .delete(format!("{}{READS}", org.running.api_url))
        .bearer_auth(&token)
        .header("Mcp-Session-Id", first.unwrap())
        .header("MCP-Protocol-Version", "2025-11-25")
        .send()
        .await
        .unwrap();
    assert!(ended.status().is_success(), "{}", ended.status());
    assert_eq!(Mcp::new(&org, READS, Some(token)).initialize().await.status, 200, "room again after a DELETE");
}

/// Callers opening sessions at the same time cannot get past the cap between them: each holds its
/// place while it is served.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn racing_openings_never_exceed_the_cap() {
    let org = std::sync::Arc::new(TestOrg::start().await);
    let token = org.token(AGENT);
    let cap = mock_org::mcp::guard::MAX_SESSIONS_PER_USER;
    let mut openings = tokio::task::JoinSet::new();
    for _ in 0..cap + 50 {
        let (org, token) = (org.clone(), token.clone());
        openings.spawn(async move { Mcp::new(&org, READS, Some(token)).initialize().await.status });
    }
    let statuses: Vec<u16> = openings.join_all().await;
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), cap);
    assert_eq!(statuses.iter().filter(|s| **s == 429).count(), 50);
}
