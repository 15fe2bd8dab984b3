//! XLSX: the report's data as typed cells, for offices that go on working in Excel.
//!
//! - 概要: title, issuing unit, 期号, period, generation time, the notice, every figure
//!   (key, label, value as a number or a 0.0% percentage) and the analyst's commentary;
//! - one sheet per table (bold frozen header row, column widths set, integers as numbers,
//!   shares with a 0.0% format, links as hyperlinks);
//! - one sheet per chart with its data (category column, one column per series);
//! - 引用条目: the cited items with hyperlinks to the originals (and to yuqing).
//!
//! Sheet names are cut to Excel's 31 (UTF-16) characters, stripped of `[]:*?/\` and made
//! unique; cell text is cut at Excel's 32,767 characters.

use super::html::draft_label;
use super::{RenderOptions, clean, web_url, yuqing_link};
use crate::error::{ReportError, Result};
use crate::model::{Block, Chart, Report, Value, section_number};
use rust_xlsxwriter::{Format, FormatAlign, Url, Workbook, Worksheet, XlsxError};

/// Excel's limits (in UTF-16 code units).
const MAX_SHEET_NAME: usize = 31;
const MAX_CELL_TEXT: usize = 32_767;
/// Excel's row limit, less the header.
const MAX_ROWS: usize = 1_048_575;

fn xerr(e: XlsxError) -> ReportError {
    ReportError::render(
        format!("XLSX 生成失败：{e}"),
        format!("XLSX writing failed: {e}"),
    )
}

/// `s` cleaned and cut to Excel's cell limit.
pub(crate) fn cell_text(s: &str) -> String {
    let s = clean(s);
    if s.len() <= MAX_CELL_TEXT {
        // Every UTF-16 unit is at least one byte of UTF-8.
        return s.into_owned();
    }
    let mut units = 0;
    let mut out = String::new();
    for c in s.chars() {
        units += c.len_utf16();
        if units > MAX_CELL_TEXT - 1 {
            break;
        }
        out.push(c);
    }
    out.push('…');
    out
}

/// Hands out valid, unique sheet names.
#[derive(Default)]
pub(crate) struct SheetNames {
    used: Vec<String>,
}

impl SheetNames {
    pub(crate) fn take(&mut self, wanted: &str) -> String {
        let base: String = clean(wanted)
            .chars()
            .filter(|c| !matches!(c, '[' | ']' | ':' | '*' | '?' | '/' | '\\') && !c.is_control())
            .collect();
        let base = base.trim().trim_matches('\'').trim().to_owned();
        let base = if base.is_empty() || base.eq_ignore_ascii_case("history") {
            format!("表{}", self.used.len() + 1)
        } else {
            base
        };
        let mut n = 1;
        loop {
            let suffix = if n == 1 {
                String::new()
            } else {
                format!("({n})")
            };
            let mut name = String::new();
            let mut units = suffix.encode_utf16().count();
            for c in base.chars() {
                units += c.len_utf16();
                if units > MAX_SHEET_NAME {
                    break;
                }
                name.push(c);
            }
            let name = format!("{}{suffix}", name.trim_end_matches('\''));
            if !self
                .used
                .iter()
                .any(|u| u.to_lowercase() == name.to_lowercase())
            {
                self.used.push(name.clone());
                return name;
            }
            n += 1;
        }
    }
}

/// Width in Excel "characters" of `s` (wide characters count two).
fn width_of(s: &str) -> f64 {
    s.chars()
        .map(|c| if c.is_ascii() { 1.0 } else { 2.0 })
        .sum::<f64>()
}

struct Formats {
    bold: Format,
    title: Format,
    pct: Format,
    int: Format,
    num: Format,
    wrap: Format,
    label: Format,
}

impl Formats {
    fn new() -> Formats {
        Formats {
            bold: Format::new().set_bold(),
            title: Format::new().set_bold().set_font_size(16),
            pct: Format::new().set_num_format("0.0%"),
            int: Format::new().set_num_format("0"),
            num: Format::new().set_num_format("0.##"),
            wrap: Format::new().set_text_wrap().set_align(FormatAlign::Top),
            label: Format::new().set_bold().set_align(FormatAlign::Top),
        }
    }
}

