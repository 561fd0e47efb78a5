//! SEAT and WEAT: how strongly two sets of target words or sentences (X, Y: male and female names) are associated
//! with two sets of attribute words or sentences (A, B: career and family), measured by cosine similarities of
//! their embeddings.
//!
//! WEAT is the Word Embedding Association Test of Caliskan, Bryson & Narayanan (2017), *Semantics derived
//! automatically from language corpora contain human-like biases*, Science 356:183–186. SEAT, the Sentence Encoder
//! Association Test of May, Wang, Bordia, Bowman & Rudinger (2019), *On Measuring Social Biases in Sentence
//! Encoders* (NAACL), runs the same test on sentence embeddings, with each word put into "semantically bleached"
//! templates ("This is John.", "John is here."). The statistics here follow SEAT's code line by line:
//! `sentbias/weat.py` of <https://github.com/W4ngatang/sent-bias> at commit
//! `e3559fb669ca4832743b42fee715994c15c7f1af` (see [`effect_size`] and [`p_value`]).
//!
//! The embeddings are the mean-pooled last hidden states of any BERT-family encoder ([`SentenceEncoder`]), the
//! pooling sentence-transformers uses for all-MiniLM-L6-v2 (`crate::model::sentence::mean_pooled`); a
//! [`FillMask`](crate::model::fill_mask::FillMask) model embeds with its own encoder, its head unused.
//!
//! The built-in tests ([`builtin`], [`builtin_tests`]) are SEAT's own files, kept verbatim in `assets/seat/`
//! (see its `README.md`: copied from sent-bias `tests/` at the commit above; licence CC BY-NC 4.0).
//!
//! Content warning: the race tests pair names associated with racial groups with unpleasant words, on purpose.

use std::collections::{HashMap, HashSet};
use std::fmt;
use std::path::Path;

use candle_core::{Device, Tensor};
use indicatif::ProgressBar;
use rand::{RngCore, SeedableRng};
use rand_chacha::ChaCha8Rng;
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::view::display::{escape, HtmlTable};

/// The number of random partitions of the permutation test unless told otherwise: `--n_samples` of SEAT's
/// `sentbias/main.py` (100,000). When X ∪ Y has at most this many equal-size partitions, the test is exact.
pub const DEFAULT_SAMPLES: usize = 100_000;

/// The built-in tests: SEAT's test files (sent-bias `tests/`, commit `e3559fb6`), by their file names. `weatN` are
/// the word tests of Caliskan et al. (2017), `sent-weatN` SEAT's sentence versions of them.
pub(crate) const BUILTIN: [(&str, &str); 12] = [
    ("weat3", include_str!("../../../assets/seat/weat3.jsonl")),
    ("sent-weat3", include_str!("../../../assets/seat/sent-weat3.jsonl")),
    ("weat5", include_str!("../../../assets/seat/weat5.jsonl")),
    ("sent-weat5", include_str!("../../../assets/seat/sent-weat5.jsonl")),
    ("weat6", include_str!("../../../assets/seat/weat6.jsonl")),
    ("sent-weat6", include_str!("../../../assets/seat/sent-weat6.jsonl")),
    ("weat6b", include_str!("../../../assets/seat/weat6b.jsonl")),
    ("sent-weat6b", include_str!("../../../assets/seat/sent-weat6b.jsonl")),
    ("weat7", include_str!("../../../assets/seat/weat7.jsonl")),
    ("sent-weat7", include_str!("../../../assets/seat/sent-weat7.jsonl")),
    ("weat8", include_str!("../../../assets/seat/weat8.jsonl")),
    ("sent-weat8", include_str!("../../../assets/seat/sent-weat8.jsonl")),
];

// ---------------------------------------------------------------------------------------------------------------
// Tests (the word lists)
// ---------------------------------------------------------------------------------------------------------------

/// One association test: target sets X and Y, attribute sets A and B, each a list of words or sentences with a
/// name. A positive effect size means X is closer to A (and Y to B) than the other way round.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct WeatTest {
    /// The test's name ("sent-weat6").
    pub name: String,
    /// The name of target set X ("MaleNames").
    pub x_name: String,
    /// Target set X.
    pub x: Vec<String>,
    /// The name of target set Y ("FemaleNames").
    pub y_name: String,
    /// Target set Y (as many items as X).
    pub y: Vec<String>,
    /// The name of attribute set A ("Career").
    pub a_name: String,
    /// Attribute set A.
    pub a: Vec<String>,
    /// The name of attribute set B ("Family").
    pub b_name: String,
    /// Attribute set B.
    pub b: Vec<String>,
}

impl WeatTest {
    /// A test from four named lists, `(name, items)` each, for example
    ///
    /// ```
    /// use biaslab::suites::seat::WeatTest;
    /// let test = WeatTest::from_lists(
    ///     "pronouns",
    ///     ("male", &["he", "him"]),
    ///     ("female", &["she", "her"]),
    ///     ("career", &["office", "salary"]),
    ///     ("family", &["home", "children"]),
    /// );
    /// assert_eq!(test.checked_sets()?[0], ["he", "him"]);
    /// # Ok::<(), biaslab::Error>(())
    /// ```
    pub fn from_lists(
        name: &str,
        x: (&str, &[&str]),
        y: (&str, &[&str]),
        a: (&str, &[&str]),
        b: (&str, &[&str]),
    ) -> Self {
        let owned = |items: &[&str]| items.iter().map(|s| s.to_string()).collect();
        Self {
            name: name.into(),
            x_name: x.0.into(),
            x: owned(x.1),
            y_name: y.0.into(),
            y: owned(y.1),
            a_name: a.0.into(),
            a: owned(a.1),
            b_name: b.0.into(),
            b: owned(b.1),
        }
    }

