//! Handling statistics (考核统计) as pure functions over cases: per department (assigned,
//! replied, closed, on time, overdue, median time to reply, 回复率, 办结率, 按时率, mean
//! satisfaction) and per monitor (found, found first, reported, late).
//!
//! Definitions (also in `docs/specs/case-workflow.md` §7):
//! - a case belongs to a period by its **first assignment** time (department figures) or
//!   its **found** time (monitor figures), `from` inclusive, `to` exclusive;
//! - the department is the lead department of the case's current assignment (co-handling
//!   departments are not counted);
//! - replied / closed / on time are judged **as of** the `as_of` instant given;
//! - the department's deadline is the leader's handling deadline if one was set, else (for
//!   a general item) the 1-day answer deadline; *on time* = met by then, *overdue* = met late
//!   or unmet and past due at `as_of`; a case with a pending or no deadline is neither;
//! - 回复率 = replied / assigned, 办结率 = closed / assigned, 按时率 = on time / (on time +
//!   overdue); a rate with a zero denominator is `None`;
//! - time to reply = first reply recorded − first assignment; the median of an even count
//!   is the mean of the two middle values (whole seconds, rounded down);
//! - per monitor: *found* = cases they registered; *found first* = of those, the ones that
//!   were the earliest case of their item (same alert or document; a hand-entered case is
//!   always first); *reported* = cases whose first report upward they made; *late* = cases
//!   they found whose notify-leading-group or report-upward deadline was missed;
//! - overdue items (督办事项, for a circular): cases whose department deadline is unmet and
//!   past due at `as_of` (assigned at any time before), or was met late within the period.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::case::Case;
use crate::deadlines::{Deadline, DeadlineKind, DeadlineRules, DeadlineStatus, deadlines_for};
use crate::org::{UnitId, UserId};

/// A statistics period: `[from, to)`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Period {
    pub from: DateTime<Utc>,
    pub to: DateTime<Utc>,
}

impl Period {
    pub fn contains(&self, t: DateTime<Utc>) -> bool {
        self.from <= t && t < self.to
    }
}

/// Figures of one department.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct DepartmentStats {
    pub unit: UnitId,
    pub assigned: u32,
    pub replied: u32,
    pub closed: u32,
    pub on_time: u32,
    pub overdue: u32,
    /// Median first assignment → first reply, in seconds.
    pub median_reply_secs: Option<i64>,
    /// 回复率
    pub reply_rate: Option<f64>,
    /// 办结率
    pub completion_rate: Option<f64>,
    /// 按时率
    pub on_time_rate: Option<f64>,
    /// Mean satisfaction (1–5) over the cases that have one.
    pub mean_satisfaction: Option<f64>,
    pub satisfaction_count: u32,
}

/// Figures of one monitor.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct MonitorStats {
    pub user: UserId,
    pub found: u32,
    pub found_first: u32,
    pub reported: u32,
    pub late: u32,
}

fn rate(n: u32, d: u32) -> Option<f64> {
    (d > 0).then(|| f64::from(n) / f64::from(d))
}

fn median(mut v: Vec<i64>) -> Option<i64> {
    if v.is_empty() {
        return None;
    }
    v.sort_unstable();
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m]
    } else {
        (v[m - 1] + v[m]).div_euclid(2)
    })
}

/// The deadline the lead department answers for: the leader's handling deadline if one
/// was set, else (a general item) the 1-day answer deadline; judged as of `as_of` (a
/// step after it has not happened yet).
pub fn department_deadline(
    case: &Case,
    rules: &DeadlineRules,
    as_of: DateTime<Utc>,
) -> Option<Deadline> {
    let ds = deadlines_for(case, rules);
    let mut d = ds
        .iter()
        .find(|d| d.what == DeadlineKind::Handling)
        .or_else(|| ds.iter().find(|d| d.what == DeadlineKind::AnswerGeneral))?
        .clone();
    d.met_at = d.met_at.filter(|m| *m <= as_of);
    Some(d)
}

