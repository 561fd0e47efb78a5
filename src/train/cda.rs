//! Counterfactual data augmentation (CDA): copies of training sentences with the gendered words swapped
//! ("he" ↔ "she", "man" ↔ "woman", …), so that fine-tuning on the augmented text sees every context with both
//! genders. This is the mitigation of lab 03 (mitigation by fine-tuning).
//!
//! # Where the method comes from
//!
//! - Lu, Mardziel, Wu, Amancharla & Datta, *Gender Bias in Neural Natural Language Processing* (2020; first as
//!   arXiv:1807.11714, 2018): CDA, i.e. add to the corpus a copy of each sentence with every word of a list of
//!   gendered word pairs replaced by its counterpart.
//! - Zmigrod, Mielke, Wallach & Cotterell, *Counterfactual Data Augmentation for Mitigating Gender Stereotypes in
//!   Languages with Rich Morphology* (ACL 2019): why naive word swapping can produce ungrammatical text, and the
//!   morphological agreement a full solution needs (this module does plain English word swapping only).
//! - Webster, Wang, Tenney, Beutel, Pitler, Pavlick, Chen, Chi & Petrov, *Measuring and Reducing Gendered
//!   Correlations in Pre-trained Models* (arXiv:2010.06032, 2020): **two-sided** CDA — train on the original
//!   *and* the swapped sentence, so that neither direction is favoured.
//! - Barikeri, Lauscher, Vulić & Glavaš, *RedditBias* (ACL 2021), and Meade, Poole-Dayan & Reddy, *An Empirical
//!   Survey of the Effectiveness of Debiasing Techniques for Pre-trained Language Models* (ACL 2022), whose code
//!   `McGill-NLP/bias-bench` (commit 291426aab926f78ecfc7bd040b531429ee8123e0) applies two-sided CDA in
//!   `experiments/run_mlm.py` (`gender_counterfactual_augmentation`) with the word pairs of
//!   `data/bias_attribute_words.json` (key `"gender"`).
//!
//! # The built-in list ([`WordPairs::gender`])
//!
//! It starts from bias-bench's 57 gender pairs and keeps them one-to-one: bias-bench lists some words in two pairs
//! (`guy/gal` and `guy/girl`, `gentleman/lady` and `lord/lady`, `sir/ma'am` and `sir/miss`, `mr./mrs.` and
//! `mr./ms.`), where its loop lets the last pair win; here `guy/gal`, `gentleman/lady`, `sir/madam` and `mr/mrs` are
//! kept, `lord/lady`, `mr/ms`, `sir/miss` and `dude/chick` dropped. Words are letters only (see below), so
//! `mr.`/`mrs.` become `mr`/`mrs` and the full stop is kept as text. The lab adds common pairs bias-bench lacks
//! (waiter/waitress, nephew/niece, grandfather/grandmother, boyfriend/girlfriend, monk/nun, policeman/policewoman,
//! …), each with its plural. There are no first names.
//!
//! # How a sentence is swapped ([`WordPairs::swap`])
//!
//! - A *word* is a maximal run of alphabetic characters (Unicode `char::is_alphabetic`). Everything else — spaces,
//!   punctuation, digits, apostrophes — is copied byte for byte, so "man's" → "woman's", "(He)" → "(She)",
//!   "MEN," → "WOMEN,". (bias-bench splits on white space and matches the words with six punctuation marks
//!   appended; a word-character rule catches the rest, e.g. "(he" or "man's".)
//! - Words are looked up lower-cased, every occurrence is swapped, and a word in no pair is left alone.
//! - Case is kept: an all-lower-case word gets the lower-case counterpart, a Capitalised word (first letter upper
//!   case, the rest lower case; or a one-letter upper-case word) a Capitalised counterpart, an ALL-UPPER-CASE word
//!   of two letters or more an upper-case counterpart. Any other mixture ("hE", "McMan") gets the lower-case
//!   counterpart as it is.
//!
//! # his / her / him / hers
//!
//! English "her" is both the object pronoun (counterpart "him") and the possessive determiner (counterpart
//! "his"), and "his" is both the determiner (counterpart "her") and the possessive pronoun ("hers"). bias-bench
//! maps "her" always to "his" (its last pair wins) and "his" always to "her". Here a small rule looks at the next
//! token instead (it applies when the list holds the pairs him/her, his/her and his/hers, as the built-in list
//! does):
//!
//! - "him" → "her", "hers" → "his", "himself" → "herself": always.
//! - "his" → "hers" when no word follows it: end of the text, or the next non-space character is punctuation other
//!   than an apostrophe or hyphen ("the book is his." → "the book is hers."); otherwise "his" → "her".
//! - "her" → "him" when nothing follows it, when the next non-space character is punctuation (other than an
//!   apostrophe or hyphen), or when the next word is in a small closed list of words that cannot follow a
//!   possessive determiner ([`NOT_AFTER_POSSESSIVE`]: prepositions, conjunctions, articles and other determiners,
//!   pronouns, particles, auxiliaries, some adverbs): "I gave her the book" → "I gave him the book", "tell her
//!   about it" → "tell him about it", "I saw her." → "I saw him.". Otherwise (another word, a digit) "her" → "his":
//!   "her book" → "his book".
//!
//! Every "his"/"her" decided this way is counted ([`Swapped::ambiguous`], [`CdaStats::her_to_his`],
//! [`CdaStats::her_to_him`], [`CdaStats::his_to_hers`]). The rule is a heuristic and it fails, for example:
//!
//! - a verb or adjective after object "her": "I saw her run" → "I saw **his** run", "made her happy" → "made
//!   **his** happy", "gave her books" → "gave **his** books";
//! - a closed-list word after possessive "her": "her very own room" → "**him** very own room", "her up-bringing";
//! - possessive "his" before a quote or bracket: `his "best" friend` → `hers "best" friend`;
//! - a sentence break without punctuation ("… with her \n Then …" is read as "her Then").
//!
//! So the swap is not always an involution: "gave him books" → "gave her books" → "gave his books". On sentences
//! with no his/her in them it is one (each other pair is one-to-one).
//!
//! # Two-sided augmentation ([`WordPairs::augment`])
//!
//! The output holds every original sentence and, right after each sentence that changed, its swapped copy;
//! sentences without a listed word are not duplicated. bias-bench differs in two ways: it puts the swapped copy
//! *before* the original, and it keeps only the examples that changed (the unchanged ones are dropped from its
//! CDA training data); it also works on 128-token blocks of already tokenised and decoded text, not on sentences.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::view::display::{self, escape, palette, HtmlTable};

