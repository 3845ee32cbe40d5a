//! Progress notifications: a tool call that asks for them (`_meta.progressToken`) gets one on its
//! own stream before its result, naming its own token. Under `mcp-progress-by-rpc-id` the server
//! books tokens by JSON-RPC id across every caller, as a server keyed on the id alone would: two
//! callers whose calls share an id at once are each told the token of whichever came last, so one
//! of them is sent the other's notification (in the stateless era; with sessions, rmcp routes a
//! notification to the request of its token, and one naming another session's is dropped).

use rmcp::model::{ProgressToken, RequestId};
use std::collections::HashMap;
use std::sync::Mutex;
use std::time::Duration;

/// How long a call waits, under the fault, before it reads the book back: long enough for the
/// calls of one burst to overwrite each other.
const BOOKKEEPING_WINDOW: Duration = Duration::from_millis(30);
/// Ids kept at most; the book is cleared beyond it.
const MAX_BOOKED: usize = 4096;

#[derive(Debug, Default)]
pub struct ProgressBook {
    by_rpc_id: Mutex<HashMap<String, ProgressToken>>,
}

impl ProgressBook {
    /// The token this call's notification names: its own, or under the fault the latest booked
    /// for its JSON-RPC id.
    pub async fn token_for(&self, id: &RequestId, own: ProgressToken, by_rpc_id: bool) -> ProgressToken {
        if !by_rpc_id {
            return own;
        }
        let key = id.to_string();
        {
            let mut book = self.by_rpc_id.lock().unwrap_or_else(|p| p.into_inner());
            if book.len() >= MAX_BOOKED {
                book.clear();
            }
            book.insert(key.clone(), own.clone());
        }
        tokio::time::sleep(BOOKKEEPING_WINDOW).await;
        let book = self.by_rpc_id.lock().unwrap_or_else(|p| p.into_inner());
        book.get(&key).cloned().unwrap_or(own)
    }
}
