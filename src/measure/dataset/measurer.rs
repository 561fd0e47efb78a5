//! The streaming measurer: one entry per distinct word, never the text.

use super::*;

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
    pub(super) rows: u64,
    pub(super) sentences: u64,
    tokens: u64,
    pub(super) empty_rows: u64,
    sentences_a: u64,
    sentences_b: u64,
    seen: HashSet<u64>,
    duplicates: u64,
    duplicates_capped: bool,
    pruned: Option<Pruned>,
    pub(super) skipped_rows: u64,
    pub(super) skipped: Vec<Skipped>,
    pub(super) files: Vec<String>,
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
            return Err(Error::InvalidArgument {
                reason: "max_vocab is 0: at least one word must be kept; set it (--max-vocab) to 1 or more".into(),
            });
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
            self.skipped.push(Skipped::row(line as usize, reason).in_file(file));
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
