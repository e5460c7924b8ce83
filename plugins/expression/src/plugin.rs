//! Component glue: the `expression` rules behind the review contract (see
//! `rulekit::rule_plugin!`).

rulekit::rule_plugin!(ExpressionPlugin, "expression");
