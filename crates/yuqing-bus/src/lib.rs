//! The message bus of yuqing (issue 7): documents travel over NATS JetStream from
//! collectors (`yuqing collect`, later) to processors (`yuqing process`, later), so that
//! collection and processing can run on different machines and processors can be added.
//!
//! This crate owns the bus and nothing else: the stream setup ([`Bus::connect`],
//! [`Bus::ensure_stream`]), publishing ([`Publisher`], `publish.rs`), consuming
//! ([`Consumer`], [`Batch`], `consume.rs`) and the message format (`wire.rs`). It knows
//! documents only as `yuqing_core::Document`; it neither prepares nor stores them.
//!
//! # Delivery: at least once, made exactly once by the store
//!
//! The bus delivers **at least once**; the store makes it **exactly once**, because a
//! document's identity is `(platform, id)` and `Store::insert` skips a document it already
//! holds. So:
//! - a collector publishes each document with `Nats-Msg-Id: <platform>:<id>`, and JetStream
//!   drops a repeat inside the duplicate window (a collector that re-polls or restarts
//!   publishes mostly nothing new); a repeat after the window is absorbed by the store;
//! - processors share one durable pull consumer (same name: messages are split between
//!   them) with explicit acks; a [`Batch`] is acked **only after the caller says it is
//!   durably stored** ([`Batch::ack_all`] after the store's commit). A processor that dies
//!   before acking leaves its messages unacked, and JetStream delivers them again (to any
//!   processor) once `ack_wait` has passed; storing them again is a no-op;
//! - a message delivered more than `max_deliver` times (a document that makes every
//!   processor fail or crash) is published to `<dead prefix>.<platform>`
//!   (`yuqing.dead.weibo`, kept by the stream `YUQING_DEAD`) with the reason, then
//!   terminated, so one poison message never blocks the stream; a payload that is not a
//!   document goes there at once.
//!
//! The server-side `max_deliver` of the consumer is unlimited: the consumer itself
//! counts deliveries and dead-letters, so a message is never silently dropped by the
//! server when the processor that would have dead-lettered it died.

mod consume;
mod error;
mod publish;
pub mod wire;

pub use consume::{Batch, Consumer, ConsumerSettings, DeadLetter};
pub use error::BusError;
pub use publish::{Published, Publisher};

use async_nats::jetstream::{self, stream};
use bytes::Bytes;
use std::time::Duration;

pub type Result<T, E = BusError> = std::result::Result<T, E>;

/// Names and limits of the streams (defaults: `YUQING_DOCS` on `yuqing.docs.>`,
/// `YUQING_DEAD` on `yuqing.dead.>`).
#[derive(Debug, Clone)]
pub struct StreamSettings {
    /// The documents' stream.
    pub stream: String,
    /// Subject prefix of documents: a document goes to `<subjects>.<platform>`.
    pub subjects: String,
    /// The dead letters' stream.
    pub dead_stream: String,
    /// Subject prefix of dead letters: `<dead_subjects>.<platform>`.
    pub dead_subjects: String,
    /// How long a document is kept in the stream (limits retention).
    pub max_age: Duration,
    /// How long a dead letter is kept.
    pub dead_max_age: Duration,
    /// A repeat of a message id inside this window is dropped by JetStream. The server
    /// remembers every id of the window, so it costs memory at high rates; repeats after
    /// it are absorbed by the store.
    pub duplicate_window: Duration,
    /// Largest size of the documents' stream in bytes (-1: unlimited); the oldest
    /// messages go first.
    pub max_bytes: i64,
}

impl Default for StreamSettings {
    fn default() -> Self {
        Self {
            stream: "YUQING_DOCS".into(),
            subjects: "yuqing.docs".into(),
            dead_stream: "YUQING_DEAD".into(),
            dead_subjects: "yuqing.dead".into(),
            max_age: Duration::from_secs(7 * 24 * 3600),
            dead_max_age: Duration::from_secs(30 * 24 * 3600),
            duplicate_window: Duration::from_secs(10 * 60),
            max_bytes: -1,
        }
    }
}

impl StreamSettings {
    /// The default settings with every stream name and subject put under `ns` (a name of
    /// letters, digits, `_` and `-`): streams `YUQING_DOCS_<NS>`, subjects
    /// `<ns>.yuqing.docs.>`. Tests and side-by-side deployments use it.
    pub fn namespaced(ns: &str) -> Self {
        let d = Self::default();
        let up = ns.to_uppercase().replace('-', "_");
        Self {
            stream: format!("{}_{up}", d.stream),
            subjects: format!("{ns}.{}", d.subjects),
            dead_stream: format!("{}_{up}", d.dead_stream),
            dead_subjects: format!("{ns}.{}", d.dead_subjects),
            ..d
        }
    }
}

/// A connection to NATS with JetStream, and the stream settings.
#[derive(Clone)]
pub struct Bus {
    url: String,
    client: async_nats::Client,
    js: jetstream::Context,
    settings: StreamSettings,
}

