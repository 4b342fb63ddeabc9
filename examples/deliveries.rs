//! The delivery log from the command line: what was received, what became of it, and replay.
//!
//! ```text
//! cargo run --example deliveries -- list [--incident ID] [--tenant T] [--kind K] [--status S]
//!                                        [--since RFC3339] [--until RFC3339] [--limit N] [--json]
//! cargo run --example deliveries -- show KEY [--reveal]
//! cargo run --example deliveries -- replay (KEY... | filters as for list) [--force]
//! cargo run --example deliveries -- requeue-dead-letters
//! ```
//!
//! `list` and `show` read the database of `PREPARED_DATABASE_URL` directly (the receiver's
//! PostgreSQL log); `show` decrypts the payload with `PREPARED_RECORD_KEY` and prints it with
//! the phone numbers and coordinates redacted, unless `--reveal` is given. `replay` and
//! `requeue-dead-letters` need the application's callbacks, which only the running receiver
//! has: they ask it, with `POST $PREPARED_RECEIVER_URL/admin/replay` (default
//! `http://127.0.0.1:3000`) and `Authorization: Bearer $PREPARED_ADMIN_TOKEN`, and print its
//! report. `list --json` prints one JSON object per record and line.

use std::process::ExitCode;

use prepared_core::Event;
use prepared_core::delivery::Replay;
use prepared_core::record::{
    DeliveryLog, DeliveryRecord, PostgresDeliveryLog, RecordFilter, RecordKeys,
};
use serde_json::json;
use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

