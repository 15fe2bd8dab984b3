//! Evaluation of a plan's boolean tree against "which terms occur where": the [`Oracle`]
//! trait (answered by a plain substring search for a single [`Plan`](super::Plan), by the
//! shared automaton scan for a [`PlanSet`](super::PlanSet)), the `NEAR/n` distance test, and
//! the collection of the terms that made a hit.

use super::ast::{Kind, Node};
use super::{Field, MatchInput, Term};

/// Answers term questions for one document. Term indices are plan-local.
pub(crate) trait Oracle {
    /// Does term `t` occur (in its field)?
    fn has(&self, t: usize) -> bool;
    /// Do terms `a` and `b` (same field) occur within `n` characters of each other?
    fn near(&self, a: usize, b: usize, n: usize) -> bool;
}

pub(crate) fn eval<O: Oracle + ?Sized>(node: &Node, o: &O) -> bool {
    match &node.kind {
        Kind::Term(t) => o.has(*t),
        Kind::Near { a, b, n } => o.has(*a) && o.has(*b) && o.near(*a, *b, *n),
        // Positive items come first in source order; `all` stops at the first failure.
        Kind::And(items) => !items.is_empty() && items.iter().all(|it| eval(&it.node, o) != it.neg),
        Kind::Or(children) => children.iter().any(|c| eval(c, o)),
    }
}

/// Pushes the terms that make `node` (known to be true) true: every term of a true
/// positive branch, never a term under a negation.
pub(crate) fn collect<O: Oracle + ?Sized>(node: &Node, o: &O, out: &mut Vec<usize>) {
    match &node.kind {
        Kind::Term(t) => out.push(*t),
        Kind::Near { a, b, .. } => {
            out.push(*a);
            out.push(*b);
        }
        Kind::And(items) => {
            for it in items.iter().filter(|it| !it.neg) {
                collect(&it.node, o, out);
            }
        }
        Kind::Or(children) => {
            for c in children {
                if eval(c, o) {
                    collect(c, o, out);
                }
            }
        }
    }
}

/// Hit terms as strings: distinct, in order, platform conditions left out (they are not
/// text that could be highlighted).
pub(crate) fn hit_terms<O: Oracle + ?Sized>(root: &Node, terms: &[Term], o: &O) -> Vec<String> {
    let mut ids = Vec::new();
    collect(root, o, &mut ids);
    let mut out: Vec<String> = Vec::new();
    for id in ids {
        let term = &terms[id];
        if term.field != Field::Platform && !out.contains(&term.text) {
            out.push(term.text.clone());
        }
    }
    out
}

/// `NEAR/n` test on sorted occurrence starts (character indices) of two terms of
/// `la` / `lb` characters: is there a pair with
/// `max(0, max(s1, s2) - min(e1, e2)) <= n`, i.e. `s1 <= e2 + n && s2 <= e1 + n`?
pub(crate) fn near_ok(a: &[usize], la: usize, b: &[usize], lb: usize, n: usize) -> bool {
    if a.is_empty() || b.is_empty() {
        return false;
    }
    let (la, lb, n) = (la as i128, lb as i128, n as i128);
    a.iter().any(|&s1| {
        let s1 = s1 as i128;
        let lo = s1 - n - lb;
        let hi = s1 + la + n;
        let idx = b.partition_point(|&s2| (s2 as i128) < lo);
        b.get(idx).is_some_and(|&s2| s2 as i128 <= hi)
    })
}

/// Character start of every (overlapping) occurrence of `needle` in `hay`, ascending.
pub(crate) fn char_starts(hay: &str, needle: &str) -> Vec<usize> {
    let mut out = Vec::new();
    if needle.is_empty() {
        return out;
    }
    let (mut byte, mut chars) = (0usize, 0usize);
    let mut from = 0usize;
    while let Some(rel) = hay.get(from..).and_then(|h| h.find(needle)) {
        let at = from + rel;
        chars += hay[byte..at].chars().count();
        byte = at;
        out.push(chars);
        // Next search starts one character later, so overlapping occurrences are found.
        from = at + hay[at..].chars().next().map_or(1, char::len_utf8);
    }
    out
}

/// The haystacks a term of `field` is looked up in (platform is handled separately).
pub(crate) fn haystacks<'a>(input: &MatchInput<'a>, field: Field) -> [Option<&'a str>; 2] {
    match field {
        Field::Any => [Some(input.title), Some(input.text)],
        Field::Title => [Some(input.title), None],
        Field::Author => [Some(input.author), None],
        Field::Platform => [None, None],
    }
}

/// The platform value compared against `platform:` terms: trimmed and lower-cased.
pub(crate) fn platform_key(platform: &str) -> String {
    platform.trim().to_lowercase()
}

/// [`platform_key`] without allocating when the value is already trimmed ASCII lower case
/// (`weibo`), as it almost always is.
pub(crate) fn platform_key_cow(platform: &str) -> std::borrow::Cow<'_, str> {
    let t = platform.trim();
    if t.bytes().all(|b| b.is_ascii() && !b.is_ascii_uppercase()) {
        std::borrow::Cow::Borrowed(t)
    } else {
        std::borrow::Cow::Owned(t.to_lowercase())
    }
}

/// Oracle for a single plan: plain substring search, no automaton.
pub(crate) struct Direct<'a> {
    pub terms: &'a [Term],
    pub input: &'a MatchInput<'a>,
    pub platform: String,
}

impl Oracle for Direct<'_> {
    fn has(&self, t: usize) -> bool {
        let term = &self.terms[t];
        if term.field == Field::Platform {
            return self.platform == term.text;
        }
        haystacks(self.input, term.field)
            .into_iter()
            .flatten()
            .any(|h| h.contains(term.text.as_str()))
    }

    fn near(&self, a: usize, b: usize, n: usize) -> bool {
        let (ta, tb) = (&self.terms[a], &self.terms[b]);
        let (la, lb) = (ta.text.chars().count(), tb.text.chars().count());
        haystacks(self.input, ta.field)
            .into_iter()
            .flatten()
            .any(|h| {
                near_ok(
                    &char_starts(h, &ta.text),
                    la,
                    &char_starts(h, &tb.text),
                    lb,
                    n,
                )
            })
    }
}
