//! Masked copies, natively: mask, extract again, the masked text is there,
//! the original is gone, and every other segment is unchanged.

use std::io::{Cursor, Read};

use super::{ID, ID2, docx, run, xlsx, zip_of};
use crate::*;

fn edit(locator: &Locator, original: &str, replacement: &str) -> Edit {
    Edit { locator: locator.clone(), original: original.into(), replacement: replacement.into() }
}

fn locator_eq(a: &Locator, b: &Locator) -> bool {
    format!("{a:?}") == format!("{b:?}")
}

fn masked(id: &str) -> String {
    format!("{}********{}", &id[..6], &id[14..])
}

fn mask_file(name: &str, bytes: &[u8], edits: &[Edit]) -> Result<Vec<u8>, Failure> {
    mask(&Input { name: name.into(), media_type: String::new(), bytes: bytes.to_vec() }, edits, &default_bounds())
}

/// The segments other than those at `changed` locators, as (locator, text).
fn others(x: &Extraction, changed: &[&Locator]) -> Vec<String> {
    x.segments
        .iter()
        .filter(|s| !changed.iter().any(|l| locator_eq(l, &s.locator)))
        .map(|s| format!("{:?} {}", s.locator, s.text))
        .collect()
}

fn entries(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut zip = zip::ZipArchive::new(Cursor::new(bytes)).unwrap();
    (0..zip.len())
        .map(|i| {
            let mut f = zip.by_index(i).unwrap();
            let mut data = Vec::new();
            f.read_to_end(&mut data).unwrap();
            (f.name().unwrap().into_owned(), data)
        })
        .collect()
}

#[test]
fn xlsx_cells_are_masked_and_every_other_part_is_byte_identical() {
    let original = xlsx();
    let before = run("公示.xlsx", &original).unwrap();
    let c2 = before.segments.iter().find(|s| s.text == ID).unwrap().locator.clone();
    let c3 = before.segments.iter().find(|s| s.text == ID2).unwrap().locator.clone();
    assert_eq!((c2.sheet.as_deref(), c2.cell.as_deref()), (Some("公示名单"), Some("C2")));
    let copy = mask_file("公示.xlsx", &original, &[edit(&c2, ID, &masked(ID)), edit(&c3, ID2, &masked(ID2))]).unwrap();
    let after = run("公示.xlsx", &copy).unwrap();
    let text =
        |x: &Extraction, l: &Locator| x.segments.iter().find(|s| locator_eq(&s.locator, l)).map(|s| s.text.clone());
    assert_eq!(text(&after, &c2), Some(masked(ID)));
    assert_eq!(text(&after, &c3), Some(masked(ID2)));
    assert!(!after.segments.iter().any(|s| s.text.contains(ID) || s.text.contains(ID2)));
    assert_eq!(others(&after, &[&c2, &c3]), others(&before, &[&c2, &c3]));
    assert_eq!(
        format!("{:?}", after.facts),
        format!("{:?}", before.facts),
        "hidden sheet, row, format and note are still reported"
    );
    // Only the edited worksheet's part differs.
    let (old, new) = (entries(&original), entries(&copy));
    assert_eq!(old.iter().map(|e| &e.0).collect::<Vec<_>>(), new.iter().map(|e| &e.0).collect::<Vec<_>>());
    let differing: Vec<&str> = old.iter().zip(&new).filter(|(a, b)| a.1 != b.1).map(|(a, _)| a.0.as_str()).collect();
    assert_eq!(differing, ["xl/sharedStrings.xml"], "each ID is in a string of its own: masked in the table");
    // Nothing of the originals is left anywhere in the file.
    for (name, data) in &new {
        let text = String::from_utf8_lossy(data);
        assert!(!text.contains(ID) && !text.contains(ID2), "{name} still holds an ID");
    }
}

