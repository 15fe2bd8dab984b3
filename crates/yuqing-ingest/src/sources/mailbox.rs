//! Mailbox sources (`type = "imap"`): a public mailbox such as 县长信箱, 书记信箱 or a
//! complaints address, read over IMAP; every new message is a document (`kind = message`,
//! platform `email` unless configured).
//!
//! Read-only by construction: the folder is opened with `EXAMINE` and messages are
//! fetched with `BODY.PEEK`, so yuqing never marks mail as read, moves or deletes it: the
//! people who answer the mailbox see it as before.
//!
//! The url names server and folder: `imaps://imap.example.com/INBOX` (TLS from the first
//! byte, port 993), `imap://host/INBOX` with `starttls = true` (port 143, upgraded with
//! STARTTLS before the login; a server that refuses is an error, never a fallback to
//! plain text) or `imap://host/INBOX` alone (no TLS). Certificates are checked against the
//! system's roots, or only against the CA certificates of `ca_file` (an organisation's own
//! CA or a self-signed server certificate, common on intranet mail servers). A plain
//! connection would send the password in clear, so it is only made to private addresses,
//! and those only when `allow_hosts` or `allow_private` allows them (an intranet mail
//! server): the same destination rule as the HTTP sources. Folder names may be Chinese
//! (`imaps://…/县长信箱`); they are sent in IMAP's modified UTF-7.
//!
//! Progress is kept by UID: the cursor `{"v":1,"uidvalidity":…,"last_uid":…}` makes the
//! next poll ask only for UIDs above `last_uid`, oldest first, at most `max_messages` per
//! poll (`"backlog": true` when more are waiting); `since` leaves out what the server
//! received before a day. When the server changes the folder's
//! UIDVALIDITY, the folder is read again from the start and the store's dedup (the id is
//! the Message-ID) keeps that from storing anything twice.
//!
//! [`message_to_document`] is the mapping from a raw message (RFC 5322, MIME) to a
//! document, parsed by mail-parser (GBK/GB2312/GB18030, Big5 and the other charsets of
//! Chinese mail are decoded). The document format is in docs/sources.md.

use std::fmt::Debug;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use async_imap::Client;
use chrono::{DateTime, FixedOffset, TimeZone, Utc};
use futures::StreamExt;
use mail_parser::{Address, HeaderValue, MessageParser, MimeHeaders};
use serde_json::{Map, Value, json};
use tokio::io::{AsyncRead, AsyncWrite};
use yuqing_core::{Author, Document, Kind};

use super::http::{is_forbidden_ip, read_ca_file};
use super::{Poll, Secret, Source, SourceConfig, SourceError, blocking, tidy_text};

/// Messages read per poll unless `max_messages` says otherwise.
const DEFAULT_MAX_MESSAGES: usize = 200;
/// The most `max_messages` may be.
const MAX_MAX_MESSAGES: usize = 5000;
/// A Date header this far after the server's arrival time is not believed (spam and
/// broken clocks); the arrival time is used instead.
const DATE_SLACK: chrono::Duration = chrono::Duration::hours(24);

/// How a mailbox connection is protected.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Encryption {
    /// `imaps://`: TLS from the first byte.
    Implicit,
    /// `imap://` with `starttls = true`: upgraded before the login.
    StartTls,
    /// `imap://`: none (private addresses only).
    None,
}

/// The validated settings of a mailbox source.
pub(super) struct MailSpec {
    host: String,
    port: u16,
    /// How the connection is protected.
    tls: Encryption,
    /// The roots from `ca_file`, or `None` for the system's.
    roots: Option<Arc<rustls::ClientConfig>>,
    /// The folder as configured.
    mailbox: String,
    /// The folder as sent (modified UTF-7, quoted by the client).
    mailbox_wire: String,
    user: String,
    password: Secret,
    max_messages: usize,
    /// Only messages received on or after this day (IMAP `SINCE`, the server's date).
    since: Option<chrono::NaiveDate>,
}

