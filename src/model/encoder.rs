//! The masked language model: one post-layer-norm transformer encoder with a masked-LM head, loaded from the
//! checkpoints transformers writes for BERT, DistilBERT and RoBERTa.
//!
//! The three families share one architecture and differ only in tensor names, token types and where positions start,
//! so one implementation serves all three. It is written here rather than taken from candle-transformers because the
//! lab needs what those models do not give: checkpoints whose decoder weight is tied to the word embeddings (what
//! `save_pretrained` writes), RoBERTa's decoder bias, the hidden states on their own (for embedding tests), and later
//! training with dropout.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::safetensors::Load;
use candle_core::{DType, Device, Module, Tensor, D};
use candle_nn::{embedding, linear, Activation, Embedding, Linear, VarBuilder};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::error::{Error, Result};
use crate::model::config::{Config, Family};
use crate::model::hub::WeightsFile;

/// Tensor names of one family, relative to the model's prefix.
struct Names {
    prefix: &'static str,
    layers: &'static str,
    query: &'static str,
    key: &'static str,
    value: &'static str,
    attention_out: &'static str,
    attention_norm: &'static str,
    ffn_in: &'static str,
    ffn_out: &'static str,
    output_norm: &'static str,
    head_dense: &'static str,
    head_norm: &'static str,
    decoder: &'static str,
    decoder_bias: &'static str,
}

const BERT_LAYER_NAMES: (&str, &str, &str, &str, &str, &str, &str, &str, &str) = (
    "encoder.layer",
    "attention.self.query",
    "attention.self.key",
    "attention.self.value",
    "attention.output.dense",
    "attention.output.LayerNorm",
    "intermediate.dense",
    "output.dense",
    "output.LayerNorm",
);

fn names(family: Family) -> Names {
    let (layers, query, key, value, attention_out, attention_norm, ffn_in, ffn_out, output_norm) = match family {
        Family::Bert | Family::Roberta => BERT_LAYER_NAMES,
        Family::DistilBert => (
            "transformer.layer",
            "attention.q_lin",
            "attention.k_lin",
            "attention.v_lin",
            "attention.out_lin",
            "sa_layer_norm",
            "ffn.lin1",
            "ffn.lin2",
            "output_layer_norm",
        ),
    };
    let (prefix, head_dense, head_norm, decoder, decoder_bias) = match family {
        Family::Bert => (
            "bert",
            "cls.predictions.transform.dense",
            "cls.predictions.transform.LayerNorm",
            "cls.predictions.decoder",
            "cls.predictions.bias",
        ),
        Family::Roberta => ("roberta", "lm_head.dense", "lm_head.layer_norm", "lm_head.decoder", "lm_head.bias"),
        Family::DistilBert => {
            ("distilbert", "vocab_transform", "vocab_layer_norm", "vocab_projector", "vocab_projector.bias")
        }
    };
    Names {
        prefix,
        layers,
        query,
        key,
        value,
        attention_out,
        attention_norm,
        ffn_in,
        ffn_out,
        output_norm,
        head_dense,
        head_norm,
        decoder,
        decoder_bias,
    }
}

/// Where a family's tensors live, for training: what to freeze and what is tied.
pub(crate) struct Layout {
    /// The word embeddings (`bert.embeddings.word_embeddings.weight`).
    pub word_embeddings: String,
    /// The decoder weight, tied to the word embeddings (`cls.predictions.decoder.weight`).
    pub decoder_weight: String,
    /// The prefix of every embedding tensor (`bert.embeddings.`).
    pub embeddings: String,
    /// The prefix of encoder layer `i` is this plus `{i}.` (`bert.encoder.layer.`).
    pub layer: String,
}

/// The tensor layout of `family`'s checkpoints.
pub(crate) fn layout(family: Family) -> Layout {
    let names = names(family);
    Layout {
        word_embeddings: format!("{}.embeddings.word_embeddings.weight", names.prefix),
        decoder_weight: format!("{}.weight", names.decoder),
        embeddings: format!("{}.embeddings.", names.prefix),
        layer: format!("{}.{}.", names.prefix, names.layers),
    }
}

struct Embeddings {
    words: Embedding,
    positions: Embedding,
    token_types: Option<Embedding>,
    norm: Norm,
    /// RoBERTa: positions count from `pad_token_id + 1` and padding gets position `pad_token_id`.
    roberta_padding: Option<u32>,
}

