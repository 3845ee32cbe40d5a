//! HG-AUD-01..04 from the org's event log files: `EventLogFile` rows of
//! `EventType = 'ApiTotalUsage'` (hourly where Event Monitoring is licensed, else daily; late
//! events come in a new file with a higher `Sequence`, so rows are deduplicated by `REQUEST_ID`),
//! each planned call found in them. The log names its own request ids, so a call is matched on
//! what both sides know: the time (within `SKEW_MS`), the API (the hosted MCP servers'
//! `API_CLIENT_CATEGORY`), the HTTP method and how it ended (a REST call's exact status; a tool call
//! refused inside a 200 as a status of 400 or more), preferring the persona's own user and the
//! object it touched. A call not found is pending while the platform's documented delay has not
//! passed, and missing after. The run's audit scenarios judge their own calls this way, and
//! `headless-gate audit reconcile` judges a run's plan later, when the files have caught up.

use crate::audit_plan::{AuditPlan, PlannedCall, fingerprint};
use crate::timestamps::{parse_datetime, parse_timestamp};
use crate::world::{GateWorld, StepError};
use serde::Serialize;
use std::collections::{BTreeMap, BTreeSet};

/// How far apart the gate's clock and the org's may put one call.
pub const SKEW_MS: i64 = 5 * 60 * 1000;
/// The platform's documented delays: hourly files appear 3 to 6 hours late, daily ones the next
/// day (here: six hours into it).
pub const HOURLY_DELAY_MS: i64 = 6 * 3_600_000;
pub const DAILY_DELAY_MS: i64 = 30 * 3_600_000;
/// The category the hosted MCP servers' calls carry in ApiTotalUsage.
pub const HOSTED_MCP: &str = "SALESFORCE_HOSTED_MCP";

/// One ApiTotalUsage row, by column.
pub type LogRow = BTreeMap<String, String>;

/// How one control came out, with a line per planned call.
#[derive(Debug, Clone, Serialize, PartialEq)]
pub struct Verdict {
    pub id: String,
    /// passed, failed, not verifiable, or pending (the log may still be coming).
    pub status: String,
    pub message: Option<String>,
    pub calls: Vec<String>,
    /// What failed, one entry a call (or a leaked credential).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub failures: Vec<String>,
}

/// What judging needs besides the plan and the rows.
pub struct Context<'a> {
    /// Username -> the user's id, as the admin read it (15 or 18 characters).
    pub user_ids: &'a BTreeMap<String, String>,
    pub now_ms: i64,
    /// How long after a call its row may still be missing.
    pub delay_ms: i64,
}

/// Rows of several files (and sequences) with each `REQUEST_ID` once.
pub fn dedupe(rows: Vec<LogRow>) -> Vec<LogRow> {
    let mut seen = BTreeSet::new();
    rows.into_iter().filter(|r| seen.insert(row_key(r))).collect()
}

/// What tells one event from another: its `REQUEST_ID`; a row without one is the same event when
/// all of it is the same.
pub fn row_key(r: &LogRow) -> String {
    match r.get("REQUEST_ID").filter(|id| !id.is_empty()) {
        Some(id) => id.clone(),
        None => format!("{r:?}"),
    }
}

/// How long after a call its row may still be missing: the target's declared delay, else the
/// platform's documented one for the files the org has.
pub fn delay_ms(configured: Option<i64>, hourly: bool) -> i64 {
    configured.unwrap_or(if hourly { HOURLY_DELAY_MS } else { DAILY_DELAY_MS })
}

fn id15(id: &str) -> &str {
    id.get(..15).unwrap_or(id)
}

