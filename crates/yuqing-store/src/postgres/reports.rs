//! [`ReportStore`] on PostgreSQL (migration `postgres/0005_reports.sql`).

use super::{DIGEST_LOCK, PgStore, advisory_lock, ms_to_utc};
use crate::Result;
use crate::reports::*;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;

const COLUMNS: &str = "id, kind, title, subtitle, issue, inputs, model, created_at, created_by, \
     updated_at, schedule_key, unit";
const LIST_COLUMNS: &str = "id, kind, title, subtitle, issue, inputs, 'null'::text, created_at, \
     created_by, updated_at, schedule_key, unit";

fn json(id: i64, field: &'static str, s: &str) -> Result<serde_json::Value> {
    serde_json::from_str(s).map_err(|e| crate::StoreError::Corrupt {
        seq: id,
        field,
        reason: format!("report JSON: {e}"),
    })
}

fn row_to_report(r: &PgRow) -> Result<SavedReport> {
    let id: i64 = r.try_get(0)?;
    Ok(SavedReport {
        id,
        kind: r.try_get(1)?,
        title: r.try_get(2)?,
        subtitle: r.try_get(3)?,
        issue: r.try_get(4)?,
        inputs: json(id, "reports.inputs", &r.try_get::<String, _>(5)?)?,
        model: json(id, "reports.model", &r.try_get::<String, _>(6)?)?,
        created_at: ms_to_utc(r.try_get(7)?),
        created_by: r.try_get(8)?,
        updated_at: ms_to_utc(r.try_get(9)?),
        schedule_key: r.try_get(10)?,
        unit: r.try_get(11)?,
    })
}

impl ReportStore for PgStore {
    async fn put_report(&self, n: &NewReport) -> Result<Option<SavedReport>> {
        // Two digests taking the same 期号 at once: the second waits for the first's
        // commit and then sees its row (READ COMMITTED reads anew per statement).
        let mut tx = self.pool.begin().await?;
        if n.kind == "digest" && n.issue.is_some() {
            advisory_lock(&mut tx, DIGEST_LOCK).await?;
        }
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO reports (kind, title, subtitle, issue, inputs, model, created_at, created_by, updated_at, schedule_key, unit)
             SELECT $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11
             WHERE $1 <> 'digest' OR $4::bigint IS NULL
                OR NOT EXISTS (SELECT 1 FROM reports WHERE kind = 'digest' AND issue = $4)
             ON CONFLICT (schedule_key) DO NOTHING
             RETURNING {COLUMNS}"
        )))
        .bind(&n.kind)
        .bind(&n.title)
        .bind(&n.subtitle)
        .bind(n.issue)
        .bind(n.inputs.to_string())
        .bind(n.model.to_string())
        .bind(n.created_at.timestamp_millis())
        .bind(&n.created_by)
        .bind(n.created_at.timestamp_millis())
        .bind(&n.schedule_key)
        .bind(&n.unit)
        .fetch_optional(&mut *tx)
        .await?;
        tx.commit().await?;
        row.as_ref().map(row_to_report).transpose()
    }

    async fn update_report(
        &self,
        id: i64,
        inputs: &serde_json::Value,
        model: &serde_json::Value,
        at: DateTime<Utc>,
    ) -> Result<Option<SavedReport>> {
        let row = sqlx::query(sqlx::AssertSqlSafe(format!(
            "UPDATE reports SET inputs = $1, model = $2, updated_at = $3 WHERE id = $4 RETURNING {COLUMNS}"
        )))
        .bind(inputs.to_string())
        .bind(model.to_string())
        .bind(at.timestamp_millis())
        .bind(id)
        .fetch_optional(&self.pool)
        .await?;
        row.as_ref().map(row_to_report).transpose()
    }

    async fn report(&self, id: i64) -> Result<Option<SavedReport>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM reports WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_report)
        .transpose()
    }

    async fn reports(&self, kind: Option<&str>, limit: i64) -> Result<Vec<SavedReport>> {
        let limit = (limit > 0).then_some(limit);
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {LIST_COLUMNS} FROM reports WHERE $1::text IS NULL OR kind = $1 ORDER BY id DESC LIMIT $2"
        )))
        .bind(kind)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_report).collect()
    }

    async fn scheduled_report(&self, key: &str) -> Result<Option<i64>> {
        let found: Option<i64> =
            sqlx::query_scalar("SELECT id FROM reports WHERE schedule_key = $1")
                .bind(key)
                .fetch_optional(&self.pool)
                .await?;
        Ok(found)
    }

    async fn last_digest_issue(&self) -> Result<Option<u32>> {
        let n: Option<i64> =
            sqlx::query_scalar("SELECT MAX(issue) FROM reports WHERE kind = 'digest'")
                .fetch_one(&self.pool)
                .await?;
        Ok(n.and_then(|n| u32::try_from(n).ok()))
    }
}
