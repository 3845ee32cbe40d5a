//! Refresh tokens: use, reuse under rotation, other clients, wider scopes, lifetimes.

use super::*;

async fn use_refresh(
    w: &mut GateWorld,
    which: &str,
    client: Option<String>,
    scope: Option<String>,
) -> Result<(), StepError> {
    let rt = grant(w, which)?.refresh_token.ok_or_else(|| StepError::Expectation {
        expected: "a refresh token".into(),
        observed: "none was issued".into(),
    })?;
    let client = client.unwrap_or_else(|| w.target.client_id.clone());
    let mut form = pairs(&[("grant_type", "refresh_token"), ("refresh_token", &rt), ("client_id", &client)]);
    if let Some(s) = scope {
        form.push(("scope".into(), s));
    }
    w.token_request(form).await
}

#[when("the refresh token is used")]
async fn refresh_latest(w: &mut GateWorld) -> Result<(), StepError> {
    use_refresh(w, "latest", None, None).await
}

#[when("the rotated-out refresh token is used again")]
async fn refresh_replay(w: &mut GateWorld) -> Result<(), StepError> {
    use_refresh(w, "first", None, None).await
}

#[when("the refresh token is used by the other client")]
async fn refresh_other_client(w: &mut GateWorld) -> Result<(), StepError> {
    let other = other_client(w)?;
    use_refresh(w, "latest", Some(other), None).await
}

#[when(expr = "the refresh token is used asking for its declared scope and {string}")]
async fn refresh_wider(w: &mut GateWorld, extra: String) -> Result<(), StepError> {
    let scope = declared_and(w, &extra);
    use_refresh(w, "latest", None, Some(scope)).await
}

#[then(expr = "the scope {string} is refused or left out of the refreshed grant")]
async fn refresh_scope_refused(w: &mut GateWorld, extra: String) -> Result<(), StepError> {
    token_endpoint_scope(w, &extra)
}

#[when(expr = "the code is redeemed asking for its declared scope and {string}")]
async fn redeem_with_scope(w: &mut GateWorld, extra: String) -> Result<(), StepError> {
    let scope = declared_and(w, &extra);
    redeem_asking(w, "correct", None, Some(&scope)).await
}

#[then(expr = "the scope {string} is refused or left out of the grant the token endpoint made")]
async fn exchange_scope_refused(w: &mut GateWorld, extra: String) -> Result<(), StepError> {
    token_endpoint_scope(w, &extra)
}

/// A token request that asked for `extra` beyond the client's scope: refused with
/// `invalid_scope` (RFC 6749 §5.2), or granted without it. The grant's scope is the answer's
/// `scope`, else the access token's own `scope`/`scp` claim where it is a JWT; an answer that
/// names neither is read by RFC 6749 §5.1 as the scope asked for, and there the gate cannot
/// tell without introspection.
fn token_endpoint_scope(w: &GateWorld, extra: &str) -> Result<(), StepError> {
    let r = w.last()?;
    let v = r.json().unwrap_or(Value::Null);
    if r.status == 400 && v.get("error").and_then(Value::as_str) == Some("invalid_scope") {
        return no_token(r);
    }
    expect(r.status == 200, format!("invalid_scope, or a grant without {extra}"), || {
        format!("{} {}", r.status, v.get("error").cloned().unwrap_or(Value::Null))
    })?;
    let claims = v["access_token"].as_str().and_then(crate::login::jwt_claims).unwrap_or(Value::Null);
    let granted = v["scope"].as_str().map(str::to_string).or_else(|| match &claims["scp"] {
        Value::Array(a) => Some(a.iter().filter_map(Value::as_str).collect::<Vec<_>>().join(" ")),
        other => other.as_str().or(claims["scope"].as_str()).map(str::to_string),
    });
    let Some(granted) = granted else {
        return Err(StepError::NotVerifiable(format!(
            "the grant names no scope (no `scope` in the answer, an opaque token); RFC 6749 §5.1 reads that as the scope asked for, with {extra}"
        )));
    };
    let widened = extra.split(' ').any(|x| granted.split(' ').any(|g| g == x));
    expect(!widened, format!("invalid_scope, or a grant without {extra}"), || format!("200 scope '{granted}'"))
}

#[then("the newest refresh token is dead too")]
async fn newest_refresh_dead(w: &mut GateWorld) -> Result<(), StepError> {
    // After a refused replay, `grants` still ends with the set the rotation produced.
    use_refresh(w, "latest", None, None).await?;
    let r = w.last()?;
    let error = r.json().and_then(|v| v.get("error")?.as_str().map(str::to_string)).unwrap_or_default();
    expect(r.status == 400 && error == "invalid_grant", "400 invalid_grant for the newest refresh token", || {
        format!("{} {error}", r.status)
    })?;
    no_token(r)
}

/// The token's own `exp - iat` where it is a JWT; else the answer's `expires_in` (RFC 6749 §5.1),
/// which an opaque token's server states; with neither, not verifiable.
#[then("the access token lives at most the declared maximum")]
async fn lifetime(w: &mut GateWorld) -> Result<(), StepError> {
    let g = grant(w, "latest")?;
    let claims = crate::login::jwt_claims(&g.access_token).unwrap_or(Value::Null);
    let seconds = match (claims["iat"].as_i64(), claims["exp"].as_i64()) {
        // Numbers from the target are checked, never wrapped: an `exp` before `iat`, or one so
        // far out that the difference overflows, is no short lifetime.
        (Some(iat), Some(exp)) => exp.checked_sub(iat).filter(|d| *d >= 0).ok_or_else(|| StepError::Expectation {
            expected: "an exp after iat".into(),
            observed: format!("iat {iat}, exp {exp}"),
        })?,
        _ => match g.expires_in.and_then(|s| i64::try_from(s).ok()) {
            Some(s) => {
                w.probe.evidence.push(format!("the access token is opaque; its answer says expires_in {s}"));
                s
            }
            None => {
                return Err(StepError::NotVerifiable(
                    "the access token is opaque and its answer has no expires_in, so its lifetime cannot be read"
                        .into(),
                ));
            }
        },
    };
    let (minutes, max) = (seconds / 60, w.target.max_access_token_minutes);
    expect(minutes <= max, format!("at most {max} minutes"), || format!("{minutes} minutes"))
}
