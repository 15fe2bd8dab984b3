//! Alert channels: where an [`AlertMessage`] goes. One `[[channels]]` table is one
//! [`ChannelConfig`] (tagged by `type`: `webhook`, `wecom`, `dingtalk`, `feishu`, `email`;
//! unknown keys refused); [`ChannelConfig::build`] validates it and returns a [`Channel`],
//! whose [`Channel::send`] delivers one message and says how it went.
//!
//! - `webhook`: POSTs the generic JSON of [`webhook_payload`], with optional headers and an
//!   optional `Authorization: Bearer` secret.
//! - `wecom` (企业微信群机器人): `{"msgtype":"markdown","markdown":{"content":…}}`, content
//!   at most 4096 bytes; success is `{"errcode":0}`.
//! - `dingtalk` (钉钉自定义机器人): `{"msgtype":"markdown","markdown":{"title","text"}}`;
//!   with a `secret` (加签) the URL gets `&timestamp=<ms>&sign=<urlencode(base64(HmacSHA256(
//!   key = secret, msg = timestamp + "\n" + secret)))>` ([`dingtalk_sign`]);
//!   success is `{"errcode":0}`.
//! - `feishu` (飞书自定义机器人): `{"msg_type":"text","content":{"text":…}}`, plus
//!   `timestamp` (seconds, a string) and `sign` = base64(HmacSHA256(key = timestamp +
//!   "\n" + secret, msg = empty)) ([`feishu_sign`]) in the body when a secret is set; success is
//!   `{"code":0}` (or the older `{"StatusCode":0}`). Plain text is used rather than `post`
//!   rich text: Feishu turns URLs in text into links, and text carries no markup to inject
//!   (the `<at>` tag is neutralised by replacing `<` and `>`).
//! - `email`: SMTP through lettre (rustls with ring; no OpenSSL), `tls` = `starttls`
//!   (default, port 587), `tls` (implicit TLS, port 465) or `none` (port 25; credentials
//!   are refused over it).
//!
//! An HTTP 2xx with a vendor error in the body is a failure ([`AlertError::Rejected`]).
//! Destinations are set by an administrator, so private and loopback addresses are allowed;
//! the URL must be `http` or `https`. Robot URLs carry their key in the query or the path,
//! so configs, channels and errors print only the URL's origin, and secrets print as `***`.
//! Every request has a total timeout (`timeout`, default 10 s) and no redirects are followed.

use std::collections::BTreeMap;
use std::fmt;
use std::time::{Duration, SystemTime};

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, Utc};
use hmac::{Hmac, Mac};
use lettre::message::Mailbox;
use lettre::message::header::ContentType;
use lettre::transport::smtp::authentication::Credentials;
use lettre::transport::smtp::client::{Certificate, CertificateStore, Tls, TlsParameters};
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};
use sha2::Sha256;
use url::Url;
use yuqing_core::Lang;

use crate::duration::Span;
use crate::error::{AlertError, SendError};
use crate::message::{AlertMessage, cut_bytes, cut_chars, one_line};
use crate::secret::Secret;

/// WeCom's limit for `markdown.content`, in bytes.
pub const WECOM_MAX_BYTES: usize = 4096;
/// WeCom's limit for `text.content`, in bytes.
pub const WECOM_TEXT_MAX_BYTES: usize = 2048;
/// Our limit for DingTalk's `markdown.text`, in bytes (DingTalk documents no exact one).
pub const DINGTALK_MAX_BYTES: usize = 5000;
/// Our limit for Feishu's `content.text`, in bytes (the request body must stay below 20 KB).
pub const FEISHU_MAX_BYTES: usize = 8000;
/// Our limit for the `text` field of the generic webhook, in bytes.
pub const WEBHOOK_TEXT_MAX_BYTES: usize = 16 * 1024;
/// Largest answer body read from a destination.
const MAX_ANSWER_BYTES: usize = 64 * 1024;

fn default_timeout() -> Span {
    Span::secs(10)
}

/// One `[[channels]]` table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ChannelConfig {
    Webhook(WebhookConfig),
    Wecom(WecomConfig),
    Dingtalk(DingtalkConfig),
    Feishu(FeishuConfig),
    Email(EmailConfig),
}

/// `type = "webhook"`: a generic JSON POST.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WebhookConfig {
    /// Unique channel name, used in logs, errors and the outbox.
    pub name: String,
    /// `http(s)` URL receiving the POST.
    pub url: Secret,
    /// Extra request headers (values are secrets).
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Secret>,
    /// Sent as `Authorization: Bearer <bearer>`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bearer: Option<Secret>,
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    /// Language of the rendered `text` (`zh-CN` or `en`).
    #[serde(default)]
    pub lang: Lang,
}

/// `type = "wecom"`: a 企业微信 group robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct WecomConfig {
    pub name: String,
    /// The robot's webhook URL, `https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…`.
    pub url: Secret,
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    #[serde(default)]
    pub lang: Lang,
}

/// `type = "dingtalk"`: a 钉钉 custom robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DingtalkConfig {
    pub name: String,
    /// `https://oapi.dingtalk.com/robot/send?access_token=…`.
    pub url: Secret,
    /// The 加签 secret (`SEC…`), when the robot has signing on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    #[serde(default)]
    pub lang: Lang,
}

/// `type = "feishu"`: a 飞书 custom robot.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FeishuConfig {
    pub name: String,
    /// `https://open.feishu.cn/open-apis/bot/v2/hook/…`.
    pub url: Secret,
    /// The signing secret (签名校验), when the robot has it on.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub secret: Option<Secret>,
    #[serde(default = "default_timeout")]
    pub timeout: Span,
    #[serde(default)]
    pub lang: Lang,
}

/// How the SMTP connection is secured.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TlsMode {
    /// Plain connection; only for a relay on a trusted network. Credentials are refused.
    None,
    /// Plain connection upgraded with STARTTLS, which is required (port 587).
    #[default]
    Starttls,
    /// TLS from the first byte (port 465).
    Tls,
}

