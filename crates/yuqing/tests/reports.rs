//! Reports (issue 6) through the binary, on a slice of the shared CED data imported with
//! `yuqing import`: the 日报 of the slice's busiest day, the 周报, 月报 and 年度统计 have the
//! figures direct SQL queries on the database give; the event report of the largest event
//! agrees with the event analysis and has the six standard sections; the Word and Excel
//! files open again (zip + XML) with the figures in them; a day without data says so; a
//! digest numbers its issues; a flash report cites its document; saved reports list,
//! export as made, and rebuild to the same figures; bad input gets a clear error.

mod common;

use chrono::{DateTime, Datelike, FixedOffset, NaiveDate, TimeZone};
use common::{bin, first_events, run, unzip, write_lines};
use serde_json::Value;
use std::collections::BTreeMap;

fn bj() -> FixedOffset {
    FixedOffset::east_opt(8 * 3600).expect("offset")
}

fn json_of(out: &std::process::Output) -> Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

/// The figure `key` of a report's JSON, as its tagged value.
fn figure(r: &Value, key: &str) -> Value {
    for s in r["sections"].as_array().expect("sections") {
        for b in s["blocks"].as_array().expect("blocks") {
            if b["type"] == "figures" {
                for f in b["items"].as_array().expect("items") {
                    if f["key"] == key {
                        return f["value"].clone();
                    }
                }
            }
        }
    }
    panic!("no figure {key} in {r}")
}

fn int(r: &Value, key: &str) -> i64 {
    let v = figure(r, key);
    assert_eq!(v["t"], "int", "{key}: {v}");
    v["v"].as_i64().expect("int")
}

fn blocks<'a>(r: &'a Value, ty: &'a str) -> impl Iterator<Item = &'a Value> + 'a {
    r["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .flat_map(|s| s["blocks"].as_array().expect("blocks").iter())
        .filter(move |b| b["type"] == ty)
}

async fn scalar(pool: &sqlx::SqlitePool, sql: &str, since: i64, until: i64) -> i64 {
    sqlx::query_scalar(sqlx::AssertSqlSafe(sql.to_owned()))
        .bind(since)
        .bind(until)
        .fetch_one(pool)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
}

/// Direct counts over `[since, until)` of publication time.
async fn direct(pool: &sqlx::SqlitePool, since: i64, until: i64) -> (i64, i64, i64) {
    let w = "FROM documents WHERE published_at >= ? AND published_at < ?";
    (
        scalar(pool, &format!("SELECT COUNT(*) {w}"), since, until).await,
        scalar(
            pool,
            &format!("SELECT COUNT(*) {w} AND sentiment = -1"),
            since,
            until,
        )
        .await,
        scalar(
            pool,
            &format!("SELECT COUNT(DISTINCT platform) {w}"),
            since,
            until,
        )
        .await,
    )
}

fn ms(d: NaiveDate) -> i64 {
    bj().from_local_datetime(&d.and_hms_opt(0, 0, 0).expect("midnight"))
        .single()
        .expect("time")
        .timestamp_millis()
}

fn report(d: &str, args: &[&str]) -> Value {
    let mut all = vec!["report"];
    all.extend_from_slice(args);
    all.extend_from_slice(&["--data", d, "--format", "json"]);
    json_of(&run(&all))
}

