//! Tests of the plan language (`yuqing_text::plan`): the parser against a port of the
//! reference semantics (`/work/shared/tools/plan_reference.py`) on real texts, precedence,
//! aliases, quoting, NEAR, field scopes, the structured form, errors with positions, lint,
//! `PlanSet` against single-plan evaluation, and a no-panic fuzz.

use std::collections::HashMap;
use std::io::{BufRead, BufReader};

use yuqing_text::normalize;
use yuqing_text::plan::{
    ErrorKind, Field, Level, MatchInput, Plan, PlanError, PlanHit, PlanSet, Scratch,
    StructuredPlan, Term, lint,
};

const SAMPLE_PLANS: [&str; 8] = [
    "医院",
    "警察|公安",
    "(北京|上海)+(医院|学校)",
    "谣言-辟谣",
    "\"转发微博\"",
    "孩子 NEAR/5 医院",
    "(政府 | 官员) + (腐败 | 贪污) - 谣言",
    "中国 AND 日本 NOT 钓鱼岛",
];

// ---------------------------------------------------------------------------------------
// Port of the reference implementation: tokenizer (the same regex, by hand), parser and a
// brute-force evaluator with plain `str::contains` / non-overlapping `match_indices`
// (Python's `re.finditer`), positions in characters. Independent of the crate's matcher.
// ---------------------------------------------------------------------------------------

mod reference {
    #[derive(Debug)]
    pub enum E {
        Term(String),
        And(Box<E>, Box<E>),
        AndNot(Box<E>, Box<E>),
        Or(Box<E>, Box<E>),
        Near(usize, Box<E>, Box<E>),
    }

    /// `re.findall(r'"[^"]*"|NEAR/\d+|\(|\)|\+|\||-|AND|OR|NOT|[^\s()+|"\-]+', s)`
    pub fn tokenize(s: &str) -> Vec<String> {
        let c: Vec<char> = s.chars().collect();
        let mut out = Vec::new();
        let mut i = 0;
        let at = |i: usize, w: &str| c[i..].iter().take(w.chars().count()).copied().eq(w.chars());
        while i < c.len() {
            if c[i] == '"'
                && let Some(len) = c[i + 1..].iter().position(|&q| q == '"')
            {
                out.push(c[i..i + len + 2].iter().collect());
                i += len + 2;
                continue;
            }
            if at(i, "NEAR/") && c.get(i + 5).is_some_and(|d| d.is_ascii_digit()) {
                let mut j = i + 5;
                while j < c.len() && c[j].is_ascii_digit() {
                    j += 1;
                }
                out.push(c[i..j].iter().collect());
                i = j;
                continue;
            }
            if matches!(c[i], '(' | ')' | '+' | '|' | '-') {
                out.push(c[i].to_string());
                i += 1;
                continue;
            }
            if let Some(k) = ["AND", "OR", "NOT"].into_iter().find(|k| at(i, k)) {
                out.push(k.to_string());
                i += k.len();
                continue;
            }
            let brk =
                |ch: char| ch.is_whitespace() || matches!(ch, '(' | ')' | '+' | '|' | '"' | '-');
            if !brk(c[i]) {
                let mut j = i;
                while j < c.len() && !brk(c[j]) {
                    j += 1;
                }
                out.push(c[i..j].iter().collect());
                i = j;
                continue;
            }
            i += 1;
        }
        out
    }

    pub fn parse(tokens: &[String]) -> E {
        let mut pos = 0;
        let e = expr(tokens, &mut pos);
        assert_eq!(pos, tokens.len(), "reference parser: trailing tokens");
        e
    }

    fn atom(t: &[String], pos: &mut usize) -> E {
        let tok = &t[*pos];
        *pos += 1;
        if tok == "(" {
            let e = expr(t, pos);
            assert_eq!(t[*pos], ")");
            *pos += 1;
            return e;
        }
        let term = if tok.starts_with('"') {
            &tok[1..tok.len() - 1]
        } else {
            tok.as_str()
        };
        // The reference does NFKC + lower; the product's normalise is a superset of that.
        E::Term(yuqing_text::normalize(term))
    }

    fn near(t: &[String], pos: &mut usize) -> E {
        let mut a = atom(t, pos);
        while t.get(*pos).is_some_and(|x| x.starts_with("NEAR/")) {
            let n: usize = t[*pos][5..].parse().unwrap();
            *pos += 1;
            let b = atom(t, pos);
            a = E::Near(n, Box::new(a), Box::new(b));
        }
        a
    }

    fn conj(t: &[String], pos: &mut usize) -> E {
        let mut a = near(t, pos);
        while let Some(op) = t
            .get(*pos)
            .filter(|x| matches!(x.as_str(), "+" | "AND" | "-" | "NOT"))
        {
            let and = op == "+" || op == "AND";
            *pos += 1;
            let b = near(t, pos);
            a = if and {
                E::And(Box::new(a), Box::new(b))
            } else {
                E::AndNot(Box::new(a), Box::new(b))
            };
        }
        a
    }

    fn expr(t: &[String], pos: &mut usize) -> E {
        let mut a = conj(t, pos);
        while t.get(*pos).is_some_and(|x| x == "|" || x == "OR") {
            *pos += 1;
            let b = conj(t, pos);
            a = E::Or(Box::new(a), Box::new(b));
        }
        a
    }

    /// Non-overlapping occurrences (like `re.finditer`), as character spans.
    fn spans(t: &str, w: &str) -> Vec<(usize, usize)> {
        let wl = w.chars().count();
        t.match_indices(w)
            .map(|(b, _)| {
                let s = t[..b].chars().count();
                (s, s + wl)
            })
            .collect()
    }

    pub fn ev(e: &E, t: &str) -> bool {
        match e {
            E::Term(w) => t.contains(w.as_str()),
            E::And(a, b) => ev(a, t) && ev(b, t),
            E::AndNot(a, b) => ev(a, t) && !ev(b, t),
            E::Or(a, b) => ev(a, t) || ev(b, t),
            E::Near(n, a, b) => {
                let (E::Term(a), E::Term(b)) = (&**a, &**b) else {
                    panic!("NEAR operands must be terms")
                };
                let (sa, sb) = (spans(t, a), spans(t, b));
                sa.iter().any(|&(s1, e1)| {
                    sb.iter().any(|&(s2, e2)| {
                        (s1.max(s2) as i64 - e1.min(e2) as i64).max(0) <= *n as i64
                    })
                })
            }
        }
    }

    pub fn matches(plan: &str, text: &str) -> bool {
        ev(&parse(&tokenize(plan)), text)
    }
}

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// Normalised texts of the first 3000 documents of the CED dev set.
fn ced_texts() -> Vec<String> {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/ced/ced_dev_documents.jsonl.gz"
    );
    let file = std::fs::File::open(path).expect("CED dev documents");
    let reader = BufReader::new(flate2::read::GzDecoder::new(file));
    reader
        .lines()
        .take(3000)
        .map(|line| {
            let v: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("json");
            normalize(v["text"].as_str().unwrap_or(""))
        })
        .collect()
}

