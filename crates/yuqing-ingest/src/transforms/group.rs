//! Reprint grouping (相似文章合并): distinct items with the same or nearly the same text.
//!
//! Every item is kept (each one is spread); grouping only links them:
//! - texts with at least `min_chars` letters/ideographs are grouped globally: first by an
//!   exact content hash of the normalised text, then by SimHash within `max_distance` bits
//!   (4 bands of 16 bits: two hashes within 3 bits share at least one band exactly);
//! - shorter and empty texts (转发微博, [泪], plain reposts) are not grouped by text across the
//!   platform; they are grouped only with identical texts under the same root item.
//!
//! The grouper is state rebuilt from the store on start ([`Grouper::load`]), and decisions
//! are made in document order by the single writer, so group ids are deterministic.
//! A document that turns out not to be stored (a duplicate found at insert time) is undone
//! with [`Grouper::rollback`], so it leaves no trace.

use rustc_hash::FxHashMap as HashMap;
use yuqing_text::fingerprint::{content_key, hamming};

/// Grouping settings (`[grouping]` in the config).
#[derive(Debug, Clone, Copy, serde::Deserialize, serde::Serialize)]
#[serde(deny_unknown_fields, default)]
pub struct GroupingSettings {
    /// Texts with fewer letters/digits/ideographs than this are only grouped under their root.
    pub min_chars: usize,
    /// Largest SimHash Hamming distance for near-duplicates.
    pub max_distance: u32,
}

impl Default for GroupingSettings {
    fn default() -> Self {
        Self {
            min_chars: 20,
            max_distance: 3,
        }
    }
}

/// The decision for one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Assignment {
    pub group_id: Option<i64>,
    /// True when it joined a group founded by an earlier document.
    pub joined: bool,
    pub content_key: Option<u64>,
    /// Stored only for group founders with long text (what later documents compare to).
    pub simhash: Option<u64>,
}

/// In-memory grouping state.
#[derive(Debug, Default)]
pub struct Grouper {
    settings: GroupingSettings,
    exact: HashMap<u64, i64>,
    bands: [HashMap<u16, Vec<(u64, i64)>>; 4],
    next_group: i64,
    /// Group ids from the store ([`Grouper::provide`]), used before `next_group` when
    /// several writers share the store, so that no two give out the same id.
    ids: std::collections::VecDeque<i64>,
}

/// Scan cap per band bucket, so pathological buckets cannot stall ingestion.
const MAX_BUCKET_SCAN: usize = 256;

impl Grouper {
    pub fn new(settings: GroupingSettings) -> Self {
        Self {
            settings,
            next_group: 1,
            ..Default::default()
        }
    }

    /// Adds one stored document's fingerprint (used when loading from the store, and for
    /// documents other writers stored).
    pub fn learn(&mut self, content_key: Option<i64>, simhash: Option<i64>, group_id: Option<i64>) {
        let Some(g) = group_id else { return };
        self.next_group = self.next_group.max(g + 1);
        if let Some(k) = content_key {
            match self.exact.entry(k as u64) {
                std::collections::hash_map::Entry::Occupied(o) => {
                    if *o.get() == g && simhash.is_some() {
                        // Known already (a founder learned twice): its bands are in.
                        return;
                    }
                }
                std::collections::hash_map::Entry::Vacant(v) => {
                    v.insert(g);
                }
            }
        }
        if let Some(h) = simhash {
            self.add_bands(h as u64, g);
        }
    }

    /// How many group ids to [`Grouper::provide`] before assigning `n` documents with
    /// ids from the store.
    pub fn ids_needed(&self, n: usize) -> usize {
        n.saturating_sub(self.ids.len())
    }

    /// Group ids from the store ([`yuqing_store::Store::allocate_group_ids`]).
    pub fn provide(&mut self, ids: Vec<i64>) {
        self.ids.extend(ids);
    }

    /// The store settled a document in group `to` instead of `a`'s (another writer
    /// claimed its text first): its key and fingerprint point there from now on.
    pub fn relabel(&mut self, a: &Assignment, to: i64) {
        let Some(from) = a.group_id else { return };
        if let Some(k) = a.content_key {
            self.exact.insert(k, to);
        }
        if let Some(h) = a.simhash {
            for (i, band) in self.bands.iter_mut().enumerate() {
                if let Some(v) = band.get_mut(&((h >> (i * 16)) as u16)) {
                    for e in v.iter_mut().filter(|e| e.1 == from) {
                        e.1 = to;
                    }
                }
            }
        }
    }

    fn add_bands(&mut self, h: u64, g: i64) {
        for (i, band) in self.bands.iter_mut().enumerate() {
            let b = (h >> (i * 16)) as u16;
            let v = band.entry(b).or_default();
            if v.len() < MAX_BUCKET_SCAN * 4 {
                v.push((h, g));
            }
        }
    }

    fn near(&self, h: u64) -> Option<i64> {
        let mut best: Option<(u32, i64)> = None;
        for (i, band) in self.bands.iter().enumerate() {
            let b = (h >> (i * 16)) as u16;
            if let Some(v) = band.get(&b) {
                for &(other, g) in v.iter().take(MAX_BUCKET_SCAN) {
                    let d = hamming(h, other);
                    if d <= self.settings.max_distance
                        && best.is_none_or(|(bd, bg)| (d, g) < (bd, bg))
                    {
                        best = Some((d, g));
                    }
                }
            }
        }
        best.map(|(_, g)| g)
    }

