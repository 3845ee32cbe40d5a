//! Loading an org file: every declaration cross-checked once, so the rest of the mock can trust
//! the `Org` it gets. Every error names the file, the key and the offending value.

use crate::ids;
use crate::model::*;
use crate::orgfile::{self, OrgFile};
use serde_json::Value;
use std::collections::BTreeMap;

pub(crate) fn describe_toml_error(e: &toml::de::Error) -> (String, String) {
    let msg = e.message().to_string();
    let key = msg
        .split('`')
        .nth(1)
        .filter(|_| msg.contains("unknown field") || msg.contains("missing field"))
        .map(str::to_string)
        .unwrap_or_else(|| match e.span() {
            Some(span) => format!("(bytes {}..{})", span.start, span.end),
            None => "(document)".into(),
        });
    (key, msg)
}

pub(crate) struct Validator<'a> {
    pub(crate) file: &'a str,
}

impl Validator<'_> {
    fn err(&self, key: impl Into<String>, problem: impl Into<String>) -> OrgFileError {
        OrgFileError { file: self.file.into(), key: key.into(), problem: problem.into() }
    }

    pub(crate) fn build(&self, raw: OrgFile) -> Result<Org, OrgFileError> {
        let min = parse_api_version(&raw.org.min_api_version).ok_or_else(|| {
            self.err("org.minApiVersion", format!("'{}' is not an API version like \"66.0\"", raw.org.min_api_version))
        })?;
        let max = parse_api_version(&raw.org.max_api_version).ok_or_else(|| {
            self.err("org.maxApiVersion", format!("'{}' is not an API version like \"66.0\"", raw.org.max_api_version))
        })?;
        if raw.settings.per_user_requests_per_minute == Some(0) {
            return Err(self.err("settings.perUserRequestsPerMinute", "must be at least 1 (leave it out for no limit)"));
        }
        let per_server_audience = match raw.settings.token_audience.as_deref() {
            None | Some("platform") => false,
            Some("per-server") => true,
            Some(other) => {
                return Err(self.err("settings.tokenAudience", format!("'{other}' is not platform or per-server")));
            }
        };
        if min > max {
            return Err(self.err("org.minApiVersion", "is newer than org.maxApiVersion"));
        }
        if ids::to18(&raw.org.id).is_none() || !raw.org.id.starts_with("00D") {
            return Err(self.err("org.id", format!("'{}' is not an organization id (00D...)", raw.org.id)));
        }
        let objects = self.objects(&raw.objects)?;
        let roles = self.roles(&raw.roles)?;
        let profiles = self.holders("profiles", &raw.profiles, &objects)?;
        let permission_sets = self.holders("permissionSets", &raw.permission_sets, &objects)?;
        let users = self.users(&raw.users, &roles, &profiles, &permission_sets)?;
        let sharing_rules = self.sharing_rules(&raw.sharing_rules, &objects, &roles)?;
        let seed_records = self.records(&raw.records, &objects, &users)?;
        let apps = self.apps(&raw.external_client_apps, &profiles, &permission_sets)?;
        let mcp_servers = self.mcp_servers(&raw.mcp_servers)?;
        let mut org = Org {
            id: ids::to18(&raw.org.id).expect("checked"),
            name: raw.org.name,
            min_api_version: min,
            max_api_version: max,
            block_oauth_un_pw_flow: raw.settings.block_oauth_un_pw_flow,
            block_oauth_usr_agt_flow: raw.settings.block_oauth_usr_agt_flow,
            max_request_bytes: raw.settings.max_request_bytes,
            per_user_requests_per_minute: raw.settings.per_user_requests_per_minute,
            per_server_audience,
            is_sandbox: raw.org.is_sandbox,
            objects,
            roles,
            profiles,
            permission_sets,
            users,
            sharing_rules,
            seed_records,
            apps,
            mcp_servers,
            faults: Default::default(),
        };
        for (i, name) in raw.faults.iter().enumerate() {
            org.enable_fault(name).map_err(|e| self.err(format!("faults[{i}]"), e))?;
        }
        Ok(org)
    }

    fn objects(&self, raw: &BTreeMap<String, orgfile::ObjectDef>) -> Result<Vec<ObjectSchema>, OrgFileError> {
        let mut out = builtin_objects();
        for (name, def) in raw {
            let key = format!("objects.{name}");
            if !is_api_name(name) {
                return Err(self.err(&key, format!("'{name}' is not an API name")));
            }
            if out.iter().any(|o: &ObjectSchema| o.name.eq_ignore_ascii_case(name)) {
                return Err(self.err(&key, format!("object '{name}' is defined by the platform or twice")));
            }
            if def.key_prefix.len() != 3 || !def.key_prefix.bytes().all(|b| b.is_ascii_alphanumeric()) {
                return Err(self
                    .err(format!("{key}.keyPrefix"), format!("'{}' is not a 3-character key prefix", def.key_prefix)));
            }
            if let Some(o) = out.iter().find(|o| o.key_prefix == def.key_prefix) {
                return Err(
                    self.err(format!("{key}.keyPrefix"), format!("'{}' is already used by {}", def.key_prefix, o.name))
                );
            }
            let sharing_model = match def.sharing_model.as_str() {
                "Private" => SharingModel::Private,
                "Read" => SharingModel::Read,
                "ReadWrite" => SharingModel::ReadWrite,
                "ControlledByParent" => SharingModel::ControlledByParent,
                other => {
                    return Err(self.err(
                        format!("{key}.sharingModel"),
                        format!("'{other}' is not one of Private, Read, ReadWrite, ControlledByParent"),
                    ));
                }
            };
            let parented = sharing_model == SharingModel::ControlledByParent;
            let mut fields = vec![system_field("Id", "Record ID", FieldKind::Id, None)];
            if !parented {
                fields.push(FieldSchema {
                    writable: true,
                    ..system_field("OwnerId", "Owner ID", FieldKind::Reference, Some("User"))
                });
            }
            fields.extend(audit_fields());
            for (fname, f) in &def.fields {
                let fkey = format!("{key}.fields.{fname}");
                if !is_api_name(fname) || fields.iter().any(|x| x.name.eq_ignore_ascii_case(fname)) {
                    return Err(self.err(&fkey, format!("'{fname}' is not an API name or is a platform field")));
                }
                let kind = FieldKind::parse(&f.kind).ok_or_else(|| {
                    self.err(format!("{fkey}.type"), format!("'{}' is not a supported field type", f.kind))
                })?;
                if (kind == FieldKind::Reference) != f.reference_to.is_some() {
                    return Err(
                        self.err(format!("{fkey}.referenceTo"), "is required for reference fields and only for them")
                    );
                }
                fields.push(FieldSchema {
                    name: fname.clone(),
                    label: f.label.clone().unwrap_or_else(|| fname.clone()),
                    kind,
                    required: f.required,
                    system: false,
                    writable: f.updateable,
                    reference_to: f.reference_to.clone(),
                    picklist_values: f.picklist_values.clone(),
                });
            }
            out.push(ObjectSchema {
                name: name.clone(),
                label: def.label.clone(),
                key_prefix: def.key_prefix.clone(),
                sharing_model,
                parent_field: def.parent_field.clone(),
                history_tracked_fields: def.history_tracked_fields.clone(),
                builtin: None,
                fields,
            });
        }
        // Second pass: references and parents need every object declared.
        for o in &out {
            for f in &o.fields {
                if let Some(target) = f.reference_to.as_ref().filter(|t| !out.iter().any(|x| &&x.name == t)) {
                    return Err(self.err(
                        format!("objects.{}.fields.{}.referenceTo", o.name, f.name),
                        format!("'{target}' is not a declared object"),
                    ));
                }
            }
            let parented = o.sharing_model == SharingModel::ControlledByParent;
            match (&o.parent_field, parented) {
                (Some(p), true) if o.field(p).is_some_and(|f| f.kind == FieldKind::Reference) => {}
                (None, false) => {}
                (Some(p), true) => {
                    return Err(self.err(
                        format!("objects.{}.parentField", o.name),
                        format!("'{p}' is not a reference field of {}", o.name),
                    ));
                }
                _ => {
                    return Err(self.err(
                        format!("objects.{}.parentField", o.name),
                        "is required with sharingModel = \"ControlledByParent\" and only with it",
                    ));
                }
            }
            for h in &o.history_tracked_fields {
                if o.field(h).is_none_or(|f| f.system) {
                    return Err(self.err(
                        format!("objects.{}.historyTrackedFields", o.name),
                        format!("'{h}' is not a field of {}", o.name),
                    ));
                }
            }
        }
        Ok(out)
    }

    fn roles(&self, raw: &[orgfile::RoleDef]) -> Result<Vec<Role>, OrgFileError> {
        let mut roles: Vec<Role> = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            if roles.iter().any(|x| x.name == r.name) {
                return Err(self.err(format!("roles[{i}].name"), format!("'{}' is declared twice", r.name)));
            }
            roles.push(Role { name: r.name.clone(), parent: None });
        }
        for (i, r) in raw.iter().enumerate() {
            if let Some(p) = &r.parent_role {
                let idx = roles.iter().position(|x| &x.name == p).ok_or_else(|| {
                    self.err(format!("roles[{i}].parentRole"), format!("'{p}' is not a declared role"))
                })?;
                roles[i].parent = Some(idx);
            }
        }
        // A cycle would make the hierarchy meaningless.
        for i in 0..roles.len() {
            let mut cur = roles[i].parent;
            let mut steps = 0;
            while let Some(p) = cur {
                steps += 1;
                if p == i || steps > roles.len() {
                    return Err(self.err(format!("roles[{i}].parentRole"), "forms a cycle in the role hierarchy"));
                }
                cur = roles[p].parent;
            }
        }
        Ok(roles)
    }

    fn holders(
        &self,
        section: &str,
        raw: &[orgfile::PermissionHolder],
        objects: &[ObjectSchema],
    ) -> Result<BTreeMap<String, PermissionSet>, OrgFileError> {
        let mut out = BTreeMap::new();
        for (i, h) in raw.iter().enumerate() {
            let key = format!("{section}[{i}]");
            if out.contains_key(&h.name) {
                return Err(self.err(format!("{key}.name"), format!("'{}' is declared twice", h.name)));
            }
            let mut ps = PermissionSet { name: h.name.clone(), ..Default::default() };
            for p in &h.user_permissions {
                if !USER_PERMISSIONS.contains(&p.as_str()) {
                    return Err(
                        self.err(format!("{key}.userPermissions"), format!("'{p}' is not a known user permission"))
                    );
                }
                ps.user_permissions.insert(p.clone());
            }
            for (j, op) in h.object_permissions.iter().enumerate() {
                let o = objects.iter().find(|o| o.name == op.object && o.builtin.is_none()).ok_or_else(|| {
                    self.err(
                        format!("{key}.objectPermissions[{j}].object"),
                        format!("'{}' is not a declared object", op.object),
                    )
                })?;
                let perms = ObjectPerms {
                    read: op.allow_read,
                    create: op.allow_create,
                    edit: op.allow_edit,
                    delete: op.allow_delete,
                    view_all: op.view_all_records,
                    modify_all: op.modify_all_records,
                };
                ps.objects.insert(o.name.clone(), perms);
            }
            for (j, fp) in h.field_permissions.iter().enumerate() {
                let fkey = format!("{key}.fieldPermissions[{j}].field");
                let (obj, field) = fp
                    .field
                    .split_once('.')
                    .ok_or_else(|| self.err(&fkey, format!("'{}' is not of the form Object.Field", fp.field)))?;
                let o = objects
                    .iter()
                    .find(|o| o.name == obj)
                    .ok_or_else(|| self.err(&fkey, format!("'{obj}' is not a declared object")))?;
                let f = o.fields.iter().find(|f| f.name == field && !f.system).ok_or_else(|| {
                    self.err(&fkey, format!("'{field}' is not a field of {obj} that takes field permissions"))
                })?;
                ps.fields.insert(
                    (o.name.clone(), f.name.clone()),
                    FieldPerms { read: fp.readable || fp.editable, edit: fp.editable },
                );
            }
            ps.class_accesses = h.class_accesses.iter().cloned().collect();
            out.insert(h.name.clone(), ps);
        }
        Ok(out)
    }

    fn users(
        &self,
        raw: &[orgfile::UserDef],
        roles: &[Role],
        profiles: &BTreeMap<String, PermissionSet>,
        permission_sets: &BTreeMap<String, PermissionSet>,
    ) -> Result<Vec<User>, OrgFileError> {
        let mut out: Vec<User> = Vec::new();
        for (i, u) in raw.iter().enumerate() {
            let key = format!("users[{i}]");
            if !u.username.contains('@') || out.iter().any(|x| x.username.eq_ignore_ascii_case(&u.username)) {
                return Err(self.err(
                    format!("{key}.username"),
                    format!("'{}' is not a unique username of the form name@domain", u.username),
                ));
            }
            if !profiles.contains_key(&u.profile) {
                return Err(self.err(format!("{key}.profile"), format!("'{}' is not a declared profile", u.profile)));
            }
            for ps in &u.permission_sets {
                if !permission_sets.contains_key(ps) {
                    return Err(
                        self.err(format!("{key}.permissionSets"), format!("'{ps}' is not a declared permission set"))
                    );
                }
            }
            let role = match &u.role {
                Some(r) => Some(
                    roles
                        .iter()
                        .position(|x| &x.name == r)
                        .ok_or_else(|| self.err(format!("{key}.role"), format!("'{r}' is not a declared role")))?,
                ),
                None => None,
            };
            if u.password.is_empty() {
                return Err(self.err(format!("{key}.password"), "must not be empty"));
            }
            let n = i as u64 + 1;
            out.push(User {
                id: ids::make("005", n),
                login_id: ids::make("060", n),
                username: u.username.clone(),
                first_name: u.first_name.clone(),
                last_name: u.last_name.clone(),
                email: u.email.clone(),
                profile: u.profile.clone(),
                permission_sets: u.permission_sets.clone(),
                role,
                password: u.password.clone(),
                initially_active: u.is_active,
                initially_frozen: u.is_frozen,
            });
        }
        Ok(out)
    }

    fn sharing_rules(
        &self,
        raw: &[orgfile::SharingRuleDef],
        objects: &[ObjectSchema],
        roles: &[Role],
    ) -> Result<Vec<SharingRule>, OrgFileError> {
        let role = |key: String, name: &str| {
            roles
                .iter()
                .position(|r| r.name == name)
                .ok_or_else(|| self.err(key, format!("'{name}' is not a declared role")))
        };
        raw.iter()
            .enumerate()
            .map(|(i, r)| {
                let key = format!("sharingRules[{i}]");
                let o = objects.iter().find(|o| o.name == r.object && o.builtin.is_none()).ok_or_else(|| {
                    self.err(format!("{key}.object"), format!("'{}' is not a declared object", r.object))
                })?;
                if !o.has_owner() {
                    return Err(self.err(
                        format!("{key}.object"),
                        format!("'{}' is controlled by its parent and takes no sharing rules", r.object),
                    ));
                }
                let access = match r.access_level.as_str() {
                    "Read" => AccessLevel::Read,
                    "Edit" => AccessLevel::Edit,
                    other => {
                        return Err(self.err(format!("{key}.accessLevel"), format!("'{other}' is not Read or Edit")));
                    }
                };
                Ok(SharingRule {
                    name: r.name.clone(),
                    object: o.name.clone(),
                    access,
                    owned_by_role: role(format!("{key}.ownedByRole"), &r.owned_by_role)?,
                    shared_to_role: role(format!("{key}.sharedToRole"), &r.shared_to_role)?,
                    include_subordinates: r.include_subordinates,
                })
            })
            .collect()
    }

    fn records(
        &self,
        raw: &[orgfile::RecordDef],
        objects: &[ObjectSchema],
        users: &[User],
    ) -> Result<Vec<SeedRecord>, OrgFileError> {
        let mut out: Vec<SeedRecord> = Vec::new();
        for (i, r) in raw.iter().enumerate() {
            let key = format!("records[{i}]");
            let o = objects
                .iter()
                .find(|o| o.name == r.object && o.builtin.is_none())
                .ok_or_else(|| self.err(format!("{key}.object"), format!("'{}' is not a declared object", r.object)))?;
            let id = ids::to18(&r.id).filter(|id| id.starts_with(&o.key_prefix)).ok_or_else(|| {
                self.err(format!("{key}.id"), format!("'{}' is not a {} id (prefix {})", r.id, o.name, o.key_prefix))
            })?;
            if out.iter().any(|x| x.id == id) {
                return Err(self.err(format!("{key}.id"), format!("'{}' is used twice", r.id)));
            }
            let owner = users
                .iter()
                .find(|u| u.username == r.owner)
                .ok_or_else(|| self.err(format!("{key}.owner"), format!("'{}' is not a declared user", r.owner)))?;
            let mut fields = BTreeMap::new();
            for (name, v) in &r.fields {
                let fkey = format!("{key}.fields.{name}");
                let f = o
                    .fields
                    .iter()
                    .find(|f| &f.name == name && !f.system)
                    .ok_or_else(|| self.err(&fkey, format!("'{name}' is not a field of {}", o.name)))?;
                let value = toml_to_json(v);
                if !f.kind.accepts(&value) {
                    return Err(self.err(&fkey, format!("{value} is not a {} value", f.kind.as_str())));
                }
                if f.kind == FieldKind::Picklist
                    && !f.picklist_values.is_empty()
                    && !f.picklist_values.iter().any(|p| Some(p.as_str()) == value.as_str())
                {
                    return Err(self.err(&fkey, format!("{value} is not one of the picklist values")));
                }
                fields.insert(f.name.clone(), value);
            }
            for f in o.fields.iter().filter(|f| f.required && !f.system) {
                if !fields.contains_key(&f.name) {
                    return Err(self.err(format!("{key}.fields"), format!("required field '{}' is missing", f.name)));
                }
            }
            out.push(SeedRecord { object: o.name.clone(), id, owner_id: owner.id.clone(), fields });
        }
        // References must point at records of the right object that exist; they are stored in
        // the 18-character form, like every id.
        let declared: Vec<(String, String)> = out.iter().map(|r| (r.id.clone(), r.object.clone())).collect();
        for (i, r) in out.iter_mut().enumerate() {
            let o = objects.iter().find(|o| o.name == r.object).expect("checked");
            for f in o.fields.iter().filter(|f| f.kind == FieldKind::Reference && !f.system) {
                let Some(v) = r.fields.get(&f.name).and_then(Value::as_str).map(str::to_string) else { continue };
                let target = f.reference_to.as_deref().unwrap_or_default();
                let id = ids::to18(&v).filter(|id| declared.iter().any(|(x, obj)| x == id && obj == target));
                let Some(id) = id else {
                    return Err(self.err(
                        format!("records[{i}].fields.{}", f.name),
                        format!("'{v}' is not a declared {target} record"),
                    ));
                };
                r.fields.insert(f.name.clone(), Value::String(id));
            }
        }
        Ok(out)
    }

    fn apps(
        &self,
        raw: &[orgfile::ExternalClientAppDef],
        profiles: &BTreeMap<String, PermissionSet>,
        permission_sets: &BTreeMap<String, PermissionSet>,
    ) -> Result<Vec<ExternalClientApp>, OrgFileError> {
        let mut out: Vec<ExternalClientApp> = Vec::new();
        for (i, a) in raw.iter().enumerate() {
            let key = format!("externalClientApps[{i}]");
            if out.iter().any(|x| x.name == a.name) || !is_api_name(&a.name) {
                return Err(self.err(format!("{key}.name"), format!("'{}' is not a unique API name", a.name)));
            }
            if a.consumer_key.len() < 16 || out.iter().any(|x| x.consumer_key == a.consumer_key) {
                return Err(self.err(format!("{key}.consumerKey"), "must be unique and at least 16 characters"));
            }
            if a.callback_url.is_empty() {
                return Err(self.err(format!("{key}.callbackUrl"), "lists no callback URL"));
            }
            for cb in &a.callback_url {
                if !cb.contains("://") || cb.contains('#') {
                    return Err(self.err(
                        format!("{key}.callbackUrl"),
                        format!("'{cb}' is not an absolute URL without a fragment"),
                    ));
                }
            }
            const SCOPES: &[&str] = &[
                "mcp_api",
                "refresh_token",
                "api",
                "web",
                "full",
                "openid",
                "profile",
                "email",
                "id",
                "offline_access",
            ];
            for s in &a.scopes {
                if !SCOPES.contains(&s.as_str()) {
                    return Err(self.err(format!("{key}.scopes"), format!("'{s}' is not a known OAuth scope")));
                }
            }
            let admin_pre_authorized = match a.permitted_users_policy_type.as_str() {
                "AdminApprovedPreAuthorized" => true,
                "AllSelfAuthorized" => false,
                other => {
                    return Err(self.err(
                        format!("{key}.permittedUsersPolicyType"),
                        format!("'{other}' is not AdminApprovedPreAuthorized or AllSelfAuthorized"),
                    ));
                }
            };
            for p in &a.profiles {
                if !profiles.contains_key(p) {
                    return Err(self.err(format!("{key}.profiles"), format!("'{p}' is not a declared profile")));
                }
            }
            for p in &a.permission_sets {
                if !permission_sets.contains_key(p) {
                    return Err(
                        self.err(format!("{key}.permissionSets"), format!("'{p}' is not a declared permission set"))
                    );
                }
            }
            const IP: &[&str] = &["Enforce", "Bypass", "Bypass_2factor", "Enforce_RelaxRefresh"];
            if !IP.iter().any(|p| p.eq_ignore_ascii_case(&a.ip_relaxation_policy_type)) {
                return Err(self.err(
                    format!("{key}.ipRelaxationPolicyType"),
                    format!("'{}' is not one of {}", a.ip_relaxation_policy_type, IP.join(", ")),
                ));
            }
            if !["Infinite", "SpecificLifetime", "Immediately"].contains(&a.refresh_token_policy_type.as_str()) {
                return Err(self.err(
                    format!("{key}.refreshTokenPolicyType"),
                    format!("'{}' is not Infinite, SpecificLifetime or Immediately", a.refresh_token_policy_type),
                ));
            }
            out.push(ExternalClientApp {
                name: a.name.clone(),
                label: a.label.clone(),
                id: ids::make("0xI", i as u64 + 1),
                contact_email: a.contact_email.clone(),
                consumer_key: a.consumer_key.clone(),
                consumer_secret: a.consumer_secret.clone(),
                is_secret_required_for_web_server_flow: a.is_secret_required_for_web_server_flow,
                is_secret_required_for_refresh_token_flow: a.is_secret_required_for_refresh_token_flow,
                callback_urls: a.callback_url.clone(),
                is_pkce_required: a.is_pkce_required,
                is_loopback_port_variance_allowed: a.is_loopback_port_variance_allowed,
                scopes: a.scopes.clone(),
                is_client_credentials_flow_enabled: a.is_client_credentials_flow_enabled,
                admin_pre_authorized,
                profiles: a.profiles.clone(),
                permission_sets: a.permission_sets.clone(),
                refresh_token_policy_type: a.refresh_token_policy_type.clone(),
                is_refresh_token_rotation_enabled: a.is_refresh_token_rotation_enabled,
                ip_relaxation_policy_type: a.ip_relaxation_policy_type.clone(),
                access_token_lifetime_minutes: a.access_token_lifetime_minutes.unwrap_or(60),
            });
        }
        Ok(out)
    }

    fn mcp_servers(&self, raw: &[orgfile::McpServerDef]) -> Result<Vec<McpServer>, OrgFileError> {
        let mut out: Vec<McpServer> = Vec::new();
        for (i, s) in raw.iter().enumerate() {
            let key = format!("mcpServers[{i}]");
            let ok_name = s.name.split('/').count() == 2
                && s.name
                    .split('/')
                    .all(|p| !p.is_empty() && p.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'));
            if !ok_name || out.iter().any(|x| x.name == s.name) {
                return Err(self.err(
                    format!("{key}.name"),
                    format!("'{}' is not a unique server path like platform/sobject-reads", s.name),
                ));
            }
            for t in &s.standard_tools {
                if !STANDARD_TOOLS.contains(&t.as_str()) {
                    return Err(
                        self.err(format!("{key}.standardTools"), format!("'{t}' is not a standard SObject tool"))
                    );
                }
            }
            for (standard, offered) in &s.tool_names {
                if !s.standard_tools.contains(standard) {
                    return Err(self.err(
                        format!("{key}.toolNames.{standard}"),
                        "names a tool this server's standardTools do not list",
                    ));
                }
                let clash = s.tool_names.values().filter(|o| *o == offered).count() > 1
                    || s.standard_tools.iter().any(|t| t == offered && !s.tool_names.contains_key(t))
                    || s.custom_tools.iter().any(|t| &t.name == offered);
                if offered.is_empty() || clash {
                    return Err(self.err(
                        format!("{key}.toolNames.{standard}"),
                        format!("'{offered}' is empty or another tool's name on this server"),
                    ));
                }
            }
            for (standard, offered) in &s.argument_names {
                if !STANDARD_ARGUMENTS.contains(&standard.as_str()) {
                    return Err(self.err(
                        format!("{key}.argumentNames.{standard}"),
                        format!("not a standard tool argument (one of {})", STANDARD_ARGUMENTS.join(", ")),
                    ));
                }
                let offered_names =
                    STANDARD_ARGUMENTS.iter().map(|a| s.argument_names.get(*a).map(String::as_str).unwrap_or(a));
                if offered.is_empty() || offered_names.filter(|o| o == offered).count() > 1 {
                    return Err(self.err(
                        format!("{key}.argumentNames.{standard}"),
                        format!("'{offered}' is empty or another argument's name"),
                    ));
                }
            }
            let mut custom = Vec::new();
            for (j, t) in s.custom_tools.iter().enumerate() {
                let tkey = format!("{key}.customTools[{j}]");
                let system_mode = match t.execution_mode.as_str() {
                    "user" => false,
                    "system" => true,
                    other => {
                        return Err(
                            self.err(format!("{tkey}.executionMode"), format!("'{other}' is not user or system"))
                        );
                    }
                };
                custom.push(CustomTool {
                    name: t.name.clone(),
                    description: t.description.clone(),
                    argument: t.argument.clone().unwrap_or_else(|| "caseId".into()),
                    argument_default: None,
                    title: None,
                    apex_class: t.apex_class.clone(),
                    system_mode,
                    read_only_hint: t.read_only_hint,
                    destructive_hint: t.destructive_hint,
                });
            }
            out.push(McpServer {
                name: s.name.clone(),
                standard_tools: s.standard_tools.clone(),
                custom_tools: custom,
                record_doors: s.record_doors,
                tool_names: s.tool_names.clone(),
                argument_names: s.argument_names.clone(),
            });
        }
        Ok(out)
    }
}

