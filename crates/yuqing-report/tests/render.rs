//! Every format rendered from one realistic report (all block kinds, Chinese text, hostile
//! HTML in titles and text) and read back: HTML escaping and links, DOCX through
//! `docx_rs::read_docx`, XLSX through calamine, chart SVG/PNG sanity, the empty report in
//! every format, and PDF through LibreOffice (ignored unless LibreOffice is installed).

use chrono::DateTime;
use std::io::Read as _;
use yuqing_report::model::{ReportPeriod, section_number};
use yuqing_report::render::{chart, docx, html, pdf};
use yuqing_report::{
    Block, Chart, ChartKind, Figure, Format, Item, Kind, Letterhead, RenderOptions, Report,
    ReportError, Section, Series, Table, Value, render,
};

const SCRIPT: &str = "<script>alert(1)</script>";
const IMG: &str = "<img src=x onerror=alert(1)>";

fn t(s: &str) -> DateTime<chrono::FixedOffset> {
    DateTime::parse_from_rfc3339(s).unwrap()
}

fn figure(key: &str, label: &str, value: Value) -> Figure {
    Figure {
        key: key.into(),
        label: label.into(),
        value,
    }
}

fn chart_of(
    key: &str,
    title: &str,
    kind: ChartKind,
    cats: Vec<String>,
    series: Vec<(&str, Vec<f64>)>,
) -> Chart {
    Chart {
        key: key.into(),
        title: title.into(),
        kind,
        categories: cats,
        series: series
            .into_iter()
            .map(|(name, values)| Series {
                name: name.into(),
                values,
            })
            .collect(),
    }
}

