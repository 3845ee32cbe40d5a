//! The one table of accepted refusals: per flavor and refusal kind, every status and error code a
//! correct server may answer, each entry citing the RFC section or Salesforce document that allows
//! it. Steps ask `judge`; the Gherkin names the kind, never a code list. Never "any 4xx", and never
//! narrower than the RFC: a server that picks another allowed shape passes, and the evidence says
//! which shape it chose.

use crate::target::Flavor;

/// What was refused, as the Gherkin names it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, cucumber::Parameter)]
#[param(
    name = "refusal",
    regex = "a grant the client may not use|an unknown grant|a spent grant|a grant of another client|a verifier that does not match|a code for another callback|malformed authorization|an invalid token|a request without a bearer token|a response type the client may not use|a token of another client|an unknown token|a code offered as a refresh token"
)]
pub enum Kind {
    /// Token endpoint: a grant type the client is not allowed (password, client credentials,
    /// JWT bearer, device code).
    ForbiddenGrant,
    /// Token endpoint: a grant type nobody defined.
    UnknownGrant,
    /// Token endpoint: a code or refresh token already used, rotated out or expired.
    SpentGrant,
    /// Token endpoint: a code or refresh token issued to another client.
    OtherClientsGrant,
    /// Token endpoint: a code redeemed without its PKCE verifier, or with a wrong one.
    WrongVerifier,
    /// Token endpoint: a code redeemed with a redirect URI other than the one it was issued for.
    OtherCallback,
    /// Resource server: an Authorization header that is not a well-formed bearer token.
    MalformedAuthorization,
    /// Resource server: a well-formed bearer token that is not valid (forged, revoked, expired).
    InvalidToken,
    /// Resource server: no bearer token in the Authorization header (none at all, or only in the
    /// query string, or only a session id).
    MissingToken,
    /// Authorization endpoint, as an error redirect to the registered callback: a response type
    /// other than `code` (implicit, hybrid).
    ForbiddenResponseType,
    /// Revocation endpoint: a token issued to another client. What matters is that the token
    /// stays valid; the answer may be a refusal or RFC 7009's 200.
    ForeignRevocation,
    /// Revocation endpoint: a token the server never issued.
    UnknownRevocation,
    /// Token endpoint: an authorization code sent as the refresh token of a refresh grant.
    CodeAsRefreshToken,
}

/// The status an error redirect is judged with: RFC 6749 §4.1.2.1 shows 302, and any redirect
/// status carries the same answer.
pub const REDIRECT: u16 = 302;

impl std::str::FromStr for Kind {
    type Err = String;

    fn from_str(s: &str) -> Result<Kind, String> {
        Ok(match s {
            "a grant the client may not use" => Kind::ForbiddenGrant,
            "an unknown grant" => Kind::UnknownGrant,
            "a spent grant" => Kind::SpentGrant,
            "a grant of another client" => Kind::OtherClientsGrant,
            "a verifier that does not match" => Kind::WrongVerifier,
            "a code for another callback" => Kind::OtherCallback,
            "malformed authorization" => Kind::MalformedAuthorization,
            "an invalid token" => Kind::InvalidToken,
            "a request without a bearer token" => Kind::MissingToken,
            "a response type the client may not use" => Kind::ForbiddenResponseType,
            "a token of another client" => Kind::ForeignRevocation,
            "an unknown token" => Kind::UnknownRevocation,
            "a code offered as a refresh token" => Kind::CodeAsRefreshToken,
            other => return Err(format!("no refusal kind '{other}'")),
        })
    }
}

/// One accepted shape: any of these statuses with any of these error codes (`None` in `errors`:
/// no code at all, as RFC 6750 allows a challenge without one).
#[derive(Debug, Clone, Copy)]
pub struct Shape {
    pub statuses: &'static [u16],
    pub errors: &'static [Option<&'static str>],
    pub cite: &'static str,
}

