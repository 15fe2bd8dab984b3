//! The web source's HTML readers (`yuqing_ingest::sources::web`): `extract_main_text`,
//! `extract_article` and `extract_links`.
//!
//! Input: the first line is a CSS selector (used as the link selector and as the article's
//! title/text/time selectors); the rest is the page, to which a `<script>` holding a
//! marker is appended. Invalid UTF-8 is replaced, as the fetcher's decoding would.
//!
//! Asserted (the functions' docs, the module docs of `web.rs`, and `html_to_text`'s
//! "the contents of script, style and comments dropped"):
//! - nothing panics;
//! - extracted texts are tidied (lines trimmed, spaces folded, no empty lines), and the
//!   automatic text of `extract_article` is `extract_main_text`'s;
//! - when the appended `<script>` is a script element of the page's DOM, its content does
//!   not change the main text (the extractor reads the chosen element's text from the DOM
//!   without scripts and styles; titles are taken as they are, so they may hold it);
//! - a title or author, when found, is not empty; an author is not a URL;
//! - links are absolute http(s) URLs without a fragment, distinct after canonicalisation.

#![no_main]

use std::collections::HashSet;

use libfuzzer_sys::fuzz_target;
use scraper::{Html, Selector};
use url::Url;
use yuqing_ingest::sources::web::{
    ArticleSelectors, extract_article, extract_links, extract_main_text,
};

const MARKER: &str = "fuzzscriptmarker";

fuzz_target!(|data: &[u8]| {
    let s = String::from_utf8_lossy(data);
    let (selector, page) = s.split_once('\n').unwrap_or(("a", &s));
    let html = format!("{page}<script>{MARKER}</script>");

    let main = extract_main_text(&html);
    yuqing_fuzz::assert_tidy("main text", &main);

    let auto = extract_article(&html, &ArticleSelectors::default());
    assert_eq!(
        auto.text, main,
        "automatic article text differs from extract_main_text"
    );
    let chosen = ArticleSelectors {
        title: Some(selector.to_owned()),
        text: Some(selector.to_owned()),
        time: Some(selector.to_owned()),
    };
    let picked = extract_article(&html, &chosen);
    for a in [&auto, &picked] {
        yuqing_fuzz::assert_tidy("article text", &a.text);
        if let Some(t) = &a.title {
            assert!(!t.is_empty(), "empty title kept");
        }
        if let Some(author) = &a.author {
            assert!(
                !author.is_empty() && !author.contains("://"),
                "bad author {author:?}"
            );
        }
    }

    // Scripts holding the marker in a parsed page: one more in `html` than in `page` means
    // the appended `<script>` is a script element (not swallowed by an open comment,
    // `<textarea>` or the like). Then its content must not reach the main text: the same
    // page with an empty script gives the same text. (Asserting only that the marker is
    // absent was wrong: the page's own text may hold it, as the fuzzer found.)
    let marker_scripts = |h: &str| {
        Selector::parse("script").map_or(0, |sel| {
            Html::parse_document(h)
                .select(&sel)
                .filter(|e| e.text().any(|t| t.contains(MARKER)))
                .count()
        })
    };
    if marker_scripts(&html) > marker_scripts(page) {
        let empty = extract_main_text(&format!("{page}<script></script>"));
        assert_eq!(
            main, empty,
            "the content of a <script> changed the main text"
        );
    }

    let base = Url::parse("https://example.com/news/list.html").expect("valid base");
    if let Ok(links) = extract_links(&html, &base, selector) {
        let mut keys = HashSet::new();
        for l in &links {
            let u = Url::parse(l).unwrap_or_else(|e| panic!("link {l:?} is not a URL: {e}"));
            assert!(
                matches!(u.scheme(), "http" | "https"),
                "link {l:?} is not http(s)"
            );
            assert!(u.fragment().is_none(), "link {l:?} has a fragment");
            let key = yuqing_text::url::canonicalize(l).unwrap_or_else(|| l.clone());
            assert!(
                keys.insert(key),
                "link {l:?} repeated after canonicalisation"
            );
        }
    }
});