impl MailSpec {
    pub(super) fn from_config(c: &SourceConfig) -> Result<Self, SourceError> {
        let err = |zh: String, en: String| SourceError::config(&c.name, zh, en);
        let url = url::Url::parse(c.url.trim()).map_err(|_| {
            err(
                format!(
                    "url {:?} 无效：邮箱源请写 imaps://主机/文件夹，例如 imaps://imap.example.com/INBOX",
                    c.url
                ),
                format!(
                    "url {:?} is invalid: a mailbox source needs imaps://host/folder, e.g. imaps://imap.example.com/INBOX",
                    c.url
                ),
            )
        })?;
        let starttls = c.starttls.unwrap_or(false);
        let tls = match url.scheme() {
            "imaps" if starttls => {
                return Err(err(
                    "starttls 只用于 imap:// 地址（先明文连接 143 端口再升级加密）；imaps:// 本身已加密，请删除 starttls".into(),
                    "starttls applies to imap:// urls (plain port 143, then upgraded); imaps:// is encrypted already: remove starttls".into(),
                ));
            }
            "imaps" => Encryption::Implicit,
            "imap" if starttls => Encryption::StartTls,
            "imap" => Encryption::None,
            other => {
                return Err(err(
                    format!(
                        "url 的协议 {other}: 不适用于邮箱源：请写 imaps://（TLS）或 imap://（仅限内网）"
                    ),
                    format!(
                        "scheme {other}: does not fit a mailbox source: write imaps:// (TLS) or imap:// (intranet only)"
                    ),
                ));
            }
        };
        let host = match url.host() {
            Some(url::Host::Domain(d)) if !d.is_empty() => d.to_ascii_lowercase(),
            Some(url::Host::Ipv4(ip)) => ip.to_string(),
            Some(url::Host::Ipv6(ip)) => ip.to_string(),
            _ => {
                return Err(err(
                    format!("url {:?} 缺少邮件服务器地址", c.url),
                    format!("url {:?} names no mail server", c.url),
                ));
            }
        };
        if !url.username().is_empty() || url.password().is_some() {
            return Err(err(
                "url 中不能写用户名或密码：请改用 user 和 password 两项".into(),
                "the url must not carry a user name or password: use the user and password keys"
                    .into(),
            ));
        }
        if url.query().is_some() || url.fragment().is_some() || url.path().contains(';') {
            return Err(err(
                "url 只写服务器和文件夹，例如 imaps://imap.example.com/INBOX；不支持 ?、# 和 ;UID 等参数".into(),
                "the url names only server and folder, e.g. imaps://imap.example.com/INBOX; ?, # and ;UID parameters are not supported".into(),
            ));
        }
        let path = url.path().trim_start_matches('/');
        let mailbox = percent_encoding::percent_decode_str(path)
            .decode_utf8()
            .map_err(|_| {
                err(
                    "url 中的文件夹名不是有效的 UTF-8".into(),
                    "the folder name in the url is not valid UTF-8".into(),
                )
            })?
            .trim_end_matches('/')
            .to_owned();
        let mailbox = if mailbox.is_empty() {
            "INBOX".to_owned()
        } else {
            mailbox
        };
        if mailbox.chars().any(char::is_control) {
            return Err(err(
                "文件夹名含有控制字符".into(),
                "the folder name contains control characters".into(),
            ));
        }
        let user = c.user.as_deref().map(str::trim).unwrap_or_default();
        let password = c.password.clone().unwrap_or(Secret(String::new()));
        if user.is_empty() || password.0.is_empty() {
            return Err(err(
                "邮箱源需要 user 和 password（邮箱账号和密码或客户端授权码）".into(),
                "a mailbox source needs user and password (the account and its password or app password)".into(),
            ));
        }
        if user.chars().chain(password.0.chars()).any(char::is_control) {
            return Err(err(
                "user 或 password 含有换行等控制字符".into(),
                "user or password contains a line break or another control character".into(),
            ));
        }
        let max_messages = c.max_messages.unwrap_or(DEFAULT_MAX_MESSAGES);
        if !(1..=MAX_MAX_MESSAGES).contains(&max_messages) {
            return Err(err(
                format!("max_messages 应在 1 到 {MAX_MAX_MESSAGES} 之间"),
                format!("max_messages must be between 1 and {MAX_MAX_MESSAGES}"),
            ));
        }
        let since = match c.since.as_deref().map(str::trim) {
            None => None,
            Some(day) => Some(chrono::NaiveDate::parse_from_str(day, "%Y-%m-%d").map_err(
                |_| {
                    err(
                        format!("since {day:?} 无效：请写日期，例如 since = \"2026-01-01\""),
                        format!(
                            "since {day:?} is invalid: write a day, e.g. since = \"2026-01-01\""
                        ),
                    )
                },
            )?),
        };
        let roots = match c.ca_file.as_deref().map(str::trim) {
            None => None,
            Some(_) if tls == Encryption::None => {
                return Err(err(
                    "ca_file 用于验证加密连接的证书，但 imap:// 不加密：请改用 imaps://，或加 starttls = true".into(),
                    "ca_file checks the certificate of an encrypted connection, but imap:// is not encrypted: use imaps://, or add starttls = true".into(),
                ));
            }
            Some(path) => Some(ca_config(&c.name, path)?),
        };
        Ok(MailSpec {
            since,
            port: url.port().unwrap_or(if tls == Encryption::Implicit {
                993
            } else {
                143
            }),
            host,
            tls,
            roots,
            mailbox_wire: mailbox_utf7(&mailbox),
            mailbox,
            user: user.to_owned(),
            password,
            max_messages,
        })
    }
}

