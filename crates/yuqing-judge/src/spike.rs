//! Spike detection (突增): is the last hour (or few hours) of an item or event unusually
//! busy compared with the hours before? The answer carries its numbers so an alert can say
//! why it fired ("近 1 小时 42 条，基线均值 3.1、标准差 1.2，阈值 6.7").
//!
//! The window is the `window_hours` hours ending with `now_hour` (inclusive); the baseline
//! is the `baseline_hours` hours just before the window. With the baseline's mean `m` and
//! standard deviation `sd` (population, missing hours count as 0), the threshold is
//! `window_hours × (m + k·sd)`, and a spike is `window_count > threshold` with at least
//! `min_count` items in the window (so 0 → 2 is not a spike).

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::error::JudgeError;

/// Spike detection settings (`[judge.spike]` in the configuration).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SpikeSettings {
    /// Hours in the window, ending with the current hour (1).
    pub window_hours: u32,
    /// Hours of baseline before the window (24).
    pub baseline_hours: u32,
    /// Standard deviations above the mean (3.0).
    pub k: f64,
    /// Fewest items in the window for a spike (5).
    pub min_count: u64,
}

impl Default for SpikeSettings {
    fn default() -> Self {
        SpikeSettings {
            window_hours: 1,
            baseline_hours: 24,
            k: 3.0,
            min_count: 5,
        }
    }
}

impl SpikeSettings {
    /// Rejects a zero window, a zero baseline and a negative or non-finite `k`.
    pub fn validate(&self) -> Result<(), JudgeError> {
        if self.window_hours == 0 {
            return Err(JudgeError::BadSetting {
                key: "window_hours",
                value: "0".into(),
                zh: "窗口至少 1 小时",
                en: "the window must be at least 1 hour",
            });
        }
        if self.baseline_hours == 0 {
            return Err(JudgeError::BadSetting {
                key: "baseline_hours",
                value: "0".into(),
                zh: "基线至少 1 小时",
                en: "the baseline must be at least 1 hour",
            });
        }
        if !self.k.is_finite() || self.k < 0.0 {
            return Err(JudgeError::BadSetting {
                key: "k",
                value: self.k.to_string(),
                zh: "应为不小于 0 的有限数",
                en: "it must be a finite number ≥ 0",
            });
        }
        Ok(())
    }
}

/// The result of [`detect`], with every number that went into it.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Spike {
    /// Items in the window.
    pub window_count: u64,
    /// Mean items per hour over the baseline.
    pub baseline_mean: f64,
    /// Standard deviation (population) of items per hour over the baseline.
    pub baseline_sd: f64,
    /// `window_hours × (baseline_mean + k × baseline_sd)`.
    pub threshold: f64,
    pub k: f64,
    /// `window_count > threshold && window_count ≥ min_count`.
    pub is_spike: bool,
    /// First hour of the window (unix hours: seconds / 3600).
    pub window_start_hour: i64,
    /// First hour of the baseline.
    pub baseline_start_hour: i64,
    pub window_hours: u32,
    pub baseline_hours: u32,
}

/// Detects a spike in `hourly` (unix hour, count) pairs: sparse, in any order, repeated
/// hours are added, missing hours are 0. A zero window or baseline in `s` is read as 1 hour
/// (see [`SpikeSettings::validate`]); a non-finite or negative `k` as 0.
pub fn detect(hourly: &[(i64, u64)], now_hour: i64, s: &SpikeSettings) -> Spike {
    let wh = s.window_hours.max(1);
    let bh = s.baseline_hours.max(1);
    let k = if s.k.is_finite() && s.k > 0.0 {
        s.k
    } else {
        0.0
    };
    let window_start = now_hour.saturating_sub(i64::from(wh) - 1);
    let baseline_start = window_start.saturating_sub(i64::from(bh));

    let mut window_count = 0u64;
    let mut baseline: HashMap<i64, u64> = HashMap::new();
    for &(h, c) in hourly {
        if (window_start..=now_hour).contains(&h) {
            window_count = window_count.saturating_add(c);
        } else if (baseline_start..window_start).contains(&h) {
            let e = baseline.entry(h).or_default();
            *e = e.saturating_add(c);
        }
    }
    let n = f64::from(bh);
    let sum: f64 = baseline.values().map(|&c| c as f64).sum();
    let mean = sum / n;
    // Hours absent from the map are zeros: each contributes mean² to the variance.
    let zeros = n - baseline.len() as f64;
    let var = (baseline
        .values()
        .map(|&c| (c as f64 - mean).powi(2))
        .sum::<f64>()
        + zeros * mean * mean)
        / n;
    let sd = var.max(0.0).sqrt();
    let threshold = f64::from(wh) * (mean + k * sd);
    Spike {
        window_count,
        baseline_mean: mean,
        baseline_sd: sd,
        threshold,
        k,
        is_spike: (window_count as f64) > threshold && window_count >= s.min_count,
        window_start_hour: window_start,
        baseline_start_hour: baseline_start,
        window_hours: wh,
        baseline_hours: bh,
    }
}

