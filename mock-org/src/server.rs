//! One `app()` for the binary, the gate and the tests; `start` binds it on loopback port 0.

use crate::MockOrg;
use crate::model::Org;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub fn app(state: Arc<MockOrg>) -> Router {
    let limit = state.org.max_request_bytes;
    let counted = state.clone();
    crate::rest::routes()
        .merge(crate::connect::routes())
        .merge(crate::oauth::routes())
        .fallback(crate::rest::fallback)
        .method_not_allowed_fallback(crate::rest::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state.clone())
        .merge(crate::mcp::routes(state))
        .layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
            counted.requests_served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            next.run(req)
        }))
}

/// A mock org serving on loopback. Dropping it stops the server.
pub struct RunningOrg {
    pub url: String,
    pub state: Arc<MockOrg>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningOrg {
    /// Stops accepting connections and waits for the server task to end.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }
}

impl Drop for RunningOrg {
    fn drop(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
    }
}

/// Starts the org on 127.0.0.1 with an OS-chosen port.
pub async fn start(org: Org) -> std::io::Result<RunningOrg> {
    start_on(org, SocketAddr::from(([127, 0, 0, 1], 0))).await
}

pub async fn start_on(org: Org, addr: SocketAddr) -> std::io::Result<RunningOrg> {
    serve(org, tokio::net::TcpListener::bind(addr).await?, None).await
}

/// A mock org on loopback that calls itself `public_url` (its issuer, its endpoints in metadata
/// and challenges): the address of a reverse proxy in front of it. `RunningOrg::url` stays the
/// mock's own address.
pub async fn start_behind(org: Org, public_url: String) -> std::io::Result<RunningOrg> {
    serve(org, tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?, Some(public_url)).await
}

async fn serve(org: Org, listener: tokio::net::TcpListener, public_url: Option<String>) -> std::io::Result<RunningOrg> {
    let url = format!("http://{}", listener.local_addr()?);
    let state = Arc::new(MockOrg::new(org, public_url.unwrap_or_else(|| url.clone())));
    let (tx, rx) = oneshot::channel::<()>();
    let task = tokio::spawn(accept_loop(listener, app(state.clone()), rx));
    Ok(RunningOrg { url, state, shutdown: Some(tx), task: Some(task) })
}

/// How long a connection may take to send a request's headers: a client that drips them
/// (slowloris) is cut off, not held forever.
pub const HEADER_READ_TIMEOUT: Duration = Duration::from_secs(10);

/// How long a stopping server waits for its open connections (an SSE stream may never end).
const CLOSING_GRACE: Duration = Duration::from_secs(5);

/// Serves connections until `stop`, then closes them gracefully within `CLOSING_GRACE`. Hyper's
/// own connection builder rather than `axum::serve`, which gives hyper no timer and so no
/// header-read timeout.
async fn accept_loop(listener: tokio::net::TcpListener, router: Router, mut stop: oneshot::Receiver<()>) {
    let (closing, _) = tokio::sync::watch::channel(());
    let mut connections = tokio::task::JoinSet::new();
    loop {
        let tcp = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((tcp, _)) => tcp,
                // Out of file descriptors and the like: wait and go on, as axum::serve does.
                Err(_) => {
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            _ = &mut stop => break,
        };
        // Small answers go out at once: without TCP_NODELAY an answer written in two parts (an
        // SSE stream's event and its end) waits out the peer's delayed ACK, 40 ms a call.
        let _ = tcp.set_nodelay(true);
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        let mut closing = closing.subscribe();
        connections.spawn(async move {
            let mut builder = hyper_util::server::conn::auto::Builder::new(hyper_util::rt::TokioExecutor::new());
            builder.http1().timer(hyper_util::rt::TokioTimer::new()).header_read_timeout(HEADER_READ_TIMEOUT);
            let conn = builder.serve_connection_with_upgrades(hyper_util::rt::TokioIo::new(tcp), service);
            let mut conn = std::pin::pin!(conn);
            tokio::select! {
                _ = conn.as_mut() => return,
                _ = closing.changed() => conn.as_mut().graceful_shutdown(),
            }
            let _ = conn.await;
        });
        while connections.try_join_next().is_some() {}
    }
    let _ = closing.send(());
    let _ = tokio::time::timeout(CLOSING_GRACE, async { while connections.join_next().await.is_some() {} }).await;
}
