//! Steps for the authorization server, one file per part: `metadata`, `grants`, `callbacks`,
//! `codes` (PKCE and authorization codes), `tokens` (access tokens where they are used), `refresh`
//! and `revocation`. A refusal is always checked as: this status, an error from the documented
//! set, and no token anywhere in the answer.

use crate::login::{Ending, Outcome};
use crate::probe::{Reply, Request};
use crate::refusals::Doubt;
use crate::target::{Flavor, Persona, Target};
use crate::world::{Cleanup, CodeRace, GateWorld, RevocationRace, StepError, error_code, expect};
use cucumber::{given, then, when};
use reqwest::Method;
use serde_json::{Value, json};
use std::time::Instant;

mod callbacks;
mod codes;
mod grants;
mod metadata;
mod refresh;
mod revocation;
mod tokens;

// Helpers one part of the steps shares with another.
use codes::*;
use grants::*;
use revocation::*;
use tokens::*;

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
