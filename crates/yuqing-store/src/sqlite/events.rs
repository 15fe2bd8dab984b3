//! Event and group ids, and settling a batch for a writer among several (`crate::shared`),
//! on SQLite. A data directory has one writer, so ids are counted in memory after the
//! highest in use; settling runs inside the insert's `BEGIN IMMEDIATE` transaction.

use super::{LOOKUP_CHUNK, SqliteStore};
use crate::Result;
use crate::shared::{Known, Merge, Settled, Wanted};
use sqlx::{QueryBuilder, Row, Sqlite, SqliteConnection};
use std::collections::HashMap;

/// The next event and group ids to give out.
#[derive(Debug, Clone, Copy)]
pub(crate) struct NextIds {
    event: i64,
    group: i64,
}

impl SqliteStore {
    pub(super) async fn next_ids(&self, events: bool, n: usize) -> Result<Vec<i64>> {
        let mut ids = self.ids.lock().await;
        let next = match *ids {
            Some(next) => next,
            None => {
                let r = sqlx::query(
                    "SELECT MAX(COALESCE((SELECT MAX(id) FROM events), 0), \
                     COALESCE((SELECT MAX(event_id) FROM event_roots), 0)), \
                     COALESCE((SELECT MAX(group_id) FROM documents), 0)",
                )
                .fetch_one(&self.pool)
                .await?;
                NextIds {
                    event: r.try_get::<i64, _>(0)? + 1,
                    group: r.try_get::<i64, _>(1)? + 1,
                }
            }
        };
        let (slot, mut updated) = (if events { next.event } else { next.group }, next);
        let out: Vec<i64> = (slot..slot + n as i64).collect();
        if events {
            updated.event += n as i64;
        } else {
            updated.group += n as i64;
        }
        *ids = Some(updated);
        Ok(out)
    }

    pub(super) async fn claim_roots(
        &self,
        platform: &str,
        claims: &[(&str, i64)],
    ) -> Result<HashMap<String, i64>> {
        let mut out = HashMap::new();
        if claims.is_empty() {
            return Ok(out);
        }
        let mut tx = self.pool.begin_with("BEGIN IMMEDIATE").await?;
        for chunk in claims.chunks(LOOKUP_CHUNK / 3) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "INSERT OR IGNORE INTO event_roots (platform, root_id, event_id) ",
            );
            q.push_values(chunk, |mut b, (r, e)| {
                b.push_bind(platform).push_bind(*r).push_bind(*e);
            });
            q.build().execute(&mut *tx).await?;
        }
        let roots: Vec<&str> = claims.iter().map(|c| c.0).collect();
        for (r, e) in roots_of(&mut tx, platform, &roots).await? {
            out.insert(r, e);
        }
        tx.commit().await?;
        Ok(out)
    }
}

async fn roots_of(
    tx: &mut SqliteConnection,
    platform: &str,
    roots: &[&str],
) -> Result<Vec<(String, i64)>> {
    let mut out = Vec::new();
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
        for r in q.build().fetch_all(&mut *tx).await? {
            out.push((r.try_get(0)?, r.try_get(1)?));
        }
    }
    Ok(out)
}

/// `SELECT <cols> FROM <table> WHERE <key> IN (ids)`, by chunks: (key, value) pairs.
async fn pairs(
    tx: &mut SqliteConnection,
    sql: &'static str,
    ids: &[i64],
) -> Result<Vec<(i64, i64)>> {
    let mut out = Vec::new();
    for chunk in ids.chunks(LOOKUP_CHUNK) {
        let mut q = QueryBuilder::<Sqlite>::new(sql);
        q.push(" IN (");
        let mut sep = q.separated(", ");
        for id in chunk {
            sep.push_bind(*id);
        }
        q.push(")");
        for r in q.build().fetch_all(&mut *tx).await? {
            out.push((r.try_get(0)?, r.try_get(1)?));
        }
    }
    Ok(out)
}

/// What the store knows about the keys of a batch.
pub(super) async fn lookup(tx: &mut SqliteConnection, w: &Wanted) -> Result<Known> {
    let mut k = Known::default();
    let mut by_platform: HashMap<&str, Vec<&str>> = HashMap::new();
    for (p, r) in w.root_platforms.iter().zip(&w.roots) {
        by_platform.entry(p.as_str()).or_default().push(r.as_str());
    }
    for (p, roots) in &by_platform {
        for (r, e) in roots_of(tx, p, roots).await? {
            k.roots.insert(((*p).to_owned(), r), e);
        }
        let missing: Vec<&str> = roots
            .iter()
            .copied()
            .filter(|r| !k.roots.contains_key(&((*p).to_owned(), (*r).to_owned())))
            .collect();
        for chunk in missing.chunks(LOOKUP_CHUNK) {
            let mut q = QueryBuilder::<Sqlite>::new(
                "SELECT id, root_id, event_id FROM documents WHERE platform = ",
            );
            q.push_bind(*p).push(" AND id IN (");
            let mut sep = q.separated(", ");
            for r in chunk {
                sep.push_bind(*r);
            }
            q.push(")");
            for r in q.build().fetch_all(&mut *tx).await? {
                k.docs.insert(
                    ((*p).to_owned(), r.try_get(0)?),
                    (r.try_get(1)?, r.try_get(2)?),
                );
            }
        }
    }
    k.keys.extend(
        pairs(
            tx,
            "SELECT content_key, group_id FROM group_keys WHERE content_key",
            &w.keys,
        )
        .await?,
    );
    // The groups of claimed keys too: a document joins them.
    let mut groups = w.groups.clone();
    groups.extend(k.keys.values());
    groups.sort_unstable();
    groups.dedup();
    k.groups.extend(
        pairs(
            tx,
            "SELECT group_id, event_id FROM event_groups WHERE group_id",
            &groups,
        )
        .await?,
    );
    let events = k.events(w);
    k.merged.extend(
        pairs(
            tx,
            "SELECT id, merged_into FROM events WHERE merged_into IS NOT NULL AND id",
            &events,
        )
        .await?,
    );
    Ok(k)
}

