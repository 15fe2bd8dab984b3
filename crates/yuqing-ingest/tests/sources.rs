//! Integration tests of the network sources (feed, web, JSON API) and the HTTP fetcher,
//! against real local HTTP servers (axum on 127.0.0.1:0). The listener is bound before the
//! server task starts, so no test waits for start-up.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::Query;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::get;
use futures::StreamExt;
use serde_json::{Value, json};
use yuqing_core::{Code, Kind};
use yuqing_ingest::sources::feed::parse_feed;
use yuqing_ingest::sources::http::{
    FetchOutcome, FetchPolicy, Fetcher, decode_body, is_forbidden_ip,
};
use yuqing_ingest::sources::{Source, SourceConfig, SourceError};

// ---------------------------------------------------------------------------------------
// Helpers

async fn serve(router: Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

/// A file of `tests/fixtures/tls`: a test CA (`ca.pem`, valid until 2126) and the server
/// certificate it signed for localhost and 127.0.0.1 (`server.pem`, `server.key`).
fn tls_fixture(name: &str) -> String {
    format!("{}/tests/fixtures/tls/{name}", env!("CARGO_MANIFEST_DIR"))
}

/// An axum listener that speaks TLS with the fixture server certificate.
struct TlsListener {
    tcp: tokio::net::TcpListener,
    tls: tokio_rustls::TlsAcceptor,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((tcp, addr)) = self.tcp.accept().await else {
                continue;
            };
            // A client that refuses the certificate ends its handshake here.
            if let Ok(io) = self.tls.accept(tcp).await {
                return (io, addr);
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.tcp.local_addr()
    }
}

/// Serves `router` over HTTPS on 127.0.0.1 with the fixture certificate.
async fn serve_tls(router: Router) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_fixture("server.pem"))
            .expect("server.pem")
            .collect::<Result<_, _>>()
            .expect("server.pem");
    let key = PrivateKeyDer::from_pem_file(tls_fixture("server.key")).expect("server.key");
    let config = rustls::ServerConfig::builder_with_provider(std::sync::Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .expect("versions")
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .expect("server certificate");
    let tcp = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = tcp.local_addr().expect("local addr");
    let listener = TlsListener {
        tcp,
        tls: tokio_rustls::TlsAcceptor::from(std::sync::Arc::new(config)),
    };
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

#[derive(serde::Deserialize)]
struct ConfigFile {
    sources: Vec<SourceConfig>,
}

fn config(toml_text: &str) -> SourceConfig {
    let mut f: ConfigFile =
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("bad test config: {e}\n{toml_text}"));
    f.sources.remove(0)
}

/// A feed source allowed to reach the local test server at `addr`.
fn feed_source(name: &str, addr: SocketAddr, path: &str, extra: &str) -> Source {
    config(&format!(
        r#"
        [[sources]]
        name = "{name}"
        type = "feed"
        url = "http://{addr}{path}"
        allow_hosts = ["{addr}"]
        min_host_interval = 0
        {extra}
        "#
    ))
    .build()
    .expect("build source")
}

fn local_policy(addr: SocketAddr) -> FetchPolicy {
    FetchPolicy {
        source: "test".into(),
        allow_hosts: vec![addr.to_string()],
        min_host_interval: Duration::ZERO,
        respect_robots: false,
        ..FetchPolicy::default()
    }
}

fn xml(body: &'static str) -> Response {
    (
        [(header::CONTENT_TYPE, "application/rss+xml; charset=utf-8")],
        body,
    )
        .into_response()
}

const RSS2: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<rss version="2.0">
  <channel>
    <title>某某新闻 - 社会</title>
    <link>https://news.example.com/society/</link>
    <description>社会新闻</description>
    <item>
      <title>某市通报学校食堂食品安全事件</title>
      <link>https://news.example.com/society/2024/0501/1.html</link>
      <guid isPermaLink="true">https://news.example.com/society/2024/0501/1.html</guid>
      <description><![CDATA[<p>5月1日，某市市场监管局发布<b>情况通报</b>。</p><p>调查组已进驻。</p>]]></description>
      <pubDate>Wed, 01 May 2024 08:00:00 +0800</pubDate>
      <author>editor@example.com (王五)</author>
      <category>食品安全</category>
    </item>
    <item>
      <title>暴雨致道路积水 &amp; 交通管制</title>
      <link>https://news.example.com/society/2024/0501/2.html</link>
      <guid isPermaLink="false">20240501-2</guid>
      <description>交警提醒市民注意出行安全。</description>
      <pubDate>2024-05-01 10:30:00</pubDate>
    </item>
  </channel>
</rss>"#;

const ATOM: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<feed xmlns="http://www.w3.org/2005/Atom">
  <title>某某博客</title>
  <id>urn:uuid:60a76c80-d399-11d9-b93C-0003939e0af6</id>
  <updated>2024-05-02T09:00:00Z</updated>
  <entry>
    <title type="html">关于&lt;b&gt;校园安全&lt;/b&gt;的几点思考</title>
    <link rel="alternate" href="https://blog.example.com/posts/42"/>
    <id>tag:blog.example.com,2024:42</id>
    <published>2024-05-02T08:00:00+08:00</published>
    <updated>2024-05-02T09:00:00+08:00</updated>
    <author><name>李四</name></author>
    <content type="html">&lt;p&gt;校园安全无小事。&lt;/p&gt;&lt;p&gt;各方都应尽责。&lt;/p&gt;</content>
  </entry>
</feed>"#;

const RDF: &str = r#"<?xml version="1.0" encoding="utf-8"?>
<rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#" xmlns="http://purl.org/rss/1.0/" xmlns:dc="http://purl.org/dc/elements/1.1/">
  <channel rdf:about="https://forum.example.com/rss">
    <title>某论坛</title>
    <link>https://forum.example.com/</link>
    <description>论坛新帖</description>
    <items><rdf:Seq><rdf:li rdf:resource="https://forum.example.com/t/7"/></rdf:Seq></items>
  </channel>
  <item rdf:about="https://forum.example.com/t/7">
    <title>小区门口的路灯坏了三个月没人修</title>
    <link>https://forum.example.com/t/7</link>
    <description>晚上出行很不方便，希望有关部门尽快处理。</description>
    <dc:date>2024-05-03T20:15:00+08:00</dc:date>
    <dc:creator>热心居民</dc:creator>
  </item>
