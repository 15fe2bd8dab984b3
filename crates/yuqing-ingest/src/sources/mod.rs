//! Network sources: RSS/Atom feeds, web pages, JSON APIs and mailboxes (IMAP), polled under
//! `yuqing serve`.
//!
//! A [`SourceConfig`] is one `[[sources]]` table of the config file: raw, as the user wrote
//! it (unknown keys are refused). [`SourceConfig::build`] validates it (URL, selectors,
//! field mapping, allow list) and returns a [`Source`], the running component. The caller
//! polls each source on its interval: [`Source::poll`] takes the cursor the previous
//! successful poll returned and gives back new documents with the next cursor, which the
//! caller stores in the same transaction as the documents, so a crash between the two never
//! loses or doubles a round (the store dedups anyway).
//!
//! Every HTTP request goes through one [`http::Fetcher`] per source, which refuses private
//! destinations (also after DNS and on each redirect), honours robots.txt, paces requests
//! per host, enforces a timeout and a body limit, and decodes GBK/Big5/… pages.
//!
//! The cursor is a small JSON object, versioned (`"v": 1`):
//! `{"v":1,"etag":…,"last_modified":…,"seen":[newest ids…]}` for feeds, plus
//! `"backlog": true` for web sources that left links for the next round, and
//! `{"v":1,"last_id":…,"seen":[…]}` for JSON APIs, `{"v":1,"uidvalidity":…,"last_uid":…}`
//! for mailboxes ([`mailbox`]). A cursor that cannot be read is treated
//! as absent (the store's dedup keeps that safe).

pub mod feed;
pub mod http;
pub mod jsonapi;
pub mod mailbox;
pub mod web;

use std::collections::{BTreeMap, HashSet};
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, FixedOffset, NaiveDate, TimeZone};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use yuqing_core::document::{beijing, parse_time_str};
use yuqing_core::{Code, Document};

pub use http::{FetchOutcome, FetchPolicy, Fetched, Fetcher, Validators, is_forbidden_ip};

/// How many recent ids a cursor remembers.
const SEEN_CAPACITY: usize = 2000;

// ---------------------------------------------------------------------------------------
// Errors

/// Why a source could not be built or polled. Every message names the source and URL,
/// says what went wrong and how to fix it, in Chinese then English.
#[derive(Debug, thiserror::Error)]
pub enum SourceError {
    #[error("源 {source_name} 配置无效：{zh} / source {source_name} is misconfigured: {en}")]
    Config {
        source_name: String,
        zh: String,
        en: String,
    },
    #[error(
        "源 {source_name} 拒绝访问 {url}：地址 {addr} 属于本机、内网或保留地址；如确需采集内网站点，请在该源加上 allow_hosts = [\"主机:端口\"] 或 allow_private = true / source {source_name}: refused to fetch {url}: address {addr} is loopback, private or reserved; if this internal site is intended, add allow_hosts = [\"host:port\"] or allow_private = true to the source"
    )]
    Forbidden {
        source_name: String,
        url: String,
        addr: String,
    },
    #[error(
        "源 {source_name}：网站的 robots.txt 不允许抓取 {url}；请删除该源，或在取得网站许可后设置 respect_robots = false / source {source_name}: the site's robots.txt disallows {url}; remove the source, or set respect_robots = false only with the site's permission"
    )]
    Robots { source_name: String, url: String },
    #[error(
        "源 {source_name} 请求 {url} 超时（{secs} 秒）；请确认网站可以访问，或调大 timeout / source {source_name}: request to {url} timed out after {secs} s; check that the site is reachable or raise `timeout`"
    )]
    Timeout {
        source_name: String,
        url: String,
        secs: f64,
    },
    #[error(
        "源 {source_name} 请求 {url} 失败：HTTP {status}；请检查 url 是否正确、网站是否正常 / source {source_name}: {url} answered HTTP {status}; check the url and that the site is up"
    )]
    Status {
        source_name: String,
        url: String,
        status: u16,
    },
    #[error(
        "源 {source_name} 无法连接 {url}：{reason}；请检查网络、DNS 和 url / source {source_name}: cannot fetch {url}: {reason}; check the network, DNS and the url"
    )]
    Network {
        source_name: String,
        url: String,
        reason: String,
    },
    #[error(
        "源 {source_name}：{url} 的响应体超过 {max} 字节；请确认 url 指向订阅或页面本身，或调大 max_body_bytes / source {source_name}: body exceeds {max} bytes at {url}; check the url points at the feed or page itself, or raise max_body_bytes"
    )]
    TooLarge {
        source_name: String,
        url: String,
        max: u64,
    },
    #[error(
        "源 {source_name}：{url} 出现重定向循环；请在浏览器中打开该地址，把最终地址写进配置 / source {source_name}: redirect loop at {url}; open it in a browser and configure the final address"
    )]
    RedirectLoop { source_name: String, url: String },
    #[error(
        "源 {source_name}：{url} 重定向超过 {max} 次；请把最终地址写进配置 / source {source_name}: more than {max} redirects from {url}; configure the final address"
    )]
    TooManyRedirects {
        source_name: String,
        url: String,
        max: usize,
    },
    #[error(
        "源 {source_name}：{url} 返回了无效的重定向地址 {location:?}；请把最终地址写进配置 / source {source_name}: {url} redirected to an invalid location {location:?}; configure the final address"
    )]
    BadRedirect {
        source_name: String,
        url: String,
        location: String,
    },
    #[error(
        "源 {source_name}：{url} 返回的是 HTML 网页而不是 RSS/Atom 订阅；请填写订阅本身的地址，或把该源改为 type = \"web\" / source {source_name}: {url} is not a feed (looks like HTML); use the feed's own address, or change the source to type = \"web\""
    )]
    NotAFeedHtml { source_name: String, url: String },
    #[error(
        "源 {source_name}：{url} 不是可识别的订阅（RSS/Atom/JSON Feed）：{reason}；请检查 url / source {source_name}: {url} is not a feed (RSS, Atom or JSON Feed): {reason}; check the url"
    )]
    NotAFeed {
        source_name: String,
        url: String,
        reason: String,
    },
    #[error(
        "源 {source_name}：无法解析 {url}：{zh} / source {source_name}: cannot read {url}: {en}"
    )]
    Parse {
        source_name: String,
        url: String,
        zh: String,
        en: String,
    },
    #[error("源 {source_name} 内部错误：{reason} / source {source_name}: internal error: {reason}")]
    Internal { source_name: String, reason: String },
}

