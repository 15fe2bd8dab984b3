//! The PostgreSQL store: the same traits and behaviour as [`SqliteStore`](crate::SqliteStore),
//! for deployments that outgrow one file (issue 7). The conformance suites are its
//! specification; `tests/postgres.rs` runs every one of them against a real server.
//!
//! # Differences from SQLite
//!
//! - **Monthly partitions.** `documents` is partitioned by RANGE on `ingested_at` (unix
//!   ms), one partition per UTC month (`documents_YYYY_MM`). [`PgStore::insert`] creates
//!   the months a batch needs (and the month after the newest, so the next one is usually
//!   ready) before its transaction, with `CREATE TABLE IF NOT EXISTS … PARTITION OF …`
//!   under the advisory lock [`PARTITIONS_LOCK`]: concurrent creators of the same month
//!   wait for each other instead of racing on the catalog. Months known to exist are
//!   cached per store. Why ingestion time and not publication time: every document has
//!   one, it only grows (new rows go to the newest partition and old ones stop changing),
//!   and retention means "drop what we stored N months ago"; kept as unix ms like every
//!   other time of the schema.
//! - **Identity tables.** A unique index on a partitioned table must contain the partition
//!   key, so `(platform, id)` and the canonical URL are made unique by two unpartitioned
//!   tables, `document_ids` and `document_urls`, written in the insert's transaction with
//!   `ON CONFLICT DO NOTHING`; only the documents whose identity rows went in are stored.
//! - **Seq order = commit order.** The alert follower and the index catch-up read
//!   documents by `seq` and remember the highest seen. With several writers a plain
//!   sequence could give seq 10 to a transaction that commits after the one holding 11,
//!   and a reader that saw 11 would never see 10. So [`PgStore::insert`] takes the
//!   transaction-scoped advisory lock [`DOCUMENTS_LOCK`] before drawing seqs: inserts are
//!   serialised for the length of their transaction (as SQLite's `BEGIN IMMEDIATE` does),
//!   seqs are drawn in commit order, and a transaction's rows are visible before its lock
//!   is released. Readers never take it.
//! - **Handling writes** (audit chain, alerts, outbox, cases, access) take another
//!   advisory lock, [`HANDLING_LOCK`], where SQLite uses `BEGIN IMMEDIATE`: the audit
//!   chain reads its head and appends, which must not interleave.
//! - **A digest's 期号** is checked and taken under [`DIGEST_LOCK`] (one number, one digest).
//! - **Retention.** [`PgStore::drop_partitions_before`] drops whole months of documents
//!   (see there for what is kept).
//! - JSON columns are TEXT as in SQLite (exact bytes: the audit hashes and the field
//!   order of documents depend on them); queries cast to `json` to look inside. Flags are
//!   BOOLEAN, every other integer BIGINT, times unix ms.
//! - Text is ordered by the database's collation; create the database with
//!   `LC_COLLATE 'C'` to order exactly as SQLite does (the tests do).
//!
//! Not done yet: the binary does not open a PostgreSQL store (`--database postgres://…`),
//! backup/restore and `yuqing check` are SQLite-only, and there is no NATS pipeline.

pub(crate) use crate::rows::ms_to_utc;
use crate::rows::{DOC_COLUMNS, EVENT_COLUMNS, row_to_doc, row_to_event};
use crate::{
    Checkpoint, Correction, DeadLetter, DocFilter, EncodedJson, EventMember, EventQuery, EventRow,
    Fingerprint, Fix, GroupStats, Inserted, LevelRecord, NewDocument, NewPlan, PollOutcome, Result,
    SentimentCounts, SourceHealth, Store, StoreError, StoredDeadLetter, StoredPlan,
};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow};
use sqlx::{AssertSqlSafe, Connection, PgConnection, Postgres, QueryBuilder, Row};
use std::borrow::Cow;
use std::collections::{BTreeSet, HashMap, HashSet};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use yuqing_core::StoredDocument;

mod access;
mod events;
mod handling;
mod lease;
mod reports;
mod stats;

pub use lease::Lease;

/// Advisory lock held by every document insert (and retention) for its transaction: seqs
/// are drawn in commit order. The value is "yuqing" in ASCII and a number.
pub const DOCUMENTS_LOCK: i64 = 0x7975_7169_6e67_0001;
/// Advisory lock of handling and access writes (the audit chain's head).
pub const HANDLING_LOCK: i64 = 0x7975_7169_6e67_0002;
/// Advisory lock of partition creation and dropping.
pub const PARTITIONS_LOCK: i64 = 0x7975_7169_6e67_0003;
/// Advisory lock of saving a digest (重要舆情摘报): its 期号 is checked and taken at once.
pub const DIGEST_LOCK: i64 = 0x7975_7169_6e67_0004;

/// How long opening a connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Rows per multi-row INSERT of dead letters (PostgreSQL allows 65,535 parameters).
const INSERT_CHUNK: usize = 500;

fn migrator() -> Migrator {
    let m = |version, name: &str, sql: &'static str| {
        Migration::new(
            version,
            name.to_owned().into(),
            MigrationType::Simple,
            sqlx::SqlSafeStr::into_sql_str(sql),
            false,
        )
    };
    Migrator::with_migrations(vec![
        m(
            1,
            "documents",
            include_str!("../migrations/postgres/0001_documents.sql"),
        ),
        m(
            2,
            "judgement",
            include_str!("../migrations/postgres/0002_judgement.sql"),
        ),
        m(
            3,
            "handling",
            include_str!("../migrations/postgres/0003_handling.sql"),
        ),
        m(
            4,
            "access",
            include_str!("../migrations/postgres/0004_access.sql"),
        ),
        m(
            5,
            "reports",
            include_str!("../migrations/postgres/0005_reports.sql"),
        ),
        m(
            6,
            "event_ids",
            include_str!("../migrations/postgres/0006_event_ids.sql"),
        ),
        m(
            7,
            "alert_verdicts",
            include_str!("../migrations/postgres/0007_alert_verdicts.sql"),
        ),
        m(
            8,
            "point_adjustments",
            include_str!("../migrations/postgres/0008_point_adjustments.sql"),
        ),
    ])
}

/// The PostgreSQL store.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// Months (see [`month_index`]) whose partition is known to exist.
    months: Arc<Mutex<FxHashSet<i64>>>,
}

pub use crate::model::Retention;

/// The URL without its password, for messages.
fn redact(url: &str) -> String {
    let Some(scheme_end) = url.find("://") else {
        return url.to_owned();
    };
    let rest = &url[scheme_end + 3..];
    let authority_end = rest.find(['/', '?']).unwrap_or(rest.len());
    let authority = &rest[..authority_end];
    match authority.rfind('@') {
        Some(at) => {
            let userinfo = &authority[..at];
            match userinfo.find(':') {
                Some(colon) => format!(
                    "{}{}:***{}",
                    &url[..scheme_end + 3],
                    &userinfo[..colon],
                    &rest[at..]
                ),
                None => url.to_owned(),
            }
        }
        None => url.to_owned(),
    }
}

impl PgStore {
    /// Connects to the database at `url` (`postgres://user:password@host:5432/db`) and
    /// runs the PostgreSQL migrations. An unreachable server is a [`StoreError::Connect`]
    /// naming the address and what to check.
    pub async fn connect(url: &str) -> Result<Self> {
        let opts: PgConnectOptions = url.parse().map_err(|source| StoreError::Connect {
            url: redact(url),
            source,
        })?;
        Self::connect_with(opts).await
    }

