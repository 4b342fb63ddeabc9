//! [`Shard`]: one lock and the keys under it (a [`Ring`] of entries and its [`Index`]), with
//! the claim protocol on them.

use std::sync::{Mutex, MutexGuard, PoisonError};

use super::index::Index;
use super::key_hash::KeyHash;
use super::ring::{self, Ring, VACANT};

/// The top bit of an [`Entry`]: the key is done (else it is claimed).
const DONE: u64 = 1 << 63;

/// The largest stamp: the words of the shard stay below the ring's [`VACANT`] marker.
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

/// One lock and its keys. Aligned to a cache line so that shards do not share one.
#[repr(align(64))]
pub(super) struct Shard {
    state: Mutex<State>,
}

/// The keys of a shard: their entries in the order they came in, and the index that finds
/// them.
struct State {
    ring: Ring,
    index: Index,
    /// The keys held (the ring's places in use, less the vacant ones).
    live: usize,
    /// The smallest stamp the next claim may have: one more than the last one handed out.
    next_stamp: u64,
}

/// What [`State::make_room`] did.
pub(super) struct Evicted {
    /// Done keys dropped before the end of their retention.
    pub(super) early: usize,
}

impl Shard {
    /// A shard that holds at most `capacity` keys.
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            state: Mutex::new(State {
                ring: Ring::new(capacity),
                index: Index::new(),
                live: 0,
                next_stamp: 0,
            }),
        }
    }

    fn lock(&self) -> MutexGuard<'_, State> {
        // Nothing panics while the lock is held; if something did, the state is still
        // consistent enough: at worst a key is in the ring and not in the index (and is
        // dropped when the ring reaches it), never the other way round.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(super) fn len(&self) -> usize {
        self.lock().live
    }

    /// The bytes of the shard's ring and index.
    pub(super) fn allocated_bytes(&self) -> usize {
        let state = self.lock();
        state.ring.allocated_bytes() + state.index.allocated_bytes()
    }

    pub(super) fn claim(
        &self,
        key: KeyHash,
        now: u64,
        limits: &Limits,
        evicted: &mut Evicted,
    ) -> Result<ClaimOutcome, Full> {
        let mut guard = self.lock();
        let state = &mut *guard;
        if let Some((_, place)) = state.find(key) {
            let word = state.ring.word_mut(place);
            let entry = Entry(*word);
            if !entry.expired(now, limits) {
                return Ok(if entry.is_done() {
                    ClaimOutcome::Done
                } else {
                    ClaimOutcome::InFlight
                });
            }
            let stamp = next_stamp(&mut state.next_stamp, now);
            *word = Entry::in_flight(stamp).0;
            return Ok(ClaimOutcome::Claimed(stamp));
        }
        let stamp = next_stamp(&mut state.next_stamp, now);
        state.insert(key, Entry::in_flight(stamp), now, limits, evicted)?;
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
        let state = &mut *guard;
        if let Some((_, place)) = state.find(key) {
            let word = state.ring.word_mut(place);
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
        state.insert(key, Entry::done(now), now, limits, evicted)?;
        Ok(CompleteOutcome::Done)
    }

    /// Removes the claim with `token`; whether there was one.
    pub(super) fn release(&self, key: KeyHash, token: u128) -> bool {
        let mut guard = self.lock();
        let state = &mut *guard;
        match state.find(key) {
            Some((slot, place)) if Entry(state.ring.get(place).word).is_claim(token) => {
                // The place stays in the ring, vacant, until the ring's head reaches it.
                state.index.remove(slot);
                *state.ring.word_mut(place) = VACANT;
                state.live -= 1;
                true
            }
            _ => false,
        }
    }
}

impl State {
    /// The index slot and the ring place of `key`.
    fn find(&self, key: KeyHash) -> Option<(usize, u32)> {
        let ring = &self.ring;
        self.index
            .find(key.tag(), |place| ring.get(place).key == key)
    }

    /// Adds a key that is not held, making room first when the ring is full.
    fn insert(
        &mut self,
        key: KeyHash,
        entry: Entry,
        now: u64,
        limits: &Limits,
        evicted: &mut Evicted,
    ) -> Result<(), Full> {
        if self.ring.is_full() {
            self.make_room(now, limits, evicted)?;
        }
        let place = self.ring.push(ring::Entry { key, word: entry.0 });
        self.index.insert(key.tag(), place);
        self.live += 1;
        Ok(())
    }

    /// Makes room for one key in a full ring, from its head (the oldest keys): drops vacant
    /// places and expired keys, or else the oldest done key, before its retention. A live
    /// claim is never dropped: it is kept as the newest, and the next oldest is looked at; a
    /// ring of live claims only is [`Full`].
    fn make_room(&mut self, now: u64, limits: &Limits, evicted: &mut Evicted) -> Result<(), Full> {
        let (claim_cut, done_cut) = (
            expiry_cut(now, limits.claim_ttl),
            expiry_cut(now, limits.retention),
        );
        let mut freed = false;
        let mut kept = 0;
        while let Some((place, oldest)) = self.ring.head() {
            if oldest.word == VACANT {
                self.ring.pop_head();
                freed = true;
                continue;
            }
            let entry = Entry(oldest.word);
            let cut = if entry.is_done() { done_cut } else { claim_cut };
            let expired = entry.stamp() < cut;
            if freed && !expired {
                // Room was made; the expired keys right behind it went too (they are cheap
                // to drop here, next to each other).
                break;
            }
            if expired || entry.is_done() {
                self.drop_head(place, oldest.key);
                evicted.early += usize::from(!expired);
                freed = true;
                if !expired {
                    break;
                }
                continue;
            }
            // A live claim.
            if kept == self.ring.used() {
                return Err(Full);
            }
            self.ring.rotate_head();
            kept += 1;
        }
        Ok(())
    }