/// `type = "email"`: SMTP.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmailConfig {
    pub name: String,
    pub host: String,
    /// Defaults by `tls`: 25, 587 or 465.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub port: Option<u16>,
    /// Sender, `"舆情系统 <yuqing@example.org>"` or a bare address.
    pub from: String,
    /// Recipients.
    pub to: Vec<String>,
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
    #[serde(default)]
    pub lang: Lang,
    /// Copy (Cc) a message to the people it names who have an e-mail address (the first on
    /// duty, the person an escalation tells, the liaisons a reminder chases). Default true.
    #[serde(default = "yes", skip_serializing_if = "is_true")]
    pub cc_mentioned: bool,
}

fn yes() -> bool {
    true
}

fn is_true(b: &bool) -> bool {
    *b
}

impl ChannelConfig {
    /// The channel's name.
    pub fn name(&self) -> &str {
        match self {
            ChannelConfig::Webhook(c) => &c.name,
            ChannelConfig::Wecom(c) => &c.name,
            ChannelConfig::Dingtalk(c) => &c.name,
            ChannelConfig::Feishu(c) => &c.name,
            ChannelConfig::Email(c) => &c.name,
        }
    }

    /// The `type` value.
    pub fn kind(&self) -> &'static str {
        match self {
            ChannelConfig::Webhook(_) => "webhook",
            ChannelConfig::Wecom(_) => "wecom",
            ChannelConfig::Dingtalk(_) => "dingtalk",
            ChannelConfig::Feishu(_) => "feishu",
            ChannelConfig::Email(_) => "email",
        }
    }

    /// Validates the table and builds the channel.
    pub fn build(&self) -> Result<Channel, AlertError> {
        let name = self.name();
        check_name(name)?;
        let (kind, lang) = match self {
            ChannelConfig::Webhook(c) => {
                let url = http_url(name, &c.url, "https://alerts.example.org/hook")?;
                let mut headers = HeaderMap::new();
                for (k, v) in &c.headers {
                    let hn = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                        AlertError::config(
                            name,
                            format!("headers 中的名称 {k:?} 不是合法的 HTTP 头名"),
                            format!("header name {k:?} in headers is not a valid HTTP header name"),
                        )
                    })?;
                    headers.insert(hn, sensitive(name, k, v.expose())?);
                }
                if let Some(b) = &c.bearer {
                    if b.expose().trim().is_empty() {
                        return Err(AlertError::config(
                            name,
                            "bearer 为空：请删除该项或填写令牌",
                            "bearer is empty: remove the key or give the token",
                        ));
                    }
                    headers.insert(
                        header::AUTHORIZATION,
                        sensitive(name, "bearer", &format!("Bearer {}", b.expose().trim()))?,
                    );
                }
                (
                    Kind::Webhook {
                        http: Http::new(name, url, c.timeout)?,
                        headers,
                    },
                    c.lang,
                )
            }
            ChannelConfig::Wecom(c) => {
                let url = http_url(
                    name,
                    &c.url,
                    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
                )?;
                require_param(
                    name,
                    &url,
                    "key",
                    "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…",
                )?;
                (
                    Kind::Wecom {
                        http: Http::new(name, url, c.timeout)?,
                    },
                    c.lang,
                )
            }
            ChannelConfig::Dingtalk(c) => {
                let url = http_url(
                    name,
                    &c.url,
                    "https://oapi.dingtalk.com/robot/send?access_token=…",
                )?;
                require_param(
                    name,
                    &url,
                    "access_token",
                    "https://oapi.dingtalk.com/robot/send?access_token=…",
                )?;
                if url
                    .query_pairs()
                    .any(|(k, _)| k == "sign" || k == "timestamp")
                {
                    return Err(AlertError::config(
                        name,
                        "url 中不要带 timestamp/sign：它们每次发送时计算；请把加签密钥写在 secret 中",
                        "do not put timestamp/sign in url: they are computed per send; put the signing secret in `secret`",
                    ));
                }
                (
                    Kind::Dingtalk {
                        http: Http::new(name, url, c.timeout)?,
                        secret: non_empty_secret(name, c.secret.as_ref())?,
                    },
                    c.lang,
                )
            }
            ChannelConfig::Feishu(c) => {
                let url = http_url(
                    name,
                    &c.url,
                    "https://open.feishu.cn/open-apis/bot/v2/hook/…",
                )?;
                (
                    Kind::Feishu {
                        http: Http::new(name, url, c.timeout)?,
                        secret: non_empty_secret(name, c.secret.as_ref())?,
                    },
                    c.lang,
                )
            }
            ChannelConfig::Email(c) => (Kind::Email(Box::new(Smtp::new(c)?)), c.lang),
        };
        Ok(Channel {
            name: name.to_owned(),
            lang,
            kind,
        })
    }
}

fn check_name(name: &str) -> Result<(), AlertError> {
    if name.trim().is_empty() || name.chars().count() > 64 || name.chars().any(char::is_control) {
        return Err(AlertError::config(
            if name.is_empty() { "-" } else { name },
            "name 必须是 1–64 个字符的一行文字，且各渠道不重复",
            "name must be one line of 1–64 characters, unique among channels",
        ));
    }
    Ok(())
}

fn http_url(channel: &str, raw: &Secret, example: &str) -> Result<Url, AlertError> {
    let bad = |zh: &str, en: &str| {
        AlertError::config(
            channel,
            format!("url {zh}；应写成 {example}"),
            format!("url {en}; write it as {example}"),
        )
    };
    let url =
        Url::parse(raw.expose().trim()).map_err(|_| bad("不是合法的网址", "is not a valid URL"))?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad(
            "只能是 http 或 https 地址",
            "must be an http or https URL",
        ));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(bad("缺少主机名", "has no host"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(bad(
            "不能包含用户名或密码（请用 headers 或 bearer）",
            "must not contain a user name or password (use headers or bearer)",
        ));
    }
    Ok(url)
}

fn require_param(channel: &str, url: &Url, param: &str, example: &str) -> Result<(), AlertError> {
    if url
        .query_pairs()
        .any(|(k, v)| k == param && !v.trim().is_empty())
    {
        return Ok(());
    }
    Err(AlertError::config(
        channel,
        format!("url 缺少 {param} 参数：请粘贴机器人的完整 Webhook 地址，形如 {example}"),
        format!(
            "url has no {param} parameter: paste the robot's whole webhook URL, like {example}"
        ),
    ))
}