/// Individual texts plus windows of 10 consecutive texts (longer documents, more co-occurrence).
fn corpus() -> Vec<String> {
    let texts = ced_texts();
    let mut docs: Vec<String> = texts.chunks(10).map(|c| c.join(" ")).collect();
    docs.extend(texts.into_iter().filter(|t| !t.is_empty()));
    docs
}

fn p(expr: &str) -> Plan {
    Plan::parse(expr).unwrap_or_else(|e| panic!("{expr}: {e}"))
}

fn on_text(expr: &str, text: &str) -> bool {
    let text = normalize(text);
    p(expr).matches(&MatchInput::text(&text))
}

fn err(expr: &str) -> PlanError {
    match Plan::parse(expr) {
        Ok(plan) => panic!("{expr} parsed as {plan}"),
        Err(e) => e,
    }
}

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }
    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Frequent CJK bigrams of the corpus, most frequent first.
fn vocabulary(docs: &[String], n: usize) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for d in docs {
        let c: Vec<char> = d.chars().collect();
        for w in c.windows(2) {
            if w.iter().all(|ch| ('\u{4E00}'..='\u{9FFF}').contains(ch)) {
                *counts.entry(w.iter().collect()).or_default() += 1;
            }
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().take(n).map(|(w, _)| w).collect()
}

/// A term whose occurrences can overlap each other (`哈哈` in `哈哈哈`): the reference's
/// non-overlapping `finditer` and the spec's "any occurrence" can then differ under NEAR.
fn self_overlapping(w: &str) -> bool {
    let c: Vec<char> = w.chars().collect();
    (1..c.len()).any(|k| c[..k] == c[c.len() - k..])
}

/// A random expression in the reference's language (no fields, no implicit AND).
fn gen_expr(rng: &mut Rng, vocab: &[String], depth: usize) -> String {
    let parts = 1 + rng.below(3);
    let mut out = String::new();
    for i in 0..parts {
        if i > 0 {
            let op = rng.pick::<&str>(&["|", " | ", " OR "]);
            out.push_str(op);
        }
        out.push_str(&gen_conj(rng, vocab, depth));
    }
    out
}

fn gen_conj(rng: &mut Rng, vocab: &[String], depth: usize) -> String {
    let parts = 1 + rng.below(3);
    let mut out = String::new();
    for i in 0..parts {
        if i > 0 {
            let op = rng.pick::<&str>(&["+", " + ", " AND ", "-", " - ", " NOT "]);
            out.push_str(op);
        }
        out.push_str(&gen_unit(rng, vocab, depth));
    }
    out
}

fn gen_unit(rng: &mut Rng, vocab: &[String], depth: usize) -> String {
    match rng.below(10) {
        0 | 1 if depth > 0 => format!("({})", gen_expr(rng, vocab, depth - 1)),
        2 => {
            let near: Vec<&String> = vocab.iter().filter(|w| !self_overlapping(w)).collect();
            format!(
                "{} NEAR/{} {}",
                rng.pick(&near),
                rng.below(12),
                rng.pick(&near)
            )
        }
        3 => format!("\"{}\"", rng.pick(vocab)),
        _ => rng.pick(vocab).clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Against the reference on real texts
// ---------------------------------------------------------------------------------------

#[test]
fn sample_plans_agree_with_reference_on_real_texts() {
    let docs = corpus();
    assert!(docs.len() > 1000, "corpus has {} docs", docs.len());
    let plans: Vec<(i64, Plan)> = SAMPLE_PLANS
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i64, p(e)))
        .collect();
    let set = PlanSet::new(plans.clone());
    let mut counts = vec![[0usize; 3]; SAMPLE_PLANS.len()];
    for doc in &docs {
        let input = MatchInput::text(doc);
        let hits: Vec<i64> = set
            .match_doc(&input)
            .into_iter()
            .map(|h| h.plan_id)
            .collect();
        for (i, expr) in SAMPLE_PLANS.iter().enumerate() {
            let r = reference::matches(expr, doc);
            let single = plans[i].1.matches(&input);
            let in_set = hits.contains(&(i as i64));
            assert_eq!(single, r, "Plan::matches vs reference: {expr} on {doc:?}");
            assert_eq!(in_set, r, "PlanSet vs reference: {expr} on {doc:?}");
            counts[i][0] += r as usize;
            counts[i][1] += single as usize;
            counts[i][2] += in_set as usize;
        }
    }
    for (expr, c) in SAMPLE_PLANS.iter().zip(&counts) {
        println!(
            "{expr:40} reference {:4}  plan {:4}  set {:4}",
            c[0], c[1], c[2]
        );
    }
    assert!(
        counts.iter().map(|c| c[0]).sum::<usize>() > 20,
        "sample plans should hit something"
    );
}

#[test]
fn generated_plans_agree_with_reference_and_planset_agrees_with_single_plans() {
    let docs = corpus();
    let vocab = vocabulary(&docs, 150);
    let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
    let exprs: Vec<String> = (0..2000).map(|_| gen_expr(&mut rng, &vocab, 2)).collect();
    let plans: Vec<(i64, Plan)> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i64 * 7 + 1, p(e)))
        .collect();
    let refs: Vec<reference::E> = exprs
        .iter()
        .map(|e| reference::parse(&reference::tokenize(e)))
        .collect();
    let set = PlanSet::new(plans.clone());
    let docs: Vec<&String> = docs.iter().take(600).collect();
    let mut total_hits = 0usize;
    for doc in docs {
        let input = MatchInput::text(doc);
        let hits = set.match_doc(&input);
        let mut expected = Vec::new();
        for (i, (id, plan)) in plans.iter().enumerate() {
            let r = reference::ev(&refs[i], doc);
            let single = plan.hit_terms(&input);
            assert_eq!(
                single.is_some(),
                r,
                "Plan vs reference: {} on {doc:?}",
                exprs[i]
            );
            assert_eq!(plan.matches(&input), r);
            if let Some(terms) = single {
                expected.push(PlanHit {
                    plan_id: *id,
                    terms,
                });
            }
        }
        total_hits += hits.len();
        assert_eq!(hits, expected, "PlanSet vs single plans on {doc:?}");
    }
    println!("2000 generated plans, {total_hits} hits");
    assert!(
        total_hits > 500,
        "generated plans should hit often ({total_hits})"
    );
}

