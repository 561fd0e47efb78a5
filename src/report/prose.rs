//! The card's sections in prose and tables, in the order of the Hugging Face template, one method a section.

use super::*;

impl ModelCardReport {
    /// The card as blocks, in the order of the Hugging Face template, one method a section.
    pub(super) fn blocks(&self, charts: &ChartFiles) -> Vec<Block> {
        let mut b = Vec::new();
        b.push(Block::Heading(1, format!("Model card: {} — bias sections", self.model)));
        b.push(Block::Para(format!(
            "{WRITTEN_BY} {} from measurements of `{}`. Every number below comes from \
             `measurements.json` beside this file. The rest of the model card (model details, uses, training) is \
             for the model's authors to write.",
            self.biaslab_version, self.source
        )));
        self.findings(&mut b);
        self.limitations(&mut b);
        self.recommendations(&mut b);
        b.push(Block::Heading(2, "Evaluation".into()));
        self.testing_data(&mut b);
        self.factors(&mut b);
        self.metrics(&mut b);
        self.results(&mut b);
        for m in Measure::ALL {
            if let Some(path) = charts.get(&m) {
                b.push(Block::Image(format!("{} chart", m.title()), path.clone()));
            }
        }
        b.push(Block::Heading(4, "Summary".into()));
        b.push(Block::Para(self.summary()));
        b
    }

