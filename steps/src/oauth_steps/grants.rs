//! Grants and response types the client may not use, and the scopes a grant carries.

use super::*;

#[when(expr = "the client asks for a token with the {word} grant as {word}")]
async fn other_grant(w: &mut GateWorld, grant: String, persona: String) -> Result<(), StepError> {
    let p = w.persona(&persona)?;
    w.probe.secrets.add(&p.password, "password");
    let client = w.target.client_id.clone();
    // Salesforce's password grant takes the password with the user's security token appended.
    let password = format!("{}{}", p.password, p.security_token.as_deref().unwrap_or_default());
    let form = match grant.as_str() {
        "password" => pairs(&[
            ("grant_type", "password"),
            ("client_id", &client),
            ("username", &p.username),
            ("password", &password),
        ]),
        "client_credentials" => pairs(&[("grant_type", "client_credentials"), ("client_id", &client)]),
        "jwt-bearer" => pairs(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
            ("client_id", &client),
            ("assertion", "eyJhbGciOiJub25lIn0.eyJzdWIiOiJ4In0."),
        ]),
        "device-code" => pairs(&[
            ("grant_type", "urn:ietf:params:oauth:grant-type:device_code"),
            ("client_id", &client),
            ("device_code", "hg-device-code"),
        ]),
        "unknown" => pairs(&[("grant_type", "urn:example:hg-unknown-grant"), ("client_id", &client)]),
        other => {
            return Err(StepError::Expectation {
                expected: "a known grant name in the scenario".into(),
                observed: other.into(),
            });
        }
    };
    w.token_request(form).await?;
    w.doubts = incomplete_grant_request(&w.target, &grant, w.target.persona_name(&persona), &p);
    if grant == "password" {
        crate::login_history::password_sent(w, &persona)?;
    }
    // RFC 6749 §4.4: only confidential clients may use client credentials, so a declared public
    // client is refused it by failing client authentication.
    w.client_refusal_is_the_answer =
        grant == "client_credentials" && w.target.flavor == Flavor::OAuth21 && w.target.client_secret.is_none();
    Ok(())
}

/// What a direct grant request lacked for the server to judge the grant itself.
pub(super) fn incomplete_grant_request(t: &Target, grant: &str, name: &str, p: &Persona) -> Vec<Doubt> {
    let mut out = Vec::new();
    let salesforce = t.flavor == Flavor::Salesforce;
    if salesforce && matches!(grant, "password" | "client_credentials") && t.client_secret.is_none() {
        out.push(Doubt {
            reason: "Salesforce authenticates the app with its consumer secret on this grant and the target declares none, so the refusal may be of the missing secret (set app.client_secret_env)".into(),
            only_for: None,
        });
    }
    if salesforce && grant == "password" && p.security_token.is_none() {
        out.push(Doubt {
            reason: format!(
                "Salesforce answers a password without the user's security token with invalid_grant, as it answers a disabled flow (set personas.{name}.security_token_env)"
            ),
            only_for: Some("invalid_grant"),
        });
    }
    out
}

#[then(expr = "the token request is refused as {refusal}")]
async fn token_refused(w: &mut GateWorld, kind: crate::refusals::Kind) -> Result<(), StepError> {
    crate::world::refused_as(w, "the token request", kind)?;
    no_token(w.last()?)
}

#[when(expr = "{word} authorizes with response type {string}")]
async fn response_type(w: &mut GateWorld, persona: String, rt: String) -> Result<(), StepError> {
    w.authorize_with(&persona, |p| set(p, "response_type", &rt)).await
}

pub(super) fn set(params: &mut Vec<(String, String)>, key: &str, value: &str) {
    params.retain(|(k, _)| k != key);
    params.push((key.into(), value.into()));
}

pub(super) fn remove(params: &mut Vec<(String, String)>, key: &str) {
    params.retain(|(k, _)| k != key);
}

