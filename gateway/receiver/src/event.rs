//! The event body of `docs/delivery.md` §1, as a channel receives it in a
//! push or a pull. Parsing checks shape only; what the event may do is
//! decided by the receiver (order, seal, channel).

use serde::Deserialize;

/// What an event asks the channel to do.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum EventType {
    /// Show the sealed content (a correction replaces the superseded one in place).
    Publish,
    /// 撤稿: take the item down.
    Withdraw,
}

/// One delivery event. Unknown members are ignored (the contract may grow).
#[derive(Debug, Clone, Deserialize)]
pub struct Event {
    /// `publish` or `withdraw`.
    #[serde(rename = "type")]
    pub kind: EventType,
    /// Unique and stable across retries: the idempotency key.
    pub event_id: String,
    /// The gateway's item id.
    pub item_id: String,
    /// The channel this event is for.
    pub channel: String,
    /// Per (item, channel), from 1, growing by one.
    pub sequence: u64,
    /// The seal serial (publish), if stated.
    #[serde(default)]
    pub serial: Option<String>,
    /// The serial a correction replaces, if stated.
    #[serde(default)]
    pub supersedes: Option<String>,
    /// The embargo, if stated (the seal's `not_before` decides).
    #[serde(default)]
    pub not_before: Option<u64>,
    /// When the gateway made the event.
    #[serde(default)]
    pub created_at: Option<String>,
    /// The seal envelope (`docs/seal.md` §7) for `publish`.
    #[serde(default)]
    pub envelope: Option<serde_json::Value>,
    /// The withdrawal reason for `withdraw`.
    #[serde(default)]
    pub reason: Option<String>,
    /// Where to fetch each attachment of a `publish` (only those the seal
    /// covers are fetched; the bytes are checked against the sealed digest).
    #[serde(default)]
    pub attachments: Vec<EventAttachment>,
}

/// One attachment of a `publish` event.
#[derive(Debug, Clone, Deserialize)]
pub struct EventAttachment {
    /// `sha256:` of the file's bytes, as the sealed content lists it.
    pub digest: String,
    /// Where the channel fetches it, relative to the gateway's base URL,
    /// with its channel token.
    pub href: String,
}

impl Event {
    /// Parses and checks an event body: ids usable as file names, sequence ≥ 1.
    pub fn parse(body: &[u8]) -> Result<Event, String> {
        let e: Event = serde_json::from_slice(body).map_err(|e| e.to_string())?;
        if !is_id(&e.event_id) {
            return Err(format!("event_id {:?} is not [A-Za-z0-9_.:-]{{1,128}}", trunc(&e.event_id)));
        }
        if !is_item_id(&e.item_id) {
            return Err(format!("item_id {:?} is not [A-Za-z0-9][A-Za-z0-9_.-]{{0,127}}", trunc(&e.item_id)));
        }
        if e.sequence == 0 {
            return Err("sequence 0: sequences start at 1".into());
        }
        Ok(e)
    }
}

fn is_id(s: &str) -> bool {
    !s.is_empty()
        && s.len() <= 128
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b':' | b'-'))
}

/// An item id becomes a file name (`items/<id>.json`): no separators, no
/// leading dot.
pub(crate) fn is_item_id(s: &str) -> bool {
    s.len() <= 128
        && s.bytes().next().is_some_and(|b| b.is_ascii_alphanumeric())
        && s.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'_' | b'.' | b'-'))
}

fn trunc(s: &str) -> String {
    s.chars().take(80).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_the_contract_example_and_refuses_bad_ids() {
        let body = r#"{"type":"withdraw","event_id":"evt_0196","item_id":"0196a1b2-c3d4","channel":"website",
            "sequence":2,"serial":null,"supersedes":null,"not_before":null,"created_at":"2026-11-23T14:16:56.123Z",
            "envelope":null,"reason":"撤稿","future_member":1}"#
            .as_bytes();
        let e = Event::parse(body).unwrap();
        assert_eq!((e.kind, e.sequence, e.reason.as_deref()), (EventType::Withdraw, 2, Some("撤稿")));
        let bad = String::from_utf8_lossy(body).replace("0196a1b2-c3d4", "../etc");
        assert!(Event::parse(bad.as_bytes()).unwrap_err().contains("item_id"));
        let bad = String::from_utf8_lossy(body).replace("\"sequence\":2", "\"sequence\":0");
        assert!(Event::parse(bad.as_bytes()).unwrap_err().contains("sequence 0"));
        let bad = String::from_utf8_lossy(body).replace("withdraw", "delete");
        assert!(Event::parse(bad.as_bytes()).is_err());
    }
}
