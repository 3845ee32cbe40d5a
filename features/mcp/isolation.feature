# Clients are kept apart (checklist items C4 and C8). A session (MCP 2025-11-25) or a state
# handle (2026-07-28: the requestState a record prompt gives while it elicits the record id) is
# bound to the user it was issued to: another user presenting it with its own token gets a
# refusal or its own access only. The admin first reads the record through the prompt door, which
# shows the values a leak would carry.
# Independent clients number their JSON-RPC requests alike, and none may ever be handed another
# client's answer, as a server or a gateway that matches answers by id alone would hand it, nor a
# progress notification naming another client's token (each call asks for progress). Those
# scenarios run alone (@serial): the gate's other requests carry ids unique across the run, and
# these two must not collide with each other.
@C4 @C8 @mcp @mcp-transport
Feature: Sessions and handles are bound to their user, and clients never get each other's answers

  @HG-ISO-01 @MUST
  Scenario: HG-ISO-01 a session or state handle minted for the admin and replayed by the agent never gets the admin's data
    Given the admin reads the Case record "unshared-case" through the prompt door of the reads MCP server
    When agent asks for the record "unshared-case" through the prompt door of the reads MCP server with the admin's session or state handle
    Then the replayed handle is refused or carries none of the proven values

  @HG-ISO-01 @MUST @positive
  Scenario: HG-ISO-01 twin: the agent's own session or state handle gets the case shared with it
    Given the admin reads the Case record "shared-case" through the prompt door of the reads MCP server
    When agent asks for the record "shared-case" through the prompt door of the reads MCP server with its own session or state handle
    Then the prompt door carries the proven record

  @HG-ISO-02 @MUST @serial
  Scenario: HG-ISO-02 clients whose JSON-RPC ids collide never get each other's answers or notifications
    When 6 clients of two users call the identity tool on the primary MCP server at once, with one JSON-RPC id
    Then every client gets its own user's answer and only its own notifications

  @HG-ISO-02 @MUST @positive @serial
  Scenario: HG-ISO-02 twin: the same clients one at a time each get their own user's answer
    When 6 clients of two users call the identity tool on the primary MCP server one at a time, with one JSON-RPC id
    Then every client gets its own user's answer and only its own notifications
