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
//!   possessive determiner (`NOT_AFTER_POSSESSIVE`: prepositions, conjunctions, articles and other determiners,
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
//!
//! The files of this folder: `lists.rs` (the built-in word lists), `swap.rs` ([`WordPairs::swap`] and its rules),
//! `view.rs` (what a swap did, as text and HTML); everything public is re-exported here.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::path::Path;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::view::display::{escape, palette, HtmlTable};

mod lists;
mod swap;
mod view;

use lists::*;

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

#[cfg(test)]
mod tests;
