//! Integration tests of the alert channels and the outbox against real local servers on
//! 127.0.0.1:0: a generic webhook receiver, fake WeCom/DingTalk/Feishu robots that check
//! signatures the way the vendors document them, a flaky receiver driven through the outbox
//! with a `FixedClock`, and an SMTP sink written here (EHLO/MAIL/RCPT/DATA/QUIT).

use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::extract::{Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::post;
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD as BASE64;
use chrono::{DateTime, TimeZone, Utc};
use hmac::{Hmac, Mac};
use serde_json::{Value, json};
use sha2::Sha256;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use yuqing_alert::message::MessageKind;
use yuqing_alert::{
    AlertError, AlertMessage, AttemptState, Channel, ChannelConfig, Outbox, OutboxSettings,
    Outcome, Publisher,
};
use yuqing_core::{Clock, Code, FixedClock};
use yuqing_judge::grading::Level;

// ---------------------------------------------------------------------------------------
// Helpers

async fn serve(router: Router) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("local addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, router).await;
    });
    addr
}

#[derive(serde::Deserialize)]
struct File {
    channels: Vec<ChannelConfig>,
}

fn channel(toml_text: &str) -> Channel {
    config(toml_text).build().expect("build channel")
}

fn config(toml_text: &str) -> ChannelConfig {
    let mut f: File =
        toml::from_str(toml_text).unwrap_or_else(|e| panic!("bad test config: {e}\n{toml_text}"));
    f.channels.remove(0)
}

fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2024, 5, 1, 2, 0, 0).unwrap()
}

fn message(id: &str, title: &str) -> AlertMessage {
    AlertMessage {
        alert_id: id.into(),
        level: Level::EspeciallyMajor,
        plan: "食品安全".into(),
        title: title.into(),
        first_publisher: Some(Publisher {
            name: "网友甲".into(),
            time: Some(t0() - chrono::Duration::minutes(40)),
        }),
        link: Some("https://weibo.com/1/abc".into()),
        why: "评论 612 条，达到特别重大阈值（≥ 500）".into(),
        why_en: Some("612 comments, at the especially-major threshold (≥ 500)".into()),
        found_at: t0() - chrono::Duration::minutes(5),
        kind: MessageKind::Alert,
        next: None,
        next_en: None,
        mention: Vec::new(),
        mention_email: Vec::new(),
        mention_feishu: Vec::new(),
    }
}

fn hmac_b64(key: &[u8], msg: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(key).unwrap();
    mac.update(msg);
    BASE64.encode(mac.finalize().into_bytes())
}

// ---------------------------------------------------------------------------------------
// Generic webhook

#[derive(Clone, Default)]
struct Seen(Arc<Mutex<Vec<Value>>>);

async fn webhook(State(seen): State<Seen>, headers: HeaderMap, body: String) -> Response {
    if headers.get("authorization").and_then(|v| v.to_str().ok()) != Some("Bearer s3cret-token") {
        return (StatusCode::UNAUTHORIZED, "bad token").into_response();
    }
    if headers.get("x-org").and_then(|v| v.to_str().ok()) != Some("county") {
        return (StatusCode::BAD_REQUEST, "no x-org").into_response();
    }
    if !headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/json"))
    {
        return (StatusCode::UNSUPPORTED_MEDIA_TYPE, "json please").into_response();
    }
    let Ok(v) = serde_json::from_str::<Value>(&body) else {
        return (StatusCode::BAD_REQUEST, "bad json").into_response();
    };
    seen.0.lock().unwrap().push(v);
    StatusCode::NO_CONTENT.into_response()
}

#[tokio::test]
async fn webhook_posts_the_documented_json_with_bearer() {
    let seen = Seen::default();
    let addr = serve(
        Router::new()
            .route("/hook", post(webhook))
            .with_state(seen.clone()),
    )
    .await;
    let ch = channel(&format!(
        r#"
        [[channels]]
        name = "ops"
        type = "webhook"
        url = "http://{addr}/hook"
        bearer = "s3cret-token"
        headers = {{ "X-Org" = "county" }}
        "#
    ));
    let d = ch
        .send(&message("al-1", "某校食堂疑似食物中毒"), t0())
        .await
        .expect("sent");
    assert_eq!(d.detail, "HTTP 204");
    assert_eq!(d.at, t0());
    let got = seen.0.lock().unwrap().remove(0);
    assert_eq!(got["version"], 1);
    assert_eq!(got["alert_id"], "al-1");
    assert_eq!(got["level"], "especially_major");
    assert_eq!(got["level_label"], "特别重大");
    assert_eq!(got["plan"], "食品安全");
    assert_eq!(got["title"], "某校食堂疑似食物中毒");
    assert_eq!(got["first_publisher"]["name"], "网友甲");
    assert_eq!(got["first_publisher"]["time"], "2024-05-01T01:20:00Z");
    assert_eq!(got["link"], "https://weibo.com/1/abc");
    assert_eq!(got["sent_at"], "2024-05-01T02:00:00Z");
    assert!(
        got["next_step"]
            .as_str()
            .unwrap()
            .contains("2 小时内向上级报告")
    );
    assert!(
        got["text"]
            .as_str()
            .unwrap()
            .starts_with("【舆情预警·特别重大】")
    );

    // A wrong token is a failure that names the status, not the token.
    let bad = channel(&format!(
        "[[channels]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://{addr}/hook\"\nbearer = \"wrong\"\n"
    ));
    let e = bad.send(&message("al-1", "x"), t0()).await.unwrap_err();
    assert!(matches!(e, AlertError::Status { status: 401, .. }), "{e}");
    assert_eq!(e.code(), Code::Unavailable);
    assert!(!format!("{e} {e:?}").contains("wrong"));
}

