//! The bias benchmark suites, each computed as its paper's own evaluation code computes it: CrowS-Pairs, StereoSet
//! (intrasentence), WinoBias as a fill-mask probe, HONEST, and SEAT/WEAT on sentence embeddings.
//!
//! Each suite has a loader (a local path or a download, see [`crate::data`]), an `evaluate` that takes any
//! [`crate::model::scorer::MaskScorer`] (a real model, or a stub in tests), and a report that serialises to JSON, writes
//! CSV rows, prints as a table and shows itself in a notebook.

pub mod crows_pairs;
pub mod honest;
pub mod seat;
pub mod stereoset;
pub mod winobias;