fn report() -> Report {
    let hours: Vec<String> = (0..24).map(|h| format!("{h:02}时")).collect();
    let volume: Vec<f64> = (0..24).map(|h| ((h * 37) % 90 + 5) as f64).collect();
    let negative: Vec<f64> = volume.iter().map(|v| (v * 0.3).round()).collect();
    let words = [
        "暴雨",
        "积水",
        "排涝",
        "救援",
        "停电",
        "交通",
        "地铁",
        "学校",
        "停课",
        "物资",
        "志愿者",
        "转移",
        "安置",
        "预警",
        "气象台",
        "河道",
        "水位",
        "堤坝",
        "巡查",
        "通报",
    ];
    Report {
        kind: Kind::Daily,
        title: "舆情日报".into(),
        subtitle: Some("2026年11月21日".into()),
        letterhead: Letterhead {
            organisation: "某某县委网信办".into(),
            header: Some("内部资料 注意保存".into()),
            logo: None,
        },
        issue: Some("第 12 期".into()),
        date: "2026年11月22日".into(),
        period: Some(ReportPeriod {
            since: t("2026-11-21T00:00:00+08:00"),
            until: t("2026-11-22T00:00:00+08:00"),
            label: "2026年11月21日".into(),
        }),
        inputs: serde_json::json!({"kind": "daily", "date": "2026-11-21"}),
        generated_at: t("2026-11-22T09:30:00+08:00"),
        notice: None,
        sections: vec![
            Section {
                title: "总体情况".into(),
                blocks: vec![
                    Block::Paragraph {
                        text: format!(
                            "11月21日共监测到相关信息 1452 条，较前一日上升 12.5%。{IMG}\n其中负面信息 213 条。"
                        ),
                    },
                    Block::Figures {
                        items: vec![
                            figure("total", "信息总量", Value::Int(1452)),
                            figure("negative", "负面信息", Value::Int(213)),
                            figure("negative_share", "负面占比", Value::Pct(0.1467)),
                            figure("avg_per_hour", "平均每小时", Value::Num(60.5)),
                            figure("top_platform", "首要平台", Value::Text("微博".into())),
                            figure("no_rate", "回复率", Value::None),
                        ],
                    },
                    Block::Chart(chart_of(
                        "trend",
                        "信息量走势（按小时）",
                        ChartKind::Line,
                        hours.clone(),
                        vec![("全部", volume.clone()), ("负面", negative)],
                    )),
                ],
            },
            Section {
                title: "传播概况".into(),
                blocks: vec![
                    Block::Table(Table {
                        key: "platforms".into(),
                        title: "平台分布".into(),
                        columns: vec!["平台".into(), "信息量".into(), "占比".into(), "首发".into()],
                        rows: vec![
                            vec![
                                Value::Text("微博".into()),
                                Value::Int(820),
                                Value::Pct(0.5647),
                                Value::Link {
                                    text: "某网友".into(),
                                    url: "https://weibo.example/u/1".into(),
                                },
                            ],
                            vec![
                                Value::Text("抖音".into()),
                                Value::Int(402),
                                Value::Pct(0.2769),
                                Value::Link {
                                    text: "不安全链接".into(),
                                    url: "javascript:alert(1)".into(),
                                },
                            ],
                            vec![
                                Value::Text("新闻网站".into()),
                                Value::Int(230),
                                Value::Pct(0.1584),
                                Value::None,
                            ],
                        ],
                    }),
                    Block::Chart(chart_of(
                        "platform_pie",
                        "平台分布",
                        ChartKind::Pie,
                        vec!["微博".into(), "抖音".into(), "新闻网站".into()],
                        vec![("信息量", vec![820.0, 402.0, 230.0])],
                    )),
                    Block::Chart(chart_of(
                        "daily_bar",
                        "近31日信息量",
                        ChartKind::Bar,
                        (1..=31).map(|d| format!("10-{d:02}")).collect(),
                        vec![("信息量", (1..=31).map(|d| (d * 13 % 70) as f64).collect())],
                    )),
                    Block::Chart(chart_of(
                        "hotwords",
                        "热词云",
                        ChartKind::WordCloud,
                        words.iter().map(|w| w.to_string()).collect(),
                        vec![(
                            "权重",
                            (0..words.len()).map(|i| 100.0 - 4.0 * i as f64).collect(),
                        )],
                    )),
                ],
            },
            Section {
                title: "重点信息".into(),
                blocks: vec![Block::Items {
                    items: vec![
                        Item {
                            n: 1,
                            title: format!("城区多处积水 {SCRIPT}"),
                            summary: "网友反映城区多处路段积水严重。".into(),
                            url: Some("https://weibo.example/status/123?a=1&b=2".into()),
                            doc: Some("weibo:123".into()),
                            platform: Some("微博".into()),
                            author: Some("某网友".into()),
                            published_at: Some(t("2026-11-21T08:15:00+08:00")),
                            level: Some("较大".into()),
                            sentiment: Some("负面".into()),
                        },
                        Item {
                            n: 2,
                            title: "地铁停运通知引发关注".into(),
                            summary: format!("摘要中含有 {IMG}"),
                            url: Some("javascript:alert(2)".into()),
                            doc: Some("news:abc".into()),
                            platform: Some("新闻网站".into()),
                            author: None,
                            published_at: None,
                            level: None,
                            sentiment: Some("中性".into()),
                        },
                    ],
                }],
            },
            Section {
                title: "舆情点评与研判".into(),
                blocks: vec![Block::Draft {
                    key: "commentary".into(),
                    text: "当日信息量 1452 条，负面占比 14.7%。".into(),
                    edited: false,
                    computed: "当日信息量 1452 条，负面占比 14.7%。".into(),
                }],
            },
        ],
    }
}

fn empty_report() -> Report {
    Report {
        notice: Some("2026年11月21日无相关信息。".into()),
        sections: vec![],
        period: None,
        subtitle: None,
        issue: None,
        ..report()
    }
}

fn opts() -> RenderOptions {
    RenderOptions {
        base_url: Some("http://10.0.0.5:8080".into()),
        ..Default::default()
    }
}

// ---------------------------------------------------------------------------------------
// HTML

