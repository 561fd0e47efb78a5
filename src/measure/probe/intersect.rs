//! Intersectional probes: groups that combine two attributes ("black female": "black woman", "black mother", …),
//! each compared with one reference combination, with an interval and a p-value per combination, and the part of
//! each gap that the two attributes' own gaps do not explain (their interaction).

use super::view::format_p;
use super::*;

/// What is left of a combination's log-ratios once the gaps of its two attributes alone are taken out: for the
/// combination (r, g) against the reference (r₀, g₀), per template t and target x,
/// I(t, x) = lr_(r,g)(t, x) − lr_(r,g₀)(t, x) − lr_(r₀,g)(t, x), each log-ratio against (r₀, g₀): the interaction
/// contrast of a 2 × 2 design, s(r, g) − s(r, g₀) − s(r₀, g) + s(r₀, g₀). 0 for every x when the model's scores add
/// up (being black and being a woman shift a target's log-probability by their separate amounts).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Interaction {
    /// The mean over targets of |mean over templates of I(t, x)|, in nats (the gap statistic of the module
    /// documentation, on I instead of the log-ratio).
    pub gap: f64,
    /// Its percentile bootstrap interval over templates.
    pub interval: Interval,
    /// The sign-flip permutation p-value over templates (the null: I is symmetric around 0 in every template).
    pub p_value: f64,
    /// Whether `p_value` is exact.
    pub exact: bool,
}

/// One combination compared with the reference.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CombinationGap {
    /// The combination ("black female").
    pub group: String,
    /// Its gap against the reference: the mean over targets of |mean log-ratio|, in nats.
    pub gap: f64,
    /// The percentile bootstrap interval of `gap` over templates.
    pub gap_interval: Interval,
    /// The sign-flip permutation p-value of `gap`.
    pub p_value: f64,
    /// Whether `p_value` is exact.
    pub exact: bool,
    /// The three targets most probable with this combination rather than the reference.
    pub toward_group: Vec<String>,
    /// The three targets most probable with the reference rather than this combination.
    pub toward_reference: Vec<String>,
    /// The interaction of its two attributes; `None` when it shares one with the reference (then it *is* one
    /// attribute's gap).
    pub interaction: Option<Interaction>,
}

/// The result of an intersectional probe ([`intersectional`]).
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct IntersectionalReport {
    /// The model probed.
    pub model: String,
    /// The reference combination every other one is compared with ("white male").
    pub reference: String,
    /// The templates.
    pub templates: Vec<String>,
    /// The targets scored (single tokens).
    pub targets: Vec<String>,
    /// Every other combination, in the order of [`groups::cross`].
    pub combinations: Vec<CombinationGap>,
    /// Bootstrap resamples (and the permutation test's budget).
    pub samples: usize,
    /// The seed.
    pub seed: u64,
}

/// Probes every combination of a group of `first` with a group of `second` ([`groups::cross`]) against the
/// combination `reference` = (a group of `first`, a group of `second`), as [`evaluate`] compares two groups, and
/// adds each combination's [`Interaction`]. `templates` and `targets` as in a [`Probe`].
pub fn intersectional(
    model: &dyn MaskScorer,
    templates: &[String],
    targets: &[String],
    (first, second): (&[Group], &[Group]),
    reference: (&str, &str),
    options: &ProbeOptions,
) -> Result<IntersectionalReport> {
    intersectional_with(model, templates, targets, (first, second), reference, options, &ProgressBar::hidden())
}

