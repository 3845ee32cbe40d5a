//! Steps for the authorization server: metadata, grants, callbacks, PKCE, codes, refresh tokens and
//! revocation. A refusal is always checked as: this status, an error from the documented set, and
//! no token anywhere in the answer.

use crate::login::{Ending, Outcome};
use crate::probe::{Reply, Request};
use crate::refusals::Doubt;
use crate::target::{Flavor, Persona, Target};
use crate::world::{Cleanup, CodeRace, GateWorld, RevocationRace, StepError, error_code, expect};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Instant;

fn pairs(items: &[(&str, &str)]) -> Vec<(String, String)> {
    items.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect()
}

/// No token in the body or the headers of an answer.
fn no_token(r: &Reply) -> Result<(), StepError> {
    let v = r.json().unwrap_or(Value::Null);
    let in_body = ["access_token", "refresh_token", "id_token"].iter().find(|k| v.get(**k).is_some());
    expect(in_body.is_none(), "no token in the answer", || format!("{} in the body", in_body.unwrap_or(&"")))?;
    let in_headers = r.headers.iter().any(|(_, val)| val.to_str().is_ok_and(|s| s.contains("access_token")));
    expect(!in_headers, "no token in the headers", || "access_token in a header".into())
}

// ---------------------------------------------------------------- metadata

#[when("the client reads the authorization server metadata")]
async fn read_metadata(w: &mut GateWorld) -> Result<(), StepError> {
    let url = w.target.metadata_url.clone();
    w.last = Some(w.probe.send(Request::new(Method::GET, url)).await?);
    Ok(())
}

fn metadata(w: &GateWorld) -> Result<Value, StepError> {
    let r = w.last()?;
    expect(r.status == 200, "the metadata document served (200)", || format!("{}", r.status))?;
    r.json().filter(Value::is_object).ok_or_else(|| StepError::Expectation {
        expected: "a JSON metadata document".into(),
        observed: "not JSON".into(),
    })
}

fn strings(v: &Value, key: &str) -> Option<Vec<String>> {
    v.get(key)?.as_array().map(|a| a.iter().filter_map(|x| x.as_str().map(str::to_string)).collect())
}

#[then("the metadata issuer is exactly the configured issuer")]
async fn meta_issuer(w: &mut GateWorld) -> Result<(), StepError> {
    let m = metadata(w)?;
    let issuer = m.get("issuer").and_then(Value::as_str).unwrap_or("(missing)").to_string();
    expect(issuer == w.target.issuer, format!("issuer {}", w.target.issuer), || format!("issuer {issuer}"))
}

#[then("the metadata offers S256 and not plain for PKCE")]
async fn meta_pkce(w: &mut GateWorld) -> Result<(), StepError> {
    let methods = strings(&metadata(w)?, "code_challenge_methods_supported").unwrap_or_default();
    expect(methods.iter().any(|m| m == "S256") && !methods.iter().any(|m| m == "plain"), "[S256] without plain", || {
        format!("{methods:?}")
    })
}

#[then("the metadata offers no password, implicit or client-credentials grant")]
async fn meta_grants(w: &mut GateWorld) -> Result<(), StepError> {
    let m = metadata(w)?;
    let grants = strings(&m, "grant_types_supported").ok_or_else(|| StepError::Expectation {
        expected: "grant_types_supported present".into(),
        observed: "absent (the default includes implicit)".into(),
    })?;
    let bad: Vec<&String> =
        grants.iter().filter(|g| ["password", "implicit", "client_credentials"].contains(&g.as_str())).collect();
    expect(bad.is_empty(), "none of password, implicit, client_credentials", || format!("{bad:?}"))?;
    let types = strings(&m, "response_types_supported").unwrap_or_default();
    let token_types: Vec<&String> = types.iter().filter(|t| t.split(' ').any(|p| p == "token")).collect();
    expect(token_types.is_empty(), "no response type containing token", || format!("{token_types:?}"))
}

