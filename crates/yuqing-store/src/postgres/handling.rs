//! [`HandlingStore`] on PostgreSQL: organisation, duty, cases, reminders, alerts, outbox
//! and the audit chain (migration `postgres/0003_handling.sql`).
//!
//! Every write transaction takes the advisory lock [`HANDLING_LOCK`] first (where SQLite
//! says `BEGIN IMMEDIATE`), so two writers never build on the same audit head and the
//! read-then-write steps (an existing alert, an existing outbox entry) are not raced.

use super::{HANDLING_LOCK, PgStore, advisory_lock, ms_to_utc};
use crate::handling::*;
use crate::rows::{ADJUSTMENT_COLUMNS, row_to_adjustment};
use crate::{Result, StoreError};
use chrono::{DateTime, Utc};
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use sqlx::postgres::PgRow;
use sqlx::{PgConnection, Postgres, QueryBuilder, Row, Transaction};
use std::collections::HashSet;
use yuqing_workflow::audit::{AuditEntry, NewEntry};
use yuqing_workflow::case::Case;
use yuqing_workflow::org::{Unit, User};

fn to_json<T: Serialize>(v: &T) -> String {
    // Serialising our own plain data types cannot fail.
    serde_json::to_string(v).unwrap_or_else(|_| "null".into())
}

fn from_json<T: DeserializeOwned>(s: &str, field: &'static str) -> Result<T> {
    serde_json::from_str(s).map_err(|e| StoreError::Corrupt {
        seq: 0,
        field,
        reason: e.to_string(),
    })
}

fn opt_json(s: Option<String>, field: &'static str) -> Result<Option<Value>> {
    s.map(|s| from_json(&s, field)).transpose()
}

impl PgStore {
    /// A write transaction holding [`HANDLING_LOCK`].
    pub(super) async fn begin_write(&self) -> Result<Transaction<'static, Postgres>> {
        let mut tx = self.pool.begin().await?;
        advisory_lock(&mut tx, HANDLING_LOCK).await?;
        Ok(tx)
    }
}

/// Appends `entries` to the audit chain inside `tx` (which must hold [`HANDLING_LOCK`]).
pub(super) async fn chain(
    tx: &mut PgConnection,
    entries: Vec<NewEntry>,
) -> Result<Vec<AuditEntry>> {
    if entries.is_empty() {
        return Ok(Vec::new());
    }
    let head = sqlx::query(
        "SELECT seq, at, actor, action, target, before, after, prev_hash, hash FROM audit ORDER BY seq DESC LIMIT 1",
    )
    .fetch_optional(&mut *tx)
    .await?;
    let mut prev = head.as_ref().map(row_to_audit).transpose()?;
    let mut out = Vec::with_capacity(entries.len());
    for new in entries {
        let e = AuditEntry::next(prev.as_ref(), new);
        sqlx::query(
            "INSERT INTO audit (seq, at, actor, action, target, before, after, prev_hash, hash) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
        )
        .bind(e.seq as i64)
        .bind(e.at.timestamp_millis())
        .bind(&e.actor)
        .bind(&e.action)
        .bind(&e.target)
        .bind(e.before.as_ref().map(to_json))
        .bind(e.after.as_ref().map(to_json))
        .bind(&e.prev_hash)
        .bind(&e.hash)
        .execute(&mut *tx)
        .await?;
        out.push(e.clone());
        prev = Some(e);
    }
    Ok(out)
}

fn row_to_audit(r: &PgRow) -> Result<AuditEntry> {
    Ok(AuditEntry {
        seq: r.try_get::<i64, _>(0)? as u64,
        at: ms_to_utc(r.try_get(1)?),
        actor: r.try_get(2)?,
        action: r.try_get(3)?,
        target: r.try_get(4)?,
        before: opt_json(r.try_get(5)?, "audit.before")?,
        after: opt_json(r.try_get(6)?, "audit.after")?,
        prev_hash: r.try_get(7)?,
        hash: r.try_get(8)?,
    })
}

const ALERT_COLUMNS: &str = "id, event_id, level, rule, plan, first_seq, last_seq, hits, raised_at, updated_at, acked_at, acked_by, case_id, message, verdict, verdict_note, verdict_by, verdict_at";

