//! The application's typed callbacks, stored type-erased and called panic-safe.

use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::FutureExt;
use futures_util::future::{BoxFuture, CatchUnwind};

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
}

/// One run of a callback on an event: its future, with panics caught in the call that returns
/// the future as well as in the future (an error or a panic becomes a [`CallbackError`]). It
/// is small and can be moved between polls (the callback's future is boxed already), so a
/// delivery can poll it once and hand it, still running, to a task.
pub(crate) enum Attempt {
    Running(CatchUnwind<AssertUnwindSafe<BoxFuture<'static, Result<(), BoxError>>>>),
    /// The outcome, before it is read; `None` after.
    Finished(Option<Result<(), CallbackError>>),
}

impl Attempt {
    /// Calls `callback` with `event`.
    pub(crate) fn start(callback: &Callback, event: Event) -> Self {
        match std::panic::catch_unwind(AssertUnwindSafe(|| callback(event))) {
            Ok(future) => Self::Running(AssertUnwindSafe(future).catch_unwind()),
            Err(panic) => {
                Self::finished(Err(CallbackError::Panicked(panic_message(panic.as_ref()))))
            }
        }
    }

    /// An attempt that ended with `outcome`.
    pub(crate) fn finished(outcome: Result<(), CallbackError>) -> Self {
        Self::Finished(Some(outcome))
    }
}

impl Future for Attempt {
    type Output = Result<(), CallbackError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let outcome = match self.get_mut() {
            Self::Running(future) => match future.poll_unpin(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(Ok(()))) => Ok(()),
                Poll::Ready(Ok(Err(error))) => Err(CallbackError::Failed(error)),
                Poll::Ready(Err(panic)) => {
                    Err(CallbackError::Panicked(panic_message(panic.as_ref())))
                }
            },
            Self::Finished(outcome) => outcome.take().unwrap_or_else(|| {
                Err(CallbackError::Panicked(
                    "the callback's outcome was read twice".to_owned(),
                ))
            }),
        };
        Poll::Ready(outcome)
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
