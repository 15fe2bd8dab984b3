//! Judgement at ingest (研判): what each document is judged to be before it is stored.
//!
//! [`Judge`] holds everything the per-document judgement needs and is shared by the
//! preparers (it is `Sync`): the sentiment model, the content-type and category lexicons,
//! the grading rules (for mainstream sources and critical categories) and the active
//! monitoring plans, compiled into one [`PlanSet`] that the writer swaps when plans change.
//! Event assignment and grading need state and the store, so they live in the writer
//! ([`crate::transforms::event`], [`crate::pipeline`]).

use crate::transforms::prepare::Prepared;
use serde::Deserialize;
use std::path::PathBuf;
use std::sync::{Arc, RwLock};
use yuqing_core::Assessment;
use yuqing_judge::cluster::ClusterSettings;
use yuqing_judge::content::{Categories, Classifier, ContentSettings};
use yuqing_judge::grading::GradingRules;
use yuqing_judge::spike::SpikeSettings;
use yuqing_text::plan::{MatchInput, PlanSet};
use yuqing_text::sentiment::{Label, Model};

/// Longest text prefix given to the sentiment model, in bytes (long articles are judged
/// on their beginning: the model was trained on posts and reviews).
const SENTIMENT_MAX_BYTES: usize = 2000;

/// `[judgement]` in the config.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct JudgeSettings {
    pub sentiment: SentimentSettings,
    pub content: ContentSettings,
    pub grading: GradingRules,
    pub cluster: ClusterSettings,
    pub spike: SpikeSettings,
}

/// `[judgement.sentiment]`.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SentimentSettings {
    /// A model file made by `yuqing train sentiment` (default: the built-in model).
    pub model: Option<PathBuf>,
    /// Scores within this distance of 0.5 are neutral (default: the model's own, 0.25).
    pub neutral_margin: Option<f32>,
}

/// Why a [`Judge`] could not be built.
#[derive(Debug, thiserror::Error)]
pub enum JudgeSetupError {
    #[error("情感模型无法加载 / the sentiment model cannot be loaded: {0}")]
    Model(#[from] yuqing_text::sentiment::ModelError),
    #[error("研判配置有误 / the judgement settings are invalid: {0}")]
    Settings(#[from] yuqing_judge::JudgeError),
}

/// What [`Judge::judge`] found in one document.
#[derive(Debug, Clone, Default)]
pub struct Judged {
    pub assessment: Assessment,
    /// Plans matched, with the terms that matched.
    pub plan_hits: Vec<(i64, Vec<String>)>,
    /// The mainstream source it counts as.
    pub mainstream: Option<String>,
    /// Negative, an original, and of a critical category: that category's bit
    /// ([`category_of_code`]).
    pub critical: Option<i64>,
    /// The generation of the plan set `plan_hits` came from (see [`Judge::generation`]).
    pub plans_generation: u64,
}

/// The active plans and the generation they were installed as.
struct ActivePlans {
    generation: u64,
    set: Arc<PlanSet>,
}

/// Per-document judgement, shared by every preparer.
pub struct Judge {
    settings: JudgeSettings,
    model: Arc<Model>,
    classifier: Classifier,
    plans: RwLock<ActivePlans>,
}

impl std::fmt::Debug for Judge {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Judge").finish_non_exhaustive()
    }
}

impl Judge {
    /// Builds the judge from the settings (no plans yet: see [`Judge::set_plans`]).
    pub fn new(settings: JudgeSettings) -> Result<Judge, JudgeSetupError> {
        let mut model = match &settings.sentiment.model {
            Some(p) => Model::load(p)?,
            None => Model::try_builtin()?.clone(),
        };
        if let Some(m) = settings.sentiment.neutral_margin {
            model.set_neutral_margin(m);
        }
        settings.grading.validate()?;
        let classifier = Classifier::new(&settings.content)?;
        Ok(Judge {
            settings,
            model: Arc::new(model),
            classifier,
            plans: RwLock::new(ActivePlans {
                generation: 0,
                set: Arc::new(PlanSet::new(Vec::new())),
            }),
        })
    }

    /// The default judge (built-in model and lexicons, default rules).
    pub fn builtin() -> Arc<Judge> {
        Arc::new(
            Judge::new(JudgeSettings::default())
                .expect("the built-in judgement settings are valid"),
        )
    }

