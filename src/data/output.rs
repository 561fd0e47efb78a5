//! Output folders: biaslab never writes over what it did not write.
//!
//! Every command that writes files into a folder the user names (`release`, `report`, `mitigate`, `grade`,
//! `demo-model train`) opens it as an [`OutputDir`] first, before any slow work:
//!
//! - a folder that *is* one of the command's inputs is refused, always (the inputs would be destroyed as they are
//!   read: `biaslab release SRC SRC`); one *inside* an input is refused unless forced;
//! - a file already there that biaslab did not write is refused unless forced, and nothing is written;
//! - what biaslab writes is listed with its sha256 in the folder's `MANIFEST`, so the next run may replace it —
//!   unless it was edited since (then it is the user's: refused unless forced).
//!
//! Written here rather than taken from a crate: what "biaslab wrote it" means is biaslab's own record.

use std::collections::BTreeMap;
use std::path::{Component, Path, PathBuf};

use crate::error::{Error, Result};

/// The file in an output folder that lists what biaslab wrote there (`{"name": "sha256", ...}`).
pub(crate) const MANIFEST: &str = ".biaslab-written.json";

/// A folder biaslab writes into; see the module documentation.
#[derive(Debug)]
pub struct OutputDir {
    dir: PathBuf,
    force: bool,
    written: BTreeMap<String, String>,
}

impl OutputDir {
    /// Opens `dir` for writing (it need not exist yet; it is created by the first write). `inputs` are the folders
    /// (or files) the command reads; `force` allows a folder inside an input and files biaslab did not write.
    pub fn open(dir: &Path, inputs: &[&Path], force: bool) -> Result<Self> {
        let resolved = resolve(dir);
        for input in inputs {
            let input = resolve(input);
            let shown = input.display();
            if resolved == input {
                return Err(refused(
                    dir,
                    format!("it is the input {shown}, which would be overwritten: choose another"),
                ));
            }
            if resolved.starts_with(&input) && !force {
                return Err(refused(dir, format!("it is inside the input {shown}: choose another, or add --force")));
            }
        }
        if dir.exists() && !dir.is_dir() {
            return Err(refused(
                dir,
                "it is a file, not a folder: name a folder instead (one that does not exist yet is made)".into(),
            ));
        }
        // A manifest that cannot be read records nothing: every file there is then the user's.
        let written = std::fs::read_to_string(dir.join(MANIFEST))
            .ok()
            .and_then(|text| serde_json::from_str(&text).ok())
            .unwrap_or_default();
        Ok(OutputDir { dir: dir.to_path_buf(), force, written })
    }

    /// The folder.
    pub fn path(&self) -> &Path {
        &self.dir
    }

    /// Whether `name` (a path relative to the folder) may be written: it does not exist, it is what biaslab wrote
    /// there last, or the folder was opened with `force`.
    pub fn may_write(&self, name: &str) -> bool {
        let path = self.dir.join(name);
        if self.force || std::fs::symlink_metadata(&path).is_err() {
            return true;
        }
        let unchanged = |digest: &String| crate::data::cache::sha256_file(&path).is_ok_and(|d| *digest == d);
        path.is_file() && self.written.get(name).is_some_and(unchanged)
    }

    /// Checks every name of `names` before anything is written: the first that may not be written is an error.
    pub fn check(&self, names: &[String]) -> Result<()> {
        match names.iter().find(|name| !self.may_write(name)) {
            Some(name) => Err(refused(
                &self.dir.join(name),
                "it is already there and biaslab did not write it (or it was edited since): move it away, choose \
                 another folder, or add --force to overwrite it"
                    .into(),
            )),
            None => Ok(()),
        }
    }

    /// Writes `bytes` to `name` (its folders created) and records it.
    pub fn write(&mut self, name: &str, bytes: &[u8]) -> Result<PathBuf> {
        self.check(&[name.to_string()])?;
        let path = self.dir.join(name);
        if let Some(parent) = path.parent() {
            std::fs::create_dir_all(parent).map_err(Error::io(parent))?;
        }
        // Never written through a link (a file made by `ln`, or one the user pointed elsewhere).
        if std::fs::symlink_metadata(&path).is_ok_and(|m| !m.is_file()) {
            std::fs::remove_file(&path).map_err(Error::io(&path))?;
        }
        std::fs::write(&path, bytes).map_err(Error::io(&path))?;
        self.record(name)?;
        Ok(path)
    }

    /// Records `name` as written by biaslab (a file another function wrote, a chart or a checkpoint).
    pub fn record(&mut self, name: &str) -> Result<()> {
        let digest = crate::data::cache::sha256_file(&self.dir.join(name))?;
        self.written.insert(name.to_string(), digest);
        self.save()
    }

