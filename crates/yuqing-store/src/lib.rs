//! Storage for yuqing: the [`Store`] trait (with [`HandlingStore`], [`AccessStore`] and
//! [`ReportStore`]), its SQLite and PostgreSQL implementations, and the conformance suites
//! every implementation must pass.
//!
//! The store is the system of record. Everything derived (the full-text index, reprint
//! groups in memory, statistics) can be rebuilt from it. Invariants:
//! - a document's identity is `(platform, id)`, and its canonical URL when it has one:
//!   the same document is never stored twice ([`Store::insert`] skips conflicts);
//! - `seq` increases with every stored document, so consumers resume from a seq;
//! - a source's checkpoint is written in the same transaction as the documents it produced;
//! - documents leave only by retention ([`SqliteStore::drop_documents_before`],
//!   [`PgStore::drop_partitions_before`]), oldest first, so the lowest seq only rises.
//!
//! Only this crate writes SQL.
//!
//! # PostgreSQL
//!
//! [`PgStore`] (`postgres.rs`, migrations in `migrations/postgres/`, numbered on their
//! own) implements the same four traits with the same behaviour: `tests/postgres.rs` runs
//! every conformance suite on a real server (`cargo test -p yuqing-store --test postgres
//! -- --ignored`; the URL comes from `YUQING_TEST_POSTGRES`). What differs from SQLite:
//! - `documents` is partitioned by month of ingestion (RANGE on `ingested_at`, unix ms);
//!   partitions are created on demand before the batch that needs them;
//! - identity (`(platform, id)`, canonical URL) is kept unique by the unpartitioned tables
//!   `document_ids` and `document_urls`, written in the insert's transaction, because a
//!   unique index on a partitioned table must include the partition key;
//! - inserts take the advisory lock [`postgres::DOCUMENTS_LOCK`] before drawing seqs, so
//!   seqs become visible in commit order and a reader that resumes from the highest seq it
//!   saw misses nothing; handling writes take [`postgres::HANDLING_LOCK`] where SQLite
//!   says `BEGIN IMMEDIATE`;
//! - retention, [`PgStore::drop_partitions_before`], drops whole months of documents with
//!   their identities and plan hits, and keeps events, alerts, cases and the audit log.
//!
//! Not done yet: the binary opens only SQLite (`--database postgres://…` is a later step),
//! and backup, restore and `yuqing check` are SQLite's.

pub mod access;
pub mod conformance;
mod error;
pub mod handling;
mod model;
pub mod postgres;
pub mod reports;
mod rows;
mod shared;
pub mod sqlite;

pub use access::AccessStore;
pub use error::StoreError;
pub use handling::HandlingStore;
pub use model::*;
pub use postgres::PgStore;
pub use reports::ReportStore;
pub use sqlite::SqliteStore;

