//! Steps for clients kept apart (HG-ISO-02); the logic is `isolation`.

use crate::world::{GateWorld, StepError};
use cucumber::{then, when};

#[when(
    expr = "{int} clients of two users call the identity tool on the {word} MCP server at once, with one JSON-RPC id"
)]
async fn together(w: &mut GateWorld, clients: usize, server: String) -> Result<(), StepError> {
    w.colliding_calls(clients, &server, true).await
}

#[when(
    expr = "{int} clients of two users call the identity tool on the {word} MCP server one at a time, with one JSON-RPC id"
)]
async fn one_at_a_time(w: &mut GateWorld, clients: usize, server: String) -> Result<(), StepError> {
    w.colliding_calls(clients, &server, false).await
}

#[then("every client gets its own user's answer")]
async fn own_answers(w: &mut GateWorld) -> Result<(), StepError> {
    w.each_client_answered_alone()
}
