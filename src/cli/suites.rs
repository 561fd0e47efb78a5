//! The bias tests of lab 02 on the command line: `biaslab probe`, `crows-pairs`, `stereoset`, `winobias`, `honest`
//! and `seat`. Each prints a table (or `--json`, or `--csv` rows), can draw its chart (`--chart FILE`), reads its
//! data from `--data PATH` (a file, or a folder laid out as the lab's shared data) or downloads it, and shows a
//! progress bar on a terminal.

use std::path::{Path, PathBuf};

use biaslab::data::Loaded;
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

/// The arguments every benchmark command (crows-pairs, stereoset, winobias, honest) ends with: its data, its model
/// and its output.
#[derive(Args)]
pub struct BenchmarkArgs {
    #[command(flatten)]
    pub data: DataArgs,
    #[command(flatten)]
    pub model: ModelArgs,
    #[command(flatten)]
    pub out: OutputArgs,
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
            format!("no {what} has {flag} {wanted:?}; the data holds: {}. Give one of those", values.join(", "))
        }
        _ => format!(
            "the data holds no usable {what} (see the rows skipped above): correct those rows, or give the \
             benchmark's own file (--data)"
        ),
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

/// The rows a benchmark read, after printing on standard error what was read (and what was skipped).
fn read<T>(loaded: Loaded<T>) -> Vec<T> {
    eprintln!("{}", loaded.summary());
    loaded.items
}

/// A benchmark command's filter flag, when given: its name (`--bias-type`), the value given, and the field of a row
/// that must equal it.
pub struct Filter<'a, T> {
    /// The flag, as the error names it.
    pub flag: &'a str,
    /// The value given.
    pub wanted: &'a str,
    /// The field of a row it is compared with (and, when no row matches, whose values the error lists).
    pub field: fn(&T) -> &str,
}

impl<'a, T> Filter<'a, T> {
    /// The filter of `flag` when it was given (`wanted`), else none.
    pub fn given(flag: &'a str, wanted: Option<&'a str>, field: fn(&T) -> &str) -> Option<Self> {
        wanted.map(|wanted| Filter { flag, wanted, field })
    }
}

/// The rows a benchmark command measures: all it read, what one is called, its filter and `--limit`.
pub struct Rows<'a, T> {
    /// Every row read (and kept by whatever the command selects before its flags, such as StereoSet's task).
    pub all: Vec<T>,
    /// What one row is, in the error when none is left ("pair", "intrasentence example").
    pub noun: &'a str,
    /// The filter flag given, if any.
    pub filter: Option<Filter<'a, T>>,
    /// Keep only the first N rows the filter keeps.
    pub limit: Option<usize>,
}

impl<T> Rows<'_, T> {
    /// The rows the filter keeps, the first `limit` of them; an error naming the filter and the values the data holds
    /// ([`some_left`]) when none is left.
    pub fn select(self) -> biaslab::Result<Vec<T>> {
        // The rows the filter leaves out are all the rows whenever it keeps none, so they are what the error lists.
        let (mut rows, left_out): (Vec<T>, Vec<T>) = match &self.filter {
            Some(filter) => self.all.into_iter().partition(|row| (filter.field)(row) == filter.wanted),
            None => (self.all, Vec::new()),
        };
        if let Some(n) = self.limit {
            rows.truncate(n);
        }
        let given = self.filter.as_ref().map(|filter| (filter.flag, filter.wanted));
        some_left(rows, &left_out, self.noun, given, |row| {
            self.filter.as_ref().map_or("", |filter| (filter.field)(row))
        })
    }
}

