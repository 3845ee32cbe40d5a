//! HG-LIM-01: a bounded burst beyond the declared per-user request rate is limited (429 with
//! `Retry-After`, or `REQUEST_LIMIT_EXCEEDED`), never answered with a 5xx, and other users keep
//! being served. Opt-in on real targets: the burst spends the org's API limits.

use crate::world::{GateWorld, StepError, expect, query_path};
use cucumber::{then, when};
use reqwest::Method;

/// Requests beyond the declared rate: enough to cross it, few enough to stay cheap.
const OVER_THE_RATE: u32 = 25;
/// Requests in flight at once during the burst.
const IN_FLIGHT: usize = 16;
/// How much of an answer the burst reads: enough for Salesforce's error code, and a burst's
/// memory stays bounded whatever the target sends.
const ANSWER_CAP: usize = 64 * 1024;

/// What the burst saw.
#[derive(Debug, Clone, Default)]
pub struct Burst {
    /// Requests the burst meant to send, and those that went out.
    pub planned: usize,
    pub sent: usize,
    pub served: usize,
    /// Refused as rate-limited: 429, or Salesforce's REQUEST_LIMIT_EXCEEDED.
    pub limited: usize,
    pub server_errors: usize,
    pub other: Vec<String>,
}

#[when(expr = "{word} sends a burst beyond the declared per-user request rate")]
async fn burst(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let rate = w.target.per_user_requests_per_minute.ok_or_else(|| StepError::NotVerifiable(
        "the target declares no per-user request rate (set limits.per_user_requests_per_minute; the burst spends API limits, so it is opt-in)".into(),
    ))?;
    let token = w.rest_token(&persona).await?;
    let url = w.target.rest(&query_path("SELECT Id FROM Case LIMIT 1"));
    // Under the probe's rules: the scenario's budget, trusted hosts, no redirect followed.
    let lane = w.probe.lane();
    let request = crate::probe::Request::new(Method::GET, url).bearer(&token);
    let total = (rate as usize).saturating_add(OVER_THE_RATE as usize);
    let next = std::sync::Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..IN_FLIGHT {
        let (lane, request, next) = (lane.clone(), request.clone(), next.clone());
        tasks.spawn(async move {
            let mut seen = Vec::new();
            while next.fetch_add(1, std::sync::atomic::Ordering::SeqCst) < total {
                let outcome = match lane.send(&request, ANSWER_CAP).await {
                    Ok(r) => {
                        (r.status, r.headers.contains_key("retry-after"), r.body.contains("REQUEST_LIMIT_EXCEEDED"))
                    }
                    Err(crate::probe::ProbeError::Unreachable { .. }) => (0, false, false),
                    // Nothing more may be sent (budget, interruption, an untrusted host).
                    Err(_) => break,
                };
                seen.push(outcome);
            }
            seen
        });
    }
    let mut b = Burst { planned: total, ..Burst::default() };
    for (status, retry_after, limit_code) in tasks.join_all().await.into_iter().flatten() {
        b.sent += 1;
        match status {
            200 => b.served += 1,
            429 if retry_after || limit_code => b.limited += 1,
            429 => b.other.push("429 without Retry-After".into()),
            _ if limit_code => b.limited += 1,
            500..=599 => b.server_errors += 1,
            s => b.other.push(s.to_string()),
        }
    }
    w.probe.evidence.push(format!(
        "burst as {persona}: declared rate {rate}/min, sent {} ({IN_FLIGHT} in flight), served {}, rate-limited {}, 5xx {}, other {:?}",
        b.sent, b.served, b.limited, b.server_errors, b.other
    ));
    w.burst = Some(b);
    // Afterwards the org's minute passes (the mock's clock), so later scenarios get a fresh budget.
    w.queue_undo(crate::world::Cleanup::AdvanceClock(std::time::Duration::from_secs(60)));
    Ok(())
}

#[then("the burst is rate-limited, never answered with a server error")]
async fn burst_limited(w: &mut GateWorld) -> Result<(), StepError> {
    let b = w.burst.clone().ok_or(StepError::NothingSent)?;
    if b.sent < b.planned {
        return Err(StepError::NotVerifiable(format!(
            "the burst was cut short after {} of {} requests (the scenario's time budget, or the run's interruption)",
            b.sent, b.planned
        )));
    }
    expect(b.server_errors == 0 && b.other.is_empty(), "no 5xx and no other answer in the burst", || {
        format!("{} server errors, other answers {:?}", b.server_errors, b.other)
    })?;
    expect(b.served > 0, "the requests within the rate served", || "none was served".into())?;
    expect(
        b.limited > 0,
        "requests beyond the rate refused as rate-limited (429 with Retry-After, or REQUEST_LIMIT_EXCEEDED)",
        || format!("all {} requests served", b.served),
    )
}

#[then(expr = "{word} is still served on the REST API")]
async fn others_served(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.rest(&persona, Method::GET, &query_path("SELECT Id FROM Account LIMIT 1"), None).await?;
    let r = w.last()?;
    expect(r.status == 200, format!("200 for {persona} right after the burst"), || format!("{}", r.status))
}