</rdf:RDF>"#;

// ---------------------------------------------------------------------------------------
// Feed parsing

#[test]
fn rss2_items_become_documents() {
    let docs = parse_feed(RSS2.as_bytes(), "news-society", "news").expect("parse rss");
    assert_eq!(docs.len(), 2);
    let d = &docs[0];
    assert_eq!(
        d.id.as_deref(),
        Some("https://news.example.com/society/2024/0501/1.html")
    );
    assert_eq!(d.platform, "news");
    assert_eq!(d.kind, Kind::Article);
    assert_eq!(d.source.as_deref(), Some("news-society"));
    assert_eq!(d.title.as_deref(), Some("某市通报学校食堂食品安全事件"));
    assert_eq!(
        d.text,
        "5月1日，某市市场监管局发布情况通报。\n调查组已进驻。"
    );
    assert_eq!(
        d.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-01T08:00:00+08:00")
    );
    assert_eq!(
        d.url.as_deref(),
        Some("https://news.example.com/society/2024/0501/1.html")
    );
    assert_eq!(d.extra.get("categories"), Some(&json!(["食品安全"])));
    // A short guid is scoped by the source; a Chinese-style date is read as +08:00.
    let d = &docs[1];
    assert_eq!(d.id.as_deref(), Some("news-society#20240501-2"));
    assert_eq!(d.title.as_deref(), Some("暴雨致道路积水 & 交通管制"));
    assert_eq!(
        d.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-01T10:30:00+08:00")
    );
    for d in &docs {
        d.validate(yuqing_core::document::DEFAULT_MAX_TEXT_BYTES)
            .expect("valid document");
    }
}

#[test]
fn atom_entries_become_documents() {
    let docs = parse_feed(ATOM.as_bytes(), "blog", "blog").expect("parse atom");
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.id.as_deref(), Some("tag:blog.example.com,2024:42"));
    assert_eq!(d.title.as_deref(), Some("关于校园安全的几点思考"));
    assert_eq!(d.text, "校园安全无小事。\n各方都应尽责。");
    assert_eq!(d.url.as_deref(), Some("https://blog.example.com/posts/42"));
    assert_eq!(
        d.author.as_ref().and_then(|a| a.name.as_deref()),
        Some("李四")
    );
    assert_eq!(d.published_at.map(|t| t.timestamp()), Some(1_714_608_000));
}

#[test]
fn rdf_items_become_documents() {
    let docs = parse_feed(RDF.as_bytes(), "forum", "forum").expect("parse rdf");
    assert_eq!(docs.len(), 1);
    let d = &docs[0];
    assert_eq!(d.title.as_deref(), Some("小区门口的路灯坏了三个月没人修"));
    assert_eq!(d.text, "晚上出行很不方便，希望有关部门尽快处理。");
    assert_eq!(d.url.as_deref(), Some("https://forum.example.com/t/7"));
    assert_eq!(d.id.as_deref(), Some("https://forum.example.com/t/7"));
    assert_eq!(
        d.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-03T20:15:00+08:00")
    );
}

#[test]
fn item_without_guid_or_link_has_a_stable_id() {
    let feed = |desc: &str| {
        format!(
            r#"<rss version="2.0"><channel><title>t</title>
            <item><title>无链接的条目</title><description>{desc}</description><pubDate>Wed, 01 May 2024 08:00:00 +0800</pubDate></item>
            </channel></rss>"#
        )
    };
    let a = parse_feed(feed("内容一").as_bytes(), "s", "news").expect("parse");
    let b = parse_feed(feed("内容一").as_bytes(), "s", "news").expect("parse");
    let c = parse_feed(feed("内容二").as_bytes(), "s", "news").expect("parse");
    let id = a[0].id.clone().expect("an id");
    assert!(id.starts_with("xxh3:"), "{id}");
    assert_eq!(b[0].id.as_deref(), Some(id.as_str()), "same item, same id");
    assert_ne!(
        c[0].id.as_deref(),
        Some(id.as_str()),
        "different content, different id"
    );
    assert_eq!(a[0].url, None);
}

#[test]
fn gbk_feed_file_is_decoded_from_its_xml_declaration() {
    let text = RSS2.replace("encoding=\"UTF-8\"", "encoding=\"GB2312\"");
    let (bytes, _, bad) = encoding_rs::GBK.encode(&text);
    assert!(!bad);
    assert!(
        std::str::from_utf8(&bytes).is_err(),
        "the fixture really is GBK"
    );
    let docs = parse_feed(&bytes, "gbk", "news").expect("parse gbk feed");
    assert_eq!(
        docs[0].title.as_deref(),
        Some("某市通报学校食堂食品安全事件")
    );
}

#[test]
fn html_file_is_not_a_feed() {
    let e = parse_feed(
        b"<!DOCTYPE html><html><head><title>x</title></head><body>hi</body></html>",
        "f",
        "news",
    )
    .expect_err("html is not a feed");
    assert!(
        e.to_string().contains("not a feed (looks like HTML)"),
        "{e}"
    );
    let e = parse_feed(b"just some text", "f", "news").expect_err("text is not a feed");
    assert!(matches!(e, SourceError::NotAFeed { .. }), "{e:?}");
    assert_eq!(e.code(), Code::InvalidInput);
}

// ---------------------------------------------------------------------------------------
// Charset detection over HTTP

/// A small page in traditional Chinese, for Big5.
const BIG5_PAGE: &str = r#"<html><head><meta charset="big5"><title>颱風應變</title></head>
<body><h1>臺北市政府說明颱風應變措施</h1><p>臺北市政府今日舉行記者會，說明颱風來襲期間的應變措施與停班停課標準。</p></body></html>"#;