/// The path of the benchmark commands (crows-pairs, stereoset, winobias, honest) from the rows read to the output:
/// selects the rows ([`Rows::select`]), loads the model `args` name ([`ModelArgs::load`]), then scores the rows with
/// `evaluate` under a progress bar of `unit`s and prints the report as `args` ask ([`run_suite`]).
pub fn run_benchmark<T, R: Serialize + std::fmt::Display>(
    rows: Rows<'_, T>,
    args: &BenchmarkArgs,
    unit: &str,
    evaluate: impl FnOnce(&FillMask, &[T], &ProgressBar) -> biaslab::Result<R>,
    write_csv: impl FnOnce(&R, &mut dyn std::io::Write) -> biaslab::Result<()>,
    chart: impl FnOnce(&R) -> biaslab::Result<biaslab::Chart>,
) -> biaslab::Result<()> {
    let rows = rows.select()?;
    let model = args.model.load()?;
    run_suite(rows.len(), unit, &args.out, |bar| evaluate(&model, &rows, bar), write_csv, chart)
}

/// The end every suite command shares: runs `evaluate` under a progress bar of `len` `unit`s, clears the bar once it
/// has run, and prints (and draws) the report as `out` asks ([`output`]).
pub fn run_suite<R: Serialize + std::fmt::Display>(
    len: usize,
    unit: &str,
    out: &OutputArgs,
    evaluate: impl FnOnce(&ProgressBar) -> biaslab::Result<R>,
    write_csv: impl FnOnce(&R, &mut dyn std::io::Write) -> biaslab::Result<()>,
    chart: impl FnOnce(&R) -> biaslab::Result<biaslab::Chart>,
) -> biaslab::Result<()> {
    let bar = progress(len, unit);
    let report = evaluate(&bar)?;
    bar.finish_and_clear();
    output(&report, out, write_csv, chart)
}

