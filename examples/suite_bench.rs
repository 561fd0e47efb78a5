//! Times each lab-02 bias test on a model, batched (64 sequences per forward pass, the default) against one forward
//! pass per masked copy (`--batch-size 1` of the `biaslab` command), on the first N items of its dataset.
//!
//! cargo run --release --example suite_bench -- [--model demo|bert-base-shaped] [--limit N] [--data DIR] [--suite NAME]
//!
//! `bert-base-shaped` is bert-base-uncased's config and tokenizer (from ../shared/models/bert-base-uncased) with
//! random weights: the real model's cost without its weights, which cannot be had offline. Prints one JSON object
//! per suite (or only `--suite NAME`): items timed, seconds batched and unbatched, their ratio, and the full
//! dataset's size.

use std::path::{Path, PathBuf};
use std::time::Instant;

use biaslab::config::Config;
use biaslab::hub::TokenizerFiles;
use biaslab::suites::{crows_pairs, honest, stereoset, winobias};
use biaslab::{probe, FillMask, MaskedLm};
use candle_core::{DType, Device};
use candle_nn::{VarBuilder, VarMap};

fn bert_base_shaped(shared: &Path) -> biaslab::Result<FillMask> {
    let dir = shared.join("models/bert-base-uncased");
    let config = Config::from_file(&dir.join("config.json"))?;
    let varmap = VarMap::new();
    let model = MaskedLm::load(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu), &config)?;
    let tokenizer = biaslab::tokenizer::load(
        &TokenizerFiles::Json(dir.join("tokenizer.json")),
        Some(&dir.join("tokenizer_config.json")),
    )?;
    FillMask::from_parts(model, tokenizer, "bert-base-shaped (random weights)".into())
}

/// Seconds to run `f` once.
fn time(f: impl FnOnce() -> biaslab::Result<()>) -> biaslab::Result<f64> {
    let started = Instant::now();
    f()?;
    Ok(started.elapsed().as_secs_f64())
}

fn main() -> biaslab::Result<()> {
    // As the biaslab command and the lab's kernel do (see `biaslab::env::OWN_PROCESS_SPIN_LIMIT`).
    biaslab::env::set_own_process_defaults();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let value = |flag: &str| args.iter().position(|a| a == flag).and_then(|i| args.get(i + 1)).cloned();
    let model_name = value("--model").unwrap_or_else(|| "demo".into());
    let limit: usize = value("--limit").and_then(|n| n.parse().ok()).unwrap_or(50);
    let shared = PathBuf::from(value("--shared").unwrap_or_else(|| "../shared".into()));
    let data = PathBuf::from(value("--data").unwrap_or_else(|| shared.join("data").to_string_lossy().into()));
    let load = |batch: usize| -> biaslab::Result<FillMask> {
        let model = if model_name == "bert-base-shaped" {
            bert_base_shaped(&shared)?
        } else {
            FillMask::from_pretrained(&model_name)?
        };
        Ok(model.with_batch_size(batch))
    };
    let (batched, single) = (load(biaslab::scorer::DEFAULT_BATCH_SIZE)?, load(1)?);

    let pairs = crows_pairs::load(Some(&data))?;
    let examples: Vec<_> =
        stereoset::load(Some(&data))?.items.into_iter().filter(|e| e.task == stereoset::Task::Intrasentence).collect();
    let sentences = winobias::load(Some(&data), winobias::Split::Test)?.items;
    let templates = honest::load_templates(Some(&data), honest::TemplateSet::Binary)?.items;
    let lexicon = honest::Lexicon::load(Some(&data))?;
    let gender = probe::Probe::gender_occupations();
    let take = |n: usize| n.min(limit);
    // `--suite stereoset` times that suite alone; without it, every suite.
    let only = value("--suite");

    type Run<'a> = Box<dyn Fn(&FillMask, usize) -> biaslab::Result<()> + 'a>;
    let suites: Vec<(&str, usize, Run)> = vec![
        (
            "crows-pairs",
            pairs.items.len(),
            Box::new(|m: &FillMask, n: usize| {
                crows_pairs::evaluate(m, &pairs.items[..n], &crows_pairs::Options::default()).map(drop)
            }),
        ),
        (
            "stereoset",
            examples.len(),
            Box::new(|m: &FillMask, n: usize| {
                stereoset::evaluate(m, &examples[..n], &stereoset::Options::default()).map(drop)
            }),
        ),
        (
            "winobias",
            sentences.len(),
            Box::new(|m: &FillMask, n: usize| {
                winobias::evaluate(m, &sentences[..n], &winobias::Options::default()).map(drop)
            }),
        ),
        (
            "honest",
            templates.len(),
            Box::new(|m: &FillMask, n: usize| {
                honest::evaluate(m, &templates[..n], &lexicon, &honest::Options::default()).map(drop)
            }),
        ),
        (
            "probe",
            gender.templates.len(),
            Box::new(|m: &FillMask, n: usize| {
                let probe = probe::Probe { templates: gender.templates[..n].to_vec(), ..gender.clone() };
                probe::evaluate(m, &probe, "male", "female", &probe::ProbeOptions::default()).map(drop)
            }),
        ),
    ];
    for (name, full, run) in suites.iter().filter(|(name, ..)| only.as_deref().is_none_or(|o| o == *name)) {
        let n = take(*full);
        let seconds_batched = time(|| run(&batched, n))?;
        let seconds_single = time(|| run(&single, n))?;
        println!(
            "{}",
            serde_json::json!({
                "suite": name, "model": model_name, "items": n, "full_dataset_items": full,
                "batched_s": seconds_batched, "one_pass_per_mask_s": seconds_single,
                "ratio_single_over_batched": seconds_single / seconds_batched,
                "full_dataset_batched_s_estimate": seconds_batched * *full as f64 / n as f64,
            })
        );
    }
    Ok(())
}
