//! Revocation: RFC 7009 requests, concurrent use while revoking, and the admin's user and app actions.

use super::*;

pub(super) async fn revoke(w: &mut GateWorld, token: String, client: Option<String>) -> Result<Reply, StepError> {
    let mut form = pairs(&[("token", &token)]);
    if let Some(c) = client {
        form.push(("client_id".into(), c));
    }
    crate::login::authenticate_client(&w.target, &mut form);
    w.judging(&form);
    Ok(w.probe.send(Request::new(Method::POST, w.target.revoke_url.clone()).form(form)).await?)
}

#[when(expr = "the {word} token is revoked")]
async fn revoke_token(w: &mut GateWorld, kind: String) -> Result<(), StepError> {
    let g = grant(w, "latest")?;
    let token = if kind == "refresh" { g.refresh_token.unwrap_or_default() } else { g.access_token };
    let client = Some(w.target.client_id.clone());
    let r = revoke(w, token, client).await?;
    expect(r.status == 200, "the revocation accepted (200)", || format!("{}", r.status))?;
    w.last = Some(r);
    Ok(())
}

#[when("the other client tries to revoke the access token")]
async fn other_client_revokes(w: &mut GateWorld) -> Result<(), StepError> {
    let t = grant(w, "latest")?.access_token;
    let other = other_client(w)?;
    w.last = Some(revoke(w, t, Some(other)).await?);
    Ok(())
}

#[then(expr = "the revocation answers as for {refusal}")]
async fn revocation_answer(w: &mut GateWorld, kind: crate::refusals::Kind) -> Result<(), StepError> {
    crate::world::refused_as(w, "the revocation", kind)
}

#[when("an unknown token is revoked")]
async fn revoke_unknown(w: &mut GateWorld) -> Result<(), StepError> {
    let client = Some(w.target.client_id.clone());
    w.last = Some(revoke(w, "hg-unknown-token-0000000000".into(), client).await?);
    Ok(())
}

