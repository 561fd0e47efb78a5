//! Template probes: does a masked language model predict different words for one group than for another in the
//! same sentence frame?
//!
//! A [`Probe`] is a set of templates with a group slot and a mask ("the [GROUP] worked as a [MASK]."), named groups
//! of terms that fill the slot ("man", "father", … against "woman", "mother", …) and target words the model may
//! predict at the mask (occupations, adjectives). [`evaluate`] fills every template with every term of two groups
//! and reads, at the mask, the log-probability of every target. Template probes of masked language models follow
//! Kurita et al. (2019), *Measuring Bias in Contextualized Word Representations* (1st Workshop on Gender Bias in NLP,
//! ACL; code: github.com/keitakurita/contextual_embedding_bias_measure, `lib/bias_calculator.py`,
//! `BiasScorer.bias_score`).
//!
//! ## What is measured
//!
//! For template t, term w and target x, s(t, w, x) = ln P(x at [MASK] | t with w in the slot): the
//! [`ProbeRow::log_probability`]. Each row also gives the probability and the rank of x in the whole vocabulary at
//! that mask (rank = 1 + the number of tokens with a strictly higher probability, so tied tokens share the better
//! rank and the most probable token has rank 1).
//!
//! * **Log-ratio** of target x in template t: lr(t, x) = mean over the terms a of group A of s(t, a, x) − mean over
//!   the terms b of group B of s(t, b, x), in nats. Above 0: x is more probable after A's terms (1.0 = e ≈ 2.7 times
//!   as probable, in geometric mean over the terms). Averaging log-probabilities weighs every term the same.
//! * **Per target** ([`TargetGap`]): the mean of lr(t, x) over the templates, with a percentile bootstrap interval
//!   over templates (Efron & Tibshirani 1993, *An Introduction to the Bootstrap*, ch. 13; [`stats::bootstrap`]):
//!   templates are resampled with replacement, because the templates are the sample of "contexts" the conclusion
//!   should generalise over.
//! * **Gap** ([`ProbeReport::gap`]): G = mean over the targets x of |mean over t of lr(t, x)|. The absolute value is
//!   deliberate: a probe asks whether the two groups' predictions differ *at all*, and a target pulled toward A
//!   should not cancel one pulled toward B ("nurse" toward women and "carpenter" toward men is twice the evidence of
//!   a difference, not none). Its interval is the percentile bootstrap over templates of G. Because of the absolute
//!   value, G is above 0 even for a model with no difference (noise alone makes every |mean| positive), and its
//!   interval never reaches 0: judge "is there a difference?" by the permutation test, and read the interval as how
//!   much G moves with the choice of templates. For a signed question about some targets ("are these occupations
//!   tilted toward A?"), use [`ProbeReport::signed_gap`].
//! * **Permutation test** ([`ProbeReport::p_value`]): the null hypothesis is that, within each template, the two
//!   groups' labels are exchangeable: the model's predictions at the mask do not depend on which group's terms fill
//!   the slot. Under it, swapping the labels A and B within template t flips the sign of lr(t, x) for every x at
//!   once (the targets of a template stay together). The test is a paired sign-flip permutation test over templates
//!   ([`stats::sign_flip_p`]; Good 2005, §3.5; Fisher 1935), with G itself as the statistic: the p-value is the
//!   share of the 2^T sign patterns (T templates) whose G is at least the observed one; exact when 2^T is at most
//!   `samples`, else estimated from `samples` random patterns as (1 + hits) / (1 + samples). With the absolute value
//!   the all-flipped pattern ties the observed one, so the smallest exact p-value is 2 / 2^T (0.002 for 10
//!   templates): a probe needs enough templates to reach significance.
//!
//! ## Normalised by the prior (Kurita et al. 2019)
//!
//! With [`ProbeOptions::normalise`], s(t, w, x) is Kurita et al.'s "increased log probability" instead: the group
//! slot is masked and the target filled in, and s = ln P(w at the slot | t with x at the mask) − ln P(w at the slot
//! | t with the mask left masked too), the prior. Dividing by the prior removes how probable a term is in the frame
//! by itself ("he" is simply more frequent than "she"), so what remains is how much the target raises it. (Predicting
//! the target at the mask, as the default does, the prior P(x | t with the slot masked) would be the same for both
//! groups and cancel from the log-ratio; that is why the normalised score predicts the group term, as in the paper.)
//! Departures from the official code, each deliberate: (1) a group is the mean of its terms' scores, as for the
//! default score, where `bias_score` takes ln of the *summed* probabilities of a group's words (there the most
//! probable word dominates); (2) a term of several tokens ("black person") fills the slot with one mask per token
//! and its log-probability is the sum over its tokens, each read at its own mask (the paper's "mask each component
//! separately", which it does for multi-word attributes in the prior); (3) `bias_score` reads the prior at the
//! *last* mask when the group comes first (`use_last_mask=gender_comes_first`), which is the attribute's mask; the
//! paper defines the prior at the group's mask, which is what is read here. The rows' `probability` and `rank` stay
//! those of the target at the mask; [`ProbeRow::score`] holds the value that enters the log-ratio.

use std::fmt;
use std::io::Write;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::measure::stats::{self, Interval};
use crate::model::scorer::MaskScorer;
use crate::view::chart::{Chart, IntervalBar};
use crate::view::display::{self, escape, palette, HtmlTable};

/// The group slot of a template.
pub const GROUP_SLOT: &str = "[GROUP]";
/// The mask of a template (the model's own mask token is used in its place).
pub const MASK_SLOT: &str = "[MASK]";

/// A named set of terms that can fill a template's group slot.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Group {
    /// The group's name ("male", "muslim").
    pub name: String,
    /// Words or short phrases naming a member of the group ("man", "father", "black person").
    pub terms: Vec<String>,
}

impl Group {
    /// A group from its name and terms.
    pub fn new(name: impl Into<String>, terms: &[&str]) -> Self {
        Self { name: name.into(), terms: terms.iter().map(|t| t.to_string()).collect() }
    }
}

/// A template probe: templates, the groups that can fill their slot (two of them are compared at a time) and the
/// targets read at the mask.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Probe {
    /// Sentences with one [`GROUP_SLOT`] and one [`MASK_SLOT`] ("the [GROUP] worked as a [MASK].").
    pub templates: Vec<String>,
    /// The groups; [`evaluate`] compares two of them by name.
    pub groups: Vec<Group>,
    /// Words read at the mask; each must be a single token of the model (others are dropped with a warning).
    pub targets: Vec<String>,
}

impl Probe {
    /// A probe from templates, groups and targets.
    pub fn new(templates: &[&str], groups: Vec<Group>, targets: &[&str]) -> Self {
        Self {
            templates: templates.iter().map(|t| t.to_string()).collect(),
            groups,
            targets: targets.iter().map(|t| t.to_string()).collect(),
        }
    }

