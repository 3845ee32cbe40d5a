//! The data operations behind the REST API (and, later, the MCP tools). Every operation takes an
//! `Access`: a user's (object permission, field-level security, sharing) or the system's. Denials
//! use Salesforce's codes; fields the caller cannot read look exactly like fields that do not exist.

use crate::access::{Access, RecordAccess};
use crate::audit::{AuditLog, Trace};
use crate::clock::format_datetime;
use crate::error::SfError;
use crate::ids;
use crate::model::{Builtin, FieldKind, FieldSchema, ObjectSchema, Org};
use crate::soql::{self, CmpOp, Cond, Literal, Select};
use crate::store::{Record, Store};
use serde_json::{Map, Value, json};
use std::cmp::Ordering;

/// Something the platform must do after a write, outside the data store.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Effect {
    /// The user was frozen or deactivated: every token they hold dies now.
    RevokeUserTokens(String),
    /// The user was frozen: its tokens die like a deactivated user's.
    FreezeUser(String),
    /// An admin deleted the user's authorization of an app (user id, app name).
    RevokeAppAccess(String, String),
}

pub struct Data<'a> {
    pub org: &'a Org,
    pub access: &'a Access<'a>,
    /// "v66.0", for the `attributes.url` of records.
    pub version: &'a str,
    /// The user the write is attributed to (CreatedById, LastModifiedById), and when.
    pub actor: &'a str,
    pub now_ms: i64,
}

impl<'a> Data<'a> {
    /// FieldDefinition rows for every field of the org's own objects, with history tracking.
    fn field_definitions(&self) -> Vec<Record> {
        let mut n = 0;
        let mut out = Vec::new();
        for o in self.org.objects.iter().filter(|o| o.builtin.is_none()) {
            for f in o.fields.iter().filter(|f| f.name != "Id") {
                n += 1;
                let id = crate::ids::make("00N", n);
                let fields = [
                    ("Id", json!(id)),
                    ("QualifiedApiName", json!(f.name)),
                    ("EntityDefinitionId", json!(o.name)),
                    ("IsFieldHistoryTracked", json!(o.history_tracked_fields.contains(&f.name))),
                ];
                let fields = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                out.push(Record { object: "FieldDefinition".into(), id, fields });
            }
        }
        out
    }

    /// One UserRecordAccess row per user the caller may ask about and record of the org's own
    /// objects, by the org's rules with the permission sets assigned now.
    fn user_record_access(&self, store: &Store) -> Vec<Record> {
        let admin = self.access.has("ViewAllData") || self.access.has("ManageUsers");
        let mut out = Vec::new();
        for user in self.org.users.iter().filter(|u| admin || self.access.user_id() == Some(u.id.as_str())) {
            let user = crate::model::User { permission_sets: store.assigned_permission_sets(&user.id), ..user.clone() };
            let access = crate::access::Access::for_user(self.org, &user);
            for o in self.org.objects.iter().filter(|o| o.builtin.is_none()) {
                // The running user is told only of records it may read itself.
                for r in store.of_object(&o.name).filter(|r| self.access.record(store, o, r) != RecordAccess::None) {
                    let level = access.record(store, o, r);
                    let id = crate::ids::make("0UR", out.len() as u64 + 1);
                    let fields = [
                        ("Id", json!(id)),
                        ("UserId", json!(user.id)),
                        ("RecordId", json!(r.id)),
                        ("HasReadAccess", json!(level >= RecordAccess::Read)),
                        ("HasEditAccess", json!(level >= RecordAccess::Edit)),
                    ];
                    let fields = fields.into_iter().map(|(k, v)| (k.to_string(), v)).collect();
                    out.push(Record { object: "UserRecordAccess".into(), id, fields });
                }
            }
        }
        out
    }

