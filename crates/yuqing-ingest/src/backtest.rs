//! Backtesting a monitoring plan against the stored history: how many stored documents it
//! matches (published in `[since, until)` when given), per Beijing day, and the first
//! matching documents as samples. `yuqing plan test` and the web editor's live preview
//! (`POST /api/v1/plans/preview`) both use it, so they always agree.
//!
//! When every anchor of the plan (terms of which one must occur, see `Plan::anchors`) can
//! be looked up in the full-text index, only the index's candidates are read and verified;
//! documents newer than the index are scanned. Otherwise every stored document is scanned.
//! Either way each candidate is checked with the plan itself, so the result equals a full
//! scan. A `deadline` stops the work early and marks the result incomplete (the preview
//! uses one; the CLI does not).

use crate::query::QueryError;
use serde::Serialize;
use std::collections::BTreeMap;
use std::time::Instant;
use yuqing_core::StoredDocument;
use yuqing_search::{SearchIndex, SearchRequest};
use yuqing_store::Store;
use yuqing_text::ngram::{QueryPlan, plan_query};
use yuqing_text::normalize;
use yuqing_text::plan::{Field, MatchInput, Plan};

/// Documents read from the store per round.
const CHUNK: usize = 5000;

/// What to backtest.
#[derive(Debug, Clone, Default)]
pub struct BacktestOptions {
    /// Published at or after (unix ms).
    pub since_ms: Option<i64>,
    /// Published before (unix ms).
    pub until_ms: Option<i64>,
    /// How many of the first matching documents (in seq order) to keep.
    pub samples: usize,
    /// Stop after this instant (checked between rounds); the result is then incomplete.
    pub deadline: Option<Instant>,
}

/// The result of a backtest.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Backtest {
    /// Matching documents.
    pub count: u64,
    /// Matching documents per Beijing date of publication (`unknown` without a time).
    pub daily: BTreeMap<String, u64>,
    /// The first matching documents, in the order they were checked (seq order).
    pub samples: Vec<StoredDocument>,
    /// Whether the candidates came from the full-text index (else the store was scanned).
    pub indexed: bool,
    /// Documents read and checked.
    pub checked: u64,
    /// False when the deadline cut the work short (count and daily are then lower bounds).
    pub complete: bool,
}

/// Whether every anchor of `plan` can be looked up in the full-text index.
pub fn indexable(plan: &Plan) -> bool {
    let anchors = plan.anchors();
    !anchors.is_empty()
        && anchors.iter().all(|a| {
            matches!(a.field, Field::Any | Field::Title)
                && !matches!(plan_query(&a.text), QueryPlan::Scan)
        })
}

/// Backtests `plan` (see the module docs).
pub async fn backtest<S: Store>(
    store: &S,
    index: &SearchIndex,
    plan: &Plan,
    opts: &BacktestOptions,
) -> Result<Backtest, QueryError> {
    let (since, until) = (opts.since_ms, opts.until_ms);
    let mut out = Backtest {
        complete: true,
        ..Default::default()
    };
    let mut candidates: Vec<i64> = Vec::new();
    let mut tail_after = 0;
    if indexable(plan) {
        out.indexed = true;
        // What the index holds is read before the searcher is refreshed, so the searcher
        // holds at least that much; documents it holds beyond are candidates already and
        // are skipped by the tail scan below (no gap and no double count while a writer
        // commits alongside).
        tail_after = index.indexed_seq()?;
        candidates = tokio::task::block_in_place(|| -> Result<Vec<i64>, QueryError> {
            index.reload()?;
            let mut all = Vec::new();
            for a in plan.anchors() {
                let req = SearchRequest {
                    query: a.text.clone(),
                    since_ms: since,
                    until_ms: until,
                    ..Default::default()
                };
                all.extend(index.seqs(&req)?.0);
            }
            all.sort_unstable();
            all.dedup();
            Ok(all)
        })?;
    }
    let expired = |o: &BacktestOptions| o.deadline.is_some_and(|d| Instant::now() >= d);
    for chunk in candidates.chunks(CHUNK) {
        if expired(opts) {
            out.complete = false;
            return Ok(out);
        }
        let docs = store.by_seqs(chunk).await?;
        check(plan, &docs, opts, &mut out);
    }
    // Full scan, or the documents the index does not hold yet.
    let mut after = tail_after;
    loop {
        if expired(opts) {
            out.complete = false;
            return Ok(out);
        }
        let mut docs = store.scan(after, CHUNK as i64).await?;
        let Some(last) = docs.last() else { break };
        after = last.seq;
        if out.indexed {
            docs.retain(|d| candidates.binary_search(&d.seq).is_err());
        }
        check(plan, &docs, opts, &mut out);
    }
    Ok(out)
}

