//! The authorization server's trust in clients (checklist item C3): an unknown client is turned
//! away without a redirect or a sign-in (HG-CLIENT-01), a code bound to a PKCE challenge is never
//! redeemed without its verifier, whatever token path the client takes (HG-PKCE-09), and where
//! the metadata advertises RFC 9207, every authorization response names its issuer (HG-ISS-01).

use crate::login::Ending;
use crate::probe::Request;
use crate::target::Flavor;
use crate::world::{GateWorld, StepError, expect};
use base64::Engine;
use reqwest::Method;

/// A client id no server registered, and a callback of nobody's.
pub const UNKNOWN_CLIENT: &str = "hg-unknown-client-0000";
pub const FOREIGN_CALLBACK: &str = "https://evil.example/callback";

/// HG-CLIENT-01: the authorization request of an unknown client naming a foreign callback, taken
/// as far as the server leads within its own origin: a server may ask the user to sign in before
/// it looks at the client, so the agent signs in where asked, as the login driver does for any
/// request; where it ends is kept, and a redirect off the server's origin is never followed.
pub async fn authorize_unknown_client(w: &mut GateWorld) -> Result<(), StepError> {
    w.authorize_with("agent", |params| {
        for (k, v) in params.iter_mut() {
            match k.as_str() {
                "client_id" => *v = UNKNOWN_CLIENT.into(),
                "redirect_uri" => *v = FOREIGN_CALLBACK.into(),
                _ => {}
            }
        }
    })
    .await
}

/// RFC 6749 §4.1.2.1: an invalid client id gets the error shown to the user, never a redirect to
/// the callback it names (nor anywhere else off the server's origin). Only a page the driver
/// reads as the server's own refusal passes; a page it could not get past proves nothing.
pub fn unknown_client_turned_away(w: &GateWorld) -> Result<(), StepError> {
    let outcome = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    match outcome.ending() {
        Ending::ErrorPage { .. } => Ok(()),
        Ending::Unrecognised(what) => Err(StepError::NotVerifiable(format!(
            "the unknown client's request ended on {what}, not an error the gate can read"
        ))),
        Ending::Granted(to) | Ending::ErrorRedirect { to, .. } => Err(StepError::Expectation {
            expected: "an error shown by the server, no redirect off its origin".into(),
            observed: format!("a redirect to {}://{}", to.scheme(), to.host_str().unwrap_or_default()),
        }),
    }
}

/// The token paths HG-PKCE-09 tries beside the form (HG-PKCE-05): the client authenticated with
/// HTTP Basic, and the code passed off as a refresh token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenPath {
    BasicAuth,
    RefreshGrant,
}

impl std::str::FromStr for TokenPath {
    type Err = String;

    fn from_str(s: &str) -> Result<Self, String> {
        match s {
            "basic-auth" => Ok(TokenPath::BasicAuth),
            "refresh-grant" => Ok(TokenPath::RefreshGrant),
            other => Err(format!("no token path '{other}'")),
        }
    }
}

/// Basic authentication needs the client's secret: a generic OAuth 2.1 client without
/// one is public and has no such path; a Salesforce app always has a consumer secret, so there
/// the target file lacks it.
fn client_secret(w: &GateWorld) -> Result<String, StepError> {
    match (&w.target.client_secret, w.target.flavor) {
        (Some(s), _) => Ok(s.clone()),
        (None, Flavor::OAuth21) => Err(StepError::NotApplicable(
            "the client is public (the target declares no app.client_secret_env): it has no authenticated token path".into(),
        )),
        (None, Flavor::Salesforce) => Err(StepError::NotVerifiable(
            "the app's consumer secret is not declared (set app.client_secret_env), so its authenticated token paths cannot be tried".into(),
        )),
    }
}

/// HG-PKCE-09: redeems the pending code through `path`, with its verifier or without.
pub async fn redeem_through(w: &mut GateWorld, path: TokenPath, with_verifier: bool) -> Result<(), StepError> {
    let p = w.code.clone().ok_or(StepError::NothingSent)?;
    let client = w.target.client_id.clone();
    let mut form: Vec<(String, String)> = match path {
        TokenPath::RefreshGrant => {
            vec![("grant_type".into(), "refresh_token".into()), ("refresh_token".into(), p.code.clone())]
        }
        TokenPath::BasicAuth => vec![
            ("grant_type".into(), "authorization_code".into()),
            ("code".into(), p.code.clone()),
            ("redirect_uri".into(), p.redirect_uri.clone()),
        ],
    };
    if with_verifier {
        form.push(("code_verifier".into(), p.verifier.clone()));
    }
    match path {
        TokenPath::RefreshGrant => {
            form.push(("client_id".into(), client));
            w.token_request(form).await
        }
        TokenPath::BasicAuth => {
            let secret = client_secret(w)?;
            // RFC 6749 §2.3.1: id and secret form-urlencoded, then Basic.
            let enc = |v: &str| url::form_urlencoded::byte_serialize(v.as_bytes()).collect::<String>();
            let basic = base64::engine::general_purpose::STANDARD.encode(format!("{}:{}", enc(&client), enc(&secret)));
            w.probe.secrets.add(&basic, "client secret");
            crate::login::indicate_resources(&w.target, &mut form);
            w.judging(&form);
            w.secret_sent = true;
            let mut req = Request::new(Method::POST, w.target.token_url.as_str()).form(form);
            req.headers.push(("Authorization".into(), format!("Basic {basic}")));
            w.last = Some(w.probe.send(req).await?);
            Ok(())
        }
    }
}

/// HG-ISS-01 applies where the metadata advertises RFC 9207's `iss` (RFC 9207 §3): only then may
/// a client count on it.
pub async fn iss_advertised(w: &mut GateWorld) -> Result<(), StepError> {
    let url = w.target.metadata_url.clone();
    let r = w.probe.send(Request::new(Method::GET, url)).await?;
    let advertised = r.json().and_then(|v| v.get("authorization_response_iss_parameter_supported")?.as_bool());
    if r.status != 200 || advertised.is_none() && r.json().is_none() {
        return Err(StepError::NotVerifiable(format!("the metadata could not be read ({})", r.status)));
    }
    if advertised != Some(true) {
        return Err(StepError::NotApplicable(
            "the metadata does not advertise authorization_response_iss_parameter_supported (RFC 9207 §3)".into(),
        ));
    }
    Ok(())
}

/// RFC 9207 §2: the authorization response (`error` one where `error_response`) carries `iss`
/// equal to the issuer.
pub fn response_names_issuer(w: &GateWorld, error_response: bool) -> Result<(), StepError> {
    let o = w.last_authorize.as_ref().ok_or(StepError::NothingSent)?;
    let is_error = o.param("error").is_some();
    if error_response && !is_error {
        return Err(StepError::NotApplicable(
            "the server sent no error response to the callback for this request, so none could carry iss".into(),
        ));
    }
    if !error_response && o.param("code").is_none() {
        return Err(StepError::Expectation { expected: "a code at the callback".into(), observed: "none".into() });
    }
    let issuer = w.target.issuer.clone();
    let iss = o.param("iss");
    expect(iss.as_deref() == Some(issuer.as_str()), format!("iss={issuer}"), || {
        iss.map(|i| format!("iss={i}")).unwrap_or_else(|| "no iss".into())
    })
}
