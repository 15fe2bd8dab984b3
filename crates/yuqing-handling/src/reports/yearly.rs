//! 年度统计: a year's figures for assessment (考核): volume by month, alerts by level, and
//! per department (assigned, replied, closed, on time, overdue, reply/completion/on-time
//! rates, satisfaction) and per monitor (found, found first, reported, late, alerts let
//! pass on duty, performance points), from the workflow's statistics
//! (`yuqing_workflow::stats`, `yuqing_workflow::points`) over the cases the viewer may see.

use super::inputs::{Span, year_period};
use super::*;
use std::collections::BTreeMap;
use yuqing_report::model::{Chart, ChartKind, Series, Table};
use yuqing_store::handling::{AlertQuery, AlertRow};
use yuqing_workflow::deadlines::DeadlineRules;
use yuqing_workflow::org::Org;
use yuqing_workflow::points::{
    MONITOR_FIGURES, MonitorPoints, PointRules, monitor_points, monitor_rows,
};
use yuqing_workflow::stats::{
    DepartmentStats, MonitorStats, Period, department_stats, monitor_stats,
};

pub(super) fn rate(r: Option<f64>) -> Value {
    r.map_or(Value::None, Value::Pct)
}

pub(super) async fn build<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    inputs: &Inputs,
    year: i32,
    viewer: &Principal,
) -> Result<Report> {
    let span = year_period(year)?;
    let s = r.store.as_ref();
    let (since, until) = (span.since.timestamp_millis(), span.until.timestamp_millis());
    let hours = s.volume_by_hour(since, until).await?;
    let mut months = [0u64; 12];
    for (h, n) in &hours {
        if let Some(t) = bj_ms(h * 3_600_000) {
            use chrono::Datelike;
            months[t.month0() as usize] += n;
        }
    }
    let total: u64 = months.iter().sum();
    let Assessed {
        alerts,
        cases,
        org,
        period,
        as_of,
        rules,
        registered,
    } = assess(r, &span, viewer).await?;
    let depts = department_stats(&cases, &rules, period, as_of);
    let monitors = monitor_stats(&cases, &rules, period, as_of);
    let closed = cases
        .iter()
        .filter(|c| c.closed_at.is_some_and(|t| period.contains(t)))
        .count();

    let mut rep = r.report(inputs, Some(span.label.clone()));
    rep.period = Some(span.report_period());
    if total == 0 && cases.is_empty() && alerts.is_empty() {
        rep.notice = Some(format!(
            "{}没有监测信息、预警和案件。/ Nothing was recorded in {year}.",
            span.label
        ));
    }
    let mut figs = vec![
        fig("total", "全年信息量", int(total)),
        fig("alerts", "全年预警", int(alerts.len())),
        fig("cases_registered", "登记案件", int(registered)),
        fig("cases_closed", "办结案件", int(closed)),
    ];
    figs.extend(alert_level_figures(&alerts));
    rep.sections.push(section(
        "全年概况",
        vec![
            para(format!(
                "{}共监测到相关信息 {} 条，发出预警 {} 条，登记处置案件 {} 件，办结 {} 件。",
                span.label,
                thousands(total),
                alerts.len(),
                registered,
                closed
            )),
            Block::Figures { items: figs },
            Block::Chart(Chart {
                key: "months".into(),
                title: "各月信息量".into(),
                kind: ChartKind::Bar,
                categories: (1..=12).map(|m| format!("{m}月")).collect(),
                series: vec![Series {
                    name: "信息量".into(),
                    values: months.iter().map(|n| *n as f64).collect(),
                }],
            }),
        ],
    ));
    rep.sections.push(section(
        "部门处置考核",
        vec![
            para(if depts.is_empty() {
                "本年度没有交办到部门的案件。".to_owned()
            } else {
                format!("本年度共有 {} 个部门承办案件。", depts.len())
            }),
            department_table(&depts, &org),
        ],
    ));
    let weights = r
        .cases
        .as_ref()
        .map(|c| c.point_rules().clone())
        .unwrap_or_default();
    let points = match &r.cases {
        Some(c) => c.points_in(&cases, period, as_of).await?,
        None => monitor_points(&cases, &[], &[], &rules, &weights, period, as_of),
    };
    rep.sections.push(section(
        "监测人员考核",
        vec![
            para(points_rule_text(&weights)),
            monitor_table(&monitors, &points, &org),
        ],
    ));
    let by_month: BTreeMap<usize, u64> = months.iter().copied().enumerate().collect();
    let busiest = by_month
        .iter()
        .max_by_key(|(m, n)| (**n, std::cmp::Reverse(**m)));
    let mut d = format!(
        "{}共监测信息 {} 条，预警 {} 条，登记案件 {registered} 件，办结 {closed} 件。",
        span.label,
        thousands(total),
        alerts.len()
    );
    if let Some((m, n)) = busiest.filter(|x| *x.1 > 0) {
        d.push_str(&format!(
            "信息量最多的是 {} 月（{} 条）。",
            m + 1,
            thousands(*n)
        ));
    }
    rep.sections
        .push(section("年度总结", vec![draft("commentary", d)]));
    Ok(rep)
}

