//! Lab 05, "Audit a model" (the final project): what notebooks/05_audit_a_model.ipynb calls.
//!
//! The student states where a model would be used, runs tests of their choice on it and on a second model, and
//! writes the bias section of its model card. An [`Audit`] holds what ran: one [`Finding`] per test and model, each
//! with its figure, interval and p-value, made only by running the test (its fields are private, so a finding cannot
//! be typed in). [`Audit::draft_card`] turns a `biaslab report` card ([`crate::report::ModelCardReport`]) and the
//! findings into a draft the student edits; [`checklist`] says what the auto-graded part asks (tests ran, at least
//! one beyond a binary gender contrast, two models compared, the context stated, every figure of the audit in the
//! card as measured) and [`check_audit`] shows it as ✓/✗ with hints.
//!
//! What it cannot check: whether the tests suit the context, whether the card's prose reads its numbers right. Those
//! are the hand-graded written answers' job.

use std::fmt;

use serde::Serialize;

use crate::error::{Error, Result};
use crate::measure::probe::{self, groups, targets, templates, Probe, ProbeOptions};
use crate::measure::stats::{self, Interval};
use crate::measure::suites::crows_pairs::{self, Variant};
use crate::model::fill_mask::FillMask;
use crate::model::scorer::MaskScorer;
use crate::report::{self, ChartFiles, Measure, ModelCardReport, ReportOptions};
use crate::teach::check::{self, CheckReport};
use crate::view::chart::{Chart, IntervalBar};
use crate::view::display::{escape, evcxr_block, HtmlTable};

/// What a test compares.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    /// Two groups of one attribute (female and male; black and white; …).
    TwoGroups,
    /// Identities beyond a binary gender contrast: HONEST's queer and non-queer gender terms.
    BeyondBinary,
    /// Combinations of two attributes ("black female") against a reference, with their interaction.
    Intersectional,
    /// A benchmark of sentence pairs (CrowS-Pairs).
    Benchmark,
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Kind::TwoGroups => "two groups",
            Kind::BeyondBinary => "beyond binary gender",
            Kind::Intersectional => "intersectional",
            Kind::Benchmark => "benchmark",
        })
    }
}

/// One test run on one model.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Finding {
    model: String,
    test: String,
    kind: Kind,
    figure: f64,
    unit: &'static str,
    interval: Interval,
    p_value: Option<f64>,
    detail: String,
}

impl Finding {
    /// The model tested, as the card names it.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The test ("probe: queer gender vs nonqueer gender").
    pub fn test(&self) -> &str {
        &self.test
    }

    /// What the test compares.
    pub fn kind(&self) -> Kind {
        self.kind
    }

    /// The test's headline figure: a probe's gap in nats, CrowS-Pairs' metric score in %.
    pub fn figure(&self) -> f64 {
        self.figure
    }

    /// Its 95 % interval: a percentile bootstrap over templates for a probe, Wilson's for CrowS-Pairs' share of pairs
    /// (as the card's own CrowS-Pairs figures).
    pub fn interval(&self) -> Interval {
        self.interval
    }

    /// Its permutation p-value, where the test has one.
    pub fn p_value(&self) -> Option<f64> {
        self.p_value
    }

    /// The figure as the card prints it: two decimals, then the unit and the interval.
    pub fn figure_text(&self) -> String {
        format!("{:.2} {} [{:.2}, {:.2}]", self.figure, self.unit, self.interval.low, self.interval.high)
    }

    /// The figure with two decimals, as the card must state it.
    pub fn figure_short(&self) -> String {
        format!("{:.2}", self.figure)
    }

    /// What else the reader needs: the comparison, the group that stands out, the data used.
    pub fn detail(&self) -> &str {
        &self.detail
    }
}

/// An audit: the deployment context and every test run, on every model. Findings are added only by running a
/// test ([`Audit::probe`], [`Audit::intersectional`], [`Audit::crows_pairs`]).
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct Audit {
    context: String,
    findings: Vec<Finding>,
    problem: Option<String>,
}

/// The group sets [`Audit::probe`] and [`Audit::intersectional`] know.
pub const GROUP_SETS: [&str; 5] = ["gender", "race", "religion", "age", "queer-nonqueer"];

impl Audit {
    /// An audit of a model to be used as `context` says (who uses it, for what, who could be harmed).
    pub fn new(context: &str) -> Self {
        Self { context: context.trim().to_string(), ..Self::default() }
    }

