//! The distributed commands of issue 7: `yuqing collect` publishes documents to the NATS
//! JetStream bus (`yuqing-bus`) instead of storing them, and any number of `yuqing
//! process` consume the bus into one PostgreSQL database (`PgStore`).
//!
//! A processor prepares each fetched batch exactly as `import` and `serve` do
//! (`runner::prepare_batch`, then `Pipeline::ingest`), and acks the batch only after the
//! store committed it: one that dies before the ack leaves the batch to be delivered again
//! (after `ack_wait`), where the store skips what it already holds. Each processor keeps
//! its own tantivy index under `--data`, fed from the store in seq order
//! (`Pipeline::set_shared`), so it holds every processor's documents, not only its own.
//!
//! `yuqing collect` with no file runs the configured `[[sources]]`: each source is polled
//! by the one collector holding its lease (`source:<name>`, [`PgStore::try_lease`]); the
//! batch goes to the bus and only then is the source's checkpoint stored in PostgreSQL, so
//! a collector that dies (or a lease that moves) polls again from the last published
//! batch, and the repeats are dropped by the bus's message ids and the store's identities.

use crate::config::Config;
use crate::data::DataDir;
use crate::output::outln;
use anyhow::{Context, bail};
use serde_json::json;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};
use yuqing_bus::{Bus, ConsumerSettings, StreamSettings};
use yuqing_ingest::Report;
use yuqing_ingest::import::{Progress, spawn_readers};
use yuqing_ingest::runner::{JobResult, Preparer, Sink, prepare_batch, run_source};
use yuqing_search::SearchIndex;
use yuqing_store::{Checkpoint, DeadLetter, PgStore, Store};

/// Where the bus is, shared by `collect` and `process`.
#[derive(Debug, Clone, clap::Args)]
pub struct BusArgs {
    /// NATS server with JetStream.
    #[arg(long, env = "YUQING_NATS", default_value = "nats://127.0.0.1:4222")]
    pub nats: String,
    /// Puts the bus's streams and subjects under this namespace (tests, side-by-side
    /// deployments): letters, digits, `_` and `-`.
    #[arg(long, env = "YUQING_BUS_NAMESPACE", hide = true)]
    pub bus_namespace: Option<String>,
}

impl BusArgs {
    /// Connects and puts the streams in place with the limits of `[bus]`.
    async fn connect(&self, cfg: &Config) -> anyhow::Result<Bus> {
        let settings = cfg.bus.apply(match &self.bus_namespace {
            Some(ns) => StreamSettings::namespaced(ns),
            None => StreamSettings::default(),
        })?;
        let bus = Bus::connect_with(&self.nats, settings).await?;
        bus.ensure_stream().await?;
        Ok(bus)
    }
}

/// The PostgreSQL URL of `--database`, or why there is none.
pub fn postgres_url<'a>(database: Option<&'a str>, command: &str) -> anyhow::Result<&'a str> {
    match database {
        Some(u) if u.starts_with("postgres://") || u.starts_with("postgresql://") => Ok(u),
        Some(u) => bail!(
            "--database {u:?} 不是 PostgreSQL 地址（postgres://用户@主机:5432/库）；SQLite 数据库由 --data 指定 / \
             --database {u:?} is not a PostgreSQL URL (postgres://user@host:5432/db); the SQLite database is the one in --data"
        ),
        None => bail!(
            "yuqing {command} 需要 --database postgres://用户@主机:5432/库（或 YUQING_DATABASE）/ \
             yuqing {command} needs --database postgres://user@host:5432/db (or YUQING_DATABASE)"
        ),
    }
}

/// Opens a processor node's index for reading, with the shared PostgreSQL store
/// (`yuqing count --database …`).
pub async fn open_pg_reader(
    root: &Path,
    url: &str,
) -> anyhow::Result<(Arc<PgStore>, Arc<SearchIndex>)> {
    let dir = root.join("index");
    if !dir.exists() {
        bail!(
            "数据目录 {} 中没有索引：请检查 --data，或先在此目录运行 yuqing process / \
             no index in data directory {}: check --data, or run yuqing process there first",
            root.display(),
            root.display()
        );
    }
    let store = PgStore::connect(url).await?;
    let index = SearchIndex::open(&dir)?;
    Ok((Arc::new(store), Arc::new(index)))
}

