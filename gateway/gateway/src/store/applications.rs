//! The application register's tables (`applications`,
//! `application_consultations`, `application_counters`; migration 0011):
//! load an [`Application`], insert a new one with its register number, save
//! one after `Application::apply` with its audit event. Decides nothing.
//!
//! The audit events name the application by id and number and say what
//! happened; the applicant's name and contact details never enter them.

use serde_json::Value;
use sqlx::Row;
use sqlx::any::AnyRow;
use workdays::Date;

use super::{Db, Result, StoreError, audit, from_json_text, json_text, parse_column};
use crate::applications::{Application, Consultation, Remedy};
use crate::model::{ApplicationId, Timestamp, UserId};

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

/// Binds what actions change (`state` through `reply_item_id`, in the
/// order of [`COLUMNS`]): shared by insert and save.
fn bind_progress<'q>(query: Query<'q>, a: &'q Application) -> Query<'q> {
    query
        .bind(a.state.as_str())
        .bind(a.correction_requested_on.map(|d| d.to_string()))
        .bind(a.correction_note.as_deref())
        .bind(a.corrected_on.map(|d| d.to_string()))
        .bind(a.extended_on.map(|d| d.to_string()))
        .bind(a.extended_by.map(|u| u.to_string()))
        .bind(a.extension_reason.as_deref())
        .bind(a.result.map(|r| r.as_str()))
        .bind(a.answered_on.map(|d| d.to_string()))
        .bind(a.withdrawn_on.map(|d| d.to_string()))
        .bind(a.reply_item.map(|i| i.to_string()))
}

const COLUMNS: &str = "id, number, applicant_kind, applicant_name, contact, channel, received_on, request, state, \
     correction_requested_on, correction_note, corrected_on, extended_on, extended_by, extension_reason, result, \
     answered_on, withdrawn_on, reply_item_id, registered_by, registered_at, updated_at";

fn date(column: &str, text: &str) -> Result<Date> {
    Date::parse(text).map_err(|e| StoreError::corrupt(format!("column {column}: {e}")))
}

fn opt_date(row: &AnyRow, column: &str) -> Result<Option<Date>> {
    row.try_get::<Option<String>, _>(column)?.map(|t| date(column, &t)).transpose()
}

fn application(row: &AnyRow, consultations: Vec<Consultation>, remedies: Vec<Remedy>) -> Result<Application> {
    let text = |c: &str| row.try_get::<String, _>(c);
    Ok(Application {
        id: parse_column("id", &text("id")?)?,
        number: text("number")?,
        applicant_kind: parse_column("applicant_kind", &text("applicant_kind")?)?,
        applicant_name: text("applicant_name")?,
        contact: from_json_text("contact", &text("contact")?)?,
        channel: parse_column("channel", &text("channel")?)?,
        received_on: date("received_on", &text("received_on")?)?,
        request: text("request")?,
        state: parse_column("state", &text("state")?)?,
        correction_requested_on: opt_date(row, "correction_requested_on")?,
        correction_note: row.try_get("correction_note")?,
        corrected_on: opt_date(row, "corrected_on")?,
        extended_on: opt_date(row, "extended_on")?,
        extended_by: row
            .try_get::<Option<String>, _>("extended_by")?
            .map(|t| parse_column("extended_by", &t))
            .transpose()?,
        extension_reason: row.try_get("extension_reason")?,
        result: row.try_get::<Option<String>, _>("result")?.map(|t| parse_column("result", &t)).transpose()?,
        answered_on: opt_date(row, "answered_on")?,
        withdrawn_on: opt_date(row, "withdrawn_on")?,
        reply_item: row
            .try_get::<Option<String>, _>("reply_item_id")?
            .map(|t| parse_column("reply_item_id", &t))
            .transpose()?,
        consultations,
        remedies,
        registered_by: parse_column("registered_by", &text("registered_by")?)?,
        registered_at: parse_column("registered_at", &text("registered_at")?)?,
        updated_at: parse_column("updated_at", &text("updated_at")?)?,
    })
}

fn remedy(row: &AnyRow) -> Result<(String, Remedy)> {
    Ok((
        row.try_get("application_id")?,
        Remedy {
            kind: parse_column("kind", &row.try_get::<String, _>("kind")?)?,
            outcome: parse_column("outcome", &row.try_get::<String, _>("outcome")?)?,
            filed_on: date("filed_on", &row.try_get::<String, _>("filed_on")?)?,
        },
    ))
}

fn consultation(row: &AnyRow) -> Result<(String, Consultation)> {
    Ok((
        row.try_get("application_id")?,
        Consultation {
            seq: row.try_get("seq")?,
            third_party: row.try_get("third_party")?,
            sent_on: date("sent_on", &row.try_get::<String, _>("sent_on")?)?,
            answered_on: opt_date(row, "answered_on")?,
        },
    ))
}

impl Db {
    /// Every application, newest receipt first.
    pub async fn applications(&self) -> Result<Vec<Application>> {
        let rows = sqlx::query(&format!("SELECT {COLUMNS} FROM applications ORDER BY received_on DESC, number DESC"))
            .fetch_all(&self.pool)
            .await?;
        let mut consulted: std::collections::HashMap<String, Vec<Consultation>> = std::collections::HashMap::new();
        for row in sqlx::query("SELECT * FROM application_consultations ORDER BY application_id, seq")
            .fetch_all(&self.pool)
            .await?
        {
            let (id, c) = consultation(&row)?;
            consulted.entry(id).or_default().push(c);
        }
        let mut remedies: std::collections::HashMap<String, Vec<Remedy>> = std::collections::HashMap::new();
        for row in sqlx::query("SELECT * FROM application_remedies ORDER BY application_id, filed_on, kind")
            .fetch_all(&self.pool)
            .await?
        {
            let (id, r) = remedy(&row)?;
            remedies.entry(id).or_default().push(r);
        }
        rows.iter()
            .map(|r| {
                let id: String = r.try_get("id")?;
                application(r, consulted.remove(&id).unwrap_or_default(), remedies.remove(&id).unwrap_or_default())
            })
            .collect()
    }

