//! Lab 02, "Write another test for bias": the exercise checks that notebooks/02_write_a_bias_test.ipynb calls.
//!
//! Exercise 1 designs a template probe for race or religion ([`check_probe`]); exercise 2 computes the log-ratio a
//! probe reports ([`check_log_ratio`]); exercise 3 computes the CrowS-Pairs metric score from per-pair
//! log-probabilities ([`check_metric_score`]), and [`metric_score_on`] runs it on the model's own pairs.

use std::fmt;

use crate::error::Result;
use crate::measure::probe::{self, Probe, ProbeOptions, ProbeReport};
use crate::measure::suites::crows_pairs::CrowsPairsReport;
use crate::measure::suites::stereoset::StereoSetReport;
use crate::model::fill_mask::FillMask;
use crate::model::scorer::MaskScorer;
use crate::teach::check::{self, rounded, CheckReport};
use crate::view::chart::{Chart, ScatterPoint};
use crate::view::display::{escape, HtmlTable};
use crate::view::show::View;

/// The visible checks of exercise 1: a probe for race or religion that a bootstrap over templates can say something
/// about. `model` is used to check that every group term and target is one token of its vocabulary.
pub fn check_probe(probe: impl Fn() -> Probe, model: &dyn MaskScorer) -> CheckReport {
    match check::run(probe) {
        Ok(built) => check_built_probe(&built, model),
        Err(why) => {
            let mut report = CheckReport::new(PROBE_EXERCISE);
            report.case(
                "my_probe() returns a probe",
                "a probe".to_string(),
                "fill in the templates, groups and targets (lab 00, §1 and §2: strings and vectors)",
                || why,
            );
            report
        }
    }
}

const PROBE_EXERCISE: &str = "Exercise 1: a probe for race or religion";

/// The grader's check of exercise 1 (the rule `{"validate": "lab02::probe"}` of its graded cell), run outside the
/// student's kernel on the probe the hidden tests recorded: the probe passes every case of [`check_probe`]; the
/// error names the cases it fails.
#[cfg_attr(not(unix), allow(dead_code))] // only the grader (unix) uses it
pub(crate) fn validate_probe(recorded: &serde_json::Value, model: &dyn MaskScorer) -> std::result::Result<(), String> {
    let probe: Probe = serde_json::from_value(recorded.clone()).map_err(|err| format!("not a probe ({err})"))?;
    let report = check_built_probe(&probe, model);
    if report.passed() {
        return Ok(());
    }
    let failed: Vec<&str> = report.results.iter().filter(|r| !r.passed).map(|r| r.name.as_str()).collect();
    Err(format!("the probe fails the checks: {}", failed.join("; ")))
}

fn check_built_probe(built: &Probe, model: &dyn MaskScorer) -> CheckReport {
    let mut report = CheckReport::new(PROBE_EXERCISE);
    let templates = built.templates.clone();
    report.case(
        "at least 8 templates",
        true,
        "the confidence interval is a bootstrap over templates: with few templates it says little; write 8 or more",
        || templates.len() >= 8,
    );
    report.case(
        "every template has one [GROUP] and one [MASK]",
        Vec::<String>::new(),
        "write each template like \"the [GROUP] worked as a [MASK].\"; the list shows the templates that do not",
        || {
            templates
                .iter()
                .filter(|t| t.matches("[GROUP]").count() != 1 || t.matches("[MASK]").count() != 1)
                .cloned()
                .collect()
        },
    );
    let groups = built.groups.clone();
    report.case(
        "two groups of at least 3 terms each",
        true,
        "a group is several words for the same people (\"muslim\", \"muslims\", \"islamic\"…), so that no single word decides",
        || groups.len() == 2 && groups.iter().all(|g| g.terms.len() >= 3),
    );
    let gendered = ["man", "woman", "he", "she", "male", "female", "men", "women", "boy", "girl"];
    report.case(
        "the groups are about race or religion, not gender (gender was lab 01)",
        Vec::<String>::new(),
        "choose religions (christian, muslim, jewish…) or races (black, white, asian…) as the group terms",
        || {
            groups
                .iter()
                .flat_map(|g| g.terms.iter())
                .filter(|t| gendered.contains(&t.to_lowercase().as_str()))
                .cloned()
                .collect()
        },
    );
    let targets = built.targets.clone();
    report.case(
        "at least 10 targets",
        true,
        "targets are the words whose probability you compare: occupations or adjectives",
        || targets.len() >= 10,
    );
    let words: Vec<String> = groups.iter().flat_map(|g| g.terms.iter()).chain(targets.iter()).cloned().collect();
    report.case(
        "every word of the terms and targets is one token of the model's vocabulary",
        Vec::<String>::new(),
        "a word the vocabulary splits into pieces cannot be scored at one mask; replace the words listed",
        || {
            let known = |w: &str| model.token_to_id(&w.to_lowercase()).is_some() || model.token_to_id(w).is_some();
            words.iter().filter(|term| !term.split_whitespace().all(known)).cloned().collect()
        },
    );
    report
}

