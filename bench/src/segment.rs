//! `segment FILE N [--no-hmm] [--dump PATH]`: word segmentation rate of yuqing's segmenter,
//! the process-wide jieba-rs instance of `yuqing_judge::words` (hot words, clustering;
//! the index's ranking-only `words` field uses the same jieba-rs dictionary through
//! tantivy-jieba, precise mode with HMM), over the first N non-empty texts of FILE, one
//! thread, precise mode (`cut`). The dictionary build is timed on its own and left out of
//! the rate. `--dump PATH` writes the tokens of every tenth text (a JSON array a line) so
//! `bench/compare/segment.py` can measure how far Python jieba agrees.

use std::io::Write;
use std::time::Instant;

pub fn segment(args: &[String]) -> anyhow::Result<()> {
    let usage = "usage: yuqing-bench segment FILE N [--no-hmm] [--dump PATH]";
    let file = args.first().ok_or_else(|| anyhow::anyhow!(usage))?;
    let n: usize = args.get(1).ok_or_else(|| anyhow::anyhow!(usage))?.parse()?;
    let hmm = !args.iter().any(|a| a == "--no-hmm");
    let dump = args
        .iter()
        .position(|a| a == "--dump")
        .and_then(|i| args.get(i + 1));
    let texts = crate::sample_n(file, n)?;
    let chars: usize = texts.iter().map(|t| t.chars().count()).sum();

    let started = Instant::now();
    let jieba = yuqing_judge::words::jieba();
    let load = started.elapsed().as_secs_f64();

    let started = Instant::now();
    let mut tokens = 0usize;
    for t in &texts {
        tokens += std::hint::black_box(jieba.cut(t, hmm)).len();
    }
    let secs = started.elapsed().as_secs_f64();

    if let Some(path) = dump {
        let mut w = std::io::BufWriter::new(std::fs::File::create(path)?);
        for t in texts.iter().step_by(10) {
            let words: Vec<&str> = jieba.cut(t, hmm).into_iter().map(|t| t.word).collect();
            writeln!(w, "{}", serde_json::to_string(&words)?)?;
        }
        w.flush()?;
    }
    println!(
        "{}",
        serde_json::json!({
            "tool": "yuqing (jieba-rs 0.11, yuqing_judge::words::jieba)",
            "hmm": hmm,
            "texts": texts.len(),
            "chars": chars,
            "tokens": tokens,
            "load_seconds": load,
            "seconds": secs,
            "texts_per_second": (texts.len() as f64 / secs).round(),
            "chars_per_second": (chars as f64 / secs).round(),
        })
    );
    Ok(())
}
