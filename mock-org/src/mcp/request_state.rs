//! Multi round-trip requests (SEP-2322, MCP 2026-07-28) on the record prompt: in the stateless
//! era, `summarizeRecord` asked without a `recordId` answers an `InputRequiredResult` that elicits
//! the id, with a `requestState` handle to what round one knew, kept here (the SDK's
//! "keep the state server-side" option). The handle is bound to the user it was issued to: a
//! retry by anyone else is refused (HG-ISO-01). Under `mcp-request-state-unbound` the retry is
//! served with the credential round one came with, whoever presents the handle.

use crate::faults::Fault;
use rmcp::ErrorData as McpError;
use rmcp::model::{InputRequest, InputRequests, InputRequiredResult, InputResponses};
use serde_json::json;
use std::collections::HashMap;
use std::sync::Mutex;

/// The key of the one input request: the record id.
pub const RECORD_ID_INPUT: &str = "recordId";
/// Handles kept at most; the oldest half is dropped beyond it (the gate issues a handful).
const MAX_PENDING: usize = 1024;

/// What round one of a record prompt knew.
#[derive(Debug, Clone)]
pub struct Pending {
    pub user_id: String,
    /// The bearer token round one came with (what an unbound handle hands on).
    pub token: String,
    pub object: String,
    issued: u64,
}

#[derive(Debug, Default)]
pub struct RequestStates {
    pending: Mutex<HashMap<String, Pending>>,
    seq: std::sync::atomic::AtomicU64,
}

impl RequestStates {
    /// Round one: a handle to `object` for this user and the elicitation of the record id.
    pub fn ask_for_record_id(&self, user_id: &str, token: &str, object: &str) -> InputRequiredResult {
        let handle = crate::oauth::grants::opaque("rs_");
        let issued = self.seq.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        if pending.len() >= MAX_PENDING {
            let mut by_age: Vec<u64> = pending.values().map(|p| p.issued).collect();
            by_age.sort_unstable();
            let cut = by_age[by_age.len() / 2];
            pending.retain(|_, p| p.issued >= cut);
        }
        let entry = Pending { user_id: user_id.into(), token: token.into(), object: object.into(), issued };
        pending.insert(handle.clone(), entry);
        let elicit = json!({
            "method": "elicitation/create",
            "params": {
                "mode": "form",
                "message": format!("Which {object} record should be summarised?"),
                "requestedSchema": {
                    "type": "object",
                    "properties": {RECORD_ID_INPUT: {"type": "string", "description": "the record's id"}},
                    "required": [RECORD_ID_INPUT]
                }
            }
        });
        let request: InputRequest = serde_json::from_value(elicit).expect("a well-formed elicitation request");
        let requests: InputRequests = [(RECORD_ID_INPUT.to_string(), request)].into_iter().collect();
        InputRequiredResult::new(Some(requests), Some(handle))
    }

    /// Round two: the pending state for this caller, spent; the record id it answered; and the
    /// token the read runs with (the caller's, or round one's under the fault).
    pub fn resume(
        &self,
        handle: &str,
        caller_id: &str,
        caller_token: &str,
        responses: Option<&InputResponses>,
        unbound: bool,
    ) -> Result<(Pending, String, String), McpError> {
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        let Some(entry) = pending.get(handle).cloned() else {
            return Err(McpError::invalid_params("requestState is unknown or already used", None));
        };
        if entry.user_id != caller_id && !unbound {
            // Not spent: the handle stays its owner's.
            return Err(McpError::invalid_params("requestState was issued to another user", None));
        }
        pending.remove(handle);
        let id = responses
            .and_then(|r| r.get(RECORD_ID_INPUT))
            .filter(|r| r["action"] == "accept")
            .and_then(|r| r["content"][RECORD_ID_INPUT].as_str())
            .map(str::to_string)
            .ok_or_else(|| McpError::invalid_params("inputResponses.recordId must accept with a recordId", None))?;
        let token = if unbound { entry.token.clone() } else { caller_token.to_string() };
        Ok((entry, id, token))
    }
}

/// Whether the request came in the stateless era's protocol version (2026-07-28 or later).
pub fn stateless(version: Option<&str>) -> bool {
    version.is_some_and(|v| v >= "2026-07-28")
}

/// The fault that leaves handles unbound.
pub fn unbound(state: &crate::MockOrg) -> bool {
    state.fault(Fault::McpRequestStateUnbound)
}
