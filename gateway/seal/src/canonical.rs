//! RFC 8785 (JSON Canonicalization Scheme) for the JSON values the gateway
//! produces: objects, arrays, strings, integers, booleans and null.
//!
//! Floating-point numbers are refused rather than canonicalised: nothing we
//! sign or digest carries one, and refusing keeps us clear of the one part of
//! JCS (ECMAScript number formatting) that implementations get wrong.
//!
//! Object members are sorted by their UTF-16 code units, as JCS requires;
//! strings are escaped exactly as ECMAScript's `JSON.stringify` does.

use serde_json::Value;

/// Why a value has no canonical form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum CanonicalError {
    /// A number that is not an integer representable in i64 or u64.
    #[error("number {0} is not an integer; the canonical form carries no floats")]
    NotAnInteger(String),
}

/// Serialises `value` in RFC 8785 canonical form.
///
/// ```
/// let v = serde_json::json!({"b": 1, "a": ["x", null, true]});
/// assert_eq!(seal::canonical::to_vec(&v).unwrap(), br#"{"a":["x",null,true],"b":1}"#);
/// ```
pub fn to_vec(value: &Value) -> Result<Vec<u8>, CanonicalError> {
    let mut out = Vec::with_capacity(256);
    write_value(&mut out, value)?;
    Ok(out)
}

fn write_value(out: &mut Vec<u8>, value: &Value) -> Result<(), CanonicalError> {
    match value {
        Value::Null => out.extend_from_slice(b"null"),
        Value::Bool(true) => out.extend_from_slice(b"true"),
        Value::Bool(false) => out.extend_from_slice(b"false"),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                out.extend_from_slice(i.to_string().as_bytes());
            } else if let Some(u) = n.as_u64() {
                out.extend_from_slice(u.to_string().as_bytes());
            } else {
                return Err(CanonicalError::NotAnInteger(n.to_string()));
            }
        }
        Value::String(s) => write_string(out, s),
        Value::Array(items) => {
            out.push(b'[');
            for (i, item) in items.iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_value(out, item)?;
            }
            out.push(b']');
        }
        Value::Object(map) => {
            let mut members: Vec<(&String, &Value)> = map.iter().collect();
            members.sort_by(|(a, _), (b, _)| a.encode_utf16().cmp(b.encode_utf16()));
            out.push(b'{');
            for (i, (key, item)) in members.into_iter().enumerate() {
                if i > 0 {
                    out.push(b',');
                }
                write_string(out, key);
                out.push(b':');
                write_value(out, item)?;
            }
            out.push(b'}');
        }
    }
    Ok(())
}

fn write_string(out: &mut Vec<u8>, s: &str) {
    out.push(b'"');
    for ch in s.chars() {
        match ch {
            '"' => out.extend_from_slice(b"\\\""),
            '\\' => out.extend_from_slice(b"\\\\"),
            '\u{08}' => out.extend_from_slice(b"\\b"),
            '\u{09}' => out.extend_from_slice(b"\\t"),
            '\u{0A}' => out.extend_from_slice(b"\\n"),
            '\u{0C}' => out.extend_from_slice(b"\\f"),
            '\u{0D}' => out.extend_from_slice(b"\\r"),
            c if (c as u32) < 0x20 => {
                out.extend_from_slice(format!("\\u{:04x}", c as u32).as_bytes());
            }
            c => {
                let mut buf = [0u8; 4];
                out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
        }
    }
    out.push(b'"');
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[track_caller]
    fn check(value: Value, expected: &str) {
        assert_eq!(String::from_utf8(to_vec(&value).unwrap()).unwrap(), expected);
    }

    #[test]
    fn sorts_members_recursively() {
        check(json!({"z": {"b": 2, "a": 1}, "a": []}), r#"{"a":[],"z":{"a":1,"b":2}}"#);
    }

    #[test]
    fn escapes_like_json_stringify() {
        check(json!("a\"b\\c\n\u{1}é/中"), "\"a\\\"b\\\\c\\n\\u0001é/中\"");
    }

    #[test]
    fn sorts_by_utf16_code_units_not_bytes() {
        // U+1F600 is the surrogate pair D83D DE00 in UTF-16, so it sorts
        // before U+FB33; in UTF-8 (F0… vs EF…) it would sort after.
        check(json!({"\u{FB33}": 2, "\u{1F600}": 1}), "{\"\u{1F600}\":1,\"\u{FB33}\":2}");
    }

    #[test]
    fn refuses_floats() {
        assert_eq!(to_vec(&json!(1.5)), Err(CanonicalError::NotAnInteger("1.5".into())));
    }

    #[test]
    fn writes_large_integers_exactly() {
        check(json!([u64::MAX, i64::MIN]), "[18446744073709551615,-9223372036854775808]");
    }
}
