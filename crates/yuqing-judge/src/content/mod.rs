//! Content type (内容类型) and critical categories (关键类别) of a text.
//!
//! The seeds (003 篇四) name four types of online opinion: an attitude or emotion
//! ([`ContentType::Attitude`], 态度情绪), a view ([`ContentType::View`], 观点), the exposure of
//! a problem or a complaint ([`ContentType::Complaint`], 问题投诉), and a behavioural tendency
//! ([`ContentType::Behaviour`], 行为倾向: calls to gather, petition, strike or march, the most
//! urgent early-warning kind). A text gets the most urgent type it shows, in the order
//! Behaviour > Complaint > View > Attitude > None.
//!
//! The critical categories are the ones the seed's grading rule singles out (emergency,
//! public safety, food, health, disaster, production quality, secrecy); a text may belong to
//! several, so they are a bit set ([`Categories`]).
//!
//! Everything is lexicon driven: one Aho–Corasick automaton (leftmost-longest) holds every
//! cue word of every type and category, so a text is scanned once. Behaviour needs more than
//! a bare word:
//!
//! - *strong* cues (罢工, 集体上访, 拉横幅 ...) count on their own;
//! - *weak* cues (集合, 聚集, 一起去, 相约 ...) count only when the same sentence also has a
//!   future time (明天, 今晚, 届时 ...), a place (门口, 广场, 市政府 ...) or a mobilising word
//!   (大家, 兄弟们, 互相转告 ...);
//! - "go to an institution at a time" (`明天上午到市政府门口`) counts even without a cue
//!   verb, and so does "everybody go to a place at a time" (`明早大家都到售楼处`);
//! - a cue right after a negation (不要 / 别 / 禁止 / 严禁 / 请勿 ..., optionally with 去 / 再 /
//!   参与 ... in between: `不要再去聚集`) does not count;
//! - in a question (`?`, 吗) weak cues and time+place do not count; with an interrogative
//!   word (是否, 会不会, 要不要 ...) strong cues do not count either.
//!
//! Input MUST be normalised text (simplified, lower case, half-width). Custom words from the
//! configuration ([`ContentSettings`]) are lower-cased, trimmed and folded to half-width here;
//! write them in simplified Chinese.

use std::collections::HashMap;
use std::fmt;

use aho_corasick::{AhoCorasick, MatchKind};
use serde::de::{self, Deserializer, SeqAccess, Visitor};
use serde::ser::{SerializeSeq, Serializer};
use serde::{Deserialize, Serialize};

use crate::error::JudgeError;

mod lexicon;
use lexicon::*;

/// The content type of a text, most urgent first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ContentType {
    /// 行为倾向: calls to gather, petition, strike, march.
    Behaviour,
    /// 问题投诉: exposure of a problem, complaint, appeal for help.
    Complaint,
    /// 观点: a view or judgement about an event.
    View,
    /// 态度情绪: an attitude or emotion.
    Attitude,
    /// 无: none of the above (empty or purely informational text).
    None,
}

impl ContentType {
    /// All types, most urgent first.
    pub const ALL: [ContentType; 5] = [
        ContentType::Behaviour,
        ContentType::Complaint,
        ContentType::View,
        ContentType::Attitude,
        ContentType::None,
    ];

