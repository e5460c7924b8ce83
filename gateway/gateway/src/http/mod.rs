//! The HTTP API under `/api/v1`, plus `/healthz` and the generated OpenAPI
//! document at `/api/v1/openapi.json`.
//!
//! Only this module knows JSON request and response shapes: every answer is
//! a type defined here (never a store record), with a real schema in the
//! OpenAPI document (`openapi_tests`). Handlers check who may act, turn
//! requests into model values and call the store. Routes are registered
//! through `utoipa_axum`, so a handler cannot be routed without also
//! appearing in the OpenAPI document; `/healthz` and the document itself,
//! routed by hand, are listed in [`ApiDoc`]'s `paths`.

mod accounts;
mod admin;
mod applications;
mod attachments;
mod calendar;
mod delivery;
mod error;
pub(crate) mod extract;
mod form;
mod items;
pub(crate) mod masked;
#[cfg(test)]
mod openapi_tests;
mod register;
mod seals;
mod web;
mod workflow;

use std::sync::Arc;

use axum::extract::DefaultBodyLimit;
use axum::routing::get;
use axum::{Json, Router};
use tower_http::trace::TraceLayer;
use utoipa::OpenApi;
use utoipa::openapi::security::{ApiKey, ApiKeyValue, HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

pub use accounts::{account_key, new_user};
pub use calendar::LOADERS as CALENDAR_LOADERS;
pub use error::{ApiError, PROBLEM_JSON, Problem};
pub use extract::{AppJson, AppQuery, Auth, SESSION_COOKIE};

pub use crate::state::AppState;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "政务公开发布审核网关 API",
        description = "Publication review and confidentiality-check gateway. Errors are RFC 9457 problem documents.",
        version = "1"
    ),
    modifiers(&SecuritySchemes),
    paths(healthz, openapi_document),
    components(schemas(Problem))
)]
struct ApiDoc;

struct SecuritySchemes;

impl utoipa::Modify for SecuritySchemes {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components
            .add_security_scheme("session", SecurityScheme::ApiKey(ApiKey::Cookie(ApiKeyValue::new(SESSION_COOKIE))));
        components.add_security_scheme(
            "token",
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
    }
}

/// The API routes and their OpenAPI document, built from the same handlers.
pub fn api(state: &AppState) -> (Router<AppState>, utoipa::openapi::OpenApi) {
    api_routes(state.settings.limits.max_attachment_bytes).split_for_parts()
}

/// Every API route, with the limit on an attachment's size.
fn api_routes(max_attachment_bytes: usize) -> OpenApiRouter<AppState> {
    let attachments =
        OpenApiRouter::new().routes(routes!(attachments::upload)).layer(DefaultBodyLimit::max(max_attachment_bytes));
    OpenApiRouter::with_openapi(ApiDoc::openapi())
        .routes(routes!(accounts::login))
        .routes(routes!(accounts::logout))
        .routes(routes!(accounts::me))
        .routes(routes!(accounts::change_password))
        .routes(routes!(accounts::begin_totp))
        .routes(routes!(accounts::confirm_totp))
        .routes(routes!(accounts::create_user, accounts::list_users))
        .routes(routes!(accounts::reset_password))
        .routes(routes!(accounts::deactivate_user))
        .routes(routes!(accounts::reactivate_user))
        .routes(routes!(accounts::change_roles))
        .routes(routes!(accounts::unlock_user))
        .routes(routes!(accounts::create_token, accounts::list_tokens))
        .routes(routes!(accounts::revoke_token))
        .routes(routes!(accounts::verify_audit))
        .routes(routes!(accounts::audit_events))
        .routes(routes!(attachments::download))
        .routes(routes!(items::create_item, items::list_items))
        .routes(routes!(items::get_item, items::edit_item))
        .routes(routes!(items::get_version))
        .routes(routes!(items::submit_item))
        .routes(routes!(items::diff_versions))
        .routes(routes!(items::list_reviews))
        .routes(routes!(masked::mask_attachment))
        .routes(routes!(workflow::get_workflow))
        .routes(routes!(workflow::vote))
        .routes(routes!(workflow::override_stage))
        .routes(routes!(workflow::waive))
        .routes(routes!(workflow::lift_veto))
        .routes(routes!(workflow::recheck))
        .routes(routes!(workflow::reject))
        .routes(routes!(workflow::claim, workflow::unclaim))
        .routes(routes!(workflow::queue))
        .routes(routes!(workflow::overdue))
        .routes(routes!(workflow::add_comment, workflow::list_comments))
        .routes(routes!(workflow::notifications))
        .routes(routes!(workflow::mark_read))
        .routes(routes!(form::approval_form))
        .routes(routes!(register::list))
        .routes(routes!(register::export))
        .routes(routes!(register::decide))
        .routes(routes!(applications::register, applications::list))
        .routes(routes!(applications::get))
        .routes(routes!(applications::act))
        .routes(routes!(applications::draft_reply))
        .routes(routes!(applications::serve_by_email))
        .routes(routes!(applications::letter_pdf))
        .routes(routes!(applications::annual_report))
        .routes(routes!(admin::reload_policy, admin::policy_status))
        .routes(routes!(calendar::list))
        .routes(routes!(calendar::load))
        .routes(routes!(seals::seal_item))
        .routes(routes!(seals::jwks))
        .routes(routes!(seals::get_seal))
        .routes(routes!(seals::seal_status))
        .routes(routes!(seals::seal_attachment))
        .routes(routes!(seals::status_list))
        .routes(routes!(seals::status_list_token))
        .routes(routes!(seals::checkpoint))
        .routes(routes!(seals::log_key))
        .routes(routes!(seals::inclusion_proof))
        .routes(routes!(seals::consistency_proof))
        .routes(routes!(delivery::webhook_keys))
        .routes(routes!(delivery::add_endpoint, delivery::list_endpoints))
        .routes(routes!(delivery::redeliver_endpoint))
        .routes(routes!(delivery::endpoint_deliveries))
        .routes(routes!(delivery::item_deliveries))
        .routes(routes!(delivery::redeliver))
        .routes(routes!(delivery::withdraw))
        .routes(routes!(delivery::confirm_withdrawal))
        .routes(routes!(delivery::changes))
        .routes(routes!(delivery::snapshot))
        .routes(routes!(delivery::channel_attachment))
        .routes(routes!(delivery::confirm))
        .routes(routes!(delivery::feed_atom))
        .routes(routes!(delivery::feed_json))
        .merge(attachments)
}