#[test]
fn near_plans_agree_with_reference_on_real_texts() {
    let docs = corpus();
    let vocab: Vec<String> = vocabulary(&docs, 60)
        .into_iter()
        .filter(|w| !self_overlapping(w))
        .collect();
    let mut rng = Rng(2024);
    let exprs: Vec<String> = (0..300)
        .map(|_| {
            format!(
                "{} NEAR/{} {}",
                rng.pick(&vocab),
                rng.below(20),
                rng.pick(&vocab)
            )
        })
        .collect();
    let plans: Vec<(i64, Plan)> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i64, p(e)))
        .collect();
    let set = PlanSet::new(plans.clone());
    // Documents where both terms occur but too far apart, and where they are near.
    let (mut near, mut far) = (0, 0);
    for doc in &docs {
        let input = MatchInput::text(doc);
        let hits: Vec<i64> = set
            .match_doc(&input)
            .into_iter()
            .map(|h| h.plan_id)
            .collect();
        for (i, e) in exprs.iter().enumerate() {
            let r = reference::matches(e, doc);
            assert_eq!(plans[i].1.matches(&input), r, "{e} on {doc:?}");
            assert_eq!(hits.contains(&(i as i64)), r, "PlanSet: {e} on {doc:?}");
            let both = plans[i]
                .1
                .terms()
                .iter()
                .all(|t| doc.contains(t.text.as_str()));
            if r {
                near += 1;
            } else if both {
                far += 1;
            }
        }
    }
    println!("NEAR plans: {near} hits, {far} with both terms too far apart");
    assert!(near > 50 && far > 50, "near {near} far {far}");
}

#[test]
fn planset_with_fields_and_near_agrees_with_single_plans() {
    let docs = corpus();
    let vocab = vocabulary(&docs, 80);
    let mut rng = Rng(12345);
    let fields = ["", "title:", "author:"];
    let mut plans = Vec::new();
    for i in 0..2000i64 {
        let f = *rng.pick(&fields);
        let expr = match rng.below(5) {
            0 => format!(
                "{f}({}) + platform:{}",
                gen_expr(&mut rng, &vocab, 1),
                rng.pick(&["weibo", "twitter"])
            ),
            1 => format!(
                "{f}({} NEAR/{} {})",
                rng.pick(&vocab),
                rng.below(6),
                rng.pick(&vocab)
            ),
            2 => format!("{}|{f}{}", rng.pick(&vocab), rng.pick(&vocab)),
            3 => format!("platform:weibo - {f}{}", rng.pick(&vocab)),
            _ => format!("{f}({})", gen_expr(&mut rng, &vocab, 1)),
        };
        plans.push((i, p(&expr)));
    }
    let set = PlanSet::new(plans.clone());
    let docs: Vec<&String> = docs.iter().take(400).collect();
    let mut total = 0;
    for (k, w) in docs.windows(3).enumerate().step_by(2) {
        let platform = if k % 3 == 0 { "weibo" } else { "twitter" };
        let input = MatchInput {
            title: w[0],
            text: w[1],
            author: w[2],
            platform,
        };
        let hits = set.match_doc(&input);
        let expected = each_alone(&plans, &input);
        total += hits.len();
        assert_eq!(
            hits, expected,
            "title {:?} text {:?} author {:?}",
            w[0], w[1], w[2]
        );
    }
    assert!(total > 100, "{total}");
}

/// The hits of `plans` on `input`, each plan evaluated alone: what a `PlanSet` must find.
fn each_alone(plans: &[(i64, Plan)], input: &MatchInput) -> Vec<PlanHit> {
    plans
        .iter()
        .filter_map(|(id, plan)| {
            plan.hit_terms(input).map(|terms| PlanHit {
                plan_id: *id,
                terms,
            })
        })
        .collect()
}

/// Frequent CJK bigrams and trigrams of the corpus, most frequent first (word-like terms
/// of the lengths users write; trigrams overlap bigrams as `北京大学` overlaps `北京`).
fn words_2_3(docs: &[String]) -> Vec<String> {
    let mut counts: HashMap<String, usize> = HashMap::new();
    for d in docs {
        let c: Vec<char> = d.chars().collect();
        for n in [2, 3] {
            for w in c.windows(n) {
                if w.iter().all(|ch| ('\u{4E00}'..='\u{9FFF}').contains(ch)) {
                    *counts.entry(w.iter().collect()).or_default() += 1;
                }
            }
        }
    }
    let mut v: Vec<(String, usize)> = counts.into_iter().filter(|(_, n)| *n >= 3).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    v.into_iter().map(|(w, _)| w).collect()
}

/// A plan as users write them (the shapes of the plan benchmark and more): structured
/// groups with exclusions, `NEAR/n`, `title:` / `author:` / `platform:` scopes, ORs of
/// sub-plans, nested groups, long conjunctions.
fn gen_user_plan(rng: &mut Rng, common: &[String], rare: &[String]) -> String {
    let word = |rng: &mut Rng| -> String {
        if rng.below(2) == 0 {
            rng.pick(common).clone()
        } else {
            rng.pick(rare).clone()
        }
    };
    let group = |rng: &mut Rng, max: usize| -> String {
        let k = 1 + rng.below(max);
        let words: Vec<String> = (0..k).map(|_| word(rng)).collect();
        if k == 1 {
            words[0].clone()
        } else {
            format!("({})", words.join("|"))
        }
    };
    let near: Vec<&String> = common
        .iter()
        .chain(rare)
        .filter(|w| !self_overlapping(w))
        .collect();
    let structured = |rng: &mut Rng, group: &dyn Fn(&mut Rng, usize) -> String| {
        let mut parts = Vec::new();
        for max in [3, 3, 4] {
            if rng.below(5) > 0 {
                parts.push(group(rng, max));
            }
        }
        if parts.is_empty() {
            parts.push(group(rng, 2));
        }
        parts.join("+")
    };
    let body = match rng.below(10) {
        0..=2 => structured(rng, &group),
        3 => format!(
            "{}+{} NEAR/{} {}",
            group(rng, 3),
            rng.pick(&near),
            rng.below(16),
            rng.pick(&near)
        ),
        4 => format!("title:{}+{}", group(rng, 3), group(rng, 3)),
        5 => format!("{}+author:{}", group(rng, 2), group(rng, 2)),
        6 if rng.below(4) == 0 => format!(
            "platform:{}-{}",
            rng.pick(&["weibo", "twitter"]),
            group(rng, 3)
        ),
        6 => format!(
            "platform:{}+{}",
            rng.pick(&["weibo", "twitter", "Weibo"]),
            structured(rng, &group)
        ),
        7 => format!(
            "({})|({})",
            structured(rng, &group),
            structured(rng, &group)
        ),
        8 => format!(
            "({}+({}|{}-{}))|{} NEAR/{} {}",
            group(rng, 2),
            group(rng, 2),
            group(rng, 2),
            group(rng, 2),
            rng.pick(&near),
            rng.below(8),
            rng.pick(&near)
        ),
        _ => {
            // More clauses than a clause mask tracks.
            let k = 1 + rng.below(40);
            (0..k).map(|_| word(rng)).collect::<Vec<_>>().join("+")
        }
    };
    if rng.below(2) == 0 {
        format!("({body})-{}", group(rng, 3))
    } else {
        body
    }
}

