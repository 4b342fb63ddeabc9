//! [`Ring`]: a shard's entries in the order their keys came in.
//!
//! A new key is written at the tail, next to the previous one (a cache line holds the entries
//! of several new keys, where a hash table would put each on a random line), and when the
//! ring is full its head, the oldest entry, makes room. Places are indices into the ring,
//! stable while an entry lives, which is what the [`Index`](super::index::Index) records.

use super::key_hash::KeyHash;

/// The word of a place whose key was released: nothing lives there.
pub(super) const VACANT: u64 = u64::MAX;

/// One key and its word: 24 bytes.
#[derive(Clone, Copy)]
pub(super) struct Entry {
    pub(super) key: KeyHash,
    pub(super) word: u64,
}

/// At most `capacity` places in use (live or vacant), from `head` on, wrapping around. The
/// storage grows (at most doubling) up to the capacity, so a store that holds few keys takes
/// little memory.
pub(super) struct Ring {
    entries: Vec<Entry>,
    capacity: usize,
    head: usize,
    used: usize,
}

impl Ring {
    /// A ring of at most `capacity` places (at least 1, below `u32::MAX`).
    pub(super) fn new(capacity: usize) -> Self {
        Self {
            entries: Vec::new(),
            capacity: capacity.clamp(1, u32::MAX as usize - 1),
            head: 0,
            used: 0,
        }
    }

    /// The bytes of the entries.
    pub(super) fn allocated_bytes(&self) -> usize {
        self.entries.capacity() * size_of::<Entry>()
    }

    pub(super) fn is_full(&self) -> bool {
        self.used == self.capacity
    }

    /// The most places in use.
    #[cfg(test)]
    pub(super) fn capacity(&self) -> usize {
        self.capacity
    }

    /// How many places are in use, live or vacant.
    pub(super) fn used(&self) -> usize {
        self.used
    }

    pub(super) fn get(&self, place: u32) -> Entry {
        self.entries[place as usize]
    }

    pub(super) fn word_mut(&mut self, place: u32) -> &mut u64 {
        &mut self.entries[place as usize].word
    }

    /// Writes `entry` at the tail and returns its place; the caller made room.
    pub(super) fn push(&mut self, entry: Entry) -> u32 {
        debug_assert!(!self.is_full());
        let tail = (self.head + self.used) % self.capacity;
        if tail < self.entries.len() {
            self.entries[tail] = entry;
        } else {
            // Still growing: the head is at 0 (nothing was dropped yet) and the tail is the end.
            if self.entries.len() == self.entries.capacity() {
                let more = self
                    .entries
                    .len()
                    .max(16)
                    .min(self.capacity - self.entries.len());
                self.entries.reserve_exact(more);
            }
            self.entries.push(entry);
        }
        self.used += 1;
        // The capacity is below u32::MAX.
        tail as u32
    }

    /// The oldest entry and its place.
    pub(super) fn head(&self) -> Option<(u32, Entry)> {
        // The capacity is below u32::MAX.
        (self.used > 0).then(|| (self.head as u32, self.entries[self.head]))
    }

    /// Drops the oldest entry: its place is free.
    pub(super) fn pop_head(&mut self) {
        if self.used > 0 {
            self.head = (self.head + 1) % self.capacity;
            self.used -= 1;
        }
    }

    /// In a full ring, makes the oldest entry the newest: it stays in its place (the tail of
    /// a full ring is its head), and the next entry becomes the oldest.
    pub(super) fn rotate_head(&mut self) {
        debug_assert!(self.is_full());
        self.head = (self.head + 1) % self.capacity;
    }
}

#[cfg(test)]
mod tests {
    use super::{Entry, KeyHash, Ring, VACANT};

    fn entry(n: u64) -> Entry {
        Entry {
            key: KeyHash::from_parts(n, n),
            word: n,
        }
    }

    #[test]
    fn keeps_the_order_of_arrival_and_wraps_around() {
        let mut ring = Ring::new(3);
        let places: Vec<u32> = (0..3).map(|n| ring.push(entry(n))).collect();
        assert_eq!(places, [0, 1, 2]);
        assert!(ring.is_full());
        assert_eq!(ring.head().map(|(place, e)| (place, e.word)), Some((0, 0)));

        // The oldest is kept as the newest; the next one is dropped.
        ring.rotate_head();
        assert_eq!(ring.head().map(|(place, e)| (place, e.word)), Some((1, 1)));
        ring.pop_head();
        assert_eq!(ring.push(entry(3)), 1, "the dropped entry's place");
        assert!(ring.is_full());
        let order: Vec<u64> = std::iter::from_fn(|| {
            let (_, oldest) = ring.head()?;
            ring.pop_head();
            Some(oldest.word)
        })
        .collect();
        assert_eq!(order, [2, 0, 3]);
        assert_eq!(ring.used(), 0);
    }

    #[test]
    fn grows_up_to_its_capacity_and_no_further() {
        let mut ring = Ring::new(100);
        for n in 0..100 {
            ring.push(entry(n));
        }
        assert!(ring.is_full());
        assert_eq!(ring.allocated_bytes(), 100 * size_of::<Entry>());
        *ring.word_mut(5) = VACANT;
        assert_eq!(ring.get(5).word, VACANT);
    }
}