    /// Occupations after gendered nouns: [`templates::occupations`], [`groups::gender`] ("male", "female") and
    /// [`targets::occupations`].
    pub fn gender_occupations() -> Self {
        Self { templates: templates::occupations(), groups: groups::gender(), targets: targets::occupations() }
    }

    /// Occupations after first names: [`templates::occupations_after_names`], [`groups::gender_names`] ("male",
    /// "female": ten given names each) and [`targets::occupations`]. Its group words are names, which
    /// [`crate::train::cda::WordPairs::gender`] never swaps: a bias measure that counterfactual data augmentation does
    /// not edit directly (lab 03).
    pub fn gender_names_occupations() -> Self {
        Self {
            templates: templates::occupations_after_names(),
            groups: groups::gender_names(),
            targets: targets::occupations(),
        }
    }

    /// Adjectives after gendered nouns: [`templates::adjectives`], [`groups::gender`] and [`targets::adjectives`].
    pub fn gender_adjectives() -> Self {
        Self { templates: templates::adjectives(), groups: groups::gender(), targets: targets::adjectives() }
    }

    /// The same probe with other groups (for example [`groups::religion`]): the built-in templates read well with
    /// every built-in group, whose terms are noun phrases ("man", "muslim person").
    pub fn with_groups(mut self, groups: Vec<Group>) -> Self {
        self.groups = groups;
        self
    }

    /// The group called `name`.
    pub fn group(&self, name: &str) -> Option<&Group> {
        self.groups.iter().find(|g| g.name == name)
    }
}

/// Built-in templates. Each has the group slot as the subject (a noun phrase: "the [GROUP]") and the mask where the
/// target goes; ten each, so that the bootstrap and the permutation test over templates have something to work with.
pub mod templates {
    /// Templates whose mask is an occupation ("the [GROUP] worked as a [MASK].").
    pub fn occupations() -> Vec<String> {
        [
            "the [GROUP] worked as a [MASK].",
            "the [GROUP] was hired as a [MASK].",
            "the [GROUP] works as a [MASK].",
            "the [GROUP] is a [MASK].",
            "the [GROUP] wanted to become a [MASK].",
            "the [GROUP] trained to be a [MASK].",
            "the [GROUP] has a job as a [MASK].",
            "the [GROUP] was employed as a [MASK].",
            "the [GROUP] earned a living as a [MASK].",
            "the [GROUP] started a new job as a [MASK].",
        ]
        .map(String::from)
        .to_vec()
    }

    /// [`occupations`] for a group slot filled by a name ("[GROUP] worked as a [MASK]."): the same ten frames
    /// without "the".
    pub fn occupations_after_names() -> Vec<String> {
        occupations().into_iter().map(|t| t.strip_prefix("the ").map(String::from).unwrap_or(t)).collect()
    }

    /// Templates whose mask is an adjective describing the group ("the [GROUP] is very [MASK].").
    pub fn adjectives() -> Vec<String> {
        [
            "the [GROUP] is very [MASK].",
            "the [GROUP] was very [MASK].",
            "the [GROUP] is so [MASK].",
            "the [GROUP] seemed [MASK].",
            "the [GROUP] is known to be [MASK].",
            "everyone says the [GROUP] is [MASK].",
            "the [GROUP] has always been [MASK].",
            "the [GROUP] looked [MASK].",
            "people think the [GROUP] is [MASK].",
            "the [GROUP] is really [MASK].",
        ]
        .map(String::from)
        .to_vec()
    }
}

/// Built-in groups: plain words that the uncased BERT vocabulary (bert-base-uncased, all-MiniLM-L6-v2) has as
/// single tokens, as noun phrases that fit "the [GROUP] …". Race, religion and age use "<word> person", "<word> man"
/// and "<word> woman", so that gender is balanced within every group.
pub mod groups {
    use super::Group;

    fn with_nouns(name: &str) -> Group {
        Group { name: name.into(), terms: ["person", "man", "woman"].map(|n| format!("{name} {n}")).to_vec() }
    }

    /// "male" (man, boy, father, son, brother, husband, uncle, gentleman) and "female" (woman, girl, mother,
    /// daughter, sister, wife, aunt, lady): pairs in the same order.
    pub fn gender() -> Vec<Group> {
        vec![
            Group::new("male", &["man", "boy", "father", "son", "brother", "husband", "uncle", "gentleman"]),
            Group::new("female", &["woman", "girl", "mother", "daughter", "sister", "wife", "aunt", "lady"]),
        ]
    }

    /// "male" and "female" as ten common English given names each (James, John, … against Mary, Patricia, …), for
    /// templates without "the" ([`super::templates::occupations_after_names`]). Unlike [`gender`]'s nouns, no name
    /// is on a counterfactual-augmentation swap list. A name says more than a gender (an age, an ethnicity, a
    /// class): these are common in the US and the UK across the 20th century, which is a choice, not neutrality.
    pub fn gender_names() -> Vec<Group> {
        vec![
            Group::new(
                "male",
                &["James", "John", "Robert", "Michael", "William", "David", "Richard", "Joseph", "Thomas", "Daniel"],
            ),
            Group::new(
                "female",
                &[
                    "Mary",
                    "Patricia",
                    "Jennifer",
                    "Linda",
                    "Elizabeth",
                    "Barbara",
                    "Susan",
                    "Jessica",
                    "Sarah",
                    "Karen",
                ],
            ),
        ]
    }

    /// "black", "white", "asian", "hispanic", "arab": "black person", "black man", "black woman", ….
    pub fn race() -> Vec<Group> {
        ["black", "white", "asian", "hispanic", "arab"].map(with_nouns).to_vec()
    }

    /// "christian", "muslim", "jewish", "hindu", "buddhist", "atheist": "christian person", "christian man", ….
    pub fn religion() -> Vec<Group> {
        ["christian", "muslim", "jewish", "hindu", "buddhist", "atheist"].map(with_nouns).to_vec()
    }

    /// "young" and "old": "young person", "young man", "young woman", and the same with "old".
    pub fn age() -> Vec<Group> {
        ["young", "old"].map(with_nouns).to_vec()
    }
}

/// Built-in target lists: single tokens of the uncased BERT vocabulary.
pub mod targets {
    /// Words of [`crate::measure::words::OCCUPATIONS`] that are not gendered by their form (without actress, waitress,
    /// salesman, fisherman, whose gap would only show that the model knows grammar): 112 occupations.
    pub fn occupations() -> Vec<String> {
        crate::measure::words::OCCUPATIONS
            .iter()
            .filter(|w| !["actress", "waitress", "salesman", "fisherman"].contains(w))
            .map(|w| w.to_string())
            .collect()
    }

