//! Storage of warning and handling (预警与处置): the [`HandlingStore`] trait and its rows.
//!
//! Owns the persistence contract of the organisation, the duty roster, cases and their
//! reminders, alerts with their escalation notices, the delivery outbox and the
//! hash-chained audit log. The shapes of cases, units and users belong to
//! `yuqing-workflow` and are stored whole; alert messages and outbox entries belong to
//! `yuqing-alert` and are stored as JSON, so this crate does not depend on the channels.
//!
//! Invariants every backend keeps:
//! - every change that carries audit entries commits them in the same transaction, chained
//!   onto the last entry (`AuditEntry::next`), so the log and the data never disagree;
//! - a case update is refused (returns `false`) unless the stored version is the one the
//!   caller read: concurrent edits are detected, never merged silently;
//! - an alert is unique per `(event_id, level)`: raising it again updates it;
//! - an outbox entry is unique per `(alert_id, channel)`.

use crate::Result;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::HashSet;
use std::future::Future;
use yuqing_workflow::audit::{AuditEntry, NewEntry};
use yuqing_workflow::case::Case;
use yuqing_workflow::org::{Unit, User};

/// One slot of the duty roster (值班表).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DutySlot {
    pub id: i64,
    pub unit: String,
    pub user: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    /// Order of escalation among the people on duty at once (0 is told first).
    pub position: i64,
    pub note: String,
}

/// A duty slot to add.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDutySlot {
    pub unit: String,
    pub user: String,
    pub starts_at: DateTime<Utc>,
    pub ends_at: DateTime<Utc>,
    pub position: i64,
    pub note: String,
}

/// Which cases to list.
#[derive(Debug, Clone, Default)]
pub struct CaseQuery {
    /// Only these states (`as_str` names); empty: all.
    pub states: Vec<String>,
    /// Only cases owned by these units; `None`: all.
    pub units: Option<Vec<String>>,
    /// Only cases registered from this item (`doc:…`, `alert:…`).
    pub item_key: Option<String>,
    /// At most this many (0: no limit), most recently updated first.
    pub limit: i64,
}

/// A reminder (催办/督办) that was sent.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReminderRow {
    pub key: String,
    pub case_id: String,
    /// `urge` | `supervise`.
    pub kind: String,
    /// The deadline kind.
    pub what: String,
    pub due_at: DateTime<Utc>,
    pub unit: String,
    pub sent_at: DateTime<Utc>,
    /// `{"zh": …, "en": …}`.
    pub message: Value,
}

/// An alert the rules raised for a document.
#[derive(Debug, Clone, PartialEq)]
pub struct NewAlert {
    pub event_id: i64,
    /// Level code.
    pub level: i64,
    pub rule: String,
    pub plan: Option<String>,
    /// The document that matched.
    pub seq: i64,
    pub at: DateTime<Utc>,
    /// The alert message (`yuqing_alert::AlertMessage`).
    pub message: Value,
    /// Messages to queue when the alert is new, in the same transaction. The store sets
    /// each one's `alert_id` (column, and `alert_id` and `message.alert_id` in its body)
    /// to the new alert's id.
    pub deliveries: Vec<NewOutboxEntry>,
}

/// What raising an alert did.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub enum Raised {
    /// A new alert (the caller delivers it).
    New(i64),
    /// An existing alert of the same event and level, updated (no new delivery).
    Updated(i64),
}

/// A stored alert.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct AlertRow {
    pub id: i64,
    pub event_id: i64,
    pub level: i64,
    pub rule: String,
    pub plan: Option<String>,
    pub first_seq: i64,
    pub last_seq: i64,
    pub hits: i64,
    pub raised_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub acked_at: Option<DateTime<Utc>>,
    pub acked_by: Option<String>,
    pub case_id: Option<String>,
    pub message: Value,
    /// A person's verdict (the last one given).
    pub verdict: Option<AlertVerdict>,
}

/// What a person found an alert to be.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// 属实：the item is what the plan looks for.
    Confirmed,
    /// 误报：the plan matched something it should not have.
    FalseAlarm,
}

impl Verdict {
    pub fn as_str(self) -> &'static str {
        match self {
            Verdict::Confirmed => "confirmed",
            Verdict::FalseAlarm => "false_alarm",
        }
    }
    pub fn parse(s: &str) -> Option<Verdict> {
        [Verdict::Confirmed, Verdict::FalseAlarm]
            .into_iter()
            .find(|v| v.as_str() == s)
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            Verdict::Confirmed => "属实",
            Verdict::FalseAlarm => "误报",
        }
    }
}

/// A verdict on an alert, with who gave it and when.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlertVerdict {
    pub verdict: Verdict,
    pub note: String,
    pub by: String,
    pub at: DateTime<Utc>,
}

