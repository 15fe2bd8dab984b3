//! The plan language (`docs/specs/plan-language.md`): parse, canonical form, matching,
//! the many-plan matcher and the linter.
//!
//! Input: the first line holds up to 8 plan expressions separated by tabs (a tab is only
//! whitespace in the language); the next lines are a document's title, author and
//! platform; the rest is its text. Invalid UTF-8 is replaced, so every input is used.
//!
//! Asserted (each is a MUST of the spec or a documented promise of the code):
//! - nothing panics, however long or deeply nested the expression (§10);
//! - a parse error's position points into the expression (§10), and `lint` of an
//!   expression that does not parse is exactly that error (§11); lint messages are
//!   ordered by position;
//! - parsing the canonical form `expression()` gives the same plan: same canonical form,
//!   same terms (§8), and the same answer on the document;
//! - `hit_terms` is `Some` exactly when `matches` is true; every hit term is a term of the
//!   plan, not `platform:`, distinct, and occurs in the normalised title, text or author (§7);
//! - when the plan matches, one of its `anchors()` occurs in the document;
//! - `PlanSet::match_doc` over all the plans equals evaluating each plan alone, in order (§12).

#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_text::normalize;
use yuqing_text::plan::{Field, Level, MatchInput, Plan, PlanHit, PlanSet, Term, lint};

fn occurs(term: &Term, input: &MatchInput) -> bool {
    let t = term.text.as_str();
    match term.field {
        Field::Any => input.title.contains(t) || input.text.contains(t),
        Field::Title => input.title.contains(t),
        Field::Author => input.author.contains(t),
        Field::Platform => input.platform.trim().to_lowercase() == term.text,
    }
}

fn check_one(expr: &str, input: &MatchInput) -> Option<Plan> {
    let lints = lint(expr);
    for pair in lints.windows(2) {
        let key = |p: Option<usize>| p.unwrap_or(usize::MAX);
        assert!(
            key(pair[0].pos) <= key(pair[1].pos),
            "lint not ordered: {lints:?}"
        );
    }
    let plan = match Plan::parse(expr) {
        Ok(p) => p,
        Err(e) => {
            let chars = expr.chars().count();
            assert!(
                e.pos < chars.max(1),
                "error position {} past the end ({chars} chars): {e}",
                e.pos
            );
            let _ = e.to_string();
            assert_eq!(lints.len(), 1, "lint of a parse error: {lints:?}");
            assert_eq!(lints[0].level, Level::Error);
            assert_eq!(lints[0].pos, Some(e.pos));
            return None;
        }
    };
    for m in &lints {
        let _ = m.to_string();
    }

    // §8: the canonical form parses to the same plan.
    let canonical = plan.expression();
    let again = match Plan::parse(&canonical) {
        Ok(p) => p,
        Err(e) => panic!("canonical form {canonical:?} of {expr:?} does not parse: {e}"),
    };
    assert_eq!(
        again.expression(),
        canonical,
        "canonical form of {expr:?} is not stable"
    );
    assert_eq!(
        again.terms(),
        plan.terms(),
        "canonical form {canonical:?} of {expr:?} has other terms"
    );

    let hits = plan.hit_terms(input);
    let matched = plan.matches(input);
    assert_eq!(
        hits.is_some(),
        matched,
        "hit_terms and matches disagree on {expr:?}"
    );
    assert_eq!(
        again.matches(input),
        matched,
        "canonical form {canonical:?} matches differently"
    );
    if let Some(hits) = &hits {
        for (i, h) in hits.iter().enumerate() {
            assert!(!hits[..i].contains(h), "hit term {h:?} repeated: {hits:?}");
            assert!(
                plan.terms()
                    .iter()
                    .any(|t| t.field != Field::Platform && &t.text == h),
                "hit term {h:?} is not a (non-platform) term of {expr:?}"
            );
            assert!(
                input.title.contains(h.as_str())
                    || input.text.contains(h.as_str())
                    || input.author.contains(h.as_str()),
                "hit term {h:?} does not occur in the document"
            );
        }
        let anchors = plan.anchors();
        assert!(
            anchors.iter().any(|t| occurs(t, input)),
            "{expr:?} matches but none of its anchors {anchors:?} occurs"
        );
    }
    Some(plan)
}

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let mut lines = s.splitn(5, '\n');
    let exprs = lines.next().unwrap_or("");
    let title = normalize(lines.next().unwrap_or(""));
    let author = normalize(lines.next().unwrap_or(""));
    let platform = lines.next().unwrap_or("").to_owned();
    let text = normalize(lines.next().unwrap_or(""));
    let input = MatchInput {
        title: &title,
        text: &text,
        author: &author,
        platform: &platform,
    };

    let mut plans = Vec::new();
    for (i, expr) in exprs.split('\t').take(8).enumerate() {
        if let Some(plan) = check_one(expr, &input) {
            plans.push((i as i64, plan));
        }
    }

    // §12: the shared automaton gives what each plan gives alone, in the order given.
    let want: Vec<PlanHit> = plans
        .iter()
        .filter_map(|(id, p)| {
            p.hit_terms(&input).map(|terms| PlanHit {
                plan_id: *id,
                terms,
            })
        })
        .collect();
    let set = PlanSet::new(plans);
    assert_eq!(
        set.match_doc(&input),
        want,
        "PlanSet disagrees with the plans alone"
    );
});