/// Whether a row could be the log's record of a call (before preferring one).
fn could_be(call: &PlannedCall, row: &LogRow) -> bool {
    let field = |k: &str| row.get(k).map(String::as_str).unwrap_or_default();
    let Some(at) = parse_timestamp(field("TIMESTAMP")) else { return false };
    let status: u16 = field("STATUS_CODE").parse().unwrap_or(0);
    let mcp_row = field("API_CLIENT_CATEGORY") == HOSTED_MCP;
    let status_fits = match call.api.as_str() {
        "MCP" => (status >= 400) == call.denied() && status != 0,
        _ => status == call.status,
    };
    // A REST call's path and the object either side names must agree where both are known.
    let uri_fits = call.api == "MCP" || call.uri.is_empty() || field("URI") == call.uri;
    let entity_fits = match (call.entity.as_deref(), field("ENTITY_NAME")) {
        (Some(e), logged) if !logged.is_empty() => e.eq_ignore_ascii_case(logged),
        _ => true,
    };
    (at - call.at_ms).abs() <= SKEW_MS
        && field("HTTP_METHOD").eq_ignore_ascii_case(&call.http_method)
        && mcp_row == (call.api == "MCP")
        && status_fits
        && uri_fits
        && entity_fits
}

/// Each planned call's row (by index into `rows`), one row per call at most. The calls with the
/// fewest candidate rows choose first, so a call that could be any tool call does not take the
/// one row another call can only be; each prefers the persona's own user, then the same object
/// (none where the call names none), then the same path, then the nearest in time.
pub fn match_calls(calls: &[PlannedCall], rows: &[LogRow], user_ids: &BTreeMap<String, String>) -> Vec<Option<usize>> {
    let mut used = BTreeSet::new();
    let candidates: Vec<usize> = calls.iter().map(|c| rows.iter().filter(|r| could_be(c, r)).count()).collect();
    let mut order: Vec<usize> = (0..calls.len()).collect();
    order.sort_by_key(|i| (candidates[*i], calls[*i].at_ms));
    let mut out = vec![None; calls.len()];
    for i in order {
        let call = &calls[i];
        let user = user_ids.get(&call.username).map(|u| id15(u).to_string());
        let best = rows
            .iter()
            .enumerate()
            .filter(|(j, r)| !used.contains(j) && could_be(call, r))
            .min_by_key(|(_, r)| {
                let own = user.as_deref().is_some_and(|u| r.get("USER_ID").is_some_and(|x| id15(x) == u));
                let logged = r.get("ENTITY_NAME").map(String::as_str).unwrap_or_default();
                let entity = call.entity.as_deref().unwrap_or_default().eq_ignore_ascii_case(logged);
                let path = !call.uri.is_empty() && r.get("URI") == Some(&call.uri);
                let at = r.get("TIMESTAMP").and_then(|t| parse_timestamp(t)).unwrap_or(i64::MAX);
                (!own, !entity, !path, (at - call.at_ms).abs())
            })
            .map(|(j, _)| j);
        if let Some(j) = best {
            used.insert(j);
        }
        out[i] = best;
    }
    out
}

fn describe(c: &PlannedCall) -> String {
    let what = match (&c.tool, &c.entity) {
        (Some(t), _) => format!("{} tool {t}", c.server.as_deref().unwrap_or("MCP")),
        (None, Some(e)) => format!("REST {} {e}", c.http_method),
        (None, None) => format!("REST {}", c.http_method),
    };
    let how = c.refusal.as_deref().map(|r| format!("refused {r}")).unwrap_or_else(|| "allowed".into());
    format!("{what} as {} ({how})", c.username)
}

