//! Dataset measurements (lab 04): what a text corpus is made of and how its words lean toward identity terms, as
//! the Hugging Face Data Measurements Tool (DMT, <https://github.com/huggingface/data-measurements-tool>) and the
//! disaggregators library (<https://github.com/huggingface/disaggregators>) measure it.
//!
//! * **Composition**: rows, sentences, tokens, distinct words, words seen once, duplicate sentences.
//! * **Identity terms**: how often each word of each [`TermList`] appears (tokens and sentences).
//! * **nPMI gap**: the normalised pointwise mutual information ([`npmi`]) of every word with each side of a pair of
//!   identity terms (she/he by default), counted per sentence, and the difference between the two sides
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
//! sentence hashes for duplicates, at most [`MAX_SENTENCE_HASHES`]. Measured (release build, `/usr/bin/time -v`)
//! on a 100 MB text file of 819,015 shuffled BOLD sentences with 448,663 distinct words: 101 MB peak resident
//! memory (42 MB with `--max-vocab 100000`, which pruned it 7 times).
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

use crate::error::{Error, Result};
use crate::view::chart::Chart;
use crate::view::display::{self, escape, HtmlTable};

/// How many sentence hashes are kept to count duplicates; past it, duplicates are no longer counted (and the report
/// says so). 4 million 64-bit hashes take about 64 MB.
pub const MAX_SENTENCE_HASHES: usize = 4_000_000;

/// How many skipped rows are kept with their line numbers (all are counted).
const KEPT_SKIPPED: usize = 10;

// ---------------------------------------------------------------------------------------------------------------
// Tokenising and splitting
// ---------------------------------------------------------------------------------------------------------------

/// Is `c` a word character: `\w` of Python's `re` in Unicode mode (a letter, a digit, or `_`)?
fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// The words of `text` as DMT tokenises it (`data_measurements/tokenize.py`: sklearn `CountVectorizer` with
/// `token_pattern="(?u)\b\w+\b"` on the lower-cased text): lower-cased maximal runs of letters, digits and `_`.
pub fn tokenize(text: &str) -> Vec<String> {
    let mut words = Vec::new();
    let mut current = String::new();
    for c in text.chars() {
        if is_word_char(c) {
            current.extend(c.to_lowercase());
        } else if !current.is_empty() {
            words.push(std::mem::take(&mut current));
        }
    }
    if !current.is_empty() {
        words.push(current);
    }
    words
}

/// Splits a row into sentences (trimmed, none empty): a sentence ends at `.`, `!` or `?` (plus any closing quotes or
/// brackets right after it) when white space follows and then an upper-case letter, a digit, or an opening quote or
/// bracket. "She left. He stayed." → ["She left.", "He stayed."]; "Dr. Smith" is split too (a known limit).
pub fn split_sentences(row: &str) -> Vec<&str> {
    const CLOSERS: &[char] = &['"', '\'', ')', ']', '”', '’', '»'];
    const OPENERS: &[char] = &['"', '\'', '(', '[', '“', '‘', '«'];
    let mut sentences = Vec::new();
    let mut start = 0;
    let chars: Vec<(usize, char)> = row.char_indices().collect();
    let mut i = 0;
    while i < chars.len() {
        let (_, c) = chars[i];
        if matches!(c, '.' | '!' | '?') {
            // The end of the sentence: past more end marks and closing quotes.
            let mut j = i + 1;
            while j < chars.len() && (matches!(chars[j].1, '.' | '!' | '?') || CLOSERS.contains(&chars[j].1)) {
                j += 1;
            }
            let end = chars.get(j).map_or(row.len(), |(at, _)| *at);
            let mut k = j;
            while k < chars.len() && chars[k].1.is_whitespace() {
                k += 1;
            }
            let starts_new = k > j
                && chars.get(k).is_some_and(|(_, n)| n.is_uppercase() || n.is_ascii_digit() || OPENERS.contains(n));
            if starts_new {
                let piece = row[start..end].trim();
                if !piece.is_empty() {
                    sentences.push(piece);
                }
                start = chars.get(k).map_or(row.len(), |(at, _)| *at);
                i = k;
                continue;
            }
            i = j;
            continue;
        }
        i += 1;
    }
    let piece = row[start..].trim();
    if !piece.is_empty() {
        sentences.push(piece);
    }
    sentences
}

// ---------------------------------------------------------------------------------------------------------------
// Stopwords and term lists
// ---------------------------------------------------------------------------------------------------------------

/// The closed-class words DMT leaves out of its vocabulary (`_CLOSED_CLASS` in
/// `data_measurements/dataset_statistics.py`): NLTK's English stopword list (`nltk.corpus.stopwords.words("english")`)
/// without the forms with an apostrophe, which the tokeniser never produces, plus DMT's additions ("t", "n", "ll",
/// "d", "s", the clitic stems "wasn", …, "would", "could", "dont"). DMT also adds the numbers 0–98, which
/// [`is_stopword`] checks separately.
#[rustfmt::skip]
pub const STOPWORDS: &[&str] = &[
    "i", "me", "my", "myself", "we", "our", "ours", "ourselves", "you", "your", "yours", "yourself", "yourselves",
    "he", "him", "his", "himself", "she", "her", "hers", "herself", "it", "its", "itself", "they", "them", "their",
    "theirs", "themselves", "what", "which", "who", "whom", "this", "that", "these", "those", "am", "is", "are",
    "was", "were", "be", "been", "being", "have", "has", "had", "having", "do", "does", "did", "doing", "a", "an",
    "the", "and", "but", "if", "or", "because", "as", "until", "while", "of", "at", "by", "for", "with", "about",
    "against", "between", "into", "through", "during", "before", "after", "above", "below", "to", "from", "up",
    "down", "in", "out", "on", "off", "over", "under", "again", "further", "then", "once", "here", "there", "when",
    "where", "why", "how", "all", "any", "both", "each", "few", "more", "most", "other", "some", "such", "no",
    "nor", "not", "only", "own", "same", "so", "than", "too", "very", "s", "t", "can", "will", "just", "don",
    "should", "now", "d", "ll", "m", "o", "re", "ve", "y", "ain", "aren", "couldn", "didn", "doesn", "hadn", "hasn",
    "haven", "isn", "ma", "mightn", "mustn", "needn", "shan", "shouldn", "wasn", "weren", "won", "wouldn", "n",
    "would", "could", "dont",
];

/// Is `word` (lower-case) one of [`STOPWORDS`] or a number from 0 to 98 (DMT's `_CLOSED_CLASS`)?
pub fn is_stopword(word: &str) -> bool {
    STOPWORDS.contains(&word)
        || (word.len() <= 2
            && word.bytes().all(|b| b.is_ascii_digit())
            && !(word.len() == 2 && word.starts_with('0'))
            && word != "99")
}

/// A named list of identity terms ("female": she, her, woman, …). A sentence holds the list if it holds any of its
/// words.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TermList {
    /// The list's name ("female").
    pub name: String,
    /// Its words: lower-case, each a single word of [`tokenize`].
    pub terms: Vec<String>,
}

impl TermList {
    /// A list from a name and words; each word must be a single word of [`tokenize`] (it is lower-cased).
    pub fn new(name: impl Into<String>, terms: &[&str]) -> Result<Self> {
        let name = name.into();
        if name.trim().is_empty() {
            return Err(Error::InvalidArgument { reason: "a term list needs a name (name=word,word,…)".into() });
        }
        let mut words = Vec::new();
        for term in terms {
            let tokens = tokenize(term);
            match tokens.as_slice() {
                [] => continue,
                [one] => {
                    if !words.contains(one) {
                        words.push(one.clone())
                    }
                }
                _ => {
                    return Err(Error::InvalidArgument {
                        reason: format!(
                            "term {term:?} of list {name:?} is several words ({}); the measurements count single \
                             words, so give each word on its own",
                            tokens.join(" ")
                        ),
                    })
                }
            }
        }
        if words.is_empty() {
            return Err(Error::InvalidArgument { reason: format!("term list {name:?} has no words") });
        }
        Ok(Self { name: name.trim().to_string(), terms: words })
    }

