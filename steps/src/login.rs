//! The OAuth driver: Authorization Code + PKCE through the server's own login (and consent) pages,
//! with plain HTTP. It follows redirects only within the authorization server's origin; the first
//! redirect elsewhere is the answer (the callback, or wherever the server sent the user agent), and
//! is never followed.

use crate::html_form;
use crate::pkce::Pkce;
use crate::probe::{Probe, ProbeError, Reply, Request};
use crate::target::{Persona, RefreshChain, Target};
use reqwest::Method;
use serde_json::Value;
use url::Url;

#[derive(Debug, thiserror::Error)]
pub enum LoginError {
    #[error(transparent)]
    Probe(#[from] ProbeError),
    #[error("the sign-in did not reach the callback: {0}")]
    NoCallback(String),
    #[error("the token endpoint refused the code: {status} {body}")]
    Exchange { status: u16, body: String },
    #[error("the token endpoint refused the stored refresh token: {status} {body} (run `headless-gate login` again)")]
    Refresh { status: u16, body: String },
    #[error("the persona signs in with a stored refresh token and has no password for the login form this check needs")]
    NoPassword,
}

#[derive(Debug, Clone)]
pub struct TokenSet {
    pub access_token: String,
    pub refresh_token: Option<String>,
    pub scope: String,
    /// The answer's `expires_in` (RFC 6749 §5.1), in seconds.
    pub expires_in: Option<u64>,
}

/// Where an authorization request ended.
#[derive(Debug, Clone)]
pub enum Outcome {
    /// The server sent the user agent out of its origin, to this URL.
    Redirected(Url),
    /// The flow stopped on one of the server's pages.
    Page(Reply),
}

impl Outcome {
    /// A query parameter of the redirect, if it was one.
    /// A parameter of the redirect, from its query or, where a response mode puts it there
    /// (implicit and hybrid answers, errors included), its fragment.
    pub fn param(&self, name: &str) -> Option<String> {
        match self {
            Outcome::Redirected(u) => {
                u.query_pairs().find(|(k, _)| k == name).map(|(_, v)| v.into_owned()).or_else(|| {
                    url::form_urlencoded::parse(u.fragment()?.as_bytes())
                        .find(|(k, _)| k == name)
                        .map(|(_, v)| v.into_owned())
                })
            }
            Outcome::Page(_) => None,
        }
    }
}

/// OAuth error codes an authorization server's error page may name (RFC 6749 §4.1.2.1, the
/// Salesforce OAuth error codes): a page naming one of them is a refusal the gate recognises.
/// (`server_error` and `temporarily_unavailable` are no decision about the request, so they are
/// left out: a page or redirect naming only them is not a refusal the gate can count.)
pub const REFUSAL_ERRORS: &[&str] = &[
    "invalid_request",
    "unauthorized_client",
    "access_denied",
    "unsupported_response_type",
    "invalid_scope",
    "invalid_client",
    "invalid_client_id",
    "redirect_uri_mismatch",
    "invalid_redirect_uri",
];

/// How an authorization request ended, as a refusal check reads it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Ending {
    /// A redirect carrying a code or a token: nothing was refused.
    Granted(Url),
    /// An error redirect (RFC 6749 §4.1.2.1): the error code, where it was sent.
    ErrorRedirect { to: Url, error: String },
    /// The server's own error page, no redirect: 400, 401 or 403, or a page naming an OAuth
    /// refusal code with no form to go on with (a 404, 405 or 429 of its own is no refusal).
    ErrorPage { status: u16, error: Option<String> },
    /// Neither: a redirect with no code, token or error, or a page the driver does not understand
    /// (a login or consent page it could not pass). A refusal check cannot say "refused" here.
    Unrecognised(String),
}

