//! The HTTP fetcher every network source uses, and the safety rules it enforces.
//!
//! One [`Fetcher`] per configured source. Every request it makes:
//!
//! - goes only to `http`/`https` URLs whose host is not a loopback, private, link-local,
//!   unspecified, multicast, CGNAT or otherwise reserved address ([`is_forbidden_ip`]),
//!   unless the source says `allow_private = true` or lists the exact `host:port` in
//!   `allow_hosts`. The check runs on the URL before each request (IP literals never reach a
//!   resolver), again inside reqwest's DNS resolver (so a name that re-resolves to a private
//!   address between the two lookups is still refused), and on every redirect hop: redirects
//!   are followed here, not by reqwest, at most [`FetchPolicy::max_redirects`] hops, and a
//!   loop is reported as such;
//! - respects `robots.txt` (cached per origin for an hour; a 4xx robots.txt allows all, a
//!   5xx or unreachable one stops the fetch, like the big crawlers do) and its `Crawl-delay`;
//! - waits for its turn on the host: one request per `min_host_interval` per `host:port`,
//!   shared by every fetcher in the process;
//! - has a total timeout (connect, headers and body) and a maximum body size checked while
//!   streaming, so a 20 MB answer to a 1 MB limit is cut off after about 1 MB;
//! - can be conditional (`If-None-Match` / `If-Modified-Since`), returning
//!   [`FetchOutcome::NotModified`] on 304.
//!
//! [`decode_body`] turns fetched bytes into text: BOM, then the Content-Type charset, then an
//! XML encoding declaration, then `<meta charset>`, then valid UTF-8, then chardetng's guess.
//! GBK, GB18030, GB2312 (read as GBK) and Big5 pages decode correctly.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use encoding_rs::Encoding;
use reqwest::StatusCode;
use reqwest::header::{self, HeaderMap, HeaderName, HeaderValue};
use serde::{Deserialize, Serialize};
use texting_robots::Robot;
use url::{Host, Url};

use super::SourceError;

/// The User-Agent sent when a source does not set one.
pub const DEFAULT_USER_AGENT: &str =
    "yuqing/0.1 (public-opinion monitor; +https://example.invalid/yuqing)";

/// Largest robots.txt read; the rest is ignored (Google reads 500 KiB).
const MAX_ROBOTS_BYTES: u64 = 512 * 1024;
/// How long a fetched robots.txt is trusted.
const ROBOTS_TTL: Duration = Duration::from_secs(3600);
/// Largest Crawl-delay honoured, so a hostile robots.txt cannot stall a source for hours.
const MAX_CRAWL_DELAY: Duration = Duration::from_secs(60);

/// How a [`Fetcher`] behaves. Build it from a source's config, or start from
/// [`FetchPolicy::default`] and change fields.
#[derive(Clone)]
pub struct FetchPolicy {
    /// The source name, used in errors, logs and metric labels.
    pub source: String,
    /// Total time for one request: connect, headers and body.
    pub timeout: Duration,
    /// Largest body accepted, after decompression.
    pub max_body_bytes: u64,
    pub user_agent: String,
    /// Allow every private or local destination.
    pub allow_private: bool,
    /// `host:port` (or bare `host`, any port) destinations allowed even when private.
    pub allow_hosts: Vec<String>,
    /// Minimum time between two requests to the same `host:port`.
    pub min_host_interval: Duration,
    pub respect_robots: bool,
    /// Extra request headers (e.g. an API token); sent only to the host of the first URL.
    pub headers: Vec<(String, String)>,
    /// Redirect hops followed before giving up.
    pub max_redirects: usize,
    /// A PEM file of the CA certificates to trust instead of the system's roots.
    pub ca_file: Option<String>,
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            source: "-".to_owned(),
            timeout: Duration::from_secs(30),
            max_body_bytes: 10 * 1024 * 1024,
            user_agent: DEFAULT_USER_AGENT.to_owned(),
            allow_private: false,
            allow_hosts: Vec::new(),
            min_host_interval: Duration::from_secs(1),
            respect_robots: true,
            headers: Vec::new(),
            max_redirects: 5,
            ca_file: None,
        }
    }
}

impl fmt::Debug for FetchPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Header values may be secrets: print the names only.
        let header_names: Vec<&str> = self.headers.iter().map(|(k, _)| k.as_str()).collect();
        f.debug_struct("FetchPolicy")
            .field("source", &self.source)
            .field("timeout", &self.timeout)
            .field("max_body_bytes", &self.max_body_bytes)
            .field("user_agent", &self.user_agent)
            .field("allow_private", &self.allow_private)
            .field("allow_hosts", &self.allow_hosts)
            .field("min_host_interval", &self.min_host_interval)
            .field("respect_robots", &self.respect_robots)
            .field("headers", &header_names)
            .field("max_redirects", &self.max_redirects)
            .field("ca_file", &self.ca_file)
            .finish()
    }
}

/// HTTP cache validators of a previous answer, sent back to make a request conditional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validators {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub etag: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_modified: Option<String>,
}