/// A department's deadline missed (督办事项), for a circular.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct OverdueItem {
    pub case: String,
    pub title: String,
    /// The lead department.
    pub unit: UnitId,
    pub due_at: DateTime<Utc>,
    /// When it was met (late); `None`: still unmet at `as_of`.
    pub met_at: Option<DateTime<Utc>>,
    /// How late: met − due, or `as_of` − due while unmet (seconds).
    pub late_secs: i64,
}

impl OverdueItem {
    /// 逾期办理 (met late) or 逾期未办 (still unmet).
    pub fn state_zh(&self) -> &'static str {
        if self.met_at.is_some() {
            "逾期办理"
        } else {
            "逾期未办"
        }
    }
}

/// The departments' missed deadlines, by due time: every assigned case whose
/// [`department_deadline`] is unmet and past due at `as_of` (whenever it was assigned:
/// it is still outstanding), and those met late within `period`.
pub fn overdue_items(
    cases: &[Case],
    rules: &DeadlineRules,
    period: Period,
    as_of: DateTime<Utc>,
) -> Vec<OverdueItem> {
    let mut out: Vec<OverdueItem> = cases
        .iter()
        .filter(|c| c.first_assigned_at.is_some_and(|t| t <= as_of))
        .filter_map(|c| {
            let a = c.assignment.as_ref()?;
            let d = department_deadline(c, rules, as_of)?;
            let late_secs = match d.status(as_of) {
                DeadlineStatus::Overdue => (as_of - d.due_at).num_seconds(),
                DeadlineStatus::MetLate if d.met_at.is_some_and(|m| period.contains(m)) => {
                    (d.met_at? - d.due_at).num_seconds()
                }
                _ => return None,
            };
            Some(OverdueItem {
                case: c.id.clone(),
                title: c.title.clone(),
                unit: a.lead.clone(),
                due_at: d.due_at,
                met_at: d.met_at,
                late_secs,
            })
        })
        .collect();
    out.sort_by(|a, b| (a.due_at, &a.case).cmp(&(b.due_at, &b.case)));
    out
}

/// Per-department figures, sorted by unit id.
pub fn department_stats(
    cases: &[Case],
    rules: &DeadlineRules,
    period: Period,
    as_of: DateTime<Utc>,
) -> Vec<DepartmentStats> {
    struct Acc {
        s: DepartmentStats,
        reply_secs: Vec<i64>,
        sat_sum: u32,
    }
    let mut by: BTreeMap<UnitId, Acc> = BTreeMap::new();
    for case in cases {
        let (Some(a), Some(first)) = (&case.assignment, case.first_assigned_at) else {
            continue;
        };
        if !period.contains(first) {
            continue;
        }
        let acc = by.entry(a.lead.clone()).or_insert_with(|| Acc {
            s: DepartmentStats {
                unit: a.lead.clone(),
                ..Default::default()
            },
            reply_secs: vec![],
            sat_sum: 0,
        });
        acc.s.assigned += 1;
        if let Some(r) = case.first_replied_at().filter(|r| *r <= as_of) {
            acc.s.replied += 1;
            acc.reply_secs.push((r - first).num_seconds());
        }
        if case.first_closed_at.is_some_and(|c| c <= as_of) {
            acc.s.closed += 1;
        }
        if let Some(d) = department_deadline(case, rules, as_of) {
            match d.status(as_of) {
                DeadlineStatus::MetOnTime => acc.s.on_time += 1,
                DeadlineStatus::MetLate | DeadlineStatus::Overdue => acc.s.overdue += 1,
                DeadlineStatus::Pending => {}
            }
        }
        if let Some(s) = &case.satisfaction {
            acc.s.satisfaction_count += 1;
            acc.sat_sum += u32::from(s.score);
        }
    }
    by.into_values()
        .map(|mut acc| {
            let s = &mut acc.s;
            s.median_reply_secs = median(acc.reply_secs);
            s.reply_rate = rate(s.replied, s.assigned);
            s.completion_rate = rate(s.closed, s.assigned);
            s.on_time_rate = rate(s.on_time, s.on_time + s.overdue);
            s.mean_satisfaction = (s.satisfaction_count > 0)
                .then(|| f64::from(acc.sat_sum) / f64::from(s.satisfaction_count));
            acc.s
        })
        .collect()
}

