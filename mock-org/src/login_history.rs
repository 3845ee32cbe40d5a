//! `LoginHistory`, as the platform keeps it: one row per login attempt, successful or failed,
//! naming the user, when, how (`LoginType`), through which app (`Application`) and how it ended
//! (`Status`: `Success`, or why it failed). Readable with Manage Users (all rows) and by every
//! user for their own rows (Object Reference: LoginHistory, API 37.0 and later). Written as the
//! attempt is judged, so a reader finds it at once.

use crate::clock::format_datetime;
use crate::faults::Fault;
use crate::model::FieldKind;
use crate::store::Record;
use crate::{MockOrg, ids};
use serde_json::json;
use std::collections::VecDeque;
use std::sync::Mutex;

/// How many attempts are kept: the newest.
pub const RETAINED: usize = 20_000;

/// What a login through an OAuth app is recorded as.
pub const REMOTE_ACCESS: &str = "Remote Access 2.0";
pub const SUCCESS: &str = "Success";
/// The statuses the platform's Login event documents for these failures (LOGIN_STATUS values),
/// and the one Salesforce Help names for a blocked username-password flow.
pub const INVALID_PASSWORD: &str = "Invalid Password";
pub const PASSWORD_FLOW_DISABLED: &str = "Username-Password Flow Disabled";

/// The fields SOQL reads, in describe order.
pub const FIELDS: &[(&str, FieldKind)] = &[
    ("Id", FieldKind::Id),
    ("UserId", FieldKind::Reference),
    ("LoginTime", FieldKind::DateTime),
    ("LoginType", FieldKind::String),
    ("Status", FieldKind::String),
    ("Application", FieldKind::String),
    ("SourceIp", FieldKind::String),
    ("LoginUrl", FieldKind::String),
];

#[derive(Debug, Clone)]
struct Attempt {
    id: String,
    user_id: String,
    time_ms: i64,
    status: &'static str,
    application: Option<String>,
    login_url: String,
}

#[derive(Debug, Default)]
pub struct LoginHistory {
    inner: Mutex<(u64, VecDeque<Attempt>)>,
}

impl LoginHistory {
    /// Every retained attempt as a `LoginHistory` row, oldest first.
    pub fn rows(&self) -> Vec<Record> {
        let kept = self.inner.lock().unwrap_or_else(|p| p.into_inner());
        kept.1
            .iter()
            .map(|a| {
                let fields = [
                    ("Id", json!(a.id)),
                    ("UserId", json!(a.user_id)),
                    ("LoginTime", json!(format_datetime(a.time_ms))),
                    ("LoginType", json!(REMOTE_ACCESS)),
                    ("Status", json!(a.status)),
                    ("Application", a.application.clone().map(serde_json::Value::String).unwrap_or_default()),
                    ("SourceIp", json!("127.0.0.1")),
                    ("LoginUrl", json!(a.login_url)),
                ];
                let fields = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                Record { object: "LoginHistory".into(), id: a.id.clone(), fields }
            })
            .collect()
    }
}

impl MockOrg {
    /// Records one login attempt of `user_id` through the app with consumer key `client_id`.
    /// `login-history-off` records none; `login-history-misses-refusals` none that failed.
    pub fn record_login(&self, user_id: &str, client_id: Option<&str>, status: &'static str) {
        if self.fault(Fault::LoginHistoryOff) || (status != SUCCESS && self.fault(Fault::LoginHistoryMissesRefusals)) {
            return;
        }
        let application = client_id.and_then(|c| self.org.app_by_consumer_key(c)).map(|a| a.name.clone());
        // The platform's LoginUrl is the host the user signed in at.
        let login_url = self.base_url().split("://").nth(1).unwrap_or_default().to_string();
        let mut kept = self.audit.logins.inner.lock().unwrap_or_else(|p| p.into_inner());
        kept.0 += 1;
        let id = ids::make("0Ya", kept.0);
        if kept.1.len() == RETAINED {
            kept.1.pop_front();
        }
        let time_ms = self.clock.now_ms();
        let attempt = Attempt { id, user_id: user_id.to_string(), time_ms, status, application, login_url };
        kept.1.push_back(attempt);
    }
}