/// AUD-01..04 for the plan, from the rows of the files covering it.
pub fn judge(plan: &AuditPlan, rows: &[LogRow], cx: &Context) -> Vec<Verdict> {
    let matched = match_calls(&plan.calls, rows, cx.user_ids);
    let fingerprints: BTreeSet<&str> = plan.secret_fingerprints.iter().map(String::as_str).collect();
    crate::audit_plan::PLANNED_CONTROLS
        .iter()
        .map(|id| {
            let mut lines = Vec::new();
            let (mut failed, mut pending, mut unjudged) = (Vec::new(), 0, Vec::new());
            let calls: Vec<(usize, &PlannedCall)> =
                plan.calls.iter().enumerate().filter(|(_, c)| c.control == *id).collect();
            for (i, call) in &calls {
                let name = describe(call);
                let Some(row) = matched[*i].map(|j| &rows[j]) else {
                    if cx.now_ms < call.at_ms + cx.delay_ms {
                        pending += 1;
                        lines.push(format!("pending: {name}: not in the event log yet (within the documented delay)"));
                    } else {
                        failed.push(format!("{name}: no event log row"));
                        lines.push(format!("failed: {name}: no event log row"));
                    }
                    continue;
                };
                let get = |k: &str| mask(row.get(k).map(String::as_str).unwrap_or_default(), &fingerprints);
                let seen = format!(
                    "row {} at {} user {} app {} status {}",
                    get("REQUEST_ID"),
                    get("TIMESTAMP"),
                    get("USER_ID"),
                    get("CONNECTED_APP_NAME"),
                    get("STATUS_CODE")
                );
                let problem: Option<String> = match *id {
                    "HG-AUD-01" if get("USER_ID").is_empty() => Some("the row names no user".into()),
                    "HG-AUD-01" => call
                        .app
                        .as_ref()
                        .filter(|app| !get("CONNECTED_APP_NAME").eq_ignore_ascii_case(app))
                        .map(|app| format!("the row names app '{}', not {app}", get("CONNECTED_APP_NAME"))),
                    "HG-AUD-04" => match cx.user_ids.get(&call.username) {
                        None => {
                            unjudged.push(format!("the admin could not read the user id of {}", call.username));
                            None
                        }
                        Some(u) if id15(u) == id15(&get("USER_ID")) => None,
                        Some(_) => {
                            let who = cx
                                .user_ids
                                .iter()
                                .find(|(_, v)| id15(v) == id15(&get("USER_ID")))
                                .map(|(name, _)| format!(" ({name})"))
                                .unwrap_or_default();
                            Some(format!("attributed to {:?}{who}", get("USER_ID")))
                        }
                    },
                    _ => None,
                };
                match problem {
                    Some(p) => {
                        failed.push(format!("{name}: {p}"));
                        lines.push(format!("failed: {name}: {p}; {seen}"));
                    }
                    None => lines.push(format!("found: {name}: {seen}")),
                }
            }
            if *id == "HG-AUD-03" && fingerprints.is_empty() {
                unjudged.push("the plan holds no credential fingerprint to look for".into());
            }
            if *id == "HG-AUD-03" {
                for row in rows {
                    if let Some(col) = leaked_column(row, &fingerprints) {
                        let at = mask(row.get("REQUEST_ID").map(String::as_str).unwrap_or_default(), &fingerprints);
                        failed.push(format!("a credential of the run is in {col} of row {at}"));
                    }
                }
                lines.push(format!(
                    "{} rows scanned for the run's {} credential fingerprints",
                    rows.len(),
                    fingerprints.len()
                ));
            }
            let (status, message) = if calls.is_empty() {
                ("not verifiable", Some("the run made no call for this control (was it selected?)".to_string()))
            } else if !failed.is_empty() {
                (
                    "failed",
                    Some(format!("expected every call in the event log as made, observed: {}", failed.join("; "))),
                )
            } else if !unjudged.is_empty() {
                ("not verifiable", Some(unjudged.join("; ")))
            } else if pending > 0 {
                ("pending", Some(format!("{pending} of {} calls not in the event log yet", calls.len())))
            } else {
                ("passed", None)
            };
            if matches!(*id, "HG-AUD-01" | "HG-AUD-02") {
                lines.push(JUDGED_ON.into());
            }
            Verdict { id: id.to_string(), status: status.into(), message, calls: lines, failures: failed }
        })
        .collect()
}

/// What ApiTotalUsage shows of a call, and what it does not.
const JUDGED_ON: &str = "judged on what ApiTotalUsage records (time, user, app, object, path, status); it has no tool, token id or Salesforce error code column, so those are not judged";

