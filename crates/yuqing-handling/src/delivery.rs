//! Delivering queued messages (the stored outbox) through the configured channels.
//!
//! The per-entry rules (lease, retry schedule, attempt log) are `yuqing_alert::outbox::Entry`'s;
//! this module keeps them durable: an attempt is written as in flight before the channel
//! is called and its outcome after, so a crash mid-send shows as an `abandoned` attempt
//! that is retried when its lease runs out. Only the oldest undelivered entry of a
//! channel is tried (in order per channel); channels are tried side by side. A notice
//! entry (a scheduled report's announcement, or word that one failed) is sent as a
//! notice; a report's Word file is rendered at each attempt for e-mail to attach.

use crate::reports::schedule::{attachment_of, notice_of};
use crate::{HandlingError, Result};
use chrono::{DateTime, Utc};
use futures::future::join_all;
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;
use yuqing_alert::message::MessageKind;
use yuqing_alert::outbox::{Entry, OutboxSettings, Outcome};
use yuqing_alert::{Channel, ChannelConfig};
use yuqing_core::{Clock, Code};
use yuqing_store::HandlingStore;
use yuqing_store::handling::OutboxRow;

/// What one pass did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Pass {
    pub delivered: usize,
    pub failed: usize,
    /// The earliest time something is due next (`None`: nothing is waiting).
    pub next_at: Option<DateTime<Utc>>,
}

/// Sends the outbox; see the module docs.
pub struct Dispatcher<S> {
    store: Arc<S>,
    clock: Arc<dyn Clock>,
    channels: HashMap<String, Arc<Channel>>,
    settings: OutboxSettings,
    wake: Arc<Notify>,
    /// How announced reports are rendered for e-mail (`[report]`'s font).
    report_options: yuqing_report::RenderOptions,
}

impl<S: HandlingStore> Dispatcher<S> {
    /// Builds the channels (a bad channel config is an error here, not at first send).
    pub fn new(
        store: Arc<S>,
        clock: Arc<dyn Clock>,
        channels: &[ChannelConfig],
        settings: OutboxSettings,
        wake: Arc<Notify>,
    ) -> Result<Self> {
        let mut built = HashMap::new();
        for c in channels {
            built.insert(c.name().to_owned(), Arc::new(c.build()?));
        }
        Ok(Self {
            store,
            clock,
            channels: built,
            settings,
            wake,
            report_options: yuqing_report::RenderOptions::default(),
        })
    }

    /// Renders announced reports with these options (`[report]`'s font).
    pub fn with_report_options(mut self, options: yuqing_report::RenderOptions) -> Self {
        self.report_options = options;
        self
    }

    /// Tries every channel's head once if it is due.
    pub async fn pass(&self) -> Result<Pass> {
        let now = self.clock.now();
        let heads = self.store.outbox_heads(now).await?;
        let mut pass = Pass::default();
        let mut sends = Vec::new();
        for row in heads {
            let Some(channel) = self.channels.get(&row.channel).cloned() else {
                tracing::warn!(channel = %row.channel, entry = row.id, "queued for a channel that is no longer configured");
                continue;
            };
            let mut entry: Entry = serde_json::from_value(row.body.clone()).map_err(|e| {
                HandlingError::refused(
                    Code::Internal,
                    format!("待发条目 {} 无法读取：{e}", row.id),
                    format!("outbox entry {} cannot be read: {e}", row.id),
                )
            })?;
            let Some(attempt) = entry.claim(now, &self.settings) else {
                let wake = entry.wake_at(&self.settings);
                pass.next_at = Some(pass.next_at.map_or(wake, |n: DateTime<Utc>| n.min(wake)));
                continue;
            };
            self.save(&row, &entry).await?;
            let notice = (entry.message.kind == MessageKind::Notice).then(|| {
                (
                    entry.clone(),
                    self.store.clone(),
                    self.report_options.clone(),
                )
            });
            sends.push(async move {
                let sent = match notice {
                    Some((e, store, options)) => {
                        let file = match e.report {
                            Some(id) => attachment_of(&*store, id, options).await,
                            None => None,
                        };
                        channel
                            .send_notice(&notice_of(&e, file), attempt.started_at)
                            .await
                    }
                    None => channel.send(&attempt.message, attempt.started_at).await,
                };
                let outcome = Outcome::from(&sent);
                (row, entry, attempt, outcome)
            });
        }
        for (row, mut entry, attempt, outcome) in join_all(sends).await {
            let ok = matches!(outcome, Outcome::Delivered { .. });
            let label = if ok { "delivered" } else { "failed" };
            if let Outcome::Failed { error } = &outcome {
                tracing::warn!(channel = %row.channel, entry = row.id, attempt = attempt.number, %error, "delivery failed; will retry");
            }
            metrics::counter!("yuqing_alert_deliveries_total", "channel" => row.channel.clone(), "outcome" => label)
                .increment(1);
            entry.record(&attempt, outcome, self.clock.now(), &self.settings.retry)?;
            self.save(&row, &entry).await?;
            if ok {
                pass.delivered += 1;
            } else {
                pass.failed += 1;
                let wake = entry.wake_at(&self.settings);
                pass.next_at = Some(pass.next_at.map_or(wake, |n| n.min(wake)));
            }
        }
        Ok(pass)
    }

    async fn save(&self, row: &OutboxRow, entry: &Entry) -> Result<()> {
        let mut r = row.clone();
        r.next_at = entry.next_at;
        r.delivered_at = entry.delivered_at;
        r.attempts = entry.log.len() as i64;
        r.body = serde_json::to_value(entry).unwrap_or(Value::Null);
        self.store.outbox_update(&r).await?;
        Ok(())
    }

    /// Passes until nothing more is due now (a delivered head makes the next one due).
    pub async fn drain(&self) -> Result<Pass> {
        let mut total = Pass::default();
        loop {
            let p = self.pass().await?;
            total.delivered += p.delivered;
            total.failed += p.failed;
            total.next_at = p.next_at;
            if p.delivered == 0 {
                return Ok(total);
            }
        }
    }

    /// Delivers for ever: after each drain, waits for `wake`, the next due time or `idle`,
    /// whichever comes first.
    pub async fn run(self, idle: Duration) {
        loop {
            let wait = match self.drain().await {
                Ok(p) => p
                    .next_at
                    .map(|t| (t - self.clock.now()).to_std().unwrap_or(Duration::ZERO))
                    .map_or(idle, |d| d.min(idle)),
                Err(e) => {
                    tracing::error!(error = %e, "delivering alerts failed; retrying");
                    idle
                }
            };
            let _ = tokio::time::timeout(wait, self.wake.notified()).await;
        }
    }
}
