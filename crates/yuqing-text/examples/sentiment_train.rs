//! Trains the sentiment model and prints dev accuracies, the neutral-band table and the
//! classification throughput.
//!
//! ```sh
//! cargo run --release -p yuqing-text --example sentiment_train -- \
//!     --data-dir /work/shared/data/sentiment -o models/sentiment-v1.bin
//! ```
//! Options (defaults = the shipped model): `--bits N --l2 X --iters N --ngram N
//! --neg-scope N --chain-weight X --set-balance X --tag-weight X --nb X --last --skip
//! --no-contrast --no-balance --no-norm --loss log|sqhinge|mhuber --set-weight NAME=X`;
//! `--eval FILE` scores a saved model (with `$ERRORS_TO`, also writes its dev errors);
//! `--eval-avg FILE…` scores the mean calibrated logit of several saved models;
//! `--classify TEXT…` prints labels (built-in model, or the file in `$MODEL`).

use std::path::PathBuf;
use std::time::Instant;
use yuqing_text::sentiment::{
    DUPLICATE_SETS, Loss, Model, TrainOptions, band_table, evaluate, load_dir, train_from_dir,
};

fn main() {
    let mut args = std::env::args().skip(1);
    let mut data_dir = PathBuf::from("/work/shared/data/sentiment");
    let mut out: Option<PathBuf> = None;
    let mut opts = TrainOptions {
        verbose: true,
        ..TrainOptions::default()
    };
    while let Some(a) = args.next() {
        let mut val = || args.next().expect("missing value");
        match a.as_str() {
            "--data-dir" => data_dir = val().into(),
            "-o" => out = Some(val().into()),
            "--bits" => opts.features.bits = val().parse().unwrap(),
            "--l2" => opts.l2 = val().parse().unwrap(),
            "--iters" => opts.iterations = val().parse().unwrap(),
            "--ngram" => opts.features.max_ngram = val().parse().unwrap(),
            "--neg-scope" => opts.features.neg_scope = val().parse().unwrap(),
            "--chain-weight" => opts.features.chain_weight = val().parse().unwrap(),
            "--set-balance" => opts.set_balance = val().parse().unwrap(),
            "--nb" => opts.nb_scale = val().parse().unwrap(),
            "--nb-alpha" => opts.nb_alpha = val().parse().unwrap(),
            "--no-contrast" => opts.features.contrast = false,
            "--last" => opts.features.last_clause = true,
            "--tag-weight" => opts.features.tag_weight = val().parse().unwrap(),
            "--no-balance" => opts.balance_classes = false,
            "--no-norm" => opts.features.l2_normalize = false,
            "--set-weight" => {
                let v = val();
                let (name, w) = v.split_once('=').expect("--set-weight NAME=X");
                opts.set_weights
                    .push((name.to_string(), w.parse().unwrap()));
            }
            "--skip" => opts.features.skip_grams = true,
            "--loss" => {
                opts.loss = match val().as_str() {
                    "log" => Loss::Log,
                    "sqhinge" => Loss::SquaredHinge,
                    "mhuber" => Loss::ModifiedHuber,
                    other => panic!("unknown loss {other}"),
                }
            }
            "--classify" => {
                // Print label and score of the remaining arguments with the built-in model.
                let m = match std::env::var("MODEL") {
                    Ok(p) => Model::load(p).unwrap_or_else(|e| panic!("{e}")),
                    Err(_) => Model::builtin().clone(),
                };
                for t in std::iter::once(val()).chain(args.by_ref()) {
                    let s = m.classify(&t);
                    println!("{:8} {:.3}  {t}", s.label.as_str(), s.score);
                }
                return;
            }
            "--eval-avg" => {
                // Accuracy of the mean calibrated logit of several saved models.
                let models: Vec<Model> = std::iter::once(val())
                    .chain(args.by_ref())
                    .map(|p| Model::load(p).unwrap_or_else(|e| panic!("{e}")))
                    .collect();
                eval_avg(&models, &data_dir);
                return;
            }
            "--eval" => {
                // Evaluate an existing model file only.
                let m = Model::load(val()).unwrap_or_else(|e| panic!("{e}"));
                if let Ok(dump) = std::env::var("ERRORS_TO") {
                    dump_errors(&m, &data_dir, &dump);
                }
                report(&m, &data_dir);
                return;
            }
            other => panic!("unknown option {other}"),
        }
    }
    let t0 = Instant::now();
    let (model, _) = train_from_dir(&data_dir, &opts).unwrap_or_else(|e| panic!("{e}"));
    eprintln!("total training time {:.1}s", t0.elapsed().as_secs_f64());
    if let Some(p) = &out {
        model.save(p).unwrap_or_else(|e| panic!("{e}"));
        if let Ok(dump) = std::env::var("ERRORS_TO") {
            dump_errors(&model, &data_dir, &dump);
        }
        let size = std::fs::metadata(p).map(|m| m.len()).unwrap_or(0);
        eprintln!("saved {} ({size} bytes)", p.display());
        let reread = Model::load(p).unwrap_or_else(|e| panic!("{e}"));
        report(&reread, &data_dir);
    } else {
        report(&model, &data_dir);
    }
}