/// TLS settings that trust only the CA certificates of the PEM file `path` (`ca_file`).
fn ca_config(source: &str, path: &str) -> Result<Arc<rustls::ClientConfig>, SourceError> {
    let err = |zh: String, en: String| SourceError::config(source, zh, en);
    let certs = read_ca_file(source, path)?;
    let mut roots = rustls::RootCertStore::empty();
    for (i, cert) in certs.into_iter().enumerate() {
        roots.add(cert).map_err(|e| {
            err(
                format!("ca_file {path:?} 的第 {} 个证书无效：{e}", i + 1),
                format!("certificate {} of ca_file {path:?} is invalid: {e}", i + 1),
            )
        })?;
    }
    let config = rustls::ClientConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .map_err(|e| SourceError::Internal {
        source_name: source.to_owned(),
        reason: format!("TLS settings: {e}"),
    })?
    .with_root_certificates(roots)
    .with_no_client_auth();
    Ok(Arc::new(config))
}

/// A folder name in IMAP's modified UTF-7 (RFC 3501 §5.1.3): printable ASCII as it is
/// (`&` as `&-`), runs of other characters as UTF-16 in base64 with `,` for `/`, between
/// `&` and `-`.
pub fn mailbox_utf7(name: &str) -> String {
    use base64::Engine;
    use base64::alphabet::Alphabet;
    use base64::engine::{GeneralPurpose, GeneralPurposeConfig};
    let Ok(alphabet) =
        Alphabet::new("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,")
    else {
        unreachable!("the modified base64 alphabet is valid");
    };
    let engine = GeneralPurpose::new(
        &alphabet,
        GeneralPurposeConfig::new().with_encode_padding(false),
    );
    let mut out = String::with_capacity(name.len());
    let mut run: Vec<u8> = Vec::new();
    let flush = |run: &mut Vec<u8>, out: &mut String| {
        if !run.is_empty() {
            out.push('&');
            out.push_str(&engine.encode(&run[..]));
            out.push('-');
            run.clear();
        }
    };
    for c in name.chars() {
        if (' '..='~').contains(&c) {
            flush(&mut run, &mut out);
            if c == '&' {
                out.push_str("&-");
            } else {
                out.push(c);
            }
        } else {
            let mut units = [0u16; 2];
            for u in c.encode_utf16(&mut units) {
                run.extend_from_slice(&u.to_be_bytes());
            }
        }
    }
    flush(&mut run, &mut out);
    out
}

/// Where a message sits on the server: what the mapping adds to what the message says.
#[derive(Debug, Clone, PartialEq)]
pub struct MessageMeta {
    pub mailbox: String,
    pub uidvalidity: u32,
    pub uid: u32,
    /// The size of the whole message (RFC822.SIZE).
    pub size: Option<u32>,
    /// When the server received it (INTERNALDATE).
    pub received: Option<DateTime<FixedOffset>>,
    /// Only the first `max_body_bytes` were fetched.
    pub truncated: bool,
}

/// A raw message as a document:
/// - `id`: the Message-ID without `<>`; without one, `<source>#<uidvalidity>.<uid>`;
/// - `kind` `message`; `title` the Subject; `text` the first text body (an HTML-only
///   message is turned into text), lines tidied;
/// - `published_at`: the Date header, or the server's arrival time when the Date is
///   missing or more than a day after it;
/// - `author`: `id` the sender's address (lower case), `name` the display name or the
///   address;
/// - `parent_id` the message it answers (In-Reply-To), `root_id` the thread's first message
///   (the first of References), so a thread becomes one event;
/// - `extra`: `mailbox`, `uid`, `uidvalidity`, `to`, `cc`, `attachments` (`name`, `bytes`,
///   `content_type`; the files themselves are not stored), `size`, `truncated`; `unparsed`
///   when mail-parser failed (the raw text is kept).
pub fn message_to_document(
    raw: &[u8],
    meta: &MessageMeta,
    source_name: &str,
    platform: &str,
) -> Document {
    let mut doc = Document {
        platform: platform.to_owned(),
        kind: Kind::Message,
        source: Some(source_name.to_owned()),
        ..Document::default()
    };
    let mut extra = Map::new();
    extra.insert("mailbox".into(), Value::from(meta.mailbox.clone()));
    extra.insert("uidvalidity".into(), Value::from(meta.uidvalidity));
    extra.insert("uid".into(), Value::from(meta.uid));
    if let Some(size) = meta.size {
        extra.insert("size".into(), Value::from(size));
    }
    if meta.truncated {
        extra.insert("truncated".into(), Value::Bool(true));
    }
    let fallback_id = format!("{source_name}#{}.{}", meta.uidvalidity, meta.uid);
    // mail-parser reads what anyone may send; it has panicked on such input (found by the
    // `mail` fuzz target: quoted-printable before a boundary, an overflow in its decoder).
    // A panic must not lose the letter or stop the source on it at every poll: the
    // message is then kept as its raw text.
    let parsed = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        let mut doc = doc.clone();
        let mut extra = extra.clone();
        map_parsed(raw, meta, &fallback_id, &mut doc, &mut extra).then(|| {
            doc.extra = extra;
            doc
        })
    }));
    match parsed {
        Ok(Some(doc)) => doc,
        unread => {
            // Nothing a parser can read (empty, not a message at all, or the parser
            // failed): keep what there is.
            if unread.is_err() {
                tracing::warn!(
                    source = source_name,
                    uid = meta.uid,
                    "the mail parser failed on a message: kept as raw text"
                );
                extra.insert("unparsed".into(), Value::Bool(true));
            }
            doc.id = Some(fallback_id);
            doc.text = tidy_text(&String::from_utf8_lossy(raw));
            doc.published_at = meta.received;
            doc.extra = extra;
            doc
        }
    }
}