/// Counts per unix hour of millisecond timestamps, sorted by hour (negative times work:
/// hours are floored).
pub fn hourly_series(times_ms: impl Iterator<Item = i64>) -> Vec<(i64, u64)> {
    let mut hours: Vec<i64> = times_ms.map(|t| t.div_euclid(3_600_000)).collect();
    hours.sort_unstable();
    let mut out: Vec<(i64, u64)> = Vec::new();
    for h in hours {
        match out.last_mut() {
            Some((last, c)) if *last == h => *c += 1,
            _ => out.push((h, 1)),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: i64 = 500_000;

    #[test]
    fn flat_baseline_is_not_a_spike() {
        let hourly: Vec<(i64, u64)> = (NOW - 24..=NOW).map(|h| (h, 10)).collect();
        let s = detect(&hourly, NOW, &SpikeSettings::default());
        assert_eq!(s.window_count, 10);
        assert_eq!(s.baseline_mean, 10.0);
        assert_eq!(s.baseline_sd, 0.0);
        assert_eq!(s.threshold, 10.0);
        assert!(!s.is_spike);
        assert_eq!(s.window_start_hour, NOW);
        assert_eq!(s.baseline_start_hour, NOW - 24);
    }

    #[test]
    fn sudden_burst_is_a_spike() {
        // Baseline alternates 2 and 4 (mean 3, sd 1): threshold 3 + 3·1 = 6.
        let mut hourly: Vec<(i64, u64)> = (NOW - 24..NOW)
            .map(|h| (h, if h % 2 == 0 { 2 } else { 4 }))
            .collect();
        hourly.push((NOW, 7));
        hourly.reverse(); // any order
        let s = detect(&hourly, NOW, &SpikeSettings::default());
        assert!((s.baseline_mean - 3.0).abs() < 1e-9);
        assert!((s.baseline_sd - 1.0).abs() < 1e-9);
        assert!((s.threshold - 6.0).abs() < 1e-9);
        assert!(s.is_spike);
        // At the threshold is not a spike.
        let last = hourly.iter_mut().find(|(h, _)| *h == NOW).unwrap();
        last.1 = 6;
        assert!(!detect(&hourly, NOW, &SpikeSettings::default()).is_spike);
        // Data after now and before the baseline is ignored.
        hourly.push((NOW + 1, 1000));
        hourly.push((NOW - 25, 1000));
        let s = detect(&hourly, NOW, &SpikeSettings::default());
        assert_eq!(s.window_count, 6);
        assert!((s.baseline_mean - 3.0).abs() < 1e-9);
    }

    #[test]
    fn sparse_hours_are_zeros_and_repeats_add_up() {
        // One busy hour in an otherwise empty day: mean 24/24 = 1, sd = sqrt(23).
        let hourly = [(NOW - 5, 12), (NOW - 5, 12), (NOW, 40)];
        let s = detect(&hourly, NOW, &SpikeSettings::default());
        assert!((s.baseline_mean - 1.0).abs() < 1e-9);
        assert!((s.baseline_sd - 23f64.sqrt()).abs() < 1e-9);
        assert!(s.is_spike, "{s:?}");
    }

    #[test]
    fn min_count_guards_small_numbers() {
        let hourly = [(NOW, 4)];
        let s = detect(&hourly, NOW, &SpikeSettings::default());
        assert_eq!(s.threshold, 0.0);
        assert!(!s.is_spike);
        let s = detect(&[(NOW, 5)], NOW, &SpikeSettings::default());
        assert!(s.is_spike);
        let s = detect(
            &[(NOW, 1)],
            NOW,
            &SpikeSettings {
                min_count: 0,
                ..Default::default()
            },
        );
        assert!(s.is_spike);
    }

    #[test]
    fn empty_series() {
        let s = detect(&[], NOW, &SpikeSettings::default());
        assert_eq!(
            (s.window_count, s.baseline_mean, s.baseline_sd),
            (0, 0.0, 0.0)
        );
        assert!(!s.is_spike);
        // Extreme hours do not overflow.
        let s = detect(&[(i64::MIN, 3)], i64::MIN, &SpikeSettings::default());
        assert_eq!(s.window_count, 3);
    }

    #[test]
    fn wider_window_scales_threshold() {
        let settings = SpikeSettings {
            window_hours: 3,
            baseline_hours: 6,
            ..Default::default()
        };
        let mut hourly: Vec<(i64, u64)> = (NOW - 8..NOW - 2).map(|h| (h, 5)).collect();
        hourly.extend([(NOW - 2, 6), (NOW - 1, 6), (NOW, 6)]);
        let s = detect(&hourly, NOW, &settings);
        assert_eq!(s.window_start_hour, NOW - 2);
        assert_eq!(s.baseline_start_hour, NOW - 8);
        assert_eq!(s.window_count, 18);
        assert_eq!(s.threshold, 15.0);
        assert!(s.is_spike);
        let json = serde_json::to_value(&s).unwrap();
        assert_eq!(json["threshold"], 15.0);
    }

    #[test]
    fn settings_validate_and_defaults() {
        assert!(SpikeSettings::default().validate().is_ok());
        let s: SpikeSettings = toml::from_str("k = 2.5").unwrap();
        assert_eq!(
            (s.window_hours, s.baseline_hours, s.k, s.min_count),
            (1, 24, 2.5, 5)
        );
        assert!(toml::from_str::<SpikeSettings>("kk = 2").is_err());
        let s = SpikeSettings {
            window_hours: 0,
            ..Default::default()
        };
        assert!(s.validate().is_err());
        assert_eq!(detect(&[(NOW, 9)], NOW, &s).window_count, 9);
        let s = SpikeSettings {
            k: f64::NAN,
            ..Default::default()
        };
        assert!(s.validate().is_err());
    }

    #[test]
    fn hourly_series_sorts_and_counts() {
        let h = 3_600_000;
        let times = [5 * h + 1, 2 * h, 5 * h + h - 1, 2 * h + 10, -1, 7 * h];
        assert_eq!(
            hourly_series(times.into_iter()),
            [(-1, 1), (2, 2), (5, 2), (7, 1)]
        );
        assert!(hourly_series(std::iter::empty()).is_empty());
    }
}
