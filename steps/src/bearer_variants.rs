//! The Authorization headers the resource-server checks present (HG-RS-01..08): none, malformed
//! ones, the agent's real token, and what an attacker holding it would try: forged JWTs (no
//! algorithm, no signature, another subject, an untrusted key, a foreign issuer), a token for
//! another resource or without the `mcp_api` scope, one in the query string, an expired one.

use crate::world::{GateWorld, StepError};
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD as B64;
use ed25519_dalek::Signer;
use serde_json::{Value, json};

/// Builds the Authorization variant to present; may sign in first to have a real token to forge.
pub async fn authorization(
    w: &mut GateWorld,
    server: &str,
    variant: &str,
) -> Result<(Option<String>, String), StepError> {
    let url = w.mcp_url(server)?;
    Ok(match variant {
        "no" => (None, url),
        "garbage" => (Some("Bearer hg-not-a-token".into()), url),
        "empty" => (Some("Bearer ".into()), url),
        "basic" => (Some(format!("Basic {}", base64::engine::general_purpose::STANDARD.encode("agent:password"))), url),
        "foo" => (Some("foo".into()), url),
        "valid" => (Some(format!("Bearer {}", w.token("agent").await?)), url),
        "query-string" => {
            let t = w.token("agent").await?;
            (None, format!("{url}?access_token={t}"))
        }
        "alg-none" | "stripped-signature" | "admin-subject" | "untrusted-key" | "foreign-issuer" => {
            let t = w.token("agent").await?;
            (Some(format!("Bearer {}", forge(w, &t, variant).await?)), url)
        }
        "other-audience" => {
            // A token for another resource (RFC 8707): the custom server's, used here.
            let other =
                w.target.mcp_servers.iter().find(|(k, _)| *k != server).map(|(_, v)| v.clone()).ok_or_else(|| {
                    StepError::NotVerifiable(
                        "only one MCP server is configured (add another to endpoints.mcp_servers)".into(),
                    )
                })?;
            (Some(format!("Bearer {}", token_with(w, &[("resource", &other)]).await?)), url)
        }
        "no-mcp-scope" => {
            // Another scope the app allows: one it declares besides mcp_api, else OIDC's openid.
            let other = w.target.scopes.iter().find(|s| *s != "mcp_api").cloned().unwrap_or_else(|| "openid".into());
            let token = token_with(w, &[("scope", &other)]).await;
            if token.is_err()
                && w.last_authorize.as_ref().and_then(|o| o.param("error")).as_deref() == Some("invalid_scope")
            {
                return Err(StepError::NotVerifiable(format!(
                    "the server grants this client no token without mcp_api (scope '{other}' refused): add a scope besides mcp_api to app.scopes"
                )));
            }
            (Some(format!("Bearer {}", token?)), url)
        }
        "expired" => {
            let t = w.token("agent").await?;
            let on_mock = std::time::Duration::from_secs((w.target.max_access_token_minutes as u64 + 1) * 60 * 24);
            let lifetime = token_lifetime_left(&t, w.session("agent").and_then(|s| s.expires_in));
            let how = "the token is opaque and its answer had no expires_in";
            w.let_pass("the access token", lifetime, on_mock, how).await?;
            (Some(format!("Bearer {t}")), url)
        }
        other => {
            return Err(StepError::Expectation {
                expected: "a known authorization variant".into(),
                observed: other.into(),
            });
        }
    })
}

/// How long a fresh access token has left: to its JWT `exp`, else its answer's `expires_in`.
fn token_lifetime_left(token: &str, expires_in: Option<u64>) -> Option<std::time::Duration> {
    let now = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).ok()?.as_secs() as i64;
    let exp = crate::login::jwt_claims(token).and_then(|c| c["exp"].as_i64());
    match exp {
        Some(exp) => Some(std::time::Duration::from_secs(exp.saturating_sub(now).max(0) as u64)),
        None => expires_in.map(std::time::Duration::from_secs),
    }
}

/// The agent's access token for a varied authorization request (scope or resource changed).
pub(crate) async fn token_with(w: &mut GateWorld, change: &[(&str, &str)]) -> Result<String, StepError> {
    let change: Vec<(String, String)> = change.iter().map(|(k, v)| (k.to_string(), v.to_string())).collect();
    w.authorize_with("agent", |p| {
        for (k, v) in &change {
            p.retain(|(x, _)| x != k);
            p.push((k.clone(), v.clone()));
        }
    })
    .await?;
    let code = w.code.clone().ok_or_else(|| StepError::Expectation {
        expected: "a code".into(),
        observed: "the authorization was refused".into(),
    })?;
    let mut form = vec![
        ("grant_type".into(), "authorization_code".into()),
        ("code".into(), code.code),
        ("client_id".into(), w.target.client_id.clone()),
        ("redirect_uri".into(), code.redirect_uri),
        ("code_verifier".into(), code.verifier),
    ];
    // A changed resource goes on the token request too (RFC 8707 §2.2): the target's full list
    // would ask for resources this authorization never named.
    form.extend(change.into_iter().filter(|(k, _)| k == "resource"));
    w.token_request(form).await?;
    w.grants
        .last()
        .map(|g| g.access_token.clone())
        .ok_or_else(|| StepError::Expectation { expected: "a token".into(), observed: "none issued".into() })
}

/// Forged variants of a real token: what an attacker holding one would try.
async fn forge(w: &mut GateWorld, real: &str, variant: &str) -> Result<String, StepError> {
    let mut parts = real.split('.');
    let (h, p) = (parts.next().unwrap_or_default(), parts.next().unwrap_or_default());
    let decode =
        |s: &str| B64.decode(s).ok().and_then(|b| serde_json::from_slice::<Value>(&b).ok()).unwrap_or(Value::Null);
    let (header, mut payload) = (decode(h), decode(p));
    if !header.is_object() || !payload.is_object() || real.split('.').count() != 3 {
        return Err(StepError::NotApplicable(
            "the target's access tokens are opaque (not JWTs): there is no header, claim or signature to forge".into(),
        ));
    }
    let enc = |v: &Value| B64.encode(v.to_string());
    let sign_untrusted = |header: &Value, payload: &Value| {
        let key = ed25519_dalek::SigningKey::from_bytes(&rand::random());
        let input = format!("{}.{}", enc(header), enc(payload));
        format!("{input}.{}", B64.encode(key.sign(input.as_bytes()).to_bytes()))
    };
    let forged = match variant {
        "alg-none" => format!("{}.{}.", enc(&json!({"alg": "none", "typ": "JWT"})), p),
        "stripped-signature" => format!("{h}.{p}."),
        "admin-subject" => {
            // The admin persona's own user id, read by its username: a real subject, never a
            // made-up one (without an admin persona the scenario is not verifiable).
            let username = w.persona("admin")?.username;
            let admin = match w.admin_user_id("admin").await {
                Err(StepError::Expectation { .. }) => Err(StepError::NotVerifiable(format!(
                    "the admin's user id could not be read (User where Username = {username})"
                ))),
                other => other,
            }?;
            payload["sub"] = json!(admin);
            let sig = real.rsplit('.').next().unwrap_or_default();
            format!("{h}.{}.{sig}", enc(&payload))
        }
        "untrusted-key" => sign_untrusted(&header, &payload),
        _ => {
            payload["iss"] = json!("https://issuer.evil.example");
            sign_untrusted(&header, &payload)
        }
    };
    w.probe.secrets.add(&forged, "forged token");
    Ok(forged)
}
