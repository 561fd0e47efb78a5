//! The bias tests of lab 02 on the command line: `biaslab probe`, `crows-pairs`, `stereoset`, `winobias`, `honest`
//! and `seat`. Each prints a table (or `--json`, or `--csv` rows), can draw its chart (`--chart FILE`), reads its
//! data from `--data PATH` (a file, or a folder laid out as the lab's shared data) or downloads it, and shows a
//! progress bar on a terminal.

use std::path::{Path, PathBuf};

use biaslab::{device, FillMask};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use serde::Serialize;

/// The model a bias test runs on.
#[derive(Args)]
pub struct ModelArgs {
    /// A Hugging Face Hub model id, a local model directory, `demo` (the offline demo model) or `demo-head-only`.
    #[arg(long, env = biaslab::env::MODEL, default_value = biaslab::env::DEFAULT_MODEL)]
    pub model: String,
    /// The hub revision (branch, tag or commit) to download.
    #[arg(long)]
    pub revision: Option<String>,
    /// Where to run the model: cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    /// Sequences per forward pass (1: one forward pass per masked copy).
    #[arg(long, default_value_t = biaslab::scorer::DEFAULT_BATCH_SIZE)]
    pub batch_size: usize,
    /// Fail instead of falling back to the offline demo model when the hub cannot be reached.
    #[arg(long)]
    pub no_demo_fallback: bool,
}

impl ModelArgs {
    /// Loads the model, saying on standard error which one it is.
    pub fn load(&self) -> biaslab::Result<FillMask> {
        let device = device::by_name(&self.device)?;
        let model = if self.no_demo_fallback {
            FillMask::from_pretrained_on(&self.model, self.revision.as_deref(), &device)?
        } else {
            FillMask::from_pretrained_or_demo(&self.model, self.revision.as_deref(), &device)?
        };
        eprintln!("model: {}", model.source());
        Ok(model.with_batch_size(self.batch_size))
    }
}

/// What a bias test prints and writes.
#[derive(Args)]
pub struct OutputArgs {
    /// Print the report as JSON instead of a table.
    #[arg(long, conflicts_with = "csv")]
    pub json: bool,
    /// Print one CSV row per item (pair, sentence, template…) instead of a table.
    #[arg(long)]
    pub csv: bool,
    /// Also draw the report's chart into this file (.svg or .png).
    #[arg(long)]
    pub chart: Option<PathBuf>,
}

/// Where a benchmark's data comes from, and how much of it to use.
#[derive(Args)]
pub struct DataArgs {
    /// The data: a file, or a folder laid out as the lab's shared data (crows-pairs/, stereoset/, winobias/,
    /// honest/). Default: $BIASLAB_DATA_DIR, else biaslab's cache, downloading it once.
    #[arg(long)]
    pub data: Option<PathBuf>,
    /// Use only the first N items (WinoBias: of each of its four files).
    #[arg(long, value_parser = positive)]
    pub limit: Option<usize>,
}

impl DataArgs {
    /// The data path given, if any.
    pub fn path(&self) -> Option<&Path> {
        self.data.as_deref()
    }
}

/// A count that must be at least 1 (a limit, a number of resamples): 0 is refused when the command line is read,
/// rather than measuring nothing or computing an interval from no resample.
pub fn positive(text: &str) -> Result<usize, String> {
    match text.trim().parse::<usize>() {
        Ok(0) => Err("must be at least 1".into()),
        Ok(n) => Ok(n),
        Err(err) => Err(format!("not a whole number ({err})")),
    }
}

/// `items` when there are any; else an error saying what left none: the filter (`flag` and the value given, when
/// `before_filter` holds items), naming the values the data does hold (`value` of each), or else the data itself.
pub fn some_left<T>(
    items: Vec<T>,
    before_filter: &[T],
    what: &str,
    filter: Option<(&str, &str)>,
    value: impl Fn(&T) -> &str,
) -> biaslab::Result<Vec<T>> {
    if !items.is_empty() {
        return Ok(items);
    }
    let reason = match filter {
        Some((flag, wanted)) if !before_filter.is_empty() => {
            let mut values: Vec<&str> = before_filter.iter().map(&value).collect();
            values.sort_unstable();
            values.dedup();
            format!("no {what} has {flag} {wanted:?}; the data holds: {}", values.join(", "))
        }
        _ => format!("the data holds no usable {what} (see the rows skipped above)"),
    };
    Err(biaslab::Error::NothingToMeasure { reason })
}

