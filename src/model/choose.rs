//! Loading the model a name stands for ([`ModelSource`], which knows the demo models' names), and falling back to
//! the offline demo model when the hub is out of reach: the one place that does. The name itself comes from the
//! environment ([`crate::env::model`]) or from the caller.

use candle_core::Device;

use crate::error::{Error, Result};
use crate::model::demo;
use crate::model::fill_mask::FillMask;
use crate::model::hub;
pub use crate::model::source::ModelSource;

/// Runs `load` on `model`; when `model` cannot be had because the Hugging Face Hub is out of reach (no network, or
/// offline mode with the model not cached), says so on standard error and runs it on the demo model instead.
pub(crate) fn or_demo<T>(model: &str, load: impl Fn(&str) -> Result<T>) -> Result<T> {
    match load(model) {
        Err(err @ (Error::HubUnreachable { .. } | Error::NotCached { .. })) => {
            eprintln!("note: {model} cannot be had here: {err}");
            eprintln!("note: using the offline demo model instead: {}", demo::DEMO_DESCRIPTION);
            load(demo::DEMO_NAME)
        }
        other => other,
    }
}

impl FillMask {
    /// The lab's model: `BIASLAB_MODEL` (a hub id, a local directory, or `demo`) or else bert-base-uncased, on the
    /// CPU; when the hub cannot be reached, the offline demo model, with a note on standard error. Call
    /// [`FillMask::source`] to see which model is in use.
    pub fn from_env() -> Result<Self> {
        Self::from_pretrained_or_demo(&crate::env::model(), None, &Device::Cpu)
    }

    /// Loads a model on the CPU: a local directory, or a Hugging Face Hub id (downloaded into the standard cache;
    /// with `HF_HUB_OFFLINE=1`, from the cache only).
    pub fn from_pretrained(model: &str) -> Result<Self> {
        Self::from_pretrained_on(model, None, &Device::Cpu)
    }

    /// Loads a model at a hub `revision` (branch, tag or commit; ignored for a local directory) onto `device`.
    /// `"demo"` (when no directory of that name exists) is the offline demo model, as [`FillMask::demo`];
    /// `"demo-head-only"` its weaker sibling ([`demo::load_head_only`]).
    pub fn from_pretrained_on(model: &str, revision: Option<&str>, device: &Device) -> Result<Self> {
        match ModelSource::parse(model) {
            ModelSource::Demo => demo::load(device),
            ModelSource::DemoHeadOnly => demo::load_head_only(device),
            source @ (ModelSource::Dir(_) | ModelSource::Hub(_)) => {
                Ok(Self::from_files(&hub::resolve(model, revision)?, device)?.with_origin(source))
            }
        }
    }

    /// The offline demo model on the CPU: the all-MiniLM-L6-v2 encoder with the masked-LM head biaslab trained
    /// (see [`crate::model::demo`]). It needs no download of a masked language model.
    pub fn demo() -> Result<Self> {
        demo::load(&Device::Cpu)
    }

    /// Loads `model` as [`FillMask::from_pretrained_on`] does; if it cannot be had because the Hugging Face Hub is
    /// out of reach (no network, or offline mode with the model not cached), loads the demo model instead and says
    /// so on standard error. [`FillMask::source`] names the model in use.
    pub fn from_pretrained_or_demo(model: &str, revision: Option<&str>, device: &Device) -> Result<Self> {
        or_demo(model, |name| Self::from_pretrained_on(name, revision, device))
    }
}