#[tokio::test]
async fn gbk_and_big5_pages_decode_with_or_without_a_charset_header() {
    let article = include_str!("fixtures/news_article.html");
    let gbk_meta = article.replace(
        "<meta charset=\"utf-8\">",
        "<meta http-equiv=\"Content-Type\" content=\"text/html; charset=gbk\">",
    );
    let gbk_plain = article.replace("<meta charset=\"utf-8\">", "");
    let (gbk_meta, _, e1) = encoding_rs::GBK.encode(&gbk_meta);
    let (gbk_plain, _, e2) = encoding_rs::GBK.encode(&gbk_plain);
    let (big5, _, e3) = encoding_rs::BIG5.encode(BIG5_PAGE);
    assert!(!e1 && !e2 && !e3, "fixtures encode without loss");
    let (gbk_meta, gbk_plain, big5) = (
        gbk_meta.into_owned(),
        gbk_plain.into_owned(),
        big5.into_owned(),
    );
    let router = Router::new()
        .route(
            "/gbk-header.html",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=GBK")],
                    gbk_plain,
                )
            }),
        )
        .route(
            "/gbk-meta.html",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], gbk_meta) }),
        )
        .route(
            "/big5.html",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], big5) }),
        );
    let addr = serve(router).await;
    let fetcher = Fetcher::new(local_policy(addr)).expect("fetcher");
    for path in ["/gbk-header.html", "/gbk-meta.html"] {
        let FetchOutcome::Fetched(f) = fetcher
            .get(&format!("http://{addr}{path}"), None)
            .await
            .expect("fetch")
        else {
            panic!("expected a body");
        };
        assert!(
            std::str::from_utf8(&f.body).is_err(),
            "served bytes are GBK"
        );
        let text = f.text();
        assert!(
            text.contains("某市通报一起学校食堂食品安全事件调查进展"),
            "{path}: {}",
            text.chars().take(100).collect::<String>()
        );
        assert!(
            !text.contains('\u{fffd}'),
            "{path}: no replacement characters"
        );
    }
    let FetchOutcome::Fetched(f) = fetcher
        .get(&format!("http://{addr}/big5.html"), None)
        .await
        .expect("fetch")
    else {
        panic!("expected a body");
    };
    let (text, enc) = decode_body(&f.body, f.content_type.as_deref());
    assert_eq!(enc, encoding_rs::BIG5);
    assert!(text.contains("臺北市政府今日舉行記者會"), "{text}");
}

#[test]
fn gbk_without_any_declaration_is_detected() {
    let page = "<html><body><p>网民反映某小区物业收费不合理，多次投诉无人处理，希望有关部门尽快介入调查。</p></body></html>";
    let (bytes, _, _) = encoding_rs::GBK.encode(page);
    let (text, _) = decode_body(&bytes, Some("text/html"));
    assert_eq!(text, page);
}

// ---------------------------------------------------------------------------------------
// Conditional GET

#[derive(Default)]
struct Seen {
    if_none_match: Vec<Option<String>>,
    if_modified_since: Vec<Option<String>>,
}

#[tokio::test]
async fn etag_and_last_modified_make_the_next_poll_conditional() {
    let seen = Arc::new(Mutex::new(Seen::default()));
    const LM: &str = "Wed, 01 May 2024 00:00:00 GMT";
    let s1 = seen.clone();
    let s2 = seen.clone();
    let router = Router::new()
        .route(
            "/etag.xml",
            get(move |h: HeaderMap| async move {
                let inm = h
                    .get(header::IF_NONE_MATCH)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                s1.lock().unwrap().if_none_match.push(inm.clone());
                if inm.as_deref() == Some("\"v1\"") {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                (
                    [
                        (header::ETAG, "\"v1\""),
                        (header::CONTENT_TYPE, "application/rss+xml"),
                    ],
                    RSS2,
                )
                    .into_response()
            }),
        )
        .route(
            "/lm.xml",
            get(move |h: HeaderMap| async move {
                let ims = h
                    .get(header::IF_MODIFIED_SINCE)
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_owned);
                s2.lock().unwrap().if_modified_since.push(ims.clone());
                if ims.as_deref() == Some(LM) {
                    return StatusCode::NOT_MODIFIED.into_response();
                }
                ([(header::LAST_MODIFIED, LM)], RSS2).into_response()
            }),
        );
    let addr = serve(router).await;

    let src = feed_source("etag-feed", addr, "/etag.xml", "");
    let first = src.poll(None).await.expect("first poll");
    assert!(!first.not_modified);
    assert_eq!(first.documents.len(), 2);
    assert_eq!(first.cursor["etag"], json!("\"v1\""));
    let second = src.poll(Some(&first.cursor)).await.expect("second poll");
    assert!(second.not_modified);
    assert!(second.documents.is_empty());
    assert_eq!(second.cursor, first.cursor, "a 304 keeps the cursor");
    assert_eq!(
        seen.lock().unwrap().if_none_match,
        vec![None, Some("\"v1\"".to_owned())]
    );

    let src = feed_source("lm-feed", addr, "/lm.xml", "");
    let first = src.poll(None).await.expect("first poll");
    assert_eq!(first.documents.len(), 2);
    let second = src.poll(Some(&first.cursor)).await.expect("second poll");
    assert!(second.not_modified && second.documents.is_empty());
    assert_eq!(
        seen.lock().unwrap().if_modified_since,
        vec![None, Some(LM.to_owned())]
    );
}

