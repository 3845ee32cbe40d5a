//! `headless-gate login`: Authorization Code + PKCE for one persona of a real target, as
//! `sf org login web` does it. A loopback listener takes the callback, the code is redeemed with
//! its verifier, and the refresh token goes to a file only the user can read. CI then gives the
//! token to the persona through the environment variable the target file names
//! (`personas.NAME.refresh_token_env`). The token is never printed.

use crate::file_target::{TargetError, discover};
use crate::target_file::{self, TargetFileError};
use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::time::Duration;
use steps::pkce::Pkce;
use url::Url;

#[derive(Debug, Clone)]
pub struct LoginOptions {
    pub target: PathBuf,
    pub persona: String,
    /// The callback to listen on; default: the target file's `app.callback_url`.
    pub callback: Option<String>,
    /// Where the refresh token is stored; default: `~/.config/headless-gate/<target>/<persona>.refresh-token`.
    pub out: Option<PathBuf>,
    /// How long to wait for the browser to come back.
    pub timeout: Duration,
}

#[derive(Debug, thiserror::Error)]
pub enum LoginCmdError {
    #[error("{0}")]
    File(#[from] TargetFileError),
    #[error("{0}")]
    Target(#[from] TargetError),
    #[error("{0}")]
    Usage(String),
    #[error("cannot listen for the callback on {addr}: {problem}")]
    Listen { addr: String, problem: String },
    #[error("no callback within {0} s: the sign-in was not completed")]
    TimedOut(u64),
    #[error("the sign-in came back without a usable code: {0}")]
    Callback(String),
    #[error("the token endpoint refused the code: {0}")]
    Exchange(String),
    #[error("cannot store the refresh token in {path}: {problem}")]
    Store { path: String, problem: String },
}

/// What was stored, and the variable CI sets from it.
#[derive(Debug)]
pub struct Stored {
    pub path: PathBuf,
    pub env_var: String,
}

/// A callback the login can listen on: `http` on a loopback host with an explicit port.
fn loopback(callback: &str, key: &str) -> Result<(Url, std::net::SocketAddr), LoginCmdError> {
    let problem = |why: &str| {
        LoginCmdError::Usage(format!(
            "{key}: {callback} {why}; register a loopback callback such as http://localhost:1717/OauthRedirect \
             on the app and pass it with --callback"
        ))
    };
    let url = Url::parse(callback).map_err(|e| problem(&format!("is not a URL ({e})")))?;
    let ip = match url.host_str() {
        Some("localhost") | Some("127.0.0.1") => std::net::Ipv4Addr::LOCALHOST.into(),
        Some("[::1]") => std::net::Ipv6Addr::LOCALHOST.into(),
        _ => return Err(problem("is not on a loopback host")),
    };
    if url.scheme() != "http" {
        return Err(problem("is not plain http (the listener has no certificate)"));
    }
    let port = url.port().ok_or_else(|| problem("names no port"))?;
    Ok((url, std::net::SocketAddr::new(ip, port)))
}

fn default_out(target_name: &str, persona: &str) -> PathBuf {
    let base = std::env::var_os("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| std::env::var_os("HOME").map(|h| PathBuf::from(h).join(".config")))
        .unwrap_or_else(|| PathBuf::from("."));
    let dir: String =
        target_name.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    base.join("headless-gate").join(dir).join(format!("{persona}.refresh-token"))
}

/// Writes the token atomically into a file created readable and writable by the user only.
fn store(path: &Path, token: &str) -> Result<(), LoginCmdError> {
    let fail = |e: std::io::Error| LoginCmdError::Store { path: path.display().to_string(), problem: e.to_string() };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(fail)?;
    }
    let tmp = path.with_extension("tmp");
    let _ = std::fs::remove_file(&tmp);
    let mut open = std::fs::OpenOptions::new();
    open.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut open, 0o600);
    let mut f = open.open(&tmp).map_err(fail)?;
    std::io::Write::write_all(&mut f, token.as_bytes()).map_err(fail)?;
    f.sync_all().map_err(fail)?;
    std::fs::rename(&tmp, path).map_err(fail)
}

/// Waits for one request on the callback's path and hands back its query parameters.
async fn await_callback(
    listener: tokio::net::TcpListener,
    path: String,
    timeout: Duration,
) -> Result<HashMap<String, String>, LoginCmdError> {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<HashMap<String, String>>(1);
    let page = "<!DOCTYPE html><html><head><meta charset=\"utf-8\"><title>headless-gate</title></head>\
                <body><p>headless-gate received the sign-in. You can close this window.</p></body></html>";
    let app = axum::Router::new().route(
        &path,
        axum::routing::get(move |axum::extract::Query(q): axum::extract::Query<HashMap<String, String>>| {
            let tx = tx.clone();
            async move {
                let _ = tx.try_send(q);
                axum::response::Html(page)
            }
        }),
    );
    let server = tokio::spawn(async move { axum::serve(listener, app).await });
    let got = tokio::time::timeout(timeout, rx.recv()).await;
    server.abort();
    match got {
        Ok(Some(q)) => Ok(q),
        _ => Err(LoginCmdError::TimedOut(timeout.as_secs())),
    }
}

/// The whole login. `say` gets what the user must read (the URL to open, where the token went).
pub async fn login(opts: &LoginOptions, say: impl Fn(&str)) -> Result<Stored, LoginCmdError> {
    let file = target_file::load(&opts.target)?;
    let persona = file.personas.get(&opts.persona).ok_or_else(|| {
        let known: Vec<&String> = file.personas.keys().collect();
        LoginCmdError::Usage(format!("--persona: '{}' is not in the target file's personas {known:?}", opts.persona))
    })?;
    let (callback, key) = match &opts.callback {
        Some(c) => (c.clone(), "--callback"),
        None => (file.app.callback_url.clone(), "app.callback_url"),
    };
    let (callback_url, addr) = loopback(&callback, key)?;
    let endpoints = discover(&file).await?;
    let listener = tokio::net::TcpListener::bind(addr)
        .await
        .map_err(|e| LoginCmdError::Listen { addr: addr.to_string(), problem: e.to_string() })?;

    let pkce = Pkce::new();
    let state = Pkce::new().verifier[..22].to_string();
    let mut authorize = Url::parse(&endpoints.authorize_url)
        .map_err(|e| LoginCmdError::Usage(format!("authorization_endpoint: {e}")))?;
    authorize
        .query_pairs_mut()
        .append_pair("response_type", "code")
        .append_pair("client_id", &file.app.client_id)
        .append_pair("redirect_uri", &callback)
        .append_pair("scope", &file.app.scopes.join(" "))
        .append_pair("state", &state)
        .append_pair("code_challenge", &pkce.challenge)
        .append_pair("code_challenge_method", "S256")
        .append_pair("login_hint", &persona.username);
    say(&format!(
        "Open this URL in a browser and sign in as {}:\n\n  {authorize}\n\nWaiting up to {} s for the callback on {callback} ...",
        persona.username,
        opts.timeout.as_secs()
    ));

    let q = await_callback(listener, callback_url.path().to_string(), opts.timeout).await?;
    if let Some(error) = q.get("error") {
        let description = q.get("error_description").map(|d| format!(" ({d})")).unwrap_or_default();
        return Err(LoginCmdError::Callback(format!("the authorization server answered error={error}{description}")));
    }
    if q.get("state") != Some(&state) {
        return Err(LoginCmdError::Callback(
            "the state does not match this login's (a forged or stale callback)".into(),
        ));
    }
    if let Some(iss) = q.get("iss").filter(|i| **i != file.endpoints.issuer) {
        return Err(LoginCmdError::Callback(format!(
            "iss is {iss}, not the target's issuer {}",
            file.endpoints.issuer
        )));
    }
    let code = q.get("code").ok_or_else(|| LoginCmdError::Callback("no code parameter".into()))?;

    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(steps::probe::TIMEOUT)
        .build()
        .map_err(|e| LoginCmdError::Exchange(e.to_string()))?;
    let form = [
        ("grant_type", "authorization_code"),
        ("code", code.as_str()),
        ("client_id", file.app.client_id.as_str()),
        ("redirect_uri", callback.as_str()),
        ("code_verifier", pkce.verifier.as_str()),
    ];
    let resp = client
        .post(&endpoints.token_url)
        .form(&form)
        .send()
        .await
        .map_err(|e| LoginCmdError::Exchange(format!("{}: no answer ({e})", endpoints.token_url)))?;
    let status = resp.status().as_u16();
    let body: serde_json::Value = resp.json().await.unwrap_or(serde_json::Value::Null);
    // Only the error fields are shown: the body of a success holds tokens.
    let refresh = match (status, body["refresh_token"].as_str()) {
        (200, Some(t)) => t.to_string(),
        (200, None) => {
            return Err(LoginCmdError::Exchange(
                "no refresh token came back: the app's scopes must include refresh_token".into(),
            ));
        }
        _ => {
            return Err(LoginCmdError::Exchange(format!(
                "{status} error={} {}",
                body["error"].as_str().unwrap_or("(none)"),
                body["error_description"].as_str().unwrap_or_default()
            )));
        }
    };
    let path = opts.out.clone().unwrap_or_else(|| default_out(&file.name, &opts.persona));
    store(&path, &refresh)?;
    let env_var = persona
        .refresh_token_env
        .clone()
        .unwrap_or_else(|| format!("HG_{}_REFRESH_TOKEN", opts.persona.to_ascii_uppercase().replace('-', "_")));
    let hint = match &persona.refresh_token_env {
        Some(_) => String::new(),
        None => format!("\nThen set personas.{}.refresh_token_env = \"{env_var}\" in the target file.", opts.persona),
    };
    say(&format!(
        "Stored the refresh token for {} in {} (readable by you only).\n\
         For a run, set {env_var} from it, e.g.  export {env_var}=\"$(cat {})\"{hint}",
        persona.username,
        path.display(),
        path.display()
    ));
    Ok(Stored { path, env_var })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_loopback_http_callbacks_with_a_port_can_be_listened_on() {
        assert!(loopback("http://localhost:1717/OauthRedirect", "k").is_ok());
        assert!(loopback("http://127.0.0.1:8080/cb", "k").is_ok());
        for (bad, why) in [
            ("https://agent.example.com/oauth/callback", "not on a loopback host"),
            ("https://localhost:1717/cb", "not plain http"),
            ("http://localhost/cb", "names no port"),
            ("not a url", "is not a URL"),
        ] {
            let err = loopback(bad, "app.callback_url").unwrap_err().to_string();
            assert!(err.starts_with(&format!("app.callback_url: {bad} ")) && err.contains(why), "{err}");
        }
    }

    #[test]
    fn the_stored_token_is_readable_by_its_owner_only() {
        let dir = std::env::temp_dir().join(format!("hg-login-store-{}", std::process::id()));
        let path = dir.join("agent.refresh-token");
        store(&path, "token-value-123").unwrap();
        store(&path, "token-value-456").unwrap();
        assert_eq!(std::fs::read_to_string(&path).unwrap(), "token-value-456");
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            assert_eq!(std::fs::metadata(&path).unwrap().permissions().mode() & 0o777, 0o600);
        }
        std::fs::remove_dir_all(dir).unwrap();
    }
}
