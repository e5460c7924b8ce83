//! Component glue: the `format` rules behind the review contract, through
//! [`rulekit::RulePlugin`] and [`rulekit::Component`].

use rulekit::{Finding, Item, RuleInfo, RulePlugin};

use crate::{CONFIG_SCHEMA, Config, EXTRA_KINDS, Error, RULES, Rules};

impl RulePlugin for Rules {
    const NAME: &'static str = "format";
    const VERSION: &'static str = env!("CARGO_PKG_VERSION");
    const RULES: &'static [RuleInfo] = RULES;
    const EXTRA_KINDS: &'static [&'static str] = EXTRA_KINDS;
    const CONFIG_SCHEMA: &'static str = CONFIG_SCHEMA;
    type Config = Config;
    type Error = Error;

    fn from_config_json(json: &str) -> Result<Rules, Error> {
        Rules::from_config_json(json)
    }

    fn review(&self, item: &Item) -> Vec<Finding> {
        Rules::review(self, item)
    }
}

#[cfg(target_arch = "wasm32")]
plugin_sdk::export_plugin!(rulekit::Component<Rules>);

#[cfg(test)]
mod tests {
    #[test]
    fn keeps_the_contract() {
        rulekit::check_contract::<crate::Rules>();
    }
}
