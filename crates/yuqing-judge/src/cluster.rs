//! Online clustering of original posts into events (事件聚类).
//!
//! Each independent original post (reposts and comments join their root's event through the
//! repost tree, not here) is turned into a term vector ([`terms`]: jieba words minus stop
//! words, weighted `tf × idf` with the dictionary IDF of [`crate::words::dict_idf`] so that
//! names of places and people weigh more than 发生 or 事故, L2-normalised, the `max_terms`
//! heaviest kept). [`Clusterer::assign`] finds the live event whose centroid is most
//! similar (cosine) and returns it when the similarity reaches the threshold; the caller
//! then creates or joins the event in the store and calls [`Clusterer::add`].
//!
//! The clusterer only holds live events: an event whose last member is older than
//! `window_hours` (measured against the latest time seen) is dropped from memory. Candidate
//! events come from an inverted index term → live events, so a post is compared only with
//! events that share a term with it. Event ids belong to the caller (the store's ids).

use std::collections::{BTreeSet, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

use serde::{Deserialize, Serialize};

use crate::error::JudgeError;
use crate::words::{self, clean_into, dict_idf};

/// Clustering settings (`[judge.cluster]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ClusterSettings {
    /// Hours after its last member an event stops accepting posts (72).
    pub window_hours: u32,
    /// Cosine similarity needed to join an event, 0–1 (0.5).
    pub threshold: f64,
    /// Terms kept per post (24).
    pub max_terms: usize,
    /// Posts with fewer terms never cluster (4).
    pub min_terms: usize,
}

impl Default for ClusterSettings {
    fn default() -> Self {
        ClusterSettings {
            window_hours: 72,
            threshold: 0.5,
            max_terms: 24,
            min_terms: 4,
        }
    }
}

impl ClusterSettings {
    /// Rejects a threshold outside (0, 1], a zero window and `max_terms < min_terms`.
    pub fn validate(&self) -> Result<(), JudgeError> {
        if !(self.threshold > 0.0 && self.threshold <= 1.0) {
            return Err(JudgeError::BadSetting {
                key: "threshold",
                value: self.threshold.to_string(),
                zh: "相似度阈值应在 0 与 1 之间（不含 0）",
                en: "the similarity threshold must be in (0, 1]",
            });
        }
        if self.window_hours == 0 {
            return Err(JudgeError::BadSetting {
                key: "window_hours",
                value: "0".into(),
                zh: "窗口至少 1 小时",
                en: "the window must be at least 1 hour",
            });
        }
        if self.max_terms == 0 || self.max_terms < self.min_terms {
            return Err(JudgeError::BadSetting {
                key: "max_terms",
                value: self.max_terms.to_string(),
                zh: "应不小于 1 且不小于 min_terms",
                en: "it must be at least 1 and at least min_terms",
            });
        }
        Ok(())
    }
}

/// `哈尔滨市` → `哈尔滨`, `江西省` → `江西`: jieba keeps or drops the suffix depending on
/// the context, and the same place must give the same term.
fn fold_admin_suffix(w: &str) -> &str {
    match w.strip_suffix(['市', '省']) {
        Some(stem) if stem.chars().count() >= 2 => stem,
        _ => w,
    }
}

/// The term vector of a normalised text with the default `max_terms` (24); see
/// [`terms_with`].
pub fn terms(norm_text: &str) -> Vec<(String, f32)> {
    terms_with(norm_text, ClusterSettings::default().max_terms)
}

/// The term vector of a normalised text: at most `max_terms` `(word, weight)` pairs,
/// heaviest first (ties by word), weights `tf × idf` scaled to unit length. Words come from
/// jieba's search mode (`哈尔滨市道里区` also yields `哈尔滨`) so that posts which
/// segment differently still share terms.
pub fn terms_with(norm_text: &str, max_terms: usize) -> Vec<(String, f32)> {
    let mut cleaned = String::new();
    clean_into(norm_text, &mut cleaned);
    let mut tf: HashMap<&str, u32> = HashMap::new();
    for t in words::jieba().cut_for_search(&cleaned, false) {
        if words::keep_word(t.word) {
            *tf.entry(fold_admin_suffix(t.word)).or_default() += 1;
        }
    }
    let mut v: Vec<(&str, f64)> = tf
        .into_iter()
        .map(|(w, c)| (w, f64::from(c) * dict_idf(w)))
        .collect();
    v.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    v.truncate(max_terms);
    let norm = v.iter().map(|(_, w)| w * w).sum::<f64>().sqrt();
    if norm <= 0.0 {
        return Vec::new();
    }
    v.into_iter()
        .map(|(w, x)| (w.to_owned(), (x / norm) as f32))
        .collect()
}

