//! Access tokens: EdDSA-signed JWTs (audience = the resource, RFC 8707), and the revocation state
//! every request is checked against. A JWT that verifies is not yet a live token.

use crate::clock::Clock;
use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use serde::{Deserialize, Serialize};
use std::collections::HashMap;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};

#[derive(Debug, Clone, Serialize, Deserialize, PartialEq, Eq)]
pub struct AccessClaims {
    pub iss: String,
    pub sub: String,
    pub aud: Vec<String>,
    pub scope: String,
    pub client_id: String,
    pub jti: String,
    pub iat: i64,
    pub exp: i64,
}

impl AccessClaims {
    pub fn has_scope(&self, s: &str) -> bool {
        self.scope.split(' ').any(|x| x == s)
    }
}

/// Why a bearer token was not accepted. Callers map every variant to 401; the variant is kept for
/// the audit log and for the mock's own tests.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum TokenRejection {
    #[error("malformed or unverifiable token")]
    Invalid,
    #[error("token audience is another resource")]
    WrongAudience,
    #[error("token expired")]
    Expired,
    #[error("token revoked or unknown")]
    NotLive,
}

#[derive(Debug, Clone)]
struct LiveToken {
    user_id: String,
    client_id: String,
    exp: i64,
    /// Set instead of removing the token while a revocation delay (a fault) is on.
    revoked_at: Option<std::time::Instant>,
}

/// Which checks a verifier applies. Strict everywhere in a clean org; the MCP server's resource
/// faults switch single checks off.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checks {
    pub signature: bool,
    pub audience: bool,
    pub expiry: bool,
    pub revocation: bool,
}

impl Checks {
    pub const STRICT: Checks = Checks { signature: true, audience: true, expiry: true, revocation: true };
}

pub struct TokenService {
    issuer: String,
    kid: String,
    public_x: String,
    encoding: EncodingKey,
    decoding: DecodingKey,
    live: RwLock<HashMap<String, LiveToken>>,
    counter: AtomicU64,
    /// How long a revoked token keeps working (the `revocation-delay` fault); none when clean.
    revocation_delay: Option<std::time::Duration>,
    /// Tokens whose signature and issuer have been verified, by their exact text, with their
    /// claims. Only the signature is remembered: audience, expiry and liveness are checked on every
    /// request. A request crosses the guard and the pipeline, so each token is verified twice per
    /// call without it.
    signed: RwLock<HashMap<String, AccessClaims>>,
    /// Under `opaque-access-tokens`: the handles handed out, each standing for the signed token
    /// kept here (the org's own session store); none when clean.
    handles: Option<RwLock<HashMap<String, String>>>,
}

/// Verified signatures kept at most; the cache starts over when full.
const SIGNED_CACHE: usize = 4096;

/// PKCS#8 v1 wrapper for a raw Ed25519 seed (RFC 8410): fixed prefix, then the 32 bytes.
const ED25519_PKCS8_PREFIX: [u8; 16] =
    [0x30, 0x2e, 0x02, 0x01, 0x00, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x04, 0x22, 0x04, 0x20];

impl TokenService {
    /// A fresh signing key per org instance: tokens from one run never verify in another.
    pub fn new(issuer: String) -> Self {
        let seed: [u8; 32] = rand::random();
        let public = ed25519_dalek::SigningKey::from_bytes(&seed).verifying_key().to_bytes();
        let mut der = ED25519_PKCS8_PREFIX.to_vec();
        der.extend_from_slice(&seed);
        let public_x = URL_SAFE_NO_PAD.encode(public);
        Self {
            issuer,
            kid: format!("mock-{}", &public_x[..8]),
            decoding: DecodingKey::from_ed_components(&public_x).expect("a 32-byte key decodes"),
            encoding: EncodingKey::from_ed_der(&der),
            public_x,
            live: RwLock::new(HashMap::new()),
            signed: RwLock::new(HashMap::new()),
            counter: AtomicU64::new(0),
            revocation_delay: None,
            handles: None,
        }
    }

    /// Hands out opaque handles (like a Salesforce session id) instead of the JWTs themselves.
    pub fn with_opaque_tokens(mut self, opaque: bool) -> Self {
        self.handles = opaque.then(Default::default);
        self
    }

