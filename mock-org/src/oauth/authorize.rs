//! `/services/oauth2/authorize`: validates the request, shows the login form, checks the
//! credentials and the app's pre-authorization (or asks for consent), then redirects to the
//! registered callback with `code`, `state` and `iss` (RFC 9207).
//!
//! Errors before the callback is verified (unknown client, unregistered `redirect_uri`) are an
//! error page and never a redirect: redirecting them would make the server an open redirector.

use super::grants::{Authorization, CODE_LIFETIME_MS, CONSENT_LIFETIME_MS, CodeGrant, PendingConsent, opaque};
use super::{OAuthEvent, callback, pkce};
use crate::MockOrg;
use crate::faults::Fault;
use crate::form;
use crate::model::ExternalClientApp;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{Html, IntoResponse, Response};
use std::sync::Arc;

const PATH: &str = "/services/oauth2/authorize";

/// A request that passed validation: the client and callback are trusted from here on.
#[derive(Debug, Clone)]
pub struct Validated {
    pub app: ExternalClientApp,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub scopes: Vec<String>,
    pub challenge: Option<String>,
    pub audience: Vec<String>,
    /// `response_type=token` honoured (only under the `implicit-flow` fault).
    pub implicit: bool,
}

#[derive(Debug)]
pub enum Refusal {
    /// Shown to the user agent; nothing is sent to any callback.
    Page { status: u16, error: &'static str, description: String },
    /// Sent to the verified callback with `state` and `iss`.
    Redirect { to: String, error: &'static str, description: String, state: Option<String> },
}

fn page(error: &'static str, description: impl Into<String>) -> Refusal {
    Refusal::Page { status: 400, error, description: description.into() }
}

pub fn validate(s: &MockOrg, params: &[(String, String)]) -> Result<Validated, Refusal> {
    let one = |name: &str| form::single(params, name).map_err(|e| page("invalid_request", e));
    let client_id = one("client_id")?.ok_or_else(|| page("invalid_client_id", "client identifier invalid"))?;
    let Some(app) = s.org.app_by_consumer_key(&client_id) else {
        // Under `unknown-client-redirects` the error goes to whatever callback the request names.
        if let (true, Some(to)) = (s.fault(Fault::UnknownClientRedirects), one("redirect_uri")?) {
            let description = "client identifier invalid".into();
            return Err(Refusal::Redirect { to, error: "invalid_client_id", description, state: one("state")? });
        }
        return Err(page("invalid_client_id", "client identifier invalid"));
    };
    // Required even with one registered callback, so the request says where it wants the code.
    let redirect_uri = match one("redirect_uri")? {
        Some(u) => u,
        None if s.fault(Fault::RedirectOmittedDefault) && !app.callback_urls.is_empty() => app.callback_urls[0].clone(),
        None => return Err(page("redirect_uri_mismatch", "redirect_uri must match configuration")),
    };
    let state = one("state")?;
    if !callback::matches_with(&app.callback_urls, &redirect_uri, app.is_loopback_port_variance_allowed, &s.org.faults)
    {
        if s.fault(Fault::ErrorToUnregisteredUri) {
            let description = "redirect_uri must match configuration".into();
            return Err(Refusal::Redirect { to: redirect_uri, error: "redirect_uri_mismatch", description, state });
        }
        return Err(page("redirect_uri_mismatch", "redirect_uri must match configuration"));
    }
    let refuse = |error: &'static str, description: &str| Refusal::Redirect {
        to: redirect_uri.clone(),
        error,
        description: description.into(),
        state: state.clone(),
    };
    let mut implicit = false;
    match one("response_type")?.as_deref() {
        Some("code") => {}
        Some("token") if s.fault(Fault::ImplicitFlow) => implicit = true,
        Some(t) if s.fault(Fault::HybridFlow) && t.contains(' ') && t.split(' ').any(|p| p == "token") => {
            implicit = true
        }
        Some(t) if t.split(' ').any(|p| p == "token") => {
            return Err(refuse("unsupported_response_type", "the user-agent (implicit) flow is blocked in this org"));
        }
        _ => return Err(refuse("unsupported_response_type", "response_type must be code")),
    }
    let challenge = one("code_challenge")?;
    let method = one("code_challenge_method")?;
    let pkce_optional = s.fault(Fault::PkceOptional) || s.fault(Fault::PkceVerifierWithoutChallenge);
    let mut challenge = challenge;
    match (&challenge, method.as_deref()) {
        (None, None) if !app.is_pkce_required || pkce_optional => {}
        (None, _) if pkce_optional => {}
        (None, _) => return Err(refuse("invalid_request", "missing required code challenge")),
        (Some(c), None | Some("plain")) if s.fault(Fault::PkcePlain) => challenge = Some(pkce::plain_marker(c)),
        (Some(_), None) | (Some(_), Some("plain")) => {
            return Err(refuse("invalid_request", "code_challenge_method must be S256"));
        }
        (Some(_), Some("S256")) => {}
        (Some(_), Some(_)) if s.fault(Fault::PkceUnknownMethod) => {}
        (Some(_), Some(_)) => return Err(refuse("invalid_request", "unsupported code_challenge_method")),
    }
    let malformed = challenge.as_deref().is_some_and(|c| !pkce::is_plain(c) && !pkce::challenge_is_well_formed(c));
    if malformed {
        return Err(refuse("invalid_request", "code_challenge must be 43 base64url characters"));
    }
    let scopes: Vec<String> = match one("scope")? {
        Some(sc) => sc.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect(),
        None => app.scopes.clone(),
    };
    let extra = scopes.iter().find(|x| !app.scopes.contains(x)).filter(|_| !s.fault(Fault::WideScopes));
    if let Some(extra) = extra {
        return Err(refuse("invalid_scope", &format!("the requested scope is not allowed: {extra}")));
    }
    let known = s.known_resources();
    let resources: Vec<String> = params.iter().filter(|(k, _)| k == "resource").map(|(_, v)| v.clone()).collect();
    if let Some(bad) = resources.iter().find(|r| !known.contains(r)) {
        return Err(refuse("invalid_target", &format!("unknown resource: {bad}")));
    }
    let audience = s.audience_for(&resources);
    Ok(Validated { app: app.clone(), redirect_uri, state, scopes, challenge, audience, implicit })
}

/// The callback URL with parameters appended to its query (the registered query is kept).
pub fn callback_url(base: &str, params: &[(&str, &str)]) -> String {
    let sep = if base.contains('?') { '&' } else { '?' };
    let q: Vec<String> = params.iter().map(|(k, v)| format!("{k}={}", form::encode(v))).collect();
    format!("{base}{sep}{}", q.join("&"))
}

fn redirect(to: String) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(&to) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r
}

