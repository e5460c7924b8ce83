//! The publication office (政务公开办公室): items waiting for the seal, items
//! on their way to the channels and withdrawals, the channels' endpoints,
//! the policy and plugins in force, and the seal keys.

use askama::Template;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Redirect, Response};

use super::item::{channel_label, short_hash};
use super::{Layout, PageQuery, Posted, Session, china_time_input, done_message, error_page, render, render_status};
use crate::auth::Role;
use crate::http::items::{ItemView, ListQuery};
use crate::http::workflow::OverdueItem;
use crate::http::{ApiError, AppQuery, AppState};
use crate::model::ItemState;

/// A channel endpoint as the office sees it.
pub struct EndpointRow {
    pub id: String,
    pub channel: String,
    pub kind: &'static str,
    pub url: String,
    pub enabled: bool,
    pub disabled_reason: String,
}

pub struct KeyRow {
    pub kid: String,
    pub status: String,
    pub dev: bool,
    pub created_at: String,
}

pub struct PluginRow {
    pub name: String,
    pub version: String,
    pub sha256: String,
}

/// Items in one state.
pub struct Lane {
    pub label: &'static str,
    pub items: Vec<ItemView>,
}

#[derive(Template)]
#[template(path = "office.html")]
struct OfficePage {
    layout: Layout,
    lanes: Vec<Lane>,
    overdue: Vec<OverdueItem>,
    /// The end-of-calendar warning (from 60 days before the loaded 放假安排 end).
    calendar_warning: Option<String>,
    endpoints: Vec<EndpointRow>,
    /// The office and admins may resend an endpoint's events since a time.
    can_resend: bool,
    /// The security administrator adds, tests and disables endpoints here.
    can_manage: bool,
    /// The configured channels (value, name) and endpoint kinds (value, name)
    /// the add form offers.
    channel_choices: Vec<(String, String)>,
    kind_choices: Vec<(&'static str, &'static str)>,
    /// The add form as last sent (kept when it was refused).
    draft: EndpointDraft,
    transport_key: String,
    keys: Vec<KeyRow>,
    policy_name: String,
    policy_hash: String,
    plugins: Vec<PluginRow>,
    workflow_version: String,
}

pub async fn office(State(state): State<AppState>, session: Session, AppQuery(q): AppQuery<PageQuery>) -> Response {
    match office_page(&state, &session).await {
        Ok(mut page) => {
            page.layout.notice = done_message(q.done.as_deref());
            render(&page)
        }
        Err(e) => error_page(&session, e),
    }
}

/// Resends every event of an endpoint's channel since a time (China time
/// from the form) and enables the endpoint again: after a receiver lost
/// its data, or once a disabled endpoint is repaired.
pub async fn resend(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { session, form, .. }: Posted,
) -> Response {
    let result = match form.get("since") {
        None => Err(ApiError::invalid("since", "请选择补发的起始时间")),
        Some(since) => {
            crate::service::delivery::redeliver_since(&state, session.principal(), &id, &china_time_input(&since))
                .await
                .map_err(ApiError::from)
        }
    };
    match result {
        Ok(_) => Redirect::to("/office?done=resent#ep-h").into_response(),
        Err(e) => match office_page(&state, &session).await {
            Ok(mut page) => {
                page.layout = page.layout.with_error(&e);
                render_status(e.status(), &page)
            }
            Err(_) => error_page(&session, e),
        },
    }
}

/// The add-endpoint form's fields, as typed.
#[derive(Default)]
pub struct EndpointDraft {
    pub channel: String,
    pub kind: String,
    pub url: String,
    pub app_id: String,
    pub secret_name: String,
    pub link_template: String,
    pub cover_media_id: String,
}

impl EndpointDraft {
    fn of(form: &super::Form) -> EndpointDraft {
        let get = |k: &str| form.get(k).unwrap_or_default();
        EndpointDraft {
            channel: get("channel"),
            kind: get("kind"),
            url: get("url"),
            app_id: get("app_id"),
            secret_name: get("secret_name"),
            link_template: get("link_template"),
            cover_media_id: get("cover_media_id"),
        }
    }

    /// The use case's request: a connector's settings only for a connector.
    fn request(&self) -> crate::service::delivery::NewEndpoint {
        let some = |v: &str| (!v.is_empty()).then(|| v.to_owned());
        let connector = self.kind.parse::<crate::channel::EndpointKind>().ok().and_then(|k| match k {
            crate::channel::EndpointKind::Connector(_) => Some(crate::store::ConnectorConfig {
                app_id: some(&self.app_id),
                secret_name: self.secret_name.clone(),
                link_template: some(&self.link_template),
                cover_media_id: some(&self.cover_media_id),
                recheck_secs: 3600,
            }),
            _ => None,
        });
        crate::service::delivery::NewEndpoint {
            channel: self.channel.clone(),
            kind: some(&self.kind),
            url: some(&self.url),
            connector,
        }
    }
}

/// The names of the add form's fields, for a refusal that names one.
fn field_label(field: &str) -> &str {
    match field {
        "channel" => "发布渠道",
        "kind" => "接入方式",
        "url" => "地址",
        "app_id" => "AppID",
        "secret_name" => "密钥名称",
        "link_template" => "专用章公示页地址",
        "cover_media_id" => "封面素材",
        "recheck_secs" => "复查间隔",
        other => other,
    }
}

