//! DOCX: a Word document laid out like a Chinese government briefing (after GB/T 9704):
//! A4 with 37/35/28/26 mm margins; the red header block (header text line, the big red
//! title, 期号, issuing unit left and date right over a red rule); sections headed 一、二、…
//! in 黑体; body in 仿宋; figures as a two-column table; tables with a shaded header row;
//! charts as PNG pictures 15 cm wide; cited items numbered with hyperlinks; the analyst's
//! commentary labelled; page numbers "— 1 —" (a PAGE field) centred in the footer.
//!
//! Written with `docx-rs` without its `image` feature: pictures are PNG with known pixel
//! sizes ([`Pic::new_with_dimensions`]), so no image decoder is built.
//!
//! Font names are the Windows ones Word finds on any Chinese Windows (仿宋, 黑体, 宋体);
//! LibreOffice maps them through fontconfig to what is installed.

use super::html::{draft_label, item_meta};
use super::{RenderOptions, chart, clean, web_url, yuqing_link};
use crate::error::{ReportError, Result};
use crate::model::{self, Block, Figure, Item, Report, Value, section_number};
use docx_rs::{
    AlignmentType, BorderType, BreakType, Docx, Footer, Hyperlink, HyperlinkType, LineSpacing,
    LineSpacingType, PageMargin, PageNum, Paragraph, ParagraphBorder, ParagraphBorderPosition,
    ParagraphBorders, Pic, Run, RunFonts, Shading, ShdType, SpecialIndentType, Tab, TabValueType,
    Table, TableCell, TableRow, VAlignType, WidthType,
};

/// Body text (仿宋, GB/T 9704's 3号 is 16 pt; half-points).
const BODY_FONT: &str = "仿宋";
const BODY_SIZE: usize = 32;
/// Headings 一、二、… (黑体 3号).
const HEADING_FONT: &str = "黑体";
/// The big red title (方正小标宋 is not on most machines; 宋体 bold is).
const TITLE_FONT: &str = "宋体";
const TITLE_SIZE: usize = 52;
/// Tables (五号 10.5 pt) and the figures table (小四 12 pt).
const TABLE_SIZE: usize = 21;
const FIGURES_SIZE: usize = 24;
const RED: &str = "C00000";

/// Millimetres to twentieths of a point.
fn mm(x: f64) -> i32 {
    (x * 1440.0 / 25.4).round() as i32
}

/// A4 in twips and the text width between the 28 mm and 26 mm margins.
const A4_W: u32 = 11906;
const A4_H: u32 = 16838;
fn text_width() -> usize {
    (A4_W as i32 - mm(28.0) - mm(26.0)).max(1000) as usize
}

/// Chart pictures are 15 cm wide (EMU: 360,000 per cm).
const CHART_W_EMU: u32 = 15 * 360_000;

fn fonts(name: &str) -> RunFonts {
    RunFonts::new()
        .east_asia(name)
        .ascii("Times New Roman")
        .hi_ansi("Times New Roman")
        .cs(name)
}

/// A run of text; newlines become line breaks and characters XML cannot carry are dropped.
fn run(text: &str) -> Run {
    let text = clean(text);
    let mut r = Run::new();
    for (i, line) in text.replace("\r\n", "\n").split('\n').enumerate() {
        if i > 0 {
            r = r.add_break(BreakType::TextWrapping);
        }
        r = r.add_text(line);
    }
    r
}

/// Body paragraph: fixed 28 pt lines as in official documents.
fn body_spacing() -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Exact)
        .line(560)
}

fn compact_spacing() -> LineSpacing {
    LineSpacing::new()
        .line_rule(LineSpacingType::Auto)
        .line(240)
        .before(0)
        .after(0)
}

/// Adds a red border on one side (`ParagraphBorders::default()` has all four sides, so
/// start from an empty set).
fn para_border(p: Paragraph, pos: ParagraphBorderPosition, size: usize) -> Paragraph {
    let mut p = p;
    let borders = p
        .property
        .borders
        .take()
        .unwrap_or_else(ParagraphBorders::with_empty);
    p.property = p.property.set_borders(
        borders.set(
            ParagraphBorder::new(pos)
                .val(BorderType::Single)
                .size(size)
                .space(4)
                .color(RED),
        ),
    );
    p
}

