//! The delivery outbox: every alert for every channel is an [`Entry`] that stays until a
//! channel has confirmed it, with every attempt logged.
//!
//! This is the in-memory model that a store will back later; its contract is what the store
//! must keep (see `docs/specs/alerts.md`):
//!
//! - **Nothing is dropped.** A failing entry is retried on the [`RetrySchedule`] (by
//!   default 10 s, 30 s, 1 min, 5 min, 15 min after the 1st…5th failure, then every 30 min)
//!   for as long as it takes. The schedule has no jitter, so a test (or an auditor) can
//!   tell when each attempt was due.
//! - **In order per channel.** [`Outbox::due`] hands out only the oldest undelivered entry
//!   of each channel, so a later alert is never delivered to a channel before an earlier one
//!   (head-of-line blocking is the price, and is what a duty officer expects).
//! - **Once.** An entry recorded as delivered is never handed out again, and enqueueing the
//!   same `(alert_id, channel)` twice gives back the same entry. An attempt handed out is
//!   leased: it is not handed out again until it is recorded or its lease (default 2 min,
//!   longer than any channel timeout) runs out, which is logged as `abandoned` and counts
//!   as a failure. The network itself is at-least-once (an answer can be lost after the
//!   destination acted), so payloads carry the `alert_id` for receivers to drop repeats.
//! - **Every attempt is logged** ([`AttemptLog`]: number, start, end, outcome, detail or
//!   error).
//!
//! Time is always passed in (`now`), so callers drive it from a `yuqing_core::Clock`.

use std::collections::{BTreeMap, VecDeque};
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yuqing_core::Code;

use crate::channels::Delivery;
use crate::duration::Span;
use crate::error::AlertError;
use crate::message::AlertMessage;

/// Delays before the next attempt, after the 1st, 2nd, … failure; then `then_every`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RetrySchedule {
    #[serde(default = "default_steps")]
    pub steps: Vec<Span>,
    #[serde(default = "default_then_every")]
    pub then_every: Span,
}

fn default_steps() -> Vec<Span> {
    vec![
        Span::secs(10),
        Span::secs(30),
        Span::mins(1),
        Span::mins(5),
        Span::mins(15),
    ]
}
fn default_then_every() -> Span {
    Span::mins(30)
}
fn default_lease() -> Span {
    Span::mins(2)
}

impl Default for RetrySchedule {
    fn default() -> Self {
        RetrySchedule {
            steps: default_steps(),
            then_every: default_then_every(),
        }
    }
}

impl RetrySchedule {
    /// The wait after the `failures`-th failure (1-based); 0 failures waits nothing.
    pub fn delay_after(&self, failures: u32) -> Duration {
        if failures == 0 {
            return Duration::ZERO;
        }
        let i = (failures - 1) as usize;
        self.steps.get(i).copied().unwrap_or(self.then_every).0
    }
}

/// `[alerts.outbox]`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxSettings {
    #[serde(default)]
    pub retry: RetrySchedule,
    /// How long a handed-out attempt may go unrecorded before it is abandoned.
    #[serde(default = "default_lease")]
    pub lease: Span,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        OutboxSettings {
            retry: RetrySchedule::default(),
            lease: default_lease(),
        }
    }
}

/// Identifies an entry; increases with each new entry.
pub type EntryId = u64;

/// One attempt to hand to a channel, from [`Outbox::due`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Attempt {
    pub entry: EntryId,
    /// 1 for the first attempt of the entry, then 2, …
    pub number: u32,
    pub alert_id: String,
    pub channel: String,
    pub message: AlertMessage,
    pub started_at: DateTime<Utc>,
}

/// How an attempt went, as told to [`Outbox::record`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Delivered { detail: String },
    Failed { error: String },
}

impl From<&Result<Delivery, AlertError>> for Outcome {
    fn from(r: &Result<Delivery, AlertError>) -> Self {
        match r {
            Ok(d) => Outcome::Delivered {
                detail: d.detail.clone(),
            },
            Err(e) => Outcome::Failed {
                error: e.to_string(),
            },
        }
    }
}