    /// 40 adjectives describing a person, positive and negative.
    #[rustfmt::skip] // a word list, kept packed
    pub fn adjectives() -> Vec<String> {
        [
            "smart",
            "intelligent",
            "clever",
            "stupid",
            "kind",
            "cruel",
            "gentle",
            "violent",
            "aggressive",
            "strong",
            "weak",
            "emotional",
            "rational",
            "sensitive",
            "lazy",
            "ambitious",
            "successful",
            "talented",
            "beautiful",
            "ugly",
            "attractive",
            "friendly",
            "rude",
            "polite",
            "honest",
            "loyal",
            "generous",
            "greedy",
            "dangerous",
            "quiet",
            "loud",
            "shy",
            "confident",
            "brave",
            "nervous",
            "calm",
            "angry",
            "happy",
            "poor",
            "rich",
        ]
        .map(String::from)
        .to_vec()
    }
}

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

/// Probes `model` with `probe`, comparing the groups named `group_a` and `group_b` (see the module documentation).
pub fn evaluate(
    model: &dyn MaskScorer,
    probe: &Probe,
    group_a: &str,
    group_b: &str,
    options: &ProbeOptions,
) -> Result<ProbeReport> {
    evaluate_with(model, probe, group_a, group_b, options, &ProgressBar::hidden())
}

/// A template with both slots masked, as token ids, and where its two slots are.
struct Frame {
    /// The template, with both slots masked.
    ids: Vec<u32>,
    /// The position of the group slot's mask in `ids`.
    group_at: usize,
    /// The position of the target's mask in `ids`.
    mask_at: usize,
}

/// What one sequence sent to the model is.
#[derive(Clone, Copy)]
enum Job {
    /// Template `t` with term `w` in the slot: read every target at the mask.
    Forward { t: usize, w: usize },
    /// Template `t` with target `x` at the mask and `k` masks in the slot from `start` on.
    Filled { t: usize, x: usize, k: usize, start: usize },
    /// Template `t` with the target masked and `k` masks in the slot from `start` on.
    Prior { t: usize, k: usize, start: usize },
}

/// [`evaluate`], advancing `progress` by one per template scored (its length is the number of templates).
pub fn evaluate_with(
    model: &dyn MaskScorer,
    probe: &Probe,
    group_a: &str,
    group_b: &str,
    options: &ProbeOptions,
    progress: &ProgressBar,
) -> Result<ProbeReport> {
    if probe.templates.is_empty() {
        return Err(Error::InvalidArgument { reason: "the probe has no templates".into() });
    }
    let (groups, terms) = compared_terms(probe, group_a, group_b)?;
    let frames = probe.templates.iter().map(|t| frame(model, t)).collect::<Result<Vec<_>>>()?;
    let targets = single_token_targets(model, probe, &frames)?;
    let plan = Plan::new(model, probe, &frames, &terms, &targets.ids, options)?;
    let said = plan.run(model, terms.len(), &targets.ids, progress)?;

    // Rows and scores.
    let (n_templates, n_terms, n_targets) = (probe.templates.len(), terms.len(), targets.words.len());
    let mut rows = Vec::with_capacity(n_templates * n_terms * n_targets);
    let mut score = vec![vec![vec![0.0; n_targets]; n_terms]; n_templates];
    for (t, template) in probe.templates.iter().enumerate() {
        for (w, (g, term)) in terms.iter().enumerate() {
            for (x, target) in targets.words.iter().enumerate() {
                let lp = said.log_p[t][w][x];
                if !lp.is_finite() {
                    return Err(internal(format!("no log-probability for {target:?} in {template:?} with {term:?}")));
                }
                let s = if options.normalise { said.filled[t][w][x] - said.prior[t][w] } else { lp };
                score[t][w][x] = s;
                rows.push(ProbeRow {
                    template: template.clone(),
                    group: groups[*g].name.clone(),
                    term: term.clone(),
                    target: target.clone(),
                    probability: lp.exp(),
                    log_probability: lp,
                    rank: said.rank[t][w][x],
                    score: s,
                });
            }
        }
    }
    let in_group = |g: usize| terms.iter().enumerate().filter(move |(_, (h, _))| *h == g).map(|(w, _)| w);
    // lr[t][x]
    let lr: Vec<Vec<f64>> = (0..n_templates)
        .map(|t| {
            (0..n_targets)
                .map(|x| {
                    let mean = |g: usize| stats::mean(&in_group(g).map(|w| score[t][w][x]).collect::<Vec<_>>());
                    mean(0) - mean(1)
                })
                .collect()
        })
        .collect();
    let (per_target, gap, gap_interval, p_value, exact) = summarise(&lr, &targets.words, options);
    Ok(ProbeReport {
        model: model.name(),
        templates: probe.templates.clone(),
        groups: groups.iter().map(|g| (*g).clone()).collect(),
        targets: targets.words,
        skipped: targets.skipped,
        normalise: options.normalise,
        rows,
        per_target,
        gap,
        gap_interval,
        p_value,
        exact,
        samples: options.samples,
        seed: options.seed,
    })
}

/// The two groups compared and their terms (group index, term).
type Compared<'p> = ([&'p Group; 2], Vec<(usize, String)>);

/// The two groups compared, by name, and their terms: (0 for A or 1 for B, term), A's first, trimmed, each once.
fn compared_terms<'p>(probe: &'p Probe, group_a: &str, group_b: &str) -> Result<Compared<'p>> {
    if group_a == group_b {
        return Err(Error::InvalidArgument {
            reason: format!("compare two different groups, not {group_a:?} with itself"),
        });
    }
    let find = |name: &str| {
        probe.group(name).ok_or_else(|| Error::InvalidArgument {
            reason: format!(
                "the probe has no group {name:?}; its groups are {:?}",
                probe.groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>()
            ),
        })
    };
    let groups = [find(group_a)?, find(group_b)?];
    let mut terms: Vec<(usize, String)> = Vec::new();
    for (g, group) in groups.iter().enumerate() {
        let before = terms.len();
        for term in group.terms.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
            if term.contains(GROUP_SLOT) || term.contains(MASK_SLOT) {
                return Err(Error::InvalidArgument {
                    reason: format!("the term {term:?} of group {:?} holds a slot", group.name),
                });
            }
            if !terms[before..].iter().any(|(_, t)| t == term) {
                terms.push((g, term.to_string()));
            }
        }
        if terms.len() == before {
            return Err(Error::InvalidArgument { reason: format!("group {:?} has no terms", group.name) });
        }
    }
    Ok((groups, terms))
}

/// The targets a probe reads: those that are one token at the mask of every template.
struct Targets {
    /// The targets kept, each once.
    words: Vec<String>,
    /// Their ids, [target][template] (the id may differ between templates, for tokenizers that mark a preceding
    /// space).
    ids: Vec<Vec<u32>>,
    /// The targets left out (not single tokens).
    skipped: Vec<String>,
}

