//! The drawing layer: a small plain-data model of a figure (axes, line and
//! bar panels, marker lines) and one generic function that draws it on any
//! plotters backend, so the SVG and the PNG of a chart come from the same
//! code and cannot disagree.
//!
//! Every axis is linear in *plot space*: log scales are applied by the
//! chart code (values mapped through log10) and ticks are placed and
//! labelled here. One coordinate type then serves every chart, and the
//! tick positions are ours, not a heuristic's.

use std::sync::Once;

use plotters::coord::Shift;
use plotters::element::{ComposedElement, EmptyElement, Rectangle, Text};
use plotters::prelude::*;
use plotters::style::text_anchor::{HPos, Pos, VPos};

mod axis;
mod units;

use axis::Ticked;
pub use axis::{format_value, Axis};
pub use units::{Quantity, Unit};

/// Pixel size of every chart (PNG) and of the SVG canvas.
pub const SIZE: (u32, u32) = (1200, 700);

/// The embedded font's family name. SVGs name it too; a browser draws
/// them with its own sans-serif.
const FONT: &str = "sans-serif";
/// DejaVu Sans (see assets/fonts/LICENSE-DejaVu.txt). Embedded so PNGs
/// render the same on any machine, without fontconfig or system fonts.
static FONT_BYTES: &[u8] = include_bytes!("../../../assets/fonts/DejaVuSans.ttf");

// plotters sizes: the SVG's font-size is size / 1.24, the PNG's em about
// size × 0.86 with DejaVu; 23 keeps tick labels at ≥ 18 px in both.
const TITLE_PX: u32 = 32;
const AXIS_DESC_PX: u32 = 26;
const TICK_PX: u32 = 23;
const LEGEND_PX: u32 = 23;
const NOTE_PX: u32 = 22;
const FOOTER_PX: u32 = 19;

/// Colour-blind-friendly categorical palette (Okabe–Ito, darkened yellow).
const PALETTE: [RGBColor; 8] = [
    RGBColor(0, 114, 178),   // blue
    RGBColor(230, 159, 0),   // orange
    RGBColor(0, 158, 115),   // green
    RGBColor(204, 121, 167), // purple-pink
    RGBColor(86, 180, 233),  // sky blue
    RGBColor(213, 94, 0),    // vermillion
    RGBColor(140, 130, 20),  // olive
    RGBColor(70, 70, 70),    // dark grey
];
/// Fault events and gate thresholds.
pub const ALERT: RGBColor = RGBColor(200, 30, 30);
pub const NEUTRAL: RGBColor = RGBColor(90, 90, 90);

pub fn palette(i: usize) -> RGBColor {
    PALETTE[i % PALETTE.len()]
}

/// Registers the embedded font with plotters, once per process.
fn ensure_font() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // The bytes are a constant checked by a test; a failure would only
        // leave text undrawn, reported as a drawing error.
        let _ = plotters::style::register_font(FONT, FontStyle::Normal, FONT_BYTES);
    });
}

/// A polyline, broken into segments at gaps; single-point segments are
/// drawn as dots so a lone value still shows.
#[derive(Debug, Clone, PartialEq)]
pub struct Curve {
    pub label: String,
    pub color: RGBColor,
    /// Plot-space points.
    pub segments: Vec<Vec<(f64, f64)>>,
    /// Dots at every point (for sparse series).
    pub dots: bool,
}

/// A labelled vertical marker at plot-space `x` (fault events).
#[derive(Debug, Clone, PartialEq)]
pub struct VLine {
    pub x: f64,
    pub label: String,
    pub color: RGBColor,
}

/// A shaded horizontal band from plot-space `lo` to `hi` (a range too
/// small to call a difference), named in the legend.
#[derive(Debug, Clone, PartialEq)]
pub struct Band {
    pub lo: f64,
    pub hi: f64,
    pub label: String,
    pub color: RGBColor,
}

