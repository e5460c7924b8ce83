//! HTML: visible text by block (paragraph), text a browser would not show
//! (`hidden`, `display:none`, `visibility:hidden`, zero font size or
//! opacity, off-screen positioning) as hidden-text, and every link, hidden
//! when it sits in hidden content or shows no text (暗链).
//!
//! A small tokenizer rather than a full HTML5 parser: it only needs tags,
//! attributes and text, it is linear, and it keeps no tree (a stack of open
//! elements, bounded).

use crate::docx::clip;
use crate::xml::unescape;
use crate::{FactKind, Failure, Out, Part, at, limit};

const MAX_OPEN: usize = 1_024;
const VOID: &[&str] =
    &["area", "base", "br", "col", "embed", "hr", "img", "input", "link", "meta", "param", "source", "track", "wbr"];
const BLOCK: &[&str] = &[
    "p",
    "div",
    "br",
    "li",
    "tr",
    "td",
    "th",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "section",
    "article",
    "table",
    "ul",
    "ol",
    "blockquote",
    "pre",
    "hr",
    "title",
    "header",
    "footer",
    "nav",
];
const RAW: &[&str] = &["script", "style", "noscript", "template", "textarea"];

/// Whether an element's own attributes hide it.
fn hides(attrs: &[(String, String)]) -> bool {
    attrs.iter().any(|(k, v)| {
        if k == "hidden" {
            return true;
        }
        if k != "style" {
            return false;
        }
        let s: String = v.to_ascii_lowercase().chars().filter(|c| !c.is_whitespace()).collect();
        let zero = |prop: &str| {
            s.split(';').any(|d| {
                d.strip_prefix(prop).is_some_and(|rest| {
                    let num: String = rest.chars().take_while(|c| c.is_ascii_digit() || *c == '.').collect();
                    num.parse::<f64>().is_ok_and(|n| n == 0.0)
                })
            })
        };
        let far_negative = |prop: &str| {
            s.split(';').any(|d| {
                d.strip_prefix(prop).and_then(|r| r.strip_prefix('-')).is_some_and(|rest| {
                    let num: String = rest.chars().take_while(char::is_ascii_digit).collect();
                    num.parse::<u32>().is_ok_and(|n| n >= 500)
                })
            })
        };
        s.contains("display:none")
            || s.contains("visibility:hidden")
            || zero("font-size:")
            || zero("opacity:")
            || far_negative("left:")
            || far_negative("top:")
            || far_negative("text-indent:")
    })
}

struct Page<'f> {
    file: &'f str,
    paragraph: u32,
    visible: String,
    hidden: String,
    /// Open elements: name and whether they (or an ancestor) are hidden.
    open: Vec<(String, bool)>,
    /// The open link: target, hidden, text seen.
    link: Option<(String, bool, String)>,
}

impl Page<'_> {
    fn hidden(&self) -> bool {
        self.open.last().is_some_and(|(_, h)| *h)
    }

    fn flush(&mut self, out: &mut Out<'_>) -> Result<(), Failure> {
        let n = Some(self.paragraph.max(1));
        if !self.visible.trim().is_empty() {
            let mut loc = at(self.file, Part::Body);
            loc.paragraph = n;
            out.segment(loc, std::mem::take(&mut self.visible))?;
        }
        if !self.hidden.trim().is_empty() {
            let mut loc = at(self.file, Part::HiddenText);
            loc.paragraph = n;
            let text = std::mem::take(&mut self.hidden);
            out.fact(FactKind::HiddenText, loc.clone(), format!("隐藏文字：{}", clip(&text)))?;
            out.segment(loc, text)?;
        }
        self.visible.clear();
        self.hidden.clear();
        self.paragraph += 1;
        Ok(())
    }

    fn text(&mut self, raw: &str) {
        let t = unescape(raw);
        if let Some((_, _, seen)) = &mut self.link {
            seen.push_str(&t);
        }
        if self.hidden() { self.hidden.push_str(&t) } else { self.visible.push_str(&t) }
    }

    fn end_link(&mut self, out: &mut Out<'_>) -> Result<(), Failure> {
        if let Some((target, hidden, seen)) = self.link.take() {
            let hidden = hidden || seen.trim().is_empty();
            let mut loc = at(self.file, Part::Link);
            loc.paragraph = Some(self.paragraph.max(1));
            loc.detail = Some(target.clone());
            out.fact(if hidden { FactKind::HiddenLink } else { FactKind::Link }, loc, target)?;
        }
        Ok(())
    }
}

