//! Plain data passed to and from the store.

use chrono::{DateTime, Utc};
use serde::Serialize;
use yuqing_core::Document;

/// A document ready to be stored, with what the pipeline derived from it.
#[derive(Debug, Clone)]
pub struct NewDocument {
    pub doc: Document,
    /// Identity within the platform: the document's id, or one derived from its URL.
    pub id: String,
    pub url_canonical: Option<String>,
    /// Host of the canonical URL, else the source, else the platform.
    pub site: Option<String>,
    pub content_key: Option<i64>,
    pub simhash: Option<i64>,
    pub group_id: Option<i64>,
    /// True when it joined a group founded by an earlier document.
    pub group_joined: bool,
    pub ingested_at: DateTime<Utc>,
}

/// A stored document's identity and seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub seq: i64,
    pub platform: String,
    pub id: String,
}

/// A source's cursor, committed with the documents it produced.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    pub source: String,
    pub cursor: serde_json::Value,
}

/// A document that failed, kept with the reason.
#[derive(Debug, Clone, Serialize)]
pub struct DeadLetter {
    pub source: String,
    /// Where it came from: `file.jsonl:123`, a URL, …
    pub location: String,
    pub reason: String,
    /// The raw input (cut to a reasonable size).
    pub payload: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct StoredDeadLetter {
    pub id: i64,
    pub at: DateTime<Utc>,
    #[serde(flatten)]
    pub letter: DeadLetter,
}

/// What reprint grouping needs of a stored document.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fingerprint {
    pub seq: i64,
    pub content_key: Option<i64>,
    pub simhash: Option<i64>,
    pub group_id: Option<i64>,
    pub joined: bool,
}

/// A reprint group (相似文章合并) as users see it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupStats {
    pub group_id: i64,
    pub members: i64,
    /// Distinct sites/sources among the members.
    pub sites: i64,
    /// The first publisher: the member with the earliest `published_at`.
    pub first_seq: i64,
    pub first_published_at: Option<DateTime<Utc>>,
}

/// One poll of a source.
#[derive(Debug, Clone)]
pub enum PollOutcome {
    Success {
        at: DateTime<Utc>,
        documents: u64,
        newest: Option<DateTime<Utc>>,
    },
    Failure {
        at: DateTime<Utc>,
        error: String,
    },
}

/// Health of a source, as `yuqing sources` shows it.
#[derive(Debug, Clone, Serialize)]
pub struct SourceHealth {
    pub name: String,
    pub last_poll_at: Option<DateTime<Utc>>,
    pub last_success_at: Option<DateTime<Utc>>,
    pub last_error_at: Option<DateTime<Utc>>,
    pub last_error: Option<String>,
    pub consecutive_failures: i64,
    pub polls: i64,
    pub failures: i64,
    pub documents: i64,
    /// Documents stored in the last hour.
    pub documents_last_hour: i64,
    /// Newest published_at seen from this source.
    pub last_published_at: Option<DateTime<Utc>>,
}

impl SourceHealth {
    /// Seconds from the newest published item to `now` (how far behind the source is).
    pub fn lag_seconds(&self, now: DateTime<Utc>) -> Option<i64> {
        self.last_published_at
            .map(|t| (now - t).num_seconds().max(0))
    }
}