/// A labelled, dashed horizontal marker at plot-space `y` (gate thresholds).
#[derive(Debug, Clone, PartialEq)]
pub struct HLine {
    pub y: f64,
    pub label: String,
    pub color: RGBColor,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BarSeries {
    pub label: String,
    pub color: RGBColor,
    /// Per category: plot-space height and the value's text, or nothing.
    pub values: Vec<Option<(f64, String)>>,
    /// Per category: a whisker from plot-space low to high (the repeats'
    /// min–max), or none; may be shorter than `values`.
    pub whiskers: Vec<Option<(f64, f64)>>,
    /// Per category: the colour of the value's text (black when absent).
    pub label_colors: Vec<Option<RGBColor>>,
}

/// The colour of whiskers (drawn over a white halo, so they show on any bar).
pub const WHISKER: RGBColor = RGBColor(25, 25, 25);

#[derive(Debug, Clone, PartialEq)]
pub enum Body {
    Lines(Vec<Curve>),
    /// Grouped bars: one group per category (x axis), one bar per series.
    Bars {
        categories: Vec<String>,
        series: Vec<BarSeries>,
        /// The legend entry of the series' whiskers, when they have any.
        whisker_label: Option<String>,
        /// Per category: a text drawn at the foot of its group in place of
        /// bars (a figure that is not a number, e.g. "not attributable").
        slot_notes: Vec<Option<String>>,
        /// Plot-space value bars grow from (up or down); None: the axis's
        /// base (zero, or a log axis's floor).
        origin: Option<f64>,
    },
}

#[derive(Debug, Clone, PartialEq)]
pub struct Panel {
    pub x: Axis,
    pub y: Axis,
    pub body: Body,
    /// A legend in rows above the plot (never over the data): the
    /// series' labels, then the labelled horizontal lines'.
    pub legend: bool,
    pub vlines: Vec<VLine>,
    pub hlines: Vec<HLine>,
    /// Shaded behind the data.
    pub bands: Vec<Band>,
    /// Shown in the middle of the plot (e.g. "no data").
    pub note: Option<String>,
}

impl Panel {
    /// A grouped-bar panel; the x axis is made from the categories.
    pub fn bars(categories: Vec<String>, y: Axis, series: Vec<BarSeries>) -> Panel {
        let n = categories.len().max(1);
        // Tick marks at the group centres; the names are drawn by draw_panel.
        let ticks = (0..categories.len())
            .map(|i| (i as f64 + 0.5, String::new()))
            .collect();
        Panel {
            x: Axis::fixed("", 0.0, n as f64, ticks),
            y,
            body: Body::Bars {
                categories,
                series,
                whisker_label: None,
                slot_notes: Vec::new(),
                origin: None,
            },
            legend: true,
            vlines: Vec::new(),
            hlines: Vec::new(),
            bands: Vec::new(),
            note: None,
        }
    }

    /// Names the whiskers in the legend (bar panels only).
    pub fn with_whisker_label(mut self, label: &str) -> Panel {
        if let Body::Bars { whisker_label, .. } = &mut self.body {
            *whisker_label = Some(label.to_string());
        }
        self
    }

    /// Texts drawn in category slots in place of bars (bar panels only).
    pub fn with_slot_notes(mut self, notes: Vec<Option<String>>) -> Panel {
        if let Body::Bars { slot_notes, .. } = &mut self.body {
            *slot_notes = notes;
        }
        self
    }

    /// Bars grow up or down from plot-space `y` (bar panels only).
    pub fn with_origin(mut self, y: f64) -> Panel {
        if let Body::Bars { origin, .. } = &mut self.body {
            *origin = Some(y);
        }
        self
    }

    /// Empty axes with a note in the middle.
    pub fn empty(x: Axis, y: Axis, note: &str) -> Panel {
        Panel {
            x,
            y,
            body: Body::Lines(Vec::new()),
            legend: false,
            vlines: Vec::new(),
            hlines: Vec::new(),
            bands: Vec::new(),
            note: Some(note.to_string()),
        }
    }
}

/// A whole chart: a title, panels stacked top to bottom, a footer line.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    pub title: String,
    pub panels: Vec<Panel>,
    /// Small print at the bottom (scenario, run id, what was merged).
    pub footer: String,
}

