//! Steps for sessions, handles and clients kept apart (HG-ISO-01/02); the logic is `handles`
//! and `isolation`.

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

#[then("every client gets its own user's answer and only its own notifications")]
async fn own_answers(w: &mut GateWorld) -> Result<(), StepError> {
    w.each_client_answered_alone()
}

#[when(
    expr = "{word} asks for the record {string} through the prompt door of the {word} MCP server with the admin's session or state handle"
)]
async fn with_admins_handle(
    w: &mut GateWorld,
    persona: String,
    alias: String,
    server: String,
) -> Result<(), StepError> {
    w.ask_with_handle(&persona, &alias, &server, crate::handles::Owner::Admin).await
}

#[when(
    expr = "{word} asks for the record {string} through the prompt door of the {word} MCP server with its own session or state handle"
)]
async fn with_own_handle(w: &mut GateWorld, persona: String, alias: String, server: String) -> Result<(), StepError> {
    w.ask_with_handle(&persona, &alias, &server, crate::handles::Owner::Own).await
}

#[then("the replayed handle is refused or carries none of the proven values")]
async fn replay_kept_out(w: &mut GateWorld) -> Result<(), StepError> {
    w.replay_kept_out()
}
