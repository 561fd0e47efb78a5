//! What each measure found, as the card keeps it.

use super::*;

/// What a measure gave: its findings, or why it was not run.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(tag = "status", rename_all = "snake_case")]
pub enum Outcome<T> {
    /// The measure ran.
    Run(T),
    /// It did not run.
    Skipped {
        /// The measure.
        measure: Measure,
        /// Why.
        reason: String,
    },
}

impl<T> Outcome<T> {
    /// The findings, if the measure ran.
    pub fn run(&self) -> Option<&T> {
        match self {
            Outcome::Run(t) => Some(t),
            Outcome::Skipped { .. } => None,
        }
    }
}

/// One occupation's log-ratio in the probe.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetLean {
    /// The occupation.
    pub target: String,
    /// Mean log-ratio over templates, in nats (> 0: more probable with group A).
    pub log_ratio: f64,
    /// Its bootstrap interval over templates.
    pub interval: Interval,
}

/// The probe's findings: [`ProbeReport`]'s gap with interval and p-value, and the occupations that lean most.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeFindings {
    /// Group A (positive log-ratios): "male".
    pub group_a: String,
    /// Group B: "female".
    pub group_b: String,
    /// The templates.
    pub templates: Vec<String>,
    /// Occupations scored (single tokens of the model).
    pub targets: usize,
    /// Occupations left out (not one token of the model).
    pub skipped_targets: Vec<String>,
    /// The gap G (mean over occupations of |mean log-ratio|), nats.
    pub gap: f64,
    /// Its bootstrap interval over templates.
    pub interval: Interval,
    /// The sign-flip permutation p-value.
    pub p_value: f64,
    /// Whether the p-value is exact.
    pub exact: bool,
    /// The occupations most toward group A, most first.
    pub toward_a: Vec<TargetLean>,
    /// The occupations most toward group B, most first.
    pub toward_b: Vec<TargetLean>,
    /// The whole report (not in `measurements.json`: it holds every template × term × occupation row).
    #[serde(skip)]
    pub report: ProbeReport,
}

/// CrowS-Pairs' findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CrowsFindings {
    /// The pairs used.
    pub data: DataUse,
    /// The metric score: % of pairs whose more stereotyping sentence the model prefers (ideal 50).
    pub metric_score: f64,
    /// Its Wilson 95 % interval, in percent.
    pub interval: Interval,
    /// The score on the stereotyping pairs.
    pub stereo_score: f64,
    /// The score on the anti-stereotyping pairs.
    pub antistereo_score: f64,
    /// Pairs scored.
    pub pairs: usize,
    /// Pairs scored equal (they count as no win).
    pub neutral: usize,
    /// Pairs that could not be scored.
    pub unscored: usize,
    /// Per bias type, most pairs first.
    pub per_type: Vec<TypeScore>,
    /// The whole report.
    #[serde(skip)]
    pub report: CrowsPairsReport,
}

/// StereoSet's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct StereoSetFindings {
    /// The examples used.
    pub data: DataUse,
    /// The scores over all examples.
    pub overall: DomainScore,
    /// Per domain.
    pub per_domain: Vec<DomainScore>,
    /// Examples that could not be scored.
    pub unscored: usize,
    /// The whole report.
    #[serde(skip)]
    pub report: StereoSetReport,
}

/// SEAT's findings: the whole report (one row per test).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SeatFindings {
    /// The report.
    pub report: SeatReport,
}

/// HONEST's findings.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct HonestFindings {
    /// The template rows used.
    pub data: DataUse,
    /// Completions per template.
    pub k: usize,
    /// Distinct templates completed.
    pub templates: usize,
    /// Hurtful completions.
    pub hurtful: usize,
    /// Hurtful completions / (templates × k), a share (ideal 0).
    pub honest_score: f64,
    /// Its bootstrap interval over templates.
    pub interval: Interval,
    /// Per group.
    pub per_group: Vec<GroupScore>,
    /// Hurtful completions per HurtLex category.
    pub per_category: BTreeMap<String, usize>,
    /// The whole report (not in `measurements.json`: its completions are offensive words).
    #[serde(skip)]
    pub report: HonestReport,
}

/// The measurements behind a model card's bias sections.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ModelCardReport {
    /// The model's short name (as the card's title and `model-index` name it).
    pub model: String,
    /// Where the model came from (hub id, directory or the demo's description).
    pub source: String,
    /// Who made the weights, as the card's `library_name` says it: `biaslab` for its demo models, else
    /// `transformers`.
    pub library: String,
    /// The version of biaslab that measured.
    pub biaslab_version: String,
    /// The options measured with.
    pub options: ReportOptions,
    /// The probe.
    pub probe: Outcome<ProbeFindings>,
    /// CrowS-Pairs.
    pub crows_pairs: Outcome<CrowsFindings>,
    /// StereoSet.
    pub stereoset: Outcome<StereoSetFindings>,
    /// SEAT.
    pub seat: Outcome<SeatFindings>,
    /// HONEST.
    pub honest: Outcome<HonestFindings>,
}
