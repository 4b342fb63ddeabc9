//! [`PostgresDeliveryLog`]: the delivery log in PostgreSQL, shared by every replica.
//!
//! ```no_run
//! use prepared_core::record::{DeliveryLog, PostgresDeliveryLog, RecordFilter};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! // Connects, and creates or migrates the table `prepared_deliveries`.
//! let log = PostgresDeliveryLog::connect("postgres://prepared@db.internal/prepared").await?;
//! let failed = log.find(&RecordFilter::new().tenant("ecc-king-county")).await?;
//! # drop(failed); Ok(()) }
//! ```
//!
//! It is built on `tokio-postgres` with a `deadpool-postgres` pool rather than on `sqlx`:
//! `sqlx` 0.9 needs rustc 1.94, above the workspace's `rust-version` (1.89), and its
//! compile-time checked queries need a database at build time.

use std::fmt;
use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use deadpool_postgres::{Client, Manager, ManagerConfig, Pool, RecyclingMethod, Runtime};
use time::OffsetDateTime;
use tokio_postgres::NoTls;
use tokio_postgres::config::Host;

use super::{
    Backlog, DeliveryLog, DeliveryRecord, LogError, LogFuture, NewRecord, Outcome, RecordFilter,
};

mod error;
mod queries;
mod rows;
mod schema;

pub use error::PostgresConnectError;
use error::failed;

/// The delivery log in PostgreSQL, for receivers with several replicas or records that must
/// outlive the process. Feature `postgres`.
///
/// # Schema
/// [`connect`](Self::connect) and [`from_pool`](Self::from_pool) create or migrate the
/// schema before they return: the table `prepared_deliveries`, one row per record keyed by
/// its dedup key, and `prepared_schema_migrations`, the migrations applied. Each migration
/// runs once, in a transaction, under an advisory lock, so replicas may start together. The
/// columns in clear are the kind, the ids, the tenant, the credential's name, the timestamps,
/// the counts and the outcome; `payload` is AES-256-GCM ciphertext when `key_id` is set (see
/// [`RecordKeys`](super::RecordKeys)). Timestamps are kept to the microsecond, as PostgreSQL
/// keeps them, and read back in UTC.
///
/// # Failures
/// Every operation runs under a timeout of 5 seconds; the pool waits at most 2 seconds for a
/// free connection or a new one. A database that cannot be reached or does not answer in
/// time is [`LogError::Unreachable`] (the pipeline answers `503`, and Prepared retries); an
/// error the server reports is [`LogError::Backend`], except a connection or shutdown error
/// (SQLSTATE class `08` or `57`), which is [`LogError::Unreachable`] too. A connection that
/// dropped is replaced by the pool on its next use.
///
/// Cheap to clone: clones share the pool. Its `Debug` shows the host and the database, never
/// the credentials.
#[derive(Clone)]
pub struct PostgresDeliveryLog {
    pool: Pool,
    /// `host:port/database`, for `Debug`; `None` for a pool of the caller's.
    server: Option<String>,
    timeout: Duration,
}

impl PostgresDeliveryLog {
    /// How long one operation may take: 5 seconds.
    pub const TIMEOUT: Duration = Duration::from_secs(5);
    /// How long [`connect`](Self::connect)'s pool waits for a free connection, or for a new
    /// one to open: 2 seconds.
    pub const POOL_TIMEOUT: Duration = Duration::from_secs(2);
    /// How many connections [`connect`](Self::connect)'s pool opens at most: 8.
    pub const MAX_CONNECTIONS: usize = 8;

    /// Connects to the PostgreSQL at `url` (e.g. `postgres://user:password@host:5432/db`,
    /// without TLS) through a pool of [`MAX_CONNECTIONS`](Self::MAX_CONNECTIONS), and creates
    /// or migrates the schema. Fails if the URL is invalid, the database cannot be reached
    /// within about [`POOL_TIMEOUT`](Self::POOL_TIMEOUT), or a migration fails.
    pub async fn connect(url: &str) -> Result<Self, PostgresConnectError> {
        let mut config = tokio_postgres::Config::from_str(url)
            .map_err(|error| PostgresConnectError::Url(Box::new(error)))?;
        config.connect_timeout(Self::POOL_TIMEOUT);
        let server = describe(&config);
        let manager = Manager::from_config(
            config,
            NoTls,
            ManagerConfig {
                recycling_method: RecyclingMethod::Fast,
            },
        );
        let pool = Pool::builder(manager)
            .max_size(Self::MAX_CONNECTIONS)
            .runtime(Runtime::Tokio1)
            .wait_timeout(Some(Self::POOL_TIMEOUT))
            .create_timeout(Some(Self::POOL_TIMEOUT))
            .recycle_timeout(Some(Self::POOL_TIMEOUT))
            .build()
            .map_err(|error| PostgresConnectError::Pool(Box::new(error)))?;
        let mut log = Self::from_pool(pool).await?;
        log.server = Some(server);
        Ok(log)
    }

    /// A log on a pool of the caller's own (its TLS, sizes and timeouts), after creating or
    /// migrating the schema. Fails if no connection can be had or a migration fails.
    pub async fn from_pool(pool: Pool) -> Result<Self, PostgresConnectError> {
        let mut client = pool
            .get()
            .await
            .map_err(|error| PostgresConnectError::Connect(Box::new(error)))?;
        schema::migrate(&mut client)
            .await
            .map_err(|error| PostgresConnectError::Migrate(Box::new(error)))?;
        Ok(Self {
            pool,
            server: None,
            timeout: Self::TIMEOUT,
        })
    }

    /// A connection from the pool.
    async fn client(&self) -> Result<Client, LogError> {
        self.pool
            .get()
            .await
            .map_err(|error| LogError::Unreachable(Box::new(error)))
    }

