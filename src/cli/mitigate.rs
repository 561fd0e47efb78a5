//! `biaslab mitigate`: fine-tune a model with a mitigation (CDA, dropout, or plain fine-tuning as the control) and
//! report bias and capability before and after.

use std::path::PathBuf;

use biaslab::finetune::FinetuneOptions;
use biaslab::mitigate::{self, EvalOptions, Method, MitigateOptions};
use biaslab::suites::crows_pairs::Variant;
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};

use crate::cli::suites::{positive, OutputArgs};

/// `biaslab mitigate`.
#[derive(Args)]
pub struct MitigateArgs {
    /// A Hugging Face Hub model id, a local model directory, or `demo` (the offline demo model).
    #[arg(long, env = biaslab::env::MODEL, default_value = biaslab::env::DEFAULT_MODEL)]
    pub model: String,
    /// The mitigation: cda (counterfactual data augmentation), dropout (Webster et al. 2020) or plain (fine-tuning
    /// alone, the control).
    #[arg(long, default_value = "cda")]
    pub method: Method,
    /// Where the checkpoint goes (a model directory `--model` loads). Default: biaslab's cache,
    /// mitigations/<model>-<method>. A finished run there is reused; an unfinished one resumed.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Training text, one sentence per line. Default: the BOLD Wikipedia sentences (from --data).
    #[arg(long)]
    pub corpus: Option<PathBuf>,
    /// The data: a folder laid out as the lab's shared data (bold/wikipedia/, crows-pairs/, stereoset/). Default:
    /// $BIASLAB_DATA_DIR, else biaslab's cache, downloading once.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Train on at most this many of the original sentences (before augmentation): a random sample of them, the
    /// same for every method (seeded), never the first N.
    #[arg(long, value_parser = positive)]
    pub max_sentences: Option<usize>,
    /// Every N-th sentence is held out for the capability measures (20: the demo head's held-out split).
    #[arg(long, default_value_t = 20)]
    pub held_out_every: usize,
    /// Passes over the training text.
    #[arg(long, value_parser = positive, default_value_t = 1)]
    pub epochs: usize,
    /// Stop after this many steps.
    #[arg(long)]
    pub max_steps: Option<usize>,
    /// Stop after this many steps in this run (with a checkpoint) and resume on the next run.
    #[arg(long, value_parser = positive)]
    pub pause_after: Option<usize>,
    /// Write the checkpoint into a folder inside the model's folder, or over files there that biaslab did not write.
    #[arg(long)]
    pub force: bool,
    /// Peak learning rate (AdamW).
    #[arg(long, default_value_t = 5e-5)]
    pub lr: f64,
    /// Share of the steps spent warming up.
    #[arg(long, default_value_t = 0.1)]
    pub warmup: f64,
    /// AdamW's weight decay.
    #[arg(long, default_value_t = 0.01)]
    pub weight_decay: f64,
    /// Sentences per step.
    #[arg(long, value_parser = positive, default_value_t = 8)]
    pub batch_size: usize,
    /// Sentences are cut to this many tokens.
    #[arg(long, value_parser = positive, default_value_t = 128)]
    pub max_len: usize,
    /// Gradients are clipped to this global norm.
    #[arg(long, default_value_t = 1.0)]
    pub clip_norm: f64,
    /// Freeze the embeddings (and the tied decoder).
    #[arg(long)]
    pub freeze_embeddings: bool,
    /// Freeze the lowest N encoder layers.
    #[arg(long, default_value_t = 0)]
    pub freeze_layers: usize,
    /// Dropout in training (default: the model config's; the dropout method uses 0.20 for hidden states, 0.15 for attention).
    #[arg(long)]
    pub dropout: Option<f32>,
    /// Seed of shuffling, masking and dropout.
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Save a checkpoint every N steps.
    #[arg(long, default_value_t = 100)]
    pub checkpoint_every: usize,
    /// Score only the first N CrowS-Pairs gender pairs (default: all 262).
    #[arg(long, value_parser = positive)]
    pub crows_limit: Option<usize>,
    /// How CrowS-Pairs scores sentences: nangia (metric.py) or bias-bench.
    #[arg(long, default_value = "nangia")]
    pub crows_variant: Variant,
    /// Score only the first N StereoSet gender examples.
    #[arg(long, value_parser = positive)]
    pub stereoset_limit: Option<usize>,
    /// Held-out sentences for pseudo-perplexity (a forward pass per token).
    #[arg(long, default_value_t = 100)]
    pub pppl_sentences: usize,
    /// Where to train: cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Fine-tune only; skip the before/after measures.
    #[arg(long)]
    pub no_eval: bool,
    #[command(flatten)]
    pub out_args: OutputArgs,
}

impl MitigateArgs {
    fn options(&self) -> MitigateOptions {
        MitigateOptions {
            method: self.method,
            finetune: FinetuneOptions {
                seed: self.seed,
                epochs: self.epochs,
                max_steps: self.max_steps,
                learning_rate: self.lr,
                warmup: self.warmup,
                weight_decay: self.weight_decay,
                batch_size: self.batch_size,
                max_len: self.max_len,
                clip_norm: self.clip_norm,
                freeze_embeddings: self.freeze_embeddings,
                freeze_layers: self.freeze_layers,
                dropout: self.dropout,
                checkpoint_every: self.checkpoint_every,
                pause_after: self.pause_after,
                force: self.force,
                ..FinetuneOptions::default()
            },
            eval: EvalOptions {
                crows_limit: self.crows_limit,
                crows_variant: self.crows_variant,
                stereoset_limit: self.stereoset_limit,
                pppl_sentences: self.pppl_sentences,
                max_len: self.max_len,
                ..EvalOptions::default()
            },
            held_out_every: self.held_out_every,
            max_sentences: self.max_sentences,
        }
    }
}

fn training_bar() -> ProgressBar {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} fine-tuning [{bar:30}] {pos}/{len} steps, {msg} (elapsed {elapsed}, eta {eta})",
        )
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar
}

/// `biaslab mitigate`.
pub fn mitigate(args: MitigateArgs) -> biaslab::Result<()> {
    let device = biaslab::device::by_name(&args.device)?;
    let options = args.options();
    let out = args.out.clone().unwrap_or_else(|| mitigate::default_out(&args.model, args.method));
    let sentences = args.corpus.as_deref().map(mitigate::text_sentences).transpose()?;
    let bar = training_bar();
    if args.no_eval || args.pause_after.is_some() {
        let run = mitigate::finetune_only(&args.model, sentences, &options, &out, args.data.as_deref(), &bar, &device)?;
        eprintln!("{}", run.summary());
        if args.out_args.json {
            let json = serde_json::to_string_pretty(&run)
                .map_err(|err| biaslab::Error::Io { path: "<stdout>".into(), source: std::io::Error::other(err) })?;
            println!("{json}");
        } else {
            println!("{}", run.summary());
        }
        return Ok(());
    }
    let report = mitigate::run_on(&args.model, sentences, &options, &out, args.data.as_deref(), &bar, &device)?;
    crate::cli::suites::output(&report, &args.out_args, |r, w| r.write_csv(w), |r| r.chart())
}
