//! Alerting (预警) for yuqing: tell the right people, on the channels they watch, that an
//! item needs handling, and make sure the telling happened.
//!
//! - [`message`]: the [`AlertMessage`] (level, plan, title, first publisher, link, why,
//!   what to do next) and its renderings (plain text, Markdown, e-mail), with untrusted text
//!   neutralised and cut to each channel's limits.
//! - [`channels`]: [`ChannelConfig`] (one `[[channels]]` table: `webhook`, `wecom`,
//!   `dingtalk`, `feishu`, `email`) and the built [`Channel`] whose `send` delivers one
//!   message, signing it the way each vendor documents.
//! - [`outbox`]: the [`Outbox`] model of reliable delivery: retries on a deterministic
//!   schedule, nothing dropped, in order per channel, each entry delivered once, every
//!   attempt logged.
//! - [`reply`]: the [`ReplyMailer`] of `[reply_mail]`, which sends a case's approved reply
//!   to the person who wrote in (the case workflow says when and records the outcome).
//! - [`escalation`]: who on the duty list must be told by now if nobody acknowledged.
//! - [`rules`]: which judged items alert ([`AlertRule`], the built-in [`default_rules`]),
//!   the `[alerts]` table ([`AlertSettings`]) and quiet hours ([`QuietHours`]).
//!
//! The key design decision is that sending and bookkeeping are separate: a channel only
//! sends, and the outbox only decides what is due and remembers what happened, with time
//! passed in. So the outbox can be tested without a network and stepped with a
//! `yuqing_core::FixedClock`, and a store can later back the same contract
//! (`docs/specs/alerts.md`).

pub mod channels;
pub mod duration;
pub mod error;
pub mod escalation;
pub mod message;
pub mod outbox;
pub mod reply;
pub mod rules;
pub mod secret;

pub use channels::{Channel, ChannelConfig, Delivery, NoticeKind, ReportNotice, TlsMode};
pub use duration::Span;
pub use error::{AlertError, SendError};
pub use escalation::{Escalation, EscalationPolicy, Notice, escalation};
pub use message::{AlertMessage, Publisher};
pub use outbox::{
    Attempt, AttemptLog, AttemptState, Entry, EntryId, Outbox, OutboxSettings, Outcome,
    RetrySchedule,
};
pub use reply::{OutgoingReply, ReplyMailConfig, ReplyMailer};
pub use rules::{
    AlertRule, AlertSettings, Candidate, QuietHours, QuietWindow, SentimentFilter, default_rules,
};
pub use secret::Secret;