/// Draws a figure as SVG text and PNG bytes.
pub fn render(fig: &Figure) -> (String, Vec<u8>) {
    ensure_font();
    let svg = render_svg(fig)
        .or_else(|e| render_svg(&failed(fig, &e)))
        .unwrap_or_default();
    let png = render_png(fig)
        .or_else(|e| render_png(&failed(fig, &e)))
        .unwrap_or_default();
    (svg, png)
}

/// The figure to show instead of one that plotters refused to draw.
fn failed(fig: &Figure, error: &str) -> Figure {
    Figure {
        title: fig.title.clone(),
        panels: vec![Panel::empty(
            Axis::fixed("", 0.0, 1.0, Vec::new()),
            Axis::fixed("", 0.0, 1.0, Vec::new()),
            &format!("chart could not be drawn: {error}"),
        )],
        footer: fig.footer.clone(),
    }
}

fn render_svg(fig: &Figure) -> Result<String, String> {
    let mut out = String::new();
    {
        let root = SVGBackend::with_string(&mut out, SIZE).into_drawing_area();
        draw_figure(&root, fig).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    Ok(out)
}

fn render_png(fig: &Figure) -> Result<Vec<u8>, String> {
    let (w, h) = SIZE;
    let mut rgb = vec![255u8; (w * h * 3) as usize];
    {
        let root = BitMapBackend::with_buffer(&mut rgb, SIZE).into_drawing_area();
        draw_figure(&root, fig).map_err(|e| e.to_string())?;
        root.present().map_err(|e| e.to_string())?;
    }
    encode_png(&rgb, w, h).map_err(|e| e.to_string())
}

/// RGB8 pixels → a PNG file's bytes (deterministic: no timestamps).
fn encode_png(rgb: &[u8], w: u32, h: u32) -> Result<Vec<u8>, png::EncodingError> {
    let mut out = Vec::new();
    let mut enc = png::Encoder::new(&mut out, w, h);
    enc.set_color(png::ColorType::Rgb);
    enc.set_depth(png::BitDepth::Eight);
    enc.set_compression(png::Compression::Balanced);
    let mut writer = enc.write_header()?;
    writer.write_image_data(rgb)?;
    writer.finish()?;
    Ok(out)
}

type DrawResult<DB> = Result<(), DrawingAreaErrorKind<<DB as DrawingBackend>::ErrorType>>;

fn font(px: u32) -> TextStyle<'static> {
    (FONT, px).into_font().color(&BLACK)
}

fn draw_figure<DB: DrawingBackend>(root: &DrawingArea<DB, Shift>, fig: &Figure) -> DrawResult<DB> {
    root.fill(&WHITE)?;
    let (_, h) = root.dim_in_pixel();
    // Footer first, in the strip the panels leave free at the bottom.
    let footer_h = if fig.footer.is_empty() { 0 } else { 26 };
    if footer_h > 0 {
        root.draw(&Text::new(
            fig.footer.clone(),
            (12, h as i32 - 8),
            font(FOOTER_PX)
                .color(&NEUTRAL)
                .pos(Pos::new(HPos::Left, VPos::Bottom)),
        ))?;
    }
    let body = root.margin(8, footer_h, 8, 16);
    let body = body.titled(&fig.title, font(TITLE_PX))?;
    let n = fig.panels.len().max(1);
    let areas = body.split_evenly((n, 1));
    for (area, panel) in areas.iter().zip(&fig.panels) {
        draw_panel(area, panel, n)?;
    }
    Ok(())
}

type Chart2d<'a, DB> = ChartContext<'a, DB, Cartesian2d<Ticked, Ticked>>;

/// What a legend entry shows next to its label.
#[derive(Debug, Clone, Copy)]
enum Swatch {
    Line(RGBColor),
    Dashed(RGBColor),
    Block(RGBColor),
    /// An I-beam: a whisker.
    Whisker(RGBColor),
    /// Text only ("+3 more").
    Nothing,
}

