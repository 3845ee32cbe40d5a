//! A bad org file is refused with an error that names the file, the key and the value.

use mock_org::Org;
use rstest::rstest;

const DEFAULT: &str = include_str!("../mock-org/orgs/default.toml");

fn mutate(from: &str, to: &str) -> String {
    assert!(DEFAULT.contains(from), "the fixture contains {from:?}");
    DEFAULT.replacen(from, to, 1)
}

#[rstest]
#[case::unknown_permission_set(
    r#"permissionSets = ["Headless_Service_Agent_Access", "Headless_Agent_App_Access"]"#,
    r#"permissionSets = ["Nope_Set"]"#,
    "users[1].permissionSets",
    "'Nope_Set' is not a declared permission set"
)]
#[case::unknown_profile(
    r#"profile = "Custom: Sales Profile""#,
    r#"profile = "Ghost""#,
    "users[4].profile",
    "'Ghost' is not a declared profile"
)]
#[case::unknown_role(r#"role = "SalesRep""#, r#"role = "Ghost""#, "users[4].role", "'Ghost' is not a declared role")]
#[case::unknown_field_in_record(
    r#"Industry = "Manufacturing", Phone"#,
    r#"Industri = "Manufacturing", Phone"#,
    "records[0].fields.Industri",
    "'Industri' is not a field of Account"
)]
#[case::wrong_value_type(
    r#"Amount = 250000.0"#,
    r#"Amount = "lots""#,
    "records[8].fields.Amount",
    "is not a double value"
)]
#[case::bad_picklist_value(
    r#"InternalTier__c = "Watchlist""#,
    r#"InternalTier__c = "Platinum""#,
    "records[0].fields.InternalTier__c",
    "is not one of the picklist values"
)]
#[case::unknown_owner(
    r#"owner = "sales.rep@acme.test"
fields = { Name = "CANARY-UNSHARED-ACCOUNT"#,
    r#"owner = "nobody@acme.test"
fields = { Name = "CANARY-UNSHARED-ACCOUNT"#,
    "records[5].owner",
    "'nobody@acme.test' is not a declared user"
)]
#[case::id_of_wrong_object(
    r#"id = "001000000000002""#,
    r#"id = "500000000000009""#,
    "records[5].id",
    "is not a Account id"
)]
#[case::dangling_reference(
    r#"CaseId = "500000000000003""#,
    r#"CaseId = "500000000000999""#,
    "records[7].fields.CaseId",
    "is not a declared Case record"
)]
#[case::unknown_field_permission(
    r#"{ field = "Account.Phone", readable = true },
  { field = "Contact.FirstName", readable = true },"#,
    r#"{ field = "Account.Fone", readable = true },
  { field = "Contact.FirstName", readable = true },"#,
    "permissionSets[0].fieldPermissions[1].field",
    "'Fone' is not a field of Account"
)]
#[case::unknown_object_permission(
    r#"{ object = "CaseHistory", allowRead = true },
]
fieldPermissions = [
  { field = "Account.Industry", readable = true },"#,
    r#"{ object = "CaseHistori", allowRead = true },
]
fieldPermissions = [
  { field = "Account.Industry", readable = true },"#,
    "permissionSets[0].objectPermissions[3].object",
    "'CaseHistori' is not a declared object"
)]
#[case::unknown_user_permission(
    "name = \"Custom: Support Profile\"\nuserPermissions = [\"ApiEnabled\"]",
    "name = \"Custom: Support Profile\"\nuserPermissions = [\"ApiEnabledd\"]",
    "profiles[2].userPermissions",
    "'ApiEnabledd' is not a known user permission"
)]
#[case::bad_sharing_model(
    r#"sharingModel = "Private"
historyTrackedFields = ["Name", "Phone"]"#,
    r#"sharingModel = "Public"
historyTrackedFields = ["Name", "Phone"]"#,
    "objects.Account.sharingModel",
    "'Public' is not one of"
)]
#[case::role_cycle(
    r#"name = "CEO""#,
    r#"name = "CEO"