/// [`intersectional`], advancing `progress` by one per template (its length: the number of templates). Every
/// combination's terms go through the model once, in one run.
pub fn intersectional_with(
    model: &dyn MaskScorer,
    templates: &[String],
    targets: &[String],
    (first, second): (&[Group], &[Group]),
    reference: (&str, &str),
    options: &ProbeOptions,
    progress: &ProgressBar,
) -> Result<IntersectionalReport> {
    let position = |groups: &[Group], name: &str, axis: &str| {
        groups.iter().position(|g| g.name == name).ok_or_else(|| Error::InvalidArgument {
            reason: format!(
                "the reference's {axis} attribute {name:?} is not one of {:?}: name one of them",
                groups.iter().map(|g| g.name.as_str()).collect::<Vec<_>>()
            ),
        })
    };
    let (r0, g0) = (position(first, reference.0, "first")?, position(second, reference.1, "second")?);
    if first.len() < 2 || second.len() < 2 {
        return Err(Error::InvalidArgument {
            reason: "an intersectional probe crosses two attributes of at least two groups each: give more groups"
                .into(),
        });
    }
    let combined = groups::cross(first, second);
    let probe = Probe { templates: templates.to_vec(), groups: combined.clone(), targets: targets.to_vec() };
    let index = |r: usize, g: usize| r * second.len() + g;
    let reference_index = index(r0, g0);
    // Every combination's terms go through the model once, the reference's too (not once per comparison).
    let terms = run::group_terms(&combined.iter().collect::<Vec<_>>())?;
    let run::Scored { targets, said } = run::score_terms(model, &probe, &terms, options, progress)?;
    let (n_templates, n_targets) = (templates.len(), targets.words.len());
    // mean[group][template][target]: the mean score over the group's terms.
    let mean: Vec<Vec<Vec<f64>>> = (0..combined.len())
        .map(|g| {
            let own: Vec<usize> = terms.iter().enumerate().filter(|(_, (h, _))| *h == g).map(|(w, _)| w).collect();
            (0..n_templates)
                .map(|t| {
                    (0..n_targets)
                        .map(|x| {
                            stats::mean(
                                &own.iter().map(|&w| said.score(t, w, x, options.normalise)).collect::<Vec<_>>(),
                            )
                        })
                        .collect()
                })
                .collect()
        })
        .collect();
    if mean.iter().flatten().flatten().any(|v| !v.is_finite()) {
        return Err(run::internal("the probe's model run left a score that is not a number".into()));
    }
    // Σ sign · mean[group], as [template][target]: a log-ratio (two groups) or the interaction contrast (four).
    let contrast = |terms: &[(usize, f64)]| -> Vec<Vec<f64>> {
        (0..n_templates)
            .map(|t| (0..n_targets).map(|x| terms.iter().map(|&(g, sign)| sign * mean[g][t][x]).sum()).collect())
            .collect()
    };
    let mut combinations = Vec::with_capacity(combined.len() - 1);
    for r in 0..first.len() {
        for g in 0..second.len() {
            let c = index(r, g);
            if c == reference_index {
                continue;
            }
            let lr = contrast(&[(c, 1.0), (reference_index, -1.0)]);
            let (per_target, gap, gap_interval, p_value, exact) = run::summarise(&lr, &targets.words, options);
            let interaction = (r != r0 && g != g0).then(|| {
                // lr(r,g) − lr(r,g₀) − lr(r₀,g), each against (r₀,g₀): s(r,g) − s(r,g₀) − s(r₀,g) + s(r₀,g₀).
                let lr = contrast(&[(c, 1.0), (index(r, g0), -1.0), (index(r0, g), -1.0), (reference_index, 1.0)]);
                let (_, gap, interval, p_value, exact) = run::summarise(&lr, &targets.words, options);
                Interaction { gap, interval, p_value, exact }
            });
            let names = |gaps: &mut dyn Iterator<Item = &TargetGap>| gaps.take(3).map(|t| t.target.clone()).collect();
            combinations.push(CombinationGap {
                group: combined[c].name.clone(),
                gap,
                gap_interval,
                p_value,
                exact,
                toward_group: names(&mut per_target.iter().filter(|t| t.log_ratio > 0.0)),
                toward_reference: names(&mut per_target.iter().rev().filter(|t| t.log_ratio < 0.0)),
                interaction,
            });
        }
    }
    Ok(IntersectionalReport {
        model: model.name(),
        reference: combined[reference_index].name.clone(),
        templates: templates.to_vec(),
        targets: targets.words,
        combinations,
        samples: options.samples,
        seed: options.seed,
    })
}

impl IntersectionalReport {
    /// The combination called `group`, if it was compared.
    pub fn get(&self, group: &str) -> Option<&CombinationGap> {
        self.combinations.iter().find(|c| c.group == group)
    }

