//! Bad input gets a Salesforce-shaped 4xx that says what is wrong: never a panic, a 5xx or a hang.

mod support;

use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

#[rstest]
#[case::misspelled_from("SELECT Name FRM Account", "Column:13")]
#[case::no_fields("SELECT FROM Account", "Column:8")]
#[case::trailing_garbage("SELECT Id FROM Account garbage", "Column:24")]
#[case::unterminated_string("SELECT Id FROM Account WHERE Name = 'x", "unterminated string literal")]
#[case::bad_operator("SELECT Id FROM Account WHERE Name ~ 'x'", "unexpected token: '~'")]
#[case::negative_limit("SELECT Id FROM Account LIMIT -1", "Column:30")]
#[case::with_unknown("SELECT Id FROM Account WITH MAGIC_MODE", "MAGIC_MODE")]
#[case::empty_in("SELECT Id FROM Account WHERE Id IN ()", "Column:")]
#[tokio::test]
async fn malformed_soql(#[case] soql: &str, #[case] says: &str) {
    let org = TestOrg::start().await;
    let (status, body) = org.query(CSR, soql).await;
    assert_denied(status, &body, 400, "MALFORMED_QUERY");
    let msg = body[0]["message"].as_str().unwrap();
    assert!(msg.contains(says), "message names the problem ({says}): {msg}");
    assert!(msg.contains("ERROR at Row:1:Column:"), "Salesforce's position format: {msg}");
}

#[rstest]
#[case::missing_q("/query", 400, "MALFORMED_QUERY")]
#[case::empty_q("/query?q=", 400, "MALFORMED_QUERY")]
#[case::broken_percent_escape("/query?q=SELECT%ZZId", 400, "MALFORMED_QUERY")]
#[case::relationship_path("/query?q=SELECT+Account.Name+FROM+Case", 400, "INVALID_FIELD")]
#[case::unknown_object_read("/sobjects/Nope__c/001000000000001", 404, "NOT_FOUND")]
#[case::unknown_object_describe("/sobjects/Nope__c/describe", 404, "NOT_FOUND")]
#[case::malformed_id("/sobjects/Account/not-an-id", 400, "MALFORMED_ID")]
#[case::undecodable_id("/sobjects/Account/%FF", 404, "NOT_FOUND")]
#[case::undecodable_object("/sobjects/%FF/describe", 404, "NOT_FOUND")]
#[case::bad_checksum("/sobjects/Account/001000000000001XXX", 400, "MALFORMED_ID")]
#[case::id_of_other_object("/sobjects/Account/500000000000001", 404, "NOT_FOUND")]
#[case::unknown_field_in_fields_param("/sobjects/Account/001000000000001?fields=Nope", 400, "INVALID_FIELD")]
#[case::unsupported_new_version("/services/data/v99.0/sobjects", 404, "NOT_FOUND")]
#[case::unsupported_old_version("/services/data/v20.0/sobjects", 404, "NOT_FOUND")]
#[case::not_a_version("/services/data/latest/sobjects", 404, "NOT_FOUND")]
#[case::unknown_resource("/services/data/v66.0/nothing/here", 404, "NOT_FOUND")]
#[case::outside_the_api("/nothing", 404, "NOT_FOUND")]
#[tokio::test]
async fn bad_reads(#[case] path: &str, #[case] status: u16, #[case] code: &str) {
    let org = TestOrg::start().await;
    let (s, body) = org.get(CSR, path).await;
    assert_denied(s, &body, status, code);
}

#[tokio::test]
async fn the_supported_versions_answer() {
    let org = TestOrg::start().await;
    for v in ["v31.0", "v60.0", "v66.0"] {
        let (s, b) = org.get(CSR, &format!("/services/data/{v}/sobjects/Case/{CASE_CSR}")).await;
        assert_eq!(s, 200, "{v}: {b}");
        assert_eq!(b["attributes"]["url"], format!("/services/data/{v}/sobjects/Case/{}", id18(CASE_CSR)));
    }
    let (s, list) = org.call(Method::GET, None, "/services/data", None).await;
    assert_eq!(s, 200);
    let versions: Vec<&str> = list.as_array().unwrap().iter().map(|v| v["version"].as_str().unwrap()).collect();
    assert_eq!((versions.first().copied(), versions.last().copied()), (Some("31.0"), Some("66.0")));
}

