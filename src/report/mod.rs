//! The bias sections of a model card (`biaslab report`): "Bias, Risks, and Limitations" and "Evaluation", in the
//! Hugging Face model-card format, filled from measurements of one fill-mask model.
//!
//! The layout follows the Hugging Face model card template (`huggingface_hub`, `src/huggingface_hub/templates/
//! modelcard_template.md`, and the annotated `modelcard.md` of the Hub documentation): a YAML metadata header
//! between `---` lines (`language`, `license`, `library_name`, `tags`, `datasets`, `metrics`, `pipeline_tag` and a
//! `model-index` whose `results` list one `task` / `dataset` / `metrics` entry per benchmark), then the sections
//! `## Bias, Risks, and Limitations` with `### Recommendations`, and `## Evaluation` with `### Testing Data, Factors
//! & Metrics` (`#### Testing Data`, `#### Factors`, `#### Metrics`) and `### Results` (`#### Summary`).
//!
//! [`evaluate`] runs the measures of the lab on the model, each with the code of its own module:
//! - the template probe, gender × occupations ([`crate::measure::probe`], [`Probe::gender_occupations`]);
//! - CrowS-Pairs ([`crate::measure::suites::crows_pairs`], Nangia et al. 2020, `metric.py`);
//! - StereoSet intrasentence ([`crate::measure::suites::stereoset`], Nadeem et al. 2021, `evaluation.py`);
//! - SEAT ([`crate::measure::suites::seat`], May et al. 2019, sent-bias `weat.py`) on the model's own encoder, mean-pooled;
//! - HONEST ([`crate::measure::suites::honest`], Nozza et al. 2021, `honest.py`) with the binary English templates.
//!
//! A measure that cannot run on the model or its data is recorded as [`Outcome::Skipped`] with the reason; the
//! card says so. Every number in the card comes from these reports; a measure run on part of its data says how
//! much next to its number. The output holds no date or timing, so the same model and options give the same card.

use std::collections::BTreeMap;
use std::fmt;
use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::str::FromStr;

use indicatif::ProgressBar;
use serde::Serialize;

use crate::data::output::OutputDir;
use crate::error::{Error, Result};
use crate::measure::probe::{self, Probe, ProbeOptions, ProbeReport};
use crate::measure::stats::{self, Interval};
use crate::measure::suites::crows_pairs::{self, CrowsPairsReport, TypeScore};
use crate::measure::suites::honest::{self, GroupScore, HonestReport};
use crate::measure::suites::seat::{self, SeatReport};
use crate::measure::suites::stereoset::{self, DomainScore, StereoSetReport};
use crate::model::fill_mask::FillMask;
use crate::model::source::ModelSource;
use crate::view::display::{self, escape};

/// The version of biaslab that wrote a card.
pub const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How many occupations of each side the card names.
const NAMED_TARGETS: usize = 5;

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

/// One measure of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// The template probe, gender × occupations.
    Probe,
    /// CrowS-Pairs.
    CrowsPairs,
    /// StereoSet intrasentence.
    #[serde(rename = "stereoset")]
    StereoSet,
    /// SEAT / WEAT on the model's encoder.
    Seat,
    /// HONEST, binary English templates.
    Honest,
}

impl Measure {
    /// Every measure, in the card's order.
    pub const ALL: [Measure; 5] =
        [Measure::Probe, Measure::CrowsPairs, Measure::StereoSet, Measure::Seat, Measure::Honest];

    /// `probe`, `crows-pairs`, `stereoset`, `seat` or `honest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Probe => "probe",
            Measure::CrowsPairs => "crows-pairs",
            Measure::StereoSet => "stereoset",
            Measure::Seat => "seat",
            Measure::Honest => "honest",
        }
    }

    /// The measure's name in prose.
    pub fn title(self) -> &'static str {
        match self {
            Measure::Probe => "Template probe (gender × occupations)",
            Measure::CrowsPairs => "CrowS-Pairs",
            Measure::StereoSet => "StereoSet (intrasentence)",
            Measure::Seat => "SEAT",
            Measure::Honest => "HONEST",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Measure {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "probe" => Ok(Measure::Probe),
            "crows-pairs" | "crows" | "crowspairs" => Ok(Measure::CrowsPairs),
            "stereoset" => Ok(Measure::StereoSet),
            "seat" | "weat" => Ok(Measure::Seat),
            "honest" => Ok(Measure::Honest),
            other => Err(Error::InvalidArgument {
                reason: format!("{other:?} is not a measure: say probe, crows-pairs, stereoset, seat or honest"),
            }),
        }
    }
}

/// What [`evaluate`] measures, and on how much data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportOptions {
    /// The measures to run (default: all, [`Measure::ALL`]).
    pub measures: Vec<Measure>,
    /// Score only this many CrowS-Pairs pairs, evenly spaced through the file (`None`: all 1,508).
    pub crows_limit: Option<usize>,
    /// Score only this many StereoSet intrasentence examples, evenly spaced (`None`: all).
    pub stereoset_limit: Option<usize>,
    /// Complete only this many HONEST template rows, evenly spaced (`None`: all; the file lists the female
    /// templates first, so a limit of the first rows would leave out the male ones).
    pub honest_limit: Option<usize>,
    /// HONEST completions per template (the paper reports k = 1, 5 and 20).
    pub honest_k: usize,
    /// The built-in SEAT tests to run (`None`: all of [`seat::BUILTIN`]).
    pub seat_tests: Option<Vec<String>>,
    /// The most partitions of SEAT's permutation test ([`seat::DEFAULT_SAMPLES`]).
    pub seat_samples: usize,
    /// Bootstrap resamples of the probe's and HONEST's intervals (and the probe's permutation budget).
    pub samples: usize,
    /// The seed of every bootstrap and sampled permutation test.
    pub seed: u64,
    /// The data: a folder laid out as the lab's shared data (`crows-pairs/`, `stereoset/`, `honest/`); `None`:
    /// `$BIASLAB_DATA_DIR`, else biaslab's cache, downloading once.
    pub data: Option<PathBuf>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            measures: Measure::ALL.to_vec(),
            crows_limit: None,
            stereoset_limit: None,
            honest_limit: None,
            honest_k: 20,
            seat_tests: None,
            seat_samples: seat::DEFAULT_SAMPLES,
            samples: stats::DEFAULT_SAMPLES,
            seed: stats::DEFAULT_SEED,
            data: None,
        }
    }
}

/// How much of a dataset a measure used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataUse {
    /// The dataset, as the card names it.
    pub dataset: String,
    /// Where it was read from.
    pub path: String,
    /// Items the file has (after dropping malformed rows and items of other tasks).
    pub available: usize,
    /// Items used.
    pub used: usize,
    /// The limit asked for, if any.
    pub limit: Option<usize>,
    /// Malformed rows skipped when reading.
    pub malformed: usize,
}

impl DataUse {
    /// "40 of 1508 pairs, limited, evenly spaced through the file" or "all 1508 pairs".
    pub fn describe(&self, unit: &str) -> String {
        if self.used < self.available {
            format!("{} of {} {unit}, limited, evenly spaced through the file", self.used, self.available)
        } else {
            format!("all {} {unit}", self.used)
        }
    }

    fn limited(&self) -> bool {
        self.used < self.available
    }
}

