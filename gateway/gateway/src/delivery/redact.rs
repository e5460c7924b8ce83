//! Tokens and secrets out of text that is stored or shown: platform answers
//! (WeChat's `stable_token` answer carries the `access_token`), transport
//! errors, anything that becomes a delivery attempt's excerpt or error.
//! Applied where such text is produced, so no reader of the store, the
//! delivery log or the item page sees a credential.

use std::sync::LazyLock;

use regex::Regex;

/// `name = value`, `name: value`, `"name":"value"`, `name=value&…` for the
/// names credentials go by, with an optional `Bearer`/`OAuth2`/`Basic`.
static CREDENTIAL: LazyLock<Regex> = LazyLock::new(|| {
    Regex::new(
        r#"(?i)((?:access_token|refresh_token|id_token|token|secret|appsecret|app_secret|client_secret|password|passwd|api_key|apikey|authorization)["']?\s*[:=]\s*["']?(?:(?:bearer|oauth2|basic)\s+)?)([^"'&\s,;}\]]+)"#,
    )
    .expect("the credential pattern compiles")
});

/// `text` with the value of every credential replaced by `***`.
pub fn text(text: &str) -> String {
    CREDENTIAL.replace_all(text, "${1}***").into_owned()
}

#[cfg(test)]
mod tests {
    use super::text;

    #[test]
    fn credentials_are_redacted_wherever_they_stand() {
        for (raw, kept) in [
            (r#"stable_token 200: {"access_token":"ACCESS-123","expires_in":7200}"#, r#""expires_in":7200"#),
            ("GET /cgi-bin/draft/add?access_token=TOK-9&x=1 failed", "&x=1 failed"),
            ("authorization: Bearer gwt_abcdef", "authorization: Bearer ***"),
            ("Authorization: OAuth2 2.00abc", "OAuth2 ***"),
            (r#"{"errcode":40001,"errmsg":"invalid credential, access_token is invalid"}"#, "access_token is invalid"),
            ("secret = 's3cr3t'", "secret = '***"),
        ] {
            let out = text(raw);
            for secret in ["ACCESS-123", "TOK-9", "gwt_abcdef", "2.00abc", "s3cr3t"] {
                assert!(!out.contains(secret), "{out}");
            }
            assert!(out.contains(kept), "{out}");
        }
    }
}
