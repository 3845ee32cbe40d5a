//! Steps for the authorization server's trust in clients; the logic is in `client_trust`.

use crate::client_trust::{self, TokenPath};
use crate::world::{GateWorld, StepError};
use cucumber::{given, then, when};

fn path(p: &str) -> Result<TokenPath, StepError> {
    p.parse().map_err(|e: String| StepError::Expectation { expected: "a token path".into(), observed: e })
}

#[when("an unknown client asks for a code for a foreign callback")]
async fn unknown_client(w: &mut GateWorld) -> Result<(), StepError> {
    client_trust::authorize_unknown_client(w).await
}

#[then("the server shows an error and redirects nowhere off its origin")]
async fn turned_away(w: &mut GateWorld) -> Result<(), StepError> {
    client_trust::unknown_client_turned_away(w)
}

#[when(expr = "the code is redeemed without its verifier through {word}")]
async fn without_verifier(w: &mut GateWorld, through: String) -> Result<(), StepError> {
    client_trust::redeem_through(w, path(&through)?, false).await
}

#[when(expr = "the code is redeemed with its verifier through {word}")]
async fn with_verifier(w: &mut GateWorld, through: String) -> Result<(), StepError> {
    client_trust::redeem_through(w, path(&through)?, true).await
}

#[given("the metadata advertises the iss authorization response parameter")]
async fn iss_advertised(w: &mut GateWorld) -> Result<(), StepError> {
    client_trust::iss_advertised(w).await
}

#[then("the authorization response carries the issuer as iss")]
async fn success_names_issuer(w: &mut GateWorld) -> Result<(), StepError> {
    client_trust::response_names_issuer(w, false)
}

#[then("the error response carries the issuer as iss")]
async fn error_names_issuer(w: &mut GateWorld) -> Result<(), StepError> {
    client_trust::response_names_issuer(w, true)
}
