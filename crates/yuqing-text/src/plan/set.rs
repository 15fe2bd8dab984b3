//! [`PlanSet`]: all active plans compiled together, matched against one document at a time.
//!
//! **One scan.** Every distinct term text of every plan goes into one [`Scanner`]: a
//! hashed index of the terms by their first two characters, looked up at each character
//! of the text behind an L1-sized bit filter (see `scan.rs`). It finds every occurrence
//! of every term, overlapping ones included (`北京`, `北京大学`), as an overlapping
//! Aho–Corasick search would. It replaced daachorse's character-wise double-array
//! automaton: with thousands of Chinese words most characters of a text lead somewhere in
//! the automaton, whose table does not stay in L1, while most positions stop at the
//! filter. A document's title, text (and author, if any plan has an `author:` term) are
//! each scanned once.
//!
//! **Only plans that can match are evaluated.** Each plan is reduced to *alternatives*
//! (`requirements`): lists of *clauses*, each clause a set of *anchor* terms, such that
//! whenever the plan is true, some alternative has an anchor of every clause among the
//! terms found (for `(A|B)+C-D` one alternative `[{A, B}, {C}]`; for `X NEAR/5 Y` `[{X},
//! {Y}]`; for `(P+Q)|(R+S)` two alternatives). This is sound because a true conjunction has
//! every positive item true and excluded terms (`-`/`NOT`) are never anchors; a plan made
//! only of exclusions cannot be written (a conjunction starts with a positive item, and the
//! structured form refuses exclusion words alone), so every plan has a positive term to be
//! found by. Each alternative is a *unit* with a *gate*, the clause whose terms anchor the
//! fewest units, and (if it has other clauses) a *second* clause, the next rarest. Units
//! are indexed by *pairs* (gate term, second-clause term): a document opens a unit only if
//! it holds both terms of one of its pairs (each in its field), and then the unit's
//! remaining clauses are checked against the per-term flags.
//!
//! **Most documents stop at the scan.** Each pattern has a 128-bit signature of its
//! second terms (bit `q % 128` of each), and the scan gathers the signatures and the bits
//! of the patterns it finds. Unless some pattern found has another one found (or itself)
//! in its signature, or has solo postings, no unit can open and the document is done
//! without touching the index: about three documents in four of the benchmark's short
//! posts (1.6 patterns found per post). Otherwise the distinct patterns found and their
//! fields are gathered (in a short list, or for a long text in the per-pattern table),
//! and with at most [`MAX_PROBED`] of them each pair whose signatures allow it is looked
//! up in one table of unordered pairs → postings, behind a bit filter (the candidate
//! pairs are computed without a branch per pair); with more, each found gate's pair
//! postings are read and their second terms' flags tested. Units with a single clause,
//! or whose gate and second clause would make more than [`MAX_PAIRS`] pairs, are indexed by
//! their gate terms alone (*solo*
//! postings). Only plans with a unit passing are evaluated (exclusions, `NEAR/n`
//! distances, field scopes) — on the benchmark's 10,000 plans about one plan per 240
//! documents. Clauses anchored on `platform:` values are left to that evaluation when the
//! alternative has other clauses (every document of a platform has its value).
//!
//! **No allocation per document** in the common case: the per-term flags (stamped with a
//! document counter, so nothing is cleared between documents), the scanner's buffer, the
//! candidates and the occurrences of every term found (sorted only when some plan is
//! evaluated, for `NEAR/n`) live in a reused [`Scratch`] (one per thread behind [`PlanSet::match_doc`]);
//! only hits allocate.

use std::cell::RefCell;
use std::collections::HashMap;
use std::fmt;

use super::ast::{Kind, Node};
use super::eval::{Oracle, char_starts, eval, hit_terms, near_ok, platform_key_cow};
use super::keys::KeyIndex;
use super::scan::{Candidate, Scanner};
use super::{Field, MatchInput, Plan, PlanHit};

const TITLE: u8 = 1;
const TEXT: u8 = 2;
const AUTHOR: u8 = 4;

/// Most clauses kept per alternative. Clauses past it are not checked, which only lets
/// more plans through to evaluation.
const MAX_CLAUSES: usize = 16;

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
    /// The plan has a `NEAR/n`: evaluating it needs the occurrences sorted.
    near: bool,
}

