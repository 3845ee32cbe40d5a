//! `/services/oauth2/token`: `authorization_code` (single use; bound to the client, the callback and
//! the PKCE verifier; a replay kills what the code issued) and `refresh_token` (rotated on every
//! use; a replayed old token kills its whole family; never wider than the original grant). Every
//! other grant type is refused with the exact error a client should see.

use super::grants::{Authorization, RefreshToken, opaque};
use super::{OAuthError, OAuthEvent, pkce};
use crate::MockOrg;
use crate::faults::Fault;
use crate::form;
use crate::model::ExternalClientApp;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, HeaderValue, header};
use axum::response::{IntoResponse, Response};
use base64::Engine;
use serde_json::json;
use std::sync::Arc;

const PATH: &str = "/services/oauth2/token";

pub const JWT_BEARER: &str = "urn:ietf:params:oauth:grant-type:jwt-bearer";
pub const DEVICE_CODE: &str = "urn:ietf:params:oauth:grant-type:device_code";

/// What a successful grant produced, for the response and the audit record.
struct Issued {
    body: serde_json::Value,
    user_id: String,
    jti: String,
}

/// A form post's parameters; a body that could not be read (over the org's size limit, cut off)
/// is an OAuth error like any other bad request, never the framework's plain text.
pub fn parse_form(body: Result<Bytes, BytesRejection>) -> Result<Vec<(String, String)>, OAuthError> {
    let body = body.map_err(|e| {
        let status = e.status().as_u16();
        OAuthError::new(status, "invalid_request", format!("the request body could not be read: {}", e.body_text()))
    })?;
    form_pairs(&body)
}

/// Parameters of `a=1&b=2` text (a form body, or a query string).
pub fn form_pairs(body: &[u8]) -> Result<Vec<(String, String)>, OAuthError> {
    std::str::from_utf8(body)
        .map_err(|_| "the request body is not UTF-8".to_string())
        .and_then(form::pairs)
        .map_err(|e| OAuthError::bad("invalid_request", e))
}

pub fn param(params: &[(String, String)], name: &str) -> Result<Option<String>, OAuthError> {
    form::single(params, name).map_err(|e| OAuthError::bad("invalid_request", e))
}

/// Whether an app must present its consumer secret for this grant: always for the
/// client-credentials and username-password flows, for the web server and refresh flows as the
/// app's settings say. An app without a secret is identified by its key alone.
pub fn secret_required(app: &ExternalClientApp, grant_type: &str) -> bool {
    app.consumer_secret.is_some()
        && match grant_type {
            "password" | "client_credentials" => true,
            "authorization_code" => app.is_secret_required_for_web_server_flow,
            "refresh_token" => app.is_secret_required_for_refresh_token_flow,
            _ => false,
        }
}

/// The client, from HTTP Basic or the `client_id`/`client_secret` parameters. A secret that is
/// presented must be the app's; `required` says whether it must be presented.
pub fn authenticate_client<'a>(
    s: &'a MockOrg,
    headers: &HeaderMap,
    params: &[(String, String)],
    required: impl Fn(&ExternalClientApp) -> bool,
) -> Result<&'a ExternalClientApp, OAuthError> {
    let invalid = || OAuthError::bad("invalid_client", "invalid client credentials");
    let basic = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Basic "))
        .map(|b| base64::engine::general_purpose::STANDARD.decode(b.trim()).map_err(|_| invalid()))
        .transpose()?
        .map(|raw| String::from_utf8(raw).map_err(|_| invalid()))
        .transpose()?;
    let (basic_id, basic_secret) = match basic.as_deref().map(|b| b.split_once(':').unwrap_or((b, ""))) {
        Some((i, sec)) => (
            Some(form::percent_decode(i).map_err(|_| invalid())?),
            Some(form::percent_decode(sec).map_err(|_| invalid())?),
        ),
        None => (None, None),
    };
    let body_id = param(params, "client_id")?;
    let client_id = match (basic_id, body_id) {
        (Some(a), Some(b)) if a != b => {
            return Err(OAuthError::bad("invalid_request", "client_id differs between the header and the body"));
        }
        (Some(a), _) => a,
        (None, Some(b)) => b,
        (None, None) => return Err(OAuthError::bad("invalid_client_id", "client identifier invalid")),
    };
    let app = s.org.app_by_consumer_key(&client_id).ok_or_else(invalid)?;
    let secret = basic_secret.or(param(params, "client_secret")?);
    let wrong = match (&app.consumer_secret, &secret) {
        (Some(expected), Some(given)) => expected != given,
        (None, Some(_)) => false,
        (_, None) => required(app),
    };
    if wrong {
        return Err(invalid());
    }
    Ok(app)
}

