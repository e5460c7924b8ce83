//! Storage of the review workflow: votes, overrides, waivers, claims,
//! comments, what each reviewer last saw, and notifications.
//!
//! Every workflow action goes through [`Db::apply_action`]: one transaction
//! that locks the item row, checks that nothing moved since the caller
//! evaluated it (the [`WorkflowContext::fingerprint`]), writes the action,
//! re-evaluates the requirements, moves the item and appends to the audit
//! chain. The decisions themselves are `crate::workflow`'s.

use std::collections::BTreeSet;

use serde_json::{Value, json};
use sqlx::any::AnyRow;
use sqlx::{AnyConnection, Row};

use super::reviews::{insert_review, review_from_row};
use super::{Db, Result, StoreError, audit, json_text, parse_column};
use crate::auth::Role;
use crate::model::ItemRecord;
use crate::model::{ItemId, ItemState, Timestamp, UnitId, UserId};
use crate::workflow::{self, Candidate, OverrideRecord, Snapshot, VoteRecord, VoteValue};
use crate::workflow::{Action, PreparedSealReview, StoredReview, WaiverRecord, WorkflowContext};

/// A comment as stored.
#[derive(Clone, Debug)]
pub struct CommentRecord {
    pub id: String,
    pub version: i64,
    pub user_id: UserId,
    pub field: String,
    pub span: Option<(i64, i64)>,
    pub quote: Option<String>,
    pub body: String,
    pub created_at: Timestamp,
}

/// An in-app notification as stored.
#[derive(Clone, Debug)]
pub struct NotificationRecord {
    pub id: String,
    pub kind: String,
    pub item_id: Option<ItemId>,
    pub message: String,
    pub created_at: Timestamp,
    pub read_at: Option<Timestamp>,
}

