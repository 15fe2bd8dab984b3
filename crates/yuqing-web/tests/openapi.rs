//! The OpenAPI document (`assets/openapi.json`, made by `tools/openapi.py`) describes
//! every `/api/v1` route of the router, and nothing that is not routed.

use std::collections::BTreeSet;

fn routed() -> BTreeSet<String> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/src");
    let mut text = std::fs::read_to_string(format!("{dir}/api.rs")).expect("api.rs");
    for e in std::fs::read_dir(format!("{dir}/api"))
        .expect("api dir")
        .flatten()
    {
        text.push_str(&std::fs::read_to_string(e.path()).expect("api module"));
    }
    let mut out = BTreeSet::new();
    let mut rest = text.as_str();
    while let Some(i) = rest.find(".route(") {
        rest = &rest[i + 7..];
        let trimmed = rest.trim_start();
        if let Some(s) = trimmed.strip_prefix('"')
            && let Some(end) = s.find('"')
            && s[..end].starts_with("/api/v1/")
        {
            out.insert(s[..end].to_owned());
        }
    }
    out
}

#[test]
fn every_route_is_documented_and_nothing_else() {
    let spec: serde_json::Value =
        serde_json::from_str(include_str!("../assets/openapi.json")).expect("openapi.json is JSON");
    assert_eq!(spec["openapi"], "3.1.0");
    let documented: BTreeSet<String> = spec["paths"]
        .as_object()
        .expect("paths")
        .keys()
        .filter(|p| p.starts_with("/api/v1/"))
        .cloned()
        .collect();
    let routed = routed();
    assert!(routed.len() > 30, "found the routes: {routed:?}");
    let missing: Vec<_> = routed.difference(&documented).collect();
    let extra: Vec<_> = documented.difference(&routed).collect();
    assert!(
        missing.is_empty() && extra.is_empty(),
        "run python3 tools/openapi.py after adding the routes to its table.\nrouted but not documented: {missing:?}\ndocumented but not routed: {extra:?}"
    );
}
