//! `/seals/{serial}`: a seal as people read it — which item and version it
//! was applied to, when, when publication may start, its status — instead
//! of the public JSON record (`/api/v1/seals/{serial}`, linked behind
//! 技术信息 with the key and digest for those who verify). Shown to whoever
//! may read the item; 404 to anyone else.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::Response;

use super::{Layout, Session, beijing, error_page, render};
use crate::http::{ApiError, AppState};
use crate::model::{ItemId, Timestamp};
use crate::store::SealRecord;

#[derive(Template)]
#[template(path = "seal_record.html")]
struct SealRecordPage {
    layout: Layout,
    seal: SealRecord,
    item: ItemId,
    title: String,
    status: &'static str,
    sealed_at: String,
    /// Empty when publication started with the seal.
    not_before: String,
    channels: String,
}

/// A serial as the gateway writes them (`321183-2026-000001`); anything
/// else names no seal.
fn serial_shape(serial: &str) -> bool {
    !serial.is_empty() && serial.len() <= 64 && serial.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-')
}

fn at(secs: i64) -> String {
    time::OffsetDateTime::from_unix_timestamp(secs)
        .map_or_else(|_| secs.to_string(), |t| beijing(&Timestamp::from_offset(t).to_string()))
}

pub async fn page(State(state): State<AppState>, session: Session, Path(serial): Path<String>) -> Response {
    if !serial_shape(&serial) {
        return error_page(&session, ApiError::NotFound("该信息公开专用章"));
    }
    let found = crate::service::seal::seal_of_readable_item(&state, session.principal(), &serial).await;
    let (seal, item) = match found {
        Ok(found) => found,
        Err(e) => return error_page(&session, e.into()),
    };
    let version = match state.db.version(item.id, seal.version).await {
        Ok(v) => v,
        Err(e) => return error_page(&session, e.into()),
    };
    let channels =
        version.content.channels.iter().map(|c| super::item::channel_label(c)).collect::<Vec<_>>().join("、");
    let not_before = if seal.not_before > seal.sealed_at { at(seal.not_before) } else { String::new() };
    render(&SealRecordPage {
        layout: session.layout(format!("信息公开专用章 {}", seal.serial), ""),
        item: item.id,
        title: version.content.title.clone(),
        status: super::item::seal_state_label(seal.status),
        sealed_at: at(seal.sealed_at),
        not_before,
        channels,
        seal,
    })
}

#[cfg(test)]
mod tests {
    #[test]
    fn only_serials_name_seals() {
        assert!(super::serial_shape("321183-2026-000001"));
        for bad in ["", "../x", "a b", "x%0D%0A", &"9".repeat(65)] {
            assert!(!super::serial_shape(bad), "{bad:?}");
        }
    }
}