    /// The deployment context.
    pub fn context(&self) -> &str {
        &self.context
    }

    /// Every finding, in the order the tests ran.
    pub fn findings(&self) -> &[Finding] {
        &self.findings
    }

    /// Why the audit could not be made (the student's code panicked or returned an error), if it could not.
    pub fn problem(&self) -> Option<&str> {
        self.problem.as_deref()
    }

    /// The models tested, each once, in the order they were first tested.
    pub fn models(&self) -> Vec<&str> {
        let mut models: Vec<&str> = Vec::new();
        for f in &self.findings {
            if !models.contains(&f.model()) {
                models.push(f.model());
            }
        }
        models
    }

    /// Lab 02's template probe (occupation templates and targets) on `model`, comparing the first two groups of
    /// `set`: gender (male, female), race (black, white), religion, age, or queer-nonqueer (HONEST's queer gender
    /// and non-queer gender terms, a test [`Kind::BeyondBinary`]).
    pub fn probe(&mut self, model: &FillMask, set: &str) -> Result<&Finding> {
        let group_set = groups::named(set).ok_or_else(|| unknown_set(set, &GROUP_SETS))?;
        let kind = if group_set == groups::queer_nonqueer() { Kind::BeyondBinary } else { Kind::TwoGroups };
        let (a, b) = (group_set[0].name.clone(), group_set[1].name.clone());
        let probe = Probe { templates: templates::occupations(), groups: group_set, targets: targets::occupations() };
        let report = probe::evaluate(model, &probe, &a, &b, &ProbeOptions::default())?;
        let toward = |gaps: &mut dyn Iterator<Item = &probe::TargetGap>| {
            let names: Vec<String> = gaps.take(3).map(|g| g.target.clone()).collect();
            if names.is_empty() {
                "none".to_string()
            } else {
                names.join(", ")
            }
        };
        let detail = format!(
            "{} occupations, {} templates; most toward {a}: {}; most toward {b}: {}",
            report.targets.len(),
            report.templates.len(),
            toward(&mut report.per_target.iter().filter(|g| g.log_ratio > 0.0)),
            toward(&mut report.per_target.iter().rev().filter(|g| g.log_ratio < 0.0)),
        );
        Ok(self.push(Finding {
            model: model.label(),
            test: format!("probe: {a} vs {b}"),
            kind,
            figure: report.gap,
            unit: "nats",
            interval: report.gap_interval,
            p_value: Some(report.p_value),
            detail,
        }))
    }

    /// Lab 02's intersectional probe on `model`: every descriptor of `set` (race, religion or age) crossed with
    /// gender, against the usual reference ("white male"). The finding is the combination whose interaction (what
    /// neither attribute alone explains) is largest; its interval and p-value are that combination's, not corrected
    /// for choosing the largest of several (the detail says of how many).
    pub fn intersectional(&mut self, model: &FillMask, set: &str) -> Result<&Finding> {
        let first = groups::descriptors(set).ok_or_else(|| unknown_set(set, &["race", "religion", "age"]))?;
        let reference = groups::usual_reference(set).unwrap_or_default();
        let report = probe::intersectional(
            model,
            &templates::occupations(),
            &targets::occupations(),
            (&first, &groups::gender()),
            (reference, "male"),
            &ProbeOptions::default(),
        )?;
        let largest = report
            .combinations
            .iter()
            .filter_map(|c| c.interaction.as_ref().map(|i| (c, i)))
            .max_by(|x, y| x.1.gap.total_cmp(&y.1.gap))
            .ok_or_else(|| Error::InvalidArgument {
                reason: format!("{set} × gender has no combination with an interaction: use race, religion or age"),
            })?;
        let (combination, interaction) = largest;
        let of = report.combinations.iter().filter(|c| c.interaction.is_some()).count();
        let detail = format!(
            "largest interaction of {of}: {} against {} (its p and interval not corrected for picking the largest); \
             its gap against {} {:.2} nats",
            combination.group, report.reference, report.reference, combination.gap
        );
        Ok(self.push(Finding {
            model: model.label(),
            test: format!("intersectional: {set} × gender, interaction"),
            kind: Kind::Intersectional,
            figure: interaction.gap,
            unit: "nats",
            interval: interaction.interval,
            p_value: Some(interaction.p_value),
            detail,
        }))
    }

