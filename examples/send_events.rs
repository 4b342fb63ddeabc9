//! Sends Prepared events to a receiver, retrying like Prepared does, for trying an
//! integration locally.
//!
//! ```text
//! cargo run --example send_events -- [--url URL] [--token TOKEN] [--file EVENTS.jsonl] [--attempts N]
//! cargo run --example send_events -- --token-url URL --client-id ID --client-secret SECRET [...]
//! ```
//!
//! Without `--file` it sends the documented example payloads (one of each event). The token
//! defaults to the first token of `PREPARED_WEBHOOK_TOKEN` (without its `label:`), the URL to `http://127.0.0.1:3000/webhooks/prepared`.
//! With `--token-url`, it first gets an access token the way Prepared does with OAuth
//! credentials: a `POST` of `{"client_id", "client_secret", "grant_type":
//! "client_credentials"}` as JSON, and sends the `access_token` of the answer.
//! Each delivery is retried with exponential backoff (0.5 s, 1 s, 2 s, ...) on a non-2xx
//! answer or a connection error, up to `--attempts` (default 6). One line per attempt goes to
//! stdout; the exit status is non-zero when an event was never acknowledged.

use std::time::Duration;

use prepared_webhooks::EXAMPLE_PAYLOADS;

struct Args {
    url: String,
    token: String,
    token_url: Option<String>,
    client_id: String,
    client_secret: String,
    file: Option<String>,
    attempts: u32,
}

/// The first token of a `PREPARED_WEBHOOK_TOKEN` value (comma-separated `token` or
/// `label:token` items, as the example receivers read it).
fn first_webhook_token(items: &str) -> String {
    let item = items
        .split(',')
        .map(str::trim)
        .find(|item| !item.is_empty());
    let token = item.map_or("", |item| {
        item.rsplit_once(':').map_or(item, |(_, token)| token)
    });
    token.trim().to_owned()
}

fn parse_args() -> Result<Args, String> {
    let mut args = Args {
        url: "http://127.0.0.1:3000/webhooks/prepared".to_owned(),
        token: first_webhook_token(&std::env::var("PREPARED_WEBHOOK_TOKEN").unwrap_or_default()),
        token_url: None,
        client_id: std::env::var("PREPARED_OAUTH_CLIENT_ID")
            .unwrap_or_else(|_| "prepared".to_owned()),
        client_secret: std::env::var("PREPARED_OAUTH_CLIENT_SECRET").unwrap_or_default(),
        file: None,
        attempts: 6,
    };
    let mut words = std::env::args().skip(1);
    while let Some(flag) = words.next() {
        let mut value = || words.next().ok_or_else(|| format!("{flag} needs a value"));
        match flag.as_str() {
            "--url" => args.url = value()?,
            "--token" => args.token = value()?,
            "--token-url" => args.token_url = Some(value()?),
            "--client-id" => args.client_id = value()?,
            "--client-secret" => args.client_secret = value()?,
            "--file" => args.file = Some(value()?),
            "--attempts" => {
                args.attempts = value()?.parse().map_err(|_| "--attempts takes a number")?
            }
            other => return Err(format!("unknown argument {other}")),
        }
    }
    if args.token.is_empty() && args.token_url.is_none() {
        return Err(
            "no token: pass --token (or set PREPARED_WEBHOOK_TOKEN), or --token-url with --client-secret"
                .to_owned(),
        );
    }
    Ok(args)
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = parse_args()?;
    let events: Vec<String> = match &args.file {
        Some(path) => std::fs::read_to_string(path)?
            .lines()
            .filter(|line| !line.trim().is_empty())
            .map(str::to_owned)
            .collect(),
        None => EXAMPLE_PAYLOADS
            .iter()
            .map(|(_, body)| body.to_string())
            .collect(),
    };
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .build()?;
    if let Some(token_url) = &args.token_url {
        args.token = access_token(&client, token_url, &args).await?;
        println!("got an access token from {token_url}");
    }
    let mut failed = 0;
    for (index, body) in events.iter().enumerate() {
        if !deliver(&client, &args, index + 1, body).await {
            failed += 1;
        }
    }
    println!(
        "sent {} events, {} acknowledged, {failed} not acknowledged",
        events.len(),
        events.len() - failed
    );
    if failed > 0 {
        std::process::exit(1);
    }
    Ok(())
}

/// Gets an access token with the client-credentials grant, as Prepared sends it.
async fn access_token(
    client: &reqwest::Client,
    token_url: &str,
    args: &Args,
) -> Result<String, Box<dyn std::error::Error>> {
    let response = client
        .post(token_url)
        .json(&serde_json::json!({
            "client_id": args.client_id,
            "client_secret": args.client_secret,
            "grant_type": "client_credentials",
        }))
        .send()
        .await?;
    let status = response.status();
    let answer: serde_json::Value = response.json().await?;
    match answer["access_token"].as_str() {
        Some(token) if status.is_success() => Ok(token.to_owned()),
        _ => Err(format!(
            "the token endpoint answered {}: {}",
            status.as_u16(),
            answer["error"]
        )
        .into()),
    }
}

/// Delivers one event like Prepared: retries with exponential backoff until a 2xx answer.
async fn deliver(client: &reqwest::Client, args: &Args, number: usize, body: &str) -> bool {
    let mut backoff = Duration::from_millis(500);
    for attempt in 1..=args.attempts {
        let result = client
            .post(&args.url)
            .bearer_auth(&args.token)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await;
        match result {
            Ok(response) => {
                let status = response.status();
                let answer = response.text().await.unwrap_or_default();
                println!(
                    "event {number} attempt {attempt}: {} {answer}",
                    status.as_u16()
                );
                if status.is_success() {
                    return true;
                }
            }
            Err(error) => println!("event {number} attempt {attempt}: connection error: {error}"),
        }
        if attempt < args.attempts {
            tokio::time::sleep(backoff).await;
            backoff *= 2;
        }
    }
    false
}
