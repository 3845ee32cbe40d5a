//! What to change when a control fails: per control area (`HG-<AREA>-nn`), the Salesforce Setup
//! page and, for any other OAuth 2.1 + MCP stack, the server setting. One table; report.html and
//! results.sarif (as each rule's help) both read it.

const FIXES: &[(&str, &str)] = &[
    (
        "REDIR",
        "Salesforce: Setup > External Client App Manager > the agent's app > OAuth Settings: list exactly the agent's callback URLs (no wildcard, no loopback port variance unless native). Other servers: register exact redirect URIs and compare them as strings, before any decoding.",
    ),
    (
        "CLIENT",
        "Authorization server: look the client_id up before anything else and show an unknown client an error page; never redirect it, not even with an error, to the redirect_uri it names (RFC 6749 §4.1.2.1). On Salesforce this is the platform's own behaviour; a proxy or custom login page in front of it must keep it.",
    ),
    (
        "DOOR",
        "MCP server: authenticate every request before the JSON-RPC method is read (tools/call, resources/read, prompts/get, completions alike), with the bearer token only; never take the caller's identity from a header such as X-Forwarded-User or X-Agent-Role, and drop such headers at the edge if a proxy sets them. Serve resources, prompts and completions through the same user-mode access checks as tools (object, field and record access of the signed-in user), never from a cache or a system-mode query.",
    ),
    (
        "ISO",
        "MCP server and any gateway in front: match every answer to the connection (and session) that asked, never by JSON-RPC id alone: independent clients all start their ids at 1. Bind each session to the user who opened it.",
    ),
    (
        "PIN",
        "MCP servers: change a tool's name, description, schema, annotations or _meta only in a release the team reviews, then write the baseline again (headless-gate baseline write) and commit it; show a restricted user no write, admin or broad tool; never change a tool's definition within a session (no list_changed rug pull).",
    ),
    (
        "ECA",
        "Salesforce: Setup > External Client App Manager > the agent's app. OAuth Settings: Require PKCE, Enable Refresh Token Rotation, Client Credentials Flow off, only the declared scopes (never Full, Api, Web, SFApiPlatform unless declared). Policies: Permitted Users = Admin approved users are pre-authorized, with the agent's permission set; Refresh Token Policy = expire after a lifetime or after inactivity; IP Relaxation as declared (Enforce IP restrictions by default). Retrieve the metadata again after the change.",
    ),
    (
        "ISS",
        "Authorization server: where the metadata sets authorization_response_iss_parameter_supported, add iss (the issuer, exactly) to every authorization response, error redirects included (RFC 9207 §2); otherwise do not advertise it.",
    ),
    (
        "PKCE",
        "Salesforce: the app's OAuth settings: Require Proof Key for Code Exchange (PKCE). Other servers: require a code_challenge from public clients at the authorization endpoint, S256 only; refuse plain and a missing method.",
    ),
    (
        "CODE",
        "Authorization codes: single use, bound to the client, the callback and the PKCE verifier, short-lived; a replayed code revokes the tokens its first redemption issued (RFC 9700 §4.5).",
    ),
    (
        "GRANT",
        "Salesforce: Setup > OAuth and OpenID Connect Settings: turn off Allow OAuth Username-Password Flows and Allow OAuth User-Agent Flows; on the app, leave Enable Client Credentials Flow off. Other servers: allow the client only authorization_code and refresh_token, and response_type=code.",
    ),
    (
        "META",
        "Publish RFC 8414 metadata that names the issuer exactly, lists only S256 and only the code and refresh grants, and advertises revocation and introspection.",
    ),
    (
        "SCOPE",
        "Grant no scope beyond the client's registration, at the authorization endpoint, the token endpoint and on refresh.",
    ),
    (
        "RT",
        "Salesforce: the app's refresh token policy and Refresh Token Rotation. Other servers: rotate refresh tokens, revoke the whole family on reuse, bind them to the client; keep access tokens short-lived.",
    ),
    (
        "REV",
        "Revocation (RFC 7009) must take effect at once everywhere: resource servers check a token's liveness (introspection or a revocation list), not only its signature; revoking a refresh token revokes the access tokens it issued; Salesforce: freeze and deactivate users, and the app's per-user revoke, kill their tokens.",
    ),
    (
        "RS",
        "The MCP server: refuse a missing, malformed, forged, expired, foreign-audience or under-scoped token (401 or 403 with a Bearer challenge), never accept a token in the query string or a session without its token, and publish RFC 9728 protected-resource metadata.",
    ),
    (
        "TRN",
        "The MCP transport: check Origin against an exact allow-list (not any loopback port, not null), refuse unsupported protocol versions, and end sessions on DELETE.",
    ),
    (
        "PERM",
        "Salesforce: the persona's profile and permission sets (object and field permissions) and the org's sharing settings (Setup > Users, Permission Sets, Sharing Settings); API Enabled only where the persona needs the API.",
    ),
    (
        "LP",
        "Salesforce: strip the agent's permission sets to its action list (objects, fields, no edit on OwnerId) and grant no admin-level permission (View All Data, Modify All Data, Modify Metadata, Customize Application, Manage Users, Author Apex).",
    ),
    (
        "SYS",
        "Apex behind custom tools: declare with sharing (or inherited sharing), query WITH USER_MODE or with AccessLevel.USER_MODE, and pass records through Security.stripInaccessible; fix every line scan-apex names.",
    ),
    (
        "AUD",
        "Salesforce: Event Monitoring (Setup > Event Monitoring Settings) for API and MCP calls attributed to the end user, and field history tracking on every object the agent can edit (Object Manager > the object > Fields & Relationships > Set History Tracking).",
    ),
    (
        "CAT",
        "The agent's MCP servers: expose only the tools on the declared allow-list, with no credential in names, descriptions, schemas or annotations, and mark every tool that writes.",
    ),
    (
        "DECL",
        "The target file's declarations and the app's metadata: one dedicated app for the agent, exactly its callbacks and scopes, its use case, tool allow-list and approvals written down.",
    ),
    ("LIM", "A per-user rate limit on the API the agent uses (429 with Retry-After past it)."),
];

/// The fix for a control, by its area; `None` for an ID outside the catalog's areas.
pub fn fix(id: &str) -> Option<&'static str> {
    let area = id.split('-').nth(1)?;
    FIXES.iter().find(|(a, _)| *a == area).map(|(_, f)| *f)
}

#[cfg(test)]
mod tests {
    #[test]
    fn every_control_of_the_catalog_says_what_to_change() {
        for c in crate::catalog::shipped() {
            assert!(super::fix(&c.id).is_some(), "{} has no fix", c.id);
        }
    }
}