impl Embeddings {
    fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let token_types = match config.type_vocab_size {
            // Weights the config says nothing of are refused, as transformers refuses them: the shape check fails.
            0 if vb.contains_tensor("token_type_embeddings.weight") => {
                embedding(0, config.hidden_size, vb.pp("token_type_embeddings"))?;
                None
            }
            0 => None,
            n => Some(embedding(n, config.hidden_size, vb.pp("token_type_embeddings"))?),
        };
        Ok(Self {
            words: embedding(config.vocab_size, config.hidden_size, vb.pp("word_embeddings"))?,
            positions: embedding(config.max_position_embeddings, config.hidden_size, vb.pp("position_embeddings"))?,
            token_types,
            norm: layer_norm(config.hidden_size, config.layer_norm_eps, vb.pp("LayerNorm"))?,
            roberta_padding: (config.family == Family::Roberta).then_some(config.pad_token_id),
        })
    }

    fn forward(&self, input_ids: &Tensor, dropout: Option<&mut Dropout>) -> candle_core::Result<Tensor> {
        let (_batch, len) = input_ids.dims2()?;
        let position_ids = match self.roberta_padding {
            None => Tensor::arange(0u32, len as u32, input_ids.device())?.unsqueeze(0)?,
            Some(pad) => {
                // transformers' create_position_ids_from_input_ids: cumsum over non-padding tokens, offset by pad.
                let not_pad = input_ids.ne(pad)?.to_dtype(DType::F32)?;
                ((not_pad.cumsum(1)? * &not_pad)? + pad as f64)?.to_dtype(DType::U32)?
            }
        };
        let mut xs = self.words.forward(input_ids)?;
        if let Some(token_types) = &self.token_types {
            xs = xs.broadcast_add(&token_types.forward(&input_ids.zeros_like()?)?)?;
        }
        xs = xs.broadcast_add(&self.positions.forward(&position_ids)?)?;
        Dropout::hidden(dropout, &self.norm.forward(&xs)?)
    }
}

struct Layer {
    query: Linear,
    key: Linear,
    value: Linear,
    attention_out: Linear,
    attention_norm: Norm,
    ffn_in: Linear,
    ffn_out: Linear,
    output_norm: Norm,
    act: Activation,
    heads: usize,
}

impl Layer {
    fn load(vb: VarBuilder, config: &Config, names: &Names) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let eps = config.layer_norm_eps;
        Ok(Self {
            query: linear(h, h, vb.pp(names.query))?,
            key: linear(h, h, vb.pp(names.key))?,
            value: linear(h, h, vb.pp(names.value))?,
            attention_out: linear(h, h, vb.pp(names.attention_out))?,
            attention_norm: layer_norm(h, eps, vb.pp(names.attention_norm))?,
            ffn_in: linear(h, config.intermediate_size, vb.pp(names.ffn_in))?,
            ffn_out: linear(config.intermediate_size, h, vb.pp(names.ffn_out))?,
            output_norm: layer_norm(h, eps, vb.pp(names.output_norm))?,
            act: config.hidden_act,
            heads: config.num_attention_heads,
        })
    }

    /// `xs`: (batch, len, hidden); `mask_bias`: (batch, 1, 1, len), 0 for tokens and a large negative for padding.
    /// With `dropout`, drops out where transformers does in training: attention probabilities, and the attention
    /// and feed-forward outputs before each residual sum.
    fn forward(&self, xs: &Tensor, mask_bias: &Tensor, dropout: Option<&mut Dropout>) -> candle_core::Result<Tensor> {
        Ok(self.forward_with_probs(xs, mask_bias, dropout)?.0)
    }

    /// [`Layer::forward`], and the attention probabilities (before dropout), (batch, heads, query, key).
    fn forward_with_probs(
        &self,
        xs: &Tensor,
        mask_bias: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let (batch, len, hidden) = xs.dims3()?;
        let head_dim = hidden / self.heads;
        let split = |t: Tensor| t.reshape((batch, len, self.heads, head_dim))?.transpose(1, 2)?.contiguous();
        let q = split(self.query.forward(xs)?)?;
        let k = split(self.key.forward(xs)?)?;
        let v = split(self.value.forward(xs)?)?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?.broadcast_add(mask_bias)?;
        let probs = softmax_last_dim(&scores)?;
        let dropped = Dropout::attention(dropout.as_deref_mut(), &probs)?;
        let context = dropped.matmul(&v)?.transpose(1, 2)?.reshape((batch, len, hidden))?;
        Ok((self.after_attention(&context, xs, dropout)?, probs))
    }

    /// [`Layer::forward`] at some positions only, without dropout: the layer's output at the positions `at` names,
    /// (positions, hidden).
    /// Keys and values are computed at every position, since every position is attended to; the queries, the
    /// attention output and the feed-forward block only at the rows asked for.
    fn forward_at(&self, xs: &Tensor, mask_bias: &Tensor, at: &Rows) -> candle_core::Result<Tensor> {
        let (batch, len, hidden) = xs.dims3()?;
        let head_dim = hidden / self.heads;
        let rows = at.sequences.dim(0)?;
        let split = |t: Tensor| t.reshape((batch, len, self.heads, head_dim))?.transpose(1, 2)?.contiguous();
        // Each row attends to its own sequence's keys and values: (rows, heads, len, head_dim).
        let k = split(self.key.forward(xs)?)?.index_select(&at.sequences, 0)?;
        let v = split(self.value.forward(xs)?)?.index_select(&at.sequences, 0)?;
        let own = xs.reshape((batch * len, hidden))?.index_select(&at.flat, 0)?;
        let q = self.query.forward(&own)?.reshape((rows, self.heads, 1, head_dim))?;
        let scores = (q.matmul(&k.t()?)? / (head_dim as f64).sqrt())?
            .broadcast_add(&mask_bias.index_select(&at.sequences, 0)?)?;
        let context = softmax_last_dim(&scores)?.matmul(&v)?.reshape((rows, hidden))?;
        self.after_attention(&context, &own, None)
    }

    /// The rest of the layer once the attention context is known: its output projection, the residual sum and
    /// norm, then the feed-forward block with its own. `xs` is the layer's input at the same positions as `context`.
    fn after_attention(
        &self,
        context: &Tensor,
        xs: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<Tensor> {
        let attention = Dropout::hidden(dropout.as_deref_mut(), &self.attention_out.forward(context)?)?;
        let xs = self.attention_norm.forward(&(attention + xs)?)?;
        let ffn = self.ffn_out.forward(&self.act.forward(&self.ffn_in.forward(&xs)?)?)?;
        let ffn = Dropout::hidden(dropout, &ffn)?;
        self.output_norm.forward(&(ffn + xs)?)
    }
}