// ---------------------------------------------------------------------------------------
// Robots

/// What the fake robots share: the secret they expect and the time they believe it is.
#[derive(Clone)]
struct Robot {
    secret: &'static str,
    now: DateTime<Utc>,
    bodies: Arc<Mutex<Vec<Value>>>,
}

impl Robot {
    fn new(secret: &'static str) -> Self {
        Robot {
            secret,
            now: t0(),
            bodies: Arc::default(),
        }
    }
}

/// DingTalk: `timestamp` (ms) within an hour of now, `sign` = base64(HmacSHA256(secret,
/// timestamp + "\n" + secret)), URL-encoded in the query (axum decodes it back).
async fn dingtalk(
    State(r): State<Robot>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let err =
        |code: i64, msg: &str| axum::Json(json!({"errcode": code, "errmsg": msg})).into_response();
    if q.get("access_token").map(String::as_str) != Some("dd-token") {
        return err(300001, "token is not exist");
    }
    let (Some(ts), Some(sign)) = (q.get("timestamp"), q.get("sign")) else {
        return err(310000, "sign not match");
    };
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return err(310000, "sign not match");
    };
    if (r.now.timestamp_millis() - ts_ms).abs() > 3_600_000 {
        return err(310000, "timestamp expired");
    }
    let expected = hmac_b64(
        r.secret.as_bytes(),
        format!("{ts}\n{}", r.secret).as_bytes(),
    );
    if *sign != expected {
        return err(310000, "sign not match");
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if v["msgtype"] != "markdown"
        || !v["markdown"]["title"].is_string()
        || !v["markdown"]["text"].is_string()
    {
        return err(40035, "缺少参数 json");
    }
    // @ by mobile: each listed number must be a string.
    if !v["at"].is_null()
        && !v["at"]["atMobiles"]
            .as_array()
            .is_some_and(|a| a.iter().all(Value::is_string))
    {
        return err(40035, "at.atMobiles");
    }
    r.bodies.lock().unwrap().push(v);
    err(0, "ok")
}

#[tokio::test]
async fn dingtalk_signs_the_url_and_reads_errcode() {
    let robot = Robot::new("SECdemo-secret+/=");
    let addr = serve(
        Router::new()
            .route("/robot/send", post(dingtalk))
            .with_state(robot.clone()),
    )
    .await;
    let cfg = |secret: &str| {
        channel(&format!(
            r#"
            [[channels]]
            name = "钉钉群"
            type = "dingtalk"
            url = "http://{addr}/robot/send?access_token=dd-token"
            secret = "{secret}"
            "#
        ))
    };
    let ch = cfg("SECdemo-secret+/=");
    ch.send(&message("al-1", "标题 *加粗* [链接](http://evil)"), t0())
        .await
        .expect("signed send accepted");
    let body = robot.bodies.lock().unwrap().remove(0);
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(
        text.contains("标题 ＊加粗＊ ［链接］(http://evil)"),
        "{text}"
    );
    assert!(text.contains("[查看原文](https://weibo.com/1/abc)"));
    assert!(
        body["markdown"]["title"]
            .as_str()
            .unwrap()
            .starts_with("【舆情预警·特别重大】")
    );

    // The person to @: listed in `at` and named in the text, as DingTalk wants.
    let mut m = message("al-2", "升级提醒");
    m.mention = vec!["13800001111".into()];
    ch.send(&m, t0()).await.expect("with a mention");
    let body = robot.bodies.lock().unwrap().remove(0);
    assert_eq!(body["at"]["atMobiles"], json!(["13800001111"]));
    assert_eq!(body["at"]["isAtAll"], false);
    let text = body["markdown"]["text"].as_str().unwrap();
    assert!(text.ends_with("@13800001111"), "{text}");

    // A wrong secret: HTTP 200 with errcode 310000 is a failure.
    let e = cfg("SECwrong")
        .send(&message("al-1", "x"), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(e, AlertError::Rejected { code: 310000, .. }),
        "{e}"
    );
    assert!(!format!("{e:?}").contains("SECwrong") && !e.to_string().contains("dd-token"));
    // A timestamp more than an hour off is refused by the robot.
    let e = ch
        .send(&message("al-1", "x"), t0() - chrono::Duration::hours(2))
        .await
        .unwrap_err();
    assert!(
        matches!(e, AlertError::Rejected { code: 310000, .. }),
        "{e}"
    );
}