pub async fn token(State(s): State<Arc<MockOrg>>, headers: HeaderMap, body: Result<Bytes, BytesRejection>) -> Response {
    let params = match parse_form(body) {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let grant_type = param(&params, "grant_type").ok().flatten().unwrap_or_default();
    let app = authenticate_client(&s, &headers, &params, |a| secret_required(a, &grant_type));
    let client_id = app.as_ref().ok().map(|a| a.consumer_key.clone());
    // Under `code-reuse-race` the code is marked redeemed only after a pause (the tokens being
    // minted): a replay after the answer is refused, redemptions in flight together all pass.
    let race = grant_type == "authorization_code" && s.fault(Fault::CodeReuseRace);
    let basic_auth = headers.contains_key(header::AUTHORIZATION);
    let result = app.and_then(|app| match grant_type.as_str() {
        "authorization_code" => redeem_code(&s, app, &params, !race, basic_auth),
        "refresh_token" => refresh(&s, app, &params),
        "password" if s.fault(Fault::PasswordGrant) => password_grant(&s, app, &params),
        "client_credentials" if s.fault(Fault::ClientCredentials) => {
            // The app's run-as user: the org's first user, as a careless setup picks an admin.
            let user = s.org.users.first().ok_or_else(|| OAuthError::bad("invalid_grant", "no run-as user"))?;
            Ok(direct_grant(&s, app, &user.id))
        }
        JWT_BEARER if s.fault(Fault::JwtBearer) => jwt_bearer_grant(&s, app, &params),
        "password" => Err(OAuthError::bad(
            "unsupported_grant_type",
            "grant type not supported: the username-password flow is blocked in this org",
        )),
        "client_credentials" if !app.is_client_credentials_flow_enabled => {
            Err(OAuthError::bad("unauthorized_client", "the client credentials flow is not enabled for this app"))
        }
        "client_credentials" => Err(OAuthError::bad("invalid_grant", "no client credentials user enabled")),
        JWT_BEARER | DEVICE_CODE => {
            Err(OAuthError::bad("unsupported_grant_type", "grant type not supported for this app"))
        }
        "" => Err(OAuthError::bad("invalid_request", "grant_type is required")),
        _ => Err(OAuthError::bad("unsupported_grant_type", "grant type not supported")),
    });
    if race && result.is_ok() {
        tokio::time::sleep(std::time::Duration::from_millis(crate::faults::CODE_RACE_WINDOW_MS)).await;
        if let Ok(Some(code)) = param(&params, "code") {
            s.oauth.with(|g| {
                if let Some(entry) = g.codes.get_mut(&code) {
                    entry.redeemed = true;
                }
            });
        }
    }
    if grant_type == "password" {
        record_password_attempt(&s, &params, client_id.as_deref(), &result);
    }
    let operation = match grant_type.as_str() {
        "refresh_token" => "refresh",
        _ => "token",
    };
    match result {
        Ok(issued) => {
            s.record_oauth(OAuthEvent {
                resource: PATH,
                method: "POST",
                status: 200,
                operation,
                user_id: Some(issued.user_id),
                client_id,
                token_id: Some(issued.jti),
                denial: None,
            });
            let mut r = axum::Json(issued.body).into_response();
            r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
            r
        }
        Err(e) => {
            s.record_oauth(OAuthEvent {
                resource: PATH,
                method: "POST",
                status: e.status,
                operation,
                client_id,
                denial: Some(e.error.to_string()),
                ..Default::default()
            });
            e.into_response()
        }
    }
}

/// Redeems a code; `mark` marks it redeemed in the same critical section as the check (a clean
/// org always does).
fn redeem_code(
    s: &MockOrg,
    app: &ExternalClientApp,
    params: &[(String, String)],
    mark: bool,
    basic_auth: bool,
) -> Result<Issued, OAuthError> {
    let invalid_code = || OAuthError::bad("invalid_grant", "invalid authorization code");
    let code = param(params, "code")?.ok_or_else(invalid_code)?;
    let redirect_uri = param(params, "redirect_uri")?;
    let verifier = param(params, "code_verifier")?;
    let now = s.clock.now_ms();
    // One critical section from lookup to "redeemed": concurrent exchanges cannot both win.
    let auth = s.oauth.with(|g| {
        let grant = g.codes.get(&code).cloned().ok_or_else(invalid_code)?;
        if grant.redeemed && !s.fault(Fault::CodeReusable) {
            // RFC 9700 4.5: a replayed code means it leaked; kill what it issued.
            let jtis = grant.family.as_deref().map(|f| g.revoke_family(f)).unwrap_or_default();
            for j in jtis {
                s.tokens.revoke(&j);
            }
            return Err(invalid_code());
        }
        if grant.auth.client_id != app.consumer_key && !s.fault(Fault::CodeAnyClient) {
            return Err(invalid_code());
        }
        if grant.expires_ms <= now && !s.fault(Fault::CodeNoExpiry) {
            g.codes.remove(&code);
            return Err(OAuthError::bad("invalid_grant", "expired authorization code"));
        }
        if redirect_uri.as_deref() != Some(grant.redirect_uri.as_str()) && !s.fault(Fault::TokenRedirectUnchecked) {
            return Err(OAuthError::bad("redirect_uri_mismatch", "redirect_uri must match the authorization request"));
        }
        match (&grant.challenge, verifier.as_deref()) {
            _ if s.fault(Fault::PkceVerifierUnchecked) => {}
            (Some(_), None) if basic_auth && s.fault(Fault::PkceSkippedForBasicAuth) => {}
            (Some(_), None) => return Err(OAuthError::bad("invalid_grant", "code_verifier is required")),
            (Some(c), Some(v)) if !pkce::verifier_answers(c, v) => {
                return Err(OAuthError::bad("invalid_grant", "invalid code verifier"));
            }
            (None, Some(_)) if s.fault(Fault::PkceVerifierWithoutChallenge) => {}
            (None, Some(_)) => {
                return Err(OAuthError::bad(
                    "invalid_grant",
                    "code_verifier sent for a code issued without a challenge",
                ));
            }
            _ => {}
        }
        let family = g.new_family();
        let entry = g.codes.get_mut(&code).expect("present");
        entry.redeemed = mark;
        entry.family = Some(family.clone());
        let mut auth = grant.auth;
        // Under `token-scope-widened` a `scope` on the exchange is granted as asked (a code
        // request has none: RFC 6749 §4.1.3; the scope was settled at the authorization).
        if s.fault(Fault::TokenScopeWidened) {
            for extra in param(params, "scope")?.unwrap_or_default().split(' ').filter(|x| !x.is_empty()) {
                if !auth.scopes.iter().any(|x| x == extra) {
                    auth.scopes.push(extra.to_string());
                }
            }
        }
        Ok((auth, family))
    })?;
    s.note_app_authorization(&auth.0.user_id, &app.name);
    Ok(issue(s, app, auth.0, auth.1))
}

fn refresh(s: &MockOrg, app: &ExternalClientApp, params: &[(String, String)]) -> Result<Issued, OAuthError> {
    let expired = || OAuthError::bad("invalid_grant", "expired access/refresh token");
    let presented = param(params, "refresh_token")?.ok_or_else(expired)?;
    let requested: Option<Vec<String>> =
        param(params, "scope")?.map(|sc| sc.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect());
    let (auth, family) = s.oauth.with(|g| {
        // Under `code-as-refresh-token` an unredeemed code of this client passes for one.
        if s.fault(Fault::CodeAsRefreshToken)
            && let Some(code) =
                g.codes.get_mut(&presented).filter(|c| !c.redeemed && c.auth.client_id == app.consumer_key)
        {
            code.redeemed = true;
            let auth = code.auth.clone();
            return Ok((auth, g.new_family()));
        }
        let rt = g.refresh.get(&presented).cloned().ok_or_else(expired)?;
        if rt.auth.client_id != app.consumer_key && !s.fault(Fault::RefreshAnyClient) {
            return Err(expired());
        }
        if !rt.current {
            // RFC 9700 4.14.2: a rotated-out token came back; someone holds a copy. Kill the family.
            for j in g.revoke_family(&rt.family) {
                s.tokens.revoke(&j);
            }
            return Err(expired());
        }
        if !s.token_user_ok(&rt.auth.user_id) {
            for j in g.revoke_family(&rt.family) {
                s.tokens.revoke(&j);
            }
            return Err(OAuthError::bad("invalid_grant", "inactive user"));
        }
        let mut auth = rt.auth.clone();
        if let Some(req) = &requested {
            let extra =
                req.iter().find(|x| !rt.auth.scopes.contains(x)).filter(|_| !s.fault(Fault::RefreshWidensScope));
            if let Some(extra) = extra {
                return Err(OAuthError::bad(
                    "invalid_scope",
                    format!("the requested scope exceeds the original grant: {extra}"),
                ));
            }
            auth.scopes = req.clone();
            if !auth.scopes.iter().any(|x| x == "refresh_token") {
                auth.scopes.push("refresh_token".into());
            }
        }
        // Rotation: the presented token is spent (unless a fault leaves it reusable).
        if !s.fault(Fault::RefreshNotRotated) {
            g.refresh.get_mut(&presented).expect("present").current = false;
        }
        Ok((auth, rt.family))
    })?;
    Ok(issue(s, app, auth, family))
}

/// A username-password request naming a user is a login attempt of that user (LoginHistory),
/// whatever became of it; one from a client that failed authentication never reached the user.
fn record_password_attempt(
    s: &MockOrg,
    params: &[(String, String)],
    client_id: Option<&str>,
    result: &Result<Issued, OAuthError>,
) {
    use crate::login_history::{INVALID_PASSWORD, PASSWORD_FLOW_DISABLED, SUCCESS};
    let Some(client_id) = client_id else { return };
    let username = param(params, "username").ok().flatten().unwrap_or_default();
    let Some(user) = s.org.user_by_username(&username) else { return };
    let status = match result {
        Ok(_) => SUCCESS,
        Err(e) if e.error == "unsupported_grant_type" => PASSWORD_FLOW_DISABLED,
        Err(_) => INVALID_PASSWORD,
    };
    s.record_login(&user.id, Some(client_id), status);
}

/// A grant with no authorization step (password, client credentials, JWT bearer: all refused in
/// a clean org), issuing the app's scopes for every resource.
fn direct_grant(s: &MockOrg, app: &ExternalClientApp, user_id: &str) -> Issued {
    let auth = Authorization {
        client_id: app.consumer_key.clone(),
        user_id: user_id.to_string(),
        scopes: app.scopes.clone(),
        audience: s.default_audience(),
    };
    let family = s.oauth.with(|g| g.new_family());
    issue(s, app, auth, family)
}

fn password_grant(s: &MockOrg, app: &ExternalClientApp, params: &[(String, String)]) -> Result<Issued, OAuthError> {
    let bad = || OAuthError::bad("invalid_grant", "authentication failure");
    let username = param(params, "username")?.ok_or_else(bad)?;
    let password = param(params, "password")?.ok_or_else(bad)?;
    let user = s.org.user_by_username(&username).filter(|u| u.password == password).ok_or_else(bad)?;
    if !s.token_user_ok(&user.id) {
        return Err(bad());
    }
    Ok(direct_grant(s, app, &user.id))
}

/// Accepts the assertion without checking its signature: the user is its `sub` when that names
/// one, else the org's first user.
fn jwt_bearer_grant(s: &MockOrg, app: &ExternalClientApp, params: &[(String, String)]) -> Result<Issued, OAuthError> {
    let assertion = param(params, "assertion")?.unwrap_or_default();
    let sub = assertion
        .split('.')
        .nth(1)
        .and_then(|p| base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(p).ok())
        .and_then(|raw| serde_json::from_slice::<serde_json::Value>(&raw).ok())
        .and_then(|v| v["sub"].as_str().map(str::to_string));
    let user = sub
        .and_then(|u| s.org.user_by_username(&u))
        .or(s.org.users.first())
        .ok_or_else(|| OAuthError::bad("invalid_grant", "no user"))?;
    Ok(direct_grant(s, app, &user.id))
}

/// Mints the access token (and a refresh token when the grant includes `refresh_token`) and files
/// both under the family, so revoking the family reaches them.
fn issue(s: &MockOrg, app: &ExternalClientApp, auth: Authorization, family: String) -> Issued {
    let lifetime = i64::from(app.access_token_lifetime_minutes) * 60;
    // Under `token-scope-claim-widened` the token's own `scp` says more than the answer shows.
    let mut minted = auth.scopes.clone();
    if s.fault(Fault::TokenScopeClaimWidened) {
        minted.push("sfap_api".into());
    }
    let (access, claims) =
        s.tokens.mint(&s.clock, &auth.user_id, &auth.client_id, &minted, auth.audience.clone(), lifetime);
    let refresh = auth.scopes.iter().any(|x| x == "refresh_token").then(|| opaque("5Aep"));
    s.oauth.with(|g| {
        if let Some(rt) = &refresh {
            g.refresh.insert(rt.clone(), RefreshToken { family: family.clone(), auth: auth.clone(), current: true });
        }
        let f = g.families.entry(family.clone()).or_default();
        f.access_jtis.push(claims.jti.clone());
        if let Some(rt) = &refresh {
            f.refresh_tokens.push(rt.clone());
        }
    });
    let mut body = json!({
        "access_token": access,
        "signature": crate::oauth::grants::opaque(""),
        "scope": auth.scopes.join(" "),
        "instance_url": s.base_url(),
        "id": format!("{}/id/{}/{}", s.base_url(), s.org.id, auth.user_id),
        "token_type": "Bearer",
        "issued_at": (claims.iat * 1000).to_string(),
        "expires_in": lifetime,
    });
    if let Some(rt) = refresh {
        body["refresh_token"] = json!(rt);
    }
    // Salesforce's own opaque session tokens come without `expires_in` (the session policy decides).
    if s.fault(Fault::OpaqueAccessTokens)
        && let Some(o) = body.as_object_mut()
    {
        o.remove("expires_in");
    }
    Issued { body, user_id: auth.user_id, jti: claims.jti }
}

#[cfg(test)]
mod tests {
    use super::secret_required;

    #[test]
    fn the_direct_flows_always_need_the_secret_and_the_others_as_the_app_says() {
        let mut app = crate::Org::default_fixture().apps[0].clone();
        assert!(app.consumer_secret.is_some());
        for grant in ["password", "client_credentials"] {
            assert!(secret_required(&app, grant), "{grant}");
        }
        // The agent's app: a public PKCE client.
        assert!(!secret_required(&app, "authorization_code") && !secret_required(&app, "refresh_token"));
        // Setup's defaults.
        app.is_secret_required_for_web_server_flow = true;
        app.is_secret_required_for_refresh_token_flow = true;
        assert!(secret_required(&app, "authorization_code") && secret_required(&app, "refresh_token"));
        // An app without a secret is identified by its key alone.
        app.consumer_secret = None;
        assert!(!secret_required(&app, "client_credentials"));
    }
}
