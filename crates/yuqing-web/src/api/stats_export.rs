//! `GET /api/v1/stats/export.xlsx?from&to&as_of`: the 统计考核 page as an Excel workbook,
//! for the monthly and yearly assessment tables offices hand in: 说明 (period, as-of time,
//! the weights of the points), 部门考核, 监测员考核 (with 预警未及时确认, 领导加减分 and 考核分),
//! 考核分明细 and 督办事项. The same figures as `GET /stats`, for the same viewer; names
//! instead of ids; every cell a string or a number, never a formula.

use std::sync::Arc;

use axum::extract::{Query, State};
use axum::http::HeaderMap;
use axum::response::Response;
use chrono::{DateTime, Utc};
use rust_xlsxwriter::{Format, Workbook, Worksheet, XlsxError};
use yuqing_core::Code;
use yuqing_handling::cases::Stats;
use yuqing_judge::grading::beijing;
use yuqing_store::{HandlingStore, Store};
use yuqing_workflow::PointRules;
use yuqing_workflow::org::Org;
use yuqing_workflow::points::{MONITOR_FIGURES, monitor_rows};

use super::AppState;
use super::cases::{CaseError, StatsParams, stats_of};
use super::dashboard::{blocking, xlsx_download};
use crate::error::ApiError;

/// `GET /api/v1/stats/export.xlsx`.
pub async fn export<S: Store + HandlingStore>(
    State(st): State<Arc<AppState<S>>>,
    headers: HeaderMap,
    Query(p): Query<StatsParams>,
) -> Result<Response, CaseError> {
    let (stats, org, svc) = stats_of(&st, &headers, &p).await?;
    let weights = svc.point_rules().clone();
    let name = format!(
        "yuqing-stats-{}-{}.xlsx",
        bj(stats.period.from, "%Y%m%d"),
        bj(stats.period.to - chrono::Duration::seconds(1), "%Y%m%d")
    );
    let bytes = blocking(move || workbook(&stats, &org, &weights)).await??;
    Ok(xlsx_download(bytes, &name))
}

fn bj(t: DateTime<Utc>, fmt: &str) -> String {
    t.with_timezone(&beijing()).format(fmt).to_string()
}

fn err(e: XlsxError) -> ApiError {
    ApiError::new(
        Code::Internal,
        format!("生成 Excel 失败：{e}"),
        format!("writing the Excel file failed: {e}"),
    )
}

/// A cell of a row.
enum Cell {
    Text(String),
    Int(i64),
    Pct(Option<f64>),
    Num(Option<f64>),
}

/// A sheet: bold headers, then the rows.
fn sheet(
    wb: &mut Workbook,
    name: &str,
    headers: &[&str],
    rows: Vec<Vec<Cell>>,
) -> Result<(), ApiError> {
    let ws: &mut Worksheet = wb.add_worksheet();
    ws.set_name(name).map_err(err)?;
    let bold = Format::new().set_bold();
    let pct = Format::new().set_num_format("0.0%");
    for (c, h) in headers.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &bold)
            .map_err(err)?;
        ws.set_column_width(c as u16, if c == 0 { 18 } else { 12 })
            .map_err(err)?;
    }
    for (i, row) in rows.into_iter().enumerate() {
        let r = (i + 1) as u32;
        for (c, cell) in row.into_iter().enumerate() {
            let c = c as u16;
            match cell {
                // Excel keeps at most 32,767 characters in a cell.
                Cell::Text(s) => ws
                    .write_string(r, c, s.chars().take(32_000).collect::<String>())
                    .map(|_| ()),
                Cell::Int(n) => ws.write_number(r, c, n as f64).map(|_| ()),
                Cell::Pct(Some(x)) => ws.write_number_with_format(r, c, x, &pct).map(|_| ()),
                Cell::Num(Some(x)) => ws.write_number(r, c, x).map(|_| ()),
                Cell::Pct(None) | Cell::Num(None) => ws.write_string(r, c, "-").map(|_| ()),
            }
            .map_err(err)?;
        }
    }
    Ok(())
}

fn unit_name(org: &Org, id: &str) -> String {
    org.unit(id)
        .map_or_else(|| id.to_owned(), |u| u.name.clone())
}

fn user_name(org: &Org, id: &str) -> String {
    org.user(id)
        .map_or_else(|| id.to_owned(), |u| u.name.clone())
}

