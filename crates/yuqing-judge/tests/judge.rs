//! Integration tests of the public API, and speed checks (ignored by default; run them in
//! release: `cargo test --release -p yuqing-judge --test judge -- --ignored --nocapture`).

use std::time::Instant;

use chrono::{TimeZone, Utc};
use yuqing_judge::{
    Background, Category, Classifier, ClusterSettings, Clusterer, ContentType, Critical, Facts,
    GradingRules, Level, Node, hot_words, propagation, raised,
};

const FRAGMENTS: &[&str] = &[
    "哈尔滨道里区一居民楼发生燃气爆炸",
    "已造成3人受伤",
    "小区物业乱收费,多次反映没人管",
    "明天上午九点大家到市政府门口集合",
    "我觉得这件事应该公开调查结果",
    "太过分了[怒][怒]",
    "江西新余一店铺火灾事故已造成39人死亡",
    "学校食堂饭菜里吃出苍蝇",
    "今天天气晴,最高气温25度",
    "新能源汽车销量再创新高",
    "@新余发布 请尽快公布原因",
    "http://t.cn/a1b2 网页链接",
    "//@网友甲:转发微博",
    "支持!点赞[赞]",
    "疫情期间请不要聚集",
    "拖欠农民工工资半年了,希望有关部门管管",
    "高考成绩今日公布,考生可登录查询",
    "某公司召回一批不合格产品",
    "台风登陆,多地出现洪水",
    "说到底,问题在于监管缺位",
    "广东梅州一养老院发生火灾,多名老人被转移",
    "家长们相约下周一去教育局讨说法",
    "郑州金水区一餐馆发生燃气爆炸",
    "市政府召开常务会议研究部署下一阶段工作",
];

/// Deterministic pseudo-random short posts of 2–4 fragments.
fn posts(n: usize) -> Vec<String> {
    let mut x: u64 = 0x9e37_79b9_7f4a_7c15;
    let mut next = move || {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        x
    };
    (0..n)
        .map(|i| {
            let k = 2 + (next() % 3) as usize;
            let mut s = String::new();
            for _ in 0..k {
                s.push_str(FRAGMENTS[(next() % FRAGMENTS.len() as u64) as usize]);
                s.push(',');
            }
            s.push_str(&format!("第{i}条"));
            s
        })
        .collect()
}

#[test]
fn judge_one_item_end_to_end() {
    let classifier = Classifier::builtin();
    let text = "学校食堂饭菜里吃出苍蝇,投诉了也没人管[怒]";
    let (ty, cats) = classifier.classify(text);
    assert_eq!(ty, ContentType::Complaint);
    assert!(cats.contains(Category::Food));

    let rules = GradingRules::default();
    let critical = cats
        .iter()
        .find(|c| rules.critical_categories.contains(*c))
        .map(|c| Critical {
            category: c,
            document_id: "weibo:1".into(),
        });
    let facts = Facts {
        comments: 12,
        views: 80,
        mainstream_sources: vec![],
        critical,
        at: Utc.with_ymd_and_hms(2027, 1, 1, 0, 0, 0).unwrap(),
    };
    let g = rules.grade(&facts);
    assert_eq!(g.level, Level::EspeciallyMajor);
    assert!(raised(Some(Level::Large), g.level));
}

#[test]
#[ignore = "speed check; run in release"]
fn speed() {
    let texts = posts(300_000);
    let bytes: usize = texts.iter().map(String::len).sum();
    println!(
        "{} posts, {:.1} MB, mean {} bytes",
        texts.len(),
        bytes as f64 / 1e6,
        bytes / texts.len()
    );

    let c = Classifier::builtin();
    let t = Instant::now();
    let mut n = 0usize;
    for s in &texts {
        n += usize::from(c.classify(s).0 == ContentType::Behaviour);
    }
    let dt = t.elapsed().as_secs_f64();
    println!(
        "classify: {:.0} posts/s ({n} behaviour)",
        texts.len() as f64 / dt
    );

    // Warm the segmenter up (dictionary load) before timing.
    let _ = yuqing_judge::words::words("预热");
    let sample = &texts[..60_000];
    let t = Instant::now();
    let bg = Background::from_texts(texts[100_000..110_000].iter().map(String::as_str));
    println!(
        "background of 10000 texts: {:.3} s",
        t.elapsed().as_secs_f64()
    );
    let t = Instant::now();
    let hot = hot_words(sample.iter().map(String::as_str), &bg, 50);
    println!(
        "hot_words of 60000 texts: {:.3} s; top: {:?}",
        t.elapsed().as_secs_f64(),
        hot.iter().take(5).map(|w| &w.word).collect::<Vec<_>>()
    );
    let t = Instant::now();
    let _ = hot_words(sample.iter().map(String::as_str), &Background::empty(), 50);
    println!(
        "hot_words of 60000 texts, empty background: {:.3} s",
        t.elapsed().as_secs_f64()
    );

    let mut cl = Clusterer::new(ClusterSettings::default());
    let t = Instant::now();
    let all_terms: Vec<Vec<(String, f32)>> = sample.iter().map(|s| cl.terms(s)).collect();
    println!("terms of 60000 posts: {:.3} s", t.elapsed().as_secs_f64());
    drop(all_terms);
    let t = Instant::now();
    let mut next = 0i64;
    for (i, s) in sample.iter().enumerate() {
        let terms = cl.terms(s);
        let at = i as i64 * 1000;
        let id = match cl.assign(&terms, at) {
            Some((id, _)) => id,
            None => {
                next += 1;
                next
            }
        };
        cl.add(id, &terms, at);
    }
    println!(
        "cluster 60000 posts: {:.3} s, {} live events",
        t.elapsed().as_secs_f64(),
        cl.len()
    );

    let ids: Vec<String> = (0..1_000_000).map(|i| format!("d{i}")).collect();
    let nodes: Vec<Node> = (1..ids.len())
        .map(|i| Node {
            id: &ids[i],
            parent: Some(&ids[i / 2]),
            author: None,
            published_ms: Some(i as i64),
        })
        .collect();
    let t = Instant::now();
    let p = propagation::analyse(&nodes, "d0", 10);
    println!(
        "propagation of 1000000 nodes: {:.3} s, depth {}",
        t.elapsed().as_secs_f64(),
        p.max_depth
    );
}
