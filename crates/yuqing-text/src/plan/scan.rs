//! [`Scanner`]: every occurrence of a fixed set of term texts in a text, found through a
//! character-bigram [`Table`] (hashed lookups by 64-bit key behind a bit filter); the
//! scan behind [`PlanSet`](super::PlanSet).
//!
//! Each pattern is keyed by its first two characters (a one-character pattern by its
//! character alone). At each character of the text the key of that character and the next
//! is tested against a bit filter (16 bits per key: 8 KB for the benchmark's 3,300 terms,
//! so it stays in L1; each key sets two bits of one word, which lets about 1.4 % of absent
//! keys through where one bit let 6 %) and only if both are set looked up in a table of
//! patterns by key. A slot of the table holds a pattern's key, its next 8 bytes (its
//! *tail*) and its id, four slots to a cache line; the slots of a bucket are compared with
//! the key and the text's next 8 bytes at once, so neither the slot nor the pattern's
//! length is a branch to predict, and no pattern text is read (only a pattern of more than
//! 8 bytes past its first two characters, such as a Chinese word of five characters, has
//! the rest compared when its tail matches). Most positions stop at the filter, so the cost
//! per character is a UTF-8 decode, a multiplication and a word test, however many
//! patterns there are; an Aho–Corasick automaton (daachorse's, before) follows a
//! transition per character whose table grows with the patterns and, for thousands of
//! Chinese words, leaves the L1 cache. A large set scans in two passes
//! ([`Scanner::scan_with`]): the filter at every position first, without a branch, then
//! the lookups.
//!
//! It reports exactly the occurrences an overlapping Aho–Corasick search reports (every
//! pattern at every position where it occurs), by ascending start position instead of end
//! position.

use super::keys::{Filter, hash};

/// Character code points are below 2²¹, so two fit in a key, and this one (not a
/// character) marks the key of a one-character pattern.
const SINGLE: u64 = 0x1F_FFFF;

fn key(a: u64, b: u64) -> u64 {
    (a << 21) | b
}

/// A slot's word: the key (bits 0–41: two 21-bit characters), [`LONG`] (bit 42) and the
/// pattern id (bits 43–63, so at most [`MAX_PATTERNS`] patterns).
const KEY_BITS: u64 = (1 << 42) - 1;
/// The pattern goes on past its 8 tail bytes (or has a NUL byte in them), so the rest is
/// compared with the text when the tail matches.
const LONG: u64 = 1 << 42;
const ID_SHIFT: u32 = 43;
/// Most patterns a [`Scanner`] takes (pattern ids have 21 bits).
pub(crate) const MAX_PATTERNS: usize = 1 << 21;
/// A free slot (its key bits are all ones, which no key is).
const EMPTY: u64 = u64::MAX;

/// The bytes of `tail` up to its last non-zero byte, all ones. A tail is a pattern's next
/// bytes, none of them zero, then zero padding, so this is the mask of its bytes.
#[inline(always)]
fn tail_mask(tail: u64) -> u64 {
    const LOW: u64 = 0x7F7F_7F7F_7F7F_7F7F;
    // The high bit of each non-zero byte, then the byte filled.
    let nonzero = ((tail & LOW).wrapping_add(LOW) | tail) & !LOW;
    (nonzero >> 7).wrapping_mul(0xFF)
}

/// Four slots of a [`Table`], one cache line. Slot `i` holds one pattern: its key, flags
/// and id (`words[i]`, or [`EMPTY`]) and its first 8 bytes after the key's characters
/// (`tails[i]`, little-endian, zero-padded). A pattern is found at a position by comparing
/// the four keys at once, then the tail of each slot with that key with the text's next 8
/// bytes: no branch on the slot, and no pattern text to read for the words of up to four
/// CJK characters that plans are made of.
#[derive(Debug, Clone, Copy)]
#[repr(C, align(64))]
struct Bucket {
    words: [u64; 4],
    tails: [u64; 4],
}

const EMPTY_BUCKET: Bucket = Bucket {
    words: [EMPTY; 4],
    tails: [0; 4],
};

/// The patterns by key, behind a bit filter: about 16 filter bits per key (2¹⁶ bits, 8
/// KB, for 3,000 keys), two set per key in one 64-bit word, so a key that is absent
/// usually costs one word test in L1. Patterns sit in buckets of four slots (one cache
/// line), at most a quarter full (a full bucket is a branch that mispredicts); a full bucket's patterns spill into the next ones, so every
/// pattern of a key is in the key's home bucket or after it, before the first bucket with
/// a free slot.
#[derive(Debug, Clone)]
struct Table {
    /// Distinct keys.
    keys: usize,
    filter: Filter,
    buckets: Vec<Bucket>,
    bucket_shift: u32,
}

