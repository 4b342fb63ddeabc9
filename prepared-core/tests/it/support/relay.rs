//! A TCP relay on loopback to Redis that a test stops and restarts, to drop the store's
//! connection mid-run. Shared by `prepared-core/tests/delivery_redis.rs` and the root
//! `tests/chaos.rs`.
#![allow(dead_code, unreachable_pub)]

use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinHandle;

/// The `host:port` of a `redis://host:port/` URL.
pub fn redis_address(url: &str) -> String {
    url.trim_start_matches("redis://")
        .trim_end_matches('/')
        .to_owned()
}

/// Relays `listener`'s connections to Redis at `redis` until aborted; aborting drops every
/// relayed connection.
pub fn relay(listener: TcpListener, redis: String) -> JoinHandle<()> {
    tokio::spawn(async move {
        let mut connections = tokio::task::JoinSet::new();
        while let Ok((mut client, _)) = listener.accept().await {
            let redis = redis.clone();
            connections.spawn(async move {
                if let Ok(mut server) = TcpStream::connect(redis).await {
                    let _ = tokio::io::copy_bidirectional(&mut client, &mut server).await;
                }
            });
        }
    })
}

/// Relays `127.0.0.1:port` to Redis at `redis` until aborted.
pub async fn relay_port(port: u16, redis: String) -> JoinHandle<()> {
    let listener = TcpListener::bind(("127.0.0.1", port))
        .await
        .expect("the relay port is free");
    relay(listener, redis)
}
