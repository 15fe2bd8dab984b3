//! The bus against a real NATS server with JetStream (`YUQING_TEST_NATS`, default
//! `nats://127.0.0.1:4222`): publishing real CED documents, two processors sharing one
//! durable consumer, de-duplication by message id, redelivery of an unacked batch, dead
//! letters, and the end-to-end path consumer → `SqliteStore` → ack with a processor killed
//! between the store and the ack.
//!
//! Ignored by a plain `cargo test`; run with
//! `cargo test -p yuqing-bus --test jetstream -- --ignored`. When NATS is unreachable the
//! tests fail with the reason, they never skip. Each test works on its own streams and
//! consumer (named after the test and the process id) and deletes them at the end.

use chrono::Utc;
use flate2::read::GzDecoder;
use std::collections::{HashMap, HashSet};
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use yuqing_bus::{Bus, BusError, Consumer, ConsumerSettings, StreamSettings};
use yuqing_core::Document;
use yuqing_store::{NewDocument, SqliteStore, Store};

const CED: &str = "../../../shared/data/ced/ced_dev_documents.jsonl.gz";

fn nats_url() -> String {
    std::env::var("YUQING_TEST_NATS").unwrap_or_else(|_| "nats://127.0.0.1:4222".into())
}

/// A bus on streams of this test's own (fresh), failing with the reason when NATS is
/// unreachable.
async fn bus(test: &str) -> Bus {
    let ns = format!("t-{test}-{}", std::process::id()).replace('_', "-");
    let url = nats_url();
    let bus = Bus::connect_with(&url, StreamSettings::namespaced(&ns))
        .await
        .unwrap_or_else(|e| {
            panic!("these tests need NATS with JetStream at {url} (YUQING_TEST_NATS): {e}")
        });
    bus.delete_streams().await.expect("delete old streams");
    bus.ensure_stream().await.expect("ensure_stream");
    bus
}

/// Another connection on the same streams (another processor).
async fn join(bus: &Bus) -> Bus {
    Bus::connect_with(bus.url(), bus.settings().clone())
        .await
        .expect("second connection")
}

/// The first `n` documents of the CED dev file with distinct ids.
fn ced_docs(n: usize) -> Vec<Document> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join(CED);
    assert!(
        p.exists(),
        "the shared CED data is missing at {}",
        p.display()
    );
    let f = GzDecoder::new(std::fs::File::open(&p).expect("open CED"));
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(n);
    for line in BufReader::new(f).lines() {
        let d: Document = serde_json::from_str(&line.expect("line")).expect("CED document");
        if seen.insert(key(&d)) {
            out.push(d);
            if out.len() == n {
                break;
            }
        }
    }
    assert_eq!(out.len(), n, "CED has fewer documents than asked");
    out
}

fn key(d: &Document) -> String {
    format!(
        "{}:{}",
        d.platform,
        d.id.as_deref().expect("CED documents have ids")
    )
}

fn settings(durable: &str, batch: usize, ack_wait: Duration) -> ConsumerSettings {
    ConsumerSettings {
        durable: durable.into(),
        ack_wait,
        batch,
        expires: Duration::from_millis(300),
        ..ConsumerSettings::default()
    }
}

/// Consumes (acking each batch) until `want` documents arrived in all, or 30 s passed;
/// returns the keys this processor received.
async fn drain(mut c: Consumer, total: Arc<AtomicUsize>, want: usize) -> Vec<String> {
    let mut got = Vec::new();
    let start = Instant::now();
    while total.load(Ordering::SeqCst) < want && start.elapsed() < Duration::from_secs(30) {
        let b = c.next_batch().await.expect("next_batch");
        got.extend(b.docs.iter().map(|(d, _)| key(d)));
        total.fetch_add(b.len(), Ordering::SeqCst);
        b.ack_all().await.expect("ack");
    }
    got
}