    /// Stable name (`behaviour`, `complaint`, `view`, `attitude`, `none`).
    pub fn as_str(self) -> &'static str {
        match self {
            ContentType::Behaviour => "behaviour",
            ContentType::Complaint => "complaint",
            ContentType::View => "view",
            ContentType::Attitude => "attitude",
            ContentType::None => "none",
        }
    }

    /// Parses a stable name (ASCII case-insensitive, surrounding space ignored; `behavior`
    /// is accepted too) or a Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        ContentType::ALL
            .into_iter()
            .find(|t| t.as_str().eq_ignore_ascii_case(s) || t.label_zh() == s)
            .or_else(|| {
                s.eq_ignore_ascii_case("behavior")
                    .then_some(ContentType::Behaviour)
            })
    }

    /// Chinese label (行为倾向, 问题投诉, 观点, 态度情绪, 无).
    pub fn label_zh(self) -> &'static str {
        match self {
            ContentType::Behaviour => "行为倾向",
            ContentType::Complaint => "问题投诉",
            ContentType::View => "观点",
            ContentType::Attitude => "态度情绪",
            ContentType::None => "无",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            ContentType::Behaviour => "behavioural tendency",
            ContentType::Complaint => "complaint / problem exposure",
            ContentType::View => "view",
            ContentType::Attitude => "attitude / emotion",
            ContentType::None => "none",
        }
    }

    /// Stable integer for storage: none 0, attitude 1, view 2, complaint 3, behaviour 4
    /// (larger is more urgent).
    pub fn code(self) -> i64 {
        match self {
            ContentType::None => 0,
            ContentType::Attitude => 1,
            ContentType::View => 2,
            ContentType::Complaint => 3,
            ContentType::Behaviour => 4,
        }
    }

    /// Inverse of [`ContentType::code`].
    pub fn from_code(code: i64) -> Option<Self> {
        ContentType::ALL.into_iter().find(|t| t.code() == code)
    }
}

impl fmt::Display for ContentType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A critical category (关键类别) of the grading rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// 突发事件
    Emergency,
    /// 公共安全
    PublicSafety,
    /// 食品
    Food,
    /// 卫生健康
    Health,
    /// 灾害
    Disaster,
    /// 生产质量
    ProductionQuality,
    /// 保密
    Secrecy,
}

impl Category {
    /// All categories, in bit order.
    pub const ALL: [Category; 7] = [
        Category::Emergency,
        Category::PublicSafety,
        Category::Food,
        Category::Health,
        Category::Disaster,
        Category::ProductionQuality,
        Category::Secrecy,
    ];

    /// Stable snake_case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Category::Emergency => "emergency",
            Category::PublicSafety => "public_safety",
            Category::Food => "food",
            Category::Health => "health",
            Category::Disaster => "disaster",
            Category::ProductionQuality => "production_quality",
            Category::Secrecy => "secrecy",
        }
    }

    /// Parses a stable name (ASCII case-insensitive, `-` accepted for `_`) or a Chinese label.
    pub fn parse(s: &str) -> Option<Self> {
        let s = s.trim();
        let folded = s.replace('-', "_");
        Category::ALL
            .into_iter()
            .find(|c| c.as_str().eq_ignore_ascii_case(&folded) || c.label_zh() == s)
    }

    /// Chinese label (突发事件, 公共安全, 食品, 卫生健康, 灾害, 生产质量, 保密).
    pub fn label_zh(self) -> &'static str {
        match self {
            Category::Emergency => "突发事件",
            Category::PublicSafety => "公共安全",
            Category::Food => "食品",
            Category::Health => "卫生健康",
            Category::Disaster => "灾害",
            Category::ProductionQuality => "生产质量",
            Category::Secrecy => "保密",
        }
    }

    /// English label.
    pub fn label_en(self) -> &'static str {
        match self {
            Category::Emergency => "emergency",
            Category::PublicSafety => "public safety",
            Category::Food => "food",
            Category::Health => "health",
            Category::Disaster => "disaster",
            Category::ProductionQuality => "production quality",
            Category::Secrecy => "secrecy",
        }
    }

    /// The category's bit in [`Categories`] (stable: emergency 1, public_safety 2, food 4,
    /// health 8, disaster 16, production_quality 32, secrecy 64).
    pub fn bit(self) -> u32 {
        1 << (self as u32)
    }
}

impl fmt::Display for Category {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A set of [`Category`] values as a bit mask (store it with [`Categories::bits`]).
/// Serialised as a list of names: `["food", "health"]`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Categories(pub u32);

impl Categories {
    /// The empty set.
    pub const EMPTY: Categories = Categories(0);

    /// Every category.
    pub fn all() -> Self {
        Category::ALL.into_iter().collect()
    }