    /// The signed token a presented one stands for: itself, or the JWT behind a handle.
    fn resolve(&self, presented: &str) -> String {
        let behind =
            self.handles.as_ref().and_then(|h| h.read().unwrap_or_else(|p| p.into_inner()).get(presented).cloned());
        behind.unwrap_or_else(|| presented.to_string())
    }

    pub fn with_revocation_delay(mut self, delay: Option<std::time::Duration>) -> Self {
        self.revocation_delay = delay;
        self
    }

    fn alive(&self, t: &LiveToken) -> bool {
        match (t.revoked_at, self.revocation_delay) {
            (None, _) => true,
            (Some(at), Some(delay)) => at.elapsed() < delay,
            (Some(_), None) => false,
        }
    }

    /// Removes a token, or under a revocation delay marks it to die later.
    fn kill(&self, live: &mut HashMap<String, LiveToken>, jti: &str) -> bool {
        match (live.get_mut(jti), self.revocation_delay) {
            (Some(t), Some(_)) if t.revoked_at.is_none() => {
                t.revoked_at = Some(std::time::Instant::now());
                true
            }
            (Some(_), Some(_)) => false,
            (Some(_), None) => live.remove(jti).is_some(),
            (None, _) => false,
        }
    }

    pub fn issuer(&self) -> &str {
        &self.issuer
    }

    /// The JWKS document that publishes the verification key.
    pub fn jwks(&self) -> serde_json::Value {
        serde_json::json!({"keys": [{"kty": "OKP", "crv": "Ed25519", "alg": "EdDSA", "use": "sig", "kid": self.kid, "x": self.public_x}]})
    }

    /// Signs and registers an access token; returns the token and its claims.
    pub fn mint(
        &self,
        clock: &Clock,
        user_id: &str,
        client_id: &str,
        scopes: &[String],
        audience: Vec<String>,
        lifetime_secs: i64,
    ) -> (String, AccessClaims) {
        let iat = clock.now_secs();
        let n = self.counter.fetch_add(1, Ordering::SeqCst);
        let nonce: u64 = rand::random();
        let claims = AccessClaims {
            iss: self.issuer.clone(),
            sub: user_id.to_string(),
            aud: audience,
            scope: scopes.join(" "),
            client_id: client_id.to_string(),
            jti: format!("{n:08x}{nonce:016x}"),
            iat,
            exp: iat + lifetime_secs,
        };
        let mut header = Header::new(Algorithm::EdDSA);
        header.kid = Some(self.kid.clone());
        let jwt = jsonwebtoken::encode(&header, &claims, &self.encoding).expect("signing with a valid key");
        self.live.write().unwrap_or_else(|p| p.into_inner()).insert(
            claims.jti.clone(),
            LiveToken { user_id: user_id.into(), client_id: client_id.into(), exp: claims.exp, revoked_at: None },
        );
        if let Some(h) = &self.handles {
            let handle = format!("00Dmock!{}", URL_SAFE_NO_PAD.encode(rand::random::<[u8; 32]>()));
            h.write().unwrap_or_else(|p| p.into_inner()).insert(handle.clone(), jwt);
            return (handle, claims);
        }
        (jwt, claims)
    }

    /// Verifies signature, issuer, audience and expiry against the org's clock, then liveness.
    pub fn verify(&self, clock: &Clock, jwt: &str, audience: &str) -> Result<AccessClaims, TokenRejection> {
        self.verify_with(clock, jwt, audience, Checks::STRICT)
    }

