//! [`PlanSet`]: all active plans compiled together. One Aho–Corasick automaton
//! (`MatchKind::Standard`, overlapping search) holds every distinct term text of every
//! plan; a document's title, text (and author, if any plan scopes on it) are each scanned
//! once, then only the plans with an *anchor* term among the terms found are evaluated.
//!
//! Anchors: a set of terms of which at least one must occur for the plan to match (for
//! `A+B` the cheaper of A's and B's anchors, for `A|B` both, for `A-B` A's), so skipping
//! plans whose anchors did not occur never changes a result.

use std::collections::HashMap;

use aho_corasick::{AhoCorasick, MatchKind};

use super::ast::{Kind, Node};
use super::eval::{Oracle, char_starts, eval, hit_terms, near_ok, platform_key};
use super::{Field, MatchInput, Plan, PlanHit};

const TITLE: u8 = 1;
const TEXT: u8 = 2;
const AUTHOR: u8 = 4;

fn mask(field: Field) -> u8 {
    match field {
        Field::Any => TITLE | TEXT,
        Field::Title => TITLE,
        Field::Author => AUTHOR,
        Field::Platform => 0,
    }
}

/// Marker in a plan's term → pattern map for `platform:` terms (compared, not searched).
const NO_PATTERN: u32 = u32::MAX;

#[derive(Debug, Clone)]
struct Compiled {
    id: i64,
    plan: Plan,
    /// Plan-local term index → pattern index (or [`NO_PATTERN`]).
    patterns: Vec<u32>,
}

/// Every active plan compiled into one matcher. Cheap to share (`&self` matching, `Sync`).
#[derive(Debug, Clone)]
pub struct PlanSet {
    plans: Vec<Compiled>,
    /// `None` only if the automaton could not be built; then patterns are searched one by
    /// one (same results, slower).
    ac: Option<AhoCorasick>,
    patterns: Vec<String>,
    pattern_chars: Vec<usize>,
    /// Patterns used by some `NEAR/n`: their positions are recorded.
    need_spans: Vec<bool>,
    /// Pattern → plans (indices into `plans`) anchored on it.
    anchors: Vec<Vec<u32>>,
    /// Platform value → plans anchored on a `platform:` term.
    platform_anchors: HashMap<String, Vec<u32>>,
    scan_author: bool,
}