impl Table {
    /// Table of `slots` (`(word, tail)` as in [`Bucket`]).
    fn new(slots: &[(u64, u64)]) -> Table {
        let mut keys: Vec<u64> = slots.iter().map(|s| s.0 & KEY_BITS).collect();
        keys.sort_unstable();
        keys.dedup();
        let bucket_len = (slots.len() + 1).next_power_of_two().max(4);
        let bucket_shift = 64 - bucket_len.trailing_zeros();
        let mut buckets = vec![EMPTY_BUCKET; bucket_len];
        for &(word, tail) in slots {
            debug_assert_ne!(word, EMPTY);
            let mut b = (hash(word & KEY_BITS) >> bucket_shift) as usize;
            loop {
                let bucket = &mut buckets[b];
                if let Some(i) = bucket.words.iter().position(|&w| w == EMPTY) {
                    bucket.words[i] = word;
                    bucket.tails[i] = tail;
                    break;
                }
                b = (b + 1) & (bucket_len - 1);
            }
        }
        Table {
            keys: keys.len(),
            filter: Filter::new(keys.len(), keys.iter().copied()),
            buckets,
            bucket_shift,
        }
    }

    /// Heap bytes.
    fn heap_bytes(&self) -> usize {
        self.filter.heap_bytes() + self.buckets.len() * std::mem::size_of::<Bucket>()
    }

    /// False if `key` is certainly absent (two bits of one filter word).
    #[inline(always)]
    fn may_contain(&self, key: u64) -> bool {
        self.filter.may_contain(key)
    }

    /// The home bucket of `key`, its slots holding a pattern with `key` whose tail bytes
    /// are the first bytes of `text` (the text's next 8 bytes, zero-padded past its end)
    /// as bits, and whether the bucket is full (then more patterns with `key` may follow in
    /// the next buckets: [`find_from`](Self::find_from)). No branch.
    #[inline(always)]
    fn home(&self, key: u64, text: u64) -> (usize, u32, bool) {
        let b = (hash(key) >> self.bucket_shift) as usize;
        let bucket = &self.buckets[b];
        (b, bucket.hits(key, text), bucket.words[3] != EMPTY)
    }

    /// Calls `each(slot word)` for every pattern with `key` matching `text` (as in
    /// [`home`](Self::home)) in the buckets from `b` on. No filter test (see
    /// [`may_contain`](Self::may_contain)).
    #[inline(always)]
    fn find_from(&self, mut b: usize, key: u64, text: u64, mut each: impl FnMut(u64)) {
        let mask = self.buckets.len() - 1;
        loop {
            let bucket = &self.buckets[b & mask];
            let mut hits = bucket.hits(key, text);
            while hits != 0 {
                let i = hits.trailing_zeros() as usize;
                hits &= hits - 1;
                each(bucket.words[i]);
            }
            if bucket.words[3] == EMPTY {
                return;
            }
            b += 1;
        }
    }
}

impl Bucket {
    /// The slots holding a pattern with `key` whose tail is the first bytes of `text`, as
    /// bits.
    #[inline(always)]
    fn hits(&self, key: u64, text: u64) -> u32 {
        let slot = |i: usize| -> u32 {
            let tail = self.tails[i];
            u32::from((self.words[i] & KEY_BITS == key) & (text & tail_mask(tail) == tail)) << i
        };
        slot(0) | slot(1) | slot(2) | slot(3)
    }
}

/// A position of the text whose key passed the filter (see [`Scanner::scan_with`]).
#[derive(Debug, Clone, Copy, Default)]
pub(crate) struct Candidate {
    key: u64,
    at: u32,
    tail_at: u32,
    index: u32,
}

/// Where a key occurs: the byte its first character starts at, the byte after its
/// characters (where a pattern's tail starts) and the character index.
#[derive(Debug, Clone, Copy)]
struct Pos {
    at: usize,
    tail_at: usize,
    index: usize,
}

/// Positions per round of [`Scanner::scan_with`] (the size of its buffer).
const CHUNK: usize = 256;

/// Keys from which [`Scanner::scan_with`] takes two passes.
const BATCHED_KEYS: usize = 512;