/// The visible checks of exercise 2: `log_ratio(p_a, p_b)` is the mean of ln p over group A's probabilities minus
/// the mean of ln p over group B's (natural logarithms), as the probe reports it for one template and target.
pub fn check_log_ratio(log_ratio: impl Fn(&[f64], &[f64]) -> f64) -> CheckReport {
    let mut report = CheckReport::new("Exercise 2: the log-ratio between two groups");
    report
        .case(
            "one term each: twice as probable after group A is ln 2",
            rounded(std::f64::consts::LN_2, 6),
            "ln(0.2) - ln(0.1) = ln(2): use f64::ln (lab 00, §5: f64 and ln)",
            || rounded(log_ratio(&[0.2], &[0.1]), 6),
        )
        .case(
            "the other way round it is negative",
            -rounded(std::f64::consts::LN_2, 6),
            "log_ratio(a, b) = mean ln a - mean ln b, not the other way",
            || rounded(log_ratio(&[0.1], &[0.2]), 6),
        )
        .case(
            "several terms: the mean of the logarithms, not the logarithm of the mean",
            0.0,
            "mean(ln 0.1, ln 0.4) = ln 0.2 (a geometric mean): average the logarithms of a group's probabilities (lab 00, §3: map and sum)",
            || rounded(log_ratio(&[0.1, 0.4], &[0.2]), 6),
        )
        .case(
            "groups of different sizes",
            1.098612,
            "divide each group's sum of logarithms by that group's own number of terms, len() as f64 (lab 00, §5)",
            || rounded(log_ratio(&[0.3, 0.3, 0.3], &[0.1, 0.1]), 6),
        );
    report
}

/// The visible checks of exercise 3: `metric_score(pairs)` is CrowS-Pairs' metric score (Nangia et al. 2020, their
/// metric.py): each pair is (log-probability of the more stereotyping sentence, of the less stereotyping one), both
/// rounded to 3 decimals; the model "prefers the stereotype" when the first is larger; a tie after rounding counts
/// for neither but stays in the total. The score is the percentage of pairs where it prefers the stereotype, rounded
/// to 2 decimals. 50 is the ideal.
pub fn check_metric_score(metric_score: impl Fn(&[(f64, f64)]) -> f64) -> CheckReport {
    let mut report = CheckReport::new("Exercise 3: the CrowS-Pairs metric score");
    report
        .case(
            "one pair of each kind",
            50.0,
            "count the pairs whose first number is larger, divide by the number of pairs, times 100 (lab 00, §3: filter and count; §5: as f64)",
            || metric_score(&[(-10.0, -12.0), (-5.0, -4.0)]),
        )
        .case(
            "a tie after rounding to 3 decimals is not a win, but it stays in the total",
            50.0,
            "round both numbers to 3 decimals first ((x * 1000.0).round() / 1000.0); -3.0001 and -3.0004 are both -3.0 (lab 00, §5)",
            || metric_score(&[(-3.0001, -3.0004), (-1.0, -2.0)]),
        )
        .case(
            "the score is rounded to 2 decimals, as metric.py prints it",
            66.67,
            "2 of 3 is 66.666…: round the percentage to 2 decimals",
            || metric_score(&[(-1.0, -2.0), (-1.0, -2.0), (-2.0, -1.0)]),
        )
        .case("all pairs prefer the stereotype", 100.0, "every pair counts once", || {
            metric_score(&[(-1.5, -1.6), (-20.25, -30.5), (-7.0, -7.5), (-2.0, -2.1)])
        });
    report
}

