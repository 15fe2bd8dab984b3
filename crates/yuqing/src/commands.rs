//! The commands: each opens what it needs, runs, and prints for people or for scripts.

use crate::config::{Config, EXAMPLE};
use crate::data::DataDir;
use crate::output::{out, outln};
use crate::{Cli, Command};
use anyhow::{Context, bail};
use chrono::{DateTime, Utc};
use indicatif::{ProgressBar, ProgressStyle};
use serde_json::json;
use std::io::Write;
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::Instant;
use yuqing_ingest::import::{Progress, spawn_readers};
use yuqing_ingest::query;
use yuqing_search::{SearchRequest, Sort};
use yuqing_store::Store;

/// Filters shared by `search` and `count`.
#[derive(Debug, Clone, clap::Args)]
pub struct Filters {
    /// Only this platform (repeatable).
    #[arg(long)]
    pub platform: Vec<String>,
    /// Only this kind: post, repost, comment, article, … (repeatable).
    #[arg(long)]
    pub kind: Vec<String>,
    /// Published at or after (RFC 3339, `YYYY-MM-DD` or `YYYY-MM-DD HH:MM:SS`, Beijing time).
    #[arg(long)]
    pub since: Option<String>,
    /// Published before.
    #[arg(long)]
    pub until: Option<String>,
    /// Only verified (true) or unverified (false) authors.
    #[arg(long)]
    pub verified: Option<bool>,
}

pub fn parse_time(s: &str) -> anyhow::Result<i64> {
    yuqing_core::document::parse_time_str(s, yuqing_core::document::beijing())
        .map(|t| t.timestamp_millis())
        .map_err(|e| anyhow::anyhow!(e))
}

impl Filters {
    fn request(&self, query: &str) -> anyhow::Result<SearchRequest> {
        let mut r = SearchRequest {
            query: query.to_owned(),
            platforms: self.platform.clone(),
            kinds: self.kind.clone(),
            since_ms: self
                .since
                .as_deref()
                .map(parse_time)
                .transpose()
                .context("--since")?,
            until_ms: self
                .until
                .as_deref()
                .map(parse_time)
                .transpose()
                .context("--until")?,
            verified: self.verified,
            ..Default::default()
        };
        query::normalize_request(&mut r);
        Ok(r)
    }
}