use std::collections::{HashMap, HashSet};
use std::future::Future;
use yuqing_core::StoredDocument;

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// What every storage backend provides. Methods take slices so that callers batch.
pub trait Store: Send + Sync + 'static {
    /// Of the given ids on `platform`, those already stored.
    fn existing_ids(
        &self,
        platform: &str,
        ids: &[&str],
    ) -> impl Future<Output = Result<HashSet<String>>> + Send;
    /// Of the given canonical URLs, those already stored.
    fn existing_urls(&self, urls: &[&str]) -> impl Future<Output = Result<HashSet<String>>> + Send;
    /// Root id of each stored document among `ids` (its own id when it has no root).
    fn roots(
        &self,
        platform: &str,
        ids: &[&str],
    ) -> impl Future<Output = Result<HashMap<String, String>>> + Send;
    /// Stores the documents that are not stored yet, and the checkpoint, in one
    /// transaction. Returns the stored ones (conflicts are skipped, not errors).
    fn insert(
        &self,
        docs: &[NewDocument],
        checkpoint: Option<&Checkpoint>,
    ) -> impl Future<Output = Result<Vec<Inserted>>> + Send;
    /// The committed cursor of a source.
    fn checkpoint(
        &self,
        source: &str,
    ) -> impl Future<Output = Result<Option<serde_json::Value>>> + Send;
    /// Keeps documents that failed, with the reason.
    fn put_dead_letters(&self, letters: &[DeadLetter]) -> impl Future<Output = Result<()>> + Send;
    /// The most recent dead letters, newest first.
    fn dead_letters(
        &self,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<StoredDeadLetter>>> + Send;
    /// Number of stored documents.
    fn count(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Highest seq stored (0 when empty).
    fn max_seq(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Lowest seq stored (0 when empty). Rises only when retention drops documents
    /// (`PgStore::drop_partitions_before`): indexes then forget the seqs below it.
    fn first_seq(&self) -> impl Future<Output = Result<i64>> + Send;
    /// One document by identity.
    fn get(
        &self,
        platform: &str,
        id: &str,
    ) -> impl Future<Output = Result<Option<StoredDocument>>> + Send;
    /// Documents by seq, in the order asked (missing ones left out).
    fn by_seqs(&self, seqs: &[i64]) -> impl Future<Output = Result<Vec<StoredDocument>>> + Send;
    /// Documents with seq > `after`, in seq order, at most `limit`.
    fn scan(
        &self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<StoredDocument>>> + Send;
    /// Grouping fingerprints with seq > `after`, in seq order, at most `limit`.
    fn fingerprints(
        &self,
        after: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<Fingerprint>>> + Send;
    /// Members, sites and first publisher of a reprint group.
    fn group_stats(&self, group_id: i64)
    -> impl Future<Output = Result<Option<GroupStats>>> + Send;
    /// Records the outcome of one poll of a source.
    fn record_poll(
        &self,
        source: &str,
        outcome: &PollOutcome,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Health of every source that has polled.
    fn source_health(&self) -> impl Future<Output = Result<Vec<SourceHealth>>> + Send;

    // ---- events (事件) ----

    /// Highest event id (0 when none).
    fn max_event_id(&self) -> impl Future<Output = Result<i64>> + Send;
    /// `n` new event ids, never given out before, by this store or any other writer of
    /// the same database (PostgreSQL: the sequence `event_ids`; SQLite, whose data
    /// directory has one writer: counted in memory after the highest id in use). Ascending;
    /// ids an unused allocation skips are never used.
    fn allocate_event_ids(&self, n: usize) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// `n` new reprint-group ids, as [`Store::allocate_event_ids`] (PostgreSQL: the
    /// sequence `group_ids`).
    fn allocate_group_ids(&self, n: usize) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// Maps chain roots on `platform` to events unless they are mapped already, atomically
    /// per root (the first claim wins, however many writers race), and returns the event
    /// each root is mapped to now: the claimed one or the winner's.
    fn claim_event_roots(
        &self,
        platform: &str,
        claims: &[(&str, i64)],
    ) -> impl Future<Output = Result<HashMap<String, i64>>> + Send;
    /// The events of chain roots on `platform`: root id → event id, for those mapped.
    fn event_roots(
        &self,
        platform: &str,
        roots: &[&str],
    ) -> impl Future<Output = Result<HashMap<String, i64>>> + Send;
    /// The chain roots mapped to an event that are not stored documents (yet): replies
    /// stored before their parent founded an event under the parent's id. As
    /// `(platform, root id, event id)`, the newest `limit` events first. A single writer
    /// loads them before its first batch, so that a parent arriving after a restart still
    /// adopts its replies' event.
    fn orphan_roots(
        &self,
        limit: usize,
    ) -> impl Future<Output = Result<Vec<(String, String, i64)>>> + Send;
    /// The event of each reprint group (that of its earliest stored member).
    fn group_events(
        &self,
        groups: &[i64],
    ) -> impl Future<Output = Result<HashMap<i64, i64>>> + Send;
    /// Events by id (missing ones left out), in the order asked.
    fn events_by_id(&self, ids: &[i64]) -> impl Future<Output = Result<Vec<EventRow>>> + Send;
    /// Events, most serious first (level, then documents), then by id.
    fn events(&self, q: &EventQuery) -> impl Future<Output = Result<Vec<EventRow>>> + Send;
    /// Every member of an event, in seq order.
    fn event_members(&self, event_id: i64)
    -> impl Future<Output = Result<Vec<EventMember>>> + Send;
    /// Gives an event a level and records it in the event's level history.
    fn set_level(
        &self,
        event_id: i64,
        level: &LevelRecord,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Records that the rules have graded `events` with every member up to seq `upto`
    /// (never lowers the mark).
    fn mark_graded(&self, events: &[i64], upto: i64) -> impl Future<Output = Result<()>> + Send;
    /// Records the level the rules computed without changing the event's level (when a
    /// person's level is higher).
    fn set_rules_level(&self, event_id: i64, level: i64)
    -> impl Future<Output = Result<()>> + Send;
    /// Every level an event was given, oldest first.
    fn level_history(&self, event_id: i64)
    -> impl Future<Output = Result<Vec<LevelRecord>>> + Send;

    // ---- plans (监测方案) ----

    /// Every plan, by id.
    fn plans(&self) -> impl Future<Output = Result<Vec<StoredPlan>>> + Send;
    /// Creates the plan, or replaces the one with the same name.
    fn put_plan(&self, plan: &NewPlan) -> impl Future<Output = Result<StoredPlan>> + Send;
    /// Switches a plan on or off; false when there is no such plan.
    fn set_plan_active(
        &self,
        id: i64,
        active: bool,
        by: Option<&str>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Deletes a plan (its past hits are kept); false when there is no such plan.
    fn delete_plan(&self, id: i64) -> impl Future<Output = Result<bool>> + Send;
    /// A number that changes whenever a plan is created, changed or deleted.
    fn plans_version(&self) -> impl Future<Output = Result<i64>> + Send;
    /// Plans hit by each of the given documents, with the terms that matched.
    fn plan_hits_of(
        &self,
        seqs: &[i64],
    ) -> impl Future<Output = Result<HashMap<i64, PlanHits>>> + Send;
    /// Number of documents a plan hit.
    fn plan_hit_count(&self, plan_id: i64) -> impl Future<Output = Result<i64>> + Send;
    /// Documents a plan hit, newest seq first, with the terms that matched: at most
    /// `limit`, with seq below `before` (paging; `i64::MAX` for the first page).
    fn plan_hit_docs(
        &self,
        plan_id: i64,
        before: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<(StoredDocument, Vec<String>)>>> + Send;
    /// Hits of a plan per hour of publication (unix hour, count) since `since_ms`.
    fn plan_hourly(
        &self,
        plan_id: i64,
        since_ms: i64,
    ) -> impl Future<Output = Result<Vec<(i64, u64)>>> + Send;

    // ---- corrections ----

    /// A person corrects an automatic judgement of document `seq`; the new value wins over
    /// the model from now on and in every statistic. `None` when there is no such document.
    fn correct(
        &self,
        seq: i64,
        fix: Fix,
        by: &str,
        note: Option<&str>,
    ) -> impl Future<Output = Result<Option<Correction>>> + Send;
    /// Corrections of `field`, oldest first, each with the corrected document's text.
    fn corrections(
        &self,
        field: &str,
    ) -> impl Future<Output = Result<Vec<(Correction, String)>>> + Send;

    // ---- statistics over a publication-time range (the dashboard; `sqlite/stats.rs`) ----
    // Ranges are `[since_ms, until_ms)` of `published_at` (unix ms); documents without a
    // publication time are in none.

    /// Documents per hour of publication: (unix hour, count), hours without any left out.
    fn volume_by_hour(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<(i64, u64)>>> + Send;
    /// Documents by sentiment (corrections included: they overwrite the stored value).
    fn sentiment_counts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<SentimentCounts>> + Send;
    /// Documents by platform, most first (ties by name).
    fn platform_counts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> impl Future<Output = Result<Vec<(String, u64)>>> + Send;
    /// Title and text (joined by a space) of the `limit` most recently published
    /// documents of the range, newest first (the sample hot words are computed on).
    fn recent_texts(
        &self,
        since_ms: i64,
        until_ms: i64,
        limit: i64,
    ) -> impl Future<Output = Result<Vec<String>>> + Send;
    /// The latest publication time of any stored document.
    fn latest_published(&self) -> impl Future<Output = Result<Option<i64>>> + Send;
    /// The same statistics over only the documents plan `plan_id` hit (a plan's report):
    /// hourly volume, sentiment, platforms, the newest `texts` texts, and the events of
    /// those documents with how many of them each holds (most first).
    fn plan_period(
        &self,
        plan_id: i64,
        since_ms: i64,
        until_ms: i64,
        texts: i64,
    ) -> impl Future<Output = Result<PlanPeriod>> + Send;
    /// Of the documents `seqs`, those that pass `filter`, with their publication time, in
    /// seq order (search filters the full-text index does not hold).
    fn filter_seqs(
        &self,
        seqs: &[i64],
        filter: &DocFilter,
    ) -> impl Future<Output = Result<Vec<(i64, Option<i64>)>>> + Send;
}

/// Statistics of a period over the documents one plan hit ([`Store::plan_period`]).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PlanPeriod {
    pub hours: Vec<(i64, u64)>,
    pub sentiment: SentimentCounts,
    pub platforms: Vec<(String, u64)>,
    pub texts: Vec<String>,
    /// (event id, documents of the plan in the period), most first.
    pub events: Vec<(i64, u64)>,
}

/// Documents of a time range by sentiment.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize)]
pub struct SentimentCounts {
    pub positive: u64,
    pub neutral: u64,
    pub negative: u64,
    /// Not judged (no sentiment stored).
    pub unjudged: u64,
}

impl SentimentCounts {
    pub fn total(&self) -> u64 {
        self.positive + self.neutral + self.negative + self.unjudged
    }
}

/// What [`Store::filter_seqs`] keeps; an empty filter keeps every stored document.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DocFilter {
    /// Only these sentiments (1, 0, -1); empty: any.
    pub sentiments: Vec<i8>,
    /// Only documents whose event has at least this level code.
    pub min_level: Option<i64>,
    /// Only documents this plan hit.
    pub plan_id: Option<i64>,
    /// Only documents whose author's location starts with this (地域, e.g. 北京 or 广东 深圳).
    pub region: Option<String>,
}

impl DocFilter {
    pub fn is_empty(&self) -> bool {
        self.sentiments.is_empty()
            && self.min_level.is_none()
            && self.plan_id.is_none()
            && self.region.as_deref().is_none_or(str::is_empty)
    }
}

/// The plans one document hit: (plan id, the terms that matched).
pub type PlanHits = Vec<(i64, Vec<String>)>;

/// A corrected value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fix {
    /// 1 positive, 0 neutral, -1 negative.
    Sentiment(i8),
    /// A content type code.
    ContentType(i64),
}

impl Fix {
    pub fn field(self) -> &'static str {
        match self {
            Fix::Sentiment(_) => "sentiment",
            Fix::ContentType(_) => "content_type",
        }
    }
}