/// Renders `report` as a DOCX file.
pub fn render(report: &Report, opts: &RenderOptions) -> Result<Vec<u8>> {
    let mut doc = Docx::new()
        .page_size(A4_W, A4_H)
        .page_margin(PageMargin {
            top: mm(37.0),
            bottom: mm(35.0),
            left: mm(28.0),
            right: mm(26.0),
            header: mm(15.0),
            footer: mm(18.0),
            gutter: 0,
        })
        .default_fonts(fonts(BODY_FONT))
        .default_size(BODY_SIZE)
        .footer(footer());
    doc = redhead(doc, report);

    if let Some(sub) = report.subtitle.as_deref().filter(|s| !s.is_empty()) {
        doc = doc.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().before(240).after(120))
                .add_run(run(sub).fonts(fonts(TITLE_FONT)).size(36).bold()),
        );
    }
    if let Some(p) = &report.period {
        doc = doc.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().after(120))
                .add_run(run(&format!("统计时段：{}", p.label)).size(28)),
        );
    }
    if let Some(notice) = &report.notice {
        let mut p = Paragraph::new()
            .line_spacing(LineSpacing::new().before(120).after(120))
            .add_run(run(notice).color(RED).bold().fonts(fonts(HEADING_FONT)));
        for pos in [
            ParagraphBorderPosition::Top,
            ParagraphBorderPosition::Bottom,
            ParagraphBorderPosition::Left,
            ParagraphBorderPosition::Right,
        ] {
            p = para_border(p, pos, 12);
        }
        doc = doc.add_paragraph(p);
    }

    for (i, section) in report.sections.iter().enumerate() {
        doc = doc.add_paragraph(
            Paragraph::new()
                .outline_lvl(0)
                .keep_next(true)
                .line_spacing(LineSpacing::new().before(240).after(60))
                .add_run(
                    run(&format!("{}、{}", section_number(i), section.title))
                        .fonts(fonts(HEADING_FONT)),
                ),
        );
        for block in &section.blocks {
            doc = self::block(doc, block, opts)?;
        }
    }

    let mut out = std::io::Cursor::new(Vec::with_capacity(64 * 1024));
    doc.build().pack(&mut out).map_err(zip_err)?;
    deflate(&out.into_inner()).map_err(zip_err)
}

fn zip_err(e: impl std::fmt::Display) -> ReportError {
    ReportError::render(
        format!("DOCX 生成失败：{e}"),
        format!("DOCX writing failed: {e}"),
    )
}

/// docx-rs stores every part uncompressed (a 3,000-row table makes ~6 MB): write the
/// package again with its XML parts deflated (pictures, already PNG, stay stored), so
/// reports stay small enough to mail.
fn deflate(stored: &[u8]) -> zip::result::ZipResult<Vec<u8>> {
    use zip::CompressionMethod::{Deflated, Stored};
    use zip::write::SimpleFileOptions;
    let mut archive = zip::ZipArchive::new(std::io::Cursor::new(stored))?;
    let mut out = zip::ZipWriter::new(std::io::Cursor::new(Vec::with_capacity(
        stored.len() / 4 + 4096,
    )));
    let deflated = SimpleFileOptions::default()
        .compression_method(Deflated)
        .compression_level(Some(6));
    for i in 0..archive.len() {
        let mut part = archive.by_index(i)?;
        let name = part.name()?.into_owned();
        if part.is_dir() {
            out.add_directory(name, SimpleFileOptions::default())?;
            continue;
        }
        let options = if name.starts_with("word/media/") {
            deflated.compression_method(Stored).compression_level(None)
        } else {
            deflated
        };
        out.start_file(name, options)?;
        std::io::copy(&mut part, &mut out)?;
    }
    Ok(out.finish()?.into_inner())
}

