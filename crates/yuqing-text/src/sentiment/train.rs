//! Training: L2-regularised logistic regression over the hashed features, fitted with
//! L-BFGS on the union of the training sets, then a one-parameter temperature calibration.
//!
//! The objective is the weighted mean log-loss plus `l2 / 2 · ‖w‖²` (the bias is not
//! penalised). Example weights balance the classes within each set
//! ([`TrainOptions::balance_classes`]) and, optionally, the sets against each other
//! ([`TrainOptions::set_balance`]: 0 = every text counts the same, 1 = every set counts the
//! same). Everything is deterministic and single-threaded.

use super::Label;
use super::data::{DUPLICATE_SETS, DataError, Row, load_dir};
use super::features::{FEATURE_VERSION, FeatureConfig, Scratch, extract};
use super::model::{DEFAULT_NEUTRAL_MARGIN, Header, Model};
use std::path::Path;
use std::time::Instant;

/// One named training set.
#[derive(Debug, Clone)]
pub struct TrainSet {
    pub name: String,
    pub rows: Vec<Row>,
    /// Extra weight of this set's texts (1 = normal).
    pub weight: f32,
}

impl TrainSet {
    pub fn new(name: impl Into<String>, rows: Vec<Row>) -> TrainSet {
        TrainSet {
            name: name.into(),
            rows,
            weight: 1.0,
        }
    }
}

/// Loss function of the linear model (the score is always calibrated afterwards by the
/// temperature step).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Loss {
    /// Logistic loss.
    #[default]
    Log,
    /// Squared hinge: max(0, 1 − y·m)².
    SquaredHinge,
    /// Modified Huber: max(0, 1 − y·m)² for y·m ≥ −1, else −4·y·m.
    ModifiedHuber,
}

/// Training settings. The defaults are the ones the shipped model was trained with.
#[derive(Debug, Clone)]
pub struct TrainOptions {
    pub features: FeatureConfig,
    /// L2 penalty.
    pub l2: f64,
    /// Maximum L-BFGS iterations.
    pub iterations: usize,
    /// Weight the two classes equally within each set.
    pub balance_classes: bool,
    /// 0 = weight texts equally; 1 = weight sets equally; in between = set size^-power.
    pub set_balance: f32,
    /// Default neutral band stored in the model.
    pub neutral_margin: f32,
    /// NB feature scaling (as in NBSVM): each bucket's values are multiplied by
    /// |log-count ratio|^nb_scale (0 = off), which lowers the penalty on discriminative
    /// features. The scaling is folded into the saved weights.
    pub nb_scale: f32,
    /// Smoothing count of the log-count ratios.
    pub nb_alpha: f64,
    /// Loss function.
    pub loss: Loss,
    /// Extra weight per training set, by name ([`train_from_dir`]; 0 leaves the set out).
    /// Sets not named keep weight 1.
    pub set_weights: Vec<(String, f32)>,
    /// Progress on stderr.
    pub verbose: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        TrainOptions {
            features: FeatureConfig::default(),
            l2: 1e-6,
            iterations: 150,
            balance_classes: true,
            set_balance: 0.75,
            neutral_margin: DEFAULT_NEUTRAL_MARGIN,
            nb_scale: 0.5,
            nb_alpha: 1.0,
            loss: Loss::Log,
            set_weights: Vec::new(),
            verbose: false,
        }
    }
}

/// Features of many texts in compressed-row form.
struct Matrix {
    offsets: Vec<usize>,
    idx: Vec<u32>,
    val: Vec<f32>,
}

impl Matrix {
    fn build(cfg: &FeatureConfig, texts: impl Iterator<Item = impl AsRef<str>>) -> Matrix {
        let mut m = Matrix {
            offsets: vec![0],
            idx: Vec::new(),
            val: Vec::new(),
        };
        let mut s = Scratch::default();
        for t in texts {
            for &(i, v) in extract(cfg, t.as_ref(), &mut s) {
                m.idx.push(i);
                m.val.push(v);
            }
            m.offsets.push(m.idx.len());
        }
        m
    }

    fn rows(&self) -> usize {
        self.offsets.len() - 1
    }

