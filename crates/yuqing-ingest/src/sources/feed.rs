//! Feed sources: RSS 0.9x, RSS 1.0 (RDF), RSS 2.0, Atom and JSON Feed (RSSHub routes are
//! RSS), parsed with feed-rs.
//!
//! [`parse_feed`] turns feed bytes into documents; it is also what `yuqing import --format
//! rss` uses. The bytes are decoded first (so GBK/Big5 feeds work whatever their XML
//! declaration says), and HTML served where a feed was expected is reported as such.
//!
//! Document ids: the item's guid / Atom id when it is globally unique-looking (a URL, `urn:`
//! or `tag:`); a short guid such as `12345` is prefixed with the source name
//! (`mysource#12345`) so two feeds cannot collide; without a guid, the item link; without
//! both, `xxh3:<hash of title, date and content>`, stable across parses.

use chrono::Utc;
use serde_json::{Value, json};
use yuqing_core::document::beijing;
use yuqing_core::{Author, Document, Kind};

use super::http::{FetchOutcome, decode_body};
use super::{
    Poll, Seen, Source, SourceError, blocking, content_id, cursor_validators, parse_loose_time,
    tidy_text,
};

/// Parses a feed file or body into documents (newest first, as the feed lists them).
/// `source_name` goes into `document.source` and error messages; `platform` into
/// `document.platform`.
pub fn parse_feed(
    bytes: &[u8],
    source_name: &str,
    platform: &str,
) -> Result<Vec<Document>, SourceError> {
    parse_feed_at(bytes, None, source_name, platform, None)
}

/// [`parse_feed`] for a fetched body: `content_type` helps decoding, `url` resolves relative
/// links and names the feed in errors.
pub(crate) fn parse_feed_at(
    bytes: &[u8],
    content_type: Option<&str>,
    source_name: &str,
    platform: &str,
    url: Option<&str>,
) -> Result<Vec<Document>, SourceError> {
    let shown_url = url.unwrap_or("-");
    let (text, _enc) = decode_body(bytes, content_type);
    let text = rewrite_xml_declaration(text.trim_start_matches('\u{feff}'));
    if looks_like_html(&text) {
        return Err(SourceError::NotAFeedHtml {
            source_name: source_name.to_owned(),
            url: shown_url.to_owned(),
        });
    }
    let parser = feed_rs::parser::Builder::new()
        .base_uri(url)
        // Keep missing ids empty: we derive our own stable ones below.
        .id_generator(|_, _, _| String::new())
        .sanitize_content(false)
        .timestamp_parser(|s| parse_loose_time(s).map(|t| t.with_timezone(&Utc)))
        .build();
    let feed = parser.parse(text.as_bytes()).map_err(|e| {
        if text.to_ascii_lowercase().contains("<html") {
            SourceError::NotAFeedHtml {
                source_name: source_name.to_owned(),
                url: shown_url.to_owned(),
            }
        } else {
            SourceError::NotAFeed {
                source_name: source_name.to_owned(),
                url: shown_url.to_owned(),
                reason: e.to_string(),
            }
        }
    })?;
    Ok(feed
        .entries
        .into_iter()
        .map(|e| entry_to_document(e, source_name, platform))
        .collect())
}

const UTF8_DECLARATION: &str = "<?xml version=\"1.0\" encoding=\"utf-8\"?>";

