//! The pipeline's first stages (token, scope, API Enabled), the admin operations a real org offers
//! (freeze, deactivate, read the audit log), and the audit log itself.

mod support;

use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

fn case_path() -> String {
    format!("/sobjects/Case/{CASE_CSR}")
}

#[derive(Debug, Clone, Copy)]
enum BadToken {
    Missing,
    Garbage,
    BasicScheme,
    EmptyBearer,
    ForeignSignature,
    NoRestScope,
    McpOnly,
    Expired,
}

#[rstest]
#[case::missing(BadToken::Missing)]
#[case::garbage(BadToken::Garbage)]
#[case::basic_scheme(BadToken::BasicScheme)]
#[case::empty_bearer(BadToken::EmptyBearer)]
#[case::foreign_signature(BadToken::ForeignSignature)]
#[case::no_rest_scope(BadToken::NoRestScope)]
#[case::the_agents_mcp_token(BadToken::McpOnly)]
#[case::expired(BadToken::Expired)]
#[tokio::test]
async fn bad_tokens_get_invalid_session_id(#[case] bad: BadToken) {
    let org = TestOrg::start().await;
    let url = format!("{}{API}{}", org.running.url, case_path());
    let req = org.http.get(&url);
    let req = match bad {
        BadToken::Missing => req,
        BadToken::Garbage => req.bearer_auth("not-a-token"),
        BadToken::BasicScheme => req.basic_auth("agent.service@acme.test", Some("mock-agent-Passw0rd!")),
        BadToken::EmptyBearer => req.header("Authorization", "Bearer "),
        BadToken::ForeignSignature => {
            let other = TestOrg::start().await;
            req.bearer_auth(other.rest_token(AGENT))
        }
        BadToken::NoRestScope => req.bearer_auth(org.running.state.mint_test_token(AGENT, &["refresh_token"])),
        // The agent's own token: `mcp_api` reaches the MCP servers, not REST (the platform's rule).
        BadToken::McpOnly => req.bearer_auth(org.token(AGENT)),
        BadToken::Expired => {
            let t = org.rest_token(AGENT);
            org.running.state.clock.advance(std::time::Duration::from_secs(61 * 60));
            req.bearer_auth(t)
        }
    };
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let body: Value = resp.json().await.unwrap();
    assert_denied(status, &body, 401, "INVALID_SESSION_ID");
    // Twin: a live token of the agent's, minted now, reads the same record.
    let (s, b) = org.get(AGENT, &case_path()).await;
    assert_eq!(s, 200, "{b}");
}

#[rstest]
#[case::agent_freeze(AGENT, "UserLogin", json!({"IsFrozen": true}))]
#[case::agent_deactivate(AGENT, "User", json!({"IsActive": false}))]
#[case::csr_freeze(CSR, "UserLogin", json!({"IsFrozen": true}))]
#[tokio::test]
async fn freezing_or_deactivating_kills_tokens_on_the_next_call(
    #[case] who: &str,
    #[case] object: &str,
    #[case] change: Value,
) {
    let org = TestOrg::start().await;
    let token = org.rest_token(who);
    let (s, _) = org.call(Method::GET, Some(&token), &case_path(), None).await;
    assert_eq!(s, 200, "the token works before");
    let user = org.running.state.org.user_by_username(who).unwrap().clone();
    let id = if object == "UserLogin" { user.login_id } else { user.id };
    let (s, b) = org.send(Method::PATCH, ADMIN, &format!("/sobjects/{object}/{id}"), Some(change)).await;
    assert_eq!(s, 204, "{b}");
    let (s, b) = org.call(Method::GET, Some(&token), &case_path(), None).await;
    assert_denied(s, &b, 401, "INVALID_SESSION_ID");
    // A token minted afterwards is refused too: the user cannot act at all.
    let (s, b) = org.get(who, &case_path()).await;
    assert_denied(s, &b, 401, "INVALID_SESSION_ID");
    // Others are unaffected.
    assert_eq!(org.get(MANAGER, &case_path()).await.0, 200);
}

