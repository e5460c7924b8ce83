//! Items and their immutable versions.

use base64::Engine as _;
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::{Db, Result, StoreError, audit, from_json_text, json_text, parse_column};
use crate::model::{ItemId, ItemRecord, ItemState, StoredVersion, Timestamp, UnitId, UserId, VersionContent};

/// Filters for listing items; `None` means "any". All match the item's
/// current version.
#[derive(Clone, Debug, Default)]
pub struct ItemFilter {
    pub state: Option<ItemState>,
    pub issuer: Option<String>,
    pub attribute: Option<crate::model::Attribute>,
    pub kind: Option<crate::model::Kind>,
    /// A substring of the title or body.
    pub text: Option<String>,
    pub created_by: Option<UserId>,
}

/// An opaque position in the newest-first item list.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListCursor(ItemId);

impl ListCursor {
    pub fn encode(&self) -> String {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(self.0.to_string())
    }

    /// The position just after `id`.
    pub fn for_item(id: ItemId) -> ListCursor {
        ListCursor(id)
    }

    pub fn decode(s: &str) -> Option<ListCursor> {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD.decode(s).ok()?;
        String::from_utf8(bytes).ok()?.parse().ok().map(ListCursor)
    }
}

/// One page of items, newest first, with each item's current version.
#[derive(Clone, Debug)]
pub struct ItemPage {
    pub items: Vec<(ItemRecord, StoredVersion)>,
    pub next: Option<ListCursor>,
}

/// What an edit produced.
#[derive(Clone, Debug)]
pub struct VersionChange {
    pub item: ItemRecord,
    pub version: StoredVersion,
}

pub(super) const ITEM_COLUMNS: &str =
    "i.id, i.state, i.current_version, i.unit_id, i.created_by, i.created_at, i.updated_at, i.corrects";
const VERSION_COLUMNS: &str = "v.item_id, v.version, v.kind, v.title, v.body, v.attribute, v.attribute_reason, \
     v.legal_basis, v.doc_number, v.issuer, v.superior, v.interprets, v.channels, v.attachments, v.formed_at, \
     v.flags, v.content_digest, v.created_by AS v_created_by, v.created_at AS v_created_at";

impl Db {
    /// Creates an item with its first version, in one transaction;
    /// `corrects` names the withdrawn item it corrects and republishes.
    pub async fn create_item(
        &self,
        actor: UserId,
        unit: Option<UnitId>,
        content: &VersionContent,
        corrects: Option<ItemId>,
    ) -> Result<VersionChange> {
        let mut tx = self.pool.begin().await?;
        let created = create_item_on(&mut tx, actor, unit, content, corrects).await?;
        tx.commit().await?;
        Ok(created)
    }

