//! Sessions and state handles are bound to their user (HG-ISO-01). What a handle is depends on the
//! era: a session id (MCP 2025-11-25), or the `requestState` of a multi round-trip request
//! (SEP-2322, MCP 2026-07-28), which a record prompt asked without its record id gives while it
//! elicits the id (the gate declares the elicitation capability on those requests, as a client
//! must for a server to ask). The admin first reads the record through the prompt door (`doors`),
//! which shows the values a leak would carry; in the stateless era the admin's own handle is shown
//! to give the admin the record too. Then an admin's handle is presented with the agent's token:
//! the answer must be a refusal or carry none of those values. The twin presents the agent's own
//! handle and must get the record shared with it.

use crate::doors::{Door, Found, OBJECT_NAME, RECORD_ID, carried};
use crate::target::McpEra;
use crate::world::{GateWorld, StepError, rpc};
use serde_json::{Value, json};

/// Whose handle a request presents.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// The admin's: another user's handle.
    Admin,
    /// The presenting persona's own.
    Own,
}

/// The client capabilities a multi round-trip request declares: form elicitation.
fn elicitation() -> Value {
    json!({"io.modelcontextprotocol/clientCapabilities": {"elicitation": {"form": {}}}})
}

impl GateWorld {
    /// The persona asks for the record through the prompt door the admin's proof went through,
    /// presenting `owner`'s session or state handle with its own token; the answer becomes `last`.
    pub async fn ask_with_handle(
        &mut self,
        persona: &str,
        alias: &str,
        server: &str,
        owner: Owner,
    ) -> Result<(), StepError> {
        let (name, object_argument) = match self.door_proof.as_ref().map(|p| (p.door, p.found.clone())) {
            Some((Door::Prompt, Found::Prompt { name, object_argument })) => (name, object_argument),
            _ => {
                return Err(StepError::NotVerifiable("no read through the prompt door by the admin came first".into()));
            }
        };
        let record = self.record(alias)?;
        let holder = match owner {
            Owner::Admin => "admin",
            Owner::Own => persona,
        };
        let url = self.mcp_url(server)?;
        let mut args = json!({});
        if object_argument {
            args[OBJECT_NAME] = json!(record.object);
        }
        if self.target.mcp_era == McpEra::Sessions {
            let session = self.mcp_open(holder, server).await?;
            if session.is_empty() {
                return Err(StepError::NotVerifiable(format!(
                    "the {server} MCP server keeps no session (no Mcp-Session-Id on initialize), so there is no session handle to replay"
                )));
            }
            let token = self.token(persona).await?;
            args[RECORD_ID] = json!(record.id);
            let body = json!({"jsonrpc": "2.0", "id": 0, "method": "prompts/get", "params": {"name": name, "arguments": args}});
            return self.mcp_send(&url, Some(&token), Some(&session), body, &[]).await;
        }
        if owner == Owner::Admin {
            self.admin_handle_works(server, &url, &name, &args, &record.id).await?;
        }
        let (state, key) = self.state_handle(holder, server, &name, &args).await?;
        let token = self.token(persona).await?;
        self.round_two(&url, &token, &name, &args, (&state, &key), &record.id).await
    }

    /// The second round of the record prompt: the handle and the elicited record id.
    async fn round_two(
        &mut self,
        url: &str,
        token: &str,
        prompt: &str,
        args: &Value,
        (state, key): (&str, &str),
        record_id: &str,
    ) -> Result<(), StepError> {
        let answer = json!({"action": "accept", "content": {RECORD_ID: record_id}});
        let params = json!({
            "name": prompt, "arguments": args, "inputResponses": {key: answer}, "requestState": state,
            "_meta": elicitation(),
        });
        let body = json!({"jsonrpc": "2.0", "id": 0, "method": "prompts/get", "params": params});
        self.mcp_send(url, Some(token), None, body, &[]).await
    }

    /// Proof that an admin's handle is one: a first handle, presented by the admin, gives the admin
    /// the record the door showed (the agent is then given a second one). Otherwise a refusal of
    /// the agent could be a malformed or spent handle's, and proves nothing.
    async fn admin_handle_works(
        &mut self,
        server: &str,
        url: &str,
        prompt: &str,
        args: &Value,
        record_id: &str,
    ) -> Result<(), StepError> {
        let (state, key) = self.state_handle("admin", server, prompt, args).await?;
        let token = self.token("admin").await?;
        self.round_two(url, &token, prompt, args, (&state, &key), record_id).await?;
        let text = rpc(self.last()?).get("result").map(carried).unwrap_or_default();
        let values = self.door_proof.as_ref().map(|p| p.values.clone()).unwrap_or_default();
        if values.iter().any(|v| text.contains(v.as_str())) {
            self.probe.evidence.push("proof: the admin's own state handle gives the admin the record".into());
            return Ok(());
        }
        Err(StepError::NotVerifiable(format!(
            "the admin's own requestState on the {server} MCP server does not give the admin the record, so a refusal of another user's replay would prove nothing"
        )))
    }

    /// Round one as `holder`: the prompt asked without its record id, declaring elicitation. The
    /// server's `input_required` answer gives the handle and the key of the input request that asks
    /// for the record id; a server that answers otherwise issues no handle to replay.
    async fn state_handle(
        &mut self,
        holder: &str,
        server: &str,
        prompt: &str,
        args: &Value,
    ) -> Result<(String, String), StepError> {
        let params = json!({"name": prompt, "arguments": args, "_meta": elicitation()});
        self.mcp_request(holder, server, "prompts/get", params).await?;
        let r = self.last()?;
        let result = rpc(r).get("result").cloned().unwrap_or(Value::Null);
        let state = result["requestState"].as_str().map(str::to_string);
        let key = result["inputRequests"].as_object().and_then(|requests| {
            requests.iter().find_map(|(key, request)| {
                let asks = request["params"]["requestedSchema"]["properties"].get(RECORD_ID).is_some();
                asks.then(|| key.clone())
            })
        });
        match (state, key) {
            (Some(state), Some(key)) => Ok((state, key)),
            _ => Err(StepError::NotVerifiable(format!(
                "the {server} MCP server answers the prompt {prompt} without its {RECORD_ID} with no requestState eliciting it ({} {}), so it issues no state handle to replay",
                r.status,
                result.get("resultType").cloned().unwrap_or(Value::Null)
            ))),
        }
    }

    /// The replay's answer. A JSON-RPC error or an answer goes to the door's judgment (refused, or
    /// none of the proven values). Without one: 400 or 404 is the transport refusing the handle
    /// (the MCP transport's answers to a session it will not serve), 401 or 403 a refusal of the
    /// caller; anything else (a limit, a server error) decides nothing.
    pub fn replay_kept_out(&mut self) -> Result<(), StepError> {
        let r = self.last()?;
        let status = r.status;
        let message = rpc(r);
        if message.get("error").is_some() || message.get("result").is_some() || matches!(status, 401 | 403) {
            return self.door_kept_shut(Door::Prompt);
        }
        if matches!(status, 400 | 404) {
            let clean = !r.body.contains(&self.target.canary_marker);
            self.decide(Some(false), None);
            self.probe.evidence.push(format!("the handle was refused with HTTP {status}"));
            return crate::world::expect(clean, "no seeded sensitive value", || "a canary value".into());
        }
        Err(StepError::NotVerifiable(format!("the replay was answered {status}, which decides nothing")))
    }
}
