//! The figures, as SVG drawn with plotters (its SVG backend only: no font or system library;
//! text is laid out with plotters' estimated metrics and drawn by whatever shows the SVG):
//!
//! * `latency-cdf-<workload>.svg`: per workload, the latency CDF of each site pair;
//! * `latency-vs-rtt.svg`: each point's p50 and p99 latency per site pair against the RTT the
//!   WAN validation measured between the two sites;
//! * `timeline-latency.svg`, `timeline-throughput.svg`, `timeline-cpu.svg`,
//!   `timeline-power.svg`: time series of latency (p50, p99), requests per second, CPU busy
//!   share and power, with the workloads' timeline events as labelled vertical lines.
//!
//! Large runs stay cheap: polars reduces the data first. A CDF is drawn through at most
//! [`CDF_POINTS`] of its quantiles, a time series has at most [`MAX_BUCKETS`] buckets (one
//! second each, or wider for runs longer than that), a figure at most [`MAX_LINES`] lines (past
//! that many hosts CPU and power are drawn per site, then only the heaviest lines, as the
//! caption says). A figure without data is not drawn; the report says why instead.

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;

use plotters::coord::Shift;
use plotters::prelude::{
    BLACK, ChartBuilder, Circle, Color, DashedLineSeries, DrawingArea, EmptyElement,
    IntoDrawingArea, IntoFont, LineSeries, PathElement, RGBColor, SVGBackend, SeriesLabelPosition,
    TRANSPARENT, Text, TriangleMarker, WHITE,
};
use polars::prelude::*;

use crate::AnalysisError;
use crate::inputs::{EventRow, Inputs};
use crate::tables::{PairSummary, float_column, int_column, text_column};

/// The most quantiles a latency CDF is drawn through.
pub const CDF_POINTS: usize = 1000;
/// The most buckets of a time series.
pub const MAX_BUCKETS: i64 = 1000;
/// The most timeline events labelled on a figure; past that many, they are plain lines.
const MAX_EVENT_LABELS: usize = 40;
/// The size of a figure, in pixels.
const SIZE: (u32, u32) = (900, 440);
/// Where figures go, relative to the analysis directory (the report links them so):
/// `enos_core::layout::ANALYSIS_FIGURES` from the experiment's.
pub(crate) const FIGURES_DIR: &str = "figures";

const FONT: &str = "sans-serif";
/// Tableau's ten colours.
const COLORS: [RGBColor; 10] = [
    RGBColor(31, 119, 180),
    RGBColor(255, 127, 14),
    RGBColor(44, 160, 44),
    RGBColor(214, 39, 40),
    RGBColor(148, 103, 189),
    RGBColor(140, 86, 75),
    RGBColor(227, 119, 194),
    RGBColor(127, 127, 127),
    RGBColor(188, 189, 34),
    RGBColor(23, 190, 207),
];
const EVENT_COLOR: RGBColor = RGBColor(90, 90, 90);
const GRID_COLOR: RGBColor = RGBColor(230, 230, 230);

/// A figure drawn.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Figure {
    /// Its file's name, without `.svg`.
    pub name: String,
    /// Its title (also drawn in it).
    pub title: String,
    /// What it shows, in a sentence or two.
    pub caption: String,
    /// The SVG document.
    pub svg: String,
}

/// The figures drawn, and a sentence per figure left out for lack of data.
#[derive(Debug, Default)]
pub(crate) struct Figures {
    pub drawn: Vec<Figure>,
    pub missing: Vec<String>,
}

/// A line of a chart: its legend and its segments (broken where data is missing).
struct Line {
    label: String,
    segments: Vec<Vec<(f64, f64)>>,
    /// How much data it stands for (requests, buckets): the heaviest lines are drawn first.
    weight: f64,
}

/// At most this many lines on a figure, one colour each: beyond, CPU and power are drawn per
/// site, and then only the lines with the most data.
pub const MAX_LINES: usize = COLORS.len();

