//! The mock's authorization server over real HTTP: every refusal path with its exact status and
//! error, each beside the request that succeeds.

mod support;

use base64::Engine;
use reqwest::Method;
use rstest::rstest;
use serde_json::Value;
use sha2::{Digest, Sha256};
use support::*;

const AGENT_APP: &str = "3MVG9mockHeadlessServiceAgentKey0001";
const OTHER_APP: &str = "3MVG9mockReportingDashboardKey0002";
/// The agent app's consumer secret in the org file.
const SECRET: &str = "mock-consumer-secret-7c1d0e2b9a44f8b6";
const R: &str = "https://agent.example.test/oauth/callback";
const VERIFIER: &str = "hg-test-verifier-0123456789-abcdefghijklmnopqrstuvwxyz";

fn challenge(v: &str) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(Sha256::digest(v.as_bytes()))
}

fn password(username: &str) -> &'static str {
    match username {
        AGENT => "mock-agent-Passw0rd!",
        CSR => "mock-csr-Passw0rd!",
        MANAGER => "mock-manager-Passw0rd!",
        FROZEN => "mock-frozen-Passw0rd!",
        ADMIN => "mock-admin-Passw0rd!",
        SALES => "mock-sales-Passw0rd!",
        _ => "mock-noapi-Passw0rd!",
    }
}

fn authorize_params(client: &str, redirect: &str) -> Vec<(String, String)> {
    [
        ("response_type", "code"),
        ("client_id", client),
        ("redirect_uri", redirect),
        ("state", "st-1"),
        ("code_challenge", &challenge(VERIFIER)),
        ("code_challenge_method", "S256"),
    ]
    .iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect()
}

fn with(mut p: Vec<(String, String)>, key: &str, value: Option<&str>) -> Vec<(String, String)> {
    p.retain(|(k, _)| k != key);
    if let Some(v) = value {
        p.push((key.into(), v.into()));
    }
    p
}

struct Answer {
    status: u16,
    location: Option<url::Url>,
    body: String,
}

impl Answer {
    fn param(&self, name: &str) -> Option<String> {
        self.location.as_ref()?.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned())
    }
    fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or(Value::Null)
    }
}

async fn send(org: &TestOrg, method: Method, path: &str, form: Option<&[(String, String)]>) -> Answer {
    let url = format!("{}{path}", org.running.url);
    let mut req = org.http.request(method, url);
    if let Some(f) = form {
        req = req.form(f);
    }
    let resp = req.send().await.unwrap();
    let status = resp.status().as_u16();
    let location = resp.headers().get("location").and_then(|l| url::Url::parse(l.to_str().ok()?).ok());
    Answer { status, location, body: resp.text().await.unwrap() }
}

async fn authorize_get(org: &TestOrg, params: &[(String, String)]) -> Answer {
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", url_encode(v))).collect();
    send(org, Method::GET, &format!("/services/oauth2/authorize?{}", q.join("&")), None).await
}

/// Submits the login form as `username` (the form posts the authorize parameters back).
async fn login(org: &TestOrg, params: &[(String, String)], username: &str, pw: &str) -> Answer {
    let mut form = params.to_vec();
    form.push(("username".into(), username.into()));
    form.push(("password".into(), pw.into()));
    send(org, Method::POST, "/services/oauth2/authorize", Some(&form)).await
}

async fn code_for(org: &TestOrg, username: &str) -> String {
    let a = login(org, &authorize_params(AGENT_APP, R), username, password(username)).await;
    assert_eq!(a.status, 302, "{}", a.body);
    a.param("code").expect("a code")
}

