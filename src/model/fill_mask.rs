//! The fill-mask pipeline: the same answers, in the same shape, as transformers' `pipeline("fill-mask")`.

use std::collections::BTreeSet;

use candle_core::{Device, Tensor, D};
use serde::{Deserialize, Serialize};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::model::batch::pad;
use crate::model::config::Config;
use crate::model::encoder::MaskedLm;
use crate::model::hub::ModelFiles;
use crate::model::source::ModelSource;
use crate::model::tokenizer::{self, MASK_TOKENS};

/// The default number of sequences per forward pass of a [`FillMask`] (as a [`crate::model::scorer::MaskScorer`]
/// too).
pub const DEFAULT_BATCH_SIZE: usize = 64;

/// One candidate for one mask: the fields of a transformers fill-mask pipeline result, in its order.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Prediction {
    /// The probability of this token at the mask (a softmax over the whole vocabulary).
    pub score: f64,
    /// The token id.
    pub token: u32,
    /// The token as text (`tokenizer.decode([token])`).
    pub token_str: String,
    /// The text with this token in place of the mask (decoded; special tokens are kept when the text has several
    /// masks, as transformers does).
    pub sequence: String,
}

/// Predictions for a text in the shape the transformers pipeline returns for it: a list for a text with one mask,
/// a list of lists (one per mask) for a text with several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum PipelineOutput {
    /// A text with one mask.
    One(Vec<Prediction>),
    /// A text with several masks: one list per mask, in the order of the masks.
    Several(Vec<Vec<Prediction>>),
}

impl From<Vec<Vec<Prediction>>> for PipelineOutput {
    fn from(mut per_mask: Vec<Vec<Prediction>>) -> Self {
        if per_mask.len() == 1 {
            PipelineOutput::One(per_mask.remove(0))
        } else {
            PipelineOutput::Several(per_mask)
        }
    }
}

/// What to predict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FillOptions {
    /// How many predictions per mask (with targets, at most the number of targets), best first.
    pub top_k: usize,
    /// Score only these words (as the pipeline's `targets`): a word missing from the vocabulary is replaced by its
    /// first sub-token, with a warning on standard error.
    pub targets: Option<Vec<String>>,
    /// How many texts go through the model in one padded forward pass.
    pub batch_size: usize,
}

impl Default for FillOptions {
    fn default() -> Self {
        Self { top_k: 5, targets: None, batch_size: 32 }
    }
}

impl FillOptions {
    /// The `top_k` most probable tokens.
    pub fn top_k(top_k: usize) -> Self {
        Self { top_k, ..Self::default() }
    }
}

/// Texts tokenized and padded into one batch.
#[derive(Debug, Clone)]
pub struct Batch {
    /// Token ids, (texts, longest length), padded on the right with the padding id.
    pub input_ids: Tensor,
    /// 1 for tokens, 0 for padding, (texts, longest length).
    pub attention_mask: Tensor,
    /// Each text's token ids, without padding.
    pub ids: Vec<Vec<u32>>,
}

/// A masked language model and its tokenizer, ready to fill in masks.
pub struct FillMask {
    model: MaskedLm,
    tokenizer: Tokenizer,
    mask_token: String,
    mask_id: u32,
    pad_id: u32,
    /// The ids a prediction may be: those the tokenizer has a token for. `None` when that is every id of the
    /// model's output; a model whose vocabulary is padded beyond its tokenizer's has ids that decode to nothing.
    named_ids: Option<Vec<u32>>,
    source: String,
    /// Where it was loaded from, when it was loaded by name (`None` for a model put together in code).
    origin: Option<ModelSource>,
    batch_size: usize,
}

impl FillMask {
    /// Loads a model from files already found.
    pub fn from_files(files: &ModelFiles, device: &Device) -> Result<Self> {
        let config = Config::from_file(&files.config)?;
        let tokenizer = tokenizer::load(&files.tokenizer, files.tokenizer_config.as_deref())?;
        let model = MaskedLm::from_file(&files.weights, &config, device)?;
        Self::from_parts(model, tokenizer, files.source.clone())
    }