#[test]
fn xlsx_number_cells_become_string_cells_with_the_mask() {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, "电话").unwrap();
    ws.write_number(1, 0, 13812345678.0).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let before = run("电话.xlsx", &bytes).unwrap();
    let a2 = before.segments.iter().find(|s| s.text == "13812345678").unwrap().locator.clone();
    let copy = mask_file("电话.xlsx", &bytes, &[edit(&a2, "13812345678", "138****5678")]).unwrap();
    let after = run("电话.xlsx", &copy).unwrap();
    assert!(after.segments.iter().any(|s| locator_eq(&s.locator, &a2) && s.text == "138****5678"));
    assert!(!after.segments.iter().any(|s| s.text.contains("13812345678")));
}

#[test]
fn a_shared_string_also_shown_unedited_stays_and_the_edited_cell_becomes_inline() {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.write_string(0, 0, ID).unwrap();
    ws.write_string(1, 0, ID).unwrap();
    let bytes = wb.save_to_buffer().unwrap();
    let before = run("重复.xlsx", &bytes).unwrap();
    let a1 = before.segments[0].locator.clone();
    let copy = mask_file("重复.xlsx", &bytes, &[edit(&a1, ID, &masked(ID))]).unwrap();
    let after = run("重复.xlsx", &copy).unwrap();
    let texts: Vec<&str> =
        after.segments.iter().filter(|s| s.locator.part == Part::Cell).map(|s| s.text.as_str()).collect();
    assert_eq!(texts, [masked(ID).as_str(), ID], "A2 was not asked for and still shows it");
    // Both asked for: the entry itself is masked.
    let a2 = before.segments[1].locator.clone();
    let copy = mask_file("重复.xlsx", &bytes, &[edit(&a1, ID, &masked(ID)), edit(&a2, ID, &masked(ID))]).unwrap();
    assert!(!entries(&copy).iter().any(|(_, d)| String::from_utf8_lossy(d).contains(ID)));
}

#[test]
fn a_workbook_with_value_caches_is_refused() {
    let original = xlsx();
    let mut parts = entries(&original);
    parts.push(("xl/pivotCache/pivotCacheRecords1.xml".into(), format!("<r><s v=\"{ID}\"/></r>").into_bytes()));
    let refs: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    let bytes = zip_of(&refs);
    let before = run("公示.xlsx", &bytes).unwrap();
    let c2 = before.segments.iter().find(|s| s.text == ID).unwrap().locator.clone();
    let f = mask_file("公示.xlsx", &bytes, &[edit(&c2, ID, &masked(ID))]).unwrap_err();
    assert!(f.message.contains("缓存"), "{f:?}");
}

#[test]
fn a_text_not_at_its_locator_is_refused_never_guessed() {
    let original = xlsx();
    let before = run("公示.xlsx", &original).unwrap();
    let c2 = before.segments.iter().find(|s| s.text == ID).unwrap().locator.clone();
    // ID2 is in C3, not C2.
    let f = mask_file("公示.xlsx", &original, &[edit(&c2, ID2, &masked(ID2))]).unwrap_err();
    assert!(f.message.contains("找不到要打码的原文"), "{f:?}");
    let mut z9 = c2.clone();
    z9.cell = Some("Z9".into());
    assert!(mask_file("公示.xlsx", &original, &[edit(&z9, ID, "x")]).is_err());
    let mut elsewhere = c2.clone();
    elsewhere.file = "别的.xlsx".into();
    assert!(mask_file("公示.xlsx", &original, &[edit(&elsewhere, ID, "x")]).is_err());
    let mut in_pdf = c2.clone();
    in_pdf.file = "公示.pdf".into();
    let pdf = mask_file("公示.pdf", b"%PDF-1.7 ...", &[edit(&in_pdf, ID, "x")]).unwrap_err();
    assert_eq!(pdf.message, NOT_MASKABLE);
}

