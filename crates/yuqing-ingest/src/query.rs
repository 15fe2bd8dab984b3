//! The read side: search and count over the index, verified against the store when the
//! index alone cannot be exact, and highlighted snippets of the original text.
//!
//! `count Q` equals the number of stored documents whose normalised title or text
//! contains Q: exact queries (letters, digits, ideographs only) are answered by the index;
//! queries with spaces or punctuation inside are answered by the index and each candidate
//! is checked against its normalised text; queries with no indexable character scan the
//! store.

use serde::Serialize;
use std::sync::Arc;
use yuqing_core::StoredDocument;
use yuqing_search::{Hit, SearchError, SearchIndex, SearchRequest, Sort};
use yuqing_store::Store;
use yuqing_text::normalize;

/// A search hit with its document and snippet.
#[derive(Debug, Clone, Serialize)]
pub struct SearchHit {
    pub score: f32,
    pub snippet: Snippet,
    #[serde(flatten)]
    pub doc: StoredDocument,
}

/// A page of results.
#[derive(Debug, Clone, Serialize)]
pub struct SearchPage {
    pub total: usize,
    pub hits: Vec<SearchHit>,
}

#[derive(Debug, thiserror::Error)]
pub enum QueryError {
    #[error(transparent)]
    Search(#[from] SearchError),
    #[error(transparent)]
    Store(#[from] yuqing_store::StoreError),
}

impl QueryError {
    pub fn code(&self) -> yuqing_core::Code {
        match self {
            QueryError::Search(e) => e.code(),
            QueryError::Store(e) => e.code(),
        }
    }
}

fn matches(d: &StoredDocument, q: &str) -> bool {
    normalize(&d.doc.text).contains(q)
        || d.doc
            .title
            .as_deref()
            .is_some_and(|t| normalize(t).contains(q))
}

fn in_filters(d: &StoredDocument, req: &SearchRequest) -> bool {
    let t = d.doc.published_at.map(|t| t.timestamp_millis());
    (req.platforms.is_empty() || req.platforms.contains(&d.doc.platform))
        && (req.kinds.is_empty() || req.kinds.iter().any(|k| k == d.doc.kind.as_str()))
        && req.since_ms.is_none_or(|s| t.is_some_and(|t| t >= s))
        && req.until_ms.is_none_or(|u| t.is_some_and(|t| t < u))
        && req.verified.is_none_or(|v| d.doc.author_verified() == v)
}

/// Seqs of every matching document when the index cannot answer exactly.
async fn verified_seqs<S: Store>(
    store: &S,
    index: &SearchIndex,
    req: &SearchRequest,
) -> Result<Vec<i64>, QueryError> {
    // Every candidate is checked (no cap: a count must be exact); the CPU part runs
    // outside the async workers.
    match index.all_seqs(req, (index.num_docs() as usize).max(1)) {
        Ok((seqs, _)) => {
            let mut out = Vec::new();
            for chunk in seqs.chunks(2000) {
                let docs = store.by_seqs(chunk).await?;
                out.extend(tokio::task::block_in_place(|| {
                    docs.iter()
                        .filter(|d| matches(d, &req.query))
                        .map(|d| d.seq)
                        .collect::<Vec<_>>()
                }));
            }
            Ok(out)
        }
        Err(SearchError::Unsearchable { .. }) => {
            let mut out = Vec::new();
            let mut after = 0;
            loop {
                let docs = store.scan(after, 5000).await?;
                let Some(last) = docs.last() else { break };
                after = last.seq;
                out.extend(tokio::task::block_in_place(|| {
                    docs.iter()
                        .filter(|d| in_filters(d, req) && matches(d, &req.query))
                        .map(|d| d.seq)
                        .collect::<Vec<_>>()
                }));
            }
            Ok(out)
        }
        Err(e) => Err(e.into()),
    }
}

/// Number of matching documents. `req.query` must be normalised (see [`normalize_request`]).
pub async fn count<S: Store>(
    store: &S,
    index: &SearchIndex,
    req: &SearchRequest,
) -> Result<usize, QueryError> {
    match index.count(req) {
        Ok((n, true)) => Ok(n),
        Ok((_, false)) | Err(SearchError::Unsearchable { .. }) => {
            Ok(verified_seqs(store, index, req).await?.len())
        }
        Err(e) => Err(e.into()),
    }
}

/// Normalises the query string of a request in place.
pub fn normalize_request(req: &mut SearchRequest) {
    req.query = normalize(&req.query);
}

/// One page of hits with documents and snippets. `req.query` must be normalised.
pub async fn search<S: Store>(
    store: &Arc<S>,
    index: &SearchIndex,
    req: &SearchRequest,
) -> Result<SearchPage, QueryError> {
    let (total, hits): (usize, Vec<Hit>) = match index.search(req) {
        Ok(h) if h.exact => (h.total, h.hits),
        Ok(_) | Err(SearchError::Unsearchable { .. }) => {
            // Verify every candidate, then order and page in memory.
            let seqs = verified_seqs(store.as_ref(), index, req).await?;
            let total = seqs.len();
            let mut docs = store.by_seqs(&seqs).await?;
            match req.sort {
                Sort::TimeAsc => docs.sort_by_key(|d| (d.doc.published_at, d.seq)),
                _ => docs.sort_by_key(|d| std::cmp::Reverse((d.doc.published_at, d.seq))),
            }
            let page: Vec<Hit> = docs
                .iter()
                .skip(req.offset)
                .take(req.limit.max(1))
                .map(|d| Hit {
                    seq: d.seq,
                    score: 1.0,
                })
                .collect();
            (total, page)
        }
        Err(e) => return Err(e.into()),
    };
    let seqs: Vec<i64> = hits.iter().map(|h| h.seq).collect();
    // A hit the store no longer has (dropped by retention, not yet forgotten by this
    // node's index) is left out; the others keep their own scores.
    let score: std::collections::HashMap<i64, f32> =
        hits.iter().map(|h| (h.seq, h.score)).collect();
    let docs = store.by_seqs(&seqs).await?;
    let hits = docs
        .into_iter()
        .map(|d| {
            let score = score.get(&d.seq).copied().unwrap_or(0.0);
            let snippet = snippet(
                d.doc
                    .title
                    .as_deref()
                    .filter(|t| !t.is_empty() && d.doc.text.is_empty())
                    .unwrap_or(&d.doc.text),
                &req.query,
                80,
            );
            SearchHit {
                score,
                snippet,
                doc: d,
            }
        })
        .collect();
    Ok(SearchPage { total, hits })
}

/// A piece of the original text around the first match, with the matches marked.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Snippet {
    pub text: String,
    /// Character ranges `[start, end)` of matches within `text`.
    pub highlights: Vec<(usize, usize)>,
}

impl Snippet {
    /// The snippet with matches wrapped in `open`/`close`; `escape` is applied to text.
    pub fn render(&self, open: &str, close: &str, escape: impl Fn(&str) -> String) -> String {
        let chars: Vec<char> = self.text.chars().collect();
        let mut out = String::new();
        let mut at = 0;
        for &(s, e) in &self.highlights {
            out.push_str(&escape(&chars[at..s].iter().collect::<String>()));
            out.push_str(open);
            out.push_str(&escape(&chars[s..e].iter().collect::<String>()));
            out.push_str(close);
            at = e;
        }
        out.push_str(&escape(&chars[at..].iter().collect::<String>()));
        out
    }
}

/// Builds a snippet of at most `width` characters of `text` around matches of the
/// normalised query `q`. Each original character is normalised on its own so that match
/// positions map back to the original text exactly.
pub fn snippet(text: &str, q: &str, width: usize) -> Snippet {
    if q.is_empty() {
        return snippet_terms(text, &[], width);
    }
    snippet_terms(text, &[q], width)
}

/// [`snippet`] for several normalised terms (the hit terms of a plan query): the window
/// starts near the first match of any term, and every match inside it is highlighted
/// (overlapping matches merged). With one term it is exactly [`snippet`].
pub fn snippet_terms(text: &str, terms: &[&str], width: usize) -> Snippet {
    let orig: Vec<char> = text.chars().take(50_000).collect();
    let terms: Vec<Vec<char>> = terms
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| t.chars().collect())
        .collect();
    if terms.is_empty() {
        return Snippet {
            text: orig.iter().take(width).collect(),
            highlights: vec![],
        };
    }
    // norm_chars[i] = (normalised char, index of the original char it came from)
    let mut norm: Vec<(char, usize)> = Vec::with_capacity(orig.len());
    let mut buf = [0u8; 4];
    for (i, c) in orig.iter().enumerate() {
        for n in normalize(c.encode_utf8(&mut buf)).chars() {
            norm.push((n, i));
        }
        if c.is_whitespace() && norm.last().is_none_or(|l| l.0 != ' ') {
            norm.push((' ', i));
        }
    }
    let mut matches = Vec::new();
    for qc in &terms {
        let mut i = 0;
        while i + qc.len() <= norm.len() {
            if norm[i..i + qc.len()]
                .iter()
                .map(|x| x.0)
                .eq(qc.iter().copied())
            {
                let s = norm[i].1;
                let e = norm[i + qc.len() - 1].1 + 1;
                matches.push((s, e));
                i += qc.len();
            } else {
                i += 1;
            }
        }
    }
    if terms.len() > 1 {
        // In order, overlapping or touching matches of different terms merged.
        matches.sort_unstable();
        let mut merged: Vec<(usize, usize)> = Vec::with_capacity(matches.len());
        for (s, e) in matches {
            match merged.last_mut() {
                Some(last) if s < last.1 => last.1 = last.1.max(e),
                _ => merged.push((s, e)),
            }
        }
        matches = merged;
    }
    let Some(&(first, _)) = matches.first() else {
        return Snippet {
            text: orig.iter().take(width).collect(),
            highlights: vec![],
        };
    };
    let start = first.saturating_sub(width / 4);
    let end = (start + width).min(orig.len());
    let start = end.saturating_sub(width).min(start);
    let mut text: String = orig[start..end].iter().collect();
    let mut highlights: Vec<(usize, usize)> = matches
        .iter()
        .filter(|&&(s, e)| s >= start && e <= end)
        .map(|&(s, e)| (s - start, e - start))
        .collect();
    if start > 0 {
        text.insert(0, '…');
        for h in &mut highlights {
            h.0 += 1;
            h.1 += 1;
        }
    }
    if end < orig.len() {
        text.push('…');
    }
    Snippet { text, highlights }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snippet_marks_matches_in_the_original_text() {
        let s = snippet("我在北京大學出版社工作，北京大学很好", "北京大学", 80);
        assert_eq!(s.highlights, vec![(2, 6), (12, 16)]);
        assert_eq!(
            s.render("[", "]", |t| t.to_owned()),
            "我在[北京大學]出版社工作，[北京大学]很好"
        );
    }

    #[test]
    fn snippet_escapes_untrusted_text() {
        let s = snippet("<script>x</script>北京", "北京", 80);
        let html = s.render("<mark>", "</mark>", |t| {
            t.replace('<', "&lt;").replace('>', "&gt;")
        });
        assert_eq!(html, "&lt;script&gt;x&lt;/script&gt;<mark>北京</mark>");
    }

    #[test]
    fn snippet_windows_long_text() {
        let text = format!("{}目标{}", "前".repeat(200), "后".repeat(200));
        let s = snippet(&text, "目标", 40);
        assert!(s.text.starts_with('…') && s.text.ends_with('…'));
        assert_eq!(s.highlights.len(), 1);
        let (a, b) = s.highlights[0];
        assert_eq!(
            s.text.chars().skip(a).take(b - a).collect::<String>(),
            "目标"
        );
    }
}