impl SourceError {
    pub(crate) fn config(source: &str, zh: impl Into<String>, en: impl Into<String>) -> Self {
        SourceError::Config {
            source_name: source.to_owned(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    pub(crate) fn parse(
        source: &str,
        url: &str,
        zh: impl Into<String>,
        en: impl Into<String>,
    ) -> Self {
        SourceError::Parse {
            source_name: source.to_owned(),
            url: url.to_owned(),
            zh: zh.into(),
            en: en.into(),
        }
    }

    /// The stable error code.
    pub fn code(&self) -> Code {
        match self {
            SourceError::Config { .. }
            | SourceError::TooLarge { .. }
            | SourceError::NotAFeedHtml { .. }
            | SourceError::NotAFeed { .. }
            | SourceError::Parse { .. } => Code::InvalidInput,
            SourceError::Forbidden { .. } | SourceError::Robots { .. } => Code::Forbidden,
            SourceError::Status { status, .. }
                if (400..500).contains(status) && !matches!(status, 408 | 429) =>
            {
                Code::InvalidInput
            }
            SourceError::Timeout { .. }
            | SourceError::Status { .. }
            | SourceError::Network { .. }
            | SourceError::RedirectLoop { .. }
            | SourceError::TooManyRedirects { .. }
            | SourceError::BadRedirect { .. } => Code::Unavailable,
            SourceError::Internal { .. } => Code::Internal,
        }
    }

    /// True when retrying later may succeed (timeouts, network errors, 5xx, 408, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            SourceError::Timeout { .. }
            | SourceError::Network { .. }
            | SourceError::Internal { .. } => true,
            SourceError::Status { status, .. } => *status >= 500 || matches!(status, 408 | 429),
            _ => false,
        }
    }

    /// A short label for metrics and logs: `timeout`, `forbidden`, `http_status`, ….
    pub fn kind(&self) -> &'static str {
        match self {
            SourceError::Config { .. } => "config",
            SourceError::Forbidden { .. } => "forbidden",
            SourceError::Robots { .. } => "robots",
            SourceError::Timeout { .. } => "timeout",
            SourceError::Status { .. } => "http_status",
            SourceError::Network { .. } => "network",
            SourceError::TooLarge { .. } => "too_large",
            SourceError::RedirectLoop { .. }
            | SourceError::TooManyRedirects { .. }
            | SourceError::BadRedirect { .. } => "redirect",
            SourceError::NotAFeedHtml { .. } | SourceError::NotAFeed { .. } => "not_a_feed",
            SourceError::Parse { .. } => "parse",
            SourceError::Internal { .. } => "internal",
        }
    }
}

