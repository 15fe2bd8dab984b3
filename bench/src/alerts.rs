//! `alerts FILE YUQING_BINARY`: alert latency under load. Starts `yuqing serve` on a fresh
//! data directory with one plan, one alert rule and a webhook channel pointing at a
//! receiver in this process; pushes the CED documents of FILE through
//! `POST /api/v1/documents` at 1,000 per second (batches of 100 every 100 ms) and, beside
//! them, one probe document matching the plan every 250 ms. Latency is from the start of
//! the probe's POST to the webhook's arrival. Prints p50/p95/p99/max as JSON.

use anyhow::Context;
use std::collections::HashMap;
use std::io::{BufRead, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::process::{Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const PROBES: usize = 200;
const PROBE_EVERY: Duration = Duration::from_millis(250);
const LOAD_BATCH: usize = 100;
const LOAD_EVERY: Duration = Duration::from_millis(100);

type Arrivals = Arc<Mutex<HashMap<String, Instant>>>;

/// A tiny HTTP/1.1 receiver: records when each probe's alert arrives (by the probe tag
/// in the body) and answers 200.
fn receiver(arrivals: Arrivals) -> anyhow::Result<SocketAddr> {
    let l = TcpListener::bind("127.0.0.1:0")?;
    let addr = l.local_addr()?;
    std::thread::spawn(move || {
        for s in l.incoming().flatten() {
            let arrivals = arrivals.clone();
            std::thread::spawn(move || {
                let _ = handle(s, &arrivals);
            });
        }
    });
    Ok(addr)
}

fn handle(mut s: TcpStream, arrivals: &Arrivals) -> anyhow::Result<()> {
    let mut r = std::io::BufReader::new(s.try_clone()?);
    loop {
        let mut len = 0usize;
        let mut line = String::new();
        if r.read_line(&mut line)? == 0 {
            return Ok(());
        }
        loop {
            line.clear();
            r.read_line(&mut line)?;
            let l = line.trim_end();
            if l.is_empty() {
                break;
            }
            if let Some((k, v)) = l.split_once(':')
                && k.eq_ignore_ascii_case("content-length")
            {
                len = v.trim().parse()?;
            }
        }
        let mut body = vec![0; len];
        r.read_exact(&mut body)?;
        let now = Instant::now();
        let text = String::from_utf8_lossy(&body);
        if let Some(p) = text.find("PROBE") {
            let tag: String = text[p..]
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric())
                .collect();
            arrivals.lock().expect("lock").entry(tag).or_insert(now);
        }
        s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\n\r\nok")?;
    }
}

fn post(addr: &str, body: &str) -> anyhow::Result<u16> {
    let mut s = TcpStream::connect(addr)?;
    write!(
        s,
        "POST /api/v1/documents HTTP/1.1\r\nhost: {addr}\r\nauthorization: Bearer bench\r\ncontent-type: application/x-ndjson\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    )?;
    let mut resp = String::new();
    s.read_to_string(&mut resp)?;
    Ok(resp
        .split_whitespace()
        .nth(1)
        .and_then(|c| c.parse().ok())
        .unwrap_or(0))
}

pub fn alerts(file: &str, binary: &str) -> anyhow::Result<()> {
    let arrivals: Arrivals = Arc::default();
    let hook = receiver(arrivals.clone())?;
    let dir = tempfile_dir()?;
    let config = dir.join("yuqing.toml");
    std::fs::write(
        &config,
        format!(
            r#"
[server]
bind = "127.0.0.1:0"
push_tokens = ["bench"]

[alerts]
default_rules = false

[[plans]]
name = "探针"
expression = "探针"

[[alert_rules]]
name = "probe"
plans = ["探针"]

[[channels]]
type = "webhook"
name = "hook"
url = "http://{hook}/hook"
"#
        ),
    )?;
    let mut child = Command::new(binary)
        .args(["serve", "--data"])
        .arg(dir.join("d"))
        .arg("--config")
        .arg(&config)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .with_context(|| format!("cannot start {binary}"))?;
    let mut out = std::io::BufReader::new(child.stdout.take().context("stdout")?);
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
    let result = run(file, &addr, &arrivals);
    let _ = child.kill();
    let _ = child.wait();
    let _ = std::fs::remove_dir_all(&dir);
    result
}

fn tempfile_dir() -> anyhow::Result<std::path::PathBuf> {
    let d = std::env::temp_dir().join(format!("yuqing-bench-alerts-{}", std::process::id()));
    std::fs::create_dir_all(&d)?;
    Ok(d)
}

fn run(file: &str, addr: &str, arrivals: &Arrivals) -> anyhow::Result<()> {
    // Background load: the CED documents, 1,000 per second.
    let lines: Vec<String> = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(file)?,
    ))
    .lines()
    // Enough for the whole run at the load rate, with a margin.
    .take(
        PROBES * (PROBE_EVERY.as_millis() / LOAD_EVERY.as_millis()) as usize * LOAD_BATCH + 20_000,
    )
    .collect::<Result<_, _>>()?;
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let loaded = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let load = {
        let (stop, loaded, addr) = (stop.clone(), loaded.clone(), addr.to_owned());
        std::thread::spawn(move || -> anyhow::Result<()> {
            let start = Instant::now();
            for (k, chunk) in lines.chunks(LOAD_BATCH).enumerate() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let due = start + LOAD_EVERY * k as u32;
                if let Some(w) = due.checked_duration_since(Instant::now()) {
                    std::thread::sleep(w);
                }
                let code = post(&addr, &chunk.join("\n"))?;
                anyhow::ensure!(code == 200, "load push answered {code}");
                loaded.fetch_add(chunk.len(), std::sync::atomic::Ordering::SeqCst);
            }
            Ok(())
        })
    };
    let started = Instant::now();
    let mut sent = Vec::with_capacity(PROBES);
    for k in 0..PROBES {
        let due = started + PROBE_EVERY * k as u32;
        if let Some(w) = due.checked_duration_since(Instant::now()) {
            std::thread::sleep(w);
        }
        let tag = format!("PROBE{k}");
        let doc = serde_json::json!({
            "id": format!("probe-{k}"),
            "platform": "bench",
            "kind": "post",
            "text": format!("探针 {tag}"),
            "published_at": chrono_now(),
        });
        let t = Instant::now();
        let code = post(addr, &doc.to_string())?;
        anyhow::ensure!(code == 200, "probe push answered {code}");
        sent.push((tag, t));
    }
    let wall = started.elapsed().as_secs_f64();
    std::thread::sleep(Duration::from_secs(3));
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    load.join()
        .map_err(|_| anyhow::anyhow!("load thread panicked"))??;
    let got = arrivals.lock().expect("lock").clone();
    let mut ms: Vec<f64> = Vec::new();
    let mut missing = 0;
    for (tag, t) in &sent {
        match got.get(tag) {
            Some(a) => ms.push(a.duration_since(*t).as_secs_f64() * 1000.0),
            None => missing += 1,
        }
    }
    ms.sort_by(f64::total_cmp);
    let q = |p: f64| {
        ms.get(((ms.len() as f64 * p).ceil() as usize).saturating_sub(1))
            .copied()
            .unwrap_or(f64::NAN)
    };
    let load_rate = loaded.load(std::sync::atomic::Ordering::SeqCst) as f64 / wall;
    println!(
        "{}",
        serde_json::json!({
            "probes": sent.len(),
            "delivered": ms.len(),
            "missing": missing,
            "p50_ms": q(0.5).round(),
            "p95_ms": q(0.95).round(),
            "p99_ms": q(0.99).round(),
            "max_ms": ms.last().copied().unwrap_or(f64::NAN).round(),
            "background_docs_per_second": load_rate.round(),
        })
    );
    Ok(())
}

fn chrono_now() -> String {
    chrono::Utc::now().to_rfc3339()
}
