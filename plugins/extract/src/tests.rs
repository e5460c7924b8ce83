//! The extractor's own tests, natively, on files made here with writer
//! crates (the same files are committed under `tests/data/attachments/` for
//! the host and end-to-end tests: `cargo test -p extract -- --ignored
//! write_fixtures` rewrites them).

use std::io::{Cursor, Write};

use zip::write::SimpleFileOptions;

use crate::*;

/// A valid 18-digit resident ID (checksum MOD 11-2).
pub(crate) const ID: &str = "320102198001011238";
pub(crate) const ID2: &str = "440305199003154568";

pub(crate) fn zip_of(files: &[(&str, &[u8])]) -> Vec<u8> {
    let mut w = zip::ZipWriter::new(Cursor::new(Vec::new()));
    let opts = SimpleFileOptions::default().compression_method(zip::CompressionMethod::Deflated);
    for (name, bytes) in files {
        w.start_file(*name, opts).unwrap();
        w.write_all(bytes).unwrap();
    }
    w.finish().unwrap().into_inner()
}

/// A DOCX whose drafting round left a tracked deletion holding an ID
/// number, a tracked insertion, a comment, hidden text, a 内部资料 header,
/// author and company.
pub(crate) fn docx() -> Vec<u8> {
    let w = r#"xmlns:w="http://schemas.openxmlformats.org/wordprocessingml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships""#;
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>
<w:document {w}><w:body>
<w:p><w:r><w:t>关于低保对象的公示</w:t></w:r></w:p>
<w:p><w:r><w:t xml:space="preserve">申请人张某，</w:t></w:r><w:del w:id="1" w:author="李科员" w:date="2025-01-02T09:00:00Z"><w:r><w:delText>身份证号{ID}，</w:delText></w:r></w:del><w:ins w:id="2" w:author="王科长"><w:r><w:t>经审核符合条件。</w:t></w:r></w:ins><w:commentRangeStart w:id="0"/><w:r><w:t>特此公示。</w:t></w:r><w:commentRangeEnd w:id="0"/></w:p>
<w:p><w:r><w:rPr><w:vanish/></w:rPr><w:t>内部掌握：家庭住址见附表</w:t></w:r></w:p>
<w:p><w:hyperlink r:id="rId9"><w:r><w:t>详见政策原文</w:t></w:r></w:hyperlink></w:p>
</w:body></w:document>"#
    );
    let comments = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><w:comments {w}><w:comment w:id="0" w:author="王科长"><w:p><w:r><w:t>此人电话13800138000，核实后删除</w:t></w:r></w:p></w:comment></w:comments>"#
    );
    let header =
        format!(r#"<?xml version="1.0"?><w:hdr {w}><w:p><w:r><w:t>内部资料 注意保存</w:t></w:r></w:p></w:hdr>"#);
    let rels = r#"<?xml version="1.0"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId9" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/hyperlink" Target="http://10.1.2.3/oa/list.xls" TargetMode="External"/></Relationships>"#;
    let core = r#"<?xml version="1.0"?><cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" xmlns:dc="http://purl.org/dc/elements/1.1/"><dc:creator>李科员</dc:creator><cp:lastModifiedBy>王科长</cp:lastModifiedBy><cp:revision>7</cp:revision></cp:coreProperties>"#;
    let app = r#"<?xml version="1.0"?><Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties"><Company>某区民政局</Company></Properties>"#;
    let types = r#"<?xml version="1.0"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="xml" ContentType="application/xml"/></Types>"#;
    zip_of(&[
        ("[Content_Types].xml", types.as_bytes()),
        ("word/document.xml", document.as_bytes()),
        ("word/_rels/document.xml.rels", rels.as_bytes()),
        ("word/comments.xml", comments.as_bytes()),
        ("word/header1.xml", header.as_bytes()),
        ("docProps/core.xml", core.as_bytes()),
        ("docProps/app.xml", app.as_bytes()),
    ])
}

/// An XLSX 公示 with ID numbers in column C, a hidden sheet, a hidden row,
/// a `;;;` cell and a note.
pub(crate) fn xlsx() -> Vec<u8> {
    use rust_xlsxwriter::{DocProperties, Format, Note, Workbook};
    let mut wb = Workbook::new();
    wb.set_properties(&DocProperties::new().set_author("张三").set_company("某区民政局"));
    let ws = wb.add_worksheet();
    ws.set_name("公示名单").unwrap();
    for (c, h) in ["序号", "姓名", "身份证号", "金额"].iter().enumerate() {
        ws.write_string(0, c as u16, *h).unwrap();
    }
    ws.write_string(1, 0, "1").unwrap();
    ws.write_string(1, 1, "张某").unwrap();
    ws.write_string(1, 2, ID).unwrap();
    ws.write_string(2, 0, "2").unwrap();
    ws.write_string(2, 1, "李某").unwrap();
    ws.write_string(2, 2, ID2).unwrap();
    ws.write_string(3, 1, "备注：王某已退出").unwrap();
    ws.set_row_hidden(3).unwrap();
    ws.write_string_with_format(1, 3, "家庭年收入 12000 元", &Format::new().set_num_format(";;;")).unwrap();
    ws.insert_note(2, 2, &Note::new("核对后删除")).unwrap();
    let hidden = wb.add_worksheet();
    hidden.set_name("原始数据").unwrap();
    hidden.write_string(0, 0, "联系电话 13912345678").unwrap();
    hidden.set_hidden(true);
    wb.save_to_buffer().unwrap()
}

/// One BIFF8 record.
fn biff(typ: u16, data: &[u8]) -> Vec<u8> {
    let mut r = typ.to_le_bytes().to_vec();
    r.extend((data.len() as u16).to_le_bytes());
    r.extend_from_slice(data);
    r
}

/// Little-endian bytes of 16-bit values.
fn le(values: &[u16]) -> Vec<u8> {
    values.iter().flat_map(|v| v.to_le_bytes()).collect()
}

/// A BIFF8 worksheet substream: `cells` as (row, col, xf, shared string).
fn biff_sheet(cells: &[(u16, u16, u16, u32)], hidden_row: Option<u16>, hidden_cols: Option<(u16, u16)>) -> Vec<u8> {
    let mut s = biff(0x0809, &le(&[0x0600, 0x0010, 0, 0, 0, 0, 0, 0]));
    let rows = cells.iter().map(|c| c.0 + 1).max().unwrap_or(0);
    let cols = cells.iter().map(|c| c.1 + 1).max().unwrap_or(0);
    // DIMENSIONS: first row, last row + 1 (32-bit), first, last column + 1.
    s.extend(biff(0x0200, &le(&[0, 0, rows, 0, 0, cols, 0])));
    if let Some((first, last)) = hidden_cols {
        // COLINFO: first, last, width, xf, flags (fHidden), reserved.
        s.extend(biff(0x007D, &le(&[first, last, 2340, 15, 1, 0])));
    }
    if let Some(row) = hidden_row {
        // ROW: row, first and last column, height, 2 reserved, flags
        // (fDyZero | fGhostDirty), xf.
        s.extend(biff(0x0208, &le(&[row, 0, 4, 255, 0, 0, 0x0120, 15])));
    }
    for &(row, col, xf, sst) in cells {
        let mut d = le(&[row, col, xf]);
        d.extend(sst.to_le_bytes());
        s.extend(biff(0x00FD, &d));
    }
    s.extend(biff(0x000A, &[]));
    s
}

