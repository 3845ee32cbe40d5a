//! The Connect REST API's OAuth usage resources for External Client Apps (API 59.0+): the list
//! of apps with usage, and the revocation of an app's tokens for one user or for every user
//! (`DELETE /apps/oauth/usage/<appId>/<userId>/tokens`, `.../<appId>/tokens`; 204). Only an
//! admin may revoke. Each call goes through the pipeline like every REST call.

use crate::MockOrg;
use crate::error::SfError;
use crate::faults::Fault;
use crate::rest::{Reply, SfPath, call};
use axum::Router;
use axum::extract::State;
use axum::http::{HeaderMap, Method, Uri};
use axum::response::Response;
use axum::routing::{delete, get};
use serde_json::json;
use std::sync::Arc;

type Shared = State<Arc<MockOrg>>;

/// An External Client App's identifier, by its place in the org file.
pub fn app_id(index: usize) -> String {
    crate::ids::make("0xI", index as u64 + 1)
}

pub fn routes() -> Router<Arc<MockOrg>> {
    Router::new()
        .route("/services/data/{version}/apps/oauth/usage", get(usage))
        .route("/services/data/{version}/apps/oauth/usage/{app}/tokens", delete(revoke_app))
        .route("/services/data/{version}/apps/oauth/usage/{app}/{user}/tokens", delete(revoke_user))
}

async fn usage(
    State(s): Shared,
    SfPath(version): SfPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, _| {
        admin_only(d)?;
        let apps: Vec<_> =
            s.org.apps.iter().enumerate().map(|(i, a)| json!({"id": app_id(i), "name": a.name})).collect();
        Ok(Reply::json(200, json!({"apps": apps})))
    })
}

async fn revoke_app(
    State(s): Shared,
    SfPath((version, app)): SfPath<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    revoking(&s, (&headers, &method, &uri, &version), &app, None)
}

async fn revoke_user(
    State(s): Shared,
    SfPath((version, app, user)): SfPath<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    revoking(&s, (&headers, &method, &uri, &version), &app, Some(&user))
}

/// Revokes the app's tokens of one user (15 or 18 characters), or of every user: 204.
fn revoking(
    s: &MockOrg,
    (headers, method, uri, version): (&HeaderMap, &Method, &Uri, &str),
    app: &str,
    user: Option<&str>,
) -> Response {
    call(s, headers, method, uri, version, |d, _| {
        admin_only(d)?;
        let consumer_key = consumer_key(s, app)?;
        let users: Vec<String> = match user {
            None => s.org.users.iter().map(|u| u.id.clone()).collect(),
            Some(id) => {
                let u = s.org.users.iter().find(|u| u.id == id || u.id.get(..15) == Some(id));
                vec![u.ok_or_else(SfError::not_found)?.id.clone()]
            }
        };
        for user in users {
            revoke(s, &user, &consumer_key);
        }
        Ok(Reply::empty(204))
    })
}

fn admin_only(d: &crate::data::Data) -> Result<(), SfError> {
    match d.access.has("ManageUsers") {
        true => Ok(()),
        false => Err(SfError::new(403, "INSUFFICIENT_ACCESS", "only an admin may read or revoke an app's OAuth usage")),
    }
}

fn consumer_key(s: &MockOrg, app: &str) -> Result<String, SfError> {
    let i = (0..s.org.apps.len()).find(|i| app_id(*i) == app || app_id(*i).get(..15) == Some(app));
    let i = i.ok_or_else(SfError::not_found)?;
    Ok(s.org.apps[i].consumer_key.clone())
}

/// The user's tokens for the app die: refresh tokens always; access tokens too, unless the
/// `connect-revoke-refresh-only` fault leaves them to their expiry.
fn revoke(s: &MockOrg, user_id: &str, consumer_key: &str) {
    if s.fault(Fault::ConnectRevokeRefreshOnly) {
        s.oauth.with(|g| {
            for f in g.families_of(user_id, Some(consumer_key)) {
                g.revoke_family(&f);
            }
        });
    } else {
        s.revoke_user_grants(user_id, Some(consumer_key));
    }
}
