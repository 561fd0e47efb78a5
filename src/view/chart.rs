//! Charts of fill-mask results, drawn with plotters: inline SVG in a notebook, SVG or PNG files from the CLI.
//!
//! A [`Chart`] keeps what it shows, not pixels, so the same chart is drawn into the notebook (SVG) and into a file
//! (`.svg` or `.png`). Text is measured and drawn with DejaVu Sans compiled into the crate, so charts look the same
//! on a machine with no fonts installed. Colours come from the colour-blind-safe [`crate::view::display::palette`].

use std::path::Path;
use std::sync::OnceLock;

use plotters::coord::types::RangedCoordf64;
use plotters::coord::Shift;
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};
use plotters::style::{FontStyle, RGBColor};

use crate::error::{Error, Result};
use crate::view::display::{self, palette};

/// The end of the error for a chart given no rows: what gives it some.
const ASK_FOR_ROWS: &str = ": give it one or more (a chart of a report's top n needs n of 1 or more)";

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

/// One bar of [`Chart::bars_with_intervals`]: a category, its value and the interval around it.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct IntervalBar {
    /// The category ("race-color", "nurse").
    pub label: String,
    /// The bar's length (the estimate).
    pub value: f64,
    /// The interval's lower end (the left whisker).
    pub low: f64,
    /// The interval's upper end (the right whisker).
    pub high: f64,
}

/// One point of [`Chart::scatter`].
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct ScatterPoint {
    /// What the point is ("gender", "overall", a model), written beside it.
    pub label: String,
    /// Its x value.
    pub x: f64,
    /// Its y value.
    pub y: f64,
    /// How much it stands for (a count of sentences, of examples), drawn as the point's area relative to the
    /// largest point's; `None` draws every point alike.
    pub size: Option<f64>,
}

#[derive(Debug, Clone, PartialEq)]
enum Kind {
    SideBySide {
        panels: Vec<Panel>,
        x_label: String,
    },
    Diverging {
        rows: Vec<(String, f64)>,
        x_label: String,
        negative: String,
        positive: String,
    },
    Intervals {
        rows: Vec<IntervalBar>,
        x_label: String,
        reference: Option<f64>,
    },
    Scatter {
        points: Vec<ScatterPoint>,
        x_label: String,
        y_label: String,
        x_reference: Option<f64>,
        y_reference: Option<f64>,
    },
}

impl Chart {
    /// Horizontal bar charts side by side on one shared scale, one per panel (at most 4), coloured with
    /// [`palette::FIRST`], [`palette::SECOND`], ….
    pub fn side_by_side(title: impl Into<String>, x_label: impl Into<String>, panels: Vec<Panel>) -> Result<Self> {
        if panels.is_empty() || panels.len() > 4 {
            return Err(Error::Chart(format!(
                "a side-by-side chart takes 1 to 4 panels, not {}: draw at most 4 side by side (several charts for \
                 more)",
                panels.len()
            )));
        }
        if let Some(panel) = panels.iter().find(|p| p.bars.len() != p.only_here.len()) {
            return Err(Error::Chart(format!(
                "panel {:?} has a bar without its only_here flag: give one only_here flag per bar",
                panel.title
            )));
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
            return Err(Error::Chart(format!("a diverging chart needs at least one row{ASK_FOR_ROWS}")));
        }
        if let Some((word, value)) = rows.iter().find(|(_, v)| !v.is_finite()) {
            return Err(Error::Chart(format!(
                "the value for {word:?} is not a finite number ({value}): leave that row out"
            )));
        }
        let kind =
            Kind::Diverging { rows, x_label: x_label.into(), negative: negative.into(), positive: positive.into() };
        Ok(Self { title: title.into(), kind })
    }