/// Feishu: `timestamp` (seconds, string) and `sign` = base64(HmacSHA256(key = timestamp +
/// "\n" + secret, msg = "")) in the body; errors come back as HTTP 200 with `code` ≠ 0.
async fn feishu(State(r): State<Robot>, body: String) -> Response {
    let err = |code: i64, msg: &str| {
        axum::Json(json!({"code": code, "msg": msg, "data": {}})).into_response()
    };
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    let (Some(ts), Some(sign)) = (v["timestamp"].as_str(), v["sign"].as_str()) else {
        return err(
            19021,
            "sign match fail or timestamp is not within one hour from current time",
        );
    };
    let ts_s: i64 = ts.parse().unwrap_or(0);
    if (r.now.timestamp() - ts_s).abs() > 3600 {
        return err(
            19021,
            "sign match fail or timestamp is not within one hour from current time",
        );
    }
    let expected = hmac_b64(format!("{ts}\n{}", r.secret).as_bytes(), b"");
    if sign != expected {
        return err(
            19021,
            "sign match fail or timestamp is not within one hour from current time",
        );
    }
    if v["msg_type"] != "text" || !v["content"]["text"].is_string() {
        return err(9499, "Bad Request");
    }
    r.bodies.lock().unwrap().push(v);
    err(0, "success")
}

#[tokio::test]
async fn feishu_signs_the_body_and_reads_code() {
    let robot = Robot::new("fs-secret");
    let addr = serve(
        Router::new()
            .route("/open-apis/bot/v2/hook/{token}", post(feishu))
            .with_state(robot.clone()),
    )
    .await;
    let cfg = |secret: &str| {
        channel(&format!(
            r#"
            [[channels]]
            name = "飞书群"
            type = "feishu"
            url = "http://{addr}/open-apis/bot/v2/hook/abc-123"
            secret = "{secret}"
            lang = "en"
            "#
        ))
    };
    cfg("fs-secret")
        .send(
            &message("al-1", "<at user_id=\"all\">所有人</at> 标题"),
            t0(),
        )
        .await
        .expect("accepted");
    let body = robot.bodies.lock().unwrap().remove(0);
    assert_eq!(body["timestamp"], t0().timestamp().to_string());
    let text = body["content"]["text"].as_str().unwrap();
    assert!(
        text.starts_with("[Public-opinion alert · especially major] ＜at"),
        "{text}"
    );
    assert!(!text.contains('<'), "no tag can reach Feishu: {text}");
    assert!(text.contains("Why: 612 comments"));

    // The people to @, by their Feishu ids, on a last line; an id that could form markup
    // is left out, and the text's own tags stay neutralised.
    let mut m = message("al-2", "<at user_id=\"all\"></at> 升级提醒");
    m.mention_feishu = vec![
        "ou_7d8a6e6df7621556ce0d21922b676706".into(),
        "ou_x\"></at><at user_id=\"all".into(),
        "a1b2-c3".into(),
    ];
    cfg("fs-secret")
        .send(&m, t0())
        .await
        .expect("with mentions");
    let body = robot.bodies.lock().unwrap().remove(0);
    let text = body["content"]["text"].as_str().unwrap();
    let (head, last) = text.rsplit_once('\n').expect("a last line");
    assert_eq!(
        last,
        "<at user_id=\"ou_7d8a6e6df7621556ce0d21922b676706\"></at> <at user_id=\"a1b2-c3\"></at>"
    );
    assert!(!head.contains('<'), "{text}");
    assert_eq!(text.matches("<at ").count(), 2, "{text}");

    let e = cfg("other")
        .send(&message("al-1", "x"), t0())
        .await
        .unwrap_err();
    assert!(matches!(e, AlertError::Rejected { code: 19021, .. }), "{e}");
    assert!(
        !e.to_string().contains("abc-123"),
        "the hook token stays hidden: {e}"
    );
}

