//! The fault table: every misconfiguration the mock org can reproduce, by name, with the controls
//! that must catch it. One table serves `--fault`, the org file's `faults = [...]`, the selftest
//! and the fault-matrix test; the mock's code asks `faults.on(Fault::X)` at the one place each
//! rule lives. Configuration faults (a drifted permission set, a long token lifetime, an extra
//! tool) also rewrite the declared org when they are switched on (`configure`).

use crate::model::{CustomTool, Org};
use std::collections::BTreeSet;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Fault {
    // grants
    PasswordGrant,
    ClientCredentials,
    ImplicitFlow,
    HybridFlow,
    JwtBearer,
    WideScopes,
    MetadataIssuerMismatch,
    MetadataAdvertisesPlain,
    MetadataNoRevocation,
    // callback URLs
    RedirectPrefix,
    RedirectTrailingSlash,
    RedirectQueryIgnored,
    RedirectHostSuffix,
    RedirectAnyLoopback,
    RedirectDecoded,
    RedirectOmittedDefault,
    TokenRedirectUnchecked,
    ErrorToUnregisteredUri,
    RefusalPageUnreadable,
    UnknownClientRedirects,
    IssMissingOnErrors,
    // the agent's External Client App
    AppReusedByIntegration,
    AppScopesWidened,
    // PKCE
    PkceOptional,
    PkcePlain,
    PkceVerifierUnchecked,
    PkceVerifierWithoutChallenge,
    PkceUnknownMethod,
    PkceSkippedForBasicAuth,
    // codes and refresh tokens
    CodeAsRefreshToken,
    CodeReusable,
    CodeReuseRace,
    CodeAnyClient,
    CodeNoExpiry,
    RefreshNotRotated,
    RefreshAnyClient,
    RefreshWidensScope,
    TokenScopeWidened,
    TokenScopeClaimWidened,
    // revocation
    RevocationDelay,
    RefreshRevocationNoCascade,
    McpNoRevocationCheck,
    FrozenTokensLive,
    KillSwitchIgnored,
    ConnectRevokeRefreshOnly,
    PermissionSetCached,
    RevokeAnyClient,
    // the MCP resource server
    McpAudienceUnchecked,
    TokenAudienceBroad,
    RestServesMcpTokens,
    McpSignatureUnchecked,
    McpExpiryUnchecked,
    McpQueryToken,
    McpNoChallenge,
    McpOriginUnchecked,
    McpOriginLoopback,
    McpMetadataWrongResource,
    McpMetadataScopesWidened,
    McpSessionIsCredential,
    McpSessionUnbound,
    McpRequestStateUnbound,
    McpProgressByRpcId,
    McpScopeUnchecked,
    McpMalformedAuthAnonymous,
    McpTrustsIdentityHeader,
    McpResourceWithoutPipeline,
    McpPromptWithoutPipeline,
    McpCompletionLeaks,
    McpAnswersByRpcId,
    ToolsByUserPermissions,
    ToolRugPull,
    McpAnyProtocolVersion,
    McpSessionOptional,
    // permissions
    ToolIgnoresFls,
    RestIgnoresFls,
    ToolWithoutSharing,
    LeakInToolError,
    WriteToolIgnoresCrud,
    SystemModeApexTool,
    ApiEnabledIgnored,
    NotPreAuthorizedAllowed,
    RefreshTokenInfinite,
    DeactivatedTokensLiveOnMcp,
    AppSelfAuthorized,
    AppIpRelaxed,
    // least privilege and lifetime
    PermissionSetDrift,
    AgentViewAllData,
    LongLivedTokens,
    OpaqueAccessTokens,
    NoRateLimit,
    // catalog and audit
    ToolOutsideAllowlist,
    BulkExportTool,
    CredentialInToolDescription,
    CredentialInSchemaDefault,
    CredentialInAnnotation,
    ToolsListPaged,
    UnusualIdArgument,
    DestructiveToolUnmarked,
    HistoryTrackingOff,
    AuditMissingApp,
    AuditMissingUser,
    AuditMissingDenied,
    TokenInAuditLog,
    IntegrationUserAttribution,
    LoginHistoryOff,
    LoginHistoryMissesRefusals,
}

/// One row of the table: the switch, what it reproduces, and how the gate must catch it (and
/// nothing else may fail with it on).
pub struct FaultSpec {
    pub fault: Fault,
    pub name: &'static str,
    pub area: &'static str,
    pub what: &'static str,
    pub caught_by: &'static [Catch],
}

/// How a fault must show: a failed row whose title starts with `row` (a control ID, or a more
/// specific scenario title) and whose one-line message contains `says`. Matching the message is
/// what makes "caught" mean caught for the right reason, not a sign-in error or a broken twin.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Catch {
    pub row: &'static str,
    pub says: &'static str,
}

impl Catch {
    /// The control ID the row names.
    pub fn control(&self) -> &'static str {
        self.row.split_whitespace().next().unwrap_or(self.row)
    }

    pub fn matches(&self, title: &str, message: &str) -> bool {
        title.starts_with(self.row) && message.contains(self.says)
    }
}

const fn caught(row: &'static str, says: &'static str) -> Catch {
    Catch { row, says }
}

impl FaultSpec {
    /// The controls that must fail with this fault on, sorted.
    pub fn controls(&self) -> Vec<&'static str> {
        let set: BTreeSet<&'static str> = self.caught_by.iter().map(Catch::control).collect();
        set.into_iter().collect()
    }
}

/// How long a revoked token keeps working under `revocation-delay` (a cache in front of the
/// revocation list). Long enough that every immediate re-check lands inside it.
pub const REVOCATION_DELAY_MS: u64 = 2_000;

/// How long a redemption takes between checking a code and marking it redeemed under
/// `code-reuse-race`: far longer than ten requests released together take to arrive.
pub const CODE_RACE_WINDOW_MS: u64 = 300;

/// Faults whose runs pause on purpose (the code-race window on every code redemption, the
/// revocation delay): the fault matrix starts them first, so they overlap the quick ones.
pub const SLOW: &[&str] = &["code-reuse-race", "revocation-delay"];

/// Faults that exist only in the stateless era (MCP 2026-07-28): the matrix runs them in it.
/// The audience `token-audience-broad` adds to every token: a resource beyond the platform.
pub const BROAD_AUDIENCE: &str = "https://other-resource.example";

pub const STATELESS_ERA: &[&str] = &["mcp-request-state-unbound", "mcp-progress-by-rpc-id"];

/// The stateless era's protocol version, as the gate's `--mcp-protocol` takes it.
pub const STATELESS_PROTOCOL: &str = "2026-07-28";

/// How a revocation window the samples outlast reads, however many of them the cache outlived.
const WINDOW_FAILED_ON_MCP: &str = "expected refused within 0 ms on every surface, observed MCP: ";

/// Access-token lifetime under `long-lived-tokens`.
pub const LONG_TOKEN_LIFETIME_MINUTES: u32 = 24 * 60;

const fn row(
    fault: Fault,
    name: &'static str,
    area: &'static str,
    what: &'static str,
    caught_by: &'static [Catch],
) -> FaultSpec {
    FaultSpec { fault, name, area, what, caught_by }
}

use Fault::*;

