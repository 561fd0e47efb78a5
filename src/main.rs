//! The `biaslab` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use biaslab::demo::{self, TrainOptions};
use biaslab::{device, format_table, FillMask, FillOptions, PipelineOutput};
use clap::{Args, Parser, Subcommand};

/// A teaching lab about bias in machine-learning models.
#[derive(Parser)]
#[command(name = "biaslab", version, about)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Fill in the mask of each text with a masked language model, as transformers' fill-mask pipeline does.
    Fill(FillArgs),
    /// The offline demo model (all-MiniLM-L6-v2 with a masked-LM head trained by biaslab).
    #[command(subcommand, name = "demo-model")]
    DemoModel(DemoCommand),
}

#[derive(Subcommand)]
enum DemoCommand {
    /// Train the demo model's head on the BOLD Wikipedia sentences and write it with its provenance.
    Train(TrainArgs),
    /// Measure the committed demo head on the held-out sentences again and compare with its provenance.
    Eval(EvalArgs),
}

#[derive(Args)]
struct EvalArgs {
    /// Directory holding gender_wiki.json and profession_wiki.json (default as for `train`).
    #[arg(long)]
    corpus: Option<PathBuf>,
}

#[derive(Args)]
struct TrainArgs {
    /// Directory holding gender_wiki.json and profession_wiki.json (default: ../shared/data/bold/wikipedia when it
    /// exists, else biaslab's cache, downloading them from the BOLD repository).
    #[arg(long)]
    corpus: Option<PathBuf>,
    /// Where to write demo_mlm.safetensors and provenance.json.
    #[arg(long, default_value = "assets/demo")]
    out: PathBuf,
    #[arg(long, default_value_t = TrainOptions::default().seed)]
    seed: u64,
    #[arg(long, default_value_t = TrainOptions::default().epochs)]
    epochs: usize,
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    lr: f64,
    #[arg(long, default_value_t = TrainOptions::default().batch_size)]
    batch_size: usize,
    /// How many top encoder layers to retrain with the head.
    #[arg(long, default_value_t = TrainOptions::default().train_layers)]
    train_layers: usize,
    #[arg(long, default_value_t = TrainOptions::default().dropout)]
    dropout: f32,
    #[arg(long, default_value_t = TrainOptions::default().max_len)]
    max_len: usize,
    /// Stop after this many steps (a quick trial).
    #[arg(long)]
    max_steps: Option<usize>,
}

#[derive(Args)]
struct FillArgs {
    /// Texts with a mask token ([MASK]; <mask> for RoBERTa models — either works for any model).
    #[arg(required = true)]
    texts: Vec<String>,

    /// A Hugging Face Hub model id, a local model directory, or `demo` (the offline demo model).
    #[arg(long, env = "BIASLAB_MODEL", default_value = "bert-base-uncased")]
    model: String,

    /// The hub revision (branch, tag or commit) to download.
    #[arg(long)]
    revision: Option<String>,

    /// How many predictions per mask.
    #[arg(long, default_value_t = 5)]
    top_k: usize,

    /// Score only these words (comma-separated), as the pipeline's `targets`.
    #[arg(long, value_delimiter = ',')]
    targets: Option<Vec<String>>,

    /// Print the pipeline's JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// Where to run the model: cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    device: String,

    /// How many texts go through the model at once.
    #[arg(long, default_value_t = 32)]
    batch_size: usize,

