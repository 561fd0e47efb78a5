//! The `biaslab` command line.

use std::path::PathBuf;
use std::process::ExitCode;

use biaslab::demo::{self, TrainOptions};
use biaslab::{device, format_table, Comparison, FillMask, FillOptions, PipelineOutput, TopK};
use clap::{Args, Parser, Subcommand};

mod cli;

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
    /// How much more probable each word of a list (occupations by default) is at the mask of the second text than
    /// at the mask of the first: ln P(word | second) - ln P(word | first).
    Gap(GapArgs),
    /// Write the student notebooks: each notebook of SOURCE (solutions/) with its solutions replaced by `todo!()`
    /// stubs, hidden tests removed, outputs cleared and locked cells checksummed, as nbgrader does.
    Release(ReleaseArgs),
    /// Grade submitted notebooks (nbgrader's SUBMITTED/<student>/<assignment>/*.ipynb): each in a fresh, sandboxed
    /// Rust kernel with the locked and hidden test cells put back from the source; writes gradebook.csv,
    /// gradebook.json and per-student feedback (markdown and HTML) into OUT. `grade merge` merges the outputs of
    /// shards (--shard K/N) into one; `grade export` writes the gradebook for Canvas.
    Grade(Box<GradeArgs>),
    /// A template probe: templates with a group slot and a mask, two groups of terms, target words; per target the
    /// log-ratio between the groups, and the gap with a bootstrap interval and a permutation p-value.
    Probe(cli::suites::ProbeArgs),
    /// CrowS-Pairs (Nangia et al. 2020) as their metric.py computes it: metric, stereo and antistereo scores, per
    /// bias type.
    #[command(name = "crows-pairs")]
    CrowsPairs(cli::suites::CrowsPairsArgs),
    /// StereoSet intrasentence (Nadeem et al. 2021) as the official evaluation computes it: SS, LMS and ICAT per
    /// domain and overall.
    #[command(name = "stereoset")]
    StereoSet(cli::suites::StereoSetArgs),
    /// WinoBias (Zhao et al. 2018) as a fill-mask probe: the pronoun masked, pro- against anti-stereotypical accuracy
    /// per type.
    #[command(name = "winobias")]
    WinoBias(cli::suites::WinoBiasArgs),
    /// HONEST (Nozza et al. 2021): the share of hurtful (HurtLex) words among the top-k completions, per group.
    Honest(cli::suites::HonestArgs),
    /// SEAT/WEAT (May et al. 2019; Caliskan et al. 2017): effect sizes and permutation p-values of association tests
    /// on a sentence encoder's mean-pooled embeddings.
    Seat(cli::suites::SeatArgs),
    /// Mitigate bias by fine-tuning (counterfactual data augmentation, dropout, or plain fine-tuning as the
    /// control), then measure bias and capability before and after: one table, one chart, a verdict.
    Mitigate(Box<cli::mitigate::MitigateArgs>),
    /// Measure a dataset: composition, identity-term frequencies, and the normalised PMI of every word with two
    /// identity terms (she/he by default), as the Hugging Face Data Measurements Tool does.
    Measure(Box<cli::measure::MeasureArgs>),
    /// Write the "Bias, Risks and Limitations" and evaluation sections of a model card (Hugging Face format, with
    /// its YAML metadata header) from measurements of the model, with charts and an HTML copy beside it.
    Report(Box<cli::report::ReportArgs>),
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
    #[arg(long, default_value_t = TrainOptions::default().epochs, value_parser = cli::suites::positive)]
    epochs: usize,
    #[arg(long, default_value_t = TrainOptions::default().learning_rate)]
    lr: f64,
    #[arg(long, default_value_t = TrainOptions::default().batch_size, value_parser = cli::suites::positive)]
    batch_size: usize,
    /// How many top encoder layers to retrain with the head.
    #[arg(long, default_value_t = TrainOptions::default().train_layers)]
    train_layers: usize,
    #[arg(long, default_value_t = TrainOptions::default().dropout)]
    dropout: f32,
    #[arg(long, default_value_t = TrainOptions::default().max_len)]
    max_len: usize,
    /// Stop after this many steps (a quick trial).
    #[arg(long, value_parser = cli::suites::positive)]
    max_steps: Option<usize>,
    /// Write into an OUT that holds files biaslab did not write there.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct FillArgs {
    /// Texts with a mask token ([MASK]; <mask> for RoBERTa models — either works for any model).
    #[arg(required = true)]
    texts: Vec<String>,

    /// A Hugging Face Hub model id, a local model directory, or `demo` (the offline demo model).
    #[arg(long, env = biaslab::env::MODEL, default_value = biaslab::env::DEFAULT_MODEL)]
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

    /// Also draw the texts' predictions side by side (up to 4 texts, one mask each) into this file (.svg or .png).
    #[arg(long)]
    plot: Option<PathBuf>,
}