/// A progress bar of `len` steps on standard error (hidden when that is not a terminal).
pub fn progress(len: usize, what: &str) -> ProgressBar {
    let bar = ProgressBar::new(len as u64);
    bar.set_style(
        ProgressStyle::with_template(&format!(
            "{{spinner}} {what} [{{bar:30}}] {{pos}}/{{len}} (elapsed {{elapsed}}, eta {{eta}})"
        ))
        .expect("a valid progress template")
        .progress_chars("=> "),
    );
    bar
}

/// Prints `report` as the output arguments ask: JSON, CSV rows (`write_csv`), or its text table; then draws its
/// chart if asked.
pub fn output<R: Serialize + std::fmt::Display>(
    report: &R,
    out: &OutputArgs,
    write_csv: impl FnOnce(&R, &mut dyn std::io::Write) -> biaslab::Result<()>,
    chart: impl FnOnce(&R) -> biaslab::Result<biaslab::Chart>,
) -> biaslab::Result<()> {
    if let Some(path) = &out.chart {
        chart(report)?.save(path)?;
        eprintln!("wrote {}", path.display());
    }
    if out.json {
        let json = serde_json::to_string_pretty(report)
            .map_err(|err| biaslab::Error::Io { path: "<stdout>".into(), source: std::io::Error::other(err) })?;
        println!("{json}");
    } else if out.csv {
        write_csv(report, &mut std::io::stdout().lock())?;
    } else {
        println!("{report}");
    }
    Ok(())
}

