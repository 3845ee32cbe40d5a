# Revoked tokens stop working immediately (checklist item C8). No sleeps and no retries: the very
# first call after the revocation must fail.
@C8 @oauth @rfc7009 @rfc9700
Feature: Revocation takes effect immediately

  @HG-REV-01 @MUST
  Scenario: HG-REV-01 a revoked access token is dead on the next call
    Given agent has signed in through the agent's app and holds its tokens
    Then the latest access token works at the resource server
    And the latest access token works on the MCP server
    When the access token is revoked
    Then the latest access token is dead at the resource server at once
    And the latest access token is dead on the MCP server at once

  # Salesforce lets the app introspect its own tokens; RFC 7662 leaves introspection to resource
  # servers, so a generic OAuth 2.1 server's public client may not (not run in that flavor).
  @HG-REV-01 @MUST @client-introspection
  Scenario: HG-REV-01 introspection tells a revoked access token from a live one
    Given agent has signed in through the agent's app and holds its tokens
    Then introspection says the latest access token is active
    When the access token is revoked
    Then introspection says the latest access token is inactive

  @HG-REV-02 @MUST
  Scenario: HG-REV-02 revoking the refresh token kills it and every access token it issued
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used
    Then tokens are issued
    When the refresh token is revoked
    Then the first access token is dead at the resource server at once
    And the latest access token is dead at the resource server at once
    When the refresh token is used
    Then the token request is refused as a spent grant

  @HG-REV-03 @MUST
  Scenario: HG-REV-03 no request sent after the revocation succeeds, under concurrent use
    Given agent has signed in through the agent's app and holds its tokens
    When 8 callers keep using the access token while it is revoked
    Then no request sent after the revocation succeeded

  @HG-REV-04 @MUST @serial
  Scenario Outline: HG-REV-04 when the admin <action> the user, its tokens die at once and it cannot sign in
    Given agent has signed in through the agent's app and holds its tokens
    And agent's REST token works on REST
    When the admin <action> agent
    Then the latest access token is dead at the resource server at once
    And agent's REST token is dead on REST at once
    And agent obtains no authorization code

    Examples:
      | action      |
      | freezes     |
      | deactivates |

  @HG-REV-05 @MUST @serial
  Scenario: HG-REV-05 the app kill switch kills every token of that user for that app at once
    Given agent has signed in through the agent's app and holds its tokens
    And csr has signed in through the agent's app
    When the admin revokes the agent app's access for agent
    Then the latest access token is dead at the resource server at once
    When the refresh token is used
    Then the token request is refused as a spent grant
    And csr's own token still works at the resource server

  @HG-REV-06 @MUST
  Scenario: HG-REV-06 another client cannot revoke the agent app's token
    Given agent has signed in through the agent's app and holds its tokens
    When the other client tries to revoke the access token
    Then the revocation answers as for a token of another client
    And the revocation leaves the token working

  @HG-REV-06 @MUST
  Scenario: HG-REV-06 revoking an unknown token answers as the flavor says
    When an unknown token is revoked
    Then the revocation answers as for an unknown token

  # The revocation matrix (C8): each path's action, then the token sampled on the MCP server and
  # on REST; the window it was still accepted in is measured and held to the target's limit for
  # the path (limits.revocation_windows_ms; none declared: zero).
  @HG-REV-07 @MUST @serial
  Scenario: HG-REV-07 a deactivated user's access token is refused on the MCP server and on REST within the window, and its refresh token is dead
    Given agent has signed in through the agent's app and holds its tokens
    When the admin deactivates agent
    Then the latest access token is refused on the MCP server and on REST within the user_deactivated window
    When the refresh token is used
    Then the token request is refused as a spent grant

  @HG-REV-07 @MUST @positive
  Scenario: HG-REV-07 twin: before anything happens, the same token is accepted on the MCP server and on REST
    Given agent has signed in through the agent's app and holds its tokens
    Then the latest access token works at the resource server
    And the latest access token works on the MCP server

  # A permission set taken away takes away what it granted, at the next call: the target names
  # the set that gives the agent its objects (app.agent_permission_set); the admin removes the
  # agent's assignment and assigns it again afterwards. The agent's token stays valid: what must
  # end is the read the set opened, held to limits.revocation_windows_ms.permission_set.
  @HG-REV-08 @MUST @serial
  Scenario: HG-REV-08 removing the permission set that grants an object takes the object away on the MCP server and on REST within the window
    Given agent reads the Case record "shared-case" on the MCP server and on REST
    When the admin removes agent's assignment of the agent's permission set
    Then agent's read of the record "shared-case" is refused on the MCP server and on REST within the permission_set window

  @HG-REV-08 @MUST @positive @serial
  Scenario: HG-REV-08 twin: with the permission set assigned again, the agent reads the record on the MCP server and on REST
    Given agent reads the Case record "shared-case" on the MCP server and on REST
    When the admin removes agent's assignment of the agent's permission set
    And the admin assigns the permission set again
    Then agent reads the record "shared-case" on the MCP server and on REST again

  # The Connect API's OAuth usage resources revoke an External Client App's tokens for one user
  # or for every user (API 59.0+); the window is held to limits.revocation_windows_ms. The per-app
  # row revokes every user's tokens for the app, stored refresh tokens of personas included.
  @HG-REV-09 @MUST @serial
  Scenario: HG-REV-09 the Connect API's revocation of a user's tokens for the app kills them on the MCP server and on REST within the window
    Given agent has signed in through the agent's app and holds its tokens
    And csr has signed in through the agent's app
    When the admin revokes agent's tokens for the agent's app through the Connect API
    Then the latest access token is refused on the MCP server and on REST within the connect_user window
    When the refresh token is used
    Then the token request is refused as a spent grant
    And csr's own token still works at the resource server

  @HG-REV-09 @MUST @serial
  Scenario: HG-REV-09 the Connect API's revocation of every token of the app kills them on the MCP server and on REST within the window
    Given agent has signed in through the agent's app and holds its tokens
    When the admin revokes every token of the agent's app through the Connect API
    Then the latest access token is refused on the MCP server and on REST within the connect_app window
    When the refresh token is used
    Then the token request is refused as a spent grant

  @HG-REV-09 @MUST @positive @serial
  Scenario: HG-REV-09 twin: the Connect API's revocation of another user's tokens leaves the agent's working on the MCP server and on REST
    Given csr has signed in through the agent's app
    And agent has signed in through the agent's app and holds its tokens
    When the admin revokes csr's tokens for the agent's app through the Connect API
    Then the latest access token works at the resource server
    And the latest access token works on the MCP server

  @HG-REV-10 @MUST
  Scenario: HG-REV-10 replaying a rotated-out refresh token kills the family on the MCP server and on REST within the window
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used
    Then tokens are issued
    When the rotated-out refresh token is used again
    Then the token request is refused as a spent grant
    And the latest access token is refused on the MCP server and on REST within the rotation_reuse window
    And the newest refresh token is dead too

  @HG-REV-10 @MUST @positive
  Scenario: HG-REV-10 twin: the refreshed access token is accepted on the MCP server and on REST before any replay
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used
    Then tokens are issued
    And the latest access token works at the resource server
    And the latest access token works on the MCP server
