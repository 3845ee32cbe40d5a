//! The org file as written (TOML, Salesforce metadata names). `model` turns it into a validated `Org`.

use serde::Deserialize;
use std::collections::BTreeMap;

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrgFile {
    pub org: OrgInfo,
    #[serde(default)]
    pub settings: OrgSettings,
    #[serde(default)]
    pub objects: BTreeMap<String, ObjectDef>,
    #[serde(default)]
    pub roles: Vec<RoleDef>,
    #[serde(default)]
    pub profiles: Vec<PermissionHolder>,
    #[serde(default)]
    pub permission_sets: Vec<PermissionHolder>,
    #[serde(default)]
    pub users: Vec<UserDef>,
    #[serde(default)]
    pub sharing_rules: Vec<SharingRuleDef>,
    #[serde(default)]
    pub records: Vec<RecordDef>,
    #[serde(default)]
    pub external_client_apps: Vec<ExternalClientAppDef>,
    #[serde(default)]
    pub mcp_servers: Vec<McpServerDef>,
    /// Fault names from the fault table (`mock-org/src/faults.rs`), for demonstrations.
    #[serde(default)]
    pub faults: Vec<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrgInfo {
    pub id: String,
    pub name: String,
    /// Oldest and newest REST API versions the org accepts, e.g. "31.0" and "66.0".
    pub min_api_version: String,
    pub max_api_version: String,
    /// A sandbox's hosted MCP servers answer under `/platform/mcp/v1/sandbox/` (Organization.IsSandbox).
    #[serde(default)]
    pub is_sandbox: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct OrgSettings {
    #[serde(rename = "blockOAuthUnPwFlow")]
    pub block_oauth_un_pw_flow: bool,
    #[serde(rename = "blockOAuthUsrAgtFlow")]
    pub block_oauth_usr_agt_flow: bool,
    /// Largest request body the REST API accepts, in bytes.
    pub max_request_bytes: usize,
    /// REST and MCP requests one user may make per minute of the org's clock; none: unlimited.
    #[serde(default)]
    pub per_user_requests_per_minute: Option<u32>,
    /// Whom tokens are for: `platform` (the default, as Salesforce's hosted MCP servers: one
    /// audience for the API host) or `per-server` (each MCP server its own, RFC 8707).
    #[serde(default)]
    pub token_audience: Option<String>,
}

impl Default for OrgSettings {
    fn default() -> Self {
        Self {
            block_oauth_un_pw_flow: true,
            block_oauth_usr_agt_flow: true,
            max_request_bytes: 1 << 20,
            per_user_requests_per_minute: None,
            token_audience: None,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectDef {
    pub label: String,
    pub key_prefix: String,
    /// Org-wide default: Private, Read, ReadWrite or ControlledByParent.
    pub sharing_model: String,
    /// For ControlledByParent: the reference field that names the parent record.
    #[serde(default)]
    pub parent_field: Option<String>,
    #[serde(default)]
    pub history_tracked_fields: Vec<String>,
    pub fields: BTreeMap<String, FieldDef>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldDef {
    /// string, textarea, picklist, email, phone, boolean, double, datetime or reference.
    #[serde(rename = "type")]
    pub kind: String,
    #[serde(default)]
    pub label: Option<String>,
    #[serde(default)]
    pub required: bool,
    /// False for fields the platform computes (auto numbers, formulas).
    #[serde(default = "yes")]
    pub updateable: bool,
    #[serde(default)]
    pub reference_to: Option<String>,
    #[serde(default)]
    pub picklist_values: Vec<String>,
}

fn enforce() -> String {
    "Enforce".into()
}

fn yes() -> bool {
    true
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RoleDef {
    pub name: String,
    #[serde(default)]
    pub parent_role: Option<String>,
}

/// A profile or a permission set: the same permission shapes as Salesforce metadata.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct PermissionHolder {
    pub name: String,
    #[serde(default)]
    pub label: Option<String>,
    /// ApiEnabled, ViewAllData, ModifyAllData, ManageUsers, ViewRealTimeEventMonitoringData, ...
    #[serde(default)]
    pub user_permissions: Vec<String>,
    #[serde(default)]
    pub object_permissions: Vec<ObjectPermissionDef>,
    #[serde(default)]
    pub field_permissions: Vec<FieldPermissionDef>,
    #[serde(default)]
    pub class_accesses: Vec<String>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ObjectPermissionDef {
    pub object: String,
    #[serde(default)]
    pub allow_read: bool,
    #[serde(default)]
    pub allow_create: bool,
    #[serde(default)]
    pub allow_edit: bool,
    #[serde(default)]
    pub allow_delete: bool,
    #[serde(default)]
    pub view_all_records: bool,
    #[serde(default)]
    pub modify_all_records: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct FieldPermissionDef {
    /// `Object.Field`
    pub field: String,
    #[serde(default)]
    pub readable: bool,
    #[serde(default)]
    pub editable: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct UserDef {
    pub username: String,
    #[serde(default)]
    pub first_name: Option<String>,
    pub last_name: String,
    pub email: String,
    pub profile: String,
    #[serde(default)]
    pub permission_sets: Vec<String>,
    #[serde(default)]
    pub role: Option<String>,
    #[serde(default = "yes")]
    pub is_active: bool,
    #[serde(default)]
    pub is_frozen: bool,
    /// Only for the mock's login form; never reported.
    pub password: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct SharingRuleDef {
    pub name: String,
    pub object: String,
    /// Read or Edit.
    pub access_level: String,
    /// Records owned by users in this role...
    pub owned_by_role: String,
    /// ...are shared with users in this role (and, if set, the roles below it).
    pub shared_to_role: String,
    #[serde(default)]
    pub include_subordinates: bool,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct RecordDef {
    pub object: String,
    /// 15- or 18-character id whose first three characters are the object's key prefix.
    pub id: String,
    /// Username of the owner.
    pub owner: String,
    #[serde(default)]
    pub fields: BTreeMap<String, toml::Value>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct ExternalClientAppDef {
    /// The metadata developer name.
    pub name: String,
    pub label: String,
    pub contact_email: String,
    /// The consumer key clients present as `client_id`.
    pub consumer_key: String,
    /// The consumer secret; never reported. The client-credentials and username-password flows
    /// always authenticate the app with it.
    #[serde(default)]
    pub consumer_secret: Option<String>,
    /// The app's "Require secret for Web Server Flow" and "Require secret for Refresh Token Flow"
    /// (on by default, as in Setup; an app used with PKCE by a public agent turns them off).
    #[serde(default = "yes")]
    pub is_secret_required_for_web_server_flow: bool,
    #[serde(default = "yes")]
    pub is_secret_required_for_refresh_token_flow: bool,
    /// Registered callback URLs, matched exactly.
    pub callback_url: Vec<String>,
    #[serde(default = "yes")]
    pub is_pkce_required: bool,
    /// RFC 8252 loopback redirect: any port on a registered loopback callback.
    #[serde(default)]
    pub is_loopback_port_variance_allowed: bool,
    pub scopes: Vec<String>,
    #[serde(default)]
    pub is_client_credentials_flow_enabled: bool,
    /// AdminApprovedPreAuthorized or AllSelfAuthorized.
    pub permitted_users_policy_type: String,
    /// Profiles and permission sets whose users are pre-authorized.
    #[serde(default)]
    pub profiles: Vec<String>,
    #[serde(default)]
    pub permission_sets: Vec<String>,
    /// Infinite, SpecificLifetime or Immediately (refresh tokens).
    pub refresh_token_policy_type: String,
    /// Refresh Token Rotation (on by default here, as the rollout asks).
    #[serde(default = "yes")]
    pub is_refresh_token_rotation_enabled: bool,
    /// The app's IP relaxation: Enforce, Bypass, Bypass_2factor or Enforce_RelaxRefresh.
    #[serde(default = "enforce")]
    pub ip_relaxation_policy_type: String,
    #[serde(default)]
    pub access_token_lifetime_minutes: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct McpServerDef {
    /// Path below /platform/mcp/v1/, e.g. `platform/sobject-reads` or `custom/service-agent`.
    pub name: String,
    #[serde(default)]
    pub standard_tools: Vec<String>,
    #[serde(default)]
    pub custom_tools: Vec<CustomToolDef>,
    /// Also offers records through MCP resources, a prompt and completions (`mcp::doors`).
    #[serde(default)]
    pub record_doors: bool,
    /// The names this server offers standard tools under (`soqlQuery = "query_records"`): a
    /// deployment whose tools are named otherwise, for the gate's tool mapping.
    #[serde(default)]
    pub tool_names: BTreeMap<String, String>,
    /// The names its standard tools' arguments go by (`q = "soql"`, `recordId = "id"`).
    #[serde(default)]
    pub argument_names: BTreeMap<String, String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "camelCase")]
pub struct CustomToolDef {
    pub name: String,
    pub description: String,
    pub apex_class: String,
    /// user (the pipeline applies) or system (it does not, like `without sharing` Apex).
    pub execution_mode: String,
    #[serde(default = "yes")]
    pub read_only_hint: bool,
    #[serde(default)]
    pub destructive_hint: bool,
    /// The argument that takes the record id (default `caseId`).
    #[serde(default)]
    pub argument: Option<String>,
}
