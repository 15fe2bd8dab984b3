//! Feature extraction for the sentiment model: normalised text → sparse hashed vector.
//!
//! Steps for one text (all on [`crate::normalize`]d text):
//!
//! 1. **Repost chain.** The text is cut at the first `//@`. The part before it is the
//!    author's own comment; the rest is the quoted chain. When the own part has content
//!    (not empty, not only punctuation, not Weibo's default `转发微博`), chain features get
//!    the weight [`FeatureConfig::chain_weight`]; otherwise the chain is all there is and
//!    gets weight 1.
//! 2. **Units.** Each segment becomes a sequence of units: one per ideograph, emoji or
//!    punctuation mark (runs of the same mark capped at 2), one per Latin word, one for any
//!    digit run, one for a URL. `@name` mentions are dropped. Weibo emoticon tags such as
//!    `[泪]` or `[哈哈]` are whole tokens: they give a `TAG` feature and end the clause.
//! 3. **Features**, each hashed (64-bit) and kept once per text with the largest segment
//!    weight: unit n-grams for n = 1..=[`FeatureConfig::max_ngram`] with segment start/end
//!    markers; negation-scoped unigrams and bigrams (`NEG_`) for the units that follow a
//!    negator (不, 没, 无, 非, 别, 未, 莫, 勿 …, except fixed words such as 不错, 不过, 非常)
//!    up to [`FeatureConfig::neg_scope`] units or the end of the clause; degree markers
//!    (非常/很/太… strong, 有点/稍微… weak) joined to the next unit and bigram, flagged
//!    separately when inside a negation scope (不太好); emoticon tags (value ×
//!    [`FeatureConfig::tag_weight`]); with [`FeatureConfig::contrast`], `BUT_` unigrams and
//!    bigrams for the rest of the sentence after 但是, 可是, 不过, 就是, 只是 …; with
//!    [`FeatureConfig::last_clause`], `LAST_` unigrams and bigrams of the last clause;
//!    with [`FeatureConfig::skip_grams`], skip bigrams (unit i, unit i+2) of content units.
//!    A segment with no content unit (only punctuation, mentions or URLs) gives nothing.
//! 4. **Hashing.** Each 64-bit feature hash picks a bucket (`2^bits`) and a sign (the
//!    hashing trick with signs, so collisions cancel on average). Values are the segment
//!    weight; the vector is optionally scaled to unit L2 norm. Features are de-duplicated
//!    by hash in a reused open-addressing table (no sorting); two features that share a
//!    bucket stay two entries (feature version 2; version 1 merged them).
//!
//! The hash function is part of the model file format: changing anything here that alters
//! the buckets needs a new [`FEATURE_VERSION`].

use serde::{Deserialize, Serialize};

/// Version of the feature extraction. Stored in the model header and checked on load.
pub const FEATURE_VERSION: u32 = 2;

/// Settings of the feature extraction. Stored in the model file so that a model is always
/// read with the features it was trained with.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FeatureConfig {
    /// log2 of the number of hash buckets (weights).
    pub bits: u8,
    /// Longest unit n-gram.
    pub max_ngram: u8,
    /// How many units after a negator are in its scope (the clause end stops it earlier).
    pub neg_scope: u8,
    /// Weight of the quoted repost chain when the author's own comment is not empty.
    pub chain_weight: f32,
    /// Scale each vector to unit L2 norm.
    pub l2_normalize: bool,
    /// Extra features (`BUT_` unigrams and bigrams) for the rest of the sentence after a
    /// contrast word (但是, 可是, 不过, 就是, 只是, 可惜, 却 …).
    pub contrast: bool,
    /// Extra features (`LAST_` unigrams and bigrams) for the last clause of a segment.
    pub last_clause: bool,
    /// Value multiplier of emoticon tag features.
    pub tag_weight: f32,
    /// Skip bigrams (unit i, unit i+2) of content units.
    #[serde(default)]
    pub skip_grams: bool,
}