/// Positions of a padded batch, as the two index tensors [`Layer::forward_at`] needs.
struct Rows {
    /// Each position's row in the batch flattened to (batch × len, hidden).
    flat: Tensor,
    /// Each position's sequence.
    sequences: Tensor,
}

impl Rows {
    fn new(positions: &[(usize, usize)], len: usize, device: &Device) -> candle_core::Result<Self> {
        let flat = positions.iter().map(|&(t, p)| (t * len + p) as u32).collect::<Vec<_>>();
        let sequences = positions.iter().map(|&(t, _)| t as u32).collect::<Vec<_>>();
        Ok(Self {
            flat: Tensor::from_vec(flat, positions.len(), device)?,
            sequences: Tensor::from_vec(sequences, positions.len(), device)?,
        })
    }
}

struct Head {
    dense: Linear,
    act: Activation,
    norm: Norm,
    /// The decoder: word-embedding-shaped weight (vocab, hidden) and a bias per token.
    decoder: Linear,
}

impl Head {
    fn load(vb: VarBuilder, config: &Config, names: &Names) -> candle_core::Result<Self> {
        let h = config.hidden_size;
        let weight = vb.pp(names.decoder).get((config.vocab_size, h), "weight")?;
        let bias = vb.get(config.vocab_size, names.decoder_bias)?;
        Ok(Self {
            dense: linear(h, h, vb.pp(names.head_dense))?,
            act: config.head_act,
            norm: layer_norm(h, config.layer_norm_eps, vb.pp(names.head_norm))?,
            decoder: Linear::new(weight, Some(bias)),
        })
    }

    fn forward(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        let xs = self.norm.forward(&self.act.forward(&self.dense.forward(hidden)?)?)?;
        self.decoder.forward(&xs)
    }
}

/// A transformer encoder without a head (BERT, DistilBERT or RoBERTa): what sentence embeddings are made from, and
/// the body of [`MaskedLm`].
pub struct Encoder {
    embeddings: Embeddings,
    layers: Vec<Layer>,
    config: Config,
    device: Device,
}