impl Outcome {
    pub fn ending(&self) -> Ending {
        match self {
            Outcome::Redirected(u) => {
                let granted = ["code", "access_token", "id_token"].iter().any(|k| self.param(k).is_some());
                match self.param("error") {
                    _ if granted => Ending::Granted(u.clone()),
                    Some(error) => Ending::ErrorRedirect { to: u.clone(), error },
                    None => Ending::Unrecognised(format!("a redirect with no code, token or error to {u}")),
                }
            }
            Outcome::Page(r) => {
                let error = REFUSAL_ERRORS.iter().find(|e| r.body.contains(*e)).map(|e| e.to_string());
                let has_form = !html_form::forms(&r.body).is_empty();
                let refusal_status = matches!(r.status, 400 | 401 | 403);
                let names_refusal = error.is_some() && !has_form && (r.status == 200 || (400..500).contains(&r.status));
                if refusal_status || names_refusal {
                    Ending::ErrorPage { status: r.status, error }
                } else {
                    Ending::Unrecognised(format!(
                        "a page the driver does not understand: status {}, title '{}'",
                        r.status,
                        title(&r.body)
                    ))
                }
            }
        }
    }
}

/// An HTML page's title, cut short, for the evidence of a page the driver could not read.
fn title(body: &str) -> String {
    let lower = body.to_ascii_lowercase();
    let start = lower.find("<title>").map(|i| i + "<title>".len());
    let end = start.and_then(|s| lower[s..].find("</title>").map(|e| s + e));
    match (start, end) {
        (Some(s), Some(e)) => body[s..e].trim().chars().take(80).collect(),
        _ => "(none)".into(),
    }
}

/// The authorize request's parameters, in order, so scenarios can vary any of them.
pub fn standard_params(t: &Target, pkce: &Pkce, state: &str) -> Vec<(String, String)> {
    let mut params: Vec<(String, String)> = vec![
        ("response_type".into(), "code".into()),
        ("client_id".into(), t.client_id.clone()),
        ("redirect_uri".into(), t.redirect_uri.clone()),
        ("scope".into(), t.scopes.join(" ")),
        ("state".into(), state.into()),
        ("code_challenge".into(), pkce.challenge.clone()),
        ("code_challenge_method".into(), "S256".into()),
    ];
    params.extend(t.resources.iter().map(|r| ("resource".to_string(), r.clone())));
    params
}

/// Whether a redirect lands exactly on the registered callback (its query aside): a prefix is not
/// enough, since `https://app/cb.evil` and `https://app/cb/../x` start the same way.
pub fn is_callback(u: &Url, registered: &str) -> bool {
    Url::parse(registered).is_ok_and(|r| same_origin(u, &r) && u.path() == r.path())
}

fn same_origin(a: &Url, b: &Url) -> bool {
    a.scheme() == b.scheme() && a.host_str() == b.host_str() && a.port_or_known_default() == b.port_or_known_default()
}