#[test]
fn html_is_a_standalone_escaped_briefing() {
    let r = report();
    let page = String::from_utf8(render(&r, Format::Html, &opts()).unwrap()).unwrap();
    assert!(page.starts_with("<!DOCTYPE html>"));
    assert!(page.contains("<html lang=\"zh-CN\">"));
    // Hostile text is escaped everywhere.
    assert!(!page.contains("<script>alert"), "script tag leaked");
    assert!(!page.contains("<img src=x"), "img tag leaked");
    assert!(page.contains("&lt;script&gt;alert(1)&lt;"));
    assert!(page.contains("&lt;img src=x onerror=alert(1)&gt;"));
    assert!(!page.contains("href=\"javascript"), "javascript URL linked");
    // No external resources.
    for needle in ["<link", "src=\"http", "url(http", "@import", "<script"] {
        assert!(!page.contains(needle), "{needle}");
    }
    // Letterhead, sections, figures, items.
    for s in [
        "某某县委网信办",
        "第 12 期",
        "2026年11月22日",
        "内部资料 注意保存",
    ] {
        assert!(page.contains(s), "{s}");
    }
    for (i, s) in r.sections.iter().enumerate() {
        assert!(page.contains(&format!("{}、{}", section_number(i), s.title)));
    }
    for f in r.figures() {
        assert!(
            page.contains(&html_escape::encode_safe(&f.value.display()).to_string()),
            "{}",
            f.key
        );
    }
    assert!(page.contains("1452") && page.contains("14.7%") && page.contains("60.5"));
    assert!(page.contains("href=\"https://weibo.example/status/123?a=1&amp;b=2\""));
    assert!(page.contains("href=\"http://10.0.0.5:8080/#/search?doc=weibo:123\""));
    assert!(page.contains("search?doc=news:abc"));
    assert!(page.contains("分析人员点评（草稿，可编辑）"));
    // Charts inline as SVG, one per chart block.
    assert_eq!(page.matches("<svg ").count(), 4);
    assert!(!page.contains("NaN"));
}

#[test]
fn html_without_base_url_links_originals_only() {
    let page = html::render(&report(), &RenderOptions::default());
    assert!(!page.contains("search?doc="));
    assert!(page.contains("weibo.example"));
}

// ---------------------------------------------------------------------------------------
// DOCX

/// All the text of a paragraph, including runs inside hyperlinks.
fn para_text(p: &docx_rs::Paragraph) -> String {
    let mut s = String::new();
    for child in &p.children {
        match child {
            docx_rs::ParagraphChild::Run(r) => s.push_str(&run_text(r)),
            docx_rs::ParagraphChild::Hyperlink(h) => {
                for c in &h.children {
                    if let docx_rs::ParagraphChild::Run(r) = c {
                        s.push_str(&run_text(r));
                    }
                }
            }
            _ => {}
        }
    }
    s
}

fn run_text(r: &docx_rs::Run) -> String {
    let mut s = String::new();
    for c in &r.children {
        match c {
            docx_rs::RunChild::Text(t) => s.push_str(&t.text),
            docx_rs::RunChild::Tab(_) => s.push('\t'),
            docx_rs::RunChild::Break(_) => s.push('\n'),
            _ => {}
        }
    }
    s
}

fn table_cells(t: &docx_rs::Table) -> Vec<Vec<String>> {
    t.rows
        .iter()
        .map(|row| {
            let docx_rs::TableChild::TableRow(row) = row;
            row.cells
                .iter()
                .map(|c| {
                    let docx_rs::TableRowChild::TableCell(c) = c;
                    c.children
                        .iter()
                        .filter_map(|cc| match cc {
                            docx_rs::TableCellContent::Paragraph(p) => Some(para_text(p)),
                            _ => None,
                        })
                        .collect::<Vec<_>>()
                        .join("\n")
                })
                .collect()
        })
        .collect()
}

struct ReadBack {
    paragraphs: Vec<String>,
    tables: Vec<Vec<Vec<String>>>,
    images: usize,
    footer_xml: String,
    document_xml: String,
    rels_xml: String,
}

fn zip_entry(bytes: &[u8], prefix: &str) -> String {
    // A minimal look inside the package for what docx-rs' reader does not expose.
    let mut archive = zip_reader(bytes);
    let mut out = String::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        if f.name().unwrap().starts_with(prefix) {
            f.read_to_string(&mut out).unwrap();
        }
    }
    out
}

fn zip_reader(bytes: &[u8]) -> zip::ZipArchive<std::io::Cursor<&[u8]>> {
    zip::ZipArchive::new(std::io::Cursor::new(bytes)).unwrap()
}

fn read_back(bytes: &[u8]) -> ReadBack {
    let doc = docx_rs::read_docx(bytes).expect("DOCX reads back");
    let mut paragraphs = Vec::new();
    let mut tables = Vec::new();
    for child in &doc.document.children {
        match child {
            docx_rs::DocumentChild::Paragraph(p) => paragraphs.push(para_text(p)),
            docx_rs::DocumentChild::Table(t) => tables.push(table_cells(t)),
            _ => {}
        }
    }
    ReadBack {
        paragraphs,
        tables,
        images: doc.images.len(),
        footer_xml: zip_entry(bytes, "word/footer"),
        document_xml: zip_entry(bytes, "word/document.xml"),
        rels_xml: zip_entry(bytes, "word/_rels/document.xml.rels"),
    }
}

