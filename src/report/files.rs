//! The card as files: README.md, its HTML page, measurements.json and the charts, never over a user's own files.

use super::*;

impl ModelCardReport {
    /// The card: the YAML header and the bias and evaluation sections, in Markdown; `charts` are the chart files
    /// to link (relative paths, by measure; none when empty).
    pub fn to_markdown(&self, charts: &ChartFiles) -> String {
        format!("{}\n{}", self.yaml_header(), render_markdown(&self.blocks(charts)))
    }

    /// The card as a self-contained HTML page (the same blocks as [`ModelCardReport::to_markdown`], without the
    /// YAML header, whose numbers the page shows), linking `charts`.
    pub fn to_html_page(&self, charts: &ChartFiles) -> String {
        format!(
            "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n<title>{}</title>\n<style>\n{}\n</style>\n\
             </head>\n<body>\n{}</body>\n</html>\n",
            escape(&format!("Model card: {} — bias sections", self.model)),
            STYLE,
            render_html(&self.blocks(charts))
        )
    }

    /// The chart of every measure that ran, with the report's own `chart()` (the probe's: its 15 occupations most
    /// toward each group, [`ProbeReport::chart_top`]).
    pub fn charts(&self) -> Vec<(Measure, Result<crate::view::chart::Chart>)> {
        let mut out = Vec::new();
        if let Some(p) = self.probe.run() {
            out.push((Measure::Probe, p.report.chart_top(15)));
        }
        if let Some(c) = self.crows_pairs.run() {
            out.push((Measure::CrowsPairs, c.report.chart()));
        }
        if let Some(s) = self.stereoset.run() {
            out.push((Measure::StereoSet, s.report.chart()));
        }
        if let Some(s) = self.seat.run() {
            out.push((Measure::Seat, s.report.chart()));
        }
        if let Some(h) = self.honest.run() {
            out.push((Measure::Honest, h.report.chart()));
        }
        out
    }

    /// The card's sections as an HTML fragment for a notebook, the charts inlined as SVG after them.
    pub fn to_html(&self) -> String {
        let mut html = format!("<div class=\"biaslab-card\">{}", render_html(&self.blocks(&ChartFiles::new())));
        for (_, chart) in self.charts() {
            if let Ok(svg) = chart.and_then(|c| c.svg()) {
                let _ = write!(html, "<div class=\"biaslab-chart\">{svg}</div>");
            }
        }
        html.push_str("</div>");
        html
    }

    /// Writes into `dir` (created if need be): `README.md` (the card), `bias_report.html` (the same as a page),
    /// `charts/<measure>.svg` (each measure's chart, linked from both) and `measurements.json` (this report).
    /// A file already in `dir` that biaslab did not write (a model's own card, say) is never overwritten: that is an
    /// error, before anything is written ([`crate::data::output`]; [`ModelCardReport::open_output`] can force it).
    pub fn write(&self, dir: &Path) -> Result<Written> {
        self.write_into(&mut Self::open_output(dir, &[], false)?)
    }

    /// Opens `dir` for a card, before measuring: refused when it is one of `inputs` (the model's folder, the data),
    /// or holds a file of the card's names that biaslab did not write, unless `force`.
    pub fn open_output(dir: &Path, inputs: &[&Path], force: bool) -> Result<OutputDir> {
        let mut out = OutputDir::open(dir, inputs, force)?;
        adopt_earlier_card(&mut out)?;
        out.check(&Self::file_names())?;
        Ok(out)
    }

    /// The name a card gives `model` (its `model` field): a demo model's name (`demo`, `demo-head-only`), else its
    /// source as loaded (the hub id, with `@revision` if one was given, or the directory).
    pub fn model_name(model: &FillMask) -> String {
        match model.origin() {
            Some(origin) if origin.is_biaslabs_own() => origin.name(),
            _ => model.source().to_string(),
        }
    }

    /// The files [`ModelCardReport::write`] may write, for any measures: what to check before measuring.
    pub fn file_names() -> Vec<String> {
        card_file_names(&Measure::ALL)
    }