/// The workflow's writes inside a use case's transaction: the service
/// (`service::workflow`) decides, these record.
impl super::Tx {
    /// Takes the item's write lock (a no-op update) so that what is read
    /// next cannot change before the commit.
    pub async fn lock_item(&mut self, id: ItemId) -> Result<()> {
        let done = sqlx::query("UPDATE items SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(self.conn())
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    pub async fn workflow_context(&mut self, id: ItemId) -> Result<WorkflowContext> {
        load_context(self.conn(), id).await
    }

    /// Records a person's action (or a recheck) with its audit event.
    pub async fn record_action(
        &mut self,
        context: &WorkflowContext,
        actor: Option<UserId>,
        action: &Action,
        now: Timestamp,
    ) -> Result<()> {
        let detail = write_action(self.conn(), context, actor, action, now).await?;
        let at = Some((context.item.id, context.version.version));
        audit::append(self.conn(), actor, action.audit_action(), at, detail).await?;
        Ok(())
    }

    /// Stores a seal-phase review run for the approval record whose digest
    /// it names, with its audit event (`why`: an extra note for the trail).
    pub async fn record_seal_review(
        &mut self,
        context: &WorkflowContext,
        review: &PreparedSealReview,
        why: Option<&str>,
        now: Timestamp,
    ) -> Result<StoredReview> {
        let (id, version, digest) = (context.item.id, context.version.version, context.version.content_digest);
        let r = insert_review(
            self.conn(),
            id,
            version,
            &digest,
            "seal",
            &review.outcome,
            Some(&review.approvals_digest),
            now,
        )
        .await?;
        let mut detail = json!({ "review_id": r.id, "verdict": r.outcome.verdict,
            "approvals_digest": review.approvals_digest, "policy_hash": r.policy_hash });
        if let Some(why) = why {
            detail["reason"] = json!(why);
        }
        audit::append(self.conn(), None, "review.seal_check", Some((id, version)), detail).await?;
        Ok(r)
    }

    /// Moves the item along a transition of the state machine if `version`
    /// is still current, with an `item.state` event carrying `detail`.
    pub async fn move_item(
        &mut self,
        id: ItemId,
        version: i64,
        transition: crate::model::Transition,
        actor: Option<UserId>,
        detail: Value,
        now: Timestamp,
    ) -> Result<ItemRecord> {
        let (from, to) = (transition.from(), transition.to());
        let item = super::items::transition_in(self.conn(), id, version, &[from], to, now).await?;
        let mut d = json!({ "from": from.as_str(), "to": to.as_str() });
        if let (Some(map), Value::Object(extra)) = (d.as_object_mut(), detail) {
            map.extend(extra);
        }
        audit::append(self.conn(), actor, "item.state", Some((id, version)), d).await?;
        Ok(item)
    }

    /// The users holding any of `roles`.
    pub async fn users_with_roles(&mut self, roles: &[Role]) -> Result<Vec<UserId>> {
        let mut ids = BTreeSet::new();
        for role in roles {
            let rows = sqlx::query("SELECT DISTINCT user_id FROM user_roles WHERE role = $1")
                .bind(role.as_str())
                .fetch_all(&mut *self.conn())
                .await?;
            for r in &rows {
                ids.insert(parse_column::<UserId>("user_id", &r.try_get::<String, _>("user_id")?)?);
            }
        }
        Ok(ids.into_iter().collect())
    }

    /// A person's display name (for texts that name who acted).
    pub async fn display_name(&mut self, user: UserId) -> Result<String> {
        let row = sqlx::query("SELECT display_name FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&mut *self.conn())
            .await?;
        Ok(match row {
            Some(r) => r.try_get("display_name")?,
            None => user.to_string(),
        })
    }

    /// Adds a notification unless one with the same key exists.
    pub async fn notify(&mut self, n: &workflow::Notice, now: Timestamp) -> Result<bool> {
        insert_notification(self.conn(), n.user, n.kind, n.item, &n.message, &n.key, now).await
    }
}

impl Db {
    /// Loads the workflow context of an item's current version.
    pub async fn workflow_context(&self, id: ItemId) -> Result<WorkflowContext> {
        let mut conn = self.pool.acquire().await?;
        load_context(&mut conn, id).await
    }

    /// Rejects a blocked item (不予发布) with a reason.
    pub async fn reject_item(&self, id: ItemId, version: i64, actor: UserId, reason: &str) -> Result<ItemRecord> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        let item =
            super::items::transition_in(&mut tx, id, version, &[ItemState::Blocked], ItemState::Rejected, now).await?;
        audit::append(&mut tx, Some(actor), "item.reject", Some((id, version)), json!({ "reason": reason })).await?;
        insert_notification(
            &mut tx,
            item.created_by,
            "rejected",
            Some(id),
            &format!("您提交的事项已被否决，不予发布：{reason}"),
            &format!("rejected:{id}:{version}"),
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(item)
    }

    /// Claims a stage of an item for `user`; refuses if someone else holds it.
    pub async fn claim(&self, id: ItemId, stage: &str, user: UserId) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        let holder: Option<String> = sqlx::query("SELECT user_id FROM claims WHERE item_id = $1 AND stage = $2")
            .bind(id.to_string())
            .bind(stage)
            .fetch_optional(&mut *tx)
            .await?
            .map(|r| r.try_get("user_id"))
            .transpose()?;
        match holder {
            Some(h) if h == user.to_string() => return Ok(()),
            Some(_) => return Err(StoreError::Conflict("claimed by someone else")),
            None => {}
        }
        let inserted = sqlx::query("INSERT INTO claims (item_id, stage, user_id, claimed_at) VALUES ($1, $2, $3, $4)")
            .bind(id.to_string())
            .bind(stage)
            .bind(user.to_string())
            .bind(now.to_string())
            .execute(&mut *tx)
            .await;
        match inserted {
            Err(e) if super::is_unique_violation(&e) => return Err(StoreError::Conflict("claimed by someone else")),
            r => r?,
        };
        let version = super::items::fetch_item(&mut tx, id).await?.current_version;
        audit::append(&mut tx, Some(user), "review.claim", Some((id, version)), json!({ "stage": stage })).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Releases a claim held by `user`.
    pub async fn unclaim(&self, id: ItemId, stage: &str, user: UserId) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("DELETE FROM claims WHERE item_id = $1 AND stage = $2 AND user_id = $3")
            .bind(id.to_string())
            .bind(stage)
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let version = super::items::fetch_item(&mut tx, id).await?.current_version;
        audit::append(&mut tx, Some(user), "review.unclaim", Some((id, version)), json!({ "stage": stage })).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Claims on an item: stage → user.
    pub async fn claims(&self, id: ItemId) -> Result<Vec<(String, UserId, Timestamp)>> {
        let rows = sqlx::query("SELECT stage, user_id, claimed_at FROM claims WHERE item_id = $1 ORDER BY stage")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                Ok((
                    r.try_get("stage")?,
                    parse_column("user_id", &r.try_get::<String, _>("user_id")?)?,
                    parse_column("claimed_at", &r.try_get::<String, _>("claimed_at")?)?,
                ))
            })
            .collect()
    }

    /// Records that `user` looked at `version`; returns the version they saw
    /// before, if any.
    pub async fn mark_seen(&self, id: ItemId, user: UserId, version: i64) -> Result<Option<i64>> {
        let before = self.last_seen(id, user).await?;
        if before == Some(version) {
            return Ok(before);
        }
        sqlx::query(
            "INSERT INTO last_seen (item_id, user_id, version, seen_at) VALUES ($1, $2, $3, $4) \
             ON CONFLICT (item_id, user_id) DO UPDATE SET version = excluded.version, seen_at = excluded.seen_at",
        )
        .bind(id.to_string())
        .bind(user.to_string())
        .bind(version)
        .bind(Timestamp::now().to_string())
        .execute(&self.pool)
        .await?;
        Ok(before)
    }

    pub async fn last_seen(&self, id: ItemId, user: UserId) -> Result<Option<i64>> {
        let row = sqlx::query("SELECT version FROM last_seen WHERE item_id = $1 AND user_id = $2")
            .bind(id.to_string())
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?;
        Ok(row.map(|r| r.try_get("version")).transpose()?)
    }

    /// Items in active workflow states, for the queue and the sweeper.
    pub async fn active_item_ids(&self) -> Result<Vec<ItemId>> {
        let rows = sqlx::query("SELECT id FROM items WHERE state IN ($1, $2, $3) ORDER BY id")
            .bind(ItemState::InReview.as_str())
            .bind(ItemState::Blocked.as_str())
            .bind(ItemState::ChangesRequested.as_str())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| parse_column("id", &r.try_get::<String, _>("id")?)).collect()
    }

