//! The permission matrix over real HTTP against the default org: persona x object x operation,
//! persona x field, persona x record. Every negative row asserts the exact status and errorCode and
//! that no data came back; positive rows stand beside them so a mock that refuses everything fails.

mod support;

use reqwest::Method;
use rstest::rstest;
use serde_json::{Value, json};
use support::*;

/// What a row expects: success with this status, or a denial with this status and code.
#[derive(Debug, Clone, Copy)]
enum Want {
    Ok(u16),
    Denied(u16, &'static str),
}

#[track_caller]
fn check(status: u16, body: &Value, want: Want) {
    match want {
        Want::Ok(s) => assert_eq!(status, s, "body: {body}"),
        Want::Denied(s, code) => assert_denied(status, body, s, code),
    }
}

// ---------------------------------------------------------------- persona x object x operation

#[rstest]
#[case::agent_reads_shared_account(AGENT, "Account", ACCOUNT_SHARED, Want::Ok(200))]
#[case::agent_reads_own_case(AGENT, "Case", CASE_AGENT, Want::Ok(200))]
#[case::agent_reads_peer_case(AGENT, "Case", CASE_PEER, Want::Ok(200))]
#[case::agent_reads_case_history(AGENT, "CaseHistory", HISTORY_CSR, Want::Ok(200))]
#[case::agent_no_opportunity_read(AGENT, "Opportunity", OPPORTUNITY, Want::Denied(404, "NOT_FOUND"))]
#[case::agent_unshared_account(AGENT, "Account", ACCOUNT_SALES, Want::Denied(404, "NOT_FOUND"))]
#[case::agent_unshared_case(AGENT, "Case", CASE_SALES, Want::Denied(404, "NOT_FOUND"))]
#[case::agent_unshared_history(AGENT, "CaseHistory", HISTORY_SALES, Want::Denied(404, "NOT_FOUND"))]
#[case::sales_reads_opportunity(SALES, "Opportunity", OPPORTUNITY, Want::Ok(200))]
#[case::sales_unshared_support_case(SALES, "Case", CASE_CSR, Want::Denied(404, "NOT_FOUND"))]
#[case::manager_reads_subordinate_case(MANAGER, "Case", CASE_CSR, Want::Ok(200))]
#[case::manager_not_sales_case(MANAGER, "Case", CASE_SALES, Want::Denied(404, "NOT_FOUND"))]
#[case::admin_reads_everything(ADMIN, "Case", CASE_SALES, Want::Ok(200))]
#[case::admin_reads_opportunity(ADMIN, "Opportunity", OPPORTUNITY, Want::Ok(200))]
#[case::noapi_user_refused(NOAPI, "Case", CASE_CSR, Want::Denied(403, "API_DISABLED_FOR_ORG"))]
#[case::frozen_user_refused(FROZEN, "Case", CASE_PEER, Want::Denied(401, "INVALID_SESSION_ID"))]
#[tokio::test]
async fn read_by_id(#[case] who: &str, #[case] object: &str, #[case] id: &str, #[case] want: Want) {
    let org = TestOrg::start().await;
    let (status, body) = org.get(who, &format!("/sobjects/{object}/{id}")).await;
    check(status, &body, want);
    if let Want::Ok(_) = want {
        assert_eq!(body["Id"], id18(id), "the record asked for: {body}");
    }
}

#[rstest]
#[case::agent_queries_case(AGENT, "SELECT Id FROM Case", Want::Ok(200))]
#[case::agent_no_opportunity(AGENT, "SELECT Id FROM Opportunity", Want::Denied(400, "INVALID_TYPE"))]
#[case::agent_no_opportunity_count(AGENT, "SELECT COUNT() FROM Opportunity", Want::Denied(400, "INVALID_TYPE"))]
#[case::agent_no_audit_log(AGENT, "SELECT Id FROM ApiEvent", Want::Denied(400, "INVALID_TYPE"))]
#[case::agent_no_user_logins(AGENT, "SELECT Id FROM UserLogin", Want::Denied(400, "INVALID_TYPE"))]
#[case::sales_queries_opportunity(SALES, "SELECT Id FROM Opportunity", Want::Ok(200))]
#[case::admin_queries_audit_log(ADMIN, "SELECT Id FROM ApiEvent", Want::Ok(200))]
#[case::unknown_object(ADMIN, "SELECT Id FROM Nope__c", Want::Denied(400, "INVALID_TYPE"))]
#[tokio::test]
async fn query_by_object(#[case] who: &str, #[case] soql: &str, #[case] want: Want) {
    let org = TestOrg::start().await;
    let (status, body) = org.query(who, soql).await;
    check(status, &body, want);
}

#[rstest]
#[case::agent_describes_case(AGENT, "Case", Want::Ok(200))]
#[case::agent_cannot_describe_opportunity(AGENT, "Opportunity", Want::Denied(404, "NOT_FOUND"))]
#[case::sales_describes_opportunity(SALES, "Opportunity", Want::Ok(200))]
#[tokio::test]
async fn describe_by_object(#[case] who: &str, #[case] object: &str, #[case] want: Want) {
    let org = TestOrg::start().await;
    let (status, body) = org.get(who, &format!("/sobjects/{object}/describe")).await;
    check(status, &body, want);
}

#[tokio::test]
async fn describe_global_lists_only_readable_objects() {
    let org = TestOrg::start().await;
    let names = |body: &Value| -> Vec<String> {
        body["sobjects"].as_array().unwrap().iter().map(|o| o["name"].as_str().unwrap().to_string()).collect()
    };
    let (s, agent) = org.get(AGENT, "/sobjects").await;
    assert_eq!(s, 200);
    assert_eq!(
        names(&agent),
        // LoginHistory: every user reads their own rows (Object Reference, API 37.0 and later).
        [
            "User",
            "Profile",
            "LoginHistory",
            "UserPermissionAccess",
            "UserRecordAccess",
            "Account",
            "Case",
            "CaseHistory",
            "Contact"
        ]
    );
    let (s, admin) = org.get(ADMIN, "/sobjects").await;
    assert_eq!(s, 200);
    assert!(names(&admin).contains(&"Opportunity".to_string()) && names(&admin).contains(&"ApiEvent".to_string()));
}

/// Writes: each denial leaves the org unchanged, checked by an admin read-back.
#[rstest]
#[case::agent_cannot_create_case(AGENT, Method::POST, "Case", None, Some(json!({"Subject": "agent-made"})), Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY"))]
#[case::agent_cannot_edit_shared_case(AGENT, Method::PATCH, "Case", Some(CASE_CSR), Some(json!({"Status": "Closed"})), Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY"))]
#[case::agent_cannot_edit_own_case(AGENT, Method::PATCH, "Case", Some(CASE_AGENT), Some(json!({"Status": "Closed"})), Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY"))]
#[case::agent_cannot_delete_own_case(
    AGENT,
    Method::DELETE,
    "Case",
    Some(CASE_AGENT),
    None,
    Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY")
)]
#[case::agent_cannot_edit_unshared_case(AGENT, Method::PATCH, "Case", Some(CASE_SALES), Some(json!({"Status": "Closed"})), Want::Denied(404, "NOT_FOUND"))]
#[case::agent_cannot_create_opportunity(AGENT, Method::POST, "Opportunity", None, Some(json!({"Name": "x"})), Want::Denied(404, "NOT_FOUND"))]
#[case::csr_creates_case(CSR, Method::POST, "Case", None, Some(json!({"Subject": "csr-made", "AccountId": ACCOUNT_SHARED})), Want::Ok(201))]
#[case::csr_edits_own_case(CSR, Method::PATCH, "Case", Some(CASE_CSR), Some(json!({"Status": "Closed"})), Want::Ok(204))]
#[case::csr_cannot_edit_read_shared_case(CSR, Method::PATCH, "Case", Some(CASE_PEER), Some(json!({"Status": "Closed"})), Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY"))]
#[case::csr_cannot_delete_without_permission(
    CSR,
    Method::DELETE,
    "Account",
    Some(ACCOUNT_SHARED),
    None,
    Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY")
)]
#[case::csr_deletes_own_contact(CSR, Method::DELETE, "Contact", Some(CONTACT_SHARED), None, Want::Ok(204))]
#[case::manager_edits_subordinate_case(MANAGER, Method::PATCH, "Case", Some(CASE_CSR), Some(json!({"Status": "Closed"})), Want::Ok(204))]
#[case::manager_cannot_delete_peer_account(
    MANAGER,
    Method::DELETE,
    "Account",
    Some(ACCOUNT_SHARED),
    None,
    Want::Denied(400, "INSUFFICIENT_ACCESS_OR_READONLY")
)]
#[case::admin_deletes_any_case(ADMIN, Method::DELETE, "Case", Some(CASE_SALES), None, Want::Ok(204))]
#[case::csr_cannot_create_for_hidden_account(CSR, Method::POST, "Case", None, Some(json!({"Subject": "x", "AccountId": ACCOUNT_SALES})), Want::Denied(400, "INVALID_CROSS_REFERENCE_KEY"))]
#[tokio::test]
async fn writes(
    #[case] who: &str,
    #[case] method: Method,
    #[case] object: &str,
    #[case] id: Option<&str>,
    #[case] body: Option<Value>,
    #[case] want: Want,
) {
    let org = TestOrg::start().await;
    let count_soql = format!("SELECT COUNT() FROM {object}");
    let (_, before_count) = org.query(ADMIN, &count_soql).await;
    let path = match id {
        Some(id) => format!("/sobjects/{object}/{id}"),
        None => format!("/sobjects/{object}"),
    };
    let before = match id {
        Some(_) => Some(org.get(ADMIN, &path).await.1),
        None => None,
    };
    let (status, resp) = org.send(method.clone(), who, &path, body).await;
    check(status, &resp, want);
    let (_, after_count) = org.query(ADMIN, &count_soql).await;
    match (want, &method) {
        (Want::Denied(..), _) => {
            assert_eq!(after_count["totalSize"], before_count["totalSize"], "no record created or deleted");
            if let Some(before) = before {
                assert_eq!(org.get(ADMIN, &path).await.1, before, "the record is unchanged");
            }
        }
        (Want::Ok(_), &Method::POST) => {
            assert_eq!(resp["success"], true);
            let new_id = resp["id"].as_str().expect("an id");
            let (s, rec) = org.get(ADMIN, &format!("/sobjects/{object}/{new_id}")).await;
            assert_eq!(s, 200, "{rec}");
            assert_eq!(rec["OwnerId"], org.running.state.org.user_by_username(who).unwrap().id);
        }
        (Want::Ok(_), &Method::DELETE) => {
            assert_eq!(org.get(ADMIN, &path).await.0, 404, "deleted");
        }
        (Want::Ok(_), _) => {
            assert_eq!(org.get(ADMIN, &path).await.1["Status"], "Closed", "updated");
        }
    }
}