/// Writes a value as a typed cell.
fn write_value(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    v: &Value,
    f: &Formats,
) -> Result<(), XlsxError> {
    match v {
        Value::Int(n) => ws.write_number_with_format(row, col, *n as f64, &f.int)?,
        Value::Num(x) if x.is_finite() => ws.write_number_with_format(row, col, *x, &f.num)?,
        Value::Pct(x) if x.is_finite() => ws.write_number_with_format(row, col, *x, &f.pct)?,
        Value::Num(_) | Value::Pct(_) | Value::None => ws.write_string(row, col, "—")?,
        Value::Text(s) => ws.write_string(row, col, cell_text(s))?,
        Value::Link { text, url } => return write_link(ws, row, col, url, text),
    };
    Ok(())
}

/// A hyperlink when `url` is a web URL Excel accepts, else the text.
fn write_link(
    ws: &mut Worksheet,
    row: u32,
    col: u16,
    url: &str,
    text: &str,
) -> Result<(), XlsxError> {
    if let Some(u) = web_url(url)
        && ws
            .write_url_with_text(row, col, Url::new(u), cell_text(text))
            .is_ok()
    {
        return Ok(());
    }
    let shown = if text.is_empty() || text == url {
        url.to_owned()
    } else {
        format!("{text} ({url})")
    };
    ws.write_string(row, col, cell_text(&shown))?;
    Ok(())
}

/// Renders `report` as an XLSX workbook.
pub fn render(report: &Report, opts: &RenderOptions) -> Result<Vec<u8>> {
    let mut wb = Workbook::new();
    let f = Formats::new();
    let mut names = SheetNames::default();
    summary(wb.add_worksheet(), &mut names, report, &f).map_err(xerr)?;
    for block in report.blocks() {
        match block {
            Block::Table(t) => {
                let ws = wb.add_worksheet();
                let wanted = if t.title.trim().is_empty() {
                    &t.key
                } else {
                    &t.title
                };
                ws.set_name(names.take(wanted)).map_err(xerr)?;
                table(ws, &t.columns, &t.rows, &f).map_err(xerr)?;
            }
            Block::Chart(c) => {
                let ws = wb.add_worksheet();
                let wanted = if c.title.trim().is_empty() {
                    format!("图-{}", c.key)
                } else {
                    format!("图-{}", c.title)
                };
                ws.set_name(names.take(&wanted)).map_err(xerr)?;
                chart(ws, c, &f).map_err(xerr)?;
            }
            _ => {}
        }
    }
    if report.items().next().is_some() {
        let ws = wb.add_worksheet();
        ws.set_name(names.take("引用条目")).map_err(xerr)?;
        items(ws, report, opts, &f).map_err(xerr)?;
    }
    wb.save_to_buffer().map_err(xerr)
}