fn non_empty_secret(channel: &str, s: Option<&Secret>) -> Result<Option<Secret>, AlertError> {
    match s {
        Some(s) if s.expose().trim().is_empty() => Err(AlertError::config(
            channel,
            "secret 为空：请删除该项（未开启加签）或填写机器人的签名密钥",
            "secret is empty: remove the key (signing off) or give the robot's signing secret",
        )),
        Some(s) => Ok(Some(Secret::new(s.expose().trim()))),
        None => Ok(None),
    }
}

fn sensitive(channel: &str, key: &str, v: &str) -> Result<HeaderValue, AlertError> {
    let mut value = HeaderValue::from_str(v).map_err(|_| {
        AlertError::config(
            channel,
            format!("{key} 的值含有非法字符（只能用可见 ASCII 字符）"),
            format!("the value of {key} contains invalid characters (use printable ASCII)"),
        )
    })?;
    value.set_sensitive(true);
    Ok(value)
}

/// DingTalk 加签: base64(HmacSHA256(key = secret, msg = `timestamp_ms` + "\n" + secret)).
/// The caller URL-encodes it into the query.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let string_to_sign = format!("{timestamp_ms}\n{secret}");
    hmac_sha256_base64(secret.as_bytes(), string_to_sign.as_bytes())
}

/// Feishu signature: base64(HmacSHA256(key = `timestamp_s` + "\n" + secret, msg = empty)).
pub fn feishu_sign(secret: &str, timestamp_s: i64) -> String {
    let string_to_sign = format!("{timestamp_s}\n{secret}");
    hmac_sha256_base64(string_to_sign.as_bytes(), b"")
}

fn hmac_sha256_base64(key: &[u8], msg: &[u8]) -> String {
    // HMAC takes keys of any length, so this never fails.
    let Ok(mut mac) = Hmac::<Sha256>::new_from_slice(key) else {
        return String::new();
    };
    mac.update(msg);
    BASE64.encode(mac.finalize().into_bytes())
}

/// The JSON the generic `webhook` channel POSTs (see `docs/specs/alerts.md`).
pub fn webhook_payload(msg: &AlertMessage, lang: Lang, now: DateTime<Utc>) -> Value {
    json!({
        "version": 1,
        "kind": msg.kind.as_str(),
        "alert_id": msg.alert_id,
        "level": msg.level.as_str(),
        "level_label": msg.level_label(lang),
        "plan": cut_chars(&one_line(&msg.plan), 200),
        "title": cut_chars(&one_line(&msg.title), 1000),
        "first_publisher": msg.first_publisher.as_ref().map(|p| json!({
            "name": cut_chars(&one_line(&p.name), 200),
            "time": p.time,
        })),
        "link": msg.link.as_deref().map(|l| cut_bytes(l.trim(), 4096)),
        "why": cut_chars(msg.why_in(lang), 4000),
        "next_step": cut_chars(&one_line(msg.next_step(lang)), 1000),
        "mention": msg.mention,
        "mention_email": msg.mention_email,
        "mention_feishu": msg.mention_feishu,
        "found_at": msg.found_at,
        "sent_at": now,
        "text": msg.render_text_within(lang, WEBHOOK_TEXT_MAX_BYTES),
    })
}

/// The WeCom robot body: Markdown, or, with people to @ (whom WeCom's Markdown cannot
/// mention by mobile), plain text with `mentioned_mobile_list`.
pub fn wecom_payload(msg: &AlertMessage, lang: Lang) -> Value {
    if msg.mention.is_empty() {
        return json!({
            "msgtype": "markdown",
            "markdown": { "content": msg.render_markdown_within(lang, WECOM_MAX_BYTES) },
        });
    }
    json!({
        "msgtype": "text",
        "text": {
            "content": msg.render_text_within(lang, WECOM_TEXT_MAX_BYTES),
            "mentioned_mobile_list": msg.mention,
        },
    })
}

/// The DingTalk robot body (the signature goes in the URL).
pub fn dingtalk_payload(msg: &AlertMessage, lang: Lang) -> Value {
    let mut body = json!({
        "msgtype": "markdown",
        "markdown": {
            "title": msg.headline(lang, 40),
            "text": msg.render_markdown_within(lang, DINGTALK_MAX_BYTES),
        },
    });
    if !msg.mention.is_empty() {
        // DingTalk @s a number listed in `at` whose `@number` is in the text.
        let ats: Vec<String> = msg.mention.iter().map(|m| format!("@{m}")).collect();
        let text = msg.render_markdown_within(
            lang,
            DINGTALK_MAX_BYTES.saturating_sub(ats.join(" ").len() + 2),
        );
        body["markdown"]["text"] = json!(format!("{text}\n\n{}", ats.join(" ")));
        body["at"] = json!({ "atMobiles": msg.mention, "isAtAll": false });
    }
    body
}

/// The Feishu robot body; `sign` is `(timestamp_s, signature)` when signing is on. The
/// people to @ (`mention_feishu`: Feishu open_ids or user_ids, the only way a custom robot
/// can @) get `<at user_id="…"></at>` tags on a last line of their own, after the
/// neutralised text; an id that is not `[A-Za-z0-9_-]{1,64}` is left out, so nothing from
/// it can form markup.
pub fn feishu_payload(msg: &AlertMessage, lang: Lang, sign: Option<(i64, String)>) -> Value {
    let ats: Vec<String> = msg
        .mention_feishu
        .iter()
        .filter(|id| inert_feishu_id(id))
        .take(MAX_FEISHU_ATS)
        .map(|id| format!("<at user_id=\"{id}\"></at>"))
        .collect();
    let tail = ats.join(" ");
    let text = msg.render_text_within(lang, FEISHU_MAX_BYTES - tail.len() - 1);
    let mut body = feishu_body(&text, sign);
    if !tail.is_empty() {
        body["content"]["text"] = Value::String(format!(
            "{}\n{tail}",
            body["content"]["text"].as_str().unwrap_or_default()
        ));
    }
    body
}

/// At most this many people are @-mentioned in one Feishu message (the tags then take at
/// most 20 × 85 bytes of the text's limit).
const MAX_FEISHU_ATS: usize = 20;

/// Whether `id` can go into an `<at>` tag as it is: 1 to 64 ASCII letters, digits, `_` or
/// `-` (what Feishu open_ids and user_ids are made of; the organisation checks the same
/// when it is saved).
fn inert_feishu_id(id: &str) -> bool {
    (1..=64).contains(&id.len())
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'_' || b == b'-')
}

