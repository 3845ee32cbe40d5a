# The agent's External Client App, as the org's metadata states it (checklist item C3): the
# settings that decide what the app can be used for, read from `sf project retrieve start` files
# (the mock states its own org file's).
@C3 @salesforce
Feature: The agent's External Client App is set up as the rollout requires

  @HG-ECA-01 @MUST
  Scenario: HG-ECA-01 the client-credentials flow is off
    Then the agent's app has the client-credentials flow as the rollout requires

  @HG-ECA-01 @MUST @positive
  Scenario: HG-ECA-01 twin: the metadata states the client-credentials setting
    Then the org's metadata states the client-credentials flow of the agent's app

  @HG-ECA-02 @MUST
  Scenario: HG-ECA-02 PKCE is required
    Then the agent's app has PKCE as the rollout requires

  @HG-ECA-02 @MUST @positive
  Scenario: HG-ECA-02 twin: the metadata states the PKCE setting
    Then the org's metadata states PKCE of the agent's app

  @HG-ECA-03 @MUST
  Scenario: HG-ECA-03 refresh tokens are rotated
    Then the agent's app has refresh-token rotation as the rollout requires

  @HG-ECA-03 @MUST @positive
  Scenario: HG-ECA-03 twin: the metadata states the rotation setting
    Then the org's metadata states refresh-token rotation of the agent's app

  @HG-ECA-04 @MUST
  Scenario: HG-ECA-04 refresh tokens do not live until revoked
    Then the agent's app has its refresh-token policy as the rollout requires

  @HG-ECA-04 @MUST @positive
  Scenario: HG-ECA-04 twin: the metadata states the refresh-token policy
    Then the org's metadata states its refresh-token policy of the agent's app

  @HG-ECA-05 @MUST
  Scenario: HG-ECA-05 the app's scopes are within the declared set
    Then the agent's app has its OAuth scopes as the rollout requires

  @HG-ECA-05 @MUST @positive
  Scenario: HG-ECA-05 twin: the metadata states the app's scopes
    Then the org's metadata states its OAuth scopes of the agent's app

  @HG-ECA-06 @MUST
  Scenario: HG-ECA-06 only admin-approved users of a permission set may use the app
    Then the agent's app has its permitted users as the rollout requires

  @HG-ECA-06 @MUST @positive
  Scenario: HG-ECA-06 twin: the metadata states who may use the app
    Then the org's metadata states its permitted users of the agent's app

  @HG-ECA-07 @MUST
  Scenario: HG-ECA-07 the app's IP policy is the declared one
    Then the agent's app has its IP policy as the rollout requires

  @HG-ECA-07 @MUST @positive
  Scenario: HG-ECA-07 twin: the metadata states the IP policy
    Then the org's metadata states its IP policy of the agent's app
