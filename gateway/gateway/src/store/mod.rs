//! Durable state through sqlx: SQLite by default (a file in the data
//! directory), PostgreSQL when the database URL says `postgres://`.
//!
//! Both backends go through sqlx's `Any` driver with one set of SQL
//! statements: numbered parameters (`$1`, which SQLite accepts too), TEXT,
//! BIGINT/INTEGER and BLOB/BYTEA columns only, `RETURNING` and `ON CONFLICT`
//! (both supported). Where the backends really differ, the schema does
//! (`migrations/sqlite`, `migrations/postgres`), never the queries.
//!
//! Invariants: every multi-row change is one transaction; item versions and
//! audit events are only ever inserted; the store never interprets text it
//! keeps (no normalisation, no trimming).

mod applications;
mod audit;
mod blobs;
mod calendar;
mod delivery;
mod forms;
mod items;
mod register;
mod reviews;
mod seals;
mod stats;
mod users;
mod workflow;

use std::str::FromStr;
use std::time::Duration;

use sqlx::any::{AnyConnectOptions, AnyPoolOptions};
use sqlx::{AnyPool, Executor};

pub use audit::{AUDIT_HEAD_EXTENSION, AuditEvent, AuditHead, ChainReport, split_notes};
pub use blobs::Blob;
pub use calendar::StoredCalendarYear;
pub use delivery::{
    AttemptRecord, Claimed, ConnectorConfig, DeliveryRecord, EndpointRecord, Escalation, FeedEvent, NOTIFY_CHANNEL,
    PostRecord, PostUpdate, WITHDRAW_PRIORITY, WithdrawRequest, Withdrawal, WithdrawalRecord,
};
pub use forms::{KeptForm, TokenClaim};
pub use items::{ItemFilter, ItemPage, ListCursor, VersionChange};
pub use register::{RegisterDecision, RegisterEntry};
pub use seals::{NewSeal, NewSealKey, SealAudit, SealKeyRecord, SealRecord, SealState, SealStatusEntry};
pub use stats::{ItemFacts, PublishedCount};
pub use users::{NewToken, NewUser, RolesChange, SessionRecord, TokenRecord, UserRecord};
pub use workflow::{CommentRecord, NotificationRecord};

/// Which database the store talks to.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
pub enum Backend {
    Sqlite,
    Postgres,
}

