//! The application's typed callbacks, stored type-erased and called panic-safe.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use super::Delivery;
use crate::{Event, EventKind};

pub use crate::BoxError;

/// A type-erased callback: takes the event and its delivery, returns its outcome.
pub(crate) type Callback =
    Arc<dyn Fn(Event, Delivery) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

/// A function the pipeline can run for an event of type `T`: `Fn(T) -> Fut` or
/// `Fn(T, Delivery) -> Fut`, whose future returns a [`CallbackOutput`]. `Args` tells the two
/// forms apart; it is inferred, never written.
///
/// ```
/// # use prepared_core::{Webhooks, auth::{BearerToken, StaticBearer}, delivery::Delivery, event::{CallerLocation, NoteCreated}};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([BearerToken::new("s3cret-token")]))
///     // The event alone:
///     .on_note_created(|note: NoteCreated| async move { println!("note {}", note.id) })
///     // The event and what the receiver knows about its delivery:
///     .on_caller_location(|location: CallerLocation, delivery: Delivery| async move {
///         println!("{:?} sent a location for {}", delivery.tenant(), location.incident_id)
///     })
///     .build()?;
/// # Ok(()) }
/// ```
pub trait EventCallback<T, Args>: Send + Sync + 'static {
    /// Runs the callback.
    fn call(&self, event: T, delivery: Delivery) -> BoxFuture<'static, Result<(), BoxError>>;
}

impl<T, F, Fut> EventCallback<T, (T,)> for F
where
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: CallbackOutput> + Send + 'static,
{
    fn call(&self, event: T, _delivery: Delivery) -> BoxFuture<'static, Result<(), BoxError>> {
        self(event).map(CallbackOutput::into_result).boxed()
    }
}

impl<T, F, Fut> EventCallback<T, (T, Delivery)> for F
where
    F: Fn(T, Delivery) -> Fut + Send + Sync + 'static,
    Fut: Future<Output: CallbackOutput> + Send + 'static,
{
    fn call(&self, event: T, delivery: Delivery) -> BoxFuture<'static, Result<(), BoxError>> {
        self(event, delivery)
            .map(CallbackOutput::into_result)
            .boxed()
    }
}

/// What a callback's future may return: `()` for a callback that cannot fail, or
/// `Result<(), E>` for any error type that converts into a [`BoxError`] (an `Err` is retried
/// per the [`RetryPolicy`](super::RetryPolicy), then dead-lettered).
///
/// ```
/// # use prepared_core::{Webhooks, auth::{BearerToken, StaticBearer}, event::{CallerLocation, NoteCreated}};
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let webhooks = Webhooks::builder()
///     .authenticator(StaticBearer::new([BearerToken::new("s3cret-token")]))
///     // Cannot fail:
///     .on_note_created(|note: NoteCreated| async move { println!("note {}", note.id) })
///     // May fail, and is then retried:
///     .on_caller_location(|location: CallerLocation| async move {
///         std::fs::write("/tmp/last-location", location.id.to_string())
///     })
///     .build()?;
/// # Ok(()) }
/// ```
pub trait CallbackOutput: Send + 'static {
    /// The outcome as the pipeline sees it.
    fn into_result(self) -> Result<(), BoxError>;
}

impl CallbackOutput for () {
    fn into_result(self) -> Result<(), BoxError> {
        Ok(())
    }
}

impl<E: Into<BoxError> + 'static> CallbackOutput for Result<(), E>
where
    Self: Send,
{
    fn into_result(self) -> Result<(), BoxError> {
        self.map_err(Into::into)
    }
}

/// Why a callback did not succeed. Messages come from the application's error or panic, so
/// they are kept out of the response; the worker logs them at `warn`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CallbackError {
    /// The callback returned an error.
    #[error("the callback failed: {0}")]
    Failed(#[source] BoxError),
    /// The callback panicked; the panic was caught and the worker kept running.
    #[error("the callback panicked: {0}")]
    Panicked(String),
}

/// The callbacks registered on a [`Webhooks`](super::Webhooks), one slot per event kind plus
/// the fallback for kinds without one.
#[derive(Clone, Default)]
pub(crate) struct Callbacks {
    by_kind: [Option<Callback>; EventKind::ALL.len()],
    fallback: Option<Callback>,
}

impl Callbacks {
    pub(crate) fn set(&mut self, kind: EventKind, callback: Callback) {
        self.by_kind[kind as usize] = Some(callback);
    }

    pub(crate) fn set_fallback(&mut self, callback: Callback) {
        self.fallback = Some(callback);
    }

    /// The callback that handles `kind`, if any.
    pub(crate) fn for_kind(&self, kind: EventKind) -> Option<&Callback> {
        self.by_kind[kind as usize]
            .as_ref()
            .or(self.fallback.as_ref())
    }
}

/// Runs `callback` on `event`, turning an error or a panic (in the call or in its future)
/// into a [`CallbackError`]; with the `metrics` feature, its duration goes to the histogram
/// `prepared_webhooks_callback_duration_seconds{kind}`.
pub(crate) async fn call(
    callback: &Callback,
    event: Event,
    delivery: Delivery,
) -> Result<(), CallbackError> {
    #[cfg(feature = "metrics")]
    let (kind, started) = (event.kind(), std::time::Instant::now());
    let result = run(callback, event, delivery).await;
    #[cfg(feature = "metrics")]
    metrics::histogram!("prepared_webhooks_callback_duration_seconds", "kind" => kind.as_str())
        .record(started.elapsed().as_secs_f64());
    result
}

async fn run(callback: &Callback, event: Event, delivery: Delivery) -> Result<(), CallbackError> {
    let future = match std::panic::catch_unwind(AssertUnwindSafe(|| callback(event, delivery))) {
        Ok(future) => future,
        Err(panic) => return Err(CallbackError::Panicked(panic_message(panic.as_ref()))),
    };
    match AssertUnwindSafe(future).catch_unwind().await {
        Ok(Ok(())) => Ok(()),
        Ok(Err(error)) => Err(CallbackError::Failed(error)),
        Err(panic) => Err(CallbackError::Panicked(panic_message(panic.as_ref()))),
    }
}

fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(message) = panic.downcast_ref::<&str>() {
        (*message).to_owned()
    } else if let Some(message) = panic.downcast_ref::<String>() {
        message.clone()
    } else {
        "a non-string panic payload".to_owned()
    }
}

/// Wraps a typed callback: `project` takes the variant out of the event.
pub(crate) fn typed<T, Args>(
    project: fn(Event) -> Option<T>,
    callback: impl EventCallback<T, Args>,
) -> Callback
where
    T: Send + 'static,
{
    Arc::new(
        move |event: Event, delivery: Delivery| match project(event) {
            Some(typed) => callback.call(typed, delivery),
            None => {
                async { Err(BoxError::from("callback registered for another event kind")) }.boxed()
            }
        },
    )
}