/// Longest note kept with a verdict, in characters.
pub const VERDICT_NOTE_MAX: usize = 2000;

impl AlertVerdict {
    /// A verdict given now by `by`; the note trimmed and cut at [`VERDICT_NOTE_MAX`].
    pub fn new(verdict: Verdict, note: &str, by: &str, at: DateTime<Utc>) -> AlertVerdict {
        AlertVerdict {
            verdict,
            note: note.trim().chars().take(VERDICT_NOTE_MAX).collect(),
            by: by.to_owned(),
            at,
        }
    }

    /// From the stored columns (verdict, note, by, at ms); `None` when none was given.
    pub(crate) fn from_columns(
        verdict: Option<String>,
        note: Option<String>,
        by: Option<String>,
        at: Option<i64>,
    ) -> Result<Option<AlertVerdict>> {
        let Some(v) = verdict else { return Ok(None) };
        let verdict = Verdict::parse(&v).ok_or_else(|| crate::StoreError::Corrupt {
            seq: 0,
            field: "alerts.verdict",
            reason: format!("unknown verdict {v:?}"),
        })?;
        Ok(Some(AlertVerdict {
            verdict,
            note: note.unwrap_or_default(),
            by: by.unwrap_or_default(),
            at: crate::rows::ms_to_utc(at.unwrap_or_default()),
        }))
    }
}

/// The audit entries of a verdict on alert `id`: an acknowledgement first if nobody had
/// acknowledged it, then the verdict with the one it replaces (both stores write these).
pub(crate) fn verdict_entries(
    id: i64,
    v: &AlertVerdict,
    was_acked: bool,
    replaced: Option<String>,
) -> Vec<NewEntry> {
    let mut entries = Vec::new();
    if !was_acked {
        entries.push(NewEntry {
            at: v.at,
            actor: v.by.clone(),
            action: "alert.ack".into(),
            target: format!("alert:{id}"),
            before: None,
            after: Some(serde_json::json!({ "acked_by": v.by })),
        });
    }
    entries.push(NewEntry {
        at: v.at,
        actor: v.by.clone(),
        action: "alert.verdict".into(),
        target: format!("alert:{id}"),
        before: replaced.map(|b| serde_json::json!({ "verdict": b })),
        after: Some(serde_json::json!({ "verdict": v.verdict.as_str(), "note": v.note })),
    });
    entries
}

/// A leader's manual adjustment of a person's performance points (领导加减分).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct PointAdjustment {
    pub id: i64,
    /// Whose points.
    pub user: String,
    /// Added (> 0) or taken away (< 0); never 0.
    pub points: i32,
    pub reason: String,
    /// The case it is about, if any.
    pub case_id: Option<String>,
    /// When it counts (the assessment period it falls in).
    pub at: DateTime<Utc>,
    /// Who made it, and when.
    pub by: String,
    pub created_at: DateTime<Utc>,
    /// Revoked (it then counts for nothing, and is kept): when and by whom.
    pub revoked_at: Option<DateTime<Utc>>,
    pub revoked_by: Option<String>,
}

impl PointAdjustment {
    /// As revoked by `by` at `at`.
    pub fn revoked(self, by: &str, at: DateTime<Utc>) -> PointAdjustment {
        PointAdjustment {
            revoked_at: Some(at),
            revoked_by: Some(by.to_owned()),
            ..self
        }
    }

    /// As the points count it (whether it is revoked is the caller's to check).
    pub fn counted(&self) -> yuqing_workflow::points::Adjustment {
        yuqing_workflow::points::Adjustment {
            id: self.id,
            user: self.user.clone(),
            points: self.points,
            reason: self.reason.clone(),
            case_id: self.case_id.clone(),
            at: self.at,
            by: self.by.clone(),
        }
    }
}

/// A new [`PointAdjustment`] (the caller validated it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewPointAdjustment {
    pub user: String,
    pub points: i32,
    pub reason: String,
    pub case_id: Option<String>,
    pub at: DateTime<Utc>,
    pub by: String,
    pub created_at: DateTime<Utc>,
}

impl NewPointAdjustment {
    /// As saved under `id`.
    pub fn saved(&self, id: i64) -> PointAdjustment {
        PointAdjustment {
            id,
            user: self.user.clone(),
            points: self.points,
            reason: self.reason.clone(),
            case_id: self.case_id.clone(),
            at: self.at,
            by: self.by.clone(),
            created_at: self.created_at,
            revoked_at: None,
            revoked_by: None,
        }
    }
}

/// The audit entry of a saved adjustment (both stores write it).
pub(crate) fn adjustment_entry(a: &PointAdjustment) -> NewEntry {
    NewEntry {
        at: a.created_at,
        actor: a.by.clone(),
        action: "points.adjust".into(),
        target: format!("user:{}", a.user),
        before: None,
        after: Some(serde_json::json!({
            "adjustment": a.id, "points": a.points, "reason": a.reason,
            "case": a.case_id, "at": a.at,
        })),
    }
}

