//! The full-text index of yuqing, on tantivy.
//!
//! Design decision: recall equals substring matching. A word-level (jieba) index misses
//! 北京大学 inside 北京大学出版社, and users of public-opinion systems expect a search to find
//! every text containing the string. So `title` and `text` are indexed as character
//! bigrams with character positions ([`yuqing_text::ngram`]); a query string becomes a
//! phrase of bigrams at fixed offsets, which matches exactly the documents whose
//! normalised text contains it. Queries with punctuation or spaces inside are answered by
//! the index and then verified against the text by the caller ([`Hits::exact`] is false).
//!
//! The index is derived data: the store is the system of record. Every commit records the
//! highest store `seq` indexed (the commit payload), so after a crash the index catches up
//! from the store, and `yuqing reindex` rebuilds it from scratch.

mod error;
mod schema;
mod tokenizer;

pub use error::SearchError;
pub use schema::SCHEMA_VERSION;

use schema::Fields;
use std::ops::Bound;
use std::path::Path;
use tantivy::collector::{Count, TopDocs};
use tantivy::query::{
    AllQuery, BooleanQuery, BoostQuery, Occur, PhraseQuery, Query, RangeQuery, RegexQuery,
    TermQuery,
};
use tantivy::schema::IndexRecordOption;
use tantivy::{
    DocAddress, Index, IndexReader, IndexWriter, Order, ReloadPolicy, TantivyDocument, Term,
};
use yuqing_text::ngram::{QueryPlan, plan_query};

/// Weight of whole-word (jieba) matches relative to the n-gram match.
const WORD_BOOST: f32 = 3.0;

pub type Result<T, E = SearchError> = std::result::Result<T, E>;

/// What the index needs of a document. Text fields are already normalised.
#[derive(Debug, Clone, Copy)]
pub struct IndexDoc<'a> {
    pub seq: i64,
    pub title: &'a str,
    pub text: &'a str,
    pub platform: &'a str,
    pub kind: &'a str,
    pub source: &'a str,
    pub published_ms: Option<i64>,
    pub verified: bool,
    pub group_id: Option<i64>,
}

/// How to order hits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sort {
    /// Best match first (BM25 over bigrams).
    #[default]
    Relevance,
    /// Newest first.
    Time,
    /// Oldest first.
    TimeAsc,
}

/// A search: a normalised query string (may be empty: every document) and filters.
#[derive(Debug, Clone, Default)]
pub struct SearchRequest {
    pub query: String,
    pub platforms: Vec<String>,
    pub kinds: Vec<String>,
    pub since_ms: Option<i64>,
    pub until_ms: Option<i64>,
    pub verified: Option<bool>,
    pub sort: Sort,
    pub limit: usize,
    pub offset: usize,
}

/// One hit: the store seq of the document and its score.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Hit {
    pub seq: i64,
    pub score: f32,
}

/// Result of a search.
#[derive(Debug, Clone)]
pub struct Hits {
    /// Number of matching documents (candidates when `exact` is false).
    pub total: usize,
    pub hits: Vec<Hit>,
    /// False when the query has punctuation or spaces: the caller must verify each
    /// candidate against its normalised text.
    pub exact: bool,
}

/// The index: a reader always, a writer on demand.
pub struct SearchIndex {
    index: Index,
    reader: IndexReader,
    fields: Fields,
}

