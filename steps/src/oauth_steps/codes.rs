//! PKCE and authorization codes: challenges, verifiers, redemption, reuse and races.

use super::*;

#[when(expr = "{word} authorizes with PKCE {word}")]
async fn authorize_pkce(w: &mut GateWorld, persona: String, variant: String) -> Result<(), StepError> {
    let plain_challenge = "hg-plain-challenge-hg-plain-challenge-hg-plain";
    w.authorize_with(&persona, |p| match variant.as_str() {
        "none" => {
            remove(p, "code_challenge");
            remove(p, "code_challenge_method");
        }
        "plain" => {
            set(p, "code_challenge", plain_challenge);
            set(p, "code_challenge_method", "plain");
        }
        "without-method" => remove(p, "code_challenge_method"),
        "S512" => set(p, "code_challenge_method", "S512"),
        _ => {}
    })
    .await
}

#[then(expr = "the authorization is refused at the callback with {word} and no code")]
async fn refused_at_callback(w: &mut GateWorld, error: String) -> Result<(), StepError> {
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    let observed =
        o.param("error").unwrap_or_else(|| if o.param("code").is_some() { "a code".into() } else { "no error".into() });
    expect(o.param("code").is_none() && observed == error, format!("error={error}, no code"), || observed)
}

#[given(expr = "{word} holds a fresh authorization code")]
async fn fresh_code(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.try_authorize(&persona).await?;
    expect(w.code.is_some(), "a code for the persona", || "none was issued".into())
}

/// Redeems the pending code; `verifier` says how the verifier is (mis)formed.
pub(super) async fn redeem(w: &mut GateWorld, verifier: &str, client: Option<String>) -> Result<(), StepError> {
    redeem_asking(w, verifier, client, None).await
}

/// Redeems the pending code, with `scope` on the exchange where given (a code exchange has none).
pub(super) async fn redeem_asking(
    w: &mut GateWorld,
    verifier: &str,
    client: Option<String>,
    scope: Option<&str>,
) -> Result<(), StepError> {
    let p = w.code.clone().ok_or(StepError::NothingSent)?;
    let client = client.unwrap_or_else(|| w.target.client_id.clone());
    let mut form = pairs(&[
        ("grant_type", "authorization_code"),
        ("code", &p.code),
        ("client_id", &client),
        ("redirect_uri", &p.redirect_uri),
    ]);
    let v = match verifier {
        "correct" => Some(p.verifier.clone()),
        "missing" => None,
        "wrong" => Some(crate::pkce::Pkce::new().verifier),
        "challenge" => Some(p.challenge.clone()),
        "short" => Some(p.verifier[..42].to_string()),
        "bad-chars" => Some(format!("{}+/=", &p.verifier[..40])),
        other => {
            return Err(StepError::Expectation { expected: "a known verifier variant".into(), observed: other.into() });
        }
    };
    if let Some(v) = v {
        w.probe.secrets.add(&v, "code verifier");
        form.push(("code_verifier".into(), v));
    }
    if let Some(scope) = scope {
        form.push(("scope".into(), scope.into()));
    }
    w.token_request(form).await
}

#[when(expr = "the code is redeemed with the {word} verifier")]
async fn redeem_with(w: &mut GateWorld, verifier: String) -> Result<(), StepError> {
    redeem(w, &verifier, None).await
}

#[when("the code is redeemed")]
async fn redeem_plain(w: &mut GateWorld) -> Result<(), StepError> {
    redeem(w, "correct", None).await
}

#[when("the code is redeemed again")]
async fn redeem_again(w: &mut GateWorld) -> Result<(), StepError> {
    redeem(w, "correct", None).await
}

#[when("the code is redeemed by the other client")]
async fn redeem_other_client(w: &mut GateWorld) -> Result<(), StepError> {
    let other = other_client(w)?;
    redeem(w, "correct", Some(other)).await
}

pub(super) fn other_client(w: &GateWorld) -> Result<String, StepError> {
    w.target.other_client_id.clone().ok_or_else(|| {
        StepError::NotVerifiable("no other registered client is configured (set app.other_client_id)".into())
    })
}

