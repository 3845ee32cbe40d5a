//! Under `mcp-answers-by-rpc-id`: a gateway in front of the MCP servers that multiplexes its
//! callers onto the server and matches answers to callers by JSON-RPC id alone. It gathers
//! requests for a short batching window; a caller whose request carries an id that another
//! caller's request, still pending, carries gets that one's answer. Clients each number their
//! requests from 1, so two clients at once collide (HG-ISO-02); a client alone never does.

use axum::body::{Body, Bytes};
use axum::extract::Request;
use axum::http::{HeaderMap, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Mutex;
use tokio::sync::watch;

/// How long the gateway gathers requests before it forwards them.
/// Long enough that clients sending together on a loaded machine land in one window.
const WINDOW: std::time::Duration = std::time::Duration::from_millis(50);

type Answer = Option<(StatusCode, HeaderMap, Bytes)>;

/// The requests pending at the gateway, by server and JSON-RPC id.
#[derive(Default)]
pub struct Pending(Mutex<HashMap<(String, String), watch::Receiver<Answer>>>);

impl Pending {
    /// Serves the request as the gateway would: joined to a pending request with its id, or
    /// forwarded after the window and its answer handed to every caller who joined it.
    pub async fn serve(&self, server: &str, req: Request, next: Next, limit: usize) -> Response {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, limit).await else {
            return StatusCode::PAYLOAD_TOO_LARGE.into_response();
        };
        let id =
            serde_json::from_slice::<serde_json::Value>(&bytes).ok().and_then(|v| v.get("id").map(|i| i.to_string()));
        let req = Request::from_parts(parts, Body::from(bytes));
        let Some(id) = id else { return next.run(req).await };
        let key = (server.to_string(), id);
        let joined = self.0.lock().unwrap_or_else(|p| p.into_inner()).get(&key).cloned();
        if let Some(mut answer) = joined {
            let Ok(a) = answer.wait_for(Option::is_some).await else {
                return StatusCode::BAD_GATEWAY.into_response();
            };
            let (status, headers, body) = a.clone().expect("waited for an answer");
            let mut r = Response::new(Body::from(body));
            *r.status_mut() = status;
            *r.headers_mut() = headers;
            return r;
        }
        let (tx, rx) = watch::channel(None);
        self.0.lock().unwrap_or_else(|p| p.into_inner()).insert(key.clone(), rx);
        tokio::time::sleep(WINDOW).await;
        let (parts, body) = next.run(req).await.into_parts();
        let body = axum::body::to_bytes(body, usize::MAX).await.unwrap_or_default();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).remove(&key);
        let _ = tx.send(Some((parts.status, parts.headers.clone(), body.clone())));
        Response::from_parts(parts, Body::from(body))
    }
}
