//! Charts: a [`Chart`] drawn as SVG in the UI's look (Apache ECharts' default theme), and the
//! same SVG rasterised to PNG (through `resvg`) for the DOCX.
//!
//! The SVG writer is our own and small: a category axis with labels thinned when there are
//! many categories, a value axis with "nice" tick steps, line and bar series, a pie with
//! percentage labels, and a word cloud placed along a spiral with bounding-box collision.
//! Every piece of text is escaped; every number written is finite.
//!
//! Fonts for the PNG: `RenderOptions.font` when given (its family first), else the system
//! fonts. When no font can draw Chinese, the PNG is still produced (without the Chinese
//! glyphs) and [`ChartImage::cjk_font`] is false, so the DOCX can say how to fix it.

use super::{RenderOptions, esc};
use crate::error::{ReportError, Result};
use crate::model::{Chart, ChartKind};
use resvg::usvg::{self, fontdb};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};

/// ECharts' default palette.
pub const PALETTE: [&str; 9] = [
    "#5470c6", "#91cc75", "#fac858", "#ee6666", "#73c0de", "#3ba272", "#fc8452", "#9a60b4",
    "#ea7ccc",
];

/// The font stack of the UI.
pub const FONT_STACK: &str =
    r#""Noto Sans CJK SC","WenQuanYi Micro Hei","Microsoft YaHei",sans-serif"#;

/// The SVG's size in CSS pixels.
pub const WIDTH: f64 = 800.0;
pub const HEIGHT: f64 = 400.0;

/// PNG pixels per SVG pixel (sharp when printed at ~15 cm).
const PNG_SCALE: f32 = 2.0;

const TITLE_COLOR: &str = "#464646";
const AXIS_COLOR: &str = "#6E7079";
const SPLIT_COLOR: &str = "#E0E6F1";
const TEXT_COLOR: &str = "#333";
const EMPTY_TEXT: &str = "无数据";

/// A chart as a PNG picture.
#[derive(Debug, Clone)]
pub struct ChartImage {
    pub png: Vec<u8>,
    /// Pixel size of `png`.
    pub width: u32,
    pub height: u32,
    /// Whether a font that draws Chinese was found. When false, the picture lacks the
    /// Chinese text and the caller should say so (see [`NO_CJK_FONT_NOTE`]).
    pub cjk_font: bool,
}

/// What the DOCX prints under a chart whose picture had no Chinese font.
pub const NO_CJK_FONT_NOTE: &str = "注：生成图表时未找到中文字体，图中的中文可能无法显示。请安装中文字体（Debian/Ubuntu：apt-get install fonts-noto-cjk 或 fonts-wqy-microhei），或在配置 [report] font 中指定字体文件。 / Note: no CJK font was found when drawing this chart, so its Chinese text may be missing. Install one (Debian/Ubuntu: apt-get install fonts-noto-cjk or fonts-wqy-microhei) or set [report] font in the configuration.";

/// Draws `chart` as a standalone SVG document (also valid inline in HTML5).
pub fn svg(chart: &Chart) -> String {
    draw(chart, FONT_STACK)
}

/// Draws `chart` as a PNG (the SVG of [`svg`], rasterised at twice its size).
pub fn png(chart: &Chart, opts: &RenderOptions) -> Result<ChartImage> {
    let fonts = fonts(opts.font.as_deref());
    let stack = match &fonts.first_family {
        Some(f) => format!("\"{f}\",{FONT_STACK}"),
        None => FONT_STACK.to_owned(),
    };
    let text = draw(chart, &stack);
    let png = rasterise(&text, &fonts.db)?;
    Ok(ChartImage {
        png,
        width: (WIDTH as f32 * PNG_SCALE) as u32,
        height: (HEIGHT as f32 * PNG_SCALE) as u32,
        cjk_font: fonts.cjk,
    })
}

fn rasterise(svg_text: &str, db: &Arc<fontdb::Database>) -> Result<Vec<u8>> {
    let opt = usvg::Options {
        fontdb: db.clone(),
        ..Default::default()
    };
    let tree = usvg::Tree::from_str(svg_text, &opt).map_err(|e| {
        ReportError::render(
            format!("图表 SVG 解析失败：{e}"),
            format!("chart SVG did not parse: {e}"),
        )
    })?;
    let w = (WIDTH as f32 * PNG_SCALE) as u32;
    let h = (HEIGHT as f32 * PNG_SCALE) as u32;
    let mut pixmap = resvg::tiny_skia::Pixmap::new(w, h).ok_or_else(|| {
        ReportError::render("图表画布创建失败", "could not allocate the chart canvas")
    })?;
    pixmap.fill(resvg::tiny_skia::Color::WHITE);
    resvg::render(
        &tree,
        resvg::tiny_skia::Transform::from_scale(PNG_SCALE, PNG_SCALE),
        &mut pixmap.as_mut(),
    );
    pixmap.encode_png().map_err(|e| {
        ReportError::render(
            format!("图表 PNG 编码失败：{e}"),
            format!("chart PNG encoding failed: {e}"),
        )
    })
}