fn refusal_response(s: &MockOrg, r: Refusal) -> Response {
    match r {
        // Under `refusal-page-unreadable` the refusal hides behind a challenge page: no error
        // code, no error status, a form no driver can fill in.
        Refusal::Page { .. } if s.fault(Fault::RefusalPageUnreadable) => {
            let html = layout(
                "Verify you are human",
                "<form method=\"post\" action=\"/services/oauth2/verify\"><input type=\"text\" name=\"challenge_answer\"><input type=\"submit\" value=\"Verify\"></form>",
            );
            (StatusCode::OK, Html(html)).into_response()
        }
        Refusal::Page { status, error, description } => {
            let html = layout(
                "Error",
                &format!(
                    "<p class=\"error\" id=\"error\" data-error=\"{error}\">{}: {}</p>",
                    esc(error),
                    esc(&description)
                ),
            );
            (StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_REQUEST), Html(html)).into_response()
        }
        Refusal::Redirect { to, error, description, state } => {
            let mut p = vec![("error", error), ("error_description", description.as_str())];
            if let Some(st) = state.as_deref() {
                p.push(("state", st));
            }
            if !s.fault(Fault::IssMissingOnErrors) {
                p.push(("iss", s.tokens.issuer()));
            }
            redirect(callback_url(&to, &p))
        }
    }
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;").replace('<', "&lt;").replace('>', "&gt;").replace('"', "&quot;").replace('\'', "&#39;")
}

fn layout(title: &str, body: &str) -> String {
    format!(
        "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>{title}</title></head><body><h1>{title}</h1>{body}</body></html>"
    )
}