/// "— 1 —" centred, 宋体 4号, the number being a PAGE field.
fn footer() -> Footer {
    Footer::new().add_paragraph(
        Paragraph::new()
            .align(AlignmentType::Center)
            .add_run(run("— ").fonts(fonts(TITLE_FONT)).size(28))
            .add_page_num(PageNum::new())
            .add_run(run(" —").fonts(fonts(TITLE_FONT)).size(28)),
    )
}

fn redhead(mut doc: Docx, report: &Report) -> Docx {
    if let Some(h) = report
        .letterhead
        .header
        .as_deref()
        .filter(|h| !h.is_empty())
    {
        doc = doc.add_paragraph(
            Paragraph::new()
                .line_spacing(compact_spacing())
                .add_run(run(h).fonts(fonts(HEADING_FONT))),
        );
    }
    let mut title = Paragraph::new()
        .align(AlignmentType::Center)
        .line_spacing(LineSpacing::new().before(360).after(240));
    if let Some(pic) = report.letterhead.logo.as_deref().and_then(logo) {
        title = title.add_run(Run::new().add_image(pic).add_text(" "));
    }
    doc = doc.add_paragraph(
        title.add_run(
            run(&report.title)
                .fonts(fonts(TITLE_FONT))
                .size(TITLE_SIZE)
                .bold()
                .color(RED)
                .character_spacing(40),
        ),
    );
    if let Some(issue) = report.issue.as_deref().filter(|s| !s.is_empty()) {
        doc = doc.add_paragraph(
            Paragraph::new()
                .align(AlignmentType::Center)
                .line_spacing(LineSpacing::new().after(120))
                .add_run(run(issue)),
        );
    }
    let unit_date = Paragraph::new()
        .add_tab(Tab::new().val(TabValueType::Right).pos(text_width()))
        .line_spacing(LineSpacing::new().after(240))
        .add_run(run(&report.letterhead.organisation))
        .add_run(Run::new().add_tab())
        .add_run(run(&report.date));
    doc.add_paragraph(para_border(unit_date, ParagraphBorderPosition::Bottom, 18))
}

/// A PNG logo 1.6 cm high (JPEG needs an image decoder we do not build: left out).
fn logo(bytes: &[u8]) -> Option<Pic> {
    if !bytes.starts_with(b"\x89PNG\r\n\x1a\n") || bytes.len() < 24 {
        return None;
    }
    let w = u32::from_be_bytes(bytes.get(16..20)?.try_into().ok()?);
    let h = u32::from_be_bytes(bytes.get(20..24)?.try_into().ok()?);
    if w == 0 || h == 0 || w > 20_000 || h > 20_000 {
        return None;
    }
    let h_emu: u32 = 576_000;
    let w_emu = (u64::from(h_emu) * u64::from(w) / u64::from(h)).min(5_400_000) as u32;
    Some(Pic::new_with_dimensions(bytes.to_vec(), w, h).size(w_emu, h_emu))
}

