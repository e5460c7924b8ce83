//! People and accounts: users with roles and units, their life cycle
//! (passwords, deactivation, role changes, the TOTP second factor),
//! login throttling, sessions, API tokens.

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
    /// The password was set by an administrator and must be changed.
    pub must_change_password: bool,
    /// A TOTP second factor is enrolled (the secret itself is never read
    /// into a record).
    pub totp_enrolled: bool,
    /// The account has a password (a person); without one it only uses
    /// API tokens (a channel).
    pub has_password: bool,
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
    /// Whether the owner must change the password at the first login: true
    /// whenever an administrator chose it (API, web, `gateway user add`).
    pub must_change_password: bool,
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
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TokenRecord {
    pub id: String,
    pub user_id: UserId,
    pub name: String,
    pub scopes: BTreeSet<Scope>,
    /// The channels a `channel` token may read and confirm.
    pub channels: BTreeSet<String>,
    pub created_at: Timestamp,
    pub expires_at: Option<Timestamp>,
    pub revoked_at: Option<Timestamp>,
}

const USER_SELECT: &str = "SELECT u.id, u.username, u.display_name, u.unit_id, n.name AS unit_name, u.active, \
     u.created_at, u.password_hash, u.must_change_password, \
     CAST(CASE WHEN u.totp_secret IS NULL THEN 0 ELSE 1 END AS BIGINT) AS totp_enrolled \
     FROM users u LEFT JOIN units n ON n.id = u.unit_id";

