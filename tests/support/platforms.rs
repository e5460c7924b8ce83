//! Local fake servers of the new-media platforms (WeChat official account,
//! Weibo) that reproduce their documented request and response shapes, for
//! the connector tests: axum on 127.0.0.1:0, recording every request, with
//! scriptable trouble.
//!
//! WeChat (developers.weixin.qq.com): `POST /cgi-bin/stable_token`
//! (`{grant_type, appid, secret, force_refresh}` → `{access_token,
//! expires_in}`), and with `?access_token=`: `draft/add` (`{articles}` →
//! `{media_id}`), `freepublish/submit` (`{media_id}` → `{errcode: 0,
//! publish_id}`), `freepublish/get` (`{publish_id}` → `{publish_id,
//! publish_status, article_id, article_detail: {count, item: [{idx,
//! article_url}]}, fail_idx}`), `freepublish/delete` (`{article_id, index}`
//! → `{errcode: 0}`). Errors are HTTP 200 with `{errcode, errmsg}`.
//! Scriptable: the `publish_status` sequence of the next job, a token that
//! expires (40001 once), a rate limit (45009), a slow answer, a removal on
//! the platform after success (status 5 or 6).
//!
//! Weibo (open.weibo.com/wiki): `POST /2/statuses/share.json` (form
//! `access_token`, `status` → the status with `idstr`), `GET
//! /2/statuses/show.json`, `POST /2/statuses/destroy.json` (form `id`);
//! errors are HTTP 400 with `{error, error_code, request}`. The status must
//! carry a link in the app's authorised domain and fit 140 characters.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use axum::extract::{Form, Query, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use axum::{Json, Router};
use serde_json::{Value, json};

async fn serve(router: Router) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.expect("bind loopback");
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
    base
}

// ------------------------------------------------------------------ WeChat

/// A request the fake WeChat received: the API path (`draft/add`, …) and
/// its JSON body.
#[derive(Clone, Debug)]
pub struct Call {
    pub path: String,
    pub body: Value,
}

#[derive(Default)]
struct WeChatState {
    app_id: String,
    secret: String,
    token: Option<String>,
    tokens_issued: usize,
    calls: Vec<Call>,
    /// Answer 40001 to the next API call and invalidate the token.
    expire_token: bool,
    /// Hold the next call of an API path this long before answering.
    delays: HashMap<String, std::time::Duration>,
    /// Answer 45009 to this many calls of an API path.
    rate_limited: HashMap<String, usize>,
    /// The `publish_status` sequence the next submitted job walks through
    /// (the last one stays).
    next_script: Vec<i64>,
    drafts: HashMap<String, Value>,
    /// publish_id → (media_id, remaining statuses, current status, article_id).
    jobs: HashMap<String, (String, VecDeque<i64>, i64, String)>,
    deleted: Vec<String>,
    counter: u64,
}

/// The fake WeChat official-account API.
#[derive(Clone)]
pub struct FakeWeChat {
    /// The API base to configure on the endpoint (`url`).
    pub base: String,
    state: Arc<Mutex<WeChatState>>,
}

impl FakeWeChat {
    /// Starts a fake for the account `app_id` with AppSecret `secret`; a
    /// submitted job reports 1 (publishing) once, then 0 (success).
    pub async fn start(app_id: &str, secret: &str) -> FakeWeChat {
        let state = Arc::new(Mutex::new(WeChatState {
            app_id: app_id.into(),
            secret: secret.into(),
            next_script: vec![1, 0],
            ..WeChatState::default()
        }));
        let router = Router::new()
            .route("/cgi-bin/stable_token", post(wx_token))
            .route("/cgi-bin/{*api}", post(wx_api))
            .with_state(state.clone());
        FakeWeChat { base: serve(router).await, state }
    }

    /// The `publish_status` values the next submitted job reports, in order.
    pub fn script(&self, statuses: &[i64]) {
        self.state.lock().unwrap().next_script = statuses.to_vec();
    }