/// Parses a start tag's name and attributes from the text after `<`.
fn parse_tag(tag: &str) -> (String, Vec<(String, String)>) {
    let mut chars = tag.char_indices().peekable();
    let mut name = String::new();
    while let Some(&(_, c)) = chars.peek() {
        if c.is_whitespace() || c == '/' {
            break;
        }
        name.push(c.to_ascii_lowercase());
        chars.next();
    }
    let rest: String = chars.map(|(_, c)| c).collect();
    let mut attrs = Vec::new();
    let mut s = rest.as_str();
    loop {
        s = s.trim_start_matches(|c: char| c.is_whitespace() || c == '/');
        if s.is_empty() {
            break;
        }
        let end = s.find(|c: char| c.is_whitespace() || c == '=' || c == '/').unwrap_or(s.len());
        let key = s[..end].to_ascii_lowercase();
        s = s[end..].trim_start();
        let mut value = String::new();
        if let Some(r) = s.strip_prefix('=') {
            let r = r.trim_start();
            if let Some(q) = r.chars().next().filter(|c| *c == '"' || *c == '\'') {
                let body = &r[1..];
                let close = body.find(q).unwrap_or(body.len());
                value = unescape(&body[..close]);
                s = body.get(close + 1..).unwrap_or("");
            } else {
                let close = r.find(char::is_whitespace).unwrap_or(r.len());
                value = unescape(&r[..close]);
                s = &r[close..];
            }
        }
        if key.is_empty() {
            break;
        }
        attrs.push((key, value));
    }
    (name, attrs)
}

/// Reads an HTML document.
pub(crate) fn read(out: &mut Out<'_>, file: &str, html: &str) -> Result<(), Failure> {
    let mut page =
        Page { file, paragraph: 1, visible: String::new(), hidden: String::new(), open: Vec::new(), link: None };
    let mut rest = html;
    while let Some(lt) = rest.find('<') {
        page.text(&rest[..lt]);
        rest = &rest[lt + 1..];
        if let Some(r) = rest.strip_prefix("!--") {
            rest = r.find("-->").map_or("", |i| &r[i + 3..]);
            continue;
        }
        if rest.starts_with('!') || rest.starts_with('?') {
            rest = rest.find('>').map_or("", |i| &rest[i + 1..]);
            continue;
        }
        let Some(gt) = rest.find('>') else {
            break;
        };
        let tag = &rest[..gt];
        rest = &rest[gt + 1..];
        if let Some(closing) = tag.strip_prefix('/') {
            let name = closing.trim().to_ascii_lowercase();
            if name == "a" {
                page.end_link(out)?;
            }
            if let Some(i) = page.open.iter().rposition(|(n, _)| *n == name) {
                page.open.truncate(i);
            }
            if BLOCK.contains(&name.as_str()) {
                page.flush(out)?;
            }
            continue;
        }
        let (name, attrs) = parse_tag(tag);
        if name.is_empty() {
            page.text("<");
            page.text(tag);
            continue;
        }
        if BLOCK.contains(&name.as_str()) {
            page.flush(out)?;
        }
        let hidden = page.hidden() || hides(&attrs);
        if name == "a"
            && let Some((_, href)) = attrs.iter().find(|(k, _)| k == "href")
        {
            page.end_link(out)?;
            page.link = Some((href.trim().to_owned(), hidden, String::new()));
        }
        if RAW.contains(&name.as_str()) {
            let close = format!("</{name}");
            let lower = rest.to_ascii_lowercase();
            rest = lower.find(&close).map_or("", |i| &rest[i..]);
            continue;
        }
        if VOID.contains(&name.as_str()) || tag.ends_with('/') {
            if name == "img"
                && let Some((_, alt)) = attrs.iter().find(|(k, _)| k == "alt")
                && let Some((_, _, seen)) = &mut page.link
            {
                seen.push_str(alt);
            }
            continue;
        }
        if page.open.len() >= MAX_OPEN {
            return Err(limit(file, format!("HTML 元素嵌套超过 {MAX_OPEN} 层")));
        }
        page.open.push((name, hidden));
    }
    page.text(rest);
    page.end_link(out)?;
    page.flush(out)
}
