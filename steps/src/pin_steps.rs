//! Steps for catalog pinning (HG-PIN-01..03); the logic is `catalog_pin`.

use crate::decl_steps::{declarations, listed};
use crate::world::{GateWorld, StepError, expect, tool_name};
use cucumber::{then, when};

#[when(expr = "{word}'s tool catalog is taken on every MCP server")]
async fn take_catalog(w: &mut GateWorld, persona: String) -> Result<(), StepError> {
    w.observe_catalog(&persona).await
}

#[then("every tool is as pinned, and none was added or removed")]
async fn as_pinned(w: &mut GateWorld) -> Result<(), StepError> {
    w.catalog_is_pinned()
}

#[then("at least one tool is offered exactly as pinned")]
async fn one_as_pinned(w: &mut GateWorld) -> Result<(), StepError> {
    w.some_tool_as_pinned()
}

#[then("no privileged tool is offered beyond the declaration")]
async fn nothing_privileged(w: &mut GateWorld) -> Result<(), StepError> {
    let (d, listed) = (declarations(w)?, listed(w)?);
    let beyond: Vec<String> = listed.iter().filter_map(|t| crate::catalog_pin::privileged_beyond(t, &d)).collect();
    expect(beyond.is_empty(), "no write, broad or undeclared tool", || beyond.join(", "))
}

#[then("at least one allowlisted tool is listed")]
async fn one_allowlisted(w: &mut GateWorld) -> Result<(), StepError> {
    let (d, listed) = (declarations(w)?, listed(w)?);
    let n = listed.iter().map(tool_name).filter(|n| d.tool_allowlist.contains(n)).count();
    expect(n > 0, "at least one allowlisted tool listed", || "none".into())
}

#[when(expr = "{word} lists the tools of the {word} MCP server, calls the identity tool, and lists them again")]
async fn relist_around_a_call(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    w.relist(&persona, &server, true).await
}

#[when(expr = "{word} lists the tools of the {word} MCP server twice")]
async fn relist(w: &mut GateWorld, persona: String, server: String) -> Result<(), StepError> {
    w.relist(&persona, &server, false).await
}

#[then("no tool changed between the listings")]
async fn held(w: &mut GateWorld) -> Result<(), StepError> {
    w.catalog_held()
}
