//! The one error type of this crate, [`AlertError`], with a stable [`Code`] per variant.
//!
//! Messages are `"中文 / English"` in one string (the web crate splits them). They name the
//! channel and, for HTTP channels, only the origin of the URL: robot URLs carry their key
//! or token in the query or path, so a full URL never appears in an error, a log or `Debug`.

use yuqing_core::Code;

/// Everything that can go wrong in configuring a channel, sending an alert or recording
/// an outbox attempt.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AlertError {
    /// A channel's configuration is invalid; says which key and how to fix it.
    #[error("预警渠道 {channel} 配置错误：{zh} / alert channel {channel}: {en}")]
    Config {
        channel: String,
        zh: String,
        en: String,
    },
    /// The destination could not be reached (DNS, connect, TLS, timeout, reset).
    #[error(
        "预警渠道 {channel} 无法连接 {target}：{reason} / alert channel {channel} cannot reach {target}: {reason}"
    )]
    Unreachable {
        channel: String,
        /// Origin only (`https://oapi.dingtalk.com`), never the path or query.
        target: String,
        reason: String,
    },
    /// The destination answered with a non-2xx HTTP status.
    #[error(
        "预警渠道 {channel} 收到 HTTP {status}：{body} / alert channel {channel} got HTTP {status}: {body}"
    )]
    Status {
        channel: String,
        status: u16,
        /// The start of the answer's body, cut to 300 characters.
        body: String,
    },
    /// The destination answered 2xx with an error in its body (`errcode`/`code` non-zero),
    /// or with a body that is not the vendor's JSON.
    #[error(
        "预警渠道 {channel} 被对方拒绝（错误码 {code}）：{message} / alert channel {channel} was refused (code {code}): {message}"
    )]
    Rejected {
        channel: String,
        code: i64,
        message: String,
    },
    /// The SMTP server refused the mail or the conversation failed.
    #[error(
        "预警渠道 {channel} 发送邮件失败：{reason} / alert channel {channel} failed to send mail: {reason}"
    )]
    Smtp {
        channel: String,
        reason: String,
        /// A 5xx answer: retrying the same mail is unlikely to help until someone acts.
        permanent: bool,
    },
    /// An outbox call that does not fit the outbox's state (unknown entry, bad attempt).
    #[error("发件箱：{zh} / outbox: {en}")]
    Outbox { code: Code, zh: String, en: String },
    /// `[alerts]` or an `[[alert_rules]]` table is invalid; `place` names the rule or table
    /// and the key (`alert_rules "夜间负面" channels`, `alerts.quiet_hours from`), and the
    /// text says how to fix it.
    #[error("预警设置 {place} 有误：{zh} / alert settings, {place}: {en}")]
    Settings {
        place: String,
        zh: String,
        en: String,
    },
}

/// What [`crate::Channel::send`] returns on failure: the crate error.
pub type SendError = AlertError;

impl AlertError {
    /// The stable error code of this error.
    pub fn code(&self) -> Code {
        match self {
            AlertError::Config { .. } | AlertError::Settings { .. } => Code::InvalidInput,
            AlertError::Unreachable { .. }
            | AlertError::Status { .. }
            | AlertError::Rejected { .. }
            | AlertError::Smtp { .. } => Code::Unavailable,
            AlertError::Outbox { code, .. } => *code,
        }
    }

    pub(crate) fn settings(
        place: impl Into<String>,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        AlertError::Settings {
            place: place.into(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub(crate) fn config(channel: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        AlertError::Config {
            channel: channel.to_owned(),
            zh: zh.into(),
            en: en.into(),
        }
    }
}
