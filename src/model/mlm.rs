//! Masked-language-modelling: BERT's masking, the training loss, and the capability measures a mitigation is
//! judged by — masked-token accuracy and pseudo-perplexity on held-out text.

use candle_core::{Device, Tensor, D};
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::model::batch::pad;
use crate::model::encoder::{Dropout, MaskedLm};

/// Sentences as token ids, ready for masked-LM training or evaluation.
#[derive(Debug, Clone)]
pub struct TokenizedCorpus {
    /// Each sentence's ids, special tokens included, cut to the maximum length.
    pub sentences: Vec<Vec<u32>>,
    /// Ids that are never masked (\[CLS\], \[SEP\], \[PAD\] …).
    pub special_ids: Vec<u32>,
    /// The mask token's id.
    pub mask_id: u32,
    /// The padding id.
    pub pad_id: u32,
    /// The vocabulary size (random replacements are drawn below it).
    pub vocab_size: u32,
}

impl TokenizedCorpus {
    /// Tokenizes `sentences` with special tokens; a sentence longer than `max_len` keeps its first tokens and its
    /// closing special token.
    pub fn new(tokenizer: &Tokenizer, sentences: &[String], max_len: usize, vocab_size: usize) -> Result<Self> {
        let id = |token: &str| {
            tokenizer.token_to_id(token).ok_or_else(|| Error::NoMaskInVocabulary { looked_for: token.to_string() })
        };
        let mask_id = id("[MASK]")?;
        let special_ids =
            ["[CLS]", "[SEP]", "[PAD]", "[UNK]", "[MASK]"].iter().filter_map(|t| tokenizer.token_to_id(t)).collect();
        let encodings = tokenizer.encode_batch(sentences.to_vec(), true).map_err(|err| Error::Tokenize {
            text: "(corpus)".into(),
            reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
        })?;
        let sentences = encodings
            .into_iter()
            .map(|e| {
                let mut ids = e.get_ids().to_vec();
                if ids.len() > max_len {
                    let last = *ids.last().expect("a non-empty encoding");
                    ids.truncate(max_len - 1);
                    ids.push(last);
                }
                ids
            })
            .collect();
        Ok(Self { sentences, special_ids, mask_id, pad_id: id("[PAD]")?, vocab_size: vocab_size as u32 })
    }

    /// Splits off every `every`-th sentence (the `every`-th, the 2·`every`-th, …) as held-out data: (train, held out).
    pub fn split(&self, every: usize) -> (TokenizedCorpus, TokenizedCorpus) {
        let part = |keep: bool| TokenizedCorpus {
            sentences: self
                .sentences
                .iter()
                .enumerate()
                .filter(|(i, _)| ((i + 1) % every == 0) != keep)
                .map(|(_, s)| s.clone())
                .collect(),
            ..self.clone_empty()
        };
        (part(true), part(false))
    }

    fn clone_empty(&self) -> TokenizedCorpus {
        TokenizedCorpus {
            sentences: Vec::new(),
            special_ids: self.special_ids.clone(),
            mask_id: self.mask_id,
            pad_id: self.pad_id,
            vocab_size: self.vocab_size,
        }
    }

    /// Masked tokens in the corpus (special tokens excluded).
    pub fn maskable_tokens(&self) -> usize {
        self.sentences.iter().flatten().filter(|id| !self.special_ids.contains(id)).count()
    }
}

/// A padded batch with BERT-style masking applied.
#[derive(Debug, Clone)]
pub struct MaskedBatch {
    /// Ids after masking, (batch, len).
    pub input_ids: Tensor,
    /// 1 for tokens, 0 for padding.
    pub attention_mask: Tensor,
    /// Flat indices (row · len + position) of the positions to predict.
    pub positions: Tensor,
    /// The original ids at those positions.
    pub labels: Tensor,
}

/// BERT's masking (Devlin et al. 2019, as transformers' `DataCollatorForLanguageModeling`): each non-special token
/// is chosen with probability `probability`; a chosen token becomes the mask token 80 % of the time, a random
/// token 10 %, and stays 10 %. Returns `None` when nothing was chosen.
pub fn mask_batch(
    corpus: &TokenizedCorpus,
    sentences: &[&[u32]],
    probability: f64,
    rng: &mut ChaCha8Rng,
    device: &Device,
) -> Result<Option<MaskedBatch>> {
    // The masking is drawn sentence by sentence, token by token (the random draws in that order), on the sentences
    // before padding; `len`, the padded width, places a masked token in the flattened batch.
    let len = sentences.iter().map(|s| s.len()).max().unwrap_or(0);
    let mut masked = Vec::with_capacity(sentences.len());
    let mut positions = Vec::new();
    let mut labels = Vec::new();
    for (row, sentence) in sentences.iter().enumerate() {
        let mut ids = sentence.to_vec();
        for (i, id) in ids.iter_mut().enumerate() {
            if corpus.special_ids.contains(id) || !rng.random_bool(probability) {
                continue;
            }
            positions.push((row * len + i) as u32);
            labels.push(*id);
            let roll: f64 = rng.random();
            if roll < 0.8 {
                *id = corpus.mask_id;
            } else if roll < 0.9 {
                *id = rng.random_range(0..corpus.vocab_size);
            }
        }
        masked.push(ids);
    }
    if positions.is_empty() {
        return Ok(None);
    }
    let padded = pad(&masked, corpus.pad_id, device)?;
    Ok(Some(MaskedBatch {
        input_ids: padded.input_ids,
        attention_mask: padded.attention_mask,
        positions: Tensor::from_vec(positions.clone(), positions.len(), device)?,
        labels: Tensor::from_vec(labels, positions.len(), device)?,
    }))
}

