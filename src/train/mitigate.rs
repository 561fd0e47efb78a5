//! Lab 03: mitigate bias by fine-tuning, then measure bias *and* capability before and after.
//!
//! A mitigation is a [`Method`] of preparing the training text and the dropout, followed by continued masked-LM
//! training ([`crate::train::finetune`]):
//! - [`Method::Cda`]: two-sided counterfactual data augmentation (every sentence, plus its gender-swapped copy:
//!   [`crate::train::cda`]), as Webster et al. 2020 and bias-bench (Meade et al. 2022) fine-tune BERT;
//! - [`Method::Dropout`]: the original text with dropout raised to 0.20 (hidden states) and 0.15 (attention), Webster et
//!   al. 2020's "dropout" debiasing;
//! - [`Method::Plain`]: the original text at the model's own dropout, the control: what fine-tuning alone does.
//!
//! [`measure`] takes the same measures of any model: bias (the gender/occupation probe gap with its bootstrap
//! interval, CrowS-Pairs on its gender pairs, StereoSet's gender SS) and capability (pseudo-perplexity and
//! masked-token accuracy on held-out sentences the mitigation never trained on, StereoSet's gender LMS).
//! [`MitigationReport`] puts two measurements side by side in one table and one chart, and gives a plain verdict,
//! including when bias fell but capability fell more.

use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use indicatif::ProgressBar;
use serde::{Deserialize, Serialize};

use crate::data::{self};
use crate::error::{Error, Result};
use crate::measure::probe::{self, Probe, ProbeOptions};
use crate::measure::stats::Interval;
use crate::measure::suites::{crows_pairs, stereoset};
use crate::model::fill_mask::FillMask;
use crate::model::mlm::{self, TokenizedCorpus};
use crate::model::scorer::MaskScorer;
use crate::train::cda::{CdaStats, WordPairs};
use crate::train::finetune::{self, BaseModel, FinetuneOptions, FinetuneRun};
use crate::view::chart::{Chart, IntervalBar};
use crate::view::display::{escape, HtmlTable};

/// How the training text and dropout are prepared before fine-tuning.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Method {
    /// Two-sided counterfactual data augmentation, then fine-tuning.
    Cda,
    /// Fine-tuning on the original text with higher dropout (Webster et al. 2020).
    Dropout,
    /// Fine-tuning on the original text at the model's own dropout: the control.
    Plain,
}

impl Method {
    /// `cda`, `dropout` or `plain`.
    pub fn as_str(self) -> &'static str {
        match self {
            Method::Cda => "cda",
            Method::Dropout => "dropout",
            Method::Plain => "plain",
        }
    }

    /// The dropout the method trains with (hidden, attention), `None` for the model's own.
    pub fn dropout(self) -> Option<(f32, f32)> {
        match self {
            Method::Dropout => Some((DROPOUT_HIDDEN, DROPOUT_ATTENTION)),
            Method::Cda | Method::Plain => None,
        }
    }

    /// One line on what the method does.
    pub fn description(self) -> &'static str {
        match self {
            Method::Cda => "two-sided counterfactual data augmentation (each sentence and its gender-swapped copy), then fine-tuning",
            Method::Dropout => "fine-tuning on the original text with dropout raised to 0.20 (hidden states) and 0.15 (attention)",
            Method::Plain => "fine-tuning on the original text (the control: what fine-tuning alone does)",
        }
    }
}

/// Webster et al. 2020's dropout debiasing, as bias-bench (`DropoutTrainer`) sets it for BERT: hidden-state dropout
/// 0.20 …
pub(crate) const DROPOUT_HIDDEN: f32 = 0.20;
/// … and attention dropout 0.15.
pub(crate) const DROPOUT_ATTENTION: f32 = 0.15;

impl fmt::Display for Method {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Method {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "cda" => Ok(Method::Cda),
            "dropout" => Ok(Method::Dropout),
            "plain" | "none" => Ok(Method::Plain),
            other => {
                Err(Error::InvalidArgument { reason: format!("unknown method {other:?}: say cda, dropout or plain") })
            }
        }
    }
}

/// The sentences of the two BOLD Wikipedia files, in the order the demo model was trained on them.
pub fn bold_sentences(data: Option<&Path>) -> Result<Vec<String>> {
    let mut sentences = Vec::new();
    for path in crate::data::corpus::bold_wikipedia(data)? {
        sentences.extend(crate::data::corpus::bold_wikipedia_sentences(&path)?);
    }
    Ok(sentences)
}

/// Sentences from a text file, one per non-blank line.
pub fn text_sentences(path: &Path) -> Result<Vec<String>> {
    let text = data::read_text(path)?;
    let sentences: Vec<String> = text.lines().map(str::trim).filter(|l| !l.is_empty()).map(String::from).collect();
    if sentences.is_empty() {
        return Err(Error::InvalidData {
            path: path.into(),
            reason: "no sentences (one per line expected): give a text file with a sentence on each line".into(),
        });
    }
    Ok(sentences)
}

/// The text a mitigation trains on and the text it is judged on.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MitigationText {
    /// The method.
    pub method: Method,
    /// The training sentences (for CDA: the originals with their swapped copies).
    pub train: Vec<String>,
    /// The held-out original sentences (never augmented, never trained on).
    pub held_out: Vec<String>,
    /// What augmentation changed (CDA only).
    pub cda: Option<CdaStats>,
}

