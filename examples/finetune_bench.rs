//! Times one fine-tuning step of biaslab's `finetune::Trainer` on a bert-base-shaped model with random weights:
//! batch 8 × 32 tokens, BERT masking of 15 % of the tokens, every parameter trained, AdamW, clipping to 1.0, dropout
//! as the config says (0.1). tests/reference/finetune_bench.py does the same with PyTorch.
//!
//! RAYON_NUM_THREADS=2 cargo run --release --example finetune_bench -- [CONFIG_JSON] [--steps N] [--warmup N]
//!
//! CONFIG_JSON defaults to ../shared/models/bert-base-uncased/config.json; the thread count to 2 (set before candle
//! starts its thread pool). Prints one JSON object with the median and mean seconds per step.

use std::collections::HashMap;
use std::path::PathBuf;
use std::time::Instant;

use biaslab::config::Config;
use biaslab::finetune::{learning_rate, FinetuneOptions, Trainer};
use biaslab::mlm::MaskedBatch;
use biaslab::model::{Dropout, MaskedLm};
use candle_core::{DType, Device, Tensor};
use candle_nn::{VarBuilder, VarMap};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

const BATCH: usize = 8;
const LEN: usize = 32;
const MASK_PROBABILITY: f64 = 0.15;
const CLS: u32 = 101;
const SEP: u32 = 102;
const MASK: u32 = 103;

fn arg<T: std::str::FromStr>(args: &[String], name: &str, default: T) -> T {
    args.iter().position(|a| a == name).and_then(|i| args.get(i + 1)).and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// numpy's median.
fn median(mut xs: Vec<f64>) -> f64 {
    xs.sort_by(f64::total_cmp);
    let n = xs.len();
    if n % 2 == 1 {
        xs[n / 2]
    } else {
        (xs[n / 2 - 1] + xs[n / 2]) / 2.0
    }
}

/// Random weights as BERT initialises them: N(0, 0.02) for matrices and embeddings, LayerNorm weights 1, biases 0.
/// The names and shapes are what `MaskedLm::load` asks a `VarMap` for.
fn random_tensors(config: &Config, rng: &mut ChaCha8Rng) -> biaslab::Result<HashMap<String, Tensor>> {
    let varmap = VarMap::new();
    MaskedLm::load(VarBuilder::from_varmap(&varmap, DType::F32, &Device::Cpu), config)?;
    let data = varmap.data().lock().expect("the varmap");
    let mut tensors = HashMap::new();
    for (name, var) in data.iter() {
        let shape = var.shape().clone();
        let tensor = if name.ends_with("bias") {
            Tensor::zeros(shape, DType::F32, &Device::Cpu)?
        } else if name.contains("LayerNorm") {
            Tensor::ones(shape, DType::F32, &Device::Cpu)?
        } else {
            let values: Vec<f32> = (0..shape.elem_count())
                .map(|_| {
                    // Box-Muller
                    let (u, v): (f32, f32) = (rng.random::<f32>().max(1e-12), rng.random());
                    0.02 * (-2.0 * u.ln()).sqrt() * (std::f32::consts::TAU * v).cos()
                })
                .collect();
            Tensor::from_vec(values, shape, &Device::Cpu)?
        };
        tensors.insert(name.clone(), tensor);
    }
    // Tied, as in BERT: the decoder weight is the word embeddings (Trainer::from_tensors ties it anyway).
    let words = tensors["bert.embeddings.word_embeddings.weight"].clone();
    tensors.insert("cls.predictions.decoder.weight".into(), words);
    Ok(tensors)
}

/// 8 random sentences of 32 tokens ([CLS] … [SEP]) with BERT's masking: 15 % of the inner tokens chosen, 80 % of
/// those [MASK], 10 % a random token, 10 % kept.
fn random_batch(vocab: u32, rng: &mut ChaCha8Rng) -> biaslab::Result<MaskedBatch> {
    let (mut ids, mut positions, mut labels) = (Vec::new(), Vec::new(), Vec::new());
    for row in 0..BATCH {
        for i in 0..LEN {
            let id = match i {
                0 => CLS,
                i if i == LEN - 1 => SEP,
                _ => rng.random_range(1000..vocab),
            };
            if i == 0 || i == LEN - 1 || !rng.random_bool(MASK_PROBABILITY) {
                ids.push(id);
                continue;
            }
            positions.push((row * LEN + i) as u32);
            labels.push(id);
            let roll: f64 = rng.random();
            ids.push(if roll < 0.8 {
                MASK
            } else if roll < 0.9 {
                rng.random_range(0..vocab)
            } else {
                id
            });
        }
    }
    let n = positions.len();
    Ok(MaskedBatch {
        input_ids: Tensor::from_vec(ids, (BATCH, LEN), &Device::Cpu)?,
        attention_mask: Tensor::ones((BATCH, LEN), DType::U32, &Device::Cpu)?,
        positions: Tensor::from_vec(positions, n, &Device::Cpu)?,
        labels: Tensor::from_vec(labels, n, &Device::Cpu)?,
    })
}

fn main() -> biaslab::Result<()> {
    // As the biaslab command and the lab's kernel do (see `biaslab::env::OWN_PROCESS_SPIN_LIMIT`).
    biaslab::env::set_own_process_defaults();
    if std::env::var_os("RAYON_NUM_THREADS").is_none() {
        std::env::set_var("RAYON_NUM_THREADS", "2");
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let config_path = args.first().filter(|a| !a.starts_with("--")).map(PathBuf::from).unwrap_or_else(|| {
        PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/models/bert-base-uncased/config.json"))
    });
    let steps: usize = arg(&args, "--steps", 10);
    let warmup: usize = arg(&args, "--warmup", 2);
    let config = Config::from_file(&config_path)?;
    let mut rng = ChaCha8Rng::seed_from_u64(0);

    let start = Instant::now();
    let tensors = random_tensors(&config, &mut rng)?;
    let options = FinetuneOptions::default(); // lr 5e-5, weight decay 0.01, clip 1.0, nothing frozen
    let mut trainer = Trainer::from_tensors(tensors, &config, &options, &Device::Cpu)?;
    let init_s = start.elapsed().as_secs_f64();

    let total = warmup + steps;
    let (mut times, mut losses) = (Vec::new(), Vec::new());
    for step in 0..total {
        let batch = random_batch(config.vocab_size as u32, &mut rng)?;
        let lr = learning_rate(options.learning_rate, step, total, 1);
        let mut dropout =
            Dropout::new(config.hidden_dropout_prob as f32, config.attention_probs_dropout_prob as f32, step as u64);
        let start = Instant::now();
        let loss = trainer.train_step(&batch, lr, Some(&mut dropout))?;
        let seconds = start.elapsed().as_secs_f64();
        eprintln!("step {}: {seconds:.3} s, loss {loss:.3}", step + 1);
        losses.push(loss);
        if step >= warmup {
            times.push(seconds);
        }
    }
    let mean = times.iter().sum::<f64>() / times.len().max(1) as f64;
    let report = serde_json::json!({
        "framework": "candle (biaslab::finetune::Trainer)",
        "threads": candle_core::utils::get_num_threads(),
        "batch": BATCH,
        "len": LEN,
        "trainable_parameters": trainer.trainable_parameters(),
        "init_s": init_s,
        "warmup_steps": warmup,
        "timed_steps": times.len(),
        "median_s_per_step": median(times.clone()),
        "mean_s_per_step": mean,
        "step_s": times,
        "losses": losses,
    });
    println!("{report}");
    Ok(())
}