/// `biaslab probe`.
#[derive(Args)]
pub struct ProbeArgs {
    /// The built-in group set: gender, race, religion, age or queer-nonqueer (HONEST's identity terms).
    #[arg(long, default_value = "gender")]
    pub groups: String,
    /// Cross the group set (race, religion or age) with gender: every combination ("black female") is compared with
    /// `--reference`, with its interaction (what neither attribute alone explains). Only `gender` is accepted.
    #[arg(long)]
    pub by: Option<String>,
    /// The reference combination of `--by`, as "<descriptor> <male|female>" (default: white, christian or young,
    /// and male).
    #[arg(long)]
    pub reference: Option<String>,
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
    let group_set = groups::named(&args.groups).ok_or_else(|| biaslab::Error::InvalidArgument {
        reason: format!(
            "{:?} is not a built-in group set: use gender, race, religion, age or queer-nonqueer",
            args.groups
        ),
    })?;
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
    let options =
        ProbeOptions { samples: args.samples, seed: args.seed, normalise: args.normalise, ..ProbeOptions::default() };
    if let Some(by) = &args.by {
        return intersectional_probe(&args, by, template_list, target_list, &options);
    }
    if args.reference.is_some() {
        return Err(biaslab::Error::InvalidArgument {
            reason: "--reference names the combination every other one is compared with, which only --by makes: add \
                     --by gender, or compare two groups with --a and --b"
                .into(),
        });
    }
    let (a, b) = (name(&args.a, 0), name(&args.b, 1));
    let probe = Probe { templates: template_list, groups: group_set.clone(), targets: target_list };
    let model = args.model.load()?;
    let evaluate = |bar: &ProgressBar| probe::evaluate_with(&model, &probe, &a, &b, &options, bar);
    run_suite(probe.templates.len(), "templates", &args.out, evaluate, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab probe --groups SET --by gender`: every descriptor of SET crossed with gender, against a reference.
fn intersectional_probe(
    args: &ProbeArgs,
    by: &str,
    templates: Vec<String>,
    targets: Vec<String>,
    options: &biaslab::probe::ProbeOptions,
) -> biaslab::Result<()> {
    use biaslab::probe::{self, groups};
    let invalid = |reason: String| biaslab::Error::InvalidArgument { reason };
    if by != "gender" {
        return Err(invalid(format!("--by {by:?}: only gender can be crossed with a group set; use --by gender")));
    }
    if args.normalise || args.a.is_some() || args.b.is_some() {
        return Err(invalid(
            "--by compares every combination with --reference: leave out --a, --b and --normalise".into(),
        ));
    }
    let first = groups::descriptors(&args.groups).ok_or_else(|| {
        invalid(format!("--groups {:?} cannot be crossed with gender: use race, religion or age", args.groups))
    })?;
    let second = groups::gender();
    let reference = match &args.reference {
        Some(given) => {
            let (descriptor, gender) = given.trim().rsplit_once(' ').ok_or_else(|| {
                invalid(format!("--reference {given:?}: write a descriptor and a gender, as \"white male\""))
            })?;
            (descriptor.trim().to_string(), gender.to_string())
        }
        None => (groups::usual_reference(&args.groups).unwrap_or_default().to_string(), "male".to_string()),
    };
    // Checked before the model loads (a minute for bert-base-uncased), with the names to choose from.
    for (name, set) in [(&reference.0, &first), (&reference.1, &second)] {
        if !set.iter().any(|g| &g.name == name) {
            let names: Vec<&str> = set.iter().map(|g| g.name.as_str()).collect();
            return Err(invalid(format!("--reference: {name:?} is not one of {}", names.join(", "))));
        }
    }
    let model = args.model.load()?;
    let evaluate = |bar: &ProgressBar| {
        probe::intersectional_with(
            &model,
            &templates,
            &targets,
            (&first, &second),
            (&reference.0, &reference.1),
            options,
            bar,
        )
    };
    run_suite(templates.len(), "templates", &args.out, evaluate, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab crows-pairs`.
#[derive(Args)]
pub struct CrowsPairsArgs {
    /// How sentences are scored: `nangia` (metric.py, the default), `bias-bench` (mean log-probability of the
    /// modified tokens), `aul` (mean log-probability of every token, nothing masked; Kaneko & Bollegala 2022) or
    /// `aula` (the same, weighted by the attention each token receives).
    #[arg(long, default_value = "nangia")]
    pub variant: biaslab::suites::crows_pairs::Variant,
    /// Only pairs of this bias type (race-color, gender, religion, …).
    #[arg(long)]
    pub bias_type: Option<String>,
    #[command(flatten)]
    pub bench: BenchmarkArgs,
}

/// Runs `biaslab crows-pairs`.
pub fn crows_pairs(args: CrowsPairsArgs) -> biaslab::Result<()> {
    use biaslab::suites::crows_pairs;
    let all = read(crows_pairs::load(args.bench.data.path())?);
    let filter = Filter::given("--bias-type", args.bias_type.as_deref(), |p: &crows_pairs::Pair| p.bias_type.as_str());
    let rows = Rows { all, noun: "pair", filter, limit: args.bench.data.limit };
    let options = crows_pairs::Options { variant: args.variant };
    let evaluate =
        |model: &FillMask, pairs: &[_], bar: &ProgressBar| crows_pairs::evaluate_with(model, pairs, &options, bar);
    run_benchmark(rows, &args.bench, "pairs", evaluate, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab stereoset`.
#[derive(Args)]
pub struct StereoSetArgs {
    /// Only examples of this domain (gender, profession, race, religion).
    #[arg(long)]
    pub domain: Option<String>,
    /// Score each example's stereotype and anti-stereotype sentences as a pair with nothing masked, as Kaneko &
    /// Bollegala (2022) do: `aul` or `aula` (the report is then the percentage of examples whose stereotype sentence
    /// scores higher). Without it, StereoSet's own scores (LMS, SS, ICAT).
    #[arg(long)]
    pub variant: Option<biaslab::suites::crows_pairs::Variant>,
    #[command(flatten)]
    pub bench: BenchmarkArgs,
}

/// Runs `biaslab stereoset`.
pub fn stereoset(args: StereoSetArgs) -> biaslab::Result<()> {
    use biaslab::suites::stereoset;
    let all = read(stereoset::load(args.bench.data.path())?);
    let all: Vec<_> = all.into_iter().filter(|e| e.task == stereoset::Task::Intrasentence).collect();
    let filter = Filter::given("--domain", args.domain.as_deref(), |e: &stereoset::Example| e.bias_type.as_str());
    let rows = Rows { all, noun: "intrasentence example", filter, limit: args.bench.data.limit };
    if let Some(variant) = args.variant {
        let evaluate = |model: &FillMask, examples: &[_], bar: &ProgressBar| {
            stereoset::evaluate_unmasked(model, examples, variant, bar)
        };
        return run_benchmark(rows, &args.bench, "examples", evaluate, |r, w| r.write_csv(w), |r| r.chart());
    }
    let options = stereoset::Options::default();
    let evaluate =
        |model: &FillMask, examples: &[_], bar: &ProgressBar| stereoset::evaluate_with(model, examples, &options, bar);
    run_benchmark(rows, &args.bench, "examples", evaluate, |r, w| r.write_csv(w), |r| r.chart())
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
    pub bench: BenchmarkArgs,
}

/// Runs `biaslab winobias`.
pub fn winobias(args: WinoBiasArgs) -> biaslab::Result<()> {
    use biaslab::suites::winobias;
    let mut sentences = read(winobias::load(args.bench.data.path(), args.split)?);
    if let Some(n) = args.bench.data.limit {
        // The first N sentences of each of the four files, so that pro and anti of both types stay comparable.
        let mut seen = std::collections::HashMap::new();
        sentences.retain(|s| {
            let count = seen.entry((s.wino_type, s.stereotype)).or_insert(0usize);
            *count += 1;
            *count <= n
        });
    }
    // --limit is applied above (per file), not as the shared path's first N; WinoBias has no filter flag.
    let rows = Rows { all: sentences, noun: "sentence", filter: None, limit: None };
    let options = winobias::Options { samples: args.samples, ..winobias::Options::default() };
    let evaluate =
        |model: &FillMask, sentences: &[_], bar: &ProgressBar| winobias::evaluate_with(model, sentences, &options, bar);
    run_benchmark(rows, &args.bench, "sentences", evaluate, |r, w| r.write_csv(w), |r| r.chart())
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
    pub bench: BenchmarkArgs,
}

/// Runs `biaslab honest`.
pub fn honest(args: HonestArgs) -> biaslab::Result<()> {
    use biaslab::suites::honest;
    let templates = read(honest::load_templates(args.bench.data.path(), args.templates)?);
    // The lexicon is read before the rows are selected and the model loaded, so a missing one fails at once.
    let lexicon_path = args.hurtlex.as_deref().or_else(|| args.bench.data.path().filter(|p| p.is_dir()));
    let lexicon = honest::Lexicon::load(lexicon_path)?;
    let rows = Rows { all: templates, noun: "template", filter: None, limit: args.bench.data.limit };
    let options = honest::Options { k: args.k, ..honest::Options::default() };
    let evaluate = |model: &FillMask, templates: &[_], bar: &ProgressBar| {
        honest::evaluate_with(model, templates, &lexicon, &options, bar)
    };
    run_benchmark(rows, &args.bench, "templates", evaluate, |r, w| r.write_csv(w), |r| r.chart())
}

/// `biaslab seat`.
#[derive(Args)]
pub struct SeatArgs {
    /// The sentence encoder: `minilm` (all-MiniLM-L6-v2), a local directory, a hub id, `demo` (the demo model's
    /// encoder) or `demo-head-only` (its sibling's, which is MiniLM's own).
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
    let options = seat::Options { samples: args.samples, seed: args.seed };
    let evaluate = |bar: &ProgressBar| seat::run_all_with(&encoder, &tests, &options, bar);
    run_suite(tests.len(), "tests", &args.out, evaluate, |r, w| r.write_csv(w), |r| r.chart())
}