/// We hand feed-rs UTF-8; make every XML declaration say so. Only one at the very start is
/// valid XML, but quick-xml reads `<?xml …?>` wherever its tokeniser meets one in broken
/// input, and one that names another encoding garbles the rest or, once the reader is past
/// the first 64 bytes, panics in quick-xml (`set_encoding() called after prefix buffer was
/// drained`). So every one is rewritten, even in CDATA or a comment, where it is text.
fn rewrite_xml_declaration(text: &str) -> String {
    let mut rest = text.trim_start();
    let mut out = String::with_capacity(rest.len());
    while let Some(at) = rest.find("<?xml") {
        let after = &rest[at + 5..];
        // quick-xml's test: `xml`, then the end of the instruction or whitespace.
        let declaration = after.starts_with("?>") || after.starts_with([' ', '\t', '\r', '\n']);
        match after.find("?>") {
            Some(end) if declaration => {
                out.push_str(&rest[..at]);
                out.push_str(UTF8_DECLARATION);
                rest = &after[end + 2..];
            }
            _ => {
                out.push_str(&rest[..at + 5]);
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

/// True when the body is an HTML page rather than a feed.
fn looks_like_html(text: &str) -> bool {
    let head: String = text
        .trim_start()
        .chars()
        .take(1024)
        .collect::<String>()
        .to_ascii_lowercase();
    let mut rest = head.as_str();
    // Skip comments before the first element.
    while let Some(r) = rest.strip_prefix("<!--") {
        rest = r.find("-->").map_or("", |e| r[e + 3..].trim_start());
    }
    if rest.starts_with("<!doctype html") || rest.starts_with("<html") || rest.starts_with("<head")
    {
        return true;
    }
    // A body that is neither XML nor JSON but mentions <html> or <body>.
    !(rest.starts_with('<') || rest.starts_with('{'))
        && (head.contains("<html") || head.contains("<body"))
}

fn is_global_id(id: &str) -> bool {
    id.contains("://") || id.starts_with("urn:") || id.starts_with("tag:")
}

fn entry_to_document(entry: feed_rs::model::Entry, source_name: &str, platform: &str) -> Document {
    let link = entry
        .links
        .iter()
        .find(|l| l.rel.as_deref().is_none_or(|r| r == "alternate"))
        .or(entry.links.first())
        .map(|l| l.href.trim().to_owned())
        .filter(|h| !h.is_empty());
    let title = entry
        .title
        .as_ref()
        .map(|t| tidy_text(&yuqing_text::html_to_text(&t.content)))
        .filter(|t| !t.is_empty());
    let body_html = entry
        .content
        .as_ref()
        .and_then(|c| c.body.clone())
        .filter(|b| !b.trim().is_empty())
        .or_else(|| entry.summary.as_ref().map(|s| s.content.clone()))
        .unwrap_or_default();
    let text = tidy_text(&yuqing_text::html_to_text(&body_html));
    let published_at = entry
        .published
        .or(entry.updated)
        .map(|t| t.with_timezone(&beijing()));
    let guid = entry.id.trim();
    let id = if !guid.is_empty() {
        if is_global_id(guid) {
            guid.to_owned()
        } else {
            format!("{source_name}#{guid}")
        }
    } else if let Some(l) = &link {
        l.clone()
    } else {
        let date = published_at.map(|t| t.to_rfc3339()).unwrap_or_default();
        content_id(&[title.as_deref().unwrap_or(""), &date, &body_html])
    };
    let author = entry
        .authors
        .iter()
        .filter_map(|p| p.name.as_deref().map(str::trim))
        .find(|n| !n.is_empty())
        .map(|n| Author {
            name: Some(n.to_owned()),
            ..Default::default()
        });
    let mut extra = serde_json::Map::new();
    let categories: Vec<Value> = entry
        .categories
        .iter()
        .map(|c| Value::from(c.term.clone()))
        .collect();
    if !categories.is_empty() {
        extra.insert("categories".into(), Value::from(categories));
    }
    Document {
        id: Some(id),
        platform: platform.to_owned(),
        kind: Kind::Article,
        url: link,
        title,
        text,
        published_at,
        author,
        source: Some(source_name.to_owned()),
        extra,
        ..Default::default()
    }
}

/// One poll of a feed source: conditional GET, parse, keep unseen items.
pub(super) async fn poll(src: &Source, cursor: Option<&Value>) -> Result<Poll, SourceError> {
    let validators = cursor_validators(cursor);
    let fetched = match src.fetcher.get(&src.url, Some(&validators)).await? {
        FetchOutcome::NotModified => {
            return Ok(Poll {
                documents: Vec::new(),
                cursor: cursor.cloned().unwrap_or_else(|| json!({"v": 1})),
                not_modified: true,
            });
        }
        FetchOutcome::Fetched(f) => f,
    };
    let (name, platform) = (src.name.clone(), src.platform.clone());
    let final_url = fetched.url.to_string();
    let body = fetched.body.clone();
    let ct = fetched.content_type.clone();
    let docs = blocking(&src.name, move || {
        parse_feed_at(&body, ct.as_deref(), &name, &platform, Some(&final_url))
    })
    .await??;
    let seen = Seen::from_cursor(cursor);
    let all_ids: Vec<String> = docs.iter().filter_map(|d| d.id.clone()).collect();
    let documents: Vec<Document> = docs
        .into_iter()
        .filter(|d| d.id.as_deref().is_none_or(|id| !seen.contains(id)))
        .collect();
    let mut next = json!({"v": 1, "seen": seen.updated(all_ids)});
    if let Some(e) = fetched.validators.etag {
        next["etag"] = Value::from(e);
    }
    if let Some(l) = fetched.validators.last_modified {
        next["last_modified"] = Value::from(l);
    }
    Ok(Poll {
        documents,
        cursor: next,
        not_modified: false,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn html_is_recognised() {
        assert!(looks_like_html(
            "<!DOCTYPE html><html><body>x</body></html>"
        ));
        assert!(looks_like_html("  <!-- hi --><html lang=zh>"));
        assert!(!looks_like_html(
            "<?xml version=\"1.0\"?><rss version=\"2.0\"></rss>"
        ));
        assert!(!looks_like_html(
            "<rss><channel><description>&lt;html&gt;</description></channel></rss>"
        ));
    }

    #[test]
    fn declaration_is_rewritten() {
        assert_eq!(
            rewrite_xml_declaration("<?xml version=\"1.0\" encoding=\"GBK\"?><rss/>"),
            "<?xml version=\"1.0\" encoding=\"utf-8\"?><rss/>"
        );
        // Later ones too, wherever they are; other instructions stay.
        assert_eq!(
            rewrite_xml_declaration(
                "<?xml-stylesheet href=\"a\"?><rss><a>x<?xml encoding=\"GBK\"?></a>\
                 <![CDATA[<?xml\tencoding='GBK' ?>]]><!-- <?xml?> --><?xmlx?></rss>"
            ),
            "<?xml-stylesheet href=\"a\"?><rss><a>x<?xml version=\"1.0\" encoding=\"utf-8\"?></a>\
             <![CDATA[<?xml version=\"1.0\" encoding=\"utf-8\"?>]]>\
             <!-- <?xml version=\"1.0\" encoding=\"utf-8\"?> --><?xmlx?></rss>"
        );
    }
}
