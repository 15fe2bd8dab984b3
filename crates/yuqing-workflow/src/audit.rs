//! The audit log (审计日志): append-only and hash-chained, so that an edited, deleted,
//! inserted or reordered entry is detected and named.
//!
//! Each [`AuditEntry`] carries `prev_hash` (the `hash` of the entry before it, or 64 zeros
//! for the first) and its own `hash` = lower-case hex SHA-256 of the **canonical JSON** of
//! every other field: an object with keys sorted (recursively, also inside `before` and
//! `after`), no whitespace, times as RFC 3339 UTC with milliseconds (`2027-01-01T08:00:00.000Z`).
//! Sequence numbers start at 1 and increase by exactly 1.
//!
//! A chain only proves its own consistency: whoever can rewrite *every* entry from some
//! point on, or cut the tail, can forge a consistent chain. Keep the latest [`Anchor`]
//! (seq + hash) somewhere else (a daily report, another database) and check it with
//! [`verify_anchored`] to catch that too.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use yuqing_core::Message;

/// `prev_hash` of the first entry.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// One audit record.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct AuditEntry {
    pub seq: u64,
    pub at: DateTime<Utc>,
    pub actor: String,
    /// Stable action name (`register`, `approve_reply`, `org.update`, ...).
    pub action: String,
    /// What was acted on (`case:42`, `user:alice`, ...).
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
    pub prev_hash: String,
    pub hash: String,
}

/// What a new entry records (the log fills in seq, prev_hash and hash).
#[derive(Debug, Clone, PartialEq)]
pub struct NewEntry {
    pub at: DateTime<Utc>,
    pub actor: String,
    pub action: String,
    pub target: String,
    pub before: Option<Value>,
    pub after: Option<Value>,
}

/// The last position of a verified chain, to be kept elsewhere.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Anchor {
    pub seq: u64,
    pub hash: String,
}

/// How a chain was tampered with.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TamperKind {
    /// An entry's content no longer matches its hash, or it was rewritten with a new hash.
    Edited,
    /// One or more entries are missing.
    Deleted,
    /// An entry that was never appended in that place is present.
    Inserted,
    /// Entries are out of order.
    Reordered,
    /// The log ends before the anchor.
    Truncated,
}

/// Why verification failed: the first bad entry (`seq`) and the reason.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error, Serialize)]
#[error("审计日志被篡改（序号 {seq}）：{} / audit log tampered (seq {seq}): {}", reason.zh, reason.en)]
pub struct Tampered {
    pub seq: u64,
    pub kind: TamperKind,
    pub reason: Message,
}

fn time_str(t: &DateTime<Utc>) -> String {
    t.to_rfc3339_opts(SecondsFormat::Millis, true)
}

/// Writes `v` as canonical JSON (sorted keys, no whitespace).
pub fn canonical_json(v: &Value) -> String {
    let mut out = String::new();
    write_canonical(v, &mut out);
    out
}

fn write_canonical(v: &Value, out: &mut String) {
    match v {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            out.push('{');
            for (i, k) in keys.into_iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(k.clone()).to_string());
                out.push(':');
                if let Some(x) = map.get(k) {
                    write_canonical(x, out);
                }
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (i, x) in items.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                write_canonical(x, out);
            }
            out.push(']');
        }
        other => out.push_str(&other.to_string()),
    }
}

impl AuditEntry {
    /// The hash this entry should have, computed from its other fields.
    pub fn compute_hash(&self) -> String {
        let body = serde_json::json!({
            "seq": self.seq,
            "at": time_str(&self.at),
            "actor": self.actor,
            "action": self.action,
            "target": self.target,
            "before": self.before,
            "after": self.after,
            "prev_hash": self.prev_hash,
        });
        hex::encode(Sha256::digest(canonical_json(&body).as_bytes()))
    }

    /// Builds the entry that follows `prev` (or the first one).
    pub fn next(prev: Option<&AuditEntry>, new: NewEntry) -> AuditEntry {
        let mut e = AuditEntry {
            seq: prev.map_or(1, |p| p.seq + 1),
            // Store what the hash covers: millisecond precision.
            at: DateTime::from_timestamp_millis(new.at.timestamp_millis()).unwrap_or(new.at),
            actor: new.actor,
            action: new.action,
            target: new.target,
            before: new.before,
            after: new.after,
            prev_hash: prev.map_or_else(|| GENESIS_HASH.to_string(), |p| p.hash.clone()),
            hash: String::new(),
        };
        e.hash = e.compute_hash();
        e
    }
}

/// An in-memory, append-only log (the store keeps the same rows).
#[derive(Debug, Clone, Default)]
pub struct AuditLog {
    entries: Vec<AuditEntry>,
}