fn as_new(d: &Document) -> NewDocument {
    NewDocument {
        id: d.id.clone().expect("id"),
        doc: d.clone(),
        url_canonical: None,
        site: None,
        content_key: None,
        simhash: None,
        group_id: None,
        group_joined: false,
        ingested_at: Utc::now(),
        assessment: Default::default(),
        plan_hits: Vec::new(),
        mainstream: None,
        event: None,
        encoded: None,
    }
}

#[tokio::test]
async fn unreachable_nats_is_a_clear_error() {
    let Err(e) = Bus::connect("nats://127.0.0.1:1").await else {
        panic!("connected to a closed port");
    };
    assert!(matches!(e, BusError::Connect { .. }), "{e:?}");
    let m = e.to_string();
    for part in [
        "无法连接 NATS",
        "127.0.0.1:1",
        "nats-server -js",
        "cannot connect",
    ] {
        assert!(m.contains(part), "{part} missing from: {m}");
    }
}

#[tokio::test]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn two_processors_share_every_document_once_and_repeats_are_dropped() {
    let bus = bus("share").await;
    let docs = ced_docs(2000);
    let first = bus
        .publisher()
        .publish_batch(&docs, "ced-测试")
        .await
        .expect("publish");
    assert!(first.iter().all(|p| !p.duplicate));
    // The same ids again (a collector that restarted): dropped by the stream.
    let again = bus
        .publisher()
        .publish_batch(&docs, "ced-测试")
        .await
        .expect("republish");
    assert!(again.iter().all(|p| p.duplicate), "a repeat was stored");
    let one = bus
        .publisher()
        .publish(&docs[0], "ced-测试")
        .await
        .expect("one");
    assert!(one.duplicate);
    assert_eq!(bus.stream_counts().await.expect("counts").0, 2000);

    let total = Arc::new(AtomicUsize::new(0));
    let mut tasks = Vec::new();
    for _ in 0..2 {
        let b = join(&bus).await;
        let c = b
            .consumer(settings("share", 100, Duration::from_secs(30)))
            .await
            .expect("consumer");
        tasks.push(tokio::spawn(drain(c, total.clone(), docs.len())));
    }
    let mut all = HashMap::new();
    let mut per = Vec::new();
    for t in tasks {
        let got = t.await.expect("task");
        per.push(got.len());
        for k in got {
            *all.entry(k).or_insert(0) += 1;
        }
    }
    let want: HashSet<String> = docs.iter().map(key).collect();
    assert_eq!(
        all.len(),
        want.len(),
        "documents lost: per processor {per:?}"
    );
    assert!(all.keys().all(|k| want.contains(k)));
    assert!(all.values().all(|&n| n == 1), "a document came twice");
    assert!(
        per.iter().all(|&n| n > 0),
        "one processor got nothing: {per:?}"
    );

    // The source travels in a header, Chinese included.
    let p = bus.publisher();
    let mut d = docs[0].clone();
    d.id = Some("source-check".into());
    p.publish(&d, "微博 采集/1").await.expect("publish");
    let mut c = bus
        .consumer(settings("share", 10, Duration::from_secs(30)))
        .await
        .expect("consumer");
    let b = c.next_batch().await.expect("batch");
    assert_eq!(b.docs.len(), 1);
    assert_eq!(b.docs[0].1, "微博 采集/1");
    assert_eq!(b.docs[0].0, d, "the document must arrive unchanged");
    b.ack_all().await.expect("ack");
    bus.delete_streams().await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn an_oversized_document_is_refused_with_its_id() {
    let bus = bus("oversized").await;
    let mut d = Document::new("weibo", "big");
    d.text = "长".repeat(2 << 20);
    let e = bus
        .publisher()
        .publish(&d, "ced")
        .await
        .expect_err("too large");
    assert!(matches!(e, BusError::TooLarge { .. }), "{e:?}");
    assert!(e.to_string().contains("weibo:big"), "{e}");
    // The connection is still usable.
    let ok = bus.publisher().publish(&ced_docs(1)[0], "ced").await;
    assert!(!ok.expect("publish").duplicate);
    bus.delete_streams().await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn an_unacked_batch_is_delivered_again_after_ack_wait() {
    let bus = bus("redeliver").await;
    let docs = ced_docs(50);
    bus.publisher()
        .publish_batch(&docs, "ced")
        .await
        .expect("publish");
    let ack_wait = Duration::from_secs(1);
    let first: HashSet<String> = {
        let b1 = join(&bus).await;
        let mut c = b1
            .consumer(settings("redeliver", 100, ack_wait))
            .await
            .expect("consumer");
        let b = c.next_batch().await.expect("batch");
        let keys = b.docs.iter().map(|(d, _)| key(d)).collect();
        drop(b); // the processor dies without acking
        keys
    };
    assert_eq!(first.len(), 50);
    let mut c = bus
        .consumer(settings("redeliver", 100, ack_wait))
        .await
        .expect("consumer");
    let early = c
        .fetch(100, Duration::from_millis(200))
        .await
        .expect("fetch");
    assert!(early.is_empty(), "delivered again before ack_wait");
    drop(early);
    let start = Instant::now();
    let mut again = HashSet::new();
    while again.len() < 50 && start.elapsed() < Duration::from_secs(10) {
        let b = c.next_batch().await.expect("batch");
        again.extend(b.docs.iter().map(|(d, _)| key(d)));
        b.ack_all().await.expect("ack");
    }
    assert_eq!(
        again, first,
        "the unacked messages were not delivered again"
    );
    // Acked now: nothing more comes.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    assert!(c.next_batch().await.expect("batch").is_empty());
    bus.delete_streams().await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn poison_goes_to_dead_letters_after_max_deliver() {
    let bus = bus("poison").await;
    let mut docs = ced_docs(3);
    docs[1].id = Some("poison".into());
    bus.publisher()
        .publish_batch(&docs, "ced")
        .await
        .expect("publish");
    // Not a document at all: dead at once, never handed to the caller.
    let subject = format!("{}.weibo", bus.settings().subjects);
    bus.jetstream()
        .publish(subject, "{not json".into())
        .await
        .expect("publish raw")
        .await
        .expect("ack raw");

    let mut c = bus
        .consumer(ConsumerSettings {
            max_deliver: 2,
            // One message a batch, so that failing the poison's batch fails only it.
            ..settings("poison", 1, Duration::from_secs(1))
        })
        .await
        .expect("consumer");
    let mut stored = HashSet::new();
    let mut dead = Vec::new();
    let mut poison_seen = 0;
    let start = Instant::now();
    while dead.len() < 2 && start.elapsed() < Duration::from_secs(15) {
        let b = c.next_batch().await.expect("batch");
        dead.extend(b.dead.iter().cloned());
        if b.docs
            .iter()
            .any(|(d, _)| d.id.as_deref() == Some("poison"))
        {
            // The store "fails" on this batch every time.
            poison_seen += 1;
            b.nak_all().await.expect("nak");
        } else {
            stored.extend(b.docs.iter().map(|(d, _)| key(d)));
            b.ack_all().await.expect("ack");
        }
    }
    assert_eq!(
        poison_seen, 2,
        "the poison reached the caller max_deliver times"
    );
    assert_eq!(dead.len(), 2, "{dead:?}");
    let undecodable = dead.iter().find(|d| d.deliveries == 1).expect("raw one");
    assert!(
        undecodable.reason.contains("not a document"),
        "{undecodable:?}"
    );
    let poison = dead.iter().find(|d| d.deliveries == 3).expect("poison");
    assert!(poison.reason.contains("max_deliver 2"), "{poison:?}");
    assert_eq!(
        poison.dead_subject,
        format!("{}.weibo", bus.settings().dead_subjects)
    );
    // The other documents got through (after the poison's batch was retried alone).
    for d in [&docs[0], &docs[2]] {
        assert!(stored.contains(&key(d)), "{} lost", key(d));
    }
    // The dead letters are kept, with the original payload and the reason.
    assert_eq!(bus.stream_counts().await.expect("counts").1, 2);
    let ds = bus
        .jetstream()
        .get_stream(&bus.settings().dead_stream)
        .await
        .expect("dead stream");
    let mut reasons = Vec::new();
    for seq in 1..=2 {
        let m = ds.get_raw_message(seq).await.expect("dead letter");
        let r = m
            .headers
            .get(yuqing_bus::wire::DEAD_REASON_HEADER)
            .expect("reason header");
        reasons.push(yuqing_bus::wire::decode_header(r.as_str()));
        if m.payload.as_ref() != b"{not json" {
            let d: Document = serde_json::from_slice(&m.payload).expect("payload kept");
            assert_eq!(d.id.as_deref(), Some("poison"));
        }
    }
    assert!(
        reasons.iter().any(|r| r.contains("delivered 3 times")),
        "{reasons:?}"
    );
    // Nothing more is delivered: the stream is not blocked.
    tokio::time::sleep(Duration::from_millis(1200)).await;
    let b = c.next_batch().await.expect("batch");
    assert!(b.is_empty() && b.dead.is_empty());
    bus.delete_streams().await.expect("cleanup");
}

#[tokio::test]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn end_to_end_a_kill_between_store_and_ack_stores_each_document_once() {
    let bus = bus("e2e").await;
    let docs = ced_docs(1000);
    bus.publisher()
        .publish_batch(&docs, "ced")
        .await
        .expect("publish");
    let dir = tempfile::tempdir().expect("tempdir");
    let store = SqliteStore::open(&dir.path().join("yuqing.db"))
        .await
        .expect("store");
    let ack_wait = Duration::from_secs(1);

    // Processor 1 stores two batches; it is killed after storing the second, before its ack.
    let killed: Vec<String> = {
        let b1 = join(&bus).await;
        let mut c = b1
            .consumer(settings("e2e", 200, ack_wait))
            .await
            .expect("consumer");
        let b = c.next_batch().await.expect("batch");
        let rows: Vec<NewDocument> = b.docs.iter().map(|(d, _)| as_new(d)).collect();
        assert_eq!(store.insert(&rows, None).await.expect("store").len(), 200);
        b.ack_all().await.expect("ack");
        let b = c.next_batch().await.expect("batch");
        let rows: Vec<NewDocument> = b.docs.iter().map(|(d, _)| as_new(d)).collect();
        assert_eq!(store.insert(&rows, None).await.expect("store").len(), 200);
        let keys = b.docs.iter().map(|(d, _)| key(d)).collect();
        drop(b); // killed here
        drop(c);
        keys
    };

    // Processor 2 takes everything else, and the killed batch after ack_wait.
    let mut c = bus
        .consumer(settings("e2e", 200, ack_wait))
        .await
        .expect("consumer");
    let mut received = 400;
    let mut skipped = HashSet::new();
    let start = Instant::now();
    while received < 1000 + killed.len() && start.elapsed() < Duration::from_secs(20) {
        let b = c.next_batch().await.expect("batch");
        let rows: Vec<NewDocument> = b.docs.iter().map(|(d, _)| as_new(d)).collect();
        let stored: HashSet<String> = store
            .insert(&rows, None)
            .await
            .expect("store")
            .into_iter()
            .map(|i| format!("{}:{}", i.platform, i.id))
            .collect();
        for (d, _) in &b.docs {
            if !stored.contains(&key(d)) {
                skipped.insert(key(d));
            }
        }
        received += b.len();
        b.ack_all().await.expect("ack");
    }
    let killed: HashSet<String> = killed.into_iter().collect();
    assert_eq!(skipped, killed, "only the redelivered batch is a duplicate");
    assert_eq!(store.count().await.expect("count"), 1000);
    assert!(
        store
            .doubled_identities()
            .await
            .expect("doubles")
            .is_empty()
    );
    for d in [&docs[0], &docs[999]] {
        let id = d.id.as_deref().expect("id");
        assert!(store.get(&d.platform, id).await.expect("get").is_some());
    }
    bus.delete_streams().await.expect("cleanup");
}

/// Documents/s through the bus on this machine, printed (not asserted): publishing in
/// batches, then consuming (acking each batch, no store) with 1 and with 2 processors.
/// `cargo test -p yuqing-bus --release --test jetstream -- --ignored --nocapture throughput`
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn throughput_by_hand() {
    let n = 20_000;
    let bus = bus("rate").await;
    let docs = ced_docs(n);
    let bytes: usize = docs
        .iter()
        .map(|d| serde_json::to_vec(d).expect("json").len())
        .sum();
    let t = Instant::now();
    for chunk in docs.chunks(1000) {
        bus.publisher()
            .publish_batch(chunk, "ced")
            .await
            .expect("publish");
    }
    let publish = t.elapsed();
    println!(
        "published {n} documents ({:.1} MB) in {:.2} s: {:.0} documents/s",
        bytes as f64 / 1e6,
        publish.as_secs_f64(),
        n as f64 / publish.as_secs_f64()
    );
    // Each round on a fresh durable (which starts from the first message); the time is
    // taken when the last document is acked, not when the idle processors' polls end.
    for round in 1..=3 {
        for processors in [1, 2] {
            let total = Arc::new(AtomicUsize::new(0));
            let mut consumers = Vec::new();
            for _ in 0..processors {
                let b = join(&bus).await;
                let c = b
                    .consumer(settings(
                        &format!("rate{processors}-{round}"),
                        500,
                        Duration::from_secs(30),
                    ))
                    .await
                    .expect("consumer");
                consumers.push(c);
            }
            let t = Instant::now();
            let handles: Vec<_> = consumers
                .into_iter()
                .map(|c| tokio::spawn(drain(c, total.clone(), n)))
                .collect();
            while total.load(Ordering::SeqCst) < n && t.elapsed() < Duration::from_secs(30) {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
            let took = t.elapsed();
            for h in handles {
                h.await.expect("task");
            }
            assert_eq!(total.load(Ordering::SeqCst), n);
            println!(
                "round {round}: consumed {n} documents with {processors} processor(s) in {:.2} s: {:.0} documents/s",
                took.as_secs_f64(),
                n as f64 / took.as_secs_f64()
            );
        }
    }
    bus.delete_streams().await.expect("cleanup");
}

/// The limits of `StreamSettings` (`[bus]` in the config) are put on the streams, and
/// put back when they were changed behind the bus's back (every start applies them).
#[tokio::test]
#[ignore = "needs NATS with JetStream: cargo test -p yuqing-bus --test jetstream -- --ignored"]
async fn stream_limits_are_applied_and_reapplied() {
    let first = bus("limits").await;
    let mut s = first.settings().clone();
    s.max_age = Duration::from_secs(2 * 86_400);
    s.max_bytes = 5_000_000;
    s.duplicate_window = Duration::from_secs(60);
    s.dead_max_age = Duration::from_secs(3 * 86_400);
    let limited = Bus::connect_with(first.url(), s.clone())
        .await
        .expect("connect");
    limited.ensure_stream().await.expect("ensure with limits");
    let config = |name: String| {
        let js = limited.jetstream().clone();
        async move {
            js.get_stream(&name)
                .await
                .expect("stream")
                .cached_info()
                .config
                .clone()
        }
    };
    let docs = config(s.stream.clone()).await;
    assert_eq!(docs.max_age, Duration::from_secs(2 * 86_400));
    assert_eq!(docs.max_bytes, 5_000_000);
    assert_eq!(docs.duplicate_window, Duration::from_secs(60));
    let dead = config(s.dead_stream.clone()).await;
    assert_eq!(dead.max_age, Duration::from_secs(3 * 86_400));
    // Back to the defaults on the next start with the default settings.
    first.ensure_stream().await.expect("ensure defaults");
    let docs = config(s.stream.clone()).await;
    assert_eq!(docs.max_age, StreamSettings::default().max_age);
    assert_eq!(docs.max_bytes, -1);
    first.delete_streams().await.expect("delete streams");
}