/// The panel's legend: its series, then its labelled horizontal lines.
fn legend_entries(p: &Panel) -> Vec<(Swatch, String)> {
    let mut out = Vec::new();
    match &p.body {
        Body::Lines(series) => out.extend(
            series
                .iter()
                .filter(|s| !s.label.is_empty() && !s.segments.is_empty())
                .map(|s| (Swatch::Line(s.color), s.label.clone())),
        ),
        Body::Bars {
            series,
            whisker_label,
            ..
        } => {
            out.extend(
                series
                    .iter()
                    .filter(|s| !s.label.is_empty())
                    .map(|s| (Swatch::Block(s.color), s.label.clone())),
            );
            let whiskers = series
                .iter()
                .any(|s| s.whiskers.iter().any(Option::is_some));
            if let (true, Some(label)) = (whiskers, whisker_label) {
                out.push((Swatch::Whisker(WHISKER), label.clone()));
            }
        }
    }
    out.extend(
        p.hlines
            .iter()
            .filter(|h| !h.label.is_empty())
            .map(|h| (Swatch::Dashed(h.color), h.label.clone())),
    );
    out.extend(
        p.bands
            .iter()
            .filter(|b| !b.label.is_empty())
            .map(|b| (Swatch::Block(b.color), b.label.clone())),
    );
    out
}

const LEGEND_ROW: i32 = 32;
const MAX_LEGEND_ROWS: i32 = 3;
const SWATCH_W: i32 = 30;
const Y_LABEL_AREA: u32 = 110;
const RIGHT_MARGIN: u32 = 24;
const CATEGORY_ROW: i32 = 28;

fn text_width<DB: DrawingBackend>(area: &DrawingArea<DB, Shift>, text: &str, px: u32) -> i32 {
    area.estimate_text_size(text, &font(px))
        .map(|(w, _)| w as i32)
        .unwrap_or(12 * text.chars().count() as i32)
}

/// Positions (x offset, row) of legend entries laid out in rows across
/// `width` pixels.
fn legend_rows(widths: &[i32], width: i32) -> Vec<(i32, i32)> {
    let mut out = Vec::new();
    let (mut x, mut row) = (0, 0);
    for w in widths {
        let need = SWATCH_W + 8 + w;
        if x > 0 && x + need > width {
            x = 0;
            row += 1;
        }
        out.push((x, row));
        x += need + 28;
    }
    out
}

/// Shortens `text` with an ellipsis until `width` says it fits `max_px`.
fn fit_text(text: &str, max_px: i32, width: impl Fn(&str) -> i32) -> String {
    if width(text) <= max_px {
        return text.to_string();
    }
    let chars: Vec<char> = text.chars().collect();
    for keep in (1..chars.len()).rev() {
        let s: String = chars[..keep].iter().chain(['…'].iter()).collect();
        if width(&s) <= max_px || keep == 1 {
            return s;
        }
    }
    text.to_string()
}

/// A category label on up to two lines, split at " · " (target · workload).
fn category_lines(label: &str) -> Vec<String> {
    match label.split_once(" · ") {
        Some((a, b)) => vec![a.to_string(), b.to_string()],
        None => vec![label.to_string()],
    }
}

/// One panel: axes and grid, its body, marker lines, a note, the legend —
/// in that order, so later layers are drawn over earlier ones.
fn draw_panel<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    panels: usize,
) -> DrawResult<DB> {
    let (area_w, _) = area.dim_in_pixel();
    let plot_w = area_w as i32 - Y_LABEL_AREA as i32 - RIGHT_MARGIN as i32;
    let (entries, widths) = fitted_legend(area, p, plot_w);
    let top_rows = legend_rows(&widths, plot_w)
        .last()
        .map_or(0, |(_, r)| r + 1);
    let margin_top = if panels > 1 { 6 } else { 10 } + top_rows * LEGEND_ROW;
    let mut chart = ChartBuilder::on(area)
        .margin_top(margin_top)
        .margin_right(RIGHT_MARGIN)
        .x_label_area_size(x_label_area(p))
        .y_label_area_size(Y_LABEL_AREA)
        .build_cartesian_2d(Ticked::of(&p.x), Ticked::of(&p.y))?;
    draw_mesh(&mut chart, p)?;
    draw_bands(&mut chart, p)?;

    match &p.body {
        Body::Lines(series) => draw_curves(&mut chart, series)?,
        Body::Bars {
            categories,
            series,
            slot_notes,
            origin,
            ..
        } => {
            let base = origin.unwrap_or_else(|| p.y.base());
            draw_bars(&mut chart, base, categories.len(), series)?;
            draw_slot_notes(&mut chart, area, p, slot_notes, plot_w)?;
            draw_category_names(&mut chart, area, p, categories, plot_w)?;
        }
    }
    draw_vlines(&mut chart, area, p)?;
    draw_hlines(&mut chart, area, p)?;
    if let Some(note) = &p.note {
        draw_note(&mut chart, p, note)?;
    }
    if !entries.is_empty() {
        draw_legend(&mut chart, p, &entries, &widths, plot_w)?;
    }
    Ok(())
}