/// Runs the authorization request as `persona` through login and consent.
pub async fn authorize(
    probe: &mut Probe,
    t: &Target,
    persona: &Persona,
    params: &[(String, String)],
) -> Result<Outcome, LoginError> {
    if persona.password.is_empty() && persona.refresh.is_some() {
        return Err(LoginError::NoPassword);
    }
    probe.secrets.add(&persona.password, "password");
    let start = Url::parse(&t.authorize_url).map_err(|e| LoginError::NoCallback(format!("authorize URL: {e}")))?;
    let mut url = start.clone();
    url.query_pairs_mut().extend_pairs(params.iter().map(|(k, v)| (k.as_str(), v.as_str())));
    let mut next = Request::new(Method::GET, url.as_str());
    let mut submitted_login = false;
    // The server's cookies for this flow (its interaction and session state), sent back within
    // its origin only; they are credentials, so they are redacted like tokens.
    let mut cookies: Vec<(String, String)> = Vec::new();
    for _ in 0..10 {
        let current = Url::parse(&next.url).map_err(|e| LoginError::NoCallback(e.to_string()))?;
        if !cookies.is_empty() {
            let jar = cookies.iter().map(|(k, v)| format!("{k}={v}")).collect::<Vec<_>>().join("; ");
            next.headers.push(("Cookie".into(), jar));
        }
        let reply = probe.send(next).await?;
        for set in reply.headers.get_all("set-cookie").iter().filter_map(|v| v.to_str().ok()) {
            let pair = set.split(';').next().unwrap_or_default();
            if let Some((k, v)) = pair.split_once('=') {
                probe.secrets.add(v.trim(), "session cookie");
                cookies.retain(|(name, _)| name != k.trim());
                cookies.push((k.trim().to_string(), v.trim().to_string()));
            }
        }
        if (300..400).contains(&reply.status) {
            let loc =
                reply.header("location").ok_or_else(|| LoginError::NoCallback("a redirect without Location".into()))?;
            let to = current.join(loc).map_err(|e| LoginError::NoCallback(format!("bad Location: {e}")))?;
            if !same_origin(&to, &start) {
                return Ok(Outcome::Redirected(to));
            }
            next = Request::new(Method::GET, to.as_str());
            continue;
        }
        let forms = html_form::forms(&reply.body);
        let login = forms.iter().find(|f| f.has_input("password"));
        let consent = forms.iter().find(|f| f.fields.iter().any(|x| x.kind == "submit" && is_allow(&x.value)));
        let (form, fill_login) = match (login, consent) {
            (Some(f), _) if !submitted_login => (f, true),
            (_, Some(f)) => (f, false),
            _ => return Ok(Outcome::Page(reply)),
        };
        let action = current.join(&form.action).map_err(|e| LoginError::NoCallback(format!("bad form action: {e}")))?;
        if !same_origin(&action, &start) {
            return Err(LoginError::NoCallback(format!("a form posts to another origin: {action}")));
        }
        let mut pairs: Vec<(String, String)> = Vec::new();
        for f in form.fields.iter().filter(|f| !f.name.is_empty()) {
            match f.kind.as_str() {
                "password" => pairs.push((f.name.clone(), persona.password.clone())),
                "text" | "email" if fill_login && is_username(&f.name) => {
                    pairs.push((f.name.clone(), persona.username.clone()))
                }
                "submit" if is_allow(&f.value) || (fill_login && !f.value.is_empty()) => {
                    pairs.push((f.name.clone(), f.value.clone()))
                }
                "submit" => {}
                _ => pairs.push((f.name.clone(), f.value.clone())),
            }
        }
        submitted_login |= fill_login;
        next = Request::new(if form.method == "GET" { Method::GET } else { Method::POST }, action.as_str()).form(pairs);
    }
    Err(LoginError::NoCallback("too many steps".into()))
}

fn is_allow(v: &str) -> bool {
    matches!(v.to_ascii_lowercase().as_str(), "allow" | "approve" | "yes" | "continue" | "consent" | "authorize")
}

fn is_username(name: &str) -> bool {
    let n = name.to_ascii_lowercase();
    n.contains("user") || n.contains("login") || n.contains("email")
}

/// Redeems a code at the token endpoint; the raw reply, so scenarios can assert refusals.
/// A token request. Code and refresh grants carry the target's resource indicators (RFC 8707 §2.2;
/// MCP authorization: clients send `resource` on token requests too) unless the request names
/// its own.
pub async fn exchange(probe: &mut Probe, t: &Target, mut pairs: Vec<(String, String)>) -> Result<Reply, LoginError> {
    indicate_resources(t, &mut pairs);
    authenticate_client(t, &mut pairs);
    Ok(probe.send(Request::new(Method::POST, t.token_url.as_str()).form(pairs)).await?)
}

