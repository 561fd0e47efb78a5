//! Swapping: the rule for each word pair, the pronouns that share a word, case kept as it was.

use super::*;

/// The pronoun pairs that may share a word, in the orientation male → female.
pub(super) const PRONOUN_PAIRS: [(&str, &str); 3] = [("him", "her"), ("his", "her"), ("his", "hers")];

pub(super) fn is_word(word: &str) -> bool {
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
            return Err(Error::InvalidArgument {
                reason: "the list of word pairs is empty: give at least one pair, like (\"actor\", \"actress\")".into(),
            });
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
                return Err((index, format!("{a:?} is paired with itself: pair it with another word")));
            }
            if let Some(k) = PRONOUN_PAIRS.iter().position(|&(m, f)| (a == m && b == f) || (a == f && b == m)) {
                if let Some(first) = pronoun[k] {
                    return Err((
                        index,
                        format!("the pair is listed twice (first as pair {}): list it once", first + 1),
                    ));
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
                                "{word:?} is in pair {} and in pair {}: keep it in one of them only",
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
pub(super) fn word_spans(text: &str) -> Vec<(usize, usize)> {
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

pub(super) fn is_apostrophe_or_hyphen(c: char) -> bool {
    matches!(c, '\'' | '\u{2019}' | '-' | '\u{2010}' | '\u{2011}')
}

/// The counterpart of "her" given the text after it: "him" (object) or "his" (possessive).
pub(super) fn her_counterpart(rest: &str) -> &'static str {
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
pub(super) fn his_counterpart(rest: &str) -> &'static str {
    match rest.trim_start().chars().next() {
        None => "hers",
        Some(c) if c.is_alphanumeric() || is_apostrophe_or_hyphen(c) => "her",
        Some(_) => "hers",
    }
}

/// `target` (lower case) in the case pattern of `word`.
pub(super) fn case_like(word: &str, target: &str) -> String {
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

pub(super) fn capitalise(word: &str) -> String {
    let mut chars = word.chars();
    match chars.next() {
        Some(first) => first.to_uppercase().chain(chars).collect(),
        None => String::new(),
    }
}