// ---------------------------------------------------------------------------------------
// Fonts

/// A font database for rasterising, with what we learnt about it.
struct Fonts {
    db: Arc<fontdb::Database>,
    /// The configured font's family, put first in the font stack.
    first_family: Option<String>,
    /// Whether '中' is drawn.
    cjk: bool,
}

/// Families known to carry Chinese glyphs, in order of preference.
const CJK_FAMILIES: [&str; 12] = [
    "Noto Sans CJK SC",
    "Noto Sans SC",
    "Source Han Sans SC",
    "WenQuanYi Micro Hei",
    "WenQuanYi Zen Hei",
    "Microsoft YaHei",
    "SimHei",
    "PingFang SC",
    "Noto Serif CJK SC",
    "AR PL UMing CN",
    "SimSun",
    "Droid Sans Fallback",
];

fn fonts(custom: Option<&Path>) -> Arc<Fonts> {
    static SYSTEM: OnceLock<Arc<Fonts>> = OnceLock::new();
    static CUSTOM: Mutex<Vec<(PathBuf, Arc<Fonts>)>> = Mutex::new(Vec::new());
    let system_db = || {
        let mut db = fontdb::Database::new();
        db.load_system_fonts();
        db
    };
    match custom {
        None => SYSTEM
            .get_or_init(|| Arc::new(prepare(system_db(), None)))
            .clone(),
        Some(path) => {
            let mut cache = match CUSTOM.lock() {
                Ok(g) => g,
                Err(poisoned) => poisoned.into_inner(),
            };
            if let Some((_, f)) = cache.iter().find(|(p, _)| p == path) {
                return f.clone();
            }
            let mut db = system_db();
            let before: Vec<fontdb::ID> = db.faces().map(|f| f.id).collect();
            let family = match db.load_font_file(path) {
                Ok(()) => db
                    .faces()
                    .find(|f| !before.contains(&f.id))
                    .and_then(|f| f.families.first().map(|(name, _)| clean_family(name))),
                Err(_) => None,
            };
            let f = Arc::new(prepare(db, family));
            cache.push((path.to_owned(), f.clone()));
            f
        }
    }
}

/// Family names go into a quoted attribute value: keep them plain.
fn clean_family(name: &str) -> String {
    name.chars()
        .filter(|c| !matches!(c, '"' | '\'' | '<' | '>' | '&' | ',') && !c.is_control())
        .collect()
}

fn prepare(mut db: fontdb::Database, first_family: Option<String>) -> Fonts {
    let has_family = |db: &fontdb::Database, name: &str| {
        db.faces()
            .any(|f| f.families.iter().any(|(n, _)| n.eq_ignore_ascii_case(name)))
    };
    // `sans-serif` must name a font that exists, or usvg draws no text at all.
    let sans = first_family
        .iter()
        .map(String::as_str)
        .chain(CJK_FAMILIES)
        .chain(["DejaVu Sans", "Liberation Sans"])
        .find(|name| has_family(&db, name))
        .map(str::to_owned)
        .or_else(|| {
            db.faces()
                .find_map(|f| f.families.first().map(|(n, _)| n.clone()))
        });
    if let Some(sans) = sans {
        db.set_sans_serif_family(sans);
    }
    let db = Arc::new(db);
    let stack = match &first_family {
        Some(f) => format!("\"{f}\",{FONT_STACK}"),
        None => FONT_STACK.to_owned(),
    };
    let cjk = draws_chinese(&db, &stack);
    Fonts {
        db,
        first_family,
        cjk,
    }
}

/// Whether '中' comes out as a real glyph with this database (fallback included).
fn draws_chinese(db: &Arc<fontdb::Database>, stack: &str) -> bool {
    let probe = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"40\" height=\"40\"><text x=\"2\" y=\"30\" font-size=\"20\" font-family='{stack}'>中</text></svg>"
    );
    let opt = usvg::Options {
        fontdb: db.clone(),
        ..Default::default()
    };
    let Ok(tree) = usvg::Tree::from_str(&probe, &opt) else {
        return false;
    };
    fn any_glyph(g: &usvg::Group) -> bool {
        g.children().iter().any(|n| match n {
            usvg::Node::Text(t) => t
                .layouted()
                .iter()
                .any(|s| s.positioned_glyphs.iter().any(|g| g.id.0 != 0)),
            usvg::Node::Group(g) => any_glyph(g),
            _ => false,
        })
    }
    any_glyph(tree.root())
}