impl AuditLog {
    pub fn new() -> Self {
        Self::default()
    }
    /// Loads entries, verifying the chain first.
    pub fn from_entries(entries: Vec<AuditEntry>) -> Result<Self, Tampered> {
        verify(&entries)?;
        Ok(Self { entries })
    }
    /// Appends an entry and returns it.
    pub fn append(&mut self, new: NewEntry) -> &AuditEntry {
        let e = AuditEntry::next(self.entries.last(), new);
        self.entries.push(e);
        let last = self.entries.len() - 1;
        &self.entries[last]
    }
    pub fn entries(&self) -> &[AuditEntry] {
        &self.entries
    }
    /// The anchor of the current head (`None` when empty).
    pub fn anchor(&self) -> Option<Anchor> {
        self.entries.last().map(|e| Anchor {
            seq: e.seq,
            hash: e.hash.clone(),
        })
    }
}

fn tampered(seq: u64, kind: TamperKind, zh: String, en: String) -> Tampered {
    Tampered {
        seq,
        kind,
        reason: Message::new(zh, en),
    }
}

/// Verifies a whole chain, from seq 1. Reports the first problem found.
pub fn verify(entries: &[AuditEntry]) -> Result<(), Tampered> {
    for (i, e) in entries.iter().enumerate() {
        if e.compute_hash() != e.hash {
            return Err(tampered(
                e.seq,
                TamperKind::Edited,
                format!("第 {} 条记录的内容与其哈希不符，写入后被修改过", e.seq),
                format!(
                    "entry {} does not match its hash: it was changed after it was written",
                    e.seq
                ),
            ));
        }
        let expected = if i == 0 { 1 } else { entries[i - 1].seq + 1 };
        let prev_seq = expected - 1;
        if e.seq < expected {
            let (kind, zh, en) = if e.seq == prev_seq {
                (
                    TamperKind::Inserted,
                    format!("出现了两条序号为 {} 的记录，其中一条是插入的", e.seq),
                    format!("two entries have seq {}: one was inserted", e.seq),
                )
            } else {
                (
                    TamperKind::Reordered,
                    format!(
                        "第 {} 条记录出现在第 {} 条之后，顺序被调换",
                        e.seq, prev_seq
                    ),
                    format!(
                        "entry {} comes after entry {}: entries were reordered",
                        e.seq, prev_seq
                    ),
                )
            };
            return Err(tampered(e.seq, kind, zh, en));
        }
        if e.seq > expected {
            // Missing numbers that appear later mean a reordering, not a deletion.
            if entries[i + 1..]
                .iter()
                .any(|x| x.seq >= expected && x.seq < e.seq)
            {
                return Err(tampered(
                    e.seq,
                    TamperKind::Reordered,
                    format!(
                        "第 {} 条记录出现在第 {} 条之前，顺序被调换",
                        e.seq, expected
                    ),
                    format!(
                        "entry {} comes before entry {expected}: entries were reordered",
                        e.seq
                    ),
                ));
            }
            let missing = if e.seq - expected == 1 {
                format!("{expected}")
            } else {
                format!("{expected}–{}", e.seq - 1)
            };
            return Err(tampered(
                expected,
                TamperKind::Deleted,
                format!(
                    "第 {missing} 条记录缺失（被删除），发现于第 {} 条之前",
                    e.seq
                ),
                format!(
                    "entry {missing} is missing (deleted), found before entry {}",
                    e.seq
                ),
            ));
        }
        let want_prev = if i == 0 {
            GENESIS_HASH
        } else {
            entries[i - 1].hash.as_str()
        };
        if e.prev_hash != want_prev {
            if i >= 2 && e.prev_hash == entries[i - 2].hash {
                let ins = entries[i - 1].seq;
                return Err(tampered(
                    ins,
                    TamperKind::Inserted,
                    format!(
                        "第 {ins} 条记录是插入的：第 {} 条记录原本紧接在第 {} 条之后",
                        e.seq,
                        entries[i - 2].seq
                    ),
                    format!(
                        "entry {ins} was inserted: entry {} originally followed entry {}",
                        e.seq,
                        entries[i - 2].seq
                    ),
                ));
            }
            if i == 0 {
                return Err(tampered(
                    e.seq,
                    TamperKind::Edited,
                    "第 1 条记录的前序哈希不是初始值，日志的开头被替换过".into(),
                    "entry 1 does not start from the genesis hash: the start of the log was replaced".into(),
                ));
            }
            let prev = entries[i - 1].seq;
            return Err(tampered(
                prev,
                TamperKind::Edited,
                format!(
                    "第 {} 条记录不再指向第 {prev} 条：第 {prev} 条被改写或替换（并重算了哈希）",
                    e.seq
                ),
                format!(
                    "entry {} no longer links to entry {prev}: entry {prev} was rewritten or replaced (with a recomputed hash)",
                    e.seq
                ),
            ));
        }
    }
    Ok(())
}