/// How the performance points are weighed, as one sentence of the report.
fn points_rule_text(w: &PointRules) -> String {
    let f = &w.found_first;
    format!(
        "绩效考核分：首先发现舆情按等级计分（一般 {:+}、较大 {:+}、重大 {:+}、特别重大 {:+}），\
         按时上报 {:+}，迟报 {:+}，预警未及时确认（已通知下一位值班人员）{:+}；\
         另计领导加减分（逐条写明理由，撤销的不计）。",
        f.general, f.large, f.major, f.especially_major, w.reported, w.late, w.unacknowledged
    )
}

/// The monitors' figures and points: everyone with either, by user id.
fn monitor_table(monitors: &[MonitorStats], points: &[MonitorPoints], org: &Org) -> Block {
    Block::Table(Table {
        key: "monitors".into(),
        title: "监测人员统计".into(),
        columns: std::iter::once("监测员")
            .chain(MONITOR_FIGURES)
            .map(String::from)
            .collect(),
        rows: monitor_rows(monitors, points)
            .into_iter()
            .map(|r| {
                std::iter::once(Value::Text(user_name(org, r.user)))
                    .chain(r.figures().map(int))
                    .collect()
            })
            .collect(),
    })
}

/// The table of the departments' handling figures (年度统计 and 通报).
pub(super) fn department_table(depts: &[DepartmentStats], org: &Org) -> Block {
    Block::Table(Table {
        key: "departments".into(),
        title: "部门处置统计".into(),
        columns: [
            "部门",
            "交办",
            "回复",
            "办结",
            "按时",
            "逾期",
            "回复率",
            "办结率",
            "按时率",
            "满意度",
            "回复用时中位数（小时）",
        ]
        .map(String::from)
        .to_vec(),
        rows: depts
            .iter()
            .map(|d| {
                vec![
                    Value::Text(unit_name(org, &d.unit)),
                    int(d.assigned),
                    int(d.replied),
                    int(d.closed),
                    int(d.on_time),
                    int(d.overdue),
                    rate(d.reply_rate),
                    rate(d.completion_rate),
                    rate(d.on_time_rate),
                    d.mean_satisfaction.map_or(Value::None, Value::Num),
                    d.median_reply_secs.map_or(Value::None, |s| {
                        Value::Num((s as f64 / 36.0).round() / 100.0)
                    }),
                ]
            })
            .collect(),
    })
}

/// What the year-end statistics and the circular read for a period: its alerts, the
/// cases the viewer may see with the organisation and the deadline rules, judged as of the
/// period's end (or now, if sooner), and how many cases were registered in it.
pub(super) struct Assessed {
    pub alerts: Vec<AlertRow>,
    pub cases: Vec<Case>,
    pub org: Org,
    pub period: Period,
    pub as_of: DateTime<Utc>,
    pub rules: DeadlineRules,
    pub registered: usize,
}

pub(super) async fn assess<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    span: &Span,
    viewer: &Principal,
) -> Result<Assessed> {
    let alerts: Vec<_> = r
        .store
        .alerts(&AlertQuery {
            since: Some(span.since.with_timezone(&Utc)),
            until: Some(span.until.with_timezone(&Utc)),
            ..Default::default()
        })
        .await?;
    let cases = r.visible_cases(viewer).await?;
    let period = Period {
        from: span.since.with_timezone(&Utc),
        to: span.until.with_timezone(&Utc),
    };
    let registered = cases
        .iter()
        .filter(|c| period.contains(c.registered_at))
        .count();
    Ok(Assessed {
        alerts,
        cases,
        org: r.org().await,
        period,
        as_of: r.now().min(period.to),
        rules: r
            .cases
            .as_ref()
            .map(|c| c.rules().clone())
            .unwrap_or_default(),
        registered,
    })
}
