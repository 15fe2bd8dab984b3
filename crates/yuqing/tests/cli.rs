//! End-to-end tests of the `yuqing` binary on real data (the shared CED dev file):
//! import counts, idempotent re-import, count = substring count, bad input of every kind,
//! and a SIGKILL in the middle of an import.

use std::collections::HashSet;
use std::io::Write;
use std::path::Path;
use std::process::{Output, Stdio};

mod common;
use common::{bin, first_events, run, write_lines};

fn summary(out: &Output) -> serde_json::Value {
    let s = String::from_utf8_lossy(&out.stdout);
    let last = s.lines().last().expect("a summary line");
    serde_json::from_str(last).unwrap_or_else(|e| panic!("summary is not JSON ({e}): {last}"))
}

fn count(data: &Path, q: &str) -> u64 {
    let out = run(&["count", q, "--data", data.to_str().expect("utf8")]);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .expect("a number")
}

/// The secondary indexes of `documents` that a first import drops and builds at its end.
fn deferred_indexes(data: &Path) -> Vec<String> {
    let db = data.join("yuqing.db");
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt")
        .block_on(async {
            let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}?mode=ro", db.display()))
                .await
                .expect("open");
            let names: Vec<String> = sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'index' \
                 AND name IN ('documents_event', 'documents_published') ORDER BY name",
            )
            .fetch_all(&pool)
            .await
            .expect("query");
            pool.close().await;
            names
        })
}

#[test]
fn import_reimport_count_and_search_on_ced_events() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(20);
    let src = write_lines(tmp.path(), "ev.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    let s = summary(&run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        d,
        "--json",
    ]));
    assert_eq!(s["read"], lines.len());
    assert_eq!(
        s["stored"],
        lines.len(),
        "every CED document is distinct: {s}"
    );
    assert_eq!(s["rejected"], 0);
    assert!(
        s["near_duplicates"].as_u64().expect("n") > 0,
        "CED reposts repeat texts such as 转发微博: {s}"
    );
    assert_eq!(
        deferred_indexes(&data),
        ["documents_event", "documents_published"],
        "a first import builds the indexes it deferred"
    );
    let again = summary(&run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        d,
        "--json",
    ]));
    assert_eq!(
        (again["stored"].as_u64(), again["duplicates"].as_u64()),
        (Some(0), Some(lines.len() as u64))
    );

    // count equals the number of documents whose normalised text contains the word.
    let texts: Vec<String> = lines
        .iter()
        .map(|l| {
            yuqing_text::normalize(
                serde_json::from_str::<serde_json::Value>(l).expect("json")["text"]
                    .as_str()
                    .unwrap_or(""),
            )
        })
        .collect();
    for word in [
        "转发", "北京", "医院", "的", "微博", "谣言", "[泪]", "@", "v",
    ] {
        let want = texts
            .iter()
            .filter(|t| t.contains(&yuqing_text::normalize(word)))
            .count() as u64;
        assert_eq!(count(&data, word), want, "count {word}");
    }
    // Substring recall: a longer word found inside a longer compound.
    let out = run(&["search", "转发微博", "--data", d, "--json", "--limit", "5"]);
    let hits: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("hit json"))
        .collect();
    assert_eq!(hits.len(), 5);
    for h in &hits {
        assert!(
            yuqing_text::normalize(h["text"].as_str().expect("text")).contains("转发微博"),
            "{h}"
        );
        assert!(h["id"].is_string() && h["score"].is_number() && h["published_at"].is_string());
    }
    // Time filter: everything in the file is before 2016.
    let out = run(&["count", "转发", "--data", d, "--since", "2016-01-01"]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).trim(), "0");
}

