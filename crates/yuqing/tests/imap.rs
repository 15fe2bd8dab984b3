//! Mailbox sources (`type = "imap"`) against a real IMAP server: Dovecot, started here on
//! 127.0.0.1 with its own configuration in a temporary directory. The suite is `#[ignore]`
//! (`cargo test --workspace --test imap -- --ignored`, run by `.ci/run`) and fails, never
//! skips, when Dovecot is not installed (Debian: `dovecot-imapd`). The messages are put in
//! the mailbox with IMAP APPEND, as a mail server's delivery would.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::time::{Duration, Instant};

use async_imap::Client;
use futures::StreamExt;
use serde_json::{Value, json};
use yuqing_ingest::sources::{SourceConfig, SourceError};

mod common;

const USER: &str = "xinfang";
const PASSWORD: &str = "Xf-2026!pass";

/// A Dovecot instance serving one user: plain IMAP and IMAP over TLS (a self-signed
/// certificate) on loopback ports. Stopped when dropped.
struct Dovecot {
    dir: tempfile::TempDir,
    plain: SocketAddr,
    tls: SocketAddr,
    /// Dropped with the server: stops the watchdog.
    _watchdog: std::sync::mpsc::Sender<()>,
}

/// How long one test may use its server: then the watchdog stops it, so a client waiting
/// for an answer gets end of file and the test fails instead of hanging CI.
const TEST_LIMIT: Duration = Duration::from_secs(120);

fn stop(dir: &Path) {
    let pid = std::fs::read_to_string(dir.join("run/master.pid"))
        .unwrap_or_default()
        .trim()
        .to_owned();
    if !pid.is_empty() {
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        // Its processes hold the directory until they are gone.
        let deadline = Instant::now() + Duration::from_secs(10);
        while Path::new(&format!("/proc/{pid}")).exists() && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(50));
        }
    }
}

fn free_port() -> SocketAddr {
    let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    l.local_addr().expect("addr")
}

impl Dovecot {
    fn start() -> Dovecot {
        let bin = which("dovecot").unwrap_or_else(|| {
            panic!(
                "the IMAP suite needs Dovecot, which is not installed: apt-get install dovecot-imapd (the suite never skips)"
            )
        });
        let dir = tempfile::tempdir().expect("tmp");
        let root = dir.path();
        // As root, Dovecot will not run mail processes as root: they run as nobody, who
        // must reach the mail directory.
        let (uid, gid) = own_ids();
        let (mail_uid, mail_gid) = if uid == 0 { (65534, 65534) } else { (uid, gid) };
        set_mode(root, 0o755);
        for d in ["run", "state", "mail", "home"] {
            std::fs::create_dir_all(root.join(d)).expect("dir");
        }
        set_mode(&root.join("mail"), 0o777);
        set_mode(&root.join("home"), 0o777);
        make_certificates(root);
        std::fs::write(
            root.join("passwd"),
            format!("{USER}:{{PLAIN}}{PASSWORD}::::::\n"),
        )
        .expect("passwd");
        let (plain, tls) = (free_port(), free_port());
        let r = root.display();
        let non_root = if uid == 0 {
            String::new()
        } else {
            let me = std::env::var("USER").unwrap_or_else(|_| "nobody".into());
            format!("default_internal_user = {me}\ndefault_login_user = {me}\n")
        };
        let conf = format!(
            r#"protocols = imap
listen = 127.0.0.1
base_dir = {r}/run
state_dir = {r}/state
log_path = {r}/dovecot.log
{non_root}ssl = yes
ssl_cert = <{r}/cert.pem
ssl_key = <{r}/key.pem
disable_plaintext_auth = no
auth_mechanisms = plain login
mail_location = maildir:{r}/mail/%u
mail_uid = {mail_uid}
mail_gid = {mail_gid}
first_valid_uid = 0
passdb {{
  driver = passwd-file
  args = scheme=PLAIN {r}/passwd
}}
userdb {{
  driver = static
  args = uid={mail_uid} gid={mail_gid} home={r}/home/%u
}}
service imap-login {{
  chroot =
  inet_listener imap {{
    address = 127.0.0.1
    port = {}
  }}
  inet_listener imaps {{
    address = 127.0.0.1
    port = {}
    ssl = yes
  }}
}}
"#,
            plain.port(),
            tls.port()
        );
        std::fs::write(root.join("dovecot.conf"), conf).expect("conf");
        // The daemon's processes keep what they inherit open: no pipes (`output()` would
        // wait for them), its messages go to a file.
        let errors = root.join("start.err");
        let status = Command::new(bin)
            .arg("-c")
            .arg(root.join("dovecot.conf"))
            .stdin(std::process::Stdio::null())
            .stdout(std::process::Stdio::null())
            .stderr(std::fs::File::create(&errors).expect("start.err"))
            .status()
            .expect("run dovecot");
        assert!(
            status.success(),
            "dovecot did not start: {}{}",
            std::fs::read_to_string(&errors).unwrap_or_default(),
            std::fs::read_to_string(root.join("dovecot.log")).unwrap_or_default()
        );
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(plain).is_err() {
            assert!(
                Instant::now() < deadline,
                "dovecot does not listen on {plain}"
            );
            std::thread::sleep(Duration::from_millis(50));
        }
        let (tx, rx) = std::sync::mpsc::channel::<()>();
        let watched = root.to_owned();
        std::thread::spawn(move || {
            if let Err(std::sync::mpsc::RecvTimeoutError::Timeout) = rx.recv_timeout(TEST_LIMIT) {
                eprintln!("the test used Dovecot for more than {TEST_LIMIT:?}: stopping it");
                stop(&watched);
            }
        });
        Dovecot {
            dir,
            plain,
            tls,
            _watchdog: tx,
        }
    }

