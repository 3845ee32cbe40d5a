//! What a run sends to the target. Requests are counted by kind because REST and MCP calls count
//! against an org's daily API limit, and each scenario's longest chain of requests sent one after
//! another is kept because, times the network's round trip, it is the least time a run can take.

use crate::target::Target;
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Instant;

/// What a request was for, told from where it went.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// The authorization server's well-known metadata, and the resource servers'.
    Discovery,
    /// The authorize endpoint and the sign-in pages it leads to.
    Login,
    /// Token, revocation and introspection endpoints.
    Token,
    /// The org's REST API (`/services/...` on the instance).
    Rest,
    /// The MCP servers.
    Mcp,
    Other,
}

impl Kind {
    pub const ALL: [Kind; 6] = [Kind::Discovery, Kind::Login, Kind::Token, Kind::Rest, Kind::Mcp, Kind::Other];

    pub fn label(self) -> &'static str {
        match self {
            Kind::Discovery => "discovery",
            Kind::Login => "login pages",
            Kind::Token => "token endpoint",
            Kind::Rest => "REST",
            Kind::Mcp => "MCP",
            Kind::Other => "other",
        }
    }
}

/// The kind of a request to `url` (query and fragment already left out) on target `t`.
pub fn kind_of(t: &Target, url: &str) -> Kind {
    let under = |base: &str| !base.is_empty() && url.starts_with(base.split(['?', '#']).next().unwrap_or(base));
    let origin = |u: &str| crate::probe::authority(u);
    let path = url::Url::parse(url).map(|u| u.path().to_string()).unwrap_or_default();
    if path.contains("/.well-known/") {
        Kind::Discovery
    } else if t.mcp_servers.values().chain(t.other_mcp_servers.values()).any(|m| under(m)) {
        Kind::Mcp
    } else if [&t.token_url, &t.revoke_url, &t.introspect_url].iter().any(|e| under(e)) {
        Kind::Token
    } else if under(&t.authorize_url) {
        Kind::Login
    } else if path.starts_with("/services/") && !path.starts_with("/services/oauth2/") {
        // The org's APIs (`data`, `apexrest`, ...), on the instance or the My Domain host.
        Kind::Rest
    } else if !path.starts_with("/services/") && origin(url).is_some() && origin(url) == origin(&t.authorize_url) {
        // The sign-in pages the authorize endpoint leads to (a login form, a consent page).
        Kind::Login
    } else {
        Kind::Other
    }
}

/// One request that went out: where (no query), when it left and when its answer ended.
#[derive(Clone, Debug)]
pub struct Sent {
    pub url: String,
    pub start: Instant,
    pub end: Instant,
}

/// The requests of one scenario, shared by its probe and the probe's lanes.
#[derive(Clone, Debug, Default)]
pub struct SentLog(Arc<Mutex<Vec<Sent>>>);

impl SentLog {
    pub fn push(&self, url: &str, start: Instant) {
        let url = url.split(['?', '#']).next().unwrap_or_default().to_string();
        self.0.lock().unwrap_or_else(|p| p.into_inner()).push(Sent { url, start, end: Instant::now() });
    }