/// `lines`, or only the [`MAX_LINES`] heaviest of them (in the same order); and the sentence
/// the caption then adds.
fn heaviest(mut lines: Vec<Line>, what: &str) -> (Vec<Line>, String) {
    let total = lines.len();
    if total <= MAX_LINES {
        return (lines, String::new());
    }
    let mut order: Vec<usize> = (0..total).collect();
    order.sort_by(|a, b| lines[*b].weight.total_cmp(&lines[*a].weight).then(a.cmp(b)));
    let kept: BTreeSet<usize> = order.into_iter().take(MAX_LINES).collect();
    let mut index = 0;
    lines.retain(|_| {
        index += 1;
        kept.contains(&(index - 1))
    });
    (
        lines,
        format!(" Only the {MAX_LINES} {what} of {total} with the most data are drawn."),
    )
}

/// A timeline event on a chart.
struct EventMark {
    x: f64,
    label: String,
}

/// The time axis the time series share: their origin, end and bucket width, Unix ns.
#[derive(Debug, Clone, Copy)]
struct Timeline {
    origin_ns: i64,
    end_ns: i64,
    bucket_ns: i64,
}

impl Timeline {
    fn bucket_s(&self) -> f64 {
        self.bucket_ns as f64 / 1e9
    }

    /// The middle of `bucket`, in seconds from the origin.
    fn x(&self, bucket: i64) -> f64 {
        (bucket as f64 + 0.5) * self.bucket_s()
    }

    fn x_range(&self) -> (f64, f64) {
        (
            0.0,
            (self.end_ns - self.origin_ns) as f64 / 1e9 + self.bucket_s(),
        )
    }

    /// The bucket of a column of Unix nanoseconds (never before the origin).
    fn bucket(&self, ns: Expr) -> Expr {
        ((ns - lit(self.origin_ns)).cast(DataType::Float64) / lit(self.bucket_ns as f64))
            .cast(DataType::Int64)
            .alias("bucket")
    }

    fn origin_text(&self) -> String {
        jiff::Timestamp::from_nanosecond(i128::from(self.origin_ns))
            .map(|t| t.strftime("%Y-%m-%d %H:%M:%S UTC").to_string())
            .unwrap_or_default()
    }

    fn bucket_text(&self) -> String {
        format!("{} s", tick(self.bucket_s()))
    }
}

/// Draws every figure the data allows.
pub(crate) fn draw(
    inputs: &Inputs,
    requests: &DataFrame,
    samples: &DataFrame,
    pairs: &[PairSummary],
) -> Result<Figures, AnalysisError> {
    let mut figures = Figures::default();
    latency_cdfs(requests, &mut figures)?;
    latency_against_rtt(pairs, &mut figures)?;
    match timeline(inputs) {
        Some(t) => {
            let events = event_marks(&inputs.events, &t);
            request_series(requests, &t, &events, &mut figures)?;
            sample_series(samples, &t, &events, &mut figures)?;
        }
        None => figures.missing.push(
            "no data for the time series: no request has a start time, no host has CPU or \
             power samples and no event has a time"
                .to_owned(),
        ),
    }
    Ok(figures)
}

/// Writes the figures into `dir` (created when needed), removes the `.svg` files of earlier
/// analyses that this one did not draw, and returns the files' names.
pub(crate) fn write(figures: &[Figure], dir: &Path) -> Result<Vec<String>, AnalysisError> {
    std::fs::create_dir_all(dir)
        .map_err(|e| AnalysisError::new(format!("cannot create {}: {e}", dir.display())))?;
    let names: Vec<String> = figures.iter().map(|f| format!("{}.svg", f.name)).collect();
    for (figure, name) in figures.iter().zip(&names) {
        let path = dir.join(name);
        enos_core::fsutil::write_atomic(&path, figure.svg.as_bytes())
            .map_err(|e| AnalysisError::new(format!("cannot write {}: {e}", path.display())))?;
    }
    let entries = std::fs::read_dir(dir)
        .map_err(|e| AnalysisError::new(format!("cannot read {}: {e}", dir.display())))?;
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".svg") && !names.contains(&name) {
            match std::fs::remove_file(entry.path()) {
                Ok(()) => {}
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                Err(e) => {
                    return Err(AnalysisError::new(format!(
                        "cannot remove the earlier figure {}: {e}",
                        entry.path().display()
                    )));
                }
            }
        }
    }
    Ok(names)
}

/// A name fit for a file: letters, digits, `-`, `_` and `.` kept, anything else `_`; made
/// unique among `taken`.
fn file_stem(prefix: &str, name: &str, taken: &mut BTreeSet<String>) -> String {
    let clean: String = name
        .chars()
        .take(64)
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    let base = format!("{prefix}-{clean}");
    let mut stem = base.clone();
    let mut n = 2;
    while !taken.insert(stem.clone()) {
        stem = format!("{base}-{n}");
        n += 1;
    }
    stem
}

