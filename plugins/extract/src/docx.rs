//! DOCX (WordprocessingML): the body paragraph by paragraph as it reads with
//! every tracked change accepted, and, as segments and facts of their own,
//! what a reader does not see: tracked deletions and insertions (with their
//! authors), hidden text (`w:vanish`), comments, headers and footers (with
//! watermarks), footnotes and endnotes, document properties (core, app and
//! custom) and external links.

use std::collections::HashMap;

use crate::archive::Zip;
use crate::xml::{Ev, events};
use crate::{FactKind, Failure, Locator, Out, Part, at};

/// The text of one paragraph, by what a reader sees of it.
#[derive(Default)]
struct Para {
    n: u32,
    body: String,
    deleted: String,
    deleted_by: Option<String>,
    inserted: String,
    inserted_by: Option<String>,
    hidden: String,
}

/// One story (the main document, a header, the comments ...).
struct Story<'s> {
    file: &'s str,
    /// The OOXML part, e.g. `word/header1.xml`, for `detail`.
    part_name: &'s str,
    base: Part,
    rels: &'s HashMap<String, String>,
    paragraphs: u32,
    stack: Vec<Para>,
    del: Vec<Option<String>>,
    ins: Vec<Option<String>>,
    in_rpr: bool,
    run_hidden: bool,
    run: String,
    in_text: bool,
    instr: String,
    in_instr: bool,
    /// The open hyperlink's target and whether any visible text was in it.
    link: Option<(String, bool)>,
    comment_author: Option<String>,
    comment_text: String,
}