/// A Feishu text body (`<` and `>` neutralised), signed when `sign` is given.
fn feishu_body(text: &str, sign: Option<(i64, String)>) -> Value {
    let text: String = text
        .chars()
        .map(|c| match c {
            '<' => '＜',
            '>' => '＞',
            c => c,
        })
        .collect();
    let mut body = json!({
        "msg_type": "text",
        "content": { "text": text },
    });
    if let (Some((ts, sig)), Some(obj)) = (sign, body.as_object_mut()) {
        obj.insert("timestamp".into(), Value::String(ts.to_string()));
        obj.insert("sign".into(), Value::String(sig));
    }
    body
}

/// The DingTalk URL, with `timestamp` and `sign` when a secret is set.
fn dingtalk_url(url: &Url, secret: Option<&Secret>, now: DateTime<Utc>) -> Url {
    let mut url = url.clone();
    if let Some(s) = secret {
        let ts = now.timestamp_millis();
        let sign = dingtalk_sign(s.expose(), ts);
        url.query_pairs_mut()
            .append_pair("timestamp", &ts.to_string())
            .append_pair("sign", &sign);
    }
    url
}

/// Feishu's `(timestamp, sign)` when a secret is set.
fn feishu_sign_now(secret: Option<&Secret>, now: DateTime<Utc>) -> Option<(i64, String)> {
    secret.map(|s| {
        let ts = now.timestamp();
        (ts, feishu_sign(s.expose(), ts))
    })
}

/// A successful send.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Delivery {
    pub channel: String,
    pub at: DateTime<Utc>,
    /// What the destination said (`HTTP 200`, `smtp 250`).
    pub detail: String,
}

/// A built, validated channel.
pub struct Channel {
    name: String,
    lang: Lang,
    kind: Kind,
}

enum Kind {
    Webhook { http: Http, headers: HeaderMap },
    Wecom { http: Http },
    Dingtalk { http: Http, secret: Option<Secret> },
    Feishu { http: Http, secret: Option<Secret> },
    Email(Box<Smtp>),
}

impl fmt::Debug for Channel {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let target = match &self.kind {
            Kind::Webhook { http, .. }
            | Kind::Wecom { http }
            | Kind::Dingtalk { http, .. }
            | Kind::Feishu { http, .. } => origin(&http.url),
            Kind::Email(s) => format!("smtp://{}:{}", s.host, s.port),
        };
        f.debug_struct("Channel")
            .field("name", &self.name)
            .field("type", &self.kind_str())
            .field("target", &target)
            .finish()
    }
}

impl Channel {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The `type` of the channel.
    pub fn kind_str(&self) -> &'static str {
        match self.kind {
            Kind::Webhook { .. } => "webhook",
            Kind::Wecom { .. } => "wecom",
            Kind::Dingtalk { .. } => "dingtalk",
            Kind::Feishu { .. } => "feishu",
            Kind::Email(_) => "email",
        }
    }

    pub fn lang(&self) -> Lang {
        self.lang
    }

    /// Sends one message. `now` stamps the delivery and the signatures.
    pub async fn send(
        &self,
        msg: &AlertMessage,
        now: DateTime<Utc>,
    ) -> Result<Delivery, SendError> {
        let detail = match &self.kind {
            Kind::Webhook { http, headers } => {
                let body = webhook_payload(msg, self.lang, now);
                let (status, _) = http
                    .post(&self.name, http.url.clone(), &body, headers)
                    .await?;
                format!("HTTP {status}")
            }
            Kind::Wecom { http } => {
                let body = wecom_payload(msg, self.lang);
                let (status, answer) = http
                    .post(&self.name, http.url.clone(), &body, &HeaderMap::new())
                    .await?;
                check_errcode(&self.name, &answer, "errcode", "errmsg")?;
                format!("HTTP {status}")
            }
            Kind::Dingtalk { http, secret } => {
                let url = dingtalk_url(&http.url, secret.as_ref(), now);
                let body = dingtalk_payload(msg, self.lang);
                let (status, answer) = http.post(&self.name, url, &body, &HeaderMap::new()).await?;
                check_errcode(&self.name, &answer, "errcode", "errmsg")?;
                format!("HTTP {status}")
            }
            Kind::Feishu { http, secret } => {
                let sign = feishu_sign_now(secret.as_ref(), now);
                let body = feishu_payload(msg, self.lang, sign);
                let (status, answer) = http
                    .post(&self.name, http.url.clone(), &body, &HeaderMap::new())
                    .await?;
                check_feishu(&self.name, &answer)?;
                format!("HTTP {status}")
            }
            Kind::Email(smtp) => smtp.send(&self.name, msg, self.lang, now).await?,
        };
        tracing::debug!(channel = %self.name, kind = self.kind_str(), %detail, "alert sent");
        Ok(Delivery {
            channel: self.name.clone(),
            at: now,
            detail,
        })
    }
}

/// scheme://host[:port] of a URL: what errors and logs may show.
fn origin(url: &Url) -> String {
    url.origin().ascii_serialization()
}

struct Http {
    url: Url,
    client: reqwest::Client,
    timeout: Duration,
}