    /// "Bias, Risks, and Limitations": its heading, and what each measure found.
    fn findings(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(2, "Bias, Risks, and Limitations".into()));
        b.push(Block::Para(
            "Masked language models learn the associations of their training text, including stereotypes about \
             gender, race, religion and other social groups. The measurements below probe this model for such \
             associations; a score near its ideal on these tests does not show that the model is free of bias, \
             only that these tests did not find it."
                .into(),
        ));
        if let Some(p) = self.probe.run() {
            let names = |v: &[TargetLean]| v.iter().map(|t| t.target.as_str()).collect::<Vec<_>>().join(", ");
            let example = p.templates.first().map(|t| t.replace("[GROUP]", "X")).unwrap_or_default();
            let verdict = if p.p_value < 0.05 {
                "The permutation test says a gap this large is unlikely if the model ignored gender in these frames."
            } else {
                "The permutation test does not distinguish this gap from what the choice of templates alone gives."
            };
            b.push(Block::Para(format!(
                "**Occupations by gender (template probe).** Completing sentences such as \"{example}\" ({} templates, \
                 X filled with {} terms such as \"{}\" or {} terms such as \"{}\"), the model rates occupations such \
                 as {} as more probable for the {} terms and {} for the {} terms. The gap, the mean over {} \
                 occupations of the absolute log-ratio, is **{:.2} nats** ({}, permutation {}): on average an \
                 occupation is about {:.2} times as probable after one gender's terms as after the other's (geometric mean). \
                 {verdict}{floor}",
                p.templates.len(),
                p.group_b,
                p.report.groups.get(1).and_then(|g| g.terms.first()).map_or("", String::as_str),
                p.group_a,
                p.report.groups.first().and_then(|g| g.terms.first()).map_or("", String::as_str),
                if p.toward_b.is_empty() { "none".into() } else { names(&p.toward_b) },
                p.group_b,
                if p.toward_a.is_empty() { "none".into() } else { names(&p.toward_a) },
                p.group_a,
                p.targets,
                p.gap,
                ci(&p.interval, 2),
                p_text(p.p_value),
                p.gap.exp(),
                floor = if p.exact && p.p_value <= 2.0 / 2f64.powi(p.templates.len() as i32) + 1e-12 {
                    format!(
                        " This is the smallest p-value {} templates allow (2 / 2^{}).",
                        p.templates.len(),
                        p.templates.len()
                    )
                } else {
                    String::new()
                },
            )));
        }
        if let Some(c) = self.crows_pairs.run() {
            let worst: Vec<String> = c
                .per_type
                .iter()
                .filter(|t| t.pairs >= 5)
                .take(3)
                .map(|t| format!("{} {:.1} % ({})", t.bias_type, t.score, plural(t.pairs, "pair")))
                .collect();
            b.push(Block::Para(format!(
                "**CrowS-Pairs.** Of two minimally different sentences, one more stereotyping than the other, the \
                 model gives the higher pseudo-log-likelihood to the more stereotyping one in **{:.1} %** of the \
                 pairs ({}; {}); 50 % would mean no preference either way. {}{}",
                c.metric_score,
                ci(&c.interval, 1),
                c.data.describe("pairs"),
                directions(c),
                if worst.is_empty() { String::new() } else { format!(" By bias type: {}.", worst.join("; ")) }
            )));
        }
        if let Some(s) = self.stereoset.run() {
            let o = &s.overall;
            b.push(Block::Para(format!(
                "**StereoSet.** Filling a blank with a stereotypical, an anti-stereotypical or an unrelated word, the \
                 model prefers the stereotype in **SS = {:.1} %** of cases (ideal 50), prefers a meaningful word to \
                 the unrelated one with **LMS = {:.1}** (ideal 100), which combine into **ICAT = {:.1}** (ideal 100); \
                 {}.",
                o.ss,
                o.lms,
                o.icat,
                s.data.describe("intrasentence examples")
            )));
        }
        if let Some(s) = self.seat.run() {
            let significant: Vec<String> = s
                .report
                .results
                .iter()
                .filter(|r| r.p_value < 0.05)
                .map(|r| format!("{} (d = {:.2}, {})", r.test, r.effect_size, p_text(r.p_value)))
                .collect();
            b.push(Block::Para(format!(
                "**SEAT.** Sentence embeddings of the model's encoder (mean-pooled) were compared with the association \
                 tests of Caliskan et al. (2017) and May et al. (2019): {} of {} tests show an association at p < \
                 0.05{}. Effect sizes d run from −2 to 2; 0 is no association.",
                significant.len(),
                s.report.results.len(),
                if significant.is_empty() { String::new() } else { format!(": {}", significant.join("; ")) }
            )));
        }
        if let Some(h) = self.honest.run() {
            let groups: Vec<String> = h
                .per_group
                .iter()
                .map(|g| format!("{} {:.2} % ({})", g.group, g.score * 100.0, ci(&percent_interval(&g.interval), 2)))
                .collect();
            b.push(Block::Para(format!(
                "**HONEST.** Of the model's top-{} completions of sentences about people{}, \
                 **{:.2} %** are hurtful words of the HurtLex lexicon ({}; {}). By group: {}.",
                h.k,
                h.report.per_template.first().map_or(String::new(), |t| format!(" (such as \"{}\")", t.template)),
                h.honest_score * 100.0,
                ci(&percent_interval(&h.interval), 2),
                h.data.describe("template rows"),
                groups.join("; ")
            )));
        }
    }

    /// What was not measured, and the limitations of what was.
    fn limitations(&self, b: &mut Vec<Block>) {
        let skipped = self.skipped();
        if !skipped.is_empty() {
            b.push(Block::Para("**Not measured here:**".into()));
            b.push(Block::List(skipped.iter().map(|(m, r)| format!("{}: {r}", m.title())).collect()));
        }
        b.push(Block::Para("**Limitations of these measurements.**".into()));
        let mut limits = vec![
            "English only: every test is in (mostly US) English, and says nothing about the model's behaviour in \
             other languages or cultures."
                .to_string(),
            "Gender is treated as binary (female/male terms); other genders are not measured.".into(),
            "Template sensitivity: small changes to the wording of a template can change the scores; the probe's \
             interval shows part of this variation, over its own templates only."
                .into(),
            "These are intrinsic tests of the model's predictions; they do not show how a system built on it (a \
             classifier, a search engine) will behave, which must be measured on its own task."
                .into(),
        ];
        if self.crows_pairs.run().is_some() || self.stereoset.run().is_some() {
            limits.push(
                "CrowS-Pairs and StereoSet have validity problems: Blodgett et al. (2021, \"Stereotyping Norwegian \
                 Salmon\") found many of their pairs do not contrast a stereotype with its reverse, mix up groups or \
                 are ungrammatical, so their scores are noisy and hard to interpret in detail."
                    .into(),
            );
        }
        if self.seat.run().is_some() {
            limits.push(
                "SEAT was designed for sentence encoders; May et al. (2019) found its results for contextual models \
                 inconsistent, and a test without significance does not show the absence of bias. Several tests \
                 run at once, so some p-values below 0.05 are expected by chance."
                    .into(),
            );
        }
        if self.honest.run().is_some() {
            limits.push(
                "HONEST counts exact matches with a lexicon of hurtful words: hurtful completions outside HurtLex are \
                 missed, and a lexicon word used harmlessly is counted."
                    .into(),
            );
        }
        let limited: Vec<String> = [
            self.crows_pairs.run().map(|c| (&c.data, "pairs")),
            self.stereoset.run().map(|s| (&s.data, "examples")),
            self.honest.run().map(|h| (&h.data, "template rows")),
        ]
        .into_iter()
        .flatten()
        .filter(|(d, _)| d.limited())
        .map(|(d, unit)| format!("{}: {}", d.dataset, d.describe(unit)))
        .collect();
        if !limited.is_empty() {
            limits.push(format!(
                "Some measures ran on part of their data, so their intervals are wider and their numbers not \
                 comparable to published full-set results: {}.",
                limited.join("; ")
            ));
        }
        b.push(Block::List(limits));
    }

    /// "Recommendations".
    fn recommendations(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(3, "Recommendations".into()));
        let mut recs = vec![
            "Do not use this model's predictions to make or support decisions about people (hiring, admission, \
             credit) without measuring the bias of the whole system on that task."
                .to_string(),
            "Users (both direct and downstream) should be made aware of the biases above; show the measurements to \
             whoever builds on the model."
                .into(),
        ];
        if self.probe.run().is_some_and(|p| p.p_value < 0.05) {
            recs.push(
                "The model associates occupations with gender: where it fills in or ranks text about people, check \
                 outputs for both genders, or consider a mitigation such as counterfactual data augmentation \
                 (`biaslab mitigate --method cda`) and measure again, capability included."
                    .into(),
            );
        }
        recs.push(
            "Re-run these measurements (`biaslab report`) on the full data sets, and after any fine-tuning, which \
             can change them."
                .into(),
        );
        b.push(Block::List(recs));
    }

    /// "Testing Data, Factors & Metrics" and its "Testing Data".
    fn testing_data(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(3, "Testing Data, Factors & Metrics".into()));
        b.push(Block::Heading(4, "Testing Data".into()));
        let mut data = Vec::new();
        if let Some(p) = self.probe.run() {
            data.push(format!(
                "biaslab's template probe: {} templates × {} gendered terms ({} {}, {} {}) × {} occupations (single \
                 tokens of the model{}).",
                p.templates.len(),
                p.report.groups.iter().map(|g| g.terms.len()).sum::<usize>(),
                p.report.groups.first().map_or(0, |g| g.terms.len()),
                p.group_a,
                p.report.groups.get(1).map_or(0, |g| g.terms.len()),
                p.group_b,
                p.targets,
                if p.skipped_targets.is_empty() {
                    String::new()
                } else {
                    format!("; left out as not one token: {}", p.skipped_targets.join(", "))
                }
            ));
        }
        if let Some(c) = self.crows_pairs.run() {
            data.push(format!(
                "CrowS-Pairs (Nangia et al. 2020, `crows_pairs_anonymized.csv`): {}{}.",
                c.data.describe("pairs"),
                if c.unscored > 0 { format!("; {} could not be scored", c.unscored) } else { String::new() }
            ));
        }
        if let Some(s) = self.stereoset.run() {
            data.push(format!(
                "StereoSet (Nadeem et al. 2021), development set, intrasentence task: {}{}. The intersentence task \
                 needs a next-sentence head and is not run.",
                s.data.describe("examples"),
                if s.unscored > 0 { format!("; {} could not be scored", s.unscored) } else { String::new() }
            ));
        }
        if let Some(s) = self.seat.run() {
            data.push(format!(
                "SEAT (May et al. 2019) test files from sent-bias: {}.",
                s.report.results.iter().map(|r| r.test.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(h) = self.honest.run() {
            data.push(format!(
                "HONEST (Nozza et al. 2021) binary English templates: {}, {} distinct, with the HurtLex \
                 EN 1.2 lexicon (conservative level).",
                h.data.describe("template rows"),
                h.templates
            ));
        }
        b.push(Block::List(data));
    }

    /// "Factors".
    fn factors(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(4, "Factors".into()));
        let mut factors =
            vec!["Gender, as binary (female and male terms and names): the probe, HONEST, and the gender parts of \
             CrowS-Pairs, StereoSet and SEAT."
                .to_string()];
        if let Some(c) = self.crows_pairs.run() {
            factors.push(format!(
                "CrowS-Pairs bias types: {}.",
                c.per_type.iter().map(|t| t.bias_type.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(s) = self.stereoset.run() {
            factors.push(format!(
                "StereoSet domains: {}.",
                s.per_domain.iter().map(|d| d.domain.as_str()).collect::<Vec<_>>().join(", ")
            ));
        }
        if let Some(s) = self.seat.run() {
            factors.push(format!(
                "SEAT targets vs attributes: {}.",
                s.report
                    .results
                    .iter()
                    .map(|r| format!("{} {}/{} vs {}/{}", r.test, r.x_name, r.y_name, r.a_name, r.b_name))
                    .collect::<Vec<_>>()
                    .join("; ")
            ));
        }
        b.push(Block::List(factors));
    }

    /// "Metrics".
    fn metrics(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(4, "Metrics".into()));
        let mut metrics = Vec::new();
        if self.probe.run().is_some() {
            metrics.push(
                "**Probe gap** (nats, ideal 0): the mean over occupations of |mean over templates of ln P(occupation \
                 | male term) − ln P(occupation | female term)|; 95 % percentile bootstrap interval over templates, \
                 sign-flip permutation p-value over templates (Kurita et al. 2019). It is above 0 even for an \
                 unbiased model, so judge it by the p-value."
                    .into(),
            );
        }
        if self.crows_pairs.run().is_some() {
            metrics.push(
                "**CrowS-Pairs metric score** (%, ideal 50): the share of pairs whose more stereotyping sentence has \
                 the higher pseudo-log-likelihood of its unmodified tokens (Nangia et al. 2020, `metric.py`); Wilson \
                 95 % interval."
                    .into(),
            );
        }
        if self.stereoset.run().is_some() {
            metrics.push(
                "**StereoSet SS** (%, ideal 50): how often the stereotype is preferred to the anti-stereotype; \
                 **LMS** (ideal 100): how often a meaningful word is preferred to an unrelated one; **ICAT** = LMS · \
                 min(SS, 100 − SS) / 50 (ideal 100): both at once (Nadeem et al. 2021, `evaluation.py`)."
                    .into(),
            );
        }
        if self.seat.run().is_some() {
            metrics.push(
                "**SEAT effect size d** (ideal 0, range −2 to 2): how much closer target set X is to attribute A \
                 (and Y to B) than the reverse, in pooled standard deviations of cosine similarities; one-sided \
                 permutation p-value (Caliskan et al. 2017; sent-bias `weat.py`)."
                    .into(),
            );
        }
        if self.honest.run().is_some() {
            metrics.push(
                "**HONEST score** (share, ideal 0): hurtful completions among the top-k of every template, divided by \
                 templates × k (Nozza et al. 2021, `honest.py`); percentile bootstrap interval over templates."
                    .into(),
            );
        }
        b.push(Block::List(metrics));
    }

    /// "Results": the table of every measure, and the occupations that lean most in the probe.
    fn results(&self, b: &mut Vec<Block>) {
        b.push(Block::Heading(3, "Results".into()));
        let mut rows = Vec::new();
        if let Some(p) = self.probe.run() {
            rows.push(vec![
                "Probe gap, gender × occupations (nats)".into(),
                format!("{:.3}", p.gap),
                format!("{:.3}–{:.3}; permutation {}", p.interval.low, p.interval.high, p_text(p.p_value)),
                "0".into(),
                format!("{} templates, {} occupations", p.templates.len(), p.targets),
            ]);
        }
        if let Some(c) = self.crows_pairs.run() {
            rows.push(vec![
                "CrowS-Pairs metric score (%)".into(),
                format!("{:.2}", c.metric_score),
                format!("{:.2}–{:.2}", c.interval.low, c.interval.high),
                "50".into(),
                c.data.describe("pairs"),
            ]);
            for t in &c.per_type {
                rows.push(vec![
                    format!("CrowS-Pairs, {} (%)", t.bias_type),
                    format!("{:.2}", t.score),
                    format!("{:.2}–{:.2}", t.interval.low, t.interval.high),
                    "50".into(),
                    plural(t.pairs, "pair"),
                ]);
            }
        }
        if let Some(s) = self.stereoset.run() {
            let used = s.data.describe("examples");
            for d in std::iter::once(&s.overall).chain(&s.per_domain) {
                let what = if d.domain == "overall" { String::new() } else { format!(", {}", d.domain) };
                let n = if d.domain == "overall" { used.clone() } else { format!("{} examples", d.examples) };
                rows.push(vec![
                    format!("StereoSet SS{what}"),
                    format!("{:.2}", d.ss),
                    "—".into(),
                    "50".into(),
                    n.clone(),
                ]);
                rows.push(vec![
                    format!("StereoSet LMS{what}"),
                    format!("{:.2}", d.lms),
                    "—".into(),
                    "100".into(),
                    n.clone(),
                ]);
                rows.push(vec![format!("StereoSet ICAT{what}"), format!("{:.2}", d.icat), "—".into(), "100".into(), n]);
            }
        }
        if let Some(s) = self.seat.run() {
            for r in &s.report.results {
                rows.push(vec![
                    format!("SEAT {}: {}/{} vs {}/{} (d)", r.test, r.x_name, r.y_name, r.a_name, r.b_name),
                    format!("{:.3}", r.effect_size),
                    format!("{} ({})", p_text(r.p_value), if r.exact { "exact" } else { "sampled" }),
                    "0".into(),
                    format!("{}/{}/{}/{} items", r.n_x, r.n_y, r.n_a, r.n_b),
                ]);
            }
        }
        if let Some(h) = self.honest.run() {
            rows.push(vec![
                format!("HONEST, top-{} (%)", h.k),
                format!("{:.2}", h.honest_score * 100.0),
                format!("{:.2}–{:.2}", h.interval.low * 100.0, h.interval.high * 100.0),
                "0".into(),
                format!("{} ({} templates)", h.data.describe("template rows"), h.templates),
            ]);
            for g in &h.per_group {
                rows.push(vec![
                    format!("HONEST, {} (%)", g.group),
                    format!("{:.2}", g.score * 100.0),
                    format!("{:.2}–{:.2}", g.interval.low * 100.0, g.interval.high * 100.0),
                    "0".into(),
                    format!("{} templates", g.templates),
                ]);
            }
        }
        if rows.is_empty() {
            b.push(Block::Para("No measure ran.".into()));
        } else {
            b.push(Block::Table(
                ["Metric", "Value", "95 % interval / p", "Ideal", "Data used"].map(String::from).to_vec(),
                rows,
            ));
        }
        if let Some(p) = self.probe.run() {
            let mut lean_rows = Vec::new();
            for t in p.toward_b.iter().chain(&p.toward_a) {
                lean_rows.push(vec![
                    t.target.clone(),
                    format!("{:+.3}", t.log_ratio),
                    format!("[{:+.3}, {:+.3}]", t.interval.low, t.interval.high),
                    if t.log_ratio < 0.0 { p.group_b.clone() } else { p.group_a.clone() },
                ]);
            }
            b.push(Block::Para(format!(
                "The occupations that lean most in the probe (log-ratio > 0: more probable with {} terms, < 0: with {} \
                 terms; the chart shows the most leaning ones):",
                p.group_a, p.group_b
            )));
            b.push(Block::Table(
                ["Occupation", "Log-ratio (nats)", "95 % CI", "Leans toward"].map(String::from).to_vec(),
                lean_rows,
            ));
        }
    }

    /// The results in a few sentences (the card's "Summary").
    pub fn summary(&self) -> String {
        let mut parts = Vec::new();
        if let Some(p) = self.probe.run() {
            parts.push(format!(
                "{} gender–occupation associations (probe gap {:.2} nats, {}, permutation {})",
                if p.p_value < 0.05 { "Clear" } else { "No significant" },
                p.gap,
                ci(&p.interval, 2),
                p_text(p.p_value)
            ));
        }
        if let Some(c) = self.crows_pairs.run() {
            let side = if c.interval.low > 50.0 {
                "a preference for stereotypes"
            } else if c.interval.high < 50.0 {
                "a preference against stereotypes"
            } else {
                "no preference distinguishable from 50 %"
            };
            parts.push(format!(
                "CrowS-Pairs {:.1} % ({}, {}): {side}",
                c.metric_score,
                ci(&c.interval, 1),
                c.data.describe("pairs")
            ));
        }
        if let Some(s) = self.stereoset.run() {
            parts.push(format!(
                "StereoSet SS {:.1}, LMS {:.1}, ICAT {:.1} ({})",
                s.overall.ss,
                s.overall.lms,
                s.overall.icat,
                s.data.describe("examples")
            ));
        }
        if let Some(s) = self.seat.run() {
            let n = s.report.results.iter().filter(|r| r.p_value < 0.05).count();
            parts.push(format!("SEAT: {n} of {} tests significant at 0.05", s.report.results.len()));
        }
        if let Some(h) = self.honest.run() {
            parts.push(format!(
                "HONEST {:.2} % hurtful completions in the top {} ({})",
                h.honest_score * 100.0,
                h.k,
                h.data.describe("template rows")
            ));
        }
        if parts.is_empty() {
            return "No measure ran.".into();
        }
        format!(
            "{}. These are measurements of the model's predictions on English test sets, with the limitations \
             listed above; they are evidence of bias where they find it, not proof of its absence where they do not.",
            parts.join(". ")
        )
    }
}

/// "1 pair", "2 pairs".
pub(super) fn plural(n: usize, unit: &str) -> String {
    if n == 1 {
        format!("1 {unit}")
    } else {
        format!("{n} {unit}s")
    }
}

/// What the model prefers in each direction of CrowS-Pairs (a direction without pairs is left out).
pub(super) fn directions(c: &CrowsFindings) -> String {
    let r = &c.report;
    let mut parts = Vec::new();
    if r.stereo_pairs > 0 {
        parts.push(format!(
            "On the {} stating a stereotype it prefers the stereotyping sentence {:.1} % of the time",
            plural(r.stereo_pairs, "pair"),
            c.stereo_score
        ));
    }
    if r.antistereo_pairs > 0 {
        parts.push(format!(
            "on the {} stating its reverse, {:.1} %",
            plural(r.antistereo_pairs, "pair"),
            c.antistereo_score
        ));
    }
    if parts.is_empty() {
        String::new()
    } else {
        let text = parts.join("; ");
        let mut chars = text.chars();
        chars.next().map_or(String::new(), |first| format!("{}{}.", first.to_uppercase(), chars.as_str()))
    }
}

/// A share interval as percent.
pub(super) fn percent_interval(i: &Interval) -> Interval {
    Interval { low: i.low * 100.0, high: i.high * 100.0, level: i.level }
}
