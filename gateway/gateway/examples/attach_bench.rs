//! The attachment benchmark, run by `cargo xtask bench attachments`
//! (release build). Prints a Markdown section on stdout; the xtask puts it
//! into BENCHMARKS.md.
//!
//! For each file (a ~5 MB XLSX 公示 written with rust_xlsxwriter, a large
//! DOCX, a large TXT, a 50-page text PDF written with lopdf in a Type0 font
//! with a ToUnicode CMap, as Chinese office software writes them), in one
//! run: extraction in the sandboxed extractor
//! the default policy pins (a fresh instance per file, as at submission)
//! against the same extractor crate called natively on the same bytes (the
//! ratio is the sandbox's price); extraction + review through the whole
//! default policy (`review_files_at`, what a submission does); and the peak
//! linear memory the extractor instance used (its size after the call:
//! WebAssembly memory only grows). Then a scanned page (the OCR fixture):
//! Tesseract in the gateway's bounded child process against Tesseract run
//! directly, and OCR + review, as a PNG and as an image-only PDF page.

use std::io::{Cursor, Write};
use std::path::Path;
use std::time::{Duration, Instant};

use gateway::ocr::{Ocr, OcrSettings};
use gateway::policy::Policy;
use gateway::review::{AttachmentFile, Pipeline, PluginSettings, ReviewItem, RunStatus};

/// A fixed pseudo-random sequence (xorshift), so every run reads the same
/// bytes.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    /// `n` common CJK characters, poorly compressible like real prose.
    fn hanzi(&mut self, n: usize) -> String {
        (0..n).map(|_| char::from_u32(0x4E00 + (self.next() % 3000) as u32).unwrap()).collect()
    }

    fn id(&mut self) -> String {
        format!(
            "{:06}{:04}{:02}{:02}{:04}",
            110_101 + self.next() % 500_000,
            1950 + self.next() % 60,
            1 + self.next() % 12,
            1 + self.next() % 28,
            self.next() % 10_000
        )
    }
}

/// An XLSX 公示 of at least `target` bytes: 序号, 姓名, 身份证号, 金额, 备注.
fn xlsx(target: usize) -> (Vec<u8>, u32) {
    let mut rows = 20_000u32;
    loop {
        let mut rng = Rng(0x9E37_79B9_7F4A_7C15);
        let mut wb = rust_xlsxwriter::Workbook::new();
        let ws = wb.add_worksheet();
        ws.set_name("公示名单").unwrap();
        for (c, h) in ["序号", "姓名", "身份证号", "金额", "备注"].iter().enumerate() {
            ws.write_string(0, c as u16, *h).unwrap();
        }
        for r in 1..=rows {
            ws.write_number(r, 0, f64::from(r)).unwrap();
            ws.write_string(r, 1, rng.hanzi(3)).unwrap();
            ws.write_string(r, 2, rng.id()).unwrap();
            ws.write_number(r, 3, (rng.next() % 100_000) as f64 / 100.0).unwrap();
            ws.write_string(r, 4, rng.hanzi(40)).unwrap();
        }
        let bytes = wb.save_to_buffer().unwrap();
        if bytes.len() >= target {
            return (bytes, rows);
        }
        rows = (u64::from(rows) * target as u64 / bytes.len() as u64 + 1_000) as u32;
    }
}

/// A DOCX of `paragraphs` paragraphs of 200 characters each.
fn docx(paragraphs: usize) -> Vec<u8> {
    let mut rng = Rng(0x2545_F491_4F6C_DD1D);
    let mut body = String::new();
    for _ in 0..paragraphs {
        body.push_str(&format!("<w:p><w:r><w:t>{}</w:t></w:r></w:p>", rng.hanzi(200)));
    }
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:document xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main"><w:body>{body}</w:body></w:document>"#
    );
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = zip::write::SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    w.start_file("word/document.xml", opts).unwrap();
    w.write_all(document.as_bytes()).unwrap();
    w.finish().unwrap().into_inner()
}

