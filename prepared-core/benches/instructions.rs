//! Instructions per delivery, for A/B comparisons that the machine's noise cannot blur.
//!
//! Not a timing: it pushes `N` distinct deliveries (default 20 000) through
//! `Webhooks::handle`, in the setup of `benches/pipeline.rs` (Bearer check, decode, memory
//! dedup, immediate mode), on a current-thread runtime, inside one function that
//! `valgrind --tool=callgrind` counts alone. As in the tower layer under axum, each request's
//! body is a boxed body and each delivery's future is boxed, so the future's size counts too:
//!
//! ```text
//! cargo bench -p prepared-core --bench instructions --no-run
//! valgrind --tool=callgrind --toggle-collect='*instructions::handle_all*' \
//!     --toggle-collect='*instructions::untimed_*' target/release/deps/instructions-<hash> 20000
//! ```
//!
//! The total instruction count (`Ir`) divided by `N` is the cost of one delivery, building
//! the request excluded. Run natively, it only checks that every delivery was answered `200`.

mod support;

use std::hint::black_box;

use bytes::Bytes;
use http_body_util::BodyExt;
use http_body_util::combinators::UnsyncBoxBody;
use prepared_core::{BoxError, Webhooks};

/// The body type of axum's requests: a boxed body.
type Body = UnsyncBoxBody<Bytes, BoxError>;

/// A distinct delivery. Not counted: callgrind's second `--toggle-collect` pattern stops the
/// count for the time of this call. It is built within the loop, as a server builds each
/// request, so that the allocator sees allocations and frees alternate as they would.
#[inline(never)]
fn untimed_delivery(id: u64) -> http::Request<Body> {
    support::delivery(id).map(|body| body.map_err(|never| match never {}).boxed_unsync())
}

/// The counted part: every delivery handled, its answer checked and dropped.
#[inline(never)]
fn handle_all(runtime: &tokio::runtime::Runtime, webhooks: &Webhooks, count: u64) -> usize {
    runtime.block_on(async {
        let mut answered = 0;
        for id in 0..count {
            let request = untimed_delivery(id);
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
    let webhooks = runtime.block_on(async { support::webhooks() });
    let answered = handle_all(&runtime, &webhooks, count);
    assert_eq!(answered as u64, count, "every delivery is answered 200");
    println!("instructions: {count} deliveries answered 200");
}
