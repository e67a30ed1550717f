//! Tests that measure the server under load, and so need the machine to themselves: cargo
//! runs one test binary at a time, so none of the API tests (`tests/api`) runs beside these.
//! They share the API tests' harness.

// Test arithmetic is on known small numbers, and an overflow would fail the test, as it should.
#![allow(clippy::arithmetic_side_effects)]

#[path = "api/readium.rs"]
mod readium;
#[path = "api/support.rs"]
mod support;

#[path = "api/burst.rs"]
mod burst;
