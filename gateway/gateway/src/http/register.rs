//! The 台账 over HTTP: list with filters, the periodic review decision
//! (confirm or change the attribute), and export as CSV or XLSX.

use axum::extract::State;
use axum::http::header;
use axum::response::{IntoResponse, Response};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::extract::InPath;
use super::items::readable_item;
use super::{ApiError, AppJson, AppQuery, AppState, Auth};
use crate::auth::{Role, Scope};
use crate::model::{Attribute, ItemId, Timestamp, UserId};
use crate::store::RegisterEntry;

/// Who may read the register (the web UI shows the link to them).
pub(super) const READERS: &[Role] =
    &[Role::Publisher, Role::SecrecyReviewer, Role::Approver, Role::Leader, Role::Auditor, Role::Admin];

#[derive(Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct RegisterQuery {
    pub attribute: Option<Attribute>,
    /// Only entries whose periodic review is due (today or earlier).
    #[serde(default)]
    pub due: bool,
    /// For the export: `csv` (default) or `xlsx`.
    pub format: Option<String>,
}

/// One register entry as the API (and the 台账 page) shows it.
#[derive(Serialize, ToSchema)]
pub struct RegisterEntryView {
    #[schema(value_type = String)]
    pub item_id: ItemId,
    pub attribute: Attribute,
    /// The attribute in Chinese (依申请公开, 不予公开, 主动公开).
    pub attribute_label: &'static str,
    pub reason: Option<String>,
    pub legal_basis: Option<String>,
    pub title: String,
    pub doc_number: Option<String>,
    pub issuer: Option<String>,
    #[schema(value_type = String)]
    pub proposed_by: UserId,
    #[schema(value_type = String)]
    pub proposed_at: Timestamp,
    /// `proposed`, `confirmed`, `changed` or `closed` (the item became 主动公开).
    pub status: String,
    #[schema(value_type = Option<String>)]
    pub decided_by: Option<UserId>,
    #[schema(value_type = Option<String>)]
    pub decided_at: Option<Timestamp>,
    /// `YYYY-MM-DD`: the periodic review is due on this day.
    pub next_review_on: Option<String>,
    #[schema(value_type = String)]
    pub updated_at: Timestamp,
}

impl From<RegisterEntry> for RegisterEntryView {
    fn from(e: RegisterEntry) -> RegisterEntryView {
        RegisterEntryView {
            item_id: e.item_id,
            attribute: e.attribute,
            attribute_label: e.attribute.label(),
            reason: e.reason,
            legal_basis: e.legal_basis,
            title: e.title,
            doc_number: e.doc_number,
            issuer: e.issuer,
            proposed_by: e.proposed_by,
            proposed_at: e.proposed_at,
            status: e.status,
            decided_by: e.decided_by,
            decided_at: e.decided_at,
            next_review_on: e.next_review_on,
            updated_at: e.updated_at,
        }
    }
}

pub(super) async fn entries(state: &AppState, auth: &Auth, q: &RegisterQuery) -> Result<Vec<RegisterEntry>, ApiError> {
    auth.require_scope(Scope::ItemsRead)?;
    auth.require_any(READERS)?;
    let today = crate::workflow::today().to_string();
    Ok(state.db.register(q.attribute, q.due.then_some(today.as_str())).await?)
}

/// The register, oldest entry first.
#[utoipa::path(get, path = "/api/v1/register", tag = "register", params(RegisterQuery),
    responses((status = 200, body = Vec<RegisterEntryView>), (status = 403, body = super::Problem)))]
pub async fn list(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(q): AppQuery<RegisterQuery>,
) -> Result<axum::Json<Vec<RegisterEntryView>>, ApiError> {
    Ok(axum::Json(entries(&state, &auth, &q).await?.into_iter().map(RegisterEntryView::from).collect()))
}

const COLUMNS: [&str; 12] = [
    "事项编号",
    "标题",
    "发文字号",
    "发布机关",
    "公开属性",
    "理由",
    "法律依据",
    "状态",
    "提出时间",
    "决定人",
    "决定时间",
    "下次复核日期",
];