    /// Female terms: the pronouns of disaggregators' `Pronoun` module (`SHE_HER`: she, her, hers, herself;
    /// `src/disaggregators/disaggregation_modules/pronoun/__init__.py`) and the female nouns of biaslab's probe
    /// groups ([`crate::measure::probe::groups::gender`]: woman, girl, mother, daughter, sister, wife, aunt, lady).
    pub fn female() -> Self {
        Self::builtin("female", &["she", "her", "hers", "herself"], 1)
    }

    /// Male terms: disaggregators' `HE_HIM` pronouns (he, him, his, himself) and the male nouns of the probe groups
    /// (man, boy, father, son, brother, husband, uncle, gentleman).
    pub fn male() -> Self {
        Self::builtin("male", &["he", "him", "his", "himself"], 0)
    }

    fn builtin(name: &str, pronouns: &[&str], group: usize) -> Self {
        let mut terms: Vec<String> = pronouns.iter().map(|w| w.to_string()).collect();
        if let Some(g) = crate::measure::probe::groups::gender().get(group) {
            terms.extend(g.terms.iter().cloned());
        }
        Self { name: name.into(), terms }
    }

    /// [`TermList::female`] and [`TermList::male`].
    pub fn gender() -> Vec<TermList> {
        vec![Self::female(), Self::male()]
    }

    /// A list written `name=word,word,…` (as `biaslab measure --terms` takes it).
    pub fn parse(spec: &str) -> Result<Self> {
        let (name, words) = spec.split_once('=').ok_or_else(|| Error::InvalidArgument {
            reason: format!("{spec:?} is not a term list: write name=word,word,… (for example nurses=nurse,nurses)"),
        })?;
        let words: Vec<&str> = words.split(',').map(str::trim).filter(|w| !w.is_empty()).collect();
        Self::new(name, &words)
    }

    /// A list read from a file of one term per line (blank lines and lines starting with `#` are ignored), named
    /// after the file's stem.
    pub fn read(path: &Path) -> Result<Self> {
        let text = crate::data::read_text(path)?;
        let words: Vec<&str> = text.lines().map(str::trim).filter(|l| !l.is_empty() && !l.starts_with('#')).collect();
        let name = path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_else(|| "terms".into());
        Self::new(name, &words).map_err(|err| Error::InvalidData { path: path.into(), reason: err.to_string() })
    }
}

// ---------------------------------------------------------------------------------------------------------------
// nPMI
// ---------------------------------------------------------------------------------------------------------------

/// Normalised pointwise mutual information of words x and y from per-sentence counts (Bouma 2009, "Normalized
/// (pointwise) mutual information in collocation extraction"): with p = count / n over `n` sentences, each sentence
/// counted once however often it holds a word,
///
/// nPMI(x; y) = ln(p(x, y) / (p(x) p(y))) / −ln p(x, y),
///
/// which runs from −1 (never together) through 0 (independent) to +1 (always together).
///
/// Conventions: `count_xy = 0` with both words seen gives −1, the limit as p(x, y) → 0; `n = 0`, `count_x = 0` or
/// `count_y = 0` gives `None` (nothing to measure); p(x, y) = 1 (every sentence holds both, e.g. a one-sentence
/// corpus) gives `None`, since the normaliser −ln p(x, y) is 0 (0/0); counts that cannot be (count_xy above count_x
/// or count_y, or a count above n) give `None`.
///
/// How this differs from DMT (`data_measurements/npmi/npmi.py`, `nPMI.calc_PMI` / `calc_nPMI`): DMT counts the
/// co-occurrences the same way (binary per sentence, via `MultiLabelBinarizer`), but takes p(word) and p(term) as
/// token proportions of the whole vocabulary and normalises by −log(p(word | term) · p(word)) with
/// p(word | term) = co-occurrences / their sum over the vocabulary, which is not the joint probability; and it drops
/// words that never co-occur (log 0 = −inf becomes NaN, then `dropna`). Here every probability is per sentence, the
/// normaliser is the textbook −ln p(x, y), and never co-occurring is kept as −1, so that nPMI is bounded and a
/// word seen only with "he" shows its full gap.
pub fn npmi(count_xy: u64, count_x: u64, count_y: u64, n: u64) -> Option<f64> {
    if n == 0 || count_x == 0 || count_y == 0 || count_x > n || count_y > n || count_xy > count_x.min(count_y) {
        return None;
    }
    if count_xy == 0 {
        return Some(-1.0);
    }
    if count_xy == n {
        return None;
    }
    let (xy, x, y, n) = (count_xy as f64, count_x as f64, count_y as f64, n as f64);
    let pmi = (xy * n / (x * y)).ln();
    let normaliser = n.ln() - xy.ln();
    Some(pmi / normaliser)
}

// ---------------------------------------------------------------------------------------------------------------
// Options
// ---------------------------------------------------------------------------------------------------------------

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
    /// Keep [`STOPWORDS`] in the nPMI rows and the top words (default false, as DMT drops its closed class).
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

// ---------------------------------------------------------------------------------------------------------------
// Report types
// ---------------------------------------------------------------------------------------------------------------

/// A row of an input file that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SkippedRow {
    /// The file.
    pub file: String,
    /// Its line (1-based).
    pub line: u64,
    /// What is wrong with it.
    pub reason: String,
}

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
    /// Whether the set of sentence hashes filled up ([`MAX_SENTENCE_HASHES`]), after which duplicates were no longer
    /// counted (`duplicate_sentences` is then a lower bound).
    pub duplicates_capped: bool,
    /// Malformed rows skipped (bad JSON, missing field, wrong number of CSV fields…).
    pub skipped_rows: u64,
    /// The first few skipped rows, with their lines.
    pub skipped: Vec<SkippedRow>,
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
    /// nPMI(word; a), see [`npmi`].
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

// ---------------------------------------------------------------------------------------------------------------
// Measurer
// ---------------------------------------------------------------------------------------------------------------

#[derive(Debug, Clone, Copy, Default)]
struct WordStats {
    tokens: u64,
    sentences: u64,
    with_a: u64,
    with_b: u64,
}

/// One side of the pair: its label and the words that stand for it.
#[derive(Debug, Clone)]
struct Side {
    label: String,
    words: Vec<String>,
}

fn resolve_side(side: &str, lists: &[TermList]) -> Result<Side> {
    let side = side.trim();
    if let Some(list) = lists.iter().find(|l| l.name == side) {
        return Ok(Side { label: list.name.clone(), words: list.terms.clone() });
    }
    match tokenize(side).as_slice() {
        [one] => Ok(Side { label: one.clone(), words: vec![one.clone()] }),
        _ => Err(Error::InvalidArgument {
            reason: format!(
                "{side:?} is neither a single word nor the name of a term list ({}): give the pair as two words, \
                 for example she,he",
                lists.iter().map(|l| l.name.as_str()).collect::<Vec<_>>().join(", ")
            ),
        }),
    }
}

/// Measures a corpus one row or sentence at a time; memory grows with the vocabulary, not with the text.
#[derive(Debug, Clone)]
pub struct Measurer {
    options: MeasureOptions,
    a: Side,
    b: Side,
    protected: HashSet<String>,
    vocab: HashMap<String, WordStats>,
    split: bool,
    limit: Option<u64>,
    rows: u64,
    sentences: u64,
    tokens: u64,
    empty_rows: u64,
    sentences_a: u64,
    sentences_b: u64,
    seen: HashSet<u64>,
    duplicates: u64,
    duplicates_capped: bool,
    pruned: Option<Pruned>,
    skipped_rows: u64,
    skipped: Vec<SkippedRow>,
    files: Vec<String>,
}

impl Measurer {
    /// A measurer with these options; fails if a side of the pair is neither a word nor a term list's name, if
    /// both sides are the same, or if `max_vocab` is 0.
    pub fn new(options: &MeasureOptions) -> Result<Self> {
        let a = resolve_side(&options.pair.0, &options.term_lists)?;
        let b = resolve_side(&options.pair.1, &options.term_lists)?;
        if a.label == b.label {
            return Err(Error::InvalidArgument {
                reason: format!("the pair compares {:?} with itself: give two terms", a.label),
            });
        }
        if options.max_vocab == 0 {
            return Err(Error::InvalidArgument { reason: "max_vocab is 0: at least one word must be kept".into() });
        }
        let protected =
            a.words.iter().chain(&b.words).chain(options.term_lists.iter().flat_map(|l| &l.terms)).cloned().collect();
        Ok(Self {
            options: options.clone(),
            a,
            b,
            protected,
            vocab: HashMap::new(),
            split: true,
            limit: None,
            rows: 0,
            sentences: 0,
            tokens: 0,
            empty_rows: 0,
            sentences_a: 0,
            sentences_b: 0,
            seen: HashSet::new(),
            duplicates: 0,
            duplicates_capped: false,
            pruned: None,
            skipped_rows: 0,
            skipped: Vec::new(),
            files: Vec::new(),
        })
    }