    pub fn take(&self) -> Vec<Sent> {
        std::mem::take(&mut *self.0.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// The longest chain of requests each sent after the one before it had its answer: requests
/// that overlap (a burst, racing callers) were in flight together and cost one round trip.
pub fn chain(sent: &[Sent]) -> u64 {
    let mut by_end: Vec<&Sent> = sent.iter().collect();
    by_end.sort_by_key(|s| s.end);
    let mut last_end: Option<Instant> = None;
    let mut n = 0;
    for s in by_end {
        if last_end.is_none_or(|e| s.start >= e) {
            n += 1;
            last_end = Some(s.end);
        }
    }
    n
}

/// A whole run's requests: counts by kind and every scenario's chain.
#[derive(Clone, Debug, Default)]
pub struct Tally {
    pub by_kind: BTreeMap<Kind, u64>,
    /// (ran alone, chain) per scenario: `@serial` scenarios run with nothing beside them.
    pub chains: Vec<(bool, u64)>,
    /// Requests sent before any scenario (discovery), one after another.
    pub before_scenarios: u64,
}

impl Tally {
    pub fn add_scenario(&mut self, t: &Target, sent: &[Sent], serial: bool) {
        for s in sent {
            *self.by_kind.entry(kind_of(t, &s.url)).or_default() += 1;
        }
        if !sent.is_empty() {
            self.chains.push((serial, chain(sent)));
        }
    }

    pub fn add_before_scenarios(&mut self, kind: Kind, n: u64) {
        *self.by_kind.entry(kind).or_default() += n;
        self.before_scenarios += n;
    }

    pub fn total(&self) -> u64 {
        self.by_kind.values().sum()
    }

    /// The least number of round trips the run needs with `concurrency` scenarios at once: the
    /// scenarios that run alone one after another, and the rest no faster than their longest
    /// chain nor than their chains shared out over the slots.
    pub fn floor_round_trips(&self, concurrency: usize) -> u64 {
        let alone: u64 = self.chains.iter().filter(|c| c.0).map(|c| c.1).sum();
        let together: Vec<u64> = self.chains.iter().filter(|c| !c.0).map(|c| c.1).collect();
        let longest = together.iter().copied().max().unwrap_or(0);
        let shared = together.iter().sum::<u64>().div_ceil(concurrency.max(1) as u64);
        self.before_scenarios + alone + longest.max(shared)
    }
}

/// What the reports say of a run's requests.
#[derive(Clone, Debug, Default, Serialize, PartialEq, Eq)]
pub struct Summary {
    pub total: u64,
    /// Kind (`discovery`, `login`, `token`, `rest`, `mcp`, `other`) -> requests.
    pub by_kind: BTreeMap<Kind, u64>,
    /// What counts against an org's daily API request limit.
    pub rest_and_mcp: u64,
    /// The least round trips the run needed (`Tally::floor_round_trips`) at its concurrency.
    pub floor_round_trips: u64,
    /// Of which the `@serial` scenarios', which run alone, one after another.
    pub floor_serial_round_trips: u64,
    /// The longest chain of one scenario that runs beside others.
    pub longest_scenario_round_trips: u64,
}

impl Summary {
    pub fn of(t: &Tally, concurrency: usize) -> Summary {
        let n = |k: Kind| t.by_kind.get(&k).copied().unwrap_or(0);
        Summary {
            total: t.total(),
            by_kind: Kind::ALL.iter().map(|k| (*k, n(*k))).collect(),
            rest_and_mcp: n(Kind::Rest) + n(Kind::Mcp),
            floor_round_trips: t.floor_round_trips(concurrency),
            floor_serial_round_trips: t.chains.iter().filter(|c| c.0).map(|c| c.1).sum(),
            longest_scenario_round_trips: t.chains.iter().filter(|c| !c.0).map(|c| c.1).max().unwrap_or(0),
        }
    }

    /// One console line: `1,520 requests sent (login pages 300, ...); 412 count against ...`.
    pub fn line(&self) -> String {
        let kinds: Vec<String> =
            self.by_kind.iter().filter(|(_, n)| **n > 0).map(|(k, n)| format!("{} {n}", k.label())).collect();
        format!(
            "{} requests sent to the target ({}); {} REST and MCP requests count against the org's daily API limit",
            self.total,
            kinds.join(", "),
            self.rest_and_mcp
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn at(base: Instant, from_ms: u64, to_ms: u64) -> Sent {
        Sent {
            url: "http://x/".into(),
            start: base + Duration::from_millis(from_ms),
            end: base + Duration::from_millis(to_ms),
        }
    }

    #[test]
    fn overlapping_requests_are_one_link_of_the_chain() {
        let b = Instant::now();
        // Two one after another, then a burst of three at once, then one more.
        let sent = [at(b, 0, 10), at(b, 10, 20), at(b, 21, 30), at(b, 22, 31), at(b, 23, 29), at(b, 32, 40)];
        assert_eq!(chain(&sent), 4);
        assert_eq!(chain(&[]), 0);
    }

    #[test]
    fn the_floor_adds_the_scenarios_that_run_alone_to_the_busiest_share_of_the_rest() {
        let mut t =
            Tally { chains: vec![(true, 5), (true, 7), (false, 30), (false, 10), (false, 10)], ..Tally::default() };
        t.add_before_scenarios(Kind::Discovery, 1);
        // 1 + 12 alone + max(longest 30, 50 over 8 slots = 7).
        assert_eq!(t.floor_round_trips(8), 43);
        // One slot: the chains add up.
        assert_eq!(t.floor_round_trips(1), 63);
        assert_eq!(t.total(), 1);
    }
}
