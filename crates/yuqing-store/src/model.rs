//! Plain data passed to and from the store.

use chrono::{DateTime, Utc};
use serde::Serialize;
use yuqing_core::{Assessment, Document};

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
    /// Sentiment, content type and categories judged at ingest (`corrected` is ignored).
    pub assessment: Assessment,
    /// Plans it matched, with the terms that matched.
    pub plan_hits: Vec<(i64, Vec<String>)>,
    /// The mainstream source (主流媒体) it counts as, if any.
    pub mainstream: Option<String>,
    /// The event it belongs to.
    pub event: Option<EventLink>,
    /// The JSON columns, already encoded (by the preparers, off the writer's path); the
    /// store encodes them itself when this is `None`.
    pub encoded: Option<EncodedJson>,
}

/// A document's JSON columns, encoded as the store keeps them (`None` = SQL NULL).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EncodedJson {
    pub author: Option<String>,
    pub metrics: Option<String>,
    pub extra: Option<String>,
    pub rest: Option<String>,
}

impl EncodedJson {
    /// Encodes the JSON columns of `d`: author and metrics when present, extra and rest
    /// when not empty.
    pub fn of(d: &Document) -> EncodedJson {
        let obj = |m: &serde_json::Map<String, serde_json::Value>| {
            (!m.is_empty())
                .then(|| serde_json::to_string(m).ok())
                .flatten()
        };
        EncodedJson {
            author: d
                .author
                .as_ref()
                .and_then(|a| serde_json::to_string(a).ok()),
            metrics: d
                .metrics
                .as_ref()
                .and_then(|m| serde_json::to_string(m).ok()),
            extra: obj(&d.extra),
            rest: obj(&d.rest),
        }
    }
}

/// How a new document joins its event.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct EventLink {
    pub event_id: i64,
    /// This document founds the event: the store creates the event row.
    pub founds: bool,
    /// A chain root id (on the document's platform) to map to the event, so that later
    /// replies to it find the event.
    pub root_key: Option<String>,
    /// An original (not a repost, comment or reply).
    pub original: bool,
    /// Negative and of a critical category: the category code.
    pub critical: Option<i64>,
    /// Written by one of several writers sharing the store (`yuqing process`): the store
    /// settles the document's reprint group and event under its write lock from what is
    /// stored and claimed (the root's event, the content key's group, the group's event),
    /// which win over the writer's tentative choice, and merges the event of replies that
    /// arrived before this document (their parent) into this document's event. See
    /// `docs/specs/events.md`, "Several writers".
    pub verify: bool,
}

/// An event's counters and level, as kept by the store.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct EventRow {
    pub id: i64,
    pub platform: String,
    pub root_id: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub title: Option<String>,
    pub first_id: Option<String>,
    pub first_seq: Option<i64>,
    pub first_at: Option<DateTime<Utc>>,
    pub last_at: Option<DateTime<Utc>>,
    pub documents: i64,
    pub originals: i64,
    pub comments: i64,
    pub views: i64,
    pub reposts: i64,
    pub likes: i64,
    pub negative: i64,
    pub critical_category: Option<i64>,
    pub critical_id: Option<String>,
    pub mainstream: Vec<String>,
    pub level: Option<LevelRecord>,
    /// The highest level the rules computed so far (code).
    pub rules_level: Option<i64>,
    /// The rules have graded every member with a seq up to this one (0: none yet).
    pub graded_seq: i64,
    /// The event this one was merged into (its replies adopted by their parent's event):
    /// it then has no documents, and its alerts and levels stay in its own history.
    pub merged_into: Option<i64>,
}

/// A level given to an event, with its explanation.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LevelRecord {
    /// Level code (see `yuqing_judge::grading::Level::code`).
    pub level: i64,
    pub rule: String,
    pub reason: String,
    pub reason_en: String,
    pub at: DateTime<Utc>,
    /// `None`: set by the rules; else the person who set it.
    pub by: Option<String>,
}

/// Which events to list.
#[derive(Debug, Clone, Default)]
pub struct EventQuery {
    /// Only events with at least this level code.
    pub min_level: Option<i64>,
    /// Only events with a member published at or after this time (unix ms).
    pub active_since: Option<i64>,
    /// Only events with at least this many documents.
    pub min_documents: Option<i64>,
    pub limit: i64,
    pub offset: i64,
}

/// A member of an event, with what analysis needs (lighter than a whole document).
#[derive(Debug, Clone, PartialEq)]
pub struct EventMember {
    pub seq: i64,
    pub id: String,
    pub platform: String,
    pub kind: String,
    pub parent_id: Option<String>,
    pub title: Option<String>,
    pub text: String,
    pub published_ms: Option<i64>,
    pub author_id: Option<String>,
    pub author_name: Option<String>,
    pub verified: bool,
    pub location: Option<String>,
    pub site: Option<String>,
    pub group_id: Option<i64>,
    pub sentiment: Option<i8>,
    pub content_type: Option<i64>,
    pub comments: i64,
    pub views: i64,
    pub reposts: i64,
}

/// A monitoring plan as stored.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StoredPlan {
    pub id: i64,
    pub name: String,
    pub expression: String,
    /// The structured form (地域/主体/事件/排除) as JSON, when the plan was made with it.
    pub structured: Option<serde_json::Value>,
    pub active: bool,
    /// Where it was declared: `config`, `api` or `cli`.
    pub origin: String,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub updated_by: Option<String>,
}

/// A plan to create or replace (by name).
#[derive(Debug, Clone, PartialEq)]
pub struct NewPlan {
    pub name: String,
    pub expression: String,
    pub structured: Option<serde_json::Value>,
    pub active: bool,
    pub origin: String,
    pub by: Option<String>,
}

/// A person's correction of an automatic judgement.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Correction {
    pub id: i64,
    pub seq: i64,
    /// `sentiment` or `content_type`.
    pub field: String,
    pub old_value: Option<String>,
    pub new_value: String,
    pub by: String,
    pub at: DateTime<Utc>,
    pub note: Option<String>,
}

/// A stored document's identity and seq.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inserted {
    pub seq: i64,
    pub platform: String,
    pub id: String,
    /// The event and reprint group it was stored with. They differ from the
    /// [`NewDocument`]'s only when the store settled them ([`EventLink::verify`]).
    pub event_id: Option<i64>,
    pub group_id: Option<i64>,
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

/// What retention removed ([`PgStore::drop_partitions_before`](crate::PgStore::drop_partitions_before),
/// [`SqliteStore::drop_documents_before`](crate::SqliteStore::drop_documents_before)).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Retention {
    /// The partitions dropped, oldest first (PostgreSQL; none on SQLite).
    pub partitions: Vec<String>,
    /// Documents removed.
    pub documents: u64,
}
