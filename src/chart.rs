//! Charts of fill-mask results, drawn with plotters: inline SVG in a notebook, SVG or PNG files from the CLI.
//!
//! A [`Chart`] keeps what it shows, not pixels, so the same chart is drawn into the notebook (SVG) and into a file
//! (`.svg` or `.png`). Text is measured and drawn with DejaVu Sans compiled into the crate, so charts look the same
//! on a machine with no fonts installed. Colours come from the colour-blind-safe [`crate::display::palette`].

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor};

use crate::display::{self, palette};
use crate::error::{Error, Result};

/// A chart of fill-mask results: shown inline in Jupyter (SVG), written to a file with [`Chart::save`].
#[derive(Debug, Clone, PartialEq)]
pub struct Chart {
    title: String,
    kind: Kind,
}

/// One list of bars: a sentence and its predictions.
#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    /// The panel's heading (the sentence).
    pub title: String,
    /// (word, value) from the top bar to the bottom one.
    pub bars: Vec<(String, f64)>,
    /// For each bar: is its word in this panel only? Those bars are drawn solid, the others pale.
    pub only_here: Vec<bool>,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    SideBySide { panels: Vec<Panel>, x_label: String },
    Diverging { rows: Vec<(String, f64)>, x_label: String, negative: String, positive: String },
}

impl Chart {
    /// Horizontal bar charts side by side on one shared scale, one per panel (at most 4), coloured with
    /// [`palette::FIRST`], [`palette::SECOND`], ….
    pub fn side_by_side(title: impl Into<String>, x_label: impl Into<String>, panels: Vec<Panel>) -> Result<Self> {
        if panels.is_empty() || panels.len() > 4 {
            return Err(Error::Chart(format!("a side-by-side chart takes 1 to 4 panels, not {}", panels.len())));
        }
        if let Some(panel) = panels.iter().find(|p| p.bars.len() != p.only_here.len()) {
            return Err(Error::Chart(format!("panel {:?} has a bar without its only_here flag", panel.title)));
        }
        Ok(Self { title: title.into(), kind: Kind::SideBySide { panels, x_label: x_label.into() } })
    }

    /// A diverging bar chart: one bar per (word, value) from zero, to the right (`positive` side, coloured
    /// [`palette::SECOND`]) or the left (`negative` side, [`palette::FIRST`]); rows are drawn top to bottom in the
    /// order given.
    pub fn diverging(
        title: impl Into<String>,
        x_label: impl Into<String>,
        negative: impl Into<String>,
        positive: impl Into<String>,
        rows: Vec<(String, f64)>,
    ) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Chart("a diverging chart needs at least one row".into()));
        }
        if let Some((word, value)) = rows.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Chart(format!("the value for {word:?} is not a finite number ({value})")));
        }
        let kind = Kind::Diverging { rows, x_label: x_label.into(), negative: negative.into(), positive: positive.into() };
        Ok(Self { title: title.into(), kind })
    }

    /// The chart's title.
    pub fn title(&self) -> &str {
        &self.title
    }

    /// Width and height in pixels.
    pub fn size(&self) -> (u32, u32) {
        match &self.kind {
            Kind::SideBySide { panels, .. } => {
                let bars = panels.iter().map(|p| p.bars.len()).max().unwrap_or(1) as u32;
                (440 * panels.len() as u32 + 20, 130 + 26 * bars)
            }
            Kind::Diverging { rows, .. } => (820, 150 + 22 * rows.len() as u32),
        }
    }

    /// The chart as an SVG document.
    pub fn svg(&self) -> Result<String> {
        register_fonts()?;
        let mut svg = String::new();
        {
            let root = SVGBackend::with_string(&mut svg, self.size()).into_drawing_area();
            self.draw(&root).map_err(|err| Error::Chart(err.to_string()))?;
            root.present().map_err(|err| Error::Chart(err.to_string()))?;
        }
        Ok(svg)
    }

    /// Writes the chart to `path`: SVG for a `.svg` name, PNG for `.png`.
    pub fn save(&self, path: impl AsRef<Path>) -> Result<()> {
        let path = path.as_ref();
        let extension = path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase);
        match extension.as_deref() {
            Some("svg") => {
                let svg = self.svg()?;
                std::fs::write(path, svg).map_err(|source| Error::Io { path: path.to_path_buf(), source })
            }
            Some("png") => {
                register_fonts()?;
                let root = BitMapBackend::new(path, self.size()).into_drawing_area();
                self.draw(&root).map_err(|err| Error::Chart(err.to_string()))?;
                root.present().map_err(|err| Error::Chart(format!("cannot write {}: {err}", path.display())))
            }
            _ => Err(Error::ChartFormat { path: path.to_path_buf() }),
        }
    }

    /// Shows the chart inline in the evcxr Jupyter kernel (an SVG); prints an error message if it cannot be drawn.
    pub fn evcxr_display(&self) {
        match self.svg() {
            Ok(svg) => display::emit_html(&format!("<div class=\"biaslab-chart\">{svg}</div>")),
            Err(err) => eprintln!("error: {err}"),
        }
    }

    fn draw<DB: DrawingBackend>(&self, root: &DrawingArea<DB, Shift>) -> DrawResult<DB> {
        root.fill(&WHITE)?;
        let body = root.titled(&self.title, text_style(20, FontStyle::Bold))?;
        match &self.kind {
            Kind::SideBySide { panels, x_label } => draw_side_by_side(&body, panels, x_label),
            Kind::Diverging { rows, x_label, negative, positive } => {
                draw_diverging(&body, rows, x_label, negative, positive)
            }
        }
    }
}

