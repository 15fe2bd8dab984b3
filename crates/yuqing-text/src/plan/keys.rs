//! [`KeyIndex`]: a map from 64-bit keys to ranges of some array, behind an L1-sized bit
//! filter, for lookups that usually find nothing: the (gate, second term) pairs of
//! [`PlanSet`](super::PlanSet), looked up for pairs of the terms found in a document.

/// The hash of a key: its top bits pick a filter word or a bucket.
pub(crate) fn hash(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The two bits a key sets in its filter word (whose index is the hash's top bits, at
/// most 16 of them: these come from below). Two bits per key, with 16 filter bits per
/// key, let about 1.4 % of absent keys through, one bit about 6 %.
#[inline(always)]
fn filter_bits_of(h: u64) -> u64 {
    (1 << ((h >> 28) & 63)) | (1 << ((h >> 34) & 63))
}

/// A bit filter over a set of keys: about 16 bits per key (2¹⁶ bits, 8 KB, for 3,000
/// keys), two set per key in one 64-bit word, so a key that is absent usually costs one
/// word test in L1 and gets through about 1.4 % of the time.
#[derive(Debug, Clone)]
pub(crate) struct Filter {
    words: Vec<u64>,
    shift: u32,
}

impl Filter {
    /// Filter of `keys` (`n` of them, or about).
    pub(crate) fn new(n: usize, keys: impl Iterator<Item = u64>) -> Filter {
        let bits = (n * 16).next_power_of_two().clamp(1 << 10, 1 << 22);
        let mut words = vec![0u64; bits / 64];
        let shift = 64 - (bits / 64).trailing_zeros();
        for key in keys {
            let h = hash(key);
            words[(h >> shift) as usize] |= filter_bits_of(h);
        }
        Filter { words, shift }
    }

    /// False if `key` is certainly absent.
    #[inline(always)]
    pub(crate) fn may_contain(&self, key: u64) -> bool {
        let h = hash(key);
        let bits = filter_bits_of(h);
        self.words[(h >> self.shift) as usize] & bits == bits
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.words.len() * 8
    }
}

/// Four slots of a [`KeyIndex`], one cache line: `keys[i]` (or [`EMPTY`]) maps to the
/// range `start[i]..end[i]`. A key is found by comparing all four keys at once, so that
/// the slot it sits in is no branch to predict.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    keys: [u64; 4],
    start: [u32; 4],
    end: [u32; 4],
}

const EMPTY: u64 = u64::MAX;

const EMPTY_BUCKET: Bucket = Bucket {
    keys: [EMPTY; 4],
    start: [0; 4],
    end: [0; 4],
};

/// A map from 64-bit keys (never `u64::MAX`) to ranges of some array, behind a [`Filter`],
/// so a key that is absent usually costs one word test in L1. Present keys
/// sit in buckets of four (one cache line) at most half full; a full bucket's keys spill
/// into the next ones, so a key is in its home bucket or after it, before the first
/// bucket with a free slot.
#[derive(Debug, Clone)]
pub(crate) struct KeyIndex {
    filter: Filter,
    buckets: Vec<Bucket>,
    bucket_shift: u32,
}

impl KeyIndex {
    /// Index of `entries` (`(key, start, end)`, distinct keys).
    pub(crate) fn new(entries: &[(u64, u32, u32)]) -> KeyIndex {
        let keys = entries.len();
        let bucket_len = (keys / 2 + 1).next_power_of_two().max(4);
        let bucket_shift = 64 - bucket_len.trailing_zeros();
        let mut buckets = vec![EMPTY_BUCKET; bucket_len];
        for &(key, start, end) in entries {
            debug_assert_ne!(key, EMPTY);
            let h = hash(key);
            let mut b = (h >> bucket_shift) as usize;
            loop {
                let bucket = &mut buckets[b];
                if let Some(i) = bucket.keys.iter().position(|&k| k == EMPTY) {
                    bucket.keys[i] = key;
                    bucket.start[i] = start;
                    bucket.end[i] = end;
                    break;
                }
                b = (b + 1) & (bucket_len - 1);
            }
        }
        KeyIndex {
            filter: Filter::new(keys, entries.iter().map(|e| e.0)),
            buckets,
            bucket_shift,
        }
    }

    /// Heap bytes.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.filter.heap_bytes() + self.buckets.len() * std::mem::size_of::<Bucket>()
    }

    /// False if `key` is certainly absent (two bits of one filter word).
    #[inline(always)]
    pub(crate) fn may_contain(&self, key: u64) -> bool {
        self.filter.may_contain(key)
    }

    /// `(start, end)` of `key`, `(0, 0)` if absent; no filter test (see [`may_contain`](Self::may_contain)).
    #[inline]
    pub(crate) fn get(&self, key: u64) -> (u32, u32) {
        let h = hash(key);
        let mask = self.buckets.len() - 1;
        let mut b = (h >> self.bucket_shift) as usize;
        loop {
            let bucket = &self.buckets[b];
            let k = &bucket.keys;
            let hit = u32::from(k[0] == key)
                | (u32::from(k[1] == key) << 1)
                | (u32::from(k[2] == key) << 2)
                | (u32::from(k[3] == key) << 3);
            if hit != 0 {
                let i = hit.trailing_zeros() as usize;
                return (bucket.start[i], bucket.end[i]);
            }
            if k[3] == EMPTY {
                return (0, 0);
            }
            b = (b + 1) & mask;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(a: u64, b: u64) -> u64 {
        (a << 21) | b
    }

    #[test]
    fn key_index_finds_every_key_and_no_other_at_any_load() {
        // Bucket counts are powers of two, so sizes around them run from a quarter to half
        // full; at 3,000 and 5,000 keys some buckets overflow into the next ones.
        let mut spilled = 0;
        for n in [
            1usize, 3, 4, 5, 63, 64, 65, 1023, 1024, 1025, 3000, 4000, 5000,
        ] {
            let entries: Vec<(u64, u32, u32)> = (0..n as u64)
                .map(|i| {
                    (
                        key(0x4e00 + i % 97, 0x4e00 + i / 97),
                        i as u32,
                        i as u32 + 7,
                    )
                })
                .collect();
            let index = KeyIndex::new(&entries);
            for &(k, start, end) in &entries {
                assert!(index.may_contain(k));
                assert_eq!(index.get(k), (start, end), "{n} keys");
            }
            for i in 0..2_000u64 {
                let absent = key(0x3000 + i, 0x3000 + i % 13);
                assert_eq!(index.get(absent), (0, 0), "{n} keys");
            }
            spilled += index
                .buckets
                .iter()
                .enumerate()
                .flat_map(|(b, bucket)| bucket.keys.iter().map(move |&k| (b, k)))
                .filter(|&(b, k)| k != EMPTY && (hash(k) >> index.bucket_shift) as usize != b)
                .count();
        }
        assert!(
            spilled > 0,
            "no key overflowed its home bucket: the test misses that path"
        );
    }
}
