//! Shared plain-Rust pieces of the rule plugins (attribute, reply, format,
//! expression, signoff).
//!
//! The rule plugins keep their logic in ordinary library code so that it can
//! be tested natively and scored on the evaluation cases without building a
//! WebAssembly component. This crate holds what they share: the item and
//! finding types (shaped like the WIT contract, readable from the evaluation
//! JSONL format), a folded view of text that maps back to original byte
//! offsets, and recognisers for citations of the 条例 and Chinese numerals.
//! It does no IO and knows no rule: the rules live in the plugins.

pub mod cite;
pub mod fold;
pub mod item;
#[cfg(feature = "sdk")]
pub mod sdk;

pub use fold::Folded;
pub use item::{Approval, Attribute, Field, Finding, Item, RuleInfo, Severity, Signoff, SuperiorRef, is_blank_answer};
