//! The measured power of Grid'5000 nodes, fetched from Kwollect (Grid'5000's metrics API) for
//! a collection's window when its agents stop: the wattmeters', BMCs' and PDUs' series of every
//! host whose name or address is a Grid'5000 node, one JSON line per point in
//! `metrics/kwollect/<host>.jsonl`, each tagged `"source": "kwollect"`.
//!
//! Credentials come from `G5K_USERNAME`/`G5K_PASSWORD` or `~/.python-grid5000.yaml` (none are
//! needed from inside Grid'5000); they never reach a file or a message.

use std::collections::BTreeMap;

use enos_core::{Reporter, layout};
use enos_kwollect::{Client, Config, Credentials, Query, node_address};
use enos_scenario::metrics::EnergyChoice;
use serde_json::json;

use crate::metrics::Collection;
use crate::records::write_text;
use crate::session::Session;

/// Fetches the Kwollect series of the collection's hosts that are Grid'5000 nodes, when the
/// scenario's energy source is `auto` or `kwollect`; records per host where they went or why
/// they could not be fetched.
pub(crate) async fn fetch_for(
    session: &Session,
    collection: &mut Collection,
    reporter: &dyn Reporter,
) {
    let state = session.experiment.state();
    let Some(section) = &state.scenario.metrics else {
        return;
    };
    let choice = section.energy.source;
    if !matches!(choice, EnergyChoice::Auto | EnergyChoice::Kwollect) {
        return;
    }
    // Site → [(host, node)].
    let mut sites: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for host in &session.testbed.hosts {
        match node_address(&host.ssh_target()).or_else(|| node_address(&host.name)) {
            Some(at) => sites
                .entry(at.site)
                .or_default()
                .push((host.name.clone(), at.node)),
            None if choice == EnergyChoice::Kwollect => {
                if let Some(h) = collection.hosts.iter_mut().find(|h| h.host == host.name) {
                    h.kwollect_error = Some(format!(
                        "{} is not a Grid'5000 node (<node>.<site>.grid5000.fr): Kwollect has \
                         nothing for it",
                        host.name
                    ));
                }
            }
            None => {}
        }
    }
    if sites.is_empty() {
        return;
    }
    let window = collection.started.parse::<jiff::Timestamp>().ok().zip(
        collection
            .stopped
            .as_deref()
            .and_then(|t| t.parse::<jiff::Timestamp>().ok()),
    );
    let client = Credentials::discover().and_then(|credentials| {
        Client::new(Config {
            base_url: section.energy.kwollect.url.clone(),
            credentials,
            ..Config::default()
        })
    });
    for (site, hosts) in sites {
        let result = match (&client, window) {
            (Err(e), _) => Err(e.to_string()),
            (_, None) => Err("the collection has no start or stop time".to_owned()),
            (Ok(client), Some((start, end))) => {
                let query = Query::window(
                    site.as_str(),
                    hosts.iter().map(|(_, node)| node.clone()),
                    section.energy.kwollect.metrics.iter().cloned(),
                    start,
                    end,
                );
                client.points(&query).await.map_err(|e| e.to_string())
            }
        };
        match result {
            Ok(points) => {
                for (host, node) in &hosts {
                    let lines: String = points
                        .iter()
                        .filter(|p| p.node == *node)
                        .map(|p| {
                            let line = json!({
                                "v": 1,
                                "time": format!("{:.9}", p.time),
                                "source": "kwollect",
                                "node": p.node,
                                "metric": p.metric,
                                "watts": p.value,
                                "labels": p.labels,
                            });
                            format!("{line}\n")
                        })
                        .collect();
                    let relative = layout::kwollect_series(host);
                    let saved =
                        write_text(&session.experiment.dir().join(&relative), lines.as_bytes());
                    if let Some(h) = collection.hosts.iter_mut().find(|h| h.host == *host) {
                        match saved {
                            Ok(()) => {
                                h.kwollect = Some(relative.display().to_string());
                                h.settle_best();
                            }
                            Err(e) => h.kwollect_error = Some(e.message),
                        }
                    }
                }
            }
            Err(why) => {
                reporter.note(&format!("warning: Kwollect ({site}): {why}"));
                for (host, _) in &hosts {
                    if let Some(h) = collection.hosts.iter_mut().find(|h| h.host == *host) {
                        h.kwollect_error = Some(why.clone());
                    }
                }
            }
        }
    }
}