fn part(files: &std::collections::HashMap<String, Vec<u8>>, name: &str) -> String {
    String::from_utf8(
        files
            .get(name)
            .unwrap_or_else(|| panic!("no {name}"))
            .clone(),
    )
    .expect("utf8")
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reports_on_ced_match_direct_queries() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(30);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    // A monitoring plan before the import: its hits are kept at ingest.
    run(&["plan", "add", "转发与微博", "转发|微博", "--data", d]);
    run(&["import", src.to_str().expect("utf8"), "--data", d, "--json"]);
    let pool = sqlx::SqlitePool::connect(&format!("sqlite://{}/yuqing.db?mode=ro", d))
        .await
        .expect("open the database");

    // The busiest Beijing day of the slice, from the source lines themselves.
    let mut per_day: BTreeMap<NaiveDate, usize> = BTreeMap::new();
    for l in &lines {
        let v: Value = serde_json::from_str(l).expect("json");
        if let Some(t) = v["published_at"]
            .as_str()
            .and_then(|t| DateTime::parse_from_rfc3339(t).ok())
        {
            *per_day
                .entry(t.with_timezone(&bj()).date_naive())
                .or_default() += 1;
        }
    }
    let (&day, &day_lines) = per_day.iter().max_by_key(|x| (*x.1, *x.0)).expect("a day");
    let date = day.to_string();

    // ---- 日报 ----
    let r = report(d, &["daily", "--date", &date]);
    assert_eq!(r["kind"], "daily");
    assert_eq!(r["title"], "舆情日报");
    let (since, until) = (ms(day), ms(day.succ_opt().expect("next")));
    let (total, negative, platforms) = direct(&pool, since, until).await;
    assert_eq!(
        total as usize, day_lines,
        "stored = source lines of the day"
    );
    assert_eq!(int(&r, "total"), total);
    assert_eq!(int(&r, "negative"), negative);
    assert_eq!(int(&r, "platforms"), platforms);
    let (ptotal, _, _) = direct(&pool, since - 86_400_000, since).await;
    assert_eq!(int(&r, "previous_total"), ptotal);
    // The hourly trend adds up to the total, and the peak is its maximum.
    let trend = blocks(&r, "chart")
        .find(|c| c["key"] == "trend")
        .expect("trend");
    let series: Vec<f64> = trend["series"][0]["values"]
        .as_array()
        .expect("values")
        .iter()
        .map(|v| v.as_f64().expect("f64"))
        .collect();
    assert_eq!(series.len(), 24);
    assert_eq!(series.iter().sum::<f64>() as i64, total);
    assert_eq!(
        int(&r, "peak_count") as f64,
        series.iter().cloned().fold(0.0, f64::max)
    );
    // Every cited item links to a stored document.
    let items: Vec<&Value> = blocks(&r, "items")
        .flat_map(|b| b["items"].as_array().expect("items").iter())
        .collect();
    assert!(!items.is_empty(), "notable items are cited");
    for it in &items {
        let doc = it["doc"].as_str().expect("doc");
        let (p, id) = doc.split_once(':').expect("platform:id");
        let n: i64 =
            sqlx::query_scalar("SELECT COUNT(*) FROM documents WHERE platform = ? AND id = ?")
                .bind(p)
                .bind(id)
                .fetch_one(&pool)
                .await
                .expect("query");
        assert_eq!(n, 1, "{doc} is stored");
    }
    // The commentary is a draft of computed facts, marked as such.
    let draft = blocks(&r, "draft").next().expect("draft");
    assert_eq!(draft["edited"], false);
    // "共监测到相关信息 1,234 条": the day's total, with thousands separators.
    let digits = total.to_string();
    let grouped: String = digits
        .chars()
        .enumerate()
        .flat_map(|(i, c)| {
            let sep = (i > 0 && (digits.len() - i) % 3 == 0).then_some(',');
            sep.into_iter().chain(std::iter::once(c))
        })
        .collect();
    let text = draft["text"].as_str().expect("text");
    assert!(
        text.contains(&format!("共监测到相关信息 {grouped} 条")),
        "the draft states the total: {text}"
    );

    // The same day for one monitoring plan: only its documents.
    let rp = report(d, &["daily", "--date", &date, "--plan", "转发与微博"]);
    let plan_total: i64 = sqlx::query_scalar(
        "SELECT COUNT(*) FROM plan_hits h JOIN documents d ON d.seq = h.seq JOIN plans p ON p.id = h.plan_id \
         WHERE p.name = '转发与微博' AND d.published_at >= ? AND d.published_at < ?",
    )
    .bind(since)
    .bind(until)
    .fetch_one(&pool)
    .await
    .expect("plan count");
    assert!(
        plan_total > 0 && plan_total < total,
        "the plan hits part of the day: {plan_total} of {total}"
    );
    assert_eq!(int(&rp, "total"), plan_total);
    assert!(
        rp["subtitle"]
            .as_str()
            .expect("subtitle")
            .contains("转发与微博")
    );

    // The same day as Word and Excel, opened again.
    let docx = tmp.path().join("daily.docx");
    run(&[
        "report",
        "daily",
        "--date",
        &date,
        "--data",
        d,
        "-o",
        docx.to_str().expect("utf8"),
    ]);
    let files = unzip(&std::fs::read(&docx).expect("docx"));
    let body = part(&files, "word/document.xml");
    assert!(body.contains("舆情日报"), "title in the document");
    assert!(
        body.contains("总体情况") && body.contains("热点事件"),
        "section headings"
    );
    assert!(
        body.contains(&format!(">{total}<")),
        "the total in a table cell"
    );
    assert!(
        files.keys().any(|k| k.starts_with("word/media/")),
        "charts are embedded as images: {:?}",
        files.keys().collect::<Vec<_>>()
    );
    let xlsx = tmp.path().join("daily.xlsx");
    run(&[
        "report",
        "daily",
        "--date",
        &date,
        "--data",
        d,
        "-o",
        xlsx.to_str().expect("utf8"),
    ]);
    let files = unzip(&std::fs::read(&xlsx).expect("xlsx"));
    let sheets: String = files
        .iter()
        .filter(|(k, _)| k.starts_with("xl/worksheets/") || k.as_str() == "xl/sharedStrings.xml")
        .map(|(_, v)| String::from_utf8_lossy(v).into_owned())
        .collect();
    assert!(
        sheets.contains(&format!("<v>{total}</v>")),
        "the total as a number cell"
    );
    assert!(sheets.contains("信息总量"));

    // A day without data says so, in every format.
    let empty = "2001-01-01";
    let r0 = report(d, &["daily", "--date", empty]);
    assert_eq!(int(&r0, "total"), 0);
    assert!(
        r0["notice"]
            .as_str()
            .expect("notice")
            .contains("没有监测到"),
        "{r0}"
    );
    for ext in ["html", "docx", "xlsx"] {
        let f = tmp.path().join(format!("empty.{ext}"));
        run(&[
            "report",
            "daily",
            "--date",
            empty,
            "--data",
            d,
            "--no-save",
            "-o",
            f.to_str().expect("utf8"),
        ]);
        assert!(std::fs::metadata(&f).expect("written").len() > 500);
    }
    let html = std::fs::read_to_string(tmp.path().join("empty.html")).expect("html");
    assert!(html.contains("没有监测到"));

    // ---- 周报, 月报, 年度统计 ----
    let monday = day - chrono::Duration::days(i64::from(day.weekday().num_days_from_monday()));
    let w = report(d, &["weekly", "--week", &date]);
    let (wt, wn, _) = direct(&pool, ms(monday), ms(monday + chrono::Duration::days(7))).await;
    assert_eq!(int(&w, "total"), wt);
    assert_eq!(int(&w, "negative"), wn);
    let first = NaiveDate::from_ymd_opt(day.year(), day.month(), 1).expect("first");
    let next = first
        .checked_add_months(chrono::Months::new(1))
        .expect("next");
    let m = report(
        d,
        &[
            "monthly",
            "--month",
            &format!("{}-{:02}", day.year(), day.month()),
        ],
    );
    let (mt, _, _) = direct(&pool, ms(first), ms(next)).await;
    assert_eq!(int(&m, "total"), mt);
    let days = blocks(&m, "chart")
        .find(|c| c["key"] == "trend")
        .expect("trend");
    assert_eq!(
        days["categories"].as_array().expect("days").len() as i64,
        (next - first).num_days(),
        "one point per day of the month"
    );
    let y = report(d, &["yearly", "--year", &day.year().to_string()]);
    let jan = NaiveDate::from_ymd_opt(day.year(), 1, 1).expect("jan");
    let (yt, _, _) = direct(
        &pool,
        ms(jan),
        ms(NaiveDate::from_ymd_opt(day.year() + 1, 1, 1).expect("jan")),
    )
    .await;
    assert_eq!(int(&y, "total"), yt);
    // 网络舆情通报 of the month: the month's volume, the month before as its comparison.
    let c = report(
        d,
        &[
            "circular",
            "--period",
            &format!("{}-{:02}", day.year(), day.month()),
        ],
    );
    assert_eq!(int(&c, "total"), mt);
    let prev = first
        .checked_sub_months(chrono::Months::new(1))
        .expect("prev");
    let (pt, _, _) = direct(&pool, ms(prev), ms(first)).await;
    assert_eq!(int(&c, "total_before"), pt);

    // ---- 舆情分析报告 of the largest event ----
    let (eid, edocs): (i64, i64) =
        sqlx::query_as("SELECT event_id, COUNT(*) n FROM documents WHERE event_id IS NOT NULL GROUP BY event_id ORDER BY n DESC LIMIT 1")
            .fetch_one(&pool)
            .await
            .expect("largest event");
    let e = report(d, &["event", &eid.to_string()]);
    let titles: Vec<&str> = e["sections"]
        .as_array()
        .expect("sections")
        .iter()
        .map(|s| s["title"].as_str().expect("title"))
        .collect();
    assert_eq!(
        titles,
        [
            "舆情概述",
            "传播概况",
            "话题分析",
            "舆论聚焦",
            "关注人群",
            "舆情点评与研判"
        ]
    );
    assert_eq!(int(&e, "documents"), edocs);
    let (neg,): (i64,) =
        sqlx::query_as("SELECT COUNT(*) FROM documents WHERE event_id = ? AND sentiment = -1")
            .bind(eid)
            .fetch_one(&pool)
            .await
            .expect("negative");
    assert_eq!(int(&e, "negative"), neg);
    let analysis = json_of(&run(&["event", &eid.to_string(), "--data", d, "--json"]));
    assert_eq!(
        figure(&e, "max_depth")["v"].as_i64(),
        analysis["propagation"]["max_depth"].as_i64()
    );
    let shares: f64 = blocks(&e, "table")
        .find(|t| t["key"] == "platforms")
        .expect("platform table")["rows"]
        .as_array()
        .expect("rows")
        .iter()
        .map(|r| r[2]["v"].as_f64().expect("share"))
        .sum();
    assert!(
        (shares - 1.0).abs() < 1e-6,
        "platform shares add up to 1: {shares}"
    );
    let docx = tmp.path().join("event.docx");
    run(&[
        "report",
        "event",
        &eid.to_string(),
        "--data",
        d,
        "-o",
        docx.to_str().expect("utf8"),
    ]);
    let body = part(
        &unzip(&std::fs::read(&docx).expect("docx")),
        "word/document.xml",
    );
    for t in titles {
        assert!(body.contains(t), "the DOCX has the section {t}");
    }

    // ---- 摘报: numbered issues, the analyst's summaries ----
    let docs: Vec<(String, String)> =
        sqlx::query_as("SELECT platform, id FROM documents ORDER BY seq LIMIT 2")
            .fetch_all(&pool)
            .await
            .expect("docs");
    let items = docs
        .iter()
        .map(|(p, i)| format!("{p}:{i}"))
        .collect::<Vec<_>>()
        .join(",");
    let g1 = report(
        d,
        &["digest", "--items", &items, "--summary", "分析人员的摘要一"],
    );
    assert_eq!(g1["issue"], "第 1 期");
    let g2 = report(d, &["digest", "--items", &items]);
    assert_eq!(g2["issue"], "第 2 期", "the next number");
    let cited: Vec<&Value> = blocks(&g1, "items")
        .flat_map(|b| b["items"].as_array().expect("items").iter())
        .collect();
    assert_eq!(cited.len(), 2);
    assert_eq!(cited[0]["summary"], "分析人员的摘要一");
    assert_ne!(
        cited[1]["summary"], "",
        "without a summary the text is quoted"
    );

    // ---- 快报 of a document ----
    let f = report(
        d,
        &["flash", "--doc", &format!("{}:{}", docs[0].0, docs[0].1)],
    );
    assert_eq!(f["kind"], "flash");
    assert!(blocks(&f, "items").next().is_some());

    // ---- saved reports: list, show as made, rebuild to the same figures ----
    let list = String::from_utf8(run(&["report", "list", "--data", d]).stdout).expect("utf8");
    let daily_id: i64 = list
        .lines()
        .find(|l| {
            l.contains("\tdaily\t")
                && l.contains(&format!("{}年{}月{}日", day.year(), day.month(), day.day()))
        })
        .and_then(|l| l.split('\t').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("the daily report is listed: {list}"));
    let shown = json_of(&run(&[
        "report",
        "show",
        &daily_id.to_string(),
        "--data",
        d,
        "--format",
        "json",
    ]));
    assert_eq!(int(&shown, "total"), total);
    run(&["report", "rebuild", &daily_id.to_string(), "--data", d]);
    let again = json_of(&run(&[
        "report",
        "show",
        &daily_id.to_string(),
        "--data",
        d,
        "--format",
        "json",
    ]));
    let strip = |mut v: Value| {
        v["generated_at"] = Value::Null;
        v["date"] = Value::Null;
        v
    };
    assert_eq!(
        strip(again),
        strip(shown),
        "rebuilt from its inputs, identical"
    );

    // ---- bad input: clear errors, no panic ----
    let bad = |args: &[&str], what: &str| {
        let out = bin().args(args).args(["--data", d]).output().expect("run");
        assert!(!out.status.success(), "{args:?} must fail");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(what), "{args:?}: {err}");
        assert!(!err.contains("panicked"), "{err}");
    };
    bad(&["report", "weekly", "--week", "2026-W60"], "2026-W47");
    bad(&["report", "monthly", "--month", "11/2026"], "2026-11");
    bad(&["report", "event", "999999"], "999999");
    bad(&["report", "flash", "424242"], "424242");
    bad(&["report", "digest", "--items", "nocolon"], "platform:id");
    bad(
        &["report", "daily", "--date", &date, "--format", "pptx"],
        "html",
    );
}
