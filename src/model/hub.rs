//! Finding a model's files: a local directory, or a Hugging Face Hub id downloaded into the standard cache.
//!
//! A model is a `config.json`, a tokenizer (`tokenizer.json`; or `vocab.txt` for BERT-style WordPiece; or
//! `vocab.json` + `merges.txt` for RoBERTa-style BPE) and weights (`model.safetensors`, else `pytorch_model.bin`).
//! With `HF_HUB_OFFLINE=1` (as in the Python `huggingface_hub`) nothing is downloaded: files come from the cache
//! or the error says which one is missing.

use std::path::{Path, PathBuf};

use hf_hub::api::sync::{ApiBuilder, ApiError, ApiRepo};
use hf_hub::{Cache, CacheRepo, Repo, RepoType};

use crate::error::{Error, Result};

pub(crate) use crate::env::hub_cache_dir;
pub use crate::env::{offline_mode, HF_HUB_CACHE, HF_HUB_OFFLINE};

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
pub(crate) fn resolve_cached(id: &str) -> Option<ModelFiles> {
    let cache = cached_repo(&hub_cache_dir(), id, None);
    Some(ModelFiles {
        source: id.to_string(),
        config: cache.get("config.json")?,
        tokenizer: TokenizerFiles::Json(cache.get("tokenizer.json")?),
        tokenizer_config: cache.get("tokenizer_config.json"),
        weights: WeightsFile::Safetensors(cache.get("model.safetensors")?),
    })
}

/// Downloads (or, offline, looks up in the cache) the files of hub model `id`.
fn resolve_hub(id: &str, revision: Option<&str>) -> Result<ModelFiles> {
    let endpoint = crate::env::var(crate::env::HF_ENDPOINT);
    let hub = Hub::new(&hub_cache_dir(), endpoint, id, revision, offline_mode())?;
    resolve_from(&hub, id, revision)
}