    #[inline]
    fn dot(&self, r: usize, w: &[f64]) -> f64 {
        let (a, b) = (self.offsets[r], self.offsets[r + 1]);
        let mut s = 0.0;
        for k in a..b {
            s += w[self.idx[k] as usize] * self.val[k] as f64;
        }
        s
    }
}

/// Logistic-loss objective: returns f and writes the gradient (last entry = bias).
fn objective(
    x: &Matrix,
    y: &[f64],
    c: &[f64],
    l2: f64,
    loss_fn: Loss,
    w: &[f64],
    grad: &mut [f64],
) -> f64 {
    let d = w.len() - 1;
    let bias = w[d];
    grad.iter_mut().for_each(|g| *g = 0.0);
    let mut f = 0.0;
    for r in 0..x.rows() {
        let m = x.dot(r, w) + bias;
        let (loss, dm) = match loss_fn {
            Loss::Log => {
                // y in {0,1}; loss = log(1+exp(m)) - y m, computed stably.
                let loss = if m > 0.0 {
                    m + (-m).exp().ln_1p()
                } else {
                    m.exp().ln_1p()
                } - y[r] * m;
                (loss, 1.0 / (1.0 + (-m).exp()) - y[r])
            }
            Loss::SquaredHinge | Loss::ModifiedHuber => {
                let s = 2.0 * y[r] - 1.0;
                let z = s * m;
                if z >= 1.0 {
                    (0.0, 0.0)
                } else if z >= -1.0 || loss_fn == Loss::SquaredHinge {
                    ((1.0 - z) * (1.0 - z), -2.0 * (1.0 - z) * s)
                } else {
                    (-4.0 * z, -4.0 * s)
                }
            }
        };
        f += c[r] * loss;
        let g = c[r] * dm;
        if g != 0.0 {
            for k in x.offsets[r]..x.offsets[r + 1] {
                grad[x.idx[k] as usize] += g * x.val[k] as f64;
            }
            grad[d] += g;
        }
    }
    let mut penalty = 0.0;
    for j in 0..d {
        penalty += w[j] * w[j];
        grad[j] += l2 * w[j];
    }
    f + 0.5 * l2 * penalty
}

fn dotv(a: &[f64], b: &[f64]) -> f64 {
    a.iter().zip(b).map(|(x, y)| x * y).sum()
}

