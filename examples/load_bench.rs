//! Times `FillMask::from_env()`, the notebooks' model load, as a fresh kernel pays it: once per process, with
//! biaslab's cache (the encoder's checksum and folder) as the set-up and earlier runs left it.
//! bench/kernel_start.py runs it a few times beside the kernels' cell times.
//!
//! BIASLAB_MODEL=demo cargo run --release --example load_bench
//! prints one JSON object: {"model": "demo …", "from_env_s": 0.14}

use std::time::Instant;

use biaslab::FillMask;

fn main() -> biaslab::Result<()> {
    // As the biaslab command and the lab's kernel do (see `biaslab::env::OWN_PROCESS_SPIN_LIMIT`).
    biaslab::env::set_own_process_defaults();
    let start = Instant::now();
    let unmasker = FillMask::from_env()?;
    let seconds = start.elapsed().as_secs_f64();
    println!("{}", serde_json::json!({ "model": unmasker.source().to_string(), "from_env_s": seconds }));
    Ok(())
}
