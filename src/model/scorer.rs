//! What every bias test asks of a masked language model: token ids for a text, and the log-probability of each
//! vocabulary token at each mask. [`FillMask`] answers it with a real model; tests answer it with a stub of known
//! log-probabilities, so that each metric can be checked against numbers worked out by hand.

use candle_core::{Device, D};

use crate::error::{Error, Result};
use crate::model::batch::pad;
use crate::model::fill_mask::FillMask;
use crate::model::source::ModelSource;

/// What [`MaskScorer::for_each_mask`] calls once per mask: `(sequence index, mask position, log-softmax row)`.
pub type EachMask<'a> = dyn FnMut(usize, usize, &[f32]) -> Result<()> + 'a;

/// A masked language model as the bias tests see it.
pub trait MaskScorer {
    /// What the model is, in one line (a hub id, a directory, or the demo model's description).
    fn name(&self) -> String;

    /// The model's short name, for chart titles and table headers: the name it was loaded by (`demo`, a hub id, a
    /// directory) when it was loaded by name, else [`MaskScorer::name`].
    fn label(&self) -> String {
        self.name()
    }

    /// The token ids of `text`, with the model's special tokens (`[CLS] … [SEP]`) when `special_tokens` is true,
    /// as `tokenizer.encode(text, add_special_tokens=…)` gives them in transformers. `[MASK]` in the text becomes
    /// the mask token.
    fn encode(&self, text: &str, special_tokens: bool) -> Result<Vec<u32>>;

    /// The text of `ids`, as `tokenizer.decode(ids)` gives it (word pieces joined).
    fn decode(&self, ids: &[u32]) -> Result<String>;

    /// The id of a token of the vocabulary, if it is one.
    fn token_to_id(&self, token: &str) -> Option<u32>;

    /// The token of an id, if there is one.
    fn id_to_token(&self, id: u32) -> Option<String>;

    /// The mask token's id.
    fn mask_id(&self) -> u32;

    /// The mask token (`[MASK]` or `<mask>`).
    fn mask_token(&self) -> String;

    /// Whether the tokenizer lower-cases text (an uncased model).
    fn lowercases(&self) -> bool;

    /// How many tokens, special tokens included, the model reads at most.
    fn max_tokens(&self) -> usize;

    /// The log-softmax over the vocabulary at every mask of every sequence (token ids with special tokens, as
    /// [`MaskScorer::encode`] gives them, each with at least one mask): `each(sequence index, mask position, row)`
    /// is called once per mask, sequences in order, masks left to right. Sequences may go through the model
    /// together, in padded batches.
    fn for_each_mask(&self, sequences: &[Vec<u32>], each: &mut EachMask<'_>) -> Result<()>;

    /// What AUL and AULA (Kaneko & Bollegala 2022) read from each sequence, given whole with nothing masked (token
    /// ids with special tokens, as [`MaskScorer::encode`] gives them): log P(token | the sequence) at every position,
    /// and with `attention`, the attention each position receives ([`UnmaskedTokens::attention`]). Sequences may go
    /// through the model together, in padded batches.
    ///
    /// The default says the scorer cannot ([`Error::ScorerLacks`]): [`FillMask`] can.
    fn unmasked_tokens(&self, sequences: &[Vec<u32>], attention: bool) -> Result<Vec<UnmaskedTokens>> {
        let _ = (sequences, attention);
        Err(Error::ScorerLacks { model: self.name(), what: "score a sentence with nothing masked (AUL, AULA)".into() })
    }

    /// log P(target) at the one mask of each sequence: `items` are (token ids with one mask, target id).
    fn target_log_probs(&self, items: &[(Vec<u32>, u32)]) -> Result<Vec<f64>> {
        let sequences: Vec<Vec<u32>> = items.iter().map(|(ids, _)| ids.clone()).collect();
        let mut out = vec![f64::NAN; items.len()];
        self.for_each_mask(&sequences, &mut |i, _, row| {
            let target = items[i].1 as usize;
            out[i] = f64::from(*row.get(target).ok_or_else(|| {
                Error::Internal(format!("target id {target} is outside the vocabulary of {} tokens", row.len()))
            })?);
            Ok(())
        })?;
        Ok(out)
    }
}

/// One sequence read whole, with nothing masked: what [`MaskScorer::unmasked_tokens`] gives.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UnmaskedTokens {
    /// log P(the token at each position | the whole sequence), special tokens included.
    pub log_probs: Vec<f64>,
    /// The attention each position receives: the attention probability paid to it, averaged over every layer, every
    /// head and every position of the sequence as the query (AULA's weight). Empty when not asked for.
    pub attention: Vec<f64>,
}

pub use crate::model::fill_mask::DEFAULT_BATCH_SIZE;

impl MaskScorer for FillMask {
    fn name(&self) -> String {
        self.source().to_string()
    }

    fn label(&self) -> String {
        self.origin().map_or_else(|| self.source().to_string(), ModelSource::name)
    }

