//! HG-AUD-05: history tracking is on for every object the persona can edit, so what it changed
//! can be reconstructed and rolled back. What the persona can edit comes from its own describe;
//! which fields are tracked, from the admin's read of FieldDefinition (`IsFieldHistoryTracked`).

use crate::world::{GateWorld, StepError, expect, query_path};
use cucumber::{then, when};
use reqwest::Method;
use std::collections::BTreeSet;

/// Per object the persona can edit: the editable fields and the tracked ones.
#[derive(Debug, Clone, Default)]
pub struct EditCoverage {
    pub objects: Vec<(String, Vec<String>, Vec<String>)>,
    pub looked_at: usize,
}

#[when(expr = "the objects {word} can edit are compared with the org's field history tracking")]
async fn coverage(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    // The objects worth asking about: the action list's and those of the target's records.
    let mut objects: BTreeSet<String> = w.target.records.values().map(|r| r.object.clone()).collect();
    if let Some(d) = &w.target.declarations {
        objects.extend(d.action_list.keys().cloned());
    }
    let mut c = EditCoverage { looked_at: objects.len(), ..Default::default() };
    for o in objects {
        let editable: Vec<String> = w
            .describe_fields(&persona, &o)
            .await?
            .iter()
            .filter(|f| f["updateable"] == true)
            .filter_map(|f| f["name"].as_str().map(str::to_string))
            .collect();
        if editable.is_empty() {
            continue;
        }
        let soql = format!(
            "SELECT QualifiedApiName FROM FieldDefinition WHERE EntityDefinitionId = '{o}' AND IsFieldHistoryTracked = true"
        );
        w.rest("admin", Method::GET, &query_path(&soql), None).await?;
        let records = crate::world::query_records(w.last()?, |status, code| {
            format!("the admin cannot read {o}'s field history settings ({status} {code}): grant it View Setup")
        })?;
        let tracked: Vec<String> =
            records.iter().filter_map(|x| x["QualifiedApiName"].as_str().map(str::to_string)).collect();
        w.probe.evidence.push(format!("{persona} edits {o}: {}; tracked: {}", editable.join(", "), tracked.join(", ")));
        c.objects.push((o, editable, tracked));
    }
    if c.objects.is_empty() {
        w.probe.evidence.push(format!("{persona} can edit none of the {} objects looked at", c.looked_at));
    }
    w.history = Some(c);
    Ok(())
}

#[then(expr = "every object {word} can edit has field history tracking on")]
async fn tracked(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let c = w.history.clone().ok_or(StepError::NothingSent)?;
    let untracked: Vec<String> =
        c.objects.iter().filter(|(_, _, t)| t.is_empty()).map(|(o, e, _)| format!("{o} ({})", e.join(", "))).collect();
    expect(untracked.is_empty(), format!("history tracking on for every object {persona} can edit"), || {
        format!("{persona} edits untracked objects: {}", untracked.join("; "))
    })
}

#[then(expr = "{word} can edit at least one object, so the check had something to see")]
async fn edits_something(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    let c = w.history.clone().ok_or(StepError::NothingSent)?;
    expect(!c.objects.is_empty(), format!("{persona} edits at least one object"), || {
        format!("{persona} edits none of the {} objects looked at", c.looked_at)
    })
}
