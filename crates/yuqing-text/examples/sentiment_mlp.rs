//! Experiment (not shipped): a hashed embedding bag with one hidden ReLU layer (fastText
//! with a non-linearity) over the shipped model's features, trained with SGD on the train
//! parts, and its dev accuracy alone and averaged with the built-in linear model
//! (docs/specs/sentiment.md, section 6, "A hidden layer").
//!
//! ```sh
//! H=16 EPOCHS=10 LR=0.3 cargo run --release -p yuqing-text --example sentiment_mlp -- \
//!     ../shared/data/sentiment
//! ```
//! Settings by environment: `H` hidden units (32), `BITS` embedding buckets (20), `EPOCHS`
//! (5), `LR` starting rate (0.2), `L2` (0), `DROP` dropout on the hidden layer (0).
use std::path::PathBuf;
use yuqing_text::sentiment::{DUPLICATE_SETS, FeatureConfig, Model, Scratch, extract, load_dir};

struct Rng(u64);
impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
    fn unif(&mut self) -> f32 {
        (self.next() >> 40) as f32 / (1u64 << 24) as f32
    }
}

/// One training text: its features (bucket, value), label (0/1) and example weight.
struct Example {
    feats: Vec<(u32, f32)>,
    y: f32,
    c: f32,
}

/// One dev text: its set, label, the network's margin and the linear model's calibrated
/// margin.
struct Dev {
    set: String,
    label: u8,
    deep: f32,
    lin: f32,
}

/// Accuracy of the sign of `margin` on `rows`.
fn accuracy<'a>(rows: impl Iterator<Item = &'a Dev> + Clone, margin: impl Fn(&Dev) -> f32) -> f64 {
    let n = rows.clone().count();
    rows.filter(|r| (margin(r) >= 0.0) == (r.label == 1))
        .count() as f64
        / n.max(1) as f64
}

fn env<T: std::str::FromStr>(k: &str, d: T) -> T {
    std::env::var(k)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(d)
}

