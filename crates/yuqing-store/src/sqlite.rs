//! The embedded SQLite store (WAL), the default backend.
//!
//! Writes are batched: [`SqliteStore::insert`] uses multi-row `INSERT … ON CONFLICT DO
//! NOTHING RETURNING` statements inside one transaction, so a batch of a thousand
//! documents costs a handful of statements. Migrations are embedded in the binary.

use crate::{
    Checkpoint, DeadLetter, Fingerprint, GroupStats, Inserted, NewDocument, PollOutcome, Result,
    SourceHealth, Store, StoreError, StoredDeadLetter,
};
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use serde_json::{Map, Value};
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{AssertSqlSafe, QueryBuilder, Row, Sqlite};
use std::collections::{HashMap, HashSet};
use std::path::Path;
use std::time::Duration;
use yuqing_core::{Author, Document, Kind, Metrics, StoredDocument};

/// Rows per multi-row INSERT (23 columns each; SQLite allows 32,766 parameters).
const INSERT_CHUNK: usize = 500;
/// Ids per `IN (…)` lookup.
const LOOKUP_CHUNK: usize = 900;

fn migrator() -> Migrator {
    Migrator::with_migrations(vec![Migration::new(
        1,
        "documents".into(),
        MigrationType::Simple,
        sqlx::SqlSafeStr::into_sql_str(include_str!("../migrations/sqlite/0001_documents.sql")),
        false,
    )])
}

/// The SQLite store.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

const DOC_COLUMNS: &str = "seq, platform, id, kind, url, url_canonical, title, text, published_at, published_off, \
     ingested_at, author, metrics, parent_id, root_id, source, extra, rest, group_id";

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
        Ok(Self { pool })
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
        Ok(Self { pool })
    }

    async fn connect(opts: SqliteConnectOptions) -> Result<Self> {
        let pool = SqlitePoolOptions::new()
            .max_connections(4)
            .connect_with(opts)
            .await?;
        migrator().run(&pool).await?;
        Ok(Self { pool })
    }

    /// The underlying pool (for maintenance commands such as backup).
    pub fn pool(&self) -> &SqlitePool {
        &self.pool
    }
}

fn ms_to_utc(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(ms).single().unwrap_or_default()
}

fn json_obj(seq: i64, field: &'static str, s: Option<String>) -> Result<Map<String, Value>> {
    match s {
        None => Ok(Map::new()),
        Some(s) => match serde_json::from_str::<Value>(&s) {
            Ok(Value::Object(m)) => Ok(m),
            Ok(_) => Ok(Map::new()),
            Err(e) => Err(StoreError::Corrupt {
                seq,
                field,
                reason: e.to_string(),
            }),
        },
    }
}

fn row_to_doc(r: &SqliteRow) -> Result<StoredDocument> {
    let seq: i64 = r.try_get("seq")?;
    let published_at = match (
        r.try_get::<Option<i64>, _>("published_at")?,
        r.try_get::<Option<i64>, _>("published_off")?,
    ) {
        (Some(ms), off) => {
            let off = FixedOffset::east_opt(off.unwrap_or(0) as i32)
                .unwrap_or_else(|| FixedOffset::east_opt(0).expect("utc"));
            Some(ms_to_utc(ms).with_timezone(&off))
        }
        _ => None,
    };
    let author: Option<String> = r.try_get("author")?;
    let author = match author {
        None => None,
        Some(s) => Some(
            serde_json::from_str::<Author>(&s).map_err(|e| StoreError::Corrupt {
                seq,
                field: "author",
                reason: e.to_string(),
            })?,
        ),
    };
    let metrics: Option<String> = r.try_get("metrics")?;
    let metrics = match metrics {
        None => None,
        Some(s) => Some(
            serde_json::from_str::<Metrics>(&s).map_err(|e| StoreError::Corrupt {
                seq,
                field: "metrics",
                reason: e.to_string(),
            })?,
        ),
    };
    let id: String = r.try_get("id")?;
    let url: Option<String> = r.try_get("url")?;
    let doc = Document {
        // Ids derived from a URL are not the document's own id.
        id: if url.is_some() && id.starts_with("url:") {
            None
        } else {
            Some(id)
        },
        platform: r.try_get("platform")?,
        kind: Kind::parse(r.try_get::<&str, _>("kind")?),
        url,
        title: r.try_get("title")?,
        text: r.try_get("text")?,
        published_at,
        author,
        metrics,
        parent_id: r.try_get("parent_id")?,
        root_id: r.try_get("root_id")?,
        source: r.try_get("source")?,
        extra: json_obj(seq, "extra", r.try_get("extra")?)?,
        rest: json_obj(seq, "rest", r.try_get("rest")?)?,
    };
    Ok(StoredDocument {
        seq,
        doc,
        url_canonical: r.try_get("url_canonical")?,
        ingested_at: ms_to_utc(r.try_get("ingested_at")?),
        group_id: r.try_get("group_id")?,
    })
}