    /// The current access token stops working: the next API call answers 40001.
    pub fn expire_token_once(&self) {
        self.state.lock().unwrap().expire_token = true;
    }

    /// The next `n` calls of `path` (`freepublish/submit`, …) answer 45009
    /// (quota reached).
    pub fn rate_limit(&self, path: &str, n: usize) {
        self.state.lock().unwrap().rate_limited.insert(path.to_owned(), n);
    }

    /// The next call of `path` is answered only after `delay` (a
    /// publication in flight).
    pub fn delay(&self, path: &str, delay: std::time::Duration) {
        self.state.lock().unwrap().delays.insert(path.to_owned(), delay);
    }

    /// Every published article now reports `status` (5: deleted by the
    /// account's operator, 6: banned by the platform).
    pub fn remove_all(&self, status: i64) {
        for job in self.state.lock().unwrap().jobs.values_mut() {
            if job.2 == 0 {
                job.1.clear();
                job.2 = status;
            }
        }
    }

    /// Every API call received (not the token requests), in order.
    pub fn calls(&self) -> Vec<Call> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The paths of the API calls, in order.
    pub fn paths(&self) -> Vec<String> {
        self.calls().into_iter().map(|c| c.path).collect()
    }

    /// How many access tokens were handed out.
    pub fn tokens_issued(&self) -> usize {
        self.state.lock().unwrap().tokens_issued
    }

    /// The article ids deleted by `freepublish/delete`.
    pub fn deleted(&self) -> Vec<String> {
        self.state.lock().unwrap().deleted.clone()
    }
}

fn errcode(code: i64, msg: &str) -> Response {
    Json(json!({ "errcode": code, "errmsg": msg })).into_response()
}

async fn wx_token(State(state): State<Arc<Mutex<WeChatState>>>, Json(body): Json<Value>) -> Response {
    let mut s = state.lock().unwrap();
    if body["grant_type"] != "client_credential" {
        return errcode(40002, "invalid grant_type");
    }
    if body["appid"] != s.app_id.as_str() || body["secret"] != s.secret.as_str() {
        return errcode(40125, "invalid appsecret");
    }
    // Normal mode: the same token while it is valid.
    if s.token.is_none() || body["force_refresh"] == true {
        s.tokens_issued += 1;
        s.token = Some(format!("ACCESS_TOKEN_{}", s.tokens_issued));
    }
    Json(json!({ "access_token": s.token, "expires_in": 7200 })).into_response()
}

