# Restricted users are denied through every door to a record, not only tools (checklist item C4):
# a resource template, a prompt that embeds a record, and completion of a record id. Each denial
# follows the admin's read of the same record through the same door, which shows the values a
# leak would carry; the restricted answer is refused or carries none of them, and no canary.
@C4 @mcp @salesforce-security
Feature: Restricted personas are denied through resources, prompts and completions

  @HG-DOOR-01 @MUST
  Scenario: HG-DOOR-01 a record not shared with the agent is not read as a resource
    Given the admin reads the Case record "unshared-case" through the resource door of the reads MCP server
    When agent asks for the record "unshared-case" through the resource door of the reads MCP server
    Then the resource door is refused or carries none of the proven values

  @HG-DOOR-01 @MUST
  Scenario: HG-DOOR-01 an object without Read permission is not read as a resource
    Given the admin reads the Opportunity record "opportunity" through the resource door of the reads MCP server
    When agent asks for the record "opportunity" through the resource door of the reads MCP server
    Then the resource door is refused or carries none of the proven values

  @HG-DOOR-01 @MUST
  Scenario: HG-DOOR-01 a field hidden by field-level security is not read as a resource
    Given the admin sees the BillingStreet field of the Account record "shared-account" through the resource door of the reads MCP server
    When agent asks for the record "shared-account" through the resource door of the reads MCP server
    Then the resource door is refused or carries none of the proven values

  @HG-DOOR-01 @MUST @positive
  Scenario: HG-DOOR-01 twin: the agent reads a case shared with it as a resource
    Given the admin reads the Case record "shared-case" through the resource door of the reads MCP server
    When agent asks for the record "shared-case" through the resource door of the reads MCP server
    Then the resource door carries the proven record

  @HG-DOOR-02 @MUST
  Scenario: HG-DOOR-02 a prompt naming a record not shared with the agent embeds none of it
    Given the admin reads the Case record "unshared-case" through the prompt door of the reads MCP server
    When agent asks for the record "unshared-case" through the prompt door of the reads MCP server
    Then the prompt door is refused or carries none of the proven values

  @HG-DOOR-02 @MUST
  Scenario: HG-DOOR-02 completions never suggest a record not shared with the agent
    Given the admin reads the Case record "unshared-case" through the completion door of the reads MCP server
    When agent asks for the record "unshared-case" through the completion door of the reads MCP server
    Then the completion door is refused or carries none of the proven values

  @HG-DOOR-02 @MUST @positive
  Scenario: HG-DOOR-02 twin: the prompt embeds a case shared with the agent
    Given the admin reads the Case record "shared-case" through the prompt door of the reads MCP server
    When agent asks for the record "shared-case" through the prompt door of the reads MCP server
    Then the prompt door carries the proven record

  @HG-DOOR-02 @MUST @positive
  Scenario: HG-DOOR-02 twin: completions suggest a case shared with the agent
    Given the admin reads the Case record "shared-case" through the completion door of the reads MCP server
    When agent asks for the record "shared-case" through the completion door of the reads MCP server
    Then the completion door carries the proven record