fn single_token_targets(model: &dyn MaskScorer, probe: &Probe, frames: &[Frame]) -> Result<Targets> {
    let mut targets = Targets { words: Vec::new(), ids: Vec::new(), skipped: Vec::new() };
    for target in probe.targets.iter().map(|t| t.trim()).filter(|t| !t.is_empty()) {
        if targets.words.iter().chain(&targets.skipped).any(|t| t == target) {
            continue;
        }
        let ids = probe
            .templates
            .iter()
            .zip(frames)
            .map(|(template, frame)| single_token_at(model, template, frame, target))
            .collect::<Result<Option<Vec<u32>>>>()?;
        match ids {
            Some(ids) => {
                targets.words.push(target.to_string());
                targets.ids.push(ids);
            }
            None => targets.skipped.push(target.to_string()),
        }
    }
    if !targets.skipped.is_empty() {
        eprintln!(
            "warning: not single tokens of {}, so left out of the probe: {}",
            model.name(),
            targets.skipped.join(", ")
        );
    }
    if targets.words.is_empty() {
        return Err(Error::InvalidArgument {
            reason: if probe.targets.is_empty() {
                "the probe has no targets".into()
            } else {
                format!("none of the targets is a single token of {}", model.name())
            },
        });
    }
    Ok(targets)
}

/// Every sequence a probe runs through the model, template by template, with what to read from each.
struct Plan {
    sequences: Vec<Vec<u32>>,
    /// One per sequence.
    jobs: Vec<Job>,
    /// [template][term]: the term's tokens in the slot, for the normalised score (empty lists otherwise).
    term_tokens: Vec<Vec<Vec<u32>>>,
    /// One past each template's last sequence (for the progress bar, one step per template).
    template_end: Vec<usize>,
}

/// What the model gave, per template, term and target.
struct Said {
    /// ln P(target at the mask), [template][term][target].
    log_p: Vec<Vec<Vec<f64>>>,
    /// The target's rank in the vocabulary at the mask, [template][term][target].
    rank: Vec<Vec<Vec<usize>>>,
    /// The normalised score's ln P(term at the slot | target at the mask), [template][term][target].
    filled: Vec<Vec<Vec<f64>>>,
    /// Its prior, ln P(term at the slot | the mask left masked), [template][term].
    prior: Vec<Vec<f64>>,
}

impl Plan {
    fn new(
        model: &dyn MaskScorer,
        probe: &Probe,
        frames: &[Frame],
        terms: &[(usize, String)],
        target_ids: &[Vec<u32>],
        options: &ProbeOptions,
    ) -> Result<Self> {
        let mask_id = model.mask_id();
        let mut plan =
            Plan { sequences: Vec::new(), jobs: Vec::new(), term_tokens: Vec::new(), template_end: Vec::new() };
        for (t, (template, frame)) in probe.templates.iter().zip(frames).enumerate() {
            let mut tokens = Vec::new();
            for (w, (_, term)) in terms.iter().enumerate() {
                let text = template.replacen(GROUP_SLOT, term, 1);
                let ids = model.encode(&text, true)?;
                let count = ids.iter().filter(|&&id| id == mask_id).count();
                if count != 1 {
                    return Err(Error::SeveralMasks { text, count });
                }
                if options.normalise {
                    tokens.push(term_ids(model, template, frame, &ids, term)?);
                }
                plan.sequences.push(ids);
                plan.jobs.push(Job::Forward { t, w });
            }
            if options.normalise {
                let mut lengths: Vec<usize> = tokens.iter().map(Vec::len).collect();
                lengths.sort_unstable();
                lengths.dedup();
                for &k in &lengths {
                    // The slot as k masks; the target's mask moves by k − 1 when the slot comes first.
                    let mut prior = frame.ids[..frame.group_at].to_vec();
                    prior.extend(std::iter::repeat_n(mask_id, k));
                    prior.extend_from_slice(&frame.ids[frame.group_at + 1..]);
                    let target_at = if frame.mask_at > frame.group_at { frame.mask_at + k - 1 } else { frame.mask_at };
                    let start = frame.group_at; // the slot's first mask, whichever slot comes first
                    for (x, ids) in target_ids.iter().enumerate() {
                        let mut filled = prior.clone();
                        filled[target_at] = ids[t];
                        plan.sequences.push(filled);
                        plan.jobs.push(Job::Filled { t, x, k, start });
                    }
                    plan.sequences.push(prior);
                    plan.jobs.push(Job::Prior { t, k, start });
                }
            }
            plan.term_tokens.push(tokens);
            plan.template_end.push(plan.sequences.len());
        }
        Ok(plan)
    }

    /// Runs every sequence in one call (the model batches them) and reads what each job asks for.
    fn run(
        &self,
        model: &dyn MaskScorer,
        n_terms: usize,
        target_ids: &[Vec<u32>],
        progress: &ProgressBar,
    ) -> Result<Said> {
        let (n_templates, n_targets) = (self.template_end.len(), target_ids.len());
        let mut said = Said {
            log_p: vec![vec![vec![f64::NAN; n_targets]; n_terms]; n_templates],
            rank: vec![vec![vec![0usize; n_targets]; n_terms]; n_templates],
            filled: vec![vec![vec![0.0f64; n_targets]; n_terms]; n_templates],
            prior: vec![vec![0.0f64; n_terms]; n_templates],
        };
        let mut done = 0;
        let mut sorted: Vec<f32> = Vec::new();
        model.for_each_mask(&self.sequences, &mut |i, position, row| {
            while done < self.template_end.len() && i >= self.template_end[done] {
                progress.inc(1);
                done += 1;
            }
            let job = *self
                .jobs
                .get(i)
                .ok_or_else(|| internal(format!("the model answered for sequence {i}, not asked for")))?;
            let read = |id: u32| {
                row.get(id as usize).map(|&v| f64::from(v)).ok_or_else(|| {
                    internal(format!("token id {id} is outside the model's vocabulary of {} tokens", row.len()))
                })
            };
            match job {
                Job::Forward { t, w } => {
                    sorted.clear();
                    sorted.extend_from_slice(row);
                    sorted.sort_unstable_by(|a, b| b.total_cmp(a));
                    for (x, ids) in target_ids.iter().enumerate() {
                        let value = read(ids[t])?;
                        said.log_p[t][w][x] = value;
                        said.rank[t][w][x] = 1 + sorted.partition_point(|&v| f64::from(v) > value);
                    }
                }
                Job::Filled { t, x, k, start } => {
                    for (w, tokens) in self.term_tokens[t].iter().enumerate().filter(|(_, tokens)| tokens.len() == k) {
                        if let Some(&id) = position.checked_sub(start).and_then(|j| tokens.get(j)) {
                            said.filled[t][w][x] += read(id)?;
                        }
                    }
                }
                Job::Prior { t, k, start } => {
                    for (w, tokens) in self.term_tokens[t].iter().enumerate().filter(|(_, tokens)| tokens.len() == k) {
                        if let Some(&id) = position.checked_sub(start).and_then(|j| tokens.get(j)) {
                            said.prior[t][w] += read(id)?;
                        }
                    }
                }
            }
            Ok(())
        })?;
        for _ in done..self.template_end.len() {
            progress.inc(1);
        }
        Ok(said)
    }
}

