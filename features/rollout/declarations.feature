# What the rollout declares, held against the target (checklist items C1, C2, C3, C6).
@rollout
Feature: The rollout is declared and the target matches the declaration

  @HG-DECL-01 @C1 @MUST
  Scenario: HG-DECL-01 the use case and its justification are declared
    Then the rollout declares its use case and its justification

  @HG-DECL-02 @C3 @MUST
  Scenario: HG-DECL-02 the agent's External Client App is dedicated to it
    Then the agent's app lists exactly its callbacks and declared scopes, and no other integration uses it

  @HG-DECL-02 @C3 @MUST @positive
  Scenario: HG-DECL-02 twin: the org's metadata describes the agent's app
    Then the org's metadata names the agent's app with its callbacks and scopes

  @HG-CAT-01 @C2 @MUST
  Scenario: HG-CAT-01 every tool the agent can list is on the declared allowlist
    When agent lists the tools of every MCP server
    Then every listed tool is on the declared allowlist

  @HG-CAT-01 @C2 @MUST @positive
  Scenario: HG-CAT-01 twin: the agent lists allowlisted tools
    When agent lists the tools of every MCP server
    Then the agent can list at least one allowlisted tool

  @HG-CAT-02 @C6 @MUST
  Scenario: HG-CAT-02 tools with side effects are marked, approval-required, and absent in a read-only phase
    When agent lists the tools of every MCP server
    Then every tool with side effects is marked and listed as approval-required

  @HG-DECL-03 @C6 @MUST
  Scenario: HG-DECL-03 the approval-required list is declared, and empty only when every tool is read-only
    When agent lists the tools of every MCP server
    Then the rollout declares which tools need a human's approval

  @HG-CAT-03 @C2 @MUST
  Scenario: HG-CAT-03 broad tools are absent unless the rollout names them
    When agent lists the tools of every MCP server
    Then no broad tool is offered unless the rollout names it

  @HG-CAT-04 @C2 @MUST
  Scenario: HG-CAT-04 tool definitions carry no credential
    When agent lists the tools of every MCP server
    Then no tool definition carries a credential

  @HG-LP-01 @C2 @MUST
  Scenario: HG-LP-01 the agent sees no object beyond its action list
    Then agent sees no object beyond its action list

  @HG-LP-02 @C2 @MUST
  Scenario: HG-LP-02 the agent reads and edits no field beyond its action list
    Then agent reads and edits no field beyond its action list

  @HG-LP-01 @HG-LP-02 @C2 @MUST @positive
  Scenario: HG-LP-02 twin: the agent sees every object and field its action list names
    Then agent sees every object and field on its action list

  @HG-LP-03 @C2 @MUST
  Scenario: HG-LP-03 the agent's user holds no admin-level right
    Then agent holds no admin-level right

  @HG-LP-03 @C2 @MUST @positive
  Scenario: HG-LP-03 twin: the admin's rights are visible the same way
    Then admin holds the admin-level right ViewAllData