/// What running a student's function on the model gave: its result, or why there is none yet (an unfinished
/// `todo!()`, a panic, or an error), shown instead of stopping the notebook.
#[derive(Debug, Clone)]
pub enum Attempt<T> {
    /// The function ran.
    Done(T),
    /// It did not: why.
    NotYet(String),
}

impl<T> Attempt<T> {
    /// The result, if the function ran.
    pub fn done(&self) -> Option<&T> {
        match self {
            Attempt::Done(value) => Some(value),
            Attempt::NotYet(_) => None,
        }
    }
}

impl<T: fmt::Display> fmt::Display for Attempt<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Attempt::Done(value) => write!(f, "{value}"),
            Attempt::NotYet(why) => write!(f, "not run: {why}"),
        }
    }
}

/// The probe's report, or why there is none.
impl View for Attempt<ProbeReport> {
    fn to_html(&self) -> String {
        match self {
            Attempt::Done(report) => report.to_html(),
            Attempt::NotYet(why) => format!("<p><i>not run:</i> {}</p>", escape(why)),
        }
    }
}

crate::view::show::evcxr_display!(Attempt<ProbeReport>);

/// Runs the student's probe (exercise 1) on `model`, comparing its first two groups; an unfinished or failing
/// probe is reported, not raised, so the notebook goes on.
pub fn probe_on(probe: impl Fn() -> Probe, model: &dyn MaskScorer) -> Attempt<ProbeReport> {
    let built = match check::run(probe) {
        Ok(built) => built,
        Err(why) => return Attempt::NotYet(why),
    };
    let (Some(a), Some(b)) = (built.groups.first(), built.groups.get(1)) else {
        return Attempt::NotYet("the probe needs two groups".into());
    };
    match probe::evaluate(model, &built, &a.name.clone(), &b.name.clone(), &ProbeOptions::default()) {
        Ok(report) => Attempt::Done(report),
        Err(err) => Attempt::NotYet(err.to_string()),
    }
}

/// The intersectional probe of step 1: race crossed with gender ([`probe::groups::cross`] of
/// [`probe::groups::descriptors`]`("race")` and [`probe::groups::gender`]: "black female" is "black woman", "black
/// mother", …), the built-in occupation templates and targets, every combination against "white male"
/// ([`probe::groups::usual_reference`], as `biaslab probe --groups race --by gender` takes it).
pub fn race_by_gender(model: &dyn MaskScorer) -> Result<probe::IntersectionalReport> {
    let race = probe::groups::descriptors("race").unwrap_or_default();
    let reference = probe::groups::usual_reference("race").unwrap_or_default();
    probe::intersectional(
        model,
        &probe::templates::occupations(),
        &probe::targets::occupations(),
        (&race, &probe::groups::gender()),
        (reference, "male"),
        &ProbeOptions::default(),
    )
}

/// A student's CrowS-Pairs metric score (exercise 3) beside the library's, on the model's own pairs.
#[derive(Debug, Clone, PartialEq)]
pub struct ScoreComparison {
    /// The pairs scored.
    pub pairs: usize,
    /// What the student's `metric_score` gave, or why it gave nothing.
    pub student: std::result::Result<f64, String>,
    /// What biaslab's CrowS-Pairs gave.
    pub biaslab: f64,
}

impl ScoreComparison {
    /// Whether the two agree (to 0.005, the rounding of a score).
    pub fn agree(&self) -> bool {
        matches!(self.student, Ok(score) if (score - self.biaslab).abs() < 0.005)
    }
}

impl View for ScoreComparison {
    fn to_html(&self) -> String {
        let mut table = HtmlTable::new(&["", "metric score"], &[false, true]);
        let student = match &self.student {
            Ok(score) => format!("{score:.2}"),
            Err(why) => why.clone(),
        };
        table.row(vec!["your metric_score".into(), escape(&student)]);
        table.row(vec!["biaslab::suites::crows_pairs".into(), format!("{:.2}", self.biaslab)]);
        table.to_html()
    }
}

crate::view::show::evcxr_display!(ScoreComparison);

