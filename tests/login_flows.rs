//! The generic login driver against an authorization server shaped like oidc-provider's: the
//! authorize request starts an interaction kept in a cookie, the login form posts `login` and
//! `password`, and the consent form's only button is a nameless "Continue". Without the cookie
//! every interaction page answers 400, so the test fails unless the driver carries it.

use std::sync::{Arc, Mutex};
use steps::evidence::Secrets;
use steps::probe::{Limits, Probe};
use steps::target::{Flavor, McpEra, Persona, Target};
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const COOKIE: &str = "_interaction=itx-cookie-0123456789";
const CALLBACK: &str = "https://agent.example.test/oauth/callback";

/// The interaction server: remembers the authorize request's state, checks the cookie.
#[derive(Clone, Default)]
struct Interaction {
    state: Arc<Mutex<String>>,
}

impl Respond for Interaction {
    fn respond(&self, req: &Request) -> ResponseTemplate {
        let has_cookie = req.headers.get("cookie").and_then(|v| v.to_str().ok()).is_some_and(|c| c.contains(COOKIE));
        match (req.method.as_str(), req.url.path()) {
            ("GET", "/auth") => {
                let state = req.url.query_pairs().find(|(k, _)| k == "state").map(|(_, v)| v.into_owned());
                *self.state.lock().unwrap() = state.unwrap_or_default();
                ResponseTemplate::new(303)
                    .insert_header("location", "/interaction/abc")
                    .insert_header("set-cookie", format!("{COOKIE}; path=/interaction/abc; httponly"))
            }
            (_, _) if !has_cookie => ResponseTemplate::new(400).set_body_string("interaction session not found"),
            ("GET", "/interaction/abc") => ResponseTemplate::new(200).set_body_raw(
                r#"<form autocomplete="off" action="/interaction/abc/login" method="post">
                     <input required type="text" name="login" placeholder="Enter any login" autofocus="on">
                     <input required type="password" name="password" placeholder="and password">
                     <button type="submit" class="login login-submit">Sign-in</button></form>"#,
                "text/html",
            ),
            ("POST", "/interaction/abc/login") => {
                let body = String::from_utf8_lossy(&req.body).into_owned();
                if !body.contains("login=agent%40example.test") || !body.contains("password=") {
                    return ResponseTemplate::new(400).set_body_string(format!("bad login form: {body}"));
                }
                ResponseTemplate::new(303).insert_header("location", "/interaction/abc/consent")
            }
            ("GET", "/interaction/abc/consent") => ResponseTemplate::new(200).set_body_raw(
                r#"<form autocomplete="off" action="/interaction/abc/confirm" method="post">
                     <input type="hidden" name="prompt" value="consent"/>
                     <button autofocus type="submit" class="login login-submit">Continue</button></form>
                   <a href="/interaction/abc/abort">[ Cancel ]</a>"#,
                "text/html",
            ),
            ("POST", "/interaction/abc/confirm") => ResponseTemplate::new(303).insert_header(
                "location",
                format!("{CALLBACK}?code=code-0123456789&state={}&iss=x", self.state.lock().unwrap()),
            ),
            _ => ResponseTemplate::new(404),
        }
    }
}

fn target(base: &str) -> Target {
    let personas = [(
        "agent".to_string(),
        Persona {
            username: "agent@example.test".into(),
            password: "any-password-123".into(),
            refresh: None,
            security_token: None,
        },
    )]
    .into_iter()
    .collect();
    Target {
        name: "oidc-like".into(),
        instance_url: base.into(),
        issuer: base.into(),
        authorize_url: format!("{base}/auth"),
        token_url: format!("{base}/token"),
        revoke_url: String::new(),
        introspect_url: String::new(),
        metadata_url: String::new(),
        flavor: Flavor::OAuth21,
        api_version: "v66.0".into(),
        client_id: "hg-agent".into(),
        app_name: String::new(),
        app_usage_id: None,
        agent_permission_set: None,
        redirect_uri: CALLBACK.into(),
        agent_callbacks: vec![CALLBACK.into()],
        app_metadata: None,
        app_ip_policy: "Enforce".into(),
        other_client_id: None,
        client_secret: None,
        other_client_secret: None,
        probe_app: None,
        token_audience: steps::target::TokenAudience::PerServer,
        max_access_token_minutes: 60,
        code_lifetime: None,
        revocation_windows_ms: Default::default(),
        per_user_requests_per_minute: None,
        clock: None,
        org_now: None,
        event_log_delay_ms: None,
        scopes: vec!["mcp_api".into()],
        resources: Vec::new(),
        personas,
        unavailable: Default::default(),
        roles: Default::default(),
        identity_tool: None,
        mcp_tools: Default::default(),
        hidden_fields: Vec::new(),
        mcp_servers: Default::default(),
        other_mcp_servers: Default::default(),
        primary_mcp_server: None,
        mcp_era: McpEra::Sessions,
        apex_root: None,
        tool_classes: Default::default(),
        records: Default::default(),
        canary_records: Vec::new(),
        canary_seeds: Vec::new(),
        declarations: None,
        canary_marker: "CANARY-".into(),
        catalog_pin: None,
        secrets: Secrets::default(),
        limits: Limits::default(),
    }
}

#[tokio::test]
async fn the_driver_carries_the_interaction_cookie_signs_in_and_consents() {
    let server = MockServer::start().await;
    Mock::given(wiremock::matchers::path_regex("^/(auth|interaction/.*)$"))
        .respond_with(Interaction::default())
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({
            "access_token": "at-0123456789", "refresh_token": "rt-0123456789", "scope": "mcp_api", "token_type": "Bearer"
        })))
        .mount(&server)
        .await;
    let t = target(&server.uri());
    let mut probe = Probe::new(t.secrets.clone(), t.limits.clone());
    let tokens = steps::login::sign_in(&mut probe, &t, &t.personas["agent"]).await.expect("signed in");
    assert_eq!(tokens.access_token, "at-0123456789");
    let evidence = probe.evidence.join("\n");
    assert!(t.secrets.all().iter().any(|s| s == "itx-cookie-0123456789"), "the cookie is registered as a credential");
    assert!(!evidence.contains("itx-cookie-0123456789"));
    assert!(!evidence.contains("any-password-123"));
}
