//! Inputs the fuzz targets (`fuzz/`, see docs/security.md "Fuzzing") found, each fed as
//! it was found, with the behaviour now expected. Named after what went wrong.

use yuqing_text::normalize;
use yuqing_text::plan::{MatchInput, Plan};

/// Parses `expr`, and its canonical form again: the same plan (plan-language.md §8).
fn assert_canonical_round_trip(expr: &str) -> Plan {
    let plan = Plan::parse(expr).unwrap_or_else(|e| panic!("{expr:?}: {e}"));
    let canonical = plan.expression();
    let again = Plan::parse(&canonical)
        .unwrap_or_else(|e| panic!("canonical form {canonical:?} of {expr:?}: {e}"));
    assert_eq!(again.expression(), canonical, "{expr:?}");
    assert_eq!(again.terms(), plan.terms(), "{expr:?}");
    plan
}

/// fuzz target `plan`: the term `&quo\0…\u{4}t;` normalises to `&quot;` (HTML is decoded
/// before control characters are dropped), which the canonical form wrote as it was, and
/// which then normalised to `"` and did not parse. Terms that still read as HTML are now
/// written escaped.
#[test]
fn canonical_form_of_a_term_that_still_reads_as_html() {
    // The input as found: tab-separated expressions on the first line, then the document.
    let input = b"\xe5\x8c\x97\xe4\xba\xac\t\xe5\x8c\x97\xe4\xba\xac+\tfoo:bar\ta NEAR b\t\"\"\t\
        &quo\0\0\0\0\0\0\0\x04t;\ttitle:(a|author:b)\n\n\n\n";
    let input = String::from_utf8_lossy(input);
    let first_line = input.split('\n').next().unwrap();
    let parsed: Vec<&str> = first_line
        .split('\t')
        .filter(|e| Plan::parse(e).is_ok())
        .collect();
    assert_eq!(parsed, ["北京", "&quo\0\0\0\0\0\0\0\u{4}t;"]);
    for expr in parsed {
        assert_canonical_round_trip(expr);
    }

    let plan = assert_canonical_round_trip("&quo\0\0\0\0\0\0\0\u{4}t;");
    assert_eq!(plan.terms()[0].text, "&quot;");
    assert_eq!(plan.expression(), "&amp;quot;");
    let text = normalize("say &amp;quot; here");
    assert!(plan.matches(&MatchInput::text(&text)));

    // The same for a tag, an entity written twice, and one inside a phrase.
    for (expr, text, canonical) in [
        ("&amp;lt;b&gt;", "&lt;b>", "&amp;lt;b>"),
        ("\"&lt;b&gt; x\"+北京", "<b> x", "\"&lt;b> x\"+北京"),
        ("a&amp;amp;b;", "a&amp;b;", "a&amp;amp;b;"),
    ] {
        let plan = assert_canonical_round_trip(expr);
        assert_eq!(plan.terms()[0].text, text, "{expr:?}");
        assert_eq!(plan.expression(), canonical, "{expr:?}");
    }
}