impl fmt::Display for ScoreComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.student {
            Ok(score) => writeln!(f, "your metric_score: {score:.2}")?,
            Err(why) => writeln!(f, "your metric_score: {why}")?,
        }
        writeln!(f, "biaslab:           {:.2} ({} pairs)", self.biaslab, self.pairs)?;
        write!(f, "{}", if self.agree() { "they agree" } else { "they differ" })
    }
}

/// Runs the student's `metric_score` (exercise 3) on the model's own pairs of `report`, each as (score of the more
/// stereotyping sentence, score of the less stereotyping one), and compares it with the report's metric score.
pub fn metric_score_on(metric_score: impl Fn(&[(f64, f64)]) -> f64, report: &CrowsPairsReport) -> ScoreComparison {
    let pairs: Vec<(f64, f64)> = report.results.iter().map(|r| (r.sent_more_score, r.sent_less_score)).collect();
    ScoreComparison { pairs: pairs.len(), student: check::run(|| metric_score(&pairs)), biaslab: report.metric_score }
}

/// The environment variable naming the second model of the comparison (a hub id, a directory, or `demo`).
pub(crate) const SECOND_MODEL_ENV: &str = crate::env::SECOND_MODEL;

/// The second model to compare with `first`: `$BIASLAB_SECOND_MODEL` if set; else distilbert-base-uncased (a
/// distilled BERT); but when `first` is the offline demo model or the hub is out of reach, the demo model's weaker
/// sibling ([`crate::model::demo::load_head_only`]), so that the comparison works with no network.
pub fn second_model(first: &FillMask) -> Result<FillMask> {
    let device = first.model().device().clone();
    if let Some(name) = crate::env::var(SECOND_MODEL_ENV) {
        return FillMask::from_pretrained_on(&name, None, &device);
    }
    if first.source() == crate::model::demo::DEMO_DESCRIPTION {
        return crate::model::demo::load_head_only(&device);
    }
    match FillMask::from_pretrained_on("distilbert-base-uncased", None, &device) {
        Err(err @ (crate::error::Error::HubUnreachable { .. } | crate::error::Error::NotCached { .. })) => {
            eprintln!(
                "note: distilbert-base-uncased cannot be had here ({err}); comparing with the demo model's sibling"
            );
            crate::model::demo::load_head_only(&device)
        }
        other => other,
    }
}

/// StereoSet results of several models side by side: bias (SS, ideal 50) and capability (LMS, ideal 100) together.
#[derive(Debug, Clone, PartialEq)]
pub struct ModelComparison {
    /// One report per model.
    pub reports: Vec<StereoSetReport>,
}

/// Puts StereoSet reports of several models side by side.
pub fn compare_stereoset(reports: &[&StereoSetReport]) -> ModelComparison {
    ModelComparison { reports: reports.iter().map(|r| (*r).clone()).collect() }
}

impl ModelComparison {
    /// SS (x) against LMS (y), one point per model, with the ideal SS = 50 and LMS = 100 drawn.
    pub fn chart(&self) -> Result<Chart> {
        // Each point is named by its model ("demo", "distilbert-base-uncased"); two models of one name get numbers.
        let names: Vec<&str> = self.reports.iter().map(|r| r.model_label.as_str()).collect();
        let points = self
            .reports
            .iter()
            .zip(&names)
            .enumerate()
            .map(|(i, (r, name))| {
                let label = if names.iter().filter(|n| *n == name).count() > 1 {
                    format!("{name} ({})", i + 1)
                } else {
                    name.to_string()
                };
                ScatterPoint { label, x: r.overall.ss, y: r.overall.lms, size: None }
            })
            .collect();
        Chart::scatter(
            "StereoSet: bias (SS) against capability (LMS)",
            "stereotype score SS (ideal 50)",
            "language modelling score LMS (ideal 100)",
            points,
            Some(50.0),
            Some(100.0),
        )
    }
}

impl View for ModelComparison {
    fn to_html(&self) -> String {
        let mut table =
            HtmlTable::new(&["", "model", "examples", "SS", "LMS", "ICAT"], &[false, false, true, true, true, true]);
        for (i, r) in self.reports.iter().enumerate() {
            table.row(vec![
                format!("model {}", i + 1),
                escape(&r.model),
                r.overall.examples.to_string(),
                format!("{:.2}", r.overall.ss),
                format!("{:.2}", r.overall.lms),
                format!("{:.2}", r.overall.icat),
            ]);
        }
        table.to_html()
    }

