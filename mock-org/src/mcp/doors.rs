//! The doors to records besides tools, on a server that declares `recordDoors`: a resource
//! template (`salesforce://sobject/{objectName}/{recordId}`), the records the user may read
//! listed as resources by that URI (at most `MAX_LISTED`), a prompt that embeds a record
//! (`summarizeRecord`), and completion of its `recordId` argument. Each read runs through the one
//! enforcement pipeline as the caller, exactly like a tool call, with one audit record; each door
//! has a fault that serves it in system mode instead (no object, field or sharing checks).

use super::OrgServer;
use crate::access::Access;
use crate::audit::ExecutionMode;
use crate::data::Data;
use crate::error::SfError;
use crate::faults::Fault;
use crate::pipeline::Outcome;
use rmcp::model::{CompletionInfo, Prompt, PromptArgument, PromptMessage, ResourceContents, ResourceTemplate, Role};
use rmcp::service::RequestContext;
use rmcp::{ErrorData as McpError, RoleServer};
use serde_json::{Value, json};

pub const RECORD_TEMPLATE: &str = "salesforce://sobject/{objectName}/{recordId}";
const RECORD_SCHEME: &str = "salesforce://sobject/";
pub const RECORD_PROMPT: &str = "summarizeRecord";
/// The most records `resources/list` lists.
const MAX_LISTED: usize = 100;
/// The most completions one answer suggests (the MCP specification's cap).
const MAX_COMPLETIONS: usize = CompletionInfo::MAX_VALUES;

/// Which door a read came through: each has its own fault.
#[derive(Clone, Copy)]
enum Door {
    Resource,
    Prompt,
    Completion,
}

impl Door {
    fn method(self) -> &'static str {
        match self {
            Door::Resource => "resources/read",
            Door::Prompt => "prompts/get",
            Door::Completion => "completion/complete",
        }
    }

    fn fault(self) -> Fault {
        match self {
            Door::Resource => Fault::McpResourceWithoutPipeline,
            Door::Prompt => Fault::McpPromptWithoutPipeline,
            Door::Completion => Fault::McpCompletionLeaks,
        }
    }
}

struct Read(Value);

impl Outcome for Read {
    fn status(&self) -> u16 {
        200
    }
}

pub fn templates() -> Vec<ResourceTemplate> {
    vec![
        ResourceTemplate::new(RECORD_TEMPLATE, "record")
            .with_description("One record, with the fields the signed-in user may read.")
            .with_mime_type("application/json"),
    ]
}

pub fn prompts() -> Vec<Prompt> {
    let arguments = vec![
        PromptArgument::new("objectName").with_description("API name of the object, e.g. Case").with_required(true),
        PromptArgument::new("recordId").with_description("the record's id").with_required(true),
    ];
    vec![Prompt::new(RECORD_PROMPT, Some("Asks for a summary of one record the user may read."), Some(arguments))]
}