pub const TABLE: &[FaultSpec] = &[
    row(
        PasswordGrant,
        "password-grant",
        "grants",
        "the username-password flow is enabled: the agent's app, authenticated with its consumer secret, gets tokens for a username and password",
        &[
            caught("HG-GRANT-01", "observed 200 (no error code)"),
            // The refused sign-in the login history is searched for never happened.
            caught("HG-AUD-02 a refused sign-in", "sign-in was not refused"),
        ],
    ),
    row(
        ClientCredentials,
        "client-credentials",
        "grants",
        "the client-credentials flow is enabled on the agent's confidential app and issues tokens for its consumer secret (the metadata says so)",
        &[
            caught("HG-GRANT-02", "observed 200 (no error code)"),
            caught("HG-META-03", "observed [\"client_credentials\"]"),
            caught("HG-ECA-01", "observed true"),
        ],
    ),
    row(
        ImplicitFlow,
        "implicit-flow",
        "grants",
        "response_type=token is honoured after sign-in",
        &[caught("HG-GRANT-03", "observed a token in the Location")],
    ),
    row(
        HybridFlow,
        "hybrid-flow",
        "grants",
        "response types with token beside code (code token, id_token token) put an access token in the callback",
        &[
            caught("HG-GRANT-04 hybrid response types yield no token (code token)", "observed a token in the Location"),
            caught(
                "HG-GRANT-04 hybrid response types yield no token (id_token token)",
                "observed a token in the Location",
            ),
        ],
    ),
    row(
        JwtBearer,
        "jwt-bearer",
        "grants",
        "the JWT bearer grant issues tokens for an unsigned assertion",
        &[caught("HG-GRANT-05 other grants are refused (jwt-bearer)", "observed 200 (no error code)")],
    ),
    row(
        WideScopes,
        "wide-scopes",
        "grants",
        "scopes beyond the app's (api, full, web) are granted when asked for",
        &[
            caught(
                "HG-GRANT-07 scopes beyond the app's are refused or left out (api)",
                "observed granted 'mcp_api refresh_token api'",
            ),
            caught(
                "HG-GRANT-07 scopes beyond the app's are refused or left out (full)",
                "observed granted 'mcp_api refresh_token full'",
            ),
            caught(
                "HG-GRANT-07 scopes beyond the app's are refused or left out (web)",
                "observed granted 'mcp_api refresh_token web'",
            ),
        ],
    ),
    row(
        MetadataIssuerMismatch,
        "metadata-issuer-mismatch",
        "metadata",
        "the metadata's issuer is not the issuer's own URL (a trailing slash added)",
        &[caught("HG-META-01", "observed issuer http")],
    ),
    row(
        MetadataAdvertisesPlain,
        "metadata-advertises-plain",
        "metadata",
        "the metadata lists plain beside S256 in code_challenge_methods_supported",
        &[caught("HG-META-02", "observed [\"S256\", \"plain\"]")],
    ),
    row(
        MetadataNoRevocation,
        "metadata-no-revocation",
        "metadata",
        "the metadata does not advertise the revocation endpoint (which still answers)",
        &[caught("HG-META-04", "expected revocation_endpoint advertised, observed absent")],
    ),
    row(
        RedirectPrefix,
        "redirect-prefix",
        "callbacks",
        "a callback matches when the registered URL is a prefix of it",
        &[
            caught("HG-REDIR-02", "observed a code was issued"),
            caught("HG-REDIR-03", "observed a code was issued"),
            caught("HG-REDIR-04", "observed a code was issued"),
            caught("HG-REDIR-07", "observed redirected to https://agent.example.test/oauth/callback#hg?"),
        ],
    ),
    row(
        RedirectTrailingSlash,
        "redirect-trailing-slash",
        "callbacks",
        "a trailing slash is ignored when callbacks are compared",
        &[caught("HG-REDIR-02", "observed a code was issued")],
    ),
    row(
        RedirectQueryIgnored,
        "redirect-query-ignored",
        "callbacks",
        "the query is ignored when callbacks are compared",
        &[caught("HG-REDIR-04", "observed a code was issued")],
    ),
    row(
        RedirectHostSuffix,
        "redirect-host-suffix",
        "callbacks",
        "hosts are compared case-insensitively with a suffix match (any subdomain, any default port)",
        &[caught("HG-REDIR-05", "observed a code was issued")],
    ),
    row(
        RedirectAnyLoopback,
        "redirect-any-loopback",
        "callbacks",
        "any loopback host and port is accepted as a callback, with the registered path",
        &[caught("HG-REDIR-10", "observed a code was issued")],
    ),
    row(
        RedirectDecoded,
        "redirect-decoded",
        "callbacks",
        "the supplied callback is percent-decoded before the exact comparison (`/oauth%2Fcallback` passes)",
        &[caught("HG-REDIR-03 a varied callback is refused (encoded-slash)", "observed a code was issued")],
    ),
    row(
        RedirectOmittedDefault,
        "redirect-omitted-default",
        "callbacks",
        "an authorization request without redirect_uri is served, the code sent to the app's first registered callback",
        &[caught("HG-REDIR-08", "observed a code was issued")],
    ),
    row(
        TokenRedirectUnchecked,
        "token-redirect-unchecked",
        "callbacks",
        "the token endpoint does not compare redirect_uri with the authorization request's",
        &[caught("HG-REDIR-09", "observed 200 (no error code)")],
    ),
    row(
        ErrorToUnregisteredUri,
        "error-to-unregistered-uri",
        "callbacks",
        "an unregistered callback gets the error redirected to it (an open redirector)",
        &[
            caught("HG-REDIR-02", "error=redirect_uri_mismatch"),
            caught("HG-REDIR-03", "error=redirect_uri_mismatch"),
            caught("HG-REDIR-04", "error=redirect_uri_mismatch"),
            caught("HG-REDIR-05", "error=redirect_uri_mismatch"),
            caught("HG-REDIR-06", "error=redirect_uri_mismatch"),
            caught("HG-REDIR-07", "error=redirect_uri_mismatch"),
            caught("HG-REDIR-10", "error=redirect_uri_mismatch"),
        ],
    ),
    row(
        RefusalPageUnreadable,
        "refusal-page-unreadable",
        "callbacks",
        "a refused authorization request ends on a challenge page (200, a form, no error code) instead of an error page: the gate cannot see the refusal, so the callback checks are not verifiable, never passed",
        &[
            caught("HG-REDIR-02", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-03", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-04", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-05", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-06", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-07", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-08", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-REDIR-10", "a page the driver does not understand: status 200, title 'Verify you are human'"),
            caught("HG-CLIENT-01", "a page the driver does not understand: status 200, title 'Verify you are human'"),
        ],
    ),
    row(
        AppReusedByIntegration,
        "app-reused-by-integration",
        "app",
        "the reporting dashboard's integration was moved onto the agent's app: its callback is listed there and its own app is gone",
        &[caught(
            "HG-DECL-02 the agent's External Client App is dedicated to it",
            "callbacks not the agent's [\"http://127.0.0.1:53682/callback\"]",
        )],
    ),
    row(
        AppScopesWidened,
        "app-scopes-widened",
        "app",
        "the agent's app also grants api and web (so GRANT-07's wider request is granted, rightly, by the app)",
        &[
            caught(
                "HG-DECL-02 the agent's External Client App is dedicated to it",
                "observed scopes [\"api\", \"mcp_api\", \"refresh_token\", \"web\"]",
            ),
            caught(
                "HG-GRANT-07 scopes beyond the app's are refused or left out (api)",
                "observed granted 'mcp_api refresh_token api'",
            ),
            caught(
                "HG-GRANT-07 scopes beyond the app's are refused or left out (web)",
                "observed granted 'mcp_api refresh_token web'",
            ),
            caught("HG-ECA-05", "observed api, web"),
        ],
    ),
    row(
        PkceOptional,
        "pkce-optional",
        "pkce",
        "an authorization request without a code challenge is served",
        &[caught("HG-PKCE-01", "observed a code"), caught("HG-ECA-02", "observed false")],
    ),
    row(
        PkcePlain,
        "pkce-plain",
        "pkce",
        "the plain method is accepted, also by default when no method is sent",
        &[caught("HG-PKCE-02", "observed a code"), caught("HG-PKCE-03", "observed a code")],
    ),
    row(
        PkceVerifierUnchecked,
        "pkce-verifier-unchecked",
        "pkce",
        "the token endpoint does not check the code verifier",
        &[
            caught("HG-PKCE-05", "observed 200 (no error code)"),
            caught("HG-PKCE-06", "observed 200 (no error code)"),
            caught("HG-PKCE-07", "observed 200 (no error code)"),
            caught("HG-PKCE-08", "observed 200 (no error code)"),
            caught(
                "HG-PKCE-09 a code issued against a challenge is not redeemed without its verifier (basic-auth)",
                "observed 200 (no error code)",
            ),
        ],
    ),
    row(
        PkceVerifierWithoutChallenge,
        "pkce-verifier-without-challenge",
        "pkce",
        "a code issued without a challenge is redeemed with any verifier (PKCE downgrade)",
        &[caught("HG-PKCE-01", "observed a code")],
    ),
    row(
        PkceSkippedForBasicAuth,
        "pkce-skipped-for-basic-auth",
        "pkce",
        "a client that authenticates with HTTP Basic redeems a code without the verifier its challenge asked for",
        &[caught(
            "HG-PKCE-09 a code issued against a challenge is not redeemed without its verifier (basic-auth)",
            "observed 200 (no error code)",
        )],
    ),
    row(
        CodeAsRefreshToken,
        "code-as-refresh-token",
        "codes",
        "the refresh grant takes an unredeemed authorization code as a refresh token, no verifier asked",
        &[caught(
            "HG-PKCE-09 a code issued against a challenge is not redeemed without its verifier (refresh-grant)",
            "observed 200 (no error code)",
        )],
    ),
    row(
        UnknownClientRedirects,
        "unknown-client-redirects",
        "callback URLs",
        "an authorization request from an unknown client is answered with an error redirect to whatever callback it names",
        &[caught("HG-CLIENT-01", "observed a redirect to https://evil.example")],
    ),
    row(
        IssMissingOnErrors,
        "iss-missing-on-errors",
        "callback URLs",
        "error redirects to the callback leave out the iss parameter the metadata advertises (RFC 9207)",
        &[caught("HG-ISS-01 every authorization response carries the issuer (error)", "observed no iss")],
    ),
    row(
        PkceUnknownMethod,
        "pkce-unknown-method",
        "pkce",
        "an unknown code_challenge_method (S512) is accepted and treated as S256",
        &[caught("HG-PKCE-04", "observed a code")],
    ),
    row(
        CodeReusable,
        "code-reusable",
        "codes",
        "an authorization code can be redeemed again, and concurrently",
        &[
            caught("HG-CODE-01", "observed 200 (no error code)"),
            caught("HG-CODE-02", "expected 401, observed 200"),
            caught("HG-CODE-03", "observed 10 successes"),
        ],
    ),
    row(
        CodeReuseRace,
        "code-reuse-race",
        "codes",
        "a code is marked redeemed only after its tokens are issued (check, then act): a replay is refused, but redemptions in flight together all win",
        &[caught("HG-CODE-03", "expected exactly 1 success, observed")],
    ),
    row(
        CodeAnyClient,
        "code-any-client",
        "codes",
        "a code is not bound to the client it was issued to",
        &[caught("HG-CODE-04", "observed 200 (no error code)")],
    ),
    row(
        CodeNoExpiry,
        "code-no-expiry",
        "codes",
        "authorization codes never expire",
        &[caught("HG-CODE-05", "observed 200 (no error code)")],
    ),
    row(
        RefreshNotRotated,
        "refresh-not-rotated",
        "refresh",
        "a refresh token stays valid after use, so a replay goes unnoticed",
        &[
            caught("HG-RT-02", "expected 400 with invalid_grant, observed 200 (no error code)"),
            caught("HG-REV-10", "expected 400 with invalid_grant, observed 200"),
            caught("HG-ECA-03", "observed false"),
        ],
    ),
    row(
        RefreshAnyClient,
        "refresh-any-client",
        "refresh",
        "a refresh token is bound to no client",
        &[caught("HG-RT-03", "observed 200 (no error code)")],
    ),
    row(
        RefreshWidensScope,
        "refresh-widens-scope",
        "refresh",
        "a refresh grants any scope it asks for, beyond the original grant",
        &[caught("HG-RT-04", "observed 200 scope 'mcp_api refresh_token full'")],
    ),
    row(
        TokenScopeWidened,
        "token-scope-widened",
        "refresh",
        "the token endpoint grants any scope a code exchange asks for, beyond the authorization's",
        &[caught("HG-SCOPE-02", "observed 200 scope 'mcp_api refresh_token full'")],
    ),
    row(
        RevocationDelay,
        "revocation-delay",
        "revocation",
        "revocation takes effect only after 2000 ms (a validation cache)",
        &[
            caught("HG-CODE-02", "expected 401, observed 200"),
            caught("HG-REV-01 a revoked access token is dead on the next call", "expected 401, observed 200"),
            caught(
                "HG-REV-01 introspection tells a revoked access token from a live one",
                "observed 200 active=Some(Bool(true))",
            ),
            caught("HG-REV-02", "expected 401, observed 200"),
            caught("HG-REV-03", "expected a stale window of 0"),
            caught("HG-REV-05", "expected 401, observed 200"),
            caught("HG-RS-09 a session whose token was revoked", "observed 200 (no error code)"),
            caught("HG-RT-02", "expected 401, observed 200"),
            // The cache outlives the samples on a quick machine; on a slow one the last samples
            // may land after it expires: the MCP window failed either way.
            caught("HG-REV-09 the Connect API's revocation of a user's tokens", WINDOW_FAILED_ON_MCP),
            caught("HG-REV-09 the Connect API's revocation of every token", WINDOW_FAILED_ON_MCP),
            caught("HG-REV-10", WINDOW_FAILED_ON_MCP),
        ],
    ),
    row(
        RefreshRevocationNoCascade,
        "refresh-revocation-no-cascade",
        "revocation",
        "revoking a refresh token leaves the access tokens it issued alive",
        &[caught("HG-REV-02", "expected 401, observed 200")],
    ),
    row(
        McpNoRevocationCheck,
        "mcp-no-revocation-check",
        "revocation",
        "the MCP server validates JWTs locally and never consults revocation",
        &[
            // The agent's token reaches REST no more (mcp_api only): every token check's resource
            // server is the MCP server, so each revocation that the MCP server ignores shows.
            caught("HG-REV-01 a revoked access token is dead on the next call", "expected 401, observed 200"),
            caught("HG-REV-02", "expected 401, observed 200"),
            caught("HG-REV-03", "expected a stale window of 0"),
            caught("HG-REV-05", "expected 401, observed 200"),
            caught("HG-RT-02", "expected 401, observed 200"),
            caught("HG-CODE-02", "expected 401, observed 200"),
            caught("HG-RS-09 a session whose token was revoked", "observed 200 (no error code)"),
            caught("HG-REV-09 the Connect API's revocation of a user's tokens", "MCP: still accepted after 12 samples"),
            caught("HG-REV-09 the Connect API's revocation of every token", "MCP: still accepted after 12 samples"),
            caught("HG-REV-10", "MCP: still accepted after 12 samples"),
        ],
    ),
    row(
        FrozenTokensLive,
        "frozen-tokens-live",
        "revocation",
        "a frozen user's tokens keep working",
        &[caught("HG-REV-04 when the admin freezes the user", "expected 401, observed 200")],
    ),
    row(
        ConnectRevokeRefreshOnly,
        "connect-revoke-refresh-only",
        "revocation",
        "the Connect API's revocation of an app's tokens (per user or per app) deletes the refresh tokens only; the access tokens live until they expire",
        &[
            caught("HG-REV-09 the Connect API's revocation of a user's tokens", "MCP: still accepted after 12 samples"),
            caught("HG-REV-09 the Connect API's revocation of every token", "MCP: still accepted after 12 samples"),
        ],
    ),
    row(
        PermissionSetCached,
        "permission-set-cached",
        "revocation",
        "a user's permission sets are read once, as assigned when the org was loaded: removing an assignment takes nothing away until a restart",
        &[caught("HG-REV-08 removing the permission set", "MCP: still accepted after 12 samples")],
    ),
    row(
        KillSwitchIgnored,
        "kill-switch-ignored",
        "revocation",
        "revoking an app's access for a user leaves its tokens alive",
        &[caught("HG-REV-05", "expected 401, observed 200")],
    ),
    row(
        RevokeAnyClient,
        "revoke-any-client",
        "revocation",
        "any client may revoke any token, not only its own",
        &[caught("HG-REV-06", "expected 200 from the resource server, observed 401")],
    ),
    row(
        McpAudienceUnchecked,
        "mcp-audience-unchecked",
        "resource server",
        "with per-server audiences (this fault sets the org to them), the MCP server accepts tokens issued for other resources",
        &[caught("HG-RS-06", "observed 200 (no error code)")],
    ),
    row(
        TokenAudienceBroad,
        "token-audience-broad",
        "resource server",
        "tokens name a resource beyond the platform in their audience",
        &[caught("HG-RS-06", "nothing beyond it, observed aud")],
    ),
    row(
        RestServesMcpTokens,
        "rest-serves-mcp-tokens",
        "resource server",
        "REST takes the agent's mcp_api token and answers it as the org's integration user",
        &[caught("HG-RS-11 the agent's token replayed at REST", "observed 200 with the record")],
    ),
    row(
        McpSignatureUnchecked,
        "mcp-signature-unchecked",
        "resource server",
        "the MCP server does not verify signatures (alg none accepted)",
        &[
            caught("HG-RS-04 forged tokens are refused (alg-none)", "observed 200 (no error code)"),
            caught("HG-RS-04 forged tokens are refused (stripped-signature)", "observed 200 (no error code)"),
            caught("HG-RS-04 forged tokens are refused (untrusted-key)", "observed 200 (no error code)"),
        ],
    ),
    row(
        McpExpiryUnchecked,
        "mcp-expiry-unchecked",
        "resource server",
        "the MCP server accepts expired tokens",
        &[caught("HG-RS-05", "observed 200 (no error code)")],
    ),
    row(
        McpQueryToken,
        "mcp-query-token",
        "resource server",
        "the MCP server accepts a token in the access_token query parameter",
        &[caught("HG-RS-07", "observed 200 (no error code)")],
    ),
    row(
        McpNoChallenge,
        "mcp-no-challenge",
        "resource server",
        "401 answers carry no WWW-Authenticate challenge (RFC 6750 §3 requires one; the metadata is still at the well-known URI)",
        &[caught("HG-RS-01", "observed 401 WWW-Authenticate: \"\"")],
    ),
    row(
        McpOriginUnchecked,
        "mcp-origin-unchecked",
        "resource server",
        "the Origin header is not validated",
        &[caught("HG-TRN-01", "expected 403, observed 200")],
    ),
    row(
        McpOriginLoopback,
        "mcp-origin-loopback",
        "resource server",
        "any loopback Origin on any port, and the opaque `null` Origin, are taken for the org's own",
        &[
            caught("HG-TRN-01 a foreign Origin is refused (http://127.0.0.1:1)", "expected 403, observed 200"),
            caught("HG-TRN-01 a foreign Origin is refused (http://localhost:1)", "expected 403, observed 200"),
            caught("HG-TRN-01 a foreign Origin is refused (null)", "expected 403, observed 200"),
        ],
    ),
    row(
        McpMetadataScopesWidened,
        "mcp-metadata-scopes-widened",
        "resource server",
        "the protected-resource metadata offers sfap_api beside mcp_api, a scope the rollout never declared",
        &[caught("HG-SCOPE-01 the MCP server offers no scope beyond the declared set", "observed also 'sfap_api'")],
    ),
    row(
        TokenScopeClaimWidened,
        "token-scope-claim-widened",
        "codes",
        "access tokens carry sfap_api in their scp claim though the token answer names only the grant",
        &[caught(
            "HG-SCOPE-01 the access token carries exactly the declared set",
            "observed 'mcp_api refresh_token sfap_api'",
        )],
    ),
    row(
        McpMetadataWrongResource,
        "mcp-metadata-wrong-resource",
        "resource server",
        "the protected-resource metadata names the org's URL as its resource, not the MCP server's",
        &[caught("HG-RS-02", "expected resource http")],
    ),
    row(
        McpSessionIsCredential,
        "mcp-session-is-credential",
        "resource server",
        "a request with a session id and no token runs as the session's user",
        &[caught("HG-RS-09 a session is no credential", "observed 200 (no error code)")],
    ),
    row(
        McpSessionUnbound,
        "mcp-session-unbound",
        "resource server",
        "a session keeps the identity of its opener whatever other token comes with it",
        &[
            caught("HG-RS-10", "observed answered as \"agent.service@acme.test\""),
            caught("HG-ISO-01 a session or state handle", "prompt answered with"),
        ],
    ),
    row(
        McpProgressByRpcId,
        "mcp-progress-by-rpc-id",
        "resource server",
        "stateless era (run in it; with sessions the SDK routes a notification to the request of its token, so a wrong one is dropped): progress tokens are booked by JSON-RPC id across callers, and clients whose calls share an id at once are sent each other's progress notifications",
        &[caught(
            "HG-ISO-02 clients whose JSON-RPC ids collide never get each other's answers",
            "progress notification",
        )],
    ),
    row(
        McpRequestStateUnbound,
        "mcp-request-state-unbound",
        "resource server",
        "stateless era (run in it): a record prompt's requestState handle is served to whoever presents it, with the credential of the user it was issued to",
        &[caught("HG-ISO-01 a session or state handle", "prompt answered with")],
    ),
    row(
        McpScopeUnchecked,
        "mcp-scope-unchecked",
        "resource server",
        "the MCP server serves tokens without the mcp_api scope",
        &[caught("HG-RS-08", "(or 401), observed 200")],
    ),
    row(
        McpMalformedAuthAnonymous,
        "mcp-malformed-auth-anonymous",
        "resource server",
        "an Authorization header that is not a bearer token (Basic, a bare word, an empty Bearer) is let through as an anonymous caller",
        &[
            caught("HG-RS-03 malformed authorization is refused (basic)", "observed 200 (no error code)"),
            caught("HG-RS-03 malformed authorization is refused (empty)", "observed 200 (no error code)"),
            caught("HG-RS-03 malformed authorization is refused (foo)", "observed 200 (no error code)"),
        ],
    ),
    row(
        McpTrustsIdentityHeader,
        "mcp-trusts-identity-header",
        "resource server",
        "a request without a token is served as the user an X-Forwarded-User header names, as behind a proxy trusted blindly",
        &[
            caught(
                "HG-DOOR-03 tools/call without a token is refused on a fresh connection (X-Forwarded-User)",
                "observed 400",
            ),
            caught(
                "HG-DOOR-03 prompts/get without a token is refused on a fresh connection (X-Forwarded-User)",
                "observed 400",
            ),
        ],
    ),
    row(
        ToolsByUserPermissions,
        "tools-by-user-permissions",
        "catalog and audit",
        "a read server lists its write tools too to a user who may edit some object (the restricted persona), though the agent never sees them",
        &[
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "reads: createSobjectRecord added",
            ),
            caught("HG-PIN-02", "observed createSobjectRecord (writes)"),
        ],
    ),
    row(
        ToolRugPull,
        "tool-rug-pull",
        "catalog and audit",
        "after a session's first tool call the identity tool's description gains an instruction, announced with notifications/tools/list_changed (a rug pull)",
        &[caught(
            "HG-PIN-03 no tool definition changes within a session",
            "observed mid-session: primary: getUserInfo changed",
        )],
    ),
    row(
        McpAnswersByRpcId,
        "mcp-answers-by-rpc-id",
        "resource server",
        "a gateway multiplexes callers onto the MCP server and matches answers by JSON-RPC id alone: clients whose requests share an id at once get each other's answers",
        &[caught(
            "HG-ISO-02 clients whose JSON-RPC ids collide never get each other's answers",
            "calls crossed: client",
        )],
    ),
    row(
        McpResourceWithoutPipeline,
        "mcp-resource-without-pipeline",
        "permissions",
        "the record resource template is served in system mode: no object permission, field-level security or sharing",
        &[
            caught(
                "HG-DOOR-01 a record not shared with the agent is not read as a resource",
                "observed resource read answered with 3 of its 3 proven value(s)",
            ),
            caught(
                "HG-DOOR-01 a record not shared with the agent is not read through a resource listed",
                "observed listed resource read answered with 3 of its 3 proven value(s)",
            ),
            caught(
                "HG-DOOR-01 an object without Read permission is not read as a resource",
                "observed resource read answered with 2 of its 2 proven value(s)",
            ),
            caught(
                "HG-DOOR-01 a field hidden by field-level security is not read as a resource",
                "observed resource read answered with 1 of its 1 proven value(s)",
            ),
        ],
    ),
    row(
        McpPromptWithoutPipeline,
        "mcp-prompt-without-pipeline",
        "permissions",
        "the record prompt embeds the record read in system mode",
        &[caught(
            "HG-DOOR-02 a prompt naming a record not shared with the agent embeds none of it",
            "observed prompt answered with 3 of its 3 proven value(s)",
        )],
    ),
    row(
        McpCompletionLeaks,
        "mcp-completion-leaks",
        "permissions",
        "record-id completions are drawn from every record, not the ones the user may read",
        &[
            caught(
                "HG-DOOR-02 completions never suggest a record not shared with the agent",
                "observed completion answered with 1 of its 1 proven value(s)",
            ),
            caught(
                "HG-DOOR-02 completions of the record template never suggest",
                "observed template completion answered with 1 of its 1 proven value(s)",
            ),
        ],
    ),
    row(
        McpAnyProtocolVersion,
        "mcp-any-protocol-version",
        "transport",
        "an unsupported MCP-Protocol-Version is rewritten to a supported one instead of refused",
        &[caught("HG-TRN-02", "expected 400, observed 200")],
    ),
    row(
        McpSessionOptional,
        "mcp-session-optional",
        "transport",
        "a request without Mcp-Session-Id is served on one of the caller's open sessions instead of refused",
        &[caught("HG-TRN-03 a stateful request without its session id", "expected 400, observed 200")],
    ),
    row(
        ToolIgnoresFls,
        "tool-ignores-fls",
        "permissions",
        "MCP tools skip field-level security (reads, and writes to read-only fields)",
        &[
            caught("HG-PERM-02 through MCP", "expected isError with INVALID_FIELD, observed isError=false"),
            caught(
                "HG-PERM-05 through MCP",
                "expected isError with INVALID_FIELD_FOR_INSERT_UPDATE, observed isError=false",
            ),
            caught("HG-SYS-01", "observed soqlQuery with"),
        ],
    ),
    row(
        RestIgnoresFls,
        "rest-ignores-fls",
        "permissions",
        "the REST API skips field-level security: reads, queries and describes show fields hidden from the user, and read-only fields are written",
        &[
            caught(
                "HG-PERM-02 the agent cannot see",
                "observed Account.BillingStreet: expected 400 INVALID_FIELD, observed 200",
            ),
            caught("HG-PERM-05 a read-only field", "expected 400 INVALID_FIELD_FOR_INSERT_UPDATE, observed 204"),
            caught("HG-LP-02", "Account.BillingStreet readable"),
        ],
    ),
    row(
        ToolWithoutSharing,
        "tool-without-sharing",
        "permissions",
        "MCP tools skip sharing at run time while their Apex source says `with sharing`",
        &[
            caught("HG-PERM-03 through MCP", "expected isError with NOT_FOUND, observed isError=false"),
            caught("HG-SYS-01", "getCaseHealthSummary with {\"caseId\":\"500000000000003\"} leaked case.Subject"),
            caught("HG-SYS-04", "getCaseHealthSummary: the scan says user mode, the probe saw a canary"),
        ],
    ),
    row(
        LeakInToolError,
        "leak-in-tool-error",
        "permissions",
        "getCaseHealthSummary refuses a case the user may not see, but its error names the case's subject (so the scan's user-mode verdict and the probe disagree too)",
        &[
            caught("HG-SYS-01", "leaked [0].message"),
            caught("HG-SYS-04", "getCaseHealthSummary: the scan says user mode, the probe saw a canary"),
        ],
    ),
    row(
        WriteToolIgnoresCrud,
        "write-tool-ignores-crud",
        "permissions",
        "updateSobjectRecord is exposed on the reads server, and the write tools write in system mode (no CRUD, FLS or sharing)",
        &[
            caught("HG-CAT-01", "not on the allowlist: updateSobjectRecord"),
            caught("HG-CAT-02", "updateSobjectRecord has side effects in a read-only rollout"),
            caught("HG-DECL-03", "not read-only: updateSobjectRecord"),
            caught(
                "HG-PERM-04 through MCP",
                "expected isError with INSUFFICIENT_ACCESS_OR_READONLY, observed isError=false",
            ),
            caught(
                "HG-PERM-05 through MCP",
                "expected isError with INVALID_FIELD_FOR_INSERT_UPDATE, observed isError=false",
            ),
            caught("HG-SYS-02", "updateSobjectRecord changed Case"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "reads: updateSobjectRecord added"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "reads: updateSobjectRecord added",
            ),
            caught("HG-PIN-02", "observed updateSobjectRecord (writes)"),
        ],
    ),
    row(
        SystemModeApexTool,
        "system-mode-apex-tool",
        "permissions",
        "getCaseHealthSummary runs CaseHealthActionUnsafe (`without sharing`, no USER_MODE) in system mode",
        &[
            caught("HG-PERM-03 through MCP", "expected isError with NOT_FOUND, observed isError=false"),
            caught("HG-SYS-01", "getCaseHealthSummary with {\"caseId\":\"500000000000003\"} leaked case.Subject"),
            caught("HG-SYS-03", "APEX-WITHOUT-SHARING class CaseHealthActionUnsafe"),
        ],
    ),
    row(
        ApiEnabledIgnored,
        "api-enabled-ignored",
        "permissions",
        "users without API Enabled are served",
        &[
            caught(
                "HG-PERM-06 a user without API Enabled is refused by the API",
                "expected 403 API_DISABLED_FOR_ORG, observed 200",
            ),
            caught("HG-PERM-06 through MCP", "expected isError with API_DISABLED_FOR_ORG, observed isError=false"),
        ],
    ),
    row(
        NotPreAuthorizedAllowed,
        "not-pre-authorized-allowed",
        "permissions",
        "users not pre-authorized for an admin-approved app get codes",
        &[caught("HG-PERM-07", "expected no code, observed a code was issued")],
    ),
    row(
        DeactivatedTokensLiveOnMcp,
        "deactivated-tokens-live-on-mcp",
        "revocation",
        "the MCP servers check only whether a user is frozen, so a deactivated user's tokens still work there (REST refuses them)",
        &[
            caught("HG-REV-07", "MCP: still accepted after 12 samples"),
            caught("HG-REV-04 when the admin deactivates the user", "expected 401, observed 200"),
        ],
    ),
    row(
        RefreshTokenInfinite,
        "refresh-token-infinite",
        "app",
        "the agent's app keeps refresh tokens valid until revoked (its metadata's refreshTokenPolicyType is Infinite)",
        &[caught("HG-ECA-04", "observed Infinite")],
    ),
    row(
        AppSelfAuthorized,
        "app-self-authorized",
        "app",
        "the agent's app lets every user authorize it (AllSelfAuthorized) instead of admin-approved users of its permission set",
        &[caught("HG-ECA-06", "observed AllSelfAuthorized"), caught("HG-PERM-07", "observed a code was issued")],
    ),
    row(
        AppIpRelaxed,
        "app-ip-relaxed",
        "app",
        "the agent's app relaxes IP restrictions (Bypass) where the rollout declares them enforced",
        &[caught("HG-ECA-07", "observed Bypass")],
    ),
    row(
        PermissionSetDrift,
        "permission-set-drift",
        "least privilege",
        "the agent's permission set gained Read on Account.BillingCity, beyond its action list",
        &[caught("HG-LP-02", "observed Account.BillingCity readable")],
    ),
    row(
        AgentViewAllData,
        "agent-view-all-data",
        "least privilege",
        "the agent's permission set holds View All Data (every object and record readable; the clean Apex then leaks too; nothing the agent reads is denied, so HG-AUD-02 has no denial to find in the log)",
        &[
            caught("HG-AUD-02 denied", "(0 refused), so the log has nothing to tell apart"),
            caught(
                "HG-DOOR-01 a record not shared with the agent is not read as a resource",
                "observed resource read answered with 3 of its 3 proven value(s)",
            ),
            caught(
                "HG-DOOR-01 an object without Read permission is not read as a resource",
                "observed resource read answered with 1 of its 2 proven value(s)",
            ),
            caught(
                "HG-DOOR-02 a prompt naming a record not shared with the agent embeds none of it",
                "observed prompt answered with 3 of its 3 proven value(s)",
            ),
            caught(
                "HG-DOOR-02 completions never suggest a record not shared with the agent",
                "observed completion answered with 1 of its 1 proven value(s)",
            ),
            caught(
                "HG-DOOR-01 a record not shared with the agent is not read through a resource listed",
                "observed listed resource read answered with 3 of its 3 proven value(s)",
            ),
            caught(
                "HG-DOOR-02 completions of the record template never suggest",
                "observed template completion answered with 1 of its 1 proven value(s)",
            ),
            caught("HG-LP-01", "\"Opportunity\"]"),
            caught("HG-LP-03", "observed ViewAllData"),
            caught("HG-PERM-01 the agent cannot read", "expected 404 NOT_FOUND, observed 200"),
            caught("HG-PERM-01 through MCP", "expected isError with INVALID_TYPE, observed isError=false"),
            caught("HG-PERM-03 the agent never sees", "expected 404 NOT_FOUND, observed 200"),
            caught("HG-PERM-03 through MCP", "expected isError with NOT_FOUND, observed isError=false"),
            caught("HG-SYS-01", "getCaseHealthSummary with {\"caseId\":\"500000000000003\"} leaked case.Subject"),
            caught("HG-SYS-04", "getCaseHealthSummary: the scan says user mode, the probe saw a canary"),
            // The right sits in the app's permission set, a second grant that HG-REV-08's removal
            // of the agent's object set leaves: the org says so, and the row cannot be shown.
            caught("HG-REV-08 removing the permission set", "another grant than app.agent_permission_set opens it"),
        ],
    ),
    row(
        LongLivedTokens,
        "long-lived-tokens",
        "lifetime",
        "access tokens live 24 hours",
        &[caught("HG-RT-05", "expected at most 60 minutes, observed 1440 minutes")],
    ),
    row(
        OpaqueAccessTokens,
        "opaque-access-tokens",
        "lifetime",
        "access tokens are opaque handles (a session id) without expires_in, as Salesforce issues them: the forgeries have nothing to forge and the token names no scope of its own (not applicable), and no lifetime or audience can be read (not verifiable)",
        &[
            caught("HG-RS-04", "the target's access tokens are opaque (not JWTs)"),
            caught("HG-RT-05", "the access token is opaque and its answer has no expires_in"),
            caught("HG-SCOPE-01 the access token carries exactly the declared set", "the access token is opaque"),
            caught("HG-RS-06 the agent's token names", "the access token is opaque, so its audience cannot be read"),
        ],
    ),
    row(
        NoRateLimit,
        "no-rate-limit",
        "lifetime",
        "no per-user request rate is enforced",
        &[caught("HG-LIM-01", "requests served")],
    ),
    row(
        ToolOutsideAllowlist,
        "tool-outside-allowlist",
        "catalog",
        "the custom server exposes getCaseDetails, which the rollout does not allow",
        &[
            caught("HG-CAT-01", "not on the allowlist: getCaseDetails"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: getCaseDetails added"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "custom: getCaseDetails added",
            ),
            caught("HG-PIN-02", "observed getCaseDetails (not on the allowlist)"),
        ],
    ),
    row(
        BulkExportTool,
        "bulk-export-tool",
        "catalog",
        "a bulk export tool is added to the agent's custom server: off the allowlist (CAT-01) and broad without the rollout naming it (CAT-03)",
        &[
            caught("HG-CAT-01", "not on the allowlist: exportCases"),
            caught("HG-CAT-03", "undeclared: exportCases"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: exportCases added"),
            caught("HG-PIN-01 the restricted persona is offered exactly the pinned tools", "custom: exportCases added"),
            caught("HG-PIN-02", "observed exportCases (broad)"),
        ],
    ),
    row(
        CredentialInToolDescription,
        "credential-in-tool-description",
        "catalog",
        "a tool description carries an API key",
        &[
            caught("HG-CAT-04", "getCaseHealthSummary carries an inline secret"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: getCaseHealthSummary changed"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "custom: getCaseHealthSummary changed",
            ),
        ],
    ),
    row(
        CredentialInSchemaDefault,
        "credential-in-schema-default",
        "catalog",
        "a tool's input schema gives its argument a live API key as the default",
        &[
            caught("HG-CAT-04", "getCaseHealthSummary carries an API key (sk-...)"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: getCaseHealthSummary changed"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "custom: getCaseHealthSummary changed",
            ),
        ],
    ),
    row(
        CredentialInAnnotation,
        "credential-in-annotation",
        "catalog",
        "a tool's annotation title carries an AWS access key",
        &[
            caught("HG-CAT-04", "getCaseHealthSummary carries an AWS access key"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: getCaseHealthSummary changed"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "custom: getCaseHealthSummary changed",
            ),
        ],
    ),
    row(
        ToolsListPaged,
        "tools-list-paged",
        "catalog",
        "tools/list answers one tool a page, and getCaseDetails (not on the allowlist) is on the custom server's second page",
        &[
            caught("HG-CAT-01", "not on the allowlist: getCaseDetails"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: getCaseDetails added"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "custom: getCaseDetails added",
            ),
            caught("HG-PIN-02", "observed getCaseDetails (not on the allowlist)"),
        ],
    ),
    row(
        UnusualIdArgument,
        "unusual-id-argument",
        "permissions",
        "getCaseBrief (off the allowlist) runs CaseHealthActionUnsafe in system mode and takes its case id as `ticket`, a name no id pattern matches",
        &[
            caught("HG-CAT-01", "not on the allowlist: getCaseBrief"),
            caught("HG-SYS-01", "getCaseBrief with {\"ticket\":\"500000000000003\"} leaked case.Subject"),
            caught("HG-SYS-03", "getCaseBrief (CaseHealthActionUnsafe)"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: getCaseBrief added"),
            caught(
                "HG-PIN-01 the restricted persona is offered exactly the pinned tools",
                "custom: getCaseBrief added",
            ),
            caught("HG-PIN-02", "observed getCaseBrief (not on the allowlist)"),
        ],
    ),
    row(
        DestructiveToolUnmarked,
        "destructive-tool-unmarked",
        "catalog",
        "closeCase, which overwrites a case's status, is exposed without destructiveHint or approval",
        &[
            caught("HG-CAT-01", "not on the allowlist: closeCase"),
            caught("HG-CAT-02", "closeCase has side effects in a read-only rollout"),
            caught("HG-DECL-03", "not read-only: closeCase"),
            caught("HG-PIN-01 the agent is offered exactly the pinned tools", "custom: closeCase added"),
            caught("HG-PIN-01 the restricted persona is offered exactly the pinned tools", "custom: closeCase added"),
            caught("HG-PIN-02", "observed closeCase (writes)"),
        ],
    ),
    row(
        HistoryTrackingOff,
        "history-tracking-off",
        "audit",
        "the agent may edit Case.Status (a read-write phase in the making) and Case's field history tracking is off",
        &[
            caught("HG-AUD-05 every object", "agent edits untracked objects: Case"),
            caught("HG-AUD-05 twin", "csr edits untracked objects: Case"),
            caught("HG-LP-02", "Case.Status editable"),
            // Edit on Case brings the owner field: the agent could hand cases away.
            caught("HG-LP-02", "Case.OwnerId editable (the persona can give records away)"),
            caught("HG-PERM-04 the read-only agent", "expected 400 INSUFFICIENT_ACCESS_OR_READONLY, observed 204"),
            caught(
                "HG-PERM-04 through MCP",
                "expected isError with INSUFFICIENT_ACCESS_OR_READONLY, observed isError=false",
            ),
            // Case edit sits in the app's permission set: a second grant of Case (HG-REV-08).
            caught("HG-REV-08 removing the permission set", "another grant than app.agent_permission_set opens it"),
        ],
    ),
    row(
        AuditMissingApp,
        "audit-missing-app",
        "audit",
        "audit records omit the connected app the call came through",
        &[caught("HG-AUD-01 every REST", "the row names app '', not Headless_Service_Agent")],
    ),
    row(
        AuditMissingUser,
        "audit-missing-user",
        "audit",
        "audit records omit the user",
        &[caught("HG-AUD-01 every REST", "the row names no user"), caught("HG-AUD-04", "attributed to \"\"")],
    ),
    row(
        AuditMissingDenied,
        "audit-missing-denied",
        "audit",
        "denied calls are not audited",
        &[caught("HG-AUD-01 every REST", "no event log row"), caught("HG-AUD-02 denied", "no event log row")],
    ),
    row(
        TokenInAuditLog,
        "token-in-audit-log",
        "audit",
        "audit records carry the bearer token itself",
        &[caught("HG-AUD-03", "a credential of the run is in SESSION_KEY")],
    ),
    row(
        IntegrationUserAttribution,
        "integration-user-attribution",
        "audit",
        "tool calls are attributed to a shared integration user instead of the end user",
        &[caught("HG-AUD-04", "attributed to \"005000000000001\"")],
    ),
    row(
        LoginHistoryOff,
        "login-history-off",
        "audit",
        "no login attempt is recorded in LoginHistory",
        &[
            caught("HG-AUD-01 a sign-in", "observed no row with Status Success"),
            caught("HG-AUD-02 a refused sign-in", "observed no row with a failed Status"),
        ],
    ),
    row(
        LoginHistoryMissesRefusals,
        "login-history-misses-refusals",
        "audit",
        "refused login attempts leave no row in LoginHistory, only successful ones do",
        &[caught("HG-AUD-02 a refused sign-in", "observed no row with a failed Status")],
    ),
];

/// A named bundle of faults, for demonstrations.
pub struct Profile {
    pub name: &'static str,
    pub what: &'static str,
    pub faults: &'static [Fault],
}

pub const PROFILES: &[Profile] = &[Profile {
    name: "legacy-org",
    what: "an org set up the old way: password flow on, PKCE optional, loose callbacks, no rotation, day-long tokens",
    faults: &[PasswordGrant, PkceOptional, RedirectPrefix, RefreshNotRotated, LongLivedTokens],
}];

pub fn spec(f: Fault) -> &'static FaultSpec {
    TABLE.iter().find(|s| s.fault == f).expect("every fault has a row")
}

/// The faults a name stands for: one row, or a profile.
pub fn lookup(name: &str) -> Option<Vec<Fault>> {
    if let Some(s) = TABLE.iter().find(|s| s.name == name) {
        return Some(vec![s.fault]);
    }
    PROFILES.iter().find(|p| p.name == name).map(|p| p.faults.to_vec())
}

pub fn unknown_fault(name: &str) -> String {
    let known: Vec<&str> = TABLE.iter().map(|s| s.name).chain(PROFILES.iter().map(|p| p.name)).collect();
    format!("unknown fault '{name}'; known: {}", known.join(", "))
}

/// The faults switched on in one org.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Faults(BTreeSet<Fault>);

impl Faults {
    pub fn on(&self, f: Fault) -> bool {
        self.0.contains(&f)
    }

    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|f| spec(*f).name).collect()
    }

    /// Every control that must fail with these faults on.
    pub fn expected_controls(&self) -> BTreeSet<&'static str> {
        self.0.iter().flat_map(|f| spec(*f).caught_by.iter().map(Catch::control)).collect()
    }

    pub(crate) fn insert(&mut self, f: Fault) -> bool {
        self.0.insert(f)
    }
}