    /// [`PgStore::connect`] with options already parsed.
    pub async fn connect_with(opts: PgConnectOptions) -> Result<Self> {
        // Every statement planned with its parameters. With PostgreSQL's default, a
        // prepared statement switches to a generic plan after five runs; made while a
        // fresh database's tables were empty (no statistics yet), that plan scans, and the
        // connection keeps it after the tables fill: the identity pre-check of an insert
        // took 868 ms per batch at 170 k documents instead of 0.7 ms (bench/pgnode,
        // reproduced in psql), 1.6–3.0 k documents/s instead of 11 k.
        let opts = opts.options([("plan_cache_mode", "force_custom_plan")]);
        let shown = format!(
            "postgres://{}@{}:{}/{}",
            opts.get_username(),
            opts.get_host(),
            opts.get_port(),
            opts.get_database().unwrap_or("")
        );
        // One connection first, so that the error says why (refused, password, no such
        // database) rather than the pool's "timed out".
        let first =
            match tokio::time::timeout(CONNECT_TIMEOUT, PgConnection::connect_with(&opts)).await {
                Ok(r) => r,
                Err(_) => Err(sqlx::Error::Io(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!(
                        "no answer within {} s / {} 秒内无应答",
                        CONNECT_TIMEOUT.as_secs(),
                        CONNECT_TIMEOUT.as_secs()
                    ),
                ))),
            };
        let connect_error = |source| StoreError::Connect {
            url: shown.clone(),
            source,
        };
        first
            .map_err(connect_error)?
            .close()
            .await
            .map_err(connect_error)?;
        let pool = PgPoolOptions::new()
            .max_connections(8)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(opts)
            .await
            .map_err(connect_error)?;
        migrator().run(&pool).await?;
        Ok(Self {
            pool,
            months: Arc::default(),
        })
    }

    /// The underlying pool (for maintenance and tests).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// The document partitions that exist, oldest first: (first day of the month, name).
    pub async fn partitions(&self) -> Result<Vec<(NaiveDate, String)>> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'documents'::regclass",
        )
        .fetch_all(&self.pool)
        .await?;
        let mut out: Vec<(NaiveDate, String)> = names
            .into_iter()
            .filter_map(|n| Some((partition_month(&n)?, n)))
            .collect();
        out.sort();
        Ok(out)
    }

    /// Retention: drops every monthly partition of documents ingested before the month of
    /// `cutoff` (the month of `cutoff` itself is kept), in one transaction.
    ///
    /// With the documents go what only describes them: their identity rows (so the same
    /// document, seen again, is stored again as new) and their plan hits. Kept: events
    /// with their counters, levels, root mappings and mainstream sources (an event is
    /// history: its counters still count the dropped members, `event_members` lists the
    /// ones still stored), alerts, cases, the audit log, corrections (a record of what a
    /// person did; `corrections` lists only those whose document is still stored),
    /// checkpoints and source health.
    ///
    /// It holds [`DOCUMENTS_LOCK`] (inserts wait) and drops tables, which takes an
    /// exclusive lock on `documents` for a moment: run it off-peak.
    pub async fn drop_partitions_before(&self, cutoff: NaiveDate) -> Result<Retention> {
        let cutoff = first_of_month(cutoff);
        let cutoff_ms = retention_cutoff_ms(cutoff);
        let mut tx = self.pool.begin().await?;
        advisory_lock(&mut tx, DOCUMENTS_LOCK).await?;
        advisory_lock(&mut tx, PARTITIONS_LOCK).await?;
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT c.relname::text FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid \
             WHERE i.inhparent = 'documents'::regclass",
        )
        .fetch_all(&mut *tx)
        .await?;
        let mut old: Vec<(NaiveDate, String)> = names
            .into_iter()
            .filter_map(|n| Some((partition_month(&n)?, n)))
            .filter(|(m, _)| *m < cutoff)
            .collect();
        old.sort();
        sqlx::query(
            "DELETE FROM plan_hits WHERE seq IN (SELECT seq FROM document_ids WHERE ingested_at < $1)",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?;
        sqlx::query(
            "DELETE FROM document_urls WHERE seq IN (SELECT seq FROM document_ids WHERE ingested_at < $1)",
        )
        .bind(cutoff_ms)
        .execute(&mut *tx)
        .await?;
        let documents = sqlx::query("DELETE FROM document_ids WHERE ingested_at < $1")
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        for (_, name) in &old {
            sqlx::query(AssertSqlSafe(format!("DROP TABLE \"{name}\"")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        let mut known = self.months.lock().unwrap_or_else(|e| e.into_inner());
        for (m, _) in &old {
            known.remove(&month_index(*m));
        }
        Ok(Retention {
            partitions: old.into_iter().map(|(_, n)| n).collect(),
            documents,
        })
    }

    /// Creates the partitions of `months` that are not known to exist.
    async fn ensure_partitions(&self, months: &BTreeSet<i64>) -> Result<()> {
        let missing: Vec<i64> = {
            let known = self.months.lock().unwrap_or_else(|e| e.into_inner());
            months
                .iter()
                .copied()
                .filter(|m| !known.contains(m))
                .collect()
        };
        if missing.is_empty() {
            return Ok(());
        }
        // Serialised: two sessions creating the same table at once can both pass the
        // IF NOT EXISTS check and one then fails on the catalog's unique index.
        let mut tx = self.pool.begin().await?;
        advisory_lock(&mut tx, PARTITIONS_LOCK).await?;
        for &m in &missing {
            let sql = format!(
                "CREATE TABLE IF NOT EXISTS \"{}\" PARTITION OF documents FOR VALUES FROM ({}) TO ({})",
                partition_name(m),
                month_start_ms(m),
                month_start_ms(m + 1)
            );
            sqlx::query(AssertSqlSafe(sql)).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        self.months
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend(missing);
        Ok(())
    }

    async fn fill_mainstream(&self, events: &mut [EventRow]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut by_id: HashMap<i64, usize> = HashMap::new();
        for (k, e) in events.iter().enumerate() {
            by_id.insert(e.id, k);
        }
        let ids: Vec<i64> = by_id.keys().copied().collect();
        let rows = sqlx::query(
            "SELECT event_id, name FROM event_mainstream WHERE event_id = ANY($1) ORDER BY event_id, name",
        )
        .bind(&ids)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let id: i64 = r.try_get(0)?;
            if let Some(&k) = by_id.get(&id) {
                events[k].mainstream.push(r.try_get(1)?);
            }
        }
        Ok(())
    }

    async fn insert_once(
        &self,
        docs: &[NewDocument],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Inserted>> {
        let mut tx = self.pool.begin().await?;
        // Seqs are drawn under this lock and it is released only after the commit made
        // the rows visible: a reader never sees seq n+1 before seq n.
        advisory_lock(&mut tx, DOCUMENTS_LOCK).await?;

        // Which identities are taken (exact under the lock: every writer takes it).
        let platforms: Vec<&str> = docs.iter().map(|n| n.doc.platform.as_str()).collect();
        let ids: Vec<&str> = docs.iter().map(|n| n.id.as_str()).collect();
        let mut taken_ids: FxHashSet<(String, String)> = FxHashSet::default();
        if !docs.is_empty() {
            for r in sqlx::query(
                "SELECT i.platform, i.id FROM document_ids i \
                 JOIN UNNEST($1::text[], $2::text[]) AS b(platform, id) ON i.platform = b.platform AND i.id = b.id",
            )
            .bind(&platforms)
            .bind(&ids)
            .fetch_all(&mut *tx)
            .await?
            {
                taken_ids.insert((r.try_get(0)?, r.try_get(1)?));
            }
        }
        let urls: Vec<&str> = docs
            .iter()
            .filter_map(|n| n.url_canonical.as_deref())
            .collect();
        let mut taken_urls: FxHashSet<String> = FxHashSet::default();
        if !urls.is_empty() {
            for u in sqlx::query_scalar::<_, String>(
                "SELECT url_canonical FROM document_urls WHERE url_canonical = ANY($1)",
            )
            .bind(&urls)
            .fetch_all(&mut *tx)
            .await?
            {
                taken_urls.insert(u);
            }
        }
        // In batch order, as SQLite's ON CONFLICT DO NOTHING would: the first of a repeated
        // identity is stored, a document whose id or URL is taken is skipped.
        let mut seen_ids: FxHashSet<(&str, &str)> = FxHashSet::default();
        let mut seen_urls: FxHashSet<&str> = FxHashSet::default();
        let mut accepted: Vec<&NewDocument> = Vec::with_capacity(docs.len());
        for n in docs {
            let key = (n.doc.platform.as_str(), n.id.as_str());
            if seen_ids.contains(&key) || taken_ids.contains(&(key.0.to_owned(), key.1.to_owned()))
            {
                continue;
            }
            if let Some(u) = n.url_canonical.as_deref()
                && (seen_urls.contains(u) || taken_urls.contains(u))
            {
                continue;
            }
            seen_ids.insert(key);
            if let Some(u) = n.url_canonical.as_deref() {
                seen_urls.insert(u);
            }
            accepted.push(n);
        }

        // Several writers: groups and events are settled here, under the lock
        // (`crate::shared`), and the claims written before the documents.
        let settled;
        let mut merges = Vec::new();
        if crate::shared::wanted_by(&accepted) {
            let known = events::lookup(&mut tx, &crate::shared::wanted(&accepted)).await?;
            settled = crate::shared::settle(&accepted, known);
            events::write_claims(&mut tx, &settled).await?;
            merges.clone_from(&settled.merges);
            accepted = settled.docs.iter().collect();
        }

        let mut stored: Vec<(i64, &NewDocument)> = Vec::with_capacity(accepted.len());
        if !accepted.is_empty() {
            let mut seqs: Vec<i64> =
                sqlx::query_scalar("SELECT nextval('documents_seq') FROM generate_series(1, $1)")
                    .bind(accepted.len() as i64)
                    .fetch_all(&mut *tx)
                    .await?;
            seqs.sort_unstable();
            // The identity rows; ON CONFLICT DO NOTHING keeps the constraints the last word
            // (only what went in is stored).
            let ok: FxHashSet<i64> = sqlx::query_scalar::<_, i64>(
                "INSERT INTO document_ids (platform, id, seq, ingested_at) \
                 SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[], $4::int8[]) \
                 ON CONFLICT DO NOTHING RETURNING seq",
            )
            .bind(
                accepted
                    .iter()
                    .map(|n| n.doc.platform.as_str())
                    .collect::<Vec<_>>(),
            )
            .bind(accepted.iter().map(|n| n.id.as_str()).collect::<Vec<_>>())
            .bind(&seqs)
            .bind(
                accepted
                    .iter()
                    .map(|n| n.ingested_at.timestamp_millis())
                    .collect::<Vec<_>>(),
            )
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            let with_url: Vec<(i64, &str)> = seqs
                .iter()
                .zip(&accepted)
                .filter(|(s, _)| ok.contains(*s))
                .filter_map(|(s, n)| Some((*s, n.url_canonical.as_deref()?)))
                .collect();
            let mut lost_url: FxHashSet<i64> = FxHashSet::default();
            if !with_url.is_empty() {
                let url_ok: FxHashSet<i64> = sqlx::query_scalar::<_, i64>(
                    "INSERT INTO document_urls (url_canonical, seq) \
                     SELECT * FROM UNNEST($1::text[], $2::int8[]) ON CONFLICT DO NOTHING RETURNING seq",
                )
                .bind(with_url.iter().map(|x| x.1).collect::<Vec<_>>())
                .bind(with_url.iter().map(|x| x.0).collect::<Vec<_>>())
                .fetch_all(&mut *tx)
                .await?
                .into_iter()
                .collect();
                lost_url = with_url
                    .iter()
                    .map(|x| x.0)
                    .filter(|s| !url_ok.contains(s))
                    .collect();
                if !lost_url.is_empty() {
                    let lost: Vec<i64> = lost_url.iter().copied().collect();
                    sqlx::query("DELETE FROM document_ids WHERE seq = ANY($1)")
                        .bind(&lost)
                        .execute(&mut *tx)
                        .await?;
                }
            }
            stored = seqs
                .iter()
                .zip(&accepted)
                .filter(|(s, _)| ok.contains(*s) && !lost_url.contains(*s))
                .map(|(s, n)| (*s, *n))
                .collect();
            insert_documents(&mut tx, &stored).await?;
        }

        let inserted: Vec<Inserted> = stored
            .iter()
            .map(|(seq, n)| Inserted {
                seq: *seq,
                platform: n.doc.platform.clone(),
                id: n.id.clone(),
                event_id: n.event.as_ref().map(|l| l.event_id),
                group_id: n.group_id,
            })
            .collect();
        let mut per_source: FxHashMap<&str, (i64, Option<i64>)> = FxHashMap::default();
        for (_, n) in &stored {
            if let Some(src) = n.doc.source.as_deref() {
                let e = per_source.entry(src).or_insert((0, None));
                e.0 += 1;
                if let Some(p) = n.doc.published_at {
                    e.1 = e.1.max(Some(p.timestamp_millis()));
                }
            }
        }
        let now = Utc::now().timestamp_millis();
        write_judgement(&mut tx, &stored, now).await?;
        for m in &merges {
            events::merge(&mut tx, m, now).await?;
        }
        let hour = now / 3_600_000;
        for (src, (n, newest)) in per_source {
            sqlx::query(
                "INSERT INTO source_hours (name, hour, docs) VALUES ($1, $2, $3) \
                 ON CONFLICT (name, hour) DO UPDATE SET docs = source_hours.docs + excluded.docs",
            )
            .bind(src)
            .bind(hour)
            .bind(n)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO source_health (name, documents, last_published_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (name) DO UPDATE SET documents = source_health.documents + excluded.documents, \
                 last_published_at = GREATEST(COALESCE(source_health.last_published_at, 0), \
                 COALESCE(excluded.last_published_at, 0))",
            )
            .bind(src)
            .bind(n)
            .bind(newest)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cp) = checkpoint {
            sqlx::query(
                "INSERT INTO checkpoints (source, cursor, updated_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (source) DO UPDATE SET cursor = excluded.cursor, updated_at = excluded.updated_at",
            )
            .bind(&cp.source)
            .bind(cp.cursor.to_string())
            .bind(now)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(inserted)
    }
}

/// Takes a transaction-scoped advisory lock (released at commit or rollback).
async fn advisory_lock(tx: &mut PgConnection, key: i64) -> Result<()> {
    sqlx::query("SELECT pg_advisory_xact_lock($1)")
        .bind(key)
        .execute(&mut *tx)
        .await?;
    Ok(())
}

/// Months since year 0 (year × 12 + month − 1), UTC.
fn month_index(d: NaiveDate) -> i64 {
    i64::from(d.year()) * 12 + i64::from(d.month0())
}

fn month_of_ms(ms: i64) -> i64 {
    month_index(ms_to_utc(ms).date_naive())
}

fn first_of_month(d: NaiveDate) -> NaiveDate {
    d.with_day(1).unwrap_or(d)
}

fn month_date(m: i64) -> NaiveDate {
    let year = m.div_euclid(12) as i32;
    let month = m.rem_euclid(12) as u32 + 1;
    NaiveDate::from_ymd_opt(year, month, 1).unwrap_or_default()
}

fn month_start_ms(m: i64) -> i64 {
    month_date(m)
        .and_hms_opt(0, 0, 0)
        .map_or(0, |t| t.and_utc().timestamp_millis())
}

/// The retention cut-off of both stores: unix ms of the first day of `cutoff`'s month
/// (UTC), before which documents go.
pub(crate) fn retention_cutoff_ms(cutoff: NaiveDate) -> i64 {
    month_start_ms(month_index(cutoff))
}

fn partition_name(m: i64) -> String {
    let d = month_date(m);
    format!("documents_{:04}_{:02}", d.year(), d.month())
}

/// The month of a partition from its name (`documents_2026_03`).
fn partition_month(name: &str) -> Option<NaiveDate> {
    let rest = name.strip_prefix("documents_")?;
    let (y, m) = rest.split_once('_')?;
    NaiveDate::from_ymd_opt(y.parse().ok()?, m.parse().ok()?, 1)
}

const PLAN_COLUMNS: &str =
    "id, name, expression, structured, active, origin, created_at, updated_at, updated_by";

fn row_to_plan(r: &PgRow) -> Result<StoredPlan> {
    let id: i64 = r.try_get(0)?;
    let structured = match r.try_get::<Option<String>, _>(3)? {
        None => None,
        Some(s) => Some(serde_json::from_str(&s).map_err(|e| StoreError::Corrupt {
            seq: id,
            field: "plans.structured",
            reason: e.to_string(),
        })?),
    };
    Ok(StoredPlan {
        id,
        name: r.try_get(1)?,
        expression: r.try_get(2)?,
        structured,
        active: r.try_get(4)?,
        origin: r.try_get(5)?,
        created_at: ms_to_utc(r.try_get(6)?),
        updated_at: ms_to_utc(r.try_get(7)?),
        updated_by: r.try_get(8)?,
    })
}

/// Increments a change counter.
async fn bump(tx: &mut PgConnection, name: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES ($1, 1) \
         ON CONFLICT (name) DO UPDATE SET value = counters.value + 1",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

fn plan_terms(seq: i64, s: &str) -> Result<Vec<String>> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        seq,
        field: "plan_hits.terms",
        reason: e.to_string(),
    })
}

/// A metric of the `metrics` JSON as a number (0 when absent or not a number).
fn metric(name: &str) -> String {
    format!(
        "COALESCE(CASE WHEN json_typeof(metrics::json -> '{name}') = 'number' \
         THEN (metrics::json ->> '{name}')::numeric::bigint END, 0)"
    )
}

/// Inserts documents that already have their seq (their identity rows are written): one
/// statement of 31 arrays (`UNNEST`), whatever the number of documents.
async fn insert_documents(tx: &mut PgConnection, docs: &[(i64, &NewDocument)]) -> Result<()> {
    // Encoded by the preparers (borrowed), or here when a caller did not.
    let json: Vec<[Option<Cow<'_, str>>; 4]> =
        docs.iter()
            .map(|(_, n)| match &n.encoded {
                Some(e) => [&e.author, &e.metrics, &e.extra, &e.rest]
                    .map(|v| v.as_deref().map(Cow::Borrowed)),
                None => {
                    let e = EncodedJson::of(&n.doc);
                    [e.author, e.metrics, e.extra, e.rest].map(|v| v.map(Cow::Owned))
                }
            })
            .collect();
    let col = |k: usize| -> Vec<Option<&str>> { json.iter().map(|j| j[k].as_deref()).collect() };
    let texts = |f: &dyn Fn(&NewDocument) -> Option<&str>| -> Vec<Option<&str>> {
        docs.iter().map(|(_, n)| f(n)).collect()
    };
    let ints = |f: &dyn Fn(&NewDocument) -> Option<i64>| -> Vec<Option<i64>> {
        docs.iter().map(|(_, n)| f(n)).collect()
    };
    sqlx::query(
        "INSERT INTO documents (seq, platform, id, kind, url, url_canonical, site, title, text, published_at, \
         published_off, ingested_at, author_id, author_name, author_verified, author, metrics, parent_id, \
         root_id, source, extra, rest, content_key, simhash, group_id, group_joined, event_id, sentiment, \
         sentiment_score, content_type, categories) \
         SELECT * FROM UNNEST($1::int8[], $2::text[], $3::text[], $4::text[], $5::text[], $6::text[], \
         $7::text[], $8::text[], $9::text[], $10::int8[], $11::int8[], $12::int8[], $13::text[], $14::text[], \
         $15::bool[], $16::text[], $17::text[], $18::text[], $19::text[], $20::text[], $21::text[], \
         $22::text[], $23::int8[], $24::int8[], $25::int8[], $26::bool[], $27::int8[], $28::int8[], \
         $29::float8[], $30::int8[], $31::int8[])",
    )
    .bind(docs.iter().map(|(s, _)| *s).collect::<Vec<i64>>())
    .bind(texts(&|n| Some(n.doc.platform.as_str())))
    .bind(texts(&|n| Some(n.id.as_str())))
    .bind(texts(&|n| Some(n.doc.kind.as_str())))
    .bind(texts(&|n| n.doc.url.as_deref()))
    .bind(texts(&|n| n.url_canonical.as_deref()))
    .bind(texts(&|n| n.site.as_deref()))
    .bind(texts(&|n| n.doc.title.as_deref()))
    .bind(texts(&|n| Some(n.doc.text.as_str())))
    .bind(ints(&|n| n.doc.published_at.map(|t| t.timestamp_millis())))
    .bind(ints(&|n| {
        n.doc
            .published_at
            .map(|t| i64::from(t.offset().local_minus_utc()))
    }))
    .bind(ints(&|n| Some(n.ingested_at.timestamp_millis())))
    .bind(texts(&|n| n.doc.author.as_ref().and_then(|a| a.id.as_deref())))
    .bind(texts(&|n| n.doc.author.as_ref().and_then(|a| a.name.as_deref())))
    .bind(
        docs.iter()
            .map(|(_, n)| n.doc.author_verified())
            .collect::<Vec<bool>>(),
    )
    .bind(col(0))
    .bind(col(1))
    .bind(texts(&|n| n.doc.parent_id.as_deref()))
    .bind(texts(&|n| n.doc.root_id.as_deref()))
    .bind(texts(&|n| n.doc.source.as_deref()))
    .bind(col(2))
    .bind(col(3))
    .bind(ints(&|n| n.content_key))
    .bind(ints(&|n| n.simhash))
    .bind(ints(&|n| n.group_id))
    .bind(
        docs.iter()
            .map(|(_, n)| n.group_joined)
            .collect::<Vec<bool>>(),
    )
    .bind(ints(&|n| n.event.as_ref().map(|e| e.event_id)))
    .bind(ints(&|n| n.assessment.sentiment.map(i64::from)))
    .bind(
        docs.iter()
            .map(|(_, n)| n.assessment.sentiment_score.map(f64::from))
            .collect::<Vec<Option<f64>>>(),
    )
    .bind(ints(&|n| n.assessment.content_type))
    .bind(ints(&|n| Some(i64::from(n.assessment.categories))))
    .execute(&mut *tx)
    .await?;
    Ok(())
}

/// True for "no partition of relation … found for row": a partition this store believed
/// in was dropped by another process.
fn is_missing_partition(e: &StoreError) -> bool {
    matches!(e, StoreError::Database(sqlx::Error::Database(d))
        if d.code().as_deref() == Some("23514") && d.message().contains("no partition"))
}

impl Store for PgStore {
    async fn existing_ids(&self, platform: &str, ids: &[&str]) -> Result<HashSet<String>> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(sqlx::query_scalar::<_, String>(
            "SELECT id FROM document_ids WHERE platform = $1 AND id = ANY($2)",
        )
        .bind(platform)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect())
    }

    async fn existing_urls(&self, urls: &[&str]) -> Result<HashSet<String>> {
        if urls.is_empty() {
            return Ok(HashSet::new());
        }
        Ok(sqlx::query_scalar::<_, String>(
            "SELECT url_canonical FROM document_urls WHERE url_canonical = ANY($1)",
        )
        .bind(urls)
        .fetch_all(&self.pool)
        .await?
        .into_iter()
        .collect())
    }

    async fn roots(&self, platform: &str, ids: &[&str]) -> Result<HashMap<String, String>> {
        if ids.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT d.id, COALESCE(d.root_id, d.id) FROM document_ids i \
             JOIN documents d ON d.seq = i.seq AND d.ingested_at = i.ingested_at \
             WHERE i.platform = $1 AND i.id = ANY($2)",
        )
        .bind(platform)
        .bind(ids)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    async fn insert(
        &self,
        docs: &[NewDocument],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Inserted>> {
        let mut months: BTreeSet<i64> = docs
            .iter()
            .map(|n| month_of_ms(n.ingested_at.timestamp_millis()))
            .collect();
        // The month after the newest too, so that it exists before its first batch.
        if let Some(&last) = months.iter().next_back() {
            months.insert(last + 1);
        }
        self.ensure_partitions(&months).await?;
        match self.insert_once(docs, checkpoint).await {
            Err(e) if is_missing_partition(&e) => {
                // Another process dropped a month we knew: forget them all and retry once.
                self.months
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .clear();
                self.ensure_partitions(&months).await?;
                self.insert_once(docs, checkpoint).await
            }
            other => other,
        }
    }

    async fn checkpoint(&self, source: &str) -> Result<Option<Value>> {
        let cursor: Option<String> =
            sqlx::query_scalar("SELECT cursor FROM checkpoints WHERE source = $1")
                .bind(source)
                .fetch_optional(&self.pool)
                .await?;
        cursor
            .map(|s| {
                serde_json::from_str(&s).map_err(|e| StoreError::Corrupt {
                    seq: 0,
                    field: "checkpoints.cursor",
                    reason: e.to_string(),
                })
            })
            .transpose()
    }

    async fn put_dead_letters(&self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        let now = Utc::now().timestamp_millis();
        let mut tx = self.pool.begin().await?;
        for chunk in letters.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Postgres>::new(
                "INSERT INTO dead_letters (at, source, location, reason, payload) ",
            );
            q.push_values(chunk, |mut b, l| {
                b.push_bind(now)
                    .push_bind(l.source.as_str())
                    .push_bind(l.location.as_str())
                    .push_bind(l.reason.as_str())
                    .push_bind(l.payload.as_str());
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn dead_letters(&self, limit: i64) -> Result<Vec<StoredDeadLetter>> {
        let rows = sqlx::query(
            "SELECT id, at, source, location, reason, payload FROM dead_letters ORDER BY id DESC LIMIT $1",
        )
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(StoredDeadLetter {
                    id: r.try_get(0)?,
                    at: ms_to_utc(r.try_get(1)?),
                    letter: DeadLetter {
                        source: r.try_get(2)?,
                        location: r.try_get(3)?,
                        reason: r.try_get(4)?,
                        payload: r.try_get(5)?,
                    },
                })
            })
            .collect()
    }

    async fn count(&self) -> Result<i64> {
        Ok(sqlx::query_scalar("SELECT COUNT(*) FROM documents")
            .fetch_one(&self.pool)
            .await?)
    }

    async fn max_seq(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0)::int8 FROM documents")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn first_seq(&self) -> Result<i64> {
        // `document_ids.seq` is unique (indexed) and loses its rows with their partition.
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MIN(seq), 0)::int8 FROM document_ids")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn get(&self, platform: &str, id: &str) -> Result<Option<StoredDocument>> {
        let sql = format!(
            "SELECT {DOC_COLUMNS} FROM documents WHERE (seq, ingested_at) = \
             (SELECT seq, ingested_at FROM document_ids WHERE platform = $1 AND id = $2)"
        );
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(platform)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_doc).transpose()
    }

    async fn by_seqs(&self, seqs: &[i64]) -> Result<Vec<StoredDocument>> {
        if seqs.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {DOC_COLUMNS} FROM documents WHERE seq = ANY($1)");
        let mut found: HashMap<i64, StoredDocument> = HashMap::with_capacity(seqs.len());
        for r in sqlx::query(AssertSqlSafe(sql))
            .bind(seqs)
            .fetch_all(&self.pool)
            .await?
        {
            let d = row_to_doc(&r)?;
            found.insert(d.seq, d);
        }
        Ok(seqs.iter().filter_map(|s| found.remove(s)).collect())
    }

    async fn scan(&self, after: i64, limit: i64) -> Result<Vec<StoredDocument>> {
        let sql =
            format!("SELECT {DOC_COLUMNS} FROM documents WHERE seq > $1 ORDER BY seq LIMIT $2");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after)
            .bind(limit.max(0))
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_doc).collect()
    }

    async fn fingerprints(&self, after: i64, limit: i64) -> Result<Vec<Fingerprint>> {
        let rows = sqlx::query(
            "SELECT seq, content_key, simhash, group_id, group_joined FROM documents \
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Fingerprint {
                    seq: r.try_get(0)?,
                    content_key: r.try_get(1)?,
                    simhash: r.try_get(2)?,
                    group_id: r.try_get(3)?,
                    joined: r.try_get(4)?,
                })
            })
            .collect()
    }

    async fn group_stats(&self, group_id: i64) -> Result<Option<GroupStats>> {
        let r = sqlx::query(
            "SELECT COUNT(*), COUNT(DISTINCT COALESCE(site, source, platform)), \
             (SELECT seq FROM documents WHERE group_id = $1 ORDER BY published_at IS NULL, published_at, seq LIMIT 1), \
             MIN(published_at) FROM documents WHERE group_id = $1",
        )
        .bind(group_id)
        .fetch_one(&self.pool)
        .await?;
        let members: i64 = r.try_get(0)?;
        if members == 0 {
            return Ok(None);
        }
        Ok(Some(GroupStats {
            group_id,
            members,
            sites: r.try_get(1)?,
            first_seq: r.try_get(2)?,
            first_published_at: r.try_get::<Option<i64>, _>(3)?.map(ms_to_utc),
        }))
    }

    async fn record_poll(&self, source: &str, outcome: &PollOutcome) -> Result<()> {
        match outcome {
            PollOutcome::Success {
                at,
                documents: _,
                newest,
            } => {
                sqlx::query(
                    "INSERT INTO source_health (name, last_poll_at, last_success_at, consecutive_failures, polls, last_published_at) \
                     VALUES ($1, $2, $2, 0, 1, $3) ON CONFLICT (name) DO UPDATE SET last_poll_at = $2, last_success_at = $2, \
                     consecutive_failures = 0, polls = source_health.polls + 1, \
                     last_published_at = GREATEST(COALESCE(source_health.last_published_at, 0), COALESCE($3, 0))",
                )
                .bind(source)
                .bind(at.timestamp_millis())
                .bind(newest.map(|t| t.timestamp_millis()))
                .execute(&self.pool)
                .await?;
            }
            PollOutcome::Failure { at, error } => {
                sqlx::query(
                    "INSERT INTO source_health (name, last_poll_at, last_error_at, last_error, consecutive_failures, polls, failures) \
                     VALUES ($1, $2, $2, $3, 1, 1, 1) ON CONFLICT (name) DO UPDATE SET last_poll_at = $2, last_error_at = $2, \
                     last_error = $3, consecutive_failures = source_health.consecutive_failures + 1, \
                     polls = source_health.polls + 1, failures = source_health.failures + 1",
                )
                .bind(source)
                .bind(at.timestamp_millis())
                .bind(error)
                .execute(&self.pool)
                .await?;
            }
        }
        Ok(())
    }

    async fn source_health(&self) -> Result<Vec<SourceHealth>> {
        let hour = Utc::now().timestamp_millis() / 3_600_000;
        let rows = sqlx::query(
            "SELECT h.name, h.last_poll_at, h.last_success_at, h.last_error_at, h.last_error, h.consecutive_failures, \
             h.polls, h.failures, h.documents, h.last_published_at, \
             COALESCE((SELECT SUM(docs) FROM source_hours s WHERE s.name = h.name AND s.hour >= $1), 0)::int8 \
             FROM source_health h ORDER BY h.name",
        )
        .bind(hour - 1)
        .fetch_all(&self.pool)
        .await?;
        let opt = |r: &PgRow, i: usize| -> Result<Option<DateTime<Utc>>> {
            Ok(r.try_get::<Option<i64>, _>(i)?
                .filter(|&v| v > 0)
                .map(ms_to_utc))
        };
        rows.iter()
            .map(|r| {
                Ok(SourceHealth {
                    name: r.try_get(0)?,
                    last_poll_at: opt(r, 1)?,
                    last_success_at: opt(r, 2)?,
                    last_error_at: opt(r, 3)?,
                    last_error: r.try_get(4)?,
                    consecutive_failures: r.try_get(5)?,
                    polls: r.try_get(6)?,
                    failures: r.try_get(7)?,
                    documents: r.try_get(8)?,
                    last_published_at: opt(r, 9)?,
                    documents_last_hour: r.try_get(10)?,
                })
            })
            .collect()
    }

    async fn max_event_id(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COALESCE(MAX(id), 0)::int8 FROM events")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn allocate_event_ids(&self, n: usize) -> Result<Vec<i64>> {
        self.next_ids("event_ids", n).await
    }

    async fn allocate_group_ids(&self, n: usize) -> Result<Vec<i64>> {
        self.next_ids("group_ids", n).await
    }

    async fn claim_event_roots(
        &self,
        platform: &str,
        claims: &[(&str, i64)],
    ) -> Result<HashMap<String, i64>> {
        self.claim_roots(platform, claims).await
    }

    async fn orphan_roots(&self, limit: usize) -> Result<Vec<(String, String, i64)>> {
        let rows = sqlx::query(
            "SELECT r.platform, r.root_id, r.event_id FROM event_roots r WHERE NOT EXISTS \
             (SELECT 1 FROM document_ids d WHERE d.platform = r.platform AND d.id = r.root_id) \
             ORDER BY r.event_id DESC, r.platform, r.root_id LIMIT $1",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    async fn event_roots(&self, platform: &str, roots: &[&str]) -> Result<HashMap<String, i64>> {
        if roots.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT root_id, event_id FROM event_roots WHERE platform = $1 AND root_id = ANY($2)",
        )
        .bind(platform)
        .bind(roots)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    async fn group_events(&self, groups: &[i64]) -> Result<HashMap<i64, i64>> {
        if groups.is_empty() {
            return Ok(HashMap::new());
        }
        let rows = sqlx::query(
            "SELECT group_id, event_id FROM documents WHERE seq IN (SELECT MIN(seq) FROM documents \
             WHERE event_id IS NOT NULL AND group_id = ANY($1) GROUP BY group_id)",
        )
        .bind(groups)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?)))
            .collect()
    }

    async fn events_by_id(&self, ids: &[i64]) -> Result<Vec<EventRow>> {
        if ids.is_empty() {
            return Ok(Vec::new());
        }
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = ANY($1)");
        let mut found: HashMap<i64, EventRow> = HashMap::with_capacity(ids.len());
        for r in sqlx::query(AssertSqlSafe(sql))
            .bind(ids)
            .fetch_all(&self.pool)
            .await?
        {
            let e = row_to_event(&r)?;
            found.insert(e.id, e);
        }
        let mut out: Vec<EventRow> = ids.iter().filter_map(|i| found.remove(i)).collect();
        self.fill_mainstream(&mut out).await?;
        Ok(out)
    }

    async fn events(&self, eq: &EventQuery) -> Result<Vec<EventRow>> {
        let mut q = QueryBuilder::<Postgres>::new(format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE documents > 0"
        ));
        if let Some(l) = eq.min_level {
            q.push(" AND level >= ").push_bind(l);
        }
        if let Some(t) = eq.active_since {
            q.push(" AND last_at >= ").push_bind(t);
        }
        if let Some(n) = eq.min_documents {
            q.push(" AND documents >= ").push_bind(n);
        }
        q.push(" ORDER BY COALESCE(level, -1) DESC, documents DESC, id LIMIT ")
            .push_bind(eq.limit.max(0))
            .push(" OFFSET ")
            .push_bind(eq.offset.max(0));
        let rows = q.build().fetch_all(&self.pool).await?;
        let mut out = rows.iter().map(row_to_event).collect::<Result<Vec<_>>>()?;
        self.fill_mainstream(&mut out).await?;
        Ok(out)
    }

    async fn event_members(&self, event_id: i64) -> Result<Vec<EventMember>> {
        let sql = format!(
            "SELECT seq, id, platform, kind, parent_id, title, text, published_at, author_id, author_name, \
             author_verified, author::json ->> 'location', site, group_id, sentiment, content_type, \
             {}, {}, {} FROM documents WHERE event_id = $1 ORDER BY seq",
            metric("comments"),
            metric("views"),
            metric("reposts")
        );
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(event_id)
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok(EventMember {
                    seq: r.try_get(0)?,
                    id: r.try_get(1)?,
                    platform: r.try_get(2)?,
                    kind: r.try_get(3)?,
                    parent_id: r.try_get(4)?,
                    title: r.try_get(5)?,
                    text: r.try_get(6)?,
                    published_ms: r.try_get(7)?,
                    author_id: r.try_get(8)?,
                    author_name: r.try_get(9)?,
                    verified: r.try_get(10)?,
                    location: r.try_get(11)?,
                    site: r.try_get(12)?,
                    group_id: r.try_get(13)?,
                    sentiment: r.try_get::<Option<i64>, _>(14)?.map(|v| v as i8),
                    content_type: r.try_get(15)?,
                    comments: r.try_get(16)?,
                    views: r.try_get(17)?,
                    reposts: r.try_get(18)?,
                })
            })
            .collect()
    }

    async fn set_level(&self, event_id: i64, l: &LevelRecord) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let changed = sqlx::query(
            "UPDATE events SET level = $1, level_rule = $2, level_reason = $3, level_reason_en = $4, level_at = $5, \
             level_by = $6, rules_level = CASE WHEN $6::text IS NULL THEN GREATEST(rules_level, $1) \
             ELSE rules_level END WHERE id = $7 \
             AND ($6::text IS NOT NULL OR level IS NULL OR level < $1)",
        )
        .bind(l.level)
        .bind(&l.rule)
        .bind(&l.reason)
        .bind(&l.reason_en)
        .bind(l.at.timestamp_millis())
        .bind(l.by.as_deref())
        .bind(event_id)
        .execute(&mut *tx)
        .await?;
        if l.by.is_none() && changed.rows_affected() == 0 {
            // The rules never lower a level: another writer raised it meanwhile.
            return Ok(());
        }
        sqlx::query(
            "INSERT INTO event_levels (event_id, at, level, rule, reason, reason_en, by) \
             VALUES ($1, $2, $3, $4, $5, $6, $7)",
        )
        .bind(event_id)
        .bind(l.at.timestamp_millis())
        .bind(l.level)
        .bind(&l.rule)
        .bind(&l.reason)
        .bind(&l.reason_en)
        .bind(l.by.as_deref())
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn mark_graded(&self, events: &[i64], upto: i64) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        // Under the insert lock: inserts update many events rows (counters, merges) while
        // holding it, so a second multi-row writer of events outside it could lock rows in
        // another order and deadlock with them (several processors share events).
        let mut tx = self.pool.begin().await?;
        advisory_lock(&mut tx, DOCUMENTS_LOCK).await?;
        sqlx::query("UPDATE events SET graded_seq = GREATEST(graded_seq, $1) WHERE id = ANY($2)")
            .bind(upto)
            .bind(events)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    async fn set_rules_level(&self, event_id: i64, level: i64) -> Result<()> {
        sqlx::query("UPDATE events SET rules_level = GREATEST(rules_level, $1) WHERE id = $2")
            .bind(level)
            .bind(event_id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn level_history(&self, event_id: i64) -> Result<Vec<LevelRecord>> {
        let rows = sqlx::query(
            "SELECT level, rule, reason, reason_en, at, by FROM event_levels WHERE event_id = $1 ORDER BY id",
        )
        .bind(event_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(LevelRecord {
                    level: r.try_get(0)?,
                    rule: r.try_get(1)?,
                    reason: r.try_get(2)?,
                    reason_en: r.try_get(3)?,
                    at: ms_to_utc(r.try_get(4)?),
                    by: r.try_get(5)?,
                })
            })
            .collect()
    }

    async fn plans(&self) -> Result<Vec<StoredPlan>> {
        let rows = sqlx::query(AssertSqlSafe(format!(
            "SELECT {PLAN_COLUMNS} FROM plans ORDER BY id"
        )))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_plan).collect()
    }

    async fn put_plan(&self, p: &NewPlan) -> Result<StoredPlan> {
        let now = Utc::now().timestamp_millis();
        let mut tx = self.pool.begin().await?;
        let row = sqlx::query(AssertSqlSafe(format!(
            "INSERT INTO plans (name, expression, structured, active, origin, created_at, updated_at, updated_by) \
             VALUES ($1, $2, $3, $4, $5, $6, $6, $7) ON CONFLICT (name) DO UPDATE SET expression = $2, \
             structured = $3, active = $4, origin = $5, updated_at = $6, updated_by = $7 \
             RETURNING {PLAN_COLUMNS}"
        )))
        .bind(&p.name)
        .bind(&p.expression)
        .bind(p.structured.as_ref().map(|v| v.to_string()))
        .bind(p.active)
        .bind(&p.origin)
        .bind(now)
        .bind(p.by.as_deref())
        .fetch_one(&mut *tx)
        .await?;
        bump(&mut tx, "plans").await?;
        tx.commit().await?;
        row_to_plan(&row)
    }

    async fn set_plan_active(&self, id: i64, active: bool, by: Option<&str>) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query(
            "UPDATE plans SET active = $1, updated_at = $2, updated_by = $3 WHERE id = $4",
        )
        .bind(active)
        .bind(Utc::now().timestamp_millis())
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        bump(&mut tx, "plans").await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn delete_plan(&self, id: i64) -> Result<bool> {
        let mut tx = self.pool.begin().await?;
        let n = sqlx::query("DELETE FROM plans WHERE id = $1")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        bump(&mut tx, "plans").await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn plans_version(&self) -> Result<i64> {
        Ok(sqlx::query_scalar(
            "SELECT COALESCE((SELECT value FROM counters WHERE name = 'plans'), 0)::int8",
        )
        .fetch_one(&self.pool)
        .await?)
    }

    async fn plan_hits_of(&self, seqs: &[i64]) -> Result<HashMap<i64, crate::PlanHits>> {
        let mut out: HashMap<i64, crate::PlanHits> = HashMap::new();
        if seqs.is_empty() {
            return Ok(out);
        }
        let rows = sqlx::query(
            "SELECT seq, plan_id, terms FROM plan_hits WHERE seq = ANY($1) ORDER BY seq, plan_id",
        )
        .bind(seqs)
        .fetch_all(&self.pool)
        .await?;
        for r in rows {
            let seq: i64 = r.try_get(0)?;
            let terms = plan_terms(seq, r.try_get(2)?)?;
            out.entry(seq).or_default().push((r.try_get(1)?, terms));
        }
        Ok(out)
    }

    async fn plan_hit_count(&self, plan_id: i64) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM plan_hits WHERE plan_id = $1")
                .bind(plan_id)
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn plan_hit_docs(
        &self,
        plan_id: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<(StoredDocument, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT seq, terms FROM plan_hits WHERE plan_id = $1 AND seq < $2 ORDER BY seq DESC LIMIT $3",
        )
        .bind(plan_id)
        .bind(before)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        let mut terms: HashMap<i64, Vec<String>> = HashMap::new();
        let mut seqs = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            terms.insert(seq, plan_terms(seq, r.try_get(1)?)?);
            seqs.push(seq);
        }
        Ok(self
            .by_seqs(&seqs)
            .await?
            .into_iter()
            .map(|d| {
                let t = terms.remove(&d.seq).unwrap_or_default();
                (d, t)
            })
            .collect())
    }

    async fn plan_hourly(&self, plan_id: i64, since_ms: i64) -> Result<Vec<(i64, u64)>> {
        let rows = sqlx::query(
            "SELECT d.published_at / 3600000 AS h, COUNT(*) FROM plan_hits p JOIN documents d ON d.seq = p.seq \
             WHERE p.plan_id = $1 AND d.published_at >= $2 GROUP BY h ORDER BY h",
        )
        .bind(plan_id)
        .bind(since_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    async fn correct(
        &self,
        seq: i64,
        fix: Fix,
        by: &str,
        note: Option<&str>,
    ) -> Result<Option<Correction>> {
        let mut tx = self.pool.begin().await?;
        // A merge (in an insert, under this lock) moves documents and event counters: the
        // lock keeps a correction from taking the same rows in the other order.
        advisory_lock(&mut tx, DOCUMENTS_LOCK).await?;
        // The row lock orders concurrent corrections of one document.
        let Some(row) = sqlx::query(
            "SELECT sentiment, content_type, event_id FROM documents WHERE seq = $1 FOR UPDATE",
        )
        .bind(seq)
        .fetch_optional(&mut *tx)
        .await?
        else {
            return Ok(None);
        };
        let old_sentiment: Option<i64> = row.try_get(0)?;
        let old_type: Option<i64> = row.try_get(1)?;
        let event: Option<i64> = row.try_get(2)?;
        let (old, new) = match fix {
            Fix::Sentiment(v) => {
                sqlx::query(
                    "UPDATE documents SET sentiment = $1, corrected = corrected | 1 WHERE seq = $2",
                )
                .bind(i64::from(v))
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                // Keep the event's negative count true to the corrected value.
                let delta = i64::from(v == -1) - i64::from(old_sentiment == Some(-1));
                if delta != 0
                    && let Some(e) = event
                {
                    sqlx::query("UPDATE events SET negative = negative + $1 WHERE id = $2")
                        .bind(delta)
                        .bind(e)
                        .execute(&mut *tx)
                        .await?;
                }
                (old_sentiment.map(|v| v.to_string()), v.to_string())
            }
            Fix::ContentType(v) => {
                sqlx::query(
                    "UPDATE documents SET content_type = $1, corrected = corrected | 2 WHERE seq = $2",
                )
                .bind(v)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                (old_type.map(|v| v.to_string()), v.to_string())
            }
        };
        let at = Utc::now();
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO corrections (seq, field, old_value, new_value, by, at, note) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(seq)
        .bind(fix.field())
        .bind(old.as_deref())
        .bind(&new)
        .bind(by)
        .bind(at.timestamp_millis())
        .bind(note)
        .fetch_one(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(Some(Correction {
            id,
            seq,
            field: fix.field().to_owned(),
            old_value: old,
            new_value: new,
            by: by.to_owned(),
            at: ms_to_utc(at.timestamp_millis()),
            note: note.map(str::to_owned),
        }))
    }

    async fn corrections(&self, field: &str) -> Result<Vec<(Correction, String)>> {
        let rows = sqlx::query(
            "SELECT c.id, c.seq, c.field, c.old_value, c.new_value, c.by, c.at, c.note, \
             COALESCE(d.title || '。', '') || d.text FROM corrections c JOIN documents d ON d.seq = c.seq \
             WHERE c.field = $1 ORDER BY c.id",
        )
        .bind(field)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    Correction {
                        id: r.try_get(0)?,
                        seq: r.try_get(1)?,
                        field: r.try_get(2)?,
                        old_value: r.try_get(3)?,
                        new_value: r.try_get(4)?,
                        by: r.try_get(5)?,
                        at: ms_to_utc(r.try_get(6)?),
                        note: r.try_get(7)?,
                    },
                    r.try_get(8)?,
                ))
            })
            .collect()
    }

    // Statistics over a publication-time range: `stats.rs`.
    async fn volume_by_hour(&self, since_ms: i64, until_ms: i64) -> Result<Vec<(i64, u64)>> {
        self.stats_volume_by_hour(since_ms, until_ms).await
    }
    async fn sentiment_counts(&self, since_ms: i64, until_ms: i64) -> Result<SentimentCounts> {
        self.stats_sentiment_counts(since_ms, until_ms).await
    }
    async fn platform_counts(&self, since_ms: i64, until_ms: i64) -> Result<Vec<(String, u64)>> {
        self.stats_platform_counts(since_ms, until_ms).await
    }
    async fn recent_texts(&self, since_ms: i64, until_ms: i64, limit: i64) -> Result<Vec<String>> {
        self.stats_recent_texts(since_ms, until_ms, limit).await
    }
    async fn latest_published(&self) -> Result<Option<i64>> {
        self.stats_latest_published().await
    }
    async fn plan_period(
        &self,
        plan_id: i64,
        since_ms: i64,
        until_ms: i64,
        texts: i64,
    ) -> Result<crate::PlanPeriod> {
        self.stats_plan_period(plan_id, since_ms, until_ms, texts)
            .await
    }
    async fn filter_seqs(
        &self,
        seqs: &[i64],
        filter: &DocFilter,
    ) -> Result<Vec<(i64, Option<i64>)>> {
        self.stats_filter_seqs(seqs, filter).await
    }
}