    /// `verify` with some checks switched off (only the MCP server's resource faults do that).
    pub fn verify_with(
        &self,
        clock: &Clock,
        jwt: &str,
        audience: &str,
        checks: Checks,
    ) -> Result<AccessClaims, TokenRejection> {
        let jwt = &self.resolve(jwt);
        let claims = if checks.signature {
            self.peek(jwt).ok_or(TokenRejection::Invalid)?
        } else {
            // What a server that trusts the payload does: decode it, whatever the header says.
            let payload = jwt.split('.').nth(1).ok_or(TokenRejection::Invalid)?;
            let raw = URL_SAFE_NO_PAD.decode(payload).map_err(|_| TokenRejection::Invalid)?;
            let claims: AccessClaims = serde_json::from_slice(&raw).map_err(|_| TokenRejection::Invalid)?;
            if claims.iss != self.issuer {
                return Err(TokenRejection::Invalid);
            }
            claims
        };
        if checks.audience && !claims.aud.iter().any(|a| a == audience) {
            return Err(TokenRejection::WrongAudience);
        }
        if checks.expiry && claims.exp <= clock.now_secs() {
            return Err(TokenRejection::Expired);
        }
        if !checks.revocation {
            return Ok(claims);
        }
        let live = self.live.read().unwrap_or_else(|p| p.into_inner());
        match live.get(&claims.jti) {
            Some(t)
                if t.user_id == claims.sub
                    && t.client_id == claims.client_id
                    && t.exp == claims.exp
                    && self.alive(t) =>
            {
                Ok(claims)
            }
            _ => Err(TokenRejection::NotLive),
        }
    }

    /// Claims of a token this org signed, whatever its audience, expiry or liveness (for
    /// revocation and introspection, which must recognise dead tokens too).
    pub fn peek(&self, jwt: &str) -> Option<AccessClaims> {
        let jwt = &self.resolve(jwt);
        if let Some(c) = self.signed.read().unwrap_or_else(|p| p.into_inner()).get(jwt) {
            return Some(c.clone());
        }
        let mut v = Validation::new(Algorithm::EdDSA);
        v.set_issuer(&[&self.issuer]);
        v.validate_exp = false; // checked by the caller against the org's movable clock
        v.validate_aud = false; // checked by the caller so a wrong audience is told apart
        v.set_required_spec_claims(&["iss", "sub", "aud", "exp"]);
        let claims = jsonwebtoken::decode::<AccessClaims>(jwt, &self.decoding, &v).ok()?.claims;
        let mut signed = self.signed.write().unwrap_or_else(|p| p.into_inner());
        if signed.len() >= SIGNED_CACHE {
            signed.clear();
        }
        signed.insert(jwt.to_string(), claims.clone());
        Some(claims)
    }

    pub fn is_live(&self, jti: &str) -> bool {
        self.live.read().unwrap_or_else(|p| p.into_inner()).get(jti).is_some_and(|t| self.alive(t))
    }

    pub fn revoke(&self, jti: &str) -> bool {
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        self.kill(&mut live, jti)
    }

    /// Kills every token of a user (freeze, deactivation); with a client id, only that app's.
    pub fn revoke_user(&self, user_id: &str, client_id: Option<&str>) -> usize {
        let mut live = self.live.write().unwrap_or_else(|p| p.into_inner());
        let doomed: Vec<String> = live
            .iter()
            .filter(|(_, t)| t.user_id == user_id && client_id.is_none_or(|c| c == t.client_id))
            .map(|(j, _)| j.clone())
            .collect();
        doomed.iter().filter(|j| self.kill(&mut live, j)).count()
    }