/// Whether `node` has a `NEAR/n` node.
fn has_near(node: &Node) -> bool {
    match &node.kind {
        Kind::Term(_) => false,
        Kind::Near { .. } => true,
        Kind::And(items) => items.iter().any(|it| has_near(&it.node)),
        Kind::Or(children) => children.iter().any(has_near),
    }
}

/// One entry of the inverted index: finding the gate term in one of `fields` (TITLE /
/// TEXT / AUTHOR bits: the anchor's own scope) — and, for a *pair* posting, the pattern
/// `second` in one of `second_fields` — opens this unit (one alternative of one plan) if
/// its remaining clauses (`checks`) hold too.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Posting {
    unit: u32,
    /// Offset in [`PlanSet::checks`] of the unit's clauses other than the gate (and the
    /// pair's second clause); 0 if there are none.
    checks: u32,
    /// An anchor of the unit's second clause, or [`NO_PATTERN`] for a *solo* posting (a
    /// unit with one clause, or one whose gate and second clause would make too many pairs).
    second: u32,
    fields: u8,
    second_fields: u8,
}

/// Most (gate term, second-clause term) pairs a unit is indexed under; past it the unit
/// gets solo postings, checked from its gate terms' lists.
const MAX_PAIRS: usize = 64;

/// A set of patterns as bits `1 << (p % 128)` ([`sig_bit`]): the patterns found in a
/// document, a pattern's second terms ([`PlanSet::partners`]). 128 bits, where 64 let
/// half the pairs of found patterns through to the pair filter: gates have up to about 40
/// second terms.
type Sig = u128;

/// The bit of pattern `p` in a [`Sig`].
#[inline(always)]
fn sig_bit(p: u32) -> Sig {
    1 << (p % Sig::BITS)
}

/// The key of the unordered pair of patterns `a` and `b` in [`PlanSet::pairs`].
fn pair_key(a: u32, b: u32) -> u64 {
    (u64::from(a.min(b)) << 32) | u64::from(a.max(b))
}

/// Documents with more distinct patterns found than this read every pair posting list of
/// their patterns instead of looking up each pair of them (at most 64: the pairs of one
/// pattern are bits of a word).
const MAX_PROBED: usize = 64;

/// Documents with at most this many occurrences keep their patterns' flags in a short
/// list ([`Scratch::found`]), not in the per-pattern table.
const SPARSE_OCCURRENCES: usize = 32;

/// The postings of one gate pattern: `postings[start..end]`, solo postings first, then
/// (from `pairs`) pair postings.
#[derive(Debug, Clone, Copy, Default)]
struct Lists {
    start: u32,
    pairs: u32,
    end: u32,
}

/// Every active plan compiled into one matcher. Cheap to share (`&self` matching, `Sync`).
#[derive(Clone)]
pub struct PlanSet {
    plans: Vec<Compiled>,
    /// Per unit: its plan (index into `plans`); units of a plan are consecutive.
    units: Vec<u32>,
    /// Per unit, from its postings' `checks` offset: its clauses other than the gate, as
    /// `[clauses, (terms, (pattern, fields) × terms) × clauses]`, so that checking a unit
    /// reads one place.
    checks: Vec<u32>,
    /// Finds the patterns in a text; `None` if there are no patterns, or in tests
    /// ([`PlanSet::without_scanner`]): then patterns are searched one by one.
    scanner: Option<Scanner>,
    patterns: Vec<String>,
    pattern_chars: Vec<usize>,
    /// Inverted index, gate pattern → its postings (one record per pattern).
    index: Vec<Lists>,
    /// Patterns with solo postings, as bits.
    solos: Vec<u64>,
    /// Per pattern, the [`Sig`] of its second terms (those of the pair postings it is the
    /// gate of). A document none of whose patterns found has the bit of another found in
    /// its signature, or its own when it is its own second term, and none of which has
    /// solo postings, opens no unit: the scan tells that without reading the index (see
    /// [`PlanSet::match_doc_with`]).
    partners: Vec<Sig>,
    postings: Vec<Posting>,
    /// The pair postings again, by unordered pair of patterns ([`pair_key`]):
    /// `pair_postings[start..end]`, gate and second either way round.
    pairs: KeyIndex,
    pair_postings: Vec<Posting>,
    /// Platform value → postings of plans that have no clause but platform-anchored ones.
    platform_postings: HashMap<String, Vec<Posting>>,
    scan_author: bool,
}

