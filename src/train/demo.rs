//! Training the offline demo model's masked-LM head (`biaslab demo-model train`): BERT's masked-LM objective on the
//! BOLD Wikipedia sentences, with the all-MiniLM-L6-v2 encoder's top layers retrained beside the head. The steps are
//! [`crate::train::finetune`]'s, taken by its [`Trainer`] (the one trainer of the crate): this module only gives the
//! encoder a new head (`with_new_head`), says what is frozen (`trainer_options`) and stores what was trained as
//! f16. What the trained weights are and how they are loaded is [`crate::model::demo`]; the settings and the
//! provenance record ([`TrainOptions`], [`Provenance`]) live there, beside the weights they describe.

use std::collections::HashMap;
use std::path::Path;
use std::time::Instant;

use candle_core::{DType, Device, Tensor};
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
use crate::model::encoder::{Checkpoint, MaskedLm};
use crate::model::hub::ModelFiles;
use crate::model::mlm::{self, TokenizedCorpus};
use crate::train::finetune::{self, FinetuneOptions, Steps, Trainer};

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

    let tensors = with_new_head(
        Checkpoint::read(&encoder.weights, Family::Bert, &device)?.tensors,
        &config,
        &train_set,
        options.seed,
        &device,
    )?;
    let finetune_options = trainer_options(options, &config);
    let mut trainer = Trainer::from_tensors(tensors, &config, &finetune_options, &device)?;

    eprintln!("evaluating the untrained head…");
    let untrained = evaluate(trainer.model(), &held_out, options)?;
    eprintln!("untrained: {untrained:?}");

    let start = Instant::now();
    let mut steps = Steps::new(&train_set, &finetune_options, &config, &device);
    let bar = ProgressBar::new(steps.total as u64);
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {pos}/{len} steps, {elapsed} elapsed, ETA {eta}")
            .unwrap_or_else(|_| ProgressStyle::default_bar())
            .progress_chars("=> "),
    );
    let mut losses = Vec::with_capacity(steps.total);
    for step in 0..steps.total {
        losses.push(steps.take(&mut trainer, step)?);
        finetune::show_progress(&bar, &losses, steps.total, start, 0);
    }
    bar.finish();
    let train_seconds = start.elapsed().as_secs_f64();
    if losses.iter().all(Option::is_none) {
        return Err(Error::Training(
            "no training step masked a token, so nothing was learned: give longer sentences, or raise the masking \
             probability"
                .into(),
        ));
    }
    let final_train_loss = finetune::mean_of_tenth(&losses, finetune::Tenth::Last);

    // Store what was trained as f16, then measure exactly what is stored.
    std::fs::create_dir_all(out).map_err(Error::io(out))?;
    let all = trainer.tensors();
    let mut stored = HashMap::new();
    for name in trainer.trained_tensors() {
        let tensor = all.get(name).ok_or_else(|| Error::Internal(format!("the trained tensor {name} is missing")))?;
        stored.insert(name.to_string(), tensor.to_dtype(DType::F16)?);
    }
    let weights_path = out.join(WEIGHTS_FILE);
    candle_core::safetensors::save(&stored, &weights_path)?;
    output.record(WEIGHTS_FILE)?;
    let shipped = model_with_overlay(&encoder, stored, &device)?;
    let trained_metrics = evaluate(&shipped, &held_out, options)?;
    let mut trained_tensors: Vec<String> = trainer.trained_tensors().into_iter().map(String::from).collect();
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

/// MiniLM's `tensors` with a new masked-LM head: the transform's dense weight drawn as transformers initialises BERT
/// (normal, standard deviation 0.02, seeded by `seed`), its bias 0, its layer norm 1 and 0; the decoder bias at each
/// token's log frequency in the training text (add-one smoothed), so that the head starts from the unigram
/// distribution instead of a uniform one. (The decoder weight is tied to the word embeddings.)
fn with_new_head(
    mut tensors: HashMap<String, Tensor>,
    config: &Config,
    train_set: &TokenizedCorpus,
    seed: u64,
    device: &Device,
) -> Result<HashMap<String, Tensor>> {
    let hidden = config.hidden_size;
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    // Box-Muller: rand_distr's Normal would do, but one more crate for eight lines is not worth it.
    let weight: Vec<f32> = (0..hidden * hidden)
        .map(|_| {
            let (u1, u2): (f64, f64) = (rng.random::<f64>().max(1e-12), rng.random());
            ((-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos() * 0.02) as f32
        })
        .collect();
    let mut counts = vec![1f64; config.vocab_size];
    for &id in train_set.sentences.iter().flatten() {
        if let Some(c) = counts.get_mut(id as usize) {
            *c += 1.0;
        }
    }
    let total: f64 = counts.iter().sum();
    let log_freq: Vec<f32> = counts.iter().map(|c| (c / total).ln() as f32).collect();
    let head = "cls.predictions.transform";
    tensors.insert(format!("{head}.dense.weight"), Tensor::from_vec(weight, (hidden, hidden), device)?);
    tensors.insert(format!("{head}.dense.bias"), Tensor::zeros(hidden, DType::F32, device)?);
    tensors.insert(format!("{head}.LayerNorm.weight"), Tensor::ones(hidden, DType::F32, device)?);
    tensors.insert(format!("{head}.LayerNorm.bias"), Tensor::zeros(hidden, DType::F32, device)?);
    tensors.insert("cls.predictions.bias".into(), Tensor::from_vec(log_freq, config.vocab_size, device)?);
    Ok(tensors)
}

/// The fine-tuning settings that train the demo head: the embeddings (and so the tied decoder) and all but the top
/// `options.train_layers` layers frozen, the rest as `options` says, no checkpoints on the way.
fn trainer_options(options: &TrainOptions, config: &Config) -> FinetuneOptions {
    FinetuneOptions {
        seed: options.seed,
        epochs: options.epochs,
        max_steps: options.max_steps,
        learning_rate: options.learning_rate,
        warmup: options.warmup,
        weight_decay: options.weight_decay,
        batch_size: options.batch_size,
        max_len: options.max_len,
        mask_probability: options.mask_probability,
        clip_norm: options.clip_norm,
        freeze_embeddings: true,
        freeze_layers: config.num_hidden_layers.saturating_sub(options.train_layers),
        dropout: Some(options.dropout),
        attention_dropout: None,
        checkpoint_every: 0,
        pause_after: None,
        force: options.force,
    }
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
