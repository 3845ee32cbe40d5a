//! The validated org: the types everything else works with. `validate` builds them from an org file.

use serde_json::Value;
use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

/// User permissions the mock understands (Salesforce API names).
pub const USER_PERMISSIONS: &[&str] = &[
    "ApiEnabled",
    "ViewAllData",
    "ModifyAllData",
    "ManageUsers",
    "ViewSetup",
    "ModifyMetadata",
    "CustomizeApplication",
    "AuthorApex",
    "ViewRealTimeEventMonitoringData",
    "ViewEventLogFiles",
];

/// Tools of Salesforce's hosted SObject MCP servers (`getRecord` is the mock's own: the platform
/// reads one record through `soqlQuery`).
pub const STANDARD_TOOLS: &[&str] = &[
    "getUserInfo",
    "getObjectSchema",
    "soqlQuery",
    "getRecord",
    "listRecentSobjectRecords",
    "createSobjectRecord",
    "updateSobjectRecord",
    "deleteSobjectRecord",
];

/// The arguments the standard tools take (`q`: the platform's `soqlQuery` parameter).
pub const STANDARD_ARGUMENTS: &[&str] = &["objectName", "recordId", "fields", "q", "limit"];

#[derive(Debug, thiserror::Error)]
#[error("{file}: {key}: {problem}")]
pub struct OrgFileError {
    pub file: String,
    pub key: String,
    pub problem: String,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SharingModel {
    Private,
    Read,
    ReadWrite,
    ControlledByParent,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FieldKind {
    Id,
    String,
    Textarea,
    Picklist,
    Email,
    Phone,
    Boolean,
    Double,
    DateTime,
    Reference,
}

impl FieldKind {
    pub(crate) fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "id" => Self::Id,
            "string" => Self::String,
            "textarea" => Self::Textarea,
            "picklist" => Self::Picklist,
            "email" => Self::Email,
            "phone" => Self::Phone,
            "boolean" => Self::Boolean,
            "double" => Self::Double,
            "datetime" => Self::DateTime,
            "reference" => Self::Reference,
            _ => return None,
        })
    }

    pub fn as_str(self) -> &'static str {
        match self {
            Self::Id => "id",
            Self::String => "string",
            Self::Textarea => "textarea",
            Self::Picklist => "picklist",
            Self::Email => "email",
            Self::Phone => "phone",
            Self::Boolean => "boolean",
            Self::Double => "double",
            Self::DateTime => "datetime",
            Self::Reference => "reference",
        }
    }

    /// Whether `v` is a value this field can hold (null always can, unless required).
    pub fn accepts(self, v: &Value) -> bool {
        match self {
            Self::Boolean => v.is_boolean(),
            Self::Double => v.is_number(),
            _ => v.is_string(),
        }
    }
}

#[derive(Debug, Clone)]
pub struct FieldSchema {
    pub name: String,
    pub label: String,
    pub kind: FieldKind,
    pub required: bool,
    /// Platform-maintained fields (Id, OwnerId, audit dates): readable with the object, no FLS.
    pub system: bool,
    /// Whether an API client may set it (false for system fields, auto numbers and formulas).
    pub writable: bool,
    pub reference_to: Option<String>,
    pub picklist_values: Vec<String>,
}

