//! Report builders (issue 6): compute a `yuqing_report::Report` from the store for each
//! product — 日报, 周报, 月报 ([`periodic`]), 舆情分析报告 and 快报 ([`event`]),
//! 《重要舆情摘报》 ([`digest`]), 年度统计 ([`yearly`]), 《网络舆情通报》 ([`circular`]) —
//! and keep the reports made ([`saved`]). Every figure is computed from stored data, every cited item links to its
//! source document; commentary blocks hold only computed facts until the analyst edits
//! them (the edit is part of the [`Inputs`], so rebuilding gives the same report).
//!
//! Cases are read within the viewer's scope (a liaison's report shows their unit's cases).

pub mod circular;
pub mod digest;
pub mod event;
pub mod inputs;
pub mod periodic;
pub mod saved;
pub mod schedule;
pub mod settings;
pub mod yearly;

use crate::cases::{CaseFilter, Cases, Principal};
use crate::error::{HandlingError, Result};
use chrono::{DateTime, FixedOffset, Utc};
pub use inputs::{DigestItem, Inputs, Spec};
pub use settings::ReportSettings;
use std::sync::Arc;
use yuqing_core::{Clock, Code, StoredDocument};
use yuqing_ingest::transforms::judge::Judge;
use yuqing_judge::grading::{Level, beijing};
use yuqing_report::model::{Block, Figure, Item, Value};
use yuqing_report::{Letterhead, Report, Section};
use yuqing_store::{HandlingStore, ReportStore, Store};
use yuqing_workflow::case::Case;

/// Builds reports over a store.
pub struct Reports<S> {
    store: Arc<S>,
    judge: Arc<Judge>,
    cases: Option<Arc<Cases<S>>>,
    clock: Arc<dyn Clock>,
    letterhead: Letterhead,
}

impl<S: Store + HandlingStore + ReportStore + Send + Sync + 'static> Reports<S> {
    pub fn new(store: Arc<S>, judge: Arc<Judge>, clock: Arc<dyn Clock>) -> Self {
        Reports {
            store,
            judge,
            cases: None,
            clock,
            letterhead: Letterhead::default(),
        }
    }

    /// Reports include the cases (处置情况) the viewer may see.
    pub fn with_cases(mut self, cases: Arc<Cases<S>>) -> Self {
        self.cases = Some(cases);
        self
    }

    pub fn with_letterhead(mut self, l: Letterhead) -> Self {
        self.letterhead = l;
        self
    }

    pub fn store(&self) -> &Arc<S> {
        &self.store
    }

    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }

    /// Builds the report `inputs` describe, as `viewer` may see it.
    pub async fn build(&self, inputs: &Inputs, viewer: &Principal) -> Result<Report> {
        inputs.check()?;
        let mut r = match &inputs.spec {
            Spec::Daily { date } => {
                periodic::build(self, inputs, inputs::day_period(*date), viewer).await?
            }
            Spec::Weekly { week } => {
                periodic::build(self, inputs, inputs::parse_week(week)?, viewer).await?
            }
            Spec::Monthly { month } => {
                periodic::build(self, inputs, inputs::parse_month(month)?, viewer).await?
            }
            Spec::Event { event } => event::event_report(self, inputs, *event, viewer).await?,
            Spec::Flash { alert, doc } => {
                event::flash(self, inputs, *alert, doc.as_deref(), viewer).await?
            }
            Spec::Digest { issue, items } => digest::build(self, inputs, *issue, items).await?,
            Spec::Yearly { year } => yearly::build(self, inputs, *year, viewer).await?,
            Spec::Circular { period } => circular::build(self, inputs, period, viewer).await?,
        };
        // The analyst's commentary replaces the computed drafts.
        for s in &mut r.sections {
            for b in &mut s.blocks {
                if let Block::Draft {
                    key, text, edited, ..
                } = b
                    && let Some(t) = inputs.commentary.get(key.as_str())
                {
                    *text = t.clone();
                    *edited = true;
                }
            }
        }
        Ok(r)
    }

    /// A report with the common header filled in.
    fn report(&self, inputs: &Inputs, subtitle: Option<String>) -> Report {
        let now = self.now().with_timezone(&beijing());
        Report {
            kind: inputs.kind(),
            title: inputs.kind().label_zh().to_owned(),
            subtitle,
            letterhead: self.letterhead.clone(),
            issue: None,
            date: date_zh(now),
            period: None,
            inputs: serde_json::to_value(inputs).unwrap_or_default(),
            generated_at: now,
            notice: None,
            sections: Vec::new(),
        }
    }

    /// The organisation, for unit and user names (empty without the case service).
    async fn org(&self) -> yuqing_workflow::org::Org {
        match &self.cases {
            Some(c) => c.org().await.unwrap_or_default(),
            None => Default::default(),
        }
    }

    /// The cases the viewer may see (none without the case service or an unknown viewer).
    async fn visible_cases(&self, viewer: &Principal) -> Result<Vec<Case>> {
        let Some(cases) = &self.cases else {
            return Ok(Vec::new());
        };
        match cases.list(viewer, &CaseFilter::default()).await {
            Ok(c) => Ok(c),
            Err(e) if matches!(e.code(), Code::Forbidden | Code::NotFound) => Ok(Vec::new()),
            Err(e) => Err(e),
        }
    }
}

