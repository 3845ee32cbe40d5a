//! HG-PERM-02 over every field the target declares hidden from the agent (`[[hidden_fields]]`: a
//! record by alias and a field; the mock's fixture supplies its own), so the rows judge the org's
//! fields rather than names of ours. Each field is proved to hold a value first (the admin reads
//! it); a field the admin cannot show is not verifiable, and the others are still judged, so one
//! missing value never hides a leak in another. The checks per field are the steps' own.

use crate::mcp_tools::ToolRole;
use crate::world::{GateWorld, StepError, query_path};
use reqwest::Method;
use serde_json::json;

/// Where the fields are looked for.
pub enum Surface {
    Rest,
    /// Through the MCP server of this name, with the tools the target maps.
    Mcp(String),
}

/// Who sees the fields: the persona they are hidden from, or one allowed them (the twin).
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Expect {
    Hidden,
    Shown,
}

/// Every declared field, judged on `surface` as `persona`: failures name the field, then what
/// was expected and observed.
pub async fn judge(w: &mut GateWorld, persona: &str, surface: &Surface, want: Expect) -> Result<(), StepError> {
    let fields = w.target.hidden_fields.clone();
    if fields.is_empty() {
        return Err(StepError::NotVerifiable(
            "the target declares no field hidden from the agent (add [[hidden_fields]] with a record and a field)"
                .into(),
        ));
    }
    let (mut failed, mut unproved) = (Vec::new(), Vec::new());
    for f in &fields {
        let object = w.record(&f.record)?.object;
        let name = format!("{object}.{}", f.field);
        let outcome = match w.prove_exists(&object, &f.record, Some(&f.field)).await {
            Ok(()) => match (surface, want) {
                (Surface::Rest, Expect::Hidden) => hidden_on_rest(w, persona, &object, &f.record, &f.field).await,
                (Surface::Rest, Expect::Shown) => shown_on_rest(w, persona, &object, &f.record, &f.field).await,
                (Surface::Mcp(server), Expect::Hidden) => {
                    hidden_through_mcp(w, persona, server, &object, &f.record, &f.field).await
                }
                (Surface::Mcp(_), Expect::Shown) => Err(StepError::NotApplicable(
                    "the shown twin reads REST, where the record read is the platform's".into(),
                )),
            },
            Err(e) => Err(e),
        };
        match outcome {
            Ok(()) => w
                .probe
                .evidence
                .push(format!("{name}: {} as {persona}", if want == Expect::Hidden { "hidden" } else { "shown" })),
            Err(StepError::Expectation { expected, observed }) => {
                failed.push(format!("{name}: expected {expected}, observed {observed}"))
            }
            Err(StepError::NotVerifiable(why)) => unproved.push(format!("{name}: {why}")),
            Err(other) => return Err(other),
        }
    }
    if !failed.is_empty() {
        return Err(StepError::Expectation {
            expected: format!(
                "every declared hidden field {}",
                if want == Expect::Hidden { "hidden" } else { "shown" }
            ),
            observed: failed.join("; "),
        });
    }
    if !unproved.is_empty() {
        return Err(StepError::NotVerifiable(unproved.join("; ")));
    }
    Ok(())
}

/// A query naming the field is refused, a read of its record omits it, the describe omits it.
async fn hidden_on_rest(
    w: &mut GateWorld,
    persona: &str,
    object: &str,
    alias: &str,
    field: &str,
) -> Result<(), StepError> {
    use crate::org_steps::{denied, no_canary, no_field};
    w.rest(persona, Method::GET, &query_path(&format!("SELECT Id, {field} FROM {object}")), None).await?;
    denied(w, 400, "INVALID_FIELD".into()).await?;
    read_record(w, persona, object, alias).await?;
    no_field(w, field.into()).await?;
    no_canary(w).await?;
    w.rest(persona, Method::GET, &format!("/sobjects/{object}/describe"), None).await?;
    no_field(w, field.into()).await
}

/// The twin: a persona allowed the field reads it on the record.
async fn shown_on_rest(
    w: &mut GateWorld,
    persona: &str,
    object: &str,
    alias: &str,
    field: &str,
) -> Result<(), StepError> {
    read_record(w, persona, object, alias).await?;
    crate::org_steps::has_field(w, field.into()).await
}

/// The persona reads the record on REST, successfully.
async fn read_record(w: &mut GateWorld, persona: &str, object: &str, alias: &str) -> Result<(), StepError> {
    let id = w.record(alias)?.id;
    w.rest(persona, Method::GET, &format!("/sobjects/{object}/{id}"), None).await?;
    crate::org_steps::succeeds(w, 200).await
}

/// The query tool refuses a query naming the field; the read tool returns the record without it,
/// or, where the target maps none (the platform has none), the list tool returns the object's
/// records without it: a successful read either way, so the omission is seen, not assumed.
async fn hidden_through_mcp(
    w: &mut GateWorld,
    persona: &str,
    server: &str,
    object: &str,
    alias: &str,
    field: &str,
) -> Result<(), StepError> {
    use crate::mcp_steps::{tool_error, tool_no_field, tool_ok};
    use crate::tool_steps::call_role;
    let soql = format!("SELECT Id, {field} FROM {object}");
    call_role(w, persona, Some(server), ToolRole::Query, &[("query", json!(soql))]).await?;
    tool_error(w, "INVALID_FIELD".into()).await?;
    let id = w.record(alias)?.id;
    if w.target.mcp_tools.tool(ToolRole::Read).is_some() {
        call_role(w, persona, Some(server), ToolRole::Read, &[("object", json!(object)), ("id", json!(id))]).await?;
    } else {
        call_role(w, persona, Some(server), ToolRole::ListRecent, &[("object", json!(object))]).await?;
    }
    tool_ok(w).await?;
    tool_no_field(w, field.into()).await?;
    crate::org_steps::no_canary(w).await
}