/// Whether the `k`-th of `n` sorted values is one of the (at most) [`CDF_POINTS`] drawn: the
/// first of each of `CDF_POINTS` equal runs, and the last.
fn cdf_keeps(k: usize, n: usize) -> bool {
    k + 1 == n || (k.saturating_mul(CDF_POINTS)) % n < CDF_POINTS
}

fn pair_label(site: &str, destination: &str) -> String {
    let name = |s: &str| if s.is_empty() { "?" } else { s }.to_owned();
    format!("{} → {}", name(site), name(destination))
}

fn latency_cdfs(requests: &DataFrame, figures: &mut Figures) -> Result<(), AnalysisError> {
    let keys = [
        col("workload"),
        col("operation"),
        col("site"),
        col("destination_site"),
    ];
    let df = requests
        .clone()
        .lazy()
        .filter(col("warmup").not().and(col("latency_ms").is_not_null()))
        .group_by(keys.clone())
        .agg([col("latency_ms")
            .sort(SortOptions::default())
            .alias("latencies")])
        .sort_by_exprs(keys, SortMultipleOptions::default())
        .collect()?;
    let (workloads, operations, sites, destinations) = (
        text_column(&df, "workload")?,
        text_column(&df, "operation")?,
        text_column(&df, "site")?,
        text_column(&df, "destination_site")?,
    );
    let lists = df.column("latencies")?.list()?;
    let mut by_workload: BTreeMap<String, Vec<Line>> = BTreeMap::new();
    for i in 0..df.height() {
        let Some(values) = lists.get_as_series(i) else {
            continue;
        };
        let values = values.cast(&DataType::Float64)?;
        let values = values.f64()?;
        let n = values.len();
        let points: Vec<(f64, f64)> = (0..n)
            .filter(|&k| cdf_keeps(k, n))
            .filter_map(|k| values.get(k).map(|v| (v, (k + 1) as f64 / n as f64)))
            .filter(|(v, _)| v.is_finite())
            .collect();
        if points.is_empty() {
            continue;
        }
        by_workload
            .entry(workloads[i].clone())
            .or_default()
            .push(Line {
                // A workload doing several things (Rally's scenarios) has a line per
                // operation and pair.
                label: match operations[i].as_str() {
                    "" => pair_label(&sites[i], &destinations[i]),
                    operation => {
                        format!("{operation}: {}", pair_label(&sites[i], &destinations[i]))
                    }
                },
                segments: vec![points],
                weight: n as f64,
            });
    }
    if by_workload.is_empty() {
        figures
            .missing
            .push("no data for the latency CDF: no request has a latency".to_owned());
        return Ok(());
    }
    let mut taken = BTreeSet::new();
    for (workload, lines) in by_workload {
        let (lines, only) = heaviest(lines, "site pairs");
        let max = lines
            .iter()
            .flat_map(|l| l.segments.iter().flatten())
            .map(|(x, _)| *x)
            .fold(0.0, f64::max);
        let title = format!("Latency CDF: {workload}");
        let svg = line_chart(&LineChart {
            title: &title,
            x_desc: "latency (ms)",
            y_desc: "fraction of requests",
            x_range: axis(0.0, max),
            y_range: (0.0, 1.0),
            lines: &lines,
            events: &[],
            legend: SeriesLabelPosition::LowerRight,
        })?;
        figures.drawn.push(Figure {
            name: file_stem("latency-cdf", &workload, &mut taken),
            caption: format!(
                "The share of the requests of workload {workload} (warm-up left out, every \
                 point and repetition together) answered within a latency, per site pair \
                 (source → destination); each line goes through at most {CDF_POINTS} of its \
                 quantiles.{only}"
            ),
            title,
            svg,
        });
    }
    Ok(())
}

/// A workload's marks on the latency-against-RTT figure: `(rtt, p50, site pair)` and
/// `(rtt, p99)`.
#[derive(Default)]
struct RttMarks {
    p50: Vec<(f64, f64, String)>,
    p99: Vec<(f64, f64)>,
}