#[test]
fn bad_input_is_reported_by_line_and_the_rest_is_stored() {
    let tmp = tempfile::tempdir().expect("tmp");
    let good = first_events(1);
    let mut f = std::fs::File::create(tmp.path().join("bad.jsonl")).expect("create");
    writeln!(f, "{}", good[0]).expect("w");
    writeln!(f, "{{\"id\": \"broken\", \"text\": ").expect("w"); // line 2: malformed JSON
    f.write_all(b"{\"id\":\"x\",\"text\":\"\xff\xfe\"}\n")
        .expect("w"); // line 3: invalid UTF-8
    writeln!(f, "{{\"platform\":\"weibo\",\"text\":\"no id\"}}").expect("w"); // line 4: no identity
    // line 5: a 50 MB post
    f.write_all(b"{\"id\":\"huge\",\"platform\":\"weibo\",\"text\":\"")
        .expect("w");
    let chunk = "字".repeat(1 << 20);
    for _ in 0..17 {
        f.write_all(chunk.as_bytes()).expect("w");
    }
    f.write_all(b"\"}\n").expect("w");
    writeln!(
        f,
        "{{\"id\":\"t1\",\"platform\":\"weibo\",\"published_at\":\"yesterday\"}}"
    )
    .expect("w"); // line 6: bad time
    for l in &good[1..4] {
        writeln!(f, "{l}").expect("w");
    }
    drop(f);
    let data = tmp.path().join("data");
    let out = run(&[
        "import",
        tmp.path().join("bad.jsonl").to_str().expect("utf8"),
        "--data",
        data.to_str().expect("utf8"),
        "--json",
    ]);
    let s = summary(&out);
    assert_eq!(
        (s["stored"].as_u64(), s["rejected"].as_u64()),
        (Some(4), Some(5)),
        "{s}"
    );
    let rej = s["rejections"].as_array().expect("rejections");
    let reason = |line: usize| {
        rej.iter()
            .find(|r| {
                r["location"]
                    .as_str()
                    .expect("loc")
                    .ends_with(&format!(":{line}"))
            })
            .map(|r| r["reason"].as_str().expect("reason").to_owned())
            .unwrap_or_else(|| panic!("no rejection for line {line}: {s}"))
    };
    assert!(reason(2).contains("JSON"));
    assert!(reason(3).contains("UTF-8"));
    assert!(reason(4).contains("id"));
    assert!(reason(5).contains("bytes"), "{}", reason(5));
    assert!(reason(6).contains("yesterday"));
    // Rejected lines are kept as dead letters with their reasons.
    let out = run(&[
        "dead-letters",
        "--data",
        data.to_str().expect("utf8"),
        "--json",
    ]);
    assert_eq!(String::from_utf8_lossy(&out.stdout).lines().count(), 5);
}

/// Imports `head` followed by 1.1 GiB of `filler` bytes, gzipped into `name`, and returns
/// the import summary.
fn import_gzip_bomb(name: &str, head: &str, filler: u8) -> serde_json::Value {
    let tmp = tempfile::tempdir().expect("tmp");
    let path = tmp.path().join(name);
    let mut enc = flate2::write::GzEncoder::new(
        std::fs::File::create(&path).expect("create"),
        flate2::Compression::best(),
    );
    writeln!(enc, "{head}").expect("w");
    let chunk = vec![filler; 1 << 20];
    for _ in 0..1100 {
        enc.write_all(&chunk).expect("w");
    }
    enc.finish().expect("finish");
    let data = tmp.path().join("data");
    summary(&run(&[
        "import",
        path.to_str().expect("utf8"),
        "--data",
        data.to_str().expect("utf8"),
        "--json",
    ]))
}

#[test]
fn a_gzip_bomb_is_stopped_and_named() {
    let s = import_gzip_bomb("bomb.jsonl.gz", &first_events(1)[0], b' ');
    assert_eq!(s["stored"], 1, "what came before the bomb is kept: {s}");
    let reasons = s["rejections"].to_string();
    assert!(
        reasons.contains("bomb") && reasons.contains("bomb.jsonl.gz"),
        "{reasons}"
    );
}

