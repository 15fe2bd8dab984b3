//! Storage for yuqing: the [`Store`] trait, its SQLite implementation, and the
//! conformance suite every implementation must pass.
//!
//! The store is the system of record. Everything derived (the full-text index, reprint
//! groups in memory, statistics) can be rebuilt from it. Invariants:
//! - a document's identity is `(platform, id)`, and its canonical URL when it has one:
//!   the same document is never stored twice ([`Store::insert`] skips conflicts);
//! - `seq` increases with every stored document, so consumers resume from a seq;
//! - a source's checkpoint is written in the same transaction as the documents it produced.
//!
//! Only this crate writes SQL.

pub mod conformance;
mod error;
mod model;
pub mod sqlite;

pub use error::StoreError;
pub use model::*;
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
}