fn summary(
    ws: &mut Worksheet,
    names: &mut SheetNames,
    report: &Report,
    f: &Formats,
) -> Result<(), XlsxError> {
    ws.set_name(names.take("概要"))?;
    let title = match &report.subtitle {
        Some(s) => format!("{} {}", report.title, s),
        None => report.title.clone(),
    };
    ws.write_string_with_format(0, 0, cell_text(&title), &f.title)?;
    let mut row = 2u32;
    let mut pair = |ws: &mut Worksheet, label: &str, value: &str| -> Result<(), XlsxError> {
        ws.write_string_with_format(row, 0, label, &f.label)?;
        ws.write_string_with_format(row, 1, cell_text(value), &f.wrap)?;
        row += 1;
        Ok(())
    };
    pair(ws, "报告类型", report.kind.label_zh())?;
    pair(ws, "编发单位", &report.letterhead.organisation)?;
    if let Some(issue) = &report.issue {
        pair(ws, "期号", issue)?;
    }
    pair(ws, "日期", &report.date)?;
    if let Some(p) = &report.period {
        pair(ws, "统计时段", &p.label)?;
        pair(
            ws,
            "时段开始",
            &p.since.format("%Y-%m-%d %H:%M:%S").to_string(),
        )?;
        pair(
            ws,
            "时段结束（不含）",
            &p.until.format("%Y-%m-%d %H:%M:%S").to_string(),
        )?;
    }
    pair(
        ws,
        "生成时间",
        &report.generated_at.format("%Y-%m-%d %H:%M:%S").to_string(),
    )?;
    if let Some(notice) = &report.notice {
        pair(ws, "说明", notice)?;
    }
    row += 1;

    // Figures: one row each, the value typed.
    let mut figures_header = false;
    for (si, section) in report.sections.iter().enumerate() {
        for block in &section.blocks {
            let Block::Figures { items } = block else {
                continue;
            };
            if !figures_header {
                for (c, h) in ["指标键", "指标", "数值", "所在章节"].iter().enumerate() {
                    ws.write_string_with_format(row, c as u16, *h, &f.bold)?;
                }
                row += 1;
                figures_header = true;
            }
            for fig in items {
                ws.write_string(row, 0, cell_text(&fig.key))?;
                ws.write_string(row, 1, cell_text(&fig.label))?;
                write_value(ws, row, 2, &fig.value, f)?;
                ws.write_string(
                    row,
                    3,
                    cell_text(&format!("{}、{}", section_number(si), section.title)),
                )?;
                row += 1;
            }
        }
    }

    // The analyst's commentary.
    let drafts: Vec<(&str, &str, bool)> = report
        .blocks()
        .filter_map(|b| match b {
            Block::Draft {
                key, text, edited, ..
            } => Some((key.as_str(), text.as_str(), *edited)),
            _ => None,
        })
        .collect();
    if !drafts.is_empty() {
        row += 1;
        for (c, h) in ["点评键", "类别", "内容"].iter().enumerate() {
            ws.write_string_with_format(row, c as u16, *h, &f.bold)?;
        }
        row += 1;
        for (key, text, edited) in drafts {
            ws.write_string(row, 0, cell_text(key))?;
            ws.write_string(row, 1, draft_label(edited))?;
            ws.write_string_with_format(row, 2, cell_text(text), &f.wrap)?;
            row += 1;
        }
    }
    ws.set_column_width(0, 18)?;
    ws.set_column_width(1, 40)?;
    ws.set_column_width(2, 60)?;
    ws.set_column_width(3, 24)?;
    Ok(())
}

