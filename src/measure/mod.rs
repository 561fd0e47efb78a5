//! The measurement layer: what a model (or a corpus) does, as numbers with intervals and p-values.
//!
//! - [`compare`]: lab 01's comparison of the top-k for sentences that differ in one word;
//! - [`probe`]: template probes, with bootstrap intervals and permutation tests;
//! - [`suites`]: the benchmark suites (CrowS-Pairs, StereoSet, WinoBias, HONEST, SEAT);
//! - [`dataset`]: measurements of a text corpus (composition, identity-term frequencies, nPMI);
//! - [`stats`]: the statistics they share; [`words`]: word lists.

pub mod compare;
pub mod dataset;
pub mod probe;
pub mod stats;
pub mod suites;
pub mod words;