impl Default for FeatureConfig {
    fn default() -> Self {
        Self {
            bits: 21,
            max_ngram: 3,
            neg_scope: 4,
            chain_weight: 0.5,
            l2_normalize: true,
            contrast: true,
            last_clause: false,
            tag_weight: 2.0,
            skip_grams: false,
        }
    }
}

// Namespaces: the first value fed to the hash of a feature.
const NS_NGRAM: u64 = 0x6e67_0000; // + n
const NS_NEG1: u64 = 0x6e65_6701;
const NS_NEG2: u64 = 0x6e65_6702;
const NS_DEG_STRONG: u64 = 0x6465_6701;
const NS_DEG_WEAK: u64 = 0x6465_6702;
const NS_DEG_NEG: u64 = 0x6465_6703;
const NS_TAG: u64 = 0x7461_6701;
const NS_NEG_ANY: u64 = 0x6e65_6703;
const NS_BUT1: u64 = 0x6275_7401;
const NS_BUT2: u64 = 0x6275_7402;
const NS_LAST1: u64 = 0x6c61_7301;
const NS_LAST2: u64 = 0x6c61_7302;
const NS_SKIP: u64 = 0x736b_6901;

// Units that are not characters (characters are their code point, < 0x11_0000).
const U_WORD: u64 = 1 << 40; // | hash of the word (low 32 bits)
const U_DIGITS: u64 = (1 << 41) | 1;
const U_URL: u64 = (1 << 41) | 2;
const U_BOS: u64 = (1 << 41) | 3;
const U_EOS: u64 = (1 << 41) | 4;
const U_TAG: u64 = (1 << 41) | 5;

#[inline]
fn mix(mut x: u64) -> u64 {
    // MurmurHash3's 64-bit finaliser: stable, fast, good avalanche.
    x ^= x >> 33;
    x = x.wrapping_mul(0xff51_afd7_ed55_8ccd);
    x ^= x >> 33;
    x = x.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    x ^= x >> 33;
    x
}

#[inline]
fn h2(a: u64, b: u64) -> u64 {
    mix(a.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ b)
}

fn hash_str(ns: u64, s: &str) -> u64 {
    let mut h = mix(ns);
    for b in s.bytes() {
        h = h2(h, b as u64);
    }
    h
}

/// Reusable buffers for [`extract`].
#[derive(Default)]
pub struct Scratch {
    norm: String,
    units: Vec<u64>,
    /// true where a unit ends a clause (negation scopes stop there).
    breaks: Vec<bool>,
    tags: Vec<u64>,
    raw: FeatSet,
    out: Vec<(u32, f32)>,
}

/// The features of one text, each 64-bit hash once with its largest value: a vector in
/// first-seen order plus an open-addressing table of indices (no sorting).
#[derive(Default)]
struct FeatSet {
    entries: Vec<(u64, f32)>,
    /// Index + 1 into `entries`, 0 = empty. Length a power of two (or 0).
    table: Vec<u32>,
}

impl FeatSet {
    #[inline]
    fn slot(&self, h: u64) -> usize {
        (h >> 17) as usize & (self.table.len() - 1)
    }

    #[inline]
    fn push(&mut self, (h, w): (u64, f32)) {
        if self.entries.len() * 2 >= self.table.len() {
            self.grow();
        }
        let mask = self.table.len() - 1;
        let mut i = self.slot(h);
        loop {
            let e = self.table[i];
            if e == 0 {
                self.entries.push((h, w));
                self.table[i] = self.entries.len() as u32;
                return;
            }
            let entry = &mut self.entries[e as usize - 1];
            if entry.0 == h {
                if w > entry.1 {
                    entry.1 = w;
                }
                return;
            }
            i = (i + 1) & mask;
        }
    }

    #[cold]
    fn grow(&mut self) {
        let n = (self.table.len() * 2).max(1024);
        self.table.clear();
        self.table.resize(n, 0);
        for k in 0..self.entries.len() {
            let mut i = self.slot(self.entries[k].0);
            while self.table[i] != 0 {
                i = (i + 1) & (n - 1);
            }
            self.table[i] = k as u32 + 1;
        }
    }

