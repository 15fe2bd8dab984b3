//! The report document model: what every report type is built into and every format is
//! rendered from.
//!
//! A [`Report`] is a titled list of [`Section`]s of [`Block`]s: sentences of computed facts,
//! named figures, tables, charts (data, not pictures), cited items with links to their
//! source documents, and the analyst's editable commentary ([`Block::Draft`]). Builders
//! (`crate::build`) compute it from the store; renderers (`crate::render`) turn it into HTML,
//! DOCX, XLSX or PDF without any further query, and `--format json` prints it as it is, so
//! every figure a rendered report shows is in the JSON with a stable `key`.

use chrono::{DateTime, FixedOffset};
use serde::{Deserialize, Serialize};

/// The report products (domain.md, "Periodic products").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Kind {
    /// 日报: one Beijing day.
    Daily,
    /// 周报: an ISO week, compared with the week before.
    Weekly,
    /// 月报: a calendar month, compared with the month before.
    Monthly,
    /// 快报: one alert (or one document) as it stands now.
    Flash,
    /// 《重要舆情摘报》: a numbered issue of items the analyst chose.
    Digest,
    /// 专报 / 舆情分析报告: one event, the six standard sections.
    Event,
    /// 年度统计: a year's statistics for assessment, per department and per monitor.
    Yearly,
    /// 《网络舆情通报》: to the departments, for a week, month, quarter or year: the
    /// situation, each department's handling, the overdue items (督办事项).
    Circular,
}

impl Kind {
    pub const ALL: [Kind; 8] = [
        Kind::Daily,
        Kind::Weekly,
        Kind::Monthly,
        Kind::Flash,
        Kind::Digest,
        Kind::Event,
        Kind::Yearly,
        Kind::Circular,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Kind::Daily => "daily",
            Kind::Weekly => "weekly",
            Kind::Monthly => "monthly",
            Kind::Flash => "flash",
            Kind::Digest => "digest",
            Kind::Event => "event",
            Kind::Yearly => "yearly",
            Kind::Circular => "circular",
        }
    }

    pub fn parse(s: &str) -> Option<Kind> {
        Kind::ALL.into_iter().find(|k| k.as_str() == s)
    }

    /// The product's name as the office writes it.
    pub fn label_zh(self) -> &'static str {
        match self {
            Kind::Daily => "舆情日报",
            Kind::Weekly => "舆情周报",
            Kind::Monthly => "舆情月报",
            Kind::Flash => "舆情快报",
            Kind::Digest => "重要舆情摘报",
            Kind::Event => "舆情分析报告",
            Kind::Yearly => "年度舆情工作统计",
            Kind::Circular => "网络舆情通报",
        }
    }

    pub fn label_en(self) -> &'static str {
        match self {
            Kind::Daily => "Daily briefing",
            Kind::Weekly => "Weekly report",
            Kind::Monthly => "Monthly report",
            Kind::Flash => "Flash report",
            Kind::Digest => "Digest of important items",
            Kind::Event => "Event analysis report",
            Kind::Yearly => "Year-end statistics",
            Kind::Circular => "Circular to the departments",
        }
    }
}

/// The organisation's letterhead (from the configuration's `[report]` table).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Letterhead {
    /// Issuing unit, e.g. "某某县委网信办".
    pub organisation: String,
    /// Line above the title, e.g. "内部资料 注意保存".
    #[serde(default)]
    pub header: Option<String>,
    /// A PNG or JPEG logo, printed left of the title (bytes are not in the JSON).
    #[serde(skip)]
    pub logo: Option<Vec<u8>>,
}

impl Default for Letterhead {
    fn default() -> Self {
        Letterhead {
            organisation: "舆情工作办公室".into(),
            header: Some("内部资料 注意保存".into()),
            logo: None,
        }
    }
}

/// A report, ready to render.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    pub kind: Kind,
    /// e.g. "舆情日报".
    pub title: String,
    /// e.g. "2026年11月21日" or the event's title.
    #[serde(default)]
    pub subtitle: Option<String>,
    pub letterhead: Letterhead,
    /// 期号, e.g. "第 12 期" (digests; other kinds when given).
    #[serde(default)]
    pub issue: Option<String>,
    /// The date printed under the title ("2026年11月22日").
    pub date: String,
    /// The period the figures cover, if any.
    #[serde(default)]
    pub period: Option<ReportPeriod>,
    /// The inputs that rebuild this report (see `crate::Inputs`), as JSON.
    pub inputs: serde_json::Value,
    pub generated_at: DateTime<FixedOffset>,
    /// Set when there was nothing to report (e.g. no documents that day): the renderers
    /// print it prominently, and the sections say the same.
    #[serde(default)]
    pub notice: Option<String>,
    pub sections: Vec<Section>,
}