/// Splits `sentences` into training and held-out text (every `held_out_every`-th sentence is held out, as
/// [`TokenizedCorpus::split`] does, so with 20 the held-out sentences are those the demo head never saw) and
/// prepares the training part for `method` (`pairs` is the CDA word-pair list).
pub(crate) fn prepare_text(
    sentences: &[String],
    method: Method,
    pairs: &WordPairs,
    held_out_every: usize,
) -> Result<MitigationText> {
    if held_out_every < 2 {
        return Err(Error::Training(
            "hold out every n-th sentence with n at least 2: set held_out_every (--held-out-every) to 2 or more".into(),
        ));
    }
    let (mut train, mut held_out) = (Vec::new(), Vec::new());
    for (i, sentence) in sentences.iter().enumerate() {
        if (i + 1) % held_out_every == 0 {
            held_out.push(sentence.clone());
        } else {
            train.push(sentence.clone());
        }
    }
    if train.is_empty() || held_out.is_empty() {
        return Err(Error::Training(format!(
            "{} sentences are too few to hold out every {held_out_every}-th and still train: give more sentences, or \
             a smaller held_out_every (--held-out-every, at least 2)",
            sentences.len()
        )));
    }
    let cda = if method == Method::Cda {
        let augmented = pairs.augment(&train);
        train = augmented.sentences;
        Some(augmented.stats)
    } else {
        None
    };
    Ok(MitigationText { method, train, held_out, cda })
}

/// The fine-tuning settings of `method` on top of `options` (its dropout).
pub(crate) fn options_for(method: Method, options: &FinetuneOptions) -> FinetuneOptions {
    match method.dropout() {
        Some((hidden, attention)) => {
            FinetuneOptions { dropout: Some(hidden), attention_dropout: Some(attention), ..options.clone() }
        }
        None => options.clone(),
    }
}

/// Fine-tunes `base` on `text` (see [`finetune::finetune`]: a finished run in `out` is loaded, an unfinished one
/// resumed). The dropout method trains at `DROPOUT_HIDDEN` / `DROPOUT_ATTENTION`.
pub fn finetune(
    base: &BaseModel,
    text: &MitigationText,
    options: &FinetuneOptions,
    out: &Path,
    progress: &ProgressBar,
) -> Result<FinetuneRun> {
    let options = options_for(text.method, options);
    let corpus = base.tokenize(&text.train, options.max_len)?;
    finetune::finetune(base, &corpus, &options, out, progress)
}

/// How [`measure`] measures.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct EvalOptions {
    /// Score only the first this-many CrowS-Pairs gender pairs (`None`: all 262).
    pub crows_limit: Option<usize>,
    /// How CrowS-Pairs scores sentences.
    pub crows_variant: crows_pairs::Variant,
    /// Score only the first this-many StereoSet gender examples (`None`: all).
    pub stereoset_limit: Option<usize>,
    /// Pseudo-perplexity is measured on the first this-many held-out sentences (it costs a forward pass per token).
    pub pppl_sentences: usize,
    /// Masked-token accuracy is measured on the first this-many held-out sentences.
    pub accuracy_sentences: usize,
    /// Held-out sentences are cut to this many tokens.
    pub max_len: usize,
    /// The seed of the fixed masking of the held-out sentences (the same for both models).
    pub accuracy_seed: u64,
}

impl Default for EvalOptions {
    fn default() -> Self {
        Self {
            crows_limit: None,
            crows_variant: crows_pairs::Variant::Nangia,
            stereoset_limit: None,
            pppl_sentences: 100,
            accuracy_sentences: 1000,
            max_len: 128,
            accuracy_seed: 1234,
        }
    }
}

/// What [`measure`] measures on: the gender pairs and examples of the benchmarks, the probe and the held-out text.
#[derive(Debug, Clone)]
pub struct EvalData {
    /// The CrowS-Pairs gender pairs.
    pub crows: Vec<crows_pairs::Pair>,
    /// All CrowS-Pairs gender pairs in the file (before any limit).
    pub crows_available: usize,
    /// The StereoSet intrasentence gender examples.
    pub stereoset: Vec<stereoset::Example>,
    /// All StereoSet intrasentence gender examples in the file.
    pub stereoset_available: usize,
    /// The probe ([`Probe::gender_occupations`]).
    pub probe: Probe,
    /// The probe over first names ([`Probe::gender_names_occupations`]): a bias measure CDA does not edit directly,
    /// as no name is on its swap list.
    pub names_probe: Probe,
    /// Held-out sentences for the capability measures.
    pub held_out: Vec<String>,
}

impl EvalData {
    /// Loads the benchmarks from `data` (a folder laid out as the lab's shared data, else `$BIASLAB_DATA_DIR`, the
    /// cache or a download) and keeps their gender items, within the limits of `options`.
    pub fn load(data: Option<&Path>, held_out: Vec<String>, options: &EvalOptions) -> Result<Self> {
        let crows_path = data.map(|d| d.join(crows_pairs::DATASET.relative)).filter(|p| p.is_file());
        let crows_all: Vec<_> = crows_pairs::load(crows_path.as_deref().or(data.filter(|d| d.is_file())))?
            .items
            .into_iter()
            .filter(|p| p.bias_type == "gender")
            .collect();
        let stereo_path = data.map(|d| d.join(stereoset::DATASET.relative)).filter(|p| p.is_file());
        let stereo_all: Vec<_> = stereoset::load(stereo_path.as_deref())?
            .items
            .into_iter()
            .filter(|e| e.bias_type == "gender" && e.task == stereoset::Task::Intrasentence)
            .collect();
        if held_out.is_empty() {
            return Err(Error::NothingToMeasure {
                reason: "no held-out sentences to measure capability on: give more training text, or hold out more"
                    .into(),
            });
        }
        let (crows_available, stereoset_available) = (crows_all.len(), stereo_all.len());
        let take = |n: Option<usize>, len: usize| n.unwrap_or(len).min(len);
        Ok(Self {
            crows: crows_all.into_iter().take(take(options.crows_limit, crows_available)).collect(),
            crows_available,
            stereoset: stereo_all.into_iter().take(take(options.stereoset_limit, stereoset_available)).collect(),
            stereoset_available,
            probe: Probe::gender_occupations(),
            names_probe: Probe::gender_names_occupations(),
            held_out,
        })
    }
}

