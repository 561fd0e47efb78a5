//! Lab 04, "Where does the bias come from? Measure the data": the exercise checks and the bridge to lab 01 that
//! notebooks/04_dataset_bias.ipynb calls.
//!
//! Exercise 1 computes normalised pointwise mutual information from counts ([`check_npmi`]), the measure
//! [`crate::measure::dataset`] reports for every word against two identity terms; exercise 2 asks how often the data's skew
//! and the model's skew point the same way ([`check_agreement`]). [`connect`] puts the two side by side: for each
//! occupation, its nPMI gap in the text (Bouma 2009's nPMI, as the Hugging Face Data Measurements Tool computes it)
//! and the log-ratio a template probe measures in the model (lab 02's [`crate::measure::probe`]).

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::measure::dataset::NpmiGap;
use crate::measure::probe::ProbeReport;
use crate::measure::stats::{self, Interval};
use crate::teach::check::{rounded, CheckReport};
use crate::view::chart::{Chart, ScatterPoint};
use crate::view::display::{escape, HtmlTable};

/// The visible checks of exercise 1: `npmi(both, x, y, sentences)` is the normalised pointwise mutual information
/// of two words from binary per-sentence counts — `both` sentences hold the two words, `x` and `y` hold each, of
/// `sentences` in all: with p = count / sentences, nPMI = ln(p_xy / (p_x p_y)) / −ln p_xy (Bouma 2009), and −1 when
/// the two never meet (`both` = 0, the limit of the formula). [`crate::measure::dataset::npmi`] is the library's version.
pub fn check_npmi(npmi: impl Fn(u64, u64, u64, u64) -> f64) -> CheckReport {
    let mut report = CheckReport::new("Exercise 1: normalised PMI from counts");
    report
        .case(
            "words that only ever appear together score 1",
            1.0,
            "p_xy = p_x = p_y = 0.5: ln(0.5 / 0.25) / -ln(0.5) = 1",
            || rounded(npmi(2, 2, 2, 4), 6),
        )
        .case("independent words score 0", 0.0, "p_xy = 0.25 = p_x * p_y = 0.5 * 0.5, so the PMI is ln(1) = 0", || {
            rounded(npmi(1, 2, 2, 4), 6)
        })
        .case(
            "words that never appear together score -1",
            -1.0,
            "when both is 0, ln(0) is minus infinity: return -1.0 before dividing (the formula's limit) (lab 00, §5)",
            || rounded(npmi(0, 2, 2, 4), 6),
        )
        .case(
            "a general case: 3 of 10 sentences hold both, 4 hold x, 5 hold y",
            0.336773,
            "ln(0.3 / (0.4 * 0.5)) / -ln(0.3) = 0.405465 / 1.203973; divide as f64 (3 / 10 in integers is 0) (lab 00, §5)",
            || rounded(npmi(3, 4, 5, 10), 6),
        )
        .case(
            "meeting less often than chance is negative",
            -0.39794,
            "ln(0.1 / (0.5 * 0.5)) / -ln(0.1): the PMI is negative, and so is the nPMI",
            || rounded(npmi(1, 5, 5, 10), 6),
        );
    report
}

/// One occupation in the data and in the model: how much more it goes with one side than with the other.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct SkewPair {
    /// The occupation.
    pub word: String,
    /// Its nPMI gap in the data: nPMI with side A − nPMI with side B (above 0: toward A).
    pub data_gap: f64,
    /// Sentences that hold the word.
    pub count: u64,
    /// Sentences that hold it and side A.
    pub count_a: u64,
    /// Sentences that hold it and side B.
    pub count_b: u64,
    /// Its log-ratio in the model, oriented the same way (above 0: toward the group that matches side A), in nats.
    pub model_gap: f64,
    /// The log-ratio's 95 % bootstrap interval over templates, oriented the same way.
    pub model_interval: Interval,
}

/// The reference for exercise 2: the share of rows whose data gap and model gap are both above 0 or both below 0
/// (a row where either is exactly 0 does not agree); None without rows.
pub fn agreement(rows: &[SkewPair]) -> Option<f64> {
    if rows.is_empty() {
        return None;
    }
    let same = rows.iter().filter(|r| r.data_gap * r.model_gap > 0.0).count();
    Some(same as f64 / rows.len() as f64)
}

