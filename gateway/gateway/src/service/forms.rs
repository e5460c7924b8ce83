//! Never lose work (issue 21): a form that creates an item is created once
//! however often it is sent (its form token), and a form posted with an
//! expired session is kept for the person whose session it was and offered
//! back to them — and only to them — after they log in again.
//!
//! The web layer says which form and which session; what counts as the same
//! form, whom a kept form belongs to and how long it is kept is decided here.

use std::time::Duration;

use super::Error;
use crate::auth::Principal;
use crate::model::{ItemId, Timestamp, UserId};
use crate::state::AppState;
use crate::store::{KeptForm, TokenClaim};

/// How long a kept form waits for its person to log in again.
pub const KEEP_FOR: time::Duration = time::Duration::hours(24);

/// Fields never kept: the CSRF token of the ended session, and credentials
/// a person enters again (the sign-off's password and one-time code).
const NEVER_KEPT: &[&str] = &["csrf", "password", "totp_code", "current_password", "new_password"];

/// What to do with a form that creates an item.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Once {
    /// First time: create, then [`settle`] (or [`release`] on failure).
    Create,
    /// Sent before and created this item.
    Created(ItemId),
    /// Sent before and still being created by the first request.
    InProgress,
}

/// A form token as pages issue it: 1–64 characters of `[A-Za-z0-9_-]`.
fn valid_token(token: &str) -> bool {
    !token.is_empty() && token.len() <= 64 && token.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// Claims a form's token for the person; a second sending of the same form
/// finds the item the first one created (waiting briefly while the first
/// request is still storing it).
pub async fn claim(state: &AppState, principal: &Principal, token: &str) -> Result<Once, Error> {
    if !valid_token(token) {
        return Err(Error::invalid("form_token", "表单标识无效，请刷新页面后重新填写"));
    }
    for _ in 0..20 {
        match state.db.claim_form_token(principal.user_id, token).await? {
            TokenClaim::Claimed => return Ok(Once::Create),
            TokenClaim::Taken(Some(item)) => return Ok(Once::Created(item)),
            TokenClaim::Taken(None) => tokio::time::sleep(Duration::from_millis(250)).await,
        }
    }
    Ok(Once::InProgress)
}

/// Records the item a claimed form created.
pub async fn settle(state: &AppState, principal: &Principal, token: &str, item: ItemId) -> Result<(), Error> {
    Ok(state.db.settle_form_token(principal.user_id, token, item).await?)
}

/// Gives up a claim whose item was not created, so the form can be sent again.
pub async fn release(state: &AppState, principal: &Principal, token: &str) -> Result<(), Error> {
    Ok(state.db.release_form_token(principal.user_id, token).await?)
}

/// Keeps a form posted to `path` with an ended session of `owner`, under
/// the hash of a secret only the person's browser holds.
pub async fn keep(
    state: &AppState,
    owner: UserId,
    key_hash: &str,
    path: &str,
    fields: Vec<(String, String)>,
) -> Result<(), Error> {
    let fields = fields.into_iter().filter(|(k, _)| !NEVER_KEPT.contains(&k.as_str())).collect();
    let form = KeptForm { user_id: owner, path: path.to_owned(), fields, created_at: Timestamp::now() };
    Ok(state.db.keep_form(key_hash, &form).await?)
}

/// The form kept under `key_hash`, taken (it is offered once): only for the
/// person it was kept for, and only within [`KEEP_FOR`]. Anyone else who
/// logs in on the same browser gets nothing, and the form is gone.
pub async fn take(state: &AppState, principal: &Principal, key_hash: &str) -> Result<Option<KeptForm>, Error> {
    let Some(form) = state.db.take_kept_form(key_hash).await? else {
        return Ok(None);
    };
    let fresh = form.created_at.as_offset() + KEEP_FOR > Timestamp::now().as_offset();
    Ok((form.user_id == principal.user_id && fresh).then_some(form))
}