#[tokio::test]
async fn a_changed_feed_yields_only_unseen_items() {
    let version = Arc::new(AtomicUsize::new(0));
    let v = version.clone();
    let router = Router::new().route(
        "/feed.xml",
        get(move || {
            let v = v.clone();
            async move {
                if v.load(Ordering::SeqCst) == 0 {
                    xml(RSS2)
                } else {
                    let more = RSS2.replacen(
                        "<item>",
                        "<item><title>新条目</title><link>https://news.example.com/new.html</link><description>新</description></item><item>",
                        1,
                    );
                    ([(header::CONTENT_TYPE, "application/rss+xml")], more).into_response()
                }
            }
        }),
    );
    let addr = serve(router).await;
    let src = feed_source("changing", addr, "/feed.xml", "");
    let first = src.poll(None).await.expect("first poll");
    assert_eq!(first.documents.len(), 2);
    version.store(1, Ordering::SeqCst);
    let second = src.poll(Some(&first.cursor)).await.expect("second poll");
    let titles: Vec<_> = second
        .documents
        .iter()
        .filter_map(|d| d.title.as_deref())
        .collect();
    assert_eq!(titles, vec!["新条目"]);
}

// ---------------------------------------------------------------------------------------
// Destination safety

#[test]
fn forbidden_ip_table() {
    let cases: &[(&str, bool)] = &[
        ("127.0.0.1", true),
        ("127.255.255.254", true),
        ("10.0.0.1", true),
        ("172.16.0.1", true),
        ("172.31.255.255", true),
        ("172.32.0.1", false),
        ("192.168.1.1", true),
        ("169.254.169.254", true),
        ("100.64.0.1", true),
        ("100.127.255.255", true),
        ("100.128.0.1", false),
        ("0.0.0.0", true),
        ("224.0.0.1", true),
        ("255.255.255.255", true),
        ("8.8.8.8", false),
        ("114.114.114.114", false),
        ("1.1.1.1", false),
        ("::1", true),
        ("::", true),
        ("fe80::1", true),
        ("fc00::1", true),
        ("fd12:3456::1", true),
        ("ff02::1", true),
        ("::ffff:127.0.0.1", true),
        ("::ffff:10.1.2.3", true),
        ("::ffff:8.8.8.8", false),
        ("64:ff9b::a00:1", true),
        ("2002:c0a8:101::1", true),
        ("2001:db8::1", true),
        ("2400:3200::1", false),
        ("2606:4700:4700::1111", false),
    ];
    for (ip, want) in cases {
        let addr: IpAddr = ip.parse().expect("ip");
        assert_eq!(is_forbidden_ip(addr), *want, "{ip}");
    }
}

#[tokio::test]
async fn default_policy_refuses_private_literals_without_traffic() {
    let fetcher = Fetcher::new(FetchPolicy {
        source: "guarded".into(),
        ..FetchPolicy::default()
    })
    .expect("fetcher");
    let started = Instant::now();
    for url in [
        "http://127.0.0.1/",
        "http://127.0.0.1:8080/feed.xml",
        "http://[::1]/",
        "http://10.1.2.3/",
        "http://192.168.0.10/admin",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::ffff:127.0.0.1]/",
        "http://0.0.0.0/",
        "http://2130706433/",
    ] {
        let e = fetcher.get(url, None).await.expect_err(url);
        assert!(matches!(e, SourceError::Forbidden { .. }), "{url}: {e:?}");
        assert_eq!(e.code(), Code::Forbidden);
        let msg = e.to_string();
        assert!(
            msg.contains("guarded") && msg.contains("allow_hosts"),
            "{msg}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "refused before any connection attempt"
    );

    // Through a built source too, and with a name that resolves to loopback.
    let src = config(
        r#"
        [[sources]]
        name = "local"
        type = "feed"
        url = "http://localhost:9/feed.xml"
        "#,
    )
    .build()
    .expect("build");
    let e = src.poll(None).await.expect_err("localhost is refused");
    assert!(matches!(e, SourceError::Forbidden { .. }), "{e:?}");
    assert!(
        e.to_string().contains("http://localhost:9/feed.xml"),
        "names the feed, not its robots.txt: {e}"
    );
}