#[test]
fn docx_reads_back_with_text_tables_images_and_page_numbers() {
    let r = report();
    let bytes = render(&r, Format::Docx, &opts()).unwrap();
    assert!(bytes.starts_with(b"PK"));
    let back = read_back(&bytes);
    let text = back.paragraphs.join("\n");
    for s in [
        "舆情日报",
        "第 12 期",
        "某某县委网信办\t2026年11月22日",
        "内部资料 注意保存",
        "一、总体情况",
        "二、传播概况",
        "三、重点信息",
        "四、舆情点评与研判",
        "2026年11月21日",
        "【分析人员点评（草稿，可编辑）】",
        "当日信息量 1452 条",
        "地铁停运通知引发关注",
        "原文链接：https://weibo.example/status/123?a=1&b=2",
        "系统内查看：http://10.0.0.5:8080/#/search?doc=weibo:123",
    ] {
        assert!(text.contains(s), "missing {s:?} in\n{text}");
    }
    // Hostile text is text (escaped in the XML), never markup.
    assert!(text.contains(SCRIPT));
    assert!(text.contains(IMG));
    assert!(!back.document_xml.contains("<script>"));
    // Figures: a two-column table of label/value pairs.
    let figures = &back.tables[0];
    let cells: Vec<&String> = figures.iter().flatten().collect();
    for f in r.figures() {
        assert!(cells.iter().any(|c| **c == f.label), "{}", f.label);
        assert!(cells.iter().any(|c| **c == f.value.display()), "{}", f.key);
    }
    assert_eq!(figures[0].len(), 4);
    // The platform table: header row then the rows.
    let platforms = &back.tables[1];
    assert_eq!(platforms[0], vec!["平台", "信息量", "占比", "首发"]);
    assert_eq!(platforms[1], vec!["微博", "820", "56.5%", "某网友"]);
    assert_eq!(platforms[2][3], "不安全链接");
    assert_eq!(platforms.len(), 4);
    // The header row is shaded.
    assert!(back.document_xml.contains("w:fill=\"D9D9D9\""));
    // Four charts, four pictures.
    assert_eq!(back.images, 4);
    assert_eq!(back.document_xml.matches("<pic:pic").count(), 4);
    // A4 and the red rule.
    assert!(
        back.document_xml.contains("w:w=\"11906\"") && back.document_xml.contains("w:h=\"16838\"")
    );
    assert!(back.document_xml.contains(
        "<w:pBdr><w:bottom w:val=\"single\" w:space=\"4\" w:sz=\"18\" w:color=\"C00000\" /></w:pBdr>"
    ));
    // Footer with a PAGE field between dashes.
    assert!(back.footer_xml.contains("PAGE"), "{}", back.footer_xml);
    assert!(back.footer_xml.contains("— "));
    // Hyperlinks to web URLs only.
    assert!(
        back.rels_xml
            .contains("https://weibo.example/status/123?a=1&amp;b=2")
    );
    assert!(back.rels_xml.contains("https://weibo.example/u/1"));
    assert!(!back.rels_xml.contains("javascript"));
}

#[test]
fn docx_chart_pictures_are_the_chart_pngs() {
    let r = report();
    let bytes = docx::render(&r, &opts()).unwrap();
    let mut archive = zip_reader(&bytes);
    let mut pngs = 0;
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        if f.name().unwrap().starts_with("word/media/") && !f.is_dir() {
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            assert!(
                data.starts_with(b"\x89PNG\r\n\x1a\n"),
                "{}: {:?}",
                f.name().unwrap(),
                &data[..data.len().min(16)]
            );
            pngs += 1;
        }
    }
    assert_eq!(pngs, 4);
}

// ---------------------------------------------------------------------------------------
// XLSX

