//! Preparing a document for storage: validate, normalise, derive identity and fingerprints.

use crate::transforms::judge::{Judge, Judged};
use yuqing_core::{Document, DocumentError};
use yuqing_text::{fingerprint, normalize, url::canonicalize};

/// A validated document with everything derived from it that does not need the store.
#[derive(Debug, Clone)]
pub struct Prepared {
    pub doc: Document,
    /// Identity within the platform: the document's id, or `url:<hash>` from its URL.
    pub id: String,
    pub url_canonical: Option<String>,
    pub site: Option<String>,
    /// Normalised title and text, for the index and for matching.
    pub norm_title: String,
    pub norm_text: String,
    /// Letters, digits and ideographs in the grouping text.
    pub significant: usize,
    /// SimHash of the grouping text (0 when empty).
    pub simhash: u64,
    /// Where the document came from (`file:line`, URL, …), for messages.
    pub location: String,
    /// Sentiment, content type, plan hits … (see [`Judge`]).
    pub judged: Judged,
    /// The store's JSON columns, encoded here rather than in the writer.
    pub encoded: yuqing_store::EncodedJson,
}

impl Prepared {
    /// The normalised text grouping compares: the text, or the title when there is none.
    pub fn group_text(&self) -> &str {
        if self.norm_text.is_empty() {
            &self.norm_title
        } else {
            &self.norm_text
        }
    }
}

/// Validates, prepares and judges one document.
pub fn prepare(
    doc: Document,
    location: String,
    max_text_bytes: usize,
    judge: &Judge,
) -> Result<Prepared, DocumentError> {
    doc.validate(max_text_bytes)?;
    let url_canonical = doc.url.as_deref().and_then(canonicalize);
    let id = match (&doc.id, &url_canonical) {
        (Some(id), _) => id.trim().to_owned(),
        (None, Some(u)) => format!("url:{:016x}", xxhash_rust::xxh3::xxh3_64(u.as_bytes())),
        (None, None) => return Err(DocumentError::MissingIdentity),
    };
    let site = url_canonical
        .as_deref()
        .and_then(|u| url::Url::parse(u).ok())
        .and_then(|u| {
            u.host_str()
                .map(|h| h.trim_start_matches("www.").to_owned())
        });
    let norm_title = doc.title.as_deref().map(normalize).unwrap_or_default();
    let norm_text = normalize(&doc.text);
    let mut p = Prepared {
        doc,
        id,
        url_canonical,
        site,
        norm_title,
        norm_text,
        significant: 0,
        simhash: 0,
        location,
        judged: Judged::default(),
        encoded: Default::default(),
    };
    let g = p.group_text();
    let significant = fingerprint::significant_chars(g);
    let simhash = if significant > 0 {
        fingerprint::simhash(g)
    } else {
        0
    };
    p.significant = significant;
    p.simhash = simhash;
    p.judged = judge.judge(&p);
    p.encoded = yuqing_store::EncodedJson::of(&p.doc);
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_only_documents_get_a_stable_id() {
        let mut d = Document {
            platform: "news".into(),
            ..Default::default()
        };
        d.url = Some("https://Example.com/a?utm_source=x".into());
        let a = prepare(d.clone(), "t".into(), 1 << 20, &Judge::builtin()).unwrap();
        d.url = Some("https://example.com/a#frag".into());
        let b = prepare(d, "t".into(), 1 << 20, &Judge::builtin()).unwrap();
        assert_eq!(a.id, b.id);
        assert!(a.id.starts_with("url:"));
        assert_eq!(a.site.as_deref(), Some("example.com"));
    }

    #[test]
    fn normalises_text_and_keeps_original() {
        let mut d = Document::new("weibo", "1");
        d.text = "網路ＡＢＣ".into();
        let p = prepare(d, "t".into(), 1 << 20, &Judge::builtin()).unwrap();
        assert_eq!(p.norm_text, "网络abc");
        assert_eq!(p.doc.text, "網路ＡＢＣ");
    }
}