/// An API name or a record id: letters, digits and underscores only, so nothing else reaches SOQL.
fn name_like(s: &str) -> bool {
    !s.is_empty() && s.len() <= 80 && s.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn parse_uri(uri: &str) -> Option<(&str, &str)> {
    let (object, id) = uri.strip_prefix(RECORD_SCHEME)?.split_once('/')?;
    (name_like(object) && name_like(id)).then_some((object, id))
}

impl OrgServer {
    /// Runs one door's read as the token's user through the pipeline (in system mode under the
    /// door's fault).
    fn through_door(
        &self,
        door: Door,
        ctx: &RequestContext<RoleServer>,
        op: impl FnOnce(&Data, &mut crate::audit::Trace) -> Result<Value, SfError>,
    ) -> Result<Value, SfError> {
        self.through_door_as(door, ctx, super::token(ctx), op)
    }

    /// The same with the credential given (a second round's, which its state may decide).
    fn through_door_as(
        &self,
        door: Door,
        ctx: &RequestContext<RoleServer>,
        token: Option<String>,
        op: impl FnOnce(&Data, &mut crate::audit::Trace) -> Result<Value, SfError>,
    ) -> Result<Value, SfError> {
        let system = self.state.fault(door.fault());
        let mode = if system { ExecutionMode::System } else { ExecutionMode::User };
        let state = self.state.clone();
        let read = self.state.enforce(
            self.meta(ctx, door.method(), None),
            mode,
            token.as_deref(),
            &self.surface(),
            |caller, trace| {
                let access =
                    if system { Access::system(&state.org) } else { Access::for_user(&state.org, &caller.user) };
                let version = format!("v{}.0", state.org.max_api_version / 10);
                let d = Data {
                    org: &state.org,
                    access: &access,
                    version: &version,
                    actor: &caller.user.id,
                    now_ms: state.clock.now_ms(),
                };
                op(&d, trace).map(Read)
            },
        );
        read.map(|Read(v)| v)
    }

    fn record(&self, door: Door, ctx: &RequestContext<RoleServer>, object: &str, id: &str) -> Result<Value, SfError> {
        self.record_as(door, ctx, super::token(ctx), object, id)
    }

    fn record_as(
        &self,
        door: Door,
        ctx: &RequestContext<RoleServer>,
        token: Option<String>,
        object: &str,
        id: &str,
    ) -> Result<Value, SfError> {
        let state = self.state.clone();
        self.through_door_as(door, ctx, token, |d, trace| d.get(&state.store_read(), object, id, None, trace))
    }

    pub(super) fn read_record(
        &self,
        uri: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<ResourceContents, McpError> {
        let not_found = |data: Option<Value>| McpError::resource_not_found(format!("no resource {uri}"), data);
        let (object, id) = parse_uri(uri).ok_or_else(|| not_found(None))?;
        let record = self.record(Door::Resource, ctx, object, id).map_err(|e| not_found(Some(json!([e]))))?;
        Ok(ResourceContents::text(record.to_string(), uri).with_mime_type("application/json"))
    }

    pub(super) fn record_prompt(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Vec<PromptMessage>, McpError> {
        if name != RECORD_PROMPT {
            return Err(McpError::invalid_params(format!("no prompt {name}"), None));
        }
        let arg = |k: &str| {
            args.get(k).and_then(Value::as_str).filter(|v| name_like(v)).ok_or_else(|| {
                McpError::invalid_params(format!("argument '{k}' must be an API name or a record id"), None)
            })
        };
        let (object, id) = (arg("objectName")?, arg("recordId")?);
        self.prompt_messages(ctx, super::token(ctx), object, id)
    }

    fn prompt_messages(
        &self,
        ctx: &RequestContext<RoleServer>,
        token: Option<String>,
        object: &str,
        id: &str,
    ) -> Result<Vec<PromptMessage>, McpError> {
        if !name_like(id) {
            return Err(McpError::invalid_params("the record id must be letters and digits", None));
        }
        let record = self
            .record_as(Door::Prompt, ctx, token, object, id)
            .map_err(|e| McpError::invalid_params(format!("no {object} record {id}"), Some(json!([e]))))?;
        let text = format!("Summarise this {object} record for the user, in two sentences:\n{record}");
        Ok(vec![PromptMessage::new_text(Role::User, text)])
    }

    /// The caller's user and token, from a token the guard let through.
    fn caller(&self, ctx: &RequestContext<RoleServer>) -> Result<(String, String), McpError> {
        let token = super::token(ctx).ok_or_else(|| McpError::invalid_request("no bearer token", None))?;
        let claims = self
            .state
            .tokens
            .verify_with(&self.state.clock, &token, &self.audience(), self.state.mcp_checks())
            .map_err(|_| McpError::invalid_request("the bearer token is not valid here", None))?;
        Ok((claims.sub, token))
    }

    /// Round one of the record prompt without a record id (stateless era): elicit it.
    pub(super) fn ask_for_record_id(
        &self,
        name: &str,
        args: &serde_json::Map<String, Value>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<rmcp::model::InputRequiredResult, McpError> {
        if name != RECORD_PROMPT {
            return Err(McpError::invalid_params(format!("no prompt {name}"), None));
        }
        let object = args
            .get("objectName")
            .and_then(Value::as_str)
            .filter(|v| name_like(v))
            .ok_or_else(|| McpError::invalid_params("argument 'objectName' must be an API name", None))?;
        let (user, token) = self.caller(ctx)?;
        Ok(self.state.request_states.ask_for_record_id(&user, &token, object))
    }

    /// Round two: the record the elicitation named, read as the handle's owner only.
    pub(super) fn resume_record_prompt(
        &self,
        name: &str,
        handle: &str,
        responses: Option<&rmcp::model::InputResponses>,
        ctx: &RequestContext<RoleServer>,
    ) -> Result<Vec<PromptMessage>, McpError> {
        if name != RECORD_PROMPT {
            return Err(McpError::invalid_params(format!("no prompt {name}"), None));
        }
        let (user, token) = self.caller(ctx)?;
        let unbound = super::request_state::unbound(&self.state);
        let (pending, id, token) = self.state.request_states.resume(handle, &user, &token, responses, unbound)?;
        self.prompt_messages(ctx, Some(token), &pending.object, &id)
    }

    /// The records the user may read, by their resource URIs, found through the pipeline as the
    /// user (in system mode under the resource door's fault, so every record). A token the
    /// pipeline refuses lists nothing.
    pub(super) fn listed_records(&self, ctx: &RequestContext<RoleServer>) -> Vec<rmcp::model::Resource> {
        let state = self.state.clone();
        let found = self.through_door(Door::Resource, ctx, |d, trace| {
            let mut out = Vec::new();
            for o in state.org.objects.iter().filter(|o| o.builtin.is_none()) {
                let soql = format!("SELECT Id FROM {}", o.name);
                if let Ok(v) = d.query(&state.store_read(), &state.audit, &soql, trace) {
                    let ids = v["records"].as_array().cloned().unwrap_or_default();
                    out.extend(ids.iter().filter_map(|r| r["Id"].as_str()).map(|id| json!([o.name, id])));
                }
            }
            Ok(json!(out))
        });
        let rows = found.ok().and_then(|v| v.as_array().cloned()).unwrap_or_default();
        rows.iter()
            .take(MAX_LISTED)
            .filter_map(|r| Some((r[0].as_str()?, r[1].as_str()?)))
            .map(|(object, id)| {
                rmcp::model::Resource::new(format!("{RECORD_SCHEME}{object}/{id}"), format!("{object} {id}"))
                    .with_mime_type("application/json")
            })
            .collect()
    }

    /// Record ids of `object` the user may read that start with `prefix`. A refusal (an object
    /// the user may not read) completes nothing: completions are suggestions, not answers.
    pub(super) fn complete_record_ids(
        &self,
        object: Option<&str>,
        prefix: &str,
        ctx: &RequestContext<RoleServer>,
    ) -> CompletionInfo {
        let Some(object) = object.filter(|o| name_like(o)) else { return CompletionInfo::default() };
        let state = self.state.clone();
        let ids = self.through_door(Door::Completion, ctx, |d, trace| {
            d.query(&state.store_read(), &state.audit, &format!("SELECT Id FROM {object}"), trace)
        });
        let values: Vec<String> = ids
            .ok()
            .and_then(|v| v["records"].as_array().cloned())
            .unwrap_or_default()
            .iter()
            .filter_map(|r| r["Id"].as_str())
            .filter(|id| id.starts_with(prefix))
            .take(MAX_COMPLETIONS)
            .map(str::to_string)
            .collect();
        CompletionInfo::new(values).unwrap_or_default()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn record_uris_name_an_object_and_an_id_and_nothing_else() {
        assert_eq!(parse_uri("salesforce://sobject/Case/500000000000001"), Some(("Case", "500000000000001")));
        assert_eq!(parse_uri("salesforce://sobject/Case"), None);
        assert_eq!(parse_uri("salesforce://sobject/Case/500' OR Id != '"), None);
        assert_eq!(parse_uri("salesforce://sobject/Case/5/extra"), None);
        assert_eq!(parse_uri("file:///etc/passwd"), None);
    }
}