#[rstest]
#[case::csr_cannot_freeze(CSR, "UserLogin", json!({"IsFrozen": true}), 404, "NOT_FOUND")]
#[case::csr_cannot_deactivate(CSR, "User", json!({"IsActive": false}), 400, "INSUFFICIENT_ACCESS_OR_READONLY")]
#[case::agent_cannot_deactivate(AGENT, "User", json!({"IsActive": false}), 400, "INSUFFICIENT_ACCESS_OR_READONLY")]
#[tokio::test]
async fn only_admins_freeze_or_deactivate(
    #[case] who: &str,
    #[case] object: &str,
    #[case] change: Value,
    #[case] status: u16,
    #[case] code: &str,
) {
    let org = TestOrg::start().await;
    let target = org.running.state.org.user_by_username(MANAGER).unwrap().clone();
    let id = if object == "UserLogin" { target.login_id } else { target.id };
    let (s, b) = org.send(Method::PATCH, who, &format!("/sobjects/{object}/{id}"), Some(change)).await;
    assert_denied(s, &b, status, code);
    assert_eq!(org.get(MANAGER, &case_path()).await.0, 200, "the manager still works");
}

#[tokio::test]
async fn admin_unfreezes_and_the_user_can_work_again() {
    let org = TestOrg::start().await;
    let frozen = org.running.state.org.user_by_username(FROZEN).unwrap().clone();
    assert_eq!(org.get(FROZEN, &case_path()).await.0, 401);
    let (s, b) = org
        .send(
            Method::PATCH,
            ADMIN,
            &format!("/sobjects/UserLogin/{}", frozen.login_id),
            Some(json!({"IsFrozen": false})),
        )
        .await;
    assert_eq!(s, 204, "{b}");
    assert_eq!(org.get(FROZEN, &case_path()).await.0, 200);
}

/// Finds audit records by the request id the test sent.
async fn audit_rows(org: &TestOrg, request_id: &str) -> Vec<Value> {
    let soql = format!(
        "SELECT RequestIdentifier, UserId, Username, ConnectedAppName, ClientId, TokenId, ApiFamily, Resource, HttpMethod, StatusCode, QueriedEntities, Operation, Records, Outcome, DenialCode, ExecutionMode, EventDate FROM ApiEvent WHERE RequestIdentifier = '{request_id}'"
    );
    let (s, b) = org.query(ADMIN, &soql).await;
    assert_eq!(s, 200, "{b}");
    b["records"].as_array().unwrap().clone()
}

async fn tagged(org: &TestOrg, token: &str, request_id: &str, method: Method, path: &str, body: Option<Value>) -> u16 {
    let mut req = org
        .http
        .request(method, format!("{}{API}{path}", org.running.url))
        .bearer_auth(token)
        .header("X-Request-Id", request_id);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let resp = req.send().await.unwrap();
    assert_eq!(resp.headers()["x-request-id"], request_id, "the request id is echoed");
    resp.status().as_u16()
}

