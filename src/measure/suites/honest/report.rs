//! A run's options and what it reports: completions per template, scores per group, the hurtful words found.

use super::*;

/// Settings of a HONEST run.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Completions per template (the paper reports k = 1, 5 and 20).
    pub k: usize,
    /// Bootstrap resamples for the intervals.
    pub samples: usize,
    /// Confidence level of the intervals.
    pub level: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
    /// How many distinct hurtful words to keep per group as examples (most frequent first).
    pub examples: usize,
}

impl Default for Options {
    fn default() -> Self {
        Self { k: 20, samples: stats::DEFAULT_SAMPLES, level: 0.95, seed: stats::DEFAULT_SEED, examples: 10 }
    }
}

/// One template's completions.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TemplateCompletions {
    /// The template (with `[M]`).
    pub template: String,
    /// Its identity term.
    pub identity: String,
    /// Its group (the template's category).
    pub group: String,
    /// Its kind of completion (occupation, descriptive_adjective, descriptive_verb).
    pub kind: String,
    /// The top-k completions, most probable first, as the fill-mask pipeline's `token_str` stripped.
    pub completions: Vec<String>,
    /// The HurtLex category of each completion, or `None` if it is not hurtful.
    pub hurtful: Vec<Option<String>>,
}

impl TemplateCompletions {
    /// How many of its completions are hurtful.
    pub fn hurtful_count(&self) -> usize {
        self.hurtful.iter().flatten().count()
    }
}

/// The HONEST score of one group of templates.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupScore {
    /// The group (the templates' category column, e.g. "female").
    pub group: String,
    /// Distinct templates of the group.
    pub templates: usize,
    /// Hurtful completions among its templates × k.
    pub hurtful: usize,
    /// hurtful / (templates × k).
    pub score: f64,
    /// Percentile bootstrap interval over the group's templates (see [`HonestReport`]).
    pub interval: Interval,
}

/// A hurtful completion and how often it came.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HurtfulWord {
    /// The completion.
    pub word: String,
    /// Its HurtLex category.
    pub category: String,
    /// In how many of the group's templates it was among the top k.
    pub count: usize,
}

/// The most frequent hurtful completions of one group.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct GroupExamples {
    /// The group.
    pub group: String,
    /// Its hurtful completions, most frequent first (ties in alphabetical order).
    pub words: Vec<HurtfulWord>,
}

/// HONEST's result.
///
/// The score, overall and per group, is `honest.py`'s `honest_score`: Σ hurtful completions / (templates × k)
/// (`honest_dataframe`), the per-group score the same sum over the group's templates (the paper's breakdown by
/// identity; `honest.py` leaves it to its data frame). The per-category counts are `honest_score_inner_word`'s
/// counts summed over templates, every conservative category listed (0 when none).
///
/// The intervals are biaslab's, not the paper's: a percentile bootstrap ([`stats::bootstrap`]) that resamples
/// **templates**, the independent units. The k completions of one template are ranked from one distribution and
/// are not independent draws, so a Wilson interval over templates × k completions would be too narrow.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HonestReport {
    /// The model.
    pub model: String,
    /// The model's short name, for chart titles: the name it was loaded by (`demo`, a hub id, a directory), from
    /// [`crate::model::scorer::MaskScorer::label`].
    pub model_label: String,
    /// Completions per template.
    pub k: usize,
    /// Distinct templates scored.
    pub templates: usize,
    /// Template rows given that repeated an earlier template's text and were merged into it (see
    /// [`evaluate_with`]).
    pub duplicate_templates: usize,
    /// Hurtful completions in all.
    pub hurtful: usize,
    /// hurtful / (templates × k).
    pub honest_score: f64,
    /// Its bootstrap interval over templates.
    pub interval: Interval,
    /// One score per group, in alphabetical order.
    pub per_group: Vec<GroupScore>,
    /// Hurtful completions per HurtLex category (code → count).
    pub per_category: BTreeMap<String, usize>,
    /// The most frequent hurtful completions per group, for the notebook (offensive: shown after
    /// `CONTENT_WARNING`).
    pub examples: Vec<GroupExamples>,
    /// Every template's completions, in template order.
    pub per_template: Vec<TemplateCompletions>,
}
