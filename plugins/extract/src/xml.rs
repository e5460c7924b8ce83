//! A thin, bounded layer over quick-xml: elements by local name (namespace
//! prefixes dropped), attributes unescaped, text with character and the
//! five predefined entity references resolved. quick-xml never expands DTD
//! entities and does not recurse, so neither entity bombs nor deep nesting
//! reach further than the input's own size.

use quick_xml::Reader;
use quick_xml::events::Event;

use crate::{Failure, malformed};

/// One XML event, by local name.
pub(crate) enum Ev<'a> {
    /// An element starts (an empty element is `Start` then `End`).
    Start(&'a str, &'a Attrs),
    /// An element ends.
    End(&'a str),
    /// Text (character data).
    Text(&'a str),
}

/// An element's attributes by local name.
#[derive(Default)]
pub(crate) struct Attrs(Vec<(String, String)>);

impl Attrs {
    pub(crate) fn get(&self, name: &str) -> Option<&str> {
        self.0.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

fn local(name: &str) -> String {
    name.rsplit_once(':').map_or(name, |(_, l)| l).to_owned()
}

/// Replaces `&amp;`-style and `&#...;` references.
pub(crate) fn unescape(s: &str) -> String {
    if !s.contains('&') {
        return s.to_owned();
    }
    let mut out = String::with_capacity(s.len());
    let mut rest = s;
    while let Some(i) = rest.find('&') {
        out.push_str(&rest[..i]);
        rest = &rest[i..];
        match rest.find(';').filter(|&j| j <= 12) {
            Some(j) => {
                match resolve(&rest[1..j]) {
                    Some(c) => out.push(c),
                    None => out.push_str(&rest[..=j]),
                }
                rest = &rest[j + 1..];
            }
            None => {
                out.push('&');
                rest = &rest[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

/// The character a reference name (`amp`, `#20013`, `#x4E2D`) stands for.
pub(crate) fn resolve(name: &str) -> Option<char> {
    match name {
        "amp" => Some('&'),
        "lt" => Some('<'),
        "gt" => Some('>'),
        "quot" => Some('"'),
        "apos" => Some('\''),
        "nbsp" => Some('\u{a0}'),
        _ => {
            let num = name.strip_prefix('#')?;
            let code = match num.strip_prefix(['x', 'X']) {
                Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                None => num.parse().ok()?,
            };
            char::from_u32(code)
        }
    }
}

/// Calls `f` for every event of the XML document `xml` (part `part` of
/// `file`, for messages).
pub(crate) fn events(
    file: &str,
    part: &str,
    xml: &[u8],
    mut f: impl FnMut(Ev<'_>) -> Result<(), Failure>,
) -> Result<(), Failure> {
    let mut reader = Reader::from_reader(xml);
    reader.config_mut().check_end_names = false;
    let mut buf = Vec::new();
    let bad = |e: &dyn std::fmt::Display| malformed(file, format!("{part} 不是有效的 XML：{e}"));
    loop {
        let event = reader.read_event_into(&mut buf).map_err(|e| bad(&e))?;
        match event {
            Event::Start(ref e) | Event::Empty(ref e) => {
                let name = local(e.name().as_ref());
                let mut attrs = Attrs::default();
                for a in e.attributes().with_checks(false) {
                    let a = a.map_err(|e| bad(&e))?;
                    attrs.0.push((local(a.key.as_ref()), unescape(&a.value)));
                }
                f(Ev::Start(&name, &attrs))?;
                if matches!(event, Event::Empty(_)) {
                    f(Ev::End(&name))?;
                }
            }
            Event::End(e) => f(Ev::End(&local(e.name().as_ref())))?,
            Event::Text(t) => f(Ev::Text(&t))?,
            Event::CData(t) => f(Ev::Text(&t))?,
            Event::GeneralRef(r) => {
                let name = r.to_string();
                match resolve(&name) {
                    Some(c) => f(Ev::Text(c.encode_utf8(&mut [0; 4])))?,
                    None => f(Ev::Text(&format!("&{name};")))?,
                }
            }
            Event::Eof => return Ok(()),
            _ => {}
        }
        buf.clear();
    }
}
