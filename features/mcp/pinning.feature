# The tool catalog does not drift (checklist items C2 and C6): every tool each persona is offered
# is the one the team pinned (name, description, input schema, annotations, _meta), the restricted
# persona is offered nothing privileged beyond the declaration, and no definition changes within a
# session. The pin comes from `run --baseline` (written by `headless-gate baseline write`); the
# embedded mock pins its own fault-free catalog.
@mcp
Feature: The tool catalog is pinned and does not change under the agent

  @HG-PIN-01 @C2 @MUST
  Scenario: HG-PIN-01 the agent is offered exactly the pinned tools
    When agent's tool catalog is taken on every MCP server
    Then every tool is as pinned, and none was added or removed

  @HG-PIN-01 @C2 @MUST
  Scenario: HG-PIN-01 the restricted persona is offered exactly the pinned tools
    When restricted's tool catalog is taken on every MCP server
    Then every tool is as pinned, and none was added or removed

  @HG-PIN-01 @C2 @MUST @positive
  Scenario: HG-PIN-01 twin: the agent is offered a pinned tool exactly as pinned
    When agent's tool catalog is taken on every MCP server
    Then at least one tool is offered exactly as pinned

  @HG-PIN-02 @C2 @MUST
  Scenario: HG-PIN-02 the restricted persona is offered no privileged tool beyond the declaration
    When restricted lists the tools of every MCP server
    Then no privileged tool is offered beyond the declaration

  @HG-PIN-02 @C2 @MUST @positive
  Scenario: HG-PIN-02 twin: the restricted persona is offered allowlisted tools
    When restricted lists the tools of every MCP server
    Then at least one allowlisted tool is listed

  @HG-PIN-03 @C6 @MUST @mcp-sessions
  Scenario: HG-PIN-03 no tool definition changes within a session, a tool call notwithstanding
    When agent lists the tools of the primary MCP server, calls the identity tool, and lists them again
    Then no tool changed between the listings

  @HG-PIN-03 @C6 @MUST @positive @mcp-sessions
  Scenario: HG-PIN-03 twin: a catalog listed twice in one session is the same
    When agent lists the tools of the primary MCP server twice
    Then no tool changed between the listings