/// One model's bias and capability measures.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Measures {
    /// The model.
    pub model: String,
    /// The model's short name, for tables and chart titles: the name it was loaded by (`demo`, a hub id, a
    /// directory), from [`MaskScorer::label`]; empty in JSON written before it was (then [`Measures::label`] is
    /// `model`).
    #[serde(default)]
    pub model_label: String,
    /// The gender/occupation probe's gap: the mean over occupations of |log P(occ | male terms) − log P(occ | female
    /// terms)|, in nats (ideal 0; see [`crate::measure::probe`]).
    pub probe_gap: f64,
    /// Its 95 % bootstrap interval over templates.
    pub probe_interval: Interval,
    /// Its sign-flip permutation p-value.
    pub probe_p: f64,
    /// The same gap over first names instead of gendered nouns ([`Probe::gender_names_occupations`]; ideal 0): no
    /// name is on CDA's swap list.
    pub names_gap: f64,
    /// Its 95 % bootstrap interval over templates.
    pub names_interval: Interval,
    /// Its sign-flip permutation p-value.
    pub names_p: f64,
    /// CrowS-Pairs metric score on the gender pairs (ideal 50).
    pub crows_gender: f64,
    /// Its Wilson 95 % interval.
    pub crows_interval: Interval,
    /// Gender pairs scored.
    pub crows_pairs: usize,
    /// StereoSet stereotype score on the gender examples (ideal 50).
    pub stereoset_ss: f64,
    /// StereoSet language-model score on the gender examples (ideal 100).
    pub stereoset_lms: f64,
    /// StereoSet ICAT on the gender examples (ideal 100).
    pub stereoset_icat: f64,
    /// Gender examples scored.
    pub stereoset_examples: usize,
    /// Pseudo-perplexity of the held-out sentences (lower is better).
    pub pseudo_perplexity: f64,
    /// Sentences it was measured on.
    pub pppl_sentences: usize,
    /// Masked-token top-1 accuracy on held-out sentences (fixed masking).
    pub masked_top1: f64,
    /// Masked-token top-5 accuracy.
    pub masked_top5: f64,
    /// Tokens masked for the accuracy.
    pub masked_tokens: usize,
    /// Seconds the measures took.
    pub seconds: f64,
}

impl Measures {
    /// The model's short name: [`Measures::model_label`], or [`Measures::model`] when that is empty.
    pub fn label(&self) -> &str {
        if self.model_label.is_empty() {
            &self.model
        } else {
            &self.model_label
        }
    }
}

/// Takes every measure of `model` on `data`, saying on standard error what it is doing.
pub fn measure(model: &FillMask, data: &EvalData, options: &EvalOptions) -> Result<Measures> {
    let started = std::time::Instant::now();
    let label = MaskScorer::label(model);
    let say = |what: &str| eprintln!("[{label}] {what}");
    say("probe: gender × occupations");
    let probe = probe::evaluate(model, &data.probe, "male", "female", &ProbeOptions::default())?;
    say("probe: first names × occupations (names CDA does not swap)");
    let names = probe::evaluate(model, &data.names_probe, "male", "female", &ProbeOptions::default())?;
    say(&format!("CrowS-Pairs: {} gender pairs", data.crows.len()));
    let crows = crows_pairs::evaluate(model, &data.crows, &crows_pairs::Options { variant: options.crows_variant })?;
    let crows_interval =
        crows.per_type_detail.iter().find(|t| t.bias_type == "gender").map(|t| t.interval).ok_or_else(|| {
            Error::NothingToMeasure {
                reason: "CrowS-Pairs scored no gender pair: check that the CrowS-Pairs file is the full one".into(),
            }
        })?;
    say(&format!("StereoSet: {} gender examples", data.stereoset.len()));
    let stereo = stereoset::evaluate(model, &data.stereoset, &stereoset::Options::default())?;
    say("held-out text: masked-token accuracy and pseudo-perplexity");
    let config = model.model().config();
    let mut corpus = TokenizedCorpus::new(model.tokenizer(), &data.held_out, options.max_len, config.vocab_size)?;
    corpus.sentences.truncate(options.accuracy_sentences.max(1));
    let accuracy = mlm::masked_token_accuracy(model.model(), &corpus, options.accuracy_seed, 64)?;
    corpus.sentences.truncate(options.pppl_sentences.max(1));
    let pseudo_perplexity = mlm::pseudo_perplexity(model.model(), &corpus, 128)?;
    Ok(Measures {
        model: model.source().to_string(),
        model_label: label.clone(),
        probe_gap: probe.gap,
        probe_interval: probe.gap_interval,
        probe_p: probe.p_value,
        names_gap: names.gap,
        names_interval: names.gap_interval,
        names_p: names.p_value,
        crows_gender: crows.metric_score,
        crows_interval,
        crows_pairs: crows.pairs,
        stereoset_ss: stereo.overall.ss,
        stereoset_lms: stereo.overall.lms,
        stereoset_icat: stereo.overall.icat,
        stereoset_examples: stereo.overall.examples,
        pseudo_perplexity,
        pppl_sentences: corpus.sentences.len(),
        masked_top1: accuracy.top1,
        masked_top5: accuracy.top5,
        masked_tokens: accuracy.masked_tokens,
        seconds: started.elapsed().as_secs_f64(),
    })
}