/// The panel's legend entries and their text widths, cut to at most
/// MAX_LEGEND_ROWS rows (the rest summed up as "+N more"), so the plot
/// keeps its height.
fn fitted_legend<DB: DrawingBackend>(
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    plot_w: i32,
) -> (Vec<(Swatch, String)>, Vec<i32>) {
    let mut entries = if p.legend {
        legend_entries(p)
    } else {
        Vec::new()
    };
    let measure = |entries: &[(Swatch, String)]| -> Vec<i32> {
        entries
            .iter()
            .map(|(_, t)| text_width(area, t, LEGEND_PX))
            .collect()
    };
    let mut widths = measure(&entries);
    let fits = legend_rows(&widths, plot_w)
        .iter()
        .take_while(|(_, r)| *r < MAX_LEGEND_ROWS)
        .count();
    if fits < entries.len() {
        let keep = fits.saturating_sub(1);
        let more = entries.len() - keep;
        entries.truncate(keep);
        entries.push((Swatch::Nothing, format!("+{more} more")));
        widths = measure(&entries);
    }
    (entries, widths)
}

/// Pixels below the plot: tick labels and the axis title, or for bars
/// the category names (one row per line of the longest).
fn x_label_area(p: &Panel) -> i32 {
    match &p.body {
        Body::Bars { categories, .. } => {
            let category_rows = categories
                .iter()
                .map(|c| category_lines(c).len())
                .max()
                .unwrap_or(1) as i32;
            14 + category_rows * CATEGORY_ROW + if p.x.label.is_empty() { 0 } else { 36 }
        }
        _ if p.x.label.is_empty() => 40,
        _ => 72,
    }
}

/// Axis titles, tick labels and grid lines (our ticks, see [`Ticked`]).
fn draw_mesh<DB: DrawingBackend>(chart: &mut Chart2d<DB>, p: &Panel) -> DrawResult<DB> {
    let is_bars = matches!(p.body, Body::Bars { .. });
    // Bar categories are drawn below (on two lines when needed), not as ticks.
    let x_fmt = |v: &f64| {
        if is_bars {
            String::new()
        } else {
            p.x.tick_label(*v)
        }
    };
    let y_fmt = |v: &f64| p.y.tick_label(*v);
    let mut mesh = chart.configure_mesh();
    mesh.x_desc(p.x.label.clone())
        .y_desc(p.y.label.clone())
        .x_label_formatter(&x_fmt)
        .y_label_formatter(&y_fmt)
        .label_style(font(TICK_PX))
        .axis_desc_style(font(AXIS_DESC_PX))
        .bold_line_style(RGBColor(205, 205, 205))
        .light_line_style(RGBColor(238, 238, 238))
        .axis_style(RGBColor(60, 60, 60));
    if is_bars {
        mesh.disable_x_mesh();
    }
    mesh.draw()
}

/// Each bar group's name under it, on up to two lines, shortened to the
/// group's width.
fn draw_category_names<DB: DrawingBackend>(
    chart: &mut Chart2d<DB>,
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    categories: &[String],
    plot_w: i32,
) -> DrawResult<DB> {
    let group_px = plot_w / categories.len().max(1) as i32 - 10;
    for (i, c) in categories.iter().enumerate() {
        for (k, line) in category_lines(c).iter().enumerate() {
            let fitted = fit_text(line, group_px, |t| text_width(area, t, TICK_PX));
            chart.draw_series(std::iter::once(
                EmptyElement::at((i as f64 + 0.5, p.y.lo))
                    + Text::new(
                        fitted,
                        (0, 10 + k as i32 * CATEGORY_ROW),
                        font(TICK_PX).pos(Pos::new(HPos::Center, VPos::Top)),
                    ),
            ))?;
        }
    }
    Ok(())
}

