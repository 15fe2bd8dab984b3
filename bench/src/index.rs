//! `index FILE N DIR`: yuqing's indexer alone, the counterpart of the SQLite FTS5 build in
//! `bench/compare/fts5.py`: the first N documents of a JSONL file (parsed before the clock
//! starts, as the FTS5 side does), each text normalised and added to a fresh index in DIR
//! with the `yuqing_ngram` tokenizer (yuqing-search's schema and writer: 256 MB, one
//! thread, as `[ingest]` defaults), then committed and merged. No store, no grouping:
//! `yuqing reindex` measures the whole command.

use std::io::BufRead;
use std::time::Instant;

pub fn index(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: yuqing-bench index FILE N DIR";
    let (Some(file), Some(n), Some(dir)) = (args.first(), args.get(1), args.get(2)) else {
        anyhow::bail!(usage);
    };
    let n: usize = n.parse()?;
    let r = std::io::BufReader::new(std::fs::File::open(file)?);
    let mut docs: Vec<(String, Option<i64>)> = Vec::new();
    for line in r.lines().take(n) {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let published = v["published_at"]
            .as_str()
            .and_then(|p| chrono::DateTime::parse_from_rfc3339(p).ok())
            .map(|t| t.timestamp_millis());
        docs.push((v["text"].as_str().unwrap_or("").to_owned(), published));
    }
    let dir = std::path::Path::new(dir);
    let _ = std::fs::remove_dir_all(dir);
    let index = yuqing_search::SearchIndex::open(dir)?;
    let started = Instant::now();
    let mut w = index.writer(256 << 20, 1)?;
    for (seq, (text, published)) in docs.iter().enumerate() {
        let norm = yuqing_text::normalize(text);
        w.add(&yuqing_search::IndexDoc {
            seq: seq as i64 + 1,
            title: "",
            text: &norm,
            platform: "weibo",
            kind: "repost",
            source: "",
            published_ms: *published,
            verified: false,
            group_id: None,
        })?;
    }
    w.commit(docs.len() as i64)?;
    w.finish()?;
    let secs = started.elapsed().as_secs_f64();
    let bytes: u64 = std::fs::read_dir(dir)?
        .filter_map(|e| e.ok()?.metadata().ok())
        .map(|m| m.len())
        .sum();
    println!(
        "{}",
        serde_json::json!({
            "documents": docs.len(),
            "seconds": secs,
            "docs_per_second": (docs.len() as f64 / secs).round(),
            "index_mb": (bytes as f64 / 1048576.0 * 10.0).round() / 10.0,
        })
    );
    Ok(())
}