impl SearchIndex {
    /// Opens the index in `dir`, creating it if missing. An index with another schema
    /// version is refused with a message asking for `yuqing reindex`.
    pub fn open(dir: &Path) -> Result<Self> {
        std::fs::create_dir_all(dir).map_err(|e| SearchError::Io {
            path: dir.display().to_string(),
            source: e,
        })?;
        let (schema, fields) = schema::build();
        let mmap = tantivy::directory::MmapDirectory::open(dir).map_err(|e| SearchError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        let index = Index::open_or_create(mmap, schema.clone()).map_err(|e| SearchError::Open {
            path: dir.display().to_string(),
            reason: e.to_string(),
        })?;
        if index.schema() != schema {
            return Err(SearchError::SchemaMismatch {
                path: dir.display().to_string(),
            });
        }
        tokenizer::register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        let me = Self {
            index,
            reader,
            fields,
        };
        if let Some(p) = me.payload()? {
            if p.version.is_some_and(|v| v != SCHEMA_VERSION) {
                return Err(SearchError::SchemaMismatch {
                    path: dir.display().to_string(),
                });
            }
            if p.seq > 0
                && p.fold_traditional
                    .is_some_and(|f| f != yuqing_text::fold_traditional())
            {
                return Err(SearchError::NormalisationMismatch {
                    path: dir.display().to_string(),
                });
            }
        }
        Ok(me)
    }

    /// An index in memory, for tests.
    pub fn in_ram() -> Result<Self> {
        let (schema, fields) = schema::build();
        let index = Index::create_in_ram(schema);
        tokenizer::register(&index);
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            fields,
        })
    }

    fn payload(&self) -> Result<Option<schema::Payload>> {
        let metas = self.index.load_metas()?;
        Ok(metas
            .payload
            .as_deref()
            .and_then(|p| serde_json::from_str(p).ok()))
    }

    /// Highest store seq committed to the index (0 when empty).
    pub fn indexed_seq(&self) -> Result<i64> {
        Ok(self.payload()?.map_or(0, |p| p.seq))
    }

    /// A writer. Only one may exist at a time across processes (tantivy's lock file).
    pub fn writer(&self, heap_bytes: usize, threads: usize) -> Result<Writer> {
        self.writer_with_words(heap_bytes, threads, false)
    }

    /// A writer that also fills the jieba `words` field (whole-word ranking). It costs
    /// about a quarter of the import throughput; recall is the same either way.
    pub fn writer_with_words(
        &self,
        heap_bytes: usize,
        threads: usize,
        words: bool,
    ) -> Result<Writer> {
        let w: IndexWriter<TantivyDocument> = self
            .index
            .writer_with_num_threads(threads.max(1), heap_bytes)?;
        Ok(Writer {
            w: Some(w),
            index: self.index.clone(),
            threads: threads.max(1),
            heap_bytes,
            fields: self.fields.clone(),
            doc: TantivyDocument::default(),
            words,
        })
    }

    /// Makes the latest commit visible to searches.
    pub fn reload(&self) -> Result<()> {
        self.reader.reload()?;
        Ok(())
    }

    /// Number of documents in the index.
    pub fn num_docs(&self) -> u64 {
        self.reader.searcher().num_docs()
    }

    fn text_query(&self, q: &str) -> Result<Option<Box<dyn Query>>> {
        if q.is_empty() {
            return Ok(None);
        }
        let plan = plan_query(q);
        let per_field = |field| -> Result<Box<dyn Query>> {
            Ok(match &plan {
                QueryPlan::Scan => {
                    return Err(SearchError::Unsearchable {
                        query: q.to_owned(),
                    });
                }
                QueryPlan::Char { c, .. } => {
                    let esc = regex_escape(c);
                    Box::new(BooleanQuery::new(vec![
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(
                                Term::from_field_text(field, c),
                                IndexRecordOption::Basic,
                            )) as Box<dyn Query>,
                        ),
                        (
                            Occur::Should,
                            Box::new(RegexQuery::from_pattern(&format!("{esc}.|.{esc}"), field)?),
                        ),
                    ]))
                }
                QueryPlan::Phrase { grams, .. } if grams.len() == 1 => Box::new(TermQuery::new(
                    Term::from_field_text(field, &grams[0].1),
                    IndexRecordOption::WithFreqs,
                )),
                QueryPlan::Phrase { grams, .. } => Box::new(PhraseQuery::new_with_offset(
                    grams
                        .iter()
                        .map(|(o, g)| (*o as usize, Term::from_field_text(field, g)))
                        .collect(),
                )),
            })
        };
        Ok(Some(Box::new(BooleanQuery::new(vec![
            (Occur::Should, per_field(self.fields.title)?),
            (Occur::Should, per_field(self.fields.text)?),
        ]))))
    }

    fn build_query(&self, req: &SearchRequest) -> Result<(Box<dyn Query>, bool)> {
        let exact = req.query.is_empty() || plan_query(&req.query).is_exact();
        let mut must: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        if let Some(q) = self.text_query(&req.query)? {
            must.push((Occur::Must, q));
        }
        let any_of = |field, values: &[String]| -> Box<dyn Query> {
            Box::new(BooleanQuery::new(
                values
                    .iter()
                    .map(|v| {
                        (
                            Occur::Should,
                            Box::new(TermQuery::new(
                                Term::from_field_text(field, v),
                                IndexRecordOption::Basic,
                            )) as Box<dyn Query>,
                        )
                    })
                    .collect(),
            ))
        };
        if !req.platforms.is_empty() {
            must.push((Occur::Must, any_of(self.fields.platform, &req.platforms)));
        }
        if !req.kinds.is_empty() {
            must.push((Occur::Must, any_of(self.fields.kind, &req.kinds)));
        }
        if req.since_ms.is_some() || req.until_ms.is_some() {
            let f = self.fields.published;
            let lo = req.since_ms.map_or(Bound::Unbounded, |v| {
                Bound::Included(Term::from_field_i64(f, v))
            });
            let hi = req.until_ms.map_or(Bound::Unbounded, |v| {
                Bound::Excluded(Term::from_field_i64(f, v))
            });
            must.push((Occur::Must, Box::new(RangeQuery::new(lo, hi))));
        }
        if let Some(v) = req.verified {
            must.push((
                Occur::Must,
                Box::new(TermQuery::new(
                    Term::from_field_u64(self.fields.verified, u64::from(v)),
                    IndexRecordOption::Basic,
                )),
            ));
        }
        let q: Box<dyn Query> = match must.len() {
            0 => Box::new(AllQuery),
            1 if matches!(must[0].0, Occur::Must) => must
                .pop()
                .map(|m| m.1)
                .unwrap_or_else(|| Box::new(AllQuery)),
            _ => Box::new(BooleanQuery::new(must)),
        };
        Ok((q, exact))
    }

    /// Runs a search: total count and one page of hits.
    pub fn search(&self, req: &SearchRequest) -> Result<Hits> {
        let (q, exact) = self.build_query(req)?;
        let searcher = self.reader.searcher();
        let limit = req.limit.max(1);
        match req.sort {
            Sort::Relevance => {
                let q = self.with_word_boost(q, &req.query)?;
                let (total, top) = searcher.search(
                    &q,
                    &(
                        Count,
                        TopDocs::with_limit(limit)
                            .and_offset(req.offset)
                            .order_by_score(),
                    ),
                )?;
                Ok(Hits {
                    total,
                    hits: self.to_hits(&searcher, top)?,
                    exact,
                })
            }
            Sort::Time | Sort::TimeAsc => {
                let order = if req.sort == Sort::Time {
                    Order::Desc
                } else {
                    Order::Asc
                };
                let (total, top) = searcher.search(
                    &q,
                    &(
                        Count,
                        TopDocs::with_limit(limit)
                            .and_offset(req.offset)
                            .order_by_fast_field::<i64>("published", order),
                    ),
                )?;
                let hits =
                    self.to_hits(&searcher, top.into_iter().map(|(_, a)| (0.0, a)).collect())?;
                Ok(Hits { total, hits, exact })
            }
        }
    }

    /// Adds an optional clause on the jieba `words` field: documents where the query's
    /// words occur as whole words rank higher. It never changes which documents match.
    fn with_word_boost(&self, q: Box<dyn Query>, query: &str) -> Result<Box<dyn Query>> {
        if query.is_empty() {
            return Ok(q);
        }
        let mut analyzer = self.index.tokenizer_for_field(self.fields.words)?;
        let mut stream = analyzer.token_stream(query);
        let mut words: Vec<(Occur, Box<dyn Query>)> = Vec::new();
        while let Some(t) = stream.next() {
            if t.text.chars().any(yuqing_text::ngram::is_word_char) {
                let term = Term::from_field_text(self.fields.words, &t.text);
                words.push((
                    Occur::Should,
                    Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs)),
                ));
            }
        }
        if words.is_empty() {
            return Ok(q);
        }
        // Weighted so that a whole-word match outweighs BM25's preference for short texts.
        let words: Box<dyn Query> = Box::new(BoostQuery::new(
            Box::new(BooleanQuery::new(words)),
            WORD_BOOST,
        ));
        Ok(Box::new(BooleanQuery::new(vec![
            (Occur::Must, q),
            (Occur::Should, words),
        ])))
    }

    /// Every matching seq (for verification, backtests and exports), up to `max`.
    pub fn all_seqs(&self, req: &SearchRequest, max: usize) -> Result<(Vec<i64>, bool)> {
        let (q, exact) = self.build_query(req)?;
        let searcher = self.reader.searcher();
        let top = searcher.search(&q, &TopDocs::with_limit(max.max(1)).order_by_score())?;
        let mut seqs: Vec<i64> = self
            .to_hits(&searcher, top)?
            .into_iter()
            .map(|h| h.seq)
            .collect();
        seqs.sort_unstable();
        Ok((seqs, exact))
    }

    /// Every matching seq, unscored and unsorted-free (ascending), with whether the match is
    /// exact (else the seqs are candidates to verify). For backtests over many documents.
    pub fn seqs(&self, req: &SearchRequest) -> Result<(Vec<i64>, bool)> {
        let (q, exact) = self.build_query(req)?;
        let searcher = self.reader.searcher();
        let docs = searcher.search(&q, &tantivy::collector::DocSetCollector)?;
        let mut cols: Vec<Option<tantivy::columnar::Column<u64>>> =
            vec![None; searcher.segment_readers().len()];
        let mut seqs = Vec::with_capacity(docs.len());
        for a in docs {
            let ord = a.segment_ord as usize;
            if cols[ord].is_none() {
                cols[ord] = Some(
                    searcher
                        .segment_reader(a.segment_ord)
                        .fast_fields()
                        .u64("seq")?,
                );
            }
            if let Some(seq) = cols[ord].as_ref().and_then(|c| c.first(a.doc_id)) {
                seqs.push(seq as i64);
            }
        }
        seqs.sort_unstable();
        Ok((seqs, exact))
    }

    /// Number of matching documents (candidates when the query is not exact).
    pub fn count(&self, req: &SearchRequest) -> Result<(usize, bool)> {
        let (q, exact) = self.build_query(req)?;
        Ok((self.reader.searcher().search(&q, &Count)?, exact))
    }

    fn to_hits(
        &self,
        searcher: &tantivy::Searcher,
        top: Vec<(f32, DocAddress)>,
    ) -> Result<Vec<Hit>> {
        let mut out = Vec::with_capacity(top.len());
        let mut cols: Vec<Option<tantivy::columnar::Column<u64>>> =
            vec![None; searcher.segment_readers().len()];
        for (score, a) in top {
            let ord = a.segment_ord as usize;
            if cols[ord].is_none() {
                cols[ord] = Some(
                    searcher
                        .segment_reader(a.segment_ord)
                        .fast_fields()
                        .u64("seq")?,
                );
            }
            let seq = cols[ord]
                .as_ref()
                .and_then(|c| c.first(a.doc_id))
                .unwrap_or(0);
            out.push(Hit {
                seq: seq as i64,
                score,
            });
        }
        Ok(out)
    }
}