    /// Each combination's gap against the reference as a bar with its interval.
    pub fn chart(&self) -> Result<Chart> {
        let rows = self
            .combinations
            .iter()
            .map(|c| IntervalBar {
                label: c.group.clone(),
                value: c.gap,
                low: c.gap_interval.low,
                high: c.gap_interval.high,
            })
            .collect();
        Chart::bars_with_intervals(
            format!("each combination against {}: gap (mean |log ratio| over targets)", self.reference),
            "gap, nats; whiskers: 95 % bootstrap CI over templates (a gap is above 0 even with no difference: read \
             the p-values)",
            rows,
            None,
        )
    }

    /// An HTML table: per combination its gap, interval and p-value, the interaction and the targets most toward
    /// either side.
    pub fn to_html(&self) -> String {
        let caption = format!(
            "Intersectional probe — {} <span style=\"font-weight:normal\">(each combination against {}; {} templates, \
             {} targets)</span>",
            escape(&self.model),
            escape(&self.reference),
            self.templates.len(),
            self.targets.len()
        );
        let mut table = HtmlTable::new(
            &[
                "combination",
                "gap (nats)",
                "95 % interval",
                "p",
                "interaction",
                "p",
                "more with it",
                "more with the reference",
            ],
            &[false, true, true, true, true, true, false, false],
        )
        .caption(caption);
        for c in &self.combinations {
            let (interaction, p) = match &c.interaction {
                Some(i) => {
                    (format!("{:.2} [{:.2}, {:.2}]", i.gap, i.interval.low, i.interval.high), format_p(i.p_value))
                }
                None => ("—".into(), String::new()),
            };
            table.row(vec![
                escape(&c.group),
                format!("{:.2}", c.gap),
                format!("{:.2}–{:.2}", c.gap_interval.low, c.gap_interval.high),
                format_p(c.p_value),
                interaction,
                p,
                escape(&c.toward_group.join(", ")),
                escape(&c.toward_reference.join(", ")),
            ]);
        }
        table.to_html()
    }

    /// Writes one CSV row per combination: group, reference, gap, gap_low, gap_high, p_value, interaction,
    /// interaction_low, interaction_high, interaction_p (the last four empty where there is none), toward_group,
    /// toward_reference (targets joined with spaces).
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        writer
            .write_record([
                "group",
                "reference",
                "gap",
                "gap_low",
                "gap_high",
                "p_value",
                "interaction",
                "interaction_low",
                "interaction_high",
                "interaction_p",
                "toward_group",
                "toward_reference",
            ])
            .map_err(csv_error)?;
        for c in &self.combinations {
            let i = c.interaction.as_ref();
            let number = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
            writer
                .write_record([
                    c.group.clone(),
                    self.reference.clone(),
                    c.gap.to_string(),
                    c.gap_interval.low.to_string(),
                    c.gap_interval.high.to_string(),
                    c.p_value.to_string(),
                    number(i.map(|i| i.gap)),
                    number(i.map(|i| i.interval.low)),
                    number(i.map(|i| i.interval.high)),
                    number(i.map(|i| i.p_value)),
                    c.toward_group.join(" "),
                    c.toward_reference.join(" "),
                ])
                .map_err(csv_error)?;
        }
        writer.flush().map_err(|source| Error::Io { path: "<csv output>".into(), source })
    }
}

impl fmt::Display for IntersectionalReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(f, "Intersectional probe  model: {}", self.model)?;
        writeln!(
            f,
            "each combination against {} ({} templates, {} targets); gap = mean |log ratio| over targets, nats",
            self.reference,
            self.templates.len(),
            self.targets.len()
        )?;
        writeln!(
            f,
            "{:<24} {:>6} {:>15} {:>8}  {:>22} {:>8}",
            "combination", "gap", "95 % CI", "p", "interaction", "p"
        )?;
        for c in &self.combinations {
            let (interaction, p) = match &c.interaction {
                Some(i) => {
                    (format!("{:.2} [{:.2}, {:.2}]", i.gap, i.interval.low, i.interval.high), format_p(i.p_value))
                }
                None => ("-".into(), String::new()),
            };
            writeln!(
                f,
                "{:<24} {:>6.2} {:>15} {:>8}  {:>22} {:>8}",
                c.group,
                c.gap,
                format!("[{:.2}, {:.2}]", c.gap_interval.low, c.gap_interval.high),
                format_p(c.p_value),
                interaction,
                p
            )?;
        }
        Ok(())
    }
}

crate::view::show::view!(IntersectionalReport, csv, chart);