/// What became of one attempt.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AttemptState {
    InFlight,
    Delivered,
    Failed,
    /// Not recorded within the lease.
    Abandoned,
}

/// The log line of one attempt.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AttemptLog {
    pub number: u32,
    pub started_at: DateTime<Utc>,
    pub finished_at: Option<DateTime<Utc>>,
    pub state: AttemptState,
    /// The destination's answer, or the error.
    pub detail: String,
}

/// One alert for one channel.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Entry {
    pub id: EntryId,
    pub alert_id: String,
    pub channel: String,
    pub message: AlertMessage,
    pub enqueued_at: DateTime<Utc>,
    /// When it may next be tried (meaningful while undelivered).
    pub next_at: DateTime<Utc>,
    /// Failed (and abandoned) attempts so far.
    pub failures: u32,
    pub delivered_at: Option<DateTime<Utc>>,
    pub log: Vec<AttemptLog>,
    /// For a notice (`message.kind` = notice) that announces a saved report: its id. The
    /// sender renders the report when it sends, and e-mail attaches it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub report: Option<i64>,
    /// The attempt number in flight and when it started.
    #[serde(default)]
    lease: Option<(u32, DateTime<Utc>)>,
}

impl Entry {
    /// A new entry, first due at `next_at` (`enqueued_at`, or later in quiet hours). The
    /// message's `alert_id` is set to `alert_id`.
    pub fn new(
        id: EntryId,
        alert_id: &str,
        channel: &str,
        mut message: AlertMessage,
        enqueued_at: DateTime<Utc>,
        next_at: DateTime<Utc>,
    ) -> Self {
        message.alert_id = alert_id.to_owned();
        Entry {
            id,
            alert_id: alert_id.to_owned(),
            channel: channel.to_owned(),
            message,
            enqueued_at,
            next_at,
            failures: 0,
            delivered_at: None,
            log: Vec::new(),
            report: None,
            lease: None,
        }
    }

    /// The entry announces the saved report `id` (see [`Entry::report`]).
    pub fn with_report(mut self, id: i64) -> Self {
        self.report = Some(id);
        self
    }

    pub fn is_delivered(&self) -> bool {
        self.delivered_at.is_some()
    }

    /// Whether an attempt is handed out and not yet recorded.
    pub fn in_flight(&self) -> bool {
        self.lease.is_some()
    }

    /// When this entry can next be handed out: its `next_at`, or the end of the lease of
    /// the attempt in flight.
    pub fn wake_at(&self, settings: &OutboxSettings) -> DateTime<Utc> {
        match self.lease {
            Some((_, started)) => started + settings.lease.chrono(),
            None => self.next_at,
        }
    }

    /// Hands out an attempt when the entry is due and none is in flight (a lease past its
    /// time is logged `abandoned` and counts as a failure first). The caller must only
    /// claim the oldest undelivered entry of a channel.
    pub fn claim(&mut self, now: DateTime<Utc>, settings: &OutboxSettings) -> Option<Attempt> {
        if self.delivered_at.is_some() {
            return None;
        }
        let lease = settings.lease.chrono();
        if let Some((number, started)) = self.lease {
            if now < started + lease {
                return None;
            }
            // The attempt was lost (crash, hung task): log it and count a failure.
            if let Some(l) = self.log.iter_mut().find(|l| l.number == number) {
                l.state = AttemptState::Abandoned;
                l.finished_at = Some(now);
                l.detail = "no outcome recorded within the lease".into();
            }
            self.lease = None;
            self.failures += 1;
            self.next_at = now + chrono_delay(settings.retry.delay_after(self.failures));
        }
        if self.next_at > now {
            return None;
        }
        let number = self.log.len() as u32 + 1;
        self.log.push(AttemptLog {
            number,
            started_at: now,
            finished_at: None,
            state: AttemptState::InFlight,
            detail: String::new(),
        });
        self.lease = Some((number, now));
        Some(Attempt {
            entry: self.id,
            number,
            alert_id: self.alert_id.clone(),
            channel: self.channel.clone(),
            message: self.message.clone(),
            started_at: now,
        })
    }

