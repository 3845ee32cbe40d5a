//! The revocation sampler (HG-REV-07...): after a revocation path's action, the token is sent to
//! each surface again and again, without sleeping, and each answer's time since the first sample
//! is kept. The window is how long after the action the token was still accepted; the target's
//! declared limit for the path (none: zero) decides. Bounded: `SAMPLES` requests per surface.

use crate::probe::Reply;
use crate::world::{GateWorld, StepError, expect};
use std::time::Instant;

/// Requests per surface: enough to see a cache that outlives the action by more than a few
/// round trips, few enough for any org's limits.
pub const SAMPLES: usize = 12;

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