fn pair(word: &str, data_gap: f64, model_gap: f64) -> SkewPair {
    let model_interval = Interval { low: model_gap, high: model_gap, level: 0.95 };
    SkewPair { word: word.into(), data_gap, count: 10, count_a: 1, count_b: 1, model_gap, model_interval }
}

/// The visible checks of exercise 2: `agreement(rows)` is the share (0 to 1) of rows where the data's skew and the
/// model's skew point the same way — both `data_gap` and `model_gap` above 0, or both below 0 — and None when there
/// are no rows. A gap of exactly 0 points nowhere, so its row does not agree.
pub fn check_agreement(student: impl Fn(&[SkewPair]) -> Option<f64>) -> CheckReport {
    let mut report = CheckReport::new("Exercise 2: do the data and the model lean the same way?");
    let cases: [(&str, &str, Vec<SkewPair>); 5] = [
        (
            "both toward A, and both toward B: they agree",
            "count rows whose two gaps have the same sign (lab 00, §3: filter and count; §5: as f64)",
            vec![pair("nurse", 0.4, 1.2), pair("carpenter", -0.3, -0.8)],
        ),
        (
            "opposite signs do not agree",
            "one gap above 0 and the other below 0 is a disagreement",
            vec![
                pair("nurse", 0.4, 1.2),
                pair("pilot", 0.2, -0.5),
                pair("chef", -0.2, 0.5),
                pair("carpenter", -0.3, -0.8),
            ],
        ),
        (
            "a gap of exactly 0 points nowhere",
            "0.0 is neither above nor below 0: that row does not agree",
            vec![pair("nurse", 0.0, 1.2), pair("carpenter", -0.3, -0.8), pair("pilot", 0.1, 0.0)],
        ),
        (
            "the size of a gap does not matter, only its sign",
            "compare signs, not values",
            vec![pair("nurse", 0.01, 3.0), pair("carpenter", -0.9, -0.02), pair("chef", 0.5, 0.5)],
        ),
        (
            "no rows: no share",
            "return None when there are no rows (0 / 0 is no answer) (lab 00, §4: Option)",
            Vec::new(),
        ),
    ];
    for (name, hint, rows) in cases {
        let expected = agreement(&rows).map(|a| rounded(a, 6));
        report.case(name, expected, hint, || student(&rows).map(|a| rounded(a, 6)));
    }
    report
}

/// The data and the model side by side, occupation by occupation: see [`connect`].
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Connection {
    /// The data's side A (an identity term or term list, e.g. "female").
    pub a: String,
    /// The data's side B.
    pub b: String,
    /// The model's group that matches side A (e.g. "female").
    pub toward: String,
    /// The other group of the model.
    pub away: String,
    /// One row per occupation both measured, by data gap from most toward A to most toward B.
    pub rows: Vec<SkewPair>,
    /// Occupations the model scored that the data says nothing about: seen in fewer sentences than the
    /// measurement's minimum count, or never in a sentence with either side.
    pub not_in_data: Vec<String>,
    /// [`agreement`] of the rows.
    pub agreement: Option<f64>,
    /// Spearman's rank correlation of the data gaps and the model gaps (average ranks for ties); None with fewer
    /// than 3 rows or when either side is constant.
    pub spearman: Option<f64>,
    /// Its 95 % percentile bootstrap interval over occupations (resamples where it is undefined are left out).
    pub spearman_interval: Option<Interval>,
}

use crate::measure::stats::spearman;

