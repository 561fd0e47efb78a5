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
//!
//! The files of this folder: `options.rs` (what to measure), `measure.rs` ([`evaluate`]), `findings.rs` (what each
//! measure found), `header.rs` (the YAML header), `prose.rs` (the sections), `blocks.rs` (Markdown and HTML) and
//! `files.rs` (writing the card); everything public is re-exported here.

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
use crate::view::display::escape;

/// The version of biaslab that wrote a card.
pub(crate) const VERSION: &str = env!("CARGO_PKG_VERSION");

/// How many occupations of each side the card names.
const NAMED_TARGETS: usize = 5;

mod blocks;
mod files;
mod findings;
mod header;
mod measure;
mod options;
mod prose;

pub use blocks::*;
pub use files::*;
pub use findings::*;
pub use measure::*;
pub use options::*;

#[cfg(test)]
mod tests;
