//! Consuming documents (what `yuqing process` will use): a durable pull consumer shared
//! by every processor, batches, acks after the store's commit, redelivery and dead letters.
//!
//! [`Consumer::next_batch`] fetches up to `batch` messages: what is waiting at once, or,
//! when nothing is, the first message to arrive within `expires` with whatever is waiting
//! by then (so a lone document is stored without waiting for a batch to fill). Before a message reaches the
//! caller it is checked:
//! - delivered more than `max_deliver` times → published to the dead-letter subject with
//!   the reason, then terminated (`+TERM`: never delivered again);
//! - a payload that is not a document → the same at once, with the parse error.
//!
//! The rest become a [`Batch`]. The caller stores the documents and then calls
//! [`Batch::ack_all`]; [`Batch::nak_all`] asks for redelivery now (a failed store), and a
//! batch dropped without either is delivered again after `ack_wait` (a processor that
//! died). An ack that gets lost on the way has the same effect as no ack: the documents
//! come again and the store skips them.

use crate::wire::{
    DEAD_DELIVERIES_HEADER, DEAD_REASON_HEADER, DEAD_SUBJECT_HEADER, SOURCE_HEADER, decode_header,
    encode_header,
};
use crate::{Bus, BusError, Result};
use async_nats::jetstream::Message;
use async_nats::jetstream::consumer::{AckPolicy, DeliverPolicy, PullConsumer, pull};
use async_nats::jetstream::message::{AckKind, PublishMessage};
use futures::StreamExt;
use std::time::Duration;
use yuqing_core::Document;

/// How processors consume.
#[derive(Debug, Clone)]
pub struct ConsumerSettings {
    /// The durable consumer's name: processors with the same name share the messages.
    /// A new name starts at the oldest message the stream keeps (nothing is skipped).
    pub durable: String,
    /// A delivered message not acked within this time is delivered again.
    pub ack_wait: Duration,
    /// Deliveries after which a message goes to the dead-letter subject.
    pub max_deliver: i64,
    /// Most messages per batch.
    pub batch: usize,
    /// Longest wait for a batch when nothing is waiting.
    pub expires: Duration,
    /// Most messages delivered and not yet acked, over all processors (flow control).
    pub max_ack_pending: i64,
}

impl Default for ConsumerSettings {
    fn default() -> Self {
        Self {
            durable: "yuqing-process".into(),
            ack_wait: Duration::from_secs(60),
            max_deliver: 5,
            batch: 500,
            expires: Duration::from_secs(1),
            max_ack_pending: 20_000,
        }
    }
}

/// One processor's handle on the shared durable consumer.
pub struct Consumer {
    bus: Bus,
    settings: ConsumerSettings,
    inner: PullConsumer,
}

/// A message that went to the dead-letter subject (what [`Consumer::next_batch`] reports
/// in [`Batch::dead`]).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetter {
    pub subject: String,
    pub dead_subject: String,
    pub stream_sequence: u64,
    pub deliveries: i64,
    pub reason: String,
}

/// Documents fetched together, to be acked together once stored.
#[must_use = "a batch must be acked after storing (or nak'ed); dropping it means redelivery after ack_wait"]
pub struct Batch {
    /// Each document with the name of the source it came from.
    pub docs: Vec<(Document, String)>,
    /// Messages of this fetch that went to the dead-letter subject instead (already
    /// terminated; nothing to do with them).
    pub dead: Vec<DeadLetter>,
    messages: Vec<Message>,
    client: async_nats::Client,
}

