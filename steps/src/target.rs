//! What the scenarios run against: endpoints, the agent's External Client App, personas and the
//! records scenarios refer to by alias. The CLI builds one (for the embedded mock or from a target
//! file) and installs it before the run; every World reads it.

use crate::evidence::Secrets;
use std::collections::BTreeMap;
use std::sync::{Arc, RwLock};

#[derive(Debug, Clone)]
pub struct Persona {
    pub username: String,
    pub password: String,
}

#[derive(Debug, Clone)]
pub struct RecordRef {
    pub object: String,
    pub id: String,
}

#[derive(Debug, Clone)]
pub struct Target {
    pub name: String,
    /// The org's instance URL: REST lives under `/services/data/{api_version}/`.
    pub instance_url: String,
    pub issuer: String,
    pub authorize_url: String,
    pub token_url: String,
    pub api_version: String,
    pub client_id: String,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub personas: BTreeMap<String, Persona>,
    pub records: BTreeMap<String, RecordRef>,
    /// Values starting with this are seeded sensitive data: seeing one where it must not be is a leak.
    pub canary_marker: String,
    pub secrets: Secrets,
}

impl Target {
    pub fn rest(&self, path: &str) -> String {
        format!("{}/services/data/{}{path}", self.instance_url, self.api_version)
    }
}

static CURRENT: RwLock<Option<Arc<Target>>> = RwLock::new(None);

/// Makes `t` the target of the scenarios that start from now on.
pub fn install(t: Target) -> Arc<Target> {
    let t = Arc::new(t);
    *CURRENT.write().unwrap_or_else(|p| p.into_inner()) = Some(t.clone());
    t
}

/// The installed target. Running scenarios without one is a programming error of the runner.
pub fn current() -> Arc<Target> {
    CURRENT.read().unwrap_or_else(|p| p.into_inner()).clone().expect("a target is installed before scenarios run")
}
