//! The Lua scripts of [`RedisDedupStore`](super::RedisDedupStore): each operation is one
//! script, so one round trip, executed atomically by Redis.
//!
//! A key holds `inflight:<token>` (a live claim, expiring after the claim TTL) or `done`
//! (expiring after the retention). A value the store did not write is treated as a claim in
//! flight: the key is left alone.

use redis::Script;

/// `KEYS[1]`: the key; `ARGV[1]`: the token; `ARGV[2]`: the claim TTL in milliseconds.
///
/// Returns 1 (claimed; also when the key is already claimed under this very token, so that a
/// claim whose answer was lost can be retried), 2 (done) or 3 (in flight).
const CLAIM: &str = r"
local value = redis.call('GET', KEYS[1])
local claim = 'inflight:' .. ARGV[1]
if value == false or value == claim then
  redis.call('SET', KEYS[1], claim, 'PX', ARGV[2])
  return 1
end
if value == 'done' then
  return 2
end
return 3
";

/// `KEYS[1]`: the key; `ARGV[1]`: the token; `ARGV[2]`: the retention in milliseconds.
///
/// Marks the key done when it is claimed under this token or held by no one, and returns 1;
/// returns 2 when it is done already and 3 when another claim holds it (both change nothing).
const COMPLETE: &str = r"
local value = redis.call('GET', KEYS[1])
if value == 'done' then
  return 2
end
if value == false or value == 'inflight:' .. ARGV[1] then
  redis.call('SET', KEYS[1], 'done', 'PX', ARGV[2])
  return 1
end
return 3
";

/// `KEYS[1]`: the key; `ARGV[1]`: the token.
///
/// Deletes the key when it is claimed under this token and returns 1; otherwise returns 0.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == 'inflight:' .. ARGV[1] then
  redis.call('DEL', KEYS[1])
  return 1
end
return 0
";

/// [`CLAIM`]'s answers.
pub(crate) const CLAIMED: i64 = 1;
pub(crate) const DONE: i64 = 2;
pub(crate) const IN_FLIGHT: i64 = 3;

/// [`COMPLETE`]'s answer when another claim holds the key.
pub(super) const HELD_BY_OTHER: i64 = 3;

/// The three scripts, with their SHA-1 computed once (`EVALSHA`, and `SCRIPT LOAD` once
/// when the server does not know a script yet).
pub(crate) struct Scripts {
    pub(crate) claim: Script,
    pub(crate) complete: Script,
    pub(crate) release: Script,
}

impl Scripts {
    pub(super) fn new() -> Self {
        Self {
            claim: Script::new(CLAIM),
            complete: Script::new(COMPLETE),
            release: Script::new(RELEASE),
        }
    }
}