// ---------------------------------------------------------------------------------------
// SVG writer

/// Approximate advance width of `s` at `size` px: CJK and full-width characters are about
/// one em, Latin about half.
pub(crate) fn text_width(s: &str, size: f64) -> f64 {
    s.chars()
        .map(|c| {
            if c.is_ascii() {
                if c.is_ascii_uppercase() || c == 'm' || c == 'w' {
                    0.68
                } else {
                    0.55
                }
            } else if is_wide(c) {
                1.0
            } else {
                0.6
            }
        })
        .sum::<f64>()
        * size
}

fn is_wide(c: char) -> bool {
    matches!(c as u32,
        0x1100..=0x115F | 0x2E80..=0x303E | 0x3041..=0x33FF | 0x3400..=0x4DBF | 0x4E00..=0x9FFF
        | 0xA000..=0xA4CF | 0xAC00..=0xD7A3 | 0xF900..=0xFAFF | 0xFE30..=0xFE4F
        | 0xFF00..=0xFF60 | 0xFFE0..=0xFFE6 | 0x20000..=0x3FFFD)
}

/// Cuts `s` to fit about `max` px at `size`, with an ellipsis.
fn fit(s: &str, size: f64, max: f64) -> String {
    if text_width(s, size) <= max {
        return s.to_owned();
    }
    let mut out = String::new();
    let budget = max - size;
    for c in s.chars() {
        let mut probe = out.clone();
        probe.push(c);
        if text_width(&probe, size) > budget {
            break;
        }
        out = probe;
    }
    out.push('…');
    out
}

/// Writes a finite number with at most two decimals.
fn n(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    let s = format!("{x:.2}");
    let s = s.trim_end_matches('0').trim_end_matches('.');
    if s == "-0" { "0".into() } else { s.to_owned() }
}

/// An axis or label number as ECharts shows it.
fn label_num(x: f64) -> String {
    if !x.is_finite() {
        return "0".into();
    }
    if (x - x.round()).abs() < 1e-9 {
        return format!("{}", x.round() as i64);
    }
    let s = format!("{x:.4}");
    s.trim_end_matches('0').trim_end_matches('.').to_owned()
}

/// A finite value or 0.
fn finite(x: f64) -> f64 {
    if x.is_finite() { x } else { 0.0 }
}

/// "Nice" axis bounds and step covering `[min, max]` (and 0) in about `splits` steps:
/// steps are 1, 2, 3, 5 × 10ⁿ; at least 1 when every value is a whole number.
pub(crate) fn nice_axis(min: f64, max: f64, splits: usize, integers: bool) -> (f64, f64, f64) {
    let lo0 = finite(min).min(0.0);
    let mut hi0 = finite(max).max(0.0);
    if hi0 - lo0 < 1e-12 {
        hi0 = lo0 + 1.0;
    }
    let raw = (hi0 - lo0) / splits.max(1) as f64;
    let exp = raw.log10().floor();
    let base = 10f64.powf(exp);
    let f = raw / base;
    let nice = [1.0, 2.0, 3.0, 5.0, 10.0]
        .into_iter()
        .find(|m| *m >= f - 1e-9)
        .unwrap_or(10.0);
    let mut step = nice * base;
    if integers && step < 1.0 {
        step = 1.0;
    }
    let lo = (lo0 / step + 1e-9).floor() * step;
    let hi = (hi0 / step - 1e-9).ceil() * step;
    (lo, hi, step)
}

/// Every `interval`-th category label is shown, so labels never overlap.
pub(crate) fn label_interval(labels: &[String], band: f64, size: f64) -> usize {
    let widest = labels
        .iter()
        .map(|l| text_width(&fit(l, size, 110.0), size))
        .fold(0.0, f64::max);
    if band <= 0.0 {
        return 1;
    }
    (((widest + 8.0) / band).ceil() as usize).max(1)
}

/// How a piece of text is drawn; `anchor` is start, middle or end.
#[derive(Clone, Copy)]
struct Style<'a> {
    size: f64,
    fill: &'a str,
    anchor: &'a str,
    bold: bool,
}

struct Svg {
    out: String,
}

impl Svg {
    fn new(title: &str, font_stack: &str) -> Svg {
        let mut out = String::with_capacity(16 * 1024);
        let _ = write!(
            out,
            "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{w}\" height=\"{h}\" viewBox=\"0 0 {w} {h}\" role=\"img\" aria-label=\"{t}\" font-family='{font_stack}' font-size=\"12\"><title>{t}</title><rect x=\"0\" y=\"0\" width=\"{w}\" height=\"{h}\" fill=\"#ffffff\"/>",
            w = n(WIDTH),
            h = n(HEIGHT),
            t = esc(title),
        );
        Svg { out }
    }