/// The built-in gender pairs: male word first. The pronoun pairs him/her, his/her and his/hers are resolved by the
/// rule in the module documentation.
const GENDER_PAIRS: &[(&str, &str)] = &[
    ("he", "she"),
    ("him", "her"),
    ("his", "her"),
    ("his", "hers"),
    ("himself", "herself"),
    ("man", "woman"),
    ("men", "women"),
    ("boy", "girl"),
    ("boys", "girls"),
    ("guy", "gal"),
    ("guys", "gals"),
    ("father", "mother"),
    ("fathers", "mothers"),
    ("dad", "mom"),
    ("dads", "moms"),
    ("daddy", "mommy"),
    ("daddies", "mommies"),
    ("son", "daughter"),
    ("sons", "daughters"),
    ("brother", "sister"),
    ("brothers", "sisters"),
    ("husband", "wife"),
    ("husbands", "wives"),
    ("boyfriend", "girlfriend"),
    ("boyfriends", "girlfriends"),
    ("groom", "bride"),
    ("grooms", "brides"),
    ("uncle", "aunt"),
    ("uncles", "aunts"),
    ("nephew", "niece"),
    ("nephews", "nieces"),
    ("grandfather", "grandmother"),
    ("grandfathers", "grandmothers"),
    ("grandpa", "grandma"),
    ("grandpas", "grandmas"),
    ("grandson", "granddaughter"),
    ("grandsons", "granddaughters"),
    ("stepfather", "stepmother"),
    ("stepfathers", "stepmothers"),
    ("stepson", "stepdaughter"),
    ("stepsons", "stepdaughters"),
    ("gentleman", "lady"),
    ("gentlemen", "ladies"),
    ("sir", "madam"),
    ("mr", "mrs"),
    ("male", "female"),
    ("males", "females"),
    ("king", "queen"),
    ("kings", "queens"),
    ("prince", "princess"),
    ("princes", "princesses"),
    ("duke", "duchess"),
    ("dukes", "duchesses"),
    ("emperor", "empress"),
    ("emperors", "empresses"),
    ("monk", "nun"),
    ("monks", "nuns"),
    ("actor", "actress"),
    ("actors", "actresses"),
    ("waiter", "waitress"),
    ("waiters", "waitresses"),
    ("steward", "stewardess"),
    ("stewards", "stewardesses"),
    ("widower", "widow"),
    ("widowers", "widows"),
    ("fiance", "fiancee"),
    ("fiances", "fiancees"),
    ("schoolboy", "schoolgirl"),
    ("schoolboys", "schoolgirls"),
    ("businessman", "businesswoman"),
    ("businessmen", "businesswomen"),
    ("chairman", "chairwoman"),
    ("chairmen", "chairwomen"),
    ("spokesman", "spokeswoman"),
    ("spokesmen", "spokeswomen"),
    ("policeman", "policewoman"),
    ("policemen", "policewomen"),
    ("congressman", "congresswoman"),
    ("congressmen", "congresswomen"),
    ("salesman", "saleswoman"),
    ("salesmen", "saleswomen"),
    ("airman", "airwoman"),
    ("airmen", "airwomen"),
    ("headmaster", "headmistress"),
    ("headmasters", "headmistresses"),
    ("landlord", "landlady"),
    ("landlords", "landladies"),
    ("brotherhood", "sisterhood"),
    ("paternal", "maternal"),
    ("paternity", "maternity"),
    ("masculine", "feminine"),
];

/// Words that cannot follow a possessive determiner: after "her", they make it the object pronoun ("gave her the
/// book" → "gave him the book"). Prepositions, conjunctions, articles and other determiners, pronouns, particles,
/// auxiliaries and some adverbs. Words that can also follow a possessive ("all", "every", "own", "first", "home",
/// "well", …) are left out on purpose.
#[rustfmt::skip]
pub const NOT_AFTER_POSSESSIVE: &[&str] = &[
    "a", "about", "across", "after", "again", "against", "ago", "already", "also", "am", "an", "and", "any",
    "anything", "are", "around", "as", "at", "away", "back", "be", "because", "been", "before", "behind", "being",
    "below", "beside", "between", "but", "by", "can", "could", "did", "do", "does", "down", "during", "either",
    "everything", "for", "from", "had", "has", "have", "he", "her", "here", "hers", "him", "his", "how", "i", "if",
    "in", "into", "is", "it", "its", "just", "like", "may", "me", "might", "must", "my", "neither", "nor", "not",
    "nothing", "now", "of", "off", "on", "onto", "or", "our", "out", "over", "please", "shall", "she",
    "should", "since", "so", "some", "something", "than", "that", "the", "their", "them", "then", "there", "these",
    "they", "this", "those", "through", "to", "today", "tomorrow", "tonight", "too", "toward", "towards", "under",
    "until", "up", "upon", "us", "very", "was", "we", "were", "what", "when", "where", "which", "while", "who",
    "whom", "whose", "why", "will", "with", "within", "without", "would", "yesterday", "yet", "you", "your",
];

