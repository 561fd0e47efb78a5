//! Helpers shared by the integration tests: the shared resources beside the project, and the PyTorch fixtures.
#![allow(dead_code)]

use std::path::{Path, PathBuf};

use serde::Deserialize;

pub mod grading;

/// `../shared` beside the project (or `BIASLAB_SHARED`). A missing directory fails the test loudly: CI always has it.
pub fn shared_dir() -> PathBuf {
    let dir = std::env::var_os("BIASLAB_SHARED")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared"));
    assert!(
        dir.join("models/bert-base-uncased/tokenizer.json").is_file(),
        "the shared resources are missing: expected {}/models/bert-base-uncased/tokenizer.json \
         (set BIASLAB_SHARED to their directory)",
        dir.display()
    );
    dir
}

/// The directory of a committed fixture checkpoint.
pub fn fixture_dir(name: &str) -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures").join(name);
    assert!(dir.join("expected.json").is_file(), "fixture {} is missing", dir.display());
    dir
}

/// A complete model directory for a fixture, as a user would have it: the fixture's files, plus (for the BERT
/// fixtures) the real bert-base-uncased tokenizer from the shared directory, which is never committed here.
pub fn model_dir(name: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().expect("a temporary directory");
    let fixture = fixture_dir(name);
    for entry in std::fs::read_dir(&fixture).unwrap() {
        let path = entry.unwrap().path();
        if path.is_file() && path.file_name().unwrap() != "expected.json" {
            std::fs::copy(&path, tmp.path().join(path.file_name().unwrap())).unwrap();
        }
    }
    if expected(name).tokenizer_from_shared {
        copy_shared_tokenizer(tmp.path(), &["tokenizer.json", "vocab.txt", "tokenizer_config.json"]);
    }
    tmp
}

/// Copies these files of the shared bert-base-uncased tokenizer into `dir`.
pub fn copy_shared_tokenizer(dir: &Path, files: &[&str]) {
    let shared = shared_dir().join("models/bert-base-uncased");
    for file in files {
        std::fs::copy(shared.join(file), dir.join(file)).unwrap();
    }
}

/// What `tests/reference/make_fixtures.py` wrote for a fixture.
#[derive(Debug, Deserialize)]
pub struct Expected {
    pub family: String,
    pub mask_token: String,
    pub tokenizer_from_shared: bool,
    pub cases: Vec<Case>,
    pub encodings: Vec<Encoding>,
    pub logits: Vec<LogitRow>,
}

/// One call of the transformers fill-mask pipeline and its output.
#[derive(Debug, Deserialize)]
pub struct Case {
    pub name: String,
    pub inputs: Inputs,
    pub top_k: Option<usize>,
    pub targets: Option<Vec<String>>,
    pub batch_size: Option<usize>,
    pub output: serde_json::Value,
}

/// One text, or a list of texts.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub enum Inputs {
    One(String),
    Many(Vec<String>),
}

/// `tokenizer(text)["input_ids"]`.
#[derive(Debug, Deserialize)]
pub struct Encoding {
    pub text: String,
    pub input_ids: Vec<u32>,
}

/// Raw logits of the model at one position of a text, for some token ids.
#[derive(Debug, Deserialize)]
pub struct LogitRow {
    pub text: String,
    pub position: usize,
    pub token_ids: Vec<u32>,
    pub values: Vec<f32>,
}

/// Reads a fixture's expected.json.
pub fn expected(name: &str) -> Expected {
    let path = fixture_dir(name).join("expected.json");
    serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap()
}

/// Scores and logits must match PyTorch to this absolute tolerance.
pub const TOLERANCE: f64 = 1e-4;

/// Scores must also match PyTorch to this relative tolerance, so that tiny probabilities (of targets, say) are
/// compared too and not only found within 1e-4 of each other.
pub const RELATIVE_TOLERANCE: f64 = 1e-3;

