//! 日报, 周报 and 月报: the figures of one Beijing period, compared with the period before.
//!
//! Sections: 总体情况 (volume, change, sentiment, platforms, trend by hour for a day and by
//! day otherwise), 热点事件 (events active in the period by level and size, their first
//! posts linked), 预警情况 (alerts raised in the period), 处置情况 (cases registered, closed
//! and overdue within the viewer's scope), 热词 (word cloud of the period's newest texts),
//! and the analyst's commentary (a draft of the facts above).
//!
//! Volumes count documents by publication time in `[since, until)`; events are those with
//! a document published since the period started and first seen before it ended (ranked by
//! level, then size); overdue cases are judged at the end of the period, or now if sooner.

use super::inputs::Span;
use super::*;
use chrono::Timelike;
use std::collections::BTreeMap;
use yuqing_judge::hotwords::hot_words;
use yuqing_report::model::{Chart, ChartKind, Series, Table};
use yuqing_store::EventQuery;
use yuqing_store::handling::{AlertQuery, Verdict};
use yuqing_workflow::deadlines::{DeadlineStatus, deadlines_for};

/// Texts the hot words are computed on (the newest of the period), as on the dashboard.
pub const HOT_WORD_SAMPLE: i64 = 5_000;
const HOT_WORDS: usize = 60;
const TOP_EVENTS: usize = 10;
const HOUR_MS: i64 = 3_600_000;