type Failure = Box<dyn std::error::Error>;

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    match run(&args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("deliveries: {error}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: &[String]) -> Result<(), Failure> {
    let (command, rest) = args.split_first().ok_or(USAGE)?;
    let options = Options::parse(rest)?;
    match command.as_str() {
        "list" => list(&options).await,
        "show" => show(&options).await,
        "replay" => replay(&options).await,
        "requeue-dead-letters" => ask_receiver(&Replay::dead_letters()).await,
        other => Err(format!("unknown command `{other}`\n{USAGE}").into()),
    }
}

const USAGE: &str = "usage: deliveries (list [filters] [--json] | show KEY [--reveal] | replay (KEY... | filters) [--force] | requeue-dead-letters)";

/// The command line after the command: filters, flags and keys.
#[derive(Default)]
struct Options {
    filter: RecordFilter,
    filtered: bool,
    keys: Vec<String>,
    json: bool,
    reveal: bool,
    force: bool,
}

impl Options {
    fn parse(args: &[String]) -> Result<Self, Failure> {
        let mut options = Self::default();
        let mut args = args.iter();
        while let Some(arg) = args.next() {
            match arg.as_str() {
                "--json" => options.json = true,
                "--reveal" => options.reveal = true,
                "--force" => options.force = true,
                flag if flag.starts_with("--") => {
                    let value = args.next().ok_or_else(|| format!("{flag} needs a value"))?;
                    let filter = std::mem::take(&mut options.filter);
                    options.filter = narrowed(filter, flag, value)?;
                    options.filtered = true;
                }
                key => options.keys.push(key.to_owned()),
            }
        }
        Ok(options)
    }
}

/// `filter` with the condition of one command-line option.
fn narrowed(filter: RecordFilter, flag: &str, value: &str) -> Result<RecordFilter, Failure> {
    Ok(match flag {
        "--incident" => filter.incident(value.parse()?),
        "--tenant" => filter.tenant(value),
        "--kind" => filter.kind(value),
        "--status" => filter.status(value.parse()?),
        "--since" => filter.since(OffsetDateTime::parse(value, &Rfc3339)?),
        "--until" => filter.until(OffsetDateTime::parse(value, &Rfc3339)?),
        "--limit" => filter.limit(value.parse()?),
        other => return Err(format!("unknown option {other}\n{USAGE}").into()),
    })
}

async fn connect() -> Result<PostgresDeliveryLog, Failure> {
    let url = std::env::var("PREPARED_DATABASE_URL")
        .map_err(|_| "set PREPARED_DATABASE_URL to the receiver's database")?;
    Ok(PostgresDeliveryLog::connect(&url).await?)
}

fn keys() -> Result<Option<RecordKeys>, Failure> {
    match std::env::var("PREPARED_RECORD_KEY") {
        Ok(keys) if !keys.trim().is_empty() => Ok(Some(RecordKeys::from_base64_list(&keys)?)),
        _ => Ok(None),
    }
}

async fn list(options: &Options) -> Result<(), Failure> {
    let records = connect().await?.find(&options.filter).await?;
    for record in &records {
        if options.json {
            println!("{}", serde_json::to_string(record)?);
        } else {
            println!("{}", line(record));
        }
    }
    if !options.json {
        eprintln!("{} record(s)", records.len());
    }
    Ok(())
}

/// One record as a line of text.
fn line(record: &DeliveryRecord) -> String {
    let received_at = record.received_at.format(&Rfc3339).unwrap_or_default();
    let incident = record.incident_id.map(|id| id.to_string());
    format!(
        "{received_at}  {:<13} deliveries={} attempts={}  {:<17} incident={} tenant={}  {}",
        record.status.as_str(),
        record.deliveries,
        record.attempts,
        record.kind.as_deref().unwrap_or("-"),
        incident.as_deref().unwrap_or("-"),
        record.tenant.as_deref().unwrap_or("-"),
        record.dedup_key,
    )
}

async fn show(options: &Options) -> Result<(), Failure> {
    let [key] = options.keys.as_slice() else {
        return Err("show takes one record key".into());
    };
    let record = connect()
        .await?
        .get(key)
        .await?
        .ok_or_else(|| format!("no record `{key}`"))?;
    let mut shown = serde_json::to_value(&record)?;
    let payload = record.payload.as_ref().ok_or("the record has no payload")?;
    let keys = keys()?;
    let opened = match &keys {
        Some(keys) => keys.open(key, payload),
        None if !payload.is_encrypted() => Ok(payload.stored_bytes().clone()),
        None => return Err("the payload is encrypted: set PREPARED_RECORD_KEY".into()),
    }?;
    shown["payload"] = if options.reveal {
        serde_json::from_slice(&opened).unwrap_or_else(|_| json!(String::from_utf8_lossy(&opened)))
    } else {
        // An event's Debug names the kind and ids and redacts phone numbers and coordinates.
        match Event::decode(&opened) {
            Ok(event) => json!(format!("{event:?}")),
            Err(_) => json!(format!(
                "<{} bytes, not an event; --reveal shows them>",
                opened.len()
            )),
        }
    };
    shown["encrypted"] = json!(payload.is_encrypted());
    println!("{}", serde_json::to_string_pretty(&shown)?);
    Ok(())
}

async fn replay(options: &Options) -> Result<(), Failure> {
    let replay = match (options.keys.is_empty(), options.filtered) {
        (false, false) => Replay::keys(options.keys.clone()),
        (true, true) => Replay::matching(options.filter.clone()),
        (true, false) => return Err("replay needs record keys or filters".into()),
        (false, true) => return Err("replay takes record keys or filters, not both".into()),
    };
    let replay = if options.force {
        replay.force()
    } else {
        replay
    };
    ask_receiver(&replay).await
}

/// Asks the running receiver to replay (the body is the [`Replay`] as JSON, as
/// `Webhooks::handle_replay` reads it), and prints its report.
async fn ask_receiver(replay: &Replay) -> Result<(), Failure> {
    let receiver = std::env::var("PREPARED_RECEIVER_URL")
        .unwrap_or_else(|_| "http://127.0.0.1:3000".to_owned());
    let token = std::env::var("PREPARED_ADMIN_TOKEN")
        .map_err(|_| "set PREPARED_ADMIN_TOKEN to the receiver's admin token")?;
    let url = format!(
        "{}{}",
        receiver.trim_end_matches('/'),
        prepared_webhooks::REPLAY_PATH
    );
    let response = reqwest::Client::new()
        .post(&url)
        .bearer_auth(token)
        .json(replay)
        .send()
        .await?;
    let status = response.status();
    let text = response.text().await?;
    if !status.is_success() {
        return Err(format!("the receiver answered {status}: {text}").into());
    }
    println!("{text}");
    Ok(())
}