impl Encoder {
    /// Builds the encoder from the tensors in `vb`, named as transformers names them for `config.family` (with the
    /// family's prefix, `bert.` for BERT).
    pub fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let names = names(config.family);
        let base = vb.pp(names.prefix);
        let layers = (0..config.num_hidden_layers)
            .map(|i| Layer::load(base.pp(format!("{}.{i}", names.layers)), config, &names))
            .collect::<candle_core::Result<Vec<_>>>()?;
        Ok(Self {
            embeddings: Embeddings::load(base.pp("embeddings"), config)?,
            layers,
            config: config.clone(),
            device: vb.device().clone(),
        })
    }

    /// Loads the encoder of a checkpoint file (see [`Checkpoint`]) onto `device`: an encoder saved on its own
    /// (`BertModel`, sentence-transformers) or the body of a masked-LM checkpoint, whose head is left out.
    pub fn from_file(weights: &WeightsFile, config: &Config, device: &Device) -> Result<Self> {
        from_checkpoint(weights, config, device, Encoder::load)
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.device
    }

    /// The last layer's hidden states, (batch, len, hidden), in training mode when `dropout` is given; see
    /// [`MaskedLm::hidden_states`].
    pub fn hidden_states_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        mut dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<Tensor> {
        let mask_bias = mask_bias(attention_mask)?;
        let mut xs = self.embeddings.forward(input_ids, dropout.as_deref_mut())?;
        for layer in &self.layers {
            xs = layer.forward(&xs, &mask_bias, dropout.as_deref_mut())?;
        }
        Ok(xs)
    }

    /// The last layer's hidden states at some positions only, (positions, hidden), in the order given; each
    /// position is (sequence, position in the sequence) of the padded batch. Equal to [`Encoder::hidden_states_t`]
    /// without dropout at those rows, but the last layer's queries, attention output and feed-forward block are
    /// computed only there: what a masked-LM score needs at its masks (on bert-base, a 15-token sentence with one mask
    /// is about 6 % less work).
    pub fn hidden_states_at(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        positions: &[(usize, usize)],
    ) -> candle_core::Result<Tensor> {
        let (batch, len) = attention_mask.dims2()?;
        if let Some(&(t, p)) = positions.iter().find(|&&(t, p)| t >= batch || p >= len) {
            return Err(candle_core::Error::Msg(format!(
                "position ({t}, {p}) is outside the batch of {batch} sequences of {len} tokens"
            )));
        }
        if positions.is_empty() {
            // Nothing to compute (and candle's softmax fails on an empty tensor).
            return Tensor::zeros((0, self.config.hidden_size), DType::F32, &self.device);
        }
        let mask_bias = mask_bias(attention_mask)?;
        let rows = Rows::new(positions, len, &self.device)?;
        let mut xs = self.embeddings.forward(input_ids, None)?;
        let Some((last, below)) = self.layers.split_last() else {
            let hidden = xs.dim(D::Minus1)?;
            return xs.reshape((batch * len, hidden))?.index_select(&rows.flat, 0);
        };
        for layer in below {
            xs = layer.forward(&xs, &mask_bias, None)?;
        }
        last.forward_at(&xs, &mask_bias, &rows)
    }

    /// The last layer's hidden states, (batch, len, hidden), and the attention each position *receives*, (batch,
    /// len): the attention probability paid to it, averaged over every layer, every head and every (non-padding)
    /// position of its sequence as the query. Padding receives none. This is the weight of AULA (Kaneko & Bollegala
    /// 2022): their `evaluate.py` averages `output.attentions` over layers, heads and queries, in that order.
    pub fn hidden_states_and_attention(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
    ) -> candle_core::Result<(Tensor, Tensor)> {
        let (batch, len) = attention_mask.dims2()?;
        let mask_bias = mask_bias(attention_mask)?;
        let queries = attention_mask.to_dtype(DType::F32)?;
        let mut received = Tensor::zeros((batch, len), DType::F32, &self.device)?;
        let mut xs = self.embeddings.forward(input_ids, None)?;
        for layer in &self.layers {
            let (next, probs) = layer.forward_with_probs(&xs, &mask_bias, None)?;
            xs = next;
            // (batch, heads, query, key) summed over heads, then over the sequence's own queries: (batch, key).
            let by_query = probs.sum(1)?.broadcast_mul(&queries.reshape((batch, len, 1))?)?;
            received = (received + by_query.sum(1)?)?;
        }
        let per_sequence = (queries.sum_keepdim(1)? * (self.layers.len() * self.config.num_attention_heads) as f64)?;
        Ok((xs, received.broadcast_div(&per_sequence)?))
    }
}

/// The additive attention mask of transformers: (1 - mask) * the lowest f32, (batch, 1, 1, len), added to the
/// attention scores.
fn mask_bias(attention_mask: &Tensor) -> candle_core::Result<Tensor> {
    let (batch, len) = attention_mask.dims2()?;
    ((1.0 - attention_mask.to_dtype(DType::F32)?)? * f32::MIN as f64)?.reshape((batch, 1, 1, len))
}

