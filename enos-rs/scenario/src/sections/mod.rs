//! The sections of a scenario file, one module each: its raw shape (what serde fills in), its
//! checks (methods of [`Checker`]) and its model (what the rest of enos works from).
//!
//! Values whose checks need the source text or give better messages than serde's (names,
//! counts, quantities, the provider) stay untyped in the raw shapes and are checked by the
//! section, which reports every error it finds.

pub mod bench;
pub mod deploy;
pub mod metrics;
pub(crate) mod name;
pub(crate) mod network;
pub(crate) mod provider;
pub(crate) mod sites;
pub mod sweep;
pub(crate) mod vars;

use indexmap::IndexMap;
use serde::Deserialize;
use serde_json::Value;

use crate::check::{Checker, read_source, saphyr_options, serde_error};
use crate::provider::ProviderKind;
use crate::{Scenario, ScenarioError};
use network::RawNetwork;
use sites::RawSite;

/// Parses and checks the scenario `source`, naming `file_name` in messages, with the provider
/// kinds `kinds`.
pub(crate) fn parse(
    source: &str,
    file_name: &str,
    kinds: &[&dyn ProviderKind],
) -> Result<Scenario, ScenarioError> {
    parse_with_points(source, file_name, kinds).map(|(scenario, _)| scenario)
}

/// As [`parse`], with the points of the scenario's sweep (each checked as a scenario; none
/// without `sweep:`).
pub(crate) fn parse_with_points(
    source: &str,
    file_name: &str,
    kinds: &[&dyn ProviderKind],
) -> Result<(Scenario, Vec<sweep::SweepPoint>), ScenarioError> {
    let (map, root) = read_source(source, file_name, "a mapping with `name` and `sites`")?;
    let raw: RawScenario = serde_saphyr::from_str_with_options(source, saphyr_options())
        .map_err(|e| serde_error(&e, &map, file_name, source))?;
    let scenario = Checker::new(file_name, source, &map, root).scenario(raw, kinds)?;
    let points = sweep::points(source, file_name, &scenario, kinds)?;
    Ok((scenario, points))
}

/// A scenario file as serde reads it.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScenario {
    name: Option<String>,
    provider: Option<Value>,
    sites: Option<IndexMap<String, Option<RawSite>>>,
    network: Option<RawNetwork>,
    vars: Option<IndexMap<String, Value>>,
    deploy: Option<Vec<deploy::RawStep>>,
    bench: Option<Value>,
    metrics: Option<Value>,
    sweep: Option<Value>,
}

impl Checker<'_> {
    /// Checks every section of `raw`, in order, and builds the scenario; or returns every error.
    pub(crate) fn scenario(
        mut self,
        raw: RawScenario,
        kinds: &[&dyn ProviderKind],
    ) -> Result<Scenario, ScenarioError> {
        let name = self.name(raw.name);
        let provider = self.provider(raw.provider.as_ref(), kinds);
        // After an error about the provider, whether its options would define the sites is
        // unknown: a missing `sites:` is not reported too. After errors in its options, the
        // sites they give may lack hosts: `sites:` is not compared with them.
        let defined = match (&raw.sites, provider.options_failed) {
            (Some(_), true) => None,
            _ => provider.sites.clone(),
        };
        let sites = if raw.sites.is_none() && provider.kind.is_none() {
            Vec::new()
        } else {
            self.sites(raw.sites, defined, &provider.section.name)
        };
        self.provider_sites(&provider, &sites);
        let network = self.network(raw.network, &sites, "network.");
        let vars = self.vars_section(raw.vars);
        let deploy = self.deploy(raw.deploy, &vars, &sites);
        let bench = self.bench(raw.bench.as_ref(), &sites);
        let metrics = self.metrics(raw.metrics.as_ref(), &sites);
        let sweep = self.sweep(raw.sweep.as_ref());
        if self.diagnostics.is_empty() {
            Ok(Scenario {
                name,
                provider: provider.section,
                sites,
                network,
                deploy,
                bench,
                metrics,
                sweep,
            })
        } else {
            let file = self.file;
            // The scenario's own errors first, in file order, then those of stack files.
            self.diagnostics.sort_by(|a, b| {
                (a.file != file, &a.file, a.line, a.column).cmp(&(
                    b.file != file,
                    &b.file,
                    b.line,
                    b.column,
                ))
            });
            Err(ScenarioError {
                diagnostics: self.diagnostics,
            })
        }
    }
}
