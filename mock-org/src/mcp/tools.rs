//! The tools of the org's MCP servers: Salesforce's SObject tools and custom Apex-backed ones.
//! Arguments are parsed into a typed call first (bad ones are JSON-RPC errors); the call then runs
//! through the one enforcement pipeline, in user mode, or in system mode for a tool declared so
//! (like `without sharing` Apex: no object, field or sharing checks).

use crate::MockOrg;
use crate::access::{Access, Relax};
use crate::audit::Trace;
use crate::data::{Data, Effect};
use crate::error::SfError;
use crate::faults::Fault;
use crate::model::{CustomTool, McpServer, STANDARD_ARGUMENTS};
use crate::pipeline::Caller;
use serde_json::{Map, Value, json};

/// A tool call with its arguments checked against the tool's input schema.
#[derive(Debug, Clone)]
pub enum ToolCall {
    GetUserInfo,
    GetObjectSchema { object: String },
    SoqlQuery { query: String },
    GetRecord { object: String, id: String, fields: Option<String> },
    ListRecent { object: String, limit: u64 },
    Create { object: String, fields: Value },
    Update { object: String, id: String, fields: Value },
    Delete { object: String, id: String },
    CaseHealthSummary { case_id: String, system_mode: bool },
}

fn schema(props: &[(&str, &str, &str)], required: &[&str]) -> Map<String, Value> {
    let properties: Map<String, Value> =
        props.iter().map(|(n, t, d)| (n.to_string(), json!({"type": t, "description": d}))).collect();
    let mut m = Map::new();
    m.insert("type".into(), json!("object"));
    m.insert("properties".into(), Value::Object(properties));
    m.insert("required".into(), json!(required));
    m.insert("additionalProperties".into(), json!(false));
    m
}

/// Name, description, input schema, read-only, destructive, display title.
pub struct ToolDef {
    pub name: String,
    pub description: String,
    pub input_schema: Map<String, Value>,
    pub read_only: bool,
    pub destructive: bool,
    pub title: Option<String>,
}

fn standard(name: &str) -> Option<ToolDef> {
    let obj = ("objectName", "string", "API name of the object, e.g. Case");
    let id = ("recordId", "string", "15- or 18-character record id");
    let fields = ("fields", "object", "field values by API name");
    let (description, input_schema, read_only, destructive) = match name {
        "getUserInfo" => ("Returns the signed-in user.", schema(&[], &[]), true, false),
        "getObjectSchema" => {
            ("Describes an object's fields the user can see.", schema(&[obj], &["objectName"]), true, false)
        }
        "soqlQuery" => {
            ("Runs a SOQL query as the user.", schema(&[("q", "string", "a SOQL query")], &["q"]), true, false)
        }
        "getRecord" => (
            "Reads one record.",
            schema(&[obj, id, ("fields", "string", "comma-separated field names")], &["objectName", "recordId"]),
            true,
            false,
        ),
        "listRecentSobjectRecords" => (
            "Lists recently modified records of an object.",
            schema(&[obj, ("limit", "integer", "at most this many (default 10)")], &["objectName"]),
            true,
            false,
        ),
        "createSobjectRecord" => ("Creates a record.", schema(&[obj, fields], &["objectName", "fields"]), false, false),
        "updateSobjectRecord" => {
            ("Updates a record.", schema(&[obj, id, fields], &["objectName", "recordId", "fields"]), false, true)
        }
        "deleteSobjectRecord" => ("Deletes a record.", schema(&[obj, id], &["objectName", "recordId"]), false, true),
        _ => return None,
    };
    Some(ToolDef {
        name: name.into(),
        description: description.into(),
        input_schema,
        read_only,
        destructive,
        title: None,
    })
}

