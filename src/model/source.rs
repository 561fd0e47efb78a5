//! What a model name stands for, typed: the offline demo models by their names, a local directory, or a hub id. The
//! one place that knows the demo models' names and one-line descriptions; everything that must tell a demo model
//! from another asks a [`ModelSource`], never the text of a name. It imports nothing of the crate, so every module
//! that loads a model (and [`crate::model::fill_mask::FillMask`], which keeps its own) can use it.

use std::path::{Path, PathBuf};

/// The name the demo model goes by (`--model demo`).
pub const DEMO_NAME: &str = "demo";

/// The name of the demo model's weaker sibling (`--model demo-head-only`): see
/// [`crate::model::demo::load_head_only`].
pub const HEAD_ONLY_NAME: &str = "demo-head-only";

/// What the demo model is, in one line (shown wherever it is used).
pub const DEMO_DESCRIPTION: &str =
    "demo (the all-MiniLM-L6-v2 encoder with a masked-LM head biaslab trained on BOLD Wikipedia sentences)";

/// What the demo model's weaker sibling is, in one line.
pub const HEAD_ONLY_DESCRIPTION: &str =
    "demo-head-only (the demo model's masked-LM head on all-MiniLM-L6-v2's own top \
layers, which the head was not trained with: a weaker second model to compare)";

/// What a model name stands for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ModelSource {
    /// The offline demo model ([`DEMO_NAME`]).
    Demo,
    /// The demo model's weaker sibling ([`HEAD_ONLY_NAME`]).
    DemoHeadOnly,
    /// A local directory of model files.
    Dir(PathBuf),
    /// A Hugging Face Hub id, downloaded into the standard cache.
    Hub(String),
}

impl ModelSource {
    /// What `name` stands for: a directory when one exists at that path (even one called `demo`), else one of the
    /// demo models' names, else a hub id.
    pub fn parse(name: &str) -> Self {
        if Path::new(name).is_dir() {
            Self::Dir(PathBuf::from(name))
        } else if name == DEMO_NAME {
            Self::Demo
        } else if name == HEAD_ONLY_NAME {
            Self::DemoHeadOnly
        } else {
            Self::Hub(name.to_string())
        }
    }

    /// The name it goes by: `demo`, `demo-head-only`, the directory as given, or the hub id.
    pub fn name(&self) -> String {
        match self {
            Self::Demo => DEMO_NAME.into(),
            Self::DemoHeadOnly => HEAD_ONLY_NAME.into(),
            Self::Dir(dir) => dir.display().to_string(),
            Self::Hub(id) => id.clone(),
        }
    }

    /// What it is, in one line: a demo model's description, else its name.
    pub fn description(&self) -> String {
        match self {
            Self::Demo => DEMO_DESCRIPTION.into(),
            Self::DemoHeadOnly => HEAD_ONLY_DESCRIPTION.into(),
            Self::Dir(_) | Self::Hub(_) => self.name(),
        }
    }

    /// Whether biaslab made its weights (the demo models) rather than a `transformers` checkpoint.
    pub fn is_biaslabs_own(&self) -> bool {
        matches!(self, Self::Demo | Self::DemoHeadOnly)
    }
}

impl std::fmt::Display for ModelSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.name())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_name_is_a_directory_first_then_a_demo_name_then_a_hub_id() {
        assert_eq!(ModelSource::parse("demo"), ModelSource::Demo);
        assert_eq!(ModelSource::parse("demo-head-only"), ModelSource::DemoHeadOnly);
        assert_eq!(ModelSource::parse("bert-base-uncased"), ModelSource::Hub("bert-base-uncased".into()));
        let dir = tempfile::tempdir().unwrap();
        let demo_dir = dir.path().join("demo");
        std::fs::create_dir(&demo_dir).unwrap();
        let name = demo_dir.to_str().unwrap();
        assert_eq!(ModelSource::parse(name), ModelSource::Dir(demo_dir.clone()));
        assert!(!ModelSource::parse(name).is_biaslabs_own());
    }

    #[test]
    fn every_source_gives_back_the_name_it_was_parsed_from() {
        for name in [DEMO_NAME, HEAD_ONLY_NAME, "bert-base-uncased", "org/model"] {
            assert_eq!(ModelSource::parse(name).name(), name);
        }
        assert!(ModelSource::Demo.description().starts_with("demo ("));
        assert_eq!(ModelSource::Hub("x".into()).description(), "x");
    }
}