/// The value, or `[credential]` where it holds a credential of the run.
fn mask(value: &str, fingerprints: &BTreeSet<&str>) -> String {
    let row: LogRow = [(String::new(), value.to_string())].into();
    if leaked_column(&row, fingerprints).is_some() { "[credential]".into() } else { value.to_string() }
}

/// The first column of a row holding a value whose fingerprint is a credential of the run (the
/// value whole, or one of its parts between separators).
fn leaked_column(row: &LogRow, fingerprints: &BTreeSet<&str>) -> Option<String> {
    let token_char = |c: char| c.is_ascii_alphanumeric() || "._~!*+/=-".contains(c);
    row.iter()
        .find(|(_, v)| {
            // As written, and percent-decoded (a token in a logged URI).
            let decoded = url::form_urlencoded::parse(format!("v={v}").as_bytes())
                .next()
                .map(|(_, d)| d.into_owned())
                .unwrap_or_default();
            [v.as_str(), decoded.as_str()].into_iter().any(|text| {
                // Whole, between separators, and either side of an `=` (`access_token=...`).
                let parts = text.split(|c: char| !token_char(c));
                std::iter::once(text)
                    .chain(parts.clone())
                    .chain(parts.flat_map(|p| p.split('=')))
                    .filter(|p| p.len() >= 8)
                    .any(|p| fingerprints.contains(fingerprint(p).as_str()))
            })
        })
        .map(|(k, _)| k.clone())
}

/// RFC 4180 CSV (quoted fields, doubled quotes, CRLF or LF) into rows by header.
pub fn parse_csv(text: &str) -> Vec<LogRow> {
    let mut records: Vec<Vec<String>> = Vec::new();
    let (mut field, mut record, mut quoted, mut chars) = (String::new(), Vec::new(), false, text.chars().peekable());
    while let Some(c) = chars.next() {
        match (quoted, c) {
            (true, '"') if chars.peek() == Some(&'"') => {
                field.push('"');
                chars.next();
            }
            (true, '"') => quoted = false,
            (true, c) => field.push(c),
            (false, '"') => quoted = true,
            (false, ',') => record.push(std::mem::take(&mut field)),
            (false, '\r') => {}
            (false, '\n') => {
                record.push(std::mem::take(&mut field));
                records.push(std::mem::take(&mut record));
            }
            (false, c) => field.push(c),
        }
    }
    if !field.is_empty() || !record.is_empty() {
        record.push(field);
        records.push(record);
    }
    let mut it = records.into_iter();
    let header = it.next().unwrap_or_default();
    it.filter(|r| r.len() > 1 || r.first().is_some_and(|f| !f.is_empty()))
        .map(|r| header.iter().cloned().zip(r).collect())
        .collect()
}

/// The rows of the event log before an audit scenario's calls: the admin reads the files covering
/// now, and the scenario's own rows are those written after (the scenario runs alone, so no other
/// scenario's call can stand in for one of its own).
pub async fn note(w: &mut GateWorld) -> Result<(), StepError> {
    let now = w.target.now_ms();
    let log = read_log(w, (now, now)).await.map_err(StepError::NotVerifiable)?;
    w.event_log_seen = Some(log.rows.iter().map(row_key).collect());
    Ok(())
}