/// A two-way list of word pairs (male word first in the built-in list): what [`WordPairs::swap`] replaces.
#[derive(Debug, Clone, Serialize)]
pub struct WordPairs {
    /// The pairs as given, lower-cased.
    pairs: Vec<(String, String)>,
    /// Lower-case word → lower-case counterpart (for "her" and "his", the default when both readings exist:
    /// "his" and "her").
    map: BTreeMap<String, String>,
    /// Whether "her" is decided by the next token (the list has both him/her and his/her).
    her_rule: bool,
    /// Whether "his" is decided by the next token (the list has both his/her and his/hers).
    his_rule: bool,
}

/// One replaced word.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swap {
    /// The word as it was in the text.
    pub from: String,
    /// What it became (case kept).
    pub to: String,
    /// Where the word starts in the original text, in bytes.
    pub byte_offset: usize,
}

/// A sentence and its counterfactual.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Swapped {
    /// The sentence as given.
    pub original: String,
    /// The sentence with every listed word swapped.
    pub text: String,
    /// The replaced words, in text order.
    pub swaps: Vec<Swap>,
    /// How many "his"/"her" were decided by the next-token rule (see the module documentation).
    pub ambiguous: usize,
}

/// Counts of one augmentation run.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CdaStats {
    /// Sentences given.
    pub input_sentences: usize,
    /// Sentences with at least one swapped word.
    pub changed_sentences: usize,
    /// Sentences out: `input_sentences + changed_sentences`.
    pub output_sentences: usize,
    /// Words swapped in all.
    pub swaps: usize,
    /// (from, to, count), lower-cased, most frequent first, ties by `from` then `to`.
    pub per_word: Vec<(String, String, usize)>,
    /// "her" read as a possessive determiner and made "his".
    pub her_to_his: usize,
    /// "her" read as an object pronoun and made "him".
    pub her_to_him: usize,
    /// "his" read as a possessive pronoun (no word after it) and made "hers".
    pub his_to_hers: usize,
}

/// The two-sided augmented corpus.
#[derive(Debug, Clone, Serialize)]
pub struct Augmented {
    /// Every original sentence, each one that changed followed by its swapped copy.
    pub sentences: Vec<String>,
    /// What was done.
    pub stats: CdaStats,
}

/// The pronoun pairs that may share a word, in the orientation male → female.
const PRONOUN_PAIRS: [(&str, &str); 3] = [("him", "her"), ("his", "her"), ("his", "hers")];

fn is_word(word: &str) -> bool {
    !word.is_empty() && word.chars().all(char::is_alphabetic)
}

impl WordPairs {
    /// The built-in English gender list (see the module documentation for its source): 91 pairs, plurals
    /// included, with the his/her/him/hers rule.
    pub fn gender() -> Self {
        let pairs: Vec<(String, String)> = GENDER_PAIRS.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        match Self::build(pairs) {
            Ok(list) => list,
            // Unreachable: the built-in list is checked by a unit test. Never panic in a notebook.
            Err((_, _)) => Self { pairs: Vec::new(), map: BTreeMap::new(), her_rule: false, his_rule: false },
        }
    }

    /// A list from pairs of words (letters only; case does not matter). Each word may be in one pair only,
    /// except the English pronoun pairs him/her, his/her and his/hers, which may be given together and then
    /// switch on the his/her rule of the module documentation.
    ///
    /// # Errors
    /// [`Error::InvalidArgument`] when the list is empty, a word is empty or not only letters, a pair is a word with
    /// itself, or a word is in two pairs.
    pub fn from_pairs(pairs: &[(&str, &str)]) -> Result<Self> {
        if pairs.is_empty() {
            return Err(Error::InvalidArgument { reason: "the list of word pairs is empty".into() });
        }
        let owned = pairs.iter().map(|(a, b)| (a.to_string(), b.to_string())).collect();
        Self::build(owned).map_err(|(index, reason)| Error::InvalidArgument {
            reason: match pairs.get(index) {
                Some((a, b)) => format!("pair {} ({a:?}, {b:?}): {reason}", index + 1),
                None => reason,
            },
        })
    }

    /// A list from a text file: one pair a line, two words separated by a tab or a comma; blank lines and lines
    /// starting with `#` are skipped.
    ///
    /// # Errors
    /// [`Error::Io`] when the file cannot be read; [`Error::InvalidData`] naming the line when a line is not two
    /// words, a word is in two pairs, or the file has no pairs.
    pub fn from_file(path: &Path) -> Result<Self> {
        let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
        Self::parse(&text, path)
    }

