//! Times lab 03's measurement cell (`mitigate::measure` with the notebook's options: the probes, 40 CrowS-Pairs
//! pairs, the 255 StereoSet gender examples, masked-token accuracy and pseudo-perplexity on held-out BOLD text) on the
//! model `BIASLAB_MODEL` names, never from biaslab's cache of measures. Each step's start goes to standard error.
//!
//! BIASLAB_MODEL=demo cargo run --release --example measure_bench
//! prints one JSON object: {"model": "demo …", "measure_s": 37.2}
//!
//! Built with the notebooks' kernel's profile, to see what the kernel pays (evcxr's `opt-level` 2 and, for its
//! dependencies, lab/kernel.py's `.cargo/config.toml`; add `CARGO_PROFILE_DEV_DEBUG_ASSERTIONS=true
//! CARGO_PROFILE_DEV_OVERFLOW_CHECKS=true` for plain evcxr's):
//!
//! CARGO_PROFILE_DEV_OPT_LEVEL=2 CARGO_PROFILE_DEV_DEBUG=false CARGO_PROFILE_DEV_DEBUG_ASSERTIONS=false \
//!   CARGO_PROFILE_DEV_OVERFLOW_CHECKS=false cargo build --example measure_bench --target-dir target/kernel-profile

use std::time::Instant;

use biaslab::finetune::BaseModel;
use biaslab::mitigate::{self, EvalData};

fn main() -> biaslab::Result<()> {
    // As the biaslab command and the lab's kernel do (see `biaslab::env::OWN_PROCESS_SPIN_LIMIT`).
    biaslab::env::set_own_process_defaults();
    let base = BaseModel::from_env()?;
    let options = biaslab::lab03::notebook_options(&base);
    let text = mitigate::mitigation_text(Some(mitigate::bold_sentences(None)?), &options, None)?;
    let eval = EvalData::load(None, text.held_out.clone(), &options.eval)?;
    let model = base.fill_mask()?;
    let start = Instant::now();
    let measures = mitigate::measure(&model, &eval, &options.eval)?;
    let seconds = start.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({ "model": measures.model, "measure_s": seconds }));
    Ok(())
}