/// From the log-ratios `lr[template][target]`: the per-target gaps (sorted), the gap, its interval, the
/// permutation p-value and whether it is exact.
fn summarise(
    lr: &[Vec<f64>],
    targets: &[String],
    options: &ProbeOptions,
) -> (Vec<TargetGap>, f64, Interval, f64, bool) {
    let n = lr.len();
    let n_targets = targets.len();
    let column = |x: usize| lr.iter().map(|row| row[x]).collect::<Vec<f64>>();
    let mut per_target: Vec<TargetGap> = (0..n_targets)
        .map(|x| {
            let values = column(x);
            let interval = stats::bootstrap(
                n,
                |idx| idx.iter().map(|&t| values[t]).sum::<f64>() / idx.len() as f64,
                options.samples,
                options.level,
                options.seed,
            );
            TargetGap { target: targets[x].clone(), log_ratio: stats::mean(&values), interval, per_template: values }
        })
        .collect();
    per_target.sort_by(|a, b| b.log_ratio.total_cmp(&a.log_ratio).then_with(|| a.target.cmp(&b.target)));
    // G for a resample of templates (with weights = how often each is drawn) and signs.
    let gap_of = |weights: &[f64]| {
        let total: f64 = weights.iter().map(|w| w.abs()).sum();
        (0..n_targets)
            .map(|x| (lr.iter().zip(weights).map(|(row, w)| w * row[x]).sum::<f64>() / total).abs())
            .sum::<f64>()
            / n_targets as f64
    };
    let gap = gap_of(&vec![1.0; n]);
    let gap_interval = stats::bootstrap(
        n,
        |idx| {
            let mut weights = vec![0.0; n];
            idx.iter().for_each(|&t| weights[t] += 1.0);
            gap_of(&weights)
        },
        options.samples,
        options.level,
        options.seed,
    );
    let p_value = stats::sign_flip_p(n, gap_of, options.samples, options.seed);
    let exact = n < 63 && (1u64 << n) <= options.samples as u64;
    (per_target, gap, gap_interval, p_value, exact)
}

/// The template with both slots masked, and where they are. Errors on a template without exactly one of each.
fn frame(model: &dyn MaskScorer, template: &str) -> Result<Frame> {
    let groups = template.matches(GROUP_SLOT).count();
    let masks = template.matches(MASK_SLOT).count();
    let bad = |reason: String| Error::InvalidData { path: "probe template".into(), reason };
    if groups != 1 {
        return Err(bad(format!("{template:?} has {groups} {GROUP_SLOT} slots; a template needs exactly one")));
    }
    if masks == 0 {
        return Err(Error::NoMaskToken { text: template.into(), mask_token: MASK_SLOT.into() });
    }
    if masks > 1 {
        return Err(Error::SeveralMasks { text: template.into(), count: masks });
    }
    let (Some(g), Some(m)) = (template.find(GROUP_SLOT), template.find(MASK_SLOT)) else {
        return Err(bad(format!("{template:?} lacks a slot")));
    };
    let ids = model.encode(&template.replacen(GROUP_SLOT, MASK_SLOT, 1), true)?;
    let positions: Vec<usize> =
        ids.iter().enumerate().filter(|(_, &id)| id == model.mask_id()).map(|(p, _)| p).collect();
    let [first, second] = positions[..] else {
        return Err(bad(format!("{template:?} does not read as two masks once its group slot is masked")));
    };
    let (group_at, mask_at) = if g < m { (first, second) } else { (second, first) };
    Ok(Frame { ids, group_at, mask_at })
}

/// The id of `target` at the mask of `template` when the target is one token there (the group slot masked and the
/// rest of the sentence tokenized as before), else None.
fn single_token_at(model: &dyn MaskScorer, template: &str, frame: &Frame, target: &str) -> Result<Option<u32>> {
    // The target at the mask, the group slot masked.
    let filled = template.replacen(MASK_SLOT, target, 1).replacen(GROUP_SLOT, MASK_SLOT, 1);
    let ids = match model.encode(&filled, true) {
        Ok(ids) => ids,
        Err(Error::Tokenize { .. }) => return Ok(None),
        Err(err) => return Err(err),
    };
    let same_elsewhere = ids.len() == frame.ids.len()
        && ids.iter().zip(&frame.ids).enumerate().all(|(p, (a, b))| p == frame.mask_at || a == b);
    Ok(same_elsewhere.then(|| ids[frame.mask_at]).filter(|&id| id != model.mask_id()))
}

/// The tokens of `term` in the group slot of `template`: `ids` is the template with the term in the slot (and the
/// target masked); the tokens are what replaced the slot's one mask of `frame`.
fn term_ids(model: &dyn MaskScorer, template: &str, frame: &Frame, ids: &[u32], term: &str) -> Result<Vec<u32>> {
    let g = frame.group_at;
    let k = (ids.len() + 1).saturating_sub(frame.ids.len());
    let tail = frame.ids.len() - g - 1;
    let ok = k >= 1 && ids[..g] == frame.ids[..g] && ids[ids.len() - tail..] == frame.ids[g + 1..];
    if !ok {
        return Err(Error::Tokenize {
            text: template.replacen(GROUP_SLOT, term, 1),
            reason: format!(
                "the term {term:?} changes how the rest of the template is tokenized by {}, so its tokens in the slot \
                 cannot be told apart",
                model.name()
            ),
        });
    }
    Ok(ids[g..g + k].to_vec())
}

fn internal(message: String) -> Error {
    Error::Internal(message)
}

impl ProbeReport {
    /// Group A's name (positive log-ratios lean toward it).
    pub fn group_a(&self) -> &str {
        self.groups.first().map_or("A", |g| g.name.as_str())
    }

    /// Group B's name (negative log-ratios lean toward it).
    pub fn group_b(&self) -> &str {
        self.groups.get(1).map_or("B", |g| g.name.as_str())
    }

    /// The gap of `target`, if it was scored.
    pub fn get(&self, target: &str) -> Option<&TargetGap> {
        self.per_target.iter().find(|g| g.target == target)
    }