    /// Decides the group of a document (undo with [`Grouper::rollback`] if it is not stored).
    /// `root` is the id of the thread's root item, if the document spreads one.
    pub fn assign(
        &mut self,
        group_text: &str,
        significant: usize,
        simhash: u64,
        root: Option<&str>,
    ) -> Assignment {
        let long = significant >= self.settings.min_chars;
        let key = if long {
            content_key("", group_text)
        } else if let Some(r) = root {
            content_key(r, group_text)
        } else {
            let a = Assignment {
                group_id: None,
                joined: false,
                content_key: None,
                simhash: None,
            };
            return a;
        };
        if let Some(&g) = self.exact.get(&key) {
            let a = Assignment {
                group_id: Some(g),
                joined: true,
                content_key: Some(key),
                simhash: None,
            };
            return a;
        }
        if long && let Some(g) = self.near(simhash) {
            let a = Assignment {
                group_id: Some(g),
                joined: true,
                content_key: Some(key),
                simhash: None,
            };
            self.exact.insert(key, g);
            return a;
        }
        let g = match self.ids.pop_front() {
            Some(g) => g,
            None => {
                self.next_group += 1;
                self.next_group - 1
            }
        };
        self.exact.insert(key, g);
        let a = Assignment {
            group_id: Some(g),
            joined: false,
            content_key: Some(key),
            simhash: long.then_some(simhash),
        };
        if long {
            self.add_bands(simhash, g);
        }
        a
    }

    /// Forgets an assignment whose document was not stored after all (it turned out to
    /// be a duplicate), so that it leaves no trace in the grouping state.
    pub fn rollback(&mut self, a: &Assignment) {
        if let (Some(k), Some(g)) = (a.content_key, a.group_id)
            && !a.joined
            && self.exact.get(&k) == Some(&g)
        {
            self.exact.remove(&k);
            if let Some(h) = a.simhash {
                for (i, band) in self.bands.iter_mut().enumerate() {
                    if let Some(v) = band.get_mut(&((h >> (i * 16)) as u16)) {
                        v.retain(|&(_, gg)| gg != g);
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use yuqing_text::{fingerprint, normalize};

    fn assign(g: &mut Grouper, text: &str, root: Option<&str>) -> Assignment {
        let n = normalize(text);
        g.assign(
            &n,
            fingerprint::significant_chars(&n),
            fingerprint::simhash(&n),
            root,
        )
    }

    const A: &str = "今天下午约14点，宁波妇儿医院，一妇女携带一婴儿在住院楼跳楼，后抢救无效死亡。具体情况有关部门正在调查。";

    #[test]
    fn exact_and_near_duplicates_join_the_first_group() {
        let mut g = Grouper::new(GroupingSettings::default());
        let a = assign(&mut g, A, None);
        assert!(!a.joined);
        let b = assign(&mut g, A, Some("x"));
        assert_eq!((b.group_id, b.joined), (a.group_id, true));
        let c = assign(&mut g, &A.replace('。', "！"), None);
        assert_eq!((c.group_id, c.joined), (a.group_id, true));
        let d = assign(
            &mut g,
            "教育部发布通知，要求各地中小学严格落实课后服务制度，切实减轻学生课业负担。",
            None,
        );
        assert_ne!(d.group_id, a.group_id);
    }

    #[test]
    fn short_texts_group_only_under_the_same_root() {
        let mut g = Grouper::new(GroupingSettings::default());
        let a = assign(&mut g, "转发微博", Some("p1"));
        let b = assign(&mut g, "转发微博", Some("p1"));
        let c = assign(&mut g, "转发微博", Some("p2"));
        assert_eq!((b.group_id, b.joined), (a.group_id, true));
        assert_ne!(c.group_id, a.group_id);
        assert!(!c.joined);
        let e = assign(&mut g, "", None);
        assert_eq!(
            e.group_id, None,
            "an empty post without a root is not grouped"
        );
    }

    #[test]
    fn uncommitted_duplicates_leave_no_trace() {
        let mut g = Grouper::new(GroupingSettings::default());
        let n = normalize(A);
        let a = g.assign(
            &n,
            fingerprint::significant_chars(&n),
            fingerprint::simhash(&n),
            None,
        );
        g.rollback(&a);
        let b = assign(&mut g, A, None);
        assert!(
            !b.joined,
            "the first copy was never stored, so the second founds the group"
        );
        assert_ne!(a.group_id, None);
    }

    #[test]
    fn learned_state_equals_live_state() {
        let mut g = Grouper::new(GroupingSettings::default());
        let a = assign(&mut g, A, None);
        let mut h = Grouper::new(GroupingSettings::default());
        h.learn(
            a.content_key.map(|k| k as i64),
            a.simhash.map(|s| s as i64),
            a.group_id,
        );
        let b = assign(&mut h, &A.replace('。', "！"), None);
        assert_eq!((b.group_id, b.joined), (a.group_id, true));
        let c = assign(
            &mut h,
            "别的内容别的内容别的内容别的内容别的内容别的内容",
            None,
        );
        assert!(c.group_id > a.group_id);
    }
}