/// WeCom: the key is in the query; markdown content at most 4096 bytes.
async fn wecom(
    State(r): State<Robot>,
    Query(q): Query<HashMap<String, String>>,
    body: String,
) -> Response {
    let err =
        |code: i64, msg: &str| axum::Json(json!({"errcode": code, "errmsg": msg})).into_response();
    if q.get("key").map(String::as_str) != Some("wk") {
        return err(93000, "invalid webhook url");
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    if v["msgtype"] == "text" {
        let Some(content) = v["text"]["content"].as_str() else {
            return err(40008, "invalid message type");
        };
        if content.len() > 2048 {
            return err(40058, "text.content exceed max length 2048");
        }
        r.bodies.lock().unwrap().push(v);
        return err(0, "ok");
    }
    let Some(content) = v["markdown"]["content"].as_str() else {
        return err(40008, "invalid message type");
    };
    if v["msgtype"] != "markdown" || content.len() > 4096 {
        return err(40058, "markdown.content exceed max length 4096");
    }
    r.bodies.lock().unwrap().push(v);
    err(0, "ok")
}

#[tokio::test]
async fn wecom_sends_markdown_within_its_limit_and_text_to_mention() {
    let robot = Robot::new("");
    let addr = serve(
        Router::new()
            .route("/cgi-bin/webhook/send", post(wecom))
            .with_state(robot.clone()),
    )
    .await;
    let cfg = |key: &str| {
        channel(&format!(
            "[[channels]]\nname = \"企业微信\"\ntype = \"wecom\"\nurl = \"http://{addr}/cgi-bin/webhook/send?key={key}\"\n"
        ))
    };
    let mut long = message("al-9", &"超长标题".repeat(800));
    long.why = "依据".repeat(5000);
    cfg("wk").send(&long, t0()).await.expect("accepted");
    let body = robot.bodies.lock().unwrap().remove(0);
    let content = body["markdown"]["content"].as_str().unwrap();
    assert!(content.len() <= 4096);
    assert!(content.contains("立即报告领导小组"));

    // With people to @, plain text (WeCom's Markdown cannot @ by mobile) within 2048 bytes.
    long.mention = vec!["13800001111".into(), "+8613900002222".into()];
    cfg("wk").send(&long, t0()).await.expect("accepted");
    let body = robot.bodies.lock().unwrap().remove(0);
    assert_eq!(body["msgtype"], "text");
    let content = body["text"]["content"].as_str().unwrap();
    assert!(
        content.len() <= 2048 && content.starts_with("【舆情预警"),
        "{content}"
    );
    assert_eq!(
        body["text"]["mentioned_mobile_list"],
        json!(["13800001111", "+8613900002222"])
    );

    let e = cfg("nope").send(&long, t0()).await.unwrap_err();
    assert!(matches!(e, AlertError::Rejected { code: 93000, .. }), "{e}");
}

#[tokio::test]
async fn unreachable_and_slow_destinations_fail_with_the_origin_only() {
    // A port with nothing listening.
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let dead = l.local_addr().unwrap();
    drop(l);
    let ch = channel(&format!(
        "[[channels]]\nname = \"w\"\ntype = \"wecom\"\nurl = \"http://{dead}/send?key=hidden-key\"\n"
    ));
    let e = ch.send(&message("a", "x"), t0()).await.unwrap_err();
    assert!(matches!(e, AlertError::Unreachable { .. }), "{e}");
    assert!(!e.to_string().contains("hidden-key"), "{e}");
    assert!(e.to_string().contains(&format!("http://{dead}")), "{e}");

    // A server slower than the timeout.
    let addr = serve(Router::new().route(
        "/slow",
        post(|| async {
            tokio::time::sleep(Duration::from_secs(3)).await;
            "late"
        }),
    ))
    .await;
    let ch = channel(&format!(
        "[[channels]]\nname = \"w\"\ntype = \"webhook\"\nurl = \"http://{addr}/slow\"\ntimeout = \"300ms\"\n"
    ));
    let started = std::time::Instant::now();
    let e = ch.send(&message("a", "x"), t0()).await.unwrap_err();
    assert!(started.elapsed() < Duration::from_secs(2));
    assert!(e.to_string().contains("no answer within 0.3s"), "{e}");
}

// ---------------------------------------------------------------------------------------
// Outbox against a flaky receiver

#[derive(Clone, Default)]
struct Flaky {
    calls: Arc<AtomicUsize>,
    fail_first: usize,
    delivered: Arc<Mutex<Vec<String>>>,
}

async fn flaky(State(f): State<Flaky>, body: String) -> Response {
    let n = f.calls.fetch_add(1, Ordering::SeqCst);
    if n < f.fail_first {
        return (StatusCode::INTERNAL_SERVER_ERROR, "down for maintenance").into_response();
    }
    let v: Value = serde_json::from_str(&body).unwrap_or(Value::Null);
    f.delivered
        .lock()
        .unwrap()
        .push(v["alert_id"].as_str().unwrap_or("?").to_owned());
    StatusCode::OK.into_response()
}

/// One round of a runner: send what is due now and record the outcomes.
async fn run_due(
    outbox: &mut Outbox,
    channels: &HashMap<String, Channel>,
    clock: &FixedClock,
) -> usize {
    let now = clock.now();
    let due = outbox.due(now);
    let n = due.len();
    for a in due {
        let ch = &channels[&a.channel];
        let r = ch.send(&a.message, now).await;
        outbox
            .record(&a, Outcome::from(&r), clock.now())
            .expect("record");
    }
    n
}

#[tokio::test]
async fn outbox_retries_on_schedule_in_order_exactly_once() {
    let f = Flaky {
        fail_first: 3,
        ..Flaky::default()
    };
    let addr = serve(
        Router::new()
            .route("/in", post(flaky))
            .with_state(f.clone()),
    )
    .await;
    let mut channels = HashMap::new();
    channels.insert(
        "ops".to_owned(),
        channel(&format!(
            "[[channels]]\nname = \"ops\"\ntype = \"webhook\"\nurl = \"http://{addr}/in\"\n"
        )),
    );
    let clock = FixedClock::new(t0());
    let mut outbox = Outbox::new(OutboxSettings::default());
    let first = outbox.enqueue("al-1", "ops", message("", "第一条"), clock.now());
    let second = outbox.enqueue("al-2", "ops", message("", "第二条"), clock.now());

    // Drive time from one due moment to the next; no real waiting.
    let mut attempt_times = Vec::new();
    for _ in 0..20 {
        let now = clock.now();
        if run_due(&mut outbox, &channels, &clock).await > 0 {
            attempt_times.push((now - t0()).num_seconds());
        }
        match outbox.next_due() {
            // A time in the past means "due now".
            Some(t) => clock.set(t.max(now)),
            None => break,
        }
    }
    // Three 500s: tried at 0, +10 s, +30 s, +60 s; delivered at 100 s; the second alert,
    // which waited behind the first, goes out in the same moment right after it.
    assert_eq!(attempt_times, [0, 10, 40, 100, 100]);
    assert_eq!(*f.delivered.lock().unwrap(), ["al-1", "al-2"]);
    assert_eq!(f.calls.load(Ordering::SeqCst), 5);
    let e1 = outbox.entry(first).unwrap();
    let states: Vec<_> = e1.log.iter().map(|l| l.state).collect();
    assert_eq!(
        states,
        [
            AttemptState::Failed,
            AttemptState::Failed,
            AttemptState::Failed,
            AttemptState::Delivered
        ]
    );
    assert!(
        e1.log[0].detail.contains("HTTP 500"),
        "{}",
        e1.log[0].detail
    );
    assert!(e1.log[0].detail.contains("down for maintenance"));
    assert_eq!(e1.delivered_at, Some(t0() + chrono::Duration::seconds(100)));
    assert_eq!(outbox.entry(second).unwrap().log.len(), 1);
    // Nothing more to do, ever.
    clock.advance(chrono::Duration::days(2));
    assert_eq!(run_due(&mut outbox, &channels, &clock).await, 0);
    assert_eq!(f.calls.load(Ordering::SeqCst), 5);
}

// ---------------------------------------------------------------------------------------
// SMTP

#[derive(Debug, Clone, Default)]
struct Mail {
    from: String,
    rcpts: Vec<String>,
    data: String,
}

#[derive(Clone, Default)]
struct Sink {
    mails: Arc<Mutex<Vec<Mail>>>,
    /// Refuse the first N mails with 554 at MAIL FROM.
    refuse_first: usize,
    /// Refuse this recipient with 550 at RCPT TO (an address the server does not know).
    refuse_rcpt: Option<&'static str>,
    sessions: Arc<AtomicUsize>,
}

async fn smtp_sink(sink: Sink) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let sink = sink.clone();
            tokio::spawn(async move {
                let _ = smtp_session(sock, sink).await;
            });
        }
    });
    addr
}