// ---------------------------------------------------------------------------------------
// Configuration

/// The kind of a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum SourceType {
    /// RSS 0.9x/1.0 (RDF)/2.0, Atom or JSON Feed; RSSHub routes are RSS.
    #[serde(alias = "rss", alias = "atom")]
    Feed,
    /// A list page with article links, and the articles.
    Web,
    /// A JSON API with a field mapping.
    JsonApi,
    /// A mailbox read over IMAP (县长信箱, a complaints address).
    Imap,
}

impl SourceType {
    pub fn as_str(self) -> &'static str {
        match self {
            SourceType::Feed => "feed",
            SourceType::Web => "web",
            SourceType::JsonApi => "json_api",
            SourceType::Imap => "imap",
        }
    }
}

pub use yuqing_core::duration::{HumanDuration, parse_duration};

/// A string that is never printed by `Debug` (API tokens in `headers`).
#[derive(Clone, PartialEq, Eq, Deserialize, Serialize)]
#[serde(transparent)]
pub struct Secret(pub String);

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("\"***\"")
    }
}

fn default_true() -> bool {
    true
}
fn default_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(300))
}
fn default_timeout() -> HumanDuration {
    HumanDuration(Duration::from_secs(30))
}
fn default_min_host_interval() -> HumanDuration {
    HumanDuration(Duration::from_secs(1))
}
fn default_max_body_bytes() -> u64 {
    10 * 1024 * 1024
}
fn is_default_interval(d: &HumanDuration) -> bool {
    *d == default_interval()
}
fn is_default_timeout(d: &HumanDuration) -> bool {
    *d == default_timeout()
}
fn is_default_min_host_interval(d: &HumanDuration) -> bool {
    *d == default_min_host_interval()
}
fn is_true(b: &bool) -> bool {
    *b
}
fn is_false(b: &bool) -> bool {
    !*b
}