impl Consumer {
    pub(crate) async fn open(bus: Bus, settings: ConsumerSettings) -> Result<Consumer> {
        let stream_name = bus.settings.stream.clone();
        let err = |reason: String| BusError::Consumer {
            stream: stream_name.clone(),
            consumer: settings.durable.clone(),
            reason,
        };
        let stream = bus
            .js
            .get_stream(&stream_name)
            .await
            .map_err(|e| err(e.to_string()))?;
        let config = pull::Config {
            durable_name: Some(settings.durable.clone()),
            description: Some("yuqing processors".into()),
            deliver_policy: DeliverPolicy::All,
            ack_policy: AckPolicy::Explicit,
            ack_wait: settings.ack_wait,
            // Unlimited on the server: we count deliveries ourselves and dead-letter, so
            // the server never drops a message silently (see the crate docs).
            max_deliver: -1,
            max_ack_pending: settings.max_ack_pending,
            ..Default::default()
        };
        // Creating a durable that exists with the same settings joins it; with changed
        // settings that the server can update (ack_wait, max_ack_pending, …) updates it.
        let inner: PullConsumer = stream
            .create_consumer(config)
            .await
            .map_err(|e| err(e.to_string()))?;
        Ok(Consumer {
            bus,
            settings,
            inner,
        })
    }

    pub fn settings(&self) -> &ConsumerSettings {
        &self.settings
    }

    /// The next batch: up to `batch` messages, waiting at most `expires` when none is
    /// waiting. May be empty (nothing arrived, or everything fetched went to dead letters).
    pub async fn next_batch(&mut self) -> Result<Batch> {
        self.fetch(self.settings.batch, self.settings.expires).await
    }

    /// [`Self::next_batch`] with another size and wait.
    pub async fn fetch(&mut self, max: usize, expires: Duration) -> Result<Batch> {
        let max = max.max(1);
        // What is waiting now, without waiting.
        let mut messages = self.pull(max, None).await?;
        if messages.is_empty() {
            // Nothing waiting: a long poll for the first message (it ends as soon as one
            // arrives, or at `expires`), then whatever came with it, without waiting. A
            // long poll for `max` would hold a lone document until `expires` (1 s by
            // default) before anyone could store it.
            messages = self.pull(1, Some(expires)).await?;
            if !messages.is_empty() && max > 1 {
                messages.extend(self.pull(max - 1, None).await?);
            }
        }
        let mut batch = Batch {
            docs: Vec::with_capacity(messages.len()),
            dead: Vec::new(),
            messages: Vec::with_capacity(messages.len()),
            client: self.bus.client.clone(),
        };
        for m in messages {
            let deliveries = m.info().map(|i| i.delivered).unwrap_or(1);
            if deliveries > self.settings.max_deliver {
                let reason = format!(
                    "delivered {deliveries} times (max_deliver {}) without being acked",
                    self.settings.max_deliver
                );
                batch
                    .dead
                    .push(self.dead_letter(m, deliveries, reason).await?);
                continue;
            }
            match serde_json::from_slice::<Document>(&m.payload) {
                Ok(doc) => {
                    let source = m
                        .headers
                        .as_ref()
                        .and_then(|h| h.get(SOURCE_HEADER))
                        .map(|v| decode_header(v.as_str()))
                        .unwrap_or_default();
                    batch.docs.push((doc, source));
                    batch.messages.push(m);
                }
                Err(e) => {
                    let reason = format!("payload is not a document: {e}");
                    batch
                        .dead
                        .push(self.dead_letter(m, deliveries, reason).await?);
                }
            }
        }
        Ok(batch)
    }

    async fn pull(&self, max: usize, expires: Option<Duration>) -> Result<Vec<Message>> {
        let fetch_err = |e: String| BusError::Fetch {
            consumer: self.settings.durable.clone(),
            reason: e,
        };
        let mut stream = match expires {
            None => self
                .inner
                .fetch()
                .max_messages(max)
                .messages()
                .await
                .map_err(|e| fetch_err(e.to_string()))?,
            Some(expires) => self
                .inner
                .batch()
                .max_messages(max)
                .expires(expires)
                .messages()
                .await
                .map_err(|e| fetch_err(e.to_string()))?,
        };
        let mut out = Vec::new();
        while let Some(m) = stream.next().await {
            out.push(m.map_err(|e| fetch_err(e.to_string()))?);
        }
        Ok(out)
    }