/// A legacy XLS 公示 (BIFF8 in a CFB container): names and ID numbers on a
/// visible sheet whose row 3 is hidden, column D hidden and D2 in a `;;;`
/// format, and a hidden sheet with a phone number.
pub(crate) fn xls() -> Vec<u8> {
    let strings = ["姓名", "身份证号", "张某", ID, "李某", ID2, "备注", "联系电话 13912345678"];
    let mut sst = [(strings.len() as u32).to_le_bytes(), (strings.len() as u32).to_le_bytes()].concat();
    for s in strings {
        let units: Vec<u16> = s.encode_utf16().collect();
        sst.extend((units.len() as u16).to_le_bytes());
        sst.push(1);
        sst.extend(units.iter().flat_map(|u| u.to_le_bytes()));
    }
    let bound = |state: u8, name: &str| {
        let units: Vec<u16> = name.encode_utf16().collect();
        let mut d = vec![0, 0, 0, 0, state, 0, units.len() as u8, 1];
        d.extend(units.iter().flat_map(|u| u.to_le_bytes()));
        d
    };
    let format: Vec<u8> = [le(&[164, 3]).as_slice(), &[0], b";;;"].concat();
    let xf = |fmt: u16| {
        [0u16.to_le_bytes(), fmt.to_le_bytes(), [0; 16].chunks(2).next().map(|_| [0, 0]).unwrap()]
            .concat()
            .into_iter()
            .chain([0u8; 14])
            .collect::<Vec<u8>>()
    };
    let sheets = [bound(0, "公示名单"), bound(1, "原始数据")];
    let globals_with = |positions: [u32; 2]| {
        let mut g = biff(0x0809, &le(&[0x0600, 0x0005, 0, 0, 0, 0, 0, 0]));
        g.extend(biff(0x0042, &le(&[1200])));
        g.extend(biff(0x041E, &format));
        g.extend(biff(0x00E0, &xf(0)));
        g.extend(biff(0x00E0, &xf(164)));
        for (sheet, pos) in sheets.iter().zip(positions) {
            let mut d = sheet.clone();
            d[..4].copy_from_slice(&pos.to_le_bytes());
            g.extend(biff(0x0085, &d));
        }
        g.extend(biff(0x00FC, &sst));
        g.extend(biff(0x000A, &[]));
        g
    };
    let first = biff_sheet(
        &[(0, 0, 0, 0), (0, 1, 0, 1), (1, 0, 0, 2), (1, 1, 0, 3), (1, 3, 1, 6), (2, 0, 0, 4), (2, 1, 0, 5)],
        Some(2),
        Some((3, 3)),
    );
    let second = biff_sheet(&[(0, 0, 0, 7)], None, None);
    let len = globals_with([0, 0]).len() as u32;
    let mut stream = globals_with([len, len + first.len() as u32]);
    stream.extend(first);
    stream.extend(second);
    let mut comp = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    comp.create_stream("/Workbook").unwrap().write_all(&stream).unwrap();
    comp.flush().unwrap();
    comp.into_inner().into_inner()
}

/// A zip bomb: 64 MiB of zeros that deflate to about 64 KiB.
pub(crate) fn zip_bomb() -> Vec<u8> {
    zip_of(&[("名单.csv", &vec![b'0'; 64 << 20])])
}

pub(crate) const HTML: &str = r#"<html><head><title>通知</title><style>.x{color:red}</style></head><body>
<p>各单位：现将有关事项通知如下。</p>
<div style="display: none"><a href="http://casino.example.com/">娱乐城</a> 内部联系人 13800138000</div>
<p>详见<a href="https://www.gov.cn/zhengce/">政策原文</a>。<a href="file://oa-server/share/名单.xls"></a></p>
</body></html>"#;

const OFD_NS: &str = r#"xmlns:ofd="http://www.ofdspec.org/2016""#;