fn latency_against_rtt(pairs: &[PairSummary], figures: &mut Figures) -> Result<(), AnalysisError> {
    let mut by_workload: BTreeMap<String, RttMarks> = BTreeMap::new();
    for p in pairs {
        let Some(rtt) = p.measured_rtt_ms.filter(|v| v.is_finite()) else {
            continue;
        };
        let s = &p.summary;
        let entry = by_workload.entry(s.label()).or_default();
        if let Some(p50) = s.p50_ms.filter(|v| v.is_finite()) {
            let label = pair_label(&s.site, &s.destination_site);
            entry.p50.push((rtt, p50, label));
        }
        if let Some(p99) = s.p99_ms.filter(|v| v.is_finite()) {
            entry.p99.push((rtt, p99));
        }
    }
    by_workload.retain(|_, marks| !marks.p50.is_empty() || !marks.p99.is_empty());
    if by_workload.is_empty() {
        figures.missing.push(
            "no data for latency against RTT: no site pair with latencies has an RTT measured \
             by the WAN validation"
                .to_owned(),
        );
        return Ok(());
    }
    let values = || {
        by_workload.values().flat_map(|RttMarks { p50, p99 }| {
            p50.iter()
                .map(|(x, y, _)| (*x, *y))
                .chain(p99.iter().copied())
        })
    };
    let max_rtt = values().map(|(x, _)| x).fold(0.0, f64::max);
    let max_latency = values().map(|(_, y)| y).fold(max_rtt, f64::max);
    let label_points = values().count() <= 40;
    let title = "Latency against RTT".to_owned();
    let svg = render(&title, |root| {
        let (x0, x1) = axis(0.0, max_rtt);
        let (y0, y1) = axis(0.0, max_latency);
        let mut chart = ChartBuilder::on(root)
            .caption(&title, (FONT, 20))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc("RTT measured between the sites (ms)")
            .y_desc("latency (ms)")
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .bold_line_style(GRID_COLOR)
            .light_line_style(TRANSPARENT)
            .draw()?;
        let end = x1.min(y1);
        chart
            .draw_series(LineSeries::new(
                [(0.0, 0.0), (end, end)],
                EVENT_COLOR.stroke_width(1),
            ))?
            .label("latency = RTT")
            .legend(|(x, y)| PathElement::new([(x, y), (x + 18, y)], EVENT_COLOR.stroke_width(1)));
        for (i, (workload, RttMarks { p50, p99 })) in by_workload.iter().enumerate() {
            let color = COLORS[i % COLORS.len()];
            if !p50.is_empty() {
                chart
                    .draw_series(
                        p50.iter()
                            .map(|(x, y, _)| Circle::new((*x, *y), 5, color.filled())),
                    )?
                    .label(format!("{workload} p50"))
                    .legend(move |(x, y)| Circle::new((x + 9, y), 5, color.filled()));
            }
            if !p99.is_empty() {
                chart
                    .draw_series(
                        p99.iter()
                            .map(|(x, y)| TriangleMarker::new((*x, *y), 6, color.filled())),
                    )?
                    .label(format!("{workload} p99"))
                    .legend(move |(x, y)| TriangleMarker::new((x + 9, y), 6, color.filled()));
            }
            if label_points {
                // Beside its circle, not over it.
                chart.draw_series(p50.iter().map(|(x, y, label)| {
                    EmptyElement::at((*x, *y))
                        + Text::new(
                            label.clone(),
                            (8, -16),
                            (FONT, 12).into_font().color(&EVENT_COLOR),
                        )
                }))?;
            }
        }
        chart
            .configure_series_labels()
            .position(SeriesLabelPosition::UpperLeft)
            .background_style(WHITE.mix(0.85))
            .border_style(BLACK)
            .label_font((FONT, 13))
            .draw()?;
        Ok(())
    })?;
    figures.drawn.push(Figure {
        name: "latency-vs-rtt".to_owned(),
        caption: "The median (circles) and 99th percentile (triangles) latency of each point \
                  and site pair against the median RTT the latest WAN validation measured \
                  between the two sites; the grey line is latency = RTT."
            .to_owned(),
        title,
        svg,
    });
    Ok(())
}

