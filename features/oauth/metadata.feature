# The authorization server describes itself truthfully (checklist item C3).
@C3 @oauth @rfc8414
Feature: Authorization server metadata

  @HG-META-01 @MUST
  Scenario: HG-META-01 the metadata is served and names the configured issuer exactly
    When the client reads the authorization server metadata
    Then the metadata issuer is exactly the configured issuer

  @HG-META-02 @MUST @rfc7636
  Scenario: HG-META-02 PKCE is S256 only
    When the client reads the authorization server metadata
    Then the metadata offers S256 and not plain for PKCE

  @HG-META-03 @MUST @rfc9700
  Scenario: HG-META-03 no password, implicit or client-credentials grant is offered
    When the client reads the authorization server metadata
    Then the metadata offers no password, implicit or client-credentials grant

  @HG-META-04 @MUST @rfc7009 @rfc7662
  Scenario: HG-META-04 revocation and introspection are advertised and answer
    When the client reads the authorization server metadata
    Then the metadata advertises revocation and introspection endpoints that answer