    /// Text with its baseline at (x, y).
    fn text(&mut self, x: f64, y: f64, s: &str, style: Style) {
        let Style {
            size,
            fill,
            anchor,
            bold,
        } = style;
        let _ = write!(
            self.out,
            "<text x=\"{}\" y=\"{}\" font-size=\"{}\" fill=\"{fill}\" text-anchor=\"{anchor}\"{}>{}</text>",
            n(x),
            n(y),
            n(size),
            if bold { " font-weight=\"bold\"" } else { "" },
            esc(s)
        );
    }

    fn line(&mut self, x1: f64, y1: f64, x2: f64, y2: f64, stroke: &str, width: f64) {
        let _ = write!(
            self.out,
            "<line x1=\"{}\" y1=\"{}\" x2=\"{}\" y2=\"{}\" stroke=\"{stroke}\" stroke-width=\"{}\"/>",
            n(x1),
            n(y1),
            n(x2),
            n(y2),
            n(width)
        );
    }

    fn rect(&mut self, x: f64, y: f64, w: f64, h: f64, fill: &str, rx: f64) {
        let _ = write!(
            self.out,
            "<rect x=\"{}\" y=\"{}\" width=\"{}\" height=\"{}\" rx=\"{}\" fill=\"{fill}\"/>",
            n(x),
            n(y),
            n(w.max(0.0)),
            n(h.max(0.0)),
            n(rx)
        );
    }

    fn finish(mut self) -> String {
        self.out.push_str("</svg>");
        self.out
    }
}

fn draw(chart: &Chart, font_stack: &str) -> String {
    let mut svg = Svg::new(&chart.title, font_stack);
    // Title, top left (ECharts: 18px bolder #464646 at 5,5).
    svg.text(
        10.0,
        26.0,
        &fit(&chart.title, 18.0, WIDTH - 20.0),
        Style {
            size: 18.0,
            fill: TITLE_COLOR,
            anchor: "start",
            bold: true,
        },
    );
    if is_empty(chart) {
        svg.text(
            WIDTH / 2.0,
            HEIGHT / 2.0 + 7.0,
            EMPTY_TEXT,
            Style {
                size: 18.0,
                fill: "#999999",
                anchor: "middle",
                bold: false,
            },
        );
        return svg.finish();
    }
    match chart.kind {
        ChartKind::Line | ChartKind::Bar => draw_axes(&mut svg, chart),
        ChartKind::Pie => draw_pie(&mut svg, chart),
        ChartKind::WordCloud => draw_cloud(&mut svg, chart),
    }
    svg.finish()
}

/// No categories, or no positive/nonzero finite value to draw.
pub(crate) fn is_empty(chart: &Chart) -> bool {
    if chart.categories.is_empty() {
        return true;
    }
    let k = chart.categories.len();
    let values = |take_first: bool| {
        chart
            .series
            .iter()
            .take(if take_first { 1 } else { usize::MAX })
            .flat_map(|s| s.values.iter().take(k).copied())
            .collect::<Vec<f64>>()
    };
    match chart.kind {
        ChartKind::Line | ChartKind::Bar => {
            !values(false).into_iter().any(|v| v.is_finite() && v != 0.0)
        }
        ChartKind::Pie | ChartKind::WordCloud => {
            !values(true).into_iter().any(|v| v.is_finite() && v > 0.0)
        }
    }
}

