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

/// How many records the log keeps: the newest, per kind. Records of calls made as a user (what an
/// audit check looks up, right after its own calls) are kept apart from records of calls nobody
/// signed (bad or missing tokens, garbage to the OAuth endpoints), so a flood of the latter never
/// pushes out the former. Salesforce keeps event log files for a period; the mock keeps a count,
/// so its memory is bounded whatever arrives.
pub const RETAINED_ATTRIBUTED: usize = 50_000;
pub const RETAINED_ANONYMOUS: usize = 10_000;
/// Text a caller chooses (a path, a tool name) is kept up to this many bytes.
pub const FIELD_CAP: usize = 512;

/// Append-only, with the retention above; a mutex rather than a lock-free queue because a record
/// must never be lost or reordered relative to the response that reports it.
#[derive(Debug, Default)]
pub struct AuditLog {
    inner: Mutex<Retained>,
    /// Login attempts, kept apart as the platform's `LoginHistory`.
    pub logins: crate::login_history::LoginHistory,
}

#[derive(Debug, Default)]
struct Retained {
    appended: u64,
    /// (sequence number, record), oldest first.
    attributed: std::collections::VecDeque<(u64, AuditRecord)>,
    anonymous: std::collections::VecDeque<(u64, AuditRecord)>,
}

impl AuditLog {
    /// Stores the record, giving it the next ApiEvent id; drops the oldest of its kind past the
    /// retention.
    pub fn append(&self, mut record: AuditRecord) {
        let mut r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        r.appended += 1;
        record.id = ids::make("3AE", r.appended);
        for text in [&mut record.resource, &mut record.request_id].into_iter().chain(record.tool.as_mut()) {
            clip(text);
        }
        let seq = r.appended;
        let (kept, cap) = match record.user_id.is_some() {
            true => (&mut r.attributed, RETAINED_ATTRIBUTED),
            false => (&mut r.anonymous, RETAINED_ANONYMOUS),
        };
        if kept.len() == cap {
            kept.pop_front();
        }
        kept.push_back((seq, record));
    }

    /// Every retained record, oldest first.
    pub fn snapshot(&self) -> Vec<AuditRecord> {
        let r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        let mut all: Vec<&(u64, AuditRecord)> = r.attributed.iter().chain(r.anonymous.iter()).collect();
        all.sort_by_key(|(seq, _)| *seq);
        all.into_iter().map(|(_, record)| record.clone()).collect()
    }

    /// Records retained.
    pub fn len(&self) -> usize {
        let r = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        r.attributed.len() + r.anonymous.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

/// Cuts a caller's text to `FIELD_CAP` bytes at a character boundary, marking the cut.
fn clip(text: &mut String) {
    if text.len() > FIELD_CAP {
        let mut end = FIELD_CAP;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn record(user: Option<&str>, resource: &str) -> AuditRecord {
        AuditRecord {
            id: String::new(),
            timestamp_ms: 0,
            request_id: "r".into(),
            user_id: user.map(str::to_string),
            username: None,
            client_app_name: None,
            client_id: None,
            token_id: None,
            api_family: ApiFamily::Rest,
            resource: resource.into(),
            method: "GET".into(),
            status: 401,
            object: None,
            operation: None,
            record_ids: Vec::new(),
            outcome: "denied",
            denial_code: None,
            execution_mode: ExecutionMode::User,
            tool: None,
        }
    }

    #[test]
    fn a_flood_of_unsigned_calls_never_pushes_out_a_users_records_and_stays_bounded() {
        let log = AuditLog::default();
        log.append(record(Some("005A"), "/services/data/v66.0/query"));
        for _ in 0..RETAINED_ANONYMOUS + 500 {
            log.append(record(None, &"x".repeat(10_000)));
        }
        let all = log.snapshot();
        assert_eq!(all.len(), RETAINED_ANONYMOUS + 1);
        assert_eq!(all[0].user_id.as_deref(), Some("005A"), "the user's record is kept, first");
        assert!(all.iter().all(|r| r.resource.len() <= FIELD_CAP + '…'.len_utf8()));
        assert_eq!(all.last().unwrap().id, ids::make("3AE", RETAINED_ANONYMOUS as u64 + 501));
    }
}
