//! A fresh PostgreSQL database per test, on the server of `DATABASE_URL`, dropped when the
//! test ends (also when it fails), so that the tests can run in parallel.
#![allow(dead_code, unreachable_pub)]

use tokio_postgres::{Client, NoTls};

/// The server to test against, e.g. `postgres://postgres@127.0.0.1:5432/test`. The tests
/// that call this are `#[ignore]`d: a plain `cargo test` lists them as ignored, and
/// `scripts/test.sh` runs them when `DATABASE_URL` is set.
pub fn database_url() -> String {
    std::env::var("DATABASE_URL")
        .ok()
        .filter(|url| !url.is_empty())
        .expect("DATABASE_URL is not set: these tests need a PostgreSQL")
}

/// `url` with its database replaced by `database`.
pub fn with_database(url: &str, database: &str) -> String {
    let authority = url.find("://").map_or(0, |scheme| scheme + 3);
    let (base, rest) = match url[authority..].find('/') {
        Some(slash) => url.split_at(authority + slash),
        None => (url, ""),
    };
    let query = rest.find('?').map_or("", |start| &rest[start..]);
    format!("{base}/{database}{query}")
}

/// `url` with its `host:port` replaced by `address`, e.g. to go through a relay.
pub fn with_address(url: &str, address: &str) -> String {
    let authority = url.find("://").map_or(0, |scheme| scheme + 3);
    let end = url[authority..]
        .find(['/', '?'])
        .map_or(url.len(), |end| authority + end);
    let host = url[authority..end]
        .rfind('@')
        .map_or(authority, |at| authority + at + 1);
    format!("{}{address}{}", &url[..host], &url[end..])
}

/// The `host:port` of the server of `url` (port 5432 unless it names one).
pub fn server_address(url: &str) -> String {
    let config: tokio_postgres::Config = url.parse().expect("a PostgreSQL URL");
    let host = match config.get_hosts().first() {
        Some(tokio_postgres::config::Host::Tcp(host)) => host.clone(),
        _ => "127.0.0.1".to_owned(),
    };
    let port = config.get_ports().first().copied().unwrap_or(5432);
    format!("{host}:{port}")
}

/// A connection to `url`, its connection driven in the background.
pub async fn connect(url: &str) -> Client {
    let (client, connection) = tokio_postgres::connect(url, NoTls)
        .await
        .expect("connects to PostgreSQL");
    tokio::spawn(async move {
        let _ = connection.await;
    });
    client
}

/// A relay on a loopback port to the server of a database, for a test that cuts the
/// database off ([`abort`](tokio::task::JoinHandle::abort) the relay) and brings it back
/// ([`restart`](Self::restart)).
pub struct Relayed {
    /// The database's URL through the relay.
    pub url: String,
    /// The relay; aborting it drops every relayed connection.
    pub relay: tokio::task::JoinHandle<()>,
    port: u16,
    server: String,
}

impl Relayed {
    /// Starts relaying to the server of `url` from a free loopback port.
    pub async fn start(url: &str) -> Self {
        let server = server_address(url);
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("binds");
        let port = listener.local_addr().expect("an address").port();
        let relay = super::relay::relay(listener, server.clone());
        let url = with_address(url, &format!("127.0.0.1:{port}"));
        Self {
            url,
            relay,
            port,
            server,
        }
    }

    /// Relays again on the same port, after the relay was aborted.
    pub async fn restart(&mut self) {
        self.relay = super::relay::relay_port(self.port, self.server.clone()).await;
    }
}

/// A database of a test's own, dropped (`WITH (FORCE)`) on drop.
pub struct TestDatabase {
    name: String,
    url: String,
}

impl TestDatabase {
    /// Creates `prepared_test_<random hex>` on the server of `DATABASE_URL`.
    pub async fn create() -> Self {
        let server = database_url();
        let name = format!("prepared_test_{}", uuid::Uuid::new_v4().simple());
        connect(&server)
            .await
            .batch_execute(&format!("CREATE DATABASE {name}"))
            .await
            .expect("creates the test database");
        let url = with_database(&server, &name);
        Self { name, url }
    }

    /// The database's URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A connection of the test's own to the database, to look at the tables.
    pub async fn client(&self) -> Client {
        connect(&self.url).await
    }
}

impl Drop for TestDatabase {
    fn drop(&mut self) {
        // On a thread of its own with a runtime of its own: a drop cannot await, and the
        // test's runtime may be single-threaded or shutting down.
        let server = database_url();
        let sql = format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let (client, connection) = tokio_postgres::connect(&server, NoTls).await?;
                let driver = tokio::spawn(connection);
                let dropped = client.batch_execute(&sql).await;
                drop(client);
                let _ = driver.await;
                dropped
            })
        })
        .join();
        if !matches!(dropped, Ok(Ok(()))) {
            eprintln!("could not drop the test database {}", self.name);
        }
    }
}

#[test]
fn with_database_replaces_only_the_database() {
    assert_eq!(
        with_database("postgres://postgres@127.0.0.1:5432/test", "x"),
        "postgres://postgres@127.0.0.1:5432/x"
    );
    assert_eq!(
        with_database("postgres://u:p@h/test?sslmode=disable", "x"),
        "postgres://u:p@h/x?sslmode=disable"
    );
    assert_eq!(
        with_database("postgres://h:5432", "x"),
        "postgres://h:5432/x"
    );
}

#[test]
fn with_address_replaces_only_host_and_port() {
    assert_eq!(
        with_address("postgres://postgres@127.0.0.1:5432/test", "127.0.0.1:9"),
        "postgres://postgres@127.0.0.1:9/test"
    );
    assert_eq!(
        with_address("postgres://u:p@db.internal/test?x=1", "127.0.0.1:9"),
        "postgres://u:p@127.0.0.1:9/test?x=1"
    );
    assert_eq!(
        server_address("postgres://u:p@db.internal/test"),
        "db.internal:5432"
    );
}