impl Org {
    /// Switches faults on by name (a row or a profile), rewriting the declared org for the
    /// configuration faults. An unknown name or a fault the org cannot host is an error.
    pub fn enable_fault(&mut self, name: &str) -> Result<(), String> {
        let faults = lookup(name).ok_or_else(|| unknown_fault(name))?;
        for f in faults {
            if self.faults.insert(f) {
                configure(self, f).map_err(|e| format!("fault '{}': {e}", spec(f).name))?;
            }
        }
        Ok(())
    }
}

/// The agent's permission set: the first one pre-authorized for the first External Client App.
fn agent_permission_set(org: &mut Org) -> Result<&mut crate::model::PermissionSet, String> {
    let name = org
        .apps
        .first()
        .and_then(|a| a.permission_sets.first().cloned())
        .ok_or("the first External Client App pre-authorizes no permission set")?;
    org.permission_sets.get_mut(&name).ok_or_else(|| format!("permission set {name} is not declared"))
}

/// The server index and a copy of a declared custom tool, to derive a new tool from it.
fn custom_tool(org: &Org, tool: &str) -> Result<(usize, CustomTool), String> {
    org.mcp_servers
        .iter()
        .enumerate()
        .find_map(|(i, s)| s.custom_tools.iter().find(|t| t.name == tool).map(|t| (i, t.clone())))
        .ok_or_else(|| format!("no MCP server declares the custom tool {tool}"))
}