#[then("the metadata advertises revocation and introspection endpoints that answer")]
async fn meta_endpoints(w: &mut GateWorld) -> Result<(), StepError> {
    let m = metadata(w)?;
    let mut wanted = vec!["revocation_endpoint"];
    if w.target.flavor == Flavor::Salesforce {
        wanted.push("introspection_endpoint");
    }
    for key in wanted {
        let url = m.get(key).and_then(Value::as_str).map(str::to_string);
        let url = url.ok_or_else(|| StepError::Expectation {
            expected: format!("{key} advertised"),
            observed: "absent".into(),
        })?;
        let form = pairs(&[("token", "hg-not-a-token"), ("client_id", &w.target.client_id.clone())]);
        let r = w.probe.send(Request::new(Method::POST, url).form(form)).await?;
        if key == "revocation_endpoint" && w.target.flavor == Flavor::OAuth21 {
            // RFC 7009 2.2: an unknown token is answered 200, with nothing to say.
            expect(r.status == 200, "revocation_endpoint answering 200 (RFC 7009 2.2)", || format!("{}", r.status))?;
            continue;
        }
        expect(r.status < 500 && r.status != 404 && r.json().is_some(), format!("{key} answering with JSON"), || {
            format!("{}", r.status)
        })?;
    }
    Ok(())
}

// ---------------------------------------------------------------- grants

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
    // RFC 6749 §4.4: only confidential clients may use client credentials, so a declared public
    // client is refused it by failing client authentication.
    w.client_refusal_is_the_answer =
        grant == "client_credentials" && w.target.flavor == Flavor::OAuth21 && w.target.client_secret.is_none();
    Ok(())
}