thread_local! {
    /// Reused per-pattern flags (all zero between documents).
    static FLAGS: std::cell::RefCell<Vec<u8>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// What one document scan found.
struct Scan {
    /// Per pattern: which of TITLE / TEXT / AUTHOR it occurred in.
    flags: Vec<u8>,
    /// Patterns with a non-zero flag, in first-found order.
    found: Vec<u32>,
    /// Character starts of `NEAR` patterns, per (pattern, field bit), ascending.
    spans: HashMap<(u32, u8), Vec<usize>>,
}

impl PlanSet {
    /// Compiles `plans` (`(plan id, plan)`) into one matcher. Ids need not be unique; hits
    /// are reported in the order given here.
    pub fn new(plans: Vec<(i64, Plan)>) -> PlanSet {
        let mut pattern_index: HashMap<String, u32> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
        let mut need_spans: Vec<bool> = Vec::new();
        let mut scan_author = false;
        let mut compiled = Vec::with_capacity(plans.len());
        for (id, plan) in plans {
            let mut map = Vec::with_capacity(plan.terms.len());
            for term in &plan.terms {
                if term.field == Field::Platform {
                    map.push(NO_PATTERN);
                    continue;
                }
                scan_author |= term.field == Field::Author;
                let next = patterns.len() as u32;
                let p = *pattern_index.entry(term.text.clone()).or_insert(next);
                if p == next {
                    patterns.push(term.text.clone());
                    need_spans.push(false);
                }
                map.push(p);
            }
            mark_near(&plan.root, &map, &mut need_spans);
            compiled.push(Compiled {
                id,
                plan,
                patterns: map,
            });
        }
        let pattern_chars = patterns.iter().map(|p| p.chars().count()).collect();
        let mut anchors = vec![Vec::new(); patterns.len()];
        let mut platform_anchors: HashMap<String, Vec<u32>> = HashMap::new();
        for (i, c) in compiled.iter().enumerate() {
            let mut set = anchor_terms(&c.plan.root, &c.plan).1;
            set.sort_unstable();
            set.dedup();
            for t in set {
                match c.patterns[t] {
                    NO_PATTERN => platform_anchors
                        .entry(c.plan.terms[t].text.clone())
                        .or_default()
                        .push(i as u32),
                    p => anchors[p as usize].push(i as u32),
                }
            }
        }
        for list in anchors.iter_mut().chain(platform_anchors.values_mut()) {
            list.dedup();
        }
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::Standard)
            .build(&patterns)
            .ok();
        PlanSet {
            plans: compiled,
            ac,
            patterns,
            pattern_chars,
            need_spans,
            anchors,
            platform_anchors,
            scan_author,
        }
    }

    /// Number of plans.
    pub fn len(&self) -> usize {
        self.plans.len()
    }

    /// True if there are no plans.
    pub fn is_empty(&self) -> bool {
        self.plans.is_empty()
    }

    /// Number of distinct term texts in the automaton.
    pub fn pattern_count(&self) -> usize {
        self.patterns.len()
    }

    /// Every plan that matches `doc`, in the order the plans were given, each with the terms
    /// that made it match. All fields of `doc` must already be normalised with
    /// [`crate::normalize`].
    pub fn match_doc(&self, doc: &MatchInput) -> Vec<PlanHit> {
        // The per-pattern flags are a thread's reused buffer: with thousands of plans,
        // zeroing a fresh one per document would cost more than the scan. Only the
        // entries this document set are cleared afterwards.
        let mut flags = FLAGS.with(|f| std::mem::take(&mut *f.borrow_mut()));
        if flags.len() < self.patterns.len() {
            flags.resize(self.patterns.len(), 0);
        }
        let mut scan = Scan {
            flags,
            found: Vec::new(),
            spans: HashMap::new(),
        };
        let hits = self.match_scan(doc, &mut scan);
        for &p in &scan.found {
            scan.flags[p as usize] = 0;
        }
        FLAGS.with(|f| *f.borrow_mut() = scan.flags);
        hits
    }

    fn match_scan(&self, doc: &MatchInput, scan: &mut Scan) -> Vec<PlanHit> {
        self.scan(doc.title, TITLE, scan);
        self.scan(doc.text, TEXT, scan);
        if self.scan_author {
            self.scan(doc.author, AUTHOR, scan);
        }
        let platform = platform_key(doc.platform);
        let mut candidates: Vec<u32> = Vec::new();
        for &p in &scan.found {
            candidates.extend_from_slice(&self.anchors[p as usize]);
        }
        if let Some(list) = self.platform_anchors.get(&platform) {
            candidates.extend_from_slice(list);
        }
        candidates.sort_unstable();
        candidates.dedup();
        let mut hits = Vec::new();
        for i in candidates {
            let c = &self.plans[i as usize];
            let oracle = SetOracle {
                set: self,
                scan,
                compiled: c,
                platform: &platform,
            };
            if eval(&c.plan.root, &oracle) {
                hits.push(PlanHit {
                    plan_id: c.id,
                    terms: hit_terms(&c.plan.root, &c.plan.terms, &oracle),
                });
            }
        }
        hits
    }

    fn scan(&self, hay: &str, bit: u8, scan: &mut Scan) {
        if hay.is_empty() || self.patterns.is_empty() {
            return;
        }
        let Some(ac) = &self.ac else {
            for (p, pattern) in self.patterns.iter().enumerate() {
                if self.need_spans[p] {
                    let starts = char_starts(hay, pattern);
                    if !starts.is_empty() {
                        self.mark(scan, p as u32, bit);
                        scan.spans.insert((p as u32, bit), starts);
                    }
                } else if hay.contains(pattern.as_str()) {
                    self.mark(scan, p as u32, bit);
                }
            }
            return;
        };
        // Character index at byte `cursor_byte`, advanced as matches come (ordered by end).
        let (mut cursor_byte, mut cursor_char) = (0usize, 0usize);
        let mut touched: Vec<u32> = Vec::new();
        for m in ac.find_overlapping_iter(hay) {
            let p = m.pattern().as_usize() as u32;
            self.mark(scan, p, bit);
            if !self.need_spans[p as usize] {
                continue;
            }
            let end = m.end();
            if end < cursor_byte {
                (cursor_byte, cursor_char) = (0, 0);
            }
            cursor_char += hay.get(cursor_byte..end).map_or(0, |s| s.chars().count());
            cursor_byte = end;
            let start = cursor_char.saturating_sub(self.pattern_chars[p as usize]);
            let list = scan.spans.entry((p, bit)).or_default();
            if list.is_empty() {
                touched.push(p);
            }
            list.push(start);
        }
        for p in touched {
            if let Some(list) = scan.spans.get_mut(&(p, bit)) {
                list.sort_unstable();
                list.dedup();
            }
        }
    }

    fn mark(&self, scan: &mut Scan, p: u32, bit: u8) {
        let f = &mut scan.flags[p as usize];
        if *f == 0 {
            scan.found.push(p);
        }
        *f |= bit;
    }
}

