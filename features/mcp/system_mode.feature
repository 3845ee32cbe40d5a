# System-mode tools are caught (checklist item C5): a tool that skips object permissions,
# field-level security or sharing (like `without sharing` Apex) returns what the persona must not
# see. The probe knows no tool in advance: it builds arguments from each input schema and the
# canaries: the target's own (unshared records, unreadable objects, FLS-hidden fields) and those the
# admin seeds before the probe and deletes after it, also when the scenario fails.
@C5 @mcp @salesforce-apex-security
Feature: System-mode tools are caught

  @HG-SYS-01 @MUST
  Scenario: HG-SYS-01 no tool the agent can list returns a canary
    Given the admin has seeded the canaries
    When the system-mode probe calls every tool agent can list with the canaries
    Then no tool returned a seeded sensitive value

  @HG-SYS-01 @MUST @positive
  Scenario: HG-SYS-01 twin: the canaries are there for the admin to see
    Given the admin has seeded the canaries
    Then the admin sees the canaries, so the probe could have found them

  @HG-SYS-03 @MUST
  Scenario: HG-SYS-03 the Apex behind the agent's tools runs in user mode
    When the Apex behind the tools agent can list is scanned
    Then the scan finds no system-mode code behind any tool

  @HG-SYS-04 @MUST
  Scenario: HG-SYS-04 the scan and the canary probe agree on every Apex-backed tool
    Given the admin has seeded the canaries
    When the system-mode probe calls every tool agent can list with the canaries
    And the Apex behind the tools agent can list is scanned
    Then for every Apex-backed tool the scan and the probe agree

  @HG-SYS-02 @MUST
  Scenario: HG-SYS-02 no write tool changes a record the agent may not edit
    Given the admin has seeded the canaries
    When the write probe calls every write tool agent can list on records it may not edit
    Then the admin reads every probed record back unchanged