/// Lays the legend out in centred rows under the title; returns the y where it ends.
fn legend(svg: &mut Svg, names: &[(String, &str)], line_marks: bool) -> f64 {
    const TOP: f64 = 38.0;
    const ROW: f64 = 22.0;
    const MAX_ROWS: usize = 3;
    let items: Vec<(String, f64)> = names
        .iter()
        .map(|(name, _)| {
            let name = fit(name, 12.0, 160.0);
            let w = 25.0 + 5.0 + text_width(&name, 12.0);
            (name, w)
        })
        .collect();
    let mut rows: Vec<Vec<usize>> = vec![vec![]];
    let mut width = 0.0;
    for (i, (_, w)) in items.iter().enumerate() {
        let add = if width > 0.0 { 10.0 + w } else { *w };
        if width + add > WIDTH - 40.0 && width > 0.0 {
            if rows.len() == MAX_ROWS {
                break;
            }
            rows.push(vec![]);
            width = *w;
        } else {
            width += add;
        }
        if let Some(r) = rows.last_mut() {
            r.push(i);
        }
    }
    for (r, row) in rows.iter().enumerate() {
        let total: f64 =
            row.iter().map(|&i| items[i].1).sum::<f64>() + 10.0 * (row.len().max(1) - 1) as f64;
        let mut x = (WIDTH - total) / 2.0;
        let cy = TOP + r as f64 * ROW;
        for &i in row {
            let color = names[i].1;
            if line_marks {
                svg.line(x, cy, x + 25.0, cy, color, 2.0);
                let _ = write!(
                    svg.out,
                    "<circle cx=\"{}\" cy=\"{}\" r=\"4\" fill=\"#ffffff\" stroke=\"{color}\" stroke-width=\"2\"/>",
                    n(x + 12.5),
                    n(cy)
                );
            } else {
                svg.rect(x, cy - 7.0, 25.0, 14.0, color, 3.0);
            }
            svg.text(
                x + 30.0,
                cy + 4.5,
                &items[i].0,
                Style {
                    size: 12.0,
                    fill: TEXT_COLOR,
                    anchor: "start",
                    bold: false,
                },
            );
            x += items[i].1 + 10.0;
        }
    }
    TOP + (rows.len() as f64 - 1.0) * ROW + 12.0
}

fn draw_axes(svg: &mut Svg, chart: &Chart) {
    let k = chart.categories.len();
    let series: Vec<&crate::model::Series> = chart.series.iter().collect();
    let names: Vec<(String, &str)> = series
        .iter()
        .enumerate()
        .map(|(i, s)| (s.name.clone(), PALETTE[i % PALETTE.len()]))
        .collect();
    let legend_bottom = if names.iter().any(|(n, _)| !n.trim().is_empty()) {
        legend(svg, &names, chart.kind == ChartKind::Line)
    } else {
        34.0
    };
    let values = || {
        series
            .iter()
            .flat_map(|s| s.values.iter().take(k).copied())
            .filter(|v| v.is_finite())
    };
    let min = values().fold(0.0, f64::min);
    let max = values().fold(0.0, f64::max);
    let integers = values().all(|v| (v - v.round()).abs() < 1e-9);
    let (lo, hi, step) = nice_axis(min, max, 5, integers);

    let top = legend_bottom + 24.0;
    let bottom = HEIGHT - 40.0;
    let tick_count = ((hi - lo) / step).round() as usize;
    let y_labels: Vec<String> = (0..=tick_count)
        .map(|i| label_num(lo + i as f64 * step))
        .collect();
    let left = y_labels
        .iter()
        .map(|l| text_width(l, 12.0))
        .fold(0.0, f64::max)
        + 24.0;
    let left = left.max(50.0);
    let right = WIDTH - 30.0;
    let plot_w = right - left;
    let y_of = |v: f64| bottom - (finite(v) - lo) / (hi - lo) * (bottom - top);

    // Split lines and value labels.
    for (i, label) in y_labels.iter().enumerate() {
        let y = y_of(lo + i as f64 * step);
        if (lo + i as f64 * step).abs() > 1e-12 || lo < 0.0 {
            svg.line(left, y, right, y, SPLIT_COLOR, 1.0);
        }
        svg.text(
            left - 8.0,
            y + 4.0,
            label,
            Style {
                size: 12.0,
                fill: AXIS_COLOR,
                anchor: "end",
                bold: false,
            },
        );
    }
    // Category axis at zero.
    let zero_y = y_of(0.0);
    svg.line(left, zero_y, right, zero_y, AXIS_COLOR, 1.0);
    let band = plot_w / k as f64;
    let interval = label_interval(&chart.categories, band, 12.0);
    for i in 0..=k {
        let x = left + i as f64 * band;
        if i % interval == 0 || i == k {
            svg.line(x, zero_y, x, zero_y + 5.0, AXIS_COLOR, 1.0);
        }
    }
    let max_label = (band * interval as f64 - 6.0).clamp(24.0, 110.0);
    for (i, c) in chart.categories.iter().enumerate() {
        if i % interval != 0 {
            continue;
        }
        let x = left + (i as f64 + 0.5) * band;
        svg.text(
            x,
            bottom + 20.0,
            &fit(c, 12.0, max_label),
            Style {
                size: 12.0,
                fill: AXIS_COLOR,
                anchor: "middle",
                bold: false,
            },
        );
    }

    match chart.kind {
        ChartKind::Bar => {
            // ECharts: barCategoryGap 20 %, barGap 30 %.
            let m = series.len().max(1) as f64;
            let inner = band * 0.8;
            let bar_w = inner / (m + 0.3 * (m - 1.0));
            for (si, s) in series.iter().enumerate() {
                let color = PALETTE[si % PALETTE.len()];
                for (i, v) in s.values.iter().take(k).enumerate() {
                    let v = finite(*v);
                    if v == 0.0 {
                        continue;
                    }
                    let x = left + i as f64 * band + band * 0.1 + si as f64 * bar_w * 1.3;
                    let (y0, y1) = (y_of(v), zero_y);
                    svg.rect(x, y0.min(y1), bar_w, (y1 - y0).abs(), color, 0.0);
                }
            }
        }
        _ => {
            for (si, s) in series.iter().enumerate() {
                let color = PALETTE[si % PALETTE.len()];
                let points: Vec<(f64, f64)> = s
                    .values
                    .iter()
                    .take(k)
                    .enumerate()
                    .map(|(i, v)| (left + (i as f64 + 0.5) * band, y_of(*v)))
                    .collect();
                if points.is_empty() {
                    continue;
                }
                let mut d = String::new();
                for (i, (x, y)) in points.iter().enumerate() {
                    let _ = write!(d, "{}{} {} ", if i == 0 { 'M' } else { 'L' }, n(*x), n(*y));
                }
                let _ = write!(
                    svg.out,
                    "<path d=\"{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"2\" stroke-linejoin=\"round\"/>",
                    d.trim_end()
                );
                // Symbols (empty circles) only when they do not crowd the line.
                if band >= 10.0 {
                    for (x, y) in points {
                        let _ = write!(
                            svg.out,
                            "<circle cx=\"{}\" cy=\"{}\" r=\"2.5\" fill=\"#ffffff\" stroke=\"{color}\" stroke-width=\"1.5\"/>",
                            n(x),
                            n(y)
                        );
                    }
                }
            }
        }
    }
}

