//! Bounded lifting of a plugin's output.
//!
//! A hostile plugin could return a list of a million findings, or many
//! findings that all point at the same large string in its memory: lifting
//! that naively (`Vec<Finding>` of `String`s) would make the *host* allocate
//! without bound. The types here wrap wasmtime's own string and list lifting
//! and charge every string and list against a per-call budget *before* any
//! host memory is allocated for it; exceeding the budget aborts the lift
//! with [`OutputTooLarge`], and the call fails closed.
//!
//! This relies on wasmtime's `__internal` lifting API, which is stable within
//! the pinned `=48.0.8`. A wasmtime upgrade must re-check it (the host tests
//! `huge-output` and `garbage-spans` do).

use std::cell::Cell;

use wasmtime::component::__internal::{CanonicalAbiInfo, InstanceType, InterfaceType, LiftContext};
use wasmtime::component::{ComponentType, Lift};

use super::bindings::{Field, Severity, Span};

/// A call's output exceeded its budget (number of findings or bytes).
#[derive(Debug, thiserror::Error)]
#[error("plugin output exceeds the budget: {0}")]
pub struct OutputTooLarge(pub String);

#[derive(Clone, Copy)]
struct Budget {
    max_items: usize,
    bytes_left: usize,
}

thread_local! {
    static BUDGET: Cell<Option<Budget>> = const { Cell::new(None) };
}

/// Runs `f` (one call into a plugin, on this thread) with an output budget of
/// at most `max_items` elements per list and `max_bytes` bytes in total.
pub(crate) fn with_budget<R>(max_items: usize, max_bytes: usize, f: impl FnOnce() -> R) -> R {
    struct Reset;
    impl Drop for Reset {
        fn drop(&mut self) {
            BUDGET.with(|b| b.set(None));
        }
    }
    BUDGET.with(|b| b.set(Some(Budget { max_items, bytes_left: max_bytes })));
    let _reset = Reset;
    f()
}

fn charge(count: usize, bytes: usize) -> wasmtime::Result<()> {
    BUDGET.with(|b| {
        let Some(mut budget) = b.get() else {
            // Lifting outside `with_budget` is a host bug; refuse rather than
            // lift unbounded.
            return Err(wasmtime::Error::new(OutputTooLarge("no output budget set".into())));
        };
        if count > budget.max_items {
            return Err(wasmtime::Error::new(OutputTooLarge(format!(
                "a list of {count} elements (at most {} allowed)",
                budget.max_items
            ))));
        }
        if bytes > budget.bytes_left {
            return Err(wasmtime::Error::new(OutputTooLarge(format!(
                "text of {bytes} bytes with only {} bytes of budget left",
                budget.bytes_left
            ))));
        }
        budget.bytes_left -= bytes;
        b.set(Some(budget));
        Ok(())
    })
}

/// Reads the `(pointer, length)` pair of a string or list from its flat or
/// in-memory canonical ABI form.
fn flat_len(src: &[wasmtime::ValRaw; 2]) -> usize {
    src[1].get_u32() as usize
}

fn memory_len(bytes: &[u8]) -> usize {
    bytes.get(4..8).map(|b| u32::from_le_bytes([b[0], b[1], b[2], b[3]]) as usize).unwrap_or(usize::MAX)
}

/// A `string` lifted only within the call's budget.
pub(crate) struct BoundedString(pub String);

// SAFETY: same ABI and type check as `String`, to which lifting is delegated.
unsafe impl ComponentType for BoundedString {
    type Lower = <String as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <String as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <String as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: delegates to `String`'s implementation after a length check.
unsafe impl Lift for BoundedString {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        charge(0, flat_len(src))?;
        Ok(BoundedString(String::linear_lift_from_flat(cx, ty, src)?))
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        charge(0, memory_len(bytes))?;
        Ok(BoundedString(String::linear_lift_from_memory(cx, ty, bytes)?))
    }
}

/// A `list<T>` lifted only when its length is within the call's budget.
pub(crate) struct BoundedList<T>(pub Vec<T>);

// SAFETY: same ABI and type check as `Vec<T>`, to which lifting is delegated.
unsafe impl<T: ComponentType> ComponentType for BoundedList<T> {
    type Lower = <Vec<T> as ComponentType>::Lower;
    const ABI: CanonicalAbiInfo = <Vec<T> as ComponentType>::ABI;

    fn typecheck(ty: &InterfaceType, types: &InstanceType<'_>) -> wasmtime::Result<()> {
        <Vec<T> as ComponentType>::typecheck(ty, types)
    }
}

// SAFETY: delegates to `Vec<T>`'s implementation after a length check.
unsafe impl<T: Lift> Lift for BoundedList<T> {
    fn linear_lift_from_flat(cx: &mut LiftContext<'_>, ty: InterfaceType, src: &Self::Lower) -> wasmtime::Result<Self> {
        let n = flat_len(src);
        charge(n, n.saturating_mul(T::SIZE32))?;
        Ok(BoundedList(Vec::<T>::linear_lift_from_flat(cx, ty, src)?))
    }

    fn linear_lift_from_memory(cx: &mut LiftContext<'_>, ty: InterfaceType, bytes: &[u8]) -> wasmtime::Result<Self> {
        let n = memory_len(bytes);
        charge(n, n.saturating_mul(T::SIZE32))?;
        Ok(BoundedList(Vec::<T>::linear_lift_from_memory(cx, ty, bytes)?))
    }
}

/// A finding as lifted from the guest, before validation.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawFinding {
    #[component(name = "rule-id")]
    pub rule_id: BoundedString,
    pub kind: BoundedString,
    pub severity: Severity,
    pub field: Field,
    pub span: Option<Span>,
    pub message: BoundedString,
    pub suggestion: Option<BoundedString>,
}

/// A rule as described by the guest.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawRuleInfo {
    pub id: BoundedString,
    pub kind: BoundedString,
    pub severity: Severity,
    pub description: BoundedString,
}

/// What the guest's `describe` returned.
#[derive(ComponentType, Lift)]
#[component(record)]
pub(crate) struct RawPluginInfo {
    pub name: BoundedString,
    pub version: BoundedString,
    pub contract: BoundedString,
    pub rules: BoundedList<RawRuleInfo>,
    #[component(name = "extra-kinds")]
    pub extra_kinds: BoundedList<BoundedString>,
    #[component(name = "config-schema")]
    pub config_schema: BoundedString,
}

/// `review`'s result type.
pub(crate) type ReviewResult = Result<BoundedList<RawFinding>, BoundedString>;
/// `configure`'s result type.
pub(crate) type ConfigureResult = Result<(), BoundedString>;