#[tokio::test]
async fn redirect_from_an_allowed_host_to_another_local_port_is_refused() {
    let b_hits = Arc::new(AtomicUsize::new(0));
    let hits = b_hits.clone();
    let b = serve(Router::new().route(
        "/feed.xml",
        get(move || {
            hits.fetch_add(1, Ordering::SeqCst);
            async { xml(RSS2) }
        }),
    ))
    .await;
    let a = serve(
        Router::new()
            .route("/feed.xml", get(|| async { xml(RSS2) }))
            .route(
                "/to-ip",
                get(move || async move {
                    Redirect::temporary(&format!("http://127.0.0.1:{}/feed.xml", b.port()))
                }),
            )
            .route(
                "/to-name",
                get(move || async move {
                    Redirect::permanent(&format!("http://localhost:{}/feed.xml", b.port()))
                }),
            ),
    )
    .await;

    // The allow list works for A itself…
    let ok = feed_source("allowed", a, "/feed.xml", "")
        .poll(None)
        .await
        .expect("A is allowed");
    assert_eq!(ok.documents.len(), 2);
    // …but not for where A redirects.
    for path in ["/to-ip", "/to-name"] {
        let e = feed_source("redirected", a, path, "")
            .poll(None)
            .await
            .expect_err(path);
        assert!(matches!(e, SourceError::Forbidden { .. }), "{path}: {e:?}");
        let msg = e.to_string();
        assert!(
            msg.contains(&b.port().to_string()) && msg.contains("redirected"),
            "{msg}"
        );
    }
    assert_eq!(
        b_hits.load(Ordering::SeqCst),
        0,
        "B never received a request"
    );

    // allow_private opens everything.
    let open = feed_source("open", a, "/to-ip", "allow_private = true")
        .poll(None)
        .await
        .expect("allowed");
    assert_eq!(open.documents.len(), 2);
    assert_eq!(b_hits.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn redirect_loops_and_chains_are_reported() {
    let router = Router::new()
        .route("/a", get(|| async { Redirect::temporary("/b") }))
        .route("/b", get(|| async { Redirect::temporary("/a") }))
        .route("/self", get(|| async { Redirect::temporary("/self") }))
        .route(
            "/chain/{n}",
            get(
                |axum::extract::Path(n): axum::extract::Path<u32>| async move {
                    Redirect::temporary(&format!("/chain/{}", n + 1))
                },
            ),
        );
    let addr = serve(router).await;
    let fetcher = Fetcher::new(local_policy(addr)).expect("fetcher");
    for path in ["/a", "/self"] {
        let e = fetcher
            .get(&format!("http://{addr}{path}"), None)
            .await
            .expect_err(path);
        assert!(
            matches!(e, SourceError::RedirectLoop { .. }),
            "{path}: {e:?}"
        );
        assert!(e.to_string().contains("redirect loop"), "{e}");
    }
    let e = fetcher
        .get(&format!("http://{addr}/chain/0"), None)
        .await
        .expect_err("chain");
    assert!(
        matches!(e, SourceError::TooManyRedirects { max: 5, .. }),
        "{e:?}"
    );
}

// ---------------------------------------------------------------------------------------
// Failures: timeout, status, not a feed, size

#[tokio::test]
async fn a_hanging_server_times_out_quickly() {
    let router = Router::new().route(
        "/slow.xml",
        get(|| async {
            tokio::time::sleep(Duration::from_secs(5)).await;
            xml(RSS2)
        }),
    );
    let addr = serve(router).await;
    let src = feed_source("slow", addr, "/slow.xml", "timeout = 1");
    let started = Instant::now();
    let e = src.poll(None).await.expect_err("times out");
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "took {:?}",
        started.elapsed()
    );
    assert!(matches!(e, SourceError::Timeout { .. }), "{e:?}");
    assert_eq!(e.code(), Code::Unavailable);
    let msg = e.to_string();
    assert!(
        msg.contains("slow")
            && msg.contains(&format!("http://{addr}/slow.xml"))
            && msg.contains("timeout"),
        "{msg}"
    );
}

#[tokio::test]
async fn a_server_error_is_an_error() {
    let router = Router::new().route(
        "/feed.xml",
        get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
    );
    let addr = serve(router).await;
    let e = feed_source("broken", addr, "/feed.xml", "")
        .poll(None)
        .await
        .expect_err("500");
    assert!(
        matches!(e, SourceError::Status { status: 500, .. }),
        "{e:?}"
    );
    assert!(e.is_transient());
    let msg = e.to_string();
    assert!(
        msg.contains("broken") && msg.contains("HTTP 500") && msg.contains("/feed.xml"),
        "{msg}"
    );
}

#[tokio::test]
async fn html_served_as_a_feed_is_not_a_feed() {
    let article = include_str!("fixtures/news_article.html");
    let router = Router::new().route(
        "/feed",
        get(move || async move { ([(header::CONTENT_TYPE, "text/html")], article) }),
    );
    let addr = serve(router).await;
    let e = feed_source("wrong-url", addr, "/feed", "")
        .poll(None)
        .await
        .expect_err("html");
    assert!(matches!(e, SourceError::NotAFeedHtml { .. }), "{e:?}");
    let msg = e.to_string();
    assert!(
        msg.contains("not a feed (looks like HTML)")
            && msg.contains("wrong-url")
            && msg.contains("type = \"web\""),
        "{msg}"
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_cut_off() {
    const TOTAL: usize = 20 * 1024 * 1024;
    const CHUNK: usize = 64 * 1024;
    let sent = Arc::new(AtomicUsize::new(0));
    let counter = sent.clone();
    let router = Router::new()
        .route(
            "/huge",
            get(move || {
                let counter = counter.clone();
                async move {
                    let stream = futures::stream::iter(0..TOTAL / CHUNK).map(move |_| {
                        counter.fetch_add(CHUNK, Ordering::SeqCst);
                        Ok::<_, std::io::Error>(bytes::Bytes::from(vec![b'x'; CHUNK]))
                    });
                    Body::from_stream(stream)
                }
            }),
        )
        .route("/declared", get(|| async { vec![b'y'; 2 * 1024 * 1024] }));
    let addr = serve(router).await;
    let fetcher = Fetcher::new(FetchPolicy {
        max_body_bytes: 1024 * 1024,
        ..local_policy(addr)
    })
    .expect("fetcher");
    let e = fetcher
        .get(&format!("http://{addr}/huge"), None)
        .await
        .expect_err("too large");
    let produced = sent.load(Ordering::SeqCst);
    assert!(
        matches!(e, SourceError::TooLarge { max: 1_048_576, .. }),
        "{e:?}"
    );
    assert!(e.to_string().contains("body exceeds 1048576 bytes"), "{e}");
    assert!(
        produced < TOTAL / 2,
        "the client stopped reading early; the server produced {produced} bytes"
    );
    let e = fetcher
        .get(&format!("http://{addr}/declared"), None)
        .await
        .expect_err("declared too large");
    assert!(matches!(e, SourceError::TooLarge { .. }), "{e:?}");
}

// ---------------------------------------------------------------------------------------
// robots.txt

#[tokio::test]
async fn robots_txt_is_respected() {
    let router = Router::new()
        .route(
            "/robots.txt",
            get(|| async {
                "User-agent: *\nDisallow: /private/\n\nUser-agent: badbot\nDisallow: /\n"
            }),
        )
        .route("/private/feed.xml", get(|| async { xml(RSS2) }))
        .route("/public/feed.xml", get(|| async { xml(RSS2) }));
    let addr = serve(router).await;
    let e = feed_source("polite", addr, "/private/feed.xml", "")
        .poll(None)
        .await
        .expect_err("disallowed");
    assert!(matches!(e, SourceError::Robots { .. }), "{e:?}");
    assert!(e.to_string().contains("robots.txt"), "{e}");
    let ok = feed_source("polite", addr, "/public/feed.xml", "")
        .poll(None)
        .await
        .expect("allowed");
    assert_eq!(ok.documents.len(), 2);
    // The group for our product token applies.
    let e = feed_source(
        "named",
        addr,
        "/public/feed.xml",
        "user_agent = \"badbot/1.0\"",
    )
    .poll(None)
    .await;
    assert!(matches!(e, Err(SourceError::Robots { .. })), "{e:?}");
    // Opting out (with the site's permission) fetches anyway.
    let ok = feed_source(
        "permitted",
        addr,
        "/private/feed.xml",
        "respect_robots = false",
    )
    .poll(None)
    .await;
    assert_eq!(ok.expect("robots ignored").documents.len(), 2);
}

// ---------------------------------------------------------------------------------------
// Web sources

const LIST_PAGE: &str = r#"<html><head><meta charset="utf-8"><title>社会新闻</title></head><body>
<ul class="nav"><li><a href="/">首页</a></li><li><a href="/about.html">关于</a></li></ul>
<div class="list">
  <div class="item"><a href="/a/1.html">某市通报一起学校食堂食品安全事件调查进展</a><span>05-01</span></div>
  <div class="item"><a href="a/2.html?utm_source=list">暴雨致多条道路积水</a><span>05-02</span></div>
</div>
</body></html>"#;

fn article_page(title: &str, body: &str, time: &str) -> String {
    format!(
        r#"<html><head><meta charset="utf-8"><title>{title}_某某网</title></head><body>
        <div class="nav"><a href="/">首页</a></div>
        <h2 class="t">{title}</h2><span class="d">发布时间：{time}</span>
        <div class="c"><p>{body}</p><p>第二段。</p></div>
        <div class="footer">版权所有</div></body></html>"#
    )
}

#[tokio::test]
async fn web_source_with_selectors() {
    let a1 = article_page(
        "某市通报一起学校食堂食品安全事件调查进展",
        "5月1日，市场监管局发布通报。",
        "2024-05-01 08:00",
    );
    let a2 = article_page(
        "暴雨致多条道路积水",
        "交警提醒市民注意出行安全。",
        "2024年5月2日 10:30",
    );
    let router = Router::new()
        .route(
            "/list.html",
            get(|| async {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    LIST_PAGE,
                )
            }),
        )
        .route(
            "/a/1.html",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], a1) }),
        )
        .route(
            "/a/2.html",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], a2) }),
        );
    let addr = serve(router).await;
    let src = config(&format!(
        r#"
        [[sources]]
        name = "city-news"
        type = "web"
        url = "http://{addr}/list.html"
        allow_hosts = ["{addr}"]
        min_host_interval = "0s"
        link_selector = ".list .item a"
        title_selector = "h2.t"
        text_selector = "div.c"
        time_selector = "span.d"
        "#
    ))
    .build()
    .expect("build");
    let poll = src.poll(None).await.expect("poll");
    assert_eq!(poll.documents.len(), 2, "{:?}", poll.documents);
    let d = &poll.documents[0];
    assert_eq!(
        d.title.as_deref(),
        Some("某市通报一起学校食堂食品安全事件调查进展")
    );
    assert_eq!(d.text, "5月1日，市场监管局发布通报。\n第二段。");
    assert_eq!(
        d.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-01T08:00:00+08:00")
    );
    assert_eq!(
        d.url.as_deref(),
        Some(format!("http://{addr}/a/1.html").as_str())
    );
    assert_eq!(
        (d.platform.as_str(), &d.kind, d.source.as_deref()),
        ("news", &Kind::Article, Some("city-news"))
    );
    let d = &poll.documents[1];
    assert_eq!(d.title.as_deref(), Some("暴雨致多条道路积水"));
    assert_eq!(
        d.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-02T10:30:00+08:00")
    );
    // The tracking parameter is dropped from the id.
    assert_eq!(
        d.id.as_deref(),
        Some(format!("http://{addr}/a/2.html").as_str())
    );

    // Nothing new on the list: nothing returned.
    let again = src.poll(Some(&poll.cursor)).await.expect("second poll");
    assert!(again.documents.is_empty(), "{:?}", again.documents);
}

