//! `web DATA_DIR YUQING_BINARY`: web latency under load. Starts `yuqing serve` on an
//! imported data directory (the whole CED file in `bench/run`) and has 50 concurrent
//! clients, each with its own keep-alive connection, call the dashboard's API (a week of
//! the data's newest period) and search (frequent words) for 20 s. Prints the p50/p95/max
//! latency of each as JSON (time to the whole response, on loopback).

use anyhow::Context;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpStream;
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const USERS: usize = 50;
const RUN: Duration = Duration::from_secs(20);
const WORDS: &[&str] = &[
    "中国", "医院", "北京", "学校", "政府", "美国", "警察", "手机", "孩子", "网友",
];

/// One GET on a keep-alive connection; returns the status.
fn get(s: &mut BufReader<TcpStream>, host: &str, path: &str) -> anyhow::Result<u16> {
    write!(
        s.get_mut(),
        "GET {path} HTTP/1.1\r\nhost: {host}\r\nauthorization: Bearer bench\r\n\r\n"
    )?;
    let mut line = String::new();
    s.read_line(&mut line)?;
    let status: u16 = line.split_whitespace().nth(1).unwrap_or("0").parse()?;
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        line.clear();
        s.read_line(&mut line)?;
        let l = line.trim_end();
        if l.is_empty() {
            break;
        }
        let lower = l.to_ascii_lowercase();
        if let Some(v) = lower.strip_prefix("content-length:") {
            len = v.trim().parse()?;
        }
        if lower.starts_with("transfer-encoding:") && lower.contains("chunked") {
            chunked = true;
        }
    }
    if chunked {
        loop {
            line.clear();
            s.read_line(&mut line)?;
            let n = usize::from_str_radix(line.trim(), 16)?;
            let mut buf = vec![0; n + 2];
            s.read_exact(&mut buf)?;
            if n == 0 {
                break;
            }
        }
    } else {
        let mut buf = vec![0; len];
        s.read_exact(&mut buf)?;
    }
    Ok(status)
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v.get(((v.len() as f64 * p).ceil() as usize).saturating_sub(1))
        .copied()
        .unwrap_or(f64::NAN)
}

pub fn web(data: &str, binary: &str) -> anyhow::Result<()> {
    let dir = std::env::temp_dir().join(format!("yuqing-bench-web-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let config = dir.join("yuqing.toml");
    std::fs::write(
        &config,
        "[server]\nbind = \"127.0.0.1:0\"\npush_tokens = [\"bench\"]\n[alerts]\nenabled = false\n",
    )?;
    let mut child = Command::new(binary)
        .args(["serve", "--data", data, "--config"])
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {binary}"))?;
    let mut out = BufReader::new(child.stdout.take().context("stdout")?);
    let mut line = String::new();
    let addr = loop {
        line.clear();
        anyhow::ensure!(
            out.read_line(&mut line)? > 0,
            "serve exited before listening"
        );
        if let Some(a) = line.trim().strip_prefix("listening on http://") {
            break a.to_owned();
        }
    };
    let result = run(&addr);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn run(addr: &str) -> anyhow::Result<()> {
    // The data's newest week: the dashboard's `at`.
    let mut c = BufReader::new(TcpStream::connect(addr)?);
    write!(
        c.get_mut(),
        "GET /api/v1/dashboard?range=week HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer bench\r\nconnection: close\r\n\r\n"
    )?;
    let mut body = String::new();
    c.read_to_string(&mut body)?;
    let json = body.split_once("\r\n\r\n").map_or("", |(_, b)| b);
    let at = serde_json::from_str::<serde_json::Value>(json.trim())
        .ok()
        .and_then(|v| v["latest_published_at"].as_str().map(str::to_owned))
        .context("latest_published_at from the dashboard")?;
    let at = at.replace('+', "%2B");
    let dash: Arc<Mutex<Vec<f64>>> = Arc::default();
    let search: Arc<Mutex<Vec<f64>>> = Arc::default();
    let errors = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let start = Instant::now();
    let threads: Vec<_> = (0..USERS)
        .map(|u| {
            let (dash, search, errors, addr, at) = (
                dash.clone(),
                search.clone(),
                errors.clone(),
                addr.to_owned(),
                at.clone(),
            );
            std::thread::spawn(move || -> anyhow::Result<()> {
                let mut s = BufReader::new(TcpStream::connect(&addr)?);
                let mut k = u;
                while start.elapsed() < RUN {
                    k += 1;
                    // A user looks at the dashboard, then searches three times.
                    let (path, sink) = if k % 4 == 0 {
                        (format!("/api/v1/dashboard?range=week&at={at}"), &dash)
                    } else {
                        let w = WORDS[k % WORDS.len()];
                        let q: String = w.bytes().map(|b| format!("%{b:02X}")).collect();
                        (format!("/api/v1/search?q={q}&limit=20"), &search)
                    };
                    let t = Instant::now();
                    let st = get(&mut s, &addr, &path)?;
                    let ms = t.elapsed().as_secs_f64() * 1000.0;
                    if st == 200 {
                        sink.lock().expect("lock").push(ms);
                    } else {
                        errors.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    }
                }
                Ok(())
            })
        })
        .collect();
    for t in threads {
        t.join().map_err(|_| anyhow::anyhow!("client panicked"))??;
    }
    let mut d = dash.lock().expect("lock").clone();
    let mut s = search.lock().expect("lock").clone();
    println!(
        "{}",
        serde_json::json!({
            "users": USERS,
            "seconds": RUN.as_secs(),
            "errors": errors.load(std::sync::atomic::Ordering::Relaxed),
            "dashboard": {"requests": d.len(), "p50_ms": pct(&mut d, 0.5).round(), "p95_ms": pct(&mut d, 0.95).round(), "max_ms": pct(&mut d, 1.0).round()},
            "search": {"requests": s.len(), "p50_ms": pct(&mut s, 0.5).round(), "p95_ms": pct(&mut s, 0.95).round(), "max_ms": pct(&mut s, 1.0).round()},
        })
    );
    Ok(())
}
