//! Test plugin built against contract `gov-disclosure:review@0.2.0`, which
//! the host does not support: loading it must fail with an error naming both
//! contract versions.

#[allow(unsafe_code, clippy::all, missing_docs)]
mod bindings {
    wit_bindgen::generate!({ path: "wit", world: "review-plugin" });
}

use bindings::gov_disclosure::review::types::PluginInfo;

struct WrongContract;

impl bindings::Guest for WrongContract {
    fn describe() -> PluginInfo {
        PluginInfo {
            name: "wrong-contract".into(),
            version: env!("CARGO_PKG_VERSION").into(),
            contract: "0.2.0".into(),
        }
    }

    fn configure(_config: String) -> Result<(), String> {
        Ok(())
    }

    fn review(_body: String) -> Result<Vec<String>, String> {
        Ok(Vec::new())
    }
}

bindings::export!(WrongContract with_types_in bindings);
