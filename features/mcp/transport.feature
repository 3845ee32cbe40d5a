# Streamable HTTP transport rules (checklist item C4).
@C4 @mcp @mcp-transport
Feature: The MCP transport refuses what the protocol refuses

  @HG-TRN-01 @MUST
  Scenario Outline: HG-TRN-01 a foreign Origin is refused (<origin>)
    When agent sends tools/list to the primary MCP server with the header "Origin" set to "<origin>"
    Then the MCP server answers 403

    Examples:
      | origin               |
      | https://evil.example |
      | http://127.0.0.1:1   |
      | http://localhost:1   |
      | null                 |

  @HG-TRN-02 @MUST
  Scenario: HG-TRN-02 an unsupported protocol version is refused
    When agent sends tools/list to the primary MCP server with the header "MCP-Protocol-Version" set to "1999-01-01"
    Then the MCP server answers 400

  @HG-TRN-01 @HG-TRN-02 @MUST @positive
  Scenario: HG-TRN-02 twin: the target's own protocol version without a foreign Origin is served
    When agent sends tools/list to the primary MCP server in the target's protocol version
    Then the MCP server answers 200

  # MCP 2025-11-25 (Streamable HTTP, session management): servers that require a session SHOULD
  # answer 400 to a request without its id; a terminated session MUST be 404.
  @HG-TRN-03 @SHOULD @mcp-sessions
  Scenario: HG-TRN-03 a stateful request without its session id is refused
    When agent sends tools/list to the primary MCP server without its session id
    Then the MCP server answers 400

  @HG-TRN-03 @MUST @mcp-sessions
  Scenario: HG-TRN-03 a terminated session is not found
    When agent ends its session on the primary MCP server and uses it again
    Then the MCP server answers 404
