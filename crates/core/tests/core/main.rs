//! The core's integration tests: one binary (link time), real SQLite files, the sandbox on
//! loopback for provider behaviour, and the in-memory vault (the real keyring has its own test).

// Test helpers panic by design: a failed set-up step is a failed test.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod agent;
mod connect;
mod coros;
mod doors;
mod engine;
mod export;
mod flows;
mod garmin;
mod garmin_personal;
mod google_health;
mod harness;
mod imports;
mod keyring;
mod linking;
mod polar;
mod policy;
mod promises;
mod recordings;
mod scripted;
mod store;
mod sync;
mod twins;
mod wahoo;
