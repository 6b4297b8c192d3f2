//! The one integration-test binary: drives the real `buildproof` binary on real
//! temporary trees, images and Nix builds. Each file is one capability.

mod support;

mod core;
mod dockerfile;
mod hostile;
mod image;
mod init;
mod nix;
mod reports;
mod schema;
mod usage;
mod verify;