/// The login form. Carries the authorize parameters back as hidden fields; the password field is
/// the only secret and is never echoed.
fn login_form(params: &[(String, String)], error: Option<&str>) -> Response {
    let hidden: String = params
        .iter()
        .filter(|(k, _)| k != "username" && k != "password")
        .map(|(k, v)| format!("<input type=\"hidden\" name=\"{}\" value=\"{}\">", esc(k), esc(v)))
        .collect();
    let err = error.map(|e| format!("<p class=\"error\" id=\"error\">{}</p>", esc(e))).unwrap_or_default();
    let body = format!(
        "{err}<form method=\"POST\" action=\"{PATH}\" id=\"login\">{hidden}<label>Username <input type=\"text\" name=\"username\"></label><label>Password <input type=\"password\" name=\"password\"></label><button type=\"submit\" name=\"Login\" value=\"Log In\">Log In</button></form>"
    );
    Html(layout("Log in to the mock org", &body)).into_response()
}

fn consent_form(ticket: &str, app: &ExternalClientApp, scopes: &[String]) -> Response {
    let body = format!(
        "<p>{} is asking to: {}</p><form method=\"POST\" action=\"{PATH}\" id=\"consent\"><input type=\"hidden\" name=\"ticket\" value=\"{}\"><button type=\"submit\" name=\"decision\" value=\"allow\">Allow</button><button type=\"submit\" name=\"decision\" value=\"deny\">Deny</button></form>",
        esc(&app.label),
        esc(&scopes.join(", ")),
        esc(ticket)
    );
    Html(layout("Allow access?", &body)).into_response()
}

pub async fn show(State(s): State<Arc<MockOrg>>, RawQuery(q): RawQuery) -> Response {
    let params = match form::pairs(q.as_deref().unwrap_or_default()) {
        Ok(p) => p,
        Err(e) => return refusal_response(&s, page("invalid_request", e)),
    };
    match validate(&s, &params) {
        Ok(_) => login_form(&params, None),
        Err(r) => refusal_response(&s, r),
    }
}

pub async fn submit(State(s): State<Arc<MockOrg>>, body: Result<Bytes, BytesRejection>) -> Response {
    let body = match body {
        Ok(b) => b,
        Err(e) => {
            return refusal_response(
                &s,
                page("invalid_request", format!("the form could not be read: {}", e.body_text())),
            );
        }
    };
    let params = match std::str::from_utf8(&body).map_err(|_| "body is not UTF-8".to_string()).and_then(form::pairs) {
        Ok(p) => p,
        Err(e) => return refusal_response(&s, page("invalid_request", e)),
    };
    if let Ok(Some(ticket)) = form::single(&params, "ticket") {
        let allow = matches!(form::single(&params, "decision"), Ok(Some(d)) if d == "allow");
        return decide_consent(&s, &ticket, allow);
    }
    let v = match validate(&s, &params) {
        Ok(v) => v,
        Err(r) => return refusal_response(&s, r),
    };
    let username = form::single(&params, "username").ok().flatten().unwrap_or_default();
    let password = form::single(&params, "password").ok().flatten().unwrap_or_default();
    let user = s.org.user_by_username(&username).filter(|u| u.password == password).cloned();
    let event = |status, operation, user_id: Option<String>, denial: Option<&str>| OAuthEvent {
        resource: PATH,
        method: "POST",
        status,
        operation,
        user_id,
        client_id: Some(v.app.consumer_key.clone()),
        denial: denial.map(str::to_string),
        ..Default::default()
    };
    let Some(user) = user else {
        if let Some(known) = s.org.user_by_username(&username) {
            s.record_login(&known.id, Some(&v.app.consumer_key), crate::login_history::INVALID_PASSWORD);
        }
        s.record_oauth(event(200, "login", None, Some("INVALID_LOGIN")));
        return login_form(
            &params,
            Some(
                "Please check your username and password. If you still can't log in, contact your Salesforce administrator.",
            ),
        );
    };
    if !s.store_read().user_is_usable(&s.org, &user.id) {
        s.record_oauth(event(200, "login", Some(user.id.clone()), Some("USER_FROZEN_OR_INACTIVE")));
        return login_form(&params, Some("Your account is frozen or inactive. Contact your Salesforce administrator."));
    }
    s.record_login(&user.id, Some(&v.app.consumer_key), crate::login_history::SUCCESS);
    let auth = Authorization {
        client_id: v.app.consumer_key.clone(),
        user_id: user.id.clone(),
        scopes: v.scopes.clone(),
        audience: v.audience.clone(),
    };
    if v.app.admin_pre_authorized {
        let approved = v.app.profiles.contains(&user.profile)
            || s.current_user(&user.id)
                .is_some_and(|u| u.permission_sets.iter().any(|p| v.app.permission_sets.contains(p)))
            || s.fault(Fault::NotPreAuthorizedAllowed);
        if !approved {
            s.record_oauth(event(302, "authorize", Some(user.id.clone()), Some("OAUTH_APP_ACCESS_DENIED")));
            let r = Refusal::Redirect {
                to: v.redirect_uri,
                error: "OAUTH_APP_ACCESS_DENIED",
                description: "user is not admin approved to access this app".into(),
                state: v.state,
            };
            return refusal_response(&s, r);
        }
        s.record_oauth(event(302, "authorize", Some(user.id.clone()), None));
        if v.implicit {
            return issue_implicit(&s, auth, v.redirect_uri, v.state);
        }
        return issue_code(&s, auth, v.redirect_uri, v.state, v.challenge);
    }
    let ticket = opaque("consent-");
    let pending = PendingConsent {
        auth,
        redirect_uri: v.redirect_uri,
        state: v.state,
        challenge: v.challenge,
        expires_ms: s.clock.now_ms() + CONSENT_LIFETIME_MS,
    };
    s.oauth.with(|g| g.consents.insert(ticket.clone(), pending));
    s.record_oauth(event(200, "login", Some(user.id.clone()), None));
    consent_form(&ticket, &v.app, &v.scopes)
}