#[test]
fn xlsx_reads_back_with_typed_figures_and_every_table_row() {
    use calamine::{Data, Reader, Xlsx};
    let r = report();
    let bytes = render(&r, Format::Xlsx, &opts()).unwrap();
    let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(bytes)).unwrap();
    let names = wb.sheet_names();
    assert_eq!(names[0], "概要");
    assert!(names.contains(&"平台分布".to_owned()), "{names:?}");
    assert!(names.contains(&"图-平台分布".to_owned()), "{names:?}");
    assert!(names.contains(&"引用条目".to_owned()), "{names:?}");
    assert_eq!(names.len(), 1 + 1 + 4 + 1);

    let summary = wb.worksheet_range("概要").unwrap();
    let find = |key: &str| -> Data {
        summary
            .rows()
            .find(|row| row.first() == Some(&Data::String(key.into())))
            .map(|row| row[2].clone())
            .unwrap_or_else(|| panic!("figure {key} not in 概要"))
    };
    assert_eq!(find("total"), Data::Float(1452.0));
    assert_eq!(find("negative"), Data::Float(213.0));
    assert_eq!(find("negative_share"), Data::Float(0.1467));
    assert_eq!(find("avg_per_hour"), Data::Float(60.5));
    assert_eq!(find("top_platform"), Data::String("微博".into()));
    assert_eq!(find("no_rate"), Data::String("—".into()));
    let all: Vec<String> = summary.rows().flatten().map(|c| c.to_string()).collect();
    assert!(all.iter().any(|c| c == "舆情日报 2026年11月21日"));
    assert!(all.iter().any(|c| c == "某某县委网信办"));
    assert!(
        all.iter()
            .any(|c| c == "当日信息量 1452 条，负面占比 14.7%。")
    );

    let t = wb.worksheet_range("平台分布").unwrap();
    let rows: Vec<Vec<Data>> = t.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 4);
    assert_eq!(rows[0][0], Data::String("平台".into()));
    assert_eq!(rows[1][1], Data::Float(820.0));
    assert_eq!(rows[1][2], Data::Float(0.5647));
    assert_eq!(rows[3][0], Data::String("新闻网站".into()));

    let c = wb.worksheet_range("图-信息量走势（按小时）").unwrap();
    let rows: Vec<Vec<Data>> = c.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 25);
    assert_eq!(
        rows[0],
        vec![
            Data::String("类别".into()),
            Data::String("全部".into()),
            Data::String("负面".into())
        ]
    );
    assert_eq!(rows[1][0], Data::String("00时".into()));

    let items = wb.worksheet_range("引用条目").unwrap();
    let rows: Vec<Vec<Data>> = items.rows().map(|r| r.to_vec()).collect();
    assert_eq!(rows.len(), 3);
    assert_eq!(rows[1][1], Data::String(format!("城区多处积水 {SCRIPT}")));
    assert_eq!(
        rows[1][9],
        Data::String("http://10.0.0.5:8080/#/search?doc=weibo:123".into())
    );
}

#[test]
fn xlsx_has_hyperlinks_and_a_percent_format() {
    let bytes = render(&report(), Format::Xlsx, &opts()).unwrap();
    let mut archive = zip_reader(&bytes);
    let mut rels = String::new();
    let mut styles = String::new();
    for i in 0..archive.len() {
        let mut f = archive.by_index(i).unwrap();
        let name = f.name().unwrap().into_owned();
        if name.starts_with("xl/worksheets/_rels/") {
            f.read_to_string(&mut rels).unwrap();
        } else if name == "xl/styles.xml" {
            f.read_to_string(&mut styles).unwrap();
        }
    }
    assert!(rels.contains("https://weibo.example/status/123"));
    assert!(!rels.contains("javascript"));
    assert!(styles.contains("0.0%"));
}

// ---------------------------------------------------------------------------------------
// Charts

fn each_chart(r: &Report) -> Vec<&Chart> {
    r.blocks()
        .filter_map(|b| match b {
            Block::Chart(c) => Some(c),
            _ => None,
        })
        .collect()
}