impl Validators {
    pub fn is_empty(&self) -> bool {
        self.etag.is_none() && self.last_modified.is_none()
    }
}

/// The result of [`Fetcher::get`].
#[derive(Debug)]
pub enum FetchOutcome {
    /// The server answered 304 to a conditional request.
    NotModified,
    Fetched(Fetched),
}

/// A successful (2xx) answer with its whole body.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The URL finally fetched, after redirects.
    pub url: Url,
    pub status: u16,
    pub content_type: Option<String>,
    /// The answer's validators, to send with the next request.
    pub validators: Validators,
    pub body: Bytes,
}

impl Fetched {
    /// The body decoded to text (see [`decode_body`]).
    pub fn text(&self) -> String {
        decode_body(&self.body, self.content_type.as_deref()).0
    }
}

/// One `allow_hosts` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    host: String,
    port: Option<u16>,
}

/// Parses `host:port`, `[v6]:port`, `host` or a bare IPv6 address.
fn parse_allow_host(raw: &str) -> Result<AllowEntry, String> {
    let s = raw.trim();
    let bad = || format!("{raw:?} is not host:port");
    if s.is_empty() || s.contains('/') || s.contains('@') {
        return Err(bad());
    }
    let (host, port) = if let Some(rest) = s.strip_prefix('[') {
        let (h, after) = rest.split_once(']').ok_or_else(bad)?;
        let port = match after {
            "" => None,
            p => Some(
                p.strip_prefix(':')
                    .ok_or_else(bad)?
                    .parse::<u16>()
                    .map_err(|_| bad())?,
            ),
        };
        (h.to_owned(), port)
    } else if s.matches(':').count() == 1 {
        let (h, p) = s.split_once(':').ok_or_else(bad)?;
        (h.to_owned(), Some(p.parse::<u16>().map_err(|_| bad())?))
    } else {
        (s.to_owned(), None)
    };
    let host = normalize_host(&host).ok_or_else(bad)?;
    Ok(AllowEntry { host, port })
}

/// Lower-cased host name, or the canonical text of an IP address.
fn normalize_host(h: &str) -> Option<String> {
    if h.is_empty() {
        return None;
    }
    if let Ok(ip) = h.parse::<IpAddr>() {
        return Some(ip.to_string());
    }
    // Let the URL parser do IDNA and odd IPv4 forms ("127.1").
    let u = Url::parse(&format!("http://{h}/")).ok()?;
    Some(host_key(&u.host()?))
}

fn host_key(h: &Host<&str>) -> String {
    match h {
        Host::Domain(d) => d.to_ascii_lowercase(),
        Host::Ipv4(ip) => ip.to_string(),
        Host::Ipv6(ip) => ip.to_string(),
    }
}

/// True for addresses a source must not reach unless allowed: loopback, private (RFC 1918,
/// IPv6 unique-local), link-local, unspecified, multicast, broadcast, CGNAT (100.64/10),
/// documentation, benchmarking and other reserved ranges, and IPv6 forms that embed such an
/// IPv4 address (IPv4-mapped, IPv4-compatible, NAT64, 6to4).
pub fn is_forbidden_ip(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => is_forbidden_v4(v4),
        IpAddr::V6(v6) => is_forbidden_v6(v6),
    }
}

fn is_forbidden_v4(ip: Ipv4Addr) -> bool {
    let [a, b, c, _] = ip.octets();
    a == 0 // "this network", includes 0.0.0.0
        || a == 10
        || a == 127
        || (a == 100 && (64..128).contains(&b)) // CGNAT 100.64.0.0/10
        || (a == 169 && b == 254) // link-local
        || (a == 172 && (16..32).contains(&b))
        || (a == 192 && b == 168)
        || (a == 192 && b == 0 && c == 0) // IETF protocol assignments
        || (a == 192 && b == 0 && c == 2) // TEST-NET-1
        || (a == 198 && (b == 18 || b == 19)) // benchmarking
        || (a == 198 && b == 51 && c == 100) // TEST-NET-2
        || (a == 203 && b == 0 && c == 113) // TEST-NET-3
        || a >= 224 // multicast 224/4, reserved 240/4, broadcast
}

fn is_forbidden_v6(ip: Ipv6Addr) -> bool {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return is_forbidden_v4(v4);
    }
    let s = ip.segments();
    if ip.is_unspecified() || ip.is_loopback() {
        return true;
    }
    // IPv4-compatible ::a.b.c.d (deprecated) and NAT64 64:ff9b::/96 embed an IPv4 address.
    if s[..6] == [0, 0, 0, 0, 0, 0] || s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        let v4 = Ipv4Addr::new((s[6] >> 8) as u8, s[6] as u8, (s[7] >> 8) as u8, s[7] as u8);
        return is_forbidden_v4(v4);
    }
    // 6to4 2002::/16 embeds the IPv4 address in segments 1 and 2.
    if s[0] == 0x2002 {
        let v4 = Ipv4Addr::new((s[1] >> 8) as u8, s[1] as u8, (s[2] >> 8) as u8, s[2] as u8);
        return is_forbidden_v4(v4);
    }
    (s[0] & 0xfe00) == 0xfc00 // unique local fc00::/7
        || (s[0] & 0xffc0) == 0xfe80 // link-local fe80::/10
        || (s[0] & 0xffc0) == 0xfec0 // site-local fec0::/10 (deprecated)
        || (s[0] & 0xff00) == 0xff00 // multicast
        || (s[0] == 0x2001 && s[1] == 0x0db8) // documentation
        || (s[0] == 0x0100 && s[1..4] == [0, 0, 0]) // discard-only 100::/64
}

