//! Small records in biaslab's cache ([`crate::data::cache::cache_dir`], folder `demo/`) that spare each load of the demo
//! model work an earlier load already did: the sha256 of the encoder's weights, and the folder the pip package's
//! encoder was found in (which takes starting Python). Each record holds the stamp of the file it is about (size,
//! modification time and, on Unix, device, inode and change time), and is used only while the file still has that
//! stamp: a file replaced or written to since is hashed or looked for again. A record that cannot be read or
//! written is not used, and the load does the work as it would without one.

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::UNIX_EPOCH;

use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

use crate::data::cache as data_cache;
use crate::error::{Error, Result};

/// What tells one version of a file from another without reading it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Stamp {
    len: u64,
    /// Modification time, nanoseconds since the Unix epoch (negative before it).
    modified_ns: i128,
    /// Device and inode (Unix; 0 elsewhere): a file replaced by another has another inode.
    device: u64,
    inode: u64,
    /// Change time in nanoseconds (Unix; 0 elsewhere): set by the system on every write, and cannot be set back.
    changed_ns: i128,
}

impl Stamp {
    /// The stamp of the file at `path` (a symbolic link is followed).
    pub(crate) fn of(path: &Path) -> std::io::Result<Self> {
        let meta = std::fs::metadata(path)?;
        let modified_ns = match meta.modified()?.duration_since(UNIX_EPOCH) {
            Ok(after) => after.as_nanos() as i128,
            Err(before) => -(before.duration().as_nanos() as i128),
        };
        #[cfg(unix)]
        let (device, inode, changed_ns) = {
            use std::os::unix::fs::MetadataExt;
            (meta.dev(), meta.ino(), i128::from(meta.ctime()) * 1_000_000_000 + i128::from(meta.ctime_nsec()))
        };
        #[cfg(not(unix))]
        let (device, inode, changed_ns) = (0, 0, 0);
        Ok(Self { len: meta.len(), modified_ns, device, inode, changed_ns })
    }
}

/// The record of a file's sha256.
#[derive(Serialize, Deserialize)]
struct HashRecord {
    path: PathBuf,
    stamp: Stamp,
    sha256: String,
}

/// The record of where an encoder folder was found, for one way of looking (`key`).
#[derive(Serialize, Deserialize)]
struct FoundRecord {
    key: String,
    dir: PathBuf,
    /// The stamp of the folder's weights when it was found.
    weights: Stamp,
}

/// The file under `cache` holding the record of kind `kind` for `name`.
fn record_path(cache: &Path, kind: &str, name: &str) -> PathBuf {
    let digest = Sha256::digest(name.as_bytes());
    let short: String = digest.iter().take(8).map(|b| format!("{b:02x}")).collect();
    cache.join("demo").join(format!("{kind}-{short}.json"))
}

fn read_record<T: for<'de> Deserialize<'de>>(path: &Path) -> Option<T> {
    serde_json::from_slice(&std::fs::read(path).ok()?).ok()
}

/// Writes `record` as JSON whole or not at all (a temporary file renamed over it), so that two kernels at once
/// never read half of one (the demo model's records, lab 03's measures). Failing to write it changes nothing but
/// the time the next load takes.
pub(crate) fn write_record<T: Serialize>(path: &Path, record: &T) {
    let Some(dir) = path.parent() else { return };
    let Ok(json) = serde_json::to_vec_pretty(record) else { return };
    static WRITES: AtomicUsize = AtomicUsize::new(0);
    let name = path.file_name().unwrap_or_default().to_string_lossy();
    let tmp = dir.join(format!(".{name}.{}-{}.tmp", std::process::id(), WRITES.fetch_add(1, Ordering::Relaxed)));
    let written = std::fs::create_dir_all(dir)
        .and_then(|()| std::fs::write(&tmp, json))
        .and_then(|()| std::fs::rename(&tmp, path));
    if written.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
}

/// The sha256 of the file at `path`, as [`data_cache::sha256_file`] computes it, read from its record under `cache` when
/// the file is unchanged since it was hashed (else hashed, and the record written).
pub(crate) fn sha256_file(path: &Path, cache: &Path) -> Result<String> {
    let stamp = Stamp::of(path).map_err(Error::io(path))?;
    // The record is kept under the file's real path, whatever link or relative path named it.
    let real = std::fs::canonicalize(path).unwrap_or_else(|_| path.to_path_buf());
    let record_file = record_path(cache, "sha256", &real.to_string_lossy());
    if let Some(record) = read_record::<HashRecord>(&record_file) {
        if record.path == real && record.stamp == stamp {
            return Ok(record.sha256);
        }
    }
    let sha256 = data_cache::sha256_file(path)?;
    // A file written to while it was read may have been hashed half old, half new: no record of that.
    if Stamp::of(path).is_ok_and(|after| after == stamp) {
        write_record(&record_file, &HashRecord { path: real, stamp, sha256: sha256.clone() });
    }
    Ok(sha256)
}

/// The weights file of an encoder folder.
const WEIGHTS: &str = "model.safetensors";

