//! Instructions per delivery, for A/B comparisons that the machine's noise cannot blur.
//!
//! Not a timing: it pushes `N` distinct deliveries (default 20 000) through
//! `Webhooks::handle`, in the setup of `benches/pipeline.rs` (Bearer check, decode, memory
//! dedup, immediate mode), on a current-thread runtime, inside one function that
//! `valgrind --tool=callgrind` counts alone. Each delivery's future is boxed, as the tower
//! layer does, so its size counts too:
//!
//! ```text
//! cargo bench -p prepared-core --bench instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='*instructions::handle_all*' \
//!     target/release/deps/instructions-<hash> 20000
//! ```
//!
//! The total instruction count (`Ir`) divided by `N` is the cost of one delivery, building
//! the request excluded. Run natively, it only checks that every delivery was answered `200`.

use std::hint::black_box;

use bytes::Bytes;
use http_body_util::Full;
use prepared_core::Webhooks;
use prepared_core::auth::{BearerToken, StaticBearer};
use prepared_core::event::CallerLocation;

const TOKEN: &str = "bench-token-9f2c4e7a1b";

fn delivery(id: u64) -> http::Request<Full<Bytes>> {
    let body = format!(
        r#"{{"type":"caller_location","id":"{}","incident_id":"{}","lat":37.7749,"lng":-122.4194,"created_at":"2024-01-15 10:30:15 UTC","source":"ani_ali"}}"#,
        uuid::Uuid::from_u64_pair(1, id),
        uuid::Uuid::from_u64_pair(2, id % 64)
    );
    http::Request::post("/webhooks/prepared")
        .header("authorization", format!("Bearer {TOKEN}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body)))
        .expect("a valid request")
}

/// The counted part: every delivery handled, its answer checked and dropped.
#[inline(never)]
fn handle_all(
    runtime: &tokio::runtime::Runtime,
    webhooks: &Webhooks,
    requests: Vec<http::Request<Full<Bytes>>>,
) -> usize {
    runtime.block_on(async {
        let mut answered = 0;
        for request in requests {
            // Boxed, as the tower layer boxes it: the size of the future counts.
            let response = Box::pin(webhooks.handle(request)).await;
            answered += usize::from(response.status() == 200);
            black_box(response);
        }
        answered
    })
}

fn main() {
    // `cargo bench` passes `--bench`; the count is the first numeric argument.
    let count = std::env::args()
        .skip(1)
        .find_map(|argument| argument.parse::<u64>().ok())
        .unwrap_or(20_000);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let webhooks = runtime.block_on(async {
        Webhooks::builder()
            .authenticator(StaticBearer::new([BearerToken::new(TOKEN)]))
            .queue_capacity(1 << 20)
            .on_caller_location(|location: CallerLocation| async move {
                black_box(location);
                Ok::<_, std::convert::Infallible>(())
            })
            .build()
            .expect("builds")
    });
    let requests: Vec<_> = (0..count).map(delivery).collect();
    let answered = handle_all(&runtime, &webhooks, requests);
    assert_eq!(answered as u64, count, "every delivery is answered 200");
    println!("instructions: {count} deliveries answered 200");
}