/// A transformer encoder with its masked-language-model head (BERT, DistilBERT or RoBERTa).
pub struct MaskedLm {
    encoder: Encoder,
    head: Head,
}

impl MaskedLm {
    /// Builds the model from the tensors in `vb`, named as transformers names them for `config.family`.
    pub fn load(vb: VarBuilder, config: &Config) -> candle_core::Result<Self> {
        let names = names(config.family);
        Ok(Self { encoder: Encoder::load(vb.clone(), config)?, head: Head::load(vb, config, &names)? })
    }

    /// Loads a checkpoint file written by transformers (see [`Checkpoint`]) onto `device`.
    pub fn from_file(weights: &WeightsFile, config: &Config, device: &Device) -> Result<Self> {
        from_checkpoint(weights, config, device, MaskedLm::load)
    }

    /// The model's config.
    pub fn config(&self) -> &Config {
        &self.encoder.config
    }

    /// The device the weights live on.
    pub fn device(&self) -> &Device {
        &self.encoder.device
    }

    /// The encoder under the head.
    pub fn encoder(&self) -> &Encoder {
        &self.encoder
    }

    /// The last layer's hidden states, (batch, len, hidden), for `input_ids` and `attention_mask` (both (batch, len),
    /// u32; the mask is 1 for tokens and 0 for padding).
    pub fn hidden_states(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor> {
        self.encoder.hidden_states_t(input_ids, attention_mask, None)
    }

    /// [`MaskedLm::hidden_states`], in training mode when `dropout` is given.
    pub fn hidden_states_t(
        &self,
        input_ids: &Tensor,
        attention_mask: &Tensor,
        dropout: Option<&mut Dropout>,
    ) -> candle_core::Result<Tensor> {
        self.encoder.hidden_states_t(input_ids, attention_mask, dropout)
    }

    /// Vocabulary logits for hidden states of any leading shape (…, hidden) → (…, vocab).
    pub fn logits_from_hidden(&self, hidden: &Tensor) -> candle_core::Result<Tensor> {
        self.head.forward(hidden)
    }

    /// Vocabulary logits at every position, (batch, len, vocab).
    pub fn forward(&self, input_ids: &Tensor, attention_mask: &Tensor) -> candle_core::Result<Tensor> {
        self.logits_from_hidden(&self.hidden_states(input_ids, attention_mask)?)
    }
}

/// Dropout for training, drawn from its own seeded generator so that a training run can be repeated exactly.
///
/// transformers drops out the embeddings, the attention probabilities and each sub-layer's output
/// (`hidden_dropout_prob`, `attention_probs_dropout_prob`); candle-transformers' BERT does not drop out at all.
pub struct Dropout {
    /// Probability of dropping a hidden-state value.
    pub hidden: f32,
    /// Probability of dropping an attention probability.
    pub attention: f32,
    rng: ChaCha8Rng,
}

impl Dropout {
    /// Dropout with these probabilities, seeded.
    pub fn new(hidden: f32, attention: f32, seed: u64) -> Self {
        Self { hidden, attention, rng: ChaCha8Rng::seed_from_u64(seed) }
    }

    fn hidden(dropout: Option<&mut Dropout>, xs: &Tensor) -> candle_core::Result<Tensor> {
        match dropout {
            Some(d) => d.apply(xs, d.hidden),
            None => Ok(xs.clone()),
        }
    }

    fn attention(dropout: Option<&mut Dropout>, xs: &Tensor) -> candle_core::Result<Tensor> {
        match dropout {
            Some(d) => d.apply(xs, d.attention),
            None => Ok(xs.clone()),
        }
    }

