//! Revocation (Salesforce semantics, RFC 7009 shape), introspection (RFC 7662), userinfo, the
//! JWKS and the authorization server metadata (RFC 8414), which tells the truth about what the
//! server supports.

use super::token::{authenticate_client, form_pairs, param, parse_form};
use super::{OAuthError, OAuthEvent};
use crate::MockOrg;
use crate::error::SfError;
use crate::faults::Fault;
use crate::pipeline::bearer;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::HeaderMap;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;

const REVOKE: &str = "/services/oauth2/revoke";

/// What a presented token turned out to be.
enum Known {
    Access { jti: String, client_id: String, user_id: String },
    Refresh { family: String, client_id: String, user_id: String },
}

fn identify(s: &MockOrg, token: &str) -> Option<Known> {
    if let Some(c) = s.tokens.peek(token) {
        return Some(Known::Access { jti: c.jti, client_id: c.client_id, user_id: c.sub });
    }
    s.oauth.with(|g| {
        g.refresh.get(token).map(|r| Known::Refresh {
            family: r.family.clone(),
            client_id: r.auth.client_id.clone(),
            user_id: r.auth.user_id.clone(),
        })
    })
}

fn revoke(s: &MockOrg, headers: &HeaderMap, params: Vec<(String, String)>, method: &'static str) -> Response {
    let result = (|| {
        let token = param(&params, "token")?.ok_or_else(|| OAuthError::bad("invalid_request", "token is required"))?;
        // A client that names itself may revoke only its own tokens (RFC 7009 2.1).
        let caller = match param(&params, "client_id")? {
            Some(_) => Some(authenticate_client(s, headers, &params, |_| false)?.consumer_key.clone()),
            None => None,
        };
        let known = identify(s, &token).ok_or_else(|| OAuthError::bad("invalid_token", "invalid token"))?;
        let (client_id, user_id) = match &known {
            Known::Access { client_id, user_id, .. } | Known::Refresh { client_id, user_id, .. } => {
                (client_id.clone(), user_id.clone())
            }
        };
        if caller.as_deref().is_some_and(|c| c != client_id) && !s.fault(Fault::RevokeAnyClient) {
            return Err(OAuthError::bad("unauthorized_client", "the token was not issued to this client"));
        }
        let jti = match known {
            Known::Access { jti, .. } => {
                s.tokens.revoke(&jti);
                Some(jti)
            }
            Known::Refresh { family, .. } => {
                let access = s.oauth.with(|g| g.revoke_family(&family));
                // The cascade to the family's access tokens (skipped under its fault).
                if !s.fault(Fault::RefreshRevocationNoCascade) {
                    for j in access {
                        s.tokens.revoke(&j);
                    }
                }
                None
            }
        };
        Ok((client_id, user_id, jti))
    })();
    match result {
        Ok((client_id, user_id, jti)) => {
            s.record_oauth(OAuthEvent {
                resource: REVOKE,
                method,
                status: 200,
                operation: "revoke",
                user_id: Some(user_id),
                client_id: Some(client_id),
                token_id: jti,
                denial: None,
            });
            axum::http::StatusCode::OK.into_response()
        }
        Err(e) => {
            s.record_oauth(OAuthEvent {
                resource: REVOKE,
                method,
                status: e.status,
                operation: "revoke",
                denial: Some(e.error.to_string()),
                ..Default::default()
            });
            e.into_response()
        }
    }
}

pub async fn revoke_post(
    State(s): State<Arc<MockOrg>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    match parse_form(body) {
        Ok(p) => revoke(&s, &headers, p, "POST"),
        Err(e) => e.into_response(),
    }
}

pub async fn revoke_get(State(s): State<Arc<MockOrg>>, headers: HeaderMap, RawQuery(q): RawQuery) -> Response {
    match form_pairs(q.unwrap_or_default().as_bytes()) {
        Ok(p) => revoke(&s, &headers, p, "GET"),
        Err(e) => e.into_response(),
    }
}

