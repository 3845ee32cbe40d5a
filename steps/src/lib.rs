//! Everything the Gherkin scenarios stand on: the target description, the probe client that
//! records redacted evidence, the OAuth login driver, and the World with its thin steps.

pub mod audience;
pub mod audit_plan;
pub mod bearer_variants;
pub mod canary_prober;
pub mod catalog_pin;
pub mod client_trust;
pub mod decisions;
pub mod doors;
pub mod eca;
pub mod event_log;
pub mod evidence;
pub mod handles;
pub mod hidden_fields;
pub mod html_form;
pub mod isolation;
pub mod login;
pub mod login_history;
pub mod mcp_tools;
pub mod permission_removal;
pub mod pkce;
pub mod platform;
pub mod probe;
pub mod refusals;
pub mod reproduce;
pub mod revocation;
pub mod scopes;
pub mod stop;
pub mod target;
pub mod timestamps;
pub mod traffic;
pub mod world;

mod audience_steps;
mod audit_steps;
mod client_trust_steps;
mod decl_steps;
mod door_steps;
mod history_steps;
mod isolation_steps;
pub mod limit_steps;
pub(crate) mod mcp_steps;
mod oauth_steps;
mod org_steps;
mod pin_steps;
mod scope_steps;
pub mod sys_steps;
mod tool_steps;

pub use world::GateWorld;