#[tokio::test]
async fn web_source_extracts_a_chinese_news_page_automatically() {
    let article = include_str!("fixtures/news_article.html");
    let gbk_page = article.replace("<meta charset=\"utf-8\">", "<meta charset=\"gbk\">");
    let (gbk_page, _, lossy) = encoding_rs::GBK.encode(&gbk_page);
    assert!(!lossy);
    let gbk_page = gbk_page.into_owned();
    let list = r#"<html><body><div class="news"><a href="/society/2024/0501/1.html">食品安全事件</a>
        <a href="/society/2024/0501/gbk.html">GBK 版本</a></div></body></html>"#;
    let router = Router::new()
        .route(
            "/list.html",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], list) }),
        )
        .route(
            "/society/2024/0501/1.html",
            get(move || async move {
                (
                    [(header::CONTENT_TYPE, "text/html; charset=utf-8")],
                    article,
                )
            }),
        )
        .route(
            "/society/2024/0501/gbk.html",
            get(move || async move { ([(header::CONTENT_TYPE, "text/html")], gbk_page) }),
        );
    let addr = serve(router).await;
    let src = config(&format!(
        r#"
        [[sources]]
        name = "auto-news"
        type = "web"
        url = "http://{addr}/list.html"
        allow_hosts = ["{addr}"]
        min_host_interval = 0
        link_selector = "div.news a"
        platform = "news"
        "#
    ))
    .build()
    .expect("build");
    let poll = src.poll(None).await.expect("poll");
    assert_eq!(poll.documents.len(), 2);
    for d in &poll.documents {
        assert_eq!(
            d.title.as_deref(),
            Some("某市通报一起学校食堂食品安全事件调查进展"),
            "{:?}",
            d.url
        );
        assert_eq!(
            d.published_at.map(|t| t.to_rfc3339()).as_deref(),
            Some("2024-05-01T08:00:00+08:00")
        );
        let text = &d.text;
        for want in [
            "4月30日，有网民在微博发帖称",
            "联合调查组",
            "责令该食堂停业整顿",
            "调查结果将及时向社会公布",
        ] {
            assert!(text.contains(want), "missing {want:?} in {text}");
        }
        for noise in [
            "热点排行",
            "版权所有",
            "时政",
            "相关新闻",
            "网友评论",
            "分享到",
            "当前位置",
            "登录",
        ] {
            assert!(!text.contains(noise), "noise {noise:?} in {text}");
        }
    }
}

