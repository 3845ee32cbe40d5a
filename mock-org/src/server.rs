//! One `app()` (the org's instance: OAuth, REST, Connect) and one `api_app()` (the API host: the
//! hosted MCP servers and their metadata) for the binary, the gate and the tests; `start` binds
//! each on its own loopback port, as the platform serves them from two origins.

use crate::MockOrg;
use crate::model::Org;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// The org's instance (My Domain): OAuth, REST and the Connect API. It serves no MCP server.
pub fn app(state: Arc<MockOrg>) -> Router {
    let limit = state.org.max_request_bytes;
    let router = crate::rest::routes()
        .merge(crate::connect::routes())
        .merge(crate::oauth::routes())
        .fallback(crate::rest::fallback)
        .method_not_allowed_fallback(crate::rest::method_not_allowed)
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state.clone());
    counted(router, state)
}

/// The API host: the hosted MCP servers, their RFC 9728 metadata, and the gateway's 404 for any
/// other path.
pub fn api_app(state: Arc<MockOrg>) -> Router {
    counted(crate::mcp::routes(state.clone()).fallback(crate::mcp::gateway::not_found), state)
}

fn counted(router: Router, state: Arc<MockOrg>) -> Router {
    router.layer(axum::middleware::from_fn(move |req: axum::extract::Request, next: axum::middleware::Next| {
        state.requests_served.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        next.run(req)
    }))
}

/// A mock org serving on loopback: its instance at `url`, its API host at `api_url`. Dropping it
/// stops both.
pub struct RunningOrg {
    pub url: String,
    pub api_url: String,
    pub state: Arc<MockOrg>,
    shutdown: Vec<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl RunningOrg {
    /// Stops accepting connections and waits for the server tasks to end.
    pub async fn shutdown(mut self) {
        self.stop();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
    }

    fn stop(&mut self) {
        for tx in self.shutdown.drain(..) {
            let _ = tx.send(());
        }
    }
}

impl Drop for RunningOrg {
    fn drop(&mut self) {
        self.stop();
    }
}

fn loopback() -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], 0))
}

/// Starts the org on 127.0.0.1, the instance and the API host each on an OS-chosen port.
pub async fn start(org: Org) -> std::io::Result<RunningOrg> {
    start_on(org, loopback(), loopback()).await
}

pub async fn start_on(org: Org, addr: SocketAddr, api_addr: SocketAddr) -> std::io::Result<RunningOrg> {
    let listeners = (tokio::net::TcpListener::bind(addr).await?, tokio::net::TcpListener::bind(api_addr).await?);
    serve(org, listeners, Public::default()).await
}

/// The addresses a mock behind reverse proxies calls itself by (its issuer, its endpoints in
/// metadata and challenges); `None`: its own.
#[derive(Default)]
pub struct Public {
    pub url: Option<String>,
    pub api_url: Option<String>,
}

/// A mock org on loopback that calls itself by the `public` addresses of the proxies in front of
/// it. `RunningOrg::url` and `api_url` stay the mock's own addresses.
pub async fn start_behind(org: Org, public: Public) -> std::io::Result<RunningOrg> {
    let listeners =
        (tokio::net::TcpListener::bind(loopback()).await?, tokio::net::TcpListener::bind(loopback()).await?);
    serve(org, listeners, public).await
}

async fn serve(
    org: Org,
    (listener, api_listener): (tokio::net::TcpListener, tokio::net::TcpListener),
    public: Public,
) -> std::io::Result<RunningOrg> {
    let url = format!("http://{}", listener.local_addr()?);
    let api_url = format!("http://{}", api_listener.local_addr()?);
    let state = Arc::new(MockOrg::new(
        org,
        public.url.unwrap_or_else(|| url.clone()),
        public.api_url.unwrap_or_else(|| api_url.clone()),
    ));
    let (tx, rx) = oneshot::channel::<()>();
    let (api_tx, api_rx) = oneshot::channel::<()>();
    let instance = accept_loop(listener, app(state.clone()), rx);
    let api = accept_loop(api_listener, api_app(state.clone()), api_rx);
    let task = tokio::spawn(async move {
        tokio::join!(instance, api);
    });
    Ok(RunningOrg { url, api_url, state, shutdown: vec![tx, api_tx], task: Some(task) })
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
