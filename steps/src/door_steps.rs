//! Steps for the doors to a record besides tools (HG-DOOR-01/02); the logic is `doors`.

use crate::doors::Door;
use crate::world::{GateWorld, StepError};
use cucumber::{given, then, when};

#[given(expr = "the admin reads the {word} record {string} through the {door} door of the {word} MCP server")]
async fn admin_reads(
    w: &mut GateWorld,
    object: String,
    alias: String,
    door: Door,
    server: String,
) -> Result<(), StepError> {
    w.prove_through_door(door, &server, &object, &alias, None).await
}

#[given(
    expr = "the admin sees the {word} field of the {word} record {string} through the {door} door of the {word} MCP server"
)]
async fn admin_sees(
    w: &mut GateWorld,
    field: String,
    object: String,
    alias: String,
    door: Door,
    server: String,
) -> Result<(), StepError> {
    w.prove_through_door(door, &server, &object, &alias, Some(&field)).await
}

#[when(expr = "{word} asks for the record {string} through the {door} door of the {word} MCP server")]
async fn asks(w: &mut GateWorld, persona: String, alias: String, door: Door, server: String) -> Result<(), StepError> {
    w.through_door(&persona, door, &server, &alias).await.map(|_| ())
}

#[then(expr = "the {door} door is refused or carries none of the proven values")]
async fn kept_shut(w: &mut GateWorld, door: Door) -> Result<(), StepError> {
    w.door_kept_shut(door)
}

#[then(expr = "the {door} door carries the proven record")]
async fn opened(w: &mut GateWorld, door: Door) -> Result<(), StepError> {
    w.door_opened(door)
}