#[derive(Debug, Clone)]
pub(crate) struct Scanner {
    table: Table,
    /// The set has at least [`BATCHED_KEYS`] keys.
    batched: bool,
    /// Pattern texts, concatenated: pattern `p` is `bytes[offsets[p]..offsets[p + 1]]`;
    /// read only for [`LONG`] patterns.
    bytes: Vec<u8>,
    offsets: Vec<u32>,
    /// Some pattern is a single character.
    singles: bool,
}

impl Scanner {
    /// Index of `patterns` (distinct, non-empty; pattern ids are their positions); `None`
    /// if there are more than [`MAX_PATTERNS`].
    pub(crate) fn new(patterns: &[String]) -> Option<Scanner> {
        if patterns.len() > MAX_PATTERNS {
            return None;
        }
        let mut slots: Vec<(u64, u64)> = Vec::with_capacity(patterns.len());
        let mut singles = false;
        let mut bytes = Vec::new();
        let mut offsets = Vec::with_capacity(patterns.len() + 1);
        offsets.push(0u32);
        for (p, text) in patterns.iter().enumerate() {
            bytes.extend_from_slice(text.as_bytes());
            offsets.push(bytes.len() as u32);
            let mut cs = text.char_indices();
            let Some((_, a)) = cs.next() else { continue };
            let a = u64::from(a);
            let (k, rest) = match cs.next() {
                Some((i, b)) => (key(a, u64::from(b)), i + b.len_utf8()),
                None => {
                    singles = true;
                    (key(a, SINGLE), text.len())
                }
            };
            // The tail: the next bytes up to 8, cut before a NUL byte (the rest, then, is
            // compared on its own).
            let rest = &text.as_bytes()[rest..];
            let n = rest.iter().take(8).take_while(|&&b| b != 0).count();
            let mut tail = [0u8; 8];
            tail[..n].copy_from_slice(&rest[..n]);
            let mut word = k | ((p as u64) << ID_SHIFT);
            if n < rest.len() {
                word |= LONG;
            }
            slots.push((word, u64::from_le_bytes(tail)));
        }
        let table = Table::new(&slots);
        Some(Scanner {
            batched: table.keys >= BATCHED_KEYS,
            table,
            bytes,
            offsets,
            singles,
        })
    }

