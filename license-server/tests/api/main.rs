//! Integration tests of fount-server: the real server on a real TCP port, driven over HTTP,
//! on SQLite and on PostgreSQL.
//!
//! PostgreSQL tests need `FOUNT_TEST_POSTGRES_URL`, the URL of a server where the tests may
//! create databases; `scripts/test.sh` starts a throwaway cluster and sets it.

// Test arithmetic is on known small numbers, and an overflow would fail the test, as it should.
#![allow(clippy::arithmetic_side_effects)]

mod proxy;
mod raw_http;
mod readium;
mod support;

mod assets;
mod bad_input;
mod client;
mod connections;
mod console_pages;
mod demo;
mod devices;
mod downloads;
mod events;
mod feeds;
mod issuance;
mod keys;
mod media;
mod metrics;
mod object_storage;
mod operator;
mod origin;
mod outage;
mod paging;
mod payments;
mod positions;
mod queue;
mod refusals;
mod replicas;
mod self_service;
mod store_settings;
mod tenancy;
mod titles;
mod webhooks;
mod whole_path;
mod widget;
mod workers;
