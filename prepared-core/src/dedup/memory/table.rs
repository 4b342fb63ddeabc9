//! [`Table`]: the open-addressing hash table of one shard, keyed by [`KeyHash`], with the
//! key and its word side by side, so that a lookup touches one place in memory.

use super::key_hash::KeyHash;

/// The word of an empty slot. The shard never stores it (its stamps stay below it).
pub(super) const EMPTY: u64 = u64::MAX;

/// One slot: 24 bytes.
#[derive(Clone, Copy)]
struct Slot {
    key: KeyHash,
    word: u64,
}

impl Slot {
    const EMPTY: Self = Self {
        key: KeyHash::ZERO,
        word: EMPTY,
    };

    fn is_empty(self) -> bool {
        self.word == EMPTY
    }
}

/// Linear probing over a power-of-two number of slots, at most 3/4 full, with
/// backward-shift deletion (no tombstones). The table grows by doubling, and never shrinks.
///
/// Compared with `std`'s hash map (control bytes apart from the slots), a lookup reads the
/// key where it starts probing: one cache miss instead of two on a table larger than the
/// caches.
pub(super) struct Table {
    slots: Vec<Slot>,
    len: usize,
}

/// The number of slots a new table starts with.
const INITIAL_SLOTS: usize = 16;

impl Table {
    pub(super) fn new() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
        }
    }

    pub(super) fn len(&self) -> usize {
        self.len
    }

    /// The bytes of the slots.
    pub(super) fn allocated_bytes(&self) -> usize {
        self.slots.capacity() * size_of::<Slot>()
    }

    fn mask(&self) -> usize {
        self.slots.len().wrapping_sub(1)
    }

    fn home(&self, key: KeyHash) -> usize {
        // Truncation is intended: the low bits pick the slot.
        (key.table_bits() as usize) & self.mask()
    }

    /// The slot holding `key`, or the empty slot where it would go.
    fn find(&self, key: KeyHash) -> Result<usize, usize> {
        if self.slots.is_empty() {
            return Err(0);
        }
        let mask = self.mask();
        let mut index = self.home(key);
        loop {
            let slot = self.slots[index];
            if slot.is_empty() {
                return Err(index);
            }
            if slot.key == key {
                return Ok(index);
            }
            index = (index + 1) & mask;
        }
    }

    /// The word of `key`, to read or overwrite.
    pub(super) fn get_mut(&mut self, key: KeyHash) -> Option<&mut u64> {
        match self.find(key) {
            Ok(index) => Some(&mut self.slots[index].word),
            Err(_) => None,
        }
    }

    pub(super) fn get(&self, key: KeyHash) -> Option<u64> {
        self.find(key).ok().map(|index| self.slots[index].word)
    }

    /// Inserts a key that is not in the table; the caller keeps `len` within the bound.
    pub(super) fn insert_new(&mut self, key: KeyHash, word: u64) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.place(Slot { key, word });
        self.len += 1;
    }

    /// Puts a slot at the first empty place from its home (the table has one).
    fn place(&mut self, slot: Slot) {
        let mask = self.mask();
        let mut index = self.home(slot.key);
        while !self.slots[index].is_empty() {
            index = (index + 1) & mask;
        }
        self.slots[index] = slot;
    }

    fn grow(&mut self) {
        let size = (self.slots.len() * 2).max(INITIAL_SLOTS);
        let old = std::mem::replace(&mut self.slots, vec![Slot::EMPTY; size]);
        for slot in old {
            if !slot.is_empty() {
                self.place(slot);
            }
        }
    }

    /// Removes `key`; whether it was there.
    pub(super) fn remove(&mut self, key: KeyHash) -> bool {
        match self.find(key) {
            Ok(index) => {
                self.remove_at(index);
                true
            }
            Err(_) => false,
        }
    }

    /// Empties the slot at `hole`, then moves later keys of its cluster into the hole when
    /// their home allows (backward shift), so that no probe sequence meets an empty slot
    /// before its key. Keys only move backwards within their cluster.
    fn remove_at(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        loop {
            let slot = self.slots[next];
            if slot.is_empty() {
                break;
            }
            let home = self.home(slot.key);
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.slots[hole] = slot;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = Slot::EMPTY;
        self.len -= 1;
    }

    /// The words of all keys, in slot order.
    pub(super) fn words(&self) -> impl Iterator<Item = u64> + '_ {
        self.slots
            .iter()
            .filter(|slot| !slot.is_empty())
            .map(|slot| slot.word)
    }

    /// The words of the keys in about `count` slots spread evenly over the table: since a
    /// key's slot is set by its hash, a uniform sample of the keys, read without walking the
    /// whole table.
    pub(super) fn sample(&self, count: usize) -> impl Iterator<Item = u64> + '_ {
        let step = (self.slots.len() / count.max(1)).max(1);
        self.slots
            .iter()
            .step_by(step)
            .filter(|slot| !slot.is_empty())
            .map(|slot| slot.word)
    }

    /// Keeps the keys whose word `keep` accepts: one walk over the slots, from a slot that was
    /// empty (no cluster crosses it), removing with backward shifts. A key shifted into the
    /// current slot comes from later in the same cluster and is looked at next.
    pub(super) fn retain(&mut self, mut keep: impl FnMut(u64) -> bool) {
        // There is an empty slot: the table is at most 3/4 full.
        let Some(start) = self.slots.iter().position(|slot| slot.is_empty()) else {
            return;
        };
        let mask = self.mask();
        let mut step = 1;
        while step < self.slots.len() {
            let index = (start + step) & mask;
            let slot = self.slots[index];
            if !slot.is_empty() && !keep(slot.word) {
                // Look at this slot again: a later key may have moved into it.
                self.remove_at(index);
            } else {
                step += 1;
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::{KeyHash, Table};
    use crate::test_random::XorShift;

    /// Random operations on a table and on a `HashMap` must agree; the keys crowd onto few
    /// home slots, half of them at the end of the table, so that clusters wrap around and
    /// deletions shift them.
    #[test]
    fn agrees_with_a_hash_map() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut random = move || rng.next_u64();
        for round in 0..50 {
            let (mut table, mut model) = (Table::new(), HashMap::new());
            let spread = [4, 64, 1 << 20][round % 3];
            for _ in 0..4000 {
                let low = random() % spread;
                let key = KeyHash::from_parts(low.wrapping_sub(spread / 2), low % 3);
                match random() % 10 {
                    0..=4 => {
                        let word = random() >> 2;
                        if let Some(found) = table.get_mut(key) {
                            *found = word;
                        } else if model.len() < 300 {
                            table.insert_new(key, word);
                        } else {
                            continue;
                        }
                        model.insert((low, low % 3), word);
                    }
                    5..=7 => {
                        assert_eq!(table.remove(key), model.remove(&(low, low % 3)).is_some());
                    }
                    8 => {
                        let cut = random() >> 2;
                        table.retain(|word| word < cut);
                        model.retain(|_, word| *word < cut);
                    }
                    _ => {}
                }
                assert_eq!(table.len(), model.len());
            }
            for (&(low, high), &word) in &model {
                let key = KeyHash::from_parts(low.wrapping_sub(spread / 2), high);
                assert_eq!(table.get(key), Some(word));
            }
            assert_eq!(table.words().count(), model.len());
        }
    }
}