fn to_json(v: &impl serde::Serialize) -> Option<String> {
    serde_json::to_string(v).ok()
}

fn nonempty_json(m: &Map<String, Value>) -> Option<String> {
    if m.is_empty() {
        None
    } else {
        serde_json::to_string(m).ok()
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
        let mut tx = self.pool.begin().await?;
        let mut inserted = Vec::with_capacity(docs.len());
        let mut stored_all;
        // Highest seq before this transaction: rows above it are ours.
        let mut before: i64 = sqlx::query("SELECT COALESCE(MAX(seq), 0) FROM documents")
            .fetch_one(&mut *tx)
            .await?
            .try_get(0)?;
        let mut per_source: HashMap<&str, (i64, Option<i64>)> = HashMap::new();
        for chunk in docs.chunks(INSERT_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT INTO documents (platform, id, kind, url, url_canonical, site, title, text, published_at, \
                 published_off, ingested_at, author_id, author_name, author_verified, author, metrics, parent_id, \
                 root_id, source, extra, rest, content_key, simhash, group_id, group_joined) ",
            );
            q.push_values(chunk, |mut b, n| {
                let d = &n.doc;
                let author = d.author.as_ref();
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
                    .push_bind(author.and_then(to_json))
                    .push_bind(d.metrics.as_ref().and_then(to_json))
                    .push_bind(d.parent_id.as_deref())
                    .push_bind(d.root_id.as_deref())
                    .push_bind(d.source.as_deref())
                    .push_bind(nonempty_json(&d.extra))
                    .push_bind(nonempty_json(&d.rest))
                    .push_bind(n.content_key)
                    .push_bind(n.simhash)
                    .push_bind(n.group_id)
                    .push_bind(i64::from(n.group_joined));
            });
            q.push(" ON CONFLICT DO NOTHING");
            let res = q.build().execute(&mut *tx).await?;
            let mut stored: HashSet<(String, String)> = HashSet::new();
            if res.rows_affected() as usize == chunk.len() {
                // No conflict: inside our write transaction the rows got consecutive rowids,
                // the last one being last_insert_rowid (no round trip per row).
                let first = res.last_insert_rowid() - chunk.len() as i64 + 1;
                for (k, n) in chunk.iter().enumerate() {
                    inserted.push(Inserted {
                        seq: first + k as i64,
                        platform: n.doc.platform.clone(),
                        id: n.id.clone(),
                    });
                }
                stored_all = true;
            } else {
                // Some rows conflicted: ask which of this chunk are ours (seq > before).
                stored_all = false;
                let mut sel = QueryBuilder::<Sqlite>::new(
                    "SELECT seq, platform, id FROM documents WHERE seq > ",
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
                    };
                    stored.insert((ins.platform.clone(), ins.id.clone()));
                    inserted.push(ins);
                }
            }
            before = inserted.last().map_or(before, |i| i.seq.max(before));
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
        let mut tx = self.pool.begin().await?;
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
}