    /// Fail instead of falling back to the offline demo model when the hub cannot be reached.
    #[arg(long)]
    no_demo_fallback: bool,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fill(args) => fill(args),
        Command::DemoModel(DemoCommand::Train(args)) => train_demo(args),
        Command::DemoModel(DemoCommand::Eval(args)) => eval_demo(args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn fill(args: FillArgs) -> biaslab::Result<()> {
    let device = device::by_name(&args.device)?;
    let unmasker = if args.no_demo_fallback {
        FillMask::from_pretrained_on(&args.model, args.revision.as_deref(), &device)?
    } else {
        FillMask::from_pretrained_or_demo(&args.model, args.revision.as_deref(), &device)?
    };
    let options = FillOptions { top_k: args.top_k, targets: args.targets, batch_size: args.batch_size };
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let results = unmasker.fill_batch(&texts, &options)?;
    if args.json {
        print_json(results)
    } else {
        print_tables(&unmasker, &texts, &results);
        Ok(())
    }
}

/// One text: the pipeline's output for it; several texts: a list of those, as the pipeline returns for a list.
fn print_json(results: Vec<Vec<Vec<biaslab::Prediction>>>) -> biaslab::Result<()> {
    let mut outputs: Vec<PipelineOutput> = results.into_iter().map(PipelineOutput::from).collect();
    let json = if outputs.len() == 1 {
        serde_json::to_string_pretty(&outputs.remove(0))
    } else {
        serde_json::to_string_pretty(&outputs)
    };
    println!("{}", json.expect("predictions serialize to JSON"));
    Ok(())
}

fn print_tables(unmasker: &FillMask, texts: &[&str], results: &[Vec<Vec<biaslab::Prediction>>]) {
    println!("model: {}", unmasker.source());
    for (text, per_mask) in texts.iter().zip(results) {
        for (i, predictions) in per_mask.iter().enumerate() {
            let which = if per_mask.len() > 1 { format!(" (mask {} of {})", i + 1, per_mask.len()) } else { String::new() };
            println!("\n{text}{which}");
            print!("{}", format_table(predictions));
        }
    }
}

fn train_demo(args: TrainArgs) -> biaslab::Result<()> {
    let options = TrainOptions {
        seed: args.seed,
        epochs: args.epochs,
        learning_rate: args.lr,
        batch_size: args.batch_size,
        train_layers: args.train_layers,
        dropout: args.dropout,
        max_len: args.max_len,
        max_steps: args.max_steps,
        ..TrainOptions::default()
    };
    let corpus = args.corpus.or_else(default_corpus);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let provenance = demo::train(corpus.as_deref(), &args.out, &options, &command)?;
    let (before, after) = (provenance.untrained, provenance.trained);
    println!("trained {} steps in {:.0} s; wrote {}", provenance.steps, provenance.train_seconds, args.out.display());
    println!("held-out ({} sentences, {} masked tokens)", provenance.held_out_sentences, after.masked_tokens.masked_tokens);
    print_metrics(&[("untrained head", before), ("trained (f16)", after)]);
    Ok(())
}

/// The shared BOLD Wikipedia directory beside the project, when there is one.
fn default_corpus() -> Option<PathBuf> {
    let shared = std::env::var_os("BIASLAB_SHARED").map(PathBuf::from).unwrap_or_else(|| "../shared".into());
    Some(shared.join("data/bold/wikipedia")).filter(|dir| dir.is_dir())
}

fn print_metrics(rows: &[(&str, demo::DemoMetrics)]) {
    println!("{:<16} {:>8} {:>8} {:>8} {:>10}", "", "top-1", "top-5", "loss", "pseudo-PPL");
    for (name, m) in rows {
        println!(
            "{:<16} {:>7.2}% {:>7.2}% {:>8.4} {:>10.2}",
            name,
            100.0 * m.masked_tokens.top1,
            100.0 * m.masked_tokens.top5,
            m.masked_tokens.loss,
            m.pseudo_perplexity
        );
    }
}

fn eval_demo(args: EvalArgs) -> biaslab::Result<()> {
    let (now, provenance) = demo::evaluate_committed(args.corpus.or_else(default_corpus).as_deref())?;
    println!("demo head: {} held-out sentences, {} masked tokens", provenance.held_out_sentences, now.masked_tokens.masked_tokens);
    print_metrics(&[("provenance", provenance.trained), ("measured now", now)]);
    Ok(())
}