impl fmt::Debug for PlanSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PlanSet")
            .field("plans", &self.plans.len())
            .field("patterns", &self.patterns.len())
            .field("postings", &self.postings.len())
            .field(
                "scanner_bytes",
                &self.scanner.as_ref().map(|a| a.heap_bytes()),
            )
            .field("pair_postings", &self.pair_postings.len())
            .field("pair_index_bytes", &self.pairs.heap_bytes())
            .finish_non_exhaustive()
    }
}

/// Reusable per-document state of [`PlanSet::match_doc_with`]. One per thread; it may be
/// used with any number of plan sets (entries are stamped with a document counter, never
/// cleared).
#[derive(Debug, Default)]
pub struct Scratch {
    /// Counter of documents matched with this scratch; entries stamped with another value
    /// are stale.
    epoch: u32,
    /// Per pattern: (epoch, TITLE / TEXT / AUTHOR bits where it occurred).
    pattern_state: Vec<(u32, u8)>,
    /// Distinct patterns found in this document, in first-found order (after
    /// [`collect`](Self::collect)), and unless `dense`, the fields each was found in.
    found: Vec<u32>,
    found_flags: Vec<u8>,
    /// The [`PlanSet::partners`] signatures of `found`, for the pair probe.
    found_sigs: Vec<Sig>,
    /// The document has more than [`SPARSE_OCCURRENCES`] occurrences: the fields of its
    /// patterns are in `pattern_state`.
    dense: bool,
    /// Units whose clause mask became complete, then (sorted, distinct) their plans.
    candidates: Vec<u32>,
    /// The [`Sig`] of the patterns found.
    found_bits: Sig,
    /// The union of the [`PlanSet::partners`] signatures of the patterns found, and whether
    /// one of them has solo postings.
    partners: Sig,
    solo: bool,
    /// Positions of a text for the scanner's second pass.
    candidates_buf: Vec<Candidate>,
    /// Every occurrence found, as (pattern, field bit, character start), in scan order:
    /// recorded for every pattern (a push, where a test of whether the pattern is used
    /// by some `NEAR/n` mispredicted about once a document), and sorted only when a plan
    /// with `NEAR/n` is evaluated ([`Scratch::sort_occurrences`]).
    occurrences: Vec<(u32, u8, usize)>,
    /// The starts of `occurrences` once sorted, so that one (pattern, field) is a slice.
    starts: Vec<usize>,
    sorted: bool,
}

impl Scratch {
    pub fn new() -> Scratch {
        Scratch::default()
    }

    /// Starts a document for a set of `patterns` patterns.
    fn begin(&mut self, patterns: usize) {
        if self.epoch == u32::MAX {
            self.pattern_state.iter_mut().for_each(|s| s.0 = 0);
            self.epoch = 0;
        }
        self.epoch += 1;
        if self.pattern_state.len() < patterns {
            self.pattern_state.resize(patterns, (0, 0));
        }
        self.found.clear();
        self.found_flags.clear();
        self.dense = false;
        self.found_bits = 0;
        self.partners = 0;
        self.solo = false;
        self.candidates.clear();
        self.occurrences.clear();
        // A long text (up to the 1 MB default) can leave a million occurrences behind;
        // a thread's scratch lives as long as the thread, so give that memory back.
        if self.occurrences.capacity() > MAX_KEPT_OCCURRENCES {
            self.occurrences.shrink_to(MAX_KEPT_OCCURRENCES / 16);
            self.starts = Vec::new();
        }
        self.sorted = false;
    }

    /// The fields (TITLE / TEXT / AUTHOR bits) `p` was found in (after
    /// [`collect`](Self::collect)).
    fn flags(&self, p: u32) -> u8 {
        if self.dense {
            match self.pattern_state[p as usize] {
                (e, f) if e == self.epoch => f,
                _ => 0,
            }
        } else if self.found_bits & sig_bit(p) == 0 {
            0
        } else {
            self.found
                .iter()
                .position(|&q| q == p)
                .map_or(0, |i| self.found_flags[i])
        }
    }

    /// Records an occurrence of `p` in the field `bit` at character `start`, during the
    /// scan, with the pattern's [`PlanSet::partners`] signature and whether it has solo
    /// postings; the distinct patterns and their fields are gathered later, and only if
    /// some unit may open ([`collect`](Self::collect)).
    #[inline(always)]
    fn occurred(&mut self, p: u32, bit: u8, start: usize, partners: Sig, solo: bool) {
        self.occurrences.push((p, bit, start));
        self.found_bits |= sig_bit(p);
        self.partners |= partners;
        self.solo |= solo;
    }