    /// Records how an attempt went: delivered for good, or a failure that waits for the
    /// next step of `retry`. Recording the same attempt twice is refused (`conflict`); a
    /// success that arrives after its lease ran out still counts.
    pub fn record(
        &mut self,
        attempt: &Attempt,
        outcome: Outcome,
        now: DateTime<Utc>,
        retry: &RetrySchedule,
    ) -> Result<(), AlertError> {
        let log = self
            .log
            .iter_mut()
            .find(|l| l.number == attempt.number)
            .ok_or_else(|| {
                outbox_err(
                    Code::InvalidInput,
                    format!("条目 {} 没有第 {} 次尝试", attempt.entry, attempt.number),
                    format!("entry {} has no attempt {}", attempt.entry, attempt.number),
                )
            })?;
        let late_success =
            log.state == AttemptState::Abandoned && matches!(outcome, Outcome::Delivered { .. });
        if log.state != AttemptState::InFlight && !late_success {
            return Err(outbox_err(
                Code::Conflict,
                format!(
                    "条目 {} 的第 {} 次尝试已记录过",
                    attempt.entry, attempt.number
                ),
                format!(
                    "attempt {} of entry {} is already recorded",
                    attempt.number, attempt.entry
                ),
            ));
        }
        log.finished_at = Some(now);
        let current = self.lease.is_some_and(|(n, _)| n == attempt.number);
        match outcome {
            Outcome::Delivered { detail } => {
                log.state = AttemptState::Delivered;
                log.detail = detail;
                if self.delivered_at.is_none() {
                    self.delivered_at = Some(now);
                    if current {
                        self.lease = None;
                    }
                }
            }
            Outcome::Failed { error } => {
                log.state = AttemptState::Failed;
                log.detail = error;
                if current && self.delivered_at.is_none() {
                    self.lease = None;
                    self.failures += 1;
                    self.next_at = now + chrono_delay(retry.delay_after(self.failures));
                }
            }
        }
        tracing::debug!(
            entry = attempt.entry,
            channel = %attempt.channel,
            attempt = attempt.number,
            delivered = self.delivered_at.is_some(),
            "outbox attempt recorded"
        );
        Ok(())
    }
}

/// The outbox; see the module docs for its guarantees.
#[derive(Debug, Clone, Default)]
pub struct Outbox {
    settings: OutboxSettings,
    entries: BTreeMap<EntryId, Entry>,
    /// Undelivered entries per channel, oldest first.
    queues: BTreeMap<String, VecDeque<EntryId>>,
    by_key: BTreeMap<(String, String), EntryId>,
    next_id: EntryId,
}

fn outbox_err(code: Code, zh: String, en: String) -> AlertError {
    AlertError::Outbox { code, zh, en }
}

impl Outbox {
    pub fn new(settings: OutboxSettings) -> Self {
        Outbox {
            settings,
            next_id: 1,
            ..Outbox::default()
        }
    }

    pub fn settings(&self) -> &OutboxSettings {
        &self.settings
    }

    /// Queues `message` for `channel`, due at once (after the channel's earlier entries).
    /// Enqueueing the same `(alert_id, channel)` again returns the existing entry. The
    /// message's `alert_id` is set to `alert_id`.
    pub fn enqueue(
        &mut self,
        alert_id: &str,
        channel: &str,
        message: AlertMessage,
        now: DateTime<Utc>,
    ) -> EntryId {
        let key = (alert_id.to_owned(), channel.to_owned());
        if let Some(id) = self.by_key.get(&key) {
            return *id;
        }
        let id = self.next_id.max(1);
        self.next_id = id + 1;
        self.entries
            .insert(id, Entry::new(id, alert_id, channel, message, now, now));
        self.queues
            .entry(channel.to_owned())
            .or_default()
            .push_back(id);
        self.by_key.insert(key, id);
        id
    }

