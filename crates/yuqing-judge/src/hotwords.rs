//! Hot words (热词, the word cloud of a report): the words that a set of texts uses much
//! more than usual, by TF-IDF against a background.
//!
//! A word's weight is `count / documents × idf`, where `count` is the number of (distinct)
//! texts that contain it — document frequency rather than raw frequency, so one long or
//! spammy text cannot dominate — and `idf` comes from the [`Background`]:
//! `ln((N + 1) / (df + 1)) + 1` over a background sample of N texts, or, when the
//! background is empty, a rough IDF from the jieba dictionary frequencies
//! ([`crate::words::dict_idf`]). Nothing is downloaded or read from disk.
//!
//! Texts are cleaned and segmented by [`crate::words`]: the repost chain (`//@…`),
//! `@mentions`, URLs, `[emoticons]`, numbers, punctuation, stop words and single characters
//! are dropped, and identical texts (after cleaning) count once.

use std::cmp::Ordering;
use std::collections::hash_map::DefaultHasher;
use std::collections::{BinaryHeap, HashMap, HashSet};
use std::hash::{Hash, Hasher};

use serde::{Deserialize, Serialize};

use crate::words::{self, clean_into, dict_idf};

/// Largest value [`dict_idf`] returns.
const DICT_IDF_MAX: f64 = 18.0;

/// Document frequencies of words over a background sample (e.g. a week of all monitored
/// texts). Build it once per report or cache it; [`Background::empty`] falls back to the
/// dictionary IDF.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Background {
    df: HashMap<String, u32>,
    docs: u64,
}

impl Background {
    /// No background: IDF comes from the jieba dictionary.
    pub fn empty() -> Self {
        Background::default()
    }

    /// Document frequencies over `texts` (normalised; identical texts count once).
    pub fn from_texts<'a>(texts: impl Iterator<Item = &'a str>) -> Self {
        let (df, docs) = count_documents(texts);
        Background {
            df: df.into_iter().map(|(w, c)| (w, c as u32)).collect(),
            docs,
        }
    }

    /// Number of (distinct) background texts.
    pub fn docs(&self) -> u64 {
        self.docs
    }

    /// Whether the background has no texts (the dictionary IDF is used).
    pub fn is_empty(&self) -> bool {
        self.docs == 0
    }

    /// Inverse document frequency of `word`.
    pub fn idf(&self, word: &str) -> f64 {
        if self.docs == 0 {
            return dict_idf(word);
        }
        let df = self.df.get(word).copied().unwrap_or(0) as f64;
        ((self.docs as f64 + 1.0) / (df + 1.0)).ln() + 1.0
    }

    fn idf_max(&self) -> f64 {
        if self.docs == 0 {
            DICT_IDF_MAX
        } else {
            (self.docs as f64 + 1.0).ln() + 1.0
        }
    }
}

/// One hot word.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct HotWord {
    pub word: String,
    /// `count / documents × idf`; comparable within one call.
    pub weight: f64,
    /// Number of (distinct) texts containing the word.
    pub count: u64,
}

/// Word → number of distinct texts containing it, and the number of distinct texts.
fn count_documents<'a>(texts: impl Iterator<Item = &'a str>) -> (HashMap<String, u64>, u64) {
    let mut df: HashMap<String, u64> = HashMap::new();
    let mut seen: HashSet<u64> = HashSet::new();
    let mut cleaned = String::new();
    let mut docs = 0u64;
    let jieba = words::jieba();
    for text in texts {
        clean_into(text, &mut cleaned);
        if cleaned.is_empty() {
            continue;
        }
        let mut h = DefaultHasher::new();
        cleaned.hash(&mut h);
        if !seen.insert(h.finish()) {
            continue;
        }
        docs += 1;
        let mut doc_words: Vec<&str> = jieba
            .cut(&cleaned, false)
            .into_iter()
            .map(|t| t.word)
            .filter(|w| words::keep_word(w))
            .collect();
        doc_words.sort_unstable();
        doc_words.dedup();
        for w in &doc_words {
            match df.get_mut(*w) {
                Some(c) => *c += 1,
                None => {
                    df.insert((*w).to_owned(), 1);
                }
            }
        }
    }
    (df, docs)
}

/// Min-heap entry for the running top n.
struct Ranked<'a>(f64, u64, &'a str);

impl Ranked<'_> {
    /// "Better" is larger: higher weight, then more documents, then the smaller word.
    fn better(&self, o: &Self) -> Ordering {
        self.0
            .total_cmp(&o.0)
            .then(self.1.cmp(&o.1))
            .then_with(|| o.2.cmp(self.2))
    }
}
impl PartialEq for Ranked<'_> {
    fn eq(&self, o: &Self) -> bool {
        self.better(o) == Ordering::Equal
    }
}
impl Eq for Ranked<'_> {}
impl PartialOrd for Ranked<'_> {
    fn partial_cmp(&self, o: &Self) -> Option<Ordering> {
        Some(self.cmp(o))
    }
}
impl Ord for Ranked<'_> {
    // Reversed so that BinaryHeap (a max-heap) pops the worst entry first.
    fn cmp(&self, o: &Self) -> Ordering {
        o.better(self)
    }
}