/// One configured source: a `[[sources]]` table in the config file. Unknown keys are
/// refused; keys that belong to another `type` are refused by [`SourceConfig::build`].
#[derive(Debug, Clone, Deserialize, Serialize)]
#[serde(deny_unknown_fields)]
pub struct SourceConfig {
    /// Unique name; shown in errors, logs, metrics and stored in `document.source`.
    pub name: String,
    /// `feed`, `web`, `json_api` or `imap`.
    #[serde(rename = "type")]
    pub source_type: SourceType,
    /// The feed URL, the list page URL, the API URL (may contain `{page}`), or the mailbox
    /// (`imaps://host/folder`).
    pub url: String,
    /// A disabled source is kept in the config but not polled.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub enabled: bool,
    /// `document.platform` of what the source produces. Default `news` for feed and web,
    /// `email` for imap; required for json_api.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub platform: Option<String>,
    /// Time between two polls. Default 5 minutes.
    #[serde(
        default = "default_interval",
        skip_serializing_if = "is_default_interval"
    )]
    pub interval: HumanDuration,
    /// Total time for one HTTP request (connect, headers, body). Default 30 s.
    #[serde(
        default = "default_timeout",
        skip_serializing_if = "is_default_timeout"
    )]
    pub timeout: HumanDuration,
    /// Largest HTTP body accepted, in bytes (after decompression). Default 10 MiB.
    #[serde(default = "default_max_body_bytes")]
    pub max_body_bytes: u64,
    /// User-Agent header. Default `yuqing/0.1 (…)`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_agent: Option<String>,
    /// Minimum time between two requests to the same host:port. Default 1 s.
    #[serde(
        default = "default_min_host_interval",
        skip_serializing_if = "is_default_min_host_interval"
    )]
    pub min_host_interval: HumanDuration,
    /// Obey the site's robots.txt. Default true.
    #[serde(default = "default_true", skip_serializing_if = "is_true")]
    pub respect_robots: bool,
    /// Allow loopback, private and other reserved destinations. Default false.
    #[serde(default, skip_serializing_if = "is_false")]
    pub allow_private: bool,
    /// Private destinations allowed one by one: `"host:port"` (or `"host"` for any port).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow_hosts: Vec<String>,
    /// A PEM file of the CA certificates to trust instead of the system's roots (an
    /// organisation's own CA, or a self-signed server certificate): for `https://` pages
    /// and APIs, `imaps://` and STARTTLS.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ca_file: Option<String>,
    /// Extra request headers, e.g. `{ Authorization = "Bearer …" }`; sent only to the
    /// configured URL's host.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub headers: BTreeMap<String, Secret>,

    // --- type = "web"
    /// web: CSS selector of the article links on the list page (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub link_selector: Option<String>,
    /// web: CSS selector of the article title (default: og:title, h1, then <title>).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title_selector: Option<String>,
    /// web: CSS selector of the article body (default: automatic main-text extraction).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_selector: Option<String>,
    /// web: CSS selector of the publication time (default: meta tags, <time>, date text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub time_selector: Option<String>,
    /// web: most articles fetched per poll (the rest wait for the next poll). Default 20.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_articles: Option<usize>,

    // --- type = "json_api"
    /// json_api: JSON pointer to the items array, e.g. `/data/list` (default: the root).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub items: Option<String>,
    /// json_api: document field → JSON pointer inside one item, e.g. `title = "/title"`,
    /// `"author.name" = "/user/nick"`, `"extra.board" = "/forum"`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, String>,
    /// json_api: `document.kind` when not mapped. Default `post`.
    #[serde(default, rename = "kind", skip_serializing_if = "Option::is_none")]
    pub doc_kind: Option<String>,
    /// json_api: query parameter carrying the page number (or put `{page}` in the url).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page_param: Option<String>,
    /// json_api: number of the first page. Default 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub first_page: Option<u64>,
    /// json_api: most pages read per poll. Default 5 with paging, else 1.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_pages: Option<u32>,

    // --- type = "imap"
    /// imap: the account to log in as (required).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// imap: its password or app password (required); never logged.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub password: Option<Secret>,
    /// imap: most messages read per poll (the rest wait for the next poll). Default 200.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_messages: Option<usize>,
    /// imap: read only messages the server received on or after this day (`YYYY-MM-DD`);
    /// default: the whole folder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub since: Option<String>,
    /// imap: with an `imap://` url, upgrade the connection with STARTTLS before logging in
    /// (port 143; then it may go to public addresses like `imaps://`). Default false.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub starttls: Option<bool>,
}

/// Document platform names: lower-case letters, digits, `-`, `_` (as `Document::validate`).
fn valid_platform(p: &str) -> bool {
    !p.is_empty()
        && p.len() <= 64
        && p.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_')
}

impl SourceConfig {
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Time between two polls.
    pub fn interval(&self) -> Duration {
        self.interval.0
    }

    /// The platform documents get.
    pub fn platform(&self) -> &str {
        match (&self.platform, self.source_type) {
            (Some(p), _) => p,
            (None, SourceType::JsonApi) => "web",
            (None, SourceType::Imap) => "email",
            (None, _) => "news",
        }
    }

    /// The fetch policy this config asks for.
    pub fn fetch_policy(&self) -> FetchPolicy {
        FetchPolicy {
            source: self.name.clone(),
            timeout: self.timeout.0,
            max_body_bytes: self.max_body_bytes,
            user_agent: self
                .user_agent
                .clone()
                .unwrap_or_else(|| http::DEFAULT_USER_AGENT.to_owned()),
            allow_private: self.allow_private,
            allow_hosts: self.allow_hosts.clone(),
            min_host_interval: self.min_host_interval.0,
            respect_robots: self.respect_robots,
            headers: self
                .headers
                .iter()
                .map(|(k, v)| (k.clone(), v.0.clone()))
                .collect(),
            max_redirects: 5,
            ca_file: self.ca_file.clone(),
        }
    }