/// What a direct grant request lacked for the server to judge the grant itself.
fn incomplete_grant_request(t: &Target, grant: &str, name: &str, p: &Persona) -> Vec<Doubt> {
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

fn set(params: &mut Vec<(String, String)>, key: &str, value: &str) {
    params.retain(|(k, _)| k != key);
    params.push((key.into(), value.into()));
}

fn remove(params: &mut Vec<(String, String)>, key: &str) {
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
fn unrecognised(what: String) -> StepError {
    StepError::NotVerifiable(format!(
        "the authorization request ended on {what}; the gate counts a refusal only as an error redirect or the server's error page"
    ))
}

/// The app's declared scope with more added, as a widening request asks for it (no flavor's
/// scope names are assumed: `refresh_token` is Salesforce's, not OAuth 2.1's).
fn declared_and(w: &GateWorld, extra: &str) -> String {
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
async fn full_sign_in(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
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

// ---------------------------------------------------------------- callbacks

/// The registered callback R varied the ways attackers vary it.
fn callback_variant(r: &str, variant: &str) -> Result<Option<String>, StepError> {
    let u = url::Url::parse(r)
        .map_err(|e| StepError::Expectation { expected: "a parseable callback".into(), observed: e.to_string() })?;
    let host = u.host_str().unwrap_or_default().to_string();
    let origin = format!("{}://{}", u.scheme(), u.authority());
    let path = u.path().to_string();
    let trimmed = path.trim_end_matches('/');
    let last = trimmed.rsplit('/').next().unwrap_or_default();
    let parent = &trimmed[..trimmed.len() - last.len()];
    let q = u.query().map(|q| format!("?{q}")).unwrap_or_default();
    Ok(Some(match variant {
        "exact" => r.to_string(),
        "omitted" => return Ok(None),
        "trailing-slash" if path.ends_with('/') => format!("{origin}{trimmed}{q}"),
        "trailing-slash" => format!("{origin}{path}/{q}"),
        "path-appended" => format!("{origin}{trimmed}/x{q}"),
        "dot-dot" => format!("{origin}{trimmed}/../{last}{q}"),
        // The last slash itself encoded: a server that decodes before comparing takes it for R.
        "encoded-slash" => format!("{origin}{}%2F{last}{q}", parent.trim_end_matches('/')),
        "encoded-dots" => format!("{origin}{trimmed}/%2e%2e/{last}{q}"),
        "semicolon" => format!("{origin}{trimmed};x=1{q}"),
        "double-encoded" => format!("{origin}{trimmed}/%252e%252e/{last}{q}"),
        "query-added" if q.is_empty() => format!("{r}?hg=1"),
        "query-added" => format!("{r}&hg=1"),
        "subdomain" => format!("{}://evil.{}{}{q}", u.scheme(), u.authority(), path),
        "host-suffix" => format!(
            "{}://{host}.evil.test{}{path}{q}",
            u.scheme(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        "userinfo" => format!("{}://{host}@evil.test{path}{q}", u.scheme()),
        "upper-case-host" => format!(
            "{}://{}{}{path}{q}",
            u.scheme(),
            host.to_uppercase(),
            u.port().map(|p| format!(":{p}")).unwrap_or_default()
        ),
        "explicit-port" => format!("{}://{host}:{}{path}{q}", u.scheme(), u.port_or_known_default().unwrap_or(443)),
        "other-port" => format!("{}://{host}:{}{path}{q}", u.scheme(), u.port_or_known_default().unwrap_or(443) + 1),
        "http-scheme" if u.scheme() == "https" => format!("http://{}{path}{q}", u.authority()),
        "http-scheme" => format!("https://{}{path}{q}", u.authority()),
        "custom-scheme" => format!("com.evil.app:/{}{path}{q}", host),
        "fragment" => format!("{r}#hg"),
        "loopback-ip" => format!("http://127.0.0.1:{}{path}{q}", u.port_or_known_default().unwrap_or(80)),
        "loopback-name" => format!("http://localhost:{}{path}{q}", u.port_or_known_default().unwrap_or(80)),
        other => {
            return Err(StepError::Expectation {
                expected: "a known callback variant in the scenario".into(),
                observed: other.into(),
            });
        }
    }))
}

#[when(expr = "{word} authorizes with the {word} variant of the callback")]
async fn authorize_variant(w: &mut GateWorld, persona: String, variant: String) -> Result<(), StepError> {
    let supplied = callback_variant(&w.target.redirect_uri, &variant)?;
    w.authorize_with(&persona, |p| match &supplied {
        Some(uri) => set(p, "redirect_uri", uri),
        None => remove(p, "redirect_uri"),
    })
    .await?;
    w.snapshot = supplied.map(|s| ("supplied-callback".into(), s));
    Ok(())
}

#[then("the authorization is refused without a redirect to the supplied URI")]
async fn refused_no_redirect(w: &mut GateWorld) -> Result<(), StepError> {
    let supplied = w.snapshot.as_ref().map(|(_, s)| s.clone());
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    expect(o.param("code").is_none(), "no code issued", || "a code was issued".into())?;
    if let (Outcome::Redirected(u), Some(s)) = (o, supplied) {
        let to_supplied = u.as_str().starts_with(&s)
            || url::Url::parse(&s).is_ok_and(|su| {
                su.host_str() == u.host_str()
                    && su.host_str()
                        != url::Url::parse(&w.target.redirect_uri)
                            .ok()
                            .and_then(|r| r.host_str().map(str::to_string))
                            .as_deref()
            });
        expect(!to_supplied, "no redirect to the supplied URI", || format!("redirected to {u}"))?;
    }
    match o.ending() {
        // An error redirect is a refusal only at the registered callback, with state, naming a
        // decision on the request (CONTROLS.md: "Refused" at the authorization endpoint).
        Ending::ErrorRedirect { to, error } => {
            let registered = w.target.redirect_uri.clone();
            expect(
                crate::login::is_callback(&to, &registered),
                "an error only ever sent to the registered callback",
                || format!("the error sent to {}", to.as_str().split('?').next().unwrap_or_default()),
            )?;
            expect(o.param("state").as_deref() == Some("hg-state"), "the error redirect with state", || {
                "no state".into()
            })?;
            match crate::login::REFUSAL_ERRORS.contains(&error.as_str()) {
                true => Ok(()),
                false => Err(unrecognised(format!(
                    "an error redirect with {error:?}, which decides nothing about the request"
                ))),
            }
        }
        Ending::ErrorPage { .. } => Ok(()),
        Ending::Granted(_) => Err(StepError::Expectation { expected: "a refusal".into(), observed: "a grant".into() }),
        Ending::Unrecognised(what) => Err(unrecognised(what)),
    }
}

#[then("a code is delivered to the callback with the state echoed")]
async fn code_delivered(w: &mut GateWorld) -> Result<(), StepError> {
    let r = w.target.redirect_uri.clone();
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    let ok = matches!(o, Outcome::Redirected(u) if u.as_str().starts_with(&r))
        && o.param("code").is_some()
        && o.param("state").as_deref() == Some("hg-state");
    let observed = || match o {
        Outcome::Redirected(u) => {
            format!("redirect with error {:?}", u.query_pairs().find(|(k, _)| k == "error").map(|(_, v)| v.to_string()))
        }
        Outcome::Page(p) => format!("a page with status {}", p.status),
    };
    expect(ok, "a code and state=hg-state at the registered callback", observed)
}

// ---------------------------------------------------------------- PKCE and codes

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
async fn redeem(w: &mut GateWorld, verifier: &str, client: Option<String>) -> Result<(), StepError> {
    redeem_asking(w, verifier, client, None).await
}

/// Redeems the pending code, with `scope` on the exchange where given (a code exchange has none).
async fn redeem_asking(
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

fn other_client(w: &GateWorld) -> Result<String, StepError> {
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
async fn tokens_are_issued(w: &mut GateWorld) -> Result<(), StepError> {
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

// ---------------------------------------------------------------- tokens on the API

/// One request with exactly this token to the resource server: the org's REST API where the
/// target names a record to read (`own-case`), else its first MCP server (a stack with no REST API).
async fn resource_with(w: &mut GateWorld, token: &str) -> Result<Reply, StepError> {
    match resource_request(w) {
        Some(req) => Ok(w.probe.send(req.bearer(token)).await?),
        None => mcp_with(w, token).await,
    }
}

/// The REST read the token checks use, where the target has a REST API with a record to read.
fn resource_request(w: &GateWorld) -> Option<Request> {
    let id = w.target.records.get("own-case")?.id.clone();
    Some(Request::new(Method::GET, w.target.rest(&format!("/sobjects/Case/{id}"))))
}

fn grant(w: &GateWorld, which: &str) -> Result<crate::login::TokenSet, StepError> {
    let g = match which {
        "first" => w.grants.first(),
        _ => w.grants.last(),
    };
    g.cloned().ok_or(StepError::NothingSent)
}

#[then(expr = "the {word} access token works at the resource server")]
async fn access_works(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    let r = resource_with(w, &t).await?;
    expect(r.status == 200, "200 from the resource server", || format!("{}", r.status))
}

#[then(expr = "the {word} access token is dead at the resource server at once")]
async fn access_dead(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    // The very first call after the event: no sleep, no retry.
    let r = resource_with(w, &t).await?;
    let code = r.json().as_ref().and_then(error_code).unwrap_or_default();
    // Salesforce's REST API names the refusal; an MCP server or another API answers a bare 401.
    let salesforce_rest = w.target.flavor == Flavor::Salesforce && resource_request(w).is_some();
    let expected = if salesforce_rest { "401 INVALID_SESSION_ID" } else { "401" };
    let ok = r.status == 401 && (!salesforce_rest || code == "INVALID_SESSION_ID");
    expect(ok, expected, || format!("{} {code}", r.status))
}

/// The agent's primary MCP server, where token checks that need one go.
fn primary_mcp_server(w: &GateWorld) -> Result<String, StepError> {
    w.mcp_url("primary")
}

/// The era's opening MCP request to the target's primary MCP server with exactly this token.
async fn mcp_with(w: &mut GateWorld, token: &str) -> Result<Reply, StepError> {
    let url = primary_mcp_server(w)?;
    let opening = crate::world::opening_request(w.target.mcp_era);
    w.mcp_send(&url, Some(token), None, opening, &[]).await?;
    Ok(w.last()?.clone())
}

#[then(expr = "the {word} access token works on the MCP server")]
async fn access_works_mcp(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    let r = mcp_with(w, &t).await?;
    expect(r.status == 200, "200 from the MCP server", || format!("{}", r.status))
}

#[then(expr = "the {word} access token is dead on the MCP server at once")]
async fn access_dead_mcp(w: &mut GateWorld, which: String) -> Result<(), StepError> {
    let t = grant(w, &which)?.access_token;
    // The very first call after the event: no sleep, no retry.
    // Dead is 401; what the challenge says is HG-RS-01's and HG-RS-03's business.
    let r = mcp_with(w, &t).await?;
    expect(r.status == 401, "401 from the MCP server", || format!("{}", r.status))
}

/// HG-REV-07...: the latest access token sampled on the MCP server and on REST after a
/// revocation path's action, against the target's declared window for the path (none: zero).
#[then(expr = "the latest access token is refused on the MCP server and on REST within the {word} window")]
async fn refused_within_window(w: &mut GateWorld, path: String) -> Result<(), StepError> {
    use crate::revocation::{SAMPLES, Window, since};
    let t = grant(w, "latest")?.access_token;
    let limit = w.target.revocation_windows_ms.get(&path).copied().unwrap_or(0);
    let start = std::time::Instant::now();
    let mut mcp = Window { surface: "MCP".into(), ..Window::default() };
    let mut rest = Window { surface: "REST".into(), ..Window::default() };
    for _ in 0..SAMPLES {
        let r = mcp_with(w, &t).await?;
        mcp.add(&r, since(start));
        if let Some(req) = resource_request(w) {
            let r = w.probe.send(req.bearer(&t)).await?;
            rest.add(&r, since(start));
        }
    }
    let surfaces: Vec<&Window> = if resource_request(w).is_some() { vec![&mcp, &rest] } else { vec![&mcp] };
    for s in &surfaces {
        w.probe.evidence.push(format!("{path} (limit {limit} ms): {}", s.describe()));
    }
    let outside: Vec<String> = surfaces.iter().filter(|s| !s.within(limit)).map(|s| s.describe()).collect();
    expect(outside.is_empty(), format!("refused within {limit} ms on every surface"), || outside.join("; "))
}

#[then(expr = "introspection says the {word} access token is {word}")]
async fn introspection(w: &mut GateWorld, which: String, state: String) -> Result<(), StepError> {
    let want = json!(state == "active");
    let t = grant(w, &which)?.access_token;
    let form = pairs(&[("token", &t), ("client_id", &w.target.client_id.clone())]);
    let r = w.probe.send(Request::new(Method::POST, w.target.introspect_url.clone()).form(form)).await?;
    let active = r.json().and_then(|v| v.get("active").cloned());
    expect(r.status == 200 && active.as_ref() == Some(&want), format!("200 {{\"active\": {want}}}"), || {
        format!("{} active={active:?}", r.status)
    })
}

// ---------------------------------------------------------------- refresh

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

// ---------------------------------------------------------------- revocation

async fn revoke(w: &mut GateWorld, token: String, client: Option<String>) -> Result<Reply, StepError> {
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
    // at a rate the org's per-user limit allows. Up to AFTER samples each. A target that refuses
    // at once ends every loop on its first request after the revocation: a clean run never waits.
    const BEFORE: usize = 10;
    const AFTER: usize = 200;
    const STEP: std::time::Duration = std::time::Duration::from_millis(10);
    /// Only the status counts: a sample reads little of the body.
    const SAMPLE_CAP: usize = 4096;
    let token = grant(w, "latest")?.access_token;
    // The same resource request the other token checks send (REST, or the MCP server).
    let request = match resource_request(w) {
        Some(r) => r,
        None => {
            let era = w.target.mcp_era;
            crate::world::mcp_http(&primary_mcp_server(w)?, crate::world::opening_request(era), era, None)
        }
    };
    // Under the probe's rules: the scenario's budget, trusted hosts, no redirect followed.
    let lane = w.probe.lane();
    let start = Instant::now();
    // The revocation is sent only once every caller has had a success: the window is measured
    // with requests really in flight, not before they start.
    let warmed = std::sync::Arc::new(tokio::sync::Semaphore::new(0));
    let revoked = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let mut tasks = Vec::new();
    for k in 0..callers {
        let (lane, request, warmed, revoked) =
            (lane.clone(), request.clone().bearer(&token), warmed.clone(), revoked.clone());
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
fn undecided(status: u16) -> bool {
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
async fn admin_user_state(w: &mut GateWorld, persona: &str, field: &str, value: bool) -> Result<(), StepError> {
    let username = w.persona(persona)?.username;
    let soql = format!("SELECT Id FROM User WHERE Username = {}", crate::world::soql_string(&username));
    w.rest("admin", Method::GET, &crate::world::query_path(&soql), None).await?;
    let user_id = w.last()?.json().and_then(|v| v["records"][0]["Id"].as_str().map(str::to_string));
    let user_id = user_id.ok_or_else(|| StepError::Expectation {
        expected: format!("the user {username}"),
        observed: "not found".into(),
    })?;
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
    let username = w.persona(&persona)?.username;
    let soql = format!("SELECT Id FROM User WHERE Username = {}", crate::world::soql_string(&username));
    w.rest("admin", Method::GET, &crate::world::query_path(&soql), None).await?;
    let user_id = w.last()?.json().and_then(|v| v["records"][0]["Id"].as_str().map(str::to_string)).unwrap_or_default();
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

#[then(expr = "{word}'s own token still works on the REST API")]
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

#[cfg(test)]
mod tests {
    use super::*;

    const R: &str = "https://agent.example.test/oauth/callback";

    /// Every variant differs from R as sent; the encoding variants are R once a server decodes
    /// them (so they catch a decode before the comparison), and none is R by accident.
    #[test]
    fn every_callback_variant_differs_from_the_registered_one() {
        let variants = [
            "trailing-slash",
            "path-appended",
            "dot-dot",
            "encoded-slash",
            "encoded-dots",
            "semicolon",
            "double-encoded",
            "query-added",
            "subdomain",
            "host-suffix",
            "userinfo",
            "upper-case-host",
            "explicit-port",
            "other-port",
            "http-scheme",
            "custom-scheme",
            "fragment",
            "loopback-ip",
            "loopback-name",
        ];
        for v in variants {
            let sent = callback_variant(R, v).unwrap().unwrap();
            assert_ne!(sent, R, "{v}");
        }
        let decode = |s: &str| url::form_urlencoded::parse(format!("x={s}").as_bytes()).next().unwrap().1.into_owned();
        assert_eq!(decode(&callback_variant(R, "encoded-slash").unwrap().unwrap()), R);
        assert_eq!(
            decode(&callback_variant(R, "encoded-dots").unwrap().unwrap()),
            "https://agent.example.test/oauth/callback/../callback"
        );
        let once = decode(&callback_variant(R, "double-encoded").unwrap().unwrap());
        assert_eq!(once, callback_variant(R, "encoded-dots").unwrap().unwrap());
    }
}