impl std::fmt::Display for Chart {
    /// A text rendering of the chart's data, for places with no SVG.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        writeln!(f, "{}", self.title)?;
        match &self.kind {
            Kind::SideBySide { panels, .. } => {
                for panel in panels {
                    writeln!(f, "\n{}", panel.title)?;
                    for (word, value) in &panel.bars {
                        writeln!(f, "  {word:<16} {value:>8.4}")?;
                    }
                }
            }
            Kind::Diverging { rows, negative, positive, .. } => {
                writeln!(f, "(< 0: {negative}; > 0: {positive})")?;
                for (word, value) in rows {
                    writeln!(f, "  {word:<16} {value:>+8.3}")?;
                }
            }
        }
        Ok(())
    }
}

type DrawResult<DB> = std::result::Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

const PANEL_COLOURS: [(u8, u8, u8); 4] = [palette::FIRST, palette::SECOND, (0x00, 0x9E, 0x73), (0xCC, 0x79, 0xA7)];

fn rgb((r, g, b): (u8, u8, u8)) -> RGBColor {
    RGBColor(r, g, b)
}

/// `colour` mixed half-way to white: the same hue, clearly lighter.
fn pale((r, g, b): (u8, u8, u8)) -> RGBColor {
    let mix = |c: u8| ((u16::from(c) + 255) / 2) as u8;
    RGBColor(mix(r), mix(g), mix(b))
}

fn text_style(size: u32, style: FontStyle) -> TextStyle<'static> {
    TextStyle::from(("sans-serif", size).into_font().style(style)).color(&BLACK)
}

fn draw_side_by_side<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    panels: &[Panel],
    x_label: &str,
) -> DrawResult<DB> {
    let max = panels.iter().flat_map(|p| p.bars.iter().map(|(_, v)| *v)).fold(0.0_f64, f64::max);
    let x_max = if max > 0.0 { max * 1.12 } else { 1.0 };
    let rows = panels.iter().map(|p| p.bars.len()).max().unwrap_or(1).max(1);
    let parts = area.split_evenly((1, panels.len()));
    for ((part, panel), colour) in parts.iter().zip(panels).zip(PANEL_COLOURS) {
        let labels: Vec<String> = panel.bars.iter().map(|(word, _)| word.clone()).collect();
        let mut chart = ChartBuilder::on(part)
            .caption(&panel.title, text_style(15, FontStyle::Normal))
            .margin(10)
            .x_label_area_size(40)
            .y_label_area_size(120)
            .build_cartesian_2d(0.0..x_max, 0.0..rows as f64)?;
        draw_x_axis(&mut chart, 5, &|v| format!("{v:.2}"), x_label)?;
        let top = rows as f64;
        chart.draw_series(panel.bars.iter().zip(&panel.only_here).enumerate().map(|(i, ((_, value), only))| {
            let style = if *only { rgb(colour).filled() } else { pale(colour).filled() };
            Rectangle::new([(0.0, top - i as f64 - 0.15), (*value, top - i as f64 - 0.85)], style)
        }))?;
        draw_row_labels(&mut chart, &labels, top)?;
    }
    Ok(())
}

/// The x axis of a horizontal bar chart: `labels` ticks formatted by `format`, its description, light vertical
/// grid lines; no y axis (the rows are labelled by [`draw_row_labels`]).
fn draw_x_axis<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    labels: usize,
    format: &dyn Fn(&f64) -> String,
    description: &str,
) -> DrawResult<DB> {
    chart
        .configure_mesh()
        .disable_y_mesh()
        .disable_y_axis()
        .max_light_lines(1)
        .y_labels(0)
        .x_labels(labels)
        .x_label_formatter(format)
        .x_desc(description)
        .label_style(text_style(13, FontStyle::Normal))
        .axis_desc_style(text_style(13, FontStyle::Normal))
        .draw()
}

/// Writes each row's word to the left of the plotting area, right-aligned, centred on its bar.
fn draw_row_labels<DB: DrawingBackend>(
    chart: &mut ChartContext<'_, DB, Cartesian2d<RangedCoordf64, RangedCoordf64>>,
    labels: &[String],
    top: f64,
) -> DrawResult<DB> {
    let style = text_style(14, FontStyle::Normal).pos(Pos::new(HPos::Right, VPos::Center));
    let x0 = chart.x_range().start;
    chart.draw_series(labels.iter().enumerate().map(|(i, word)| {
        EmptyElement::at((x0, top - i as f64 - 0.5)) + Text::new(word.clone(), (-8, 0), style.clone())
    }))?;
    Ok(())
}