#[test]
fn chart_svgs_are_sane_for_every_kind() {
    let r = report();
    let charts = each_chart(&r);
    let kinds: Vec<ChartKind> = charts.iter().map(|c| c.kind).collect();
    for k in [
        ChartKind::Line,
        ChartKind::Bar,
        ChartKind::Pie,
        ChartKind::WordCloud,
    ] {
        assert!(kinds.contains(&k));
    }
    for c in charts {
        let svg = chart::svg(c);
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>"));
        assert!(!svg.contains("NaN") && !svg.contains("inf"), "{}", c.key);
        assert!(svg.contains(&c.title));
        assert_eq!(svg.matches('<').count(), svg.matches('>').count());
        for p in chart::PALETTE.iter().take(1) {
            assert!(svg.contains(p));
        }
        match c.kind {
            ChartKind::Pie => {
                assert!(svg.contains("微博 56.5%"), "{svg}");
            }
            ChartKind::WordCloud => {
                assert!(svg.contains(">暴雨<"));
            }
            ChartKind::Line => {
                assert!(svg.contains(">00时<") && svg.contains(">12时<"));
                assert!(svg.contains(">全部<") && svg.contains(">负面<"));
            }
            ChartKind::Bar => {
                assert!(svg.contains(">10-01<"));
                // 31 days: labels thinned.
                let shown = (1..=31)
                    .filter(|d| svg.contains(&format!(">10-{d:02}<")))
                    .count();
                assert!((8..31).contains(&shown), "{shown}");
            }
        }
    }
}

#[test]
fn chart_text_is_escaped() {
    let c = chart_of(
        "x",
        "标题 <b>&",
        ChartKind::Bar,
        vec![SCRIPT.into(), "b".into()],
        vec![(IMG, vec![1.0, 2.0])],
    );
    let svg = chart::svg(&c);
    assert!(!svg.contains("<script") && !svg.contains("<img") && !svg.contains("<b>"));
    assert!(svg.contains("&lt;b&gt;&amp;"));
}

#[test]
fn empty_charts_say_no_data() {
    for kind in [
        ChartKind::Line,
        ChartKind::Bar,
        ChartKind::Pie,
        ChartKind::WordCloud,
    ] {
        let c = chart_of("e", "空", kind, vec![], vec![]);
        assert!(chart::svg(&c).contains("无数据"));
        let c = chart_of("z", "零", kind, vec!["a".into()], vec![("s", vec![0.0])]);
        assert!(chart::svg(&c).contains("无数据"));
        let img = chart::png(&c, &RenderOptions::default()).unwrap();
        assert!(img.png.starts_with(b"\x89PNG"));
    }
}

#[test]
fn chart_pngs_decode_and_are_drawn() {
    let r = report();
    for c in each_chart(&r) {
        let img = chart::png(c, &RenderOptions::default()).unwrap();
        assert!(img.png.starts_with(b"\x89PNG\r\n\x1a\n"));
        assert!(img.png.len() > 5_000, "{} bytes", img.png.len());
        let pixmap = resvg::tiny_skia::Pixmap::decode_png(&img.png).unwrap();
        assert_eq!((pixmap.width(), pixmap.height()), (img.width, img.height));
        assert!(img.width >= 1200 && img.height >= 600);
        let coloured = pixmap
            .pixels()
            .iter()
            .filter(|p| !(p.red() > 250 && p.green() > 250 && p.blue() > 250))
            .count();
        assert!(coloured > 1000, "{}: {coloured} non-white pixels", c.key);
    }
}

#[test]
fn this_machine_draws_chinese_in_charts() {
    // fonts-wqy-microhei is installed here; elsewhere the DOCX carries a note instead.
    if !std::path::Path::new("/usr/share/fonts/truetype/wqy").exists() {
        return;
    }
    let r = report();
    let img = chart::png(each_chart(&r)[0], &RenderOptions::default()).unwrap();
    assert!(img.cjk_font);
    let bytes = docx::render(&r, &RenderOptions::default()).unwrap();
    let text = read_back(&bytes).paragraphs.join("\n");
    assert!(!text.contains("未找到中文字体"));
}

#[test]
fn a_font_without_chinese_gives_a_png_and_a_note() {
    // A font file that has no Chinese glyphs (DejaVu) or none that loads at all.
    let latin = ["/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"]
        .into_iter()
        .find(|p| std::path::Path::new(p).exists());
    let bogus = std::env::temp_dir().join("yuqing-no-such-font.ttf");
    for font in [latin.map(std::path::PathBuf::from), Some(bogus)]
        .into_iter()
        .flatten()
    {
        let o = RenderOptions {
            font: Some(font.clone()),
            ..Default::default()
        };
        let img = chart::png(each_chart(&report())[0], &o).unwrap();
        assert!(img.png.starts_with(b"\x89PNG"));
        // With system fonts as fallback, Chinese still draws if the machine has a CJK font;
        // the note appears exactly when it does not.
        let bytes = docx::render(&report(), &o).unwrap();
        let text = read_back(&bytes).paragraphs.join("\n");
        assert_eq!(text.contains("未找到中文字体"), !img.cjk_font, "{font:?}");
        assert_eq!(text.contains("no CJK font was found"), !img.cjk_font);
    }
}

