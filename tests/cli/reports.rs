//! Tests for the reports capability.