fn draw_pie(svg: &mut Svg, chart: &Chart) {
    let Some(s) = chart.series.first() else {
        return;
    };
    let slices: Vec<(usize, &str, f64)> = chart
        .categories
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let v = finite(s.values.get(i).copied().unwrap_or(0.0));
            (v > 0.0).then_some((i, c.as_str(), v))
        })
        .collect();
    let total: f64 = slices.iter().map(|(_, _, v)| v).sum();
    if total <= 0.0 {
        return;
    }
    let color = |i: usize| PALETTE[i % PALETTE.len()];
    let top = if chart.categories.len() <= 12 {
        let names: Vec<(String, &str)> = chart
            .categories
            .iter()
            .enumerate()
            .map(|(i, c)| (c.clone(), color(i)))
            .collect();
        legend(svg, &names, false) + 16.0
    } else {
        44.0
    };
    let cx = WIDTH / 2.0;
    let cy = (top + HEIGHT) / 2.0;
    let r = ((HEIGHT - top) / 2.0 - 28.0).max(40.0);

    // Slices clockwise from twelve o'clock, as ECharts draws them.
    let mut angle = -std::f64::consts::FRAC_PI_2;
    let mut labels: Vec<(f64, f64, f64, String, &str)> = Vec::new(); // (mid angle, %, y, text, color)
    for &(i, name, v) in &slices {
        let sweep = v / total * std::f64::consts::TAU;
        let (a0, a1) = (angle, angle + sweep);
        angle = a1;
        if slices.len() == 1 {
            let _ = write!(
                svg.out,
                "<circle cx=\"{}\" cy=\"{}\" r=\"{}\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"1\"/>",
                n(cx),
                n(cy),
                n(r),
                color(i)
            );
        } else {
            let large = if sweep > std::f64::consts::PI { 1 } else { 0 };
            let _ = write!(
                svg.out,
                "<path d=\"M{} {} L{} {} A{} {} 0 {large} 1 {} {} Z\" fill=\"{}\" stroke=\"#ffffff\" stroke-width=\"1\"/>",
                n(cx),
                n(cy),
                n(cx + r * a0.cos()),
                n(cy + r * a0.sin()),
                n(r),
                n(r),
                n(cx + r * a1.cos()),
                n(cy + r * a1.sin()),
                color(i)
            );
        }
        let mid = (a0 + a1) / 2.0;
        let pct = v / total * 100.0;
        labels.push((
            mid,
            pct,
            cy + (r + 14.0) * mid.sin(),
            format!("{} {:.1}%", fit(name, 12.0, 120.0), pct),
            color(i),
        ));
    }
    // Labels: slices of at least 1 % (at most the 16 largest; the rest are in the legend
    // and the data), in a column outside the pie on each side, pushed apart vertically
    // so they never overlap.
    labels.sort_by(|a, b| b.1.total_cmp(&a.1));
    labels.retain(|l| l.1 >= 1.0);
    labels.truncate(16);
    for right_side in [true, false] {
        let mut side: Vec<&(f64, f64, f64, String, &str)> = labels
            .iter()
            .filter(|l| (l.0.cos() >= 0.0) == right_side)
            .collect();
        side.sort_by(|a, b| a.2.total_cmp(&b.2));
        let mut ys: Vec<f64> = side.iter().map(|l| l.2).collect();
        const GAP: f64 = 15.0;
        for i in 1..ys.len() {
            if ys[i] < ys[i - 1] + GAP {
                ys[i] = ys[i - 1] + GAP;
            }
        }
        let overflow = ys.last().map(|y| y - (HEIGHT - 8.0)).unwrap_or(0.0);
        if overflow > 0.0 {
            for y in ys.iter_mut() {
                *y -= overflow;
            }
        }
        let column = if right_side {
            cx + r + 24.0
        } else {
            cx - r - 24.0
        };
        for (l, y) in side.iter().zip(ys) {
            let (mid, text, color) = (l.0, &l.3, l.4);
            let (ex, ey) = (cx + r * mid.cos(), cy + r * mid.sin());
            let (bx, by) = (cx + (r + 10.0) * mid.cos(), cy + (r + 10.0) * mid.sin());
            let _ = write!(
                svg.out,
                "<polyline points=\"{},{} {},{} {},{}\" fill=\"none\" stroke=\"{color}\" stroke-width=\"1\"/>",
                n(ex),
                n(ey),
                n(bx),
                n(by),
                n(column),
                n(y)
            );
            let tx = if right_side {
                column + 4.0
            } else {
                column - 4.0
            };
            svg.text(
                tx,
                y + 4.0,
                text,
                Style {
                    size: 12.0,
                    fill: TEXT_COLOR,
                    anchor: if right_side { "start" } else { "end" },
                    bold: false,
                },
            );
        }
    }
}