    /// Zeroes each value with probability `p` and scales the rest by 1 / (1 - p).
    fn apply(&mut self, xs: &Tensor, p: f32) -> candle_core::Result<Tensor> {
        if p <= 0.0 {
            return Ok(xs.clone());
        }
        let keep = 1.0 / (1.0 - p);
        let mask: Vec<f32> =
            (0..xs.elem_count()).map(|_| if self.rng.random::<f32>() < p { 0.0 } else { keep }).collect();
        xs * Tensor::from_vec(mask, xs.shape(), xs.device())?.to_dtype(xs.dtype())?
    }
}

/// Layer normalisation that can be trained: candle's fused layer-norm kernel computes no gradient (its result is
/// not tracked, so backpropagation silently stops there), so whenever a gradient is tracked the same normalisation
/// is computed from differentiable operations instead.
struct Norm {
    weight: Tensor,
    bias: Tensor,
    eps: f64,
}

fn layer_norm(size: usize, eps: f64, vb: VarBuilder) -> candle_core::Result<Norm> {
    let norm = candle_nn::layer_norm(size, eps, vb)?;
    let bias = norm.bias().cloned().ok_or_else(|| candle_core::Error::Msg("layer norm without a bias".into()))?;
    Ok(Norm { weight: norm.weight().clone(), bias, eps })
}

impl Norm {
    fn forward(&self, xs: &Tensor) -> candle_core::Result<Tensor> {
        if !(xs.track_op() || self.weight.track_op() || self.bias.track_op()) {
            return candle_nn::ops::layer_norm(&xs.contiguous()?, &self.weight, &self.bias, self.eps as f32);
        }
        let mean = xs.mean_keepdim(D::Minus1)?;
        let centred = xs.broadcast_sub(&mean)?;
        let variance = centred.sqr()?.mean_keepdim(D::Minus1)?;
        centred.broadcast_div(&(variance + self.eps)?.sqrt()?)?.broadcast_mul(&self.weight)?.broadcast_add(&self.bias)
    }
}

/// Softmax over the last dimension: candle's fused kernel when no gradient is tracked (it computes none), the
/// differentiable composition otherwise.
fn softmax_last_dim(xs: &Tensor) -> candle_core::Result<Tensor> {
    if xs.track_op() {
        candle_nn::ops::softmax(xs, D::Minus1)
    } else {
        candle_nn::ops::softmax_last_dim(xs)
    }
}

/// The tensors of a checkpoint, renamed to what [`MaskedLm::load`] asks for.
///
/// transformers' checkpoints vary, and all of these load:
/// - `save_pretrained` leaves out the decoder weight, which is tied to the word embeddings, and names BERT's decoder
///   bias `cls.predictions.bias` (RoBERTa: `lm_head.bias`); older files hold `…decoder.weight` and `…decoder.bias`;
/// - older BERT checkpoints name layer-norm parameters `gamma` and `beta` instead of `weight` and `bias`;
/// - weights in f16 or bf16 are converted to f32.
pub struct Checkpoint {
    /// The weights file.
    pub path: PathBuf,
    /// The tensors by name, after renaming.
    pub tensors: HashMap<String, Tensor>,
}

impl Checkpoint {
    /// Reads a safetensors or PyTorch file and normalises its names for `family`.
    pub fn read(weights: &WeightsFile, family: Family, device: &Device) -> Result<Self> {
        let path = weights.path().to_path_buf();
        let corrupt = |err: candle_core::Error| Error::CorruptWeights { path: path.clone(), reason: err.to_string() };
        let raw: Vec<(String, Tensor)> = match weights {
            WeightsFile::Safetensors(p) => read_safetensors(p, device).map_err(corrupt)?,
            WeightsFile::Pytorch(p) => candle_core::pickle::read_all(p).map_err(corrupt)?,
        };
        if raw.is_empty() {
            return Err(Error::CorruptWeights { path, reason: "the file holds no tensors".into() });
        }
        let mut tensors = HashMap::with_capacity(raw.len() + 2);
        for (name, tensor) in raw {
            let name = match (name.strip_suffix(".gamma"), name.strip_suffix(".beta")) {
                (Some(stem), _) => format!("{stem}.weight"),
                (_, Some(stem)) => format!("{stem}.bias"),
                _ => name,
            };
            let tensor = tensor.to_device(device)?;
            tensors.insert(name, tensor);
        }
        let names = names(family);
        // An encoder saved on its own (BertModel, sentence-transformers) has no prefix and no head: add the prefix,
        // so that the error names the missing head rather than every encoder tensor.
        let prefix = format!("{}.", names.prefix);
        if !tensors.keys().any(|name| name.starts_with(&prefix)) {
            tensors = tensors.into_iter().map(|(name, tensor)| (format!("{prefix}{name}"), tensor)).collect();
        }
        let tied = format!("{}.weight", names.decoder);
        let words = format!("{}.embeddings.word_embeddings.weight", names.prefix);
        if !tensors.contains_key(&tied) {
            if let Some(words) = tensors.get(&words).cloned() {
                tensors.insert(tied, words);
            }
        }
        let old_bias = format!("{}.bias", names.decoder);
        if !tensors.contains_key(names.decoder_bias) {
            if let Some(bias) = tensors.get(&old_bias).cloned() {
                tensors.insert(names.decoder_bias.to_string(), bias);
            }
        }
        Ok(Self { path, tensors })
    }
}

/// The tensors of a safetensors file, copied out of a memory map of it (no copy of the whole file in memory first).
fn read_safetensors(path: &Path, device: &Device) -> candle_core::Result<Vec<(String, Tensor)>> {
    if !std::fs::metadata(path).is_ok_and(|meta| meta.len() > 0) {
        // A file that cannot be opened, or an empty one (which cannot be mapped): read whole, for the usual error.
        return Ok(candle_core::safetensors::load(path, device)?.into_iter().collect());
    }
    // SAFETY: the map is only read, by the loop below, which copies every tensor out of it before it is dropped at
    // the end of this function. As with every memory-mapped read of weights (candle's mmaped VarBuilder,
    // transformers), another process truncating the file during these milliseconds would fault the read.
    let file = unsafe { candle_core::safetensors::MmapedSafetensors::new(path) }.map_err(without_path)?;
    // Copied on every thread of the pool: the copies, and the page faults of the memory they go to, are most of a load.
    use rayon::prelude::*;
    file.tensors().into_par_iter().map(|(name, view)| Ok((name, view.load(device)?))).collect()
}

/// candle's error without the path it adds to errors of a memory-mapped file ([`Error::CorruptWeights`] names it).
fn without_path(err: candle_core::Error) -> candle_core::Error {
    match err {
        candle_core::Error::WithPath { inner, .. } => *inner,
        other => other,
    }
}

/// Reads the checkpoint `weights` onto `device` and builds a model from it with `load` (an encoder's or a masked
/// LM's), its errors said as [`loading_error`] says them.
fn from_checkpoint<T>(
    weights: &WeightsFile,
    config: &Config,
    device: &Device,
    load: impl FnOnce(VarBuilder, &Config) -> candle_core::Result<T>,
) -> Result<T> {
    let checkpoint = Checkpoint::read(weights, config.family, device)?;
    let path = checkpoint.path.clone();
    let vb = VarBuilder::from_tensors(checkpoint.tensors, DType::F32, device);
    load(vb, config).map_err(|err| loading_error(err, &path, config.family))
}

/// Turns candle's loading errors into ones that say what is wrong with the checkpoint.
fn loading_error(err: candle_core::Error, path: &Path, family: Family) -> Error {
    let mut inner = &err;
    while let candle_core::Error::WithBacktrace { inner: next, .. } | candle_core::Error::Context { inner: next, .. } =
        inner
    {
        inner = next;
    }
    match inner {
        candle_core::Error::CannotFindTensor { path: name } => {
            let names = names(family);
            let hint = if name.starts_with(names.prefix) {
                format!(
                    "The file is not a complete {} checkpoint: it may be truncated, or of another model type than config.json says.",
                    family.model_type()
                )
            } else {
                "The checkpoint has no masked-language-model head (it was saved from an encoder such as BertModel \
                 or a sentence-transformers model), so it cannot fill masks: use a *ForMaskedLM checkpoint."
                    .to_string()
            };
            Error::MissingWeight { path: path.into(), name: name.clone(), hint }
        }
        candle_core::Error::UnexpectedShape { msg, expected, got } => Error::WeightShape {
            path: path.into(),
            name: msg.trim_start_matches("shape mismatch for ").to_string(),
            expected: expected.dims().to_vec(),
            found: got.dims().to_vec(),
        },
        _ => Error::CorruptWeights { path: path.into(), reason: err.to_string() },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use candle_core::Var;
    use candle_nn::VarMap;

    /// A BERT of 8 hidden units, 2 heads and 2 layers over a vocabulary of 50.
    fn tiny_config() -> Config {
        Config {
            family: Family::Bert,
            vocab_size: 50,
            hidden_size: 8,
            num_hidden_layers: 2,
            num_attention_heads: 2,
            intermediate_size: 16,
            hidden_act: Activation::Gelu,
            head_act: Activation::Gelu,
            max_position_embeddings: 16,
            type_vocab_size: 2,
            layer_norm_eps: 1e-12,
            pad_token_id: 0,
            hidden_dropout_prob: 0.1,
            attention_probs_dropout_prob: 0.1,
        }
    }

    /// Every parameter must get a gradient: candle's fused layer-norm and softmax kernels compute none, and a model
    /// built on them trains only what comes after the last of them (a bug this test was written for).
    #[test]
    fn every_parameter_gets_a_gradient() {
        let config = tiny_config();
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let model = MaskedLm::load(vb, &config).unwrap();
        // The decoder weight has no initialisation hint, so the VarMap made it zeros (in a real model it is the
        // word embeddings): give it values, or no gradient could pass it.
        let decoder = Tensor::randn(0f32, 1.0, (50, 8), &Device::Cpu).unwrap();
        varmap.data().lock().unwrap()["cls.predictions.decoder.weight"].set(&decoder).unwrap();
        let ids = Tensor::new(&[[2u32, 7, 9, 3, 0], [2, 11, 4, 5, 3]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 1, 1, 0], [1, 1, 1, 1, 1]], &Device::Cpu).unwrap();
        let mut dropout = Dropout::new(0.1, 0.1, 7);
        let hidden = model.hidden_states_t(&ids, &mask, Some(&mut dropout)).unwrap();
        let logits = model.logits_from_hidden(&hidden).unwrap();
        let loss =
            candle_nn::loss::cross_entropy(&logits.reshape((10, 50)).unwrap(), &ids.flatten_all().unwrap()).unwrap();
        let grads = loss.backward().unwrap();
        let vars = varmap.data().lock().unwrap();
        assert!(vars.len() > 30);
        let mut zero = Vec::new();
        for (name, var) in vars.iter() {
            let grad = grads.get(var).unwrap_or_else(|| panic!("no gradient reaches {name}"));
            let norm = grad.sqr().unwrap().sum_all().unwrap().to_scalar::<f32>().unwrap();
            if norm == 0.0 {
                zero.push(name.clone());
            }
        }
        zero.sort();
        assert!(zero.is_empty(), "zero gradients: {zero:?}");
    }

    /// The shortcut that computes the last layer only at the masks gives what the whole layer gives there: in a
    /// padded sequence, with two positions in one sequence, in any order and with a position repeated; no position
    /// gives no row, and a position outside the batch an error.
    #[test]
    fn hidden_states_at_some_positions_equal_the_whole_layers_there() {
        let config = Config { num_hidden_layers: 3, ..tiny_config() };
        let varmap = VarMap::new();
        let vb = VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu);
        let encoder = Encoder::load(vb, &config).unwrap();
        let ids = Tensor::new(&[[2u32, 7, 9, 3, 0, 0], [2, 11, 4, 5, 6, 3], [2, 8, 3, 0, 0, 0]], &Device::Cpu).unwrap();
        let mask = Tensor::new(&[[1u32, 1, 1, 1, 0, 0], [1, 1, 1, 1, 1, 1], [1, 1, 1, 0, 0, 0]], &Device::Cpu).unwrap();
        let whole = encoder.hidden_states_t(&ids, &mask, None).unwrap().to_vec3::<f32>().unwrap();
        let positions = [(1, 4), (0, 2), (1, 1), (2, 1), (0, 2), (1, 0)];
        let at = encoder.hidden_states_at(&ids, &mask, &positions).unwrap().to_vec2::<f32>().unwrap();
        assert_eq!(at.len(), positions.len());
        for (&(t, p), row) in positions.iter().zip(&at) {
            assert!(row.iter().any(|v| *v != 0.0));
            for (a, b) in row.iter().zip(&whole[t][p]) {
                assert!((a - b).abs() < 1e-5, "({t}, {p}): {a} vs {b}");
            }
        }
        assert_eq!(encoder.hidden_states_at(&ids, &mask, &[]).unwrap().dims(), &[0, 8]);
        let outside = encoder.hidden_states_at(&ids, &mask, &[(0, 1), (3, 0)]).unwrap_err().to_string();
        assert!(outside.contains("(3, 0) is outside the batch of 3 sequences of 6 tokens"), "{outside}");
    }

    #[test]
    fn the_trainable_layer_norm_equals_the_fused_one() {
        let xs = Tensor::new(&[[1f32, 2., 4., 8.], [-1., 0., 0.5, 3.]], &Device::Cpu).unwrap();
        let norm = Norm {
            weight: Tensor::new(&[1f32, 0.5, 2., 1.], &Device::Cpu).unwrap(),
            bias: Tensor::new(&[0f32, 1., 0., -1.], &Device::Cpu).unwrap(),
            eps: 1e-12,
        };
        let fused = norm.forward(&xs).unwrap().to_vec2::<f32>().unwrap();
        let var = Var::from_tensor(&xs).unwrap();
        let differentiable = norm.forward(var.as_tensor()).unwrap().to_vec2::<f32>().unwrap();
        for (a, b) in fused.iter().flatten().zip(differentiable.iter().flatten()) {
            assert!((a - b).abs() < 1e-5, "{a} vs {b}");
        }
    }
}
