//! Host-side types generated from `plugins/wit/review.wit`.
//!
//! Only the contract's types are used from here (the item that is lowered
//! into the guest, and the `severity` / `field` / `span` leaves of a
//! finding). Calls go through the typed functions in `output.rs`, whose
//! string and list types enforce the output budget while lifting.

wasmtime::component::bindgen!({
    path: "../../plugins/wit",
    world: "review-plugin",
});

// `Item`, `Finding` and `PluginInfo` are at this module's root already (the
// world `use`s them).
pub use gov_disclosure::review::types::{Approval, Attachment, Field, Severity, Signoff, Span, SuperiorRef};