/// Writes the claims a settled batch made (before its documents).
pub(super) async fn write_claims(tx: &mut SqliteConnection, s: &Settled) -> Result<()> {
    for chunk in s.roots.chunks(LOOKUP_CHUNK / 3) {
        let mut q = QueryBuilder::<Sqlite>::new(
            "INSERT OR IGNORE INTO event_roots (platform, root_id, event_id) ",
        );
        q.push_values(chunk, |mut b, (p, r, e)| {
            b.push_bind(p.as_str()).push_bind(r.as_str()).push_bind(*e);
        });
        q.build().execute(&mut *tx).await?;
    }
    for (table, rows) in [
        (
            "INSERT OR IGNORE INTO group_keys (content_key, group_id) ",
            &s.keys,
        ),
        (
            "INSERT OR IGNORE INTO event_groups (group_id, event_id) ",
            &s.groups,
        ),
    ] {
        for chunk in rows.chunks(LOOKUP_CHUNK / 2) {
            let mut q = QueryBuilder::<Sqlite>::new(table);
            q.push_values(chunk, |mut b, (k, v)| {
                b.push_bind(*k).push_bind(*v);
            });
            q.build().execute(&mut *tx).await?;
        }
    }
    Ok(())
}

/// Merges event `m.from` into `m.into`, as `postgres/events.rs` does.
pub(super) async fn merge(tx: &mut SqliteConnection, m: &Merge, now: i64) -> Result<()> {
    for sql in [
        "UPDATE event_roots SET event_id = ?2 WHERE event_id = ?1",
        "UPDATE event_groups SET event_id = ?2 WHERE event_id = ?1",
        "UPDATE events SET merged_into = ?2 WHERE merged_into = ?1",
        "INSERT OR IGNORE INTO event_mainstream (event_id, name) \
         SELECT ?2, name FROM event_mainstream WHERE event_id = ?1",
    ] {
        sqlx::query(sql)
            .bind(m.from)
            .bind(m.into)
            .execute(&mut *tx)
            .await?;
    }
    // An event founded in this very batch and settled into another was never created:
    // no document is in it (and during a first import `documents.event_id` has no index
    // yet, so the update below would read the whole table).
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM events WHERE id = ?1")
        .bind(m.from)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    // During a first import `documents.event_id` has no index yet
    // (`SqliteStore::defer_indexes_if_empty`): build it now, once, rather than read the
    // whole table for this and every later adoption of the import. A no-op when it exists.
    sqlx::query(super::DOCUMENTS_EVENT_INDEX)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE documents SET event_id = ?2, \
         root_id = CASE WHEN platform = ?3 AND root_id = ?4 THEN ?5 ELSE root_id END \
         WHERE event_id = ?1",
    )
    .bind(m.from)
    .bind(m.into)
    .bind(&m.platform)
    .bind(&m.old_root)
    .bind(&m.new_root)
    .execute(&mut *tx)
    .await?;
    const BEATS: &str = "(events.first_id IS NULL OR (o.first_id IS NOT NULL AND \
         (o.first_original > events.first_original OR (o.first_original = events.first_original \
         AND o.first_at IS NOT NULL AND (events.first_at IS NULL OR o.first_at < events.first_at)))))";
    let sql = format!(
        "UPDATE events SET updated_at = ?3, documents = events.documents + o.documents, \
         originals = events.originals + o.originals, comments = events.comments + o.comments, \
         views = events.views + o.views, reposts = events.reposts + o.reposts, \
         likes = events.likes + o.likes, negative = events.negative + o.negative, \
         last_at = MAX(COALESCE(events.last_at, o.last_at), COALESCE(o.last_at, events.last_at)), \
         critical_category = COALESCE(events.critical_category, o.critical_category), \
         critical_id = COALESCE(events.critical_id, o.critical_id), \
         first_id = CASE WHEN {BEATS} THEN o.first_id ELSE events.first_id END, \
         first_seq = CASE WHEN {BEATS} THEN o.first_seq ELSE events.first_seq END, \
         first_at = CASE WHEN {BEATS} THEN o.first_at ELSE events.first_at END, \
         title = CASE WHEN {BEATS} THEN o.title ELSE events.title END, \
         first_original = CASE WHEN {BEATS} THEN o.first_original ELSE events.first_original END \
         FROM (SELECT * FROM events WHERE id = ?1) AS o WHERE events.id = ?2"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.from)
        .bind(m.into)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE events SET documents = 0, originals = 0, comments = 0, views = 0, reposts = 0, \
         likes = 0, negative = 0, merged_into = ?2, updated_at = ?3 WHERE id = ?1",
    )
    .bind(m.from)
    .bind(m.into)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tracing::info!(from = m.from, into = m.into, root = %m.old_root, "event merged");
    Ok(())
}
