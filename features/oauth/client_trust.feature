# The authorization server's trust in clients (checklist item C3).
@C3 @oauth
Feature: Only registered clients get codes, and a code's PKCE binding holds on every path

  @HG-CLIENT-01 @MUST @rfc6749 @rfc9700
  Scenario: HG-CLIENT-01 an unknown client is shown an error and never sent to its callback
    When an unknown client asks for a code for a foreign callback
    Then the server shows an error and redirects nowhere off its origin

  @HG-CLIENT-01 @MUST @positive @rfc6749
  Scenario: HG-CLIENT-01 twin: the registered client gets a code at its callback
    Given agent holds a fresh authorization code
    Then a code is delivered to the callback with the state echoed

  # The form path (client_id and, where declared, the secret in the body) is HG-PKCE-05's
  # missing-verifier row; these are the other ways to the token endpoint.
  @MUST @rfc7636 @rfc9700
  Scenario Outline: <id> a code issued against a challenge is not redeemed without its verifier (<path>)
    Given agent holds a fresh authorization code
    When the code is redeemed without its verifier through <path>
    Then the token request is refused as <refusal>

    Examples:
      | id         | path           | refusal                           |
      | HG-PKCE-09 | basic-auth     | a verifier that does not match    |
      | HG-PKCE-09 | refresh-grant  | a code offered as a refresh token |

  @HG-PKCE-09 @MUST @positive @rfc7636
  Scenario: HG-PKCE-09 twin: with its verifier, the authenticated client redeems the code
    Given agent holds a fresh authorization code
    When the code is redeemed with its verifier through basic-auth
    Then tokens are issued

  @HG-ISS-01 @MUST @rfc9207
  Scenario: HG-ISS-01 every authorization response carries the issuer (success)
    Given the metadata advertises the iss authorization response parameter
    And agent holds a fresh authorization code
    Then the authorization response carries the issuer as iss

  @HG-ISS-01 @MUST @rfc9207
  Scenario: HG-ISS-01 every authorization response carries the issuer (error)
    Given the metadata advertises the iss authorization response parameter
    When agent authorizes with response type "hg-unknown"
    Then the error response carries the issuer as iss