/// What one batch adds to one event.
#[derive(Default)]
struct EventDelta<'a> {
    founder: Option<&'a NewDocument>,
    documents: i64,
    originals: i64,
    comments: i64,
    views: i64,
    reposts: i64,
    likes: i64,
    negative: i64,
    last_at: Option<i64>,
    /// Best first-publisher candidate: (original, published ms, seq, doc).
    first: Option<(bool, Option<i64>, i64, &'a NewDocument)>,
    critical: Option<(i64, &'a str)>,
}

/// What a batch adds to its events, one array per column (for `UNNEST`).
#[derive(Default)]
struct EventColumns<'a> {
    documents: Vec<i64>,
    originals: Vec<i64>,
    comments: Vec<i64>,
    views: Vec<i64>,
    reposts: Vec<i64>,
    likes: Vec<i64>,
    negative: Vec<i64>,
    last_at: Vec<Option<i64>>,
    critical_category: Vec<Option<i64>>,
    critical_id: Vec<Option<&'a str>>,
    first_id: Vec<&'a str>,
    first_seq: Vec<i64>,
    first_at: Vec<Option<i64>>,
    title: Vec<Option<String>>,
    first_original: Vec<i64>,
}

fn better_first(a: (bool, Option<i64>, i64), b: (bool, Option<i64>, i64)) -> bool {
    // Originals first, then the earliest time (unknown times last), then the lowest seq.
    let key = |x: (bool, Option<i64>, i64)| (!x.0, x.1.is_none(), x.1.unwrap_or(0), x.2);
    key(a) < key(b)
}