fn resolve_from(hub: &Hub, id: &str, revision: Option<&str>) -> Result<ModelFiles> {
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

/// A model repository's files in the cache at `cache_dir`, at `revision` (a branch, tag or commit; default `main`).
fn cached_repo(cache_dir: &Path, id: &str, revision: Option<&str>) -> CachedRepo {
    let revision = revision.unwrap_or("main").to_string();
    let repo = Repo::with_revision(id.to_string(), RepoType::Model, revision.clone());
    let snapshots = cache_dir.join(repo.folder_name()).join("snapshots");
    CachedRepo { files: Cache::new(cache_dir.to_path_buf()).repo(repo), snapshots, revision }
}

struct CachedRepo {
    files: CacheRepo,
    snapshots: PathBuf,
    revision: String,
}

impl CachedRepo {
    /// The cached path of `file`. A branch or tag is looked up through the cache's `refs/`; a full commit hash,
    /// which has no ref, names its snapshot directly (as the Python `huggingface_hub` does).
    fn get(&self, file: &str) -> Option<PathBuf> {
        self.files.get(file).or_else(|| {
            let is_commit = self.revision.len() == 40 && self.revision.bytes().all(|b| b.is_ascii_hexdigit());
            Some(self.snapshots.join(&self.revision).join(file)).filter(|path| is_commit && path.is_file())
        })
    }
}

/// One model repository on the hub, and its files in the cache.
struct Hub {
    id: String,
    offline: bool,
    cache: CachedRepo,
    remote: ApiRepo,
}

impl Hub {
    /// The repository `id` at `revision`, downloaded from `endpoint` (default: the Hugging Face hub) into the cache
    /// at `cache_dir`; `offline`, nothing is downloaded.
    fn new(
        cache_dir: &Path,
        endpoint: Option<String>,
        id: &str,
        revision: Option<&str>,
        offline: bool,
    ) -> Result<Self> {
        let cache = Cache::new(cache_dir.to_path_buf());
        // As the Python `huggingface_hub`: the `HF_TOKEN` variable first, else the token `huggingface-cli login`
        // wrote beside the cache.
        let token = crate::env::var(crate::env::HF_TOKEN).or_else(|| cache.token());
        let mut builder = ApiBuilder::from_cache(cache).with_progress(false).with_token(token);
        if let Some(endpoint) = endpoint {
            builder = builder.with_endpoint(endpoint.trim_end_matches('/').to_string());
        }
        let api = builder.build().map_err(|err| Error::Download {
            repo: id.into(),
            file: "(hub client)".into(),
            reason: err.to_string(),
        })?;
        let revision_name = revision.unwrap_or("main").to_string();
        Ok(Self {
            id: id.into(),
            offline,
            cache: cached_repo(cache_dir, id, revision),
            remote: api.repo(Repo::with_revision(id.to_string(), RepoType::Model, revision_name)),
        })
    }

    /// The cached or downloaded path of `file`; `None` when the repository (or, offline, the cache) has no such file.
    fn get(&self, file: &str) -> Result<Option<PathBuf>> {
        if let Some(path) = self.cache.get(file) {
            return Ok(Some(path));
        }
        if self.offline {
            return Ok(None);
        }
        match self.remote.download_with_progress(file, progress::Bar::new(file)) {
            Ok(path) => Ok(Some(path)),
            Err(ApiError::RequestError(err)) => match *err {
                ureq::Error::Status(status, response) => {
                    let code = response.header("x-error-code").unwrap_or_default().to_string();
                    let reason = match (status, code.as_str()) {
                        (_, "EntryNotFound") | (404, "") => return Ok(None),
                        (_, "RepoNotFound") | (401, _) => {
                            "no such model on the hub (or it is private: set HF_TOKEN)".to_string()
                        }
                        (_, "RevisionNotFound") => format!("the model has no revision {:?}", self.cache.revision),
                        (_, "GatedRepo") | (403, _) => {
                            "the model is gated: accept its terms on the hub and set HF_TOKEN".to_string()
                        }
                        _ => format!("the hub answered {status} {code}"),
                    };
                    Err(Error::Download { repo: self.id.clone(), file: file.into(), reason })
                }
                ureq::Error::Transport(transport) => Err(Error::HubUnreachable {
                    repo: self.id.clone(),
                    file: file.into(),
                    reason: transport.to_string(),
                }),
            },
            Err(err) => Err(Error::Download { repo: self.id.clone(), file: file.into(), reason: err.to_string() }),
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
}

mod progress {
    //! A download progress bar on standard error.
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

    impl hf_hub::api::Progress for Bar {
        fn init(&mut self, size: usize, _file: &str) {
            self.0.set_length(size as u64);
        }

        fn update(&mut self, size: usize) {
            self.0.inc(size as u64);
        }

        fn finish(&mut self) {
            self.0.finish_and_clear();
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

    /// A stand-in for the hub on a local port: it answers `resolve` requests for the model `owner/name` at `main`
    /// from `files`, with the headers the hub sends (commit, ETag, byte ranges) and its error codes. Returns the
    /// endpoint.
    fn fake_hub(files: &'static [(&'static str, &'static [u8])]) -> String {
        use std::io::{BufRead, BufReader, Write};
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut reader = BufReader::new(stream.try_clone().unwrap());
                let mut request = String::new();
                let mut range_start = 0;
                let mut range_end = None;
                reader.read_line(&mut request).unwrap();
                loop {
                    let mut line = String::new();
                    reader.read_line(&mut line).unwrap();
                    if line.trim().is_empty() {
                        break;
                    }
                    if let Some(range) = line.to_ascii_lowercase().strip_prefix("range: bytes=") {
                        let (start, end) = range.trim().split_once('-').unwrap();
                        range_start = start.parse().unwrap();
                        range_end = end.parse::<usize>().ok();
                    }
                }
                let path = request.split_whitespace().nth(1).unwrap_or_default().to_string();
                let found = path
                    .strip_prefix("/owner/name/resolve/main/")
                    .map(|file| files.iter().find(|(name, _)| *name == file).map(|(_, bytes)| *bytes));
                let head = |status: &str, headers: &str| format!("HTTP/1.1 {status}\r\nConnection: close\r\n{headers}");
                let error = |status: &str, code: &str| {
                    head(status, &format!("X-Error-Code: {code}\r\nContent-Length: 0\r\n\r\n")).into_bytes()
                };
                let response = match found {
                    None => error("401 Unauthorized", "RepoNotFound"),
                    Some(None) => error("404 Not Found", "EntryNotFound"),
                    Some(Some(bytes)) => {
                        let end = range_end.unwrap_or(bytes.len() - 1).min(bytes.len() - 1);
                        let body = &bytes[range_start..=end];
                        let etag = format!("{:x}", <sha2::Sha256 as sha2::Digest>::digest(bytes));
                        let headers = format!(
                            "X-Repo-Commit: {COMMIT}\r\nETag: \"{etag}\"\r\n\
                             Content-Range: bytes {range_start}-{end}/{}\r\nContent-Length: {}\r\n\r\n",
                            bytes.len(),
                            body.len()
                        );
                        [head("206 Partial Content", &headers).as_bytes(), body].concat()
                    }
                };
                let _ = stream.write_all(&response);
            }
        });
        endpoint
    }

    const COMMIT: &str = "0123456789abcdef0123456789abcdef01234567";
    const FILES: &[(&str, &[u8])] = &[
        ("config.json", b"{\"model_type\": \"bert\"}"),
        ("vocab.txt", b"[PAD]\n[UNK]\n"),
        ("model.safetensors", b"weights"),
    ];

    #[test]
    fn a_hub_model_is_downloaded_into_the_shared_cache_layout_and_found_there_offline() {
        let cache = tempfile::tempdir().unwrap();
        let endpoint = fake_hub(FILES);
        let hub = Hub::new(cache.path(), Some(endpoint), "owner/name", None, false).unwrap();
        let files = resolve_from(&hub, "owner/name", None).unwrap();
        let snapshot = cache.path().join("models--owner--name/snapshots").join(COMMIT);
        assert_eq!(files.config, snapshot.join("config.json"));
        assert_eq!(std::fs::read(&files.config).unwrap(), FILES[0].1);
        let vocab = TokenizerFiles::WordPiece(snapshot.join("vocab.txt"));
        assert_eq!(files.tokenizer, vocab, "with no tokenizer.json, vocab.txt");
        assert_eq!(std::fs::read(files.weights.path()).unwrap(), b"weights");
        assert_eq!(std::fs::read_to_string(cache.path().join("models--owner--name/refs/main")).unwrap(), COMMIT);

        // Offline, with no hub at all, the same files come from the cache, by branch or by commit.
        let offline = Hub::new(cache.path(), Some("http://127.0.0.1:1".into()), "owner/name", None, true).unwrap();
        assert_eq!(resolve_from(&offline, "owner/name", None).unwrap().config, files.config);
        let nowhere = || Some("http://127.0.0.1:1".to_string());
        let pinned = Hub::new(cache.path(), nowhere(), "owner/name", Some(COMMIT), true).unwrap();
        assert_eq!(resolve_from(&pinned, "owner/name", Some(COMMIT)).unwrap().weights, files.weights);
        let elsewhere = Hub::new(cache.path(), None, "owner/other", None, true).unwrap();
        let err = resolve_from(&elsewhere, "owner/other", None).unwrap_err();
        assert!(matches!(err, Error::NotCached { .. }), "{err}");
    }

    #[test]
    fn hub_failures_say_what_went_wrong() {
        let cache = tempfile::tempdir().unwrap();
        let endpoint = fake_hub(FILES);
        let unknown = Hub::new(cache.path(), Some(endpoint), "owner/unknown", None, false).unwrap();
        let err = resolve_from(&unknown, "owner/unknown", None).unwrap_err();
        assert!(matches!(err, Error::Download { .. }) && err.to_string().contains("no such model"), "{err}");
        let nowhere = Some("http://127.0.0.1:1".to_string());
        let unreachable = Hub::new(cache.path(), nowhere, "owner/name", None, false).unwrap();
        let err = resolve_from(&unreachable, "owner/name", None).unwrap_err();
        assert!(matches!(err, Error::HubUnreachable { .. }), "{err}");
    }
}
