# Callback URLs must match exactly (checklist item C3). R is the app's registered callback; each
# row varies it as an attacker would. "Refused" means: no code issued and no redirect to the
# supplied URI (an error must not be delivered there either: that would be an open redirect).
@C3 @oauth @rfc9700 @rfc6749
Feature: Callback URLs match exactly

  @HG-REDIR-01 @MUST @positive
  Scenario: HG-REDIR-01 the registered callback receives the code with the state echoed
    When agent authorizes with the exact variant of the callback
    Then a code is delivered to the callback with the state echoed

  @MUST
  Scenario Outline: <id> a varied callback is refused (<variant>)
    When agent authorizes with the <variant> variant of the callback
    Then the authorization is refused without a redirect to the supplied URI

    @HG-REDIR-02
    Examples: trailing slash
      | id          | variant        |
      | HG-REDIR-02 | trailing-slash |

    @HG-REDIR-03
    Examples: path tricks
      | id          | variant        |
      | HG-REDIR-03 | path-appended  |
      | HG-REDIR-03 | dot-dot        |
      | HG-REDIR-03 | encoded-slash  |
      | HG-REDIR-03 | encoded-dots   |
      | HG-REDIR-03 | semicolon      |
      | HG-REDIR-03 | double-encoded |

    @HG-REDIR-04
    Examples: query
      | id          | variant     |
      | HG-REDIR-04 | query-added |

    @HG-REDIR-05
    Examples: host and port
      | id          | variant         |
      | HG-REDIR-05 | subdomain       |
      | HG-REDIR-05 | host-suffix     |
      | HG-REDIR-05 | userinfo        |
      | HG-REDIR-05 | upper-case-host |
      | HG-REDIR-05 | explicit-port   |
      | HG-REDIR-05 | other-port      |

    @HG-REDIR-06
    Examples: scheme
      | id          | variant       |
      | HG-REDIR-06 | http-scheme   |
      | HG-REDIR-06 | custom-scheme |

    @HG-REDIR-07
    Examples: fragment
      | id          | variant  |
      | HG-REDIR-07 | fragment |

    @HG-REDIR-08 @redirect-omitted
    Examples: omitted
      | id          | variant |
      | HG-REDIR-08 | omitted |

    @HG-REDIR-10
    Examples: loopback
      | id          | variant       |
      | HG-REDIR-10 | loopback-ip   |
      | HG-REDIR-10 | loopback-name |

  @HG-REDIR-09 @MUST
  Scenario: HG-REDIR-09 the code is bound to the callback it was issued for
    Given agent holds a fresh authorization code
    When the code is redeemed with the redirect URI "https://evil.example.test/oauth/callback"
    Then the token request is refused as a code for another callback

  @HG-REDIR-09 @MUST @positive
  Scenario: HG-REDIR-09 twin: the same callback redeems the code
    Given agent holds a fresh authorization code
    When the code is redeemed
    Then tokens are issued