fn form(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

async fn token(org: &TestOrg, items: &[(&str, &str)]) -> Answer {
    send(org, Method::POST, "/services/oauth2/token", Some(&form(items))).await
}

async fn redeem(org: &TestOrg, code: &str) -> Answer {
    token(
        org,
        &[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("client_id", AGENT_APP),
            ("redirect_uri", R),
            ("code_verifier", VERIFIER),
        ],
    )
    .await
}

#[track_caller]
fn assert_oauth_error(a: &Answer, status: u16, error: &str) {
    assert_eq!(a.status, status, "{}", a.body);
    let v = a.json();
    assert_eq!(v["error"], error, "{}", a.body);
    assert!(v.get("access_token").is_none() && v.get("refresh_token").is_none(), "no token: {}", a.body);
}

// ---------------------------------------------------------------- authorize

#[rstest]
#[case::unknown_client(with(authorize_params(AGENT_APP, R), "client_id", Some("nope")), "invalid_client_id")]
#[case::missing_redirect(with(authorize_params(AGENT_APP, R), "redirect_uri", None), "redirect_uri_mismatch")]
#[case::other_redirect(authorize_params(AGENT_APP, "https://evil.test/cb"), "redirect_uri_mismatch")]
#[case::prefix_redirect(
    authorize_params(AGENT_APP, "https://agent.example.test/oauth/callback/x"),
    "redirect_uri_mismatch"
)]
#[case::repeated_param({ let mut p = authorize_params(AGENT_APP, R); p.push(("state".into(), "two".into())); p }, "invalid_request")]
#[tokio::test]
async fn untrusted_requests_get_an_error_page_and_no_redirect(
    #[case] params: Vec<(String, String)>,
    #[case] error: &str,
) {
    let org = TestOrg::start().await;
    let a = authorize_get(&org, &params).await;
    assert_eq!(a.status, 400);
    assert!(a.location.is_none());
    assert!(a.body.contains(&format!("data-error=\"{error}\"")), "{}", a.body);
}

#[rstest]
#[case::implicit(with(authorize_params(AGENT_APP, R), "response_type", Some("token")), "unsupported_response_type")]
#[case::hybrid(with(authorize_params(AGENT_APP, R), "response_type", Some("code token")), "unsupported_response_type")]
#[case::no_response_type(with(authorize_params(AGENT_APP, R), "response_type", None), "unsupported_response_type")]
#[case::no_challenge(
    with(with(authorize_params(AGENT_APP, R), "code_challenge", None), "code_challenge_method", None),
    "invalid_request"
)]
#[case::plain(with(authorize_params(AGENT_APP, R), "code_challenge_method", Some("plain")), "invalid_request")]
#[case::no_method(with(authorize_params(AGENT_APP, R), "code_challenge_method", None), "invalid_request")]
#[case::unknown_method(with(authorize_params(AGENT_APP, R), "code_challenge_method", Some("S512")), "invalid_request")]
#[case::malformed_challenge(with(authorize_params(AGENT_APP, R), "code_challenge", Some("short")), "invalid_request")]
#[case::wider_scope(with(authorize_params(AGENT_APP, R), "scope", Some("mcp_api full")), "invalid_scope")]
#[case::unknown_resource(
    with(authorize_params(AGENT_APP, R), "resource", Some("https://evil.test/")),
    "invalid_target"
)]
#[tokio::test]
async fn bad_requests_with_a_trusted_callback_are_redirected_there_with_the_error(
    #[case] params: Vec<(String, String)>,
    #[case] error: &str,
) {
    let org = TestOrg::start().await;
    let a = authorize_get(&org, &params).await;
    assert_eq!(a.status, 302, "{}", a.body);
    let loc = a.location.as_ref().unwrap();
    assert!(loc.as_str().starts_with(R));
    assert_eq!(a.param("error").as_deref(), Some(error));
    assert_eq!(a.param("iss").as_deref(), Some(org.running.url.as_str()), "RFC 9207 iss");
    assert!(a.param("code").is_none() && !loc.as_str().contains("access_token"));
    if params.iter().any(|(k, _)| k == "state") {
        assert_eq!(a.param("state").as_deref(), Some("st-1"));
    }
}

#[tokio::test]
async fn a_valid_request_shows_the_login_form_and_a_login_yields_a_code() {
    let org = TestOrg::start().await;
    let a = authorize_get(&org, &authorize_params(AGENT_APP, R)).await;
    assert_eq!(a.status, 200);
    assert!(a.body.contains("type=\"password\"") && a.body.contains("name=\"username\""));
    let done = login(&org, &authorize_params(AGENT_APP, R), AGENT, password(AGENT)).await;
    assert_eq!(done.status, 302);
    assert!(done.location.as_ref().unwrap().as_str().starts_with(&format!("{R}?code=")));
    assert_eq!(done.param("state").as_deref(), Some("st-1"));
    assert_eq!(done.param("iss").as_deref(), Some(org.running.url.as_str()));
}