/// The mapping of a message mail-parser can read; false when it cannot.
fn map_parsed(
    raw: &[u8],
    meta: &MessageMeta,
    fallback_id: &str,
    doc: &mut Document,
    extra: &mut Map<String, Value>,
) -> bool {
    let Some(msg) = MessageParser::default().parse(raw) else {
        return false;
    };
    doc.id = Some(
        msg.message_id()
            .map(|id| id.trim().trim_start_matches('<').trim_end_matches('>'))
            .filter(|id| !id.is_empty() && id.len() <= 500 && !id.starts_with("url:"))
            .map_or_else(|| fallback_id.to_owned(), str::to_owned),
    );
    doc.title = msg
        .subject()
        .map(|s| tidy_text(s).replace('\n', " "))
        .filter(|s| !s.is_empty());
    doc.text = msg.body_text(0).map(|t| tidy_text(&t)).unwrap_or_default();
    let dated = msg.date().filter(|d| d.is_valid()).and_then(mail_date);
    doc.published_at = match (dated, meta.received) {
        (Some(d), Some(r)) if d > r + DATE_SLACK => Some(r),
        (Some(d), _) => Some(d),
        (None, r) => r,
    };
    if let Some(from) = msg.from().and_then(Address::first) {
        let address = from
            .address
            .as_deref()
            .map(|a| a.trim().to_lowercase())
            .filter(|a| !a.is_empty());
        let name = from
            .name
            .as_deref()
            .map(|n| tidy_text(n).replace('\n', " "))
            .filter(|n| !n.is_empty())
            .or_else(|| address.clone());
        if address.is_some() || name.is_some() {
            doc.author = Some(Author {
                id: address,
                name,
                ..Author::default()
            });
        }
    }
    let ids = |v: &HeaderValue| -> Vec<String> {
        match v {
            HeaderValue::Text(t) => vec![t.to_string()],
            HeaderValue::TextList(l) => l.iter().map(|t| t.to_string()).collect(),
            _ => Vec::new(),
        }
        .into_iter()
        .map(|t| {
            t.trim()
                .trim_start_matches('<')
                .trim_end_matches('>')
                .to_owned()
        })
        .filter(|t| !t.is_empty() && t.len() <= 500 && !t.starts_with("url:"))
        .collect()
    };
    let own = doc.id.clone();
    doc.parent_id = ids(msg.in_reply_to())
        .into_iter()
        .next()
        .filter(|p| Some(p) != own.as_ref());
    if doc.parent_id.is_some() {
        doc.root_id = ids(msg.references())
            .into_iter()
            .next()
            .filter(|r| Some(r) != own.as_ref());
    }
    let addresses = |a: Option<&Address>| -> Value {
        Value::from(
            a.map(|a| {
                a.iter()
                    .filter_map(|x| x.address.as_deref().map(str::to_lowercase))
                    .collect::<Vec<_>>()
            })
            .unwrap_or_default(),
        )
    };
    extra.insert("to".into(), addresses(msg.to()));
    let cc = addresses(msg.cc());
    if cc.as_array().is_some_and(|a| !a.is_empty()) {
        extra.insert("cc".into(), cc);
    }
    let attachments: Vec<Value> = msg
        .attachments()
        .map(|part| {
            let content_type = part
                .content_type()
                .map(|ct| match ct.subtype() {
                    Some(sub) => format!("{}/{}", ct.ctype(), sub),
                    None => ct.ctype().to_owned(),
                })
                .unwrap_or_default();
            json!({
                "name": part.attachment_name().unwrap_or_default(),
                "bytes": part.len(),
                "content_type": content_type.to_ascii_lowercase(),
            })
        })
        .collect();
    if !attachments.is_empty() {
        extra.insert("attachments".into(), Value::from(attachments));
    }
    true
}

/// A mail Date as a time with its own offset.
fn mail_date(d: &mail_parser::DateTime) -> Option<DateTime<FixedOffset>> {
    let secs = i32::from(d.tz_hour) * 3600 + i32::from(d.tz_minute) * 60;
    let offset = FixedOffset::east_opt(if d.tz_before_gmt { -secs } else { secs })?;
    let utc = Utc.timestamp_opt(d.to_timestamp(), 0).single()?;
    Some(utc.with_timezone(&offset))
}

