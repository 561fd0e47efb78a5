//! The bias benchmarks' data: found in a local file or folder, or downloaded once from its canonical source into
//! biaslab's cache ([`crate::data::cache::cache_dir`]). Loaders never panic on a bad row: they skip it and report it with
//! its line number ([`Loaded::skipped`]).
//!
//! Where a file is looked for, in order: the path given (a file, or a folder laid out as below); the folder in
//! `BIASLAB_DATA_DIR`; the cache; a download (not with `HF_HUB_OFFLINE=1`). A folder is laid out as the lab's
//! shared data folder: `crows-pairs/crows_pairs_anonymized.csv`, `stereoset/…`, `winobias/…`, `honest/…`.
//!
//! Some of this data holds slurs and stereotypes on purpose: whatever shows its rows to a person warns first
//! (`CONTENT_WARNING`).

use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::data::cache::{self, DataFile};
use crate::error::{Error, Result};

/// The environment variable naming a local data folder (laid out as in the module docs).
pub(crate) const DATA_DIR_ENV: &str = crate::env::DATA_DIR;

/// The warning shown before any benchmark row is shown to a person.
pub(crate) const CONTENT_WARNING: &str =
    "Content warning: the benchmark sentences below include offensive stereotypes and \
slurs, on purpose: they were written to test whether a model prefers them.";

/// One file of a benchmark: where it sits in a data folder, and where it is downloaded from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Dataset {
    /// Its path inside a data folder, e.g. `crows-pairs/crows_pairs_anonymized.csv`.
    pub relative: &'static str,
    /// Its canonical download.
    pub file: DataFile,
}

/// A row that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// Its line in the file (1-based; for a CSV record spanning lines, the line it starts on).
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

/// The rows of a data file that could be read, and those that could not.
#[derive(Debug, Clone, PartialEq)]
pub struct Loaded<T> {
    /// The file read.
    pub path: PathBuf,
    /// The rows read, in file order.
    pub items: Vec<T>,
    /// The rows skipped, with why.
    pub skipped: Vec<Skipped>,
}

impl<T> Loaded<T> {
    /// The first `n` rows only (all if `n` is `None`).
    pub fn limit(mut self, n: Option<usize>) -> Self {
        if let Some(n) = n {
            self.items.truncate(n);
        }
        self
    }

    /// One line on what was read: "1508 rows from PATH" and, when some were skipped, how many and the first few.
    pub fn summary(&self) -> String {
        let mut out = format!("{} rows from {}", self.items.len(), self.path.display());
        if !self.skipped.is_empty() {
            let first: Vec<String> =
                self.skipped.iter().take(3).map(|s| format!("line {}: {}", s.line, s.reason)).collect();
            out.push_str(&format!("; {} malformed rows skipped ({})", self.skipped.len(), first.join("; ")));
        }
        out
    }
}

/// How many lines short the csv crate's record positions fall, read right after the header: 1 for CRLF line
/// endings, after which it places every record (and error) on the line before its own (BurntSushi/rust-csv#395: it
/// counts a line when it consumes the LF, which it does only as the next record starts), else 0. Read from the
/// reader rather than assumed, so a csv release that fixes it gives 0.
pub(crate) fn csv_line_offset<R: std::io::Read>(reader: &csv::Reader<R>) -> u64 {
    u64::from(reader.position().line() == 1)
}

/// "2 pairs could not be scored and are left out: line 3 (why), line 9 (why)": how many of `noun` (singular, plural)
/// a suite left out, with the file line and the reason of the first three (each reason cut to 200 characters).
pub(crate) fn left_out(noun: (&str, &str), lines_and_reasons: &[(usize, &str)]) -> String {
    let count = lines_and_reasons.len();
    let (noun, are) = if count == 1 { (noun.0, "is") } else { (noun.1, "are") };
    let first: Vec<String> = lines_and_reasons
        .iter()
        .take(3)
        .map(|(line, reason)| format!("line {line} ({})", crate::error::shortened(reason)))
        .collect();
    let more = if count > 3 { format!(", and {} more", count - 3) } else { String::new() };
    format!("{count} {noun} could not be scored and {are} left out: {}{more}", first.join(", "))
}

/// The local path of `dataset`: `path` itself if it is a file; `path/<relative>` (or `path/<file name>`) if it is a
/// folder; else `$BIASLAB_DATA_DIR/<relative>`; else the cache, downloaded there first if missing.
pub(crate) fn locate(dataset: &Dataset, path: Option<&Path>) -> Result<PathBuf> {
    if let Some(path) = path {
        if path.is_file() {
            return Ok(path.into());
        }
        if path.is_dir() {
            let name = Path::new(dataset.relative).file_name().unwrap_or_default();
            return [path.join(dataset.relative), path.join(name)].into_iter().find(|p| p.is_file()).ok_or_else(|| {
                Error::MissingFile {
                    dir: path.into(),
                    file: dataset.relative.into(),
                    hint: format!(
                        "Download it from {}, or leave out the path to have biaslab download it.",
                        dataset.file.url
                    ),
                }
            });
        }
        return Err(Error::Io {
            path: path.into(),
            source: std::io::Error::new(std::io::ErrorKind::NotFound, "no such file or folder"),
        });
    }
    if let Some(dir) = crate::env::path(DATA_DIR_ENV) {
        let candidate = dir.join(dataset.relative);
        if candidate.is_file() {
            return Ok(candidate);
        }
    }
    cache::fetch(&dataset.file, None)
}

/// The largest data file [`read_text`] reads whole (the lab's largest, StereoSet's, is about 3 MB).
pub(crate) const MAX_TEXT: u64 = 512 << 20;

/// Reads a whole text file, with the error naming it: at most `MAX_TEXT` bytes (a device or pipe is read up to
/// that, never without end), UTF-8 without NUL bytes, a byte-order mark at its start left out.
pub fn read_text(path: &Path) -> Result<String> {
    use std::io::Read;
    let invalid = |reason: String| Error::InvalidData { path: path.into(), reason };
    let file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut bytes = Vec::new();
    file.take(MAX_TEXT + 1).read_to_end(&mut bytes).map_err(Error::io(path))?;
    if bytes.len() as u64 > MAX_TEXT {
        return Err(invalid(format!("larger than {} MiB: is this the right file?", MAX_TEXT >> 20)));
    }
    if let Some(at) = bytes.iter().position(|&b| b == 0) {
        return Err(invalid(format!("not text (a NUL byte at byte {at}): is this the right file?")));
    }
    let text = String::from_utf8(bytes).map_err(|err| {
        invalid(format!("not UTF-8 text (byte {}): is this the right file?", err.utf8_error().valid_up_to()))
    })?;
    Ok(match text.strip_prefix('\u{feff}') {
        Some(rest) => rest.to_string(),
        None => text,
    })
}

/// A failure to write CSV rows (to standard output or a file) as an [`Error::Io`].
pub(crate) fn csv_error(err: csv::Error) -> Error {
    Error::Io { path: "<csv output>".into(), source: std::io::Error::other(err) }
}
