//! Component glue: the `signoff` rules behind the review contract (see
//! `rulekit::rule_plugin!`).

rulekit::rule_plugin!(SignoffPlugin, "signoff");