const fn shape(statuses: &'static [u16], errors: &'static [Option<&'static str>], cite: &'static str) -> Shape {
    Shape { statuses, errors, cite }
}

/// RFC 6749 §5.2: a client whose authentication fails gets `invalid_client`, with 401 where it
/// authenticated through the Authorization header (400 otherwise).
const CLIENT_AUTH_FAILED: Shape =
    shape(&[400, 401], &[Some("invalid_client")], "RFC 6749 §5.2 (invalid_client, 400 or 401)");

/// The shapes a correct server of this flavor may refuse this with.
pub fn shapes(flavor: Flavor, kind: Kind) -> Vec<Shape> {
    use Kind::*;
    let sf = flavor == Flavor::Salesforce;
    let mut out = match kind {
        ForbiddenGrant => vec![
            shape(
                &[400],
                &[Some("unsupported_grant_type"), Some("unauthorized_client"), Some("invalid_grant")],
                "RFC 6749 §5.2 (unsupported_grant_type, unauthorized_client; invalid_grant for the grant's credentials)",
            ),
            CLIENT_AUTH_FAILED,
        ],
        UnknownGrant => {
            vec![shape(&[400], &[Some("unsupported_grant_type")], "RFC 6749 §5.2 (unsupported_grant_type)")]
        }
        SpentGrant => vec![shape(&[400], &[Some("invalid_grant")], "RFC 6749 §5.2, RFC 9700 §4.14.2 (invalid_grant)")],
        OtherClientsGrant => vec![
            shape(
                &[400],
                &[Some("invalid_grant"), Some("unauthorized_client")],
                "RFC 6749 §5.2 (invalid_grant: issued to another client; unauthorized_client)",
            ),
            CLIENT_AUTH_FAILED,
        ],
        WrongVerifier => vec![shape(
            &[400],
            &[Some("invalid_grant"), Some("invalid_request")],
            "RFC 7636 §4.6 (invalid_grant), OAuth 2.1 §4.1.3 (invalid_request for a missing or malformed verifier)",
        )],
        OtherCallback => vec![shape(&[400], &[Some("invalid_grant")], "RFC 6749 §4.1.3 and §5.2 (invalid_grant)")],
        MalformedAuthorization => vec![
            shape(
                &[401],
                &[None, Some("invalid_token"), Some("invalid_request")],
                "RFC 6750 §3 and §3.1 (401 with a Bearer challenge; no code when no bearer credentials came)",
            ),
            shape(&[400], &[Some("invalid_request")], "RFC 6750 §3.1 (400 invalid_request for a malformed request)"),
        ],
        InvalidToken => vec![shape(&[401], &[None, Some("invalid_token")], "RFC 6750 §3.1 (401 invalid_token)")],
        MissingToken => vec![shape(
            &[401],
            &[None, Some("invalid_token"), Some("invalid_request")],
            "RFC 6750 §3 and §3.1 (401 with a Bearer challenge; it SHOULD NOT carry a code when no credentials came)",
        )],
        ForbiddenResponseType => vec![shape(
            &[REDIRECT],
            &[Some("unsupported_response_type"), Some("unauthorized_client")],
            "RFC 6749 §4.1.2.1 and §4.2.2.1 (unsupported_response_type; unauthorized_client for a client not allowed this method)",
        )],
        ForeignRevocation => vec![
            shape(&[200], &[None], "RFC 7009 §2.2 (200 also for a token that is invalid for this client)"),
            shape(
                &[400],
                &[
                    Some("invalid_request"),
                    Some("invalid_grant"),
                    Some("unauthorized_client"),
                    Some("invalid_token"),
                    Some("unsupported_token_type"),
                ],
                "RFC 7009 §2.1 and §2.2.1 (refused with an RFC 6749 §5.2 error; invalid_grant: issued to another client)",
            ),
            CLIENT_AUTH_FAILED,
        ],
        UnknownRevocation if sf => vec![shape(
            &[400],
            &[Some("invalid_token"), Some("unsupported_token_type")],
            "Salesforce Help, Revoke OAuth Tokens (400 invalid_token or unsupported_token_type)",
        )],
        UnknownRevocation => vec![shape(&[200], &[None], "RFC 7009 §2.2 (200 for an invalid token)")],
        CodeAsRefreshToken => vec![
            shape(
                &[400],
                &[Some("invalid_grant")],
                "RFC 6749 §5.2 and §6 (invalid_grant: the refresh token is invalid)",
            ),
            CLIENT_AUTH_FAILED,
        ],
    };
    if sf && kind == OtherCallback {
        out.push(shape(
            &[400],
            &[Some("redirect_uri_mismatch")],
            "Salesforce OAuth error codes (redirect_uri_mismatch at the token endpoint)",
        ));
    }
    out
}

/// Why a refusal of the request just sent would prove nothing: it lacked what the server needs to
/// judge the grant itself (the client's secret, the user's security token), so the server may
/// have refused the gap rather than the grant.
#[derive(Debug, Clone)]
pub struct Doubt {
    pub reason: String,
    /// Only a refusal with this code is in doubt; `None`: any refusal.
    pub only_for: Option<&'static str>,
}

impl Doubt {
    /// The doubt that holds for a refusal with this error code, if any.
    pub fn applying<'a>(doubts: &'a [Doubt], error: Option<&str>) -> Option<&'a Doubt> {
        doubts.iter().find(|d| d.only_for.is_none_or(|code| error == Some(code)))
    }
}

