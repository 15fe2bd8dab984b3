//! Performance points (绩效考核分) of the monitors, itemised: what the office's monthly
//! reward-and-penalty rule (003 篇十二: "根据舆情的发现、上报等各个环节的应对处理情况，给予
//! 加分奖励……未发现舆情或应对不力……扣除一定绩效分值") counts, from the cases and the
//! escalation notices, with configurable weights (`[assessment]`).
//!
//! Definitions (also in `docs/specs/case-workflow.md` §7), over the cases found in the
//! period as [`monitor_stats`](crate::stats::monitor_stats) counts them:
//! - **found_first**: the monitor registered the earliest case of its item: the weight of
//!   the case's level (an ungraded case counts as general);
//! - **reported**: the monitor made the case's first report upward by `as_of`, within the
//!   report-upward deadline where one applies;
//! - **late**: a case the monitor registered missed its notify-leading-group or
//!   report-upward deadline (one entry per case, however many it missed);
//! - **unacknowledged**: an alert went past the person on the duty roster without an
//!   acknowledgement (the next person was told, `alert_notices`), counted in the period of
//!   that notice;
//! - **adjusted**: a leader's manual adjustment (领导加减分: points "根据效果、网上影响大小等
//!   因素", or a deduction for an item missed or badly handled), with its reason, counted
//!   in the period of its time; a revoked one does not count.
//!
//! Each entry says which case or alert it is for, so a total can be explained and checked.

use std::collections::BTreeMap;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use yuqing_judge::grading::Level;

use crate::case::Case;
use crate::deadlines::{DeadlineKind, DeadlineRules};
use crate::error::{Result, WorkflowError};
use crate::org::UserId;
use crate::stats::{Period, found_in};

/// Points per level (found first).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LevelPoints {
    pub general: i32,
    pub large: i32,
    pub major: i32,
    pub especially_major: i32,
}

impl Default for LevelPoints {
    fn default() -> Self {
        Self {
            general: 1,
            large: 2,
            major: 3,
            especially_major: 5,
        }
    }
}

impl LevelPoints {
    pub fn get(&self, level: Level) -> i32 {
        match level {
            Level::General => self.general,
            Level::Large => self.large,
            Level::Major => self.major,
            Level::EspeciallyMajor => self.especially_major,
        }
    }
}

/// The weights (`[assessment]`): rewards are ≥ 0, penalties ≤ 0; 0 turns a rule off.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PointRules {
    /// Finding an item first, by its level.
    pub found_first: LevelPoints,
    /// Reporting upward in time.
    pub reported: i32,
    /// A missed notify-leading-group or report-upward deadline.
    pub late: i32,
    /// An alert that went past the person on duty unacknowledged.
    pub unacknowledged: i32,
}

impl Default for PointRules {
    fn default() -> Self {
        Self {
            found_first: LevelPoints::default(),
            reported: 1,
            late: -2,
            unacknowledged: -1,
        }
    }
}

impl PointRules {
    /// Refuses a reward below 0 or a penalty above 0 (a sign slip would reward lateness).
    pub fn validate(&self) -> Result<()> {
        let f = &self.found_first;
        let rewards = [
            ("found_first.general", f.general),
            ("found_first.large", f.large),
            ("found_first.major", f.major),
            ("found_first.especially_major", f.especially_major),
            ("reported", self.reported),
        ];
        if let Some((k, v)) = rewards.iter().find(|(_, v)| *v < 0) {
            return Err(WorkflowError::invalid(
                "bad_setting",
                format!("{k} = {v}：加分项不能为负数；不计分请写 0"),
                format!("{k} = {v}: a reward cannot be negative; write 0 to turn it off"),
            ));
        }
        let penalties = [("late", self.late), ("unacknowledged", self.unacknowledged)];
        if let Some((k, v)) = penalties.iter().find(|(_, v)| *v > 0) {
            return Err(WorkflowError::invalid(
                "bad_setting",
                format!("{k} = {v}：扣分项应为负数（如 -2）；不计分请写 0"),
                format!("{k} = {v}: a penalty is negative (e.g. -2); write 0 to turn it off"),
            ));
        }
        Ok(())
    }
}