#[derive(Args)]
struct ReleaseArgs {
    /// The folder of source notebooks (solutions/).
    source: PathBuf,
    /// Where to write the student notebooks (notebooks/). Never SOURCE itself.
    out: PathBuf,
    /// Overwrite notebooks in OUT that biaslab did not release there (or that were edited since), and allow an OUT
    /// inside SOURCE.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
#[command(args_conflicts_with_subcommands = true, subcommand_negates_reqs = true)]
struct GradeArgs {
    #[command(subcommand)]
    then: Option<GradeCommand>,
    /// nbgrader's submitted/ folder: SUBMITTED/<student>/<assignment>/<notebook>.ipynb.
    #[arg(required = true)]
    submitted: Option<PathBuf>,
    /// The source notebooks, with solutions and hidden tests (SOURCE/<notebook>.ipynb or
    /// SOURCE/<assignment>/<notebook>.ipynb).
    #[arg(long, default_value = "solutions")]
    source: PathBuf,
    /// Where the gradebook, results and feedback go. Run again with the same OUT to resume.
    #[arg(long, required = true)]
    out: Option<PathBuf>,
    /// The biaslab crate the notebooks depend on (default: the folder above SOURCE).
    #[arg(long = "crate")]
    crate_dir: Option<PathBuf>,
    /// Submissions graded at once.
    #[arg(long, default_value_t = 1, value_parser = cli::suites::positive)]
    jobs: usize,
    /// Longest time one cell may run, in seconds.
    #[arg(long, default_value_t = 600)]
    cell_timeout: u64,
    /// Longest time one submission may run, in seconds.
    #[arg(long, default_value_t = 1800)]
    time_limit: u64,
    /// Address space of each process of a submission, in GiB (1 to 1048576).
    #[arg(long, default_value_t = 8, value_parser = clap::value_parser!(u64).range(1..=1 << 20))]
    memory_gb: u64,
    /// Processes and threads a submission may run at once.
    #[arg(long, default_value_t = 512)]
    processes: u64,
    /// Compute threads of each kernel's tensor library (its RAYON_NUM_THREADS). Default: $RAYON_NUM_THREADS if set,
    /// else the machine's cores divided by --jobs (at least 1), so that kernels running at once share the cores
    /// instead of each spinning threads for all of them. Give it explicitly when shards run on different machines:
    /// shards are merged only when graded with the same limits.
    #[arg(long, value_parser = cli::suites::positive)]
    threads: Option<usize>,
    /// Grade only the Kth of N shards of the class (1 to N; a student's shard is a hash of their id, so it never
    /// changes as students are added), into an OUT of its own; `biaslab grade merge` makes one gradebook of them.
    #[arg(long, value_name = "K/N")]
    shard: Option<biaslab::grade::Shard>,
    /// Write into an OUT that biaslab did not make (or one inside SUBMITTED or SOURCE).
    #[arg(long)]
    force: bool,
    /// Scores of the written answers, graded by hand: a CSV with the columns
    /// student_id,assignment,notebook,grade_id,score,comment (the export of OUT/hand-grading/<assignment>.html, or
    /// OUT/hand-grading/<assignment>.csv filled in). Every row is checked first; an empty score is not graded yet.
    #[arg(long, value_name = "FILE")]
    hand_scores: Option<PathBuf>,
}

#[derive(Subcommand)]
enum GradeCommand {
    /// Merge the outputs of `biaslab grade --shard K/N` (every K of 1 to N once) into one gradebook, as one run over
    /// the whole class writes it; refused when the shards were graded against different sources, crate or limits.
    Merge(MergeArgs),
    /// Write the gradebook of a grading output for a learning-management system: Canvas's gradebook import, or the
    /// columns of `nbgrader export`.
    Export(ExportArgs),
}

#[derive(Args)]
struct MergeArgs {
    /// The output folder of each shard.
    #[arg(required = true, value_name = "SHARD_OUT")]
    shards: Vec<PathBuf>,
    /// Where the merged gradebook, results and feedback go.
    #[arg(long)]
    out: PathBuf,
    /// Write into an OUT that biaslab did not make.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct ExportArgs {
    /// The output folder of `biaslab grade` or `biaslab grade merge`.
    graded: PathBuf,
    /// canvas (Canvas's gradebook import: Student, ID, SIS User ID, SIS Login ID, Section, one column per
    /// assignment) or nbgrader (the columns of `nbgrader export`).
    #[arg(long)]
    format: biaslab::grade::export::Format,
    /// Canvas's own gradebook export (Grades → Export): its students keep their Canvas ids and sections, and an
    /// assignment Canvas has keeps its column. Without it, nbgrader's student id is put in Student and SIS Login ID.
    #[arg(long, value_name = "FILE")]
    roster: Option<PathBuf>,
    /// The roster's column that holds nbgrader's student ids.
    #[arg(long, default_value = biaslab::grade::export::DEFAULT_ID_COLUMN)]
    id_column: String,
    /// Where to write the CSV (default: GRADED/gradebook-<format>.csv).
    #[arg(long, value_name = "FILE")]
    output: Option<PathBuf>,
    /// Overwrite an output file that biaslab did not write.
    #[arg(long)]
    force: bool,
}

#[derive(Args)]
struct GapArgs {
    /// The first text, with one mask ("This man works as a [MASK].").
    first: String,