/// Errors from the store. Callers map `NotFound`, `Conflict` and `Stale` to
/// HTTP answers; `Database`, `Migrate` and `Corrupt` are internal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("not found")]
    NotFound,
    #[error("conflict: {0}")]
    Conflict(&'static str),
    #[error("stale version: expected {expected}, current is {current}")]
    Stale { expected: i64, current: i64 },
    #[error("item is {state} and cannot be changed that way")]
    WrongState { state: crate::model::ItemState },
    /// Something the caller evaluated changed before its transaction: read
    /// again and retry.
    #[error("the item changed concurrently")]
    Moved,
    /// The version may not be sealed (`workflow::approved`), in Chinese.
    #[error("not approved for sealing: {0}")]
    NotApproved(String),
    /// No usable seal key (none active, or its file cannot be read).
    #[error("no usable seal key: {0}")]
    NoSealKey(String),
    #[error("database error: {0}")]
    Database(#[from] sqlx::Error),
    #[error("migration failed: {0}")]
    Migrate(#[from] sqlx::migrate::MigrateError),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
    #[error("unsupported database url (use sqlite:// or postgres://): {0}")]
    UnsupportedUrl(String),
}

impl StoreError {
    fn corrupt(what: impl std::fmt::Display) -> StoreError {
        StoreError::Corrupt(what.to_string())
    }
}

pub type Result<T, E = StoreError> = std::result::Result<T, E>;

/// A connection pool to one of the two backends.
#[derive(Clone, Debug)]
pub struct Db {
    pool: AnyPool,
    backend: Backend,
}

/// One transaction of a use case. The application layer (`service/`) loads,
/// asks the decision modules and saves through it; nothing is written
/// unless it [commits](Tx::commit). Its methods live beside the tables they
/// touch (`store/workflow.rs`, `store/items.rs`, …).
pub struct Tx {
    inner: sqlx::Transaction<'static, sqlx::Any>,
}

impl Tx {
    pub async fn commit(self) -> Result<()> {
        self.inner.commit().await?;
        Ok(())
    }

    fn conn(&mut self) -> &mut sqlx::AnyConnection {
        &mut self.inner
    }
}

static SQLITE_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/sqlite");
static POSTGRES_MIGRATIONS: sqlx::migrate::Migrator = sqlx::migrate!("../../migrations/postgres");

impl Db {
    /// Begins a use case's transaction.
    pub async fn begin(&self) -> Result<Tx> {
        Ok(Tx { inner: self.pool.begin().await? })
    }

    /// Connects to `url` (`sqlite://path?mode=rwc` or `postgres://…`).
    /// SQLite connections get foreign keys, WAL and a busy timeout.
    pub async fn connect(url: &str, max_connections: u32) -> Result<Db> {
        sqlx::any::install_default_drivers();
        let backend = if url.starts_with("sqlite:") {
            Backend::Sqlite
        } else if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            Backend::Postgres
        } else {
            return Err(StoreError::UnsupportedUrl(redact_url(url)));
        };
        let options = AnyConnectOptions::from_str(url)?;
        let mut pool = AnyPoolOptions::new().max_connections(max_connections).acquire_timeout(Duration::from_secs(10));
        if backend == Backend::Sqlite {
            pool = pool.after_connect(|conn, _meta| {
                Box::pin(async move {
                    conn.execute("PRAGMA foreign_keys = ON; PRAGMA busy_timeout = 10000; PRAGMA synchronous = NORMAL;")
                        .await?;
                    Ok(())
                })
            });
        }
        let pool = pool.connect_with(options).await?;
        if backend == Backend::Sqlite {
            // Persistent for the file: readers do not block the writer.
            pool.execute("PRAGMA journal_mode = WAL").await?;
        }
        Ok(Db { pool, backend })
    }

    /// Applies every migration not yet applied. Applied migrations are
    /// checksummed by sqlx: an edited one stops the gateway here.
    pub async fn migrate(&self) -> Result<()> {
        match self.backend {
            Backend::Sqlite => SQLITE_MIGRATIONS.run(&self.pool).await?,
            Backend::Postgres => POSTGRES_MIGRATIONS.run(&self.pool).await?,
        }
        Ok(())
    }

    pub fn backend(&self) -> Backend {
        self.backend
    }

    pub fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<()> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    pub async fn close(&self) {
        self.pool.close().await;
    }
}

/// The URL without its password, for messages.
pub fn redact_url(url: &str) -> String {
    match url.split_once("://") {
        Some((scheme, rest)) => match rest.split_once('@') {
            Some((creds, host)) => {
                let user = creds.split(':').next().unwrap_or("");
                format!("{scheme}://{user}:***@{host}")
            }
            None => url.to_owned(),
        },
        None => url.chars().take(16).collect(),
    }
}

/// Whether a database error is a unique-constraint violation.
fn is_unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

fn json_text<T: serde::Serialize>(value: &T) -> String {
    serde_json::to_string(value).expect("store values serialise to JSON")
}

fn from_json_text<T: serde::de::DeserializeOwned>(column: &str, text: &str) -> Result<T> {
    serde_json::from_str(text).map_err(|e| StoreError::corrupt(format!("column {column}: {e}")))
}

fn parse_column<T: FromStr>(column: &str, text: &str) -> Result<T>
where
    T::Err: std::fmt::Display,
{
    text.parse().map_err(|e| StoreError::corrupt(format!("column {column}: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(redact_url("postgres://u:secret@h:5432/db"), "postgres://u:***@h:5432/db");
        assert_eq!(redact_url("sqlite://data/gateway.db"), "sqlite://data/gateway.db");
    }
}
