//! Fine-tuning a masked language model with candle-nn: continued masked-LM training of any checkpoint biaslab loads
//! (or the demo model), as the debiasing literature does it. The one trainer of the crate: the demo model's head is
//! trained with it too ([`crate::train::demo`]).
//!
//! - **Masking** is BERT's ([`mlm::mask_batch`]: 15 % of the tokens; 80 % of those become `[MASK]`, 10 % a random
//!   token, 10 % stay).
//! - **Optimiser**: AdamW (Loshchilov & Hutter 2019) with bias correction, decoupled weight decay except on biases and
//!   layer norms, as transformers' `Trainer` groups the parameters. candle-nn's `AdamW` computes the same update but
//!   keeps its moments private, so a run could not be resumed exactly; [`Trainer`] holds them itself and saves them.
//! - **Learning rate**: linear warm-up then linear decay to 0, exactly transformers'
//!   `get_linear_schedule_with_warmup` (step `s` of `n` with `w` warm-up steps: `s / w` while `s < w`, then
//!   `(n - s) / (n - w)`).
//! - **Gradient clipping** to a global L2 norm (`torch.nn.utils.clip_grad_norm_`).
//! - **Dropout** in training mode, which candle-transformers' BERT does not do: [`crate::model::encoder::Dropout`], at the
//!   model config's `hidden_dropout_prob` / `attention_probs_dropout_prob` unless set. Raising it is the
//!   dropout-only debiasing baseline of Webster et al. 2020.
//! - **Freezing** the embeddings or the lowest layers, against catastrophic forgetting. The decoder weight is tied to
//!   the word embeddings (as in BERT), so freezing the embeddings freezes it too.
//! - **Seeded**: the shuffling of each epoch, the masking of each step and the dropout of each step are drawn from
//!   generators seeded by (seed, epoch or step), so a run resumed from a checkpoint takes exactly the steps the
//!   uninterrupted run would have.
//! - **Checkpoints** are a model directory like any other (`model.safetensors` in transformers' names with the tied
//!   decoder left out, as `save_pretrained` writes it, `config.json`, the tokenizer files): `--model DIR` loads one.
//!   Beside them, `optimizer.safetensors` (AdamW's moments) and `trainer_state.json` (the step, the losses, the
//!   settings) let an interrupted run resume.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::backprop::GradStore;
use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::VarBuilder;
use indicatif::ProgressBar;
use rand::SeedableRng;
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use tokenizers::Tokenizer;

use crate::data::output::OutputDir;
use crate::error::{Error, Result};
use crate::model::config::{Config, Family};
use crate::model::encoder::{self, Checkpoint, Dropout, MaskedLm};
use crate::model::fill_mask::FillMask;
use crate::model::hub::{self, ModelFiles, TokenizerFiles};
use crate::model::mlm::{self, MaskedBatch, TokenizedCorpus};
use crate::model::source::ModelSource;
use crate::train::adamw;

/// The weights of a checkpoint.
pub const WEIGHTS_FILE: &str = "model.safetensors";
/// AdamW's moments of a checkpoint.
pub(crate) const OPTIMIZER_FILE: &str = "optimizer.safetensors";
/// Where a run stands: its step, losses and settings.
pub const STATE_FILE: &str = "trainer_state.json";
/// Present while a checkpoint's files are being swapped in (see [`finetune`]).
const SAVING_MARKER: &str = "saving";

/// Settings of a fine-tuning run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FinetuneOptions {
    /// Seed of every random choice (shuffling, masking, dropout).
    pub seed: u64,
    /// Passes over the training sentences.
    pub epochs: usize,
    /// Stop after this many steps (`None`: every epoch).
    pub max_steps: Option<usize>,
    /// Peak learning rate.
    pub learning_rate: f64,
    /// Share of the steps spent warming the learning rate up from 0 (then it decays linearly to 0).
    pub warmup: f64,
    /// AdamW's decoupled weight decay (not on biases and layer norms).
    pub weight_decay: f64,
    /// Sentences per step.
    pub batch_size: usize,
    /// Longer sentences are cut to this many tokens.
    pub max_len: usize,
    /// Share of tokens masked (BERT: 0.15).
    pub mask_probability: f64,
    /// Gradients are scaled down to this global L2 norm when larger.
    pub clip_norm: f64,
    /// Keep the embeddings (and so the tied decoder weight) as they are.
    pub freeze_embeddings: bool,
    /// Keep the lowest this-many encoder layers as they are.
    pub freeze_layers: usize,
    /// Dropout probability of hidden states in training; `None` takes the model config's `hidden_dropout_prob`.
    pub dropout: Option<f32>,
    /// Dropout probability of attention probabilities; `None` takes `dropout` if set, else the config's
    /// `attention_probs_dropout_prob`.
    pub attention_dropout: Option<f32>,
    /// Save a checkpoint every this-many steps (0: only at the end).
    pub checkpoint_every: usize,
    /// Stop after this many steps in this call, with a checkpoint, to resume later (`None`: train to the end).
    /// Like `checkpoint_every`, it does not change what is trained.
    pub pause_after: Option<usize>,
    /// Write into an output folder inside the base model's folder, or over files there that biaslab did not write
    /// ([`crate::data::output`]). Not part of the run's identity (nor saved with it).
    #[serde(skip)]
    pub force: bool,
}

impl Default for FinetuneOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            epochs: 1,
            max_steps: None,
            learning_rate: 5e-5,
            warmup: 0.1,
            weight_decay: 0.01,
            batch_size: 8,
            max_len: 128,
            mask_probability: 0.15,
            clip_norm: 1.0,
            freeze_embeddings: false,
            freeze_layers: 0,
            dropout: None,
            attention_dropout: None,
            checkpoint_every: 100,
            pause_after: None,
            force: false,
        }
    }
}