#[rstest]
#[case::wrong_password(AGENT, "wrong-password", "check your username and password")]
#[case::unknown_user("ghost@acme.test", "whatever-123", "check your username and password")]
#[case::frozen_user(FROZEN, password(FROZEN), "frozen or inactive")]
#[tokio::test]
async fn failed_logins_stay_on_the_login_page(#[case] user: &str, #[case] pw: &str, #[case] says: &str) {
    let org = TestOrg::start().await;
    let a = login(&org, &authorize_params(AGENT_APP, R), user, pw).await;
    assert_eq!(a.status, 200);
    assert!(a.location.is_none());
    assert!(a.body.contains(says), "{}", a.body);
    assert!(!a.body.contains(pw) || pw.len() < 6, "the password is never echoed");
}

#[tokio::test]
async fn a_user_not_pre_authorized_gets_no_code() {
    let org = TestOrg::start().await;
    let a = login(&org, &authorize_params(AGENT_APP, R), MANAGER, password(MANAGER)).await;
    assert_eq!(a.status, 302);
    assert_eq!(a.param("error").as_deref(), Some("OAUTH_APP_ACCESS_DENIED"));
    assert!(a.param("code").is_none());
}

#[rstest]
#[case::allow("allow", Some("code"))]
#[case::deny("deny", None)]
#[tokio::test]
async fn self_authorized_apps_ask_for_consent(#[case] decision: &str, #[case] expect_code: Option<&str>) {
    let org = TestOrg::start().await;
    // RFC 8252 loopback: the dashboard app allows any port on its registered loopback callback.
    let cb = "http://127.0.0.1:40001/callback";
    let page = login(&org, &authorize_params(OTHER_APP, cb), MANAGER, password(MANAGER)).await;
    assert_eq!(page.status, 200, "{}", page.body);
    let ticket = page.body.split("name=\"ticket\" value=\"").nth(1).unwrap().split('"').next().unwrap().to_string();
    let a = send(
        &org,
        Method::POST,
        "/services/oauth2/authorize",
        Some(&form(&[("ticket", &ticket), ("decision", decision)])),
    )
    .await;
    assert_eq!(a.status, 302);
    assert!(a.location.as_ref().unwrap().as_str().starts_with(cb));
    assert_eq!(a.param("code").is_some(), expect_code.is_some());
    if expect_code.is_none() {
        assert_eq!(a.param("error").as_deref(), Some("access_denied"));
    }
    // A ticket answers once.
    let again = send(
        &org,
        Method::POST,
        "/services/oauth2/authorize",
        Some(&form(&[("ticket", &ticket), ("decision", "allow")])),
    )
    .await;
    assert_eq!(again.status, 400);
}

// ---------------------------------------------------------------- token endpoint

#[rstest]
#[case::no_grant_type(&[("client_id", AGENT_APP)], 400, "invalid_request")]
#[case::unknown_grant(&[("grant_type", "urn:x:y"), ("client_id", AGENT_APP)], 400, "unsupported_grant_type")]
#[case::password(&[("grant_type", "password"), ("client_id", AGENT_APP), ("client_secret", SECRET), ("username", AGENT), ("password", "mock-agent-Passw0rd!")], 400, "unsupported_grant_type")]
#[case::client_credentials(&[("grant_type", "client_credentials"), ("client_id", AGENT_APP), ("client_secret", SECRET)], 400, "unauthorized_client")]
// The direct flows authenticate the app with its consumer secret before anything else.
#[case::password_without_secret(&[("grant_type", "password"), ("client_id", AGENT_APP), ("username", AGENT), ("password", "mock-agent-Passw0rd!")], 400, "invalid_client")]
#[case::client_credentials_without_secret(&[("grant_type", "client_credentials"), ("client_id", AGENT_APP)], 400, "invalid_client")]
#[case::client_credentials_wrong_secret(&[("grant_type", "client_credentials"), ("client_id", AGENT_APP), ("client_secret", "nope")], 400, "invalid_client")]
// The agent app's web server and refresh flows do not require it (a public PKCE client), but a
// wrong one presented is refused.
#[case::code_wrong_secret(&[("grant_type", "authorization_code"), ("client_id", AGENT_APP), ("client_secret", "nope"), ("code", "x")], 400, "invalid_client")]
#[case::jwt_bearer(&[("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"), ("client_id", AGENT_APP), ("assertion", "x.y.z")], 400, "unsupported_grant_type")]
#[case::device_code(&[("grant_type", "urn:ietf:params:oauth:grant-type:device_code"), ("client_id", AGENT_APP)], 400, "unsupported_grant_type")]
#[case::unknown_client(&[("grant_type", "authorization_code"), ("client_id", "nope"), ("code", "x")], 400, "invalid_client")]
#[case::no_client(&[("grant_type", "authorization_code"), ("code", "x")], 400, "invalid_client_id")]
#[case::unknown_code(&[("grant_type", "authorization_code"), ("client_id", AGENT_APP), ("code", "nope"), ("redirect_uri", R), ("code_verifier", VERIFIER)], 400, "invalid_grant")]
#[case::unknown_refresh(&[("grant_type", "refresh_token"), ("client_id", AGENT_APP), ("refresh_token", "nope")], 400, "invalid_grant")]
#[tokio::test]
async fn token_requests_refused_before_any_code(
    #[case] items: &[(&str, &str)],
    #[case] status: u16,
    #[case] error: &str,
) {
    let org = TestOrg::start().await;
    assert_oauth_error(&token(&org, items).await, status, error);
}

