# Authorization codes are single use, bound to their client, and short-lived (checklist item C3).
@C3 @oauth @rfc9700 @rfc6749
Feature: Authorization codes

  @HG-CODE-01 @MUST
  Scenario: HG-CODE-01 a code is redeemed once
    Given agent holds a fresh authorization code
    When the code is redeemed
    Then tokens are issued
    When the code is redeemed again
    Then the token request is refused as a spent grant

  @HG-CODE-02 @SHOULD
  Scenario: HG-CODE-02 a replayed code revokes what its first redemption issued
    Given agent holds a fresh authorization code
    When the code is redeemed
    Then the first access token works at the resource server
    When the code is redeemed again
    Then the first access token is dead at the resource server at once

  @HG-CODE-03 @MUST
  Scenario: HG-CODE-03 of ten concurrent redemptions of one code exactly one succeeds
    Given agent holds a fresh authorization code
    When the code is redeemed 10 times at once
    Then exactly one redemption succeeds

  @HG-CODE-04 @MUST
  Scenario: HG-CODE-04 another client cannot redeem the agent app's code
    Given agent holds a fresh authorization code
    When the code is redeemed by the other client
    Then the token request is refused as a grant of another client

  @HG-CODE-04 @MUST @positive
  Scenario: HG-CODE-04 twin: the agent's app redeems its own code
    Given agent holds a fresh authorization code
    When the code is redeemed
    Then tokens are issued

  @HG-CODE-05 @MUST @serial
  Scenario: HG-CODE-05 an expired code is refused
    Given agent holds a fresh authorization code
    When the code's lifetime passes
    And the code is redeemed
    Then the token request is refused as a spent grant
