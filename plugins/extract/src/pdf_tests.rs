//! The PDF reader's tests, on PDFs written here with lopdf: CJK text in a
//! Type0/Identity-H font with a ToUnicode CMap (as Chinese office software
//! writes it), a failed redaction, invisible and off-page text, a Redact
//! annotation, links, comments, embedded files, metadata, an image-only
//! page, an incremental update, an encrypted and a malformed file.

use lopdf::{Dictionary, Document, Object, Stream, StringFormat, dictionary};

use crate::tests::ID;
use crate::*;

/// A page to write: its content stream, annotations, and whether it has an
/// image XObject `/Im1` (a 1×1 grey pixel) in its resources.
pub(crate) struct PdfPage {
    pub(crate) content: String,
    pub(crate) annots: Vec<Dictionary>,
    pub(crate) image: bool,
}

pub(crate) fn page(content: impl Into<String>) -> PdfPage {
    PdfPage { content: content.into(), annots: Vec::new(), image: false }
}

/// `text` as a hex string of 2-byte codes for the Identity-H font `/F1`
/// (the code of a character is its UTF-16 unit, so the test can write it;
/// only the ToUnicode CMap says what it means).
pub(crate) fn cjk(text: &str) -> String {
    let hex: String = text.encode_utf16().map(|u| format!("{u:04X}")).collect();
    format!("<{hex}>")
}

/// A text line shown with `/F1` at (x, y).
pub(crate) fn line(x: f32, y: f32, text: &str) -> String {
    format!("BT /F1 12 Tf {x} {y} Td {} Tj ET\n", cjk(text))
}

/// A ToUnicode CMap mapping each character of `alphabet` (its code is its
/// UTF-16 unit) to itself.
fn to_unicode(alphabet: &str) -> Vec<u8> {
    let mut units: Vec<u16> = alphabet.encode_utf16().collect();
    units.sort_unstable();
    units.dedup();
    let mut cmap = String::from(
        "/CIDInit /ProcSet findresource begin\n12 dict begin\nbegincmap\n/CIDSystemInfo << /Registry (Adobe) /Ordering (UCS) /Supplement 0 >> def\n/CMapName /Adobe-Identity-UCS def\n/CMapType 2 def\n1 begincodespacerange\n<0000> <FFFF>\nendcodespacerange\n",
    );
    for chunk in units.chunks(100) {
        cmap.push_str(&format!("{} beginbfchar\n", chunk.len()));
        for u in chunk {
            cmap.push_str(&format!("<{u:04X}> <{u:04X}>\n"));
        }
        cmap.push_str("endbfchar\n");
    }
    cmap.push_str("endcmap\nCMapName currentdict /CMap defineresource pop\nend\nend\n");
    cmap.into_bytes()
}

fn type0(doc: &mut Document, to_unicode_of: Option<&str>) -> Object {
    let descendant = doc.add_object(dictionary! {
        "Type" => "Font",
        "Subtype" => "CIDFontType2",
        "BaseFont" => "SimSun",
        "CIDSystemInfo" => dictionary! {
            "Registry" => Object::string_literal("Adobe"),
            "Ordering" => Object::string_literal("Identity"),
            "Supplement" => 0,
        },
        "DW" => 1000,
    });
    let mut font = dictionary! {
        "Type" => "Font",
        "Subtype" => "Type0",
        "BaseFont" => "SimSun",
        "Encoding" => "Identity-H",
        "DescendantFonts" => vec![descendant.into()],
    };
    if let Some(alphabet) = to_unicode_of {
        let mut cmap = Stream::new(Dictionary::new(), to_unicode(alphabet));
        cmap.compress().unwrap();
        font.set("ToUnicode", doc.add_object(cmap));
    }
    doc.add_object(font).into()
}