/// Puts the data's nPMI gaps (`data`, side A against side B) beside the model's probe (`model`), for every target
/// of the probe that the data measured and that meets at least one side in some sentence. `toward` names the probe group that matches the data's side A ("female"
/// for data measured as female against male): the model's log-ratio is turned so that above 0 means toward it.
pub fn connect(data: &NpmiGap, model: &ProbeReport, toward: &str) -> Result<Connection> {
    let (sign, away) = if model.group_a() == toward {
        (1.0, model.group_b().to_string())
    } else if model.group_b() == toward {
        (-1.0, model.group_a().to_string())
    } else {
        return Err(Error::InvalidArgument {
            reason: format!(
                "the probe compares the groups {:?} and {:?}; {toward:?} is neither: pass one of the two as `toward`",
                model.group_a(),
                model.group_b()
            ),
        });
    };
    let mut rows = Vec::new();
    let mut not_in_data = Vec::new();
    for target in &model.per_target {
        let Some(row) = data.get(&target.target) else {
            not_in_data.push(target.target.clone());
            continue;
        };
        // Never with either side: the text says nothing about the word's skew (its gap is −1 − −1 = 0).
        let Some(data_gap) = row.gap.filter(|_| row.count_a + row.count_b > 0) else {
            not_in_data.push(target.target.clone());
            continue;
        };
        let (low, high) = (sign * target.interval.low, sign * target.interval.high);
        rows.push(SkewPair {
            word: target.target.clone(),
            data_gap,
            count: row.count,
            count_a: row.count_a,
            count_b: row.count_b,
            model_gap: sign * target.log_ratio,
            model_interval: Interval { low: low.min(high), high: low.max(high), level: target.interval.level },
        });
    }
    rows.sort_by(|x, y| y.data_gap.total_cmp(&x.data_gap).then_with(|| x.word.cmp(&y.word)));
    let xs: Vec<f64> = rows.iter().map(|r| r.data_gap).collect();
    let ys: Vec<f64> = rows.iter().map(|r| r.model_gap).collect();
    let rho = spearman(&xs, &ys);
    let spearman_interval = rho.map(|_| {
        stats::bootstrap(
            rows.len(),
            |idx| {
                let x: Vec<f64> = idx.iter().map(|&i| xs[i]).collect();
                let y: Vec<f64> = idx.iter().map(|&i| ys[i]).collect();
                spearman(&x, &y).unwrap_or(f64::NAN)
            },
            model.samples.max(1),
            0.95,
            model.seed,
        )
    });
    Ok(Connection {
        a: data.a.clone(),
        b: data.b.clone(),
        toward: toward.to_string(),
        away,
        agreement: agreement(&rows),
        rows,
        not_in_data,
        spearman: rho,
        spearman_interval,
    })
}

impl Connection {
    /// The occupations whose data gap and model gap point the same way.
    pub fn agreeing(&self) -> Vec<&SkewPair> {
        self.rows.iter().filter(|r| r.data_gap * r.model_gap > 0.0).collect()
    }

    /// One line: how many occupations, how many agree, and the rank correlation with its interval.
    pub fn summary(&self) -> String {
        let agree = self.agreeing().len();
        let rho = match (self.spearman, &self.spearman_interval) {
            (Some(r), Some(i)) => format!("Spearman's rank correlation {r:.2} (95 % CI [{:.2}, {:.2}])", i.low, i.high),
            _ => "no rank correlation (too few occupations)".to_string(),
        };
        format!(
            "{} occupations in both; the data and the model lean the same way for {agree} of them; {rho}",
            self.rows.len()
        )
    }

    /// A scatter chart: each occupation at (data nPMI gap, model log-ratio), with lines at 0 on both axes; points in
    /// the top-right quarter lean toward side A in both, bottom-left toward side B in both.
    pub fn chart(&self) -> Result<Chart> {
        // A point's area is the number of sentences the word was seen in: an occupation seen twice has a data gap
        // that could easily be otherwise, one seen three hundred times does not.
        let points: Vec<ScatterPoint> = self
            .rows
            .iter()
            .map(|r| ScatterPoint { label: r.word.clone(), x: r.data_gap, y: r.model_gap, size: Some(r.count as f64) })
            .collect();
        if points.is_empty() {
            return Err(Error::Chart(
                "no occupation was measured in both the data and the model: measure more text, one where the probe's \
                 occupations appear with the two sides"
                    .into(),
            ));
        }
        let most = self.rows.iter().map(|r| r.count).max().unwrap_or(0);
        Chart::scatter(
            format!(
                "Occupations: the data's skew against the model's ({} vs {}; area: sentences, up to {most})",
                self.a, self.b
            ),
            format!("data: nPMI({}, word) − nPMI({}, word)", self.a, self.b),
            format!("model: ln P(word | {}) − ln P(word | {})", self.toward, self.away),
            points,
            Some(0.0),
            Some(0.0),
        )
    }