async fn wx_api(
    State(state): State<Arc<Mutex<WeChatState>>>,
    axum::extract::Path(api): axum::extract::Path<String>,
    Query(q): Query<HashMap<String, String>>,
    Json(body): Json<Value>,
) -> Response {
    let delay = state.lock().unwrap().delays.remove(&api);
    if let Some(d) = delay {
        tokio::time::sleep(d).await;
    }
    let mut s = state.lock().unwrap();
    s.calls.push(Call { path: api.clone(), body: body.clone() });
    if s.token.is_none() || q.get("access_token") != s.token.as_ref() {
        return errcode(40001, "invalid credential, access_token is invalid or not latest");
    }
    if s.expire_token {
        s.expire_token = false;
        s.token = None;
        return errcode(40001, "invalid credential, access_token is invalid or not latest");
    }
    if let Some(n) = s.rate_limited.get_mut(&api).filter(|n| **n > 0) {
        *n -= 1;
        return errcode(45009, "reach max api daily quota limit");
    }
    s.counter += 1;
    let n = s.counter;
    match api.as_str() {
        "draft/add" => {
            let a = &body["articles"][0];
            if a["title"].as_str().is_none_or(|t| t.is_empty() || t.chars().count() > 32)
                || a["content"].as_str().is_none_or(str::is_empty)
            {
                return errcode(45003, "title or content invalid");
            }
            if a["thumb_media_id"].as_str().is_none_or(str::is_empty) {
                return errcode(40007, "invalid media_id");
            }
            let media_id = format!("MEDIA_ID_{n}");
            s.drafts.insert(media_id.clone(), body.clone());
            Json(json!({ "media_id": media_id, "item": [] })).into_response()
        }
        "freepublish/submit" => {
            let Some(media_id) = body["media_id"].as_str().filter(|m| s.drafts.contains_key(*m)) else {
                return errcode(40007, "invalid media_id");
            };
            let mut script: VecDeque<i64> = s.next_script.iter().copied().collect();
            let first = script.pop_front().unwrap_or(0);
            let publish_id = format!("{}", 100_000_000 + n);
            s.jobs.insert(publish_id.clone(), (media_id.to_owned(), script, first, format!("ARTICLE_ID_{n}")));
            // publish_id documented as a string, sent here as a number as the platform does
            Json(json!({ "errcode": 0, "errmsg": "ok", "publish_id": 100_000_000 + n, "msg_data_id": n }))
                .into_response()
        }
        "freepublish/get" => {
            let id = match &body["publish_id"] {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            let Some(job) = s.jobs.get_mut(&id) else { return errcode(53600, "invalid publish_id") };
            let status = job.2;
            if let Some(next) = job.1.pop_front() {
                job.2 = next;
            }
            let article = job.3.clone();
            let mut answer = json!({ "publish_id": id, "publish_status": status, "fail_idx": [] });
            if status == 0 || status >= 5 {
                answer["article_id"] = json!(article);
            }
            if status == 0 {
                answer["article_detail"] = json!({ "count": 1, "item": [
                    { "idx": 1, "article_url": format!("https://mp.weixin.qq.com/s/{article}") }] });
            }
            if (2..=4).contains(&status) {
                answer["fail_idx"] = json!([1]);
            }
            Json(answer).into_response()
        }
        "freepublish/delete" => {
            let Some(article) = body["article_id"].as_str() else { return errcode(40001, "invalid article_id") };
            if !s.jobs.values().any(|j| j.3 == article && j.2 == 0) {
                return errcode(53600, "invalid article_id");
            }
            s.deleted.push(article.to_owned());
            for job in s.jobs.values_mut().filter(|j| j.3 == article) {
                job.2 = 5;
            }
            errcode(0, "ok")
        }
        _ => errcode(40066, "invalid url"),
    }
}

// ------------------------------------------------------------------- Weibo

#[derive(Default)]
struct WeiboState {
    token: String,
    domain: String,
    /// Every request: path and its form or query.
    calls: Vec<(String, HashMap<String, String>)>,
    /// idstr → text, for statuses that exist.
    statuses: HashMap<String, String>,
    destroyed: Vec<String>,
    counter: u64,
}

/// The fake Weibo open API.
#[derive(Clone)]
pub struct FakeWeibo {
    /// The API base to configure on the endpoint (`url`).
    pub base: String,
    state: Arc<Mutex<WeiboState>>,
}

impl FakeWeibo {
    /// Starts a fake for an account with OAuth token `token`, whose app may
    /// share links on `domain` (its 安全域名).
    pub async fn start(token: &str, domain: &str) -> FakeWeibo {
        let state =
            Arc::new(Mutex::new(WeiboState { token: token.into(), domain: domain.into(), ..WeiboState::default() }));
        let router = Router::new()
            .route("/2/statuses/share.json", post(wb_share))
            .route("/2/statuses/show.json", get(wb_show))
            .route("/2/statuses/destroy.json", post(wb_destroy))
            .with_state(state.clone());
        FakeWeibo { base: serve(router).await, state }
    }

    /// Every request (path and parameters), in order.
    pub fn calls(&self) -> Vec<(String, HashMap<String, String>)> {
        self.state.lock().unwrap().calls.clone()
    }

    /// The statuses on the account now: id → text.
    pub fn statuses(&self) -> HashMap<String, String> {
        self.state.lock().unwrap().statuses.clone()
    }

    /// Ids deleted through `statuses/destroy`.
    pub fn destroyed(&self) -> Vec<String> {
        self.state.lock().unwrap().destroyed.clone()
    }

    /// The platform removes a status (moderation).
    pub fn remove(&self, id: &str) {
        self.state.lock().unwrap().statuses.remove(id);
    }
}

fn wb_error(code: i64, error: &str, request: &str) -> Response {
    (StatusCode::BAD_REQUEST, Json(json!({ "error": error, "error_code": code, "request": request }))).into_response()
}

/// Records a call and checks its token: `Authorization: OAuth2 <token>` or
/// the `access_token` parameter, both of which Weibo accepts (the gateway
/// uses the header, so the token is in no URL).
fn wb_record(
    s: &mut WeiboState,
    path: &str,
    params: &HashMap<String, String>,
    headers: &HeaderMap,
) -> Option<Response> {
    s.calls.push((path.to_owned(), params.clone()));
    let header = headers.get("authorization").and_then(|v| v.to_str().ok()).and_then(|v| v.strip_prefix("OAuth2 "));
    let token = header.or(params.get("access_token").map(String::as_str));
    (token != Some(s.token.as_str())).then(|| wb_error(21332, "invalid_access_token", path))
}

async fn wb_share(
    State(state): State<Arc<Mutex<WeiboState>>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let path = "/2/statuses/share.json";
    let mut s = state.lock().unwrap();
    if let Some(r) = wb_record(&mut s, path, &f, &headers) {
        return r;
    }
    let text = f.get("status").cloned().unwrap_or_default();
    if text.chars().count() > 140 {
        return wb_error(20012, "Text too long, please input text less than 140 characters!", path);
    }
    if text.contains('#') || !text.contains(&format!("://{}/", s.domain)) {
        return wb_error(10017, "parameter (status)'s value invalid: no link in the app's domain", path);
    }
    if s.statuses.values().any(|t| *t == text) {
        return wb_error(20019, "Repeated weibo text!", path);
    }
    s.counter += 1;
    let id = format!("{}", 4_900_000_000_000_000u64 + s.counter);
    s.statuses.insert(id.clone(), text.clone());
    Json(json!({ "created_at": "Mon Nov 23 20:00:00 +0800 2026", "id": id.parse::<u64>().unwrap(), "idstr": id,
                 "mid": id, "text": text, "user": { "id": 1_404_376_560u64 } }))
    .into_response()
}

async fn wb_show(
    State(state): State<Arc<Mutex<WeiboState>>>,
    headers: HeaderMap,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let path = "/2/statuses/show.json";
    let mut s = state.lock().unwrap();
    if let Some(r) = wb_record(&mut s, path, &q, &headers) {
        return r;
    }
    let id = q.get("id").cloned().unwrap_or_default();
    match s.statuses.get(&id) {
        Some(text) => Json(json!({ "idstr": id, "text": text })).into_response(),
        None => wb_error(20101, "Target weibo does not exist!", path),
    }
}

async fn wb_destroy(
    State(state): State<Arc<Mutex<WeiboState>>>,
    headers: HeaderMap,
    Form(f): Form<HashMap<String, String>>,
) -> Response {
    let path = "/2/statuses/destroy.json";
    let mut s = state.lock().unwrap();
    if let Some(r) = wb_record(&mut s, path, &f, &headers) {
        return r;
    }
    let id = f.get("id").cloned().unwrap_or_default();
    match s.statuses.remove(&id) {
        Some(text) => {
            s.destroyed.push(id.clone());
            Json(json!({ "idstr": id, "text": text })).into_response()
        }
        None => wb_error(20101, "Target weibo does not exist!", path),
    }
}