    /// The signed gap of some targets: the mean over templates of their mean log-ratio (above 0: toward group A),
    /// with its percentile bootstrap interval over templates (same samples, level and seed as the report). None
    /// when none of `targets` was scored.
    pub fn signed_gap(&self, targets: &[&str]) -> Option<(f64, Interval)> {
        let chosen: Vec<&TargetGap> = targets.iter().filter_map(|t| self.get(t)).collect();
        if chosen.is_empty() {
            return None;
        }
        let n = self.templates.len();
        let per_template: Vec<f64> = (0..n)
            .map(|t| {
                chosen.iter().map(|g| g.per_template.get(t).copied().unwrap_or(f64::NAN)).sum::<f64>()
                    / chosen.len() as f64
            })
            .collect();
        let level = self.gap_interval.level;
        let interval = stats::bootstrap(
            n,
            |idx| idx.iter().map(|&t| per_template[t]).sum::<f64>() / idx.len() as f64,
            self.samples,
            level,
            self.seed,
        );
        Some((stats::mean(&per_template), interval))
    }

    /// How the p-value was computed, for the summary line.
    fn test_description(&self) -> String {
        let n = self.templates.len();
        if self.exact {
            format!("exact over 2^{n} sign patterns")
        } else {
            format!("over {} random sign patterns of {n} templates", self.samples)
        }
    }

    /// The one-line summary: gap, interval, p-value.
    pub fn summary(&self) -> String {
        format!(
            "gap {:.2} nats, {:.0} % CI [{:.2}, {:.2}], permutation p = {} ({})",
            self.gap,
            self.gap_interval.level * 100.0,
            self.gap_interval.low,
            self.gap_interval.high,
            format_p(self.p_value),
            self.test_description()
        )
    }

    fn score_description(&self) -> String {
        let (a, b) = (self.group_a(), self.group_b());
        if self.normalise {
            format!(
                "log ratio = mean over {a} terms − mean over {b} terms of ln P(term | target) − ln P(term | prior) \
                 (Kurita et al. 2019), averaged over templates; > 0: the target raises {a} terms more"
            )
        } else {
            format!(
                "log ratio = mean ln P(target | {a} term) − mean ln P(target | {b} term), averaged over templates; \
                 > 0: more probable with {a}"
            )
        }
    }

    /// The per-target log-ratios as horizontal bars with their intervals, a reference line at 0: every target,
    /// from most toward group A (top) to most toward group B.
    pub fn chart(&self) -> Result<Chart> {
        self.chart_of(self.per_target.iter().collect())
    }

    /// [`ProbeReport::chart`] of the `n` targets most toward group A and the `n` most toward group B (all of them
    /// when there are no more than 2n).
    pub fn chart_top(&self, n: usize) -> Result<Chart> {
        let all: Vec<&TargetGap> = self.per_target.iter().collect();
        if all.len() <= 2 * n {
            return self.chart_of(all);
        }
        self.chart_of(all[..n].iter().chain(&all[all.len() - n..]).copied().collect())
    }

    fn chart_of(&self, gaps: Vec<&TargetGap>) -> Result<Chart> {
        let rows = gaps
            .into_iter()
            .map(|g| IntervalBar {
                label: g.target.clone(),
                value: g.log_ratio,
                low: g.interval.low,
                high: g.interval.high,
            })
            .collect();
        let (a, b) = (self.group_a(), self.group_b());
        Chart::bars_with_intervals(
            format!(
                "{a} vs {b}: gap {:.2} nats [{:.2}, {:.2}], p = {}",
                self.gap,
                self.gap_interval.low,
                self.gap_interval.high,
                format_p(self.p_value)
            ),
            format!(
                "log ratio (nats; > 0: more probable with {a}, < 0: with {b}); whiskers: {:.0} % bootstrap CI over templates",
                self.gap_interval.level * 100.0
            ),
            rows,
            Some(0.0),
        )
    }

    /// An HTML table of the per-target log-ratios, with the gap line as its caption.
    pub fn to_html(&self) -> String {
        let level = format!("{:.0} % CI", self.gap_interval.level * 100.0);
        let mut table = HtmlTable::new(&["target", "log ratio", &level], &[false, true, true]);
        for g in &self.per_target {
            let colour = palette::hex(if g.log_ratio >= 0.0 { palette::FIRST } else { palette::SECOND });
            table.row(vec![
                format!("<span style=\"color:{colour}\">{}</span>", escape(&g.target)),
                format!("{:+.3}", g.log_ratio),
                format!("[{:+.3}, {:+.3}]", g.interval.low, g.interval.high),
            ]);
        }
        let mut caption = format!(
            "{} vs {} — {} <span style=\"font-weight:normal\">({} templates, {} targets; {}; {})",
            escape(self.group_a()),
            escape(self.group_b()),
            escape(&self.summary()),
            self.templates.len(),
            self.targets.len(),
            escape(&self.model),
            escape(&self.score_description()),
        );
        if !self.skipped.is_empty() {
            caption.push_str(&format!(". Not single tokens, so left out: {}", escape(&self.skipped.join(", "))));
        }
        caption.push_str("</span>");
        table.caption(caption).to_html()
    }

    /// Shows [`ProbeReport::to_html`] in the evcxr Jupyter kernel (with the text table as its plain-text form).
    pub fn evcxr_display(&self) {
        display::emit_html_and_text(&self.to_html(), &self.to_string());
    }

    /// Writes [`ProbeReport::rows`] as CSV with a header: template, group, term, target, probability,
    /// log_probability, rank, score.
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        for row in &self.rows {
            writer.serialize(row).map_err(csv_error)?;
        }
        writer.flush().map_err(|source| Error::Io { path: "<csv output>".into(), source })
    }
}

