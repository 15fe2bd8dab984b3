//! Inputs the fuzz targets (`fuzz/`, see docs/security.md "Fuzzing") found, each fed as
//! it was found, with the behaviour now expected. Named after what went wrong; the inputs
//! are in `tests/fixtures/fuzz/`.

use yuqing_ingest::import::{parse_csv, parse_json_line};
use yuqing_ingest::sources::feed::parse_feed;
use yuqing_ingest::sources::mailbox::{MessageMeta, message_to_document};
use yuqing_ingest::sources::web::{ArticleSelectors, extract_article, extract_main_text};

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/fuzz/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

/// Export → import, as the fuzz targets check it (document-format.md §10).
fn assert_round_trip(doc: &yuqing_core::Document) {
    let json = serde_json::to_string(doc).unwrap();
    assert_eq!(&parse_json_line(json.as_bytes()).unwrap(), doc, "{json}");
}

/// fuzz target `feed`: a second `<?xml … encoding="GBK"?>` past the first 64 bytes made
/// quick-xml panic (`set_encoding() called after prefix buffer was drained`), which would
/// have stopped `yuqing import` of such a file. The found input is ill-formed beyond that:
/// now it is refused as not a feed.
#[test]
fn feed_with_a_late_gbk_declaration_does_not_panic() {
    let e = parse_feed(&fixture("feed-late-gbk-declaration.xml"), "fuzz", "news").unwrap_err();
    let msg = e.to_string();
    assert!(msg.contains("fuzz") && msg.contains("ill-formed"), "{msg}");

    // A well-formed GBK feed with such a declaration inside an item is read, in GBK.
    let xml = "<?xml version=\"1.0\" encoding=\"GBK\"?><rss version=\"2.0\"><channel>\
        <title>x</title><item><title>网络谣言</title><link>http://example.cn/1</link>\
        <description>中文<?xml version=\"1.0\" encoding=\"GBK\"?>内容</description>\
        </item></channel></rss>";
    let (gbk, _, bad) = encoding_rs::GBK.encode(xml);
    assert!(!bad);
    let docs = parse_feed(&gbk, "fuzz", "news").expect("the feed is read");
    assert_eq!(docs.len(), 1);
    assert_eq!(docs[0].title.as_deref(), Some("网络谣言"));
    assert!(
        docs[0].text.contains("中文") && docs[0].text.contains("内容"),
        "{:?}",
        docs[0].text
    );
    assert_round_trip(&docs[0]);
}

/// fuzz target `feed`: the same panic through a declaration that the first fix skipped as
/// "inside a comment": the `<!--` stood inside an unclosed tag, where quick-xml does not read
/// a comment. Every declaration is now rewritten.
#[test]
fn feed_with_a_gbk_declaration_after_a_comment_in_a_tag_does_not_panic() {
    let r = parse_feed(
        &fixture("feed-gbk-declaration-after-comment-in-tag.xml"),
        "fuzz",
        "news",
    );
    match r {
        Ok(docs) => docs.iter().for_each(assert_round_trip),
        Err(e) => assert!(e.to_string().contains("fuzz"), "{e}"),
    }
}

/// fuzz target `json_line`: a millisecond timestamp of the year 56316 was accepted, then
/// exported as `+56316-03-10T…`, which RFC 3339 cannot write and import refused.
#[test]
fn json_line_with_a_year_past_9999_is_refused() {
    let e = parse_json_line(&fixture("json-line-year-56316.jsonl")).unwrap_err();
    assert!(
        e.contains("out of range (the year must be 0000 to 9999)"),
        "{e}"
    );
    assert!(e.contains("超出范围"), "{e}");
    // The same bound for every written form, and at both ends.
    for line in [
        r#"{"id":"a","published_at":-99999999999}"#,
        r#"{"id":"a","published_at":"+12345-01-01 00:00:00"}"#,
        r#"{"id":"a","published_at":"-0001-12-31 23:59:59"}"#,
    ] {
        let e = parse_json_line(line.as_bytes()).unwrap_err();
        assert!(e.contains("out of range"), "{line}: {e}");
    }
    for (line, want) in [
        (
            r#"{"id":"a","published_at":"9999-12-31T23:59:59+08:00"}"#,
            "9999-12-31T23:59:59+08:00",
        ),
        (
            r#"{"id":"a","published_at":"0000-01-01T00:00:00Z"}"#,
            "0000-01-01T00:00:00+00:00",
        ),
    ] {
        let d = parse_json_line(line.as_bytes()).unwrap();
        assert_eq!(d.published_at.unwrap().to_rfc3339(), want);
        assert_round_trip(&d);
    }
}