impl Bus {
    /// Connects with the default stream settings.
    pub async fn connect(url: &str) -> Result<Bus> {
        Self::connect_with(url, StreamSettings::default()).await
    }

    /// Connects (one attempt: an unreachable server is an error at once, not a retry
    /// loop) and checks that JetStream is available.
    pub async fn connect_with(url: &str, settings: StreamSettings) -> Result<Bus> {
        // TLS (`tls://`) needs a crypto provider; the workspace uses ring.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let client = async_nats::ConnectOptions::new()
            .name("yuqing")
            .connection_timeout(Duration::from_secs(5))
            .connect(url)
            .await
            .map_err(|source| BusError::Connect {
                url: url.to_owned(),
                source,
            })?;
        let js = jetstream::ContextBuilder::new()
            .timeout(Duration::from_secs(10))
            .build(client.clone());
        // `$JS.API.INFO` answers when JetStream is on (read as plain JSON: the client's
        // typed account info does not parse older servers' answers).
        let no_js = |reason: String| BusError::NoJetStream {
            url: url.to_owned(),
            reason,
        };
        let info = tokio::time::timeout(
            Duration::from_secs(5),
            client.request("$JS.API.INFO", Bytes::new()),
        )
        .await
        .map_err(|_| no_js("no answer to $JS.API.INFO within 5 s".into()))?
        .map_err(|e| no_js(e.to_string()))?;
        let v: serde_json::Value =
            serde_json::from_slice(&info.payload).map_err(|e| no_js(e.to_string()))?;
        if let Some(e) = v.get("error") {
            return Err(no_js(e.to_string()));
        }
        Ok(Bus {
            url: url.to_owned(),
            client,
            js,
            settings,
        })
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn settings(&self) -> &StreamSettings {
        &self.settings
    }

    /// The underlying client (for flushing, or for tests that publish raw messages).
    pub fn client(&self) -> &async_nats::Client {
        &self.client
    }

    /// The JetStream context.
    pub fn jetstream(&self) -> &jetstream::Context {
        &self.js
    }

    /// Creates the documents' and dead letters' streams, or updates them to these
    /// settings: file storage, limits retention, the duplicate window, the max age.
    pub async fn ensure_stream(&self) -> Result<()> {
        let s = &self.settings;
        self.put_stream(stream::Config {
            name: s.stream.clone(),
            description: Some("yuqing documents, one subject per platform".into()),
            subjects: vec![format!("{}.>", s.subjects)],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            max_age: s.max_age,
            max_bytes: s.max_bytes,
            duplicate_window: s.duplicate_window,
            ..Default::default()
        })
        .await?;
        self.put_stream(stream::Config {
            name: s.dead_stream.clone(),
            description: Some("yuqing dead letters: documents no processor could take".into()),
            subjects: vec![format!("{}.>", s.dead_subjects)],
            storage: stream::StorageType::File,
            retention: stream::RetentionPolicy::Limits,
            max_age: s.dead_max_age,
            duplicate_window: s.duplicate_window,
            ..Default::default()
        })
        .await
    }

    async fn put_stream(&self, config: stream::Config) -> Result<()> {
        let name = config.name.clone();
        self.js
            .create_or_update_stream(config)
            .await
            .map_err(|e| BusError::Stream {
                stream: name,
                reason: e.to_string(),
            })?;
        Ok(())
    }

    /// Deletes both streams with everything in them (tests, and starting over).
    pub async fn delete_streams(&self) -> Result<()> {
        for name in [&self.settings.stream, &self.settings.dead_stream] {
            if let Err(e) = self.js.delete_stream(name).await
                && !e.to_string().contains("not found")
            {
                return Err(BusError::Stream {
                    stream: name.clone(),
                    reason: e.to_string(),
                });
            }
        }
        Ok(())
    }

    /// Messages in the documents' stream and in the dead letters' stream.
    pub async fn stream_counts(&self) -> Result<(u64, u64)> {
        let mut out = [0u64; 2];
        for (i, name) in [&self.settings.stream, &self.settings.dead_stream]
            .into_iter()
            .enumerate()
        {
            let mut st = self
                .js
                .get_stream(name)
                .await
                .map_err(|e| BusError::Stream {
                    stream: name.clone(),
                    reason: e.to_string(),
                })?;
            out[i] = st
                .info()
                .await
                .map_err(|e| BusError::Stream {
                    stream: name.clone(),
                    reason: e.to_string(),
                })?
                .state
                .messages;
        }
        Ok((out[0], out[1]))
    }

    /// A publisher of documents.
    pub fn publisher(&self) -> Publisher {
        Publisher::new(self.clone())
    }

    /// Joins (or creates) the durable pull consumer `settings.durable`. Processors that
    /// use the same name share the messages.
    pub async fn consumer(&self, settings: ConsumerSettings) -> Result<Consumer> {
        Consumer::open(self.clone(), settings).await
    }
}