/// `biaslab probe`.
#[derive(Args)]
pub struct ProbeArgs {
    /// The built-in group set: gender, race, religion or age.
    #[arg(long, default_value = "gender")]
    pub groups: String,
    /// Group A (default: the set's first group: male, black, christian, young).
    #[arg(long)]
    pub a: Option<String>,
    /// Group B (default: the set's second group).
    #[arg(long)]
    pub b: Option<String>,
    /// The targets: `occupations`, `adjectives`, or comma-separated words.
    #[arg(long, default_value = "occupations")]
    pub targets: String,
    /// The templates: `occupations`, `adjectives`, or a file with one template per line ([GROUP] and [MASK]).
    #[arg(long)]
    pub templates: Option<String>,
    /// Kurita et al.'s prior-normalised score instead of ln P(target).
    #[arg(long)]
    pub normalise: bool,
    /// Bootstrap resamples (and the permutation test's budget).
    #[arg(long, value_parser = positive, default_value_t = biaslab::stats::DEFAULT_SAMPLES)]
    pub samples: usize,
    /// The seed of the bootstrap and of a sampled permutation test.
    #[arg(long, default_value_t = biaslab::stats::DEFAULT_SEED)]
    pub seed: u64,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `biaslab probe`.
pub fn probe(args: ProbeArgs) -> biaslab::Result<()> {
    use biaslab::probe::{self, groups, targets, templates, Probe, ProbeOptions};
    let group_set = match args.groups.as_str() {
        "gender" => groups::gender(),
        "race" => groups::race(),
        "religion" => groups::religion(),
        "age" => groups::age(),
        other => {
            return Err(biaslab::Error::InvalidArgument {
                reason: format!("{other:?} is not a built-in group set: use gender, race, religion or age"),
            })
        }
    };
    let default_templates = if args.targets == "adjectives" { "adjectives" } else { "occupations" };
    let template_list = match args.templates.as_deref().unwrap_or(default_templates) {
        "occupations" => templates::occupations(),
        "adjectives" => templates::adjectives(),
        file => biaslab::data::read_text(Path::new(file))?
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .map(String::from)
            .collect(),
    };
    let target_list = match args.targets.as_str() {
        "occupations" => targets::occupations(),
        "adjectives" => targets::adjectives(),
        words => words.split(',').map(|w| w.trim().to_string()).filter(|w| !w.is_empty()).collect(),
    };
    let name = |given: &Option<String>, index: usize| {
        given.clone().or_else(|| group_set.get(index).map(|g| g.name.clone())).unwrap_or_default()
    };
    let (a, b) = (name(&args.a, 0), name(&args.b, 1));
    let probe = Probe { templates: template_list, groups: group_set.clone(), targets: target_list };
    let model = args.model.load()?;
    let options =
        ProbeOptions { samples: args.samples, seed: args.seed, normalise: args.normalise, ..ProbeOptions::default() };
    let bar = progress(probe.templates.len(), "templates");
    let report = probe::evaluate_with(&model, &probe, &a, &b, &options, &bar)?;
    bar.finish_and_clear();
    output(&report, &args.out, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab crows-pairs`.
#[derive(Args)]
pub struct CrowsPairsArgs {
    /// How sentences are scored: `nangia` (metric.py, the default) or `bias-bench` (mean log-probability of the
    /// modified tokens).
    #[arg(long, default_value = "nangia")]
    pub variant: biaslab::suites::crows_pairs::Variant,
    /// Only pairs of this bias type (race-color, gender, religion, …).
    #[arg(long)]
    pub bias_type: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `biaslab crows-pairs`.
pub fn crows_pairs(args: CrowsPairsArgs) -> biaslab::Result<()> {
    use biaslab::suites::crows_pairs;
    let loaded = crows_pairs::load(args.data.path())?;
    eprintln!("{}", loaded.summary());
    let all = loaded.items;
    let wanted = |p: &&crows_pairs::Pair| args.bias_type.as_ref().is_none_or(|k| &p.bias_type == k);
    let mut pairs: Vec<_> = all.iter().filter(wanted).cloned().collect();
    if let Some(n) = args.data.limit {
        pairs.truncate(n);
    }
    let filter = args.bias_type.as_deref().map(|k| ("--bias-type", k));
    let pairs = some_left(pairs, &all, "pair", filter, |p| p.bias_type.as_str())?;
    let model = args.model.load()?;
    let bar = progress(pairs.len(), "pairs");
    let report = crows_pairs::evaluate_with(&model, &pairs, &crows_pairs::Options { variant: args.variant }, &bar)?;
    bar.finish_and_clear();
    output(&report, &args.out, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab stereoset`.
#[derive(Args)]
pub struct StereoSetArgs {
    /// Only examples of this domain (gender, profession, race, religion).
    #[arg(long)]
    pub domain: Option<String>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `biaslab stereoset`.
pub fn stereoset(args: StereoSetArgs) -> biaslab::Result<()> {
    use biaslab::suites::stereoset;
    let loaded = stereoset::load(args.data.path())?;
    eprintln!("{}", loaded.summary());
    let all: Vec<_> = loaded.items.into_iter().filter(|e| e.task == stereoset::Task::Intrasentence).collect();
    let wanted = |e: &&stereoset::Example| args.domain.as_ref().is_none_or(|d| &e.bias_type == d);
    let mut examples: Vec<_> = all.iter().filter(wanted).cloned().collect();
    if let Some(n) = args.data.limit {
        examples.truncate(n);
    }
    let filter = args.domain.as_deref().map(|d| ("--domain", d));
    let examples = some_left(examples, &all, "intrasentence example", filter, |e| e.bias_type.as_str())?;
    let model = args.model.load()?;
    let bar = progress(examples.len(), "examples");
    let report = stereoset::evaluate_with(&model, &examples, &stereoset::Options::default(), &bar)?;
    bar.finish_and_clear();
    output(&report, &args.out, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab winobias`.
#[derive(Args)]
pub struct WinoBiasArgs {
    /// The split: dev or test.
    #[arg(long, default_value = "test")]
    pub split: biaslab::suites::winobias::Split,
    /// Bootstrap resamples for the gap's interval.
    #[arg(long, value_parser = positive, default_value_t = biaslab::stats::DEFAULT_SAMPLES)]
    pub samples: usize,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `biaslab winobias`.
pub fn winobias(args: WinoBiasArgs) -> biaslab::Result<()> {
    use biaslab::suites::winobias;
    let loaded = winobias::load(args.data.path(), args.split)?;
    eprintln!("{}", loaded.summary());
    let mut sentences = loaded.items;
    if let Some(n) = args.data.limit {
        // The first N sentences of each of the four files, so that pro and anti of both types stay comparable.
        let mut seen = std::collections::HashMap::new();
        sentences.retain(|s| {
            let count = seen.entry((s.wino_type, s.stereotype)).or_insert(0usize);
            *count += 1;
            *count <= n
        });
    }
    let sentences = some_left(sentences, &[], "sentence", None, |_| "")?;
    let model = args.model.load()?;
    let bar = progress(sentences.len(), "sentences");
    let options = winobias::Options { samples: args.samples, ..winobias::Options::default() };
    let report = winobias::evaluate_with(&model, &sentences, &options, &bar)?;
    bar.finish_and_clear();
    output(&report, &args.out, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab honest`.
#[derive(Args)]
pub struct HonestArgs {
    /// Completions per template (the paper reports 1, 5 and 20).
    #[arg(long, value_parser = positive, default_value_t = 20)]
    pub k: usize,
    /// The template set: binary (female/male) or queer_nonqueer.
    #[arg(long, default_value = "binary")]
    pub templates: biaslab::suites::honest::TemplateSet,
    /// The HurtLex lexicon file (default: beside the templates in --data, else downloaded).
    #[arg(long)]
    pub hurtlex: Option<PathBuf>,
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `biaslab honest`.
pub fn honest(args: HonestArgs) -> biaslab::Result<()> {
    use biaslab::suites::honest;
    let loaded = honest::load_templates(args.data.path(), args.templates)?;
    eprintln!("{}", loaded.summary());
    let lexicon_path = args.hurtlex.as_deref().or_else(|| args.data.path().filter(|p| p.is_dir()));
    let lexicon = honest::Lexicon::load(lexicon_path)?;
    let mut templates = loaded.items;
    if let Some(n) = args.data.limit {
        templates.truncate(n);
    }
    let templates = some_left(templates, &[], "template", None, |_| "")?;
    let model = args.model.load()?;
    let bar = progress(templates.len(), "templates");
    let options = honest::Options { k: args.k, ..honest::Options::default() };
    let report = honest::evaluate_with(&model, &templates, &lexicon, &options, &bar)?;
    bar.finish_and_clear();
    output(&report, &args.out, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab seat`.
#[derive(Args)]
pub struct SeatArgs {
    /// The sentence encoder: `minilm` (all-MiniLM-L6-v2), a local directory, a hub id, or `demo` (the demo model's
    /// encoder).
    #[arg(long, default_value = biaslab::suites::seat::MINILM_NAME)]
    pub encoder: String,
    /// The built-in tests to run (comma-separated; default all): weat3, sent-weat3, weat5, …, sent-weat8.
    #[arg(long, value_delimiter = ',')]
    pub tests: Option<Vec<String>>,
    /// Also run these test files (SEAT's JSON format: targ1, targ2, attr1, attr2 with examples).
    #[arg(long)]
    pub test_file: Vec<PathBuf>,
    /// Permutations of the p-value (exact when there are no more partitions than this).
    #[arg(long, value_parser = positive, default_value_t = biaslab::suites::seat::DEFAULT_SAMPLES)]
    pub samples: usize,
    /// The seed of sampled permutations.
    #[arg(long, default_value_t = biaslab::stats::DEFAULT_SEED)]
    pub seed: u64,
    /// Where to run the encoder: cpu, cuda, cuda:N or metal.
    #[arg(long, default_value = "cpu")]
    pub device: String,
    #[command(flatten)]
    pub out: OutputArgs,
}

/// Runs `biaslab seat`.
pub fn seat(args: SeatArgs) -> biaslab::Result<()> {
    use biaslab::suites::seat;
    let mut tests = match &args.tests {
        Some(names) => names.iter().map(|n| seat::builtin(n.trim())).collect::<biaslab::Result<Vec<_>>>()?,
        None if args.test_file.is_empty() => seat::builtin_tests()?,
        None => Vec::new(),
    };
    for file in &args.test_file {
        tests.push(seat::load(file)?);
    }
    let device = device::by_name(&args.device)?;
    let encoder = seat::SentenceEncoder::from_pretrained_on(&args.encoder, None, &device)?;
    eprintln!("encoder: {}", encoder.source());
    let bar = progress(tests.len(), "tests");
    let options = seat::Options { samples: args.samples, seed: args.seed };
    let report = seat::run_all_with(&encoder, &tests, &options, &bar)?;
    bar.finish_and_clear();
    output(&report, &args.out, |r, w| r.write_csv(w), |r| r.chart())
}