/// The office page again, with what happened (`Ok`: a notice, `Err`: the
/// refusal and its status) and the add form as it was sent.
async fn office_again(
    state: &AppState,
    session: &Session,
    outcome: Result<String, ApiError>,
    draft: Option<EndpointDraft>,
) -> Response {
    match office_page(state, session).await {
        Ok(mut page) => {
            if let Some(draft) = draft {
                page.draft = draft;
            }
            match outcome {
                Ok(notice) => {
                    page.layout.notice = Some(notice);
                    render(&page)
                }
                Err(e) => {
                    page.layout = page.layout.with_error(&e);
                    render_status(e.status(), &page)
                }
            }
        }
        Err(e) => error_page(session, e),
    }
}

/// Adds a channel endpoint from the form (security administrator).
pub async fn add_endpoint(State(state): State<AppState>, Posted { session, form, .. }: Posted) -> Response {
    let draft = EndpointDraft::of(&form);
    match crate::service::delivery::add_endpoint(&state, session.principal(), draft.request()).await {
        Ok(_) => Redirect::to("/office?done=endpoint_added#ep-h").into_response(),
        Err(crate::service::Error::Invalid(problems)) => {
            let said: Vec<String> =
                problems.iter().map(|p| format!("{}：{}", field_label(&p.field), p.message)).collect();
            let e = ApiError::invalid("endpoint", said.join("；"));
            office_again(&state, &session, Err(e), Some(draft)).await
        }
        Err(e) => office_again(&state, &session, Err(e.into()), Some(draft)).await,
    }
}

/// Tests an endpoint and says what it found (security administrator).
pub async fn test_endpoint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { session, .. }: Posted,
) -> Response {
    let outcome = match crate::service::delivery::test_endpoint(&state, session.principal(), &id).await {
        Ok(test) => match test.message() {
            (text, true) => Ok(text),
            (text, false) => Err(ApiError::Conflict(text)),
        },
        Err(e) => Err(e.into()),
    };
    office_again(&state, &session, outcome, None).await
}

/// Disables an endpoint with a reason (security administrator).
pub async fn disable_endpoint(
    State(state): State<AppState>,
    Path(id): Path<String>,
    Posted { session, form, .. }: Posted,
) -> Response {
    let reason = form.get("reason").unwrap_or_default();
    match crate::service::delivery::disable_endpoint(&state, session.principal(), &id, &reason).await {
        Ok(_) => Redirect::to("/office?done=endpoint_disabled#ep-h").into_response(),
        Err(e) => office_again(&state, &session, Err(e.into()), None).await,
    }
}

async fn office_page(state: &AppState, session: &Session) -> Result<OfficePage, ApiError> {
    if ![Role::Publisher, Role::SecurityAdmin, Role::Auditor].iter().any(|r| session.has(*r)) {
        return Err(ApiError::Forbidden("发布管理页面仅供政务公开办公室、管理员和审计人员使用。".into()));
    }
    let lane_states = [
        (ItemState::Approved, "待加盖"),
        (ItemState::Scheduled, "定时发布"),
        (ItemState::Delivering, "发布中"),
        (ItemState::Withdrawing, "撤稿中"),
        (ItemState::Published, "已发布"),
    ];
    let mut lanes = Vec::new();
    for (item_state, label) in lane_states {
        let query = ListQuery {
            state: Some(item_state),
            organ: None,
            attribute: None,
            kind: None,
            text: None,
            created_by: None,
            cursor: None,
            limit: Some(20),
        };
        let list = crate::http::items::list(state, &session.auth(), query).await?;
        lanes.push(Lane { label, items: list.items });
    }
    let overdue = match crate::http::workflow::overdue_of(state, &session.auth()).await {
        Ok(report) => report.items,
        Err(ApiError::Forbidden(_)) => Vec::new(),
        Err(e) => return Err(e),
    };
    let endpoints = crate::service::delivery::endpoints(state, session.principal())
        .await?
        .into_iter()
        .map(|e| EndpointRow {
            id: e.id,
            channel: channel_label(&e.channel),
            kind: e.kind.label(),
            url: e.url.unwrap_or_default(),
            enabled: e.enabled,
            disabled_reason: e.disabled_reason.unwrap_or_default(),
        })
        .collect();
    let keys = state
        .db
        .seal_keys()
        .await?
        .into_iter()
        .map(|k| KeyRow {
            kid: k.kid,
            status: k.status,
            dev: k.dev,
            created_at: super::beijing(&k.created_at.to_string()),
        })
        .collect();
    let report = state.pipeline.current().report(std::time::Instant::now());
    Ok(OfficePage {
        layout: session.layout("发布管理", "/office"),
        lanes,
        overdue,
        calendar_warning: calendar_warning(state),
        endpoints,
        can_resend: session.has(Role::Publisher) || session.has(Role::SecurityAdmin),
        can_manage: session.has(Role::SecurityAdmin),
        channel_choices: state.settings.channels.iter().map(|c| (c.clone(), channel_label(c))).collect(),
        kind_choices: crate::channel::EndpointKind::ALL.iter().map(|k| (k.as_str(), k.label())).collect(),
        draft: EndpointDraft::default(),
        transport_key: state.transport.whpk(),
        keys,
        policy_name: report.policy_name,
        policy_hash: short_hash(&report.policy_hash),
        plugins: report
            .plugins
            .into_iter()
            .map(|p| PluginRow { name: p.name, version: p.version, sha256: short_hash(&p.sha256) })
            .collect(),
        workflow_version: state.workflow.version.clone(),
    })
}

/// The end-of-calendar warning for the office and dashboard banners.
pub fn calendar_warning(state: &AppState) -> Option<String> {
    crate::calendar::warning(&state.calendar.current().calendar, crate::workflow::today()).map(|w| w.message)
}
