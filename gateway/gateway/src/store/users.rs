//! People and accounts: users with roles and units, sessions, API tokens.

use std::collections::BTreeSet;

use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Db, Result, StoreError, audit, from_json_text, is_unique_violation, json_text, parse_column};
use crate::auth::{Principal, Role, Scope};
use crate::model::{Timestamp, UnitId, UserId};

/// A user as stored (without the password hash).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserRecord {
    pub id: UserId,
    pub username: String,
    pub display_name: String,
    pub unit_id: Option<UnitId>,
    pub unit_name: Option<String>,
    pub roles: BTreeSet<Role>,
    pub active: bool,
    pub created_at: Timestamp,
}

/// What it takes to create a user.
#[derive(Clone, Debug)]
pub struct NewUser {
    pub username: String,
    pub display_name: String,
    /// The unit's name; created if it does not exist yet.
    pub unit: Option<String>,
    pub roles: BTreeSet<Role>,
    /// argon2 PHC string, or `None` for a token-only account.
    pub password_hash: Option<String>,
}

/// A live session.
#[derive(Clone, Debug)]
pub struct SessionRecord {
    pub principal: Principal,
    pub expires_at: Timestamp,
}

/// A token to issue: the hash of its secret and what it may do.
pub struct NewToken<'a> {
    /// The account the token acts as.
    pub user: UserId,
    pub name: &'a str,
    pub token_hash: &'a str,
    pub scopes: &'a BTreeSet<Scope>,
    /// Non-empty exactly for `channel` tokens (`auth::token_channels_problem`).
    pub channels: &'a BTreeSet<String>,
    pub expires_at: Option<Timestamp>,
}

/// An API token's metadata (never the secret).
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, utoipa::ToSchema)]
pub struct TokenRecord {
    pub id: String,
    #[schema(value_type = String)]
    pub user_id: UserId,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The channels a `channel` token may read and confirm.
    pub channels: BTreeSet<String>,
    #[schema(value_type = String)]
    pub created_at: Timestamp,
    #[schema(value_type = Option<String>)]
    pub expires_at: Option<Timestamp>,
    #[schema(value_type = Option<String>)]
    pub revoked_at: Option<Timestamp>,
}

/// After this many failed logins in a row the account is locked for
/// [`LOCKOUT_MINUTES`].
pub const MAX_FAILED_LOGINS: i64 = 5;
pub const LOCKOUT_MINUTES: i64 = 15;

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.unit_id, n.name AS unit_name, u.active, \
     u.created_at, u.password_hash, u.failed_logins, u.locked_until FROM users u LEFT JOIN units n ON n.id = u.unit_id";

