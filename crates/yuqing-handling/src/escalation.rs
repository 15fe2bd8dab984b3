//! Escalating unacknowledged alerts along the duty roster (值班表).
//!
//! Who is told, in order: the people on duty when the alert was raised (roster slots by
//! position), or, with nobody on the roster, `[alerts.escalation] duty`. Person 0 is
//! responsible from the start (the alert itself reached the channels); each later person
//! is told `after` (per level) without acknowledgement, by a notice recorded once and
//! queued to every channel. See `yuqing_alert::escalation` for the timing rule.

use crate::Result;
use chrono::Duration;
use serde_json::Value;
use std::sync::Arc;
use tokio::sync::Notify;
use yuqing_alert::escalation::{EscalationPolicy, escalation};
use yuqing_alert::message::AlertMessage;
use yuqing_alert::outbox::Entry;
use yuqing_alert::rules::QuietWindow;
use yuqing_core::Clock;
use yuqing_judge::grading::Level;
use yuqing_store::HandlingStore;
use yuqing_store::handling::{AlertQuery, NewOutboxEntry, NoticeRow};

use crate::HandlingSettings;
use crate::alerting::Contacts;

/// Alerts older than this are no longer escalated.
pub(crate) const HORIZON_DAYS: i64 = 7;

/// Tells the next person on duty; see the module docs.
pub struct Escalator<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    policy: EscalationPolicy,
    channels: Vec<String>,
    quiet: Option<QuietWindow>,
    handling: HandlingSettings,
    wake: Arc<Notify>,
}

impl<S: HandlingStore> Escalator<S> {
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        settings: &HandlingSettings,
        wake: Arc<Notify>,
    ) -> Result<Self> {
        let policy = settings
            .alerts
            .escalation
            .clone()
            .unwrap_or_else(|| EscalationPolicy {
                duty: Vec::new(),
                after: yuqing_alert::Span::mins(15),
                after_by_level: Default::default(),
            });
        let quiet = settings.quiet_window()?;
        Ok(Self {
            store,
            clock,
            policy,
            channels: settings
                .channels
                .iter()
                .map(|c| c.name().to_owned())
                .collect(),
            quiet,
            handling: settings.clone(),
            wake,
        })
    }

    /// Records the notices due now; returns the new ones.
    pub async fn step(&self) -> Result<Vec<NoticeRow>> {
        let now = self.clock.now();
        let alerts = self
            .store
            .alerts(&AlertQuery {
                unacked: true,
                since: Some(now - Duration::days(HORIZON_DAYS)),
                ..Default::default()
            })
            .await?;
        if alerts.is_empty() {
            return Ok(Vec::new());
        }
        let ids: Vec<i64> = alerts.iter().map(|a| a.id).collect();
        let done: std::collections::HashSet<(i64, i64)> = self
            .store
            .notices(&ids)
            .await?
            .into_iter()
            .map(|n| (n.alert_id, n.step))
            .collect();
        let (_, users) = self.store.org().await?;
        let name_of = |id: &str| {
            users
                .iter()
                .find(|u| u.id == id)
                .map_or_else(|| id.to_owned(), |u| format!("{}（{}）", u.name, u.id))
        };
        let mut notices = Vec::new();
        let mut deliveries = Vec::new();
        for a in &alerts {
            let Some(level) = Level::from_code(a.level) else {
                continue;
            };
            let roster = self
                .store
                .duty(a.raised_at, a.raised_at + Duration::milliseconds(1))
                .await?;
            let mut duty: Vec<String> = roster.into_iter().map(|s| s.user).collect();
            duty.dedup();
            if duty.is_empty() {
                duty = self.policy.duty.clone();
            }
            if duty.is_empty() {
                continue;
            }
            let policy = EscalationPolicy {
                duty,
                ..self.policy.clone()
            };
            let esc = escalation(&policy, level, a.raised_at, None, now);
            for n in &esc.notified {
                let step = n.step as i64;
                if done.contains(&(a.id, step)) {
                    continue;
                }
                let row = NoticeRow {
                    alert_id: a.id,
                    step,
                    who: n.who.clone(),
                    at: now,
                };
                if step > 0
                    && let Ok(mut msg) = serde_json::from_value::<AlertMessage>(a.message.clone())
                {
                    let who = name_of(&n.who);
                    let wait = policy.after_for(level);
                    msg.title = format!("【升级提醒】{}", msg.title);
                    // @ the person told, where the group robot can.
                    Contacts::of(users.iter().filter(|u| u.id == n.who)).apply(&mut msg);
                    msg.why = format!(
                        "预警 {} 发出后 {wait} 内无人确认，现按值班表通知第 {} 位：{who}。{}",
                        a.id,
                        step + 1,
                        msg.why
                    );
                    msg.why_en = Some(format!(
                        "alert {} was not acknowledged within {wait}; telling person {} on duty: {who}. {}",
                        a.id,
                        step + 1,
                        msg.why_en.unwrap_or_default()
                    ));
                    let id = format!("notice:{}:{step}", a.id);
                    let release = self.handling.release_at(self.quiet.as_ref(), now, level);
                    for c in &self.channels {
                        deliveries.push(NewOutboxEntry {
                            alert_id: id.clone(),
                            channel: c.clone(),
                            enqueued_at: now,
                            next_at: release,
                            body: serde_json::to_value(Entry::new(
                                0,
                                &id,
                                c,
                                msg.clone(),
                                now,
                                release,
                            ))
                            .unwrap_or(Value::Null),
                        });
                    }
                }
                notices.push(row);
            }
        }
        if notices.is_empty() {
            return Ok(notices);
        }
        self.store.record_notices(&notices, &deliveries).await?;
        if !deliveries.is_empty() {
            self.wake.notify_one();
        }
        for n in notices.iter().filter(|n| n.step > 0) {
            tracing::info!(alert = n.alert_id, step = n.step, who = %n.who, "alert escalated");
            metrics::counter!("yuqing_alert_escalations_total").increment(1);
        }
        Ok(notices)
    }
}