// ---------------------------------------------------------------- persona x field

#[rstest]
#[case::agent_reads_phone(AGENT, "SELECT Id, Phone FROM Account", Want::Ok(200))]
#[case::agent_billing_street_hidden(AGENT, "SELECT Id, BillingStreet FROM Account", Want::Denied(400, "INVALID_FIELD"))]
#[case::agent_payment_hidden(AGENT, "SELECT Id, PaymentMethod__c FROM Account", Want::Denied(400, "INVALID_FIELD"))]
#[case::agent_tier_hidden(AGENT, "SELECT Id, InternalTier__c FROM Account", Want::Denied(400, "INVALID_FIELD"))]
#[case::agent_internal_notes_hidden(AGENT, "SELECT Id, InternalNotes__c FROM Case", Want::Denied(400, "INVALID_FIELD"))]
#[case::agent_hidden_field_in_where(
    AGENT,
    "SELECT Id FROM Case WHERE InternalNotes__c LIKE 'CANARY%'",
    Want::Denied(400, "INVALID_FIELD")
)]
#[case::agent_hidden_field_in_order_by(
    AGENT,
    "SELECT Id FROM Account ORDER BY BillingStreet",
    Want::Denied(400, "INVALID_FIELD")
)]
#[case::agent_user_mode_changes_nothing(
    AGENT,
    "SELECT Id, BillingStreet FROM Account WITH USER_MODE",
    Want::Denied(400, "INVALID_FIELD")
)]
#[case::agent_system_mode_clause_ignored_on_rest(
    AGENT,
    "SELECT Id, BillingStreet FROM Account WITH SYSTEM_MODE",
    Want::Denied(400, "INVALID_FIELD")
)]
#[case::csr_reads_internal_notes(CSR, "SELECT Id, InternalNotes__c FROM Case", Want::Ok(200))]
#[case::sales_billing_street_hidden(SALES, "SELECT Id, BillingStreet FROM Account", Want::Denied(400, "INVALID_FIELD"))]
#[case::admin_reads_payment(ADMIN, "SELECT Id, PaymentMethod__c FROM Account", Want::Ok(200))]
#[tokio::test]
async fn field_level_security_in_queries(#[case] who: &str, #[case] soql: &str, #[case] want: Want) {
    let org = TestOrg::start().await;
    let (status, body) = org.query(who, soql).await;
    check(status, &body, want);
}

