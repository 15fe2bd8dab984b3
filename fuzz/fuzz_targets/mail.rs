//! A raw e-mail as a mailbox source reads it (`yuqing_ingest::sources::mailbox::
//! message_to_document`): RFC 5322 headers, MIME parts, encoded words, any charset; the
//! sender is anyone who knows the address, so every byte is untrusted.
//!
//! Asserted (the module docs of `mailbox.rs`, docs/sources.md "imap"): nothing panics
//! (a panic inside mail-parser is caught by the mapping, which keeps the raw text);
//! every document has a non-blank id, platform `email`, the source's name and kind
//! `message`, and passes `Document::validate`; a title, when there is one, is one tidy
//! line; the text is tidy; the folder, UIDVALIDITY and UID are in `extra`; a parent or
//! root is never the message itself; each document exports and imports again unchanged.

#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_core::Kind;
use yuqing_ingest::sources::mailbox::{MessageMeta, message_to_document};

/// libFuzzer's hook aborts on every panic, also one that is caught. A panic inside
/// mail-parser is caught by `message_to_document` (which keeps the raw text, see its
/// regression test); only those are let through, so the target keeps finding the other
/// failures, ours included.
fn tolerate_mail_parser_panics() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let fuzzer_hook = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let in_parser = info
                .location()
                .is_some_and(|l| l.file().contains("mail-parser"));
            if !in_parser {
                fuzzer_hook(info);
            }
        }));
    });
}

fuzz_target!(|data: &[u8]| {
    tolerate_mail_parser_panics();
    let meta = MessageMeta {
        mailbox: "INBOX".into(),
        uidvalidity: 7,
        uid: 42,
        size: Some(data.len() as u32),
        received: chrono::DateTime::parse_from_rfc3339("2026-11-23T09:05:00+08:00").ok(),
        truncated: false,
    };
    let doc = message_to_document(data, &meta, "fuzz", "email");
    assert!(
        doc.id.as_deref().is_some_and(|id| !id.trim().is_empty()),
        "mail document without an id: {doc:?}"
    );
    assert_eq!(doc.platform, "email");
    assert_eq!(doc.source.as_deref(), Some("fuzz"));
    assert_eq!(doc.kind, Kind::Message);
    if let Err(e) = doc.validate(yuqing_core::document::DEFAULT_MAX_TEXT_BYTES) {
        panic!("mail document refused by validate: {e}: {doc:?}");
    }
    if let Some(title) = &doc.title {
        assert!(!title.is_empty() && !title.contains('\n'), "title {title:?}");
        yuqing_fuzz::assert_tidy("mail title", title);
    }
    yuqing_fuzz::assert_tidy("mail text", &doc.text);
    assert_eq!(doc.extra["uid"], 42);
    assert_eq!(doc.extra["uidvalidity"], 7);
    assert_eq!(doc.extra["mailbox"], "INBOX");
    assert!(doc.parent_id.is_none() || doc.parent_id != doc.id, "own parent: {doc:?}");
    assert!(doc.root_id.is_none() || doc.root_id != doc.id, "own root: {doc:?}");
    yuqing_fuzz::assert_round_trip(&doc);
});
