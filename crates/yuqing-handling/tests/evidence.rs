//! Evidence files of cases: stored by hash, recorded (and audited) on the case, read back
//! only by those who may see the case, and detected when altered on disk.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use yuqing_core::{Code, FixedClock};
use yuqing_handling::cases::{Cases, NewCase, Origin, Principal};
use yuqing_store::SqliteStore;
use yuqing_store::handling::HandlingStore;
use yuqing_workflow::case::{AttachmentKind, ManualChannel};
use yuqing_workflow::deadlines::DeadlineRules;

const ORG: &str = r#"
[[units]]
id = "town"
name = "某镇"
kind = "organisation"

[[units]]
id = "other"
name = "另一镇"
kind = "organisation"

[[users]]
id = "analyst"
name = "监测员"
grants = [{ unit = "town", role = "analyst" }]

[[users]]
id = "stranger"
name = "外单位"
grants = [{ unit = "other", role = "analyst" }]
"#;

#[tokio::test]
async fn evidence_is_kept_by_hash_scoped_and_checked() {
    let tmp = tempfile::tempdir().expect("tmp");
    let store = Arc::new(SqliteStore::in_memory().await.expect("store"));
    let clock = Arc::new(FixedClock::new(
        Utc.with_ymd_and_hms(2027, 3, 1, 1, 0, 0)
            .single()
            .expect("t"),
    ));
    let svc = Cases::new(store.clone(), clock, DeadlineRules::default())
        .with_evidence(tmp.path().join("evidence"));
    svc.import_org(ORG, &Principal::Operator)
        .await
        .expect("org");
    let case = svc
        .register(
            NewCase {
                unit: "town".into(),
                source: Origin::Manual {
                    channel: ManualChannel::Phone,
                },
                title: Some("电话反映：桥面开裂".into()),
                summary: String::new(),
                link: None,
                negative: true,
                media_report: false,
                occurred_at: None,
                collected_at: None,
            },
            "analyst",
        )
        .await
        .expect("register");

    let photo = b"\x89PNG\r\n\x1a\n fake photo bytes".to_vec();
    let c = svc
        .attach(
            &case.id,
            "analyst",
            case.version,
            "桥面.png",
            AttachmentKind::Image,
            photo.clone(),
        )
        .await
        .expect("attach");
    assert_eq!(c.version, case.version + 1);
    let a = &c.attachments[0].file;
    assert_eq!(
        (a.name.as_str(), a.size, a.kind),
        ("桥面.png", photo.len() as u64, AttachmentKind::Image)
    );
    assert_eq!(a.sha256.len(), 64);
    let on_disk = tmp
        .path()
        .join("evidence")
        .join(&a.sha256[..2])
        .join(&a.sha256);
    assert_eq!(std::fs::read(&on_disk).expect("file"), photo);
    let audit = store
        .audit_of(&format!("case:{}", case.id))
        .await
        .expect("audit");
    let last = audit.last().expect("entry");
    assert_eq!(last.action, "attach");
    assert!(
        last.after
            .as_ref()
            .expect("after")
            .to_string()
            .contains(&a.sha256),
        "the audit log covers the hash"
    );

    let (meta, bytes) = svc
        .attachment(&case.id, &a.sha256, &Principal::user("analyst"))
        .await
        .expect("read back");
    assert_eq!((meta.name.as_str(), bytes), ("桥面.png", photo.clone()));
    let e = svc
        .attachment(&case.id, &a.sha256, &Principal::user("stranger"))
        .await
        .expect_err("outside the unit");
    assert_eq!(e.code(), Code::Forbidden);
    let e = svc
        .attach(
            &case.id,
            "analyst",
            case.version,
            "again.txt",
            AttachmentKind::Text,
            b"x".to_vec(),
        )
        .await
        .expect_err("stale version");
    assert_eq!(e.code(), Code::Conflict);
    let e = svc
        .attachment(&case.id, &"0".repeat(64), &Principal::user("analyst"))
        .await
        .expect_err("not on the case");
    assert_eq!(e.code(), Code::NotFound);

    std::fs::write(&on_disk, b"edited").expect("tamper");
    let e = svc
        .attachment(&case.id, &a.sha256, &Principal::user("analyst"))
        .await
        .expect_err("altered file");
    assert!(e.to_string().contains("改动"), "{e}");
}