fn check(plan: &Plan, docs: &[StoredDocument], opts: &BacktestOptions, out: &mut Backtest) {
    out.checked += docs.len() as u64;
    let hits = tokio::task::block_in_place(|| matching(plan, docs, opts.since_ms, opts.until_ms));
    for i in hits {
        let d = &docs[i];
        out.count += 1;
        let day = d
            .doc
            .published_at
            .map(|t| t.format("%Y-%m-%d").to_string())
            .unwrap_or_else(|| "unknown".into());
        *out.daily.entry(day).or_default() += 1;
        if out.samples.len() < opts.samples {
            out.samples.push(d.clone());
        }
    }
}

/// The normalised fields of a document, as plans see them.
struct Fields {
    title: String,
    text: String,
    author: String,
}

impl Fields {
    fn of(d: &StoredDocument) -> Fields {
        Fields {
            title: d.doc.title.as_deref().map(normalize).unwrap_or_default(),
            text: normalize(&d.doc.text),
            author: d
                .doc
                .author
                .as_ref()
                .and_then(|a| a.name.as_deref())
                .map(normalize)
                .unwrap_or_default(),
        }
    }

    fn input<'a>(&'a self, d: &'a StoredDocument) -> MatchInput<'a> {
        MatchInput {
            title: &self.title,
            text: &self.text,
            author: &self.author,
            platform: &d.doc.platform,
        }
    }
}

/// The terms that made `plan` match the stored document (empty when it does not match).
pub fn hit_terms(plan: &Plan, d: &StoredDocument) -> Vec<String> {
    let f = Fields::of(d);
    plan.hit_terms(&f.input(d)).unwrap_or_default()
}

/// The terms that made `plan` match the stored document, or `None` when it does not match
/// (a match may report no term, e.g. `platform:weibo`). The search page's plan queries
/// use it to verify candidates and highlight them.
pub fn matched_terms(plan: &Plan, d: &StoredDocument) -> Option<Vec<String>> {
    let f = Fields::of(d);
    plan.hit_terms(&f.input(d))
}

/// Indices of the documents `plan` matches, checked on two threads.
fn matching(
    plan: &Plan,
    docs: &[StoredDocument],
    since: Option<i64>,
    until: Option<i64>,
) -> Vec<usize> {
    let test = |d: &StoredDocument| {
        let t = d.doc.published_at.map(|t| t.timestamp_millis());
        if !(since.is_none_or(|s| t.is_some_and(|t| t >= s))
            && until.is_none_or(|u| t.is_some_and(|t| t < u)))
        {
            return false;
        }
        let f = Fields::of(d);
        plan.matches(&f.input(d))
    };
    let half = docs.len() / 2;
    let (a, b) = docs.split_at(half);
    let (ha, hb) = std::thread::scope(|sc| {
        let h = sc.spawn(|| a.iter().map(test).collect::<Vec<bool>>());
        let hb: Vec<bool> = b.iter().map(test).collect();
        match h.join() {
            Ok(ha) => (ha, hb),
            Err(panic) => std::panic::resume_unwind(panic),
        }
    });
    ha.into_iter()
        .chain(hb)
        .enumerate()
        .filter_map(|(i, ok)| ok.then_some(i))
        .collect()
}
