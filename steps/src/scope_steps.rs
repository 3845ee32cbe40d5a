//! Steps for scope minimization; the logic is in `scopes`.

use crate::world::{GateWorld, StepError};
use cucumber::then;

#[then(expr = "the protected resource metadata of the {word} MCP server offers no scope beyond the declared set")]
async fn metadata_within(w: &mut GateWorld, server: String) -> Result<(), StepError> {
    let metadata = crate::mcp_steps::resource_metadata_of(w, &server).await?;
    crate::scopes::metadata_offers_only_declared(w, &metadata)
}

#[then("the access token's own scope is exactly the declared set")]
async fn token_scope_exact(w: &mut GateWorld) -> Result<(), StepError> {
    crate::scopes::token_carries_exactly_declared(w)
}
