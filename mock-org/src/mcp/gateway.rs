//! The API host's gateway in front of the hosted MCP servers: its error bodies are neither
//! OAuth's nor the REST API's. The platform's, as reported for the hosted servers:
//! `{"errors":[{"message":"JWT Token is required"}]}` (401 without a token) and
//! `{"error":{"code":404,"message":"Server definition not found for: …"}}` (no such server).
//! RFC 6750's error codes travel in the `WWW-Authenticate` challenge, not in the body.

use axum::http::{StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};

/// What the gateway says when a request came with no bearer token.
pub const TOKEN_REQUIRED: &str = "JWT Token is required";

/// The gateway's refusal body: one message in an `errors` array.
pub fn errors(message: &str) -> Value {
    json!({"errors": [{"message": message}]})
}

/// The gateway's 404 for a path that names no server definition.
pub async fn not_found(uri: Uri) -> Response {
    let message = format!("Server definition not found for: {}", uri.path());
    (StatusCode::NOT_FOUND, axum::Json(json!({"error": {"code": 404, "message": message}}))).into_response()
}
