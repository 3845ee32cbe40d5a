//! A TCP proxy on loopback that puts a chosen round-trip time between the gate and a server, for
//! `headless-gate-bench remote`: every byte reaches the other side half a round trip after it
//! was sent, in both directions, without limiting throughput (bytes in flight are queued, not
//! held back until the previous ones land), and a new connection first waits one round trip, as
//! a TCP handshake would. TLS, which a real org adds (one more round trip per new connection), is
//! not modelled.

use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;
use tokio::time::Instant;

/// Serves `listener`, forwarding each connection to `upstream` (`host:port`) with `rtt` between
/// the two. Ends when the task is aborted.
pub fn spawn(listener: TcpListener, upstream: String, rtt: Duration) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            let upstream = upstream.clone();
            tokio::spawn(async move {
                tokio::time::sleep(rtt).await;
                let Ok(server) = TcpStream::connect(&upstream).await else { return };
                let _ = (client.set_nodelay(true), server.set_nodelay(true));
                let (client_read, client_write) = client.into_split();
                let (server_read, server_write) = server.into_split();
                tokio::join!(delayed(client_read, server_write, rtt / 2), delayed(server_read, client_write, rtt / 2));
            });
        }
    })
}

/// Copies `from` to `to`, each chunk written `delay` after it was read; a shutdown follows the
/// last chunk, so a closed side is seen as late as its data.
async fn delayed(mut from: tokio::net::tcp::OwnedReadHalf, mut to: tokio::net::tcp::OwnedWriteHalf, delay: Duration) {
    let (tx, mut rx) = tokio::sync::mpsc::unbounded_channel::<(Instant, Vec<u8>)>();
    let reader = async move {
        let mut buf = vec![0u8; 64 * 1024];
        while let Ok(n @ 1..) = from.read(&mut buf).await {
            if tx.send((Instant::now() + delay, buf[..n].to_vec())).is_err() {
                break;
            }
        }
        Instant::now() + delay
    };
    let writer = async move {
        while let Some((due, chunk)) = rx.recv().await {
            tokio::time::sleep_until(due).await;
            if to.write_all(&chunk).await.is_err() {
                return to;
            }
        }
        to
    };
    let (closed_at, mut to) = tokio::join!(reader, writer);
    tokio::time::sleep_until(closed_at).await;
    let _ = to.shutdown().await;
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An echo server behind the proxy: the bytes arrive intact, both ways, and the answer takes
    /// at least the connection's round trip plus the request's.
    #[tokio::test]
    async fn bytes_cross_intact_and_no_sooner_than_the_round_trips() {
        let echo = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let echo_addr = echo.local_addr().unwrap().to_string();
        tokio::spawn(async move {
            let (mut s, _) = echo.accept().await.unwrap();
            let mut buf = vec![0u8; 1024];
            let n = s.read(&mut buf).await.unwrap();
            s.write_all(&buf[..n]).await.unwrap();
        });
        let front = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let front_addr = front.local_addr().unwrap();
        let rtt = Duration::from_millis(40);
        let proxy = spawn(front, echo_addr, rtt);
        let started = std::time::Instant::now();
        let mut c = TcpStream::connect(front_addr).await.unwrap();
        c.write_all(b"hello through the proxy").await.unwrap();
        let mut got = vec![0u8; 64];
        let n = tokio::time::timeout(Duration::from_secs(10), c.read(&mut got)).await.unwrap().unwrap();
        assert_eq!(&got[..n], b"hello through the proxy");
        // A lower bound only: the handshake's round trip and the request's.
        assert!(started.elapsed() >= 2 * rtt, "{:?}", started.elapsed());
        proxy.abort();
    }
}