/// Objects the platform defines itself, with access rules of their own.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Builtin {
    /// Readable by every API user; edited with ManageUsers.
    User,
    /// Freeze state; ManageUsers only.
    UserLogin,
    /// The org's profiles by name (`User.ProfileId` points here); readable by every API user.
    Profile,
    /// The audit log (the Real-Time Event Monitoring analog); ViewAllData or
    /// ViewRealTimeEventMonitoringData, read only.
    ApiEvent,
    /// Event log files (`ApiTotalUsage`, hourly and daily) with their CSV; ViewEventLogFiles, read
    /// only (`event_log`).
    EventLogFile,
    /// Login attempts (`login_history`); ManageUsers for every user's, anyone for their own.
    LoginHistory,
    /// A user's authorization of an app (one row per user and app). An admin deleting it is the
    /// app kill switch: every token of that user for that app dies. ManageUsers only.
    OauthToken,
    /// The caller's own effective user permissions, one row (Salesforce's UserPermissionAccess).
    UserPermissionAccess,
    /// One row per field of the org's objects with its history-tracking flag (Salesforce's
    /// FieldDefinition, filtered by `EntityDefinitionId`); ViewSetup or ViewAllData, read only.
    FieldDefinition,
    /// The org's permission sets by name; ViewSetup or ManageUsers, read only.
    PermissionSet,
    /// One row per user and permission set assigned: what `Access` reads a caller's permission
    /// sets from on every request. Created and deleted with ManageUsers (Assign Permission Sets).
    PermissionSetAssignment,
    /// Whether a user may read or edit a record, by the org's rules as they stand (Salesforce's
    /// UserRecordAccess, queried with `UserId` and `RecordId`); every API user, for itself, and an
    /// admin (ViewAllData or ManageUsers) for anyone. Computed when queried, read only.
    UserRecordAccess,
}

#[derive(Debug, Clone)]
pub struct ObjectSchema {
    pub name: String,
    pub label: String,
    pub key_prefix: String,
    pub sharing_model: SharingModel,
    pub parent_field: Option<String>,
    pub history_tracked_fields: Vec<String>,
    pub builtin: Option<Builtin>,
    pub fields: Vec<FieldSchema>,
}

impl ObjectSchema {
    /// Field by name, case-insensitively, as SOQL and the REST API resolve them.
    pub fn field(&self, name: &str) -> Option<&FieldSchema> {
        self.fields.iter().find(|f| f.name.eq_ignore_ascii_case(name))
    }

