//! Component glue: the `attribute` rules behind the review contract (see
//! `rulekit::rule_plugin!`).

rulekit::rule_plugin!(AttributePlugin, "attribute");
