# Restricted users are denied through every MCP tool too (checklist item C4): the same rules as
# on REST, now as tool results (`isError` with the Salesforce error), never data, each after the
# admin has shown that what is denied exists. The rows say what a call does; the target's tool map
# (`mcp_tools`, the platform's SObject tools by default) names the tool and its arguments.
@C4 @mcp @salesforce-security
Feature: Restricted personas are denied through MCP tools

  @HG-PERM-01 @MUST
  Scenario: HG-PERM-01 through MCP: no tool reads an object without Read permission
    Given the admin can read the Opportunity record "opportunity"
    When agent queries "SELECT Id, Name FROM Opportunity" through the reads MCP server
    Then the tool result is an error with INVALID_TYPE
    When agent describes Opportunity through the reads MCP server
    Then the tool result is an error with NOT_FOUND

  @HG-PERM-01 @MUST @positive
  Scenario: HG-PERM-01 through MCP, twin: the agent queries the objects on its action list
    When agent queries "SELECT Id, Subject FROM Case" through the reads MCP server
    Then the tool result succeeds

  @HG-PERM-02 @MUST
  Scenario: HG-PERM-02 through MCP: a field hidden by field-level security never shows
    Then agent sees none of the fields hidden from the agent through the reads MCP server

  @HG-PERM-03 @MUST
  Scenario: HG-PERM-03 through MCP: a record not shared with the agent is never returned
    Given the admin can read the Case record "unshared-case"
    When agent reads the Case record "unshared-case" through the reads MCP server
    Then the tool result is an error with NOT_FOUND
    When agent queries "SELECT Id, Subject FROM Case" through the reads MCP server
    Then the tool result succeeds
    And the tool result does not list the "unshared-case" record
    When agent lists the recent Case records through the reads MCP server
    Then the tool result succeeds
    And the tool result does not list the "unshared-case" record
    When agent runs the record action on the record "unshared-case"
    Then the tool result is an error with NOT_FOUND

  @HG-PERM-03 @MUST @positive
  Scenario: HG-PERM-03 through MCP, twin: the record action serves a shared case, and the query lists it
    When agent runs the record action on the record "shared-case"
    Then the tool result succeeds
    When agent queries "SELECT Id, Subject FROM Case" through the reads MCP server
    Then the tool result succeeds
    And the tool result lists the "shared-case" record

  @HG-PERM-06 @MUST
  Scenario: HG-PERM-06 through MCP: a user without API Enabled gets no tool result
    When noapi calls the identity tool on the reads MCP server
    Then the tool result is an error with API_DISABLED_FOR_ORG

  @HG-PERM-06 @MUST @positive
  Scenario: HG-PERM-06 through MCP, twin: the agent's call is served
    When agent calls the identity tool on the reads MCP server
    Then the tool result succeeds

  # Writes go to the server with the write tools (`all`), which the agent's rollout does not use:
  # what is checked is that the org refuses the write, whatever server offers the tool.
  @HG-PERM-04 @MUST @serial @mcp-writes
  Scenario: HG-PERM-04 through MCP: the read-only agent's write tool calls change nothing
    Given the admin has read the Case record "own-case"
    When agent updates the Case record "own-case" with '{"Status": "Closed"}' through the all MCP server
    Then the tool result is an error with INSUFFICIENT_ACCESS_OR_READONLY
    And the admin reads the org back unchanged
    When agent deletes the Case record "own-case" through the all MCP server
    Then the tool result is an error with INSUFFICIENT_ACCESS_OR_READONLY
    And the admin reads the org back unchanged
    Given the admin has listed the Case records
    When agent creates a Case with '{"Subject": "made by the agent"}' through the all MCP server
    Then the tool result is an error with INSUFFICIENT_ACCESS_OR_READONLY
    And the admin reads the org back unchanged

  @HG-PERM-04 @MUST @positive @serial @mcp-writes
  Scenario: HG-PERM-04 through MCP, twin: the service user's update tool call is written
    Given the admin has read the Case record "shared-case"
    When csr updates the Case record "shared-case" with '{"Priority": "Low"}' through the all MCP server
    Then the tool result succeeds
    And the admin reads the Case record "shared-case" with Priority "Low"

  @HG-PERM-05 @MUST @serial @mcp-writes
  Scenario: HG-PERM-05 through MCP: a read-only field is not written by a tool
    Given the admin has read the Account record "shared-account"
    When csr updates the Account record "shared-account" with '{"PaymentMethod__c": "VISA-0000"}' through the all MCP server
    Then the tool result is an error with INVALID_FIELD_FOR_INSERT_UPDATE
    And the tool error names the field PaymentMethod__c
    And the admin reads the org back unchanged

  @HG-PERM-05 @MUST @positive @serial @mcp-writes
  Scenario: HG-PERM-05 through MCP, twin: an editable field on the same record is written by the tool
    Given the admin has read the Account record "shared-account"
    When csr updates the Account record "shared-account" with '{"Phone": "+1 555 0177"}' through the all MCP server
    Then the tool result succeeds
    And the admin reads the Account record "shared-account" with Phone "+1 555 0177"
