//! Clients kept apart (HG-ISO-02). Independent clients each number their JSON-RPC requests from
//! 1, so a server (or a gateway in front of it) that matches answers to callers by id alone hands
//! one client another's answer the moment two of them are in flight at once. The probe: clients
//! of two users, each on its own connection (and session, in the sessions era), call the identity
//! tool with the same id, all at once, round after round; every answer must name its own
//! client's user. Each call also asks for progress notifications with a token of its client's
//! own: a notification on a client's stream naming another client's token is crossed too (a
//! server that sends none leaves that half unchecked, which the evidence says). The twin sends
//! the same requests one at a time.

use crate::probe::{Lane, Request};
use crate::target::McpEra;
use crate::world::{GateWorld, StepError, expect, identity_in, mcp_http, rpc};
use serde_json::{Value, json};

/// Rounds of simultaneous calls: a collision needs two requests in flight together, and one
/// round may happen to be served in order.
pub const ROUNDS: usize = 4;
/// The id every client uses: the one each client's first request carries.
const COLLIDING_ID: u64 = 1;
const ANSWER_CAP: usize = 64 * 1024;

/// One client: whose it is, its token and its session ("" in the stateless era).
#[derive(Clone)]
struct Client {
    username: String,
    token: String,
    session: String,
}

/// What the clients got: every call, the crossed ones, and the ones that got no identity at all.
#[derive(Debug, Clone, Default)]
pub struct Crosstalk {
    pub calls: usize,
    pub crossed: Vec<String>,
    pub unanswered: Vec<String>,
    /// Progress notifications seen, and those naming another client's token.
    pub notifications: usize,
    pub crossed_notifications: Vec<String>,
}

/// Each client's progress token.
fn progress_token(client: usize) -> String {
    format!("hg-progress-{client}")
}

/// The progress tokens the notifications on an answer's stream name.
fn progress_tokens(body: &str) -> Vec<String> {
    body.lines()
        .filter_map(|l| l.strip_prefix("data:"))
        .filter_map(|d| serde_json::from_str::<Value>(d.trim()).ok())
        .filter(|m| m["method"] == "notifications/progress")
        .map(|m| match &m["params"]["progressToken"] {
            Value::String(s) => s.clone(),
            other => other.to_string(),
        })
        .collect()
}

fn call_body(tool: &str) -> Value {
    json!({"jsonrpc": "2.0", "id": COLLIDING_ID, "method": "tools/call", "params": {"name": tool, "arguments": {}}})
}

impl GateWorld {
    /// Opens one client's own session (initialize, then initialized) through the lane, the way a
    /// fresh client does: its initialize carries id 1 too.
    async fn open_client(&self, lane: &Lane, url: &str, token: &str) -> Result<String, StepError> {
        let era = self.target.mcp_era;
        if era == McpEra::Stateless {
            return Ok(String::new());
        }
        let session = crate::revocation::open_session(lane, &self.probe.secrets, url, era, token).await?;
        expect(session.is_some(), "a session for each client (200 with Mcp-Session-Id)", || {
            "no session opened".into()
        })?;
        Ok(session.unwrap_or_default())
    }

