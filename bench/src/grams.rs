//! `grams DOCS.jsonl OUT.jsonl`: yuqing's own index tokens of each document, for the
//! PostgreSQL comparison (`bench/compare/pgfts.py`). For every line of DOCS (the documents
//! `yuqing import` took), one JSON line `{"norm", "tsv"}`: the text normalised as the index
//! normalises it (`yuqing_text::normalize`) and its grams (`yuqing_text::ngram`: character
//! bigrams at their positions, a lone character as a unigram) as a PostgreSQL `tsvector`
//! literal, positions 1-based (`'北京':1 '京大':2`). PostgreSQL keeps positions up to 16,383
//! and 256 positions per lexeme; the documents past either limit are counted, since a
//! phrase query can miss them there. Prints one JSON line of counts.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{BufRead, Write};
use std::time::Instant;

pub fn grams(args: &[String]) -> anyhow::Result<()> {
    let (Some(src), Some(dst)) = (args.first(), args.get(1)) else {
        anyhow::bail!("usage: yuqing-bench grams DOCS.jsonl OUT.jsonl");
    };
    let started = Instant::now();
    let r = std::io::BufReader::with_capacity(1 << 20, std::fs::File::open(src)?);
    let mut w = std::io::BufWriter::with_capacity(1 << 20, std::fs::File::create(dst)?);
    let (mut docs, mut total, mut past_pos, mut past_count) = (0u64, 0u64, 0u64, 0u64);
    let mut tsv = String::new();
    for line in r.lines() {
        let v: serde_json::Value = serde_json::from_str(&line?)?;
        let norm = yuqing_text::normalize(v["text"].as_str().unwrap_or(""));
        // Lexeme -> positions, in order (the literal may list lexemes in any order).
        let mut by: BTreeMap<&str, Vec<u32>> = BTreeMap::new();
        let mut max_pos = 0;
        yuqing_text::ngram::for_each_gram(&norm, |g| {
            by.entry(g.text).or_default().push(g.pos + 1);
            max_pos = max_pos.max(g.pos + 1);
            total += 1;
        });
        docs += 1;
        past_pos += u64::from(max_pos > 16_383);
        past_count += u64::from(by.values().any(|p| p.len() > 256));
        tsv.clear();
        for (lexeme, pos) in &by {
            // Grams are letters, digits and ideographs only: no quote or backslash to escape.
            let _ = write!(tsv, "{}'{lexeme}':", if tsv.is_empty() { "" } else { " " });
            for (i, p) in pos.iter().enumerate() {
                let _ = write!(tsv, "{}{p}", if i == 0 { "" } else { "," });
            }
        }
        serde_json::to_writer(&mut w, &serde_json::json!({"norm": norm, "tsv": tsv}))?;
        w.write_all(b"\n")?;
    }
    w.flush()?;
    println!(
        "{}",
        serde_json::json!({
            "documents": docs,
            "grams": total,
            "seconds": started.elapsed().as_secs_f64(),
            "docs_past_position_16383": past_pos,
            "docs_past_256_positions_per_lexeme": past_count,
        })
    );
    Ok(())
}