/// Vocabulary logits at a batch's masked positions, (masked, vocab).
pub(crate) fn masked_logits(model: &MaskedLm, batch: &MaskedBatch, dropout: Option<&mut Dropout>) -> Result<Tensor> {
    let hidden = model.hidden_states_t(&batch.input_ids, &batch.attention_mask, dropout)?;
    let (rows, len, width) = hidden.dims3()?;
    let at = hidden.reshape((rows * len, width))?.index_select(&batch.positions, 0)?;
    Ok(model.logits_from_hidden(&at)?)
}

/// The masked-LM loss: mean cross-entropy of the original tokens at the masked positions.
pub fn loss(model: &MaskedLm, batch: &MaskedBatch, dropout: Option<&mut Dropout>) -> Result<Tensor> {
    Ok(candle_nn::loss::cross_entropy(&masked_logits(model, batch, dropout)?, &batch.labels)?)
}

/// How well a model predicts masked tokens of held-out text.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct MaskedTokenAccuracy {
    /// Tokens that were masked and predicted.
    pub masked_tokens: usize,
    /// Share whose original token was the model's first choice.
    pub top1: f64,
    /// Share whose original token was among the model's five first choices.
    pub top5: f64,
    /// Mean cross-entropy (nats) of the original tokens.
    pub loss: f64,
}

/// Masked-token accuracy on `corpus` with BERT's masking drawn from `seed` (the same seed gives the same masks, so
/// two models are compared on the same task).
pub(crate) fn masked_token_accuracy(
    model: &MaskedLm,
    corpus: &TokenizedCorpus,
    seed: u64,
    batch_size: usize,
) -> Result<MaskedTokenAccuracy> {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let (mut n, mut top1, mut top5, mut nll) = (0usize, 0usize, 0usize, 0f64);
    for chunk in corpus.sentences.chunks(batch_size.max(1)) {
        let refs: Vec<&[u32]> = chunk.iter().map(Vec::as_slice).collect();
        let Some(batch) = mask_batch(corpus, &refs, 0.15, &mut rng, model.device())? else { continue };
        let logits = masked_logits(model, &batch, None)?;
        let log_probs = candle_nn::ops::log_softmax(&logits, D::Minus1)?;
        let labels = batch.labels.to_vec1::<u32>()?;
        let rows = log_probs.to_device(&Device::Cpu)?.to_vec2::<f32>()?;
        for (row, &label) in rows.iter().zip(&labels) {
            let target = row[label as usize];
            let better = row.iter().filter(|&&x| x > target).count();
            top1 += usize::from(better == 0);
            top5 += usize::from(better < 5);
            nll -= f64::from(target);
            n += 1;
        }
    }
    if n == 0 {
        return Err(Error::NothingToMeasure {
            reason: "the evaluation text has no tokens to mask: give it at least one sentence".into(),
        });
    }
    Ok(MaskedTokenAccuracy {
        masked_tokens: n,
        top1: top1 as f64 / n as f64,
        top5: top5 as f64 / n as f64,
        loss: nll / n as f64,
    })
}

/// Pseudo-perplexity (Salazar et al. 2020, "Masked Language Model Scoring"): every non-special token of every
/// sentence is masked in turn, alone, and scored; the result is exp of the mean negative log-probability of the
/// original tokens. The masked copies of a sentence go through the model together, `batch_size` copies at a time.
pub fn pseudo_perplexity(model: &MaskedLm, corpus: &TokenizedCorpus, batch_size: usize) -> Result<f64> {
    let mut copies: Vec<(Vec<u32>, usize, u32)> = Vec::new();
    for sentence in &corpus.sentences {
        for (i, &id) in sentence.iter().enumerate() {
            if !corpus.special_ids.contains(&id) {
                let mut masked = sentence.clone();
                masked[i] = corpus.mask_id;
                copies.push((masked, i, id));
            }
        }
    }
    if copies.is_empty() {
        return Err(Error::NothingToMeasure {
            reason: "the evaluation text has no tokens to mask: give it at least one sentence".into(),
        });
    }
    let device = model.device();
    let mut nll = 0f64;
    for chunk in copies.chunks(batch_size.max(1)) {
        let sequences: Vec<&[u32]> = chunk.iter().map(|(s, _, _)| s.as_slice()).collect();
        let padded = pad(&sequences, corpus.pad_id, device)?;
        let positions: Vec<u32> =
            chunk.iter().enumerate().map(|(r, (_, p, _))| (r * padded.longest + p) as u32).collect();
        let labels: Vec<u32> = chunk.iter().map(|(_, _, l)| *l).collect();
        let batch = MaskedBatch {
            input_ids: padded.input_ids,
            attention_mask: padded.attention_mask,
            positions: Tensor::from_vec(positions, chunk.len(), device)?,
            labels: Tensor::from_vec(labels, chunk.len(), device)?,
        };
        let log_probs = candle_nn::ops::log_softmax(&masked_logits(model, &batch, None)?, D::Minus1)?;
        let picked = log_probs.gather(&batch.labels.unsqueeze(1)?, 1)?.sum_all()?.to_scalar::<f32>()?;
        nll -= f64::from(picked);
    }
    Ok((nll / copies.len() as f64).exp())
}

/// The order of training sentences for one epoch, shuffled by `rng`.
pub(crate) fn shuffled(n: usize, rng: &mut ChaCha8Rng) -> Vec<usize> {
    let mut order: Vec<usize> = (0..n).collect();
    order.shuffle(rng);
    order
}
