# Every door to the data is guarded (checklist item C4): each MCP method that can return data is
# refused without a token on a fresh connection, and identity headers a proxy might set are no
# credential. The refusal is the refusal table's (the Bearer challenge itself is HG-RS-01's).
@C4 @mcp @mcp-auth @rfc6750
Feature: Every MCP method is gated, and identity headers are no credential

  @HG-DOOR-03 @MUST
  Scenario Outline: HG-DOOR-03 <method> without a token is refused on a fresh connection (<header>)
    When a client sends <method> to the primary MCP server without a token, with the header "<header>" set to "<value>"
    Then the MCP server refuses a request without a bearer token

    Examples:
      | method         | header           | value  |
      | tools/call     | none             |        |
      | resources/read | none             |        |
      | prompts/get    | none             |        |
      | tools/call     | X-Forwarded-User | @agent |
      | tools/call     | X-Agent-Role     | admin  |
      | prompts/get    | X-Forwarded-User | @agent |

  @HG-DOOR-03 @MUST @positive
  Scenario: HG-DOOR-03 twin: with the agent's token, a tool call on the same server answers
    When agent calls the identity tool on the primary MCP server
    Then the tool result succeeds