async fn raw(org: &TestOrg, method: Method, path: &str, content_type: &str, body: Vec<u8>) -> (u16, Value) {
    let resp = org
        .http
        .request(method, format!("{}{API}{path}", org.running.url))
        .bearer_auth(org.rest_token(CSR))
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = resp.status().as_u16();
    (status, resp.json().await.unwrap_or(Value::Null))
}

#[rstest]
#[case::not_json(b"{Subject: x".to_vec(), 400, "JSON_PARSER_ERROR")]
#[case::empty(b"".to_vec(), 400, "JSON_PARSER_ERROR")]
#[case::array(b"[1,2]".to_vec(), 400, "JSON_PARSER_ERROR")]
#[case::wrong_type(br#"{"Subject": 5}"#.to_vec(), 400, "JSON_PARSER_ERROR")]
#[case::unknown_field(br#"{"Subject": "x", "Nope__c": 1}"#.to_vec(), 400, "INVALID_FIELD")]
#[case::missing_required(br#"{"Status": "New"}"#.to_vec(), 400, "REQUIRED_FIELD_MISSING")]
#[case::bad_reference(br#"{"Subject": "x", "AccountId": "garbage"}"#.to_vec(), 400, "INVALID_CROSS_REFERENCE_KEY")]
#[case::invalid_utf8(vec![b'{', 0xff, 0xfe, b'}'], 400, "JSON_PARSER_ERROR")]
#[case::oversized(format!(r#"{{"Subject": "{}"}}"#, "x".repeat(2 << 20)).into_bytes(), 413, "REQUEST_ENTITY_TOO_LARGE")]
#[tokio::test]
async fn bad_bodies_leave_the_org_unchanged(#[case] body: Vec<u8>, #[case] status: u16, #[case] code: &str) {
    let org = TestOrg::start().await;
    let (_, before) = org.query(ADMIN, "SELECT COUNT() FROM Case").await;
    let (s, b) = raw(&org, Method::POST, "/sobjects/Case", "application/json", body).await;
    assert_denied(s, &b, status, code);
    let (_, after) = org.query(ADMIN, "SELECT COUNT() FROM Case").await;
    assert_eq!(before["totalSize"], after["totalSize"]);
    // Twin: a well-formed body from the same user is accepted.
    let (s, b) =
        raw(&org, Method::POST, "/sobjects/Case", "application/json", br#"{"Subject": "fine"}"#.to_vec()).await;
    assert_eq!(s, 201, "{b}");
}

#[tokio::test]
async fn unsupported_method_is_405_with_an_error_body() {
    let org = TestOrg::start().await;
    let (s, b) = org.send(Method::PUT, CSR, &format!("/sobjects/Case/{CASE_CSR}"), Some(json!({}))).await;
    assert_denied(s, &b, 405, "METHOD_NOT_ALLOWED");
}

#[tokio::test]
async fn required_field_cannot_be_cleared() {
    let org = TestOrg::start().await;
    let (s, b) =
        org.send(Method::PATCH, CSR, &format!("/sobjects/Case/{CASE_CSR}"), Some(json!({"Subject": null}))).await;
    assert_denied(s, &b, 400, "REQUIRED_FIELD_MISSING");
}

/// A client that sends a request's headers slower than the header-read timeout (slowloris) is
/// cut off: the connection does not stay open forever.
#[tokio::test]
async fn a_connection_that_never_finishes_its_headers_is_closed() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let org = TestOrg::start().await;
    let addr = org.running.url.trim_start_matches("http://").to_string();
    let mut sock = tokio::net::TcpStream::connect(&addr).await.unwrap();
    sock.write_all(b"GET /services/data HTTP/1.1\r\nHost: x\r\nX-Slow: ").await.unwrap();
    let mut buf = [0u8; 1024];
    // A bound against a hang, well past the mock's 10 s header-read timeout.
    let read = tokio::time::timeout(mock_org::server::HEADER_READ_TIMEOUT * 3, sock.read(&mut buf)).await;
    let closed = matches!(read, Ok(Ok(_)) | Ok(Err(_)));
    assert!(closed, "the connection is still open");
    // Twin: a request sent whole on a fresh connection is answered.
    let (s, _) = org.call(Method::GET, None, "/services/data", None).await;
    assert_eq!(s, 200);
}