/// Minimises `objective` with L-BFGS (memory 10, backtracking Armijo line search).
/// Uses `opts.l2`, `opts.loss`, `opts.iterations` and `opts.verbose`.
fn lbfgs(x: &Matrix, y: &[f64], c: &[f64], dim: usize, opts: &TrainOptions) -> Vec<f64> {
    const M: usize = 10;
    let (l2, loss, iterations, verbose) = (opts.l2, opts.loss, opts.iterations, opts.verbose);
    let n = dim + 1;
    let mut w = vec![0.0; n];
    let mut g = vec![0.0; n];
    let mut f = objective(x, y, c, l2, loss, &w, &mut g);
    let mut s_hist: Vec<Vec<f64>> = Vec::new();
    let mut y_hist: Vec<Vec<f64>> = Vec::new();
    let mut rho: Vec<f64> = Vec::new();
    let mut w_new = vec![0.0; n];
    let mut g_new = vec![0.0; n];
    let mut dir = vec![0.0; n];
    let g0 = dotv(&g, &g).sqrt();
    let start = Instant::now();
    for it in 0..iterations {
        // Two-loop recursion: dir = -H g.
        dir.copy_from_slice(&g);
        let k = s_hist.len();
        let mut alpha = vec![0.0; k];
        for i in (0..k).rev() {
            alpha[i] = rho[i] * dotv(&s_hist[i], &dir);
            for (d, yv) in dir.iter_mut().zip(&y_hist[i]) {
                *d -= alpha[i] * yv;
            }
        }
        let gamma = if k > 0 {
            dotv(&s_hist[k - 1], &y_hist[k - 1]) / dotv(&y_hist[k - 1], &y_hist[k - 1])
        } else {
            1.0 / g0.max(1e-12)
        };
        dir.iter_mut().for_each(|d| *d *= gamma);
        for i in 0..k {
            let beta = rho[i] * dotv(&y_hist[i], &dir);
            for (d, sv) in dir.iter_mut().zip(&s_hist[i]) {
                *d += (alpha[i] - beta) * sv;
            }
        }
        dir.iter_mut().for_each(|d| *d = -*d);
        let mut gd = dotv(&g, &dir);
        if gd >= 0.0 {
            // Not a descent direction: restart from steepest descent.
            s_hist.clear();
            y_hist.clear();
            rho.clear();
            for (d, gv) in dir.iter_mut().zip(&g) {
                *d = -gv / g0.max(1e-12);
            }
            gd = dotv(&g, &dir);
        }
        let mut step = 1.0;
        let mut f_new;
        let mut tries = 0;
        loop {
            for j in 0..n {
                w_new[j] = w[j] + step * dir[j];
            }
            f_new = objective(x, y, c, l2, loss, &w_new, &mut g_new);
            if f_new <= f + 1e-4 * step * gd || tries >= 20 {
                break;
            }
            step *= 0.5;
            tries += 1;
        }
        let s: Vec<f64> = w_new.iter().zip(&w).map(|(a, b)| a - b).collect();
        let yv: Vec<f64> = g_new.iter().zip(&g).map(|(a, b)| a - b).collect();
        let sy = dotv(&s, &yv);
        std::mem::swap(&mut w, &mut w_new);
        std::mem::swap(&mut g, &mut g_new);
        let improvement = f - f_new;
        f = f_new;
        if sy > 1e-12 {
            if s_hist.len() == M {
                s_hist.remove(0);
                y_hist.remove(0);
                rho.remove(0);
            }
            s_hist.push(s);
            y_hist.push(yv);
            rho.push(1.0 / sy);
        }
        let gn = dotv(&g, &g).sqrt();
        if verbose && (it % 10 == 0 || it + 1 == iterations) {
            eprintln!(
                "  iter {it:4}  f = {f:.6}  |g| = {gn:.3e}  step = {step:.3}  {:.1}s",
                start.elapsed().as_secs_f64()
            );
        }
        if gn < 1e-6 * g0.max(1.0) || improvement.abs() < 1e-10 * f.abs().max(1e-12) {
            break;
        }
    }
    w
}

/// Trains a model on the union of `sets`. The temperature is 1 (uncalibrated); see
/// [`calibrate`].
pub fn train(sets: &[TrainSet], opts: &TrainOptions) -> Model {
    let t0 = Instant::now();
    let cfg = opts.features.clone();
    let total: usize = sets.iter().map(|s| s.rows.len()).sum();
    let nonempty = sets.iter().filter(|s| !s.rows.is_empty()).count().max(1);
    let mean = total as f64 / nonempty as f64;
    let mut y = Vec::with_capacity(total);
    let mut c = Vec::with_capacity(total);
    for s in sets {
        let n = s.rows.len() as f64;
        if n == 0.0 {
            continue;
        }
        let pos = s.rows.iter().filter(|r| r.0 == 1).count() as f64;
        let neg = n - pos;
        let set_w = s.weight as f64 * (mean / n).powf(opts.set_balance as f64);
        for r in &s.rows {
            let class_w = if !opts.balance_classes || pos == 0.0 || neg == 0.0 {
                1.0
            } else if r.0 == 1 {
                n / (2.0 * pos)
            } else {
                n / (2.0 * neg)
            };
            y.push(if r.0 == 1 { 1.0 } else { 0.0 });
            c.push(set_w * class_w);
        }
    }
    let csum: f64 = c.iter().sum();
    c.iter_mut().for_each(|v| *v /= csum.max(1e-12));
    let mut x = Matrix::build(
        &cfg,
        sets.iter()
            .flat_map(|s| s.rows.iter().map(|r| r.1.as_str())),
    );
    let dim = 1usize << cfg.bits;
    let nb =
        (opts.nb_scale > 0.0).then(|| nb_factors(&x, &y, cfg.bits, opts.nb_alpha, opts.nb_scale));
    if let Some(f) = &nb {
        for j in 0..x.idx.len() {
            x.val[j] *= f[x.idx[j] as usize];
        }
    }
    if opts.verbose {
        eprintln!(
            "sentiment: {} texts, {} features ({:.1}/text), 2^{} buckets, features in {:.1}s",
            x.rows(),
            x.idx.len(),
            x.idx.len() as f64 / x.rows().max(1) as f64,
            cfg.bits,
            t0.elapsed().as_secs_f64()
        );
    }
    let w = lbfgs(&x, &y, &c, dim, opts);
    if opts.verbose {
        eprintln!("sentiment: trained in {:.1}s", t0.elapsed().as_secs_f64());
    }
    let header = Header {
        feature_version: FEATURE_VERSION,
        features: cfg,
        bias: w[dim] as f32,
        temperature: 1.0,
        neutral_margin: opts.neutral_margin,
        scale: 1.0,
        trained_on: sets
            .iter()
            .map(|s| format!("{} ({} texts)", s.name, s.rows.len()))
            .collect(),
        notes: format!(
            "L2 linear model, loss={:?}, l2={}, iterations<={}, balance_classes={}, \
             set_balance={}, nb_scale={}, nb_alpha={}",
            opts.loss,
            opts.l2,
            opts.iterations,
            opts.balance_classes,
            opts.set_balance,
            opts.nb_scale,
            opts.nb_alpha
        ),
    };
    // Fold the NB factors into the weights.
    let weights = match &nb {
        Some(f) => w[..dim]
            .iter()
            .zip(f)
            .map(|(&v, &s)| (v * s as f64) as f32)
            .collect(),
        None => w[..dim].iter().map(|&v| v as f32).collect(),
    };
    Model::from_parts(header, weights)
}

