# Refresh tokens rotate, are bound to their client, never widen the grant, and the access tokens
# they yield are short-lived (checklist item C8).
@C8 @oauth @rfc9700 @rfc6749
Feature: Refresh tokens

  @HG-RT-01 @MUST @positive
  Scenario: HG-RT-01 a refreshed access token works at the resource server
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used
    Then tokens are issued
    And the latest access token works at the resource server

  @HG-RT-02 @MUST
  Scenario: HG-RT-02 replaying a rotated-out refresh token kills the whole family
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used
    Then tokens are issued
    When the rotated-out refresh token is used again
    Then the token request is refused as a spent grant
    And the latest access token is dead at the resource server at once
    And the newest refresh token is dead too

  @HG-RT-03 @MUST
  Scenario: HG-RT-03 another client cannot use the agent app's refresh token
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used by the other client
    Then the token request is refused as a grant of another client

  @HG-RT-04 @MUST
  Scenario: HG-RT-04 a refresh cannot widen the scope
    Given agent has signed in through the agent's app and holds its tokens
    When the refresh token is used asking for its declared scope and "full"
    Then the scope "full" is refused or left out of the refreshed grant

  @HG-RT-05 @SHOULD
  Scenario: HG-RT-05 access tokens are short-lived
    Given agent has signed in through the agent's app and holds its tokens
    Then the access token lives at most the declared maximum
