//! Settling events and reprint groups when several writers share the store.
//!
//! A writer (`Pipeline`) decides each new document's reprint group and event from its
//! in-memory state. With one writer per store that state is the truth. With several
//! (`yuqing process` × N on one PostgreSQL database) it is only a proposal: another writer
//! may have mapped the same chain root to another event, grouped the same text under
//! another group, or stored a reply before its parent reached anyone. So a document whose
//! link says [`EventLink::verify`] is settled here, inside the insert's transaction and
//! under the store's write lock (PostgreSQL: `DOCUMENTS_LOCK`, which every insert takes;
//! SQLite: `BEGIN IMMEDIATE`), where nothing changes underneath:
//!
//! 1. **Group.** A content key already claimed (`group_keys`) gives its group; a group
//!    founded in this batch whose key was claimed by another group follows it. An
//!    unclaimed key is claimed for the document's group.
//! 2. **Event.** The chain root's claimed event (`event_roots`) wins; else an original that
//!    joined a reprint group takes the group's claimed event (`event_groups`); else the
//!    writer's choice stands. The root and the group are then claimed for that event. An
//!    event the writer founded in this batch that lost follows the winner for the rest of
//!    the batch. Events merged earlier (`events.merged_into`) are followed.
//!    When the root was claimed by replies stored before it (their event) and the original
//!    also joined a reprint group whose event differs, the replies' event is merged into
//!    the group's: an exact reprint ends in its group's event whichever came first.
//! 3. **Adoption.** A reply stored before its parent had the parent as its root (the chain
//!    above was unknown), so the parent's id was claimed as a root, usually for an event
//!    of its own. When the parent arrives with a root above it and its event differs, that
//!    event is merged into the parent's: its documents, root and group claims and counters
//!    move, it is left empty with `merged_into` set (listings skip events without
//!    documents).
//!
//! The claims are plain rows written with `ON CONFLICT DO NOTHING`, so the first claim of
//! a key wins and every later reader sees it; the lock makes "look up, else claim" one
//! step. Settling costs one lookup per batch (three small indexed reads); writers that
//! are alone (`serve`, `import`) do not ask for it.

use crate::{EventLink, NewDocument};
use rustc_hash::FxHashMap;

/// What the store knows about the keys of a batch.
#[derive(Debug, Default)]
pub(crate) struct Known {
    /// (platform, root id) → event.
    pub roots: FxHashMap<(String, String), i64>,
    /// Content key → group.
    pub keys: FxHashMap<i64, i64>,
    /// Group → event.
    pub groups: FxHashMap<i64, i64>,
    /// Event → the event it was merged into, for every event above and the writers'
    /// proposals (merges are flattened: one step reaches a live event).
    pub merged: FxHashMap<i64, i64>,
    /// Roots without a claim that are stored documents: (platform, id) → their root and
    /// event (a parent stored between the writer's look-up and this insert).
    pub docs: FxHashMap<(String, String), (Option<String>, Option<i64>)>,
}

impl Known {
    /// The events whose merges settling must know: the writers' proposals and every
    /// event a claim or a stored root points to.
    pub(crate) fn events(&self, w: &Wanted) -> Vec<i64> {
        let mut e = w.events.clone();
        e.extend(self.roots.values());
        e.extend(self.groups.values());
        e.extend(self.docs.values().filter_map(|d| d.1));
        e.sort_unstable();
        e.dedup();
        e
    }
}

/// The keys a batch needs looked up.
#[derive(Debug, Default)]
pub(crate) struct Wanted {
    pub root_platforms: Vec<String>,
    pub roots: Vec<String>,
    pub keys: Vec<i64>,
    pub groups: Vec<i64>,
    pub events: Vec<i64>,
}

/// An event merged into another: replies adopted by their parent (step 3), or replies
/// whose root turned out to be an exact reprint (step 2; then `old_root == new_root`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Merge {
    pub from: i64,
    pub into: i64,
    pub platform: String,
    /// The parent's id, root of the adopted replies …
    pub old_root: String,
    /// … and the root above it, their root from now on.
    pub new_root: String,
}

/// The settled batch and the claims to write before it.
#[derive(Debug, Default)]
pub(crate) struct Settled {
    pub docs: Vec<NewDocument>,
    pub roots: Vec<(String, String, i64)>,
    pub keys: Vec<(i64, i64)>,
    pub groups: Vec<(i64, i64)>,
    pub merges: Vec<Merge>,
}