/// Writes a PDF 1.4 (classic xref table) of `pages` with fonts `/F1`
/// (Type0, Identity-H, ToUnicode for `alphabet`), `/F2` (Type0, Identity-H,
/// no ToUnicode) and `/F3` (Helvetica, WinAnsi), and the graphics states
/// `/Translucent` (fill alpha 0.4), `/Multiply` and `/Opaque`; `finish` may add to the
/// document (catalog entries, Info; it gets the page ids) before it is saved. Content streams are
/// Flate-compressed.
pub(crate) fn write_pdf(
    pages: Vec<PdfPage>,
    alphabet: &str,
    finish: impl FnOnce(&mut Document, &mut Dictionary, &[lopdf::ObjectId]),
) -> Vec<u8> {
    let mut doc = Document::with_version("1.4");
    let pages_id = doc.new_object_id();
    let f1 = type0(&mut doc, Some(alphabet));
    let f2 = type0(&mut doc, None);
    let f3 = doc.add_object(dictionary! {
        "Type" => "Font", "Subtype" => "Type1", "BaseFont" => "Helvetica", "Encoding" => "WinAnsiEncoding",
    });
    let image = doc.add_object(Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Image", "Width" => 1, "Height" => 1,
            "ColorSpace" => "DeviceGray", "BitsPerComponent" => 8,
        },
        vec![0x80],
    ));
    let mut kids = Vec::new();
    let mut ids = Vec::new();
    for p in pages {
        let mut content = Stream::new(Dictionary::new(), p.content.into_bytes());
        content.compress().unwrap();
        let content = doc.add_object(content);
        let mut resources = dictionary! {
            "Font" => dictionary! { "F1" => f1.clone(), "F2" => f2.clone(), "F3" => f3 },
            // A translucent fill, a multiplied one (how a highlight is
            // painted over text) and an opaque one.
            "ExtGState" => dictionary! {
                "Translucent" => dictionary! { "Type" => "ExtGState", "ca" => 0.4 },
                "Multiply" => dictionary! { "Type" => "ExtGState", "BM" => "Multiply" },
                "Opaque" => dictionary! { "Type" => "ExtGState", "ca" => 1, "BM" => "Normal" },
            },
        };
        if p.image {
            resources.set("XObject", dictionary! { "Im1" => image });
        }
        let mut page = dictionary! {
            "Type" => "Page",
            "Parent" => pages_id,
            "MediaBox" => vec![0.into(), 0.into(), 595.into(), 842.into()],
            "Contents" => content,
            "Resources" => resources,
        };
        if !p.annots.is_empty() {
            let annots: Vec<Object> = p.annots.into_iter().map(|a| doc.add_object(a).into()).collect();
            page.set("Annots", annots);
        }
        let id = doc.add_object(page);
        ids.push(id);
        kids.push(id.into());
    }
    let count = kids.len() as i64;
    doc.objects
        .insert(pages_id, Object::Dictionary(dictionary! { "Type" => "Pages", "Kids" => kids, "Count" => count }));
    let mut catalog = dictionary! { "Type" => "Catalog", "Pages" => pages_id };
    finish(&mut doc, &mut catalog, &ids);
    let catalog = doc.add_object(catalog);
    doc.trailer.set("Root", catalog);
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    bytes
}

/// The 公示 whose "redaction" is a black box drawn over text that is still
/// there: the applicant's 身份证 number on page 1 under `0 g … re f`.
pub(crate) fn pdf_redaction() -> Vec<u8> {
    let covered = format!("申请人张某 身份证号{ID}");
    let alphabet = format!("关于低保对象的公示{covered}特此公示。");
    let content = format!(
        "{}{}{}q 0 g 60 690 420 30 re f Q\n",
        line(72.0, 780.0, "关于低保对象的公示"),
        line(72.0, 700.0, &covered),
        line(72.0, 600.0, "特此公示。"),
    );
    write_pdf(vec![page(content)], &alphabet, |_, _, _| {})
}

/// A plain one-page notice with nothing to find (channels deliver it).
pub(crate) fn pdf_notice() -> Vec<u8> {
    let text = "关于开展政务公开业务培训的通知";
    write_pdf(vec![page(line(72.0, 780.0, text))], text, |_, _, _| {})
}

/// A 公示 whose second page is a scan: an image and no text layer.
pub(crate) fn pdf_image_page() -> Vec<u8> {
    let alphabet = "附件：低保对象名单（扫描件）";
    let mut scan = page("q 595 0 0 842 0 0 cm /Im1 Do Q\n");
    scan.image = true;
    write_pdf(vec![page(line(72.0, 780.0, alphabet)), scan], alphabet, |_, _, _| {})
}

