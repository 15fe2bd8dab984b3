//! Helpers shared by the binary's end-to-end tests: the binary, the shared CED data and
//! running commands.
#![allow(dead_code)]

use flate2::read::GzDecoder;
use std::collections::HashSet;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

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