// ---------------------------------------------------------------------------------------
// Empty report, every format

#[test]
fn an_empty_report_renders_in_every_format() {
    let r = empty_report();
    let o = opts();
    let page = String::from_utf8(render(&r, Format::Html, &o).unwrap()).unwrap();
    assert!(page.contains("2026年11月21日无相关信息。"));
    let docx = render(&r, Format::Docx, &o).unwrap();
    let back = read_back(&docx);
    assert!(
        back.paragraphs
            .join("\n")
            .contains("2026年11月21日无相关信息。")
    );
    assert!(back.footer_xml.contains("PAGE"));
    let xlsx = render(&r, Format::Xlsx, &o).unwrap();
    {
        use calamine::{Reader, Xlsx};
        let mut wb: Xlsx<_> = Xlsx::new(std::io::Cursor::new(xlsx)).unwrap();
        assert_eq!(wb.sheet_names(), vec!["概要".to_owned()]);
        let all: Vec<String> = wb
            .worksheet_range("概要")
            .unwrap()
            .rows()
            .flatten()
            .map(|c| c.to_string())
            .collect();
        assert!(all.iter().any(|c| c == "2026年11月21日无相关信息。"));
    }
    let json = render(&r, Format::Json, &o).unwrap();
    let back: Report = serde_json::from_slice(&json).unwrap();
    assert_eq!(back, r);
    // PDF: either LibreOffice is here and it works, or the error says how to get it.
    match render(&r, Format::Pdf, &o) {
        Ok(pdf) => assert!(pdf.starts_with(b"%PDF")),
        Err(e) => assert!(matches!(e, ReportError::PdfUnavailable { .. }), "{e}"),
    }
}

// ---------------------------------------------------------------------------------------
// PDF

#[test]
fn a_missing_soffice_gives_pdf_unavailable_with_how_to_fix_it() {
    let o = RenderOptions {
        soffice: Some("/nonexistent/libreoffice/soffice".into()),
        ..Default::default()
    };
    let err = render(&report(), Format::Pdf, &o).unwrap_err();
    assert!(matches!(err, ReportError::PdfUnavailable { .. }), "{err}");
    let msg = err.to_string();
    assert!(msg.contains("/nonexistent/libreoffice/soffice"), "{msg}");
    assert!(msg.contains("apt-get install libreoffice-writer-nogui"));
    assert!(msg.contains("[report] soffice"));
    assert_eq!(msg.matches(" / ").count(), 1, "{msg}");
}

#[test]
#[ignore = "needs LibreOffice: run by .ci/run with --ignored"]
fn pdf_through_libreoffice_has_the_title_text() {
    let r = report();
    let soffice = pdf::find_soffice(&RenderOptions::default()).expect("LibreOffice installed");
    let pdf_bytes = render(&r, Format::Pdf, &opts()).unwrap();
    assert!(pdf_bytes.starts_with(b"%PDF"));
    assert!(pdf_bytes.len() > 10_000);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("r.pdf");
    std::fs::write(&path, &pdf_bytes).unwrap();
    let out = std::process::Command::new("pdftotext")
        .args(["-enc", "UTF-8"])
        .arg(&path)
        .arg("-")
        .output()
        .expect("pdftotext (poppler-utils) installed");
    let text = String::from_utf8_lossy(&out.stdout);
    let squeezed: String = text.chars().filter(|c| !c.is_whitespace()).collect();
    assert!(squeezed.contains("舆情日报"), "{soffice:?}: {text}");
    assert!(squeezed.contains("某某县委网信办"));
    assert!(squeezed.contains("一、总体情况"));
}

// ---------------------------------------------------------------------------------------
// Speed

