//! Statistics over a publication-time range for the dashboard (总览), and the search
//! filters the full-text index does not hold (sentiment, event level, plan, region), on
//! PostgreSQL: the same queries as `sqlite/stats.rs`, over the index `documents_published
//! (published_at, sentiment, platform)` of every partition (a publication-time range
//! cannot prune partitions of ingestion time, so each month's index is scanned).

use super::PgStore;
use crate::{DocFilter, PlanPeriod, Result, SentimentCounts};
use sqlx::{Postgres, QueryBuilder, Row};
use std::collections::{BTreeMap, HashMap};

const HOUR_MS: i64 = 3_600_000;
/// Seqs per `= ANY(…)` lookup.
const LOOKUP_CHUNK: usize = 10_000;

impl PgStore {
    pub(super) async fn stats_volume_by_hour(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<(i64, u64)>> {
        // Integer division truncates toward zero: floor by hand for times before 1970.
        let rows = sqlx::query(
            "SELECT (published_at - ((published_at % $1) + $1) % $1) / $1 AS h, COUNT(*) \
             FROM documents \
             WHERE published_at >= $2 AND published_at < $3 GROUP BY h ORDER BY h",
        )
        .bind(HOUR_MS)
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    pub(super) async fn stats_sentiment_counts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<SentimentCounts> {
        let rows = sqlx::query(
            "SELECT sentiment, COUNT(*) FROM documents \
             WHERE published_at >= $1 AND published_at < $2 GROUP BY sentiment",
        )
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut c = SentimentCounts::default();
        for r in &rows {
            let n = r.try_get::<i64, _>(1)? as u64;
            match r.try_get::<Option<i64>, _>(0)? {
                Some(1) => c.positive += n,
                Some(0) => c.neutral += n,
                Some(-1) => c.negative += n,
                _ => c.unjudged += n,
            }
        }
        Ok(c)
    }

    pub(super) async fn stats_platform_counts(
        &self,
        since_ms: i64,
        until_ms: i64,
    ) -> Result<Vec<(String, u64)>> {
        let rows = sqlx::query(
            "SELECT platform, COUNT(*) AS n FROM documents \
             WHERE published_at >= $1 AND published_at < $2 GROUP BY platform \
             ORDER BY n DESC, platform",
        )
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| Ok((r.try_get(0)?, r.try_get::<i64, _>(1)? as u64)))
            .collect()
    }

    pub(super) async fn stats_recent_texts(
        &self,
        since_ms: i64,
        until_ms: i64,
        limit: i64,
    ) -> Result<Vec<String>> {
        let rows = sqlx::query(
            "SELECT CASE WHEN title IS NULL OR title = '' THEN text ELSE title || ' ' || text END \
             FROM documents \
             WHERE published_at >= $1 AND published_at < $2 ORDER BY published_at DESC LIMIT $3",
        )
        .bind(since_ms)
        .bind(until_ms)
        .bind(limit.max(0))
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok(r.try_get(0)?)).collect()
    }

