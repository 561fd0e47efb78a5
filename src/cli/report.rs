//! `biaslab report`: measures a model and writes the bias sections of its model card (Markdown with the Hugging Face
//! metadata header), the same as an HTML page, the charts and the measurements as JSON.

use std::path::{Path, PathBuf};

use biaslab::report::{self, Measure, ModelCardReport, ReportOptions};
use clap::Args;

use crate::cli::suites::{positive, progress, ModelArgs};

/// `biaslab report`.
#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    pub model: ModelArgs,
    /// The folder to write README.md, bias_report.html, charts/ and measurements.json into (default:
    /// ./model_card_<model name>).
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// The data: a folder laid out as the lab's shared data (crows-pairs/, stereoset/, honest/). Default:
    /// $BIASLAB_DATA_DIR, else biaslab's cache, downloading it once.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Run only these measures (comma-separated): probe, crows-pairs, stereoset, seat, honest.
    #[arg(long, value_delimiter = ',')]
    pub only: Option<Vec<String>>,
    /// Leave out these measures (comma-separated).
    #[arg(long, value_delimiter = ',')]
    pub skip: Vec<String>,
    /// Score only N CrowS-Pairs pairs, evenly spaced through the file.
    #[arg(long, value_parser = positive)]
    pub crows_limit: Option<usize>,
    /// Score only N StereoSet intrasentence examples, evenly spaced.
    #[arg(long, value_parser = positive)]
    pub stereoset_limit: Option<usize>,
    /// Complete only N HONEST template rows, evenly spaced.
    #[arg(long, value_parser = positive)]
    pub honest_limit: Option<usize>,
    /// HONEST completions per template.
    #[arg(long, value_parser = positive, default_value_t = 20)]
    pub honest_k: usize,
    /// The built-in SEAT tests to run (comma-separated; default all): weat3, sent-weat3, …, sent-weat8.
    #[arg(long, value_delimiter = ',')]
    pub seat_tests: Option<Vec<String>>,
    /// Bootstrap resamples of the probe's and HONEST's intervals.
    #[arg(long, value_parser = positive, default_value_t = biaslab::stats::DEFAULT_SAMPLES)]
    pub samples: usize,
    /// The most partitions of SEAT's permutation test.
    #[arg(long, value_parser = positive, default_value_t = biaslab::suites::seat::DEFAULT_SAMPLES)]
    pub seat_samples: usize,
    /// The seed of every bootstrap and sampled permutation test.
    #[arg(long, default_value_t = biaslab::stats::DEFAULT_SEED)]
    pub seed: u64,
    /// Print the measurements as JSON on standard output instead of the summary.
    #[arg(long)]
    pub json: bool,
    /// Overwrite files in the output folder that biaslab did not write (or that were edited since).
    #[arg(long)]
    pub force: bool,
}

/// A folder name from a model name: letters, digits, `-`, `_` and `.` kept, everything else `_`.
fn sanitise(name: &str) -> String {
    let cleaned: String =
        name.chars().map(|c| if c.is_ascii_alphanumeric() || "-_.".contains(c) { c } else { '_' }).collect();
    let cleaned = cleaned.trim_matches(|c| c == '_' || c == '.').to_string();
    if cleaned.is_empty() {
        "model".into()
    } else {
        cleaned
    }
}

fn parse_measures(names: &[String]) -> biaslab::Result<Vec<Measure>> {
    names.iter().filter(|n| !n.trim().is_empty()).map(|n| n.parse()).collect()
}

/// Runs `biaslab report`.
pub fn report(args: ReportArgs) -> biaslab::Result<()> {
    let mut measures = match &args.only {
        Some(names) => parse_measures(names)?,
        None => Measure::ALL.to_vec(),
    };
    let skip = parse_measures(&args.skip)?;
    measures.retain(|m| !skip.contains(m));
    if measures.is_empty() {
        return Err(biaslab::Error::InvalidArgument {
            reason: "--only and --skip leave no measure to run: keep at least one of probe, crows-pairs, stereoset, \
                     seat and honest"
                .into(),
        });
    }
    let options = ReportOptions {
        measures,
        crows_limit: args.crows_limit,
        stereoset_limit: args.stereoset_limit,
        honest_limit: args.honest_limit,
        honest_k: args.honest_k,
        seat_tests: args.seat_tests.clone(),
        seat_samples: args.seat_samples,
        samples: args.samples,
        seed: args.seed,
        data: args.data.clone(),
    };
    let model = args.model.load()?;
    // The output folder is checked before the measures run (minutes), so a refusal comes at once.
    let short = ModelCardReport::model_name(&model);
    let dir = args.out.clone().unwrap_or_else(|| PathBuf::from(format!("model_card_{}", sanitise(&short))));
    let local_model = Path::new(&args.model.model);
    let mut inputs: Vec<&Path> = args.data.iter().map(PathBuf::as_path).collect();
    if local_model.is_dir() {
        inputs.push(local_model);
    }
    let mut out = ModelCardReport::open_output(&dir, &inputs, args.force)?;
    let bar = progress(0, "items");
    let card = report::evaluate(&model, &options, &bar)?;
    bar.finish_and_clear();
    for (measure, reason) in card.skipped() {
        if reason != "not requested" {
            eprintln!("warning: {} was not measured: {reason}", measure.title());
        }
    }
    if !card.any_run() {
        return Err(biaslab::Error::InvalidArgument {
            reason: "no measure could be run, so there is no card to write: fix what the warnings above say, then \
                     run again"
                .into(),
        });
    }
    let written = card.write_into(&mut out)?;
    for note in &written.notes {
        eprintln!("note: {note}");
    }
    eprintln!("wrote {}", written.card.display());
    eprintln!("wrote {}", written.html.display());
    eprintln!("wrote {}", written.json.display());
    for chart in &written.charts {
        eprintln!("wrote {}", chart.display());
    }
    if args.json {
        let json = serde_json::to_string_pretty(&card)
            .map_err(|err| biaslab::Error::Io { path: "<stdout>".into(), source: std::io::Error::other(err) })?;
        println!("{json}");
    } else {
        println!("{}", card.summary());
        println!("model card: {}", written.card.display());
    }
    Ok(())
}
