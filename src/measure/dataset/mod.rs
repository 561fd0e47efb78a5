//! Dataset measurements (lab 04): what a text corpus is made of and how its words lean toward identity terms, as
//! the Hugging Face Data Measurements Tool (DMT, <https://github.com/huggingface/data-measurements-tool>) and the
//! disaggregators library (<https://github.com/huggingface/disaggregators>) measure it.
//!
//! * **Composition**: rows, sentences, tokens, distinct words, words seen once, duplicate sentences.
//! * **Identity terms**: how often each word of each [`TermList`] appears (tokens and sentences).
//! * **nPMI gap**: the normalised pointwise mutual information ([`npmi`](fn@npmi)) of every word with each side of a
//!   pair of identity terms (she/he by default), counted per sentence, and the difference between the two sides
//!   ([`NpmiGap`]), with the counts beside every score.
//!
//! Everything is streamed: a [`Measurer`] keeps one entry per distinct word (its token count, its sentence count,
//! and how many of its sentences hold each side of the pair), never the text, so memory is bounded by the
//! vocabulary, and the vocabulary itself by [`MeasureOptions::max_vocab`].
//!
//! # Tokenising
//! [`tokenize`] follows DMT's `data_measurements/tokenize.py`: sklearn's `CountVectorizer(token_pattern=
//! "(?u)\\b\\w+\\b", lowercase=True)`, i.e. the text is lower-cased and the words are the maximal runs of word
//! characters (Unicode letters and digits, and `_`). Single letters count as words (the pattern is `\w+`, not
//! sklearn's default `\w\w+`), and an apostrophe splits a word ("don't" → "don", "t"). Rust's `char::is_alphanumeric`
//! stands in for Python's `\w`; they agree on letters and digits of every script (they can differ on a few rare
//! combining marks).
//!
//! # Sentences
//! The unit of co-occurrence is a sentence. Each input row (a text line, a JSON Lines record's field, a CSV cell, a
//! BOLD list item) is split by [`split_sentences`] unless [`ReadOptions::split_sentences`] is false: a sentence
//! ends at `.`, `!` or `?` (with any closing quotes or brackets right after it) followed by white space and then an
//! upper-case letter, a digit or an opening quote or bracket. This is deliberately simple: "Dr. Smith" is split
//! after "Dr.", and "e.g. the" is not. A sentence with no word in it is not counted. (DMT itself uses each dataset
//! row as the unit; BOLD rows are single sentences anyway.)
//!
//! # Memory
//! Files are read a line (text, JSON Lines) or a record (CSV) at a time; BOLD files, small JSON, are read whole.
//! What is kept is one entry per distinct word, at most [`MeasureOptions::max_vocab`] of them, and a set of 64-bit
//! sentence hashes for duplicates, at most `MAX_SENTENCE_HASHES`. Measured (release build, `/usr/bin/time -v`)
//! on a 100 MB text file of 819,015 shuffled BOLD sentences with 448,663 distinct words: 101 MB peak resident
//! memory (42 MB with `--max-vocab 100000`, which pruned it 7 times).
//!
//! # Parts
//! The files of this folder: `words.rs` (tokenising, sentences, stopwords, term lists), `npmi.rs` (the score),
//! `options.rs`, `measurer.rs` (the streaming counts), `read.rs` (files into a measurer), `report.rs` (what a
//! measurement reports) and `view.rs` (its tables, text and charts). Everything public is re-exported here, so
//! `biaslab::dataset::X` names each item.
//!
//! # Content warning
//! Measured corpora may hold slurs and stereotypes; reports show counts and single words only, never whole rows.

use std::collections::hash_map::DefaultHasher;
use std::collections::{HashMap, HashSet};
use std::fmt::{self, Write as _};
use std::hash::{Hash, Hasher};
use std::io::{BufRead, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::str::FromStr;

use indicatif::ProgressBar;
use serde::Serialize;

use crate::data::Skipped;
use crate::error::{Error, Result};
use crate::view::chart::Chart;
use crate::view::display::{escape, HtmlTable};

/// How many sentence hashes are kept to count duplicates; past it, duplicates are no longer counted (and the report
/// says so). 4 million 64-bit hashes take about 64 MB.
pub(crate) const MAX_SENTENCE_HASHES: usize = 4_000_000;

/// How many skipped rows are kept with their line numbers (all are counted).
const KEPT_SKIPPED: usize = 10;

mod measurer;
mod npmi;
mod options;
mod read;
mod report;
mod view;
mod words;

pub use measurer::*;
pub use npmi::*;
pub use options::*;
pub use read::*;
pub use report::*;
pub use words::*;

#[cfg(test)]
mod tests;
