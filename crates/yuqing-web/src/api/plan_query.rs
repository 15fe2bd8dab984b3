//! The plan language in the search box (信息检索): `q` of `GET /api/v1/search`,
//! `GET /api/v1/count` and `GET /api/v1/search/export.xlsx` may be a monitoring-plan
//! expression (docs/specs/plan-language.md), e.g. `学校+(食堂|食品)-谣言`.
//!
//! - **A plain word stays a substring search.** When the expression is one unscoped term
//!   whose text is the whole normalised query (`中国`), or when it does not parse but holds
//!   no operator, quote or whitespace (`http://x.cn/a`, `foo:bar`), the query is the
//!   substring search of the CLI, with the same results as before plans were accepted.
//! - **Anything else is a plan** ([`classify`]). Candidates come from the full-text index
//!   as in `yuqing_ingest::backtest`: each anchor term (one of which occurs in every match)
//!   is looked up with the request's index filters (platform, kind, time, verified); when
//!   an anchor cannot be looked up, every document of those filters is a candidate. At most
//!   [`MAX_PLAN_CANDIDATES`] of the newest candidates are kept (`capped: true` then says the
//!   total is a lower bound). The store's filters (sentiment, level, plan, region) apply,
//!   then every candidate is checked with the plan itself, so the total is exact. Hits are
//!   ordered by time (newest first, or oldest with `sort=time_asc`); each carries the terms
//!   that made the plan match, highlighted in its snippet.
//! - **A malformed expression** is a 400 with `code: invalid_input`, the message in
//!   Chinese and English naming the column, and `position` (0-based characters), `column`
//!   and `kind` (the plan error, §10 of the spec): `ApiError::plan`.

use super::AppState;
use super::dashboard::{Found, blocking};
use crate::error::ApiError;
use std::collections::HashMap;
use std::sync::Arc;
use yuqing_core::StoredDocument;
use yuqing_ingest::backtest;
use yuqing_ingest::query::{self, QueryError, SearchHit};
use yuqing_search::SearchRequest;
use yuqing_store::{DocFilter, Store};
use yuqing_text::plan::{Field, Plan};

/// Most index candidates of a plan query that are read and checked.
pub const MAX_PLAN_CANDIDATES: usize = 100_000;
/// Candidates read from the store per round.
const CHUNK: usize = 2_000;

/// Whether the character is syntax of the plan language (after the full-width fold of the
/// spec's §2: `（` is `(`, the ideographic space is a space).
fn is_syntax(c: char) -> bool {
    let c = match c {
        '\u{3000}' => ' ',
        '\u{FF01}'..='\u{FF5E}' => char::from_u32(c as u32 - 0xFEE0).unwrap_or(c),
        c => c,
    };
    c.is_whitespace() || matches!(c, '(' | ')' | '+' | '|' | '"' | '-')
}

/// What the search box holds: `None` for no query or a plain word (the substring
/// search), a plan otherwise; a 400 with the position when it is a malformed expression.
pub(super) fn classify(raw: &str) -> Result<Option<Arc<Plan>>, ApiError> {
    let q = raw.trim();
    if q.is_empty() {
        return Ok(None);
    }
    // Parsed as sent, so the error's position points into `q` as the user wrote it.
    match Plan::parse(raw) {
        Ok(plan) => {
            let plain = matches!(plan.terms(), [t] if t.field == Field::Any
                && t.text == yuqing_text::normalize(q));
            Ok((!plain).then(|| Arc::new(plan)))
        }
        Err(_) if !q.chars().any(is_syntax) => Ok(None),
        Err(e) => Err(ApiError::plan(&e)),
    }
}

