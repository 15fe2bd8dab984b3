//! Event assignment (事件归并): which event each new document belongs to.
//!
//! Run by the single writer, in document order, after reprint grouping:
//! 1. a reply (repost, comment) joins the event of its chain root; the root is mapped to
//!    its event when it founds or joins one, and a reply whose root is not stored yet
//!    founds the event under that root's id, which the root joins when it arrives. When
//!    that "root" turns out to be a reply itself (an intermediate repost collected after
//!    the reposts of it), it joins its own chain's event and **adopts** the orphans' event:
//!    the link asks the store to settle the batch ([`EventLink::verify`]), which merges
//!    that event into this one in the insert's transaction (`yuqing_store` `shared.rs`,
//!    step 3), and the writer's maps follow the merge ([`Events::take_adoptions`]). Such
//!    orphan roots are loaded from the store before a writer's first batch
//!    ([`Events::learn_orphans`]), so a restart between the replies and their parent
//!    changes nothing;
//! 2. an original that joined a reprint group joins the group's event;
//! 3. another original with enough words is compared with the live events by online
//!    clustering ([`yuqing_judge::cluster`]) and joins the most similar one above the
//!    threshold;
//! 4. otherwise it founds a new event.
//!
//! Every document belongs to exactly one event. Event ids come from the store
//! ([`yuqing_store::Store::allocate_event_ids`], handed in with [`Events::provide`]), so
//! several writers never give out the same id; the store creates the event row in the same
//! transaction as the documents. The maps are caches: what they forgot is looked up in the
//! store.
//!
//! With several writers on one store ([`Events::set_shared`]) these decisions are
//! proposals: each link asks the store to settle it ([`EventLink::verify`]), the store's
//! claims win (the root's event, the reprint group's event), and the writer learns the
//! settled event afterwards ([`Events::settled`]) and what the other writers stored
//! ([`Events::follow`]).

use rustc_hash::FxHashMap as HashMap;
use yuqing_judge::cluster::{ClusterSettings, Clusterer};
use yuqing_store::EventLink;

/// Cap on remembered root → event and group → event entries.
const CACHE_MAX: usize = 1_000_000;

/// What the event assigner needs to know about one new document.
#[derive(Debug, Clone, Copy)]
pub struct Candidate<'a> {
    pub platform: &'a str,
    pub id: &'a str,
    /// Its chain root (`None` for an original).
    pub root: Option<&'a str>,
    /// Reprint group, and whether it joined one founded earlier.
    pub group: Option<i64>,
    pub joined_group: bool,
    /// Normalised text, for clustering originals.
    pub norm_text: &'a str,
    /// Published time (unix ms), else when it was ingested.
    pub at_ms: i64,
    pub original: bool,
}

/// Key of a document identity (platform + id) in the writer's caches: a 64-bit hash, so
/// no allocation per document; a collision between two of two million cached ids has odds
/// of about 1 in 10^7.
pub(crate) fn root_key(platform: &str, root: &str) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    h.update(platform.as_bytes());
    h.update(&[0]);
    h.update(root.as_bytes());
    h.digest()
}

/// The writer's event state.
pub struct Events {
    /// Event ids allocated by the store and not used yet, ascending.
    ids: std::collections::VecDeque<i64>,
    roots: HashMap<u64, i64>,
    groups: HashMap<i64, i64>,
    /// Roots that replies founded an event under before the root was stored: kept apart
    /// from `roots` (whose cache is cleared when full) and bounded on their own; a single
    /// writer's only (with several, the store adopts).
    orphans: HashMap<u64, i64>,
    /// Adoptions decided since [`Events::take_adoptions`] was last called.
    adoptions: Vec<Adoption>,
    clusterer: Clusterer,
    shared: bool,
}

/// Replies stored before their parent, whose event the parent's event takes over: the
/// event `from` becomes part of `into`, and the replies' root `old_root` (the parent's id)
/// becomes `new_root` (the parent's own root).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Adoption {
    pub platform: String,
    pub from: i64,
    pub into: i64,
    pub old_root: String,
    pub new_root: String,
}