/// The span of everything the time series show, and its buckets; none when there is nothing.
fn timeline(inputs: &Inputs) -> Option<Timeline> {
    let requests = inputs
        .request_span
        .into_iter()
        .flat_map(|(first, last)| [first, last]);
    let samples = inputs
        .samples
        .iter()
        .filter(|s| s.metric == "cpu.busy" || s.unit == "W")
        .map(|s| s.time_ns);
    let events = inputs.events.iter().filter_map(|e| e.time_ns);
    let (mut first, mut last) = (i64::MAX, i64::MIN);
    for t in requests.chain(samples).chain(events) {
        first = first.min(t);
        last = last.max(t);
    }
    if first > last {
        return None;
    }
    let span = last.saturating_sub(first);
    let per_bucket = span / MAX_BUCKETS + 1;
    // Whole seconds, at least one.
    let bucket_ns = ((per_bucket + 999_999_999) / 1_000_000_000).max(1) * 1_000_000_000;
    Some(Timeline {
        origin_ns: first,
        end_ns: last,
        bucket_ns,
    })
}

fn event_marks(events: &[EventRow], t: &Timeline) -> Vec<EventMark> {
    events
        .iter()
        .filter_map(|e| {
            let time = e.time_ns?;
            let mut label = if e.detail.is_empty() {
                e.kind.clone()
            } else {
                format!("{}: {}", e.kind, e.detail)
            };
            if label.chars().count() > 40 {
                label = label.chars().take(39).chain(['…']).collect();
            }
            if e.error.is_some() {
                label.push_str(" (failed)");
            }
            Some(EventMark {
                x: (time - t.origin_ns) as f64 / 1e9,
                label,
            })
        })
        .collect()
}

/// Lines from rows sorted by label and bucket: one per label, broken where buckets are missing.
fn lines_by(
    labels: &[String],
    buckets: &[Option<i64>],
    values: &[Option<f64>],
    t: &Timeline,
    scale: f64,
) -> Vec<Line> {
    let mut by: BTreeMap<&str, Vec<(i64, f64)>> = BTreeMap::new();
    for ((label, bucket), value) in labels.iter().zip(buckets).zip(values) {
        if let (Some(b), Some(v)) = (bucket, value)
            && v.is_finite()
        {
            by.entry(label.as_str()).or_default().push((*b, v * scale));
        }
    }
    by.into_iter()
        .map(|(label, mut points)| {
            points.sort_by_key(|(b, _)| *b);
            let mut segments: Vec<Vec<(f64, f64)>> = Vec::new();
            let mut previous: Option<i64> = None;
            for (b, v) in points {
                match (previous, segments.last_mut()) {
                    (Some(p), Some(segment)) if b - p <= 1 => segment.push((t.x(b), v)),
                    _ => segments.push(vec![(t.x(b), v)]),
                }
                previous = Some(b);
            }
            Line {
                label: label.to_owned(),
                weight: segments.iter().map(Vec::len).sum::<usize>() as f64,
                segments,
            }
        })
        .collect()
}

fn max_of(lines: &[Line]) -> f64 {
    lines
        .iter()
        .flat_map(|l| l.segments.iter().flatten())
        .map(|(_, y)| *y)
        .fold(0.0, f64::max)
}

/// What tells one time series figure from the others.
struct TimeSeries<'a> {
    name: &'a str,
    title: &'a str,
    y_desc: &'a str,
    /// The least top of the y axis.
    y_floor: f64,
    legend: SeriesLabelPosition,
    /// The caption's first sentence.
    what: &'a str,
    /// Why there is no figure, when there are no lines.
    missing: &'a str,
}

impl Figures {
    /// The time series `series` of `lines` over the timeline `t` (`only` said after the
    /// caption), or the sentence saying why it is missing.
    fn timeline(
        &mut self,
        series: &TimeSeries<'_>,
        lines: &[Line],
        only: &str,
        t: &Timeline,
        events: &[EventMark],
    ) -> Result<(), AnalysisError> {
        if lines.is_empty() {
            self.missing.push(series.missing.to_owned());
            return Ok(());
        }
        let svg = line_chart(&LineChart {
            title: series.title,
            x_desc: "time (s)",
            y_desc: series.y_desc,
            x_range: t.x_range(),
            y_range: axis(0.0, max_of(lines).max(series.y_floor)),
            lines,
            events,
            legend: series.legend.clone(),
        })?;
        self.drawn.push(Figure {
            name: series.name.to_owned(),
            caption: timeline_caption(series.what, t, events) + only,
            title: series.title.to_owned(),
            svg,
        });
        Ok(())
    }
}