    /// The four sets as SEAT's code sees them: each without repeated items (first occurrence kept), since
    /// `sentbias` keeps the encodings of a set in a dict keyed by the text. Fails when a set is empty, an item is
    /// blank, or X and Y differ in size (`weat.py` asserts `len(X) == len(Y)` before its permutation test).
    pub fn checked_sets(&self) -> Result<[Vec<&str>; 4]> {
        let sets = [
            (&self.x_name, &self.x, "X"),
            (&self.y_name, &self.y, "Y"),
            (&self.a_name, &self.a, "A"),
            (&self.b_name, &self.b, "B"),
        ];
        let mut out: [Vec<&str>; 4] = Default::default();
        for (slot, (name, items, letter)) in out.iter_mut().zip(sets) {
            if let Some(i) = items.iter().position(|item| item.trim().is_empty()) {
                return Err(Error::InvalidArgument {
                    reason: format!(
                        "test {:?}: item {} of {letter} ({name}) is blank: write the item, or leave it out",
                        self.name,
                        i + 1
                    ),
                });
            }
            let mut seen = HashSet::new();
            *slot = items.iter().map(String::as_str).filter(|item| seen.insert(*item)).collect();
            if slot.is_empty() {
                return Err(Error::InvalidArgument {
                    reason: format!("test {:?}: {letter} ({name}) is empty: give it at least one item", self.name),
                });
            }
        }
        if out[0].len() != out[1].len() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "test {:?}: X ({}) has {} distinct items and Y ({}) has {}, but the permutation test of SEAT \
                     (sentbias/weat.py) needs as many in X as in Y: add items to the smaller or leave some out of the \
                     larger",
                    self.name,
                    self.x_name,
                    out[0].len(),
                    self.y_name,
                    out[1].len()
                ),
            });
        }
        Ok(out)
    }
}

/// The JSON of one SEAT test file: `targ1`, `targ2`, `attr1`, `attr2`, each with a `category` and `examples`.
#[derive(Deserialize)]
struct RawTest {
    targ1: RawSet,
    targ2: RawSet,
    attr1: RawSet,
    attr2: RawSet,
}

#[derive(Deserialize)]
struct RawSet {
    category: String,
    examples: Vec<String>,
}

/// Parses a test in SEAT's file format (one JSON object with `targ1` = X, `targ2` = Y, `attr1` = A, `attr2` = B,
/// each `{"category": name, "examples": [...]}`, as `sentbias/data.py::load_json` reads it); `path` names the
/// file in errors. Other keys are ignored.
pub fn parse(text: &str, name: &str, path: &Path) -> Result<WeatTest> {
    let raw: RawTest = serde_json::from_str(text).map_err(|err| Error::InvalidData {
        path: path.into(),
        reason: format!(
            "not a SEAT test (a JSON object with targ1, targ2, attr1 and attr2): {err}; correct the file, each of the \
             four as {{\"category\": name, \"examples\": [...]}}"
        ),
    })?;
    Ok(WeatTest {
        name: name.into(),
        x_name: raw.targ1.category,
        x: raw.targ1.examples,
        y_name: raw.targ2.category,
        y: raw.targ2.examples,
        a_name: raw.attr1.category,
        a: raw.attr1.examples,
        b_name: raw.attr2.category,
        b: raw.attr2.examples,
    })
}

/// Loads a test file in SEAT's format (see [`parse`]), named after the file ("sent-weat6" for
/// `sent-weat6.jsonl`).
pub fn load(path: &Path) -> Result<WeatTest> {
    let text = std::fs::read_to_string(path).map_err(Error::io(path))?;
    let name = path.file_stem().map_or_else(|| path.display().to_string(), |s| s.to_string_lossy().into_owned());
    parse(&text, &name, path)
}

/// The names of the built-in tests, in [`BUILTIN`]'s order.
pub(crate) fn builtin_names() -> Vec<&'static str> {
    BUILTIN.iter().map(|(name, _)| *name).collect()
}

/// A built-in test by name ("weat6", "sent-weat6", …; see `BUILTIN`).
pub fn builtin(name: &str) -> Result<WeatTest> {
    let (name, text) = BUILTIN.iter().find(|(n, _)| *n == name).ok_or_else(|| Error::InvalidArgument {
        reason: format!(
            "there is no built-in SEAT test {name:?}; the built-in tests are {}",
            builtin_names().join(", ")
        ),
    })?;
    parse(text, name, Path::new(&format!("assets/seat/{name}.jsonl")))
}

/// All built-in tests, in `BUILTIN`'s order.
pub fn builtin_tests() -> Result<Vec<WeatTest>> {
    builtin_names().into_iter().map(builtin).collect()
}

