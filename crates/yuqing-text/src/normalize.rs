//! Normalisation for matching: what `count`, search and plans compare against.
//!
//! Steps, in order: HTML tags stripped and entities decoded (only when the text looks like
//! HTML), NFKC (full-width → half-width, compatibility forms folded), lower case,
//! zero-width characters removed, whitespace folded to one space and trimmed, and finally
//! traditional → simplified Chinese with mainland vocabulary (zhconv's zh-CN tables: 網路 → 网络).
//! The fast path (ASCII and common CJK) avoids the NFKC machinery entirely.

use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

static FOLD_TRADITIONAL: AtomicBool = AtomicBool::new(true);

/// Turns traditional → simplified folding on or off for this process (config
/// `[text] fold_traditional`, default on). Everything that matches text (index, count,
/// plans) must run with the same setting; the index records it and refuses a mismatch.
pub fn set_fold_traditional(on: bool) {
    FOLD_TRADITIONAL.store(on, Ordering::Relaxed);
}

/// Whether traditional → simplified folding is on.
pub fn fold_traditional() -> bool {
    FOLD_TRADITIONAL.load(Ordering::Relaxed)
}
use unicode_normalization::UnicodeNormalization;
use unicode_normalization::char::is_combining_mark;
use zhconv::{Variant, ZhConverter, get_builtin_converter};

fn hans() -> &'static ZhConverter {
    static C: OnceLock<&'static ZhConverter> = OnceLock::new();
    C.get_or_init(|| get_builtin_converter(Variant::ZhCN))
}

/// Normalised form of `text` for matching. See the module docs for the steps.
pub fn normalize(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    normalize_into(text, &mut out);
    out
}

/// [`normalize`] into a reusable buffer (cleared first).
pub fn normalize_into(text: &str, out: &mut String) {
    out.clear();
    let stripped;
    let text = if looks_like_html(text) {
        stripped = html_to_text(text);
        stripped.as_str()
    } else {
        text
    };
    let mut folded = String::with_capacity(text.len());
    fold_chars(text, &mut folded);
    if fold_traditional() && needs_zhconv(&folded) {
        hans().convert_to(&folded, out);
    } else {
        std::mem::swap(out, &mut folded);
    }
}

/// True if any character could be traditional Chinese (outside ASCII), so zhconv must run.
fn needs_zhconv(s: &str) -> bool {
    // zhconv only changes CJK characters; ASCII-only text never changes.
    !s.is_ascii()
}

fn fold_chars(text: &str, out: &mut String) {
    let mut pending_space = false;
    // A combining sequence (a starter and the marks after it) is normalised as a whole
    // once it ends, so that NFKC composes and orders all its marks: normalising each mark
    // with only the char before it left three or more marks partly ordered, and a second
    // pass changed them (found by the `plan` fuzz target). `marks_from` is where the
    // sequence starts in `out` while marks are pending; each sequence is normalised once,
    // so the work stays linear however many marks a text holds. Characters that are
    // dropped (controls, zero-width) do not end a sequence: the next pass does not see
    // them either.
    let mut marks_from: Option<usize> = None;
    for c in text.chars() {
        if let Some(start) = marks_from
            && !is_combining_mark(c)
            && !is_dropped(c)
        {
            normalize_tail(out, start);
            marks_from = None;
        }
        if c.is_whitespace() {
            pending_space = !out.is_empty();
            continue;
        }
        if c.is_ascii() {
            if c.is_ascii_control() {
                continue;
            }
            if pending_space {
                push_space(out);
                pending_space = false;
            }
            out.push(c.to_ascii_lowercase());
            continue;
        }
        if is_dropped(c) {
            continue;
        }
        if pending_space {
            push_space(out);
            pending_space = false;
        }
        if is_cjk_unified(c) {
            out.push(c);
            continue;
        }
        // Slow path: NFKC of this character (combining marks wait for the end of their
        // sequence), then lower case. Full-width forms land here.
        if is_combining_mark(c) {
            // Compose with the char before when possible: kept as it is until the
            // sequence ends.
            if marks_from.is_none() {
                marks_from = Some(out.char_indices().last().map_or(out.len(), |(i, _)| i));
            }
            out.push(c);
            continue;
        }
        for n in std::iter::once(c).nfkc() {
            if n.is_whitespace() {
                pending_space = !out.is_empty();
                continue;
            }
            if pending_space {
                push_space(out);
                pending_space = false;
            }
            for l in n.to_lowercase() {
                out.push(l);
            }
        }
    }
    if let Some(start) = marks_from {
        normalize_tail(out, start);
    }
}