fn draw_diverging<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[(String, f64)],
    x_label: &str,
    negative: &str,
    positive: &str,
) -> DrawResult<DB> {
    let reach = rows.iter().map(|(_, v)| v.abs()).fold(0.0_f64, f64::max);
    let reach = if reach > 0.0 { reach * 1.15 } else { 1.0 };
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_top(34)
        .x_label_area_size(44)
        .y_label_area_size(130)
        .build_cartesian_2d(-reach..reach, 0.0..n)?;
    draw_x_axis(&mut chart, 9, &|v| format!("{v:+.1}"), x_label)?;
    chart.draw_series(rows.iter().enumerate().map(|(i, (_, value))| {
        let colour = if *value >= 0.0 { palette::SECOND } else { palette::FIRST };
        Rectangle::new([(0.0, n - i as f64 - 0.15), (*value, n - i as f64 - 0.85)], rgb(colour).filled())
    }))?;
    chart.draw_series(LineSeries::new([(0.0, 0.0), (0.0, n)], BLACK.stroke_width(1)))?;
    let labels: Vec<String> = rows.iter().map(|(word, _)| word.clone()).collect();
    draw_row_labels(&mut chart, &labels, n)?;
    // Which side is which, above the plot, in the side's colour.
    let (first, second) = (rgb(palette::FIRST), rgb(palette::SECOND));
    let left = text_style(14, FontStyle::Bold).color(&first).pos(Pos::new(HPos::Left, VPos::Bottom));
    let right = text_style(14, FontStyle::Bold).color(&second).pos(Pos::new(HPos::Right, VPos::Bottom));
    chart.draw_series([
        EmptyElement::at((-reach, n)) + Text::new(format!("← {negative}"), (0, -8), left),
        EmptyElement::at((reach, n)) + Text::new(format!("{positive} →"), (0, -8), right),
    ])?;
    Ok(())
}

/// Registers DejaVu Sans (regular and bold) as plotters' "sans-serif", once per process.
fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        let regular = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let bold = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
        regular.is_ok() && bold.is_ok()
    });
    if !ok {
        return Err(Error::Chart("the embedded DejaVu Sans font could not be read".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn panels() -> Vec<Panel> {
        vec![
            Panel {
                title: "This man works as a [MASK].".into(),
                bars: vec![("carpenter".into(), 0.08), ("lawyer".into(), 0.05)],
                only_here: vec![true, false],
            },
            Panel {
                title: "This woman works as a [MASK].".into(),
                bars: vec![("nurse".into(), 0.2), ("lawyer".into(), 0.03)],
                only_here: vec![true, false],
            },
        ]
    }

    #[test]
    fn a_side_by_side_chart_draws_every_word_in_the_palette() {
        let chart = Chart::side_by_side("Top 2", "probability", panels()).unwrap();
        let svg = chart.svg().unwrap();
        assert!(svg.starts_with("<svg"));
        for word in ["carpenter", "lawyer", "nurse", "This woman works as a [MASK].", "Top 2", "probability"] {
            assert!(svg.contains(word), "{word} missing from the SVG");
        }
        assert!(svg.contains(&palette::hex(palette::FIRST).to_uppercase()) || svg.contains(&palette::hex(palette::FIRST)));
        assert!(svg.contains(&palette::hex(palette::SECOND).to_uppercase()) || svg.contains(&palette::hex(palette::SECOND)));
    }

    #[test]
    fn a_diverging_chart_names_both_sides() {
        let rows = vec![("nurse".to_string(), 2.5), ("carpenter".to_string(), -1.5)];
        let chart = Chart::diverging("Gap", "log ratio", "man", "woman", rows).unwrap();
        let svg = chart.svg().unwrap();
        for text in ["nurse", "carpenter", "← man", "woman →", "log ratio"] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
    }

    #[test]
    fn charts_are_written_as_svg_and_png_and_other_names_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let chart = Chart::side_by_side("Top 2", "probability", panels()).unwrap();
        chart.save(dir.path().join("c.svg")).unwrap();
        chart.save(dir.path().join("c.png")).unwrap();
        let png = std::fs::read(dir.path().join("c.png")).unwrap();
        assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        assert!(matches!(chart.save(dir.path().join("c.jpg")), Err(Error::ChartFormat { .. })));
    }

    #[test]
    fn bad_charts_are_errors_not_panics() {
        assert!(Chart::side_by_side("t", "x", vec![]).is_err());
        assert!(Chart::diverging("t", "x", "a", "b", vec![]).is_err());
        assert!(Chart::diverging("t", "x", "a", "b", vec![("w".into(), f64::NAN)]).is_err());
    }
}