    /// Heap bytes of the index.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.table.heap_bytes() + self.bytes.len() + self.offsets.len() * 4
    }

    /// Calls `found(pattern, character start)` for every occurrence of every pattern in
    /// `hay`, by ascending start (patterns sharing a start in no particular order).
    #[inline]
    pub(crate) fn scan(&self, hay: &str, mut found: impl FnMut(u32, usize)) {
        let bytes = hay.as_bytes();
        if bytes.is_empty() {
            return;
        }
        let (mut c, mut len) = decode(bytes, 0);
        let (mut at, mut index) = (0usize, 0usize);
        loop {
            let next = at + len;
            if self.singles {
                let k = key(c, SINGLE);
                if self.table.may_contain(k) {
                    let pos = Pos {
                        at,
                        tail_at: next,
                        index,
                    };
                    self.verify(k, bytes, pos, &mut found);
                }
            }
            if next >= bytes.len() {
                return;
            }
            let (d, next_len) = decode(bytes, next);
            let k = key(c, d);
            // The filter inline; the table and the comparisons out of line.
            if self.table.may_contain(k) {
                let pos = Pos {
                    at,
                    tail_at: next + next_len,
                    index,
                };
                self.verify(k, bytes, pos, &mut found);
            }
            (c, len, at) = (d, next_len, next);
            index += 1;
        }
    }

    /// [`scan`](Self::scan) in rounds of two passes when the set is large. The first tests
    /// the filter at up to [`CHUNK`] positions and writes each position to `buf` whether
    /// it passes or not (the count grows by the test's result), so that the test is no
    /// branch to mispredict; the second looks up the positions that passed. With
    /// thousands of patterns about one position in ten passes, at random, and each
    /// mispredicted branch cost about as much as the lookup itself: with the two passes
    /// 10,000 plans match about 3 to 6 % faster than with one. A small set (few positions pass) and a set
    /// with one-character patterns take the one-pass scan.
    #[inline]
    pub(crate) fn scan_with(
        &self,
        hay: &str,
        buf: &mut Vec<Candidate>,
        mut found: impl FnMut(u32, usize),
    ) {
        let bytes = hay.as_bytes();
        if !self.batched || self.singles || bytes.len() >= u32::MAX as usize {
            return self.scan(hay, found);
        }
        if bytes.is_empty() {
            return;
        }
        if buf.len() < CHUNK {
            buf.resize(CHUNK, Candidate::default());
        }
        let buf = &mut buf[..CHUNK];
        let (mut c, mut len) = decode(bytes, 0);
        let (mut at, mut index) = (0usize, 0usize);
        loop {
            let mut n = 0;
            let mut last = true;
            for _ in 0..CHUNK {
                let next = at + len;
                if next >= bytes.len() {
                    last = true;
                    break;
                }
                last = false;
                let (d, next_len) = decode(bytes, next);
                let k = key(c, d);
                buf[n] = Candidate {
                    key: k,
                    at: at as u32,
                    tail_at: (next + next_len) as u32,
                    index: index as u32,
                };
                n += usize::from(self.table.may_contain(k));
                (c, len, at) = (d, next_len, next);
                index += 1;
            }
            self.lookup(&buf[..n], bytes, &mut found);
            if last {
                return;
            }
        }
    }

    /// The second pass of [`scan_with`](Self::scan_with): reports the patterns at the
    /// positions `cands` of `bytes`. Out of line: inlined into the first pass's loop it ran
    /// slower.
    #[inline(never)]
    fn lookup(&self, cands: &[Candidate], bytes: &[u8], found: &mut impl FnMut(u32, usize)) {
        for cand in cands {
            let pos = Pos {
                at: cand.at as usize,
                tail_at: cand.tail_at as usize,
                index: cand.index as usize,
            };
            self.find_at(cand.key, bytes, pos, found);
        }
    }

    /// Reports the pattern of the slot `word` found at byte `at` (character `index`),
    /// its tail having matched.
    #[inline(always)]
    fn report(
        &self,
        word: u64,
        bytes: &[u8],
        at: usize,
        index: usize,
        found: &mut impl FnMut(u32, usize),
    ) {
        let p = (word >> ID_SHIFT) as u32;
        if word & LONG == 0 || self.long_matches(p, &bytes[at..]) {
            found(p, index);
        }
    }

    /// [`find_at`](Self::find_at) out of line, for the one-pass scan (whose loop keeps only
    /// the filter test).
    #[inline(never)]
    fn verify(&self, k: u64, bytes: &[u8], pos: Pos, found: &mut impl FnMut(u32, usize)) {
        self.find_at(k, bytes, pos, found);
    }

    /// Reports the patterns with key `k` that occur at `pos`.
    #[inline(always)]
    fn find_at(&self, k: u64, bytes: &[u8], pos: Pos, found: &mut impl FnMut(u32, usize)) {
        let Pos { at, tail_at, index } = pos;
        let text = tail_text(bytes, tail_at);
        let (b, mut hits, full) = self.table.home(k, text);
        let bucket = &self.table.buckets[b];
        while hits != 0 {
            let i = hits.trailing_zeros() as usize;
            hits &= hits - 1;
            self.report(bucket.words[i], bytes, at, index, found);
        }
        if full {
            self.table.find_from(b + 1, k, text, |word| {
                self.report(word, bytes, at, index, found)
            });
        }
    }

    /// Whether the pattern `p` starts `hay` (for a [`LONG`] pattern whose tail matched).
    #[cold]
    fn long_matches(&self, p: u32, hay: &[u8]) -> bool {
        let pattern =
            &self.bytes[self.offsets[p as usize] as usize..self.offsets[p as usize + 1] as usize];
        hay.starts_with(pattern)
    }
}