#[tokio::test]
async fn malformed_form_bodies_are_invalid_request() {
    let org = TestOrg::start().await;
    let resp = org
        .http
        .post(format!("{}/services/oauth2/token", org.running.url))
        .header("Content-Type", "application/x-www-form-urlencoded")
        .body("grant_type=%ZZ")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status().as_u16(), 400);
    assert_eq!(resp.json::<Value>().await.unwrap()["error"], "invalid_request");
}

/// A form past the org's size limit gets an OAuth error body (RFC 6749 5.2's shape) with 413, not
/// the framework's plain text; the login form's post gets the error page.
#[rstest]
#[case::token("/services/oauth2/token")]
#[case::revoke("/services/oauth2/revoke")]
#[case::introspect("/services/oauth2/introspect")]
#[tokio::test]
async fn an_oversized_form_is_an_oauth_error(#[case] path: &str) {
    let org = TestOrg::start().await;
    let big = form(&[("grant_type", "authorization_code"), ("code", &"x".repeat(3 << 20))]);
    let a = send(&org, Method::POST, path, Some(&big)).await;
    assert_oauth_error(&a, 413, "invalid_request");
    assert!(a.json()["error_description"].as_str().unwrap().contains("could not be read"), "{}", a.body);
    // Twin: the same endpoint answers a form of normal size in the same shape.
    let small = send(&org, Method::POST, path, Some(&form(&[("token", "x")]))).await;
    assert!(small.json()["error"].is_string() || small.status == 200, "{}", small.body);
}

#[tokio::test]
async fn an_oversized_login_form_gets_the_error_page() {
    let org = TestOrg::start().await;
    let big = form(&[("username", &"x".repeat(3 << 20))]);
    let a = send(&org, Method::POST, "/services/oauth2/authorize", Some(&big)).await;
    assert!(a.location.is_none());
    assert!(a.body.contains("invalid_request") && a.body.contains("could not be read"), "{}", a.status);
}

#[rstest]
#[case::other_client(&[("client_id", OTHER_APP)], "invalid_grant")]
#[case::other_redirect(&[("redirect_uri", "https://evil.test/cb")], "redirect_uri_mismatch")]
#[case::missing_verifier(&[("code_verifier", "")], "invalid_grant")]
#[case::wrong_verifier(&[("code_verifier", "hg-wrong-verifier-0123456789-abcdefghijklmnopqrstuvwxyz")], "invalid_grant")]
#[case::short_verifier(&[("code_verifier", "abc")], "invalid_grant")]
#[tokio::test]
async fn a_code_is_bound_to_client_callback_and_verifier(#[case] change: &[(&str, &str)], #[case] error: &str) {
    let org = TestOrg::start().await;
    let code = code_for(&org, AGENT).await;
    let mut items = vec![
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", AGENT_APP),
        ("redirect_uri", R),
        ("code_verifier", VERIFIER),
    ];
    for (k, v) in change {
        items.retain(|(x, _)| x != k);
        if !v.is_empty() {
            items.push((k, v));
        }
    }
    assert_oauth_error(&token(&org, &items).await, 400, error);
    // The refused attempt did not burn the code: the rightful client still redeems it.
    let ok = redeem(&org, &code).await;
    assert_eq!(ok.status, 200, "{}", ok.body);
}