impl FinetuneOptions {
    /// Checks that the settings can train: an [`Error::Training`] says which one cannot.
    pub fn validate(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Training(what.to_string()));
        if self.batch_size == 0 {
            return bad("the batch size must be at least 1: set batch_size (--batch-size) to 1 or more");
        }
        if self.epochs == 0 || self.max_steps == Some(0) {
            return bad(
                "train for at least one epoch and one step: set epochs (--epochs) and max_steps (--max-steps) to 1 or \
                 more",
            );
        }
        if !(self.learning_rate > 0.0 && self.learning_rate.is_finite()) {
            return bad("the learning rate must be a positive number: set learning_rate (--lr), for example to 5e-5");
        }
        if !(0.0..1.0).contains(&self.warmup) {
            return bad("the warm-up share must be at least 0 and below 1: set warmup (--warmup), for example to 0.1");
        }
        if !(self.mask_probability > 0.0 && self.mask_probability < 1.0) {
            return bad(
                "the masking probability must be between 0 and 1: set mask_probability, for example to 0.15 (BERT's)",
            );
        }
        if self.dropout.into_iter().chain(self.attention_dropout).any(|p| !(0.0..1.0).contains(&p)) {
            return bad(
                "dropout must be at least 0 and below 1: set dropout (--dropout) and attention_dropout, for example to \
                 0.1",
            );
        }
        if self.clip_norm.is_nan() || self.clip_norm <= 0.0 || self.weight_decay < 0.0 {
            return bad(
                "the clipping norm must be positive and the weight decay not negative: set clip_norm (--clip-norm), \
                 for example to 1.0, and weight_decay (--weight-decay) to 0 or more",
            );
        }
        if self.max_len < 8 {
            return bad("the maximum length must be at least 8 tokens: set max_len (--max-len) to 8 or more");
        }
        Ok(())
    }
}

/// A model to fine-tune: its files (config and tokenizer are copied into every checkpoint) and its tensors.
pub struct BaseModel {
    /// The model as named (`demo`, a hub id, a directory).
    pub name: String,
    /// Its files; for the demo model, the encoder's.
    pub files: ModelFiles,
    /// Its config.
    pub config: Config,
    /// Every tensor, in transformers' names, f32, with the tied decoder weight filled in.
    pub tensors: HashMap<String, Tensor>,
    /// Where the tensors live.
    pub device: Device,
    /// sha256 of the weights (for the demo model: of the encoder's and of the head's), so that a checkpoint made
    /// from other weights under the same name is never taken for this model's.
    pub weights_sha256: String,
    /// Where it was loaded from, when it was loaded by name ([`BaseModel::load`]); `None` from files found by the
    /// caller ([`BaseModel::from_files`]).
    pub origin: Option<ModelSource>,
}

impl BaseModel {
    /// Loads `model` onto `device`: `demo` (the offline demo model, unless a directory of that name exists), a local
    /// directory, or a hub id.
    pub fn load(model: &str, device: &Device) -> Result<Self> {
        let source = ModelSource::parse(model);
        let mut base = if source == ModelSource::Demo {
            let encoder = crate::model::demo::find_encoder()?;
            crate::model::demo::check_encoder(&encoder)?;
            let mut tensors = Checkpoint::read(&encoder.weights, Family::Bert, device)?.tensors;
            for (name, tensor) in crate::model::demo::trained_tensors(device)? {
                tensors.insert(name, tensor);
            }
            let config = Config::from_file(&encoder.config)?;
            let sha =
                format!("{}+{:x}", crate::model::demo::ENCODER_SHA256, Sha256::digest(crate::model::demo::WEIGHTS));
            Self::new(source.name(), encoder, config, tensors, device, sha)?
        } else {
            Self::from_files(&hub::resolve(model, None)?, device)?
        };
        base.origin = Some(source);
        Ok(base)
    }

    /// The lab's model, as [`FillMask::from_env`] chooses it: `BIASLAB_MODEL` (a hub id, a directory or `demo`) or
    /// else bert-base-uncased, on the CPU; the offline demo model, with a note on standard error, when the hub
    /// cannot be reached.
    pub fn from_env() -> Result<Self> {
        crate::model::choose::or_demo(&crate::env::model(), |name| Self::load(name, &Device::Cpu))
    }

    /// Loads a model from files already found.
    pub fn from_files(files: &ModelFiles, device: &Device) -> Result<Self> {
        let config = Config::from_file(&files.config)?;
        let tensors = Checkpoint::read(&files.weights, config.family, device)?.tensors;
        let sha = crate::data::cache::sha256_file(files.weights.path())?;
        Self::new(files.source.clone(), files.clone(), config, tensors, device, sha)
    }

    fn new(
        name: String,
        files: ModelFiles,
        config: Config,
        tensors: HashMap<String, Tensor>,
        device: &Device,
        weights_sha256: String,
    ) -> Result<Self> {
        let tensors = tensors
            .into_iter()
            .map(|(name, t)| Ok((name, t.to_dtype(DType::F32)?.to_device(device)?)))
            .collect::<Result<HashMap<_, _>>>()?;
        Ok(Self { name, files, config, tensors, device: device.clone(), weights_sha256, origin: None })
    }

    /// The model's tokenizer.
    pub fn tokenizer(&self) -> Result<Tokenizer> {
        crate::model::tokenizer::load(&self.files.tokenizer, self.files.tokenizer_config.as_deref())
    }