#[when(expr = "the code is redeemed with the redirect URI {string}")]
async fn redeem_other_redirect(w: &mut GateWorld, uri: String) -> Result<(), StepError> {
    if let Some(p) = w.code.as_mut() {
        p.redirect_uri = uri;
    }
    redeem(w, "correct", None).await
}

#[when("the code's lifetime passes")]
async fn code_lifetime_passes(w: &mut GateWorld) -> Result<(), StepError> {
    // Salesforce's codes live 15 minutes: on the mock, one more minute is past any sane lifetime.
    let lifetime = w.target.code_lifetime;
    let how = "set limits.code_lifetime_seconds to the server's code lifetime";
    w.let_pass("the authorization code", lifetime, std::time::Duration::from_secs(16 * 60), how).await
}

#[then("tokens are issued")]
pub(super) async fn tokens_are_issued(w: &mut GateWorld) -> Result<(), StepError> {
    let r = w.last()?;
    expect(
        r.status == 200 && r.json().is_some_and(|v| v.get("access_token").is_some()),
        "200 with an access token",
        || format!("{} {}", r.status, r.body.chars().take(120).collect::<String>()),
    )
}

#[when(expr = "the code is redeemed {int} times at once")]
async fn redeem_concurrently(w: &mut GateWorld, n: usize) -> Result<(), StepError> {
    let p = w.code.clone().ok_or(StepError::NothingSent)?;
    let form = pairs(&[
        ("grant_type", "authorization_code"),
        ("code", &p.code),
        ("client_id", &w.target.client_id.clone()),
        ("redirect_uri", &p.redirect_uri),
        ("code_verifier", &p.verifier),
    ]);
    // Every request waits at the barrier, so all of them are in flight together: a server that
    // checks "used" and marks it in two steps shows the race.
    let barrier = std::sync::Arc::new(tokio::sync::Barrier::new(n));
    let mut tasks = Vec::new();
    for _ in 0..n {
        let (mut probe, barrier) = (w.probe.clone(), barrier.clone());
        probe.evidence.clear();
        let req = Request::new(Method::POST, w.target.token_url.clone()).form(form.clone());
        tasks.push(tokio::spawn(async move {
            barrier.wait().await;
            let r = probe.send(req).await;
            (r, probe.evidence)
        }));
    }
    let (mut ok, mut losers) = (0, Vec::new());
    for t in tasks {
        let (r, evidence) = t
            .await
            .map_err(|e| StepError::Expectation { expected: "a finished request".into(), observed: e.to_string() })?;
        let r = r?;
        w.probe.evidence.extend(evidence.into_iter().map(|e| w.probe.secrets.redact(&e)));
        let token = r.json().is_some_and(|v| v.get("access_token").is_some());
        if r.status == 200 && token {
            ok += 1;
        } else {
            let code = r.json().and_then(|v| v["error"].as_str().map(str::to_string)).unwrap_or_default();
            losers.push((r.status, code, token));
        }
    }
    w.code_race = Some(CodeRace { successes: ok, losers });
    Ok(())
}

#[then("exactly one redemption succeeds")]
async fn exactly_one(w: &mut GateWorld) -> Result<(), StepError> {
    let race = w.code_race.clone().ok_or(StepError::NothingSent)?;
    expect(race.successes == 1, "exactly 1 success", || format!("{} successes", race.successes))?;
    let shown = |(status, error, token): &(u16, String, bool)| {
        format!("{status} {error:?}{}", if *token { " with a token" } else { "" })
    };
    let wrong: Vec<String> = race
        .losers
        .iter()
        .filter(|(status, error, token)| {
            *token || (!undecided(*status) && (!(400..500).contains(status) || error != "invalid_grant"))
        })
        .map(shown)
        .collect();
    expect(wrong.is_empty(), "every other redemption refused with 4xx invalid_grant and no token", || {
        wrong.join(", ")
    })?;
    let unanswered: Vec<String> = race.losers.iter().filter(|(status, _, _)| undecided(*status)).map(shown).collect();
    match unanswered.is_empty() {
        true => Ok(()),
        false => Err(StepError::NotVerifiable(format!(
            "some redemptions got answers that decide nothing about the code: {}",
            unanswered.join(", ")
        ))),
    }
}