    /// Whether `c` is in the set.
    pub fn contains(self, c: Category) -> bool {
        self.0 & c.bit() != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.0 & Self::all_bits() == 0
    }

    /// The members, in bit order.
    pub fn iter(self) -> impl Iterator<Item = Category> {
        Category::ALL.into_iter().filter(move |c| self.contains(*c))
    }

    /// The raw bit mask.
    pub fn bits(self) -> u32 {
        self.0
    }

    /// From a raw bit mask; unknown bits are dropped.
    pub fn from_bits(bits: u32) -> Self {
        Categories(bits & Self::all_bits())
    }

    /// Adds `c`.
    pub fn insert(&mut self, c: Category) {
        self.0 |= c.bit();
    }

    /// Members in common with `other`.
    pub fn intersection(self, other: Categories) -> Categories {
        Categories(self.0 & other.0)
    }

    fn all_bits() -> u32 {
        (1 << Category::ALL.len()) - 1
    }
}

impl FromIterator<Category> for Categories {
    fn from_iter<I: IntoIterator<Item = Category>>(iter: I) -> Self {
        let mut s = Categories::EMPTY;
        for c in iter {
            s.insert(c);
        }
        s
    }
}

impl Serialize for Categories {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(None)?;
        for c in self.iter() {
            seq.serialize_element(c.as_str())?;
        }
        seq.end()
    }
}

impl<'de> Deserialize<'de> for Categories {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = Categories;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a list of category names")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Categories, A::Error> {
                let mut out = Categories::EMPTY;
                while let Some(name) = seq.next_element::<String>()? {
                    match Category::parse(&name) {
                        Some(c) => out.insert(c),
                        None => {
                            return Err(de::Error::custom(format_args!(
                                "未知类别 {name:?}，可选：{} / unknown category {name:?}, expected one of: {}",
                                category_names(),
                                category_names()
                            )));
                        }
                    }
                }
                Ok(out)
            }
        }
        d.deserialize_seq(V)
    }
}

fn category_names() -> String {
    Category::ALL
        .iter()
        .map(|c| c.as_str())
        .collect::<Vec<_>>()
        .join(", ")
}

/// Extra cue words per category (`[judge.content.categories]` in the config file).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct CategoryWords {
    pub emergency: Vec<String>,
    pub public_safety: Vec<String>,
    pub food: Vec<String>,
    pub health: Vec<String>,
    pub disaster: Vec<String>,
    pub production_quality: Vec<String>,
    pub secrecy: Vec<String>,
}

impl CategoryWords {
    fn get(&self, c: Category) -> &[String] {
        match c {
            Category::Emergency => &self.emergency,
            Category::PublicSafety => &self.public_safety,
            Category::Food => &self.food,
            Category::Health => &self.health,
            Category::Disaster => &self.disaster,
            Category::ProductionQuality => &self.production_quality,
            Category::Secrecy => &self.secrecy,
        }
    }
}

/// Lexicon settings from the configuration file: words added to the built-in lexicon per
/// content type and per category, and built-in words to remove.
///
/// ```toml
/// behaviour = ["拉横幅", "讨薪团"]
/// complaint = ["物业不作为"]
/// remove = ["维权"]
/// [categories]
/// food = ["毒豆芽"]
/// ```
///
/// Words added to `behaviour` are strong cues (they count on their own, unless negated).
/// `remove` takes words out of the built-in lexicon for every type and category; a word
/// that is not built in is ignored. Added words are never removed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ContentSettings {
    /// Extra behavioural-tendency cues (calls to gather, petition, strike ...).
    pub behaviour: Vec<String>,
    /// Extra complaint / problem-exposure cues.
    pub complaint: Vec<String>,
    /// Extra view cues.
    pub view: Vec<String>,
    /// Extra attitude / emotion cues (words or emoticon tags such as `[怒]`).
    pub attitude: Vec<String>,
    /// Extra cues per critical category.
    pub categories: CategoryWords,
    /// Built-in words to remove from every list.
    pub remove: Vec<String>,
}