    /// The model as it is, as a fill-mask pipeline (what a mitigation is compared against).
    pub fn fill_mask(&self) -> Result<FillMask> {
        if self.origin == Some(ModelSource::Demo) {
            return crate::model::demo::load(&self.device);
        }
        let vb = VarBuilder::from_tensors(self.tensors.clone(), DType::F32, &self.device);
        let model = MaskedLm::load(vb, &self.config)?;
        let pipeline = FillMask::from_parts(model, self.tokenizer()?, self.name.clone())?;
        Ok(match &self.origin {
            Some(origin) => pipeline.with_origin(origin.clone()),
            None => pipeline,
        })
    }

    /// Tokenizes `sentences` for training or evaluation with this model, cut to `max_len` tokens.
    pub fn tokenize(&self, sentences: &[String], max_len: usize) -> Result<TokenizedCorpus> {
        TokenizedCorpus::new(&self.tokenizer()?, sentences, max_len, self.config.vocab_size)
    }
}

/// One trained tensor with AdamW's moments.
struct Param {
    name: String,
    var: Var,
    m: Tensor,
    v: Tensor,
    decay: bool,
}

/// Serves frozen tensors as they are and trained ones as [`Var`]s, the tied decoder weight as the word embeddings.
struct Backend {
    tensors: HashMap<String, Tensor>,
    vars: Arc<Mutex<Vec<(String, Var)>>>,
    trainable: Box<dyn Fn(&str) -> bool + Send + Sync>,
    decoder_weight: String,
    word_embeddings: String,
}

impl Backend {
    fn tensor(&self, name: &str) -> candle_core::Result<&Tensor> {
        self.tensors.get(name).ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.into() })
    }
}

impl SimpleBackend for Backend {
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
        let name = if name == self.decoder_weight { self.word_embeddings.as_str() } else { name };
        let tensor = self.tensor(name)?;
        if tensor.shape() != &shape {
            return Err(candle_core::Error::UnexpectedShape {
                msg: format!("shape mismatch for {name}"),
                expected: shape,
                got: tensor.shape().clone(),
            });
        }
        if !(self.trainable)(name) {
            return tensor.to_dtype(dtype)?.to_device(dev);
        }
        let mut vars = self.vars.lock().map_err(|_| {
            candle_core::Error::Msg(
                "the trained tensors: their lock was poisoned by a thread that panicked (a bug in biaslab; please \
                 report it)"
                    .into(),
            )
        })?;
        if let Some((_, var)) = vars.iter().find(|(n, _)| n == name) {
            return Ok(var.as_tensor().clone());
        }
        let var = Var::from_tensor(&tensor.to_dtype(dtype)?.to_device(dev)?)?;
        vars.push((name.to_string(), var.clone()));
        Ok(var.as_tensor().clone())
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        self.tensor(name)?.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.tensors.contains_key(name) || name == self.decoder_weight
    }
}

/// A masked language model being trained: the model, its trained tensors and AdamW's state.
pub struct Trainer {
    model: MaskedLm,
    params: Vec<Param>,
    tensors: HashMap<String, Tensor>,
    decoder_weight: String,
    steps_taken: usize,
    options: FinetuneOptions,
}

impl Trainer {
    /// A trainer starting from `base`'s tensors.
    pub fn new(base: &BaseModel, options: &FinetuneOptions) -> Result<Self> {
        Self::from_tensors(base.tensors.clone(), &base.config, options, &base.device)
    }

    /// A trainer starting from `tensors` (transformers' names) for a model with `config`.
    pub fn from_tensors(
        mut tensors: HashMap<String, Tensor>,
        config: &Config,
        options: &FinetuneOptions,
        device: &Device,
    ) -> Result<Self> {
        options.validate()?;
        if options.freeze_layers > config.num_hidden_layers {
            return Err(Error::Training(format!(
                "cannot freeze {} layers of a model with {}: freeze at most {1} (freeze_layers, --freeze-layers)",
                options.freeze_layers, config.num_hidden_layers
            )));
        }
        let layout = encoder::layout(config.family);
        if !tensors.contains_key(&layout.word_embeddings) {
            return Err(Error::MissingWeight {
                path: "(the model)".into(),
                name: layout.word_embeddings.clone(),
                hint: "the checkpoint has no word embeddings".into(),
            });
        }
        // Tied: the decoder is the word embeddings, one tensor trained once.
        tensors.remove(&layout.decoder_weight);
        let (embeddings, layer, freeze_embeddings, freeze_layers) =
            (layout.embeddings.clone(), layout.layer.clone(), options.freeze_embeddings, options.freeze_layers);
        let trainable = move |name: &str| {
            if freeze_embeddings && name.starts_with(&embeddings) {
                return false;
            }
            !(0..freeze_layers).any(|i| name.starts_with(&format!("{layer}{i}.")))
        };
        let vars = Arc::new(Mutex::new(Vec::new()));
        let backend = Backend {
            tensors: tensors.clone(),
            vars: vars.clone(),
            trainable: Box::new(trainable),
            decoder_weight: layout.decoder_weight.clone(),
            word_embeddings: layout.word_embeddings.clone(),
        };
        let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
        let model = MaskedLm::load(vb, config)?;
        let vars = vars.lock().map_err(|_| Error::Internal("the trained tensors' lock is poisoned".into()))?.clone();
        let params = vars
            .into_iter()
            .map(|(name, var)| {
                let decay = !(name.ends_with("bias") || name.contains("LayerNorm") || name.contains("layer_norm"));
                let m = var.as_tensor().zeros_like()?;
                let v = var.as_tensor().zeros_like()?;
                Ok(Param { name, var, m, v, decay })
            })
            .collect::<Result<Vec<_>>>()?;
        Ok(Self {
            model,
            params,
            tensors,
            decoder_weight: layout.decoder_weight,
            steps_taken: 0,
            options: options.clone(),
        })
    }

    /// The model as it is now.
    pub fn model(&self) -> &MaskedLm {
        &self.model
    }

