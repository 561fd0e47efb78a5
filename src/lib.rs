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

pub mod cda;
pub mod chart;
pub mod check;
pub mod compare;
pub mod config;
pub mod corpus;
pub mod data;
pub mod dataset;
pub mod demo;
pub mod device;
pub mod display;
pub mod error;
pub mod finetune;
#[cfg(unix)]
pub mod grade;
pub mod fill_mask;
pub mod hub;
pub mod lab01;
pub mod lab02;
pub mod lab03;
pub mod lab04;
pub mod mitigate;
pub mod mlm;
pub mod notebook;
pub mod output;
pub mod model;
pub mod probe;
pub mod report;
pub mod scorer;
pub mod stats;
pub mod suites;
pub mod tokenizer;
pub mod words;

pub use chart::Chart;
pub use check::CheckReport;
pub use compare::{Comparison, TopK, WordGap, WordGaps};
pub use config::{Config, Family};
pub use error::{Error, Result};
pub use fill_mask::{format_table, Batch, FillMask, FillOptions, PipelineOutput, Prediction};
pub use hub::ModelFiles;
pub use model::{Encoder, MaskedLm};
pub use scorer::MaskScorer;
