//! The durable queue's reading task: new entries of every lane, and the entries a dead
//! consumer left pending, handed to each lane's worker.

use std::time::Duration;

use redis::streams::{
    StreamAutoClaimOptions, StreamAutoClaimReply, StreamKey, StreamReadOptions, StreamReadReply,
};
use tokio::sync::{mpsc, watch};

use super::{Entry, RedisStreamQueue};
use crate::dedup::redis::Connection;
use crate::delivery::queue::QueueState;

/// Reads new entries of every lane (see [`read_new`]), and takes over idle entries of dead
/// consumers, handing each to its lane's worker.
pub(super) async fn read(
    queue: RedisStreamQueue,
    lanes: Vec<mpsc::Sender<Entry>>,
    state: watch::Receiver<QueueState>,
) {
    while *state.borrow() == QueueState::Running {
        match create_groups(&queue).await {
            Ok(()) => break,
            Err(error) => {
                tracing::warn!(%error, "could not create the Redis consumer groups; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
        }
    }
    let streams: Vec<String> = (0..queue.lanes).map(|lane| queue.stream(lane)).collect();
    let mut reader = queue.reader.clone();
    let mut last_reclaim = tokio::time::Instant::now();
    while *state.borrow() == QueueState::Running {
        if last_reclaim.elapsed() >= queue.reclaim_idle.min(Duration::from_secs(30)) / 2 {
            last_reclaim = tokio::time::Instant::now();
            reclaim(&queue, &lanes).await;
        }
        let reply = read_new(&mut reader, &queue, &streams).await;
        match reply {
            Ok(keys) => {
                for key in keys {
                    let Some(lane) = streams.iter().position(|stream| *stream == key.key) else {
                        continue;
                    };
                    for entry in key.ids {
                        let entry = Entry {
                            lane,
                            stream: key.key.clone(),
                            entry,
                            reclaimed: false,
                        };
                        if lanes[lane].send(entry).await.is_err() {
                            return;
                        }
                    }
                }
            }
            Err(error) => {
                tracing::warn!(%error, "could not read the Redis streams; retrying");
                tokio::time::sleep(Duration::from_millis(500)).await;
            }
        }
    }
}

/// New entries for this consumer. On one server: one `XREADGROUP` over every lane, blocking
/// up to 500 ms. On a Redis Cluster the lanes' streams live in different slots, which one
/// command cannot span: one `XREADGROUP` per lane, sent together without blocking (a
/// blocking read would hold up the node's shared connection), then a 50 ms pause when none
/// had anything.
async fn read_new(
    reader: &mut Connection,
    queue: &RedisStreamQueue,
    streams: &[String],
) -> Result<Vec<StreamKey>, redis::RedisError> {
    let options = StreamReadOptions::default()
        .group(&queue.group, &queue.consumer)
        .count(16);
    if !reader.is_cluster() {
        let reply: Option<StreamReadReply> = redis::cmd("XREADGROUP")
            .arg(options.block(500))
            .arg("STREAMS")
            .arg(streams)
            .arg(vec![">"; streams.len()])
            .query_async(reader)
            .await?;
        return Ok(reply.map(|reply| reply.keys).unwrap_or_default());
    }
    let reads = streams.iter().map(|stream| {
        let mut reader = reader.clone();
        let options = &options;
        async move {
            redis::cmd("XREADGROUP")
                .arg(options)
                .arg("STREAMS")
                .arg(stream)
                .arg(">")
                .query_async::<Option<StreamReadReply>>(&mut reader)
                .await
        }
    });
    let mut keys = Vec::new();
    for reply in futures_util::future::join_all(reads).await {
        keys.extend(reply?.map(|reply| reply.keys).unwrap_or_default());
    }
    if keys.is_empty() {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    Ok(keys)
}

/// Creates the consumer group of every lane, from the start of its stream, so that entries
/// appended before the group existed are read too.
async fn create_groups(queue: &RedisStreamQueue) -> Result<(), redis::RedisError> {
    let mut connection = queue.store.connection().clone();
    for lane in 0..queue.lanes {
        let created: Result<(), redis::RedisError> = redis::cmd("XGROUP")
            .arg("CREATE")
            .arg(queue.stream(lane))
            .arg(&queue.group)
            .arg("0")
            .arg("MKSTREAM")
            .query_async(&mut connection)
            .await;
        match created {
            Err(error) if error.code() != Some("BUSYGROUP") => return Err(error),
            _ => {}
        }
    }
    Ok(())
}

async fn reclaim(queue: &RedisStreamQueue, lanes: &[mpsc::Sender<Entry>]) {
    let mut connection = queue.store.connection().clone();
    let idle = u64::try_from(queue.reclaim_idle.as_millis()).unwrap_or(u64::MAX);
    for (lane, sender) in lanes.iter().enumerate() {
        let stream = queue.stream(lane);
        let reply: Result<StreamAutoClaimReply, redis::RedisError> = redis::cmd("XAUTOCLAIM")
            .arg(&stream)
            .arg(&queue.group)
            .arg(&queue.consumer)
            .arg(idle)
            .arg("0-0")
            .arg(StreamAutoClaimOptions::default().count(16))
            .query_async(&mut connection)
            .await;
        match reply {
            Ok(reply) => {
                for entry in reply.claimed {
                    tracing::info!(stream = %stream, id = %entry.id, "taking over an entry a consumer left pending");
                    if sender
                        .send(Entry {
                            lane,
                            stream: stream.clone(),
                            entry,
                            reclaimed: true,
                        })
                        .await
                        .is_err()
                    {
                        return;
                    }
                }
            }
            Err(error) => tracing::warn!(%error, "could not take over pending entries"),
        }
    }
}