    /// How many numbers are trained.
    pub fn trainable_parameters(&self) -> usize {
        self.params.iter().map(|p| p.var.elem_count()).sum()
    }

    /// How many numbers the model has (the tied decoder weight counted once).
    pub fn total_parameters(&self) -> usize {
        self.tensors.values().map(Tensor::elem_count).sum()
    }

    /// The names of the trained tensors.
    pub fn trained_tensors(&self) -> Vec<&str> {
        self.params.iter().map(|p| p.name.as_str()).collect()
    }

    /// Optimisation steps taken (AdamW's `t`).
    pub fn steps_taken(&self) -> usize {
        self.steps_taken
    }

    /// One optimisation step on `batch` at `learning_rate`: forward in training mode (with `dropout`), the masked-LM
    /// loss, backward, clipping, AdamW. Returns the loss before the step. A loss that is not a finite number stops
    /// training with an error (lower the learning rate).
    pub fn train_step(
        &mut self,
        batch: &MaskedBatch,
        learning_rate: f64,
        dropout: Option<&mut Dropout>,
    ) -> Result<f64> {
        let loss = mlm::loss(&self.model, batch, dropout)?;
        let value = f64::from(loss.to_scalar::<f32>()?);
        if !value.is_finite() {
            return Err(Error::Training(format!(
                "the loss became {value} at step {}: lower the learning rate",
                self.steps_taken + 1
            )));
        }
        let grads = loss.backward()?;
        let clip = self.clip_scale(&grads)?;
        self.adamw(&grads, learning_rate, clip)?;
        Ok(value)
    }

    /// The factor that scales all gradients down to a global L2 norm of `clip_norm` (`clip_grad_norm_`), if they are
    /// above it.
    fn clip_scale(&self, grads: &GradStore) -> Result<Option<f64>> {
        let mut sum = 0f64;
        for p in &self.params {
            if let Some(g) = grads.get(&p.var) {
                sum += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
            }
        }
        let norm = sum.sqrt();
        let max = self.options.clip_norm;
        // torch: clip_coef = max_norm / (total_norm + 1e-6)
        Ok((norm > max && norm.is_finite()).then(|| max / (norm + 1e-6)))
    }

    /// AdamW as `torch.optim.AdamW` (betas 0.9 / 0.999, eps 1e-8): decay first, then the bias-corrected Adam step,
    /// on gradients scaled by `clip`. In place on the CPU ([`adamw`]), with the same bits as the tensor operations
    /// other devices run.
    fn adamw(&mut self, grads: &GradStore, lr: f64, clip: Option<f64>) -> Result<()> {
        self.steps_taken += 1;
        let t = self.steps_taken as i32;
        for p in &mut self.params {
            let Some(g) = grads.get(&p.var) else { continue };
            let decay = if p.decay { self.options.weight_decay } else { 0.0 };
            let step = adamw::Step { lr, decay, t, clip };
            if !adamw::step_in_place(&p.var, &p.m, &p.v, g, step)? {
                adamw::step_with_tensor_ops(&p.var, &mut p.m, &mut p.v, g, step)?;
            }
        }
        Ok(())
    }

    /// Every tensor of the model as it is now, as `save_pretrained` would write it (the tied decoder left out).
    pub fn tensors(&self) -> HashMap<String, Tensor> {
        let mut all = self.tensors.clone();
        for p in &self.params {
            all.insert(p.name.clone(), p.var.as_tensor().clone());
        }
        all.remove(&self.decoder_weight);
        all
    }

    fn save_weights(&self, path: &Path) -> Result<()> {
        candle_core::safetensors::save(&self.tensors(), path)
            .map_err(|err| Error::Io { path: path.into(), source: std::io::Error::other(err.to_string()) })
    }

    fn save_optimizer(&self, path: &Path) -> Result<()> {
        let mut state = HashMap::new();
        for p in &self.params {
            state.insert(format!("m.{}", p.name), p.m.clone());
            state.insert(format!("v.{}", p.name), p.v.clone());
        }
        state.insert("step".to_string(), Tensor::new(&[self.steps_taken as u32], &Device::Cpu)?);
        candle_core::safetensors::save(&state, path)
            .map_err(|err| Error::Io { path: path.into(), source: std::io::Error::other(err.to_string()) })
    }

    fn load_optimizer(&mut self, path: &Path, device: &Device) -> Result<()> {
        let corrupt = |reason: String| Error::CorruptWeights { path: path.into(), reason };
        let mut state = candle_core::safetensors::load(path, device).map_err(|err| corrupt(err.to_string()))?;
        let step = state.remove("step").ok_or_else(|| corrupt("no step".into()))?;
        self.steps_taken =
            step.to_vec1::<u32>().map_err(|err| corrupt(err.to_string()))?.first().copied().unwrap_or(0) as usize;
        for p in &mut self.params {
            let mut moment = |key: String| -> Result<Tensor> {
                let t =
                    state.remove(&key).ok_or_else(|| corrupt(format!("no {key}: saved with other tensors frozen?")))?;
                if t.shape() != p.var.shape() {
                    return Err(corrupt(format!("{key} has shape {:?}, the model {:?}", t.dims(), p.var.dims())));
                }
                Ok(t.to_dtype(DType::F32)?)
            };
            p.m = moment(format!("m.{}", p.name))?;
            p.v = moment(format!("v.{}", p.name))?;
        }
        Ok(())
    }
}

/// The learning rate at `step` (from 0) of `total`, with `warmup` warm-up steps: transformers'
/// `get_linear_schedule_with_warmup` (0 at the first step when there is a warm-up).
pub fn learning_rate(peak: f64, step: usize, total: usize, warmup: usize) -> f64 {
    if step < warmup {
        return peak * step as f64 / warmup.max(1) as f64;
    }
    peak * (total.saturating_sub(step)) as f64 / (total.saturating_sub(warmup)).max(1) as f64
}