// Roles a lexicon word can have (a word may have several).
const BEH_STRONG: u16 = 1;
const BEH_WEAK: u16 = 1 << 1;
const TIME: u16 = 1 << 2;
const PLACE: u16 = 1 << 3;
const MOBILISER: u16 = 1 << 4;
const INTERROGATIVE: u16 = 1 << 5;
const PARTICLE: u16 = 1 << 6;
const COMPLAINT: u16 = 1 << 7;
const VIEW: u16 = 1 << 8;
const ATTITUDE: u16 = 1 << 9;
const PLACE_GOV: u16 = 1 << 10;

#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    roles: u16,
    cats: u32,
}

/// The content classifier: one automaton over the whole lexicon. Build it once and share it
/// (it is `Send + Sync`); classifying does not allocate.
#[derive(Debug, Clone)]
pub struct Classifier {
    ac: Option<AhoCorasick>,
    entries: Vec<Entry>,
}

/// Per-sentence evidence for behaviour.
#[derive(Default)]
struct Sentence {
    strong: bool,
    weak: bool,
    time: bool,
    place: bool,
    go_place: bool,
    go_gov: bool,
    mobiliser: bool,
    interrogative: bool,
    particle: bool,
}

impl Sentence {
    fn behaviour(&self, question_mark: bool) -> bool {
        let question = question_mark || self.particle || self.interrogative;
        (self.strong && !self.interrogative)
            || (!question
                && ((self.weak && (self.time || self.place || self.mobiliser))
                    || (self.go_gov && self.time)
                    || (self.go_place && self.time && self.mobiliser)))
    }
}

/// Negation words that cancel a behaviour cue right after them.
const NEGATIONS: &[&str] = &[
    "不要", "别", "禁止", "严禁", "不准", "不许", "请勿", "切勿", "勿", "不得", "不能", "不可",
    "不应", "防止", "避免", "杜绝", "谨防", "拒绝", "反对", "不会", "没有", "没", "未", "无需",
    "不必", "不用", "莫",
];

/// Words allowed between a negation and the cue (`不要再去聚集`).
const FILLERS: &[&str] = &[
    "去", "再", "来", "参与", "参加", "进行", "搞", "私自", "随意", "盲目", "非法", "组织", "擅自",
    "轻易", "聚众", "跟风", "一起", "再次", " ",
];

fn negated(text: &str, start: usize) -> bool {
    let mut before = &text[..start];
    for _ in 0..3 {
        match FILLERS.iter().find(|f| before.ends_with(**f)) {
            Some(f) => before = &before[..before.len() - f.len()],
            None => break,
        }
    }
    NEGATIONS.iter().any(|n| before.ends_with(n))
}

/// Whether one of 到 / 去 / 往 / 赴 / 来 appears among the 8 characters before `start`
/// (same sentence): "到市政府门口", "去厂门口".
fn goes_to(text: &str, start: usize) -> bool {
    text[..start]
        .chars()
        .rev()
        .take(8)
        .take_while(|c| !is_boundary(*c))
        .any(|c| matches!(c, '到' | '去' | '往' | '赴' | '来'))
}

fn is_boundary(c: char) -> bool {
    matches!(c, '。' | '!' | '?' | '！' | '？' | ';' | '；' | '\n')
}

