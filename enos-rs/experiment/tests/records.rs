//! Records: `applied.json` of version 1 is read into the class form of version 2.

use std::net::{IpAddr, Ipv4Addr};

use enos_experiment::records::read_applied;
use enos_wan::WanHost;

fn hosts(names: &[&str]) -> Vec<WanHost> {
    names
        .iter()
        .zip(1u8..)
        .map(|(name, i)| WanHost {
            name: (*name).to_owned(),
            site: name.split('-').next().unwrap().to_owned(),
            role: "node".to_owned(),
            address: IpAddr::V4(Ipv4Addr::new(10, 0, 0, i)),
        })
        .collect()
}

#[test]
fn applied_version_1_is_read_into_the_class_form() {
    let hosts = hosts(&["a-1", "a-2", "b-1"]);
    let shape = r#"{"delay": "10ms", "jitter": "0ms", "rate": "1gbit", "loss": "0%"}"#;
    let pair = |src: &str, dst: &str, address: &str| {
        format!(
            r#"{{"src": "{src}", "dst": "{dst}", "dst_address": "{address}", "shape": {shape}}}"#
        )
    };
    let text = format!(
        r#"{{"version": 1, "method": {{"tc": {{"device": "eth0"}}}}, "source": ["scenario"],
            "matrix": {{"pairs": [{}, {}, {}]}}}}"#,
        pair("a-1", "b-1", "10.0.0.3"),
        pair("b-1", "a-2", "10.0.0.2"),
        pair("gone-1", "a-1", "10.0.0.1"),
    );
    let applied = read_applied(text.as_bytes(), &hosts).unwrap();
    assert_eq!(applied.version, 2);
    assert_eq!(applied.source, ["scenario"]);
    let m = &applied.matrix;
    assert_eq!(m.host_count(), 3);
    assert_eq!(m.pair_count(), 2);
    assert_eq!(m.shape("a-1", "b-1").unwrap().delay.to_string(), "10ms");
    assert_eq!(m.shape("b-1", "a-2").unwrap().rate.to_string(), "1gbit");
    assert_eq!(m.shape("a-2", "b-1"), None);
    // Version 2 reads back as written.
    let again = serde_json::to_vec(&applied).unwrap();
    assert_eq!(read_applied(&again, &hosts), Some(applied));
    assert_eq!(read_applied(b"{}", &hosts), None);
}