    /// The attempts to make now: at most one per channel, that channel's oldest undelivered
    /// entry, when its time has come and no attempt of it is in flight. Each is leased.
    pub fn due(&mut self, now: DateTime<Utc>) -> Vec<Attempt> {
        let mut out = Vec::new();
        for queue in self.queues.values() {
            let Some(head) = queue.front() else { continue };
            if let Some(a) = self
                .entries
                .get_mut(head)
                .and_then(|e| e.claim(now, &self.settings))
            {
                out.push(a);
            }
        }
        out.sort_by_key(|a| a.entry);
        out
    }

    /// Records how an attempt went. A delivered entry leaves its channel's queue for good;
    /// a failed one waits for the next step of the schedule. Recording the same attempt twice
    /// is refused (`conflict`).
    pub fn record(
        &mut self,
        attempt: &Attempt,
        outcome: Outcome,
        now: DateTime<Utc>,
    ) -> Result<(), AlertError> {
        let e = self.entries.get_mut(&attempt.entry).ok_or_else(|| {
            outbox_err(
                Code::NotFound,
                format!("没有编号为 {} 的待发条目", attempt.entry),
                format!("no entry {}", attempt.entry),
            )
        })?;
        e.record(attempt, outcome, now, &self.settings.retry)?;
        if e.delivered_at.is_some()
            && let Some(q) = self.queues.get_mut(&e.channel)
        {
            q.retain(|id| *id != e.id);
        }
        Ok(())
    }

    pub fn entry(&self, id: EntryId) -> Option<&Entry> {
        self.entries.get(&id)
    }

    /// Every entry, oldest first.
    pub fn entries(&self) -> impl Iterator<Item = &Entry> {
        self.entries.values()
    }

    /// Undelivered entries of a channel.
    pub fn pending(&self, channel: &str) -> usize {
        self.queues.get(channel).map_or(0, VecDeque::len)
    }

    /// The earliest time at which [`Outbox::due`] may return something, for a runner to
    /// sleep until (`None` when nothing is waiting). A time before now means "due now".
    pub fn next_due(&self) -> Option<DateTime<Utc>> {
        self.queues
            .values()
            .filter_map(|q| q.front())
            .filter_map(|id| self.entries.get(id))
            .map(|e| e.wake_at(&self.settings))
            .min()
    }
}