fn string(s: &str) -> Object {
    Object::String(s.as_bytes().to_vec(), StringFormat::Literal)
}

/// A PDF text string in UTF-16BE with BOM (how CJK titles are written).
fn text_string(s: &str) -> Object {
    let mut b = vec![0xFE, 0xFF];
    b.extend(s.encode_utf16().flat_map(u16::to_be_bytes));
    Object::String(b, StringFormat::Hexadecimal)
}

fn file_spec(doc: &mut Document, name: &str, bytes: &[u8]) -> Dictionary {
    let mut stream = Stream::new(dictionary! { "Type" => "EmbeddedFile" }, bytes.to_vec());
    stream.compress().unwrap();
    let ef = doc.add_object(stream);
    dictionary! { "Type" => "Filespec", "F" => string("file.bin"), "UF" => text_string(name), "EF" => dictionary! { "F" => ef } }
}

/// Every other hidden thing a PDF can carry, one page each.
pub(crate) fn pdf_hidden() -> Vec<u8> {
    let alphabet = "正文可见内部联系人王某页面之外的备注涂黑注释下的姓名李某扫描识别的文字";
    // Page 1: visible text, invisible text (render mode 3), text far
    // outside the MediaBox, text under an unapplied Redact annotation, a
    // link to an intranet address, a sticky note, an attached file.
    let mut p1 = page(format!(
        "{}q BT 3 Tr /F1 12 Tf 72 700 Td {} Tj ET Q\n{}{}BT /F3 10 Tf 72 500 Td (Contact: see list) Tj ET\n",
        line(72.0, 780.0, "正文可见"),
        cjk("内部联系人王某"),
        line(-400.0, 300.0, "页面之外的备注"),
        line(72.0, 640.0, "涂黑注释下的姓名李某"),
    ));
    let mut redact = dictionary! { "Type" => "Annot", "Subtype" => "Redact" };
    redact.set("Rect", vec![60.into(), 630.into(), 400.into(), 660.into()]);
    let mut link = dictionary! { "Type" => "Annot", "Subtype" => "Link", "A" => dictionary! { "S" => "URI", "URI" => string("http://10.1.2.3/oa/list.xls") } };
    link.set("Rect", vec![72.into(), 500.into(), 200.into(), 512.into()]);
    let note = dictionary! { "Type" => "Annot", "Subtype" => "Text", "Contents" => text_string("核实后删除此人电话13800138000"), "T" => text_string("王科长"), "Rect" => vec![0.into(), 0.into(), 10.into(), 10.into()] };
    p1.annots = vec![redact, link, note];
    // Page 2: text in a Type0 font without ToUnicode: not guessed at.
    let p2 = page("BT /F2 12 Tf 72 700 Td <0102030405> Tj ET\n");
    // Page 3: a scan with an OCR layer (invisible text over the image): the
    // page's own text, not hidden content.
    let mut p3 =
        page(format!("q 595 0 0 842 0 0 cm /Im1 Do Q\nBT 3 Tr /F1 12 Tf 72 700 Td {} Tj ET\n", cjk("扫描识别的文字")));
    p3.image = true;
    write_pdf(vec![p1, p2, p3], alphabet, |doc, catalog, pages| {
        let attached = file_spec(doc, "名单.csv", format!("姓名,身份证号\n张某,{ID}\n").as_bytes());
        let annot = dictionary! { "Type" => "Annot", "Subtype" => "FileAttachment", "FS" => attached, "Rect" => vec![0.into(), 0.into(), 10.into(), 10.into()] };
        let first_page = pages[0];
        let annot = doc.add_object(annot);
        if let Ok(Object::Array(a)) = doc.get_dictionary_mut(first_page).unwrap().get_mut(b"Annots") {
            a.push(annot.into());
        }
        let embedded = file_spec(doc, "附表.txt", "联系电话 13912345678".as_bytes());
        catalog.set("Names", dictionary! { "EmbeddedFiles" => dictionary! { "Names" => vec![text_string("附表.txt"), embedded.into()] } });
        let xmp = r#"<?xpacket begin="" id="W5M0MpCehiHzreSzNTczkc9d"?><x:xmpmeta xmlns:x="adobe:ns:meta/"><rdf:RDF xmlns:rdf="http://www.w3.org/1999/02/22-rdf-syntax-ns#"><rdf:Description xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:xmp="http://ns.adobe.com/xap/1.0/" xmp:CreatorTool="WPS 文字"><dc:creator><rdf:Seq><rdf:li>张科员</rdf:li></rdf:Seq></dc:creator></rdf:Description></rdf:RDF></x:xmpmeta><?xpacket end="w"?>"#;
        let meta = doc
            .add_object(Stream::new(dictionary! { "Type" => "Metadata", "Subtype" => "XML" }, xmp.as_bytes().to_vec()));
        catalog.set("Metadata", meta);
        let info = doc.add_object(dictionary! { "Author" => text_string("李科员"), "Producer" => string("OA export 3.1"), "CreationDate" => string("D:20250102") });
        doc.trailer.set("Info", info);
    })
}