/// What a point entry is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PointKind {
    FoundFirst,
    Reported,
    Late,
    Unacknowledged,
    Adjusted,
}

impl PointKind {
    pub fn label_zh(self) -> &'static str {
        match self {
            PointKind::FoundFirst => "首先发现",
            PointKind::Reported => "按时上报",
            PointKind::Late => "迟报",
            PointKind::Unacknowledged => "预警未及时确认",
            PointKind::Adjusted => "领导加减分",
        }
    }
}

/// An alert that went past `who` on the duty roster without acknowledgement: the next
/// person was told at `at`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PassedAlert {
    pub alert_id: i64,
    pub title: String,
    pub who: UserId,
    pub at: DateTime<Utc>,
}

/// A leader's manual adjustment, as counted (the store keeps who revoked what).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Adjustment {
    pub id: i64,
    pub user: UserId,
    pub points: i32,
    pub reason: String,
    pub case_id: Option<String>,
    pub at: DateTime<Utc>,
    pub by: UserId,
}

/// Largest number of points one adjustment may add or take away.
pub const ADJUSTMENT_MAX: i32 = 100;
/// Longest reason of an adjustment, in characters.
pub const ADJUSTMENT_REASON_MAX: usize = 500;

impl Adjustment {
    /// Checks the points (not 0, at most [`ADJUSTMENT_MAX`] either way) and the reason
    /// (given, at most [`ADJUSTMENT_REASON_MAX`] characters).
    pub fn validate(points: i32, reason: &str) -> Result<()> {
        if points == 0 || points.abs() > ADJUSTMENT_MAX {
            return Err(WorkflowError::invalid(
                "bad_points",
                format!(
                    "加减分应为 -{ADJUSTMENT_MAX} 到 {ADJUSTMENT_MAX} 之间的非零整数，收到 {points}"
                ),
                format!(
                    "an adjustment is a non-zero whole number from -{ADJUSTMENT_MAX} to {ADJUSTMENT_MAX}, got {points}"
                ),
            ));
        }
        let n = reason.trim().chars().count();
        if n == 0 || n > ADJUSTMENT_REASON_MAX {
            return Err(WorkflowError::invalid(
                "bad_reason",
                format!("请写明加减分的理由（1 到 {ADJUSTMENT_REASON_MAX} 字），收到 {n} 字"),
                format!(
                    "give the reason for the adjustment (1 to {ADJUSTMENT_REASON_MAX} characters), got {n}"
                ),
            ));
        }
        Ok(())
    }
}

/// One reward or penalty.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PointEntry {
    pub kind: PointKind,
    pub points: i32,
    /// When it was earned: the case's found time, the report's time, the first missed
    /// deadline's due time, the notice's time, the adjustment's time.
    pub at: DateTime<Utc>,
    /// `case:ID`, `alert:ID`, or for an adjustment without a case `adjustment:ID`.
    pub target: String,
    /// The case's or alert's title; an adjustment's reason.
    pub title: String,
    /// adjusted: the adjustment's id and who made it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub adjustment: Option<i64>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<UserId>,
    /// found_first: the level counted (general for an ungraded case).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub level: Option<Level>,
    /// late: the deadlines missed.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub deadlines: Vec<DeadlineKind>,
}

impl PointEntry {
    /// An entry with no level, deadlines or adjustment.
    fn new(kind: PointKind, points: i32, at: DateTime<Utc>, target: String, title: &str) -> Self {
        PointEntry {
            kind,
            points,
            at,
            target,
            title: title.to_owned(),
            level: None,
            deadlines: Vec::new(),
            adjustment: None,
            by: None,
        }
    }
}

/// One person's points in a period.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MonitorPoints {
    pub user: UserId,
    pub total: i32,
    /// By time.
    pub entries: Vec<PointEntry>,
}

impl MonitorPoints {
    /// How many of the entries are of `kind`.
    pub fn count(&self, kind: PointKind) -> usize {
        self.entries.iter().filter(|e| e.kind == kind).count()
    }