    /// The object as the caller may see it: unreadable objects do not exist.
    fn visible_object(&self, name: &str) -> Option<&'a ObjectSchema> {
        self.org.object(name).filter(|o| self.access.object(o).read)
    }

    fn readable_field(&self, o: &'a ObjectSchema, name: &str) -> Result<&'a FieldSchema, SfError> {
        o.field(name).filter(|f| self.access.field(o, f).read).ok_or_else(|| SfError::no_such_column(name, &o.name))
    }

    fn record_json(&self, o: &ObjectSchema, r: &Record, fields: &[&FieldSchema]) -> Value {
        let mut m = Map::new();
        m.insert(
            "attributes".into(),
            json!({"type": o.name, "url": format!("/services/data/{}/sobjects/{}/{}", self.version, o.name, r.id)}),
        );
        for f in fields {
            m.insert(f.name.clone(), r.get(&f.name).clone());
        }
        Value::Object(m)
    }

    pub fn describe_global(&self) -> Value {
        let sobjects: Vec<Value> = self
            .org
            .objects
            .iter()
            .filter(|o| self.access.object(o).read)
            .map(|o| {
                let p = self.access.object(o);
                json!({
                    "name": o.name, "label": o.label, "keyPrefix": o.key_prefix, "custom": o.name.ends_with("__c"),
                    "queryable": true, "retrieveable": true, "searchable": o.builtin.is_none(),
                    "createable": p.create, "updateable": p.edit, "deletable": p.delete,
                    "urls": {"sobject": format!("/services/data/{}/sobjects/{}", self.version, o.name),
                             "describe": format!("/services/data/{}/sobjects/{}/describe", self.version, o.name)}
                })
            })
            .collect();
        json!({"encoding": "UTF-8", "maxBatchSize": 200, "sobjects": sobjects})
    }

    pub fn describe(&self, object: &str, trace: &mut Trace) -> Result<Value, SfError> {
        let o = self.visible_object(object).ok_or_else(SfError::not_found)?;
        trace.object = Some(o.name.clone());
        let p = self.access.object(o);
        let fields: Vec<Value> = o
            .fields
            .iter()
            .filter_map(|f| {
                let fp = self.access.field(o, f);
                fp.read.then(|| {
                    json!({
                        "name": f.name, "label": f.label, "type": f.kind.as_str(),
                        "createable": fp.edit && p.create, "updateable": fp.edit && p.edit,
                        "nillable": !f.required && !f.system, "referenceTo": f.reference_to.iter().collect::<Vec<_>>(),
                        "picklistValues": f.picklist_values.iter().map(|v| json!({"value": v, "label": v, "active": true})).collect::<Vec<_>>(),
                    })
                })
            })
            .collect();
        Ok(json!({
            "name": o.name, "label": o.label, "keyPrefix": o.key_prefix, "custom": o.name.ends_with("__c"),
            "queryable": true, "retrieveable": true, "createable": p.create, "updateable": p.edit, "deletable": p.delete,
            "fields": fields,
        }))
    }

    /// The record if it exists and the caller can see it; else NOT_FOUND (never a hint it exists).
    fn find<'s>(&self, store: &'s Store, o: &ObjectSchema, id: &str) -> Result<(&'s Record, RecordAccess), SfError> {
        let id18 = ids::to18(id).ok_or_else(|| SfError::malformed_id(&o.name, id))?;
        let r = store.get(&id18).filter(|r| r.object == o.name).ok_or_else(SfError::not_found)?;
        match self.access.record(store, o, r) {
            RecordAccess::None => Err(SfError::not_found()),
            a => Ok((r, a)),
        }
    }

    pub fn get(
        &self,
        store: &Store,
        object: &str,
        id: &str,
        fields: Option<&str>,
        trace: &mut Trace,
    ) -> Result<Value, SfError> {
        let o = self.visible_object(object).ok_or_else(SfError::not_found)?;
        trace.object = Some(o.name.clone());
        trace.operation = Some("read");
        let selected: Vec<&FieldSchema> = match fields {
            Some(list) => list.split(',').map(|f| self.readable_field(o, f.trim())).collect::<Result<_, _>>()?,
            None => o.fields.iter().filter(|f| self.access.field(o, f).read).collect(),
        };
        let (r, _) = self.find(store, o, id)?;
        trace.record_ids.push(r.id.clone());
        Ok(self.record_json(o, r, &selected))
    }

    pub fn query(&self, store: &Store, audit: &AuditLog, q: &str, trace: &mut Trace) -> Result<Value, SfError> {
        trace.operation = Some("query");
        let parsed = soql::parse(q).map_err(|e| SfError::new(400, "MALFORMED_QUERY", e.render(q)))?;
        let o = self.visible_object(&parsed.object.name).ok_or_else(|| SfError::invalid_type(&parsed.object.name))?;
        trace.object = Some(o.name.clone());
        let field = |name: &str| -> Result<&FieldSchema, SfError> {
            if name.contains('.') {
                let rel = name.split('.').next().unwrap_or_default();
                return Err(SfError::new(400, "INVALID_FIELD", format!("Didn't understand relationship '{rel}' in field path. If you are attempting to use a custom relationship, be sure to append the '__r' after the custom relationship name. Please reference your WSDL or the describe call for the appropriate names.")).with_fields(vec![name.to_string()]));
            }
            self.readable_field(o, name)
        };
        let selected: Vec<&FieldSchema> = match &parsed.select {
            Select::Fields(fs) => fs.iter().map(|f| field(&f.name)).collect::<Result<_, _>>()?,
            Select::Count => Vec::new(),
        };
        // User mode: fields in WHERE and ORDER BY are checked like the select list.
        if let Some(c) = &parsed.filter {
            for f in c.fields() {
                field(&f.name)?;
            }
        }
        if o.builtin == Some(Builtin::UserRecordAccess) {
            let named: Vec<String> =
                parsed.filter.iter().flat_map(|c| c.fields()).map(|f| f.name.to_lowercase()).collect();
            if !named.iter().any(|f| f == "userid") || !named.iter().any(|f| f == "recordid") {
                return Err(SfError::new(
                    400,
                    "MALFORMED_QUERY",
                    "UserRecordAccess can only be queried with a UserId and a RecordId filter",
                ));
            }
        }
        let order: Vec<(&FieldSchema, &soql::OrderItem)> =
            parsed.order_by.iter().map(|i| field(&i.field.name).map(|f| (f, i))).collect::<Result<_, _>>()?;
        // Virtual objects: the audit log and the caller's own permissions, materialized when queried.
        let virtual_rows: Vec<Record> = match o.builtin {
            Some(Builtin::ApiEvent) => audit
                .snapshot()
                .iter()
                .map(|a| Record { object: o.name.clone(), id: a.id.clone(), fields: a.to_fields() })
                .collect(),
            Some(Builtin::EventLogFile) => crate::event_log::rows(self.org, audit),
            Some(Builtin::LoginHistory) => audit.logins.rows(),
            Some(Builtin::UserPermissionAccess) => vec![self.access.permission_row()],
            Some(Builtin::FieldDefinition) => self.field_definitions(),
            Some(Builtin::UserRecordAccess) => self.user_record_access(store),
            _ => Vec::new(),
        };
        let is_virtual = matches!(
            o.builtin,
            Some(Builtin::ApiEvent)
                | Some(Builtin::EventLogFile)
                | Some(Builtin::LoginHistory)
                | Some(Builtin::UserPermissionAccess)
                | Some(Builtin::FieldDefinition)
                | Some(Builtin::UserRecordAccess)
        );
        let source: Box<dyn Iterator<Item = &Record>> =
            if is_virtual { Box::new(virtual_rows.iter()) } else { Box::new(store.of_object(&o.name)) };
        let mut rows: Vec<&Record> = Vec::new();
        for r in source {
            if self.access.record(store, o, r) == RecordAccess::None {
                continue;
            }
            if parsed.filter.as_ref().is_some_and(|c| !eval(o, r, c)) {
                continue;
            }
            rows.push(r);
        }
        rows.sort_by(|a, b| {
            for (f, item) in &order {
                let ord = compare_for_sort(a.get(&f.name), b.get(&f.name), item.descending, item.nulls_last);
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
        let offset = parsed.offset.unwrap_or(0) as usize;
        let limit = parsed.limit.map(|l| l as usize).unwrap_or(usize::MAX);
        let page: Vec<&Record> = rows.into_iter().skip(offset).take(limit).collect();
        if parsed.select == Select::Count {
            return Ok(json!({"totalSize": page.len(), "done": true, "records": []}));
        }
        trace.record_ids.extend(page.iter().map(|r| r.id.clone()));
        let records: Vec<Value> = page.iter().map(|r| self.record_json(o, r, &selected)).collect();
        Ok(json!({"totalSize": records.len(), "done": true, "records": records}))
    }

    /// Checks a write body against the object's fields; returns the values by canonical name.
    fn writable_values(&self, store: &Store, o: &ObjectSchema, body: &Value) -> Result<Vec<(String, Value)>, SfError> {
        let obj = body.as_object().ok_or_else(|| SfError::json("Expected a JSON object with the record's fields"))?;
        let mut values = Vec::new();
        let mut read_only = Vec::new();
        for (k, v) in obj {
            if k == "attributes" {
                continue;
            }
            let f = self.readable_field(o, k)?;
            if !self.access.field(o, f).edit {
                read_only.push(f.name.clone());
                continue;
            }
            if !v.is_null() && !f.kind.accepts(v) {
                return Err(SfError::json(format!(
                    "Cannot deserialize instance of {} from {} value for field {}",
                    f.kind.as_str(),
                    json_kind(v),
                    f.name
                )));
            }
            if f.kind == FieldKind::Reference && !v.is_null() {
                let target = v.as_str().and_then(ids::to18).and_then(|id| store.get(&id).cloned());
                let ok = target.as_ref().is_some_and(|t| {
                    Some(t.object.as_str()) == f.reference_to.as_deref()
                        && self
                            .org
                            .object(&t.object)
                            .is_some_and(|to| self.access.record(store, to, t) != RecordAccess::None)
                });
                if !ok {
                    return Err(SfError::new(
                        400,
                        "INVALID_CROSS_REFERENCE_KEY",
                        format!("invalid cross reference id: {}", f.name),
                    )
                    .with_fields(vec![f.name.clone()]));
                }
                values.push((f.name.clone(), json!(target.map(|t| t.id))));
                continue;
            }
            values.push((f.name.clone(), v.clone()));
        }
        if !read_only.is_empty() {
            return Err(SfError::read_only_fields(read_only));
        }
        Ok(values)
    }

    pub fn create(&self, store: &mut Store, object: &str, body: &Value, trace: &mut Trace) -> Result<Value, SfError> {
        let o = self.visible_object(object).ok_or_else(SfError::not_found)?;
        trace.object = Some(o.name.clone());
        trace.operation = Some("create");
        let creatable = o.builtin.is_none() || o.builtin == Some(Builtin::PermissionSetAssignment);
        if !self.access.object(o).create || !creatable {
            return Err(SfError::insufficient_access());
        }
        let values = self.writable_values(store, o, body)?;
        if o.builtin == Some(Builtin::PermissionSetAssignment) {
            let value = |k: &str| values.iter().find(|(n, _)| n == k).map(|(_, v)| v.clone());
            let (who, set) = (value("AssigneeId"), value("PermissionSetId"));
            let duplicate = store
                .of_object(&o.name)
                .any(|r| Some(r.get("AssigneeId")) == who.as_ref() && Some(r.get("PermissionSetId")) == set.as_ref());
            if duplicate {
                return Err(SfError::new(400, "DUPLICATE_VALUE", "Duplicate PermissionSetAssignment"));
            }
        }
        let missing: Vec<String> = o
            .fields
            .iter()
            .filter(|f| f.required && !values.iter().any(|(k, v)| k == &f.name && !v.is_null()))
            .map(|f| f.name.clone())
            .collect();
        if !missing.is_empty() {
            return Err(SfError::new(
                400,
                "REQUIRED_FIELD_MISSING",
                format!("Required fields are missing: [{}]", missing.join(", ")),
            )
            .with_fields(missing));
        }
        let (user_id, now_ms) = (self.actor, self.now_ms);
        let id = store.new_id(&o.key_prefix);
        let stamp = json!(format_datetime(now_ms));
        let mut fields: std::collections::BTreeMap<String, Value> = values.into_iter().collect();
        fields.insert("Id".into(), json!(id));
        if o.has_owner() && fields.get("OwnerId").is_none_or(Value::is_null) {
            fields.insert("OwnerId".into(), json!(user_id));
        }
        for (k, v) in [
            ("CreatedDate", stamp.clone()),
            ("LastModifiedDate", stamp),
            ("CreatedById", json!(user_id)),
            ("LastModifiedById", json!(user_id)),
        ] {
            fields.insert(k.into(), v);
        }
        store.insert(Record { object: o.name.clone(), id: id.clone(), fields });
        trace.record_ids.push(id.clone());
        Ok(json!({"id": id, "success": true, "errors": []}))
    }

    pub fn update(
        &self,
        store: &mut Store,
        object: &str,
        id: &str,
        body: &Value,
        trace: &mut Trace,
    ) -> Result<Vec<Effect>, SfError> {
        let o = self.visible_object(object).ok_or_else(SfError::not_found)?;
        trace.object = Some(o.name.clone());
        trace.operation = Some("update");
        let (r, level) = self.find(store, o, id)?;
        let rid = r.id.clone();
        trace.record_ids.push(rid.clone());
        // An assignment is created or deleted, never changed (as on the platform).
        let updatable = o.builtin != Some(Builtin::PermissionSetAssignment);
        if !updatable || !self.access.object(o).edit || level < RecordAccess::Edit {
            return Err(SfError::insufficient_access());
        }
        let values = self.writable_values(store, o, body)?;
        if let Some((name, _)) = values.iter().find(|(k, v)| v.is_null() && o.field(k).is_some_and(|f| f.required)) {
            return Err(SfError::new(400, "REQUIRED_FIELD_MISSING", format!("Required fields are missing: [{name}]"))
                .with_fields(vec![name.clone()]));
        }
        let rec = store.get_mut(&rid).expect("found above");
        for (k, v) in values {
            rec.fields.insert(k, v);
        }
        rec.fields.insert("LastModifiedDate".into(), json!(format_datetime(self.now_ms)));
        rec.fields.insert("LastModifiedById".into(), json!(self.actor));
        let mut effects = Vec::new();
        match o.builtin {
            Some(Builtin::User) if rec.get("IsActive") == &json!(false) => effects.push(Effect::RevokeUserTokens(rid)),
            Some(Builtin::UserLogin) if rec.get("IsFrozen") == &json!(true) => {
                if let Some(uid) = rec.get("UserId").as_str() {
                    effects.push(Effect::FreezeUser(uid.to_string()));
                }
            }
            _ => {}
        }
        Ok(effects)
    }

    pub fn delete(&self, store: &mut Store, object: &str, id: &str, trace: &mut Trace) -> Result<Vec<Effect>, SfError> {
        let o = self.visible_object(object).ok_or_else(SfError::not_found)?;
        trace.object = Some(o.name.clone());
        trace.operation = Some("delete");
        let (r, level) = self.find(store, o, id)?;
        let rid = r.id.clone();
        trace.record_ids.push(rid.clone());
        let deletable = matches!(o.builtin, None | Some(Builtin::OauthToken) | Some(Builtin::PermissionSetAssignment));
        if !deletable || !self.access.object(o).delete || level < RecordAccess::Full {
            return Err(SfError::insufficient_access());
        }
        let removed = store.remove(&rid);
        let effects = match (o.builtin, removed) {
            (Some(Builtin::OauthToken), Some(r)) => {
                let field = |k: &str| r.get(k).as_str().unwrap_or_default().to_string();
                vec![Effect::RevokeAppAccess(field("UserId"), field("AppName"))]
            }
            _ => Vec::new(),
        };
        Ok(effects)
    }
}

fn json_kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "NULL",
        Value::Bool(_) => "VALUE_TRUE_OR_FALSE",
        Value::Number(_) => "VALUE_NUMBER",
        Value::String(_) => "VALUE_STRING",
        Value::Array(_) => "START_ARRAY",
        Value::Object(_) => "START_OBJECT",
    }
}

