//! Helpers shared by the binary's end-to-end tests: the binary, the shared CED data and
//! running commands.
#![allow(dead_code)]

use flate2::read::GzDecoder;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::Instant;

const CED: &str = "../../../shared/data/ced/ced_dev_documents.jsonl.gz";

pub fn bin() -> Command {
    let mut c = Command::new(env!("CARGO_BIN_EXE_yuqing"));
    c.env_remove("YUQING_DATA").env_remove("YUQING_CONFIG");
    c
}

pub fn ced() -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(CED);
    assert!(
        p.exists(),
        "the shared CED data is missing at {}",
        p.display()
    );
    p
}

/// The first `n` events of the CED dev file, as JSONL lines.
pub fn first_events(n: usize) -> Vec<String> {
    let f = GzDecoder::new(std::fs::File::open(ced()).expect("open CED"));
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    for line in BufReader::new(f).lines() {
        let line = line.expect("line");
        let v: serde_json::Value = serde_json::from_str(&line).expect("json");
        let e = v["event_id"].as_str().expect("event_id").to_owned();
        if !seen.contains(&e) {
            if seen.len() == n {
                break;
            }
            seen.insert(e);
        }
        out.push(line);
    }
    out
}

pub fn write_lines(dir: &Path, name: &str, lines: &[String]) -> PathBuf {
    let p = dir.join(name);
    let mut f = std::fs::File::create(&p).expect("create");
    for l in lines {
        writeln!(f, "{l}").expect("write");
    }
    p
}

pub fn run(args: &[&str]) -> Output {
    let out = bin().args(args).output().expect("run yuqing");
    assert!(
        out.status.success(),
        "yuqing {args:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A running `yuqing serve` on 127.0.0.1:0 (stopped with SIGTERM when dropped).
pub struct Server {
    pub child: std::process::Child,
    pub base: String,
    _stdout: BufReader<std::process::ChildStdout>,
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + std::time::Duration::from_secs(30);
        while Instant::now() < deadline {
            if let Ok(Some(_)) = self.child.try_wait() {
                return;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        let _ = self.child.kill();
    }
}

/// Starts `yuqing serve` with `config` (TOML) on a data directory inside `dir`.
pub fn serve(dir: &Path, config: &str) -> Server {
    serve_with(&dir.join("data"), dir, config)
}

/// Starts `yuqing serve` on the data directory `data`, with `config` (TOML) and the log
/// (`serve.log`) in `side`.
pub fn serve_with(data: &Path, side: &Path, config: &str) -> Server {
    serve_cmd(data, side, config, &[])
}

/// [`serve_with`], with environment variables for the server.
pub fn serve_cmd(data: &Path, side: &Path, config: &str, envs: &[(&str, &str)]) -> Server {
    let cfg = side.join("yuqing.toml");
    std::fs::write(&cfg, config).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yuqing"))
        .envs(envs.iter().copied())
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(data)
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(side.join("serve.log")).expect("log"))
        .spawn()
        .expect("spawn serve");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    stdout.read_line(&mut line).expect("read");
    let base = line
        .trim()
        .strip_prefix("listening on ")
        .unwrap_or_else(|| panic!("no listening line: {line:?}"))
        .to_owned();
    Server {
        child,
        base,
        _stdout: stdout,
    }
}

/// The files of a zip archive (stored or deflated), read through its central directory
/// (DOCX and XLSX are zip archives of XML parts).
pub fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]) as usize;
    let u32_at = |i: usize| {
        u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    let eocd = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(i) == 0x0605_4b50)
        .expect("zip: end of central directory");
    let (entries, mut at) = (u16_at(eocd + 10), u32_at(eocd + 16));
    let mut out = HashMap::new();
    for _ in 0..entries {
        assert_eq!(u32_at(at), 0x0201_4b50, "zip: central directory entry");
        let method = u16_at(at + 10);
        let (csize, size) = (u32_at(at + 20), u32_at(at + 24));
        let (name_len, extra_len, comment_len) =
            (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        let local = u32_at(at + 42);
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).expect("name");
        assert_eq!(u32_at(local), 0x0403_4b50, "zip: local header of {name}");
        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let raw = &bytes[data_at..data_at + csize];
        let data = match method {
            0 => raw.to_vec(),
            8 => {
                let mut v = Vec::new();
                flate2::read::DeflateDecoder::new(raw)
                    .read_to_end(&mut v)
                    .expect("inflate");
                v
            }
            m => panic!("zip: method {m} of {name}"),
        };
        assert_eq!(data.len(), size, "zip: size of {name}");
        out.insert(name, data);
        at += 46 + name_len + extra_len + comment_len;
    }
    out
}

/// Pushes weibo posts `ids` (text: `text` and the id, published 2026-11-22 09:00 Beijing)
/// to a running serve with `token`; the HTTP status, or `None` when the server did not
/// answer.
pub async fn push_posts(
    c: &reqwest::Client,
    base: &str,
    token: &str,
    ids: &[String],
    text: &str,
) -> Option<u16> {
    let body = ids
        .iter()
        .map(|id| {
            serde_json::json!({"id": id, "platform": "weibo", "kind": "post",
                               "published_at": "2026-11-22T09:00:00+08:00",
                               "text": format!("{text} {id}")})
            .to_string()
        })
        .collect::<Vec<_>>()
        .join("\n");
    let r = c
        .post(format!("{base}/api/v1/documents"))
        .bearer_auth(token)
        .body(body)
        .send()
        .await
        .ok()?;
    Some(r.status().as_u16())
}

/// Alert messages received by [`webhook`], as JSON, in arrival order.
pub type Got = std::sync::Arc<std::sync::Mutex<Vec<serde_json::Value>>>;

/// A webhook receiver on 127.0.0.1 (POST `/hook`): what it got, and its address.
pub async fn webhook() -> (Got, std::net::SocketAddr) {
    async fn receive(
        axum::extract::State(got): axum::extract::State<Got>,
        body: String,
    ) -> &'static str {
        got.lock()
            .expect("lock")
            .push(serde_json::from_str(&body).expect("json"));
        "ok"
    }
    let got: Got = Default::default();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    let app = axum::Router::new()
        .route("/hook", axum::routing::post(receive))
        .with_state(got.clone());
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (got, addr)
}

/// Stores five documents for the retention tests: three ingested in January 2025
/// (`old1`–`old3`, two of them about 水库) and two now (`new1` about 水库, `new2`).
pub async fn store_old_and_new<S: yuqing_store::Store>(store: &S) {
    use chrono::TimeZone;
    let long_ago = chrono::Utc
        .with_ymd_and_hms(2025, 1, 15, 8, 0, 0)
        .single()
        .expect("time");
    let doc = |id: &str, text: &str, at: chrono::DateTime<chrono::Utc>| {
        let mut n = yuqing_store::conformance::new_doc(id, text, 0);
        n.ingested_at = at;
        n
    };
    let now = chrono::Utc::now();
    store
        .insert(
            &[
                doc("old1", "某县水库放水通知", long_ago),
                doc("old2", "水库下游群众转移", long_ago),
                doc("old3", "县城供水恢复", long_ago),
                doc("new1", "水库开闸泄洪，下游注意安全", now),
                doc("new2", "今日天气晴", now),
            ],
            None,
        )
        .await
        .expect("insert");
}