/// A word placed in the cloud.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Placed {
    pub word: String,
    pub size: f64,
    /// Bounding box: left, top, width, height.
    pub bbox: (f64, f64, f64, f64),
}

/// Places words (heaviest first) along an Archimedean spiral from the centre of the area
/// below the title, each at the first spot where its box overlaps no placed box; words
/// that find no spot are left out.
pub(crate) fn place_words(chart: &Chart) -> Vec<Placed> {
    const MAX_WORDS: usize = 120;
    let Some(s) = chart.series.first() else {
        return vec![];
    };
    let mut words: Vec<(&str, f64)> = chart
        .categories
        .iter()
        .enumerate()
        .filter_map(|(i, c)| {
            let v = finite(s.values.get(i).copied().unwrap_or(0.0));
            (v > 0.0 && !c.trim().is_empty()).then_some((c.as_str(), v))
        })
        .collect();
    words.sort_by(|a, b| b.1.total_cmp(&a.1));
    words.truncate(MAX_WORDS);
    let (Some(max), Some(min)) = (words.first().map(|w| w.1), words.last().map(|w| w.1)) else {
        return vec![];
    };
    let (area_top, area_bottom) = (40.0, HEIGHT - 6.0);
    let (area_left, area_right) = (6.0, WIDTH - 6.0);
    let cx = WIDTH / 2.0;
    let cy = (area_top + area_bottom) / 2.0;
    let aspect = (area_right - area_left) / (area_bottom - area_top);
    // Sizes 14–48 px by the square root of the weight, scaled down together when the words
    // would cover more than ~45 % of the area (the rest is the gaps a spiral leaves).
    let sized: Vec<(String, f64)> = words
        .iter()
        .map(|(word, w)| {
            let t = if max > min {
                ((w - min) / (max - min)).sqrt()
            } else {
                0.6
            };
            let size = 14.0 + t * 34.0;
            (fit(word, size, WIDTH / 2.0), size)
        })
        .collect();
    let covered: f64 = sized
        .iter()
        .map(|(word, size)| (text_width(word, *size) + 4.0) * size * 1.15)
        .sum();
    let budget = 0.45 * (area_right - area_left) * (area_bottom - area_top);
    let k = if covered > budget {
        (budget / covered).sqrt()
    } else {
        1.0
    };
    let mut placed: Vec<Placed> = Vec::new();
    for (word, size) in sized {
        let size = (size * k).max(10.0).round();
        let bw = text_width(&word, size) + 4.0;
        let bh = size * 1.15;
        let mut theta: f64 = 0.0;
        while theta < 160.0 {
            let r = 2.2 * theta;
            let x = cx + r * theta.cos() * aspect.sqrt() - bw / 2.0;
            let y = cy + r * theta.sin() / aspect.sqrt() - bh / 2.0;
            let inside =
                x >= area_left && x + bw <= area_right && y >= area_top && y + bh <= area_bottom;
            if inside
                && !placed.iter().any(|p| {
                    let (px, py, pw, ph) = p.bbox;
                    x < px + pw && px < x + bw && y < py + ph && py < y + bh
                })
            {
                placed.push(Placed {
                    word,
                    size,
                    bbox: (x, y, bw, bh),
                });
                break;
            }
            // About 6 px along the spiral per step.
            theta += (6.0 / r.max(6.0)).min(0.3);
        }
    }
    placed
}

