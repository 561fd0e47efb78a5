//! The environment, read in one place: every variable biaslab reads (its own `BIASLAB_*`, the Hugging Face `HF_*`
//! it shares with the Python `huggingface_hub`, and the few others it honours), the default model, and the caches'
//! locations. Other modules ask here; none reads a variable itself. An empty value counts as unset.
//!
//! Which *model* a name stands for (`demo`, a directory, a hub id) is decided by [`crate::model::choose`], from the
//! name this module gives.

use std::path::PathBuf;

/// The model the lab uses when [`MODEL`] is not set.
pub const DEFAULT_MODEL: &str = "bert-base-uncased";

/// The model of the notebooks and of the command line's default: a hub id, a local directory, or `demo`.
pub const MODEL: &str = "BIASLAB_MODEL";
/// A second model for lab 02's comparison (default: the demo model's head-only sibling).
pub(crate) const SECOND_MODEL: &str = "BIASLAB_SECOND_MODEL";
/// A local folder holding the benchmarks' data, laid out as the lab's shared data folder.
pub(crate) const DATA_DIR: &str = "BIASLAB_DATA_DIR";
/// biaslab's own cache of downloaded data and small records (default: `~/.cache/biaslab`).
pub(crate) const CACHE: &str = "BIASLAB_CACHE";
/// A local copy of the all-MiniLM-L6-v2 encoder the demo model is built on.
pub(crate) const MINILM_DIR: &str = "BIASLAB_MINILM_DIR";
/// The one Python interpreter asked for the encoder's pip package.
pub const PYTHON: &str = "BIASLAB_PYTHON";
/// The lab's shared folder of models and data (default: `../shared`), used by the command that checks a set-up.
pub(crate) const SHARED: &str = "BIASLAB_SHARED";
/// Set to keep each graded submission's run folder for inspection.
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) const GRADE_KEEP_RUNS: &str = "BIASLAB_GRADE_KEEP_RUNS";
/// Set by the grader for its driver inside the sandbox: the most output kept of one cell, in bytes.
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) const CELL_OUTPUT_LIMIT: &str = "BIASLAB_CELL_OUTPUT_LIMIT";
/// Set by the grader for its driver inside the sandbox: the prefix of a check's recorded verdict.
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) const RESULT_PREFIX: &str = "BIASLAB_RESULT_PREFIX";
/// Set by the grader for its driver inside the sandbox: the user the kernel drops to.
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) const KERNEL_UID: &str = "BIASLAB_KERNEL_UID";
/// The size of candle's CPU thread pool.
pub(crate) const THREADS: &str = "RAYON_NUM_THREADS";

/// How many times an idle worker of candle's element-wise thread pool checks for work before it sleeps (candle's
/// default: 25,000).
pub const CANDLE_SPIN_LIMIT: &str = "CANDLE_BARRIER_POOL_SPIN_LIMIT";
/// The [`CANDLE_SPIN_LIMIT`] of the processes biaslab owns (the `biaslab` command; the lab's kernel sets the same in
/// `lab/kernel.py`) when the user has not set it. With candle's default, that pool's worker spins while rayon's
/// threads multiply matrices: three busy threads on two cores. `bench/profile.md` measured a lower limit: CrowS-Pairs
/// 3–7 % faster, the 64-sentence batch faster in most runs, one sentence and a fine-tuning step unchanged.
pub const OWN_PROCESS_SPIN_LIMIT: u32 = 1000;

/// Offline mode, as in the Python `huggingface_hub`: nothing is downloaded.
pub const HF_HUB_OFFLINE: &str = "HF_HUB_OFFLINE";
/// The Hugging Face hub cache itself.
pub const HF_HUB_CACHE: &str = "HF_HUB_CACHE";
/// The Hugging Face home folder (the hub cache is its `hub/`).
pub const HF_HOME: &str = "HF_HOME";
/// Another hub address (a mirror).
pub const HF_ENDPOINT: &str = "HF_ENDPOINT";
/// A hub access token (else the token the Hugging Face CLI stored).
pub(crate) const HF_TOKEN: &str = "HF_TOKEN";

/// The value of variable `name`, trimmed, or `None` when it is unset, empty or not Unicode.
pub fn var(name: &str) -> Option<String> {
    std::env::var(name).ok().map(|value| value.trim().to_string()).filter(|value| !value.is_empty())
}