    /// The distinct patterns of the occurrences and the fields each was found in: in a
    /// short list for a few occurrences, else in `pattern_state`.
    fn collect(&mut self) {
        self.found.clear();
        self.found_flags.clear();
        self.dense = self.occurrences.len() > SPARSE_OCCURRENCES;
        for k in 0..self.occurrences.len() {
            let (p, bit, _) = self.occurrences[k];
            if self.dense {
                let s = &mut self.pattern_state[p as usize];
                if s.0 != self.epoch {
                    *s = (self.epoch, bit);
                    self.found.push(p);
                } else {
                    s.1 |= bit;
                }
            } else if let Some(i) = self.found.iter().position(|&q| q == p) {
                self.found_flags[i] |= bit;
            } else {
                self.found.push(p);
                self.found_flags.push(bit);
            }
        }
    }

    /// Sorts the occurrences by (pattern, field, start) for [`Scratch::spans`].
    fn sort_occurrences(&mut self) {
        if self.sorted {
            return;
        }
        self.occurrences.sort_unstable();
        self.starts.clear();
        self.starts.extend(self.occurrences.iter().map(|o| o.2));
        self.sorted = true;
    }

    /// The character starts of `p` in the field `bit`, ascending (after
    /// [`sort_occurrences`](Self::sort_occurrences)).
    fn spans(&self, p: u32, bit: u8) -> Option<&[usize]> {
        debug_assert!(self.sorted);
        let o = &self.occurrences;
        let from = o.partition_point(|x| (x.0, x.1) < (p, bit));
        let to = from + o[from..].partition_point(|x| (x.0, x.1) == (p, bit));
        (to > from).then(|| &self.starts[from..to])
    }
}

/// Occurrence buffers of a [`Scratch`] larger than this are shrunk when the next document
/// begins (a short post has one or two occurrences).
const MAX_KEPT_OCCURRENCES: usize = 1 << 16;

thread_local! {
    static SCRATCH: RefCell<Scratch> = RefCell::new(Scratch::new());
}

/// Most alternatives a plan is split into (see [`requirements`]).
const MAX_ALTERNATIVES: usize = 8;

/// A clause: anchor terms (plan-local), one of which occurs whenever the clause holds.
type Clause = Vec<usize>;

/// What must hold for `node` to be true, as alternatives (at least one holds) of clauses
/// (all hold), each clause a set of anchor terms of which one occurs:
///
/// - a term: one clause, the term; `a NEAR/n b`: two clauses, `a` and `b`;
/// - `A+B-C`: the clauses of A and of B (every combination of their alternatives); never
///   anything of C;
/// - `A|B`: one clause with the terms of both if each side is a single clause (an OR of
///   words), else the alternatives of A and those of B.
///
/// Where the alternatives would pass [`MAX_ALTERNATIVES`], a node falls back to one clause,
/// its [`anchor_terms`]. Every step keeps "`node` true ⇒ some alternative has every
/// clause satisfied", so a plan none of whose alternatives is complete cannot match.
fn requirements(node: &Node, plan: &Plan) -> Vec<Vec<Clause>> {
    let fallback = || vec![vec![anchor_terms(node, plan).1]];
    match &node.kind {
        Kind::Term(t) => vec![vec![vec![*t]]],
        Kind::Near { a, b, .. } => vec![vec![vec![*a], vec![*b]]],
        Kind::Or(children) => {
            let reqs: Vec<Vec<Vec<Clause>>> =
                children.iter().map(|c| requirements(c, plan)).collect();
            if reqs.iter().all(|r| r.len() == 1 && r[0].len() == 1) {
                return vec![vec![
                    reqs.into_iter()
                        .flat_map(|mut r| r.swap_remove(0).swap_remove(0))
                        .collect(),
                ]];
            }
            let alternatives: Vec<Vec<Clause>> = reqs.into_iter().flatten().collect();
            if alternatives.len() > MAX_ALTERNATIVES {
                return fallback();
            }
            alternatives
        }
        Kind::And(items) => {
            let mut acc: Vec<Vec<Clause>> = vec![Vec::new()];
            for it in items.iter().filter(|it| !it.neg) {
                let mut req = requirements(&it.node, plan);
                if acc.len() * req.len() > MAX_ALTERNATIVES {
                    req = vec![vec![anchor_terms(&it.node, plan).1]];
                }
                acc = acc
                    .iter()
                    .flat_map(|a| {
                        req.iter().map(move |r| {
                            let mut both = a.clone();
                            both.extend(r.iter().cloned());
                            both
                        })
                    })
                    .collect();
            }
            acc
        }
    }
}

