//! Tests for the dockerfile capability.
