//! The publication review and confidentiality-check gateway, as a library:
//! the binary in `main.rs` is a thin command line over it, and the
//! end-to-end tests in `tests/` drive it in-process over real HTTP.
//!
//! See `ARCHITECTURE.md` at the repository root for the codemap.

pub mod applications;
pub mod auth;
pub mod calendar;
pub mod channel;
pub mod check;
pub mod config;
pub mod delivery;
pub mod finding;
pub mod http;
pub mod letter;
pub mod mail;
pub mod model;
pub mod ocr;
pub mod offload;
pub mod plugin_host;
pub mod policy;
pub mod review;
pub mod sealing;
pub mod server;
pub mod service;
pub mod state;
pub mod store;
pub mod workflow;
pub mod workflow_tasks;
