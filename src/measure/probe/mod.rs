//! Template probes: does a masked language model predict different words for one group than for another in the
//! same sentence frame?
//!
//! A [`Probe`] is a set of templates with a group slot and a mask ("the \[GROUP\] worked as a \[MASK\]."), named groups
//! of terms that fill the slot ("man", "father", … against "woman", "mother", …) and target words the model may
//! predict at the mask (occupations, adjectives). [`evaluate`] fills every template with every term of two groups
//! and reads, at the mask, the log-probability of every target. Template probes of masked language models follow
//! Kurita et al. (2019), *Measuring Bias in Contextualized Word Representations* (1st Workshop on Gender Bias in NLP,
//! ACL; code: github.com/keitakurita/contextual_embedding_bias_measure, `lib/bias_calculator.py`,
//! `BiasScorer.bias_score`).
//!
//! ## What is measured
//!
//! For template t, term w and target x, s(t, w, x) = ln P(x at \[MASK\] | t with w in the slot): the
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
//!   (`stats::sign_flip_p`; Good 2005, §3.5; Fisher 1935), with G itself as the statistic: the p-value is the
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
//!
//! ## Intersections
//!
//! [`intersectional`] crosses two attributes ([`groups::cross`] of [`groups::descriptors`] and [`groups::gender`]:
//! "black female" is "black woman", "black mother", …), compares every combination with one reference combination
//! ("white male"), each with its own gap, interval and p-value, and asks whether a combination's log-ratios are more
//! than the sum of its two attributes' ([`Interaction`]): harms that fall on Black women and neither on Black men
//! nor on white women (Crenshaw 1989) show there, not in a race probe or a gender probe alone.
//!
//! ## What a template probe can say about non-binary and queer identities
//!
//! [`groups::queer_nonqueer`] gives HONEST's queer and non-queer identity terms as groups. A probe over them
//! measures how the model's predictions change with the identity *word* in a fixed frame ("the non-binary person
//! worked as a \[MASK\]."). It can show that a model ties occupations or adjectives to those words differently. It
//! cannot say:
//! - how the model treats a person who does not name their identity, nor whether it misgenders anyone: that is
//!   pronoun use (they, xe, ze) in running text, which needs its own tests (for example MISGENDERED, Hossain et al.
//!   2023; TANGO, Ovalle et al. 2023). Neopronouns do not fit "the \[GROUP\]" and are left out of these groups;
//! - whether a gap comes from stereotype or from rarity: many of these terms are rare in training text and split
//!   into several word pieces, so the model may simply know less after them (compare with `normalise`, and look at
//!   the rows of single terms);
//! - anything about the people a group name lumps together: "queer gender" holds identities with little in common;
//!   read the per-term rows before the group's gap;
//! - that there is no harm when there is no gap: a probe tests the frames and targets it was given, nothing else.
//!
//! The files of this folder: `probes.rs` (the ready-made probes), `report.rs` (options and what a probe reports),
//! `run.rs` ([`evaluate`]), `intersect.rs` ([`intersectional`]), `view.rs` (tables, text, CSV, chart); everything
//! public is re-exported here.

use std::fmt;
use std::io::Write;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::measure::stats::{self, Interval};
use crate::model::scorer::MaskScorer;
use crate::view::chart::{Chart, IntervalBar};
use crate::view::display::{escape, palette, HtmlTable};

mod intersect;
mod probes;
mod report;
mod run;
mod view;

pub use intersect::*;
pub use probes::*;
pub use report::*;
pub use run::*;

/// The group slot of a template.
pub(crate) const GROUP_SLOT: &str = "[GROUP]";
/// The mask of a template (the model's own mask token is used in its place).
pub(crate) const MASK_SLOT: &str = "[MASK]";

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
    /// Sentences with one `GROUP_SLOT` and one `MASK_SLOT` ("the \[GROUP\] worked as a \[MASK\].").
    pub templates: Vec<String>,
    /// The groups; [`evaluate`] compares two of them by name.
    pub groups: Vec<Group>,
    /// Words read at the mask; each must be a single token of the model (others are dropped with a warning).
    pub targets: Vec<String>,
}

#[cfg(test)]
mod tests;
