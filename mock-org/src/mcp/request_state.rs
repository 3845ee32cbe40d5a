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
        let id = responses
            .and_then(|r| r.get(RECORD_ID_INPUT))
            .filter(|r| r["action"] == "accept")
            .and_then(|r| r["content"][RECORD_ID_INPUT].as_str())
            .map(str::to_string)
            .ok_or_else(|| McpError::invalid_params("inputResponses.recordId must accept with a recordId", None))?;
        let mut pending = self.pending.lock().unwrap_or_else(|p| p.into_inner());
        // Unknown, spent and another user's read alike: the answer tells no holder whose it is.
        // Another user's handle is not spent by the attempt: it stays its owner's.
        let entry = pending
            .get(handle)
            .filter(|e| e.user_id == caller_id || unbound)
            .cloned()
            .ok_or_else(|| McpError::invalid_params("requestState is not valid for this request", None))?;
        pending.remove(handle);
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

#[cfg(test)]
mod tests {
    use super::*;

    fn accept(id: &str) -> InputResponses {
        [(RECORD_ID_INPUT.to_string(), json!({"action": "accept", "content": {RECORD_ID_INPUT: id}}))]
            .into_iter()
            .collect()
    }

    #[test]
    fn a_handle_serves_its_own_user_once_and_nobody_else() {
        let states = RequestStates::default();
        let asked = states.ask_for_record_id("005A", "token-a", "Case");
        let wire = serde_json::to_value(&asked).unwrap();
        assert_eq!(wire["inputRequests"][RECORD_ID_INPUT]["method"], "elicitation/create");
        let handle = asked.request_state.clone().unwrap();
        let answer = accept("500000000000001");
        let stolen = states.resume(&handle, "005B", "token-b", Some(&answer), false).unwrap_err();
        assert_eq!(stolen.message, "requestState is not valid for this request");
        let (pending, id, token) = states.resume(&handle, "005A", "token-a", Some(&answer), false).unwrap();
        assert_eq!((pending.object.as_str(), id.as_str(), token.as_str()), ("Case", "500000000000001", "token-a"));
        let spent = states.resume(&handle, "005A", "token-a", Some(&answer), false).unwrap_err();
        assert_eq!(spent.message, stolen.message, "a spent handle reads like another user's");
    }

    #[test]
    fn an_unbound_handle_hands_round_ones_credential_to_whoever_presents_it() {
        let states = RequestStates::default();
        let handle = states.ask_for_record_id("005A", "token-a", "Case").request_state.unwrap();
        let (_, _, token) = states.resume(&handle, "005B", "token-b", Some(&accept("500x")), true).unwrap();
        assert_eq!(token, "token-a");
    }

    #[test]
    fn a_declined_or_empty_answer_is_refused_and_leaves_the_handle() {
        let states = RequestStates::default();
        let handle = states.ask_for_record_id("005A", "token-a", "Case").request_state.unwrap();
        let declined: InputResponses =
            [(RECORD_ID_INPUT.to_string(), json!({"action": "decline"}))].into_iter().collect();
        assert!(states.resume(&handle, "005A", "token-a", Some(&declined), false).is_err());
        assert!(states.resume(&handle, "005A", "token-a", None, false).is_err());
        assert!(states.resume(&handle, "005A", "token-a", Some(&accept("500x")), false).is_ok());
    }
}
