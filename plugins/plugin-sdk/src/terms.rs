//! Term lists as a policy gives them to the term-matching plugins (the
//! lexicon's word lists, secrecy's 密点): one type, one schema, one reading
//! of the severity, whatever each plugin then matches them with.

use serde::Deserialize;

use crate::Severity;

/// One tagged, versioned list of terms sharing a severity.
#[derive(Debug, Clone, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct TermList {
    /// Category, e.g. 违法有害, 广告, 涉密项目代号; shown in every finding.
    pub tag: String,
    /// `block`, `warn` or `info`; absent, the plugin's default
    /// ([`TermList::severity_or`]).
    #[serde(default)]
    pub severity: Option<String>,
    /// The list's version, shown in every finding.
    #[serde(default)]
    pub version: String,
    /// The terms as written.
    pub terms: Vec<String>,
}

impl TermList {
    /// The list's severity, or `default` where it names none.
    ///
    /// # Errors
    ///
    /// A message for people naming the list and the unknown word.
    pub fn severity_or(&self, default: Severity) -> Result<Severity, String> {
        match self.severity.as_deref() {
            None => Ok(default),
            Some(s) => Severity::parse(s)
                .ok_or_else(|| format!("词表“{}”：未知的严重程度“{s}”（应为 info、warn 或 block）", self.tag)),
        }
    }
}

/// The JSON Schema of one [`TermList`] with the plugin's default severity
/// (a string literal, for `concat!` in a plugin's configuration schema):
/// `term_list_schema!("block")`.
#[macro_export]
macro_rules! term_list_schema {
    ($default:literal) => {
        concat!(
            r#"{
        "type": "object",
        "required": ["tag", "terms"],
        "additionalProperties": false,
        "properties": {
          "tag": {"type": "string"},
          "severity": {"enum": ["info", "warn", "block"], "default": ""#,
            $default,
            r#""},
          "version": {"type": "string"},
          "terms": {"type": "array", "items": {"type": "string"}}
        }
      }"#
        )
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn severity_defaults_per_plugin_and_refuses_unknown_words() {
        let mut list: TermList = serde_json::from_str(r#"{"tag": "广告", "terms": ["最低价"]}"#).unwrap();
        assert_eq!(list.severity_or(Severity::Warn), Ok(Severity::Warn));
        list.severity = Some("block".into());
        assert_eq!(list.severity_or(Severity::Warn), Ok(Severity::Block));
        list.severity = Some("fatal".into());
        assert!(list.severity_or(Severity::Warn).unwrap_err().contains("“fatal”"));
        assert!(serde_json::from_str::<TermList>(r#"{"tag": "x", "terms": [], "weight": 1}"#).is_err());
    }

    #[test]
    fn the_schema_is_json_with_the_given_default() {
        let schema: serde_json::Value = serde_json::from_str(term_list_schema!("warn")).unwrap();
        assert_eq!(schema["properties"]["severity"]["default"], "warn");
        assert_eq!(schema["required"], serde_json::json!(["tag", "terms"]));
    }
}