impl Story<'_> {
    fn locator(&self, part: Part, paragraph: Option<u32>, detail: Option<String>) -> Locator {
        let mut loc = at(self.file, part);
        loc.paragraph = paragraph;
        loc.detail = detail.or_else(|| (self.base != Part::Body).then(|| self.part_name.to_owned()));
        loc
    }

    fn event(&mut self, out: &mut Out<'_>, ev: Ev<'_>) -> Result<(), Failure> {
        match ev {
            Ev::Start(name, attrs) => match name {
                "p" => {
                    self.paragraphs += 1;
                    self.stack.push(Para { n: self.paragraphs, ..Para::default() });
                }
                "del" | "moveFrom" => self.del.push(attrs.get("author").map(str::to_owned)),
                "ins" | "moveTo" => self.ins.push(attrs.get("author").map(str::to_owned)),
                "r" => {
                    self.run.clear();
                    self.run_hidden = false;
                }
                "rPr" => self.in_rpr = true,
                "vanish" | "specVanish" if self.in_rpr => {
                    self.run_hidden = !matches!(attrs.get("val"), Some("0" | "false" | "off"));
                }
                "t" | "delText" => self.in_text = true,
                "instrText" => {
                    self.in_instr = true;
                    self.instr.clear();
                }
                "tab" if !self.in_rpr => self.run.push('\t'),
                "br" | "cr" => self.run.push('\n'),
                "hyperlink" => {
                    let target = attrs.get("id").and_then(|id| self.rels.get(id).cloned());
                    let anchor = attrs.get("anchor").map(|a| format!("#{a}"));
                    self.link = target.or(anchor).map(|t| (t, false));
                }
                "comment" => {
                    self.comment_author = attrs.get("author").map(str::to_owned);
                    self.comment_text.clear();
                }
                // VML watermarks: `<v:textpath string="内部资料"/>`.
                "textpath" => {
                    if let Some(s) = attrs.get("string").filter(|s| !s.trim().is_empty()) {
                        let loc = self.locator(self.base, None, Some(format!("{} 水印", self.part_name)));
                        out.segment(loc, s.to_owned())?;
                    }
                }
                _ => {}
            },
            Ev::Text(t) => {
                if self.in_text {
                    self.run.push_str(t);
                } else if self.in_instr {
                    self.instr.push_str(t);
                }
            }
            Ev::End(name) => match name {
                "t" | "delText" => self.in_text = false,
                "rPr" => self.in_rpr = false,
                "instrText" => {
                    self.in_instr = false;
                    let instr = self.instr.trim();
                    if let Some(rest) = instr.strip_prefix("HYPERLINK") {
                        let target = rest.trim().trim_start_matches("\\l").trim().trim_matches('"').to_owned();
                        let n = self.stack.last().map(|p| p.n);
                        out.fact(FactKind::Link, self.locator(Part::Link, n, Some(target.clone())), target)?;
                    }
                }
                "r" => self.end_run(),
                "del" | "moveFrom" => drop(self.del.pop()),
                "ins" | "moveTo" => drop(self.ins.pop()),
                "hyperlink" => {
                    if let Some((target, visible)) = self.link.take() {
                        let n = self.stack.last().map(|p| p.n);
                        let kind = if visible { FactKind::Link } else { FactKind::HiddenLink };
                        out.fact(kind, self.locator(Part::Link, n, Some(target.clone())), target)?;
                    }
                }
                "p" => {
                    if let Some(p) = self.stack.pop() {
                        self.end_paragraph(out, p)?;
                    }
                }
                "comment" => {
                    let text = std::mem::take(&mut self.comment_text);
                    let author = self.comment_author.take();
                    if !text.trim().is_empty() {
                        let mut loc = at(self.file, Part::Comment);
                        loc.detail = author.clone();
                        out.segment(loc.clone(), text.clone())?;
                        let who = author.map(|a| format!("（{a}）")).unwrap_or_default();
                        out.fact(FactKind::Comment, loc, format!("批注{who}：{}", clip(&text)))?;
                    }
                }
                _ => {}
            },
        }
        Ok(())
    }

    fn end_run(&mut self) {
        let text = std::mem::take(&mut self.run);
        let Some(p) = self.stack.last_mut() else {
            return;
        };
        if let Some(author) = self.del.last() {
            p.deleted.push_str(&text);
            if p.deleted_by.is_none() {
                p.deleted_by.clone_from(author);
            }
            return;
        }
        if self.run_hidden {
            p.hidden.push_str(&text);
            return;
        }
        if let Some((_, visible)) = &mut self.link {
            *visible |= !text.trim().is_empty();
        }
        p.body.push_str(&text);
        if let Some(author) = self.ins.last() {
            p.inserted.push_str(&text);
            if p.inserted_by.is_none() {
                p.inserted_by.clone_from(author);
            }
        }
    }

    fn end_paragraph(&mut self, out: &mut Out<'_>, p: Para) -> Result<(), Failure> {
        let n = Some(p.n);
        if self.base == Part::Comment {
            if !self.comment_text.is_empty() {
                self.comment_text.push('\n');
            }
            self.comment_text.push_str(&p.body);
            self.comment_text.push_str(&p.deleted);
            self.comment_text.push_str(&p.hidden);
            return Ok(());
        }
        out.segment(self.locator(self.base, n, None), p.body)?;
        let by = |a: &Option<String>| a.as_ref().map(|a| format!("（{a}）")).unwrap_or_default();
        if !p.deleted.trim().is_empty() {
            let loc = self.locator(Part::Deletion, n, p.deleted_by.clone());
            out.fact(
                FactKind::TrackedDeletion,
                loc.clone(),
                format!("修订删除{}：{}", by(&p.deleted_by), clip(&p.deleted)),
            )?;
            out.segment(loc, p.deleted)?;
        }
        if !p.inserted.trim().is_empty() {
            let loc = self.locator(Part::Insertion, n, p.inserted_by.clone());
            out.fact(
                FactKind::TrackedInsertion,
                loc,
                format!("修订插入{}：{}", by(&p.inserted_by), clip(&p.inserted)),
            )?;
        }
        if !p.hidden.trim().is_empty() {
            let loc = self.locator(Part::HiddenText, n, None);
            out.fact(FactKind::HiddenText, loc.clone(), format!("隐藏文字：{}", clip(&p.hidden)))?;
            out.segment(loc, p.hidden)?;
        }
        Ok(())
    }
}

/// The first 60 characters of `text`, for a fact's detail.
pub(crate) fn clip(text: &str) -> String {
    let text = text.trim();
    match text.char_indices().nth(60) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}

/// External link targets by relationship id, from a `.rels` part.
fn relationships(out: &mut Out<'_>, zip: &mut Zip<'_>, name: &str) -> Result<HashMap<String, String>, Failure> {
    let mut rels = HashMap::new();
    if let Some(xml) = zip.read(out, name)? {
        let file = zip.path.clone();
        events(&file, name, &xml, |ev| {
            if let Ev::Start("Relationship", a) = ev
                && let (Some(id), Some(target)) = (a.get("Id"), a.get("Target"))
            {
                rels.insert(id.to_owned(), target.to_owned());
            }
            Ok(())
        })?;
    }
    Ok(rels)
}

