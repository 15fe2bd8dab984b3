//! Benchmark helpers run by `bench/run`:
//! - `search DATA_DIR [--gram N] [--queries-out PATH]`: 200 queries of the most frequent
//!   ideograph bigrams (or N-grams) with a time filter against an imported data directory;
//!   prints p50/p95/max latency as JSON, and with `--queries-out` each query with its hit
//!   count and latency (JSON lines), for the SQLite FTS5 comparison.
//! - `reference FILE`: the raw rate of jieba + tantivy indexing of the same texts on one
//!   thread (no store, no normalisation, no grouping), the yardstick for the import rate.
//! - `plans FILE [--dump PATH]`: plan matching rate (documents/s, one thread) with 1 and
//!   with 10,000 active plans written like users' plans from the corpus's own place names,
//!   nouns and verbs (see `plans.rs`).
//! - `sentiment FILE [N]`: sentiment classification rate (texts/s, one thread) over the
//!   first N (200,000) non-empty texts.
//! - `segment FILE N [--no-hmm] [--dump PATH]`: word segmentation rate (see `segment.rs`).
//! - `index FILE.jsonl N DIR`: the indexer alone over the first N documents (`index.rs`).
//! - `grams DOCS.jsonl OUT.jsonl`: each document's normalised text and index grams as a
//!   PostgreSQL tsvector, for the PostgreSQL full-text comparison (`grams.rs`).
//! - `alerts FILE YUQING_BINARY`: alert latency (push → webhook) under 1,000 docs/s of load.
//! - `web DATA_DIR YUQING_BINARY`: dashboard and search latency under 50 concurrent users.
//! - `bus FILE N YUQING_BINARY`: documents/s through NATS JetStream into PostgreSQL with 1
//!   and 2 `yuqing process`, and publish → stored / searchable latency (`bus.rs`).

mod alerts;
mod bus;
mod grams;
mod index;
mod plans;
mod segment;
mod web;

use anyhow::Context;
use std::collections::HashMap;
use std::io::BufRead;
use std::time::Instant;

fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().collect();
    match args.get(1).map(String::as_str) {
        Some("search") => search(
            args.get(2)
                .context("usage: yuqing-bench search DATA_DIR [--gram N] [--queries-out PATH]")?,
            flag(&args, "--gram")
                .map(str::parse)
                .transpose()?
                .unwrap_or(2),
            flag(&args, "--queries-out"),
        ),
        Some("reference") => reference(
            args.get(2)
                .context("usage: yuqing-bench reference FILE.jsonl.gz")?,
        ),
        Some("plans") => plans::plans(&args[2..]),
        Some("sentiment") => sentiment(
            args.get(2)
                .context("usage: yuqing-bench sentiment FILE [N]")?,
            args.get(3)
                .map(|n| n.parse())
                .transpose()?
                .unwrap_or(200_000),
        ),
        Some("segment") => segment::segment(&args[2..]),
        Some("index") => index::index(&args[2..]),
        Some("grams") => grams::grams(&args[2..]),
        Some("web") => web::web(
            args.get(2)
                .context("usage: yuqing-bench web DATA_DIR YUQING_BINARY")?,
            args.get(3)
                .context("usage: yuqing-bench web DATA_DIR YUQING_BINARY")?,
        ),
        Some("bus") => bus::bus(
            args.get(2)
                .context("usage: yuqing-bench bus FILE N YUQING_BINARY")?,
            args.get(3)
                .context("usage: yuqing-bench bus FILE N YUQING_BINARY")?
                .parse()
                .context("N: a number of documents")?,
            args.get(4)
                .context("usage: yuqing-bench bus FILE N YUQING_BINARY")?,
        ),
        Some("alerts") => alerts::alerts(
            args.get(2)
                .context("usage: yuqing-bench alerts FILE YUQING_BINARY")?,
            args.get(3)
                .context("usage: yuqing-bench alerts FILE YUQING_BINARY")?,
        ),
        _ => anyhow::bail!(
            "usage: yuqing-bench search DATA_DIR [--gram N] [--queries-out PATH] | reference FILE.jsonl.gz | plans FILE [--dump PATH] | sentiment FILE [N] | segment FILE N [--no-hmm] [--dump PATH] | index FILE.jsonl N DIR | grams DOCS.jsonl OUT.jsonl | alerts FILE YUQING_BINARY | web DATA_DIR YUQING_BINARY | bus FILE N YUQING_BINARY"
        ),
    }
}

/// The value after `name` in the arguments, if any.
fn flag<'a>(args: &'a [String], name: &str) -> Option<&'a str> {
    let i = args.iter().position(|a| a == name)?;
    args.get(i + 1).map(String::as_str)
}

fn texts(path: &str, mut f: impl FnMut(&str)) -> anyhow::Result<()> {
    let r = std::io::BufReader::with_capacity(
        1 << 20,
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path)?),
    );
    for line in r.lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        f(v["text"].as_str().unwrap_or(""));
    }
    Ok(())
}

