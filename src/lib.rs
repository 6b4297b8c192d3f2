//! buildproof: prove that what ships is what was built from what changed.
//!
//! The library does the work and never prints; `main.rs` parses arguments, calls
//! [`commands::run`], prints errors and picks the exit code.

/// File arguments beyond plain files: `-` (stdin), pipes (`<(…)`), `git:REV:PATH`.
pub mod argfile;
/// The manifest travels with the image: statements attached to registry images, read back.
pub mod attach;
/// in-toto statements: writing a manifest as one, unwrapping envelopes that carry one.
pub mod attest;
/// Verified blob reads: size and SHA-256 checked as the bytes stream.
pub mod blob;
/// Command-line definitions (clap).
pub mod cli;
/// One file per command: plan, work through the library, hand a report to `report`.
pub mod commands;
/// `buildproof.toml`: discovery, validation with lines, all problems at once.
pub mod config;
/// Running-state readers for `verify`: manifests, Kubernetes, ECS, store-path lists.
pub mod deploy;
/// The `Digest` type (`sha256:<hex>`, SRI, Nix base32) and streaming SHA-256.
pub mod digest;
pub mod digest_thread;
/// Dockerfile parsing down to the final stage's startup; `.dockerignore`.
pub mod dockerfile;
/// File helpers: non-blocking, no-follow opens; whole-file reads; path text.
pub mod fsio;
/// The git commit (and dirty state) of the work tree a snapshot was taken in.
pub mod git;
/// Images from layouts, archives, registries and engines; merged layers, content identity, static startup check.
pub mod image;
/// `buildproof init`: a first config proposed from what a tree holds.
pub mod init;
/// Reading the documents users pass (manifests, in-toto statements of them), bounded.
pub mod load;
/// The ground floor: manifest records, running state, findings, rule ids.
pub mod model;
/// The NAR format and hashing a path as `nix hash path` does.
pub mod nar;
/// Store paths, derivations, the nix CLI, input coverage of derivation sources.
pub mod nix;
/// Writing results atomically (temporary file, then rename).
pub mod output;
/// Progress counters producers bump and a command's progress bar reads.
pub mod progress;
/// Registries over the OCI distribution API; the Docker Engine API.
pub mod registry;
/// Text, JSON, SARIF, JUnit, Markdown, GitHub, GitLab and HTML reports.
pub mod report;
/// Rules: manifests in, findings out; rule ids with descriptions.
pub mod rules;
/// Config in, manifest out: every component hashed.
pub mod snapshot;
/// Selecting and hashing source trees and outputs.
pub mod tree;