fn draw_cloud(svg: &mut Svg, chart: &Chart) {
    for (i, p) in place_words(chart).iter().enumerate() {
        let (x, y, w, h) = p.bbox;
        // Baseline about 0.8 em below the top of the box.
        svg.text(
            x + w / 2.0,
            y + h * 0.8,
            &p.word,
            Style {
                size: p.size,
                fill: PALETTE[i % PALETTE.len()],
                anchor: "middle",
                bold: i < 3,
            },
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::Series;

    fn chart(kind: ChartKind, cats: &[&str], values: &[f64]) -> Chart {
        Chart {
            key: "k".into(),
            title: "测试图表".into(),
            kind,
            categories: cats.iter().map(|c| c.to_string()).collect(),
            series: vec![Series {
                name: "信息量".into(),
                values: values.to_vec(),
            }],
        }
    }

    #[test]
    fn nice_steps_are_round() {
        assert_eq!(nice_axis(0.0, 97.0, 5, true), (0.0, 100.0, 20.0));
        assert_eq!(nice_axis(0.0, 3.0, 5, true), (0.0, 3.0, 1.0));
        let (lo, hi, step) = nice_axis(-12.0, 40.0, 5, true);
        assert_eq!(step, 20.0);
        assert!(lo <= -12.0 && hi >= 40.0);
        let (_, hi, step) = nice_axis(0.0, 0.83, 5, false);
        assert!((step - 0.2).abs() < 1e-9 && hi >= 0.83, "{step} {hi}");
        assert_eq!(nice_axis(0.0, 0.0, 5, true), (0.0, 1.0, 1.0));
        let (lo, hi, step) = nice_axis(f64::NAN, f64::INFINITY, 5, true);
        assert!(lo.is_finite() && hi.is_finite() && step > 0.0);
    }

    #[test]
    fn labels_thin_out_for_many_categories() {
        let hours: Vec<String> = (0..24).map(|h| format!("{h:02}")).collect();
        assert_eq!(label_interval(&hours, 30.0, 12.0), 1);
        let days: Vec<String> = (1..=31).map(|d| format!("11-{d:02}")).collect();
        assert!(label_interval(&days, 23.0, 12.0) >= 2);
    }

    #[test]
    fn word_cloud_boxes_never_overlap() {
        let words: Vec<String> = (0..80).map(|i| format!("热词{i}")).collect();
        let refs: Vec<&str> = words.iter().map(String::as_str).collect();
        let weights: Vec<f64> = (0..80).map(|i| 100.0 - i as f64).collect();
        let c = chart(ChartKind::WordCloud, &refs, &weights);
        let placed = place_words(&c);
        assert!(placed.len() > 40, "{}", placed.len());
        assert_eq!(placed[0].word, "热词0");
        for (i, a) in placed.iter().enumerate() {
            let (ax, ay, aw, ah) = a.bbox;
            assert!(ax >= 0.0 && ay >= 0.0 && ax + aw <= WIDTH && ay + ah <= HEIGHT);
            for b in &placed[i + 1..] {
                let (bx, by, bw, bh) = b.bbox;
                assert!(!(ax < bx + bw && bx < ax + aw && ay < by + bh && by < ay + ah));
            }
        }
    }

    #[test]
    fn empty_and_hostile_data_never_break_the_svg() {
        for kind in [
            ChartKind::Line,
            ChartKind::Bar,
            ChartKind::Pie,
            ChartKind::WordCloud,
        ] {
            let s = svg(&chart(kind, &[], &[]));
            assert!(s.contains(EMPTY_TEXT));
            let s = svg(&chart(kind, &["a", "b"], &[0.0, 0.0]));
            assert!(s.contains(EMPTY_TEXT));
            let s = svg(&chart(
                kind,
                &["<b>&", "x", "y"],
                &[f64::NAN, f64::INFINITY, 3.0],
            ));
            assert!(!s.contains(EMPTY_TEXT));
            assert!(!s.contains("NaN") && !s.contains("inf"), "{s}");
            assert!(!s.contains("<b>"));
        }
    }
}