    pub fn settings(&self) -> &JudgeSettings {
        &self.settings
    }

    pub fn rules(&self) -> &GradingRules {
        &self.settings.grading
    }

    pub fn model(&self) -> &Model {
        &self.model
    }

    pub fn classifier(&self) -> &Classifier {
        &self.classifier
    }

    /// Replaces the active plans (documents judged from now on use them, and the writer
    /// re-matches documents judged with an older set).
    pub fn set_plans(&self, plans: PlanSet) {
        let mut g = match self.plans.write() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        g.generation += 1;
        g.set = Arc::new(plans);
    }

    /// The active plans and their generation.
    pub fn plans_with_generation(&self) -> (u64, Arc<PlanSet>) {
        let g = match self.plans.read() {
            Ok(g) => g,
            Err(poisoned) => poisoned.into_inner(),
        };
        (g.generation, g.set.clone())
    }

    /// The active plans.
    pub fn plans(&self) -> Arc<PlanSet> {
        self.plans_with_generation().1
    }

    /// Increases whenever the active plans are replaced.
    pub fn generation(&self) -> u64 {
        self.plans_with_generation().0
    }

    /// Matches a prepared document against the active plans: (generation, hits).
    pub fn match_plans(&self, p: &Prepared) -> (u64, Vec<(i64, Vec<String>)>) {
        let (generation, plans) = self.plans_with_generation();
        if plans.is_empty() {
            return (generation, Vec::new());
        }
        // The author name is only read by `author:` terms: normalise it only then.
        let author = if plans.uses_author() {
            p.doc
                .author
                .as_ref()
                .and_then(|a| a.name.as_deref())
                .map(yuqing_text::normalize)
                .unwrap_or_default()
        } else {
            String::new()
        };
        let hits = plans
            .match_doc(&MatchInput {
                title: &p.norm_title,
                text: &p.norm_text,
                author: &author,
                platform: &p.doc.platform,
            })
            .into_iter()
            .map(|h| (h.plan_id, h.terms))
            .collect();
        (generation, hits)
    }

    /// Judges one prepared document.
    pub fn judge(&self, p: &Prepared) -> Judged {
        let text = if p.norm_text.is_empty() {
            p.norm_title.as_str()
        } else {
            p.norm_text.as_str()
        };
        let (sentiment, sentiment_score) = if text.trim().is_empty() {
            (None, None)
        } else {
            let raw = if p.doc.text.trim().is_empty() {
                p.doc.title.as_deref().unwrap_or("")
            } else {
                p.doc.text.as_str()
            };
            let s = self.model.classify(prefix(raw, SENTIMENT_MAX_BYTES));
            let code = match s.label {
                Label::Positive => 1,
                Label::Neutral => 0,
                Label::Negative => -1,
            };
            (Some(code), Some(s.score))
        };
        let (content_type, categories) = if text.trim().is_empty() {
            (None, Categories::default())
        } else {
            let (t, c) = self.classifier.classify(text);
            (Some(t.code()), c)
        };
        let (plans_generation, plan_hits) = self.match_plans(p);
        let author_ref = p.doc.author.as_ref();
        let mainstream = self.settings.grading.is_mainstream(
            p.site.as_deref(),
            author_ref.and_then(|a| a.name.as_deref()),
            author_ref.and_then(|a| a.id.as_deref()),
            p.doc.source.as_deref(),
        );
        let critical = (sentiment == Some(-1) && !p.doc.kind.is_spread())
            .then(|| {
                categories
                    .intersection(self.settings.grading.critical_categories)
                    .iter()
                    .next()
                    .map(|c| i64::from(c.bit()))
            })
            .flatten();
        Judged {
            assessment: Assessment {
                sentiment,
                sentiment_score,
                content_type,
                categories: categories.bits(),
                corrected: 0,
            },
            plan_hits,
            mainstream,
            critical,
            plans_generation,
        }
    }
}

/// The longest prefix of `s` of at most `max` bytes, cut at a character boundary.
fn prefix(s: &str, max: usize) -> &str {
    if s.len() <= max {
        return s;
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    &s[..end]
}

/// The category whose bit is `code` (as stored for an event's critical item).
pub fn category_of_code(code: i64) -> Option<yuqing_judge::content::Category> {
    yuqing_judge::content::Category::ALL
        .into_iter()
        .find(|c| i64::from(c.bit()) == code)
}