// Sentence embeddings: [`crate::model::sentence`] (named here too, where the notebooks and the command line
// have always found them).
pub use crate::model::sentence::{SentenceEmbedder, SentenceEncoder, MINILM_NAME};

// ---------------------------------------------------------------------------------------------------------------
// The statistics (pure functions of embeddings)
// ---------------------------------------------------------------------------------------------------------------

/// Settings of a test run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Options {
    /// The most partitions the permutation test evaluates: exact over all equal-size partitions of X ∪ Y when
    /// there are at most this many, else this many random ones ([`DEFAULT_SAMPLES`], SEAT's default).
    pub samples: usize,
    /// The seed of the random partitions.
    pub seed: u64,
}

impl Default for Options {
    fn default() -> Self {
        Self { samples: DEFAULT_SAMPLES, seed: crate::measure::stats::DEFAULT_SEED }
    }
}

/// s(w, A, B) = mean_{a ∈ A} cos(w, a) − mean_{b ∈ B} cos(w, b) for each `w` of `targets` (Caliskan et al. 2017;
/// `weat.py::s_wAB`), with cos(u, v) = `u·v / sqrt((u·u)(v·v))` as `weat.py::cossim` computes it (the dot products as
/// one f64 matrix product). All vectors must have one size, and A and B at least one vector each.
pub fn associations<E: AsRef<[f32]>>(targets: &[E], a: &[E], b: &[E]) -> Result<Vec<f64>> {
    let dim = targets.iter().chain(a).chain(b).map(|v| v.as_ref().len()).next().unwrap_or(0);
    if a.is_empty() || b.is_empty() || targets.iter().chain(a).chain(b).any(|v| v.as_ref().len() != dim) {
        return Err(Error::InvalidArgument {
            reason: "the embeddings must all have one size, and A and B at least one each: embed every item with \
                     one encoder, and give A and B one item or more"
                .into(),
        });
    }
    let matrix = |set: &[E]| -> Result<Tensor> {
        let flat: Vec<f64> = set.iter().flat_map(|v| v.as_ref().iter().map(|x| f64::from(*x))).collect();
        Ok(Tensor::from_vec(flat, (set.len(), dim), &Device::Cpu)?)
    };
    let squared = |set: &[E]| set.iter().map(|v| dot(v.as_ref(), v.as_ref())).collect::<Vec<f64>>();
    let (t, t_sq) = (matrix(targets)?, squared(targets));
    let mut out = vec![0.0; targets.len()];
    for (set, sign) in [(a, 1.0), (b, -1.0)] {
        let dots = t.matmul(&matrix(set)?.t()?)?.to_vec2::<f64>()?;
        let set_sq = squared(set);
        for ((s, row), w_sq) in out.iter_mut().zip(dots).zip(&t_sq) {
            let total: f64 = row.iter().zip(&set_sq).map(|(d, v_sq)| d / (w_sq * v_sq).sqrt()).sum();
            *s += sign * total / set.len() as f64;
        }
    }
    Ok(out)
}

/// The dot product, accumulated in f64.
fn dot(u: &[f32], v: &[f32]) -> f64 {
    let mut total = 0.0;
    for (p, q) in u.iter().zip(v) {
        total += f64::from(*p) * f64::from(*q);
    }
    total
}

/// The effect size d = (mean_{x ∈ X} s(x, A, B) − mean_{y ∈ Y} s(y, A, B)) / std_{w ∈ X ∪ Y} s(w, A, B), from
/// the associations of X (`s_x`) and of Y (`s_y`) ([`associations`]): Caliskan et al. (2017), with the sample
/// standard deviation (ddof = 1) as SEAT's `weat.py::effect_size` / `stdev_s_wAB` (`np.std(..., ddof=1)`) has it.
/// As in numpy, a zero deviation gives ±inf or NaN.
pub fn effect_size(s_x: &[f64], s_y: &[f64]) -> f64 {
    let all: Vec<f64> = s_x.iter().chain(s_y).copied().collect();
    (crate::measure::stats::mean(s_x) - crate::measure::stats::mean(s_y)) / crate::measure::stats::std_dev(&all, 1)
}

/// The result of the permutation test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct PValue {
    /// The one-sided p-value.
    pub p_value: f64,
    /// Whether every equal-size partition was evaluated (else random ones).
    pub exact: bool,
    /// Partitions the p-value is a share of: all of them when exact, else `samples` (the observed one included).
    pub samples: usize,
}

