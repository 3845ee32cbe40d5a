# Restricted users are denied through every MCP tool too (checklist item C4): the same rules as
# on REST, now as tool results (`isError` with the Salesforce error), never data.
@C4 @mcp @salesforce-security
Feature: Restricted personas are denied through MCP tools

  @HG-PERM-01 @MUST
  Scenario: HG-PERM-01 through MCP: no tool reads an object without Read permission
    When agent calls soqlQuery on the reads MCP server with '{"query": "SELECT Id, Name FROM Opportunity"}'
    Then the tool result is an error with INVALID_TYPE
    When agent calls getObjectSchema on the reads MCP server with '{"objectName": "Opportunity"}'
    Then the tool result is an error with NOT_FOUND

  @HG-PERM-01 @MUST @positive
  Scenario: HG-PERM-01 through MCP, twin: the agent queries the objects on its action list
    When agent calls soqlQuery on the reads MCP server with '{"query": "SELECT Id, Subject FROM Case"}'
    Then the tool result succeeds

  @HG-PERM-02 @MUST
  Scenario: HG-PERM-02 through MCP: a field hidden by field-level security never shows
    When agent calls soqlQuery on the reads MCP server with '{"query": "SELECT Id, BillingStreet FROM Account"}'
    Then the tool result is an error with INVALID_FIELD
    When agent calls getRecord on the reads MCP server with '{"objectName": "Account", "recordId": "@shared-account"}'
    Then the tool result succeeds
    And the tool result has no BillingStreet field
    And no seeded sensitive value is in the answer

  @HG-PERM-03 @MUST
  Scenario: HG-PERM-03 through MCP: a record not shared with the agent is never returned
    When agent calls getRecord on the reads MCP server with '{"objectName": "Case", "recordId": "@unshared-case"}'
    Then the tool result is an error with NOT_FOUND
    When agent calls listRecentSobjectRecords on the reads MCP server with '{"objectName": "Case"}'
    Then the tool result succeeds
    And the tool result does not list the "unshared-case" record
    When agent calls getCaseHealthSummary on the custom MCP server with '{"caseId": "@unshared-case"}'
    Then the tool result is an error with NOT_FOUND

  @HG-PERM-03 @MUST @positive
  Scenario: HG-PERM-03 through MCP, twin: the custom tool summarises a shared case
    When agent calls getCaseHealthSummary on the custom MCP server with '{"caseId": "@shared-case"}'
    Then the tool result succeeds

  @HG-PERM-06 @MUST
  Scenario: HG-PERM-06 through MCP: a user without API Enabled gets no tool result
    When noapi calls getUserInfo on the reads MCP server with '{}'
    Then the tool result is an error with API_DISABLED_FOR_ORG

  @HG-PERM-06 @MUST @positive
  Scenario: HG-PERM-06 through MCP, twin: the agent's call is served
    When agent calls getUserInfo on the reads MCP server with '{}'
    Then the tool result succeeds
