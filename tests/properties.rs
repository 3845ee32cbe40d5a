//! Property tests for every decoder the mock exposes: SOQL, query strings, JSON bodies, ids, the
//! org file, OAuth form bodies, authorize parameters, bearer JWTs and MCP JSON-RPC. No input
//! panics; every rejection is a Salesforce- or OAuth-shaped 4xx. Bounded: a fixed number of cases
//! each, in-process (no sockets), so the run time is predictable in CI.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use mock_org::{MockOrg, Org};
use proptest::prelude::*;
use serde_json::Value;
use std::sync::{Arc, OnceLock};
use tower::ServiceExt;

const CASES: u32 = 256;

fn org() -> Arc<MockOrg> {
    static ORG: OnceLock<Arc<MockOrg>> = OnceLock::new();
    ORG.get_or_init(|| {
        // Hundreds of cases as one user: the per-user rate (tested on its own) would answer 429.
        let mut org = Org::default_fixture();
        org.per_user_requests_per_minute = None;
        Arc::new(MockOrg::new(org, "http://127.0.0.1:1".into(), "http://127.0.0.1:2".into()))
    })
    .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap())
}

/// Sends one request through the real router as the broad CSR; returns the status and the parsed body.
fn send(method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let token = org().mint_test_token("csr.broad@acme.test", &["api"]);
    let auth = format!("Bearer {token}");
    let (status, bytes) =
        send_raw(method, uri, &[("Authorization", &auth), ("Content-Type", "application/json")], body);
    (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
}

/// Sends one request with exactly these headers; returns the status and the raw body.
fn send_raw(method: &str, uri: &str, headers: &[(&str, &str)], body: Vec<u8>) -> (StatusCode, Vec<u8>) {
    let mut req = Request::builder().method(method).uri(uri);
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    let req = req.body(Body::from(body)).unwrap();
    runtime().block_on(async {
        // The hosted MCP servers answer on the API host, everything else on the instance.
        let app = match uri.starts_with("/platform/mcp/") {
            true => mock_org::api_app(org()),
            false => mock_org::app(org()),
        };
        let resp = app.oneshot(req).await.unwrap();
        let status = resp.status();
        (status, axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap().to_vec())
    })
}

/// An OAuth rejection: 4xx with a non-empty `error`, never 5xx.
fn assert_oauth_shaped(status: StatusCode, body: &[u8]) {
    assert!(!status.is_server_error(), "5xx: {status} {}", String::from_utf8_lossy(body));
    if status.is_client_error() {
        let v: Value = serde_json::from_slice(body).unwrap_or(Value::Null);
        assert!(v["error"].as_str().is_some_and(|e| !e.is_empty()), "4xx without an OAuth error: {status} {v}");
    }
}

/// Form bodies built from the token endpoint's own vocabulary, in any order and mix.
fn form_soup() -> impl Strategy<Value = Vec<u8>> {
    let key = prop_oneof![
        Just("grant_type"),
        Just("code"),
        Just("client_id"),
        Just("redirect_uri"),
        Just("code_verifier"),
        Just("refresh_token"),
        Just("username"),
        Just("password"),
        Just("scope"),
        Just("assertion"),
        Just("%ZZ"),
        Just(""),
    ];
    let value = prop_oneof![
        Just("authorization_code".to_string()),
        Just("refresh_token".to_string()),
        Just("password".to_string()),
        Just("client_credentials".to_string()),
        Just("3MVG9mockHeadlessServiceAgentKey0001".to_string()),
        "[A-Za-z0-9%+=&._~-]{0,40}",
    ];
    prop::collection::vec((key, value), 0..8)
        .prop_map(|pairs| pairs.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("&").into_bytes())
}

/// One real token of the agent's, whose parts the soup recombines: with `api` beside `mcp_api`,
/// so both REST and MCP would take it, and a 401 from either is the forgery's, not the scope's.
fn genuine_token() -> String {
    static TOKEN: OnceLock<String> = OnceLock::new();
    TOKEN.get_or_init(|| org().mint_test_token("agent.service@acme.test", &["mcp_api", "api"])).clone()
}

/// Tokens that look like JWTs: three base64url-ish parts, or known-good parts recombined.
fn jwt_soup() -> impl Strategy<Value = String> {
    let parts: Vec<String> = genuine_token().split('.').map(str::to_string).collect();
    let part = prop_oneof![
        Just(parts[0].clone()),
        Just(parts[1].clone()),
        Just(parts[2].clone()),
        "[A-Za-z0-9_-]{0,60}",
        Just("eyJhbGciOiJub25lIn0".to_string()),
        Just(String::new()),
    ];
    prop::collection::vec(part, 1..5).prop_map(|p| p.join("."))
}

/// A rejection is 4xx with Salesforce's error array, never 5xx.
fn assert_sf_shaped(status: StatusCode, body: &Value) {
    assert!(!status.is_server_error(), "5xx: {status} {body}");
    if status.is_client_error() {
        let code = body[0]["errorCode"].as_str();
        assert!(code.is_some_and(|c| !c.is_empty()), "4xx without an errorCode: {status} {body}");
    }
}

fn soql_soup() -> impl Strategy<Value = String> {
    let word = prop_oneof![
        Just("SELECT"),
        Just("FROM"),
        Just("WHERE"),
        Just("AND"),
        Just("OR"),
        Just("NOT"),
        Just("IN"),
        Just("LIKE"),
        Just("ORDER"),
        Just("BY"),
        Just("LIMIT"),
        Just("OFFSET"),
        Just("WITH"),
        Just("USER_MODE"),
        Just("COUNT()"),
        Just("Id"),
        Just("Name"),
        Just("Account"),
        Just("Case"),
        Just("Subject"),
        Just("BillingStreet"),
        Just("("),
        Just(")"),
        Just(","),
        Just("="),
        Just("!="),
        Just("<"),
        Just(">="),
        Just("'x'"),
        Just("'%a_'"),
        Just("5"),
        Just("-1"),
        Just("null"),
        Just("true"),
        Just("'"),
        Just("\\"),
        Just("DESC"),
        Just("NULLS"),
        Just("LAST"),
    ];
    prop::collection::vec(word, 0..24).prop_map(|w| w.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: CASES, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn soql_parser_never_panics_on_any_text(q in any::<String>()) {
        let _ = mock_org::soql::parse(&q);
    }

    #[test]
    fn soql_parser_errors_point_inside_the_query(q in soql_soup()) {
        if let Err(e) = mock_org::soql::parse(&q) {
            prop_assert!(e.column >= 1 && e.column <= q.chars().count() + 1, "column {} for {q:?}", e.column);
        }
    }

    #[test]
    fn query_endpoint_answers_any_soql_with_200_or_a_4xx(q in soql_soup()) {
        let uri = format!("/services/data/v66.0/query?q={}", mock_org::form::encode(&q));
        let (status, body) = send("GET", &uri, Vec::new());
        prop_assert!(status == StatusCode::OK || status == StatusCode::BAD_REQUEST, "{status} for {q:?}: {body}");
        assert_sf_shaped(status, &body);
    }

    #[test]
    fn raw_query_strings_never_crash(raw in "[A-Za-z0-9%&=+._~'()*,-]{0,80}") {
        let (status, body) = send("GET", &format!("/services/data/v66.0/query?{raw}"), Vec::new());
        assert_sf_shaped(status, &body);
    }

    #[test]
    fn any_json_body_to_create_is_201_or_a_4xx(body in arb_json()) {
        let (status, resp) = send("POST", "/services/data/v66.0/sobjects/Case", serde_json::to_vec(&body).unwrap());
        prop_assert!(status == StatusCode::CREATED || status.is_client_error(), "{status}: {resp}");
        assert_sf_shaped(status, &resp);
    }

    #[test]
    fn any_bytes_to_update_are_a_4xx(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        let (status, resp) = send("PATCH", "/services/data/v66.0/sobjects/Case/500000000000001", bytes);
        assert_sf_shaped(status, &resp);
    }

    #[test]
    fn any_path_segment_is_answered_cleanly(object in "[A-Za-z_]{0,12}", id in "[A-Za-z0-9]{0,20}") {
        let (status, resp) = send("GET", &format!("/services/data/v66.0/sobjects/{object}/{id}"), Vec::new());
        assert_sf_shaped(status, &resp);
    }

    /// Any bytes, percent-encoded into a path segment (invalid UTF-8 included), get Salesforce's
    /// error shape, never the framework's plain text.
    #[test]
    fn any_encoded_bytes_in_a_path_segment_are_answered_cleanly(bytes in prop::collection::vec(any::<u8>(), 1..12), at_id in any::<bool>()) {
        let seg: String = bytes.iter().map(|b| format!("%{b:02X}")).collect();
        let path = match at_id {
            true => format!("/services/data/v66.0/sobjects/Account/{seg}"),
            false => format!("/services/data/v66.0/sobjects/{seg}/describe"),
        };
        let (status, resp) = send("GET", &path, Vec::new());
        assert_sf_shaped(status, &resp);
    }

    /// A target's page, whatever characters it holds (multi-byte ones around the tags included),
    /// is read without a panic: every cut the form reader makes is at a character boundary.
    #[test]
    fn any_page_is_read_for_forms_without_a_panic(a in any::<String>(), b in any::<String>(), c in any::<String>()) {
        let page = format!("{a}<FORM action=\"{b}\"><input type=hidden name=csrf value={c}><button>{a}é</button></form>{b}");
        let _ = steps::html_form::forms(&page);
    }

    #[test]
    fn ids_round_trip(body in "[A-Za-z0-9]{15}") {
        let long = mock_org::ids::to18(&body).unwrap();
        prop_assert_eq!(&long[..15], body.as_str());
        prop_assert_eq!(mock_org::ids::to18(&long), Some(long.clone()));
        prop_assert_eq!(mock_org::ids::to18(&long.to_lowercase()), Some(long.clone()), "18-character ids are case-insensitive");
    }

    #[test]
    fn any_form_body_to_the_token_endpoint_is_an_oauth_answer(body in form_soup()) {
        let (status, resp) = send_raw("POST", "/services/oauth2/token", &[("Content-Type", "application/x-www-form-urlencoded")], body);
        assert_oauth_shaped(status, &resp);
        prop_assert!(status != StatusCode::OK || serde_json::from_slice::<Value>(&resp).is_ok());
    }

    #[test]
    fn any_bytes_to_token_revoke_and_introspect_are_answered_cleanly(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
        for uri in ["/services/oauth2/token", "/services/oauth2/revoke", "/services/oauth2/introspect"] {
            let (status, resp) = send_raw("POST", uri, &[("Content-Type", "application/x-www-form-urlencoded")], bytes.clone());
            prop_assert!(!status.is_server_error(), "{uri}: {status} {}", String::from_utf8_lossy(&resp));
        }
    }

    #[test]
    fn any_authorize_query_is_a_page_or_a_redirect(raw in "[A-Za-z0-9%&=+._~:/-]{0,120}") {
        let (status, _) = send_raw("GET", &format!("/services/oauth2/authorize?{raw}"), &[], Vec::new());
        prop_assert!(status.is_success() || status.is_redirection() || status.is_client_error(), "{status} for {raw:?}");
    }

    #[test]
    fn any_bearer_is_401_on_rest_and_mcp_unless_genuine(token in jwt_soup()) {
        let auth = format!("Bearer {token}");
        let (rest, _) = send_raw("GET", "/services/data/v66.0/sobjects/Case/500000000000001", &[("Authorization", &auth)], Vec::new());
        let (mcp, _) = send_raw(
            "POST",
            "/platform/mcp/v1/platform/sobject-reads",
            &[("Authorization", &auth), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
            br#"{"jsonrpc":"2.0","id":1,"method":"tools/list","params":{}}"#.to_vec(),
        );
        let genuine = token == genuine_token();
        for (surface, status) in [("REST", rest), ("MCP", mcp)] {
            prop_assert!(!status.is_server_error(), "{surface}: {status}");
            if !genuine {
                prop_assert_eq!(status, StatusCode::UNAUTHORIZED, "{} accepted a forged token", surface);
            }
        }
    }

    #[test]
    fn any_json_rpc_to_an_mcp_server_is_answered_without_a_5xx(body in prop_oneof![
        arb_json().prop_map(|v| serde_json::to_vec(&v).unwrap()),
        prop::collection::vec(any::<u8>(), 0..200),
        ("[a-z/]{0,20}", arb_json()).prop_map(|(m, p)| serde_json::to_vec(&serde_json::json!({"jsonrpc": "2.0", "id": 1, "method": m, "params": p})).unwrap()),
    ]) {
        let token = org().mint_test_token("agent.service@acme.test", &["mcp_api"]);
        let auth = format!("Bearer {token}");
        let (status, resp) = send_raw(
            "POST",
            "/platform/mcp/v1/platform/sobject-reads",
            &[("Authorization", &auth), ("Content-Type", "application/json"), ("Accept", "application/json, text/event-stream")],
            body,
        );
        prop_assert!(!status.is_server_error(), "{status} {}", String::from_utf8_lossy(&resp));
    }

    #[test]
    fn org_file_with_a_line_removed_or_garbled_never_panics(line in 0usize..600, garble in any::<bool>()) {
        let text = include_str!("../mock-org/orgs/default.toml");
        let mut lines: Vec<&str> = text.lines().collect();
        let i = line % lines.len();
        if garble { lines[i] = "= ]["; } else { lines.remove(i); }
        if let Err(e) = Org::parse("mutated.toml", &lines.join("\n")) {
            let msg = e.to_string();
            prop_assert!(msg.starts_with("mutated.toml: "), "{msg}");
            prop_assert!(!e.key.is_empty() && !e.problem.is_empty());
        }
    }
}

fn arb_json() -> impl Strategy<Value = Value> {
    let field = prop_oneof![
        Just("Subject"),
        Just("Status"),
        Just("AccountId"),
        Just("CaseNumber"),
        Just("InternalNotes__c"),
        Just("Nope"),
        Just("attributes"),
        Just("OwnerId"),
        Just("Id"),
    ];
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::Bool),
        any::<i32>().prop_map(Value::from),
        "[ -~]{0,20}".prop_map(Value::String),
        Just(Value::String("001000000000001".into())),
    ];
    let object = prop::collection::vec((field, leaf.clone()), 0..5)
        .prop_map(|kv| Value::Object(kv.into_iter().map(|(k, v)| (k.to_string(), v)).collect()));
    prop_oneof![4 => object, 1 => leaf, 1 => prop::collection::vec(any::<i8>(), 0..3).prop_map(|v| serde_json::json!(v))]
}
