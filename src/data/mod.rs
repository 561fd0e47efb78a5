//! The data layer: where files come from and where biaslab writes. It knows nothing of models or measures.
//!
//! - [`benchmark`]: the bias benchmarks' files (CrowS-Pairs, StereoSet, WinoBias, HONEST), found locally or
//!   downloaded, and the row readers that skip and report bad rows;
//! - [`cache`]: biaslab's cache and checksummed downloads;
//! - [`corpus`]: the BOLD Wikipedia sentences (all biaslab knows of BOLD's files is here);
//! - [`output`]: output folders that never write over what biaslab did not write;
//! - `tsv`: tab-separated files with a header row, read by line.

pub mod benchmark;
pub mod cache;
pub mod corpus;
pub mod output;
pub(crate) mod tsv;

pub use benchmark::*;
