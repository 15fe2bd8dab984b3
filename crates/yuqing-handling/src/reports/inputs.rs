//! What a report is built from ([`Inputs`]): its kind and period or subject, the analyst's
//! commentary and digest summaries. Inputs are saved with every report, and building the
//! same inputs over the same data gives the same report.
//!
//! Periods are Beijing calendar periods: a day `2026-11-21`, an ISO week `2026-W47` (or any
//! date in it), a month `2026-11`, a year `2026`.

use crate::error::{HandlingError, Result};
use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone, Weekday};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use yuqing_judge::grading::beijing;
use yuqing_report::Kind;

/// One item of a digest: a stored document and the analyst's summary of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DigestItem {
    /// `platform:id`, e.g. `weibo:4001234567890123`.
    pub doc: String,
    /// The analyst's summary; without one, the start of the document's text is quoted.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<String>,
}

/// The subject of a report.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum Spec {
    Daily {
        date: NaiveDate,
    },
    Weekly {
        /// `2026-W47` or a date in the week.
        week: String,
    },
    Monthly {
        /// `2026-11`.
        month: String,
    },
    /// One alert (`alert`) or one document (`doc`, `platform:id`).
    Flash {
        #[serde(default, skip_serializing_if = "Option::is_none")]
        alert: Option<i64>,
        #[serde(default, skip_serializing_if = "Option::is_none")]
        doc: Option<String>,
    },
    Digest {
        /// 期号; 0 takes the next number after the last saved digest.
        #[serde(default)]
        issue: u32,
        items: Vec<DigestItem>,
    },
    Event {
        event: i64,
    },
    Yearly {
        year: i32,
    },
    /// 《网络舆情通报》 of a period: `2026-W47` (or a date in the week), `2026-11`,
    /// `2026-Q4` or `2026`.
    Circular {
        period: String,
    },
}

/// Everything a report is built from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Inputs {
    #[serde(flatten)]
    pub spec: Spec,
    /// The analyst's text for each commentary block, by the block's key; a block without
    /// one gets the computed draft.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub commentary: BTreeMap<String, String>,
    /// Filter of daily, weekly and monthly reports: only the documents (and alerts) of
    /// this monitoring plan (a 专题 report).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub plan: Option<i64>,
}

impl Inputs {
    pub fn new(spec: Spec) -> Self {
        Inputs {
            spec,
            commentary: BTreeMap::new(),
            plan: None,
        }
    }

    pub fn kind(&self) -> Kind {
        match self.spec {
            Spec::Daily { .. } => Kind::Daily,
            Spec::Weekly { .. } => Kind::Weekly,
            Spec::Monthly { .. } => Kind::Monthly,
            Spec::Flash { .. } => Kind::Flash,
            Spec::Digest { .. } => Kind::Digest,
            Spec::Event { .. } => Kind::Event,
            Spec::Yearly { .. } => Kind::Yearly,
            Spec::Circular { .. } => Kind::Circular,
        }
    }

    /// Reads inputs from JSON, with a message that says what is wrong.
    pub fn from_json(v: serde_json::Value) -> Result<Inputs> {
        let i: Inputs = serde_json::from_value(v).map_err(|e| {
            HandlingError::invalid(
                format!("报告参数有误：{e}（kind 为 daily、weekly、monthly、flash、digest、event、yearly、circular 之一）"),
                format!("invalid report inputs: {e} (kind is one of daily, weekly, monthly, flash, digest, event, yearly, circular)"),
            )
        })?;
        i.check()?;
        Ok(i)
    }