/// The resolver reqwest uses: drops forbidden addresses unless the policy allows them, so a
/// name cannot re-resolve to a private address after the pre-flight check.
struct GuardedResolver {
    allow_private: bool,
    /// Host names listed in `allow_hosts` (any port; the port is checked per request).
    allowed_names: Arc<HashSet<String>>,
}

/// Marker error: every address of a name was forbidden.
#[derive(Debug)]
struct RefusedAddress(String);

impl fmt::Display for RefusedAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "every address of {} is private, local or reserved",
            self.0
        )
    }
}

impl std::error::Error for RefusedAddress {}

impl reqwest::dns::Resolve for GuardedResolver {
    fn resolve(&self, name: reqwest::dns::Name) -> reqwest::dns::Resolving {
        let host = name.as_str().to_ascii_lowercase();
        let permissive = self.allow_private || self.allowed_names.contains(&host);
        Box::pin(async move {
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            let kept: Vec<SocketAddr> = addrs
                .into_iter()
                .filter(|a| permissive || !is_forbidden_ip(a.ip()))
                .collect();
            if kept.is_empty() {
                return Err(
                    Box::new(RefusedAddress(host)) as Box<dyn std::error::Error + Send + Sync>
                );
            }
            Ok(Box::new(kept.into_iter()) as reqwest::dns::Addrs)
        })
    }
}

/// Next free request slot per `host:port`, shared by every fetcher in the process.
fn host_slots() -> &'static Mutex<HashMap<String, Instant>> {
    static SLOTS: OnceLock<Mutex<HashMap<String, Instant>>> = OnceLock::new();
    SLOTS.get_or_init(|| Mutex::new(HashMap::new()))
}

struct RobotsEntry {
    fetched: Instant,
    /// `None`: no usable robots.txt, everything allowed.
    robot: Option<Arc<Robot>>,
}

/// Fetches URLs for one source under a [`FetchPolicy`]. Cheap to share (`&self` methods).
pub struct Fetcher {
    client: reqwest::Client,
    policy: FetchPolicy,
    allow: Vec<AllowEntry>,
    headers: HeaderMap,
    robots_agent: String,
    robots: Mutex<HashMap<String, RobotsEntry>>,
}

impl fmt::Debug for Fetcher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Fetcher")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

enum Hop {
    Redirect(Url),
    Done(Raw),
}

/// Redirect bookkeeping: loops and the hop limit.
#[derive(Default)]
struct Redirects {
    visited: HashSet<String>,
}

impl Redirects {
    fn visit(&mut self, f: &Fetcher, url: &Url) -> Result<(), SourceError> {
        if !self.visited.insert(url.as_str().to_owned()) {
            return Err(SourceError::RedirectLoop {
                source_name: f.policy.source.clone(),
                url: url.to_string(),
            });
        }
        // The first URL is not a redirect hop.
        if self.visited.len() > f.policy.max_redirects + 1 {
            return Err(SourceError::TooManyRedirects {
                source_name: f.policy.source.clone(),
                url: url.to_string(),
                max: f.policy.max_redirects,
            });
        }
        Ok(())
    }
}

/// The certificates of the PEM file `path` (a source's `ca_file`): an error that says
/// what to fix when it cannot be read or holds none.
pub(crate) fn read_ca_file(
    source: &str,
    path: &str,
) -> Result<Vec<rustls::pki_types::CertificateDer<'static>>, SourceError> {
    use rustls::pki_types::CertificateDer;
    use rustls::pki_types::pem::PemObject;
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_file_iter(path)
        .and_then(|certs| certs.collect::<Result<_, _>>())
        .map_err(|e| {
            SourceError::config(
                source,
                format!("无法读取 ca_file {path:?}（{e}）：请写 PEM 格式证书文件的路径（以 -----BEGIN CERTIFICATE----- 开头）"),
                format!("cannot read ca_file {path:?} ({e}): give the path of a PEM certificate file (-----BEGIN CERTIFICATE-----)"),
            )
        })?;
    if certs.is_empty() {
        return Err(SourceError::config(
            source,
            format!("ca_file {path:?} 中没有证书：需要 PEM 格式（-----BEGIN CERTIFICATE-----）"),
            format!(
                "ca_file {path:?} holds no certificate: it must be PEM (-----BEGIN CERTIFICATE-----)"
            ),
        ));
    }
    Ok(certs)
}