// ---------------------------------------------------------------------------------------
// Polling

/// The cursor's part this source reads.
fn cursor_position(cursor: Option<&Value>) -> (Option<u32>, u32) {
    let get = |k: &str| {
        cursor
            .and_then(|c| c.get(k))
            .and_then(Value::as_u64)
            .and_then(|v| u32::try_from(v).ok())
    };
    (get("uidvalidity"), get("last_uid").unwrap_or(0))
}

/// One polling round: connect, log in, open the folder read-only, fetch what is new.
pub(super) async fn poll(
    src: &Source,
    spec: &MailSpec,
    cursor: Option<&Value>,
) -> Result<Poll, SourceError> {
    let result = poll_inner(src, spec, cursor).await;
    let outcome = match &result {
        Ok(_) => "ok",
        Err(e) => e.kind(),
    };
    metrics::counter!("yuqing_source_fetches_total", "source" => src.name.clone(), "outcome" => outcome)
        .increment(1);
    result
}

async fn poll_inner(
    src: &Source,
    spec: &MailSpec,
    cursor: Option<&Value>,
) -> Result<Poll, SourceError> {
    let addrs = destination(src, spec).await?;
    let step = src.fetcher.timeout();
    let tcp = within(src, step, tokio::net::TcpStream::connect(&addrs[..]))
        .await?
        .map_err(|e| {
            network(
                src,
                format!("cannot connect to {}:{}: {e}", spec.host, spec.port),
            )
        })?;
    match spec.tls {
        Encryption::Implicit => {
            let stream = handshake(src, spec, tcp).await?;
            session(src, spec, cursor, Client::new(stream), false).await
        }
        Encryption::StartTls => {
            let mut client = Client::new(tcp);
            greeting(src, &mut client).await?;
            match within(src, step, client.run_command_and_check_ok("STARTTLS", None)).await? {
                Ok(()) => {}
                Err(async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m)) => {
                    return Err(SourceError::config(
                        &src.name,
                        format!(
                            "邮件服务器不支持 STARTTLS（{m}）：请改用 imaps://（993 端口），内网服务器也可去掉 starttls"
                        ),
                        format!(
                            "the mail server does not offer STARTTLS ({m}): use imaps:// (port 993), or, for an intranet server, drop starttls"
                        ),
                    ));
                }
                Err(e) => return Err(network(src, format!("STARTTLS: {e}"))),
            }
            // Whatever the server sent after its OK is dropped with the plain stream
            // (RFC 3501 §6.2.1): nothing unencrypted reaches the session.
            let stream = handshake(src, spec, client.into_inner()).await?;
            session(src, spec, cursor, Client::new(stream), true).await
        }
        Encryption::None => session(src, spec, cursor, Client::new(tcp), false).await,
    }
}

/// The TLS handshake on `tcp`, checking the certificate against `ca_file` or the
/// system's roots.
async fn handshake(
    src: &Source,
    spec: &MailSpec,
    tcp: tokio::net::TcpStream,
) -> Result<tokio_rustls::client::TlsStream<tokio::net::TcpStream>, SourceError> {
    let config = match &spec.roots {
        Some(config) => config.clone(),
        None => tls_config(src)?,
    };
    let name = rustls::pki_types::ServerName::try_from(spec.host.clone()).map_err(|_| {
        SourceError::config(
            &src.name,
            format!("{} 不是可用于 TLS 的主机名", spec.host),
            format!("{} is not a host name TLS can check", spec.host),
        )
    })?;
    within(
        src,
        src.fetcher.timeout(),
        tokio_rustls::TlsConnector::from(config).connect(name, tcp),
    )
    .await?
    .map_err(|e| {
        network(
            src,
            format!("TLS with {}:{} failed: {e}", spec.host, spec.port),
        )
    })
}

/// Reads the server's greeting.
async fn greeting<T>(src: &Source, client: &mut Client<T>) -> Result<(), SourceError>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let greeting = within(src, src.fetcher.timeout(), client.read_response())
        .await?
        .map_err(|e| network(src, format!("reading the greeting: {e}")))?;
    if greeting.is_none() {
        return Err(network(
            src,
            "the server closed the connection before its greeting".into(),
        ));
    }
    Ok(())
}

