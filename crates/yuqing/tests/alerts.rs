//! Alerts end to end through a real `yuqing serve`: a document pushed through the API that
//! hits a configured plan reaches a webhook receiver on 127.0.0.1 with the Chinese message,
//! once; the alert shows in the API inbox with its delivery log; acknowledging needs a
//! known user; the CLI lists it as acknowledged.

mod common;

use serde_json::{Value, json};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

#[cfg(unix)]
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_pushed_item_that_hits_a_plan_alerts_once_through_the_webhook() {
    let (got, hook) = common::webhook().await;

    let tmp = tempfile::tempdir().expect("tmp");
    let srv = common::serve(
        tmp.path(),
        &format!(
            r#"
[server]
push_tokens = ["t0ken"]

[[plans]]
name = "校园食品安全"
expression = "食堂+(变质|中毒)"

[[alert_rules]]
name = "校园"
plans = ["校园食品安全"]

[[channels]]
type = "webhook"
name = "值班"
url = "http://{hook}/hook"

# No scheduled reports here: their announcements would reach the webhook too.
[report]
daily_at = ""
weekly_at = ""
monthly_at = ""
"#
        ),
    );
    let base = srv.base.clone();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let c = reqwest::Client::new();
    // The live stream (server-sent events), opened before anything happens.
    let mut live = c
        .get(format!("{base}/api/v1/live"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("live");
    assert_eq!(live.status().as_u16(), 200);
    assert!(
        live.headers()["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("text/event-stream")
    );
    let live_text = Arc::new(Mutex::new(String::new()));
    let sink = live_text.clone();
    let reader = tokio::spawn(async move {
        while let Ok(Some(chunk)) = live.chunk().await {
            sink.lock()
                .expect("lock")
                .push_str(&String::from_utf8_lossy(&chunk));
        }
    });
    let now = chrono::Utc::now().to_rfc3339();
    let docs = [
        json!({"id": "a1", "platform": "weibo", "kind": "post", "published_at": now,
               "url": "https://weibo.com/1/a1",
               "author": {"id": "9", "name": "本地爆料"},
               "text": "某中学食堂饭菜变质，多名学生腹泻 <script>alert(1)</script>"}),
        json!({"id": "a2", "platform": "weibo", "kind": "post", "published_at": now,
               "text": "今天天气不错"}),
    ];
    let body = docs
        .iter()
        .map(Value::to_string)
        .collect::<Vec<_>>()
        .join("\n");
    let r = c
        .post(format!("{base}/api/v1/documents"))
        .bearer_auth("t0ken")
        .body(body)
        .send()
        .await
        .expect("push");
    assert_eq!(r.status().as_u16(), 200);

    let deadline = Instant::now() + Duration::from_secs(20);
    while got.lock().expect("lock").is_empty() && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // A repeat of the same event does not alert again.
    let again = json!({"id": "a3", "platform": "weibo", "kind": "repost", "parent_id": "a1",
                       "published_at": now, "text": "转发：食堂饭菜变质"});
    let r = c
        .post(format!("{base}/api/v1/documents"))
        .bearer_auth("t0ken")
        .body(again.to_string())
        .send()
        .await
        .expect("push");
    assert_eq!(r.status().as_u16(), 200);
    tokio::time::sleep(Duration::from_secs(2)).await;
    let received = got.lock().expect("lock").clone();
    assert_eq!(received.len(), 1, "one alert: {received:?}");
    let m = &received[0];
    assert_eq!(m["plan"], "校园食品安全");
    // A negative original about food safety (a critical category) is especially major.
    assert_eq!(m["level"], "especially_major");
    assert!(m["why"].as_str().expect("why").contains("预警规则"), "{m}");
    assert_eq!(m["link"], "https://weibo.com/1/a1");
    assert_eq!(m["first_publisher"]["name"], "本地爆料");
    let text = m["text"].as_str().expect("text");
    assert!(text.contains("舆情预警") && text.contains("校园"), "{text}");

    // The inbox shows it with its delivery log and the later hit counted.
    let list: Value = c
        .get(format!("{base}/api/v1/alerts?unacked=true"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("list")
        .json()
        .await
        .expect("json");
    let alerts = list["alerts"].as_array().expect("alerts");
    assert_eq!(alerts.len(), 1, "{list}");
    let id = alerts[0]["id"].as_i64().expect("id");
    assert_eq!(alerts[0]["hits"], 2, "the repost matched the same event");
    assert_eq!(m["alert_id"], id.to_string());
    let one: Value = c
        .get(format!("{base}/api/v1/alerts/{id}"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(one["deliveries"][0]["channel"], "值班");
    assert_eq!(one["deliveries"][0]["attempts"][0]["state"], "delivered");

    // The live stream told about it: counters first, then the alert with its id.
    let deadline = Instant::now() + Duration::from_secs(15);
    let want = format!("\"id\":{id}");
    while !(live_text.lock().expect("lock").contains("event: alert")
        && live_text.lock().expect("lock").contains(&want))
        && Instant::now() < deadline
    {
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let text = live_text.lock().expect("lock").clone();
    assert!(text.contains("event: counters"), "{text}");
    assert!(
        text.contains("event: alert") && text.contains(&want),
        "the new alert on the live stream: {text}"
    );
    reader.abort();

    // The settings the admin page shows: channels without their secrets, the rules in force.
    let ch = c
        .get(format!("{base}/api/v1/channels"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("channels")
        .text()
        .await
        .expect("text");
    let chv: Value = serde_json::from_str(&ch).expect("json");
    assert_eq!(
        chv["channels"],
        json!([{"name": "值班", "type": "webhook"}])
    );
    assert!(!ch.contains(&hook.to_string()), "no webhook URL: {ch}");
    let rules: Value = c
        .get(format!("{base}/api/v1/alert-rules"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("rules")
        .json()
        .await
        .expect("json");
    let names: Vec<&str> = rules["rules"]
        .as_array()
        .expect("rules")
        .iter()
        .filter_map(|r| r["name"].as_str())
        .collect();
    assert!(
        names.contains(&"校园") && names.contains(&"major_any_plan"),
        "{names:?}"
    );

    // Acknowledging needs the token and a user of the organisation.
    let ack = |user: &'static str| {
        c.post(format!("{base}/api/v1/alerts/{id}/ack"))
            .bearer_auth("t0ken")
            .header("X-Yuqing-User", user)
            .send()
    };
    assert_eq!(ack("nobody").await.expect("ack").status().as_u16(), 403);
    let org = json!({
        "units": [{"id": "county", "name": "某县", "kind": "organisation"}],
        "users": [{"id": "duty", "name": "值班员", "grants": [{"unit": "county", "role": "analyst"}]}]
    });
    let r = c
        .put(format!("{base}/api/v1/org"))
        .bearer_auth("t0ken")
        // The administrator serve created on its first start.
        .header("X-Yuqing-User", "admin")
        .json(&org)
        .send()
        .await
        .expect("org");
    assert_eq!(r.status().as_u16(), 200);
    let r = ack("duty").await.expect("ack");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(v["acked_by"], "duty");

    // The person on duty finds it a false alarm; the plan's count shows it.
    let verdict = |body: Value| {
        c.post(format!("{base}/api/v1/alerts/{id}/verdict"))
            .bearer_auth("t0ken")
            .header("X-Yuqing-User", "duty")
            .json(&body)
            .send()
    };
    let r = verdict(json!({"verdict": "misfire"}))
        .await
        .expect("verdict");
    assert_eq!(r.status().as_u16(), 400);
    let e: Value = r.json().await.expect("json");
    assert!(e.to_string().contains("false_alarm"), "{e}");
    let r = verdict(json!({"verdict": "false_alarm", "note": "同名学校，不是本县"}))
        .await
        .expect("verdict");
    assert_eq!(r.status().as_u16(), 200);
    let v: Value = r.json().await.expect("json");
    assert_eq!(
        (
            &v["verdict"]["verdict"],
            &v["verdict"]["by"],
            &v["verdict"]["note"]
        ),
        (
            &json!("false_alarm"),
            &json!("duty"),
            &json!("同名学校，不是本县")
        )
    );
    let q: Value = c
        .get(format!("{base}/api/v1/alerts/quality"))
        .bearer_auth("t0ken")
        .send()
        .await
        .expect("quality")
        .json()
        .await
        .expect("json");
    let plan = &q["plans"][0];
    assert_eq!(plan["plan"], "校园食品安全", "{q}");
    assert_eq!(
        (
            &plan["alerts"],
            &plan["false_alarms"],
            &plan["false_alarm_rate"]
        ),
        (&json!(1), &json!(1), &json!(1.0)),
        "{q}"
    );
    // A period: `until` the day before the alert's leaves it out; a bare date for its day
    // includes the whole day. The inbox reads the same way.
    let get = |path: String| {
        let c = c.clone();
        async move {
            c.get(path)
                .bearer_auth("t0ken")
                .send()
                .await
                .expect("get")
                .json::<Value>()
                .await
                .expect("json")
        }
    };
    let all = get(format!("{base}/api/v1/alerts")).await;
    let raised: chrono::DateTime<chrono::FixedOffset> = all["alerts"][0]["raised_at"]
        .as_str()
        .and_then(|t| chrono::DateTime::parse_from_rfc3339(t).ok())
        .expect("raised_at");
    // The Beijing day it was raised on.
    let day = raised
        .with_timezone(&chrono::FixedOffset::east_opt(8 * 3600).expect("+8"))
        .date_naive();
    let before = day.pred_opt().expect("the day before");
    for (until, plans, listed) in [(before, 0, 0), (day, 1, 1)] {
        let q = get(format!("{base}/api/v1/alerts/quality?until={until}")).await;
        assert_eq!(
            q["plans"].as_array().map(Vec::len),
            Some(plans),
            "{until}: {q}"
        );
        let l = get(format!("{base}/api/v1/alerts?until={until}")).await;
        assert_eq!(
            l["alerts"].as_array().map(Vec::len),
            Some(listed),
            "{until}: {l}"
        );
    }

    let out = common::run(&[
        "alert",
        "list",
        "--json",
        "--data",
        tmp.path().join("data").to_str().expect("path"),
    ]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line: Value =
        serde_json::from_slice(out.stdout.split(|b| *b == b'\n').next().expect("line"))
            .expect("json line");
    assert_eq!(line["acked_by"], "duty");
    assert_eq!(line["verdict"]["verdict"], "false_alarm");

    // From the command line: the verdict changed to confirmed; a wrong one is refused.
    let data = tmp.path().join("data");
    let d = data.to_str().expect("path");
    let id_s = id.to_string();
    let bad = common::bin()
        .args([
            "alert", "verdict", &id_s, "maybe", "--as", "duty", "--data", d,
        ])
        .output()
        .expect("run");
    assert!(!bad.status.success());
    assert!(
        String::from_utf8_lossy(&bad.stderr).contains("false_alarm"),
        "{}",
        String::from_utf8_lossy(&bad.stderr)
    );
    let ok = common::run(&[
        "alert",
        "verdict",
        &id_s,
        "confirmed",
        "--note",
        "核实属实",
        "--as",
        "duty",
        "--data",
        d,
    ]);
    assert!(
        ok.status.success(),
        "{}",
        String::from_utf8_lossy(&ok.stderr)
    );
    let early = common::run(&["alert", "quality", "--until", "2000-01-01", "--data", d]);
    assert!(
        early.status.success(),
        "{}",
        String::from_utf8_lossy(&early.stderr)
    );
    assert!(
        !String::from_utf8_lossy(&early.stdout).contains("校园食品安全"),
        "no alert before 2000: {}",
        String::from_utf8_lossy(&early.stdout)
    );
    let q = common::run(&["alert", "quality", "--json", "--data", d]);
    assert!(q.status.success(), "{}", String::from_utf8_lossy(&q.stderr));
    let q: Value = serde_json::from_slice(q.stdout.split(|b| *b == b'\n').next().expect("line"))
        .expect("json line");
    assert_eq!(
        (&q["plan"], &q["confirmed"], &q["false_alarms"]),
        (&json!("校园食品安全"), &json!(1), &json!(0))
    );
    drop(srv);
}