    fn encode(&self, text: &str, special_tokens: bool) -> Result<Vec<u32>> {
        let prepared = self.with_own_mask_token(text);
        let encoding = self.tokenizer().encode(prepared.as_str(), special_tokens).map_err(|err| Error::Tokenize {
            text: text.into(),
            reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
        })?;
        Ok(encoding.get_ids().to_vec())
    }

    fn decode(&self, ids: &[u32]) -> Result<String> {
        self.tokenizer().decode(ids, false).map_err(|err| Error::Tokenize {
            text: format!("{ids:?}"),
            reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
        })
    }

    fn token_to_id(&self, token: &str) -> Option<u32> {
        self.tokenizer().token_to_id(token)
    }

    fn id_to_token(&self, id: u32) -> Option<String> {
        self.tokenizer().id_to_token(id)
    }

    fn mask_id(&self) -> u32 {
        FillMask::mask_id(self)
    }

    fn mask_token(&self) -> String {
        FillMask::mask_token(self).to_string()
    }

    fn lowercases(&self) -> bool {
        let ids = |text: &str| self.tokenizer().encode(text, false).map(|e| e.get_ids().to_vec()).ok();
        ids("The Man") == ids("the man")
    }

    fn max_tokens(&self) -> usize {
        self.model().config().max_tokens()
    }

    fn unmasked_tokens(&self, sequences: &[Vec<u32>], attention: bool) -> Result<Vec<UnmaskedTokens>> {
        let max = self.max_tokens();
        let device = self.model().device().clone();
        let mut out = Vec::with_capacity(sequences.len());
        for chunk in sequences.chunks(self.batch_size().max(1)) {
            if let Some(long) = chunk.iter().find(|ids| ids.len() > max) {
                return Err(Error::TooLong { text: self.decode(long).unwrap_or_default(), tokens: long.len(), max });
            }
            let batch = pad(chunk, self.pad_id(), &device)?;
            let (hidden, received) = if attention {
                let (hidden, received) =
                    self.model().encoder().hidden_states_and_attention(&batch.input_ids, &batch.attention_mask)?;
                (hidden, Some(received.to_device(&Device::Cpu)?.to_vec2::<f32>()?))
            } else {
                (self.model().hidden_states(&batch.input_ids, &batch.attention_mask)?, None)
            };
            let log_probs = candle_nn::ops::log_softmax(&self.model().logits_from_hidden(&hidden)?, D::Minus1)?;
            let gold = log_probs
                .gather(&batch.input_ids.unsqueeze(2)?, 2)?
                .squeeze(2)?
                .to_device(&Device::Cpu)?
                .to_vec2::<f32>()?;
            for (t, &len) in batch.lengths.iter().enumerate() {
                let log_probs: Vec<f64> = gold[t][..len].iter().map(|&v| f64::from(v)).collect();
                if log_probs.iter().any(|v| !v.is_finite()) {
                    return Err(Error::NonFiniteScores { model: self.source().to_string() });
                }
                let attention =
                    received.as_ref().map(|r| r[t][..len].iter().map(|&v| f64::from(v)).collect()).unwrap_or_default();
                out.push(UnmaskedTokens { log_probs, attention });
            }
        }
        Ok(out)
    }

    fn for_each_mask(&self, sequences: &[Vec<u32>], each: &mut EachMask<'_>) -> Result<()> {
        let mask_id = FillMask::mask_id(self);
        let max = self.max_tokens();
        let device = self.model().device().clone();
        let batch_size = self.batch_size().max(1);
        for (chunk_index, chunk) in sequences.chunks(batch_size).enumerate() {
            if let Some(long) = chunk.iter().find(|ids| ids.len() > max) {
                return Err(Error::TooLong { text: self.decode(long).unwrap_or_default(), tokens: long.len(), max });
            }
            // The masks of the chunk, (sequence in the chunk, position), before any tensor: a chunk without one
            // is not run.
            let masks: Vec<(usize, usize)> = chunk
                .iter()
                .enumerate()
                .flat_map(|(t, seq)| seq.iter().enumerate().filter(|(_, &id)| id == mask_id).map(move |(p, _)| (t, p)))
                .collect();
            if masks.is_empty() {
                continue;
            }
            let batch = pad(chunk, self.pad_id(), &device)?;
            let at_masks = self.model().encoder().hidden_states_at(&batch.input_ids, &batch.attention_mask, &masks)?;
            let logits = self.model().logits_from_hidden(&at_masks)?;
            let log_probs =
                candle_nn::ops::log_softmax(&logits, D::Minus1)?.to_device(&Device::Cpu)?.to_vec2::<f32>()?;
            // Finite logits give a finite log-softmax: anything else comes from broken weights, and would score as
            // a table of NaN (every comparison with NaN false) instead of failing.
            if log_probs.iter().flatten().any(|v| !v.is_finite()) {
                return Err(Error::NonFiniteScores { model: self.source().to_string() });
            }
            for ((t, position), row) in masks.into_iter().zip(log_probs) {
                each(chunk_index * batch_size + t, position, &row)?;
            }
        }
        Ok(())
    }
}

