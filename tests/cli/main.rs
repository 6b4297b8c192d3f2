//! The one integration-test binary: drives the real `buildproof` binary on real
//! temporary trees, images and Nix builds. Each file is one capability.

/// The registry tests' servers (docker-registry, token service, proxies, podman).
#[path = "../registry/support.rs"]
mod servers;
mod support;

mod architecture;
mod attach;
mod core;
mod debian;
mod dockerfile;
mod hostile;
mod html;
mod image;
mod init;
mod nix;
mod registry;
mod reports;
mod scale;
mod schema;
mod usage;
mod verify;