#[tokio::test]
async fn hidden_fields_look_exactly_like_missing_ones() {
    let org = TestOrg::start().await;
    let (_, hidden) = org.query(AGENT, "SELECT Id, BillingStreet FROM Account").await;
    let (_, missing) = org.query(AGENT, "SELECT Id, NoSuchField FROM Account").await;
    let hidden = hidden.to_string().replace("BillingStreet", "X");
    let missing = missing.to_string().replace("NoSuchField", "X");
    assert_eq!(hidden, missing);
    let (s1, b1) = org.get(AGENT, &format!("/sobjects/Account/{ACCOUNT_SHARED}?fields=BillingStreet")).await;
    assert_denied(s1, &b1, 400, "INVALID_FIELD");
}

#[rstest]
#[case::agent(AGENT, &["Phone", "Industry"], &["BillingStreet", "PaymentMethod__c", "InternalTier__c", "BillingCity"])]
#[case::csr(CSR, &["Phone", "BillingStreet", "PaymentMethod__c"], &[])]
#[tokio::test]
async fn record_reads_omit_hidden_fields(#[case] who: &str, #[case] present: &[&str], #[case] absent: &[&str]) {
    let org = TestOrg::start().await;
    let (status, body) = org.get(who, &format!("/sobjects/Account/{ACCOUNT_SHARED}")).await;
    assert_eq!(status, 200, "{body}");
    for f in present {
        assert!(body.get(*f).is_some(), "{who} sees {f}: {body}");
    }
    for f in absent {
        assert!(body.get(*f).is_none(), "{who} must not see {f}: {body}");
    }
    let (_, describe) = org.get(who, "/sobjects/Account/describe").await;
    let names: Vec<&str> = describe["fields"].as_array().unwrap().iter().map(|f| f["name"].as_str().unwrap()).collect();
    for f in absent {
        assert!(!names.contains(f), "describe hides {f}");
    }
    for f in present {
        assert!(names.contains(f), "describe shows {f}");
    }
}