/// `bytes` with an incremental update appended that replaces object `id`
/// (a page's content stream) with `content`: a new xref section whose
/// trailer points back to the old one (`/Prev`).
pub(crate) fn append_revision(bytes: &[u8], id: u32, content: &str) -> Vec<u8> {
    let tail = String::from_utf8_lossy(&bytes[bytes.len().saturating_sub(64)..]).into_owned();
    let prev: usize = tail.split("startxref").nth(1).unwrap().split_whitespace().next().unwrap().parse().unwrap();
    let doc = Document::load_mem(bytes).unwrap();
    let root = doc.trailer.get(b"Root").unwrap().as_reference().unwrap();
    let size = doc.trailer.get(b"Size").unwrap().as_i64().unwrap();
    let mut out = bytes.to_vec();
    out.push(b'\n');
    let at = out.len();
    out.extend(
        format!("{id} 0 obj\n<< /Length {} >>\nstream\n{content}\nendstream\nendobj\n", content.len() + 1).as_bytes(),
    );
    let xref = out.len();
    out.extend(
        format!(
            "xref\n{id} 1\n{at:010} 00000 n \ntrailer\n<< /Size {size} /Root {} {} R /Prev {prev} >>\nstartxref\n{xref}\n%%EOF\n",
            root.0, root.1
        )
        .as_bytes(),
    );
    out
}

/// A notice whose first revision named an applicant with his 身份证 number;
/// an incremental update replaced the page's content, and the old content
/// is still in the file.
pub(crate) fn pdf_revised() -> Vec<u8> {
    let first = format!("申请人张某身份证号{ID}");
    let alphabet = format!("{first}经审核符合条件");
    let v1 = write_pdf(vec![page(line(72.0, 700.0, &first))], &alphabet, |_, _, _| {});
    let doc = Document::load_mem(&v1).unwrap();
    let page_id = *doc.get_pages().get(&1).unwrap();
    let content = doc.get_page_contents(page_id)[0];
    append_revision(&v1, content.0, &line(72.0, 700.0, "经审核符合条件"))
}

fn run(name: &str, bytes: &[u8]) -> Result<Extraction, Failure> {
    extract(&Input { name: name.into(), media_type: String::new(), bytes: bytes.to_vec() }, &default_bounds())
}

fn facts(x: &Extraction, kind: FactKind) -> Vec<&Fact> {
    x.facts.iter().filter(|f| f.kind == kind).collect()
}

fn seg<'e>(x: &'e Extraction, part: Part, needle: &str) -> &'e Segment {
    x.segments
        .iter()
        .find(|s| s.locator.part == part && s.text.contains(needle))
        .unwrap_or_else(|| panic!("no {part:?} segment with {needle}: {:#?}", x.segments))
}

#[test]
fn cjk_text_round_trips_through_tounicode_with_pages_and_lines() {
    let x = run("通知.pdf", &pdf_image_page()).unwrap();
    assert_eq!(x.format, "pdf");
    let s = seg(&x, Part::Body, "附件");
    assert_eq!(s.text, "附件：低保对象名单（扫描件）");
    assert_eq!((s.locator.page, s.locator.paragraph), (Some(1), Some(1)));
}

