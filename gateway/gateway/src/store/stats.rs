//! The figures of the dashboard (the ones an agency's 政府信息公开工作年度报告
//! reports): publications per month and channel, and the facts per item the
//! other figures are computed from (by `http::web`, with the calendar).

use sqlx::Row;

use super::{Db, Result, parse_column};
use crate::model::{Attribute, ItemId, ItemState, Kind};

/// Items published on a channel in a month (an item counts once per month
/// and channel, however many corrections it had).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PublishedCount {
    /// `YYYY-MM` (UTC) of the channel's confirmation.
    pub month: String,
    pub channel: String,
    pub items: i64,
}

/// What the dashboard needs to know about one item.
#[derive(Clone, Debug)]
pub struct ItemFacts {
    pub id: ItemId,
    pub state: ItemState,
    pub kind: Kind,
    pub attribute: Attribute,
    pub formed_at: Option<String>,
    /// The policy a 政策解读 interprets.
    pub interprets: Option<ItemId>,
    /// The item re-issues or forwards a superior organ's document (转发):
    /// not a policy this organ issued.
    pub forwards_superior: bool,
    /// RFC 3339 creation time of the item.
    pub created_at: String,
    /// Unix seconds of the item's first seal.
    pub first_sealed_at: Option<i64>,
}

impl Db {
    /// Publications confirmed by a channel since `since` (`YYYY-MM-DD…`).
    pub async fn published_per_month(&self, since: &str) -> Result<Vec<PublishedCount>> {
        let rows = sqlx::query(
            "SELECT substr(confirmed_at, 1, 7) AS month, channel, COUNT(DISTINCT item_id) AS n FROM deliveries \
             WHERE kind = 'publish' AND state = 'delivered' AND confirmed_at >= $1 \
             GROUP BY substr(confirmed_at, 1, 7), channel ORDER BY month, channel",
        )
        .bind(since)
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                Ok(PublishedCount {
                    month: r.try_get("month")?,
                    channel: r.try_get("channel")?,
                    items: r.try_get("n")?,
                })
            })
            .collect()
    }

    /// The facts of every item's current version.
    pub async fn item_facts(&self) -> Result<Vec<ItemFacts>> {
        let rows = sqlx::query(
            "SELECT i.id, i.state, i.created_at, v.kind, v.attribute, v.formed_at, v.interprets, \
             CASE WHEN v.superior IS NULL THEN 0 ELSE 1 END AS forwards_superior, \
             (SELECT MIN(s.sealed_at) FROM seals s WHERE s.item_id = i.id) AS first_sealed_at \
             FROM items i JOIN item_versions v ON v.item_id = i.id AND v.version = i.current_version",
        )
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let interprets: Option<String> = r.try_get("interprets")?;
                Ok(ItemFacts {
                    id: parse_column("id", &r.try_get::<String, _>("id")?)?,
                    state: parse_column("state", &r.try_get::<String, _>("state")?)?,
                    kind: parse_column("kind", &r.try_get::<String, _>("kind")?)?,
                    attribute: parse_column("attribute", &r.try_get::<String, _>("attribute")?)?,
                    formed_at: r.try_get("formed_at")?,
                    interprets: interprets.map(|i| parse_column("interprets", &i)).transpose()?,
                    forwards_superior: r.try_get::<i64, _>("forwards_superior")? != 0,
                    created_at: r.try_get("created_at")?,
                    first_sealed_at: r.try_get("first_sealed_at")?,
                })
            })
            .collect()
    }
}
