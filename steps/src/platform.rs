//! What every Salesforce user sees whatever its permissions: the platform's own fields on every
//! record and the setup objects every API user reads. HG-LP-01/02 judge a persona's reach beyond
//! its action list, so these must not count against it (a real org's describe lists them for
//! everyone), while edit access to them still does where it gives power away (`OwnerId`).

/// Fields the platform keeps on records, read by anyone who reads the record, never edited
/// through the API but for `OwnerId`.
/// Source: Salesforce Object Reference, "System Fields" (Id, IsDeleted, CreatedById, CreatedDate,
/// LastModifiedById, LastModifiedDate, SystemModstamp), "Common fields" (OwnerId), and the fields of
/// objects that support recently viewed records and activities (LastViewedDate,
/// LastReferencedDate, LastActivityDate).
pub const SYSTEM_FIELDS: &[&str] = &[
    "Id",
    "IsDeleted",
    "CreatedById",
    "CreatedDate",
    "LastModifiedById",
    "LastModifiedDate",
    "SystemModstamp",
    "OwnerId",
    "LastViewedDate",
    "LastReferencedDate",
    "LastActivityDate",
];

/// System fields whose edit access gives power away: whoever may edit `OwnerId` can hand a
/// record to another user (and so out of the persona's own sharing).
pub const POWERFUL_EDITS: &[&str] = &["OwnerId"];

/// Setup objects every API-enabled user can read (describe lists them for everyone).
/// Source: Salesforce Object Reference, the User, Profile, UserRole, Group, Organization,
/// RecordType, UserPermissionAccess and UserRecordAccess entries ("all users can query"; a
/// user's own access rows), and the UserAppInfo, UserPreference and LoginHistory entries (the
/// user's own rows; LoginHistory's since API 37.0).
pub const EVERY_USER_OBJECTS: &[&str] = &[
    "User",
    "Profile",
    "UserRole",
    "Group",
    "Organization",
    "RecordType",
    "UserPermissionAccess",
    "UserRecordAccess",
    "UserAppInfo",
    "UserPreference",
    "LoginHistory",
];

/// The objects the platform derives from each object (its sharing, field history, feed and change
/// events): reaching them comes with reaching the object itself.
/// Source: Salesforce Object Reference, "Associated Objects" (Share, History, Feed, ChangeEvent;
/// custom objects use `__Share`, `__History`, `__Feed`, `__ChangeEvent`).
pub fn parent_of_associated(object: &str) -> Option<String> {
    for suffix in ["Share", "History", "Feed", "ChangeEvent"] {
        if let Some(base) = object.strip_suffix(&format!("__{suffix}")) {
            return Some(format!("{base}__c"));
        }
        if let Some(base) = object.strip_suffix(suffix).filter(|b| !b.is_empty() && !b.ends_with('_')) {
            return Some(base.to_string());
        }
    }
    None
}

/// The objects and fields the steps query, as the Salesforce Object Reference (Summer '26)
/// documents them: a step may query nothing else (the test below reads every query in the steps).
pub const QUERYABLE: &[(&str, &[&str], &str)] = &[
    ("User", &["Id", "Username", "ProfileId"], "Object Reference: User"),
    ("Profile", &["Id", "Name"], "Object Reference: Profile"),
    ("UserLogin", &["Id", "UserId", "IsFrozen"], "Object Reference: UserLogin"),
    ("OauthToken", &["Id", "UserId", "AppName"], "Object Reference: OauthToken"),
    ("PermissionSet", &["Id", "Name"], "Object Reference: PermissionSet"),
    (
        "PermissionSetAssignment",
        &["Id", "AssigneeId", "PermissionSetId", "ExpirationDate"],
        "Object Reference: PermissionSetAssignment",
    ),
    ("UserRecordAccess", &["RecordId", "HasReadAccess", "UserId"], "Object Reference: UserRecordAccess"),
    (
        "FieldDefinition",
        &["QualifiedApiName", "EntityDefinitionId", "IsFieldHistoryTracked"],
        "Object Reference: FieldDefinition",
    ),
    (
        "UserPermissionAccess",
        &[
            "PermissionsViewAllData",
            "PermissionsModifyAllData",
            "PermissionsModifyMetadata",
            "PermissionsCustomizeApplication",
            "PermissionsManageUsers",
            "PermissionsAuthorApex",
        ],
        "Object Reference: UserPermissionAccess",
    ),
    (
        "EventLogFile",
        &["Id", "EventType", "LogDate", "Interval", "Sequence"],
        "Object Reference: EventLogFile (ApiTotalUsage event type)",
    ),
    (
        "LoginHistory",
        &["Id", "UserId", "LoginTime", "LoginType", "Status", "Application"],
        "Object Reference: LoginHistory",
    ),
    ("Account", &["Id"], "Object Reference: Account"),
    ("Case", &["Id"], "Object Reference: Case"),
];

