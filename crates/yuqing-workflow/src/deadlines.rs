//! Deadlines (时限) and reminders (催办/督办).
//!
//! [`DeadlineRules`] holds the configurable time limits (defaults from the seeds, see
//! `docs/specs/case-workflow.md` §5) and an optional working-day calendar.
//! [`deadlines_for`] derives a case's deadlines and whether and when each was met;
//! [`tick`] turns them into reminders. Everything is a pure function of its inputs: `tick`
//! takes the keys of the reminders already sent and never returns one of them again, so a
//! scheduler may call it as often as it likes and stores the keys it sent.
//!
//! **Spans** are written `30m`, `2h`, `1d`, `2w`. Minutes, hours and weeks are always
//! elapsed time. Days are elapsed time too unless the calendar is enabled; then `Nd` means
//! N×24 hours *of working days*: time that falls on a non-working day (a weekend day or a
//! listed holiday, unless the date is a listed make-up working day 调休) does not count.
//! Days are calendar days in Beijing time (UTC+8). So with the calendar on, an item found
//! on Friday at 18:00 and due in `1d` is due on Monday at 18:00 (6 h of Friday + 18 h of
//! Monday); one found on Saturday at 10:00 is due on Tuesday at 00:00 (all of Monday).

use std::collections::BTreeSet;
use std::fmt;

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveTime, TimeZone, Utc, Weekday};
use serde::{Deserialize, Serialize};
use yuqing_core::Message;
use yuqing_judge::grading::{Level, beijing};

use crate::case::Case;
use crate::error::{Result, WorkflowError};
use crate::org::UnitId;

/// A length of time as written in the configuration (`30m`, `2h`, `1d`, `2w`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Span {
    Minutes(u32),
    Hours(u32),
    /// Working days when the calendar is enabled, else 24-hour days.
    Days(u32),
    Weeks(u32),
}

impl Span {
    /// Parses `<number><unit>` with unit `m`, `h`, `d` or `w` (also 分钟/小时/天/周).
    pub fn parse(s: &str) -> Result<Span> {
        let t = s.trim();
        let split = t.find(|c: char| !c.is_ascii_digit()).unwrap_or(t.len());
        let (num, unit) = t.split_at(split);
        let bad = || {
            WorkflowError::invalid(
                "bad_span",
                format!("时长 {s:?} 无效；请写成数字加单位，如 30m、2h、1d、2w"),
                format!("invalid span {s:?}: write a number and a unit, e.g. 30m, 2h, 1d, 2w"),
            )
        };
        let n: u32 = num.parse().map_err(|_| bad())?;
        if n == 0 {
            return Err(bad());
        }
        Ok(match unit.trim() {
            "m" | "min" | "分钟" => Span::Minutes(n),
            "h" | "小时" => Span::Hours(n),
            "d" | "天" | "日" => Span::Days(n),
            "w" | "周" => Span::Weeks(n),
            _ => return Err(bad()),
        })
    }

    /// The span as elapsed time, ignoring any calendar.
    pub fn elapsed(self) -> Duration {
        match self {
            Span::Minutes(n) => Duration::minutes(n.into()),
            Span::Hours(n) => Duration::hours(n.into()),
            Span::Days(n) => Duration::days(n.into()),
            Span::Weeks(n) => Duration::weeks(n.into()),
        }
    }
}

impl fmt::Display for Span {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Span::Minutes(n) => write!(f, "{n}m"),
            Span::Hours(n) => write!(f, "{n}h"),
            Span::Days(n) => write!(f, "{n}d"),
            Span::Weeks(n) => write!(f, "{n}w"),
        }
    }
}

impl TryFrom<String> for Span {
    type Error = WorkflowError;
    fn try_from(s: String) -> Result<Span> {
        Span::parse(&s)
    }
}

impl From<Span> for String {
    fn from(s: Span) -> String {
        s.to_string()
    }
}

/// Upward-report limits per level.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ByLevel {
    pub general: Span,
    pub large: Span,
    pub major: Span,
    pub especially_major: Span,
}

impl Default for ByLevel {
    fn default() -> Self {
        Self {
            general: Span::Hours(4),
            large: Span::Hours(3),
            major: Span::Hours(2),
            especially_major: Span::Hours(2),
        }
    }
}

