//! Finding a model's files: a local directory, or a Hugging Face Hub id downloaded into the standard cache.
//!
//! A model is a `config.json`, a tokenizer (`tokenizer.json`; or `vocab.txt` for BERT-style WordPiece; or
//! `vocab.json` + `merges.txt` for RoBERTa-style BPE) and weights (`model.safetensors`, else `pytorch_model.bin`).
//! With `HF_HUB_OFFLINE=1` (as in the Python `huggingface_hub`) nothing is downloaded: files come from the cache
//! or the error says which one is missing.

use std::path::{Path, PathBuf};

use hf_hub::{HFClientSync, HFError, HFRepositorySync, RepoTypeModel};

use crate::error::{Error, Result};

/// The environment variable that turns offline mode on, as in the Python `huggingface_hub`.
pub const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";

/// Where the model came from and its files on disk.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The model as the user named it: a hub id (with `@revision` if one was given) or a directory.
    pub source: String,
    /// `config.json`.
    pub config: PathBuf,
    /// The tokenizer files.
    pub tokenizer: TokenizerFiles,
    /// `tokenizer_config.json`, when there is one (it says, for example, whether to lower-case).
    pub tokenizer_config: Option<PathBuf>,
    /// The weights.
    pub weights: WeightsFile,
}

/// The files a tokenizer is built from, best first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TokenizerFiles {
    /// A `tokenizer.json` of the `tokenizers` library: everything in one file.
    Json(PathBuf),
    /// A BERT WordPiece `vocab.txt`.
    WordPiece(PathBuf),
    /// A RoBERTa byte-level BPE `vocab.json` and `merges.txt`.
    Bpe {
        /// `vocab.json`.
        vocab: PathBuf,
        /// `merges.txt`.
        merges: PathBuf,
    },
}

/// A weights file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WeightsFile {
    /// `model.safetensors`.
    Safetensors(PathBuf),
    /// `pytorch_model.bin` (a `torch.save` pickle).
    Pytorch(PathBuf),
}

impl WeightsFile {
    /// The path of the file.
    pub fn path(&self) -> &Path {
        match self {
            WeightsFile::Safetensors(path) | WeightsFile::Pytorch(path) => path,
        }
    }
}

