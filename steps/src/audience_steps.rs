//! HG-RS-06 (platform audience) and HG-RS-11: thin steps over the audience driver.

use crate::world::{GateWorld, StepError};
use cucumber::then;

#[then("the agent's access token names the declared platform audience and nothing beyond it")]
async fn platform_audience(w: &mut GateWorld) -> Result<(), StepError> {
    let token = w.token("agent").await?;
    crate::audience::platform_audience_holds(w, &token)
}

#[then(
    "the agent's token for the primary MCP server gets no more than the agent's own access at the other MCP servers"
)]
async fn replayed_at_servers(w: &mut GateWorld) -> Result<(), StepError> {
    crate::audience::replayed_at_other_servers(w).await
}

#[then(
    expr = "the agent's token for the primary MCP server reading the record {string} at REST gets no more than the agent's own access"
)]
async fn replayed_at_rest(w: &mut GateWorld, alias: String) -> Result<(), StepError> {
    crate::audience::replayed_at_rest(w, &alias).await
}

#[then("the agent's token for the primary MCP server is accepted there")]
async fn accepted_at_primary(w: &mut GateWorld) -> Result<(), StepError> {
    crate::audience::accepted_at_primary(w).await
}