impl ByLevel {
    pub fn get(&self, level: Level) -> Span {
        match level {
            Level::General => self.general,
            Level::Large => self.large,
            Level::Major => self.major,
            Level::EspeciallyMajor => self.especially_major,
        }
    }
}

/// The working-day calendar (off by default).
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Calendar {
    pub enabled: bool,
    /// Public holidays (法定节假日), not working days even on a weekday.
    pub holidays: Vec<NaiveDate>,
    /// Make-up working days (调休上班), working days even on a weekend.
    pub workdays: Vec<NaiveDate>,
}

impl Calendar {
    /// Whether `date` (a Beijing calendar date) is a working day.
    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        if self.workdays.contains(&date) {
            return true;
        }
        if self.holidays.contains(&date) {
            return false;
        }
        !matches!(date.weekday(), Weekday::Sat | Weekday::Sun)
    }

    /// `start` plus `days` × 24 h counted only on working days (Beijing dates).
    pub fn add_working_days(&self, start: DateTime<Utc>, days: u32) -> DateTime<Utc> {
        let tz = beijing();
        let mut remaining = Duration::days(days.into());
        let mut cursor = start;
        // After the last listed date every week has five working days, so this ends; the
        // bound only guards against an absurd input.
        for _ in 0..(400 * 366) {
            let local = cursor.with_timezone(&tz);
            let date = local.date_naive();
            let next_midnight = date
                .succ_opt()
                .and_then(|d| tz.from_local_datetime(&d.and_time(NaiveTime::MIN)).single())
                .map(|d| d.with_timezone(&Utc));
            let Some(next) = next_midnight else { break };
            if self.is_working_day(date) {
                let available = next - cursor;
                if remaining <= available {
                    return cursor + remaining;
                }
                remaining -= available;
            }
            cursor = next;
        }
        cursor + remaining
    }
}

/// All time limits of the workflow. Defaults are the seeds' (domain.md "Deadlines").
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DeadlineRules {
    /// A negative item reaches the leading group (report or assignment) within this (1h).
    pub notify_leading_group: Span,
    /// Report upward after the item happened, per level (2h major+, 3h large, 4h general).
    pub report_upward: ByLevel,
    /// Items at or above this level always have the upward-report deadline; below it, only
    /// items judged an emergency (突发事件). Default `large`.
    pub report_upward_min_level: Level,
    /// A general item is forwarded (assigned) to its department within this (2h).
    pub forward_general: Span,
    /// A general item is answered (reply recorded) within this (1d).
    pub answer_general: Span,
    /// Feedback (a recorded reply) to the media after a critical media report (2w).
    pub media_feedback: Span,
    /// How long before a deadline the 催办 reminder goes out (30m).
    pub remind_before: Span,
    /// Alert channels (`[[channels]]` names) the 催办/督办 reminders are sent to besides
    /// the case page; none by default.
    pub remind_channels: Vec<String>,
    pub calendar: Calendar,
}

impl Default for DeadlineRules {
    fn default() -> Self {
        Self {
            notify_leading_group: Span::Hours(1),
            report_upward: ByLevel::default(),
            report_upward_min_level: Level::Large,
            forward_general: Span::Hours(2),
            answer_general: Span::Days(1),
            media_feedback: Span::Weeks(2),
            remind_before: Span::Minutes(30),
            remind_channels: Vec::new(),
            calendar: Calendar::default(),
        }
    }
}

impl DeadlineRules {
    /// Checks what serde cannot: `remind_before` is elapsed time, no date is both a holiday
    /// and a make-up working day.
    pub fn validate(&self) -> Result<()> {
        if matches!(self.remind_before, Span::Days(_)) && self.calendar.enabled {
            return Err(WorkflowError::invalid(
                "bad_setting",
                "remind_before 不能以工作日计；请写成小时或分钟，如 30m",
                "remind_before cannot be in working days: use hours or minutes, e.g. 30m",
            ));
        }
        if let Some(d) = self
            .calendar
            .holidays
            .iter()
            .find(|d| self.calendar.workdays.contains(d))
        {
            return Err(WorkflowError::invalid(
                "bad_setting",
                format!("日期 {d} 同时列为节假日和调休工作日；请只保留一处"),
                format!("{d} is listed both as a holiday and as a make-up working day: keep one"),
            ));
        }
        Ok(())
    }