    /// [`WordPairs::from_file`] on a text already read (`path` is for the messages).
    pub fn parse(text: &str, path: &Path) -> Result<Self> {
        let invalid = |reason: String| Error::InvalidData { path: path.to_path_buf(), reason };
        let mut pairs = Vec::new();
        let mut lines = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let number = i + 1;
            let trimmed = line.trim().trim_start_matches('\u{feff}').trim();
            if trimmed.is_empty() || trimmed.starts_with('#') {
                continue;
            }
            let fields: Vec<&str> =
                if trimmed.contains('\t') { trimmed.split('\t').collect() } else { trimmed.split(',').collect() };
            let fields: Vec<&str> = fields.iter().map(|f| f.trim()).collect();
            match fields.as_slice() {
                [a, b] if is_word(a) && is_word(b) => {
                    pairs.push((a.to_string(), b.to_string()));
                    lines.push(number);
                }
                [a, b] => {
                    let bad = if is_word(a) { b } else { a };
                    return Err(invalid(format!(
                        "line {number}: {bad:?} is not a word (a word is letters only, like \"actress\")"
                    )));
                }
                _ => {
                    return Err(invalid(format!(
                    "line {number}: expected two words separated by a tab or a comma, found {} field(s) in {trimmed:?}",
                    fields.len()
                )))
                }
            }
        }
        if pairs.is_empty() {
            return Err(invalid("no word pairs in the file (one pair a line: \"actor,actress\")".into()));
        }
        Self::build(pairs).map_err(|(index, reason)| match lines.get(index) {
            Some(number) => invalid(format!("line {number}: {reason}")),
            None => invalid(reason),
        })
    }

    /// Checks and indexes the pairs; an error names the index of the pair at fault.
    fn build(pairs: Vec<(String, String)>) -> std::result::Result<Self, (usize, String)> {
        if pairs.is_empty() {
            return Err((0, "the list of word pairs is empty".into()));
        }
        let mut lowered = Vec::with_capacity(pairs.len());
        let mut map = BTreeMap::new();
        // word -> index of the pair it is in
        let mut owner: HashMap<String, usize> = HashMap::new();
        // which of PRONOUN_PAIRS is present, and where
        let mut pronoun: [Option<usize>; 3] = [None; 3];
        for (index, (a, b)) in pairs.iter().enumerate() {
            for word in [a, b] {
                if !is_word(word) {
                    return Err((index, format!("{word:?} is not a word (a word is letters only, like \"actress\")")));
                }
            }
            let (a, b) = (a.to_lowercase(), b.to_lowercase());
            if a == b {
                return Err((index, format!("{a:?} is paired with itself")));
            }
            if let Some(k) = PRONOUN_PAIRS.iter().position(|&(m, f)| (a == m && b == f) || (a == f && b == m)) {
                if let Some(first) = pronoun[k] {
                    return Err((index, format!("the pair is listed twice (first as pair {})", first + 1)));
                }
                pronoun[k] = Some(index);
                lowered.push((a, b));
                continue;
            }
            for word in [&a, &b] {
                if let Some(first) = owner.get(word) {
                    return Err((
                        index,
                        format!("{word:?} is already in pair {}: a word can be in one pair only", first + 1),
                    ));
                }
            }
            owner.insert(a.clone(), index);
            owner.insert(b.clone(), index);
            map.insert(a.clone(), b.clone());
            map.insert(b.clone(), a.clone());
            lowered.push((a, b));
        }
        // The pronouns of the pronoun pairs may not be in other pairs.
        for (k, &(m, f)) in PRONOUN_PAIRS.iter().enumerate() {
            if let Some(index) = pronoun[k] {
                for word in [m, f] {
                    if let Some(first) = owner.get(word) {
                        return Err((
                            index.max(*first),
                            format!(
                                "{word:?} is in pair {} and in pair {}",
                                first.min(&index) + 1,
                                first.max(&index) + 1
                            ),
                        ));
                    }
                }
            }
        }
        let [him_her, his_her, his_hers] = pronoun.map(|p| p.is_some());
        if him_her {
            map.insert("him".into(), "her".into());
        }
        if his_hers {
            map.insert("hers".into(), "his".into());
        }
        if his_her || him_her {
            map.insert("her".into(), if his_her { "his" } else { "him" }.into());
        }
        if his_her || his_hers {
            map.insert("his".into(), if his_her { "her" } else { "hers" }.into());
        }
        Ok(Self { pairs: lowered, map, her_rule: him_her && his_her, his_rule: his_her && his_hers })
    }

    /// How many pairs.
    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    /// Whether there are no pairs.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// The pairs, lower-cased, in the order given.
    pub fn pairs(&self) -> &[(String, String)] {
        &self.pairs
    }

    /// The lower-case counterpart of `word` (looked up lower-cased), without context: "her" gives "his" and
    /// "his" gives "her" when both readings exist (the sentence rule of [`WordPairs::swap`] may choose "him" or
    /// "hers").
    pub fn counterpart(&self, word: &str) -> Option<&str> {
        self.map.get(&word.to_lowercase()).map(String::as_str)
    }

    /// Whether "her"/"his" are decided by the next token (true for [`WordPairs::gender`]).
    pub fn has_pronoun_rule(&self) -> bool {
        self.her_rule || self.his_rule
    }

    /// `sentence` with every listed word replaced by its counterpart (rules in the module documentation).
    pub fn swap(&self, sentence: &str) -> Swapped {
        let words = word_spans(sentence);
        let mut text = String::with_capacity(sentence.len() + 8);
        let mut swaps = Vec::new();
        let mut ambiguous = 0;
        let mut copied = 0;
        for &(start, end) in &words {
            let Some(word) = sentence.get(start..end) else { continue };
            let lower = word.to_lowercase();
            let rest = sentence.get(end..).unwrap_or("");
            let target: Option<&str> = if self.her_rule && lower == "her" {
                ambiguous += 1;
                Some(her_counterpart(rest))
            } else if self.his_rule && lower == "his" {
                ambiguous += 1;
                Some(his_counterpart(rest))
            } else {
                self.map.get(&lower).map(String::as_str)
            };
            let Some(target) = target else { continue };
            let to = case_like(word, target);
            text.push_str(sentence.get(copied..start).unwrap_or(""));
            text.push_str(&to);
            copied = end;
            swaps.push(Swap { from: word.to_string(), to, byte_offset: start });
        }
        text.push_str(sentence.get(copied..).unwrap_or(""));
        Swapped { original: sentence.to_string(), text, swaps, ambiguous }
    }

    /// Two-sided CDA: every sentence of `sentences`, each one that changed followed right away by its swapped
    /// copy (sentences with no listed word are not duplicated), with counts.
    pub fn augment(&self, sentences: &[String]) -> Augmented {
        let mut out = Vec::with_capacity(sentences.len() * 2);
        let mut counts: BTreeMap<(String, String), usize> = BTreeMap::new();
        let mut stats = CdaStats {
            input_sentences: sentences.len(),
            changed_sentences: 0,
            output_sentences: 0,
            swaps: 0,
            per_word: Vec::new(),
            her_to_his: 0,
            her_to_him: 0,
            his_to_hers: 0,
        };
        for sentence in sentences {
            let swapped = self.swap(sentence);
            out.push(sentence.clone());
            if !swapped.changed() {
                continue;
            }
            stats.changed_sentences += 1;
            stats.swaps += swapped.swaps.len();
            for swap in &swapped.swaps {
                let (from, to) = (swap.from.to_lowercase(), swap.to.to_lowercase());
                match (from.as_str(), to.as_str()) {
                    ("her", "his") if self.her_rule => stats.her_to_his += 1,
                    ("her", "him") if self.her_rule => stats.her_to_him += 1,
                    ("his", "hers") if self.his_rule => stats.his_to_hers += 1,
                    _ => {}
                }
                *counts.entry((from, to)).or_default() += 1;
            }
            out.push(swapped.text);
        }
        stats.output_sentences = out.len();
        let mut per_word: Vec<(String, String, usize)> = counts.into_iter().map(|((f, t), n)| (f, t, n)).collect();
        // BTreeMap order is (from, to); a stable sort by count keeps it for ties.
        per_word.sort_by_key(|w| std::cmp::Reverse(w.2));
        stats.per_word = per_word;
        Augmented { sentences: out, stats }
    }
}