/// The parts of an OFD 公文 (GB/T 33190): the first page carries the
/// 国家秘密标志 秘密★1年, the second the body; a watermark annotation on
/// page 2, DocInfo with author and a custom datum, a custom tag and an
/// embedded CSV attachment with an ID number. `page` lets a test swap the
/// first page's location.
pub(crate) fn ofd_parts(first_page: &str) -> Vec<(String, Vec<u8>)> {
    let ns = OFD_NS;
    let entry = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:OFD {ns} Version="1.0" DocType="OFD"><ofd:DocBody><ofd:DocInfo><ofd:DocID>6f1c</ofd:DocID><ofd:Title>关于做好安全生产工作的通知</ofd:Title><ofd:Author>李科员</ofd:Author><ofd:CreationDate>2025-01-02</ofd:CreationDate><ofd:CustomDatas><ofd:CustomData Name="承办单位">某区应急管理局办公室</ofd:CustomData></ofd:CustomDatas></ofd:DocInfo><ofd:DocRoot>Doc_0/Document.xml</ofd:DocRoot></ofd:DocBody></ofd:OFD>"#
    );
    let document = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Document {ns}><ofd:CommonData><ofd:MaxUnitID>20</ofd:MaxUnitID><ofd:PageArea><ofd:PhysicalBox>0 0 210 297</ofd:PhysicalBox></ofd:PageArea></ofd:CommonData><ofd:Pages><ofd:Page ID="1" BaseLoc="{first_page}"/><ofd:Page ID="2" BaseLoc="Pages/Page_1/Content.xml"/></ofd:Pages><ofd:Annotations>Annots/Annotations.xml</ofd:Annotations><ofd:Attachments>Attachs/Attachments.xml</ofd:Attachments><ofd:CustomTags>Tags/CustomTag.xml</ofd:CustomTags></ofd:Document>"#
    );
    let page = |objects: &[&str]| {
        let objs: String = objects
            .iter()
            .enumerate()
            .map(|(i, t)| {
                format!(
                    r#"<ofd:TextObject ID="{}" Boundary="20 {} 170 10" Font="3" Size="5"><ofd:TextCode X="0" Y="5" DeltaX="g 20 5">{t}</ofd:TextCode></ofd:TextObject>"#,
                    i + 5,
                    20 + 10 * i
                )
            })
            .collect();
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="4">{objs}</ofd:Layer></ofd:Content></ofd:Page>"#
        )
    };
    let page1 = page(&["秘密★1年", "区政府办〔2025〕3号", "关于做好安全生产工作的通知"]);
    let page2 = page(&["各街道办事处、区政府各部门：", "现将有关事项通知如下。"]);
    let annots = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Annotations {ns}><ofd:Page PageID="2"><ofd:FileLoc>Page_1/Annotation.xml</ofd:FileLoc></ofd:Page></ofd:Annotations>"#
    );
    let annot = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:PageAnnot {ns}><ofd:Annot ID="9" Type="Watermark" Creator="王科长"><ofd:Appearance Boundary="0 0 210 297"><ofd:TextObject ID="10" Boundary="50 100 100 20" Font="3" Size="12"><ofd:TextCode X="0" Y="12">征求意见稿</ofd:TextCode></ofd:TextObject></ofd:Appearance></ofd:Annot></ofd:PageAnnot>"#
    );
    let attachs = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Attachments {ns}><ofd:Attachment ID="11" Name="联系人名单" Format="csv" Visible="false"><ofd:FileLoc>contacts.csv</ofd:FileLoc></ofd:Attachment></ofd:Attachments>"#
    );
    let csv = format!("姓名,身份证号\n张某,{ID}\n");
    let tags = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:CustomTags {ns}><ofd:CustomTag NameSpace="urn:gwbl"><ofd:FileLoc>gw.xml</ofd:FileLoc></ofd:CustomTag></ofd:CustomTags>"#
    );
    let gw = r#"<?xml version="1.0" encoding="UTF-8"?><gw><fwzh>区政府办〔2025〕3号</fwzh><ngr>李科员 13800138000</ngr></gw>"#;
    vec![
        ("OFD.xml".into(), entry.into_bytes()),
        ("Doc_0/Document.xml".into(), document.into_bytes()),
        ("Doc_0/Pages/Page_0/Content.xml".into(), page1.into_bytes()),
        ("Doc_0/Pages/Page_1/Content.xml".into(), page2.into_bytes()),
        ("Doc_0/Annots/Annotations.xml".into(), annots.into_bytes()),
        ("Doc_0/Annots/Page_1/Annotation.xml".into(), annot.into_bytes()),
        ("Doc_0/Attachs/Attachments.xml".into(), attachs.into_bytes()),
        ("Doc_0/Attachs/contacts.csv".into(), csv.into_bytes()),
        ("Doc_0/Tags/CustomTag.xml".into(), tags.into_bytes()),
        ("Doc_0/Tags/gw.xml".into(), gw.as_bytes().to_vec()),
    ]
}

fn zip_owned(parts: &[(String, Vec<u8>)]) -> Vec<u8> {
    let refs: Vec<(&str, &[u8])> = parts.iter().map(|(n, b)| (n.as_str(), b.as_slice())).collect();
    zip_of(&refs)
}

/// An OFD 公文 whose first page carries 秘密★1年 (see [`ofd_parts`]).
pub(crate) fn ofd() -> Vec<u8> {
    zip_owned(&ofd_parts("Pages/Page_0/Content.xml"))
}

pub(crate) fn run(name: &str, bytes: &[u8]) -> Result<Extraction, Failure> {
    extract(&Input { name: name.into(), media_type: String::new(), bytes: bytes.to_vec() }, &default_bounds())
}

fn find<'e>(x: &'e Extraction, part: Part, needle: &str) -> &'e Segment {
    x.segments
        .iter()
        .find(|s| s.locator.part == part && s.text.contains(needle))
        .unwrap_or_else(|| panic!("no {part:?} segment with {needle}: {:#?}", x.segments))
}

fn facts(x: &Extraction, kind: FactKind) -> Vec<&Fact> {
    x.facts.iter().filter(|f| f.kind == kind).collect()
}

#[test]
fn docx_tracked_deletion_comment_hidden_text_properties() {
    let x = run("公示.docx", &docx()).unwrap();
    assert_eq!(x.format, "docx");
    let body = find(&x, Part::Body, "申请人张某");
    assert_eq!(body.text, "申请人张某，经审核符合条件。特此公示。", "insertions accepted, deletions not");
    assert_eq!(body.locator.paragraph, Some(2));
    let del = find(&x, Part::Deletion, ID);
    assert_eq!((del.locator.paragraph, del.locator.detail.as_deref()), (Some(2), Some("李科员")));
    assert_eq!(facts(&x, FactKind::TrackedDeletion).len(), 1);
    assert_eq!(facts(&x, FactKind::TrackedInsertion).len(), 1);
    let comment = find(&x, Part::Comment, "13800138000");
    assert_eq!(comment.locator.detail.as_deref(), Some("王科长"));
    assert_eq!(facts(&x, FactKind::Comment).len(), 1);
    assert_eq!(find(&x, Part::HiddenText, "家庭住址").locator.paragraph, Some(3));
    assert_eq!(facts(&x, FactKind::HiddenText).len(), 1);
    assert!(find(&x, Part::Header, "内部资料").locator.detail.as_deref() == Some("word/header1.xml"));
    let props: Vec<_> = facts(&x, FactKind::DocumentProperty).iter().map(|f| f.detail.clone()).collect();
    assert!(
        props.contains(&"creator：李科员".to_owned()) && props.contains(&"Company：某区民政局".to_owned()),
        "{props:?}"
    );
    let links = facts(&x, FactKind::Link);
    assert_eq!(links.len(), 1);
    assert_eq!(links[0].detail, "http://10.1.2.3/oa/list.xls");
}

#[test]
fn xlsx_cells_hidden_sheet_hidden_row_hidden_format_note() {
    let x = run("公示.xlsx", &xlsx()).unwrap();
    assert_eq!(x.format, "xlsx");
    let c2 = find(&x, Part::Cell, ID);
    assert_eq!((c2.locator.sheet.as_deref(), c2.locator.cell.as_deref()), (Some("公示名单"), Some("C2")));
    assert_eq!(find(&x, Part::Cell, ID2).locator.cell.as_deref(), Some("C3"));
    let phone = find(&x, Part::Cell, "13912345678");
    assert_eq!((phone.locator.sheet.as_deref(), phone.locator.cell.as_deref()), (Some("原始数据"), Some("A1")));
    let hidden = facts(&x, FactKind::HiddenSheet);
    assert_eq!(hidden.len(), 1);
    assert_eq!(hidden[0].locator.sheet.as_deref(), Some("原始数据"));
    let rows = facts(&x, FactKind::HiddenRow);
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].locator.cell.as_deref(), Some("4:4"));
    let fmt = facts(&x, FactKind::HiddenFormat);
    assert_eq!(fmt.len(), 1);
    assert_eq!(fmt[0].locator.cell.as_deref(), Some("D2"));
    let note = find(&x, Part::Comment, "核对后删除");
    assert_eq!((note.locator.sheet.as_deref(), note.locator.cell.as_deref()), (Some("公示名单"), Some("C3")));
    assert!(facts(&x, FactKind::DocumentProperty).iter().any(|f| f.detail == "creator：张三"));
}