/// A raw answer before status handling.
struct Raw {
    url: Url,
    status: StatusCode,
    headers: HeaderMap,
    body: Bytes,
}

impl Fetcher {
    /// Builds the HTTP client. Fails on an invalid `allow_hosts` entry, header or user agent.
    pub fn new(policy: FetchPolicy) -> Result<Self, SourceError> {
        // reqwest is built without a default crypto provider; installing one twice is a no-op.
        let _ = rustls::crypto::ring::default_provider().install_default();
        let src = policy.source.clone();
        let mut allow = Vec::with_capacity(policy.allow_hosts.len());
        for h in &policy.allow_hosts {
            allow.push(parse_allow_host(h).map_err(|e| {
                SourceError::config(
                    &src,
                    format!("allow_hosts 中的 {h:?} 不是 host:port 形式，例如 \"10.0.0.5:8080\""),
                    format!(
                        "allow_hosts entry {e}; write it as \"host:port\", e.g. \"10.0.0.5:8080\""
                    ),
                )
            })?);
        }
        let mut headers = HeaderMap::new();
        for (k, v) in &policy.headers {
            let name = HeaderName::from_bytes(k.as_bytes()).map_err(|_| {
                SourceError::config(
                    &src,
                    format!("headers 中的名称 {k:?} 不是合法的 HTTP 头名"),
                    format!("header name {k:?} in headers is not a valid HTTP header name"),
                )
            })?;
            let mut value = HeaderValue::from_str(v).map_err(|_| {
                SourceError::config(
                    &src,
                    format!("headers 中 {k} 的值含有非法字符"),
                    format!("the value of header {k} contains invalid characters"),
                )
            })?;
            value.set_sensitive(true);
            headers.insert(name, value);
        }
        let allowed_names: HashSet<String> = allow.iter().map(|a| a.host.clone()).collect();
        let resolver = GuardedResolver {
            allow_private: policy.allow_private,
            allowed_names: Arc::new(allowed_names),
        };
        let ua = HeaderValue::from_str(&policy.user_agent).map_err(|_| {
            SourceError::config(
                &src,
                "user_agent 含有非法字符（只能用可见 ASCII 字符）",
                "user_agent contains invalid characters (use printable ASCII)",
            )
        })?;
        let mut builder = reqwest::Client::builder();
        if let Some(path) = &policy.ca_file {
            let certs = read_ca_file(&src, path)?
                .iter()
                .map(|der| reqwest::Certificate::from_der(der))
                .collect::<Result<Vec<_>, _>>()
                .map_err(|e| SourceError::Internal {
                    source_name: src.clone(),
                    reason: error_chain(&e),
                })?;
            builder = builder.tls_certs_only(certs);
        }
        let client = builder
            .user_agent(ua)
            .timeout(policy.timeout)
            .connect_timeout(policy.timeout.min(Duration::from_secs(10)))
            .redirect(reqwest::redirect::Policy::none())
            .no_proxy()
            .dns_resolver(resolver)
            .gzip(true)
            .pool_max_idle_per_host(2)
            .build()
            .map_err(|e| SourceError::Internal {
                source_name: src.clone(),
                reason: error_chain(&e),
            })?;
        // robots.txt groups are matched on the product token ("yuqing" in "yuqing/0.1 (...)").
        let robots_agent = policy
            .user_agent
            .split(['/', ' '])
            .next()
            .filter(|s| !s.is_empty())
            .unwrap_or("yuqing")
            .to_owned();
        Ok(Self {
            client,
            policy,
            allow,
            headers,
            robots_agent,
            robots: Mutex::new(HashMap::new()),
        })
    }

    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// GETs `url` under the policy. `validators` makes the request conditional; a 304 answer
    /// gives [`FetchOutcome::NotModified`]. Any non-2xx final status is an error.
    pub async fn get(
        &self,
        url: &str,
        validators: Option<&Validators>,
    ) -> Result<FetchOutcome, SourceError> {
        let started = Instant::now();
        let result = self.get_inner(url, validators).await;
        let outcome = match &result {
            Ok(FetchOutcome::NotModified) => "not_modified",
            Ok(FetchOutcome::Fetched(_)) => "ok",
            Err(e) => e.kind(),
        };
        let source = self.policy.source.clone();
        metrics::counter!("yuqing_source_fetches_total", "source" => source.clone(), "outcome" => outcome).increment(1);
        metrics::histogram!("yuqing_source_fetch_seconds", "source" => source)
            .record(started.elapsed().as_secs_f64());
        match &result {
            Ok(FetchOutcome::Fetched(f)) => {
                tracing::debug!(source = %self.policy.source, url = %f.url, status = f.status, bytes = f.body.len(), "fetched");
            }
            Ok(FetchOutcome::NotModified) => {
                tracing::debug!(source = %self.policy.source, url, "not modified");
            }
            Err(e) => {
                tracing::debug!(source = %self.policy.source, url, error = %e, "fetch failed")
            }
        }
        result
    }

