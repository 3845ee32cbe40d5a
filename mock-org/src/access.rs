//! Who may do what: a user's effective permissions (profile plus permission sets, with Salesforce's
//! implications) and their access to one record (ownership, role hierarchy, org-wide defaults,
//! sharing rules, parents). System mode is the same type with every check open, so the data layer
//! has one code path for both modes.

use crate::model::{AccessLevel, Builtin, FieldPerms, FieldSchema, ObjectPerms, ObjectSchema, Org, SharingModel, User};
use crate::store::{Record, Store};
use std::collections::{BTreeMap, BTreeSet};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum RecordAccess {
    None,
    Read,
    Edit,
    /// Edit plus delete and transfer: owners, their managers, Modify All.
    Full,
}

#[derive(Debug, Clone)]
pub struct Access<'a> {
    org: &'a Org,
    /// `None` in system mode.
    user: Option<&'a User>,
    user_permissions: BTreeSet<String>,
    objects: BTreeMap<String, ObjectPerms>,
    fields: BTreeMap<(String, String), FieldPerms>,
    /// Apex classes the user may run (custom MCP tools are backed by them).
    classes: BTreeSet<String>,
    relax: Relax,
}

/// Checks a piece of code skips while running as the user: what Apex does without `as user`,
/// `WITH USER_MODE` or `with sharing`. All false in user mode.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Relax {
    /// Object permissions (CRUD).
    pub objects: bool,
    /// Field-level security.
    pub fields: bool,
    /// Record sharing.
    pub sharing: bool,
}

impl<'a> Access<'a> {
    /// The user's effective access: the union of the profile and every assigned permission set.
    pub fn for_user(org: &'a Org, user: &'a User) -> Self {
        let mut a = Access {
            org,
            user: Some(user),
            user_permissions: BTreeSet::new(),
            objects: BTreeMap::new(),
            fields: BTreeMap::new(),
            classes: BTreeSet::new(),
            relax: Relax::default(),
        };
        let holders = std::iter::once(&org.profiles[&user.profile])
            .chain(user.permission_sets.iter().map(|p| &org.permission_sets[p]));
        for h in holders {
            a.user_permissions.extend(h.user_permissions.iter().cloned());
            a.classes.extend(h.class_accesses.iter().cloned());
            for (o, p) in &h.objects {
                let e = a.objects.entry(o.clone()).or_default();
                *e = e.union(*p);
            }
            for (k, p) in &h.fields {
                let e = a.fields.entry(k.clone()).or_default();
                e.read |= p.read;
                e.edit |= p.edit;
            }
        }
        a
    }

    /// Runs as `without sharing` Apex does: no object, field or record checks.
    pub fn system(org: &'a Org) -> Self {
        Access {
            org,
            user: None,
            user_permissions: BTreeSet::new(),
            objects: BTreeMap::new(),
            fields: BTreeMap::new(),
            classes: BTreeSet::new(),
            relax: Relax::default(),
        }
    }

    /// The same user with some checks skipped.
    pub fn relaxed(mut self, relax: Relax) -> Self {
        self.relax = relax;
        self
    }

    pub fn is_system(&self) -> bool {
        self.user.is_none()
    }

    pub fn has(&self, permission: &str) -> bool {
        self.is_system() || self.user_permissions.contains(permission)
    }

    /// The user's own effective permissions as a UserPermissionAccess row.
    pub fn permission_row(&self) -> Record {
        let mut fields: std::collections::BTreeMap<String, serde_json::Value> = crate::model::USER_PERMISSIONS
            .iter()
            .map(|p| (format!("Permissions{p}"), serde_json::Value::Bool(self.user_permissions.contains(*p))))
            .collect();
        let id = crate::ids::make("0Hu", 1);
        fields.insert("Id".into(), serde_json::json!(id));
        Record { object: "UserPermissionAccess".into(), id, fields }
    }

    /// The caller's user id (`None` in system mode).
    pub fn user_id(&self) -> Option<&str> {
        self.user.map(|u| u.id.as_str())
    }

    pub fn has_class(&self, class: &str) -> bool {
        self.is_system() || self.classes.contains(class)
    }

