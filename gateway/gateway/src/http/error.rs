//! Every error the API answers with, as RFC 9457 `application/problem+json`:
//! a stable `type` (a URN per error), a Chinese `title` and `detail` that
//! tell a person what to fix, the status, and for 422 the list of field
//! problems. The cause of an internal error goes to the log, never to the
//! client.

use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use utoipa::ToSchema;

use crate::model::FieldProblem;
use crate::store::StoreError;

/// The media type of error bodies.
pub const PROBLEM_JSON: &str = "application/problem+json";

#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("malformed request: {0}")]
    BadRequest(String),
    #[error("not authenticated")]
    Unauthenticated,
    #[error("wrong username or password")]
    BadCredentials,
    #[error("forbidden: {0}")]
    Forbidden(String),
    /// The password or one-time code entered again for a step-up (the
    /// sign-off) was wrong: said as a mistyping, not as a lack of rights.
    #[error("step-up failed: {0}")]
    StepUpFailed(String),
    #[error("not found: {0}")]
    NotFound(&'static str),
    #[error("conflict: {0}")]
    Conflict(String),
    #[error("stale version {expected}, current is {current}")]
    Stale { expected: i64, current: i64 },
    #[error("body larger than {limit} bytes")]
    PayloadTooLarge { limit: usize },
    #[error("unsupported media type: {0}")]
    UnsupportedMediaType(String),
    #[error("invalid fields")]
    Invalid(Vec<FieldProblem>),
    #[error("unprocessable: {0}")]
    Unprocessable(String),
    #[error("the password must be changed first")]
    PasswordChangeRequired,
    #[error("cross-origin request with the session cookie")]
    CrossOrigin,
    #[error("internal error: {0}")]
    Internal(String),
    #[error("busy: {0}")]
    Busy(String),
    #[error("upstream: {0}")]
    Upstream(String),
}

/// The body of every error answer.
#[derive(Debug, Serialize, ToSchema)]
pub struct Problem {
    /// Stable identifier of the kind of error, e.g. `urn:gateway:problem:stale-version`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Short, stable summary in Chinese.
    pub title: String,
    pub status: u16,
    /// What happened and what to do, in Chinese.
    pub detail: String,
    /// Field-level problems, for 422 answers about request fields.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<FieldProblem>,
}

impl ApiError {
    pub fn status(&self) -> StatusCode {
        match self {
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::Unauthenticated | ApiError::BadCredentials => StatusCode::UNAUTHORIZED,
            ApiError::Forbidden(_) | ApiError::StepUpFailed(_) => StatusCode::FORBIDDEN,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) | ApiError::Stale { .. } => StatusCode::CONFLICT,
            ApiError::PayloadTooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            ApiError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            ApiError::Invalid(_) | ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
            ApiError::PasswordChangeRequired | ApiError::CrossOrigin => StatusCode::FORBIDDEN,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            ApiError::Busy(_) => StatusCode::SERVICE_UNAVAILABLE,
            ApiError::Upstream(_) => StatusCode::BAD_GATEWAY,
        }
    }

    fn code(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "malformed-request",
            ApiError::Unauthenticated => "unauthenticated",
            ApiError::BadCredentials => "bad-credentials",
            ApiError::Forbidden(_) => "forbidden",
            ApiError::StepUpFailed(_) => "step-up-failed",
            ApiError::NotFound(_) => "not-found",
            ApiError::Conflict(_) => "conflict",
            ApiError::Stale { .. } => "stale-version",
            ApiError::PayloadTooLarge { .. } => "payload-too-large",
            ApiError::UnsupportedMediaType(_) => "unsupported-media-type",
            ApiError::Invalid(_) => "invalid-fields",
            ApiError::Unprocessable(_) => "unprocessable",
            ApiError::PasswordChangeRequired => "password-change-required",
            ApiError::CrossOrigin => "cross-origin",
            ApiError::Internal(_) => "internal",
            ApiError::Busy(_) => "busy",
            ApiError::Upstream(_) => "upstream",
        }
    }

    fn title(&self) -> &'static str {
        match self {
            ApiError::BadRequest(_) => "请求格式错误",
            ApiError::Unauthenticated => "未登录",
            ApiError::BadCredentials => "用户名或密码错误",
            ApiError::Forbidden(_) => "无权执行此操作",
            ApiError::StepUpFailed(_) => "身份确认未通过",
            ApiError::NotFound(_) => "未找到",
            ApiError::Conflict(_) => "操作冲突",
            ApiError::Stale { .. } => "版本已过期",
            ApiError::PayloadTooLarge { .. } => "内容过大",
            ApiError::UnsupportedMediaType(_) => "不支持的文件类型",
            ApiError::Invalid(_) => "填写内容有误",
            ApiError::Unprocessable(_) => "请求内容无法处理",
            ApiError::PasswordChangeRequired => "须先修改密码",
            ApiError::CrossOrigin => "跨站请求被拒绝",
            ApiError::Internal(_) => "服务器内部错误",
            ApiError::Busy(_) => "服务器繁忙",
            ApiError::Upstream(_) => "外部服务出错",
        }
    }

    fn detail(&self) -> String {
        match self {
            ApiError::BadRequest(why) => {
                format!("请求无法解析：{why}。请检查 JSON 格式和字段后重试。")
            }
            ApiError::Unauthenticated => "请先登录，或在 Authorization 头中提供有效的 API 令牌。".into(),
            ApiError::BadCredentials => {
                "用户名或密码错误，或登录尝试过于频繁。请稍后重新输入；连续多次失败后须等待一段时间，或请安全管理员解锁。".into()
            }
            ApiError::Forbidden(why) | ApiError::StepUpFailed(why) => why.clone(),
            ApiError::NotFound(what) => format!("{what}不存在，或您无权查看。"),
            ApiError::Conflict(why) => why.clone(),
            ApiError::Stale { expected, current } => {
                format!("您基于第 {expected} 版修改，但当前已是第 {current} 版。请先查看最新版本，再在其基础上修改。")
            }
            ApiError::PayloadTooLarge { limit } => {
                format!("提交的内容超过上限（{} 字节，约 {} MiB），请精简后重试。", limit, limit >> 20)
            }
            ApiError::UnsupportedMediaType(why) => why.clone(),
            ApiError::Invalid(problems) => {
                let fields: Vec<&str> = problems.iter().map(|p| p.message.as_str()).collect();
                fields.join("；")
            }
            ApiError::Unprocessable(why) => why.clone(),
            ApiError::PasswordChangeRequired => "您的密码由管理员设置或重置，须先修改为只有您本人知道的新密码，才能进行其他操作。\
                 请在“修改密码”页面（/password）或通过 POST /api/v1/auth/password 修改。"
                .into(),
            ApiError::CrossOrigin => "该请求使用登录会话，却不是从本系统的页面发出的（来源与配置的 public_url 不符），已拒绝。\
                 请从本系统页面操作；程序调用请使用 API 令牌。"
                .into(),
            ApiError::Internal(_) => "服务器处理请求时出错，已记录日志。请稍后重试；如持续出现，请联系管理员。".into(),
            ApiError::Busy(_) => "服务器正忙于处理其他大型比对或导出，请稍后重试。".into(),
            ApiError::Upstream(why) => why.clone(),
        }
    }

    /// The problem document for this error.
    pub fn problem(&self) -> Problem {
        Problem {
            kind: format!("urn:gateway:problem:{}", self.code()),
            title: self.title().to_owned(),
            status: self.status().as_u16(),
            detail: self.detail(),
            errors: match self {
                ApiError::Invalid(problems) => problems.clone(),
                _ => Vec::new(),
            },
        }
    }

    pub fn invalid(field: &str, message: impl Into<String>) -> ApiError {
        ApiError::Invalid(vec![FieldProblem::new(field, message)])
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        if let ApiError::Internal(cause) = &self {
            tracing::error!(%cause, "internal error");
        }
        let status = self.status();
        let body = serde_json::to_vec(&self.problem()).expect("problem serialises");
        let mut response = (status, body).into_response();
        response.headers_mut().insert(header::CONTENT_TYPE, HeaderValue::from_static(PROBLEM_JSON));
        response
    }
}

