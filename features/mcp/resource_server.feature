# The MCP server is an OAuth resource server (checklist items C4 and C8): no token, a forged one, an
# expired one, one for another resource or without the mcp_api scope gets nothing.
@C4 @mcp @mcp-auth @rfc6750 @rfc9728
Feature: The MCP server accepts only live tokens issued for it

  @HG-RS-01 @MUST
  Scenario: HG-RS-01 a request without a token gets 401 with a Bearer challenge, and the resource metadata can be found
    When a client calls the primary MCP server with no authorization
    Then the MCP server refuses with 401, a Bearer challenge and discoverable resource metadata of the primary MCP server

  @HG-RS-01 @MUST @positive
  Scenario: HG-RS-01 twin: the agent's token is accepted
    When a client calls the primary MCP server with valid authorization
    Then the MCP server accepts the request

  @HG-RS-02 @MUST
  Scenario: HG-RS-02 the protected resource metadata names the server, the issuer and the scope
    When a client calls the primary MCP server with no authorization
    Then the protected resource metadata of the primary MCP server names it, the issuer and the mcp_api scope

  @HG-RS-03 @MUST
  Scenario Outline: HG-RS-03 malformed authorization is refused (<variant>)
    When a client calls the primary MCP server with <variant> authorization
    Then the MCP server refuses malformed authorization

    Examples:
      | variant |
      | foo     |
      | empty   |
      | garbage |
      | basic   |

  @HG-RS-04 @MUST @rfc8725
  Scenario Outline: HG-RS-04 forged tokens are refused (<variant>)
    When a client calls the primary MCP server with <variant> authorization
    Then the MCP server refuses an invalid token

    Examples:
      | variant            |
      | alg-none           |
      | stripped-signature |
      | untrusted-key      |
      | foreign-issuer     |

    # The admin's own user id as the subject: needs the org's admin persona to look it up.
    @org-admin
    Examples: another user's subject
      | variant       |
      | admin-subject |

  @HG-RS-05 @MUST @serial
  Scenario: HG-RS-05 an expired token is refused
    When a client calls the primary MCP server with expired authorization
    Then the MCP server refuses an invalid token

  # The audience policy the target declares (endpoints.token_audience): per server, the MCP
  # authorization spec's rule, or one platform audience, as Salesforce's hosted MCP servers have
  # (https://api.salesforce.com); each row is not applicable under the other policy.
  @HG-RS-06 @MUST @rfc8707 @audience-per-server
  Scenario: HG-RS-06 a token issued for another resource is refused
    When a client calls the primary MCP server with other-audience authorization
    Then the MCP server refuses an invalid token

  @HG-RS-06 @MUST @audience-platform
  Scenario: HG-RS-06 the agent's token names the declared platform audience and nothing beyond it
    Then the agent's access token names the declared platform audience and nothing beyond it

  # A token for one server replayed at another server, or at REST: refused, or served with no
  # more than its user's own access (whatever the audience policy).
  @HG-RS-11 @MUST @C8
  Scenario: HG-RS-11 the agent's token replayed at the other MCP servers gets no more than the agent's own access
    Then the agent's token for the primary MCP server gets no more than the agent's own access at the other MCP servers

  @HG-RS-11 @MUST @C8 @org-admin @salesforce-rest
  Scenario: HG-RS-11 the agent's token replayed at REST gets no more than the agent's own access
    Then the agent's token for the primary MCP server reading the record "unshared-case" at REST gets no more than the agent's own access

  @HG-RS-11 @MUST @C8 @positive
  Scenario: HG-RS-11 twin: the agent's token for the primary MCP server is accepted there
    Then the agent's token for the primary MCP server is accepted there

  @HG-RS-07 @MUST @rfc9700
  Scenario: HG-RS-07 a token only in the query string is refused
    When a client calls the primary MCP server with query-string authorization
    Then the MCP server refuses a request without a bearer token

  @HG-RS-08 @MUST
  Scenario: HG-RS-08 a token without the mcp_api scope is refused
    When a client calls the primary MCP server with no-mcp-scope authorization
    Then the MCP server refuses with 403 insufficient_scope

  @HG-RS-09 @MUST @C8 @mcp-sessions
  Scenario: HG-RS-09 a session is no credential: without a token it is refused
    When the agent's session on the primary MCP server is used without-a-token
    Then the MCP server refuses a request without a bearer token

  @HG-RS-09 @MUST @C8 @mcp-sessions
  Scenario: HG-RS-09 a session whose token was revoked is refused on the next request
    When the agent's session on the primary MCP server is used with-its-token
    Then the MCP server answers 200
    When agent's token is revoked
    And the agent's session on the primary MCP server is used with-its-token
    Then the MCP server refuses an invalid token

  @HG-RS-10 @MUST @mcp-sessions
  Scenario: HG-RS-10 another user's token on the agent's session never gets the agent's data
    When the agent's session on the primary MCP server is used by-second-user
    Then the answer is refused or in second-user's own context

  @HG-RS-10 @MUST @positive @mcp-sessions
  Scenario: HG-RS-10 twin: the agent's own token on its session works
    When the agent's session on the primary MCP server is used with-its-token
    Then the MCP server answers 200
