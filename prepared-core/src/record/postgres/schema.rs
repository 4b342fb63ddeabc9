//! The log's schema: the embedded migrations and how they are applied.
//!
//! Each migration runs once, in a transaction of its own, under a transaction-level advisory
//! lock, and is recorded in `prepared_schema_migrations`. Replicas that start together queue
//! on the lock: the first applies the migration, the others find it applied and go on.

use deadpool_postgres::Client;

/// The advisory lock the migrations hold (`pg_advisory_xact_lock`): a fixed number, the
/// ASCII of `prepdlog`, so that it is unlikely to collide with the application's own locks.
const MIGRATION_LOCK: i64 = 0x7072_6570_646c_6f67;

/// One schema change.
struct Migration {
    version: i32,
    sql: &'static str,
}

/// Every migration, in the order they are applied.
const MIGRATIONS: &[Migration] = &[Migration {
    version: 1,
    sql: include_str!("migrations/0001_deliveries.sql"),
}];

/// Applies the migrations that are not applied yet.
pub(super) async fn migrate(client: &mut Client) -> Result<(), tokio_postgres::Error> {
    for migration in MIGRATIONS {
        let transaction = client.transaction().await?;
        transaction
            .execute("SELECT pg_advisory_xact_lock($1)", &[&MIGRATION_LOCK])
            .await?;
        // Under the lock, so that two replicas do not create the table at once.
        transaction
            .batch_execute(
                "CREATE TABLE IF NOT EXISTS prepared_schema_migrations (
                     version    integer     PRIMARY KEY,
                     applied_at timestamptz NOT NULL DEFAULT now()
                 )",
            )
            .await?;
        let applied = transaction
            .query_opt(
                "SELECT 1 FROM prepared_schema_migrations WHERE version = $1",
                &[&migration.version],
            )
            .await?
            .is_some();
        if !applied {
            transaction.batch_execute(migration.sql).await?;
            transaction
                .execute(
                    "INSERT INTO prepared_schema_migrations (version, applied_at) VALUES ($1, now())",
                    &[&migration.version],
                )
                .await?;
            tracing::info!(
                version = migration.version,
                "delivery log: applied a migration"
            );
        }
        transaction.commit().await?;
    }
    Ok(())
}
