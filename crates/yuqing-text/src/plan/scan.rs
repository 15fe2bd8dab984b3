//! [`Scanner`]: every occurrence of a fixed set of term texts in a text, found through a
//! character-bigram [`KeyIndex`] (hashed lookups by 64-bit key behind a bit filter); the
//! scan behind [`PlanSet`](super::PlanSet).
//!
//! Each pattern is keyed by its first two characters (a one-character pattern by its
//! character alone). At each character of the text the key of that character and the next
//! is tested against a bit filter (16 bits per key: 8 KB for the benchmark's 3,300 terms,
//! so it stays in L1; each key sets two bits of one word, which lets about 1.4 % of absent
//! keys through where one bit let 6 %) and only if both are set looked up in a table of
//! keys → the patterns with that key (buckets of four keys in one cache line, compared
//! at once, so the slot is no branch to predict), each then compared with the
//! text's bytes at that position (a key whose only pattern is its two characters needs no
//! comparison: most Chinese words). Most positions stop at the filter, so the cost per
//! character is a UTF-8 decode, a multiplication and a word test, however many patterns
//! there are; an Aho–Corasick automaton (daachorse's, before) follows a transition per
//! character whose table grows with the patterns and, for thousands of Chinese words,
//! leaves the L1 cache.
//!
//! It reports exactly the occurrences an overlapping Aho–Corasick search reports (every
//! pattern at every position where it occurs), by ascending start position instead of end
//! position.

/// End of a [`KeyIndex`] range that stands for one exact pattern (see [`Scanner::ids`]).
const EXACT: u32 = u32::MAX;

/// Character code points are below 2²¹, so two fit in a key, and this one (not a
/// character) marks the key of a one-character pattern.
const SINGLE: u64 = 0x1F_FFFF;

fn key(a: u64, b: u64) -> u64 {
    (a << 21) | b
}

fn hash(key: u64) -> u64 {
    key.wrapping_mul(0x9E37_79B9_7F4A_7C15)
}