/// A seed for (seed, stream, index): the shuffling of epoch `index` (stream 0), the masking (1) and the dropout (2)
/// of step `index`.
fn seed_for(seed: u64, stream: u64, index: usize) -> u64 {
    // splitmix64 of the three, so nearby indices give unrelated generators
    let mut z = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03) ^ (index as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

/// Where a run stands, written as `trainer_state.json` with every checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainerState {
    /// sha256 of the base model's name and weights, the training token ids and the settings: a run resumes only with
    /// the same.
    pub fingerprint: String,
    /// The base model.
    pub base: String,
    /// Steps taken.
    pub step: usize,
    /// Steps the run takes in all.
    pub total_steps: usize,
    /// Whether the run is complete.
    pub finished: bool,
    /// The loss of every step taken.
    /// (`None` for a step in which no token happened to be masked, so nothing was learned.)
    pub losses: Vec<Option<f64>>,
    /// Training time so far, in seconds (all sessions).
    pub seconds: f64,
    /// Numbers trained.
    pub trainable_parameters: usize,
    /// Numbers in the model.
    pub total_parameters: usize,
    /// Training sentences.
    pub sentences: usize,
    /// The settings.
    pub options: FinetuneOptions,
    /// biaslab's version.
    pub biaslab_version: String,
}

/// What a fine-tuning run did.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct FinetuneRun {
    /// The checkpoint directory: `--model DIR` loads it.
    pub out: PathBuf,
    /// The run's state at the end.
    pub state: TrainerState,
    /// The step a resumed run started from (`None` when it started from the base model).
    pub resumed_from: Option<usize>,
    /// The run had finished before: nothing was trained, the checkpoint was only loaded.
    pub reused: bool,
}

/// Which tenth of a run's losses [`mean_of_tenth`] averages.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Tenth {
    First,
    Last,
}

/// The mean loss of the first or last tenth (at least one) of the steps that had a loss (`None`: a step whose batch
/// masked nothing); NaN when none had one. The one definition of "the loss at the start and at the end of a run",
/// for [`FinetuneRun`] and the demo model's training.
pub(crate) fn mean_of_tenth(losses: &[Option<f64>], tenth: Tenth) -> f64 {
    let losses: Vec<f64> = losses.iter().flatten().copied().collect();
    let n = (losses.len() / 10).max(1).min(losses.len());
    let part = match tenth {
        Tenth::First => &losses[..n],
        Tenth::Last => &losses[losses.len() - n..],
    };
    part.iter().sum::<f64>() / n as f64
}

impl FinetuneRun {
    /// Mean loss of the first tenth of the steps (at least one step; NaN before any step).
    pub fn first_loss(&self) -> f64 {
        mean_of_tenth(&self.state.losses, Tenth::First)
    }

    /// Mean loss of the last tenth of the steps (at least one step; NaN before any step).
    pub fn last_loss(&self) -> f64 {
        mean_of_tenth(&self.state.losses, Tenth::Last)
    }

    /// One line: steps, time, loss from start to end.
    pub fn summary(&self) -> String {
        let how = if self.reused {
            " (a finished run found in the folder: loaded, not trained again)".to_string()
        } else if let Some(step) = self.resumed_from {
            format!(" (resumed at step {step})")
        } else {
            String::new()
        };
        format!(
            "{} steps of {} sentences each in {:.0} s{how}; loss {:.3} → {:.3} (mean of the first and last tenth); {} of {} parameters trained; checkpoint in {}",
            self.state.step,
            self.state.options.batch_size,
            self.state.seconds,
            self.first_loss(),
            self.last_loss(),
            self.state.trainable_parameters,
            self.state.total_parameters,
            self.out.display()
        )
    }

    /// sha256 of the checkpoint's weights (`model.safetensors`): what identifies the fine-tuned model.
    pub fn weights_sha256(&self) -> Result<String> {
        crate::data::cache::sha256_file(&self.out.join(WEIGHTS_FILE))
    }

    /// The fine-tuned model as a fill-mask pipeline, named `name`.
    pub fn load(&self, name: &str, device: &Device) -> Result<FillMask> {
        let files = hub::resolve_dir(&self.out)?;
        Ok(FillMask::from_files(&files, device)?.with_source(name))
    }
}

/// The fingerprint of a run: sha256 of the base model's name and weights, the token ids and the settings.
fn fingerprint(base: &BaseModel, corpus: &TokenizedCorpus, options: &FinetuneOptions) -> String {
    let mut hasher = Sha256::new();
    hasher.update(base.name.as_bytes());
    hasher.update([0]);
    hasher.update(base.weights_sha256.as_bytes());
    hasher.update([0]);
    for sentence in &corpus.sentences {
        for id in sentence {
            hasher.update(id.to_le_bytes());
        }
        hasher.update(u32::MAX.to_le_bytes());
    }
    let mut options = options.clone();
    // How often to save and when to pause do not change what is trained.
    options.checkpoint_every = 0;
    options.pause_after = None;
    hasher.update(serde_json::to_vec(&options).unwrap_or_default());
    format!("{:x}", hasher.finalize())
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> Error + '_ {
    move |source| Error::Io { path: path.into(), source }
}

/// The names of the files [`write_model_files`] writes: the config and the tokenizer's files.
fn model_file_names(base: &BaseModel) -> Vec<String> {
    let mut names = vec!["config.json".to_string()];
    names.extend(tokenizer_files(base).iter().filter_map(|f| f.file_name()).map(|n| n.to_string_lossy().into_owned()));
    names
}