/// Adds the target's resource indicators to a code or refresh grant that names none.
pub fn indicate_resources(t: &Target, pairs: &mut Vec<(String, String)>) {
    let grant = pairs.iter().find(|(k, _)| k == "grant_type").map(|(_, v)| v.as_str());
    let indicated = matches!(grant, Some("authorization_code") | Some("refresh_token"));
    if indicated && !pairs.iter().any(|(k, _)| k == "resource") {
        pairs.extend(t.resources.iter().map(|r| ("resource".to_string(), r.clone())));
    }
}

/// Adds the secret of the client a request names, where the target declares one (RFC 6749
/// §2.3.1, in the body: Salesforce's way, and every server's that allows `client_secret_post`).
/// A request that already carries a secret, or names no client, is left as it is.
pub fn authenticate_client(t: &Target, pairs: &mut Vec<(String, String)>) {
    if pairs.iter().any(|(k, _)| k == "client_secret") {
        return;
    }
    let client = pairs.iter().find(|(k, _)| k == "client_id").map(|(_, v)| v.as_str());
    let secret = match client {
        Some(c) if c == t.client_id => t.client_secret.clone(),
        Some(c) if t.other_client_id.as_deref() == Some(c) => t.other_client_secret.clone(),
        _ => None,
    };
    pairs.extend(secret.map(|s| ("client_secret".to_string(), s)));
}

pub fn token_set(reply: &Reply) -> Option<TokenSet> {
    let v = reply.json()?;
    Some(TokenSet {
        access_token: v.get("access_token")?.as_str()?.to_string(),
        refresh_token: v.get("refresh_token").and_then(Value::as_str).map(str::to_string),
        scope: v.get("scope").and_then(Value::as_str).unwrap_or_default().to_string(),
        expires_in: v.get("expires_in").and_then(Value::as_u64),
    })
}

/// An access token from the persona's stored refresh token. Where the server rotates refresh
/// tokens, the new one replaces the old for the rest of the run.
pub async fn refresh(probe: &mut Probe, t: &Target, chain: &RefreshChain) -> Result<TokenSet, LoginError> {
    let mut current = chain.0.lock().await;
    probe.secrets.add(&current, "refresh token");
    let pairs = vec![
        ("grant_type".into(), "refresh_token".into()),
        ("refresh_token".into(), current.clone()),
        ("client_id".into(), t.client_id.clone()),
    ];
    let reply = exchange(probe, t, pairs).await?;
    match (reply.status, token_set(&reply)) {
        (200, Some(ts)) => {
            probe.secrets.add(&ts.access_token, "access token");
            if let Some(next) = &ts.refresh_token {
                probe.secrets.add(next, "refresh token");
                *current = next.clone();
            }
            Ok(ts)
        }
        _ => Err(LoginError::Refresh { status: reply.status, body: probe.secrets.redact(&reply.body) }),
    }
}

/// The whole flow: authorize with PKCE, check `state`, redeem the code.
pub async fn sign_in(probe: &mut Probe, t: &Target, persona: &Persona) -> Result<TokenSet, LoginError> {
    let pkce = Pkce::new();
    probe.secrets.add(&pkce.verifier, "code verifier");
    let state = crate::pkce::s256(&pkce.challenge)[..16].to_string();
    let outcome = authorize(probe, t, persona, &standard_params(t, &pkce, &state)).await?;
    let code = outcome.param("code");
    if let Some(c) = &code {
        probe.secrets.add(c, "authorization code");
    }
    let code = match (&outcome, code) {
        (Outcome::Redirected(u), Some(c))
            if is_callback(u, &t.redirect_uri) && outcome.param("state").as_deref() == Some(&state) =>
        {
            c
        }
        (Outcome::Redirected(u), _) => {
            let err = outcome.param("error").unwrap_or_default();
            return Err(LoginError::NoCallback(probe.secrets.redact(&format!("redirected to {u} (error {err:?})"))));
        }
        (Outcome::Page(p), _) => {
            return Err(LoginError::NoCallback(format!("stopped on a page with status {}", p.status)));
        }
    };
    let reply = exchange(
        probe,
        t,
        vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), code),
            ("client_id".into(), t.client_id.clone()),
            ("redirect_uri".into(), t.redirect_uri.clone()),
            ("code_verifier".into(), pkce.verifier.clone()),
        ],
    )
    .await?;
    match (reply.status, token_set(&reply)) {
        (200, Some(ts)) => Ok(ts),
        _ => Err(LoginError::Exchange { status: reply.status, body: probe.secrets.redact(&reply.body) }),
    }
}