async fn smtp_session<S>(sock: S, sink: Sink) -> std::io::Result<()>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite,
{
    let session = sink.sessions.fetch_add(1, Ordering::SeqCst);
    let (r, mut w) = tokio::io::split(sock);
    let mut r = BufReader::new(r);
    w.write_all(b"220 sink.test ESMTP ready\r\n").await?;
    let mut mail = Mail::default();
    let mut line = String::new();
    loop {
        line.clear();
        if r.read_line(&mut line).await? == 0 {
            return Ok(());
        }
        let cmd = line.trim_end().to_owned();
        let upper = cmd.to_ascii_uppercase();
        if upper.starts_with("EHLO") || upper.starts_with("HELO") {
            w.write_all(b"250-sink.test\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n")
                .await?;
        } else if upper.starts_with("MAIL FROM:") {
            if session < sink.refuse_first {
                w.write_all(b"554 5.7.1 Message refused by policy\r\n")
                    .await?;
                continue;
            }
            mail = Mail {
                from: cmd[10..].trim().to_owned(),
                ..Mail::default()
            };
            w.write_all(b"250 2.1.0 OK\r\n").await?;
        } else if upper.starts_with("RCPT TO:") {
            let rcpt = cmd[8..].trim().to_owned();
            if sink.refuse_rcpt.is_some_and(|r| rcpt.contains(r)) {
                w.write_all(b"550 5.1.1 No such user here\r\n").await?;
                continue;
            }
            mail.rcpts.push(rcpt);
            w.write_all(b"250 2.1.5 OK\r\n").await?;
        } else if upper == "DATA" {
            w.write_all(b"354 end with <CRLF>.<CRLF>\r\n").await?;
            let mut data = String::new();
            loop {
                line.clear();
                if r.read_line(&mut line).await? == 0 {
                    return Ok(());
                }
                if line == ".\r\n" {
                    break;
                }
                // Undo dot-stuffing.
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mail.data = data;
            sink.mails.lock().unwrap().push(std::mem::take(&mut mail));
            w.write_all(b"250 2.0.0 queued as 1\r\n").await?;
        } else if upper == "QUIT" {
            w.write_all(b"221 2.0.0 bye\r\n").await?;
            return Ok(());
        } else if upper == "RSET" || upper == "NOOP" {
            w.write_all(b"250 OK\r\n").await?;
        } else {
            w.write_all(b"502 5.5.2 not implemented\r\n").await?;
        }
    }
}

/// The test CA and server certificate (for 127.0.0.1) of `yuqing-ingest/tests/fixtures/tls`.
fn tls_fixture(name: &str) -> String {
    format!(
        "{}/../yuqing-ingest/tests/fixtures/tls/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// The sink behind TLS from the first byte (`tls = "tls"`), with the fixture certificate.
async fn smtp_tls_sink(sink: Sink) -> SocketAddr {
    use rustls::pki_types::pem::PemObject;
    use rustls::pki_types::{CertificateDer, PrivateKeyDer};
    let certs: Vec<CertificateDer<'static>> =
        CertificateDer::pem_file_iter(tls_fixture("server.pem"))
            .unwrap()
            .collect::<Result<_, _>>()
            .unwrap();
    let key = PrivateKeyDer::from_pem_file(tls_fixture("server.key")).unwrap();
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(
        rustls::crypto::ring::default_provider(),
    ))
    .with_safe_default_protocol_versions()
    .unwrap()
    .with_no_client_auth()
    .with_single_cert(certs, key)
    .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((sock, _)) = listener.accept().await {
            let (sink, acceptor) = (sink.clone(), acceptor.clone());
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(sock).await {
                    let _ = smtp_session(tls, sink).await;
                }
            });
        }
    });
    addr
}