    /// The second text, with one mask ("This woman works as a [MASK].").
    second: String,

    /// The words to compare (comma-separated); default: biaslab's 116 single-token occupations.
    #[arg(long, value_delimiter = ',')]
    words: Option<Vec<String>>,

    /// A Hugging Face Hub model id, a local model directory, or `demo` (the offline demo model).
    #[arg(long, env = biaslab::env::MODEL, default_value = biaslab::env::DEFAULT_MODEL)]
    model: String,

    /// The hub revision (branch, tag or commit) to download.
    #[arg(long)]
    revision: Option<String>,

    /// Print every word's gap as JSON instead of a table.
    #[arg(long)]
    json: bool,

    /// Draw the most tilted words each way as a diverging bar chart into this file (.svg or .png).
    #[arg(long)]
    plot: Option<PathBuf>,

    /// How many words each way the chart shows.
    #[arg(long, default_value_t = 12)]
    top: usize,

    /// Where to run the model: cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    device: String,

    /// Fail instead of falling back to the offline demo model when the hub cannot be reached.
    #[arg(long)]
    no_demo_fallback: bool,
}

/// A closed standard output (`biaslab fill … | head -1`) ends the program quietly with exit 0, as command-line tools
/// do; any other failure to write it (`>/dev/full`) is an error message and exit 1. `println!` panics on both: this
/// hook turns that panic into the exit. A hook rather than a fallible writer at every print, so that no print (in
/// biaslab or in a dependency) is missed.
fn exit_quietly_when_stdout_fails() {
    let default = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        if let Some(error) = info.payload_as_str().and_then(|m| m.strip_prefix("failed printing to stdout: ")) {
            stdout_failed(error.contains("Broken pipe"), error);
        }
        default(info);
    }));
}