    /// A server whose INBOX holds one letter: 停水, 幸福小区停水三天了.
    async fn with_first_letter() -> Dovecot {
        let server = Dovecot::start();
        server
            .deliver(
                "INBOX",
                &complaint(1, "=?UTF-8?B?5YGc5rC0?=", "幸福小区停水三天了"),
            )
            .await;
        server
    }

    /// A session of the mailbox's owner (the test's own mail client).
    async fn session(&self) -> async_imap::Session<tokio::net::TcpStream> {
        let tcp = tokio::net::TcpStream::connect(self.plain)
            .await
            .expect("connect");
        let mut client = Client::new(tcp);
        client
            .read_response()
            .await
            .expect("greeting")
            .expect("greeting");
        client
            .login(USER, PASSWORD)
            .await
            .map_err(|(e, _)| e)
            .expect("login")
    }

    /// Delivers `raw` into `folder` (modified UTF-7 name).
    async fn deliver(&self, folder: &str, raw: &str) {
        let mut s = self.session().await;
        s.append(folder, None, None, raw.as_bytes())
            .await
            .expect("append");
        s.logout().await.expect("logout");
    }

    /// The flags of every message in INBOX.
    async fn flags(&self) -> Vec<Vec<String>> {
        let mut s = self.session().await;
        s.examine("INBOX").await.expect("examine");
        let mut out = Vec::new();
        {
            let mut stream = s.fetch("1:*", "FLAGS").await.expect("fetch");
            while let Some(f) = stream.next().await {
                let f = f.expect("fetch item");
                out.push(f.flags().map(|x| format!("{x:?}")).collect());
            }
        }
        s.logout().await.expect("logout");
        out
    }

    fn source(&self, name: &str, url: &str, extra: &str) -> SourceConfig {
        let text = format!(
            "name = {name:?}\ntype = \"imap\"\nurl = {url:?}\nuser = \"{USER}\"\npassword = \"{PASSWORD}\"\nallow_hosts = [\"127.0.0.1\"]\n{extra}"
        );
        toml::from_str(&text).expect("source config")
    }

    /// The test CA's certificate, for `ca_file`.
    fn ca_file(&self) -> String {
        self.dir.path().join("ca.pem").display().to_string()
    }

    fn url(&self, folder: &str) -> String {
        format!("imap://{}/{folder}", self.plain)
    }
}

impl Drop for Dovecot {
    fn drop(&mut self) {
        stop(self.dir.path());
    }
}