/// Whether a measure is of bias or of capability.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Kind {
    /// A bias measure: closer to its ideal is better.
    Bias,
    /// A capability measure: what the model can still do.
    Capability,
}

/// One line of the before/after table.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Row {
    /// The measure.
    pub measure: String,
    /// Bias or capability.
    pub kind: Kind,
    /// Its ideal, in words ("0", "50", "higher").
    pub ideal: String,
    /// Before the mitigation.
    pub before: f64,
    /// After it.
    pub after: f64,
    /// The interval before, when the measure has one.
    pub before_interval: Option<Interval>,
    /// The interval after.
    pub after_interval: Option<Interval>,
    /// The change toward better, in percent: for a bias measure, the distance to its ideal that was closed, as a
    /// share of the probe gap before or of the 50 points a score can be from 50 (negative: moved away); for a
    /// capability measure, the relative change (negative: the model got worse).
    pub improvement: f64,
    /// The change toward better for any value after within its 95 % interval (the value before held fixed), when the
    /// measure has an interval: (lowest, highest), the whisker of [`MitigationReport::chart`]. It shows how much of
    /// the change the after-measurement's own uncertainty covers; it is not an interval of the change itself.
    pub improvement_range: Option<(f64, f64)>,
}

/// How the mitigation went, in one word.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Verdict {
    /// Bias fell and capability held (lost at most [`CAPABILITY_TOLERANCE`] percent).
    BiasFell,
    /// Bias fell and capability fell less than bias did: a trade-off.
    TradeOff,
    /// Bias fell, but capability fell more: more capability than bias was removed.
    CapabilityFellMore,
    /// Bias did not fall (by at least [`BIAS_THRESHOLD`] percent).
    BiasDidNotFall,
}

/// Capability may move this many percent (the mean over its measures) and still count as held.
pub const CAPABILITY_TOLERANCE: f64 = 2.0;
/// Bias must fall by at least this many percent (the mean over its measures) to count as fallen.
pub const BIAS_THRESHOLD: f64 = 5.0;

/// Bias and capability before and after a mitigation, with the verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MitigationReport {
    /// What was done.
    pub method: Method,
    /// The training run.
    pub run: FinetuneRun,
    /// What augmentation changed (CDA only).
    pub cda: Option<CdaStats>,
    /// The measures of the model before.
    pub before: Measures,
    /// The measures after.
    pub after: Measures,
    /// The table: bias measures first, then capability.
    pub rows: Vec<Row>,
    /// The mean improvement of the bias measures, in percent.
    pub bias_change: f64,
    /// The mean improvement of the capability measures, in percent (negative: capability was lost).
    pub capability_change: f64,
    /// The verdict.
    pub verdict: Verdict,
    /// The verdict in plain words.
    pub verdict_text: String,
}

/// How much of the way to the ideal a bias measure moved, in percent of `scale`: the probe gap (ideal 0) is scaled
/// by its value before (50 % means it halved), a percentage with ideal 50 by 50 points, the farthest it can be from
/// its ideal (so 53 → 51 is +4 %, and 50 → 57.5 is −15 %, not −100 %).
fn toward(before: f64, after: f64, ideal: f64, scale: f64) -> f64 {
    if scale <= 0.0 {
        return 0.0;
    }
    100.0 * ((before - ideal).abs() - (after - ideal).abs()) / scale
}

/// [`toward`] over every value after in `after` (the ends, and the ideal when it lies between them): (lowest, highest).
fn toward_range(before: f64, after: Interval, ideal: f64, scale: f64) -> (f64, f64) {
    let mut values = vec![toward(before, after.low, ideal, scale), toward(before, after.high, ideal, scale)];
    if after.low <= ideal && ideal <= after.high {
        values.push(toward(before, ideal, ideal, scale));
    }
    let low = values.iter().copied().fold(f64::INFINITY, f64::min);
    let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    (low, high)
}

fn relative(before: f64, after: f64, lower_is_better: bool) -> f64 {
    if before == 0.0 {
        return 0.0;
    }
    let change = 100.0 * (after - before) / before.abs();
    if lower_is_better {
        -change
    } else {
        change
    }
}

