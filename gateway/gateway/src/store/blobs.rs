//! Attachment bytes, addressed by their SHA-256.

use seal::ContentDigest;
use sqlx::Row;

use super::{Db, Result, StoreError, audit, from_json_text, parse_column};
use crate::model::ItemRecord;
use crate::model::{AttachmentRef, Timestamp, UserId};

/// A stored attachment's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub digest: ContentDigest,
    pub media_type: String,
    pub size: i64,
}

/// Stores `content` under its digest on a connection (a no-op when the
/// bytes are stored already); returns the digest.
async fn put_blob_on(
    conn: &mut sqlx::AnyConnection,
    actor: UserId,
    media_type: &str,
    content: &[u8],
) -> Result<ContentDigest> {
    let digest = ContentDigest::of(content);
    let size = i64::try_from(content.len()).map_err(|_| StoreError::Conflict("attachment too large"))?;
    let inserted = sqlx::query(
        "INSERT INTO blobs (digest, media_type, size, content, created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT (digest) DO NOTHING",
    )
    .bind(digest.to_string())
    .bind(media_type)
    .bind(size)
    .bind(content)
    .bind(actor.to_string())
    .bind(Timestamp::now().to_string())
    .execute(&mut *conn)
    .await?;
    if inserted.rows_affected() == 1 {
        audit::append(
            conn,
            Some(actor),
            "attachment.store",
            None,
            serde_json::json!({ "digest": digest, "media_type": media_type, "size": size }),
        )
        .await?;
    }
    Ok(digest)
}

impl super::Tx {
    /// Stores an attachment's bytes inside a use case's transaction (a
    /// masked copy stored with the version that lists it).
    pub async fn put_blob(&mut self, actor: UserId, media_type: &str, content: &[u8]) -> Result<ContentDigest> {
        put_blob_on(self.conn(), actor, media_type, content).await
    }
}

impl Db {
    /// Stores `content` under its digest. Storing the same bytes twice is a
    /// no-op that returns the existing record.
    pub async fn put_blob(&self, actor: UserId, media_type: &str, content: &[u8]) -> Result<Blob> {
        let mut tx = self.pool.begin().await?;
        put_blob_on(&mut tx, actor, media_type, content).await?;
        tx.commit().await?;
        self.blob(&ContentDigest::of(content)).await
    }

    /// A blob's metadata, or `NotFound`.
    pub async fn blob(&self, digest: &ContentDigest) -> Result<Blob> {
        let row = sqlx::query("SELECT digest, media_type, size FROM blobs WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(Blob {
            digest: parse_column("digest", &row.try_get::<String, _>("digest")?)?,
            media_type: row.try_get("media_type")?,
            size: row.try_get("size")?,
        })
    }

    /// Who may be shown a blob, for the attachment read check: the person
    /// who first stored it (before any version names it) and every item
    /// with a version that lists it as an attachment. `NotFound` for an
    /// unknown digest.
    pub async fn blob_holders(&self, digest: &ContentDigest) -> Result<(UserId, Vec<ItemRecord>)> {
        let uploader: String = sqlx::query("SELECT created_by FROM blobs WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?
            .try_get("created_by")?;
        // The text match only narrows the rows; the digest must be an
        // attachment's `digest`, not text in an attachment's name.
        let sql = format!(
            "SELECT {cols}, v.version, v.attachments FROM items i \
             JOIN item_versions v ON v.item_id = i.id WHERE v.attachments LIKE $1 ORDER BY i.id, v.version",
            cols = super::items::ITEM_COLUMNS
        );
        let rows = sqlx::query(&sql).bind(format!("%{digest}%")).fetch_all(&self.pool).await?;
        let mut items: Vec<ItemRecord> = Vec::new();
        for row in &rows {
            let listed: Vec<AttachmentRef> = from_json_text("attachments", &row.try_get::<String, _>("attachments")?)?;
            if listed.iter().any(|a| a.digest == *digest) {
                let item = super::items::item_from_row(row)?;
                if items.last().is_none_or(|last| last.id != item.id) {
                    items.push(item);
                }
            }
        }
        Ok((parse_column("created_by", &uploader)?, items))
    }

    /// A blob's bytes with its metadata, or `NotFound`.
    pub async fn blob_content(&self, digest: &ContentDigest) -> Result<(Blob, Vec<u8>)> {
        let row = sqlx::query("SELECT digest, media_type, size, content FROM blobs WHERE digest = $1")
            .bind(digest.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let blob = Blob {
            digest: parse_column("digest", &row.try_get::<String, _>("digest")?)?,
            media_type: row.try_get("media_type")?,
            size: row.try_get("size")?,
        };
        Ok((blob, row.try_get("content")?))
    }
}