/// The one-sided permutation test of WEAT (Caliskan et al. 2017), exactly as SEAT's
/// `weat.py::p_val_permutation_test` (non-parametric) computes it, from the associations of X and Y
/// ([`associations`]; X and Y of equal size, else an error, where `weat.py` asserts):
///
/// - the statistic of a partition (X', Y') of X ∪ Y with |X'| = |X| is Σ_{x ∈ X'} s(x, A, B), monotone in
///   s(X', Y', A, B) = Σ_{X'} s − Σ_{Y'} s since the total is fixed;
/// - a partition counts when its statistic is greater than **or equal to** the observed one (ties count, "use
///   conservative test"), compared exactly, without a tolerance;
/// - when C(|X ∪ Y|, |X|) ≤ `samples`, every partition is evaluated (the observed one among them) and p = count /
///   C(|X ∪ Y|, |X|);
/// - else the observed partition is counted once as a hit ("biasing by 1") and `samples − 1` random partitions
///   (uniformly random |X|-subsets of X ∪ Y as X'; `weat.py` shuffles all of X ∪ Y and takes the first |X|, which
///   draws from the same distribution) are drawn: p = (1 + hits) / `samples`.
///
/// The random partitions come from a ChaCha8 generator seeded with `seed` (SEAT shuffles with numpy's seeded
/// generator, so random partitions, and sampled p-values, differ from theirs by sampling error only).
pub fn p_value(s_x: &[f64], s_y: &[f64], samples: usize, seed: u64) -> Result<PValue> {
    let n = s_x.len();
    if n == 0 || n != s_y.len() {
        return Err(Error::InvalidArgument {
            reason: format!(
                "the permutation test needs X and Y of the same, non-zero size; they have {} and {}: give as many \
                 scores for X as for Y, at least one",
                n,
                s_y.len()
            ),
        });
    }
    let all: Vec<f64> = s_x.iter().chain(s_y).copied().collect();
    let sum = |indices: &[usize]| {
        let mut total = 0.0;
        for &i in indices {
            total += all[i];
        }
        total
    };
    let first: Vec<usize> = (0..n).collect();
    let observed = sum(&first);
    let total = all.len();
    if let Some(partitions) = binomial_at_most(total, n, samples) {
        let mut hits = 0usize;
        let mut combination = first;
        loop {
            if sum(&combination) >= observed {
                hits += 1;
            }
            if !next_combination(&mut combination, total) {
                break;
            }
        }
        return Ok(PValue { p_value: hits as f64 / partitions as f64, exact: true, samples: partitions });
    }
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mut order: Vec<usize> = (0..total).collect();
    let mut hits = 1usize;
    for _ in 1..samples {
        // A uniformly random |X|-subset as the first |X| of `order`, by a partial Fisher–Yates shuffle; weat.py
        // shuffles all of X ∪ Y and takes the first |X|, which draws from the same distribution. Index i swaps
        // with a uniform j in i..total (Lemire's multiply-shift, whose bias of (total − i) / 2⁶⁴ is negligible).
        for i in 0..n {
            let j = i + ((u128::from(rng.next_u64()) * (total - i) as u128) >> 64) as usize;
            order.swap(i, j);
        }
        if sum(&order[..n]) >= observed {
            hits += 1;
        }
    }
    let drawn = samples.max(1);
    Ok(PValue { p_value: hits as f64 / drawn as f64, exact: false, samples: drawn })
}

/// C(n, k) if it is at most `limit`, else `None`.
fn binomial_at_most(n: usize, k: usize, limit: usize) -> Option<usize> {
    let k = k.min(n.saturating_sub(k));
    let mut c: u128 = 1;
    for i in 0..k {
        // C(n, i + 1) = C(n, i) (n − i) / (i + 1), exact at every step; it only grows up to k ≤ n / 2.
        c = c.checked_mul((n - i) as u128)? / (i as u128 + 1);
        if c > limit as u128 {
            return None;
        }
    }
    usize::try_from(c).ok()
}

/// Advances `combination` (strictly increasing indices below `n`) to the next one in lexicographic order, as
/// `itertools.combinations` yields them; false after the last.
fn next_combination(combination: &mut [usize], n: usize) -> bool {
    let k = combination.len();
    let Some(i) = (0..k).rev().find(|&i| combination[i] < n - k + i) else {
        return false;
    };
    combination[i] += 1;
    for j in i + 1..k {
        combination[j] = combination[j - 1] + 1;
    }
    true
}

/// The effect size and p-value of one test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
pub struct Statistics {
    /// [`effect_size`].
    pub effect_size: f64,
    /// [`p_value`].
    pub p_value: f64,
    /// Whether the permutation test was exact.
    pub exact: bool,
    /// Partitions the p-value is a share of.
    pub samples: usize,
}

/// WEAT on embeddings: the effect size and the one-sided p-value of X vs Y against A vs B ([`associations`],
/// [`effect_size`], [`p_value`]; SEAT's `weat.py::run_test`). All embeddings must have one size; X and Y the same
/// number of items.
pub fn weat<E: AsRef<[f32]>>(x: &[E], y: &[E], a: &[E], b: &[E], options: &Options) -> Result<Statistics> {
    let sets = [x, y, a, b];
    if sets.iter().any(|set| set.is_empty()) {
        return Err(Error::InvalidArgument {
            reason: "each of X, Y, A and B needs at least one embedding: embed one item or more for each".into(),
        });
    }
    let dims: HashSet<usize> = sets.iter().flat_map(|set| set.iter().map(|e| e.as_ref().len())).collect();
    if dims.len() != 1 || dims.contains(&0) {
        return Err(Error::InvalidArgument {
            reason: format!(
                "the embeddings must all have one non-zero size, not {dims:?}: embed every item with one encoder"
            ),
        });
    }
    let (s_x, s_y) = (associations(x, a, b)?, associations(y, a, b)?);
    let p = p_value(&s_x, &s_y, options.samples, options.seed)?;
    Ok(Statistics { effect_size: effect_size(&s_x, &s_y), p_value: p.p_value, exact: p.exact, samples: p.samples })
}