/// The addresses to connect to, checked once (connecting to these and not resolving
/// again, so a name cannot turn private between check and use).
async fn destination(src: &Source, spec: &MailSpec) -> Result<Vec<SocketAddr>, SourceError> {
    let addrs: Vec<SocketAddr> = match spec.host.parse::<IpAddr>() {
        Ok(ip) => vec![SocketAddr::new(ip, spec.port)],
        Err(_) => within(
            src,
            src.fetcher.timeout(),
            tokio::net::lookup_host((spec.host.as_str(), spec.port)),
        )
        .await?
        .map_err(|e| network(src, format!("cannot resolve {}: {e}", spec.host)))?
        .collect(),
    };
    if addrs.is_empty() {
        return Err(network(src, format!("{} has no address", spec.host)));
    }
    let permitted = src.fetcher.permits_private(&spec.host, spec.port);
    if !permitted && let Some(a) = addrs.iter().find(|a| is_forbidden_ip(a.ip())) {
        return Err(SourceError::Forbidden {
            source_name: src.name.clone(),
            url: src.url.clone(),
            addr: format!("{} → {}", spec.host, a.ip()),
        });
    }
    if spec.tls == Encryption::None
        && let Some(a) = addrs.iter().find(|a| !is_forbidden_ip(a.ip()))
    {
        return Err(SourceError::config(
            &src.name,
            format!(
                "imap:// 不加密，会把密码明文发给公网地址 {}；请改用 imaps://（只有内网邮件服务器可以用 imap://）",
                a.ip()
            ),
            format!(
                "imap:// is not encrypted and would send the password in clear to the public address {}; use imaps:// (imap:// is for intranet mail servers only)",
                a.ip()
            ),
        ));
    }
    Ok(addrs)
}

/// The TLS settings: the system's roots, as the HTTP sources use; made once per process
/// (every mailbox shares them).
fn tls_config(src: &Source) -> Result<Arc<rustls::ClientConfig>, SourceError> {
    use rustls_platform_verifier::ConfigVerifierExt;
    static CONFIG: std::sync::OnceLock<Result<Arc<rustls::ClientConfig>, String>> =
        std::sync::OnceLock::new();
    CONFIG
        .get_or_init(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
            rustls::ClientConfig::with_platform_verifier()
                .map(Arc::new)
                .map_err(|e| e.to_string())
        })
        .clone()
        .map_err(|e| SourceError::Internal {
            source_name: src.name.clone(),
            reason: format!("cannot load the system's certificate roots: {e}"),
        })
}

async fn session<T>(
    src: &Source,
    spec: &MailSpec,
    cursor: Option<&Value>,
    mut client: Client<T>,
    greeted: bool,
) -> Result<Poll, SourceError>
where
    T: AsyncRead + AsyncWrite + Unpin + Debug + Send,
{
    let step = src.fetcher.timeout();
    if !greeted {
        greeting(src, &mut client).await?;
    }
    let mut imap = match within(src, step, client.login(&spec.user, &spec.password.0)).await? {
        Ok(s) => s,
        Err((async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m), _)) => {
            return Err(SourceError::config(
                &src.name,
                format!(
                    "邮件服务器拒绝登录（{m}）：请检查 user 和 password；QQ、163 等邮箱需填客户端授权码，并在邮箱设置中开启 IMAP"
                ),
                format!(
                    "the mail server refused the login ({m}): check user and password; many providers want an app password and IMAP enabled in the mailbox settings"
                ),
            ));
        }
        Err((e, _)) => return Err(network(src, format!("login: {e}"))),
    };
    let folder = match within(src, step, imap.examine(&spec.mailbox_wire)).await? {
        Ok(f) => f,
        Err(async_imap::error::Error::No(m) | async_imap::error::Error::Bad(m)) => {
            let _ = within(src, step, imap.logout()).await;
            return Err(SourceError::config(
                &src.name,
                format!(
                    "无法打开文件夹 {:?}（{m}）：请检查 url 中的文件夹名",
                    spec.mailbox
                ),
                format!(
                    "cannot open the folder {:?} ({m}): check the folder name in the url",
                    spec.mailbox
                ),
            ));
        }
        Err(e) => return Err(network(src, format!("EXAMINE {}: {e}", spec.mailbox))),
    };
    let uidvalidity = folder.uid_validity.unwrap_or(0);
    let (seen_validity, mut last_uid) = cursor_position(cursor);
    if seen_validity.is_some_and(|v| v != uidvalidity) {
        tracing::warn!(source = %src.name, mailbox = %spec.mailbox, "UIDVALIDITY changed: reading the folder again");
        last_uid = 0;
    }
    let mut uids: Vec<u32> = if folder.exists == 0 {
        Vec::new()
    } else {
        let mut query = format!("UID {}:*", u64::from(last_uid) + 1);
        if let Some(day) = spec.since {
            // RFC 3501 date: 1-Jan-2026 (English month names whatever the locale).
            query.push_str(&format!(" SINCE {}", day.format("%-d-%b-%Y")));
        }
        within(src, step, imap.uid_search(&query))
            .await?
            .map_err(|e| network(src, format!("UID SEARCH: {e}")))?
            .into_iter()
            // `n:*` always includes the last message, even below n.
            .filter(|&u| u > last_uid)
            .collect()
    };
    uids.sort_unstable();
    let backlog = uids.len() > spec.max_messages;
    uids.truncate(spec.max_messages);
    let max = src.fetcher.max_body_bytes().min(u64::from(u32::MAX));
    let mut fetched: Vec<(MessageMeta, Vec<u8>)> = Vec::with_capacity(uids.len());
    if !uids.is_empty() {
        let set = uid_set(&uids);
        let query = format!("(UID RFC822.SIZE INTERNALDATE BODY.PEEK[]<0.{max}>)");
        let read = async {
            let mut stream = imap
                .uid_fetch(&set, &query)
                .await
                .map_err(|e| network(src, format!("UID FETCH: {e}")))?;
            while let Some(item) = stream.next().await {
                let f = item.map_err(|e| network(src, format!("UID FETCH: {e}")))?;
                let Some(uid) = f.uid else { continue };
                let body = f.body().unwrap_or_default().to_vec();
                fetched.push((
                    MessageMeta {
                        mailbox: spec.mailbox.clone(),
                        uidvalidity,
                        uid,
                        size: f.size,
                        received: f.internal_date(),
                        truncated: f.size.is_some_and(|s| u64::from(s) > max),
                    },
                    body,
                ));
            }
            Ok::<_, SourceError>(())
        };
        // A step per message at most, and never less than one step.
        let budget = step.saturating_mul(u32::try_from(uids.len()).unwrap_or(u32::MAX).max(1));
        within(src, budget.min(Duration::from_secs(3600)), read).await??;
    }
    let _ = within(src, step, imap.logout()).await;
    let next_uid = uids.last().copied().unwrap_or(last_uid);
    let (name, platform) = (src.name.clone(), src.platform.clone());
    let mut documents = blocking(&src.name, move || {
        fetched
            .iter()
            .map(|(meta, raw)| message_to_document(raw, meta, &name, &platform))
            .collect::<Vec<_>>()
    })
    .await?;
    // Newest first, as the other sources give them.
    documents.reverse();
    let mut cursor = json!({"v": 1, "uidvalidity": uidvalidity, "last_uid": next_uid});
    if backlog {
        cursor["backlog"] = Value::Bool(true);
    }
    Ok(Poll {
        documents,
        cursor,
        not_modified: false,
    })
}

