//! The one error type of the crate, [`JudgeError`]. Every message names what was wrong and
//! how to fix it, in Chinese first and English after a ` / `.

use yuqing_core::Code;

/// Why a judgement configuration was refused. Judging data never fails: only settings can
/// be wrong.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JudgeError {
    /// A word list in the configuration holds an empty (or all-space) word.
    #[error(
        "配置项 {field} 中有空词（第 {index} 个）；请删除它 / {field} holds an empty word (item {index}): remove it"
    )]
    EmptyWord { field: String, index: usize },

    /// A threshold is negative.
    #[error(
        "配置项 {key} = {value} 不能为负数；用 0 关闭该规则 / {key} = {value} must not be negative: use 0 to turn the rule off"
    )]
    NegativeThreshold { key: &'static str, value: i64 },

    /// An elevated threshold (较大/重大) is above the especially-major one for the same measure.
    #[error(
        "阈值不一致：{elevated_key} = {elevated} 大于 {especially_key} = {especially}，较大/重大的门槛应低于特别重大；请调低前者或调高后者 / inconsistent thresholds: {elevated_key} = {elevated} is above {especially_key} = {especially}; the large/major threshold must be below the especially-major one"
    )]
    Thresholds {
        elevated_key: &'static str,
        elevated: i64,
        especially_key: &'static str,
        especially: i64,
    },

    /// A special period is unnamed or ends before it starts.
    #[error("特殊时期 {name:?} 无效：{zh} / special period {name:?} is invalid: {en}")]
    BadPeriod {
        name: String,
        zh: &'static str,
        en: &'static str,
    },

    /// A numeric setting is out of range (zero window, negative or non-finite factor ...).
    #[error("配置项 {key} 的值 {value} 无效：{zh} / {key} = {value} is invalid: {en}")]
    BadSetting {
        key: &'static str,
        value: String,
        zh: &'static str,
        en: &'static str,
    },

    /// The lexicon automaton could not be built (too many or too long words).
    #[error(
        "词表无法编译：{0}；请减少自定义词的数量或长度 / the lexicon cannot be compiled: {0}; use fewer or shorter custom words"
    )]
    Lexicon(String),
}

impl JudgeError {
    /// The stable error code (all of these are the configuration author's mistakes).
    pub fn code(&self) -> Code {
        Code::InvalidInput
    }
}