/// The audit entry of a revocation (both stores write it).
pub(crate) fn revocation_entry(a: &PointAdjustment, by: &str, at: DateTime<Utc>) -> NewEntry {
    NewEntry {
        at,
        actor: by.to_owned(),
        action: "points.revoke".into(),
        target: format!("user:{}", a.user),
        before: Some(serde_json::json!({
            "adjustment": a.id, "points": a.points, "reason": a.reason,
        })),
        after: Some(serde_json::json!({ "adjustment": a.id, "revoked": true })),
    }
}

/// Which alerts to list.
#[derive(Debug, Clone, Default)]
pub struct AlertQuery {
    /// Only unacknowledged ones.
    pub unacked: bool,
    /// Raised at or after.
    pub since: Option<DateTime<Utc>>,
    /// Raised before.
    pub until: Option<DateTime<Utc>>,
    /// Only this event.
    pub event_id: Option<i64>,
    /// At most this many (0: no limit), newest first.
    pub limit: i64,
}

/// An escalation notice that was given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NoticeRow {
    pub alert_id: i64,
    pub step: i64,
    pub who: String,
    pub at: DateTime<Utc>,
}

/// An outbox entry. `body` is the whole `yuqing_alert::outbox::Entry` (with its attempt
/// log); the other fields are copies the store queries on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct OutboxRow {
    pub id: i64,
    pub alert_id: String,
    pub channel: String,
    pub enqueued_at: DateTime<Utc>,
    pub next_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// Attempts handed out so far.
    pub attempts: i64,
    pub body: Value,
}

/// A message to queue for a channel.
#[derive(Debug, Clone, PartialEq)]
pub struct NewOutboxEntry {
    pub alert_id: String,
    pub channel: String,
    pub enqueued_at: DateTime<Utc>,
    /// Not before (quiet hours delay it).
    pub next_at: DateTime<Utc>,
    /// The entry without its id (`yuqing_alert::outbox::Entry`); the store sets `id`.
    pub body: Value,
}

