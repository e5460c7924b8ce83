//! Conversions between the guest SDK's generated types and this crate's.
//!
//! The rule plugins keep their logic on [`crate::Item`] and
//! [`crate::Finding`] so that it runs natively; their component glue uses
//! [`describe`] and [`review_with`] to speak the contract. Spans are checked
//! with [`plugin_sdk::span_of`] on the way out: a rule that produced a span
//! off a character boundary drops the span rather than failing the host's
//! validation (the finding itself is kept).

use plugin_sdk as sdk;

use crate::item::{self, Field, Severity};

fn severity_from(s: sdk::Severity) -> Severity {
    match s {
        sdk::Severity::Info => Severity::Info,
        sdk::Severity::Warn => Severity::Warn,
        sdk::Severity::Block => Severity::Block,
    }
}

fn severity_to(s: Severity) -> sdk::Severity {
    match s {
        Severity::Info => sdk::Severity::Info,
        Severity::Warn => sdk::Severity::Warn,
        Severity::Block => sdk::Severity::Block,
    }
}

fn field_from(f: sdk::Field) -> Field {
    match f {
        sdk::Field::Title => Field::Title,
        sdk::Field::Body => Field::Body,
        sdk::Field::DocNumber => Field::DocNumber,
        sdk::Field::Issuer => Field::Issuer,
        sdk::Field::Attribute => Field::Attribute,
        sdk::Field::AttributeReason => Field::AttributeReason,
        sdk::Field::LegalBasis => Field::LegalBasis,
        sdk::Field::Superior => Field::Superior,
        sdk::Field::Channels => Field::Channels,
        sdk::Field::Signoff => Field::Signoff,
        sdk::Field::Attachment => Field::Attachment,
    }
}

fn field_to(f: Field) -> sdk::Field {
    match f {
        Field::Title => sdk::Field::Title,
        Field::Body => sdk::Field::Body,
        Field::DocNumber => sdk::Field::DocNumber,
        Field::Issuer => sdk::Field::Issuer,
        Field::Attribute => sdk::Field::Attribute,
        Field::AttributeReason => sdk::Field::AttributeReason,
        Field::LegalBasis => sdk::Field::LegalBasis,
        Field::Superior => sdk::Field::Superior,
        Field::Channels => sdk::Field::Channels,
        Field::Signoff => sdk::Field::Signoff,
        Field::Attachment => sdk::Field::Attachment,
    }
}

/// A finding reported by an earlier plugin, as the rules see it.
pub fn finding_from(f: &sdk::Finding) -> item::Finding {
    item::Finding {
        rule_id: f.rule_id.clone(),
        kind: f.kind.clone(),
        severity: severity_from(f.severity),
        field: field_from(f.field),
        span: f.span.map(|s| s.range()),
        message: f.message.clone(),
        suggestion: f.suggestion.clone(),
    }
}

/// A rule's finding in the contract's form; the span is validated against
/// the field text it indexes.
pub fn finding_to(item: &sdk::Item, f: item::Finding) -> sdk::Finding {
    let field = field_to(f.field);
    let span = f.span.and_then(|r| item.field_text(field).and_then(|text| sdk::span_of(text, r)));
    sdk::Finding {
        rule_id: f.rule_id,
        kind: f.kind,
        severity: severity_to(f.severity),
        field,
        span,
        message: f.message,
        suggestion: f.suggestion,
    }
}

/// The item as the rules see it.
pub fn item_from(i: &sdk::Item) -> item::Item {
    item::Item {
        id: i.id.clone(),
        version: i.version,
        kind: i.kind.clone(),
        title: i.title.clone(),
        body: i.body.clone(),
        attribute: i.attribute.clone(),
        attribute_reason: i.attribute_reason.clone(),
        legal_basis: i.legal_basis.clone(),
        doc_number: i.doc_number.clone(),
        issuer: i.issuer.clone(),
        superior: i.superior.as_ref().map(|s| item::SuperiorRef {
            doc_number: s.doc_number.clone(),
            issuer: s.issuer.clone(),
            attribute: s.attribute.clone(),
        }),
        channels: i.channels.clone(),
        formed_at: i.formed_at.clone(),
        now: i.now.clone(),
        signoff: i.signoff.as_ref().map(|s| item::Signoff {
            name: s.name.clone(),
            title: s.title.clone(),
            statement_accepted: s.statement_accepted,
            statement_version: s.statement_version.clone(),
            accepted_at: s.accepted_at.clone(),
        }),
        approvals: i
            .approvals
            .iter()
            .map(|a| item::Approval { stage: a.stage.clone(), reviewer: a.reviewer.clone(), digest: a.digest.clone() })
            .collect(),
        flags: i.flags.clone(),
        content_digest: i.content_digest.clone(),
        prior_findings: i.prior_findings.iter().map(finding_from).collect(),
    }
}

/// The plugin's `describe`: name, version, rules, extra kinds and schema.
pub fn describe(
    name: &str,
    version: &str,
    rules: &[item::RuleInfo],
    extra_kinds: &[&str],
    config_schema: &str,
) -> sdk::PluginInfo {
    let mut info = sdk::PluginInfo::new(name, version).with_config_schema(config_schema);
    for r in rules {
        info = info.with_rule(sdk::rule(r.id, r.kind, severity_to(r.severity), r.description));
    }
    for k in extra_kinds {
        info = info.with_extra_kind(k);
    }
    info
}

/// Runs `rules` on the contract's item and returns the contract's findings.
pub fn review_with(item: &sdk::Item, rules: impl FnOnce(&item::Item) -> Vec<item::Finding>) -> Vec<sdk::Finding> {
    let ours = item_from(item);
    rules(&ours).into_iter().map(|f| finding_to(item, f)).collect()
}

