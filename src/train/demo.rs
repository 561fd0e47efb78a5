//! Training the offline demo model's masked-LM head (`biaslab demo-model train`): BERT's masked-LM objective on the
//! BOLD Wikipedia sentences, with the all-MiniLM-L6-v2 encoder's top layers retrained beside the head. What the
//! trained weights are and how they are loaded is [`crate::model::demo`]; the settings and the provenance record
//! ([`TrainOptions`], [`Provenance`]) live there, beside the weights they describe.

use std::collections::HashMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use candle_core::{DType, Device, Shape, Tensor, Var};
use candle_nn::var_builder::SimpleBackend;
use candle_nn::{AdamW, Optimizer, ParamsAdamW, VarBuilder};
use indicatif::{ProgressBar, ProgressStyle};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::data::corpus::{self, BOLD_WIKIPEDIA};
use crate::data::output::OutputDir;
use crate::error::{Error, Result};
use crate::model::config::{Config, Family};
use crate::model::demo::{
    check_encoder, find_encoder, load_model, model_with_overlay, provenance, CorpusFile, DemoMetrics, Provenance,
    TrainOptions, ENCODER_REPO, ENCODER_SHA256, PROVENANCE_FILE, WEIGHTS_FILE,
};
use crate::model::encoder::{Checkpoint, Dropout, MaskedLm};
use crate::model::hub::ModelFiles;
use crate::model::mlm::{self, TokenizedCorpus};

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
    fn get(
        &self,
        shape: Shape,
        name: &str,
        _: candle_nn::Init,
        dtype: DType,
        dev: &Device,
    ) -> candle_core::Result<Tensor> {
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
pub fn split_corpus(
    encoder: &ModelFiles,
    sentences: &[String],
    options: &TrainOptions,
) -> Result<(TokenizedCorpus, TokenizedCorpus)> {
    let config = Config::from_file(&encoder.config)?;
    let tokenizer = crate::model::tokenizer::load(&encoder.tokenizer, encoder.tokenizer_config.as_deref())?;
    let corpus = TokenizedCorpus::new(&tokenizer, sentences, options.max_len, config.vocab_size)?;
    Ok(corpus.split(options.held_out_every))
}

/// Trains the demo head and writes `demo_mlm.safetensors` and `provenance.json` into `out`.
pub fn train(corpus_dir: Option<&Path>, out: &Path, options: &TrainOptions, command: &str) -> Result<Provenance> {
    if options.batch_size == 0 || options.epochs == 0 || options.train_layers > 6 || options.max_len < 8 {
        return Err(Error::Training(
            "batch size and epochs must be positive, at most 6 layers, max_len at least 8: set batch_size \
             (--batch-size) and epochs (--epochs) to 1 or more, train_layers (--train-layers) to 6 or fewer, and \
             max_len (--max-len) to 8 or more"
                .into(),
        ));
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

    let (model, trained) = head_model(&encoder, &config, &train_set, options, &device)?;

    eprintln!("evaluating the untrained head…");
    let untrained = evaluate(&model, &held_out, options)?;
    eprintln!("untrained: {untrained:?}");

    let start = Instant::now();
    let losses = run_steps(&model, &trained, &train_set, options, &device)?;
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
        excluded: "No evaluation data (CrowS-Pairs, StereoSet, WinoBias, HONEST, BOLD prompts) was used for training."
            .into(),
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

/// The model to train: MiniLM's frozen encoder, its top `options.train_layers` layers and a new masked-LM head made
/// trainable (returned by name). The decoder bias starts at each token's log frequency in the training text (add-one
/// smoothed), so that the head starts from the unigram distribution instead of a uniform one.
fn head_model(
    encoder: &ModelFiles,
    config: &Config,
    train_set: &TokenizedCorpus,
    options: &TrainOptions,
    device: &Device,
) -> Result<(MaskedLm, Vec<(String, Var)>)> {
    let frozen = Checkpoint::read(&encoder.weights, Family::Bert, device)?.tensors;
    let trained_store = Arc::new(Mutex::new(Vec::new()));
    let mut counts = vec![1f64; config.vocab_size];
    for &id in train_set.sentences.iter().flatten() {
        if let Some(c) = counts.get_mut(id as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let log_freq: Vec<f32> = counts.iter().map(|c| (c / total).ln() as f32).collect();
    let decoder_bias = Tensor::from_vec(log_freq, config.vocab_size, device)?;
    let backend = TrainableBackend {
        frozen,
        trained: trained_store.clone(),
        rng: Mutex::new(ChaCha8Rng::seed_from_u64(options.seed)),
        layers: config.num_hidden_layers,
        train_layers: options.train_layers,
        decoder_bias,
    };
    let vb = VarBuilder::from_backend(Box::new(backend), DType::F32, device.clone());
    let model = MaskedLm::load(vb, config)?;
    let trained: Vec<(String, Var)> = trained_store.lock().expect("the trained tensors").clone();
    Ok((model, trained))
}

/// Trains `trained` (AdamW, no weight decay on biases and layer norms, linear warm-up and decay, gradients clipped)
/// for `options.epochs` or `options.max_steps`; returns each step's loss. A batch with nothing masked is skipped.
fn run_steps(
    model: &MaskedLm,
    trained: &[(String, Var)],
    train_set: &TokenizedCorpus,
    options: &TrainOptions,
    device: &Device,
) -> Result<Vec<f64>> {
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
            let Some(batch) = mlm::mask_batch(train_set, &refs, options.mask_probability, &mut rng, device)? else {
                continue;
            };
            let loss = mlm::loss(model, &batch, Some(&mut dropout))?;
            let mut grads = loss.backward()?;
            clip_gradients(&mut grads, trained, options.clip_norm)?;
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
    Ok(losses)
}

/// Measures the compiled-in demo head on the held-out sentences again, with the settings of its provenance:
/// (today's measures, the provenance). They agree within floating-point noise unless the weights, the encoder or the
/// corpus changed.
pub fn evaluate_committed(corpus_dir: Option<&Path>) -> Result<(DemoMetrics, Provenance)> {
    let provenance = provenance();
    let (encoder, model) = load_model(&Device::Cpu)?;
    let (sentences, files) = training_sentences(corpus_dir)?;
    if files != provenance.corpus {
        return Err(Error::InvalidArgument {
            reason: format!(
                "the corpus differs from the one the demo head was trained on: {files:?} is not {:?}; give a folder \
                 holding BOLD's gender_wiki.json and profession_wiki.json as downloaded (--corpus)",
                provenance.corpus
            ),
        });
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