    /// The points of the entries of `kind`.
    pub fn sum(&self, kind: PointKind) -> i32 {
        self.entries
            .iter()
            .filter(|e| e.kind == kind)
            .map(|e| e.points)
            .sum()
    }
}

/// The headers of [`MonitorRow::figures`], in order (the year-end report's and the
/// Excel export's monitor tables).
pub const MONITOR_FIGURES: [&str; 7] = [
    "发现",
    "首先发现",
    "上报",
    "迟报",
    "预警未及时确认",
    "领导加减分",
    "考核分",
];

/// One person's row of the monitor tables: their figures and points.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MonitorRow<'a> {
    pub user: &'a str,
    pub stats: Option<&'a crate::stats::MonitorStats>,
    pub points: Option<&'a MonitorPoints>,
}

impl MonitorRow<'_> {
    /// The figures under [`MONITOR_FIGURES`]: found, found first, reported, late, alerts
    /// let pass, the leaders' adjustments, the total points.
    pub fn figures(&self) -> [i64; 7] {
        let m = |f: fn(&crate::stats::MonitorStats) -> u32| i64::from(self.stats.map_or(0, f));
        let p = |f: &dyn Fn(&MonitorPoints) -> i64| self.points.map_or(0, f);
        [
            m(|m| m.found),
            m(|m| m.found_first),
            m(|m| m.reported),
            m(|m| m.late),
            p(&|p| p.count(PointKind::Unacknowledged) as i64),
            p(&|p| i64::from(p.sum(PointKind::Adjusted))),
            p(&|p| i64::from(p.total)),
        ]
    }
}

/// Everyone with monitor figures or points (a person on duty may have only points), by
/// user id, each once, with their figures and points.
pub fn monitor_rows<'a>(
    monitors: &'a [crate::stats::MonitorStats],
    points: &'a [MonitorPoints],
) -> Vec<MonitorRow<'a>> {
    let mut users: Vec<&str> = monitors
        .iter()
        .map(|m| m.user.as_str())
        .chain(points.iter().map(|p| p.user.as_str()))
        .collect();
    users.sort_unstable();
    users.dedup();
    users
        .into_iter()
        .map(|user| MonitorRow {
            user,
            stats: monitors.iter().find(|m| m.user == user),
            points: points.iter().find(|p| p.user == user),
        })
        .collect()
}

/// Everyone's points for `period` as of `as_of`, sorted by user id; entries worth 0 (a
/// rule turned off) are left out, and so is a person with no entry. `adjustments` are the
/// ones in force (not revoked).
pub fn monitor_points(
    cases: &[Case],
    passed: &[PassedAlert],
    adjustments: &[Adjustment],
    deadlines: &DeadlineRules,
    rules: &PointRules,
    period: Period,
    as_of: DateTime<Utc>,
) -> Vec<MonitorPoints> {
    let mut by: BTreeMap<&str, Vec<PointEntry>> = BTreeMap::new();
    let found = found_in(cases, deadlines, period, as_of);
    for f in &found {
        let c = f.case;
        let entry = |kind, points, at| {
            PointEntry::new(kind, points, at, format!("case:{}", c.id), &c.title)
        };
        if f.first {
            let level = c.level.unwrap_or(Level::General);
            by.entry(&c.registered_by).or_default().push(PointEntry {
                level: Some(level),
                ..entry(
                    PointKind::FoundFirst,
                    rules.found_first.get(level),
                    c.found_at,
                )
            });
        }
        // A report in time: no missed report-upward deadline (none applies, or it was met).
        if let Some(r) = f.report
            && !f
                .missed
                .iter()
                .any(|d| d.what == DeadlineKind::ReportUpward)
        {
            by.entry(&r.by)
                .or_default()
                .push(entry(PointKind::Reported, rules.reported, r.at));
        }
        if let Some(first) = f.missed.iter().map(|d| d.due_at).min() {
            by.entry(&c.registered_by).or_default().push(PointEntry {
                deadlines: f.missed.iter().map(|d| d.what).collect(),
                ..entry(PointKind::Late, rules.late, first)
            });
        }
    }
    for p in passed
        .iter()
        .filter(|p| period.contains(p.at) && p.at <= as_of)
    {
        by.entry(&p.who).or_default().push(PointEntry::new(
            PointKind::Unacknowledged,
            rules.unacknowledged,
            p.at,
            format!("alert:{}", p.alert_id),
            &p.title,
        ));
    }
    for a in adjustments
        .iter()
        .filter(|a| period.contains(a.at) && a.at <= as_of)
    {
        let target = match &a.case_id {
            Some(c) => format!("case:{c}"),
            None => format!("adjustment:{}", a.id),
        };
        by.entry(&a.user).or_default().push(PointEntry {
            adjustment: Some(a.id),
            by: Some(a.by.clone()),
            ..PointEntry::new(PointKind::Adjusted, a.points, a.at, target, &a.reason)
        });
    }
    by.into_iter()
        .filter_map(|(user, mut entries)| {
            entries.retain(|e| e.points != 0);
            entries.sort_by(|a, b| (a.at, a.kind, &a.target).cmp(&(b.at, b.kind, &b.target)));
            (!entries.is_empty()).then(|| MonitorPoints {
                user: user.to_owned(),
                total: entries.iter().map(|e| e.points).sum(),
                entries,
            })
        })
        .collect()
}