/// A stub model for tests: a whitespace tokenizer over a fixed vocabulary and log-probabilities given by a function,
/// so that a metric's result can be worked out by hand.
#[cfg(test)]
pub(crate) mod stub {
    use super::*;

    /// `[CLS]` = 0, `[SEP]` = 1, `[MASK]` = 2, `[PAD]` = 3, then the words in the order given (ids from 4).
    /// log P(every token) at the mask at a position of a sequence.
    pub type LogProbs = dyn Fn(&[u32], usize) -> Vec<f32>;

    pub struct Stub {
        /// Every token, by id.
        pub vocab: Vec<String>,
        /// Lower-case the text before splitting it.
        pub lowercase: bool,
        /// log P(every token) at the mask at `position` of `sequence` (a row as long as the vocabulary).
        pub log_probs: Box<LogProbs>,
        /// How many sequences went through `for_each_mask` (to check batching).
        pub sequences_seen: std::cell::Cell<usize>,
    }

    impl Stub {
        /// A stub over `words` whose log-probabilities come from `log_probs`.
        pub fn new(words: &[&str], log_probs: impl Fn(&[u32], usize) -> Vec<f32> + 'static) -> Self {
            let vocab = ["[CLS]", "[SEP]", "[MASK]", "[PAD]"].iter().chain(words).map(|w| w.to_string()).collect();
            Self { vocab, lowercase: true, log_probs: Box::new(log_probs), sequences_seen: Default::default() }
        }

        /// A stub whose log P(token) at any mask is `table[token]` wherever the token is a word (special tokens
        /// get -100), whatever the context. Words not in `table` get `default`.
        pub fn with_table(words: &[&str], table: &[(&str, f32)], default: f32) -> Self {
            let n = words.len() + 4;
            let mut row = vec![default; n];
            row[..4].fill(-100.0);
            for (word, value) in table {
                let id = words.iter().position(|w| w == word).expect("a table word is in the vocabulary") + 4;
                row[id] = *value;
            }
            Self::new(words, move |_, _| row.clone())
        }

        /// The id of a word (panics if it is not in the vocabulary: a test's mistake).
        pub fn id(&self, word: &str) -> u32 {
            self.token_to_id(word).unwrap_or_else(|| panic!("{word:?} is not in the stub's vocabulary"))
        }
    }

    impl MaskScorer for Stub {
        fn name(&self) -> String {
            "stub".into()
        }
        fn encode(&self, text: &str, special_tokens: bool) -> Result<Vec<u32>> {
            let text = if self.lowercase { text.to_lowercase().replace("[mask]", "[MASK]") } else { text.to_string() };
            let mut ids = Vec::new();
            if special_tokens {
                ids.push(0);
            }
            for word in text.split_whitespace() {
                ids.push(self.token_to_id(word).ok_or_else(|| Error::Tokenize {
                    text: text.clone(),
                    reason: format!("{word:?} is not in the stub's vocabulary"),
                })?);
            }
            if special_tokens {
                ids.push(1);
            }
            Ok(ids)
        }
        fn decode(&self, ids: &[u32]) -> Result<String> {
            Ok(ids.iter().map(|&id| self.vocab[id as usize].as_str()).collect::<Vec<_>>().join(" "))
        }
        fn token_to_id(&self, token: &str) -> Option<u32> {
            self.vocab.iter().position(|w| w == token).map(|i| i as u32)
        }
        fn id_to_token(&self, id: u32) -> Option<String> {
            self.vocab.get(id as usize).cloned()
        }
        fn mask_id(&self) -> u32 {
            2
        }
        fn mask_token(&self) -> String {
            "[MASK]".into()
        }
        fn lowercases(&self) -> bool {
            self.lowercase
        }
        fn max_tokens(&self) -> usize {
            512
        }
        fn for_each_mask(&self, sequences: &[Vec<u32>], each: &mut EachMask<'_>) -> Result<()> {
            self.sequences_seen.set(self.sequences_seen.get() + sequences.len());
            for (i, seq) in sequences.iter().enumerate() {
                for (p, _) in seq.iter().enumerate().filter(|(_, &id)| id == 2) {
                    each(i, p, &(self.log_probs)(seq, p))?;
                }
            }
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::stub::Stub;
    use super::*;

    #[test]
    fn the_stub_gives_its_table_at_each_mask() {
        let stub = Stub::with_table(&["the", "man", "woman", "works"], &[("man", -1.0), ("woman", -2.0)], -5.0);
        let ids = stub.encode("The [MASK] works", true).unwrap();
        assert_eq!(ids, vec![0, 4, 2, 7, 1]);
        let lp = stub.target_log_probs(&[(ids.clone(), stub.id("man")), (ids, stub.id("woman"))]).unwrap();
        assert_eq!(lp, vec![-1.0, -2.0]);
    }
}