/// A half-open period `[since, until)` in Beijing time.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ReportPeriod {
    pub since: DateTime<FixedOffset>,
    pub until: DateTime<FixedOffset>,
    /// e.g. "2026年11月21日", "2026年第47周（11月16日—11月22日）".
    pub label: String,
}

/// A numbered section ("一、舆情概述").
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Section {
    /// Without the number: renderers number sections 一、二、三….
    pub title: String,
    pub blocks: Vec<Block>,
}

/// One piece of a section.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum Block {
    /// A paragraph of computed facts.
    Paragraph {
        text: String,
    },
    /// Named figures, shown as a compact two-column list.
    Figures {
        items: Vec<Figure>,
    },
    Table(Table),
    Chart(Chart),
    /// Cited items, each linked to its source document.
    Items {
        items: Vec<Item>,
    },
    /// The analyst's commentary: a draft that only states computed facts until the analyst
    /// edits it (the edit is kept in the inputs under `key`). `edited` says which it is.
    Draft {
        key: String,
        text: String,
        edited: bool,
        /// The computed draft, kept so that an emptied commentary returns to it.
        #[serde(default)]
        computed: String,
    },
}

/// A named figure. `key` is stable (tests and the JSON format look figures up by it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Figure {
    pub key: String,
    pub label: String,
    pub value: Value,
}

/// A value in a figure or a table cell.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "t", content = "v", rename_all = "snake_case")]
pub enum Value {
    Int(i64),
    /// A plain number shown with up to two decimals.
    Num(f64),
    /// A share in [0, 1], shown as a percentage with one decimal ("82.7%").
    Pct(f64),
    Text(String),
    /// A link: shown as `text`, pointing at `url`.
    Link {
        text: String,
        url: String,
    },
    /// No value (e.g. a rate with nothing to divide by): shown as "—".
    None,
}

impl Value {
    /// The value as the office reads it.
    pub fn display(&self) -> String {
        match self {
            Value::Int(n) => n.to_string(),
            Value::Num(x) => {
                let s = format!("{x:.2}");
                s.trim_end_matches('0').trim_end_matches('.').to_owned()
            }
            Value::Pct(x) => format!("{:.1}%", x * 100.0),
            Value::Text(s) => s.clone(),
            Value::Link { text, .. } => text.clone(),
            Value::None => "—".into(),
        }
    }

    /// A share, or none when the denominator is zero.
    pub fn share(n: u64, of: u64) -> Value {
        if of == 0 {
            Value::None
        } else {
            Value::Pct(n as f64 / of as f64)
        }
    }
}

/// A table; `key` names it (and its XLSX sheet).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Table {
    pub key: String,
    pub title: String,
    pub columns: Vec<String>,
    pub rows: Vec<Vec<Value>>,
}

/// What a chart draws.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartKind {
    /// Series over ordered categories (hours, days).
    Line,
    /// Series over categories.
    Bar,
    /// One series' shares (categories are the slices).
    Pie,
    /// Words (categories) sized by weight (the first series).
    WordCloud,
}

/// A chart's data; renderers draw it (SVG in HTML, PNG in DOCX) in the UI's look.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Chart {
    pub key: String,
    pub title: String,
    pub kind: ChartKind,
    pub categories: Vec<String>,
    pub series: Vec<Series>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Series {
    pub name: String,
    pub values: Vec<f64>,
}

/// A cited item: a stored document (or an alert/event built on one), with its link.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Item {
    /// 1-based number within its list.
    pub n: u32,
    pub title: String,
    /// A short summary: the analyst's, or the start of the document's own text.
    pub summary: String,
    /// The source document's URL (the original post), when known.
    #[serde(default)]
    pub url: Option<String>,
    /// The document in yuqing: `platform:id`.
    #[serde(default)]
    pub doc: Option<String>,
    #[serde(default)]
    pub platform: Option<String>,
    #[serde(default)]
    pub author: Option<String>,
    #[serde(default)]
    pub published_at: Option<DateTime<FixedOffset>>,
    /// e.g. "重大".
    #[serde(default)]
    pub level: Option<String>,
    /// e.g. "负面".
    #[serde(default)]
    pub sentiment: Option<String>,
}

