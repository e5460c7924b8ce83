//! Test extractor for the fail-closed tests of the extractor host: what it
//! does depends on the file name (`loop`, `panic`, `oom`, `flood`, `foreign`;
//! anything else is read as one text segment; `mask` returns the bytes as
//! they are, or, for `flood`, a copy larger than any output budget).

#[allow(unsafe_code, clippy::all, missing_docs)]
mod bindings {
    wit_bindgen::generate!({
        path: "../../../plugins/wit-extract",
        world: "extractor",
    });
}

use bindings::gov_disclosure::extract::types::{Bounds, Edit, Extraction, Failure, Input, Locator, Part, Segment};

struct Evil;

fn segment(file: &str, text: String) -> Segment {
    Segment {
        locator: Locator {
            file: file.into(),
            part: Part::Body,
            page: None,
            sheet: None,
            cell: None,
            paragraph: None,
            detail: None,
        },
        text,
    }
}

impl bindings::Guest for Evil {
    fn describe() -> String {
        format!("extract-evil@{}", env!("CARGO_PKG_VERSION"))
    }

    fn extract(file: Input, _bounds: Bounds) -> Result<Extraction, Failure> {
        let mut segments = Vec::new();
        match file.name.as_str() {
            "loop" => {
                let mut n: u64 = 0;
                loop {
                    n = std::hint::black_box(n.wrapping_add(1));
                }
            }
            "panic" => panic!("extractor crashed on purpose"),
            "oom" => {
                let mut hoard: Vec<Vec<u8>> = Vec::new();
                loop {
                    hoard.push(vec![1u8; 1 << 20]);
                    std::hint::black_box(&hoard);
                }
            }
            "flood" => {
                for i in 0..50_000u32 {
                    segments.push(segment(&file.name, format!("第 {i} 段")));
                }
            }
            "foreign" => segments.push(segment("another.docx", "x".into())),
            _ => segments.push(segment(&file.name, String::from_utf8_lossy(&file.bytes).into_owned())),
        }
        Ok(Extraction { format: "txt".into(), segments, facts: Vec::new() })
    }

    fn mask(file: Input, _edits: Vec<Edit>, bounds: Bounds) -> Result<Vec<u8>, Failure> {
        match file.name.as_str() {
            "flood" => Ok(vec![b'x'; 8 << 20]),
            "loop" | "panic" | "oom" => Self::extract(file, bounds).map(|_| Vec::new()),
            _ => Ok(file.bytes),
        }
    }
}

bindings::export!(Evil with_types_in bindings);