    /// One pass over the plan's hits in the period (`plan_hits` by its primary key, each
    /// document by its seq), aggregated here.
    pub(super) async fn stats_plan_period(
        &self,
        plan_id: i64,
        since_ms: i64,
        until_ms: i64,
        texts: i64,
    ) -> Result<PlanPeriod> {
        let rows = sqlx::query(
            "SELECT d.published_at, d.sentiment, d.platform, d.event_id \
             FROM plan_hits h JOIN documents d ON d.seq = h.seq \
             WHERE h.plan_id = $1 AND d.published_at >= $2 AND d.published_at < $3",
        )
        .bind(plan_id)
        .bind(since_ms)
        .bind(until_ms)
        .fetch_all(&self.pool)
        .await?;
        let mut hours: BTreeMap<i64, u64> = BTreeMap::new();
        let mut platforms: HashMap<String, u64> = HashMap::new();
        let mut events: HashMap<i64, u64> = HashMap::new();
        let mut c = SentimentCounts::default();
        for r in &rows {
            let t: i64 = r.try_get(0)?;
            *hours.entry(t.div_euclid(HOUR_MS)).or_default() += 1;
            match r.try_get::<Option<i64>, _>(1)? {
                Some(1) => c.positive += 1,
                Some(0) => c.neutral += 1,
                Some(-1) => c.negative += 1,
                _ => c.unjudged += 1,
            }
            *platforms.entry(r.try_get(2)?).or_default() += 1;
            if let Some(e) = r.try_get::<Option<i64>, _>(3)? {
                *events.entry(e).or_default() += 1;
            }
        }
        let mut platforms: Vec<(String, u64)> = platforms.into_iter().collect();
        platforms.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
        let mut events: Vec<(i64, u64)> = events.into_iter().collect();
        events.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let text_rows = sqlx::query(
            "SELECT CASE WHEN d.title IS NULL OR d.title = '' THEN d.text ELSE d.title || ' ' || d.text END \
             FROM plan_hits h JOIN documents d ON d.seq = h.seq \
             WHERE h.plan_id = $1 AND d.published_at >= $2 AND d.published_at < $3 \
             ORDER BY d.published_at DESC LIMIT $4",
        )
        .bind(plan_id)
        .bind(since_ms)
        .bind(until_ms)
        .bind(texts.max(0))
        .fetch_all(&self.pool)
        .await?;
        Ok(PlanPeriod {
            hours: hours.into_iter().collect(),
            sentiment: c,
            platforms,
            texts: text_rows
                .iter()
                .map(|r| r.try_get(0))
                .collect::<std::result::Result<_, _>>()?,
            events,
        })
    }

    pub(super) async fn stats_latest_published(&self) -> Result<Option<i64>> {
        Ok(sqlx::query("SELECT MAX(published_at) FROM documents")
            .fetch_one(&self.pool)
            .await?
            .try_get(0)?)
    }

    pub(super) async fn stats_filter_seqs(
        &self,
        seqs: &[i64],
        f: &DocFilter,
    ) -> Result<Vec<(i64, Option<i64>)>> {
        let mut sorted = seqs.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        let region = f.region.as_deref().map(str::trim).filter(|r| !r.is_empty());
        let mut out = Vec::new();
        for chunk in sorted.chunks(LOOKUP_CHUNK) {
            let mut q =
                QueryBuilder::<Postgres>::new("SELECT d.seq, d.published_at FROM documents d");
            if f.min_level.is_some() {
                q.push(" JOIN events e ON e.id = d.event_id");
            }
            q.push(" WHERE d.seq = ANY(")
                .push_bind(chunk.to_vec())
                .push(")");
            if !f.sentiments.is_empty() {
                q.push(" AND d.sentiment = ANY(")
                    .push_bind(
                        f.sentiments
                            .iter()
                            .map(|s| i64::from(*s))
                            .collect::<Vec<_>>(),
                    )
                    .push(")");
            }
            if let Some(l) = f.min_level {
                q.push(" AND e.level >= ").push_bind(l);
            }
            if let Some(p) = f.plan_id {
                q.push(" AND EXISTS (SELECT 1 FROM plan_hits h WHERE h.plan_id = ")
                    .push_bind(p)
                    .push(" AND h.seq = d.seq)");
            }
            if let Some(r) = region {
                // A prefix, compared literally (no LIKE wildcards from the user).
                q.push(" AND substr(COALESCE(d.author::json ->> 'location', ''), 1, length(")
                    .push_bind(r.to_owned())
                    .push(")) = ")
                    .push_bind(r.to_owned());
            }
            q.push(" ORDER BY d.seq");
            for r in q.build().fetch_all(&self.pool).await? {
                out.push((r.try_get(0)?, r.try_get(1)?));
            }
        }
        Ok(out)
    }
}
