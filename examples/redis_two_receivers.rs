//! Two receivers behind one "load balancer" share their dedup claims in Redis: Prepared's
//! redelivery of an event to the other replica is recognised as a duplicate.
//!
//! `REDIS_URL=redis://127.0.0.1:6379/ cargo run --example redis_two_receivers`
//!
//! It starts two axum receivers on loopback with a `RedisDedupStore` each (one key prefix
//! per run), delivers the same `caller_location` to both, first one then the other, and
//! prints what each answered and how many callbacks ran (one).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::dedup::RedisDedupStore;
use prepared_core::event::CallerLocation;
use prepared_tower::PreparedWebhooksLayer;

const TOKEN: &str = "two-receivers-demo-token";
const EVENT: &str = prepared_webhooks::EXAMPLE_PAYLOADS[3].1;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let redis_url =
        std::env::var("REDIS_URL").unwrap_or_else(|_| "redis://127.0.0.1:6379/".to_owned());
    let prefix = format!("prepared:demo:{}:", uuid::Uuid::new_v4().simple());
    let callbacks = Arc::new(AtomicUsize::new(0));

    let mut urls = Vec::new();
    for replica in ["a", "b"] {
        let store = RedisDedupStore::builder()
            .prefix(prefix.clone())
            .connect(&redis_url)
            .await?;
        let counted = Arc::clone(&callbacks);
        let webhooks = Webhooks::builder()
            .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
            .dedup_store(store)
            .on_caller_location(move |location: CallerLocation| {
                counted.fetch_add(1, Ordering::SeqCst);
                println!(
                    "replica {replica}: callback for caller_location {}",
                    location.id
                );
                async { Ok::<_, std::convert::Infallible>(()) }
            })
            .build()?;
        let app =
            axum::Router::new().layer(PreparedWebhooksLayer::new(webhooks, "/webhooks/prepared"));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
        urls.push((
            replica,
            format!("http://{}/webhooks/prepared", listener.local_addr()?),
        ));
        tokio::spawn(async move { axum::serve(listener, app).await });
    }

    let client = reqwest::Client::new();
    for (replica, url) in &urls {
        let response = client
            .post(url)
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(EVENT)
            .send()
            .await?;
        println!(
            "delivery to replica {replica}: {} {}",
            response.status().as_u16(),
            response.text().await?
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    println!("callbacks run: {}", callbacks.load(Ordering::SeqCst));
    Ok(())
}