/// The two bits a key sets in its filter word (whose index is the hash's top bits, at
/// most 16 of them: these come from below). Two bits per key, with 16 filter bits per
/// key, let about 1.4 % of absent keys through, one bit about 6 %.
#[inline(always)]
fn filter_bits_of(h: u64) -> u64 {
    (1 << ((h >> 28) & 63)) | (1 << ((h >> 34) & 63))
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

/// A map from 64-bit keys (never `u64::MAX`) to ranges of some array, behind a bit filter:
/// about 16 filter bits per key (2¹⁶ bits, 8 KB, for 3,000 keys), two set per key in one
/// 64-bit word, so a key that is absent usually costs one word test in L1. Present keys
/// sit in buckets of four (one cache line) at most half full; a full bucket's keys spill
/// into the next ones, so a key is in its home bucket or after it, before the first
/// bucket with a free slot.
#[derive(Debug, Clone)]
struct KeyIndex {
    filter: Vec<u64>,
    filter_shift: u32,
    buckets: Vec<Bucket>,
    bucket_shift: u32,
}

impl KeyIndex {
    /// Index of `entries` (`(key, start, end)`, distinct keys).
    fn new(entries: &[(u64, u32, u32)]) -> KeyIndex {
        let keys = entries.len();
        let filter_bits = (keys * 16).next_power_of_two().clamp(1 << 10, 1 << 22);
        let bucket_len = (keys / 2 + 1).next_power_of_two().max(4);
        let mut filter = vec![0u64; filter_bits / 64];
        let filter_shift = 64 - (filter_bits / 64).trailing_zeros();
        let bucket_shift = 64 - bucket_len.trailing_zeros();
        let mut buckets = vec![EMPTY_BUCKET; bucket_len];
        for &(key, start, end) in entries {
            debug_assert_ne!(key, EMPTY);
            let h = hash(key);
            filter[(h >> filter_shift) as usize] |= filter_bits_of(h);
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
            filter,
            filter_shift,
            buckets,
            bucket_shift,
        }
    }

    /// Heap bytes.
    fn heap_bytes(&self) -> usize {
        self.filter.len() * 8 + self.buckets.len() * std::mem::size_of::<Bucket>()
    }

    /// False if `key` is certainly absent (two bits of one filter word).
    #[inline(always)]
    fn may_contain(&self, key: u64) -> bool {
        let h = hash(key);
        let bits = filter_bits_of(h);
        self.filter[(h >> self.filter_shift) as usize] & bits == bits
    }

    /// `(start, end)` of `key`, `(0, 0)` if absent; no filter test (see [`may_contain`](Self::may_contain)).
    #[inline]
    fn get(&self, key: u64) -> (u32, u32) {
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

#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    /// First-characters key → `ids` range.
    keys: KeyIndex,
    /// Pattern ids grouped by key. A key whose only pattern is the key itself (two
    /// characters, or one) maps to `p..EXACT` instead: found without reading anything else.
    ids: Vec<u32>,
    /// Pattern texts, concatenated: pattern `p` is `bytes[offsets[p]..offsets[p + 1]]`.
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    /// Some pattern is a single character.
    singles: bool,
}

impl Scanner {
    /// Index of `patterns` (distinct, non-empty; pattern ids are their positions).
    pub(crate) fn new(patterns: &[String]) -> Scanner {
        let mut keyed: Vec<(u64, u32)> = Vec::with_capacity(patterns.len());
        let mut singles = false;
        let mut bytes = Vec::new();
        let mut offsets = Vec::with_capacity(patterns.len() + 1);
        offsets.push(0u32);
        for (p, text) in patterns.iter().enumerate() {
            bytes.extend_from_slice(text.as_bytes());
            offsets.push(bytes.len() as u32);
            let mut cs = text.chars();
            let Some(a) = cs.next() else { continue };
            let a = u64::from(a);
            let k = match cs.next() {
                Some(b) => key(a, u64::from(b)),
                None => {
                    singles = true;
                    key(a, SINGLE)
                }
            };
            keyed.push((k, p as u32));
        }
        keyed.sort_unstable();
        let mut ids = Vec::with_capacity(keyed.len());
        let mut entries = Vec::new();
        for group in keyed.chunk_by(|x, y| x.0 == y.0) {
            if let [(k, p)] = group
                && patterns[*p as usize].chars().nth(2).is_none()
            {
                entries.push((*k, *p, EXACT));
                continue;
            }
            let start = ids.len() as u32;
            ids.extend(group.iter().map(|&(_, p)| p));
            entries.push((group[0].0, start, ids.len() as u32));
        }
        Scanner {
            keys: KeyIndex::new(&entries),
            ids,
            bytes,
            offsets,
            singles,
        }
    }

    /// Heap bytes of the index.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.keys.heap_bytes() + self.ids.len() * 4 + self.bytes.len() + self.offsets.len() * 4
    }

    /// Calls `found(pattern, character start)` for every occurrence of every pattern in
    /// `hay`, by ascending start (patterns sharing a start in index order).
    #[inline]
    pub(crate) fn scan(&self, hay: &str, mut found: impl FnMut(u32, usize)) {
        let bytes = hay.as_bytes();
        if bytes.is_empty() {
            return;
        }
        let (mut c, mut len) = decode(bytes, 0);
        let (mut at, mut index) = (0usize, 0usize);
        loop {
            if self.singles {
                self.verify(key(c, SINGLE), bytes, at, index, &mut found);
            }
            let next = at + len;
            if next >= bytes.len() {
                return;
            }
            let (d, next_len) = decode(bytes, next);
            let k = key(c, d);
            // The filter inline; the table and the comparisons out of line.
            if self.keys.may_contain(k) {
                self.verify(k, bytes, at, index, &mut found);
            }
            (c, len, at) = (d, next_len, next);
            index += 1;
        }
    }

    /// Reports the patterns with key `k` that occur at byte `at` (character `index`).
    #[inline(never)]
    fn verify(
        &self,
        k: u64,
        bytes: &[u8],
        at: usize,
        index: usize,
        found: &mut impl FnMut(u32, usize),
    ) {
        let range = self.keys.get(k);
        if range.1 == EXACT {
            found(range.0, index);
            return;
        }
        for &p in &self.ids[range.0 as usize..range.1 as usize] {
            let pattern = &self.bytes
                [self.offsets[p as usize] as usize..self.offsets[p as usize + 1] as usize];
            if bytes[at..].starts_with(pattern) {
                found(p, index);
            }
        }
    }
}

/// The character starting at byte `i` of valid UTF-8 `b` (as a key part) and its length.
#[inline(always)]
fn decode(b: &[u8], i: usize) -> (u64, usize) {
    let x = u64::from(b[i]);
    let cont = |k: usize| u64::from(b[i + k] & 0x3F);
    if x < 0x80 {
        (x, 1)
    } else if x < 0xE0 {
        (((x & 0x1F) << 6) | cont(1), 2)
    } else if x < 0xF0 {
        (((x & 0x0F) << 12) | (cont(1) << 6) | cont(2), 3)
    } else {
        (
            ((x & 0x07) << 18) | (cont(1) << 12) | (cont(2) << 6) | cont(3),
            4,
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every (pattern, character start), by brute force.
    fn naive(patterns: &[String], hay: &str) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        for (i, (b, _)) in hay.char_indices().enumerate() {
            for (p, pat) in patterns.iter().enumerate() {
                if hay[b..].starts_with(pat.as_str()) {
                    out.push((p as u32, i));
                }
            }
        }
        out.sort_unstable_by_key(|&(p, i)| (i, p));
        out
    }

    fn scanned(s: &Scanner, hay: &str) -> Vec<(u32, usize)> {
        let mut out = Vec::new();
        s.scan(hay, |p, i| out.push((p, i)));
        out.sort_unstable_by_key(|&(p, i)| (i, p));
        out
    }

    #[test]
    fn finds_every_occurrence_like_brute_force() {
        let patterns: Vec<String> = [
            "北京",
            "北京大学",
            "京",
            "大学",
            "学",
            "哈哈",
            "a",
            "ab",
            "abc",
            "bc",
            "é",
            "éa",
            "😀x",
            "京大",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = Scanner::new(&patterns);
        for hay in [
            "",
            "北",
            "京",
            "北京大学北京",
            "哈哈哈哈",
            "abcabc ab a",
            "éaé",
            "😀x😀😀x",
            "我在北京大学学习,京大",
        ] {
            assert_eq!(scanned(&s, hay), naive(&patterns, hay), "{hay}");
        }
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

    #[test]
    fn many_colliding_keys() {
        // Enough keys that the table probes past collisions.
        let patterns: Vec<String> = (0..3000u32)
            .map(|i| {
                let a = char::from_u32(0x4e00 + i % 50).unwrap();
                let b = char::from_u32(0x4e00 + i / 50).unwrap();
                let c = char::from_u32(0x4e00 + i % 7).unwrap();
                if i % 3 == 0 {
                    format!("{a}{b}")
                } else {
                    format!("{a}{b}{c}")
                }
            })
            .collect::<std::collections::BTreeSet<_>>()
            .into_iter()
            .collect();
        let s = Scanner::new(&patterns);
        let hay: String = (0..400u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 60).unwrap())
            .collect();
        assert_eq!(scanned(&s, &hay), naive(&patterns, &hay));
    }
}