/// Whether `HF_HUB_OFFLINE` asks for offline mode (`1`, `true`, `yes` or `on`, any case).
pub fn offline_mode() -> bool {
    std::env::var(HF_HUB_OFFLINE)
        .map(|value| matches!(value.trim().to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
        .unwrap_or(false)
}

/// Finds a model's files: `model` is a local directory if one exists at that path, else a hub id whose files are
/// taken from the cache or downloaded into it (with progress on standard error), at `revision` if given.
pub fn resolve(model: &str, revision: Option<&str>) -> Result<ModelFiles> {
    let path = Path::new(model);
    if path.is_dir() {
        return resolve_dir(path);
    }
    if looks_like_path(model) {
        return Err(Error::MissingFile {
            dir: path.to_path_buf(),
            file: "model directory".into(),
            hint: "There is no such directory: check the path.".into(),
        });
    }
    if !is_hub_id(model) {
        return Err(Error::InvalidModelId { id: model.into() });
    }
    resolve_hub(model, revision)
}

/// Finds a model's files in a local directory.
pub fn resolve_dir(dir: &Path) -> Result<ModelFiles> {
    std::fs::read_dir(dir).map_err(Error::io(dir))?;
    let file = |name: &str| Some(dir.join(name)).filter(|p| p.is_file());
    let config = file("config.json").ok_or_else(|| Error::MissingFile {
        dir: dir.into(),
        file: "config.json".into(),
        hint: "A model directory needs the config.json written by transformers' save_pretrained.".into(),
    })?;
    let tokenizer = if let Some(json) = file("tokenizer.json") {
        TokenizerFiles::Json(json)
    } else if let Some(vocab) = file("vocab.txt") {
        TokenizerFiles::WordPiece(vocab)
    } else if let (Some(vocab), Some(merges)) = (file("vocab.json"), file("merges.txt")) {
        TokenizerFiles::Bpe { vocab, merges }
    } else {
        return Err(Error::MissingFile {
            dir: dir.into(),
            file: "tokenizer.json (or vocab.txt, or vocab.json + merges.txt)".into(),
            hint: "Save the tokenizer beside the model, e.g. tokenizer.save_pretrained(dir) in Python.".into(),
        });
    };
    let weights = if let Some(path) = file("model.safetensors") {
        WeightsFile::Safetensors(path)
    } else if let Some(path) = file("pytorch_model.bin") {
        WeightsFile::Pytorch(path)
    } else {
        return Err(Error::MissingFile {
            dir: dir.into(),
            file: "model.safetensors (or pytorch_model.bin)".into(),
            hint: "The directory has no weights: copy them in, or give a hub id to download them.".into(),
        });
    };
    Ok(ModelFiles {
        source: dir.display().to_string(),
        config,
        tokenizer,
        tokenizer_config: file("tokenizer_config.json"),
        weights,
    })
}

fn looks_like_path(model: &str) -> bool {
    model.starts_with('.')
        || model.starts_with('/')
        || model.starts_with('~')
        || model.contains('\\')
        || model.matches('/').count() > 1
}

fn is_hub_id(model: &str) -> bool {
    let ok_part = |part: &str| {
        !part.is_empty()
            && part.len() <= 96
            && part.chars().all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
            && !part.starts_with(['-', '.'])
            && !part.contains("..")
    };
    match model.split_once('/') {
        Some((owner, name)) => ok_part(owner) && ok_part(name),
        None => ok_part(model),
    }
}

/// Finds hub model `id` in the Hugging Face cache only, never on the network: its files, or `None` if any it needs
/// is not cached.
pub fn resolve_cached(id: &str) -> Option<ModelFiles> {
    let client = HFClientSync::new().ok()?;
    let (owner, name) = hf_hub::split_id(id);
    let repo = client.model(owner, name);
    let get = |file: &str| repo.download_file().filename(file).local_files_only(true).send().ok();
    Some(ModelFiles {
        source: id.to_string(),
        config: get("config.json")?,
        tokenizer: TokenizerFiles::Json(get("tokenizer.json")?),
        tokenizer_config: get("tokenizer_config.json"),
        weights: WeightsFile::Safetensors(get("model.safetensors")?),
    })
}

/// Downloads (or, offline, looks up in the cache) the files of hub model `id`.
fn resolve_hub(id: &str, revision: Option<&str>) -> Result<ModelFiles> {
    let hub = Hub::new(id, revision)?;
    let config = hub.get("config.json")?.ok_or_else(|| hub.missing("config.json"))?;
    let tokenizer = if let Some(json) = hub.get("tokenizer.json")? {
        TokenizerFiles::Json(json)
    } else if let Some(vocab) = hub.get("vocab.txt")? {
        TokenizerFiles::WordPiece(vocab)
    } else {
        match (hub.get("vocab.json")?, hub.get("merges.txt")?) {
            (Some(vocab), Some(merges)) => TokenizerFiles::Bpe { vocab, merges },
            _ => return Err(hub.missing("tokenizer.json")),
        }
    };
    let tokenizer_config = hub.get("tokenizer_config.json")?;
    let weights = if let Some(path) = hub.get("model.safetensors")? {
        WeightsFile::Safetensors(path)
    } else if let Some(path) = hub.get("pytorch_model.bin")? {
        WeightsFile::Pytorch(path)
    } else {
        return Err(hub.missing("model.safetensors"));
    };
    let source = match revision {
        Some(rev) => format!("{id}@{rev}"),
        None => id.to_string(),
    };
    Ok(ModelFiles { source, config, tokenizer, tokenizer_config, weights })
}

/// How often the first request to the hub is retried when it fails for want of a connection. The hub client retries
/// a failed request five times, waiting up to 6 s in all: right for a download interrupted by a passing hiccup, but
/// on a machine with no network it only delays the fallback to the demo model. So until the hub has answered once,
/// a request is retried once, at most 0.2 s later.
const FIRST_REQUEST_RETRIES: usize = 1;

struct Hub {
    id: String,
    revision: Option<String>,
    offline: bool,
    /// A client that retries little: for the cache, and for requests until the hub has answered once.
    quick: HFRepositorySync<RepoTypeModel>,
    /// The client with the hub client's usual retries, made once the hub has answered.
    patient: std::cell::OnceCell<HFRepositorySync<RepoTypeModel>>,
}

impl Hub {
    fn new(id: &str, revision: Option<&str>) -> Result<Self> {
        let client = hf_hub::HFClient::builder().retry_max_attempts(FIRST_REQUEST_RETRIES).build_sync();
        let (owner, name) = hf_hub::split_id(id);
        Ok(Self {
            id: id.into(),
            revision: revision.map(str::to_string),
            offline: offline_mode(),
            quick: client.map_err(|err| Self::client_error(id, err))?.model(owner, name),
            patient: std::cell::OnceCell::new(),
        })
    }

    fn client_error(id: &str, err: HFError) -> Error {
        Error::Download { repo: id.into(), file: "(hub client)".into(), reason: err.to_string() }
    }

    /// The client for the next request to the hub: the patient one once the hub has answered.
    fn remote(&self) -> &HFRepositorySync<RepoTypeModel> {
        self.patient.get().unwrap_or(&self.quick)
    }

    /// Notes that the hub answered: later requests are retried as the hub client usually does.
    fn answered(&self) -> Result<()> {
        if self.patient.get().is_none() {
            let client = HFClientSync::new().map_err(|err| Self::client_error(&self.id, err))?;
            let (owner, name) = hf_hub::split_id(&self.id);
            let _ = self.patient.set(client.model(owner, name));
        }
        Ok(())
    }

    /// The cached or downloaded path of `file`; `None` when the repository (or, offline, the cache) has no such file.
    fn get(&self, file: &str) -> Result<Option<PathBuf>> {
        let cached = self.quick.download_file().filename(file).maybe_revision(self.revision.clone());
        match cached.local_files_only(true).send() {
            Ok(path) => return Ok(Some(path)),
            Err(HFError::LocalEntryNotFound { .. }) if self.offline => return Ok(None),
            Err(HFError::LocalEntryNotFound { .. }) => {}
            Err(err) => return Err(self.download_error(file, err)),
        }
        let download = self.remote().download_file().filename(file).maybe_revision(self.revision.clone());
        match download.progress(progress::Bar::new(file)).send() {
            Ok(path) => {
                self.answered()?;
                Ok(Some(path))
            }
            Err(HFError::EntryNotFound { .. }) => {
                self.answered()?;
                Ok(None)
            }
            Err(err) => Err(self.download_error(file, err)),
        }
    }

    fn missing(&self, file: &str) -> Error {
        if self.offline {
            Error::NotCached { repo: self.id.clone(), file: file.into() }
        } else {
            Error::Download {
                repo: self.id.clone(),
                file: file.into(),
                reason: "the repository has no such file (is it a masked language model?)".into(),
            }
        }
    }

    fn download_error(&self, file: &str, err: HFError) -> Error {
        let reason = match &err {
            HFError::RepoNotFound { .. } => "no such model on the hub (or it is private: set HF_TOKEN)".to_string(),
            HFError::RevisionNotFound { revision, .. } => format!("the model has no revision {revision:?}"),
            HFError::Request { source, .. } => {
                return Error::HubUnreachable { repo: self.id.clone(), file: file.into(), reason: source.to_string() }
            }
            _ => err.to_string(),
        };
        Error::Download { repo: self.id.clone(), file: file.into(), reason }
    }
}

mod progress {
    //! A download progress bar on standard error.
    use hf_hub::progress::{DownloadEvent, ProgressEvent, ProgressHandler};
    use indicatif::{ProgressBar, ProgressStyle};

    pub(super) struct Bar(ProgressBar);

    impl Bar {
        pub(super) fn new(file: &str) -> Self {
            let bar = ProgressBar::new(0);
            let style = ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} ({eta})")
                .unwrap_or_else(|_| ProgressStyle::default_bar())
                .progress_chars("=> ");
            bar.set_style(style);
            bar.set_message(format!("downloading {file}"));
            Self(bar)
        }
    }

    impl ProgressHandler for Bar {
        fn on_progress(&self, event: &ProgressEvent) {
            let ProgressEvent::Download(event) = event else { return };
            match event {
                DownloadEvent::Start { total_bytes, .. } => self.0.set_length(*total_bytes),
                DownloadEvent::Progress { files } => {
                    if let Some(file) = files.first() {
                        self.0.set_position(file.bytes_completed);
                    }
                }
                DownloadEvent::AggregateProgress { bytes_completed, total_bytes, .. } => {
                    self.0.set_length(*total_bytes);
                    self.0.set_position(*bytes_completed);
                }
                DownloadEvent::Complete => self.0.finish_and_clear(),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hub_ids_and_paths_are_told_apart() {
        assert!(is_hub_id("bert-base-uncased"));
        assert!(is_hub_id("google-bert/bert-base-uncased"));
        assert!(!is_hub_id("a/b/c"));
        assert!(!is_hub_id("has space"));
        assert!(!is_hub_id(""));
        assert!(looks_like_path("./model"));
        assert!(looks_like_path("/tmp/x"));
        assert!(!looks_like_path("owner/name"));
    }

    #[test]
    fn a_missing_directory_is_named() {
        let err = resolve("./no/such/model", None).unwrap_err();
        assert!(matches!(err, Error::MissingFile { .. }), "{err}");
        assert!(err.to_string().contains("no/such/model"));
    }

    #[test]
    fn an_empty_directory_says_what_is_missing() {
        let dir = tempfile::tempdir().unwrap();
        let err = resolve(dir.path().to_str().unwrap(), None).unwrap_err();
        assert!(err.to_string().contains("config.json"), "{err}");
        std::fs::write(dir.path().join("config.json"), "{}").unwrap();
        let err = resolve_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("tokenizer.json"), "{err}");
        std::fs::write(dir.path().join("vocab.txt"), "[PAD]\n").unwrap();
        let err = resolve_dir(dir.path()).unwrap_err();
        assert!(err.to_string().contains("model.safetensors"), "{err}");
        std::fs::write(dir.path().join("pytorch_model.bin"), "").unwrap();
        let files = resolve_dir(dir.path()).unwrap();
        assert!(matches!(files.tokenizer, TokenizerFiles::WordPiece(_)));
        assert!(matches!(files.weights, WeightsFile::Pytorch(_)));
    }
}