/// Hasher for the small integer keys of the clusterer's maps (term ids, slots, event ids):
/// one multiplication instead of SipHash, which dominated the scoring loop.
#[derive(Debug, Default, Clone, Copy)]
struct IdHasher(u64);

impl Hasher for IdHasher {
    fn finish(&self) -> u64 {
        self.0
    }
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(5) ^ u64::from(b)).wrapping_mul(0x517c_c1b7_2722_0a95);
        }
    }
    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }
    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn write_i64(&mut self, n: i64) {
        self.write_u64(n as u64);
    }
}

type IdMap<K, V> = HashMap<K, V, BuildHasherDefault<IdHasher>>;

#[derive(Debug, Clone)]
struct Event {
    id: i64,
    /// Sum of the members' unit vectors, by term id.
    centroid: IdMap<u32, f32>,
    norm2: f64,
    last_ms: i64,
    members: u64,
}

/// The online clusterer. Not thread-safe by design: one per pipeline, fed in time order.
///
/// Terms are interned to small ids while some live event uses them; events live in slots;
/// the inverted index maps a term id to the slots of the live events whose centroid has
/// it. Scoring a post touches only those slots, with dense scratch arrays.
#[derive(Debug, Clone)]
pub struct Clusterer {
    settings: ClusterSettings,
    vocab: HashMap<String, u32>,
    term_names: Vec<String>,
    postings: Vec<Vec<u32>>,
    free_terms: Vec<u32>,
    slots: Vec<Option<Event>>,
    free_slots: Vec<u32>,
    by_id: IdMap<i64, u32>,
    /// (last member time, event id), for expiry.
    expiry: BTreeSet<(i64, i64)>,
    /// Latest time seen.
    watermark: i64,
    /// Scratch: dot product per slot, and the slots touched.
    dots: Vec<f64>,
    touched: Vec<u32>,
}

fn unit(terms: &[(String, f32)]) -> Option<(f64, impl Iterator<Item = (&str, f64)>)> {
    let norm = terms
        .iter()
        .map(|(_, w)| f64::from(*w) * f64::from(*w))
        .sum::<f64>()
        .sqrt();
    (norm > 0.0 && norm.is_finite()).then(|| {
        (
            norm,
            terms
                .iter()
                .map(move |(t, w)| (t.as_str(), f64::from(*w) / norm)),
        )
    })
}

impl Clusterer {
    /// An empty clusterer. Settings are used as given (see [`ClusterSettings::validate`]).
    pub fn new(settings: ClusterSettings) -> Self {
        Clusterer {
            settings,
            vocab: HashMap::new(),
            term_names: Vec::new(),
            postings: Vec::new(),
            free_terms: Vec::new(),
            slots: Vec::new(),
            free_slots: Vec::new(),
            by_id: IdMap::default(),
            expiry: BTreeSet::new(),
            watermark: i64::MIN,
            dots: Vec::new(),
            touched: Vec::new(),
        }
    }

    pub fn settings(&self) -> &ClusterSettings {
        &self.settings
    }

    /// [`terms_with`] this clusterer's `max_terms`.
    pub fn terms(&self, norm_text: &str) -> Vec<(String, f32)> {
        terms_with(norm_text, self.settings.max_terms)
    }

    /// Number of live events.
    pub fn len(&self) -> usize {
        self.by_id.len()
    }

    /// Whether no event is live.
    pub fn is_empty(&self) -> bool {
        self.by_id.is_empty()
    }

    /// Whether `event_id` is live.
    pub fn contains(&self, event_id: i64) -> bool {
        self.by_id.contains_key(&event_id)
    }

    /// Members added to a live event so far (in this process).
    pub fn members(&self, event_id: i64) -> Option<u64> {
        self.event(event_id).map(|e| e.members)
    }

    fn event(&self, event_id: i64) -> Option<&Event> {
        let slot = *self.by_id.get(&event_id)?;
        self.slots.get(slot as usize)?.as_ref()
    }

    fn window_ms(&self) -> i64 {
        i64::from(self.settings.window_hours).saturating_mul(3_600_000)
    }