/// Byte spans of the maximal runs of alphabetic characters.
fn word_spans(text: &str) -> Vec<(usize, usize)> {
    let mut spans = Vec::new();
    let mut start = None;
    for (i, c) in text.char_indices() {
        match (c.is_alphabetic(), start) {
            (true, None) => start = Some(i),
            (false, Some(s)) => {
                spans.push((s, i));
                start = None;
            }
            _ => {}
        }
    }
    if let Some(s) = start {
        spans.push((s, text.len()));
    }
    spans
}

fn is_apostrophe_or_hyphen(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '-' | '\u{2010}' | '\u{2011}')
}

/// The counterpart of "her" given the text after it: "him" (object) or "his" (possessive).
fn her_counterpart(rest: &str) -> &'static str {
    // An apostrophe or hyphen right after the word ("her's", "her-") reads as part of a word: possessive.
    if rest.chars().next().is_some_and(is_apostrophe_or_hyphen) {
        return "his";
    }
    let after = rest.trim_start();
    match after.chars().next() {
        None => "him",
        Some(c) if c.is_alphabetic() => {
            let next: String = after.chars().take_while(|c| c.is_alphabetic()).collect::<String>().to_lowercase();
            if NOT_AFTER_POSSESSIVE.contains(&next.as_str()) {
                "him"
            } else {
                "his"
            }
        }
        Some(c) if c.is_numeric() || is_apostrophe_or_hyphen(c) => "his",
        Some(_) => "him",
    }
}

/// The counterpart of "his" given the text after it: "hers" (no word follows) or "her".
fn his_counterpart(rest: &str) -> &'static str {
    match rest.trim_start().chars().next() {
        None => "hers",
        Some(c) if c.is_alphanumeric() || is_apostrophe_or_hyphen(c) => "her",
        Some(_) => "hers",
    }
}

/// `target` (lower case) in the case pattern of `word`.
fn case_like(word: &str, target: &str) -> String {
    let mut chars = word.chars();
    let first_upper = chars.next().is_some_and(char::is_uppercase);
    let rest_has_upper = chars.clone().any(char::is_uppercase);
    let has_lower = word.chars().any(char::is_lowercase);
    let letters = word.chars().count();
    if !word.chars().any(char::is_uppercase) {
        target.to_string()
    } else if first_upper && !rest_has_upper {
        capitalise(target)
    } else if !has_lower && letters >= 2 {
        target.to_uppercase()
    } else {
        target.to_string()
    }
}

fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}

impl Swapped {
    /// Whether any word was swapped.
    pub fn changed(&self) -> bool {
        !self.swaps.is_empty()
    }

    /// The original and the swapped text, swapped words in bold colour (HTML).
    pub fn to_html(&self) -> String {
        let mut before = String::new();
        let mut after = String::new();
        let mut copied = 0;
        let first = palette::hex(palette::FIRST);
        let second = palette::hex(palette::SECOND);
        for swap in &self.swaps {
            let start = swap.byte_offset;
            let end = start + swap.from.len();
            let (Some(gap), Some(_)) = (self.original.get(copied..start), self.original.get(start..end)) else {
                // Swaps that do not fit the text (edited by hand): show plain text.
                return format!("<p>{} → {}</p>", escape(&self.original), escape(&self.text));
            };
            before.push_str(&escape(gap));
            after.push_str(&escape(gap));
            let _ = std::fmt::Write::write_fmt(
                &mut before,
                format_args!("<b style=\"color:{first}\">{}</b>", escape(&swap.from)),
            );
            let _ = std::fmt::Write::write_fmt(
                &mut after,
                format_args!("<b style=\"color:{second}\">{}</b>", escape(&swap.to)),
            );
            copied = end;
        }
        let tail = escape(self.original.get(copied..).unwrap_or(""));
        before.push_str(&tail);
        after.push_str(&tail);
        let mut table = HtmlTable::new(&["", "text"], &[false, false]);
        table.row(vec!["original".into(), before]);
        table.row(vec!["swapped".into(), after]);
        let caption = format!(
            "{} word(s) swapped{}",
            self.swaps.len(),
            if self.ambiguous > 0 {
                format!(", {} his/her decided by the next word", self.ambiguous)
            } else {
                String::new()
            }
        );
        table.caption(escape(&caption)).to_html()
    }

    /// Shows [`Swapped::to_html`] in the evcxr Jupyter kernel.
    pub fn evcxr_display(&self) {
        display::emit_html_and_text(&self.to_html(), &self.to_string());
    }
}

impl fmt::Display for Swapped {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{} → {}", self.original, self.text)?;
        if self.swaps.is_empty() {
            writeln!(f, "  (no listed word: unchanged)")?;
        }
        for swap in &self.swaps {
            writeln!(f, "  {} → {}  (byte {})", swap.from, swap.to, swap.byte_offset)?;
        }
        if self.ambiguous > 0 {
            writeln!(f, "  {} his/her decided by the next word", self.ambiguous)?;
        }
        Ok(())
    }
}