// ---- small helpers shared by the builders ----

pub(crate) fn date_zh(t: DateTime<FixedOffset>) -> String {
    t.format("%Y年%-m月%-d日").to_string()
}

pub(crate) fn time_zh(t: DateTime<FixedOffset>) -> String {
    t.format("%Y年%-m月%-d日 %H:%M").to_string()
}

pub(crate) fn bj(t: DateTime<Utc>) -> DateTime<FixedOffset> {
    t.with_timezone(&beijing())
}

pub(crate) fn bj_ms(ms: i64) -> Option<DateTime<FixedOffset>> {
    DateTime::<Utc>::from_timestamp_millis(ms).map(bj)
}

pub(crate) fn fig(key: &str, label: &str, value: Value) -> Figure {
    Figure {
        key: key.into(),
        label: label.into(),
        value,
    }
}

/// The alerts of each level, 特别重大 first (keys `alerts_<level>`).
pub(crate) fn alert_level_figures(alerts: &[yuqing_store::handling::AlertRow]) -> Vec<Figure> {
    [4i64, 3, 2, 1]
        .into_iter()
        .filter_map(Level::from_code)
        .map(|lv| {
            fig(
                &format!("alerts_{}", lv.as_str()),
                &format!("{}预警", lv.label_zh()),
                int(alerts.iter().filter(|a| a.level == lv.code()).count()),
            )
        })
        .collect()
}

pub(crate) fn int(n: impl TryInto<i64>) -> Value {
    Value::Int(n.try_into().unwrap_or(i64::MAX))
}

pub(crate) fn para(text: impl Into<String>) -> Block {
    Block::Paragraph { text: text.into() }
}

pub(crate) fn draft(key: &str, text: String) -> Block {
    Block::Draft {
        key: key.into(),
        computed: text.clone(),
        text,
        edited: false,
    }
}

/// The sentiment pie (负面, 中性, 正面) every report that has sentiment shows.
pub(crate) fn sentiment_pie(negative: u64, neutral: u64, positive: u64) -> Block {
    Block::Chart(yuqing_report::Chart {
        key: "sentiment".into(),
        title: "情感倾向".into(),
        kind: yuqing_report::ChartKind::Pie,
        categories: vec!["负面".into(), "中性".into(), "正面".into()],
        series: vec![yuqing_report::Series {
            name: "信息量".into(),
            values: vec![negative as f64, neutral as f64, positive as f64],
        }],
    })
}

pub(crate) fn section(title: &str, blocks: Vec<Block>) -> Section {
    Section {
        title: title.into(),
        blocks,
    }
}