// ---------------------------------------------------------------------------------------
// JSON APIs

struct Api {
    items: Vec<Value>,
    pages_requested: Vec<u64>,
}

fn api_item(id: u64, title: &str) -> Value {
    json!({
        "id": id,
        "title": title,
        "content": format!("<p>{title}的内容</p>"),
        "link": format!("/post/{id}"),
        "created_at": "2024-05-01 08:00:00",
        "user": {"name": format!("网友{id}"), "uid": id * 10, "fans": "1,234"},
        "stats": {"likes": id % 7, "replies": "3"},
        "board": "民生"
    })
}

#[tokio::test]
async fn json_api_pages_until_an_empty_page_then_stops_at_the_last_seen_id() {
    let api = Arc::new(Mutex::new(Api {
        items: vec![
            api_item(1004, "帖子四"),
            api_item(1003, "帖子三"),
            api_item(1002, "帖子二"),
            api_item(1001, "帖子一"),
        ],
        pages_requested: Vec::new(),
    }));
    let state = api.clone();
    let router = Router::new().route(
        "/api/posts",
        get(move |Query(q): Query<HashMap<String, String>>| {
            let state = state.clone();
            async move {
                let page: u64 = q.get("p").and_then(|p| p.parse().ok()).unwrap_or(1);
                let mut s = state.lock().unwrap();
                s.pages_requested.push(page);
                let start = ((page - 1) * 2) as usize;
                let list: Vec<Value> = s.items.iter().skip(start).take(2).cloned().collect();
                axum::Json(json!({"code": 0, "data": {"list": list}}))
            }
        }),
    );
    let addr = serve(router).await;
    let src = config(&format!(
        r#"
        [[sources]]
        name = "forum-api"
        type = "json_api"
        platform = "forum"
        url = "http://{addr}/api/posts?size=2"
        allow_hosts = ["{addr}"]
        min_host_interval = 0
        items = "/data/list"
        page_param = "p"
        max_pages = 5
        kind = "post"
        [sources.fields]
        id = "/id"
        title = "/title"
        text = "/content"
        url = "/link"
        published_at = "/created_at"
        "author.name" = "/user/name"
        "author.id" = "/user/uid"
        "author.followers" = "/user/fans"
        "metrics.likes" = "/stats/likes"
        "metrics.comments" = "/stats/replies"
        "extra.board" = "/board"
        "#
    ))
    .build()
    .expect("build");

    let first = src.poll(None).await.expect("first poll");
    let ids: Vec<_> = first
        .documents
        .iter()
        .filter_map(|d| d.id.as_deref())
        .collect();
    assert_eq!(ids, vec!["1004", "1003", "1002", "1001"]);
    assert_eq!(
        api.lock().unwrap().pages_requested,
        vec![1, 2, 3],
        "two pages, then the empty third"
    );
    let d = &first.documents[0];
    assert_eq!(d.platform, "forum");
    assert_eq!(d.kind, Kind::Post);
    assert_eq!(d.title.as_deref(), Some("帖子四"));
    assert_eq!(d.text, "帖子四的内容");
    assert_eq!(
        d.url.as_deref(),
        Some(format!("http://{addr}/post/1004").as_str())
    );
    assert_eq!(
        d.published_at.map(|t| t.to_rfc3339()).as_deref(),
        Some("2024-05-01T08:00:00+08:00")
    );
    let author = d.author.as_ref().expect("author");
    assert_eq!(
        (
            author.name.as_deref(),
            author.id.as_deref(),
            author.followers
        ),
        (Some("网友1004"), Some("10040"), Some(1234))
    );
    let metrics = d.metrics.as_ref().expect("metrics");
    assert_eq!((metrics.likes, metrics.comments), (Some(1004 % 7), Some(3)));
    assert_eq!(d.extra.get("board"), Some(&json!("民生")));
    assert_eq!(d.source.as_deref(), Some("forum-api"));
    assert_eq!(first.cursor["last_id"], json!("1004"));

    // A new post appears on top: the next poll reads page 1 only and stops at 1004.
    {
        let mut s = api.lock().unwrap();
        s.items.insert(0, api_item(1005, "帖子五"));
        s.pages_requested.clear();
    }
    let second = src.poll(Some(&first.cursor)).await.expect("second poll");
    let ids: Vec<_> = second
        .documents
        .iter()
        .filter_map(|d| d.id.as_deref())
        .collect();
    assert_eq!(ids, vec!["1005"]);
    assert_eq!(api.lock().unwrap().pages_requested, vec![1]);
    assert_eq!(second.cursor["last_id"], json!("1005"));
}