/// How many rows of [`CdaStats::per_word`] the text and HTML tables show.
const TOP_WORDS: usize = 15;

impl CdaStats {
    /// An HTML table: the counts, then the most frequent swaps.
    pub fn to_html(&self) -> String {
        let caption = format!(
            "CDA: {} sentences in, {} changed, {} out; {} words swapped (her→his {}, her→him {}, his→hers {})",
            self.input_sentences,
            self.changed_sentences,
            self.output_sentences,
            self.swaps,
            self.her_to_his,
            self.her_to_him,
            self.his_to_hers
        );
        let mut table = HtmlTable::new(&["from", "to", "count"], &[false, false, true]);
        for (from, to, n) in self.per_word.iter().take(TOP_WORDS) {
            table.row(vec![escape(from), escape(to), n.to_string()]);
        }
        if self.per_word.len() > TOP_WORDS {
            table.row(vec![format!("… {} more", self.per_word.len() - TOP_WORDS), String::new(), String::new()]);
        }
        table.caption(escape(&caption)).to_html()
    }

    /// Shows [`CdaStats::to_html`] in the evcxr Jupyter kernel.
    pub fn evcxr_display(&self) {
        display::emit_html_and_text(&self.to_html(), &self.to_string());
    }

    /// All of [`CdaStats::per_word`] as CSV: `from,to,count`.
    pub fn write_csv(&self, out: impl std::io::Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        writer.write_record(["from", "to", "count"]).map_err(csv_error)?;
        for (from, to, n) in &self.per_word {
            writer.write_record([from.as_str(), to.as_str(), n.to_string().as_str()]).map_err(csv_error)?;
        }
        writer.flush().map_err(|err| Error::Io { path: "<csv output>".into(), source: err })
    }
}

impl fmt::Display for CdaStats {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "CDA: {} sentences in, {} changed, {} out; {} words swapped",
            self.input_sentences, self.changed_sentences, self.output_sentences, self.swaps
        )?;
        writeln!(
            f,
            "her→his {}, her→him {}, his→hers {} (decided by the next word)",
            self.her_to_his, self.her_to_him, self.his_to_hers
        )?;
        if self.per_word.is_empty() {
            return Ok(());
        }
        writeln!(f, "{:<16} {:<16} {:>7}", "from", "to", "count")?;
        for (from, to, n) in self.per_word.iter().take(TOP_WORDS) {
            writeln!(f, "{from:<16} {to:<16} {n:>7}")?;
        }
        if self.per_word.len() > TOP_WORDS {
            writeln!(f, "… {} more", self.per_word.len() - TOP_WORDS)?;
        }
        Ok(())
    }
}

impl Augmented {
    /// Shows the counts ([`CdaStats::evcxr_display`]) in the evcxr Jupyter kernel.
    pub fn evcxr_display(&self) {
        self.stats.evcxr_display();
    }
}

