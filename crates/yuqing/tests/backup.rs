//! Backup and restore on a live system (issue 8): `yuqing backup` while `serve` ingests
//! pushed documents, then `yuqing restore` into a new data directory. The copy holds
//! exactly the documents with seq up to the manifest's (none lost, none doubled), the index
//! is rebuilt with every one of them, the audit chain verifies, the evidence files come
//! along; a damaged backup, a non-empty destination and an occupied data directory are
//! refused with clear errors.

mod common;

use common::{bin, first_events, run, write_lines};
use serde_json::Value;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const TOKEN: &str = "b4ckup-t0ken";

async fn scalar(db: &std::path::Path, sql: &str, bind: i64) -> i64 {
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
        .await
        .expect("open");
    let n = sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(bind)
        .fetch_one(&pool)
        .await
        .expect("query");
    pool.close().await;
    n
}

fn fails_with(args: &[&str], what: &str) {
    let out = bin().args(args).output().expect("run");
    assert!(!out.status.success(), "{args:?} must fail");
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(what), "{args:?}: {err}");
    assert!(!err.contains("panicked"), "{err}");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_backup_taken_while_serving_restores_exactly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(10);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8").to_owned();
    run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        &d,
        "--json",
    ]);
    // An evidence file, stored by content hash as the case service keeps them.
    let ev = data.join("evidence").join("ab");
    std::fs::create_dir_all(&ev).expect("evidence dir");
    std::fs::write(ev.join("abcdef"), b"screenshot bytes").expect("evidence");

    let srv = common::serve(
        tmp.path(),
        &format!(
            "[server]\npush_tokens = [\"{TOKEN}\"]\n[report]\ndaily_at = \"\"\nweekly_at = \"\"\nmonthly_at = \"\"\n"
        ),
    );
    let _ = rustls::crypto::ring::default_provider().install_default();
    // Documents keep arriving while the backup is taken.
    let stop = Arc::new(AtomicBool::new(false));
    let pushed = Arc::new(AtomicUsize::new(0));
    let pusher = {
        let (stop, pushed, base) = (stop.clone(), pushed.clone(), srv.base.clone());
        tokio::spawn(async move {
            let c = reqwest::Client::new();
            let mut batch = 0;
            while !stop.load(Ordering::SeqCst) && batch < 400 {
                let ids: Vec<String> = (0..20).map(|i| format!("live-{batch}-{i}")).collect();
                let status = common::push_posts(&c, &base, TOKEN, &ids, "备份期间推送的文档").await;
                assert_eq!(status, Some(200));
                pushed.fetch_add(20, Ordering::SeqCst);
                batch += 1;
            }
        })
    };
    while pushed.load(Ordering::SeqCst) < 100 {
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let bk = tmp.path().join("bk");
    let out = run(&["backup", bk.to_str().expect("utf8"), "--data", &d]);
    let manifest: Value = serde_json::from_slice(&out.stdout).expect("manifest line");
    assert!(
        pushed.load(Ordering::SeqCst) < 8000,
        "documents were still arriving during the backup"
    );
    stop.store(true, Ordering::SeqCst);
    pusher.await.expect("pusher");
    drop(srv);

    let documents = manifest["documents"].as_i64().expect("documents");
    let max_seq = manifest["max_seq"].as_i64().expect("max_seq");
    assert!(
        documents > lines.len() as i64,
        "pushed documents are in the copy: {manifest}"
    );
    assert_eq!(manifest["evidence_files"], 1);
    // Exactly the original's documents up to the copy's seq: none lost, none doubled.
    let original = data.join("yuqing.db");
    assert_eq!(
        scalar(
            &original,
            "SELECT COUNT(*) FROM documents WHERE seq <= ?",
            max_seq
        )
        .await,
        documents
    );
    assert_eq!(
        scalar(
            &bk.join("yuqing.db"),
            "SELECT COUNT(DISTINCT platform || ':' || id) FROM documents WHERE seq <= ?",
            max_seq
        )
        .await,
        documents,
        "no document twice"
    );

    // Refusals: a non-empty backup directory, a damaged backup, an occupied data directory.
    fails_with(
        &["backup", bk.to_str().expect("utf8"), "--data", &d],
        "不为空",
    );
    let broken = tmp.path().join("broken");
    std::fs::create_dir_all(&broken).expect("dir");
    for f in ["manifest.json", "yuqing.db"] {
        std::fs::copy(bk.join(f), broken.join(f)).expect("copy");
    }
    {
        use std::io::{Seek, SeekFrom, Write};
        let mut f = std::fs::OpenOptions::new()
            .write(true)
            .open(broken.join("yuqing.db"))
            .expect("open");
        f.seek(SeekFrom::Start(5000)).expect("seek");
        f.write_all(b"\xff\xfe\xfd").expect("write");
    }
    let target = tmp.path().join("restored-broken");
    fails_with(
        &[
            "restore",
            broken.to_str().expect("utf8"),
            "--data",
            target.to_str().expect("utf8"),
        ],
        "SHA-256",
    );
    fails_with(
        &["restore", bk.to_str().expect("utf8"), "--data", &d],
        "已有数据库",
    );

    // The restore: every document, the index rebuilt, the audit chain verified, evidence.
    let restored = tmp.path().join("restored");
    let r = restored.to_str().expect("utf8");
    let out = run(&["restore", bk.to_str().expect("utf8"), "--data", r]);
    let said = String::from_utf8_lossy(&out.stderr);
    assert!(
        said.contains(&format!("{documents} documents, {documents} indexed")),
        "{said}"
    );
    let count: i64 = String::from_utf8_lossy(&run(&["count", "", "--data", r]).stdout)
        .trim()
        .parse()
        .expect("count");
    assert_eq!(count, documents);
    let live: i64 = String::from_utf8_lossy(&run(&["count", "备份期间推送", "--data", r]).stdout)
        .trim()
        .parse()
        .expect("count");
    assert_eq!(
        live,
        scalar(
            &bk.join("yuqing.db"),
            "SELECT COUNT(*) FROM documents WHERE id LIKE 'live-%' AND seq <= ?",
            max_seq
        )
        .await,
        "the rebuilt index finds the documents pushed during the backup"
    );
    run(&["audit", "verify", "--data", r]);
    assert_eq!(
        std::fs::read(restored.join("evidence").join("ab").join("abcdef")).expect("evidence"),
        b"screenshot bytes"
    );
}