    /// Validates the config and builds the running source.
    pub fn build(&self) -> Result<Source, SourceError> {
        let name = self.name.trim();
        let err = |zh: String, en: String| SourceError::config(name, zh, en);
        if name.is_empty() || name.len() > 128 || name.chars().any(char::is_control) {
            return Err(SourceError::config(
                if name.is_empty() { "(unnamed)" } else { name },
                "name 不能为空，且不超过 128 字节",
                "name must be non-empty and at most 128 bytes",
            ));
        }
        let platform = self.platform();
        if self.source_type == SourceType::JsonApi && self.platform.is_none() {
            return Err(err(
                "json_api 源必须写 platform，例如 platform = \"forum\"".into(),
                "a json_api source needs a platform, e.g. platform = \"forum\"".into(),
            ));
        }
        if !valid_platform(platform) {
            return Err(err(
                format!("platform {platform:?} 无效：只能用小写字母、数字、- 和 _"),
                format!("platform {platform:?} is invalid: use lower-case letters, digits, - or _"),
            ));
        }
        // The URL must be absolute http(s); `{page}` stands for a number. A mailbox's url
        // is checked by `MailSpec::from_config`.
        let probe = self.url.replace("{page}", "1");
        match url::Url::parse(probe.trim()) {
            _ if self.source_type == SourceType::Imap => {}
            Ok(u) if matches!(u.scheme(), "http" | "https") && u.host().is_some() => {}
            _ => {
                return Err(err(
                    format!(
                        "url {:?} 无效：请写完整的 http:// 或 https:// 地址",
                        self.url
                    ),
                    format!(
                        "url {:?} is invalid: write a full http:// or https:// address",
                        self.url
                    ),
                ));
            }
        }
        const HOUR: Duration = Duration::from_secs(3600);
        if self.interval.0 < Duration::from_secs(1) || self.interval.0 > 30 * 24 * HOUR {
            return Err(err(
                "interval 应在 1 秒到 30 天之间".into(),
                "interval must be between 1 s and 30 days".into(),
            ));
        }
        if self.timeout.0.is_zero() || self.timeout.0 > HOUR {
            return Err(err(
                "timeout 应大于 0 且不超过 1 小时".into(),
                "timeout must be greater than 0 and at most 1 h".into(),
            ));
        }
        if self.min_host_interval.0 > HOUR {
            return Err(err(
                "min_host_interval 不能超过 1 小时".into(),
                "min_host_interval must be at most 1 h".into(),
            ));
        }
        if self.max_body_bytes == 0 {
            return Err(err(
                "max_body_bytes 必须大于 0".into(),
                "max_body_bytes must be greater than 0".into(),
            ));
        }
        self.check_fields_belong()?;
        let kind = match self.source_type {
            SourceType::Feed => SourceImpl::Feed,
            SourceType::Web => SourceImpl::Web(web::WebSpec::from_config(self)?),
            SourceType::JsonApi => SourceImpl::JsonApi(jsonapi::JsonSpec::from_config(self)?),
            SourceType::Imap => SourceImpl::Mailbox(mailbox::MailSpec::from_config(self)?),
        };
        let fetcher = Fetcher::new(self.fetch_policy())?;
        Ok(Source {
            name: name.to_owned(),
            platform: platform.to_owned(),
            url: self.url.trim().to_owned(),
            fetcher,
            kind,
        })
    }