#[tokio::test]
async fn every_call_is_audited_allowed_and_denied_without_secrets() {
    let org = TestOrg::start().await;
    let token = org.rest_token(AGENT);
    let claims_jti = {
        let parts: Vec<&str> = token.split('.').collect();
        use base64::Engine;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(parts[1]).unwrap();
        serde_json::from_slice::<Value>(&payload).unwrap()["jti"].as_str().unwrap().to_string()
    };
    let allowed = tagged(&org, &token, "t-allowed", Method::GET, &case_path(), None).await;
    let denied = tagged(&org, &token, "t-denied", Method::PATCH, &case_path(), Some(json!({"Status": "Closed"}))).await;
    let unauth = tagged(&org, "bogus", "t-unauth", Method::GET, &case_path(), None).await;
    assert_eq!((allowed, denied, unauth), (200, 400, 401));

    let agent = org.running.state.org.user_by_username(AGENT).unwrap().clone();
    let rows = audit_rows(&org, "t-allowed").await;
    assert_eq!(rows.len(), 1, "exactly one record: {rows:?}");
    let r = &rows[0];
    assert_eq!(r["UserId"], agent.id);
    assert_eq!(r["Username"], AGENT);
    assert_eq!(r["ConnectedAppName"], "Headless_Service_Agent");
    assert_eq!(r["ClientId"], "3MVG9mockHeadlessServiceAgentKey0001");
    assert_eq!(r["TokenId"], claims_jti);
    assert_eq!(r["ApiFamily"], "REST");
    assert_eq!(r["HttpMethod"], "GET");
    assert_eq!(r["StatusCode"], 200);
    assert_eq!(r["QueriedEntities"], "Case");
    assert_eq!(r["Operation"], "read");
    assert_eq!(r["Records"], id18(CASE_CSR));
    assert_eq!(r["Outcome"], "allowed");
    assert_eq!(r["DenialCode"], Value::Null);
    assert_eq!(r["ExecutionMode"], "user");
    assert!(r["EventDate"].as_str().unwrap().ends_with("+0000"));

    let rows = audit_rows(&org, "t-denied").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["Outcome"], "denied");
    assert_eq!(rows[0]["DenialCode"], "INSUFFICIENT_ACCESS_OR_READONLY");
    assert_eq!(rows[0]["Operation"], "update");
    assert_eq!(rows[0]["Username"], AGENT);

    let rows = audit_rows(&org, "t-unauth").await;
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0]["DenialCode"], "INVALID_SESSION_ID");
    assert_eq!(rows[0]["UserId"], Value::Null, "nobody is attributed an unauthenticated call");

    let everything = serde_json::to_string(&org.running.state.audit.snapshot()).unwrap();
    assert!(!everything.contains(&token), "no token value in the audit log");
    assert!(!everything.contains("bogus"), "not even a rejected one");
    assert!(everything.contains(&claims_jti), "twin: the token id is there");
}

#[tokio::test]
async fn concurrent_calls_lose_no_audit_record() {
    let org = std::sync::Arc::new(TestOrg::start().await);
    let before = org.running.state.audit.len();
    let token = org.rest_token(AGENT);
    const N: usize = 200;
    let mut tasks = Vec::new();
    for i in 0..N {
        let org = org.clone();
        let token = token.clone();
        tasks.push(tokio::spawn(async move {
            let path = if i % 2 == 0 { case_path() } else { format!("/sobjects/Opportunity/{OPPORTUNITY}") };
            org.call(Method::GET, Some(&token), &path, None).await.0
        }));
    }
    let mut statuses = Vec::new();
    for t in tasks {
        statuses.push(t.await.unwrap());
    }
    assert_eq!(statuses.iter().filter(|s| **s == 200).count(), N / 2);
    assert_eq!(statuses.iter().filter(|s| **s == 404).count(), N / 2);
    assert_eq!(org.running.state.audit.len() - before, N);
    let ids: std::collections::BTreeSet<String> =
        org.running.state.audit.snapshot().iter().map(|r| r.id.clone()).collect();
    assert_eq!(ids.len(), org.running.state.audit.len(), "audit ids are unique");
}