#[test]
fn text_under_a_black_box_is_covered_text_with_its_page() {
    let x = run("公示.pdf", &pdf_redaction()).unwrap();
    let covered = facts(&x, FactKind::CoveredText);
    assert_eq!(covered.len(), 1, "{:#?}", x.facts);
    assert_eq!(covered[0].locator.page, Some(1));
    assert!(covered[0].detail.contains(ID), "{}", covered[0].detail);
    // The covered text goes to the plugins, with its page.
    let s = seg(&x, Part::HiddenText, ID);
    assert_eq!(s.locator.page, Some(1));
    // What the box does not cover is page text, in order.
    let body: Vec<&str> = x.segments.iter().filter(|s| s.locator.part == Part::Body).map(|s| s.text.as_str()).collect();
    assert_eq!(body, ["关于低保对象的公示", "特此公示。"]);
}

/// A white box painted over the text: a "white-out" redaction.
pub(crate) fn pdf_white_box() -> Vec<u8> {
    let covered = format!("联系电话 13800138000 身份证号{ID}");
    let alphabet = format!("名单{covered}");
    let content = format!(
        "{}{}q /Opaque gs 1 1 1 rg 60 690 420 30 re f Q\n",
        line(72.0, 780.0, "名单"),
        line(72.0, 700.0, &covered)
    );
    write_pdf(vec![page(content)], &alphabet, |_, _, _| {})
}

#[test]
fn text_under_a_white_box_is_covered_text() {
    let x = run("名单.pdf", &pdf_white_box()).unwrap();
    let covered = facts(&x, FactKind::CoveredText);
    assert_eq!(covered.len(), 1, "{:#?}", x.facts);
    assert!(covered[0].detail.contains(ID), "{}", covered[0].detail);
    assert_eq!(covered[0].locator.detail.as_deref(), Some("被不透明色块（如白框）遮盖但仍可提取的文字"));
    assert_eq!(seg(&x, Part::HiddenText, "13800138000").locator.page, Some(1));
    assert_eq!(seg(&x, Part::Body, "名单").text, "名单");
    // Any opaque colour hides, in any colour space.
    for fill in ["0.9 g", "1 1 0.8 rg", "0 0 0 0 k", "/DeviceRGB cs 1 1 1 sc"] {
        let content = format!("{}q {fill} 60 690 420 30 re f Q\n", line(72.0, 700.0, "表格标题"));
        let x = run("表.pdf", &write_pdf(vec![page(content)], "表格标题", |_, _, _| {})).unwrap();
        assert_eq!(facts(&x, FactKind::CoveredText).len(), 1, "{fill}: {:#?}", x.facts);
    }
}

#[test]
fn a_box_painted_before_the_text_or_see_through_covers_nothing() {
    let alphabet = "表格标题";
    let text = line(72.0, 700.0, "表格标题");
    for content in [
        // A dark cell background drawn first, text on top (white text on a
        // dark header is visible).
        format!("q 0 g 60 690 420 30 re f Q\n{text}"),
        // A light cell background and a white page background drawn first.
        format!("q 1 g 0 0 595 842 re f 0.85 0.9 1 rg 60 690 420 30 re f Q\n{text}"),
        // A highlight over the text: translucent, or multiplied in.
        format!("{text}q /Translucent gs 1 1 0 rg 60 690 420 30 re f Q\n"),
        format!("{text}q /Multiply gs 1 1 0 rg 60 690 420 30 re f Q\n"),
        // A box outlined, not filled; a pattern fill.
        format!("{text}q 1 g 60 690 420 30 re S Q\n"),
        format!("{text}q /Pattern cs /P1 scn 60 690 420 30 re f Q\n"),
    ] {
        let x = run("表.pdf", &write_pdf(vec![page(content)], alphabet, |_, _, _| {})).unwrap();
        assert!(facts(&x, FactKind::CoveredText).is_empty(), "{:#?}", x.facts);
        assert_eq!(seg(&x, Part::Body, "表格标题").locator.page, Some(1));
    }
}

