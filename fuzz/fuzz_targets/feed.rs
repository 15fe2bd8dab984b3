//! A feed body or file (`yuqing_ingest::sources::feed::parse_feed`): RSS 0.9x/1.0/2.0,
//! Atom, JSON Feed, in any encoding, or HTML where a feed was expected.
//!
//! Asserted (`docs/specs/document-format.md` §9 and the module docs of `feed.rs`): nothing
//! panics; every document has a non-blank id, the given platform and source, kind
//! `article`; a title, when there is one, is not empty; title and text are tidied (lines
//! trimmed, spaces folded, no empty lines); each document exports and imports again
//! unchanged (§10).

#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_core::Kind;

fuzz_target!(|data: &[u8]| {
    let Ok(docs) = yuqing_ingest::sources::feed::parse_feed(data, "fuzz", "news") else {
        return;
    };
    for doc in &docs {
        assert!(
            doc.id.as_deref().is_some_and(|id| !id.trim().is_empty()),
            "feed document without an id: {doc:?}"
        );
        assert_eq!(doc.platform, "news");
        assert_eq!(doc.source.as_deref(), Some("fuzz"));
        assert_eq!(doc.kind, Kind::Article);
        if let Some(title) = &doc.title {
            assert!(!title.is_empty(), "empty title kept: {doc:?}");
            yuqing_fuzz::assert_tidy("feed title", title);
        }
        yuqing_fuzz::assert_tidy("feed text", &doc.text);
        yuqing_fuzz::assert_round_trip(doc);
    }
});