struct SetOracle<'a> {
    set: &'a PlanSet,
    scan: &'a Scan,
    compiled: &'a Compiled,
    platform: &'a str,
}

impl Oracle for SetOracle<'_> {
    fn has(&self, t: usize) -> bool {
        let term = &self.compiled.plan.terms[t];
        match self.compiled.patterns[t] {
            NO_PATTERN => self.platform == term.text,
            p => self.scan.flags[p as usize] & mask(term.field) != 0,
        }
    }

    fn near(&self, a: usize, b: usize, n: usize) -> bool {
        let field = self.compiled.plan.terms[a].field;
        let (pa, pb) = (self.compiled.patterns[a], self.compiled.patterns[b]);
        if pa == NO_PATTERN || pb == NO_PATTERN {
            return false;
        }
        let (la, lb) = (
            self.set.pattern_chars[pa as usize],
            self.set.pattern_chars[pb as usize],
        );
        [TITLE, TEXT, AUTHOR]
            .into_iter()
            .filter(|bit| mask(field) & bit != 0)
            .any(|bit| {
                match (
                    self.scan.spans.get(&(pa, bit)),
                    self.scan.spans.get(&(pb, bit)),
                ) {
                    (Some(sa), Some(sb)) => near_ok(sa, la, sb, lb, n),
                    _ => false,
                }
            })
    }
}

fn mark_near(node: &Node, map: &[u32], need: &mut [bool]) {
    match &node.kind {
        Kind::Term(_) => {}
        Kind::Near { a, b, .. } => {
            for t in [*a, *b] {
                if let Some(slot) = map.get(t).and_then(|&p| need.get_mut(p as usize)) {
                    *slot = true;
                }
            }
        }
        Kind::And(items) => items.iter().for_each(|it| mark_near(&it.node, map, need)),
        Kind::Or(children) => children.iter().for_each(|c| mark_near(c, map, need)),
    }
}

/// Cost of relying on one term as an anchor: short terms occur often, platform values
/// (a handful of values shared by every document) most often.
fn term_cost(plan: &Plan, t: usize) -> f64 {
    let term = &plan.terms[t];
    if term.field == Field::Platform {
        return 4.0;
    }
    1.0 / term.text.chars().count().clamp(1, 8) as f64
}

/// `(cost, terms)`: terms of which at least one occurs whenever `node` is true.
pub(crate) fn anchor_terms(node: &Node, plan: &Plan) -> (f64, Vec<usize>) {
    match &node.kind {
        Kind::Term(t) => (term_cost(plan, *t), vec![*t]),
        Kind::Near { a, b, .. } => {
            let (ca, cb) = (term_cost(plan, *a), term_cost(plan, *b));
            if ca <= cb {
                (ca, vec![*a])
            } else {
                (cb, vec![*b])
            }
        }
        Kind::And(items) => items
            .iter()
            .filter(|it| !it.neg)
            .map(|it| anchor_terms(&it.node, plan))
            .min_by(|x, y| x.0.total_cmp(&y.0))
            .unwrap_or_default(),
        Kind::Or(children) => {
            let mut cost = 0.0;
            let mut terms = Vec::new();
            for c in children {
                let (cc, ct) = anchor_terms(c, plan);
                cost += cc;
                terms.extend(ct);
            }
            (cost, terms)
        }
    }
}