/// Asserts that two pipeline outputs (JSON of the same nesting) are equal: every key and string exactly, every
/// number within [`TOLERANCE`] and [`RELATIVE_TOLERANCE`].
pub fn assert_same_output(actual: &serde_json::Value, expected: &serde_json::Value, at: &str) {
    use serde_json::Value;
    match (actual, expected) {
        (Value::Array(a), Value::Array(e)) => {
            assert_eq!(a.len(), e.len(), "{at}: {} entries, PyTorch has {}", a.len(), e.len());
            for (i, (a, e)) in a.iter().zip(e).enumerate() {
                assert_same_output(a, e, &format!("{at}[{i}]"));
            }
        }
        (Value::Object(a), Value::Object(e)) => {
            let mut a_keys: Vec<_> = a.keys().collect();
            let mut e_keys: Vec<_> = e.keys().collect();
            a_keys.sort();
            e_keys.sort();
            assert_eq!(a_keys, e_keys, "{at}: keys differ");
            for (key, e) in e {
                assert_same_output(&a[key], e, &format!("{at}.{key}"));
            }
        }
        (Value::Number(a), Value::Number(e)) if a.is_f64() || e.is_f64() => {
            let (a, e) = (a.as_f64().unwrap(), e.as_f64().unwrap());
            assert!((a - e).abs() <= TOLERANCE, "{at}: {a} but PyTorch gives {e}");
            assert!((a - e).abs() <= RELATIVE_TOLERANCE * e.abs(), "{at}: {a} but PyTorch gives {e}");
        }
        (a, e) => assert_eq!(a, e, "{at}"),
    }
}

/// `jupyter` from the project's `.venv` (where `lab/setup.sh` puts it), or from `BIASLAB_JUPYTER`, or the PATH.
pub fn jupyter() -> PathBuf {
    if let Some(path) = std::env::var_os("BIASLAB_JUPYTER") {
        return PathBuf::from(path);
    }
    let venv = Path::new(env!("CARGO_MANIFEST_DIR")).join(".venv/bin/jupyter");
    if venv.is_file() {
        return venv;
    }
    PathBuf::from("jupyter")
}

/// The Jupyter kernel the notebooks name: `lab/kernel.py`, as `lab/setup.sh` registers it.
pub const KERNEL: &str = "biaslab";

/// Fails loudly unless `jupyter` has the notebooks' kernel and `lab/setup.sh` prepared its build.
pub fn require_kernel(jupyter: &Path) {
    let output =
        std::process::Command::new(jupyter).args(["kernelspec", "list", "--json"]).output().unwrap_or_else(|err| {
            panic!(
                "cannot run {} ({err}): install Jupyter and the Rust kernel with `bash lab/setup.sh --no-open`",
                jupyter.display()
            )
        });
    let specs: serde_json::Value = serde_json::from_slice(&output.stdout).expect("kernelspec list --json prints JSON");
    assert!(
        specs.pointer(&format!("/kernelspecs/{KERNEL}")).is_some(),
        "the notebooks' kernel ({KERNEL}) is not registered with {}: run `bash lab/setup.sh --no-open`",
        jupyter.display()
    );
    let key = Path::new(env!("CARGO_MANIFEST_DIR")).join("target/kernel/build.key");
    assert!(
        key.is_file(),
        "the kernel's build of biaslab is not prepared ({} is missing): run `bash lab/setup.sh --no-open`",
        key.display()
    );
}

/// Seconds between a time of day in two of Jupyter's ISO 8601 timestamps (`…T17:50:01.123456Z`), across midnight.
fn seconds_between(from: &str, to: &str) -> Option<f64> {
    let of_day = |stamp: &str| -> Option<f64> {
        let time = stamp.split('T').nth(1)?.trim_end_matches('Z');
        let time = time.split(['+']).next()?;
        let mut parts = time.split(':').map(|p| p.parse::<f64>().ok());
        Some(parts.next()?? * 3600.0 + parts.next()?? * 60.0 + parts.next()??)
    };
    let seconds = of_day(to)? - of_day(from)?;
    Some(if seconds < 0.0 { seconds + 86400.0 } else { seconds })
}

/// How long the first code cell of an executed notebook took, from the timing nbconvert records in its metadata.
pub fn first_cell_seconds(executed: &serde_json::Value) -> Option<f64> {
    let cell = executed["cells"].as_array()?.iter().find(|c| c["cell_type"] == "code")?;
    let timing = cell.pointer("/metadata/execution")?;
    seconds_between(timing["iopub.execute_input"].as_str()?, timing["shell.execute_reply"].as_str()?)
}

/// The source of a notebook's first code cell (the notebooks' `:dep biaslab` cell).
pub fn first_code_cell(path: &Path) -> String {
    let notebook = biaslab::notebook::read(path).unwrap_or_else(|err| panic!("{}: {err}", path.display()));
    let cells = notebook["cells"].as_array().cloned().unwrap_or_default();
    let cell =
        cells.iter().find(|c| c["cell_type"] == "code").unwrap_or_else(|| panic!("{}: no code cell", path.display()));
    biaslab::notebook::source(cell)
}