impl Db {
    /// Creates a user (and its unit, if new). Fails with `Conflict` when the
    /// username is taken.
    pub async fn create_user(&self, actor: Option<UserId>, new: &NewUser) -> Result<UserRecord> {
        let now = Timestamp::now();
        let id = UserId::generate();
        let mut tx = self.pool.begin().await?;
        let unit_id = match &new.unit {
            Some(name) => Some(ensure_unit(&mut tx, name, now).await?),
            None => None,
        };
        let inserted = sqlx::query(
            "INSERT INTO users (id, username, display_name, unit_id, password_hash, active, created_at) \
             VALUES ($1, $2, $3, $4, $5, 1, $6)",
        )
        .bind(id.to_string())
        .bind(new.username.as_str())
        .bind(new.display_name.as_str())
        .bind(unit_id.map(|u| u.to_string()))
        .bind(new.password_hash.as_deref())
        .bind(now.to_string())
        .execute(&mut *tx)
        .await;
        match inserted {
            Err(e) if is_unique_violation(&e) => {
                return Err(StoreError::Conflict("username already exists"));
            }
            other => other?,
        };
        for role in &new.roles {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(id.to_string())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        audit::append(
            &mut tx,
            actor,
            "user.create",
            None,
            serde_json::json!({ "user_id": id, "username": new.username, "roles": new.roles }),
        )
        .await?;
        tx.commit().await?;
        self.user(id).await
    }

    pub async fn user_count(&self) -> Result<i64> {
        Ok(sqlx::query("SELECT COUNT(*) AS n FROM users").fetch_one(&self.pool).await?.try_get("n")?)
    }

    /// An active user by username.
    pub async fn user_by_name(&self, username: &str) -> Result<UserRecord> {
        let row = sqlx::query(&format!("{USER_SELECT} WHERE u.username = $1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let id: UserId = parse_column("id", &row.try_get::<String, _>("id")?)?;
        user_from_row(&row, self.roles(id).await?)
    }

    pub async fn user(&self, id: UserId) -> Result<UserRecord> {
        let row = sqlx::query(&format!("{USER_SELECT} WHERE u.id = $1"))
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        let roles = self.roles(id).await?;
        user_from_row(&row, roles)
    }

    pub async fn users(&self) -> Result<Vec<UserRecord>> {
        let rows = sqlx::query(&format!("{USER_SELECT} ORDER BY u.username")).fetch_all(&self.pool).await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in &rows {
            let id: UserId = parse_column("id", &row.try_get::<String, _>("id")?)?;
            users.push(user_from_row(row, self.roles(id).await?)?);
        }
        Ok(users)
    }

    async fn roles(&self, id: UserId) -> Result<BTreeSet<Role>> {
        let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1")
            .bind(id.to_string())
            .fetch_all(&self.pool)
            .await?;
        rows.iter().map(|r| parse_column("role", &r.try_get::<String, _>("role")?)).collect()
    }

    /// The user and stored password hash for a login attempt, if the user
    /// exists and is active. Also says whether the account is locked.
    pub async fn login_candidate(&self, username: &str) -> Result<Option<(UserRecord, Option<String>, bool)>> {
        let Some(row) = sqlx::query(&format!("{USER_SELECT} WHERE u.username = $1 AND u.active = 1"))
            .bind(username)
            .fetch_optional(&self.pool)
            .await?
        else {
            return Ok(None);
        };
        let id: UserId = parse_column("id", &row.try_get::<String, _>("id")?)?;
        let user = user_from_row(&row, self.roles(id).await?)?;
        let hash: Option<String> = row.try_get("password_hash")?;
        let locked_until: Option<String> = row.try_get("locked_until")?;
        let locked = locked_until.is_some_and(|t| t > Timestamp::now().to_string());
        Ok(Some((user, hash, locked)))
    }

    /// Counts a failed login; the fifth in a row locks the account.
    pub async fn record_login_failure(&self, id: UserId) -> Result<()> {
        let lock_until =
            Timestamp::from_offset(Timestamp::now().as_offset() + time::Duration::minutes(LOCKOUT_MINUTES));
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "UPDATE users SET failed_logins = failed_logins + 1, \
             locked_until = CASE WHEN failed_logins + 1 >= $1 THEN $2 ELSE locked_until END WHERE id = $3",
        )
        .bind(MAX_FAILED_LOGINS)
        .bind(lock_until.to_string())
        .bind(id.to_string())
        .execute(&mut *tx)
        .await?;
        audit::append(&mut tx, Some(id), "auth.login_failed", None, serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Creates a session after a successful login and resets the failure count.
    pub async fn create_session(&self, user: UserId, token_hash: &str, ttl: time::Duration) -> Result<Timestamp> {
        let now = Timestamp::now();
        let expires = Timestamp::from_offset(now.as_offset() + ttl);
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET failed_logins = 0, locked_until = NULL WHERE id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        sqlx::query(
            "INSERT INTO sessions (token_hash, user_id, created_at, expires_at, last_seen_at) VALUES ($1, $2, $3, $4, $3)",
        )
        .bind(token_hash)
        .bind(user.to_string())
        .bind(now.to_string())
        .bind(expires.to_string())
        .execute(&mut *tx)
        .await?;
        audit::append(&mut tx, Some(user), "auth.login", None, serde_json::json!({})).await?;
        tx.commit().await?;
        Ok(expires)
    }

    /// The principal of a live session. Sliding expiry: each use moves the
    /// idle deadline out by `idle`, never past the absolute `expires_at`.
    pub async fn session(&self, token_hash: &str, idle: time::Duration) -> Result<Option<SessionRecord>> {
        let now = Timestamp::now();
        let Some(row) = sqlx::query(
            "SELECT user_id, expires_at, last_seen_at FROM sessions WHERE token_hash = $1 AND expires_at > $2",
        )
        .bind(token_hash)
        .bind(now.to_string())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let last_seen: Timestamp = parse_column("last_seen_at", &row.try_get::<String, _>("last_seen_at")?)?;
        if last_seen.as_offset() + idle < now.as_offset() {
            self.delete_session(token_hash).await?;
            return Ok(None);
        }
        let user_id: UserId = parse_column("user_id", &row.try_get::<String, _>("user_id")?)?;
        let expires_at = parse_column("expires_at", &row.try_get::<String, _>("expires_at")?)?;
        // Touch at most once a minute, to keep reads cheap.
        if last_seen.as_offset() + time::Duration::minutes(1) < now.as_offset() {
            sqlx::query("UPDATE sessions SET last_seen_at = $1 WHERE token_hash = $2")
                .bind(now.to_string())
                .bind(token_hash)
                .execute(&self.pool)
                .await?;
        }
        let user = self.user(user_id).await?;
        if !user.active {
            return Ok(None);
        }
        Ok(Some(SessionRecord { principal: principal(user, None), expires_at }))
    }

    pub async fn delete_session(&self, token_hash: &str) -> Result<()> {
        sqlx::query("DELETE FROM sessions WHERE token_hash = $1").bind(token_hash).execute(&self.pool).await?;
        Ok(())
    }

    /// Stores a new API token (its hash), issued by `actor`.
    pub async fn create_token(&self, actor: UserId, new: NewToken<'_>) -> Result<TokenRecord> {
        let NewToken { user, name, token_hash, scopes, channels, expires_at } = new;
        let now = Timestamp::now();
        let id = format!("tok_{}", uuid::Uuid::now_v7().simple());
        let mut tx = self.pool.begin().await?;
        sqlx::query(
            "INSERT INTO api_tokens (id, user_id, name, token_hash, scopes, channels, created_at, expires_at) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
        )
        .bind(id.as_str())
        .bind(user.to_string())
        .bind(name)
        .bind(token_hash)
        .bind(json_text(scopes))
        .bind((!channels.is_empty()).then(|| json_text(channels)))
        .bind(now.to_string())
        .bind(expires_at.map(|t| t.to_string()))
        .execute(&mut *tx)
        .await?;
        audit::append(
            &mut tx,
            Some(actor),
            "token.create",
            None,
            serde_json::json!({ "token_id": id, "user_id": user, "scopes": scopes, "channels": channels }),
        )
        .await?;
        tx.commit().await?;
        Ok(TokenRecord {
            id,
            user_id: user,
            name: name.to_owned(),
            scopes: scopes.clone(),
            channels: channels.clone(),
            created_at: now,
            expires_at,
            revoked_at: None,
        })
    }

    /// The principal behind a bearer token, if it is live.
    pub async fn token_principal(&self, token_hash: &str) -> Result<Option<Principal>> {
        let now = Timestamp::now().to_string();
        let Some(row) = sqlx::query(
            "SELECT id, user_id, scopes, channels FROM api_tokens WHERE token_hash = $1 AND revoked_at IS NULL \
             AND (expires_at IS NULL OR expires_at > $2)",
        )
        .bind(token_hash)
        .bind(now.as_str())
        .fetch_optional(&self.pool)
        .await?
        else {
            return Ok(None);
        };
        let user_id: UserId = parse_column("user_id", &row.try_get::<String, _>("user_id")?)?;
        let scopes: BTreeSet<Scope> = from_json_text("scopes", &row.try_get::<String, _>("scopes")?)?;
        let channels = token_channels(&row)?;
        let token_id: String = row.try_get("id")?;
        sqlx::query("UPDATE api_tokens SET last_used_at = $1 WHERE id = $2")
            .bind(now.as_str())
            .bind(token_id)
            .execute(&self.pool)
            .await?;
        let user = self.user(user_id).await?;
        if !user.active {
            return Ok(None);
        }
        Ok(Some(Principal { channels, ..principal(user, Some(scopes)) }))
    }

    pub async fn tokens(&self, user: Option<UserId>) -> Result<Vec<TokenRecord>> {
        let rows = match user {
            Some(u) => {
                sqlx::query("SELECT * FROM api_tokens WHERE user_id = $1 ORDER BY created_at")
                    .bind(u.to_string())
                    .fetch_all(&self.pool)
                    .await?
            }
            None => sqlx::query("SELECT * FROM api_tokens ORDER BY created_at").fetch_all(&self.pool).await?,
        };
        rows.iter()
            .map(|row| {
                let opt_time = |col: &str| -> Result<Option<Timestamp>> {
                    row.try_get::<Option<String>, _>(col)?.map(|t| parse_column(col, &t)).transpose()
                };
                Ok(TokenRecord {
                    id: row.try_get("id")?,
                    user_id: parse_column("user_id", &row.try_get::<String, _>("user_id")?)?,
                    name: row.try_get("name")?,
                    scopes: from_json_text("scopes", &row.try_get::<String, _>("scopes")?)?,
                    channels: token_channels(row)?,
                    created_at: parse_column("created_at", &row.try_get::<String, _>("created_at")?)?,
                    expires_at: opt_time("expires_at")?,
                    revoked_at: opt_time("revoked_at")?,
                })
            })
            .collect()
    }

    /// Revokes a token; returns `NotFound` if no live token has that id.
    pub async fn revoke_token(&self, actor: UserId, id: &str) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE api_tokens SET revoked_at = $1 WHERE id = $2 AND revoked_at IS NULL")
            .bind(Timestamp::now().to_string())
            .bind(id)
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        audit::append(&mut tx, Some(actor), "token.revoke", None, serde_json::json!({ "token_id": id })).await?;
        tx.commit().await?;
        Ok(())
    }
}

async fn ensure_unit(conn: &mut sqlx::AnyConnection, name: &str, now: Timestamp) -> Result<UnitId> {
    sqlx::query("INSERT INTO units (id, name, created_at) VALUES ($1, $2, $3) ON CONFLICT (name) DO NOTHING")
        .bind(UnitId::generate().to_string())
        .bind(name)
        .bind(now.to_string())
        .execute(&mut *conn)
        .await?;
    let row = sqlx::query("SELECT id FROM units WHERE name = $1").bind(name).fetch_one(&mut *conn).await?;
    parse_column("id", &row.try_get::<String, _>("id")?)
}

fn user_from_row(row: &AnyRow, roles: BTreeSet<Role>) -> Result<UserRecord> {
    let unit: Option<String> = row.try_get("unit_id")?;
    Ok(UserRecord {
        id: parse_column("id", &row.try_get::<String, _>("id")?)?,
        username: row.try_get("username")?,
        display_name: row.try_get("display_name")?,
        unit_id: unit.map(|u| parse_column("unit_id", &u)).transpose()?,
        unit_name: row.try_get("unit_name")?,
        roles,
        active: row.try_get::<i64, _>("active")? != 0,
        created_at: parse_column("created_at", &row.try_get::<String, _>("created_at")?)?,
    })
}

fn principal(user: UserRecord, scopes: Option<BTreeSet<Scope>>) -> Principal {
    Principal {
        user_id: user.id,
        username: user.username,
        display_name: user.display_name,
        unit_id: user.unit_id,
        roles: user.roles,
        scopes,
        channels: BTreeSet::new(),
    }
}

/// A token row's channel binding (NULL: none).
fn token_channels(row: &AnyRow) -> Result<BTreeSet<String>> {
    row.try_get::<Option<String>, _>("channels")?
        .map_or_else(|| Ok(BTreeSet::new()), |text| from_json_text("channels", &text))
}
