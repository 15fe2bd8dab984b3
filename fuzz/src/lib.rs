//! Checks shared by the fuzz targets in `fuzz_targets/`. Each one asserts a property the
//! code or its spec promises, never a guess: a failed assertion is a crash libFuzzer keeps.

use yuqing_core::Document;

/// `docs/specs/document-format.md` §10: exporting a document and importing it again gives
/// the same fields. Export is the document's `Serialize`; import is `parse_json_line`.
pub fn assert_round_trip(doc: &Document) {
    let json = serde_json::to_string(doc).expect("a document always serialises");
    match yuqing_ingest::import::parse_json_line(json.as_bytes()) {
        Ok(back) => assert_eq!(&back, doc, "export → import changed the document: {json}"),
        Err(e) => panic!("an exported document does not import again: {e}\n{json}"),
    }
}

/// The contract of the sources' `tidy_text` (every extracted title and text goes through
/// it): lines trimmed, runs of whitespace folded to one space, no empty lines.
pub fn assert_tidy(what: &str, text: &str) {
    if text.is_empty() {
        return;
    }
    for line in text.split('\n') {
        assert!(!line.is_empty(), "{what}: empty line in {text:?}");
        assert!(
            !line.starts_with(' ') && !line.ends_with(' ') && !line.contains("  "),
            "{what}: untrimmed or unfolded spaces in line {line:?}"
        );
        assert!(
            !line.chars().any(|c| c.is_whitespace() && c != ' '),
            "{what}: whitespace other than a single space in line {line:?}"
        );
    }
}