    /// `clients` clients, alternating between the agent and the second user, call the identity
    /// tool with the same JSON-RPC id: all at once (`together`) for `ROUNDS` rounds, or one at a
    /// time (the twin) for one round.
    pub async fn colliding_calls(&mut self, clients: usize, server: &str, together: bool) -> Result<(), StepError> {
        let (tool, pointer) = self.identity_tool()?;
        let url = self.mcp_url(server)?;
        let mut users = Vec::new();
        for persona in ["agent", "second-user"] {
            let username = self.persona(persona)?.username;
            users.push((username, self.token(persona).await?));
        }
        let lane = self.probe.lane();
        let secrets = self.probe.secrets.clone();
        let mut all = Vec::new();
        for i in 0..clients.max(2) {
            let (username, token) = users[i % 2].clone();
            let session = self.open_client(&lane, &url, &token).await?;
            all.push(Client { username, token, session });
        }
        let era = self.target.mcp_era;
        let request = |i: usize, c: &Client| {
            let session = Some(c.session.as_str()).filter(|s| !s.is_empty());
            let mut req = mcp_http(&url, call_body(&tool), era, session).bearer(&c.token);
            // `mcp_http` numbers requests uniquely; these collide on purpose.
            if let Some(crate::probe::Body::Json(b)) = req.body.as_mut() {
                b["id"] = json!(COLLIDING_ID);
                b["params"]["_meta"]["progressToken"] = json!(progress_token(i));
            }
            req
        };
        let mut seen = Crosstalk::default();
        for _ in 0..if together { ROUNDS } else { 1 } {
            let answers: Vec<(usize, Result<crate::probe::Reply, crate::probe::ProbeError>)> = if together {
                let mut set = tokio::task::JoinSet::new();
                for (i, c) in all.iter().enumerate() {
                    let (lane, req) = (lane.clone(), request(i, c));
                    set.spawn(async move { (i, lane.send(&req, ANSWER_CAP).await) });
                }
                set.join_all().await
            } else {
                let mut one_by_one = Vec::new();
                for (i, c) in all.iter().enumerate() {
                    one_by_one.push((i, lane.send(&request(i, c), ANSWER_CAP).await));
                }
                one_by_one
            };
            for (i, answer) in answers {
                seen.calls += 1;
                let own = &all[i].username;
                let tokens = answer.as_ref().map(|r| progress_tokens(&r.body)).unwrap_or_default();
                seen.notifications += tokens.len();
                for t in tokens.iter().filter(|t| **t != progress_token(i)) {
                    seen.crossed_notifications.push(format!("client {i} of {own} got a progress notification for {t}"));
                }
                let who = answer.as_ref().ok().and_then(|r| identity_in(&rpc(r)["result"], &pointer));
                match who {
                    Some(w) if w.eq_ignore_ascii_case(own) => {}
                    Some(w) => seen.crossed.push(format!("client {i} of {own} answered as {w}")),
                    None => seen.unanswered.push(match answer {
                        Ok(r) => {
                            let body = secrets.redact(&r.body.replace(['\r', '\n'], " "));
                            format!("client {i}: {} {}", r.status, body.chars().take(300).collect::<String>())
                        }
                        Err(e) => format!("client {i}: {e}"),
                    }),
                }
            }
        }
        for c in &all {
            if !c.session.is_empty() {
                let mut end = Request::new(reqwest::Method::DELETE, url.clone()).bearer(&c.token);
                end.headers.push(("Mcp-Session-Id".into(), c.session.clone()));
                end.headers.push(("MCP-Protocol-Version".into(), era.version().into()));
                let _ = lane.send(&end, ANSWER_CAP).await;
            }
        }
        self.probe.evidence.push(format!(
            "{} clients of 2 users, JSON-RPC id {COLLIDING_ID} on every call, {}: {} calls, {} answered as another client's user {:?}, {} without an identity {:?}",
            all.len(),
            if together { format!("all at once, {ROUNDS} rounds") } else { "one at a time".into() },
            seen.calls,
            seen.crossed.len(),
            seen.crossed.iter().take(3).collect::<Vec<_>>(),
            seen.unanswered.len(),
            seen.unanswered.iter().take(3).collect::<Vec<_>>(),
        ));
        self.probe.evidence.push(match seen.notifications {
            0 => "no progress notification came on any stream: only the answers were compared".into(),
            n => format!(
                "{n} progress notifications, {} naming another client's token {:?}",
                seen.crossed_notifications.len(),
                seen.crossed_notifications.iter().take(3).collect::<Vec<_>>()
            ),
        });
        self.crosstalk = Some(seen);
        Ok(())
    }

    /// Every client got its own user's answer, and every call was answered.
    pub fn each_client_answered_alone(&self) -> Result<(), StepError> {
        let seen = self.crosstalk.as_ref().ok_or(StepError::NothingSent)?;
        expect(seen.crossed.is_empty(), "no client answered as another client's user", || {
            format!("{} of {} calls crossed: {}", seen.crossed.len(), seen.calls, seen.crossed[0])
        })?;
        expect(seen.unanswered.is_empty(), "every call answered with its user", || {
            format!("{} of {} calls unanswered: {}", seen.unanswered.len(), seen.calls, seen.unanswered[0])
        })?;
        let crossed = &seen.crossed_notifications;
        expect(crossed.is_empty(), "no client sent another client's progress notification", || {
            format!("{} of {} notifications crossed: {}", crossed.len(), seen.notifications, crossed[0])
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::world::identity_in;
    use serde_json::json;

    #[test]
    fn progress_tokens_are_read_from_every_notification_on_a_stream() {
        let body = "event: message\ndata: {\"jsonrpc\":\"2.0\",\"method\":\"notifications/progress\",\"params\":{\"progressToken\":\"hg-progress-3\",\"progress\":1}}\n\nevent: message\ndata: {\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}\n";
        assert_eq!(super::progress_tokens(body), ["hg-progress-3"]);
        assert!(super::progress_tokens("{\"jsonrpc\":\"2.0\",\"id\":1,\"result\":{}}").is_empty());
    }

    #[test]
    fn the_identity_is_read_from_structured_content_or_from_the_json_of_a_text_block() {
        let structured = json!({"structuredContent": {"user": "a@x"}, "content": []});
        assert_eq!(identity_in(&structured, "/structuredContent/user").as_deref(), Some("a@x"));
        let text_only = json!({"content": [{"type": "text", "text": "{\n  \"user\": \"b@x\"\n}"}]});
        assert_eq!(identity_in(&text_only, "/structuredContent/user").as_deref(), Some("b@x"));
        assert_eq!(
            identity_in(&json!({"content": [{"type": "text", "text": "hello"}]}), "/structuredContent/user"),
            None
        );
        assert_eq!(identity_in(&text_only, "/other/user"), None, "only a structuredContent pointer reads text");
    }
}
