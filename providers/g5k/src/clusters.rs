//! Which Grid'5000 site holds a cluster, for the clusters this version knows: the scenario may
//! then name the cluster alone. A cluster missing here is looked up in the reference API
//! (`GET /sites`, then each site's `clusters`) when the experiment is deployed.

/// The Grid'5000 sites this version knows.
pub const SITES: [&str; 11] = [
    "grenoble",
    "lille",
    "louvain",
    "luxembourg",
    "lyon",
    "nancy",
    "nantes",
    "rennes",
    "sophia",
    "strasbourg",
    "toulouse",
];

/// Clusters and their sites, current and recently retired (a retired cluster's jobs fail at
/// submission with OAR's own message).
const CLUSTERS: &[(&str, &str)] = &[
    ("dahu", "grenoble"),
    ("drac", "grenoble"),
    ("kinovis", "grenoble"),
    ("sasquatch", "grenoble"),
    ("servan", "grenoble"),
    ("troll", "grenoble"),
    ("yeti", "grenoble"),
    ("chetemi", "lille"),
    ("chiclet", "lille"),
    ("chifflet", "lille"),
    ("chifflot", "lille"),
    ("chirop", "lille"),
    ("chuc", "lille"),
    ("spirou", "louvain"),
    ("clervaux", "luxembourg"),
    ("larochette", "luxembourg"),
    ("petitprince", "luxembourg"),
    ("vianden", "luxembourg"),
    ("gemini", "lyon"),
    ("hercule", "lyon"),
    ("hydra", "lyon"),
    ("neowise", "lyon"),
    ("nova", "lyon"),
    ("orion", "lyon"),
    ("pyxis", "lyon"),
    ("sagittaire", "lyon"),
    ("sirius", "lyon"),
    ("taurus", "lyon"),
    ("graffiti", "nancy"),
    ("graoully", "nancy"),
    ("graphite", "nancy"),
    ("grappe", "nancy"),
    ("grat", "nancy"),
    ("gratouille", "nancy"),
    ("grcinq", "nancy"),
    ("grdix", "nancy"),
    ("grele", "nancy"),
    ("gres", "nancy"),
    ("grimani", "nancy"),
    ("grimoire", "nancy"),
    ("grisou", "nancy"),
    ("gros", "nancy"),
    ("grosminet", "nancy"),
    ("grostiti", "nancy"),
    ("grouille", "nancy"),
    ("grue", "nancy"),
    ("gruss", "nancy"),
    ("grvingt", "nancy"),
    ("econome", "nantes"),
    ("ecotaxe", "nantes"),
    ("ecotype", "nantes"),
    ("paradoxe", "rennes"),
    ("parapide", "rennes"),
    ("parapluie", "rennes"),
    ("parasilo", "rennes"),
    ("paravance", "rennes"),
    ("musa", "sophia"),
    ("uvb", "sophia"),
    ("engelbourg", "strasbourg"),
    ("fleckenstein", "strasbourg"),
    ("ramstein", "strasbourg"),
    ("estats", "toulouse"),
    ("montcalm", "toulouse"),
];

/// Families of numbered clusters (`abacus12`, `esterel3`): the name without its digits.
const FAMILIES: &[(&str, &str)] = &[
    ("abacus", "rennes"),
    ("chartreuse", "grenoble"),
    ("esterel", "sophia"),
    ("mercantour", "sophia"),
    ("roazhon", "rennes"),
    ("vercors", "grenoble"),
];

/// The site of `cluster`, when this version knows it.
pub fn site_of(cluster: &str) -> Option<&'static str> {
    if let Some((_, site)) = CLUSTERS.iter().find(|(name, _)| *name == cluster) {
        return Some(site);
    }
    let family = cluster.trim_end_matches(|c: char| c.is_ascii_digit());
    if family.len() == cluster.len() {
        return None;
    }
    FAMILIES
        .iter()
        .find(|(name, _)| *name == family)
        .map(|(_, site)| *site)
}

/// Whether `site` is a Grid'5000 site this version knows.
pub fn is_site(site: &str) -> bool {
    SITES.contains(&site)
}

/// The cluster of a node (`paravance-4` or `paravance-4.rennes.grid5000.fr`): its uid without
/// the number.
pub fn cluster_of_node(node: &str) -> &str {
    let uid = node.split('.').next().unwrap_or(node);
    match uid.rsplit_once('-') {
        Some((cluster, number)) if number.bytes().all(|b| b.is_ascii_digit()) => cluster,
        _ => uid,
    }
}

/// The number of a node (`4` for `paravance-4.rennes.grid5000.fr`), for sorting; 0 when it has
/// none.
pub fn node_number(node: &str) -> u64 {
    let uid = node.split('.').next().unwrap_or(node);
    uid.rsplit_once('-')
        .and_then(|(_, number)| number.parse().ok())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clusters_and_families_have_sites() {
        assert_eq!(site_of("paravance"), Some("rennes"));
        assert_eq!(site_of("gros"), Some("nancy"));
        assert_eq!(site_of("abacus12"), Some("rennes"));
        assert_eq!(site_of("esterel3"), Some("sophia"));
        assert_eq!(site_of("abacus"), None);
        assert_eq!(site_of("nowhere"), None);
        for (_, site) in CLUSTERS.iter().chain(FAMILIES) {
            assert!(is_site(site), "{site}");
        }
    }

    #[test]
    fn nodes_name_their_cluster() {
        assert_eq!(
            cluster_of_node("paravance-4.rennes.grid5000.fr"),
            "paravance"
        );
        assert_eq!(cluster_of_node("chartreuse2-1"), "chartreuse2");
        assert_eq!(node_number("gros-12.nancy.grid5000.fr"), 12);
    }
}