/// fuzz target `feed`: `<pubDate>Wed, 01 May 28024 08:00:00 CST</pubDate>` — the weekday
/// is wrong for that date, and the fallback for a wrong weekday parsed the rest as RFC 2822
/// without the bound on the year, so the item was exported as `+28024-05-01T…`, which
/// import refuses. Such a date is now no date: the item is kept, without a publication
/// time, and exports and imports again.
#[test]
fn feed_date_past_9999_with_a_wrong_weekday_is_no_date() {
    let docs = parse_feed(
        &fixture("feed-year-28024-wrong-weekday.xml"),
        "fuzz",
        "news",
    )
    .expect("the feed is read");
    assert!(!docs.is_empty());
    for doc in &docs {
        if let Some(t) = doc.published_at {
            assert!((0..=9999).contains(&chrono::Datelike::year(&t)), "{doc:?}");
        }
        assert_round_trip(doc);
    }
    assert!(docs[0].published_at.is_none(), "{:?}", docs[0]);
    // The same bound for a wrong weekday alone, and a right date with a wrong weekday
    // still read.
    use yuqing_ingest::sources::parse_loose_time;
    assert_eq!(parse_loose_time("Wed, 01 May 28024 08:00:00 CST"), None);
    assert_eq!(
        parse_loose_time("Mon, 01 May 2024 08:00:00 CST").map(|t| t.to_rfc3339()),
        Some("2024-05-01T08:00:00+08:00".to_owned())
    );
}