    /// Adds a comment; the caller checked the span against the text.
    #[allow(clippy::too_many_arguments)]
    pub async fn add_comment(
        &self,
        id: ItemId,
        version: i64,
        user: UserId,
        field: &str,
        span: Option<(i64, i64)>,
        quote: Option<&str>,
        body: &str,
    ) -> Result<CommentRecord> {
        let now = Timestamp::now();
        let comment_id = uuid::Uuid::now_v7().to_string();
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO comments (id, item_id, version, user_id, field, span_start, span_end, quote, body, created_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
        )
        .bind(comment_id.as_str())
        .bind(id.to_string())
        .bind(version)
        .bind(user.to_string())
        .bind(field)
        .bind(span.map(|s| s.0))
        .bind(span.map(|s| s.1))
        .bind(quote)
        .bind(body)
        .bind(now.to_string())
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            Some(user),
            "review.comment",
            Some((id, version)),
            json!({ "comment_id": comment_id, "field": field, "span": span.map(|s| [s.0, s.1]), "body": body }),
        )
        .await?;
        tx.commit().await?;
        Ok(CommentRecord {
            id: comment_id,
            version,
            user_id: user,
            field: field.to_owned(),
            span,
            quote: quote.map(str::to_owned),
            body: body.to_owned(),
            created_at: now,
        })
    }

    /// Comments on an item with their authors' display names, oldest first.
    pub async fn comments(&self, id: ItemId) -> Result<Vec<(CommentRecord, String)>> {
        let rows = sqlx::query(
            "SELECT c.*, u.display_name FROM comments c JOIN users u ON u.id = c.user_id \
             WHERE c.item_id = $1 ORDER BY c.created_at, c.id",
        )
        .bind(id.to_string())
        .fetch_all(&self.pool)
        .await?;
        rows.iter()
            .map(|r| {
                let start: Option<i64> = r.try_get("span_start")?;
                let end: Option<i64> = r.try_get("span_end")?;
                Ok((
                    CommentRecord {
                        id: r.try_get("id")?,
                        version: r.try_get("version")?,
                        user_id: parse_column("user_id", &r.try_get::<String, _>("user_id")?)?,
                        field: r.try_get("field")?,
                        span: start.zip(end),
                        quote: r.try_get("quote")?,
                        body: r.try_get("body")?,
                        created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
                    },
                    r.try_get("display_name")?,
                ))
            })
            .collect()
    }

    /// A user's notifications, newest first.
    pub async fn notifications(&self, user: UserId, unread_only: bool, limit: i64) -> Result<Vec<NotificationRecord>> {
        let sql = if unread_only {
            "SELECT * FROM notifications WHERE user_id = $1 AND read_at IS NULL ORDER BY created_at DESC, id DESC LIMIT $2"
        } else {
            "SELECT * FROM notifications WHERE user_id = $1 ORDER BY created_at DESC, id DESC LIMIT $2"
        };
        let rows = sqlx::query(sql).bind(user.to_string()).bind(limit).fetch_all(&self.pool).await?;
        rows.iter().map(notification_from_row).collect()
    }

    pub async fn mark_notification_read(&self, user: UserId, id: &str) -> Result<()> {
        let done =
            sqlx::query("UPDATE notifications SET read_at = COALESCE(read_at, $1) WHERE id = $2 AND user_id = $3")
                .bind(Timestamp::now().to_string())
                .bind(id)
                .bind(user.to_string())
                .execute(&self.pool)
                .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        Ok(())
    }

    /// Marks every unread notification of `user` about `item` read (the
    /// person opened the item's page); returns how many.
    pub async fn mark_item_notifications_read(&self, user: UserId, item: ItemId) -> Result<u64> {
        let done = sqlx::query(
            "UPDATE notifications SET read_at = $1 WHERE user_id = $2 AND item_id = $3 AND read_at IS NULL",
        )
        .bind(Timestamp::now().to_string())
        .bind(user.to_string())
        .bind(item.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected())
    }

    /// Notifications not yet delivered to the outgoing hook, oldest first,
    /// with the recipient's username.
    pub async fn pending_webhook_notifications(&self, limit: i64) -> Result<Vec<(NotificationRecord, String)>> {
        let rows = sqlx::query(
            "SELECT n.*, u.username FROM notifications n JOIN users u ON u.id = n.user_id \
             WHERE n.webhook_sent_at IS NULL AND n.webhook_attempts < 50 ORDER BY n.created_at, n.id LIMIT $1",
        )
        .bind(limit)
        .fetch_all(&self.pool)
        .await?;
        rows.iter().map(|r| Ok((notification_from_row(r)?, r.try_get("username")?))).collect()
    }

    /// Records one attempt to deliver a notification to the hook.
    pub async fn mark_webhook_attempt(&self, id: &str, delivered: bool) -> Result<()> {
        let sent = delivered.then(|| Timestamp::now().to_string());
        sqlx::query(
            "UPDATE notifications SET webhook_attempts = webhook_attempts + 1, webhook_sent_at = $1 WHERE id = $2",
        )
        .bind(sent)
        .bind(id)
        .execute(&self.pool)
        .await?;
        Ok(())
    }

    /// Adds a notification unless one with the same key exists.
    pub async fn notify(
        &self,
        user: UserId,
        kind: &str,
        item: Option<ItemId>,
        message: &str,
        dedupe_key: &str,
    ) -> Result<bool> {
        let mut conn = self.pool.acquire().await?;
        insert_notification(&mut conn, user, kind, item, message, dedupe_key, Timestamp::now()).await
    }
}