/// A node writing to the shared PostgreSQL store (`process`, `serve --stateless`): the
/// store, and the pipeline in shared mode over the node's own index in `--data`, caught up
/// with the store by `Pipeline::open`.
pub struct SharedNode {
    /// The writer lock of `--data` (the index has one writer: this node), held while the
    /// node lives.
    pub lock: std::fs::File,
    pub store: Arc<PgStore>,
    pub index: Arc<SearchIndex>,
    pub pipeline: yuqing_ingest::Pipeline<PgStore>,
}

impl SharedNode {
    pub async fn open(
        root: &Path,
        cfg: &Config,
        database: Option<&str>,
        command: &str,
    ) -> anyhow::Result<SharedNode> {
        let url = postgres_url(database, command)?;
        let lock = DataDir::lock(root)?;
        let store = Arc::new(PgStore::connect(url).await?);
        let index = Arc::new(SearchIndex::open(&root.join("index"))?);
        let mut pipeline =
            crate::judgement::open_pipeline_over(store.clone(), index.clone(), cfg).await?;
        pipeline.set_shared(true);
        Ok(SharedNode {
            lock,
            store,
            index,
            pipeline,
        })
    }
}

/// `yuqing process`: consumes the bus into PostgreSQL until SIGTERM or Ctrl-C.
pub async fn process(
    root: &Path,
    cfg: &Config,
    database: Option<&str>,
    bus: &BusArgs,
    ack_wait: Duration,
) -> anyhow::Result<ExitCode> {
    let node = SharedNode::open(root, cfg, database, "process").await?;
    let bus = bus.connect(cfg).await?;
    let mut consumer = bus
        .consumer(ConsumerSettings {
            ack_wait,
            ..Default::default()
        })
        .await?;
    let SharedNode {
        lock: _lock,
        store,
        mut pipeline,
        ..
    } = node;
    let preparer = Preparer {
        max_text_bytes: pipeline.settings().max_text_bytes,
        judge: pipeline.judge().clone(),
    };
    let stop = Arc::new(AtomicBool::new(false));
    tokio::spawn(stop_on_signal(stop.clone()));
    // Alerts, deliveries and case deadlines: on the one node holding the lease.
    let leader = tokio::spawn(crate::handling_tasks::lead(
        store.clone(),
        cfg.clone(),
        pipeline.judge().clone(),
    )?);
    eprintln!(
        "yuqing process 已启动：总线 {}，索引 {} / yuqing process is running: bus {}, index in {}",
        bus.url(),
        root.display(),
        bus.url(),
        root.display()
    );
    let started = Instant::now();
    let mut total = Report::default();
    let mut batches = 0u64;
    // A batch fetched when the stop comes is still stored and acked.
    while !stop.load(Ordering::Relaxed) {
        let mut batch = consumer.next_batch().await?;
        for d in &batch.dead {
            tracing::warn!(subject = %d.subject, deliveries = d.deliveries, reason = %d.reason, "message sent to the dead letters");
        }
        let docs = std::mem::take(&mut batch.docs);
        if docs.is_empty() {
            batch.ack_all().await?;
            // Idle: index what the other processors stored, pick up changed plans.
            pipeline.follow_store().await?;
            pipeline.reload_plans_if_due().await?;
            pipeline.maybe_commit()?;
            continue;
        }
        // One ingest per run of documents from the same source (dead letters name it).
        let mut runs: Vec<(String, Vec<(yuqing_core::Document, String)>)> = Vec::new();
        for (doc, source) in docs {
            let loc = format!(
                "bus:{}:{}",
                doc.platform,
                doc.id.as_deref().or(doc.url.as_deref()).unwrap_or("")
            );
            match runs.last_mut() {
                Some((s, v)) if *s == source => v.push((doc, loc)),
                _ => runs.push((source, vec![(doc, loc)])),
            }
        }
        let mut failed = None;
        for (source, docs) in runs {
            let items = prepare_batch(docs, &preparer).await;
            match pipeline.ingest(items, None, &source).await {
                Ok((r, _)) => total.add(&r),
                Err(e) => {
                    failed = Some(e);
                    break;
                }
            }
        }
        if let Some(e) = failed {
            // Whatever was committed is skipped as a duplicate when it comes again.
            let _ = batch.nak_all().await;
            return Err(e).context("存储批次失败 / storing a batch failed");
        }
        batch.ack_all().await?;
        batches += 1;
        pipeline.maybe_commit()?;
    }
    eprintln!("正在停止… / stopping…");
    // Every handling step is a transaction; one cut short is retried after its lease.
    leader.abort();
    pipeline.finish()?;
    let secs = started.elapsed().as_secs_f64();
    outln!(
        "处理结束：批次 {batches}，读取 {}，存储 {}，重复 {}，拒绝 {}；{secs:.1} 秒\n\
         process stopped: batches {batches}, read {}, stored {}, duplicates {}, rejected {}; {secs:.1} s",
        total.read,
        total.stored,
        total.duplicates,
        total.rejected,
        total.read,
        total.stored,
        total.duplicates,
        total.rejected
    );
    Ok(ExitCode::SUCCESS)
}

