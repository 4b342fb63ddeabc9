//! [`Shard`]: one part of the memory store, its keys in a map and in the order they came in,
//! with the claim protocol on them.

use std::collections::VecDeque;

use hashbrown::HashMap;

use super::key_hash::KeyHash;

/// What the store knows about one key. Stamps are nanoseconds since the store was created.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Entry {
    /// In flight since this stamp, which is also the claim's token: stamps are unique in a
    /// shard, so every claim of a key has its own. The claim expires at `stamp + claim_ttl`.
    Claimed(u64),
    /// Done since this stamp; the key expires at `stamp + retention`.
    Done(u64),
}

impl Entry {
    fn expired(self, now: u64, limits: &Limits) -> bool {
        let (since, life) = match self {
            Self::Claimed(since) => (since, limits.claim_ttl),
            Self::Done(since) => (since, limits.retention),
        };
        now >= since.saturating_add(life)
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
#[derive(Debug, PartialEq, Eq)]
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
#[derive(Debug, PartialEq, Eq)]
pub(super) struct Full;

/// The keys of one shard. `keys` and `order` always hold the same keys.
#[derive(Default)]
pub(super) struct Shard {
    keys: HashMap<KeyHash, Entry>,
    /// The keys in the order they came in, oldest first. A key claimed again after it expired
    /// keeps its place; a live claim met while making room moves to the back.
    order: VecDeque<KeyHash>,
    /// The smallest stamp the next claim may have: one more than the last one handed out.
    next_stamp: u64,
    /// Done keys dropped before the end of their retention, not yet reported.
    evicted_early: usize,
}

impl Shard {
    /// How many keys the shard holds, counting expired keys not dropped yet.
    pub(super) fn len(&self) -> usize {
        self.keys.len()
    }

    /// The bytes the map and the order take on the heap.
    pub(super) fn allocated_bytes(&self) -> usize {
        self.keys.allocation_size() + self.order.capacity() * size_of::<KeyHash>()
    }

    /// How many done keys were dropped early since the last call.
    pub(super) fn take_evicted_early(&mut self) -> usize {
        std::mem::take(&mut self.evicted_early)
    }

    pub(super) fn claim(
        &mut self,
        key: KeyHash,
        now: u64,
        limits: &Limits,
    ) -> Result<ClaimOutcome, Full> {
        match self.keys.get(&key).copied() {
            Some(entry) if !entry.expired(now, limits) => Ok(match entry {
                Entry::Done(_) => ClaimOutcome::Done,
                Entry::Claimed(_) => ClaimOutcome::InFlight,
            }),
            // New, or expired.
            _ => {
                let stamp = self.next_stamp(now);
                self.put(key, Entry::Claimed(stamp), now, limits)?;
                Ok(ClaimOutcome::Claimed(stamp))
            }
        }
    }

    /// Marks `key` done if it is held under `token` or by no one (see `ClaimToken`).
    pub(super) fn complete(
        &mut self,
        key: KeyHash,
        token: u128,
        now: u64,
        limits: &Limits,
    ) -> Result<CompleteOutcome, Full> {
        match self.keys.get(&key).copied() {
            // Held by no one: the claim (or the done key) expired.
            Some(entry) if entry.expired(now, limits) => {}
            Some(Entry::Done(_)) => return Ok(CompleteOutcome::AlreadyDone),
            Some(Entry::Claimed(stamp)) if u128::from(stamp) != token => {
                return Ok(CompleteOutcome::HeldByOther);
            }
            // Held under this token, or not held at all.
            _ => {}
        }
        self.put(key, Entry::Done(now), now, limits)?;
        Ok(CompleteOutcome::Done)
    }

    /// Removes the claim with `token`; whether there was one (expired or not).
    pub(super) fn release(&mut self, key: KeyHash, token: u128) -> bool {
        if !matches!(self.keys.get(&key), Some(&Entry::Claimed(stamp)) if u128::from(stamp) == token)
        {
            return false;
        }
        self.keys.remove(&key);
        // Looked for from the back: a claim is usually released soon after it was taken.
        if let Some(place) = self.order.iter().rposition(|held| *held == key) {
            self.order.remove(place);
        }
        true
    }

    /// A stamp larger than every earlier one of this shard, and at least `now`.
    fn next_stamp(&mut self, now: u64) -> u64 {
        let stamp = now.max(self.next_stamp);
        self.next_stamp = stamp.saturating_add(1);
        stamp
    }

    /// Records `entry` for `key`. A key not held yet is added as the newest, after making
    /// room when the shard is full.
    fn put(&mut self, key: KeyHash, entry: Entry, now: u64, limits: &Limits) -> Result<(), Full> {
        if let Some(held) = self.keys.get_mut(&key) {
            *held = entry;
            return Ok(());
        }
        if self.keys.len() >= limits.per_shard {
            self.make_room(now, limits)?;
        }
        self.keys.insert(key, entry);
        self.order.push_back(key);
        Ok(())
    }

    /// Makes room for one key, from the oldest: drops expired keys (all those at the front),
    /// or else the oldest done key, before the end of its retention. A live claim is never
    /// dropped: it moves to the back and the next oldest is looked at; a shard of live claims
    /// only is [`Full`].
    fn make_room(&mut self, now: u64, limits: &Limits) -> Result<(), Full> {
        let mut claims_kept = 0;
        while let Some(&oldest) = self.order.front() {
            let room = self.keys.len() < limits.per_shard;
            match self.keys.get(&oldest) {
                Some(entry) if entry.expired(now, limits) => {}
                _ if room => return Ok(()),
                Some(Entry::Done(_)) => self.evicted_early += 1,
                Some(Entry::Claimed(_)) if claims_kept < self.order.len() => {
                    self.order.rotate_left(1);
                    claims_kept += 1;
                    continue;
                }
                Some(Entry::Claimed(_)) => return Err(Full),
                // Not reached: `keys` holds every key of `order`.
                None => {}
            }
            self.order.pop_front();
            self.keys.remove(&oldest);
        }
        if self.keys.len() < limits.per_shard {
            Ok(())
        } else {
            Err(Full)
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::{HashMap, HashSet};

    use proptest::prelude::*;

    use super::{ClaimOutcome, CompleteOutcome, Full, KeyHash, Limits, Shard};

    const LIMITS: Limits = Limits {
        claim_ttl: 1_000,
        retention: 5_000,
        per_shard: 32,
    };

    fn key(n: u64) -> KeyHash {
        KeyHash {
            low: n.wrapping_mul(0x9e37_79b9_7f4a_7c15),
            high: n,
        }
    }

    /// The map and the arrival queue hold the same keys, each once, and no more than the
    /// shard's bound.
    fn check(shard: &Shard, limits: &Limits) {
        let order: HashSet<KeyHash> = shard.order.iter().copied().collect();
        assert_eq!(order.len(), shard.order.len(), "a key twice in the order");
        assert_eq!(order, shard.keys.keys().copied().collect::<HashSet<_>>());
        assert!(shard.len() <= limits.per_shard);
    }

    /// What the model knows of a key.
    #[derive(Clone, Copy, Debug)]
    enum Known {
        Claimed { stamp: u64 },
        Done { at: u64 },
    }

    impl Known {
        fn live(self, now: u64) -> bool {
            match self {
                Self::Claimed { stamp } => now < stamp + LIMITS.claim_ttl,
                Self::Done { at } => now < at + LIMITS.retention,
            }
        }
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Random claims, completions and releases of up to 300 keys in a shard of 32, with
        /// the clock moving on: a live claim is never forgotten, a done key is forgotten only
        /// once it expired or the shard dropped done keys early, `Full` comes only when live
        /// claims fill the shard, and the map and the order stay in step.
        #[test]
        fn agrees_with_a_model(
            ops in proptest::collection::vec((0..3_u8, 0..300_u64, 0..40_u64), 1..2000),
            // A slow clock lets live claims fill the shard; a fast one lets keys expire.
            slow in any::<bool>(),
        ) {
            let mut shard = Shard::default();
            let mut model: HashMap<u64, Known> = HashMap::new();
            let (mut now, mut early) = (0, 0);
            for (op, n, elapsed) in ops {
                now += if slow { elapsed / 16 } else { elapsed };
                let known = model.get(&n).copied().filter(|known| known.live(now));
                match (op, known) {
                    (0, _) => match shard.claim(key(n), now, &LIMITS) {
                        Ok(ClaimOutcome::Claimed(stamp)) => {
                            prop_assert!(
                                known.is_none() || matches!(known, Some(Known::Done { .. }) if early > 0),
                                "key {} claimed again while {:?}", n, known
                            );
                            model.insert(n, Known::Claimed { stamp });
                        }
                        Ok(ClaimOutcome::InFlight) => {
                            prop_assert!(matches!(known, Some(Known::Claimed { .. })), "{:?}", known);
                        }
                        Ok(ClaimOutcome::Done) => {
                            prop_assert!(matches!(known, Some(Known::Done { .. })), "{:?}", known);
                        }
                        Err(Full) => {
                            let claims = model.values().filter(|known| {
                                matches!(known, Known::Claimed { .. }) && known.live(now)
                            });
                            prop_assert_eq!(claims.count(), LIMITS.per_shard);
                        }
                    },
                    (1, _) => {
                        if let Some(Known::Claimed { stamp }) = model.get(&n).copied() {
                            let outcome = shard.complete(key(n), u128::from(stamp), now, &LIMITS);
                            if outcome == Ok(CompleteOutcome::Done) {
                                model.insert(n, Known::Done { at: now });
                            }
                        }
                    }
                    (_, Some(Known::Claimed { stamp })) => {
                        prop_assert!(shard.release(key(n), u128::from(stamp)), "a live claim is held");
                        model.remove(&n);
                    }
                    _ => {}
                }
                early += shard.take_evicted_early();
                check(&shard, &LIMITS);
            }
        }
    }

    /// A full shard drops its oldest done key to make room, keeps its live claims (moving
    /// them to the back), is `Full` when only live claims are left, and drops expired claims
    /// without counting them as early.
    #[test]
    fn makes_room_from_the_oldest_done_key_and_never_drops_a_live_claim() {
        let limits = Limits {
            per_shard: 4,
            ..LIMITS
        };
        let mut shard = Shard::default();
        assert!(matches!(
            shard.claim(key(0), 0, &limits),
            Ok(ClaimOutcome::Claimed(_))
        ));
        for n in 1..4 {
            let Ok(ClaimOutcome::Claimed(stamp)) = shard.claim(key(n), 0, &limits) else {
                panic!("key {n} is new");
            };
            let done = shard.complete(key(n), u128::from(stamp), 0, &limits);
            assert_eq!(done, Ok(CompleteOutcome::Done));
        }
        // Each new key takes the place of the oldest done key: 1, then 2, then 3.
        for n in 4..7 {
            assert!(matches!(
                shard.claim(key(n), 1, &limits),
                Ok(ClaimOutcome::Claimed(_))
            ));
            assert!(
                !shard.keys.contains_key(&key(n - 3)),
                "key {} dropped",
                n - 3
            );
            assert_eq!(shard.take_evicted_early(), 1);
            check(&shard, &limits);
        }
        assert_eq!(shard.claim(key(7), 2, &limits), Err(Full));
        for n in [0, 4, 5, 6] {
            assert_eq!(shard.claim(key(n), 2, &limits), Ok(ClaimOutcome::InFlight));
        }
        // Key 0's claim (stamp 0) expires first, and makes room.
        let outcome = shard.claim(key(7), limits.claim_ttl, &limits);
        assert!(matches!(outcome, Ok(ClaimOutcome::Claimed(_))));
        assert!(!shard.keys.contains_key(&key(0)));
        assert_eq!(shard.take_evicted_early(), 0);
        check(&shard, &limits);
    }
}
