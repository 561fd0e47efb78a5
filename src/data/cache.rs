//! biaslab's cache of downloaded data: a file with a canonical address and a pinned sha256 is read from a local
//! folder, or downloaded once into the cache (never in offline mode) and checked.

use std::io::{Read, Write};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

use crate::error::{Error, Result};

/// A data file with a canonical download address and a known checksum.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DataFile {
    /// The file name.
    pub name: &'static str,
    /// Where it is downloaded from.
    pub url: &'static str,
    /// Its sha256, lower-case hex; `None` for a file whose exact bytes are not pinned (it is checked by parsing it).
    pub sha256: Option<&'static str>,
}

pub use crate::env::cache_dir;

/// The local path of `file`: in `dir` if given (it must be there), else in the cache, downloaded there first if
/// missing (not in offline mode, `HF_HUB_OFFLINE=1`). A downloaded file must match its sha256.
pub(crate) fn fetch(file: &DataFile, dir: Option<&Path>) -> Result<PathBuf> {
    if let Some(dir) = dir {
        let path = dir.join(file.name);
        return if path.is_file() {
            Ok(path)
        } else {
            Err(Error::MissingFile {
                dir: dir.into(),
                file: file.name.into(),
                hint: format!("Download it from {}.", file.url),
            })
        };
    }
    let cached = cache_dir().join("data").join(file.name);
    if cached.is_file() {
        return Ok(cached);
    }
    if crate::env::offline_mode() {
        return Err(Error::DataUnavailable {
            name: file.name.into(),
            reason: format!(
                "it is not in the cache ({}) and HF_HUB_OFFLINE is set: run once with network access and \
                 HF_HUB_OFFLINE unset to download it, or {LOCAL_COPY}",
                cached.display()
            ),
        });
    }
    download(file, &cached)?;
    Ok(cached)
}

/// The end of a [`Error::DataUnavailable`] message: where a copy of the data made elsewhere can be given instead.
const LOCAL_COPY: &str = "give a local copy of the data (the command's --data, or BIASLAB_DATA_DIR set to the lab's \
                          shared data folder; `biaslab demo-model train` takes --corpus)";

fn download(file: &DataFile, to: &Path) -> Result<()> {
    let unavailable = |reason: String| Error::DataUnavailable { name: file.name.into(), reason };
    eprintln!("downloading {} from {}", file.name, file.url);
    let failed = |err: &dyn std::fmt::Display| {
        unavailable(format!("the download failed ({err}): check your connection and run again, or {LOCAL_COPY}"))
    };
    let response = ureq::get(file.url).call().map_err(|err| failed(&err))?;
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).map_err(|err| failed(&err))?;
    let digest = format!("{:x}", Sha256::digest(&bytes));
    if let Some(expected) = file.sha256.filter(|expected| digest != *expected) {
        return Err(unavailable(format!(
            "the downloaded file has sha256 {digest}, expected {expected}: the download was cut short or the file \
             changed at its source; run again, or {LOCAL_COPY}"
        )));
    }
    let dir = to.parent().expect("a cache path has a parent");
    std::fs::create_dir_all(dir).map_err(Error::io(dir))?;
    let partial = to.with_extension("partial");
    let mut out = std::fs::File::create(&partial).map_err(Error::io(&partial))?;
    out.write_all(&bytes).map_err(Error::io(&partial))?;
    std::fs::rename(&partial, to).map_err(Error::io(to))
}

/// The sha256 of a file, lower-case hex.
pub fn sha256_file(path: &Path) -> Result<String> {
    let mut file = std::fs::File::open(path).map_err(Error::io(path))?;
    let mut hasher = Sha256::new();
    std::io::copy(&mut file, &mut hasher).map_err(Error::io(path))?;
    Ok(format!("{:x}", hasher.finalize()))
}