/// The four time series share their origin; their caption says so.
fn timeline_caption(what: &str, t: &Timeline, events: &[EventMark]) -> String {
    let events = match events.len() {
        0 => String::new(),
        n if n <= MAX_EVENT_LABELS => " Dashed lines: the workloads' timeline events.".to_owned(),
        n => format!(
            " Grey lines: the workloads' {n} timeline events (unlabelled: more than \
             {MAX_EVENT_LABELS}; the events table lists them)."
        ),
    };
    format!(
        "{what}, per {} bucket; time in seconds from {}.{events}",
        t.bucket_text(),
        t.origin_text()
    )
}

fn request_series(
    requests: &DataFrame,
    t: &Timeline,
    events: &[EventMark],
    figures: &mut Figures,
) -> Result<(), AnalysisError> {
    let quantile = |q: f64, name: &str| {
        col("latency_ms")
            .quantile(lit(q), QuantileMethod::Linear)
            .alias(name)
    };
    let df = requests
        .clone()
        .lazy()
        .filter(col("warmup").not().and(col("start").is_not_null()))
        .with_column(t.bucket(col("start").cast(DataType::Int64)))
        .group_by([col("workload"), col("bucket")])
        .agg([
            len().cast(DataType::Float64).alias("count"),
            quantile(0.5, "p50_ms"),
            quantile(0.99, "p99_ms"),
        ])
        .collect()?;
    let workloads = text_column(&df, "workload")?;
    let buckets = int_column(&df, "bucket")?;
    let (counts, p50, p99) = (
        float_column(&df, "count")?,
        float_column(&df, "p50_ms")?,
        float_column(&df, "p99_ms")?,
    );

    let labelled = |suffix: &str| -> Vec<String> {
        workloads.iter().map(|w| format!("{w} {suffix}")).collect()
    };
    let mut latency = lines_by(&labelled("p50"), &buckets, &p50, t, 1.0);
    latency.extend(lines_by(&labelled("p99"), &buckets, &p99, t, 1.0));
    latency.sort_by(|a, b| a.label.cmp(&b.label));
    let (latency, only) = heaviest(latency, "lines");
    figures.timeline(
        &TimeSeries {
            name: "timeline-latency",
            title: "Latency over time",
            y_desc: "latency (ms)",
            y_floor: 0.0,
            legend: SeriesLabelPosition::UpperRight,
            what: "The p50 and p99 latency of each workload's requests (by start time, warm-up \
                   left out)",
            missing: "no data for the latency time series: no request has a start time",
        },
        &latency,
        &only,
        t,
        events,
    )?;

    let (throughput, only) = heaviest(
        lines_by(&workloads, &buckets, &counts, t, 1.0 / t.bucket_s()),
        "workloads",
    );
    figures.timeline(
        &TimeSeries {
            name: "timeline-throughput",
            title: "Throughput over time",
            y_desc: "requests per second",
            y_floor: 0.0,
            legend: SeriesLabelPosition::UpperRight,
            what: "The requests each workload started per second (warm-up left out)",
            missing: "no data for the throughput time series: no request has a start time",
        },
        &throughput,
        &only,
        t,
        events,
    )
}