fn row(e: &RegisterEntry) -> [String; 12] {
    let status = match e.status.as_str() {
        "proposed" => "待确认",
        "confirmed" => "已确认",
        "changed" => "已变更",
        _ => "已关闭",
    };
    [
        e.item_id.to_string(),
        e.title.clone(),
        e.doc_number.clone().unwrap_or_default(),
        e.issuer.clone().unwrap_or_default(),
        e.attribute.label().to_owned(),
        e.reason.clone().unwrap_or_default(),
        e.legal_basis.clone().unwrap_or_default(),
        status.to_owned(),
        e.proposed_at.to_string(),
        e.decided_by.map(|u| u.to_string()).unwrap_or_default(),
        e.decided_at.map(|t| t.to_string()).unwrap_or_default(),
        e.next_review_on.clone().unwrap_or_default(),
    ]
}

/// Would a spreadsheet read this cell as a formula? When its first
/// character is `=`, `+`, `-` or `@` (or their full-width forms, which
/// spreadsheets with an input method fold to ASCII), a tab or a line break
/// (OWASP "CSV injection"); leading spaces and invisible characters are
/// skipped first, since some spreadsheets ignore them before a formula.
pub(crate) fn formula_like(cell: &str) -> bool {
    if cell.starts_with(['\t', '\r', '\n']) {
        return true;
    }
    cell.trim_start_matches(|c: char| c.is_whitespace() || textnorm::is_invisible(c))
        .starts_with(['=', '+', '-', '@', '\u{FF1D}', '\u{FF0B}', '\u{FF0D}', '\u{FF20}', '\t', '\r', '\n'])
}

/// RFC 4180 field: quoted when it holds a comma, quote or line break. A
/// cell a spreadsheet would take for a formula ([`formula_like`]) is
/// prefixed with `'`, so that it stays text (CSV injection).
fn csv_field(s: &str) -> String {
    let s = if formula_like(s) { format!("'{s}") } else { s.to_owned() };
    if s.contains([',', '"', '\n', '\r']) { format!("\"{}\"", s.replace('"', "\"\"")) } else { s }
}

/// The register as a file: CSV (UTF-8 with a BOM, so Excel reads Chinese)
/// or XLSX.
#[utoipa::path(get, path = "/api/v1/register/export", tag = "register", params(RegisterQuery),
    responses((status = 200, description = "The register as CSV (`format=csv`, the default) or XLSX (`format=xlsx`)",
            content((String = "text/csv"), (Vec<u8> = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"))),
        (status = 400, body = super::Problem), (status = 403, body = super::Problem)))]
pub async fn export(
    State(state): State<AppState>,
    auth: Auth,
    AppQuery(q): AppQuery<RegisterQuery>,
) -> Result<Response, ApiError> {
    let entries = entries(&state, &auth, &q).await?;
    // Building the file is proportional to the register: on the CPU pool.
    match q.format.as_deref().unwrap_or("csv") {
        "csv" => {
            let out = state.cpu.run("csv export", move || csv(&entries)).await?;
            Ok((
                [
                    (header::CONTENT_TYPE, "text/csv; charset=utf-8"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"register.csv\""),
                ],
                out,
            )
                .into_response())
        }
        "xlsx" => {
            let bytes = state
                .cpu
                .run("xlsx export", move || xlsx(&entries))
                .await?
                .map_err(|e| ApiError::Internal(format!("xlsx: {e}")))?;
            Ok((
                [
                    (header::CONTENT_TYPE, "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"),
                    (header::CONTENT_DISPOSITION, "attachment; filename=\"register.xlsx\""),
                ],
                bytes,
            )
                .into_response())
        }
        _ => Err(ApiError::BadRequest("format 只能是 csv 或 xlsx".into())),
    }
}

/// The register as CSV, UTF-8 with a BOM (so that Excel reads Chinese).
fn csv(entries: &[RegisterEntry]) -> String {
    let mut out = String::from("\u{feff}");
    out.push_str(&COLUMNS.join(","));
    out.push_str("\r\n");
    for e in entries {
        out.push_str(&row(e).iter().map(|f| csv_field(f)).collect::<Vec<_>>().join(","));
        out.push_str("\r\n");
    }
    out
}

fn xlsx(entries: &[RegisterEntry]) -> Result<Vec<u8>, rust_xlsxwriter::XlsxError> {
    let mut book = rust_xlsxwriter::Workbook::new();
    let sheet = book.add_worksheet();
    sheet.set_name("台账")?;
    let bold = rust_xlsxwriter::Format::new().set_bold();
    for (col, name) in (0u16..).zip(COLUMNS) {
        sheet.write_string_with_format(0, col, name, &bold)?;
    }
    // Cells are strings, never formulas; one that looks like a formula also
    // gets the quote prefix, so that editing it in Excel keeps it text.
    let quoted = rust_xlsxwriter::Format::new().set_quote_prefix();
    for (r, e) in (1u32..).zip(entries) {
        for (col, value) in (0u16..).zip(row(e)) {
            if formula_like(&value) {
                sheet.write_string_with_format(r, col, value, &quoted)?;
            } else {
                sheet.write_string(r, col, value)?;
            }
        }
    }
    book.save_to_buffer()
}

/// A reviewer's periodic-review decision.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DecisionRequest {
    /// Keep (`confirm`) or change the attribute.
    pub attribute: Attribute,
    pub reason: String,
    #[serde(default)]
    pub legal_basis: Option<String>,
}