#[test]
fn csv_is_rewritten_in_its_own_encoding() {
    for (name, bytes) in [
        ("utf8.csv", format!("姓名,身份证号\n张某,\"{ID}\"\n李某,{ID2}\n").into_bytes()),
        (
            "gbk.csv",
            encoding_rs::GB18030.encode(&format!("姓名,身份证号\r\n张某,{ID}\r\n李某,{ID2}\r\n")).0.into_owned(),
        ),
    ] {
        let before = run(name, &bytes).unwrap();
        let b2 = before.segments.iter().find(|s| s.text == ID).unwrap().locator.clone();
        let copy = mask_file(name, &bytes, &[edit(&b2, ID, &masked(ID))]).unwrap();
        let after = run(name, &copy).unwrap();
        assert!(after.segments.iter().any(|s| locator_eq(&s.locator, &b2) && s.text == masked(ID)), "{name}");
        assert!(!after.segments.iter().any(|s| s.text.contains(ID)));
        assert_eq!(others(&after, &[&b2]), others(&before, &[&b2]), "{name}");
        let expected_len = bytes.len(); // the mask has as many characters as the ID
        assert_eq!(copy.len(), expected_len, "{name}: only the cell changed");
    }
}

#[test]
fn docx_runs_are_rewritten_even_when_the_match_spans_runs() {
    let w = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main""#;
    let (a, b) = ID.split_at(7);
    let document = format!(
        r#"<?xml version="1.0"?><w:document {w}><w:body><w:p><w:r><w:t>公示名单</w:t></w:r></w:p><w:p><w:r><w:t xml:space="preserve">张某 身份证号{a}</w:t></w:r><w:r><w:rPr><w:b/></w:rPr><w:t>{b}，住址略</w:t></w:r></w:p><w:p><w:r><w:t>李某 {ID2}</w:t></w:r></w:p></w:body></w:document>"#
    );
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"/>"#;
    let bytes = zip_of(&[("[Content_Types].xml", types.as_bytes()), ("word/document.xml", document.as_bytes())]);
    let before = run("名单.docx", &bytes).unwrap();
    let p2 = before.segments.iter().find(|s| s.text.contains(ID)).unwrap().locator.clone();
    let p3 = before.segments.iter().find(|s| s.text.contains(ID2)).unwrap().locator.clone();
    let copy = mask_file("名单.docx", &bytes, &[edit(&p2, ID, &masked(ID)), edit(&p3, ID2, &masked(ID2))]).unwrap();
    let after = run("名单.docx", &copy).unwrap();
    let text = |l: &Locator| after.segments.iter().find(|s| locator_eq(&s.locator, l)).unwrap().text.clone();
    assert_eq!(text(&p2), format!("张某 身份证号{}，住址略", masked(ID)));
    assert_eq!(text(&p3), format!("李某 {}", masked(ID2)));
    assert_eq!(others(&after, &[&p2, &p3]), others(&before, &[&p2, &p3]));
    // The second run keeps its formatting and the rest of its text.
    let xml = String::from_utf8(entries(&copy).into_iter().find(|e| e.0 == "word/document.xml").unwrap().1).unwrap();
    assert!(xml.contains("<w:rPr><w:b/></w:rPr><w:t>，住址略</w:t>"), "{xml}");
}

#[test]
fn docx_comments_and_tracked_deletions_are_not_rewritten() {
    let bytes = docx();
    let x = run("材料.docx", &bytes).unwrap();
    let deletion = x.segments.iter().find(|s| s.locator.part == Part::Deletion).unwrap();
    let f = mask_file("材料.docx", &bytes, &[edit(&deletion.locator, ID, &masked(ID))]).unwrap_err();
    assert!(f.message.contains("批注、修订和隐藏文字"), "{f:?}");
}

#[test]
fn an_oversized_copy_is_a_limit_failure() {
    let original = xlsx();
    let before = run("公示.xlsx", &original).unwrap();
    let c2 = before.segments.iter().find(|s| s.text == ID).unwrap().locator.clone();
    let mut bounds = default_bounds();
    bounds.max_total_bytes = 1024;
    let input = Input { name: "公示.xlsx".into(), media_type: String::new(), bytes: original };
    let f = mask(&input, &[edit(&c2, ID, &masked(ID))], &bounds).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded);
}