fn regex_escape(s: &str) -> String {
    let mut out = String::new();
    for c in s.chars() {
        if "\\.+*?()|[]{}^$#&-~\"@<>".contains(c) {
            out.push('\\');
        }
        out.push(c);
    }
    out
}

/// Adds documents and commits them with the highest seq they cover.
pub struct Writer {
    /// `None` between dropping a failed writer and making its successor ([`Writer::restart`]).
    w: Option<IndexWriter<TantivyDocument>>,
    index: Index,
    threads: usize,
    heap_bytes: usize,
    fields: Fields,
    doc: TantivyDocument,
    words: bool,
}

impl Writer {
    fn w(&mut self) -> Result<&mut IndexWriter<TantivyDocument>> {
        self.w.as_mut().ok_or_else(|| {
            SearchError::Internal("the index writer is being restarted after a failure".into())
        })
    }

    /// Queues one document (its text fields already normalised).
    pub fn add(&mut self, d: &IndexDoc<'_>) -> Result<()> {
        let f = &self.fields;
        let mut doc = std::mem::take(&mut self.doc);
        doc.add_u64(f.seq, d.seq as u64);
        if !d.title.is_empty() {
            doc.add_text(f.title, d.title);
        }
        if !d.text.is_empty() {
            doc.add_text(f.text, d.text);
        }
        if self.words {
            if !d.title.is_empty() {
                doc.add_text(f.words, d.title);
            }
            if !d.text.is_empty() {
                doc.add_text(f.words, d.text);
            }
        }
        doc.add_text(f.platform, d.platform);
        doc.add_text(f.kind, d.kind);
        if !d.source.is_empty() {
            doc.add_text(f.source, d.source);
        }
        if let Some(p) = d.published_ms {
            doc.add_i64(f.published, p);
        }
        doc.add_u64(f.verified, u64::from(d.verified));
        if let Some(g) = d.group_id {
            doc.add_i64(f.group, g);
        }
        self.w()?.add_document(doc)?;
        Ok(())
    }