#[when(expr = "{int} callers keep using the access token while it is revoked")]
async fn concurrent_use_during_revoke(w: &mut GateWorld, callers: usize) -> Result<(), StepError> {
    // Before the revocation answers, callers go flat out (up to BEFORE requests each). After it,
    // caller k samples at k * STEP and then every callers * STEP until its first refusal: together
    // they sample every STEP, so a token that stays alive for N ms shows a window of about N ms,
    // at a rate the org's per-user limit allows. Up to AFTER samples each (with 8 callers, about 5 s
    // of a token that never dies: long enough to outlast a cache, short enough for a suite). A target that refuses
    // at once ends every loop on its first request after the revocation: a clean run never waits.
    const BEFORE: usize = 10;
    const AFTER: usize = 60;
    const STEP: std::time::Duration = std::time::Duration::from_millis(10);
    /// Only the status counts: a sample reads little of the body.
    const SAMPLE_CAP: usize = 4096;
    let token = grant(w, "latest")?.access_token;
    // Under the probe's rules: the scenario's budget, trusted hosts, no redirect followed.
    let lane = w.probe.lane();
    // The same resource the other token checks use (REST, or the MCP server, where each caller
    // pings a session of its own rather than opening one per request).
    // A session the server ends (404) falls back to the opening request without it.
    let mut requests = Vec::new();
    for _ in 0..callers {
        requests.push(match resource_request(w) {
            Some(r) => (r.clone(), r),
            None => {
                let (url, era) = (primary_mcp_server(w)?, w.target.mcp_era);
                let session = crate::revocation::open_session(&lane, &w.probe.secrets, &url, era, &token).await?;
                let fallback = crate::revocation::mcp_sample(&url, era, None);
                (crate::revocation::mcp_sample(&url, era, session.as_deref()), fallback)
            }
        });
    }
    let start = Instant::now();
    // The revocation is sent only once every caller has had a success: the window is measured
    // with requests really in flight, not before they start.
    let warmed = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let revoked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for (k, (request, fallback)) in requests.into_iter().enumerate() {
        let (lane, warmed, revoked) = (lane.clone(), warmed.clone(), revoked.clone());
        let (mut request, fallback) = (request.bearer(&token), fallback.bearer(&token));
        let (offset, period) = (STEP * k as u32, STEP * callers as u32);
        tasks.push(tokio::spawn(async move {
            let (mut seen, mut after) = (Vec::new(), 0);
            for i in 0.. {
                let is_after = revoked.load(std::sync::atomic::Ordering::SeqCst);
                if is_after {
                    after += 1;
                    if after > AFTER {
                        break;
                    }
                    if after > 1 {
                        tokio::time::sleep(if after == 2 { offset } else { period }).await;
                    }
                } else if i >= BEFORE {
                    // Out of requests before the revocation: wait for it at the sampling pace.
                    tokio::time::sleep(STEP).await;
                    continue;
                }
                let sent = start.elapsed();
                let status = match lane.send(&request, SAMPLE_CAP).await {
                    // The session ended: sample again without it, and go on so.
                    Ok(r) if r.status == 404 && request.headers.iter().any(|(k, _)| k == "Mcp-Session-Id") => {
                        request = fallback.clone();
                        match lane.send(&request, SAMPLE_CAP).await {
                            Ok(r) => r.status,
                            Err(_) => 0,
                        }
                    }
                    Ok(r) => r.status,
                    Err(crate::probe::ProbeError::Unreachable { .. }) => 0,
                    // Nothing more may be sent (budget, interruption, an untrusted host).
                    Err(_) => {
                        seen.push((sent, 0));
                        break;
                    }
                };
                seen.push((sent, status));
                if i == 0 {
                    warmed.add_permits(1);
                }
                if status == 401 {
                    break;
                }
            }
            seen
        }));
    }
    let all_started = tokio::time::timeout(crate::probe::TIMEOUT, warmed.acquire_many(callers as u32)).await;
    expect(all_started.is_ok(), "every caller under way before the revocation", || {
        "callers did not start in time".into()
    })?;
    let client_id = Some(w.target.client_id.clone());
    let rev = revoke(w, token, client_id).await;
    let revoked_at = start.elapsed();
    revoked.store(true, std::sync::atomic::Ordering::SeqCst);
    let rev = rev?;
    let (mut total, mut before_ok, mut after_ok, mut stale_ms) = (0, 0, 0, 0u128);
    // After the revoke answered, the only right answer is 401: any other (a 403, a 5xx, a
    // connection that never answered) is no proof the token is dead.
    let mut after_other: std::collections::BTreeMap<u16, usize> = Default::default();
    for t in tasks {
        for (sent, status) in t.await.unwrap_or_default() {
            total += 1;
            match (sent > revoked_at, status) {
                (false, 200) => before_ok += 1,
                (true, 200) => {
                    after_ok += 1;
                    stale_ms = stale_ms.max((sent - revoked_at).as_millis());
                }
                (true, 401) | (false, _) => {}
                (true, other) => *after_other.entry(other).or_default() += 1,
            }
        }
    }
    w.probe.evidence.push(format!(
        "revocation under concurrent use: {callers} callers, {total} requests, {before_ok} succeeded before the revoke answered {} at {revoked_at:?}; sent after it and succeeded: {after_ok}; answered neither 200 nor 401 after it: {after_other:?} (0: no answer); stale window: {stale_ms} ms (sampled every {} ms)",
        rev.status,
        STEP.as_millis()
    ));
    expect(rev.status == 200, "the revocation accepted (200)", || format!("{}", rev.status))?;
    expect(before_ok > 0, "the token working before the revocation", || "no request succeeded at all".into())?;
    w.revocation_race = Some(RevocationRace { after_ok, stale_ms, after_other });
    Ok(())
}