    /// For a command whose output is a whole folder of its own (grading: results, feedback, the runs): refuses a
    /// folder that holds anything while biaslab has no record of writing there, unless forced; else makes the folder
    /// and its manifest, so that the next run (a resumed grading) may write into it again.
    pub fn claim(&mut self) -> Result<()> {
        let has_files = std::fs::read_dir(&self.dir).is_ok_and(|mut entries| entries.next().is_some());
        if has_files && !self.force && !self.dir.join(MANIFEST).is_file() {
            return Err(refused(
                &self.dir,
                "it already holds files and biaslab did not make it: choose a new or empty folder, or add --force \
                 to write into it"
                    .into(),
            ));
        }
        std::fs::create_dir_all(&self.dir).map_err(Error::io(&self.dir))?;
        self.save()
    }

    fn save(&self) -> Result<()> {
        let manifest = self.dir.join(MANIFEST);
        let json = serde_json::to_string_pretty(&self.written).expect("names and digests serialize to JSON");
        std::fs::write(&manifest, json + "\n").map_err(Error::io(&manifest))
    }
}

/// Writes one file, `path`, as [`OutputDir::write`] does in its folder; never over a file of `keep` (the command's
/// inputs, or files of another output that this one must not replace), even forced.
pub fn write_file(path: &Path, bytes: &[u8], keep: &[&Path], force: bool) -> Result<PathBuf> {
    let target = resolve(path);
    if let Some(kept) = keep.iter().find(|k| resolve(k) == target) {
        return Err(refused(
            path,
            format!("it is {}, which this command must not replace: name another file", kept.display()),
        ));
    }
    let Some(name) = path.file_name().map(|n| n.to_string_lossy().into_owned()) else {
        return Err(refused(path, "it names no file: name a file such as gradebook-canvas.csv".into()));
    };
    let folder = path.parent().filter(|p| !p.as_os_str().is_empty()).unwrap_or(Path::new("."));
    OutputDir::open(folder, &[], force)?.write(&name, bytes)
}

fn refused(path: &Path, reason: String) -> Error {
    Error::OutputRefused { path: path.to_path_buf(), reason }
}

/// `path` made absolute with its links resolved, as far as it exists; the rest added without `.` and with `..`
/// taken off.
fn resolve(path: &Path) -> PathBuf {
    let absolute = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
    let mut existing = absolute.as_path();
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = existing.canonicalize() {
            let mut out = real;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        out.pop();
                    }
                    Component::Normal(name) => out.push(name),
                    _ => {}
                }
            }
            return out;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return absolute,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_input_is_never_an_output_and_a_folder_inside_one_only_when_forced() {
        let dir = tempfile::tempdir().unwrap();
        let src = dir.path().join("src");
        std::fs::create_dir(&src).unwrap();
        for same in [src.clone(), src.join("."), src.join("../src/")] {
            let err = OutputDir::open(&same, &[&src], true).unwrap_err();
            assert!(err.to_string().contains("is the input"), "{err}");
        }
        #[cfg(unix)]
        {
            let link = dir.path().join("link");
            std::os::unix::fs::symlink(&src, &link).unwrap();
            assert!(OutputDir::open(&link, &[&src], false).is_err());
        }
        let inside = src.join("out");
        assert!(OutputDir::open(&inside, &[&src], false).unwrap_err().to_string().contains("--force"));
        assert!(OutputDir::open(&inside, &[&src], true).is_ok());
        assert!(OutputDir::open(&dir.path().join("other"), &[&src], false).is_ok());
    }

    #[test]
    fn only_files_biaslab_wrote_and_nobody_edited_are_replaced() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("theirs.json"), "mine").unwrap();
        let mut out = OutputDir::open(dir.path(), &[], false).unwrap();
        assert!(out.write("theirs.json", b"x").unwrap_err().to_string().contains("biaslab did not write it"));
        assert_eq!(std::fs::read_to_string(dir.path().join("theirs.json")).unwrap(), "mine");
        out.write("charts/a.svg", b"one").unwrap();
        // Written by biaslab: a second run replaces it.
        let mut again = OutputDir::open(dir.path(), &[], false).unwrap();
        again.write("charts/a.svg", b"two").unwrap();
        // Edited since: the user's now.
        std::fs::write(dir.path().join("charts/a.svg"), "edited").unwrap();
        let again = OutputDir::open(dir.path(), &[], false).unwrap();
        assert!(again.check(&["charts/a.svg".into()]).is_err());
        let mut forced = OutputDir::open(dir.path(), &[], true).unwrap();
        forced.write("theirs.json", b"x").unwrap();
        assert_eq!(std::fs::read_to_string(dir.path().join("theirs.json")).unwrap(), "x");
    }
}