    /// Whether [`Measurer::add_text`] splits rows into sentences (default true).
    pub fn split_sentences(mut self, split: bool) -> Self {
        self.split = split;
        self
    }

    /// Stop counting after this many sentences.
    pub fn limit(mut self, limit: Option<usize>) -> Self {
        self.limit = limit.map(|l| l as u64);
        self
    }

    /// Whether the sentence limit is reached.
    pub fn is_full(&self) -> bool {
        self.limit.is_some_and(|l| self.sentences >= l)
    }

    /// Sentences counted so far.
    pub fn sentences(&self) -> u64 {
        self.sentences
    }

    /// Adds one input row: counts it, splits it into sentences (unless splitting is off) and adds each.
    pub fn add_text(&mut self, row: &str) {
        if self.is_full() {
            return;
        }
        self.rows += 1;
        let before = self.sentences;
        if self.split {
            for sentence in split_sentences(row) {
                self.add_sentence(sentence);
            }
        } else {
            self.add_sentence(row);
        }
        if self.sentences == before && !row.chars().any(is_word_char) {
            self.empty_rows += 1;
        }
    }

    /// Adds one sentence (not split further); a sentence with no word is not counted.
    pub fn add_sentence(&mut self, sentence: &str) {
        if self.is_full() {
            return;
        }
        let mut words = tokenize(sentence);
        if words.is_empty() {
            return;
        }
        self.sentences += 1;
        self.tokens += words.len() as u64;
        if !self.duplicates_capped {
            let mut hasher = DefaultHasher::new();
            sentence.trim().hash(&mut hasher);
            let hash = hasher.finish();
            if self.seen.contains(&hash) {
                self.duplicates += 1;
            } else if self.seen.len() >= MAX_SENTENCE_HASHES {
                self.duplicates_capped = true;
                self.seen = HashSet::new();
            } else {
                self.seen.insert(hash);
            }
        }
        words.sort_unstable();
        let has_a = self.a.words.iter().any(|w| words.binary_search(w).is_ok());
        let has_b = self.b.words.iter().any(|w| words.binary_search(w).is_ok());
        self.sentences_a += has_a as u64;
        self.sentences_b += has_b as u64;
        let mut i = 0;
        while i < words.len() {
            let mut j = i + 1;
            while j < words.len() && words[j] == words[i] {
                j += 1;
            }
            let repeats = (j - i) as u64;
            let word = std::mem::take(&mut words[i]);
            let stats = self.vocab.entry(word).or_default();
            stats.tokens += repeats;
            stats.sentences += 1;
            stats.with_a += has_a as u64;
            stats.with_b += has_b as u64;
            i = j;
        }
        if self.vocab.len() > self.options.max_vocab {
            self.prune();
        }
    }

    /// Forgets the rarest unprotected words (by sentences) until 90% of `max_vocab` is left.
    fn prune(&mut self) {
        let target = self.options.max_vocab - self.options.max_vocab / 10;
        let mut removed = 0_u64;
        let mut threshold = 0_u64;
        while self.vocab.len() > target {
            let protected = &self.protected;
            let Some(lowest) =
                self.vocab.iter().filter(|(w, _)| !protected.contains(*w)).map(|(_, s)| s.sentences).min()
            else {
                break;
            };
            let before = self.vocab.len();
            self.vocab.retain(|w, s| s.sentences > lowest || protected.contains(w));
            removed += (before - self.vocab.len()) as u64;
            threshold = lowest;
        }
        let pruned = self.pruned.get_or_insert(Pruned { rounds: 0, words_removed: 0, threshold: 0 });
        pruned.rounds += 1;
        pruned.words_removed += removed;
        pruned.threshold = pruned.threshold.max(threshold);
    }

    /// Records a malformed row (all are counted; the first few are kept).
    pub fn skip_row(&mut self, file: &str, line: u64, reason: impl Into<String>) {
        self.skipped_rows += 1;
        if self.skipped.len() < KEPT_SKIPPED {
            self.skipped.push(SkippedRow { file: file.into(), line, reason: reason.into() });
        }
    }

    /// The report.
    pub fn finish(self) -> DatasetReport {
        let options = &self.options;
        let n = self.sentences;
        let keep = |w: &str| options.keep_stopwords || !is_stopword(w);
        let pair_words: HashSet<&String> = self.a.words.iter().chain(&self.b.words).collect();
        let mut rows: Vec<NpmiRow> = self
            .vocab
            .iter()
            .filter(|(w, s)| s.sentences >= options.min_count && !pair_words.contains(w) && keep(w))
            .map(|(w, s)| {
                let npmi_a = npmi(s.with_a, s.sentences, self.sentences_a, n);
                let npmi_b = npmi(s.with_b, s.sentences, self.sentences_b, n);
                let gap = npmi_a.zip(npmi_b).map(|(x, y)| x - y);
                NpmiRow {
                    word: w.clone(),
                    count: s.sentences,
                    count_a: s.with_a,
                    count_b: s.with_b,
                    npmi_a,
                    npmi_b,
                    gap,
                }
            })
            .collect();
        rows.sort_by(|x, y| match (x.gap, y.gap) {
            (Some(gx), Some(gy)) => gy.total_cmp(&gx).then_with(|| x.word.cmp(&y.word)),
            (Some(_), None) => std::cmp::Ordering::Less,
            (None, Some(_)) => std::cmp::Ordering::Greater,
            (None, None) => x.word.cmp(&y.word),
        });
        let mut top_words: Vec<WordCount> = self
            .vocab
            .iter()
            .filter(|(w, _)| keep(w))
            .map(|(w, s)| WordCount { word: w.clone(), count: s.tokens, sentences: s.sentences })
            .collect();
        top_words.sort_by(|x, y| y.count.cmp(&x.count).then_with(|| x.word.cmp(&y.word)));
        top_words.truncate(options.top);
        let terms = options
            .term_lists
            .iter()
            .flat_map(|list| {
                list.terms.iter().map(|term| {
                    let s = self.vocab.get(term).copied().unwrap_or_default();
                    TermFrequency {
                        list: list.name.clone(),
                        term: term.clone(),
                        count: s.tokens,
                        sentences: s.sentences,
                    }
                })
            })
            .collect();
        let composition = Composition {
            rows: self.rows,
            sentences: n,
            tokens: self.tokens,
            distinct_words: self.vocab.len() as u64,
            words_seen_once: self.vocab.values().filter(|s| s.tokens == 1).count() as u64,
            mean_sentence_tokens: (n > 0).then(|| self.tokens as f64 / n as f64),
            empty_rows: self.empty_rows,
            duplicate_sentences: self.duplicates,
            duplicates_capped: self.duplicates_capped,
            skipped_rows: self.skipped_rows,
            skipped: self.skipped,
            pruned: self.pruned,
        };
        DatasetReport {
            files: self.files,
            composition,
            top_words,
            terms,
            npmi: NpmiGap {
                a: self.a.label,
                b: self.b.label,
                sentences_a: self.sentences_a,
                sentences_b: self.sentences_b,
                sentences: n,
                min_count: options.min_count,
                rows,
            },
            top: options.top,
            keep_stopwords: options.keep_stopwords,
        }
    }
}

// ---------------------------------------------------------------------------------------------------------------
// Reading files
// ---------------------------------------------------------------------------------------------------------------

/// Measures texts already in memory (each one row, split into sentences).
pub fn measure_texts<I, S>(texts: I, options: &MeasureOptions) -> Result<DatasetReport>
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let mut measurer = Measurer::new(options)?;
    for text in texts {
        measurer.add_text(text.as_ref());
    }
    Ok(measurer.finish())
}

pub use crate::data::corpus::bold_wikipedia;

