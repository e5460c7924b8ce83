//! What the gateway's plugin host and the attachment extractor (a wasm
//! guest) share across the sandbox, beyond the WIT contract itself
//! (`plugins/wit-extract`): the bounds the extractor enforces while reading
//! one untrusted file, and their defaults.
//!
//! The WIT `bounds` record carries the values over the boundary; this crate
//! is their one definition, so the host's defaults and the ones the
//! extractor's tests, fuzzing and benchmark use cannot drift apart.

#![forbid(unsafe_code)]

/// Bounds the extractor enforces inside the sandbox (archive depth, entries,
/// total uncompressed size, compression ratio, cells, PDF pages, text). Each one hit is
/// a failure that blocks the item, never a silent truncation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[cfg_attr(feature = "serde", derive(serde::Serialize))]
pub struct Bounds {
    /// Archive nesting depth.
    pub max_depth: u32,
    /// Archive entries, all archives of one file together.
    pub max_entries: u32,
    /// Uncompressed bytes read from archives, all together.
    pub max_total_bytes: u64,
    /// Uncompressed over compressed size of one entry (zip bombs).
    pub max_ratio: u32,
    /// Spreadsheet cells.
    pub max_cells: u32,
    /// PDF pages (each one is interpreted; an earlier revision's too).
    pub max_pages: u32,
    /// Bytes of extracted text.
    pub max_text_bytes: u64,
}

impl Bounds {
    /// The defaults: generous for real agency files (a 1 000 000-cell
    /// workbook, a 5,000-page PDF, 32 MiB of text), tight enough that a zip bomb or a deeply
    /// nested archive stops early.
    pub const DEFAULT: Bounds = Bounds {
        max_depth: 3,
        max_entries: 1_000,
        max_total_bytes: 256 << 20,
        max_ratio: 100,
        max_cells: 1_000_000,
        max_pages: 5_000,
        max_text_bytes: 32 << 20,
    };
}

impl Default for Bounds {
    fn default() -> Self {
        Bounds::DEFAULT
    }
}
