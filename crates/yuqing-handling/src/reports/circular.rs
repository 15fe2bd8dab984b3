//! 《网络舆情通报》: what the office sends the departments for a week, month, quarter or
//! year: the situation (volume against the period before, alerts by level, cases), each
//! department's handling (the 年度统计's figures over the period), the items whose
//! department deadline was missed (督办事项: unmet at the end of the period, whenever they
//! were assigned, or met late within it), and a commentary of computed facts (which units
//! met every deadline, which have overdue items) for the office to turn into its
//! requirements. Cases are those the viewer may see.

use super::inputs::parse_period;
use super::yearly::{Assessed, assess, department_table};
use super::*;
use std::collections::BTreeMap;
use yuqing_report::model::Table;
use yuqing_workflow::stats::{department_stats, overdue_items};

/// Hours, rounded to one decimal.
fn hours(secs: i64) -> Value {
    Value::Num((secs as f64 / 360.0).round() / 10.0)
}

pub(super) async fn build<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    inputs: &Inputs,
    period_text: &str,
    viewer: &Principal,
) -> Result<Report> {
    let span = parse_period(period_text)?;
    let s = r.store.as_ref();
    let ms = |t: DateTime<FixedOffset>| t.timestamp_millis();
    let (cur, prev) = tokio::try_join!(
        s.volume_by_hour(ms(span.since), ms(span.until)),
        s.volume_by_hour(ms(span.prev_since), ms(span.prev_until)),
    )?;
    let total: u64 = cur.iter().map(|(_, n)| n).sum();
    let before: u64 = prev.iter().map(|(_, n)| n).sum();
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
    let overdue = overdue_items(&cases, &rules, period, as_of);
    let assigned: u32 = depts.iter().map(|d| d.assigned).sum();
    let closed: u32 = depts.iter().map(|d| d.closed).sum();

    let mut rep = r.report(inputs, Some(span.label.clone()));
    rep.period = Some(span.report_period());
    if total == 0 && cases.is_empty() && alerts.is_empty() {
        rep.notice = Some(format!(
            "{}没有监测信息、预警和案件。/ Nothing was recorded in this period.",
            span.label
        ));
    }

    // 一、总体情况
    let mut figs = vec![
        fig("total", "信息量", int(total)),
        fig("total_before", span.prev_name, int(before)),
        fig("alerts", "预警", int(alerts.len())),
    ];
    figs.extend(alert_level_figures(&alerts));
    figs.extend([
        fig("cases_registered", "登记案件", int(registered)),
        fig("cases_assigned", "交办部门", int(assigned)),
        fig("cases_closed", "已办结", int(closed)),
        fig("overdue", "督办事项", int(overdue.len())),
    ]);
    let trend = match total.cmp(&before) {
        std::cmp::Ordering::Greater => {
            format!("较{}（{}条）有所上升", span.prev_name, thousands(before))
        }
        std::cmp::Ordering::Less => {
            format!("较{}（{}条）有所下降", span.prev_name, thousands(before))
        }
        std::cmp::Ordering::Equal => format!("与{}持平", span.prev_name),
    };
    rep.sections.push(section(
        "总体情况",
        vec![
            para(format!(
                "{}共监测到相关信息 {} 条，{}；发出预警 {} 条，登记处置案件 {} 件，交办部门 {} 件，已办结 {} 件。",
                span.label,
                thousands(total),
                trend,
                alerts.len(),
                registered,
                assigned,
                closed
            )),
            Block::Figures { items: figs },
        ],
    ));

    // 二、各单位处置情况
    rep.sections.push(section(
        "各单位处置情况",
        vec![
            para(if depts.is_empty() {
                format!("{}没有交办到部门的案件。", span.label)
            } else {
                format!(
                    "{}共有 {} 个单位承办交办事项 {} 件，回复 {} 件，办结 {} 件。",
                    span.label,
                    depts.len(),
                    assigned,
                    depts.iter().map(|d| d.replied).sum::<u32>(),
                    closed
                )
            }),
            department_table(&depts, &org),
        ],
    ));

    // 三、督办事项
    rep.sections.push(section(
        "督办事项",
        vec![
            para(if overdue.is_empty() {
                "本期没有逾期事项。".to_owned()
            } else {
                format!(
                    "截至{}，逾期未办 {} 件；本期逾期办理 {} 件。",
                    time_zh(bj(as_of)),
                    overdue.iter().filter(|o| o.met_at.is_none()).count(),
                    overdue.iter().filter(|o| o.met_at.is_some()).count()
                )
            }),
            Block::Table(Table {
                key: "overdue".into(),
                title: "逾期事项".into(),
                columns: [
                    "案件",
                    "事项",
                    "承办单位",
                    "办理时限",
                    "状态",
                    "超时（小时）",
                ]
                .map(String::from)
                .to_vec(),
                rows: overdue
                    .iter()
                    .map(|o| {
                        vec![
                            Value::Text(o.case.clone()),
                            Value::Text(o.title.clone()),
                            Value::Text(unit_name(&org, &o.unit)),
                            Value::Text(time_zh(bj(o.due_at))),
                            Value::Text(o.state_zh().into()),
                            hours(o.late_secs),
                        ]
                    })
                    .collect(),
            }),
        ],
    ));

    // 四、通报事项: computed facts only, until the office writes its requirements.
    let mut late_by_unit: BTreeMap<&str, (usize, usize)> = BTreeMap::new();
    for o in &overdue {
        let e = late_by_unit.entry(o.unit.as_str()).or_default();
        if o.met_at.is_none() {
            e.0 += 1
        } else {
            e.1 += 1
        }
    }
    let punctual: Vec<String> = depts
        .iter()
        .filter(|d| d.on_time > 0 && d.overdue == 0 && !late_by_unit.contains_key(d.unit.as_str()))
        .map(|d| unit_name(&org, &d.unit))
        .collect();
    let mut d = String::new();
    if !punctual.is_empty() {
        d.push_str(&format!(
            "按时办理全部交办事项的单位：{}。",
            punctual.join("、")
        ));
    }
    if !late_by_unit.is_empty() {
        let list: Vec<String> = late_by_unit
            .iter()
            .map(|(u, (open, late))| {
                let mut parts = Vec::new();
                if *open > 0 {
                    parts.push(format!("逾期未办 {open} 件"));
                }
                if *late > 0 {
                    parts.push(format!("逾期办理 {late} 件"));
                }
                format!("{}（{}）", unit_name(&org, u), parts.join("，"))
            })
            .collect();
        d.push_str(&format!("存在逾期事项的单位：{}。", list.join("；")));
    }
    if d.is_empty() {
        d = format!("{}没有需要通报的办理情况。", span.label);
    }
    rep.sections
        .push(section("通报事项", vec![draft("commentary", d)]));
    Ok(rep)
}