/// The path in variable `name`, or `None` when it is unset or empty.
pub fn path(name: &str) -> Option<PathBuf> {
    std::env::var_os(name).filter(|value| !value.is_empty()).map(PathBuf::from)
}

/// Whether variable `name` is set at all (even empty).
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) fn is_set(name: &str) -> bool {
    std::env::var_os(name).is_some()
}

/// The lab's model name: [`MODEL`] if set, else [`DEFAULT_MODEL`].
pub fn model() -> String {
    var(MODEL).unwrap_or_else(|| DEFAULT_MODEL.to_string())
}

/// Whether [`HF_HUB_OFFLINE`] asks for offline mode (`1`, `true`, `yes` or `on`, any case).
pub fn offline_mode() -> bool {
    var(HF_HUB_OFFLINE).is_some_and(|value| matches!(value.to_ascii_lowercase().as_str(), "1" | "true" | "yes" | "on"))
}

/// The threads `THREADS` asks for, if it is set to a positive number.
pub fn threads() -> Option<usize> {
    var(THREADS).and_then(|value| value.parse::<usize>().ok()).filter(|&n| n > 0)
}

/// Settings for a process biaslab owns, made before it starts any thread: [`CANDLE_SPIN_LIMIT`] becomes
/// [`OWN_PROCESS_SPIN_LIMIT`] unless the user set it (an empty value counts as unset). For a program's `main` only:
/// a library must not change its process's environment, where other threads may be reading it.
pub fn set_own_process_defaults() {
    if var(CANDLE_SPIN_LIMIT).is_none() {
        std::env::set_var(CANDLE_SPIN_LIMIT, OWN_PROCESS_SPIN_LIMIT.to_string());
    }
}

/// The user's cache folder: `$XDG_CACHE_HOME`, else `~/.cache` (`./.cache` without `HOME`).
fn user_cache() -> PathBuf {
    path("XDG_CACHE_HOME").unwrap_or_else(|| path("HOME").unwrap_or_else(|| PathBuf::from(".")).join(".cache"))
}

/// biaslab's data cache: `$BIASLAB_CACHE`, else `$XDG_CACHE_HOME/biaslab`, else `~/.cache/biaslab`.
pub fn cache_dir() -> PathBuf {
    path(CACHE).unwrap_or_else(|| user_cache().join("biaslab"))
}

/// The Hugging Face hub cache, found as the Python `huggingface_hub` finds it (so both share one cache):
/// `$HF_HUB_CACHE`, else `$HF_HOME/hub`, else `$XDG_CACHE_HOME/huggingface/hub`, else `~/.cache/huggingface/hub`.
pub(crate) fn hub_cache_dir() -> PathBuf {
    path(HF_HUB_CACHE)
        .or_else(|| path(HF_HOME).map(|home| home.join("hub")))
        .unwrap_or_else(|| user_cache().join("huggingface").join("hub"))
}

/// The lab's shared folder: `$BIASLAB_SHARED`, else `../shared`.
pub fn shared_dir() -> PathBuf {
    path(SHARED).unwrap_or_else(|| PathBuf::from("../shared"))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The lab's kernel sets the spin limit the `biaslab` command sets.
    #[test]
    fn the_kernel_sets_the_same_spin_limit() {
        let kernel = include_str!("../lab/kernel.py");
        assert!(kernel.contains(&format!("CANDLE_SPIN_LIMIT = \"{CANDLE_SPIN_LIMIT}\"\n")));
        assert!(kernel.contains(&format!("OWN_PROCESS_SPIN_LIMIT = \"{OWN_PROCESS_SPIN_LIMIT}\"\n")));
        assert!(kernel.contains("env[CANDLE_SPIN_LIMIT] = OWN_PROCESS_SPIN_LIMIT"));
    }

    #[test]
    fn an_empty_or_blank_value_counts_as_unset() {
        // A name no one sets, so the test does not race the others over a real variable.
        let name = "BIASLAB_TEST_ENV_ONLY_IN_THIS_TEST";
        assert_eq!(var(name), None);
        std::env::set_var(name, "  ");
        assert_eq!(var(name), None);
        std::env::set_var(name, " demo ");
        assert_eq!(var(name).as_deref(), Some("demo"));
        std::env::remove_var(name);
    }
}