    /// Publishes `m` to `<dead prefix>.<platform>` (awaiting the stream's ack), then
    /// terminates it. If the process dies in between, the message comes again and is
    /// dead-lettered again under the same message id, which the dead stream drops.
    async fn dead_letter(&self, m: Message, deliveries: i64, reason: String) -> Result<DeadLetter> {
        let info = m.info().ok();
        let stream_sequence = info.as_ref().map(|i| i.stream_sequence).unwrap_or(0);
        let subject = m.subject.to_string();
        let platform = subject
            .strip_prefix(&format!("{}.", self.bus.settings.subjects))
            .unwrap_or("_");
        let dead_subject = format!("{}.{platform}", self.bus.settings.dead_subjects);
        tracing::warn!(
            subject = %subject,
            dead_subject = %dead_subject,
            stream_sequence,
            deliveries,
            reason = %reason,
            "message sent to dead letters"
        );
        let mut headers = m.headers.clone().unwrap_or_default();
        headers.insert(DEAD_REASON_HEADER, encode_header(&reason).as_str());
        headers.insert(DEAD_SUBJECT_HEADER, subject.as_str());
        headers.insert(DEAD_DELIVERIES_HEADER, deliveries.to_string().as_str());
        // Its own id: the original's would be dropped as a repeat if the same document
        // died twice, and a retry of this very dead-lettering must be dropped.
        headers.insert(
            "Nats-Msg-Id",
            format!("dead:{}:{stream_sequence}", self.bus.settings.stream).as_str(),
        );
        let publish = PublishMessage::build()
            .payload(m.payload.clone())
            .headers(headers);
        let ack = self
            .bus
            .js
            .send_publish(dead_subject.clone(), publish)
            .await
            .map_err(|e| BusError::Publish {
                subject: dead_subject.clone(),
                reason: e.to_string(),
            })?;
        ack.await.map_err(|e| BusError::Publish {
            subject: dead_subject.clone(),
            reason: e.to_string(),
        })?;
        m.ack_with(AckKind::Term).await.map_err(|e| BusError::Ack {
            reason: e.to_string(),
        })?;
        Ok(DeadLetter {
            subject,
            dead_subject,
            stream_sequence,
            deliveries,
            reason,
        })
    }
}

impl Batch {
    pub fn len(&self) -> usize {
        self.docs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.docs.is_empty()
    }

    /// Acknowledges every message: call it only after the documents are durably stored.
    /// Returns once the acks are written to the server connection.
    pub async fn ack_all(self) -> Result<()> {
        self.settle(AckKind::Ack).await
    }

    /// Asks for every message to be delivered again now (to any processor), e.g. after a
    /// failed store. Each nak counts as a delivery towards `max_deliver`.
    pub async fn nak_all(self) -> Result<()> {
        self.settle(AckKind::Nak(None)).await
    }

    /// Like [`Self::nak_all`], with the redelivery delayed by `delay` (a store that is
    /// down for a while).
    pub async fn nak_all_after(self, delay: Duration) -> Result<()> {
        self.settle(AckKind::Nak(Some(delay))).await
    }

    /// Tells JetStream the batch is still being worked on: its `ack_wait` starts again.
    pub async fn in_progress(&self) -> Result<()> {
        for m in &self.messages {
            m.ack_with(AckKind::Progress)
                .await
                .map_err(|e| BusError::Ack {
                    reason: e.to_string(),
                })?;
        }
        self.flush().await
    }

    async fn settle(self, kind: AckKind) -> Result<()> {
        for m in &self.messages {
            m.ack_with(kind).await.map_err(|e| BusError::Ack {
                reason: e.to_string(),
            })?;
        }
        self.flush().await
    }

    async fn flush(&self) -> Result<()> {
        self.client.flush().await.map_err(|e| BusError::Ack {
            reason: e.to_string(),
        })
    }
}
