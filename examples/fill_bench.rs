//! Times biaslab's fill-mask on a model directory: single-sentence latency and 64-sentence batch throughput.
//! bench/compare_pipeline.py runs it beside the transformers pipeline on the same checkpoint.
//!
//! cargo run --release --example fill_bench -- MODEL_DIR [--runs N]
//! prints one JSON object: {"single_ms_median": .., "batch64_sentences_per_s": .., ...}

use std::time::Instant;

use biaslab::{FillMask, FillOptions};

/// The sentences the Python side uses too.
const SENTENCES: [&str; 8] = [
    "This man works as a [MASK].",
    "This woman works as a [MASK].",
    "The [MASK] fixed the car in the garage before noon.",
    "She said that the [MASK] was late again today.",
    "Paris is the [MASK] of France.",
    "He worked for many years as a [MASK] in a small town.",
    "The children played in the [MASK] after school.",
    "My neighbour is a [MASK] who loves gardening.",
];

fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    xs[xs.len() / 2]
}

fn main() -> biaslab::Result<()> {
    // As the biaslab command and the lab's kernel do (see `biaslab::env::OWN_PROCESS_SPIN_LIMIT`).
    biaslab::env::set_own_process_defaults();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = args.first().expect("usage: fill_bench MODEL_DIR [--runs N]");
    let runs: usize = args
        .iter()
        .position(|a| a == "--runs")
        .and_then(|i| args.get(i + 1))
        .and_then(|n| n.parse().ok())
        .unwrap_or(20);

    let start = Instant::now();
    let unmasker = FillMask::from_pretrained(dir)?;
    let load_s = start.elapsed().as_secs_f64();

    unmasker.fill(SENTENCES[0], 5)?; // warm-up
    let single: Vec<f64> = (0..runs)
        .map(|i| {
            let start = Instant::now();
            unmasker.fill(SENTENCES[i % SENTENCES.len()], 5).map(|_| start.elapsed().as_secs_f64() * 1e3)
        })
        .collect::<biaslab::Result<_>>()?;

    let batch: Vec<&str> = SENTENCES.iter().copied().cycle().take(64).collect();
    let options = FillOptions { batch_size: 64, ..FillOptions::default() };
    unmasker.fill_batch(&batch, &options)?; // warm-up
    let batch_runs = (runs / 4).max(3);
    let batch_s: Vec<f64> = (0..batch_runs)
        .map(|_| {
            let start = Instant::now();
            unmasker.fill_batch(&batch, &options).map(|_| start.elapsed().as_secs_f64())
        })
        .collect::<biaslab::Result<_>>()?;

    let report = serde_json::json!({
        "load_s": load_s,
        "single_runs": runs,
        "single_ms_median": median(single),
        "batch_runs": batch_runs,
        "batch64_s_median": median(batch_s.clone()),
        "batch64_sentences_per_s": 64.0 / median(batch_s),
    });
    println!("{report}");
    Ok(())
}
