//! 舆情分析报告 (专报) of one event, with the six standard sections of domain.md, and the
//! 快报 of one alert or document.
//!
//! The event report is the event analysis (`yuqing_ingest::analysis`) laid out as 舆情概述,
//! 传播概况, 话题分析, 舆论聚焦, 关注人群 and 舆情点评与研判. 舆论聚焦 lists the event's
//! largest groups of near-identical posts (the views repeated most, each with its earliest
//! post) and its most discussed posts (comments + reposts); the system does not summarise
//! views in its own words. The commentary is a draft of computed facts for the analyst.
//!
//! The flash report says what, when, who first published, where (link), how far it has
//! spread, the level and why, and the measures taken (the case, if one was opened).

use super::*;
use std::collections::HashMap;
use yuqing_ingest::analysis::{self, EventAnalysis, Share};
use yuqing_report::model::{Chart, ChartKind, Series, Table};
use yuqing_store::EventMember;

const VIEWPOINTS: usize = 5;
const DISCUSSED: usize = 5;

fn share_chart(key: &str, title: &str, kind: ChartKind, shares: &[Share]) -> Block {
    Block::Chart(Chart {
        key: key.into(),
        title: title.into(),
        kind,
        categories: shares.iter().map(|s| s.label.clone()).collect(),
        series: vec![Series {
            name: "信息量".into(),
            values: shares.iter().map(|s| s.documents as f64).collect(),
        }],
    })
}

fn share_table(key: &str, title: &str, what: &str, shares: &[Share]) -> Block {
    Block::Table(Table {
        key: key.into(),
        title: title.into(),
        columns: vec![what.into(), "信息量".into(), "占比".into()],
        rows: shares
            .iter()
            .map(|s| {
                vec![
                    Value::Text(s.label.clone()),
                    int(s.documents),
                    Value::Pct(s.share),
                ]
            })
            .collect(),
    })
}

fn member_item(n: u32, m: &EventMember, summary: String) -> Item {
    Item {
        n,
        title: m
            .title
            .as_deref()
            .filter(|t| !t.trim().is_empty())
            .map(|t| excerpt(t, 60))
            .unwrap_or_else(|| excerpt(&m.text, 40)),
        summary,
        url: None,
        doc: Some(format!("{}:{}", m.platform, m.id)),
        platform: Some(platform_zh(&m.platform)),
        author: m.author_name.clone(),
        published_at: m.published_ms.and_then(bj_ms),
        level: None,
        sentiment: sentiment_zh(m.sentiment),
    }
}

/// Fills in the original URLs of items from the stored documents.
async fn with_urls<S: Store>(
    store: &S,
    members: &[&EventMember],
    items: &mut [Item],
) -> Result<()> {
    let docs = store
        .by_seqs(&members.iter().map(|m| m.seq).collect::<Vec<_>>())
        .await?;
    for (it, m) in items.iter_mut().zip(members) {
        it.url = docs
            .iter()
            .find(|d| d.seq == m.seq)
            .and_then(|d| d.doc.url.clone())
            .filter(|u| u.starts_with("http"));
    }
    Ok(())
}

fn overview_text(a: &EventAnalysis) -> String {
    let title = a
        .title
        .as_deref()
        .map(|t| excerpt(t, 40))
        .unwrap_or_else(|| format!("事件 {}", a.id));
    let mut t = format!("事件「{title}」");
    if let Some(fp) = &a.first_publisher {
        t.push_str(&format!(
            "最早于{}由{}{}「{}」发布",
            fp.published_at
                .map(time_zh)
                .unwrap_or_else(|| "（时间不详）".into()),
            platform_zh(&fp.platform),
            if fp.verified {
                "认证用户"
            } else {
                "用户"
            },
            fp.author_name.clone().unwrap_or_else(|| "佚名".into())
        ));
    }
    t.push_str(&format!(
        "，截至{}共有相关信息 {} 条，其中原创 {} 条、转发与评论 {} 条；累计评论 {}、转发 {}、阅读 {}。",
        a.last_at.map(time_zh).unwrap_or_else(|| "目前".into()),
        thousands(a.documents),
        thousands(a.kinds.originals),
        thousands(a.kinds.spread),
        thousands(a.totals.comments.max(0) as u64),
        thousands(a.totals.reposts.max(0) as u64),
        thousands(a.totals.views.max(0) as u64),
    ));
    if let Some(l) = a.level_label {
        t.push_str(&format!(
            "当前级别：{l}（{}）。",
            a.level_reason.clone().unwrap_or_default()
        ));
    } else {
        t.push_str("尚未定级。");
    }
    t
}

