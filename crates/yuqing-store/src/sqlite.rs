//! The embedded SQLite store (WAL), the default backend.
//!
//! Writes are batched: [`SqliteStore::insert`] uses multi-row `INSERT … ON CONFLICT DO
//! NOTHING RETURNING` statements inside one transaction, so a batch of a thousand
//! documents costs a handful of statements. Migrations are embedded in the binary.
//! Every write transaction starts with `BEGIN IMMEDIATE`: with several writers (the
//! pipeline, the alert follower, the API), a deferred transaction that reads first could
//! not upgrade to a write after another commit (`SQLITE_BUSY_SNAPSHOT`, not retried).
//! Retention ([`SqliteStore::drop_documents_before`]) deletes old documents in chunks of
//! short transactions, keeping what PostgreSQL's partition drop keeps.

pub(crate) use crate::rows::ms_to_utc;
use crate::rows::{DOC_COLUMNS, EVENT_COLUMNS, row_to_doc, row_to_event};
use crate::{
    Checkpoint, Correction, DeadLetter, DocFilter, EncodedJson, EventMember, EventQuery, EventRow,
    Fingerprint, Fix, GroupStats, Inserted, LevelRecord, NewDocument, NewPlan, PollOutcome, Result,
    Retention, SentimentCounts, SourceHealth, Store, StoreError, StoredDeadLetter, StoredPlan,
};
use chrono::{DateTime, NaiveDate, Utc};
use rustc_hash::{FxHashMap, FxHashSet};
use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;
use yuqing_core::{Document, StoredDocument};

mod access;
mod events;
mod handling;
mod reports;
mod stats;