fn custom(t: &CustomTool) -> ToolDef {
    let mut input_schema = match t.apex_class.as_str() {
        "CaseHealthAction" | "CaseHealthActionUnsafe" | "CaseCloseAction" => {
            schema(&[(t.argument.as_str(), "string", "the case's record id")], &[t.argument.as_str()])
        }
        _ => schema(&[], &[]),
    };
    if let (Some(d), Some(Value::Object(props))) = (&t.argument_default, input_schema.get_mut("properties"))
        && let Some(Value::Object(arg)) = props.get_mut(&t.argument)
    {
        arg.insert("default".into(), json!(d));
    }
    ToolDef {
        name: t.name.clone(),
        description: t.description.clone(),
        input_schema,
        read_only: t.read_only_hint,
        destructive: t.destructive_hint,
        title: t.title.clone(),
    }
}

/// A standard tool under the names this server gives it and its arguments.
fn offered_standard(server: &McpServer, name: &str) -> Option<ToolDef> {
    let mut def = standard(name)?;
    def.name = server.offered_name(name).to_string();
    if let Some(Value::Object(props)) = def.input_schema.remove("properties") {
        let renamed: Map<String, Value> =
            props.into_iter().map(|(k, v)| (server.offered_argument(&k).to_string(), v)).collect();
        def.input_schema.insert("properties".into(), Value::Object(renamed));
    }
    if let Some(Value::Array(req)) = def.input_schema.get_mut("required") {
        for r in req.iter_mut() {
            *r = json!(server.offered_argument(r.as_str().unwrap_or_default()));
        }
    }
    Some(def)
}

/// The tools a server offers, in declaration order.
pub fn definitions(server: &McpServer) -> Vec<ToolDef> {
    server
        .standard_tools
        .iter()
        .filter_map(|n| offered_standard(server, n))
        .chain(server.custom_tools.iter().map(custom))
        .collect()
}

/// The tools a user is offered on a server, as `tools/list` lists them (the rug-pull fault,
/// which changes them within a session, aside).
pub fn offered(org: &crate::model::Org, server: &McpServer, user: &crate::model::User) -> Vec<rmcp::model::Tool> {
    let access = Access::for_user(org, user);
    let mut defs: Vec<ToolDef> =
        definitions(server).into_iter().filter(|d| visible_to(&access, server, &d.name)).collect();
    // Under `tools-by-user-permissions`: an SObject read server also lists the write tools to a user who
    // may edit some object, as a server that derives its catalog from the caller's rights would.
    let edits = org.objects.iter().any(|o| access.object(o).edit);
    let sobject_reads = !server.standard_tools.is_empty() && defs.iter().all(|d| d.read_only);
    if org.faults.on(Fault::ToolsByUserPermissions) && edits && sobject_reads {
        defs.extend(
            ["createSobjectRecord", "updateSobjectRecord", "deleteSobjectRecord"]
                .into_iter()
                .filter_map(|n| offered_standard(server, n)),
        );
    }
    defs.into_iter().map(ToolDef::into_tool).collect()
}

impl ToolDef {
    pub fn into_tool(self) -> rmcp::model::Tool {
        let mut annotations =
            rmcp::model::ToolAnnotations::new().read_only(self.read_only).destructive(self.destructive);
        annotations.title = self.title;
        rmcp::model::Tool::new(self.name, self.description, std::sync::Arc::new(self.input_schema))
            .with_annotations(annotations)
    }
}

/// Whether the user may see the tool: custom tools need access to their Apex class.
pub fn visible_to(access: &Access, server: &McpServer, name: &str) -> bool {
    match server.custom_tools.iter().find(|t| t.name == name) {
        Some(t) => access.has_class(&t.apex_class),
        None => server.standard_name(name).is_some(),
    }
}

fn text(args: &Map<String, Value>, key: &str) -> Result<String, String> {
    match args.get(key) {
        Some(Value::String(s)) if !s.is_empty() => Ok(s.clone()),
        Some(_) => Err(format!("argument '{key}' must be a non-empty string")),
        None => Err(format!("missing required argument '{key}'")),
    }
}