/// The format of `path` when `format` is [`Format::Auto`] (BOLD is decided by the caller, by parsing).
fn by_extension(path: &Path) -> Format {
    match path.extension().and_then(|e| e.to_str()).map(str::to_lowercase).as_deref() {
        Some("jsonl" | "ndjson") => Format::Jsonl,
        Some("csv") => Format::Csv,
        Some("json") => Format::Bold,
        _ => Format::Text,
    }
}

/// Measures files, streaming them: text and JSON Lines line by line, CSV record by record, BOLD files (small JSON)
/// whole. Malformed JSON Lines or CSV rows are skipped and counted, the first few kept with their line numbers; a
/// file with no usable row is [`Error::InvalidData`], a file that cannot be opened [`Error::Io`].
/// [`measure_files_with`] shows progress.
pub fn measure_files(paths: &[PathBuf], read: &ReadOptions, options: &MeasureOptions) -> Result<DatasetReport> {
    measure_files_with(paths, read, options, &ProgressBar::hidden())
}

/// [`measure_files`], counting the bytes read on `progress` (its length is set to the files' total size).
pub fn measure_files_with(
    paths: &[PathBuf],
    read: &ReadOptions,
    options: &MeasureOptions,
    progress: &ProgressBar,
) -> Result<DatasetReport> {
    if paths.is_empty() {
        return Err(Error::InvalidArgument { reason: "no file to measure: name at least one".into() });
    }
    let mut measurer = Measurer::new(options)?.split_sentences(read.split_sentences).limit(read.limit);
    let total: u64 = paths.iter().filter_map(|p| std::fs::metadata(p).ok()).map(|m| m.len()).sum();
    progress.set_length(total);
    for path in paths {
        if measurer.is_full() {
            break;
        }
        let name = path.display().to_string();
        let (rows_before, sentences_before, skipped_before) =
            (measurer.rows, measurer.sentences, measurer.skipped_rows);
        let format = match read.format {
            Format::Auto => by_extension(path),
            other => other,
        };
        refuse_binary(path)?;
        // A BOLD file is one JSON document, read whole: only up to a size (BOLD's own are about 10 MB).
        let too_big = std::fs::metadata(path).is_ok_and(|m| !m.is_file() || m.len() > MAX_DOCUMENT);
        match format {
            Format::Bold if too_big && read.format == Format::Auto => {
                read_lines(path, &mut measurer, progress, |m, _, line| m.add_text(line))?;
            }
            Format::Bold if too_big => {
                return Err(Error::InvalidData {
                    path: path.clone(),
                    reason: format!(
                        "too large to read as one BOLD JSON document (over {} MiB): use --format jsonl or text",
                        MAX_DOCUMENT >> 20
                    ),
                })
            }
            Format::Bold => match crate::data::corpus::bold_wikipedia_sentences(path) {
                Ok(items) => {
                    for item in items {
                        measurer.add_text(&item);
                    }
                    progress.inc(std::fs::metadata(path).map(|m| m.len()).unwrap_or(0));
                }
                Err(Error::InvalidData { .. }) if read.format == Format::Auto => {
                    read_lines(path, &mut measurer, progress, |m, _, line| m.add_text(line))?;
                }
                Err(err) => return Err(err),
            },
            Format::Text | Format::Auto => {
                read_lines(path, &mut measurer, progress, |m, _, line| m.add_text(line))?;
            }
            Format::Jsonl => {
                let field = read.field.as_str();
                read_lines(path, &mut measurer, progress, |m, number, line| {
                    if line.trim().is_empty() {
                        return;
                    }
                    match serde_json::from_str::<serde_json::Value>(line) {
                        Err(err) => m.skip_row(&name, number, format!("not JSON: {err}")),
                        Ok(value) => match value.get(field) {
                            Some(serde_json::Value::String(text)) => m.add_text(text),
                            Some(other) if !other.is_null() => {
                                m.skip_row(&name, number, format!("field {field:?} is not a string"))
                            }
                            _ => m.skip_row(&name, number, format!("no field {field:?}")),
                        },
                    }
                })?;
            }
            Format::Csv => read_csv(path, &read.field, &mut measurer, progress)?,
        }
        measurer.files.push(name);
        if measurer.rows == rows_before || (measurer.sentences == sentences_before && !measurer.is_full()) {
            let skipped = measurer.skipped_rows - skipped_before;
            let reason = if skipped > 0 {
                let first: Vec<String> = measurer
                    .skipped
                    .iter()
                    .filter(|s| s.file == path.display().to_string())
                    .take(3)
                    .map(|s| format!("line {}: {}", s.line, s.reason))
                    .collect();
                format!("no usable row ({skipped} malformed; {})", first.join("; "))
            } else {
                "no text in it".to_string()
            };
            return Err(Error::InvalidData { path: path.clone(), reason });
        }
    }
    Ok(measurer.finish())
}

/// The longest line (or CSV field) measured, in bytes: a longer one is skipped and counted, never held whole.
pub const MAX_LINE: usize = 1 << 20;

/// Why a row over [`MAX_LINE`] is skipped.
fn too_long() -> String {
    format!("longer than {} MiB: not measured", MAX_LINE >> 20)
}

/// The largest BOLD JSON document read whole, in bytes.
const MAX_DOCUMENT: u64 = 256 << 20;

/// How much of a file's start is looked at for NUL bytes, which text never holds ([`refuse_binary`]).
const BINARY_SNIFF: usize = 8 << 10;

/// The error for a file holding a NUL byte at byte `at` of its first 8 KiB: binary (or `/dev/zero`), not text.
fn binary(path: &Path, at: usize) -> Error {
    Error::InvalidData {
        path: path.into(),
        reason: format!(
            "this is not text (a NUL byte at byte {at}): measure a text, CSV, JSON Lines or BOLD JSON file"
        ),
    }
}

/// An error when the regular file `path` has a NUL byte in its first 8 KiB. Devices and pipes are not read here
/// (what is read from a pipe is gone): [`read_lines`] checks their first 8 KiB as it reads them.
fn refuse_binary(path: &Path) -> Result<()> {
    if !std::fs::metadata(path).is_ok_and(|m| m.is_file()) {
        return Ok(());
    }
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut start = Vec::with_capacity(BINARY_SNIFF);
    file.take(BINARY_SNIFF as u64).read_to_end(&mut start).map_err(Error::io(path))?;
    match start.iter().position(|&b| b == 0) {
        Some(at) => Err(binary(path, at)),
        None => Ok(()),
    }
}

/// Reads one line of `reader` into `line` (the `\n` included), keeping at most `cap` bytes of it: the bytes read,
/// and whether the line was longer than `cap` (the rest is read and dropped, so memory stays bounded). `offset` is
/// how many bytes of the input came before; a NUL byte within the input's first 8 KiB is `Err(Ok(position))`.
fn read_line_capped(
    reader: &mut impl BufRead,
    line: &mut Vec<u8>,
    cap: usize,
    offset: usize,
) -> std::result::Result<(usize, bool), std::result::Result<usize, std::io::Error>> {
    let (mut read, mut long) = (0, false);
    loop {
        let available = match reader.fill_buf() {
            Ok(bytes) => bytes,
            Err(err) if err.kind() == std::io::ErrorKind::Interrupted => continue,
            Err(err) => return Err(Err(err)),
        };
        if available.is_empty() {
            return Ok((read, long));
        }
        let (chunk, done) = match available.iter().position(|&b| b == b'\n') {
            Some(end) => (&available[..=end], true),
            None => (available, false),
        };
        let start = offset + read;
        if start < BINARY_SNIFF {
            let sniffed = &chunk[..chunk.len().min(BINARY_SNIFF - start)];
            if let Some(at) = sniffed.iter().position(|&b| b == 0) {
                return Err(Ok(start + at));
            }
        }
        let room = cap.saturating_sub(line.len());
        if chunk.len() > room {
            long = true;
        }
        line.extend_from_slice(&chunk[..chunk.len().min(room)]);
        let used = chunk.len();
        reader.consume(used);
        read += used;
        if done {
            return Ok((read, long));
        }
    }
}