    pub fn live_count(&self) -> usize {
        self.live.read().unwrap_or_else(|p| p.into_inner()).values().filter(|t| self.alive(t)).count()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn service() -> (TokenService, Clock) {
        (TokenService::new("https://org.test".into()), Clock::default())
    }

    #[test]
    fn minted_token_verifies_for_its_audience_only() {
        let (s, c) = service();
        let (jwt, claims) = s.mint(&c, "005A", "client", &["mcp_api".into()], vec!["https://org.test/rest".into()], 60);
        assert_eq!(s.verify(&c, &jwt, "https://org.test/rest"), Ok(claims));
        assert_eq!(s.verify(&c, &jwt, "https://org.test/other"), Err(TokenRejection::WrongAudience));
    }

    #[test]
    fn expired_revoked_and_tampered_tokens_fail() {
        let (s, c) = service();
        let aud = "https://org.test/rest";
        let (jwt, claims) = s.mint(&c, "005A", "client", &[], vec![aud.into()], 60);
        let mut parts: Vec<String> = jwt.split('.').map(str::to_string).collect();
        let mut tampered = claims.clone();
        tampered.sub = "005ADMIN".into();
        parts[1] = URL_SAFE_NO_PAD.encode(serde_json::to_vec(&tampered).unwrap());
        assert_eq!(s.verify(&c, &parts.join("."), aud), Err(TokenRejection::Invalid));
        let other = TokenService::new("https://org.test".into());
        let (foreign, _) = other.mint(&c, "005A", "client", &[], vec![aud.into()], 60);
        assert_eq!(s.verify(&c, &foreign, aud), Err(TokenRejection::Invalid));

        assert!(s.revoke(&claims.jti));
        assert_eq!(s.verify(&c, &jwt, aud), Err(TokenRejection::NotLive));

        let (jwt2, _) = s.mint(&c, "005A", "client", &[], vec![aud.into()], 60);
        c.advance(std::time::Duration::from_secs(61));
        assert_eq!(s.verify(&c, &jwt2, aud), Err(TokenRejection::Expired));
    }

    #[test]
    fn under_a_revocation_delay_a_revoked_token_lives_on_until_the_delay_passes() {
        let c = Clock::default();
        let s = TokenService::new("https://org.test".into())
            .with_revocation_delay(Some(std::time::Duration::from_millis(50)));
        let (jwt, claims) = s.mint(&c, "005A", "client", &[], vec!["a".into()], 60);
        assert!(s.revoke(&claims.jti));
        assert!(!s.revoke(&claims.jti), "revoked once");
        assert!(s.verify(&c, &jwt, "a").is_ok(), "still accepted inside the delay");
        assert!(s.is_live(&claims.jti));
        // Bounded wait on a 50 ms delay, no timing assertion: only the order of events matters.
        let until = std::time::Instant::now() + std::time::Duration::from_secs(5);
        while s.verify(&c, &jwt, "a").is_ok() && std::time::Instant::now() < until {
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert_eq!(s.verify(&c, &jwt, "a"), Err(TokenRejection::NotLive));
        assert!(!s.is_live(&claims.jti));
    }

    #[test]
    fn relaxed_checks_skip_only_what_they_name() {
        let (s, c) = service();
        let (jwt, claims) = s.mint(&c, "005A", "client", &[], vec!["a".into()], 60);
        let lax_audience = Checks { audience: false, ..Checks::STRICT };
        assert_eq!(s.verify(&c, &jwt, "b"), Err(TokenRejection::WrongAudience));
        assert!(s.verify_with(&c, &jwt, "b", lax_audience).is_ok());
        s.revoke(&claims.jti);
        assert_eq!(s.verify_with(&c, &jwt, "a", lax_audience), Err(TokenRejection::NotLive));
        assert!(s.verify_with(&c, &jwt, "a", Checks { revocation: false, ..Checks::STRICT }).is_ok());
        // Unsigned: alg none with the same claims passes only when signatures are not checked.
        let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
        let payload = jwt.split('.').nth(1).unwrap();
        let unsigned = format!("{header}.{payload}.");
        let no_sig = Checks { signature: false, revocation: false, ..Checks::STRICT };
        assert_eq!(
            s.verify_with(&c, &unsigned, "a", Checks { revocation: false, ..Checks::STRICT }),
            Err(TokenRejection::Invalid)
        );
        assert!(s.verify_with(&c, &unsigned, "a", no_sig).is_ok());
    }

    #[test]
    fn revoke_user_kills_only_that_users_tokens_for_the_app() {
        let (s, c) = service();
        let aud = "a";
        let (a1, _) = s.mint(&c, "U1", "app1", &[], vec![aud.into()], 60);
        let (a2, _) = s.mint(&c, "U1", "app2", &[], vec![aud.into()], 60);
        let (b1, _) = s.mint(&c, "U2", "app1", &[], vec![aud.into()], 60);
        assert_eq!(s.revoke_user("U1", Some("app1")), 1);
        assert!(s.verify(&c, &a1, aud).is_err());
        assert!(s.verify(&c, &a2, aud).is_ok());
        assert!(s.verify(&c, &b1, aud).is_ok());
        assert_eq!(s.revoke_user("U1", None), 1);
        assert!(s.verify(&c, &a2, aud).is_err());
    }
}