impl Http {
    fn new(channel: &str, url: Url, timeout: Span) -> Result<Self, AlertError> {
        // reqwest is built without a default crypto provider; installing one twice is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        if timeout.0.is_zero() {
            return Err(AlertError::config(
                channel,
                "timeout 不能为 0",
                "timeout cannot be 0",
            ));
        }
        let client = reqwest::Client::builder()
            .user_agent(concat!("yuqing-alert/", env!("CARGO_PKG_VERSION")))
            .timeout(timeout.0)
            .connect_timeout(timeout.0.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| {
                AlertError::config(
                    channel,
                    format!("无法创建 HTTP 客户端：{e}"),
                    format!("cannot build the HTTP client: {e}"),
                )
            })?;
        Ok(Http {
            url,
            client,
            timeout: timeout.0,
        })
    }

    /// POSTs JSON; returns the status and the answer body (at most 64 KiB) of a 2xx.
    async fn post(
        &self,
        channel: &str,
        url: Url,
        body: &Value,
        headers: &HeaderMap,
    ) -> Result<(u16, String), AlertError> {
        let target = origin(&url);
        let unreachable = |e: reqwest::Error| AlertError::Unreachable {
            channel: channel.to_owned(),
            target: target.clone(),
            reason: if e.is_timeout() {
                format!(
                    "{}s 内无应答 / no answer within {}s",
                    self.timeout.as_secs_f64(),
                    self.timeout.as_secs_f64()
                )
            } else {
                error_chain(&e.without_url())
            },
        };
        let mut resp = self
            .client
            .post(url)
            .headers(headers.clone())
            .header(header::CONTENT_TYPE, "application/json; charset=utf-8")
            .body(serde_json::to_vec(body).unwrap_or_default())
            .send()
            .await
            .map_err(unreachable)?;
        let status = resp.status().as_u16();
        let mut buf = Vec::new();
        while buf.len() < MAX_ANSWER_BYTES {
            match resp.chunk().await {
                Ok(Some(chunk)) => {
                    let room = MAX_ANSWER_BYTES - buf.len();
                    buf.extend_from_slice(&chunk[..chunk.len().min(room)]);
                }
                Ok(None) => break,
                Err(e) => return Err(unreachable(e)),
            }
        }
        let text = String::from_utf8_lossy(&buf).into_owned();
        if !(200..300).contains(&status) {
            return Err(AlertError::Status {
                channel: channel.to_owned(),
                status,
                body: cut_chars(&one_line(&text), 300),
            });
        }
        Ok((status, text))
    }
}

/// The SMTP transport of an e-mail channel or of `[reply_mail]` (`ch` names it in errors):
/// checks the host, the credentials and the TLS settings and gives the port used and the
/// transport. With `ca_file` the server's certificate is checked against that file's CA
/// certificates only.
#[allow(clippy::too_many_arguments)]
pub(crate) fn smtp_transport(
    ch: &str,
    host: &str,
    port: Option<u16>,
    tls: TlsMode,
    ca_file: Option<&str>,
    username: Option<&str>,
    password: Option<&Secret>,
    timeout: Span,
) -> Result<(u16, AsyncSmtpTransport<Tokio1Executor>), AlertError> {
    if host.is_empty()
        || host.contains(['/', ' ', ':']) && host.parse::<std::net::IpAddr>().is_err()
    {
        return Err(AlertError::config(
            ch,
            "host 应是邮件服务器的主机名或 IP，例如 smtp.example.org（端口写在 port 中）",
            "host must be the mail server's host name or IP, e.g. smtp.example.org (the port goes in port)",
        ));
    }
    if password.is_some() && username.is_none() {
        return Err(AlertError::config(
            ch,
            "设置了 password 但没有 username",
            "password is set without username",
        ));
    }
    if username.is_some() && tls == TlsMode::None {
        return Err(AlertError::config(
            ch,
            "tls = \"none\" 时不能使用用户名密码（会以明文发送）；请用 starttls 或 tls",
            "credentials cannot be used with tls = \"none\" (they would be sent in clear); use starttls or tls",
        ));
    }
    if timeout.0.is_zero() {
        return Err(AlertError::config(
            ch,
            "timeout 不能为 0",
            "timeout cannot be 0",
        ));
    }
    let port = port.unwrap_or(match tls {
        TlsMode::None => 25,
        TlsMode::Starttls => 587,
        TlsMode::Tls => 465,
    });
    let _ = rustls::crypto::ring::default_provider().install_default();
    let roots = match ca_file.map(str::trim) {
        None => None,
        Some(_) if tls == TlsMode::None => {
            return Err(AlertError::config(
                ch,
                "ca_file 用于校验加密连接的证书，但 tls = \"none\" 不加密：请改用 starttls 或 tls",
                "ca_file checks the certificate of an encrypted connection, but tls = \"none\" is not encrypted: use starttls or tls",
            ));
        }
        Some(path) => Some(read_ca_file(ch, path)?),
    };
    let tls_params = || {
        let mut b = TlsParameters::builder(host.to_owned());
        if let Some(cert) = &roots {
            b = b
                .certificate_store(CertificateStore::None)
                .add_root_certificate(cert.clone());
        }
        b.build_rustls().map_err(|e| {
            AlertError::config(
                ch,
                format!("无法准备 TLS：{e}"),
                format!("cannot set up TLS: {e}"),
            )
        })
    };
    let tls = match tls {
        TlsMode::None => Tls::None,
        TlsMode::Starttls => Tls::Required(tls_params()?),
        TlsMode::Tls => Tls::Wrapper(tls_params()?),
    };
    let mut b = AsyncSmtpTransport::<Tokio1Executor>::builder_dangerous(host)
        .port(port)
        .tls(tls)
        .timeout(Some(timeout.0));
    if let Some(user) = username {
        let pass = password.map(|p| p.expose().to_owned()).unwrap_or_default();
        b = b.credentials(Credentials::new(user.to_owned(), pass));
    }
    Ok((port, b.build()))
}

/// The CA certificates of the PEM file `path` (`ca_file`), with errors that say what to fix.
fn read_ca_file(ch: &str, path: &str) -> Result<Certificate, AlertError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let pem = std::fs::read(path).map_err(|e| {
        AlertError::config(
            ch,
            format!("无法读取 ca_file {path:?}（{e}）：请写 PEM 格式证书文件的路径"),
            format!("cannot read ca_file {path:?} ({e}): give the path of a PEM certificate file"),
        )
    })?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .filter(Result::is_ok)
        .count();
    if certs == 0 {
        return Err(AlertError::config(
            ch,
            format!("ca_file {path:?} 中没有证书：需要 PEM 格式（-----BEGIN CERTIFICATE-----）"),
            format!(
                "ca_file {path:?} holds no certificate: it must be PEM (-----BEGIN CERTIFICATE-----)"
            ),
        ));
    }
    Certificate::from_pem(&pem).map_err(|e| {
        AlertError::config(
            ch,
            format!("ca_file {path:?} 中的证书无效：{e}"),
            format!("the certificates of ca_file {path:?} are invalid: {e}"),
        )
    })
}

pub(crate) fn error_chain(e: &dyn std::error::Error) -> String {
    let mut s = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let t = c.to_string();
        if !s.contains(&t) {
            s.push_str(": ");
            s.push_str(&t);
        }
        cur = c.source();
    }
    s
}

fn not_vendor_json(channel: &str, answer: &str) -> AlertError {
    AlertError::Rejected {
        channel: channel.to_owned(),
        code: -1,
        message: format!("unexpected answer: {}", cut_chars(&one_line(answer), 200)),
    }
}

