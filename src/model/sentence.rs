//! Sentence embeddings from an encoder: [`SentenceEncoder`] (an encoder and its tokenizer, mean-pooled as
//! sentence-transformers pools all-MiniLM-L6-v2) and the [`SentenceEmbedder`] seam that SEAT
//! ([`crate::measure::suites::seat`]) measures through; a [`FillMask`] model embeds with its own encoder.

use candle_core::{DType, Device};
use tokenizers::Tokenizer;

use crate::error::{Error, Result};
use crate::model::batch::pad;
use crate::model::config::Config;
use crate::model::encoder::{Encoder, MaskedLm};
use crate::model::fill_mask::FillMask;
use crate::model::source::ModelSource;
use crate::model::{demo, hub};

/// Sentences per padded forward pass when embedding (sentence-transformers' default `batch_size` of `encode`).
pub(crate) const DEFAULT_EMBED_BATCH_SIZE: usize = 32;

/// The name that [`SentenceEncoder::from_pretrained`] reads as the all-MiniLM-L6-v2 encoder, found by
/// [`crate::model::demo::find_encoder`].
pub const MINILM_NAME: &str = "minilm";

/// Something that turns texts into sentence embeddings, one vector per text.
pub trait SentenceEmbedder {
    /// The model's name, for reports.
    fn name(&self) -> String;
    /// The model's short name, for chart titles: the name it was loaded by (`demo`, a hub id, a directory) when it
    /// was loaded by name, else [`SentenceEmbedder::name`].
    fn label(&self) -> String {
        self.name()
    }
    /// One embedding per text, in order.
    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>>;
}

enum Body {
    Encoder(Encoder),
    MaskedLm(MaskedLm),
}

/// A BERT-family encoder (BERT, DistilBERT, RoBERTa) that embeds sentences by mean pooling (`mean_pooled`), as
/// sentence-transformers embeds with all-MiniLM-L6-v2.
pub struct SentenceEncoder {
    body: Body,
    tokenizer: Tokenizer,
    source: String,
    /// Which demo model it is, when it is one (`None` otherwise: `source` is then the name it was loaded by).
    origin: Option<ModelSource>,
    batch_size: usize,
}

impl SentenceEncoder {
    /// Loads an encoder on the CPU: a local directory or a Hugging Face Hub id ([`crate::model::hub::resolve`]); `"minilm"`
    /// for all-MiniLM-L6-v2 wherever [`crate::model::demo::find_encoder`] finds it; `"demo"` for the demo model's encoder
    /// (whose top layers were retrained with its masked-LM head, so it differs from MiniLM's) and `"demo-head-only"`
    /// for its sibling's (MiniLM's own, under that name). An encoder saved on
    /// its own (sentence-transformers, `BertModel`) and a `*ForMaskedLM` checkpoint (its head ignored) both load.
    pub fn from_pretrained(model: &str) -> Result<Self> {
        Self::from_pretrained_on(model, None, &Device::Cpu)
    }

    /// [`SentenceEncoder::from_pretrained`] at a hub `revision` (ignored for a directory), onto `device`.
    pub fn from_pretrained_on(model: &str, revision: Option<&str>, device: &Device) -> Result<Self> {
        match ModelSource::parse(model) {
            ModelSource::Demo => {
                let (files, mlm) = demo::load_model(device)?;
                let tokenizer = crate::model::tokenizer::load(&files.tokenizer, files.tokenizer_config.as_deref())?;
                Ok(Self::new(Body::MaskedLm(mlm), tokenizer, String::new()).with_origin(ModelSource::Demo))
            }
            // demo-head-only trained only a head: its encoder is all-MiniLM-L6-v2's own.
            ModelSource::DemoHeadOnly => {
                Ok(Self::from_files(&demo::find_encoder()?, device)?.with_origin(ModelSource::DemoHeadOnly))
            }
            ModelSource::Hub(name) if name == MINILM_NAME => Self::from_files(&demo::find_encoder()?, device),
            ModelSource::Dir(_) | ModelSource::Hub(_) => Self::from_files(&hub::resolve(model, revision)?, device),
        }
    }

    /// Loads the encoder of a model whose files were already found (its masked-LM head, if any, is not loaded).
    pub fn from_files(files: &hub::ModelFiles, device: &Device) -> Result<Self> {
        let config = Config::from_file(&files.config)?;
        let tokenizer = crate::model::tokenizer::load(&files.tokenizer, files.tokenizer_config.as_deref())?;
        let encoder = Encoder::from_file(&files.weights, &config, device)?;
        Ok(Self::new(Body::Encoder(encoder), tokenizer, files.source.clone()))
    }

    /// An encoder and its tokenizer; `source` names the model.
    pub fn from_parts(encoder: Encoder, tokenizer: Tokenizer, source: String) -> Self {
        Self::new(Body::Encoder(encoder), tokenizer, source)
    }