    async fn get_inner(
        &self,
        url: &str,
        validators: Option<&Validators>,
    ) -> Result<FetchOutcome, SourceError> {
        let parsed = self.parse_url(url)?;
        let raw = self
            .request(
                parsed,
                validators,
                self.policy.respect_robots,
                self.policy.max_body_bytes,
            )
            .await?;
        if raw.status == StatusCode::NOT_MODIFIED && validators.is_some_and(|v| !v.is_empty()) {
            return Ok(FetchOutcome::NotModified);
        }
        if !raw.status.is_success() {
            return Err(SourceError::Status {
                source_name: self.policy.source.clone(),
                url: raw.url.to_string(),
                status: raw.status.as_u16(),
            });
        }
        let header_str = |name: HeaderName| {
            raw.headers
                .get(name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_owned)
        };
        Ok(FetchOutcome::Fetched(Fetched {
            content_type: header_str(header::CONTENT_TYPE),
            validators: Validators {
                etag: header_str(header::ETAG),
                last_modified: header_str(header::LAST_MODIFIED),
            },
            status: raw.status.as_u16(),
            url: raw.url,
            body: raw.body,
        }))
    }

    fn parse_url(&self, url: &str) -> Result<Url, SourceError> {
        let u = Url::parse(url.trim()).map_err(|e| {
            SourceError::config(
                &self.policy.source,
                format!("URL {url:?} 无效（{e}）；请写完整地址，例如 https://example.com/feed.xml"),
                format!("URL {url:?} is invalid ({e}); write a full address such as https://example.com/feed.xml"),
            )
        })?;
        if !matches!(u.scheme(), "http" | "https") || u.host().is_none() {
            return Err(SourceError::config(
                &self.policy.source,
                format!("URL {url:?} 不是 http(s) 地址；只支持 http:// 和 https://"),
                format!(
                    "URL {url:?} is not an http(s) address; only http:// and https:// are supported"
                ),
            ));
        }
        Ok(u)
    }

    /// Follows redirects by hand, checking every hop (and its robots.txt when asked).
    /// Reads the body only for 2xx answers.
    async fn request(
        &self,
        first: Url,
        validators: Option<&Validators>,
        check_robots: bool,
        max_body: u64,
    ) -> Result<Raw, SourceError> {
        let first_host = first.host_str().map(str::to_owned);
        let mut tracker = Redirects::default();
        let mut url = first;
        loop {
            tracker.visit(self, &url)?;
            // The destination first, so a refused URL is named as such (not its robots.txt).
            self.check_destination(&url).await?;
            if check_robots {
                self.check_robots(&url).await?;
            }
            let same_host = url.host_str().map(str::to_owned) == first_host;
            match self.hop(&url, validators, same_host, max_body).await? {
                Hop::Redirect(next) => url = next,
                Hop::Done(raw) => return Ok(raw),
            }
        }
    }

    /// [`Self::request`] without robots.txt checks, for fetching robots.txt itself (a
    /// separate function so the two never call each other recursively).
    async fn request_plain(&self, first: Url, max_body: u64) -> Result<Raw, SourceError> {
        let mut tracker = Redirects::default();
        let mut url = first;
        loop {
            tracker.visit(self, &url)?;
            self.check_destination(&url).await?;
            match self.hop(&url, None, false, max_body).await? {
                Hop::Redirect(next) => url = next,
                Hop::Done(raw) => return Ok(raw),
            }
        }
    }

