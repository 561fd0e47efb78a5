//! What a measurement reports.

use super::*;

/// A row of an input file that could not be read: [`crate::data::Skipped`] with its `file` named (the name kept so
/// that code written against it still compiles).
pub type SkippedRow = crate::data::Skipped;

/// How the vocabulary was pruned to stay within [`MeasureOptions::max_vocab`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Pruned {
    /// How many times the vocabulary was pruned.
    pub rounds: u64,
    /// How many word entries were forgotten in all.
    pub words_removed: u64,
    /// The highest sentence count of a forgotten word: counts up to about this (times `rounds`) are lower bounds.
    pub threshold: u64,
}

/// What a corpus is made of.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Composition {
    /// Input rows read (lines, records, cells, BOLD items), empty ones included.
    pub rows: u64,
    /// Sentences with at least one word: the `n` of every probability.
    pub sentences: u64,
    /// Words (tokens) in all.
    pub tokens: u64,
    /// Distinct words.
    pub distinct_words: u64,
    /// Distinct words seen exactly once (one token).
    pub words_seen_once: u64,
    /// Tokens per sentence on average (`None` with no sentence).
    pub mean_sentence_tokens: Option<f64>,
    /// Rows with no word in them.
    pub empty_rows: u64,
    /// Sentences whose exact text (trimmed) was seen before.
    pub duplicate_sentences: u64,
    /// Whether the set of sentence hashes filled up (`MAX_SENTENCE_HASHES`), after which duplicates were no longer
    /// counted (`duplicate_sentences` is then a lower bound).
    pub duplicates_capped: bool,
    /// Malformed rows skipped (bad JSON, missing field, wrong number of CSV fields…).
    pub skipped_rows: u64,
    /// The first few skipped rows, with their lines.
    pub skipped: Vec<Skipped>,
    /// Set when the vocabulary was pruned.
    pub pruned: Option<Pruned>,
}

/// A word and how often it appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct WordCount {
    /// The word.
    pub word: String,
    /// Its tokens.
    pub count: u64,
    /// Sentences holding it.
    pub sentences: u64,
}

/// How often an identity term appears.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermFrequency {
    /// The term list ("female").
    pub list: String,
    /// The term ("she").
    pub term: String,
    /// Its tokens.
    pub count: u64,
    /// Sentences holding it.
    pub sentences: u64,
}

/// One word's association with the two sides of the pair.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpmiRow {
    /// The word.
    pub word: String,
    /// Sentences holding it.
    pub count: u64,
    /// Sentences holding it and side a.
    pub count_a: u64,
    /// Sentences holding it and side b.
    pub count_b: u64,
    /// nPMI(word; a), see [`npmi`](fn@super::npmi).
    pub npmi_a: Option<f64>,
    /// nPMI(word; b).
    pub npmi_b: Option<f64>,
    /// `npmi_a − npmi_b`: above 0 the word leans toward a, below 0 toward b (DMT's "bias", `nPMI.calc_bias`).
    pub gap: Option<f64>,
}

/// The nPMI of every word with two identity terms, and the gap between them (DMT's nPMI widget).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct NpmiGap {
    /// Side a (a word or a term list's name).
    pub a: String,
    /// Side b.
    pub b: String,
    /// Sentences holding side a.
    pub sentences_a: u64,
    /// Sentences holding side b.
    pub sentences_b: u64,
    /// Sentences in all (`n`).
    pub sentences: u64,
    /// Words in fewer sentences were left out.
    pub min_count: u64,
    /// One row per word (not the pair's own words), by gap from most toward a to most toward b; rows without a gap
    /// last; ties by word.
    pub rows: Vec<NpmiRow>,
}

/// The measurements of a corpus.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct DatasetReport {
    /// The files measured (empty for [`measure_texts`]).
    pub files: Vec<String>,
    /// What the corpus is made of.
    pub composition: Composition,
    /// The most frequent words (by tokens; stopwords left out unless kept).
    pub top_words: Vec<WordCount>,
    /// Every term of every term list, in list order.
    pub terms: Vec<TermFrequency>,
    /// nPMI with the two sides of the pair.
    pub npmi: NpmiGap,
    /// How many words per side the text table shows.
    pub top: usize,
    /// Whether stopwords were kept.
    pub keep_stopwords: bool,
}
