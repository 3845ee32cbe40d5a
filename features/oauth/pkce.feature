# PKCE with S256 only (checklist item C3).
@C3 @oauth @rfc7636 @rfc9700
Feature: PKCE is required, S256 only, and the verifier is checked

  @HG-PKCE-01 @MUST
  Scenario: HG-PKCE-01 an authorization request without a code challenge is refused
    When agent authorizes with PKCE none
    Then the authorization is refused at the callback with invalid_request and no code

  @HG-PKCE-02 @MUST
  Scenario: HG-PKCE-02 the plain method is refused
    When agent authorizes with PKCE plain
    Then the authorization is refused at the callback with invalid_request and no code

  @HG-PKCE-03 @MUST
  Scenario: HG-PKCE-03 a challenge without a method (which means plain) is refused
    When agent authorizes with PKCE without-method
    Then the authorization is refused at the callback with invalid_request and no code

  @HG-PKCE-04 @MUST
  Scenario: HG-PKCE-04 an unknown method is refused
    When agent authorizes with PKCE S512
    Then the authorization is refused at the callback with invalid_request and no code

  @MUST
  Scenario Outline: <id> a code is not redeemed with a <verifier> verifier
    Given agent holds a fresh authorization code
    When the code is redeemed with the <verifier> verifier
    Then the token request is refused as a verifier that does not match

    Examples:
      | id         | verifier  |
      | HG-PKCE-05 | missing   |
      | HG-PKCE-06 | wrong     |
      | HG-PKCE-07 | challenge |
      | HG-PKCE-08 | short     |
      | HG-PKCE-08 | bad-chars |

  @HG-PKCE-05 @MUST @positive
  Scenario: HG-PKCE-05 twin: the right verifier redeems the code
    Given agent holds a fresh authorization code
    When the code is redeemed with the correct verifier
    Then tokens are issued
