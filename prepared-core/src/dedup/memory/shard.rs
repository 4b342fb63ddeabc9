//! [`Shard`]: one lock and one table of the memory store, with the claim protocol on it.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::key_hash::KeyHash;
use super::table::Table;

/// The top bit of an [`Entry`]: the key is done (else it is claimed).
const DONE: u64 = 1 << 63;

/// The largest stamp: the words of the shard stay below the table's empty marker.
const MAX_STAMP: u64 = DONE - 2;

/// What the store knows about one key, in 8 bytes: the [`DONE`] bit and a stamp, in
/// nanoseconds since the store was created.
///
/// - In flight: the stamp is when the claim was taken; it is unique per shard (so per key) and
///   is the claim's token. The claim expires at `stamp + claim_ttl`.
/// - Done: the stamp is when the key was completed; it expires at `stamp + retention`.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Entry(u64);

impl Entry {
    fn in_flight(stamp: u64) -> Self {
        Self(stamp.min(MAX_STAMP))
    }

    fn done(now: u64) -> Self {
        Self(now.min(MAX_STAMP) | DONE)
    }

    fn is_done(self) -> bool {
        self.0 & DONE != 0
    }

    fn stamp(self) -> u64 {
        self.0 & !DONE
    }

    fn expired(self, now: u64, limits: &Limits) -> bool {
        let life = if self.is_done() {
            limits.retention
        } else {
            limits.claim_ttl
        };
        now >= self.stamp().saturating_add(life)
    }

    /// Whether this is the in-flight claim with `token`.
    fn is_claim(self, token: u128) -> bool {
        !self.is_done() && u128::from(self.stamp()) == token
    }
}

/// The lifetimes and bounds every shard applies, in nanoseconds and keys.
#[derive(Clone, Copy, Debug)]
pub(super) struct Limits {
    pub(super) claim_ttl: u64,
    pub(super) retention: u64,
    /// The most keys one shard holds.
    pub(super) per_shard: usize,
}

/// The answer of [`Shard::claim`].
pub(super) enum ClaimOutcome {
    /// Claimed, with this stamp as the token.
    Claimed(u64),
    Done,
    InFlight,
}

/// The answer of [`Shard::complete`].
#[derive(Debug, PartialEq, Eq)]
pub(super) enum CompleteOutcome {
    /// The key is done now.
    Done,
    /// The key was done already.
    AlreadyDone,
    /// Another live claim holds the key: nothing changed.
    HeldByOther,
}

/// The shard is full of live claims: no key can be dropped to make room.
pub(super) struct Full;

/// How many keys a full shard drops at once, as a fraction of its capacity (1/8): the
/// cost of scanning the shard is shared by that many insertions.
const EVICT_FRACTION: usize = 8;
/// How many done stamps are sampled to find the age above which keys are dropped.
const SAMPLE: usize = 512;

/// One lock and its table. Aligned to a cache line so that shards do not share one.
#[repr(align(64))]
pub(super) struct Shard {
    state: Mutex<State>,
}

struct State {
    entries: Table,
    /// The smallest stamp the next claim may have: one more than the last one handed out.
    next_stamp: u64,
}

/// What [`Shard::make_room`] did.
pub(super) struct Evicted {
    /// Done keys dropped before the end of their retention.
    pub(super) early: usize,
}

