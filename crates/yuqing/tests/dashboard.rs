//! The dashboard, the search filters and the Excel export through a real `yuqing serve`, on
//! a slice of the shared CED data imported with `yuqing import`: the dashboard's figures
//! agree with each other and with `yuqing count`, the filtered counts add up, the export
//! is a valid xlsx with the expected header and rows, and the pages are served with the
//! security headers. The search box's plan language (issue 5): a plain word stays the
//! substring search, a plan expression gives what `yuqing plan test` gives, with its hit
//! terms highlighted, paging and filters, the export honouring it, and a malformed one is
//! a 400 with its position.

mod common;

use common::{first_events, run, unzip, write_lines};
use serde_json::Value;

const TOKEN: &str = "dash-t0ken";

fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// `yuqing count QUERY --data DATA ARGS…` as a number.
fn cli_count(data: &str, q: &str, args: &[&str]) -> u64 {
    let mut all = vec!["count", q, "--data", data];
    all.extend_from_slice(args);
    let out = run(&all);
    String::from_utf8_lossy(&out.stdout)
        .trim()
        .parse()
        .unwrap_or_else(|_| panic!("count output: {:?}", String::from_utf8_lossy(&out.stdout)))
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dashboard_search_filters_and_export_on_ced() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(40);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    run(&["import", src.to_str().expect("utf8"), "--data", d, "--json"]);
    let stored = cli_count(d, "", &[]);
    assert_eq!(stored, lines.len() as u64, "every CED line is stored");

    let srv = common::serve(
        tmp.path(),
        &format!("[server]\npush_tokens = [\"{TOKEN}\"]\n"),
    );
    let base = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let get = async |path: &str| {
        let r = c
            .get(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .header("X-Yuqing-User", "admin")
            .send()
            .await
            .expect("send");
        let status = r.status().as_u16();
        let v: Value = r.json().await.unwrap_or(Value::Null);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    };

    // Without an identity: 401.
    let r = c
        .get(format!("{base}/api/v1/dashboard"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);
    let r = c
        .get(format!("{base}/api/v1/search/export.xlsx?q=x"))
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 401);

    // Today (now): the 2012-era slice has nothing, but says where its data is.
    let now = get("/api/v1/dashboard").await;
    assert_eq!(now["range"], "today");
    assert_eq!(now["total"], 0, "{now}");
    assert!(now["latest_published_at"].is_string(), "{now}");
    // A moment inside the slice: the 80th percentile of publication times.
    let mut times: Vec<String> = lines
        .iter()
        .filter_map(|l| {
            serde_json::from_str::<Value>(l).expect("json")["published_at"]
                .as_str()
                .map(str::to_owned)
        })
        .collect();
    times.sort_by_key(|t| chrono::DateTime::parse_from_rfc3339(t).expect("time"));
    let latest = times[times.len() * 4 / 5].clone();

    // The week up to the newest document, and its figures against `yuqing count`.
    for range in ["week", "today"] {
        let started = std::time::Instant::now();
        let v = get(&format!(
            "/api/v1/dashboard?range={range}&at={}",
            urlencode(&latest)
        ))
        .await;
        let took = started.elapsed();
        let total = v["total"].as_u64().expect("total");
        let since = v["since"].as_str().expect("since");
        let until = v["until"].as_str().expect("until");
        let hours = v["hours"].as_array().expect("hours");
        let expect_hours = if range == "week" { 6 * 24 + 1 } else { 1 };
        assert!(
            hours.len() >= expect_hours && hours.len() <= 7 * 24,
            "{range}: {} hours",
            hours.len()
        );
        let by_hour: u64 = hours.iter().map(|h| h["count"].as_u64().expect("n")).sum();
        let prev: u64 = hours
            .iter()
            .map(|h| h["previous"].as_u64().expect("n"))
            .sum();
        assert_eq!(by_hour, total, "{range}: hours add up");
        assert_eq!(prev, v["previous_total"].as_u64().expect("prev"));
        let s = &v["sentiment"];
        let by_sentiment: u64 = ["positive", "neutral", "negative", "unjudged"]
            .iter()
            .map(|k| s[k].as_u64().expect("n"))
            .sum();
        assert_eq!(by_sentiment, total, "{range}: sentiment adds up");
        let by_platform: u64 = v["platforms"]
            .as_array()
            .expect("platforms")
            .iter()
            .map(|p| p["count"].as_u64().expect("n"))
            .sum();
        assert_eq!(by_platform, total, "{range}: platforms add up");
        // `until` is the newest document's time itself (exclusive), so count it apart.
        let counted = cli_count(d, "", &["--since", since, "--until", until]);
        assert_eq!(total, counted, "{range}: dashboard vs yuqing count");
        assert!(
            total > 0 || range == "today",
            "{range}: the week holds data"
        );
        if range == "week" {
            assert!(!v["hot_words"].as_array().expect("words").is_empty(), "{v}");
            assert_eq!(
                v["hot_words_sample"].as_u64(),
                Some(total.min(5000)),
                "hot words over the period's newest texts"
            );
            assert!(!v["events"].as_array().expect("events").is_empty());
        }
        for key in ["alerts", "overdue_cases", "sources"] {
            assert!(v[key].is_array(), "{key}: {v}");
        }
        eprintln!(
            "dashboard {range}: {total} documents, {} ms (server {} ms, aggregates {} ms)",
            took.as_millis(),
            v["server_ms"],
            v["computed_ms"]
        );
    }
    let r = c
        .get(format!("{base}/api/v1/dashboard?range=month"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400, "a bad range");
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_filters_export_and_pages() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(25);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    run(&["import", src.to_str().expect("utf8"), "--data", d, "--json"]);
    let srv = common::serve(
        tmp.path(),
        &format!("[server]\npush_tokens = [\"{TOKEN}\"]\n"),
    );
    let base = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let get = async |path: &str| -> Value {
        let r = c
            .get(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        assert_eq!(r.status().as_u16(), 200, "GET {path}");
        r.json().await.expect("json")
    };

    // Sentiment filters partition the results of a query (every CED document is judged).
    let q = urlencode("转发");
    let all = get(&format!("/api/v1/count?q={q}")).await["count"]
        .as_u64()
        .expect("count");
    assert!(all > 20, "转发 is common in CED: {all}");
    assert_eq!(all, cli_count(d, "转发", &[]));
    let mut parts = 0;
    for s in ["negative", "neutral", "positive"] {
        let n = get(&format!("/api/v1/count?q={q}&sentiment={s}")).await["count"]
            .as_u64()
            .expect("count");
        let page = get(&format!("/api/v1/search?q={q}&sentiment={s}&limit=5")).await;
        assert_eq!(page["total"].as_u64(), Some(n), "search and count agree");
        let want = match s {
            "negative" => -1,
            "neutral" => 0,
            _ => 1,
        };
        for h in page["hits"].as_array().expect("hits") {
            assert_eq!(h["sentiment"].as_i64(), Some(want), "{h}");
        }
        parts += n;
    }
    assert_eq!(parts, all, "sentiment filters partition the hits");
    let both = get(&format!("/api/v1/count?q={q}&sentiment=negative,neutral")).await["count"]
        .as_u64()
        .expect("count");
    assert!(both <= all);

    // Region: the author's location starts with it.
    let region = urlencode("北京");
    let page = get(&format!("/api/v1/search?region={region}&limit=50")).await;
    let expect_region = lines
        .iter()
        .filter(|l| {
            serde_json::from_str::<Value>(l).expect("json")["author"]["location"]
                .as_str()
                .is_some_and(|x| x.starts_with("北京"))
        })
        .count() as u64;
    assert_eq!(page["total"].as_u64(), Some(expect_region));
    // Bad filters are 400 with the one error format.
    let r = c
        .get(format!("{base}/api/v1/search?sentiment=angry"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 400);
    let e: Value = r.json().await.expect("json");
    assert_eq!(e["code"], "invalid_input", "{e}");

    // Every hit of a plain search carries its judgement; highlights are in the snippet.
    let page = get(&format!("/api/v1/search?q={}&limit=3", urlencode("医院"))).await;
    for h in page["hits"].as_array().expect("hits") {
        assert!(h.get("sentiment").is_some() && h.get("event_level").is_some());
        let text: Vec<char> = h["snippet"]["text"]
            .as_str()
            .expect("text")
            .chars()
            .collect();
        let (a, b) = (
            h["snippet"]["highlights"][0][0].as_u64().expect("a") as usize,
            h["snippet"]["highlights"][0][1].as_u64().expect("b") as usize,
        );
        assert_eq!(text[a..b].iter().collect::<String>(), "医院");
    }

    // The export: a valid xlsx, the header, one row per hit.
    let r = c
        .get(format!("{base}/api/v1/search/export.xlsx?q={q}&sort=time"))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    assert_eq!(
        r.headers()["content-type"],
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    );
    assert!(
        r.headers()["content-disposition"]
            .to_str()
            .expect("ascii")
            .starts_with("attachment;")
    );
    let bytes = r.bytes().await.expect("body");
    let files = unzip(&bytes);
    let sheet = String::from_utf8(files["xl/worksheets/sheet1.xml"].clone()).expect("utf8");
    let rows = sheet.matches("<row ").count() as u64;
    assert_eq!(rows, all + 1, "header + one row per hit");
    let shared = String::from_utf8(files["xl/sharedStrings.xml"].clone()).expect("shared strings");
    let mut at = 0;
    for head in [
        "时间",
        "平台",
        "作者",
        "标题/正文",
        "链接",
        "情感",
        "事件",
        "级别",
    ] {
        let i = shared[at..]
            .find(&format!(">{head}<"))
            .unwrap_or_else(|| panic!("header {head} in order"));
        at += i;
    }
    assert!(files.contains_key("[Content_Types].xml"));

    // The pages, with the security headers.
    for path in ["/", "/assets/pages/dashboard.js", "/assets/pages/search.js"] {
        let r = c.get(format!("{base}{path}")).send().await.expect("send");
        assert_eq!(r.status().as_u16(), 200, "{path}");
        let csp = r.headers()["content-security-policy"]
            .to_str()
            .expect("csp");
        assert!(csp.contains("script-src 'self'"), "{path}: {csp}");
        assert_eq!(r.headers()["x-content-type-options"], "nosniff");
        let body = r.text().await.expect("text");
        if path.ends_with(".js") {
            assert!(
                !body.contains("innerHTML"),
                "{path} builds the DOM with h()"
            );
        }
    }
}

/// `yuqing plan test EXPR --json`: the backtest's count (the plan language's oracle here).
fn backtest_count(data: &str, expr: &str) -> u64 {
    let out = run(&["plan", "test", expr, "--json", "--data", data]);
    let v: Value = serde_json::from_slice(&out.stdout).expect("plan test --json");
    v["count"].as_u64().expect("count")
}

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn search_accepts_the_plan_language() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(25);
    let src = write_lines(tmp.path(), "ced.jsonl", &lines);
    let data = tmp.path().join("data");
    let d = data.to_str().expect("utf8");
    run(&["import", src.to_str().expect("utf8"), "--data", d, "--json"]);
    let srv = common::serve(
        tmp.path(),
        &format!("[server]\npush_tokens = [\"{TOKEN}\"]\n"),
    );
    let base = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    let call = async |path: &str| -> (u16, Value) {
        let r = c
            .get(format!("{base}{path}"))
            .bearer_auth(TOKEN)
            .send()
            .await
            .expect("send");
        (r.status().as_u16(), r.json().await.unwrap_or(Value::Null))
    };
    let get = async |path: &str| -> Value {
        let (st, v) = call(path).await;
        assert_eq!(st, 200, "GET {path}: {v}");
        v
    };
    let total = async |q: &str, more: &str| -> u64 {
        let v = get(&format!("/api/v1/search?q={}&limit=1{more}", urlencode(q))).await;
        v["total"].as_u64().expect("total")
    };

    // A plain word stays the substring search: same total as `yuqing count`, relevance
    // order, the query reported as text.
    let plain = get(&format!("/api/v1/search?q={}&limit=10", urlencode("转发"))).await;
    assert_eq!(plain["query"]["type"], "text", "{}", plain["query"]);
    assert_eq!(plain["total"].as_u64(), Some(cli_count(d, "转发", &[])));
    assert!(plain["hits"][0].get("terms").is_none());

    // A plan: the total equals the backtest of `yuqing plan test` (a full scan with the
    // plan itself), and count agrees.
    for expr in [
        "转发+谣言",
        "转发|谣言",
        "转发-谣言",
        "(谣言|辟谣)+转发",
        "转发 谣言",
    ] {
        let want = backtest_count(d, expr);
        let v = get(&format!("/api/v1/search?q={}&limit=20", urlencode(expr))).await;
        assert_eq!(v["query"]["type"], "plan", "{expr}: {}", v["query"]);
        assert_eq!(v["total"].as_u64(), Some(want), "{expr}");
        let n = get(&format!("/api/v1/count?q={}", urlencode(expr))).await;
        assert_eq!(n["count"].as_u64(), Some(want), "count of {expr}");
    }
    let (a, ab, a_not_b) = (
        total("转发", "").await,
        total("转发+谣言", "").await,
        total("转发-谣言", "").await,
    );
    assert!(
        ab > 0 && a_not_b > 0,
        "both parts hold documents: {ab} {a_not_b}"
    );
    assert_eq!(ab + a_not_b, a, "A+B and A-B partition A");

    // Hits carry the plan's terms, highlighted in the snippet (never an excluded term).
    let v = get(&format!(
        "/api/v1/search?q={}&limit=20",
        urlencode("谣言|辟谣-不实")
    ))
    .await;
    let hits = v["hits"].as_array().expect("hits");
    assert!(!hits.is_empty(), "{v}");
    for h in hits {
        let terms: Vec<&str> = h["terms"]
            .as_array()
            .expect("terms")
            .iter()
            .filter_map(Value::as_str)
            .collect();
        assert!(!terms.is_empty() && !terms.contains(&"不实"), "{h}");
        let text: Vec<char> = h["snippet"]["text"]
            .as_str()
            .expect("text")
            .chars()
            .collect();
        for r in h["snippet"]["highlights"].as_array().expect("highlights") {
            let (s, e) = (
                r[0].as_u64().expect("s") as usize,
                r[1].as_u64().expect("e") as usize,
            );
            let marked: String = text[s..e].iter().collect();
            assert!(
                terms.iter().any(|t| marked.contains(t)),
                "{marked} of {terms:?}"
            );
        }
    }
    // Newest first, and pages follow each other without overlap.
    let q = urlencode("转发|谣言");
    let ten = get(&format!("/api/v1/search?q={q}&limit=10")).await;
    let ids = |v: &Value| -> Vec<String> {
        v["hits"]
            .as_array()
            .expect("hits")
            .iter()
            .map(|h| format!("{}:{}", h["platform"], h["id"]))
            .collect()
    };
    let times: Vec<String> = ten["hits"]
        .as_array()
        .expect("hits")
        .iter()
        .map(|h| h["published_at"].as_str().unwrap_or("").to_owned())
        .collect();
    let parsed: Vec<_> = times
        .iter()
        .filter(|t| !t.is_empty())
        .map(|t| chrono::DateTime::parse_from_rfc3339(t).expect("time"))
        .collect();
    assert!(
        parsed.windows(2).all(|w| w[0] >= w[1]),
        "newest first: {times:?}"
    );
    let p1 = get(&format!("/api/v1/search?q={q}&limit=5")).await;
    let p2 = get(&format!("/api/v1/search?q={q}&limit=5&offset=5")).await;
    assert_eq!(
        [ids(&p1), ids(&p2)].concat(),
        ids(&ten),
        "pages 1 and 2 = the first ten"
    );

    // Filters still apply: the sentiments partition the plan's hits.
    let all = total("转发|谣言", "").await;
    let mut parts = 0;
    for s in ["negative", "neutral", "positive"] {
        let page = get(&format!("/api/v1/search?q={q}&sentiment={s}&limit=50")).await;
        for h in page["hits"].as_array().expect("hits") {
            assert_eq!(
                h["sentiment"].as_i64(),
                Some(match s {
                    "negative" => -1,
                    "neutral" => 0,
                    _ => 1,
                }),
                "{h}"
            );
        }
        parts += page["total"].as_u64().expect("total");
    }
    assert_eq!(parts, all, "sentiment filters partition the plan's hits");

    // A malformed expression: 400, a stable code, the position, zh and en.
    for (expr, pos, kind) in [
        ("转发+(谣言", 3, "unbalanced_paren"),
        ("转发+", 2, "missing_operand"),
        ("-谣言", 0, "leading_not"),
        ("转发+foo:x", 3, "unknown_field"),
    ] {
        let (st, e) = call(&format!("/api/v1/search?q={}", urlencode(expr))).await;
        assert_eq!(st, 400, "{expr}: {e}");
        assert_eq!(e["code"], "invalid_input", "{e}");
        assert_eq!(e["kind"], kind, "{expr}: {e}");
        assert_eq!(e["position"], pos, "{expr}: {e}");
        assert_eq!(e["column"], pos + 1, "{expr}: {e}");
        let col = pos + 1;
        assert!(
            e["message"]
                .as_str()
                .expect("zh")
                .contains(&format!("第 {col} 列")),
            "{e}"
        );
        assert!(
            e["message_en"]
                .as_str()
                .expect("en")
                .contains(&format!("column {col}")),
            "{e}"
        );
        let (st, _) = call(&format!("/api/v1/count?q={}", urlencode(expr))).await;
        assert_eq!(st, 400, "count of {expr}");
        let (st, _) = call(&format!("/api/v1/search/export.xlsx?q={}", urlencode(expr))).await;
        assert_eq!(st, 400, "export of {expr}");
    }

    // The export honours the plan: one row per hit.
    let want = total("转发+谣言", "").await;
    let r = c
        .get(format!(
            "{base}/api/v1/search/export.xlsx?q={}",
            urlencode("转发+谣言")
        ))
        .bearer_auth(TOKEN)
        .send()
        .await
        .expect("send");
    assert_eq!(r.status().as_u16(), 200);
    let files = unzip(&r.bytes().await.expect("body"));
    let sheet = String::from_utf8(files["xl/worksheets/sheet1.xml"].clone()).expect("utf8");
    assert_eq!(
        sheet.matches("<row ").count() as u64,
        want + 1,
        "header + hits"
    );
}