/// Checks the arguments against the tool; an unknown tool or a bad argument is an error message.
pub fn parse(server: &McpServer, name: &str, args: &Map<String, Value>) -> Result<ToolCall, String> {
    let def =
        definitions(server).into_iter().find(|d| d.name == name).ok_or_else(|| format!("Unknown tool: {name}"))?;
    let allowed: Vec<&String> =
        def.input_schema["properties"].as_object().map(|p| p.keys().collect()).unwrap_or_default();
    if let Some(extra) = args.keys().find(|k| !allowed.contains(k)) {
        return Err(format!("unexpected argument '{extra}'"));
    }
    // A standard tool is read under its standard name and arguments from here on.
    let standard_args: Map<String, Value>;
    let (name, args) = match server.standard_name(name) {
        Some(standard) => {
            standard_args = args
                .iter()
                .map(|(k, v)| {
                    let back = STANDARD_ARGUMENTS.iter().find(|s| server.offered_argument(s) == k);
                    (back.map(|s| s.to_string()).unwrap_or_else(|| k.clone()), v.clone())
                })
                .collect();
            (standard, &standard_args)
        }
        None => (name, args),
    };
    let object = || text(args, "objectName");
    let id = || text(args, "recordId");
    let fields = || match args.get("fields") {
        Some(v @ Value::Object(_)) => Ok(v.clone()),
        Some(_) => Err("argument 'fields' must be an object".to_string()),
        None => Err("missing required argument 'fields'".to_string()),
    };
    Ok(match name {
        "getUserInfo" => ToolCall::GetUserInfo,
        "getObjectSchema" => ToolCall::GetObjectSchema { object: object()? },
        "soqlQuery" => ToolCall::SoqlQuery { query: text(args, "q")? },
        "getRecord" => ToolCall::GetRecord {
            object: object()?,
            id: id()?,
            fields: match args.get("fields") {
                None => None,
                Some(Value::String(s)) => Some(s.clone()),
                Some(_) => return Err("argument 'fields' must be a string".into()),
            },
        },
        "listRecentSobjectRecords" => ToolCall::ListRecent {
            object: object()?,
            limit: match args.get("limit") {
                None => 10,
                Some(v) => v
                    .as_u64()
                    .filter(|n| (1..=200).contains(n))
                    .ok_or("argument 'limit' must be an integer from 1 to 200")?,
            },
        },
        "createSobjectRecord" => ToolCall::Create { object: object()?, fields: fields()? },
        "updateSobjectRecord" => ToolCall::Update { object: object()?, id: id()?, fields: fields()? },
        "deleteSobjectRecord" => ToolCall::Delete { object: object()?, id: id()? },
        _ => {
            let t =
                server.custom_tools.iter().find(|t| t.name == name).ok_or_else(|| format!("Unknown tool: {name}"))?;
            match t.apex_class.as_str() {
                "CaseHealthAction" | "CaseHealthActionUnsafe" => {
                    ToolCall::CaseHealthSummary { case_id: text(args, &t.argument)?, system_mode: t.system_mode }
                }
                // CaseCloseAction (the `destructive-tool-unmarked` fault): a status overwrite.
                "CaseCloseAction" => ToolCall::Update {
                    object: "Case".into(),
                    id: text(args, &t.argument)?,
                    fields: json!({"Status": "Closed"}),
                },
                other => return Err(format!("tool {name} is backed by Apex class {other}, which the mock cannot run")),
            }
        }
    })
}

impl ToolCall {
    pub fn system_mode(&self) -> bool {
        matches!(self, ToolCall::CaseHealthSummary { system_mode: true, .. })
    }
}

/// The checks a tool skips under the permission faults (none in a clean org).
fn relax(s: &MockOrg, call: &ToolCall) -> Relax {
    let write = matches!(call, ToolCall::Create { .. } | ToolCall::Update { .. } | ToolCall::Delete { .. });
    let dml_as_system = write && s.fault(Fault::WriteToolIgnoresCrud);
    Relax {
        objects: dml_as_system,
        fields: dml_as_system || s.fault(Fault::ToolIgnoresFls),
        sharing: dml_as_system || s.fault(Fault::ToolWithoutSharing),
    }
}