fn decide_consent(s: &MockOrg, ticket: &str, allow: bool) -> Response {
    let now = s.clock.now_ms();
    let Some(p) = s.oauth.with(|g| g.consents.remove(ticket)).filter(|p| p.expires_ms > now) else {
        return refusal_response(s, page("invalid_request", "the consent request expired or was already answered"));
    };
    let event = |denial: Option<&str>| OAuthEvent {
        resource: PATH,
        method: "POST",
        status: 302,
        operation: "consent",
        user_id: Some(p.auth.user_id.clone()),
        client_id: Some(p.auth.client_id.clone()),
        denial: denial.map(str::to_string),
        ..Default::default()
    };
    if !allow {
        s.record_oauth(event(Some("access_denied")));
        let r = Refusal::Redirect {
            to: p.redirect_uri.clone(),
            error: "access_denied",
            description: "end-user denied authorization".into(),
            state: p.state.clone(),
        };
        return refusal_response(s, r);
    }
    s.record_oauth(event(None));
    issue_code(s, p.auth, p.redirect_uri, p.state, p.challenge)
}

/// The implicit flow (only under its fault): the access token in the callback's fragment.
fn issue_implicit(s: &MockOrg, auth: Authorization, redirect_uri: String, state: Option<String>) -> Response {
    let app = s.org.app_by_consumer_key(&auth.client_id).expect("validated");
    let lifetime = i64::from(app.access_token_lifetime_minutes) * 60;
    let (token, _) = s.tokens.mint(&s.clock, &auth.user_id, &auth.client_id, &auth.scopes, auth.audience, lifetime);
    let mut fragment = format!("access_token={}&token_type=Bearer", form::encode(&token));
    if let Some(st) = state {
        fragment.push_str(&format!("&state={}", form::encode(&st)));
    }
    redirect(format!("{redirect_uri}#{fragment}"))
}

fn issue_code(
    s: &MockOrg,
    auth: Authorization,
    redirect_uri: String,
    state: Option<String>,
    challenge: Option<String>,
) -> Response {
    let code = opaque("aPrx");
    let grant = CodeGrant {
        auth,
        redirect_uri: redirect_uri.clone(),
        challenge,
        expires_ms: s.clock.now_ms() + CODE_LIFETIME_MS,
        redeemed: false,
        family: None,
    };
    s.oauth.with(|g| g.codes.insert(code.clone(), grant));
    let mut p = vec![("code", code.as_str())];
    if let Some(st) = state.as_deref() {
        p.push(("state", st));
    }
    p.push(("iss", s.tokens.issuer()));
    redirect(callback_url(&redirect_uri, &p))
}
