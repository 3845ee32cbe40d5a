//! HG-SCOPE-01, scope minimization (checklist item C2): the MCP server offers no scope beyond
//! the rollout's declared set, and an access token carries exactly that set.

use crate::world::{GateWorld, StepError, expect};
use serde_json::Value;
use std::collections::BTreeSet;

fn declared(w: &GateWorld) -> BTreeSet<String> {
    w.target.scopes.iter().cloned().collect()
}

fn words(s: &str) -> BTreeSet<String> {
    s.split(' ').filter(|x| !x.is_empty()).map(str::to_string).collect()
}

fn shown(set: &BTreeSet<String>) -> String {
    set.iter().cloned().collect::<Vec<_>>().join(" ")
}

/// RFC 9728 §2: `scopes_supported` lists what a client may ask this resource for; nothing on it
/// may lie beyond the declared set. Without the list there is nothing to judge here (HG-RS-02
/// asks for it).
pub fn metadata_offers_only_declared(w: &GateWorld, metadata: &Value) -> Result<(), StepError> {
    let Some(listed) = metadata.get("scopes_supported").and_then(Value::as_array) else {
        return Err(StepError::NotApplicable(
            "the protected-resource metadata lists no scopes_supported (HG-RS-02 asks for it)".into(),
        ));
    };
    let listed: BTreeSet<String> = listed.iter().filter_map(Value::as_str).map(str::to_string).collect();
    let beyond: BTreeSet<String> = listed.difference(&declared(w)).cloned().collect();
    expect(beyond.is_empty(), format!("scopes_supported within '{}'", shown(&declared(w))), || {
        format!("also '{}'", shown(&beyond))
    })
}

/// The access token just issued carries exactly the declared set in its own `scp` (or `scope`)
/// claim, which is what a resource server enforces; the token answer's `scope` is HG-GRANT-06's.
/// An opaque token says nothing of itself to the client: not applicable.
pub fn token_carries_exactly_declared(w: &mut GateWorld) -> Result<(), StepError> {
    let r = w.last()?;
    let body = r.json().unwrap_or(Value::Null);
    expect(r.status == 200 && body.get("access_token").is_some(), "200 with an access token", || {
        format!("{}", r.status)
    })?;
    let claims = body.get("access_token").and_then(Value::as_str).and_then(crate::login::jwt_claims);
    let Some(claims) = claims else {
        return Err(StepError::NotApplicable(
            "the access token is opaque, so its scope is only what the token answer says (HG-GRANT-06)".into(),
        ));
    };
    let Some(claim) = claims.get("scp").or_else(|| claims.get("scope")) else {
        return Err(StepError::NotApplicable("the access token names no scp or scope claim".into()));
    };
    let carried: BTreeSet<String> = match claim {
        Value::Array(a) => a.iter().filter_map(Value::as_str).map(str::to_string).collect(),
        Value::String(s) => words(s),
        other => return Err(StepError::Expectation { expected: "a scope claim".into(), observed: other.to_string() }),
    };
    let want = declared(w);
    expect(carried == want, format!("'{}'", shown(&want)), || format!("'{}'", shown(&carried)))
}