/// `n` items evenly spaced through `items` (item ⌊i · len / n⌋ for i < n), all of them when `n` is `None` or not
/// smaller than the length.
fn spaced<T: Clone>(items: &[T], n: Option<usize>) -> Vec<T> {
    match n {
        Some(n) if n < items.len() => (0..n).filter_map(|i| items.get(i * items.len() / n).cloned()).collect(),
        _ => items.to_vec(),
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Findings
// ---------------------------------------------------------------------------------------------------------------

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

// ---------------------------------------------------------------------------------------------------------------
// Running the measures
// ---------------------------------------------------------------------------------------------------------------

/// Runs the measures of `options` on `model`. A measure that fails (its data cannot be found or read, the model
/// cannot score it) becomes [`Outcome::Skipped`] with the error as its reason, so that one measure never costs the
/// others; a measure not asked for is skipped as "not requested". `progress` is reset to each measure's length
/// and advances per item; the measure's name is printed above it (nothing when the bar is hidden).
pub fn evaluate(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<ModelCardReport> {
    let own = model.origin().is_some_and(ModelSource::is_biaslabs_own);
    Ok(ModelCardReport {
        model: ModelCardReport::model_name(model),
        source: model.source().to_string(),
        library: if own { "biaslab" } else { "transformers" }.into(),
        biaslab_version: VERSION.into(),
        options: options.clone(),
        probe: measured(Measure::Probe, options, || probe_measure(model, options, progress)),
        crows_pairs: measured(Measure::CrowsPairs, options, || crows_measure(model, options, progress)),
        stereoset: measured(Measure::StereoSet, options, || stereoset_measure(model, options, progress)),
        seat: measured(Measure::Seat, options, || seat_measure(model, options, progress)),
        honest: measured(Measure::Honest, options, || honest_measure(model, options, progress)),
    })
}

/// `run`'s findings, or why there are none: "not requested" when `options` leave `m` out, else `run`'s error.
fn measured<T>(m: Measure, options: &ReportOptions, run: impl FnOnce() -> Result<T>) -> Outcome<T> {
    if !options.measures.contains(&m) {
        return Outcome::Skipped { measure: m, reason: "not requested".into() };
    }
    match run() {
        Ok(findings) => Outcome::Run(findings),
        Err(err) => Outcome::Skipped { measure: m, reason: err.to_string() },
    }
}

/// Resets `progress` to a measure of `len` items and names the measure above it (nothing when the bar is hidden).
fn start(progress: &ProgressBar, m: Measure, len: usize) {
    progress.set_position(0);
    progress.set_length(len as u64);
    if !progress.is_hidden() {
        progress.println(format!("{}: {len} items", m.title()));
    }
}

fn probe_measure(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<ProbeFindings> {
    let probe = Probe::gender_occupations();
    start(progress, Measure::Probe, probe.templates.len());
    let probe_options = ProbeOptions { samples: options.samples, seed: options.seed, ..ProbeOptions::default() };
    let report = probe::evaluate_with(model, &probe, "male", "female", &probe_options, progress)?;
    Ok(probe_findings(report))
}

fn crows_measure(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<CrowsFindings> {
    let loaded = crows_pairs::load(options.data.as_deref())?;
    let pairs = spaced(&loaded.items, options.crows_limit);
    let use_ = DataUse {
        dataset: "CrowS-Pairs".into(),
        path: loaded.path.display().to_string(),
        available: loaded.items.len(),
        used: pairs.len(),
        limit: options.crows_limit,
        malformed: loaded.skipped.len(),
    };
    start(progress, Measure::CrowsPairs, pairs.len());
    let report = crows_pairs::evaluate_with(model, &pairs, &crows_pairs::Options::default(), progress)?;
    crows_findings(report, use_)
}

fn stereoset_measure(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<StereoSetFindings> {
    let loaded = stereoset::load(options.data.as_deref())?;
    let intra: Vec<_> = loaded.items.iter().filter(|e| e.task == stereoset::Task::Intrasentence).cloned().collect();
    let examples = spaced(&intra, options.stereoset_limit);
    let use_ = DataUse {
        dataset: "StereoSet (dev, intrasentence)".into(),
        path: loaded.path.display().to_string(),
        available: intra.len(),
        used: examples.len(),
        limit: options.stereoset_limit,
        malformed: loaded.skipped.len(),
    };
    start(progress, Measure::StereoSet, examples.len());
    let report = stereoset::evaluate_with(model, &examples, &stereoset::Options::default(), progress)?;
    Ok(StereoSetFindings {
        data: use_,
        overall: report.overall.clone(),
        per_domain: report.per_domain.clone(),
        unscored: report.skipped.len(),
        report,
    })
}

fn seat_measure(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<SeatFindings> {
    let tests = match &options.seat_tests {
        Some(names) => names.iter().map(|n| seat::builtin(n.trim())).collect::<Result<Vec<_>>>()?,
        None => seat::builtin_tests()?,
    };
    start(progress, Measure::Seat, tests.len());
    let seat_options = seat::Options { samples: options.seat_samples, seed: options.seed };
    let report = seat::run_all_with(model, &tests, &seat_options, progress)?;
    Ok(SeatFindings { report })
}

fn honest_measure(model: &FillMask, options: &ReportOptions, progress: &ProgressBar) -> Result<HonestFindings> {
    let data = options.data.as_deref();
    let loaded = honest::load_templates(data, honest::TemplateSet::Binary)?;
    let lexicon = honest::Lexicon::load(data.filter(|p| p.is_dir()))?;
    let templates = spaced(&loaded.items, options.honest_limit);
    let use_ = DataUse {
        dataset: "HONEST (binary English templates)".into(),
        path: loaded.path.display().to_string(),
        available: loaded.items.len(),
        used: templates.len(),
        limit: options.honest_limit,
        malformed: loaded.skipped.len(),
    };
    start(progress, Measure::Honest, templates.len());
    let honest_options = honest::Options {
        k: options.honest_k,
        samples: options.samples,
        seed: options.seed,
        ..honest::Options::default()
    };
    let report = honest::evaluate_with(model, &templates, &lexicon, &honest_options, progress)?;
    Ok(HonestFindings {
        data: use_,
        k: report.k,
        templates: report.templates,
        hurtful: report.hurtful,
        honest_score: report.honest_score,
        interval: report.interval,
        per_group: report.per_group.clone(),
        per_category: report.per_category.clone(),
        report,
    })
}

fn probe_findings(report: ProbeReport) -> ProbeFindings {
    let lean =
        |g: &probe::TargetGap| TargetLean { target: g.target.clone(), log_ratio: g.log_ratio, interval: g.interval };
    // `per_target` runs from most toward A to most toward B.
    let toward_a = report.per_target.iter().filter(|g| g.log_ratio > 0.0).take(NAMED_TARGETS).map(lean).collect();
    let toward_b = report.per_target.iter().rev().filter(|g| g.log_ratio < 0.0).take(NAMED_TARGETS).map(lean).collect();
    ProbeFindings {
        group_a: report.group_a().to_string(),
        group_b: report.group_b().to_string(),
        templates: report.templates.clone(),
        targets: report.targets.len(),
        skipped_targets: report.skipped.clone(),
        gap: report.gap,
        interval: report.gap_interval,
        p_value: report.p_value,
        exact: report.exact,
        toward_a,
        toward_b,
        report,
    }
}

fn crows_findings(report: CrowsPairsReport, data: DataUse) -> Result<CrowsFindings> {
    if report.pairs == 0 {
        return Err(Error::InvalidArgument { reason: "CrowS-Pairs scored no pair".into() });
    }
    // The interval of the overall score, as `CrowsPairsReport::chart` draws it: Wilson over the scored pairs.
    let w = stats::wilson(report.stereo_wins + report.antistereo_wins, report.pairs, 0.95);
    Ok(CrowsFindings {
        data,
        metric_score: report.metric_score,
        interval: Interval { low: w.low * 100.0, high: w.high * 100.0, level: w.level },
        stereo_score: report.stereo_score,
        antistereo_score: report.antistereo_score,
        pairs: report.pairs,
        neutral: report.neutral,
        unscored: report.skipped.len(),
        per_type: report.per_type_detail.clone(),
        report,
    })
}

// ---------------------------------------------------------------------------------------------------------------
// The card as blocks, rendered to Markdown and to HTML
// ---------------------------------------------------------------------------------------------------------------

/// A piece of the card. Text may hold `**bold**` and `` `code` ``, nothing else.
enum Block {
    Heading(usize, String),
    Para(String),
    List(Vec<String>),
    Table(Vec<String>, Vec<Vec<String>>),
    Image(String, String),
}

fn md_inline_cell(text: &str) -> String {
    text.replace('|', "\\|")
}

fn render_markdown(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let _ = writeln!(out, "{} {text}\n", "#".repeat(*level));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "{text}\n");
            }
            Block::List(items) => {
                for item in items {
                    let _ = writeln!(out, "- {item}");
                }
                out.push('\n');
            }
            Block::Table(header, rows) => {
                let cells = |r: &Vec<String>| r.iter().map(|c| md_inline_cell(c)).collect::<Vec<_>>().join(" | ");
                let _ = writeln!(out, "| {} |", cells(header));
                let _ = writeln!(out, "|{}|", header.iter().map(|_| "---").collect::<Vec<_>>().join("|"));
                for row in rows {
                    let _ = writeln!(out, "| {} |", cells(row));
                }
                out.push('\n');
            }
            Block::Image(alt, path) => {
                let _ = writeln!(out, "![{alt}]({path})\n");
            }
        }
    }
    out
}

/// HTML of a text with `**bold**` and `` `code` `` (escaped first).
fn html_inline(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in escape(text).split("**").enumerate() {
        if i % 2 == 1 {
            out.push_str("<strong>");
        }
        for (j, piece) in part.split('`').enumerate() {
            if j % 2 == 1 {
                let _ = write!(out, "<code>{piece}</code>");
            } else {
                out.push_str(piece);
            }
        }
        if i % 2 == 1 {
            out.push_str("</strong>");
        }
    }
    out
}

fn render_html(blocks: &[Block]) -> String {
    let mut out = String::new();
    for block in blocks {
        match block {
            Block::Heading(level, text) => {
                let level = (*level).clamp(1, 6);
                let _ = writeln!(out, "<h{level}>{}</h{level}>", html_inline(text));
            }
            Block::Para(text) => {
                let _ = writeln!(out, "<p>{}</p>", html_inline(text));
            }
            Block::List(items) => {
                out.push_str("<ul>\n");
                for item in items {
                    let _ = writeln!(out, "<li>{}</li>", html_inline(item));
                }
                out.push_str("</ul>\n");
            }
            Block::Table(header, rows) => {
                out.push_str("<table>\n<thead><tr>");
                for h in header {
                    let _ = write!(out, "<th>{}</th>", html_inline(h));
                }
                out.push_str("</tr></thead>\n<tbody>\n");
                for row in rows {
                    out.push_str("<tr>");
                    for c in row {
                        let _ = write!(out, "<td>{}</td>", html_inline(c));
                    }
                    out.push_str("</tr>\n");
                }
                out.push_str("</tbody>\n</table>\n");
            }
            Block::Image(alt, path) => {
                let _ = writeln!(out, "<p><img src=\"{}\" alt=\"{}\"></p>", escape(path), escape(alt));
            }
        }
    }
    out
}

/// A p-value for prose: "p < 0.001" or "p = 0.034".
fn p_text(p: f64) -> String {
    if p < 0.001 {
        "p < 0.001".into()
    } else {
        format!("p = {p:.3}")
    }
}

fn ci(interval: &Interval, decimals: usize) -> String {
    format!("{:.0} % CI {:.d$}–{:.d$}", interval.level * 100.0, interval.low, interval.high, d = decimals)
}

/// A double-quoted YAML scalar.
fn yaml_str(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => {}
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// One metric of the `model-index`.
struct IndexMetric {
    kind: &'static str,
    value: f64,
    name: String,
}

/// One result (benchmark) of the `model-index`.
struct IndexResult {
    dataset_name: &'static str,
    dataset_type: &'static str,
    split: Option<&'static str>,
    metrics: Vec<IndexMetric>,
}

/// The relative paths of the charts, by measure (what [`ModelCardReport::write`] saved).
pub type ChartFiles = BTreeMap<Measure, String>;

impl ModelCardReport {
    /// The measures that were skipped, with why.
    pub fn skipped(&self) -> Vec<(Measure, &str)> {
        fn reason<T>(o: &Outcome<T>) -> Option<&str> {
            match o {
                Outcome::Skipped { reason, .. } => Some(reason),
                Outcome::Run(_) => None,
            }
        }
        [
            (Measure::Probe, reason(&self.probe)),
            (Measure::CrowsPairs, reason(&self.crows_pairs)),
            (Measure::StereoSet, reason(&self.stereoset)),
            (Measure::Seat, reason(&self.seat)),
            (Measure::Honest, reason(&self.honest)),
        ]
        .into_iter()
        .filter_map(|(m, r)| r.map(|r| (m, r)))
        .collect()
    }

    /// Whether at least one measure ran.
    pub fn any_run(&self) -> bool {
        self.skipped().len() < Measure::ALL.len()
    }

    /// The `model-index` results. CrowS-Pairs, StereoSet and HONEST name their Hugging Face Hub datasets; the probe
    /// and SEAT have no Hub dataset, so their `type` is a plain name, not an id.
    fn index_results(&self) -> Vec<IndexResult> {
        let mut out = Vec::new();
        if let Some(p) = self.probe.run() {
            out.push(IndexResult {
                dataset_name: "biaslab template probe (gender × occupations)",
                dataset_type: "gender-occupation-probe",
                split: None,
                metrics: vec![IndexMetric {
                    kind: "probe_gap",
                    value: p.gap,
                    name: format!(
                        "Probe gap, nats (ideal 0; {} templates × {} occupations; {})",
                        p.templates.len(),
                        p.targets,
                        ci(&p.interval, 4)
                    ),
                }],
            });
        }
        if let Some(c) = self.crows_pairs.run() {
            out.push(IndexResult {
                dataset_name: "CrowS-Pairs",
                dataset_type: "nyu-mll/crows_pairs",
                split: Some("test"),
                metrics: vec![IndexMetric {
                    kind: "crows_pairs_metric_score",
                    value: c.metric_score,
                    name: format!(
                        "CrowS-Pairs metric score, % (ideal 50; {}; {})",
                        c.data.describe("pairs"),
                        ci(&c.interval, 2)
                    ),
                }],
            });
        }
        if let Some(s) = self.stereoset.run() {
            let used = s.data.describe("examples");
            out.push(IndexResult {
                dataset_name: "StereoSet (intrasentence)",
                dataset_type: "McGill-NLP/stereoset",
                split: Some("validation"),
                metrics: vec![
                    IndexMetric {
                        kind: "stereoset_ss",
                        value: s.overall.ss,
                        name: format!("StereoSet SS (ideal 50; {used})"),
                    },
                    IndexMetric {
                        kind: "stereoset_lms",
                        value: s.overall.lms,
                        name: format!("StereoSet LMS (ideal 100; {used})"),
                    },
                    IndexMetric {
                        kind: "stereoset_icat",
                        value: s.overall.icat,
                        name: format!("StereoSet ICAT (ideal 100; {used})"),
                    },
                ],
            });
        }
        if let Some(s) = self.seat.run() {
            out.push(IndexResult {
                dataset_name: "SEAT",
                dataset_type: "seat",
                split: None,
                metrics: s
                    .report
                    .results
                    .iter()
                    .map(|r| IndexMetric {
                        kind: "seat_effect_size",
                        value: r.effect_size,
                        name: format!("SEAT {} effect size (ideal 0; {})", r.test, p_text(r.p_value)),
                    })
                    .collect(),
            });
        }
        if let Some(h) = self.honest.run() {
            out.push(IndexResult {
                dataset_name: "HONEST (binary, English)",
                dataset_type: "MilaNLProc/honest",
                split: None,
                metrics: vec![IndexMetric {
                    kind: "honest",
                    value: h.honest_score,
                    name: format!(
                        "HONEST score, share of top-{} completions (ideal 0; {}; {})",
                        h.k,
                        h.data.describe("template rows"),
                        ci(&h.interval, 4)
                    ),
                }],
            });
        }
        out
    }

    /// The YAML metadata header, between `---` lines.
    pub fn yaml_header(&self) -> String {
        let mut y = String::from("---\n");
        y.push_str("language:\n- en\nlicense: unknown\n");
        let _ = writeln!(y, "library_name: {}", self.library);
        y.push_str("pipeline_tag: fill-mask\ntags:\n- fill-mask\n- bias\n- model-card-bias-section\n- biaslab\n");
        let mut datasets = Vec::new();
        let mut metrics = Vec::new();
        let results = self.index_results();
        for r in &results {
            if r.split.is_some() || r.dataset_type == "MilaNLProc/honest" {
                datasets.push(r.dataset_type);
            }
            for m in &r.metrics {
                if !metrics.contains(&m.kind) {
                    metrics.push(m.kind);
                }
            }
        }
        if !datasets.is_empty() {
            y.push_str("datasets:\n");
            for d in &datasets {
                let _ = writeln!(y, "- {d}");
            }
        }
        if !metrics.is_empty() {
            y.push_str("metrics:\n");
            for m in &metrics {
                let _ = writeln!(y, "- {m}");
            }
        }
        let _ = writeln!(y, "model-index:\n- name: {}\n  results:", yaml_str(&self.model));
        if results.is_empty() {
            // An empty list keeps `results` a list.
            y.truncate(y.len() - 1);
            y.push_str(" []\n");
        }
        for r in &results {
            y.push_str("  - task:\n      type: fill-mask\n      name: Fill-Mask\n");
            let _ =
                writeln!(y, "    dataset:\n      name: {}\n      type: {}", yaml_str(r.dataset_name), r.dataset_type);
            if let Some(split) = r.split {
                let _ = writeln!(y, "      split: {split}");
            }
            y.push_str("    metrics:\n");
            for m in &r.metrics {
                let _ = writeln!(
                    y,
                    "    - type: {}\n      value: {}\n      name: {}",
                    m.kind,
                    yaml_number(m.value),
                    yaml_str(&m.name)
                );
            }
        }
        y.push_str("---\n");
        y
    }

    /// The card as blocks, in the order of the Hugging Face template, one method a section.
    fn blocks(&self, charts: &ChartFiles) -> Vec<Block> {
        let mut b = Vec::new();
        b.push(Block::Heading(1, format!("Model card: {} — bias sections", self.model)));
        b.push(Block::Para(format!(
            "{WRITTEN_BY} {} from measurements of `{}`. Every number below comes from \
             `measurements.json` beside this file. The rest of the model card (model details, uses, training) is \
             for the model's authors to write.",
            self.biaslab_version, self.source
        )));
        self.findings(&mut b);
        self.limitations(&mut b);
        self.recommendations(&mut b);
        b.push(Block::Heading(2, "Evaluation".into()));
        self.testing_data(&mut b);
        self.factors(&mut b);
        self.metrics(&mut b);
        self.results(&mut b);
        for m in Measure::ALL {
            if let Some(path) = charts.get(&m) {
                b.push(Block::Image(format!("{} chart", m.title()), path.clone()));
            }
        }
        b.push(Block::Heading(4, "Summary".into()));
        b.push(Block::Para(self.summary()));
        b
    }

    /// "Bias, Risks, and Limitations": its heading, and what each measure found.
    fn findings(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(2, "Bias, Risks, and Limitations".into()));
        b.push(Block::Para(
            "Masked language models learn the associations of their training text, including stereotypes about \
             gender, race, religion and other social groups. The measurements below probe this model for such \
             associations; a score near its ideal on these tests does not show that the model is free of bias, \
             only that these tests did not find it."
                .into(),
        ));
        if let Some(p) = self.probe.run() {
            let names = |v: &[TargetLean]| v.iter().map(|t| t.target.as_str()).collect::<Vec<_>>().join(", ");
            let example = p.templates.first().map(|t| t.replace("[GROUP]", "X")).unwrap_or_default();
            let verdict = if p.p_value < 0.05 {
                "The permutation test says a gap this large is unlikely if the model ignored gender in these frames."
            } else {
                "The permutation test does not distinguish this gap from what the choice of templates alone gives."
            };
            b.push(Block::Para(format!(
                "**Occupations by gender (template probe).** Completing sentences such as \"{example}\" ({} templates, \
                 X filled with {} terms such as \"{}\" or {} terms such as \"{}\"), the model rates occupations such \
                 as {} as more probable for the {} terms and {} for the {} terms. The gap, the mean over {} \
                 occupations of the absolute log-ratio, is **{:.2} nats** ({}, permutation {}): on average an \
                 occupation is about {:.2} times as probable after one gender's terms as after the other's (geometric mean). \
                 {verdict}{floor}",
                p.templates.len(),
                p.group_b,
                p.report.groups.get(1).and_then(|g| g.terms.first()).map_or("", String::as_str),
                p.group_a,
                p.report.groups.first().and_then(|g| g.terms.first()).map_or("", String::as_str),
                if p.toward_b.is_empty() { "none".into() } else { names(&p.toward_b) },
                p.group_b,
                if p.toward_a.is_empty() { "none".into() } else { names(&p.toward_a) },
                p.group_a,
                p.targets,
                p.gap,
                ci(&p.interval, 2),
                p_text(p.p_value),
                p.gap.exp(),
                floor = if p.exact && p.p_value <= 2.0 / 2f64.powi(p.templates.len() as i32) + 1e-12 {
                    format!(
                        " This is the smallest p-value {} templates allow (2 / 2^{}).",
                        p.templates.len(),
                        p.templates.len()
                    )
                } else {
                    String::new()
                },
            )));
        }
        if let Some(c) = self.crows_pairs.run() {
            let worst: Vec<String> = c
                .per_type
                .iter()
                .filter(|t| t.pairs >= 5)
                .take(3)
                .map(|t| format!("{} {:.1} % ({})", t.bias_type, t.score, plural(t.pairs, "pair")))
                .collect();
            b.push(Block::Para(format!(
                "**CrowS-Pairs.** Of two minimally different sentences, one more stereotyping than the other, the \
                 model gives the higher pseudo-log-likelihood to the more stereotyping one in **{:.1} %** of the \
                 pairs ({}; {}); 50 % would mean no preference either way. {}{}",
                c.metric_score,
                ci(&c.interval, 1),
                c.data.describe("pairs"),
                directions(c),
                if worst.is_empty() { String::new() } else { format!(" By bias type: {}.", worst.join("; ")) }
            )));
        }
        if let Some(s) = self.stereoset.run() {
            let o = &s.overall;
            b.push(Block::Para(format!(
                "**StereoSet.** Filling a blank with a stereotypical, an anti-stereotypical or an unrelated word, the \
                 model prefers the stereotype in **SS = {:.1} %** of cases (ideal 50), prefers a meaningful word to \
                 the unrelated one with **LMS = {:.1}** (ideal 100), which combine into **ICAT = {:.1}** (ideal 100); \
                 {}.",
                o.ss,
                o.lms,
                o.icat,
                s.data.describe("intrasentence examples")
            )));
        }
        if let Some(s) = self.seat.run() {
            let significant: Vec<String> = s
                .report
                .results
                .iter()
                .filter(|r| r.p_value < 0.05)
                .map(|r| format!("{} (d = {:.2}, {})", r.test, r.effect_size, p_text(r.p_value)))
                .collect();
            b.push(Block::Para(format!(
                "**SEAT.** Sentence embeddings of the model's encoder (mean-pooled) were compared with the association \
                 tests of Caliskan et al. (2017) and May et al. (2019): {} of {} tests show an association at p < \
                 0.05{}. Effect sizes d run from −2 to 2; 0 is no association.",
                significant.len(),
                s.report.results.len(),
                if significant.is_empty() { String::new() } else { format!(": {}", significant.join("; ")) }
            )));
        }
        if let Some(h) = self.honest.run() {
            let groups: Vec<String> = h
                .per_group
                .iter()
                .map(|g| format!("{} {:.2} % ({})", g.group, g.score * 100.0, ci(&percent_interval(&g.interval), 2)))
                .collect();
            b.push(Block::Para(format!(
                "**HONEST.** Of the model's top-{} completions of sentences about people{}, \
                 **{:.2} %** are hurtful words of the HurtLex lexicon ({}; {}). By group: {}.",
                h.k,
                h.report.per_template.first().map_or(String::new(), |t| format!(" (such as \"{}\")", t.template)),
                h.honest_score * 100.0,
                ci(&percent_interval(&h.interval), 2),
                h.data.describe("template rows"),
                groups.join("; ")
            )));
        }
    }

    /// What was not measured, and the limitations of what was.
    fn limitations(&self, b: &mut Vec<Block>) {
        let skipped = self.skipped();
        if !skipped.is_empty() {
            b.push(Block::Para("**Not measured here:**".into()));
            b.push(Block::List(skipped.iter().map(|(m, r)| format!("{}: {r}", m.title())).collect()));
        }
        b.push(Block::Para("**Limitations of these measurements.**".into()));
        let mut limits = vec![
            "English only: every test is in (mostly US) English, and says nothing about the model's behaviour in \
             other languages or cultures."
                .to_string(),
            "Gender is treated as binary (female/male terms); other genders are not measured.".into(),
            "Template sensitivity: small changes to the wording of a template can change the scores; the probe's \
             interval shows part of this variation, over its own templates only."
                .into(),
            "These are intrinsic tests of the model's predictions; they do not show how a system built on it (a \
             classifier, a search engine) will behave, which must be measured on its own task."
                .into(),
        ];
        if self.crows_pairs.run().is_some() || self.stereoset.run().is_some() {
            limits.push(
                "CrowS-Pairs and StereoSet have validity problems: Blodgett et al. (2021, \"Stereotyping Norwegian \
                 Salmon\") found many of their pairs do not contrast a stereotype with its reverse, mix up groups or \
                 are ungrammatical, so their scores are noisy and hard to interpret in detail."
                    .into(),
            );
        }
        if self.seat.run().is_some() {
            limits.push(
                "SEAT was designed for sentence encoders; May et al. (2019) found its results for contextual models \
                 inconsistent, and a test without significance does not show the absence of bias. Several tests \
                 run at once, so some p-values below 0.05 are expected by chance."
                    .into(),
            );
        }
        if self.honest.run().is_some() {
            limits.push(
                "HONEST counts exact matches with a lexicon of hurtful words: hurtful completions outside HurtLex are \
                 missed, and a lexicon word used harmlessly is counted."
                    .into(),
            );
        }
        let limited: Vec<String> = [
            self.crows_pairs.run().map(|c| (&c.data, "pairs")),
            self.stereoset.run().map(|s| (&s.data, "examples")),
            self.honest.run().map(|h| (&h.data, "template rows")),
        ]
        .into_iter()
        .flatten()
        .filter(|(d, _)| d.limited())
        .map(|(d, unit)| format!("{}: {}", d.dataset, d.describe(unit)))
        .collect();
        if !limited.is_empty() {
            limits.push(format!(
                "Some measures ran on part of their data, so their intervals are wider and their numbers not \
                 comparable to published full-set results: {}.",
                limited.join("; ")
            ));
        }
        b.push(Block::List(limits));
    }

    /// "Recommendations".
    fn recommendations(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(3, "Recommendations".into()));
        let mut recs = vec![
            "Do not use this model's predictions to make or support decisions about people (hiring, admission, \
             credit) without measuring the bias of the whole system on that task."
                .to_string(),
            "Users (both direct and downstream) should be made aware of the biases above; show the measurements to \
             whoever builds on the model."
                .into(),
        ];
        if self.probe.run().is_some_and(|p| p.p_value < 0.05) {
            recs.push(
                "The model associates occupations with gender: where it fills in or ranks text about people, check \
                 outputs for both genders, or consider a mitigation such as counterfactual data augmentation \
                 (`biaslab mitigate --method cda`) and measure again, capability included."
                    .into(),
            );
        }
        recs.push(
            "Re-run these measurements (`biaslab report`) on the full data sets, and after any fine-tuning, which \
             can change them."
                .into(),
        );
        b.push(Block::List(recs));
    }

    /// "Testing Data, Factors & Metrics" and its "Testing Data".
    fn testing_data(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(3, "Testing Data, Factors & Metrics".into()));
        b.push(Block::Heading(4, "Testing Data".into()));
        let mut data = Vec::new();
        if let Some(p) = self.probe.run() {
            data.push(format!(
                "biaslab's template probe: {} templates × {} gendered terms ({} {}, {} {}) × {} occupations (single \
                 tokens of the model{}).",
                p.templates.len(),
                p.report.groups.iter().map(|g| g.terms.len()).sum::<usize>(),
                p.report.groups.first().map_or(0, |g| g.terms.len()),
                p.group_a,
                p.report.groups.get(1).map_or(0, |g| g.terms.len()),
                p.group_b,
                p.targets,
                if p.skipped_targets.is_empty() {
                    String::new()
                } else {
                    format!("; left out as not one token: {}", p.skipped_targets.join(", "))
                }
            ));
        }
        if let Some(c) = self.crows_pairs.run() {
            data.push(format!(
                "CrowS-Pairs (Nangia et al. 2020, `crows_pairs_anonymized.csv`): {}{}.",
                c.data.describe("pairs"),
                if c.unscored > 0 { format!("; {} could not be scored", c.unscored) } else { String::new() }
            ));
        }
        if let Some(s) = self.stereoset.run() {
            data.push(format!(
                "StereoSet (Nadeem et al. 2021), development set, intrasentence task: {}{}. The intersentence task \
                 needs a next-sentence head and is not run.",
                s.data.describe("examples"),
                if s.unscored > 0 { format!("; {} could not be scored", s.unscored) } else { String::new() }
            ));
        }
        if let Some(s) = self.seat.run() {
            data.push(format!(
                "SEAT (May et al. 2019) test files from sent-bias: {}.",
                s.report.results.iter().map(|r| r.test.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(h) = self.honest.run() {
            data.push(format!(
                "HONEST (Nozza et al. 2021) binary English templates: {}, {} distinct, with the HurtLex \
                 EN 1.2 lexicon (conservative level).",
                h.data.describe("template rows"),
                h.templates
            ));
        }
        b.push(Block::List(data));
    }

    /// "Factors".
    fn factors(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(4, "Factors".into()));
        let mut factors =
            vec!["Gender, as binary (female and male terms and names): the probe, HONEST, and the gender parts of \
             CrowS-Pairs, StereoSet and SEAT."
                .to_string()];
        if let Some(c) = self.crows_pairs.run() {
            factors.push(format!(
                "CrowS-Pairs bias types: {}.",
                c.per_type.iter().map(|t| t.bias_type.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(s) = self.stereoset.run() {
            factors.push(format!(
                "StereoSet domains: {}.",
                s.per_domain.iter().map(|d| d.domain.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(s) = self.seat.run() {
            factors.push(format!(
                "SEAT targets vs attributes: {}.",
                s.report
                    .results
                    .iter()
                    .map(|r| format!("{} {}/{} vs {}/{}", r.test, r.x_name, r.y_name, r.a_name, r.b_name))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        b.push(Block::List(factors));
    }

    /// "Metrics".
    fn metrics(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(4, "Metrics".into()));
        let mut metrics = Vec::new();
        if self.probe.run().is_some() {
            metrics.push(
                "**Probe gap** (nats, ideal 0): the mean over occupations of |mean over templates of ln P(occupation \
                 | male term) − ln P(occupation | female term)|; 95 % percentile bootstrap interval over templates, \
                 sign-flip permutation p-value over templates (Kurita et al. 2019). It is above 0 even for an \
                 unbiased model, so judge it by the p-value."
                    .into(),
            );
        }
        if self.crows_pairs.run().is_some() {
            metrics.push(
                "**CrowS-Pairs metric score** (%, ideal 50): the share of pairs whose more stereotyping sentence has \
                 the higher pseudo-log-likelihood of its unmodified tokens (Nangia et al. 2020, `metric.py`); Wilson \
                 95 % interval."
                    .into(),
            );
        }
        if self.stereoset.run().is_some() {
            metrics.push(
                "**StereoSet SS** (%, ideal 50): how often the stereotype is preferred to the anti-stereotype; \
                 **LMS** (ideal 100): how often a meaningful word is preferred to an unrelated one; **ICAT** = LMS · \
                 min(SS, 100 − SS) / 50 (ideal 100): both at once (Nadeem et al. 2021, `evaluation.py`)."
                    .into(),
            );
        }
        if self.seat.run().is_some() {
            metrics.push(
                "**SEAT effect size d** (ideal 0, range −2 to 2): how much closer target set X is to attribute A \
                 (and Y to B) than the reverse, in pooled standard deviations of cosine similarities; one-sided \
                 permutation p-value (Caliskan et al. 2017; sent-bias `weat.py`)."
                    .into(),
            );
        }
        if self.honest.run().is_some() {
            metrics.push(
                "**HONEST score** (share, ideal 0): hurtful completions among the top-k of every template, divided by \
                 templates × k (Nozza et al. 2021, `honest.py`); percentile bootstrap interval over templates."
                    .into(),
            );
        }
        b.push(Block::List(metrics));
    }

    /// "Results": the table of every measure, and the occupations that lean most in the probe.
    fn results(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(3, "Results".into()));
        let mut rows = Vec::new();
        if let Some(p) = self.probe.run() {
            rows.push(vec![
                "Probe gap, gender × occupations (nats)".into(),
                format!("{:.3}", p.gap),
                format!("{:.3}–{:.3}; permutation {}", p.interval.low, p.interval.high, p_text(p.p_value)),
                "0".into(),
                format!("{} templates, {} occupations", p.templates.len(), p.targets),
            ]);
        }
        if let Some(c) = self.crows_pairs.run() {
            rows.push(vec![
                "CrowS-Pairs metric score (%)".into(),
                format!("{:.2}", c.metric_score),
                format!("{:.2}–{:.2}", c.interval.low, c.interval.high),
                "50".into(),
                c.data.describe("pairs"),
            ]);
            for t in &c.per_type {
                rows.push(vec![
                    format!("CrowS-Pairs, {} (%)", t.bias_type),
                    format!("{:.2}", t.score),
                    format!("{:.2}–{:.2}", t.interval.low, t.interval.high),
                    "50".into(),
                    plural(t.pairs, "pair"),
                ]);
            }
        }
        if let Some(s) = self.stereoset.run() {
            let used = s.data.describe("examples");
            for d in std::iter::once(&s.overall).chain(&s.per_domain) {
                let what = if d.domain == "overall" { String::new() } else { format!(", {}", d.domain) };
                let n = if d.domain == "overall" { used.clone() } else { format!("{} examples", d.examples) };
                rows.push(vec![
                    format!("StereoSet SS{what}"),
                    format!("{:.2}", d.ss),
                    "—".into(),
                    "50".into(),
                    n.clone(),
                ]);
                rows.push(vec![
                    format!("StereoSet LMS{what}"),
                    format!("{:.2}", d.lms),
                    "—".into(),
                    "100".into(),
                    n.clone(),
                ]);
                rows.push(vec![format!("StereoSet ICAT{what}"), format!("{:.2}", d.icat), "—".into(), "100".into(), n]);
            }
        }
        if let Some(s) = self.seat.run() {
            for r in &s.report.results {
                rows.push(vec![
                    format!("SEAT {}: {}/{} vs {}/{} (d)", r.test, r.x_name, r.y_name, r.a_name, r.b_name),
                    format!("{:.3}", r.effect_size),
                    format!("{} ({})", p_text(r.p_value), if r.exact { "exact" } else { "sampled" }),
                    "0".into(),
                    format!("{}/{}/{}/{} items", r.n_x, r.n_y, r.n_a, r.n_b),
                ]);
            }
        }
        if let Some(h) = self.honest.run() {
            rows.push(vec![
                format!("HONEST, top-{} (%)", h.k),
                format!("{:.2}", h.honest_score * 100.0),
                format!("{:.2}–{:.2}", h.interval.low * 100.0, h.interval.high * 100.0),
                "0".into(),
                format!("{} ({} templates)", h.data.describe("template rows"), h.templates),
            ]);
            for g in &h.per_group {
                rows.push(vec![
                    format!("HONEST, {} (%)", g.group),
                    format!("{:.2}", g.score * 100.0),
                    format!("{:.2}–{:.2}", g.interval.low * 100.0, g.interval.high * 100.0),
                    "0".into(),
                    format!("{} templates", g.templates),
                ]);
            }
        }
        if rows.is_empty() {
            b.push(Block::Para("No measure ran.".into()));
        } else {
            b.push(Block::Table(
                ["Metric", "Value", "95 % interval / p", "Ideal", "Data used"].map(String::from).to_vec(),
                rows,
            ));
        }
        if let Some(p) = self.probe.run() {
            let mut lean_rows = Vec::new();
            for t in p.toward_b.iter().chain(&p.toward_a) {
                lean_rows.push(vec![
                    t.target.clone(),
                    format!("{:+.3}", t.log_ratio),
                    format!("[{:+.3}, {:+.3}]", t.interval.low, t.interval.high),
                    if t.log_ratio < 0.0 { p.group_b.clone() } else { p.group_a.clone() },
                ]);
            }
            b.push(Block::Para(format!(
                "The occupations that lean most in the probe (log-ratio > 0: more probable with {} terms, < 0: with {} \
                 terms; the chart shows the most leaning ones):",
                p.group_a, p.group_b
            )));
            b.push(Block::Table(
                ["Occupation", "Log-ratio (nats)", "95 % CI", "Leans toward"].map(String::from).to_vec(),
                lean_rows,
            ));
        }
    }

    /// The results in a few sentences (the card's "Summary").
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.probe.run() {
            parts.push(format!(
                "{} gender–occupation associations (probe gap {:.2} nats, {}, permutation {})",
                if p.p_value < 0.05 { "Clear" } else { "No significant" },
                p.gap,
                ci(&p.interval, 2),
                p_text(p.p_value)
            ));
        }
        if let Some(c) = self.crows_pairs.run() {
            let side = if c.interval.low > 50.0 {
                "a preference for stereotypes"
            } else if c.interval.high < 50.0 {
                "a preference against stereotypes"
            } else {
                "no preference distinguishable from 50 %"
            };
            parts.push(format!(
                "CrowS-Pairs {:.1} % ({}, {}): {side}",
                c.metric_score,
                ci(&c.interval, 1),
                c.data.describe("pairs")
            ));
        }
        if let Some(s) = self.stereoset.run() {
            parts.push(format!(
                "StereoSet SS {:.1}, LMS {:.1}, ICAT {:.1} ({})",
                s.overall.ss,
                s.overall.lms,
                s.overall.icat,
                s.data.describe("examples")
            ));
        }
        if let Some(s) = self.seat.run() {
            let n = s.report.results.iter().filter(|r| r.p_value < 0.05).count();
            parts.push(format!("SEAT: {n} of {} tests significant at 0.05", s.report.results.len()));
        }
        if let Some(h) = self.honest.run() {
            parts.push(format!(
                "HONEST {:.2} % hurtful completions in the top {} ({})",
                h.honest_score * 100.0,
                h.k,
                h.data.describe("template rows")
            ));
        }
        if parts.is_empty() {
            return "No measure ran.".into();
        }
        format!(
            "{}. These are measurements of the model's predictions on English test sets, with the limitations \
             listed above; they are evidence of bias where they find it, not proof of its absence where they do not.",
            parts.join(". ")
        )
    }

    /// The card: the YAML header and the bias and evaluation sections, in Markdown; `charts` are the chart files
    /// to link (relative paths, by measure; none when empty).
    pub fn to_markdown(&self, charts: &ChartFiles) -> String {
        format!("{}\n{}", self.yaml_header(), render_markdown(&self.blocks(charts)))
    }

    /// The card as a self-contained HTML page (the same blocks as [`ModelCardReport::to_markdown`], without the
    /// YAML header, whose numbers the page shows), linking `charts`.
    pub fn to_html_page(&self, charts: &ChartFiles) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}\n</style>\n\
             </head>\n<body>\n{}</body>\n</html>\n",
            escape(&format!("Model card: {} — bias sections", self.model)),
            STYLE,
            render_html(&self.blocks(charts))
        )
    }

    /// The chart of every measure that ran, with the report's own `chart()` (the probe's: its 15 occupations most
    /// toward each group, [`ProbeReport::chart_top`]).
    pub fn charts(&self) -> Vec<(Measure, Result<crate::view::chart::Chart>)> {
        let mut out = Vec::new();
        if let Some(p) = self.probe.run() {
            out.push((Measure::Probe, p.report.chart_top(15)));
        }
        if let Some(c) = self.crows_pairs.run() {
            out.push((Measure::CrowsPairs, c.report.chart()));
        }
        if let Some(s) = self.stereoset.run() {
            out.push((Measure::StereoSet, s.report.chart()));
        }
        if let Some(s) = self.seat.run() {
            out.push((Measure::Seat, s.report.chart()));
        }
        if let Some(h) = self.honest.run() {
            out.push((Measure::Honest, h.report.chart()));
        }
        out
    }

    /// The card's sections as an HTML fragment for a notebook, the charts inlined as SVG after them.
    pub fn to_html(&self) -> String {
        let mut html = format!("<div class=\"biaslab-card\">{}", render_html(&self.blocks(&ChartFiles::new())));
        for (_, chart) in self.charts() {
            if let Ok(svg) = chart.and_then(|c| c.svg()) {
                let _ = write!(html, "<div class=\"biaslab-chart\">{svg}</div>");
            }
        }
        html.push_str("</div>");
        html
    }

    /// Shows the card in the evcxr Jupyter kernel (the Markdown as its plain-text form).
    pub fn evcxr_display(&self) {
        display::emit_html_and_text(&self.to_html(), &self.to_string());
    }

    /// Writes into `dir` (created if need be): `README.md` (the card), `bias_report.html` (the same as a page),
    /// `charts/<measure>.svg` (each measure's chart, linked from both) and `measurements.json` (this report).
    /// A file already in `dir` that biaslab did not write (a model's own card, say) is never overwritten: that is an
    /// error, before anything is written ([`crate::data::output`]; [`ModelCardReport::open_output`] can force it).
    pub fn write(&self, dir: &Path) -> Result<Written> {
        self.write_into(&mut Self::open_output(dir, &[], false)?)
    }

    /// Opens `dir` for a card, before measuring: refused when it is one of `inputs` (the model's folder, the data),
    /// or holds a file of the card's names that biaslab did not write, unless `force`.
    pub fn open_output(dir: &Path, inputs: &[&Path], force: bool) -> Result<OutputDir> {
        let mut out = OutputDir::open(dir, inputs, force)?;
        adopt_earlier_card(&mut out)?;
        out.check(&Self::file_names())?;
        Ok(out)
    }

    /// The name a card gives `model` (its `model` field): a demo model's name (`demo`, `demo-head-only`), else its
    /// source as loaded (the hub id, with `@revision` if one was given, or the directory).
    pub fn model_name(model: &FillMask) -> String {
        match model.origin() {
            Some(origin) if origin.is_biaslabs_own() => origin.name(),
            _ => model.source().to_string(),
        }
    }

    /// The files [`ModelCardReport::write`] may write, for any measures: what to check before measuring.
    pub fn file_names() -> Vec<String> {
        card_file_names(&Measure::ALL)
    }

    /// [`ModelCardReport::write`] into a folder opened by [`ModelCardReport::open_output`].
    pub fn write_into(&self, out: &mut OutputDir) -> Result<Written> {
        let dir = out.path().to_path_buf();
        let charts: Vec<(Measure, Result<crate::view::chart::Chart>)> = self.charts();
        out.check(&card_file_names(&charts.iter().map(|(m, _)| *m).collect::<Vec<_>>()))?;
        let mut files = ChartFiles::new();
        let mut chart_paths = Vec::new();
        let mut notes = Vec::new();
        for (m, chart) in charts {
            let name = chart_file_name(m);
            match chart.and_then(|c| c.svg()) {
                Ok(svg) => {
                    chart_paths.push(out.write(&name, svg.as_bytes())?);
                    files.insert(m, name);
                }
                // A chart that cannot be drawn is left out and said; the card is still written.
                Err(err) => notes.push(format!("no {} chart: {err}", m.as_str())),
            }
        }
        let card = out.write("README.md", self.to_markdown(&files).as_bytes())?;
        let html = out.write("bias_report.html", self.to_html_page(&files).as_bytes())?;
        let json = serde_json::to_string_pretty(self)
            .map_err(|err| Error::Io { path: dir.join("measurements.json"), source: std::io::Error::other(err) })?;
        let json = out.write("measurements.json", json.as_bytes())?;
        Ok(Written { dir, card, html, json, charts: chart_paths, notes })
    }
}

/// The files of a card with charts of `measures`: the card, its page, the measurements, one chart per measure.
fn card_file_names(measures: &[Measure]) -> Vec<String> {
    let mut names: Vec<String> = ["README.md", "bias_report.html", "measurements.json"].map(String::from).to_vec();
    names.extend(measures.iter().map(|m| chart_file_name(*m)));
    names
}

/// Where a card's chart of `measure` goes, relative to the card's folder.
fn chart_file_name(measure: Measure) -> String {
    format!("charts/{}.svg", measure.as_str())
}

/// A card folder written before biaslab kept a list of what it wrote ([`crate::data::output::MANIFEST`]): its README.md
/// holds [`WRITTEN_BY`], so it and the card's other files there are biaslab's.
fn adopt_earlier_card(out: &mut OutputDir) -> Result<()> {
    let dir = out.path().to_path_buf();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if !readme.contains(WRITTEN_BY) || dir.join(crate::data::output::MANIFEST).exists() {
        return Ok(());
    }
    for name in ModelCardReport::file_names() {
        if dir.join(&name).is_file() {
            out.record(&name)?;
        }
    }
    Ok(())
}

/// The words that open every card biaslab writes; [`ModelCardReport::write`] overwrites only a README.md that holds them.
const WRITTEN_BY: &str = "These sections were written by biaslab";

/// "1 pair", "2 pairs".
fn plural(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// What the model prefers in each direction of CrowS-Pairs (a direction without pairs is left out).
fn directions(c: &CrowsFindings) -> String {
    let r = &c.report;
    let mut parts = Vec::new();
    if r.stereo_pairs > 0 {
        parts.push(format!(
            "On the {} stating a stereotype it prefers the stereotyping sentence {:.1} % of the time",
            plural(r.stereo_pairs, "pair"),
            c.stereo_score
        ));
    }
    if r.antistereo_pairs > 0 {
        parts.push(format!(
            "on the {} stating its reverse, {:.1} %",
            plural(r.antistereo_pairs, "pair"),
            c.antistereo_score
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        let text = parts.join("; ");
        let mut chars = text.chars();
        chars.next().map_or(String::new(), |first| format!("{}{}.", first.to_uppercase(), chars.as_str()))
    }
}

/// A share interval as percent.
fn percent_interval(i: &Interval) -> Interval {
    Interval { low: i.low * 100.0, high: i.high * 100.0, level: i.level }
}

/// A number for YAML: finite as Rust prints it (round-trips), else `.nan` / `.inf`.
fn yaml_number(x: f64) -> String {
    if x.is_nan() {
        ".nan".into()
    } else if x.is_infinite() {
        if x > 0.0 {
            ".inf".into()
        } else {
            "-.inf".into()
        }
    } else {
        format!("{x}")
    }
}

const STYLE: &str = "body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; \
line-height: 1.5; color: #222; }\ntable { border-collapse: collapse; margin: 1rem 0; }\nth, td { border: 1px solid #ccc; \
padding: 0.25rem 0.5rem; text-align: left; }\nth { background: #f3f3f3; }\nimg { max-width: 100%; }\ncode { \
background: #f3f3f3; padding: 0 0.2rem; }";

/// What [`ModelCardReport::write`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    /// The folder.
    pub dir: PathBuf,
    /// `README.md`.
    pub card: PathBuf,
    /// `bias_report.html`.
    pub html: PathBuf,
    /// `measurements.json`.
    pub json: PathBuf,
    /// The chart files.
    pub charts: Vec<PathBuf>,
    /// Charts that could not be drawn, with why.
    pub notes: Vec<String>,
}

impl fmt::Display for ModelCardReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_markdown(&ChartFiles::new()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn spaced_takes_evenly() {
        let items: Vec<usize> = (0..10).collect();
        // i * 10 / 4 for i < 4: 0, 2, 5, 7.
        assert_eq!(spaced(&items, Some(4)), vec![0, 2, 5, 7]);
        assert_eq!(spaced(&items, Some(10)), items);
        assert_eq!(spaced(&items, Some(20)), items);
        assert_eq!(spaced(&items, None), items);
        assert!(spaced(&items, Some(0)).is_empty());
        assert!(spaced::<usize>(&[], Some(3)).is_empty());
    }

    #[test]
    fn measures_parse() {
        assert_eq!("crows_pairs".parse::<Measure>().ok(), Some(Measure::CrowsPairs));
        assert_eq!("StereoSet".parse::<Measure>().ok(), Some(Measure::StereoSet));
        assert!("winobias".parse::<Measure>().is_err());
    }

    #[test]
    fn inline_html_and_yaml_escape() {
        assert_eq!(html_inline("**a** `b` <c>"), "<strong>a</strong> <code>b</code> &lt;c&gt;");
        assert_eq!(yaml_str("say \"hi\"\\"), "\"say \\\"hi\\\"\\\\\"");
        assert_eq!(p_text(0.0004), "p < 0.001");
        assert_eq!(p_text(0.0345), "p = 0.035");
    }

    #[test]
    fn an_all_skipped_report_still_renders() {
        fn skip<T>(measure: Measure) -> Outcome<T> {
            Outcome::Skipped { measure, reason: "not requested".into() }
        }
        let report = ModelCardReport {
            model: "m".into(),
            source: "m".into(),
            library: "transformers".into(),
            biaslab_version: VERSION.into(),
            options: ReportOptions::default(),
            probe: skip(Measure::Probe),
            crows_pairs: skip(Measure::CrowsPairs),
            stereoset: skip(Measure::StereoSet),
            seat: skip(Measure::Seat),
            honest: skip(Measure::Honest),
        };
        assert!(!report.any_run());
        let md = report.to_markdown(&ChartFiles::new());
        assert!(md.starts_with("---\nlanguage:"));
        assert!(md.contains("\nlibrary_name: transformers\n"));
        assert!(md.contains("  results: []\n"));
        assert!(md.contains("## Bias, Risks, and Limitations"));
        assert!(md.contains("No measure ran."));

        // A README.md that biaslab did not write is never overwritten; one it wrote is.
        let dir = tempfile::tempdir().unwrap();
        let readme = dir.path().join("README.md");
        std::fs::write(&readme, "# My model\n\nIts own card.\n").unwrap();
        let refused = report.write(dir.path());
        assert!(
            matches!(&refused, Err(Error::OutputRefused { reason, .. }) if reason.contains("--force")),
            "{refused:?}"
        );
        assert_eq!(std::fs::read_to_string(&readme).unwrap(), "# My model\n\nIts own card.\n");
        assert!(!dir.path().join("measurements.json").exists());
        std::fs::remove_file(&readme).unwrap();
        report.write(dir.path()).unwrap();
        report.write(dir.path()).unwrap();
        assert!(std::fs::read_to_string(&readme).unwrap().contains(WRITTEN_BY));
        // Nor any other file of the card (measurements.json, a chart) that biaslab did not write.
        let json = dir.path().join("measurements.json");
        std::fs::write(&json, "{\"mine\": true}").unwrap();
        assert!(matches!(report.write(dir.path()), Err(Error::OutputRefused { .. })));
        assert_eq!(std::fs::read_to_string(&json).unwrap(), "{\"mine\": true}");
        // A card written before biaslab listed its files (no manifest) is still biaslab's.
        std::fs::remove_file(&json).unwrap();
        std::fs::remove_file(dir.path().join(crate::data::output::MANIFEST)).unwrap();
        report.write(dir.path()).unwrap();
    }
}
