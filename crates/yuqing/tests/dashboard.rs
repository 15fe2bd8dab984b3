//! The dashboard, the search filters and the Excel export through a real `yuqing serve`, on
//! a slice of the shared CED data imported with `yuqing import`: the dashboard's figures
//! agree with each other and with `yuqing count`, the filtered counts add up, the export
//! is a valid xlsx with the expected header and rows, and the pages are served with the
//! security headers.

mod common;

use common::{first_events, run, write_lines};
use serde_json::Value;
use std::collections::HashMap;
use std::io::Read;

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

/// The files of a zip archive (stored or deflated), read through its central directory.
fn unzip(bytes: &[u8]) -> HashMap<String, Vec<u8>> {
    let u16_at = |i: usize| u16::from_le_bytes([bytes[i], bytes[i + 1]]) as usize;
    let u32_at = |i: usize| {
        u32::from_le_bytes([bytes[i], bytes[i + 1], bytes[i + 2], bytes[i + 3]]) as usize
    };
    let eocd = (0..bytes.len().saturating_sub(21))
        .rev()
        .find(|&i| u32_at(i) == 0x0605_4b50)
        .expect("zip: end of central directory");
    let (entries, mut at) = (u16_at(eocd + 10), u32_at(eocd + 16));
    let mut out = HashMap::new();
    for _ in 0..entries {
        assert_eq!(u32_at(at), 0x0201_4b50, "zip: central directory entry");
        let method = u16_at(at + 10);
        let (csize, size) = (u32_at(at + 20), u32_at(at + 24));
        let (name_len, extra_len, comment_len) =
            (u16_at(at + 28), u16_at(at + 30), u16_at(at + 32));
        let local = u32_at(at + 42);
        let name = String::from_utf8(bytes[at + 46..at + 46 + name_len].to_vec()).expect("name");
        assert_eq!(u32_at(local), 0x0403_4b50, "zip: local header of {name}");
        let data_at = local + 30 + u16_at(local + 26) + u16_at(local + 28);
        let raw = &bytes[data_at..data_at + csize];
        let data = match method {
            0 => raw.to_vec(),
            8 => {
                let mut v = Vec::new();
                flate2::read::DeflateDecoder::new(raw)
                    .read_to_end(&mut v)
                    .expect("inflate");
                v
            }
            m => panic!("zip: method {m} of {name}"),
        };
        assert_eq!(data.len(), size, "zip: size of {name}");
        out.insert(name, data);
        at += 46 + name_len + extra_len + comment_len;
    }
    out
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
