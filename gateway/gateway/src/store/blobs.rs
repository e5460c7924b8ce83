//! Attachment bytes, addressed by their SHA-256.

use seal::ContentDigest;
use sqlx::Row;

use super::{Db, Result, StoreError, audit, parse_column};
use crate::model::{Timestamp, UserId};

/// A stored attachment's metadata.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Blob {
    pub digest: ContentDigest,
    pub media_type: String,
    pub size: i64,
}

impl Db {
    /// Stores `content` under its digest. Storing the same bytes twice is a
    /// no-op that returns the existing record.
    pub async fn put_blob(&self, actor: UserId, media_type: &str, content: &[u8]) -> Result<Blob> {
        let digest = ContentDigest::of(content);
        let size = i64::try_from(content.len()).map_err(|_| StoreError::Conflict("attachment too large"))?;
        let mut tx = self.pool.begin().await?;
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
        .execute(&mut *tx)
        .await?;
        if inserted.rows_affected() == 1 {
            audit::append(
                &mut tx,
                Some(actor),
                "attachment.store",
                None,
                serde_json::json!({ "digest": digest, "media_type": media_type, "size": size }),
            )
            .await?;
        }
        tx.commit().await?;
        self.blob(&digest).await
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