fn tokenizer_files(base: &BaseModel) -> Vec<&Path> {
    let mut files: Vec<&Path> = match &base.files.tokenizer {
        TokenizerFiles::Json(p) | TokenizerFiles::WordPiece(p) => vec![p],
        TokenizerFiles::Bpe { vocab, merges } => vec![vocab, merges],
    };
    files.extend(base.files.tokenizer_config.as_deref());
    files
}

/// Copies the base model's config (naming the masked-LM architecture) and tokenizer files into `out`.
fn write_model_files(base: &BaseModel, out: &mut OutputDir) -> Result<()> {
    let text = std::fs::read_to_string(&base.files.config).map_err(io(&base.files.config))?;
    let mut config: serde_json::Value = serde_json::from_str(&text).map_err(|err| Error::InvalidConfig {
        path: base.files.config.clone(),
        reason: format!("{err}; {}", crate::model::config::FIX),
    })?;
    if let Some(object) = config.as_object_mut() {
        let architecture = match base.config.family {
            Family::Bert => "BertForMaskedLM",
            Family::Roberta => "RobertaForMaskedLM",
            Family::DistilBert => "DistilBertForMaskedLM",
        };
        object.insert("architectures".into(), serde_json::json!([architecture]));
    }
    let json = serde_json::to_string_pretty(&config).map_err(|err| Error::Internal(err.to_string()))?;
    out.write("config.json", (json + "\n").as_bytes())?;
    for file in tokenizer_files(base) {
        let name = file.file_name().ok_or_else(|| Error::Internal(format!("{} is not a file", file.display())))?;
        let bytes = std::fs::read(file).map_err(io(file))?;
        out.write(&name.to_string_lossy(), &bytes)?;
    }
    Ok(())
}

/// Saves the weights, AdamW's moments and the state so that a crash mid-way never leaves a mixed checkpoint: the
/// three files are written beside the old ones as `*.next`, a marker says they are complete, then they are renamed
/// into place. [`finetune`] finishes or discards a save it finds interrupted.
fn save_checkpoint(trainer: &Trainer, state: &TrainerState, out: &Path) -> Result<()> {
    let next = |name: &str| out.join(format!("{name}.next"));
    trainer.save_weights(&next(WEIGHTS_FILE))?;
    trainer.save_optimizer(&next(OPTIMIZER_FILE))?;
    let json = serde_json::to_string_pretty(state).map_err(|err| Error::Internal(err.to_string()))?;
    std::fs::write(next(STATE_FILE), json + "\n").map_err(io(&next(STATE_FILE)))?;
    let marker = out.join(SAVING_MARKER);
    std::fs::write(&marker, b"").map_err(io(&marker))?;
    finish_save(out)
}

/// Renames every `*.next` file into place and removes the marker.
fn finish_save(out: &Path) -> Result<()> {
    for name in [WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE] {
        let from = out.join(format!("{name}.next"));
        if from.is_file() {
            std::fs::rename(&from, out.join(name)).map_err(io(&from))?;
        }
    }
    let marker = out.join(SAVING_MARKER);
    std::fs::remove_file(&marker).map_err(io(&marker))
}

/// Finishes a save that was interrupted after its files were complete; discards one interrupted before.
fn recover_interrupted_save(out: &Path) -> Result<()> {
    if out.join(SAVING_MARKER).is_file() {
        return finish_save(out);
    }
    for name in [WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE] {
        let partial = out.join(format!("{name}.next"));
        if partial.is_file() {
            std::fs::remove_file(&partial).map_err(io(&partial))?;
        }
    }
    Ok(())
}

/// Reads a run's state from `out`, if it holds one.
pub(crate) fn read_state(out: &Path) -> Result<Option<TrainerState>> {
    let path = out.join(STATE_FILE);
    if !path.is_file() {
        return Ok(None);
    }
    let text = std::fs::read_to_string(&path).map_err(io(&path))?;
    serde_json::from_str(&text).map(Some).map_err(|err| Error::InvalidData {
        path,
        reason: format!("not a biaslab trainer state ({err}); delete the folder to start again"),
    })
}

/// Fine-tunes `base` on `train` and writes the checkpoint into `out`, with a progress bar on `progress` (its
/// length is set here).
///
/// - An empty or new `out` starts from the base model.
/// - An `out` holding an unfinished run with the same base model, text and settings resumes it where its last
///   checkpoint left off; a finished one is loaded, not trained again ([`FinetuneRun::reused`]).
/// - An `out` holding a run with anything else different is an error, rather than a checkpoint silently overwritten.
pub fn finetune(
    base: &BaseModel,
    train: &TokenizedCorpus,
    options: &FinetuneOptions,
    out: &Path,
    progress: &ProgressBar,
) -> Result<FinetuneRun> {
    let (previous, mut trainer, fingerprint) = match open_run(base, train, options, out)? {
        Opened::Finished(run) => return Ok(run),
        Opened::ToTrain { previous, trainer, fingerprint } => (previous, *trainer, fingerprint),
    };
    let n = train.sentences.len();
    let mut steps = Steps::new(train, options, &base.config, &base.device);
    let total = steps.total;
    let mut state = previous.clone().unwrap_or_else(|| TrainerState {
        fingerprint,
        base: base.name.clone(),
        step: 0,
        total_steps: total,
        finished: false,
        losses: Vec::with_capacity(total),
        seconds: 0.0,
        trainable_parameters: trainer.trainable_parameters(),
        total_parameters: trainer.total_parameters(),
        sentences: n,
        options: options.clone(),
        biaslab_version: env!("CARGO_PKG_VERSION").into(),
    });
    if trainer.steps_taken() != state.step || state.losses.len() != state.step {
        return Err(Error::Training(format!(
            "the checkpoint in {} is inconsistent (optimizer at step {}, state at step {}): delete the folder to train again",
            out.display(),
            trainer.steps_taken(),
            state.step
        )));
    }
    let resumed_from = previous.as_ref().map(|s| s.step);
    progress.set_length(total as u64);
    progress.set_position(state.step as u64);
    let started = Instant::now();
    let seconds_before = state.seconds;
    while state.step < total {
        let loss = steps.take(&mut trainer, state.step)?;
        state.losses.push(loss);
        state.step += 1;
        state.seconds = seconds_before + started.elapsed().as_secs_f64();
        show_progress(progress, &state.losses, total, started, resumed_from.unwrap_or(0));
        if options.pause_after.is_some_and(|n| state.step - resumed_from.unwrap_or(0) >= n) && state.step < total {
            save_checkpoint(&trainer, &state, out)?;
            progress.abandon_with_message(format!("paused at step {}; run again to resume", state.step));
            return Ok(FinetuneRun { out: out.into(), state, resumed_from, reused: false });
        }
        if options.checkpoint_every > 0 && state.step % options.checkpoint_every == 0 && state.step < total {
            save_checkpoint(&trainer, &state, out)?;
        }
    }
    state.finished = true;
    save_checkpoint(&trainer, &state, out)?;
    progress.finish();
    Ok(FinetuneRun { out: out.into(), state, resumed_from, reused: false })
}

