//! The revocation sampler (HG-REV-07...): after a revocation path's action, the token is sent to
//! each surface again and again, without sleeping, and each answer's time since the first sample
//! is kept. The window is how long after the action the token was still accepted; the target's
//! declared limit for the path (none: zero) decides. Bounded: `SAMPLES` requests per surface.

use crate::probe::{Lane, Reply, Request};
use crate::target::McpEra;
use crate::world::{GateWorld, StepError, expect, mcp_http, opening_request};
use serde_json::json;
use std::time::Instant;

/// Requests per surface: enough to see a cache that outlives the action by more than a few
/// round trips, few enough for any org's limits.
pub const SAMPLES: usize = 12;

/// How much of an answer a sample reads: only its status and headers count.
const SAMPLE_CAP: usize = 4096;

/// Opens one session with `token` through the lane (initialize, then initialized), as a sampler's
/// first step: `None` in the stateless era, or where the server opened none. The session id is
/// a credential of sorts: it is registered as a secret.
pub async fn open_session(
    lane: &Lane,
    secrets: &crate::evidence::Secrets,
    url: &str,
    era: McpEra,
    token: &str,
) -> Result<Option<String>, StepError> {
    if era == McpEra::Stateless {
        return Ok(None);
    }
    let r = lane.send(&mcp_http(url, opening_request(era), era, None).bearer(token), SAMPLE_CAP).await?;
    let Some(session) = r.header("mcp-session-id").filter(|s| r.status == 200 && !s.is_empty()).map(str::to_string)
    else {
        return Ok(None);
    };
    secrets.add(&session, "MCP session id");
    let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
    lane.send(&mcp_http(url, note, era, Some(&session)).bearer(token), SAMPLE_CAP).await?;
    Ok(Some(session))
}

/// The MCP request a sampler repeats: a ping on the session the token opened, else the era's
/// opening request. A sampler keeps to one session, since a server caps the sessions of a user
/// and a revoked token can end none of them.
pub fn mcp_sample(url: &str, era: McpEra, session: Option<&str>) -> Request {
    match session {
        Some(s) => mcp_http(url, json!({"jsonrpc": "2.0", "id": 1, "method": "ping"}), era, Some(s)),
        None => mcp_http(url, opening_request(era), era, None),
    }
}

/// The MCP half of a window: samples the token on the server, on one session once an accepted
/// opening request has started one.
#[derive(Debug, Default)]
pub struct McpSampler {
    session: Option<String>,
}

impl McpSampler {
    /// One sample with `token`: its answer, timed from `start` when it was sent. A session the
    /// server has ended (404, as it may on the token's revocation) is dropped and the sample is
    /// the opening request again.
    pub async fn sample(
        &mut self,
        w: &mut GateWorld,
        url: &str,
        token: &str,
        start: Instant,
    ) -> Result<(Reply, u128), StepError> {
        let era = w.target.mcp_era;
        let mut sent = since(start);
        let mut r = w.probe.send(mcp_sample(url, era, self.session.as_deref()).bearer(token)).await?;
        if r.status == 404 && self.session.take().is_some() {
            sent = since(start);
            r = w.probe.send(mcp_sample(url, era, None).bearer(token)).await?;
        }
        if self.session.is_none()
            && era == McpEra::Sessions
            && r.status == 200
            && let Some(session) = r.header("mcp-session-id").filter(|s| !s.is_empty()).map(str::to_string)
        {
            let note = json!({"jsonrpc": "2.0", "method": "notifications/initialized"});
            w.probe.send(mcp_http(url, note, era, Some(&session)).bearer(token)).await?;
            self.session = Some(session);
        }
        Ok((r, sent))
    }
}

/// What one surface answered after the action.
#[derive(Debug, Clone, Default)]
pub struct Window {
    pub surface: String,
    /// Milliseconds after the first sample at which the token was still accepted.
    pub accepted_ms: Vec<u128>,
    /// When the first refusal came, if one did.
    pub first_refusal_ms: Option<u128>,
    /// Answers that decide nothing (a 5xx, a 429, no answer).
    pub undecided: usize,
}

impl Window {
    /// Adds one answer, `ms` after the first sample.
    pub fn add(&mut self, reply: &Reply, ms: u128) {
        let decision = match reply.status {
            200..=299 => Some(true),
            401 | 403 => Some(false),
            _ => None,
        };
        self.decide(decision, ms);
    }

    /// Adds one decided answer (`Some(true)`: accepted), `ms` after the first sample.
    pub fn decide(&mut self, accepted: Option<bool>, ms: u128) {
        match accepted {
            Some(true) => self.accepted_ms.push(ms),
            Some(false) => {
                self.first_refusal_ms.get_or_insert(ms);
            }
            None => self.undecided += 1,
        }
    }

    /// Refused, and never accepted later than `limit_ms` after the action; with no window
    /// declared (0), never accepted at all (milliseconds are truncated: a read in the first
    /// millisecond is still a read after the action).
    pub fn within(&self, limit_ms: u64) -> bool {
        let late = |&ms: &u128| limit_ms == 0 || ms > u128::from(limit_ms);
        self.first_refusal_ms.is_some() && !self.accepted_ms.iter().any(late)
    }

    pub fn describe(&self) -> String {
        let last_ok = self.accepted_ms.iter().max();
        match (self.first_refusal_ms, last_ok) {
            (Some(r), None) => format!("{}: refused from the first sample ({r} ms)", self.surface),
            (Some(r), Some(a)) => format!("{}: accepted until {a} ms, first refused at {r} ms", self.surface),
            (None, Some(a)) => format!(
                "{}: still accepted after {} samples over {a} ms",
                self.surface,
                self.accepted_ms.len() + self.undecided
            ),
            (None, None) => format!("{}: no answer decided anything ({} samples)", self.surface, self.undecided),
        }
    }
}

/// Milliseconds since `start`.
pub fn since(start: Instant) -> u128 {
    start.elapsed().as_millis()
}

/// The target's declared limit for a revocation path (none declared: zero).
pub fn limit(w: &GateWorld, path: &str) -> u64 {
    w.target.revocation_windows_ms.get(path).copied().unwrap_or(0)
}

/// Each surface's sampled window, in the evidence and against the target's declared limit for
/// the revocation path.
pub fn held_to_window(w: &mut GateWorld, path: &str, surfaces: &[Window]) -> Result<(), StepError> {
    let limit = limit(w, path);
    for s in surfaces {
        w.probe.evidence.push(format!("{path} (limit {limit} ms): {}", s.describe()));
    }
    let outside: Vec<String> = surfaces.iter().filter(|s| !s.within(limit)).map(|s| s.describe()).collect();
    expect(outside.is_empty(), format!("refused within {limit} ms on every surface"), || outside.join("; "))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn window(accepted: &[u128], refused_at: Option<u128>) -> Window {
        Window { surface: "MCP".into(), accepted_ms: accepted.to_vec(), first_refusal_ms: refused_at, undecided: 0 }
    }

    #[test]
    fn with_no_window_declared_one_accepted_read_is_too_many_even_in_the_first_millisecond() {
        assert!(window(&[], Some(0)).within(0));
        assert!(!window(&[0], Some(1)).within(0));
        assert!(!window(&[], None).within(0), "never refused is never within");
    }

    #[test]
    fn a_declared_window_allows_reads_up_to_its_end() {
        assert!(window(&[0, 40], Some(41)).within(50));
        assert!(!window(&[0, 60], Some(61)).within(50));
    }
}
