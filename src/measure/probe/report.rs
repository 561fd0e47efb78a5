//! What a probe reports: its options, its rows, the gap per target, the report.

use super::*;

/// How [`evaluate`] computes intervals and p-values.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct ProbeOptions {
    /// Bootstrap resamples, and the number of sign patterns above which the permutation test samples instead of
    /// enumerating.
    pub samples: usize,
    /// The seed of the bootstrap and of a sampled permutation test.
    pub seed: u64,
    /// The confidence level of the intervals (0.95).
    pub level: f64,
    /// Use Kurita et al.'s prior-normalised score (see the module documentation) instead of ln P(target).
    pub normalise: bool,
}

impl Default for ProbeOptions {
    fn default() -> Self {
        Self { samples: stats::DEFAULT_SAMPLES, seed: stats::DEFAULT_SEED, level: 0.95, normalise: false }
    }
}

/// One (template, group term, target): what the model predicts at the mask.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeRow {
    /// The template.
    pub template: String,
    /// The term's group.
    pub group: String,
    /// The term in the slot.
    pub term: String,
    /// The target.
    pub target: String,
    /// P(target at the mask).
    pub probability: f64,
    /// ln P(target at the mask).
    pub log_probability: f64,
    /// 1 + the number of vocabulary tokens with a strictly higher probability at the mask.
    pub rank: usize,
    /// The value that enters the log-ratio: `log_probability`, or Kurita et al.'s increased log-probability of the
    /// term when the probe was normalised.
    pub score: f64,
}

/// One target's log-ratio between the two groups.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TargetGap {
    /// The target.
    pub target: String,
    /// The mean over templates of (mean score over group A's terms − mean score over group B's terms), in nats.
    pub log_ratio: f64,
    /// Its percentile bootstrap interval over templates.
    pub interval: Interval,
    /// The log-ratio in each template, in the order of [`ProbeReport::templates`].
    pub per_template: Vec<f64>,
}

/// The result of a template probe: see the module documentation for every definition.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ProbeReport {
    /// The model probed.
    pub model: String,
    /// The templates.
    pub templates: Vec<String>,
    /// The two groups compared: A (positive log-ratios) and B.
    pub groups: Vec<Group>,
    /// The targets scored (single tokens), in the probe's order.
    pub targets: Vec<String>,
    /// Targets dropped because the model does not read them as one token.
    pub skipped: Vec<String>,
    /// Whether scores are normalised by the prior (Kurita et al. 2019).
    pub normalise: bool,
    /// One row per (template, term, target), templates first, then group A's terms then B's, then targets.
    pub rows: Vec<ProbeRow>,
    /// One entry per target, by log-ratio from most toward A to most toward B.
    pub per_target: Vec<TargetGap>,
    /// The mean over targets of |mean log-ratio|, in nats.
    pub gap: f64,
    /// The percentile bootstrap interval of `gap` over templates.
    pub gap_interval: Interval,
    /// The sign-flip permutation p-value of `gap` over templates.
    pub p_value: f64,
    /// Whether `p_value` is exact (all 2^templates sign patterns) rather than sampled.
    pub exact: bool,
    /// Bootstrap resamples (and the permutation test's budget).
    pub samples: usize,
    /// The seed.
    pub seed: u64,
}