#[tokio::test]
async fn agent_sees_no_canary_anywhere_it_can_read() {
    let org = TestOrg::start().await;
    for soql in [
        "SELECT Id, Name, Industry, Phone FROM Account",
        "SELECT Id, FirstName, LastName, Email, AccountId FROM Contact",
        "SELECT Id, Subject, Status, Priority, Description FROM Case",
        "SELECT Id, Field, OldValue, NewValue FROM CaseHistory",
    ] {
        let (status, body) = org.query(AGENT, soql).await;
        assert_eq!(status, 200, "{soql}: {body}");
        assert!(!body["records"].as_array().unwrap().is_empty(), "{soql} returns the shared rows");
        assert!(!body.to_string().contains("CANARY-"), "{soql} leaks: {body}");
    }
    // The twin: the admin does see the canaries, so the check above can fail.
    let (_, admin) = org.query(ADMIN, "SELECT Id, Name, BillingStreet FROM Account").await;
    assert!(admin.to_string().contains("CANARY-"));
}

#[rstest]
#[case::csr_read_only_field(CSR, "Account", ACCOUNT_SHARED, "PaymentMethod__c", json!("VISA-0000"))]
#[case::csr_auto_number(CSR, "Case", CASE_CSR, "CaseNumber", json!("99999"))]
#[case::csr_created_date(CSR, "Case", CASE_CSR, "CreatedDate", json!("2020-01-01T00:00:00.000+0000"))]
#[case::admin_auto_number(ADMIN, "Case", CASE_CSR, "CaseNumber", json!("99999"))]
#[tokio::test]
async fn writes_to_read_only_fields_are_refused(
    #[case] who: &str,
    #[case] object: &str,
    #[case] id: &str,
    #[case] field: &str,
    #[case] value: Value,
) {
    let org = TestOrg::start().await;
    let path = format!("/sobjects/{object}/{id}");
    let before = org.get(ADMIN, &path).await.1;
    let (status, body) = org.send(Method::PATCH, who, &path, Some(json!({ field: value }))).await;
    assert_denied(status, &body, 400, "INVALID_FIELD_FOR_INSERT_UPDATE");
    assert_eq!(body[0]["fields"], json!([field]));
    assert_eq!(org.get(ADMIN, &path).await.1, before, "unchanged");
    // Twin: an editable field on the same record is accepted.
    let (s, b) = org.send(Method::PATCH, who, &path, Some(json!({"Phone": "+1 555 0101"}))).await;
    let expected = if object == "Account" { 204 } else { 400 };
    assert_eq!(s, expected, "{b}");
}

