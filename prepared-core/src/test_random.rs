//! A small deterministic generator (xorshift64) for the unit tests that compare two
//! implementations on many generated inputs: the same seed gives the same inputs, so a
//! failure can be replayed.

/// xorshift64; the seed must not be zero.
pub(crate) struct XorShift(pub(crate) u64);

impl XorShift {
    /// The next 64 random bits.
    pub(crate) fn next_u64(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}
