# Clients are kept apart (checklist items C4 and C8): independent clients number their JSON-RPC
# requests alike, and none may ever be handed another client's answer, as a server or a gateway
# that matches answers by id alone would hand it. Both scenarios run alone (@serial): the gate's
# other requests carry ids unique across the run, and these two must not collide with each other.
@C4 @C8 @mcp @mcp-transport
Feature: Clients with colliding JSON-RPC ids never get each other's answers

  @HG-ISO-02 @MUST @serial
  Scenario: HG-ISO-02 clients whose JSON-RPC ids collide never get each other's answers
    When 6 clients of two users call the identity tool on the primary MCP server at once, with one JSON-RPC id
    Then every client gets its own user's answer

  @HG-ISO-02 @MUST @positive @serial
  Scenario: HG-ISO-02 twin: the same clients one at a time each get their own user's answer
    When 6 clients of two users call the identity tool on the primary MCP server one at a time, with one JSON-RPC id
    Then every client gets its own user's answer