// ---------------------------------------------------------------------------------------------------------------
// Running tests on a model
// ---------------------------------------------------------------------------------------------------------------

/// The result of one test on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatResult {
    /// The test's name.
    pub test: String,
    /// The name of X.
    pub x_name: String,
    /// The name of Y.
    pub y_name: String,
    /// The name of A.
    pub a_name: String,
    /// The name of B.
    pub b_name: String,
    /// The effect size d (positive: X nearer A and Y nearer B).
    pub effect_size: f64,
    /// The one-sided permutation p-value.
    pub p_value: f64,
    /// Distinct items of X.
    pub n_x: usize,
    /// Distinct items of Y.
    pub n_y: usize,
    /// Distinct items of A.
    pub n_a: usize,
    /// Distinct items of B.
    pub n_b: usize,
    /// Whether the p-value is exact (every partition) or from random partitions.
    pub exact: bool,
    /// Partitions the p-value is a share of.
    pub samples: usize,
}

/// Runs one test on a model: embeds its items ([`SentenceEmbedder::embed`]) and computes [`weat`].
pub fn run(encoder: &dyn SentenceEmbedder, test: &WeatTest, options: &Options) -> Result<SeatResult> {
    run_cached(encoder, test, options, &mut HashMap::new())
}

fn run_cached(
    encoder: &dyn SentenceEmbedder,
    test: &WeatTest,
    options: &Options,
    cache: &mut HashMap<String, Vec<f32>>,
) -> Result<SeatResult> {
    let sets = test.checked_sets()?;
    let mut seen = HashSet::new();
    let missing: Vec<&str> =
        sets.iter().flatten().copied().filter(|t| !cache.contains_key(*t) && seen.insert(*t)).collect();
    let embeddings = encoder.embed(&missing)?;
    cache.extend(missing.iter().map(|t| t.to_string()).zip(embeddings));
    let lookup = |set: &[&str]| -> Result<Vec<&[f32]>> {
        set.iter()
            .map(|t| {
                cache.get(*t).map(Vec::as_slice).ok_or_else(|| Error::InvalidArgument {
                    reason: format!(
                        "the encoder returned no embedding for {t:?}: its `embed` must return one embedding per text"
                    ),
                })
            })
            .collect()
    };
    let [x, y, a, b] = [lookup(&sets[0])?, lookup(&sets[1])?, lookup(&sets[2])?, lookup(&sets[3])?];
    let stats = weat(&x, &y, &a, &b, options)?;
    Ok(SeatResult {
        test: test.name.clone(),
        x_name: test.x_name.clone(),
        y_name: test.y_name.clone(),
        a_name: test.a_name.clone(),
        b_name: test.b_name.clone(),
        effect_size: stats.effect_size,
        p_value: stats.p_value,
        n_x: x.len(),
        n_y: y.len(),
        n_a: a.len(),
        n_b: b.len(),
        exact: stats.exact,
        samples: stats.samples,
    })
}

/// Runs several tests on a model (each text embedded once, however many tests use it).
pub fn run_all(encoder: &dyn SentenceEmbedder, tests: &[WeatTest], options: &Options) -> Result<SeatReport> {
    run_all_with(encoder, tests, options, &ProgressBar::hidden())
}

/// [`run_all`], counting finished tests on `progress`.
pub fn run_all_with(
    encoder: &dyn SentenceEmbedder,
    tests: &[WeatTest],
    options: &Options,
    progress: &ProgressBar,
) -> Result<SeatReport> {
    let mut cache = HashMap::new();
    let mut results = Vec::with_capacity(tests.len());
    for test in tests {
        results.push(run_cached(encoder, test, options, &mut cache)?);
        progress.inc(1);
    }
    Ok(SeatReport {
        model: encoder.name(),
        model_label: encoder.label(),
        samples: options.samples,
        seed: options.seed,
        results,
    })
}

/// The results of several tests on one model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SeatReport {
    /// The model.
    pub model: String,
    /// The model's short name, for chart titles: the name it was loaded by (`demo`, a hub id, a directory), from
    /// [`crate::model::sentence::SentenceEmbedder::label`]; empty in JSON written before it was.
    #[serde(default)]
    pub model_label: String,
    /// [`Options::samples`].
    pub samples: usize,
    /// [`Options::seed`].
    pub seed: u64,
    /// One result per test, in the order run.
    pub results: Vec<SeatResult>,
}

/// A p-value for reading: fixed-point down to 0.001, then scientific.
fn format_p(p: f64) -> String {
    if p.is_finite() && p < 1e-3 {
        format!("{p:.1e}")
    } else {
        format!("{p:.4}")
    }
}

fn sizes(r: &SeatResult) -> String {
    format!("{}/{}/{}/{}", r.n_x, r.n_y, r.n_a, r.n_b)
}

fn method(r: &SeatResult) -> String {
    if r.exact {
        format!("exact ({})", r.samples)
    } else {
        format!("{} random", r.samples)
    }
}

