//! Tests for the image capability.