/// A test CA (`ca.pem`) and the server's certificate it signed (`cert.pem`, `key.pem`)
/// for localhost and 127.0.0.1, made with the openssl command.
fn make_certificates(root: &Path) {
    let openssl = |args: &[&str]| {
        let status = Command::new("openssl")
            .args(args)
            .current_dir(root)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .status()
            .expect("the IMAP suite needs the openssl command for the TLS listeners");
        assert!(status.success(), "openssl {args:?} failed");
    };
    openssl(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-days",
        "2",
        "-subj",
        "/CN=yuqing test CA",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
    ]);
    openssl(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-subj",
        "/CN=localhost",
        "-keyout",
        "key.pem",
        "-out",
        "server.csr",
    ]);
    std::fs::write(
        root.join("server.ext"),
        "basicConstraints = CA:FALSE\nsubjectAltName = DNS:localhost, IP:127.0.0.1\nextendedKeyUsage = serverAuth\n",
    )
    .expect("server.ext");
    openssl(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-days",
        "2",
        "-extfile",
        "server.ext",
        "-out",
        "cert.pem",
    ]);
}

fn which(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH").unwrap_or_default();
    std::env::split_paths(&path)
        .chain(["/usr/sbin".into(), "/sbin".into()])
        .map(|d| d.join(name))
        .find(|p| p.is_file())
}

fn own_ids() -> (u32, u32) {
    use std::os::unix::fs::MetadataExt;
    // A file this process creates is owned by its user and group.
    let probe = tempfile::NamedTempFile::new().expect("probe");
    let m = probe.as_file().metadata().expect("metadata");
    (m.uid(), m.gid())
}

fn set_mode(p: &Path, mode: u32) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).expect("chmod");
}

/// A complaint as a resident's mail client sends it (`n` makes it unique).
fn complaint(n: u32, subject: &str, body: &str) -> String {
    format!(
        "From: =?UTF-8?B?{}?= <resident{n}@example.com>\r\nTo: xzxx@county.gov.cn\r\nSubject: {subject}\r\nDate: Mon, 23 Nov 2026 0{n}:00:00 +0800\r\nMessage-ID: <c{n}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=utf-8\r\n\r\n{body}\r\n",
        b64("居民")
    )
}

fn b64(s: &str) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(s)
}