fn notification_from_row(r: &AnyRow) -> Result<NotificationRecord> {
    let item: Option<String> = r.try_get("item_id")?;
    let read: Option<String> = r.try_get("read_at")?;
    Ok(NotificationRecord {
        id: r.try_get("id")?,
        kind: r.try_get("kind")?,
        item_id: item.map(|i| parse_column("item_id", &i)).transpose()?,
        message: r.try_get("message")?,
        created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
        read_at: read.map(|t| parse_column("read_at", &t)).transpose()?,
    })
}

/// Loads the context of the current version inside a connection or a
/// transaction.
pub(super) async fn load_context(conn: &mut AnyConnection, id: ItemId) -> Result<WorkflowContext> {
    let item = super::items::fetch_item(conn, id).await?;
    let version = super::items::fetch_version(conn, id, item.current_version).await?;
    let digest = version.content_digest;
    let authors: BTreeSet<UserId> = sqlx::query("SELECT DISTINCT created_by FROM item_versions WHERE item_id = $1")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| parse_column("created_by", &r.try_get::<String, _>("created_by")?))
        .chain(std::iter::once(Ok(item.created_by)))
        .collect::<Result<_>>()?;
    let reviews: Vec<StoredReview> =
        sqlx::query("SELECT * FROM reviews WHERE item_id = $1 AND version = $2 ORDER BY created_at, id")
            .bind(id.to_string())
            .bind(item.current_version)
            .fetch_all(&mut *conn)
            .await?
            .iter()
            .map(review_from_row)
            .collect::<Result<_>>()?;
    let submit_review = reviews.iter().rev().find(|r| r.phase == "submit").cloned();
    let seal_review = reviews.iter().rev().find(|r| r.phase == "seal").cloned();
    let votes = load_votes(conn, id).await?;
    let overrides = load_overrides(conn, id).await?;
    let waivers = load_waivers(conn, id, &digest.to_string()).await?;
    let candidates = load_candidates(conn).await?;
    let fingerprint = format!(
        "{}:{}:{}:{}:{}:{}:{}",
        item.current_version,
        item.state,
        votes.len(),
        votes.iter().filter(|v| v.lifted_at.is_some()).count(),
        overrides.len(),
        waivers.len(),
        reviews.last().map_or("", |r| r.id.as_str()),
    );
    let snapshot = Snapshot {
        kind: version.content.kind,
        attribute: version.content.attribute,
        channels: version.content.channels.clone(),
        flags: version.content.flags.clone(),
        unit: item.unit_id,
        version: version.version,
        digest,
        authors,
        submitted_at: submit_review.as_ref().map(|r| r.created_at),
        votes,
        overrides,
        candidates,
    };
    Ok(WorkflowContext { item, version, snapshot, submit_review, seal_review, waivers, fingerprint })
}