    /// Refuses keys that belong to another source type.
    fn check_fields_belong(&self) -> Result<(), SourceError> {
        let web_keys = [
            ("link_selector", self.link_selector.is_some()),
            ("title_selector", self.title_selector.is_some()),
            ("text_selector", self.text_selector.is_some()),
            ("time_selector", self.time_selector.is_some()),
            ("max_articles", self.max_articles.is_some()),
        ];
        let json_keys = [
            ("items", self.items.is_some()),
            ("fields", !self.fields.is_empty()),
            ("kind", self.doc_kind.is_some()),
            ("page_param", self.page_param.is_some()),
            ("first_page", self.first_page.is_some()),
            ("max_pages", self.max_pages.is_some()),
        ];
        let imap_keys = [
            ("user", self.user.is_some()),
            ("password", self.password.is_some()),
            ("max_messages", self.max_messages.is_some()),
            ("since", self.since.is_some()),
            ("starttls", self.starttls.is_some()),
        ];
        let foreign = match self.source_type {
            SourceType::Feed => web_keys
                .iter()
                .chain(json_keys.iter())
                .chain(imap_keys.iter())
                .find(|(_, set)| *set),
            SourceType::Web => json_keys
                .iter()
                .chain(imap_keys.iter())
                .find(|(_, set)| *set),
            SourceType::JsonApi => web_keys
                .iter()
                .chain(imap_keys.iter())
                .find(|(_, set)| *set),
            SourceType::Imap => web_keys
                .iter()
                .chain(json_keys.iter())
                .find(|(_, set)| *set),
        };
        if self.source_type == SourceType::Imap {
            let http_only = [
                ("headers", !self.headers.is_empty()),
                ("user_agent", self.user_agent.is_some()),
                ("respect_robots", !self.respect_robots),
            ];
            if let Some((key, _)) = http_only.iter().find(|(_, set)| *set) {
                return Err(SourceError::config(
                    &self.name,
                    format!(
                        "{key} 只适用于网页类的源（feed、web、json_api），邮箱源没有这一项；请删除"
                    ),
                    format!(
                        "{key} only applies to HTTP sources (feed, web, json_api), not to a mailbox; remove it"
                    ),
                ));
            }
        }
        if let Some((key, _)) = foreign {
            let owner = if web_keys.iter().any(|(k, _)| k == key) {
                "web"
            } else if json_keys.iter().any(|(k, _)| k == key) {
                "json_api"
            } else {
                "imap"
            };
            return Err(SourceError::config(
                &self.name,
                format!(
                    "{key} 只适用于 type = \"{owner}\"，本源的 type 是 \"{}\"；请删除该项",
                    self.source_type.as_str()
                ),
                format!(
                    "{key} only applies to type = \"{owner}\", this source is type = \"{}\"; remove it",
                    self.source_type.as_str()
                ),
            ));
        }
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------
// The running source

enum SourceImpl {
    Feed,
    Web(web::WebSpec),
    JsonApi(jsonapi::JsonSpec),
    Mailbox(mailbox::MailSpec),
}

/// A built source, ready to poll. `Send + Sync`; poll it from one task at a time.
pub struct Source {
    name: String,
    platform: String,
    url: String,
    fetcher: Fetcher,
    kind: SourceImpl,
}

impl fmt::Debug for Source {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let kind = match self.kind {
            SourceImpl::Feed => "feed",
            SourceImpl::Web(_) => "web",
            SourceImpl::JsonApi(_) => "json_api",
            SourceImpl::Mailbox(_) => "imap",
        };
        f.debug_struct("Source")
            .field("name", &self.name)
            .field("type", &kind)
            .field("url", &self.url)
            .finish()
    }
}

/// What one poll produced.
#[derive(Debug, Clone)]
pub struct Poll {
    /// New documents (not seen according to the cursor), newest first where the source
    /// orders them so.
    pub documents: Vec<Document>,
    /// The cursor to pass to the next poll; store it with the documents.
    pub cursor: Value,
    /// The server said nothing changed (HTTP 304); `documents` is empty.
    pub not_modified: bool,
}

impl Source {
    pub fn name(&self) -> &str {
        &self.name
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn platform(&self) -> &str {
        &self.platform
    }

    /// One polling round. `cursor` is what the previous successful poll returned (`None`
    /// the first time). Returns only documents the cursor has not seen.
    pub async fn poll(&self, cursor: Option<&Value>) -> Result<Poll, SourceError> {
        let cursor = cursor.filter(|c| {
            let ok = c.get("v").and_then(Value::as_u64) == Some(1);
            if !ok {
                tracing::warn!(source = %self.name, "ignoring unreadable cursor");
            }
            ok
        });
        let result = match &self.kind {
            SourceImpl::Feed => feed::poll(self, cursor).await,
            SourceImpl::Web(spec) => web::poll(self, spec, cursor).await,
            SourceImpl::JsonApi(spec) => jsonapi::poll(self, spec, cursor).await,
            SourceImpl::Mailbox(spec) => mailbox::poll(self, spec, cursor).await,
        };
        match &result {
            Ok(p) => {
                metrics::counter!("yuqing_source_documents_total", "source" => self.name.clone())
                    .increment(p.documents.len() as u64);
                tracing::debug!(
                    source = %self.name,
                    documents = p.documents.len(),
                    not_modified = p.not_modified,
                    "source polled"
                );
            }
            Err(e) => tracing::debug!(source = %self.name, error = %e, "source poll failed"),
        }
        result
    }
}

// ---------------------------------------------------------------------------------------
// Helpers shared by the source kinds

/// Ids already produced, read from a cursor's `seen` list (newest first).
#[derive(Debug, Default)]
pub(crate) struct Seen {
    order: Vec<String>,
    set: HashSet<String>,
}

impl Seen {
    pub(crate) fn from_cursor(cursor: Option<&Value>) -> Self {
        let order: Vec<String> = cursor
            .and_then(|c| c.get("seen"))
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_owned))
                    .collect()
            })
            .unwrap_or_default();
        let set = order.iter().cloned().collect();
        Seen { order, set }
    }

    pub(crate) fn contains(&self, id: &str) -> bool {
        self.set.contains(id)
    }

    /// `fresh` (newest first) followed by the older ids, without repeats, capped.
    pub(crate) fn updated(&self, fresh: impl IntoIterator<Item = String>) -> Value {
        let mut out: Vec<String> = Vec::new();
        let mut taken: HashSet<String> = HashSet::new();
        for id in fresh.into_iter().chain(self.order.iter().cloned()) {
            if out.len() >= SEEN_CAPACITY {
                break;
            }
            if taken.insert(id.clone()) {
                out.push(id);
            }
        }
        Value::from(out)
    }
}