    /// A fill-mask pipeline from a model and its tokenizer; `source` names the model.
    pub fn from_parts(model: MaskedLm, tokenizer: Tokenizer, source: String) -> Result<Self> {
        let config = model.config().clone();
        let (mask_token, mask_id) = MASK_TOKENS
            .into_iter()
            .find_map(|token| tokenizer.token_to_id(token).map(|id| (token.to_string(), id)))
            .ok_or_else(|| Error::NoMaskInVocabulary { looked_for: MASK_TOKENS.join(" and ") })?;
        let tokenizer_size = tokenizer.get_vocab_size(true);
        if tokenizer_size > config.vocab_size {
            return Err(Error::VocabularyMismatch { tokenizer: tokenizer_size, model: config.vocab_size });
        }
        let named: Vec<u32> = (0..config.vocab_size as u32).filter(|&id| tokenizer.id_to_token(id).is_some()).collect();
        if named.is_empty() {
            return Err(Error::VocabularyMismatch { tokenizer: tokenizer_size, model: config.vocab_size });
        }
        let named_ids = (named.len() < config.vocab_size).then_some(named);
        Ok(Self {
            model,
            tokenizer,
            mask_token,
            mask_id,
            pad_id: config.pad_token_id,
            named_ids,
            source,
            origin: None,
            batch_size: DEFAULT_BATCH_SIZE,
        })
    }

    /// The same pipeline, named `source` (in reports and charts).
    pub fn with_source(mut self, source: impl Into<String>) -> Self {
        self.source = source.into();
        self
    }

    /// The same pipeline, marked as loaded from `origin` (what [`FillMask::origin`] gives).
    pub fn with_origin(mut self, origin: ModelSource) -> Self {
        self.origin = Some(origin);
        self
    }

    /// Where the model was loaded from, typed, when it was loaded by name: what tells a demo model from another
    /// (never the text of [`FillMask::source`]). `None` for a model put together in code
    /// ([`FillMask::from_parts`]).
    pub fn origin(&self) -> Option<&ModelSource> {
        self.origin.as_ref()
    }

    /// The model as it was named (hub id or directory).
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The mask token to write in texts: `[MASK]` (BERT, DistilBERT) or `<mask>` (RoBERTa).
    pub fn mask_token(&self) -> &str {
        &self.mask_token
    }

    /// The mask token's id.
    pub fn mask_id(&self) -> u32 {
        self.mask_id
    }

    /// The padding token's id.
    pub fn pad_id(&self) -> u32 {
        self.pad_id
    }

    /// How many sequences go through the model in one forward pass when it scores masks for a bias test
    /// ([`crate::model::scorer::MaskScorer`]); 1 is one forward pass per masked copy.
    pub fn batch_size(&self) -> usize {
        self.batch_size
    }