async fn load_votes(conn: &mut AnyConnection, id: ItemId) -> Result<Vec<VoteRecord>> {
    let rows = sqlx::query("SELECT * FROM votes WHERE item_id = $1 ORDER BY created_at, id")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter().map(vote_from_row).collect()
}

fn vote_from_row(r: &AnyRow) -> Result<VoteRecord> {
    let value: String = r.try_get("value")?;
    let signoff: Option<String> = r.try_get("signoff")?;
    let lifted: Option<String> = r.try_get("lifted_at")?;
    Ok(VoteRecord {
        id: r.try_get("id")?,
        version: r.try_get("version")?,
        digest: parse_column("content_digest", &r.try_get::<String, _>("content_digest")?)?,
        stage: r.try_get("stage")?,
        user: parse_column("user_id", &r.try_get::<String, _>("user_id")?)?,
        value: VoteValue::parse(&value).ok_or_else(|| StoreError::Corrupt(format!("vote value {value}")))?,
        comment: r.try_get("comment")?,
        signoff: signoff.map(|s| super::from_json_text("signoff", &s)).transpose()?,
        created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
        lifted_at: lifted.map(|l| parse_column("lifted_at", &l)).transpose()?,
    })
}

async fn load_overrides(conn: &mut AnyConnection, id: ItemId) -> Result<Vec<OverrideRecord>> {
    let rows = sqlx::query("SELECT * FROM overrides WHERE item_id = $1 ORDER BY created_at, id")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(OverrideRecord {
                id: r.try_get("id")?,
                version: r.try_get("version")?,
                digest: parse_column("content_digest", &r.try_get::<String, _>("content_digest")?)?,
                stage: r.try_get("stage")?,
                user: parse_column("user_id", &r.try_get::<String, _>("user_id")?)?,
                role: parse_column("role", &r.try_get::<String, _>("role")?)?,
                reason: r.try_get("reason")?,
                created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
            })
        })
        .collect()
}