/// Confirms or changes an entry's attribute and sets the next review
/// (the policy's interval, default six months). Changing it to 主动公开
/// closes nothing by itself: the attribute is part of the reviewed content,
/// so the drafter is notified to submit a new version.
#[utoipa::path(post, path = "/api/v1/register/{id}/decision", tag = "register", request_body = DecisionRequest,
    params(("id" = String, Path)),
    responses((status = 200, body = RegisterEntryView), (status = 403, body = super::Problem), (status = 404, body = super::Problem)))]
pub async fn decide(
    State(state): State<AppState>,
    auth: Auth,
    InPath(id): InPath<ItemId>,
    AppJson(req): AppJson<DecisionRequest>,
) -> Result<axum::Json<RegisterEntryView>, ApiError> {
    Ok(axum::Json(decide_on(&state, &auth, id, req).await?.into()))
}

/// A register decision as the API and the 台账 page take it.
pub(super) async fn decide_on(
    state: &AppState,
    auth: &Auth,
    id: ItemId,
    req: DecisionRequest,
) -> Result<RegisterEntry, ApiError> {
    let item = readable_item(state, auth, id).await?;
    let principal = auth.require_scope(Scope::Review)?.clone();
    auth.require_any(&state.workflow.register.roles)?;
    let decision = crate::service::register::Decision {
        attribute: req.attribute,
        reason: req.reason,
        legal_basis: req.legal_basis,
    };
    Ok(crate::service::register::decide(state, &principal, &item, decision).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_fields_are_quoted_and_formulas_defused() {
        assert_eq!(csv_field("普通"), "普通");
        assert_eq!(csv_field("a,b"), "\"a,b\"");
        assert_eq!(csv_field("说\"明\""), "\"说\"\"明\"\"\"");
        assert_eq!(csv_field("=HYPERLINK(1)"), "'=HYPERLINK(1)");
    }

    #[test]
    fn every_formula_opening_is_defused() {
        for cell in [
            "=1+1",
            "+1",
            "-1",
            "@SUM(A1)",
            "\t=1",
            "\r=1",
            "\n=1",
            "\u{FF1D}HYPERLINK(\"http://x\")",
            "\u{FF0B}1",
            "\u{FF0D}1",
            "\u{FF20}SUM(A1)",
            "  =1",
            "\u{3000}=1",
            "\u{FEFF}=1",
            "\u{200B}\u{FF1D}1",
        ] {
            assert!(formula_like(cell), "{cell:?}");
            assert!(csv_field(cell).trim_start_matches('"').starts_with('\''), "{cell:?}");
        }
        for cell in ["普通", "江政办发〔2025〕3号", "2026-01-01", "a=b", ""] {
            assert!(!formula_like(cell), "{cell:?}");
        }
    }
}