fn reference(path: &str) -> anyhow::Result<()> {
    use tantivy::schema::{IndexRecordOption, Schema, TextFieldIndexing, TextOptions};
    let mut b = Schema::builder();
    let opts = TextOptions::default().set_indexing_options(
        TextFieldIndexing::default()
            .set_tokenizer("jieba")
            .set_index_option(IndexRecordOption::WithFreqsAndPositions),
    );
    let text = b.add_text_field("text", opts);
    let dir = std::env::temp_dir().join(format!("yuqing-bench-ref-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let index = tantivy::Index::create_in_dir(&dir, b.build())?;
    index
        .tokenizers()
        .register("jieba", tantivy_jieba::JiebaTokenizer::new());
    let mut w: tantivy::IndexWriter = index.writer_with_num_threads(1, 256 << 20)?;
    let mut all = Vec::new();
    texts(path, |t| all.push(t.to_owned()))?;
    let started = Instant::now();
    for t in &all {
        let mut d = tantivy::TantivyDocument::default();
        d.add_text(text, t);
        w.add_document(d)?;
    }
    w.commit()?;
    w.wait_merging_threads()?;
    let secs = started.elapsed().as_secs_f64();
    let _ = std::fs::remove_dir_all(&dir);
    println!(
        "{}",
        serde_json::json!({"documents": all.len(), "seconds": secs, "docs_per_second": all.len() as f64 / secs})
    );
    Ok(())
}

fn search(data: &str, gram: usize, queries_out: Option<&str>) -> anyhow::Result<()> {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let root = std::path::Path::new(data);
        let store = std::sync::Arc::new(yuqing_store::SqliteStore::open_read_only(&root.join("yuqing.db")).await?);
        let index = yuqing_search::SearchIndex::open(&root.join("index"))?;
        // The 200 most frequent bigrams (n-grams) of a sample of stored texts are the queries.
        let mut freq: HashMap<String, usize> = HashMap::new();
        use yuqing_store::Store;
        for d in store.scan(0, 50_000).await? {
            let n: Vec<char> = yuqing_text::normalize(&d.doc.text).chars().collect();
            for w in n.windows(gram.max(1)) {
                if w.iter().all(|c| ('\u{4e00}'..='\u{9fff}').contains(c)) {
                    *freq.entry(w.iter().collect()).or_default() += 1;
                }
            }
        }
        let mut words: Vec<(String, usize)> = freq.into_iter().collect();
        words.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
        let words: Vec<String> = words.into_iter().take(200).map(|w| w.0).collect();
        // Time filter: 2012-01-01 .. 2013-07-01 (Beijing).
        let since = 1_325_347_200_000i64;
        let until = 1_372_608_000_000i64;
        let mut lat = Vec::new();
        let mut total_hits = 0usize;
        let mut per_query = Vec::new();
        for w in &words {
            let req = yuqing_search::SearchRequest {
                query: w.clone(),
                since_ms: Some(since),
                until_ms: Some(until),
                limit: 10,
                ..Default::default()
            };
            let t = Instant::now();
            let page = yuqing_ingest::query::search(&store, &index, &req).await?;
            lat.push(t.elapsed().as_secs_f64() * 1000.0);
            total_hits += page.total;
            per_query.push(serde_json::json!({"query": w, "total": page.total, "ms": lat[lat.len() - 1]}));
        }
        if let Some(path) = queries_out {
            let lines: Vec<String> = per_query.iter().map(|q| q.to_string() + "\n").collect();
            std::fs::write(path, lines.concat())?;
        }
        lat.sort_by(|a, b| a.total_cmp(b));
        let pct = |p: f64| lat[((lat.len() as f64 * p).ceil() as usize).saturating_sub(1).min(lat.len() - 1)];
        println!(
            "{}",
            serde_json::json!({"gram": gram, "since_ms": since, "until_ms": until, "queries": lat.len(), "p50_ms": pct(0.5), "p95_ms": pct(0.95), "max_ms": pct(1.0), "mean_hits": total_hits / lat.len().max(1)})
        );
        anyhow::Ok(())
    })
}

/// The first `n` non-empty texts of a gzip JSONL file; the Python comparisons in
/// `bench/compare` read the same ones (`str.strip()` there, `trim` here).
fn sample_n(path: &str, n: usize) -> anyhow::Result<Vec<String>> {
    nonempty(path, n, |t, _| t.to_owned())
}

/// The first `n` documents of a gzip JSONL file whose text is not blank, each made into a
/// `T` from its text and the whole document.
fn nonempty<T>(
    path: &str,
    n: usize,
    mut f: impl FnMut(&str, &serde_json::Value) -> T,
) -> anyhow::Result<Vec<T>> {
    let r = std::io::BufReader::with_capacity(
        1 << 20,
        flate2::read::MultiGzDecoder::new(std::fs::File::open(path)?),
    );
    let mut all = Vec::new();
    for line in r.lines() {
        if all.len() >= n {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let t = v["text"].as_str().unwrap_or("");
        if !t.trim().is_empty() {
            all.push(f(t, &v));
        }
    }
    Ok(all)
}

fn sentiment(path: &str, n: usize) -> anyhow::Result<()> {
    let all = sample_n(path, n)?;
    let model = yuqing_text::sentiment::Model::try_builtin()?;
    let started = Instant::now();
    let mut negative = 0usize;
    for t in &all {
        if model.classify(t).label == yuqing_text::sentiment::Label::Negative {
            negative += 1;
        }
    }
    let secs = started.elapsed().as_secs_f64();
    println!(
        "{}",
        serde_json::json!({
            "texts": all.len(),
            "texts_per_second": (all.len() as f64 / secs).round(),
            "negative": negative,
        })
    );
    Ok(())
}