#[test]
fn invisible_offpage_redact_annotations_links_notes_files_and_metadata() {
    let x = run("通知.pdf", &pdf_hidden()).unwrap();
    let hidden = facts(&x, FactKind::HiddenText);
    assert!(hidden.iter().any(|f| f.detail.contains("内部联系人王某") && f.locator.page == Some(1)), "{hidden:#?}");
    assert!(hidden.iter().any(|f| f.detail.contains("页面之外的备注")), "{hidden:#?}");
    assert_eq!(hidden.len(), 2, "the OCR layer over the scan on page 3 is not hidden: {hidden:#?}");
    assert_eq!(seg(&x, Part::HiddenText, "王某").locator.page, Some(1));
    let redacted = facts(&x, FactKind::CoveredText);
    assert_eq!(redacted.len(), 1, "{redacted:#?}");
    assert!(redacted[0].detail.contains("李某"));
    assert_eq!(seg(&x, Part::Body, "Contact: see list").locator.page, Some(1));
    assert_eq!(seg(&x, Part::Body, "扫描识别的文字").locator.page, Some(3));
    let links = facts(&x, FactKind::Link);
    assert_eq!(links.len(), 1);
    assert_eq!((links[0].detail.as_str(), links[0].locator.page), ("http://10.1.2.3/oa/list.xls", Some(1)));
    let note = seg(&x, Part::Comment, "13800138000");
    assert_eq!((note.locator.page, note.locator.detail.as_deref()), (Some(1), Some("Text，王科长")));
    assert_eq!(facts(&x, FactKind::Comment).len(), 1);
    // Page 2's font has no ToUnicode: not extracted, never guessed.
    let unread = facts(&x, FactKind::NotExtracted);
    assert_eq!(unread.len(), 1, "{unread:#?}");
    assert_eq!(unread[0].locator.page, Some(2));
    assert!(!x.segments.iter().any(|s| s.locator.page == Some(2)), "{:#?}", x.segments);
    // Embedded files: a fact each and read as files of their own.
    let files = facts(&x, FactKind::EmbeddedFile);
    assert_eq!(files.len(), 2, "{files:#?}");
    let csv = seg(&x, Part::Cell, ID);
    assert_eq!((csv.locator.file.as_str(), csv.locator.cell.as_deref()), ("通知.pdf/名单.csv", Some("B2")));
    assert_eq!(seg(&x, Part::Body, "13912345678").locator.file, "通知.pdf/附表.txt");
    // Info and XMP.
    let props: Vec<&str> = facts(&x, FactKind::DocumentProperty).iter().map(|f| f.detail.as_str()).collect();
    assert!(props.contains(&"Author：李科员"), "{props:?}");
    assert!(props.contains(&"Producer：OA export 3.1"), "{props:?}");
    assert!(props.iter().any(|p| p.contains("张科员")), "{props:?}");
    assert!(props.iter().any(|p| p.contains("WPS 文字")), "{props:?}");
    assert!(!props.iter().any(|p| p.contains("D:2025")), "dates are bookkeeping: {props:?}");
}

#[test]
fn an_image_only_page_is_an_image_page_fact() {
    let x = run("公示.pdf", &pdf_image_page()).unwrap();
    let pages = facts(&x, FactKind::ImagePage);
    assert_eq!(pages.len(), 1, "{:#?}", x.facts);
    assert_eq!(pages[0].locator.page, Some(2));
    assert!(facts(&x, FactKind::NotExtracted).is_empty());
}

#[test]
fn earlier_revisions_are_a_fact_and_their_dropped_text_is_read() {
    let bytes = pdf_revised();
    let x = run("通知.pdf", &bytes).unwrap();
    assert_eq!(seg(&x, Part::Body, "经审核").text, "经审核符合条件");
    let revs = facts(&x, FactKind::EarlierRevision);
    assert_eq!(revs.len(), 1, "{:#?}", x.facts);
    assert!(revs[0].detail.contains("1 个早期版本"), "{}", revs[0].detail);
    let old = seg(&x, Part::Deletion, ID);
    assert_eq!((old.locator.page, old.locator.detail.as_deref()), (Some(1), Some("第 1 版")));
    // One revision: no fact.
    assert!(facts(&run("a.pdf", &pdf_redaction()).unwrap(), FactKind::EarlierRevision).is_empty());
}