/// A page of hits of `plan` (see the module docs). `req` carries the index filters, the
/// order and the page; its `query` is ignored.
pub(super) async fn find<S: Store>(
    st: &AppState<S>,
    req: &SearchRequest,
    filter: &DocFilter,
    plan: Arc<Plan>,
) -> Result<Found, ApiError> {
    let index = st.index.clone();
    let (r, p) = (req.clone(), plan.clone());
    let mut seqs = blocking(move || -> Result<Vec<i64>, QueryError> {
        let mut one = r;
        one.offset = 0;
        if backtest::indexable(&p) {
            let mut all = Vec::new();
            for a in p.anchors() {
                one.query = a.text.clone();
                all.extend(index.seqs(&one)?.0);
            }
            all.sort_unstable();
            all.dedup();
            Ok(all)
        } else {
            one.query.clear();
            Ok(index.seqs(&one)?.0)
        }
    })
    .await??;
    let capped = seqs.len() > MAX_PLAN_CANDIDATES;
    if capped {
        seqs.sort_unstable_by(|a, b| b.cmp(a));
        seqs.truncate(MAX_PLAN_CANDIDATES);
        seqs.sort_unstable();
    }
    if !filter.is_empty() {
        seqs = st
            .store
            .filter_seqs(&seqs, filter)
            .await?
            .into_iter()
            .map(|x| x.0)
            .collect();
    }
    // (seq, published ms) of every candidate the plan matches.
    let mut kept: Vec<(i64, Option<i64>)> = Vec::new();
    for chunk in seqs.chunks(CHUNK) {
        let docs = st.store.by_seqs(chunk).await?;
        let p = plan.clone();
        let good = blocking(move || {
            docs.iter()
                .filter(|d| backtest::matched_terms(&p, d).is_some())
                .map(|d| (d.seq, d.doc.published_at.map(|t| t.timestamp_millis())))
                .collect::<Vec<_>>()
        })
        .await?;
        kept.extend(good);
    }
    let (total, page) = super::dashboard::sort_and_page(kept, req);
    let mut by_seq: HashMap<i64, StoredDocument> = st
        .store
        .by_seqs(&page)
        .await?
        .into_iter()
        .map(|d| (d.seq, d))
        .collect();
    let docs: Vec<StoredDocument> = page.iter().filter_map(|s| by_seq.remove(s)).collect();
    let (hits, terms) = blocking(move || {
        let mut terms = HashMap::new();
        let hits: Vec<SearchHit> = docs
            .into_iter()
            .map(|d| {
                let t = backtest::matched_terms(&plan, &d).unwrap_or_default();
                let hit = hit_of(d, &t);
                terms.insert(hit.doc.seq, t);
                hit
            })
            .collect();
        (hits, terms)
    })
    .await?;
    Ok(Found {
        total,
        hits,
        capped,
        terms,
    })
}

/// A hit with its snippet around the plan's hit terms (the text, or the title of a
/// document without text).
fn hit_of(d: StoredDocument, terms: &[String]) -> SearchHit {
    let refs: Vec<&str> = terms.iter().map(String::as_str).collect();
    let body = d
        .doc
        .title
        .as_deref()
        .filter(|t| !t.is_empty() && d.doc.text.is_empty())
        .unwrap_or(&d.doc.text);
    let snippet = query::snippet_terms(body, &refs, 80);
    SearchHit {
        score: 1.0,
        snippet,
        doc: d,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_substring_searches() {
        for q in [
            "",
            "  ",
            "中国",
            "ＡＢＣ",
            "http://x.cn/a",
            "foo:bar",
            "NEAR",
            "&quot;",
        ] {
            assert!(classify(q).expect(q).is_none(), "{q}");
        }
    }

    #[test]
    fn expressions_are_plans() {
        for q in [
            "学校+食堂",
            "学校 食堂",
            "(北京|上海)-谣言",
            "title:地震",
            "\"中国\"",
            "a NEAR/3 b",
        ] {
            assert!(classify(q).expect(q).is_some(), "{q}");
        }
    }

    #[test]
    fn malformed_expressions_say_where() {
        let e = classify("学校+(食堂").expect_err("unbalanced");
        let extra = e.extra.expect("extra");
        assert_eq!(extra["position"], 3);
        assert_eq!(extra["column"], 4);
        assert_eq!(extra["kind"], "unbalanced_paren");
        assert!(
            e.zh.contains("第 4 列") && e.en.contains("column 4"),
            "{} / {}",
            e.zh,
            e.en
        );
        let e = classify("（学校").expect_err("full-width paren");
        assert_eq!(e.extra.expect("extra")["kind"], "unbalanced_paren");
    }
}
