//! Opening TUN devices inside network namespaces.

use std::fs::File;
use std::os::fd::AsFd;

use rustix::thread::{LinkNameSpaceType, move_into_link_name_space};
use tun_rs::{DeviceBuilder, SyncDevice};

use crate::EmulatorError;
use crate::config::DeviceKey;

/// Creates one non-persistent TUN device (`IFF_TUN | IFF_NO_PI`, non-blocking) per key, each
/// inside its namespace, and returns them in the same order.
///
/// The work happens on a helper thread that enters each namespace in turn, so the calling
/// thread stays where it is. The devices are left down and without address. A device lives
/// as long as its descriptor: on error, those already created vanish with it.
pub(crate) fn open_all(devices: &[DeviceKey]) -> Result<Vec<SyncDevice>, EmulatorError> {
    std::thread::scope(|scope| {
        std::thread::Builder::new()
            .name("enos-emu-tun".into())
            .spawn_scoped(scope, || {
                devices
                    .iter()
                    .map(open_in_namespace)
                    .collect::<Result<Vec<_>, _>>()
            })
            .map_err(EmulatorError::Thread)?
            .join()
            .unwrap_or_else(|_| {
                Err(EmulatorError::Config(
                    "the thread creating the TUN devices panicked".into(),
                ))
            })
    })
}

fn open_in_namespace(key: &DeviceKey) -> Result<SyncDevice, EmulatorError> {
    let netns_error = |source| EmulatorError::Netns {
        path: key.netns.clone(),
        source,
    };
    let namespace = File::open(&key.netns).map_err(netns_error)?;
    move_into_link_name_space(namespace.as_fd(), Some(LinkNameSpaceType::Network))
        .map_err(|errno| netns_error(errno.into()))?;
    let tun_error = |source| EmulatorError::Tun {
        device: key.name.clone(),
        netns: key.netns.clone(),
        source,
    };
    let device = DeviceBuilder::new()
        .name(key.name.as_str())
        .packet_information(false)
        .inherit_enable_state()
        .build_sync()
        .map_err(tun_error)?;
    device.set_nonblocking(true).map_err(tun_error)?;
    tracing::debug!(
        device = %key.name,
        netns = %key.netns.display(),
        "TUN device created"
    );
    Ok(device)
}