fn table(
    ws: &mut Worksheet,
    columns: &[String],
    rows: &[Vec<Value>],
    f: &Formats,
) -> Result<(), XlsxError> {
    let ncols = columns
        .len()
        .max(rows.iter().map(Vec::len).max().unwrap_or(0))
        .min(16_384);
    let mut widths: Vec<f64> = vec![6.0; ncols];
    for (c, h) in columns.iter().enumerate().take(ncols) {
        ws.write_string_with_format(0, c as u16, cell_text(h), &f.bold)?;
        widths[c] = widths[c].max(width_of(h) + 2.0);
    }
    for (r, row) in rows.iter().enumerate().take(MAX_ROWS) {
        for (c, v) in row.iter().enumerate().take(ncols) {
            write_value(ws, r as u32 + 1, c as u16, v, f)?;
            if r < 500 {
                widths[c] = widths[c].max(width_of(&v.display()) + 2.0);
            }
        }
    }
    for (c, w) in widths.into_iter().enumerate() {
        ws.set_column_width(c as u16, w.min(60.0))?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

fn chart(ws: &mut Worksheet, c: &Chart, f: &Formats) -> Result<(), XlsxError> {
    let mut columns = vec!["类别".to_owned()];
    columns.extend(c.series.iter().enumerate().map(|(i, s)| {
        if s.name.trim().is_empty() {
            format!("系列{}", i + 1)
        } else {
            s.name.clone()
        }
    }));
    let rows: Vec<Vec<Value>> = c
        .categories
        .iter()
        .enumerate()
        .map(|(i, cat)| {
            let mut row = vec![Value::Text(cat.clone())];
            row.extend(c.series.iter().map(|s| match s.values.get(i) {
                Some(v) if v.is_finite() && v.fract() == 0.0 && v.abs() < 9e15 => {
                    Value::Int(*v as i64)
                }
                Some(v) if v.is_finite() => Value::Num(*v),
                _ => Value::None,
            }));
            row
        })
        .collect();
    table(ws, &columns, &rows, f)
}

fn items(
    ws: &mut Worksheet,
    report: &Report,
    opts: &RenderOptions,
    f: &Formats,
) -> Result<(), XlsxError> {
    let header = [
        "序号",
        "标题",
        "摘要",
        "平台",
        "作者",
        "发布时间",
        "等级",
        "倾向",
        "原文链接",
        "系统内链接",
        "文档",
    ];
    for (c, h) in header.iter().enumerate() {
        ws.write_string_with_format(0, c as u16, *h, &f.bold)?;
    }
    let opt = |s: &Option<String>| cell_text(s.as_deref().unwrap_or(""));
    for (r, item) in report.items().enumerate().take(MAX_ROWS) {
        let row = r as u32 + 1;
        ws.write_number(row, 0, f64::from(item.n))?;
        match item.url.as_deref() {
            Some(u) => write_link(ws, row, 1, u, &item.title)?,
            None => {
                ws.write_string(row, 1, cell_text(&item.title))?;
            }
        }
        ws.write_string_with_format(row, 2, cell_text(&item.summary), &f.wrap)?;
        ws.write_string(row, 3, opt(&item.platform))?;
        ws.write_string(row, 4, opt(&item.author))?;
        if let Some(t) = item.published_at {
            ws.write_string(row, 5, t.format("%Y-%m-%d %H:%M").to_string())?;
        }
        ws.write_string(row, 6, opt(&item.level))?;
        ws.write_string(row, 7, opt(&item.sentiment))?;
        if let Some(u) = item.url.as_deref() {
            write_link(ws, row, 8, u, u)?;
        }
        if let (Some(base), Some(doc)) = (opts.base_url.as_deref(), item.doc.as_deref())
            && let Some(href) = yuqing_link(base, doc)
        {
            write_link(ws, row, 9, &href, &href)?;
        }
        ws.write_string(row, 10, opt(&item.doc))?;
    }
    for (c, w) in [6, 40, 60, 10, 14, 17, 8, 8, 40, 40, 20]
        .into_iter()
        .enumerate()
    {
        ws.set_column_width(c as u16, w)?;
    }
    ws.set_freeze_panes(1, 0)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sheet_names_are_valid_and_unique() {
        let mut n = SheetNames::default();
        assert_eq!(n.take("概要"), "概要");
        assert_eq!(n.take("概要"), "概要(2)");
        assert_eq!(n.take("a[b]:c*d?e/f\\g"), "abcdefg");
        let long = n.take(&"很长的表名".repeat(10));
        assert!(long.encode_utf16().count() <= 31);
        let again = n.take(&"很长的表名".repeat(10));
        assert!(
            again.encode_utf16().count() <= 31 && again != long,
            "{again}"
        );
        assert_eq!(n.take("'quoted'"), "quoted");
        assert!(!n.take("[]").is_empty());
        assert_ne!(n.take("History"), "History");
    }

    #[test]
    fn cell_text_is_cut_at_the_excel_limit() {
        let s = "字".repeat(40_000);
        let t = cell_text(&s);
        assert!(t.encode_utf16().count() <= MAX_CELL_TEXT);
        assert!(t.ends_with('…'));
        let emoji = "😀".repeat(20_000);
        assert!(cell_text(&emoji).encode_utf16().count() <= MAX_CELL_TEXT);
    }
}