#[test]
fn a_3000_row_table_renders_quickly() {
    let mut r = empty_report();
    r.notice = None;
    let rows: Vec<Vec<Value>> = (0..3000)
        .map(|i| {
            vec![
                Value::Int(i + 1),
                Value::Text(format!("第{i}条信息的标题，内容较长以便测量")),
                Value::Text("微博".into()),
                Value::Pct((i % 100) as f64 / 100.0),
                Value::Link {
                    text: "原文".into(),
                    url: format!("https://weibo.example/status/{i}"),
                },
            ]
        })
        .collect();
    r.sections = vec![Section {
        title: "明细".into(),
        blocks: vec![Block::Table(Table {
            key: "rows".into(),
            title: "信息明细".into(),
            columns: vec![
                "序号".into(),
                "标题".into(),
                "平台".into(),
                "占比".into(),
                "链接".into(),
            ],
            rows,
        })],
    }];
    let o = RenderOptions::default();
    for format in [Format::Docx, Format::Xlsx, Format::Html] {
        let t = std::time::Instant::now();
        let bytes = render(&r, format, &o).unwrap();
        let took = t.elapsed();
        eprintln!(
            "3000-row table as {}: {:?}, {} bytes",
            format.extension(),
            took,
            bytes.len()
        );
        // Generous for debug builds; the release figure is reported separately.
        assert!(took < std::time::Duration::from_secs(30));
    }
    let sample = report();
    for _ in 0..2 {
        let t = std::time::Instant::now();
        render(&sample, Format::Docx, &o).unwrap();
        eprintln!("sample report (4 charts) as docx: {:?}", t.elapsed());
    }
    let docx = render(&r, Format::Docx, &o).unwrap();
    // The package is deflated (docx-rs alone stores ~6 MB for this table).
    assert!(docx.len() < 1_500_000, "{} bytes", docx.len());
    let back = read_back(&docx);
    assert_eq!(back.tables[0].len(), 3001);
}

/// Writes every format of the sample report to $YUQING_REPORT_DUMP (for looking at them).
#[test]
fn dump_samples_when_asked() {
    let Some(dir) = std::env::var_os("YUQING_REPORT_DUMP") else {
        return;
    };
    let dir = std::path::PathBuf::from(dir);
    std::fs::create_dir_all(&dir).unwrap();
    let r = report();
    for format in [Format::Html, Format::Docx, Format::Xlsx] {
        let bytes = render(&r, format, &opts()).unwrap();
        std::fs::write(dir.join(format!("sample.{}", format.extension())), bytes).unwrap();
    }
    let stress = [
        chart_of(
            "pie20",
            "地区分布（20个地区，含很长的地区名称）",
            ChartKind::Pie,
            (0..20).map(|i| format!("某某省某某市第{i}区")).collect(),
            vec![("信息量", (0..20).map(|i| 2f64.powi(20 - i)).collect())],
        ),
        chart_of(
            "year",
            "全年走势",
            ChartKind::Line,
            (1..=365).map(|d| format!("第{d}天")).collect(),
            vec![(
                "信息量",
                (1..=365).map(|d| (d * 7919 % 250_000) as f64).collect(),
            )],
        ),
        chart_of(
            "neg",
            "环比变化",
            ChartKind::Bar,
            vec!["微博".into(), "抖音".into(), "新闻".into(), "论坛".into()],
            vec![
                ("本期", vec![-12.5, 30.0, 4.2, -3.0]),
                ("上期", vec![5.0, -8.0, 0.5, 2.0]),
            ],
        ),
    ];
    for c in each_chart(&r).into_iter().chain(stress.iter()) {
        std::fs::write(dir.join(format!("{}.svg", c.key)), chart::svg(c)).unwrap();
        let img = chart::png(c, &RenderOptions::default()).unwrap();
        std::fs::write(dir.join(format!("{}.png", c.key)), img.png).unwrap();
    }
}

#[test]
fn a_png_logo_is_printed_in_html_and_docx() {
    let mut pixmap = resvg::tiny_skia::Pixmap::new(64, 32).unwrap();
    pixmap.fill(resvg::tiny_skia::Color::from_rgba8(200, 0, 0, 255));
    let mut r = report();
    r.letterhead.logo = Some(pixmap.encode_png().unwrap());
    let page = html::render(&r, &opts());
    assert!(page.contains("<img class=\"logo\" alt=\"\" src=\"data:image/png;base64,iVBORw0KGgo"));
    let back = read_back(&docx::render(&r, &opts()).unwrap());
    assert_eq!(back.images, 5);
    // Anything else is not a logo: left out, never an error.
    r.letterhead.logo = Some(b"GIF89a not a png".to_vec());
    assert!(!html::render(&r, &opts()).contains("class=\"logo\""));
    assert_eq!(read_back(&docx::render(&r, &opts()).unwrap()).images, 4);
}
