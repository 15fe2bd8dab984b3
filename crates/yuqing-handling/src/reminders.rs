//! Case deadline reminders (催办/督办) on the alert channels: the messages that tell the
//! answerable unit, in the group chat or mailbox the office configured (`[deadlines]
//! remind_channels`), that a deadline is near or has passed. [`Cases::tick`] records the
//! reminders and queues these messages in one transaction, so each goes out once
//! (`remind:{key}` per channel), delivered and retried like alerts, held by quiet hours
//! like alerts of the case's level.
//!
//! [`Cases::tick`]: crate::cases::Cases::tick

use chrono::{DateTime, Utc};
use serde_json::Value;
use yuqing_alert::message::{AlertMessage, MessageKind};
use yuqing_alert::outbox::Entry;
use yuqing_alert::rules::QuietWindow;
use yuqing_judge::grading::{Level, beijing};
use yuqing_store::handling::NewOutboxEntry;
use yuqing_workflow::Case;
use yuqing_workflow::deadlines::{Reminder, ReminderKind};
use yuqing_workflow::org::{Org, Role};

use crate::HandlingSettings;
use crate::alerting::Contacts;
use crate::error::{HandlingError, Result};

/// Where reminders go and when they may.
#[derive(Debug, Clone)]
pub struct ReminderDelivery {
    channels: Vec<String>,
    settings: HandlingSettings,
    quiet: Option<QuietWindow>,
}

impl ReminderDelivery {
    /// From the settings; `None` when `[deadlines] remind_channels` is empty (reminders
    /// then stay on the case page and the 处置 board).
    pub fn new(settings: &HandlingSettings) -> Result<Option<Self>> {
        let channels = settings.deadlines.remind_channels.clone();
        if channels.is_empty() {
            return Ok(None);
        }
        if let Some(c) = channels
            .iter()
            .find(|c| !settings.channels.iter().any(|k| k.name() == c.as_str()))
        {
            return Err(HandlingError::invalid(
                format!(
                    "[deadlines] remind_channels 中的 {c:?} 不是已配置的预警渠道；请先在 [[channels]] 中配置，或从列表中删去"
                ),
                format!(
                    "[deadlines] remind_channels names {c:?}, which is no configured channel: add it under [[channels]] or remove it"
                ),
            ));
        }
        let quiet = settings.quiet_window()?;
        Ok(Some(Self {
            channels,
            settings: settings.clone(),
            quiet,
        }))
    }

    /// The messages of each reminder (in order), one per channel; a reminder whose case is
    /// not among `cases` gets none.
    pub fn messages(
        &self,
        due: &[Reminder],
        cases: &[Case],
        org: Option<&Org>,
        now: DateTime<Utc>,
    ) -> Vec<Vec<NewOutboxEntry>> {
        due.iter()
            .map(|r| {
                let Some(case) = cases.iter().find(|c| c.id == r.case_id) else {
                    return Vec::new();
                };
                let msg = message(r, case, org);
                let release = self
                    .settings
                    .release_at(self.quiet.as_ref(), now, msg.level);
                self.channels
                    .iter()
                    .map(|c| NewOutboxEntry {
                        alert_id: msg.alert_id.clone(),
                        channel: c.clone(),
                        enqueued_at: now,
                        next_at: release,
                        body: serde_json::to_value(Entry::new(
                            0,
                            &msg.alert_id,
                            c,
                            msg.clone(),
                            now,
                            release,
                        ))
                        .unwrap_or(Value::Null),
                    })
                    .collect()
            })
            .collect()
    }
}

/// The channel message of one reminder: the case's title and level, the case id and the
/// answerable unit by name, the reminder's text as the reason and what the unit must do;
/// the unit's liaisons are named (@ by mobile number, Cc by e-mail).
pub fn message(r: &Reminder, case: &Case, org: Option<&Org>) -> AlertMessage {
    let unit = org
        .and_then(|o| o.unit(&r.unit))
        .map_or_else(|| r.unit.clone(), |u| u.name.clone());
    let due = r.due_at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M");
    let (what_zh, what_en) = (r.what.label_zh(), r.what.as_str());
    let (kind, next, next_en) = match r.kind {
        ReminderKind::Urge => (
            MessageKind::Urge,
            format!("请{unit}在 {due}（北京时间）前完成“{what_zh}”，并在 yuqing 中登记"),
            format!(
                "{unit}: complete {what_en} before {due} (Beijing time) and record it in yuqing"
            ),
        ),
        ReminderKind::Supervise => (
            MessageKind::Supervise,
            format!("“{what_zh}”已超时，请{unit}立即办理，并在 yuqing 中登记进展"),
            format!("{what_en} is overdue: {unit} must act now and record the progress in yuqing"),
        ),
    };
    // @ the unit's liaisons (网络信息员), where the group robot can.
    let mention = org
        .map(|o| {
            Contacts::of(o.users().filter(|u| {
                u.grants
                    .iter()
                    .any(|g| g.unit == r.unit && g.role == Role::Liaison)
            }))
        })
        .unwrap_or_default();
    let mut msg = AlertMessage {
        alert_id: format!("remind:{}", r.key),
        level: case.level.unwrap_or(Level::General),
        plan: format!("{} · {unit}", case.id),
        title: case.title.clone(),
        first_publisher: None,
        link: None,
        why: r.message.zh.clone(),
        why_en: Some(r.message.en.clone()),
        found_at: case.found_at,
        kind,
        next: Some(next),
        next_en: Some(next_en),
        mention: Vec::new(),
        mention_email: Vec::new(),
        mention_feishu: Vec::new(),
    };
    mention.apply(&mut msg);
    msg
}