fn sample_series(
    samples: &DataFrame,
    t: &Timeline,
    events: &[EventMark],
    figures: &mut Figures,
) -> Result<(), AnalysisError> {
    // Per host; per site (the mean of its hosts) when there are too many hosts.
    let cpu = samples
        .clone()
        .lazy()
        .filter(col("metric").eq(lit("cpu.busy")))
        .with_column(t.bucket(col("time").cast(DataType::Int64)))
        .group_by([col("site"), col("host"), col("bucket")])
        .agg([col("value").mean().alias("value")]);
    let per_host = cpu.clone().collect()?;
    let mut lines = lines_by(
        &text_column(&per_host, "host")?,
        &int_column(&per_host, "bucket")?,
        &float_column(&per_host, "value")?,
        t,
        100.0,
    );
    let mut what = "The busy share of each host's CPU (the metrics agent's cpu.busy, mean)";
    if lines.len() > MAX_LINES {
        let per_site = cpu
            .group_by([col("site"), col("bucket")])
            .agg([col("value").mean().alias("value")])
            .collect()?;
        let sites: Vec<String> = text_column(&per_site, "site")?
            .iter()
            .map(|s| format!("site {s}"))
            .collect();
        lines = lines_by(
            &sites,
            &int_column(&per_site, "bucket")?,
            &float_column(&per_site, "value")?,
            t,
            100.0,
        );
        what = "The busy share of the CPUs of each site's hosts (the mean over the hosts of the \
                metrics agent's cpu.busy)";
    }
    let (lines, only) = heaviest(lines, "sites");
    figures.timeline(
        &TimeSeries {
            name: "timeline-cpu",
            title: "CPU over time",
            y_desc: "CPU busy (%)",
            y_floor: 1.0,
            legend: SeriesLabelPosition::UpperRight,
            what,
            missing: "no data for the CPU time series: no host has cpu.busy samples",
        },
        &lines,
        &only,
        t,
        events,
    )?;

    // Per host and source, the zones' (or Kwollect metrics') mean watts added up; per site and
    // source (its hosts added up) when there are too many hosts.
    let power = samples
        .clone()
        .lazy()
        .filter(col("unit").eq(lit("W")))
        .with_column(t.bucket(col("time").cast(DataType::Int64)))
        .group_by([
            col("site"),
            col("host"),
            col("source"),
            col("metric"),
            col("bucket"),
        ])
        .agg([col("value").mean().alias("value")])
        .group_by([col("site"), col("host"), col("source"), col("bucket")])
        .agg([col("value").sum().alias("value")]);
    let per_host = power.clone().collect()?;
    let labels = |df: &DataFrame, by: &str| -> Result<Vec<String>, AnalysisError> {
        Ok(text_column(df, by)?
            .into_iter()
            .zip(text_column(df, "source")?)
            .map(|(name, source)| format!("{name} ({source})"))
            .collect())
    };
    let mut lines = lines_by(
        &labels(&per_host, "host")?,
        &int_column(&per_host, "bucket")?,
        &float_column(&per_host, "value")?,
        t,
        1.0,
    );
    let mut what = "The power each host drew, per energy source (model: an estimate from the \
                    CPU's utilisation; rapl and kwollect: measured), its zones added up";
    if lines.len() > MAX_LINES {
        let per_site = power
            .group_by([col("site"), col("source"), col("bucket")])
            .agg([col("value").sum().alias("value")])
            .collect()?;
        lines = lines_by(
            &labels(&per_site, "site")?,
            &int_column(&per_site, "bucket")?,
            &float_column(&per_site, "value")?,
            t,
            1.0,
        );
        what = "The power the hosts of each site drew, added up, per energy source (model: an \
                estimate from the CPU's utilisation; rapl and kwollect: measured)";
    }
    let (lines, only) = heaviest(lines, "lines");
    figures.timeline(
        &TimeSeries {
            name: "timeline-power",
            title: "Power over time",
            y_desc: "power (W)",
            y_floor: 0.0,
            legend: SeriesLabelPosition::LowerRight,
            what,
            missing: "no data for the power time series: no host has power samples",
        },
        &lines,
        &only,
        t,
        events,
    )
}

/// An axis from `min` to a little past `max`; never empty.
fn axis(min: f64, max: f64) -> (f64, f64) {
    let (lo, hi) = if min.is_finite() && max.is_finite() && max > min {
        (min, max)
    } else {
        (min.min(0.0), min.min(0.0) + 1.0)
    };
    (lo, hi + (hi - lo) * 0.05)
}

/// A tick's label: a few significant digits, no trailing zeros.
fn tick(v: f64) -> String {
    let text = match v.abs() {
        a if a >= 100.0 => format!("{v:.0}"),
        a if a >= 10.0 => format!("{v:.1}"),
        a if a >= 1.0 => format!("{v:.2}"),
        _ => format!("{v:.3}"),
    };
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// What a line chart shows.
struct LineChart<'a> {
    title: &'a str,
    x_desc: &'a str,
    y_desc: &'a str,
    x_range: (f64, f64),
    y_range: (f64, f64),
    lines: &'a [Line],
    events: &'a [EventMark],
    legend: SeriesLabelPosition,
}

