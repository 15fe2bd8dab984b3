//! `bus FILE N YUQING_BINARY`: the distributed path of issue 7 on this machine, against the
//! local PostgreSQL and NATS JetStream (`YUQING_TEST_POSTGRES`, `YUQING_TEST_NATS`, as the
//! test suites). For 1 and then 2 `yuqing process` nodes, each on a fresh database and bus
//! namespace: the first N documents of FILE are published by `yuqing collect` (publish
//! rate), then the processors are started and the time until the store holds all of them
//! gives documents/s through the bus (from the processors' start, and from the first stored
//! document, which leaves their start-up out); then, with the processors idle, 20 probe
//! documents are published one at a time and the latency to stored (visible in
//! PostgreSQL) and to searchable (found in the first processor's tantivy index) is
//! measured. Prints one JSON object.

use anyhow::{Context, bail};
use std::io::{BufRead, Write};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use yuqing_bus::{Bus, StreamSettings};
use yuqing_store::{PgStore, Store};

fn admin_url() -> String {
    std::env::var("YUQING_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into())
}

fn nats_url() -> String {
    std::env::var("YUQING_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

fn psql(sql: &str) -> anyhow::Result<()> {
    let out = Command::new("psql")
        .args([
            "-X",
            "-q",
            "-v",
            "ON_ERROR_STOP=1",
            "-d",
            &admin_url(),
            "-c",
            sql,
        ])
        .output()
        .context("running psql (PostgreSQL's client) to create the benchmark's database")?;
    if !out.status.success() {
        bail!("psql {sql}: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(())
}

/// Processors killed when dropped (a failed run leaves none behind).
struct Nodes(Vec<Child>);

impl Drop for Nodes {
    fn drop(&mut self) {
        for c in &mut self.0 {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

fn pct(v: &mut [f64], p: f64) -> f64 {
    v.sort_by(f64::total_cmp);
    v[((v.len() as f64 * p).ceil() as usize)
        .saturating_sub(1)
        .min(v.len() - 1)]
}

pub fn bus(file: &str, n: usize, bin: &str) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(run(file, n, bin))
}

async fn run(file: &str, n: usize, bin: &str) -> anyhow::Result<()> {
    let pid = std::process::id();
    let tmp = std::env::temp_dir().join(format!("yuqing-bench-bus-{pid}"));
    std::fs::create_dir_all(&tmp)?;
    let slice = tmp.join("slice.jsonl");
    {
        let r = std::io::BufReader::with_capacity(
            1 << 20,
            flate2::read::MultiGzDecoder::new(std::fs::File::open(file)?),
        );
        let mut w = std::io::BufWriter::new(std::fs::File::create(&slice)?);
        for line in r.lines().take(n) {
            writeln!(w, "{}", line?)?;
        }
    }
    let mut runs = Vec::new();
    for k in [1usize, 2] {
        runs.push(one(&tmp, &slice, k, bin).await?);
    }
    let _ = std::fs::remove_dir_all(&tmp);
    println!(
        "{}",
        serde_json::json!({"documents": n, "cores": std::thread::available_parallelism().map(|c| c.get()).unwrap_or(1), "runs": runs})
    );
    Ok(())
}

async fn one(tmp: &Path, slice: &Path, k: usize, bin: &str) -> anyhow::Result<serde_json::Value> {
    let pid = std::process::id();
    let name = format!("yuqing_bench_bus_{pid}_{k}");
    psql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
    psql(&format!(
        "CREATE DATABASE \"{name}\" TEMPLATE template0 ENCODING 'UTF8' LC_COLLATE 'C' LC_CTYPE 'C'"
    ))?;
    let admin = admin_url();
    let (base, _) = admin.rsplit_once('/').context("a postgres:// URL")?;
    let db = format!("{base}/{name}");
    let ns = format!("bench-bus-{pid}-{k}");
    let bus = Bus::connect_with(&nats_url(), StreamSettings::namespaced(&ns)).await?;
    bus.delete_streams().await?;
    // The schema first (the processors would race to create it).
    let store = PgStore::connect(&db).await?;

    let t = Instant::now();
    let out = Command::new(bin)
        .args([
            "collect",
            "--json",
            "--nats",
            &nats_url(),
            "--bus-namespace",
            &ns,
        ])
        .arg(slice)
        .stderr(Stdio::inherit())
        .output()?;
    if !out.status.success() {
        bail!("yuqing collect failed");
    }
    let publish_secs = t.elapsed().as_secs_f64();
    let summary: serde_json::Value = serde_json::from_str(
        String::from_utf8_lossy(&out.stdout)
            .lines()
            .last()
            .context("collect printed nothing")?,
    )?;
    let published = summary["published"].as_i64().context("published")?;

    let t0 = Instant::now();
    let mut nodes = Nodes(Vec::new());
    for i in 0..k {
        let data = tmp.join(format!("{k}-{i}"));
        std::fs::create_dir_all(&data)?;
        nodes.0.push(
            Command::new(bin)
                .env_remove("YUQING_CONFIG")
                .args(["process", "--database", &db, "--nats", &nats_url()])
                .args(["--bus-namespace", &ns, "--data"])
                .arg(&data)
                .stdout(Stdio::null())
                .stderr(std::fs::File::create(data.with_extension("log"))?)
                .spawn()?,
        );
    }
    let mut first: Option<(Instant, i64)> = None;
    loop {
        let c = store.count().await?;
        if c > 0 && first.is_none() {
            first = Some((Instant::now(), c));
        }
        if c >= published {
            break;
        }
        for node in &mut nodes.0 {
            if let Some(s) = node.try_wait()? {
                bail!("a processor exited ({s}) with {c} of {published} stored");
            }
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let done = Instant::now();
    let (first_at, first_count) = first.context("nothing stored")?;
    let total_secs = (done - t0).as_secs_f64();
    let steady_secs = (done - first_at).as_secs_f64().max(1e-3);

    // Latency of single documents, the processors idle.
    let index = yuqing_search::SearchIndex::open(&tmp.join(format!("{k}-0")).join("index"))?;
    let publisher = bus.publisher();
    let (mut stored_ms, mut searchable_ms) = (Vec::new(), Vec::new());
    for i in 0..20 {
        let word = format!("延迟探针{k}批{i}号");
        let doc: yuqing_core::Document = serde_json::from_value(serde_json::json!({
            "id": format!("probe-{pid}-{k}-{i}"), "platform": "weibo", "kind": "post",
            "published_at": chrono::Utc::now().to_rfc3339(),
            "text": format!("{word}：分布式处理延迟测量。"),
        }))?;
        let before = store.count().await?;
        let t = Instant::now();
        publisher.publish_batch(&[doc], "bench").await?;
        let deadline = t + Duration::from_secs(60);
        while store.count().await? <= before {
            if Instant::now() > deadline {
                bail!("probe {i} not stored after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
        stored_ms.push(t.elapsed().as_secs_f64() * 1000.0);
        let req = yuqing_search::SearchRequest {
            query: word.clone(),
            limit: 1,
            ..Default::default()
        };
        loop {
            index.reload()?;
            if index.count(&req)?.0 > 0 {
                break;
            }
            if Instant::now() > deadline {
                bail!("probe {i} not searchable after 60 s");
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        searchable_ms.push(t.elapsed().as_secs_f64() * 1000.0);
    }
    for node in &nodes.0 {
        let _ = Command::new("kill")
            .args(["-TERM", &node.id().to_string()])
            .status();
    }
    for node in &mut nodes.0 {
        let _ = node.wait();
    }
    nodes.0.clear();
    drop(store);
    bus.delete_streams().await?;
    psql(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))?;
    Ok(serde_json::json!({
        "processors": k,
        "published": published,
        "publish_seconds": round(publish_secs),
        "publish_docs_per_second": (published as f64 / publish_secs).round(),
        "store_seconds_from_start": round(total_secs),
        "docs_per_second_from_start": (published as f64 / total_secs).round(),
        "docs_per_second_after_first": ((published - first_count) as f64 / steady_secs).round(),
        "probe_stored_ms": {"p50": round(pct(&mut stored_ms, 0.5)), "p95": round(pct(&mut stored_ms, 0.95)), "max": round(pct(&mut stored_ms, 1.0))},
        "probe_searchable_ms": {"p50": round(pct(&mut searchable_ms, 0.5)), "p95": round(pct(&mut searchable_ms, 0.95)), "max": round(pct(&mut searchable_ms, 1.0))},
    }))
}

fn round(x: f64) -> f64 {
    (x * 10.0).round() / 10.0
}