    /// `start + span`, in working days for a `Days` span when the calendar is enabled.
    pub fn add(&self, start: DateTime<Utc>, span: Span) -> DateTime<Utc> {
        match span {
            Span::Days(n) if self.calendar.enabled => self.calendar.add_working_days(start, n),
            other => start + other.elapsed(),
        }
    }
}

/// Which limit a deadline is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineKind {
    /// 负面舆情报领导小组 (1h)
    NotifyLeadingGroup,
    /// 上报 (2/3/4h by level)
    ReportUpward,
    /// 一般舆情转办 (2h)
    ForwardToDepartment,
    /// 一般舆情答复 (1d)
    AnswerGeneral,
    /// 批办时限: the leader's deadline for the lead department (met by its first draft).
    Handling,
    /// 媒体反馈 (2w)
    MediaFeedback,
}

impl DeadlineKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeadlineKind::NotifyLeadingGroup => "notify_leading_group",
            DeadlineKind::ReportUpward => "report_upward",
            DeadlineKind::ForwardToDepartment => "forward_to_department",
            DeadlineKind::AnswerGeneral => "answer_general",
            DeadlineKind::Handling => "handling",
            DeadlineKind::MediaFeedback => "media_feedback",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            DeadlineKind::NotifyLeadingGroup => "负面舆情报告领导小组",
            DeadlineKind::ReportUpward => "上报",
            DeadlineKind::ForwardToDepartment => "转办责任部门",
            DeadlineKind::AnswerGeneral => "答复",
            DeadlineKind::Handling => "批办时限",
            DeadlineKind::MediaFeedback => "向媒体反馈",
        }
    }
}

/// One deadline of a case.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deadline {
    pub what: DeadlineKind,
    pub due_at: DateTime<Utc>,
    /// When the step that meets it first happened.
    pub met_at: Option<DateTime<Utc>>,
    /// The unit answerable for it (the case's unit, or the lead department).
    pub unit: UnitId,
}

/// Where a deadline stands at some moment.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DeadlineStatus {
    MetOnTime,
    MetLate,
    Pending,
    Overdue,
}

impl Deadline {
    pub fn status(&self, now: DateTime<Utc>) -> DeadlineStatus {
        match self.met_at {
            Some(m) if m <= self.due_at => DeadlineStatus::MetOnTime,
            Some(_) => DeadlineStatus::MetLate,
            None if now > self.due_at => DeadlineStatus::Overdue,
            None => DeadlineStatus::Pending,
        }
    }
    /// Missed: met late, or unmet and past due at `now`.
    pub fn missed(&self, now: DateTime<Utc>) -> bool {
        matches!(
            self.status(now),
            DeadlineStatus::MetLate | DeadlineStatus::Overdue
        )
    }
}

fn min_opt(a: Option<DateTime<Utc>>, b: Option<DateTime<Utc>>) -> Option<DateTime<Utc>> {
    match (a, b) {
        (Some(x), Some(y)) => Some(x.min(y)),
        (x, None) => x,
        (None, y) => y,
    }
}

