//! The REST API under `/services/data/vNN.N/`, in Salesforce's wire shapes. Handlers are thin:
//! they decode the request, then hand the operation to the enforcement pipeline.

use crate::access::Access;
use crate::audit::{ApiFamily, ExecutionMode, RequestMeta};
use crate::data::Data;
use crate::error::SfError;
use crate::faults::Fault;
use crate::model::parse_api_version;
use crate::pipeline::{Caller, Outcome, Surface, bearer};
use crate::{MockOrg, REST_SCOPES};
use axum::Router;
use axum::body::Bytes;
use axum::extract::rejection::BytesRejection;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, HeaderValue, Method, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::{Value, json};
use std::sync::Arc;

type Shared = State<Arc<MockOrg>>;

/// A successful REST answer: status and optional JSON body.
pub struct Reply {
    status: u16,
    body: Option<Value>,
    /// A CSV body instead of JSON (an event log file's LogFile).
    csv: Option<String>,
}

impl Reply {
    fn ok(body: Value) -> Self {
        Reply { status: 200, body: Some(body), csv: None }
    }

    pub(crate) fn json(status: u16, body: Value) -> Self {
        Reply { status, body: Some(body), csv: None }
    }

    pub(crate) fn empty(status: u16) -> Self {
        Reply { status, body: None, csv: None }
    }
}

impl Outcome for Reply {
    fn status(&self) -> u16 {
        self.status
    }
}

impl IntoResponse for Reply {
    fn into_response(self) -> Response {
        let status = axum::http::StatusCode::from_u16(self.status).unwrap_or(axum::http::StatusCode::OK);
        match (self.body, self.csv) {
            (_, Some(csv)) => (status, [(axum::http::header::CONTENT_TYPE, "text/csv")], csv).into_response(),
            (Some(b), None) => (status, axum::Json(b)).into_response(),
            (None, None) => status.into_response(),
        }
    }
}

pub fn routes() -> Router<Arc<MockOrg>> {
    Router::new()
        .route("/services/data", get(versions))
        .route("/services/data/", get(versions))
        .route("/services/data/{version}", get(resources))
        .route("/services/data/{version}/", get(resources))
        .route("/services/data/{version}/sobjects", get(describe_global))
        .route("/services/data/{version}/sobjects/", get(describe_global))
        .route("/services/data/{version}/sobjects/{object}", axum::routing::post(create))
        .route("/services/data/{version}/sobjects/{object}/describe", get(describe))
        .route("/services/data/{version}/sobjects/{object}/{id}", get(read).patch(update).delete(delete))
        .route("/services/data/{version}/sobjects/{object}/{id}/{field}", get(blob))
        .route("/services/data/{version}/query", get(query))
        .route("/services/data/{version}/query/", get(query))
}

/// The request id the audit record carries: the client's `X-Request-Id` when it is a sane token
/// (at most 64 characters of a safe set), so a harness can find its own requests, else one of
/// ours. REST echoes it in the response; MCP records it the same way.
pub(crate) fn request_id(s: &MockOrg, headers: &HeaderMap) -> String {
    headers
        .get("x-request-id")
        .and_then(|v| v.to_str().ok())
        .filter(|v| {
            !v.is_empty()
                && v.len() <= 64
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'.')
        })
        .map(str::to_string)
        .unwrap_or_else(|| s.next_request_id())
}