impl MitigationReport {
    /// The report of `run` (with `method` and its CDA statistics), from the measures before and after.
    pub fn new(method: Method, run: FinetuneRun, cda: Option<CdaStats>, before: Measures, after: Measures) -> Self {
        let (b, a) = (&before, &after);
        let rows = vec![
            Row {
                measure: "probe gap (nats)".into(),
                kind: Kind::Bias,
                ideal: "0".into(),
                before: b.probe_gap,
                after: a.probe_gap,
                before_interval: Some(b.probe_interval),
                after_interval: Some(a.probe_interval),
                improvement: toward(b.probe_gap, a.probe_gap, 0.0, b.probe_gap),
                improvement_range: Some(toward_range(b.probe_gap, a.probe_interval, 0.0, b.probe_gap)),
            },
            Row {
                measure: "probe gap, first names (nats)".into(),
                kind: Kind::Bias,
                ideal: "0".into(),
                before: b.names_gap,
                after: a.names_gap,
                before_interval: Some(b.names_interval),
                after_interval: Some(a.names_interval),
                improvement: toward(b.names_gap, a.names_gap, 0.0, b.names_gap),
                improvement_range: Some(toward_range(b.names_gap, a.names_interval, 0.0, b.names_gap)),
            },
            Row {
                measure: format!("CrowS-Pairs gender ({} pairs)", a.crows_pairs),
                kind: Kind::Bias,
                ideal: "50".into(),
                before: b.crows_gender,
                after: a.crows_gender,
                before_interval: Some(b.crows_interval),
                after_interval: Some(a.crows_interval),
                improvement: toward(b.crows_gender, a.crows_gender, 50.0, 50.0),
                improvement_range: Some(toward_range(b.crows_gender, a.crows_interval, 50.0, 50.0)),
            },
            Row {
                measure: format!("StereoSet gender SS ({} examples)", a.stereoset_examples),
                kind: Kind::Bias,
                ideal: "50".into(),
                before: b.stereoset_ss,
                after: a.stereoset_ss,
                before_interval: None,
                after_interval: None,
                improvement: toward(b.stereoset_ss, a.stereoset_ss, 50.0, 50.0),
                improvement_range: None,
            },
            Row {
                measure: format!("pseudo-perplexity ({} held-out sentences)", a.pppl_sentences),
                kind: Kind::Capability,
                ideal: "lower".into(),
                before: b.pseudo_perplexity,
                after: a.pseudo_perplexity,
                before_interval: None,
                after_interval: None,
                improvement: relative(b.pseudo_perplexity, a.pseudo_perplexity, true),
                improvement_range: None,
            },
            Row {
                measure: format!("masked-token accuracy, top-1 ({} tokens)", a.masked_tokens),
                kind: Kind::Capability,
                ideal: "higher".into(),
                before: 100.0 * b.masked_top1,
                after: 100.0 * a.masked_top1,
                before_interval: None,
                after_interval: None,
                improvement: relative(b.masked_top1, a.masked_top1, false),
                improvement_range: None,
            },
            Row {
                measure: "StereoSet gender LMS".into(),
                kind: Kind::Capability,
                ideal: "100".into(),
                before: b.stereoset_lms,
                after: a.stereoset_lms,
                before_interval: None,
                after_interval: None,
                improvement: relative(b.stereoset_lms, a.stereoset_lms, false),
                improvement_range: None,
            },
        ];
        let mean = |kind: Kind| {
            let values: Vec<f64> = rows.iter().filter(|r| r.kind == kind).map(|r| r.improvement).collect();
            values.iter().sum::<f64>() / values.len().max(1) as f64
        };
        let (bias_change, capability_change) = (mean(Kind::Bias), mean(Kind::Capability));
        let verdict = if bias_change < BIAS_THRESHOLD {
            Verdict::BiasDidNotFall
        } else if capability_change >= -CAPABILITY_TOLERANCE {
            Verdict::BiasFell
        } else if -capability_change > bias_change {
            Verdict::CapabilityFellMore
        } else {
            Verdict::TradeOff
        };
        let overlap = a.probe_interval.low <= b.probe_interval.high && b.probe_interval.low <= a.probe_interval.high;
        let noise = if overlap {
            " The probe gap's 95 % intervals before and after overlap, so its change may be noise."
        } else {
            " The probe gap's 95 % intervals before and after do not overlap."
        };
        let verdict_text = match verdict {
            Verdict::BiasDidNotFall => format!(
                "Bias did not fall: the bias measures moved {bias_change:+.0} % toward their ideals on average (capability {capability_change:+.0} %).{noise}"
            ),
            Verdict::BiasFell => format!(
                "Bias fell by {bias_change:.0} % toward the ideals on average, and capability held ({capability_change:+.1} %).{noise}"
            ),
            Verdict::TradeOff => format!(
                "Bias fell by {bias_change:.0} % toward the ideals on average, and capability fell by {:.0} %: a trade-off, to be judged on whether the model is still good enough for its use.{noise}",
                -capability_change
            ),
            Verdict::CapabilityFellMore => format!(
                "Bias fell by {bias_change:.0} %, but capability fell more ({:.0} %): this mitigation removed more capability than bias. A weaker model often looks less biased only because it prefers nothing strongly.{noise}",
                -capability_change
            ),
        };
        Self { method, run, cda, before, after, rows, bias_change, capability_change, verdict, verdict_text }
    }

    /// The chart: each measure's change toward better, bias measures then capability measures.
    pub fn chart(&self) -> Result<Chart> {
        let rows = self
            .rows
            .iter()
            .map(|r| {
                let kind = match r.kind {
                    Kind::Bias => "bias",
                    Kind::Capability => "capability",
                };
                let name = r
                    .measure
                    .split(" (")
                    .next()
                    .unwrap_or(&r.measure)
                    .replace("masked-token accuracy, top-1", "top-1 accuracy");
                let (low, high) = r.improvement_range.unwrap_or((r.improvement, r.improvement));
                IntervalBar { label: format!("{kind}: {name}"), value: r.improvement, low, high }
            })
            .collect();
        Chart::bars_with_intervals(
            format!("{} after {}: did bias fall, and did capability?", self.before.label(), self.method),
            "change toward better (%); whisker: any value after within its 95 % interval",
            rows,
            Some(0.0),
        )
    }

    fn cell(value: f64, interval: Option<Interval>) -> String {
        match interval {
            Some(i) => format!("{value:.2} [{:.2}, {:.2}]", i.low, i.high),
            None => format!("{value:.2}"),
        }
    }