/// Verifies the chain and that it still reaches a previously recorded anchor unchanged.
pub fn verify_anchored(entries: &[AuditEntry], anchor: &Anchor) -> Result<(), Tampered> {
    verify(entries)?;
    match entries.iter().find(|e| e.seq == anchor.seq) {
        None => Err(tampered(
            anchor.seq,
            TamperKind::Truncated,
            format!(
                "日志在第 {} 条之前结束，少于已记录的锚点；末尾的记录被删除",
                anchor.seq
            ),
            format!(
                "the log ends before anchored entry {}: entries at the end were deleted",
                anchor.seq
            ),
        )),
        Some(e) if e.hash != anchor.hash => Err(tampered(
            anchor.seq,
            TamperKind::Edited,
            format!(
                "第 {} 条记录的哈希与锚点不符，日志从某处起被整体改写",
                anchor.seq
            ),
            format!(
                "entry {} does not match the anchor: the log was rewritten from some point on",
                anchor.seq
            ),
        )),
        Some(_) => Ok(()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use serde_json::json;

    fn log(n: u64) -> AuditLog {
        let mut log = AuditLog::new();
        let t0 = Utc.with_ymd_and_hms(2027, 3, 1, 0, 0, 0).unwrap();
        for i in 1..=n {
            log.append(NewEntry {
                at: t0 + chrono::Duration::minutes(i as i64),
                actor: "analyst".into(),
                action: "judge".into(),
                target: format!("case:{i}"),
                before: Some(json!({"state": "registered", "b": 1, "a": [1, 2]})),
                after: Some(json!({"state": "judged"})),
            });
        }
        log
    }

    #[test]
    fn a_fresh_chain_verifies() {
        let l = log(5);
        assert!(verify(l.entries()).is_ok());
        assert!(verify(&[]).is_ok());
        assert_eq!(l.entries()[0].prev_hash, GENESIS_HASH);
        assert_eq!(l.entries()[1].prev_hash, l.entries()[0].hash);
        let anchor = l.anchor().unwrap();
        assert!(verify_anchored(l.entries(), &anchor).is_ok());
        // Reloading verifies.
        assert!(AuditLog::from_entries(l.entries().to_vec()).is_ok());
    }

    #[test]
    fn canonical_json_sorts_keys_recursively() {
        let a = json!({"b": 1, "a": {"d": [1, {"y": 2, "x": 1}], "c": "中"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":"中","d":[1,{"x":1,"y":2}]},"b":1}"#
        );
    }

    #[test]
    fn edit_is_detected() {
        let mut e = log(5).entries().to_vec();
        e[2].after = Some(json!({"state": "closed"}));
        let t = verify(&e).unwrap_err();
        assert_eq!((t.seq, t.kind), (3, TamperKind::Edited));
        // Rewritten with a recomputed hash: the next entry no longer links to it.
        e[2].hash = e[2].compute_hash();
        let t = verify(&e).unwrap_err();
        assert_eq!((t.seq, t.kind), (3, TamperKind::Edited));
        assert!(t.reason.zh.contains("改写"));
    }

    #[test]
    fn delete_is_detected() {
        let mut e = log(5).entries().to_vec();
        e.remove(1);
        let t = verify(&e).unwrap_err();
        assert_eq!((t.seq, t.kind), (2, TamperKind::Deleted));
        // Deleting the first entry.
        let mut e = log(3).entries().to_vec();
        e.remove(0);
        assert_eq!(verify(&e).unwrap_err().kind, TamperKind::Deleted);
        // Cutting the tail needs the anchor.
        let l = log(4);
        let anchor = l.anchor().unwrap();
        let cut = &l.entries()[..3];
        assert!(verify(cut).is_ok());
        assert_eq!(
            verify_anchored(cut, &anchor).unwrap_err().kind,
            TamperKind::Truncated
        );
    }

    #[test]
    fn reorder_is_detected() {
        let mut e = log(5).entries().to_vec();
        e.swap(1, 2);
        let t = verify(&e).unwrap_err();
        assert_eq!((t.seq, t.kind), (3, TamperKind::Reordered));
        let mut e = log(5).entries().to_vec();
        e.swap(3, 4);
        assert_eq!(verify(&e).unwrap_err().kind, TamperKind::Reordered);
    }

    #[test]
    fn insert_is_detected() {
        let l = log(4);
        // A forged entry with a duplicate seq and a valid-looking hash.
        let mut forged = AuditEntry::next(
            Some(&l.entries()[1]),
            NewEntry {
                at: l.entries()[1].at,
                actor: "intruder".into(),
                action: "approve_reply".into(),
                target: "case:2".into(),
                before: None,
                after: None,
            },
        );
        let mut e = l.entries().to_vec();
        e.insert(2, forged.clone());
        let t = verify(&e).unwrap_err();
        assert_eq!(t.kind, TamperKind::Inserted);
        // Inserted with renumbering of itself only (seq 3, old 3 follows with seq 3): caught
        // as a duplicate; renumbering the rest breaks their hashes.
        forged.seq = 3;
        forged.hash = forged.compute_hash();
        let mut e = l.entries().to_vec();
        e.insert(2, forged);
        for x in e.iter_mut().skip(3) {
            x.seq += 1;
        }
        assert!(verify(&e).is_err());
    }
}