pub(super) async fn event_report<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    inputs: &Inputs,
    id: i64,
    _viewer: &Principal,
) -> Result<Report> {
    let s = r.store.as_ref();
    let bg = analysis::background(s).await?;
    let (a, members) = match analysis::analyse_with_members(s, &r.judge, &bg, id).await {
        Ok(x) => x,
        Err(analysis::AnalysisError::NotFound(id)) => {
            return Err(HandlingError::not_found(
                format!("没有编号为 {id} 的事件（yuqing events 列出事件）"),
                format!("no event with id {id} (yuqing events lists them)"),
            ));
        }
        Err(analysis::AnalysisError::Store(e)) => return Err(e.into()),
    };
    let title = a
        .title
        .as_deref()
        .map(|t| excerpt(t, 40))
        .unwrap_or_else(|| format!("事件 {id}"));
    let mut rep = r.report(inputs, Some(title));
    if let (Some(f), Some(l)) = (a.first_at, a.last_at) {
        rep.period = Some(yuqing_report::model::ReportPeriod {
            since: f,
            until: l,
            label: format!("{} 至 {}", time_zh(f), time_zh(l)),
        });
    }
    let overview = overview_text(&a);

    // 一、舆情概述
    let mut first_items = Vec::new();
    if let Some(fp) = &a.first_publisher
        && let Some(d) = s.get(&fp.platform, &fp.id).await?
    {
        let mut it = item_of(1, &d, None);
        it.level = a.level_label.map(String::from);
        it.sentiment = sentiment_zh(d.assessment.sentiment);
        first_items.push(it);
    }
    let mut sec1 = vec![
        para(overview.clone()),
        Block::Figures {
            items: vec![
                fig("documents", "信息总量", int(a.documents)),
                fig("originals", "原创", int(a.kinds.originals)),
                fig("spread", "转发与评论", int(a.kinds.spread)),
                fig("comments", "累计评论", int(a.totals.comments)),
                fig("reposts", "累计转发", int(a.totals.reposts)),
                fig("views", "累计阅读", int(a.totals.views)),
                fig(
                    "level",
                    "级别",
                    Value::Text(a.level_label.unwrap_or("未定级").into()),
                ),
                fig(
                    "first_at",
                    "首发时间",
                    Value::Text(a.first_at.map(time_zh).unwrap_or_default()),
                ),
                fig(
                    "first_publisher",
                    "首发者",
                    Value::Text(
                        a.first_publisher
                            .as_ref()
                            .and_then(|f| f.author_name.clone())
                            .unwrap_or_default(),
                    ),
                ),
            ],
        },
    ];
    if !first_items.is_empty() {
        sec1.push(Block::Items { items: first_items });
    }
    rep.sections.push(section("舆情概述", sec1));

    // 二、传播概况
    let platforms: Vec<Share> = a
        .platforms
        .iter()
        .map(|s| Share {
            label: platform_zh(&s.name),
            ..s.clone()
        })
        .collect();
    let peak = a.peak_hour.as_ref();
    let sent = &a.sentiment;
    let mut spread_text = String::new();
    if !platforms.is_empty() {
        spread_text.push_str(&format!(
            "从平台分布看，{}",
            platforms
                .iter()
                .take(4)
                .map(|s| format!("{}占 {:.2}%", s.label, s.share * 100.0))
                .collect::<Vec<_>>()
                .join("，")
        ));
        spread_text.push('。');
    }
    if let Some(p) = peak {
        spread_text.push_str(&format!(
            "传播高峰出现在{}（{} 条/小时）。",
            time_zh(p.hour),
            thousands(p.documents)
        ));
    }
    spread_text.push_str(&format!(
        "传播层级最深 {} 层。从情感倾向看（已研判信息），负面 {:.1}%，中性 {:.1}%，正面 {:.1}%。",
        a.propagation.max_depth,
        sent.negative_share * 100.0,
        sent.neutral_share * 100.0,
        sent.positive_share * 100.0
    ));
    if !a.mainstream.is_empty() {
        spread_text.push_str(&format!("主流媒体转载：{}。", a.mainstream.join("、")));
    }
    let sec2 = vec![
        para(spread_text),
        Block::Figures {
            items: vec![
                fig(
                    "peak_hour",
                    "传播高峰",
                    Value::Text(peak.map(|p| time_zh(p.hour)).unwrap_or_default()),
                ),
                fig(
                    "peak_count",
                    "高峰每小时信息量",
                    int(peak.map_or(0, |p| p.documents)),
                ),
                fig("max_depth", "传播层级", int(a.propagation.max_depth)),
                fig(
                    "negative_share",
                    "负面占比（已研判）",
                    Value::Pct(sent.negative_share),
                ),
                fig(
                    "neutral_share",
                    "中性占比（已研判）",
                    Value::Pct(sent.neutral_share),
                ),
                fig(
                    "positive_share",
                    "正面占比（已研判）",
                    Value::Pct(sent.positive_share),
                ),
                fig("negative", "负面信息", int(sent.negative)),
                fig("mainstream", "主流媒体转载", int(a.mainstream.len())),
            ],
        },
        share_chart("platforms", "平台分布", ChartKind::Pie, &platforms),
        share_table("platforms", "平台分布", "平台", &platforms),
        Block::Chart(Chart {
            key: "trend".into(),
            title: "传播走势（按小时）".into(),
            kind: ChartKind::Line,
            categories: a
                .trend
                .iter()
                .map(|h| h.hour.format("%-m月%-d日 %H时").to_string())
                .collect(),
            series: vec![Series {
                name: "信息量".into(),
                values: a.trend.iter().map(|h| h.documents as f64).collect(),
            }],
        }),
        sentiment_pie(sent.negative, sent.neutral, sent.positive),
    ];
    rep.sections.push(section("传播概况", sec2));

    // 三、话题分析
    let sec3 = vec![
        para(if a.hot_words.is_empty() {
            "没有可统计的热词。".to_owned()
        } else {
            format!(
                "事件热词依次为：{}。内容类型以{}为主。",
                a.hot_words
                    .iter()
                    .take(10)
                    .map(|w| w.word.as_str())
                    .collect::<Vec<_>>()
                    .join("、"),
                a.content_types
                    .first()
                    .map(|c| c.label.as_str())
                    .unwrap_or("（未分类）")
            )
        }),
        Block::Chart(Chart {
            key: "hot_words".into(),
            title: "热词云".into(),
            kind: ChartKind::WordCloud,
            categories: a.hot_words.iter().map(|w| w.word.clone()).collect(),
            series: vec![Series {
                name: "权重".into(),
                values: a.hot_words.iter().map(|w| w.weight).collect(),
            }],
        }),
        share_chart(
            "topics",
            "话题（内容类型）分布",
            ChartKind::Bar,
            &a.content_types,
        ),
        share_table(
            "topics",
            "话题（内容类型）分布",
            "内容类型",
            &a.content_types,
        ),
    ];
    rep.sections.push(section("话题分析", sec3));

    // 四、舆论聚焦
    let mut groups: HashMap<i64, Vec<&EventMember>> = HashMap::new();
    for m in &members {
        if let Some(g) = m.group_id {
            groups.entry(g).or_default().push(m);
        }
    }
    let mut groups: Vec<(i64, Vec<&EventMember>)> =
        groups.into_iter().filter(|(_, v)| v.len() >= 2).collect();
    groups.sort_by(|x, y| y.1.len().cmp(&x.1.len()).then(x.0.cmp(&y.0)));
    let mut reps: Vec<&EventMember> = Vec::new();
    let mut view_items = Vec::new();
    for (_, ms) in groups.iter().take(VIEWPOINTS) {
        let first = ms
            .iter()
            .min_by_key(|m| (m.published_ms.unwrap_or(i64::MAX), m.seq))
            .copied();
        if let Some(m) = first {
            view_items.push(member_item(
                view_items.len() as u32 + 1,
                m,
                format!("{}（同类表述 {} 条）", excerpt(&m.text, 120), ms.len()),
            ));
            reps.push(m);
        }
    }
    with_urls(s, &reps, &mut view_items).await?;
    let mut discussed: Vec<&EventMember> = members.iter().collect();
    discussed.sort_by_key(|m| {
        (
            std::cmp::Reverse(m.comments.max(0) + m.reposts.max(0)),
            m.seq,
        )
    });
    let discussed: Vec<&EventMember> = discussed
        .into_iter()
        .filter(|m| m.comments + m.reposts > 0)
        .take(DISCUSSED)
        .collect();
    let mut top_items: Vec<Item> = discussed
        .iter()
        .enumerate()
        .map(|(i, m)| {
            member_item(
                i as u32 + 1,
                m,
                format!(
                    "{}（评论 {}，转发 {}）",
                    excerpt(&m.text, 120),
                    m.comments,
                    m.reposts
                ),
            )
        })
        .collect();
    with_urls(s, &discussed, &mut top_items).await?;
    let mut sec4 = vec![para(format!(
        "以下列出重复最多的 {} 组相近表述（每组列其最早一条）和讨论最多的 {} 条信息，供分析人员归纳主要观点。",
        view_items.len(),
        top_items.len()
    ))];
    if !view_items.is_empty() {
        sec4.push(Block::Items { items: view_items });
    }
    if !top_items.is_empty() {
        sec4.push(Block::Items { items: top_items });
    }
    rep.sections.push(section("舆论聚焦", sec4));

    // 五、关注人群
    let au = &a.authors;
    let kinds = &a.kinds;
    let sec5 = vec![
        para(format!(
            "参与讨论的账号 {} 个，其中认证用户占 {:.1}%，普通用户占 {:.1}%；原创信息占 {:.1}%，转发与评论占 {:.1}%。{}",
            thousands(au.distinct),
            au.verified_share * 100.0,
            au.grassroots_share * 100.0,
            kinds.originals_share * 100.0,
            kinds.spread_share * 100.0,
            if a.regions.is_empty() {
                String::new()
            } else {
                format!(
                    "地域上以{}为主。",
                    a.regions
                        .iter()
                        .take(3)
                        .map(|r| r.label.as_str())
                        .collect::<Vec<_>>()
                        .join("、")
                )
            }
        )),
        Block::Figures {
            items: vec![
                fig("authors", "参与账号", int(au.distinct)),
                fig(
                    "verified_share",
                    "认证用户占比",
                    Value::Pct(au.verified_share),
                ),
                fig(
                    "grassroots_share",
                    "普通用户占比",
                    Value::Pct(au.grassroots_share),
                ),
                fig(
                    "originals_share",
                    "原创占比",
                    Value::Pct(kinds.originals_share),
                ),
                fig(
                    "spread_share",
                    "转发与评论占比",
                    Value::Pct(kinds.spread_share),
                ),
            ],
        },
        Block::Chart(Chart {
            key: "authors".into(),
            title: "认证用户与普通用户".into(),
            kind: ChartKind::Pie,
            categories: vec!["认证用户".into(), "普通用户".into()],
            series: vec![Series {
                name: "账号".into(),
                values: vec![au.verified as f64, au.grassroots as f64],
            }],
        }),
        Block::Chart(Chart {
            key: "kinds".into(),
            title: "原创与转发评论".into(),
            kind: ChartKind::Pie,
            categories: vec!["原创".into(), "转发与评论".into()],
            series: vec![Series {
                name: "信息量".into(),
                values: vec![kinds.originals as f64, kinds.spread as f64],
            }],
        }),
        share_chart(
            "regions",
            "地域分布",
            ChartKind::Bar,
            &a.regions[..a.regions.len().min(15)],
        ),
        share_table("regions", "地域分布", "地域", &a.regions),
    ];
    rep.sections.push(section("关注人群", sec5));

    // 六、舆情点评与研判
    let mut d = overview;
    d.push_str(&format!(
        "负面信息占已研判信息的 {:.1}%。",
        sent.negative_share * 100.0
    ));
    if a.spike.is_spike {
        d.push_str("最近一小时信息量明显高于此前 24 小时，仍在扩散。");
    }
    rep.sections
        .push(section("舆情点评与研判", vec![draft("commentary", d)]));
    if a.documents == 0 {
        rep.notice = Some("该事件暂无信息。/ The event has no documents yet.".into());
    }
    Ok(rep)
}