parentRole = "SalesRep""#,
    "roles[0].parentRole",
    "cycle"
)]
#[case::unknown_scope(
    r#"scopes = ["mcp_api", "refresh_token"]"#,
    r#"scopes = ["mcp_api", "everything"]"#,
    "externalClientApps[0].scopes",
    "'everything' is not a known OAuth scope"
)]
#[case::unknown_standard_tool(
    r#"standardTools = ["getUserInfo","#,
    r#"standardTools = ["getEverything","#,
    "mcpServers[0].standardTools",
    "'getEverything' is not a standard SObject tool"
)]
#[case::unknown_key(r#"[settings]"#, "[settings]\nblockEverything = true", "blockEverything", "unknown field")]
#[case::missing_required_field(
    r#"fields = { CaseNumber = "00001002", Subject = "Password reset loop", "#,
    r#"fields = { CaseNumber = "00001002", "#,
    "records[4].fields",
    "required field 'Subject' is missing"
)]
#[case::bad_api_version(
    r#"maxApiVersion = "66.0""#,
    r#"maxApiVersion = "latest""#,
    "org.maxApiVersion",
    "'latest' is not an API version"
)]
#[case::unknown_fault(
    "[org]\n",
    "faults = [\"password-grant\", \"open-sesame\"]\n\n[org]\n",
    "faults[1]",
    "unknown fault 'open-sesame'; known: password-grant,"
)]
#[case::zero_rate_limit(
    "perUserRequestsPerMinute = 500",
    "perUserRequestsPerMinute = 0",
    "settings.perUserRequestsPerMinute",
    "must be at least 1"
)]
fn bad_org_files_name_the_key(#[case] from: &str, #[case] to: &str, #[case] key: &str, #[case] problem: &str) {
    let err = Org::parse("org.toml", &mutate(from, to)).expect_err("the mutated file is refused");
    assert_eq!(err.file, "org.toml");
    assert_eq!(err.key, key, "{err}");
    assert!(err.problem.contains(problem), "{err}");
    assert!(err.to_string().starts_with(&format!("org.toml: {key}: ")), "{err}");
}

#[test]
fn the_default_fixture_is_valid_and_load_reads_files() {
    let org =
        Org::load(std::path::Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/mock-org/orgs/default.toml"))).unwrap();
    assert_eq!(org.users.len(), 7);
    let missing = Org::load(std::path::Path::new("/nonexistent/org.toml")).unwrap_err();
    assert_eq!(missing.key, "(file)");
    assert!(missing.problem.starts_with("cannot read"), "{missing}");
}

#[test]
fn passwords_in_the_org_file_stay_out_of_errors() {
    let err = Org::parse("org.toml", &mutate(r#"role = "SalesRep""#, r#"role = "Ghost""#)).unwrap_err();
    assert!(!err.to_string().contains("Passw0rd"), "{err}");
}

#[test]
fn faults_named_in_the_org_file_are_switched_on_and_rewrite_the_org() {
    let org =
        Org::parse("org.toml", &mutate("[org]\n", "faults = [\"legacy-org\", \"agent-view-all-data\"]\n\n[org]\n"))
            .expect("a valid org file with faults");
    let mut names = org.faults.names();
    names.sort();
    assert_eq!(
        names,
        [
            "agent-view-all-data",
            "long-lived-tokens",
            "password-grant",
            "pkce-optional",
            "redirect-prefix",
            "refresh-not-rotated"
        ]
    );
    assert!(org.apps.iter().all(|a| a.access_token_lifetime_minutes == 24 * 60));
    let agent_set = &org.permission_sets[&org.apps[0].permission_sets[0]];
    assert!(agent_set.user_permissions.contains("ViewAllData"));
    assert!(Org::default_fixture().faults.is_empty(), "the clean fixture has no fault");
}
