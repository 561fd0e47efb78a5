//! Words and sentences: the tokeniser (DMT's), the sentence splitter, the stopwords and the identity-term lists.

use super::*;

/// Is `c` a word character: `\w` of Python's `re` in Unicode mode (a letter, a digit, or `_`)?
pub(super) fn is_word_char(c: char) -> bool {
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
pub(crate) const STOPWORDS: &[&str] = &[
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
pub(crate) fn is_stopword(word: &str) -> bool {
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
            return Err(Error::InvalidArgument {
                reason: format!("term list {name:?} has no words: give it one or more"),
            });
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