/// The alerts that went past someone unacknowledged, from escalation notices
/// `(alert, step, who, at)`: the notice of step k + 1 passes the person told at step k.
/// A step whose previous notice is missing passes nobody.
pub fn passed_alerts<'a>(
    notices: impl IntoIterator<Item = (i64, i64, &'a str, DateTime<Utc>)>,
    title_of: impl Fn(i64) -> String,
) -> Vec<PassedAlert> {
    let mut by: BTreeMap<(i64, i64), (&str, DateTime<Utc>)> = BTreeMap::new();
    for (alert, step, who, at) in notices {
        by.insert((alert, step), (who, at));
    }
    by.iter()
        .filter_map(|(&(alert, step), &(_, at))| {
            let (who, _) = by.get(&(alert, step.checked_sub(1)?))?;
            Some(PassedAlert {
                alert_id: alert,
                title: title_of(alert),
                who: (*who).to_owned(),
                at,
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn signs_are_checked() {
        assert!(PointRules::default().validate().is_ok());
        let e = PointRules {
            late: 2,
            ..Default::default()
        }
        .validate()
        .expect_err("a positive penalty");
        assert!(e.to_string().contains("late = 2"), "{e}");
        let e = PointRules {
            found_first: LevelPoints {
                major: -1,
                ..Default::default()
            },
            ..Default::default()
        }
        .validate()
        .expect_err("a negative reward");
        assert!(e.to_string().contains("found_first.major"), "{e}");
    }

    #[test]
    fn adjustments_are_checked() {
        assert!(Adjustment::validate(3, "效果好").is_ok());
        assert!(Adjustment::validate(-100, "漏报").is_ok());
        for (p, r, what) in [
            (0, "x", "bad_points"),
            (101, "x", "bad_points"),
            (-101, "x", "bad_points"),
            (2, "  ", "bad_reason"),
            (2, &"很".repeat(501), "bad_reason"),
        ] {
            let e = Adjustment::validate(p, r).expect_err("refused");
            assert!(format!("{e:?}").contains(what), "{p} {r:?}: {e:?}");
        }
    }

    #[test]
    fn a_notice_passes_the_person_before() {
        let t = |m: i64| DateTime::from_timestamp(m * 60, 0).unwrap_or_default();
        let passed = passed_alerts(
            [
                (7, 0, "zhang", t(0)),
                (7, 1, "li", t(15)),
                (7, 2, "wang", t(30)),
                (8, 0, "zhang", t(1)),
                // Step 1 of alert 9 is missing: step 2 passes nobody.
                (9, 0, "zhang", t(2)),
                (9, 2, "wang", t(32)),
            ],
            |a| format!("预警{a}"),
        );
        let got: Vec<(i64, &str, DateTime<Utc>)> = passed
            .iter()
            .map(|p| (p.alert_id, p.who.as_str(), p.at))
            .collect();
        assert_eq!(got, vec![(7, "zhang", t(15)), (7, "li", t(30))]);
        assert_eq!(passed[0].title, "预警7");
    }
}
