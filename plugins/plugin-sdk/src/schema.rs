//! Checking a plugin's hand-written configuration schema against the serde
//! struct that actually reads the configuration.

use std::collections::BTreeSet;

use crate::{ReviewPlugin, SHARED_KINDS};

use serde::de::{self, DeserializeOwned, Visitor};

/// Reads a plugin's configuration (the policy's JSON; blank means `{}`)
/// into its configuration struct.
///
/// # Errors
///
/// The message the host shows for a refused configuration:
/// `<plugin> 插件配置无效：<why>`.
pub fn read_config<C: DeserializeOwned>(plugin: &str, json: &str) -> Result<C, String> {
    let json = if json.trim().is_empty() { "{}" } else { json };
    serde_json::from_str(json).map_err(|e| format!("{plugin} 插件配置无效：{e}"))
}

/// The contract checks every plugin crate runs in one test: `describe`
/// names the plugin and lists each rule once, with a shared or declared
/// kind; its configuration schema matches the struct `C` that reads it
/// ([`check_config_schema`]); an unknown option is refused.
///
/// # Panics
///
/// On the first violation, naming it.
pub fn check_plugin<P: ReviewPlugin, C: DeserializeOwned>() {
    let info = P::describe();
    assert!(!info.name.is_empty(), "the plugin has no name");
    let mut ids = BTreeSet::new();
    for r in &info.rules {
        assert!(ids.insert(r.id.clone()), "rule {} listed twice", r.id);
        assert!(
            SHARED_KINDS.contains(&r.kind.as_str()) || info.extra_kinds.contains(&r.kind),
            "rule {} reports undeclared kind {}",
            r.id,
            r.kind
        );
    }
    if let Err(e) = check_config_schema::<C>(&info.config_schema) {
        panic!("{}: {e}", info.name);
    }
    assert!(P::configure("{\"no_such_option\": 1}").is_err(), "{} accepts an unknown option", info.name);
}

/// Checks that `schema` (the JSON Schema a plugin returns from `describe`)
/// describes exactly the top-level options its configuration struct `C`
/// reads: an object schema that refuses other properties
/// (`"additionalProperties": false`), whose `properties` are the struct's
/// fields (after serde renames), and whose every `default` the struct
/// accepts on its own. Call it from a test in each plugin crate (the struct
/// must use `#[serde(deny_unknown_fields)]`, which the schema promises).
///
/// ```
/// #[derive(serde::Deserialize)]
/// #[serde(deny_unknown_fields)]
/// struct Config { #[serde(default)] word: Option<String> }
///
/// let good = r#"{"type": "object", "additionalProperties": false, "properties": {"word": {"type": "string"}}}"#;
/// assert_eq!(plugin_sdk::check_config_schema::<Config>(good), Ok(()));
/// let stale = r#"{"type": "object", "additionalProperties": false, "properties": {"words": {"type": "array"}}}"#;
/// assert!(plugin_sdk::check_config_schema::<Config>(stale).is_err());
/// ```
///
/// # Errors
///
/// A message naming the first difference.
pub fn check_config_schema<C: DeserializeOwned>(schema: &str) -> Result<(), String> {
    let schema: serde_json::Value = serde_json::from_str(schema).map_err(|e| format!("schema is not JSON: {e}"))?;
    if schema["type"] != "object" {
        return Err("the schema's type is not `object`".into());
    }
    if schema["additionalProperties"] != false {
        return Err("the schema does not refuse unknown options (`additionalProperties: false`)".into());
    }
    let properties = schema["properties"].as_object().cloned().unwrap_or_default();
    let declared: BTreeSet<&str> = properties.keys().map(String::as_str).collect();
    let read: BTreeSet<&str> = struct_fields::<C>()?.iter().copied().collect();
    if declared != read {
        let missing: Vec<_> = read.difference(&declared).collect();
        let extra: Vec<_> = declared.difference(&read).collect();
        return Err(format!(
            "schema and configuration struct differ: not in the schema {missing:?}, not read {extra:?}"
        ));
    }
    for (name, property) in &properties {
        if let Some(default) = property.get("default") {
            let one = serde_json::json!({ name: default });
            serde_json::from_value::<C>(one).map_err(|e| format!("the default of `{name}` is refused: {e}"))?;
        }
    }
    if serde_json::from_value::<C>(serde_json::json!({ "no_such_option": 1 })).is_ok() {
        return Err("the configuration struct accepts unknown options (add `deny_unknown_fields`)".into());
    }
    Ok(())
}

/// The field names serde's derive gives `deserialize_struct` for `C`.
fn struct_fields<C: DeserializeOwned>() -> Result<&'static [&'static str], String> {
    let mut probe = FieldProbe(None);
    let _ = C::deserialize(&mut probe);
    probe.0.ok_or_else(|| "the configuration type is not a plain serde struct".to_owned())
}

/// A deserializer that only records the fields a derived struct asks for.
struct FieldProbe(Option<&'static [&'static str]>);

impl<'de> de::Deserializer<'de> for &mut FieldProbe {
    type Error = de::value::Error;

    fn deserialize_any<V: Visitor<'de>>(self, _visitor: V) -> Result<V::Value, Self::Error> {
        Err(de::Error::custom("not a struct"))
    }

    fn deserialize_struct<V: Visitor<'de>>(
        self,
        _name: &'static str,
        fields: &'static [&'static str],
        _visitor: V,
    ) -> Result<V::Value, Self::Error> {
        self.0 = Some(fields);
        Err(de::Error::custom("fields recorded"))
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string bytes byte_buf option unit
        unit_struct newtype_struct seq tuple tuple_struct map enum identifier ignored_any
    }
}