/// The cells of an XLSX whose style hides the text by its colour.
fn invisible_cells(formats: &[(&str, rust_xlsxwriter::Format)]) -> Vec<(String, String)> {
    use rust_xlsxwriter::Workbook;
    let mut wb = Workbook::new();
    let ws = wb.add_worksheet();
    ws.set_name("名单").unwrap();
    for (row, (text, format)) in formats.iter().enumerate() {
        ws.write_string_with_format(row as u32, 2, *text, format).unwrap();
    }
    let x = run("名单.xlsx", &wb.save_to_buffer().unwrap()).unwrap();
    facts(&x, FactKind::HiddenFormat)
        .iter()
        .map(|f| (f.locator.cell.clone().unwrap_or_default(), f.detail.clone()))
        .collect()
}

#[test]
fn xlsx_text_the_colour_of_its_fill_is_hidden() {
    use rust_xlsxwriter::{Color, Format};
    let hidden = invisible_cells(&[
        ("白字无底色", Format::new().set_font_color(Color::White)),
        ("白字白底", Format::new().set_font_color(Color::RGB(0xFFFFFF)).set_background_color(Color::White)),
        ("同色字底", Format::new().set_font_color(Color::RGB(0x1F4E79)).set_background_color(Color::RGB(0x1F4E79))),
        ("近似色", Format::new().set_font_color(Color::RGB(0xFAFAFA)).set_background_color(Color::RGB(0xFFFFFF))),
        // Theme colour 0 is lt1, white in the default theme.
        ("主题白字", Format::new().set_font_color(Color::Theme(0, 0))),
    ]);
    let cells: Vec<&str> = hidden.iter().map(|(c, _)| c.as_str()).collect();
    assert_eq!(cells, ["C1", "C2", "C3", "C4", "C5"], "{hidden:?}");
    assert_eq!(hidden[1].1, "工作表“名单”的单元格 C2 文字颜色与底色相同，内容不可见");
}

#[test]
fn xlsx_visible_colours_are_not_hidden() {
    use rust_xlsxwriter::{Color, Format};
    let hidden = invisible_cells(&[
        ("默认", Format::new()),
        ("白字深底", Format::new().set_font_color(Color::White).set_background_color(Color::RGB(0x1F4E79))),
        ("黑字白底", Format::new().set_font_color(Color::Black).set_background_color(Color::White)),
        ("黄底", Format::new().set_background_color(Color::Yellow)),
        // Theme colour 1 is dk1, black in the default theme.
        ("主题黑字", Format::new().set_font_color(Color::Theme(1, 0))),
        ("红字", Format::new().set_font_color(Color::Red)),
    ]);
    assert!(hidden.is_empty(), "{hidden:?}");
}

#[test]
fn xls_cells_hidden_sheet_rows_columns_and_formats() {
    let x = run("公示.xls", &xls()).unwrap();
    assert_eq!(x.format, "xls");
    let id = find(&x, Part::Cell, ID);
    assert_eq!((id.locator.sheet.as_deref(), id.locator.cell.as_deref()), (Some("公示名单"), Some("B2")));
    assert_eq!(find(&x, Part::Cell, ID2).locator.cell.as_deref(), Some("B3"));
    let phone = find(&x, Part::Cell, "13912345678");
    assert_eq!((phone.locator.sheet.as_deref(), phone.locator.cell.as_deref()), (Some("原始数据"), Some("A1")));
    let hidden = facts(&x, FactKind::HiddenSheet);
    assert_eq!(hidden.len(), 1);
    assert_eq!(hidden[0].detail, "工作表“原始数据”被隐藏");
    let rows: Vec<_> = facts(&x, FactKind::HiddenRow).iter().map(|f| f.locator.cell.clone()).collect();
    assert_eq!(rows, [Some("3:3".to_owned())]);
    let cols: Vec<_> = facts(&x, FactKind::HiddenColumn).iter().map(|f| f.locator.cell.clone()).collect();
    assert_eq!(cols, [Some("D:D".to_owned())]);
    let fmt: Vec<_> = facts(&x, FactKind::HiddenFormat).iter().map(|f| f.detail.clone()).collect();
    assert_eq!(fmt, ["工作表“公示名单”的单元格 D2 用格式“;;;”隐藏了内容"]);
    assert!(facts(&x, FactKind::NotExtracted).is_empty(), "{:#?}", x.facts);
}

#[test]
fn xls_bounds_encryption_and_other_cfb_files() {
    // Cells are counted against the bound, and a grid calamine would
    // allocate is refused before it does.
    let mut b = default_bounds();
    b.max_cells = 5;
    let f = extract(&Input { name: "公示.xls".into(), media_type: String::new(), bytes: xls() }, &b).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded, "{}", f.message);
    // A DIMENSIONS record claiming the whole 65,536 × 256 grid in a tiny
    // file is refused before calamine reserves it.
    let mut bytes = xls();
    let dims = bytes.windows(4).position(|w| w == [0x00, 0x02, 0x0E, 0x00]).unwrap();
    bytes[dims + 8..dims + 12].copy_from_slice(&65_536u32.to_le_bytes());
    bytes[dims + 14..dims + 16].copy_from_slice(&256u16.to_le_bytes());
    let f = run("公示.xls", &bytes).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded, "{}", f.message);
    assert!(f.message.contains("表格范围"), "{}", f.message);
    // A Word document stream that is no Word document is malformed.
    let mut comp = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    comp.create_stream("/WordDocument").unwrap().write_all(&[0; 64]).unwrap();
    comp.flush().unwrap();
    let f = run("通知.doc", &comp.into_inner().into_inner()).unwrap_err();
    assert_eq!(f.kind, FailureKind::Malformed, "{}", f.message);
    // A PowerPoint 97-2003 file is not read: not-extracted.
    let mut comp = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    comp.create_stream("/PowerPoint Document").unwrap().write_all(&[0; 64]).unwrap();
    comp.flush().unwrap();
    let x = run("汇报.ppt", &comp.into_inner().into_inner()).unwrap();
    assert_eq!(x.format, "unsupported");
    assert_eq!(facts(&x, FactKind::NotExtracted)[0].detail, "旧版 PowerPoint 演示文稿（PPT）：未能提取文字");
    // A password-protected DOCX/XLSX is a CFB with an EncryptedPackage.
    let mut comp = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    comp.create_stream("/EncryptedPackage").unwrap().write_all(&[1; 64]).unwrap();
    comp.flush().unwrap();
    let f = run("名单.xlsx", &comp.into_inner().into_inner()).unwrap_err();
    assert_eq!(f.kind, FailureKind::Encrypted);
    // A FILEPASS record: an encrypted workbook.
    let mut bytes = xls();
    let codepage = bytes.windows(6).position(|w| w == [0x42, 0x00, 0x02, 0x00, 0xB0, 0x04]).unwrap();
    bytes[codepage] = 0x2F;
    let f = run("公示.xls", &bytes).unwrap_err();
    assert_eq!(f.kind, FailureKind::Encrypted, "{}", f.message);
    // A broken container is malformed.
    let f = run("公示.xls", b"\xD0\xCF\x11\xE0\xA1\xB1\x1A\xE1 and nothing else").unwrap_err();
    assert_eq!(f.kind, FailureKind::Malformed);
}