/// The fast matcher against each plan evaluated alone (`Plan::hit_terms`: plain substring
/// search per term, no automaton, no index), on real CED texts as titles, texts and author
/// names, with several platforms: the same plans hit, in order, with the same terms. Also
/// without the automaton (the fallback), and with one scratch shared by two plan sets.
#[test]
fn thousands_of_user_plans_match_as_each_plan_alone() {
    let docs = corpus();
    let words = words_2_3(&docs);
    let common: Vec<String> = words.iter().take(120).cloned().collect();
    let rare: Vec<String> = words.iter().skip(120).take(3000).cloned().collect();
    let mut rng = Rng(0x5EED_2024);
    let exprs: Vec<String> = (0..3000)
        .map(|_| gen_user_plan(&mut rng, &common, &rare))
        .collect();
    let plans: Vec<(i64, Plan)> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i64 * 3 - 100, p(e)))
        .collect();
    let set = PlanSet::new(plans.clone());
    let fallback = PlanSet::new(plans.clone()).without_scanner();
    let small = PlanSet::new(plans.iter().step_by(7).cloned().collect());
    let mut scratch = Scratch::new();
    let platforms = ["weibo", " Weibo ", "twitter", ""];
    let (mut total, mut with_terms) = (0usize, 0usize);
    for (k, w) in docs
        .iter()
        .step_by(5)
        .collect::<Vec<_>>()
        .windows(3)
        .enumerate()
    {
        let input = MatchInput {
            title: if k % 3 == 0 { "" } else { w[0] },
            text: w[1],
            author: if k % 2 == 0 { w[2] } else { "" },
            platform: platforms[k % platforms.len()],
        };
        let expected = each_alone(&plans, &input);
        let hits = set.match_doc_with(&input, &mut scratch);
        assert_eq!(hits, expected, "doc {k}: {input:?}");
        // The same scratch with another set, then the first again.
        let small_expected: Vec<PlanHit> = expected
            .iter()
            .filter(|h| ((h.plan_id + 100) / 3) % 7 == 0)
            .cloned()
            .collect();
        assert_eq!(small.match_doc_with(&input, &mut scratch), small_expected);
        assert_eq!(set.match_doc(&input), expected, "doc {k}, thread scratch");
        if k % 4 == 0 {
            assert_eq!(
                fallback.match_doc(&input),
                expected,
                "doc {k}, no automaton"
            );
        }
        total += hits.len();
        with_terms += hits.iter().filter(|h| h.terms.len() > 1).count();
    }
    println!("3000 user plans: {total} hits, {with_terms} with several terms");
    assert!(total > 1000 && with_terms > 300, "{total} {with_terms}");
}

/// The pair index's paths against each plan alone: short documents (few terms found: each
/// pair of found terms probed) and long ones (windows of 30 texts: more than 16 terms
/// found, so each found term's posting list is read); units indexed by pairs, units whose
/// gate and second clause make more than 64 pairs (indexed by their gate alone), single-
/// clause units, a term in both the gate and the second clause, scoped terms on either
/// side of a pair, and one-character terms (keyed by one character in the scan).
#[test]
fn pair_index_probe_and_list_paths_match_as_each_plan_alone() {
    pair_paths(true);
}

/// The same without one-character terms: then a set this large scans in two passes (the
/// filter at every position first, then the lookups), which one-character terms turn off.
#[test]
fn pair_paths_with_the_two_pass_scan_match_as_each_plan_alone() {
    pair_paths(false);
}

fn pair_paths(one_character_terms: bool) {
    let texts = ced_texts();
    let mut docs: Vec<String> = texts.chunks(30).map(|c| c.join(" ")).collect();
    docs.extend(texts.iter().filter(|t| !t.is_empty()).step_by(3).cloned());
    let words = words_2_3(&docs);
    let common: Vec<String> = words.iter().take(60).cloned().collect();
    let rare: Vec<String> = words.iter().skip(60).take(1500).cloned().collect();
    let mut rng = Rng(0x9A12);
    fn word(rng: &mut Rng, common: &[String], rare: &[String]) -> String {
        if rng.below(3) == 0 {
            rng.pick(common).clone()
        } else {
            rng.pick(rare).clone()
        }
    }
    /// An OR group of `min..min + spread` words.
    fn group(
        rng: &mut Rng,
        common: &[String],
        rare: &[String],
        min: usize,
        spread: usize,
    ) -> String {
        let k = min + rng.below(spread);
        let ws: Vec<String> = (0..k).map(|_| word(rng, common, rare)).collect();
        format!("({})", ws.join("|"))
    }
    let (c, r) = (&common[..], &rare[..]);
    let mut exprs: Vec<String> = Vec::new();
    for i in 0..4000 {
        let e = match i % 8 {
            // Two or three clauses: pairs.
            0 | 1 => {
                let a = group(&mut rng, c, r, 1, 3);
                format!("{a}+{}", group(&mut rng, c, r, 1, 3))
            }
            2 => {
                let a = group(&mut rng, c, r, 1, 3);
                let b = group(&mut rng, c, r, 1, 3);
                let d = group(&mut rng, c, r, 1, 4);
                format!("{a}+{b}+{d}-{}", word(&mut rng, c, r))
            }
            // Too many pairs: solo postings with the other clauses checked.
            3 => {
                let a = group(&mut rng, c, r, 9, 4);
                let b = group(&mut rng, c, r, 9, 4);
                format!("{a}+{b}+{}", group(&mut rng, c, r, 1, 2))
            }
            // One clause: solo.
            4 => group(&mut rng, c, r, 1, 3),
            // A term in two clauses: the pair (p, p).
            5 => {
                let (a, b, d) = (
                    word(&mut rng, c, r),
                    word(&mut rng, c, r),
                    word(&mut rng, c, r),
                );
                format!("({a}|{b})+({b}|{d})")
            }
            // Scoped terms on either side of a pair.
            6 => {
                let a = group(&mut rng, c, r, 1, 2);
                format!("title:{a}+author:{}", group(&mut rng, c, r, 1, 2))
            }
            // One-character terms.
            _ if one_character_terms => {
                let one: String = word(&mut rng, c, r).chars().take(1).collect();
                format!("{one}+{}", group(&mut rng, c, r, 1, 2))
            }
            _ => format!(
                "{}+{}",
                group(&mut rng, c, r, 1, 2),
                group(&mut rng, c, r, 1, 2)
            ),
        };
        exprs.push(e);
    }
    let plans: Vec<(i64, Plan)> = exprs
        .iter()
        .enumerate()
        .map(|(i, e)| (i as i64, p(e)))
        .collect();
    let set = PlanSet::new(plans.clone());
    let mut scratch = Scratch::new();
    let (mut short_hits, mut long_hits) = (0usize, 0usize);
    // Documents holding more than 64 distinct terms take the list path (each found gate's
    // pair postings read), the others the pair probe.
    let terms: std::collections::BTreeSet<&str> = plans
        .iter()
        .flat_map(|(_, plan)| plan.terms().iter().map(|t| t.text.as_str()))
        .collect();
    let mut list_path = 0;
    for (k, w) in docs.windows(2).step_by(2).enumerate() {
        let input = MatchInput {
            title: if k % 2 == 0 { w[0].as_str() } else { "" },
            text: w[1].as_str(),
            author: if k % 3 == 0 { w[0].as_str() } else { "" },
            platform: "weibo",
        };
        let expected = each_alone(&plans, &input);
        let hits = set.match_doc_with(&input, &mut scratch);
        assert_eq!(hits, expected, "doc {k}: {input:?}");
        if terms
            .iter()
            .filter(|t| input.text.contains(**t) || input.title.contains(**t))
            .count()
            > 64
        {
            list_path += 1;
        }
        if w[1].chars().count() > 300 {
            long_hits += hits.len();
        } else {
            short_hits += hits.len();
        }
    }
    println!(
        "pair index: {short_hits} hits on short documents, {long_hits} on long ones, \
         {list_path} documents with more than 64 terms"
    );
    assert!(
        short_hits > 100 && long_hits > 100 && list_path > 10,
        "{short_hits} {long_hits} {list_path}"
    );
}