    /// Commits everything added, recording `seq` as the highest store seq indexed.
    pub fn commit(&mut self, seq: i64) -> Result<()> {
        let payload = serde_json::to_string(&schema::Payload {
            seq,
            version: Some(SCHEMA_VERSION),
            fold_traditional: Some(yuqing_text::fold_traditional()),
        })
        .map_err(|e| SearchError::Internal(e.to_string()))?;
        let mut p = self.w()?.prepare_commit()?;
        // The new segments are on disk, the meta file that makes them the index is not.
        yuqing_core::failpoint("index-commit");
        p.set_payload(&payload);
        p.commit()?;
        Ok(())
    }

    /// Drops everything added since the last commit and starts a new writer. A writer
    /// whose commit or indexing failed (a full disk) refuses all further work; this is how
    /// it comes back (the caller then re-adds what the index lacks). If the new writer
    /// cannot be made yet, every call fails until a later restart succeeds.
    pub fn restart(&mut self) -> Result<()> {
        // The old writer holds the directory lock: it goes before the new one is made.
        self.w = None;
        self.w = Some(
            self.index
                .writer_with_num_threads(self.threads, self.heap_bytes)?,
        );
        Ok(())
    }

    /// Removes the documents whose store seq is below `seq` (documents the store dropped
    /// by retention); takes effect at the next commit.
    pub fn delete_below(&mut self, seq: i64) -> Result<()> {
        let f = self.fields.seq;
        let q = RangeQuery::new(
            Bound::Unbounded,
            Bound::Excluded(Term::from_field_u64(f, seq.max(0) as u64)),
        );
        self.w()?.delete_query(Box::new(q))?;
        Ok(())
    }

    /// Removes every document (used by reindex before re-adding).
    pub fn delete_all(&mut self) -> Result<()> {
        self.w()?.delete_all_documents()?;
        Ok(())
    }

    /// Waits for merging threads to finish (call before exit after big imports).
    pub fn finish(self) -> Result<()> {
        if let Some(w) = self.w {
            w.wait_merging_threads()?;
        }
        Ok(())
    }
}
