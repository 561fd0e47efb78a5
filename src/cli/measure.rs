//! `biaslab measure`: dataset measurements (lab 04) on the command line — composition, identity-term frequencies and
//! the nPMI gap of every word between two terms, streamed from text, JSON Lines, CSV or BOLD files.

use std::io::IsTerminal;
use std::path::PathBuf;

use biaslab::dataset::{self, Format, MeasureOptions, ReadOptions, TermList};
use clap::Args;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::cli::suites::{self, positive, OutputArgs};

/// `biaslab measure`.
#[derive(Args)]
pub struct MeasureArgs {
    /// The files to measure: plain text (a row per line), JSON Lines (.jsonl), CSV (.csv) or BOLD (.json).
    pub files: Vec<PathBuf>,
    /// Measure the two BOLD Wikipedia files (gender and profession), located like the other data (--data).
    #[arg(long)]
    pub bold: bool,
    /// Where the BOLD files are: a folder holding them or laid out as the lab's shared data. Default:
    /// $BIASLAB_DATA_DIR, else biaslab's cache, downloading them once.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// The files' format: auto (from the extension), text, jsonl, csv or bold.
    #[arg(long, default_value = "auto")]
    pub format: String,
    /// The JSON Lines key or CSV column holding the text.
    #[arg(long, default_value = "text")]
    pub field: String,
    /// Do not split rows into sentences: each row is one unit of co-occurrence.
    #[arg(long)]
    pub no_split: bool,
    /// The two identity terms to compare, as a,b: each a word or a term list's name (female, male, or one given
    /// with --terms).
    #[arg(long, default_value = "she,he")]
    pub pair: String,
    /// An extra term list, name=word,word,… (repeatable); the gender lists (female, male) are always measured.
    #[arg(long)]
    pub terms: Vec<String>,
    /// An extra term list from a file of one term per line, named after the file (repeatable).
    #[arg(long)]
    pub terms_file: Vec<PathBuf>,
    /// Words in fewer sentences are left out of the nPMI rows.
    #[arg(long, default_value_t = 10)]
    pub min_count: u64,
    /// How many top words, and words per side, to show.
    #[arg(long, default_value_t = 20)]
    pub top: usize,
    /// Keep stopwords in the nPMI rows and the top words.
    #[arg(long)]
    pub keep_stopwords: bool,
    /// The most distinct words kept in memory; past it the rarest are forgotten (the report says so).
    #[arg(long, default_value_t = MeasureOptions::default().max_vocab)]
    pub max_vocab: usize,
    /// Stop after N sentences.
    #[arg(long, value_parser = positive)]
    pub limit: Option<usize>,
    /// What to print (--json, or --csv: one row per word of the nPMI table) and the skew chart (--chart FILE).
    #[command(flatten)]
    pub output: OutputArgs,
    /// Also draw the identity-term frequencies into this file (.svg or .png).
    #[arg(long)]
    pub terms_chart: Option<PathBuf>,
}

/// A progress bar in bytes on standard error, drawn only when that is a terminal.
fn byte_progress() -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::with_draw_target(None, ProgressDrawTarget::hidden());
    }
    let bar = ProgressBar::new(0);
    if let Ok(style) = ProgressStyle::with_template(
        "{spinner} measuring [{bar:30}] {bytes}/{total_bytes} ({bytes_per_sec}, eta {eta})",
    ) {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Runs `biaslab measure`.
pub fn measure(args: MeasureArgs) -> biaslab::Result<()> {
    let mut files = args.files.clone();
    if args.bold {
        files.extend(dataset::bold_wikipedia(args.data.as_deref())?);
    }
    if files.is_empty() {
        return Err(biaslab::Error::NothingToMeasure {
            reason: "name one or more files (text, .jsonl, .csv, BOLD .json), or pass --bold to measure the BOLD \
                     Wikipedia files"
                .into(),
        });
    }
    let (a, b) = args.pair.split_once(',').ok_or_else(|| biaslab::Error::InvalidArgument {
        reason: format!("--pair {:?} is not two terms: write them as a,b (for example she,he)", args.pair),
    })?;
    let mut term_lists = TermList::gender();
    for spec in &args.terms {
        term_lists.push(TermList::parse(spec)?);
    }
    for path in &args.terms_file {
        term_lists.push(TermList::read(path)?);
    }
    let options = MeasureOptions {
        pair: (a.trim().to_string(), b.trim().to_string()),
        term_lists,
        min_count: args.min_count,
        top: args.top,
        keep_stopwords: args.keep_stopwords,
        max_vocab: args.max_vocab,
    };
    let read = ReadOptions {
        format: args.format.parse::<Format>()?,
        field: args.field.clone(),
        split_sentences: !args.no_split,
        limit: args.limit,
    };
    let progress = byte_progress();
    let report = dataset::measure_files_with(&files, &read, &options, &progress);
    progress.finish_and_clear();
    let report = report?;
    if let Some(path) = &args.terms_chart {
        report.chart_terms()?.save(path)?;
        eprintln!("wrote {}", path.display());
    }
    let top = args.top;
    suites::output(&report, &args.output, |r, w| r.write_csv(w), |r| r.chart_skew(top))
}