#[test]
fn ten_thousand_plans_stay_fast() {
    let docs = corpus();
    let vocab = vocabulary(&docs, 3000);
    let mut rng = Rng(777);
    let plans: Vec<(i64, Plan)> = (0..10_000)
        .map(|i| {
            let e = format!(
                "({}|{})+({}|{})-{}",
                rng.pick(&vocab),
                rng.pick(&vocab),
                rng.pick(&vocab),
                rng.pick(&vocab),
                rng.pick(&vocab)
            );
            (i, p(&e))
        })
        .collect();
    let t0 = std::time::Instant::now();
    let set = PlanSet::new(plans);
    let built = t0.elapsed();
    let t1 = std::time::Instant::now();
    let mut hits = 0;
    for doc in &docs {
        hits += set.match_doc(&MatchInput::text(doc)).len();
    }
    println!(
        "10k plans, {} patterns: build {built:?}, {} docs matched in {:?} ({hits} hits)",
        set.pattern_count(),
        docs.len(),
        t1.elapsed()
    );
    assert_eq!(set.len(), 10_000);
}

// ---------------------------------------------------------------------------------------
// Syntax and semantics
// ---------------------------------------------------------------------------------------

#[test]
fn precedence_or_loosest_near_tightest() {
    assert_eq!(p("A|B+C-D").expression(), "a|b+c-d");
    // A|B+C-D == A | ((B+C)-D): check the truth table.
    for mask in 0u32..16 {
        let words = ["苹果", "香蕉", "橘子", "葡萄"];
        let text: String = (0..4)
            .filter(|i| mask & (1 << i) != 0)
            .map(|i| words[i])
            .collect::<Vec<_>>()
            .join("，");
        let (a, b, c, d) = (mask & 1 != 0, mask & 2 != 0, mask & 4 != 0, mask & 8 != 0);
        assert_eq!(
            on_text("苹果|香蕉+橘子-葡萄", &text),
            a || (b && c && !d),
            "{text}"
        );
        assert_eq!(on_text("苹果+香蕉|橘子", &text), (a && b) || c, "{text}");
        assert_eq!(on_text("苹果-香蕉-橘子", &text), a && !b && !c, "{text}");
        assert_eq!(on_text("苹果-(香蕉|橘子)", &text), a && !(b || c), "{text}");
        assert_eq!(on_text("苹果-香蕉+橘子", &text), a && !b && c, "{text}");
    }
    // NEAR binds tighter than +.
    assert_eq!(p("A + B NEAR/2 C").expression(), "a+b NEAR/2 c");
    assert_eq!(p("(A|B) + C").expression(), "(a|b)+c");
    assert_eq!(p("A-(B+C)").expression(), "a-(b+c)");
    assert_eq!(p("((A+B))+C").expression(), "a+b+c");
    assert_eq!(p("A-(B-C)").expression(), "a-(b-c)");
}

#[test]
fn aliases_and_whitespace() {
    assert_eq!(
        p("中国 AND 日本 NOT 钓鱼岛").expression(),
        "中国+日本-钓鱼岛"
    );
    assert_eq!(p("警察 OR 公安").expression(), "警察|公安");
    assert_eq!(p("A + B").expression(), p("A+B").expression());
    assert_eq!(
        p("  ( 北京 |上海 )+ 医院 ").expression(),
        "(北京|上海)+医院"
    );
    // Keywords are whole upper-case words only.
    assert_eq!(p("ANDROID").expression(), "android");
    assert_eq!(p("NOTE+ORDER").expression(), "note+order");
    assert_eq!(
        p("and").terms(),
        &[Term {
            field: Field::Any,
            text: "and".into()
        }]
    );
    // Full-width operators typed with a Chinese input method.
    assert_eq!(
        p("（北京｜上海）＋医院－谣言").expression(),
        "(北京|上海)+医院-谣言"
    );
}

#[test]
fn implicit_and_between_adjacent_terms() {
    assert_eq!(p("孩子 医院").expression(), "孩子+医院");
    assert!(on_text("孩子 医院", "孩子在医院"));
    assert!(!on_text("孩子 医院", "孩子在学校"));
    assert_eq!(p("\"a b\"c").expression(), "\"a b\"+c");
    let warnings = lint("孩子 医院");
    assert_eq!(warnings.len(), 1, "{warnings:?}");
    assert_eq!(warnings[0].level, Level::Warning);
    assert_eq!(warnings[0].pos, Some(3));
}

#[test]
fn quoting_and_normalisation() {
    let plan = p("\"a+b (c) | d\"");
    assert_eq!(
        plan.terms(),
        &[Term {
            field: Field::Any,
            text: "a+b (c) | d".into()
        }]
    );
    assert_eq!(plan.expression(), "\"a+b (c) | d\"");
    assert!(on_text("\"a+b (c) | d\"", "xx A+B  (C) | D yy"));
    assert!(!on_text("\"a+b (c) | d\"", "a b c d"));
    assert!(on_text("\"转发 微博\"", "转发   微博"));
    assert!(on_text("\"转发微博\"", "转发微博 //@某人"));
    // Terms are normalised like documents: full width, case, traditional Chinese.
    assert!(on_text("ＡＢＣ", "xabcx"));
    assert!(on_text("醫院", "在医院"));
    assert!(on_text("医院", "在醫院"));
    assert_eq!(p("\"NEAR/5\"").expression(), "near/5");
    assert_eq!(p("\"title:x\"").expression(), "\"title:x\"");
    assert_eq!(p("12:30").expression(), "\"12:30\"");
    assert!(on_text("\"title:x\"", "see title:x here"));
}

