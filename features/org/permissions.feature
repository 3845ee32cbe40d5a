# Restricted users are denied (checklist item C4), on the org's REST data API.
# Every denial asserts the exact status and errorCode and that no data came back, after the admin
# has shown that what is denied exists and holds a value; each has a positive twin in which the same persona does what it may, so a target that refuses everything
# fails. Scenarios that write are @serial: they must not race the read-backs of others.
# The MCP side of these controls joins when the MCP servers land.
@C4 @org @salesforce-security
Feature: Restricted personas are denied what their permissions do not grant

  @HG-PERM-01 @MUST
  Scenario: HG-PERM-01 the agent cannot read an object it has no Read permission on
    Given the admin can read the Opportunity record "opportunity"
    And agent has signed in through the agent's app
    When agent reads the Opportunity record "opportunity"
    Then the call is denied with 404 NOT_FOUND
    When agent queries "SELECT Id, Name FROM Opportunity"
    Then the call is denied with 400 INVALID_TYPE
    When agent describes Opportunity
    Then the call is denied with 404 NOT_FOUND

  @HG-PERM-01 @MUST @positive
  Scenario: HG-PERM-01 twin: the agent reads the objects on its action list
    Given agent has signed in through the agent's app
    When agent reads the Case record "shared-case"
    Then the call succeeds with 200
    When agent queries "SELECT Id, Subject FROM Case"
    Then the call succeeds with 200
    And the answer lists the "shared-case" record

  # The fields are the target's (`[[hidden_fields]]`: a record and a field the admin sees a value
  # in); for each, a query naming it is refused with 400 INVALID_FIELD, a read of its record
  # succeeds without it and without any seeded value, and the describe does not list it.
  @HG-PERM-02 @MUST
  Scenario: HG-PERM-02 the agent cannot see a field hidden by field-level security, in a query, a read or a describe
    Given agent has signed in through the agent's app
    Then agent sees none of the fields hidden from the agent on REST

  @HG-PERM-02 @MUST @positive
  Scenario: HG-PERM-02 twin: the admin reads every one of those fields on its record
    Then admin sees every field hidden from the agent on REST

  @HG-PERM-03 @MUST
  Scenario Outline: HG-PERM-03 the agent never sees a record that is not shared with it (<record>)
    Given the admin can read the <object> record "<record>"
    And agent has signed in through the agent's app
    When agent reads the <object> record "<record>"
    Then the call is denied with 404 NOT_FOUND
    When agent queries "SELECT Id FROM <object>"
    Then the call succeeds with 200
    And the answer does not list the "<record>" record
    And no seeded sensitive value is in the answer

    Examples:
      | object      | record           |
      | Account     | unshared-account |
      | Case        | unshared-case    |
      | CaseHistory | unshared-history |

  @HG-PERM-03 @MUST @positive
  Scenario: HG-PERM-03 twin: the owner sees its own records
    Given sales has signed in through the agent's app
    When sales queries "SELECT Id FROM Case"
    Then the call succeeds with 200
    And the answer lists the "unshared-case" record

  @HG-PERM-04 @MUST @serial
  Scenario: HG-PERM-04 the read-only agent cannot create, edit or delete
    Given agent has signed in through the agent's app
    When agent updates the Case record "own-case" with '{"Status": "Closed"}'
    Then the call is denied with 400 INSUFFICIENT_ACCESS_OR_READONLY
    And the admin reads the org back unchanged
    When agent deletes the Case record "own-case"
    Then the call is denied with 400 INSUFFICIENT_ACCESS_OR_READONLY
    And the admin reads the org back unchanged
    When agent creates a Case with '{"Subject": "made by the agent"}'
    Then the call is denied with 400 INSUFFICIENT_ACCESS_OR_READONLY
    And the admin reads the org back unchanged

  @HG-PERM-04 @MUST @positive @serial
  Scenario: HG-PERM-04 twin: the service user edits its own case
    Given csr has signed in through the agent's app
    When csr updates the Case record "shared-case" with '{"Status": "Escalated"}'
    Then the call succeeds with 204

  @HG-PERM-05 @MUST @serial
  Scenario: HG-PERM-05 a read-only field cannot be written
    Given csr has signed in through the agent's app
    When csr updates the Account record "shared-account" with '{"PaymentMethod__c": "VISA-0000"}'
    Then the call is denied with 400 INVALID_FIELD_FOR_INSERT_UPDATE
    And the error names the field PaymentMethod__c
    And the admin reads the org back unchanged

  @HG-PERM-05 @MUST @positive @serial
  Scenario: HG-PERM-05 twin: an editable field on the same record is written
    Given csr has signed in through the agent's app
    When csr updates the Account record "shared-account" with '{"Phone": "+1 555 0123"}'
    Then the call succeeds with 204

  @HG-PERM-06 @MUST
  Scenario: HG-PERM-06 a user without API Enabled is refused by the API
    Given the admin can read the Case record "shared-case"
    And noapi has signed in through the agent's app
    When noapi reads the Case record "shared-case"
    Then the call is denied with 403 API_DISABLED_FOR_ORG

  @HG-PERM-06 @MUST @positive
  Scenario: HG-PERM-06 twin: a user with API Enabled gets through
    Given agent has signed in through the agent's app
    When agent reads the Case record "peer-case"
    Then the call succeeds with 200

  @HG-PERM-07 @MUST
  Scenario: HG-PERM-07 a user not pre-authorized for the agent's app gets no token
    Then manager obtains no authorization code
    And the sign-in ends at the callback with error OAUTH_APP_ACCESS_DENIED

  @HG-PERM-07 @MUST @positive
  Scenario: HG-PERM-07 twin: a pre-authorized user signs in
    Given agent has signed in through the agent's app
    When agent reads the Case record "own-case"
    Then the call succeeds with 200