/// WeCom and DingTalk: `{"errcode": 0, "errmsg": "ok"}` is success, anything else fails.
fn check_errcode(
    channel: &str,
    answer: &str,
    code_key: &str,
    msg_key: &str,
) -> Result<(), AlertError> {
    let v: Value = serde_json::from_str(answer).map_err(|_| not_vendor_json(channel, answer))?;
    match v.get(code_key).and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(code) => Err(AlertError::Rejected {
            channel: channel.to_owned(),
            code,
            message: cut_chars(v.get(msg_key).and_then(Value::as_str).unwrap_or(""), 300),
        }),
        None => Err(not_vendor_json(channel, answer)),
    }
}

/// Feishu: `{"code": 0}` (or the older `{"StatusCode": 0}`) is success.
fn check_feishu(channel: &str, answer: &str) -> Result<(), AlertError> {
    let v: Value = serde_json::from_str(answer).map_err(|_| not_vendor_json(channel, answer))?;
    if let Some(code) = v.get("code").and_then(Value::as_i64) {
        if code == 0 {
            return Ok(());
        }
        return Err(AlertError::Rejected {
            channel: channel.to_owned(),
            code,
            message: cut_chars(v.get("msg").and_then(Value::as_str).unwrap_or(""), 300),
        });
    }
    match v.get("StatusCode").and_then(Value::as_i64) {
        Some(0) => Ok(()),
        Some(code) => Err(AlertError::Rejected {
            channel: channel.to_owned(),
            code,
            message: cut_chars(
                v.get("StatusMessage").and_then(Value::as_str).unwrap_or(""),
                300,
            ),
        }),
        None => Err(not_vendor_json(channel, answer)),
    }
}

struct Smtp {
    host: String,
    port: u16,
    from: Mailbox,
    to: Vec<Mailbox>,
    cc_mentioned: bool,
    transport: AsyncSmtpTransport<Tokio1Executor>,
}

impl Smtp {
    fn new(c: &EmailConfig) -> Result<Self, AlertError> {
        let ch = c.name.as_str();
        let host = c.host.trim();
        let from: Mailbox = c.from.trim().parse().map_err(|_| {
            AlertError::config(
                ch,
                format!(
                    "from {:?} 不是合法的邮件地址，例如 \"舆情系统 <yuqing@example.org>\"",
                    c.from
                ),
                format!(
                    "from {:?} is not a valid address, e.g. \"yuqing <yuqing@example.org>\"",
                    c.from
                ),
            )
        })?;
        if c.to.is_empty() {
            return Err(AlertError::config(
                ch,
                "to 至少要有一个收件人",
                "to needs at least one recipient",
            ));
        }
        let mut to = Vec::with_capacity(c.to.len());
        for t in &c.to {
            to.push(t.trim().parse::<Mailbox>().map_err(|_| {
                AlertError::config(
                    ch,
                    format!("to 中的 {t:?} 不是合法的邮件地址"),
                    format!("{t:?} in to is not a valid address"),
                )
            })?);
        }
        let (port, transport) = smtp_transport(
            ch,
            host,
            c.port,
            c.tls,
            c.ca_file.as_deref(),
            c.username.as_deref(),
            c.password.as_ref(),
            c.timeout,
        )?;
        Ok(Smtp {
            host: host.to_owned(),
            port,
            from,
            to,
            cc_mentioned: c.cc_mentioned,
            transport,
        })
    }

    async fn send(
        &self,
        channel: &str,
        msg: &AlertMessage,
        lang: Lang,
        now: DateTime<Utc>,
    ) -> Result<String, AlertError> {
        let smtp_err = |reason: String, permanent: bool| AlertError::Smtp {
            channel: channel.to_owned(),
            reason,
            permanent,
        };
        let id: String = msg
            .alert_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
            .take(64)
            .collect();
        let build = |cc: &[Mailbox]| {
            let mut b = lettre::Message::builder()
                .from(self.from.clone())
                .subject(msg.email_subject(lang))
                .date(SystemTime::from(now))
                .message_id(Some(format!(
                    "<alert-{id}-{}@yuqing.invalid>",
                    now.timestamp_millis()
                )))
                .header(ContentType::TEXT_PLAIN);
            for t in &self.to {
                b = b.to(t.clone());
            }
            for c in cc {
                b = b.cc(c.clone());
            }
            b.body(msg.email_body(lang))
                .map_err(|e| smtp_err(format!("cannot build the mail: {e}"), true))
        };
        let cc = self.cc_of(channel, msg);
        match self.transport.send(build(&cc)?).await {
            Ok(resp) => Ok(format!("smtp {}", resp.code())),
            // A server that refuses one of the people copied (an address it does not know)
            // refuses the whole mail: send it again without them, so that the recipients
            // the channel was set up for still get it, and say so in the delivery log.
            Err(e) if e.is_permanent() && !cc.is_empty() => {
                let why = error_chain(&e);
                match self.transport.send(build(&[])?).await {
                    Ok(resp) => Ok(format!(
                        "smtp {}; sent without Cc {} (refused: {})",
                        resp.code(),
                        cc.iter()
                            .map(|m| m.email.to_string())
                            .collect::<Vec<_>>()
                            .join(", "),
                        cut_chars(&why, 300)
                    )),
                    Err(e) => Err(smtp_err(error_chain(&e), e.is_permanent())),
                }
            }
            Err(e) => Err(smtp_err(error_chain(&e), e.is_permanent())),
        }
    }

    /// Whom to copy: the people `msg` names who have an address, unless the channel is set
    /// not to, each once and never one of `to`. An address the mail library cannot parse
    /// (the organisation's check when it is saved is a lighter one) is left out with a
    /// warning rather than failing the mail.
    fn cc_of(&self, channel: &str, msg: &AlertMessage) -> Vec<Mailbox> {
        let mut out: Vec<Mailbox> = Vec::new();
        if !self.cc_mentioned {
            return out;
        }
        for raw in &msg.mention_email {
            match raw.trim().parse::<Mailbox>() {
                Ok(m) => {
                    if !self.to.iter().chain(&out).any(|t| t.email == m.email) {
                        out.push(m);
                    }
                }
                Err(e) => tracing::warn!(
                    channel,
                    address = %cut_chars(raw, 100),
                    error = %e,
                    "e-mail address of a person to copy is not valid; left out"
                ),
            }
        }
        out
    }
}

