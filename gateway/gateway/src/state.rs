//! The application's shared state: what the server loads at start and every
//! use case reads (the store, settings, review pipeline, workflow policy,
//! calendar, keys). It lives here, not in `http/`, so that background tasks
//! and the application layer do not depend on the HTTP layer.
//!
//! Architecture invariant: background tasks that are not use cases take a
//! narrower context (the delivery dispatcher takes [`delivery::Context`]).

use std::sync::Arc;

use crate::config::Settings;
use crate::delivery;
use crate::store::Db;

/// Everything a use case needs.
#[derive(Clone)]
pub struct AppState {
    pub db: Db,
    pub settings: Arc<Settings>,
    pub pipeline: Arc<crate::review::Pipeline>,
    pub workflow: Arc<crate::workflow::WorkflowPolicy>,
    /// The holiday calendar in force (shipped years and the office's).
    pub calendar: Arc<crate::calendar::Calendars>,
    pub seal_keys: Arc<crate::sealing::SealKeys>,
    /// The webhook transport key (not the seal key).
    pub transport: Arc<delivery::TransportKey>,
    /// Wakes the dispatcher and the feed readers.
    pub wake: delivery::Wake,
    /// Where diffs, highlighting and exports run, off the async runtime.
    pub cpu: Arc<crate::offload::CpuPool>,
}

impl AppState {
    /// After a change that added channel events or deliveries: wakes this
    /// process's dispatcher and feed readers, and (PostgreSQL) the others'.
    pub async fn wake_delivery(&self) {
        self.wake.announce(&self.db).await;
    }

    /// The part of the state the delivery dispatcher and connectors use.
    pub fn delivery(&self) -> delivery::Context {
        delivery::Context {
            db: self.db.clone(),
            settings: self.settings.clone(),
            transport: self.transport.clone(),
            wake: self.wake.clone(),
        }
    }
}