/// A unit's name, or its id when the organisation does not know it.
pub(crate) fn unit_name(org: &yuqing_workflow::org::Org, id: &str) -> String {
    org.unit(id)
        .map_or_else(|| id.to_owned(), |u| u.name.clone())
}

/// A user's name, or their id.
pub(crate) fn user_name(org: &yuqing_workflow::org::Org, id: &str) -> String {
    org.user(id)
        .map_or_else(|| id.to_owned(), |u| u.name.clone())
}

/// A platform's Chinese name (the UI's labels), or its code.
pub(crate) fn platform_zh(p: &str) -> String {
    match p {
        "weibo" => "微博",
        "wechat" => "微信",
        "news" => "新闻",
        "douyin" => "抖音",
        "kuaishou" => "快手",
        "bilibili" => "哔哩哔哩",
        "zhihu" => "知乎",
        "tieba" => "贴吧",
        "forum" => "论坛",
        "web" => "网站",
        "push" => "推送",
        "email" => "邮件",
        "message_board" => "留言板",
        other => other,
    }
    .to_owned()
}

pub(crate) fn level_label(code: Option<i64>) -> Option<String> {
    code.and_then(Level::from_code)
        .map(|l| l.label_zh().to_owned())
}

pub(crate) fn sentiment_zh(s: Option<i8>) -> Option<String> {
    match s {
        Some(1) => Some("正面".into()),
        Some(0) => Some("中性".into()),
        Some(-1) => Some("负面".into()),
        _ => None,
    }
}

/// "12,345".
pub(crate) fn thousands(n: u64) -> String {
    let s = n.to_string();
    let mut out = String::with_capacity(s.len() + s.len() / 3);
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// "82.7%".
pub(crate) fn pct(n: u64, of: u64) -> String {
    if of == 0 {
        "—".into()
    } else {
        format!("{:.1}%", n as f64 * 100.0 / of as f64)
    }
}

/// The first `n` characters of a text on one line.
pub(crate) fn excerpt(s: &str, n: usize) -> String {
    let one: String = s.split_whitespace().collect::<Vec<_>>().join(" ");
    let mut out: String = one.chars().take(n).collect();
    if one.chars().count() > n {
        out.push('…');
    }
    out
}

/// A stored document as a cited item.
pub(crate) fn item_of(n: u32, d: &StoredDocument, summary: Option<String>) -> Item {
    let title = d
        .doc
        .title
        .as_deref()
        .filter(|t| !t.trim().is_empty())
        .map(|t| excerpt(t, 60))
        .unwrap_or_else(|| excerpt(&d.doc.text, 40));
    Item {
        n,
        title,
        summary: summary.unwrap_or_else(|| excerpt(&d.doc.text, 150)),
        url: d.doc.url.clone().filter(|u| u.starts_with("http")),
        doc: d
            .doc
            .id
            .as_ref()
            .map(|id| format!("{}:{id}", d.doc.platform)),
        platform: Some(platform_zh(&d.doc.platform)),
        author: d.doc.author.as_ref().and_then(|a| a.name.clone()),
        published_at: d.doc.published_at,
        level: None,
        sentiment: None,
    }
}

/// A document by `platform:id`, or a clear not-found.
pub(crate) async fn document<S: Store>(store: &S, doc: &str) -> Result<StoredDocument> {
    let (p, id) = inputs::split_doc(doc)?;
    store.get(p, id).await?.ok_or_else(|| {
        HandlingError::not_found(
            format!("没有文档 {doc}（写作 平台:编号，可在信息检索中查到）"),
            format!("no document {doc} (written platform:id; find it with search)"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_read_as_in_chinese_reports() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(123), "123");
        assert_eq!(pct(1, 3), "33.3%");
        assert_eq!(pct(1, 0), "—");
        assert_eq!(excerpt("一 二\n三", 3), "一 二…");
    }
}