/// A report announcement sent through a channel (the scheduled 日报, issue 6): a title, a
/// few lines of text, a link to the report, and, for e-mail, the report as an attachment.
/// A system notice (a scheduled report that could not be made) has the same shape, with
/// neither link nor attachment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReportNotice {
    /// Identifies the notice (e-mail Message-ID, webhook `notice_id`).
    pub id: String,
    /// What it announces; the webhook's `type`.
    pub kind: NoticeKind,
    pub title: String,
    pub text: String,
    pub link: Option<String>,
    /// `(file name, MIME type, bytes)`, attached to e-mails only.
    pub attachment: Option<(String, String, Vec<u8>)>,
}

/// What a [`ReportNotice`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum NoticeKind {
    /// A saved report (webhook `type: "report"`).
    #[default]
    Report,
    /// Word to the office about the system itself (webhook `type: "notice"`).
    System,
}

impl NoticeKind {
    pub fn as_str(self) -> &'static str {
        match self {
            NoticeKind::Report => "report",
            NoticeKind::System => "notice",
        }
    }
}

impl ReportNotice {
    fn markdown(&self, max: usize) -> String {
        let mut s = format!(
            "**{}**\n\n{}",
            crate::message::escape_markdown(&one_line(&self.title)),
            crate::message::escape_markdown(&self.text)
        );
        if let Some(l) = self
            .link
            .as_deref()
            .and_then(crate::message::markdown_link_target)
        {
            s.push_str(&match self.kind {
                NoticeKind::Report => format!("\n\n[查看报告 / open the report]({l})"),
                NoticeKind::System => format!("\n\n[打开 / open]({l})"),
            });
        }
        cut_bytes(&s, max)
    }

    fn plain(&self, max: usize) -> String {
        let mut s = format!("{}\n{}", one_line(&self.title), self.text);
        if let Some(l) = &self.link {
            s.push_str(&format!("\n{l}"));
        }
        cut_bytes(&s, max)
    }
}

impl Channel {
    /// Sends a report announcement; e-mail attaches the report.
    pub async fn send_notice(
        &self,
        n: &ReportNotice,
        now: DateTime<Utc>,
    ) -> Result<Delivery, SendError> {
        let detail = match &self.kind {
            Kind::Webhook { http, headers } => {
                let body = json!({
                    "version": 1,
                    "type": n.kind.as_str(),
                    "notice_id": n.id,
                    "title": cut_chars(&one_line(&n.title), 1000),
                    "text": cut_bytes(&n.text, WEBHOOK_TEXT_MAX_BYTES),
                    "link": n.link,
                    "sent_at": now,
                });
                let (status, _) = http
                    .post(&self.name, http.url.clone(), &body, headers)
                    .await?;
                format!("HTTP {status}")
            }
            Kind::Wecom { http } => {
                let body = json!({"msgtype": "markdown", "markdown": {"content": n.markdown(WECOM_MAX_BYTES)}});
                let (status, answer) = http
                    .post(&self.name, http.url.clone(), &body, &HeaderMap::new())
                    .await?;
                check_errcode(&self.name, &answer, "errcode", "errmsg")?;
                format!("HTTP {status}")
            }
            Kind::Dingtalk { http, secret } => {
                let url = dingtalk_url(&http.url, secret.as_ref(), now);
                let body = json!({"msgtype": "markdown", "markdown": {
                    "title": cut_chars(&one_line(&n.title), 40),
                    "text": n.markdown(DINGTALK_MAX_BYTES),
                }});
                let (status, answer) = http.post(&self.name, url, &body, &HeaderMap::new()).await?;
                check_errcode(&self.name, &answer, "errcode", "errmsg")?;
                format!("HTTP {status}")
            }
            Kind::Feishu { http, secret } => {
                let body = feishu_body(
                    &n.plain(FEISHU_MAX_BYTES),
                    feishu_sign_now(secret.as_ref(), now),
                );
                let (status, answer) = http
                    .post(&self.name, http.url.clone(), &body, &HeaderMap::new())
                    .await?;
                check_feishu(&self.name, &answer)?;
                format!("HTTP {status}")
            }
            Kind::Email(smtp) => smtp.send_notice(&self.name, n, now).await?,
        };
        Ok(Delivery {
            channel: self.name.clone(),
            at: now,
            detail,
        })
    }
}

