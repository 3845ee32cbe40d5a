//! The one enforcement pipeline every API surface goes through, in Salesforce's order:
//! token (401) -> scope -> API Enabled (403) -> the operation, which applies object permission,
//! field-level security and sharing through `Access` -> exactly one audit record, allowed or denied.

use crate::MockOrg;
use crate::audit::{AuditRecord, ExecutionMode, RequestMeta, Trace};
use crate::error::SfError;
use crate::faults::Fault;
use crate::model::User;
use crate::tokens::AccessClaims;

/// Who is calling, resolved from a live token.
#[derive(Debug, Clone)]
pub struct Caller {
    pub user: User,
    pub app_name: Option<String>,
    pub claims: AccessClaims,
}

/// What a protected surface accepts: its audience (RFC 8707 resource), the scopes that open it,
/// and the error it gives a token without them.
pub struct Surface {
    pub audience: String,
    /// Strict for REST; the MCP server's may be weakened by its resource faults.
    pub checks: crate::tokens::Checks,
    pub scopes: &'static [&'static str],
    pub scope_error: fn() -> SfError,
}

/// The HTTP status an operation's success maps to, for the audit record.
pub trait Outcome {
    fn status(&self) -> u16;
}

/// `Authorization: Bearer <token>` (Salesforce also accepts the `OAuth` scheme).
pub fn bearer(header: Option<&str>) -> Option<&str> {
    let (scheme, token) = header?.trim().split_once(' ')?;
    let ok = scheme.eq_ignore_ascii_case("Bearer") || scheme.eq_ignore_ascii_case("OAuth");
    let token = token.trim();
    (ok && !token.is_empty()).then_some(token)
}

impl MockOrg {
    pub fn enforce<T: Outcome>(
        &self,
        meta: RequestMeta,
        mode: ExecutionMode,
        token: Option<&str>,
        surface: &Surface,
        op: impl FnOnce(&Caller, &mut Trace) -> Result<T, SfError>,
    ) -> Result<T, SfError> {
        let mut trace = Trace::default();
        let mut caller: Option<Caller> = None;
        let result = (|| {
            let claims = token.ok_or_else(SfError::invalid_session).and_then(|t| {
                self.tokens
                    .verify_with(&self.clock, t, &surface.audience, surface.checks)
                    .map_err(|_| SfError::invalid_session())
            })?;
            // Belt and braces: freezing revokes tokens, and a token of a frozen user never passes.
            if !self.token_user_ok(&claims.sub) {
                return Err(SfError::invalid_session());
            }
            let user = self.current_user(&claims.sub).ok_or_else(SfError::invalid_session)?;
            let app_name = self.org.app_by_consumer_key(&claims.client_id).map(|a| a.name.clone());
            let c = caller.insert(Caller { user, app_name, claims });
            self.admit(&c.user.id)?;
            if !surface.scopes.iter().any(|s| c.claims.has_scope(s)) {
                return Err((surface.scope_error)());
            }
            let api_enabled = crate::access::Access::for_user(&self.org, &c.user).has("ApiEnabled");
            if !api_enabled && !self.fault(Fault::ApiEnabledIgnored) {
                return Err(SfError::new(
                    403,
                    "API_DISABLED_FOR_ORG",
                    "API is not enabled for this Organization or Partner",
                ));
            }
            op(c, &mut trace)
        })();
        let (status, denial) = match &result {
            Ok(v) => (v.status(), None),
            Err(e) => (e.status, Some(e.error_code.to_string())),
        };
        if denial.is_some() && self.fault(Fault::AuditMissingDenied) {
            return result;
        }
        // Who the record names: the caller, unless an audit fault misattributes or drops it.
        let who = match caller.as_ref().map(|c| &c.user) {
            _ if self.fault(Fault::AuditMissingUser) => None,
            Some(_) if self.fault(Fault::IntegrationUserAttribution) => self.org.users.first(),
            u => u,
        };
        let token_id = match token {
            Some(t) if self.fault(Fault::TokenInAuditLog) && caller.is_some() => Some(t.to_string()),
            _ => caller.as_ref().map(|c| c.claims.jti.clone()),
        };
        self.audit.append(AuditRecord {
            id: String::new(),
            timestamp_ms: self.clock.now_ms(),
            request_id: meta.request_id,
            user_id: who.map(|u| u.id.clone()),
            username: who.map(|u| u.username.clone()),
            client_app_name: caller
                .as_ref()
                .and_then(|c| c.app_name.clone())
                .filter(|_| !self.fault(Fault::AuditMissingApp)),
            client_id: caller.as_ref().map(|c| c.claims.client_id.clone()),
            token_id,
            api_family: meta.api_family,
            resource: meta.resource,
            method: meta.method,
            status,
            object: trace.object,
            operation: trace.operation.map(str::to_string),
            record_ids: trace.record_ids,
            outcome: if denial.is_none() { "allowed" } else { "denied" },
            denial_code: denial,
            execution_mode: mode,
            tool: meta.tool,
        });
        result
    }
}

#[cfg(test)]
mod tests {
    use super::bearer;

    #[test]
    fn bearer_accepts_bearer_and_oauth_schemes_only() {
        assert_eq!(bearer(Some("Bearer abc")), Some("abc"));
        assert_eq!(bearer(Some("bearer  abc ")), Some("abc"));
        assert_eq!(bearer(Some("OAuth abc")), Some("abc"));
        assert_eq!(bearer(Some("Basic abc")), None);
        assert_eq!(bearer(Some("Bearer ")), None);
        assert_eq!(bearer(Some("Bearer")), None);
        assert_eq!(bearer(Some("abc")), None);
        assert_eq!(bearer(None), None);
    }
}