async fn load_waivers(conn: &mut AnyConnection, id: ItemId, digest: &str) -> Result<Vec<WaiverRecord>> {
    let rows = sqlx::query("SELECT * FROM waivers WHERE item_id = $1 AND content_digest = $2 ORDER BY created_at, id")
        .bind(id.to_string())
        .bind(digest)
        .fetch_all(&mut *conn)
        .await?;
    rows.iter()
        .map(|r| {
            Ok(WaiverRecord {
                id: r.try_get("id")?,
                version: r.try_get("version")?,
                content_digest: r.try_get("content_digest")?,
                finding_id: r.try_get("finding_id")?,
                rule_id: r.try_get("rule_id")?,
                user_id: parse_column("user_id", &r.try_get::<String, _>("user_id")?)?,
                role: parse_column("role", &r.try_get::<String, _>("role")?)?,
                reason: r.try_get("reason")?,
                created_at: parse_column("created_at", &r.try_get::<String, _>("created_at")?)?,
            })
        })
        .collect()
}

/// Active people with their roles and units (accounts without a password,
/// i.e. channels and automation, never review).
async fn load_candidates(conn: &mut AnyConnection) -> Result<Vec<Candidate>> {
    let rows = sqlx::query(
        "SELECT u.id, u.unit_id, r.role FROM users u JOIN user_roles r ON r.user_id = u.id \
         WHERE u.active = 1 AND u.password_hash IS NOT NULL ORDER BY u.id, r.role",
    )
    .fetch_all(&mut *conn)
    .await?;
    let mut candidates: Vec<Candidate> = Vec::new();
    for r in &rows {
        let user: UserId = parse_column("id", &r.try_get::<String, _>("id")?)?;
        let unit: Option<String> = r.try_get("unit_id")?;
        let unit: Option<UnitId> = unit.map(|u| parse_column("unit_id", &u)).transpose()?;
        let role: Role = parse_column("role", &r.try_get::<String, _>("role")?)?;
        match candidates.last_mut() {
            Some(c) if c.user == user => {
                c.roles.insert(role);
            }
            _ => candidates.push(Candidate { user, roles: [role].into(), unit }),
        }
    }
    Ok(candidates)
}