/// Runs one REST call through the pipeline in user mode; `op` gets the data layer as the caller.
pub(crate) fn call(
    s: &MockOrg,
    headers: &HeaderMap,
    method: &Method,
    uri: &Uri,
    version: &str,
    op: impl FnOnce(&Data, &mut crate::audit::Trace) -> Result<Reply, SfError>,
) -> Response {
    let id = request_id(s, headers);
    let meta = RequestMeta {
        request_id: id.clone(),
        api_family: ApiFamily::Rest,
        method: method.to_string(),
        resource: uri.path().to_string(),
        tool: None,
    };
    let surface = Surface {
        checks: crate::tokens::Checks::STRICT,
        audience: s.rest_audience(),
        scopes: if s.fault(Fault::RestServesMcpTokens) { &["api", "full", "mcp_api"] as &[&str] } else { REST_SCOPES },
        scope_error: || SfError::new(401, "INVALID_SESSION_ID", "This session is not valid for use with the REST API"),
    };
    let token = bearer(headers.get("authorization").and_then(|v| v.to_str().ok()));
    let result = s.enforce(meta, ExecutionMode::User, token, &surface, |caller, trace| {
        parse_api_version(version.strip_prefix('v').unwrap_or("x"))
            .filter(|v| (s.org.min_api_version..=s.org.max_api_version).contains(v))
            .ok_or_else(SfError::not_found)?;
        // Under `rest-serves-mcp-tokens` a token without a REST scope runs as the integration user.
        let mcp_only = !REST_SCOPES.iter().any(|x| caller.claims.has_scope(x));
        let user = match s.org.users.first() {
            Some(integration) if mcp_only => integration,
            _ => &caller.user,
        };
        let relax = crate::access::Relax { fields: s.fault(Fault::RestIgnoresFls), ..Default::default() };
        let access = Access::for_user(&s.org, user).relaxed(relax);
        op(&data(s, &access, caller, version), trace)
    });
    let mut response = match result {
        Ok(r) => r.into_response(),
        Err(e) => e.into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert("x-request-id", v);
    }
    response
}

fn data<'a>(s: &'a MockOrg, access: &'a Access<'a>, c: &'a Caller, version: &'a str) -> Data<'a> {
    Data { org: &s.org, access, version, actor: &c.user.id, now_ms: s.clock.now_ms() }
}

fn version_label(tenths: u32) -> String {
    format!("{}.0", tenths / 10)
}

async fn versions(State(s): Shared) -> Response {
    let list: Vec<Value> = (s.org.min_api_version / 10..=s.org.max_api_version / 10)
        .map(|v| {
            let label = version_label(v * 10);
            json!({"label": format!("v{label}"), "url": format!("/services/data/v{label}"), "version": label})
        })
        .collect();
    axum::Json(list).into_response()
}

async fn resources(
    State(s): Shared,
    SfPath(version): SfPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |_, _| {
        Ok(Reply::ok(
            json!({"sobjects": format!("/services/data/{version}/sobjects"), "query": format!("/services/data/{version}/query")}),
        ))
    })
}

async fn describe_global(
    State(s): Shared,
    SfPath(version): SfPath<String>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, _| Ok(Reply::ok(d.describe_global())))
}

async fn describe(
    State(s): Shared,
    SfPath((version, object)): SfPath<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| d.describe(&object, trace).map(Reply::ok))
}

async fn read(
    State(s): Shared,
    SfPath((version, object, id)): SfPath<(String, String, String)>,
    RawQuery(q): RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| {
        let fields = query_param(q.as_deref(), "fields")?;
        let store = s.store_read();
        d.get(&store, &object, &id, fields.as_deref(), trace).map(Reply::ok)
    })
}

/// A record's blob field: the mock has one, an event log file's `LogFile` (its CSV). Anything
/// else, or a file the caller may not read, is the platform's 404.
async fn blob(
    State(s): Shared,
    SfPath((version, object, id, field)): SfPath<(String, String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| {
        let schema = d.org.object(&object).filter(|o| o.builtin == Some(crate::model::Builtin::EventLogFile));
        let readable = schema.is_some_and(|o| d.access.object(o).read);
        trace.object = Some(object.clone());
        match crate::event_log::log_file(d.org, &s.audit, &id) {
            Some(csv) if readable && field == "LogFile" => Ok(Reply { status: 200, body: None, csv: Some(csv) }),
            _ => Err(SfError::not_found()),
        }
    })
}