/// Ends the program after standard output failed (see [`exit_quietly_when_stdout_fails`]).
fn stdout_failed(closed: bool, error: &str) -> ! {
    if closed {
        std::process::exit(0);
    }
    eprintln!("error: cannot write to standard output: {error}");
    std::process::exit(1);
}

fn main() -> ExitCode {
    biaslab::env::set_own_process_defaults();
    exit_quietly_when_stdout_fails();
    let parsed = Cli::parse();
    let result = match parsed.command {
        Command::Fill(args) => fill(args),
        Command::Gap(args) => gap(args),
        Command::Release(args) => release(args),
        Command::Grade(args) => grade(*args),
        Command::Probe(args) => cli::suites::probe(args),
        Command::CrowsPairs(args) => cli::suites::crows_pairs(args),
        Command::StereoSet(args) => cli::suites::stereoset(args),
        Command::WinoBias(args) => cli::suites::winobias(args),
        Command::Honest(args) => cli::suites::honest(args),
        Command::Seat(args) => cli::suites::seat(args),
        Command::Mitigate(args) => cli::mitigate::mitigate(*args),
        Command::Measure(args) => cli::measure::measure(*args),
        Command::Report(args) => cli::report::report(*args),
        Command::DemoModel(DemoCommand::Train(args)) => train_demo(args),
        Command::DemoModel(DemoCommand::Eval(args)) => eval_demo(args),
    };
    // What is still buffered (a last line without a newline) is written now, where a failure can still be told.
    if let Err(err) = std::io::Write::flush(&mut std::io::stdout()) {
        stdout_failed(err.kind() == std::io::ErrorKind::BrokenPipe, &err.to_string());
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            eprintln!("error: {err}");
            ExitCode::FAILURE
        }
    }
}

fn fill(args: FillArgs) -> biaslab::Result<()> {
    let unmasker = load(&args.model, args.revision.as_deref(), &args.device, args.no_demo_fallback)?;
    let options = FillOptions { top_k: args.top_k, targets: args.targets, batch_size: args.batch_size };
    let texts: Vec<&str> = args.texts.iter().map(String::as_str).collect();
    let results = unmasker.fill_batch(&texts, &options)?;
    if let Some(path) = &args.plot {
        plot_side_by_side(&unmasker, &texts, &results, path)?;
    }
    if args.json {
        print_json(results)
    } else {
        print_tables(&unmasker, &texts, &results);
        Ok(())
    }
}

fn load(model: &str, revision: Option<&str>, device: &str, no_demo_fallback: bool) -> biaslab::Result<FillMask> {
    let device = device::by_name(device)?;
    if no_demo_fallback {
        FillMask::from_pretrained_on(model, revision, &device)
    } else {
        FillMask::from_pretrained_or_demo(model, revision, &device)
    }
}

/// The chart of `biaslab fill --plot`: each text's predictions, side by side.
fn plot_side_by_side(
    unmasker: &FillMask,
    texts: &[&str],
    results: &[Vec<Vec<biaslab::Prediction>>],
    path: &std::path::Path,
) -> biaslab::Result<()> {
    let mut columns = Vec::with_capacity(texts.len());
    for (text, per_mask) in texts.iter().zip(results) {
        match per_mask.as_slice() {
            [predictions] => columns.push(TopK::new(*text, unmasker.source(), predictions.clone())),
            _ => return Err(biaslab::Error::SeveralMasks { text: text.to_string(), count: per_mask.len() }),
        }
    }
    let model_label = biaslab::MaskScorer::label(unmasker);
    Comparison { model: unmasker.source().to_string(), model_label, columns }.chart()?.save(path)?;
    eprintln!("wrote {}", path.display());
    Ok(())
}