    /// The same model, scoring `batch_size` sequences per forward pass in the bias tests.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The model.
    pub fn model(&self) -> &MaskedLm {
        &self.model
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The `top_k` most probable tokens for the one mask in `text`, best first.
    pub fn fill(&self, text: &str, top_k: usize) -> Result<Vec<Prediction>> {
        self.one_mask(text, &FillOptions::top_k(top_k))
    }

    /// The probability of each of `targets` at the one mask in `text`, most probable first.
    pub fn fill_targets(&self, text: &str, targets: &[&str]) -> Result<Vec<Prediction>> {
        let targets = targets.iter().map(|t| t.to_string()).collect::<Vec<_>>();
        self.one_mask(text, &FillOptions { top_k: targets.len(), targets: Some(targets), ..FillOptions::default() })
    }

    /// Predictions for every mask in `text`: one list per mask, in the order of the masks.
    pub fn fill_masks(&self, text: &str, options: &FillOptions) -> Result<Vec<Vec<Prediction>>> {
        Ok(self.fill_batch(&[text], options)?.remove(0))
    }

    /// Predictions for many texts (each with one or more masks), `options.batch_size` texts per padded forward pass:
    /// per text, one list per mask.
    pub fn fill_batch(&self, texts: &[&str], options: &FillOptions) -> Result<Vec<Vec<Vec<Prediction>>>> {
        let targets = match &options.targets {
            Some(words) => Some(self.target_ids(words)?),
            None => None,
        };
        let mut results = Vec::with_capacity(texts.len());
        for chunk in texts.chunks(options.batch_size.max(1)) {
            let batch = self.encode(chunk)?;
            let probs = self.mask_probabilities(&batch)?;
            let mut rows = probs.into_iter();
            for ids in &batch.ids {
                let masks: Vec<usize> = mask_positions(ids, self.mask_id);
                let single = masks.len() == 1;
                let per_mask = masks
                    .iter()
                    .map(|&position| {
                        let row = rows.next().expect("one probability row per mask");
                        self.predictions(ids, position, &row, options.top_k, targets.as_deref(), single)
                    })
                    .collect::<Result<Vec<_>>>()?;
                results.push(per_mask);
            }
        }
        Ok(results)
    }

    /// Tokenizes and pads `texts`, checking that each has a mask and fits the model.
    pub fn encode(&self, texts: &[&str]) -> Result<Batch> {
        let max = self.model.config().max_tokens();
        let mut ids = Vec::with_capacity(texts.len());
        for &text in texts {
            if text.trim().is_empty() {
                return Err(Error::EmptyText { mask_token: self.mask_token.clone() });
            }
            let prepared = self.with_own_mask_token(text);
            let encoding = self.tokenizer.encode(prepared.as_str(), true).map_err(|err| Error::Tokenize {
                text: text.into(),
                reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
            })?;
            let text_ids = encoding.get_ids().to_vec();
            if !text_ids.contains(&self.mask_id) {
                return Err(Error::NoMaskToken { text: text.into(), mask_token: self.mask_token.clone() });
            }
            if text_ids.len() > max {
                return Err(Error::TooLong { text: text.into(), tokens: text_ids.len(), max });
            }
            ids.push(text_ids);
        }
        let padded = pad(&ids, self.pad_id, self.model.device())?;
        Ok(Batch { input_ids: padded.input_ids, attention_mask: padded.attention_mask, ids })
    }

    /// Vocabulary logits at every position of one text, (tokens, vocab), as the model computes them.
    pub fn logits(&self, text: &str) -> Result<Tensor> {
        let batch = self.encode(&[text])?;
        Ok(self.model.forward(&batch.input_ids, &batch.attention_mask)?.squeeze(0)?)
    }

    /// The lab's sentences say `[MASK]`; a RoBERTa model says `<mask>`. Either is accepted for any model.
    pub(crate) fn with_own_mask_token(&self, text: &str) -> String {
        MASK_TOKENS
            .into_iter()
            .filter(|token| *token != self.mask_token)
            .fold(text.to_string(), |text, other| text.replace(other, &self.mask_token))
    }

    /// Softmax over the vocabulary at every mask of the batch, in text order then position order.
    fn mask_probabilities(&self, batch: &Batch) -> Result<Vec<Vec<f32>>> {
        let masks: Vec<(usize, usize)> = batch
            .ids
            .iter()
            .enumerate()
            .flat_map(|(t, ids)| mask_positions(ids, self.mask_id).into_iter().map(move |p| (t, p)))
            .collect();
        let at_masks = self.model.encoder().hidden_states_at(&batch.input_ids, &batch.attention_mask, &masks)?;
        let logits = self.model.logits_from_hidden(&at_masks)?;
        let probs = candle_nn::ops::softmax(&logits, D::Minus1)?.to_device(&Device::Cpu)?.to_vec2::<f32>()?;
        if probs.iter().flatten().any(|p| !p.is_finite()) {
            return Err(Error::NonFiniteScores { model: self.source().to_string() });
        }
        Ok(probs)
    }

    fn predictions(
        &self,
        ids: &[u32],
        position: usize,
        probs: &[f32],
        top_k: usize,
        targets: Option<&[u32]>,
        single_mask: bool,
    ) -> Result<Vec<Prediction>> {
        let mut candidates: Vec<u32> = match (targets, &self.named_ids) {
            (Some(targets), _) => targets.to_vec(),
            (None, Some(named)) => named.clone(),
            (None, None) => (0..probs.len() as u32).collect(),
        };
        let top_k = top_k.min(candidates.len());
        let by_score = |a: &u32, b: &u32| probs[*b as usize].total_cmp(&probs[*a as usize]).then(a.cmp(b));
        if top_k < candidates.len() && top_k > 0 {
            candidates.select_nth_unstable_by(top_k - 1, by_score);
        }
        candidates.truncate(top_k);
        candidates.sort_by(by_score);
        candidates
            .into_iter()
            .map(|token| {
                let mut filled = ids.to_vec();
                filled[position] = token;
                filled.retain(|&id| id != self.pad_id);
                Ok(Prediction {
                    score: f64::from(probs[token as usize]),
                    token,
                    token_str: self.decode(&[token], false)?,
                    sequence: self.decode(&filled, single_mask)?,
                })
            })
            .collect()
    }

    fn decode(&self, ids: &[u32], skip_special_tokens: bool) -> Result<String> {
        self.tokenizer.decode(ids, skip_special_tokens).map_err(|err| Error::Tokenize {
            text: format!("{ids:?}"),
            reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
        })
    }

    /// Token ids for target words, as the pipeline finds them: the word itself if it is in the vocabulary, else the
    /// first token of its tokenization (with a warning); duplicates dropped.
    fn target_ids(&self, words: &[String]) -> Result<Vec<u32>> {
        let mut ids = BTreeSet::new();
        for word in words {
            if let Some(id) = self.tokenizer.token_to_id(word) {
                ids.insert(id);
                continue;
            }
            let encoding = self.tokenizer.encode(word.as_str(), false).map_err(|err| Error::Tokenize {
                text: word.clone(),
                reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
            })?;
            match encoding.get_ids().first() {
                Some(&id) => {
                    let token = self.tokenizer.id_to_token(id).unwrap_or_default();
                    eprintln!(
                        "warning: the target {word:?} is not in the model's vocabulary; using its first piece {token:?} instead"
                    );
                    ids.insert(id);
                }
                None => eprintln!("warning: the target {word:?} gives no token and is left out"),
            }
        }
        if ids.is_empty() {
            return Err(Error::NoTargets { targets: words.to_vec() });
        }
        Ok(ids.into_iter().collect())
    }

    /// Predictions for the one mask of `text`.
    fn one_mask(&self, text: &str, options: &FillOptions) -> Result<Vec<Prediction>> {
        let mut per_mask = self.fill_masks(text, options)?;
        match per_mask.len() {
            1 => Ok(per_mask.remove(0)),
            count => Err(Error::SeveralMasks { text: text.into(), count }),
        }
    }
}

fn mask_positions(ids: &[u32], mask_id: u32) -> Vec<usize> {
    ids.iter().enumerate().filter(|(_, &id)| id == mask_id).map(|(i, _)| i).collect()
}

/// A plain-text table of predictions: rank, token, score and the filled-in sentence.
pub fn format_table(predictions: &[Prediction]) -> String {
    let width = predictions.iter().map(|p| p.token_str.chars().count()).max().unwrap_or(5).max(5);
    let mut out = format!("{:>4}  {:<width$}  {:>8}  sequence\n", "rank", "token", "score");
    for (rank, p) in predictions.iter().enumerate() {
        out.push_str(&format!("{:>4}  {:<width$}  {:>8.4}  {}\n", rank + 1, p.token_str, p.score, p.sequence));
    }
    out
}
