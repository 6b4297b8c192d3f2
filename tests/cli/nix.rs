//! Tests for the nix capability.
