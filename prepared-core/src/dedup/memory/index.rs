//! [`Index`]: where a shard finds a key's entry in its [`Ring`](super::ring::Ring).
//!
//! An open-addressing table of 8-byte slots, each a 32-bit tag of the key's hash and the
//! place of its entry in the ring. At a million keys the slots take about 17 MB against the
//! entries' 24, and a new key is looked up in the slots alone: the entries are read only for
//! a tag that matches (the key itself, or one key in 2³² that shares its tag).

/// One slot: the tag in the high half, the ring place in the low half.
#[derive(Clone, Copy, PartialEq, Eq)]
struct Slot(u64);

impl Slot {
    /// A free slot. No real slot equals it: ring places stay below `u32::MAX`.
    const EMPTY: Self = Self(u64::MAX);

    fn new(tag: u32, place: u32) -> Self {
        Self((u64::from(tag) << 32) | u64::from(place))
    }

    fn tag(self) -> u32 {
        // The high half, by construction.
        (self.0 >> 32) as u32
    }

    fn place(self) -> u32 {
        // Truncation is intended: the low half.
        self.0 as u32
    }

    fn is_empty(self) -> bool {
        self == Self::EMPTY
    }
}

/// Linear probing over a power-of-two number of slots, at most 3/4 full, with
/// backward-shift deletion (no tombstones); a key's home slot is chosen by its tag, so the
/// table grows (doubling) without reading the entries. It never shrinks.
pub(super) struct Index {
    slots: Vec<Slot>,
    len: usize,
}

/// The number of slots a new index starts with.
const INITIAL_SLOTS: usize = 16;

impl Index {
    pub(super) fn new() -> Self {
        Self {
            slots: Vec::new(),
            len: 0,
        }
    }

    /// How many places are recorded.
    #[cfg(test)]
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

    fn home(&self, tag: u32) -> usize {
        (tag as usize) & self.mask()
    }

    /// The first place recorded under `tag` that `is_key` accepts, with the slot that holds
    /// it (for [`remove`](Self::remove)).
    pub(super) fn find(
        &self,
        tag: u32,
        mut is_key: impl FnMut(u32) -> bool,
    ) -> Option<(usize, u32)> {
        if self.slots.is_empty() {
            return None;
        }
        let mask = self.mask();
        let mut index = self.home(tag);
        loop {
            let slot = self.slots[index];
            if slot.is_empty() {
                return None;
            }
            if slot.tag() == tag && is_key(slot.place()) {
                return Some((index, slot.place()));
            }
            index = (index + 1) & mask;
        }
    }

    /// The slot that records `place` under `tag`.
    pub(super) fn slot_of(&self, tag: u32, place: u32) -> Option<usize> {
        self.find(tag, |found| found == place).map(|(slot, _)| slot)
    }

    /// Records `place` under `tag` (a place not recorded yet).
    pub(super) fn insert(&mut self, tag: u32, place: u32) {
        if (self.len + 1) * 4 > self.slots.len() * 3 {
            self.grow();
        }
        self.put(Slot::new(tag, place));
        self.len += 1;
    }

    /// Puts a slot at the first free place from its home (the table has one).
    fn put(&mut self, slot: Slot) {
        let mask = self.mask();
        let mut index = self.home(slot.tag());
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
                self.put(slot);
            }
        }
    }

    /// Empties the slot at `hole`, then moves later slots of its cluster into the hole when
    /// their home allows (backward shift), so that no probe sequence meets a free slot before
    /// its place.
    pub(super) fn remove(&mut self, mut hole: usize) {
        let mask = self.mask();
        let mut next = (hole + 1) & mask;
        loop {
            let slot = self.slots[next];
            if slot.is_empty() {
                break;
            }
            let home = self.home(slot.tag());
            if next.wrapping_sub(home) & mask >= next.wrapping_sub(hole) & mask {
                self.slots[hole] = slot;
                hole = next;
            }
            next = (next + 1) & mask;
        }
        self.slots[hole] = Slot::EMPTY;
        self.len -= 1;
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::Index;
    use crate::test_random::XorShift;

    /// Random insertions and removals agree with a `HashMap` from place to tag; the tags
    /// crowd onto few homes (and share values), so that clusters wrap around the table and
    /// removals shift them.
    #[test]
    fn agrees_with_a_hash_map() {
        let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
        let mut random = move || rng.next_u64();
        for round in 0..50 {
            let (mut index, mut model) = (Index::new(), HashMap::<u32, u32>::new());
            let spread = [4, 64, 1 << 20][round % 3];
            let mut next_place = 0_u32;
            for _ in 0..4000 {
                // Tags near u32::MAX and near 0: their homes sit at both ends of the table.
                let tag = (random() % spread) as u32;
                let tag = tag.wrapping_sub((spread / 2) as u32);
                match random() % 10 {
                    0..=5 if model.len() < 300 => {
                        index.insert(tag, next_place);
                        model.insert(next_place, tag);
                        next_place += 1;
                    }
                    6..=8 if !model.is_empty() => {
                        let places: Vec<u32> = model.keys().copied().collect();
                        let place = places[(random() % places.len() as u64) as usize];
                        let tag = model[&place];
                        let slot = index.slot_of(tag, place).expect("recorded");
                        index.remove(slot);
                        model.remove(&place);
                    }
                    _ => {}
                }
                assert_eq!(index.len, model.len());
            }
            for (&place, &tag) in &model {
                assert_eq!(
                    index.find(tag, |found| found == place).map(|(_, p)| p),
                    Some(place)
                );
            }
            // A tag recorded for other places finds none of them for a place it never had.
            for &tag in model.values() {
                assert_eq!(index.find(tag, |found| found == u32::MAX - 1), None);
            }
        }
    }
}