    /// [`ModelCardReport::write`] into a folder opened by [`ModelCardReport::open_output`].
    pub fn write_into(&self, out: &mut OutputDir) -> Result<Written> {
        let dir = out.path().to_path_buf();
        let charts: Vec<(Measure, Result<crate::view::chart::Chart>)> = self.charts();
        out.check(&card_file_names(&charts.iter().map(|(m, _)| *m).collect::<Vec<_>>()))?;
        let mut files = ChartFiles::new();
        let mut chart_paths = Vec::new();
        let mut notes = Vec::new();
        for (m, chart) in charts {
            let name = chart_file_name(m);
            match chart.and_then(|c| c.svg()) {
                Ok(svg) => {
                    chart_paths.push(out.write(&name, svg.as_bytes())?);
                    files.insert(m, name);
                }
                // A chart that cannot be drawn is left out and said; the card is still written.
                Err(err) => notes.push(format!("no {} chart: {err}", m.as_str())),
            }
        }
        let card = out.write("README.md", self.to_markdown(&files).as_bytes())?;
        let html = out.write("bias_report.html", self.to_html_page(&files).as_bytes())?;
        let json = serde_json::to_string_pretty(self)
            .map_err(|err| Error::Internal(format!("the measurements do not serialize to JSON: {err}")))?;
        let json = out.write("measurements.json", json.as_bytes())?;
        Ok(Written { dir, card, html, json, charts: chart_paths, notes })
    }
}

crate::view::show::view!(ModelCardReport);

/// The files of a card with charts of `measures`: the card, its page, the measurements, one chart per measure.
pub(super) fn card_file_names(measures: &[Measure]) -> Vec<String> {
    let mut names: Vec<String> = ["README.md", "bias_report.html", "measurements.json"].map(String::from).to_vec();
    names.extend(measures.iter().map(|m| chart_file_name(*m)));
    names
}

/// Where a card's chart of `measure` goes, relative to the card's folder.
pub(super) fn chart_file_name(measure: Measure) -> String {
    format!("charts/{}.svg", measure.as_str())
}

/// A card folder written before biaslab kept a list of what it wrote ([`crate::data::output::MANIFEST`]): its README.md
/// holds [`WRITTEN_BY`], so it and the card's other files there are biaslab's.
pub(super) fn adopt_earlier_card(out: &mut OutputDir) -> Result<()> {
    let dir = out.path().to_path_buf();
    let readme = std::fs::read_to_string(dir.join("README.md")).unwrap_or_default();
    if !readme.contains(WRITTEN_BY) || dir.join(crate::data::output::MANIFEST).exists() {
        return Ok(());
    }
    for name in ModelCardReport::file_names() {
        if dir.join(&name).is_file() {
            out.record(&name)?;
        }
    }
    Ok(())
}

/// The words that open every card biaslab writes; [`ModelCardReport::write`] overwrites only a README.md that holds them.
pub(super) const WRITTEN_BY: &str = "These sections were written by biaslab";

pub(super) const STYLE: &str = "body { font-family: system-ui, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; \
line-height: 1.5; color: #222; }\ntable { border-collapse: collapse; margin: 1rem 0; }\nth, td { border: 1px solid #ccc; \
padding: 0.25rem 0.5rem; text-align: left; }\nth { background: #f3f3f3; }\nimg { max-width: 100%; }\ncode { \
background: #f3f3f3; padding: 0 0.2rem; }";

/// What [`ModelCardReport::write`] wrote.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Written {
    /// The folder.
    pub dir: PathBuf,
    /// `README.md`.
    pub card: PathBuf,
    /// `bias_report.html`.
    pub html: PathBuf,
    /// `measurements.json`.
    pub json: PathBuf,
    /// The chart files.
    pub charts: Vec<PathBuf>,
    /// Charts that could not be drawn, with why.
    pub notes: Vec<String>,
}

impl fmt::Display for ModelCardReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_markdown(&ChartFiles::new()))
    }
}