#[test]
fn encrypted_malformed_and_over_bound_pdfs_fail_closed() {
    let bytes = pdf_redaction();
    // An RC4 security handler whose user password is not empty.
    let mut enc = Document::load_mem(&bytes).unwrap();
    let handler = enc.add_object(dictionary! {
        "Filter" => "Standard", "V" => 1, "R" => 2, "P" => -4,
        "O" => Object::String(vec![0x11; 32], StringFormat::Hexadecimal),
        "U" => Object::String(vec![0x22; 32], StringFormat::Hexadecimal),
    });
    enc.trailer.set("Encrypt", handler);
    enc.trailer.set(
        "ID",
        vec![
            Object::String(vec![1; 16], StringFormat::Hexadecimal),
            Object::String(vec![1; 16], StringFormat::Hexadecimal),
        ],
    );
    let mut encrypted = Vec::new();
    enc.save_to(&mut encrypted).unwrap();
    assert_eq!(run("密.pdf", &encrypted).unwrap_err().kind, FailureKind::Encrypted);

    let f = run("坏.pdf", b"%PDF-1.7\n1 0 obj << /Type /Catalog >>\nendobj\n%%EOF").unwrap_err();
    assert_eq!(f.kind, FailureKind::Malformed, "{}", f.message);
    assert_eq!(run("坏.pdf", b"%PDF-").unwrap_err().kind, FailureKind::Malformed);

    let two = pdf_image_page();
    let mut b = default_bounds();
    b.max_pages = 1;
    let input = Input { name: "长.pdf".into(), media_type: String::new(), bytes: two };
    let f = extract(&input, &b).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded);
    assert!(f.message.contains("页"), "{}", f.message);
    let mut b = default_bounds();
    b.max_text_bytes = 16;
    let input = Input { name: "长.pdf".into(), media_type: String::new(), bytes };
    assert_eq!(extract(&input, &b).unwrap_err().kind, FailureKind::LimitExceeded);
}

#[test]
fn a_form_drawing_itself_and_a_flate_bomb_stay_bounded() {
    // A form XObject that draws itself: followed to a fixed depth only.
    let mut doc = Document::load_mem(&pdf_redaction()).unwrap();
    let page_id = *doc.get_pages().get(&1).unwrap();
    let form_id = doc.new_object_id();
    let form = Stream::new(
        dictionary! {
            "Type" => "XObject", "Subtype" => "Form", "BBox" => vec![0.into(), 0.into(), 10.into(), 10.into()],
            "Resources" => dictionary! { "XObject" => dictionary! { "X" => form_id } },
        },
        b"/X Do /X Do".to_vec(),
    );
    doc.objects.insert(form_id, Object::Stream(form));
    let content = doc.get_page_contents(page_id)[0];
    doc.objects.insert(content, Object::Stream(Stream::new(Dictionary::new(), b"/X Do".to_vec())));
    let resources = doc.get_dictionary_mut(page_id).unwrap().get_mut(b"Resources").unwrap().as_dict_mut().unwrap();
    resources.set("XObject", dictionary! { "X" => form_id });
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    // 2^12 form draws of a tiny stream each cost a minimum: the budget
    // (not the deadline) stops it.
    let mut b = default_bounds();
    b.max_total_bytes = 1 << 20;
    let input = Input { name: "循环.pdf".into(), media_type: String::new(), bytes };
    let f = extract(&input, &b).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded, "{}", f.message);

    // A content stream that inflates past the budget.
    let mut doc = Document::load_mem(&pdf_redaction()).unwrap();
    let page_id = *doc.get_pages().get(&1).unwrap();
    let content = doc.get_page_contents(page_id)[0];
    let mut bomb = Stream::new(Dictionary::new(), vec![b' '; 8 << 20]);
    bomb.compress().unwrap();
    doc.objects.insert(content, Object::Stream(bomb));
    let mut bytes = Vec::new();
    doc.save_to(&mut bytes).unwrap();
    let mut b = default_bounds();
    b.max_total_bytes = 1 << 20;
    let input = Input { name: "炸弹.pdf".into(), media_type: String::new(), bytes };
    assert_eq!(extract(&input, &b).unwrap_err().kind, FailureKind::LimitExceeded);
}
