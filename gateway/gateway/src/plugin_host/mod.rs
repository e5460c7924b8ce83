//! The sandboxed WebAssembly host of the review plugins.
//!
//! Owns one wasmtime [`Engine`] (component model, Cranelift, pooling
//! allocator, epoch interruption), the on-disk cache of compiled artifacts,
//! and the life cycle of each loaded plugin: verify its SHA-256 against the
//! pin, compile or load it from the cache, check its contract version, link
//! it against an *empty* WASI context (no files, network, environment,
//! arguments or stdio; clocks frozen at the epoch; randomness all zeros),
//! describe and configure it, and keep warm configured instances that are
//! reused across items, recycled after N calls or past a memory watermark,
//! and discarded after any trap.
//!
//! Every call runs under a deadline (epoch interruption) and a memory cap,
//! and its output is lifted within a budget and validated (known rule and
//! kind, spans in range and on character boundaries). Any failure becomes a
//! [`PluginFailure`] that the review pipeline turns into a blocking
//! `plugin_failure` finding: the host fails closed and keeps serving.
//!
//! It deliberately knows nothing about policies, verdicts or storage: that is
//! `policy` and `review`.
//!
//! Layout: `engine` (engine, ticker, empty WASI context, artifact cache),
//! `load` (pins, contract check, `describe`), `pool` (warm instances and the
//! `review` call), `limits` (limits, deadline, memory cap, failure causes),
//! `extract` (the attachment extractor: its own contract, a fresh instance per
//! file, the same limits), `output` (bounded lifting), `validate` (the output rules), `convert` (the
//! gateway's item into the contract's), `settings` (the `[review]` section).

mod bindings;
mod convert;
mod engine;
mod extract;
mod limits;
mod load;
mod output;
mod pool;
mod settings;
mod stderr;
mod validate;

// The contract's version, shared kinds and reserved kind are defined once,
// in `plugin-api`, for the host and the guests alike.
pub use plugin_api::{CONTRACT_PACKAGE, CONTRACT_VERSION, PLUGIN_FAILURE_KIND, SHARED_KINDS, contract_compatible};

pub(crate) use convert::{WitItem, push_prior, wit_item};
pub use engine::{HostConfig, PluginHost};
pub use extract::{
    EXTRACT_CONTRACT, ExtractBounds, ExtractFailure, Extraction, ExtractorSpec, Fact, FactKind, LoadedExtractor,
    Locator, MaskEdit, Part, Segment,
};
pub use limits::{FailureCause, PluginFailure, PluginLimits};
pub use load::{HostError, PluginDescription, PluginSpec, RuleDescription, built_pin, built_pins, sha256_hex};
pub use pool::LoadedPlugin;
pub use settings::PluginSettings;

#[cfg(test)]
mod tests;
