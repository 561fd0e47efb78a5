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

/// A row, pair or example left out, and why: one that could not be read from its file ([`Loaded::skipped`]), or
/// one that was read but could not be scored (a suite report's `skipped`). The one type for all of them, so that
/// every loader, suite and measure says the same things of what it left out.
///
/// In JSON the optional fields are written only where the result has them, so each report keeps its shape:
/// CrowS-Pairs' `{index, id, line, reason}`, StereoSet's `{index, id, line, reason}`, the dataset measures'
/// `{file, id, line, reason}`. `id` is always written (`null` when the item has none), as StereoSet's always was.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Skipped {
    /// The file, for a result read from several files (the dataset measures); `None` where the result names its one
    /// file.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<String>,
    /// Its position among the items scored (0-based), for an item read but not scored; `None` for a row that could
    /// not be read.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub index: Option<usize>,
    /// Its id in the file, if the file gives one (StereoSet's JSON does).
    pub id: Option<String>,
    /// Its line in the file (1-based; for a CSV record spanning lines, the line it starts on).
    pub line: usize,
    /// What is wrong with it.
    pub reason: String,
}

impl Skipped {
    /// A row of a file that could not be read: its line and what is wrong with it.
    pub fn row(line: usize, reason: impl Into<String>) -> Self {
        Skipped { file: None, index: None, id: None, line, reason: reason.into() }
    }

    /// An item that was read (the `index`-th, 0-based, from `line`) but could not be scored.
    pub fn item(index: usize, line: usize, reason: impl Into<String>) -> Self {
        Skipped { index: Some(index), ..Skipped::row(line, reason) }
    }

    /// The same, naming the file it is in.
    pub fn in_file(self, file: impl Into<String>) -> Self {
        Skipped { file: Some(file.into()), ..self }
    }

    /// The same, with the item's id in its file.
    pub fn with_id(self, id: Option<String>) -> Self {
        Skipped { id, ..self }
    }
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
pub(crate) fn left_out(noun: (&str, &str), skipped: &[Skipped]) -> String {
    let count = skipped.len();
    let (noun, are) = if count == 1 { (noun.0, "is") } else { (noun.1, "are") };
    let first: Vec<String> =
        skipped.iter().take(3).map(|s| format!("line {} ({})", s.line, crate::error::shortened(&s.reason))).collect();
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

#[cfg(test)]
mod tests {
    use super::*;

    fn keys(skipped: &Skipped) -> Vec<String> {
        let value = serde_json::to_value(skipped).unwrap();
        let mut keys: Vec<String> = value.as_object().unwrap().keys().cloned().collect();
        keys.sort_unstable();
        keys
    }

    /// Each report keeps the JSON shape it had before the four "skipped" types became one (adding only `id`).
    #[test]
    fn each_kind_of_skipped_keeps_its_json_keys() {
        assert_eq!(keys(&Skipped::row(3, "no")), ["id", "line", "reason"]);
        assert_eq!(keys(&Skipped::item(1, 3, "no")), ["id", "index", "line", "reason"]);
        let example = Skipped::item(1, 3, "no").with_id(Some("ex2".into()));
        assert_eq!(keys(&example), ["id", "index", "line", "reason"]);
        assert_eq!(serde_json::to_value(&example).unwrap()["id"], "ex2");
        let row = Skipped::row(3, "no").in_file("bold.json");
        assert_eq!(keys(&row), ["file", "id", "line", "reason"]);
        assert_eq!(serde_json::to_value(&row).unwrap()["file"], "bold.json");
    }

    #[test]
    fn left_out_names_the_first_three_and_counts_the_rest() {
        let skipped: Vec<Skipped> = (1..=5).map(|i| Skipped::item(i, i * 10, format!("reason {i}"))).collect();
        assert_eq!(
            left_out(("pair", "pairs"), &skipped),
            "5 pairs could not be scored and are left out: line 10 (reason 1), line 20 (reason 2), line 30 (reason \
             3), and 2 more"
        );
        assert_eq!(
            left_out(("pair", "pairs"), &skipped[..1]),
            "1 pair could not be scored and is left out: line 10 (reason 1)"
        );
    }
}