pub(super) async fn build<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    inputs: &Inputs,
    span: Span,
    viewer: &Principal,
) -> Result<Report> {
    let s = r.store.as_ref();
    let (since, until) = (span.since.timestamp_millis(), span.until.timestamp_millis());
    let (psince, puntil) = (
        span.prev_since.timestamp_millis(),
        span.prev_until.timestamp_millis(),
    );
    let daily = matches!(inputs.spec, Spec::Daily { .. });
    let top = EventQuery {
        active_since: Some(since),
        limit: 200,
        ..Default::default()
    };
    let alerts_q = AlertQuery {
        since: Some(span.since.with_timezone(&Utc)),
        until: Some(span.until.with_timezone(&Utc)),
        ..Default::default()
    };
    // A plan's report counts only the documents the plan hit, and its alerts.
    let plan = match inputs.plan {
        Some(id) => Some(
            s.plans()
                .await?
                .into_iter()
                .find(|p| p.id == id)
                .ok_or_else(|| {
                    HandlingError::not_found(
                        format!("没有编号为 {id} 的监测方案（yuqing plan list 列出方案）"),
                        format!("no monitoring plan {id} (yuqing plan list lists them)"),
                    )
                })?,
        ),
        None => None,
    };
    let (hours, prev_hours, sentiment, prev_sentiment, platforms, texts, events, alerts) =
        match &plan {
            None => tokio::try_join!(
                s.volume_by_hour(since, until),
                s.volume_by_hour(psince, puntil),
                s.sentiment_counts(since, until),
                s.sentiment_counts(psince, puntil),
                s.platform_counts(since, until),
                s.recent_texts(since, until, HOT_WORD_SAMPLE),
                s.events(&top),
                s.alerts(&alerts_q),
            )?,
            Some(p) => {
                let (cur, prev, alerts) = tokio::try_join!(
                    s.plan_period(p.id, since, until, HOT_WORD_SAMPLE),
                    s.plan_period(p.id, psince, puntil, 0),
                    s.alerts(&alerts_q),
                )?;
                let ids: Vec<i64> = cur.events.iter().take(200).map(|e| e.0).collect();
                let mut events = s.events_by_id(&ids).await?;
                let plan_docs: std::collections::HashMap<i64, u64> =
                    cur.events.iter().copied().collect();
                events.sort_by_key(|e| {
                    (
                        std::cmp::Reverse(e.level.as_ref().map_or(-1, |l| l.level)),
                        std::cmp::Reverse(plan_docs.get(&e.id).copied().unwrap_or(0)),
                        e.id,
                    )
                });
                let alerts = alerts
                    .into_iter()
                    .filter(|a| a.plan.as_deref() == Some(p.name.as_str()))
                    .collect();
                (
                    cur.hours,
                    prev.hours,
                    cur.sentiment,
                    prev.sentiment,
                    cur.platforms,
                    cur.texts,
                    events,
                    alerts,
                )
            }
        };
    let total: u64 = hours.iter().map(|h| h.1).sum();
    let prev_total: u64 = prev_hours.iter().map(|h| h.1).sum();
    let subtitle = match &plan {
        Some(p) => format!("{}（监测方案：{}）", span.label, p.name),
        None => span.label.clone(),
    };
    let mut rep = r.report(inputs, Some(subtitle));
    rep.period = Some(span.report_period());
    if total == 0 {
        rep.notice = Some(format!(
            "{}没有监测到发布于该时段的信息；以下各项均为零。/ No documents were published in this period.",
            span.label
        ));
    }

    // ---- 一、总体情况 ----
    let change = if prev_total == 0 {
        Value::None
    } else {
        Value::Pct((total as f64 - prev_total as f64) / prev_total as f64)
    };
    let judged = sentiment.positive + sentiment.neutral + sentiment.negative;
    let mut figures = vec![
        fig("total", "信息总量", int(total)),
        fig(
            "previous_total",
            &format!("{}信息总量", span.prev_name),
            int(prev_total),
        ),
        fig("change", &format!("较{}变化", span.prev_name), change),
        fig("negative", "负面信息", int(sentiment.negative)),
        fig(
            "negative_share",
            "负面占比（已研判）",
            Value::share(sentiment.negative, judged),
        ),
        fig("neutral", "中性信息", int(sentiment.neutral)),
        fig("positive", "正面信息", int(sentiment.positive)),
        fig("unjudged", "未研判", int(sentiment.unjudged)),
        fig(
            "previous_negative",
            &format!("{}负面信息", span.prev_name),
            int(prev_sentiment.negative),
        ),
        fig("platforms", "来源平台数", int(platforms.len())),
    ];
    // The trend: hours of the day, or days of the week/month.
    let (cats, now_v, prev_v, peak) = if daily {
        trend_by_hour(&hours, &prev_hours, since, psince)
    } else {
        trend_by_day(&hours, &prev_hours, &span)
    };
    if let Some((label, n)) = &peak {
        figures.push(fig("peak", "发布高峰", Value::Text(label.clone())));
        figures.push(fig("peak_count", "高峰信息量", int(*n)));
    }
    let mut facts = match &plan {
        Some(p) => format!(
            "{}监测方案「{}」共命中信息 {} 条",
            span.label,
            p.name,
            thousands(total)
        ),
        None => format!("{}共监测到相关信息 {} 条", span.label, thousands(total)),
    };
    match prev_total {
        0 => facts.push_str(&format!("（{}无信息）", span.prev_name)),
        p if total == p => facts.push_str(&format!(
            "，与{}持平（{} 条）",
            span.prev_name,
            thousands(p)
        )),
        p if total > p => facts.push_str(&format!(
            "，较{}（{} 条）增加 {}",
            span.prev_name,
            thousands(p),
            pct(total - p, p)
        )),
        p => facts.push_str(&format!(
            "，较{}（{} 条）减少 {}",
            span.prev_name,
            thousands(p),
            pct(p - total, p)
        )),
    }
    facts.push('。');
    if judged > 0 {
        facts.push_str(&format!(
            "已研判情感倾向的 {} 条中，负面 {} 条（占 {}），中性 {} 条，正面 {} 条",
            thousands(judged),
            thousands(sentiment.negative),
            pct(sentiment.negative, judged),
            thousands(sentiment.neutral),
            thousands(sentiment.positive)
        ));
        if sentiment.unjudged > 0 {
            facts.push_str(&format!(
                "；另有 {} 条未研判",
                thousands(sentiment.unjudged)
            ));
        }
        facts.push('。');
    }
    if let Some((p, n)) = platforms.first() {
        facts.push_str(&format!(
            "信息主要来自{}（{}）。",
            platform_zh(p),
            pct(*n, total)
        ));
    }
    if let Some((label, n)) = &peak {
        facts.push_str(&format!("发布高峰在{label}（{} 条）。", thousands(*n)));
    }
    let platform_table = Table {
        key: "platforms".into(),
        title: "平台分布".into(),
        columns: vec!["平台".into(), "信息量".into(), "占比".into()],
        rows: platforms
            .iter()
            .map(|(p, n)| {
                vec![
                    Value::Text(platform_zh(p)),
                    int(*n),
                    Value::share(*n, total),
                ]
            })
            .collect(),
    };
    let overview = vec![
        para(facts.clone()),
        Block::Figures { items: figures },
        Block::Chart(Chart {
            key: "trend".into(),
            title: if daily {
                "信息量走势（按小时）".into()
            } else {
                "信息量走势（按日）".into()
            },
            kind: ChartKind::Line,
            categories: cats,
            series: vec![
                Series {
                    name: "本期".into(),
                    values: now_v,
                },
                Series {
                    name: span.prev_name.into(),
                    values: prev_v,
                },
            ],
        }),
        sentiment_pie(sentiment.negative, sentiment.neutral, sentiment.positive),
        Block::Chart(Chart {
            key: "platform_share".into(),
            title: "平台分布".into(),
            kind: ChartKind::Pie,
            categories: platforms.iter().map(|p| platform_zh(&p.0)).collect(),
            series: vec![Series {
                name: "信息量".into(),
                values: platforms.iter().map(|p| p.1 as f64).collect(),
            }],
        }),
        Block::Table(platform_table),
    ];
    rep.sections.push(section("总体情况", overview));

    // ---- 二、热点事件 ----
    let events: Vec<_> = events
        .into_iter()
        .filter(|e| e.documents > 0 && e.first_at.is_none_or(|f| f.timestamp_millis() < until))
        .take(TOP_EVENTS)
        .collect();
    let firsts = s
        .by_seqs(
            &events
                .iter()
                .filter_map(|e| e.first_seq)
                .collect::<Vec<_>>(),
        )
        .await?;
    let mut rows = Vec::new();
    let mut items = Vec::new();
    for (i, e) in events.iter().enumerate() {
        let level = level_label(e.level.as_ref().map(|l| l.level));
        rows.push(vec![
            int(i as i64 + 1),
            Value::Text(
                e.title
                    .clone()
                    .map(|t| excerpt(&t, 40))
                    .unwrap_or_else(|| format!("事件 {}", e.id)),
            ),
            Value::Text(level.clone().unwrap_or_else(|| "未定级".into())),
            int(e.documents),
            int(e.comments),
            int(e.reposts),
            Value::Text(e.first_at.map(|t| time_zh(bj(t))).unwrap_or_default()),
        ]);
        if let Some(d) = firsts.iter().find(|d| Some(d.seq) == e.first_seq) {
            let mut it = item_of(items.len() as u32 + 1, d, None);
            it.level = level;
            it.sentiment = sentiment_zh(d.assessment.sentiment);
            items.push(it);
        }
    }
    let mut ev_blocks = vec![para(if events.is_empty() {
        "本期没有活跃事件。".to_owned()
    } else {
        format!(
            "本期活跃事件 {} 起（按级别和信息量列出前 {} 起），其首发信息附后。",
            events.len(),
            events.len()
        )
    })];
    ev_blocks.push(Block::Figures {
        items: vec![fig("events", "活跃事件", int(events.len()))],
    });
    if !rows.is_empty() {
        ev_blocks.push(Block::Table(Table {
            key: "events".into(),
            title: "热点事件".into(),
            columns: ["序号", "事件", "级别", "信息量", "评论", "转发", "首发时间"]
                .map(String::from)
                .to_vec(),
            rows,
        }));
        ev_blocks.push(Block::Items { items });
    }
    rep.sections.push(section("热点事件", ev_blocks));

    // ---- 三、预警情况 ----
    let mut al_figs = vec![fig("alerts", "新增预警", int(alerts.len()))];
    al_figs.extend(alert_level_figures(&alerts));
    let acked = alerts.iter().filter(|a| a.acked_at.is_some()).count();
    al_figs.push(fig("alerts_acked", "已确认", int(acked)));
    let false_alarms = alerts
        .iter()
        .filter(|a| {
            a.verdict
                .as_ref()
                .is_some_and(|v| v.verdict == Verdict::FalseAlarm)
        })
        .count();
    al_figs.push(fig("alerts_false_alarms", "误报", int(false_alarms)));
    let mut al_blocks = vec![
        para(if alerts.is_empty() {
            "本期没有新增预警。".to_owned()
        } else {
            format!(
                "本期新增预警 {} 条，已确认 {} 条，经研判为误报 {} 条，转为处置案件 {} 条。",
                alerts.len(),
                acked,
                false_alarms,
                alerts.iter().filter(|a| a.case_id.is_some()).count()
            )
        }),
        Block::Figures { items: al_figs },
    ];
    if !alerts.is_empty() {
        al_blocks.push(Block::Table(Table {
            key: "alerts".into(),
            title: "预警列表".into(),
            columns: [
                "编号",
                "级别",
                "标题",
                "方案",
                "预警时间",
                "确认",
                "研判",
                "案件",
            ]
            .map(String::from)
            .to_vec(),
            rows: alerts
                .iter()
                .take(500)
                .map(|a| {
                    vec![
                        int(a.id),
                        Value::Text(level_label(Some(a.level)).unwrap_or_default()),
                        Value::Text(
                            a.message
                                .get("title")
                                .and_then(|t| t.as_str())
                                .map(|t| excerpt(t, 40))
                                .unwrap_or_default(),
                        ),
                        Value::Text(a.plan.clone().unwrap_or_default()),
                        Value::Text(time_zh(bj(a.raised_at))),
                        Value::Text(a.acked_by.clone().unwrap_or_else(|| "未确认".into())),
                        Value::Text(
                            a.verdict
                                .as_ref()
                                .map(|v| v.verdict.label_zh().to_owned())
                                .unwrap_or_default(),
                        ),
                        Value::Text(a.case_id.clone().unwrap_or_default()),
                    ]
                })
                .collect(),
        }));
    }
    rep.sections.push(section("预警情况", al_blocks));

    // ---- 四、处置情况 ----
    let cases = r.visible_cases(viewer).await?;
    let org = r.org().await;
    let as_of = r.now().min(span.until.with_timezone(&Utc));
    let in_period = |t: DateTime<Utc>| span.since <= t && t < span.until;
    let opened = cases.iter().filter(|c| in_period(c.registered_at)).count();
    let closed = cases
        .iter()
        .filter(|c| c.closed_at.is_some_and(in_period))
        .count();
    let overdue: Vec<&Case> = cases
        .iter()
        .filter(|c| c.registered_at < span.until && c.closed_at.is_none_or(|t| t > as_of))
        .filter(|c| {
            deadlines_for(
                c,
                r.cases
                    .as_ref()
                    .map(|x| x.rules())
                    .unwrap_or(&Default::default()),
            )
            .iter()
            .any(|d| d.status(as_of) == DeadlineStatus::Overdue)
        })
        .collect();
    let mut case_blocks = vec![
        para(format!(
            "本期新登记处置案件 {opened} 件，办结 {closed} 件；截至{}，逾期未办 {} 件。",
            time_zh(bj(as_of)),
            overdue.len()
        )),
        Block::Figures {
            items: vec![
                fig("cases_opened", "新登记案件", int(opened)),
                fig("cases_closed", "办结案件", int(closed)),
                fig("cases_overdue", "逾期案件", int(overdue.len())),
            ],
        },
    ];
    if !overdue.is_empty() {
        case_blocks.push(Block::Table(Table {
            key: "overdue_cases".into(),
            title: "逾期案件".into(),
            columns: ["案件", "标题", "责任单位", "状态", "登记时间"]
                .map(String::from)
                .to_vec(),
            rows: overdue
                .iter()
                .map(|c| {
                    vec![
                        Value::Text(c.id.clone()),
                        Value::Text(excerpt(&c.title, 40)),
                        Value::Text(unit_name(&org, &c.unit)),
                        Value::Text(c.state.label_zh().into()),
                        Value::Text(time_zh(bj(c.registered_at))),
                    ]
                })
                .collect(),
        }));
    }
    rep.sections.push(section("处置情况", case_blocks));

    // ---- 五、热词 ----
    let bg = yuqing_ingest::analysis::background(s).await?;
    let norm: Vec<String> = texts.iter().map(|t| yuqing_text::normalize(t)).collect();
    let words = hot_words(norm.iter().map(String::as_str), &bg, HOT_WORDS);
    let mut hw_blocks = vec![para(if words.is_empty() {
        "本期没有可统计的热词。".to_owned()
    } else {
        format!(
            "根据本期最新 {} 条信息统计，热词依次为：{}。",
            texts.len(),
            words
                .iter()
                .take(10)
                .map(|w| w.word.as_str())
                .collect::<Vec<_>>()
                .join("、")
        )
    })];
    hw_blocks.push(Block::Chart(Chart {
        key: "hot_words".into(),
        title: "热词云".into(),
        kind: ChartKind::WordCloud,
        categories: words.iter().map(|w| w.word.clone()).collect(),
        series: vec![Series {
            name: "权重".into(),
            values: words.iter().map(|w| w.weight).collect(),
        }],
    }));
    if !words.is_empty() {
        hw_blocks.push(Block::Table(Table {
            key: "hot_words".into(),
            title: "热词".into(),
            columns: vec!["热词".into(), "出现信息数".into(), "权重".into()],
            rows: words
                .iter()
                .take(30)
                .map(|w| {
                    vec![
                        Value::Text(w.word.clone()),
                        int(w.count),
                        Value::Num((w.weight * 1000.0).round() / 1000.0),
                    ]
                })
                .collect(),
        }));
    }
    rep.sections.push(section("热词", hw_blocks));

    // ---- 六、分析点评 ----
    let mut d = facts;
    if !events.is_empty() {
        d.push_str(&format!(
            "本期活跃事件 {} 起，规模最大的为「{}」。",
            events.len(),
            events
                .iter()
                .max_by_key(|e| e.documents)
                .and_then(|e| e.title.clone())
                .map(|t| excerpt(&t, 30))
                .unwrap_or_default()
        ));
    }
    d.push_str(&format!(
        "新增预警 {} 条，新登记案件 {opened} 件，逾期 {} 件。",
        alerts.len(),
        overdue.len()
    ));
    rep.sections
        .push(section("分析点评", vec![draft("commentary", d)]));
    Ok(rep)
}