#[then("no request sent after the revocation succeeded")]
async fn stale_window_zero(w: &mut GateWorld) -> Result<(), StepError> {
    let race = w.revocation_race.clone().ok_or(StepError::NothingSent)?;
    expect(race.after_ok == 0, "a stale window of 0 (no success after the revoke answered)", || {
        format!("{} requests, {} ms", race.after_ok, race.stale_ms)
    })?;
    // A revoked token must be refused as such (RFC 6750 §3.1: 401 invalid_token); an answer that
    // decides nothing (no answer, 429, 5xx) leaves the window unmeasured.
    type Counts = Vec<(u16, usize)>;
    let (undecided, wrong): (Counts, Counts) = race.after_other.into_iter().partition(|(status, _)| undecided(*status));
    expect(wrong.is_empty(), "401 for every request sent after the revoke answered", || {
        format!("{wrong:?} (status, count)")
    })?;
    match undecided.is_empty() {
        true => Ok(()),
        false => Err(StepError::NotVerifiable(format!(
            "requests after the revoke got answers that decide nothing about the token: {undecided:?} (status, count; 0: no answer)"
        ))),
    }
}

/// An answer that says nothing about the request itself: none, rate-limited, a server error.
pub(super) fn undecided(status: u16) -> bool {
    status == 0 || status == 429 || status >= 500
}

#[when(expr = "the admin freezes {word}")]
async fn admin_freezes(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    admin_user_state(w, &persona, "IsFrozen", true).await
}

#[when(expr = "the admin deactivates {word}")]
async fn admin_deactivates(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    admin_user_state(w, &persona, "IsActive", false).await
}

/// Flips a user's freeze or active flag through the REST API as the admin; the undo is queued
/// before the change so it runs even when a later step fails.
pub(super) async fn admin_user_state(
    w: &mut GateWorld,
    persona: &str,
    field: &str,
    value: bool,
) -> Result<(), StepError> {
    let username = w.persona(persona)?.username;
    let user_id = w.admin_user_id(persona).await?;
    let path = if field == "IsFrozen" {
        let soql = format!("SELECT Id FROM UserLogin WHERE UserId = '{user_id}'");
        w.rest("admin", Method::GET, &crate::world::query_path(&soql), None).await?;
        let id = w.last()?.json().and_then(|v| v["records"][0]["Id"].as_str().map(str::to_string));
        let id = id.ok_or_else(|| {
            StepError::NotVerifiable(format!("the admin cannot read {username}'s UserLogin (needed to freeze it)"))
        })?;
        format!("/sobjects/UserLogin/{id}")
    } else {
        format!("/sobjects/User/{user_id}")
    };
    w.queue_undo(Cleanup::AdminPatch { path: path.clone(), body: json!({ field: !value }) });
    w.rest("admin", Method::PATCH, &path, Some(json!({ field: value }))).await?;
    let r = w.last()?;
    // The admin persona lacking the right is the target file's gap, not the org's failure:
    // Salesforce answers 400 (or 403) INSUFFICIENT_ACCESS_OR_READONLY to an edit it may not make.
    // The change did not happen, so its undo is withdrawn rather than reported as owed.
    let status = r.status;
    let code = crate::world::error_code(&r.json().unwrap_or_default()).unwrap_or_default();
    if matches!(status, 400 | 403) && code.starts_with("INSUFFICIENT_ACCESS") {
        w.withdraw_last_undo();
        return Err(StepError::NotVerifiable(format!(
            "the admin persona may not change {path} ({status} {code}): it needs Manage Users"
        )));
    }
    if status == 403 {
        w.withdraw_last_undo();
        return Err(StepError::NotVerifiable(format!("the admin's change of {path} was refused ({status} {code})")));
    }
    expect(r.status == 204, "the admin's change accepted (204)", || format!("{}", r.status))
}