    pub fn object(&self, o: &ObjectSchema) -> ObjectPerms {
        let all = ObjectPerms { read: true, create: true, edit: true, delete: true, view_all: true, modify_all: true };
        if self.is_system() {
            return all;
        }
        if self.relax.objects && o.builtin.is_none() {
            // CRUD skipped; record access still comes from sharing, not from "modify all".
            return ObjectPerms { view_all: false, modify_all: false, ..all };
        }
        match o.builtin {
            Some(Builtin::User) => {
                let admin = self.has("ManageUsers");
                ObjectPerms { read: true, edit: admin, view_all: true, ..Default::default() }
            }
            Some(Builtin::UserLogin) => {
                let admin = self.has("ManageUsers");
                ObjectPerms { read: admin, edit: admin, view_all: admin, ..Default::default() }
            }
            Some(Builtin::UserPermissionAccess) | Some(Builtin::Profile) | Some(Builtin::UserRecordAccess) => {
                ObjectPerms { read: true, view_all: true, ..Default::default() }
            }
            Some(Builtin::LoginHistory) => {
                // Everyone reads their own rows; Manage Users reads everyone's.
                ObjectPerms { read: true, view_all: self.has("ManageUsers"), ..Default::default() }
            }
            Some(Builtin::OauthToken) => {
                let admin = self.has("ManageUsers");
                ObjectPerms { read: admin, delete: admin, view_all: admin, modify_all: admin, ..Default::default() }
            }
            Some(Builtin::FieldDefinition) => {
                let read = self.has("ViewSetup") || self.has("ViewAllData");
                ObjectPerms { read, view_all: read, ..Default::default() }
            }
            Some(Builtin::PermissionSet) => {
                let read = self.has("ViewSetup") || self.has("ManageUsers");
                ObjectPerms { read, view_all: read, ..Default::default() }
            }
            Some(Builtin::PermissionSetAssignment) => {
                let admin = self.has("ManageUsers");
                let read = admin || self.has("ViewSetup");
                ObjectPerms { read, create: admin, edit: admin, delete: admin, view_all: read, modify_all: admin }
            }
            Some(Builtin::ApiEvent) => {
                let read = self.has("ViewAllData") || self.has("ViewRealTimeEventMonitoringData");
                ObjectPerms { read, view_all: read, ..Default::default() }
            }
            Some(Builtin::EventLogFile) => {
                let read = self.has("ViewEventLogFiles");
                ObjectPerms { read, view_all: read, ..Default::default() }
            }
            None => {
                let mut p = self.objects.get(&o.name).copied().unwrap_or_default();
                if self.has("ModifyAllData") {
                    p = all;
                } else if self.has("ViewAllData") {
                    p.view_all = true;
                }
                p.normalized()
            }
        }
    }

    /// Field-level security. Platform fields follow the object; universally required fields are
    /// always visible (Salesforce does not let FLS hide them).
    pub fn field(&self, o: &ObjectSchema, f: &FieldSchema) -> FieldPerms {
        let op = self.object(o);
        if !op.read {
            return FieldPerms::default();
        }
        if self.is_system() || (self.relax.fields && o.builtin.is_none()) {
            return FieldPerms { read: true, edit: f.writable };
        }
        if f.system {
            let edit = f.writable && op.edit && (o.builtin.is_none() || self.has("ManageUsers"));
            return FieldPerms { read: true, edit };
        }
        if f.required {
            return FieldPerms { read: true, edit: f.writable };
        }
        let p = self.fields.get(&(o.name.clone(), f.name.clone())).copied().unwrap_or_default();
        FieldPerms { read: p.read, edit: p.edit && f.writable }
    }

    /// The caller's access to one record.
    pub fn record(&self, store: &Store, o: &ObjectSchema, r: &Record) -> RecordAccess {
        self.record_at_depth(store, o, r, 0)
    }

    fn record_at_depth(&self, store: &Store, o: &ObjectSchema, r: &Record, depth: usize) -> RecordAccess {
        let op = self.object(o);
        if !op.read || depth > 8 {
            return RecordAccess::None;
        }
        if op.modify_all || (self.relax.sharing && o.builtin.is_none()) {
            return RecordAccess::Full;
        }
        let Some(user) = self.user else {
            return RecordAccess::Full;
        };
        match o.builtin {
            Some(Builtin::User) | Some(Builtin::UserLogin) => {
                return if op.edit { RecordAccess::Edit } else { RecordAccess::Read };
            }
            Some(Builtin::LoginHistory) => {
                let own = r.get("UserId").as_str() == Some(user.id.as_str());
                return if op.view_all || own { RecordAccess::Read } else { RecordAccess::None };
            }
            Some(Builtin::ApiEvent)
            | Some(Builtin::EventLogFile)
            | Some(Builtin::Profile)
            | Some(Builtin::OauthToken)
            | Some(Builtin::UserPermissionAccess)
            | Some(Builtin::FieldDefinition)
            | Some(Builtin::PermissionSet)
            | Some(Builtin::PermissionSetAssignment)
            | Some(Builtin::UserRecordAccess) => {
                return RecordAccess::Read;
            }
            None => {}
        }
        let mut level = if op.view_all { RecordAccess::Read } else { RecordAccess::None };
        match o.sharing_model {
            SharingModel::Private => {}
            SharingModel::Read => level = level.max(RecordAccess::Read),
            SharingModel::ReadWrite => level = level.max(RecordAccess::Edit),
            SharingModel::ControlledByParent => {
                let parent = o
                    .parent_field
                    .as_deref()
                    .and_then(|pf| r.get(pf).as_str())
                    .and_then(|id| store.get(id))
                    .and_then(|p| self.org.object(&p.object).map(|po| self.record_at_depth(store, po, p, depth + 1)))
                    .unwrap_or(RecordAccess::None);
                return level.max(parent);
            }
        }
        let Some(owner) = r.owner_id().and_then(|id| self.org.user(id)) else {
            return level;
        };
        if owner.id == user.id {
            return RecordAccess::Full;
        }
        if let (Some(mine), Some(theirs)) = (user.role, owner.role) {
            if self.org.role_is_above(mine, theirs) {
                return RecordAccess::Full;
            }
            for rule in self.org.sharing_rules.iter().filter(|s| s.object == o.name && s.owned_by_role == theirs) {
                let to_me = rule.shared_to_role == mine
                    || (rule.include_subordinates && self.org.role_is_above(rule.shared_to_role, mine));
                if to_me {
                    let granted = match rule.access {
                        AccessLevel::Read => RecordAccess::Read,
                        AccessLevel::Edit => RecordAccess::Edit,
                    };
                    level = level.max(granted);
                }
            }
        }
        level
    }
}
