//! The holiday arrangements the publication office loaded (`calendar_years`,
//! migration 0009): read them, and store one with its audit event in one
//! transaction. Checking an arrangement is `calendar::check`, before this.

use serde_json::{Value, json};
use sqlx::Row;

use super::{Db, Result, from_json_text, json_text, parse_column};
use crate::model::{Timestamp, UserId};

/// A year as the office loaded it.
#[derive(Clone, Debug)]
pub struct StoredCalendarYear {
    pub arrangement: workdays::YearArrangement,
    pub loaded_by: Option<UserId>,
    pub loaded_at: Timestamp,
}

impl Db {
    /// Every loaded year, oldest year first.
    pub async fn calendar_years(&self) -> Result<Vec<StoredCalendarYear>> {
        let rows = sqlx::query("SELECT arrangement, loaded_by, loaded_at FROM calendar_years ORDER BY year")
            .fetch_all(&self.pool)
            .await?;
        rows.iter()
            .map(|r| {
                let by: Option<String> = r.try_get("loaded_by")?;
                Ok(StoredCalendarYear {
                    arrangement: from_json_text("arrangement", &r.try_get::<String, _>("arrangement")?)?,
                    loaded_by: by.map(|b| parse_column("loaded_by", &b)).transpose()?,
                    loaded_at: parse_column("loaded_at", &r.try_get::<String, _>("loaded_at")?)?,
                })
            })
            .collect()
    }

    /// Stores a checked year (replacing a loaded one) and appends
    /// `calendar.load` with who loaded what, how (`via`) and what it
    /// replaced, in one transaction.
    pub async fn load_calendar_year(
        &self,
        arrangement: &workdays::YearArrangement,
        actor: Option<UserId>,
        via: &str,
        replaced: Value,
    ) -> Result<()> {
        let mut tx = self.pool.begin().await?;
        let now = Timestamp::now().to_string();
        sqlx::query(
            "INSERT INTO calendar_years (year, source, arrangement, loaded_by, loaded_at) VALUES ($1, $2, $3, $4, $5) \
             ON CONFLICT (year) DO UPDATE SET source = excluded.source, arrangement = excluded.arrangement, \
             loaded_by = excluded.loaded_by, loaded_at = excluded.loaded_at",
        )
        .bind(i64::from(arrangement.year))
        .bind(arrangement.source.as_str())
        .bind(json_text(arrangement))
        .bind(actor.map(|a| a.to_string()))
        .bind(now.as_str())
        .execute(&mut *tx)
        .await?;
        let detail = json!({
            "year": arrangement.year, "source": arrangement.source, "via": via,
            "holidays": arrangement.holiday, "replaced": replaced,
        });
        super::audit::append(&mut tx, actor, "calendar.load", None, detail).await?;
        tx.commit().await?;
        Ok(())
    }
}