#[test]
fn zip_bomb_is_refused_with_the_ratio() {
    let bomb = zip_bomb();
    assert!(bomb.len() < 1 << 20, "the bomb itself is small: {}", bomb.len());
    let f = run("材料.zip", &bomb).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded);
    assert_eq!(f.file, "材料.zip/名单.csv");
    assert!(f.message.contains("压缩炸弹"), "{}", f.message);
}

#[test]
fn archives_nest_up_to_the_depth_bound_with_paths_in_locators() {
    let inner = zip_of(&[("公示.xlsx", &xlsx()), ("说明.txt", "第一行\n联系人 13800138000".as_bytes())]);
    let outer = zip_of(&[("附件/材料.zip", &inner)]);
    let x = run("全部.zip", &outer).unwrap();
    assert_eq!(find(&x, Part::Cell, ID).locator.file, "全部.zip/附件/材料.zip/公示.xlsx");
    let line = find(&x, Part::Body, "13800138000");
    assert_eq!((line.locator.file.as_str(), line.locator.paragraph), ("全部.zip/附件/材料.zip/说明.txt", Some(2)));
    let mut deep = outer;
    for i in 0..3 {
        deep = zip_of(&[(&format!("层{i}.zip"), &deep)]);
    }
    let f = run("深.zip", &deep).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded);
    assert!(f.message.contains("嵌套"), "{}", f.message);
}

#[test]
fn html_hidden_text_and_links() {
    let x = run("正文.html", HTML.as_bytes()).unwrap();
    assert_eq!(x.format, "html");
    assert!(find(&x, Part::Body, "各单位").locator.paragraph.is_some());
    assert!(find(&x, Part::HiddenText, "13800138000").text.contains("娱乐城"));
    let hidden: Vec<_> = facts(&x, FactKind::HiddenLink).iter().map(|f| f.detail.clone()).collect();
    assert_eq!(hidden, ["http://casino.example.com/", "file://oa-server/share/名单.xls"]);
    let links: Vec<_> = facts(&x, FactKind::Link).iter().map(|f| f.detail.clone()).collect();
    assert_eq!(links, ["https://www.gov.cn/zhengce/"]);
    assert!(!x.segments.iter().any(|s| s.text.contains("color:red")), "style text is not content");
}

#[test]
fn text_and_csv_with_encodings() {
    let x = run("名单.csv", "姓名,身份证号\n张某,\"320102198001011238\"\n\"李,某\",x".as_bytes()).unwrap();
    assert_eq!(find(&x, Part::Cell, ID).locator.cell.as_deref(), Some("B2"));
    assert_eq!(find(&x, Part::Cell, "李,某").locator.cell.as_deref(), Some("A3"));
    let (gbk, _, _) = encoding_rs::GBK.encode("第一行\n内部资料");
    let x = run("说明.txt", &gbk).unwrap();
    assert_eq!(find(&x, Part::Body, "内部资料").locator.paragraph, Some(2));
    let f = run("坏.csv", b"a,\"b\n").unwrap_err();
    assert_eq!(f.kind, FailureKind::Malformed);
}

#[test]
fn images_and_unknown_binaries_are_not_extracted_facts() {
    let x = run("扫描件.png", b"\x89PNG\r\n\x1a\n....").unwrap();
    assert_eq!(x.format, "unsupported");
    assert_eq!(facts(&x, FactKind::NotExtracted).len(), 1);
    let f = run("坏.docx", b"PK\x03\x04garbage").unwrap_err();
    assert_eq!(f.kind, FailureKind::Malformed);
}

#[test]
fn bounds_on_cells_and_text() {
    let mut b = default_bounds();
    b.max_cells = 3;
    let input = Input { name: "公示.xlsx".into(), media_type: String::new(), bytes: xlsx() };
    let f = extract(&input, &b).unwrap_err();
    assert_eq!((f.kind, f.file.as_str()), (FailureKind::LimitExceeded, "公示.xlsx"));
    let mut b = default_bounds();
    b.max_text_bytes = 10;
    let f = extract(&Input { bytes: "一二三四五六七八九十".into(), ..input }, &b).unwrap_err();
    assert_eq!(f.kind, FailureKind::LimitExceeded);
}

#[test]
fn ofd_pages_annotations_docinfo_tags_and_embedded_files() {
    let x = run("通知.ofd", &ofd()).unwrap();
    assert_eq!(x.format, "ofd");
    let mark = find(&x, Part::Body, "秘密★1年");
    assert_eq!((mark.locator.page, mark.locator.paragraph), (Some(1), Some(1)));
    assert_eq!(mark.locator.file, "通知.ofd");
    let body = find(&x, Part::Body, "现将有关事项");
    assert_eq!((body.locator.page, body.locator.paragraph), (Some(2), Some(2)));
    let water = find(&x, Part::Comment, "征求意见稿");
    assert_eq!(water.locator.page, Some(2));
    assert_eq!(water.locator.detail.as_deref(), Some("Watermark，王科长"));
    assert_eq!(facts(&x, FactKind::Comment).len(), 1);
    let author = find(&x, Part::Property, "李科员");
    assert_eq!(author.locator.detail.as_deref(), Some("Author"));
    find(&x, Part::Property, "某区应急管理局办公室");
    let props: Vec<&str> = facts(&x, FactKind::DocumentProperty).iter().map(|f| f.detail.as_str()).collect();
    assert!(props.contains(&"承办单位：某区应急管理局办公室"), "{props:?}");
    assert!(!props.iter().any(|p| p.starts_with("DocID") || p.starts_with("CreationDate")), "{props:?}");
    let tag = find(&x, Part::Property, "13800138000");
    assert_eq!(tag.locator.detail.as_deref(), Some("urn:gwbl#ngr"));
    let embedded = facts(&x, FactKind::EmbeddedFile);
    assert_eq!(embedded.len(), 1);
    assert_eq!(embedded[0].detail, "OFD 内嵌附件 联系人名单");
    let cell = find(&x, Part::Cell, ID);
    assert_eq!((cell.locator.file.as_str(), cell.locator.cell.as_deref()), ("通知.ofd/联系人名单.csv", Some("B2")));
}