impl Events {
    pub fn new(cluster: ClusterSettings) -> Events {
        Events {
            ids: Default::default(),
            roots: HashMap::default(),
            groups: HashMap::default(),
            orphans: HashMap::default(),
            adoptions: Vec::new(),
            clusterer: Clusterer::new(cluster),
            shared: false,
        }
    }

    /// Other writers share the store: every link asks the store to settle it.
    pub fn set_shared(&mut self, shared: bool) {
        self.shared = shared;
        if shared {
            self.orphans.clear();
        }
    }

    /// How many more event ids [`Events::assign`] may need for `batch` (after the look-ups
    /// are learned): one per new root, less those held.
    pub fn ids_needed(&self, batch: &[Candidate]) -> usize {
        let mut new: rustc_hash::FxHashSet<u64> = Default::default();
        for c in batch {
            let key = root_key(c.platform, c.root.unwrap_or(c.id));
            if !self.roots.contains_key(&key) {
                new.insert(key);
            }
        }
        new.len().saturating_sub(self.ids.len())
    }

    /// Event ids from the store ([`yuqing_store::Store::allocate_event_ids`]).
    pub fn provide(&mut self, ids: Vec<i64>) {
        self.ids.extend(ids);
    }

    /// The store settled a document in another event than proposed: its root (and group)
    /// map to that event from now on.
    pub fn settled(&mut self, platform: &str, root: &str, group: Option<i64>, event: i64) {
        self.roots.insert(root_key(platform, root), event);
        if let Some(g) = group {
            self.groups.insert(g, event);
        }
    }

    /// Learns a document another writer stored: its root's event, its group's event, a
    /// root of its own id that now maps elsewhere (its replies' event was merged into its
    /// own), and, for an original, its words for clustering.
    pub fn follow(&mut self, d: &yuqing_core::StoredDocument, norm_text: Option<&str>) {
        let (Some(e), Some(id)) = (d.event_id, d.doc.id.as_deref()) else {
            return;
        };
        let platform = d.doc.platform.as_str();
        let root = d.doc.root_id.as_deref().unwrap_or(id);
        self.roots.insert(root_key(platform, root), e);
        if let Some(own) = self.roots.get_mut(&root_key(platform, id)) {
            *own = e;
        }
        if let Some(g) = d.group_id {
            self.groups.entry(g).or_insert(e);
        }
        if let Some(text) = norm_text {
            let at = d
                .doc
                .published_at
                .map_or(d.ingested_at.timestamp_millis(), |t| t.timestamp_millis());
            self.warm(e, text, at);
        }
    }