    /// CrowS-Pairs on `model`: the pairs of `bias_type` (all types when None), at most `limit` of them (the first
    /// ones, in the file's order), scored by `variant`. The figure is the metric score (% of pairs where the more
    /// stereotyping sentence scores higher; 50 is no preference), with Wilson's 95 % interval.
    pub fn crows_pairs(
        &mut self,
        model: &FillMask,
        bias_type: Option<&str>,
        limit: usize,
        variant: Variant,
    ) -> Result<&Finding> {
        let loaded = crows_pairs::load(None)?;
        let of_type: Vec<crows_pairs::Pair> =
            loaded.items.into_iter().filter(|p| bias_type.is_none_or(|t| p.bias_type == t)).collect();
        let available = of_type.len();
        let pairs: Vec<crows_pairs::Pair> = of_type.into_iter().take(limit).collect();
        if pairs.is_empty() {
            return Err(Error::InvalidArgument {
                reason: format!(
                    "no CrowS-Pairs pair of type {:?} (or a limit of 0): name a type such as gender, religion or \
                     race-color, and a limit above 0",
                    bias_type.unwrap_or("any")
                ),
            });
        }
        let report = crows_pairs::evaluate(model, &pairs, &crows_pairs::Options { variant })?;
        let wins = report.results.iter().filter(|r| r.win).count();
        let wilson = stats::wilson(wins, report.results.len(), 0.95);
        let interval = Interval { low: 100.0 * wilson.low, high: 100.0 * wilson.high, level: wilson.level };
        Ok(self.push(Finding {
            model: model.label(),
            test: format!("CrowS-Pairs {}: {}", bias_type.unwrap_or("all types"), variant.as_str()),
            kind: Kind::Benchmark,
            figure: report.metric_score,
            unit: "%",
            interval,
            p_value: None,
            detail: format!(
                "the first {} of {available} {} pairs in the file, {} scored; 50 = no preference",
                pairs.len(),
                bias_type.unwrap_or("CrowS-Pairs"),
                report.pairs
            ),
        }))
    }

    fn push(&mut self, finding: Finding) -> &Finding {
        self.findings.push(finding);
        &self.findings[self.findings.len() - 1]
    }

    /// A draft of the card's bias section: `card`'s (what `biaslab report` writes), then the deployment context
    /// and a table of every finding, model by model. The student edits it; [`checklist`] then checks that the
    /// edited card still states every finding's figure.
    pub fn draft_card(&self, card: &ModelCardReport) -> String {
        let mut draft = card.to_markdown(&ChartFiles::new());
        draft.push_str("\n## Audit\n\n### Deployment context\n\n");
        draft.push_str(if self.context.is_empty() { "(not stated)" } else { &self.context });
        draft.push_str("\n\n### Further tests\n\n| test | kind | model | figure [95 % CI] | p | notes |\n");
        draft.push_str("| --- | --- | --- | --- | --- | --- |\n");
        for f in &self.findings {
            let p = f.p_value.map_or("–".to_string(), |p| format!("{p:.3}"));
            draft.push_str(&format!(
                "| {} | {} | {} | {} | {p} | {} |\n",
                f.test,
                f.kind,
                f.model,
                f.figure_text(),
                f.detail
            ));
        }
        draft
    }

    /// The findings measured in nats (the probes) as bars with their intervals, one per test and model.
    pub fn chart(&self) -> Result<Chart> {
        let rows: Vec<IntervalBar> = self
            .findings
            .iter()
            .filter(|f| f.unit == "nats")
            .map(|f| IntervalBar {
                label: format!("{} · {}", f.test.trim_start_matches("probe: "), f.model),
                value: f.figure,
                low: f.interval.low,
                high: f.interval.high,
            })
            .collect();
        Chart::bars_with_intervals("The audit's probes, model by model", "gap (nats), 95 % CI", rows, Some(0.0))
    }

    /// The findings as a table, or why there are none.
    pub fn to_html(&self) -> String {
        if let Some(problem) = &self.problem {
            return format!("<p><b>No audit:</b> {}</p>", escape(problem));
        }
        let mut table =
            HtmlTable::new(&["test", "kind", "model", "figure [95 % CI]", "p"], &[false, false, false, true, true])
                .caption(format!("Audit: {} findings on {} models", self.findings.len(), self.models().len()));
        for f in &self.findings {
            table.row(vec![
                escape(&f.test),
                escape(&f.kind.to_string()),
                escape(&f.model),
                escape(&f.figure_text()),
                f.p_value.map_or("–".into(), |p| format!("{p:.3}")),
            ]);
        }
        let mut html = table.to_html();
        if let Ok(svg) = self.chart().and_then(|c| c.svg()) {
            html.push_str(&format!("<div class=\"biaslab-chart\">{svg}</div>"));
        }
        html
    }
}

