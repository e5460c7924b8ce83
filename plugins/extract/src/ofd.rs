//! OFD (GB/T 33190), the national fixed-layout format agencies publish 公文
//! in: a ZIP whose `OFD.xml` names each document's `Document.xml` and its
//! `DocInfo` metadata; `Document.xml` lists the pages (`Pages/Page_N/
//! Content.xml`, whose `TextObject`/`TextCode` elements hold the text), the
//! annotations, the attachments and the custom tags.
//!
//! Out come the text of each page with its 1-based page number (one segment
//! per text object, its paragraph the object's index on the page), the text
//! of the template pages (`CommonData/TemplatePage`, drawn under or over
//! every page naming it in a `Template`: a 内部资料 watermark often lives
//! there) located at the first page using it with detail `模板页 ID` (a
//! template no page uses is not shown: hidden text), the annotations' text
//! with their page (watermarks are annotations), the DocInfo properties and
//! custom data, the custom tags' text, the electronic seals and signatures
//! (`Signatures.xml`, each `Signature.xml`: type, signing time, page, the
//! provider, and the names the signed value carries — seal name, signer —
//! read from its DER as the strings it holds, without verifying anything)
//! as document properties, and every embedded attachment as an
//! `embedded-file` fact and then read as a file of its own
//! (`公文.ofd/名单.xlsx`), within the same bounds as DOCX and XLSX.
//!
//! Fails closed: a missing `OFD.xml`, `Document.xml` or page content, bad
//! XML, or a location that leaves the package (`../`) is a malformed file.

use crate::archive::Zip;
use crate::docx::clip;
use crate::xml::{Ev, events};
use crate::{FactKind, Failure, Out, Part, at, malformed, read_file};

/// Resolves an OFD location (`ST_Loc`): absolute from the package root when
/// it starts with `/`, else relative to `base_dir`. A location that climbs
/// out of the package is refused.
fn resolve(file: &str, base_dir: &str, loc: &str) -> Result<String, Failure> {
    let loc = loc.trim().replace('\\', "/");
    let mut parts: Vec<&str> =
        if loc.starts_with('/') { Vec::new() } else { base_dir.split('/').filter(|p| !p.is_empty()).collect() };
    for seg in loc.split('/') {
        match seg {
            ".." => {
                if parts.pop().is_none() {
                    return Err(malformed(file, format!("OFD 中的路径“{loc}”指向文件包之外")));
                }
            }
            "." | "" => {}
            s => parts.push(s),
        }
    }
    if parts.is_empty() {
        return Err(malformed(file, format!("OFD 中的路径“{loc}”为空")));
    }
    Ok(parts.join("/"))
}

fn dir_of(name: &str) -> &str {
    name.rsplit_once('/').map_or("", |(d, _)| d)
}

/// Reads a part that must be there.
fn required(out: &mut Out<'_>, zip: &mut Zip<'_>, name: &str) -> Result<Vec<u8>, Failure> {
    let path = zip.path.clone();
    zip.read(out, name)?.ok_or_else(|| malformed(&path, format!("OFD 文件缺少 {name}")))
}

/// The text of every `TextObject` in `xml`, in order (its `TextCode`s
/// joined).
fn text_objects(file: &str, part: &str, xml: &[u8]) -> Result<Vec<String>, Failure> {
    let mut objects = Vec::new();
    let (mut depth, mut in_code, mut cur) = (0u32, false, String::new());
    events(file, part, xml, |ev| {
        match ev {
            Ev::Start("TextObject", _) => {
                depth += 1;
                if depth == 1 {
                    cur.clear();
                }
            }
            Ev::End("TextObject") if depth > 0 => {
                depth -= 1;
                if depth == 0 {
                    objects.push(std::mem::take(&mut cur));
                }
            }
            Ev::Start("TextCode", _) => in_code = depth > 0,
            Ev::End("TextCode") => in_code = false,
            Ev::Text(t) if in_code => cur.push_str(t),
            _ => {}
        }
        Ok(())
    })?;
    Ok(objects)
}