/// NBSVM-style scale factors: |log-count ratio|^power per bucket (document counts,
/// smoothed by `alpha`), divided by their mean over the buckets in use.
fn nb_factors(x: &Matrix, y: &[f64], bits: u8, alpha: f64, power: f32) -> Vec<f32> {
    let dim = 1usize << bits;
    let mut p = vec![0.0f64; dim];
    let mut q = vec![0.0f64; dim];
    for (r, &label) in y.iter().enumerate().take(x.rows()) {
        let t = if label > 0.5 { &mut p } else { &mut q };
        for k in x.offsets[r]..x.offsets[r + 1] {
            t[x.idx[k] as usize] += 1.0;
        }
    }
    let ps: f64 = p.iter().sum::<f64>() + alpha * dim as f64;
    let qs: f64 = q.iter().sum::<f64>() + alpha * dim as f64;
    let mut f: Vec<f64> = p
        .iter()
        .zip(&q)
        .map(|(&a, &b)| {
            let r = ((a + alpha) / ps).ln() - ((b + alpha) / qs).ln();
            r.abs().powf(power as f64)
        })
        .collect();
    let used: Vec<usize> = (0..dim).filter(|&j| p[j] + q[j] > 0.0).collect();
    let mean = used.iter().map(|&j| f[j]).sum::<f64>() / used.len().max(1) as f64;
    if mean > 0.0 {
        f.iter_mut().for_each(|v| *v /= mean);
    }
    f.into_iter().map(|v| v as f32).collect()
}

/// Fits the temperature T of P = sigmoid(margin / T) by minimising the log-loss on `rows`
/// (one parameter, so little risk of over-fitting), and stores it in the model. Returns T.
pub fn calibrate(model: &mut Model, rows: &[Row]) -> f32 {
    let margins: Vec<(f64, f64)> = rows
        .iter()
        .filter_map(|(l, t)| model.margin(t).map(|m| (m as f64, *l as f64)))
        .collect();
    if margins.is_empty() {
        return model.header.temperature;
    }
    let loss = |t: f64| -> f64 {
        margins
            .iter()
            .map(|&(m, y)| {
                let z = m / t;
                (if z > 0.0 {
                    z + (-z).exp().ln_1p()
                } else {
                    z.exp().ln_1p()
                }) - y * z
            })
            .sum()
    };
    // Golden-section search on ln T in [ln 0.05, ln 20].
    let (mut a, mut b) = (0.05f64.ln(), 20f64.ln());
    let r = (5f64.sqrt() - 1.0) / 2.0;
    for _ in 0..80 {
        let c1 = b - r * (b - a);
        let c2 = a + r * (b - a);
        if loss(c1.exp()) < loss(c2.exp()) {
            b = c2;
        } else {
            a = c1;
        }
    }
    let t = ((a + b) / 2.0).exp() as f32;
    model.header.temperature = t;
    t
}