    /// Checks what serde cannot: periods parse, flash names one subject, digests have items.
    pub fn check(&self) -> Result<()> {
        if self.plan.is_some()
            && !matches!(
                self.spec,
                Spec::Daily { .. } | Spec::Weekly { .. } | Spec::Monthly { .. }
            )
        {
            return Err(HandlingError::invalid(
                "只有日报、周报和月报可以按监测方案（plan）筛选",
                "only daily, weekly and monthly reports take a plan filter",
            ));
        }
        match &self.spec {
            Spec::Weekly { week } => {
                parse_week(week)?;
            }
            Spec::Monthly { month } => {
                parse_month(month)?;
            }
            Spec::Yearly { year } => {
                year_period(*year)?;
            }
            Spec::Circular { period } => {
                parse_period(period)?;
            }
            Spec::Flash { alert, doc } => {
                if alert.is_some() == doc.is_some() {
                    return Err(HandlingError::invalid(
                        "快报需要且只需要一个对象：预警编号（alert）或文档（doc，形如 weibo:123）",
                        "a flash report needs exactly one subject: an alert id (alert) or a document (doc, like weibo:123)",
                    ));
                }
                if let Some(d) = doc {
                    split_doc(d)?;
                }
            }
            Spec::Digest { items, .. } => {
                if items.is_empty() {
                    return Err(HandlingError::invalid(
                        "摘报至少需要一条信息（--items weibo:123,weibo:456）",
                        "a digest needs at least one item (--items weibo:123,weibo:456)",
                    ));
                }
                for i in items {
                    split_doc(&i.doc)?;
                }
            }
            Spec::Daily { .. } | Spec::Event { .. } => {}
        }
        Ok(())
    }
}

/// `platform:id` → (platform, id).
pub fn split_doc(s: &str) -> Result<(&str, &str)> {
    match s.trim().split_once(':') {
        Some((p, id)) if !p.is_empty() && !id.is_empty() => Ok((p, id)),
        _ => Err(HandlingError::invalid(
            format!("文档应写作 平台:编号（如 weibo:4001234567890123），收到 {s:?}"),
            format!("a document is written platform:id (e.g. weibo:4001234567890123), got {s:?}"),
        )),
    }
}

/// A Beijing period `[since, until)` with its label.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Span {
    pub since: DateTime<FixedOffset>,
    pub until: DateTime<FixedOffset>,
    pub label: String,
    /// The period before, of the same length (for comparison).
    pub prev_since: DateTime<FixedOffset>,
    pub prev_until: DateTime<FixedOffset>,
    /// How the period before is called ("前一日", "上周", "上月", "上年").
    pub prev_name: &'static str,
}

impl Span {
    /// The period as a report carries it.
    pub fn report_period(&self) -> yuqing_report::model::ReportPeriod {
        yuqing_report::model::ReportPeriod {
            since: self.since,
            until: self.until,
            label: self.label.clone(),
        }
    }
}

fn midnight(d: NaiveDate) -> DateTime<FixedOffset> {
    beijing()
        .from_local_datetime(&d.and_hms_opt(0, 0, 0).unwrap_or_default())
        .single()
        .unwrap_or_else(|| beijing().timestamp_opt(0, 0).unwrap())
}

pub fn day_period(d: NaiveDate) -> Span {
    let since = midnight(d);
    let until = since + chrono::Duration::days(1);
    Span {
        label: format!("{}年{}月{}日", d.year(), d.month(), d.day()),
        prev_since: since - chrono::Duration::days(1),
        prev_until: since,
        prev_name: "前一日",
        since,
        until,
    }
}

/// `2026-W47` or `2026-11-18` (the week holding that date).
pub fn parse_week(s: &str) -> Result<Span> {
    let t = s.trim();
    let monday = if let Some((y, w)) = t.split_once(['W', 'w']) {
        let y: i32 = y.trim_end_matches('-').parse().ok().unwrap_or(i32::MIN);
        let w: u32 = w.parse().unwrap_or(0);
        NaiveDate::from_isoywd_opt(y, w, Weekday::Mon)
    } else {
        NaiveDate::parse_from_str(t, "%Y-%m-%d")
            .ok()
            .map(|d| d - chrono::Duration::days(i64::from(d.weekday().num_days_from_monday())))
    };
    let Some(monday) = monday else {
        return Err(HandlingError::invalid(
            format!("周应写作 2026-W47 或该周内的日期 2026-11-18，收到 {s:?}"),
            format!("a week is written 2026-W47 or a date in it (2026-11-18), got {s:?}"),
        ));
    };
    let sunday = monday + chrono::Duration::days(6);
    let since = midnight(monday);
    let until = since + chrono::Duration::days(7);
    let iso = monday.iso_week();
    Ok(Span {
        label: format!(
            "{}年第{}周（{}月{}日—{}月{}日）",
            iso.year(),
            iso.week(),
            monday.month(),
            monday.day(),
            sunday.month(),
            sunday.day()
        ),
        prev_since: since - chrono::Duration::days(7),
        prev_until: since,
        prev_name: "上周",
        since,
        until,
    })
}