    fn clear(&mut self) {
        if self.entries.len() * 8 < self.table.len() {
            for k in 0..self.entries.len() {
                let mut i = self.slot(self.entries[k].0);
                while self.table[i] != k as u32 + 1 {
                    i = (i + 1) & (self.table.len() - 1);
                }
                self.table[i] = 0;
            }
        } else {
            self.table.iter_mut().for_each(|e| *e = 0);
        }
        self.entries.clear();
    }
}

const NEGATORS: &[char] = &[
    '不', '没', '无', '非', '别', '未', '莫', '勿', '甭', '毋', '否',
];

/// Words starting with a negator character that are not negations.
const NOT_NEGATIONS: &[&str] = &[
    "不错",
    "不过",
    "不仅",
    "不但",
    "不管",
    "不论",
    "不少",
    "不断",
    "不停",
    "不久",
    "不愧",
    "不禁",
    "不由",
    "不得不",
    "不然",
    "不只",
    "不光",
    "不一会",
    "无论",
    "无比",
    "无敌",
    "无限",
    "无疑",
    "无数",
    "无微不至",
    "非常",
    "非得",
    "非要",
    "别人",
    "别的",
    "别处",
    "别家",
    "别墅",
    "未来",
    "莫名",
    "没想到",
    "否则",
    "无线",
    "无奈",
    "不客气",
];

const DEG_STRONG: &[&str] = &[
    "非常",
    "很",
    "太",
    "特别",
    "十分",
    "极其",
    "极度",
    "极",
    "超级",
    "超",
    "巨",
    "贼",
    "最",
    "相当",
    "真",
    "挺",
    "蛮",
    "格外",
    "异常",
    "实在",
    "越来越",
    "如此",
    "这么",
    "那么",
    "好不",
    "简直",
    "完全",
    "绝对",
    "确实",
    "真的",
    "尤其",
    "更",
];
const CONTRAST: &[&str] = &[
    "但是", "但", "可是", "不过", "然而", "就是", "只是", "可惜", "却", "而是", "无奈",
];

/// Units that end a sentence (contrast scopes stop there).
#[inline]
fn is_sentence_end(u: u64) -> bool {
    matches!(
        char::from_u32(u as u32),
        Some('。' | '!' | '?' | '.' | ';' | '；' | '！' | '？' | '…')
    ) && u < 0x11_0000
        || u == U_TAG
}

const DEG_WEAK: &[&str] = &[
    "有点",
    "有些",
    "有一点",
    "稍微",
    "稍",
    "略微",
    "略",
    "比较",
    "还算",
    "还",
    "一点",
    "偏",
];

/// True when `s` is a Weibo own-comment with no content of its own.
fn is_empty_comment(s: &str) -> bool {
    let t = s.trim_matches(|c: char| c.is_whitespace() || !c.is_alphanumeric());
    t.is_empty() || t == "转发微博" || t == "repost" || t == "轉發微博"
}

/// Splits normalised text into (own comment, quoted chain).
pub fn split_repost(norm: &str) -> (&str, &str) {
    match norm.find("//@") {
        Some(i) => (&norm[..i], &norm[i..]),
        None => (norm, ""),
    }
}

/// Sparse feature vector of `text` (raw, not yet normalised): one entry per distinct
/// feature, in extraction order (two features that share a bucket give two entries). The
/// returned slice lives in `scratch`.
pub fn extract<'s>(cfg: &FeatureConfig, text: &str, scratch: &'s mut Scratch) -> &'s [(u32, f32)] {
    let mut norm = std::mem::take(&mut scratch.norm);
    crate::normalize_into(text, &mut norm);
    scratch.raw.clear();
    let (own, chain) = split_repost(&norm);
    if chain.is_empty() || is_empty_comment(own) {
        segment_features(cfg, own, 1.0, scratch);
        segment_features(cfg, chain, 1.0, scratch);
    } else {
        segment_features(cfg, own, 1.0, scratch);
        segment_features(cfg, chain, cfg.chain_weight, scratch);
    }
    scratch.norm = norm;
    finish(cfg, scratch)
}