/// The Connect API's OAuth usage resources: the admin revokes one user's tokens for the app (the
/// user's other sessions and other users live on), or the app's for everyone; anyone else is
/// refused; an unknown app or user is not found.
#[tokio::test]
async fn the_connect_api_revokes_an_apps_tokens_per_user_and_per_app() {
    let org = TestOrg::start().await;
    let app = mock_org::connect::app_id(0);
    let (agent, csr) = (org.rest_token(AGENT), org.rest_token(CSR));
    let agent_id = org.running.state.org.user_by_username(AGENT).unwrap().id.clone();
    let (s, b) = org.send(Method::DELETE, CSR, &format!("/apps/oauth/usage/{app}/{agent_id}/tokens"), None).await;
    assert_denied(s, &b, 403, "INSUFFICIENT_ACCESS");
    let (s, b) =
        org.send(Method::DELETE, ADMIN, &format!("/apps/oauth/usage/0xI000000000099/{agent_id}/tokens"), None).await;
    assert_denied(s, &b, 404, "NOT_FOUND");
    let (s, b) =
        org.send(Method::DELETE, ADMIN, &format!("/apps/oauth/usage/{app}/005000000000999/tokens"), None).await;
    assert_denied(s, &b, 404, "NOT_FOUND");
    let (s, _) = org.send(Method::DELETE, ADMIN, &format!("/apps/oauth/usage/{app}/{agent_id}/tokens"), None).await;
    assert_eq!(s, 204);
    let (s, b) = org.call(Method::GET, Some(&agent), &case_path(), None).await;
    assert_denied(s, &b, 401, "INVALID_SESSION_ID");
    assert_eq!(org.call(Method::GET, Some(&csr), &case_path(), None).await.0, 200, "another user lives on");
    let (s, _) = org.send(Method::DELETE, ADMIN, &format!("/apps/oauth/usage/{app}/tokens"), None).await;
    assert_eq!(s, 204);
    let (s, b) = org.call(Method::GET, Some(&csr), &case_path(), None).await;
    assert_denied(s, &b, 401, "INVALID_SESSION_ID");
    let (s, b) = org.get(ADMIN, "/apps/oauth/usage").await;
    assert_eq!((s, b["apps"][0]["id"].as_str()), (200, Some(app.as_str())), "{b}");
}

/// Event Monitoring's log files: the admin (View Event Log Files) lists the ApiTotalUsage files
/// and reads each one's CSV, whose rows name the user, the app and the status of every API call,
/// and the org's own request id rather than the client's; a user without the permission sees no
/// file and gets the platform's 404 for a file's content.
#[tokio::test]
async fn event_log_files_serve_api_total_usage_as_csv_to_those_who_may_read_them() {
    let org = TestOrg::start().await;
    let (status, _) = org.get(AGENT, &format!("/sobjects/Case/{CASE_CSR}")).await;
    assert_eq!(status, 200);
    let files =
        org.ids(ADMIN, "SELECT Id, Interval, LogDate FROM EventLogFile WHERE EventType = 'ApiTotalUsage'").await;
    assert_eq!(files.len(), 2, "an hourly and a daily file: {files:?}");
    let url = format!("{}{API}/sobjects/EventLogFile/{}/LogFile", org.running.url, files[0]);
    let resp = org.http.get(&url).bearer_auth(org.rest_token(ADMIN)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 200, "{url}");
    assert_eq!(resp.headers()["content-type"], "text/csv");
    let csv = resp.text().await.unwrap();
    assert!(csv.starts_with("\"EVENT_TYPE\",\"TIMESTAMP\""), "{csv}");
    let agent_id =
        org.ids(ADMIN, &format!("SELECT Id FROM User WHERE Username = '{AGENT}'")).await[0][..15].to_string();
    let row = csv.lines().find(|l| l.contains(&format!("/sobjects/Case/{CASE_CSR}"))).expect("the agent's read");
    assert!(row.contains(&format!("\"{agent_id}\"")) && row.contains("\"GET\"") && row.contains("\"200\""), "{row}");
    assert!(!csv.contains(&org.rest_token(AGENT)), "no token in the log");
    // Twin: the agent may not read event log files.
    let (status, body) = org.query(AGENT, "SELECT Id FROM EventLogFile").await;
    assert_denied(status, &body, 400, "INVALID_TYPE");
    let resp = org.http.get(&url).bearer_auth(org.rest_token(AGENT)).send().await.unwrap();
    assert_eq!(resp.status().as_u16(), 404);
}
