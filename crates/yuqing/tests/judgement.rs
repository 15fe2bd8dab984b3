//! End-to-end tests of judgement through the binary, on the first events of the shared
//! CED file (real Weibo posts with their real repost chains): events follow the parent
//! chains, propagation depth matches the chains, every event is graded with a reason,
//! plans declared in the config match at ingest exactly as `plan test` backtests them,
//! plans added at run time apply to later documents, corrections win and are counted,
//! and a level set by a person stands.

mod common;
use common::{first_events, run, write_lines};
use serde_json::Value;
use std::collections::HashMap;
use std::path::Path;

fn json_lines(out: &std::process::Output) -> Vec<Value> {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| !l.trim().is_empty())
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

/// The number on the first line of a command's output (`plan test`, `plan hits`).
fn first_number(out: &std::process::Output) -> u64 {
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .next()
        .expect("a first line")
        .trim()
        .parse()
        .expect("a number")
}

fn s(p: &Path) -> &str {
    p.to_str().expect("utf8 path")
}

/// Per CED event: the post id, the number of documents, and each document's depth in its
/// parent chain (the post has depth 0).
struct CedEvent {
    post: String,
    docs: usize,
    depth: HashMap<String, u32>,
}

fn ced_events(lines: &[String]) -> Vec<CedEvent> {
    let mut order: Vec<String> = Vec::new();
    let mut by_event: HashMap<String, Vec<Value>> = HashMap::new();
    for l in lines {
        let v: Value = serde_json::from_str(l).expect("json");
        let e = v["event_id"].as_str().expect("event_id").to_owned();
        if !by_event.contains_key(&e) {
            order.push(e.clone());
        }
        by_event.entry(e).or_default().push(v);
    }
    order
        .iter()
        .map(|e| {
            let docs = &by_event[e];
            let post = docs.iter().find(|d| d["kind"] == "post").expect("a post")["id"]
                .as_str()
                .expect("id")
                .to_owned();
            let parent: HashMap<&str, &str> = docs
                .iter()
                .filter_map(|d| Some((d["id"].as_str()?, d["parent_id"].as_str()?)))
                .collect();
            let mut depth = HashMap::new();
            for d in docs {
                let id = d["id"].as_str().expect("id");
                let (mut k, mut cur) = (0u32, id);
                while let Some(p) = parent.get(cur) {
                    k += 1;
                    cur = p;
                    assert!(k < 10_000, "cycle in CED chain");
                }
                depth.insert(id.to_owned(), k);
            }
            CedEvent {
                post,
                docs: docs.len(),
                depth,
            }
        })
        .collect()
}