/// A DER value: `tag`, then `body` with its definite length.
fn der(tag: u8, body: &[u8]) -> Vec<u8> {
    let mut v = vec![tag];
    match body.len() {
        n if n < 0x80 => v.push(n as u8),
        n if n < 0x100 => v.extend([0x81, n as u8]),
        n => v.extend([0x82, (n >> 8) as u8, n as u8]),
    }
    v.extend_from_slice(body);
    v
}

/// The OFD of [`ofd_parts`] with a template page carrying 内部资料 that
/// both pages use, a template no page uses, and an electronic seal on page
/// 2 whose signed value (a reduced SES_Signature) names the seal and holds
/// the signer's certificate subject inside an OCTET STRING.
pub(crate) fn ofd_template_and_seal() -> Vec<u8> {
    let ns = OFD_NS;
    let mut parts = ofd_parts("Pages/Page_0/Content.xml");
    let text = |s: &str| {
        format!(
            r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Page {ns}><ofd:Content><ofd:Layer ID="30"><ofd:TextObject ID="31" Boundary="60 140 100 20" Font="3" Size="12"><ofd:TextCode X="0" Y="12">{s}</ofd:TextCode></ofd:TextObject></ofd:Layer></ofd:Content></ofd:Page>"#
        )
    };
    for (name, bytes) in parts.iter_mut() {
        let xml = String::from_utf8(bytes.clone()).unwrap();
        let xml = match name.as_str() {
            "OFD.xml" => xml.replace("</ofd:DocRoot>", "</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>"),
            "Doc_0/Document.xml" => xml.replace(
                "</ofd:PageArea>",
                r#"</ofd:PageArea><ofd:TemplatePage ID="21" BaseLoc="Tpls/Tpl_0/Content.xml" ZOrder="Background"/><ofd:TemplatePage ID="22" BaseLoc="Tpls/Tpl_1/Content.xml"/>"#,
            ),
            n if n.starts_with("Doc_0/Pages/") => {
                xml.replace("<ofd:Content>", r#"<ofd:Template TemplateID="21" ZOrder="Background"/><ofd:Content>"#)
            }
            _ => continue,
        };
        *bytes = xml.into_bytes();
    }
    let cert =
        der(0x30, &der(0x31, &der(0x30, &[der(0x06, &[0x55, 0x04, 0x03]), der(0x0C, "李科员".as_bytes())].concat())));
    let value = der(
        0x30,
        &[
            der(0x16, b"11010000000001"),
            der(0x0C, "某区人民政府办公室".as_bytes()),
            der(0x04, &cert),
            der(0x18, b"20250102093000Z"),
        ]
        .concat(),
    );
    let signatures = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Signatures {ns}><ofd:MaxSignId>1</ofd:MaxSignId><ofd:Signature ID="1" Type="Seal" BaseLoc="Sign_0/Signature.xml"/></ofd:Signatures>"#
    );
    let signature = format!(
        r#"<?xml version="1.0" encoding="UTF-8"?><ofd:Signature {ns}><ofd:SignedInfo><ofd:Provider ProviderName="某签章组件" Version="1.0"/><ofd:SignatureMethod>1.2.156.10197.1.501</ofd:SignatureMethod><ofd:SignatureDateTime>20250102093000Z</ofd:SignatureDateTime><ofd:References CheckMethod="1.2.156.10197.1.401"><ofd:Reference FileRef="/Doc_0/Document.xml"><ofd:CheckValue>AAAA</ofd:CheckValue></ofd:Reference></ofd:References><ofd:StampAnnot ID="1" PageRef="2" Boundary="120 200 40 40"/></ofd:SignedInfo><ofd:SignedValue>SignedValue.dat</ofd:SignedValue></ofd:Signature>"#
    );
    parts.extend([
        ("Doc_0/Tpls/Tpl_0/Content.xml".to_owned(), text("内部资料 注意保存").into_bytes()),
        ("Doc_0/Tpls/Tpl_1/Content.xml".to_owned(), text("旧版抬头 联系人13800138000").into_bytes()),
        ("Doc_0/Signs/Signatures.xml".to_owned(), signatures.into_bytes()),
        ("Doc_0/Signs/Sign_0/Signature.xml".to_owned(), signature.into_bytes()),
        ("Doc_0/Signs/Sign_0/SignedValue.dat".to_owned(), value),
    ]);
    zip_owned(&parts)
}

#[test]
fn ofd_template_pages_and_seals() {
    let x = run("通知.ofd", &ofd_template_and_seal()).unwrap();
    // The template both pages use is page text, at the first page using it.
    let mark = find(&x, Part::Body, "内部资料");
    assert_eq!((mark.locator.page, mark.locator.paragraph), (Some(1), Some(1)));
    assert_eq!(mark.locator.detail.as_deref(), Some("模板页 21"));
    // A template no page uses is not shown: hidden text.
    let unused = find(&x, Part::HiddenText, "13800138000");
    assert_eq!((unused.locator.page, unused.locator.detail.as_deref()), (None, Some("模板页 22")));
    assert_eq!(facts(&x, FactKind::HiddenText).len(), 1);
    // The seal: names from its signed value, time, page, provider.
    let seal = facts(&x, FactKind::DocumentProperty)
        .into_iter()
        .find(|f| f.detail.starts_with("电子签章"))
        .unwrap_or_else(|| panic!("{:#?}", x.facts));
    let full = "电子签章，签章信息 某区人民政府办公室、李科员，签署时间 20250102093000Z，第 2 页，签章组件 某签章组件";
    assert!(full.starts_with(seal.detail.trim_end_matches('…')), "{}", seal.detail);
    assert_eq!(find(&x, Part::Property, "某签章组件").text, full);
    assert_eq!(
        (seal.locator.page, seal.locator.detail.as_deref()),
        (Some(2), Some("Doc_0/Signs/Sign_0/Signature.xml"))
    );
    // Everything else is still read.
    assert_eq!(find(&x, Part::Body, "秘密★1年").locator.page, Some(1));
    // A signature part that is not there is malformed.
    let mut parts = ofd_parts("Pages/Page_0/Content.xml");
    parts[0].1 = String::from_utf8(parts[0].1.clone())
        .unwrap()
        .replace("</ofd:DocRoot>", "</ofd:DocRoot><ofd:Signatures>Doc_0/Signs/Signatures.xml</ofd:Signatures>")
        .into_bytes();
    let err = run("通知.ofd", &zip_owned(&parts)).unwrap_err();
    assert!(err.message.contains("Signatures.xml"), "{}", err.message);
}

