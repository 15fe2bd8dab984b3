//! One JSON line of a JSONL import (`yuqing_ingest::import::parse_json_line`, also what the
//! push endpoint reads per NDJSON line).
//!
//! Asserted: nothing panics (parse, `validate`); a parsed document exports and imports
//! again unchanged (`docs/specs/document-format.md` §10).

#![no_main]

use libfuzzer_sys::fuzz_target;
use yuqing_core::document::DEFAULT_MAX_TEXT_BYTES;

fuzz_target!(|data: &[u8]| {
    if let Ok(doc) = yuqing_ingest::import::parse_json_line(data) {
        let _ = doc.validate(DEFAULT_MAX_TEXT_BYTES);
        yuqing_fuzz::assert_round_trip(&doc);
    }
});