fn finish<'s>(cfg: &FeatureConfig, scratch: &'s mut Scratch) -> &'s [(u32, f32)] {
    let out = &mut scratch.out;
    out.clear();
    let shift = 64 - cfg.bits as u32;
    let mut sq = 0.0f32;
    for &(h, w) in scratch.raw.entries.iter() {
        let bucket = (h >> shift) as u32;
        let v = if h & 1 == 1 { w } else { -w };
        sq += v * v;
        out.push((bucket, v));
    }
    if cfg.l2_normalize && sq > 0.0 {
        let inv = 1.0 / sq.sqrt();
        for e in out.iter_mut() {
            e.1 *= inv;
        }
    }
    out
}

#[inline]
fn is_clause_break(c: char) -> bool {
    matches!(
        c,
        ',' | '.'
            | '!'
            | '?'
            | ';'
            | ':'
            | '，'
            | '。'
            | '！'
            | '？'
            | '；'
            | '：'
            | '、'
            | '~'
            | '～'
            | '…'
            | '\n'
            | '('
            | ')'
            | '（'
            | '）'
            | '"'
            | '“'
            | '”'
            | '「'
            | '」'
            | '【'
            | '】'
    )
}

/// Cuts a segment into units (see the module docs).
fn units_of(seg: &str, units: &mut Vec<u64>, breaks: &mut Vec<bool>, tags: &mut Vec<u64>) {
    units.clear();
    breaks.clear();
    let b = seg.as_bytes();
    let mut i = 0;
    while i < seg.len() {
        let rest = &seg[i..];
        let c = rest.chars().next().unwrap();
        if c == '[' {
            // Emoticon tag: [ + 1..=10 chars without brackets/space + ].
            if let Some(end) = rest[1..].find(']') {
                let name = &rest[1..1 + end];
                let n = name.chars().count();
                if (1..=10).contains(&n) && !name.contains(['[', ' ']) {
                    tags.push(hash_str(NS_TAG, name));
                    units.push(U_TAG);
                    breaks.push(true);
                    i += end + 2;
                    continue;
                }
            }
        }
        if c == '@' {
            // Mention: skip the name (up to space, punctuation or another @).
            i += 1;
            while i < seg.len() {
                let d = seg[i..].chars().next().unwrap();
                if d.is_alphanumeric() || d == '-' || d == '_' {
                    i += d.len_utf8();
                } else {
                    break;
                }
            }
            if i < seg.len() && (b[i] == b':' || b[i] == b' ') {
                i += 1;
            }
            continue;
        }
        if c == 'h' && (rest.starts_with("http://") || rest.starts_with("https://")) {
            let end = rest
                .find(|d: char| !(d.is_ascii_alphanumeric() || "/:.?=&%-_#~+".contains(d)))
                .unwrap_or(rest.len());
            i += end;
            units.push(U_URL);
            breaks.push(false);
            continue;
        }
        if c.is_ascii_alphabetic() {
            let end = rest
                .find(|d: char| !d.is_ascii_alphanumeric())
                .unwrap_or(rest.len());
            units.push(U_WORD | (hash_str(U_WORD, &rest[..end]) & 0xffff_ffff));
            breaks.push(false);
            i += end;
            continue;
        }
        if c.is_ascii_digit() {
            let end = rest
                .find(|d: char| !(d.is_ascii_digit() || d == '.'))
                .unwrap_or(rest.len());
            units.push(U_DIGITS);
            breaks.push(false);
            i += end;
            continue;
        }
        i += c.len_utf8();
        if c.is_whitespace() {
            continue;
        }
        let u = c as u64;
        if !(0x4E00..=0x9FFF).contains(&u) && !c.is_alphanumeric() {
            // Cap runs of the same mark at 2.
            let n = units.len();
            if n >= 2 && units[n - 1] == u && units[n - 2] == u {
                continue;
            }
        }
        units.push(u);
        breaks.push(is_clause_break(c));
    }
}