    /// The table and the verdict as HTML.
    pub fn to_html(&self) -> String {
        let mut table = HtmlTable::new(
            &["measure", "kind", "ideal", "before", "after", "change toward better"],
            &[false, false, false, true, true, true],
        );
        for r in &self.rows {
            table.row(vec![
                escape(&r.measure),
                format!("{:?}", r.kind).to_lowercase(),
                escape(&r.ideal),
                Self::cell(r.before, r.before_interval),
                Self::cell(r.after, r.after_interval),
                format!("{:+.1} %", r.improvement),
            ]);
        }
        let caption = format!(
            "{} → {} ({}): {}",
            escape(self.before.label()),
            escape(&self.method.to_string()),
            escape(self.method.description()),
            escape(&self.run.summary())
        );
        format!("{}<p><b>Verdict:</b> {}</p>", table.caption(caption).to_html(), escape(&self.verdict_text))
    }

    /// One CSV row per measure: measure, kind, ideal, before, after, improvement (%).
    pub fn write_csv(&self, out: impl std::io::Write) -> Result<()> {
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record(["measure", "kind", "ideal", "before", "after", "improvement_percent"])
            .map_err(data::csv_error)?;
        for r in &self.rows {
            let kind = format!("{:?}", r.kind).to_lowercase();
            let (before, after, improvement) = (r.before.to_string(), r.after.to_string(), r.improvement.to_string());
            writer
                .write_record([r.measure.as_str(), &kind, &r.ideal, &before, &after, &improvement])
                .map_err(data::csv_error)?;
        }
        writer.flush().map_err(|err| Error::Io { path: "<csv output>".into(), source: err })
    }
}

crate::view::show::view!(MitigationReport, csv, chart);

impl fmt::Display for MitigationReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} → {}: {}", self.before.model, self.method, self.method.description())?;
        writeln!(f, "{}", self.run.summary())?;
        writeln!(
            f,
            "{:<44} {:<10} {:>6} {:>24} {:>24} {:>9}",
            "measure", "kind", "ideal", "before", "after", "change"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<44} {:<10} {:>6} {:>24} {:>24} {:>+8.1}%",
                r.measure,
                format!("{:?}", r.kind).to_lowercase(),
                r.ideal,
                Self::cell(r.before, r.before_interval),
                Self::cell(r.after, r.after_interval),
                r.improvement
            )?;
        }
        write!(f, "Verdict: {}", self.verdict_text)
    }
}

/// Everything `biaslab mitigate` does, for one call from a notebook or the command line.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct MitigateOptions {
    /// The method.
    pub method: Method,
    /// The fine-tuning settings (the method may change the dropout).
    pub finetune: FinetuneOptions,
    /// The measures' settings.
    pub eval: EvalOptions,
    /// Every this-many-th sentence is held out (20: the demo head's held-out split).
    pub held_out_every: usize,
    /// Train on at most this many original sentences (before augmentation; `None`: all), a random sample of them
    /// (`SAMPLE_SEED`).
    pub max_sentences: Option<usize>,
}

impl Default for MitigateOptions {
    fn default() -> Self {
        Self {
            method: Method::Cda,
            finetune: FinetuneOptions::default(),
            eval: EvalOptions::default(),
            held_out_every: 20,
            max_sentences: None,
        }
    }
}

/// The default checkpoint folder of a mitigation of `model` by `method`: `<biaslab cache>/mitigations/<model>-<method>`.
pub fn default_out(model: &str, method: Method) -> PathBuf {
    let name: String = model.chars().map(|c| if c.is_ascii_alphanumeric() || c == '-' { c } else { '_' }).collect();
    crate::data::cache::cache_dir().join("mitigations").join(format!("{name}-{method}"))
}

/// The text and the fine-tuning of [`run_on`] without the measures: the run (finished, or paused with
/// `pause_after`).
pub fn finetune_only(
    model: &str,
    sentences: Option<Vec<String>>,
    options: &MitigateOptions,
    out: &Path,
    data: Option<&Path>,
    progress: &ProgressBar,
    device: &candle_core::Device,
) -> Result<FinetuneRun> {
    let (text, base) = prepare(model, sentences, options, data, device)?;
    finetune(&base, &text, &options.finetune, out, progress)
}

/// The text of a run and the model it starts from.
fn prepare(
    model: &str,
    sentences: Option<Vec<String>>,
    options: &MitigateOptions,
    data: Option<&Path>,
    device: &candle_core::Device,
) -> Result<(MitigationText, BaseModel)> {
    Ok((mitigation_text(sentences, options, data)?, BaseModel::load(model, device)?))
}

/// The seed of the sample [`mitigation_text`] takes for `max_sentences`: one sample for every method, so that a
/// control run (`Method::Plain`) starts from the very sentences CDA did.
pub(crate) const SAMPLE_SEED: u64 = 2021;

