//! Shared plain-Rust pieces of the rule plugins (attribute, reply, format,
//! expression, signoff).
//!
//! The rule plugins keep their logic in ordinary library code over the
//! contract's own item and finding types (the SDK's, so there is one review
//! model), so that it can be tested natively and scored on the evaluation
//! cases without building a WebAssembly component. This crate holds what
//! they share: the [`RulePlugin`] trait and its [`Component`] adapter to the
//! contract, the parsed 公开属性, a folded view of text that maps back to
//! original byte offsets, and recognisers for citations of the 条例 and
//! Chinese numerals. It does no IO and knows no rule: the rules live in the
//! plugins.

pub mod cite;
pub mod fold;
pub mod item;
pub mod plugin;

pub use fold::Folded;
pub use item::{
    Approval, Attribute, Field, FindingExt, ItemExt, RuleInfo, Severity, Signoff, SuperiorRef, is_blank_answer,
};
pub use plugin::{Component, Meta, RulePlugin, check_contract};
pub use plugin_sdk::{Finding, Item, Span};