/// The encoder folder recorded under `cache` for the way of looking `key`, if it still holds the weights it held
/// when it was found (the same `model.safetensors`, unchanged) and its `config.json`.
pub(crate) fn found_dir(cache: &Path, key: &str) -> Option<PathBuf> {
    let record = read_record::<FoundRecord>(&record_path(cache, "encoder", key))?;
    let unchanged = record.key == key
        && record.dir.join("config.json").is_file()
        && Stamp::of(&record.dir.join(WEIGHTS)).is_ok_and(|stamp| stamp == record.weights);
    unchanged.then_some(record.dir)
}

/// Records under `cache` that looking as `key` found the encoder folder `dir` (nothing is recorded for a folder
/// without `model.safetensors`: it is looked for again next time).
pub(crate) fn remember_dir(cache: &Path, key: &str, dir: &Path) {
    if let Ok(weights) = Stamp::of(&dir.join(WEIGHTS)) {
        write_record(&record_path(cache, "encoder", key), &FoundRecord { key: key.into(), dir: dir.into(), weights });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_hash_is_reused_until_the_file_changes() {
        let cache = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.safetensors");
        std::fs::write(&file, b"first version").unwrap();
        let first = sha256_file(&file, cache.path()).unwrap();
        assert_eq!(first, data_cache::sha256_file(&file).unwrap());

        // Unchanged, the file is not read again: the record's digest is what comes back.
        let record = record_path(cache.path(), "sha256", &std::fs::canonicalize(&file).unwrap().to_string_lossy());
        let mut stored: HashRecord = read_record(&record).unwrap();
        stored.sha256 = "from the record".into();
        write_record(&record, &stored);
        assert_eq!(sha256_file(&file, cache.path()).unwrap(), "from the record");

        // Replaced (another size), it is hashed again.
        std::fs::write(&file, b"second, longer version").unwrap();
        let second = sha256_file(&file, cache.path()).unwrap();
        assert_eq!(second, data_cache::sha256_file(&file).unwrap());
        assert_ne!(second, first);
    }

    #[cfg(unix)]
    #[test]
    fn a_file_rewritten_to_the_same_size_and_time_is_hashed_again() {
        let cache = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("model.safetensors");
        std::fs::write(&file, b"aaaa").unwrap();
        let modified = std::fs::metadata(&file).unwrap().modified().unwrap();
        assert_eq!(sha256_file(&file, cache.path()).unwrap(), data_cache::sha256_file(&file).unwrap());
        // Past the coarse clock the kernel stamps files with, then the same size, the old modification time.
        std::thread::sleep(std::time::Duration::from_millis(50));
        std::fs::write(&file, b"bbbb").unwrap();
        std::fs::File::options().write(true).open(&file).unwrap().set_modified(modified).unwrap();
        assert_eq!(std::fs::metadata(&file).unwrap().modified().unwrap(), modified);
        assert_eq!(sha256_file(&file, cache.path()).unwrap(), data_cache::sha256_file(&file).unwrap());
    }

    #[test]
    fn an_unreadable_record_is_ignored_and_a_missing_file_is_an_error() {
        let cache = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("weights");
        std::fs::write(&file, b"x").unwrap();
        let record = record_path(cache.path(), "sha256", &std::fs::canonicalize(&file).unwrap().to_string_lossy());
        std::fs::create_dir_all(record.parent().unwrap()).unwrap();
        std::fs::write(&record, b"{not json").unwrap();
        assert_eq!(sha256_file(&file, cache.path()).unwrap(), data_cache::sha256_file(&file).unwrap());
        let err = sha256_file(&dir.path().join("missing"), cache.path()).unwrap_err();
        assert!(matches!(err, Error::Io { .. }), "{err}");
    }

    #[test]
    fn a_found_folder_is_used_only_while_it_holds_the_same_weights() {
        let cache = tempfile::tempdir().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let encoder = dir.path().join("model");
        std::fs::create_dir(&encoder).unwrap();
        std::fs::write(encoder.join("config.json"), "{}").unwrap();
        std::fs::write(encoder.join(WEIGHTS), b"weights").unwrap();
        assert_eq!(found_dir(cache.path(), "python3"), None);
        remember_dir(cache.path(), "python3", &encoder);
        assert_eq!(found_dir(cache.path(), "python3"), Some(encoder.clone()));
        // Another way of looking (another Python) has no record.
        assert_eq!(found_dir(cache.path(), "/other/python"), None);
        // Weights replaced (a new version of the package): looked for again.
        std::fs::write(encoder.join(WEIGHTS), b"other weights").unwrap();
        assert_eq!(found_dir(cache.path(), "python3"), None);
        remember_dir(cache.path(), "python3", &encoder);
        assert_eq!(found_dir(cache.path(), "python3"), Some(encoder.clone()));
        // The folder gone (the package uninstalled): looked for again.
        std::fs::remove_dir_all(&encoder).unwrap();
        assert_eq!(found_dir(cache.path(), "python3"), None);
    }
}