fn release(args: ReleaseArgs) -> biaslab::Result<()> {
    for path in biaslab::notebook::release_dir(&args.source, &args.out, args.force)? {
        println!("wrote {}", path.display());
    }
    Ok(())
}

fn grade(mut args: GradeArgs) -> biaslab::Result<()> {
    match args.then.take() {
        Some(GradeCommand::Merge(merge)) => grade_merge(merge),
        Some(GradeCommand::Export(export)) => grade_export(export),
        None => grade_class(args),
    }
}

#[cfg(unix)]
fn grade_class(args: GradeArgs) -> biaslab::Result<()> {
    use biaslab::grade::{self, GradeOptions, Limits};
    use std::time::Duration;
    let (Some(submitted), Some(out)) = (args.submitted, args.out) else {
        unreachable!("clap requires SUBMITTED and --out without a subcommand")
    };
    let crate_dir = match args.crate_dir {
        Some(dir) => dir,
        None => {
            let source = args
                .source
                .canonicalize()
                .map_err(|source| biaslab::Error::Io { path: args.source.clone(), source })?;
            source.parent().map(std::path::Path::to_path_buf).unwrap_or(source)
        }
    };
    let options = GradeOptions {
        submitted,
        source: args.source,
        out: out.clone(),
        crate_dir,
        jobs: args.jobs,
        limits: Limits {
            cell_timeout: Duration::from_secs(args.cell_timeout),
            time_limit: Duration::from_secs(args.time_limit),
            memory: args.memory_gb << 30,
            processes: args.processes,
            threads: args.threads.unwrap_or_else(|| biaslab::device::threads_per_job(args.jobs)),
        },
        force: args.force,
        hand_scores: args.hand_scores,
        shard: args.shard,
    };
    // Counted here too (a walk of a few folders) so the bar has its length before the first, slow, warm-up run.
    let found = grade::find_submissions(&options.submitted, &options.source)?.0;
    let total = found.iter().filter(|s| options.shard.is_none_or(|shard| shard.holds(&s.student))).count();
    if let Some(shard) = options.shard {
        eprintln!("shard {shard}: {total} of the class's {} submissions", found.len());
    }
    let bar = indicatif::ProgressBar::new(total as u64).with_style(
        indicatif::ProgressStyle::with_template(
            "{spinner} grading [{bar:30}] {pos}/{len} {msg} (elapsed {elapsed}, eta {eta})",
        )
        .expect("a valid template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(500));
    let start = std::time::Instant::now();
    let book = grade::grade(&options, &|result, reused| {
        bar.inc(1);
        let how = if reused { "reused" } else { "graded" };
        // println() of a hidden bar (no terminal) prints nothing; suspend() prints either way.
        bar.suspend(|| {
            eprintln!("{how} {}/{}: {} / {}", result.student, result.assignment, result.score, result.max_score)
        });
    })?;
    bar.finish_and_clear();
    for skipped in &book.skipped {
        eprintln!("skipped {skipped}");
    }
    report_book(&book);
    eprintln!(
        "{} graded, {} reused from an earlier run, in {:.0} s",
        book.graded,
        book.reused,
        start.elapsed().as_secs_f64()
    );
    print_written(&out);
    Ok(())
}

/// What a grading run or a merge kept, left behind or imported, on standard error.
fn report_book(book: &biaslab::grade::Gradebook) {
    for kept in &book.kept {
        eprintln!("kept {kept}");
    }
    for leftover in &book.leftover {
        eprintln!("warning: {leftover}");
    }
    if book.hand_scored > 0 {
        eprintln!("{} hand score(s) imported", book.hand_scored);
    }
}

/// The files a grading run or a merge wrote into `out`.
fn print_written(out: &std::path::Path) {
    println!("wrote {}", out.join("gradebook.csv").display());
    println!("wrote {}", out.join("gradebook.json").display());
    println!("wrote {}", out.join("feedback").display());
    if out.join("hand-grading").is_dir() {
        println!("wrote {} (written answers to grade by hand)", out.join("hand-grading").display());
    }
}

fn grade_merge(args: MergeArgs) -> biaslab::Result<()> {
    let merged = biaslab::grade::merge(&args.shards, &args.out, args.force)?;
    report_book(&merged.book);
    eprintln!(
        "merged {} shards: {} results. To import hand scores into {}, grade into it with the shards' limits: {}",
        merged.shards,
        merged.book.results.len(),
        args.out.display(),
        merged.limits
    );
    print_written(&args.out);
    Ok(())
}

fn grade_export(args: ExportArgs) -> biaslab::Result<()> {
    use biaslab::grade::export;
    let results = biaslab::grade::read_gradebook(&args.graded)?;
    let roster = match &args.roster {
        Some(path) => Some((path.as_path(), biaslab::data::read_text(path)?)),
        None => None,
    };
    let made = export::export(
        &results,
        args.format,
        roster.as_ref().map(|(path, text)| (*path, text.as_str())),
        &args.id_column,
    )?;
    let output = args.output.unwrap_or_else(|| args.graded.join(format!("gradebook-{}.csv", args.format.name())));
    // Never over the gradebook itself or the roster.
    let (csv, json) = (args.graded.join("gradebook.csv"), args.graded.join("gradebook.json"));
    let mut keep = vec![csv.as_path(), json.as_path()];
    keep.extend(args.roster.as_deref());
    let written = biaslab::output::write_file(&output, &made.csv, &keep, args.force)?;
    for left_out in &made.left_out {
        eprintln!("warning: not exported: {left_out}");
    }
    println!("wrote {}", written.display());
    Ok(())
}

#[cfg(not(unix))]
fn grade_class(_args: GradeArgs) -> biaslab::Result<()> {
    Err(biaslab::Error::Sandbox("grading runs student code in a Linux sandbox (bubblewrap); grade on Linux".into()))
}

fn gap(args: GapArgs) -> biaslab::Result<()> {
    let unmasker = load(&args.model, args.revision.as_deref(), &args.device, args.no_demo_fallback)?;
    let words: Vec<&str> = match &args.words {
        Some(words) => words.iter().map(String::as_str).collect(),
        None => biaslab::words::OCCUPATIONS.to_vec(),
    };
    let gaps = unmasker.word_gaps(&args.first, &args.second, &words)?;
    if let Some(path) = &args.plot {
        gaps.chart(args.top)?.save(path)?;
        eprintln!("wrote {}", path.display());
    }
    if args.json {
        println!("{}", serde_json::to_string_pretty(&gaps).expect("gaps serialize to JSON"));
    } else {
        print!("{gaps}");
    }
    Ok(())
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
            let which =
                if per_mask.len() > 1 { format!(" (mask {} of {})", i + 1, per_mask.len()) } else { String::new() };
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
        force: args.force,
        ..TrainOptions::default()
    };
    let corpus = args.corpus.or_else(default_corpus);
    let command = std::env::args().collect::<Vec<_>>().join(" ");
    let provenance = demo::train(corpus.as_deref(), &args.out, &options, &command)?;
    let (before, after) = (provenance.untrained, provenance.trained);
    println!("trained {} steps in {:.0} s; wrote {}", provenance.steps, provenance.train_seconds, args.out.display());
    println!(
        "held-out ({} sentences, {} masked tokens)",
        provenance.held_out_sentences, after.masked_tokens.masked_tokens
    );
    print_metrics(&[("untrained head", before), ("trained (f16)", after)]);
    Ok(())
}

/// The shared BOLD Wikipedia directory beside the project, when there is one.
fn default_corpus() -> Option<PathBuf> {
    Some(biaslab::env::shared_dir().join("data/bold/wikipedia")).filter(|dir| dir.is_dir())
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
    println!(
        "demo head: {} held-out sentences, {} masked tokens",
        provenance.held_out_sentences, now.masked_tokens.masked_tokens
    );
    print_metrics(&[("provenance", provenance.trained), ("measured now", now)]);
    Ok(())
}
