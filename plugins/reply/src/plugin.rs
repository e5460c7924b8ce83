//! Component glue: the `reply` rules behind the review contract (see
//! `rulekit::rule_plugin!`).

rulekit::rule_plugin!(ReplyPlugin, "reply");
