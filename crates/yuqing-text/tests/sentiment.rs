//! Sentiment model: the shipped model loads and behaves (negation, degree, emoticons,
//! repost chains, neutral), reaches its dev accuracy floors, and bad files give errors.

use std::path::PathBuf;
use yuqing_text::sentiment::{
    self, FORMAT_VERSION, Label, MAGIC, Model, ModelError, TrainOptions, TrainSet, evaluate,
    load_dir, read_csv, train,
};

fn data_dir() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../../shared/data/sentiment"
    ))
}

fn model_path() -> PathBuf {
    PathBuf::from(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../models/sentiment-v1.bin"
    ))
}

fn p(text: &str) -> f32 {
    sentiment::classify(text).score
}

fn label(text: &str) -> Label {
    sentiment::classify(text).label
}

#[test]
fn builtin_model_loads_and_matches_the_file() {
    let m = Model::try_builtin().expect("built-in model");
    assert_eq!(m.header().feature_version, sentiment::FEATURE_VERSION);
    assert!(m.header().temperature > 0.0);
    let from_file = Model::load(model_path()).expect("models/sentiment-v1.bin");
    for t in [
        "酒店很干净，服务很好",
        "送餐太慢了，菜都凉了",
        "今天是星期二",
        "",
    ] {
        assert_eq!(m.classify(t), from_file.classify(t), "{t}");
    }
    let bytes = std::fs::read(model_path()).unwrap();
    assert_eq!(&bytes[..8], MAGIC);
    assert_eq!(
        u32::from_le_bytes(bytes[8..12].try_into().unwrap()),
        FORMAT_VERSION
    );
    assert!(bytes.len() < 4 << 20, "model file is {} bytes", bytes.len());
}

#[test]
fn clear_polarity() {
    for t in [
        "酒店很干净，服务很好，下次还来",
        "味道很棒，送餐也快",
        "质量不错，非常满意",
    ] {
        assert_eq!(label(t), Label::Positive, "{t} {}", p(t));
    }
    for t in [
        "房间又脏又小，服务态度很差",
        "送了两个小时，菜都凉了，难吃",
        "质量太差了，退货",
    ] {
        assert_eq!(label(t), Label::Negative, "{t} {}", p(t));
    }
}

#[test]
fn negation_flips() {
    for (pos, neg) in [
        ("满意", "并不满意"),
        ("我很高兴", "我不高兴"),
        ("这个手机很好用", "这个手机不好用"),
        ("效果很好", "效果不太好"),
        ("有效果", "没有效果"),
        ("很值得", "不值得"),
    ] {
        let (a, b) = (p(pos), p(neg));
        assert!(a > 0.5 && b < 0.5, "{pos} {a} / {neg} {b}");
        assert_eq!(label(pos), Label::Positive, "{pos} {a}");
        assert_ne!(label(neg), Label::Positive, "{neg} {b}");
    }
}

#[test]
fn hand_made_negations_stay_right() {
    // Negated positive words are not positive; fixed words that only start with a negator
    // (不错, 非常, 没想到 …) are not negations.
    for t in [
        "不喜欢",
        "一点也不好吃",
        "不推荐购买",
        "服务不怎么样",
        "房间没有想象中干净",
        "再也不会来了",
        "不值这个价",
    ] {
        assert_ne!(label(t), Label::Positive, "{t} {}", p(t));
    }
    for t in [
        "不错不错",
        "非常满意",
        "没想到这么好吃",
        "无论价格还是质量都很满意",
    ] {
        assert_eq!(label(t), Label::Positive, "{t} {}", p(t));
    }
    // Known limit (docs/specs/sentiment.md, section 8): a negated negative word (不难吃,
    // 一点都不贵) is not read as positive.
}

#[test]
fn classification_is_the_same_on_every_call_and_thread() {
    let texts = [
        "酒店很干净，服务很好",
        "送餐太慢了，菜都凉了[怒]",
        "今天是星期二",
        "不满意//@某人:还行吧",
    ];
    let first: Vec<_> = texts.iter().map(|t| sentiment::classify(t)).collect();
    let again: Vec<_> = std::thread::spawn(move || {
        texts
            .iter()
            .map(|t| sentiment::classify(t))
            .collect::<Vec<_>>()
    })
    .join()
    .unwrap();
    assert_eq!(first, again);
}

