# The granted scope stays within what the client may have (checklist item C2): not only at the
# authorization endpoint (HG-GRANT-07) and on refresh (HG-RT-04), but at the token endpoint too.
@C2 @oauth @rfc6749 @rfc9700
Feature: No scope beyond the client's at the token endpoint

  @HG-SCOPE-02 @MUST
  Scenario: HG-SCOPE-02 a code exchange asking for more scope grants no more
    Given agent holds a fresh authorization code
    When the code is redeemed asking for its declared scope and "full"
    Then the scope "full" is refused or left out of the grant the token endpoint made
