//! Text corpora for training and measuring: the BOLD Wikipedia sentences (Dhamala et al. 2021,
//! github.com/amazon-science/bold, CC BY-SA 4.0), read from a local copy or downloaded once into a cache and
//! checked against their sha256.

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

/// The two BOLD Wikipedia files the demo model is trained on (13,399 sentences from the American actors and
/// actresses pages and the pages of 18 professions).
pub const BOLD_WIKIPEDIA: [DataFile; 2] = [
    DataFile {
        name: "gender_wiki.json",
        url: "https://raw.githubusercontent.com/amazon-science/bold/3ad652c773f5d1e30d5f6f61657ed934d768ecad/wikipedia/gender_wiki.json",
        sha256: Some("a6f3bb5139dc4e4615e199dfd56a971a5829b09cb78c790d6cad554e4b9111dc"),
    },
    DataFile {
        name: "profession_wiki.json",
        url: "https://raw.githubusercontent.com/amazon-science/bold/3ad652c773f5d1e30d5f6f61657ed934d768ecad/wikipedia/profession_wiki.json",
        sha256: Some("3d5f719a131e06d32d3bff709c613fc52c818c391262240cf0017522b3ed04a2"),
    },
];

/// The environment variable naming biaslab's own data cache (default: `~/.cache/biaslab`).
pub const CACHE_ENV: &str = "BIASLAB_CACHE";

/// biaslab's data cache: `$BIASLAB_CACHE`, else `$XDG_CACHE_HOME/biaslab`, else `~/.cache/biaslab`.
pub fn cache_dir() -> PathBuf {
    if let Some(dir) = std::env::var_os(CACHE_ENV) {
        return dir.into();
    }
    if let Some(dir) = std::env::var_os("XDG_CACHE_HOME") {
        return Path::new(&dir).join("biaslab");
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    Path::new(&home).join(".cache/biaslab")
}

/// The local path of `file`: in `dir` if given (it must be there), else in the cache, downloaded there first if
/// missing (not in offline mode, `HF_HUB_OFFLINE=1`). A downloaded file must match its sha256.
pub fn fetch(file: &DataFile, dir: Option<&Path>) -> Result<PathBuf> {
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
    if crate::hub::offline_mode() {
        return Err(Error::DataUnavailable {
            name: file.name.into(),
            reason: format!("it is not in the cache ({}) and HF_HUB_OFFLINE is set", cached.display()),
        });
    }
    download(file, &cached)?;
    Ok(cached)
}

fn download(file: &DataFile, to: &Path) -> Result<()> {
    let unavailable = |reason: String| Error::DataUnavailable { name: file.name.into(), reason };
    eprintln!("downloading {} from {}", file.name, file.url);
    let failed = |err: &dyn std::fmt::Display| unavailable(format!("the download failed ({err})"));
    let response = ureq::get(file.url).call().map_err(|err| failed(&err))?;
    let mut bytes = Vec::new();
    response.into_reader().read_to_end(&mut bytes).map_err(|err| failed(&err))?;
    let digest = format!("{:x}", Sha256::digest(&bytes));
    if let Some(expected) = file.sha256.filter(|expected| digest != *expected) {
        return Err(unavailable(format!("the downloaded file has sha256 {digest}, expected {expected}")));
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

/// The sentences of a BOLD Wikipedia file (`{group: {entity: [sentence, ...]}}`), groups and entities in sorted
/// order, each entity's sentences in file order. Blank sentences are left out.
pub fn bold_wikipedia_sentences(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let invalid = |reason: String| Error::InvalidData { path: path.into(), reason };
    let json: serde_json::Value = serde_json::from_str(&text).map_err(|err| invalid(err.to_string()))?;
    let groups = json.as_object().ok_or_else(|| invalid("expected an object of groups".into()))?;
    let mut sentences = Vec::new();
    for (group, entities) in groups {
        let entities = entities.as_object().ok_or_else(|| invalid(format!("group {group:?} is not an object")))?;
        for (entity, list) in entities {
            let list = list.as_array().ok_or_else(|| invalid(format!("{group}/{entity} is not a list")))?;
            for sentence in list {
                let sentence =
                    sentence.as_str().ok_or_else(|| invalid(format!("{group}/{entity} holds a non-string")))?;
                if !sentence.trim().is_empty() {
                    sentences.push(sentence.trim().to_string());
                }
            }
        }
    }
    Ok(sentences)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bold_files_parse_and_malformed_ones_are_named() {
        let dir = tempfile::tempdir().unwrap();
        let good = dir.path().join("good.json");
        std::fs::write(&good, r#"{"b": {"y": ["two", " "], "x": ["one"]}, "a": {"z": ["zero"]}}"#).unwrap();
        assert_eq!(bold_wikipedia_sentences(&good).unwrap(), ["zero", "one", "two"]);
        let bad = dir.path().join("bad.json");
        std::fs::write(&bad, r#"{"a": ["not", "an", "object"]}"#).unwrap();
        let err = bold_wikipedia_sentences(&bad).unwrap_err();
        assert!(err.to_string().contains("bad.json") && err.to_string().contains("not an object"), "{err}");
    }

    #[test]
    fn a_missing_local_file_says_where_to_get_it() {
        let dir = tempfile::tempdir().unwrap();
        let err = fetch(&BOLD_WIKIPEDIA[0], Some(dir.path())).unwrap_err();
        assert!(err.to_string().contains("gender_wiki.json") && err.to_string().contains("https://"), "{err}");
    }
}