pub async fn run(cli: Cli) -> anyhow::Result<ExitCode> {
    let cfg = Config::load(cli.config.as_deref())?;
    yuqing_text::set_fold_traditional(cfg.text.fold_traditional);
    if cli.database.is_some()
        && !matches!(
            cli.command,
            Command::Process { .. }
                | Command::Count { .. }
                | Command::Search { .. }
                | Command::Serve {
                    stateless: true,
                    ..
                }
                | Command::Collect { .. }
                | Command::DefaultConfig
        )
    {
        bail!(
            "--database（PostgreSQL）目前只用于 yuqing process、collect、serve --stateless、search 与 count；其余命令使用 --data 中的 SQLite 数据库 / \
             --database (PostgreSQL) is used only by yuqing process, collect, serve --stateless, search and count for now; the other commands use the SQLite database in --data"
        );
    }
    match cli.command {
        Command::DefaultConfig => {
            out!("{EXAMPLE}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Import {
            paths,
            format,
            json,
        } => import(&cli.data, &cfg, paths, format, json).await,
        Command::Search {
            query,
            filters,
            limit,
            offset,
            sort,
            json,
        } => {
            let mut req = filters.request(&query)?;
            req.limit = limit.max(1);
            req.offset = offset;
            req.sort = match sort.as_str() {
                "relevance" => Sort::Relevance,
                "time" => Sort::Time,
                "time_asc" => Sort::TimeAsc,
                other => bail!(
                    "--sort {other:?} 无效，可选 relevance|time|time_asc / invalid --sort {other:?}: use relevance, time or time_asc"
                ),
            };
            let page = match cli.database.as_deref() {
                Some(db) => {
                    let url = crate::distributed::postgres_url(Some(db), "search")?;
                    let (store, index) = crate::distributed::open_pg_reader(&cli.data, url).await?;
                    query::search(&store, &index, &req).await?
                }
                None => {
                    let dir = open_reader(&cli.data, &cfg).await?;
                    query::search(&dir.store, &dir.index, &req).await?
                }
            };
            let mut out = std::io::stdout().lock();
            if json {
                for h in &page.hits {
                    let line = json!({
                        "id": h.doc.doc.id.clone().unwrap_or_else(|| h.doc.doc.url.clone().unwrap_or_default()),
                        "platform": h.doc.doc.platform,
                        "kind": h.doc.doc.kind.as_str(),
                        "published_at": h.doc.doc.published_at.map(|t| t.to_rfc3339()),
                        "text": h.doc.doc.text,
                        "title": h.doc.doc.title,
                        "url": h.doc.doc.url,
                        "score": h.score,
                        "snippet": h.snippet.text,
                        "highlights": h.snippet.highlights,
                        "seq": h.doc.seq,
                        "group_id": h.doc.group_id,
                    });
                    writeln!(out, "{line}")?;
                }
            } else {
                writeln!(out, "共 {} 条 / {} hits", page.total, page.total)?;
                for h in &page.hits {
                    let t = h
                        .doc
                        .doc
                        .published_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_else(|| "-".into());
                    let id = h.doc.doc.id.as_deref().unwrap_or("");
                    writeln!(
                        out,
                        "{t}  {}:{id}  {}",
                        h.doc.doc.platform,
                        h.snippet
                            .render("【", "】", |s| s.replace(['\n', '\r'], " "))
                    )?;
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Collect { paths, bus, .. } if paths.is_empty() => {
            crate::distributed::collect_sources(&cfg, cli.database.as_deref(), &bus).await
        }
        Command::Collect {
            paths,
            format,
            bus,
            json,
        } => crate::distributed::collect(&cfg, paths, format, &bus, json).await,
        Command::Process { bus, ack_wait } => {
            crate::distributed::process(
                &cli.data,
                &cfg,
                cli.database.as_deref(),
                &bus,
                std::time::Duration::from_secs(ack_wait.max(1)),
            )
            .await
        }
        Command::Count { query, filters } if cli.database.is_some() => {
            let url = crate::distributed::postgres_url(cli.database.as_deref(), "count")?;
            let (store, index) = crate::distributed::open_pg_reader(&cli.data, url).await?;
            let req = filters.request(&query)?;
            let n = query::count(store.as_ref(), &index, &req).await?;
            outln!("{n}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Count { query, filters } => {
            let dir = open_reader(&cli.data, &cfg).await?;
            let req = filters.request(&query)?;
            let n = query::count(dir.store.as_ref(), &dir.index, &req).await?;
            outln!("{n}");
            Ok(ExitCode::SUCCESS)
        }
        Command::Export { output } => {
            let dir = DataDir::open_existing(&cli.data).await?;
            let mut out: Box<dyn Write> = match &output {
                Some(p) => Box::new(std::io::BufWriter::new(
                    std::fs::File::create(p).with_context(|| {
                        format!("无法创建 {} / cannot create {}", p.display(), p.display())
                    })?,
                )),
                None => Box::new(std::io::BufWriter::new(std::io::stdout().lock())),
            };
            let mut after = 0;
            let mut n = 0u64;
            loop {
                let docs = dir.store.scan(after, 5000).await?;
                let Some(last) = docs.last() else { break };
                after = last.seq;
                for d in &docs {
                    serde_json::to_writer(&mut out, &d.doc)?;
                    out.write_all(b"\n")?;
                    n += 1;
                }
            }
            out.flush()?;
            eprintln!("导出 {n} 条 / exported {n} documents");
            Ok(ExitCode::SUCCESS)
        }
        Command::Sources {
            json,
            check: true,
            names,
        } => check_sources(&cfg, &names, json).await,
        Command::Sources { names, .. } if !names.is_empty() => anyhow::bail!(
            "只有 --check 才能指定源名：yuqing sources --check {} / source names need --check: yuqing sources --check {}",
            names.join(" "),
            names.join(" ")
        ),
        Command::Sources { json, .. } => {
            let dir = DataDir::open_existing(&cli.data).await?;
            let health = dir.store.source_health().await?;
            let now = Utc::now();
            let configured: Vec<&str> = cfg.sources.iter().map(|s| s.name()).collect();
            if json {
                for h in &health {
                    outln!(
                        "{}",
                        json!({"health": h, "lag_seconds": h.lag_seconds(now)})
                    );
                }
                return Ok(ExitCode::SUCCESS);
            }
            outln!(
                "{:<24} {:>6} {:>8} {:>8} {:>6} {:<20} 最近错误 / last error",
                "数据源 / source",
                "状态",
                "文档",
                "时/h",
                "连败",
                "最近成功 / success"
            );
            let fmt = |t: Option<DateTime<Utc>>| {
                t.map(|t| {
                    t.with_timezone(&yuqing_core::document::beijing())
                        .format("%m-%d %H:%M:%S")
                        .to_string()
                })
                .unwrap_or_else(|| "-".into())
            };
            for h in &health {
                let state = if h.consecutive_failures == 0 {
                    "正常"
                } else if h.consecutive_failures < 3 {
                    "异常"
                } else {
                    "故障"
                };
                outln!(
                    "{:<24} {:>6} {:>8} {:>8} {:>6} {:<20} {}",
                    h.name,
                    state,
                    h.documents,
                    h.documents_last_hour,
                    h.consecutive_failures,
                    fmt(h.last_success_at),
                    h.last_error
                        .as_deref()
                        .unwrap_or("")
                        .chars()
                        .take(80)
                        .collect::<String>()
                );
            }
            for name in configured {
                if !health.iter().any(|h| h.name == name) {
                    outln!("{name:<24} {:>6} (尚未运行 / not polled yet)", "-");
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::DeadLetters { limit, json } => {
            let dir = DataDir::open_existing(&cli.data).await?;
            for l in dir.store.dead_letters(limit).await? {
                if json {
                    outln!("{}", serde_json::to_string(&l)?);
                } else {
                    outln!(
                        "{}  {}  {}  {}",
                        l.at.format("%Y-%m-%d %H:%M:%S"),
                        l.letter.source,
                        l.letter.location,
                        l.letter.reason
                    );
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        Command::Reindex => {
            // A fresh index: opening the pipeline catches it up from the whole store.
            let dir = DataDir::open_writer_fresh_index(&cli.data).await?;
            let started = Instant::now();
            let p = crate::judgement::open_pipeline(&dir, &cfg).await?;
            p.finish()?;
            let n = dir.index.num_docs();
            let secs = started.elapsed().as_secs_f64();
            eprintln!("已重建索引：{n} 条，{secs:.1} 秒 / reindexed {n} documents in {secs:.1} s");
            Ok(ExitCode::SUCCESS)
        }
        Command::Sentiment { binary, model } => sentiment(binary, model.as_deref()),
        Command::Train {
            what:
                crate::TrainCommand::Sentiment {
                    data_dir,
                    output,
                    with_corrections,
                },
        } => {
            use yuqing_text::sentiment::{TrainOptions, train_from_dir};
            let started = Instant::now();
            let opts = TrainOptions {
                verbose: true,
                ..Default::default()
            };
            let (model, reports) = if with_corrections {
                let dir = DataDir::open_existing(&cli.data).await?;
                let rows = crate::judgement::correction_rows(dir.store.as_ref()).await?;
                eprintln!(
                    "人工更正 {} 条（正面/负面）加入训练 / {} corrected texts (positive/negative) added to training",
                    rows.len(),
                    rows.len()
                );
                tokio::task::block_in_place(|| {
                    crate::judgement::train_with(&data_dir, &opts, rows)
                })?
            } else {
                tokio::task::block_in_place(|| train_from_dir(&data_dir, &opts))?
            };
            model.save(&output)?;
            for r in &reports {
                outln!(
                    "{:<32} dev {:>6}  accuracy {:.4}",
                    r.name,
                    r.dev_rows,
                    r.accuracy
                );
            }
            eprintln!(
                "模型已保存到 {} / model saved to {} ({:.0} s)",
                output.display(),
                output.display(),
                started.elapsed().as_secs_f64()
            );
            Ok(ExitCode::SUCCESS)
        }
        Command::Plan { command } => crate::plans::run(&cli.data, command).await,
        Command::Events {
            json,
            limit,
            min_level,
            min_documents,
        } => crate::judgement::events(&cli.data, json, limit, min_level, min_documents).await,
        Command::Event { id, json } => crate::judgement::event(&cli.data, &cfg, id, json).await,
        Command::Correct {
            doc,
            sentiment,
            content_type,
            by,
            note,
        } => {
            crate::judgement::correct(
                &cli.data,
                &doc,
                sentiment,
                content_type,
                &by,
                note.as_deref(),
            )
            .await
        }
        Command::Level {
            event,
            level,
            by,
            reason,
        } => crate::judgement::set_level(&cli.data, event, &level, &by, &reason).await,
        Command::Handling(command) => crate::handling::run(&cli.data, &cfg, command).await,
        Command::Report { command } => crate::reports::run(&cli.data, &cfg, command).await,
        Command::Check { repair } => crate::check::check(&cli.data, &cfg, repair).await,
        Command::Backup { dest } => crate::backup::backup(&cli.data, &dest).await,
        Command::Restore { src } => crate::backup::restore(&cli.data, &cfg, &src).await,
        Command::Serve {
            bind,
            stateless: true,
        } => crate::serve::serve_stateless(&cli.data, cfg, bind, cli.database.as_deref()).await,
        Command::Serve { bind, .. } => crate::serve::serve(&cli.data, cfg, bind).await,
    }
}

/// Opens the data directory for reading; if the index is behind the store (a crash
/// between the two commits) and no writer is running, catches it up first.
async fn open_reader(root: &std::path::Path, cfg: &Config) -> anyhow::Result<DataDir> {
    let dir = DataDir::open_existing(root).await?;
    if dir.index.indexed_seq()? < dir.store.max_seq().await? && !DataDir::writer_busy(root) {
        drop(dir);
        let dir = DataDir::open_writer(root).await?;
        let p = crate::judgement::open_pipeline(&dir, cfg).await?;
        p.finish()?;
        dir.index.reload()?;
        return Ok(dir);
    }
    Ok(dir)
}

async fn import(
    root: &std::path::Path,
    cfg: &Config,
    paths: Vec<std::path::PathBuf>,
    format: yuqing_ingest::import::Format,
    json: bool,
) -> anyhow::Result<ExitCode> {
    let dir = DataDir::open_writer(root).await?;
    let started = Instant::now();
    let total_bytes: u64 = paths
        .iter()
        .filter_map(|p| std::fs::metadata(p).ok())
        .map(|m| m.len())
        .sum();
    let progress = Progress::default();
    let bar = ProgressBar::new(total_bytes);
    bar.set_style(
        ProgressStyle::with_template("{bar:40} {bytes}/{total_bytes} {msg}")
            .unwrap_or_else(|_| ProgressStyle::default_bar()),
    );
    let mut pipeline = crate::judgement::open_pipeline(&dir, cfg).await?;
    // A first import builds the secondary indexes once at its end.
    let deferred = dir.store.defer_indexes_if_empty().await?;
    let rx = spawn_readers(
        paths,
        format,
        &cfg.ingest,
        progress.clone(),
        pipeline.judge().clone(),
    );
    let mut rejections: Vec<(String, String)> = Vec::new();
    let bytes = progress.bytes.clone();
    let mut read = 0u64;
    let total = pipeline
        .ingest_stream(
            || rx.recv().ok(),
            "import",
            |report, outcomes| {
                for o in outcomes {
                    if let yuqing_ingest::Outcome::Rejected { location, reason } = o
                        && rejections.len() < 1000
                    {
                        rejections.push((location.clone(), reason.clone()));
                    }
                }
                read += report.read;
                bar.set_position(bytes.load(Ordering::Relaxed));
                bar.set_message(format!("{read} 条 / docs"));
            },
        )
        .await;
    if deferred {
        // Also after a failed import (whose own error is the one reported): what was
        // stored gets its indexes either way, or at the next open.
        let built = dir.store.build_deferred_indexes().await;
        match (&total, built) {
            (Ok(_), built) => built?,
            (Err(_), Err(e)) => tracing::warn!(error = %e, "building the deferred indexes failed"),
            (Err(_), Ok(())) => {}
        }
    }
    let total = total?;
    let ingest_secs = started.elapsed().as_secs_f64();
    pipeline.finish()?;
    tracing::info!(
        ingest_secs,
        finish_secs = started.elapsed().as_secs_f64() - ingest_secs,
        "import timings"
    );
    bar.finish_and_clear();
    let secs = started.elapsed().as_secs_f64();
    let rate = if secs > 0.0 {
        total.read as f64 / secs
    } else {
        0.0
    };
    let (read, stored, dups, near, rejected) = (
        total.read,
        total.stored,
        total.duplicates,
        total.near_duplicates,
        total.rejected,
    );
    let summary = format!(
        "导入完成：读取 {read} 条，存储 {stored}，重复 {dups}，并入相似组 {near}，拒绝 {rejected}；{secs:.1} 秒，{rate:.0} 条/秒\n\
         import finished: read {read}, stored {stored}, duplicates {dups}, near-duplicates {near}, rejected {rejected}; {secs:.1} s, {rate:.0} docs/s"
    );
    let shown = 20;
    let mut lines = Vec::new();
    for (loc, reason) in rejections.iter().take(shown) {
        lines.push(format!("  {loc}: {reason}"));
    }
    if total.rejected as usize > shown {
        lines.push(format!(
            "  …另有 {} 条，见 `yuqing dead-letters` / …and {} more, see `yuqing dead-letters`",
            total.rejected as usize - shown,
            total.rejected as usize - shown
        ));
    }
    if json {
        eprintln!("{summary}");
        for l in &lines {
            eprintln!("{l}");
        }
        let obj = json!({
            "read": total.read,
            "stored": total.stored,
            "duplicates": total.duplicates,
            "near_duplicates": total.near_duplicates,
            "rejected": total.rejected,
            "rejections": rejections.iter().take(100).map(|(l, r)| json!({"location": l, "reason": r})).collect::<Vec<_>>(),
            "seconds": (secs * 1000.0).round() / 1000.0,
            "docs_per_second": rate.round(),
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

/// `yuqing sentiment`: one line out per line in, nothing else on stdout.
fn sentiment(binary: bool, model: Option<&std::path::Path>) -> anyhow::Result<ExitCode> {
    use std::io::BufRead;
    use yuqing_text::sentiment::Model;
    let loaded;
    let model: &Model = match model {
        Some(p) => {
            loaded = Model::load(p)?;
            &loaded
        }
        None => Model::try_builtin()?,
    };
    let stdin = std::io::stdin().lock();
    let mut out = std::io::BufWriter::new(std::io::stdout().lock());
    for line in stdin.split(b'\n') {
        let line = line?;
        let text = String::from_utf8_lossy(&line);
        let text = text.trim_end_matches('\r');
        if binary {
            let (label, score) = model.classify_binary(text);
            writeln!(out, "{}\t{score:.4}", label.as_str())?;
        } else {
            let s = model.classify(text);
            writeln!(out, "{}\t{:.4}", s.label.as_str(), s.score)?;
        }
    }
    out.flush()?;
    Ok(ExitCode::SUCCESS)
}

/// `yuqing sources --check [NAME…]`: polls each chosen source once, as its first poll
/// under `serve` would, and prints what it found or why it failed. Nothing is stored and
/// no cursor is kept, so it can run beside a server; a mailbox is only read (EXAMINE).
async fn check_sources(cfg: &Config, names: &[String], json: bool) -> anyhow::Result<ExitCode> {
    let chosen: Vec<&yuqing_ingest::sources::SourceConfig> = if names.is_empty() {
        cfg.sources.iter().filter(|s| s.enabled).collect()
    } else {
        let mut out = Vec::new();
        for n in names {
            let Some(s) = cfg.sources.iter().find(|s| s.name() == n) else {
                let known: Vec<&str> = cfg.sources.iter().map(|s| s.name()).collect();
                anyhow::bail!(
                    "配置中没有名为 {n:?} 的源；已配置：{} / no source named {n:?} in the config; configured: {}",
                    known.join("、"),
                    known.join(", ")
                );
            };
            out.push(s);
        }
        out
    };
    if chosen.is_empty() {
        anyhow::bail!(
            "配置中没有启用的源（[[sources]]，见 docs/sources.md）/ no enabled source in the config ([[sources]], see docs/sources.md)"
        );
    }
    let mut failed = 0usize;
    for sc in chosen {
        let result = match sc.build() {
            Ok(source) => source.poll(None).await,
            Err(e) => Err(e),
        };
        match result {
            Ok(p) => {
                let newest: Vec<serde_json::Value> = p
                    .documents
                    .iter()
                    .take(3)
                    .map(|d| {
                        json!({
                            "id": d.id,
                            "title": d.title,
                            "published_at": d.published_at,
                            "text": d.text.chars().take(60).collect::<String>(),
                        })
                    })
                    .collect();
                if json {
                    outln!(
                        "{}",
                        json!({"name": sc.name(), "ok": true, "documents": p.documents.len(), "newest": newest})
                    );
                } else {
                    outln!(
                        "✓ {}：{} 条 / {} items",
                        sc.name(),
                        p.documents.len(),
                        p.documents.len()
                    );
                    for d in p.documents.iter().take(3) {
                        let when = d
                            .published_at
                            .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                            .unwrap_or_else(|| "-".into());
                        let what = d
                            .title
                            .clone()
                            .unwrap_or_else(|| d.text.chars().take(40).collect());
                        outln!("    {when}  {}", what.replace(['\n', '\r'], " "));
                    }
                }
            }
            Err(e) => {
                failed += 1;
                if json {
                    outln!(
                        "{}",
                        json!({"name": sc.name(), "ok": false, "kind": e.kind(), "error": e.to_string()})
                    );
                } else {
                    outln!("✗ {}：{e}", sc.name());
                }
            }
        }
    }
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}