fn fold_word(w: &str) -> String {
    w.trim()
        .chars()
        .map(|c| match c {
            '\u{ff01}'..='\u{ff5e}' => char::from_u32(c as u32 - 0xfee0).unwrap_or(c),
            '\u{3000}' => ' ',
            _ => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

impl Classifier {
    /// The classifier with the built-in lexicon only.
    pub fn builtin() -> Self {
        // The built-in lexicon is valid by construction (a test checks it); should it ever
        // fail to compile, the classifier matches nothing rather than panicking.
        Classifier::new(&ContentSettings::default()).unwrap_or(Classifier {
            ac: None,
            entries: Vec::new(),
        })
    }

    /// The built-in lexicon adjusted by `settings`. Fails on an empty custom word.
    pub fn new(settings: &ContentSettings) -> Result<Self, JudgeError> {
        let mut map: HashMap<String, Entry> = HashMap::new();
        let mut add = |word: &str, roles: u16, cats: u32| {
            let e = map.entry(word.to_owned()).or_default();
            e.roles |= roles;
            e.cats |= cats;
        };
        for (list, role) in [
            (BEHAVIOUR_STRONG, BEH_STRONG),
            (BEHAVIOUR_WEAK, BEH_WEAK),
            (TIME_WORDS, TIME),
            (PLACE_WORDS, PLACE),
            (PLACE_GOV_WORDS, PLACE_GOV),
            (BLOCKERS, 0),
            (MOBILISERS, MOBILISER),
            (INTERROGATIVES, INTERROGATIVE),
            (PARTICLES, PARTICLE),
            (COMPLAINT_WORDS, COMPLAINT),
            (VIEW_WORDS, VIEW),
            (ATTITUDE_WORDS, ATTITUDE),
        ] {
            for w in list.split_whitespace() {
                add(w, role, 0);
            }
        }
        for c in Category::ALL {
            for w in builtin_category_words(c).split_whitespace() {
                add(w, 0, c.bit());
            }
        }
        for w in &settings.remove {
            map.remove(&fold_word(w));
        }
        let mut add_custom = |field: String, words: &[String], roles: u16, cats: u32| {
            for (i, w) in words.iter().enumerate() {
                let w = fold_word(w);
                if w.is_empty() {
                    return Err(JudgeError::EmptyWord {
                        field,
                        index: i + 1,
                    });
                }
                let e = map.entry(w).or_default();
                e.roles |= roles;
                e.cats |= cats;
            }
            Ok(())
        };
        add_custom("behaviour".into(), &settings.behaviour, BEH_STRONG, 0)?;
        add_custom("complaint".into(), &settings.complaint, COMPLAINT, 0)?;
        add_custom("view".into(), &settings.view, VIEW, 0)?;
        add_custom("attitude".into(), &settings.attitude, ATTITUDE, 0)?;
        for c in Category::ALL {
            add_custom(
                format!("categories.{}", c.as_str()),
                settings.categories.get(c),
                0,
                c.bit(),
            )?;
        }
        let mut words: Vec<(String, Entry)> = map.into_iter().collect();
        words.sort_by(|a, b| a.0.cmp(&b.0));
        let ac = AhoCorasick::builder()
            .match_kind(MatchKind::LeftmostLongest)
            .build(words.iter().map(|(w, _)| w.as_str()))
            .map_err(|e| JudgeError::Lexicon(e.to_string()))?;
        Ok(Classifier {
            ac: Some(ac),
            entries: words.into_iter().map(|(_, e)| e).collect(),
        })
    }

    /// Number of distinct words in the lexicon.
    pub fn lexicon_len(&self) -> usize {
        self.entries.len()
    }

    /// Content type and categories of a normalised text, in one scan.
    pub fn classify(&self, norm_text: &str) -> (ContentType, Categories) {
        let Some(ac) = &self.ac else {
            return (ContentType::None, Categories::EMPTY);
        };
        let mut cats = 0u32;
        let mut behaviour = false;
        let mut roles_seen = 0u16;
        let mut sentence = Sentence::default();
        let mut last = 0usize;
        for m in ac.find_iter(norm_text) {
            // Close sentences ended between the previous match and this one.
            if let Some(c) = norm_text[last..m.start()].chars().find(|c| is_boundary(*c)) {
                behaviour |= sentence.behaviour(matches!(c, '?' | '？'));
                sentence = Sentence::default();
            }
            last = m.end();
            let e = self.entries[m.pattern().as_usize()];
            cats |= e.cats;
            let mut roles = e.roles;
            if roles & (BEH_STRONG | BEH_WEAK) != 0 && negated(norm_text, m.start()) {
                roles &= !(BEH_STRONG | BEH_WEAK);
            }
            roles_seen |= roles;
            sentence.strong |= roles & BEH_STRONG != 0;
            sentence.weak |= roles & BEH_WEAK != 0;
            sentence.time |= roles & TIME != 0;
            sentence.mobiliser |= roles & MOBILISER != 0;
            sentence.interrogative |= roles & INTERROGATIVE != 0;
            sentence.particle |= roles & PARTICLE != 0;
            if roles & (PLACE | PLACE_GOV) != 0 {
                sentence.place = true;
                if goes_to(norm_text, m.start()) {
                    sentence.go_place = true;
                    sentence.go_gov |= roles & PLACE_GOV != 0;
                }
            }
        }
        if !behaviour {
            let q = norm_text[last..]
                .chars()
                .find(|c| is_boundary(*c))
                .is_some_and(|c| matches!(c, '?' | '？'));
            behaviour = sentence.behaviour(q);
        }
        let ty = if behaviour {
            ContentType::Behaviour
        } else if roles_seen & COMPLAINT != 0 {
            ContentType::Complaint
        } else if roles_seen & VIEW != 0 {
            ContentType::View
        } else if roles_seen & ATTITUDE != 0 {
            ContentType::Attitude
        } else {
            ContentType::None
        };
        (ty, Categories::from_bits(cats))
    }

    /// Content type only (same scan as [`Classifier::classify`]).
    pub fn content_type(&self, norm_text: &str) -> ContentType {
        self.classify(norm_text).0
    }

    /// Categories only (same scan as [`Classifier::classify`]).
    pub fn categories(&self, norm_text: &str) -> Categories {
        self.classify(norm_text).1
    }
}

impl Default for Classifier {
    fn default() -> Self {
        Classifier::builtin()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn c() -> &'static Classifier {
        static C: std::sync::OnceLock<Classifier> = std::sync::OnceLock::new();
        C.get_or_init(Classifier::builtin)
    }

    #[test]
    fn builtin_lexicon_compiles_and_is_rich() {
        let c = Classifier::new(&ContentSettings::default()).unwrap();
        assert!(c.lexicon_len() > 700, "{}", c.lexicon_len());
        for (list, min) in [
            (BEHAVIOUR_STRONG, 60),
            (BEHAVIOUR_WEAK, 30),
            (COMPLAINT_WORDS, 100),
            (VIEW_WORDS, 50),
            (ATTITUDE_WORDS, 100),
        ] {
            assert!(list.split_whitespace().count() >= min, "{list}");
        }
        for cat in Category::ALL {
            let n = builtin_category_words(cat).split_whitespace().count();
            assert!(n >= 24, "{cat}: {n}");
        }
    }

    #[test]
    fn content_types() {
        use ContentType::*;
        let cases: &[(&str, ContentType)] = &[
            // Behavioural tendency.
            ("明天上午9点,所有业主到售楼处门口集合,讨个说法!", Behaviour),
            ("兄弟们明天一起去市政府门口,人越多越好", Behaviour),
            ("工地农民工集体讨薪,拉横幅堵住大门", Behaviour),
            ("某某纺织厂工人今天全体罢工了", Behaviour),
            ("请大家互相转告,周一早上八点在厂门口集合", Behaviour),
            ("家长们相约下周一去教育局讨说法", Behaviour),
            ("明天上午十点到区政府,不见不散", Behaviour),
            ("明天上午十点都到区政府", Behaviour),
            ("全体业主周六上午在小区门口静坐维权", Behaviour),
            ("强烈要求退还集资款,我们准备集体上访", Behaviour),
            ("学生们今天罢课游行,要求学校给个交代", Behaviour),
            ("村民们堵路阻止垃圾焚烧厂开工", Behaviour),
            ("我觉得明天大家一起去市政府讨说法", Behaviour),
            ("听说明天有人要去市政府门口拉横幅?", Behaviour),
            // Negated or asked: not a call to gather.
            ("疫情期间请不要聚集,出门戴口罩", None),
            ("严禁聚众闹事,违者依法处理", None),
            ("别去上访了,没用的", None),
            ("禁止游行", None),
            ("请勿私自组织大家集合", None),
            ("不要再去聚集了", None),
            ("明天会不会有人去市政府门口聚集?", None),
            ("明天在广场集合吗?", None),
            ("是否有人在策划罢工?", None),
            ("人群聚集在一起看热闹", None),
            ("我昨天去医院门口买了水果", None),
            ("明天到学校门口接孩子", None),
            // Complaint / problem exposure.
            ("小区物业乱收费,多次反映没人管,求曝光!", Complaint),
            ("拖欠农民工工资半年了,希望有关部门管管", Complaint),
            ("我要投诉这家店,服务员态度恶劣", Complaint),
            ("噪音扰民严重,拨打12345也没用", Complaint),
            ("实名举报某局长收受贿赂", Complaint),
            ("开发商延期交房两年,业主维权难", Complaint),
            ("我觉得太过分了,必须投诉", Complaint),
            ("孩子学校门口的违建至今没有解决,怎么办", Complaint),
            // Views.
            ("我认为这件事应该公开调查结果", View),
            ("说到底,问题在于监管缺位", View),
            ("建议相关部门加强监管", View),
            ("个人认为,此事不能一概而论", View),
            ("由此可见,基层治理还有很长的路要走", View),
            // Attitudes / emotions.
            ("太过分了[怒][怒]", Attitude),
            ("心寒啊", Attitude),
            ("支持!点赞[赞]", Attitude),
            ("哈哈哈哈[笑cry]", Attitude),
            ("看哭了[泪][泪] 一路走好", Attitude),
            ("这也太离谱了吧", Attitude),
            // Nothing.
            ("", None),
            ("   ", None),
            ("今天天气晴,最高气温25度", None),
            ("市政府召开常务会议研究部署下一阶段工作", None),
            ("加油站今天油价下调", None),
        ];
        let mut failures = Vec::new();
        for (text, want) in cases {
            let got = c().content_type(text);
            if got != *want {
                failures.push(format!("{text:?}: got {got:?}, want {want:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn categories() {
        use Category::*;
        let cases: &[(&str, &[Category])] = &[
            ("某小学食堂发生集体食物中毒,二十余名学生送医", &[Food]),
            ("外卖吃出异物,商家还用地沟油", &[Food]),
            ("超市卖过期食品,还篡改生产日期", &[Food]),
            (
                "四川某地发生6.2级地震,暂无人员伤亡报告",
                &[Disaster, Emergency],
            ),
            ("台风登陆,多地出现洪水和山体滑坡", &[Disaster]),
            ("小区突发火灾,浓烟滚滚", &[Disaster, Emergency]),
            ("高速发生车祸,多车追尾", &[PublicSafety]),
            ("某小区发生燃气爆炸", &[PublicSafety, Emergency]),
            ("男子持刀行凶,砍伤三人", &[PublicSafety]),
            ("新建小区楼房出现裂缝,疑似豆腐渣工程", &[ProductionQuality]),
            ("某公司召回一批不合格产品", &[ProductionQuality]),
            ("某单位干部泄露涉密文件", &[Secrecy]),
            ("内部资料截图外传,涉及机密", &[Secrecy]),
            ("医院发生医疗事故,患者家属讨说法", &[Health]),
            ("该市新增3例新冠确诊病例,已隔离", &[Health]),
            (
                "突发!某地化工厂发生爆炸,伤亡不明",
                &[Emergency, PublicSafety],
            ),
            ("游客被困山中,救援人员连夜搜救", &[Emergency]),
            ("今天天气很好,适合出游", &[]),
            ("", &[]),
        ];
        let mut failures = Vec::new();
        for (text, want) in cases {
            let got = c().categories(text);
            for w in *want {
                if !got.contains(*w) {
                    failures.push(format!("{text:?}: {w} missing from {got:?}"));
                }
            }
            if want.is_empty() && !got.is_empty() {
                failures.push(format!("{text:?}: want none, got {got:?}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn classify_returns_both() {
        let (t, cats) = c().classify("食堂饭菜里吃出苍蝇,投诉了也没人管[怒]");
        assert_eq!(t, ContentType::Complaint);
        assert!(cats.contains(Category::Food));
    }

    #[test]
    fn settings_add_and_remove_words() {
        let s: ContentSettings = toml::from_str(
            r#"
            behaviour = ["拉大旗", "ＰＫ现场"]
            attitude = ["绝绝子"]
            remove = ["投诉"]
            [categories]
            food = ["毒豆角"]
            secrecy = ["内参"]
            "#,
        )
        .unwrap();
        let c = Classifier::new(&s).unwrap();
        assert_eq!(c.content_type("一起拉大旗"), ContentType::Behaviour);
        assert_eq!(c.content_type("不要拉大旗"), ContentType::None);
        assert_eq!(c.content_type("pk现场见"), ContentType::Behaviour);
        assert_eq!(c.content_type("真是绝绝子"), ContentType::Attitude);
        assert_eq!(c.content_type("我要投诉"), ContentType::None);
        assert!(c.categories("吃了毒豆角").contains(Category::Food));
        assert!(c.categories("内参流出").contains(Category::Secrecy));
        // The built-in classifier is not affected.
        assert_eq!(
            Classifier::builtin().content_type("我要投诉"),
            ContentType::Complaint
        );
    }

    #[test]
    fn settings_reject_empty_words_and_unknown_keys() {
        let s = ContentSettings {
            categories: CategoryWords {
                health: vec!["疫苗".into(), "  ".into()],
                ..Default::default()
            },
            ..Default::default()
        };
        let e = Classifier::new(&s).unwrap_err();
        assert_eq!(
            e,
            JudgeError::EmptyWord {
                field: "categories.health".into(),
                index: 2
            }
        );
        assert!(e.to_string().contains("categories.health"));
        assert!(toml::from_str::<ContentSettings>("behavior = [\"x\"]").is_err());
        assert!(toml::from_str::<ContentSettings>("[categories]\nfod = [\"x\"]").is_err());
    }

    #[test]
    fn names_codes_and_serde() {
        for t in ContentType::ALL {
            assert_eq!(ContentType::parse(t.as_str()), Some(t));
            assert_eq!(ContentType::parse(t.label_zh()), Some(t));
            assert_eq!(ContentType::from_code(t.code()), Some(t));
            assert_eq!(
                serde_json::to_string(&t).unwrap(),
                format!("\"{}\"", t.as_str())
            );
        }
        assert_eq!(ContentType::parse("Behavior"), Some(ContentType::Behaviour));
        assert_eq!(ContentType::parse("x"), None);
        assert_eq!(ContentType::from_code(9), None);
        for c in Category::ALL {
            assert_eq!(Category::parse(c.as_str()), Some(c));
            assert_eq!(Category::parse(c.label_zh()), Some(c));
        }
        assert_eq!(
            Category::parse("public-safety"),
            Some(Category::PublicSafety)
        );
        let mut set = Categories::EMPTY;
        assert!(set.is_empty());
        set.insert(Category::Food);
        set.insert(Category::Secrecy);
        assert_eq!(set.bits(), 4 | 64);
        assert_eq!(Categories::from_bits(set.bits() | 1 << 20), set);
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            [Category::Food, Category::Secrecy]
        );
        let json = serde_json::to_string(&set).unwrap();
        assert_eq!(json, r#"["food","secrecy"]"#);
        assert_eq!(serde_json::from_str::<Categories>(&json).unwrap(), set);
        let e = serde_json::from_str::<Categories>(r#"["fod"]"#).unwrap_err();
        assert!(e.to_string().contains("unknown category"), "{e}");
        assert_eq!(Categories::all().iter().count(), 7);
    }
}
