//! End-to-end tests: the real gateway over HTTP on loopback, every test on
//! SQLite and on PostgreSQL.

mod accounts;
mod applications;
mod attachments;
mod bad_input;
mod calendar;
mod channel_files;
mod connectors;
mod crash;
mod daily_work;
mod delivery;
mod hardening;
mod hot_plugin;
mod items;
mod masked_copies;
mod matrix;
mod misbehaviour;
mod review;
mod seal;
mod secrets;
mod web;
mod workflow;