/// True when some document of the batch asks to be settled.
pub(crate) fn wanted_by(docs: &[&NewDocument]) -> bool {
    docs.iter()
        .any(|n| n.event.as_ref().is_some_and(|l| l.verify))
}

fn root_of(n: &NewDocument, l: &EventLink) -> String {
    l.root_key
        .clone()
        .or_else(|| n.doc.root_id.clone())
        .unwrap_or_else(|| n.id.clone())
}

/// The keys to look up for `docs` (those that ask to be settled).
pub(crate) fn wanted(docs: &[&NewDocument]) -> Wanted {
    let mut w = Wanted::default();
    for &n in docs {
        let Some(l) = n.event.as_ref().filter(|l| l.verify) else {
            continue;
        };
        let root = root_of(n, l);
        if root != n.id {
            w.root_platforms.push(n.doc.platform.clone());
            w.roots.push(n.id.clone());
        }
        w.root_platforms.push(n.doc.platform.clone());
        w.roots.push(root);
        w.keys.extend(n.content_key);
        w.groups.extend(n.group_id);
        w.events.push(l.event_id);
    }
    w.keys.sort_unstable();
    w.keys.dedup();
    w.groups.sort_unstable();
    w.groups.dedup();
    w.events.sort_unstable();
    w.events.dedup();
    w
}

fn follow(merged: &FxHashMap<i64, i64>, mut e: i64) -> i64 {
    // Merges never form a cycle (an event is merged into a live one), but a bound costs
    // nothing.
    for _ in 0..64 {
        match merged.get(&e) {
            Some(&m) if m != e => e = m,
            _ => break,
        }
    }
    e
}