/// The 8 bytes of `bytes` from `at` as a little-endian word, zero-padded past the end.
#[inline(always)]
fn tail_text(bytes: &[u8], at: usize) -> u64 {
    match bytes.get(at..at + 8) {
        Some(b) => u64::from_le_bytes([b[0], b[1], b[2], b[3], b[4], b[5], b[6], b[7]]),
        None => {
            let mut b = [0u8; 8];
            let rest = bytes.get(at..).unwrap_or_default();
            b[..rest.len()].copy_from_slice(rest);
            u64::from_le_bytes(b)
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
            "北京大学附属医院",
            "北京大学附属",
            "大学附属医",
            "abcdefghij",
            "abcdefghijk",
            "bcdefghijk",
            "😀😀😀x",
        ]
        .iter()
        .map(|s| s.to_string())
        .collect();
        let s = Scanner::new(&patterns).unwrap();
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
            "北京大学附属医院",
            "北京大学附属医",
            "去北京大学附属医院北京大学附属",
            "abcdefghijk abcdefghij abcdefghi",
            "xabcdefghijkl",
            "😀😀😀😀x😀😀😀",
        ] {
            assert_eq!(scanned(&s, hay), naive(&patterns, hay), "{hay}");
        }
    }

    #[test]
    fn table_finds_every_pattern_and_no_other_at_any_load() {
        // Bucket counts are powers of two, so sizes around them run from an eighth to a
        // quarter full; some buckets overflow into the next ones all the same. Every third key has three
        // patterns (tails of 0, 1 and 2 bytes), so a key's patterns may sit in more than
        // one bucket.
        let mut spilled = 0;
        for n in [
            1usize, 2, 3, 4, 5, 7, 63, 64, 65, 1023, 1024, 1025, 3000, 4000, 5000,
        ] {
            let mut slots: Vec<(u64, u64)> = Vec::new();
            for i in 0..n as u64 {
                let k = key(0x4e00 + i % 97, 0x4e00 + i / 97);
                let tails: &[u64] = if i % 3 == 0 {
                    &[0, 0x41, 0x4241]
                } else {
                    &[0x4241]
                };
                for &tail in tails {
                    slots.push((k | ((slots.len() as u64) << ID_SHIFT), tail));
                }
            }
            let table = Table::new(&slots);
            let found = |k: u64, text: u64| -> Vec<u64> {
                let mut ids = Vec::new();
                let (home, hits, full) = table.home(k, text);
                let mut from_home = Vec::new();
                table.find_from(home, k, text, |w| from_home.push(w));
                // The home bucket's hits are the first ones found from it.
                let bucket = &table.buckets[home];
                let home_words: Vec<u64> = (0..4)
                    .filter(|&i| hits & (1 << i) != 0)
                    .map(|i| bucket.words[i])
                    .collect();
                assert_eq!(from_home[..home_words.len()], home_words[..]);
                assert_eq!(full, bucket.words[3] != EMPTY);
                ids.extend(from_home.iter().map(|w| w >> ID_SHIFT));
                ids.sort_unstable();
                ids
            };
            for (j, &(word, tail)) in slots.iter().enumerate() {
                let k = word & KEY_BITS;
                assert!(table.may_contain(k));
                let of_key = |fits: &dyn Fn(u64) -> bool| -> Vec<u64> {
                    slots
                        .iter()
                        .filter(|s| s.0 & KEY_BITS == k && fits(s.1))
                        .map(|s| s.0 >> ID_SHIFT)
                        .collect()
                };
                // Followed by "AB" and more: every pattern of the key.
                let all = of_key(&|_| true);
                assert!(all.contains(&(word >> ID_SHIFT)), "{n} keys, slot {j}");
                assert_eq!(found(k, 0x4342_4241), all, "{n} keys, slot {j}");
                // The text ends after "A": the tails of 0 and 1 bytes.
                assert_eq!(found(k, 0x41), of_key(&|t| t <= 0x41), "{n} keys, slot {j}");
                // "AC": the same; "C": only the empty tail.
                assert_eq!(
                    found(k, 0x4341),
                    of_key(&|t| t <= 0x41),
                    "{n} keys, slot {j}"
                );
                assert_eq!(
                    found(k, 0x43),
                    of_key(&|t| t == 0),
                    "{n} keys, slot {j} {tail}"
                );
            }
            for i in 0..2_000u64 {
                let absent = key(0x3000 + i, 0x3000 + i % 13);
                assert!(found(absent, 0x4241).is_empty(), "{n} keys");
            }
            spilled += table
                .buckets
                .iter()
                .enumerate()
                .flat_map(|(b, bucket)| bucket.words.iter().map(move |&w| (b, w)))
                .filter(|&(b, w)| {
                    w != EMPTY && (hash(w & KEY_BITS) >> table.bucket_shift) as usize != b
                })
                .count();
        }
        assert!(
            spilled > 0,
            "no pattern overflowed its home bucket: the test misses that path"
        );
    }

    #[test]
    fn tail_masks_cover_the_tail_bytes() {
        assert_eq!(tail_mask(0), 0);
        assert_eq!(tail_mask(0x41), 0xFF);
        assert_eq!(tail_mask(0x80), 0xFF);
        assert_eq!(tail_mask(0xE5_8C_97), 0xFF_FFFF);
        assert_eq!(tail_mask(u64::from_le_bytes(*b"abcdefgh")), u64::MAX);
        assert_eq!(tail_mask(0x0101_0101_0101_0101), u64::MAX);
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
        let s = Scanner::new(&patterns).unwrap();
        let hay: String = (0..400u32)
            .map(|i| char::from_u32(0x4e00 + (i * 7919) % 60).unwrap())
            .collect();
        assert_eq!(scanned(&s, &hay), naive(&patterns, &hay));
    }
}