    /// One request (its destination already checked): pacing, send; a redirect gives the next URL.
    async fn hop(
        &self,
        url: &Url,
        validators: Option<&Validators>,
        send_headers: bool,
        max_body: u64,
    ) -> Result<Hop, SourceError> {
        self.pace(url).await;
        let mut req = self.client.get(url.clone());
        if send_headers {
            for (k, v) in &self.headers {
                req = req.header(k, v.clone());
            }
        }
        if let Some(v) = validators {
            if let Some(etag) = &v.etag {
                req = req.header(header::IF_NONE_MATCH, etag.as_str());
            }
            if let Some(lm) = &v.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, lm.as_str());
            }
        }
        let mut resp = req.send().await.map_err(|e| self.map_reqwest(url, &e))?;
        let status = resp.status();
        if status.is_redirection() && status != StatusCode::NOT_MODIFIED {
            let location = resp
                .headers()
                .get(header::LOCATION)
                .map(|l| String::from_utf8_lossy(l.as_bytes()).into_owned());
            let next = location
                .as_deref()
                .and_then(|l| url.join(l.trim()).ok())
                .filter(|n| matches!(n.scheme(), "http" | "https"));
            let Some(next) = next else {
                return Err(SourceError::BadRedirect {
                    source_name: self.policy.source.clone(),
                    url: url.to_string(),
                    location: location.unwrap_or_default(),
                });
            };
            tracing::debug!(source = %self.policy.source, from = %url, to = %next, "following redirect");
            return Ok(Hop::Redirect(next));
        }
        let headers = std::mem::take(resp.headers_mut());
        let body = if status.is_success() {
            self.read_body(url, &mut resp, max_body).await?
        } else {
            Bytes::new()
        };
        Ok(Hop::Done(Raw {
            url: url.clone(),
            status,
            headers,
            body,
        }))
    }

    async fn read_body(
        &self,
        url: &Url,
        resp: &mut reqwest::Response,
        max: u64,
    ) -> Result<Bytes, SourceError> {
        let too_large = || SourceError::TooLarge {
            source_name: self.policy.source.clone(),
            url: url.to_string(),
            max,
        };
        if resp.content_length().is_some_and(|n| n > max) {
            return Err(too_large());
        }
        let mut buf = BytesMut::new();
        while let Some(chunk) = resp.chunk().await.map_err(|e| self.map_reqwest(url, &e))? {
            if (buf.len() + chunk.len()) as u64 > max {
                return Err(too_large());
            }
            buf.extend_from_slice(&chunk);
        }
        Ok(buf.freeze())
    }

    fn allowlisted(&self, url: &Url) -> bool {
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return false;
        };
        self.listed(&host_key(&host), port)
    }

    /// True when `allow_hosts` lists `key` (a [`host_key`]) for `port`.
    fn listed(&self, key: &str, port: u16) -> bool {
        self.allow
            .iter()
            .any(|a| a.host == key && a.port.is_none_or(|p| p == port))
    }

    /// True when the source may reach `host:port` at a private or reserved address:
    /// `allow_private`, or the host listed in `allow_hosts` (for sources that do not speak
    /// HTTP, such as mailboxes, which check their destinations themselves).
    pub(crate) fn permits_private(&self, host: &str, port: u16) -> bool {
        self.policy.allow_private || normalize_host(host).is_some_and(|key| self.listed(&key, port))
    }

    /// The source's `timeout`, for one network step.
    pub(crate) fn timeout(&self) -> Duration {
        self.policy.timeout
    }

    /// The source's `max_body_bytes`.
    pub(crate) fn max_body_bytes(&self) -> u64 {
        self.policy.max_body_bytes
    }

    /// Refuses forbidden destinations before any traffic is sent to them.
    async fn check_destination(&self, url: &Url) -> Result<(), SourceError> {
        if !matches!(url.scheme(), "http" | "https") {
            return Err(SourceError::config(
                &self.policy.source,
                format!("URL {url} 不是 http(s) 地址"),
                format!("URL {url} is not an http(s) address"),
            ));
        }
        if self.policy.allow_private || self.allowlisted(url) {
            return Ok(());
        }
        let forbidden = |addr: String| SourceError::Forbidden {
            source_name: self.policy.source.clone(),
            url: url.to_string(),
            addr,
        };
        let port = url.port_or_known_default().unwrap_or(80);
        match url.host() {
            Some(Host::Ipv4(ip)) if is_forbidden_v4(ip) => Err(forbidden(ip.to_string())),
            Some(Host::Ipv6(ip)) if is_forbidden_v6(ip) => Err(forbidden(ip.to_string())),
            Some(Host::Ipv4(_) | Host::Ipv6(_)) => Ok(()),
            Some(Host::Domain(d)) => {
                let lookup =
                    tokio::time::timeout(self.policy.timeout, tokio::net::lookup_host((d, port)))
                        .await;
                let addrs: Vec<SocketAddr> = match lookup {
                    Err(_) => {
                        return Err(SourceError::Timeout {
                            source_name: self.policy.source.clone(),
                            url: url.to_string(),
                            secs: self.policy.timeout.as_secs_f64(),
                        });
                    }
                    Ok(Err(e)) => {
                        return Err(SourceError::Network {
                            source_name: self.policy.source.clone(),
                            url: url.to_string(),
                            reason: format!("cannot resolve {d}: {e}"),
                        });
                    }
                    Ok(Ok(a)) => a.collect(),
                };
                match addrs.iter().find(|a| is_forbidden_ip(a.ip())) {
                    Some(a) => Err(forbidden(format!("{d} → {}", a.ip()))),
                    None => Ok(()),
                }
            }
            None => Err(forbidden(String::new())),
        }
    }

    /// Waits for this host's next free slot.
    async fn pace(&self, url: &Url) {
        let key = format!(
            "{}:{}",
            url.host_str().unwrap_or(""),
            url.port_or_known_default().unwrap_or(0)
        );
        let mut interval = self.policy.min_host_interval;
        if let Some(delay) = self.crawl_delay(url) {
            interval = interval.max(delay);
        }
        if interval.is_zero() {
            return;
        }
        let slot = {
            let mut slots = host_slots().lock().unwrap_or_else(|p| p.into_inner());
            let now = Instant::now();
            if slots.len() > 10_000 {
                slots.retain(|_, t| *t > now);
            }
            let slot = slots.get(&key).copied().filter(|t| *t > now).unwrap_or(now);
            slots.insert(key, slot.checked_add(interval).unwrap_or(slot));
            slot
        };
        tokio::time::sleep_until(slot.into()).await;
    }

    fn crawl_delay(&self, url: &Url) -> Option<Duration> {
        let robots = self.robots.lock().unwrap_or_else(|p| p.into_inner());
        let entry = robots.get(&url.origin().ascii_serialization())?;
        let secs = entry.robot.as_ref()?.delay?;
        Duration::try_from_secs_f32(secs)
            .ok()
            .filter(|d| !d.is_zero())
            .map(|d| d.min(MAX_CRAWL_DELAY))
    }

    async fn check_robots(&self, url: &Url) -> Result<(), SourceError> {
        let origin = url.origin().ascii_serialization();
        let cached = {
            let robots = self.robots.lock().unwrap_or_else(|p| p.into_inner());
            robots
                .get(&origin)
                .filter(|e| e.fetched.elapsed() < ROBOTS_TTL)
                .map(|e| e.robot.clone())
        };
        let robot = match cached {
            Some(r) => r,
            None => {
                let r = self.fetch_robots(url).await?;
                let mut robots = self.robots.lock().unwrap_or_else(|p| p.into_inner());
                robots.insert(
                    origin,
                    RobotsEntry {
                        fetched: Instant::now(),
                        robot: r.clone(),
                    },
                );
                r
            }
        };
        match robot {
            Some(r) if !r.allowed(url.as_str()) => Err(SourceError::Robots {
                source_name: self.policy.source.clone(),
                url: url.to_string(),
            }),
            _ => Ok(()),
        }
    }

    async fn fetch_robots(&self, url: &Url) -> Result<Option<Arc<Robot>>, SourceError> {
        let mut robots_url = url.clone();
        robots_url.set_path("/robots.txt");
        robots_url.set_query(None);
        robots_url.set_fragment(None);
        let raw = self
            .request_plain(robots_url.clone(), MAX_ROBOTS_BYTES)
            .await;
        let raw = match raw {
            Ok(raw) => raw,
            // A robots.txt larger than we read: treat as absent rather than half-parsed.
            Err(SourceError::TooLarge { .. }) => return Ok(None),
            Err(e) => return Err(e),
        };
        if raw.status.is_success() {
            match Robot::new(&self.robots_agent, &raw.body) {
                Ok(r) => Ok(Some(Arc::new(r))),
                Err(e) => {
                    tracing::warn!(source = %self.policy.source, url = %robots_url, error = %e, "unparsable robots.txt, allowing all");
                    Ok(None)
                }
            }
        } else if raw.status.is_client_error() {
            Ok(None)
        } else {
            Err(SourceError::Status {
                source_name: self.policy.source.clone(),
                url: raw.url.to_string(),
                status: raw.status.as_u16(),
            })
        }
    }

    fn map_reqwest(&self, url: &Url, e: &reqwest::Error) -> SourceError {
        let source_name = self.policy.source.clone();
        let url_s = url.to_string();
        if e.is_timeout() {
            return SourceError::Timeout {
                source_name,
                url: url_s,
                secs: self.policy.timeout.as_secs_f64(),
            };
        }
        let mut cur: Option<&(dyn std::error::Error + 'static)> = Some(e);
        while let Some(err) = cur {
            if let Some(r) = err.downcast_ref::<RefusedAddress>() {
                return SourceError::Forbidden {
                    source_name,
                    url: url_s,
                    addr: r.0.clone(),
                };
            }
            cur = err.source();
        }
        SourceError::Network {
            source_name,
            url: url_s,
            reason: error_chain(e),
        }
    }
}