#[test]
fn degree_words_strengthen() {
    // Strong degree words push further from 0.5 than weak ones.
    assert!(
        p("非常满意") > p("还算满意"),
        "{} {}",
        p("非常满意"),
        p("还算满意")
    );
    assert!(p("非常差") < p("有点差"), "{} {}", p("非常差"), p("有点差"));
    assert!(p("太难吃了") < 0.2, "{}", p("太难吃了"));
}

#[test]
fn emoticon_tags_are_strong_features() {
    assert_eq!(
        label("[哈哈][哈哈]"),
        Label::Positive,
        "{}",
        p("[哈哈][哈哈]")
    );
    assert_eq!(label("[泪][泪]"), Label::Negative, "{}", p("[泪][泪]"));
    assert_eq!(label("[抓狂]"), Label::Negative, "{}", p("[抓狂]"));
    assert!(p("今天下雨了[哈哈]") > p("今天下雨了[泪]") + 0.3);
    // The tag is one token: [哈哈] is not the characters 哈, 哈.
    assert_ne!(p("[哈哈]"), p("哈哈"));
    // Full-width brackets fold to the same tag.
    assert_eq!(p("［泪］"), p("[泪]"));
}

#[test]
fn repost_chain_is_weaker_than_own_comment() {
    let chain = "//@某人:真是垃圾，气死我了[怒][怒]";
    // Chain alone (or behind Weibo's default 转发微博) is all there is: negative.
    assert_eq!(label(chain), Label::Negative, "{}", p(chain));
    assert_eq!(label(&format!("转发微博{chain}")), Label::Negative);
    // A positive own comment wins over the quoted chain.
    let t = format!("太棒了，支持！[赞]{chain}");
    assert_eq!(label(&t), Label::Positive, "{}", p(&t));
    // The chain still counts, at reduced weight: it lowers the score.
    assert!(p(&t) < p("太棒了，支持！[赞]"));
    let (own, rest) = sentiment::split_repost("好//@a:b//@c:d");
    assert_eq!((own, rest), ("好", "//@a:b//@c:d"));
}

#[test]
fn neutral_for_empty_and_factual_text() {
    for t in ["", "   ", "@张三 ", "。。。", "今天是星期二"] {
        let s = sentiment::classify(t);
        assert_eq!(s.label, Label::Neutral, "{t:?} {}", s.score);
    }
    assert_eq!(sentiment::classify("").score, 0.5);
    // The band is configurable.
    let m = Model::builtin().clone().with_neutral_margin(0.0);
    assert_ne!(m.classify("今天是星期二").label, Label::Neutral);
    let m = Model::builtin().clone().with_neutral_margin(0.5);
    assert_eq!(m.classify("非常满意").label, Label::Neutral);
}

#[test]
fn binary_is_never_neutral() {
    for t in ["", "今天是星期二", "非常满意", "太差了"] {
        let (l, s) = sentiment::classify_binary(t);
        assert_ne!(l, Label::Neutral);
        assert!((0.0..=1.0).contains(&s));
        assert_eq!(s, sentiment::classify(t).score);
    }
    assert_eq!(sentiment::classify_binary("非常满意").0, Label::Positive);
    assert_eq!(sentiment::classify_binary("太差了").0, Label::Negative);
}

#[test]
fn dev_accuracy_floors() {
    let data = load_dir(&data_dir()).expect("shared sentiment data");
    let m = Model::builtin();
    // Floors a little below the measured figures (docs/specs/sentiment.md).
    for (name, floor) in [
        ("weibo_senti_100k_sample2400", 0.94),
        ("waimai_10k", 0.89),
        ("chnsenticorp_htl_all", 0.89),
        ("covid19_weibo_binary", 0.87),
        ("online_shopping_10_cats", 0.92),
    ] {
        let (_, _, dev) = data.iter().find(|d| d.0 == name).expect(name);
        let acc = evaluate(m, dev);
        assert!(acc >= floor, "{name}: dev accuracy {acc:.4} < {floor}");
    }
}

#[test]
fn load_dir_maps_emotion_labels() {
    let rows = read_csv(&data_dir().join("covid19_weibo_emotion7/dev.csv.gz")).unwrap();
    let binary = read_csv(&data_dir().join("covid19_weibo_binary/dev.csv.gz")).unwrap();
    // surprise is dropped, so the mapped emotion7 set is (about) the binary set.
    assert!(
        rows.len().abs_diff(binary.len()) <= binary.len() / 100,
        "{}",
        rows.len()
    );
    assert!(rows.iter().all(|r| r.0 <= 1));
    assert!(load_dir(&data_dir().join("no-such-dir")).is_err());
}

