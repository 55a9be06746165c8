//! `analysis/report.html`: the analysis on one page that opens offline — the scenario, the
//! testbed, the WAN asked and measured, the statistics and energy tables, and every figure,
//! inlined. No external script, style, font or image; every value read from a file is
//! HTML-escaped. One inline script sets `data-figures` on the body to the number of figures
//! the browser shows, so that a test can tell that they all parsed.

use std::fmt::Write as _;

use serde_json::Value;

use crate::AnalysisRecord;
use crate::energy::{RequestEnergy, SiteEnergy};
use crate::figures::{FIGURES_DIR, Figures};
use crate::inputs::{Inputs, text};
use crate::tables::{EnergyRow, PairSummary, PointSummary, site_rtts};

/// What the report shows.
pub(crate) struct Report<'a> {
    pub inputs: &'a Inputs,
    pub record: &'a AnalysisRecord,
    pub summary: &'a [PointSummary],
    pub pairs: &'a [PairSummary],
    pub energy: &'a [EnergyRow],
    pub energy_sites: &'a [SiteEnergy],
    pub energy_per_request: &'a [RequestEnergy],
    pub figures: &'a Figures,
}

/// `text` with `&`, `<`, `>`, `"` and `'` escaped: fit for HTML text and quoted attributes.
pub(crate) fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// A table cell: text, or a number (right-aligned).
enum Cell {
    Text(String),
    Number(String),
}

fn number(value: Option<f64>, decimals: usize) -> Cell {
    Cell::Number(match value {
        Some(v) if v.is_finite() => format!("{v:.decimals$}"),
        _ => "–".to_owned(),
    })
}

fn whole(value: u64) -> Cell {
    Cell::Number(value.to_string())
}

fn cell(value: &str) -> Cell {
    Cell::Text(value.to_owned())
}