#[test]
fn near_both_orders_and_boundary() {
    // 孩子[0,2) 在 医院[3,5): one character between.
    assert!(on_text("孩子 NEAR/1 医院", "孩子在医院"));
    assert!(!on_text("孩子 NEAR/0 医院", "孩子在医院"));
    assert!(on_text("孩子 NEAR/0 医院", "孩子医院"));
    // Reverse order: 医院[0,2) 里的 孩子[4,6): two characters between.
    assert!(on_text("孩子 NEAR/2 医院", "医院里的孩子"));
    assert!(!on_text("孩子 NEAR/1 医院", "医院里的孩子"));
    assert!(on_text("医院 NEAR/2 孩子", "医院里的孩子"));
    // Distance counts characters, not bytes.
    assert!(on_text("孩子 NEAR/3 医院", "孩子abc医院"));
    assert!(!on_text("孩子 NEAR/2 医院", "孩子在这里医院"));
    // Any pair of occurrences counts.
    assert!(on_text(
        "孩子 NEAR/1 医院",
        "孩子，很远很远很远很远很远的地方，孩子在医院"
    ));
    // Overlapping occurrences are at distance 0.
    assert!(on_text("ab NEAR/0 bc", "abc"));
    assert!(on_text("孩子 NEAR/0 孩子", "孩子"));
    // Both must occur.
    assert!(!on_text("孩子 NEAR/100 医院", "孩子"));
    // Occurrences that overlap each other all count (the spec's definition; the
    // reference's non-overlapping `finditer` would only see 哈哈[0,2) here).
    assert!(on_text("哈哈 NEAR/0 x", "哈哈哈x"));
    assert!(!reference::matches("哈哈 NEAR/0 x", "哈哈哈x"));
    // The same through a PlanSet.
    let set = PlanSet::new(vec![
        (1, p("孩子 NEAR/1 医院")),
        (2, p("医院 NEAR/0 孩子")),
        (3, p("哈哈 NEAR/0 x")),
    ]);
    let hits = set.match_doc(&MatchInput::text("孩子在医院，哈哈哈x"));
    assert_eq!(
        hits.iter().map(|h| h.plan_id).collect::<Vec<_>>(),
        vec![1, 3]
    );
    assert_eq!(hits[0].terms, vec!["孩子", "医院"]);
}

#[test]
fn near_in_title_does_not_cross_fields() {
    let input = MatchInput {
        title: "孩子",
        text: "医院",
        ..Default::default()
    };
    assert!(!p("孩子 NEAR/100 医院").matches(&input));
    assert!(p("孩子+医院").matches(&input));
    let input = MatchInput {
        title: "孩子在医院",
        text: "",
        ..Default::default()
    };
    assert!(p("title:(孩子 NEAR/1 医院)").matches(&input));
    assert!(p("title:孩子 NEAR/1 title:医院").matches(&input));
}

#[test]
fn field_scopes() {
    let doc = MatchInput {
        title: "四川发生地震",
        text: "救援正在进行",
        author: "人民日报官方",
        platform: "weibo",
    };
    assert!(p("title:地震").matches(&doc));
    assert!(!p("title:救援").matches(&doc));
    assert!(p("救援").matches(&doc));
    assert!(
        p("地震").matches(&doc),
        "unscoped terms match the title too"
    );
    assert!(
        !p("人民日报").matches(&doc),
        "unscoped terms do not match the author"
    );
    assert!(p("author:\"人民日报\"").matches(&doc));
    assert!(p("author:人民日报").matches(&doc));
    assert!(!p("author:新华社").matches(&doc));
    assert!(p("platform:weibo").matches(&doc));
    assert!(p("platform:WEIBO").matches(&doc));
    assert!(
        !p("platform:wei").matches(&doc),
        "platform is exact equality"
    );
    assert!(p("TITLE:地震").matches(&doc));
    assert!(p("title:(洪水|地震)").matches(&doc));
    assert!(!p("title:(洪水|救援)").matches(&doc));
    assert!(p("title:地震+救援-platform:twitter").matches(&doc));
    assert!(p("platform:(weibo|twitter)").matches(&doc));
    assert_eq!(p("title:(A|B)").expression(), "title:a|title:b");
    assert_eq!(
        p("author:\"人民 日报\"").expression(),
        "author:\"人民 日报\""
    );
    assert_eq!(
        p("title:地震").terms(),
        &[Term {
            field: Field::Title,
            text: "地震".into()
        }]
    );
    // Through a PlanSet: platform terms are not listed as hit terms.
    let set = PlanSet::new(vec![
        (5, p("platform:weibo + title:地震")),
        (6, p("platform:twitter|author:新华社")),
    ]);
    assert_eq!(
        set.match_doc(&doc),
        vec![PlanHit {
            plan_id: 5,
            terms: vec!["地震".into()]
        }]
    );
}

#[test]
fn hit_terms_are_the_positive_ones() {
    let plan = p("(政府 | 官员) + (腐败 | 贪污) - 谣言");
    let input = MatchInput::text("政府官员贪污");
    assert_eq!(
        plan.hit_terms(&input),
        Some(vec!["政府".into(), "官员".into(), "贪污".into()])
    );
    assert_eq!(
        plan.hit_terms(&MatchInput::text("政府官员贪污是谣言")),
        None
    );
    let plan = p("A-(B-C)");
    assert_eq!(
        plan.hit_terms(&MatchInput::text("a b c")),
        Some(vec!["a".into()])
    );
    let set = PlanSet::new(vec![(9, plan)]);
    assert_eq!(
        set.match_doc(&MatchInput::text("a b c")),
        vec![PlanHit {
            plan_id: 9,
            terms: vec!["a".into()]
        }]
    );
    assert!(set.match_doc(&MatchInput::text("a b")).is_empty());
}

