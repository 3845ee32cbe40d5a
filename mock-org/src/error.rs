//! Salesforce's error shape: a JSON array of `{message, errorCode, fields}` with an HTTP status.

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde::Serialize;

#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SfError {
    #[serde(skip)]
    pub status: u16,
    #[serde(rename = "errorCode")]
    pub error_code: &'static str,
    pub message: String,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub fields: Vec<String>,
    /// Seconds until a rate-limited caller may try again (`Retry-After`).
    #[serde(skip)]
    pub retry_after_secs: Option<u64>,
}

impl SfError {
    pub fn new(status: u16, error_code: &'static str, message: impl Into<String>) -> Self {
        Self { status, error_code, message: message.into(), fields: Vec::new(), retry_after_secs: None }
    }

    pub fn with_fields(mut self, fields: Vec<String>) -> Self {
        self.fields = fields;
        self
    }

    pub fn invalid_session() -> Self {
        Self::new(401, "INVALID_SESSION_ID", "Session expired or invalid")
    }

    pub fn not_found() -> Self {
        Self::new(404, "NOT_FOUND", "The requested resource does not exist")
    }

    pub fn invalid_type(object: &str) -> Self {
        Self::new(
            400,
            "INVALID_TYPE",
            format!(
                "sObject type '{object}' is not supported. If you are attempting to use a custom object, be sure to append the '__c' after the entity name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
    }

    pub fn no_such_column(field: &str, object: &str) -> Self {
        Self::new(
            400,
            "INVALID_FIELD",
            format!(
                "No such column '{field}' on sobject of type {object}. If you are attempting to use a custom field, be sure to append the '__c' after the custom field name. Please reference your WSDL or the describe call for the appropriate names."
            ),
        )
        .with_fields(vec![field.to_string()])
    }

    pub fn insufficient_access() -> Self {
        Self::new(400, "INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")
    }

    pub fn read_only_fields(fields: Vec<String>) -> Self {
        Self::new(
            400,
            "INVALID_FIELD_FOR_INSERT_UPDATE",
            format!(
                "Unable to create/update fields: {}. Please check the security settings of this field and verify that it is read/write for your profile or permission set.",
                fields.join(", ")
            ),
        )
        .with_fields(fields)
    }

    pub fn malformed_id(object: &str, id: &str) -> Self {
        Self::new(400, "MALFORMED_ID", format!("{object} ID: id value of incorrect type: {id}"))
    }

    pub fn json(message: impl Into<String>) -> Self {
        Self::new(400, "JSON_PARSER_ERROR", message)
    }

    pub fn status_code(&self) -> StatusCode {
        StatusCode::from_u16(self.status).unwrap_or(StatusCode::BAD_REQUEST)
    }
}

impl std::fmt::Display for SfError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} {}: {}", self.status, self.error_code, self.message)
    }
}

impl IntoResponse for SfError {
    fn into_response(self) -> Response {
        let mut r = (self.status_code(), axum::Json(vec![self.clone()])).into_response();
        if let Some(secs) = self.retry_after_secs {
            r.headers_mut().insert(axum::http::header::RETRY_AFTER, axum::http::HeaderValue::from(secs));
        }
        r
    }
}