    /// Horizontal bars, one per category from the top down in the order given, each from 0 to its value with a
    /// whisker from `low` to `high` (a confidence interval), and an optional dashed `reference` line (50 for a
    /// percentage where 50 is "no preference", 0 for a log-ratio). With a reference, bars at or above it are
    /// [`palette::FIRST`] and bars below it [`palette::SECOND`].
    pub fn bars_with_intervals(
        title: impl Into<String>,
        x_label: impl Into<String>,
        rows: Vec<IntervalBar>,
        reference: Option<f64>,
    ) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Chart(format!("a bar chart with intervals needs at least one row{ASK_FOR_ROWS}")));
        }
        for row in &rows {
            if ![row.value, row.low, row.high].iter().all(|v| v.is_finite()) {
                return Err(Error::Chart(format!(
                    "the bar {:?} has a value or interval end that is not a finite number ({}, [{}, {}]): leave that \
                     row out",
                    row.label, row.value, row.low, row.high
                )));
            }
            if row.low > row.high {
                return Err(Error::Chart(format!(
                    "the interval of {:?} is upside down: low {} > high {}; give its lower end as low",
                    row.label, row.low, row.high
                )));
            }
        }
        if let Some(r) = reference.filter(|r| !r.is_finite()) {
            return Err(Error::Chart(format!(
                "the reference line is not a finite number ({r}): give a finite one, or none"
            )));
        }
        Ok(Self { title: title.into(), kind: Kind::Intervals { rows, x_label: x_label.into(), reference } })
    }

    /// Plain horizontal bars, one per (label, value) from the top down in the order given, each from 0 to its value,
    /// with no interval: drawn as [`Chart::bars_with_intervals`] with each interval shrunk to its value (a dot at
    /// the bar's end) and no reference line.
    pub fn bars(title: impl Into<String>, x_label: impl Into<String>, rows: Vec<(String, f64)>) -> Result<Self> {
        if rows.is_empty() {
            return Err(Error::Chart(format!("a bar chart needs at least one row{ASK_FOR_ROWS}")));
        }
        let rows =
            rows.into_iter().map(|(label, value)| IntervalBar { label, value, low: value, high: value }).collect();
        Self::bars_with_intervals(title, x_label, rows, None)
    }

    /// Labelled points on two axes, with optional dashed reference lines at `x_reference` (vertical) and
    /// `y_reference` (horizontal): for example StereoSet's stereotype score (x, ideal 50) against its language model
    /// score (y, ideal 100), per domain and overall.
    pub fn scatter(
        title: impl Into<String>,
        x_label: impl Into<String>,
        y_label: impl Into<String>,
        points: Vec<ScatterPoint>,
        x_reference: Option<f64>,
        y_reference: Option<f64>,
    ) -> Result<Self> {
        if points.is_empty() {
            return Err(Error::Chart("a scatter chart needs at least one point: give it one or more".into()));
        }
        if let Some(p) = points.iter().find(|p| !p.x.is_finite() || !p.y.is_finite()) {
            return Err(Error::Chart(format!(
                "the point {:?} is not at finite numbers ({}, {}): leave that point out",
                p.label, p.x, p.y
            )));
        }
        if let Some(r) = x_reference.into_iter().chain(y_reference).find(|r| !r.is_finite()) {
            return Err(Error::Chart(format!(
                "a reference line is not a finite number ({r}): give a finite one, or none"
            )));
        }
        let kind = Kind::Scatter { points, x_label: x_label.into(), y_label: y_label.into(), x_reference, y_reference };
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
            Kind::Intervals { rows, .. } => (820, 150 + 24 * rows.len() as u32),
            Kind::Scatter { .. } => (760, 580),
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
                root.present().map_err(|err| {
                    Error::Chart(format!(
                        "cannot write {}: {err}; check that its folder exists and may be written, or name the file \
                         .svg",
                        path.display()
                    ))
                })
            }
            _ => Err(Error::ChartFormat { path: path.to_path_buf() }),
        }
    }

    /// Shows the chart inline in the evcxr Jupyter kernel (an SVG); prints an error message if it cannot be drawn.
    // Not a `View`: a chart is drawn, not a result with a table, and drawing it can fail.
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
            Kind::Intervals { rows, x_label, reference } => draw_intervals(&body, rows, x_label, *reference),
            Kind::Scatter { points, x_label, y_label, x_reference, y_reference } => {
                draw_scatter(&body, points, x_label, y_label, *x_reference, *y_reference)
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
            Kind::Intervals { rows, x_label, reference } => {
                match reference {
                    Some(r) => writeln!(f, "({x_label}; reference {r})")?,
                    None => writeln!(f, "({x_label})")?,
                }
                for row in rows {
                    writeln!(f, "  {:<16} {:>9.3}  [{:.3}, {:.3}]", row.label, row.value, row.low, row.high)?;
                }
            }
            Kind::Scatter { points, x_label, y_label, .. } => {
                writeln!(f, "  {:<16} {:>12} {:>12}", "", truncate(x_label, 12), truncate(y_label, 12))?;
                for p in points {
                    writeln!(f, "  {:<16} {:>12.3} {:>12.3}", p.label, p.x, p.y)?;
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
        .y_label_area_size(label_area(rows.iter().map(|(label, _)| label.as_str()), 130))
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

/// `(low, high)` padded by `share` of the span on each side; a span of 0 becomes ±1 around the value.
fn padded(low: f64, high: f64, share: f64) -> (f64, f64) {
    let span = high - low;
    if span > 0.0 {
        (low - share * span, high + share * span)
    } else {
        (low - 1.0, high + 1.0)
    }
}

fn truncate(text: &str, width: usize) -> String {
    if text.chars().count() <= width {
        text.to_string()
    } else {
        text.chars().take(width.saturating_sub(1)).chain(['…']).collect()
    }
}

/// A dark grey for reference lines and their labels.
const REFERENCE: RGBColor = RGBColor(0x55, 0x55, 0x55);

/// The width of a row-label area: wide enough for the longest of `labels` (about 6.5 px a character at the labels'
/// size), at least `least` px.
fn label_area<'a>(labels: impl Iterator<Item = &'a str>, least: u32) -> u32 {
    let longest = labels.map(|label| label.chars().count()).max().unwrap_or(0) as u32;
    least.max(longest * 13 / 2 + 12)
}

fn draw_intervals<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    rows: &[IntervalBar],
    x_label: &str,
    reference: Option<f64>,
) -> DrawResult<DB> {
    let ends = rows.iter().flat_map(|r| [r.value, r.low, r.high]).chain(reference).chain([0.0]);
    let (low, high) = ends.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let (low, high) = padded(low, high, 0.06);
    let n = rows.len() as f64;
    let mut chart = ChartBuilder::on(area)
        .margin(12)
        .margin_top(if reference.is_some() { 30 } else { 12 })
        .x_label_area_size(44)
        .y_label_area_size(label_area(rows.iter().map(|r| r.label.as_str()), 150))
        .build_cartesian_2d(low..high, 0.0..n)?;
    let span = high - low;
    let digits = if span >= 20.0 {
        0
    } else if span >= 2.0 {
        1
    } else {
        2
    };
    draw_x_axis(&mut chart, 9, &move |v| format!("{v:.digits$}"), x_label)?;
    chart.draw_series(rows.iter().enumerate().map(|(i, row)| {
        let colour = match reference {
            Some(r) if row.value < r => palette::SECOND,
            _ => palette::FIRST,
        };
        let y = n - i as f64;
        Rectangle::new([(0.0, y - 0.2), (row.value, y - 0.8)], pale(colour).filled())
    }))?;
    // Whiskers: the interval, with caps, and a dot at the estimate.
    let whisker = BLACK.stroke_width(2);
    for (i, row) in rows.iter().enumerate() {
        let y = n - i as f64 - 0.5;
        chart.draw_series(LineSeries::new([(row.low, y), (row.high, y)], whisker))?;
        for end in [row.low, row.high] {
            chart.draw_series(LineSeries::new([(end, y - 0.22), (end, y + 0.22)], whisker))?;
        }
        let colour = match reference {
            Some(r) if row.value < r => palette::SECOND,
            _ => palette::FIRST,
        };
        chart.draw_series([Circle::new((row.value, y), 4, rgb(colour).filled())])?;
    }
    if low < 0.0 && high > 0.0 && reference != Some(0.0) {
        chart.draw_series(LineSeries::new([(0.0, 0.0), (0.0, n)], BLACK.stroke_width(1)))?;
    }
    if let Some(r) = reference {
        chart.draw_series(DashedLineSeries::new([(r, 0.0), (r, n)], 6, 4, REFERENCE.stroke_width(2)))?;
        let style = text_style(13, FontStyle::Normal).color(&REFERENCE).pos(Pos::new(HPos::Center, VPos::Bottom));
        let text = format!("reference {}", trim_number(r));
        chart.draw_series([EmptyElement::at((r, n)) + Text::new(text, (0, -6), style)])?;
    }
    let labels: Vec<String> = rows.iter().map(|r| r.label.clone()).collect();
    draw_row_labels(&mut chart, &labels, n)?;
    Ok(())
}

/// A number as short as it reads: 50, 0.5, 0.25, -1.5 (at most 3 decimals).
fn trim_number(value: f64) -> String {
    let text = format!("{value:.3}");
    let text = text.trim_end_matches('0').trim_end_matches('.');
    if text == "-0" {
        "0".into()
    } else {
        text.to_string()
    }
}

fn draw_scatter<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    points: &[ScatterPoint],
    x_label: &str,
    y_label: &str,
    x_reference: Option<f64>,
    y_reference: Option<f64>,
) -> DrawResult<DB> {
    let range = |values: Vec<f64>| {
        let (lo, hi) = values.iter().fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
        padded(lo, hi, 0.12)
    };
    let (x0, x1) = range(points.iter().map(|p| p.x).chain(x_reference).collect());
    let (y0, y1) = range(points.iter().map(|p| p.y).chain(y_reference).collect());
    let mut chart = ChartBuilder::on(area)
        .margin(16)
        .margin_right(30)
        .x_label_area_size(48)
        .y_label_area_size(64)
        .build_cartesian_2d(x0..x1, y0..y1)?;
    let digits = |span: f64| {
        if span >= 10.0 {
            0
        } else if span >= 1.0 {
            1
        } else {
            2
        }
    };
    let (dx, dy) = (digits(x1 - x0), digits(y1 - y0));
    chart
        .configure_mesh()
        .max_light_lines(1)
        .bold_line_style(RGBColor(0xdd, 0xdd, 0xdd))
        .x_labels(8)
        .y_labels(8)
        .x_label_formatter(&move |v| format!("{v:.dx$}"))
        .y_label_formatter(&move |v| format!("{v:.dy$}"))
        .x_desc(x_label)
        .y_desc(y_label)
        .label_style(text_style(13, FontStyle::Normal))
        .axis_desc_style(text_style(13, FontStyle::Normal))
        .draw()?;
    let note = text_style(12, FontStyle::Normal).color(&REFERENCE);
    if let Some(r) = x_reference {
        chart.draw_series(DashedLineSeries::new([(r, y0), (r, y1)], 6, 4, REFERENCE.stroke_width(2)))?;
        let style = note.clone().pos(Pos::new(HPos::Left, VPos::Top));
        chart.draw_series([EmptyElement::at((r, y1)) + Text::new(format!("x = {}", trim_number(r)), (4, 4), style)])?;
    }
    if let Some(r) = y_reference {
        chart.draw_series(DashedLineSeries::new([(x0, r), (x1, r)], 6, 4, REFERENCE.stroke_width(2)))?;
        let style = note.clone().pos(Pos::new(HPos::Right, VPos::Bottom));
        chart
            .draw_series([EmptyElement::at((x1, r)) + Text::new(format!("y = {}", trim_number(r)), (-4, -4), style)])?;
    }
    // A point's area in proportion to its size (radius 2.5 to 11 px), so that a word seen twice does not look as
    // weighty as one seen three hundred times; without sizes every point has radius 5.
    let largest = points.iter().filter_map(|p| p.size).fold(0.0, f64::max);
    let radii: Vec<i32> = points
        .iter()
        .map(|p| match p.size {
            Some(size) if largest > 0.0 && size.is_finite() => {
                (2.5 + 8.5 * (size.max(0.0) / largest).sqrt()).round() as i32
            }
            _ => 5,
        })
        .collect();
    chart.draw_series(
        points.iter().zip(&radii).map(|(p, &r)| Circle::new((p.x, p.y), r, rgb(palette::FIRST).mix(0.75).filled())),
    )?;
    // Labels beside their points: right, left, above or below, whichever first overlaps no label placed before
    // and no other point (text width estimated at 7.5 px a character of 13 px DejaVu Sans).
    let pixels: Vec<(i32, i32)> = points.iter().map(|p| chart.backend_coord(&(p.x, p.y))).collect();
    let mut placed: Vec<(i32, i32, i32, i32)> = Vec::new();
    for (i, ((p, &(px, py)), &radius)) in points.iter().zip(&pixels).zip(&radii).enumerate() {
        let width = (p.label.chars().count() as f64 * 7.5).ceil() as i32;
        let gap = radius + 4;
        let candidates = [
            (HPos::Left, VPos::Center, gap, 0, (px + gap, py - 8, px + gap + width, py + 8)),
            (HPos::Right, VPos::Center, -gap, 0, (px - gap - width, py - 8, px - gap, py + 8)),
            (
                HPos::Center,
                VPos::Bottom,
                0,
                -(radius + 3),
                (px - width / 2, py - radius - 19, px + width / 2, py - radius - 3),
            ),
            (
                HPos::Center,
                VPos::Top,
                0,
                radius + 3,
                (px - width / 2, py + radius + 3, px + width / 2, py + radius + 19),
            ),
        ];
        let overlaps = |(l, t, r, b): (i32, i32, i32, i32)| {
            placed.iter().any(|&(l2, t2, r2, b2)| l < r2 && l2 < r && t < b2 && t2 < b)
                || pixels
                    .iter()
                    .enumerate()
                    .any(|(j, &(x, y))| j != i && l - 5 < x && x < r + 5 && t - 5 < y && y < b + 5)
        };
        let (h, v, dx, dy, rect) = candidates.iter().copied().find(|c| !overlaps(c.4)).unwrap_or(candidates[0]);
        placed.push(rect);
        let style = text_style(13, FontStyle::Normal).pos(Pos::new(h, v));
        chart.draw_series([EmptyElement::at((p.x, p.y)) + Text::new(p.label.clone(), (dx, dy), style)])?;
    }
    Ok(())
}