/// An HTML table; every header and cell escaped.
fn table(out: &mut String, headers: &[&str], rows: impl IntoIterator<Item = Vec<Cell>>) {
    out.push_str("<div class=\"scroll\"><table>\n<thead><tr>");
    for h in headers {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr></thead>\n<tbody>\n");
    for row in rows {
        out.push_str("<tr>");
        for c in row {
            match c {
                Cell::Text(t) => {
                    let _ = write!(out, "<td>{}</td>", escape(&t));
                }
                Cell::Number(n) => {
                    let _ = write!(out, "<td class=\"n\">{}</td>", escape(&n));
                }
            }
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</tbody></table></div>\n");
}

fn empty(out: &mut String, what: &str) {
    let _ = writeln!(out, "<p class=\"none\">{}</p>", escape(what));
}

const STYLE: &str = "
body { font-family: sans-serif; margin: 1.5em auto; max-width: 1300px; padding: 0 1em;
       color: #222; line-height: 1.4; }
h1 { font-size: 1.6em; } h2 { margin-top: 1.8em; border-bottom: 1px solid #ccc; }
nav a { margin-right: 1em; }
pre { background: #f6f6f6; padding: 0.8em; overflow: auto; max-height: 40em; }
.scroll { overflow-x: auto; }
table { border-collapse: collapse; margin: 0.5em 0 1em; font-size: 0.9em; }
th, td { border: 1px solid #ddd; padding: 0.25em 0.6em; text-align: left; white-space: nowrap; }
th { background: #f0f0f0; } td.n { text-align: right; font-variant-numeric: tabular-nums; }
figure { margin: 1.5em 0; } figure svg { max-width: 100%; height: auto; border: 1px solid #eee; }
figcaption { font-size: 0.9em; color: #444; }
.none, .meta { color: #666; }
";

/// The report's HTML.
pub(crate) fn html(r: &Report<'_>) -> String {
    let mut out = String::new();
    let name = &r.inputs.experiment.name;
    let title = if name.is_empty() {
        "enos-rs analysis".to_owned()
    } else {
        format!("enos-rs analysis: {name}")
    };
    let _ = write!(
        out,
        "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n<meta charset=\"utf-8\">\n\
         <meta name=\"viewport\" content=\"width=device-width, initial-scale=1\">\n\
         <link rel=\"icon\" href=\"data:,\">\n<title>{}</title>\n<style>{STYLE}</style>\n\
         </head>\n<body>\n<h1>{}</h1>\n",
        escape(&title),
        escape(&title)
    );
    let _ = writeln!(
        out,
        "<p class=\"meta\">Analysed {} (tables version {}); {} figure{}; {} record{} skipped \
         (of an unknown version, or that do not parse).</p>",
        escape(&r.record.created),
        r.record.v,
        r.figures.drawn.len(),
        if r.figures.drawn.len() == 1 { "" } else { "s" },
        r.record.skipped_records,
        if r.record.skipped_records == 1 {
            ""
        } else {
            "s"
        },
    );
    out.push_str(
        "<nav><a href=\"#scenario\">Scenario</a><a href=\"#testbed\">Testbed</a>\
         <a href=\"#wan\">WAN</a><a href=\"#statistics\">Statistics</a>\
         <a href=\"#energy\">Energy</a><a href=\"#figures\">Figures</a>\
         <a href=\"#tables\">Tables</a></nav>\n",
    );
    scenario(&mut out, r);
    testbed(&mut out, r);
    wan(&mut out, r);
    statistics(&mut out, r);
    energy(&mut out, r);
    figures(&mut out, r);
    tables(&mut out, r);
    out.push_str(
        "<script>document.body.dataset.figures = \
         String(document.querySelectorAll(\"figure > svg\").length);</script>\n\
         </body>\n</html>\n",
    );
    out
}

fn scenario(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"scenario\">\n<h2>Scenario</h2>\n");
    match &r.inputs.experiment.scenario {
        Some(yaml) => {
            let _ = writeln!(out, "<pre>{}</pre>", escape(yaml));
        }
        None => empty(out, "No scenario.yaml in the experiment's directory."),
    }
    out.push_str("</section>\n");
}

fn testbed(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"testbed\">\n<h2>Testbed</h2>\n");
    let hosts = &r.inputs.experiment.hosts;
    if hosts.is_empty() {
        empty(out, "state.json lists no host.");
    } else {
        let fact = |facts: &Option<Value>, name: &str| {
            facts.as_ref().map(|f| text(&f[name])).unwrap_or_default()
        };
        table(
            out,
            &[
                "host",
                "site",
                "role",
                "address",
                "hostname",
                "system",
                "arch",
                "CPUs",
                "memory (MiB)",
            ],
            hosts.iter().map(|h| {
                let system = [
                    fact(&h.facts, "os_id"),
                    fact(&h.facts, "os_version"),
                    fact(&h.facts, "os_codename"),
                ]
                .into_iter()
                .filter(|s| !s.is_empty())
                .collect::<Vec<_>>()
                .join(" ");
                vec![
                    cell(&h.name),
                    cell(&h.site),
                    cell(&h.role),
                    cell(&h.address),
                    cell(&fact(&h.facts, "hostname")),
                    cell(&system),
                    cell(&fact(&h.facts, "arch")),
                    Cell::Number(fact(&h.facts, "cpus")),
                    Cell::Number(fact(&h.facts, "memory_mb")),
                ]
            }),
        );
        if hosts.iter().all(|h| h.facts.is_none()) {
            empty(
                out,
                "No facts: facts.json is missing or names none of these hosts.",
            );
        }
    }
    out.push_str("</section>\n");
}

fn wan(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"wan\">\n<h2>WAN: RTT asked and measured</h2>\n");
    let rtts = site_rtts(&r.inputs.wan);
    if rtts.is_empty() {
        empty(out, "No WAN validation (wan/validation.json).");
        out.push_str("</section>\n");
        return;
    }
    let mut sites: Vec<&str> = rtts
        .keys()
        .flat_map(|(a, b)| [a.as_str(), b.as_str()])
        .collect();
    sites.sort_unstable();
    sites.dedup();
    let _ = writeln!(
        out,
        "<p>From the site of a row to the site of a column: the RTT asked, then the RTT the \
         latest validation measured, in ms (medians over the {} host pairs measured).</p>",
        r.inputs.wan.len()
    );
    let name = |s: &str| if s.is_empty() { "?" } else { s }.to_owned();
    let mut headers: Vec<String> = vec!["from \\ to".to_owned()];
    headers.extend(sites.iter().map(|s| name(s)));
    let header_refs: Vec<&str> = headers.iter().map(String::as_str).collect();
    let ms = |v: Option<f64>| v.map_or("–".to_owned(), |v| format!("{v:.1}"));
    table(
        out,
        &header_refs,
        sites.iter().map(|src| {
            let mut row = vec![cell(&name(src))];
            row.extend(sites.iter().map(|dst| {
                match rtts.get(&((*src).to_owned(), (*dst).to_owned())) {
                    Some(rtt) => {
                        Cell::Number(format!("{} / {}", ms(rtt.asked_ms), ms(rtt.measured_ms)))
                    }
                    None => Cell::Number(String::new()),
                }
            }));
            row
        }),
    );
    out.push_str("</section>\n");
}

fn statistics(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"statistics\">\n<h2>Statistics</h2>\n<h3>Per point</h3>\n");
    if r.summary.is_empty() {
        empty(out, "No request, probe or iteration recorded.");
    } else {
        table(
            out,
            &[
                "run",
                "workload",
                "operation",
                "kind",
                "point",
                "params",
                "count",
                "errors",
                "error rate",
                "per s",
                "mean ms",
                "p50 ms",
                "p90 ms",
                "p99 ms",
                "p99.9 ms",
                "max ms",
            ],
            r.summary.iter().map(|s| {
                vec![
                    cell(&s.run),
                    cell(&s.workload),
                    cell(&s.operation),
                    cell(&s.kind),
                    whole(u64::from(s.point)),
                    cell(&s.params),
                    whole(s.count),
                    whole(s.errors),
                    number(Some(s.error_rate), 4),
                    number(s.throughput_per_s, 1),
                    number(s.mean_ms, 2),
                    number(s.p50_ms, 2),
                    number(s.p90_ms, 2),
                    number(s.p99_ms, 2),
                    number(s.p99_9_ms, 2),
                    number(s.max_ms, 2),
                ]
            }),
        );
    }
    out.push_str("<h3>Per site pair, against the RTT between the sites</h3>\n");
    if r.pairs.is_empty() {
        empty(out, "No request, probe or iteration recorded.");
    } else {
        table(
            out,
            &[
                "run",
                "workload",
                "point",
                "params",
                "site",
                "destination",
                "count",
                "errors",
                "p50 ms",
                "p99 ms",
                "asked RTT ms",
                "measured RTT ms",
                "p50 − RTT ms",
            ],
            r.pairs.iter().map(|p| {
                let s = &p.summary;
                vec![
                    cell(&s.run),
                    cell(&s.label()),
                    whole(u64::from(s.point)),
                    cell(&s.params),
                    cell(&s.site),
                    cell(&s.destination_site),
                    whole(s.count),
                    whole(s.errors),
                    number(s.p50_ms, 2),
                    number(s.p99_ms, 2),
                    number(p.asked_rtt_ms, 2),
                    number(p.measured_rtt_ms, 2),
                    number(p.p50_minus_rtt_ms, 2),
                ]
            }),
        );
    }
    out.push_str("</section>\n");
}

fn energy(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"energy\">\n<h2>Energy</h2>\n");
    if r.energy.is_empty() {
        empty(
            out,
            "No energy or power samples (no metrics agent, no Kwollect series).",
        );
        out.push_str("</section>\n");
        return;
    }
    out.push_str("<h3>Per request</h3>\n");
    out.push_str(
        "<p>The energy all hosts of a source drew over each point's span (per repetition, from \
         the first measured request's start to the last one's end), per request. Coverage is \
         the smallest share of the span that a host's samples cover: below 1, the joules are \
         those of the covered part only.</p>\n",
    );
    table(
        out,
        &[
            "run",
            "workload",
            "point",
            "params",
            "source",
            "hosts",
            "count",
            "seconds",
            "coverage",
            "joules",
            "J/request",
        ],
        r.energy_per_request.iter().map(|e| {
            vec![
                cell(&e.run),
                cell(&e.workload),
                whole(u64::from(e.point)),
                cell(&e.params),
                cell(&e.source),
                whole(e.hosts),
                whole(e.count),
                number(e.seconds, 3),
                number(e.coverage, 3),
                number(e.joules, 2),
                number(e.joules_per_request, 4),
            ]
        }),
    );
    out.push_str("<h3>Per site</h3>\n");
    table(
        out,
        &["site", "source", "hosts", "joules", "mean W", "seconds"],
        r.energy_sites.iter().map(|e| {
            vec![
                cell(&e.site),
                cell(&e.source),
                whole(e.hosts),
                number(Some(e.joules), 1),
                number(Some(e.mean_watts), 1),
                number(Some(e.seconds), 1),
            ]
        }),
    );
    out.push_str("<h3>Per host</h3>\n");
    table(
        out,
        &["host", "site", "source", "joules", "mean W", "seconds"],
        r.energy.iter().map(|e| {
            vec![
                cell(&e.host),
                cell(&e.site),
                cell(&e.source),
                number(Some(e.joules), 1),
                number(Some(e.mean_watts), 1),
                number(Some(e.seconds), 1),
            ]
        }),
    );
    out.push_str("</section>\n");
}

fn figures(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"figures\">\n<h2>Figures</h2>\n");
    for f in &r.figures.drawn {
        // Relative to the report, which is in the analysis directory.
        let file = format!("{FIGURES_DIR}/{}.svg", f.name);
        let _ = write!(
            out,
            "<figure id=\"figure-{}\">\n{}\n<figcaption><strong>{}</strong>. {} \
             (<a href=\"{}\">{}</a>)</figcaption>\n</figure>\n",
            escape(&f.name),
            f.svg.trim(),
            escape(&f.title),
            escape(&f.caption),
            escape(&file),
            escape(&file),
        );
    }
    for why in &r.figures.missing {
        empty(out, &format!("{}.", why.trim_end_matches('.')));
    }
    out.push_str("</section>\n");
}

fn tables(out: &mut String, r: &Report<'_>) {
    out.push_str("<section id=\"tables\">\n<h2>Tables</h2>\n<ul>\n");
    for t in &r.record.tables {
        // The report is in the analysis directory, as the tables are.
        let file = t.file.rsplit('/').next().unwrap_or(&t.file);
        let _ = writeln!(
            out,
            "<li><a href=\"{}\">{}</a>: {} row{}</li>",
            escape(file),
            escape(&t.name),
            t.rows,
            if t.rows == 1 { "" } else { "s" }
        );
    }
    out.push_str("</ul>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::escape;

    #[test]
    fn everything_markup_could_use_is_escaped() {
        assert_eq!(
            escape(r#"<script>alert("x") & 'y'</script>"#),
            "&lt;script&gt;alert(&quot;x&quot;) &amp; &#39;y&#39;&lt;/script&gt;"
        );
    }
}