/// `2026-11`.
pub fn parse_month(s: &str) -> Result<Span> {
    let first =
        NaiveDate::parse_from_str(&format!("{}-01", s.trim()), "%Y-%m-%d").map_err(|_| {
            HandlingError::invalid(
                format!("月份应写作 2026-11，收到 {s:?}"),
                format!("a month is written 2026-11, got {s:?}"),
            )
        })?;
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .unwrap_or(first);
    let prev = first
        .checked_sub_months(chrono::Months::new(1))
        .unwrap_or(first);
    Ok(Span {
        label: format!("{}年{}月", first.year(), first.month()),
        since: midnight(first),
        until: midnight(next),
        prev_since: midnight(prev),
        prev_until: midnight(first),
        prev_name: "上月",
    })
}

/// `2026-Q4`.
pub fn parse_quarter(s: &str) -> Result<Span> {
    let bad = || {
        HandlingError::invalid(
            format!("季度应写作 2026-Q4，收到 {s:?}"),
            format!("a quarter is written 2026-Q4, got {s:?}"),
        )
    };
    let (y, q) = s.trim().split_once(['Q', 'q']).ok_or_else(bad)?;
    let year: i32 = y.trim_end_matches('-').parse().map_err(|_| bad())?;
    let q: u32 = q.parse().map_err(|_| bad())?;
    if !(1..=4).contains(&q) || !(2000..=2100).contains(&year) {
        return Err(bad());
    }
    let first = NaiveDate::from_ymd_opt(year, 3 * q - 2, 1).ok_or_else(bad)?;
    let months = |n: u32, f: fn(NaiveDate, chrono::Months) -> Option<NaiveDate>| {
        f(first, chrono::Months::new(n)).unwrap_or(first)
    };
    let next = months(3, NaiveDate::checked_add_months);
    let prev = months(3, NaiveDate::checked_sub_months);
    Ok(Span {
        label: format!("{year}年第{}季度", ["一", "二", "三", "四"][q as usize - 1]),
        since: midnight(first),
        until: midnight(next),
        prev_since: midnight(prev),
        prev_until: midnight(first),
        prev_name: "上季度",
    })
}

/// A circular's period: a week (`2026-W47` or a date in it), a month (`2026-11`), a
/// quarter (`2026-Q4`) or a year (`2026`).
pub fn parse_period(s: &str) -> Result<Span> {
    let t = s.trim();
    if t.contains(['Q', 'q']) {
        parse_quarter(t)
    } else if t.contains(['W', 'w']) || t.len() == 10 {
        parse_week(t)
    } else if t.len() == 4 {
        let year = t.parse().map_err(|_| {
            HandlingError::invalid(
                format!("年份应写作 2026，收到 {s:?}"),
                format!("a year is written 2026, got {s:?}"),
            )
        })?;
        year_period(year)
    } else if t.len() == 7 {
        parse_month(t)
    } else {
        Err(HandlingError::invalid(
            format!(
                "通报的期间应写作 2026-W47（周）、2026-11（月）、2026-Q4（季度）或 2026（年），收到 {s:?}"
            ),
            format!(
                "a circular's period is written 2026-W47 (week), 2026-11 (month), 2026-Q4 (quarter) or 2026 (year), got {s:?}"
            ),
        ))
    }
}