    fn new(body: Body, tokenizer: Tokenizer, source: String) -> Self {
        Self { body, tokenizer, source, origin: None, batch_size: DEFAULT_EMBED_BATCH_SIZE }
    }

    /// The same encoder as the demo model `origin`, named by its description.
    fn with_origin(mut self, origin: ModelSource) -> Self {
        self.source = origin.description();
        self.origin = Some(origin);
        self
    }

    /// The same encoder, embedding `batch_size` sentences per forward pass.
    pub fn with_batch_size(mut self, batch_size: usize) -> Self {
        self.batch_size = batch_size.max(1);
        self
    }

    /// The encoder.
    pub fn encoder(&self) -> &Encoder {
        match &self.body {
            Body::Encoder(encoder) => encoder,
            Body::MaskedLm(mlm) => mlm.encoder(),
        }
    }

    /// The tokenizer.
    pub fn tokenizer(&self) -> &Tokenizer {
        &self.tokenizer
    }

    /// The model as it was named.
    pub fn source(&self) -> &str {
        &self.source
    }

    /// The mean-pooled sentence embedding of each text (`mean_pooled`), not normalised.
    pub fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        let pad_id = self.encoder().config().pad_token_id;
        mean_pooled(self.encoder(), &self.tokenizer, pad_id, texts, self.batch_size)
    }
}

impl SentenceEmbedder for SentenceEncoder {
    fn name(&self) -> String {
        self.source.clone()
    }

    fn label(&self) -> String {
        self.origin.as_ref().map_or_else(|| self.source.clone(), ModelSource::name)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        SentenceEncoder::embed(self, texts)
    }
}

/// A fill-mask model embeds sentences with its own encoder (borrowed, not copied), its masked-LM head unused.
impl SentenceEmbedder for FillMask {
    fn name(&self) -> String {
        self.source().to_string()
    }

    fn label(&self) -> String {
        crate::model::scorer::MaskScorer::label(self)
    }

    fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
        mean_pooled(self.model().encoder(), self.tokenizer(), self.pad_id(), texts, DEFAULT_EMBED_BATCH_SIZE)
    }
}

/// Sentence embeddings by mean pooling, as sentence-transformers' `Pooling` module with `pooling_mode_mean_tokens`
/// (all-MiniLM-L6-v2's `1_Pooling/config.json`): the mean of the last layer's hidden states over the text's real
/// tokens (attention mask 1), the special tokens `[CLS]` and `[SEP]` included, i.e.
/// `sum(hidden * mask) / max(sum(mask), 1e-9)` (sentence-transformers `models/Pooling.py`).
///
/// Texts are tokenized with special tokens and run in padded batches of `batch_size`, shortest first (as
/// sentence-transformers sorts by length); the result is in the order of `texts`. Padding does not change an
/// embedding beyond rounding. Texts are not truncated: one longer than the model reads is an [`Error::TooLong`]
/// (sentence-transformers would cut it at `max_seq_length`, 256 for MiniLM).
///
/// Not normalised: all-MiniLM-L6-v2's `modules.json` ends with a `Normalize` module (unit length), which
/// sentence-transformers applies, but WEAT uses only cosine similarities, which scaling does not change.
pub(crate) fn mean_pooled(
    encoder: &Encoder,
    tokenizer: &Tokenizer,
    pad_id: u32,
    texts: &[&str],
    batch_size: usize,
) -> Result<Vec<Vec<f32>>> {
    let max = encoder.config().max_tokens();
    let mut ids = Vec::with_capacity(texts.len());
    for &text in texts {
        let encoding = tokenizer.encode(text, true).map_err(|err| Error::Tokenize {
            text: text.into(),
            reason: format!("{err}; {}", crate::model::tokenizer::FAILED),
        })?;
        let text_ids = encoding.get_ids().to_vec();
        if text_ids.len() > max {
            return Err(Error::TooLong { text: text.into(), tokens: text_ids.len(), max });
        }
        ids.push(text_ids);
    }
    let mut order: Vec<usize> = (0..texts.len()).collect();
    order.sort_by_key(|&i| ids[i].len());
    let device = encoder.device();
    let mut out = vec![Vec::new(); texts.len()];
    for chunk in order.chunks(batch_size.max(1)) {
        let sequences: Vec<&[u32]> = chunk.iter().map(|&i| ids[i].as_slice()).collect();
        let batch = pad(&sequences, pad_id, device)?;
        let hidden = encoder.hidden_states_t(&batch.input_ids, &batch.attention_mask, None)?;
        let mask = batch.attention_mask.to_dtype(DType::F32)?.unsqueeze(2)?;
        let summed = hidden.broadcast_mul(&mask)?.sum(1)?;
        let counts = mask.sum(1)?.clamp(1e-9f32, f32::MAX)?;
        let pooled = summed.broadcast_div(&counts)?.to_vec2::<f32>()?;
        for (&i, row) in chunk.iter().zip(pooled) {
            out[i] = row;
        }
    }
    Ok(out)
}