#[test]
fn malformed_ofd_fails_closed() {
    let malformed_with = |parts: Vec<(String, Vec<u8>)>, needle: &str| {
        let err = run("通知.ofd", &zip_owned(&parts)).unwrap_err();
        assert_eq!(err.kind, FailureKind::Malformed, "{}", err.message);
        assert!(err.message.contains(needle), "{}", err.message);
        assert_eq!(err.file, "通知.ofd");
    };
    // No OFD.xml: a `.ofd` is never read as a plain archive.
    let mut parts = ofd_parts("Pages/Page_0/Content.xml");
    parts.retain(|(n, _)| n != "OFD.xml");
    malformed_with(parts.clone(), "缺少 OFD.xml");
    let err = extract(
        &Input { name: "gongwen".into(), media_type: "application/ofd".into(), bytes: zip_owned(&parts) },
        &default_bounds(),
    )
    .unwrap_err();
    assert!(err.message.contains("缺少 OFD.xml"), "{}", err.message);
    // Bad XML in a page.
    let mut parts = ofd_parts("Pages/Page_0/Content.xml");
    parts[2].1 = "<ofd:Page><ofd:Content><ofd:TextObject><ofd:TextCode>秘密★1年</ofd:TextCode><![CDATA[ 未闭合".into();
    malformed_with(parts, "Doc_0/Pages/Page_0/Content.xml");
    // A page location that climbs out of the package.
    malformed_with(ofd_parts("../../../etc/passwd"), "指向文件包之外");
    malformed_with(ofd_parts("/../secret.xml"), "指向文件包之外");
    // A page that is not there.
    malformed_with(ofd_parts("Pages/Page_9/Content.xml"), "缺少 Doc_0/Pages/Page_9/Content.xml");
    // No document root.
    let mut parts = ofd_parts("Pages/Page_0/Content.xml");
    parts[0].1 = format!(r#"<ofd:OFD {OFD_NS}><ofd:DocBody/></ofd:OFD>"#).into_bytes();
    malformed_with(parts, "没有文档");
}

/// Writes the committed fixtures of `tests/data/attachments/`.
#[test]
#[ignore = "rewrites tests/data/attachments; run with --ignored to regenerate"]
fn write_fixtures() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/data/attachments");
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("tracked-deletion.docx"), docx()).unwrap();
    std::fs::write(dir.join("gongshi-hidden-sheet.xlsx"), xlsx()).unwrap();
    std::fs::write(dir.join("zip-bomb.zip"), zip_bomb()).unwrap();
    std::fs::write(dir.join("hidden-link.html"), HTML).unwrap();
    std::fs::write(dir.join("secret-marking.ofd"), ofd()).unwrap();
    std::fs::write(dir.join("black-box-redaction.pdf"), crate::pdf_tests::pdf_redaction()).unwrap();
    std::fs::write(dir.join("image-only-page.pdf"), crate::pdf_tests::pdf_image_page()).unwrap();
    std::fs::write(dir.join("notice.pdf"), crate::pdf_tests::pdf_notice()).unwrap();
    std::fs::write(dir.join("tracked-deletion.doc"), doc()).unwrap();
}

/// A Word 97-2003 document built by hand as Word writes one: the FIB, the
/// text in three pieces (UTF-16, then 8-bit Windows-1252, then UTF-16 for
/// the header and comment stories), a character-run page (FKP) marking a
/// tracked deletion of an ID number and hidden text, a `HYPERLINK` field to
/// an intranet host with nothing shown, a header 内部资料 and a comment.
/// `flags` is `FibBase`'s flags word (0x0200: the table is `1Table`).
pub(crate) fn doc_with(n_fib: u16, flags: u16) -> Vec<u8> {
    let utf16 = |s: &str| s.encode_utf16().flat_map(u16::to_le_bytes).collect::<Vec<u8>>();
    let chars = |s: &str| s.encode_utf16().count() as u32;
    let title = "关于2025年低保对象的公示\r申请人张某，身份证号";
    let after = "，经审核符合条件。\r";
    let hidden = "家庭住址：幸福路8号";
    let field = "\r\u{13} HYPERLINK \"http://oa.intra/doc\" \u{14}\u{15}\r";
    let main_utf16 = format!("{title}{ID}{after}{hidden}{field}");
    let ascii = "Tel 13800138000\r";
    let (header, comment) = ("内部资料\r", "请删去身份证号\r");
    let mut word = vec![0u8; 4096];
    word[0..2].copy_from_slice(&0xA5ECu16.to_le_bytes());
    word[2..4].copy_from_slice(&n_fib.to_le_bytes());
    word[0x0A..0x0C].copy_from_slice(&flags.to_le_bytes());
    word[32..34].copy_from_slice(&14u16.to_le_bytes());
    word[62..64].copy_from_slice(&22u16.to_le_bytes());
    let lw = |w: &mut Vec<u8>, i: usize, v: u32| w[64 + 4 * i..68 + 4 * i].copy_from_slice(&v.to_le_bytes());
    lw(&mut word, 3, chars(&main_utf16) + ascii.len() as u32);
    lw(&mut word, 5, chars(header));
    lw(&mut word, 7, chars(comment));
    word[152..154].copy_from_slice(&93u16.to_le_bytes());
    let pair = |w: &mut Vec<u8>, i: usize, fc: u32, lcb: u32| {
        w[154 + 8 * i..158 + 8 * i].copy_from_slice(&fc.to_le_bytes());
        w[158 + 8 * i..162 + 8 * i].copy_from_slice(&lcb.to_le_bytes());
    };
    // The text: piece 1 at 1024, piece 2 (8-bit) after it, piece 3 after that.
    let p1 = 1024u32;
    let p2 = p1 + 2 * chars(&main_utf16);
    let p3 = p2 + ascii.len() as u32;
    let rest = utf16(&format!("{header}{comment}"));
    for (at, bytes) in [(p1, utf16(&main_utf16)), (p2, ascii.as_bytes().to_vec()), (p3, rest.clone())] {
        word[at as usize..at as usize + bytes.len()].copy_from_slice(&bytes);
    }
    // One FKP page of character runs: the ID deleted, the address hidden.
    let del = p1 + 2 * chars(title);
    let del_end = del + 2 * chars(ID);
    let hid = del_end + 2 * chars(after);
    let hid_end = hid + 2 * chars(hidden);
    let mut page = vec![0u8; 512];
    for (i, fc) in [del, del_end, hid, hid_end].into_iter().enumerate() {
        page[4 * i..4 * i + 4].copy_from_slice(&fc.to_le_bytes());
    }
    page[16..19].copy_from_slice(&[200, 0, 205]);
    page[400..404].copy_from_slice(&[3, 0x00, 0x08, 0x01]); // sprmCFRMarkDel on
    page[410..414].copy_from_slice(&[3, 0x3C, 0x08, 0x01]); // sprmCFVanish on
    page[511] = 3;
    word.extend_from_slice(&page); // page 8
    // The table stream: the piece table, then the character-run table.
    let cps = [0, chars(&main_utf16), chars(&main_utf16) + ascii.len() as u32];
    let cps = [cps[0], cps[1], cps[2], cps[2] + chars(&format!("{header}{comment}"))];
    let mut plc = Vec::new();
    for cp in cps {
        plc.extend(cp.to_le_bytes());
    }
    for (fc, compressed) in [(p1, false), (p2, true), (p3, false)] {
        plc.extend([0, 0]);
        plc.extend(if compressed { (fc * 2) | 0x4000_0000 } else { fc }.to_le_bytes());
        plc.extend([0, 0]);
    }
    let mut table = vec![0x02];
    table.extend((plc.len() as u32).to_le_bytes());
    table.extend(plc);
    let clx_len = table.len() as u32;
    let bte = table.len() as u32;
    for v in [del, hid_end, 8] {
        table.extend(v.to_le_bytes());
    }
    pair(&mut word, 33, 0, clx_len);
    pair(&mut word, 12, bte, 12);
    let table_name = if flags & 0x0200 != 0 { "/1Table" } else { "/0Table" };
    let mut comp = cfb::CompoundFile::create(Cursor::new(Vec::new())).unwrap();
    comp.create_stream("/WordDocument").unwrap().write_all(&word).unwrap();
    comp.create_stream(table_name).unwrap().write_all(&table).unwrap();
    comp.flush().unwrap();
    comp.into_inner().into_inner()
}