/// Validators stored in a cursor.
pub(crate) fn cursor_validators(cursor: Option<&Value>) -> Validators {
    let get = |k: &str| {
        cursor
            .and_then(|c| c.get(k))
            .and_then(Value::as_str)
            .map(str::to_owned)
    };
    Validators {
        etag: get("etag"),
        last_modified: get("last_modified"),
    }
}

/// Runs CPU-bound parsing off the async threads.
pub(crate) async fn blocking<T: Send + 'static>(
    source: &str,
    f: impl FnOnce() -> T + Send + 'static,
) -> Result<T, SourceError> {
    tokio::task::spawn_blocking(f)
        .await
        .map_err(|e| SourceError::Internal {
            source_name: source.to_owned(),
            reason: format!("parser task failed: {e}"),
        })
}

/// Trims every line, folds runs of spaces, drops empty lines.
pub(crate) fn tidy_text(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for line in s.lines() {
        let mut folded = String::with_capacity(line.len());
        let mut space = false;
        for c in line.chars() {
            if c.is_whitespace() || c == '\u{a0}' {
                space = true;
            } else {
                if space && !folded.is_empty() {
                    folded.push(' ');
                }
                space = false;
                folded.push(c);
            }
        }
        if !folded.is_empty() {
            if !out.is_empty() {
                out.push('\n');
            }
            out.push_str(&folded);
        }
    }
    out
}

/// A short id for an item that has neither guid nor link: a hash of what it says.
pub(crate) fn content_id(parts: &[&str]) -> String {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    for p in parts {
        h.update(p.as_bytes());
        h.update(&[0]);
    }
    format!("xxh3:{:016x}", h.digest())
}

/// Reads a publication time in any form sources use: RFC 3339, RFC 2822 (a wrong weekday
/// is tolerated; `CST` is read as China Standard Time, +08:00), `YYYY-MM-DD HH:MM[:SS]`,
/// `YYYY/MM/DD`, `YYYY年M月D日 HH:MM`, Unix seconds or milliseconds, or the first such date
/// inside a longer text ("来源：新华社 2024-05-01 08:00"). Times without an offset are
/// Beijing time.
pub fn parse_loose_time(s: &str) -> Option<DateTime<FixedOffset>> {
    let t = s.trim();
    if t.is_empty() {
        return None;
    }
    // "CST" in Chinese sources means China Standard Time, not US Central.
    let mut r = t.to_owned();
    for (zone, off) in [
        (" CST", " +0800"),
        (" GMT+8", " +0800"),
        (" GMT+08:00", " +0800"),
        (" UTC+8", " +0800"),
    ] {
        if r.ends_with(zone) {
            r.truncate(r.len() - zone.len());
            r.push_str(off);
        }
    }
    if let Ok(v) = parse_time_str(&r, beijing()) {
        return Some(v);
    }
    if t.len() >= 9 && t.len() <= 13 && t.bytes().all(|b| b.is_ascii_digit()) {
        let n: i64 = t.parse().ok()?;
        return yuqing_core::document::parse_time(&Value::from(n), beijing())
            .ok()
            .flatten();
    }
    // RFC 2822 with a wrong weekday (through `parse_time_str`, which refuses a year past
    // 9999 as RFC 3339 cannot write it: such a time would not import again).
    if let Some((_, rest)) = r.split_once(", ")
        && let Ok(v) = parse_time_str(rest, beijing())
    {
        return Some(v);
    }
    find_date_in_text(t)
}

