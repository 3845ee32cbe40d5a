//! The revocation sampler (HG-REV-07...): after a revocation path's action, the token is sent to
//! each surface again and again, without sleeping, and each answer's time since the first sample
//! is kept. The window is how long after the action the token was still accepted; the target's
//! declared limit for the path (none: zero) decides. Bounded: `SAMPLES` requests per surface.

use crate::probe::Reply;
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

    /// Refused, and never accepted later than `limit_ms` after the action.
    pub fn within(&self, limit_ms: u64) -> bool {
        self.first_refusal_ms.is_some() && self.accepted_ms.iter().all(|&ms| ms <= u128::from(limit_ms))
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