impl Shard {
    pub(super) fn new() -> Self {
        Self {
            state: Mutex::new(State {
                entries: Table::new(),
                next_stamp: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; if something did, the table is still
        // consistent (every change is a single insert, overwrite or removal).
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn len(&self) -> usize {
        self.lock().entries.len()
    }

    /// The bytes of the shard's table.
    pub(super) fn allocated_bytes(&self) -> usize {
        self.lock().entries.allocated_bytes()
    }

    pub(super) fn claim(
        &self,
        key: KeyHash,
        now: u64,
        limits: &Limits,
        evicted: &mut Evicted,
    ) -> Result<ClaimOutcome, Full> {
        let mut guard = self.lock();
        let State {
            entries,
            next_stamp: floor,
        } = &mut *guard;
        if let Some(word) = entries.get_mut(key) {
            let entry = Entry(*word);
            if !entry.expired(now, limits) {
                return Ok(if entry.is_done() {
                    ClaimOutcome::Done
                } else {
                    ClaimOutcome::InFlight
                });
            }
            let stamp = next_stamp(floor, now);
            *word = Entry::in_flight(stamp).0;
            return Ok(ClaimOutcome::Claimed(stamp));
        }
        if entries.len() >= limits.per_shard {
            make_room(entries, now, limits, evicted)?;
        }
        let stamp = next_stamp(floor, now);
        entries.insert_new(key, Entry::in_flight(stamp).0);
        Ok(ClaimOutcome::Claimed(stamp))
    }

    pub(super) fn complete(
        &self,
        key: KeyHash,
        token: u128,
        now: u64,
        limits: &Limits,
        evicted: &mut Evicted,
    ) -> Result<CompleteOutcome, Full> {
        let mut guard = self.lock();
        let entries = &mut guard.entries;
        if let Some(word) = entries.get_mut(key) {
            let entry = Entry(*word);
            let expired = entry.expired(now, limits);
            if entry.is_done() && !expired {
                return Ok(CompleteOutcome::AlreadyDone);
            }
            if !entry.is_done() && !expired && !entry.is_claim(token) {
                return Ok(CompleteOutcome::HeldByOther);
            }
            // Held under this token, or by no one (an expired claim or done key).
            *word = Entry::done(now).0;
            return Ok(CompleteOutcome::Done);
        }
        // Held by no one (the claim expired and was dropped, or was released by a taker).
        if entries.len() >= limits.per_shard {
            make_room(entries, now, limits, evicted)?;
        }
        entries.insert_new(key, Entry::done(now).0);
        Ok(CompleteOutcome::Done)
    }

    /// Removes the claim with `token`; whether there was one.
    pub(super) fn release(&self, key: KeyHash, token: u128) -> bool {
        let mut guard = self.lock();
        match guard.entries.get(key) {
            Some(word) if Entry(word).is_claim(token) => guard.entries.remove(key),
            _ => false,
        }
    }
}

/// A stamp larger than every earlier one of this shard (at least `floor`), and at least
/// `now`.
fn next_stamp(floor: &mut u64, now: u64) -> u64 {
    let stamp = now.max(*floor).min(MAX_STAMP);
    *floor = stamp.saturating_add(1);
    stamp
}

/// The stamp below which keys with this `life` are expired at `now`: [`Entry::expired`] is
/// `stamp < expiry_cut(now, life)`.
fn expiry_cut(now: u64, life: u64) -> u64 {
    now.checked_sub(life).map_or(0, |cut| cut + 1)
}

/// Makes room for one key in a full table: drops the expired keys and, if that is not
/// enough, about 1/[`EVICT_FRACTION`] of the capacity in the oldest done keys. Live claims
/// are never dropped; a table full of them is [`Full`].
///
/// One walk over the table: a sample of its keys tells the age above which done keys go,
/// then one pass drops them (and the expired keys).
fn make_room(
    entries: &mut Table,
    now: u64,
    limits: &Limits,
    evicted: &mut Evicted,
) -> Result<(), Full> {
    let target = (limits.per_shard / EVICT_FRACTION).max(1);
    let sampled: Vec<Entry> = entries.sample(SAMPLE).map(Entry).collect();
    let mut stamps: Vec<u64> = sampled
        .iter()
        .filter(|entry| entry.is_done())
        .map(|entry| entry.stamp())
        .collect();
    // The stamp below which about `target` of the table's keys lie, if they are done.
    let threshold = match stamps.len() {
        0 => None,
        len => {
            let rank = (target.saturating_mul(sampled.len()) / entries.len().max(1))
                .saturating_sub(1)
                .min(len - 1);
            let (_, nth, _) = stamps.select_nth_unstable(rank);
            Some(*nth)
        }
    };
    let mut early = 0;
    // The walk over the table is most of the cost: each key is judged with two comparisons.
    let (claim_cut, done_cut) = (
        expiry_cut(now, limits.claim_ttl),
        expiry_cut(now, limits.retention),
    );
    let early_cut = threshold.map_or(0, |threshold| threshold + 1);
    entries.retain(|word| {
        let entry = Entry(word);
        let stamp = entry.stamp();
        if !entry.is_done() {
            return stamp >= claim_cut;
        }
        if stamp < done_cut {
            return false;
        }
        let drop = stamp < early_cut;
        early += usize::from(drop);
        !drop
    });
    if entries.len() >= limits.per_shard {
        // The sample missed the few done keys there are: drop the oldest one.
        let oldest = entries
            .words()
            .map(Entry)
            .filter(|entry| entry.is_done())
            .map(Entry::stamp)
            .min();
        let Some(oldest) = oldest else {
            return Err(Full);
        };
        entries.retain(|word| {
            let entry = Entry(word);
            let drop = entry.is_done() && entry.stamp() == oldest;
            early += usize::from(drop);
            !drop
        });
    }
    evicted.early += early;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::{DONE, Entry, Limits, MAX_STAMP, expiry_cut};

    /// The cut `make_room` compares stamps with says what `Entry::expired` says.
    #[test]
    fn the_expiry_cut_agrees_with_expired() {
        let values = [
            0,
            1,
            2,
            999,
            1_000,
            1_001,
            MAX_STAMP - 1,
            MAX_STAMP,
            MAX_STAMP + 1,
            u64::MAX - 1,
            u64::MAX,
        ];
        for now in values.into_iter().filter(|&now| now < DONE) {
            for life in values {
                let limits = Limits {
                    claim_ttl: life,
                    retention: life,
                    per_shard: 1,
                };
                for stamp in values.into_iter().filter(|&stamp| stamp <= MAX_STAMP) {
                    let cut = expiry_cut(now, life);
                    assert_eq!(
                        Entry::in_flight(stamp).expired(now, &limits),
                        stamp < cut,
                        "{stamp} {now} {life}"
                    );
                    assert_eq!(
                        Entry::done(stamp).expired(now, &limits),
                        stamp < cut,
                        "{stamp} {now} {life}"
                    );
                }
            }
        }
    }
}
