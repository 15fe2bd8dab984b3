//! The index on its own: substring recall equals `str::contains` on normalised text for
//! every kind of query, whole-word matches rank first, and filters work.

use yuqing_search::{IndexDoc, SearchIndex, SearchRequest, Sort};
use yuqing_text::normalize;

const TEXTS: &[&str] = &[
    "北京大学出版社",
    "我昨天在北京大学读了一下午的书，北京很好",
    "北京的大学很多",
    "iPhone 15 发布会在北京举行",
    "网友：县医院排队太久了！",
    "县医院 排队",
    "转发微博",
    "[泪][泪]",
    "",
    "北",
];

fn index() -> SearchIndex {
    filled().0
}

/// The index of `TEXTS` (seq = position + 1), committed, and its writer.
fn filled() -> (SearchIndex, yuqing_search::Writer) {
    let idx = SearchIndex::in_ram().expect("index");
    let mut w = idx.writer_with_words(32 << 20, 1, true).expect("writer");
    for (i, t) in TEXTS.iter().enumerate() {
        let n = normalize(t);
        w.add(&IndexDoc {
            seq: i as i64 + 1,
            title: "",
            text: &n,
            platform: if i % 2 == 0 { "weibo" } else { "news" },
            kind: "post",
            source: "",
            published_ms: Some(1_000 * i as i64),
            verified: i == 1,
            group_id: None,
        })
        .expect("add");
    }
    w.commit(TEXTS.len() as i64).expect("commit");
    idx.reload().expect("reload");
    (idx, w)
}

fn want(q: &str) -> Vec<i64> {
    let q = normalize(q);
    TEXTS
        .iter()
        .enumerate()
        .filter(|(_, t)| normalize(t).contains(&q))
        .map(|(i, _)| i as i64 + 1)
        .collect()
}

#[test]
fn recall_equals_substring_matching() {
    let idx = index();
    for q in [
        "北京大学",
        "北京",
        "大学",
        "北",
        "京大",
        "iphone",
        "IPHONE 15",
        "15",
        "医院排队",
        "泪",
        "转发微博",
        "学读了",
    ] {
        let req = SearchRequest {
            query: normalize(q),
            limit: 100,
            ..Default::default()
        };
        let (seqs, exact) = idx.all_seqs(&req, 100).expect("search");
        let (unscored, exact2) = idx.seqs(&req).expect("seqs");
        assert_eq!(
            (&unscored, exact2),
            (&seqs, exact),
            "seqs = all_seqs for {q}"
        );
        let w = want(q);
        if exact {
            assert_eq!(seqs, w, "query {q}");
        } else {
            // Candidates must include every true match (the caller verifies the rest).
            assert!(
                w.iter().all(|s| seqs.contains(s)),
                "query {q}: {seqs:?} misses some of {w:?}"
            );
        }
    }
    assert_eq!(idx.indexed_seq().expect("seq"), TEXTS.len() as i64);
}

#[test]
fn whole_words_rank_first_and_filters_apply() {
    let idx = index();
    let req = SearchRequest {
        query: normalize("北京大学"),
        limit: 10,
        sort: Sort::Relevance,
        ..Default::default()
    };
    let hits = idx.search(&req).expect("search");
    assert_eq!(hits.total, 2);
    assert_eq!(
        hits.hits[0].seq, 2,
        "北京大学 as a word (seq 2) ranks above 北京大学出版社 (seq 1)"
    );
    let req = SearchRequest {
        query: normalize("北京"),
        platforms: vec!["news".into()],
        ..Default::default()
    };
    assert_eq!(idx.count(&req).expect("count").0, 2);
    let req = SearchRequest {
        query: normalize("北京"),
        since_ms: Some(1_000),
        until_ms: Some(3_000),
        limit: 10,
        ..Default::default()
    };
    let (seqs, _) = idx.all_seqs(&req, 10).expect("search");
    assert_eq!(seqs, vec![2, 3]);
    let req = SearchRequest {
        query: normalize("北京"),
        verified: Some(true),
        ..Default::default()
    };
    assert_eq!(idx.count(&req).expect("count").0, 1);
    let req = SearchRequest {
        query: normalize("北京"),
        sort: Sort::Time,
        limit: 1,
        ..Default::default()
    };
    assert_eq!(
        idx.search(&req).expect("search").hits[0].seq,
        4,
        "newest first"
    );
}

#[test]
fn documents_below_a_seq_are_forgotten() {
    let (idx, mut w) = filled();
    // Retention dropped seqs 1–3 from the store.
    w.delete_below(4).expect("delete");
    w.commit(TEXTS.len() as i64).expect("commit");
    idx.reload().expect("reload");
    assert_eq!(idx.num_docs(), TEXTS.len() as u64 - 3);
    let req = SearchRequest {
        query: normalize("北京"),
        limit: 100,
        ..Default::default()
    };
    let (seqs, _) = idx.all_seqs(&req, 100).expect("search");
    let kept: Vec<i64> = want("北京").into_iter().filter(|&s| s >= 4).collect();
    assert_eq!(seqs, kept);
    assert!(!kept.is_empty() && kept.len() < want("北京").len());
    assert_eq!(idx.indexed_seq().expect("seq"), TEXTS.len() as i64);
}