#[test]
fn a_csv_gzip_bomb_is_stopped_too() {
    // Newlines as filler, so the CSV reader never holds one giant field.
    let s = import_gzip_bomb(
        "bomb.csv.gz",
        "id,platform,text\n1,forum,炸弹之前的一行",
        b'\n',
    );
    assert_eq!(s["stored"], 1, "the row before the bomb is kept: {s}");
    let reasons = s["rejections"].to_string();
    assert!(
        reasons.contains("bomb") && reasons.contains("bomb.csv.gz"),
        "{reasons}"
    );
}

#[test]
fn html_imported_as_a_feed_is_refused_clearly() {
    let tmp = tempfile::tempdir().expect("tmp");
    let p = tmp.path().join("page.html");
    std::fs::write(
        &p,
        "<!doctype html><html><head><title>x</title></head><body><p>不是订阅源</p></body></html>",
    )
    .expect("write");
    let s = summary(&run(&[
        "import",
        p.to_str().expect("utf8"),
        "--format",
        "rss",
        "--data",
        tmp.path().join("d").to_str().expect("utf8"),
        "--json",
    ]));
    assert_eq!(
        (s["stored"].as_u64(), s["rejected"].as_u64()),
        (Some(0), Some(1)),
        "{s}"
    );
    assert!(
        s["rejections"][0]["location"]
            .as_str()
            .expect("loc")
            .contains("page.html")
    );
}

#[test]
fn csv_and_feed_files_import() {
    let tmp = tempfile::tempdir().expect("tmp");
    let csv = tmp.path().join("a.csv");
    std::fs::write(
        &csv,
        "id,platform,text,published_at,author_name,reposts,board\n1,forum,\"县医院排队太久,\"\"没人管\"\"\",2024-05-01 08:00:00,张三,3,民生\n2,forum,第二条,,李四,,\n,forum,没有编号,,,,\n",
    )
    .expect("write");
    let rss = tmp.path().join("f.xml");
    std::fs::write(
        &rss,
        r#"<?xml version="1.0" encoding="UTF-8"?><rss version="2.0"><channel><title>t</title>
        <item><title>县里通报</title><link>https://news.example.com/a?utm_source=x</link><description>&lt;p&gt;正文&lt;/p&gt;</description></item>
        <item><title>没有链接的条目</title><description>内容</description></item></channel></rss>"#,
    )
    .expect("write");
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    let s = summary(&run(&[
        "import",
        csv.to_str().expect("utf8"),
        rss.to_str().expect("utf8"),
        "--data",
        d,
        "--json",
    ]));
    assert_eq!(
        (s["stored"].as_u64(), s["rejected"].as_u64()),
        (Some(4), Some(1)),
        "{s}"
    );
    let again = summary(&run(&[
        "import",
        csv.to_str().expect("utf8"),
        rss.to_str().expect("utf8"),
        "--data",
        d,
        "--json",
    ]));
    assert_eq!(
        again["stored"], 0,
        "feed items without guid or link still get a stable id: {again}"
    );
    let out = run(&["export", "--data", d]);
    let docs: Vec<serde_json::Value> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| serde_json::from_str(l).expect("json"))
        .collect();
    let first = docs.iter().find(|x| x["id"] == "1").expect("csv row 1");
    assert_eq!(first["text"], "县医院排队太久,\"没人管\"");
    assert_eq!(first["author"]["name"], "张三");
    assert_eq!(first["metrics"]["reposts"], 3);
    assert_eq!(first["board"], "民生", "unknown CSV columns are kept");
    assert_eq!(first["published_at"], "2024-05-01T08:00:00+08:00");
}