    /// The table as HTML: one row per occupation with its counts beside its scores.
    pub fn to_html(&self) -> String {
        let header = [
            "occupation",
            "sentences",
            &format!("with {}", self.a),
            &format!("with {}", self.b),
            "data nPMI gap",
            "model log-ratio",
            "95 % CI",
            "same way",
        ];
        let mut table = HtmlTable::new(&header, &[false, true, true, true, true, true, false, false])
            .caption(escape(&self.summary()));
        for r in &self.rows {
            table.row(vec![
                escape(&r.word),
                r.count.to_string(),
                r.count_a.to_string(),
                r.count_b.to_string(),
                format!("{:+.3}", r.data_gap),
                format!("{:+.2}", r.model_gap),
                format!("[{:+.2}, {:+.2}]", r.model_interval.low, r.model_interval.high),
                if r.data_gap * r.model_gap > 0.0 { "yes" } else { "no" }.to_string(),
            ]);
        }
        table.to_html()
    }
}

crate::view::show::view!(Connection, chart);

impl fmt::Display for Connection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{}", self.summary())?;
        writeln!(
            f,
            "{:<16} {:>9} {:>7} {:>7} {:>9} {:>9}  same way",
            "occupation",
            "sentences",
            format!("w/ {}", self.a).chars().take(7).collect::<String>(),
            format!("w/ {}", self.b).chars().take(7).collect::<String>(),
            "data gap",
            "model"
        )?;
        for r in &self.rows {
            writeln!(
                f,
                "{:<16} {:>9} {:>7} {:>7} {:>+9.3} {:>+9.2}  {}",
                r.word,
                r.count,
                r.count_a,
                r.count_b,
                r.data_gap,
                r.model_gap,
                if r.data_gap * r.model_gap > 0.0 { "yes" } else { "no" }
            )?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference_npmi(both: u64, x: u64, y: u64, n: u64) -> f64 {
        if both == 0 {
            return -1.0;
        }
        let p = |c: u64| c as f64 / n as f64;
        (p(both) / (p(x) * p(y))).ln() / -p(both).ln()
    }

    #[test]
    fn the_reference_npmi_passes_exercise_1_and_a_wrong_one_fails() {
        assert!(check_npmi(reference_npmi).passed());
        // log base does not matter, but integer division does.
        let integer = |b: u64, x: u64, y: u64, n: u64| {
            if b == 0 {
                return -1.0;
            }
            let p = |c: u64| (c / n) as f64;
            (p(b) / (p(x) * p(y))).ln() / -p(b).ln()
        };
        assert!(!check_npmi(integer).passed());
        let no_zero_rule = |b: u64, x: u64, y: u64, n: u64| {
            let p = |c: u64| c as f64 / n as f64;
            (p(b) / (p(x) * p(y))).ln() / -p(b).ln()
        };
        let report = check_npmi(no_zero_rule);
        assert_eq!(report.passed_count(), 4);
        assert!(check_npmi(|_, _, _, _| -> f64 { todo!() }).passed_count() == 0);
    }

    #[test]
    fn the_checks_match_the_library_npmi() {
        for (b, x, y, n) in [(2, 2, 2, 4), (1, 2, 2, 4), (0, 2, 2, 4), (3, 4, 5, 10), (1, 5, 5, 10)] {
            let library = crate::measure::dataset::npmi(b, x, y, n).unwrap();
            assert!((library - reference_npmi(b, x, y, n)).abs() < 1e-12, "{b} {x} {y} {n}");
        }
    }

    #[test]
    fn agreement_counts_signs_and_the_check_catches_mistakes() {
        assert!(check_agreement(agreement).passed());
        let rows = vec![pair("a", 0.4, 1.2), pair("b", -0.3, 0.8), pair("c", 0.0, 1.0), pair("d", -0.1, -0.1)];
        assert_eq!(agreement(&rows), Some(0.5));
        // Counting a zero as agreeing (>= 0) is caught.
        let lax = |rows: &[SkewPair]| {
            (!rows.is_empty()).then(|| {
                rows.iter().filter(|r| (r.data_gap >= 0.0) == (r.model_gap >= 0.0)).count() as f64 / rows.len() as f64
            })
        };
        assert!(!check_agreement(lax).passed());
        assert!(!check_agreement(|_| Some(0.0)).passed());
    }
}