    /// Adds a version on top of `base_version`, which must be the current
    /// one (optimistic concurrency). An item under review goes back to draft:
    /// what reviewers saw is no longer what would be published.
    pub async fn add_version(
        &self,
        id: ItemId,
        base_version: i64,
        actor: UserId,
        content: &VersionContent,
    ) -> Result<VersionChange> {
        let mut tx = self.pool.begin().await?;
        let change =
            add_version_on(&mut tx, id, base_version, actor, content, "item.edit", serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(change)
    }

    pub async fn item(&self, id: ItemId) -> Result<ItemRecord> {
        let mut conn = self.pool.acquire().await?;
        fetch_item(&mut conn, id).await
    }

    /// The items that correct `id` (a withdrawn item), oldest first.
    pub async fn corrections_of(&self, id: ItemId) -> Result<Vec<ItemRecord>> {
        let sql = format!("SELECT {ITEM_COLUMNS} FROM items i WHERE i.corrects = $1 ORDER BY i.id");
        let rows = sqlx::query(&sql).bind(id.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(item_from_row).collect()
    }

    /// Every version of an item, oldest first.
    pub async fn versions(&self, id: ItemId) -> Result<Vec<StoredVersion>> {
        let sql = format!("SELECT {VERSION_COLUMNS} FROM item_versions v WHERE v.item_id = $1 ORDER BY v.version");
        let rows = sqlx::query(&sql).bind(id.to_string()).fetch_all(&self.pool).await?;
        rows.iter().map(version_from_row).collect()
    }

    pub async fn version(&self, id: ItemId, version: i64) -> Result<StoredVersion> {
        let mut conn = self.pool.acquire().await?;
        fetch_version(&mut conn, id, version).await
    }

    /// Items newest first, filtered on their current version.
    pub async fn list_items(&self, filter: &ItemFilter, after: Option<&ListCursor>, limit: u32) -> Result<ItemPage> {
        let mut conditions = Vec::new();
        let mut binds: Vec<String> = Vec::new();
        let mut push = |condition: &str, value: String| {
            binds.push(value);
            conditions.push(condition.replace('?', &format!("${}", binds.len())));
        };
        if let Some(state) = filter.state {
            push("i.state = ?", state.as_str().to_owned());
        }
        if let Some(issuer) = &filter.issuer {
            push("v.issuer = ?", issuer.clone());
        }
        if let Some(attribute) = filter.attribute {
            push("v.attribute = ?", attribute.as_str().to_owned());
        }
        if let Some(kind) = filter.kind {
            push("v.kind = ?", kind.as_str().to_owned());
        }
        if let Some(text) = &filter.text {
            push("(v.title LIKE ? ESCAPE '\\' OR v.body LIKE ? ESCAPE '\\')", format!("%{}%", escape_like(text)));
        }
        if let Some(user) = filter.created_by {
            push("i.created_by = ?", user.to_string());
        }
        if let Some(cursor) = after {
            push("i.id < ?", cursor.0.to_string());
        }
        let where_clause =
            if conditions.is_empty() { String::new() } else { format!("WHERE {}", conditions.join(" AND ")) };
        let sql = format!(
            "SELECT {ITEM_COLUMNS}, {VERSION_COLUMNS} FROM items i \
             JOIN item_versions v ON v.item_id = i.id AND v.version = i.current_version \
             {where_clause} ORDER BY i.id DESC LIMIT ${}",
            binds.len() + 1
        );
        let mut query = sqlx::query(&sql);
        for value in &binds {
            query = query.bind(value.as_str());
        }
        let rows = query.bind(i64::from(limit) + 1).fetch_all(&self.pool).await?;
        let mut items =
            rows.iter().map(|row| Ok((item_from_row(row)?, version_from_row(row)?))).collect::<Result<Vec<_>>>()?;
        let next = if items.len() > limit as usize {
            items.truncate(limit as usize);
            items.last().map(|(item, _)| ListCursor(item.id))
        } else {
            None
        };
        Ok(ItemPage { items, next })
    }
}

/// Moves an item from one of `from` to `to` inside a transaction, if
/// `version` is still current; the conditional update is the lock.
pub(super) async fn transition_in(
    conn: &mut AnyConnection,
    id: ItemId,
    version: i64,
    from: &[ItemState],
    to: ItemState,
    now: Timestamp,
) -> Result<ItemRecord> {
    let sql = format!(
        "UPDATE items SET state = $1, updated_at = $2 WHERE id = $3 AND current_version = $4 AND state IN ({})",
        placeholders(5, from.len())
    );
    let mut query = sqlx::query(&sql).bind(to.as_str()).bind(now.to_string()).bind(id.to_string()).bind(version);
    for state in from {
        query = query.bind(state.as_str());
    }
    if query.execute(&mut *conn).await?.rows_affected() == 0 {
        let item = fetch_item(conn, id).await?;
        return Err(if item.current_version != version {
            StoreError::Stale { expected: version, current: item.current_version }
        } else {
            StoreError::WrongState { state: item.state }
        });
    }
    fetch_item(conn, id).await
}

pub(super) async fn fetch_version(conn: &mut AnyConnection, id: ItemId, version: i64) -> Result<StoredVersion> {
    let sql = format!("SELECT {VERSION_COLUMNS} FROM item_versions v WHERE v.item_id = $1 AND v.version = $2");
    let row = sqlx::query(&sql)
        .bind(id.to_string())
        .bind(version)
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    version_from_row(&row)
}

/// `$start, $start+1, …` for `count` parameters.
fn placeholders(start: usize, count: usize) -> String {
    (start..start + count).map(|n| format!("${n}")).collect::<Vec<_>>().join(", ")
}

fn escape_like(text: &str) -> String {
    text.replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_")
}

pub(super) async fn fetch_item(conn: &mut AnyConnection, id: ItemId) -> Result<ItemRecord> {
    let sql = format!("SELECT {ITEM_COLUMNS} FROM items i WHERE i.id = $1");
    let row = sqlx::query(&sql).bind(id.to_string()).fetch_optional(&mut *conn).await?.ok_or(StoreError::NotFound)?;
    item_from_row(&row)
}

/// Inserts a draft item with its first version and its `item.create` event.
async fn create_item_on(
    conn: &mut AnyConnection,
    actor: UserId,
    unit: Option<UnitId>,
    content: &VersionContent,
    corrects: Option<ItemId>,
) -> Result<VersionChange> {
    let now = Timestamp::now();
    let id = ItemId::generate();
    sqlx::query(
        "INSERT INTO items (id, state, current_version, unit_id, created_by, created_at, updated_at, corrects) \
         VALUES ($1, $2, 1, $3, $4, $5, $5, $6)",
    )
    .bind(id.to_string())
    .bind(ItemState::Draft.as_str())
    .bind(unit.map(|u| u.to_string()))
    .bind(actor.to_string())
    .bind(now.to_string())
    .bind(corrects.map(|c| c.to_string()))
    .execute(&mut *conn)
    .await?;
    let version = insert_version(conn, id, 1, actor, now, content).await?;
    audit::append(
        conn,
        Some(actor),
        "item.create",
        Some((id, 1)),
        serde_json::json!({ "content_digest": version.content_digest, "corrects": corrects }),
    )
    .await?;
    let item = ItemRecord {
        id,
        state: ItemState::Draft,
        current_version: 1,
        unit_id: unit,
        created_by: actor,
        created_at: now,
        updated_at: now,
        corrects,
    };
    Ok(VersionChange { item, version })
}

/// [`Db::add_version`] on a connection, recording `action` in the audit log
/// with `detail` (besides the new content digest and the base version).
async fn add_version_on(
    conn: &mut AnyConnection,
    id: ItemId,
    base_version: i64,
    actor: UserId,
    content: &VersionContent,
    action: &str,
    mut detail: serde_json::Value,
) -> Result<VersionChange> {
    let now = Timestamp::now();
    let editable: Vec<&str> = ItemState::ALL.iter().filter(|s| s.is_editable()).map(|s| s.as_str()).collect();
    // The conditional update comes first: it takes the write lock on both
    // backends and makes the version check and the bump one atomic step.
    let sql = format!(
        "UPDATE items SET current_version = current_version + 1, state = $1, updated_at = $2 \
         WHERE id = $3 AND current_version = $4 AND state IN ({})",
        placeholders(5, editable.len())
    );
    let mut query =
        sqlx::query(&sql).bind(ItemState::Draft.as_str()).bind(now.to_string()).bind(id.to_string()).bind(base_version);
    for state in &editable {
        query = query.bind(*state);
    }
    if query.execute(&mut *conn).await?.rows_affected() == 0 {
        let item = fetch_item(&mut *conn, id).await?;
        return Err(if item.current_version != base_version {
            StoreError::Stale { expected: base_version, current: item.current_version }
        } else {
            StoreError::WrongState { state: item.state }
        });
    }
    let new_version = base_version + 1;
    let version = insert_version(&mut *conn, id, new_version, actor, now, content).await?;
    if let Some(map) = detail.as_object_mut() {
        map.insert("content_digest".into(), serde_json::json!(version.content_digest));
        map.insert("base_version".into(), serde_json::json!(base_version));
    }
    audit::append(&mut *conn, Some(actor), action, Some((id, new_version)), detail).await?;
    let item = fetch_item(&mut *conn, id).await?;
    Ok(VersionChange { item, version })
}

impl super::Tx {
    /// Adds a version on top of `base_version` (as [`Db::add_version`])
    /// inside a use case's transaction, recorded in the audit log as
    /// `action` with `detail` (an object).
    pub async fn add_version(
        &mut self,
        id: ItemId,
        base_version: i64,
        actor: UserId,
        content: &VersionContent,
        action: &str,
        detail: serde_json::Value,
    ) -> Result<VersionChange> {
        add_version_on(self.conn(), id, base_version, actor, content, action, detail).await
    }

    /// Creates a draft item with its first version inside a use case's
    /// transaction (a reply drafted for an application).
    pub async fn create_item(
        &mut self,
        actor: UserId,
        unit: Option<UnitId>,
        content: &VersionContent,
    ) -> Result<VersionChange> {
        create_item_on(self.conn(), actor, unit, content, None).await
    }
}

async fn insert_version(
    conn: &mut AnyConnection,
    id: ItemId,
    version: i64,
    actor: UserId,
    now: Timestamp,
    content: &VersionContent,
) -> Result<StoredVersion> {
    let digest = content.digest();
    let result = sqlx::query(
        "INSERT INTO item_versions (item_id, version, kind, title, body, attribute, attribute_reason, legal_basis, \
         doc_number, issuer, superior, interprets, channels, attachments, formed_at, flags, content_digest, \
         created_by, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19)",
    )
    .bind(id.to_string())
    .bind(version)
    .bind(content.kind.as_str())
    .bind(content.title.as_str())
    .bind(content.body.as_str())
    .bind(content.attribute.as_str())
    .bind(content.attribute_reason.as_deref())
    .bind(content.legal_basis.as_deref())
    .bind(content.doc_number.as_deref())
    .bind(content.issuer.as_deref())
    .bind(content.superior.as_ref().map(json_text))
    .bind(content.interprets.map(|i| i.to_string()))
    .bind(json_text(&content.channels))
    .bind(json_text(&content.attachments))
    .bind(content.formed_at.as_deref())
    .bind(json_text(&content.flags))
    .bind(digest.to_string())
    .bind(actor.to_string())
    .bind(now.to_string())
    .execute(&mut *conn)
    .await;
    match result {
        Ok(_) => {}
        Err(sqlx::Error::Database(e)) if e.is_foreign_key_violation() => {
            return Err(StoreError::Conflict("referenced item does not exist"));
        }
        Err(e) => return Err(e.into()),
    }
    Ok(StoredVersion {
        item_id: id,
        version,
        content: content.clone(),
        content_digest: digest,
        created_by: actor,
        created_at: now,
    })
}

pub(super) fn item_from_row(row: &AnyRow) -> Result<ItemRecord> {
    let unit: Option<String> = row.try_get("unit_id")?;
    let corrects: Option<String> = row.try_get("corrects")?;
    Ok(ItemRecord {
        id: parse_column("id", &row.try_get::<String, _>("id")?)?,
        state: parse_column("state", &row.try_get::<String, _>("state")?)?,
        current_version: row.try_get("current_version")?,
        unit_id: unit.map(|u| parse_column("unit_id", &u)).transpose()?,
        created_by: parse_column("created_by", &row.try_get::<String, _>("created_by")?)?,
        created_at: parse_column("created_at", &row.try_get::<String, _>("created_at")?)?,
        updated_at: parse_column("updated_at", &row.try_get::<String, _>("updated_at")?)?,
        corrects: corrects.map(|c| parse_column("corrects", &c)).transpose()?,
    })
}

fn version_from_row(row: &AnyRow) -> Result<StoredVersion> {
    let superior: Option<String> = row.try_get("superior")?;
    let interprets: Option<String> = row.try_get("interprets")?;
    let content = VersionContent {
        kind: parse_column("kind", &row.try_get::<String, _>("kind")?)?,
        title: row.try_get("title")?,
        body: row.try_get("body")?,
        attribute: parse_column("attribute", &row.try_get::<String, _>("attribute")?)?,
        attribute_reason: row.try_get("attribute_reason")?,
        legal_basis: row.try_get("legal_basis")?,
        doc_number: row.try_get("doc_number")?,
        issuer: row.try_get("issuer")?,
        superior: superior.map(|s| from_json_text("superior", &s)).transpose()?,
        interprets: interprets.map(|s| parse_column("interprets", &s)).transpose()?,
        channels: from_json_text("channels", &row.try_get::<String, _>("channels")?)?,
        attachments: from_json_text("attachments", &row.try_get::<String, _>("attachments")?)?,
        formed_at: row.try_get("formed_at")?,
        flags: from_json_text("flags", &row.try_get::<String, _>("flags")?)?,
    };
    Ok(StoredVersion {
        item_id: parse_column("item_id", &row.try_get::<String, _>("item_id")?)?,
        version: row.try_get("version")?,
        content,
        content_digest: parse_column("content_digest", &row.try_get::<String, _>("content_digest")?)?,
        created_by: parse_column("v_created_by", &row.try_get::<String, _>("v_created_by")?)?,
        created_at: parse_column("v_created_at", &row.try_get::<String, _>("v_created_at")?)?,
    })
}

/// Items inside a use case's transaction.
impl super::Tx {
    pub async fn item(&mut self, id: ItemId) -> Result<ItemRecord> {
        fetch_item(self.conn(), id).await
    }

    pub async fn version(&mut self, id: ItemId, version: i64) -> Result<StoredVersion> {
        fetch_version(self.conn(), id, version).await
    }
}