    /// One application.
    pub async fn application(&self, id: ApplicationId) -> Result<Application> {
        let mut conn = self.pool.acquire().await?;
        load(&mut conn, id).await
    }
}

async fn load(conn: &mut sqlx::AnyConnection, id: ApplicationId) -> Result<Application> {
    let row = sqlx::query(&format!("SELECT {COLUMNS} FROM applications WHERE id = $1"))
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await?
        .ok_or(StoreError::NotFound)?;
    let consultations = sqlx::query("SELECT * FROM application_consultations WHERE application_id = $1 ORDER BY seq")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| consultation(r).map(|(_, c)| c))
        .collect::<Result<Vec<_>>>()?;
    let remedies = sqlx::query("SELECT * FROM application_remedies WHERE application_id = $1 ORDER BY filed_on, kind")
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await?
        .iter()
        .map(|r| remedy(r).map(|(_, r)| r))
        .collect::<Result<Vec<_>>>()?;
    application(&row, consultations, remedies)
}

impl super::Tx {
    /// The next register number of `year`: `<year>-<4 digits>`.
    pub async fn next_application_number(&mut self, year: i32) -> Result<String> {
        let row = sqlx::query(
            "INSERT INTO application_counters (year, last) VALUES ($1, 1) \
             ON CONFLICT (year) DO UPDATE SET last = application_counters.last + 1 RETURNING last",
        )
        .bind(i64::from(year))
        .fetch_one(self.conn())
        .await?;
        Ok(format!("{year}-{:04}", row.try_get::<i64, _>("last")?))
    }

    /// Inserts a newly registered application and its `application.register` event.
    pub async fn insert_application(&mut self, a: &Application, detail: Value) -> Result<()> {
        let conn = self.conn();
        let sql = format!(
            "INSERT INTO applications ({COLUMNS}) VALUES \
             ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22)"
        );
        let query = sqlx::query(&sql)
            .bind(a.id.to_string())
            .bind(a.number.as_str())
            .bind(a.applicant_kind.as_str())
            .bind(a.applicant_name.as_str())
            .bind(json_text(&a.contact))
            .bind(a.channel.as_str())
            .bind(a.received_on.to_string())
            .bind(a.request.as_str());
        bind_progress(query, a)
            .bind(a.registered_by.to_string())
            .bind(a.registered_at.to_string())
            .bind(a.updated_at.to_string())
            .execute(&mut *conn)
            .await?;
        audit::append(conn, Some(a.registered_by), "application.register", None, detail).await?;
        Ok(())
    }

    /// Locks an application's row for the rest of the transaction (the
    /// write lock first, on SQLite) and loads it.
    pub async fn lock_application(&mut self, id: ApplicationId) -> Result<Application> {
        let conn = self.conn();
        let locked = sqlx::query("UPDATE applications SET updated_at = updated_at WHERE id = $1")
            .bind(id.to_string())
            .execute(&mut *conn)
            .await?;
        if locked.rows_affected() == 0 {
            return Err(StoreError::NotFound);
        }
        load(conn, id).await
    }

    /// Saves what an action changed (`updated_at` set to `now`) and appends
    /// its audit event (`event`, `detail`), in the caller's transaction.
    pub async fn save_application(
        &mut self,
        a: &Application,
        actor: UserId,
        now: Timestamp,
        event: &str,
        detail: Value,
    ) -> Result<()> {
        let conn = self.conn();
        let query = sqlx::query(
            "UPDATE applications SET state = $2, correction_requested_on = $3, correction_note = $4, corrected_on = $5, \
             extended_on = $6, extended_by = $7, extension_reason = $8, result = $9, answered_on = $10, \
             withdrawn_on = $11, reply_item_id = $12, updated_at = $13 WHERE id = $1",
        )
        .bind(a.id.to_string());
        bind_progress(query, a).bind(now.to_string()).execute(&mut *conn).await?;
        for c in &a.consultations {
            sqlx::query(
                "INSERT INTO application_consultations (application_id, seq, third_party, sent_on, answered_on) \
                 VALUES ($1, $2, $3, $4, $5) ON CONFLICT (application_id, seq) DO UPDATE SET \
                 answered_on = excluded.answered_on",
            )
            .bind(a.id.to_string())
            .bind(c.seq)
            .bind(c.third_party.as_str())
            .bind(c.sent_on.to_string())
            .bind(c.answered_on.map(|d| d.to_string()))
            .execute(&mut *conn)
            .await?;
        }
        for r in &a.remedies {
            sqlx::query(
                "INSERT INTO application_remedies (application_id, kind, outcome, filed_on) VALUES ($1, $2, $3, $4) \
                 ON CONFLICT (application_id, kind) DO UPDATE SET outcome = excluded.outcome",
            )
            .bind(a.id.to_string())
            .bind(r.kind.as_str())
            .bind(r.outcome.as_str())
            .bind(r.filed_on.to_string())
            .execute(&mut *conn)
            .await?;
        }
        audit::append(conn, Some(actor), event, None, detail).await?;
        Ok(())
    }
}
