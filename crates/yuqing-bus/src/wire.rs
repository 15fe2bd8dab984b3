//! The message format on the bus: subjects, message ids and headers.
//!
//! - Subject: `<prefix>.<platform>` (`yuqing.docs.weibo`); a platform is made a valid
//!   subject token (`.`, `*`, `>` and whitespace become `_`).
//! - Payload: the document in the interchange JSON (`yuqing_core`'s serde), unchanged.
//! - `Nats-Msg-Id: <platform>:<id>` (or `<platform>:url:<url>` when the document has no
//!   id): JetStream drops a repeat of the same id inside the stream's duplicate window.
//! - `Yuqing-Source`: the source name, percent-encoded so that any UTF-8 name (a Chinese
//!   file name) travels in a header; `Yuqing-Dead-Reason` on dead letters, encoded alike.
//!
//! Headers are percent-encoded rather than sent raw because a header value must not hold
//! CR or LF, and other NATS clients expect ASCII.

use crate::BusError;
use yuqing_core::Document;

/// Header with the source name.
pub const SOURCE_HEADER: &str = "Yuqing-Source";
/// Header with the reason a message went to the dead-letter subject.
pub const DEAD_REASON_HEADER: &str = "Yuqing-Dead-Reason";
/// Header with the subject a dead letter was first published to.
pub const DEAD_SUBJECT_HEADER: &str = "Yuqing-Dead-Subject";
/// Header with how often a dead letter had been delivered.
pub const DEAD_DELIVERIES_HEADER: &str = "Yuqing-Deliveries";

/// `platform` as one subject token.
pub fn subject_token(platform: &str) -> String {
    let t: String = platform
        .trim()
        .chars()
        .map(|c| {
            if c == '.' || c == '*' || c == '>' || c.is_whitespace() || c.is_control() {
                '_'
            } else {
                c
            }
        })
        .collect();
    if t.is_empty() { "_".to_owned() } else { t }
}

/// The de-duplication id of a document: `<platform>:<id>`, or `<platform>:url:<url>`.
pub fn message_id(doc: &Document) -> Result<String, BusError> {
    let id = doc.id.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let url = doc.url.as_deref().map(str::trim).filter(|s| !s.is_empty());
    let raw = match (id, url) {
        (Some(id), _) => format!("{}:{id}", doc.platform),
        (None, Some(url)) => format!("{}:url:{url}", doc.platform),
        (None, None) => {
            return Err(BusError::NoIdentity {
                platform: doc.platform.clone(),
            });
        }
    };
    Ok(encode_header(&raw))
}

/// Percent-encodes everything but printable ASCII (and `%` itself).
pub fn encode_header(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if (0x21..=0x7e).contains(&b) && b != b'%' || b == b' ' {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// Reverses [`encode_header`]; a malformed escape is kept as it is.
pub fn decode_header(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'%'
            && let Some(v) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
        {
            out.push(v);
            i += 3;
        } else {
            out.push(b[i]);
            i += 1;
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn headers_round_trip_utf8_and_newlines() {
        for s in [
            "微博采集",
            "a b%c",
            "x\r\ny",
            "plain-ascii_1",
            "100%",
            "%zz",
        ] {
            let e = encode_header(s);
            assert!(e.bytes().all(|b| (0x20..=0x7e).contains(&b)), "{e}");
            assert_eq!(decode_header(&e), s, "{e}");
        }
    }

    #[test]
    fn subject_tokens_are_valid() {
        assert_eq!(subject_token("weibo"), "weibo");
        assert_eq!(subject_token("a.b *>"), "a_b___");
        assert_eq!(subject_token(""), "_");
    }

    #[test]
    fn message_ids() {
        let mut d = Document::new("weibo", " 42 ");
        assert_eq!(message_id(&d).expect("id"), "weibo:42");
        d.id = None;
        assert!(message_id(&d).is_err());
        d.url = Some("https://例子.cn/a b".into());
        assert_eq!(
            message_id(&d).expect("id"),
            "weibo:url:https://%E4%BE%8B%E5%AD%90.cn/a b"
        );
    }
}