impl Smtp {
    async fn send_notice(
        &self,
        channel: &str,
        n: &ReportNotice,
        now: DateTime<Utc>,
    ) -> Result<String, AlertError> {
        use lettre::message::{Attachment, MultiPart, SinglePart};
        let smtp_err = |reason: String, permanent: bool| AlertError::Smtp {
            channel: channel.to_owned(),
            reason,
            permanent,
        };
        let id: String =
            n.id.chars()
                .filter(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_'))
                .take(64)
                .collect();
        let mut b = lettre::Message::builder()
            .from(self.from.clone())
            .subject(one_line(&n.title))
            .date(SystemTime::from(now))
            .message_id(Some(format!(
                "<report-{id}-{}@yuqing.invalid>",
                now.timestamp_millis()
            )));
        for t in &self.to {
            b = b.to(t.clone());
        }
        let text = SinglePart::plain(n.plain(1 << 20));
        let mail = match &n.attachment {
            Some((name, mime, bytes)) => {
                let ct = ContentType::parse(mime)
                    .map_err(|e| smtp_err(format!("bad attachment type {mime}: {e}"), true))?;
                b.multipart(
                    MultiPart::mixed()
                        .singlepart(text)
                        .singlepart(Attachment::new(name.clone()).body(bytes.clone(), ct)),
                )
            }
            None => b.singlepart(text),
        }
        .map_err(|e| smtp_err(format!("cannot build the mail: {e}"), true))?;
        match self.transport.send(mail).await {
            Ok(resp) => Ok(format!("smtp {}", resp.code())),
            Err(e) => Err(smtp_err(error_chain(&e), e.is_permanent())),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Deserialize)]
    struct File {
        channels: Vec<ChannelConfig>,
    }

    fn parse(t: &str) -> Result<Vec<ChannelConfig>, String> {
        toml::from_str::<File>(t)
            .map(|f| f.channels)
            .map_err(|e| e.to_string())
    }

    fn build_err(t: &str) -> String {
        let c = parse(t).expect("parses");
        c[0].build().expect_err("refused").to_string()
    }

    #[test]
    fn configs_parse_and_build() {
        let cs = parse(
            r#"
            [[channels]]
            name = "ops"
            type = "webhook"
            url = "http://10.0.0.5:8080/alerts"
            bearer = "tok"
            headers = { "X-Org" = "county" }
            timeout = "5s"

            [[channels]]
            name = "群"
            type = "wecom"
            url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=abc"

            [[channels]]
            name = "dd"
            type = "dingtalk"
            url = "https://oapi.dingtalk.com/robot/send?access_token=xyz"
            secret = "SEC123"
            lang = "en"

            [[channels]]
            name = "fs"
            type = "feishu"
            url = "https://open.feishu.cn/open-apis/bot/v2/hook/123"
            secret = "s"

            [[channels]]
            name = "mail"
            type = "email"
            host = "127.0.0.1"
            port = 2525
            tls = "none"
            from = "舆情系统 <yq@example.org>"
            to = ["a@example.org", "值班 <b@example.org>"]
            "#,
        )
        .unwrap();
        let kinds: Vec<_> = cs.iter().map(|c| c.build().unwrap().kind_str()).collect();
        assert_eq!(kinds, ["webhook", "wecom", "dingtalk", "feishu", "email"]);
        let dbg = format!(
            "{:?} {:?}",
            cs,
            cs.iter().map(|c| c.build().unwrap()).collect::<Vec<_>>()
        );
        for secret in ["tok", "county", "key=abc", "xyz", "SEC123", "hook/123"] {
            assert!(!dbg.contains(secret), "{secret} leaked in {dbg}");
        }
    }

    #[test]
    fn unknown_keys_and_types_are_refused() {
        let e = parse("[[channels]]\nname='a'\ntype='wecom'\nurl='https://x/?key=1'\nsecrte='x'")
            .unwrap_err();
        assert!(e.contains("secrte"), "{e}");
        let e = parse("[[channels]]\nname='a'\ntype='slack'\nurl='https://x/'").unwrap_err();
        assert!(e.contains("slack"), "{e}");
    }

    #[test]
    fn bad_configs_say_how_to_fix() {
        let e = build_err("[[channels]]\nname='a'\ntype='webhook'\nurl='ftp://x/'");
        assert!(
            e.contains("只能是 http 或 https") && e.contains("must be an http or https URL"),
            "{e}"
        );
        let e = build_err(
            "[[channels]]\nname='a'\ntype='wecom'\nurl='https://qyapi.weixin.qq.com/cgi-bin/webhook/send'",
        );
        assert!(e.contains("缺少 key 参数"), "{e}");
        let e = build_err(
            "[[channels]]\nname='a'\ntype='dingtalk'\nurl='https://oapi.dingtalk.com/robot/send'",
        );
        assert!(e.contains("access_token"), "{e}");
        let e = build_err(
            "[[channels]]\nname='a'\ntype='dingtalk'\nurl='https://oapi.dingtalk.com/robot/send?access_token=1'\nsecret=' '",
        );
        assert!(e.contains("secret"), "{e}");
        let e = build_err(
            "[[channels]]\nname='m'\ntype='email'\nhost='h'\ntls='none'\nfrom='x@y.z'\nto=['a@b.c']\nusername='u'\npassword='p'",
        );
        assert!(e.contains("明文"), "{e}");
        let e = build_err(
            "[[channels]]\nname='m'\ntype='email'\nhost='h'\nfrom='not an address'\nto=['a@b.c']",
        );
        assert!(e.contains("from"), "{e}");
        let e = build_err("[[channels]]\nname='m'\ntype='email'\nhost='h'\nfrom='x@y.z'\nto=[]");
        assert!(e.contains("收件人"), "{e}");
        let e = build_err("[[channels]]\nname=''\ntype='webhook'\nurl='http://x/'");
        assert!(e.contains("name"), "{e}");
        assert_eq!(
            parse("[[channels]]\nname='a'\ntype='webhook'\nurl='x'").unwrap()[0]
                .build()
                .unwrap_err()
                .code(),
            yuqing_core::Code::InvalidInput
        );
    }

    #[test]
    fn dingtalk_signature_matches_an_independent_computation() {
        // Recomputed from the vendor's description with the hmac crate directly.
        let secret = "SECtest0123456789";
        let ts = 1_700_000_000_000i64;
        let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).unwrap();
        mac.update(format!("{ts}\n{secret}").as_bytes());
        let expected = BASE64.encode(mac.finalize().into_bytes());
        assert_eq!(dingtalk_sign(secret, ts), expected);
        assert_eq!(expected.len(), 44);
    }

    #[test]
    fn feishu_signature_matches_an_independent_computation() {
        let secret = "demo-secret";
        let ts = 1_599_360_473i64;
        let mut mac = Hmac::<Sha256>::new_from_slice(format!("{ts}\n{secret}").as_bytes()).unwrap();
        mac.update(b"");
        let expected = BASE64.encode(mac.finalize().into_bytes());
        assert_eq!(feishu_sign(secret, ts), expected);
        // Key and message are not interchangeable.
        assert_ne!(feishu_sign(secret, ts), dingtalk_sign(secret, ts));
    }

    #[test]
    fn vendor_answers_are_checked() {
        assert!(check_errcode("c", r#"{"errcode":0,"errmsg":"ok"}"#, "errcode", "errmsg").is_ok());
        let e = check_errcode(
            "c",
            r#"{"errcode":310000,"errmsg":"sign not match"}"#,
            "errcode",
            "errmsg",
        )
        .unwrap_err();
        assert!(
            matches!(e, AlertError::Rejected { code: 310000, .. }),
            "{e}"
        );
        assert!(check_errcode("c", "<html>", "errcode", "errmsg").is_err());
        assert!(check_errcode("c", "{}", "errcode", "errmsg").is_err());
        assert!(check_feishu("c", r#"{"code":0,"msg":"success","data":{}}"#).is_ok());
        assert!(check_feishu("c", r#"{"StatusCode":0,"StatusMessage":"success"}"#).is_ok());
        assert!(check_feishu("c", r#"{"code":19021,"msg":"sign match fail"}"#).is_err());
    }
}