/// Splits a mail into unfolded headers and the body.
fn parse_mail(data: &str) -> (Vec<(String, String)>, String) {
    let (head, body) = data.split_once("\r\n\r\n").unwrap_or((data, ""));
    let mut headers: Vec<(String, String)> = Vec::new();
    for l in head.split("\r\n") {
        if l.starts_with([' ', '\t']) {
            if let Some(last) = headers.last_mut() {
                last.1.push_str(l);
            }
        } else if let Some((k, v)) = l.split_once(':') {
            headers.push((k.to_ascii_lowercase(), v.trim().to_owned()));
        }
    }
    (headers, body.to_owned())
}

fn header<'a>(h: &'a [(String, String)], name: &str) -> Option<&'a str> {
    h.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
}

/// Decodes RFC 2047 encoded words (B and Q); whitespace between encoded words is dropped.
fn decode_rfc2047(v: &str) -> String {
    let mut out = Vec::new();
    let mut rest = v;
    let mut last_was_word = false;
    while !rest.is_empty() {
        match rest.find("=?") {
            Some(i) => {
                let gap = &rest[..i];
                if !(last_was_word && gap.trim().is_empty()) {
                    out.extend_from_slice(gap.as_bytes());
                }
                let word = &rest[i + 2..];
                let mut parts = word.splitn(3, '?');
                let _charset = parts.next().unwrap_or("");
                let enc = parts.next().unwrap_or("");
                let tail = parts.next().unwrap_or("");
                let end = tail.find("?=").expect("closed encoded word");
                let text = &tail[..end];
                if enc.eq_ignore_ascii_case("b") {
                    out.extend(BASE64.decode(text).expect("base64 word"));
                } else {
                    out.extend(decode_qp(&text.replace('_', " ")));
                }
                rest = &tail[end + 2..];
                last_was_word = true;
            }
            None => {
                out.extend_from_slice(rest.as_bytes());
                break;
            }
        }
    }
    String::from_utf8(out).expect("utf-8 subject")
}

fn decode_qp(s: &str) -> Vec<u8> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        if b[i] == b'=' {
            if b.get(i + 1) == Some(&b'\r') && b.get(i + 2) == Some(&b'\n') {
                i += 3;
                continue;
            }
            if let Some(h) = s
                .get(i + 1..i + 3)
                .and_then(|h| u8::from_str_radix(h, 16).ok())
            {
                out.push(h);
                i += 3;
                continue;
            }
        }
        out.push(b[i]);
        i += 1;
    }
    out
}

fn decode_body(headers: &[(String, String)], body: &str) -> String {
    let cte = header(headers, "content-transfer-encoding")
        .unwrap_or("7bit")
        .to_ascii_lowercase();
    let bytes = match cte.as_str() {
        "base64" => BASE64
            .decode(body.split_whitespace().collect::<String>())
            .expect("base64 body"),
        "quoted-printable" => decode_qp(body),
        _ => body.as_bytes().to_vec(),
    };
    String::from_utf8(bytes).expect("utf-8 body")
}

