//! `[reply_mail]`: sends a case's approved reply by e-mail to the person who wrote in (a
//! letter to 县长信箱, 书记信箱 or a complaints address), from the office's own address.
//!
//! One message to one recipient per call, nothing else: the case workflow decides when
//! (an approved reply recorded with `mail_to`, or a person's explicit resend) and records
//! who sent it, when, and what the server said (`yuqing-handling`). The message answers the
//! letter (`In-Reply-To` / `References` name its Message-ID) so that the writer's mail
//! client shows it in the same thread.

use std::time::SystemTime;

use chrono::{DateTime, Utc};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use serde::{Deserialize, Serialize};

use crate::channels::{TlsMode, error_chain, smtp_transport};
use crate::duration::Span;
use crate::error::AlertError;
use crate::secret::Secret;

/// The name `[reply_mail]` errors carry.
const SECTION: &str = "reply_mail";

/// `[reply_mail]`: the SMTP server and the office's sender address for replies.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ReplyMailConfig {
    pub host: String,
    /// Defaults by `tls`: 25, 587 or 465.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// The office's address the public writes to, `"县长信箱 <xzxx@county.gov.cn>"`.
    pub from: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub username: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    #[serde(default)]
    pub tls: TlsMode,
    /// A PEM file of the CA certificates to trust for the server instead of the system's
    /// roots (an organisation's own CA).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    /// Lines under every reply (the office's name, a phone number); none by default.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

fn default_timeout() -> Span {
    Span::secs(30)
}

/// One reply to send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingReply {
    /// The writer's address (checked by the workflow; parsed again here).
    pub to: String,
    pub subject: String,
    /// The approved wording.
    pub body: String,
    /// The letter's Message-ID (without angle brackets), when the case came from one.
    pub in_reply_to: Option<String>,
    /// This message's id, without angle brackets (see [`ReplyMailer::message_id`]).
    pub message_id: String,
}

/// The built `[reply_mail]` sender.
pub struct ReplyMailer {
    host: String,
    port: u16,
    from: Mailbox,
    signature: Option<String>,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl std::fmt::Debug for ReplyMailer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ReplyMailer")
            .field("host", &self.host)
            .field("port", &self.port)
            .field("from", &self.from.email.to_string())
            .finish_non_exhaustive()
    }
}

impl ReplyMailer {
    /// Checks `c` and builds the sender (nothing is sent).
    pub fn new(c: &ReplyMailConfig) -> Result<Self, AlertError> {
        let host = c.host.trim();
        let from: Mailbox = c.from.trim().parse().map_err(|_| {
            AlertError::config(
                SECTION,
                format!(
                    "from {:?} 不是合法的邮件地址，例如 \"县长信箱 <xzxx@county.gov.cn>\"",
                    c.from
                ),
                format!(
                    "from {:?} is not a valid address, e.g. \"Mayor's mailbox <mayor@county.gov.cn>\"",
                    c.from
                ),
            )
        })?;
        let (port, transport) = smtp_transport(
            SECTION,
            host,
            c.port,
            c.tls,
            c.ca_file.as_deref(),
            c.username.as_deref(),
            c.password.as_ref(),
            c.timeout,
        )?;
        Ok(ReplyMailer {
            host: host.to_owned(),
            port,
            from,
            signature: c
                .signature
                .as_deref()
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_owned),
            transport,
        })
    }

    /// A message id for attempt `attempt` of reply `reply` of case `case`, in the sender's
    /// domain: the same inputs give the same id, so a receiver can tell a resend of one
    /// attempt from a new one.
    pub fn message_id(&self, case: &str, reply: usize, attempt: u32) -> String {
        let case: String = case
            .chars()
            .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
            .take(64)
            .collect();
        format!(
            "yuqing.{case}.{reply}.{attempt}@{}",
            self.from.email.domain()
        )
    }

    /// Sends `reply`; `Ok` holds what the server answered (`smtp 250`). A refused address or
    /// a server that cannot be reached is an `AlertError::Smtp` saying so.
    pub async fn send(
        &self,
        reply: &OutgoingReply,
        now: DateTime<Utc>,
    ) -> Result<String, AlertError> {
        let smtp_err = |reason: String, permanent: bool| AlertError::Smtp {
            channel: SECTION.to_owned(),
            reason,
            permanent,
        };
        let to: Mailbox = reply
            .to
            .trim()
            .parse()
            .map_err(|_| smtp_err(format!("{:?} is not a valid address", reply.to), true))?;
        let mut body = reply.body.trim_end().to_owned();
        if let Some(sig) = &self.signature {
            body.push_str("\n\n");
            body.push_str(sig);
        }
        body.push('\n');
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .to(to)
            .subject(reply.subject.replace(['\r', '\n'], " "))
            .date(SystemTime::from(now))
            .message_id(Some(format!("<{}>", reply.message_id)))
            .header(ContentType::TEXT_PLAIN);
        // Only a real Message-ID (a letter without one has a made-up id, `source#…`).
        if let Some(id) = reply.in_reply_to.as_deref().filter(|id| {
            id.is_ascii()
                && id.contains('@')
                && !id.contains(['<', '>', '#', '"', ',', ';'])
                && !id
                    .chars()
                    .any(|c| c.is_ascii_whitespace() || c.is_ascii_control())
        }) {
            b = b
                .in_reply_to(format!("<{id}>"))
                .references(format!("<{id}>"));
        }
        let message = b
            .body(body)
            .map_err(|e| smtp_err(format!("cannot build the mail: {e}"), true))?;
        match self.transport.send(message).await {
            Ok(resp) => Ok(format!("smtp {}", resp.code())),
            Err(e) => Err(smtp_err(error_chain(&e), e.is_permanent())),
        }
    }

    /// `smtp://host:port`, for messages.
    pub fn endpoint(&self) -> String {
        format!("smtp://{}:{}", self.host, self.port)
    }
}