/// A PDF of `pages` pages, each 40 lines of 40 characters in a Type0
/// (Identity-H) font whose ToUnicode CMap maps each 2-byte code to the
/// character with that UTF-16 unit; content streams Flate-compressed.
fn pdf(pages: usize) -> Vec<u8> {
    use lopdf::{Dictionary, Document, Object, Stream, dictionary};
    let mut rng = Rng(0x0F0F_1234_5678_9ABC);
    let mut doc = Document::with_version("1.7");
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in (0x4E00u32..0x4E00 + 3000).collect::<Vec<_>>().chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for u in chunk {
            cmap.push_str(&format!("<{u:04X}> <{u:04X}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    let mut to_unicode = Stream::new(Dictionary::new(), cmap.into_bytes());
    to_unicode.compress().unwrap();
    let to_unicode = doc.add_object(to_unicode);
    let cid = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "CIDFontType2", "BaseFont" => "SimSun", "DW" => 1000,
        "CIDSystemInfo" => dictionary! { "Registry" => Object::string_literal("Adobe"), "Ordering" => Object::string_literal("Identity"), "Supplement" => 0 },
    });
    let font = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type0", "BaseFont" => "SimSun", "Encoding" => "Identity-H",
        "DescendantFonts" => vec![cid.into()], "ToUnicode" => to_unicode,
    });
    let pages_id = doc.new_object_id();
    let mut kids = Vec::new();
    for _ in 0..pages {
        let mut content = String::from("BT /F1 12 Tf 14 TL 50 800 Td\n");
        for _ in 0..40 {
            let hex: String = rng.hanzi(40).encode_utf16().map(|u| format!("{u:04X}")).collect();
            content.push_str(&format!("<{hex}> Tj T*\n"));
        }
        content.push_str("ET\n");
        let mut stream = Stream::new(Dictionary::new(), content.into_bytes());
        stream.compress().unwrap();
        let content = doc.add_object(stream);
        kids.push(
            doc.add_object(dictionary! {
                "Type" => "Page", "Parent" => pages_id, "Contents" => content,
                "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
                "Resources" => dictionary! { "Font" => dictionary! { "F1" => font } },
            })
            .into(),
        );
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let catalog = doc.add_object(dictionary! { "Type" => "Catalog", "Pages" => pages_id });
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// A UTF-8 text file of `lines` lines of 100 characters.
fn txt(lines: usize) -> Vec<u8> {
    let mut rng = Rng(0x1234_5678_9ABC_DEF1);
    let mut s = String::new();
    for _ in 0..lines {
        s.push_str(&rng.hanzi(100));
        s.push('\n');
    }
    s.into_bytes()
}

fn median(mut t: Vec<Duration>) -> Duration {
    t.sort();
    t[t.len() / 2]
}

fn timed<T>(runs: usize, mut f: impl FnMut() -> T) -> (Duration, T) {
    let mut last = None;
    let t = (0..runs)
        .map(|_| {
            let s = Instant::now();
            last = Some(f());
            s.elapsed()
        })
        .collect();
    (median(t), last.unwrap())
}

fn mb_s(bytes: usize, d: Duration) -> f64 {
    bytes as f64 / 1e6 / d.as_secs_f64()
}

fn main() {
    let quick = std::env::args().any(|a| a == "--quick");
    let runs = if quick { 1 } else { 3 };
    let ws = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let settings = PluginSettings { workers: 2, ..PluginSettings::default() };
    let pipeline = Pipeline::with_policy(&settings, Policy::load(&ws.join("policies/default.toml")).unwrap()).unwrap();
    let generation = pipeline.current();
    let extractor = generation.extractor().expect("the default policy pins an extractor");

    let (xlsx, rows) = xlsx(if quick { 1 << 20 } else { 5 << 20 });
    let files: Vec<(String, &str, Vec<u8>)> = vec![
        (
            format!("公示（{rows} 行 × 5 列）.xlsx"),
            "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
            xlsx,
        ),
        (
            "通知（5,000 段）.docx".into(),
            "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
            docx(if quick { 500 } else { 5_000 }),
        ),
        ("名单（20,000 行）.txt".into(), "text/plain", txt(if quick { 2_000 } else { 20_000 })),
        ("通知（50 页）.pdf".into(), "application/pdf", pdf(if quick { 5 } else { 50 })),
    ];

    println!("{runs} run(s) per figure, median; one file per submission, a fresh extractor instance per file.\n");
    println!(
        "| file | size | segments | native extract | sandboxed extract | ratio | extract + review (default policy) | findings | extractor peak memory |"
    );
    println!("|---|---|---|---|---|---|---|---|---|");
    for (name, media_type, bytes) in &files {
        let input = extract::Input { name: name.clone(), media_type: (*media_type).into(), bytes: bytes.clone() };
        let (native, x) = timed(runs, || extract::extract(&input, &extract::default_bounds()));
        let native_segments = x.map(|x| x.segments.len()).unwrap_or_else(|f| panic!("native: {}", f.message));
        let (sandboxed, (x, peak)) = timed(runs, || extractor.extract_measured(name, media_type, bytes));
        let segments = x.unwrap_or_else(|e| panic!("sandboxed: {e:?}")).segments.len();
        assert_eq!(segments, native_segments, "the sandbox and the native crate read the same file alike");
        let item = ReviewItem::new("bench", "附件见下。");
        let file = [AttachmentFile { name: name.clone(), media_type: (*media_type).into(), bytes: bytes.clone() }];
        let (reviewed, outcome) =
            timed(runs, || generation.review_files_at(&item, &file, "2025-06-01T00:00:00Z", None));
        assert!(
            outcome.plugins.iter().all(|r| r.status != RunStatus::Failed),
            "every plugin ran: {:?}",
            outcome.plugins
        );
        println!(
            "| {name} | {:.1} MB | {segments} | {} ms ({:.1} MB/s) | {} ms ({:.1} MB/s) | {:.2}× | {} ms ({:.2} MB/s) | {} | {:.0} MiB |",
            bytes.len() as f64 / 1e6,
            native.as_millis(),
            mb_s(bytes.len(), native),
            sandboxed.as_millis(),
            mb_s(bytes.len(), sandboxed),
            sandboxed.as_secs_f64() / native.as_secs_f64(),
            reviewed.as_millis(),
            mb_s(bytes.len(), reviewed),
            outcome.findings.len(),
            peak as f64 / f64::from(1u32 << 20),
        );
    }
    scanned(&ws, runs, &generation);
}

/// A scanned page: OCR by Tesseract in the gateway's bounded child process
/// (`gateway::ocr`) against the same Tesseract run directly on the same
/// image, and OCR + review through the default policy; then the same page as
/// an image-only PDF (rasterised by pdftoppm first).
fn scanned(ws: &Path, runs: usize, generation: &gateway::review::Generation) {
    let ocr = Ocr::load(OcrSettings::default());
    if let Err(e) = ocr.available() {
        println!("\nScanned page: not measured ({e}).");
        return;
    }
    let dir = ws.join("tests/data/attachments");
    let png_path = dir.join("scanned-list.png");
    let png = std::fs::read(&png_path).expect("tests/data/attachments/scanned-list.png");
    let pdf = std::fs::read(dir.join("scanned-list.pdf")).expect("tests/data/attachments/scanned-list.pdf");
    let (direct, _) = timed(runs, || {
        let out = std::process::Command::new("tesseract")
            .arg(&png_path)
            .args(["stdout", "-l", "chi_sim+eng", "--psm", "3", "tsv"])
            .output()
            .expect("tesseract runs");
        assert!(out.status.success());
    });
    let (bounded, lines) = timed(runs, || ocr.image(&png).expect("the scan is read"));
    println!(
        "\n| scanned page | size | lines read | Tesseract directly | bounded OCR | ratio | OCR + review (default policy) | findings |"
    );
    println!("|---|---|---|---|---|---|---|---|");
    let item = ReviewItem::new("bench", "附件见下。");
    for (name, media_type, bytes, native) in
        [("名单.png", "image/png", &png, Some(direct)), ("名单（扫描，1 页）.pdf", "application/pdf", &pdf, None)]
    {
        let file = [AttachmentFile { name: name.into(), media_type: media_type.into(), bytes: bytes.clone() }];
        let (reviewed, outcome) =
            timed(runs, || generation.review_files_at(&item, &file, "2025-06-01T00:00:00Z", None));
        assert!(outcome.findings.iter().any(|f| f.kind == "mobile"), "the scan's mobile number is found");
        let (direct, ocr_time, ratio) = match native {
            Some(d) => (
                format!("{} ms", d.as_millis()),
                format!("{} ms", bounded.as_millis()),
                format!("{:.2}×", bounded.as_secs_f64() / d.as_secs_f64()),
            ),
            None => ("–".into(), "–".into(), "–".into()),
        };
        println!(
            "| {name} | {:.0} KB | {} | {direct} | {ocr_time} | {ratio} | {} ms | {} |",
            bytes.len() as f64 / 1e3,
            lines.len(),
            reviewed.as_millis(),
            outcome.findings.len()
        );
    }
}