fn block(doc: Docx, block: &Block, opts: &RenderOptions) -> Result<Docx> {
    Ok(match block {
        // Each line its own indented paragraph, as typed documents are.
        Block::Paragraph { text } => {
            text.lines()
                .filter(|l| !l.trim().is_empty())
                .fold(doc, |doc, line| {
                    doc.add_paragraph(
                        Paragraph::new()
                            .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
                            .line_spacing(body_spacing())
                            .add_run(run(line.trim_end())),
                    )
                })
        }
        Block::Figures { items } => doc.add_table(figures(items)),
        Block::Table(t) => {
            let doc = if t.title.is_empty() {
                doc
            } else {
                doc.add_paragraph(
                    Paragraph::new()
                        .align(AlignmentType::Center)
                        .keep_next(true)
                        .line_spacing(LineSpacing::new().before(120).after(60))
                        .add_run(run(&t.title).fonts(fonts(HEADING_FONT)).size(24)),
                )
            };
            doc.add_table(table(t))
        }
        Block::Chart(c) => {
            let img = chart::png(c, opts)?;
            let h_emu = (u64::from(CHART_W_EMU) * u64::from(img.height)
                / u64::from(img.width.max(1))) as u32;
            let pic =
                Pic::new_with_dimensions(img.png, img.width, img.height).size(CHART_W_EMU, h_emu);
            let mut doc = doc.add_paragraph(
                Paragraph::new()
                    .align(AlignmentType::Center)
                    .line_spacing(LineSpacing::new().before(120).after(120))
                    .add_run(Run::new().add_image(pic)),
            );
            if !img.cjk_font {
                doc = doc.add_paragraph(
                    Paragraph::new()
                        .line_spacing(compact_spacing())
                        .add_run(run(chart::NO_CJK_FONT_NOTE).size(20).color(RED)),
                );
            }
            doc
        }
        Block::Items { items } => {
            let mut doc = doc;
            for item in items {
                for p in self::item(item, opts) {
                    doc = doc.add_paragraph(p);
                }
            }
            doc
        }
        Block::Draft { text, edited, .. } => {
            let shade = || {
                Shading::new()
                    .shd_type(ShdType::Clear)
                    .color("auto")
                    .fill(if *edited { "F0F9EB" } else { "FDF6EC" })
            };
            let mut label = Paragraph::new()
                .keep_next(true)
                .line_spacing(LineSpacing::new().before(120))
                .add_run(
                    run(&format!("【{}】", draft_label(*edited)))
                        .fonts(fonts(HEADING_FONT))
                        .color("B26A00"),
                );
            label.property = label.property.shading(shade());
            let mut body = Paragraph::new()
                .indent(None, Some(SpecialIndentType::FirstLine(640)), None, None)
                .line_spacing(body_spacing())
                .add_run(run(text));
            body.property = body.property.shading(shade());
            doc.add_paragraph(label).add_paragraph(body)
        }
    })
}

fn cell_para(text: &str, size: usize, align: AlignmentType) -> Paragraph {
    Paragraph::new()
        .align(align)
        .line_spacing(compact_spacing())
        .add_run(run(text).size(size))
}

fn value_para(v: &Value, size: usize) -> Paragraph {
    let align = if matches!(v, Value::Int(_) | Value::Num(_) | Value::Pct(_)) {
        AlignmentType::Right
    } else {
        AlignmentType::Left
    };
    match v {
        Value::Link { text, url } => match web_url(url) {
            Some(u) => Paragraph::new()
                .line_spacing(compact_spacing())
                .add_hyperlink(
                    Hyperlink::new(u, HyperlinkType::External)
                        .add_run(run(text).size(size).color("1F4E9E").underline("single")),
                ),
            None => cell_para(text, size, align),
        },
        other => cell_para(&other.display(), size, align),
    }
}

/// Figures two to a row: label, value, label, value.
fn figures(items: &[Figure]) -> Table {
    let w = text_width();
    let grid = vec![w * 30 / 100, w * 20 / 100, w * 30 / 100, w * 20 / 100];
    let rows: Vec<TableRow> = items
        .chunks(2)
        .map(|pair| {
            let mut cells = Vec::with_capacity(4);
            for (i, width) in grid.iter().enumerate() {
                let f = pair.get(i / 2);
                let para = match (f, i % 2) {
                    (Some(f), 0) => cell_para(&f.label, FIGURES_SIZE, AlignmentType::Left),
                    (Some(f), _) => value_para(&f.value, FIGURES_SIZE),
                    (None, _) => cell_para("", FIGURES_SIZE, AlignmentType::Left),
                };
                let mut cell = TableCell::new()
                    .width(*width, WidthType::Dxa)
                    .vertical_align(VAlignType::Center)
                    .add_paragraph(para);
                if i % 2 == 0 {
                    cell = cell.shading(Shading::new().shd_type(ShdType::Clear).fill("F5F5F5"));
                }
                cells.push(cell);
            }
            TableRow::new(cells)
        })
        .collect();
    Table::new(rows).set_grid(grid).width(w, WidthType::Dxa)
}