crate::view::show::view!(Audit, chart);

impl fmt::Display for Audit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(problem) = &self.problem {
            return writeln!(f, "No audit: {problem}");
        }
        writeln!(f, "Audit: {} findings on {} models", self.findings.len(), self.models().len())?;
        for x in &self.findings {
            writeln!(f, "  {} ({}), {}: {}", x.test, x.kind, x.model, x.figure_text())?;
        }
        Ok(())
    }
}

/// Markdown text (a card, a draft) that a notebook shows rendered, with the text itself as the plain alternative.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Markdown(pub String);

impl Markdown {
    /// Shows the text in the evcxr Jupyter kernel, rendered as Markdown (a YAML header between `---` lines, as a
    /// model card starts with, shown as a code block rather than read as Markdown).
    // Not a `View`: its notebook form is Markdown for Jupyter to render, not HTML that biaslab writes.
    pub fn evcxr_display(&self) {
        let text = self.0.trim_end();
        let rendered = match text.strip_prefix("---\n").and_then(|rest| rest.split_once("\n---\n")) {
            Some((header, body)) => format!("```yaml\n---\n{header}\n---\n```\n{body}"),
            None => text.to_string(),
        };
        println!("{}\n{}", evcxr_block("text/markdown", &rendered), evcxr_block("text/plain", text));
    }
}

impl fmt::Display for Markdown {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

fn unknown_set(set: &str, known: &[&str]) -> Error {
    Error::InvalidArgument { reason: format!("{set:?} is not a group set here: use one of {}", known.join(", ")) }
}

/// Runs the student's audit without letting a panic or an error escape: the audit it made, or an empty one that
/// says why there is none (a `todo!()` reads "not done yet").
pub fn attempt(student: impl FnOnce() -> Result<Audit>) -> Audit {
    match check::run(student) {
        Ok(Ok(audit)) => audit,
        Ok(Err(err)) => Audit { problem: Some(format!("your audit returned an error: {err}")), ..Audit::default() },
        Err(why) => Audit { problem: Some(why), ..Audit::default() },
    }
}

/// Loads the models `names` gives (each as `FillMask::from_pretrained_or_demo` does); when the student's
/// `names` is not written yet, or names none, the lab's default pair, `BIASLAB_MODEL` (or bert-base-uncased, or the
/// demo model offline) and demo-head-only, saying so.
pub fn load_models(names: impl FnOnce() -> Vec<String>) -> Result<Vec<FillMask>> {
    let names = match check::run(names) {
        Ok(names) if !names.is_empty() => names,
        outcome => {
            let why = outcome.err().unwrap_or_else(|| "no model named".into());
            println!("{why}; auditing the lab's default pair instead");
            default_models()
        }
    };
    names.iter().map(|name| FillMask::from_pretrained_or_demo(name, None, &candle_core::Device::Cpu)).collect()
}

/// The lab's default pair: the lab's model (`BIASLAB_MODEL`, else bert-base-uncased, the demo model offline)
/// and demo-head-only, the demo model's weaker sibling.
pub fn default_models() -> Vec<String> {
    let first = crate::env::model();
    // Two different models even when the lab's model is the head-only one.
    let second = match crate::model::source::ModelSource::parse(&first) {
        crate::model::source::ModelSource::DemoHeadOnly => crate::model::source::DEMO_NAME,
        _ => crate::model::source::HEAD_ONLY_NAME,
    };
    vec![first, second.to_string()]
}

/// The card `biaslab report --measures probe,crows-pairs --crows-limit 100` writes for `model`: the starting point of
/// the audit's card (the command line's defaults otherwise: every pair and every measure, several minutes on
/// bert-base-uncased).
pub fn card_report(model: &FillMask) -> Result<ModelCardReport> {
    let options = ReportOptions {
        measures: vec![Measure::Probe, Measure::CrowsPairs],
        crows_limit: Some(100),
        ..ReportOptions::default()
    };
    report::evaluate(model, &options, &indicatif::ProgressBar::hidden())
}

/// What the auto-graded part of the audit asks, each true or false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub struct Checklist {
    /// The context says, in at least 15 words, who uses the model and for what.
    pub context_stated: bool,
    /// At least two different tests ran on the first model.
    pub tests_ran: bool,
    /// At least one test on the first model went beyond a binary gender contrast (queer / non-queer terms, or
    /// intersectional).
    pub beyond_binary: bool,
    /// At least two models were tested, each with at least one test the other had too.
    pub models_compared: bool,
    /// The card states the deployment context, and each finding's figure (two decimals) on a line that names its
    /// model and its test, as the draft's table does.
    pub card_matches: bool,
}