#[cfg(test)]
mod tests {
    use super::*;

    /// Every query written out in a step, as (object, fields): `SELECT a, b FROM X` in the source,
    /// with placeholders (`{...}`) left out: those come from the target file.
    /// Every source file of the steps crate, found on disk: a new step file is read without
    /// being listed here.
    fn step_sources() -> Vec<(std::path::PathBuf, String)> {
        let mut dirs = vec![std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("src")];
        let mut out = Vec::new();
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).unwrap() {
                let path = entry.unwrap().path();
                if path.is_dir() {
                    dirs.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    out.push((path.clone(), std::fs::read_to_string(&path).unwrap()));
                }
            }
        }
        out
    }

    fn queries_in_the_steps() -> Vec<(String, Vec<String>)> {
        let sources = step_sources();
        assert!(sources.len() > 30, "the steps' sources are found: {}", sources.len());
        let re = regex::Regex::new(r"SELECT ([A-Za-z_, {}]+?) FROM ([A-Za-z_{}]+)").unwrap();
        let mut out = Vec::new();
        for (_, text) in &sources {
            // Tests write queries of their own; the steps' queries are what comes before them.
            let text = text.split("#[cfg(test)]").next().unwrap();
            for c in re.captures_iter(text) {
                let object = c[2].to_string();
                if object.contains('{') {
                    continue;
                }
                let fields = c[1].split(',').map(str::trim).filter(|f| !f.contains('{')).map(str::to_string).collect();
                out.push((object, fields));
            }
        }
        out
    }

    #[test]
    fn every_query_in_the_steps_names_only_what_the_platform_has() {
        let queries = queries_in_the_steps();
        assert!(queries.len() >= 10, "the steps' queries are found: {queries:?}");
        for (object, fields) in &queries {
            let known = QUERYABLE.iter().find(|(o, ..)| o == object);
            let (_, documented, _) = known.unwrap_or_else(|| panic!("{object} is not in platform::QUERYABLE"));
            for f in fields {
                assert!(documented.contains(&f.as_str()), "{object}.{f} is not a documented field");
            }
        }
        // The admin-rights query is built from a list: its fields are the documented ones.
        let (_, access, _) = QUERYABLE.iter().find(|(o, ..)| *o == "UserPermissionAccess").unwrap();
        assert!(access.iter().all(|f| f.starts_with("Permissions")));
    }

    #[test]
    fn associated_objects_belong_to_their_parent() {
        assert_eq!(parent_of_associated("AccountShare").as_deref(), Some("Account"));
        assert_eq!(parent_of_associated("CaseHistory").as_deref(), Some("Case"));
        assert_eq!(parent_of_associated("Invoice__Share").as_deref(), Some("Invoice__c"));
        assert_eq!(parent_of_associated("OpportunityChangeEvent").as_deref(), Some("Opportunity"));
        assert_eq!(parent_of_associated("Account"), None);
        assert_eq!(parent_of_associated("Share"), None);
    }
}