/// The first date (with its time, if one follows) written in `text` as `2024-05-01`,
/// `2024/5/1`, `2024.05.01` or `2024年5月1日`, optionally followed by `08:00[:00]`; read as
/// Beijing time.
pub fn find_date_in_text(text: &str) -> Option<DateTime<FixedOffset>> {
    let chars: Vec<char> = text.chars().collect();
    let n = chars.len();
    let digits = |from: usize, max: usize| -> (u32, usize) {
        let mut v = 0u32;
        let mut i = from;
        while i < n && i - from < max && chars[i].is_ascii_digit() {
            v = v * 10 + chars[i].to_digit(10).unwrap_or(0);
            i += 1;
        }
        (v, i - from)
    };
    let mut i = 0;
    while i + 4 <= n {
        if !chars[i].is_ascii_digit() || (i > 0 && chars[i - 1].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let (year, yl) = digits(i, 4);
        let mut j = i + yl;
        if yl != 4 || !(1990..=2100).contains(&year) || j >= n {
            i += 1;
            continue;
        }
        let sep = chars[j];
        if !matches!(sep, '-' | '/' | '.' | '年') {
            i += 1;
            continue;
        }
        j += 1;
        let (month, ml) = digits(j, 2);
        j += ml;
        let sep2 = if sep == '年' { '月' } else { sep };
        if ml == 0 || j >= n || chars[j] != sep2 {
            i += 1;
            continue;
        }
        j += 1;
        let (day, dl) = digits(j, 2);
        j += dl;
        if dl == 0 || (j < n && chars[j].is_ascii_digit()) {
            i += 1;
            continue;
        }
        let Some(date) = NaiveDate::from_ymd_opt(year as i32, month, day) else {
            i += 1;
            continue;
        };
        if j < n && chars[j] == '日' {
            j += 1;
        }
        // Optional time: spaces / 'T' then HH:MM[:SS] (':' or '：').
        let mut k = j;
        while k < n
            && (chars[k] == ' '
                || chars[k] == '\u{a0}'
                || chars[k] == '\u{3000}'
                || chars[k] == 'T')
        {
            k += 1;
        }
        let mut time = chrono::NaiveTime::MIN;
        let (hh, hl) = digits(k, 2);
        if hl > 0 && k + hl < n && matches!(chars[k + hl], ':' | '：' | '时') {
            let m0 = k + hl + 1;
            let (mm, mlen) = digits(m0, 2);
            if mlen == 2 {
                let mut ss = 0;
                let s0 = m0 + mlen;
                if s0 < n && matches!(chars[s0], ':' | '：' | '分') {
                    let (sv, sl) = digits(s0 + 1, 2);
                    if sl == 2 {
                        ss = sv;
                    }
                }
                if let Some(t) = chrono::NaiveTime::from_hms_opt(hh, mm, ss) {
                    time = t;
                }
            }
        }
        return beijing().from_local_datetime(&date.and_time(time)).single();
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loose_times() {
        let t = |s: &str| parse_loose_time(s).map(|t| t.to_rfc3339());
        assert_eq!(
            t("2024年5月1日 08:00").as_deref(),
            Some("2024-05-01T08:00:00+08:00")
        );
        assert_eq!(
            t("2024-05-01 08:00").as_deref(),
            Some("2024-05-01T08:00:00+08:00")
        );
        assert_eq!(
            t("来源：新华社　2024/05/01 08:30:15 编辑：张三").as_deref(),
            Some("2024-05-01T08:30:15+08:00")
        );
        assert_eq!(
            t("Wed, 01 May 2024 08:00:00 CST").as_deref(),
            Some("2024-05-01T08:00:00+08:00")
        );
        assert_eq!(
            t("Mon, 01 May 2024 00:00:00 GMT").as_deref(),
            Some("2024-05-01T00:00:00+00:00")
        );
        assert_eq!(
            t("2024年5月1日").as_deref(),
            Some("2024-05-01T00:00:00+08:00")
        );
        assert_eq!(
            t("1714521600").as_deref(),
            Some("2024-05-01T08:00:00+08:00")
        );
        assert_eq!(t("电话 12345-678"), None);
        assert_eq!(t("2024-13-45"), None);
    }

    #[test]
    fn tidy() {
        assert_eq!(tidy_text("  a  b \n\n\t c \n"), "a b\nc");
    }
}