/// Registers DejaVu Sans (regular and bold) as plotters' "sans-serif", once per process. The font is built into
/// biaslab, so a failure is a bug ([`Error::Internal`]).
fn register_fonts() -> Result<()> {
    static REGISTERED: OnceLock<bool> = OnceLock::new();
    let ok = REGISTERED.get_or_init(|| {
        let regular = plotters::style::register_font("sans-serif", FontStyle::Normal, dejavu::sans::regular());
        let bold = plotters::style::register_font("sans-serif", FontStyle::Bold, dejavu::sans::bold());
        regular.is_ok() && bold.is_ok()
    });
    if !ok {
        return Err(Error::Internal("the embedded DejaVu Sans font could not be read".into()));
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
        assert!(
            svg.contains(&palette::hex(palette::FIRST).to_uppercase()) || svg.contains(&palette::hex(palette::FIRST))
        );
        assert!(
            svg.contains(&palette::hex(palette::SECOND).to_uppercase()) || svg.contains(&palette::hex(palette::SECOND))
        );
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

    fn interval_rows() -> Vec<IntervalBar> {
        let bar = |label: &str, value: f64, low: f64, high: f64| IntervalBar { label: label.into(), value, low, high };
        vec![bar("race-color", 58.1, 54.0, 62.0), bar("gender", 55.7, 50.2, 61.0), bar("age", 47.3, 40.0, 55.5)]
    }

    #[test]
    fn a_bar_chart_with_intervals_shows_every_label_and_the_reference() {
        let chart =
            Chart::bars_with_intervals("CrowS-Pairs", "stereotype score (%)", interval_rows(), Some(50.0)).unwrap();
        let svg = chart.svg().unwrap();
        for text in ["race-color", "gender", "age", "CrowS-Pairs", "stereotype score (%)", "reference 50"] {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        // Bars above the reference in the first colour, below it in the second (pale fills, solid dots).
        assert!(svg.to_lowercase().contains(&palette::hex(palette::FIRST)));
        assert!(svg.to_lowercase().contains(&palette::hex(palette::SECOND)));
        assert!(chart.to_string().contains("gender"));
        // Without a reference there is no reference label.
        let plain = Chart::bars_with_intervals("t", "x", interval_rows(), None).unwrap().svg().unwrap();
        assert!(!plain.contains("reference"));
    }

    #[test]
    fn a_scatter_chart_labels_its_points_and_axes() {
        let point = |label: &str, x: f64, y: f64| ScatterPoint { label: label.into(), x, y, size: None };
        let points = vec![point("gender", 62.0, 88.0), point("race", 58.0, 91.5), point("overall", 60.1, 89.9)];
        let chart =
            Chart::scatter("StereoSet", "stereotype score", "language model score", points, Some(50.0), Some(100.0))
                .unwrap();
        let svg = chart.svg().unwrap();
        for text in
            ["gender", "race", "overall", "StereoSet", "stereotype score", "language model score", "x = 50", "y = 100"]
        {
            assert!(svg.contains(text), "{text} missing from the SVG");
        }
        assert_eq!(trim_number(0.5), "0.5");
        assert_eq!(trim_number(-0.0), "0");
    }

    #[test]
    fn a_scatter_point_with_a_size_is_drawn_by_its_area() {
        let point = |label: &str, x: f64, size: f64| ScatterPoint { label: label.into(), x, y: x, size: Some(size) };
        let chart =
            Chart::scatter("s", "x", "y", vec![point("rare", 0.1, 2.0), point("common", 0.5, 297.0)], None, None);
        let svg = chart.unwrap().svg().unwrap();
        let radii: Vec<&str> =
            svg.match_indices("<circle").map(|(i, _)| &svg[i..i + svg[i..].find("/>").unwrap()]).collect();
        assert_eq!(radii.len(), 2, "{svg}");
        assert!(radii[0].contains("r=\"3\"") && radii[1].contains("r=\"11\""), "{radii:?}");
    }

    #[test]
    fn the_new_charts_are_saved_as_png_and_svg() {
        let dir = tempfile::tempdir().unwrap();
        let bars = Chart::bars_with_intervals("t", "x", interval_rows(), Some(50.0)).unwrap();
        let scatter = Chart::scatter(
            "s",
            "x",
            "y",
            vec![ScatterPoint { label: "one".into(), x: 1.0, y: 1.0, size: None }],
            None,
            None,
        )
        .unwrap();
        for (chart, name) in [(bars, "bars"), (scatter, "scatter")] {
            chart.save(dir.path().join(format!("{name}.svg"))).unwrap();
            chart.save(dir.path().join(format!("{name}.png"))).unwrap();
            let png = std::fs::read(dir.path().join(format!("{name}.png"))).unwrap();
            assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
        }
    }

    #[test]
    fn bad_interval_and_scatter_charts_are_errors() {
        let bar = |value: f64, low: f64, high: f64| vec![IntervalBar { label: "b".into(), value, low, high }];
        assert!(matches!(Chart::bars_with_intervals("t", "x", vec![], None), Err(Error::Chart(_))));
        assert!(matches!(Chart::bars_with_intervals("t", "x", bar(f64::NAN, 0.0, 1.0), None), Err(Error::Chart(_))));
        assert!(matches!(Chart::bars_with_intervals("t", "x", bar(0.5, 1.0, 0.0), None), Err(Error::Chart(_))));
        assert!(matches!(
            Chart::bars_with_intervals("t", "x", bar(0.5, 0.0, 1.0), Some(f64::NAN)),
            Err(Error::Chart(_))
        ));
        let point = |x: f64, y: f64| vec![ScatterPoint { label: "p".into(), x, y, size: None }];
        assert!(matches!(Chart::scatter("t", "x", "y", vec![], None, None), Err(Error::Chart(_))));
        assert!(matches!(Chart::scatter("t", "x", "y", point(1.0, f64::INFINITY), None, None), Err(Error::Chart(_))));
        assert!(matches!(Chart::scatter("t", "x", "y", point(1.0, 1.0), Some(f64::NAN), None), Err(Error::Chart(_))));
        // A single point or a zero-width interval still draws (the axis is widened around it).
        assert!(Chart::scatter("t", "x", "y", point(1.0, 1.0), None, None).unwrap().svg().is_ok());
        assert!(Chart::bars_with_intervals("t", "x", bar(0.0, 0.0, 0.0), None).unwrap().svg().is_ok());
    }

    #[test]
    fn bad_charts_are_errors_not_panics() {
        assert!(Chart::side_by_side("t", "x", vec![]).is_err());
        assert!(Chart::diverging("t", "x", "a", "b", vec![]).is_err());
        assert!(Chart::diverging("t", "x", "a", "b", vec![("w".into(), f64::NAN)]).is_err());
    }
}
