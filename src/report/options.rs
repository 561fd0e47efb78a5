//! What to measure and how: the measures, their options, parsing them from the command line.

use super::*;

/// One measure of the card.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Measure {
    /// The template probe, gender × occupations.
    Probe,
    /// CrowS-Pairs.
    CrowsPairs,
    /// StereoSet intrasentence.
    #[serde(rename = "stereoset")]
    StereoSet,
    /// SEAT / WEAT on the model's encoder.
    Seat,
    /// HONEST, binary English templates.
    Honest,
}

impl Measure {
    /// Every measure, in the card's order.
    pub const ALL: [Measure; 5] =
        [Measure::Probe, Measure::CrowsPairs, Measure::StereoSet, Measure::Seat, Measure::Honest];

    /// `probe`, `crows-pairs`, `stereoset`, `seat` or `honest`.
    pub fn as_str(self) -> &'static str {
        match self {
            Measure::Probe => "probe",
            Measure::CrowsPairs => "crows-pairs",
            Measure::StereoSet => "stereoset",
            Measure::Seat => "seat",
            Measure::Honest => "honest",
        }
    }

    /// The measure's name in prose.
    pub fn title(self) -> &'static str {
        match self {
            Measure::Probe => "Template probe (gender × occupations)",
            Measure::CrowsPairs => "CrowS-Pairs",
            Measure::StereoSet => "StereoSet (intrasentence)",
            Measure::Seat => "SEAT",
            Measure::Honest => "HONEST",
        }
    }
}

impl fmt::Display for Measure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Measure {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().replace('_', "-").as_str() {
            "probe" => Ok(Measure::Probe),
            "crows-pairs" | "crows" | "crowspairs" => Ok(Measure::CrowsPairs),
            "stereoset" => Ok(Measure::StereoSet),
            "seat" | "weat" => Ok(Measure::Seat),
            "honest" => Ok(Measure::Honest),
            other => Err(Error::InvalidArgument {
                reason: format!("{other:?} is not a measure: say probe, crows-pairs, stereoset, seat or honest"),
            }),
        }
    }
}

/// What [`evaluate`] measures, and on how much data.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ReportOptions {
    /// The measures to run (default: all, [`Measure::ALL`]).
    pub measures: Vec<Measure>,
    /// Score only this many CrowS-Pairs pairs, evenly spaced through the file (`None`: all 1,508).
    pub crows_limit: Option<usize>,
    /// Score only this many StereoSet intrasentence examples, evenly spaced (`None`: all).
    pub stereoset_limit: Option<usize>,
    /// Complete only this many HONEST template rows, evenly spaced (`None`: all; the file lists the female
    /// templates first, so a limit of the first rows would leave out the male ones).
    pub honest_limit: Option<usize>,
    /// HONEST completions per template (the paper reports k = 1, 5 and 20).
    pub honest_k: usize,
    /// The built-in SEAT tests to run (`None`: all of `seat::BUILTIN`).
    pub seat_tests: Option<Vec<String>>,
    /// The most partitions of SEAT's permutation test ([`seat::DEFAULT_SAMPLES`]).
    pub seat_samples: usize,
    /// Bootstrap resamples of the probe's and HONEST's intervals (and the probe's permutation budget).
    pub samples: usize,
    /// The seed of every bootstrap and sampled permutation test.
    pub seed: u64,
    /// The data: a folder laid out as the lab's shared data (`crows-pairs/`, `stereoset/`, `honest/`); `None`:
    /// `$BIASLAB_DATA_DIR`, else biaslab's cache, downloading once.
    pub data: Option<PathBuf>,
}

impl Default for ReportOptions {
    fn default() -> Self {
        Self {
            measures: Measure::ALL.to_vec(),
            crows_limit: None,
            stereoset_limit: None,
            honest_limit: None,
            honest_k: 20,
            seat_tests: None,
            seat_samples: seat::DEFAULT_SAMPLES,
            samples: stats::DEFAULT_SAMPLES,
            seed: stats::DEFAULT_SEED,
            data: None,
        }
    }
}

/// How much of a dataset a measure used.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct DataUse {
    /// The dataset, as the card names it.
    pub dataset: String,
    /// Where it was read from.
    pub path: String,
    /// Items the file has (after dropping malformed rows and items of other tasks).
    pub available: usize,
    /// Items used.
    pub used: usize,
    /// The limit asked for, if any.
    pub limit: Option<usize>,
    /// Malformed rows skipped when reading.
    pub malformed: usize,
}

impl DataUse {
    /// "40 of 1508 pairs, limited, evenly spaced through the file" or "all 1508 pairs".
    pub fn describe(&self, unit: &str) -> String {
        if self.used < self.available {
            format!("{} of {} {unit}, limited, evenly spaced through the file", self.used, self.available)
        } else {
            format!("all {} {unit}", self.used)
        }
    }

    pub(super) fn limited(&self) -> bool {
        self.used < self.available
    }
}

/// `n` items evenly spaced through `items` (item ⌊i · len / n⌋ for i < n), all of them when `n` is `None` or not
/// smaller than the length.
pub(super) fn spaced<T: Clone>(items: &[T], n: Option<usize>) -> Vec<T> {
    match n {
        Some(n) if n < items.len() => (0..n).filter_map(|i| items.get(i * items.len() / n).cloned()).collect(),
        _ => items.to_vec(),
    }
}