pub(crate) fn doc() -> Vec<u8> {
    doc_with(0x00C1, 0x0200)
}

#[test]
fn doc_pieces_tracked_deletion_hidden_text_field_header_and_comment() {
    let x = run("公示.doc", &doc()).unwrap();
    assert_eq!(x.format, "doc");
    assert_eq!(find(&x, Part::Body, "低保对象").locator.paragraph, Some(1));
    let body = find(&x, Part::Body, "申请人张某");
    assert_eq!(body.text, "申请人张某，身份证号，经审核符合条件。", "the deletion is not read as text");
    assert_eq!(body.locator.paragraph, Some(2));
    assert_eq!(find(&x, Part::Deletion, ID).locator.paragraph, Some(2));
    assert_eq!(facts(&x, FactKind::TrackedDeletion).len(), 1);
    assert_eq!(find(&x, Part::HiddenText, "家庭住址").locator.paragraph, Some(3));
    assert_eq!(facts(&x, FactKind::HiddenText).len(), 1);
    let link = facts(&x, FactKind::HiddenLink);
    assert_eq!(link.len(), 1, "{:#?}", x.facts);
    assert_eq!(link[0].detail, "http://oa.intra/doc");
    assert!(x.segments.iter().all(|s| !s.text.contains("HYPERLINK")), "an instruction is not text");
    assert_eq!(find(&x, Part::Body, "Tel").text, "Tel 13800138000", "the 8-bit piece");
    assert_eq!(find(&x, Part::Header, "内部资料").locator.detail.as_deref(), Some("页眉或页脚"));
    assert_eq!(facts(&x, FactKind::HeaderFooter)[0].detail, "内部资料");
    find(&x, Part::Comment, "请删去身份证号");
    assert_eq!(facts(&x, FactKind::Comment)[0].detail, "批注：请删去身份证号");
    // The table stream named by the flags is the one read.
    assert_eq!(run("公示.doc", &doc_with(0x00C1, 0)).unwrap().format, "doc");
    // Word 6.0/95 (another FIB): not extracted. Encrypted: said so.
    let x = run("旧.doc", &doc_with(0x0065, 0x0200)).unwrap();
    assert_eq!((x.format.as_str(), facts(&x, FactKind::NotExtracted).len()), ("unsupported", 1));
    let f = run("密.doc", &doc_with(0x00C1, 0x0300)).unwrap_err();
    assert_eq!(f.kind, FailureKind::Encrypted);
    // A piece beyond the stream is malformed, not a panic.
    let mut bytes = doc();
    let at = bytes.windows(4).position(|w| w == 1024u32.to_le_bytes()).unwrap();
    bytes[at..at + 4].copy_from_slice(&0x0FFF_FFF0u32.to_le_bytes());
    assert!(run("坏.doc", &bytes).is_err());
}

/// A brief, deterministic mutation fuzz run in every `cargo test`: the
/// fixtures with bytes overwritten, inserted and cut at pseudo-random places
/// must each give an extraction or a failure, never a panic (which in the
/// sandbox would be a trap: still closed, but a bug). A longer run: set
/// `EXTRACT_FUZZ_ROUNDS`.
#[test]
fn mutated_files_never_panic() {
    let rounds: u64 = std::env::var("EXTRACT_FUZZ_ROUNDS").ok().and_then(|v| v.parse().ok()).unwrap_or(300);
    let small_bomb = zip_of(&[("a.csv", &vec![b'0'; 2 << 20])]);
    let seeds: Vec<(&str, Vec<u8>)> = vec![
        ("a.docx", docx()),
        ("a.xlsx", xlsx()),
        ("a.xls", xls()),
        ("a.doc", doc()),
        ("a.ofd", ofd()),
        ("b.ofd", ofd_template_and_seal()),
        ("a.pdf", crate::pdf_tests::pdf_hidden()),
        ("b.pdf", crate::pdf_tests::pdf_revised()),
        ("a.html", HTML.as_bytes().to_vec()),
        ("a.csv", "姓名,号码\n\"张,某\",1\n".as_bytes().to_vec()),
        ("a.zip", small_bomb),
    ];
    let mut state: u64 = 0x9E37_79B9_7F4A_7C15;
    let mut next = move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    };
    for round in 0..rounds {
        for (name, seed) in &seeds {
            let mut bytes = seed.clone();
            for _ in 0..1 + next() % 8 {
                let at = (next() as usize) % bytes.len().max(1);
                match next() % 3 {
                    0 if !bytes.is_empty() => bytes[at] = next() as u8,
                    1 => bytes.insert(at, next() as u8),
                    _ => {
                        let end = (at + (next() as usize) % 64).min(bytes.len());
                        bytes.drain(at..end);
                    }
                }
            }
            let input = Input { name: (*name).into(), media_type: String::new(), bytes };
            let outcome = std::panic::catch_unwind(|| extract(&input, &default_bounds()));
            assert!(outcome.is_ok(), "round {round}: {name} panicked");
        }
    }
}

#[cfg(test)]
#[path = "mask_tests.rs"]
mod mask_tests;