impl fmt::Display for Augmented {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.stats)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gender() -> WordPairs {
        WordPairs::gender()
    }

    fn swap(text: &str) -> String {
        gender().swap(text).text
    }

    #[test]
    fn cda_leaves_every_sentence_of_the_names_probe_unchanged() {
        // Lab 03's bias measure that CDA does not edit directly: no name and no word of its templates is swapped.
        let probe = crate::measure::probe::Probe::gender_names_occupations();
        let list = gender();
        for group in &probe.groups {
            for name in &group.terms {
                assert_eq!(list.counterpart(name), None, "{name} is on the swap list");
                for template in &probe.templates {
                    let sentence = template.replace("[GROUP]", name).replace("[MASK]", "nurse");
                    assert_eq!(swap(&sentence), sentence);
                }
            }
        }
        assert_eq!(probe.groups.iter().map(|g| g.terms.len()).collect::<Vec<_>>(), [10, 10]);
        assert!(probe.templates.iter().all(|t| t.starts_with("[GROUP] ") && t.contains("[MASK]")));
    }

    #[test]
    fn the_built_in_list_is_consistent() {
        let list = gender();
        assert_eq!(list.len(), GENDER_PAIRS.len());
        assert!((60..=120).contains(&list.len()), "{}", list.len());
        assert!(list.has_pronoun_rule());
        // Built through the checks of from_pairs: no word in two pairs except the pronouns.
        assert!(WordPairs::from_pairs(GENDER_PAIRS).is_ok());
        let pronouns = ["her", "his", "him", "hers"];
        for (a, b) in list.pairs() {
            for (x, y) in [(a, b), (b, a)] {
                let there = list.counterpart(x).unwrap();
                if pronouns.contains(&x.as_str()) {
                    continue;
                }
                assert_eq!(there, y, "{x}");
                assert_eq!(list.counterpart(there), Some(x.as_str()), "{x} → {there} does not map back");
            }
        }
        // The documented exceptions.
        assert_eq!(list.counterpart("him"), Some("her"));
        assert_eq!(list.counterpart("her"), Some("his"));
        assert_eq!(list.counterpart("his"), Some("her"));
        assert_eq!(list.counterpart("hers"), Some("his"));
        assert_eq!(list.counterpart("HE"), Some("she"));
        assert_eq!(list.counterpart("table"), None);
        for word in ["waiter", "nephew", "grandfather", "businessman", "policeman", "monk", "prince", "mr"] {
            assert!(list.counterpart(word).is_some(), "{word}");
        }
    }

    #[test]
    fn case_is_kept() {
        assert_eq!(swap("he said"), "she said");
        assert_eq!(swap("He said"), "She said");
        assert_eq!(swap("HE SAID"), "SHE SAID");
        assert_eq!(swap("MEN, come"), "WOMEN, come");
        // Mixed case → lower-case counterpart.
        assert_eq!(swap("hE left"), "she left");
        assert_eq!(swap("KiNg"), "queen");
        // A one-letter upper-case word counts as Capitalised (no one-letter word is in the list, so a custom one).
        let list = WordPairs::from_pairs(&[("x", "why")]).unwrap();
        assert_eq!(list.swap("X and x").text, "Why and why");
        assert_eq!(list.swap("WHY").text, "X");
    }

    #[test]
    fn punctuation_and_possessives_are_kept() {
        assert_eq!(swap("the man's hat"), "the woman's hat");
        assert_eq!(swap("(He) said: \"MEN, stop!\""), "(She) said: \"WOMEN, stop!\"");
        assert_eq!(swap("Mr. Smith met Mrs. Jones."), "Mrs. Smith met Mr. Jones.");
        assert_eq!(swap("the king’s 2 sons—and daughters"), "the queen’s 2 daughters—and sons");
        let s = gender().swap("  a man,\tthe boy  ");
        assert_eq!(s.text, "  a woman,\tthe girl  ");
        assert_eq!(
            s.swaps,
            vec![
                Swap { from: "man".into(), to: "woman".into(), byte_offset: 4 },
                Swap { from: "boy".into(), to: "girl".into(), byte_offset: 13 },
            ]
        );
        // Words are whole runs of letters: "manager", "shepherd", "Hermann" are not touched.
        assert_eq!(swap("the manager, the shepherd and Hermann"), "the manager, the shepherd and Hermann");
    }

    #[test]
    fn her_becomes_his_or_him() {
        // Possessive: a word that can follow a determiner.
        assert_eq!(swap("her book is red"), "his book is red");
        assert_eq!(swap("Her own mother"), "His own father");
        assert_eq!(swap("her 3 sons"), "his 3 daughters");
        // Object: end of text, punctuation, or a closed-list word next.
        assert_eq!(swap("I saw her"), "I saw him");
        assert_eq!(swap("I saw her."), "I saw him.");
        assert_eq!(swap("I saw her , then left"), "I saw him , then left");
        assert_eq!(swap("I gave her the book"), "I gave him the book");
        assert_eq!(swap("tell her about it"), "tell him about it");
        assert_eq!(swap("with her and me"), "with him and me");
        assert_eq!(swap("HER TO"), "HIM TO");
        // The documented failure: a verb after object "her".
        assert_eq!(swap("I saw her run"), "I saw his run");
        let s = gender().swap("she gave her her book");
        assert_eq!(s.text, "he gave him his book");
        assert_eq!(s.ambiguous, 2);
    }

    #[test]
    fn his_becomes_her_or_hers() {
        assert_eq!(swap("his car"), "her car");
        assert_eq!(swap("the book is his."), "the book is hers.");
        assert_eq!(swap("the book is his"), "the book is hers");
        assert_eq!(swap("His, not mine"), "Hers, not mine");
        assert_eq!(swap("his 2 cars"), "her 2 cars");
        assert_eq!(swap("hers is red"), "his is red");
        assert_eq!(swap("he did it himself"), "she did it herself");
        assert_eq!(swap("I told him"), "I told her");
        let s = gender().swap("The book is his.");
        assert_eq!(s.ambiguous, 1);
        // "him"/"hers" are not decisions.
        assert_eq!(gender().swap("him and hers").ambiguous, 0);
    }

    #[test]
    fn augmentation_is_two_sided() {
        let input: Vec<String> = ["The man is a doctor.", "It rained.", "She thanked her father.", "The book is his."]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let out = gender().augment(&input);
        assert_eq!(
            out.sentences,
            vec![
                "The man is a doctor.",
                "The woman is a doctor.",
                "It rained.",
                "She thanked her father.",
                "He thanked his mother.",
                "The book is his.",
                "The book is hers.",
            ]
        );
        // By hand: 4 in, 3 changed, 7 out; swaps man, she, her, father, his = 5.
        // "her father": father is not in the closed list → his (her_to_his 1); "his." → hers (his_to_hers 1).
        let s = &out.stats;
        assert_eq!((s.input_sentences, s.changed_sentences, s.output_sentences, s.swaps), (4, 3, 7, 5));
        assert_eq!((s.her_to_his, s.her_to_him, s.his_to_hers), (1, 0, 1));
        assert_eq!(
            s.per_word,
            vec![
                ("father".to_string(), "mother".to_string(), 1),
                ("her".into(), "his".into(), 1),
                ("his".into(), "hers".into(), 1),
                ("man".into(), "woman".into(), 1),
                ("she".into(), "he".into(), 1),
            ]
        );
        let text = s.to_string();
        assert!(text.contains("4 sentences in, 3 changed, 7 out; 5 words swapped"), "{text}");
        assert!(s
            .to_html()
            .contains("<td style=\"text-align:left;padding:2px 10px;border-bottom:1px solid #ddd\">father</td>"));
        let mut csv = Vec::new();
        s.write_csv(&mut csv).unwrap();
        assert!(String::from_utf8(csv).unwrap().starts_with("from,to,count\nfather,mother,1\n"));
    }

    #[test]
    fn stats_count_by_hand() {
        // "He met her." : he→she, her→him (punctuation next).
        // "HE saw his dog and her cat" : he→she, his→her, her→his (cat).
        // "men, men and MEN" : men→women ×3.
        // "nothing here" : unchanged.
        let input: Vec<String> = ["He met her.", "HE saw his dog and her cat", "men, men and MEN", "nothing here"]
            .iter()
            .map(|s| s.to_string())
            .collect();
        let s = gender().augment(&input).stats;
        assert_eq!((s.input_sentences, s.changed_sentences, s.output_sentences, s.swaps), (4, 3, 7, 8));
        assert_eq!((s.her_to_his, s.her_to_him, s.his_to_hers), (1, 1, 0));
        // Most frequent first; ties by from, then to.
        assert_eq!(
            s.per_word,
            vec![
                ("men".to_string(), "women".to_string(), 3),
                ("he".into(), "she".into(), 2),
                ("her".into(), "him".into(), 1),
                ("her".into(), "his".into(), 1),
                ("his".into(), "her".into(), 1),
            ]
        );
        let empty = gender().augment(&[]);
        assert!(empty.sentences.is_empty());
        assert_eq!(empty.stats.output_sentences, 0);
        assert!(empty.stats.per_word.is_empty());
    }

    #[test]
    fn from_pairs_rejects_bad_lists() {
        assert!(matches!(WordPairs::from_pairs(&[]), Err(Error::InvalidArgument { .. })));
        let err = WordPairs::from_pairs(&[("actor", "actress"), ("guy", "gal"), ("guy", "girl")]).unwrap_err();
        let message = err.to_string();
        assert!(matches!(err, Error::InvalidArgument { .. }));
        assert!(message.contains("pair 3") && message.contains("\"guy\" is already in pair 2"), "{message}");
        // Inconsistent in the other column, and across orientations.
        assert!(WordPairs::from_pairs(&[("gentleman", "lady"), ("lord", "lady")]).is_err());
        assert!(WordPairs::from_pairs(&[("king", "queen"), ("queen", "king")]).is_err());
        assert!(WordPairs::from_pairs(&[("man", "man")]).is_err());
        assert!(WordPairs::from_pairs(&[("mr.", "mrs.")]).is_err());
        assert!(WordPairs::from_pairs(&[("", "x")]).is_err());
        // A pronoun in a pronoun pair and an ordinary pair.
        assert!(WordPairs::from_pairs(&[("him", "her"), ("her", "she")]).is_err());
        // Case does not matter.
        let list = WordPairs::from_pairs(&[("Actor", "ACTRESS")]).unwrap();
        assert_eq!(list.pairs(), &[("actor".to_string(), "actress".to_string())]);
        assert_eq!(list.swap("The Actress").text, "The Actor");
        // Only his/her: no rule, a plain two-way swap.
        let plain = WordPairs::from_pairs(&[("his", "her")]).unwrap();
        assert!(!plain.has_pronoun_rule());
        assert_eq!(plain.swap("I saw her. It is his.").text, "I saw his. It is her.");
        assert_eq!(plain.swap("I saw her. It is his.").ambiguous, 0);
    }

    #[test]
    fn from_file_parses_and_names_the_bad_line() {
        use std::io::Write as _;
        let mut file = tempfile::NamedTempFile::new().unwrap();
        write!(file, "# a comment\n\nactor\tactress\n  Waiter , waitress \r\nhe,she\n").unwrap();
        let list = WordPairs::from_file(file.path()).unwrap();
        assert_eq!(list.len(), 3);
        assert_eq!(list.swap("The waiter said he was an ACTOR.").text, "The waitress said she was an ACTRESS.");

        let mut bad = tempfile::NamedTempFile::new().unwrap();
        write!(bad, "# pairs\nactor,actress\n\nwaiter\n").unwrap();
        let err = WordPairs::from_file(bad.path()).unwrap_err();
        assert!(matches!(&err, Error::InvalidData { reason, .. } if reason.starts_with("line 4:")), "{err}");

        let mut three = tempfile::NamedTempFile::new().unwrap();
        writeln!(three, "a,b,c").unwrap();
        assert!(WordPairs::from_file(three.path()).unwrap_err().to_string().contains("line 1"));

        let mut twice = tempfile::NamedTempFile::new().unwrap();
        write!(twice, "guy,gal\n# x\nguy,girl\n").unwrap();
        let err = WordPairs::from_file(twice.path()).unwrap_err();
        assert!(matches!(&err, Error::InvalidData { reason, .. } if reason.starts_with("line 3:")), "{err}");

        let empty = tempfile::NamedTempFile::new().unwrap();
        assert!(matches!(WordPairs::from_file(empty.path()), Err(Error::InvalidData { .. })));
        assert!(matches!(WordPairs::from_file(Path::new("/nonexistent/pairs.tsv")), Err(Error::Io { .. })));
    }

    #[test]
    fn swapping_twice_gives_back_unambiguous_sentences() {
        let list = gender();
        for text in [
            "the man met the woman",
            "My Uncle and MY AUNT, the king's sons.",
            "Policemen and spokeswomen; brides & grooms!",
            "nothing to swap",
        ] {
            let once = list.swap(text);
            assert_eq!(once.ambiguous, 0);
            assert_eq!(list.swap(&once.text).text, text);
        }
        // "his"/"her" may or may not come back: this one does …
        let once = swap("The king and his son");
        assert_eq!(once, "The queen and her daughter");
        assert_eq!(swap(&once), "The king and his son");
        // … this one does not (the documented failure).
        assert_eq!(swap("gave him books"), "gave her books");
        assert_eq!(swap("gave her books"), "gave his books");
    }

    #[test]
    fn odd_input_does_not_panic() {
        let list = gender();
        for text in ["", " ", "...", "!?;", "her", "his", "HER'", "his-", "Ünïcödé ман 男人 her", "\u{feff}he", "ǅ"]
        {
            let s = list.swap(text);
            assert!(s.text.len() <= text.len() * 4 + 8);
            let _ = s.to_string();
            let _ = s.to_html();
        }
        // Non-ASCII text passes through; non-ASCII letters are parts of words.
        assert_eq!(swap("Le garçon et l’homme — he’s 男人"), "Le garçon et l’homme — she’s 男人");
        assert_eq!(swap("mañ man"), "mañ woman");
        let s = list.swap("ÉTÉ: the man");
        assert_eq!(s.swaps[0].byte_offset, "ÉTÉ: the ".len());
        assert!(s.to_html().contains("woman"));
    }

    #[test]
    fn display_lists_the_swaps() {
        let s = gender().swap("He is his.");
        assert_eq!(s.text, "She is hers.");
        let text = s.to_string();
        assert!(text.starts_with("He is his. → She is hers.\n"), "{text}");
        assert!(text.contains("  his → hers  (byte 6)"), "{text}");
        assert!(s.to_html().contains("hers</b>"));
    }
}