/// `keep` of `sentences` drawn at random (seeded), in their original order; all of them when there are no more.
/// BOLD lists its sentences by domain and by person: its first 2,000 are mostly about American actors (a prefix gave
/// 1,285 actor → actress swaps of 2,254), so a prefix would train on one profession's text.
fn sample(sentences: Vec<String>, keep: usize, seed: u64) -> Vec<String> {
    use rand::SeedableRng;
    if sentences.len() <= keep {
        return sentences;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let mut chosen = rand::seq::index::sample(&mut rng, sentences.len(), keep).into_vec();
    chosen.sort_unstable();
    let mut slots: Vec<Option<String>> = sentences.into_iter().map(Some).collect();
    chosen.into_iter().filter_map(|i| slots[i].take()).collect()
}

/// The training and held-out text of a run: `sentences` (BOLD Wikipedia from `data` if `None`), a random sample of
/// them for `options.max_sentences` (`SAMPLE_SEED`), prepared for the method.
pub fn mitigation_text(
    sentences: Option<Vec<String>>,
    options: &MitigateOptions,
    data: Option<&Path>,
) -> Result<MitigationText> {
    let mut sentences = match sentences {
        Some(s) => s,
        None => bold_sentences(data)?,
    };
    if let Some(n) = options.max_sentences {
        // n training sentences and the held-out ones among them: n · every / (every − 1) in all.
        let keep = n.saturating_mul(options.held_out_every) / options.held_out_every.saturating_sub(1).max(1);
        sentences = sample(sentences, keep.max(options.held_out_every), SAMPLE_SEED);
    }
    prepare_text(&sentences, options.method, &WordPairs::gender(), options.held_out_every)
}

/// Mitigates `model` with `sentences` (BOLD Wikipedia if `None`) into `out`, measuring before and after on the
/// benchmarks in `data`: the whole of lab 03 in one call.
pub fn run(
    model: &str,
    sentences: Option<Vec<String>>,
    options: &MitigateOptions,
    out: &Path,
    data: Option<&Path>,
    progress: &ProgressBar,
) -> Result<MitigationReport> {
    let device = candle_core::Device::Cpu;
    run_on(model, sentences, options, out, data, progress, &device)
}

/// [`run`] on `device`.
pub fn run_on(
    model: &str,
    sentences: Option<Vec<String>>,
    options: &MitigateOptions,
    out: &Path,
    data: Option<&Path>,
    progress: &ProgressBar,
    device: &candle_core::Device,
) -> Result<MitigationReport> {
    let (text, base) = prepare(model, sentences, options, data, device)?;
    let run = finetune(&base, &text, &options.finetune, out, progress)?;
    let eval = EvalData::load(data, text.held_out.clone(), &options.eval)?;
    let before_model = base.fill_mask()?.with_source(model);
    let before = measure(&before_model, &eval, &options.eval)?;
    drop(before_model);
    let after_model = run.load(&format!("{model} + {}", options.method), device)?;
    let after = measure(&after_model, &eval, &options.eval)?;
    Ok(MitigationReport::new(options.method, run, text.cda, before, after))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn improvements_point_toward_the_ideal() {
        assert_eq!(toward(0.5, 0.25, 0.0, 0.5), 50.0);
        assert_eq!(toward(60.0, 55.0, 50.0, 50.0), 10.0);
        assert_eq!(toward(60.0, 40.0, 50.0, 50.0), 0.0);
        assert_eq!(toward(50.0, 57.5, 50.0, 50.0), -15.0);
        assert_eq!(toward(0.0, 0.1, 0.0, 0.0), 0.0);
        assert_eq!(relative(20.0, 30.0, true), -50.0);
        assert!((relative(0.5, 0.4, false) + 20.0).abs() < 1e-12);
    }

    #[test]
    fn the_held_out_split_matches_the_tokenized_split_and_cda_adds_swapped_copies() {
        let sentences: Vec<String> = (1..=10).map(|i| format!("he was number {i}.")).collect();
        let text = prepare_text(&sentences, Method::Cda, &WordPairs::gender(), 5).unwrap();
        assert_eq!(text.held_out, ["he was number 5.", "he was number 10."]);
        assert_eq!(text.train.len(), 16);
        assert_eq!(text.train[0], "he was number 1.");
        assert_eq!(text.train[1], "she was number 1.");
        let plain = prepare_text(&sentences, Method::Plain, &WordPairs::gender(), 5).unwrap();
        assert_eq!(plain.train.len(), 8);
        assert!(plain.cda.is_none());
        assert!(prepare_text(&sentences[..3], Method::Plain, &WordPairs::gender(), 5).is_err());
    }

    fn measures(gap: f64, crows: f64, ss: f64, pppl: f64, top1: f64, lms: f64) -> Measures {
        let interval = |x: f64| Interval { low: x - 0.05, high: x + 0.05, level: 0.95 };
        Measures {
            model: "m".into(),
            model_label: "m".into(),
            probe_gap: gap,
            probe_interval: interval(gap),
            probe_p: 0.01,
            names_gap: gap,
            names_interval: interval(gap),
            names_p: 0.01,
            crows_gender: crows,
            crows_interval: interval(crows),
            crows_pairs: 10,
            stereoset_ss: ss,
            stereoset_lms: lms,
            stereoset_icat: lms * ss.min(100.0 - ss) / 50.0,
            stereoset_examples: 10,
            pseudo_perplexity: pppl,
            pppl_sentences: 10,
            masked_top1: top1,
            masked_top5: top1,
            masked_tokens: 10,
            seconds: 0.0,
        }
    }

    fn run() -> FinetuneRun {
        FinetuneRun {
            out: "out".into(),
            state: crate::train::finetune::TrainerState {
                fingerprint: String::new(),
                base: "m".into(),
                step: 2,
                total_steps: 2,
                finished: true,
                losses: vec![Some(3.0), Some(2.0)],
                seconds: 1.0,
                trainable_parameters: 1,
                total_parameters: 2,
                sentences: 4,
                options: FinetuneOptions::default(),
                biaslab_version: String::new(),
            },
            resumed_from: None,
            reused: false,
        }
    }

    #[test]
    fn the_verdict_weighs_bias_against_capability() {
        let before = measures(0.5, 60.0, 60.0, 20.0, 0.5, 90.0);
        let verdict = |after: Measures| MitigationReport::new(Method::Cda, run(), None, before.clone(), after);
        // Bias: (50 + 50 + 10 + 10) / 4 = 30 % (the two probes, CrowS-Pairs, SS); capability: (0 + 0 + 0) / 3.
        let held = verdict(measures(0.25, 55.0, 55.0, 20.0, 0.5, 90.0));
        assert!((held.bias_change - 30.0).abs() < 1e-9, "{}", held.bias_change);
        assert_eq!(held.verdict, Verdict::BiasFell);
        // Capability: PPPL 20 → 30 is −50 %, top-1 0.5 → 0.25 is −50 %, LMS 90 → 45 is −50 %: more than bias fell.
        let worse = verdict(measures(0.25, 55.0, 55.0, 30.0, 0.25, 45.0));
        assert!((worse.capability_change + 50.0).abs() < 1e-9);
        assert_eq!(worse.verdict, Verdict::CapabilityFellMore);
        assert!(worse.verdict_text.contains("capability fell more"), "{}", worse.verdict_text);
        // Capability −10 %, bias +30 %: a trade-off.
        let trade = verdict(measures(0.25, 55.0, 55.0, 22.0, 0.45, 81.0));
        assert_eq!(trade.verdict, Verdict::TradeOff);
        // Bias moved away from the ideals.
        let none = verdict(measures(0.5, 62.0, 60.0, 20.0, 0.5, 90.0));
        assert_eq!(none.verdict, Verdict::BiasDidNotFall);
        assert_eq!(held.rows.len(), 7);
        let mut csv = Vec::new();
        held.write_csv(&mut csv).unwrap();
        assert_eq!(String::from_utf8(csv).unwrap().lines().count(), 8);
        assert!(held.to_html().contains("<table") && held.to_string().contains("Verdict:"));
        assert!(held.chart().unwrap().svg().unwrap().contains("capability: pseudo-perplexity"));
    }

    #[test]
    fn the_charts_whiskers_span_the_change_over_the_interval_after() {
        // CrowS-Pairs 60 → 55 with the interval after [45, 65]: anywhere from 65 (−10 %) to 50 itself (+20 %).
        assert_eq!(toward_range(60.0, Interval { low: 45.0, high: 65.0, level: 0.95 }, 50.0, 50.0), (-10.0, 20.0));
        // The probe gap 0.5 → 0.25 with [0.2, 0.3] after: closed 40 % to 60 % of the gap.
        let (low, high) = toward_range(0.5, Interval { low: 0.2, high: 0.3, level: 0.95 }, 0.0, 0.5);
        assert!((low - 40.0).abs() < 1e-9 && (high - 60.0).abs() < 1e-9, "{low} {high}");
        let before = measures(0.5, 60.0, 60.0, 20.0, 0.5, 90.0);
        let report =
            MitigationReport::new(Method::Cda, run(), None, before, measures(0.25, 55.0, 55.0, 20.0, 0.5, 90.0));
        let ranges: Vec<Option<(f64, f64)>> = report.rows.iter().map(|r| r.improvement_range).collect();
        assert!(ranges[..3].iter().all(Option::is_some) && ranges[3..].iter().all(Option::is_none), "{ranges:?}");
        for row in report.rows.iter().filter_map(|r| r.improvement_range.map(|range| (r.improvement, range))) {
            let (value, (low, high)) = row;
            assert!(low <= value && value <= high, "{row:?}");
        }
        let text = report.chart().unwrap().to_string();
        assert!(text.contains("bias: CrowS-Pairs gender") && text.contains('['), "{text}");
    }

    #[test]
    fn methods_parse_and_name_themselves() {
        for m in [Method::Cda, Method::Dropout, Method::Plain] {
            assert_eq!(m.as_str().parse::<Method>().unwrap(), m);
        }
        assert!("retrain".parse::<Method>().unwrap_err().to_string().contains("cda, dropout or plain"));
    }

    #[test]
    fn max_sentences_is_a_seeded_sample_in_order_the_same_for_every_method() {
        let sentences: Vec<String> = (0..1000).map(|i| format!("Sentence {i} says he left.")).collect();
        let options = MitigateOptions { max_sentences: Some(95), ..MitigateOptions::default() };
        let cda = mitigation_text(Some(sentences.clone()), &options, None).unwrap();
        let plain_options = MitigateOptions { method: Method::Plain, ..options.clone() };
        let plain = mitigation_text(Some(sentences.clone()), &plain_options, None).unwrap();
        assert_eq!(cda.held_out, plain.held_out, "the control holds out the same sentences");
        assert_eq!(plain.train.len() + plain.held_out.len(), 100, "95 to train and every 20th held out");
        let originals: Vec<&String> = cda.train.iter().filter(|s| s.contains(" he ")).collect();
        assert_eq!(originals, plain.train.iter().collect::<Vec<_>>(), "CDA starts from the control's sentences");
        let index = |s: &str| s.split(' ').nth(1).unwrap().parse::<usize>().unwrap();
        let drawn: Vec<usize> = plain.train.iter().map(|s| index(s)).collect();
        assert!(drawn.windows(2).all(|w| w[0] < w[1]), "in the text's order");
        assert!(*drawn.last().unwrap() > 500, "drawn from the whole text, not its first sentences: {drawn:?}");
        let again = mitigation_text(Some(sentences.clone()), &plain_options, None).unwrap();
        assert_eq!(again.train, plain.train, "the same sample every time");
        let all = MitigateOptions { max_sentences: Some(5000), ..plain_options };
        assert_eq!(mitigation_text(Some(sentences), &all, None).unwrap().train.len(), 950, "fewer than asked: all");
    }
}
