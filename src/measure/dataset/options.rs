//! How files are read and what is measured.

use super::*;

/// The format of an input file.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Format {
    /// From the extension: `.jsonl`/`.ndjson` → JSON Lines, `.csv` → CSV, `.json` → BOLD if it parses as BOLD's
    /// `{category: {name: [sentences]}}`, else text; anything else → text.
    #[default]
    Auto,
    /// Plain text, one row per line.
    Text,
    /// JSON Lines: one object per line, the text in [`ReadOptions::field`].
    Jsonl,
    /// CSV with a header row, the text in the column [`ReadOptions::field`].
    Csv,
    /// A BOLD Wikipedia prompt file (`{category: {name: [sentences]}}`), one row per list item.
    Bold,
}

impl FromStr for Format {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_lowercase().as_str() {
            "auto" => Ok(Format::Auto),
            "text" | "txt" => Ok(Format::Text),
            "jsonl" | "ndjson" => Ok(Format::Jsonl),
            "csv" => Ok(Format::Csv),
            "bold" => Ok(Format::Bold),
            other => Err(Error::InvalidArgument {
                reason: format!("{other:?} is not a format: use auto, text, jsonl, csv or bold"),
            }),
        }
    }
}

/// How input files are read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReadOptions {
    /// The files' format (default [`Format::Auto`]).
    pub format: Format,
    /// The JSON Lines key or CSV column holding the text (default "text").
    pub field: String,
    /// Split each row into sentences with [`split_sentences`] (default true).
    pub split_sentences: bool,
    /// Stop after this many sentences (default: all).
    pub limit: Option<usize>,
}

impl Default for ReadOptions {
    fn default() -> Self {
        Self { format: Format::Auto, field: "text".into(), split_sentences: true, limit: None }
    }
}

/// What is measured.
#[derive(Debug, Clone, PartialEq)]
pub struct MeasureOptions {
    /// The two identity terms whose nPMI is compared (default ("she", "he")): each a single word, or the name of
    /// one of [`MeasureOptions::term_lists`] (a sentence then counts if it holds any of the list's words).
    pub pair: (String, String),
    /// The identity-term lists whose frequencies are reported (default [`TermList::gender`]).
    pub term_lists: Vec<TermList>,
    /// Words in fewer sentences than this are left out of the nPMI rows (default 10, DMT's `MIN_VOCAB_COUNT`). DMT
    /// applies its minimum to the identity terms (which can be chosen) and keeps every word; here it filters the
    /// words, because a word seen once has a gap of about ±1.3 from a single co-occurrence.
    pub min_count: u64,
    /// How many top words the report keeps, and how many words per side its table shows (default 20).
    pub top: usize,
    /// Keep `STOPWORDS` in the nPMI rows and the top words (default false, as DMT drops its closed class).
    pub keep_stopwords: bool,
    /// The most distinct words kept (default 1,000,000). Past it the rarest words (by sentence count: those in
    /// 1 sentence, then 2, …) are forgotten until 90% of the bound is left, and the report says so: a word's
    /// counts may then be low by up to the pruning threshold for each round. Identity terms are never pruned.
    pub max_vocab: usize,
}

impl Default for MeasureOptions {
    fn default() -> Self {
        Self {
            pair: ("she".into(), "he".into()),
            term_lists: TermList::gender(),
            min_count: 10,
            top: 20,
            keep_stopwords: false,
            max_vocab: 1_000_000,
        }
    }
}
