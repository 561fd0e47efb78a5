//! How much of lab 03's result is chance: the notebook's fine-tuning (CDA and the plain control) with several
//! training seeds, each measured as the notebook measures, and the spread of every measure over the seeds.
//!
//! BIASLAB_MODEL=demo RAYON_NUM_THREADS=2 cargo run --example lab03_seeds -- [--seeds 42,7,8] [--data DIR]
//!
//! The same cells as `notebooks/03_mitigation.ipynb` (`lab03::notebook_options`, its sample of BOLD, its held-out
//! sentences and measures); only `finetune.seed` changes (the masking, the order of the sentences and the dropout;
//! the 2,000 sentences sampled stay the same). Checkpoints and measures go into biaslab's cache as the notebook's
//! do (one folder per seed, as the settings' hash includes it), so a second run only prints. Prints one table per
//! method and the spread (lowest, highest, and the largest change between two seeds) for lab 03's handout.
//! (The dev profile is enough: every dependency is optimized, see Cargo.toml.)

use std::path::PathBuf;

use biaslab::finetune::BaseModel;
use biaslab::lab03;
use biaslab::mitigate::{self, EvalData, Measures, Method};

fn arg(args: &[String], name: &str) -> Option<String> {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).cloned()
}

fn main() -> biaslab::Result<()> {
    // As the biaslab command and the lab's kernel do (see `biaslab::env::OWN_PROCESS_SPIN_LIMIT`).
    biaslab::env::set_own_process_defaults();
    let args: Vec<String> = std::env::args().skip(1).collect();
    let seeds: Vec<u64> = arg(&args, "--seeds")
        .unwrap_or_else(|| "42,7,8".into())
        .split(',')
        .map(|s| s.trim().parse().expect("--seeds takes numbers separated by commas"))
        .collect();
    let data = arg(&args, "--data").map(PathBuf::from);
    let base = BaseModel::from_env()?;
    let notebook = lab03::notebook_options(&base);
    let sentences = mitigate::bold_sentences(data.as_deref())?;
    let before_model = base.fill_mask()?;
    let mut eval = None;
    let mut before = None;
    for method in [Method::Cda, Method::Plain] {
        let mut runs: Vec<(u64, Measures)> = Vec::new();
        for &seed in &seeds {
            let mut options = if method == Method::Cda { notebook.clone() } else { lab03::control_options(&notebook) };
            options.finetune.seed = seed;
            let given = (method == Method::Cda).then(|| sentences.clone());
            let text = mitigate::mitigation_text(given, &options, data.as_deref())?;
            if eval.is_none() {
                // The held-out sentences are the same for every method and seed (a fixed share of the sample).
                let loaded = EvalData::load(data.as_deref(), text.held_out.clone(), &options.eval)?;
                before = Some(lab03::measure(&before_model, &base.weights_sha256, &loaded, &options.eval)?);
                eval = Some(loaded);
            }
            let eval = eval.as_ref().expect("loaded above");
            eprintln!("{method}, seed {seed}: fine-tuning");
            let run = lab03::finetune(&base, &text, &options)?;
            let model = run.load(&format!("{} + {method}, seed {seed}", base.name), &base.device)?;
            let measures = lab03::measure(&model, &run.weights_sha256()?, eval, &notebook.eval)?;
            runs.push((seed, measures));
        }
        let before = before.as_ref().expect("measured above");
        let mut columns = vec![before];
        columns.extend(runs.iter().map(|(_, m)| m));
        println!("{method}, seeds {seeds:?}:\n{}\n", lab03::table(&columns));
        println!("{:<26} {:>9} {:>9} {:>9} {:>12}", "measure", "before", "lowest", "highest", "widest gap");
        type Pick = fn(&Measures) -> f64;
        let picks: [(&str, Pick); 7] = [
            ("probe gap (nats)", |m| m.probe_gap),
            ("probe gap, names (nats)", |m| m.names_gap),
            ("CrowS-Pairs gender", |m| m.crows_gender),
            ("StereoSet gender SS", |m| m.stereoset_ss),
            ("StereoSet gender LMS", |m| m.stereoset_lms),
            ("pseudo-perplexity", |m| m.pseudo_perplexity),
            ("masked-token top-1 (%)", |m| 100.0 * m.masked_top1),
        ];
        for (name, pick) in picks {
            let values: Vec<f64> = runs.iter().map(|(_, m)| pick(m)).collect();
            let low = values.iter().copied().fold(f64::INFINITY, f64::min);
            let high = values.iter().copied().fold(f64::NEG_INFINITY, f64::max);
            println!("{name:<26} {:>9.3} {low:>9.3} {high:>9.3} {:>12.3}", pick(before), high - low);
        }
        println!();
    }
    Ok(())
}