/// True for units that carry meaning on their own: ideographs, letters, words, digits,
/// emoji and symbols (not punctuation, not URLs).
fn is_content(u: u64) -> bool {
    if (0x4E00..=0x9FFF).contains(&u) {
        return true; // common CJK ideographs (the usual case)
    }
    if u == U_DIGITS || u & U_WORD != 0 && u & (1 << 41) == 0 {
        return true;
    }
    match char::from_u32(u as u32) {
        Some(c) if u < 0x11_0000 => {
            c.is_alphanumeric() || matches!(c, '\u{2600}'..='\u{27BF}' | '\u{1F000}'..)
        }
        _ => false,
    }
}

/// A fixed word list, prepared for fast longest-match lookups on units: a bitmap of the
/// first characters rejects most positions at once.
struct WordList {
    mask: [u64; 64],
    /// (units of the word, its length), longest first.
    words: Vec<(Vec<u64>, usize)>,
}

impl WordList {
    fn new(list: &[&str]) -> WordList {
        let mut mask = [0u64; 64];
        let mut words: Vec<(Vec<u64>, usize)> = list
            .iter()
            .map(|w| {
                let u: Vec<u64> = w.chars().map(|c| c as u64).collect();
                let n = u.len();
                (u, n)
            })
            .collect();
        for (u, _) in &words {
            let b = (u[0] & 4095) as usize;
            mask[b >> 6] |= 1 << (b & 63);
        }
        // Longest first, so the first hit is the longest match.
        words.sort_by_key(|w| std::cmp::Reverse(w.1));
        WordList { mask, words }
    }

    /// Length (in units) of the longest word of the list starting at `units[at]`.
    #[inline]
    fn longest(&self, units: &[u64], at: usize) -> Option<usize> {
        let u = units[at];
        let b = (u & 4095) as usize;
        if self.mask[b >> 6] & (1 << (b & 63)) == 0 {
            return None;
        }
        let rest = &units[at..];
        self.words
            .iter()
            .find(|(w, n)| rest.len() >= *n && w.iter().zip(rest).all(|(a, b)| a == b))
            .map(|&(_, n)| n)
    }
}

struct Lists {
    not_negations: WordList,
    strong: WordList,
    weak: WordList,
    contrast: WordList,
}

fn lists() -> &'static Lists {
    static L: std::sync::OnceLock<Lists> = std::sync::OnceLock::new();
    L.get_or_init(|| Lists {
        not_negations: WordList::new(NOT_NEGATIONS),
        strong: WordList::new(DEG_STRONG),
        weak: WordList::new(DEG_WEAK),
        contrast: WordList::new(CONTRAST),
    })
}

#[inline]
fn is_negator(u: u64) -> bool {
    u < 0x11_0000 && NEGATORS.contains(&char::from_u32(u as u32).unwrap_or('\0'))
}