/// The deadlines that apply to a case, in a fixed order (see [`DeadlineKind`]).
pub fn deadlines_for(case: &Case, rules: &DeadlineRules) -> Vec<Deadline> {
    let mut out = Vec::new();
    let unit = case.original_unit.clone();
    if case.negative {
        out.push(Deadline {
            what: DeadlineKind::NotifyLeadingGroup,
            due_at: rules.add(case.found_at, rules.notify_leading_group),
            met_at: min_opt(case.first_reported_at(), case.first_assigned_at),
            unit: unit.clone(),
        });
    }
    if let Some(level) = case.level {
        if level >= rules.report_upward_min_level || case.emergency {
            let start = case.occurred_at.unwrap_or(case.found_at);
            out.push(Deadline {
                what: DeadlineKind::ReportUpward,
                due_at: rules.add(start, rules.report_upward.get(level)),
                met_at: case.first_reported_at(),
                unit: unit.clone(),
            });
        }
        if level == Level::General {
            out.push(Deadline {
                what: DeadlineKind::ForwardToDepartment,
                due_at: rules.add(case.found_at, rules.forward_general),
                met_at: case.first_assigned_at,
                unit: unit.clone(),
            });
            out.push(Deadline {
                what: DeadlineKind::AnswerGeneral,
                due_at: rules.add(case.found_at, rules.answer_general),
                met_at: case.first_replied_at(),
                unit: case
                    .assignment
                    .as_ref()
                    .map(|a| a.lead.clone())
                    .unwrap_or(unit.clone()),
            });
        }
    }
    if let Some(a) = &case.assignment
        && let Some(due) = a.due_at
    {
        out.push(Deadline {
            what: DeadlineKind::Handling,
            due_at: due,
            met_at: case
                .drafts
                .iter()
                .map(|d| d.drafted_at)
                .find(|t| *t >= a.at),
            unit: a.lead.clone(),
        });
    }
    if case.media_report {
        out.push(Deadline {
            what: DeadlineKind::MediaFeedback,
            due_at: rules.add(case.found_at, rules.media_feedback),
            met_at: case.first_replied_at(),
            unit,
        });
    }
    out
}

/// 催办 (a deadline is near) or 督办 (it has passed).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ReminderKind {
    Urge,
    Supervise,
}

impl ReminderKind {
    pub fn as_str(self) -> &'static str {
        match self {
            ReminderKind::Urge => "urge",
            ReminderKind::Supervise => "supervise",
        }
    }
    pub fn label_zh(self) -> &'static str {
        match self {
            ReminderKind::Urge => "催办",
            ReminderKind::Supervise => "督办",
        }
    }
}

/// A reminder to send (serialise-only: the caller stores its `key`, not the reminder).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Reminder {
    /// `case/what/due-unix-ms/kind`: unique per deadline and kind; a new due time (a
    /// re-assignment) makes a new key.
    pub key: String,
    pub case_id: String,
    pub what: DeadlineKind,
    pub kind: ReminderKind,
    pub due_at: DateTime<Utc>,
    /// The unit to remind.
    pub unit: UnitId,
    pub message: Message,
}