/// fuzz target `json_line`: an integer too large for i64 in an unknown field is read as a
/// float; serde_json's default (fast, not always exact) float parsing read the exported
/// digits back as a neighbouring float, so export → import changed the field
/// (document-format.md §6: unknown fields are kept verbatim). serde_json's
/// `float_roundtrip` is on now.
#[test]
fn floats_in_unknown_fields_survive_export() {
    let d = parse_json_line(&fixture("json-line-big-integer-float.jsonl")).unwrap();
    assert_round_trip(&d);
    let d = parse_json_line(br#"{"id":"a","x":-1.0000000000117149e+24,"y":0.1}"#).unwrap();
    assert_round_trip(&d);
}

/// Found while reading the timestamp code for the `json_line` target (the target then
/// crashed on it): a negative millisecond timestamp overflowed `u32` (a panic in debug
/// builds, a wrong "out of range" in release), and `i64::MIN` overflowed `abs`.
#[test]
fn negative_millisecond_timestamps_are_read() {
    let d = parse_json_line(br#"{"id":"a","published_at":-100000000001}"#).unwrap();
    assert_eq!(
        d.published_at.unwrap().to_rfc3339(),
        "1966-10-31T22:13:19.999+08:00"
    );
    assert_eq!(d.published_at.unwrap().timestamp_millis(), -100_000_000_001);
    assert_round_trip(&d);
    let e = parse_json_line(br#"{"id":"a","published_at":-9223372036854775808}"#).unwrap_err();
    assert!(e.contains("out of range"), "{e}");
}

/// fuzz target `html`: two candidates with the same score were picked in the random order
/// of a hash map, so the same page gave different article texts from one call to the next.
#[test]
fn main_text_of_equal_scores_is_the_same_every_time() {
    let input = String::from_utf8_lossy(&fixture("html-equal-scores.html")).into_owned();
    // As the target built the page: selector line dropped, a marked script appended.
    let page = input.split_once('\n').map_or(input.as_str(), |(_, p)| p);
    let html = format!("{page}<script>fuzzscriptmarker</script>");
    let first = extract_main_text(&html);
    for _ in 0..20 {
        assert_eq!(extract_main_text(&html), first);
        assert_eq!(
            extract_article(&html, &ArticleSelectors::default()).text,
            first
        );
    }
    assert!(
        first.contains("某市市场监督管理局发布情况通报"),
        "{first:?}"
    );
}

/// The CSV entry point the `csv` target fuzzes reads like `yuqing import`: locations
/// `file:LINE`, bad rows reported, good rows kept.
#[test]
fn csv_rows_are_read_with_their_lines() {
    let rows = parse_csv(
        "x.csv",
        "id,text,followers\n1,你好,3\n2,\"多\n行\",1.2万\n3,ok,\n".as_bytes(),
    );
    let locs: Vec<&str> = rows.iter().map(|(l, _)| l.as_str()).collect();
    assert_eq!(locs, ["x.csv:2", "x.csv:3", "x.csv:5"]);
    assert_eq!(rows[0].1.as_ref().unwrap().text, "你好");
    assert!(rows[1].1.as_ref().unwrap_err().contains("invalid CSV row"));
    assert_eq!(rows[2].1.as_ref().unwrap().id.as_deref(), Some("3"));
}

/// fuzz target `html`: the main text held a `<script>`'s code. The chosen element was
/// turned back into HTML and stripped of tags; an attribute value holding `<` and `>` is
/// written back unescaped, so the tag stripper ended a tag inside it and read what followed,
/// the script included, as text. The main text is now read from the parsed DOM.
#[test]
fn html_main_text_never_holds_script_code_behind_an_attribute_with_angle_brackets() {
    let data = fixture("html-script-behind-an-attribute-with-angle-brackets.html");
    let s = String::from_utf8_lossy(&data);
    // As the target feeds it: the first line is a selector, a marked script appended.
    let (_, page) = s.split_once('\n').expect("two lines");
    let html = format!("{page}<script>fuzzscriptmarker</script>");
    let main = extract_main_text(&html);
    assert!(!main.contains("fuzzscriptmarker"), "{main:?}");
    assert!(!main.contains("document.createEleme"), "{main:?}");
    // (Its "今天是2023年12月31日" sits inside an attribute value, not in the text.)
    assert!(!main.contains("2023年12月31日"), "{main:?}");
    // The same shape, written plainly.
    let html = "<html><body><div><p>某县召开防汛工作会议，部署汛期各项工作。\
        <a title=\"a<b>c\">链接</a><script>var secret = 1;</script>会议要求各部门值守。</p>\
        </div></body></html>";
    let main = extract_main_text(html);
    assert!(!main.contains("secret"), "{main:?}");
    assert!(main.contains("会议要求各部门值守"), "{main:?}");
    assert_eq!(
        extract_article(html, &ArticleSelectors::default()).text,
        main
    );
    // A configured text selector reads its elements the same way.
    let chosen = ArticleSelectors {
        text: Some("div".into()),
        ..Default::default()
    };
    let picked = extract_article(html, &chosen).text;
    assert!(
        !picked.contains("secret") && picked.contains("会议要求各部门值守"),
        "{picked:?}"
    );
}

/// fuzz target `html`: a script's code weighed in choosing the main text. The page ends
/// in `<p>/html>`, and the appended `<script>` landed inside that paragraph: its code
/// lifted the paragraph past the 10-character floor, so it won, and the main text was
/// that line instead of the page's body (the marker found in it was the page's own text).
/// Paragraph lengths and link density now count only the text a reader sees.
#[test]
fn a_scripts_code_does_not_choose_the_main_text() {
    let data = fixture("html-script-in-a-short-paragraph.html");
    let s = String::from_utf8_lossy(&data);
    let (_, page) = s.split_once('\n').expect("two lines");
    let with_code = extract_main_text(&format!("{page}<script>fuzzscriptmarker</script>"));
    let empty = extract_main_text(&format!("{page}<script></script>"));
    assert_eq!(with_code, empty);
    assert!(with_code.contains("第二条"), "{with_code:?}");
    // The same, written plainly: a long script in a short paragraph beside the article.
    let article = "<div class=\"content\"><p>某县召开防汛工作会议，部署汛期各项工作，要求各部门24小时值守。</p></div>";
    let html = |code: &str| {
        format!("<html><body>{article}<div><p>分享<script>{code}</script></p></div></body></html>")
    };
    let code = "var config = {tracker: 'https://stats.example.com/collect', sample: 0.25};";
    let main = extract_main_text(&html(code));
    assert_eq!(main, extract_main_text(&html("")));
    assert!(
        main.contains("防汛工作会议") && !main.contains("tracker"),
        "{main:?}"
    );
}

/// fuzz target `mail`: mail-parser 0.11.9 subtracts past zero in its quoted-printable
/// decoder when a boundary follows (a panic with overflow checks, as in debug builds).
/// Such a letter would have failed its mailbox's poll at every round, the cursor never
/// passing it. Now the message is kept as its raw text, marked `unparsed`.
#[test]
fn mail_the_parser_panics_on_is_kept_as_raw_text() {
    let raw = fixture("mail-quoted-printable-before-a-boundary.eml");
    let meta = MessageMeta {
        mailbox: "INBOX".into(),
        uidvalidity: 7,
        uid: 42,
        size: Some(raw.len() as u32),
        received: chrono::DateTime::parse_from_rfc3339("2026-11-23T09:05:00+08:00").ok(),
        truncated: false,
    };
    let doc = message_to_document(&raw, &meta, "mayor", "email");
    assert!(doc.validate(1 << 20).is_ok());
    assert_round_trip(&doc);
    if cfg!(debug_assertions) {
        // The parser's panic path (release builds wrap and parse it).
        assert_eq!(doc.extra["unparsed"], true, "{doc:?}");
        assert_eq!(doc.id.as_deref(), Some("mayor#7.42"));
        assert!(doc.text.contains("resident@example"), "{:?}", doc.text);
    }
}