/// One case a monitor found in a period, with what the monitor figures and points are
/// judged from.
pub(crate) struct Found<'a> {
    pub case: &'a Case,
    /// The earliest case of its item (same alert or document) over all cases; a
    /// hand-entered case always is.
    pub first: bool,
    /// The notify-leading-group and report-upward deadlines missed as of `as_of`.
    pub missed: Vec<Deadline>,
    /// The first report upward, if made by `as_of`.
    pub report: Option<&'a crate::case::Report>,
}

/// The cases found (by `found_at`) in `period`, judged as of `as_of`, in the order given.
pub(crate) fn found_in<'a>(
    cases: &'a [Case],
    rules: &DeadlineRules,
    period: Period,
    as_of: DateTime<Utc>,
) -> Vec<Found<'a>> {
    // The first case of each item over all cases (not only the period).
    let mut first_of: BTreeMap<String, (DateTime<Utc>, DateTime<Utc>, &str)> = BTreeMap::new();
    for c in cases {
        if let Some(k) = c.source.item_key() {
            let cand = (c.found_at, c.registered_at, c.id.as_str());
            first_of
                .entry(k)
                .and_modify(|cur| {
                    if cand < *cur {
                        *cur = cand;
                    }
                })
                .or_insert(cand);
        }
    }
    cases
        .iter()
        .filter(|c| period.contains(c.found_at))
        .map(|c| Found {
            case: c,
            first: match c.source.item_key() {
                None => true,
                Some(k) => first_of.get(&k).is_some_and(|f| f.2 == c.id),
            },
            missed: deadlines_for(c, rules)
                .into_iter()
                .filter_map(|mut d| {
                    d.met_at = d.met_at.filter(|m| *m <= as_of);
                    (matches!(
                        d.what,
                        DeadlineKind::NotifyLeadingGroup | DeadlineKind::ReportUpward
                    ) && d.missed(as_of))
                    .then_some(d)
                })
                .collect(),
            report: c.reports.first().filter(|r| r.at <= as_of),
        })
        .collect()
}

/// Per-monitor figures, sorted by user id.
pub fn monitor_stats(
    cases: &[Case],
    rules: &DeadlineRules,
    period: Period,
    as_of: DateTime<Utc>,
) -> Vec<MonitorStats> {
    let mut by: BTreeMap<UserId, MonitorStats> = BTreeMap::new();
    fn get<'a>(by: &'a mut BTreeMap<UserId, MonitorStats>, u: &str) -> &'a mut MonitorStats {
        by.entry(u.to_string()).or_insert_with(|| MonitorStats {
            user: u.to_string(),
            ..Default::default()
        })
    }
    for f in found_in(cases, rules, period, as_of) {
        let m = get(&mut by, &f.case.registered_by);
        m.found += 1;
        if f.first {
            m.found_first += 1;
        }
        if !f.missed.is_empty() {
            m.late += 1;
        }
        if let Some(r) = f.report {
            get(&mut by, &r.by).reported += 1;
        }
    }
    by.into_values().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn median_and_rates() {
        assert_eq!(median(vec![]), None);
        assert_eq!(median(vec![5]), Some(5));
        assert_eq!(median(vec![9, 1, 5]), Some(5));
        assert_eq!(median(vec![4, 1, 2, 3]), Some(2)); // (2 + 3) / 2 rounded down
        assert_eq!(rate(1, 0), None);
        assert_eq!(rate(1, 4), Some(0.25));
    }

    #[test]
    fn no_cases_no_figures() {
        let t = chrono::DateTime::from_timestamp(0, 0).unwrap_or_default();
        let p = Period { from: t, to: t };
        assert!(department_stats(&[], &DeadlineRules::default(), p, t).is_empty());
        assert!(monitor_stats(&[], &DeadlineRules::default(), p, t).is_empty());
    }
}
