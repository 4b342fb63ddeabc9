//! The application's typed callbacks, stored type-erased and called panic-safe.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use futures_util::FutureExt;
use futures_util::future::BoxFuture;

use crate::{Event, EventKind};

pub use crate::BoxError;

/// A type-erased callback: takes the event, returns its outcome.
pub(crate) type Callback =
    Arc<dyn Fn(Event) -> BoxFuture<'static, Result<(), BoxError>> + Send + Sync>;

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
        self.by_kind[kind_index(kind)] = Some(callback);
    }

    pub(crate) fn set_fallback(&mut self, callback: Callback) {
        self.fallback = Some(callback);
    }

    /// The callback that handles `kind`, if any.
    pub(crate) fn for_kind(&self, kind: EventKind) -> Option<&Callback> {
        self.by_kind[kind_index(kind)]
            .as_ref()
            .or(self.fallback.as_ref())
    }

    /// Runs `callback` on `event`; an error or a panic becomes a [`CallbackError`].
    pub(crate) async fn call(callback: &Callback, event: Event) -> Result<(), CallbackError> {
        // The call itself runs inside the guarded future, so a panic in the closure body is
        // caught as well as one in the future it returns.
        let run = async { callback(event).await };
        match AssertUnwindSafe(run).catch_unwind().await {
            Ok(Ok(())) => Ok(()),
            Ok(Err(error)) => Err(CallbackError::Failed(error)),
            Err(panic) => Err(CallbackError::Panicked(panic_message(panic.as_ref()))),
        }
    }
}

fn kind_index(kind: EventKind) -> usize {
    EventKind::ALL
        .iter()
        .position(|k| *k == kind)
        .unwrap_or(EventKind::ALL.len() - 1)
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
pub(crate) fn typed<T, F, Fut, E>(project: fn(Event) -> Option<T>, callback: F) -> Callback
where
    T: Send + 'static,
    F: Fn(T) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<(), E>> + Send + 'static,
    E: Into<BoxError> + 'static,
{
    Arc::new(move |event: Event| match project(event) {
        Some(typed) => {
            let future = callback(typed);
            async move { future.await.map_err(Into::into) }.boxed()
        }
        None => async { Err(BoxError::from("callback registered for another event kind")) }.boxed(),
    })
}