fn table(t: &model::Table) -> Table {
    let w = text_width();
    let cols = t
        .columns
        .len()
        .max(t.rows.iter().map(Vec::len).max().unwrap_or(0))
        .max(1);
    let col_w = w / cols;
    let grid = vec![col_w; cols];
    let mut rows = Vec::with_capacity(t.rows.len() + 1);
    let header: Vec<TableCell> = (0..cols)
        .map(|i| {
            let name = t.columns.get(i).map(String::as_str).unwrap_or("");
            TableCell::new()
                .width(col_w, WidthType::Dxa)
                .shading(Shading::new().shd_type(ShdType::Clear).fill("D9D9D9"))
                .add_paragraph(
                    Paragraph::new()
                        .align(AlignmentType::Center)
                        .keep_next(true)
                        .line_spacing(compact_spacing())
                        .add_run(run(name).size(TABLE_SIZE).bold().fonts(fonts(HEADING_FONT))),
                )
        })
        .collect();
    rows.push(TableRow::new(header).cant_split());
    for row in &t.rows {
        let cells: Vec<TableCell> = (0..cols)
            .map(|i| {
                let para = match row.get(i) {
                    Some(v) => value_para(v, TABLE_SIZE),
                    None => cell_para("", TABLE_SIZE, AlignmentType::Left),
                };
                TableCell::new()
                    .width(col_w, WidthType::Dxa)
                    .add_paragraph(para)
            })
            .collect();
        rows.push(TableRow::new(cells).cant_split());
    }
    Table::new(rows).set_grid(grid).width(w, WidthType::Dxa)
}

fn link_para(label: &str, url: &str) -> Paragraph {
    Paragraph::new()
        .indent(Some(420), None, None, None)
        .line_spacing(compact_spacing())
        .add_run(run(label).size(24))
        .add_hyperlink(
            Hyperlink::new(url, HyperlinkType::External)
                .add_run(run(url).size(24).color("1F4E9E").underline("single")),
        )
}

/// An item: "n. title" (linked), the meta line, the summary, then its links.
fn item(item: &Item, opts: &RenderOptions) -> Vec<Paragraph> {
    let mut out = Vec::with_capacity(4);
    let number = run(&format!("{}. ", item.n)).bold();
    let url = item.url.as_deref().and_then(web_url);
    let title = match url {
        Some(u) => Paragraph::new().add_run(number).add_hyperlink(
            Hyperlink::new(u, HyperlinkType::External)
                .add_run(run(&item.title).bold().color("1F4E9E").underline("single")),
        ),
        None => Paragraph::new()
            .add_run(number)
            .add_run(run(&item.title).bold()),
    };
    out.push(
        title
            .keep_next(true)
            .line_spacing(LineSpacing::new().before(120).after(0)),
    );
    let meta = item_meta(item);
    if !meta.is_empty() {
        out.push(
            Paragraph::new()
                .indent(Some(420), None, None, None)
                .line_spacing(compact_spacing())
                .add_run(run(&meta).size(24).color("666666")),
        );
    }
    if !item.summary.trim().is_empty() {
        out.push(
            Paragraph::new()
                .indent(Some(420), None, None, None)
                .line_spacing(
                    LineSpacing::new()
                        .line_rule(LineSpacingType::Auto)
                        .line(300),
                )
                .add_run(run(&item.summary).size(28)),
        );
    }
    match (url, item.url.as_deref()) {
        (Some(u), _) => out.push(link_para("原文链接：", u)),
        (None, Some(raw)) if !raw.trim().is_empty() => out.push(
            Paragraph::new()
                .indent(Some(420), None, None, None)
                .line_spacing(compact_spacing())
                .add_run(run(&format!("原文地址：{raw}")).size(24)),
        ),
        _ => {}
    }
    if let (Some(base), Some(doc)) = (opts.base_url.as_deref(), item.doc.as_deref())
        && let Some(href) = yuqing_link(base, doc)
    {
        out.push(link_para("系统内查看：", &href));
    }
    out
}
