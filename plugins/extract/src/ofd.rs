//! OFD (GB/T 33190), the national fixed-layout format agencies publish 公文
//! in: a ZIP whose `OFD.xml` names each document's `Document.xml` and its
//! `DocInfo` metadata; `Document.xml` lists the pages (`Pages/Page_N/
//! Content.xml`, whose `TextObject`/`TextCode` elements hold the text), the
//! annotations, the attachments and the custom tags.
//!
//! Out come the text of each page with its 1-based page number (one segment
//! per text object, its paragraph the object's index on the page), the
//! annotations' text with their page (watermarks are annotations), the
//! DocInfo properties and custom data, the custom tags' text, and every
//! embedded attachment as an `embedded-file` fact and then read as a file of
//! its own (`公文.ofd/名单.xlsx`), within the same bounds as DOCX and XLSX.
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
fn read_entry(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<Vec<String>, Failure> {
    let file = zip.path.clone();
    let xml = required(out, zip, "OFD.xml")?;
    let (mut roots, mut props) = (Vec::new(), Vec::new());
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
    roots.iter().map(|r| resolve(&file, "", r)).collect()
}

/// What `Document.xml` points to.
#[derive(Default)]
struct Document {
    /// Page content parts, in page order, with the page's ID.
    pages: Vec<(String, String)>,
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
    for root in read_entry(out, zip)? {
        let doc = read_document(out, zip, &root)?;
        let mut page_of = std::collections::HashMap::new();
        for (n, (id, part)) in doc.pages.iter().enumerate() {
            let page = n as u32 + 1;
            page_of.insert(id.clone(), page);
            let xml = required(out, zip, part)?;
            for (i, text) in text_objects(&file, part, &xml)?.into_iter().enumerate() {
                let mut loc = at(&file, Part::Body);
                loc.page = Some(page);
                loc.paragraph = Some(i as u32 + 1);
                out.segment(loc, text)?;
            }
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