fn chrono_delay(d: Duration) -> chrono::Duration {
    chrono::Duration::from_std(d).unwrap_or(chrono::Duration::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::message::MessageKind;
    use chrono::TimeZone;
    use yuqing_judge::grading::Level;

    fn t0() -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2024, 5, 1, 0, 0, 0).unwrap()
    }
    fn msg(title: &str) -> AlertMessage {
        AlertMessage {
            alert_id: String::new(),
            level: Level::General,
            plan: "p".into(),
            title: title.into(),
            first_publisher: None,
            link: None,
            why: String::new(),
            why_en: None,
            found_at: t0(),
            kind: MessageKind::Alert,
            next: None,
            next_en: None,
            mention: Vec::new(),
            mention_email: Vec::new(),
            mention_feishu: Vec::new(),
        }
    }
    fn fail() -> Outcome {
        Outcome::Failed {
            error: "HTTP 500".into(),
        }
    }
    fn ok() -> Outcome {
        Outcome::Delivered {
            detail: "HTTP 200".into(),
        }
    }

    #[test]
    fn default_schedule() {
        let s = RetrySchedule::default();
        let secs: Vec<u64> = (0..8).map(|f| s.delay_after(f).as_secs()).collect();
        assert_eq!(secs, [0, 10, 30, 60, 300, 900, 1800, 1800]);
    }

    #[test]
    fn retries_on_schedule_in_order_and_once() {
        let mut o = Outbox::new(OutboxSettings::default());
        let a = o.enqueue("a1", "wecom", msg("一"), t0());
        let b = o.enqueue("a2", "wecom", msg("二"), t0());
        assert_eq!(o.enqueue("a1", "wecom", msg("一"), t0()), a, "idempotent");
        let due = o.due(t0());
        assert_eq!(due.len(), 1, "only the head of the channel");
        assert_eq!(due[0].entry, a);
        assert!(o.due(t0()).is_empty(), "leased");
        o.record(&due[0], fail(), t0()).unwrap();
        assert!(o.due(t0() + chrono::Duration::seconds(9)).is_empty());
        assert_eq!(o.next_due(), Some(t0() + chrono::Duration::seconds(10)));
        let due = o.due(t0() + chrono::Duration::seconds(10));
        assert_eq!((due[0].entry, due[0].number), (a, 2));
        o.record(&due[0], ok(), t0() + chrono::Duration::seconds(10))
            .unwrap();
        assert!(o.record(&due[0], ok(), t0()).is_err(), "recorded twice");
        let due = o.due(t0() + chrono::Duration::seconds(10));
        assert_eq!(due[0].entry, b, "then the next one");
        o.record(&due[0], ok(), t0() + chrono::Duration::seconds(11))
            .unwrap();
        assert!(o.due(t0() + chrono::Duration::days(1)).is_empty());
        let e = o.entry(a).unwrap();
        assert_eq!(e.log.len(), 2);
        assert_eq!(e.log[0].state, AttemptState::Failed);
        assert_eq!(e.log[0].detail, "HTTP 500");
        assert_eq!(e.message.alert_id, "a1");
        assert_eq!(o.pending("wecom"), 0);
    }

    #[test]
    fn channels_are_independent() {
        let mut o = Outbox::new(OutboxSettings::default());
        o.enqueue("a1", "down", msg("一"), t0());
        o.enqueue("a1", "up", msg("一"), t0());
        let due = o.due(t0());
        assert_eq!(due.len(), 2);
        for a in &due {
            let out = if a.channel == "down" { fail() } else { ok() };
            o.record(a, out, t0()).unwrap();
        }
        o.enqueue("a2", "up", msg("二"), t0());
        let due = o.due(t0());
        assert_eq!(due.len(), 1);
        assert_eq!(due[0].channel, "up");
    }

    #[test]
    fn lost_attempts_are_abandoned_and_retried() {
        let mut o = Outbox::new(OutboxSettings::default());
        let a = o.enqueue("a1", "c", msg("一"), t0());
        let first = o.due(t0()).remove(0);
        assert!(o.due(t0() + chrono::Duration::seconds(119)).is_empty());
        // Lease over: abandoned (a failure), due again after 10 s.
        assert!(o.due(t0() + chrono::Duration::seconds(120)).is_empty());
        let second = o.due(t0() + chrono::Duration::seconds(130)).remove(0);
        assert_eq!(second.number, 2);
        // The lost attempt did get through after all: recorded, entry delivered once.
        o.record(&first, ok(), t0() + chrono::Duration::seconds(131))
            .unwrap();
        o.record(&second, ok(), t0() + chrono::Duration::seconds(132))
            .unwrap();
        let e = o.entry(a).unwrap();
        assert_eq!(e.delivered_at, Some(t0() + chrono::Duration::seconds(131)));
        assert!(o.due(t0() + chrono::Duration::days(1)).is_empty());
    }

    #[test]
    fn bad_records_are_refused() {
        let mut o = Outbox::new(OutboxSettings::default());
        o.enqueue("a1", "c", msg("一"), t0());
        let mut a = o.due(t0()).remove(0);
        a.number = 7;
        assert_eq!(
            o.record(&a, ok(), t0()).unwrap_err().code(),
            Code::InvalidInput
        );
        a.entry = 99;
        assert_eq!(o.record(&a, ok(), t0()).unwrap_err().code(), Code::NotFound);
    }
}