/// Binary accuracy of [`Model::classify_binary`] on `rows` (0 for no rows).
pub fn evaluate(model: &Model, rows: &[Row]) -> f64 {
    if rows.is_empty() {
        return 0.0;
    }
    let ok = rows
        .iter()
        .filter(|(l, t)| {
            let (label, _) = model.classify_binary(t);
            (label == Label::Positive) == (*l == 1)
        })
        .count();
    ok as f64 / rows.len() as f64
}

/// One line of a neutral-band calibration table.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BandStats {
    pub margin: f32,
    /// Share of texts that get a non-neutral label.
    pub coverage: f64,
    /// Accuracy on those texts.
    pub accuracy: f64,
}

/// Coverage and accuracy of [`Model::classify`] on binary-labelled `rows` for each neutral
/// band half-width in `margins`.
pub fn band_table(model: &Model, rows: &[Row], margins: &[f32]) -> Vec<BandStats> {
    let scores: Vec<(f32, u8)> = rows.iter().map(|(l, t)| (model.score(t), *l)).collect();
    margins
        .iter()
        .map(|&m| {
            let kept: Vec<_> = scores
                .iter()
                .filter(|(s, _)| (s - 0.5).abs() >= m)
                .collect();
            let ok = kept.iter().filter(|(s, l)| (*s > 0.5) == (*l == 1)).count();
            BandStats {
                margin: m,
                coverage: kept.len() as f64 / scores.len().max(1) as f64,
                accuracy: if kept.is_empty() {
                    0.0
                } else {
                    ok as f64 / kept.len() as f64
                },
            }
        })
        .collect()
}

/// Per-set dev accuracy from [`train_from_dir`].
#[derive(Debug, Clone)]
pub struct DevReport {
    pub name: String,
    pub dev_rows: usize,
    pub accuracy: f64,
}

/// The full recipe of the shipped model: loads `root` with [`load_dir`], trains on every
/// train part (except [`DUPLICATE_SETS`]), calibrates the temperature on the union of the
/// dev parts, and reports the binary accuracy on each dev part.
pub fn train_from_dir(
    root: &Path,
    opts: &TrainOptions,
) -> Result<(Model, Vec<DevReport>), DataError> {
    train_from_dir_with(root, opts, Vec::new())
}

/// [`train_from_dir`] with more training sets (e.g. a person's corrections), trained
/// together with the directory's train parts; dev reports cover the directory's sets.
pub fn train_from_dir_with(
    root: &Path,
    opts: &TrainOptions,
    extra: Vec<TrainSet>,
) -> Result<(Model, Vec<DevReport>), DataError> {
    let data = load_dir(root)?;
    let mut sets = Vec::new();
    let mut dev_all = Vec::new();
    for (name, train_rows, dev) in &data {
        if DUPLICATE_SETS.contains(&name.as_str()) {
            continue;
        }
        let weight = opts
            .set_weights
            .iter()
            .find(|(n, _)| n == name)
            .map_or(1.0, |&(_, w)| w);
        if weight > 0.0 {
            let mut set = TrainSet::new(name.clone(), train_rows.clone());
            set.weight = weight;
            sets.push(set);
        }
        dev_all.extend(dev.iter().cloned());
    }
    sets.extend(extra.into_iter().filter(|s| !s.rows.is_empty()));
    let mut model = train(&sets, opts);
    let t = calibrate(&mut model, &dev_all);
    if opts.verbose {
        eprintln!("sentiment: temperature {t:.3}");
    }
    let reports = data
        .iter()
        .filter(|(name, _, dev)| !dev.is_empty() && !DUPLICATE_SETS.contains(&name.as_str()))
        .map(|(name, _, dev)| DevReport {
            name: name.clone(),
            dev_rows: dev.len(),
            accuracy: evaluate(&model, dev),
        })
        .collect();
    Ok((model, reports))
}