    pub fn has_owner(&self) -> bool {
        self.field("OwnerId").is_some()
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ObjectPerms {
    pub read: bool,
    pub create: bool,
    pub edit: bool,
    pub delete: bool,
    pub view_all: bool,
    pub modify_all: bool,
}

impl ObjectPerms {
    pub fn union(self, o: ObjectPerms) -> ObjectPerms {
        ObjectPerms {
            read: self.read || o.read,
            create: self.create || o.create,
            edit: self.edit || o.edit,
            delete: self.delete || o.delete,
            view_all: self.view_all || o.view_all,
            modify_all: self.modify_all || o.modify_all,
        }
    }

    /// Salesforce's implications: View All implies Read, Modify All implies everything.
    pub fn normalized(self) -> ObjectPerms {
        let mut p = self;
        if p.modify_all {
            p = ObjectPerms { read: true, create: true, edit: true, delete: true, view_all: true, modify_all: true };
        }
        if p.view_all || p.create || p.edit || p.delete {
            p.read = true;
        }
        p
    }
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FieldPerms {
    pub read: bool,
    pub edit: bool,
}

/// A profile or permission set.
#[derive(Debug, Clone, Default)]
pub struct PermissionSet {
    pub name: String,
    pub user_permissions: BTreeSet<String>,
    pub objects: BTreeMap<String, ObjectPerms>,
    /// (object, field) -> perms
    pub fields: BTreeMap<(String, String), FieldPerms>,
    pub class_accesses: BTreeSet<String>,
}

#[derive(Debug, Clone)]
pub struct Role {
    pub name: String,
    pub parent: Option<usize>,
}

#[derive(Debug, Clone)]
pub struct User {
    pub id: String,
    pub login_id: String,
    pub username: String,
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: String,
    pub profile: String,
    pub permission_sets: Vec<String>,
    pub role: Option<usize>,
    pub password: String,
    /// State at load; afterwards the User and UserLogin records hold it.
    pub initially_active: bool,
    pub initially_frozen: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum AccessLevel {
    Read,
    Edit,
}

#[derive(Debug, Clone)]
pub struct SharingRule {
    pub name: String,
    pub object: String,
    pub access: AccessLevel,
    pub owned_by_role: usize,
    pub shared_to_role: usize,
    pub include_subordinates: bool,
}

#[derive(Debug, Clone)]
pub struct SeedRecord {
    pub object: String,
    pub id: String,
    pub owner_id: String,
    pub fields: BTreeMap<String, Value>,
}

#[derive(Debug, Clone)]
pub struct ExternalClientApp {
    pub name: String,
    pub label: String,
    pub id: String,
    pub contact_email: String,
    pub consumer_key: String,
    pub consumer_secret: Option<String>,
    pub is_secret_required_for_web_server_flow: bool,
    pub is_secret_required_for_refresh_token_flow: bool,
    pub callback_urls: Vec<String>,
    pub is_pkce_required: bool,
    pub is_loopback_port_variance_allowed: bool,
    pub scopes: Vec<String>,
    pub is_client_credentials_flow_enabled: bool,
    pub admin_pre_authorized: bool,
    pub profiles: Vec<String>,
    pub permission_sets: Vec<String>,
    pub refresh_token_policy_type: String,
    pub is_refresh_token_rotation_enabled: bool,
    pub ip_relaxation_policy_type: String,
    pub access_token_lifetime_minutes: u32,
}

#[derive(Debug, Clone)]
pub struct CustomTool {
    pub name: String,
    pub description: String,
    /// The name of the tool's record-id argument (`caseId` unless a fault renames it).
    pub argument: String,
    /// A default value the input schema gives that argument (none in a clean org).
    pub argument_default: Option<String>,
    /// The annotations' display title (none in a clean org).
    pub title: Option<String>,
    pub apex_class: String,
    pub system_mode: bool,
    pub read_only_hint: bool,
    pub destructive_hint: bool,
}

#[derive(Debug, Clone)]
pub struct McpServer {
    pub name: String,
    pub standard_tools: Vec<String>,
    pub custom_tools: Vec<CustomTool>,
    /// Offers the record resource template, the record prompt and record-id completions.
    pub record_doors: bool,
    /// Standard tool name -> the name this server offers it under (none: the platform's).
    pub tool_names: BTreeMap<String, String>,
    /// Standard argument name -> the name this server's standard tools take it under.
    pub argument_names: BTreeMap<String, String>,
}

impl McpServer {
    /// The name a standard tool is offered under.
    pub fn offered_name<'a>(&'a self, standard: &'a str) -> &'a str {
        self.tool_names.get(standard).map(String::as_str).unwrap_or(standard)
    }

    /// The standard tool behind an offered name, where it is one of this server's.
    pub fn standard_name(&self, offered: &str) -> Option<&str> {
        self.standard_tools.iter().map(String::as_str).find(|s| self.offered_name(s) == offered)
    }

    /// The name a standard argument is taken under.
    pub fn offered_argument<'a>(&'a self, standard: &'a str) -> &'a str {
        self.argument_names.get(standard).map(String::as_str).unwrap_or(standard)
    }
}

#[derive(Debug, Clone)]
pub struct Org {
    pub id: String,
    pub name: String,
    /// API versions as tenths (66.0 -> 660).
    pub min_api_version: u32,
    pub max_api_version: u32,
    pub block_oauth_un_pw_flow: bool,
    pub block_oauth_usr_agt_flow: bool,
    pub max_request_bytes: usize,
    pub per_user_requests_per_minute: Option<u32>,
    /// Tokens name each MCP server they are for, rather than the platform.
    pub per_server_audience: bool,
    /// A sandbox: its MCP servers' paths carry `/sandbox/`.
    pub is_sandbox: bool,
    pub objects: Vec<ObjectSchema>,
    pub roles: Vec<Role>,
    pub profiles: BTreeMap<String, PermissionSet>,
    pub permission_sets: BTreeMap<String, PermissionSet>,
    pub users: Vec<User>,
    pub sharing_rules: Vec<SharingRule>,
    pub seed_records: Vec<SeedRecord>,
    pub apps: Vec<ExternalClientApp>,
    pub mcp_servers: Vec<McpServer>,
    /// Misconfigurations switched on (`crate::faults`); empty in a clean org.
    pub faults: crate::faults::Faults,
}

/// Parses "66.0" into tenths.
pub fn parse_api_version(s: &str) -> Option<u32> {
    let (major, minor) = s.split_once('.')?;
    if minor != "0" || major.is_empty() || major.len() > 3 || !major.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some(major.parse::<u32>().ok()? * 10)
}

impl Org {
    /// The path of the MCP server `name` on the API host: `/platform/mcp/v1/platform/sobject-reads`,
    /// `/platform/mcp/v1/sandbox/custom/service-agent` in a sandbox.
    pub fn mcp_path(&self, name: &str) -> String {
        let sandbox = if self.is_sandbox { "sandbox/" } else { "" };
        format!("{}{sandbox}{name}", crate::mcp::PATH_PREFIX)
    }

    pub fn load(path: &Path) -> Result<Org, OrgFileError> {
        let file = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| OrgFileError {
            file: file.clone(),
            key: "(file)".into(),
            problem: format!("cannot read: {e}"),
        })?;
        Org::parse(&file, &text)
    }

    /// The text of the fixture shipped with the mock (`mock-org/orgs/default.toml`).
    pub const DEFAULT_TEXT: &'static str = include_str!("../orgs/default.toml");

    /// The fixture shipped with the mock, compiled in.
    pub fn default_fixture() -> Org {
        Org::parse("mock-org/orgs/default.toml", Org::DEFAULT_TEXT).expect("the default org fixture is valid")
    }

    pub fn parse(file: &str, text: &str) -> Result<Org, OrgFileError> {
        let raw: crate::orgfile::OrgFile = toml::from_str(text).map_err(|e| {
            let (key, problem) = crate::validate::describe_toml_error(&e);
            OrgFileError { file: file.into(), key, problem }
        })?;
        crate::validate::Validator { file }.build(raw)
    }

    pub fn object(&self, name: &str) -> Option<&ObjectSchema> {
        self.objects.iter().find(|o| o.name.eq_ignore_ascii_case(name))
    }

    pub fn object_by_prefix(&self, id: &str) -> Option<&ObjectSchema> {
        self.objects.iter().find(|o| id.starts_with(&o.key_prefix))
    }

    pub fn user(&self, id: &str) -> Option<&User> {
        self.users.iter().find(|u| u.id == id)
    }

    pub fn user_by_username(&self, username: &str) -> Option<&User> {
        self.users.iter().find(|u| u.username.eq_ignore_ascii_case(username))
    }

    pub fn app_by_consumer_key(&self, key: &str) -> Option<&ExternalClientApp> {
        self.apps.iter().find(|a| a.consumer_key == key)
    }

    /// Whether role `maybe_ancestor` is strictly above role `role` in the hierarchy.
    pub fn role_is_above(&self, maybe_ancestor: usize, role: usize) -> bool {
        let mut cur = self.roles[role].parent;
        let mut steps = 0;
        while let Some(r) = cur {
            if r == maybe_ancestor {
                return true;
            }
            cur = self.roles[r].parent;
            steps += 1;
            if steps > self.roles.len() {
                return false;
            }
        }
        false
    }
}

/// A TOML error as "key" and "problem", so the message names the key like every other one.
#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn api_versions_parse() {
        assert_eq!(parse_api_version("66.0"), Some(660));
        assert_eq!(parse_api_version("66.1"), None);
        assert_eq!(parse_api_version("v66.0"), None);
        assert_eq!(parse_api_version(""), None);
    }
}

#[cfg(test)]
mod fixture_tests {
    use super::*;

    #[test]
    fn default_fixture_loads() {
        let org = Org::default_fixture();
        assert_eq!(org.users.len(), 7);
        assert!(org.object("case").is_some());
        assert_eq!(org.apps[0].scopes, vec!["mcp_api", "refresh_token"]);
    }
}