pub fn year_period(year: i32) -> Result<Span> {
    let (Some(first), Some(next), Some(prev)) = (
        NaiveDate::from_ymd_opt(year, 1, 1),
        NaiveDate::from_ymd_opt(year + 1, 1, 1),
        NaiveDate::from_ymd_opt(year - 1, 1, 1),
    ) else {
        return Err(HandlingError::invalid(
            format!("年份 {year} 无效"),
            format!("invalid year {year}"),
        ));
    };
    if !(2000..=2100).contains(&year) {
        return Err(HandlingError::invalid(
            format!("年份 {year} 超出范围（2000–2100）"),
            format!("year {year} is out of range (2000–2100)"),
        ));
    }
    Ok(Span {
        label: format!("{year}年"),
        since: midnight(first),
        until: midnight(next),
        prev_since: midnight(prev),
        prev_until: midnight(first),
        prev_name: "上年",
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_beijing_calendar_periods() {
        let d = day_period(NaiveDate::from_ymd_opt(2026, 11, 21).unwrap());
        assert_eq!(d.since.to_rfc3339(), "2026-11-21T00:00:00+08:00");
        assert_eq!(d.until.to_rfc3339(), "2026-11-22T00:00:00+08:00");
        assert_eq!(d.prev_since.to_rfc3339(), "2026-11-20T00:00:00+08:00");
        let w = parse_week("2026-W47").unwrap();
        assert_eq!(w.since.to_rfc3339(), "2026-11-16T00:00:00+08:00");
        assert_eq!(w.until.to_rfc3339(), "2026-11-23T00:00:00+08:00");
        assert_eq!(parse_week("2026-11-22").unwrap(), w);
        assert!(w.label.contains("第47周"), "{}", w.label);
        let m = parse_month("2026-12").unwrap();
        assert_eq!(m.until.to_rfc3339(), "2027-01-01T00:00:00+08:00");
        assert_eq!(m.prev_since.to_rfc3339(), "2026-11-01T00:00:00+08:00");
        assert!(parse_month("2026-13").is_err());
        assert!(parse_week("2026-W54").is_err());
        assert!(year_period(1900).is_err());
        let q = parse_period("2026-Q4").unwrap();
        assert_eq!(q.since.to_rfc3339(), "2026-10-01T00:00:00+08:00");
        assert_eq!(q.until.to_rfc3339(), "2027-01-01T00:00:00+08:00");
        assert_eq!(q.prev_since.to_rfc3339(), "2026-07-01T00:00:00+08:00");
        assert_eq!(q.label, "2026年第四季度");
        assert_eq!(parse_period("2026-q1").unwrap().label, "2026年第一季度");
        assert_eq!(parse_period("2026-11").unwrap(), m_of("2026-11"));
        assert_eq!(parse_period(" 2026-W47 ").unwrap(), w);
        assert_eq!(parse_period("2026-11-22").unwrap(), w);
        assert_eq!(parse_period("2026").unwrap(), year_period(2026).unwrap());
        for bad in ["2026-Q5", "2026-Q0", "Q4", "26-11", "2026-11-2", "", "1999"] {
            let e = parse_period(bad).unwrap_err();
            assert_eq!(e.code(), yuqing_core::Code::InvalidInput, "{bad:?}: {e}");
        }
    }

    fn m_of(s: &str) -> Span {
        parse_month(s).unwrap()
    }

    #[test]
    fn inputs_read_and_refuse_clearly() {
        let i =
            Inputs::from_json(serde_json::json!({"kind": "daily", "date": "2026-11-21"})).unwrap();
        assert_eq!(i.kind(), Kind::Daily);
        let e = Inputs::from_json(serde_json::json!({"kind": "flash"})).unwrap_err();
        assert!(e.to_string().contains("exactly one subject"), "{e}");
        let e = Inputs::from_json(serde_json::json!({"kind": "digest", "items": [{"doc": "x"}]}))
            .unwrap_err();
        assert!(e.to_string().contains("platform:id"), "{e}");
        let e = Inputs::from_json(serde_json::json!({"kind": "hourly"})).unwrap_err();
        assert!(e.to_string().contains("daily"), "{e}");
        // Round trip with commentary.
        let mut i = Inputs::new(Spec::Event { event: 7 });
        i.commentary.insert("commentary".into(), "点评".into());
        let back = Inputs::from_json(serde_json::to_value(&i).unwrap()).unwrap();
        assert_eq!(back, i);
    }
}