pub(super) async fn flash<S: Store + HandlingStore + ReportStore + Send + Sync + 'static>(
    r: &Reports<S>,
    inputs: &Inputs,
    alert: Option<i64>,
    doc: Option<&str>,
    viewer: &Principal,
) -> Result<Report> {
    let s = r.store.as_ref();
    let (alert, d) = match (alert, doc) {
        (Some(id), _) => {
            let a = s.alert(id).await?.ok_or_else(|| {
                HandlingError::not_found(
                    format!("没有编号为 {id} 的预警（yuqing alert list 列出预警）"),
                    format!("no alert with id {id} (yuqing alert list lists them)"),
                )
            })?;
            let d = s.by_seqs(&[a.first_seq]).await?.into_iter().next();
            (Some(a), d)
        }
        (None, Some(doc)) => (None, Some(document(s, doc).await?)),
        (None, None) => {
            return Err(HandlingError::invalid(
                "快报需要预警编号或文档",
                "a flash report needs an alert id or a document",
            ));
        }
    };
    let event_id = alert
        .as_ref()
        .map(|a| a.event_id)
        .or_else(|| d.as_ref().and_then(|d| d.event_id));
    let event = match event_id {
        Some(id) => s.events_by_id(&[id]).await?.into_iter().next(),
        None => None,
    };
    let title = alert
        .as_ref()
        .and_then(|a| {
            a.message
                .get("title")
                .and_then(|t| t.as_str())
                .map(String::from)
        })
        .or_else(|| event.as_ref().and_then(|e| e.title.clone()))
        .or_else(|| d.as_ref().map(|d| excerpt(&d.doc.text, 40)))
        .unwrap_or_default();
    let mut rep = r.report(inputs, Some(excerpt(&title, 40)));

    // 一、基本情况: what, when, first publisher, link.
    let first = match event.as_ref().and_then(|e| e.first_seq) {
        Some(seq) => s.by_seqs(&[seq]).await?.into_iter().next(),
        None => None,
    }
    .or_else(|| d.clone());
    let mut what = String::new();
    if let Some(f) = &first {
        what.push_str(&format!(
            "{}，{}{}发布：“{}”",
            f.doc
                .published_at
                .map(time_zh)
                .unwrap_or_else(|| "时间不详".into()),
            platform_zh(&f.doc.platform),
            f.doc
                .author
                .as_ref()
                .and_then(|a| a.name.clone())
                .map(|n| format!("用户「{n}」"))
                .unwrap_or_default(),
            excerpt(&f.doc.text, 200)
        ));
        what.push('。');
    }
    let mut items = Vec::new();
    if let Some(f) = &first {
        let mut it = item_of(1, f, None);
        it.level = level_label(
            event
                .as_ref()
                .and_then(|e| e.level.as_ref())
                .map(|l| l.level),
        );
        it.sentiment = sentiment_zh(f.assessment.sentiment);
        items.push(it);
    }
    if let Some(x) = &d
        && first.as_ref().is_none_or(|f| f.seq != x.seq)
    {
        items.push(item_of(2, x, None));
    }
    let mut sec1 = vec![para(what)];
    if let Some(a) = &alert {
        sec1.push(Block::Figures {
            items: vec![
                fig("alert", "预警编号", int(a.id)),
                fig(
                    "raised_at",
                    "预警时间",
                    Value::Text(time_zh(bj(a.raised_at))),
                ),
                fig(
                    "plan",
                    "监测方案",
                    Value::Text(a.plan.clone().unwrap_or_default()),
                ),
                fig("hits", "命中信息", int(a.hits)),
            ],
        });
    }
    sec1.push(Block::Items { items });
    rep.sections.push(section("基本情况", sec1));

    // 二、传播情况
    let mut sec2 = Vec::new();
    if let Some(e) = &event {
        sec2.push(para(format!(
            "截至{}，相关信息 {} 条（原创 {} 条），评论 {}、转发 {}、阅读 {}，其中负面 {} 条{}。",
            e.last_at
                .map(|t| time_zh(bj(t)))
                .unwrap_or_else(|| "目前".into()),
            thousands(e.documents.max(0) as u64),
            thousands(e.originals.max(0) as u64),
            thousands(e.comments.max(0) as u64),
            thousands(e.reposts.max(0) as u64),
            thousands(e.views.max(0) as u64),
            thousands(e.negative.max(0) as u64),
            if e.mainstream.is_empty() {
                String::new()
            } else {
                format!("；主流媒体 {} 转载", e.mainstream.join("、"))
            }
        )));
        sec2.push(Block::Figures {
            items: vec![
                fig("documents", "相关信息", int(e.documents)),
                fig("comments", "评论", int(e.comments)),
                fig("reposts", "转发", int(e.reposts)),
                fig("views", "阅读", int(e.views)),
                fig("negative", "负面信息", int(e.negative)),
            ],
        });
    } else {
        sec2.push(para("该信息尚未归入事件，暂无传播数据。"));
    }
    rep.sections.push(section("传播情况", sec2));

    // 三、级别与研判依据
    let level = event.as_ref().and_then(|e| e.level.clone());
    let sec3 = match &level {
        Some(l) => vec![
            para(format!(
                "定为{}：{}",
                level_label(Some(l.level)).unwrap_or_default(),
                l.reason
            )),
            Block::Figures {
                items: vec![
                    fig(
                        "level",
                        "级别",
                        Value::Text(level_label(Some(l.level)).unwrap_or_default()),
                    ),
                    fig("level_rule", "依据规则", Value::Text(l.rule.clone())),
                ],
            },
        ],
        None => vec![para("尚未定级。")],
    };
    rep.sections.push(section("级别与研判依据", sec3));

    // 四、已采取的措施
    let mut sec4 = Vec::new();
    let case_id = alert.as_ref().and_then(|a| a.case_id.clone());
    let mut measures = String::new();
    if let Some(a) = &alert {
        match (&a.acked_at, &a.acked_by) {
            (Some(t), Some(by)) => {
                measures.push_str(&format!("{} 由{by}确认预警。", time_zh(bj(*t))))
            }
            _ => measures.push_str("预警尚未确认。"),
        }
    }
    let case = match (&case_id, &r.cases) {
        (Some(id), Some(svc)) => svc.case(id, viewer).await.ok(),
        _ => None,
    };
    match &case {
        Some(c) => {
            measures.push_str(&format!(
                "已登记处置案件 {}（{}），责任单位 {}，当前状态：{}。",
                c.id,
                time_zh(bj(c.registered_at)),
                unit_name(&r.org().await, &c.unit),
                c.state.label_zh()
            ));
            if let Some(rp) = c.replies.last() {
                measures.push_str(&format!("已发布官方回应：“{}”。", excerpt(&rp.text, 120)));
            }
        }
        None if case_id.is_some() => measures.push_str("已转为处置案件（无权查看详情）。"),
        None => measures.push_str("尚未登记处置案件。"),
    }
    sec4.push(para(measures));
    if let Some(c) = &case {
        sec4.push(Block::Figures {
            items: vec![
                fig("case", "案件编号", Value::Text(c.id.clone())),
                fig(
                    "case_state",
                    "案件状态",
                    Value::Text(c.state.label_zh().into()),
                ),
            ],
        });
    }
    rep.sections.push(section("已采取的措施", sec4));
    let mut dtext = rep.sections[0]
        .blocks
        .iter()
        .find_map(|b| match b {
            Block::Paragraph { text } => Some(text.clone()),
            _ => None,
        })
        .unwrap_or_default();
    if let Some(l) = &level {
        dtext.push_str(&format!(
            "级别：{}。",
            level_label(Some(l.level)).unwrap_or_default()
        ));
    }
    rep.sections
        .push(section("研判与建议", vec![draft("commentary", dtext)]));
    Ok(rep)
}