#[tokio::test]
async fn json_api_with_a_wrong_items_pointer_says_so() {
    let router = Router::new().route("/api", get(|| async { axum::Json(json!({"result": []})) }));
    let addr = serve(router).await;
    let src = config(&format!(
        r#"
        [[sources]]
        name = "bad-pointer"
        type = "json_api"
        platform = "forum"
        url = "http://{addr}/api"
        allow_hosts = ["{addr}"]
        min_host_interval = 0
        items = "/data/list"
        fields = {{ text = "/text" }}
        "#
    ))
    .build()
    .expect("build");
    let e = src.poll(None).await.expect_err("pointer missing");
    assert!(matches!(e, SourceError::Parse { .. }), "{e:?}");
    assert!(e.to_string().contains("/data/list"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Configuration

#[test]
fn config_refuses_unknown_and_foreign_keys() {
    let e = toml::from_str::<ConfigFile>(
        r#"
        [[sources]]
        name = "x"
        type = "feed"
        url = "https://example.com/feed.xml"
        intervall = "5m"
        "#,
    )
    .err()
    .expect("unknown key refused");
    assert!(e.to_string().contains("intervall"), "{e}");

    let foreign = config(
        r#"
        [[sources]]
        name = "x"
        type = "feed"
        url = "https://example.com/feed.xml"
        link_selector = "a"
        "#,
    );
    let e = foreign.build().expect_err("web key on a feed");
    assert!(
        e.to_string().contains("link_selector") && e.to_string().contains("web"),
        "{e}"
    );

    let bad_selector = config(
        r#"
        [[sources]]
        name = "x"
        type = "web"
        url = "https://example.com/"
        link_selector = "ul >> a["
        "#,
    );
    let e = bad_selector.build().expect_err("bad selector");
    assert_eq!(e.code(), Code::InvalidInput);
    assert!(e.to_string().contains("link_selector"), "{e}");

    let no_platform = config(
        r#"
        [[sources]]
        name = "x"
        type = "json_api"
        url = "https://example.com/api"
        fields = { text = "/t" }
        "#,
    );
    assert!(
        no_platform
            .build()
            .expect_err("platform required")
            .to_string()
            .contains("platform")
    );

    let bad_allow = config(
        r#"
        [[sources]]
        name = "x"
        type = "feed"
        url = "https://example.com/feed.xml"
        allow_hosts = ["http://10.0.0.1/"]
        "#,
    );
    assert!(
        bad_allow
            .build()
            .expect_err("bad allow_hosts")
            .to_string()
            .contains("allow_hosts")
    );
}

#[test]
fn config_durations_and_defaults() {
    let c = config(
        r#"
        [[sources]]
        name = "rsshub-weibo"
        type = "rss"
        url = "https://rsshub.example.com/weibo/user/123"
        interval = "2m30s"
        "#,
    );
    assert_eq!(c.interval(), Duration::from_secs(150));
    assert_eq!(c.platform(), "news");
    assert!(c.enabled && c.respect_robots && !c.allow_private);
    let s = c.build().expect("build");
    assert_eq!(s.name(), "rsshub-weibo");
    let c = config(
        "[[sources]]\nname = \"n\"\ntype = \"feed\"\nurl = \"https://e.com/f\"\ninterval = 90\n",
    );
    assert_eq!(c.interval(), Duration::from_secs(90));
    assert!(toml::from_str::<ConfigFile>("[[sources]]\nname = \"n\"\ntype = \"feed\"\nurl = \"https://e.com/f\"\ninterval = \"soon\"\n").is_err());
}

#[tokio::test]
async fn https_sources_trust_the_ca_file_and_only_it() {
    let router = Router::new().route("/feed", get(|| async { xml(RSS2) }));
    let addr = serve_tls(router).await;
    let source = |url: String, extra: &str| {
        config(&format!(
            "[[sources]]\nname = \"内网\"\ntype = \"feed\"\nurl = \"{url}\"\nallow_hosts = [\"{addr}\", \"localhost:{}\"]\nmin_host_interval = 0\n{extra}",
            addr.port()
        ))
        .build()
    };
    let ca = format!("ca_file = {:?}\n", tls_fixture("ca.pem"));
    // By address and by the name the certificate names.
    for url in [
        format!("https://{addr}/feed"),
        format!("https://localhost:{}/feed", addr.port()),
    ] {
        let poll = source(url.clone(), &ca)
            .expect("build")
            .poll(None)
            .await
            .unwrap_or_else(|e| panic!("{url}: {e}"));
        assert_eq!(poll.documents.len(), 2, "{url}");
    }
    // Without it, the system's roots: the test CA is not one of them.
    let e = source(format!("https://{addr}/feed"), "")
        .expect("build")
        .poll(None)
        .await
        .expect_err("untrusted");
    assert!(
        e.is_transient() && e.to_string().contains("certificate"),
        "{e}"
    );
    // The CA file replaces the system's roots: a file holding another certificate (here
    // the server's own, which is no CA) trusts nothing else.
    let e = source(
        format!("https://{addr}/feed"),
        &format!("ca_file = {:?}\n", tls_fixture("server.pem")),
    )
    .expect("build")
    .poll(None)
    .await
    .expect_err("not a CA");
    assert!(
        e.is_transient() && e.to_string().contains("certificate"),
        "{e}"
    );
    // A missing file and a file without certificates are config errors at build.
    let e = source(
        format!("https://{addr}/feed"),
        "ca_file = \"/nonexistent/ca.pem\"\n",
    )
    .expect_err("missing")
    .to_string();
    assert!(
        e.contains("无法读取 ca_file") && e.contains("/nonexistent/ca.pem"),
        "{e}"
    );
    let e = source(
        format!("https://{addr}/feed"),
        &format!("ca_file = {:?}\n", tls_fixture("server.key")),
    )
    .expect_err("a key, no certificate")
    .to_string();
    assert!(e.contains("没有证书") && e.contains("PEM"), "{e}");
}

/// Every `toml` block in docs/sources.md parses and builds.
#[test]
fn documented_examples_build() {
    let doc = include_str!("../../../docs/sources.md");
    let mut blocks = 0;
    let mut rest = doc;
    while let Some(start) = rest.find("```toml\n") {
        let after = &rest[start + 8..];
        let end = after.find("```").expect("closed block");
        let block = &after[..end];
        // The documented organisation CA stands for the test CA.
        let block = block.replace("/etc/yuqing/county-ca.pem", &tls_fixture("ca.pem"));
        let file: ConfigFile = toml::from_str(&block)
            .unwrap_or_else(|e| panic!("docs example does not parse: {e}\n{block}"));
        for s in &file.sources {
            s.build()
                .unwrap_or_else(|e| panic!("docs example {} does not build: {e}", s.name));
        }
        blocks += 1;
        rest = &after[end + 3..];
    }
    assert!(blocks >= 3, "found {blocks} examples");
}

#[test]
fn sources_are_send_and_sync() {
    fn assert_send_sync<T: Send + Sync>() {}
    assert_send_sync::<Source>();
    assert_send_sync::<Fetcher>();
    fn assert_send<T: Send>(_: &T) {}
    let src = config("[[sources]]\nname = \"n\"\ntype = \"feed\"\nurl = \"https://e.com/f\"\n")
        .build()
        .expect("build");
    let fut = src.poll(None);
    assert_send(&fut);
}