/// Sets `stop` on SIGTERM or Ctrl-C.
async fn stop_on_signal(stop: Arc<AtomicBool>) {
    let ctrl_c = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut term) => tokio::select! { _ = ctrl_c => {}, _ = term.recv() => {} },
            Err(_) => {
                let _ = ctrl_c.await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = ctrl_c.await;
    }
    stop.store(true, Ordering::Relaxed);
}

/// `yuqing collect FILE…`: reads files as `import` does and publishes every valid
/// document to the bus. Invalid ones are reported here, not stored (there is no store).
pub async fn collect(
    cfg: &Config,
    paths: Vec<PathBuf>,
    format: yuqing_ingest::import::Format,
    bus: &BusArgs,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let bus = bus.connect(cfg).await?;
    let publisher = bus.publisher();
    let started = Instant::now();
    // The readers validate by preparing, with the configured judge, like import.
    let judge = Arc::new(yuqing_ingest::transforms::judge::Judge::new(
        cfg.judgement.clone(),
    )?);
    let rx = spawn_readers(paths, format, &cfg.ingest, Progress::default(), judge);
    let (mut read, mut published, mut on_bus, mut rejected) = (0u64, 0u64, 0u64, 0u64);
    let mut rejections: Vec<(String, String)> = Vec::new();
    while let Some(batch) = tokio::task::block_in_place(|| rx.recv().ok()) {
        let mut docs = Vec::with_capacity(batch.len());
        for item in batch {
            read += 1;
            match item {
                Ok(p) => docs.push(p.doc),
                Err(r) => {
                    rejected += 1;
                    if rejections.len() < 1000 {
                        rejections.push((r.location, r.reason));
                    }
                }
            }
        }
        for p in publisher.publish_batch(&docs, "import").await? {
            if p.duplicate {
                on_bus += 1;
            } else {
                published += 1;
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 { read as f64 / secs } else { 0.0 };
    let summary = format!(
        "采集完成：读取 {read} 条，发布 {published}，总线上已有 {on_bus}，拒绝 {rejected}；{secs:.1} 秒，{rate:.0} 条/秒\n\
         collect finished: read {read}, published {published}, already on the bus {on_bus}, rejected {rejected}; {secs:.1} s, {rate:.0} docs/s"
    );
    let shown = 20;
    let mut lines: Vec<String> = rejections
        .iter()
        .take(shown)
        .map(|(l, r)| format!("  {l}: {r}"))
        .collect();
    if rejected as usize > shown {
        let more = rejected as usize - shown;
        lines.push(format!("  …另有 {more} 条 / …and {more} more"));
    }
    if json {
        eprintln!("{summary}");
        for l in &lines {
            eprintln!("{l}");
        }
        let obj = json!({
            "read": read,
            "published": published,
            "already_on_bus": on_bus,
            "rejected": rejected,
            "rejections": rejections.iter().take(100).map(|(l, r)| json!({"location": l, "reason": r})).collect::<Vec<_>>(),
            "seconds": (secs * 1000.0).round() / 1000.0,
        });
        outln!("{obj}");
    } else {
        outln!("{summary}");
        for l in &lines {
            outln!("{l}");
        }
    }
    Ok(ExitCode::SUCCESS)
}

/// The bus as the sink of source polls in `yuqing collect`: valid documents are
/// published, rejected ones kept as dead letters in the store, then the checkpoint stored.
#[derive(Clone)]
struct BusSink {
    publisher: yuqing_bus::Publisher,
    store: Arc<PgStore>,
    preparer: Preparer,
}

impl Sink for BusSink {
    fn preparer(&self) -> Preparer {
        self.preparer.clone()
    }

    async fn submit(
        &self,
        source: &str,
        items: yuqing_ingest::import::Batch,
        checkpoint: Option<Checkpoint>,
    ) -> JobResult {
        let mut report = Report::default();
        let mut docs = Vec::with_capacity(items.len());
        let mut letters = Vec::new();
        for item in items {
            report.read += 1;
            match item {
                Ok(p) => docs.push(p.doc),
                Err(r) => {
                    report.rejected += 1;
                    letters.push(DeadLetter {
                        source: source.to_owned(),
                        location: r.location,
                        reason: r.reason,
                        payload: r.payload,
                    });
                }
            }
        }
        let published = self
            .publisher
            .publish_batch(&docs, source)
            .await
            .map_err(|e| e.to_string())?;
        for p in published {
            if p.duplicate {
                report.duplicates += 1;
            } else {
                report.stored += 1;
            }
        }
        if !letters.is_empty() {
            self.store
                .put_dead_letters(&letters)
                .await
                .map_err(|e| e.to_string())?;
        }
        if let Some(cp) = checkpoint {
            self.store
                .insert(&[], Some(&cp))
                .await
                .map_err(|e| e.to_string())?;
        }
        Ok((report, Vec::new()))
    }
}

/// How often a collector asks for the leases of the sources it does not poll, and checks
/// those it holds.
const SOURCE_LEASE_EVERY: Duration = Duration::from_secs(2);

/// `yuqing collect` with no file: polls every enabled `[[sources]]` whose lease this
/// collector holds, publishing to the bus, until SIGTERM or Ctrl-C.
pub async fn collect_sources(
    cfg: &Config,
    database: Option<&str>,
    bus: &BusArgs,
) -> anyhow::Result<ExitCode> {
    let url = postgres_url(
        database,
        "collect（无文件：运行配置的采集源 / no file: running the configured sources）",
    )?;
    let sources: Vec<_> = cfg.sources.iter().filter(|s| s.enabled).cloned().collect();
    if sources.is_empty() {
        bail!(
            "配置中没有启用的采集源（[[sources]]）：请在 --config 中添加，或给出要读取的文件 / \
             no enabled source in the config ([[sources]]): add some to --config, or give files to read"
        );
    }
    let store = Arc::new(PgStore::connect(url).await?);
    let bus = bus.connect(cfg).await?;
    let judge = Arc::new(yuqing_ingest::transforms::judge::Judge::new(
        cfg.judgement.clone(),
    )?);
    let sink = BusSink {
        publisher: bus.publisher(),
        store: store.clone(),
        preparer: Preparer {
            max_text_bytes: cfg.ingest.max_text_bytes,
            judge,
        },
    };
    let stop = Arc::new(AtomicBool::new(false));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    {
        let stop = stop.clone();
        tokio::spawn(async move {
            stop_on_signal(stop).await;
            let _ = stop_tx.send(true);
        });
    }
    eprintln!(
        "yuqing collect 已启动：{} 个采集源，总线 {} / yuqing collect is running: {} sources, bus {}",
        sources.len(),
        bus.url(),
        sources.len(),
        bus.url()
    );
    let tasks: Vec<_> = sources
        .into_iter()
        .map(|s| {
            tokio::spawn(poll_under_lease(
                s,
                store.clone(),
                sink.clone(),
                stop_rx.clone(),
            ))
        })
        .collect();
    for t in tasks {
        let _ = t.await;
    }
    eprintln!("采集已停止 / collect stopped");
    Ok(ExitCode::SUCCESS)
}

/// Polls `source` while this collector holds its lease; asks again when it does not.
async fn poll_under_lease(
    source: yuqing_ingest::sources::SourceConfig,
    store: Arc<PgStore>,
    sink: BusSink,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    let name = source.name().to_owned();
    let lease_name = format!("source:{name}");
    while !*stop.borrow() {
        match store.try_lease(&lease_name).await {
            Ok(Some(mut lease)) => {
                eprintln!("本节点采集 {name} / this collector polls {name}");
                let (tx, rx) = tokio::sync::watch::channel(false);
                let poller =
                    tokio::spawn(run_source(source.clone(), store.clone(), sink.clone(), rx));
                let stopping = loop {
                    tokio::select! {
                        _ = tokio::time::sleep(SOURCE_LEASE_EVERY) => {}
                        _ = stop.changed() => break true,
                    }
                    if !lease.held().await {
                        tracing::warn!(source = %name, "the source's lease was lost; another collector may poll it now");
                        break false;
                    }
                };
                // A poll under way finishes (its checkpoint follows its batch) before the
                // lease is given up.
                let _ = tx.send(true);
                let _ = poller.await;
                lease.release().await;
                if stopping {
                    return;
                }
            }
            Ok(None) => {}
            Err(e) => {
                tracing::warn!(source = %name, error = %e, "asking for the source's lease failed")
            }
        }
        tokio::select! {
            _ = tokio::time::sleep(SOURCE_LEASE_EVERY) => {}
            _ = stop.changed() => {}
        }
    }
}