fn is_api_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars.next().is_some_and(|c| c.is_ascii_alphabetic()) && chars.all(|c| c.is_ascii_alphanumeric() || c == '_')
}

fn toml_to_json(v: &toml::Value) -> Value {
    match v {
        toml::Value::String(s) => Value::String(s.clone()),
        toml::Value::Integer(i) => Value::from(*i),
        toml::Value::Float(f) => Value::from(*f),
        toml::Value::Boolean(b) => Value::Bool(*b),
        toml::Value::Datetime(d) => Value::String(d.to_string()),
        toml::Value::Array(a) => Value::Array(a.iter().map(toml_to_json).collect()),
        toml::Value::Table(t) => Value::Object(t.iter().map(|(k, v)| (k.clone(), toml_to_json(v))).collect()),
    }
}

fn system_field(name: &str, label: &str, kind: FieldKind, reference_to: Option<&str>) -> FieldSchema {
    FieldSchema {
        name: name.into(),
        label: label.into(),
        kind,
        required: false,
        system: true,
        writable: false,
        reference_to: reference_to.map(str::to_string),
        picklist_values: Vec::new(),
    }
}

fn audit_fields() -> Vec<FieldSchema> {
    vec![
        system_field("CreatedDate", "Created Date", FieldKind::DateTime, None),
        system_field("CreatedById", "Created By ID", FieldKind::Reference, Some("User")),
        system_field("LastModifiedDate", "Last Modified Date", FieldKind::DateTime, None),
        system_field("LastModifiedById", "Last Modified By ID", FieldKind::Reference, Some("User")),
    ]
}