#[test]
fn events_follow_the_real_repost_chains_and_are_graded() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(25);
    let src = write_lines(tmp.path(), "ev.jsonl", &lines);
    let data = tmp.path().join("data");
    run(&["import", s(&src), "--data", s(&data), "--json"]);
    let ced = ced_events(&lines);

    let events = json_lines(&run(&[
        "events",
        "--json",
        "--limit",
        "1000",
        "--data",
        s(&data),
    ]));
    // Each CED event is one yuqing event, founded by its post, with all its documents.
    assert_eq!(events.len(), ced.len(), "one event per CED event");
    let by_root: HashMap<&str, &Value> = events
        .iter()
        .map(|e| (e["root_id"].as_str().expect("root_id"), e))
        .collect();
    for c in &ced {
        let e = by_root
            .get(c.post.as_str())
            .unwrap_or_else(|| panic!("no event with root {}", c.post));
        assert_eq!(
            e["documents"].as_u64(),
            Some(c.docs as u64),
            "event of {}",
            c.post
        );
        let level = e["level"].as_str().expect("every event has a level");
        assert!(
            ["general", "large", "major", "especially_major"].contains(&level),
            "{level}"
        );
    }
    // Most serious first.
    let rank = |l: &str| {
        ["general", "large", "major", "especially_major"]
            .iter()
            .position(|x| *x == l)
    };
    let ranks: Vec<_> = events
        .iter()
        .map(|e| rank(e["level"].as_str().expect("level")))
        .collect();
    assert!(
        ranks.windows(2).all(|w| w[0] >= w[1]),
        "sorted by level: {ranks:?}"
    );

    // The largest event in full: propagation matches the parent chains.
    let big = ced.iter().max_by_key(|c| c.docs).expect("events");
    let id = by_root[big.post.as_str()]["id"]
        .as_i64()
        .expect("id")
        .to_string();
    let a: Value =
        serde_json::from_slice(&run(&["event", &id, "--json", "--data", s(&data)]).stdout)
            .expect("event json");
    assert_eq!(a["root_id"].as_str(), Some(big.post.as_str()));
    assert_eq!(a["first_publisher"]["id"].as_str(), Some(big.post.as_str()));
    assert_eq!(a["documents"].as_u64(), Some(big.docs as u64));
    let want_max = *big.depth.values().max().expect("docs");
    assert_eq!(
        a["propagation"]["max_depth"].as_u64(),
        Some(u64::from(want_max))
    );
    let mut per_depth = vec![0u64; want_max as usize + 1];
    for d in big.depth.values() {
        per_depth[*d as usize] += 1;
    }
    let got: Vec<u64> = a["propagation"]["per_depth"]
        .as_array()
        .expect("per_depth")
        .iter()
        .map(|v| v.as_u64().expect("n"))
        .collect();
    assert_eq!(got, per_depth, "documents per depth");
    let top = &a["propagation"]["top_spreaders"][0];
    assert!(top["downstream"].as_u64().expect("downstream") > 0);
    // Shares and series add up.
    let trend: u64 = a["trend"]
        .as_array()
        .expect("trend")
        .iter()
        .map(|h| h["documents"].as_u64().expect("n"))
        .sum();
    assert!(
        trend <= big.docs as u64 && trend + 60 >= big.docs as u64,
        "trend {trend}"
    );
    let sent = &a["sentiment"];
    let judged = ["positive", "neutral", "negative", "unjudged"]
        .iter()
        .map(|k| sent[k].as_u64().expect("count"))
        .sum::<u64>();
    assert_eq!(judged, big.docs as u64);
    assert_eq!(a["kinds"]["originals"].as_u64(), Some(1));
    assert!(a["level_reason"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(a["level_reason_en"].as_str().is_some_and(|r| !r.is_empty()));
    assert!(
        a["level_history"].as_array().is_some_and(|h| !h.is_empty()),
        "the level is recorded"
    );
    assert!(a["hot_words"].as_array().is_some_and(|h| h.len() >= 5));
    assert!(a["peak_hour"]["documents"].as_u64().expect("peak") >= 1);

    // Re-importing adds nothing and changes no event.
    run(&["import", s(&src), "--data", s(&data), "--json"]);
    let again = json_lines(&run(&[
        "events",
        "--json",
        "--limit",
        "1000",
        "--data",
        s(&data),
    ]));
    assert_eq!(again.len(), events.len());

    // A person lowers a level; it stands when more documents arrive.
    let top_event = &events[0];
    let top_id = top_event["id"].as_i64().expect("id").to_string();
    run(&[
        "level",
        &top_id,
        "general",
        "--by",
        "值班员",
        "--reason",
        "经核实影响有限",
        "--data",
        s(&data),
    ]);
    let extra = tmp.path().join("extra.jsonl");
    let mut more = serde_json::json!({
        "id": "extra-reply", "platform": "weibo", "kind": "repost", "text": "转发",
        "parent_id": top_event["root_id"], "published_at": "2014-05-01T10:00:00+08:00"
    })
    .to_string();
    more.push('\n');
    std::fs::write(&extra, more).expect("write");
    run(&["import", s(&extra), "--data", s(&data), "--json"]);
    let a: Value =
        serde_json::from_slice(&run(&["event", &top_id, "--json", "--data", s(&data)]).stdout)
            .expect("event json");
    assert_eq!(
        a["level"].as_str(),
        Some("general"),
        "a person's level stands"
    );
    assert_eq!(
        a["documents"].as_u64(),
        top_event["documents"].as_u64().map(|n| n + 1),
        "the reply joined its root's event"
    );
    let history = a["level_history"].as_array().expect("history");
    assert_eq!(history.last().expect("last")["by"].as_str(), Some("值班员"));
}

#[test]
fn plans_match_at_ingest_as_plan_test_backtests() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(30);
    let (first, second) = lines.split_at(lines.len() / 2);
    let a = write_lines(tmp.path(), "a.jsonl", first);
    let b = write_lines(tmp.path(), "b.jsonl", second);
    let all = write_lines(tmp.path(), "all.jsonl", &lines);
    let cfg = tmp.path().join("yuqing.toml");
    std::fs::write(
        &cfg,
        "[[plans]]\nname = '钓鱼岛'\nexpression = '钓鱼岛|日本+军'\n\n\
         [[plans]]\nname = '医院'\nsubject = ['医院', '医生']\nexclusion = ['广告']\n",
    )
    .expect("config");
    let data = tmp.path().join("data");
    let with = |args: &[&str]| -> std::process::Output {
        let mut v: Vec<&str> = args.to_vec();
        v.extend(["--data", s(&data), "--config", s(&cfg)]);
        run(&v)
    };
    with(&["import", s(&a), "--json"]);
    let plans = json_lines(&with(&["plan", "list", "--json"]));
    assert_eq!(plans.len(), 2);
    assert_eq!(plans[1]["expression"].as_str(), Some("(医院|医生)-广告"));
    assert_eq!(plans[0]["origin"].as_str(), Some("config"));

    // A plan added at run time matches the documents ingested after it.
    let added = json_lines(&with(&["plan", "add", "转发", "转发+谣言"]));
    let added_id = added[0]["id"].as_i64().expect("id").to_string();
    with(&["import", s(&b), "--json"]);

    // At-ingest hits equal the backtest over the whole store.
    for p in &plans {
        let id = p["id"].as_i64().expect("id").to_string();
        let out = with(&["plan", "hits", &id, "--json", "--limit", "5"]);
        let text = String::from_utf8_lossy(&out.stdout).to_string();
        let hits = first_number(&out);
        let expr = p["expression"].as_str().expect("expr");
        let backtest = first_number(&with(&["plan", "test", expr]));
        assert!(hits > 0, "plan {expr} hit nothing");
        assert_eq!(hits, backtest, "plan {expr}: hits at ingest vs backtest");
        for h in text.lines().skip(1) {
            let h: Value = serde_json::from_str(h).expect("hit json");
            let terms = h["terms"].as_array().expect("terms");
            assert!(!terms.is_empty(), "a hit names its terms");
            assert!(terms.iter().all(|t| t != "广告"), "never an excluded term");
        }
    }
    // The run-time plan saw only the second half: compare with a fresh store holding only it.
    let hits_added = first_number(&with(&["plan", "hits", &added_id]));
    let only_b = tmp.path().join("only-b");
    run(&["import", s(&b), "--data", s(&only_b), "--json"]);
    let want = first_number(&run(&["plan", "test", "转发+谣言", "--data", s(&only_b)]));
    assert_eq!(hits_added, want, "a plan applies from when it is added");
    // Switching off and removing.
    with(&["plan", "disable", &added_id]);
    let listed = json_lines(&with(&["plan", "list", "--json"]));
    assert!(
        listed.iter().any(
            |p| p["id"].as_i64().map(|i| i.to_string()) == Some(added_id.clone())
                && p["active"] == false
        )
    );
    with(&["plan", "remove", &added_id]);
    assert_eq!(json_lines(&with(&["plan", "list", "--json"])).len(), 2);
    let _ = all;
}