/// Settles the documents that ask for it, in batch order (see the module docs).
pub(crate) fn settle(docs: &[&NewDocument], mut known: Known) -> Settled {
    let mut out = Settled {
        docs: docs.iter().map(|&n| n.clone()).collect(),
        ..Default::default()
    };
    // Tentative groups and events of this batch that lost to a claimed one.
    let mut group_to: FxHashMap<i64, i64> = FxHashMap::default();
    let mut event_to: FxHashMap<i64, i64> = FxHashMap::default();
    for n in out.docs.iter_mut() {
        let Some(mut l) = n.event.clone().filter(|l| l.verify) else {
            continue;
        };
        // 1. Group.
        if let Some(g0) = n.group_id {
            let g = group_to.get(&g0).copied().unwrap_or(g0);
            n.group_id = Some(g);
            if g != g0 {
                n.group_joined = true;
                n.simhash = None;
            }
            if let Some(k) = n.content_key {
                match known.keys.get(&k) {
                    Some(&w) if w != g => {
                        if !n.group_joined {
                            group_to.insert(g0, w);
                        }
                        n.group_id = Some(w);
                        n.group_joined = true;
                        n.simhash = None;
                    }
                    Some(_) => {}
                    None => {
                        known.keys.insert(k, g);
                        out.keys.push((k, g));
                    }
                }
            }
        }
        // 2. Event.
        let mut root = root_of(n, &l);
        let platform = n.doc.platform.clone();
        let proposed = follow(
            &known.merged,
            event_to.get(&l.event_id).copied().unwrap_or(l.event_id),
        );
        let mut root_key = (platform.clone(), root.clone());
        let mut claimed_root = known
            .roots
            .get(&root_key)
            .map(|&e| follow(&known.merged, e));
        if claimed_root.is_none()
            && let Some((Some(above), Some(e))) = known.docs.get(&root_key)
            && *above != root
        {
            // The root the writer saw as unknown is a stored reply by now: its chain goes
            // further up, and so does this document's.
            claimed_root = Some(follow(&known.merged, *e));
            root.clone_from(above);
            n.doc.root_id = Some(root.clone());
            root_key = (platform.clone(), root.clone());
        }
        let by_group = || {
            let g = n.group_id?;
            (l.original && n.group_joined)
                .then(|| known.groups.get(&g).map(|&e| follow(&known.merged, e)))
                .flatten()
        };
        let e = match (claimed_root, by_group()) {
            // An exact reprint whose replies came first (often through another writer):
            // the replies' event joins the reprint group's, as it would have had the
            // original come first.
            (Some(r), Some(g)) if r != g => {
                out.merges.push(Merge {
                    from: r,
                    into: g,
                    platform: platform.clone(),
                    old_root: root.clone(),
                    new_root: root.clone(),
                });
                known.merged.insert(r, g);
                g
            }
            (Some(r), _) => r,
            (None, g) => g.unwrap_or(proposed),
        };
        if e != l.event_id {
            if l.founds {
                event_to.insert(l.event_id, e);
            }
            l.founds = l.founds && e == proposed && proposed == l.event_id;
        }
        l.event_id = e;
        if let std::collections::hash_map::Entry::Vacant(v) = known.roots.entry(root_key) {
            v.insert(e);
            out.roots.push((platform.clone(), root.clone(), e));
        }
        if let Some(g) = n.group_id
            && !known.groups.contains_key(&g)
        {
            known.groups.insert(g, e);
            out.groups.push((g, e));
        }
        // 3. Adoption of replies that came before this document.
        if root != n.id {
            let own = (platform.clone(), n.id.clone());
            if let Some(&orphans) = known.roots.get(&own) {
                let from = follow(&known.merged, orphans);
                if from != e {
                    out.merges.push(Merge {
                        from,
                        into: e,
                        platform: platform.clone(),
                        old_root: n.id.clone(),
                        new_root: root.clone(),
                    });
                    known.merged.insert(from, e);
                }
            }
            known.roots.insert(own, e);
        }
        n.event = Some(l);
    }
    // Later adoptions can move events earlier documents of the batch were put in.
    for n in out.docs.iter_mut() {
        if let Some(l) = n.event.as_mut().filter(|l| l.verify) {
            let e = follow(&known.merged, l.event_id);
            if e != l.event_id {
                l.event_id = e;
                l.founds = false;
            }
            // Adoptions chain (a reply adopted by its parent, adopted in turn by its own
            // parent in the same batch): follow them to the last root.
            for _ in 0..64 {
                let Some(m) = out.merges.iter().find(|m| {
                    m.old_root != m.new_root
                        && m.platform == n.doc.platform
                        && n.doc.root_id.as_deref() == Some(&m.old_root)
                }) else {
                    break;
                };
                n.doc.root_id = Some(m.new_root.clone());
            }
        }
    }
    for r in &mut out.roots {
        r.2 = follow(&known.merged, r.2);
    }
    for g in &mut out.groups {
        g.1 = follow(&known.merged, g.1);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::conformance::event_doc;

    fn verify(mut n: NewDocument) -> NewDocument {
        n.event.as_mut().expect("link").verify = true;
        n
    }

    fn reply(id: &str, parent: &str, root: &str, event: i64, founds: bool) -> NewDocument {
        let mut n = verify(event_doc(id, "转发", 1, event, founds));
        n.doc.kind = yuqing_core::Kind::Repost;
        n.doc.parent_id = Some(parent.into());
        n.doc.root_id = Some(root.into());
        let l = n.event.as_mut().expect("link");
        l.original = false;
        l.root_key = founds.then(|| root.to_owned());
        n
    }

    #[test]
    fn a_claimed_root_wins_over_the_writers_choice() {
        let mut known = Known::default();
        known.roots.insert(("weibo".into(), "p".into()), 5);
        let s = settle(
            &[
                &reply("r1", "p", "p", 9, true),
                &reply("r2", "p", "p", 9, false),
            ],
            known,
        );
        let events: Vec<_> = s.docs.iter().map(|n| n.event.clone().expect("l")).collect();
        assert_eq!((events[0].event_id, events[0].founds), (5, false));
        assert_eq!(events[1].event_id, 5);
        assert!(s.roots.is_empty(), "nothing new to claim");
    }

    #[test]
    fn a_parent_after_its_replies_adopts_their_event() {
        let mut known = Known::default();
        // r1 came first: its parent c was unknown, so c was claimed as a root for event 8.
        known.roots.insert(("weibo".into(), "c".into()), 8);
        known.roots.insert(("weibo".into(), "p".into()), 5);
        let s = settle(&[&reply("c", "p", "p", 5, false)], known);
        assert_eq!(
            s.merges,
            vec![Merge {
                from: 8,
                into: 5,
                platform: "weibo".into(),
                old_root: "c".into(),
                new_root: "p".into(),
            }]
        );
        // In one batch: the orphan first, then its parent.
        let mut known = Known::default();
        known.roots.insert(("weibo".into(), "p".into()), 5);
        let s = settle(
            &[
                &reply("g", "c", "c", 9, true),
                &reply("c", "p", "p", 5, false),
            ],
            known,
        );
        assert!(s.merges.iter().all(|m| m.into == 5));
        for n in &s.docs {
            assert_eq!(n.event.as_ref().expect("l").event_id, 5, "{}", n.id);
            assert_eq!(n.doc.root_id.as_deref(), Some("p"), "{}", n.id);
        }
        assert!(s.roots.iter().all(|r| r.2 == 5));
        // A chain in one batch (CED De2iSrEGL → DcCWWqWB0 → DcCVNi5vd → root): g's parent
        // b comes next and adopts g, then b's parent c adopts them both.
        let mut known = Known::default();
        known.roots.insert(("weibo".into(), "p".into()), 5);
        let s = settle(
            &[
                &reply("g", "b", "b", 9, true),
                &reply("b", "c", "c", 10, true),
                &reply("c", "p", "p", 5, false),
            ],
            known,
        );
        assert_eq!(s.merges.len(), 2, "{:?}", s.merges);
        for n in &s.docs {
            assert_eq!(n.event.as_ref().expect("l").event_id, 5, "{}", n.id);
            assert_eq!(
                n.doc.root_id.as_deref(),
                Some("p"),
                "{} follows both adoptions",
                n.id
            );
        }
    }

    #[test]
    fn a_root_stored_meanwhile_gives_its_chain() {
        let mut known = Known::default();
        known
            .docs
            .insert(("weibo".into(), "c".into()), (Some("p".into()), Some(5)));
        let s = settle(&[&reply("g", "c", "c", 9, true)], known);
        let n = &s.docs[0];
        assert_eq!(n.event.as_ref().expect("l").event_id, 5);
        assert_eq!(n.doc.root_id.as_deref(), Some("p"));
        assert!(s.merges.is_empty());
    }

    #[test]
    fn a_claimed_content_key_gives_the_group_and_its_event() {
        let mut known = Known::default();
        known.keys.insert(77, 3);
        known.groups.insert(3, 40);
        let mut a = verify(event_doc("a", "一篇转载的文章", 1, 9, true));
        a.content_key = Some(77);
        a.group_id = Some(12);
        a.simhash = Some(1);
        let mut b = verify(event_doc("b", "一篇转载的文章。", 2, 9, false));
        b.content_key = Some(78);
        b.group_id = Some(12);
        b.group_joined = true;
        let s = settle(&[&a, &b], known);
        for n in &s.docs {
            assert_eq!(n.group_id, Some(3), "{}", n.id);
            assert!(n.group_joined);
            assert_eq!(n.event.as_ref().expect("l").event_id, 40, "{}", n.id);
        }
        assert_eq!(s.keys, vec![(78, 3)]);
    }

    #[test]
    fn an_exact_reprint_after_its_replies_brings_them_into_its_groups_event() {
        // Another writer stored the original a (group 3, event 40); replies to b were
        // stored before b (their event 8 claimed root b); b is a's exact reprint.
        let mut known = Known::default();
        known.keys.insert(77, 3);
        known.groups.insert(3, 40);
        known.roots.insert(("weibo".into(), "b".into()), 8);
        let mut b = verify(event_doc("b", "一篇转载的文章", 1, 8, false));
        b.event.as_mut().expect("link").original = true;
        b.content_key = Some(77);
        b.group_id = Some(12);
        let s = settle(&[&b], known);
        assert_eq!(s.docs[0].event.as_ref().expect("l").event_id, 40);
        assert_eq!(s.docs[0].group_id, Some(3));
        assert_eq!(
            s.merges,
            vec![Merge {
                from: 8,
                into: 40,
                platform: "weibo".into(),
                old_root: "b".into(),
                new_root: "b".into(),
            }]
        );
        // In one batch: a reply to b, then b; the reply follows b into event 40.
        let mut known = Known::default();
        known.keys.insert(77, 3);
        known.groups.insert(3, 40);
        let mut b = verify(event_doc("b", "一篇转载的文章", 2, 9, false));
        b.event.as_mut().expect("link").original = true;
        b.content_key = Some(77);
        b.group_id = Some(12);
        let s = settle(&[&reply("r", "b", "b", 9, true), &b], known);
        for n in &s.docs {
            let l = n.event.as_ref().expect("l");
            assert_eq!((l.event_id, l.founds), (40, false), "{}", n.id);
        }
        assert!(s.roots.iter().all(|r| r.2 == 40), "{:?}", s.roots);
        // An event merged away earlier is followed to the live one.
        let mut known = Known::default();
        known.keys.insert(77, 3);
        known.groups.insert(3, 40);
        known.merged.insert(40, 41);
        let mut b = verify(event_doc("b", "一篇转载的文章", 3, 9, true));
        b.content_key = Some(77);
        b.group_id = Some(12);
        let s = settle(&[&b], known);
        assert_eq!(s.docs[0].event.as_ref().expect("l").event_id, 41);
    }
}