/// A sorted list of UIDs as an IMAP sequence set, runs written as ranges (`1:3,7,9:10`),
/// so that a long backlog makes a short command.
fn uid_set(uids: &[u32]) -> String {
    let mut out = String::new();
    let mut i = 0;
    while i < uids.len() {
        let start = uids[i];
        let mut end = start;
        while i + 1 < uids.len() && uids[i + 1] == end.saturating_add(1) {
            i += 1;
            end = uids[i];
        }
        if !out.is_empty() {
            out.push(',');
        }
        if end == start {
            out.push_str(&start.to_string());
        } else {
            out.push_str(&format!("{start}:{end}"));
        }
        i += 1;
    }
    out
}

/// Runs one network step under the source's timeout.
async fn within<F: std::future::Future>(
    src: &Source,
    limit: Duration,
    f: F,
) -> Result<F::Output, SourceError> {
    tokio::time::timeout(limit, f)
        .await
        .map_err(|_| SourceError::Timeout {
            source_name: src.name.clone(),
            url: src.url.clone(),
            secs: limit.as_secs_f64(),
        })
}

fn network(src: &Source, reason: String) -> SourceError {
    SourceError::Network {
        source_name: src.name.clone(),
        url: src.url.clone(),
        reason,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folder_names_in_modified_utf7() {
        // RFC 3501 §5.1.3's example: 台北 and 日本語.
        assert_eq!(
            mailbox_utf7("~peter/mail/台北/日本語"),
            "~peter/mail/&U,BTFw-/&ZeVnLIqe-"
        );
        assert_eq!(mailbox_utf7("INBOX"), "INBOX");
        assert_eq!(mailbox_utf7("A&B"), "A&-B");
        assert_eq!(mailbox_utf7("县长信箱"), "&U7+Vf0,he7E-");
        // A character outside the BMP is a surrogate pair.
        assert_eq!(mailbox_utf7("😀"), "&2D3eAA-");
    }

    fn meta() -> MessageMeta {
        MessageMeta {
            mailbox: "INBOX".into(),
            uidvalidity: 7,
            uid: 42,
            size: Some(100),
            received: DateTime::parse_from_rfc3339("2026-11-23T09:05:00+08:00").ok(),
            truncated: false,
        }
    }

    #[test]
    fn a_gbk_complaint_becomes_a_message_document() {
        // Subject and body in GBK, as many Chinese mail clients still send.
        let (subject, _, _) = encoding_rs::GBK.encode("反映幸福小区停水问题");
        let (body, _, _) = encoding_rs::GBK
            .encode("县长您好：\r\n幸福小区已经停水三天，物业不管，居民非常不满。\r\n");
        use base64::Engine;
        let b64 = base64::engine::general_purpose::STANDARD;
        let raw = format!(
            "From: =?GBK?B?{}?= <ZhangSan@Example.com>\r\nTo: xzxx@county.gov.cn\r\nCc: a@county.gov.cn, b@county.gov.cn\r\nSubject: =?GBK?B?{}?=\r\nDate: Mon, 23 Nov 2026 09:00:00 +0800\r\nMessage-ID: <abc.123@example.com>\r\nIn-Reply-To: <first@example.com>\r\nReferences: <root@example.com> <first@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=GBK\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
            b64.encode(encoding_rs::GBK.encode("张三").0),
            b64.encode(&subject[..]),
            b64.encode(&body[..]),
        );
        let doc = message_to_document(raw.as_bytes(), &meta(), "县长信箱", "email");
        assert_eq!(doc.id.as_deref(), Some("abc.123@example.com"));
        assert_eq!(doc.kind, Kind::Message);
        assert_eq!(doc.platform, "email");
        assert_eq!(doc.source.as_deref(), Some("县长信箱"));
        assert_eq!(doc.title.as_deref(), Some("反映幸福小区停水问题"));
        assert_eq!(
            doc.text,
            "县长您好：\n幸福小区已经停水三天，物业不管，居民非常不满。"
        );
        let author = doc.author.as_ref().expect("author");
        assert_eq!(author.id.as_deref(), Some("zhangsan@example.com"));
        assert_eq!(author.name.as_deref(), Some("张三"));
        assert_eq!(
            doc.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T09:00:00+08:00")
        );
        assert_eq!(doc.parent_id.as_deref(), Some("first@example.com"));
        assert_eq!(doc.root_id.as_deref(), Some("root@example.com"));
        assert_eq!(doc.extra["uid"], 42);
        assert_eq!(doc.extra["uidvalidity"], 7);
        assert_eq!(doc.extra["to"], json!(["xzxx@county.gov.cn"]));
        assert_eq!(
            doc.extra["cc"],
            json!(["a@county.gov.cn", "b@county.gov.cn"])
        );
        assert!(doc.validate(1 << 20).is_ok());
    }

    #[test]
    fn html_only_mail_attachments_and_a_missing_message_id() {
        let raw = "From: resident@example.com\r\nSubject: =?UTF-8?B?5Li+5oql?=\r\nDate: Tue, 24 Nov 2026 10:00:00 +0800\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/html; charset=utf-8\r\n\r\n<html><body><p>路灯坏了<b>一个月</b></p><script>x()</script></body></html>\r\n--b1\r\nContent-Type: image/jpeg\r\nContent-Disposition: attachment; filename=\"=?UTF-8?B?546w5Zy6LmpwZw==?=\"\r\nContent-Transfer-Encoding: base64\r\n\r\n/9j/4AAQSkZJRgABAQ==\r\n--b1--\r\n";
        let doc = message_to_document(raw.as_bytes(), &meta(), "mayor", "email");
        // No Message-ID: the folder's UIDVALIDITY and the UID name it.
        assert_eq!(doc.id.as_deref(), Some("mayor#7.42"));
        assert_eq!(doc.title.as_deref(), Some("举报"));
        assert!(doc.text.contains("路灯坏了"), "{:?}", doc.text);
        assert!(doc.text.contains("一个月"), "{:?}", doc.text);
        // The Date is more than a day after arrival: the arrival time is used.
        assert_eq!(
            doc.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T09:05:00+08:00")
        );
        let attachments = doc.extra["attachments"].as_array().expect("attachments");
        assert_eq!(attachments.len(), 1);
        assert_eq!(attachments[0]["name"], "现场.jpg");
        assert_eq!(attachments[0]["content_type"], "image/jpeg");
        assert!(
            doc.author.as_ref().and_then(|a| a.name.as_deref()) == Some("resident@example.com")
        );
        assert!(doc.parent_id.is_none() && doc.root_id.is_none());
    }

    #[test]
    fn bytes_that_are_no_message_are_kept() {
        let doc = message_to_document(b"", &meta(), "mayor", "email");
        assert_eq!(doc.id.as_deref(), Some("mayor#7.42"));
        assert_eq!(
            doc.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2026-11-23T09:05:00+08:00")
        );
    }

    #[test]
    fn uid_sets_are_ranges() {
        assert_eq!(uid_set(&[1, 2, 3, 7, 9, 10]), "1:3,7,9:10");
        assert_eq!(uid_set(&[5]), "5");
        assert_eq!(uid_set(&[]), "");
        assert_eq!(
            uid_set(&[u32::MAX - 1, u32::MAX]),
            format!("{}:{}", u32::MAX - 1, u32::MAX)
        );
    }

    #[test]
    fn cursor_positions() {
        assert_eq!(cursor_position(None), (None, 0));
        let c = json!({"v": 1, "uidvalidity": 9, "last_uid": 31});
        assert_eq!(cursor_position(Some(&c)), (Some(9), 31));
    }
}
