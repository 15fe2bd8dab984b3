//! URL canonicalisation: the same page reached through different links gets one key.
//!
//! Lower-cased scheme and host (done by the parser), default port dropped, fragment
//! dropped, tracking parameters removed (`utm_*`, `spm`, `from`, `share_*`, …), remaining
//! query parameters sorted, a trailing `?` removed.

use url::Url;

const TRACKING: &[&str] = &[
    "spm",
    "from",
    "share_from",
    "share_token",
    "sharer",
    "shareid",
    "share_source",
    "fbclid",
    "gclid",
    "dclid",
    "msclkid",
    "yclid",
    "mc_cid",
    "mc_eid",
    "_hsenc",
    "_hsmi",
    "igshid",
    "si",
    "vd_source",
    "scene",
    "srcid",
    "clicktime",
    "enterid",
    "sharer_sharetime",
    "sharer_shareid",
    "ref",
    "ref_src",
    "ref_url",
    "wfr",
    "isappinstalled",
];

fn is_tracking(key: &str) -> bool {
    let k = key.to_ascii_lowercase();
    k.starts_with("utm_")
        || k.starts_with("share_")
        || k.starts_with("pk_")
        || TRACKING.contains(&k.as_str())
}

/// Canonical form of `raw`, or `None` when it is not an absolute http(s) URL.
pub fn canonicalize(raw: &str) -> Option<String> {
    let mut u = Url::parse(raw.trim()).ok()?;
    if !matches!(u.scheme(), "http" | "https") {
        return None;
    }
    u.set_fragment(None);
    let mut pairs: Vec<(String, String)> = u
        .query_pairs()
        .filter(|(k, _)| !is_tracking(k))
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect();
    pairs.sort();
    if pairs.is_empty() {
        u.set_query(None);
    } else {
        u.query_pairs_mut().clear().extend_pairs(pairs);
    }
    // Url drops default ports itself; also drop "index.html"-style noise? No: servers differ.
    Some(u.into())
}

#[cfg(test)]
mod tests {
    use super::canonicalize;

    #[test]
    fn drops_tracking_and_fragment_and_sorts() {
        assert_eq!(
            canonicalize("HTTPS://News.Example.com:443/a/b?utm_source=x&b=2&a=1&spm=abc#top")
                .as_deref(),
            Some("https://news.example.com/a/b?a=1&b=2")
        );
        assert_eq!(
            canonicalize("http://example.com/x?utm_medium=y").as_deref(),
            Some("http://example.com/x")
        );
    }

    #[test]
    fn refuses_non_http() {
        assert_eq!(canonicalize("javascript:alert(1)"), None);
        assert_eq!(canonicalize("not a url"), None);
    }
}