/// The workbook of `stats`.
pub fn workbook(stats: &Stats, org: &Org, w: &PointRules) -> Result<Vec<u8>, ApiError> {
    use Cell::*;
    let mut wb = Workbook::new();
    let f = &w.found_first;
    sheet(
        &mut wb,
        "说明",
        &["项目", "内容"],
        vec![
            vec![
                Text("统计区间（北京时间）".into()),
                Text(format!(
                    "{} 至 {}",
                    bj(stats.period.from, "%Y-%m-%d %H:%M"),
                    bj(stats.period.to, "%Y-%m-%d %H:%M")
                )),
            ],
            vec![
                Text("统计截至".into()),
                Text(bj(stats.as_of, "%Y-%m-%d %H:%M")),
            ],
            vec![
                Text("绩效考核分规则".into()),
                Text(format!(
                    "首先发现：一般 {:+}、较大 {:+}、重大 {:+}、特别重大 {:+}；按时上报 {:+}；迟报 {:+}；预警未及时确认 {:+}",
                    f.general,
                    f.large,
                    f.major,
                    f.especially_major,
                    w.reported,
                    w.late,
                    w.unacknowledged
                )),
            ],
        ],
    )?;
    sheet(
        &mut wb,
        "部门考核",
        &[
            "部门",
            "交办",
            "已回复",
            "办结",
            "按时",
            "超时",
            "回复用时中位数（小时）",
            "回复率",
            "办结率",
            "按时率",
            "满意度",
            "满意度评价数",
        ],
        stats
            .departments
            .iter()
            .map(|d| {
                vec![
                    Text(unit_name(org, &d.unit)),
                    Int(d.assigned.into()),
                    Int(d.replied.into()),
                    Int(d.closed.into()),
                    Int(d.on_time.into()),
                    Int(d.overdue.into()),
                    Num(d
                        .median_reply_secs
                        .map(|s| (s as f64 / 360.0).round() / 10.0)),
                    Pct(d.reply_rate),
                    Pct(d.completion_rate),
                    Pct(d.on_time_rate),
                    Num(d.mean_satisfaction.map(|m| (m * 100.0).round() / 100.0)),
                    Int(d.satisfaction_count.into()),
                ]
            })
            .collect(),
    )?;
    sheet(
        &mut wb,
        "监测员考核",
        &[&["监测员", "账号"][..], &MONITOR_FIGURES[..]].concat(),
        monitor_rows(&stats.monitors, &stats.points)
            .into_iter()
            .map(|r| {
                [Text(user_name(org, r.user)), Text(r.user.to_owned())]
                    .into_iter()
                    .chain(r.figures().map(Int))
                    .collect()
            })
            .collect(),
    )?;
    sheet(
        &mut wb,
        "考核分明细",
        &[
            "监测员",
            "时间",
            "项目",
            "分值",
            "对象",
            "标题或理由",
            "加减分人",
        ],
        stats
            .points
            .iter()
            .flat_map(|p| {
                p.entries.iter().map(|e| {
                    vec![
                        Text(user_name(org, &p.user)),
                        Text(bj(e.at, "%Y-%m-%d %H:%M")),
                        Text(e.kind.label_zh().into()),
                        Int(e.points.into()),
                        Text(e.target.clone()),
                        Text(e.title.clone()),
                        Text(
                            e.by.as_deref()
                                .map(|b| user_name(org, b))
                                .unwrap_or_default(),
                        ),
                    ]
                })
            })
            .collect(),
    )?;
    sheet(
        &mut wb,
        "督办事项",
        &[
            "案件",
            "事项",
            "承办单位",
            "办理时限",
            "状态",
            "超时（小时）",
        ],
        stats
            .overdue
            .iter()
            .map(|o| {
                vec![
                    Text(o.case.clone()),
                    Text(o.title.clone()),
                    Text(unit_name(org, &o.unit)),
                    Text(bj(o.due_at, "%Y-%m-%d %H:%M")),
                    Text(
                        if o.met_at.is_some() {
                            "逾期办理"
                        } else {
                            "逾期未办"
                        }
                        .into(),
                    ),
                    Num(Some((o.late_secs as f64 / 360.0).round() / 10.0)),
                ]
            })
            .collect(),
    )?;
    wb.save_to_buffer().map_err(err)
}