#[then("no token is issued through the front channel")]
async fn no_front_channel_token(w: &mut GateWorld) -> Result<(), StepError> {
    let registered = w.target.redirect_uri.clone();
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    if let Outcome::Redirected(u) = o {
        // Parameter names, not text: an error_description may well say "id_token token".
        let fragment = url::form_urlencoded::parse(u.fragment().unwrap_or_default().as_bytes());
        let leaked = u.query_pairs().chain(fragment).any(|(k, _)| k == "access_token" || k == "id_token");
        expect(!leaked, "no token in the redirect (query or fragment)", || "a token in the Location".into())?;
    }
    if let Outcome::Page(r) = o {
        expect(!r.body.contains("access_token"), "no token on the page", || "access_token on the page".into())?;
    }
    match o.ending() {
        Ending::ErrorRedirect { to, error } => {
            let kind = crate::refusals::Kind::ForbiddenResponseType;
            let allowed = crate::refusals::judge(w.target.flavor, kind, crate::refusals::REDIRECT, Some(&error));
            expect(
                to.as_str().starts_with(&registered)
                    && allowed.is_ok()
                    && o.param("state").as_deref() == Some("hg-state"),
                "unsupported_response_type or unauthorized_client (RFC 6749 §4.1.2.1, §4.2.2.1) at the registered callback with state",
                || format!("error={error:?} at a redirect"),
            )
        }
        Ending::ErrorPage { .. } => Ok(()),
        Ending::Granted(u) => Err(StepError::Expectation {
            expected: "a refusal".into(),
            observed: format!("a grant at {}", u.as_str().split('?').next().unwrap_or_default()),
        }),
        Ending::Unrecognised(what) => Err(unrecognised(what)),
    }
}

/// A negative authorize check that ended where the gate cannot tell a refusal from anything else.
pub(super) fn unrecognised(what: String) -> StepError {
    StepError::NotVerifiable(format!(
        "the authorization request ended on {what}; the gate counts a refusal only as an error redirect or the server's error page"
    ))
}

/// The app's declared scope with more added, as a widening request asks for it (no flavor's
/// scope names are assumed: `refresh_token` is Salesforce's, not OAuth 2.1's).
pub(super) fn declared_and(w: &GateWorld, extra: &str) -> String {
    let mut scope = w.target.scopes.clone();
    scope.extend(extra.split(' ').filter(|x| !x.is_empty()).map(str::to_string));
    scope.join(" ")
}

#[when(expr = "{word} signs in through the agent's app asking for its declared scope and {string}")]
async fn sign_in_with_scope(w: &mut GateWorld, persona: String, extra: String) -> Result<(), StepError> {
    let scope = declared_and(w, &extra);
    w.authorize_with(&persona, |p| set(p, "scope", &scope)).await?;
    if w.code.is_some() {
        redeem(w, "correct", None).await?;
    }
    Ok(())
}

#[then(expr = "the scopes {string} are refused or left out of the grant")]
async fn scope_refused_or_narrowed(w: &mut GateWorld, extra: String) -> Result<(), StepError> {
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    if o.param("error").as_deref() == Some("invalid_scope") && o.param("code").is_none() {
        return Ok(());
    }
    let granted = w.grants.last().map(|g| g.scope.clone()).unwrap_or_default();
    let widened: Vec<&str> = extra.split(' ').filter(|x| granted.split(' ').any(|g| g == *x)).collect();
    expect(!granted.is_empty() && widened.is_empty(), format!("invalid_scope, or a grant without {extra}"), || {
        format!("granted '{granted}'")
    })
}

#[when(expr = "{word} signs in through the agent's app")]
pub(super) async fn full_sign_in(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.try_authorize(&persona).await?;
    redeem(w, "correct", None).await
}

#[then("an access token and a refresh token are issued")]
async fn tokens_issued(w: &mut GateWorld) -> Result<(), StepError> {
    let r = w.last()?;
    let v = r.json().unwrap_or(Value::Null);
    let ok = r.status == 200 && v.get("access_token").is_some() && v.get("refresh_token").is_some();
    expect(ok, "200 with access_token and refresh_token", || {
        format!("{} {}", r.status, v.get("error").cloned().unwrap_or(Value::Null))
    })
}

#[then("the granted scope is exactly the declared scope")]
async fn exact_scope(w: &mut GateWorld) -> Result<(), StepError> {
    let mut granted: Vec<String> =
        w.grants.last().map(|g| g.scope.split(' ').map(str::to_string).collect()).unwrap_or_default();
    let mut declared = w.target.scopes.clone();
    granted.sort();
    declared.sort();
    expect(granted == declared, format!("scope '{}'", declared.join(" ")), || format!("scope '{}'", granted.join(" ")))
}