/// What [`open_run`] found in the output folder.
enum Opened {
    /// A finished run of the same base, text and settings: reused as it is.
    Finished(FinetuneRun),
    /// A run to start (`previous` is `None`) or to resume, with its trainer and the run's fingerprint.
    ToTrain { previous: Option<TrainerState>, trainer: Box<Trainer>, fingerprint: String },
}

/// Checks the settings and the output folder `out`, and opens the run there: a new one (the model's files written,
/// nothing of the user's written over), an interrupted one to resume (weights and optimizer read back), or a
/// finished one. A folder holding a run of other weights, text or settings is an error.
fn open_run(base: &BaseModel, train: &TokenizedCorpus, options: &FinetuneOptions, out: &Path) -> Result<Opened> {
    options.validate()?;
    if train.sentences.is_empty() {
        return Err(Error::Training("no training sentences: give a corpus with at least one sentence".into()));
    }
    let fingerprint = fingerprint(base, train, options);
    // Never into the base model's own folder (its files would be copied onto themselves and its weights replaced).
    let model_dir = base.files.config.parent().unwrap_or(Path::new("."));
    let mut output = OutputDir::open(out, &[model_dir], options.force)?;
    std::fs::create_dir_all(out).map_err(io(out))?;
    recover_interrupted_save(out)?;
    let previous = read_state(out)?;
    let Some(state) = &previous else {
        // A new run: nothing of the user's there is written over.
        let mut names = model_file_names(base);
        names.extend([WEIGHTS_FILE, OPTIMIZER_FILE, STATE_FILE].map(String::from));
        output.check(&names)?;
        write_model_files(base, &mut output)?;
        return Ok(Opened::ToTrain { previous, trainer: Box::new(Trainer::new(base, options)?), fingerprint });
    };
    if state.fingerprint != fingerprint {
        return Err(Error::Training(format!(
            "{} holds a run of {} with other weights, training text or settings: choose another folder, or delete it to train again",
            out.display(),
            state.base
        )));
    }
    if state.finished {
        return Ok(Opened::Finished(FinetuneRun {
            out: out.into(),
            state: state.clone(),
            resumed_from: None,
            reused: true,
        }));
    }
    let weights = hub::WeightsFile::Safetensors(out.join(WEIGHTS_FILE));
    let tensors = Checkpoint::read(&weights, base.config.family, &base.device)?.tensors;
    let mut trainer = Trainer::from_tensors(tensors, &base.config, options, &base.device)?;
    trainer.load_optimizer(&out.join(OPTIMIZER_FILE), &base.device)?;
    Ok(Opened::ToTrain { previous, trainer: Box::new(trainer), fingerprint })
}

/// The steps of a run, what [`finetune`] and the demo head's training ([`crate::train::demo`]) both take: the
/// batch of step `n` (the epoch's order shuffled once per epoch, seeded by the epoch), its masking and dropout (seeded
/// by the step), and the learning rate of the schedule. Step `n` is the same whether a run goes straight through or
/// resumes before it.
pub(crate) struct Steps<'a> {
    train: &'a TokenizedCorpus,
    options: &'a FinetuneOptions,
    device: Device,
    steps_per_epoch: usize,
    /// The steps the run takes in all.
    pub(crate) total: usize,
    warmup: usize,
    hidden_p: f32,
    attention_p: f32,
    /// The order of the epoch last shuffled: (epoch, sentence indices).
    order: Option<(usize, Vec<usize>)>,
}

impl<'a> Steps<'a> {
    /// The steps of training on `train` with `options`, for a model with `config` (its dropout unless `options` sets
    /// one).
    pub(crate) fn new(
        train: &'a TokenizedCorpus,
        options: &'a FinetuneOptions,
        config: &Config,
        device: &Device,
    ) -> Self {
        let total = total_steps(train.sentences.len(), options);
        let hidden_p = options.dropout.unwrap_or(config.hidden_dropout_prob as f32);
        let attention_p =
            options.attention_dropout.or(options.dropout).unwrap_or(config.attention_probs_dropout_prob as f32);
        Self {
            train,
            options,
            device: device.clone(),
            steps_per_epoch: train.sentences.len().div_ceil(options.batch_size.max(1)),
            total,
            warmup: (total as f64 * options.warmup).round() as usize,
            hidden_p,
            attention_p,
            order: None,
        }
    }

