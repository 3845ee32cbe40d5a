# Restricted users are denied through every door to a record, not only tools (checklist item C4):
# a resource template, a resource listed by its own URI, a prompt that embeds a record, and
# completion of a record id (the prompt's argument and the template's variable). Each denial
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

  # A resource listed by its own URI: the admin's listing names the record; the agent reads that
  # URI whatever its own listing shows.
  @HG-DOOR-01 @MUST
  Scenario: HG-DOOR-01 a record not shared with the agent is not read through a resource listed by its URI
    Given the admin reads the Case record "unshared-case" through the listed-resource door of the reads MCP server
    When agent asks for the record "unshared-case" through the listed-resource door of the reads MCP server
    Then the listed-resource door is refused or carries none of the proven values

  @HG-DOOR-01 @MUST @positive
  Scenario: HG-DOOR-01 twin: the agent reads a case shared with it through a resource listed by its URI
    Given the admin reads the Case record "shared-case" through the listed-resource door of the reads MCP server
    When agent asks for the record "shared-case" through the listed-resource door of the reads MCP server
    Then the listed-resource door carries the proven record

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

  # Completion of the resource template's recordId (`ref/resource`), besides the prompt's.
  @HG-DOOR-02 @MUST
  Scenario: HG-DOOR-02 completions of the record template never suggest a record not shared with the agent
    Given the admin reads the Case record "unshared-case" through the resource-completion door of the reads MCP server
    When agent asks for the record "unshared-case" through the resource-completion door of the reads MCP server
    Then the resource-completion door is refused or carries none of the proven values

  @HG-DOOR-02 @MUST @positive
  Scenario: HG-DOOR-02 twin: completions of the record template suggest a case shared with the agent
    Given the admin reads the Case record "shared-case" through the resource-completion door of the reads MCP server
    When agent asks for the record "shared-case" through the resource-completion door of the reads MCP server
    Then the resource-completion door carries the proven record