#[test]
fn structured_form() {
    let s = StructuredPlan {
        region: vec!["北京".into(), "上海".into()],
        subject: vec!["医院".into()],
        event: vec![],
        exclusion: vec!["谣言".into(), "辟谣".into()],
    };
    assert_eq!(s.to_expression(), "(北京|上海)+医院-(谣言|辟谣)");
    let plan = s.compile().unwrap();
    assert!(plan.matches(&MatchInput::text("上海某医院")));
    assert!(!plan.matches(&MatchInput::text("上海某医院辟谣")));
    assert!(!plan.matches(&MatchInput::text("某医院")));
    // Words are literal: operator characters and keywords are quoted, quotes dropped,
    // blanks and duplicates skipped.
    let s = StructuredPlan {
        event: vec![
            "a+b".into(),
            " ".into(),
            "AND".into(),
            "\"人民日报\"".into(),
            "a+b".into(),
            "title:x".into(),
        ],
        ..Default::default()
    };
    assert_eq!(s.to_expression(), "(\"a+b\"|\"AND\"|人民日报|\"title:x\")");
    let plan = s.compile().unwrap();
    assert_eq!(plan.expression(), "\"a+b\"|and|人民日报|\"title:x\"");
    // Empty forms.
    let e = StructuredPlan::default().compile().unwrap_err();
    assert_eq!(e.kind, ErrorKind::Empty);
    let e = StructuredPlan {
        exclusion: vec!["谣言".into()],
        ..Default::default()
    }
    .compile()
    .unwrap_err();
    assert_eq!(e.kind, ErrorKind::Empty);
    assert!(e.en.contains("only exclusion"), "{e}");
    // Serde (the web form).
    let s: StructuredPlan =
        serde_json::from_str(r#"{"region":["北京"],"event":["地震"]}"#).unwrap();
    assert_eq!(s.to_expression(), "北京+地震");
}

// ---------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------

#[test]
fn errors_with_positions() {
    let cases: &[(&str, ErrorKind, usize)] = &[
        ("", ErrorKind::Empty, 0),
        ("   ", ErrorKind::Empty, 0),
        ("(北京|上海", ErrorKind::UnbalancedParen, 0),
        ("a+(b|(c)", ErrorKind::UnbalancedParen, 2),
        ("北京)", ErrorKind::UnbalancedParen, 2),
        (")a", ErrorKind::UnbalancedParen, 0),
        ("()", ErrorKind::EmptyGroup, 0),
        ("a+( )", ErrorKind::EmptyGroup, 2),
        ("北京+", ErrorKind::MissingOperand, 2),
        ("北京 |", ErrorKind::MissingOperand, 3),
        ("+北京", ErrorKind::MissingOperand, 0),
        ("北京|+上海", ErrorKind::MissingOperand, 2),
        ("(|a)", ErrorKind::MissingOperand, 1),
        ("a+()", ErrorKind::EmptyGroup, 2),
        ("a NEAR/3", ErrorKind::MissingOperand, 2),
        ("NEAR/3 a", ErrorKind::MissingOperand, 0),
        ("title:", ErrorKind::MissingOperand, 0),
        ("a+title:)", ErrorKind::MissingOperand, 2),
        ("-北京", ErrorKind::LeadingNot, 0),
        ("NOT 北京", ErrorKind::LeadingNot, 0),
        ("(-a)", ErrorKind::LeadingNot, 1),
        ("a|-b", ErrorKind::LeadingNot, 2),
        ("\"北京", ErrorKind::UnterminatedQuote, 0),
        ("a+\"b", ErrorKind::UnterminatedQuote, 2),
        ("a NEAR b", ErrorKind::BadNear, 2),
        ("a NEAR/ b", ErrorKind::BadNear, 2),
        ("a NEAR/x b", ErrorKind::BadNear, 2),
        ("a NEAR/5b c", ErrorKind::BadNear, 2),
        ("a NEAR/99999999999 b", ErrorKind::BadNear, 2),
        ("\"\"", ErrorKind::EmptyTerm, 0),
        ("a+\"  \"", ErrorKind::EmptyTerm, 2),
        ("a|<br>", ErrorKind::EmptyTerm, 2),
        ("a|&quot;", ErrorKind::BadTerm, 2),
        ("foo:bar", ErrorKind::UnknownField, 0),
        ("a+url:x", ErrorKind::UnknownField, 2),
        ("(a|b) NEAR/3 c", ErrorKind::NearOperand, 6),
        ("a NEAR/3 b NEAR/3 c", ErrorKind::NearOperand, 11),
        ("title:a NEAR/3 b", ErrorKind::NearOperand, 8),
        ("platform:(a NEAR/3 b)", ErrorKind::NearOperand, 12),
        ("title:(a|author:b)", ErrorKind::NestedField, 9),
    ];
    for (expr, kind, pos) in cases {
        let e = err(expr);
        assert_eq!((e.kind, e.pos), (*kind, *pos), "{expr:?}: {e}");
        assert!(!e.zh.is_empty() && !e.en.is_empty());
        assert_eq!(
            e.to_string(),
            format!("第 {} 列：{} / column {}: {}", pos + 1, e.zh, pos + 1, e.en)
        );
    }
    let e = err("北京+");
    assert_eq!(
        e.to_string(),
        "第 3 列：运算符“+”右边缺少内容 / column 3: operator `+` has no right-hand operand"
    );
    let e = err("-北京");
    assert!(e.en.contains("A-B") && e.zh.contains("A-B"), "{e}");
}

#[test]
fn deep_nesting_is_an_error_not_a_crash() {
    let ok = format!("{}a{}", "(".repeat(60), ")".repeat(60));
    assert_eq!(p(&ok).expression(), "a");
    let deep = format!("{}a{}", "(".repeat(100_000), ")".repeat(100_000));
    assert_eq!(err(&deep).kind, ErrorKind::TooDeep);
    let long_and = vec!["词"; 50_000].join("+");
    let plan = p(&long_and);
    assert!(plan.matches(&MatchInput::text("词")));
    let long_or = (0..20_000)
        .map(|i| format!("w{i}"))
        .collect::<Vec<_>>()
        .join("|");
    assert!(p(&long_or).matches(&MatchInput::text("w19999")));
}

// ---------------------------------------------------------------------------------------
// Lint
// ---------------------------------------------------------------------------------------

fn levels(expr: &str) -> Vec<(Level, Option<usize>)> {
    lint(expr).into_iter().map(|m| (m.level, m.pos)).collect()
}

#[test]
fn lint_cases() {
    assert!(lint("(北京|上海)+(医院|学校)-谣言").is_empty());
    for expr in SAMPLE_PLANS {
        assert!(lint(expr).is_empty(), "{expr}: {:?}", lint(expr));
    }
    // Parse errors.
    assert_eq!(levels("(北京"), vec![(Level::Error, Some(0))]);
    // One-character term.
    assert_eq!(levels("汽车|车"), vec![(Level::Warning, Some(3))]);
    // Exclusions that remove everything.
    assert_eq!(
        levels("北京-北京"),
        vec![(Level::Error, Some(3)), (Level::Warning, Some(3))]
    );
    let m = lint("北京大学-北京");
    assert_eq!(m.len(), 1, "{m:?}");
    assert_eq!((m[0].level, m[0].pos), (Level::Error, Some(5)));
    assert!(m[0].zh.contains("北京大学"), "{}", m[0]);
    assert_eq!(
        levels("北京大学+医院-(北京|上海)")[0],
        (Level::Error, Some(8))
    );
    assert_eq!(levels("北京大学+(医院-北京)")[0], (Level::Error, Some(9)));
    assert_eq!(
        levels("title:北京大学-北京"),
        vec![(Level::Error, Some(11))]
    );
    assert!(
        levels("北京大学-title:北京").is_empty(),
        "a title exclusion does not cover the text"
    );
    assert!(levels("北京-北京大学").is_empty());
    assert!(levels("北京大学|(上海-北京)").is_empty());
    // Duplicates.
    assert_eq!(levels("北京+上海|北京"), vec![(Level::Warning, Some(6))]);
    assert!(
        levels("title:北京|北京").is_empty(),
        "different fields are different terms"
    );
    // Punctuation only.
    assert_eq!(levels("北京+\"!!\""), vec![(Level::Warning, Some(3))]);
    assert_eq!(levels("北京|。。"), vec![(Level::Warning, Some(3))]);
    // Long OR lists.
    let long = (0..201)
        .map(|i| format!("词语{i}"))
        .collect::<Vec<_>>()
        .join("|");
    let m = lint(&long);
    assert_eq!(m.len(), 1, "{m:?}");
    assert!(m[0].en.contains("201"));
    let ok = (0..200)
        .map(|i| format!("词语{i}"))
        .collect::<Vec<_>>()
        .join("|");
    assert!(lint(&ok).is_empty());
    // Implicit AND, lower-case operators, Chinese quotes.
    assert_eq!(levels("北京 上海"), vec![(Level::Warning, Some(3))]);
    let m = lint("北京 and 上海");
    assert!(m.iter().any(|m| m.en.contains("upper case")), "{m:?}");
    assert!(
        lint("“转发微博”")
            .iter()
            .any(|m| m.en.contains("quotation"))
    );
    // Display.
    assert_eq!(
        lint("汽车|车")[0].to_string(),
        "警告：第 4 列：单字词“车”会匹配大量无关内容，建议换成更具体的词 / warning: column 4: one-character term `车` matches a great deal of unrelated text; use a more specific word"
    );
}

// ---------------------------------------------------------------------------------------
// Canonical form and robustness
// ---------------------------------------------------------------------------------------

#[test]
fn canonical_expression_round_trips() {
    let docs = corpus();
    let vocab = vocabulary(&docs, 50);
    let mut rng = Rng(42);
    for _ in 0..500 {
        let e = gen_expr(&mut rng, &vocab, 3);
        let plan = p(&e);
        let canon = plan.expression();
        let again = p(&canon);
        assert_eq!(again.expression(), canon, "{e}");
        assert_eq!(again.terms(), plan.terms());
        for doc in docs.iter().take(50) {
            let input = MatchInput::text(doc);
            assert_eq!(
                plan.matches(&input),
                again.matches(&input),
                "{e} vs {canon}"
            );
        }
    }
    for e in [
        "title:(a|\"b c\")+author:x-platform:weibo",
        "a NEAR/0 \"b-c\"",
        "\"AND\"|x",
    ] {
        let canon = p(e).expression();
        assert_eq!(p(&canon).expression(), canon);
    }
}

#[test]
fn random_input_never_panics() {
    let alphabet: Vec<char> =
        "ab北京医院 ()+-|\"\"NEAR/5ANDORNOT:title:author:platform:（）＋－｜＂　\t&;<>，。!0"
            .chars()
            .collect();
    let words = [
        "AND",
        "OR",
        "NOT",
        "NEAR/",
        "NEAR/3",
        "title:",
        "author:",
        "platform:",
        "(",
        ")",
        "\"",
    ];
    let mut rng = Rng(0xDEAD_BEEF);
    let mut plans = Vec::new();
    for i in 0..20_000 {
        let len = rng.below(24);
        let mut s = String::new();
        for _ in 0..len {
            if rng.below(5) == 0 {
                let w = rng.pick::<&str>(&words);
                s.push_str(w);
                s.push(' ');
            } else {
                s.push(*rng.pick(&alphabet));
            }
        }
        let _ = lint(&s);
        match Plan::parse(&s) {
            Ok(plan) => {
                let _ = plan.to_string();
                let reparsed = Plan::parse(&plan.expression());
                assert!(reparsed.is_ok(), "{s:?} -> {:?}", plan.expression());
                let _ = plan.matches(&MatchInput {
                    title: "北京",
                    text: "医院 a b",
                    author: "a",
                    platform: "weibo",
                });
                plans.push((i as i64, plan));
            }
            Err(e) => {
                assert!(e.pos <= s.chars().count(), "{s:?}: {e}");
                let _ = e.to_string();
            }
        }
    }
    assert!(plans.len() > 1000, "{}", plans.len());
    let set = PlanSet::new(plans.clone());
    for text in ["北京医院", "a b ab", "", "(北京)+医院", "ba"] {
        let input = MatchInput {
            title: "ab",
            text,
            author: "b",
            platform: "weibo",
        };
        let hits: Vec<i64> = set
            .match_doc(&input)
            .into_iter()
            .map(|h| h.plan_id)
            .collect();
        let expected: Vec<i64> = plans
            .iter()
            .filter(|(_, pl)| pl.matches(&input))
            .map(|(id, _)| *id)
            .collect();
        assert_eq!(hits, expected, "{text:?}");
    }
    assert!(
        PlanSet::new(Vec::new())
            .match_doc(&MatchInput::text("x"))
            .is_empty()
    );
}

#[test]
fn anchors_are_a_sound_candidate_filter() {
    let anchors = |e: &str| -> Vec<String> {
        let p = Plan::parse(e).expect("parses");
        let mut v: Vec<String> = p.anchors().iter().map(|t| t.to_string()).collect();
        v.sort();
        v
    };
    assert_eq!(anchors("北京大学"), vec!["北京大学"]);
    assert_eq!(anchors("学校-招聘"), vec!["学校"], "never an excluded term");
    assert_eq!(
        anchors("(北京|上海)+医院"),
        vec!["医院"],
        "the cheaper side of an AND"
    );
    assert_eq!(anchors("a|b+c-d").len(), 2);
    assert_eq!(anchors("title:(通报 NEAR/5 事故)").len(), 1);
    // Soundness on varied texts: whenever a plan matches, one of its anchors occurs.
    let texts = [
        "北京大学出版社发布通报",
        "上海某医院回应：不实",
        "学校食堂招聘厨师",
        "学校食堂饭菜变质，多名学生送医",
        "",
    ];
    for e in [
        "(北京|上海)+医院",
        "学校+(食堂|宿舍)-招聘",
        "北京|上海+医院-不实",
        "医院 NEAR/3 回应",
    ] {
        let p = Plan::parse(e).expect("parses");
        for t in texts {
            let n = yuqing_text::normalize(t);
            if p.matches(&MatchInput::text(&n)) {
                assert!(
                    p.anchors().iter().any(|a| n.contains(a.text.as_str())),
                    "{e} matches {t} but no anchor occurs"
                );
            }
        }
    }
}
