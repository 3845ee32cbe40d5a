//! A run's interruption and what it leaves to undo. Once the runner hears a signal it calls
//! `begin`: from then on probes send nothing and cut exchanges in flight, except a scenario's undo,
//! which still runs. The ledger holds every undo a scenario has queued and not finished, so an
//! interrupted run can say which changes to the org are still in place.
//!
//! Process-wide (`RUN`), as the installed target is: runs in one process take turns (`reset`).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

pub struct Stop {
    stopping: AtomicBool,
    wake: tokio::sync::Notify,
    next: AtomicU64,
    /// Undo entry id -> (scenario, what it restores).
    ledger: Mutex<BTreeMap<u64, (String, String)>>,
}

/// The run in progress.
pub static RUN: Stop = Stop::new();

impl Stop {
    pub const fn new() -> Stop {
        Stop {
            stopping: AtomicBool::new(false),
            wake: tokio::sync::Notify::const_new(),
            next: AtomicU64::new(1),
            ledger: Mutex::new(BTreeMap::new()),
        }
    }

    /// A new run: no interruption, nothing to undo.
    pub fn reset(&self) {
        self.stopping.store(false, Ordering::SeqCst);
        self.ledger().clear();
    }

    /// The run is interrupted: scenarios stop sending and run their undo.
    pub fn begin(&self) {
        self.stopping.store(true, Ordering::SeqCst);
        self.wake.notify_waiters();
    }

    pub fn requested(&self) -> bool {
        self.stopping.load(Ordering::SeqCst)
    }

    /// Resolves once the run is interrupted (at once if it already is).
    pub async fn requested_now(&self) {
        // Created before the check: a `begin` in between still wakes it.
        let woken = self.wake.notified();
        if !self.requested() {
            woken.await;
        }
    }

    /// Writes an undo into the ledger until `done` takes it out; the id to take it out with.
    pub fn owe(&self, scenario: &str, what: String) -> u64 {
        let id = self.next.fetch_add(1, Ordering::SeqCst);
        self.ledger().insert(id, (scenario.to_string(), what));
        id
    }

    /// The undo ran and succeeded.
    pub fn done(&self, id: u64) {
        self.ledger().remove(&id);
    }

    /// Every undo queued and not done (it failed, or never got to run), as "scenario: what".
    pub fn outstanding(&self) -> Vec<String> {
        self.ledger().values().map(|(s, what)| format!("{s}: {what}")).collect()
    }

    fn ledger(&self) -> std::sync::MutexGuard<'_, BTreeMap<u64, (String, String)>> {
        self.ledger.lock().unwrap_or_else(|p| p.into_inner())
    }
}

impl Default for Stop {
    fn default() -> Self {
        Stop::new()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn the_ledger_keeps_what_was_not_undone_and_a_wait_ends_on_begin() {
        static STOP: Stop = Stop::new();
        let kept = STOP.owe("HG-REV-04 a frozen user", "PATCH /sobjects/User/005 {\"IsFrozen\":false}".into());
        let gone = STOP.owe("HG-LP-01 x", "delete Case 500".into());
        STOP.done(gone);
        assert_eq!(STOP.outstanding(), vec!["HG-REV-04 a frozen user: PATCH /sobjects/User/005 {\"IsFrozen\":false}"]);
        let waiter = tokio::spawn(STOP.requested_now());
        tokio::task::yield_now().await;
        STOP.begin();
        tokio::time::timeout(std::time::Duration::from_secs(5), waiter).await.unwrap().unwrap();
        assert!(STOP.requested());
        STOP.done(kept);
        STOP.reset();
        assert!(!STOP.requested() && STOP.outstanding().is_empty());
    }
}