/// Calls `each(measurer, line number, line)` for every line of `path` (invalid UTF-8 replaced by U+FFFD), until the
/// measurer is full; counts bytes on `progress`. Memory: one line at a time, at most [`MAX_LINE`] bytes of it (a
/// longer line is skipped and counted as a skipped row).
fn read_lines(
    path: &Path,
    measurer: &mut Measurer,
    progress: &ProgressBar,
    mut each: impl FnMut(&mut Measurer, u64, &str),
) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut reader = BufReader::with_capacity(1 << 16, file);
    let mut buffer = Vec::new();
    let mut number = 0_u64;
    let mut offset = 0_usize;
    let name = path.display().to_string();
    loop {
        buffer.clear();
        let (read, long) = match read_line_capped(&mut reader, &mut buffer, MAX_LINE, offset) {
            Ok(read) => read,
            Err(Ok(at)) => return Err(binary(path, at)),
            Err(Err(err)) => return Err(Error::io(path)(err)),
        };
        if read == 0 {
            break;
        }
        offset = offset.saturating_add(read);
        number += 1;
        progress.inc(read as u64);
        if long {
            measurer.skip_row(&name, number, too_long());
            continue;
        }
        let line = String::from_utf8_lossy(&buffer);
        let line = line.trim_end_matches(['\n', '\r']);
        // A UTF-8 byte-order mark at the start of the file is not text.
        let line = if number == 1 { line.trim_start_matches('\u{feff}') } else { line };
        each(measurer, number, line);
        if measurer.is_full() {
            break;
        }
    }
    Ok(())
}

fn read_csv(path: &Path, field: &str, measurer: &mut Measurer, progress: &ProgressBar) -> Result<()> {
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    read_csv_from(path, BufReader::with_capacity(1 << 16, file), field, measurer, progress)
}

fn read_csv_from(
    path: &Path,
    input: impl Read,
    field: &str,
    measurer: &mut Measurer,
    progress: &ProgressBar,
) -> Result<()> {
    let name = path.display().to_string();
    let invalid = |reason: String| Error::InvalidData { path: path.into(), reason };
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let headers = reader.headers().map_err(|err| invalid(format!("cannot read the CSV header: {err}")))?.clone();
    let column = headers.iter().position(|h| h.trim().trim_start_matches('\u{feff}') == field).ok_or_else(|| {
        invalid(format!(
            "no column {field:?} (the columns are {}): name the text column with --field",
            headers.iter().map(|h| format!("{h:?}")).collect::<Vec<_>>().join(", ")
        ))
    })?;
    let offset = crate::data::csv_line_offset(&reader);
    let mut record = csv::ByteRecord::new();
    let mut position = reader.position().byte();
    loop {
        let result = reader.read_byte_record(&mut record);
        let now = reader.position().byte();
        progress.inc(now.saturating_sub(position));
        position = now;
        match result {
            Ok(false) => break,
            Ok(true) => {
                let line = record.position().map_or(0, |p| p.line() + offset);
                if record.len() != headers.len() {
                    measurer.skip_row(
                        &name,
                        line,
                        format!("{} fields where the header has {}", record.len(), headers.len()),
                    );
                    continue;
                }
                match record.get(column).map(std::str::from_utf8) {
                    Some(Ok(text)) if text.len() > MAX_LINE => measurer.skip_row(&name, line, too_long()),
                    Some(Ok(text)) => measurer.add_text(text),
                    Some(Err(_)) => measurer.skip_row(&name, line, "not UTF-8"),
                    None => measurer.skip_row(&name, line, format!("no column {field:?}")),
                }
            }
            Err(err) => match err.kind() {
                csv::ErrorKind::Io(_) => return Err(invalid(format!("cannot read: {err}"))),
                _ => {
                    let line = err.position().map_or(0, |p| p.line() + offset);
                    measurer.skip_row(&name, line, err.to_string());
                }
            },
        }
        if measurer.is_full() {
            break;
        }
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------------------------
// Presentation
// ---------------------------------------------------------------------------------------------------------------

fn score(value: Option<f64>) -> String {
    value.map_or_else(|| "n/a".into(), |v| format!("{v:+.3}"))
}

impl NpmiGap {
    /// The row of `word` (lower-cased), if it is one.
    pub fn get(&self, word: &str) -> Option<&NpmiRow> {
        let word = word.trim().to_lowercase();
        self.rows.iter().find(|r| r.word == word)
    }

    /// The `n` words most skewed toward a (gap above 0), most skewed first.
    pub fn toward_a(&self, n: usize) -> Vec<&NpmiRow> {
        self.rows.iter().filter(|r| r.gap.is_some_and(|g| g > 0.0)).take(n).collect()
    }

    /// The `n` words most skewed toward b (gap below 0), most skewed first.
    pub fn toward_b(&self, n: usize) -> Vec<&NpmiRow> {
        self.rows.iter().rev().filter(|r| r.gap.is_some_and(|g| g < 0.0)).take(n).collect()
    }

    /// The same measurements restricted to `words` (for example [`crate::measure::words::OCCUPATIONS`]), in the same order.
    pub fn only<S: AsRef<str>>(&self, words: &[S]) -> NpmiGap {
        let words: HashSet<String> = words.iter().map(|w| w.as_ref().trim().to_lowercase()).collect();
        NpmiGap { rows: self.rows.iter().filter(|r| words.contains(&r.word)).cloned().collect(), ..self.clone() }
    }

    /// A diverging bar chart of the `n` words most skewed toward each side (toward a to the right), each labelled
    /// with its sentence counts with a and with b.
    pub fn chart(&self, n: usize) -> Result<Chart> {
        let label = |r: &NpmiRow| format!("{} ({}: {}, {}: {})", r.word, self.a, r.count_a, self.b, r.count_b);
        let mut rows: Vec<(String, f64)> =
            self.toward_a(n).into_iter().map(|r| (label(r), r.gap.unwrap_or(0.0))).collect();
        let mut toward_b: Vec<(String, f64)> =
            self.toward_b(n).into_iter().map(|r| (label(r), r.gap.unwrap_or(0.0))).collect();
        toward_b.reverse();
        rows.extend(toward_b);
        if rows.is_empty() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "no word leans toward {:?} or {:?} among the words in at least {} sentences: lower the minimum \
                     count or measure more text",
                    self.a, self.b, self.min_count
                ),
            });
        }
        Chart::diverging(
            format!("Words most skewed toward {} and {} (nPMI gap)", self.a, self.b),
            format!("nPMI({}) − nPMI({})", self.a, self.b),
            self.b.clone(),
            self.a.clone(),
            rows,
        )
    }

    /// An HTML table of the `n` words most skewed toward each side.
    pub fn to_html_top(&self, n: usize) -> String {
        let header = [
            "word".to_string(),
            "sentences".into(),
            format!("with {}", self.a),
            format!("with {}", self.b),
            format!("nPMI {}", self.a),
            format!("nPMI {}", self.b),
            "gap".into(),
        ];
        let header: Vec<&str> = header.iter().map(String::as_str).collect();
        let mut table = HtmlTable::new(&header, &[false, true, true, true, true, true, true]);
        let toward_a = self.toward_a(n);
        let toward_b = self.toward_b(n);
        for r in toward_a.iter().chain(toward_b.iter().rev()) {
            table.row(vec![
                escape(&r.word),
                r.count.to_string(),
                r.count_a.to_string(),
                r.count_b.to_string(),
                score(r.npmi_a),
                score(r.npmi_b),
                score(r.gap),
            ]);
        }
        let caption = format!(
            "nPMI gap {} − {} ({} sentences: {} with {}, {} with {}; words in ≥ {} sentences; {} rows)",
            escape(&self.a),
            escape(&self.b),
            self.sentences,
            self.sentences_a,
            escape(&self.a),
            self.sentences_b,
            escape(&self.b),
            self.min_count,
            self.rows.len()
        );
        table.caption(caption).to_html()
    }

    /// How many words per side the table shows (see [`SHOWN_IN_FULL`]).
    fn shown(&self) -> usize {
        if self.rows.len() <= SHOWN_IN_FULL {
            self.rows.len()
        } else {
            20
        }
    }

    /// The words leaning toward each side as HTML: all of them up to [`SHOWN_IN_FULL`] rows, else the 20 most
    /// skewed each way ([`NpmiGap::to_html_top`] for another number).
    pub fn to_html(&self) -> String {
        self.to_html_top(self.shown())
    }

    /// Shows the table in the evcxr Jupyter kernel.
    pub fn evcxr_display(&self) {
        display::emit_html_and_text(&self.to_html(), &self.to_string());
    }

    /// Writes every row as CSV: `word, count, count_<a>, count_<b>, npmi_<a>, npmi_<b>, gap` (empty when undefined).
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        let (a, b) = (&self.a, &self.b);
        writer
            .write_record([
                "word".to_string(),
                "count".into(),
                format!("count_{a}"),
                format!("count_{b}"),
                format!("npmi_{a}"),
                format!("npmi_{b}"),
                "gap".into(),
            ])
            .map_err(csv_error)?;
        let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
        for r in &self.rows {
            writer
                .write_record([
                    r.word.clone(),
                    r.count.to_string(),
                    r.count_a.to_string(),
                    r.count_b.to_string(),
                    opt(r.npmi_a),
                    opt(r.npmi_b),
                    opt(r.gap),
                ])
                .map_err(csv_error)?;
        }
        writer.flush().map_err(|source| Error::Io { path: "<csv output>".into(), source })
    }

    fn write_table(&self, f: &mut fmt::Formatter<'_>, n: usize) -> fmt::Result {
        writeln!(
            f,
            "nPMI gap {a} − {b}: {} sentences, {} with {a}, {} with {b}; words in at least {} sentences ({} rows)",
            self.sentences,
            self.sentences_a,
            self.sentences_b,
            self.min_count,
            self.rows.len(),
            a = self.a,
            b = self.b
        )?;
        let width = self.rows.iter().map(|r| r.word.chars().count()).max().unwrap_or(4).clamp(4, 30);
        let section = |f: &mut fmt::Formatter<'_>, title: String, rows: Vec<&NpmiRow>| -> fmt::Result {
            writeln!(f, "{title}")?;
            if rows.is_empty() {
                return writeln!(f, "  (none)");
            }
            writeln!(
                f,
                "  {:<width$} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7}",
                "word", "sentences", "with a", "with b", "nPMI a", "nPMI b", "gap"
            )?;
            for r in rows {
                writeln!(
                    f,
                    "  {:<width$} {:>9} {:>7} {:>7} {:>7} {:>7} {:>7}",
                    r.word,
                    r.count,
                    r.count_a,
                    r.count_b,
                    score(r.npmi_a),
                    score(r.npmi_b),
                    score(r.gap)
                )?;
            }
            Ok(())
        };
        section(f, format!("toward {} (a):", self.a), self.toward_a(n))?;
        section(f, format!("toward {} (b):", self.b), self.toward_b(n))?;
        let undefined = self.rows.iter().filter(|r| r.gap.is_none()).count();
        if undefined > 0 {
            writeln!(f, "{undefined} word(s) with no gap (nPMI n/a: a side never seen, or in every sentence)")?;
        }
        Ok(())
    }
}

