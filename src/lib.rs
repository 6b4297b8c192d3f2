//! buildproof: prove that what ships is what was built from what changed.
//!
//! The library does the work and never prints; `main.rs` parses arguments, calls
//! [`commands::run`], prints errors and picks the exit code.

pub mod cli;
pub mod commands;
pub mod config;
pub mod deploy;
pub mod digest;
pub mod dockerfile;
pub mod finding;
pub mod image;
pub mod manifest;
pub mod nar;
pub mod nix;
pub mod output;
pub mod report;
pub mod rules;
pub mod snapshot;
pub mod tree;
