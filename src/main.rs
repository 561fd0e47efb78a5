//! The `biaslab` command line.

use std::process::ExitCode;

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
}

#[derive(Args)]
struct FillArgs {
    /// Texts with a mask token ([MASK]; <mask> for RoBERTa models — either works for any model).
    #[arg(required = true)]
    texts: Vec<String>,

    /// A Hugging Face Hub model id or a local model directory.
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
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command {
        Command::Fill(args) => fill(args),
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
    let unmasker = FillMask::from_pretrained_on(&args.model, args.revision.as_deref(), &device)?;
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