/// How a role change came out.
pub enum RolesChange {
    Done(UserRecord),
    /// The resulting set of roles is not allowed (the reason, in Chinese).
    Refused(&'static str),
}

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
            "INSERT INTO users (id, username, display_name, unit_id, password_hash, active, created_at, \
             must_change_password) VALUES ($1, $2, $3, $4, $5, 1, $6, $7)",
        )
        .bind(id.to_string())
        .bind(new.username.as_str())
        .bind(new.display_name.as_str())
        .bind(unit_id.map(|u| u.to_string()))
        .bind(new.password_hash.as_deref())
        .bind(now.to_string())
        .bind(i64::from(new.must_change_password && new.password_hash.is_some()))
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
    /// exists and is active.
    pub async fn login_candidate(&self, username: &str) -> Result<Option<(UserRecord, Option<String>)>> {
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
        Ok(Some((user, hash)))
    }

    /// Takes one login attempt for `key` (an account name or a client
    /// address): one conditional upsert, so concurrent attempts are counted
    /// one by one and at most `max` pass in a window. A window older than
    /// `window` starts again at 1; a refused attempt changes nothing, so it
    /// cannot extend the lock. False: the attempt is refused.
    pub async fn take_login_attempt(&self, key: &str, max: i64, window: time::Duration) -> Result<bool> {
        let now = Timestamp::now();
        let expired = Timestamp::from_offset(now.as_offset() - window);
        let taken = sqlx::query(
            "INSERT INTO login_throttle (key, attempts, window_start) VALUES ($1, 1, $2) \
             ON CONFLICT (key) DO UPDATE SET \
             attempts = CASE WHEN login_throttle.window_start <= $3 THEN 1 ELSE login_throttle.attempts + 1 END, \
             window_start = CASE WHEN login_throttle.window_start <= $3 THEN $2 ELSE login_throttle.window_start END \
             WHERE login_throttle.window_start <= $3 OR login_throttle.attempts < $4 \
             RETURNING attempts",
        )
        .bind(key)
        .bind(now.to_string())
        .bind(expired.to_string())
        .bind(max)
        .fetch_optional(&self.pool)
        .await?;
        // Windows of names nobody logs in with again are dropped now and
        // then, so that guessed names do not pile up.
        if rand::random::<u8>() < 8 {
            sqlx::query("DELETE FROM login_throttle WHERE window_start <= $1")
                .bind(expired.to_string())
                .execute(&self.pool)
                .await?;
        }
        Ok(taken.is_some())
    }

    /// Records a refused login (wrong password, unknown or inactive user,
    /// or throttled) in the audit trail.
    pub async fn record_login_failure(&self, user: Option<UserId>, detail: serde_json::Value) -> Result<()> {
        self.audit(user, "auth.login_failed", detail).await?;
        Ok(())
    }

    /// After a correct password: the account's attempts start again, and
    /// the address gets its attempt back (a correct password is not a
    /// guess; the address's failures stay counted).
    pub async fn login_succeeded(&self, account_key: &str, address_key: Option<&str>) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(account_key).execute(&mut *tx).await?;
        if let Some(address) = address_key {
            sqlx::query("UPDATE login_throttle SET attempts = attempts - 1 WHERE key = $1 AND attempts > 0")
                .bind(address)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// Creates a session after a successful login.
    pub async fn create_session(&self, user: UserId, token_hash: &str, ttl: time::Duration) -> Result<Timestamp> {
        let now = Timestamp::now();
        let expires = Timestamp::from_offset(now.as_offset() + ttl);
        let mut tx = self.pool.begin().await?;
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

    /// Ends the lockout of an account name (its attempts start again).
    /// `NotFound` when no such user exists.
    pub async fn unlock_user(&self, actor: Option<UserId>, username: &str, account_key: &str) -> Result<UserRecord> {
        let user = self.user_by_name(username).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("DELETE FROM login_throttle WHERE key = $1").bind(account_key).execute(&mut *tx).await?;
        audit::append(
            &mut tx,
            actor,
            "user.unlock",
            None,
            serde_json::json!({ "user_id": user.id, "username": user.username }),
        )
        .await?;
        tx.commit().await?;
        Ok(user)
    }

    /// The stored password hash of an active user (for a step-up check).
    pub async fn password_hash(&self, id: UserId) -> Result<Option<String>> {
        let row = sqlx::query("SELECT password_hash FROM users WHERE id = $1 AND active = 1")
            .bind(id.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok(row.try_get("password_hash")?)
    }

    /// Sets a password. `by_owner`: the person changed their own (the
    /// obligation to change it ends; their other sessions end). Otherwise
    /// an administrator set it: it must be changed at the next login, and
    /// every session of the user ends. Audited either way.
    pub async fn set_password(
        &self,
        actor: Option<UserId>,
        user: UserId,
        hash: &str,
        by_owner: bool,
        keep_session: Option<&str>,
    ) -> Result<()> {
        let now = Timestamp::now();
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET password_hash = $1, must_change_password = $2, password_changed_at = $3 \
             WHERE id = $4 AND password_hash IS NOT NULL",
        )
        .bind(hash)
        .bind(i64::from(!by_owner))
        .bind(now.to_string())
        .bind(user.to_string())
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        sqlx::query("DELETE FROM sessions WHERE user_id = $1 AND token_hash <> $2")
            .bind(user.to_string())
            .bind(keep_session.unwrap_or(""))
            .execute(&mut *tx)
            .await?;
        let action = if by_owner { "user.password_change" } else { "user.password_reset" };
        audit::append(&mut tx, actor, action, None, serde_json::json!({ "user_id": user })).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Deactivates or reactivates an account, effective at once: a
    /// deactivated user's sessions are deleted and their tokens refused
    /// (every request reads `active`). Audited.
    pub async fn set_active(&self, actor: UserId, user: UserId, active: bool) -> Result<UserRecord> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query("UPDATE users SET active = $1 WHERE id = $2 AND active <> $1")
            .bind(i64::from(active))
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if done.rows_affected() == 0 {
            let exists = sqlx::query("SELECT 1 AS x FROM users WHERE id = $1")
                .bind(user.to_string())
                .fetch_optional(&mut *tx)
                .await?;
            return Err(if exists.is_some() {
                StoreError::Conflict(if active { "account already active" } else { "account already inactive" })
            } else {
                StoreError::NotFound
            });
        }
        if !active {
            sqlx::query("DELETE FROM sessions WHERE user_id = $1").bind(user.to_string()).execute(&mut *tx).await?;
        }
        let action = if active { "user.reactivate" } else { "user.deactivate" };
        audit::append(&mut tx, Some(actor), action, None, serde_json::json!({ "user_id": user })).await?;
        tx.commit().await?;
        self.user(user).await
    }

    /// Grants and removes roles in one transaction, effective at once
    /// (every request reads the roles). The user row is locked first, so
    /// two concurrent changes cannot together build a set that `allowed`
    /// refuses. Audited with the roles before and after.
    pub async fn change_roles(
        &self,
        actor: UserId,
        user: UserId,
        grant: &BTreeSet<Role>,
        remove: &BTreeSet<Role>,
        allowed: impl Fn(&BTreeSet<Role>) -> Option<&'static str>,
    ) -> Result<RolesChange> {
        let mut tx = self.pool.begin().await?;
        let locked = sqlx::query("UPDATE users SET active = active WHERE id = $1")
            .bind(user.to_string())
            .execute(&mut *tx)
            .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        let rows = sqlx::query("SELECT role FROM user_roles WHERE user_id = $1")
            .bind(user.to_string())
            .fetch_all(&mut *tx)
            .await?;
        let before: BTreeSet<Role> =
            rows.iter().map(|r| parse_column("role", &r.try_get::<String, _>("role")?)).collect::<Result<_>>()?;
        let after: BTreeSet<Role> = before.union(grant).filter(|r| !remove.contains(r)).copied().collect();
        if let Some(why) = allowed(&after) {
            return Ok(RolesChange::Refused(why));
        }
        for role in remove.intersection(&before) {
            sqlx::query("DELETE FROM user_roles WHERE user_id = $1 AND role = $2")
                .bind(user.to_string())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        for role in after.difference(&before) {
            sqlx::query("INSERT INTO user_roles (user_id, role) VALUES ($1, $2)")
                .bind(user.to_string())
                .bind(role.as_str())
                .execute(&mut *tx)
                .await?;
        }
        audit::append(
            &mut tx,
            Some(actor),
            "user.roles",
            None,
            serde_json::json!({ "user_id": user, "before": before, "after": after }),
        )
        .await?;
        tx.commit().await?;
        Ok(RolesChange::Done(self.user(user).await?))
    }

    /// Proposes a TOTP secret (hex) for the user to confirm with a first
    /// code. Refused (`Conflict`) once a second factor is enrolled: only
    /// the operator's `gateway user reset-totp` removes one.
    pub async fn propose_totp(&self, user: UserId, secret_hex: &str) -> Result<()> {
        let done = sqlx::query("UPDATE users SET totp_pending = $1 WHERE id = $2 AND totp_secret IS NULL")
            .bind(secret_hex)
            .bind(user.to_string())
            .execute(&self.pool)
            .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("totp already enrolled"));
        }
        Ok(())
    }

    /// The user's TOTP secret (hex) and the last step used, and the secret
    /// proposed but not yet confirmed.
    pub async fn totp_state(&self, user: UserId) -> Result<(Option<String>, Option<i64>, Option<String>)> {
        let row = sqlx::query("SELECT totp_secret, totp_last_step, totp_pending FROM users WHERE id = $1")
            .bind(user.to_string())
            .fetch_optional(&self.pool)
            .await?
            .ok_or(StoreError::NotFound)?;
        Ok((row.try_get("totp_secret")?, row.try_get("totp_last_step")?, row.try_get("totp_pending")?))
    }

    /// Makes the proposed secret the user's second factor, with the step of
    /// the confirming code as used. Audited (never the secret).
    pub async fn confirm_totp(&self, user: UserId, secret_hex: &str, step: i64) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let done = sqlx::query(
            "UPDATE users SET totp_secret = totp_pending, totp_pending = NULL, totp_last_step = $1 \
             WHERE id = $2 AND totp_secret IS NULL AND totp_pending = $3",
        )
        .bind(step)
        .bind(user.to_string())
        .bind(secret_hex)
        .execute(&mut *tx)
        .await?;
        if done.rows_affected() == 0 {
            return Err(StoreError::Conflict("totp already enrolled"));
        }
        audit::append(&mut tx, Some(user), "user.totp_enrol", None, serde_json::json!({ "user_id": user })).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Uses a TOTP time step: true once per step and only for a step later
    /// than the last one used (one conditional update, so a code cannot be
    /// replayed, not even concurrently).
    pub async fn use_totp_step(&self, user: UserId, step: i64) -> Result<bool> {
        let done = sqlx::query(
            "UPDATE users SET totp_last_step = $1 WHERE id = $2 AND totp_secret IS NOT NULL \
             AND (totp_last_step IS NULL OR totp_last_step < $1)",
        )
        .bind(step)
        .bind(user.to_string())
        .execute(&self.pool)
        .await?;
        Ok(done.rows_affected() == 1)
    }

    /// Removes a user's second factor (the operator's CLI only: a person who
    /// lost their authenticator enrols again). Audited.
    pub async fn reset_totp(&self, username: &str) -> Result<UserRecord> {
        let user = self.user_by_name(username).await?;
        let mut tx = self.pool.begin().await?;
        sqlx::query("UPDATE users SET totp_secret = NULL, totp_pending = NULL, totp_last_step = NULL WHERE id = $1")
            .bind(user.id.to_string())
            .execute(&mut *tx)
            .await?;
        audit::append(&mut tx, None, "user.totp_reset", None, serde_json::json!({ "user_id": user.id })).await?;
        tx.commit().await?;
        self.user(user.id).await
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
        must_change_password: row.try_get::<i64, _>("must_change_password")? != 0,
        totp_enrolled: row.try_get::<i64, _>("totp_enrolled")? != 0,
        has_password: row.try_get::<Option<String>, _>("password_hash")?.is_some(),
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
        must_change_password: user.must_change_password,
    }
}

/// A token row's channel binding (NULL: none).
fn token_channels(row: &AnyRow) -> Result<BTreeSet<String>> {
    row.try_get::<Option<String>, _>("channels")?
        .map_or_else(|| Ok(BTreeSet::new()), |text| from_json_text("channels", &text))
}