/// [`requirements`] of a plan, each clause sorted and distinct, at most [`MAX_CLAUSES`]
/// clauses per alternative (dropping clauses only weakens the filter).
fn alternatives(plan: &Plan) -> Vec<Vec<Clause>> {
    let mut alts = requirements(&plan.root, plan);
    for alt in &mut alts {
        for clause in alt.iter_mut() {
            clause.sort_unstable();
            clause.dedup();
            debug_assert!(!clause.is_empty(), "every node has an anchor");
        }
        alt.truncate(MAX_CLAUSES);
    }
    alts
}

impl PlanSet {
    /// Compiles `plans` (`(plan id, plan)`) into one matcher. Ids need not be unique; hits
    /// are reported in the order given here.
    pub fn new(plans: Vec<(i64, Plan)>) -> PlanSet {
        let mut pattern_index: HashMap<String, u32> = HashMap::new();
        let mut patterns: Vec<String> = Vec::new();
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
                }
                map.push(p);
            }
            compiled.push(Compiled {
                id,
                near: has_near(&plan.root),
                plan,
                patterns: map,
            });
        }
        let pattern_chars = patterns.iter().map(|p| p.chars().count()).collect();

        // The inverted index, over *units*: one per alternative of each plan. A clause
        // anchored (even partly) on a `platform:` value is left to evaluation, unless the
        // alternative has no other clause: then its first clause is the gate, platform
        // values included. Otherwise the gate is the textual clause whose terms anchor the
        // fewest units (terms shared by many plans, such as 北京, tend to be frequent in
        // documents too), and the unit's other textual clauses are checked when it opens.
        let mut all: Vec<(u32, Vec<Clause>)> = Vec::new();
        for (i, c) in compiled.iter().enumerate() {
            for alt in alternatives(&c.plan) {
                let textual: Vec<Clause> = alt
                    .iter()
                    .filter(|ts| ts.iter().all(|&t| c.patterns[t] != NO_PATTERN))
                    .cloned()
                    .collect();
                let indexed = if textual.is_empty() {
                    alt.into_iter().take(1).collect()
                } else {
                    textual
                };
                all.push((i as u32, indexed));
            }
        }
        let mut uses = vec![0u32; patterns.len()];
        for (i, clauses) in &all {
            let c = &compiled[*i as usize];
            for &t in clauses.iter().flatten() {
                if let Some(n) = uses.get_mut(c.patterns[t] as usize) {
                    *n += 1;
                }
            }
        }
        let mut entries: Vec<(u32, Posting)> = Vec::new();
        let mut platform_postings: HashMap<String, Vec<Posting>> = HashMap::new();
        let mut units: Vec<u32> = Vec::with_capacity(all.len());
        // Offset 0: no other clause.
        let mut checks: Vec<u32> = vec![0];
        for (unit, (i, mut clauses)) in all.into_iter().enumerate() {
            let c = &compiled[i as usize];
            let weight = |clause: &Clause| -> u64 {
                clause
                    .iter()
                    .map(|&t| {
                        uses.get(c.patterns[t] as usize)
                            .map_or(u64::MAX / 64, |&n| u64::from(n))
                    })
                    .sum()
            };
            let rarest = |clauses: &mut Vec<Clause>| -> Clause {
                let k = (0..clauses.len())
                    .min_by_key(|&k| weight(&clauses[k]))
                    .unwrap_or(0);
                clauses.swap_remove(k)
            };
            let gate = rarest(&mut clauses);
            // The second clause, if the unit is indexed by pairs (every clause is textual
            // when there are several: a platform-anchored clause is only kept alone).
            let mut second = None;
            if !clauses.is_empty() && gate.iter().all(|&t| c.patterns[t] != NO_PATTERN) {
                let clause = rarest(&mut clauses);
                if clause.len() * gate.len() <= MAX_PAIRS {
                    second = Some(clause);
                } else {
                    clauses.push(clause);
                }
            }
            let offset = if clauses.is_empty() {
                0
            } else {
                let offset = checks.len() as u32;
                checks.push(clauses.len() as u32);
                for clause in &clauses {
                    checks.push(clause.len() as u32);
                    for &t in clause {
                        checks.push(c.patterns[t]);
                        checks.push(u32::from(mask(c.plan.terms[t].field)));
                    }
                }
                offset
            };
            for &t in &gate {
                let solo = Posting {
                    unit: unit as u32,
                    checks: offset,
                    second: NO_PATTERN,
                    fields: mask(c.plan.terms[t].field),
                    second_fields: 0,
                };
                match (c.patterns[t], &second) {
                    (NO_PATTERN, _) => platform_postings
                        .entry(c.plan.terms[t].text.clone())
                        .or_default()
                        .push(solo),
                    (p, None) => entries.push((p, solo)),
                    (p, Some(second)) => {
                        for &u in second {
                            entries.push((
                                p,
                                Posting {
                                    second: c.patterns[u],
                                    second_fields: mask(c.plan.terms[u].field),
                                    ..solo
                                },
                            ));
                        }
                    }
                }
            }
            units.push(i);
        }
        // One posting per (pattern, second, unit, fields), solo postings first.
        entries.sort_unstable_by_key(|(p, posting)| {
            (
                *p,
                posting.second != NO_PATTERN,
                posting.second,
                posting.unit,
                posting.fields,
                posting.second_fields,
            )
        });
        entries.dedup();
        let mut index = vec![Lists::default(); patterns.len()];
        let mut partners: Vec<Sig> = vec![0; patterns.len()];
        let mut postings: Vec<Posting> = Vec::with_capacity(entries.len());
        let mut by_pair: Vec<(u64, Posting)> = Vec::new();
        for (p, group) in entries.chunk_by(|x, y| x.0 == y.0).map(|g| (g[0].0, g)) {
            let lists = &mut index[p as usize];
            lists.start = postings.len() as u32;
            lists.pairs = lists.start;
            for &(_, posting) in group {
                let at = postings.len() as u32;
                postings.push(posting);
                if posting.second == NO_PATTERN {
                    lists.pairs = at + 1;
                    continue;
                }
                partners[p as usize] |= sig_bit(posting.second);
                by_pair.push((pair_key(p, posting.second), posting));
            }
            lists.end = postings.len() as u32;
        }
        by_pair.sort_unstable_by_key(|&(k, posting)| (k, posting.unit, posting.second));
        let mut pair_entries: Vec<(u64, u32, u32)> = Vec::new();
        let mut pair_postings: Vec<Posting> = Vec::with_capacity(by_pair.len());
        for group in by_pair.chunk_by(|x, y| x.0 == y.0) {
            let start = pair_postings.len() as u32;
            pair_postings.extend(group.iter().map(|&(_, posting)| posting));
            pair_entries.push((group[0].0, start, pair_postings.len() as u32));
        }
        for list in platform_postings.values_mut() {
            list.sort_unstable_by_key(|posting| (posting.unit, posting.fields));
            list.dedup();
        }
        let scanner = if patterns.is_empty() {
            None
        } else {
            Scanner::new(&patterns)
        };
        PlanSet {
            plans: compiled,
            units,
            checks,
            scanner,
            patterns,
            pattern_chars,
            partners,
            solos: index
                .chunks(64)
                .map(|c| {
                    c.iter()
                        .enumerate()
                        .fold(0u64, |w, (i, l)| w | (u64::from(l.pairs > l.start) << i))
                })
                .collect(),
            index,
            postings,
            pairs: KeyIndex::new(&pair_entries),
            pair_postings,
            platform_postings,
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

    /// True if some plan has an `author:` term: only then is [`MatchInput::author`] read,
    /// so a caller may skip normalising the author name otherwise.
    pub fn uses_author(&self) -> bool {
        self.scan_author
    }

    /// Every plan that matches `doc`, in the order the plans were given, each with the terms
    /// that made it match. All fields of `doc` must already be normalised with
    /// [`crate::normalize`]. Uses the calling thread's [`Scratch`].
    pub fn match_doc(&self, doc: &MatchInput) -> Vec<PlanHit> {
        SCRATCH.with(|s| match s.try_borrow_mut() {
            Ok(mut s) => self.match_doc_with(doc, &mut s),
            Err(_) => self.match_doc_with(doc, &mut Scratch::new()),
        })
    }

    /// [`match_doc`](Self::match_doc) with the caller's scratch state.
    pub fn match_doc_with(&self, doc: &MatchInput, s: &mut Scratch) -> Vec<PlanHit> {
        if self.plans.is_empty() {
            return Vec::new();
        }
        s.begin(self.patterns.len());
        self.scan(doc.title, TITLE, s);
        self.scan(doc.text, TEXT, s);
        if self.scan_author {
            self.scan(doc.author, AUTHOR, s);
        }
        let platform_list = if self.platform_postings.is_empty() {
            None
        } else {
            self.platform_postings
                .get(platform_key_cow(doc.platform).as_ref())
        };
        // No pattern found that could open a unit with another one found (the common
        // case: one or two words of a short post, none a gate whose second terms were
        // found too) and none with solo postings: no posting to read.
        if s.partners & s.found_bits == 0 && !s.solo && platform_list.is_none() {
            return Vec::new();
        }
        s.collect();
        let found = s.found.len();
        // Few patterns: each pair of them whose signatures allow it is looked up; many:
        // each gate's pair postings are read and their second terms' flags tested.
        let probe = found <= MAX_PROBED;
        s.found_sigs.clear();
        if probe {
            s.found_sigs
                .extend(s.found.iter().map(|&q| self.partners[q as usize]));
        }
        for i in 0..found {
            let p = s.found[i];
            let mask = self.partners[p as usize];
            if s.solo && self.is_solo(p) {
                let flags = s.flags(p);
                let lists = self.index[p as usize];
                for &posting in &self.postings[lists.start as usize..lists.pairs as usize] {
                    if flags & posting.fields != 0 && self.passes(posting, s) {
                        s.candidates.push(posting.unit);
                    }
                }
            }
            if probe {
                // (p, q) for the q from p on (p itself when its signature has its own bit:
                // a term in two clauses of a unit, its own second term) such that q's bit
                // is in p's signature or p's in q's, without a branch per pair.
                let own = sig_bit(p);
                let mut pairs = 0u64;
                for j in i..found {
                    let hit = (mask & sig_bit(s.found[j])) | (s.found_sigs[j] & own);
                    pairs |= u64::from(hit != 0) << j;
                }
                while pairs != 0 {
                    let j = pairs.trailing_zeros() as usize;
                    pairs &= pairs - 1;
                    self.open_pair(p, s.found[j], s);
                }
            } else if mask != 0 {
                let flags = s.flags(p);
                let lists = self.index[p as usize];
                for &posting in &self.postings[lists.pairs as usize..lists.end as usize] {
                    if flags & posting.fields != 0
                        && s.flags(posting.second) & posting.second_fields != 0
                        && self.passes(posting, s)
                    {
                        s.candidates.push(posting.unit);
                    }
                }
            }
        }
        if let Some(list) = platform_list {
            for &posting in list {
                if self.passes(posting, s) {
                    s.candidates.push(posting.unit);
                }
            }
        }
        if s.candidates.is_empty() {
            return Vec::new();
        }
        let platform = platform_key_cow(doc.platform);
        // Units → plans. Units of a plan are consecutive and plans in order, so sorting
        // the units sorts the plans.
        s.candidates.sort_unstable();
        for k in 0..s.candidates.len() {
            s.candidates[k] = self.units[s.candidates[k] as usize];
        }
        s.candidates.dedup();
        // Only `NEAR/n` reads the occurrences by position (a long text has hundreds).
        if s.candidates.iter().any(|&i| self.plans[i as usize].near) {
            s.sort_occurrences();
        }
        let s: &Scratch = s;
        let mut hits = Vec::new();
        for &i in &s.candidates {
            let c = &self.plans[i as usize];
            let oracle = SetOracle {
                set: self,
                scratch: s,
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

    /// Opens the units of the pair postings of the patterns `a` and `b` (both found; either
    /// may be the gate), if there are any: a filter test, then the pair table.
    #[inline]
    fn open_pair(&self, a: u32, b: u32, s: &mut Scratch) {
        let key = pair_key(a, b);
        if !self.pairs.may_contain(key) {
            return;
        }
        let (start, end) = self.pairs.get(key);
        for &posting in &self.pair_postings[start as usize..end as usize] {
            let gate = if posting.second == a { b } else { a };
            if s.flags(gate) & posting.fields != 0
                && s.flags(posting.second) & posting.second_fields != 0
                && self.passes(posting, s)
            {
                s.candidates.push(posting.unit);
            }
        }
    }

    /// Whether every remaining clause of the unit `posting` opened has an anchor found in
    /// its field.
    fn passes(&self, posting: Posting, s: &Scratch) -> bool {
        if posting.checks == 0 {
            return true;
        }
        let c = &self.checks;
        let mut o = posting.checks as usize;
        let clauses = c[o];
        o += 1;
        for _ in 0..clauses {
            let terms = c[o] as usize;
            let clause = &c[o + 1..o + 1 + 2 * terms];
            o += 1 + 2 * terms;
            if !clause
                .chunks_exact(2)
                .any(|t| s.flags(t[0]) & t[1] as u8 != 0)
            {
                return false;
            }
        }
        true
    }

    /// Whether the pattern `p` has solo postings.
    #[inline(always)]
    fn is_solo(&self, p: u32) -> bool {
        self.solos[p as usize / 64] & (1 << (p % 64)) != 0
    }

    fn scan(&self, hay: &str, bit: u8, s: &mut Scratch) {
        if hay.is_empty() || self.patterns.is_empty() {
            return;
        }
        match &self.scanner {
            Some(scanner) => {
                let mut buf = std::mem::take(&mut s.candidates_buf);
                scanner.scan_with(hay, &mut buf, |p, start| {
                    s.occurred(p, bit, start, self.partners[p as usize], self.is_solo(p));
                });
                s.candidates_buf = buf;
            }
            None => {
                for (p, pattern) in self.patterns.iter().enumerate() {
                    let p = p as u32;
                    let starts = char_starts(hay, pattern);
                    for start in starts {
                        s.occurred(p, bit, start, self.partners[p as usize], self.is_solo(p));
                    }
                }
            }
        }
    }

    /// The same set without its scan index: every pattern searched on its own with
    /// `str::contains`, for tests (a reference for the index).
    #[doc(hidden)]
    pub fn without_scanner(mut self) -> PlanSet {
        self.scanner = None;
        self
    }
}

struct SetOracle<'a> {
    set: &'a PlanSet,
    scratch: &'a Scratch,
    compiled: &'a Compiled,
    platform: &'a str,
}

impl Oracle for SetOracle<'_> {
    fn has(&self, t: usize) -> bool {
        let term = &self.compiled.plan.terms[t];
        match self.compiled.patterns[t] {
            NO_PATTERN => self.platform == term.text,
            p => self.scratch.flags(p) & mask(term.field) != 0,
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
            .any(
                |bit| match (self.scratch.spans(pa, bit), self.scratch.spans(pb, bit)) {
                    (Some(sa), Some(sb)) => near_ok(sa, la, sb, lb, n),
                    _ => false,
                },
            )
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

#[cfg(test)]
mod tests {
    use super::*;

    fn set(expr: &str) -> PlanSet {
        PlanSet::new(vec![(1, Plan::parse(expr).unwrap())])
    }

    fn hits(set: &PlanSet, s: &mut Scratch, title: &str, text: &str) -> usize {
        set.match_doc_with(
            &MatchInput {
                title,
                text,
                ..Default::default()
            },
            s,
        )
        .len()
    }

    #[test]
    fn near_reads_the_occurrences_of_its_own_field_after_a_long_text() {
        let near = set("医院 NEAR/3 孩子");
        let mut s = Scratch::new();
        // 200,000 occurrences: the buffer grows past what a scratch keeps.
        let long = "医院孩子".repeat(100_000);
        assert_eq!(hits(&near, &mut s, "", &long), 1);
        assert!(s.occurrences.capacity() > MAX_KEPT_OCCURRENCES);
        // The terms in different fields are not near each other; in one field they are.
        assert_eq!(hits(&near, &mut s, "医院", "孩子"), 0);
        assert!(s.occurrences.capacity() <= MAX_KEPT_OCCURRENCES);
        assert_eq!(hits(&near, &mut s, "医院", "孩子在那家医院"), 1);
        assert_eq!(hits(&near, &mut s, "", "医院里一个孩子"), 1);
        assert_eq!(hits(&near, &mut s, "", "医院里有一个孩子"), 0);
        assert_eq!(hits(&near, &mut s, "", "医院里面有很多的孩子"), 0);
    }
}
