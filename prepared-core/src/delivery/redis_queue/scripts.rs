//! The Lua scripts of the durable queue: the claim and the `XADD` in one script before the
//! `200`, the completion and the `XACK` in one script after the callback. Each touches the
//! event's claim key and its lane's stream, which share a hash tag (the lane), so that the
//! script also runs on a Redis Cluster.
//!
//! The claim key holds what [`RedisDedupStore`](crate::dedup::RedisDedupStore) writes:
//! `inflight:<token>` (a live claim, expiring after the claim TTL) or `done` (expiring after
//! the retention); a value the store did not write is a claim in flight, left alone.

use redis::Script;

/// `KEYS[1]`: the claim key; `KEYS[2]`: the lane's stream. `ARGV[1]`: the token;
/// `ARGV[2]`: the claim TTL in ms; `ARGV[3]`: the retention in ms; `ARGV[4]`: `queue` (append
/// the event) or `done` (no callback runs for it: mark it done at once); `ARGV[5..7]`: the
/// entry's `raw`, `key` and `sender` fields.
///
/// Returns 1 (claimed, and appended or marked done), 2 (done already) or 3 (in flight). A
/// retry under the same token after a lost answer finds its own claim and appends nothing a
/// second time. The entry is appended before the claim is written, so that a failed `XADD`
/// leaves no claim behind.
const CLAIM_AND_APPEND: &str = r"
local value = redis.call('GET', KEYS[1])
local claim = 'inflight:' .. ARGV[1]
if value == claim then
  return 1
end
if value == false then
  if ARGV[4] == 'done' then
    redis.call('SET', KEYS[1], 'done', 'PX', ARGV[3])
    return 1
  end
  redis.call('XADD', KEYS[2], '*', 'raw', ARGV[5], 'key', ARGV[6], 'token', ARGV[1], 'sender', ARGV[7])
  redis.call('SET', KEYS[1], claim, 'PX', ARGV[2])
  return 1
end
if value == 'done' then
  return 2
end
return 3
";

/// `KEYS[1]`: the claim key; `KEYS[2]`: the lane's stream. `ARGV[1]`: the token;
/// `ARGV[2]`: the retention in ms; `ARGV[3]`: the consumer group; `ARGV[4]`: the entry id.
///
/// Marks the key done when it is claimed under this token or held by no one (as
/// [`RedisDedupStore`](crate::dedup::RedisDedupStore)'s completion does), then acknowledges
/// the entry in every case: the event was processed. Returns 1 (marked done), 2 (done
/// already) or 3 (another claim holds the key, which decides). Safe to repeat.
const COMPLETE_AND_ACK: &str = r"
local value = redis.call('GET', KEYS[1])
local answer = 3
if value == 'done' then
  answer = 2
elseif value == false or value == 'inflight:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  answer = 1
end
redis.call('XACK', KEYS[2], ARGV[3], ARGV[4])
return answer
";

/// [`COMPLETE_AND_ACK`]'s answer when another claim holds the key.
pub(super) const HELD_BY_OTHER: i64 = 3;

/// The queue's two scripts, their SHA-1 computed once.
pub(super) struct QueueScripts {
    pub(super) claim_and_append: Script,
    pub(super) complete_and_ack: Script,
}

impl QueueScripts {
    pub(super) fn new() -> Self {
        Self {
            claim_and_append: Script::new(CLAIM_AND_APPEND),
            complete_and_ack: Script::new(COMPLETE_AND_ACK),
        }
    }
}