/// The `n` hottest words of `texts` (normalised) against `bg`, hottest first (ties: more
/// documents, then word order).
pub fn hot_words<'a>(
    texts: impl Iterator<Item = &'a str>,
    bg: &Background,
    n: usize,
) -> Vec<HotWord> {
    if n == 0 {
        return Vec::new();
    }
    let (df, docs) = count_documents(texts);
    if docs == 0 {
        return Vec::new();
    }
    let docs_f = docs as f64;
    let idf_max = bg.idf_max();
    // Visit words by decreasing count and stop once even the largest IDF cannot lift a
    // word into the top n: the IDF (the costly part without a background) is computed for
    // few words.
    let mut by_count: Vec<(&str, u64)> = df.iter().map(|(w, c)| (w.as_str(), *c)).collect();
    by_count.sort_unstable_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(b.0)));
    let mut heap: BinaryHeap<Ranked> = BinaryHeap::with_capacity(n + 1);
    for (w, c) in by_count {
        let tf = c as f64 / docs_f;
        if heap.len() == n
            && let Some(worst) = heap.peek()
            && tf * idf_max < worst.0
        {
            break;
        }
        heap.push(Ranked(tf * bg.idf(w), c, w));
        if heap.len() > n {
            heap.pop();
        }
    }
    let mut out: Vec<Ranked> = heap.into_vec();
    out.sort_by(|a, b| b.better(a));
    out.into_iter()
        .map(|r| HotWord {
            word: r.2.to_owned(),
            weight: r.0,
            count: r.1,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    const EVENT: &[&str] = &[
        "#江西新余火灾# 新余市渝水区一临街店铺发生火灾,已致39人遇难[蜡烛]",
        "新余火灾遇难人数升至39人,当地成立事故调查组 http://t.cn/a1b2",
        "江西新余一店铺火灾事故已造成39人死亡 @新余发布 请尽快公布原因",
        "新余渝水区火灾,消防通道被堵,逃生太难了 //@网友甲:[泪][泪] //@网友乙:转发微博",
        "新余火灾,愿逝者安息,一路走好",
        "新余火灾,愿逝者安息,一路走好",
        "新余火灾,愿逝者安息,一路走好",
        "临街店铺地下室违规住人,新余火灾暴露安全隐患",
        "转发微博",
        "",
    ];

    const BACKGROUND: &[&str] = &[
        "今天天气很好,适合出去走走",
        "市政府召开常务会议,研究部署下一阶段工作",
        "某店铺开业大吉,欢迎光临",
        "江西南昌今日气温回升",
        "夏季用电高峰,注意防火安全",
        "小区物业乱收费,业主投诉无门",
        "高考成绩今日公布",
        "新能源汽车销量再创新高",
    ];

    #[test]
    fn event_words_come_first() {
        let bg = Background::from_texts(BACKGROUND.iter().copied());
        assert_eq!(bg.docs(), 8);
        let hot = hot_words(EVENT.iter().copied(), &bg, 5);
        assert_eq!(hot.len(), 5);
        assert_eq!(hot[0].word, "新余", "{hot:?}");
        assert_eq!(hot[1].word, "火灾", "{hot:?}");
        // Identical texts count once: 新余 is in 6 distinct texts.
        assert_eq!(hot[0].count, 6);
        assert!(hot.windows(2).all(|w| w[0].weight >= w[1].weight));
        let all = hot_words(EVENT.iter().copied(), &bg, 1000);
        for w in &all {
            assert!(w.word.chars().count() >= 2, "{w:?}");
            assert!(!is_stop(&w.word), "{w:?}");
            assert!(!w.word.chars().any(|c| c.is_ascii_digit()), "{w:?}");
            // Mentions, repost chain, URLs and emoticons are gone.
            assert!(
                !["网友甲", "网友乙", "发布", "蜡烛", "t", "cn", "转发微博"]
                    .contains(&w.word.as_str()),
                "{w:?}"
            );
        }
    }

    fn is_stop(w: &str) -> bool {
        crate::words::is_stop_word(w)
    }

    #[test]
    fn empty_background_uses_the_dictionary() {
        let hot = hot_words(EVENT.iter().copied(), &Background::empty(), 3);
        assert_eq!(hot.len(), 3);
        assert!(hot.iter().any(|w| w.word == "新余"), "{hot:?}");
        assert!(Background::empty().is_empty());
        assert!(Background::empty().idf("新余") > Background::empty().idf("公司"));
    }

    #[test]
    fn top_n_is_exact() {
        // The early stop must not change the answer: compare with the full ranking.
        let bg = Background::from_texts(BACKGROUND.iter().copied());
        let all = hot_words(EVENT.iter().copied(), &bg, 10_000);
        for n in [1, 2, 3, 7, 20] {
            let top = hot_words(EVENT.iter().copied(), &bg, n);
            assert_eq!(top, all[..n.min(all.len())], "n = {n}");
        }
    }

    #[test]
    fn nothing_in_nothing_out() {
        let bg = Background::empty();
        assert!(hot_words(std::iter::empty(), &bg, 10).is_empty());
        assert!(hot_words(["", "转发微博", "//@a:哈哈"].into_iter(), &bg, 10).is_empty());
        assert!(hot_words(EVENT.iter().copied(), &bg, 0).is_empty());
    }

    #[test]
    fn cleaning() {
        use crate::words::clean;
        assert_eq!(clean("太惨了[泪] //@张三:转发"), "太惨了");
        assert_eq!(
            clean("@新余发布 请公布 http://t.cn/a1?x=1 原因!!"),
            "请公布 原因"
        );
        assert_eq!(clean("2024年7月,共39人[未闭合"), "年 月 共 人 未闭合");
        assert_eq!(clean("#新余火灾#"), "新余火灾");
        assert_eq!(clean("www.example.com 网站"), "网站");
    }
}