impl SeatReport {
    /// The effect size of each test as a bar from 0 (no association); a test whose p-value is below 0.05 is marked
    /// with `*`. Effect sizes have no interval here: the p-value is the test's measure of chance.
    pub fn chart(&self) -> Result<crate::view::chart::Chart> {
        let rows = self
            .results
            .iter()
            .map(|r| crate::view::chart::IntervalBar {
                label: format!("{}{}", r.test, if r.p_value < 0.05 { " *" } else { "" }),
                value: r.effect_size,
                low: r.effect_size,
                high: r.effect_size,
            })
            .collect();
        crate::view::chart::Chart::bars_with_intervals(
            format!(
                "SEAT/WEAT effect sizes ({}); * p < 0.05",
                if self.model_label.is_empty() { &self.model } else { &self.model_label }
            ),
            "effect size d (from −2 to 2; 0: no association)",
            rows,
            Some(0.0),
        )
    }

    /// Writes one CSV row per test (with a header): the fields of [`SeatResult`].
    pub fn write_csv(&self, out: impl std::io::Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        for result in &self.results {
            writer.serialize(result).map_err(csv_error)?;
        }
        writer.flush().map_err(Error::io("<csv>"))
    }

    /// The report as an HTML table.
    pub fn to_html(&self) -> String {
        let mut table = HtmlTable::new(
            &["test", "X vs Y", "A vs B", "|X|/|Y|/|A|/|B|", "effect size d", "p (one-sided)", "permutations"],
            &[false, false, false, true, true, true, true],
        )
        .caption(format!(
            "SEAT/WEAT on {} <span style=\"font-weight:normal\">(d &gt; 0: X nearer A, Y nearer B)</span>",
            escape(&self.model)
        ));
        for r in &self.results {
            table.row(vec![
                escape(&r.test),
                format!("{} vs {}", escape(&r.x_name), escape(&r.y_name)),
                format!("{} vs {}", escape(&r.a_name), escape(&r.b_name)),
                sizes(r),
                format!("{:+.3}", r.effect_size),
                format_p(r.p_value),
                method(r),
            ]);
        }
        table.to_html()
    }
}

crate::view::show::view!(SeatReport, csv, chart);