    /// Advances the clock to `now_ms` (never backwards) and drops the events whose last
    /// member is older than the window.
    pub fn expire(&mut self, now_ms: i64) {
        self.watermark = self.watermark.max(now_ms);
        let cutoff = self.watermark.saturating_sub(self.window_ms());
        while let Some(&(last, id)) = self.expiry.first() {
            if last >= cutoff {
                break;
            }
            self.expiry.pop_first();
            self.remove(id);
        }
    }

    /// Forgets an event (e.g. merged or closed by a person). Returns whether it was live.
    pub fn remove(&mut self, event_id: i64) -> bool {
        let Some(slot) = self.by_id.remove(&event_id) else {
            return false;
        };
        let Some(ev) = self.slots.get_mut(slot as usize).and_then(Option::take) else {
            return false;
        };
        self.free_slots.push(slot);
        self.expiry.remove(&(ev.last_ms, event_id));
        for &tid in ev.centroid.keys() {
            self.unindex(tid, slot);
        }
        true
    }

    fn intern(&mut self, term: &str) -> u32 {
        if let Some(&tid) = self.vocab.get(term) {
            return tid;
        }
        let tid = match self.free_terms.pop() {
            Some(tid) => {
                self.term_names[tid as usize] = term.to_owned();
                tid
            }
            None => {
                self.term_names.push(term.to_owned());
                self.postings.push(Vec::new());
                (self.term_names.len() - 1) as u32
            }
        };
        self.vocab.insert(term.to_owned(), tid);
        tid
    }

    fn unindex(&mut self, tid: u32, slot: u32) {
        let Some(list) = self.postings.get_mut(tid as usize) else {
            return;
        };
        if let Some(i) = list.iter().position(|&s| s == slot) {
            list.swap_remove(i);
        }
        if list.is_empty() {
            let name = std::mem::take(&mut self.term_names[tid as usize]);
            self.vocab.remove(&name);
            self.free_terms.push(tid);
        }
    }

    /// The most similar live event and its cosine similarity, if it reaches the threshold
    /// (ties: the smaller id). `None` for posts with fewer than `min_terms` terms.
    pub fn assign(&mut self, terms: &[(String, f32)], at_ms: i64) -> Option<(i64, f64)> {
        self.expire(at_ms);
        if terms.len() < self.settings.min_terms.max(1) {
            return None;
        }
        let (_, doc) = unit(terms)?;
        self.dots.resize(self.slots.len(), 0.0);
        for (t, w) in doc {
            let Some(&tid) = self.vocab.get(t) else {
                continue;
            };
            for &slot in &self.postings[tid as usize] {
                let c = self.slots[slot as usize]
                    .as_ref()
                    .and_then(|e| e.centroid.get(&tid))
                    .copied()
                    .unwrap_or(0.0);
                let d = &mut self.dots[slot as usize];
                if *d == 0.0 {
                    self.touched.push(slot);
                }
                *d += w * f64::from(c);
            }
        }
        let cutoff = at_ms.saturating_sub(self.window_ms());
        let mut best: Option<(i64, f64)> = None;
        for slot in self.touched.drain(..) {
            let dot = std::mem::take(&mut self.dots[slot as usize]);
            let Some(ev) = self.slots[slot as usize].as_ref() else {
                continue;
            };
            if ev.last_ms < cutoff || ev.norm2 <= 0.0 || dot == 0.0 {
                continue;
            }
            let sim = (dot / ev.norm2.sqrt()).clamp(0.0, 1.0);
            let better = match best {
                None => true,
                Some((bid, bs)) => sim > bs || (sim == bs && ev.id < bid),
            };
            if better {
                best = Some((ev.id, sim));
            }
        }
        best.filter(|&(_, s)| s >= self.settings.threshold)
    }

