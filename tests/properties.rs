//! Property tests for every decoder the mock exposes so far: SOQL, query strings, JSON bodies, ids
//! and the org file. No input panics; every rejection is a Salesforce-shaped 4xx. Bounded: a fixed
//! number of cases each, in-process (no sockets), so the run time is predictable in CI.

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
        Arc::new(MockOrg::new(org, "http://127.0.0.1:1".into()))
    })
    .clone()
}

fn runtime() -> &'static tokio::runtime::Runtime {
    static RT: OnceLock<tokio::runtime::Runtime> = OnceLock::new();
    RT.get_or_init(|| tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap())
}

/// Sends one request through the real router; returns the status and the parsed body.
fn send(method: &str, uri: &str, body: Vec<u8>) -> (StatusCode, Value) {
    let state = org();
    let token = state.mint_test_token("csr.broad@acme.test", &["api"]);
    let req = Request::builder()
        .method(method)
        .uri(uri)
        .header("Authorization", format!("Bearer {token}"))
        .header("Content-Type", "application/json")
        .body(Body::from(body))
        .unwrap();
    runtime().block_on(async {
        let resp = mock_org::app(state).oneshot(req).await.unwrap();
        let status = resp.status();
        let bytes = axum::body::to_bytes(resp.into_body(), 1 << 22).await.unwrap();
        (status, if bytes.is_empty() { Value::Null } else { serde_json::from_slice(&bytes).unwrap_or(Value::Null) })
    })
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

    #[test]
    fn ids_round_trip(body in "[A-Za-z0-9]{15}") {
        let long = mock_org::ids::to18(&body).unwrap();
        prop_assert_eq!(&long[..15], body.as_str());
        prop_assert_eq!(mock_org::ids::to18(&long), Some(long.clone()));
        prop_assert_eq!(mock_org::ids::to18(&long.to_lowercase()), Some(long.clone()), "18-character ids are case-insensitive");
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
