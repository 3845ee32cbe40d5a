//! What the authorization server remembers: authorization codes, refresh-token families and
//! pending consents. One mutex: every transition (redeem a code, rotate a refresh token) is a
//! single critical section, so concurrent redemptions of one code cannot both succeed.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::HashMap;
use std::sync::Mutex;

/// Salesforce's authorization codes live 15 minutes.
pub const CODE_LIFETIME_MS: i64 = 15 * 60 * 1000;
pub const CONSENT_LIFETIME_MS: i64 = 10 * 60 * 1000;

/// An opaque, unguessable value: 256 random bits, base64url.
pub fn opaque(prefix: &str) -> String {
    let bytes: [u8; 32] = rand::random();
    format!("{prefix}{}", URL_SAFE_NO_PAD.encode(bytes))
}

#[derive(Debug, Clone)]
pub struct Authorization {
    pub client_id: String,
    pub user_id: String,
    pub scopes: Vec<String>,
    pub audience: Vec<String>,
}

#[derive(Debug, Clone)]
pub struct CodeGrant {
    pub auth: Authorization,
    pub redirect_uri: String,
    pub challenge: Option<String>,
    pub expires_ms: i64,
    pub redeemed: bool,
    /// The refresh family the first redemption started, killed if the code is replayed.
    pub family: Option<String>,
}

#[derive(Debug, Clone)]
pub struct RefreshToken {
    pub family: String,
    pub auth: Authorization,
    /// False once rotated out; presenting it again is reuse.
    pub current: bool,
}

#[derive(Debug, Default)]
pub struct Family {
    pub access_jtis: Vec<String>,
    pub refresh_tokens: Vec<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub struct PendingConsent {
    pub auth: Authorization,
    pub redirect_uri: String,
    pub state: Option<String>,
    pub challenge: Option<String>,
    pub expires_ms: i64,
}

#[derive(Debug, Default)]
pub struct GrantState {
    pub codes: HashMap<String, CodeGrant>,
    pub refresh: HashMap<String, RefreshToken>,
    pub families: HashMap<String, Family>,
    pub consents: HashMap<String, PendingConsent>,
}

#[derive(Debug, Default)]
pub struct Grants {
    state: Mutex<GrantState>,
}

impl Grants {
    pub fn with<T>(&self, f: impl FnOnce(&mut GrantState) -> T) -> T {
        let mut s = self.state.lock().unwrap_or_else(|p| p.into_inner());
        f(&mut s)
    }
}

impl GrantState {
    /// Starts a refresh family for a fresh authorization; returns the family id.
    pub fn new_family(&mut self) -> String {
        let id = opaque("fam-");
        self.families.insert(id.clone(), Family::default());
        id
    }

    /// Kills a family: every refresh token in it, and returns its access token ids to revoke.
    pub fn revoke_family(&mut self, family: &str) -> Vec<String> {
        let Some(f) = self.families.get_mut(family) else { return Vec::new() };
        f.revoked = true;
        for rt in f.refresh_tokens.drain(..) {
            self.refresh.remove(&rt);
        }
        std::mem::take(&mut f.access_jtis)
    }

    /// Every family of a user (optionally for one client), for freeze and the app kill switch.
    pub fn families_of(&self, user_id: &str, client_id: Option<&str>) -> Vec<String> {
        let mut out: Vec<String> = self
            .refresh
            .values()
            .filter(|r| r.auth.user_id == user_id && client_id.is_none_or(|c| c == r.auth.client_id))
            .map(|r| r.family.clone())
            .collect();
        out.sort();
        out.dedup();
        out
    }
}