/// Characters the folding drops: ASCII controls other than whitespace, zero-width
/// characters and the soft hyphen.
fn is_dropped(c: char) -> bool {
    (c.is_ascii_control() && !c.is_whitespace())
        || matches!(
            c,
            '\u{200B}'..='\u{200D}' | '\u{2060}' | '\u{FEFF}' | '\u{00AD}'
        )
}

/// Replaces `out[start..]` by its NFKC form.
fn normalize_tail(out: &mut String, start: usize) {
    let tail: String = out[start..].nfkc().collect();
    out.truncate(start);
    out.push_str(&tail);
}

/// One space between words: none if `out` already ends with one (NFKC of a character
/// such as ˙ U+02D9 begins with a space, which may follow a space of the text).
fn push_space(out: &mut String) {
    if !out.ends_with(' ') {
        out.push(' ');
    }
}

fn is_cjk_unified(c: char) -> bool {
    matches!(c, '\u{4E00}'..='\u{9FFF}' | '\u{3400}'..='\u{4DBF}' | '\u{20000}'..='\u{2FFFF}')
}

/// True when `text` contains something that looks like a tag or an entity.
pub fn looks_like_html(text: &str) -> bool {
    let b = text.as_bytes();
    b.windows(2)
        .any(|w| w[0] == b'<' && (w[1].is_ascii_alphabetic() || w[1] == b'/' || w[1] == b'!'))
        || (text.contains('&') && text.contains(';'))
}

/// True for the elements whose start and end are line breaks in plain text (paragraphs,
/// blocks, list items, table rows, headings).
pub fn breaks_line(name: &str) -> bool {
    matches!(
        name,
        "p" | "br"
            | "div"
            | "li"
            | "tr"
            | "h1"
            | "h2"
            | "h3"
            | "h4"
            | "h5"
            | "h6"
            | "section"
            | "article"
            | "blockquote"
            | "pre"
            | "table"
            | "ul"
            | "ol"
    )
}