/// The run's own audit scenario, judged now from the event log files: this scenario's calls (as
/// `audit reconcile` plans them), each found as made among the rows written since `note`. On an
/// org whose files come hours late, a call not there yet (or no file covering it yet) leaves the
/// row not verifiable (pending) for `audit reconcile` to judge; the mock's files are written at
/// once (`event_log_delay_ms` 0).
pub async fn judge_in_run(w: &mut GateWorld, control: &str, persona: &str) -> Result<(), StepError> {
    let username = w.persona(persona)?.username;
    let calls: Vec<PlannedCall> =
        crate::audit_plan::planned(control, w).into_iter().filter(|c| c.username == username).collect();
    if calls.is_empty() {
        return Err(StepError::NothingSent);
    }
    let seen = w.event_log_seen.clone().ok_or_else(|| StepError::Expectation {
        expected: "the admin's read of the event log before the scenario's calls".into(),
        observed: "none in the scenario".into(),
    })?;
    let secret_fingerprints = crate::audit_plan::fingerprints(&w.probe.secrets);
    let plan = AuditPlan {
        run_id: String::new(),
        target: String::new(),
        started: String::new(),
        finished: String::new(),
        calls,
        secret_fingerprints,
    };
    let mut log = read_log(w, window(&plan)).await.map_err(StepError::NotVerifiable)?;
    let delay_ms = delay_ms(w.target.event_log_delay_ms, log.hourly);
    let pending = |what: String| {
        StepError::NotVerifiable(format!(
            "{what}: the org's event log files may come up to {} minutes late; judge it then with `headless-gate audit reconcile`",
            delay_ms / 60_000
        ))
    };
    if log.files == 0 {
        return Err(pending("no event log file covers this scenario's calls yet".into()));
    }
    // AUD-03 scans every row the admin read for the run's credentials, older ones included.
    if control != "HG-AUD-03" {
        log.rows.retain(|r| !seen.contains(&row_key(r)));
    }
    let user_ids = user_ids(w, &plan).await;
    let cx = Context { user_ids: &user_ids, now_ms: w.target.now_ms(), delay_ms };
    let verdict = judge(&plan, &log.rows, &cx).into_iter().find(|v| v.id == control).ok_or(StepError::NothingSent)?;
    w.probe.evidence.extend(verdict.calls.iter().cloned());
    let message = verdict.message.unwrap_or_default();
    match verdict.status.as_str() {
        "passed" => Ok(()),
        "failed" => Err(StepError::Expectation {
            expected: "every call of this scenario in the event log as made".into(),
            observed: verdict.failures.join("; "),
        }),
        "pending" => Err(pending(message)),
        _ => Err(StepError::NotVerifiable(message)),
    }
}

/// What the admin read of the log: which interval, how many files, their rows.
pub struct Log {
    pub hourly: bool,
    pub files: usize,
    pub rows: Vec<LogRow>,
}

/// The ApiTotalUsage rows of the files that cover the plan's calls; why not, where the admin
/// cannot read them.
pub async fn read_log(w: &mut crate::GateWorld, (from, to): (i64, i64)) -> Result<Log, String> {
    use crate::world::query_path;
    let soql = "SELECT Id, EventType, LogDate, Interval, Sequence FROM EventLogFile WHERE EventType = 'ApiTotalUsage'";
    w.rest("admin", reqwest::Method::GET, &query_path(soql), None).await.map_err(|e| e.to_string())?;
    let r = w.last().map_err(|e| e.to_string())?;
    let body = r.json().unwrap_or_default();
    let Some(mut files) = body["records"].as_array().filter(|_| r.status == 200).cloned() else {
        return Err(format!(
            "the admin persona cannot read the org's event log files ({} {}): grant it View Event Log Files (ViewEventLogFiles) with API Enabled",
            r.status,
            crate::world::error_code(&body).unwrap_or_default()
        ));
    };
    // Later pages of the answer (`nextRecordsUrl`, a path under the API version).
    let mut next = body["nextRecordsUrl"].as_str().map(str::to_string);
    while let Some(url) = next.take() {
        let path = url.split_once(&format!("/{}", w.target.api_version)).map(|(_, p)| p.to_string()).unwrap_or(url);
        w.rest("admin", reqwest::Method::GET, &path, None).await.map_err(|e| e.to_string())?;
        let r = w.last().map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("the admin could not read a later page of the event log files: {}", r.status));
        }
        let page = r.json().unwrap_or_default();
        files.extend(page["records"].as_array().cloned().unwrap_or_default());
        next = page["nextRecordsUrl"].as_str().map(str::to_string);
    }
    let hourly = files.iter().any(|f| f["Interval"] == "Hourly");
    let span = if hourly { 3_600_000 } else { 86_400_000 };
    let covering: Vec<String> = files
        .iter()
        .filter(|f| (f["Interval"] == "Hourly") == hourly)
        .filter(|f| {
            let start = f["LogDate"].as_str().and_then(parse_datetime).unwrap_or(i64::MIN);
            start <= to + SKEW_MS && start + span > from - SKEW_MS
        })
        .filter_map(|f| f["Id"].as_str().map(str::to_string))
        .collect();
    let mut rows = Vec::new();
    for id in &covering {
        w.rest("admin", reqwest::Method::GET, &format!("/sobjects/EventLogFile/{id}/LogFile"), None)
            .await
            .map_err(|e| e.to_string())?;
        let r = w.last().map_err(|e| e.to_string())?;
        if r.status != 200 {
            return Err(format!("the admin could not read the log file {id}: {}", r.status));
        }
        if r.truncated {
            return Err(format!(
                "the log file {id} is longer than the gate reads of one answer, so its rows cannot all be seen"
            ));
        }
        rows.extend(parse_csv(&r.body));
    }
    Ok(Log { hourly, files: covering.len(), rows: dedupe(rows) })
}

