# The granted scope stays within what the client may have (checklist item C2): not only at the
# authorization endpoint (HG-GRANT-07) and on refresh (HG-RT-04), but at the token endpoint too.
@C2 @oauth @rfc6749 @rfc9700
Feature: No scope beyond the client's at the token endpoint

  @HG-SCOPE-02 @MUST
  Scenario: HG-SCOPE-02 a code exchange asking for more scope grants no more
    Given agent holds a fresh authorization code
    When the code is redeemed asking for its declared scope and "full"
    Then the scope "full" is refused or left out of the grant the token endpoint made

  @HG-SCOPE-01 @MUST @mcp-auth @rfc9728
  Scenario: HG-SCOPE-01 the MCP server offers no scope beyond the declared set
    When a client calls the primary MCP server with no authorization
    Then the protected resource metadata of the primary MCP server offers no scope beyond the declared set

  # The token answer's own `scope` is HG-GRANT-06's; this row reads the token itself, which is
  # what a resource server enforces.
  @HG-SCOPE-01 @MUST
  Scenario: HG-SCOPE-01 the access token carries exactly the declared set
    Given agent holds a fresh authorization code
    When the code is redeemed
    Then the access token's own scope is exactly the declared set