fn read_story(
    out: &mut Out<'_>,
    zip: &mut Zip<'_>,
    part_name: &str,
    base: Part,
    rels: &HashMap<String, String>,
) -> Result<(), Failure> {
    let Some(xml) = zip.read(out, part_name)? else {
        return Ok(());
    };
    let file = zip.path.clone();
    let mut story = Story {
        file: &file,
        part_name,
        base,
        rels,
        paragraphs: 0,
        stack: Vec::new(),
        del: Vec::new(),
        ins: Vec::new(),
        in_rpr: false,
        run_hidden: false,
        run: String::new(),
        in_text: false,
        instr: String::new(),
        in_instr: false,
        link: None,
        comment_author: None,
        comment_text: String::new(),
    };
    events(&file, part_name, &xml, |ev| story.event(out, ev))
}

/// Properties worth a fact: who wrote and changed the file, and for whom.
const TELLING: &[&str] = &["creator", "lastModifiedBy", "Company", "Manager", "revision"];

pub(crate) fn read_properties(out: &mut Out<'_>, zip: &mut Zip<'_>, part_name: &str) -> Result<(), Failure> {
    let Some(xml) = zip.read(out, part_name)? else {
        return Ok(());
    };
    let file = zip.path.clone();
    let custom = part_name.ends_with("custom.xml");
    let mut open: Option<String> = None;
    let mut value = String::new();
    let mut found = Vec::new();
    events(&file, part_name, &xml, |ev| {
        match ev {
            Ev::Start(name, a) => {
                if custom {
                    if name == "property" {
                        open = a.get("name").map(str::to_owned);
                        value.clear();
                    }
                } else if !matches!(name, "coreProperties" | "Properties") {
                    open = Some(name.to_owned());
                    value.clear();
                }
            }
            Ev::Text(t) => value.push_str(t),
            Ev::End(name) => {
                let closes = if custom { name == "property" } else { open.as_deref() == Some(name) };
                if closes && let Some(n) = open.take() {
                    found.push((n, std::mem::take(&mut value)));
                }
            }
        }
        Ok(())
    })?;
    for (name, value) in found {
        let value = value.trim().to_owned();
        if value.is_empty() || (!custom && matches!(name.as_str(), "created" | "modified" | "TotalTime")) {
            continue;
        }
        let mut loc = at(&file, Part::Property);
        loc.detail = Some(name.clone());
        if custom || TELLING.contains(&name.as_str()) {
            out.fact(FactKind::DocumentProperty, loc.clone(), format!("{name}：{}", clip(&value)))?;
        }
        out.segment(loc, value)?;
    }
    Ok(())
}

/// Reads a DOCX.
pub(crate) fn read(out: &mut Out<'_>, zip: &mut Zip<'_>) -> Result<(), Failure> {
    let rels = relationships(out, zip, "word/_rels/document.xml.rels")?;
    read_story(out, zip, "word/document.xml", Part::Body, &rels)?;
    for name in zip.names() {
        let Some(stem) = name.strip_prefix("word/").and_then(|n| n.strip_suffix(".xml")) else {
            continue;
        };
        let part = if stem.starts_with("header") {
            Part::Header
        } else if stem.starts_with("footer") {
            Part::Footer
        } else if stem == "footnotes" || stem == "endnotes" {
            Part::Footnote
        } else if stem == "comments" {
            Part::Comment
        } else {
            continue;
        };
        let rels = relationships(out, zip, &format!("word/_rels/{stem}.xml.rels"))?;
        let before = out.segments.len();
        read_story(out, zip, &name, part, &rels)?;
        if matches!(part, Part::Header | Part::Footer) {
            let text: Vec<&str> = out.segments[before..].iter().map(|s| s.text.trim()).collect();
            if !text.is_empty() {
                let mut loc = at(&zip.path, part);
                loc.detail = Some(name.clone());
                out.fact(FactKind::HeaderFooter, loc, clip(&text.join(" ")))?;
            }
        }
    }
    for part in ["docProps/core.xml", "docProps/app.xml", "docProps/custom.xml"] {
        read_properties(out, zip, part)?;
    }
    Ok(())
}
