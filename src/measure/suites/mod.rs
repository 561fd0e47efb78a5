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

/// The end of the error for a benchmark text whose encoding holds another number of mask tokens than the text has
/// slots: what to do about it.
pub(crate) const MASKS_MISCOUNTED: &str = "if the text holds a mask token of its own, correct that line of the data \
                                           file; else this model's tokenizer splits its mask token, so use another \
                                           model";