/// The reminders due at `now` for open cases, minus those whose key is in `sent`.
///
/// For each unmet deadline: from `due − remind_before` until due, one 催办 (urge); after
/// it, one 督办 (supervise). A deadline first seen already past due gets only the 督办.
/// Closed and archived cases get none.
pub fn tick(
    cases: &[Case],
    rules: &DeadlineRules,
    now: DateTime<Utc>,
    sent: &BTreeSet<String>,
) -> Vec<Reminder> {
    let mut out = Vec::new();
    for case in cases.iter().filter(|c| c.state.is_open()) {
        for d in deadlines_for(case, rules) {
            if d.met_at.is_some() {
                continue;
            }
            let kind = if now > d.due_at {
                ReminderKind::Supervise
            } else if now >= d.due_at - rules.remind_before.elapsed() {
                ReminderKind::Urge
            } else {
                continue;
            };
            let key = format!(
                "{}/{}/{}/{}",
                case.id,
                d.what.as_str(),
                d.due_at.timestamp_millis(),
                kind.as_str()
            );
            if sent.contains(&key) {
                continue;
            }
            let due = d.due_at.with_timezone(&beijing()).format("%Y-%m-%d %H:%M");
            let message = match kind {
                ReminderKind::Urge => Message::new(
                    format!(
                        "催办：案件“{}”的“{}”将于 {due}（北京时间）到期",
                        case.title,
                        d.what.label_zh()
                    ),
                    format!(
                        "reminder: {} of case {:?} is due at {due} (Beijing time)",
                        d.what.as_str(),
                        case.title
                    ),
                ),
                ReminderKind::Supervise => Message::new(
                    format!(
                        "督办：案件“{}”的“{}”已于 {due}（北京时间）超时",
                        case.title,
                        d.what.label_zh()
                    ),
                    format!(
                        "overdue: {} of case {:?} was due at {due} (Beijing time)",
                        d.what.as_str(),
                        case.title
                    ),
                ),
            };
            out.push(Reminder {
                key,
                case_id: case.id.clone(),
                what: d.what,
                kind,
                due_at: d.due_at,
                unit: d.unit,
                message,
            });
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(y: i32, m: u32, day: u32) -> NaiveDate {
        NaiveDate::from_ymd_opt(y, m, day).unwrap()
    }
    /// A Beijing local time as UTC.
    fn bj(y: i32, m: u32, day: u32, h: u32) -> DateTime<Utc> {
        beijing()
            .with_ymd_and_hms(y, m, day, h, 0, 0)
            .single()
            .unwrap()
            .with_timezone(&Utc)
    }

    #[test]
    fn spans_parse_and_print() {
        assert_eq!(Span::parse("30m").unwrap(), Span::Minutes(30));
        assert_eq!(Span::parse("2h").unwrap(), Span::Hours(2));
        assert_eq!(Span::parse("1天").unwrap(), Span::Days(1));
        assert_eq!(Span::parse("2w").unwrap().to_string(), "2w");
        for bad in ["", "h", "0h", "2x", "-1h", "1.5h"] {
            assert_eq!(Span::parse(bad).unwrap_err().reason(), "bad_span", "{bad}");
        }
    }

    #[test]
    fn rules_have_seed_defaults_and_refuse_unknown_keys() {
        let r: DeadlineRules = serde_json::from_str("{}").unwrap();
        assert_eq!(r, DeadlineRules::default());
        assert_eq!(r.report_upward.get(Level::Major), Span::Hours(2));
        assert_eq!(r.report_upward.get(Level::Large), Span::Hours(3));
        assert_eq!(r.report_upward.get(Level::General), Span::Hours(4));
        let r: DeadlineRules = serde_json::from_str(
            r#"{"answer_general": "2d", "report_upward": {"major": "90m"}, "calendar": {"enabled": true, "holidays": ["2027-10-01"]}}"#,
        )
        .unwrap();
        assert_eq!(r.answer_general, Span::Days(2));
        assert_eq!(r.report_upward.major, Span::Minutes(90));
        assert_eq!(r.report_upward.large, Span::Hours(3));
        assert!(serde_json::from_str::<DeadlineRules>(r#"{"answer": "1d"}"#).is_err());
        assert!(serde_json::from_str::<DeadlineRules>(r#"{"answer_general": "soon"}"#).is_err());
        let mut bad = DeadlineRules::default();
        bad.calendar.holidays = vec![d(2027, 10, 1)];
        bad.calendar.workdays = vec![d(2027, 10, 1)];
        assert!(bad.validate().is_err());
    }

    #[test]
    fn working_days_skip_weekends_and_holidays() {
        let cal = Calendar {
            enabled: true,
            holidays: vec![d(2027, 10, 1), d(2027, 10, 4)],
            workdays: vec![d(2027, 10, 9)],
        };
        assert!(!cal.is_working_day(d(2027, 10, 2))); // Saturday
        assert!(cal.is_working_day(d(2027, 10, 9))); // make-up Saturday
        assert!(!cal.is_working_day(d(2027, 10, 4))); // holiday Monday
        // Thursday 2027-09-30 15:00 + 1d: 9 h of Thursday; Fri (holiday), Sat, Sun, Mon
        // (holiday) skipped; 15 h of Tuesday → Tuesday 15:00.
        assert_eq!(
            cal.add_working_days(bj(2027, 9, 30, 15), 1),
            bj(2027, 10, 5, 15)
        );
        // Saturday 10:00 + 1d: nothing counts until Monday 00:00 → Tuesday 00:00.
        assert_eq!(
            cal.add_working_days(bj(2027, 3, 6, 10), 1),
            bj(2027, 3, 9, 0)
        );
        // Friday 2027-10-08 12:00 + 2d: 12 h Fri, Sat 9th is a working day (24 h), 12 h Mon.
        assert_eq!(
            cal.add_working_days(bj(2027, 10, 8, 12), 2),
            bj(2027, 10, 11, 12)
        );
        // Elapsed days when the calendar is off.
        let rules = DeadlineRules::default();
        assert_eq!(
            rules.add(bj(2027, 3, 5, 18), Span::Days(1)),
            bj(2027, 3, 6, 18)
        );
    }
}