fn row_to_alert(r: &PgRow) -> Result<AlertRow> {
    Ok(AlertRow {
        id: r.try_get(0)?,
        event_id: r.try_get(1)?,
        level: r.try_get(2)?,
        rule: r.try_get(3)?,
        plan: r.try_get(4)?,
        first_seq: r.try_get(5)?,
        last_seq: r.try_get(6)?,
        hits: r.try_get(7)?,
        raised_at: ms_to_utc(r.try_get(8)?),
        updated_at: ms_to_utc(r.try_get(9)?),
        acked_at: r.try_get::<Option<i64>, _>(10)?.map(ms_to_utc),
        acked_by: r.try_get(11)?,
        case_id: r.try_get(12)?,
        message: from_json(&r.try_get::<String, _>(13)?, "alerts.message")?,
        verdict: AlertVerdict::from_columns(
            r.try_get(14)?,
            r.try_get(15)?,
            r.try_get(16)?,
            r.try_get(17)?,
        )?,
    })
}

/// Alert `id` as a transaction sees it.
async fn alert_in(conn: &mut PgConnection, id: i64) -> Result<Option<AlertRow>> {
    sqlx::query(sqlx::AssertSqlSafe(format!(
        "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await?
    .as_ref()
    .map(row_to_alert)
    .transpose()
}

const OUTBOX_COLUMNS: &str =
    "id, alert_id, channel, enqueued_at, next_at, delivered_at, attempts, body";

fn row_to_outbox(r: &PgRow) -> Result<OutboxRow> {
    Ok(OutboxRow {
        id: r.try_get(0)?,
        alert_id: r.try_get(1)?,
        channel: r.try_get(2)?,
        enqueued_at: ms_to_utc(r.try_get(3)?),
        next_at: ms_to_utc(r.try_get(4)?),
        delivered_at: r.try_get::<Option<i64>, _>(5)?.map(ms_to_utc),
        attempts: r.try_get(6)?,
        body: from_json(&r.try_get::<String, _>(7)?, "outbox.body")?,
    })
}

fn row_to_reminder(r: &PgRow) -> Result<ReminderRow> {
    Ok(ReminderRow {
        key: r.try_get(0)?,
        case_id: r.try_get(1)?,
        kind: r.try_get(2)?,
        what: r.try_get(3)?,
        due_at: ms_to_utc(r.try_get(4)?),
        unit: r.try_get(5)?,
        sent_at: ms_to_utc(r.try_get(6)?),
        message: from_json(&r.try_get::<String, _>(7)?, "reminders.message")?,
    })
}

fn row_to_duty(r: &PgRow) -> Result<DutySlot> {
    Ok(DutySlot {
        id: r.try_get(0)?,
        unit: r.try_get(1)?,
        user: r.try_get(2)?,
        starts_at: ms_to_utc(r.try_get(3)?),
        ends_at: ms_to_utc(r.try_get(4)?),
        position: r.try_get(5)?,
        note: r.try_get(6)?,
    })
}

/// Inserts outbox entries, each with its id written into its body.
async fn enqueue(tx: &mut PgConnection, entries: &[NewOutboxEntry]) -> Result<Vec<i64>> {
    let mut ids = Vec::with_capacity(entries.len());
    for e in entries {
        let existing: Option<i64> =
            sqlx::query_scalar("SELECT id FROM outbox WHERE alert_id = $1 AND channel = $2")
                .bind(&e.alert_id)
                .bind(&e.channel)
                .fetch_optional(&mut *tx)
                .await?;
        if let Some(id) = existing {
            ids.push(id);
            continue;
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO outbox (alert_id, channel, enqueued_at, next_at, body) VALUES ($1, $2, $3, $4, '{}') RETURNING id",
        )
        .bind(&e.alert_id)
        .bind(&e.channel)
        .bind(e.enqueued_at.timestamp_millis())
        .bind(e.next_at.timestamp_millis())
        .fetch_one(&mut *tx)
        .await?;
        let mut body = e.body.clone();
        if let Value::Object(m) = &mut body {
            m.insert("id".into(), Value::from(id));
        }
        sqlx::query("UPDATE outbox SET body = $1 WHERE id = $2")
            .bind(to_json(&body))
            .bind(id)
            .execute(&mut *tx)
            .await?;
        ids.push(id);
    }
    Ok(ids)
}

fn fmt_level(code: i64) -> &'static str {
    match code {
        1 => "general",
        2 => "large",
        3 => "major",
        4 => "especially_major",
        _ => "unknown",
    }
}

impl HandlingStore for PgStore {
    async fn org(&self) -> Result<(Vec<Unit>, Vec<User>)> {
        // One statement, so one snapshot: read in two, a `put_org` in between could give
        // users whose units were not read (a grant on an "unknown unit").
        let (mut units, mut users) = (Vec::new(), Vec::new());
        for r in sqlx::query(
            "SELECT 0 AS k, id, body FROM units UNION ALL SELECT 1 AS k, id, body FROM users \
             ORDER BY k, id",
        )
        .fetch_all(&self.pool)
        .await?
        {
            let body = r.try_get::<String, _>(2)?;
            if r.try_get::<i32, _>(0)? == 0 {
                units.push(from_json(&body, "units.body")?);
            } else {
                users.push(from_json(&body, "users.body")?);
            }
        }
        Ok((units, users))
    }

    async fn put_org(&self, units: &[Unit], users: &[User], audit: Vec<NewEntry>) -> Result<()> {
        let mut tx = self.begin_write().await?;
        for u in units {
            sqlx::query(
                "INSERT INTO units (id, parent, body) VALUES ($1, $2, $3) ON CONFLICT (id) DO UPDATE SET parent = excluded.parent, body = excluded.body",
            )
            .bind(&u.id)
            .bind(&u.parent)
            .bind(to_json(u))
            .execute(&mut *tx)
            .await?;
        }
        for u in users {
            sqlx::query(
                "INSERT INTO users (id, body) VALUES ($1, $2) ON CONFLICT (id) DO UPDATE SET body = excluded.body",
            )
            .bind(&u.id)
            .bind(to_json(u))
            .execute(&mut *tx)
            .await?;
        }
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn duty(&self, from: DateTime<Utc>, to: DateTime<Utc>) -> Result<Vec<DutySlot>> {
        sqlx::query(
            "SELECT id, unit, user_id, starts_at, ends_at, position, note FROM duty WHERE starts_at < $1 AND ends_at > $2 ORDER BY starts_at, position, id",
        )
        .bind(to.timestamp_millis())
        .bind(from.timestamp_millis())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_duty)
        .collect()
    }

    async fn add_duty(&self, slots: &[NewDutySlot], audit: Vec<NewEntry>) -> Result<Vec<DutySlot>> {
        let mut tx = self.begin_write().await?;
        let mut out = Vec::with_capacity(slots.len());
        for s in slots {
            let r = sqlx::query(
                "INSERT INTO duty (unit, user_id, starts_at, ends_at, position, note) VALUES ($1, $2, $3, $4, $5, $6) RETURNING id, unit, user_id, starts_at, ends_at, position, note",
            )
            .bind(&s.unit)
            .bind(&s.user)
            .bind(s.starts_at.timestamp_millis())
            .bind(s.ends_at.timestamp_millis())
            .bind(s.position)
            .bind(&s.note)
            .fetch_one(&mut *tx)
            .await?;
            out.push(row_to_duty(&r)?);
        }
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn remove_duty(&self, id: i64, audit: Vec<NewEntry>) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query("DELETE FROM duty WHERE id = $1")
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

    async fn next_number(&self, sequence: &str) -> Result<i64> {
        let name = format!("seq:{sequence}");
        let v: i64 = sqlx::query_scalar(
            "INSERT INTO counters (name, value) VALUES ($1, 1) ON CONFLICT (name) DO UPDATE SET value = counters.value + 1 RETURNING value",
        )
        .bind(&name)
        .fetch_one(&self.pool)
        .await?;
        Ok(v)
    }

    async fn create_case(
        &self,
        case: &Case,
        item_key: Option<&str>,
        audit: Vec<NewEntry>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "INSERT INTO cases (id, unit, state, version, level, item_key, registered_at, updated_at, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9) ON CONFLICT (id) DO NOTHING",
        )
        .bind(&case.id)
        .bind(&case.unit)
        .bind(case.state.as_str())
        .bind(case.version as i64)
        .bind(case.level.map(|l| l.code()))
        .bind(item_key)
        .bind(case.registered_at.timestamp_millis())
        .bind(case_updated_at(case).timestamp_millis())
        .bind(to_json(case))
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

    async fn update_case(
        &self,
        case: &Case,
        expected_version: u64,
        audit: Vec<NewEntry>,
    ) -> Result<bool> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE cases SET unit = $1, state = $2, version = $3, level = $4, updated_at = $5, body = $6 WHERE id = $7 AND version = $8",
        )
        .bind(&case.unit)
        .bind(case.state.as_str())
        .bind(case.version as i64)
        .bind(case.level.map(|l| l.code()))
        .bind(case_updated_at(case).timestamp_millis())
        .bind(to_json(case))
        .bind(&case.id)
        .bind(expected_version as i64)
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

    async fn case(&self, id: &str) -> Result<Option<Case>> {
        let body: Option<String> = sqlx::query_scalar("SELECT body FROM cases WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?;
        body.map(|b| from_json(&b, "cases.body")).transpose()
    }

    async fn cases(&self, q: &CaseQuery) -> Result<Vec<Case>> {
        let mut b = QueryBuilder::<Postgres>::new("SELECT body FROM cases WHERE 1 = 1");
        if !q.states.is_empty() {
            b.push(" AND state IN (");
            let mut sep = b.separated(", ");
            for s in &q.states {
                sep.push_bind(s.clone());
            }
            b.push(")");
        }
        if let Some(units) = &q.units {
            if units.is_empty() {
                return Ok(Vec::new());
            }
            b.push(" AND unit IN (");
            let mut sep = b.separated(", ");
            for u in units {
                sep.push_bind(u.clone());
            }
            b.push(")");
        }
        if let Some(k) = &q.item_key {
            b.push(" AND item_key = ").push_bind(k.clone());
        }
        b.push(" ORDER BY updated_at DESC, id DESC");
        if q.limit > 0 {
            b.push(" LIMIT ").push_bind(q.limit);
        }
        let mut out = Vec::new();
        for r in b.build().fetch_all(&self.pool).await? {
            out.push(from_json(&r.try_get::<String, _>(0)?, "cases.body")?);
        }
        Ok(out)
    }

    async fn reminder_keys(&self) -> Result<HashSet<String>> {
        Ok(sqlx::query_scalar::<_, String>("SELECT key FROM reminders")
            .fetch_all(&self.pool)
            .await?
            .into_iter()
            .collect())
    }

    async fn record_reminders(
        &self,
        reminders: &[ReminderRow],
        audit: Vec<NewEntry>,
        deliveries: Vec<Vec<NewOutboxEntry>>,
    ) -> Result<Vec<ReminderRow>> {
        if reminders.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let mut new = Vec::new();
        let mut entries = Vec::new();
        let mut audit = audit.into_iter();
        let mut deliveries = deliveries.into_iter();
        let mut queued = Vec::new();
        for r in reminders {
            let entry = audit.next();
            let messages = deliveries.next().unwrap_or_default();
            let n = sqlx::query(
                "INSERT INTO reminders (key, case_id, kind, what, due_at, unit, sent_at, message) VALUES ($1, $2, $3, $4, $5, $6, $7, $8) ON CONFLICT (key) DO NOTHING",
            )
            .bind(&r.key)
            .bind(&r.case_id)
            .bind(&r.kind)
            .bind(&r.what)
            .bind(r.due_at.timestamp_millis())
            .bind(&r.unit)
            .bind(r.sent_at.timestamp_millis())
            .bind(to_json(&r.message))
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if n > 0 {
                new.push(r.clone());
                entries.extend(entry);
                queued.extend(messages);
            }
        }
        enqueue(&mut tx, &queued).await?;
        chain(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(new)
    }

    async fn reminders(&self, case_id: Option<&str>) -> Result<Vec<ReminderRow>> {
        let cols = "key, case_id, kind, what, due_at, unit, sent_at, message";
        let rows = sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {cols} FROM reminders WHERE $1::text IS NULL OR case_id = $1 ORDER BY sent_at, key"
        )))
        .bind(case_id)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(row_to_reminder).collect()
    }

    async fn cursor(&self, name: &str) -> Result<Option<i64>> {
        Ok(
            sqlx::query_scalar("SELECT value FROM counters WHERE name = $1")
                .bind(format!("cursor:{name}"))
                .fetch_optional(&self.pool)
                .await?,
        )
    }

    async fn raise_alerts(
        &self,
        alerts: &[NewAlert],
        cursor: Option<(&str, i64)>,
    ) -> Result<Vec<Raised>> {
        if alerts.is_empty() && cursor.is_none() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let mut out = Vec::with_capacity(alerts.len());
        let mut audit = Vec::new();
        for a in alerts {
            let existing: Option<i64> =
                sqlx::query_scalar("SELECT id FROM alerts WHERE event_id = $1 AND level = $2")
                    .bind(a.event_id)
                    .bind(a.level)
                    .fetch_optional(&mut *tx)
                    .await?;
            if let Some(id) = existing {
                sqlx::query(
                    "UPDATE alerts SET hits = hits + 1, last_seq = GREATEST(last_seq, $1), updated_at = $2 WHERE id = $3",
                )
                .bind(a.seq)
                .bind(a.at.timestamp_millis())
                .bind(id)
                .execute(&mut *tx)
                .await?;
                out.push(Raised::Updated(id));
                continue;
            }
            let id: i64 = sqlx::query_scalar(
                "INSERT INTO alerts (event_id, level, rule, plan, first_seq, last_seq, hits, raised_at, updated_at, message) VALUES ($1, $2, $3, $4, $5, $6, 1, $7, $8, $9) RETURNING id",
            )
            .bind(a.event_id)
            .bind(a.level)
            .bind(&a.rule)
            .bind(&a.plan)
            .bind(a.seq)
            .bind(a.seq)
            .bind(a.at.timestamp_millis())
            .bind(a.at.timestamp_millis())
            .bind(to_json(&a.message))
            .fetch_one(&mut *tx)
            .await?;
            audit.push(NewEntry {
                at: a.at,
                actor: "system".into(),
                action: "alert.raise".into(),
                target: format!("alert:{id}"),
                before: None,
                after: Some(serde_json::json!({
                    "event_id": a.event_id,
                    "level": fmt_level(a.level),
                    "rule": a.rule,
                    "plan": a.plan,
                    "seq": a.seq,
                })),
            });
            let deliveries: Vec<NewOutboxEntry> = a
                .deliveries
                .iter()
                .map(|d| {
                    let mut d = d.clone();
                    d.alert_id = id.to_string();
                    if let Value::Object(m) = &mut d.body {
                        m.insert("alert_id".into(), Value::from(d.alert_id.clone()));
                        if let Some(Value::Object(msg)) = m.get_mut("message") {
                            msg.insert("alert_id".into(), Value::from(d.alert_id.clone()));
                        }
                    }
                    d
                })
                .collect();
            enqueue(&mut tx, &deliveries).await?;
            out.push(Raised::New(id));
        }
        if let Some((name, value)) = cursor {
            sqlx::query(
                "INSERT INTO counters (name, value) VALUES ($1, $2) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            )
            .bind(format!("cursor:{name}"))
            .bind(value)
            .execute(&mut *tx)
            .await?;
        }
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn alert(&self, id: i64) -> Result<Option<AlertRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_alert)
        .transpose()
    }

    async fn alerts(&self, q: &AlertQuery) -> Result<Vec<AlertRow>> {
        let mut b = QueryBuilder::<Postgres>::new(format!(
            "SELECT {ALERT_COLUMNS} FROM alerts WHERE 1 = 1"
        ));
        if q.unacked {
            b.push(" AND acked_at IS NULL");
        }
        if let Some(s) = q.since {
            b.push(" AND raised_at >= ").push_bind(s.timestamp_millis());
        }
        if let Some(u) = q.until {
            b.push(" AND raised_at < ").push_bind(u.timestamp_millis());
        }
        if let Some(e) = q.event_id {
            b.push(" AND event_id = ").push_bind(e);
        }
        b.push(" ORDER BY raised_at DESC, id DESC");
        if q.limit > 0 {
            b.push(" LIMIT ").push_bind(q.limit);
        }
        b.build()
            .fetch_all(&self.pool)
            .await?
            .iter()
            .map(row_to_alert)
            .collect()
    }

    async fn ack_alert(&self, id: i64, by: &str, at: DateTime<Utc>) -> Result<Option<AlertRow>> {
        let mut tx = self.begin_write().await?;
        let n = sqlx::query(
            "UPDATE alerts SET acked_at = $1, acked_by = $2 WHERE id = $3 AND acked_at IS NULL",
        )
        .bind(at.timestamp_millis())
        .bind(by)
        .bind(id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n > 0 {
            chain(
                &mut tx,
                vec![NewEntry {
                    at,
                    actor: by.to_owned(),
                    action: "alert.ack".into(),
                    target: format!("alert:{id}"),
                    before: None,
                    after: Some(serde_json::json!({ "acked_by": by })),
                }],
            )
            .await?;
        }
        let row = alert_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn set_alert_verdict(&self, id: i64, v: &AlertVerdict) -> Result<Option<AlertRow>> {
        let mut tx = self.begin_write().await?;
        let before: Option<(Option<String>, Option<i64>)> =
            sqlx::query_as("SELECT verdict, acked_at FROM alerts WHERE id = $1")
                .bind(id)
                .fetch_optional(&mut *tx)
                .await?;
        let Some((before, acked_at)) = before else {
            return Ok(None);
        };
        let at = v.at.timestamp_millis();
        sqlx::query(
            "UPDATE alerts SET verdict = $1, verdict_note = $2, verdict_by = $3, verdict_at = $4, \
             acked_at = COALESCE(acked_at, $4), acked_by = COALESCE(acked_by, $3) WHERE id = $5",
        )
        .bind(v.verdict.as_str())
        .bind(&v.note)
        .bind(&v.by)
        .bind(at)
        .bind(id)
        .execute(&mut *tx)
        .await?;
        let entries = verdict_entries(id, v, acked_at.is_some(), before);
        chain(&mut tx, entries).await?;
        let row = alert_in(&mut tx, id).await?;
        tx.commit().await?;
        Ok(row)
    }

    async fn link_alert_case(&self, id: i64, case_id: &str) -> Result<()> {
        sqlx::query("UPDATE alerts SET case_id = COALESCE(case_id, $1) WHERE id = $2")
            .bind(case_id)
            .bind(id)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    async fn notices(&self, alert_ids: &[i64]) -> Result<Vec<NoticeRow>> {
        if alert_ids.is_empty() {
            return Ok(Vec::new());
        }
        let mut out = Vec::new();
        for chunk in alert_ids.chunks(900) {
            let mut b = QueryBuilder::<Postgres>::new(
                "SELECT alert_id, step, who, at FROM alert_notices WHERE alert_id IN (",
            );
            let mut sep = b.separated(", ");
            for id in chunk {
                sep.push_bind(*id);
            }
            b.push(") ORDER BY alert_id, step");
            for r in b.build().fetch_all(&self.pool).await? {
                out.push(NoticeRow {
                    alert_id: r.try_get(0)?,
                    step: r.try_get(1)?,
                    who: r.try_get(2)?,
                    at: ms_to_utc(r.try_get(3)?),
                });
            }
        }
        Ok(out)
    }

    async fn record_notices(
        &self,
        notices: &[NoticeRow],
        deliveries: &[NewOutboxEntry],
    ) -> Result<()> {
        if notices.is_empty() && deliveries.is_empty() {
            return Ok(());
        }
        let mut tx = self.begin_write().await?;
        let mut audit = Vec::new();
        for n in notices {
            let done = sqlx::query(
                "INSERT INTO alert_notices (alert_id, step, who, at) VALUES ($1, $2, $3, $4) ON CONFLICT DO NOTHING",
            )
            .bind(n.alert_id)
            .bind(n.step)
            .bind(&n.who)
            .bind(n.at.timestamp_millis())
            .execute(&mut *tx)
            .await?
            .rows_affected();
            if done > 0 {
                audit.push(NewEntry {
                    at: n.at,
                    actor: "system".into(),
                    action: "alert.notify".into(),
                    target: format!("alert:{}", n.alert_id),
                    before: None,
                    after: Some(serde_json::json!({ "step": n.step, "who": n.who })),
                });
            }
        }
        enqueue(&mut tx, deliveries).await?;
        chain(&mut tx, audit).await?;
        tx.commit().await?;
        Ok(())
    }

    async fn outbox_enqueue(&self, entries: &[NewOutboxEntry]) -> Result<Vec<i64>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let ids = enqueue(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(ids)
    }

    async fn outbox_heads(&self, now: DateTime<Utc>) -> Result<Vec<OutboxRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE id IN \
             (SELECT MIN(id) FROM outbox WHERE delivered_at IS NULL AND (attempts > 0 OR next_at <= $1) \
              GROUP BY channel) ORDER BY id"
        )))
        .bind(now.timestamp_millis())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_outbox)
        .collect()
    }

    async fn outbox_update(&self, row: &OutboxRow) -> Result<()> {
        sqlx::query(
            "UPDATE outbox SET next_at = $1, delivered_at = $2, attempts = $3, body = $4 WHERE id = $5",
        )
        .bind(row.next_at.timestamp_millis())
        .bind(row.delivered_at.map(|t| t.timestamp_millis()))
        .bind(row.attempts)
        .bind(to_json(&row.body))
        .bind(row.id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    async fn outbox_of(&self, alert_id: &str) -> Result<Vec<OutboxRow>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE alert_id = $1 ORDER BY id"
        )))
        .bind(alert_id)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_outbox)
        .collect()
    }

    async fn outbox_pending(&self) -> Result<i64> {
        Ok(
            sqlx::query_scalar("SELECT COUNT(*) FROM outbox WHERE delivered_at IS NULL")
                .fetch_one(&self.pool)
                .await?,
        )
    }

    async fn add_point_adjustment(&self, a: &NewPointAdjustment) -> Result<PointAdjustment> {
        let mut tx = self.begin_write().await?;
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO point_adjustments (user_id, points, reason, case_id, at, by_user, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id",
        )
        .bind(&a.user)
        .bind(a.points)
        .bind(&a.reason)
        .bind(&a.case_id)
        .bind(a.at.timestamp_millis())
        .bind(&a.by)
        .bind(a.created_at.timestamp_millis())
        .fetch_one(&mut *tx)
        .await?;
        let saved = a.saved(id);
        chain(&mut tx, vec![adjustment_entry(&saved)]).await?;
        tx.commit().await?;
        Ok(saved)
    }

    async fn revoke_point_adjustment(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> Result<Option<PointAdjustment>> {
        let mut tx = self.begin_write().await?;
        let Some(a) = sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADJUSTMENT_COLUMNS} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&mut *tx)
        .await?
        .as_ref()
        .map(row_to_adjustment)
        .transpose()?
        else {
            return Ok(None);
        };
        if a.revoked_at.is_some() {
            return Ok(Some(a));
        }
        sqlx::query("UPDATE point_adjustments SET revoked_at = $1, revoked_by = $2 WHERE id = $3")
            .bind(at.timestamp_millis())
            .bind(by)
            .bind(id)
            .execute(&mut *tx)
            .await?;
        chain(&mut tx, vec![revocation_entry(&a, by, at)]).await?;
        tx.commit().await?;
        Ok(Some(a.revoked(by, at)))
    }

    async fn point_adjustment(&self, id: i64) -> Result<Option<PointAdjustment>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADJUSTMENT_COLUMNS} WHERE id = $1"
        )))
        .bind(id)
        .fetch_optional(&self.pool)
        .await?
        .as_ref()
        .map(row_to_adjustment)
        .transpose()
    }

    async fn point_adjustments(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> Result<Vec<PointAdjustment>> {
        sqlx::query(sqlx::AssertSqlSafe(format!(
            "{ADJUSTMENT_COLUMNS} WHERE at >= $1 AND at < $2 ORDER BY at, id"
        )))
        .bind(from.timestamp_millis())
        .bind(to.timestamp_millis())
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_adjustment)
        .collect()
    }

    async fn append_audit(&self, entries: Vec<NewEntry>) -> Result<Vec<AuditEntry>> {
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let mut tx = self.begin_write().await?;
        let out = chain(&mut tx, entries).await?;
        tx.commit().await?;
        Ok(out)
    }

    async fn audit(&self, after: u64, limit: i64) -> Result<Vec<AuditEntry>> {
        let limit = (limit > 0).then_some(limit);
        sqlx::query(
            "SELECT seq, at, actor, action, target, before, after, prev_hash, hash FROM audit WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after as i64)
        .bind(limit)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_audit)
        .collect()
    }

    async fn audit_of(&self, target: &str) -> Result<Vec<AuditEntry>> {
        sqlx::query(
            "SELECT seq, at, actor, action, target, before, after, prev_hash, hash FROM audit WHERE target = $1 ORDER BY seq",
        )
        .bind(target)
        .fetch_all(&self.pool)
        .await?
        .iter()
        .map(row_to_audit)
        .collect()
    }
}

/// When a case last changed: its last timeline entry.
fn case_updated_at(case: &Case) -> DateTime<Utc> {
    case.timeline.last().map_or(case.registered_at, |t| t.at)
}