/// An error and its causes, joined with ": ".
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut cur = e.source();
    while let Some(c) = cur {
        let s = c.to_string();
        if !out.contains(&s) {
            out.push_str(": ");
            out.push_str(&s);
        }
        cur = c.source();
    }
    out
}

// ---------------------------------------------------------------------------------------
// Charset detection

/// Decodes `bytes` to text and says which encoding was used. Order: byte-order mark,
/// `charset` in `content_type`, an XML `encoding` declaration, `<meta charset>` or
/// `<meta http-equiv content="…; charset=…">` in the first 4 KiB, valid UTF-8, then a
/// guess by chardetng. Malformed sequences become U+FFFD; this never fails.
pub fn decode_body(bytes: &[u8], content_type: Option<&str>) -> (String, &'static Encoding) {
    let enc = detect_encoding(bytes, content_type);
    let (text, used, _had_errors) = enc.decode(bytes);
    (text.into_owned(), used)
}

/// The encoding [`decode_body`] would use.
pub fn detect_encoding(bytes: &[u8], content_type: Option<&str>) -> &'static Encoding {
    if let Some((enc, _)) = Encoding::for_bom(bytes) {
        return enc;
    }
    let declared = content_type
        .and_then(charset_param)
        .and_then(|l| Encoding::for_label(l.as_bytes()))
        .or_else(|| xml_declared_encoding(bytes))
        .or_else(|| meta_charset(bytes));
    if let Some(enc) = declared {
        // A UTF-16 label on bytes without a BOM is a lie (WHATWG says: read as UTF-8).
        if enc == encoding_rs::UTF_16LE || enc == encoding_rs::UTF_16BE {
            return encoding_rs::UTF_8;
        }
        return enc;
    }
    if std::str::from_utf8(bytes).is_ok() {
        return encoding_rs::UTF_8;
    }
    let mut det = chardetng::EncodingDetector::new(chardetng::Iso2022JpDetection::Deny);
    det.feed(bytes, true);
    det.guess(None, chardetng::Utf8Detection::Allow)
}

