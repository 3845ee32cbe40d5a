//! Sessions and state handles are bound to their user (HG-ISO-01). What a handle is depends on the
//! era: a session id (MCP 2025-11-25), or the `requestState` of a multi round-trip request
//! (SEP-2322, MCP 2026-07-28), which a record prompt asked without its record id gives while it
//! elicits the id. The admin first reads the record through the prompt door (`doors`), which
//! shows the values a leak would carry; then the admin's handle is presented with the agent's
//! token. The answer must be a refusal or carry none of those values. The twin presents the
//! agent's own handle and must get the record shared with it.

use crate::doors::{Door, Found, OBJECT_NAME, RECORD_ID};
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
        let token = self.token(persona).await?;
        let mut args = json!({});
        if object_argument {
            args[OBJECT_NAME] = json!(record.object);
        }
        let params = match self.target.mcp_era {
            McpEra::Sessions => {
                let session = self.mcp_open(holder, server).await?;
                args[RECORD_ID] = json!(record.id);
                let body = json!({"jsonrpc": "2.0", "id": 7, "method": "prompts/get", "params": {"name": name, "arguments": args}});
                return self.mcp_send(&url, Some(&token), Some(&session), body, &[]).await;
            }
            McpEra::Stateless => {
                let (state, key) = self.state_handle(holder, server, &name, &args).await?;
                let answer = json!({"action": "accept", "content": {RECORD_ID: record.id}});
                json!({"name": name, "arguments": args, "inputResponses": {key: answer}, "requestState": state})
            }
        };
        let body = json!({"jsonrpc": "2.0", "id": 7, "method": "prompts/get", "params": params});
        self.mcp_send(&url, Some(&token), None, body, &[]).await
    }

    /// Round one as `holder`: the prompt asked without its record id. The server's
    /// `input_required` answer gives the handle and the key of the input request that asks for
    /// the record id; a server that answers otherwise issues no handle to replay.
    async fn state_handle(
        &mut self,
        holder: &str,
        server: &str,
        prompt: &str,
        args: &Value,
    ) -> Result<(String, String), StepError> {
        self.mcp_request(holder, server, "prompts/get", json!({"name": prompt, "arguments": args})).await?;
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
            (Some(state), Some(key)) => {
                self.probe.secrets.add(&state, "request state");
                Ok((state, key))
            }
            _ => Err(StepError::NotVerifiable(format!(
                "the {server} MCP server answers the prompt {prompt} without its {RECORD_ID} with no requestState eliciting it ({} {}), so it issues no state handle to replay",
                r.status,
                result.get("resultType").cloned().unwrap_or(Value::Null)
            ))),
        }
    }

    /// The replay's answer: an HTTP refusal of the handle (4xx), or a prompt answer that is
    /// refused or carries none of the admin's proven values (`doors`).
    pub fn replay_kept_out(&mut self) -> Result<(), StepError> {
        let r = self.last()?;
        let status = r.status;
        if (400..500).contains(&status) && rpc(r).get("result").is_none() {
            let clean = !r.body.contains(&self.target.canary_marker);
            self.decide(Some(false), None);
            self.probe.evidence.push(format!("the handle was refused with HTTP {status}"));
            return crate::world::expect(clean, "no seeded sensitive value", || "a canary value".into());
        }
        self.door_kept_shut(Door::Prompt)
    }
}
