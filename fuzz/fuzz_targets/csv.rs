//! A CSV file as `yuqing import` reads it (`yuqing_ingest::import::parse_csv`, the import's
//! own CSV reader over an in-memory file).
//!
//! Asserted: nothing panics (read, `validate`); every row is reported with a location
//! `file.csv:LINE` (`docs/specs/document-format.md` §7); a row read as a document exports
//! and imports again unchanged (§10).

#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_core::document::DEFAULT_MAX_TEXT_BYTES;

fuzz_target!(|data: &[u8]| {
    for (loc, row) in yuqing_ingest::import::parse_csv("fuzz.csv", data) {
        let line = loc.strip_prefix("fuzz.csv:");
        assert!(
            line.is_some_and(|n| n.parse::<u64>().is_ok()),
            "location {loc:?} is not fuzz.csv:LINE"
        );
        if let Ok(doc) = row {
            let _ = doc.validate(DEFAULT_MAX_TEXT_BYTES);
            yuqing_fuzz::assert_round_trip(&doc);
        }
    }
});