/// Whether this shape is a failed client authentication (`invalid_client`): the server refused
/// the client, so what the request asked for was never judged.
pub fn is_client_auth_failure(shape: &Shape) -> bool {
    shape.errors.contains(&Some("invalid_client"))
}

/// The error code of a refusal: the `error` of a JSON body, or of a Bearer challenge.
pub fn error_code(reply: &crate::probe::Reply) -> Option<String> {
    if let Some(e) = reply.json().and_then(|v| v.get("error")?.as_str().map(str::to_string)) {
        return Some(e);
    }
    let challenge = reply.header("www-authenticate")?;
    let at = challenge.find("error=\"")? + "error=\"".len();
    challenge[at..].split('"').next().map(str::to_string)
}

/// The accepted shape this answer takes, or what was expected.
pub fn judge(flavor: Flavor, kind: Kind, status: u16, error: Option<&str>) -> Result<Shape, String> {
    let all = shapes(flavor, kind);
    all.iter().copied().find(|s| s.statuses.contains(&status) && s.errors.contains(&error)).ok_or_else(|| {
        all.iter()
            .map(|s| {
                let codes: Vec<&str> = s.errors.iter().map(|e| e.unwrap_or("no error code")).collect();
                let statuses: Vec<String> = s.statuses.iter().map(u16::to_string).collect();
                format!("{} with {}", statuses.join(" or "), codes.join(", "))
            })
            .collect::<Vec<_>>()
            .join("; or ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_entry_cites_its_source_and_the_flavors_differ_where_the_specs_do() {
        for kind in [
            Kind::ForbiddenGrant,
            Kind::UnknownGrant,
            Kind::SpentGrant,
            Kind::OtherClientsGrant,
            Kind::WrongVerifier,
            Kind::OtherCallback,
            Kind::MalformedAuthorization,
            Kind::InvalidToken,
            Kind::MissingToken,
            Kind::ForbiddenResponseType,
            Kind::ForeignRevocation,
            Kind::UnknownRevocation,
        ] {
            for flavor in [Flavor::Salesforce, Flavor::OAuth21] {
                assert!(shapes(flavor, kind).iter().all(|s| s.cite.contains("RFC") || s.cite.contains("Salesforce")));
            }
        }
        // RFC 6749 §5.2 allows 401 invalid_client; never 401 with another code.
        assert!(judge(Flavor::OAuth21, Kind::ForbiddenGrant, 401, Some("invalid_client")).is_ok());
        assert!(judge(Flavor::OAuth21, Kind::ForbiddenGrant, 401, Some("unauthorized_client")).is_err());
        // Salesforce's own code for a callback mismatch is Salesforce's only.
        assert!(judge(Flavor::Salesforce, Kind::OtherCallback, 400, Some("redirect_uri_mismatch")).is_ok());
        let generic = judge(Flavor::OAuth21, Kind::OtherCallback, 400, Some("redirect_uri_mismatch"));
        assert_eq!(generic.unwrap_err(), "400 with invalid_grant");
        // RFC 6750: a malformed header may get 400 invalid_request; an invalid token only 401.
        assert!(judge(Flavor::OAuth21, Kind::MalformedAuthorization, 400, Some("invalid_request")).is_ok());
        assert!(judge(Flavor::OAuth21, Kind::InvalidToken, 400, Some("invalid_request")).is_err());
        assert!(judge(Flavor::OAuth21, Kind::InvalidToken, 401, None).is_ok());
        // RFC 6749 §4.2.2.1 names unauthorized_client for a client not allowed the implicit flow.
        assert!(judge(Flavor::OAuth21, Kind::ForbiddenResponseType, REDIRECT, Some("unauthorized_client")).is_ok());
        // RFC 7009 §2.2.1 answers with RFC 6749 §5.2 codes: invalid_grant is the one for a token
        // "issued to another client" (Authlib's answer); a success code with an error is not.
        assert!(judge(Flavor::OAuth21, Kind::ForeignRevocation, 400, Some("invalid_grant")).is_ok());
        assert!(judge(Flavor::OAuth21, Kind::ForeignRevocation, 400, Some("invalid_scope")).is_err());
    }
}