/// Defines a rule plugin's component glue from the calling crate's `Rules`
/// (`Rules::from_config_json`, `Rules::review`), `RULES`, `EXTRA_KINDS` and
/// `CONFIG_SCHEMA`: the configured plugin type, its `ReviewPlugin` impl, the
/// export, and the contract tests every rule plugin must pass.
///
/// The export is limited to `wasm32`: natively several plugins are linked
/// into one test binary, and their exports would collide.
///
/// ```ignore
/// rulekit::rule_plugin!(FormatPlugin, "format");
/// ```
// `crate::` is meant: the calling plugin crate's `Rules`, `RULES`, ...
#[allow(clippy::crate_in_macro_def)]
#[macro_export]
macro_rules! rule_plugin {
    ($plugin:ident, $name:literal) => {
        /// The plugin, configured.
        pub struct $plugin(crate::Rules);

        impl plugin_sdk::ReviewPlugin for $plugin {
            fn describe() -> plugin_sdk::PluginInfo {
                $crate::sdk::describe(
                    $name,
                    env!("CARGO_PKG_VERSION"),
                    crate::RULES,
                    crate::EXTRA_KINDS,
                    crate::CONFIG_SCHEMA,
                )
            }

            fn configure(config: &str) -> Result<Self, String> {
                crate::Rules::from_config_json(config)
                    .map($plugin)
                    .map_err(|e| format!(concat!($name, " 插件配置无效：{}"), e))
            }

            fn review(&self, item: &plugin_sdk::Item) -> Result<Vec<plugin_sdk::Finding>, String> {
                Ok($crate::sdk::review_with(item, |i| self.0.review(i)))
            }
        }

        #[cfg(target_arch = "wasm32")]
        plugin_sdk::export_plugin!($plugin);

        #[cfg(test)]
        mod contract_tests {
            use super::$plugin;
            use plugin_sdk::{Item, ReviewPlugin};

            #[test]
            fn describe_lists_every_rule_and_kind() {
                let info = $plugin::describe();
                assert_eq!(info.name, $name);
                assert_eq!(info.rules.len(), crate::RULES.len());
                assert!(serde_json::from_str::<serde_json::Value>(&info.config_schema).is_ok());
                // The host refuses a finding whose kind is neither shared nor declared.
                const SHARED: &[&str] = &[
                    "attribute_conflict",
                    "attribute_downgrade",
                    "reason_missing",
                    "reply_incomplete",
                    "signoff_missing",
                    "doc_number_format",
                ];
                let mut ids = std::collections::BTreeSet::new();
                for r in &info.rules {
                    assert!(ids.insert(r.id.clone()), "rule {} listed twice", r.id);
                    assert!(
                        SHARED.contains(&r.kind.as_str()) || info.extra_kinds.contains(&r.kind),
                        "rule {} reports undeclared kind {}",
                        r.id,
                        r.kind
                    );
                }
                assert!($plugin::configure("{\"no_such_option\": 1}").is_err());
            }

            #[test]
            fn reviews_through_the_contract() {
                let plugin = $plugin::configure("{}").unwrap();
                let mut item = Item::sample("各区人民政府：\n现将有关事项通知如下。\n（此件公开发布）");
                item.signoff = Some(plugin_sdk::Signoff {
                    name: "陈立群".into(),
                    title: "办公室主任".into(),
                    statement_accepted: true,
                    statement_version: None,
                    accepted_at: None,
                });
                item.doc_number = Some("江政发〔2025〕3号".into());
                assert_eq!(plugin.review(&item).unwrap(), Vec::new());
            }
        }
    };
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_span_checks() {
        let mut it = sdk::Item::sample("秘密★1年\n正文");
        it.attribute = "on_request".into();
        it.doc_number = Some("江政发[2024]1号".into());
        it.prior_findings.push(
            sdk::Finding::new("SEC-001", "classification_marker", sdk::Severity::Block, sdk::Field::Body, "m")
                .with_span(sdk::Span { start: 0, end: 12 }),
        );
        let ours = item_from(&it);
        assert_eq!(ours.attribute(), Some(item::Attribute::OnRequest));
        assert_eq!(ours.prior_findings[0].span, Some(0..12));
        assert_eq!(ours.prior_findings[0].field, Field::Body);
        let out = review_with(&it, |_| {
            vec![
                item::Finding::item_level("FMT-001", "doc_number_format", Severity::Warn, Field::DocNumber, "m".into())
                    .at(9..15),
                // off a character boundary: the span is dropped
                item::Finding::item_level("X-1", "k", Severity::Info, Field::Body, "m".into()).at(1..2),
                // into an absent field: dropped
                item::Finding::item_level("X-2", "k", Severity::Info, Field::Issuer, "m".into()).at(0..1),
            ]
        });
        assert_eq!(out[0].span, Some(sdk::Span { start: 9, end: 15 }));
        assert_eq!(&it.doc_number.as_deref().unwrap()[9..15], "[2024]");
        assert_eq!(out[0].field, sdk::Field::DocNumber);
        assert_eq!(out[1].span, None);
        assert_eq!(out[2].span, None);
        let info = describe(
            "x",
            "0.1.0",
            &[item::RuleInfo { id: "A-1", kind: "k", severity: Severity::Warn, description: "d" }],
            &["k"],
            "{}",
        );
        assert_eq!(info.rules[0].severity, sdk::Severity::Warn);
        assert_eq!(info.extra_kinds, vec!["k"]);
    }
}
