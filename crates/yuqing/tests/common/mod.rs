//! Helpers shared by the binary's end-to-end tests: the binary, the shared CED data and
//! running commands.
#![allow(dead_code)]

use flate2::read::GzDecoder;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
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
    let cfg = dir.join("yuqing.toml");
    std::fs::write(&cfg, config).expect("config");
    let mut child = Command::new(env!("CARGO_BIN_EXE_yuqing"))
        .args(["serve", "--bind", "127.0.0.1:0", "--data"])
        .arg(dir.join("data"))
        .arg("--config")
        .arg(&cfg)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(dir.join("serve.log")).expect("log"))
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