    /// Takes step `step` with `trainer`: its loss, or `None` when its batch happened to mask no token (tiny
    /// sentences), in which case the step is counted without an update, so that steps stay aligned.
    pub(crate) fn take(&mut self, trainer: &mut Trainer, step: usize) -> Result<Option<f64>> {
        let options = self.options;
        let refs = self.batch(step);
        let mut rng = ChaCha8Rng::seed_from_u64(seed_for(options.seed, 1, step));
        let lr = learning_rate(options.learning_rate, step, self.total, self.warmup);
        match mlm::mask_batch(self.train, &refs, options.mask_probability, &mut rng, &self.device)? {
            Some(batch) => {
                let mut dropout = Dropout::new(self.hidden_p, self.attention_p, seed_for(options.seed, 2, step));
                Ok(Some(trainer.train_step(&batch, lr, Some(&mut dropout))?))
            }
            None => {
                trainer.steps_taken += 1;
                Ok(None)
            }
        }
    }

    /// The sentences of step `step`.
    fn batch(&mut self, step: usize) -> Vec<&'a [u32]> {
        let train = self.train;
        let (n, size) = (train.sentences.len(), self.options.batch_size);
        let (epoch, index) = (step / self.steps_per_epoch, step % self.steps_per_epoch);
        if self.order.as_ref().is_none_or(|(e, _)| *e != epoch) {
            let mut rng = ChaCha8Rng::seed_from_u64(seed_for(self.options.seed, 0, epoch));
            self.order = Some((epoch, mlm::shuffled(n, &mut rng)));
        }
        let indices = self.order.as_ref().map(|(_, o)| o.as_slice()).unwrap_or_default();
        let chunk = &indices[(index * size).min(n)..((index + 1) * size).min(n)];
        chunk.iter().map(|&i| train.sentences[i].as_slice()).collect()
    }
}

/// The steps a run of `n` sentences takes: every epoch's batches, or `options.max_steps` if fewer.
fn total_steps(n: usize, options: &FinetuneOptions) -> usize {
    options.max_steps.unwrap_or(usize::MAX).min(n.div_ceil(options.batch_size.max(1)) * options.epochs)
}

/// The bar's message (the mean loss of the last 20 steps of `losses`, one per step taken) and step; with no terminal
/// to draw the bar on (a log file, CI, a notebook), a line every 25 steps instead.
pub(crate) fn show_progress(
    progress: &ProgressBar,
    losses: &[Option<f64>],
    total: usize,
    started: Instant,
    resumed_from: usize,
) {
    let step = losses.len();
    let recent: Vec<f64> = losses[step.saturating_sub(20)..].iter().flatten().copied().collect();
    let mean = recent.iter().sum::<f64>() / recent.len().max(1) as f64;
    progress.set_message(format!("loss {mean:.3}"));
    progress.inc(1);
    if progress.is_hidden() && (step.is_multiple_of(25) || step == total) {
        let elapsed = started.elapsed().as_secs_f64();
        let eta = elapsed / (step - resumed_from).max(1) as f64 * (total - step) as f64;
        eprintln!("step {step}/{total}: loss {mean:.3}, {elapsed:.0} s elapsed, ETA {eta:.0} s");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_first_and_last_tenth_skip_steps_without_a_loss() {
        // 21 steps with a loss (a tenth is 2) and two without.
        let mut losses: Vec<Option<f64>> = (1..=21).map(|i| Some(i as f64)).collect();
        losses.insert(0, None);
        losses.push(None);
        assert_eq!(mean_of_tenth(&losses, Tenth::First), 1.5);
        assert_eq!(mean_of_tenth(&losses, Tenth::Last), 20.5);
        // Fewer than ten: one step.
        assert_eq!(mean_of_tenth(&[Some(4.0), Some(2.0)], Tenth::Last), 2.0);
        assert!(mean_of_tenth(&[None], Tenth::First).is_nan());
    }

    #[test]
    fn the_schedule_is_transformers_linear_schedule_with_warmup() {
        // get_linear_schedule_with_warmup(num_warmup_steps=2, num_training_steps=10): lambdas 0, .5, 1, 7/8, …, 1/8
        let lrs: Vec<f64> = (0..10).map(|s| learning_rate(1.0, s, 10, 2)).collect();
        let expected = [0.0, 0.5, 1.0, 0.875, 0.75, 0.625, 0.5, 0.375, 0.25, 0.125];
        for (a, b) in lrs.iter().zip(expected) {
            assert!((a - b).abs() < 1e-12, "{lrs:?}");
        }
        assert_eq!(learning_rate(1.0, 0, 4, 0), 1.0);
        assert_eq!(learning_rate(1.0, 3, 4, 0), 0.25);
    }

    #[test]
    fn seeds_differ_by_stream_and_index() {
        let a = seed_for(42, 1, 0);
        assert_ne!(a, seed_for(42, 1, 1));
        assert_ne!(a, seed_for(42, 2, 0));
        assert_ne!(a, seed_for(43, 1, 0));
        assert_eq!(a, seed_for(42, 1, 0));
    }

    #[test]
    fn bad_settings_are_refused_with_a_reason() {
        for (options, needle) in [
            (FinetuneOptions { batch_size: 0, ..Default::default() }, "batch size"),
            (FinetuneOptions { learning_rate: -1.0, ..Default::default() }, "learning rate"),
            (FinetuneOptions { warmup: 1.0, ..Default::default() }, "warm-up"),
            (FinetuneOptions { dropout: Some(1.0), ..Default::default() }, "dropout"),
            (FinetuneOptions { max_steps: Some(0), ..Default::default() }, "one step"),
        ] {
            let err = options.validate().unwrap_err().to_string();
            assert!(err.contains(needle), "{err}");
        }
    }
}