#[tokio::test]
async fn a_replayed_code_is_refused_and_revokes_what_it_issued() {
    let org = TestOrg::start().await;
    let code = code_for(&org, AGENT).await;
    let first = redeem(&org, &code).await.json();
    let access = first["access_token"].as_str().unwrap().to_string();
    assert_eq!(first["scope"], "mcp_api refresh_token");
    assert_eq!(org.mcp_status(Some(&access)).await, 200);
    assert_oauth_error(&redeem(&org, &code).await, 400, "invalid_grant");
    assert_eq!(org.mcp_status(Some(&access)).await, 401);
    let refresh = first["refresh_token"].as_str().unwrap();
    assert_oauth_error(
        &token(&org, &[("grant_type", "refresh_token"), ("client_id", AGENT_APP), ("refresh_token", refresh)]).await,
        400,
        "invalid_grant",
    );
}

#[tokio::test]
async fn an_expired_code_is_refused() {
    let org = TestOrg::start().await;
    let code = code_for(&org, AGENT).await;
    org.running.state.clock.advance(std::time::Duration::from_secs(15 * 60 + 1));
    let a = redeem(&org, &code).await;
    assert_oauth_error(&a, 400, "invalid_grant");
    assert!(a.json()["error_description"].as_str().unwrap().contains("expired"));
}

#[tokio::test]
async fn concurrent_redemptions_yield_exactly_one_token() {
    let org = std::sync::Arc::new(TestOrg::start().await);
    let code = code_for(&org, AGENT).await;
    let tasks: Vec<_> = (0..10)
        .map(|_| {
            let (org, code) = (org.clone(), code.clone());
            tokio::spawn(async move { redeem(&org, &code).await.status })
        })
        .collect();
    let mut ok = 0;
    for t in tasks {
        if t.await.unwrap() == 200 {
            ok += 1;
        }
    }
    assert_eq!(ok, 1);
}

async fn sign_in(org: &TestOrg, user: &str) -> Value {
    let code = code_for(org, user).await;
    let a = redeem(org, &code).await;
    assert_eq!(a.status, 200, "{}", a.body);
    a.json()
}

async fn refresh(org: &TestOrg, rt: &str, extra: &[(&str, &str)]) -> Answer {
    let mut items = vec![("grant_type", "refresh_token"), ("client_id", AGENT_APP), ("refresh_token", rt)];
    items.extend_from_slice(extra);
    token(org, &items).await
}

#[tokio::test]
async fn refresh_rotates_and_a_replay_kills_the_family() {
    let org = TestOrg::start().await;
    let first = sign_in(&org, AGENT).await;
    let rt1 = first["refresh_token"].as_str().unwrap();
    let second = refresh(&org, rt1, &[]).await.json();
    let rt2 = second["refresh_token"].as_str().unwrap();
    let at2 = second["access_token"].as_str().unwrap();
    assert_ne!(rt1, rt2, "rotated");
    assert_eq!(org.mcp_status(Some(at2)).await, 200);
    assert_oauth_error(&refresh(&org, rt1, &[]).await, 400, "invalid_grant");
    assert_eq!(org.mcp_status(Some(at2)).await, 401, "the family's access tokens died");
    assert_oauth_error(&refresh(&org, rt2, &[]).await, 400, "invalid_grant");
}

#[rstest]
#[case::other_client(&[("client_id", OTHER_APP)], Some("invalid_grant"))]
#[case::wider_scope(&[("scope", "mcp_api full")], Some("invalid_scope"))]
#[case::narrower_scope(&[("scope", "mcp_api")], None)]
#[tokio::test]
async fn refresh_is_bound_to_its_client_and_never_widens(#[case] change: &[(&str, &str)], #[case] error: Option<&str>) {
    let org = TestOrg::start().await;
    let first = sign_in(&org, AGENT).await;
    let rt = first["refresh_token"].as_str().unwrap();
    let mut items = vec![("grant_type", "refresh_token"), ("refresh_token", rt), ("client_id", AGENT_APP)];
    for (k, v) in change {
        items.retain(|(x, _)| x != k);
        items.push((k, v));
    }
    let a = token(&org, &items).await;
    match error {
        Some(e) => assert_oauth_error(&a, 400, e),
        None => {
            assert_eq!(a.status, 200, "{}", a.body);
            assert_eq!(a.json()["scope"], "mcp_api refresh_token");
        }
    }
}