// ---------------------------------------------------------------- persona x record

#[rstest]
#[case::agent(AGENT, &[CASE_CSR, CASE_AGENT, CASE_PEER])]
#[case::csr(CSR, &[CASE_CSR, CASE_AGENT, CASE_PEER])]
#[case::manager(MANAGER, &[CASE_CSR, CASE_AGENT, CASE_PEER])]
#[case::sales(SALES, &[CASE_SALES])]
#[case::admin(ADMIN, &[CASE_CSR, CASE_AGENT, CASE_SALES, CASE_PEER])]
#[tokio::test]
async fn case_visibility(#[case] who: &str, #[case] visible: &[&str]) {
    let org = TestOrg::start().await;
    let got = org.ids(who, "SELECT Id FROM Case ORDER BY Id").await;
    let want: Vec<String> = visible.iter().map(|i| id18(i)).collect();
    assert_eq!(got, want);
}

#[rstest]
#[case::agent(AGENT, &[HISTORY_CSR])]
#[case::sales_without_object_access(SALES, &[])]
#[case::admin(ADMIN, &[HISTORY_CSR, HISTORY_SALES])]
#[tokio::test]
async fn history_follows_its_parent_case(#[case] who: &str, #[case] visible: &[&str]) {
    let org = TestOrg::start().await;
    let (status, body) = org.query(who, "SELECT Id FROM CaseHistory").await;
    if visible.is_empty() {
        assert_denied(status, &body, 400, "INVALID_TYPE");
        return;
    }
    let got: Vec<String> =
        body["records"].as_array().unwrap().iter().map(|r| r["Id"].as_str().unwrap().to_string()).collect();
    assert_eq!(got, visible.iter().map(|i| id18(i)).collect::<Vec<_>>());
}

#[tokio::test]
async fn unshared_records_are_absent_from_filtered_queries() {
    let org = TestOrg::start().await;
    let soql = format!("SELECT Id, Name FROM Account WHERE Id = '{ACCOUNT_SALES}'");
    let (status, body) = org.query(AGENT, &soql).await;
    assert_eq!(status, 200);
    assert_eq!(body["totalSize"], 0, "{body}");
    assert_eq!(org.ids(SALES, &soql).await, vec![id18(ACCOUNT_SALES)], "twin: the owner finds it");
}