#[test]
fn corrections_win_over_the_model_and_count() {
    let tmp = tempfile::tempdir().expect("tmp");
    let lines = first_events(3);
    let src = write_lines(tmp.path(), "ev.jsonl", &lines);
    let data = tmp.path().join("data");
    run(&["import", s(&src), "--data", s(&data), "--json"]);
    let events = json_lines(&run(&["events", "--json", "--data", s(&data)]));
    let e = &events[0];
    let id = e["id"].as_i64().expect("id").to_string();
    let before: Value =
        serde_json::from_slice(&run(&["event", &id, "--json", "--data", s(&data)]).stdout)
            .expect("json");
    let root = e["root_id"].as_str().expect("root");
    let doc = format!("weibo:{root}");
    // Whatever the model said, make it negative, then positive.
    let out = run(&[
        "correct",
        &doc,
        "--sentiment",
        "negative",
        "--content-type",
        "complaint",
        "--by",
        "张三",
        "--note",
        "人工复核",
        "--data",
        s(&data),
    ]);
    let records = json_lines(&out);
    assert_eq!(records.len(), 2);
    assert_eq!(records[0]["field"], "sentiment");
    assert_eq!(records[0]["new_value"], "-1");
    assert_eq!(records[0]["by"], "张三");
    let after: Value =
        serde_json::from_slice(&run(&["event", &id, "--json", "--data", s(&data)]).stdout)
            .expect("json");
    let old = before["sentiment"].clone();
    let was_negative = records[0]["old_value"] == "-1";
    let want_neg = old["negative"].as_u64().expect("n") + u64::from(!was_negative);
    assert_eq!(after["sentiment"]["negative"].as_u64(), Some(want_neg));
    let complaints = |v: &Value| {
        v["content_types"]
            .as_array()
            .expect("types")
            .iter()
            .find(|t| t["name"] == "complaint")
            .and_then(|t| t["documents"].as_u64())
            .unwrap_or(0)
    };
    assert!(complaints(&after) >= 1);
    // Bad input gets a clear message, nothing changes.
    let bad = common::bin()
        .args([
            "correct",
            &doc,
            "--sentiment",
            "angry",
            "--by",
            "x",
            "--data",
            s(&data),
        ])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(String::from_utf8_lossy(&bad.stderr).contains("positive|neutral|negative"));
    let missing = common::bin()
        .args([
            "correct",
            "weibo:nope",
            "--sentiment",
            "positive",
            "--by",
            "x",
            "--data",
            s(&data),
        ])
        .output()
        .expect("run");
    assert!(!missing.status.success());
    assert!(String::from_utf8_lossy(&missing.stderr).contains("no document weibo:nope"));
}