/// Every text node of `xml` that is not only whitespace, with the local name
/// of the element holding it.
fn all_text(file: &str, part: &str, xml: &[u8]) -> Result<Vec<(String, String)>, Failure> {
    let mut stack: Vec<String> = Vec::new();
    let mut found = Vec::new();
    events(file, part, xml, |ev| {
        match ev {
            Ev::Start(name, _) => stack.push(name.to_owned()),
            Ev::End(_) => drop(stack.pop()),
            Ev::Text(t) if !t.trim().is_empty() => {
                found.push((stack.last().cloned().unwrap_or_default(), t.trim().to_owned()));
            }
            Ev::Text(_) => {}
        }
        Ok(())
    })?;
    Ok(found)
}

/// DocInfo fields that are bookkeeping, not telling.
const QUIET: &[&str] = &["DocID", "CreationDate", "ModDate", "DocUsage", "CreatorVersion"];

/// `OFD.xml`: each document's DocInfo (as properties) and its root.
fn read_entry(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<Vec<(String, Option<String>)>, Failure> {
    let file = zip.path.clone();
    let xml = required(out, zip, "OFD.xml")?;
    let (mut roots, mut props) = (Vec::new(), Vec::new());
    // Each DocBody's signatures part, by the index of its root.
    let mut signatures: Vec<(usize, String)> = Vec::new();
    let (mut in_info, mut open, mut value) = (false, None::<String>, String::new());
    let mut saw_ofd = false;
    events(&file, "OFD.xml", &xml, |ev| {
        match ev {
            Ev::Start("OFD", _) => saw_ofd = true,
            Ev::Start("DocInfo", _) => in_info = true,
            Ev::End("DocInfo") => in_info = false,
            Ev::Start("DocRoot", _) => {
                open = Some("DocRoot".into());
                value.clear();
            }
            Ev::End("DocRoot") => {
                open = None;
                roots.push(std::mem::take(&mut value));
            }
            Ev::Start("Signatures", _) if !in_info => {
                open = Some("Signatures".into());
                value.clear();
            }
            Ev::End("Signatures") if !in_info => {
                open = None;
                // DocRoot comes first in a DocBody; a Signatures before any
                // root belongs to the first.
                signatures.push((roots.len().saturating_sub(1), std::mem::take(&mut value)));
            }
            Ev::Start(name, a) if in_info && !matches!(name, "CustomDatas" | "Keywords") => {
                let key = if name == "CustomData" { a.get("Name").unwrap_or(name) } else { name };
                open = Some(key.to_owned());
                value.clear();
            }
            Ev::End(name) if in_info && open.is_some() && !matches!(name, "CustomDatas" | "Keywords") => {
                if let Some(key) = open.take() {
                    props.push((key, std::mem::take(&mut value)));
                }
            }
            Ev::Text(t) if open.is_some() => value.push_str(t),
            _ => {}
        }
        Ok(())
    })?;
    if !saw_ofd || roots.is_empty() {
        return Err(malformed(&file, "OFD.xml 中没有文档（缺少 OFD/DocBody/DocRoot）"));
    }
    for (name, value) in props {
        let value = value.trim().to_owned();
        if value.is_empty() || QUIET.contains(&name.as_str()) {
            continue;
        }
        let mut loc = at(&file, Part::Property);
        loc.detail = Some(name.clone());
        out.fact(FactKind::DocumentProperty, loc.clone(), format!("{name}：{}", clip(&value)))?;
        out.segment(loc, value)?;
    }
    let mut found = Vec::new();
    for (i, root) in roots.iter().enumerate() {
        let signs = match signatures.iter().find(|(n, _)| *n == i) {
            Some((_, loc)) if !loc.trim().is_empty() => Some(resolve(&file, "", loc)?),
            _ => None,
        };
        found.push((resolve(&file, "", root)?, signs));
    }
    Ok(found)
}

/// What `Document.xml` points to.
#[derive(Default)]
struct Document {
    /// Page content parts, in page order, with the page's ID.
    pages: Vec<(String, String)>,
    /// Template pages (`CommonData/TemplatePage`): ID and content part.
    templates: Vec<(String, String)>,
    annotations: Option<String>,
    attachments: Option<String>,
    custom_tags: Option<String>,
}

fn read_document(out: &mut Out<'_>, zip: &mut Zip<'_>, name: &str) -> Result<Document, Failure> {
    let file = zip.path.clone();
    let xml = required(out, zip, name)?;
    let base = dir_of(name);
    let mut doc = Document::default();
    let (mut open, mut value) = (None::<&'static str>, String::new());
    let mut bad = None;
    events(&file, name, &xml, |ev| {
        match ev {
            Ev::Start("TemplatePage", a) => match a.get("BaseLoc") {
                Some(loc) => match resolve(&file, base, loc) {
                    Ok(p) => doc.templates.push((a.get("ID").unwrap_or_default().to_owned(), p)),
                    Err(e) => bad = bad.take().or(Some(e)),
                },
                None => bad = bad.take().or(Some(malformed(&file, format!("{name} 中的模板页缺少 BaseLoc")))),
            },
            Ev::Start("Page", a) => match a.get("BaseLoc") {
                Some(loc) => match resolve(&file, base, loc) {
                    Ok(p) => doc.pages.push((a.get("ID").unwrap_or_default().to_owned(), p)),
                    Err(e) => bad = bad.take().or(Some(e)),
                },
                None => bad = bad.take().or(Some(malformed(&file, format!("{name} 中的页面缺少 BaseLoc")))),
            },
            Ev::Start(n @ ("Annotations" | "Attachments" | "CustomTags"), _) => {
                open = Some(match n {
                    "Annotations" => "Annotations",
                    "Attachments" => "Attachments",
                    _ => "CustomTags",
                });
                value.clear();
            }
            Ev::End(n) if open == Some(n) => {
                let loc = std::mem::take(&mut value);
                let which = open.take();
                if !loc.trim().is_empty() {
                    match resolve(&file, base, &loc) {
                        Ok(p) => match which {
                            Some("Annotations") => doc.annotations = Some(p),
                            Some("Attachments") => doc.attachments = Some(p),
                            _ => doc.custom_tags = Some(p),
                        },
                        Err(e) => bad = bad.take().or(Some(e)),
                    }
                }
            }
            Ev::Text(t) if open.is_some() => value.push_str(t),
            _ => {}
        }
        Ok(())
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    Ok(doc)
}

/// The `FileLoc`s of an index part (annotations, attachments, custom tags),
/// resolved against it, with the attributes of the element around each.
fn index(
    out: &mut Out<'_>,
    zip: &mut Zip<'_>,
    name: &str,
    item: &str,
    keys: &[&str],
) -> Result<Vec<(Vec<String>, String)>, Failure> {
    let file = zip.path.clone();
    let xml = required(out, zip, name)?;
    let base = dir_of(name);
    let (mut found, mut attrs, mut in_loc, mut loc) = (Vec::new(), Vec::new(), false, String::new());
    let mut bad = None;
    events(&file, name, &xml, |ev| {
        match ev {
            Ev::Start(n, a) if n == item => {
                attrs = keys.iter().map(|k| a.get(k).unwrap_or_default().to_owned()).collect();
            }
            Ev::Start("FileLoc", _) => {
                in_loc = true;
                loc.clear();
            }
            Ev::End("FileLoc") => {
                in_loc = false;
                match resolve(&file, base, &loc) {
                    Ok(p) => found.push((attrs.clone(), p)),
                    Err(e) => bad = bad.take().or(Some(e)),
                }
            }
            Ev::Text(t) if in_loc => loc.push_str(t),
            _ => {}
        }
        Ok(())
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    Ok(found)
}

/// Reads an OFD package.
pub(crate) fn read(out: &mut Out<'_>, zip: &mut Zip<'_>, depth: u32) -> Result<(), Failure> {
    let file = zip.path.clone();
    for (root, signs) in read_entry(out, zip)? {
        let doc = read_document(out, zip, &root)?;
        let mut page_of = std::collections::HashMap::new();
        // The first page using each template.
        let mut template_page: std::collections::HashMap<String, u32> = std::collections::HashMap::new();
        for (n, (id, part)) in doc.pages.iter().enumerate() {
            let page = n as u32 + 1;
            page_of.insert(id.clone(), page);
            let xml = required(out, zip, part)?;
            for template in templates_used(&file, part, &xml)? {
                template_page.entry(template).or_insert(page);
            }
            for (i, text) in text_objects(&file, part, &xml)?.into_iter().enumerate() {
                let mut loc = at(&file, Part::Body);
                loc.page = Some(page);
                loc.paragraph = Some(i as u32 + 1);
                out.segment(loc, text)?;
            }
        }
        for (id, part) in &doc.templates {
            let xml = required(out, zip, part)?;
            let used = template_page.get(id).copied();
            for (i, text) in text_objects(&file, part, &xml)?.into_iter().enumerate() {
                let mut loc = at(&file, if used.is_some() { Part::Body } else { Part::HiddenText });
                loc.page = used;
                loc.paragraph = Some(i as u32 + 1);
                loc.detail = Some(format!("模板页 {id}"));
                if used.is_none() {
                    out.fact(
                        FactKind::HiddenText,
                        loc.clone(),
                        format!("没有页面使用的模板页 {id} 中的文字：{}", clip(&text)),
                    )?;
                }
                out.segment(loc, text)?;
            }
        }
        if let Some(name) = &signs {
            read_signatures(out, zip, name, &page_of)?;
        }
        if let Some(name) = &doc.annotations {
            for (attrs, part) in index(out, zip, name, "Page", &["PageID"])? {
                let page = page_of.get(&attrs[0]).copied();
                let xml = required(out, zip, &part)?;
                read_annotations(out, &file, &part, &xml, page)?;
            }
        }
        if let Some(name) = &doc.custom_tags {
            for (attrs, part) in index(out, zip, name, "CustomTag", &["NameSpace"])? {
                let xml = required(out, zip, &part)?;
                for (element, text) in all_text(&file, &part, &xml)? {
                    let mut loc = at(&file, Part::Property);
                    loc.detail = Some(if attrs[0].is_empty() { element } else { format!("{}#{element}", attrs[0]) });
                    out.segment(loc, text)?;
                }
            }
        }
        if let Some(name) = &doc.attachments {
            for (attrs, part) in index(out, zip, name, "Attachment", &["Name", "Format"])? {
                let shown = if attrs[0].is_empty() {
                    part.rsplit('/').next().unwrap_or(&part).to_owned()
                } else {
                    attrs[0].clone()
                };
                let mut loc = at(&file, Part::Body);
                loc.detail = Some(part.clone());
                out.fact(FactKind::EmbeddedFile, loc, format!("OFD 内嵌附件 {shown}"))?;
                if depth >= out.bounds.max_depth {
                    return Err(crate::limit(&file, format!("内嵌附件嵌套超过 {} 层", out.bounds.max_depth)));
                }
                let bytes = required(out, zip, &part)?;
                let inner = if attrs[1].is_empty() || shown.contains('.') {
                    shown.clone()
                } else {
                    format!("{shown}.{}", attrs[1].to_ascii_lowercase())
                };
                read_file(out, &format!("{file}/{inner}"), "", &bytes, depth + 1)?;
            }
        }
    }
    Ok(())
}

/// One page's annotations: each annotation's text (remark, parameters and
/// appearance text) as a comment segment on its page, and a comment fact.
fn read_annotations(out: &mut Out<'_>, file: &str, part: &str, xml: &[u8], page: Option<u32>) -> Result<(), Failure> {
    let mut annots: Vec<(String, String, String)> = Vec::new();
    let (mut open, mut cur) = (false, (String::new(), String::new(), String::new()));
    events(file, part, xml, |ev| {
        match ev {
            Ev::Start("Annot", a) => {
                open = true;
                cur = (
                    a.get("Type").unwrap_or_default().to_owned(),
                    a.get("Creator").unwrap_or_default().to_owned(),
                    String::new(),
                );
            }
            Ev::End("Annot") if open => {
                open = false;
                annots.push(std::mem::take(&mut cur));
            }
            Ev::Text(t) if open && !t.trim().is_empty() => {
                if !cur.2.is_empty() {
                    cur.2.push(' ');
                }
                cur.2.push_str(t.trim());
            }
            _ => {}
        }
        Ok(())
    })?;
    for (ty, creator, text) in annots {
        let mut loc = at(file, Part::Comment);
        loc.page = page;
        loc.detail = Some(if creator.is_empty() { ty.clone() } else { format!("{ty}，{creator}") });
        if !text.trim().is_empty() {
            out.fact(FactKind::Comment, loc.clone(), format!("{ty} 注释：{}", clip(&text)))?;
        }
        out.segment(loc, text)?;
    }
    Ok(())
}

/// The `TemplateID`s a page's `Template` elements name.
fn templates_used(file: &str, part: &str, xml: &[u8]) -> Result<Vec<String>, Failure> {
    let mut ids = Vec::new();
    events(file, part, xml, |ev| {
        if let Ev::Start("Template", a) = ev
            && let Some(id) = a.get("TemplateID")
        {
            ids.push(id.to_owned());
        }
        Ok(())
    })?;
    Ok(ids)
}

/// The signatures index and each `Signature.xml`: one document property per
/// signature or seal (type, signing time, page, provider, and the names in
/// its signed value).
fn read_signatures(
    out: &mut Out<'_>,
    zip: &mut Zip<'_>,
    name: &str,
    page_of: &std::collections::HashMap<String, u32>,
) -> Result<(), Failure> {
    let file = zip.path.clone();
    let xml = required(out, zip, name)?;
    let base = dir_of(name);
    let (mut found, mut bad) = (Vec::new(), None);
    events(&file, name, &xml, |ev| {
        if let Ev::Start("Signature", a) = ev {
            match a.get("BaseLoc").map(|l| resolve(&file, base, l)) {
                Some(Ok(p)) => found.push((a.get("Type").unwrap_or("Seal").to_owned(), p)),
                Some(Err(e)) => bad = bad.take().or(Some(e)),
                None => bad = bad.take().or(Some(malformed(&file, format!("{name} 中的签名缺少 BaseLoc")))),
            }
        }
        Ok(())
    })?;
    if let Some(e) = bad {
        return Err(e);
    }
    for (ty, part) in found {
        let xml = required(out, zip, &part)?;
        let base = dir_of(&part);
        let (mut time, mut pages, mut provider, mut value_loc) = (String::new(), Vec::new(), String::new(), None);
        let (mut open, mut text) = (None::<&'static str>, String::new());
        events(&file, &part, &xml, |ev| {
            match ev {
                Ev::Start("Provider", a) => {
                    provider = [a.get("ProviderName"), a.get("Company")]
                        .into_iter()
                        .flatten()
                        .filter(|s| !s.trim().is_empty())
                        .collect::<Vec<_>>()
                        .join("，");
                }
                Ev::Start("StampAnnot", a) => {
                    if let Some(page) = a.get("PageRef").and_then(|p| page_of.get(p)) {
                        pages.push(*page);
                    }
                }
                Ev::Start(n @ ("SignatureDateTime" | "SignedValue"), _) => {
                    open = Some(if n == "SignedValue" { "SignedValue" } else { "SignatureDateTime" });
                    text.clear();
                }
                Ev::End(n) if open == Some(n) => {
                    let v = std::mem::take(&mut text).trim().to_owned();
                    if open.take() == Some("SignedValue") {
                        value_loc = Some(v);
                    } else {
                        time = v;
                    }
                }
                Ev::Text(t) if open.is_some() => text.push_str(t),
                _ => {}
            }
            Ok(())
        })?;
        let names = match value_loc.filter(|v| !v.is_empty()) {
            Some(loc) => {
                let path = resolve(&file, base, &loc)?;
                zip.read(out, &path)?.map(|der| der_strings(&der)).unwrap_or_default()
            }
            None => Vec::new(),
        };
        let what = if ty.eq_ignore_ascii_case("Sign") { "数字签名" } else { "电子签章" };
        let mut detail = vec![what.to_owned()];
        if !names.is_empty() {
            detail.push(format!("签章信息 {}", names.join("、")));
        }
        if !time.is_empty() {
            detail.push(format!("签署时间 {time}"));
        }
        if let Some(first) = pages.first() {
            detail.push(format!("第 {first} 页"));
        }
        if !provider.is_empty() {
            detail.push(format!("签章组件 {provider}"));
        }
        let detail = detail.join("，");
        let mut loc = at(&file, Part::Property);
        loc.page = pages.first().copied();
        loc.detail = Some(part.clone());
        out.fact(FactKind::DocumentProperty, loc.clone(), clip(&detail))?;
        out.segment(loc, detail)?;
    }
    Ok(())
}

/// Text strings a DER value holds (UTF8String, PrintableString, IA5String,
/// BMPString), in order, without duplicates and without what looks like an
/// identifier (digits and dots, a bare file name): in an SES_Signature
/// (GB/T 38540) the seal's name, its maker and the signer's certificate
/// subject. Constructed values are entered, and so is an OCTET STRING that
/// parses as DER in full (the signer's certificate is one); nothing is
/// verified. Bounded: depth 16, 64 strings.
fn der_strings(der: &[u8]) -> Vec<String> {
    fn header(b: &[u8]) -> Option<(u8, usize, usize)> {
        let tag = *b.first()?;
        if tag & 0x1F == 0x1F {
            return None; // high tag numbers: not in these structures
        }
        let first = *b.get(1)?;
        let (len, head) = if first < 0x80 {
            (usize::from(first), 2)
        } else {
            let n = usize::from(first & 0x7F);
            if n == 0 || n > 4 {
                return None;
            }
            let len = b.get(2..2 + n)?.iter().fold(0usize, |acc, x| (acc << 8) | usize::from(*x));
            (len, 2 + n)
        };
        (head.checked_add(len)? <= b.len()).then_some((tag, head, len))
    }
    fn parses(b: &[u8]) -> bool {
        let mut rest = b;
        while !rest.is_empty() {
            match header(rest) {
                Some((_, h, l)) => rest = &rest[h + l..],
                None => return false,
            }
        }
        !b.is_empty()
    }
    fn walk(b: &[u8], depth: u32, found: &mut Vec<String>) {
        let mut rest = b;
        while let Some((tag, h, l)) = header(rest) {
            if found.len() >= 64 {
                return;
            }
            let body = &rest[h..h + l];
            match tag {
                0x0C | 0x13 | 0x16 => found.push(String::from_utf8_lossy(body).into_owned()),
                0x1E => {
                    let units: Vec<u16> = body.chunks_exact(2).map(|c| u16::from_be_bytes([c[0], c[1]])).collect();
                    found.push(String::from_utf16_lossy(&units));
                }
                0x04 if depth < 16 && parses(body) => walk(body, depth + 1, found),
                t if t & 0x20 != 0 && depth < 16 => walk(body, depth + 1, found),
                _ => {}
            }
            rest = &rest[h + l..];
        }
    }
    let mut found = Vec::new();
    walk(der, 0, &mut found);
    let mut seen = std::collections::HashSet::new();
    found
        .into_iter()
        .map(|s| s.trim().to_owned())
        .filter(|s| {
            let identifier = s.chars().all(|c| c.is_ascii_digit() || c == '.')
                || (s.is_ascii() && s.contains('.') && !s.contains(' '));
            !identifier
        })
        .filter(|s| seen.insert(s.clone()))
        .collect()
}
