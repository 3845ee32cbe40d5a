//! The audit log, the mock's Event Monitoring: one record per API call, tool call or OAuth event.
//! Records name the token by its id (`jti`), never by its value.

use crate::clock::format_datetime;
use crate::ids;
use crate::model::FieldKind;
use serde::Serialize;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Mutex;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ApiFamily {
    #[serde(rename = "REST")]
    Rest,
    #[serde(rename = "MCP")]
    Mcp,
    #[serde(rename = "OAuth")]
    OAuth,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum ExecutionMode {
    #[serde(rename = "user")]
    User,
    #[serde(rename = "system")]
    System,
}

/// What a request was; the pipeline fills in who made it and how it ended.
#[derive(Debug, Clone)]
pub struct RequestMeta {
    pub request_id: String,
    pub api_family: ApiFamily,
    pub method: String,
    pub resource: String,
    pub tool: Option<String>,
}

/// What the operation touched, filled in by the data layer as it works.
#[derive(Debug, Clone, Default)]
pub struct Trace {
    pub object: Option<String>,
    pub operation: Option<&'static str>,
    pub record_ids: Vec<String>,
}

#[derive(Debug, Clone, Serialize)]
pub struct AuditRecord {
    pub id: String,
    pub timestamp_ms: i64,
    pub request_id: String,
    pub user_id: Option<String>,
    pub username: Option<String>,
    pub client_app_name: Option<String>,
    pub client_id: Option<String>,
    pub token_id: Option<String>,
    pub api_family: ApiFamily,
    pub resource: String,
    pub method: String,
    pub status: u16,
    pub object: Option<String>,
    pub operation: Option<String>,
    pub record_ids: Vec<String>,
    /// "allowed" or "denied".
    pub outcome: &'static str,
    pub denial_code: Option<String>,
    pub execution_mode: ExecutionMode,
    pub tool: Option<String>,
}

/// The ApiEvent fields the audit log exposes to SOQL, in describe order.
pub const EVENT_FIELDS: &[(&str, FieldKind)] = &[
    ("Id", FieldKind::Id),
    ("EventDate", FieldKind::DateTime),
    ("RequestIdentifier", FieldKind::String),
    ("UserId", FieldKind::Reference),
    ("Username", FieldKind::String),
    ("ConnectedAppName", FieldKind::String),
    ("ClientId", FieldKind::String),
    ("TokenId", FieldKind::String),
    ("ApiFamily", FieldKind::String),
    ("Resource", FieldKind::String),
    ("HttpMethod", FieldKind::String),
    ("StatusCode", FieldKind::Double),
    ("QueriedEntities", FieldKind::String),
    ("Operation", FieldKind::String),
    ("Records", FieldKind::String),
    ("Outcome", FieldKind::String),
    ("DenialCode", FieldKind::String),
    ("ExecutionMode", FieldKind::String),
    ("ToolName", FieldKind::String),
];

impl AuditRecord {
    /// The record as an ApiEvent row for SOQL and the REST API.
    pub fn to_fields(&self) -> BTreeMap<String, Value> {
        let opt = |v: &Option<String>| v.clone().map(Value::String).unwrap_or(Value::Null);
        let family = serde_json::to_value(self.api_family).unwrap_or(Value::Null);
        let mode = serde_json::to_value(self.execution_mode).unwrap_or(Value::Null);
        let pairs = [
            ("Id", json!(self.id)),
            ("EventDate", json!(format_datetime(self.timestamp_ms))),
            ("RequestIdentifier", json!(self.request_id)),
            ("UserId", opt(&self.user_id)),
            ("Username", opt(&self.username)),
            ("ConnectedAppName", opt(&self.client_app_name)),
            ("ClientId", opt(&self.client_id)),
            ("TokenId", opt(&self.token_id)),
            ("ApiFamily", family),
            ("Resource", json!(self.resource)),
            ("HttpMethod", json!(self.method)),
            ("StatusCode", json!(self.status)),
            ("QueriedEntities", opt(&self.object)),
            ("Operation", opt(&self.operation)),
            ("Records", if self.record_ids.is_empty() { Value::Null } else { json!(self.record_ids.join(",")) }),
            ("Outcome", json!(self.outcome)),
            ("DenialCode", opt(&self.denial_code)),
            ("ExecutionMode", mode),
            ("ToolName", opt(&self.tool)),
        ];
        pairs.into_iter().map(|(k, v)| (k.to_string(), v)).collect()
    }
}

/// Append-only; a mutex rather than a lock-free queue because a record must never be lost or
/// reordered relative to the response that reports it.
#[derive(Debug, Default)]
pub struct AuditLog {
    records: Mutex<Vec<AuditRecord>>,
}

impl AuditLog {
    /// Stores the record, giving it the next ApiEvent id.
    pub fn append(&self, mut record: AuditRecord) {
        let mut records = self.records.lock().unwrap_or_else(|p| p.into_inner());
        record.id = ids::make("3AE", records.len() as u64 + 1);
        records.push(record);
    }

    pub fn snapshot(&self) -> Vec<AuditRecord> {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).clone()
    }

    pub fn len(&self) -> usize {
        self.records.lock().unwrap_or_else(|p| p.into_inner()).len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}