/// The same complaint encoded in GBK, subject and body.
fn gbk_complaint(n: u32, subject: &str, body: &str) -> Vec<u8> {
    use base64::Engine;
    let e = |s: &str| {
        base64::engine::general_purpose::STANDARD.encode(encoding_rs::GBK.encode(s).0.as_ref())
    };
    format!(
        "From: resident{n}@example.com\r\nSubject: =?GBK?B?{}?=\r\nDate: Mon, 23 Nov 2026 0{n}:00:00 +0800\r\nMessage-ID: <c{n}@example.com>\r\nMIME-Version: 1.0\r\nContent-Type: text/plain; charset=GB2312\r\nContent-Transfer-Encoding: base64\r\n\r\n{}\r\n",
        e(subject),
        e(body)
    )
    .into_bytes()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn a_mailbox_is_read_once_and_left_unread() {
    let server = Dovecot::with_first_letter().await;
    let gbk = gbk_complaint(2, "路灯不亮", "人民路路灯一个月不亮，晚上很危险");
    {
        let mut s = server.session().await;
        s.append("INBOX", None, None, &gbk).await.expect("append");
        s.logout().await.expect("logout");
    }

    let source = server
        .source("县长信箱", &server.url("INBOX"), "")
        .build()
        .expect("build");
    assert_eq!(source.platform(), "email");
    let first = source.poll(None).await.expect("first poll");
    // Newest first, as the other sources give them.
    let ids: Vec<_> = first
        .documents
        .iter()
        .map(|d| d.id.clone().unwrap_or_default())
        .collect();
    assert_eq!(ids, ["c2@example.com", "c1@example.com"]);
    let gbk_doc = &first.documents[0];
    assert_eq!(gbk_doc.title.as_deref(), Some("路灯不亮"));
    assert_eq!(gbk_doc.text, "人民路路灯一个月不亮，晚上很危险");
    assert_eq!(gbk_doc.kind.as_str(), "message");
    assert_eq!(gbk_doc.source.as_deref(), Some("县长信箱"));
    assert_eq!(first.documents[1].title.as_deref(), Some("停水"));
    assert_eq!(
        first.documents[1]
            .author
            .as_ref()
            .and_then(|a| a.name.as_deref()),
        Some("居民")
    );
    assert_eq!(first.cursor["last_uid"], 2);
    assert!(first.cursor["uidvalidity"].as_u64().unwrap_or(0) > 0);
    assert!(first.cursor.get("backlog").is_none());

    // Nothing new: nothing produced.
    let again = source.poll(Some(&first.cursor)).await.expect("second poll");
    assert!(again.documents.is_empty());
    assert_eq!(again.cursor, first.cursor);

    // A new message: only it.
    server
        .deliver(
            "INBOX",
            &complaint(3, "=?UTF-8?B?5Zmq6Z+z?=", "工地夜间施工噪音扰民"),
        )
        .await;
    let third = source.poll(Some(&again.cursor)).await.expect("third poll");
    assert_eq!(third.documents.len(), 1);
    assert_eq!(third.documents[0].id.as_deref(), Some("c3@example.com"));
    assert_eq!(third.documents[0].extra["uid"], 3);
    assert_eq!(third.cursor["last_uid"], 3);

    // yuqing read every message and changed none: all are still unread.
    let flags = server.flags().await;
    assert_eq!(flags.len(), 3);
    assert!(
        flags.iter().all(|f| !f.iter().any(|x| x.contains("Seen"))),
        "{flags:?}"
    );

    // A cursor from another UIDVALIDITY (the folder was rebuilt): read from the start.
    let stale = json!({"v": 1, "uidvalidity": 1, "last_uid": 99});
    let reread = source.poll(Some(&stale)).await.expect("reread");
    assert_eq!(reread.documents.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn a_chinese_folder_and_a_backlog() {
    let server = Dovecot::start();
    {
        let mut s = server.session().await;
        // 县长信箱 in modified UTF-7, as a mail client creates it.
        s.create("&U7+Vf0,he7E-").await.expect("create");
        for n in 1..=5 {
            s.append(
                "&U7+Vf0,he7E-",
                None,
                None,
                complaint(n, "=?UTF-8?B?5Y+N5pig?=", &format!("第{n}封来信")),
            )
            .await
            .expect("append");
        }
        s.logout().await.expect("logout");
    }
    let source = server
        .source("书记信箱", &server.url("县长信箱"), "max_messages = 2\n")
        .build()
        .expect("build");
    let mut cursor: Option<Value> = None;
    let mut rounds = Vec::new();
    loop {
        let p = source.poll(cursor.as_ref()).await.expect("poll");
        let texts: Vec<String> = p.documents.iter().map(|d| d.text.clone()).collect();
        let more = p.cursor.get("backlog") == Some(&Value::Bool(true));
        rounds.push(texts);
        cursor = Some(p.cursor);
        if !more {
            break;
        }
        assert!(rounds.len() < 10, "the backlog never ends: {rounds:?}");
    }
    // Oldest first across polls, at most two per poll, newest first within one.
    assert_eq!(
        rounds,
        [
            vec!["第2封来信", "第1封来信"],
            vec!["第4封来信", "第3封来信"],
            vec!["第5封来信"]
        ]
    );
    let last = source.poll(cursor.as_ref()).await.expect("poll");
    assert!(last.documents.is_empty());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn tls_and_starttls_with_the_organisations_own_ca() {
    let server = Dovecot::with_first_letter().await;
    let ca = format!("ca_file = {:?}\n", server.ca_file());
    for (name, url, extra) in [
        ("imaps", format!("imaps://{}/INBOX", server.tls), ca.clone()),
        (
            "starttls",
            server.url("INBOX"),
            format!("{ca}starttls = true\n"),
        ),
        // A host name the certificate names, resolved to loopback.
        (
            "imaps by name",
            format!("imaps://localhost:{}/INBOX", server.tls.port()),
            ca.clone(),
        ),
    ] {
        let mut cfg = server.source(name, &url, &extra);
        if name == "imaps by name" {
            cfg.allow_hosts = vec!["localhost".into()];
        }
        let source = cfg.build().expect("build");
        let p = source
            .poll(None)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let texts: Vec<&str> = p.documents.iter().map(|d| d.text.as_str()).collect();
        assert_eq!(texts, ["幸福小区停水三天了"], "{name}");
        assert_eq!(p.cursor["last_uid"], 1, "{name}");
    }
    // The CA file trusts its own certificates only: another CA's file is refused.
    let other = tempfile::tempdir().expect("tmp");
    make_certificates(other.path());
    let source = server
        .source(
            "别的证书",
            &format!("imaps://{}/INBOX", server.tls),
            &format!(
                "ca_file = {:?}\n",
                other.path().join("ca.pem").display().to_string()
            ),
        )
        .build()
        .expect("build");
    let e = source.poll(None).await.expect_err("another CA");
    assert!(e.to_string().contains("TLS"), "{e}");
    // Still unread.
    let flags = server.flags().await;
    assert!(!flags[0].iter().any(|x| x.contains("Seen")), "{flags:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn since_leaves_out_older_mail() {
    let server = Dovecot::start();
    {
        let mut s = server.session().await;
        // Received (INTERNALDATE) in 2020, 2025 and 2026 (the client sends the date as
        // given: quoted here, as the grammar wants).
        for (n, received) in [
            (1, "\"15-Mar-2020 10:00:00 +0800\""),
            (2, "\"31-Dec-2025 23:00:00 +0800\""),
            (3, "\"02-Jan-2026 08:00:00 +0800\""),
        ] {
            s.append(
                "INBOX",
                None,
                Some(received),
                complaint(n, "=?UTF-8?B?5Y+N5pig?=", &format!("来信{n}")),
            )
            .await
            .expect("append");
        }
        s.logout().await.expect("logout");
    }
    let recent = server
        .source("近期来信", &server.url("INBOX"), "since = \"2026-01-01\"\n")
        .build()
        .expect("build");
    let p = recent.poll(None).await.expect("poll");
    let texts: Vec<&str> = p.documents.iter().map(|d| d.text.as_str()).collect();
    assert_eq!(texts, ["来信3"]);
    assert_eq!(p.cursor["last_uid"], 3);
    // Without it, the whole folder.
    let all = server
        .source("全部来信", &server.url("INBOX"), "")
        .build()
        .expect("build");
    assert_eq!(all.poll(None).await.expect("poll").documents.len(), 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn mailbox_errors_say_what_to_fix() {
    let server = Dovecot::start();
    let message = |e: SourceError| (e.kind(), e.is_transient(), e.to_string());

    let mut cfg = server.source("错密码", &server.url("INBOX"), "");
    cfg.password = Some(yuqing_ingest::sources::Secret("wrong".into()));
    let wrong_password = cfg.build().expect("build");
    let (kind, transient, text) = message(wrong_password.poll(None).await.expect_err("refused"));
    assert_eq!(kind, "config");
    assert!(!transient);
    assert!(
        text.contains("拒绝登录") && text.contains("password"),
        "{text}"
    );
    assert!(!text.contains("wrong"), "the password is shown: {text}");

    let missing = server
        .source("无此文件夹", &server.url("Nowhere"), "")
        .build()
        .expect("build");
    let (kind, _, text) = message(missing.poll(None).await.expect_err("no folder"));
    assert_eq!(kind, "config");
    assert!(
        text.contains("无法打开文件夹") && text.contains("Nowhere"),
        "{text}"
    );

    // Loopback without allow_hosts: refused before any traffic.
    let mut cfg = server.source("内网", &server.url("INBOX"), "");
    cfg.allow_hosts.clear();
    let (kind, _, text) = message(
        cfg.build()
            .expect("build")
            .poll(None)
            .await
            .expect_err("forbidden"),
    );
    assert_eq!(kind, "forbidden");
    assert!(text.contains("allow_hosts"), "{text}");

    // TLS with a certificate no root of the system signed: refused, nothing sent.
    let tls = server
        .source("自签名", &format!("imaps://{}/INBOX", server.tls), "")
        .build()
        .expect("build");
    let (kind, transient, text) = message(tls.poll(None).await.expect_err("untrusted"));
    assert_eq!(kind, "network");
    assert!(transient);
    assert!(text.contains("TLS"), "{text}");

    // The same with STARTTLS.
    let starttls = server
        .source("自签名", &server.url("INBOX"), "starttls = true\n")
        .build()
        .expect("build");
    let (kind, _, text) = message(starttls.poll(None).await.expect_err("untrusted"));
    assert_eq!(kind, "network");
    assert!(text.contains("TLS"), "{text}");

    // Config errors, before any connection.
    let build_err = |url: &str, extra: &str| {
        server
            .source("坏配置", url, extra)
            .build()
            .expect_err("refused")
            .to_string()
    };
    assert!(build_err("https://mail.example.com/INBOX", "").contains("imaps://"));
    assert!(build_err("imaps://u:p@mail.example.com/INBOX", "").contains("user 和 password"));
    assert!(build_err(&server.url("INBOX"), "max_messages = 0\n").contains("max_messages"));
    assert!(build_err(&server.url("INBOX"), "since = \"2026/01/01\"\n").contains("since"));
    assert!(build_err(&server.url("INBOX"), "link_selector = \"a\"\n").contains("link_selector"));
    assert!(build_err(&server.url("INBOX"), "headers = { X = \"1\" }\n").contains("headers"));
    // ca_file: only where the connection is encrypted, readable, and PEM certificates.
    let e = build_err(
        &server.url("INBOX"),
        &format!("ca_file = {:?}\n", server.ca_file()),
    );
    assert!(e.contains("ca_file") && e.contains("starttls"), "{e}");
    let e = build_err(
        &format!("imaps://{}/INBOX", server.tls),
        "ca_file = \"/nonexistent/ca.pem\"\n",
    );
    assert!(
        e.contains("无法读取 ca_file") && e.contains("/nonexistent/ca.pem"),
        "{e}"
    );
    let not_pem = server.dir.path().join("passwd").display().to_string();
    let e = build_err(
        &format!("imaps://{}/INBOX", server.tls),
        &format!("ca_file = {not_pem:?}\n"),
    );
    assert!(e.contains("没有证书") && e.contains("PEM"), "{e}");
    let e = build_err(
        &format!("imaps://{}/INBOX", server.tls),
        "starttls = true\n",
    );
    assert!(e.contains("starttls") && e.contains("imaps://"), "{e}");
    let no_password: Result<SourceConfig, _> = toml::from_str(&format!(
        "name = \"x\"\ntype = \"imap\"\nurl = \"{}\"\nuser = \"{USER}\"\n",
        server.url("INBOX")
    ));
    let e = no_password
        .expect("parse")
        .build()
        .expect_err("no password")
        .to_string();
    assert!(e.contains("password"), "{e}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn serve_collects_a_mailbox_and_plans_match_it() {
    let server = Dovecot::start();
    server
        .deliver(
            "INBOX",
            &complaint(1, "=?UTF-8?B?5YGc5rC0?=", "幸福小区停水三天了，物业不管"),
        )
        .await;
    let tmp = tempfile::tempdir().expect("tmp");
    let config = format!(
        r#"[server]
push_tokens = ["t0ken"]
[ingest]
index_commit_secs = 1
[[plans]]
name = "民生"
expression = "停水|停电"
[[sources]]
name = "县长信箱"
type = "imap"
url = "{}"
user = "{USER}"
password = "{PASSWORD}"
allow_hosts = ["127.0.0.1"]
interval = "1s"
"#,
        server.url("INBOX")
    );
    let serve = common::serve(tmp.path(), &config);
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let get = async |path: &str| -> Value {
        c.get(format!("{}{path}", serve.base))
            .bearer_auth("t0ken")
            .send()
            .await
            .expect("send")
            .json()
            .await
            .expect("json")
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if get("/api/v1/count?q=%E5%81%9C%E6%B0%B4").await["count"] == 1 {
            break;
        }
        if Instant::now() > deadline {
            let log = std::fs::read_to_string(tmp.path().join("serve.log")).unwrap_or_default();
            panic!("the mail did not arrive; server log:\n{log}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A second message arrives while serve runs.
    server
        .deliver(
            "INBOX",
            &complaint(
                2,
                "=?UTF-8?B?5YGc55S1?=",
                "城东片区停电，冰箱里的东西都坏了",
            ),
        )
        .await;
    let deadline = Instant::now() + Duration::from_secs(60);
    while get("/api/v1/count?q=%E5%81%9C%E7%94%B5").await["count"] != 1 {
        assert!(Instant::now() < deadline, "the second mail did not arrive");
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // The plan matched both, with the terms that hit.
    let plans = get("/api/v1/plans").await;
    let plan = plans["plans"]
        .as_array()
        .and_then(|a| a.iter().find(|p| p["name"] == "民生").cloned())
        .unwrap_or_else(|| panic!("no plan in {plans}"));
    let hits = get(&format!("/api/v1/plans/{}/hits", plan["id"])).await;
    assert_eq!(hits["count"], 2, "{hits}");
    let mut terms: Vec<String> = hits["hits"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|h| {
                    assert_eq!(h["platform"], "email", "{h}");
                    h["terms"].to_string()
                })
                .collect()
        })
        .unwrap_or_default();
    terms.sort();
    assert!(
        terms[0].contains("停水") && terms[1].contains("停电")
            || terms[0].contains("停电") && terms[1].contains("停水"),
        "{terms:?}"
    );
    let sources = get("/api/v1/sources").await;
    let mailbox = sources["sources"]
        .as_array()
        .and_then(|a| {
            a.iter()
                .find(|s| s["health"]["name"] == "县长信箱")
                .cloned()
        })
        .unwrap_or_else(|| panic!("no mailbox in {sources}"));
    assert_eq!(mailbox["health"]["documents"], 2, "{mailbox}");
    assert_eq!(mailbox["health"]["consecutive_failures"], 0, "{mailbox}");
    assert!(
        !mailbox.to_string().contains(PASSWORD),
        "the password is shown: {mailbox}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs Dovecot: cargo test --test imap -- --ignored"]
async fn sources_check_tells_a_good_mailbox_from_a_bad_one() {
    let server = Dovecot::start();
    for n in 1..=2 {
        server
            .deliver(
                "INBOX",
                &complaint(n, "=?UTF-8?B?5YGc5rC0?=", "幸福小区停水"),
            )
            .await;
    }
    let tmp = tempfile::tempdir().expect("tmp");
    let cfg = tmp.path().join("yuqing.toml");
    let url = server.url("INBOX");
    std::fs::write(
        &cfg,
        format!(
            "[[sources]]\nname = \"县长信箱\"\ntype = \"imap\"\nurl = \"{url}\"\nuser = \"{USER}\"\npassword = \"{PASSWORD}\"\nallow_hosts = [\"127.0.0.1\"]\n\n[[sources]]\nname = \"旧密码\"\ntype = \"imap\"\nurl = \"{url}\"\nuser = \"{USER}\"\npassword = \"old-pass\"\nallow_hosts = [\"127.0.0.1\"]\n"
        ),
    )
    .expect("config");
    let cfg_arg = cfg.clone();
    let out = tokio::task::spawn_blocking(move || {
        common::bin()
            .arg("--config")
            .arg(&cfg_arg)
            .args(["sources", "--check"])
            .output()
            .expect("run yuqing")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("✓ 县长信箱：2 条"), "{stdout}");
    assert!(stdout.contains("停水"), "{stdout}");
    assert!(
        stdout.contains("✗ 旧密码：") && stdout.contains("拒绝登录"),
        "{stdout}"
    );
    assert!(!stdout.contains("old-pass") && !stdout.contains(PASSWORD));
    // Checking read the mailbox without marking anything read.
    let flags = server.flags().await;
    assert_eq!(flags.len(), 2);
    assert!(
        flags.iter().all(|f| !f.iter().any(|x| x.contains("Seen"))),
        "{flags:?}"
    );
}