    /// Runs `work` under the timeout.
    fn bounded<'a, T: Send + 'a>(
        &'a self,
        operation: &'static str,
        work: impl Future<Output = Result<T, LogError>> + Send + 'a,
    ) -> LogFuture<'a, T> {
        let timeout = self.timeout;
        Box::pin(async move {
            tokio::time::timeout(timeout, work)
                .await
                .unwrap_or_else(|_| {
                    let message = format!("postgres {operation} timed out after {timeout:?}");
                    Err(LogError::Unreachable(message.into()))
                })
        })
    }

    async fn insert_record(&self, record: &NewRecord) -> Result<(), LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(queries::INSERT)
            .await
            .map_err(failed)?;
        let payload: &[u8] = record.payload.stored_bytes();
        client
            .execute(
                &statement,
                &[
                    &record.key,
                    &record.kind,
                    &record.incident_id,
                    &record.tenant,
                    &record.principal,
                    &record.received_at,
                    &record.status.as_str(),
                    &record.error,
                    &payload,
                    &record.payload.key_id(),
                ],
            )
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn update_record(&self, key: &str, outcome: &Outcome) -> Result<(), LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(queries::UPDATE)
            .await
            .map_err(failed)?;
        let attempts = i64::from(outcome.attempts);
        client
            .execute(
                &statement,
                &[&key, &outcome.status.as_str(), &attempts, &outcome.error],
            )
            .await
            .map_err(failed)?;
        Ok(())
    }

    async fn find_records(&self, filter: &RecordFilter) -> Result<Vec<DeliveryRecord>, LogError> {
        let (sql, params) = queries::find(filter);
        let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
            .iter()
            .map(|param| param.as_ref() as &(dyn tokio_postgres::types::ToSql + Sync))
            .collect();
        let client = self.client().await?;
        let statement = client.prepare_cached(&sql).await.map_err(failed)?;
        let found = client.query(&statement, &params).await.map_err(failed)?;
        found.iter().map(|row| rows::record(row, false)).collect()
    }

    async fn get_record(&self, key: &str) -> Result<Option<DeliveryRecord>, LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(&queries::get())
            .await
            .map_err(failed)?;
        let found = client
            .query_opt(&statement, &[&key])
            .await
            .map_err(failed)?;
        found.map(|row| rows::record(&row, true)).transpose()
    }

    async fn purge_records(&self, before: OffsetDateTime, limit: u32) -> Result<u64, LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(queries::PURGE)
            .await
            .map_err(failed)?;
        let limit = i64::from(limit);
        client
            .execute(&statement, &[&before, &limit])
            .await
            .map_err(failed)
    }

    async fn read_backlog(&self) -> Result<Backlog, LogError> {
        let client = self.client().await?;
        let statement = client
            .prepare_cached(queries::BACKLOG)
            .await
            .map_err(failed)?;
        let row = client.query_one(&statement, &[]).await.map_err(failed)?;
        let dead_letters: i64 = rows::column(&row, "dead_letters")?;
        let dead_letters = u64::try_from(dead_letters)
            .map_err(|_| LogError::Malformed(format!("a negative count: {dead_letters}")))?;
        let oldest_unprocessed: Option<OffsetDateTime> = rows::column(&row, "oldest_unprocessed")?;
        Ok(Backlog::new(dead_letters, oldest_unprocessed))
    }

    async fn select_one(&self) -> Result<(), LogError> {
        let client = self.client().await?;
        client.simple_query("SELECT 1").await.map_err(failed)?;
        Ok(())
    }
}

impl DeliveryLog for PostgresDeliveryLog {
    fn insert<'a>(&'a self, record: &'a NewRecord) -> LogFuture<'a, ()> {
        self.bounded("insert", self.insert_record(record))
    }

    fn update<'a>(&'a self, key: &'a str, outcome: &'a Outcome) -> LogFuture<'a, ()> {
        self.bounded("update", self.update_record(key, outcome))
    }

    fn find<'a>(&'a self, filter: &'a RecordFilter) -> LogFuture<'a, Vec<DeliveryRecord>> {
        self.bounded("find", self.find_records(filter))
    }

    fn get<'a>(&'a self, key: &'a str) -> LogFuture<'a, Option<DeliveryRecord>> {
        self.bounded("get", self.get_record(key))
    }

    fn purge(&self, before: OffsetDateTime, limit: u32) -> LogFuture<'_, u64> {
        self.bounded("purge", self.purge_records(before, limit))
    }

    fn backlog(&self) -> LogFuture<'_, Backlog> {
        self.bounded("backlog", self.read_backlog())
    }

    fn ping(&self) -> LogFuture<'_, ()> {
        self.bounded("ping", self.select_one())
    }
}

impl fmt::Debug for PostgresDeliveryLog {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Not the URL nor the pool's configuration: they may carry a password.
        f.debug_struct("PostgresDeliveryLog")
            .field("server", &self.server)
            .field("timeout", &self.timeout)
            .field("pool", &self.pool.status())
            .finish_non_exhaustive()
    }
}

/// `host:port/database` of a configuration, without the user or the password.
fn describe(config: &tokio_postgres::Config) -> String {
    let hosts: Vec<String> = config
        .get_hosts()
        .iter()
        .enumerate()
        .map(|(index, host)| {
            let name = match host {
                Host::Tcp(name) => name.clone(),
                #[cfg(unix)]
                Host::Unix(path) => path.display().to_string(),
            };
            match config.get_ports().get(index).or(config.get_ports().first()) {
                Some(port) => format!("{name}:{port}"),
                None => name,
            }
        })
        .collect();
    format!("{}/{}", hosts.join(","), config.get_dbname().unwrap_or(""))
}