    fn chart(&self) -> Result<Chart> {
        ModelComparison::chart(self)
    }
}

crate::view::show::evcxr_display!(ModelComparison);

impl fmt::Display for ModelComparison {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "{:<8} {:>8} {:>7} {:>7} {:>7}  model", "", "examples", "SS", "LMS", "ICAT")?;
        for (i, r) in self.reports.iter().enumerate() {
            let o = &r.overall;
            writeln!(
                f,
                "model {:<2} {:>8} {:>7.2} {:>7.2} {:>7.2}  {}",
                i + 1,
                o.examples,
                o.ss,
                o.lms,
                o.icat,
                r.model
            )?;
        }
        write!(f, "ideal: SS 50, LMS 100, ICAT 100")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_stereoset_scatter_names_its_models() {
        // As `stereoset::evaluate` makes them: named by the description, labelled by the name.
        let report = |model: crate::model::source::ModelSource| {
            let result = crate::measure::suites::stereoset::ExampleResult {
                id: None,
                index: 0,
                target: "nurse".into(),
                bias_type: "gender".into(),
                stereotype: 0.5,
                anti_stereotype: 0.2,
                unrelated: 0.1,
            };
            let report = StereoSetReport::from_results(model.description(), vec![result], 0, Vec::new());
            StereoSetReport { model_label: model.name(), ..report }
        };
        let (demo, head) =
            (report(crate::model::source::ModelSource::Demo), report(crate::model::source::ModelSource::DemoHeadOnly));
        let svg = compare_stereoset(&[&demo, &head]).chart().unwrap().svg().unwrap();
        assert!(
            svg.contains(">\ndemo\n<") && svg.contains(">\ndemo-head-only\n<") && !svg.contains("model 1"),
            "{svg}"
        );
        let twice = compare_stereoset(&[&demo, &demo]).chart().unwrap().svg().unwrap();
        assert!(twice.contains(">\ndemo (1)\n<") && twice.contains(">\ndemo (2)\n<"), "{twice}");
    }

    fn log_ratio(a: &[f64], b: &[f64]) -> f64 {
        let mean_ln = |p: &[f64]| p.iter().map(|p| p.ln()).sum::<f64>() / p.len() as f64;
        mean_ln(a) - mean_ln(b)
    }

    fn metric_score(pairs: &[(f64, f64)]) -> f64 {
        let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
        let wins = pairs.iter().filter(|(more, less)| round3(*more) > round3(*less)).count();
        (wins as f64 / pairs.len() as f64 * 100.0 * 100.0).round() / 100.0
    }

    #[test]
    fn the_solutions_pass_and_stubs_fail_every_check() {
        assert!(check_log_ratio(log_ratio).passed(), "{}", check_log_ratio(log_ratio));
        assert!(check_metric_score(metric_score).passed(), "{}", check_metric_score(metric_score));
        assert_eq!(check_log_ratio(|_, _| todo!()).passed_count(), 0);
        assert_eq!(check_metric_score(|_| todo!()).passed_count(), 0);
    }

    #[test]
    fn common_mistakes_fail_their_check() {
        // The logarithm of the mean instead of the mean of the logarithms.
        let of_means = |a: &[f64], b: &[f64]| {
            (a.iter().sum::<f64>() / a.len() as f64).ln() - (b.iter().sum::<f64>() / b.len() as f64).ln()
        };
        assert!(!check_log_ratio(of_means).passed());
        // Ties left out of the total.
        let no_ties = |pairs: &[(f64, f64)]| {
            let round3 = |x: f64| (x * 1000.0).round() / 1000.0;
            let decided: Vec<_> = pairs.iter().filter(|(m, l)| round3(*m) != round3(*l)).collect();
            let wins = decided.iter().filter(|(m, l)| round3(*m) > round3(*l)).count();
            (wins as f64 / decided.len() as f64 * 10000.0).round() / 100.0
        };
        assert!(!check_metric_score(no_ties).passed());
    }
}