/// The time the plan's calls span.
pub fn window(plan: &AuditPlan) -> (i64, i64) {
    plan.calls.iter().fold((i64::MAX, i64::MIN), |(a, b), c| (a.min(c.at_ms), b.max(c.at_ms)))
}

/// Each planned username's user id, as the admin reads it (one query each).
pub async fn user_ids(w: &mut crate::GateWorld, plan: &AuditPlan) -> BTreeMap<String, String> {
    let names: BTreeSet<&str> = plan.calls.iter().map(|c| c.username.as_str()).collect();
    let mut out = BTreeMap::new();
    for name in names {
        let soql = format!("SELECT Id FROM User WHERE Username = {}", crate::world::soql_string(name));
        if w.rest("admin", reqwest::Method::GET, &crate::world::query_path(&soql), None).await.is_err() {
            continue;
        }
        if let Some(id) =
            w.last().ok().and_then(|r| r.json()).and_then(|v| v["records"][0]["Id"].as_str().map(str::to_string))
        {
            out.insert(name.to_string(), id);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const T0: i64 = 1_795_446_245_123; // 2026-11-23T15:04:05.123Z

    fn call(control: &str, user: &str, api: &str, status: u16, refusal: Option<&str>) -> PlannedCall {
        PlannedCall {
            control: control.into(),
            at_ms: T0,
            username: user.into(),
            api: api.into(),
            http_method: if api == "MCP" { "POST" } else { "GET" }.into(),
            server: (api == "MCP").then(|| "reads".into()),
            tool: (api == "MCP").then(|| "soqlQuery".into()),
            entity: Some("Case".into()),
            uri: String::new(),
            app: Some("Agent_App".into()),
            status,
            refusal: refusal.map(str::to_string),
            request_id: "r1".into(),
        }
    }

    fn row(user: &str, api: &str, method: &str, status: u16, at_ms: i64, id: &str) -> LogRow {
        let ts = {
            let iso = mock_org::clock::format_datetime(at_ms);
            let digits: String = iso[..19].chars().filter(char::is_ascii_digit).collect();
            format!("{digits}.{}", &iso[20..23])
        };
        [
            ("TIMESTAMP", ts),
            ("REQUEST_ID", id.into()),
            ("USER_ID", user.into()),
            ("API_CLIENT_CATEGORY", if api == "MCP" { HOSTED_MCP } else { "" }.into()),
            ("HTTP_METHOD", method.into()),
            ("STATUS_CODE", status.to_string()),
            ("ENTITY_NAME", "Case".into()),
            ("CONNECTED_APP_NAME", "Agent_App".into()),
        ]
        .into_iter()
        .map(|(k, v)| (k.to_string(), v))
        .collect()
    }

    fn plan(calls: Vec<PlannedCall>) -> AuditPlan {
        AuditPlan {
            run_id: "r".into(),
            target: "t".into(),
            started: "s".into(),
            finished: "f".into(),
            calls,
            secret_fingerprints: vec![fingerprint("00Dtoken!secretvalue")],
        }
    }

    fn users() -> BTreeMap<String, String> {
        [("agent@x", "005000000000001AAA"), ("admin@x", "005000000000009AAA")]
            .into_iter()
            .map(|(a, b)| (a.to_string(), b.to_string()))
            .collect()
    }

    fn status_of(v: &[Verdict], id: &str) -> String {
        v.iter().find(|x| x.id == id).unwrap().status.clone()
    }

    #[test]
    fn csv_fields_may_be_quoted_with_commas_quotes_and_newlines() {
        let rows = parse_csv("\"A\",\"B\"\r\n\"1,2\",\"say \"\"hi\"\"\"\n\"x\ny\",\"\"\n");
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0]["A"], "1,2");
        assert_eq!(rows[0]["B"], "say \"hi\"");
        assert_eq!(rows[1]["A"], "x\ny");
    }

    #[test]
    fn each_call_found_as_its_own_user_passes_and_late_sequences_count_once() {
        let calls = vec![
            call("HG-AUD-01", "agent@x", "REST", 200, None),
            call("HG-AUD-02", "agent@x", "MCP", 200, Some("INVALID_TYPE")),
            call("HG-AUD-03", "agent@x", "MCP", 200, None),
            call("HG-AUD-04", "agent@x", "MCP", 200, None),
        ];
        let agent = "005000000000001";
        let rows = dedupe(vec![
            row(agent, "REST", "GET", 200, T0 + 900, "a"),
            row(agent, "MCP", "POST", 400, T0 + 800, "b"),
            row(agent, "MCP", "POST", 200, T0 + 700, "c"),
            row(agent, "MCP", "POST", 200, T0 + 600, "d"),
            row(agent, "MCP", "POST", 200, T0 + 600, "d"), // the same event, in a later Sequence
        ]);
        assert_eq!(rows.len(), 4);
        let cx = Context { user_ids: &users(), now_ms: T0 + 60_000, delay_ms: 0 };
        let v = judge(&plan(calls), &rows, &cx);
        assert!(v.iter().all(|x| x.status == "passed"), "{v:#?}");
    }

    #[test]
    fn a_missing_call_is_pending_within_the_delay_and_failed_after() {
        let calls = vec![call("HG-AUD-02", "agent@x", "MCP", 200, Some("INVALID_TYPE"))];
        // The log has the call as allowed (200): not the denial the caller saw.
        let rows = vec![row("005000000000001", "MCP", "POST", 200, T0, "a")];
        let early = Context { user_ids: &users(), now_ms: T0 + 1000, delay_ms: HOURLY_DELAY_MS };
        assert_eq!(status_of(&judge(&plan(calls.clone()), &rows, &early), "HG-AUD-02"), "pending");
        let late = Context { user_ids: &users(), now_ms: T0 + HOURLY_DELAY_MS + 1, delay_ms: HOURLY_DELAY_MS };
        let v = judge(&plan(calls), &rows, &late);
        assert_eq!(status_of(&v, "HG-AUD-02"), "failed");
        assert!(v[1].message.as_ref().unwrap().contains("no event log row"), "{v:#?}");
        assert_eq!(status_of(&v, "HG-AUD-01"), "not verifiable", "no call was planned for it");
    }

    #[test]
    fn attribution_to_another_user_or_none_fails_and_a_logged_credential_is_found() {
        let calls =
            vec![call("HG-AUD-04", "agent@x", "MCP", 200, None), call("HG-AUD-01", "agent@x", "MCP", 200, None)];
        let cx = Context { user_ids: &users(), now_ms: T0, delay_ms: 0 };
        let integration =
            vec![row("005000000000009", "MCP", "POST", 200, T0, "a"), row("", "MCP", "POST", 200, T0, "b")];
        let v = judge(&plan(calls.clone()), &integration, &cx);
        assert_eq!(status_of(&v, "HG-AUD-04"), "failed");
        assert!(v[3].message.as_ref().unwrap().contains("(admin@x)"), "{v:#?}");
        assert_eq!(status_of(&v, "HG-AUD-01"), "failed", "the other row names no user");

        let mut leaky = row("005000000000001", "MCP", "POST", 200, T0, "c");
        leaky.insert("SESSION_KEY".into(), "Bearer 00Dtoken!secretvalue".into());
        let mut encoded = row("005000000000001", "REST", "GET", 200, T0, "d");
        encoded.insert("URI".into(), "/x?access_token=00Dtoken%21secretvalue".into());
        let fingerprints = plan(vec![]).secret_fingerprints;
        let prints: BTreeSet<&str> = fingerprints.iter().map(String::as_str).collect();
        assert_eq!(leaked_column(&encoded, &prints).as_deref(), Some("URI"), "percent-encoded in a logged URI");
        assert_eq!(mask("Bearer 00Dtoken!secretvalue", &prints), "[credential]");
        let calls = vec![call("HG-AUD-03", "agent@x", "MCP", 200, None)];
        let v = judge(&plan(calls.clone()), &[leaky.clone()], &cx);
        assert_eq!(status_of(&v, "HG-AUD-03"), "failed");
        assert!(v[2].message.as_ref().unwrap().contains("SESSION_KEY"), "{v:#?}");
        assert!(!format!("{v:?}").contains("secretvalue"), "the credential is not echoed");
        let mut bare = plan(calls);
        bare.secret_fingerprints.clear();
        let v = judge(&bare, &[row("005000000000001", "MCP", "POST", 200, T0, "e")], &cx);
        assert_eq!(status_of(&v, "HG-AUD-03"), "not verifiable", "nothing to look for is no pass");
    }

    #[test]
    fn a_call_naming_no_object_does_not_take_the_row_of_one_that_does() {
        // Every row names the same (integration) user: only the object tells them apart.
        let mut identity = call("HG-AUD-04", "agent@x", "MCP", 200, None);
        identity.entity = None;
        let query = call("HG-AUD-02", "agent@x", "MCP", 200, None);
        let mut identity_row = row("005000000000009", "MCP", "POST", 200, T0 + 900, "b");
        identity_row.insert("ENTITY_NAME".into(), String::new());
        let rows = vec![row("005000000000009", "MCP", "POST", 200, T0, "a"), identity_row];
        let m = match_calls(&[identity, query], &rows, &users());
        assert_eq!(m, vec![Some(1), Some(0)], "each call its own row");
    }

    #[test]
    fn a_rest_call_matches_its_exact_status_and_a_tool_call_its_class() {
        let rest = call("HG-AUD-01", "agent@x", "REST", 404, Some("NOT_FOUND"));
        assert!(could_be(&rest, &row("u", "REST", "GET", 404, T0, "a")));
        assert!(!could_be(&rest, &row("u", "REST", "GET", 400, T0, "a")));
        assert!(!could_be(&rest, &row("u", "MCP", "GET", 404, T0, "a")), "an MCP row is not the REST call");
        assert!(!could_be(&rest, &row("u", "REST", "GET", 404, T0 + SKEW_MS + 1, "a")), "too far apart");
        let tool = call("HG-AUD-01", "agent@x", "MCP", 200, Some("NOT_FOUND"));
        assert!(could_be(&tool, &row("u", "MCP", "POST", 404, T0, "a")));
        assert!(!could_be(&tool, &row("u", "MCP", "POST", 200, T0, "a")));
    }
}
