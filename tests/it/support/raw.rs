//! HTTP/1.1 over a plain socket, for requests no HTTP client would send: duplicated or
//! malformed headers, bodies that stall, chunked bodies over the limit.

use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// A piece of what the client sends.
#[derive(Clone, Debug)]
pub enum Part {
    /// Bytes, written at once.
    Bytes(Vec<u8>),
    /// A pause before the next part.
    Pause(Duration),
}

/// The head of a `POST` to `path` with these header lines (each without its CRLF).
pub fn head(method: &str, path: &str, headers: &[&str]) -> Vec<u8> {
    let mut head = format!("{method} {path} HTTP/1.1\r\nhost: test\r\n");
    for line in headers {
        head.push_str(line);
        head.push_str("\r\n");
    }
    head.push_str("\r\n");
    head.into_bytes()
}

/// A chunked body whose chunks add up to one byte over `limit` and that ends right after
/// that byte (no final CRLF, no last chunk): the server has read every byte sent when it
/// finds the body too large, so its answer is not lost to a reset.
pub fn chunked_over(limit: usize) -> Vec<u8> {
    let mut body = Vec::new();
    let mut sent = 0;
    while sent < limit {
        let size = (limit - sent).min(16 * 1024);
        body.extend_from_slice(format!("{size:x}\r\n").as_bytes());
        body.extend(std::iter::repeat_n(b' ', size));
        body.extend_from_slice(b"\r\n");
        sent += size;
    }
    body.extend_from_slice(b"1\r\n ");
    body
}

/// Sends `parts` to the server at `base` (`http://host:port`), ignoring write errors (the
/// server may answer and close early), and returns the status of the final answer (`1xx`
/// answers are skipped), or `None` when the server closed without one.
pub async fn send(base: &str, parts: &[Part]) -> Option<u16> {
    let address = base.trim_start_matches("http://");
    let mut socket = tokio::net::TcpStream::connect(address)
        .await
        .expect("connects");
    for part in parts {
        match part {
            Part::Bytes(bytes) => {
                if socket.write_all(bytes).await.is_err() {
                    break;
                }
            }
            Part::Pause(pause) => tokio::time::sleep(*pause).await,
        }
    }
    let mut answer = Vec::new();
    let mut buffer = [0; 4096];
    loop {
        if let Some(status) = final_status(&answer) {
            return Some(status);
        }
        match tokio::time::timeout(Duration::from_secs(10), socket.read(&mut buffer)).await {
            Ok(Ok(0)) | Ok(Err(_)) | Err(_) => return final_status(&answer),
            Ok(Ok(read)) => answer.extend_from_slice(&buffer[..read]),
        }
    }
}

/// The first non-`1xx` status of complete status lines in `answer`.
fn final_status(answer: &[u8]) -> Option<u16> {
    let text = String::from_utf8_lossy(answer);
    text.split("\r\n")
        .filter(|line| line.starts_with("HTTP/1.1 ") && line.len() >= 12)
        .filter_map(|line| line[9..12].parse::<u16>().ok())
        .find(|status| *status >= 200)
}
