//! Callback URLs: exact matching, and what a refused authorization may not do.

use super::*;

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
