//! Text corpora for training and measuring: the BOLD Wikipedia sentences (Dhamala et al. 2021,
//! github.com/amazon-science/bold, CC BY-SA 4.0), read from a local copy or downloaded once into a cache and
//! checked against their sha256. Everything biaslab knows of BOLD's files is here.

use std::path::{Path, PathBuf};

use crate::data::benchmark::{self, Dataset};
use crate::error::{Error, Result};

pub(crate) use crate::data::cache::fetch;
pub use crate::data::cache::{cache_dir, sha256_file, DataFile};

/// The two BOLD Wikipedia files the demo model is trained on (13,399 sentences from the American actors and
/// actresses pages and the pages of 18 professions).
pub(crate) const BOLD_WIKIPEDIA: [DataFile; 2] = [
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

/// The BOLD Wikipedia files, located like the other data (`--data`, `$BIASLAB_DATA_DIR`, the cache, a download).
pub(crate) const BOLD_DATASETS: [Dataset; 2] = [
    Dataset { relative: "bold/wikipedia/gender_wiki.json", file: BOLD_WIKIPEDIA[0] },
    Dataset { relative: "bold/wikipedia/profession_wiki.json", file: BOLD_WIKIPEDIA[1] },
];

/// The two BOLD Wikipedia files, gender and profession: in `data` if it is a folder of the BOLD files themselves (as
/// `biaslab demo-model train --corpus` takes), else by `benchmark::locate` (`data` laid out as the shared data,
/// `$BIASLAB_DATA_DIR`, the cache, a download).
pub fn bold_wikipedia(data: Option<&Path>) -> Result<Vec<PathBuf>> {
    BOLD_DATASETS
        .iter()
        .map(|dataset| match data {
            Some(dir) if dir.join(dataset.file.name).is_file() => Ok(dir.join(dataset.file.name)),
            _ => benchmark::locate(dataset, data),
        })
        .collect()
}

/// The sentences of a BOLD Wikipedia file (`{group: {entity: [sentence, ...]}}`), groups and entities in sorted
/// order, each entity's sentences in file order. Blank sentences are left out.
pub(crate) fn bold_wikipedia_sentences(path: &Path) -> Result<Vec<String>> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let invalid = |reason: String| Error::InvalidData {
        path: path.into(),
        reason: format!(
            "{reason}; a BOLD Wikipedia file is {{group: {{entity: [sentence, …]}}}}, as BOLD's wikipedia/*.json \
             files are: give one of those"
        ),
    };
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