pub async fn introspect(
    State(s): State<Arc<MockOrg>>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let result: Result<serde_json::Value, OAuthError> = (|| {
        let params = parse_form(body)?;
        let app = authenticate_client(&s, &headers, &params, |_| false)?;
        let token = param(&params, "token")?.ok_or_else(|| OAuthError::bad("invalid_request", "token is required"))?;
        let now = s.clock.now_secs();
        let info = match identify(&s, &token) {
            Some(Known::Access { jti, client_id, .. }) if client_id == app.consumer_key && s.tokens.is_live(&jti) => {
                s.tokens.peek(&token).filter(|c| c.exp > now).map(|c| {
                    let username = s.org.user(&c.sub).map(|u| u.username.clone());
                    json!({"active": true, "token_type": "access_token", "scope": c.scope, "client_id": c.client_id, "username": username,
                           "sub": c.sub, "aud": c.aud, "iss": c.iss, "exp": c.exp, "iat": c.iat, "jti": c.jti})
                })
            }
            Some(Known::Refresh { client_id, user_id, .. }) if client_id == app.consumer_key => {
                let username = s.org.user(&user_id).map(|u| u.username.clone());
                Some(json!({"active": true, "token_type": "refresh_token", "client_id": client_id, "username": username, "sub": user_id}))
            }
            _ => None,
        };
        Ok(info.unwrap_or_else(|| json!({"active": false})))
    })();
    match result {
        Ok(v) => axum::Json(v).into_response(),
        Err(e) => e.into_response(),
    }
}

pub async fn userinfo(State(s): State<Arc<MockOrg>>, headers: HeaderMap) -> Response {
    let token = bearer(headers.get("authorization").and_then(|v| v.to_str().ok()));
    let claims = token.and_then(|t| s.tokens.verify(&s.clock, t, &s.rest_audience()).ok());
    let Some(c) = claims.filter(|c| s.store_read().user_is_usable(&s.org, &c.sub)) else {
        return SfError::new(403, "Bad_OAuth_Token", "Bad_OAuth_Token").into_response();
    };
    let Some(u) = s.org.user(&c.sub) else { return SfError::invalid_session().into_response() };
    axum::Json(json!({
        "sub": format!("{}/id/{}/{}", s.base_url(), s.org.id, u.id),
        "user_id": u.id, "organization_id": s.org.id, "preferred_username": u.username,
        "email": u.email, "name": format!("{} {}", u.first_name.clone().unwrap_or_default(), u.last_name).trim(),
    }))
    .into_response()
}

pub async fn jwks(State(s): State<Arc<MockOrg>>) -> Response {
    axum::Json(s.tokens.jwks()).into_response()
}

pub async fn metadata(State(s): State<Arc<MockOrg>>) -> Response {
    let b = s.base_url();
    let mut grants = vec!["authorization_code", "refresh_token"];
    if s.org.apps.iter().any(|a| a.is_client_credentials_flow_enabled) {
        grants.push("client_credentials");
    }
    let mut scopes: Vec<&str> = s.org.apps.iter().flat_map(|a| a.scopes.iter().map(String::as_str)).collect();
    scopes.sort();
    scopes.dedup();
    let mut issuer = s.tokens.issuer().to_string();
    if s.fault(Fault::MetadataIssuerMismatch) {
        issuer.push('/');
    }
    let pkce_methods: &[&str] = if s.fault(Fault::MetadataAdvertisesPlain) { &["S256", "plain"] } else { &["S256"] };
    let mut doc = json!({
        "issuer": issuer,
        "authorization_endpoint": format!("{b}/services/oauth2/authorize"),
        "token_endpoint": format!("{b}/services/oauth2/token"),
        "revocation_endpoint": format!("{b}/services/oauth2/revoke"),
        "introspection_endpoint": format!("{b}/services/oauth2/introspect"),
        "userinfo_endpoint": format!("{b}/services/oauth2/userinfo"),
        "jwks_uri": format!("{b}/id/keys"),
        "response_types_supported": ["code"],
        "response_modes_supported": ["query"],
        "grant_types_supported": grants,
        "code_challenge_methods_supported": pkce_methods,
        "scopes_supported": scopes,
        "token_endpoint_auth_methods_supported": ["none", "client_secret_post", "client_secret_basic"],
        "authorization_response_iss_parameter_supported": true,
        "subject_types_supported": ["public"],
    });
    if s.fault(Fault::MetadataNoRevocation) {
        doc.as_object_mut().map(|m| m.remove("revocation_endpoint"));
    }
    axum::Json(doc).into_response()
}