fn email_channel(addr: SocketAddr) -> Channel {
    channel(&format!(
        r#"
        [[channels]]
        name = "邮件"
        type = "email"
        host = "127.0.0.1"
        port = {}
        tls = "none"
        from = "舆情系统 <yuqing@example.org>"
        to = ["duty@example.org", "值班领导 <leader@example.org>"]
        timeout = "5s"
        "#,
        addr.port()
    ))
}

#[tokio::test]
async fn email_over_tls_trusts_the_ca_file_and_only_it() {
    let sink = Sink::default();
    let addr = smtp_tls_sink(sink.clone()).await;
    let with = |extra: &str| {
        config(&format!(
            "[[channels]]\nname = \"内网邮件\"\ntype = \"email\"\nhost = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nfrom = \"yuqing@county.gov.cn\"\nto = [\"duty@county.gov.cn\"]\ntimeout = \"5s\"\n{extra}",
            addr.port()
        ))
    };
    let trusted = with(&format!("ca_file = {:?}\n", tls_fixture("ca.pem")));
    let d = trusted
        .build()
        .expect("built")
        .send(&message("al-tls", "内网邮件服务器"), t0())
        .await
        .expect("sent over TLS");
    assert_eq!(d.detail, "smtp 250");
    assert_eq!(sink.mails.lock().unwrap().len(), 1);
    // The system's roots do not know the test CA; a file holding no CA trusts nothing.
    for extra in [
        String::new(),
        format!("ca_file = {:?}\n", tls_fixture("server.pem")),
    ] {
        let e = with(&extra)
            .build()
            .expect("built")
            .send(&message("al-tls2", "内网邮件服务器"), t0())
            .await
            .expect_err("untrusted");
        assert!(e.to_string().contains("certificate"), "{e}");
    }
    assert_eq!(sink.mails.lock().unwrap().len(), 1);
    // Config errors, at build: a missing file, one without certificates, TLS off.
    for (extra, want) in [
        (
            "ca_file = \"/nonexistent/ca.pem\"\n".to_owned(),
            "无法读取 ca_file",
        ),
        (
            format!("ca_file = {:?}\n", tls_fixture("server.key")),
            "没有证书",
        ),
    ] {
        let e = with(&extra).build().expect_err("refused").to_string();
        assert!(e.contains(want), "{e}");
    }
    let plain = config(&format!(
        "[[channels]]\nname = \"x\"\ntype = \"email\"\nhost = \"127.0.0.1\"\ntls = \"none\"\nfrom = \"a@b.cn\"\nto = [\"c@d.cn\"]\nca_file = {:?}\n",
        tls_fixture("ca.pem")
    ));
    let e = plain.build().expect_err("refused").to_string();
    assert!(e.contains("ca_file") && e.contains("starttls"), "{e}");
    // [reply_mail] takes the same key through the same transport.
    let reply: yuqing_alert::ReplyMailConfig = toml::from_str(&format!(
        "host = \"127.0.0.1\"\nport = {}\ntls = \"tls\"\nfrom = \"xzxx@county.gov.cn\"\nca_file = {:?}\n",
        addr.port(),
        tls_fixture("ca.pem")
    ))
    .unwrap();
    let mailer = yuqing_alert::ReplyMailer::new(&reply).expect("built");
    let out = yuqing_alert::OutgoingReply {
        to: "resident@example.com".into(),
        subject: "Re: 停水".into(),
        body: "已修复".into(),
        in_reply_to: None,
        message_id: mailer.message_id("2027-0001", 0, 1),
    };
    assert_eq!(mailer.send(&out, t0()).await.expect("sent"), "smtp 250");
    assert_eq!(sink.mails.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn email_arrives_with_an_encoded_chinese_subject() {
    let sink = Sink::default();
    let addr = smtp_sink(sink.clone()).await;
    let ch = email_channel(addr);
    let d = ch
        .send(&message("al-7", "某校食堂疑似食物中毒"), t0())
        .await
        .expect("mail accepted");
    assert_eq!(d.detail, "smtp 250");
    let mail = sink.mails.lock().unwrap().remove(0);
    assert_eq!(mail.from, "<yuqing@example.org>");
    assert_eq!(mail.rcpts, ["<duty@example.org>", "<leader@example.org>"]);
    let (headers, body) = parse_mail(&mail.data);
    let raw_subject = header(&headers, "subject").expect("subject");
    assert!(
        raw_subject.is_ascii(),
        "the subject is encoded: {raw_subject}"
    );
    assert!(
        raw_subject.to_ascii_lowercase().contains("=?utf-8?"),
        "{raw_subject}"
    );
    assert_eq!(
        decode_rfc2047(raw_subject),
        "【舆情预警·特别重大】某校食堂疑似食物中毒"
    );
    assert!(header(&headers, "message-id").unwrap().contains("al-7"));
    assert!(
        header(&headers, "date")
            .unwrap()
            .contains("1 May 2024 02:00:00"),
        "{:?}",
        header(&headers, "date")
    );
    assert!(
        header(&headers, "content-type")
            .unwrap()
            .contains("charset=utf-8")
    );
    let text = decode_body(&headers, &body);
    assert!(text.contains("监测方案：食品安全"), "{text}");
    assert!(text.contains("立即报告领导小组（1 小时内）并在 2 小时内向上级报告"));
}

#[tokio::test]
async fn the_people_a_message_names_are_copied_on_email() {
    let sink = Sink {
        refuse_rcpt: Some("gone@example.org"),
        ..Sink::default()
    };
    let addr = smtp_sink(sink.clone()).await;
    let ch = email_channel(addr);
    let mut msg = message("al-9", "某路段积水严重");
    msg.mention = vec!["13800001111".into()];
    msg.mention_email = vec![
        "li.duty@example.org".into(),
        // Already a recipient of the channel: not copied twice.
        "leader@example.org".into(),
        // Not an address (an older store): left out, the mail still goes.
        "not an address".into(),
    ];
    let d = ch.send(&msg, t0()).await.expect("mail accepted");
    assert_eq!(d.detail, "smtp 250");
    let mail = sink.mails.lock().unwrap().remove(0);
    assert_eq!(
        mail.rcpts,
        [
            "<duty@example.org>",
            "<leader@example.org>",
            "<li.duty@example.org>"
        ]
    );
    let (headers, _) = parse_mail(&mail.data);
    assert_eq!(header(&headers, "cc"), Some("li.duty@example.org"));
    assert!(
        !header(&headers, "to").unwrap().contains("li.duty"),
        "the person is copied, the channel's recipients stay the addressees"
    );

    // A server that refuses a copied person refuses the mail: it goes again without them,
    // and the delivery says so.
    msg.mention_email = vec!["gone@example.org".into()];
    let d = ch.send(&msg, t0()).await.expect("sent without the Cc");
    assert!(
        d.detail.contains("without Cc gone@example.org") && d.detail.contains("550"),
        "{}",
        d.detail
    );
    let mails = sink.mails.lock().unwrap().clone();
    assert_eq!(mails.len(), 1, "one mail arrives");
    assert_eq!(
        mails[0].rcpts,
        ["<duty@example.org>", "<leader@example.org>"]
    );
    assert_eq!(header(&parse_mail(&mails[0].data).0, "cc"), None);
    sink.mails.lock().unwrap().clear();

    // A channel set not to copy anyone.
    let quiet = channel(&format!(
        r#"
        [[channels]]
        name = "领导邮箱"
        type = "email"
        host = "127.0.0.1"
        port = {}
        tls = "none"
        from = "yuqing@example.org"
        to = ["leader@example.org"]
        cc_mentioned = false
        "#,
        addr.port()
    ));
    msg.mention_email = vec!["li.duty@example.org".into()];
    quiet.send(&msg, t0()).await.expect("mail accepted");
    let mail = sink.mails.lock().unwrap().remove(0);
    assert_eq!(mail.rcpts, ["<leader@example.org>"]);
}

#[tokio::test]
async fn refused_mail_is_retried_by_the_outbox() {
    let sink = Sink {
        refuse_first: 1,
        ..Sink::default()
    };
    let addr = smtp_sink(sink.clone()).await;
    let mut channels = HashMap::new();
    channels.insert("邮件".to_owned(), email_channel(addr));
    let clock = FixedClock::new(t0());
    let mut outbox = Outbox::new(OutboxSettings::default());
    let id = outbox.enqueue("al-8", "邮件", message("", "拒收后重试"), clock.now());

    assert_eq!(run_due(&mut outbox, &channels, &clock).await, 1);
    let e = outbox.entry(id).unwrap();
    assert_eq!(e.log[0].state, AttemptState::Failed);
    assert!(e.log[0].detail.contains("554"), "{}", e.log[0].detail);
    assert!(sink.mails.lock().unwrap().is_empty());

    // Not before its time…
    clock.advance(chrono::Duration::seconds(5));
    assert_eq!(run_due(&mut outbox, &channels, &clock).await, 0);
    // …then accepted.
    clock.set(outbox.next_due().unwrap());
    assert_eq!(clock.now(), t0() + chrono::Duration::seconds(10));
    assert_eq!(run_due(&mut outbox, &channels, &clock).await, 1);
    assert!(outbox.entry(id).unwrap().is_delivered());
    assert_eq!(sink.mails.lock().unwrap().len(), 1);

    // A direct send to a refusing server reports a permanent SMTP error.
    let refusing = Sink {
        refuse_first: 99,
        ..Sink::default()
    };
    let addr = smtp_sink(refusing).await;
    let e = email_channel(addr)
        .send(&message("a", "x"), t0())
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            AlertError::Smtp {
                permanent: true,
                ..
            }
        ),
        "{e}"
    );
}