type Trend = (Vec<String>, Vec<f64>, Vec<f64>, Option<(String, u64)>);

/// 24 hours of a day (Beijing), with the same hours of the day before.
fn trend_by_hour(hours: &[(i64, u64)], prev: &[(i64, u64)], since: i64, psince: i64) -> Trend {
    let first = since.div_euclid(HOUR_MS);
    let pfirst = psince.div_euclid(HOUR_MS);
    let mut now_v = vec![0.0; 24];
    let mut prev_v = vec![0.0; 24];
    for (h, n) in hours {
        if let Ok(i) = usize::try_from(h - first)
            && i < 24
        {
            now_v[i] += *n as f64;
        }
    }
    for (h, n) in prev {
        if let Ok(i) = usize::try_from(h - pfirst)
            && i < 24
        {
            prev_v[i] += *n as f64;
        }
    }
    let cats: Vec<String> = (0..24).map(|h| format!("{h}时")).collect();
    let peak = hours
        .iter()
        .max_by_key(|(h, n)| (*n, -h))
        .and_then(|(h, n)| {
            let t = bj_ms(h * HOUR_MS)?;
            Some((format!("{}时", t.hour()), *n))
        });
    (cats, now_v, prev_v, peak)
}

/// The days of a week or month, with the days of the period before aligned by position.
fn trend_by_day(hours: &[(i64, u64)], prev: &[(i64, u64)], span: &Span) -> Trend {
    let day = |ms: i64| bj_ms(ms).map(|t| t.date_naive());
    let mut cats = Vec::new();
    let mut d = span.since.date_naive();
    while d < span.until.date_naive() {
        cats.push(d);
        d = d.succ_opt().unwrap_or(d);
        if cats.len() > 400 {
            break;
        }
    }
    let mut by: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
    for (h, n) in hours {
        if let Some(d) = day(h * HOUR_MS) {
            *by.entry(d).or_default() += n;
        }
    }
    let mut pby: BTreeMap<chrono::NaiveDate, u64> = BTreeMap::new();
    for (h, n) in prev {
        if let Some(d) = day(h * HOUR_MS) {
            *pby.entry(d).or_default() += n;
        }
    }
    let pdays: Vec<u64> = {
        let mut v = Vec::new();
        let mut d = span.prev_since.date_naive();
        while d < span.prev_until.date_naive() && v.len() <= 400 {
            v.push(pby.get(&d).copied().unwrap_or(0));
            d = d.succ_opt().unwrap_or(d);
        }
        v
    };
    let now_v: Vec<f64> = cats
        .iter()
        .map(|d| by.get(d).copied().unwrap_or(0) as f64)
        .collect();
    let prev_v: Vec<f64> = (0..cats.len())
        .map(|i| pdays.get(i).copied().unwrap_or(0) as f64)
        .collect();
    let peak = by
        .iter()
        .max_by_key(|(d, n)| (**n, std::cmp::Reverse(**d)))
        .map(|(d, n)| (d.format("%-m月%-d日").to_string(), *n));
    let labels = cats
        .iter()
        .map(|d| d.format("%-m月%-d日").to_string())
        .collect();
    (labels, now_v, prev_v, peak)
}