/// The checklist of `audit` and the student's `card`.
pub fn checklist(audit: &Audit, card: &str) -> Checklist {
    let models = audit.models();
    let findings_of = |model: &str| -> Vec<&Finding> { audit.findings.iter().filter(|f| f.model == model).collect() };
    let first = models.first().map(|m| findings_of(m)).unwrap_or_default();
    let mut first_tests: Vec<&str> = first.iter().map(|f| f.test.as_str()).collect();
    first_tests.sort_unstable();
    first_tests.dedup();
    let shared = models.iter().skip(1).any(|m| findings_of(m).iter().any(|f| first_tests.contains(&f.test.as_str())));
    let context = audit.context.trim();
    let lines: Vec<&str> = card.lines().collect();
    let stated = |f: &Finding| {
        lines.iter().any(|line| {
            has_word(line, &f.model) && line.contains(f.test.as_str()) && has_number(line, &f.figure_short())
        })
    };
    Checklist {
        context_stated: context.split_whitespace().count() >= 15,
        tests_ran: first_tests.len() >= 2,
        beyond_binary: first.iter().any(|f| matches!(f.kind, Kind::BeyondBinary | Kind::Intersectional)),
        models_compared: shared,
        card_matches: !audit.findings.is_empty()
            && !context.is_empty()
            && card.contains(context)
            && audit.findings.iter().all(stated),
    }
}

/// Whether `word` (a model's name) is in `line` as a whole name: not inside a longer one ("demo" in "demo-head-only").
fn has_word(line: &str, word: &str) -> bool {
    occurs_bounded(line, word, |c| c.is_alphanumeric() || "-_./".contains(c))
}

/// Whether the number `number` ("0.51") is in `line` as a whole number: not inside a longer one ("10.51", "0.512").
fn has_number(line: &str, number: &str) -> bool {
    occurs_bounded(line, number, |c| c.is_ascii_digit() || c == '.')
}

/// Whether `needle` occurs in `text` with no character that `part` accepts right before or right after it.
fn occurs_bounded(text: &str, needle: &str, part: impl Fn(char) -> bool) -> bool {
    !needle.is_empty()
        && text.match_indices(needle).any(|(at, _)| {
            let before = text[..at].chars().next_back();
            let after = text[at + needle.len()..].chars().next();
            !before.is_some_and(&part) && !after.is_some_and(&part)
        })
}

/// The visible check of the audit: each item of [`checklist`] as ✓ or ✗, with a hint.
pub fn check_audit(audit: &Audit, card: &str) -> CheckReport {
    let mut report = CheckReport::new("The audit: tests, models and the card");
    if let Some(problem) = audit.problem() {
        let hint = format!("{problem}: finish run_audit above, then run this cell again");
        return report.case("the audit ran", true, &hint, || false).clone();
    }
    let c = checklist(audit, card);
    report
        .case(
            "the deployment context is stated (15 words or more)",
            true,
            "say who would use the model, for what, and who could be harmed, in deployment_context",
            || c.context_stated,
        )
        .case(
            "at least two different tests ran on the first model",
            true,
            "call two of audit.probe, audit.intersectional and audit.crows_pairs on the first model",
            || c.tests_ran,
        )
        .case(
            "at least one test on the first model goes beyond binary gender",
            true,
            "audit.probe(model, \"queer-nonqueer\") or audit.intersectional(model, \"race\")",
            || c.beyond_binary,
        )
        .case(
            "a second model ran at least one of the same tests",
            true,
            "loop over both models (two different ones) with the same tests",
            || c.models_compared,
        )
        .case(
            "the card states the context and every figure as measured",
            true,
            "start from the draft: keep the context word for word, and its table (each figure, two decimals, on a line \
             that names its test and its model)",
            || c.card_matches,
        );
    report
}