impl From<crate::offload::OffloadError> for ApiError {
    fn from(e: crate::offload::OffloadError) -> ApiError {
        match e {
            crate::offload::OffloadError::Busy(_) => ApiError::Busy(e.to_string()),
            crate::offload::OffloadError::Failed { .. } => ApiError::Internal(e.to_string()),
        }
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> ApiError {
        match e {
            StoreError::NotFound => ApiError::NotFound("所请求的对象"),
            StoreError::Conflict(what) => ApiError::Conflict(conflict_detail(what)),
            StoreError::Stale { expected, current } => ApiError::Stale { expected, current },
            StoreError::WrongState { state } => {
                ApiError::Conflict(format!("事项当前状态为“{}”，不能执行此操作。", state.label()))
            }
            StoreError::Moved => ApiError::Conflict("事项刚刚被他人更新，请刷新后重试。".into()),
            StoreError::NotApproved(why) => ApiError::Conflict(why),
            other => ApiError::Internal(other.to_string()),
        }
    }
}

impl From<crate::service::Error> for ApiError {
    fn from(e: crate::service::Error) -> ApiError {
        use crate::service::Error;
        match e {
            Error::Forbidden(why) => ApiError::Forbidden(why),
            Error::NotFound(what) => ApiError::NotFound(what),
            Error::Conflict(why) => ApiError::Conflict(why),
            Error::Stale { expected, current } => ApiError::Stale { expected, current },
            Error::Invalid(problems) => ApiError::Invalid(problems),
            Error::Unprocessable(why) => ApiError::Unprocessable(why),
            Error::Busy(why) => ApiError::Busy(why),
            Error::Upstream(why) => ApiError::Upstream(why),
            Error::Store(e) => e.into(),
            Error::Internal(why) => ApiError::Internal(why),
        }
    }
}

fn conflict_detail(what: &str) -> String {
    match what {
        "username already exists" => "用户名已存在，请换一个用户名。".into(),
        "referenced item does not exist" => "关联的事项不存在。".into(),
        "claimed by someone else" => "该审核环节已由他人认领。".into(),
        "already waived" => "该问题已被豁免。".into(),
        "no urgent withdrawal awaits confirmation" => "该事项没有待确认的紧急撤稿。".into(),
        "an urgent withdrawal is confirmed by someone else" => "紧急撤稿须由发起人以外的人员确认。".into(),
        "no valid seal to withdraw" => "该事项没有有效的信息公开专用章可撤回。".into(),
        "the publication was withdrawn" => "该发布已撤稿，不能重新投递。".into(),
        other => format!("操作与现有数据冲突（{other}）。"),
    }
}