/// The claims of a JWT (its middle part), unverified: what the gate reads of its own tokens. None
/// for an opaque token.
pub fn jwt_claims(token: &str) -> Option<serde_json::Value> {
    use base64::Engine;
    let mut parts = token.split('.');
    let claims = parts.nth(1)?;
    let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(claims).ok()?;
    serde_json::from_slice::<serde_json::Value>(&bytes).ok().filter(serde_json::Value::is_object)
}

#[cfg(test)]
mod tests {
    use super::{Ending, Outcome, is_callback};
    use crate::probe::Reply;
    use url::Url;

    fn page(status: u16, body: &str) -> Outcome {
        Outcome::Page(Reply { status, headers: Default::default(), body: body.into(), truncated: false })
    }

    /// A refusal counts only where the gate recognises it: an error redirect or the server's error
    /// page. A login page the driver could not pass is no refusal, whatever it lacks.
    #[test]
    fn refusals_are_recognised_and_unknown_pages_are_not() {
        let redirect = |s: &str| Outcome::Redirected(Url::parse(s).unwrap());
        let e = redirect("https://app.test/cb?error=access_denied&state=s").ending();
        assert!(matches!(e, Ending::ErrorRedirect { ref error, .. } if error == "access_denied"), "{e:?}");
        assert!(matches!(redirect("https://app.test/cb#access_token=x").ending(), Ending::Granted(_)));
        assert!(matches!(redirect("https://app.test/cb?code=x&error=y").ending(), Ending::Granted(_)));
        assert!(matches!(redirect("https://app.test/elsewhere").ending(), Ending::Unrecognised(_)));
        assert_eq!(page(400, "<p>Bad request</p>").ending(), Ending::ErrorPage { status: 400, error: None });
        assert_eq!(
            page(200, "<p id=error>redirect_uri_mismatch: must match</p>").ending(),
            Ending::ErrorPage { status: 200, error: Some("redirect_uri_mismatch".into()) }
        );
        let login = "<html><head><title> Sign in to Acme </title></head><form action=/x><input name=pin type=text>\
                     <input type=submit value=Go></form> invalid_request</html>";
        match page(200, login).ending() {
            Ending::Unrecognised(what) => assert!(what.contains("status 200, title 'Sign in to Acme'"), "{what}"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(page(500, "oops").ending(), Ending::Unrecognised(_)));
        assert!(matches!(page(404, "Not Found").ending(), Ending::Unrecognised(_)), "a missing route is no refusal");
        assert!(matches!(page(429, "slow down").ending(), Ending::Unrecognised(_)));
        assert!(matches!(page(404, "error=invalid_request").ending(), Ending::ErrorPage { .. }));
    }

    #[test]
    fn only_the_exact_callback_counts() {
        let reg = "https://agent.example.test/oauth/callback";
        let u = |s: &str| Url::parse(s).unwrap();
        assert!(is_callback(&u("https://agent.example.test/oauth/callback?code=x&state=y"), reg));
        for evil in [
            "https://agent.example.test/oauth/callback.evil?code=x",
            "https://agent.example.test/oauth/callbackx?code=x",
            "https://agent.example.test/oauth/callback/extra?code=x",
            "https://agent.example.test.evil.example/oauth/callback?code=x",
            "http://agent.example.test/oauth/callback?code=x",
            "https://agent.example.test:8443/oauth/callback?code=x",
        ] {
            assert!(!is_callback(&u(evil), reg), "{evil}");
        }
    }
}