/// Plan hits, event rows, root mappings, mainstream sources and event counters of the
/// documents stored by one insert, in its transaction (as SQLite's `write_judgement`).
async fn write_judgement(
    tx: &mut PgConnection,
    stored: &[(i64, &NewDocument)],
    now: i64,
) -> Result<()> {
    // Plan hits.
    let mut hit_plans: Vec<i64> = Vec::new();
    let mut hit_seqs: Vec<i64> = Vec::new();
    let mut hit_terms: Vec<String> = Vec::new();
    for (seq, n) in stored {
        for (plan, terms) in &n.plan_hits {
            hit_plans.push(*plan);
            hit_seqs.push(*seq);
            hit_terms.push(serde_json::to_string(terms).unwrap_or_else(|_| "[]".into()));
        }
    }
    if !hit_plans.is_empty() {
        sqlx::query(
            "INSERT INTO plan_hits (plan_id, seq, terms) \
             SELECT * FROM UNNEST($1::int8[], $2::int8[], $3::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(&hit_plans)
        .bind(&hit_seqs)
        .bind(&hit_terms)
        .execute(&mut *tx)
        .await?;
    }
    // Events.
    let mut deltas: FxHashMap<i64, EventDelta> = FxHashMap::default();
    let mut roots: Vec<(&str, &str, i64)> = Vec::new();
    let mut mainstream: Vec<(i64, &str)> = Vec::new();
    for &(seq, n) in stored {
        let Some(link) = &n.event else { continue };
        let d = deltas.entry(link.event_id).or_default();
        if link.founds {
            d.founder = Some(n);
        }
        if let Some(r) = &link.root_key {
            roots.push((n.doc.platform.as_str(), r.as_str(), link.event_id));
        }
        if let Some(m) = &n.mainstream {
            mainstream.push((link.event_id, m.as_str()));
        }
        d.documents += 1;
        d.originals += i64::from(link.original);
        if let Some(m) = &n.doc.metrics {
            d.comments += m.comments.unwrap_or(0).max(0);
            d.views += m.views.unwrap_or(0).max(0);
            d.reposts += m.reposts.unwrap_or(0).max(0);
            d.likes += m.likes.unwrap_or(0).max(0);
        }
        d.negative += i64::from(n.assessment.sentiment == Some(-1));
        let at = n.doc.published_at.map(|t| t.timestamp_millis());
        d.last_at = d.last_at.max(at);
        let cand = (link.original, at, seq);
        if d.first
            .is_none_or(|(o, t, s, _)| better_first(cand, (o, t, s)))
        {
            d.first = Some((link.original, at, seq, n));
        }
        if d.critical.is_none()
            && let Some(c) = link.critical
        {
            d.critical = Some((c, n.id.as_str()));
        }
    }
    // Two statements for all the batch's events (not two per event): the rows, then the
    // counters. Sorted by id, so writers lock events in one order.
    let mut ids: Vec<i64> = deltas.keys().copied().collect();
    ids.sort_unstable();
    if !ids.is_empty() {
        let mut platforms: Vec<&str> = Vec::with_capacity(ids.len());
        let mut event_roots: Vec<String> = Vec::with_capacity(ids.len());
        let mut v = EventColumns::default();
        for id in &ids {
            let d = &deltas[id];
            // The founder creates the row; if it was not stored (a copy in flight), any
            // member does, so a stored document never points to a missing event.
            let (orig, at, seq, first) = d.first.expect("every delta has a member");
            let f = d.founder.unwrap_or(first);
            platforms.push(f.doc.platform.as_str());
            event_roots.push(
                f.event
                    .as_ref()
                    .and_then(|l| l.root_key.clone())
                    .unwrap_or_else(|| f.id.clone()),
            );
            v.documents.push(d.documents);
            v.originals.push(d.originals);
            v.comments.push(d.comments);
            v.views.push(d.views);
            v.reposts.push(d.reposts);
            v.likes.push(d.likes);
            v.negative.push(d.negative);
            v.last_at.push(d.last_at);
            v.critical_category.push(d.critical.map(|c| c.0));
            v.critical_id.push(d.critical.map(|c| c.1));
            v.first_id.push(first.id.as_str());
            v.first_seq.push(seq);
            v.first_at.push(at);
            v.title.push(crate::sqlite::event_title(&first.doc));
            v.first_original.push(i64::from(orig));
        }
        sqlx::query(
            "INSERT INTO events (id, platform, root_id, created_at, updated_at) \
             SELECT id, platform, root_id, $4, $4 FROM UNNEST($1::int8[], $2::text[], $3::text[]) \
             AS v(id, platform, root_id) ON CONFLICT DO NOTHING",
        )
        .bind(&ids)
        .bind(&platforms)
        .bind(&event_roots)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        // The batch's candidate beats the stored first publisher: originals first, then
        // the earliest known time (SET expressions all see the old row).
        const BEATS: &str = "(e.first_id IS NULL OR v.first_original > e.first_original \
             OR (v.first_original = e.first_original AND v.first_at IS NOT NULL \
             AND (e.first_at IS NULL OR v.first_at < e.first_at)))";
        let sql = format!(
            "UPDATE events AS e SET updated_at = $1, documents = e.documents + v.documents, \
             originals = e.originals + v.originals, comments = e.comments + v.comments, \
             views = e.views + v.views, reposts = e.reposts + v.reposts, likes = e.likes + v.likes, \
             negative = e.negative + v.negative, last_at = GREATEST(e.last_at, v.last_at), \
             critical_category = COALESCE(e.critical_category, v.critical_category), \
             critical_id = COALESCE(e.critical_id, v.critical_id), \
             first_id = CASE WHEN {BEATS} THEN v.first_id ELSE e.first_id END, \
             first_seq = CASE WHEN {BEATS} THEN v.first_seq ELSE e.first_seq END, \
             first_at = CASE WHEN {BEATS} THEN v.first_at ELSE e.first_at END, \
             title = CASE WHEN {BEATS} THEN v.title ELSE e.title END, \
             first_original = CASE WHEN {BEATS} THEN v.first_original ELSE e.first_original END \
             FROM UNNEST($2::int8[], $3::int8[], $4::int8[], $5::int8[], $6::int8[], $7::int8[], \
             $8::int8[], $9::int8[], $10::int8[], $11::int8[], $12::text[], $13::text[], $14::int8[], \
             $15::int8[], $16::text[], $17::int8[]) AS v(id, documents, originals, comments, views, \
             reposts, likes, negative, last_at, critical_category, critical_id, first_id, first_seq, \
             first_at, title, first_original) WHERE e.id = v.id"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(now)
            .bind(&ids)
            .bind(&v.documents)
            .bind(&v.originals)
            .bind(&v.comments)
            .bind(&v.views)
            .bind(&v.reposts)
            .bind(&v.likes)
            .bind(&v.negative)
            .bind(&v.last_at)
            .bind(&v.critical_category)
            .bind(&v.critical_id)
            .bind(&v.first_id)
            .bind(&v.first_seq)
            .bind(&v.first_at)
            .bind(&v.title)
            .bind(&v.first_original)
            .execute(&mut *tx)
            .await?;
    }
    if !roots.is_empty() {
        sqlx::query(
            "INSERT INTO event_roots (platform, root_id, event_id) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[]) ON CONFLICT DO NOTHING",
        )
        .bind(roots.iter().map(|r| r.0).collect::<Vec<_>>())
        .bind(roots.iter().map(|r| r.1).collect::<Vec<_>>())
        .bind(roots.iter().map(|r| r.2).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !mainstream.is_empty() {
        sqlx::query(
            "INSERT INTO event_mainstream (event_id, name) \
             SELECT * FROM UNNEST($1::int8[], $2::text[]) ON CONFLICT DO NOTHING",
        )
        .bind(mainstream.iter().map(|m| m.0).collect::<Vec<_>>())
        .bind(mainstream.iter().map(|m| m.1).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_and_partition_names() {
        let d = NaiveDate::from_ymd_opt(2026, 3, 17).expect("date");
        let m = month_index(d);
        assert_eq!(partition_name(m), "documents_2026_03");
        assert_eq!(partition_name(m + 10), "documents_2027_01");
        assert_eq!(
            partition_month("documents_2026_03"),
            NaiveDate::from_ymd_opt(2026, 3, 1)
        );
        assert_eq!(partition_month("document_ids"), None);
        let start = month_start_ms(m);
        assert_eq!(month_of_ms(start), m);
        assert_eq!(month_of_ms(start - 1), m - 1);
        assert_eq!(month_of_ms(month_start_ms(m + 1) - 1), m);
    }

    #[test]
    fn passwords_are_left_out_of_messages() {
        assert_eq!(
            redact("postgres://app:s3cret@db.example:5432/yuqing"),
            "postgres://app:***@db.example:5432/yuqing"
        );
        assert_eq!(
            redact("postgres://postgres@127.0.0.1/x"),
            "postgres://postgres@127.0.0.1/x"
        );
    }
}
