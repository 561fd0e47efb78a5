//! # biaslab
//!
//! A teaching lab about bias in machine-learning models. This crate is what the lab's notebooks and the `biaslab`
//! command call: load a masked language model (BERT, DistilBERT, RoBERTa) from a local directory or the Hugging
//! Face Hub, and fill in masks with the same answers as transformers' fill-mask pipeline.
//!
//! ```no_run
//! use biaslab::FillMask;
//!
//! let unmasker = FillMask::from_pretrained("bert-base-uncased")?; // a hub id, or a local directory
//! for p in unmasker.fill("This man works as a [MASK].", 5)? {
//!     println!("{:>8.4}  {}", p.score, p.token_str);
//! }
//! # Ok::<(), biaslab::Error>(())
//! ```
//!
//! The modules are folders by layer, each using only the layers below it (`tests/layers.rs` checks this):
//! [`error`] and [`env`](mod@env); [`data`] and [`view`]; [`model`]; [`measure`]; [`train`]; [`report`]; [`teach`];
//! [`course`]; [`grade`]. The command line (`src/main.rs`, `src/cli/`) sits on top. The short paths of earlier versions
//! (`biaslab::probe`, `biaslab::hub`, …) are kept as re-exports below.

#![warn(missing_docs)]

pub mod course;
pub mod data;
pub mod env;
pub mod error;
#[cfg(unix)]
pub mod grade;
pub mod measure;
pub mod model;
pub mod report;
pub mod teach;
pub mod train;
pub mod view;

// The short paths notebooks and earlier versions use, one per module that moved into a layer folder.
pub use course::notebook;
pub use data::{corpus, output};
pub use measure::{compare, dataset, probe, stats, suites, words};
pub use model::{config, device, fill_mask, hub, mlm, scorer, tokenizer};
pub use teach::{check, lab00, lab01, lab02, lab03, lab04, lab05};
pub use train::{cda, finetune, mitigate};
pub use view::{chart, display};

/// The offline demo model: what it is and how it is loaded ([`model::demo`]), and how its head is trained
/// ([`train::demo`]), under the one path `biaslab::demo` of earlier versions.
pub mod demo {
    pub use crate::model::demo::*;
    pub use crate::train::demo::*;
}

pub use chart::Chart;
pub use check::CheckReport;
pub use compare::{Comparison, TopK, WordGap, WordGaps};
pub use config::{Config, Family};
pub use error::{Error, Result};
pub use fill_mask::{format_table, Batch, FillMask, FillOptions, PipelineOutput, Prediction};
pub use hub::ModelFiles;
pub use model::choose::ModelSource;
pub use model::{Encoder, MaskedLm};
pub use scorer::MaskScorer;
pub use view::show::View;
