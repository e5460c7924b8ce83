//! Operating the review platform: the policy in force and hot reload.

use axum::extract::State;
use serde::Serialize;
use utoipa::ToSchema;

use super::{ApiError, AppState, Auth};
use crate::auth::{Role, Scope};
use crate::review::{LoadReport, RunStatus};

/// The policy in force and its plugins.
#[derive(Serialize, ToSchema)]
pub struct PolicyStatus {
    pub policy: LoadReportView,
}

/// What a (re)load installed: the policy and each plugin exactly.
#[derive(Serialize, ToSchema)]
pub struct LoadReportView {
    pub policy_name: String,
    /// `sha256:` hash of the effective policy (file, data files, pins, configurations).
    pub policy_hash: String,
    /// The plugins in pipeline order.
    pub plugins: Vec<PluginView>,
    /// Time to verify, compile, configure and test, in milliseconds.
    pub millis: u64,
}

/// One plugin of the pipeline: what exactly runs.
#[derive(Serialize, ToSchema)]
pub struct PluginView {
    pub name: String,
    /// From the plugin's `describe`.
    pub version: String,
    /// SHA-256 of the component, hex (its pin).
    pub sha256: String,
    /// How its run on the canary item went.
    pub status: PluginStatus,
    /// Wall-clock time of that run, in microseconds.
    pub micros: u64,
}

/// How one plugin's run went.
#[derive(Serialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum PluginStatus {
    Ok,
    Skipped,
    Failed,
}

impl From<LoadReport> for LoadReportView {
    fn from(r: LoadReport) -> LoadReportView {
        let plugins = r
            .plugins
            .into_iter()
            .map(|p| PluginView {
                name: p.name,
                version: p.version,
                sha256: p.sha256,
                status: match p.status {
                    RunStatus::Ok => PluginStatus::Ok,
                    RunStatus::Skipped => PluginStatus::Skipped,
                    RunStatus::Failed => PluginStatus::Failed,
                },
                micros: p.micros,
            })
            .collect();
        LoadReportView { policy_name: r.policy_name, policy_hash: r.policy_hash, plugins, millis: r.millis }
    }
}

/// The review policy in force: its hash and each plugin's name, version and
/// SHA-256 (admin, auditor, publication office).
#[utoipa::path(get, path = "/api/v1/admin/policy", tag = "admin",
    responses((status = 200, body = PolicyStatus), (status = 403, body = super::Problem)))]
pub async fn policy_status(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<PolicyStatus>, ApiError> {
    auth.require_any(&[Role::Admin, Role::SecurityAdmin, Role::Auditor, Role::Publisher])?;
    Ok(axum::Json(PolicyStatus { policy: state.pipeline.current().report(std::time::Instant::now()).into() }))
}

/// Hot-reloads the configured policy file: pins are verified before
/// anything is compiled, the new plugins are warmed up and run on a canary
/// item, then swapped in atomically. Reviews in flight finish on the old
/// policy. An invalid policy leaves the old one serving; the answer says why.
#[utoipa::path(post, path = "/api/v1/admin/policy/reload", tag = "admin",
    responses((status = 200, body = PolicyStatus), (status = 403, body = super::Problem), (status = 422, body = super::Problem)))]
pub async fn reload_policy(State(state): State<AppState>, auth: Auth) -> Result<axum::Json<PolicyStatus>, ApiError> {
    let actor = auth.require_any(&[Role::Admin])?.user_id;
    auth.require_scope(Scope::Admin)?;
    let old = state.pipeline.policy_hash();
    match state.pipeline.reload_async(None).await {
        Ok(report) => {
            state
                .db
                .audit(
                    Some(actor),
                    "policy.reload",
                    serde_json::json!({ "from": old, "to": report.policy_hash, "report": report }),
                )
                .await?;
            Ok(axum::Json(PolicyStatus { policy: report.into() }))
        }
        Err(e) => {
            state
                .db
                .audit(
                    Some(actor),
                    "policy.reload_refused",
                    serde_json::json!({ "policy_hash": old, "reason": e.to_string() }),
                )
                .await?;
            Err(ApiError::Unprocessable(format!("新策略未生效，原策略继续运行。原因：{e}")))
        }
    }
}
