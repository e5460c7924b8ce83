//! Component glue: the `format` rules behind the review contract (see
//! `rulekit::rule_plugin!`).

rulekit::rule_plugin!(FormatPlugin, "format");