/// A platform field that admins may write (IsActive, IsFrozen) but that takes no field permissions.
fn admin_field(name: &str, kind: FieldKind) -> FieldSchema {
    FieldSchema { writable: true, ..system_field(name, name, kind, None) }
}

/// A platform reference an admin sets when creating the row (PermissionSetAssignment's).
fn admin_reference(name: &str, label: &str, to: &str) -> FieldSchema {
    FieldSchema { writable: true, ..system_field(name, label, FieldKind::Reference, Some(to)) }
}

fn builtin_objects() -> Vec<ObjectSchema> {
    let object = |name: &str, label: &str, prefix: &str, builtin, fields| ObjectSchema {
        name: name.into(),
        label: label.into(),
        key_prefix: prefix.into(),
        sharing_model: SharingModel::Read,
        parent_field: None,
        history_tracked_fields: Vec::new(),
        builtin: Some(builtin),
        fields,
    };
    let id = || system_field("Id", "Record ID", FieldKind::Id, None);
    let text = |n: &str| system_field(n, n, FieldKind::String, None);
    vec![
        object(
            "User",
            "User",
            "005",
            Builtin::User,
            vec![
                id(),
                text("Username"),
                text("FirstName"),
                text("LastName"),
                text("Name"),
                text("Email"),
                system_field("ProfileId", "Profile ID", FieldKind::Reference, Some("Profile")),
                admin_field("IsActive", FieldKind::Boolean),
            ],
        ),
        object("Profile", "Profile", "00e", Builtin::Profile, vec![id(), text("Name")]),
        object(
            "UserLogin",
            "User Login",
            "060",
            Builtin::UserLogin,
            vec![
                id(),
                system_field("UserId", "User ID", FieldKind::Reference, Some("User")),
                admin_field("IsFrozen", FieldKind::Boolean),
            ],
        ),
        object(
            "ApiEvent",
            "API Event",
            "3AE",
            Builtin::ApiEvent,
            crate::audit::EVENT_FIELDS.iter().map(|(n, k)| system_field(n, n, *k, None)).collect(),
        ),
        object(
            "EventLogFile",
            "Event Log File",
            "0AT",
            Builtin::EventLogFile,
            vec![
                id(),
                text("EventType"),
                system_field("LogDate", "Log Date", FieldKind::DateTime, None),
                text("Interval"),
                system_field("Sequence", "Sequence", FieldKind::Double, None),
                system_field("LogFileLength", "Log File Length", FieldKind::Double, None),
            ],
        ),
        object(
            "LoginHistory",
            "Login History",
            "0Ya",
            Builtin::LoginHistory,
            crate::login_history::FIELDS.iter().map(|(n, k)| system_field(n, n, *k, None)).collect(),
        ),
        object(
            "UserPermissionAccess",
            "User Permission Access",
            "0Hu",
            Builtin::UserPermissionAccess,
            std::iter::once(id())
                .chain(
                    USER_PERMISSIONS
                        .iter()
                        .map(|p| system_field(&format!("Permissions{p}"), p, FieldKind::Boolean, None)),
                )
                .collect(),
        ),
        object(
            "FieldDefinition",
            "Field Definition",
            "00N",
            Builtin::FieldDefinition,
            vec![
                id(),
                text("QualifiedApiName"),
                text("EntityDefinitionId"),
                system_field("IsFieldHistoryTracked", "Field History Tracked", FieldKind::Boolean, None),
            ],
        ),
        object(
            "PermissionSet",
            "Permission Set",
            "0PS",
            Builtin::PermissionSet,
            vec![id(), text("Name"), text("Label")],
        ),
        object(
            "PermissionSetAssignment",
            "Permission Set Assignment",
            "0Pa",
            Builtin::PermissionSetAssignment,
            vec![
                id(),
                FieldSchema { required: true, ..admin_reference("AssigneeId", "Assignee ID", "User") },
                FieldSchema {
                    required: true,
                    ..admin_reference("PermissionSetId", "Permission Set ID", "PermissionSet")
                },
                admin_field("ExpirationDate", FieldKind::DateTime),
            ],
        ),
        object(
            "UserRecordAccess",
            "User Record Access",
            "0UR",
            Builtin::UserRecordAccess,
            vec![
                id(),
                system_field("UserId", "User ID", FieldKind::Reference, Some("User")),
                system_field("RecordId", "Record ID", FieldKind::Reference, None),
                system_field("HasReadAccess", "Has Read Access", FieldKind::Boolean, None),
                system_field("HasEditAccess", "Has Edit Access", FieldKind::Boolean, None),
            ],
        ),
        object(
            "OauthToken",
            "OAuth Token",
            "0CQ",
            Builtin::OauthToken,
            vec![
                id(),
                system_field("UserId", "User ID", FieldKind::Reference, Some("User")),
                text("AppName"),
                system_field("CreatedDate", "Created Date", FieldKind::DateTime, None),
            ],
        ),
    ]
}