/// Each slot note at the foot of its category's group (which has no bars
/// then), shortened to the group's width.
fn draw_slot_notes<DB: DrawingBackend>(
    chart: &mut Chart2d<DB>,
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
    notes: &[Option<String>],
    plot_w: i32,
) -> DrawResult<DB> {
    let groups = match &p.body {
        Body::Bars { categories, .. } => categories.len(),
        Body::Lines(_) => notes.len(),
    };
    let group_px = plot_w / groups.max(1) as i32 - 10;
    for (i, note) in notes.iter().enumerate() {
        let Some(note) = note else { continue };
        let fitted = fit_text(note, group_px, |t| text_width(area, t, NOTE_PX));
        chart.draw_series(std::iter::once(
            EmptyElement::at((i as f64 + 0.5, p.y.base()))
                + Text::new(
                    fitted,
                    (0, -8),
                    font(NOTE_PX)
                        .color(&NEUTRAL)
                        .pos(Pos::new(HPos::Center, VPos::Bottom)),
                ),
        ))?;
    }
    Ok(())
}

/// Dashed vertical markers (fault events), labelled at the top.
fn draw_vlines<DB: DrawingBackend>(
    chart: &mut Chart2d<DB>,
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> DrawResult<DB> {
    for (i, v) in p.vlines.iter().enumerate() {
        let style = ShapeStyle::from(&v.color).stroke_width(2);
        chart.draw_series(DashedLineSeries::new(
            vec![(v.x, p.y.lo), (v.x, p.y.hi)],
            10,
            6,
            style,
        ))?;
        if !v.label.is_empty() {
            // Stagger labels over three rows so close events stay readable;
            // near the right edge, put them left of their line.
            let row = (i % 3) as i32;
            let dx = if (v.x - p.x.lo) / (p.x.hi - p.x.lo) > 0.7 {
                -8 - text_width(area, &v.label, NOTE_PX)
            } else {
                6
            };
            chart.draw_series(std::iter::once(label_box(
                (v.x, p.y.hi),
                (dx, 6 + row * 28),
                &v.label,
                v.color,
                area,
            )))?;
        }
    }
    Ok(())
}

/// Dashed horizontal markers (gate thresholds).
fn draw_hlines<DB: DrawingBackend>(
    chart: &mut Chart2d<DB>,
    area: &DrawingArea<DB, Shift>,
    p: &Panel,
) -> DrawResult<DB> {
    for hl in &p.hlines {
        let style = ShapeStyle::from(&hl.color).stroke_width(2);
        chart.draw_series(DashedLineSeries::new(
            vec![(p.x.lo, hl.y), (p.x.hi, hl.y)],
            12,
            6,
            style,
        ))?;
        // With a legend the label is there; without, next to the line.
        if !hl.label.is_empty() && !p.legend {
            chart.draw_series(std::iter::once(label_box(
                (p.x.lo, hl.y),
                (8, -32),
                &hl.label,
                hl.color,
                area,
            )))?;
        }
    }
    Ok(())
}

/// A note ("no data") in the middle of the plot.
fn draw_note<DB: DrawingBackend>(chart: &mut Chart2d<DB>, p: &Panel, note: &str) -> DrawResult<DB> {
    let mid = ((p.x.lo + p.x.hi) / 2.0, (p.y.lo + p.y.hi) / 2.0);
    chart.draw_series(std::iter::once(
        EmptyElement::at(mid)
            + Text::new(
                note.to_string(),
                (0, 0),
                font(AXIS_DESC_PX)
                    .color(&NEUTRAL)
                    .pos(Pos::new(HPos::Center, VPos::Center)),
            ),
    ))?;
    Ok(())
}

fn draw_curves<DB: DrawingBackend>(chart: &mut Chart2d<DB>, series: &[Curve]) -> DrawResult<DB> {
    for s in series {
        let style = ShapeStyle::from(&s.color).stroke_width(3);
        for seg in &s.segments {
            if seg.len() > 1 {
                chart.draw_series(LineSeries::new(seg.iter().copied(), style))?;
            }
            if seg.len() == 1 || s.dots {
                chart.draw_series(seg.iter().map(|pt| Circle::new(*pt, 5, s.color.filled())))?;
            }
        }
    }
    Ok(())
}

/// Shaded bands across the plot, behind everything but the grid.
fn draw_bands<DB: DrawingBackend>(chart: &mut Chart2d<DB>, p: &Panel) -> DrawResult<DB> {
    chart.draw_series(
        p.bands
            .iter()
            .map(|b| Rectangle::new([(p.x.lo, b.lo), (p.x.hi, b.hi)], b.color.filled())),
    )?;
    Ok(())
}

fn draw_bars<DB: DrawingBackend>(
    chart: &mut Chart2d<DB>,
    base: f64,
    categories: usize,
    series: &[BarSeries],
) -> DrawResult<DB> {
    let m = series.len().max(1) as f64;
    // Bars no wider than a fifth of a slot: one or two targets do not make
    // slabs.
    let group = (0.2 * m).min(0.8);
    let width = group / m;
    // Values on top of the bars while they fit side by side.
    let show_values = categories * series.len() <= 16;
    for (j, s) in series.iter().enumerate() {
        let left = |i: usize| i as f64 + (1.0 - group) / 2.0 + j as f64 * width;
        let whisker = |i: usize| s.whiskers.get(i).copied().flatten();
        chart.draw_series(s.values.iter().enumerate().filter_map(|(i, v)| {
            let (top, _) = v.as_ref()?;
            Some(Rectangle::new(
                [
                    (left(i) + width * 0.06, base),
                    (left(i) + width * 0.94, *top),
                ],
                s.color.filled(),
            ))
        }))?;
        // Whiskers: an I-beam from low to high at the bar's centre, on a
        // white halo so it shows on a dark bar too.
        for style in [WHITE.stroke_width(5), WHISKER.stroke_width(2)] {
            chart.draw_series((0..s.values.len()).filter_map(|i| {
                let (lo, hi) = whisker(i)?;
                let (mid, cap) = (left(i) + width / 2.0, (width * 0.2).min(0.03));
                let beam = vec![
                    (mid - cap, lo),
                    (mid + cap, lo),
                    (mid, lo),
                    (mid, hi),
                    (mid - cap, hi),
                    (mid + cap, hi),
                ];
                Some(PathElement::new(beam, style))
            }))?;
        }
        if show_values {
            chart.draw_series(s.values.iter().enumerate().filter_map(|(i, v)| {
                let (top, text) = v.as_ref()?;
                let color = s.label_colors.get(i).copied().flatten().unwrap_or(BLACK);
                // Past the bar's end, and past its whisker when that reaches
                // further: above a bar that grows up, below one that grows down.
                let (at, dy, vpos) = if *top >= base {
                    let end = whisker(i).map_or(*top, |(_, hi)| hi.max(*top));
                    (end, -4, VPos::Bottom)
                } else {
                    let end = whisker(i).map_or(*top, |(lo, _)| lo.min(*top));
                    (end, 8, VPos::Top)
                };
                let mut style = font(NOTE_PX).pos(Pos::new(HPos::Center, vpos));
                style.color = color.to_backend_color();
                Some(
                    EmptyElement::at((left(i) + width / 2.0, at))
                        + Text::new(text.clone(), (0, dy), style),
                )
            }))?;
        }
    }
    Ok(())
}

/// Draws the legend in rows above the plot, anchored at the plot's top
/// left corner and placed in pixels from there.
fn draw_legend<DB: DrawingBackend>(
    chart: &mut Chart2d<DB>,
    p: &Panel,
    entries: &[(Swatch, String)],
    widths: &[i32],
    plot_w: i32,
) -> DrawResult<DB> {
    let anchor = (p.x.lo, p.y.hi);
    let rows = legend_rows(widths, plot_w);
    let n_rows = rows.last().map_or(0, |r| r.1 + 1);
    let places = rows
        .iter()
        .map(|(x, r)| (*x, -(n_rows - r) * LEGEND_ROW - 2));
    for ((swatch, label), (x, y)) in entries.iter().zip(places) {
        let cy = y + LEGEND_ROW / 2;
        match swatch {
            Swatch::Line(c) => chart.draw_series(std::iter::once(
                EmptyElement::at(anchor)
                    + PathElement::new(vec![(x, cy), (x + SWATCH_W, cy)], c.stroke_width(4)),
            ))?,
            Swatch::Dashed(c) => chart.draw_series([0, 19].map(|dx| {
                EmptyElement::at(anchor)
                    + PathElement::new(vec![(x + dx, cy), (x + dx + 11, cy)], c.stroke_width(3))
            }))?,
            Swatch::Block(c) => chart.draw_series(std::iter::once(
                EmptyElement::at(anchor)
                    + Rectangle::new([(x + 3, cy - 10), (x + SWATCH_W - 3, cy + 10)], c.filled()),
            ))?,
            Swatch::Whisker(c) => {
                let mid = x + SWATCH_W / 2;
                chart.draw_series(std::iter::once(
                    EmptyElement::at(anchor)
                        + PathElement::new(
                            vec![
                                (mid - 7, cy + 11),
                                (mid + 7, cy + 11),
                                (mid, cy + 11),
                                (mid, cy - 11),
                                (mid - 7, cy - 11),
                                (mid + 7, cy - 11),
                            ],
                            c.stroke_width(2),
                        ),
                ))?
            }
            Swatch::Nothing => chart.draw_series(std::iter::empty::<Circle<(f64, f64), i32>>())?,
        };
        chart.draw_series(std::iter::once(
            EmptyElement::at(anchor)
                + Text::new(
                    label.clone(),
                    (x + SWATCH_W + 8, cy),
                    font(LEGEND_PX).pos(Pos::new(HPos::Left, VPos::Center)),
                ),
        ))?;
    }
    Ok(())
}

/// A text on a white box, anchored at a plot point.
type LabelBox<DB> =
    ComposedElement<(f64, f64), DB, Rectangle<(i32, i32)>, Text<'static, (i32, i32), String>>;

/// Text on a white box, offset by `offset` pixels from a plot point.
fn label_box<DB: DrawingBackend>(
    at: (f64, f64),
    offset: (i32, i32),
    text: &str,
    color: RGBColor,
    area: &DrawingArea<DB, Shift>,
) -> LabelBox<DB> {
    let mut style = font(NOTE_PX);
    style.color = color.to_backend_color();
    let (tw, th) = area
        .estimate_text_size(text, &style)
        .unwrap_or((8 * text.len() as u32, 18));
    let (dx, dy) = offset;
    EmptyElement::at(at)
        + Rectangle::new(
            [(dx - 3, dy - 3), (dx + tw as i32 + 3, dy + th as i32 + 3)],
            WHITE.mix(0.9).filled(),
        )
        + Text::new(text.to_string(), (dx, dy), style)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_font_is_valid() {
        assert!(
            plotters::style::register_font("wpbench-test", FontStyle::Normal, FONT_BYTES).is_ok()
        );
    }

    #[test]
    fn long_labels_are_shortened_and_split() {
        let width = |t: &str| 10 * t.chars().count() as i32;
        assert_eq!(fit_text("ext4", 100, width), "ext4");
        assert_eq!(fit_text("overlay[metacopy=on]", 100, width), "overlay[m…");
        assert_eq!(fit_text("abc", 5, width), "a…");
        assert_eq!(
            category_lines("ext4 · wal (3 trials)"),
            ["ext4", "wal (3 trials)"]
        );
        assert_eq!(category_lines("tmpfs"), ["tmpfs"]);
        // Rows wrap when the next entry would not fit.
        assert_eq!(
            legend_rows(&[100, 100, 100], 400),
            [(0, 0), (166, 0), (0, 1)]
        );
    }
}