impl Report {
    /// Every figure in the report, in order (figures blocks only).
    pub fn figures(&self) -> impl Iterator<Item = &Figure> {
        self.sections.iter().flat_map(|s| {
            s.blocks.iter().flat_map(|b| match b {
                Block::Figures { items } => items.as_slice(),
                _ => &[],
            })
        })
    }

    /// The figure named `key`.
    pub fn figure(&self, key: &str) -> Option<&Value> {
        self.figures().find(|f| f.key == key).map(|f| &f.value)
    }

    /// Every block of the report, in order.
    pub fn blocks(&self) -> impl Iterator<Item = &Block> {
        self.sections.iter().flat_map(|s| s.blocks.iter())
    }

    /// The table named `key`.
    pub fn table(&self, key: &str) -> Option<&Table> {
        self.blocks().find_map(|b| match b {
            Block::Table(t) if t.key == key => Some(t),
            _ => None,
        })
    }

    /// The chart named `key`.
    pub fn chart(&self, key: &str) -> Option<&Chart> {
        self.blocks().find_map(|b| match b {
            Block::Chart(c) if c.key == key => Some(c),
            _ => None,
        })
    }

    /// Every cited item, in order.
    pub fn items(&self) -> impl Iterator<Item = &Item> {
        self.blocks().flat_map(|b| match b {
            Block::Items { items } => items.as_slice(),
            _ => &[],
        })
    }

    /// A file name for the report without extension, e.g. `舆情日报-2026-11-21`.
    pub fn file_stem(&self) -> String {
        let tail: String = self
            .subtitle
            .as_deref()
            .unwrap_or(&self.date)
            .chars()
            .filter(|c| !matches!(c, '/' | '\\' | ':' | '*' | '?' | '"' | '<' | '>' | '|'))
            .take(40)
            .collect();
        format!("{}-{}", self.title, tail.trim())
    }
}

/// Chinese section numbers: 一, 二, … 二十.
pub fn section_number(i: usize) -> String {
    const D: [&str; 10] = ["", "一", "二", "三", "四", "五", "六", "七", "八", "九"];
    let n = i + 1;
    match n {
        1..=9 => D[n].into(),
        10 => "十".into(),
        11..=19 => format!("十{}", D[n - 10]),
        20..=99 => format!("{}十{}", D[n / 10], D[n % 10]),
        _ => n.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn values_display_as_the_office_reads_them() {
        assert_eq!(Value::Pct(0.827).display(), "82.7%");
        assert_eq!(Value::Num(2.50).display(), "2.5");
        assert_eq!(Value::Num(3.0).display(), "3");
        assert_eq!(Value::Int(1452).display(), "1452");
        assert_eq!(Value::share(1, 0), Value::None);
        assert_eq!(Value::None.display(), "—");
    }

    #[test]
    fn sections_are_numbered_in_chinese() {
        assert_eq!(section_number(0), "一");
        assert_eq!(section_number(5), "六");
        assert_eq!(section_number(9), "十");
        assert_eq!(section_number(11), "十二");
        assert_eq!(section_number(20), "二十一");
    }

    #[test]
    fn the_json_form_round_trips() {
        let r = Report {
            kind: Kind::Daily,
            title: "舆情日报".into(),
            subtitle: None,
            letterhead: Letterhead::default(),
            issue: Some("第 3 期".into()),
            date: "2026年11月22日".into(),
            period: None,
            inputs: serde_json::json!({"kind": "daily", "date": "2026-11-21"}),
            generated_at: DateTime::parse_from_rfc3339("2026-11-22T10:00:00+08:00").unwrap(),
            notice: None,
            sections: vec![Section {
                title: "总体情况".into(),
                blocks: vec![
                    Block::Figures {
                        items: vec![Figure {
                            key: "total".into(),
                            label: "信息总量".into(),
                            value: Value::Int(12),
                        }],
                    },
                    Block::Draft {
                        key: "commentary".into(),
                        text: "共 12 条。".into(),
                        edited: false,
                        computed: "共 12 条。".into(),
                    },
                ],
            }],
        };
        let s = serde_json::to_string(&r).unwrap();
        let back: Report = serde_json::from_str(&s).unwrap();
        assert_eq!(back, r);
        assert_eq!(back.figure("total"), Some(&Value::Int(12)));
    }
}
