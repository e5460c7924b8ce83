//! The holiday calendar over HTTP: the years in force with where each comes
//! from and the end-of-calendar warning (`GET /api/v1/calendar`), and
//! loading a year's 放假安排 as the office pastes it from the State Council's
//! notice (`POST /api/v1/calendar/years`). Checking and storing is
//! `calendar::load_year`.

use axum::extract::State;
use axum::http::StatusCode;
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::{ApiError, AppJson, AppState, Auth};
use crate::auth::{Role, Scope};
use crate::calendar::{LoadError, Origin};
use crate::model::FieldProblem;

/// Who may load a year: the publication office (政务公开办公室), whose duty
/// the statutory clock is and who reads the State Council's notices, and
/// the admin, who already maintains `policies/calendar/` (the shipped years)
/// and the policy. Loading changes deadlines, never a review decision, so
/// it does not touch the rule that admins never act in review.
pub const LOADERS: &[Role] = &[Role::Publisher, Role::Admin];

/// One festival of a year.
#[derive(Serialize, ToSchema)]
pub struct HolidayView {
    pub name: String,
    /// First day off, `YYYY-MM-DD`.
    pub from: String,
    /// Last day off, inclusive.
    pub to: String,
    /// Weekend days that are working days instead (调休上班).
    pub workdays: Vec<String>,
}

/// One year of the calendar in force.
#[derive(Serialize, ToSchema)]
pub struct YearView {
    pub year: i32,
    pub source: String,
    /// Only the statutory days are known: deadlines reaching it are 暂定.
    pub provisional: bool,
    /// `shipped` (policies/calendar) or `loaded` (by the office).
    pub origin: &'static str,
    pub loaded_by: Option<String>,
    pub loaded_at: Option<String>,
    pub holidays: Vec<HolidayView>,
}

/// The calendar in force.
#[derive(Serialize, ToSchema)]
pub struct CalendarView {
    pub years: Vec<YearView>,
    /// The last day of the latest published (not provisional) year.
    pub confirmed_until: Option<String>,
    /// Set from 60 days before `confirmed_until`: what to do, in Chinese.
    pub warning: Option<String>,
    /// What a provisional (暂定) deadline means, in Chinese.
    pub provisional_note: &'static str,
    /// Whether the caller may load a year.
    pub can_load: bool,
}

/// The calendar in force, as the API and the web page show it.
pub(super) fn calendar_view(state: &AppState, auth: &Auth) -> CalendarView {
    let current = state.calendar.current();
    let years = current
        .years
        .iter()
        .map(|y| {
            let (origin, loaded_by, loaded_at) = match &y.origin {
                Origin::Shipped => ("shipped", None, None),
                Origin::Loaded { by, at } => ("loaded", by.map(|b| b.to_string()), Some(at.to_string())),
            };
            YearView {
                year: y.arrangement.year,
                source: y.arrangement.source.clone(),
                provisional: y.arrangement.provisional,
                origin,
                loaded_by,
                loaded_at,
                holidays: y
                    .arrangement
                    .holiday
                    .iter()
                    .map(|h| HolidayView {
                        name: h.name.clone(),
                        from: h.from.to_string(),
                        to: h.to.to_string(),
                        workdays: h.workdays.iter().map(ToString::to_string).collect(),
                    })
                    .collect(),
            }
        })
        .collect();
    CalendarView {
        years,
        confirmed_until: current.calendar.confirmed_until().map(|d| d.to_string()),
        warning: crate::calendar::warning(&current.calendar, crate::workflow::today()).map(|w| w.message),
        provisional_note: crate::workflow::PROVISIONAL_NOTE,
        can_load: auth.require_any(LOADERS).is_ok(),
    }
}

/// The holiday calendar in force: every year, whether it was shipped or
/// loaded by the office, provisional years, and the end-of-calendar warning.
#[utoipa::path(get, path = "/api/v1/calendar", tag = "calendar",
    responses((status = 200, body = CalendarView), (status = 401, body = super::Problem)))]
pub async fn list(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<CalendarView>, ApiError> {
    Ok(axum::Json(list_of(&state, &auth)?))
}

/// The calendar in force, as the API and the 节假日安排 page show it.
pub(super) fn list_of(state: &AppState, auth: &Auth) -> Result<CalendarView, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    Ok(calendar_view(state, auth))
}

/// A year's 放假安排 as pasted from the State Council's notice.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct LoadYearRequest {
    pub year: i32,
    /// The notice: title, number and date.
    pub source: String,
    /// One festival a line: `春节 2027-02-05 至 2027-02-11 调休上班 2027-02-20`.
    pub text: String,
}

/// Loads a year's 放假安排 (publication office or admin). It replaces the
/// shipped year (also a provisional one) at once, without a restart, and is
/// recorded as a `calendar.load` audit event. A refused arrangement stores
/// nothing; the answer lists every problem in Chinese.
#[utoipa::path(post, path = "/api/v1/calendar/years", tag = "calendar", request_body = LoadYearRequest,
    responses((status = 201, body = CalendarView), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn load(
    State(state): State<AppState>,
    auth: Auth,
    AppJson(request): AppJson<LoadYearRequest>,
) -> Result<(StatusCode, axum::Json<CalendarView>), ApiError> {
    Ok((StatusCode::CREATED, axum::Json(load_year(&state, &auth, request).await?)))
}

/// A year's 放假安排 loaded as the API and the 节假日安排 page take it.
pub(super) async fn load_year(
    state: &AppState,
    auth: &Auth,
    request: LoadYearRequest,
) -> Result<CalendarView, ApiError> {
    let actor = auth
        .require_any(LOADERS)
        .map_err(|_| ApiError::Forbidden("只有政务公开办公室和系统管理员可以载入节假日安排。".into()))?
        .user_id;
    auth.require_scope(Scope::Admin)?;
    let arrangement = crate::calendar::parse_notice(request.year, &request.source, &request.text).map_err(invalid)?;
    match crate::calendar::load_year(&state.calendar, &state.db, &arrangement, Some(actor), "api").await {
        Ok(()) => Ok(calendar_view(state, auth)),
        Err(LoadError::Invalid(problems)) => Err(invalid(problems)),
        Err(LoadError::Store(e)) => Err(e.into()),
    }
}

fn invalid(problems: Vec<String>) -> ApiError {
    ApiError::Invalid(
        problems.into_iter().map(|p| FieldProblem::new("text", format!("节假日安排未载入：{p}"))).collect(),
    )
}