/// Plain text of an HTML fragment: tags removed (block tags become line breaks), the
/// contents of `script`, `style` and comments dropped, entities decoded.
pub fn html_to_text(html: &str) -> String {
    let mut out = String::with_capacity(html.len());
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        out.push_str(&rest[..lt]);
        rest = &rest[lt..];
        if rest.starts_with("<!--") {
            rest = rest.find("-->").map_or("", |e| &rest[e + 3..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            // A lone '<' is text.
            out.push_str(rest);
            rest = "";
            break;
        };
        let tag = &rest[1..gt];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric())
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if name.is_empty() && !tag.starts_with('!') && !tag.starts_with('/') {
            // "a < b" style text, not a tag.
            out.push('<');
            rest = &rest[1..];
            continue;
        }
        rest = &rest[gt + 1..];
        if (name == "script" || name == "style") && !tag.starts_with('/') {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = lower.find(&close).map_or("", |i| {
                let after = &rest[i..];
                after.find('>').map_or("", |g| &after[g + 1..])
            });
            continue;
        }
        if breaks_line(&name) {
            out.push('\n');
        }
    }
    out.push_str(rest);
    html_escape::decode_html_entities(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn full_width_to_half_width_and_lower_case() {
        assert_eq!(normalize("ＡＢＣ１２３！"), "abc123!");
        assert_eq!(normalize("Weibo\u{3000}微博"), "weibo 微博");
    }

    /// Found by the plan fuzz target: three or more combining marks after one character
    /// were normalised a pair at a time, so their order was not NFKC's and normalising
    /// again changed it (a plan's canonical form was not stable).
    #[test]
    fn a_combining_sequence_is_normalised_as_a_whole() {
        use unicode_normalization::UnicodeNormalization;
        for text in [
            "ar\u{7f1}\u{595}\u{7f1}\u{5ba}ar b",
            "a\u{5ba}\u{7f1}\u{595}\u{7f1}",
            // Dropped characters inside the sequence do not split it.
            "a\u{7f1}\u{200d}\u{595}\u{7f1}\u{1}\u{5ba}",
            "医\u{7f1}\u{595}\u{7f1}\u{5ba} x",
        ] {
            let once = normalize(text);
            assert_eq!(normalize(&once), once, "{text:?}");
            assert_eq!(
                once.nfkc().collect::<String>(),
                once,
                "{text:?} -> {once:?}"
            );
        }
        // Composition still happens: e + acute is é.
        assert_eq!(normalize("Cafe\u{301}"), "caf\u{e9}");
        // A long run of marks is one sequence (linear work), and stable.
        let long = format!("a{}", "\u{301}\u{5ba}".repeat(5000));
        let once = normalize(&long);
        assert_eq!(normalize(&once), once);
    }

    /// Found by the plan fuzz target: ˙ (U+02D9) is a space and a combining dot under
    /// NFKC; after a line break it made two spaces, and normalising again one, so a
    /// plan's canonical form was not stable.
    #[test]
    fn a_space_from_nfkc_after_a_space_is_one_space() {
        for text in [
            "医<p>\u{2d9}\u{fffd}",
            "医 \u{2d9}",
            "医\n\u{2d9}x",
            "a \u{2d9} b",
        ] {
            let once = normalize(text);
            assert!(!once.contains("  "), "{text:?} -> {once:?}");
            assert_eq!(normalize(&once), once, "{text:?}");
        }
        assert_eq!(normalize("医 \u{2d9}"), "医 \u{307}");
        let plan = crate::plan::Plan::parse("医<p>\u{2d9}\u{fffd}").expect("plan");
        let canonical = plan.expression();
        let again = crate::plan::Plan::parse(&canonical).expect("canonical");
        assert_eq!(again.expression(), canonical);
    }

    #[test]
    fn traditional_to_simplified() {
        assert_eq!(normalize("網路謠言"), "网络谣言");
        assert_eq!(normalize("天哪。。[淚][蠟燭]"), "天哪。。[泪][蜡烛]");
    }

    #[test]
    fn whitespace_folded_and_trimmed() {
        assert_eq!(normalize("  a \n\t b  "), "a b");
        assert_eq!(normalize("a\u{200B}b"), "ab");
    }

    #[test]
    fn html_stripped_and_entities_decoded() {
        assert_eq!(
            normalize("<p>北京&amp;上海</p><script>var x=1;</script><b>大学</b>"),
            "北京&上海 大学"
        );
        assert_eq!(html_to_text("a < b and c > d"), "a < b and c > d");
        assert_eq!(normalize("&lt;b&gt;"), "<b>");
    }

    #[test]
    fn matches_nfkc_lower_on_ordinary_text() {
        for s in [
            "北京大学出版社",
            "iPhone 15 Pro",
            "转发微博//@张三:哈哈",
            "①②③",
            "㎡",
        ] {
            let want: String = s.nfkc().collect::<String>().to_lowercase();
            assert_eq!(normalize(s), want, "{s}");
        }
    }

    #[test]
    fn combining_marks_compose() {
        assert_eq!(normalize("e\u{301}"), "é");
    }
}