fn eval_avg(models: &[Model], data_dir: &std::path::Path) {
    let data = load_dir(data_dir).unwrap_or_else(|e| panic!("{e}"));
    let (mut ok_all, mut n_all) = (0usize, 0usize);
    for (name, _, dev) in &data {
        if DUPLICATE_SETS.contains(&name.as_str()) {
            continue;
        }
        let ok = dev
            .iter()
            .filter(|(l, t)| {
                let z: f32 = models
                    .iter()
                    .map(|m| m.margin(t).unwrap_or(0.0) / m.header().temperature)
                    .sum();
                (z >= 0.0) == (*l == 1)
            })
            .count();
        println!(
            "{name:32} dev {:5}  acc {:.4}",
            dev.len(),
            ok as f64 / dev.len() as f64
        );
        ok_all += ok;
        n_all += dev.len();
    }
    println!(
        "{:32} dev {:5}  acc {:.4}",
        "ALL",
        n_all,
        ok_all as f64 / n_all as f64
    );
}

/// Writes the misclassified dev texts (set, label, score, text) to `dump`.
fn dump_errors(model: &Model, data_dir: &std::path::Path, dump: &str) {
    let data = load_dir(data_dir).unwrap();
    let mut out = String::new();
    for (name, _, dev) in &data {
        for (l, t) in dev {
            let (lab, s) = model.classify_binary(t);
            if (lab == yuqing_text::sentiment::Label::Positive) != (*l == 1) {
                out.push_str(&format!("{name}\t{l}\t{s:.3}\t{t}\n"));
            }
        }
    }
    std::fs::write(dump, out).unwrap();
}

fn report(model: &Model, data_dir: &std::path::Path) {
    let data = load_dir(data_dir).unwrap_or_else(|e| panic!("{e}"));
    println!("temperature {:.3}", model.header().temperature);
    let mut all = Vec::new();
    for (name, _, dev) in &data {
        if DUPLICATE_SETS.contains(&name.as_str()) {
            continue;
        }
        println!(
            "{name:32} dev {:5}  acc {:.4}",
            dev.len(),
            evaluate(model, dev)
        );
        all.extend(dev.iter().cloned());
    }
    println!(
        "{:32} dev {:5}  acc {:.4}",
        "ALL",
        all.len(),
        evaluate(model, &all)
    );
    for b in band_table(
        model,
        &all,
        &[0.0, 0.05, 0.1, 0.15, 0.2, 0.25, 0.3, 0.35, 0.4, 0.45],
    ) {
        println!(
            "margin {:.2}: coverage {:.3}  accuracy {:.4}",
            b.margin, b.coverage, b.accuracy
        );
    }
    // Throughput on short texts (Weibo dev texts).
    let texts: Vec<&str> = data
        .iter()
        .filter(|(n, _, _)| n.contains("weibo"))
        .flat_map(|(_, _, d)| d.iter().map(|r| r.1.as_str()))
        .collect();
    let mean_chars =
        texts.iter().map(|t| t.chars().count()).sum::<usize>() as f64 / texts.len() as f64;
    let t = Instant::now();
    let mut n = 0usize;
    let mut acc = 0.0f32;
    while t.elapsed().as_secs_f64() < 2.0 {
        for s in &texts {
            acc += model.classify(s).score;
        }
        n += texts.len();
    }
    let rate = n as f64 / t.elapsed().as_secs_f64();
    println!("throughput {rate:.0} texts/s (mean {mean_chars:.0} chars) [{acc:.0}]");
}