impl fmt::Display for NpmiGap {
    /// Every word leaning either way when there are at most [`SHOWN_IN_FULL`] rows, else the 20 most skewed each way.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.write_table(f, self.shown())
    }
}

/// [`NpmiGap`]'s table and HTML show every row up to this many rows, and the 20 most skewed words per side past it.
pub const SHOWN_IN_FULL: usize = 60;

impl DatasetReport {
    /// The diverging chart of the `n` words most skewed toward each side of the pair ([`NpmiGap::chart`]).
    pub fn chart_skew(&self, n: usize) -> Result<Chart> {
        self.npmi.chart(n)
    }

    /// Horizontal bars of how often each identity term appears (tokens), labelled "term (list)".
    pub fn chart_terms(&self) -> Result<Chart> {
        if self.terms.is_empty() {
            return Err(Error::InvalidArgument { reason: "no term lists were measured".into() });
        }
        let rows = self.terms.iter().map(|t| (format!("{} ({})", t.term, t.list), t.count as f64)).collect();
        Chart::bars("Identity-term frequencies", "tokens", rows)
    }

    /// Writes the nPMI rows as CSV ([`NpmiGap::write_csv`]).
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        self.npmi.write_csv(out)
    }

    /// The report as HTML: composition, top words, term frequencies, and the words most skewed toward each side.
    pub fn to_html(&self) -> String {
        let c = &self.composition;
        let mut composition = HtmlTable::new(&["measure", "value"], &[false, true]);
        for (name, value) in self.composition_lines() {
            composition.row(vec![escape(&name), escape(&value)]);
        }
        let mut html = composition.caption("Composition".into()).to_html();
        if c.pruned.is_some() || c.duplicates_capped {
            let _ = write!(html, "<p>{}</p>", escape(&self.caveats().join(" ")));
        }
        let mut top = HtmlTable::new(&["word", "tokens", "sentences"], &[false, true, true]);
        for w in &self.top_words {
            top.row(vec![escape(&w.word), w.count.to_string(), w.sentences.to_string()]);
        }
        let stop = if self.keep_stopwords { "" } else { ", stopwords left out" };
        html.push_str(&top.caption(format!("Top {} words{stop}", self.top_words.len())).to_html());
        let mut terms = HtmlTable::new(&["list", "term", "tokens", "sentences"], &[false, false, true, true]);
        for t in &self.terms {
            terms.row(vec![escape(&t.list), escape(&t.term), t.count.to_string(), t.sentences.to_string()]);
        }
        html.push_str(&terms.caption("Identity terms".into()).to_html());
        html.push_str(&self.npmi.to_html_top(self.top));
        html
    }

    /// Shows the report in the evcxr Jupyter kernel.
    pub fn evcxr_display(&self) {
        display::emit_html_and_text(&self.to_html(), &self.to_string());
    }

    fn composition_lines(&self) -> Vec<(String, String)> {
        let c = &self.composition;
        let mut lines = vec![
            ("rows".to_string(), c.rows.to_string()),
            ("sentences".into(), c.sentences.to_string()),
            ("tokens".into(), c.tokens.to_string()),
            ("distinct words".into(), c.distinct_words.to_string()),
            ("words seen once".into(), c.words_seen_once.to_string()),
            ("tokens per sentence".into(), c.mean_sentence_tokens.map_or("n/a".into(), |m| format!("{m:.2}"))),
            ("empty rows".into(), c.empty_rows.to_string()),
            ("duplicate sentences".into(), c.duplicate_sentences.to_string()),
            ("skipped rows".into(), c.skipped_rows.to_string()),
        ];
        for s in &c.skipped {
            lines.push(("  skipped".into(), format!("{}:{}: {}", s.file, s.line, s.reason)));
        }
        lines
    }

    fn caveats(&self) -> Vec<String> {
        let c = &self.composition;
        let mut caveats = Vec::new();
        if let Some(p) = &c.pruned {
            caveats.push(format!(
                "The vocabulary was pruned {} time(s) ({} word entries forgotten, those in at most {} sentences): \
                 counts of rare words are lower bounds.",
                p.rounds, p.words_removed, p.threshold
            ));
        }
        if c.duplicates_capped {
            caveats.push(format!(
                "Duplicates were counted among the first {MAX_SENTENCE_HASHES} distinct sentences only (a lower bound)."
            ));
        }
        caveats
    }
}