/// Runs a checked call as the caller. Denials come back as Salesforce errors.
pub fn run(s: &MockOrg, caller: &Caller, call: &ToolCall, trace: &mut Trace) -> Result<(Value, Vec<Effect>), SfError> {
    let access = if call.system_mode() {
        Access::system(&s.org)
    } else {
        Access::for_user(&s.org, &caller.user).relaxed(relax(s, call))
    };
    let version = format!("v{}.0", s.org.max_api_version / 10);
    let d = Data { org: &s.org, access: &access, version: &version, actor: &caller.user.id, now_ms: s.clock.now_ms() };
    let none = Vec::new();
    Ok(match call {
        ToolCall::GetUserInfo => {
            let u = &caller.user;
            (json!({"userId": u.id, "username": u.username, "organizationId": s.org.id, "email": u.email}), none)
        }
        ToolCall::GetObjectSchema { object } => (d.describe(object, trace)?, none),
        ToolCall::SoqlQuery { query } => (d.query(&s.store_read(), &s.audit, query, trace)?, none),
        ToolCall::GetRecord { object, id, fields } => {
            (d.get(&s.store_read(), object, id, fields.as_deref(), trace)?, none)
        }
        ToolCall::ListRecent { object, limit } => {
            let o =
                s.org.object(object).filter(|o| access.object(o).read).ok_or_else(|| SfError::invalid_type(object))?;
            let readable: Vec<&str> = o
                .fields
                .iter()
                .filter(|f| access.field(o, f).read)
                .map(|f| f.name.as_str())
                .filter(|n| *n != "Id")
                .collect();
            let list = std::iter::once("Id").chain(readable).collect::<Vec<_>>().join(", ");
            let q = format!("SELECT {list} FROM {} ORDER BY LastModifiedDate DESC LIMIT {limit}", o.name);
            (d.query(&s.store_read(), &s.audit, &q, trace)?, none)
        }
        ToolCall::Create { object, fields } => (d.create(&mut s.store_write(), object, fields, trace)?, none),
        ToolCall::Update { object, id, fields } => {
            let effects = d.update(&mut s.store_write(), object, id, fields, trace)?;
            (json!({"id": id, "success": true}), effects)
        }
        ToolCall::Delete { object, id } => {
            let effects = d.delete(&mut s.store_write(), object, id, trace)?;
            (json!({"id": id, "success": true}), effects)
        }
        ToolCall::CaseHealthSummary { case_id, .. } => (case_health(&d, s, case_id, trace)?, none),
    })
}

/// `CaseHealthAction.getCaseHealthSummary` (mock-org/apex/): the case's status and priority and
/// its history, through the same data layer, so its mode decides what it may see.
fn case_health(d: &Data, s: &MockOrg, case_id: &str, trace: &mut Trace) -> Result<Value, SfError> {
    let store = s.store_read();
    let case = match d.get(&store, "Case", case_id, Some("Id,Subject,Status,Priority"), trace) {
        // Under `leak-in-tool-error`: the refusal names the case it refused, by its subject.
        Err(e) if s.fault(Fault::LeakInToolError) => {
            let subject = store.get(case_id).map(|r| r.get("Subject").to_string()).unwrap_or_default();
            return Err(SfError { message: format!("{} (case {subject})", e.message), ..e });
        }
        other => other?,
    };
    let id = case["Id"].as_str().unwrap_or_default().to_string();
    let history = d.query(
        &store,
        &s.audit,
        &format!("SELECT Field, OldValue, NewValue FROM CaseHistory WHERE CaseId = '{id}'"),
        trace,
    )?;
    Ok(json!({"case": case, "history": history["records"], "healthy": case["Priority"] != "High"}))
}