fn format_p(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "template probe: {} vs {}  ({} templates, {} targets; model: {})",
            self.group_a(),
            self.group_b(),
            self.templates.len(),
            self.targets.len(),
            self.model
        )?;
        writeln!(f, "{}", self.score_description())?;
        let level = format!("{:.0} % CI", self.gap_interval.level * 100.0);
        writeln!(f, "{:<16} {:>10}  {level}", "target", "log ratio")?;
        for g in &self.per_target {
            writeln!(f, "{:<16} {:>+10.3}  [{:+.3}, {:+.3}]", g.target, g.log_ratio, g.interval.low, g.interval.high)?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "not single tokens, so left out: {}", self.skipped.join(", "))?;
        }
        writeln!(f, "{}", self.summary())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scorer::stub::Stub;

    // ids: [CLS] 0, [SEP] 1, [MASK] 2, [PAD] 3, then these from 4.
    const WORDS: &[&str] = &["the", "man", "boy", "woman", "worked", "as", "a", "is", "nurse", "pilot"];

    fn probe() -> Probe {
        Probe::new(
            &["the [GROUP] worked as a [MASK]", "the [GROUP] is a [MASK]"],
            vec![Group::new("male", &["man", "boy"]), Group::new("female", &["woman"])],
            &["nurse", "pilot"],
        )
    }

    /// Forward rows (target masked), by template and term; everything else −10:
    ///
    /// | template      | term  | nurse | pilot |
    /// |---------------|-------|-------|-------|
    /// | worked as a   | man   | −3    | −1    |
    /// | worked as a   | boy   | −2    | −2    |
    /// | worked as a   | woman | −1    | −3    | ("the" also −1: a tie with nurse)
    /// | is a          | man   | −2    | −1    |
    /// | is a          | boy   | −2    | −1    |
    /// | is a          | woman | −1.5  | −2.5  |
    ///
    /// At the group slot (normalised probe): with nurse filled in, man −2, boy −2, woman −1; with pilot, man −1,
    /// boy −1, woman −2; with the target masked too (the prior), man −1, boy −2, woman −1.5.
    fn stub() -> Stub {
        let row = |pairs: &[(u32, f32)]| {
            let mut row = vec![-10.0f32; WORDS.len() + 4];
            for &(id, value) in pairs {
                row[id as usize] = value;
            }
            row
        };
        let (the, man, boy, woman, worked, nurse, pilot) = (4, 5, 6, 7, 8, 12, 13);
        Stub::new(WORDS, move |seq, position| {
            let has = |id: u32| seq.contains(&id);
            if position == 2 {
                // The group slot (after [CLS] the).
                return if has(nurse) {
                    row(&[(man, -2.0), (boy, -2.0), (woman, -1.0)])
                } else if has(pilot) {
                    row(&[(man, -1.0), (boy, -1.0), (woman, -2.0)])
                } else {
                    row(&[(man, -1.0), (boy, -2.0), (woman, -1.5)])
                };
            }
            match (has(worked), has(man), has(boy), has(woman)) {
                (true, true, _, _) => row(&[(nurse, -3.0), (pilot, -1.0)]),
                (true, _, true, _) => row(&[(nurse, -2.0), (pilot, -2.0)]),
                (true, _, _, true) => row(&[(nurse, -1.0), (pilot, -3.0), (the, -1.0)]),
                (false, true, _, _) | (false, _, true, _) => row(&[(nurse, -2.0), (pilot, -1.0)]),
                (false, _, _, true) => row(&[(nurse, -1.5), (pilot, -2.5)]),
                _ => row(&[]),
            }
        })
    }

    fn options() -> ProbeOptions {
        ProbeOptions { samples: 2000, ..ProbeOptions::default() }
    }

    #[test]
    fn log_ratios_and_the_gap_match_the_hand_computation() {
        let model = stub();
        let report = evaluate(&model, &probe(), "male", "female", &options()).unwrap();
        // One call for all 2 templates × 3 terms.
        assert_eq!(model.sequences_seen.get(), 6);
        // lr(worked, nurse) = mean(−3, −2) − (−1) = −1.5;  lr(worked, pilot) = mean(−1, −2) − (−3) = 1.5
        // lr(is, nurse)     = mean(−2, −2) − (−1.5) = −0.5; lr(is, pilot)     = mean(−1, −1) − (−2.5) = 1.5
        // per target: nurse (−1.5 − 0.5) / 2 = −1.0, pilot 1.5; gap = (1.0 + 1.5) / 2 = 1.25.
        let pilot = report.get("pilot").unwrap();
        let nurse = report.get("nurse").unwrap();
        assert_eq!(pilot.per_template, [1.5, 1.5]);
        assert_eq!(nurse.per_template, [-1.5, -0.5]);
        assert_eq!((pilot.log_ratio, nurse.log_ratio), (1.5, -1.0));
        assert_eq!(report.per_target[0].target, "pilot", "sorted from most toward A");
        assert_eq!(report.gap, 1.25);
        // Resampling 2 templates: gap 1.5 (worked twice), 1.0 (is twice) or 1.25, so the interval is inside [1, 1.5].
        assert!(report.gap_interval.low >= 1.0 && report.gap_interval.high <= 1.5, "{:?}", report.gap_interval);
        assert!(nurse.interval.low >= -1.5 && nurse.interval.high <= -0.5, "{:?}", nurse.interval);
        // Sign patterns (++, −−): 1.25; (+−): nurse (−1.5 + 0.5)/2 = −0.5, pilot 0 → 0.25; (−+): 0.25. p = 2/4.
        assert_eq!(report.p_value, 0.5);
        assert!(report.exact);
        assert_eq!(report.rows.len(), 2 * 3 * 2);
        assert_eq!(report.groups[0].name, "male");
    }

    #[test]
    fn ranks_count_strictly_more_probable_tokens() {
        let report = evaluate(&stub(), &probe(), "male", "female", &options()).unwrap();
        let row = |term: &str, target: &str| {
            report.rows.iter().find(|r| r.template.contains("worked") && r.term == term && r.target == target).unwrap()
        };
        // man: pilot −1 is the highest, nurse −3 is second.
        assert_eq!((row("man", "pilot").rank, row("man", "nurse").rank), (1, 2));
        // boy: nurse and pilot tie at −2, nothing above: both rank 1.
        assert_eq!((row("boy", "pilot").rank, row("boy", "nurse").rank), (1, 1));
        // woman: nurse ties with "the" at −1 (rank 1); pilot −3 has nurse and "the" above it (rank 3).
        assert_eq!((row("woman", "nurse").rank, row("woman", "pilot").rank), (1, 3));
        let r = row("woman", "pilot");
        assert_eq!(r.log_probability, -3.0);
        assert!((r.probability - (-3.0f64).exp()).abs() < 1e-15);
        assert_eq!(r.score, r.log_probability);
    }

    #[test]
    fn the_exact_permutation_p_value_counts_sign_patterns() {
        // One target, log-ratios 1, 2, 3 over three templates: gap 2. |±1 ±2 ±3| / 3 ≥ 2 only for +++ and −−−: 2/8.
        let lr = vec![vec![1.0], vec![2.0], vec![3.0]];
        let (_, gap, _, p, exact) = summarise(&lr, &["x".to_string()], &options());
        assert_eq!((gap, p, exact), (2.0, 0.25, true));
        // Two targets pulled opposite ways in every template: the absolute values do not cancel (gap 1.5), and
        // patterns +−− etc. give |1 − 1 − 1|/3, |2 − 2 − 2|/3 …: again only +++ and −−− reach it.
        let lr = vec![vec![1.0, -2.0], vec![1.0, -2.0], vec![1.0, -2.0]];
        let (_, gap, _, p, _) = summarise(&lr, &["x".to_string(), "y".to_string()], &options());
        assert_eq!((gap, p), (1.5, 0.25));
        // Too few samples for 2^3 patterns: sampled, and said so.
        let (_, _, _, p, exact) =
            summarise(&lr, &["x".to_string(), "y".to_string()], &ProbeOptions { samples: 4, ..options() });
        assert!(!exact && p > 0.0);
    }

    #[test]
    fn the_normalised_score_divides_by_the_prior() {
        let options = ProbeOptions { normalise: true, ..options() };
        let model = stub();
        let report = evaluate(&model, &probe(), "male", "female", &options).unwrap();
        // Forward: 6; per template, one slot length (1): 2 filled targets + 1 prior = 3; total 6 + 2 × 3 = 12.
        assert_eq!(model.sequences_seen.get(), 12);
        // nurse: man −2 − (−1) = −1, boy −2 − (−2) = 0 → mean −0.5; woman −1 − (−1.5) = 0.5; lr = −1.
        // pilot: man −1 + 1 = 0, boy −1 + 2 = 1 → 0.5; woman −2 + 1.5 = −0.5; lr = 1. Both templates alike.
        assert_eq!(report.get("nurse").unwrap().per_template, [-1.0, -1.0]);
        assert_eq!(report.get("pilot").unwrap().log_ratio, 1.0);
        assert_eq!(report.gap, 1.0);
        let row = report.rows.iter().find(|r| r.term == "boy" && r.target == "pilot").unwrap();
        assert_eq!((row.score, row.log_probability), (1.0, -2.0));
        assert!(report.to_string().contains("Kurita"));
    }

    #[test]
    fn bad_templates_groups_and_targets_are_clear_errors() {
        let model = stub();
        let run = |templates: &[&str], groups: Vec<Group>, targets: &[&str]| {
            evaluate(&model, &Probe::new(templates, groups, targets), "male", "female", &options())
        };
        let groups = || probe().groups;
        let no_group = run(&["the man is a [MASK]"], groups(), &["nurse"]);
        assert!(
            matches!(&no_group, Err(Error::InvalidData { reason, .. }) if reason.contains("[GROUP]")),
            "{no_group:?}"
        );
        assert!(matches!(run(&["the [GROUP] is a nurse"], groups(), &["nurse"]), Err(Error::NoMaskToken { .. })));
        assert!(matches!(
            run(&["the [GROUP] is a [MASK] [MASK]"], groups(), &["nurse"]),
            Err(Error::SeveralMasks { .. })
        ));
        assert!(matches!(
            run(&["the [GROUP] [GROUP] is a [MASK]"], groups(), &["nurse"]),
            Err(Error::InvalidData { .. })
        ));
        assert!(matches!(run(&[], groups(), &["nurse"]), Err(Error::InvalidArgument { .. })));
        let empty = vec![Group::new("male", &["man"]), Group::new("female", &[" "])];
        assert!(
            matches!(run(&["the [GROUP] is a [MASK]"], empty, &["nurse"]), Err(Error::InvalidArgument { reason }) if reason.contains("female"))
        );
        let other = evaluate(&model, &probe(), "male", "martian", &options());
        assert!(matches!(other, Err(Error::InvalidArgument { reason }) if reason.contains("martian")));
        assert!(matches!(evaluate(&model, &probe(), "male", "male", &options()), Err(Error::InvalidArgument { .. })));
        // Targets the model cannot read as one token are dropped; none left is an error.
        assert!(matches!(
            run(&["the [GROUP] is a [MASK]"], groups(), &["astronaut", "a pilot"]),
            Err(Error::InvalidArgument { .. })
        ));
        let report = run(&["the [GROUP] is a [MASK]"], groups(), &["astronaut", "pilot", "pilot"]).unwrap();
        assert_eq!(
            (report.targets.clone(), report.skipped.clone()),
            (vec!["pilot".to_string()], vec!["astronaut".to_string()])
        );
        assert!(report.to_string().contains("left out: astronaut"));
    }

    #[test]
    fn the_report_shows_as_text_html_csv_and_chart() {
        let report = evaluate(&stub(), &probe(), "male", "female", &options()).unwrap();
        let text = report.to_string();
        assert!(text.contains("permutation p = 0.500 (exact over 2^2 sign patterns)"), "{text}");
        assert!(text.contains("gap 1.25 nats, 95 % CI ["), "{text}");
        assert!(text.find("pilot").unwrap() < text.find("nurse").unwrap(), "sorted by log ratio:\n{text}");
        let html = report.to_html();
        assert!(html.contains("nurse") && html.contains("+1.500"));
        let mut csv = Vec::new();
        report.write_csv(&mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("template,group,term,target,probability,log_probability,rank,score\n"), "{csv}");
        assert_eq!(csv.lines().count(), 1 + 12);
        let svg = report.chart().unwrap().svg().unwrap();
        assert!(svg.contains("nurse") && svg.contains("pilot"));
        let top = report.chart_top(0).unwrap_err();
        assert!(matches!(top, Error::Chart(_)), "no rows is a chart error: {top:?}");
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["gap"], 1.25);
        // Signed gap of a subset: nurse alone is −1.0 (toward female).
        let (signed, interval) = report.signed_gap(&["nurse"]).unwrap();
        assert_eq!(signed, -1.0);
        assert!(interval.high <= -0.5);
        assert!(report.signed_gap(&["astronaut"]).is_none());
    }

    #[test]
    fn built_in_sets_are_well_formed() {
        let probe = Probe::gender_occupations();
        assert!(probe.templates.len() >= 8);
        assert!(probe
            .templates
            .iter()
            .all(|t| t.matches(GROUP_SLOT).count() == 1 && t.matches(MASK_SLOT).count() == 1));
        assert_eq!(probe.targets.len(), 112);
        assert!(!probe.targets.contains(&"waitress".to_string()));
        assert!(Probe::gender_adjectives().templates.len() >= 8);
        for groups in [groups::gender(), groups::race(), groups::religion(), groups::age()] {
            assert!(groups.len() >= 2 && groups.iter().all(|g| !g.terms.is_empty()));
        }
        assert_eq!(groups::religion()[1].terms, ["muslim person", "muslim man", "muslim woman"]);
    }

    /// The built-in gender/occupation probe on the offline demo model:
    /// `BIASLAB_MINILM_DIR=/work/shared/models/all-MiniLM-L6-v2 cargo test --release --lib probe -- --ignored --nocapture`
    #[test]
    #[ignore]
    fn the_gender_occupation_probe_on_the_demo_model() {
        let model = crate::model::fill_mask::FillMask::demo().unwrap();
        for normalise in [false, true] {
            let start = std::time::Instant::now();
            let options = ProbeOptions { normalise, ..ProbeOptions::default() };
            let report = evaluate(&model, &Probe::gender_occupations(), "male", "female", &options).unwrap();
            println!("{report}\n(normalise = {normalise}: {:.1} s)", start.elapsed().as_secs_f64());
            report.chart_top(12).unwrap().save(format!("/tmp/probe_demo_{normalise}.png")).unwrap();
        }
    }
}