#[tokio::test]
async fn refreshing_for_a_frozen_user_is_refused() {
    let org = TestOrg::start().await;
    let first = sign_in(&org, AGENT).await;
    let login_id = org.running.state.org.user_by_username(AGENT).unwrap().login_id.clone();
    let (s, _) = org
        .send(
            Method::PATCH,
            ADMIN,
            &format!("/sobjects/UserLogin/{login_id}"),
            Some(serde_json::json!({"IsFrozen": true})),
        )
        .await;
    assert_eq!(s, 204);
    assert_oauth_error(&refresh(&org, first["refresh_token"].as_str().unwrap(), &[]).await, 400, "invalid_grant");
}

// ---------------------------------------------------------------- revoke, introspect, userinfo

async fn introspect(org: &TestOrg, client: &str, tok: &str) -> Value {
    send(org, Method::POST, "/services/oauth2/introspect", Some(&form(&[("client_id", client), ("token", tok)])))
        .await
        .json()
}

#[tokio::test]
async fn revoking_an_access_token_kills_it_everywhere_at_once() {
    let org = TestOrg::start().await;
    let t = sign_in(&org, AGENT).await;
    let at = t["access_token"].as_str().unwrap();
    assert_eq!(introspect(&org, AGENT_APP, at).await["active"], true);
    assert_eq!(introspect(&org, OTHER_APP, at).await["active"], false, "another client learns nothing");
    let a = send(&org, Method::POST, "/services/oauth2/revoke", Some(&form(&[("token", at)]))).await;
    assert_eq!(a.status, 200);
    assert_eq!(org.mcp_status(Some(at)).await, 401);
    assert_eq!(introspect(&org, AGENT_APP, at).await, serde_json::json!({"active": false}));
    let ui =
        org.http.get(format!("{}/services/oauth2/userinfo", org.running.url)).bearer_auth(at).send().await.unwrap();
    assert_eq!(ui.status().as_u16(), 403);
    // The refresh token survives an access-token revocation (Salesforce semantics) and still works.
    assert_eq!(refresh(&org, t["refresh_token"].as_str().unwrap(), &[]).await.status, 200);
}

#[tokio::test]
async fn revoking_a_refresh_token_by_get_kills_its_access_tokens() {
    let org = TestOrg::start().await;
    let t = sign_in(&org, AGENT).await;
    let rt = t["refresh_token"].as_str().unwrap();
    let a = send(&org, Method::GET, &format!("/services/oauth2/revoke?token={}", url_encode(rt)), None).await;
    assert_eq!(a.status, 200, "{}", a.body);
    assert_eq!(org.mcp_status(t["access_token"].as_str()).await, 401);
    assert_oauth_error(&refresh(&org, rt, &[]).await, 400, "invalid_grant");
}

#[rstest]
#[case::unknown_token(&[("token", "nope-nope-nope")], "invalid_token")]
#[case::no_token(&[], "invalid_request")]
#[tokio::test]
async fn bad_revocations(#[case] items: &[(&str, &str)], #[case] error: &str) {
    let org = TestOrg::start().await;
    let a = send(&org, Method::POST, "/services/oauth2/revoke", Some(&form(items))).await;
    assert_oauth_error(&a, 400, error);
}

#[tokio::test]
async fn another_client_cannot_revoke_the_token() {
    let org = TestOrg::start().await;
    let t = sign_in(&org, AGENT).await;
    let at = t["access_token"].as_str().unwrap();
    let a =
        send(&org, Method::POST, "/services/oauth2/revoke", Some(&form(&[("token", at), ("client_id", OTHER_APP)])))
            .await;
    assert_oauth_error(&a, 400, "unauthorized_client");
    assert_eq!(org.mcp_status(Some(at)).await, 200);
}