/// Persistence of warning and handling. Every method that takes `audit` appends those
/// entries to the chained audit log in the same transaction. The organisation's
/// credentials, sessions and API tokens ([`AccessStore`](crate::AccessStore)) come with it.
pub trait HandlingStore: crate::AccessStore + crate::ReportStore + Send + Sync + 'static {
    // ---- organisation and duty ----

    /// Every unit and user.
    fn org(&self) -> impl Future<Output = Result<(Vec<Unit>, Vec<User>)>> + Send;
    /// Creates or replaces units and users (the caller validated the whole `Org`).
    fn put_org(
        &self,
        units: &[Unit],
        users: &[User],
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<()>> + Send;
    /// Duty slots overlapping `[from, to)`, by start then position.
    fn duty(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<DutySlot>>> + Send;
    /// Adds duty slots.
    fn add_duty(
        &self,
        slots: &[NewDutySlot],
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<Vec<DutySlot>>> + Send;
    /// Removes a duty slot; false when there is none.
    fn remove_duty(
        &self,
        id: i64,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<bool>> + Send;

    // ---- cases ----

    /// The next number of a named sequence (1, 2, …), e.g. case numbers per year.
    fn next_number(&self, sequence: &str) -> impl Future<Output = Result<i64>> + Send;
    /// Stores a new case; false when a case with its id exists.
    fn create_case(
        &self,
        case: &Case,
        item_key: Option<&str>,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// Replaces a case if its stored version is `expected_version`; false otherwise
    /// (a concurrent edit, or no such case).
    fn update_case(
        &self,
        case: &Case,
        expected_version: u64,
        audit: Vec<NewEntry>,
    ) -> impl Future<Output = Result<bool>> + Send;
    /// One case.
    fn case(&self, id: &str) -> impl Future<Output = Result<Option<Case>>> + Send;
    /// Cases, most recently updated first.
    fn cases(&self, q: &CaseQuery) -> impl Future<Output = Result<Vec<Case>>> + Send;
    /// Keys of every reminder sent.
    fn reminder_keys(&self) -> impl Future<Output = Result<HashSet<String>>> + Send;
    /// Records reminders as sent. `audit[i]` is the entry of `reminders[i]` and
    /// `deliveries[i]` its messages to the channels (may be missing or empty): a reminder
    /// whose key is already stored is skipped with its entry and messages (two tickers never
    /// audit or send one reminder twice). Returns the reminders that were new.
    fn record_reminders(
        &self,
        reminders: &[ReminderRow],
        audit: Vec<NewEntry>,
        deliveries: Vec<Vec<NewOutboxEntry>>,
    ) -> impl Future<Output = Result<Vec<ReminderRow>>> + Send;
    /// Reminders of a case (or all when `None`), oldest first.
    fn reminders(
        &self,
        case_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<ReminderRow>>> + Send;

    // ---- alerts ----

    /// Raises alerts: a new one per `(event_id, level)` with its deliveries queued, else
    /// the existing one is updated (hits, last document). Each new alert is audited
    /// (`alert.raise`, actor `system`). With `cursor`, the named cursor is set in the same
    /// transaction (the follower's position: nothing is lost or raised twice on a crash).
    fn raise_alerts(
        &self,
        alerts: &[NewAlert],
        cursor: Option<(&str, i64)>,
    ) -> impl Future<Output = Result<Vec<Raised>>> + Send;
    /// A named cursor (`None` before it is first set).
    fn cursor(&self, name: &str) -> impl Future<Output = Result<Option<i64>>> + Send;
    fn alert(&self, id: i64) -> impl Future<Output = Result<Option<AlertRow>>> + Send;
    fn alerts(&self, q: &AlertQuery) -> impl Future<Output = Result<Vec<AlertRow>>> + Send;
    /// Acknowledges an alert (the first acknowledgement stands). `None`: no such alert.
    fn ack_alert(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<AlertRow>>> + Send;
    /// Records a person's verdict on an alert (a later verdict replaces it; each is
    /// audited as `alert.verdict`) and acknowledges it if nobody had. `None`: no such
    /// alert.
    fn set_alert_verdict(
        &self,
        id: i64,
        verdict: &AlertVerdict,
    ) -> impl Future<Output = Result<Option<AlertRow>>> + Send;
    /// Links an alert to the case opened from it.
    fn link_alert_case(&self, id: i64, case_id: &str) -> impl Future<Output = Result<()>> + Send;
    /// Escalation notices given for these alerts.
    fn notices(&self, alert_ids: &[i64]) -> impl Future<Output = Result<Vec<NoticeRow>>> + Send;
    /// Records notices (repeats are skipped) and queues their messages, audited.
    fn record_notices(
        &self,
        notices: &[NoticeRow],
        deliveries: &[NewOutboxEntry],
    ) -> impl Future<Output = Result<()>> + Send;

    // ---- outbox ----

    /// Queues messages; an entry whose `(alert_id, channel)` exists is left as it is.
    /// Returns the ids of the entries (new or existing), in order.
    fn outbox_enqueue(
        &self,
        entries: &[NewOutboxEntry],
    ) -> impl Future<Output = Result<Vec<i64>>> + Send;
    /// The oldest undelivered entry of every channel, among those already tried or due by
    /// `now`: an entry held back (quiet hours) and never tried does not block the entries
    /// behind it.
    fn outbox_heads(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<OutboxRow>>> + Send;
    /// Writes an entry's state back (after an attempt was handed out or recorded).
    fn outbox_update(&self, row: &OutboxRow) -> impl Future<Output = Result<()>> + Send;
    /// Every entry of a message id, by id.
    fn outbox_of(&self, alert_id: &str) -> impl Future<Output = Result<Vec<OutboxRow>>> + Send;
    /// Number of undelivered entries.
    fn outbox_pending(&self) -> impl Future<Output = Result<i64>> + Send;

    // ---- performance points ----

    /// Saves an adjustment and its audit entry (`points.adjust`) in one transaction.
    fn add_point_adjustment(
        &self,
        a: &NewPointAdjustment,
    ) -> impl Future<Output = Result<PointAdjustment>> + Send;
    /// Revokes adjustment `id` (audited `points.revoke`); `None` when there is none. One
    /// already revoked is returned as it is, and nothing is written.
    fn revoke_point_adjustment(
        &self,
        id: i64,
        by: &str,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<PointAdjustment>>> + Send;
    /// One adjustment.
    fn point_adjustment(
        &self,
        id: i64,
    ) -> impl Future<Output = Result<Option<PointAdjustment>>> + Send;
    /// The adjustments that count in `[from, to)` (revoked ones too), by time then id.
    fn point_adjustments(
        &self,
        from: DateTime<Utc>,
        to: DateTime<Utc>,
    ) -> impl Future<Output = Result<Vec<PointAdjustment>>> + Send;

    // ---- audit ----

    /// Appends entries to the chain.
    fn append_audit(
        &self,
        entries: Vec<NewEntry>,
    ) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
    /// Entries with seq > `after`, in order, at most `limit` (0: all).
    fn audit(&self, after: u64, limit: i64)
    -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
    /// Entries about one target (`case:…`), in order.
    fn audit_of(&self, target: &str) -> impl Future<Output = Result<Vec<AuditEntry>>> + Send;
}