/// The `charset` parameter of a Content-Type value.
fn charset_param(ct: &str) -> Option<String> {
    ct.split(';').skip(1).find_map(|p| {
        let (k, v) = p.split_once('=')?;
        k.trim()
            .eq_ignore_ascii_case("charset")
            .then(|| v.trim().trim_matches(['"', '\'']).trim().to_owned())
    })
}

/// The encoding named in `<?xml version="1.0" encoding="…"?>` at the start of `bytes`.
fn xml_declared_encoding(bytes: &[u8]) -> Option<&'static Encoding> {
    let start = bytes.iter().position(|b| !b.is_ascii_whitespace())?;
    let rest = &bytes[start..];
    if !rest.starts_with(b"<?xml") {
        return None;
    }
    let end = rest.windows(2).take(512).position(|w| w == b"?>")?;
    let decl = std::str::from_utf8(&rest[..end]).ok()?;
    let value = attr_value_after(decl, "encoding")?;
    Encoding::for_label(value.as_bytes())
}

/// The value after `name=` in `s` (quoted or not).
fn attr_value_after<'a>(s: &'a str, name: &str) -> Option<&'a str> {
    let i = s.find(name)?;
    let rest = s[i + name.len()..]
        .trim_start()
        .strip_prefix('=')?
        .trim_start();
    let (quote, rest) = match rest.chars().next()? {
        q @ ('"' | '\'') => (Some(q), &rest[1..]),
        _ => (None, rest),
    };
    let end = match quote {
        Some(q) => rest.find(q)?,
        None => rest
            .find(|c: char| c.is_whitespace() || matches!(c, ';' | '>' | '/' | '"' | '\''))
            .unwrap_or(rest.len()),
    };
    let v = rest[..end].trim();
    (!v.is_empty()).then_some(v)
}

/// The charset of a `<meta charset>` or `<meta http-equiv="Content-Type" content="…">` tag
/// in the first 4 KiB.
fn meta_charset(bytes: &[u8]) -> Option<&'static Encoding> {
    let head = &bytes[..bytes.len().min(4096)];
    // Only ASCII matters here; other bytes become '?' so the text stays aligned with bytes.
    let lower: String = head
        .iter()
        .map(|&b| {
            if b.is_ascii() {
                b.to_ascii_lowercase() as char
            } else {
                '?'
            }
        })
        .collect();
    let mut from = 0;
    while let Some(i) = lower[from..].find("<meta") {
        let tag_start = from + i;
        let tag_end = lower[tag_start..]
            .find('>')
            .map_or(lower.len(), |e| tag_start + e);
        let tag = &lower[tag_start..tag_end];
        if let Some(enc) =
            attr_value_after(tag, "charset").and_then(|v| Encoding::for_label(v.as_bytes()))
        {
            return Some(enc);
        }
        from = tag_end;
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allow_host_forms() {
        assert_eq!(
            parse_allow_host("127.0.0.1:8080").unwrap(),
            AllowEntry {
                host: "127.0.0.1".into(),
                port: Some(8080)
            }
        );
        assert_eq!(
            parse_allow_host("[::1]:81").unwrap(),
            AllowEntry {
                host: "::1".into(),
                port: Some(81)
            }
        );
        assert_eq!(
            parse_allow_host("Intranet.Local").unwrap(),
            AllowEntry {
                host: "intranet.local".into(),
                port: None
            }
        );
        assert_eq!(
            parse_allow_host("fd00::1").unwrap(),
            AllowEntry {
                host: "fd00::1".into(),
                port: None
            }
        );
        assert!(parse_allow_host("http://x/").is_err());
        assert!(parse_allow_host("host:notaport").is_err());
        assert!(parse_allow_host("").is_err());
    }

    #[test]
    fn charset_sources() {
        assert_eq!(
            charset_param("text/html; charset=\"GBK\"").as_deref(),
            Some("GBK")
        );
        assert_eq!(
            xml_declared_encoding(b"<?xml version=\"1.0\" encoding=\"gb2312\"?><rss/>"),
            Some(encoding_rs::GBK)
        );
        assert_eq!(
            meta_charset(b"<html><head><meta charset=big5></head>"),
            Some(encoding_rs::BIG5)
        );
        assert_eq!(
            meta_charset(
                b"<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gb18030\">"
            ),
            Some(encoding_rs::GB18030)
        );
        assert_eq!(
            detect_encoding("纯 UTF-8 文本".as_bytes(), None),
            encoding_rs::UTF_8
        );
    }
}