fn tmp(name: &str) -> PathBuf {
    std::env::temp_dir().join(format!("yuqing-sentiment-{}-{name}", std::process::id()))
}

#[test]
fn corrupted_or_foreign_files_give_clear_errors() {
    let good = std::fs::read(model_path()).unwrap();
    assert!(Model::from_bytes(&good).is_ok());

    let err = Model::from_bytes(b"not a model at all").unwrap_err();
    assert!(matches!(err, ModelError::BadMagic), "{err}");
    assert!(err.to_string().contains("not a yuqing sentiment model"));

    let mut v2 = good.clone();
    v2[8..12].copy_from_slice(&2u32.to_le_bytes());
    let err = Model::from_bytes(&v2).unwrap_err();
    assert!(
        matches!(err, ModelError::UnsupportedVersion { found: 2 }),
        "{err}"
    );
    assert!(err.to_string().contains("version 2"));

    let mut flipped = good.clone();
    let mid = good.len() / 2;
    flipped[mid] ^= 0x55;
    let err = Model::from_bytes(&flipped).unwrap_err();
    assert!(matches!(err, ModelError::Checksum), "{err}");

    for cut in [9, 14, 40, good.len() / 3, good.len() - 1] {
        assert!(Model::from_bytes(&good[..cut]).is_err(), "cut at {cut}");
    }
    let mut longer = good.clone();
    longer.push(0);
    assert!(Model::from_bytes(&longer).is_err());

    // A file on disk.
    let path = tmp("corrupt.bin");
    std::fs::write(&path, &flipped).unwrap();
    let err = Model::load(&path).unwrap_err();
    assert!(err.to_string().contains("checksum"), "{err}");
    std::fs::remove_file(&path).ok();
    let err = Model::load(tmp("missing.bin")).unwrap_err();
    assert!(matches!(err, ModelError::Io { .. }), "{err}");
}

/// `good` with its header JSON edited by `edit` and the lengths and CRC fixed up.
fn with_header(good: &[u8], edit: impl Fn(&mut serde_json::Value)) -> Vec<u8> {
    let hlen = u32::from_le_bytes(good[12..16].try_into().unwrap()) as usize;
    let mut header: serde_json::Value = serde_json::from_slice(&good[16..16 + hlen]).unwrap();
    edit(&mut header);
    let json = serde_json::to_vec(&header).unwrap();
    let mut out = good[..12].to_vec();
    out.extend_from_slice(&(json.len() as u32).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&good[16 + hlen..good.len() - 4]);
    let mut crc = flate2::Crc::new();
    crc.update(&out);
    out.extend_from_slice(&crc.sum().to_le_bytes());
    out
}

#[test]
fn a_model_of_another_feature_version_is_refused_clearly() {
    let good = std::fs::read(model_path()).unwrap();
    assert!(Model::from_bytes(&with_header(&good, |_| {})).is_ok());
    let old = with_header(&good, |h| h["feature_version"] = 1.into());
    let err = Model::from_bytes(&old).unwrap_err();
    assert!(matches!(err, ModelError::Header(_)), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("feature version 1") && msg.contains(&sentiment::FEATURE_VERSION.to_string()),
        "{msg}"
    );
    // A header without the newer optional settings still loads (they default to off).
    let plain = with_header(&good, |h| {
        h["features"].as_object_mut().unwrap().remove("skip_grams");
    });
    let m = Model::from_bytes(&plain).unwrap();
    assert!(!m.header().features.skip_grams);
}

#[test]
fn train_save_load_round_trip() {
    // A tiny model from a little data: trains, saves, loads, and predicts the same.
    let rows = read_csv(&data_dir().join("waimai_10k/train.csv.gz")).unwrap();
    let mut opts = TrainOptions {
        iterations: 30,
        ..TrainOptions::default()
    };
    opts.features.bits = 16;
    // The file is ordered by label: take every 4th row for a mix.
    let rows: Vec<_> = rows.into_iter().step_by(4).collect();
    let m = train(&[TrainSet::new("waimai", rows)], &opts);
    let path = tmp("round.bin");
    m.save(&path).unwrap();
    let back = Model::load(&path).unwrap();
    std::fs::remove_file(&path).ok();
    assert_eq!(back.header().features, m.header().features);
    for t in ["很好吃", "太慢了", "一般般"] {
        assert!((back.score(t) - m.score(t)).abs() < 1e-3, "{t}");
    }
    assert!(back.score("很好吃，送得也快") > back.score("太慢了，难吃"));
}