fn line_chart(spec: &LineChart<'_>) -> Result<String, AnalysisError> {
    render(spec.title, |root| {
        let ((x0, x1), (y0, y1)) = (spec.x_range, spec.y_range);
        let mut chart = ChartBuilder::on(root)
            .caption(spec.title, (FONT, 20))
            .margin(14)
            .x_label_area_size(46)
            .y_label_area_size(66)
            .build_cartesian_2d(x0..x1, y0..y1)?;
        chart
            .configure_mesh()
            .x_desc(spec.x_desc)
            .y_desc(spec.y_desc)
            .x_label_formatter(&|v| tick(*v))
            .y_label_formatter(&|v| tick(*v))
            .bold_line_style(GRID_COLOR)
            .light_line_style(TRANSPARENT)
            .draw()?;
        for (i, line) in spec.lines.iter().enumerate() {
            let style = COLORS[i % COLORS.len()].stroke_width(2);
            for (k, segment) in line.segments.iter().enumerate() {
                let series = chart.draw_series(LineSeries::new(segment.iter().copied(), style))?;
                if k == 0 {
                    series
                        .label(line.label.as_str())
                        .legend(move |(x, y)| PathElement::new([(x, y), (x + 18, y)], style));
                }
            }
        }
        let labelled = spec.events.len() <= MAX_EVENT_LABELS;
        for (j, event) in spec.events.iter().enumerate() {
            let line = [(event.x, y0), (event.x, y1)];
            if !labelled {
                // Many events: one plain line each keeps the figure small.
                chart.draw_series(LineSeries::new(line, EVENT_COLOR.mix(0.4).stroke_width(1)))?;
                continue;
            }
            chart.draw_series(DashedLineSeries::new(
                line,
                5,
                4,
                EVENT_COLOR.stroke_width(1),
            ))?;
            // Staggered, so that the labels of close events do not overlap.
            let y = y1 - (y1 - y0) * (0.03 + 0.06 * (j % 4) as f64);
            chart.draw_series(std::iter::once(
                EmptyElement::at((event.x, y))
                    + Text::new(
                        event.label.clone(),
                        (4, 0),
                        (FONT, 12).into_font().color(&EVENT_COLOR),
                    ),
            ))?;
        }
        if !spec.lines.is_empty() {
            chart
                .configure_series_labels()
                .position(spec.legend.clone())
                .background_style(WHITE.mix(0.85))
                .border_style(BLACK)
                .label_font((FONT, 13))
                .draw()?;
        }
        Ok(())
    })
}

type DrawResult = Result<(), Box<dyn std::error::Error>>;

/// An SVG document of [`SIZE`] drawn by `draw` on a white background.
fn render<F>(title: &str, draw: F) -> Result<String, AnalysisError>
where
    F: for<'b> FnOnce(&DrawingArea<SVGBackend<'b>, Shift>) -> DrawResult,
{
    let mut text = String::new();
    {
        let root = SVGBackend::with_string(&mut text, SIZE).into_drawing_area();
        let drawn = root
            .fill(&WHITE)
            .map_err(Into::into)
            .and_then(|()| draw(&root))
            .and_then(|()| root.present().map_err(Into::into));
        drawn.map_err(|e| AnalysisError::new(format!("cannot draw the figure {title}: {e}")))?;
    }
    Ok(text)
}

#[cfg(test)]
mod tests {
    use super::{CDF_POINTS, FIGURES_DIR, cdf_keeps, tick};

    #[test]
    fn the_figures_directory_is_the_layouts() {
        assert_eq!(
            format!("{}/{FIGURES_DIR}", crate::ANALYSIS_DIR),
            enos_core::layout::ANALYSIS_FIGURES
        );
    }

    #[test]
    fn a_cdf_keeps_at_most_its_quantiles_and_always_the_extremes() {
        for n in [1, 2, 999, 1000, 1001, 12_345, 1_000_000] {
            let kept: Vec<usize> = (0..n).filter(|&k| cdf_keeps(k, n)).collect();
            assert!(kept.len() <= CDF_POINTS + 1, "{n}: {}", kept.len());
            assert_eq!(kept.first(), Some(&0), "{n}");
            assert_eq!(kept.last(), Some(&(n - 1)), "{n}");
            if n <= CDF_POINTS {
                assert_eq!(kept.len(), n);
            } else {
                assert!(kept.len() >= CDF_POINTS, "{n}: {}", kept.len());
            }
        }
    }

    #[test]
    fn ticks_are_short() {
        assert_eq!(tick(0.0), "0");
        assert_eq!(tick(2.5), "2.5");
        assert_eq!(tick(40.26), "40.3");
        assert_eq!(tick(1234.4), "1234");
        assert_eq!(tick(0.125), "0.125");
    }
}