    /// Drops the oldest entry, a key the index records at `place`.
    fn drop_head(&mut self, place: u32, key: KeyHash) {
        if let Some(slot) = self.index.slot_of(key.tag(), place) {
            self.index.remove(slot);
        }
        self.ring.pop_head();
        self.live -= 1;
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

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{
        ClaimOutcome, CompleteOutcome, DONE, Entry, Evicted, KeyHash, Limits, MAX_STAMP, Shard,
        State, VACANT, expiry_cut,
    };
    use crate::test_random::XorShift;

    /// The ring and the index describe the same keys: every live place of the ring is found
    /// through the index, and the index holds nothing else.
    fn check(state: &State) {
        let mut live = 0;
        for offset in 0..state.ring.used() {
            let (head, _) = state.ring.head().expect("a place in use");
            let capacity = u32::try_from(state.ring.capacity()).expect("small");
            let place = (head + u32::try_from(offset).expect("small")) % capacity;
            let entry = state.ring.get(place);
            if entry.word != VACANT {
                live += 1;
                assert_eq!(state.find(entry.key).map(|(_, found)| found), Some(place));
            }
        }
        assert_eq!(live, state.live);
        assert_eq!(state.index.len(), state.live);
    }

    /// Random claims, completions and releases of a few hundred keys in a shard of 32, with
    /// the clock moving on: a live claim is never forgotten, a done key is forgotten only once
    /// it expired or the shard dropped it early (and said so), and the ring and the index
    /// always agree.
    #[test]
    fn never_forgets_a_live_claim_and_keeps_ring_and_index_in_step() {
        #[derive(Clone, Copy, Debug, PartialEq)]
        enum Known {
            Claimed { stamp: u64 },
            Done { at: u64 },
        }
        let limits = Limits {
            claim_ttl: 1_000,
            retention: 5_000,
            per_shard: 32,
        };
        let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
        let mut random = move |below: u64| rng.next_u64() % below;
        let shard = Shard::new(limits.per_shard);
        let mut model: HashMap<u64, Known> = HashMap::new();
        let (mut now, mut early) = (0, 0);
        for _ in 0..20_000 {
            now += random(40);
            let n = random(300);
            let key = KeyHash::from_parts(n.wrapping_mul(0x9e37_79b9_7f4a_7c15), n);
            let live = |known: &Known| match *known {
                Known::Claimed { stamp } => now < stamp + limits.claim_ttl,
                Known::Done { at } => now < at + limits.retention,
            };
            let mut evicted = Evicted { early: 0 };
            match random(3) {
                0 => match shard.claim(key, now, &limits, &mut evicted) {
                    Ok(ClaimOutcome::Claimed(stamp)) => {
                        if let Some(known) = model.get(&n).filter(|known| live(known)) {
                            assert!(
                                matches!(known, Known::Done { .. }) && early > 0,
                                "key {n} claimed again while {known:?}"
                            );
                        }
                        model.insert(n, Known::Claimed { stamp });
                    }
                    Ok(ClaimOutcome::InFlight) => {
                        assert!(
                            matches!(model.get(&n), Some(known @ Known::Claimed { .. }) if live(known)),
                            "key {n}: {:?}",
                            model.get(&n)
                        );
                    }
                    Ok(ClaimOutcome::Done) => {
                        assert!(
                            matches!(model.get(&n), Some(known @ Known::Done { .. }) if live(known)),
                            "key {n}: {:?}",
                            model.get(&n)
                        );
                    }
                    Err(super::Full) => {
                        let claims = model
                            .values()
                            .filter(|known| matches!(known, Known::Claimed { .. }) && live(known))
                            .count();
                        assert_eq!(claims, limits.per_shard, "full of live claims only");
                    }
                },
                1 => {
                    if let Some(Known::Claimed { stamp }) = model.get(&n).copied() {
                        let outcome =
                            shard.complete(key, u128::from(stamp), now, &limits, &mut evicted);
                        if let Ok(CompleteOutcome::Done) = outcome {
                            model.insert(n, Known::Done { at: now });
                        }
                    }
                }
                _ => {
                    if let Some(Known::Claimed { stamp }) = model.get(&n).copied() {
                        if shard.release(key, u128::from(stamp)) {
                            model.remove(&n);
                        } else {
                            assert!(now >= stamp + limits.claim_ttl, "a live claim is held");
                        }
                    }
                }
            }
            early += evicted.early;
            let state = shard.lock();
            assert!(state.live <= limits.per_shard);
            check(&state);
        }
        assert!(early > 0, "the run filled the shard");
    }

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
