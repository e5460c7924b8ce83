//! Storage of what keeps people's work: the tokens of page forms that
//! create an item (claimed once per person) and forms posted with an
//! expired session, kept for the person whose session it was. It loads and
//! saves; `service::forms` decides.

use sqlx::Row;

use super::{Db, Result, from_json_text, json_text, parse_column};
use crate::model::{ItemId, Timestamp, UserId};

/// What a form token's claim found.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TokenClaim {
    /// The token was new: it is now the caller's.
    Claimed,
    /// The token was claimed before; the item it created, if it exists yet.
    Taken(Option<ItemId>),
}

/// A kept form as stored.
#[derive(Clone, Debug)]
pub struct KeptForm {
    pub user_id: UserId,
    pub path: String,
    pub fields: Vec<(String, String)>,
    pub created_at: Timestamp,
}

impl Db {
    /// Claims `token` for `user`, unless it was claimed before.
    pub async fn claim_form_token(&self, user: UserId, token: &str) -> Result<TokenClaim> {
        let done = sqlx::query(
            "INSERT INTO form_tokens (user_id, token, item_id, created_at) VALUES ($1, $2, NULL, $3) \
             ON CONFLICT (user_id, token) DO NOTHING",
        )
        .bind(user.to_string())
        .bind(token)
        .bind(Timestamp::now().to_string())
        .execute(&self.pool)
        .await?;
        if done.rows_affected() == 1 {
            return Ok(TokenClaim::Claimed);
        }
        let row = sqlx::query("SELECT item_id FROM form_tokens WHERE user_id = $1 AND token = $2")
            .bind(user.to_string())
            .bind(token)
            .fetch_one(&self.pool)
            .await?;
        let item: Option<String> = row.try_get("item_id")?;
        Ok(TokenClaim::Taken(item.map(|i| parse_column("item_id", &i)).transpose()?))
    }

    /// Records the item a claimed token created.
    pub async fn settle_form_token(&self, user: UserId, token: &str, item: ItemId) -> Result<()> {
        sqlx::query("UPDATE form_tokens SET item_id = $1 WHERE user_id = $2 AND token = $3")
            .bind(item.to_string())
            .bind(user.to_string())
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// Gives up a claim whose item was not created.
    pub async fn release_form_token(&self, user: UserId, token: &str) -> Result<()> {
        sqlx::query("DELETE FROM form_tokens WHERE user_id = $1 AND token = $2 AND item_id IS NULL")
            .bind(user.to_string())
            .bind(token)
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    /// The person a session belonged to, whether or not it is still live.
    pub async fn session_owner(&self, token_hash: &str) -> Result<Option<UserId>> {
        let row = sqlx::query("SELECT user_id FROM sessions WHERE token_hash = $1")
            .bind(token_hash)
            .fetch_optional(&self.pool)
            .await?;
        row.map(|r| parse_column("user_id", &r.try_get::<String, _>("user_id")?)).transpose()
    }

    /// Keeps a form under the hash of its key (replacing an older one of
    /// the same key).
    pub async fn keep_form(&self, key_hash: &str, form: &KeptForm) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM kept_forms WHERE key_hash = $1").bind(key_hash).execute(&mut *tx).await?;
        sqlx::query("INSERT INTO kept_forms (key_hash, user_id, path, fields, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(key_hash)
            .bind(form.user_id.to_string())
            .bind(&form.path)
            .bind(json_text(&form.fields))
            .bind(form.created_at.to_string())
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes (reads and deletes) the form kept under `key_hash`.
    pub async fn take_kept_form(&self, key_hash: &str) -> Result<Option<KeptForm>> {
        let mut tx = self.pool.begin().await?;
        let row =
            sqlx::query("SELECT * FROM kept_forms WHERE key_hash = $1").bind(key_hash).fetch_optional(&mut *tx).await?;
        sqlx::query("DELETE FROM kept_forms WHERE key_hash = $1").bind(key_hash).execute(&mut *tx).await?;
        tx.commit().await?;
        row.map(|r| {
            Ok(KeptForm {
                user_id: parse_column("user_id", &r.try_get::<String, _>("user_id")?)?,
                path: r.try_get("path")?,
                fields: from_json_text("fields", &r.try_get::<String, _>("fields")?)?,
                created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
            })
        })
        .transpose()
    }
}