/// Writes the rows of one action; returns the audit detail.
async fn write_action(
    conn: &mut AnyConnection,
    context: &WorkflowContext,
    actor: Option<UserId>,
    action: &Action,
    now: Timestamp,
) -> Result<Value> {
    let id = context.item.id.to_string();
    let version = context.version.version;
    let digest = context.version.content_digest.to_string();
    let actor_text = actor.map(|a| a.to_string());
    let new_id = || uuid::Uuid::now_v7().to_string();
    Ok(match action {
        Action::Vote { id: vote_id, at, stage, value, comment, signoff } => {
            sqlx::query(
                "INSERT INTO votes (id, item_id, version, content_digest, stage, user_id, value, comment, signoff, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(vote_id.as_str())
            .bind(id.as_str())
            .bind(version)
            .bind(digest.as_str())
            .bind(stage.as_str())
            .bind(actor_text.as_deref())
            .bind(value.as_str())
            .bind(comment.as_deref())
            .bind(signoff.as_ref().map(json_text))
            .bind(at.to_string())
            .execute(&mut *conn)
            .await?;
            sqlx::query("DELETE FROM claims WHERE item_id = $1 AND stage = $2")
                .bind(id.as_str())
                .bind(stage.as_str())
                .execute(&mut *conn)
                .await?;
            json!({ "vote_id": vote_id, "stage": stage, "value": value.as_str(), "comment": comment,
                    "content_digest": digest, "signoff": signoff })
        }
        Action::Override { id: override_id, at, stage, role, reason } => {
            sqlx::query(
                "INSERT INTO overrides (id, item_id, version, content_digest, stage, user_id, role, reason, created_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)",
            )
            .bind(override_id.as_str())
            .bind(id.as_str())
            .bind(version)
            .bind(digest.as_str())
            .bind(stage.as_str())
            .bind(actor_text.as_deref())
            .bind(role.as_str())
            .bind(reason.as_str())
            .bind(at.to_string())
            .execute(&mut *conn)
            .await?;
            json!({ "stage": stage, "role": role.as_str(), "reason": reason, "content_digest": digest })
        }
        Action::Waive { finding_id, rule_id, role, reason } => {
            let inserted = sqlx::query(
                "INSERT INTO waivers (id, item_id, version, content_digest, finding_id, rule_id, user_id, role, reason, \
                 created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)",
            )
            .bind(new_id())
            .bind(id.as_str())
            .bind(version)
            .bind(digest.as_str())
            .bind(finding_id.as_str())
            .bind(rule_id.as_str())
            .bind(actor_text.as_deref())
            .bind(role.as_str())
            .bind(reason.as_str())
            .bind(now.to_string())
            .execute(&mut *conn)
            .await;
            match inserted {
                Err(e) if super::is_unique_violation(&e) => return Err(StoreError::Conflict("already waived")),
                r => r?,
            };
            json!({ "finding_id": finding_id, "rule_id": rule_id, "role": role.as_str(), "reason": reason,
                    "content_digest": digest })
        }
        Action::LiftVeto { vote_id, reason } => {
            let done = sqlx::query(
                "UPDATE votes SET lifted_at = $1, lift_reason = $2 WHERE id = $3 AND item_id = $4 AND user_id = $5 \
                 AND value = 'block' AND lifted_at IS NULL",
            )
            .bind(now.to_string())
            .bind(reason.as_str())
            .bind(vote_id.as_str())
            .bind(id.as_str())
            .bind(actor_text.as_deref())
            .execute(&mut *conn)
            .await?;
            if done.rows_affected() == 0 {
                return Err(StoreError::NotFound);
            }
            json!({ "vote_id": vote_id, "reason": reason })
        }
        Action::Recheck => json!({ "content_digest": digest }),
    })
}

/// Inserts a notification unless its key exists; true if inserted.
pub(super) async fn insert_notification(
    conn: &mut AnyConnection,
    user: UserId,
    kind: &str,
    item: Option<ItemId>,
    message: &str,
    dedupe_key: &str,
    now: Timestamp,
) -> Result<bool> {
    let done = sqlx::query(
        "INSERT INTO notifications (id, user_id, kind, item_id, message, dedupe_key, created_at) \
         VALUES ($1, $2, $3, $4, $5, $6, $7) ON CONFLICT (dedupe_key) DO NOTHING",
    )
    .bind(uuid::Uuid::now_v7().to_string())
    .bind(user.to_string())
    .bind(kind)
    .bind(item.map(|i| i.to_string()))
    .bind(message)
    .bind(dedupe_key)
    .bind(now.to_string())
    .execute(&mut *conn)
    .await?;
    Ok(done.rows_affected() > 0)
}