    /// Root keys (platform, root id) the batch needs that are not in memory.
    pub fn unknown_roots<'a>(&self, batch: &[Candidate<'a>]) -> HashMap<&'a str, Vec<&'a str>> {
        let mut out: HashMap<&str, Vec<&str>> = HashMap::default();
        for c in batch {
            let root = c.root.unwrap_or(c.id);
            if !self.roots.contains_key(&root_key(c.platform, root)) {
                out.entry(c.platform).or_default().push(root);
            }
        }
        out
    }

    /// Groups the batch needs that are not in memory.
    pub fn unknown_groups(&self, batch: &[Candidate]) -> Vec<i64> {
        let mut out: Vec<i64> = batch
            .iter()
            .filter(|c| c.joined_group && c.original)
            .filter_map(|c| c.group)
            .filter(|g| !self.groups.contains_key(g))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Adds what the store knew (from [`Events::unknown_roots`] / [`Events::unknown_groups`]).
    pub fn learn(
        &mut self,
        platform: &str,
        roots: std::collections::HashMap<String, i64>,
        groups: std::collections::HashMap<i64, i64>,
    ) {
        for (r, e) in roots {
            self.roots.insert(root_key(platform, &r), e);
        }
        self.groups.extend(groups);
    }

    /// Learns the orphan roots of the store ([`yuqing_store::Store::orphan_roots`]): events
    /// founded by replies under the id of a parent not stored yet.
    pub fn learn_orphans(&mut self, orphans: &[(String, String, i64)]) {
        self.orphans.clear();
        for (platform, root, event) in orphans {
            let key = root_key(platform, root);
            self.orphans.insert(key, *event);
            self.roots.entry(key).or_insert(*event);
        }
    }

    /// The adoptions decided since the last call (see the module docs). When there are
    /// any, every link of the batch must ask the store to settle it, so that the store
    /// merges the events in the insert's transaction, orphans of this very batch included.
    pub fn take_adoptions(&mut self) -> Vec<Adoption> {
        std::mem::take(&mut self.adoptions)
    }

    /// Event `from` is now part of `into`: every map and the clusterer follow.
    fn merged(&mut self, from: i64, into: i64) {
        for e in self
            .roots
            .values_mut()
            .chain(self.groups.values_mut())
            .chain(self.orphans.values_mut())
        {
            if *e == from {
                *e = into;
            }
        }
        self.clusterer.remove(from);
    }

    /// Warms the clusterer with a recent original (after a restart).
    pub fn warm(&mut self, event_id: i64, norm_text: &str, at_ms: i64) {
        let terms = yuqing_judge::cluster::terms(norm_text);
        if !terms.is_empty() {
            self.clusterer.add(event_id, &terms, at_ms);
        }
    }

    /// The next unused event id (taken by the caller when it founds an event).
    fn next_id(&self) -> i64 {
        // The pipeline provides `ids_needed` ids before assigning a batch: at most one per
        // new root, and only a new root founds an event.
        *self
            .ids
            .front()
            .expect("event ids are provided for every new root before assigning")
    }

    /// Assigns one document (call in document order, after the lookups are learned and
    /// [`Events::ids_needed`] ids provided).
    pub fn assign(&mut self, c: &Candidate, critical: Option<i64>) -> EventLink {
        if self.roots.len() > CACHE_MAX {
            self.roots.clear();
        }
        if self.groups.len() > CACHE_MAX {
            self.groups.clear();
        }
        let root = c.root.unwrap_or(c.id);
        let key = root_key(c.platform, root);
        let mut link = EventLink {
            event_id: 0,
            founds: false,
            root_key: None,
            original: c.original,
            critical,
            verify: self.shared,
        };
        if let Some(&e) = self.roots.get(&key) {
            link.event_id = e;
        } else {
            // A new root: an original finds its event by reprint group or clustering;
            // a reply to an unknown root founds the event under that root's id.
            let mut found = None;
            if c.original {
                if c.joined_group
                    && let Some(g) = c.group
                {
                    found = self.groups.get(&g).copied();
                }
                if found.is_none() {
                    let terms = yuqing_judge::cluster::terms(c.norm_text);
                    if let Some((e, _similarity)) = self.clusterer.assign(&terms, c.at_ms) {
                        found = Some(e);
                    }
                    let e = found.unwrap_or_else(|| self.next_id());
                    if !terms.is_empty() {
                        self.clusterer.add(e, &terms, c.at_ms);
                    }
                }
            }
            link.event_id = match found {
                Some(e) => e,
                None => {
                    link.founds = true;
                    let e = self.next_id();
                    self.ids.pop_front();
                    e
                }
            };
            link.root_key = Some(root.to_owned());
            self.roots.insert(key, link.event_id);
            if link.founds && c.root.is_some() && !self.shared {
                if self.orphans.len() >= CACHE_MAX {
                    // Parents that have not come in a million orphan events are not
                    // waited for any longer (a restart loads the newest from the store).
                    self.orphans.clear();
                }
                self.orphans.insert(key, link.event_id);
            }
        }
        if !self.shared {
            // This document may be the missing parent of replies stored before it.
            let own = root_key(c.platform, c.id);
            if let Some(from) = self.orphans.remove(&own)
                && c.root.is_some()
            {
                if from != link.event_id {
                    self.merged(from, link.event_id);
                    self.adoptions.push(Adoption {
                        platform: c.platform.to_owned(),
                        from,
                        into: link.event_id,
                        old_root: c.id.to_owned(),
                        new_root: root.to_owned(),
                    });
                }
                self.roots.insert(own, link.event_id);
            }
        }
        if let Some(g) = c.group {
            self.groups.entry(g).or_insert(link.event_id);
        }
        link
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reply<'a>(id: &'a str, root: &'a str) -> Candidate<'a> {
        Candidate {
            platform: "weibo",
            id,
            root: Some(root),
            group: None,
            joined_group: false,
            norm_text: "转发",
            at_ms: 0,
            original: false,
        }
    }

    fn post(id: &str) -> Candidate<'_> {
        Candidate {
            root: None,
            norm_text: "某县医院发生火灾，多名医生和病人受伤，消防正在救援",
            original: true,
            ..reply(id, "")
        }
    }

    /// Assigns a batch as the pipeline does, the store handing out ids from 100 on.
    fn assign_all(events: &mut Events, batch: &[Candidate]) -> Vec<EventLink> {
        static NEXT: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(100);
        let need = events.ids_needed(batch) as i64;
        let next = NEXT.fetch_add(need, std::sync::atomic::Ordering::Relaxed);
        events.provide((next..next + need).collect());
        batch.iter().map(|c| events.assign(c, None)).collect()
    }

    #[test]
    fn a_reply_arriving_after_its_replies_adopts_their_event() {
        let mut events = Events::new(ClusterSettings::default());
        let p = assign_all(&mut events, &[post("P")])[0].event_id;
        // g replies to c, not stored yet: it founds an event under c's id.
        let g = assign_all(&mut events, &[reply("g", "c")]);
        assert!(g[0].founds);
        let orphans = g[0].event_id;
        assert_ne!(orphans, p);
        assert!(events.take_adoptions().is_empty());
        // c arrives, a reply to P: it joins P's event and adopts g's.
        let c = assign_all(&mut events, &[reply("c", "P")]);
        assert_eq!(c[0].event_id, p);
        assert_eq!(
            events.take_adoptions(),
            vec![Adoption {
                platform: "weibo".into(),
                from: orphans,
                into: p,
                old_root: "c".into(),
                new_root: "P".into(),
            }]
        );
        assert!(events.take_adoptions().is_empty(), "taken once");
        // A later reply still rooted at c (its parent g cached with root c) joins P's.
        let g2 = assign_all(&mut events, &[reply("g2", "c")]);
        assert_eq!(g2[0].event_id, p);
        assert!(events.take_adoptions().is_empty());
    }

    #[test]
    fn an_original_arriving_after_its_replies_joins_their_event_without_a_merge() {
        let mut events = Events::new(ClusterSettings::default());
        let r = assign_all(&mut events, &[reply("r", "Q")])[0].event_id;
        let q = assign_all(&mut events, &[post("Q")]);
        assert_eq!(q[0].event_id, r);
        assert!(!q[0].founds);
        assert!(events.take_adoptions().is_empty());
        assert!(events.orphans.is_empty(), "the root has come");
    }

    #[test]
    fn orphans_learnt_from_the_store_are_adopted_after_a_restart() {
        let mut events = Events::new(ClusterSettings::default());
        events.learn_orphans(&[("weibo".into(), "c".into(), 7)]);
        events.learn(
            "weibo",
            std::collections::HashMap::from([("P".to_owned(), 3)]),
            Default::default(),
        );
        let c = assign_all(&mut events, &[reply("c", "P")]);
        assert_eq!(c[0].event_id, 3);
        assert_eq!(
            events
                .take_adoptions()
                .iter()
                .map(|a| (a.from, a.into))
                .collect::<Vec<_>>(),
            vec![(7, 3)]
        );
        // In a shared store the store decides: no adoption here.
        let mut shared = Events::new(ClusterSettings::default());
        shared.set_shared(true);
        shared.learn_orphans(&[("weibo".into(), "c".into(), 7)]);
        assign_all(&mut shared, &[reply("c", "P")]);
        assert!(shared.take_adoptions().is_empty());
    }
}
