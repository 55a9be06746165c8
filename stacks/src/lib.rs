//! The built-in stacks of enos-rs: each stack's `stack.yaml` and templates, in this crate's
//! directories, built into the binary so that it works alone while users read and copy the same
//! files from the repository.
#![warn(missing_docs)]

/// Every built-in file: its path in the repository (`stacks/<stack>/<file>`) and its text.
///
/// Every file of a stack's directory must be listed here; a test checks that none is missing.
pub const FILES: &[(&str, &str)] = &[
    ("stacks/etcd/stack.yaml", include_str!("../etcd/stack.yaml")),
    ("stacks/k3s/stack.yaml", include_str!("../k3s/stack.yaml")),
    (
        "stacks/keystone/admin-openrc.j2",
        include_str!("../keystone/admin-openrc.j2"),
    ),
    (
        "stacks/keystone/keystone.conf.j2",
        include_str!("../keystone/keystone.conf.j2"),
    ),
    (
        "stacks/keystone/mariadb.cnf.j2",
        include_str!("../keystone/mariadb.cnf.j2"),
    ),
    (
        "stacks/keystone/stack.yaml",
        include_str!("../keystone/stack.yaml"),
    ),
    (
        "stacks/nginx/index.html.j2",
        include_str!("../nginx/index.html.j2"),
    ),
    (
        "stacks/nginx/site.conf.j2",
        include_str!("../nginx/site.conf.j2"),
    ),
    (
        "stacks/nginx/stack.yaml",
        include_str!("../nginx/stack.yaml"),
    ),
    (
        "stacks/nova/glance-api.conf.j2",
        include_str!("../nova/glance-api.conf.j2"),
    ),
    (
        "stacks/nova/ml2_conf.ini.j2",
        include_str!("../nova/ml2_conf.ini.j2"),
    ),
    (
        "stacks/nova/neutron.conf.j2",
        include_str!("../nova/neutron.conf.j2"),
    ),
    (
        "stacks/nova/nova-compute.conf.j2",
        include_str!("../nova/nova-compute.conf.j2"),
    ),
    (
        "stacks/nova/nova.conf.j2",
        include_str!("../nova/nova.conf.j2"),
    ),
    (
        "stacks/nova/placement.conf.j2",
        include_str!("../nova/placement.conf.j2"),
    ),
    (
        "stacks/nova/service-users.py.j2",
        include_str!("../nova/service-users.py.j2"),
    ),
    (
        "stacks/nova/smoke.sh.j2",
        include_str!("../nova/smoke.sh.j2"),
    ),
    ("stacks/nova/stack.yaml", include_str!("../nova/stack.yaml")),
    (
        "stacks/openstack/globals.yml.j2",
        include_str!("../openstack/globals.yml.j2"),
    ),
    (
        "stacks/openstack/kolla-multinode.j2",
        include_str!("../openstack/kolla-multinode.j2"),
    ),
    (
        "stacks/openstack/stack.yaml",
        include_str!("../openstack/stack.yaml"),
    ),
    (
        "stacks/rally/stack.yaml",
        include_str!("../rally/stack.yaml"),
    ),
];