fn main() {
    let dir = PathBuf::from(
        std::env::args()
            .nth(1)
            .unwrap_or("../shared/data/sentiment".into()),
    );
    let h: usize = env("H", 32);
    let bits: u32 = env("BITS", 20);
    let epochs: usize = env("EPOCHS", 5);
    let lr0: f32 = env("LR", 0.2);
    let l2: f32 = env("L2", 0.0);
    let drop: f32 = env("DROP", 0.0);
    let data = load_dir(&dir).unwrap();
    let cfg = FeatureConfig::default();
    let mut sc = Scratch::default();
    // training rows with weights (classes balanced per set, set size^-0.75)
    let sets: Vec<_> = data
        .iter()
        .filter(|(n, _, _)| !DUPLICATE_SETS.contains(&n.as_str()))
        .collect();
    let total: usize = sets.iter().map(|s| s.1.len()).sum();
    let mean = total as f64 / sets.len() as f64;
    let mut xs: Vec<Example> = Vec::new();
    for (_, tr, _) in &sets {
        let n = tr.len() as f64;
        let pos = tr.iter().filter(|r| r.0 == 1).count() as f64;
        let sw = (mean / n).powf(0.75);
        for (l, t) in tr {
            let cw = if *l == 1 {
                n / (2.0 * pos)
            } else {
                n / (2.0 * (n - pos))
            };
            let f: Vec<(u32, f32)> = extract(&cfg, t, &mut sc)
                .iter()
                .map(|&(i, v)| (i >> (cfg.bits as u32 - bits), v))
                .collect();
            xs.push(Example {
                feats: f,
                y: f32::from(*l),
                c: (sw * cw) as f32,
            });
        }
    }
    let cm: f32 = xs.iter().map(|x| x.c).sum::<f32>() / xs.len() as f32;
    for x in &mut xs {
        x.c /= cm;
    }
    let dim = 1usize << bits;
    let mut rng = Rng(0x9e3779b97f4a7c15);
    let mut e: Vec<f32> = (0..dim * h).map(|_| (rng.unif() - 0.5) * 0.2).collect();
    let mut b1 = vec![0f32; h];
    let mut u: Vec<f32> = (0..h).map(|_| (rng.unif() - 0.5) * 0.2).collect();
    let mut b2 = 0f32;
    let mut order: Vec<usize> = (0..xs.len()).collect();
    let steps = epochs * xs.len();
    let mut step = 0usize;
    let mut a = vec![0f32; h];
    let mut mask = vec![1f32; h];
    let mut ga = vec![0f32; h];
    for ep in 0..epochs {
        for i in (1..order.len()).rev() {
            let j = (rng.next() % (i as u64 + 1)) as usize;
            order.swap(i, j);
        }
        let mut loss = 0f64;
        for &r in &order {
            let lr = lr0 * (1.0 - step as f32 / steps as f32);
            step += 1;
            let Example { feats: f, y, c } = &xs[r];
            a.copy_from_slice(&b1);
            for &(i, v) in f {
                let row = &e[i as usize * h..(i as usize + 1) * h];
                for k in 0..h {
                    a[k] += v * row[k];
                }
            }
            for m in mask.iter_mut() {
                *m = if drop > 0.0 && rng.unif() < drop {
                    0.0
                } else {
                    1.0 / (1.0 - drop)
                };
            }
            let mut m = b2;
            for k in 0..h {
                if a[k] > 0.0 {
                    m += u[k] * a[k] * mask[k];
                }
            }
            let p = 1.0 / (1.0 + (-m).exp());
            loss += (*c as f64) * -((if *y > 0.5 { p } else { 1.0 - p }).max(1e-7).ln() as f64);
            let g = c * (p - y);
            // backprop
            ga.iter_mut().for_each(|v| *v = 0.0);
            for k in 0..h {
                if a[k] > 0.0 {
                    ga[k] = g * u[k] * mask[k];
                    u[k] -= lr * (g * a[k] * mask[k] + l2 * u[k]);
                }
            }
            b2 -= lr * g;
            for k in 0..h {
                b1[k] -= lr * ga[k];
            }
            for &(i, v) in f {
                let row = &mut e[i as usize * h..(i as usize + 1) * h];
                for k in 0..h {
                    row[k] -= lr * (ga[k] * v + l2 * row[k]);
                }
            }
        }
        eprintln!("epoch {ep} loss {:.4}", loss / xs.len() as f64);
    }
    // margins on dev
    let margin = |t: &str, sc: &mut Scratch| -> f32 {
        let mut a = b1.clone();
        for &(i, v) in extract(&cfg, t, sc) {
            let i = (i >> (cfg.bits as u32 - bits)) as usize;
            for k in 0..h {
                a[k] += v * e[i * h + k];
            }
        }
        b2 + (0..h)
            .filter(|&k| a[k] > 0.0)
            .map(|k| u[k] * a[k])
            .sum::<f32>()
    };
    let lin = Model::builtin();
    let tl = lin.header().temperature;
    let mut dev: Vec<Dev> = Vec::new();
    for (name, _, d) in &sets {
        for (l, t) in d {
            dev.push(Dev {
                set: name.clone(),
                label: *l,
                deep: margin(t, &mut sc),
                lin: lin.margin(t).unwrap_or(0.0) / tl,
            });
        }
    }
    // temperature of the deep margins on all dev
    let nll = |t: f32| -> f64 {
        dev.iter()
            .map(|r| {
                let z = (r.deep / t) as f64;
                let p = 1.0 / (1.0 + (-z).exp());
                -(if r.label == 1 { p } else { 1.0 - p }).max(1e-9).ln()
            })
            .sum()
    };
    let mut best = (f64::MAX, 1.0f32);
    for k in 0..200 {
        let t = 0.05 * 1.03f32.powi(k);
        let v = nll(t);
        if v < best.0 {
            best = (v, t);
        }
    }
    let td = best.1;
    println!("H={h} BITS={bits} EPOCHS={epochs} LR={lr0} L2={l2} DROP={drop} T_deep={td:.3}");
    let line = |name: &str, rows: Vec<&Dev>| {
        println!(
            "{name:32} {:5} deep {:.4} lin {:.4} avg {:.4} avg½ {:.4}",
            rows.len(),
            accuracy(rows.iter().copied(), |r| r.deep),
            accuracy(rows.iter().copied(), |r| r.lin),
            accuracy(rows.iter().copied(), |r| r.deep / td + r.lin),
            accuracy(rows.iter().copied(), |r| 0.5 * r.deep / td + r.lin),
        );
    };
    for (name, _, _) in &sets {
        line(name, dev.iter().filter(|r| &r.set == name).collect());
    }
    line("ALL", dev.iter().collect());
}