/// Rows per multi-row INSERT (30 columns each; SQLite allows 32,766 parameters).
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (…)` lookup.
const LOOKUP_CHUNK: usize = 900;

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
            include_str!("../migrations/sqlite/0001_documents.sql"),
        ),
        m(
            2,
            "judgement",
            include_str!("../migrations/sqlite/0002_judgement.sql"),
        ),
        m(
            3,
            "handling",
            include_str!("../migrations/sqlite/0003_handling.sql"),
        ),
        m(
            4,
            "access",
            include_str!("../migrations/sqlite/0004_access.sql"),
        ),
        m(
            5,
            "dashboard",
            include_str!("../migrations/sqlite/0005_dashboard.sql"),
        ),
        m(
            6,
            "reports",
            include_str!("../migrations/sqlite/0006_reports.sql"),
        ),
        m(
            7,
            "graded",
            include_str!("../migrations/sqlite/0007_graded.sql"),
        ),
        m(
            8,
            "event_claims",
            include_str!("../migrations/sqlite/0008_event_claims.sql"),
        ),
        m(
            9,
            "alert_verdicts",
            include_str!("../migrations/sqlite/0009_alert_verdicts.sql"),
        ),
        m(
            10,
            "point_adjustments",
            include_str!("../migrations/sqlite/0010_point_adjustments.sql"),
        ),
    ])
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    /// Next event and group ids ([`Store::allocate_event_ids`]), counted in memory after
    /// the highest in use (one writer per data directory); read on first use.
    ids: std::sync::Arc<tokio::sync::Mutex<Option<events::NextIds>>>,
}

/// Whether a connection coming back to the pool may be reused: not if it still counts
/// itself inside a transaction once the rollback queued by a dropped transaction has run.
///
/// This happens when SQLite ended a transaction by itself: a `COMMIT` that fails with
/// `SQLITE_FULL` or `SQLITE_IOERR` (a full disk) can roll the transaction back, so the
/// `ROLLBACK` sqlx sends when the transaction is dropped fails ("no transaction is active")
/// and sqlx's transaction depth is never decremented. Returned to the pool, such a
/// connection would answer every later `BEGIN IMMEDIATE` with "attempted to call
/// begin_with at non-zero transaction depth" until the process restarts. Closing it
/// instead lets the pool open a fresh one. Only the file-backed pool uses this (closing the
/// single connection of an in-memory database would drop the database).
async fn released_outside_a_transaction(
    conn: &mut sqlx::SqliteConnection,
) -> std::result::Result<bool, sqlx::Error> {
    use sqlx::Connection as _;
    if !conn.is_in_transaction() {
        return Ok(true);
    }
    // A dropped transaction's rollback is queued on the connection's worker: a ping runs
    // after it, so the depth read afterwards is the real one.
    conn.ping().await?;
    if conn.is_in_transaction() {
        tracing::warn!(
            "a database connection was left inside a transaction that SQLite had already \
             ended (a failed COMMIT, e.g. a full disk); it is closed and replaced"
        );
        return Ok(false);
    }
    Ok(true)
}

/// Secondary indexes of `documents` that a first import builds at its end
/// ([`SqliteStore::defer_indexes_if_empty`]): name and definition, as the migrations
/// create them (0002_judgement.sql, 0005_dashboard.sql; a migration that changes one
/// changes it here too).
const DEFERRABLE_INDEXES: [(&str, &str); 2] = [
    (
        "documents_published",
        "CREATE INDEX IF NOT EXISTS documents_published ON documents (published_at, sentiment, platform)",
    ),
    ("documents_event", DOCUMENTS_EVENT_INDEX),
];

/// The deferrable index of documents by event (an adoption during a first import builds
/// it early: `sqlite/events.rs`, `merge`).
const DOCUMENTS_EVENT_INDEX: &str =
    "CREATE INDEX IF NOT EXISTS documents_event ON documents (event_id) WHERE event_id IS NOT NULL";

/// Documents deleted per transaction by [`SqliteStore::drop_documents_before`].
const RETENTION_CHUNK: i64 = 10_000;

impl SqliteStore {
    /// Retention on the embedded store: deletes the documents ingested before the first
    /// day of `cutoff`'s month (that month itself is kept), as
    /// [`PgStore::drop_partitions_before`](crate::PgStore::drop_partitions_before) drops
    /// whole months, and keeps and drops the same things: with the documents go their plan
    /// hits (identity is in the `documents` row, so the same document seen again is stored
    /// again as new); kept are events with their counters, levels and root mappings,
    /// alerts, cases, the audit log, corrections, checkpoints and source health.
    ///
    /// It deletes in chunks of [`RETENTION_CHUNK`] documents, oldest first: each chunk is
    /// found by a plain read and deleted in its own short `BEGIN IMMEDIATE` transaction, so
    /// the writer waits at most one chunk's delete, and a stop in between leaves only whole
    /// chunks deleted (the next run goes on).
    /// `partitions` is empty in what it returns (SQLite has none). The newest document
    /// is kept even when it is older than the cut-off, so that seqs keep rising (an
    /// emptied table would number its rows from 1 again). The file does not shrink: SQLite
    /// reuses the freed pages for new documents.
    pub async fn drop_documents_before(&self, cutoff: NaiveDate) -> Result<Retention> {
        let cutoff_ms = crate::postgres::retention_cutoff_ms(cutoff);
        // The newest document always stays: SQLite gives a new row the highest rowid + 1,
        // so an emptied table would hand out seqs from 1 again, below the index's and the
        // alert follower's positions.
        let newest: i64 = sqlx::query_scalar("SELECT COALESCE(MAX(seq), 0) FROM documents")
            .fetch_one(&self.pool)
            .await?;
        let mut documents = 0u64;
        loop {
            // The next chunk, found by a plain read (WAL: the writer goes on meanwhile). Seqs
            // rise with ingestion time, so the oldest come first in seq order and the scan
            // stops after one chunk; only the last look, which finds none, reads the table
            // through.
            let (first, last): (Option<i64>, Option<i64>) = sqlx::query_as(
                "SELECT MIN(seq), MAX(seq) FROM \
                 (SELECT seq FROM documents WHERE ingested_at < ? AND seq < ? \
                 ORDER BY seq LIMIT ?)",
            )
            .bind(cutoff_ms)
            .bind(newest)
            .bind(RETENTION_CHUNK)
            .fetch_one(&self.pool)
            .await?;
            let (Some(first), Some(last)) = (first, last) else {
                break;
            };
            let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
            sqlx::query(
                "DELETE FROM plan_hits WHERE seq IN \
                 (SELECT seq FROM documents WHERE seq BETWEEN ? AND ? AND ingested_at < ?)",
            )
            .bind(first)
            .bind(last)
            .bind(cutoff_ms)
            .execute(&mut *tx)
            .await?;
            let gone =
                sqlx::query("DELETE FROM documents WHERE seq BETWEEN ? AND ? AND ingested_at < ?")
                    .bind(first)
                    .bind(last)
                    .bind(cutoff_ms)
                    .execute(&mut *tx)
                    .await?
                    .rows_affected();
            tx.commit().await?;
            documents += gone;
            if gone == 0 {
                // Cannot happen (only retention deletes documents); never loop on it.
                break;
            }
        }
        Ok(Retention {
            partitions: Vec::new(),
            documents,
        })
    }
}

impl SqliteStore {
    /// Opens (creating if needed) the database file `path` and runs migrations.
    pub async fn open(path: &Path) -> Result<Self> {
        if let Some(dir) = path.parent()
            && !dir.as_os_str().is_empty()
        {
            std::fs::create_dir_all(dir).map_err(|source| StoreError::Open {
                path: dir.display().to_string(),
                source,
            })?;
        }
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            .synchronous(SqliteSynchronous::Normal)
            .busy_timeout(Duration::from_secs(30))
            .pragma("cache_size", "-65536")
            .pragma("temp_store", "memory");
        Self::connect(opts).await
    }

    /// Opens an existing database read-only, without running migrations (for tools and
    /// monitors that must not interfere with a running writer).
    pub async fn open_read_only(path: &Path) -> Result<Self> {
        let opts = SqliteConnectOptions::new()
            .filename(path)
            .read_only(true)
            .busy_timeout(Duration::from_secs(30));
        let pool = SqlitePoolOptions::new()
            .max_connections(2)
            .connect_with(opts)
            .await?;
        Ok(Self {
            pool,
            ids: Default::default(),
        })
    }

    /// An in-memory database, for tests.
    pub async fn in_memory() -> Result<Self> {
        let opts = SqliteConnectOptions::new()
            .in_memory(true)
            .shared_cache(false);
        let pool = SqlitePoolOptions::new()
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(opts)
            .await?;
        migrator().run(&pool).await?;
        Ok(Self {
            pool,
            ids: Default::default(),
        })
    }

    async fn connect(opts: SqliteConnectOptions) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .after_release(|conn, _| Box::pin(released_outside_a_transaction(conn)))
            .connect_with(opts)
            .await?;
        migrator().run(&pool).await?;
        let store = Self {
            pool,
            ids: Default::default(),
        };
        // An import stopped before it rebuilt them left them out. On a full disk they
        // cannot be built: the store opens without them (queries by event or publication
        // time scan the table) so that `check` and a reader still work, and the next open
        // with space builds them.
        match store.build_deferred_indexes().await {
            Err(StoreError::Database(sqlx::Error::Database(d)))
                if d.code().as_deref() == Some("13") =>
            {
                tracing::warn!(
                    error = %d,
                    "the disk is full: the indexes a first import defers are built at the next open"
                );
            }
            r => r?,
        }
        Ok(store)
    }

    /// Drops the [`DEFERRABLE_INDEXES`] if no document is stored yet, so that a first
    /// import builds each once at the end ([`SqliteStore::build_deferred_indexes`])
    /// instead of row by row in random order (the whole CED file: 1–1.6 s to build both
    /// against 3–6 s of the import). Returns whether it dropped them. Until they are
    /// built again, queries by event or publication time scan the table; a store opened
    /// meanwhile (or after a crash) builds them, and the first adoption of an event
    /// (which moves its documents by event) builds the index by event.
    pub async fn defer_indexes_if_empty(&self) -> Result<bool> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let any: Option<i64> = sqlx::query_scalar("SELECT seq FROM documents LIMIT 1")
            .fetch_optional(&mut *tx)
            .await?;
        if any.is_some() {
            return Ok(false);
        }
        for (name, _) in DEFERRABLE_INDEXES {
            sqlx::query(sqlx::AssertSqlSafe(format!("DROP INDEX IF EXISTS {name}")))
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(true)
    }

    /// Creates any of the [`DEFERRABLE_INDEXES`] that is missing (each a sort of the
    /// table; nothing to do when they exist).
    pub async fn build_deferred_indexes(&self) -> Result<()> {
        for (_, create) in DEFERRABLE_INDEXES {
            sqlx::query(create).execute(&self.pool).await?;
        }
        Ok(())
    }

    /// Writes a consistent copy of the whole database to `dest` (which must not exist)
    /// while others keep reading and writing (`VACUUM INTO`: one read transaction).
    pub async fn backup_into(&self, dest: &Path) -> Result<()> {
        let path = dest.to_str().ok_or_else(|| StoreError::Open {
            path: dest.display().to_string(),
            source: std::io::Error::other("the path is not UTF-8 / 路径不是 UTF-8"),
        })?;
        sqlx::query("VACUUM INTO ?")
            .bind(path)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Every stored seq, ascending (for `yuqing check`).
    pub async fn all_seqs(&self) -> Result<Vec<i64>> {
        Ok(sqlx::query_scalar("SELECT seq FROM documents ORDER BY seq")
            .fetch_all(&self.pool)
            .await?)
    }

    /// Identities stored more than once (`platform:id`), which the unique index forbids.
    pub async fn doubled_identities(&self) -> Result<Vec<String>> {
        Ok(sqlx::query_scalar(
            "SELECT platform || ':' || id FROM documents GROUP BY platform, id HAVING COUNT(*) > 1 LIMIT 100",
        )
        .fetch_all(&self.pool)
        .await?)
    }

    /// `PRAGMA integrity_check`: `Ok(())` or the problems SQLite found.
    pub async fn integrity_check(&self) -> Result<std::result::Result<(), String>> {
        let rows: Vec<String> = sqlx::query_scalar("PRAGMA integrity_check")
            .fetch_all(&self.pool)
            .await?;
        Ok(if rows.len() == 1 && rows[0] == "ok" {
            Ok(())
        } else {
            Err(rows.join("; "))
        })
    }

    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn row_to_plan(r: &SqliteRow) -> Result<StoredPlan> {
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
        active: r.try_get::<i64, _>(4)? != 0,
        origin: r.try_get(5)?,
        created_at: ms_to_utc(r.try_get(6)?),
        updated_at: ms_to_utc(r.try_get(7)?),
        updated_by: r.try_get(8)?,
    })
}

/// Increments a change counter.
async fn bump(tx: &mut sqlx::SqliteConnection, name: &str) -> Result<()> {
    sqlx::query(
        "INSERT INTO counters (name, value) VALUES (?, 1) ON CONFLICT (name) DO UPDATE SET value = value + 1",
    )
    .bind(name)
    .execute(&mut *tx)
    .await?;
    Ok(())
}

impl SqliteStore {
    async fn fill_mainstream(&self, events: &mut [EventRow]) -> Result<()> {
        if events.is_empty() {
            return Ok(());
        }
        let mut by_id: HashMap<i64, usize> = HashMap::new();
        for (k, e) in events.iter().enumerate() {
            by_id.insert(e.id, k);
        }
        let ids: Vec<i64> = by_id.keys().copied().collect();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT event_id, name FROM event_mainstream WHERE event_id IN (",
            );
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(") ORDER BY event_id, name");
            for r in q.build().fetch_all(&self.pool).await? {
                let id: i64 = r.try_get(0)?;
                if let Some(&k) = by_id.get(&id) {
                    events[k].mainstream.push(r.try_get(1)?);
                }
            }
        }
        Ok(())
    }
}

impl Store for SqliteStore {
    async fn existing_ids(&self, platform: &str, ids: &[&str]) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new("SELECT id FROM documents WHERE platform = ");
            q.push_bind(platform).push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            for r in q.build().fetch_all(&self.pool).await? {
                out.insert(r.try_get::<String, _>(0)?);
            }
        }
        Ok(out)
    }

    async fn existing_urls(&self, urls: &[&str]) -> Result<HashSet<String>> {
        let mut out = HashSet::new();
        for chunk in urls.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT url_canonical FROM documents WHERE url_canonical IN (",
            );
            let mut sep = q.separated(", ");
            for u in chunk {
                sep.push_bind(*u);
            }
            q.push(")");
            for r in q.build().fetch_all(&self.pool).await? {
                out.insert(r.try_get::<String, _>(0)?);
            }
        }
        Ok(out)
    }

    async fn roots(&self, platform: &str, ids: &[&str]) -> Result<HashMap<String, String>> {
        let mut out = HashMap::new();
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT id, COALESCE(root_id, id) FROM documents WHERE platform = ",
            );
            q.push_bind(platform).push(" AND id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            for r in q.build().fetch_all(&self.pool).await? {
                out.insert(r.try_get::<String, _>(0)?, r.try_get::<String, _>(1)?);
            }
        }
        Ok(out)
    }

    async fn insert(
        &self,
        docs: &[NewDocument],
        checkpoint: Option<&Checkpoint>,
    ) -> Result<Vec<Inserted>> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        // A writer among several asks the store to settle groups and events
        // (`crate::shared`); inside this write transaction nothing changes underneath.
        let settled;
        let mut merges = Vec::new();
        let docs: &[NewDocument] = {
            let refs: Vec<&NewDocument> = docs.iter().collect();
            if crate::shared::wanted_by(&refs) {
                let known = events::lookup(&mut tx, &crate::shared::wanted(&refs)).await?;
                settled = crate::shared::settle(&refs, known);
                events::write_claims(&mut tx, &settled).await?;
                merges.clone_from(&settled.merges);
                &settled.docs
            } else {
                docs
            }
        };
        let mut inserted = Vec::with_capacity(docs.len());
        let mut stored_all;
        // Highest seq before this transaction: rows above it are ours.
        let mut before: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM documents")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let mut per_source: FxHashMap<&str, (i64, Option<i64>)> = FxHashMap::default();
        // The stored documents with their seq, for the judgement tables.
        let mut stored_docs: Vec<(i64, &NewDocument)> = Vec::with_capacity(docs.len());
        for chunk in docs.chunks(INSERT_CHUNK) {
            let first_new = inserted.len();
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO documents (platform, id, kind, url, url_canonical, site, title, text, published_at, \
                 published_off, ingested_at, author_id, author_name, author_verified, author, metrics, parent_id, \
                 root_id, source, extra, rest, content_key, simhash, group_id, group_joined, event_id, sentiment, \
                 sentiment_score, content_type, categories) ",
            );
            q.push_values(chunk, |mut b, n| {
                let d = &n.doc;
                let author = d.author.as_ref();
                // Encoded by the preparers (borrowed), or here when a caller did not.
                let json: [Option<Cow<'_, str>>; 4] = match &n.encoded {
                    Some(e) => [&e.author, &e.metrics, &e.extra, &e.rest]
                        .map(|v| v.as_deref().map(Cow::Borrowed)),
                    None => {
                        let e = EncodedJson::of(d);
                        [e.author, e.metrics, e.extra, e.rest].map(|v| v.map(Cow::Owned))
                    }
                };
                let [j_author, j_metrics, j_extra, j_rest] = json;
                b.push_bind(d.platform.as_str())
                    .push_bind(n.id.as_str())
                    .push_bind(d.kind.as_str())
                    .push_bind(d.url.as_deref())
                    .push_bind(n.url_canonical.as_deref())
                    .push_bind(n.site.as_deref())
                    .push_bind(d.title.as_deref())
                    .push_bind(d.text.as_str())
                    .push_bind(d.published_at.map(|t| t.timestamp_millis()))
                    .push_bind(
                        d.published_at
                            .map(|t| i64::from(t.offset().local_minus_utc())),
                    )
                    .push_bind(n.ingested_at.timestamp_millis())
                    .push_bind(author.and_then(|a| a.id.as_deref()))
                    .push_bind(author.and_then(|a| a.name.as_deref()))
                    .push_bind(i64::from(d.author_verified()))
                    .push_bind(j_author)
                    .push_bind(j_metrics)
                    .push_bind(d.parent_id.as_deref())
                    .push_bind(d.root_id.as_deref())
                    .push_bind(d.source.as_deref())
                    .push_bind(j_extra)
                    .push_bind(j_rest)
                    .push_bind(n.content_key)
                    .push_bind(n.simhash)
                    .push_bind(n.group_id)
                    .push_bind(i64::from(n.group_joined))
                    .push_bind(n.event.as_ref().map(|e| e.event_id))
                    .push_bind(n.assessment.sentiment.map(i64::from))
                    .push_bind(n.assessment.sentiment_score.map(f64::from))
                    .push_bind(n.assessment.content_type)
                    .push_bind(i64::from(n.assessment.categories));
            });
            q.push(" ON CONFLICT DO NOTHING");
            let res = q.build().execute(&mut *tx).await?;
            let mut stored: FxHashSet<(String, String)> = FxHashSet::default();
            if res.rows_affected() as usize == chunk.len() {
                // No conflict: inside our write transaction the rows got consecutive rowids,
                // the last one being last_insert_rowid (no round trip per row).
                let first = res.last_insert_rowid() - chunk.len() as i64 + 1;
                for (k, n) in chunk.iter().enumerate() {
                    inserted.push(Inserted {
                        seq: first + k as i64,
                        platform: n.doc.platform.clone(),
                        id: n.id.clone(),
                        event_id: n.event.as_ref().map(|l| l.event_id),
                        group_id: n.group_id,
                    });
                }
                stored_all = true;
            } else {
                // Some rows conflicted: ask which of this chunk are ours (seq > before).
                stored_all = false;
                let mut sel = QueryBuilder::<Sqlite>::new(
                    "SELECT seq, platform, id, event_id, group_id FROM documents WHERE seq > ",
                );
                sel.push_bind(before).push(" AND (");
                let mut sep = sel.separated(" OR ");
                for n in chunk {
                    sep.push("(platform = ")
                        .push_bind_unseparated(n.doc.platform.as_str())
                        .push_unseparated(" AND id = ")
                        .push_bind_unseparated(n.id.as_str())
                        .push_unseparated(")");
                }
                sel.push(")");
                for r in sel.build().fetch_all(&mut *tx).await? {
                    let ins = Inserted {
                        seq: r.try_get(0)?,
                        platform: r.try_get(1)?,
                        id: r.try_get(2)?,
                        event_id: r.try_get(3)?,
                        group_id: r.try_get(4)?,
                    };
                    stored.insert((ins.platform.clone(), ins.id.clone()));
                    inserted.push(ins);
                }
            }
            before = inserted.last().map_or(before, |i| i.seq.max(before));
            {
                let seq_of: FxHashMap<(&str, &str), i64> = inserted[first_new..]
                    .iter()
                    .map(|i| ((i.platform.as_str(), i.id.as_str()), i.seq))
                    .collect();
                for n in chunk {
                    if let Some(&seq) = seq_of.get(&(n.doc.platform.as_str(), n.id.as_str())) {
                        stored_docs.push((seq, n));
                    }
                }
            }
            for n in chunk {
                if let Some(src) = n.doc.source.as_deref()
                    && (stored_all || stored.contains(&(n.doc.platform.clone(), n.id.clone())))
                {
                    let e = per_source.entry(src).or_insert((0, None));
                    e.0 += 1;
                    if let Some(p) = n.doc.published_at {
                        e.1 = e.1.max(Some(p.timestamp_millis()));
                    }
                }
            }
        }
        // RETURNING order is not guaranteed: keep seq order.
        inserted.sort_by_key(|i| i.seq);
        let now = Utc::now().timestamp_millis();
        write_judgement(&mut tx, &stored_docs, now).await?;
        for m in &merges {
            events::merge(&mut tx, m, now).await?;
        }
        let hour = now / 3_600_000;
        for (src, (n, newest)) in per_source {
            sqlx::query(
                "INSERT INTO source_hours (name, hour, docs) VALUES (?, ?, ?) \
                 ON CONFLICT (name, hour) DO UPDATE SET docs = docs + excluded.docs",
            )
            .bind(src)
            .bind(hour)
            .bind(n)
            .execute(&mut *tx)
            .await?;
            sqlx::query(
                "INSERT INTO source_health (name, documents, last_published_at) VALUES (?, ?, ?) \
                 ON CONFLICT (name) DO UPDATE SET documents = documents + excluded.documents, \
                 last_published_at = MAX(COALESCE(last_published_at, 0), COALESCE(excluded.last_published_at, 0))",
            )
            .bind(src)
            .bind(n)
            .bind(newest)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(cp) = checkpoint {
            sqlx::query(
                "INSERT INTO checkpoints (source, cursor, updated_at) VALUES (?, ?, ?) \
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

    async fn checkpoint(&self, source: &str) -> Result<Option<Value>> {
        let row = sqlx::query("SELECT cursor FROM checkpoints WHERE source = ?")
            .bind(source)
            .fetch_optional(&self.pool)
            .await?;
        match row {
            None => Ok(None),
            Some(r) => {
                let s: String = r.try_get(0)?;
                serde_json::from_str(&s)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        seq: 0,
                        field: "checkpoints.cursor",
                        reason: e.to_string(),
                    })
            }
        }
    }

    async fn put_dead_letters(&self, letters: &[DeadLetter]) -> Result<()> {
        if letters.is_empty() {
            return Ok(());
        }
        let now = Utc::now().timestamp_millis();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in letters.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO dead_letters (at, source, location, reason, payload) ",
            );
            q.push_values(chunk, |mut b, l| {
                b.push_bind(now)
                    .push_bind(l.source.clone())
                    .push_bind(l.location.clone())
                    .push_bind(l.reason.clone())
                    .push_bind(l.payload.clone());
            });
            q.build().execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    async fn dead_letters(&self, limit: i64) -> Result<Vec<StoredDeadLetter>> {
        let rows = sqlx::query("SELECT id, at, source, location, reason, payload FROM dead_letters ORDER BY id DESC LIMIT ?")
            .bind(limit)
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
        Ok(sqlx::query("SELECT COUNT(*) FROM documents")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn max_seq(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM documents")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn first_seq(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COALESCE(MIN(seq), 0) FROM documents")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn get(&self, platform: &str, id: &str) -> Result<Option<StoredDocument>> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM documents WHERE platform = ? AND id = ?");
        let row = sqlx::query(AssertSqlSafe(sql))
            .bind(platform)
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        row.as_ref().map(row_to_doc).transpose()
    }

    async fn by_seqs(&self, seqs: &[i64]) -> Result<Vec<StoredDocument>> {
        let mut found: HashMap<i64, StoredDocument> = HashMap::with_capacity(seqs.len());
        for chunk in seqs.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {DOC_COLUMNS} FROM documents WHERE seq IN ("
            ));
            let mut sep = q.separated(", ");
            for s in chunk {
                sep.push_bind(*s);
            }
            q.push(")");
            for r in q.build().fetch_all(&self.pool).await? {
                let d = row_to_doc(&r)?;
                found.insert(d.seq, d);
            }
        }
        Ok(seqs.iter().filter_map(|s| found.remove(s)).collect())
    }

    async fn scan(&self, after: i64, limit: i64) -> Result<Vec<StoredDocument>> {
        let sql = format!("SELECT {DOC_COLUMNS} FROM documents WHERE seq > ? ORDER BY seq LIMIT ?");
        let rows = sqlx::query(AssertSqlSafe(sql))
            .bind(after)
            .bind(limit)
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(row_to_doc).collect()
    }

    async fn fingerprints(&self, after: i64, limit: i64) -> Result<Vec<Fingerprint>> {
        let rows = sqlx::query(
            "SELECT seq, content_key, simhash, group_id, group_joined FROM documents WHERE seq > ? ORDER BY seq LIMIT ?",
        )
        .bind(after)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(Fingerprint {
                    seq: r.try_get(0)?,
                    content_key: r.try_get(1)?,
                    simhash: r.try_get(2)?,
                    group_id: r.try_get(3)?,
                    joined: r.try_get::<i64, _>(4)? != 0,
                })
            })
            .collect()
    }

    async fn group_stats(&self, group_id: i64) -> Result<Option<GroupStats>> {
        let r = sqlx::query(
            "SELECT COUNT(*), COUNT(DISTINCT COALESCE(site, source, platform)), \
             (SELECT seq FROM documents WHERE group_id = ?1 ORDER BY published_at IS NULL, published_at, seq LIMIT 1), \
             MIN(published_at) FROM documents WHERE group_id = ?1",
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
                     VALUES (?1, ?2, ?2, 0, 1, ?3) ON CONFLICT (name) DO UPDATE SET last_poll_at = ?2, last_success_at = ?2, \
                     consecutive_failures = 0, polls = polls + 1, \
                     last_published_at = MAX(COALESCE(last_published_at, 0), COALESCE(?3, 0))",
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
                     VALUES (?1, ?2, ?2, ?3, 1, 1, 1) ON CONFLICT (name) DO UPDATE SET last_poll_at = ?2, last_error_at = ?2, \
                     last_error = ?3, consecutive_failures = consecutive_failures + 1, polls = polls + 1, failures = failures + 1",
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
             COALESCE((SELECT SUM(docs) FROM source_hours s WHERE s.name = h.name AND s.hour >= ?), 0) \
             FROM source_health h ORDER BY h.name",
        )
        .bind(hour - 1)
        .fetch_all(&self.pool)
        .await?;
        let opt = |r: &SqliteRow, i: usize| -> Result<Option<DateTime<Utc>>> {
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
        Ok(sqlx::query("SELECT COALESCE(MAX(id), 0) FROM events")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    async fn allocate_event_ids(&self, n: usize) -> Result<Vec<i64>> {
        self.next_ids(true, n).await
    }

    async fn allocate_group_ids(&self, n: usize) -> Result<Vec<i64>> {
        self.next_ids(false, n).await
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
             (SELECT 1 FROM documents d WHERE d.platform = r.platform AND d.id = r.root_id) \
             ORDER BY r.event_id DESC, r.platform, r.root_id LIMIT ?",
        )
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get(1)?, r.try_get(2)?)))
            .collect()
    }

    async fn event_roots(&self, platform: &str, roots: &[&str]) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        for chunk in roots.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT root_id, event_id FROM event_roots WHERE platform = ",
            );
            q.push_bind(platform).push(" AND root_id IN (");
            let mut sep = q.separated(", ");
            for r in chunk {
                sep.push_bind(*r);
            }
            q.push(")");
            for r in q.build().fetch_all(&self.pool).await? {
                out.insert(r.try_get::<String, _>(0)?, r.try_get::<i64, _>(1)?);
            }
        }
        Ok(out)
    }

    async fn group_events(&self, groups: &[i64]) -> Result<HashMap<i64, i64>> {
        let mut out = HashMap::new();
        for chunk in groups.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT group_id, event_id FROM documents WHERE seq IN (SELECT MIN(seq) FROM documents \
                 WHERE event_id IS NOT NULL AND group_id IN (",
            );
            let mut sep = q.separated(", ");
            for g in chunk {
                sep.push_bind(*g);
            }
            q.push(") GROUP BY group_id)");
            for r in q.build().fetch_all(&self.pool).await? {
                out.insert(r.try_get::<i64, _>(0)?, r.try_get::<i64, _>(1)?);
            }
        }
        Ok(out)
    }

    async fn events_by_id(&self, ids: &[i64]) -> Result<Vec<EventRow>> {
        let mut found: HashMap<i64, EventRow> = HashMap::with_capacity(ids.len());
        for chunk in ids.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {EVENT_COLUMNS} FROM events WHERE id IN ("
            ));
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            for r in q.build().fetch_all(&self.pool).await? {
                let e = row_to_event(&r)?;
                found.insert(e.id, e);
            }
        }
        let mut out: Vec<EventRow> = ids.iter().filter_map(|i| found.remove(i)).collect();
        self.fill_mainstream(&mut out).await?;
        Ok(out)
    }

    async fn events(&self, eq: &EventQuery) -> Result<Vec<EventRow>> {
        let mut q = QueryBuilder::<Sqlite>::new(format!(
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
        let rows = sqlx::query(
            "SELECT seq, id, platform, kind, parent_id, title, text, published_at, author_id, author_name, \
             author_verified, json_extract(author, '$.location'), site, group_id, sentiment, content_type, \
             COALESCE(json_extract(metrics, '$.comments'), 0), COALESCE(json_extract(metrics, '$.views'), 0), \
             COALESCE(json_extract(metrics, '$.reposts'), 0) \
             FROM documents WHERE event_id = ? ORDER BY seq",
        )
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
                    verified: r.try_get::<i64, _>(10)? != 0,
                    location: r.try_get::<Option<String>, _>(11).unwrap_or(None),
                    site: r.try_get(12)?,
                    group_id: r.try_get(13)?,
                    sentiment: r.try_get::<Option<i64>, _>(14)?.map(|v| v as i8),
                    content_type: r.try_get(15)?,
                    comments: r.try_get::<i64, _>(16).unwrap_or(0),
                    views: r.try_get::<i64, _>(17).unwrap_or(0),
                    reposts: r.try_get::<i64, _>(18).unwrap_or(0),
                })
            })
            .collect()
    }

    async fn set_level(&self, event_id: i64, l: &LevelRecord) -> Result<()> {
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let changed = sqlx::query(
            "UPDATE events SET level = ?1, level_rule = ?2, level_reason = ?3, level_reason_en = ?4, level_at = ?5, \
             level_by = ?6, rules_level = CASE WHEN ?6 IS NULL THEN MAX(COALESCE(rules_level, ?1), ?1) \
             ELSE rules_level END WHERE id = ?7 AND (?6 IS NOT NULL OR level IS NULL OR level < ?1)",
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
            "INSERT INTO event_levels (event_id, at, level, rule, reason, reason_en, by) VALUES (?, ?, ?, ?, ?, ?, ?)",
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
        for chunk in events.chunks(LOOKUP_CHUNK) {
            let mut q =
                QueryBuilder::<Sqlite>::new("UPDATE events SET graded_seq = MAX(graded_seq, ");
            q.push_bind(upto).push(") WHERE id IN (");
            let mut sep = q.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            q.push(")");
            q.build().execute(&self.pool).await?;
        }
        Ok(())
    }

    async fn set_rules_level(&self, event_id: i64, level: i64) -> Result<()> {
        sqlx::query(
            "UPDATE events SET rules_level = MAX(COALESCE(rules_level, ?1), ?1) WHERE id = ?2",
        )
        .bind(level)
        .bind(event_id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn level_history(&self, event_id: i64) -> Result<Vec<LevelRecord>> {
        let rows = sqlx::query(
            "SELECT level, rule, reason, reason_en, at, by FROM event_levels WHERE event_id = ? ORDER BY id",
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
        let rows = sqlx::query(
            "SELECT id, name, expression, structured, active, origin, created_at, updated_at, updated_by \
             FROM plans ORDER BY id",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_plan).collect()
    }

    async fn put_plan(&self, p: &NewPlan) -> Result<StoredPlan> {
        let now = Utc::now().timestamp_millis();
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let row = sqlx::query(
            "INSERT INTO plans (name, expression, structured, active, origin, created_at, updated_at, updated_by) \
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?6, ?7) ON CONFLICT (name) DO UPDATE SET expression = ?2, \
             structured = ?3, active = ?4, origin = ?5, updated_at = ?6, updated_by = ?7 \
             RETURNING id, name, expression, structured, active, origin, created_at, updated_at, updated_by",
        )
        .bind(&p.name)
        .bind(&p.expression)
        .bind(p.structured.as_ref().map(|v| v.to_string()))
        .bind(i64::from(p.active))
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let n =
            sqlx::query("UPDATE plans SET active = ?, updated_at = ?, updated_by = ? WHERE id = ?")
                .bind(i64::from(active))
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let n = sqlx::query("DELETE FROM plans WHERE id = ?")
            .bind(id)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        bump(&mut tx, "plans").await?;
        tx.commit().await?;
        Ok(n > 0)
    }

    async fn plans_version(&self) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COALESCE((SELECT value FROM counters WHERE name = 'plans'), 0)")
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    async fn plan_hits_of(&self, seqs: &[i64]) -> Result<HashMap<i64, crate::PlanHits>> {
        let mut out: HashMap<i64, crate::PlanHits> = HashMap::new();
        for chunk in seqs.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT seq, plan_id, terms FROM plan_hits WHERE seq IN (",
            );
            let mut sep = q.separated(", ");
            for s in chunk {
                sep.push_bind(*s);
            }
            q.push(") ORDER BY seq, plan_id");
            for r in q.build().fetch_all(&self.pool).await? {
                let seq: i64 = r.try_get(0)?;
                let terms: String = r.try_get(2)?;
                let terms: Vec<String> =
                    serde_json::from_str(&terms).map_err(|e| StoreError::Corrupt {
                        seq,
                        field: "plan_hits.terms",
                        reason: e.to_string(),
                    })?;
                out.entry(seq).or_default().push((r.try_get(1)?, terms));
            }
        }
        Ok(out)
    }

    async fn plan_hit_count(&self, plan_id: i64) -> Result<i64> {
        Ok(
            sqlx::query("SELECT COUNT(*) FROM plan_hits WHERE plan_id = ?")
                .bind(plan_id)
                .fetch_one(&self.pool)
                .await?
                .try_get(0)?,
        )
    }

    async fn plan_hit_docs(
        &self,
        plan_id: i64,
        before: i64,
        limit: i64,
    ) -> Result<Vec<(StoredDocument, Vec<String>)>> {
        let rows = sqlx::query(
            "SELECT seq, terms FROM plan_hits WHERE plan_id = ? AND seq < ? ORDER BY seq DESC LIMIT ?",
        )
        .bind(plan_id)
        .bind(before)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        let mut terms: HashMap<i64, Vec<String>> = HashMap::new();
        let mut seqs = Vec::with_capacity(rows.len());
        for r in &rows {
            let seq: i64 = r.try_get(0)?;
            let t: String = r.try_get(1)?;
            terms.insert(
                seq,
                serde_json::from_str(&t).map_err(|e| StoreError::Corrupt {
                    seq,
                    field: "plan_hits.terms",
                    reason: e.to_string(),
                })?,
            );
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
             WHERE p.plan_id = ? AND d.published_at >= ? GROUP BY h ORDER BY h",
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
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        let Some(row) =
            sqlx::query("SELECT sentiment, content_type, event_id FROM documents WHERE seq = ?")
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
                    "UPDATE documents SET sentiment = ?, corrected = corrected | 1 WHERE seq = ?",
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
                    sqlx::query("UPDATE events SET negative = negative + ? WHERE id = ?")
                        .bind(delta)
                        .bind(e)
                        .execute(&mut *tx)
                        .await?;
                }
                (old_sentiment.map(|v| v.to_string()), v.to_string())
            }
            Fix::ContentType(v) => {
                sqlx::query(
                    "UPDATE documents SET content_type = ?, corrected = corrected | 2 WHERE seq = ?",
                )
                .bind(v)
                .bind(seq)
                .execute(&mut *tx)
                .await?;
                (old_type.map(|v| v.to_string()), v.to_string())
            }
        };
        let at = Utc::now();
        let id: i64 = sqlx::query(
            "INSERT INTO corrections (seq, field, old_value, new_value, by, at, note) VALUES (?, ?, ?, ?, ?, ?, ?) \
             RETURNING id",
        )
        .bind(seq)
        .bind(fix.field())
        .bind(old.as_deref())
        .bind(&new)
        .bind(by)
        .bind(at.timestamp_millis())
        .bind(note)
        .fetch_one(&mut *tx)
        .await?
        .try_get(0)?;
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
             WHERE c.field = ? ORDER BY c.id",
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

/// An event's title from its first original: the title, or the start of the text.
pub fn event_title(d: &Document) -> Option<String> {
    let t = d
        .title
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(d.text.trim());
    if t.is_empty() {
        return None;
    }
    const MAX: usize = 60;
    let mut out: String = t.chars().take(MAX).collect();
    if t.chars().nth(MAX).is_some() {
        out.push('…');
    }
    Some(out)
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

fn better_first(a: (bool, Option<i64>, i64), b: (bool, Option<i64>, i64)) -> bool {
    // Originals first, then the earliest time (unknown times last), then the lowest seq.
    let key = |x: (bool, Option<i64>, i64)| (!x.0, x.1.is_none(), x.1.unwrap_or(0), x.2);
    key(a) < key(b)
}

/// Plan hits, event rows, root mappings, mainstream sources and event counters of the
/// documents stored by one insert, in its transaction.
async fn write_judgement(
    tx: &mut sqlx::SqliteConnection,
    stored: &[(i64, &NewDocument)],
    now: i64,
) -> Result<()> {
    // Plan hits.
    let hits: Vec<(i64, i64, String)> = stored
        .iter()
        .flat_map(|(seq, n)| {
            n.plan_hits.iter().map(move |(plan, terms)| {
                (
                    *plan,
                    *seq,
                    serde_json::to_string(terms).unwrap_or_else(|_| "[]".into()),
                )
            })
        })
        .collect();
    for chunk in hits.chunks(INSERT_CHUNK) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO plan_hits (plan_id, seq, terms) ");
        q.push_values(chunk, |mut b, (plan, seq, terms)| {
            b.push_bind(*plan).push_bind(*seq).push_bind(terms.as_str());
        });
        q.build().execute(&mut *tx).await?;
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
    for (id, d) in &deltas {
        // The founder creates the row; if it was not stored (a copy in flight), any
        // member does, so a stored document never points to a missing event.
        let (_, _, _, any) = d.first.expect("every delta has a member");
        let f = d.founder.unwrap_or(any);
        let root = f
            .event
            .as_ref()
            .and_then(|l| l.root_key.clone())
            .unwrap_or_else(|| f.id.clone());
        sqlx::query(
            "INSERT OR IGNORE INTO events (id, platform, root_id, created_at, updated_at) VALUES (?, ?, ?, ?, ?)",
        )
        .bind(id)
        .bind(f.doc.platform.as_str())
        .bind(root)
        .bind(now)
        .bind(now)
        .execute(&mut *tx)
        .await?;
        let (orig, at, seq, first) = d.first.expect("every delta has a member");
        let title = event_title(&first.doc);
        // The batch's candidate beats the stored first publisher: originals first, then
        // the earliest known time (SET expressions all see the old row).
        const BEATS: &str = "(first_id IS NULL OR ?17 > first_original OR (?17 = first_original \
             AND ?15 IS NOT NULL AND (first_at IS NULL OR ?15 < first_at)))";
        let sql = format!(
            "UPDATE events SET updated_at = ?2, documents = documents + ?3, originals = originals + ?4, \
             comments = comments + ?5, views = views + ?6, reposts = reposts + ?7, likes = likes + ?8, \
             negative = negative + ?9, last_at = MAX(COALESCE(last_at, ?10), COALESCE(?10, last_at)), \
             critical_category = COALESCE(critical_category, ?11), critical_id = COALESCE(critical_id, ?12), \
             first_id = CASE WHEN {BEATS} THEN ?13 ELSE first_id END, \
             first_seq = CASE WHEN {BEATS} THEN ?14 ELSE first_seq END, \
             first_at = CASE WHEN {BEATS} THEN ?15 ELSE first_at END, \
             title = CASE WHEN {BEATS} THEN ?16 ELSE title END, \
             first_original = CASE WHEN {BEATS} THEN ?17 ELSE first_original END \
             WHERE id = ?1"
        );
        sqlx::query(AssertSqlSafe(sql))
            .bind(id)
            .bind(now)
            .bind(d.documents)
            .bind(d.originals)
            .bind(d.comments)
            .bind(d.views)
            .bind(d.reposts)
            .bind(d.likes)
            .bind(d.negative)
            .bind(d.last_at)
            .bind(d.critical.map(|c| c.0))
            .bind(d.critical.map(|c| c.1))
            .bind(first.id.as_str())
            .bind(seq)
            .bind(at)
            .bind(title)
            .bind(i64::from(orig))
            .execute(&mut *tx)
            .await?;
    }
    for chunk in roots.chunks(INSERT_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO event_roots (platform, root_id, event_id) ",
        );
        q.push_values(chunk, |mut b, (p, r, e)| {
            b.push_bind(*p).push_bind(*r).push_bind(*e);
        });
        q.build().execute(&mut *tx).await?;
    }
    for chunk in mainstream.chunks(INSERT_CHUNK) {
        let mut q =
            QueryBuilder::<Sqlite>::new("INSERT OR IGNORE INTO event_mainstream (event_id, name) ");
        q.push_values(chunk, |mut b, (e, m)| {
            b.push_bind(*e).push_bind(*m);
        });
        q.build().execute(&mut *tx).await?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn index_names(store: &SqliteStore) -> Vec<String> {
        sqlx::query_scalar(
            "SELECT name FROM sqlite_master WHERE type = 'index' AND tbl_name = 'documents' \
             AND name IN ('documents_published', 'documents_event') ORDER BY name",
        )
        .fetch_all(&store.pool)
        .await
        .unwrap()
    }

    #[tokio::test]
    async fn an_empty_store_defers_its_secondary_indexes_and_any_open_builds_them() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("y.db");
        let both = vec![
            "documents_event".to_owned(),
            "documents_published".to_owned(),
        ];
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(index_names(&store).await, both, "made by the migrations");
        assert!(store.defer_indexes_if_empty().await.unwrap());
        assert!(index_names(&store).await.is_empty());
        store
            .insert(
                &[crate::conformance::event_doc(
                    "1",
                    "正文",
                    1_700_000_000_000,
                    1,
                    true,
                )],
                None,
            )
            .await
            .unwrap();
        // Stopped here (no build): the next open builds them.
        store.pool.close().await;
        let store = SqliteStore::open(&path).await.unwrap();
        assert_eq!(index_names(&store).await, both);
        // A store that holds documents keeps them.
        assert!(!store.defer_indexes_if_empty().await.unwrap());
        assert_eq!(index_names(&store).await, both);
        // The definitions are the migrations' own: a fresh store's schema equals one
        // whose indexes were dropped and built again.
        let schema = |store: SqliteStore| async move {
            let sql: Vec<String> = sqlx::query_scalar(
                "SELECT sql FROM sqlite_master WHERE name IN ('documents_published', 'documents_event') ORDER BY name",
            )
            .fetch_all(&store.pool)
            .await
            .unwrap();
            sql
        };
        let fresh = SqliteStore::open(&dir.path().join("f.db")).await.unwrap();
        let rebuilt = SqliteStore::open(&dir.path().join("r.db")).await.unwrap();
        assert!(rebuilt.defer_indexes_if_empty().await.unwrap());
        rebuilt.build_deferred_indexes().await.unwrap();
        let (a, b) = (schema(fresh).await, schema(rebuilt).await);
        assert_eq!(a.len(), 2);
        let strip = |v: Vec<String>| {
            v.iter()
                .map(|s| s.replace(" IF NOT EXISTS", ""))
                .collect::<Vec<_>>()
        };
        assert_eq!(strip(a), strip(b));
    }

    /// An adoption during a first import (indexes deferred) builds the index by event
    /// before it moves the adopted event's documents, instead of reading the whole table
    /// for each adoption; the adoption itself is the conformance case's.
    #[tokio::test]
    async fn an_adoption_during_a_first_import_builds_the_event_index() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("y.db")).await.unwrap();
        assert!(store.defer_indexes_if_empty().await.unwrap());
        crate::conformance::replies_before_their_parent_are_adopted(store.clone()).await;
        assert_eq!(
            index_names(&store).await,
            vec!["documents_event".to_owned()]
        );
    }

    /// A transaction that SQLite ended by itself (as a `COMMIT` failing on a full disk
    /// does) must not leave its connection in the pool, or every later write transaction
    /// on it fails with "attempted to call begin_with at non-zero transaction depth".
    #[tokio::test]
    async fn a_transaction_ended_under_sqlx_does_not_poison_the_pool() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(&dir.path().join("y.db")).await.unwrap();
        for round in 0..3 {
            let mut tx = store.pool.begin_with("BEGIN IMMEDIATE").await.unwrap();
            sqlx::query("INSERT INTO counters(name, value) VALUES (?, 1)")
                .bind(format!("k{round}"))
                .execute(&mut *tx)
                .await
                .unwrap();
            // SQLite ends the transaction; sqlx still counts one level.
            sqlx::raw_sql("ROLLBACK").execute(&mut *tx).await.unwrap();
            drop(tx);
            // Every connection the pool hands out afterwards can begin a write.
            for _ in 0..6 {
                let mut tx = store
                    .pool
                    .begin_with("BEGIN IMMEDIATE")
                    .await
                    .unwrap_or_else(|e| panic!("round {round}: {e}"));
                sqlx::query("SELECT 1").execute(&mut *tx).await.unwrap();
                tx.commit().await.unwrap();
            }
        }
    }
}