async fn query(
    State(s): Shared,
    SfPath(version): SfPath<String>,
    RawQuery(q): RawQuery,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| {
        let soql = query_param(q.as_deref(), "q")?
            .filter(|q| !q.trim().is_empty())
            .ok_or_else(|| SfError::new(400, "MALFORMED_QUERY", "A query string has to be specified"))?;
        let store = s.store_read();
        d.query(&store, &s.audit, &soql, trace).map(Reply::ok)
    })
}

async fn create(
    State(s): Shared,
    SfPath((version, object)): SfPath<(String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| {
        let body = json_body(body)?;
        let mut store = s.store_write();
        let created = d.create(&mut store, &object, &body, trace)?;
        Ok(Reply::json(201, created))
    })
}

async fn update(
    State(s): Shared,
    SfPath((version, object, id)): SfPath<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| {
        let body = json_body(body)?;
        let effects = {
            let mut store = s.store_write();
            d.update(&mut store, &object, &id, &body, trace)?
        };
        s.apply(effects);
        Ok(Reply::empty(204))
    })
}

async fn delete(
    State(s): Shared,
    SfPath((version, object, id)): SfPath<(String, String, String)>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    call(&s, &headers, &method, &uri, &version, |d, trace| {
        let effects = {
            let mut store = s.store_write();
            d.delete(&mut store, &object, &id, trace)?
        };
        s.apply(effects);
        Ok(Reply::empty(204))
    })
}

/// Unknown paths: under the data API they go through the pipeline (so they are authenticated and
/// audited like any call) and end in NOT_FOUND; elsewhere a bare NOT_FOUND.
pub async fn fallback(State(s): Shared, method: Method, uri: Uri, headers: HeaderMap) -> Response {
    let path = uri.path().to_string();
    match path.strip_prefix("/services/data/").map(|rest| rest.split('/').next().unwrap_or_default().to_string()) {
        Some(version) if !version.is_empty() => {
            call(&s, &headers, &method, &uri, &version, |_, _| Err(SfError::not_found()))
        }
        _ => SfError::not_found().into_response(),
    }
}

pub async fn method_not_allowed(method: Method) -> Response {
    SfError::new(405, "METHOD_NOT_ALLOWED", format!("HTTP Method '{method}' not allowed.")).into_response()
}

fn query_param(raw: Option<&str>, name: &str) -> Result<Option<String>, SfError> {
    let pairs = crate::form::pairs(raw.unwrap_or_default()).map_err(|e| SfError::new(400, "MALFORMED_QUERY", e))?;
    Ok(pairs.into_iter().find(|(k, _)| k == name).map(|(_, v)| v))
}

fn json_body(body: Result<Bytes, BytesRejection>) -> Result<Value, SfError> {
    let bytes = body.map_err(|e| {
        if e.status() == axum::http::StatusCode::PAYLOAD_TOO_LARGE {
            SfError::new(413, "REQUEST_ENTITY_TOO_LARGE", "The request body exceeds the maximum size this org accepts")
        } else {
            SfError::json(format!("The request body could not be read: {e}"))
        }
    })?;
    serde_json::from_slice(&bytes).map_err(|e| SfError::json(format!("Invalid JSON in the request body: {e}")))
}

/// Path parameters. A segment that does not decode (`%FF`) names no resource: Salesforce's 404 in
/// its own shape, never the framework's plain text.
pub struct SfPath<T>(pub T);

impl<T, S> axum::extract::FromRequestParts<S> for SfPath<T>
where
    T: serde::de::DeserializeOwned + Send,
    S: Send + Sync,
{
    type Rejection = SfError;

    async fn from_request_parts(parts: &mut axum::http::request::Parts, state: &S) -> Result<Self, SfError> {
        axum::extract::Path::<T>::from_request_parts(parts, state)
            .await
            .map(|axum::extract::Path(t)| SfPath(t))
            .map_err(|_| SfError::not_found())
    }
}
