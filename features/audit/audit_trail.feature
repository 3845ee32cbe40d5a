# Monitoring reconstructs who did what (checklist item C7): every REST and tool call, allowed or
# denied, has its row in the org's event log files (ApiTotalUsage) naming the user, the app, the
# object and how it ended; no credential is in any row; every sign-in is in LoginHistory. The
# files keep no tool, token id or error code: the evidence says so. Where they come hours late
# the rows are not verifiable until `headless-gate audit reconcile` judges them. Each scenario
# runs alone (@serial) and counts only the rows written after the admin's first read, so no other
# scenario's call or sign-in stands in for one of its own.
@C7 @audit @salesforce-event-monitoring
Feature: The audit trail reconstructs user, tool and token activity

  @HG-AUD-01 @MUST @serial
  Scenario: HG-AUD-01 every REST and tool call, allowed and denied, is in the audit log
    Given the admin has read the org's event log
    When agent reads the Case record "shared-case"
    And agent reads the Opportunity record "opportunity"
    And agent queries "SELECT Id FROM Case" through the reads MCP server
    And agent queries "SELECT Id FROM Opportunity" through the reads MCP server
    And agent runs the record action on the record "shared-case"
    Then every request agent sent is in the audit log with who, what and how it ended

  @HG-AUD-02 @MUST @serial
  Scenario: HG-AUD-02 denied requests are recorded as denied, allowed ones as allowed
    Given the admin has read the org's event log
    When agent reads the Opportunity record "opportunity"
    And agent queries "SELECT Id, Name FROM Opportunity"
    And agent describes Opportunity through the reads MCP server
    And agent reads the Case record "shared-case"
    And agent queries "SELECT Id FROM Case" through the reads MCP server
    Then each denied request of agent's is recorded as denied, and each allowed one as allowed

  # Sign-ins are token requests too: the org's LoginHistory keeps each attempt with how it ended.
  @HG-AUD-01 @MUST @positive @serial
  Scenario: HG-AUD-01 a sign-in through the agent's app is in the login history
    Given the admin has read agent's login history
    When agent signs in through the agent's app
    Then the login history shows agent's sign-in through the agent's app

  @HG-AUD-02 @MUST @serial
  Scenario: HG-AUD-02 a refused sign-in is in the login history as failed
    Given the admin has read agent's login history
    When the client asks for a token with the password grant as agent
    Then the login history shows agent's refused sign-in as failed

  @HG-AUD-03 @MUST @serial
  Scenario: HG-AUD-03 no credential appears in any audit record
    Given the admin has read the org's event log
    When agent calls the identity tool on the reads MCP server
    Then no credential of this run appears in the audit log, agent's calls found

  @HG-AUD-04 @MUST @serial
  Scenario: HG-AUD-04 actions are attributed to the named end user
    Given the admin has read the org's event log
    When agent calls the identity tool on the reads MCP server
    Then the audit records of this scenario attribute the calls to agent

  @HG-AUD-05 @MUST
  Scenario: HG-AUD-05 every object the agent can edit has field history tracking on
    When the objects agent can edit are compared with the org's field history tracking
    Then every object agent can edit has field history tracking on

  @HG-AUD-05 @MUST @positive
  Scenario: HG-AUD-05 twin: the broad service user's edits are tracked, and the check sees them
    When the objects csr can edit are compared with the org's field history tracking
    Then csr can edit at least one object, so the check had something to see
    And every object csr can edit has field history tracking on