#[tokio::test]
async fn the_kill_switch_revokes_one_users_tokens_for_one_app() {
    let org = TestOrg::start().await;
    let agent = sign_in(&org, AGENT).await;
    let csr = sign_in(&org, CSR).await;
    let agent_id = org.running.state.org.user_by_username(AGENT).unwrap().id.clone();
    let ids = org
        .ids(
            ADMIN,
            &format!("SELECT Id FROM OauthToken WHERE UserId = '{agent_id}' AND AppName = 'Headless_Service_Agent'"),
        )
        .await;
    assert_eq!(ids.len(), 1);
    let (s, b) = org.query(AGENT, "SELECT Id FROM OauthToken").await;
    assert_denied(s, &b, 400, "INVALID_TYPE");
    let (s, _) = org.send(Method::DELETE, ADMIN, &format!("/sobjects/OauthToken/{}", ids[0]), None).await;
    assert_eq!(s, 204);
    assert_eq!(org.mcp_status(agent["access_token"].as_str()).await, 401);
    assert_oauth_error(&refresh(&org, agent["refresh_token"].as_str().unwrap(), &[]).await, 400, "invalid_grant");
    assert_eq!(org.mcp_status(csr["access_token"].as_str()).await, 200, "other users keep working");
}

#[tokio::test]
async fn userinfo_metadata_and_keys() {
    let org = TestOrg::start().await;
    let t = sign_in(&org, AGENT).await;
    let ui: Value = org
        .http
        .get(format!("{}/services/oauth2/userinfo", org.running.url))
        .bearer_auth(t["access_token"].as_str().unwrap())
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(ui["preferred_username"], AGENT);
    let a = send(&org, Method::GET, "/.well-known/oauth-authorization-server", None).await.json();
    let b = send(&org, Method::GET, "/.well-known/openid-configuration", None).await.json();
    assert_eq!(a, b);
    assert_eq!(a["issuer"], org.running.url);
    assert_eq!(a["code_challenge_methods_supported"], serde_json::json!(["S256"]));
    assert_eq!(a["grant_types_supported"], serde_json::json!(["authorization_code", "refresh_token"]));
    assert_eq!(a["response_types_supported"], serde_json::json!(["code"]));
    let keys = send(&org, Method::GET, "/id/keys", None).await.json();
    assert_eq!(keys["keys"][0]["alg"], "EdDSA");
}

#[tokio::test]
async fn oauth_events_are_audited_without_secrets() {
    let org = TestOrg::start().await;
    let _ = login(&org, &authorize_params(AGENT_APP, R), AGENT, "wrong-password-1").await;
    let code = code_for(&org, AGENT).await;
    let t = redeem(&org, &code).await.json();
    let _ = token(
        &org,
        &[
            ("grant_type", "password"),
            ("client_id", AGENT_APP),
            ("username", AGENT),
            ("password", "mock-agent-Passw0rd!"),
        ],
    )
    .await;
    let rt = t["refresh_token"].as_str().unwrap();
    let t2 = refresh(&org, rt, &[]).await.json();
    let _ = send(
        &org,
        Method::POST,
        "/services/oauth2/revoke",
        Some(&form(&[("token", t2["access_token"].as_str().unwrap())])),
    )
    .await;
    let records = org.running.state.audit.snapshot();
    let ops: Vec<(String, &str)> = records
        .iter()
        .filter(|r| r.api_family == mock_org::audit::ApiFamily::OAuth)
        .map(|r| (r.operation.clone().unwrap_or_default(), r.outcome))
        .collect();
    for want in [
        ("login", "denied"),
        ("authorize", "allowed"),
        ("token", "allowed"),
        ("token", "denied"),
        ("refresh", "allowed"),
        ("revoke", "allowed"),
    ] {
        assert!(ops.iter().any(|(o, out)| o == want.0 && *out == want.1), "{want:?} in {ops:?}");
    }
    let all = serde_json::to_string(&records).unwrap();
    for secret in [
        code.as_str(),
        t["access_token"].as_str().unwrap(),
        rt,
        t2["refresh_token"].as_str().unwrap(),
        "mock-agent-Passw0rd!",
        "wrong-password-1",
        VERIFIER,
    ] {
        assert!(!all.contains(secret), "a secret in the audit log");
    }
    let agent_id = org.running.state.org.user_by_username(AGENT).unwrap().id.clone();
    assert!(records.iter().any(|r| r.operation.as_deref() == Some("token")
        && r.user_id.as_deref() == Some(&agent_id)
        && r.token_id.is_some()));
}
