//! Event log files, as Salesforce's Event Monitoring serves them: `EventLogFile` rows of
//! `EventType = 'ApiTotalUsage'`, one per hour (`Interval = 'Hourly'`) and one per day (`'Daily'`)
//! that saw API traffic, each with a CSV at `/sobjects/EventLogFile/<id>/LogFile`. The rows come
//! from the mock's audit log, so the audit faults show in them as they would on the platform.
//! `REQUEST_ID` is the org's own id for the call (the audit record's), not the client's
//! `X-Request-Id`: a reconciler must find its calls the way it would on a real org. The mock's
//! files appear at once and complete (`Sequence` 1); the platform's come hours late.

use crate::audit::{ApiFamily, AuditLog, AuditRecord};
use crate::clock::format_datetime;
use crate::model::Org;
use crate::store::Record;
use serde_json::json;

const HOUR_MS: i64 = 3_600_000;
const DAY_MS: i64 = 24 * HOUR_MS;
/// Daily files' ids sit above every hourly one's.
const DAILY_IDS: u64 = 1 << 40;

/// The CSV's columns, in order (a subset of the platform's ApiTotalUsage fields).
pub const COLUMNS: &[&str] = &[
    "EVENT_TYPE",
    "TIMESTAMP",
    "TIMESTAMP_DERIVED",
    "REQUEST_ID",
    "ORGANIZATION_ID",
    "USER_ID",
    "API_FAMILY",
    "API_CLIENT_CATEGORY",
    "HTTP_METHOD",
    "URI",
    "ENTITY_NAME",
    "STATUS_CODE",
    "CONNECTED_APP_ID",
    "CONNECTED_APP_NAME",
    "SESSION_KEY",
];

/// One file: its interval's start, whether hourly, and its rows' audit records.
struct File {
    id: String,
    start_ms: i64,
    hourly: bool,
    records: Vec<AuditRecord>,
}

fn files(audit: &AuditLog) -> Vec<File> {
    let api: Vec<AuditRecord> = audit.snapshot().into_iter().filter(|r| r.api_family != ApiFamily::OAuth).collect();
    let mut out: Vec<File> = Vec::new();
    for (hourly, span) in [(true, HOUR_MS), (false, DAY_MS)] {
        let mut starts: Vec<i64> = api.iter().map(|r| r.timestamp_ms.div_euclid(span) * span).collect();
        starts.dedup();
        starts.sort();
        starts.dedup();
        for start in starts {
            let index = (start / span) as u64;
            out.push(File {
                id: crate::ids::make("0AT", if hourly { index } else { DAILY_IDS + index }),
                start_ms: start,
                hourly,
                records: api.iter().filter(|r| r.timestamp_ms.div_euclid(span) * span == start).cloned().collect(),
            });
        }
    }
    out
}

/// The `EventLogFile` rows, as SOQL reads them.
pub fn rows(org: &Org, audit: &AuditLog) -> Vec<Record> {
    files(audit)
        .iter()
        .map(|f| {
            let fields = [
                ("Id", json!(f.id)),
                ("EventType", json!("ApiTotalUsage")),
                ("LogDate", json!(format_datetime(f.start_ms))),
                ("Interval", json!(if f.hourly { "Hourly" } else { "Daily" })),
                ("Sequence", json!(1)),
                ("LogFileLength", json!(csv_of(org, f).len())),
            ];
            Record {
                object: "EventLogFile".into(),
                id: f.id.clone(),
                fields: fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect(),
            }
        })
        .collect()
}

/// The CSV of the file with this id (15 or 18 characters), if there is one.
pub fn log_file(org: &Org, audit: &AuditLog, id: &str) -> Option<String> {
    let id = crate::ids::to18(id)?;
    files(audit).iter().find(|f| f.id == id).map(|f| csv_of(org, f))
}

/// `20261201153012.123`: the platform's TIMESTAMP.
fn timestamp(ms: i64) -> String {
    let iso = format_datetime(ms);
    let digits: String = iso[..19].chars().filter(char::is_ascii_digit).collect();
    format!("{digits}.{}", &iso[20..23])
}

fn csv_of(org: &Org, f: &File) -> String {
    let quote = |v: &str| format!("\"{}\"", v.replace('"', "\"\""));
    let mut out = COLUMNS.iter().map(|c| quote(c)).collect::<Vec<_>>().join(",");
    out.push('\n');
    for r in &f.records {
        let app = r.client_id.as_deref().and_then(|key| org.apps.iter().position(|a| a.consumer_key == key));
        let mcp = r.api_family == ApiFamily::Mcp;
        let values = [
            "ApiTotalUsage".to_string(),
            timestamp(r.timestamp_ms),
            format_datetime(r.timestamp_ms).replace("+0000", "Z"),
            r.id.clone(),
            org.id.clone(),
            // The platform's USER_ID is the 15-character id.
            r.user_id.as_deref().and_then(|u| u.get(..15)).unwrap_or_default().to_string(),
            if mcp { "MCP" } else { "REST" }.to_string(),
            if mcp { "SALESFORCE_HOSTED_MCP" } else { "" }.to_string(),
            // An MCP call is an HTTP POST (the audit record names its JSON-RPC method).
            if mcp { "POST".to_string() } else { r.method.clone() },
            r.resource.clone(),
            r.object.clone().unwrap_or_default(),
            r.status.to_string(),
            app.map(crate::connect::app_id).unwrap_or_default(),
            r.client_app_name.clone().unwrap_or_default(),
            r.token_id.clone().unwrap_or_default(),
        ];
        out.push_str(&values.iter().map(|v| quote(v)).collect::<Vec<_>>().join(","));
        out.push('\n');
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_are_the_platforms_compact_form() {
        assert_eq!(timestamp(1_795_446_245_123), "20261123150405.123");
    }
}
