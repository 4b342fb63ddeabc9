//! The log's errors: [`PostgresConnectError`] at start-up, and the mapping of query errors
//! to [`LogError`].

use crate::BoxError;
use crate::record::LogError;

/// A [`PostgresDeliveryLog`](super::PostgresDeliveryLog) that could not start. The messages
/// never show the URL or its credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PostgresConnectError {
    /// The URL is not a PostgreSQL connection URL.
    #[error("the delivery log's PostgreSQL URL is invalid")]
    Url(#[source] BoxError),
    /// The pool could not be built.
    #[error("the delivery log's connection pool could not be built")]
    Pool(#[source] BoxError),
    /// No connection could be opened (unreachable, refused, authentication failed).
    #[error("the delivery log could not connect to PostgreSQL")]
    Connect(#[source] BoxError),
    /// The schema could not be created or migrated.
    #[error("the delivery log's schema could not be migrated")]
    Migrate(#[source] BoxError),
}

/// An error of a query: one the server reports is [`LogError::Backend`], unless it is about
/// the connection or a shutdown (SQLSTATE class `08` or `57`); anything else (a refused,
/// dropped or closed connection) is [`LogError::Unreachable`].
pub(super) fn failed(error: tokio_postgres::Error) -> LogError {
    let refused = error.as_db_error().is_some_and(|db| {
        let code = db.code().code();
        !code.starts_with("08") && !code.starts_with("57")
    });
    if refused {
        LogError::Backend(Box::new(error))
    } else {
        LogError::Unreachable(Box::new(error))
    }
}
