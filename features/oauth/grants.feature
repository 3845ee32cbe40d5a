# Only Authorization Code + PKCE (checklist item C3): the client-credentials, implicit and password
# grants are rejected, and so is every other grant. Each refusal: the status, an error from the
# documented set, and no token anywhere in the answer.
@C3 @oauth @rfc9700 @rfc6749
Feature: Only Authorization Code with PKCE is granted

  @HG-GRANT-06 @MUST @positive
  Scenario: HG-GRANT-06 the agent persona gets exactly its declared scopes through Authorization Code + PKCE
    When agent signs in through the agent's app
    Then an access token and a refresh token are issued
    And the granted scope is exactly the declared scope

  @HG-GRANT-01 @MUST
  Scenario: HG-GRANT-01 the password grant is refused even with a real user's valid credentials
    When the client asks for a token with the password grant as agent
    Then the token request is refused as a grant the client may not use

  @HG-GRANT-02 @MUST
  Scenario: HG-GRANT-02 the client-credentials grant is refused for the agent's app
    When the client asks for a token with the client_credentials grant as agent
    Then the token request is refused as a grant the client may not use

  @HG-GRANT-03 @MUST
  Scenario: HG-GRANT-03 the implicit flow yields no token
    When agent authorizes with response type "token"
    Then no token is issued through the front channel

  @HG-GRANT-04 @MUST
  Scenario Outline: HG-GRANT-04 hybrid response types yield no token (<type>)
    When agent authorizes with response type "<type>"
    Then no token is issued through the front channel

    Examples:
      | type           |
      | code token     |
      | id_token token |

  @HG-GRANT-05 @MUST
  Scenario Outline: HG-GRANT-05 other grants are refused (<grant>)
    When the client asks for a token with the <grant> grant as agent
    Then the token request is refused as <refusal>

    Examples:
      | grant       | refusal                         |
      | jwt-bearer  | a grant the client may not use  |
      | device-code | a grant the client may not use  |
      | unknown     | an unknown grant                |

  @HG-GRANT-07 @MUST
  Scenario Outline: HG-GRANT-07 scopes beyond the app's are refused or left out (<scope>)
    When agent signs in through the agent's app asking for its declared scope and "<scope>"
    Then the scopes "<scope>" are refused or left out of the grant

    Examples:
      | scope |
      | full  |
      | api   |
      | web   |
