# Volume excursions are contained (checklist item C8): an agent that runs away hits the per-user
# request rate, gets a clear rate-limit answer instead of a server error, and does not take the
# org down for everyone else. Opt-in on real targets: the burst spends API limits.
@C8 @org @salesforce-api-limits
Feature: A burst beyond the per-user rate is limited

  @HG-LIM-01 @SHOULD @serial
  Scenario: HG-LIM-01 a burst beyond the declared per-user rate is limited while others are served
    When agent sends a burst beyond the declared per-user request rate
    Then the burst is rate-limited, never answered with a server error
    And csr is still served on the REST API