fn segment_features(cfg: &FeatureConfig, seg: &str, weight: f32, scratch: &mut Scratch) {
    if seg.is_empty() || weight <= 0.0 {
        return;
    }
    let mut units = std::mem::take(&mut scratch.units);
    let mut breaks = std::mem::take(&mut scratch.breaks);
    let mut tags = std::mem::take(&mut scratch.tags);
    tags.clear();
    units_of(seg, &mut units, &mut breaks, &mut tags);
    if tags.is_empty() && !units.iter().any(|&u| is_content(u)) {
        // Only punctuation (or mentions, URLs): nothing to go on.
        scratch.units = units;
        scratch.breaks = breaks;
        scratch.tags = tags;
        return;
    }
    let lists = lists();
    let raw = &mut scratch.raw;
    for &t in &tags {
        raw.push((t, weight * cfg.tag_weight));
    }
    scratch.tags = tags;
    // N-grams over BOS + units + EOS.
    let n = units.len();
    if n > 0 {
        let at = |k: usize| -> u64 {
            if k == 0 {
                U_BOS
            } else if k == n + 1 {
                U_EOS
            } else {
                units[k - 1]
            }
        };
        for start in 0..n + 2 {
            let mut h = mix(NS_NGRAM);
            for len in 1..=cfg.max_ngram as usize {
                let k = start + len - 1;
                if k >= n + 2 {
                    break;
                }
                h = h2(h, at(k));
                // Unigrams of the boundary markers carry nothing.
                if len == 1 && (k == 0 || k == n + 1) {
                    continue;
                }
                raw.push((h2(h, len as u64), weight));
            }
        }
    }
    if cfg.skip_grams {
        for j in 0..n.saturating_sub(2) {
            let (a, c) = (units[j], units[j + 2]);
            if is_content(a) && is_content(c) {
                raw.push((h2(h2(mix(NS_SKIP), a), c), weight));
            }
        }
    }
    // Contrast: the rest of the sentence after 但是 etc.
    if cfg.contrast {
        let mut k = 0;
        while k < n {
            let Some(len) = lists.contrast.longest(&units, k) else {
                k += 1;
                continue;
            };
            let start = k + len;
            let mut end = start;
            while end < n && end < start + 24 && !is_sentence_end(units[end]) {
                end += 1;
            }
            for j in start..end {
                raw.push((h2(mix(NS_BUT1), units[j]), weight));
                if j + 1 < end {
                    raw.push((h2(h2(mix(NS_BUT2), units[j]), units[j + 1]), weight));
                }
            }
            k = end.max(k + 1);
        }
    }
    // Last clause: after the last clause break that is followed by content.
    if cfg.last_clause && n > 0 {
        let mut end = n;
        while end > 0 && breaks[end - 1] {
            end -= 1;
        }
        let mut start = end;
        while start > 0 && !breaks[start - 1] {
            start -= 1;
        }
        if start > 0 {
            for j in start..end {
                raw.push((h2(mix(NS_LAST1), units[j]), weight));
                if j + 1 < end {
                    raw.push((h2(h2(mix(NS_LAST2), units[j]), units[j + 1]), weight));
                }
            }
        }
    }
    // Negation scopes and degree markers.
    let scope = cfg.neg_scope as usize;
    let mut neg_until = 0usize; // units[k] is in scope while k < neg_until
    let mut k = 0;
    while k < n {
        let u = units[k];
        let in_scope = k < neg_until;
        if is_negator(u) {
            if let Some(len) = lists.not_negations.longest(&units, k) {
                k += len;
                continue;
            }
            raw.push((mix(NS_NEG_ANY), weight));
            // Scope: next `scope` units, stopped by a clause break.
            let mut end = k + 1;
            while end < n && end <= k + scope && !breaks[end] {
                end += 1;
            }
            neg_until = end;
            for j in k + 1..end {
                raw.push((h2(mix(NS_NEG1), units[j]), weight));
                if j + 1 < end {
                    raw.push((h2(h2(mix(NS_NEG2), units[j]), units[j + 1]), weight));
                }
            }
            k += 1;
            continue;
        }
        if breaks[k] {
            neg_until = 0;
        }
        let (strong, len) = match lists.strong.longest(&units, k) {
            Some(len) => (true, len),
            None => match lists.weak.longest(&units, k) {
                Some(len) => (false, len),
                None => (false, 0),
            },
        };
        if len > 0 {
            let ns = if in_scope {
                NS_DEG_NEG
            } else if strong {
                NS_DEG_STRONG
            } else {
                NS_DEG_WEAK
            };
            let next = k + len;
            if next < n && !breaks[next] {
                let h = h2(mix(ns), units[next]);
                raw.push((h, weight));
                if next + 1 < n && !breaks[next + 1] {
                    raw.push((h2(h, units[next + 1]), weight));
                }
            }
            k += len;
            continue;
        }
        k += 1;
    }
    scratch.units = units;
    scratch.breaks = breaks;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repost_split() {
        assert_eq!(
            split_repost("好开心//@a:哈哈//@b:嗯"),
            ("好开心", "//@a:哈哈//@b:嗯")
        );
        assert_eq!(split_repost("没有转发"), ("没有转发", ""));
        assert!(is_empty_comment("转发微博"));
        assert!(is_empty_comment(" "));
        assert!(!is_empty_comment("不错"));
    }

    #[test]
    fn tags_are_whole_units() {
        let (mut u, mut b, mut t) = (vec![], vec![], vec![]);
        units_of("好[哈哈]@张三 abc 12", &mut u, &mut b, &mut t);
        assert_eq!(t, vec![hash_str(NS_TAG, "哈哈")]);
        assert_eq!(u.len(), 4); // 好, TAG, abc, digits
        assert_eq!(u[0], '好' as u64);
        assert_eq!(u[1], U_TAG);
        assert_eq!(u[3], U_DIGITS);
    }

    /// The naive longest match the word lists replaced.
    fn naive_longest(units: &[u64], at: usize, list: &[&str]) -> Option<usize> {
        list.iter()
            .filter(|w| {
                let mut rest = units[at..].iter();
                w.chars().all(|c| rest.next() == Some(&(c as u64)))
            })
            .map(|w| w.chars().count())
            .max()
    }

    #[test]
    fn word_lists_find_the_longest_match() {
        let text = "不错不过非常很好有一点点太差但是就是无论别人没想到还算稍微不得不比较好超级";
        let units: Vec<u64> = text.chars().map(|c| c as u64).collect();
        for list in [NOT_NEGATIONS, DEG_STRONG, DEG_WEAK, CONTRAST] {
            let wl = WordList::new(list);
            for at in 0..units.len() {
                assert_eq!(
                    wl.longest(&units, at),
                    naive_longest(&units, at, list),
                    "{at}"
                );
            }
        }
        let wl = WordList::new(DEG_WEAK);
        let units: Vec<u64> = "有一点".chars().map(|c| c as u64).collect();
        assert_eq!(wl.longest(&units, 0), Some(3)); // 有一点, not 有点
    }

    #[test]
    fn features_count_once_with_their_largest_weight() {
        let mut f = FeatSet::default();
        f.push((7, 0.5));
        f.push((9, 1.0));
        f.push((7, 1.0));
        f.push((7, 0.25));
        assert_eq!(f.entries, vec![(7, 1.0), (9, 1.0)]);
        // Growth keeps every entry findable.
        for h in 0..5000u64 {
            f.push((mix(h), 1.0));
        }
        f.push((7, 2.0));
        assert_eq!(f.entries.len(), 5002);
        assert_eq!(f.entries[0], (7, 2.0));
        f.clear();
        assert!(f.entries.is_empty() && f.table.iter().all(|&e| e == 0));
    }

    #[test]
    fn scratch_reuse_gives_the_same_vector() {
        let cfg = FeatureConfig::default();
        let long = "房间很干净，服务也好，但是隔音太差了。".repeat(40);
        let texts = [
            "好好好好好",
            "不满意[泪]//@a:太差了",
            long.as_str(),
            "",
            "很好",
        ];
        let mut shared = Scratch::default();
        for t in texts {
            let a = extract(&cfg, t, &mut shared).to_vec();
            let b = extract(&cfg, t, &mut Scratch::default()).to_vec();
            assert_eq!(a, b, "{t}");
            if !a.is_empty() {
                let norm: f32 = a.iter().map(|e| e.1 * e.1).sum();
                assert!((norm - 1.0).abs() < 1e-4, "{t} {norm}");
            }
        }
        // A repeated character's n-grams count once.
        let one = extract(&cfg, "好好好好好", &mut shared).len();
        let more = extract(&cfg, "好好好好好好好好", &mut shared).len();
        assert_eq!(one, more);
    }

    #[test]
    fn negation_adds_scoped_features() {
        let cfg = FeatureConfig::default();
        let mut s = Scratch::default();
        let a = extract(&cfg, "满意", &mut s).len();
        let b = extract(&cfg, "不满意", &mut s).len();
        assert!(b > a + 3, "{a} {b}");
        let c = extract(&cfg, "不错", &mut s).len();
        assert!(c < b);
    }
}