#[when(expr = "the admin revokes the agent app's access for {word}")]
async fn admin_kill_switch(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let user_id = w.admin_user_id(&persona).await?;
    let soql = format!("SELECT Id FROM OauthToken WHERE UserId = '{user_id}' AND AppName = '{}'", w.target.app_name);
    w.rest("admin", Method::GET, &crate::world::query_path(&soql), None).await?;
    let ids: Vec<String> = w
        .last()?
        .json()
        .and_then(|v| {
            v["records"].as_array().map(|a| a.iter().filter_map(|r| r["Id"].as_str().map(str::to_string)).collect())
        })
        .unwrap_or_default();
    expect(!ids.is_empty(), format!("an OauthToken of {persona} for the app"), || "none found".into())?;
    for id in ids {
        w.rest("admin", Method::DELETE, &format!("/sobjects/OauthToken/{id}"), None).await?;
        let r = w.last()?;
        expect(r.status == 204, "the admin's revocation accepted (204)", || format!("{}", r.status))?;
    }
    Ok(())
}

#[then(expr = "{word}'s own token still works at the resource server")]
async fn persona_token_works(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let t = w.token(&persona).await?;
    let r = resource_with(w, &t).await?;
    expect(r.status == 200, format!("{persona}'s token unaffected (200)"), || format!("{}", r.status))
}

#[given(expr = "{word} has signed in through the agent's app and holds its tokens")]
async fn holds_tokens(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    full_sign_in(w, persona).await?;
    tokens_are_issued(w).await
}

#[then("the revocation leaves the token working")]
async fn still_works(w: &mut GateWorld) -> Result<(), StepError> {
    access_works(w, "latest".into()).await
}

/// The Connect API's OAuth usage resource for the agent's app (External Client Apps only).
fn usage_path(w: &GateWorld) -> Result<String, StepError> {
    let app = w.target.app_usage_id.clone().ok_or_else(|| {
        StepError::NotVerifiable(
            "the target names no app.external_client_app_id (GET /services/data/vXX.X/apps/oauth/usage lists it)"
                .into(),
        )
    })?;
    Ok(format!("/apps/oauth/usage/{app}"))
}

#[when(expr = "the admin revokes {word}'s tokens for the agent's app through the Connect API")]
async fn connect_revoke_user(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let path = usage_path(w)?;
    let user_id = w.admin_user_id(&persona).await?;
    w.rest("admin", Method::DELETE, &format!("{path}/{user_id}/tokens"), None).await?;
    let r = w.last()?;
    expect(r.status == 204, "the Connect API's revocation accepted (204)", || r.status.to_string())
}

#[when("the admin revokes every token of the agent's app through the Connect API")]
async fn connect_revoke_app(w: &mut GateWorld) -> Result<(), StepError> {
    let path = usage_path(w)?;
    w.rest("admin", Method::DELETE, &format!("{path}/tokens"), None).await?;
    let r = w.last()?;
    expect(r.status == 204, "the Connect API's revocation accepted (204)", || r.status.to_string())
}

#[given(expr = "{word} reads the {word} record {string} on the MCP server and on REST")]
async fn reads_before_removal(
    w: &mut GateWorld,
    persona: String,
    _object: String,
    alias: String,
) -> Result<(), StepError> {
    crate::permission_removal::reads_before(w, &persona, &alias).await
}

#[when(expr = "the admin removes {word}'s assignment of the agent's permission set")]
async fn remove_permission_set(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    crate::permission_removal::remove(w, &persona).await
}

#[when("the admin assigns the permission set again")]
async fn reassign_permission_set(w: &mut GateWorld) -> Result<(), StepError> {
    crate::permission_removal::reassign(w).await
}

#[then(expr = "{word}'s read of the record {string} is refused on the MCP server and on REST within the {word} window")]
async fn read_refused_within(w: &mut GateWorld, persona: String, alias: String, path: String) -> Result<(), StepError> {
    crate::permission_removal::refused_within(w, &persona, &alias, &path).await
}

#[then(expr = "{word} reads the record {string} on the MCP server and on REST again")]
async fn reads_again(w: &mut GateWorld, persona: String, alias: String) -> Result<(), StepError> {
    crate::permission_removal::reads_again(w, &persona, &alias).await
}
