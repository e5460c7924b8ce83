//! The application layer: one function per use case (submit an item, act
//! on a workflow stage, seal, withdraw, deliver again, …). A use case loads
//! what it needs through the store, asks the pure decision modules
//! (`workflow`, `model`, `sealing`) what may happen, and saves the outcome
//! through the store in one transaction. It returns a typed [`Error`] that
//! the HTTP layer maps to a problem document.
//!
//! Architecture invariant: `http/`, `http/web/` and the background tasks
//! call use cases here; they never call each other's handlers. The store
//! only loads and saves; it does not decide.

pub mod applications;
pub mod approval;
pub mod attachments;
pub mod delivery;
pub mod forms;
pub mod items;
pub mod opinions;
pub mod register;
pub mod seal;
pub mod workflow;

use crate::model::FieldProblem;
use crate::store::StoreError;

/// Why a use case did not happen. The texts are for people, in Chinese.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The actor may not do this (the text says why).
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// What was named does not exist or is not visible to the actor.
    #[error("not found: {0}")]
    NotFound(&'static str),
    /// The request conflicts with the current state (the text says how).
    #[error("conflict: {0}")]
    Conflict(String),
    /// The actor worked on an older version.
    #[error("stale version {expected}, current is {current}")]
    Stale { expected: i64, current: i64 },
    /// Field-level problems with what was submitted.
    #[error("invalid fields")]
    Invalid(Vec<FieldProblem>),
    /// Well-formed but cannot be processed (the text says why).
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    /// A shared resource is saturated; retry later.
    #[error("busy: {0}")]
    Busy(String),
    /// A service outside the gateway (the mail server) refused or did not
    /// answer (the text says which and what it said).
    #[error("upstream: {0}")]
    Upstream(String),
    /// Loading or saving failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// A bug or an environment failure; the cause goes to the log only.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    pub fn invalid(field: &str, message: impl Into<String>) -> Error {
        Error::Invalid(vec![FieldProblem::new(field, message)])
    }
}

impl From<crate::offload::OffloadError> for Error {
    fn from(e: crate::offload::OffloadError) -> Error {
        match e {
            crate::offload::OffloadError::Busy(_) => Error::Busy(e.to_string()),
            crate::offload::OffloadError::Failed { .. } => Error::Internal(e.to_string()),
        }
    }
}
