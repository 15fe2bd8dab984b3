//! Events with several writers (PostgreSQL): ids from sequences, root/key/group claims and
//! merges of an adopted reply's event (see `crate::shared`). Everything here runs in the
//! insert's transaction under `DOCUMENTS_LOCK`, except the standalone allocations and
//! [`Store::claim_event_roots`](crate::Store::claim_event_roots).

use super::{DOCUMENTS_LOCK, PgStore, advisory_lock};
use crate::Result;
use crate::shared::{Known, Merge, Settled, Wanted};
use sqlx::{PgConnection, Row};
use std::collections::HashMap;

impl PgStore {
    pub(super) async fn next_ids(&self, sequence: &'static str, n: usize) -> Result<Vec<i64>> {
        if n == 0 {
            return Ok(Vec::new());
        }
        let sql = match sequence {
            "event_ids" => "SELECT nextval('event_ids') FROM generate_series(1, $1)",
            _ => "SELECT nextval('group_ids') FROM generate_series(1, $1)",
        };
        let mut ids: Vec<i64> = sqlx::query_scalar(sql)
            .bind(n as i64)
            .fetch_all(self.pool())
            .await?;
        ids.sort_unstable();
        Ok(ids)
    }

    pub(super) async fn claim_roots(
        &self,
        platform: &str,
        claims: &[(&str, i64)],
    ) -> Result<HashMap<String, i64>> {
        if claims.is_empty() {
            return Ok(HashMap::new());
        }
        // Under the insert lock, so an insert settling these roots sees the claim whole.
        let mut tx = self.pool().begin().await?;
        advisory_lock(&mut tx, DOCUMENTS_LOCK).await?;
        let roots: Vec<&str> = claims.iter().map(|c| c.0).collect();
        sqlx::query(
            "INSERT INTO event_roots (platform, root_id, event_id) \
             SELECT $1, r, e FROM UNNEST($2::text[], $3::int8[]) AS v(r, e) ON CONFLICT DO NOTHING",
        )
        .bind(platform)
        .bind(&roots)
        .bind(claims.iter().map(|c| c.1).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
        let mut out = HashMap::new();
        for r in sqlx::query(
            "SELECT root_id, event_id FROM event_roots WHERE platform = $1 AND root_id = ANY($2)",
        )
        .bind(platform)
        .bind(&roots)
        .fetch_all(&mut *tx)
        .await?
        {
            out.insert(r.try_get(0)?, r.try_get(1)?);
        }
        tx.commit().await?;
        Ok(out)
    }
}

/// What the store knows about the keys of a batch.
pub(super) async fn lookup(tx: &mut PgConnection, w: &Wanted) -> Result<Known> {
    let mut k = Known::default();
    for r in sqlx::query(
        "SELECT r.platform, r.root_id, r.event_id FROM event_roots r \
         JOIN UNNEST($1::text[], $2::text[]) AS b(platform, root_id) \
         ON r.platform = b.platform AND r.root_id = b.root_id",
    )
    .bind(&w.root_platforms)
    .bind(&w.roots)
    .fetch_all(&mut *tx)
    .await?
    {
        k.roots
            .insert((r.try_get(0)?, r.try_get(1)?), r.try_get(2)?);
    }
    let (mut platforms, mut ids) = (Vec::new(), Vec::new());
    for (p, r) in w.root_platforms.iter().zip(&w.roots) {
        if !k.roots.contains_key(&(p.clone(), r.clone())) {
            platforms.push(p.as_str());
            ids.push(r.as_str());
        }
    }
    if !ids.is_empty() {
        for r in sqlx::query(
            "SELECT d.platform, d.id, d.root_id, d.event_id FROM document_ids i \
             JOIN UNNEST($1::text[], $2::text[]) AS b(platform, id) ON i.platform = b.platform AND i.id = b.id \
             JOIN documents d ON d.seq = i.seq AND d.ingested_at = i.ingested_at",
        )
        .bind(&platforms)
        .bind(&ids)
        .fetch_all(&mut *tx)
        .await?
        {
            k.docs.insert(
                (r.try_get(0)?, r.try_get(1)?),
                (r.try_get(2)?, r.try_get(3)?),
            );
        }
    }
    if !w.keys.is_empty() {
        for r in
            sqlx::query("SELECT content_key, group_id FROM group_keys WHERE content_key = ANY($1)")
                .bind(&w.keys)
                .fetch_all(&mut *tx)
                .await?
        {
            k.keys.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    // The groups of claimed keys too: a document joins them.
    let mut groups = w.groups.clone();
    groups.extend(k.keys.values());
    if !groups.is_empty() {
        for r in sqlx::query("SELECT group_id, event_id FROM event_groups WHERE group_id = ANY($1)")
            .bind(&groups)
            .fetch_all(&mut *tx)
            .await?
        {
            k.groups.insert(r.try_get(0)?, r.try_get(1)?);
        }
    }
    for r in sqlx::query(
        "SELECT id, merged_into FROM events WHERE id = ANY($1) AND merged_into IS NOT NULL",
    )
    .bind(k.events(w))
    .fetch_all(&mut *tx)
    .await?
    {
        k.merged.insert(r.try_get(0)?, r.try_get(1)?);
    }
    Ok(k)
}

/// Writes the claims a settled batch made (before its documents).
pub(super) async fn write_claims(tx: &mut PgConnection, s: &Settled) -> Result<()> {
    if !s.roots.is_empty() {
        sqlx::query(
            "INSERT INTO event_roots (platform, root_id, event_id) \
             SELECT * FROM UNNEST($1::text[], $2::text[], $3::int8[]) ON CONFLICT DO NOTHING",
        )
        .bind(s.roots.iter().map(|r| r.0.as_str()).collect::<Vec<_>>())
        .bind(s.roots.iter().map(|r| r.1.as_str()).collect::<Vec<_>>())
        .bind(s.roots.iter().map(|r| r.2).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !s.keys.is_empty() {
        sqlx::query(
            "INSERT INTO group_keys (content_key, group_id) \
             SELECT * FROM UNNEST($1::int8[], $2::int8[]) ON CONFLICT DO NOTHING",
        )
        .bind(s.keys.iter().map(|k| k.0).collect::<Vec<_>>())
        .bind(s.keys.iter().map(|k| k.1).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    if !s.groups.is_empty() {
        sqlx::query(
            "INSERT INTO event_groups (group_id, event_id) \
             SELECT * FROM UNNEST($1::int8[], $2::int8[]) ON CONFLICT DO NOTHING",
        )
        .bind(s.groups.iter().map(|g| g.0).collect::<Vec<_>>())
        .bind(s.groups.iter().map(|g| g.1).collect::<Vec<_>>())
        .execute(&mut *tx)
        .await?;
    }
    Ok(())
}

/// Merges event `m.from` into `m.into` (after the batch's documents and counters are
/// written, so `m.into` exists): members, claims, mainstream sources and counters move;
/// `m.from` is left empty with `merged_into` set.
pub(super) async fn merge(tx: &mut PgConnection, m: &Merge, now: i64) -> Result<()> {
    for sql in [
        "UPDATE event_roots SET event_id = $2 WHERE event_id = $1",
        "UPDATE event_groups SET event_id = $2 WHERE event_id = $1",
        "UPDATE events SET merged_into = $2 WHERE merged_into = $1",
        "INSERT INTO event_mainstream (event_id, name) \
         SELECT $2, name FROM event_mainstream WHERE event_id = $1 ON CONFLICT DO NOTHING",
    ] {
        sqlx::query(sql)
            .bind(m.from)
            .bind(m.into)
            .execute(&mut *tx)
            .await?;
    }
    // An event founded in this very batch and settled into another was never created:
    // no document is in it.
    let exists: Option<i64> = sqlx::query_scalar("SELECT id FROM events WHERE id = $1")
        .bind(m.from)
        .fetch_optional(&mut *tx)
        .await?;
    if exists.is_none() {
        return Ok(());
    }
    sqlx::query(
        "UPDATE documents SET event_id = $2, \
         root_id = CASE WHEN platform = $3 AND root_id = $4 THEN $5 ELSE root_id END \
         WHERE event_id = $1",
    )
    .bind(m.from)
    .bind(m.into)
    .bind(&m.platform)
    .bind(&m.old_root)
    .bind(&m.new_root)
    .execute(&mut *tx)
    .await?;
    const BEATS: &str = "(e.first_id IS NULL OR (o.first_id IS NOT NULL AND \
         (o.first_original > e.first_original OR (o.first_original = e.first_original \
         AND o.first_at IS NOT NULL AND (e.first_at IS NULL OR o.first_at < e.first_at)))))";
    let sql = format!(
        "UPDATE events AS e SET updated_at = $3, documents = e.documents + o.documents, \
         originals = e.originals + o.originals, comments = e.comments + o.comments, \
         views = e.views + o.views, reposts = e.reposts + o.reposts, likes = e.likes + o.likes, \
         negative = e.negative + o.negative, last_at = GREATEST(e.last_at, o.last_at), \
         critical_category = COALESCE(e.critical_category, o.critical_category), \
         critical_id = COALESCE(e.critical_id, o.critical_id), \
         first_id = CASE WHEN {BEATS} THEN o.first_id ELSE e.first_id END, \
         first_seq = CASE WHEN {BEATS} THEN o.first_seq ELSE e.first_seq END, \
         first_at = CASE WHEN {BEATS} THEN o.first_at ELSE e.first_at END, \
         title = CASE WHEN {BEATS} THEN o.title ELSE e.title END, \
         first_original = CASE WHEN {BEATS} THEN o.first_original ELSE e.first_original END \
         FROM events AS o WHERE e.id = $2 AND o.id = $1"
    );
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(m.from)
        .bind(m.into)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE events SET documents = 0, originals = 0, comments = 0, views = 0, reposts = 0, \
         likes = 0, negative = 0, merged_into = $2, updated_at = $3 WHERE id = $1",
    )
    .bind(m.from)
    .bind(m.into)
    .bind(now)
    .execute(&mut *tx)
    .await?;
    tracing::info!(from = m.from, into = m.into, root = %m.old_root, "event merged");
    Ok(())
}