/// Converts a literal to the field's representation (15-character ids become 18).
fn literal_value(f: Option<&FieldSchema>, lit: &Literal) -> Value {
    match lit {
        Literal::Str(s) if f.is_some_and(|f| matches!(f.kind, FieldKind::Id | FieldKind::Reference)) => {
            json!(ids::to18(s).unwrap_or_else(|| s.clone()))
        }
        Literal::Str(s) => json!(s),
        Literal::Num(n) => json!(n),
        Literal::Bool(b) => json!(b),
        Literal::Null => Value::Null,
    }
}

fn compare(a: &Value, b: &Value) -> Option<Ordering> {
    match (a, b) {
        (Value::String(x), Value::String(y)) => Some(x.to_lowercase().cmp(&y.to_lowercase())),
        (Value::Number(x), Value::Number(y)) => x.as_f64()?.partial_cmp(&y.as_f64()?),
        (Value::Bool(x), Value::Bool(y)) => Some(x.cmp(y)),
        (Value::Null, Value::Null) => Some(Ordering::Equal),
        _ => None,
    }
}

fn eval(o: &ObjectSchema, r: &Record, c: &Cond) -> bool {
    match c {
        Cond::And(a, b) => eval(o, r, a) && eval(o, r, b),
        Cond::Or(a, b) => eval(o, r, a) || eval(o, r, b),
        Cond::Not(x) => !eval(o, r, x),
        Cond::In { field, negated, values } => {
            let f = o.field(&field.name);
            let v = f.map(|f| r.get(&f.name)).unwrap_or(&Value::Null);
            let hit = values.iter().any(|l| compare(v, &literal_value(f, l)) == Some(Ordering::Equal));
            hit != *negated
        }
        Cond::Cmp { field, op, value } => {
            let f = o.field(&field.name);
            let v = f.map(|f| r.get(&f.name)).unwrap_or(&Value::Null);
            let lit = literal_value(f, value);
            match op {
                CmpOp::Like => {
                    matches!((v, &lit), (Value::String(s), Value::String(p)) if soql::like(s, p))
                }
                CmpOp::Eq => compare(v, &lit) == Some(Ordering::Equal),
                CmpOp::Ne => compare(v, &lit) != Some(Ordering::Equal),
                // Null never orders against a value, as in SOQL.
                _ if v.is_null() || lit.is_null() => false,
                CmpOp::Lt => compare(v, &lit) == Some(Ordering::Less),
                CmpOp::Le => matches!(compare(v, &lit), Some(Ordering::Less | Ordering::Equal)),
                CmpOp::Gt => compare(v, &lit) == Some(Ordering::Greater),
                CmpOp::Ge => matches!(compare(v, &lit), Some(Ordering::Greater | Ordering::Equal)),
            }
        }
    }
}

fn compare_for_sort(a: &Value, b: &Value, descending: bool, nulls_last: bool) -> Ordering {
    match (a.is_null(), b.is_null()) {
        (true, true) => Ordering::Equal,
        (true, false) => {
            if nulls_last {
                Ordering::Greater
            } else {
                Ordering::Less
            }
        }
        (false, true) => {
            if nulls_last {
                Ordering::Less
            } else {
                Ordering::Greater
            }
        }
        (false, false) => {
            let ord = compare(a, b).unwrap_or(Ordering::Equal);
            if descending { ord.reverse() } else { ord }
        }
    }
}
