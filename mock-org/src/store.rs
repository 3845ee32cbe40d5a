//! The org's records, including the platform's own User and UserLogin rows.

use crate::clock::format_datetime;
use crate::ids;
use crate::model::Org;
use serde_json::{Value, json};
use std::collections::{BTreeMap, HashMap};

#[derive(Debug, Clone, PartialEq)]
pub struct Record {
    pub object: String,
    pub id: String,
    /// Every field by its canonical API name, system fields included.
    pub fields: BTreeMap<String, Value>,
}

impl Record {
    pub fn get(&self, field: &str) -> &Value {
        self.fields.get(field).unwrap_or(&Value::Null)
    }

    pub fn owner_id(&self) -> Option<&str> {
        self.fields.get("OwnerId").and_then(Value::as_str)
    }
}

#[derive(Debug, Default, Clone)]
pub struct Store {
    records: BTreeMap<String, Record>,
    next: HashMap<String, u64>,
}

impl Store {
    /// The org's initial state: users, their logins, and the fixture's records.
    pub fn seed(org: &Org, now_ms: i64) -> Store {
        let mut store = Store::default();
        let stamp = json!(format_datetime(now_ms));
        let first_admin = org.users.first().map(|u| u.id.clone()).unwrap_or_default();
        let audit = |by: &str| {
            [
                ("CreatedDate".to_string(), stamp.clone()),
                ("LastModifiedDate".to_string(), stamp.clone()),
                ("CreatedById".to_string(), json!(by)),
                ("LastModifiedById".to_string(), json!(by)),
            ]
        };
        // Profiles by name, with ids in name order; users point at theirs through ProfileId.
        let profile_ids: BTreeMap<&str, String> = org
            .profiles
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), crate::ids::make("00e", i as u64 + 1)))
            .collect();
        for (name, id) in &profile_ids {
            let mut fields: BTreeMap<String, Value> =
                [("Id".to_string(), json!(id)), ("Name".to_string(), json!(name))].into_iter().collect();
            fields.extend(audit(&first_admin));
            store.insert(Record { object: "Profile".into(), id: id.clone(), fields });
        }
        for u in &org.users {
            let name = match &u.first_name {
                Some(f) => format!("{f} {}", u.last_name),
                None => u.last_name.clone(),
            };
            let mut fields: BTreeMap<String, Value> = [
                ("Id", json!(u.id)),
                ("Username", json!(u.username)),
                ("FirstName", json!(u.first_name)),
                ("LastName", json!(u.last_name)),
                ("Name", json!(name)),
                ("Email", json!(u.email)),
                ("ProfileId", json!(profile_ids.get(u.profile.as_str()))),
                ("IsActive", json!(u.initially_active)),
            ]
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
            fields.extend(audit(&first_admin));
            store.insert(Record { object: "User".into(), id: u.id.clone(), fields });
            let mut login: BTreeMap<String, Value> =
                [("Id", json!(u.login_id)), ("UserId", json!(u.id)), ("IsFrozen", json!(u.initially_frozen))]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
            login.extend(audit(&first_admin));
            store.insert(Record { object: "UserLogin".into(), id: u.login_id.clone(), fields: login });
        }
        // Permission sets by name, and one assignment row per user and set, which callers'
        // permission sets are read from on every request.
        let set_ids: BTreeMap<&str, String> = org
            .permission_sets
            .keys()
            .enumerate()
            .map(|(i, name)| (name.as_str(), crate::ids::make("0PS", i as u64 + 1)))
            .collect();
        for (name, id) in &set_ids {
            let mut fields: BTreeMap<String, Value> =
                [("Id", json!(id)), ("Name", json!(name)), ("Label", json!(name))]
                    .into_iter()
                    .map(|(k, v)| (k.to_string(), v))
                    .collect();
            fields.extend(audit(&first_admin));
            store.insert(Record { object: "PermissionSet".into(), id: id.clone(), fields });
        }
        for u in &org.users {
            for set in &u.permission_sets {
                let id = store.new_id("0Pa");
                let mut fields: BTreeMap<String, Value> = [
                    ("Id", json!(id)),
                    ("AssigneeId", json!(u.id)),
                    ("PermissionSetId", json!(set_ids.get(set.as_str()))),
                ]
                .into_iter()
                .map(|(k, v)| (k.to_string(), v))
                .collect();
                fields.extend(audit(&first_admin));
                store.insert(Record { object: "PermissionSetAssignment".into(), id, fields });
            }
        }
        for r in &org.seed_records {
            let mut fields = r.fields.clone();
            fields.insert("Id".into(), json!(r.id));
            if org.object(&r.object).is_some_and(|o| o.has_owner()) {
                fields.insert("OwnerId".into(), json!(r.owner_id));
            }
            fields.extend(audit(&r.owner_id));
            store.insert(Record { object: r.object.clone(), id: r.id.clone(), fields });
        }
        store
    }

    pub fn insert(&mut self, r: Record) {
        self.records.insert(r.id.clone(), r);
    }

    pub fn get(&self, id: &str) -> Option<&Record> {
        self.records.get(id)
    }

    pub fn get_mut(&mut self, id: &str) -> Option<&mut Record> {
        self.records.get_mut(id)
    }

    pub fn remove(&mut self, id: &str) -> Option<Record> {
        self.records.remove(id)
    }

    pub fn of_object<'a>(&'a self, object: &'a str) -> impl Iterator<Item = &'a Record> + 'a {
        self.records.values().filter(move |r| r.object == object)
    }

    /// A fresh id for `prefix`, never one already in use.
    pub fn new_id(&mut self, prefix: &str) -> String {
        loop {
            let n = self.next.entry(prefix.to_string()).or_insert(1_000_000);
            *n += 1;
            let id = ids::make(prefix, *n);
            if !self.records.contains_key(&id) {
                return id;
            }
        }
    }

    /// The names of the permission sets assigned to the user now.
    pub fn assigned_permission_sets(&self, user_id: &str) -> Vec<String> {
        self.of_object("PermissionSetAssignment")
            .filter(|a| a.get("AssigneeId").as_str() == Some(user_id))
            .filter_map(|a| self.get(a.get("PermissionSetId").as_str()?))
            .filter_map(|set| set.get("Name").as_str().map(str::to_string))
            .collect()
    }

    /// Whether the user may authenticate: active and not frozen.
    pub fn user_is_usable(&self, org: &Org, user_id: &str) -> bool {
        self.user_state(org, user_id).is_some_and(|(active, frozen)| active && !frozen)
    }

    /// (active, frozen) of a declared user; a missing record reads as inactive and frozen.
    pub fn user_state(&self, org: &Org, user_id: &str) -> Option<(bool, bool)> {
        let user = org.user(user_id)?;
        let active = self.get(&user.id).and_then(|r| r.get("IsActive").as_bool()).unwrap_or(false);
        let frozen = self.get(&user.login_id).and_then(|r| r.get("IsFrozen").as_bool()).unwrap_or(true);
        Some((active, frozen))
    }
}