impl fmt::Display for DatasetReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if !self.files.is_empty() {
            writeln!(f, "files: {}", self.files.join(", "))?;
        }
        writeln!(f, "Composition")?;
        for (name, value) in self.composition_lines() {
            writeln!(f, "  {name:<22} {value}")?;
        }
        for caveat in self.caveats() {
            writeln!(f, "  note: {caveat}")?;
        }
        let stop = if self.keep_stopwords { "" } else { ", stopwords left out" };
        writeln!(f, "Top {} words{stop}: {}", self.top_words.len(), {
            let words: Vec<String> = self.top_words.iter().map(|w| format!("{} {}", w.word, w.count)).collect();
            words.join(", ")
        })?;
        writeln!(f, "Identity terms (tokens / sentences)")?;
        for t in &self.terms {
            writeln!(f, "  {:<8} {:<12} {:>9} {:>9}", t.list, t.term, t.count, t.sentences)?;
        }
        self.npmi.write_table(f, self.top)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EPS: f64 = 1e-12;

    fn options(min_count: u64) -> MeasureOptions {
        MeasureOptions { min_count, ..MeasureOptions::default() }
    }

    #[test]
    fn npmi_conventions() {
        // Perfect association: x and y always together, in 2 of 5 sentences: ln(5/2) / ln(5/2) = 1.
        assert!((npmi(2, 2, 2, 5).unwrap() - 1.0).abs() < EPS);
        // Never together: the limit −1.
        assert_eq!(npmi(0, 2, 3, 5), Some(-1.0));
        // Independent: p(x,y) = p(x) p(y) = 1/2 · 1/2 over 4 sentences: 0.
        assert!(npmi(1, 2, 2, 4).unwrap().abs() < EPS);
        // Undefined: no sentence, an unseen word, every sentence holds both (a one-sentence corpus), impossible counts.
        assert_eq!(npmi(0, 0, 0, 0), None);
        assert_eq!(npmi(1, 1, 1, 0), None);
        assert_eq!(npmi(0, 0, 3, 5), None);
        assert_eq!(npmi(0, 3, 0, 5), None);
        assert_eq!(npmi(1, 1, 1, 1), None);
        assert_eq!(npmi(3, 3, 3, 3), None);
        assert_eq!(npmi(3, 2, 3, 5), None);
        assert_eq!(npmi(1, 6, 3, 5), None);
    }

    /// The hand-made corpus, pair she/he, min_count 1, stopwords (is, a, the, and) left out:
    ///
    /// 1. "She is a nurse."      she
    /// 2. "She met the doctor."  she
    /// 3. "He is a doctor."      he
    /// 4. "He and she talked."   she, he
    /// 5. "The nurse smiled."
    ///
    /// n = 5; she in 3 sentences (1, 2, 4), he in 2 (3, 4).
    /// * met: 1 sentence, 1 with she, 0 with he. nPMI(she) = ln(1·5/(1·3)) / ln(5/1) = ln(5/3)/ln 5 = 0.317394;
    ///   nPMI(he) = −1 (never together); gap = 1.317394.
    /// * nurse: 2 sentences (1, 5), 1 with she, 0 with he. nPMI(she) = ln(5/6)/ln 5 = −0.113283; nPMI(he) = −1;
    ///   gap = 0.886717.
    /// * smiled: 1 sentence, with neither: −1 and −1, gap 0.
    /// * doctor: 2 sentences (2, 3), 1 with each. nPMI(she) = ln(5/6)/ln 5 = −0.113283; nPMI(he) = ln(5/4)/ln 5 =
    ///   0.138647; gap = ln(2/3)/ln 5 = −0.251929.
    /// * talked: 1 sentence (4), with both. nPMI(she) = ln(5/3)/ln 5 = 0.317394; nPMI(he) = ln(5/2)/ln 5 =
    ///   0.569323; gap = ln(2/3)/ln 5 = −0.251929, the same as doctor: tied, so by word (doctor, talked).
    const CORPUS: [&str; 5] =
        ["She is a nurse.", "She met the doctor.", "He is a doctor.", "He and she talked.", "The nurse smiled."];

    #[test]
    fn npmi_on_a_hand_made_corpus() {
        let report = measure_texts(CORPUS, &options(1)).unwrap();
        let gap = &report.npmi;
        assert_eq!((gap.sentences, gap.sentences_a, gap.sentences_b), (5, 3, 2));
        let words: Vec<&str> = gap.rows.iter().map(|r| r.word.as_str()).collect();
        assert_eq!(words, ["met", "nurse", "smiled", "doctor", "talked"]);
        let ln5 = 5f64.ln();
        let expect = |word: &str, counts: (u64, u64, u64), a: f64, b: f64| {
            let r = gap.get(word).unwrap();
            assert_eq!((r.count, r.count_a, r.count_b), counts, "{word}");
            assert!((r.npmi_a.unwrap() - a).abs() < EPS, "{word}: {:?} vs {a}", r.npmi_a);
            assert!((r.npmi_b.unwrap() - b).abs() < EPS, "{word}: {:?} vs {b}", r.npmi_b);
            assert!((r.gap.unwrap() - (a - b)).abs() < EPS, "{word}");
        };
        expect("met", (1, 1, 0), (5.0 / 3.0f64).ln() / ln5, -1.0);
        expect("nurse", (2, 1, 0), (5.0 / 6.0f64).ln() / ln5, -1.0);
        expect("smiled", (1, 0, 0), -1.0, -1.0);
        expect("doctor", (2, 1, 1), (5.0 / 6.0f64).ln() / ln5, (5.0 / 4.0f64).ln() / ln5);
        expect("talked", (1, 1, 1), (5.0 / 3.0f64).ln() / ln5, (5.0 / 2.0f64).ln() / ln5);
        assert!((gap.get("met").unwrap().gap.unwrap() - 1.317394).abs() < 1e-6);
        assert!((gap.get("doctor").unwrap().gap.unwrap() + 0.251929).abs() < 1e-6);
        // The pair's words are not rows; stopwords are not rows unless kept.
        assert!(gap.get("she").is_none() && gap.get("he").is_none() && gap.get("is").is_none());
        let kept = measure_texts(CORPUS, &MeasureOptions { keep_stopwords: true, ..options(1) }).unwrap();
        assert_eq!(kept.npmi.get("is").map(|r| (r.count, r.count_a, r.count_b)), Some((2, 1, 1)));
        assert!(kept.npmi.get("she").is_none());
        // Toward she: met, nurse; toward he: doctor/talked tie, ordered from the b end (talked first).
        let toward_a: Vec<&str> = gap.toward_a(5).iter().map(|r| r.word.as_str()).collect();
        assert_eq!(toward_a, ["met", "nurse"]);
        let toward_b: Vec<&str> = gap.toward_b(5).iter().map(|r| r.word.as_str()).collect();
        assert_eq!(toward_b, ["talked", "doctor"]);
        // min_count 2 keeps nurse and doctor only.
        let two = measure_texts(CORPUS, &options(2)).unwrap();
        let words: Vec<&str> = two.npmi.rows.iter().map(|r| r.word.as_str()).collect();
        assert_eq!(words, ["nurse", "doctor"]);
        let only = gap.only(&["Doctor", "nurse", "absent"]);
        assert_eq!(only.rows.len(), 2);
        // Composition: 5 rows, 5 sentences, 4+4+4+4+3 = 19 tokens.
        let c = &report.composition;
        assert_eq!((c.rows, c.sentences, c.tokens, c.duplicate_sentences), (5, 5, 19, 0));
        assert!((c.mean_sentence_tokens.unwrap() - 3.8).abs() < EPS);
        // she, is, a, nurse, met, the, doctor, he, and, talked, smiled: 11 distinct; seen once: met, and, talked,
        // smiled (she ×3, he ×2, is ×2, a ×2, the ×2, nurse ×2, doctor ×2).
        assert_eq!((c.distinct_words, c.words_seen_once), (11, 4));
        let she = report.terms.iter().find(|t| t.term == "she").unwrap();
        assert_eq!((she.list.as_str(), she.count, she.sentences), ("female", 3, 3));
        // The text table, CSV and charts work.
        let text = report.to_string();
        assert!(text.contains("toward she (a)") && text.contains("met"), "{text}");
        let mut csv = Vec::new();
        report.write_csv(&mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert!(csv.starts_with("word,count,count_she,count_he,npmi_she,npmi_he,gap\nmet,1,1,0,"), "{csv}");
        assert!(report.chart_skew(3).is_ok() && report.chart_terms().is_ok());
        assert!(report.to_html().contains("Composition"));
    }

    #[test]
    fn degenerate_corpora() {
        // One sentence holding both: p(x,y) = 1 for every word with she → undefined.
        let one = measure_texts(["She and he smiled."], &options(1)).unwrap();
        let r = one.npmi.get("smiled").unwrap();
        assert_eq!((r.npmi_a, r.npmi_b, r.gap), (None, None, None));
        assert!(one.to_string().contains("n/a"));
        // No text at all: n = 0, every probability undefined, no rows, and no panic anywhere.
        let empty = measure_texts(Vec::<String>::new(), &options(1)).unwrap();
        assert_eq!((empty.npmi.sentences, empty.npmi.rows.len()), (0, 0));
        assert_eq!(empty.composition.mean_sentence_tokens, None);
        assert!(empty.chart_skew(5).is_err());
        let _ = empty.to_string();
        // A term never seen: nPMI with it undefined.
        let no_he = measure_texts(["She smiled.", "They smiled."], &options(1)).unwrap();
        let r = no_he.npmi.get("smiled").unwrap();
        assert_eq!((r.npmi_b, r.gap), (None, None));
        // Term lists as sides: "female" counts a sentence holding any of its words.
        let lists = MeasureOptions { pair: ("female".into(), "male".into()), ..options(1) };
        let report = measure_texts(["Her mother sang.", "His son sang.", "The cat sat."], &lists).unwrap();
        assert_eq!((report.npmi.sentences_a, report.npmi.sentences_b), (1, 1));
        assert!(report.npmi.get("mother").is_none() && report.npmi.get("sang").is_some());
        // Bad pairs are clear errors.
        for pair in [("she", "she"), ("she", "two words"), ("", "he")] {
            let bad = MeasureOptions { pair: (pair.0.into(), pair.1.into()), ..options(1) };
            assert!(matches!(Measurer::new(&bad), Err(Error::InvalidArgument { .. })), "{pair:?}");
        }
    }

    #[test]
    fn duplicates_and_pruning() {
        let report = measure_texts(["She ran. She ran.", "she ran.", "He sat."], &options(1)).unwrap();
        // "She ran." twice (exact text); "she ran." differs in case, so is not a duplicate.
        assert_eq!((report.composition.sentences, report.composition.duplicate_sentences), (4, 1));
        let small = MeasureOptions { max_vocab: 10, ..options(1) };
        let texts: Vec<String> = (0..50).map(|i| format!("she word{i} common")).collect();
        let report = measure_texts(&texts, &small).unwrap();
        let pruned = report.composition.pruned.clone().unwrap();
        assert!(pruned.rounds >= 1 && pruned.words_removed > 0 && pruned.threshold == 1, "{pruned:?}");
        assert!(report.composition.distinct_words <= 10);
        // Identity terms and frequent words survive with their exact counts.
        assert_eq!(report.terms.iter().find(|t| t.term == "she").unwrap().count, 50);
        assert_eq!(report.top_words.iter().find(|w| w.word == "common").unwrap().count, 50);
        assert!(report.to_string().contains("pruned"));
    }

    #[test]
    fn tokenising_and_splitting() {
        assert_eq!(
            tokenize("She's a Nurse_1, don't—Ça va! x"),
            ["she", "s", "a", "nurse_1", "don", "t", "ça", "va", "x"]
        );
        assert!(tokenize(" — … ").is_empty());
        assert_eq!(
            split_sentences("She left. He stayed! \"Why?\" 3 more. e.g. the end"),
            ["She left.", "He stayed!", "\"Why?\"", "3 more. e.g. the end"]
        );
        assert_eq!(split_sentences("Version 2.0 is out.Next"), ["Version 2.0 is out.Next"]);
        assert_eq!(split_sentences("  "), Vec::<&str>::new());
        assert_eq!(split_sentences("Ends here.  "), ["Ends here."]);
        assert!(is_stopword("the") && is_stopword("98") && !is_stopword("99") && !is_stopword("nurse"));
        assert!(!is_stopword("05") && is_stopword("5"));
        let mut m = Measurer::new(&options(1)).unwrap().split_sentences(false);
        m.add_text("One. Two.");
        m.add_text("   ");
        assert_eq!((m.rows, m.sentences, m.empty_rows), (2, 1, 1));
    }

    #[test]
    fn term_lists() {
        let female = TermList::female();
        assert!(female.terms.contains(&"she".to_string()) && female.terms.contains(&"woman".to_string()));
        assert!(TermList::male().terms.contains(&"himself".to_string()));
        assert_eq!(TermList::gender().len(), 2);
        let list = TermList::parse("nurses = Nurse, nurses ,,").unwrap();
        assert_eq!((list.name.as_str(), list.terms.clone()), ("nurses", vec!["nurse".to_string(), "nurses".into()]));
        assert!(TermList::parse("no equals sign").is_err());
        assert!(TermList::parse("x=").is_err());
        assert!(TermList::parse("=a").is_err());
        assert!(TermList::parse("x=non binary").is_err());
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("kin.txt");
        std::fs::write(&path, "# kin\naunt\n\nUncle\n").unwrap();
        assert_eq!(
            TermList::read(&path).unwrap(),
            TermList { name: "kin".into(), terms: vec!["aunt".into(), "uncle".into()] }
        );
        assert!(matches!(TermList::read(&dir.path().join("missing.txt")), Err(Error::Io { .. })));
        assert_eq!("JSONL".parse::<Format>().unwrap(), Format::Jsonl);
        assert!("xml".parse::<Format>().is_err());
    }

    fn measure_file(name: &str, content: &[u8], read: &ReadOptions) -> Result<DatasetReport> {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join(name);
        std::fs::write(&path, content).unwrap();
        measure_files(&[path], read, &options(1))
    }

    #[test]
    fn readers() {
        let read = ReadOptions::default();
        // Text: a line per row; a blank line is an empty row; invalid UTF-8 does not stop the file.
        let text = measure_file("a.txt", b"She ran. He sat.\n\n\xffHe ran\n", &read).unwrap();
        let c = &text.composition;
        assert_eq!((c.rows, c.sentences, c.empty_rows, c.skipped_rows), (3, 3, 1, 0));
        // JSON Lines: bad JSON, a missing field and a non-string are skipped with their lines.
        let jsonl = "{\"text\": \"She ran.\"}\nnot json\n{\"other\": 1}\n\n{\"text\": 5}\n{\"text\": \"He sat.\"}\n";
        let report = measure_file("a.jsonl", jsonl.as_bytes(), &read).unwrap();
        let c = &report.composition;
        assert_eq!((c.rows, c.sentences, c.skipped_rows), (2, 2, 3));
        let lines: Vec<u64> = c.skipped.iter().map(|s| s.line).collect();
        assert_eq!(lines, [2, 3, 5]);
        // Another field.
        let other = ReadOptions { field: "body".into(), format: Format::Jsonl, ..ReadOptions::default() };
        let report = measure_file("a.txt", b"{\"body\": \"She ran.\"}\n", &other).unwrap();
        assert_eq!(report.composition.sentences, 1);
        // CSV: quoted cells with commas and new lines; a row with the wrong number of fields is skipped.
        let csv = "id,text\n1,\"She ran, fast. He sat.\"\n2\n3,\"Line one\nline two\"\n";
        let report = measure_file("a.csv", csv.as_bytes(), &read).unwrap();
        let c = &report.composition;
        assert_eq!((c.rows, c.sentences, c.skipped_rows), (2, 3, 1));
        assert_eq!(c.skipped[0].line, 3);
        let err = measure_file("b.csv", b"id,body\n1,x\n", &read).unwrap_err();
        assert!(err.to_string().contains("no column \"text\""), "{err}");
        // BOLD, and a .json that is not BOLD read as text.
        let bold = r#"{"g": {"Jane_Doe": ["Jane Doe is a nurse.", "She was born in 1950. She is a nurse."]}}"#;
        let report = measure_file("b.json", bold.as_bytes(), &read).unwrap();
        assert_eq!((report.composition.rows, report.composition.sentences), (2, 3));
        let report = measure_file("c.json", b"[\"She ran.\"]\n", &read).unwrap();
        assert_eq!(report.composition.rows, 1);
        let forced = ReadOptions { format: Format::Bold, ..ReadOptions::default() };
        assert!(matches!(measure_file("c.json", b"[1]", &forced), Err(Error::InvalidData { .. })));
        // Entirely unusable files, empty files and missing files are errors.
        let err = measure_file("bad.jsonl", b"nope\n{\"x\": 1}\n", &read).unwrap_err();
        assert!(matches!(err, Error::InvalidData { .. }) && err.to_string().contains("line 1"), "{err}");
        assert!(matches!(measure_file("empty.txt", b"", &read), Err(Error::InvalidData { .. })));
        let missing = measure_files(&[PathBuf::from("/nonexistent/x.txt")], &read, &options(1));
        assert!(matches!(missing, Err(Error::Io { .. })));
        // A sentence limit stops reading.
        let limited = ReadOptions { limit: Some(2), ..ReadOptions::default() };
        let report = measure_file("l.txt", b"A b. C d. E f.\nG h.\n", &limited).unwrap();
        assert_eq!(report.composition.sentences, 2);
    }
}
