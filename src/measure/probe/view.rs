//! A probe's report as a table, text, CSV and a chart.

use super::*;

impl ProbeReport {
    /// Group A's name (positive log-ratios lean toward it).
    pub fn group_a(&self) -> &str {
        self.groups.first().map_or("A", |g| g.name.as_str())
    }

    /// Group B's name (negative log-ratios lean toward it).
    pub fn group_b(&self) -> &str {
        self.groups.get(1).map_or("B", |g| g.name.as_str())
    }

    /// The gap of `target`, if it was scored.
    pub fn get(&self, target: &str) -> Option<&TargetGap> {
        self.per_target.iter().find(|g| g.target == target)
    }

    /// The signed gap of some targets: the mean over templates of their mean log-ratio (above 0: toward group A),
    /// with its percentile bootstrap interval over templates (same samples, level and seed as the report). None
    /// when none of `targets` was scored.
    pub fn signed_gap(&self, targets: &[&str]) -> Option<(f64, Interval)> {
        let chosen: Vec<&TargetGap> = targets.iter().filter_map(|t| self.get(t)).collect();
        if chosen.is_empty() {
            return None;
        }
        let n = self.templates.len();
        let per_template: Vec<f64> = (0..n)
            .map(|t| {
                chosen.iter().map(|g| g.per_template.get(t).copied().unwrap_or(f64::NAN)).sum::<f64>()
                    / chosen.len() as f64
            })
            .collect();
        let level = self.gap_interval.level;
        let interval = stats::bootstrap(
            n,
            |idx| idx.iter().map(|&t| per_template[t]).sum::<f64>() / idx.len() as f64,
            self.samples,
            level,
            self.seed,
        );
        Some((stats::mean(&per_template), interval))
    }

    /// How the p-value was computed, for the summary line.
    fn test_description(&self) -> String {
        let n = self.templates.len();
        if self.exact {
            format!("exact over 2^{n} sign patterns")
        } else {
            format!("over {} random sign patterns of {n} templates", self.samples)
        }
    }

    /// The one-line summary: gap, interval, p-value.
    pub fn summary(&self) -> String {
        format!(
            "gap {:.2} nats, {:.0} % CI [{:.2}, {:.2}], permutation p = {} ({})",
            self.gap,
            self.gap_interval.level * 100.0,
            self.gap_interval.low,
            self.gap_interval.high,
            format_p(self.p_value),
            self.test_description()
        )
    }

    fn score_description(&self) -> String {
        let (a, b) = (self.group_a(), self.group_b());
        if self.normalise {
            format!(
                "log ratio = mean over {a} terms − mean over {b} terms of ln P(term | target) − ln P(term | prior) \
                 (Kurita et al. 2019), averaged over templates; > 0: the target raises {a} terms more"
            )
        } else {
            format!(
                "log ratio = mean ln P(target | {a} term) − mean ln P(target | {b} term), averaged over templates; \
                 > 0: more probable with {a}"
            )
        }
    }

    /// The per-target log-ratios as horizontal bars with their intervals, a reference line at 0: every target,
    /// from most toward group A (top) to most toward group B.
    pub fn chart(&self) -> Result<Chart> {
        self.chart_of(self.per_target.iter().collect())
    }

    /// [`ProbeReport::chart`] of the `n` targets most toward group A and the `n` most toward group B (all of them
    /// when there are no more than 2n).
    pub fn chart_top(&self, n: usize) -> Result<Chart> {
        let all: Vec<&TargetGap> = self.per_target.iter().collect();
        if all.len() <= 2 * n {
            return self.chart_of(all);
        }
        self.chart_of(all[..n].iter().chain(&all[all.len() - n..]).copied().collect())
    }

    fn chart_of(&self, gaps: Vec<&TargetGap>) -> Result<Chart> {
        let rows = gaps
            .into_iter()
            .map(|g| IntervalBar {
                label: g.target.clone(),
                value: g.log_ratio,
                low: g.interval.low,
                high: g.interval.high,
            })
            .collect();
        let (a, b) = (self.group_a(), self.group_b());
        Chart::bars_with_intervals(
            format!(
                "{a} vs {b}: gap {:.2} nats [{:.2}, {:.2}], p = {}",
                self.gap,
                self.gap_interval.low,
                self.gap_interval.high,
                format_p(self.p_value)
            ),
            format!(
                "log ratio (nats; > 0: more probable with {a}, < 0: with {b}); whiskers: {:.0} % bootstrap CI over templates",
                self.gap_interval.level * 100.0
            ),
            rows,
            Some(0.0),
        )
    }

    /// An HTML table of the per-target log-ratios, with the gap line as its caption.
    pub fn to_html(&self) -> String {
        let level = format!("{:.0} % CI", self.gap_interval.level * 100.0);
        let mut table = HtmlTable::new(&["target", "log ratio", &level], &[false, true, true]);
        for g in &self.per_target {
            let colour = palette::hex(if g.log_ratio >= 0.0 { palette::FIRST } else { palette::SECOND });
            table.row(vec![
                format!("<span style=\"color:{colour}\">{}</span>", escape(&g.target)),
                format!("{:+.3}", g.log_ratio),
                format!("[{:+.3}, {:+.3}]", g.interval.low, g.interval.high),
            ]);
        }
        let mut caption = format!(
            "{} vs {} — {} <span style=\"font-weight:normal\">({} templates, {} targets; {}; {})",
            escape(self.group_a()),
            escape(self.group_b()),
            escape(&self.summary()),
            self.templates.len(),
            self.targets.len(),
            escape(&self.model),
            escape(&self.score_description()),
        );
        if !self.skipped.is_empty() {
            caption.push_str(&format!(". Not single tokens, so left out: {}", escape(&self.skipped.join(", "))));
        }
        caption.push_str("</span>");
        table.caption(caption).to_html()
    }

    /// Writes [`ProbeReport::rows`] as CSV with a header: template, group, term, target, probability,
    /// log_probability, rank, score.
    pub fn write_csv(&self, out: impl Write) -> Result<()> {
        let csv_error = crate::data::csv_error;
        let mut writer = csv::Writer::from_writer(out);
        for row in &self.rows {
            writer.serialize(row).map_err(csv_error)?;
        }
        writer.flush().map_err(|source| Error::Io { path: "<csv output>".into(), source })
    }
}

crate::view::show::view!(ProbeReport, csv, chart);

pub(super) fn format_p(p: f64) -> String {
    if p < 0.001 {
        format!("{p:.1e}")
    } else {
        format!("{p:.3}")
    }
}

impl fmt::Display for ProbeReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        writeln!(
            f,
            "template probe: {} vs {}  ({} templates, {} targets; model: {})",
            self.group_a(),
            self.group_b(),
            self.templates.len(),
            self.targets.len(),
            self.model
        )?;
        writeln!(f, "{}", self.score_description())?;
        let level = format!("{:.0} % CI", self.gap_interval.level * 100.0);
        writeln!(f, "{:<16} {:>10}  {level}", "target", "log ratio")?;
        for g in &self.per_target {
            writeln!(f, "{:<16} {:>+10.3}  [{:+.3}, {:+.3}]", g.target, g.log_ratio, g.interval.low, g.interval.high)?;
        }
        if !self.skipped.is_empty() {
            writeln!(f, "not single tokens, so left out: {}", self.skipped.join(", "))?;
        }
        writeln!(f, "{}", self.summary())
    }
}