    /// Adds a member to `event_id` (creating the event if it is not live) at `at_ms`.
    pub fn add(&mut self, event_id: i64, terms: &[(String, f32)], at_ms: i64) {
        let slot = match self.by_id.get(&event_id) {
            Some(&slot) => slot,
            None => {
                let ev = Event {
                    id: event_id,
                    centroid: IdMap::default(),
                    norm2: 0.0,
                    last_ms: at_ms,
                    members: 0,
                };
                let slot = match self.free_slots.pop() {
                    Some(slot) => {
                        self.slots[slot as usize] = Some(ev);
                        slot
                    }
                    None => {
                        self.slots.push(Some(ev));
                        (self.slots.len() - 1) as u32
                    }
                };
                self.by_id.insert(event_id, slot);
                self.expiry.insert((at_ms, event_id));
                slot
            }
        };
        let tids: Vec<(u32, f64)> = match unit(terms) {
            Some((_, doc)) => doc
                .collect::<Vec<_>>()
                .into_iter()
                .map(|(t, w)| (self.intern(t), w))
                .collect(),
            None => Vec::new(),
        };
        let Some(ev) = self.slots[slot as usize].as_mut() else {
            return;
        };
        self.expiry.remove(&(ev.last_ms, event_id));
        ev.last_ms = ev.last_ms.max(at_ms);
        ev.members += 1;
        self.expiry.insert((ev.last_ms, event_id));
        for (tid, w) in tids {
            match ev.centroid.get_mut(&tid) {
                Some(c) => {
                    let old = f64::from(*c);
                    *c = (old + w) as f32;
                    ev.norm2 += (old + w) * (old + w) - old * old;
                }
                None => {
                    ev.centroid.insert(tid, w as f32);
                    ev.norm2 += w * w;
                    self.postings[tid as usize].push(slot);
                }
            }
        }
        // Keep centroids bounded: drop the lightest terms of big ones.
        let cap = self.settings.max_terms.max(1) * 8;
        let mut dropped = Vec::new();
        if ev.centroid.len() > cap {
            let keep = self.settings.max_terms.max(1) * 4;
            let mut all: Vec<(u32, f32)> = ev.centroid.drain().collect();
            all.sort_unstable_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
            dropped = all.split_off(keep.min(all.len()));
            ev.norm2 = all.iter().map(|(_, w)| f64::from(*w).powi(2)).sum();
            ev.centroid = all.into_iter().collect();
        }
        for (tid, _) in dropped {
            self.unindex(tid, slot);
        }
        self.expire(at_ms);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const H: i64 = 3_600_000;

    /// Feeds posts in order; returns the event id each one got (new events get 1, 2, ...).
    fn run(c: &mut Clusterer, texts: &[&str], step_ms: i64) -> Vec<i64> {
        let mut next = 1;
        let mut out = Vec::new();
        for (i, t) in texts.iter().enumerate() {
            let at = i as i64 * step_ms;
            let terms = c.terms(t);
            let id = match c.assign(&terms, at) {
                Some((id, sim)) => {
                    assert!((0.5..=1.0).contains(&sim), "{t}: {sim}");
                    id
                }
                None => {
                    next += 1;
                    next - 1
                }
            };
            c.add(id, &terms, at);
            out.push(id);
        }
        out
    }

    #[test]
    fn same_happenings_cluster_and_different_ones_do_not() {
        let texts = [
            "哈尔滨道里区一居民楼发生燃气爆炸,已造成3人受伤",
            "郑州金水区一餐馆发生燃气爆炸,2人受伤",
            "#江西新余火灾# 新余市渝水区一临街店铺发生火灾,已致39人遇难",
            "突发!哈尔滨道里区居民楼燃气爆炸 3人受伤送医",
            "哈尔滨冰雪大世界今日开园,游客排起长队",
            "江西新余一店铺火灾事故已造成39人死亡,9人受伤 http://t.cn/abc",
            "广东梅州一养老院发生火灾,多名老人被转移",
            "哈尔滨市道里区某小区居民楼燃气爆炸事故,受伤人员已送医救治 //@某人:太可怕了",
            "新余渝水区火灾遇难人数升至39人,当地成立事故调查组",
            "某县中学食堂发生食物中毒,30余名学生送医",
            "郑州金水区餐馆燃气爆炸事故原因正在调查",
        ];
        let mut c = Clusterer::new(ClusterSettings::default());
        let ids = run(&mut c, &texts, 60_000);
        let harbin = ids[0];
        let zhengzhou = ids[1];
        let xinyu = ids[2];
        assert_eq!([ids[3], ids[7]], [harbin, harbin], "{ids:?}");
        assert_eq!([ids[5], ids[8]], [xinyu, xinyu], "{ids:?}");
        assert_eq!(ids[10], zhengzhou, "{ids:?}");
        let distinct: std::collections::BTreeSet<i64> = ids.iter().copied().collect();
        // 哈尔滨爆炸, 郑州爆炸, 新余火灾, 冰雪大世界, 梅州火灾, 食物中毒.
        assert_eq!(distinct.len(), 6, "{ids:?}");
        assert_eq!(c.len(), 6);
        assert_eq!(c.members(harbin), Some(3));
    }

    #[test]
    fn short_texts_never_cluster() {
        let mut c = Clusterer::new(ClusterSettings::default());
        let t = c.terms("燃气爆炸了!");
        assert!(t.len() < 4, "{t:?}");
        c.add(1, &t, 0);
        assert_eq!(c.assign(&t, 1), None);
        assert!(c.terms("").is_empty());
        assert!(c.terms("转发微博 //@张三: 哈哈").is_empty());
    }

    #[test]
    fn terms_are_weighted_unit_vectors() {
        let t = terms_with("哈尔滨市道里区一居民楼发生燃气爆炸,哈尔滨消防赶到现场", 5);
        assert_eq!(terms("哈尔滨市道里区一居民楼发生燃气爆炸").len(), 7);
        assert_eq!(t.len(), 5);
        let norm: f32 = t.iter().map(|(_, w)| w * w).sum();
        assert!((norm - 1.0).abs() < 1e-4);
        assert!(t.windows(2).all(|w| w[0].1 >= w[1].1));
        assert!(t.iter().any(|(w, _)| w == "哈尔滨"), "{t:?}");
        assert!(t.iter().all(|(w, _)| w != "发生" && w != "一"), "{t:?}");
    }

    #[test]
    fn events_expire_after_the_window() {
        let s = ClusterSettings {
            window_hours: 2,
            ..Default::default()
        };
        let mut c = Clusterer::new(s);
        let a = c.terms("哈尔滨道里区一居民楼发生燃气爆炸,已造成3人受伤");
        let b = c.terms("突发!哈尔滨道里区居民楼燃气爆炸 3人受伤送医");
        c.add(7, &a, 0);
        assert_eq!(c.assign(&b, 2 * H).map(|r| r.0), Some(7));
        // A member at 1 h keeps it alive until 3 h.
        c.add(7, &b, H);
        assert_eq!(c.assign(&b, 3 * H).map(|r| r.0), Some(7));
        assert_eq!(c.assign(&b, 3 * H + 1), None);
        assert!(c.is_empty());
        assert!(c.vocab.is_empty());
        assert!(c.postings.iter().all(Vec::is_empty));
    }

    #[test]
    fn remove_and_candidates_from_the_index() {
        let mut c = Clusterer::new(ClusterSettings::default());
        let a = c.terms("哈尔滨道里区一居民楼发生燃气爆炸,已造成3人受伤");
        let other = c.terms("广东梅州一养老院发生火灾,多名老人被转移");
        for id in 0..1000 {
            c.add(id + 100, &other, 0);
        }
        c.add(1, &a, 0);
        assert_eq!(c.assign(&a, 0).map(|r| r.0), Some(1));
        assert!(c.remove(1));
        assert!(!c.remove(1));
        assert_eq!(c.assign(&a, 0), None);
        assert!(!c.vocab.contains_key("道里区"));
    }

    #[test]
    fn centroids_stay_bounded() {
        let s = ClusterSettings {
            max_terms: 4,
            min_terms: 1,
            ..Default::default()
        };
        let mut c = Clusterer::new(s);
        for i in 0..100 {
            let t = vec![(format!("词{i}"), 1.0f32), ("共同".to_owned(), 1.0)];
            c.add(1, &t, i);
        }
        let ev = c.event(1).unwrap();
        assert!(ev.centroid.len() <= 32);
        assert!(ev.centroid.contains_key(&c.vocab["共同"]));
        assert!(c.vocab.len() <= 32);
        let t = vec![("共同".to_owned(), 1.0f32)];
        assert_eq!(c.assign(&t, 100).map(|r| r.0), Some(1));
    }

    #[test]
    fn settings() {
        assert!(ClusterSettings::default().validate().is_ok());
        let s: ClusterSettings = toml::from_str("threshold = 0.6").unwrap();
        assert_eq!(
            (s.window_hours, s.threshold, s.max_terms, s.min_terms),
            (72, 0.6, 24, 4)
        );
        assert!(toml::from_str::<ClusterSettings>("treshold = 0.6").is_err());
        for bad in [
            ClusterSettings {
                threshold: 0.0,
                ..Default::default()
            },
            ClusterSettings {
                threshold: 1.5,
                ..Default::default()
            },
            ClusterSettings {
                window_hours: 0,
                ..Default::default()
            },
            ClusterSettings {
                max_terms: 2,
                ..Default::default()
            },
        ] {
            assert!(bad.validate().is_err(), "{bad:?}");
        }
    }
}
