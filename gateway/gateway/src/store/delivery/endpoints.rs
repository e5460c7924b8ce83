//! Channel endpoints: adding, listing, enabling and disabling them.

use serde::Serialize;
use serde_json::json;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use crate::channel::EndpointKind;
use crate::model::{Timestamp, UserId};
use crate::store::{Db, Result, StoreError, audit, parse_column};

/// A channel endpoint as stored.
#[derive(Clone, Debug)]
pub struct EndpointRecord {
    pub id: String,
    pub channel: String,
    pub kind: EndpointKind,
    /// The webhook URL; for a connector, the platform's API base.
    pub url: Option<String>,
    pub enabled: bool,
    pub disabled_reason: Option<String>,
    pub created_at: String,
    /// A connector's configuration (never its secret).
    pub connector: Option<ConnectorConfig>,
}

/// A connector endpoint's configuration (migration 0006): the *name* of its
/// secret, never the secret. Serialised into the `channel_endpoint.add`
/// audit event (the API's shape is `http::delivery::ConnectorView`).
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConnectorConfig {
    /// WeChat AppID.
    pub app_id: Option<String>,
    /// An environment variable or a file `<data_dir>/secrets/<name>` (0600).
    pub secret_name: String,
    /// The public seal page, `{serial}` replaced.
    pub link_template: Option<String>,
    /// WeChat `thumb_media_id` (a permanent image material).
    pub cover_media_id: Option<String>,
    /// How often a live post is checked for removal by the platform, seconds
    /// (0: never).
    pub recheck_secs: i64,
}

pub(super) fn endpoint_from_row(r: &AnyRow) -> Result<EndpointRecord> {
    let connector = r
        .try_get::<Option<String>, _>("secret_name")?
        .map(|secret_name| -> Result<ConnectorConfig> {
            Ok(ConnectorConfig {
                app_id: r.try_get("app_id")?,
                secret_name,
                link_template: r.try_get("link_template")?,
                cover_media_id: r.try_get("cover_media_id")?,
                recheck_secs: r.try_get::<Option<i64>, _>("recheck_secs")?.unwrap_or(0),
            })
        })
        .transpose()?;
    Ok(EndpointRecord {
        connector,
        id: r.try_get("id")?,
        channel: r.try_get("channel")?,
        kind: parse_column("kind", &r.try_get::<String, _>("kind")?)?,
        url: r.try_get("url")?,
        enabled: r.try_get::<i64, _>("enabled")? != 0,
        disabled_reason: r.try_get("disabled_reason")?,
        created_at: r.try_get("created_at")?,
    })
}

pub(super) async fn enabled_endpoints(conn: &mut AnyConnection, channel: &str) -> Result<Vec<String>> {
    sqlx::query("SELECT id FROM channel_endpoints WHERE channel = $1 AND enabled = 1 ORDER BY created_at, id")
        .bind(channel)
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| Ok(r.try_get("id")?))
        .collect()
}

pub(super) async fn disable_endpoint(conn: &mut AnyConnection, id: &str, reason: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE channel_endpoints SET enabled = 0, disabled_reason = $1 WHERE id = $2 AND enabled = 1")
            .bind(reason)
            .bind(id)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() > 0 {
        audit::append(conn, None, "channel_endpoint.disable", None, json!({ "endpoint": id, "reason": reason }))
            .await?;
        tracing::warn!(endpoint = id, reason, "channel endpoint disabled");
    }
    Ok(())
}

pub(super) async fn enable(conn: &mut AnyConnection, endpoint: &str) -> Result<()> {
    let done =
        sqlx::query("UPDATE channel_endpoints SET enabled = 1, disabled_reason = NULL WHERE id = $1 AND enabled = 0")
            .bind(endpoint)
            .execute(&mut *conn)
            .await?;
    if done.rows_affected() > 0 {
        audit::append(conn, None, "channel_endpoint.enable", None, json!({ "endpoint": endpoint })).await?;
    }
    Ok(())
}

impl Db {
    /// Adds a channel endpoint (enabled).
    pub async fn add_endpoint(
        &self,
        channel: &str,
        kind: EndpointKind,
        url: Option<&str>,
        connector: Option<&ConnectorConfig>,
        actor: Option<UserId>,
    ) -> Result<EndpointRecord> {
        let now = Timestamp::now();
        let id = format!("ep_{}", uuid::Uuid::now_v7().simple());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO channel_endpoints (id, channel, kind, url, enabled, created_at, created_by, app_id, secret_name, \
             link_template, cover_media_id, recheck_secs) VALUES ($1, $2, $3, $4, 1, $5, $6, $7, $8, $9, $10, $11)",
        )
        .bind(id.as_str())
        .bind(channel)
        .bind(kind.as_str())
        .bind(url)
        .bind(now.to_string())
        .bind(actor.map(|a| a.to_string()))
        .bind(connector.and_then(|c| c.app_id.clone()))
        .bind(connector.map(|c| c.secret_name.clone()))
        .bind(connector.and_then(|c| c.link_template.clone()))
        .bind(connector.and_then(|c| c.cover_media_id.clone()))
        .bind(connector.map(|c| c.recheck_secs))
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            actor,
            "channel_endpoint.add",
            None,
            json!({ "endpoint": id, "channel": channel, "kind": kind.as_str(), "url": url, "connector": connector }),
        )
        .await?;
        let row =
            sqlx::query("SELECT * FROM channel_endpoints WHERE id = $1").bind(id.as_str()).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        endpoint_from_row(&row)
    }

    /// Every endpoint, oldest first.
    pub async fn endpoints(&self) -> Result<Vec<EndpointRecord>> {
        let rows = sqlx::query("SELECT * FROM channel_endpoints ORDER BY created_at, id").fetch_all(&self.pool).await?;
        rows.iter().map(endpoint_from_row).collect()
    }

    /// One endpoint.
    pub async fn endpoint(&self, id: &str) -> Result<EndpointRecord> {
        sqlx::query("SELECT * FROM channel_endpoints WHERE id = $1")
            .bind(id)
            .fetch_optional(&self.pool)
            .await?
            .as_ref()
            .map(endpoint_from_row)
            .transpose()?
            .ok_or(StoreError::NotFound)
    }

    /// Disables an endpoint by a person's decision, with the reason and an
    /// audit event naming them; `Conflict` when it is already disabled.
    /// Its pending deliveries wait (resending enables it again).
    pub async fn disable_endpoint_by(&self, id: &str, actor: UserId, reason: &str) -> Result<EndpointRecord> {
        let mut tx = self.pool.begin().await?;
        let done =
            sqlx::query("UPDATE channel_endpoints SET enabled = 0, disabled_reason = $1 WHERE id = $2 AND enabled = 1")
                .bind(reason)
                .bind(id)
                .execute(&mut *tx)
                .await?;
        if done.rows_affected() == 0 {
            let exists =
                sqlx::query("SELECT id FROM channel_endpoints WHERE id = $1").bind(id).fetch_optional(&mut *tx).await?;
            return Err(if exists.is_some() {
                StoreError::Conflict("endpoint already disabled")
            } else {
                StoreError::NotFound
            });
        }
        audit::append(
            &mut tx,
            Some(actor),
            "channel_endpoint.disable",
            None,
            json!({ "endpoint": id, "reason": reason }),
        )
        .await?;
        let row = sqlx::query("SELECT * FROM channel_endpoints WHERE id = $1").bind(id).fetch_one(&mut *tx).await?;
        tx.commit().await?;
        endpoint_from_row(&row)
    }
}