#[cfg(test)]
mod tests {
    use super::*;

    fn finding(model: &str, test: &str, kind: Kind, figure: f64) -> Finding {
        Finding {
            model: model.into(),
            test: test.into(),
            kind,
            figure,
            unit: "nats",
            interval: Interval { low: figure - 0.1, high: figure + 0.1, level: 0.95 },
            p_value: Some(0.01),
            detail: String::new(),
        }
    }

    const CONTEXT: &str = "A résumé screening tool ranks applicants for hospital jobs; applicants of every gender and \
                           background could be ranked lower for who they are.";

    fn audit() -> Audit {
        let mut audit = Audit::new(CONTEXT);
        for model in ["demo", "demo-head-only"] {
            audit.push(finding(model, "probe: male vs female", Kind::TwoGroups, 0.4321));
            audit.push(finding(model, "probe: queer gender vs nonqueer gender", Kind::BeyondBinary, 0.1234));
        }
        audit
    }

    #[test]
    fn a_complete_audit_and_its_draft_pass_every_item() {
        let audit = audit();
        let lines: Vec<String> =
            audit.findings.iter().map(|f| format!("| {} | {} | {} |", f.test, f.model, f.figure_text())).collect();
        let card = format!("# Card\n{}", lines.join("\n"));
        let card = format!("{card}\n{CONTEXT}");
        let c = checklist(&audit, &card);
        assert_eq!(
            c,
            Checklist {
                context_stated: true,
                tests_ran: true,
                beyond_binary: true,
                models_compared: true,
                card_matches: true
            }
        );
        assert!(check_audit(&audit, &card).passed());
    }

    #[test]
    fn a_card_with_a_changed_figure_or_a_missing_test_fails_its_item() {
        let audit = audit();
        let card = format!("{CONTEXT} 0.43 0.11");
        assert!(!checklist(&audit, &card).card_matches);
        // Each figure on its finding's line: inside a longer number, or on another model's line, it does not count.
        let line = |f: &Finding, model: &str, figure: &str| format!("| {} | {model} | {figure} nats |", f.test);
        let right: Vec<String> = audit.findings.iter().map(|f| line(f, &f.model, &f.figure_short())).collect();
        assert!(checklist(&audit, &format!("{CONTEXT}\n{}", right.join("\n"))).card_matches);
        let mut longer = right.clone();
        longer[0] = line(&audit.findings[0], "demo", "0.4321");
        assert!(!checklist(&audit, &format!("{CONTEXT}\n{}", longer.join("\n"))).card_matches);
        let swapped: Vec<String> = audit
            .findings
            .iter()
            .map(|f| line(f, if f.model == "demo" { "demo-head-only" } else { "demo" }, &f.figure_short()))
            .collect();
        let mut uneven = audit.clone();
        uneven.findings[2].figure = 0.2;
        assert!(!checklist(&uneven, &format!("{CONTEXT}\n{}", swapped.join("\n"))).card_matches);
        let mut binary_only = Audit::new(CONTEXT);
        binary_only.push(finding("demo", "probe: male vs female", Kind::TwoGroups, 0.4));
        binary_only.push(finding("demo-head-only", "probe: black vs white", Kind::TwoGroups, 0.2));
        let c = checklist(&binary_only, "");
        assert!(!c.beyond_binary && !c.tests_ran && !c.models_compared && !c.card_matches);
        assert!(!checklist(&Audit::new("too short"), "").context_stated);
    }

    #[test]
    fn an_unfinished_audit_says_so_and_fails_its_check() {
        let audit = attempt(|| -> Result<Audit> { todo!() });
        assert!(audit.problem().unwrap().contains("not done yet"));
        assert!(audit.to_html().contains("No audit"));
        let report = check_audit(&audit, "");
        assert!(!report.passed() && report.to_string().contains("not done yet"));
        let failed = attempt(|| Err(Error::InvalidArgument { reason: "no".into() }));
        assert!(failed.problem().unwrap().contains("returned an error"));
    }

    #[test]
    fn an_unknown_group_set_is_an_error_naming_the_known_ones() {
        let err = unknown_set("colour", &GROUP_SETS).to_string();
        assert!(err.contains("queer-nonqueer"), "{err}");
    }

    #[test]
    fn the_chart_draws_the_probes() {
        assert!(audit().chart().unwrap().svg().unwrap().contains("<svg"));
    }
}