impl fmt::Display for SeatReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "SEAT/WEAT on {}  (d > 0: X nearer A, Y nearer B; one-sided permutation p)", self.model)?;
        writeln!(
            f,
            "{:<12} {:<46} {:<26} {:>15} {:>7} {:>8}  permutations",
            "test", "X vs Y", "A vs B", "|X|/|Y|/|A|/|B|", "d", "p"
        )?;
        for r in &self.results {
            writeln!(
                f,
                "{:<12} {:<46} {:<26} {:>15} {:>+7.3} {:>8}  {}",
                r.test,
                format!("{} vs {}", r.x_name, r.y_name),
                format!("{} vs {}", r.a_name, r.b_name),
                sizes(r),
                r.effect_size,
                format_p(r.p_value),
                method(r)
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 2-D embedding.
    fn v(x: f32, y: f32) -> Vec<f32> {
        vec![x, y]
    }

    #[test]
    fn hand_computed_effect_size_and_exact_p_value() {
        // A = {(1,0)}, B = {(0,1)}: s(w) = cos(w, e1) − cos(w, e2) = (w1 − w2) / |w|.
        // X = {(1,0), (4,3)}: s = 1, 4/5 − 3/5 = 0.2.  Y = {(3,4), (0,1)}: s = −0.2, −1.
        // mean X − mean Y = 0.6 − (−0.6) = 1.2; std (ddof 1) of {1, 0.2, −0.2, −1}: mean 0, Σ² = 2.08,
        // √(2.08 / 3) = 0.832666…; d = 1.2 / 0.832666… = 1.441153…
        // Partitions of 4 into 2 + 2: sums 1.2, 0.8, 0, 0, −0.8, −1.2; only the observed one reaches 1.2: p = 1/6.
        let (x, y, a, b) = (vec![v(1., 0.), v(4., 3.)], vec![v(3., 4.), v(0., 1.)], vec![v(1., 0.)], vec![v(0., 1.)]);
        let s_x = associations(&x, &a, &b).unwrap();
        assert!((s_x[0] - 1.0).abs() < 1e-12 && (s_x[1] - 0.2).abs() < 1e-12, "{s_x:?}");
        let stats = weat(&x, &y, &a, &b, &Options::default()).unwrap();
        let expected = 1.2 / (2.08f64 / 3.0).sqrt();
        assert!((stats.effect_size - expected).abs() < 1e-12, "{stats:?}");
        assert!((stats.effect_size - 1.441153).abs() < 1e-6);
        assert_eq!((stats.p_value, stats.exact, stats.samples), (1.0 / 6.0, true, 6));
        // Swapping X and Y flips d and makes every partition reach the observed one's sum (−1.2): p = 1.
        let swapped = weat(&y, &x, &a, &b, &Options::default()).unwrap();
        assert!((swapped.effect_size + expected).abs() < 1e-12);
        assert_eq!(swapped.p_value, 1.0);
    }

    #[test]
    fn ties_count_as_hits() {
        // X = {(1,0), (0,1)}: s = 1, −1 (sum 0); Y = {(4,3), (3,4)}: s = 0.2, −0.2 (mirror images: sum exactly 0).
        // Partition sums: {1,−1} 0 (observed), {1,0.2} 1.2, {1,−0.2} 0.8, {−1,0.2} −0.8, {−1,−0.2} −1.2,
        // {0.2,−0.2} 0 (a tie, counted as weat.py's "conservative test" does): 4 of 6 reach 0, p = 2/3.
        // Both means are 0, so d = 0.
        let (x, y, a, b) = (vec![v(1., 0.), v(0., 1.)], vec![v(4., 3.), v(3., 4.)], vec![v(1., 0.)], vec![v(0., 1.)]);
        let stats = weat(&x, &y, &a, &b, &Options::default()).unwrap();
        assert_eq!(stats.effect_size, 0.0);
        assert_eq!(stats.p_value, 4.0 / 6.0);
    }

    #[test]
    fn exact_up_to_samples_partitions_then_random_with_the_observed_counted() {
        // 2 + 2 items: 6 partitions. samples = 6 → exact; samples = 5 → random, the observed one counted once.
        let (s_x, s_y) = ([1.0, 0.2], [-0.2, -1.0]);
        assert_eq!(p_value(&s_x, &s_y, 6, 1).unwrap(), PValue { p_value: 1.0 / 6.0, exact: true, samples: 6 });
        let sampled = p_value(&s_x, &s_y, 5, 1).unwrap();
        assert!(!sampled.exact && sampled.samples == 5 && sampled.p_value >= 0.2, "{sampled:?}");
        // Fully separated sets of 10: C(20, 10) = 184,756 partitions, of which only the observed one reaches it.
        let (s_x, s_y) = (vec![1.0; 10], vec![-1.0; 10]);
        let exact = p_value(&s_x, &s_y, 200_000, 1).unwrap();
        assert_eq!((exact.p_value, exact.exact, exact.samples), (1.0 / 184_756.0, true, 184_756));
        let sampled = p_value(&s_x, &s_y, 1000, 1).unwrap();
        assert!(!sampled.exact && sampled.p_value >= 1e-3 && sampled.p_value <= 5e-3, "{sampled:?}");
        assert_eq!(sampled, p_value(&s_x, &s_y, 1000, 1).unwrap(), "seeded");
        // No samples at all: weat.py's p is its one hallucinated hit over one, 1.
        assert_eq!(p_value(&s_x, &s_y, 0, 1).unwrap().p_value, 1.0);
    }

    #[test]
    fn combinations_are_enumerated_like_itertools() {
        let mut c = vec![0, 1];
        let mut all = vec![c.clone()];
        while next_combination(&mut c, 4) {
            all.push(c.clone());
        }
        assert_eq!(all, [[0, 1], [0, 2], [0, 3], [1, 2], [1, 3], [2, 3]]);
        assert_eq!(binomial_at_most(16, 8, 100_000), Some(12_870));
        assert_eq!(binomial_at_most(32, 16, 100_000), None);
        assert_eq!(binomial_at_most(512, 256, usize::MAX), None);
    }

    #[test]
    fn bad_tests_are_errors_not_panics() {
        let ok = WeatTest::from_lists("t", ("x", &["a", "b"]), ("y", &["c", "d"]), ("A", &["e"]), ("B", &["f"]));
        assert!(ok.checked_sets().is_ok());
        let unequal = WeatTest { y: vec!["c".into()], ..ok.clone() };
        assert!(matches!(unequal.checked_sets(), Err(Error::InvalidArgument { .. })));
        let empty = WeatTest { a: vec![], ..ok.clone() };
        assert!(empty.checked_sets().is_err());
        let blank = WeatTest { b: vec![" ".into()], ..ok.clone() };
        assert!(blank.checked_sets().is_err());
        // Repeats are dropped as SEAT's dicts drop them: then X has 1 item and Y 2.
        let repeated = WeatTest { x: vec!["a".into(), "a".into()], ..ok.clone() };
        assert!(repeated.checked_sets().is_err());
        assert!(p_value(&[1.0], &[], 10, 1).is_err());
        let e = [v(1., 0.)];
        assert!(weat(&e, &e, &e, &[vec![1f32, 0., 0.]], &Options::default()).is_err());
        assert!(weat::<Vec<f32>>(&[], &[], &[v(1., 0.)], &[v(0., 1.)], &Options::default()).is_err());
        assert!(matches!(parse("{\"targ1\": 3}", "bad", Path::new("bad.jsonl")), Err(Error::InvalidData { .. })));
        assert!(builtin("weat99").is_err());
    }

    #[test]
    fn the_builtin_tests_are_seats_files() {
        let sizes: Vec<(String, [usize; 4])> = builtin_tests()
            .unwrap()
            .iter()
            .map(|t| {
                let s = t.checked_sets().unwrap();
                (t.name.clone(), [s[0].len(), s[1].len(), s[2].len(), s[3].len()])
            })
            .collect();
        let expected = [
            ("weat3", [32, 32, 25, 25]),
            ("sent-weat3", [256, 256, 215, 249]),
            ("weat5", [16, 16, 8, 8]),
            ("sent-weat5", [128, 128, 40, 47]),
            ("weat6", [8, 8, 8, 8]),
            ("sent-weat6", [64, 64, 101, 112]),
            ("weat6b", [8, 8, 8, 8]),
            ("sent-weat6b", [80, 80, 101, 112]),
            ("weat7", [8, 8, 8, 8]),
            ("sent-weat7", [72, 72, 80, 80]),
            ("weat8", [8, 8, 8, 8]),
            ("sent-weat8", [56, 56, 80, 80]),
        ];
        let expected: Vec<(String, [usize; 4])> = expected.iter().map(|(n, s)| (n.to_string(), *s)).collect();
        assert_eq!(sizes, expected);
        let weat6 = builtin("weat6").unwrap();
        assert_eq!(
            (weat6.x_name.as_str(), weat6.x[0].as_str(), weat6.b[7].as_str()),
            ("MaleNames", "John", "relatives")
        );
        let sent = builtin("sent-weat6").unwrap();
        assert_eq!((sent.x[0].as_str(), sent.x[7].as_str()), ("This is John.", "The person's name is John."));
    }

    /// A fake embedder: a word's embedding is (1, 0) if it starts with a vowel, else (0, 1).
    struct Fake;
    impl SentenceEmbedder for Fake {
        fn name(&self) -> String {
            "fake".into()
        }
        fn embed(&self, texts: &[&str]) -> Result<Vec<Vec<f32>>> {
            Ok(texts
                .iter()
                .map(|t| {
                    let vowel = t.starts_with(['a', 'e', 'i', 'o', 'u']);
                    vec![f32::from(u8::from(vowel)), f32::from(u8::from(!vowel))]
                })
                .collect())
        }
    }

    #[test]
    fn reports_show_serialise_and_write_csv() {
        // X = vowel words ~ A (vowels), Y = consonant words ~ B: every s(x) = 1, s(y) = −1, d = 2 / std.
        let test =
            WeatTest::from_lists("toy", ("V", &["an", "in"]), ("C", &["to", "be"]), ("A", &["on"]), ("B", &["by"]));
        let report = run_all(&Fake, &[test.clone(), test], &Options::default()).unwrap();
        let r = &report.results[0];
        // s = 1, 1, −1, −1: mean difference 2, std (ddof 1) √(4/3); d = 2 / 1.1547 = 1.7320508 = √3.
        assert!((r.effect_size - 3f64.sqrt()).abs() < 1e-12, "{r:?}");
        // Of the 6 partitions only the observed one sums to 2: p = 1/6.
        assert_eq!((r.p_value, r.exact, r.n_x, r.n_b), (1.0 / 6.0, true, 2, 1));
        let text = report.to_string();
        assert!(text.contains("toy") && text.contains("+1.732") && text.contains("0.1667"), "{text}");
        assert!(report.to_html().contains("V vs C"));
        let mut csv = Vec::new();
        report.write_csv(&mut csv).unwrap();
        let csv = String::from_utf8(csv).unwrap();
        let header = "test,x_name,y_name,a_name,b_name,effect_size,p_value,n_x,n_y,n_a,n_b,exact,samples\n";
        assert!(csv.starts_with(header), "{csv}");
        assert_eq!(csv.lines().count(), 3);
        let json = serde_json::to_value(&report).unwrap();
        assert_eq!(json["results"][0]["samples"], 6);
    }

    const MINILM: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/models/all-MiniLM-L6-v2");

    #[test]
    fn minilm_embeddings_have_its_size_and_do_not_depend_on_padding() {
        let encoder = SentenceEncoder::from_pretrained(MINILM).expect("the shared all-MiniLM-L6-v2 must be there");
        let texts = ["This is John.", "The person's name is a rather long one, much longer than the first.", "x"];
        let batch = encoder.embed(&texts).unwrap();
        assert_eq!(batch.len(), 3);
        for (text, embedding) in texts.iter().zip(&batch) {
            assert_eq!(embedding.len(), 384);
            assert!(embedding.iter().all(|v| v.is_finite()));
            let alone = encoder.embed(&[text]).unwrap();
            let gap = alone[0].iter().zip(embedding).map(|(a, b)| (a - b).abs()).fold(0f32, f32::max);
            assert!(gap < 1e-5, "{text:?}: alone and padded differ by {gap}");
        }
        assert!(encoder.embed(&[]).unwrap().is_empty());
        let long = "word ".repeat(600);
        assert!(matches!(encoder.embed(&[long.as_str()]), Err(Error::TooLong { .. })));
    }

    /// Runs every built-in test on MiniLM and on the demo model's encoder and prints the reports (slow; needs
    /// `BIASLAB_MINILM_DIR` for the demo model): `cargo test --lib suites::seat -- --ignored --nocapture`.
    #[test]
    #[ignore]
    fn report_builtin_tests() {
        let tests = builtin_tests().unwrap();
        let options = Options::default();
        let start = std::time::Instant::now();
        let minilm = SentenceEncoder::from_pretrained(MINILM).unwrap();
        let report = run_all(&minilm, &tests, &options).unwrap();
        println!("{report}\n(MiniLM: {:.1} s)\n", start.elapsed().as_secs_f64());
        let start = std::time::Instant::now();
        let demo = crate::model::fill_mask::FillMask::demo().unwrap();
        let report = run_all(&demo, &tests, &options).unwrap();
        println!("{report}\n(demo: {:.1} s)", start.elapsed().as_secs_f64());
        let mut csv = Vec::new();
        report.write_csv(&mut csv).unwrap();
        println!("{}", String::from_utf8_lossy(&csv));
    }
}
