//! Profiling loop for [`PlanSet`] matching, rebuilt with `yuqing-text` alone:
//! `plan_profile PLANS_FILE DOCS.jsonl.gz [N] [ROUNDS] [one|many|both]` loads plan
//! expressions (one a line, e.g. `yuqing-bench plans FILE --dump PATH`) and the first N
//! non-empty texts (normalised), then prints documents/s (per CPU second of the thread) for
//! the one-plan baseline and for the whole set. `yuqing-bench plans` gives the reference
//! figures; this is for iterating under `perf` or callgrind.

use std::io::BufRead;
use std::time::Instant;

use yuqing_text::plan::{MatchInput, Plan, PlanSet, Scratch};

/// Passes over the documents per measurement: the thread's CPU time (`schedstat`) may
/// advance only at scheduler ticks, so one short pass would be imprecise.
const PASSES: usize = 5;

fn thread_cpu_ns() -> u64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next()?.parse().ok())
        .unwrap_or(0)
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let plans_path = &args[0];
    let docs_path = &args[1];
    let n: usize = args.get(2).map_or(200_000, |s| s.parse().expect("N"));
    let rounds: usize = args.get(3).map_or(3, |s| s.parse().expect("ROUNDS"));
    let which = args.get(4).map_or("both", String::as_str);
    let reader = std::io::BufReader::new(flate2::read::MultiGzDecoder::new(
        std::fs::File::open(docs_path).expect("docs"),
    ));
    let mut docs: Vec<(String, String)> = Vec::new();
    for line in reader.lines() {
        if docs.len() >= n {
            break;
        }
        let v: serde_json::Value = serde_json::from_str(&line.expect("line")).expect("json");
        let t = v["text"].as_str().unwrap_or("");
        if !t.trim().is_empty() {
            docs.push((
                yuqing_text::normalize(t),
                v["platform"].as_str().unwrap_or("").to_owned(),
            ));
        }
    }
    let exprs = std::fs::read_to_string(plans_path).expect("plans");
    let many: Vec<(i64, Plan)> = exprs
        .lines()
        .filter(|l| !l.trim().is_empty())
        .enumerate()
        .map(|(i, e)| (i as i64, Plan::parse(e).expect("plan")))
        .collect();
    let t = Instant::now();
    let many = PlanSet::new(many);
    eprintln!("{many:?} built in {:?}", t.elapsed());
    let one = PlanSet::new(vec![(
        1,
        Plan::parse("(北京|上海|广州)+(医院|学校)-广告").expect("plan"),
    )]);
    let run = |set: &PlanSet| -> (f64, usize) {
        let mut s = Scratch::new();
        let cpu = thread_cpu_ns();
        let mut hits = 0;
        for (t, p) in docs.iter().cycle().take(docs.len() * PASSES) {
            hits += set
                .match_doc_with(
                    &MatchInput {
                        text: t,
                        platform: p,
                        ..Default::default()
                    },
                    &mut s,
                )
                .len();
        }
        let cpu = (thread_cpu_ns() - cpu) as f64 / 1e9;
        ((docs.len() * PASSES) as f64 / cpu, hits / PASSES)
    };
    let (mut best1, mut best_many) = (0f64, 0f64);
    for _ in 0..rounds {
        if which != "many" {
            let (r, h) = run(&one);
            best1 = best1.max(r);
            eprintln!("one:  {:.0} docs/s ({h} hits)", r);
        }
        if which != "one" {
            let (r, h) = run(&many);
            best_many = best_many.max(r);
            eprintln!("many: {:.0} docs/s ({h} hits)", r);
        }
    }
    if which == "both" {
        println!(
            "one {best1:.0} many {best_many:.0} ratio {:.3}",
            best_many / best1
        );
    }
}
