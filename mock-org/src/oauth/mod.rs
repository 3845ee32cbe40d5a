//! The org's OAuth 2.0 authorization server under `/services/oauth2/`: Authorization Code with
//! PKCE (S256) and refresh-token rotation; every other grant is refused. Written by hand on purpose:
//! it is the subject under test, and the fault matrix will switch its checks off one by one.

pub mod authorize;
pub mod callback;
pub mod endpoints;
pub mod grants;
pub mod pkce;
pub mod token;

use crate::MockOrg;
use axum::Router;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use std::sync::Arc;

/// An OAuth error response body (RFC 6749 5.2): `{"error", "error_description"}`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OAuthError {
    pub status: u16,
    pub error: &'static str,
    pub description: String,
}

impl OAuthError {
    pub fn new(status: u16, error: &'static str, description: impl Into<String>) -> Self {
        OAuthError { status, error, description: description.into() }
    }

    pub fn bad(error: &'static str, description: impl Into<String>) -> Self {
        Self::new(400, error, description)
    }
}

impl IntoResponse for OAuthError {
    fn into_response(self) -> Response {
        let status = StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST);
        let body = serde_json::json!({"error": self.error, "error_description": self.description});
        let mut r = (status, axum::Json(body)).into_response();
        r.headers_mut().insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
        r
    }
}

pub fn routes() -> Router<Arc<MockOrg>> {
    Router::new()
        .route("/services/oauth2/authorize", get(authorize::show).post(authorize::submit))
        .route("/services/oauth2/token", axum::routing::post(token::token))
        .route("/services/oauth2/revoke", get(endpoints::revoke_get).post(endpoints::revoke_post))
        .route("/services/oauth2/introspect", axum::routing::post(endpoints::introspect))
        .route("/services/oauth2/userinfo", get(endpoints::userinfo).post(endpoints::userinfo))
        .route("/id/keys", get(endpoints::jwks))
        .route("/.well-known/oauth-authorization-server", get(endpoints::metadata))
        .route("/.well-known/openid-configuration", get(endpoints::metadata))
}

/// One OAuth event for the audit log (login, code issued, token issued, refused grant, refresh,
/// revoke). Secrets never enter it: tokens are named by their id, codes not at all.
#[derive(Debug, Default)]
pub struct OAuthEvent {
    pub resource: &'static str,
    pub method: &'static str,
    pub status: u16,
    pub operation: &'static str,
    pub user_id: Option<String>,
    pub client_id: Option<String>,
    pub token_id: Option<String>,
    pub denial: Option<String>,
}

impl MockOrg {
    pub fn record_oauth(&self, e: OAuthEvent) {
        let user = e.user_id.as_deref().and_then(|id| self.org.user(id));
        let app = e.client_id.as_deref().and_then(|c| self.org.app_by_consumer_key(c));
        self.audit.append(crate::audit::AuditRecord {
            id: String::new(),
            timestamp_ms: self.clock.now_ms(),
            request_id: self.next_request_id(),
            user_id: user.map(|u| u.id.clone()),
            username: user.map(|u| u.username.clone()),
            client_app_name: app.map(|a| a.name.clone()),
            client_id: app.map(|a| a.consumer_key.clone()),
            token_id: e.token_id,
            api_family: crate::audit::ApiFamily::OAuth,
            resource: e.resource.to_string(),
            method: e.method.to_string(),
            status: e.status,
            object: None,
            operation: Some(e.operation.to_string()),
            record_ids: Vec::new(),
            outcome: if e.denial.is_none() { "allowed" } else { "denied" },
            denial_code: e.denial,
            execution_mode: crate::audit::ExecutionMode::User,
            tool: None,
        });
    }
}