/// The whole application router.
pub fn router(state: AppState) -> Router {
    let (api, openapi) = api(&state);
    let openapi = Arc::new(openapi);
    api.route("/api/v1/openapi.json", get(move || openapi_document(openapi)))
        .route("/healthz", get(healthz))
        .merge(web::routes(&state.settings.limits))
        .fallback(|| async { ApiError::NotFound("该地址") })
        .method_not_allowed_fallback(|| async { ApiError::BadRequest("此地址不支持该请求方法".into()) })
        .layer(DefaultBodyLimit::max(state.settings.limits.max_body_bytes))
        .layer(tower_http::catch_panic::CatchPanicLayer::custom(panicked))
        .layer(axum::middleware::map_response_with_state(state.clone(), strict_transport_security))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Behind TLS (an https `public_url`), every answer tells browsers to use
/// https only, for a year.
async fn strict_transport_security(
    axum::extract::State(state): axum::extract::State<AppState>,
    mut response: axum::response::Response,
) -> axum::response::Response {
    if state.settings.behind_tls() {
        response.headers_mut().insert(
            axum::http::header::STRICT_TRANSPORT_SECURITY,
            axum::http::HeaderValue::from_static("max-age=31536000; includeSubDomains"),
        );
    }
    response
}

/// A handler that panicked: the client gets a 500 problem document (never a
/// dropped connection), the log gets the panic inside the request span.
fn panicked(cause: Box<dyn std::any::Any + Send + 'static>) -> axum::response::Response {
    use axum::response::IntoResponse;
    let message = cause
        .downcast_ref::<String>()
        .map(String::as_str)
        .or_else(|| cause.downcast_ref::<&str>().copied())
        .unwrap_or("a panic without a message");
    ApiError::Internal(format!("handler panicked: {message}")).into_response()
}

/// Whether the gateway answers and reaches its database (no
/// authentication).
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "`ok`", body = String, content_type = "text/plain"),
        (status = 500, body = Problem)))]
async fn healthz(axum::extract::State(state): axum::extract::State<AppState>) -> Result<&'static str, ApiError> {
    state.db.ping().await?;
    Ok("ok")
}

/// This document (no authentication).
#[utoipa::path(get, path = "/api/v1/openapi.json", tag = "health", responses((status = 200, body = OpenApiDocument)))]
async fn openapi_document(document: Arc<utoipa::openapi::OpenApi>) -> Json<OpenApiDocument> {
    Json(OpenApiDocument(document))
}

/// The OpenAPI 3.1 document, served as it was built.
#[derive(serde::Serialize)]
#[serde(transparent)]
struct OpenApiDocument(Arc<utoipa::openapi::OpenApi>);

impl utoipa::PartialSchema for OpenApiDocument {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{AdditionalProperties, ObjectBuilder, Type};
        let members = |description: &str| {
            ObjectBuilder::new()
                .schema_type(Type::Object)
                .description(Some(description))
                .additional_properties(Some(AdditionalProperties::FreeForm(true)))
        };
        ObjectBuilder::new()
            .schema_type(Type::Object)
            .description(Some("An OpenAPI 3.1 document (https://spec.openapis.org/oas/v3.1.0)"))
            .property("openapi", ObjectBuilder::new().schema_type(Type::String).description(Some("`3.1.0`")))
            .property("info", members("Title, description and version of the API"))
            .property(
                "paths",
                ObjectBuilder::new()
                    .schema_type(Type::Object)
                    .description(Some("Each path with its operations"))
                    .additional_properties(Some(members("The operations of one path, by method"))),
            )
            .property("components", members("Schemas and security schemes"))
            .required("openapi")
            .required("info")
            .required("paths")
            .into()
    }
}

impl utoipa::ToSchema for OpenApiDocument {}