#[cfg(unix)]
#[test]
fn sigkill_during_import_loses_nothing_and_doubles_nothing() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(150);
    let src = write_lines(tmp.path(), "big.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    let mut child = bin()
        .args(["import", src.to_str().expect("utf8"), "--data", d, "--json"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn");
    // Wait until part of the file is stored, then kill without warning.
    let db = data.join("yuqing.db");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(120);
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let stored_now = || -> i64 {
        if !db.exists() {
            return 0;
        }
        rt.block_on(async {
            use yuqing_store::Store;
            match yuqing_store::SqliteStore::open_read_only(&db).await {
                Ok(s) => s.count().await.unwrap_or(0),
                Err(_) => 0,
            }
        })
    };
    let mut at_kill = 0;
    while std::time::Instant::now() < deadline {
        at_kill = stored_now();
        if at_kill > 0 || child.try_wait().expect("wait").is_some() {
            break;
        }
        std::thread::yield_now();
    }
    assert!(
        child.try_wait().expect("wait").is_none(),
        "the import finished before it could be killed: use a bigger input"
    );
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(at_kill > 0, "the import never stored anything");
    assert!(
        deferred_indexes(&data).is_empty(),
        "killed during a first import, before it built its indexes"
    );
    // Run it again: everything ends up stored exactly once, and the index agrees.
    let s = summary(&run(&[
        "import",
        src.to_str().expect("utf8"),
        "--data",
        d,
        "--json",
    ]));
    assert_eq!(s["rejected"], 0);
    assert_eq!(
        deferred_indexes(&data),
        ["documents_event", "documents_published"],
        "the next open builds what the killed import left out"
    );
    let total = stored_now();
    assert_eq!(
        total as usize,
        lines.len(),
        "after the restart every document is stored once: {s}"
    );
    assert_eq!(
        s["stored"].as_i64().expect("stored") + s["duplicates"].as_i64().expect("dups"),
        lines.len() as i64
    );
    let texts: Vec<String> = lines
        .iter()
        .map(|l| {
            yuqing_text::normalize(
                serde_json::from_str::<serde_json::Value>(l).expect("json")["text"]
                    .as_str()
                    .unwrap_or(""),
            )
        })
        .collect();
    let want = texts.iter().filter(|t| t.contains("转发")).count() as u64;
    assert_eq!(
        count(&data, "转发"),
        want,
        "the index is consistent with the store after the crash"
    );
    let out = run(&["export", "--data", d]);
    let ids: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(|l| {
            serde_json::from_str::<serde_json::Value>(l).expect("json")["id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!((ids.len(), unique.len()), (lines.len(), lines.len()));
}

#[test]
fn default_config_prints_the_example_and_plan_lint_reports() {
    let out = run(&["default-config"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("[ingest]") && text.contains("[[sources]]"));
    let out = bin()
        .args(["plan", "lint", "北京大学-北京"])
        .output()
        .expect("run");
    assert!(
        !out.status.success(),
        "an exclusion that removes everything is an error"
    );
    let out = bin()
        .args([
            "plan",
            "test",
            "(北京|上海",
            "--data",
            tempfile::tempdir().expect("t").path().to_str().expect("u"),
        ])
        .output()
        .expect("run");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("列"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A reader that stops early (`yuqing export | head -1`) ends the command quietly with
/// success, as Unix tools do: no panic in `println!`, no error message.
#[test]
fn output_into_a_closed_pipe_ends_quietly() {
    use std::io::{BufRead, BufReader};
    let tmp = tempfile::tempdir().expect("tmp");
    let src = write_lines(tmp.path(), "ced.jsonl", &first_events(20));
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    run(&["import", src.to_str().expect("utf8"), "--data", d]);
    for args in [
        vec!["export", "--data", d],
        vec!["search", "转发", "--limit", "5000", "--data", d],
        vec!["default-config"],
    ] {
        let mut child = bin()
            .args(&args)
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn");
        let mut first = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut first)
            .expect("first line");
        // The reader is gone (stdout dropped above); the rest of the output has nowhere to go.
        let out = child.wait_with_output().expect("wait");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!first.is_empty(), "{args:?} printed something");
        assert!(out.status.success(), "{args:?}: {:?} {err}", out.status);
        assert!(
            !err.contains("panicked") && !err.contains("Broken pipe"),
            "{args:?}: {err}"
        );
    }
}