fn custom_tool_mut<'a>(org: &'a mut Org, tool: &str) -> Result<&'a mut CustomTool, String> {
    org.mcp_servers
        .iter_mut()
        .flat_map(|s| s.custom_tools.iter_mut())
        .find(|t| t.name == tool)
        .ok_or_else(|| format!("no MCP server declares the custom tool {tool}"))
}

fn configure(org: &mut Org, f: Fault) -> Result<(), String> {
    match f {
        // Faults of the agent's app change what its metadata says as well as how it behaves.
        PkceOptional | RefreshNotRotated | RefreshTokenInfinite | AppSelfAuthorized | AppIpRelaxed => {
            let app = org.apps.first_mut().ok_or("the org declares no External Client App")?;
            match f {
                PkceOptional => app.is_pkce_required = false,
                RefreshNotRotated => app.is_refresh_token_rotation_enabled = false,
                RefreshTokenInfinite => app.refresh_token_policy_type = "Infinite".into(),
                AppSelfAuthorized => app.admin_pre_authorized = false,
                _ => app.ip_relaxation_policy_type = "Bypass".into(),
            }
        }
        PermissionSetDrift => {
            let ps = agent_permission_set(org)?;
            ps.fields
                .insert(("Account".into(), "BillingCity".into()), crate::model::FieldPerms { read: true, edit: false });
        }
        AgentViewAllData => {
            agent_permission_set(org)?.user_permissions.insert("ViewAllData".into());
        }
        LongLivedTokens => {
            for app in &mut org.apps {
                app.access_token_lifetime_minutes = LONG_TOKEN_LIFETIME_MINUTES;
            }
        }
        AppReusedByIntegration => {
            let key = "3MVG9mockReportingDashboardKey0002";
            let i = org.apps.iter().position(|a| a.consumer_key == key).ok_or("no reporting dashboard app")?;
            let dashboard = org.apps.remove(i);
            let agent = org.apps.first_mut().ok_or("the org declares no External Client App")?;
            agent.callback_urls.extend(dashboard.callback_urls);
        }
        AppScopesWidened => {
            let agent = org.apps.first_mut().ok_or("the org declares no External Client App")?;
            agent.scopes.extend(["api".to_string(), "web".to_string()]);
        }
        ClientCredentials => {
            if let Some(app) = org.apps.first_mut() {
                app.is_client_credentials_flow_enabled = true;
            }
        }
        SystemModeApexTool => {
            let t = custom_tool_mut(org, "getCaseHealthSummary")?;
            t.apex_class = "CaseHealthActionUnsafe".into();
            t.system_mode = true;
            agent_permission_set(org)?.class_accesses.insert("CaseHealthActionUnsafe".into());
        }
        BulkExportTool => {
            let (i, mut t) = custom_tool(org, "getCaseHealthSummary")?;
            t.name = "exportCases".into();
            t.description = "Exports the cases the user can see, in bulk.".into();
            org.mcp_servers[i].custom_tools.push(t);
        }
        ToolOutsideAllowlist => {
            let (i, mut t) = custom_tool(org, "getCaseHealthSummary")?;
            t.name = "getCaseDetails".into();
            t.description = "Reads a case with its history.".into();
            org.mcp_servers[i].custom_tools.push(t);
        }
        DestructiveToolUnmarked => {
            let (i, mut t) = custom_tool(org, "getCaseHealthSummary")?;
            t.name = "closeCase".into();
            t.description = "Closes a case.".into();
            t.apex_class = "CaseCloseAction".into();
            t.system_mode = false;
            t.read_only_hint = false;
            t.destructive_hint = false;
            org.mcp_servers[i].custom_tools.push(t);
            agent_permission_set(org)?.class_accesses.insert("CaseCloseAction".into());
        }
        HistoryTrackingOff => {
            let ps = agent_permission_set(org)?;
            ps.objects.entry("Case".into()).or_default().edit = true;
            ps.fields.insert(("Case".into(), "Status".into()), crate::model::FieldPerms { read: true, edit: true });
            let case = org.objects.iter_mut().find(|o| o.name == "Case").ok_or("the org declares no Case object")?;
            case.history_tracked_fields.clear();
        }
        CredentialInSchemaDefault => {
            custom_tool_mut(org, "getCaseHealthSummary")?.argument_default =
                Some("sk-live-4eC39HqLyjWDarjtT1zdp7dcQx".into());
        }
        CredentialInAnnotation => {
            custom_tool_mut(org, "getCaseHealthSummary")?.title = Some("Case health (AKIAIOSFODNN7EXAMPLE)".into());
        }
        ToolsListPaged => configure(org, ToolOutsideAllowlist)?,
        UnusualIdArgument => {
            let (i, mut t) = custom_tool(org, "getCaseHealthSummary")?;
            t.name = "getCaseBrief".into();
            t.description = "A short brief of a case.".into();
            t.argument = "ticket".into();
            t.apex_class = "CaseHealthActionUnsafe".into();
            t.system_mode = true;
            org.mcp_servers[i].custom_tools.push(t);
            agent_permission_set(org)?.class_accesses.insert("CaseHealthActionUnsafe".into());
        }
        CredentialInToolDescription => {
            custom_tool_mut(org, "getCaseHealthSummary")?.description.push_str(
                " Calls the health service with api_key=sk_live_4eC39HqLyjWDarjtT1zdp7dc (set in the Named Credential).",
            );
        }
        WriteToolIgnoresCrud => {
            let server = org
                .mcp_servers
                .iter_mut()
                .find(|s| s.standard_tools.iter().any(|t| t == "soqlQuery"))
                .ok_or("no MCP server offers the standard SObject tools")?;
            server.standard_tools.push("updateSobjectRecord".into());
        }
        _ => {}
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_fault_has_one_row_with_a_unique_name_and_controls() {
        let mut names = BTreeSet::new();
        for s in TABLE {
            assert!(names.insert(s.name), "{} twice", s.name);
            assert!(!s.caught_by.is_empty(), "{} names no control", s.name);
            assert!(s.caught_by.iter().all(|c| c.row.starts_with("HG-") && !c.says.is_empty()), "{}", s.name);
            assert_eq!(TABLE.iter().filter(|t| t.fault == s.fault).count(), 1);
        }
        assert!(PROFILES.iter().all(|p| lookup(p.name).is_some() && TABLE.iter().all(|s| s.name != p.name)));
    }

    #[test]
    fn every_fault_applies_to_the_default_org() {
        for s in TABLE.iter().map(|s| s.name).chain(PROFILES.iter().map(|p| p.name)) {
            let mut org = Org::default_fixture();
            org.enable_fault(s).unwrap_or_else(|e| panic!("{e}"));
            assert!(!org.faults.is_empty());
        }
        assert!(Org::default_fixture().enable_fault("nope").unwrap_err().contains("unknown fault 'nope'"));
    }
}
