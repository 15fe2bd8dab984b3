//! [`AccessStore`] on PostgreSQL: credentials, sessions and API tokens (migration
//! `postgres/0004_access.sql`). Audited changes chain their entries in the same
//! transaction, under the handling lock (`handling::chain`).

use super::handling::chain;
use super::{PgStore, ms_to_utc};
use crate::Result;
use crate::access::*;
use chrono::{DateTime, Utc};
use sqlx::Row;
use sqlx::postgres::PgRow;
use yuqing_workflow::audit::NewEntry;

const CRED_COLUMNS: &str = "user_id, phc, must_change, failed, locked_until, updated_at";
const SESSION_COLUMNS: &str = "token_hash, user_id, csrf, created_at, last_seen, expires_at";
const TOKEN_COLUMNS: &str = "id, token_hash, user_id, name, created_at, last_used, revoked_at";

fn row_to_cred(r: &PgRow) -> Result<Credential> {
    Ok(Credential {
        user: r.try_get(0)?,
        phc: r.try_get(1)?,
        must_change: r.try_get(2)?,
        failed: r.try_get(3)?,
        locked_until: r.try_get::<Option<i64>, _>(4)?.map(ms_to_utc),
        updated_at: ms_to_utc(r.try_get(5)?),
    })
}

fn row_to_session(r: &PgRow) -> Result<SessionRow> {
    Ok(SessionRow {
        token_hash: r.try_get(0)?,
        user: r.try_get(1)?,
        csrf: r.try_get(2)?,
        created_at: ms_to_utc(r.try_get(3)?),
        last_seen: ms_to_utc(r.try_get(4)?),
        expires_at: ms_to_utc(r.try_get(5)?),
    })
}

fn row_to_token(r: &PgRow) -> Result<ApiTokenRow> {
    Ok(ApiTokenRow {
        id: r.try_get(0)?,
        token_hash: r.try_get(1)?,
        user: r.try_get(2)?,
        name: r.try_get(3)?,
        created_at: ms_to_utc(r.try_get(4)?),
        last_used: r.try_get::<Option<i64>, _>(5)?.map(ms_to_utc),
        revoked_at: r.try_get::<Option<i64>, _>(6)?.map(ms_to_utc),
    })
}

impl AccessStore for PgStore {
    async fn credential(&self, user: &str) -> Result<Option<Credential>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {CRED_COLUMNS} FROM credentials WHERE user_id = $1"
        )))
        .bind(user)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_cred)
        .transpose()
    }

    async fn credential_users(&self) -> Result<Vec<String>> {
        Ok(
            sqlx::query_scalar("SELECT user_id FROM credentials ORDER BY user_id")
                .fetch_all(&self.pool)
                .await?,
        )
    }

    async fn put_credential(
        &self,
        cred: &Credential,
        keep_session: Option<&str>,
        audit: Vec<NewEntry>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO credentials (user_id, phc, must_change, failed, locked_until, updated_at) VALUES ($1, $2, $3, $4, $5, $6) \
             ON CONFLICT (user_id) DO UPDATE SET phc = excluded.phc, must_change = excluded.must_change, \
             failed = excluded.failed, locked_until = excluded.locked_until, updated_at = excluded.updated_at",
        )
        .bind(&cred.user)
        .bind(&cred.phc)
        .bind(cred.must_change)
        .bind(cred.failed)
        .bind(cred.locked_until.map(|t| t.timestamp_millis()))
        .bind(cred.updated_at.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(&cred.user)
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn record_failure(
        &self,
        user: &str,
        failed: i64,
        locked_until: Option<DateTime<Utc>>,
        audit: Vec<NewEntry>,
    ) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query("UPDATE credentials SET failed = $1, locked_until = $2 WHERE user_id = $3")
            .bind(failed)
            .bind(locked_until.map(|t| t.timestamp_millis()))
            .bind(user)
            .execute(&mut *tx)
            .await?;
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn start_session(&self, s: &SessionRow, audit: Vec<NewEntry>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, csrf, created_at, last_seen, expires_at) VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&s.token_hash)
        .bind(&s.user)
        .bind(&s.csrf)
        .bind(s.created_at.timestamp_millis())
        .bind(s.last_seen.timestamp_millis())
        .bind(s.expires_at.timestamp_millis())
        .execute(&mut *tx)
        .await?;
        sqlx::query("UPDATE credentials SET failed = 0, locked_until = NULL WHERE user_id = $1")
            .bind(&s.user)
            .execute(&mut *tx)
            .await?;
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn session(&self, token_hash: &str) -> Result<Option<SessionRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {SESSION_COLUMNS} FROM sessions WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_session)
        .transpose()
    }

    async fn touch_session(&self, token_hash: &str, at: DateTime<Utc>) -> Result<()> {
        sqlx::query(
            "UPDATE sessions SET last_seen = GREATEST(last_seen, $1) WHERE token_hash = $2",
        )
        .bind(at.timestamp_millis())
        .bind(token_hash)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn end_session(&self, token_hash: &str, audit: Vec<NewEntry>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn purge_sessions(&self, idle_before: DateTime<Utc>, now: DateTime<Utc>) -> Result<u64> {
        Ok(
            sqlx::query("DELETE FROM sessions WHERE last_seen < $1 OR expires_at <= $2")
                .bind(idle_before.timestamp_millis())
                .bind(now.timestamp_millis())
                .execute(&self.pool)
                .await?
                .rows_affected(),
        )
    }

    async fn create_token(&self, t: &NewApiToken, audit: Vec<NewEntry>) -> Result<ApiTokenRow> {
        let mut tx = self.begin_write().await?;
        let r = sqlx::query(sqlx::AssertSqlSafe(format!(
            "INSERT INTO api_tokens (token_hash, user_id, name, created_at) VALUES ($1, $2, $3, $4) RETURNING {TOKEN_COLUMNS}"
        )))
        .bind(&t.token_hash)
        .bind(&t.user)
        .bind(&t.name)
        .bind(t.created_at.timestamp_millis())
        .fetch_one(&mut *tx)
        .await?;
        let row = row_to_token(&r)?;
        // The entries name the new token's id, which only the insert knows.
        let audit = audit
            .into_iter()
            .map(|mut e| {
                if e.target.ends_with(':') {
                    e.target.push_str(&row.id.to_string());
                }
                e
            })
            .collect();
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn token_by_hash(&self, token_hash: &str) -> Result<Option<ApiTokenRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE token_hash = $1"
        )))
        .bind(token_hash)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_token)
        .transpose()
    }

    async fn api_token(&self, id: i64) -> Result<Option<ApiTokenRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_token)
        .transpose()
    }

    async fn api_tokens(&self, user: Option<&str>) -> Result<Vec<ApiTokenRow>> {
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {TOKEN_COLUMNS} FROM api_tokens WHERE $1::text IS NULL OR user_id = $1 ORDER BY id"
        )))
        .bind(user)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_token).collect()
    }

    async fn revoke_token(&self, id: i64, at: DateTime<Utc>, audit: Vec<NewEntry>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL",
        )
        .bind(at.timestamp_millis())
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n == 0 {
            return Ok(false);
        }
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn touch_token(&self, id: i64, at: DateTime<Utc>) -> Result<()> {
        sqlx::query("UPDATE api_tokens SET last_used = $1 WHERE id = $2")
            .bind(at.timestamp_millis())
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }
}
