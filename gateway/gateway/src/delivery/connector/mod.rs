//! Gateway-operated connectors (docs/delivery.md §4): channels on platforms
//! that cannot verify a seal — a WeChat official account and a Weibo
//! account — where the gateway itself is the endpoint. The dispatcher hands
//! a claimed delivery of a `wechat` or `weibo` endpoint to [`deliver`]
//! instead of POSTing it; the connector turns the sealed event into the
//! platform's form (the seal serial and the public seal page go along, so
//! the public can verify), calls the platform, and reports an
//! [`Outcome`] plus what it learnt about the platform's post
//! ([`PostUpdate`]: ids, status), which the store records in the attempt's
//! transaction.
//!
//! A publication may finish asynchronously (WeChat: `freepublish/submit`,
//! then `freepublish/get`): the delivery stays pending and is claimed again
//! to poll until the platform decides. A platform's refusal (review failed)
//! fails the delivery with the platform's reason and tells the publication
//! office. Live posts are rechecked every `recheck_secs` ([`recheck`]); a
//! post the platform or its account removed is recorded, audited and
//! reported. A withdrawal deletes every post of the item on the endpoint;
//! success confirms the channel's removal like a webhook's 2xx.
//!
//! Secrets (WeChat AppSecret, Weibo OAuth access token) are read when used,
//! from the environment variable or the 0600 file `<data_dir>/secrets/<name>`
//! that the endpoint names: they never reach the database, and a rotated
//! secret needs no restart. This is the one deliberate read of `std::env`
//! outside `config.rs`.
//!
//! It decides nothing about *what* is delivered, and knows no SQL.

mod wechat;
mod weibo;

use std::future::Future;
use std::time::{Duration, Instant};

use serde_json::Value;

use super::Context;
use crate::channel::{EndpointKind, EventKind, Outcome, Platform, PostStatus};
use crate::config::{DeliverySettings, Settings};
use crate::model::Timestamp;
use crate::store::{Claimed, ConnectorConfig, PostRecord, PostUpdate};

pub use wechat::Tokens;

/// What a connector needs of a sealed publication.
#[derive(Clone, Debug, Default)]
pub struct Post {
    pub title: String,
    /// Plain text, LF line endings (the canonical content's body).
    pub body: String,
    pub issuer: Option<String>,
    pub doc_number: Option<String>,
    /// The seal serial.
    pub serial: String,
    /// The public seal page of this serial, if configured.
    pub link: Option<String>,
}

/// A post's ids on the platform, filled in as the platform hands them out.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Ids {
    /// WeChat draft `media_id`.
    pub draft_id: Option<String>,
    /// WeChat `publish_id`.
    pub job_id: Option<String>,
    /// WeChat `article_id`, Weibo status `idstr`.
    pub post_id: Option<String>,
    /// WeChat `article_url`, Weibo status URL.
    pub post_url: Option<String>,
}

/// What the platform says about a publication.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Publication {
    /// Accepted; the platform is still working on it (poll again).
    Pending,
    /// Live.
    Published,
    /// Refused for good, with the platform's reason (Chinese).
    Rejected(String),
    /// Was live, then removed on the platform (not by us), with the reason.
    Removed(String),
}

impl Publication {
    /// The post's status when the platform said this.
    fn post_status(&self) -> PostStatus {
        match self {
            Publication::Pending => PostStatus::Submitted,
            Publication::Published => PostStatus::Published,
            Publication::Rejected(_) => PostStatus::Rejected,
            Publication::Removed(_) => PostStatus::Removed,
        }
    }
}

/// Why a platform call did not get an answer to act on.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum ConnectorError {
    /// Try again later (transport error, rate limit, bad token, platform
    /// error); the reason is for people (Chinese).
    #[error("{reason}")]
    Retry { reason: String, retry_after: Option<Duration> },
    /// The platform refused this content for good (Chinese reason).
    #[error("{0}")]
    Refused(String),
}

impl ConnectorError {
    fn retry(reason: impl Into<String>) -> ConnectorError {
        ConnectorError::Retry { reason: reason.into(), retry_after: None }
    }
}

/// A platform behind the connector.
///
/// Each method takes the ids known so far and fills in those the platform
/// hands out, also when it then fails, so a retry resumes rather than
/// repeats (no second WeChat draft after a failed submit).
pub trait Connector: Send + Sync {
    /// Publishes `post`, or resumes an earlier attempt.
    fn publish(&self, post: &Post, ids: &mut Ids) -> impl Future<Output = Result<Publication, ConnectorError>> + Send;
    /// Asks what became of a publication (pending, or live, to find a removal).
    fn poll(&self, ids: &mut Ids) -> impl Future<Output = Result<Publication, ConnectorError>> + Send;
    /// Deletes a live post (irreversible on both platforms).
    fn delete(&self, ids: &Ids) -> impl Future<Output = Result<(), ConnectorError>> + Send;
}

/// What the connectors share across deliveries: the WeChat access tokens.
#[derive(Debug, Default)]
pub struct Shared {
    pub tokens: Tokens,
}

/// The platform calls of one attempt, for the delivery log (`response_excerpt`).
#[derive(Debug, Default)]
pub struct Log {
    inner: std::sync::Mutex<(Vec<String>, Option<u16>)>,
}

impl Log {
    /// Adds a line, with every token and secret in it redacted: the log
    /// becomes the attempt's `response_excerpt`, which is stored.
    fn push(&self, status: Option<u16>, line: String) {
        let mut inner = self.inner.lock().unwrap_or_else(|e| e.into_inner());
        inner.0.push(super::redact::text(&line));
        if status.is_some() {
            inner.1 = status;
        }
    }

    fn status(&self) -> Option<i64> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner()).1.map(i64::from)
    }

    fn excerpt(&self) -> String {
        super::excerpt(self.inner.lock().unwrap_or_else(|e| e.into_inner()).0.join("\n").as_bytes())
    }
}

/// The most of a platform's answer read (its JSON answers are small).
const MAX_ANSWER_BYTES: usize = 256 * 1024;

/// Sends one platform request and reads its JSON answer. A transport
/// error, a non-JSON answer or a 5xx is a retry (honouring `Retry-After`);
/// a 4xx with JSON is the platform's to interpret.
async fn exchange(log: &Log, what: &str, request: reqwest::RequestBuilder) -> Result<Value, ConnectorError> {
    let response = match request.send().await {
        Ok(r) => r,
        Err(e) => {
            let reason = format!("无法连接平台接口 {what}：{}", super::error_text(e));
            log.push(None, format!("{what}: {reason}"));
            return Err(ConnectorError::retry(reason));
        }
    };
    let status = response.status();
    let retry_after =
        response.headers().get("retry-after").and_then(|v| v.to_str().ok()).and_then(super::parse_retry_after);
    let bytes = super::outbound::read_bounded(response, MAX_ANSWER_BYTES).await;
    log.push(Some(status.as_u16()), format!("{what} {}: {}", status.as_u16(), String::from_utf8_lossy(&bytes)));
    match serde_json::from_slice::<Value>(&bytes) {
        Ok(v) if !status.is_server_error() => Ok(v),
        _ => Err(ConnectorError::Retry {
            reason: format!("平台接口 {what} 返回 HTTP {}", status.as_u16()),
            retry_after,
        }),
    }
}

/// Environment variables of connector secrets start with this; the rest is
/// the endpoint's `secret_name`. The gateway's own secrets (seal key,
/// database URL) are in other variables, taken out of the environment at
/// start ([`crate::config::take_secret_environment`]), and can never be named.
pub const SECRET_ENV_PREFIX: &str = "GATEWAY_CONNECTOR_SECRET_";

/// Reads a connector's secret: the environment variable
/// `GATEWAY_CONNECTOR_SECRET_<name>`, else the file
/// `<data_dir>/secrets/<name>`: a regular file (not a link, so it cannot
/// point at the seal key), which group and others may not access.
pub fn read_secret(settings: &Settings, name: &str) -> Result<String, String> {
    if !is_secret_name(name) {
        return Err(format!("连接器密钥名 {name} 无效"));
    }
    if let Ok(v) = std::env::var(format!("{SECRET_ENV_PREFIX}{name}"))
        && !v.trim().is_empty()
    {
        return Ok(v.trim().to_owned());
    }
    let path = settings.data_dir.join("secrets").join(name);
    let missing = || {
        format!(
            "未找到连接器密钥 {name}：请设置环境变量 {SECRET_ENV_PREFIX}{name} 或创建权限为 0600 的文件 {}",
            path.display()
        )
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::custom_flags(&mut options, libc_o_nofollow());
    let file = options.open(&path).map_err(|e| match e.raw_os_error() {
        Some(ELOOP) => format!("密钥文件 {} 是符号链接，已拒绝读取", path.display()),
        _ => missing(),
    })?;
    let meta = file.metadata().map_err(|_| missing())?;
    if !meta.is_file() {
        return Err(format!("密钥文件 {} 不是普通文件，已拒绝读取", path.display()));
    }
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = meta.permissions().mode() & 0o777;
        if mode & 0o077 != 0 {
            return Err(format!("密钥文件 {} 的权限为 {mode:o}，其他用户可读；请执行 chmod 600", path.display()));
        }
    }
    let mut text = String::new();
    std::io::Read::read_to_string(&mut std::io::Read::take(file, 64 * 1024), &mut text)
        .map_err(|e| format!("无法读取密钥文件 {}：{e}", path.display()))?;
    Ok(text.trim().to_owned())
}

/// `ELOOP`, what `open` with `O_NOFOLLOW` answers for a symbolic link (Linux).
const ELOOP: i32 = 40;

/// `O_NOFOLLOW` on Linux.
#[cfg(unix)]
const fn libc_o_nofollow() -> i32 {
    0o400_000
}

/// 1–64 ASCII letters, digits or `_`: a name, not a path and not a secret.
fn is_secret_name(s: &str) -> bool {
    !s.is_empty() && s.len() <= 64 && s.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
}

/// Checked before a secret is read for an endpoint, with the configuration
/// in force now (an endpoint stored before an upgrade, or before the
/// configuration changed, gets nothing): the API base is the platform's or
/// one the configuration file allows, and its address is permitted.
fn may_call(delivery: &DeliverySettings, platform: Platform, base: &str) -> Result<(), String> {
    if !base_allowed(platform, base, &delivery.connector_api_bases) {
        return Err(format!(
            "连接器端点的平台接口地址 {base} 不是平台本身的地址，也未在配置 [delivery] connector_api_bases 中允许：未发送平台密钥"
        ));
    }
    let url = reqwest::Url::parse(base).map_err(|_| format!("平台接口地址 {base} 无效"))?;
    super::AllowedNetworks::of(delivery).check_url(&url)
}

/// Whether a connector of `platform` may call `base`: its platform's real host,
/// or an API base the configuration file allows (`[delivery]
/// connector_api_bases`: an entry without a port allows every port of its
/// host).
pub fn base_allowed(platform: Platform, base: &str, allowed: &[String]) -> bool {
    let Ok(url) = reqwest::Url::parse(base) else { return false };
    let origin = |entry: &str, any_port: bool| {
        reqwest::Url::parse(entry).is_ok_and(|e| {
            e.scheme() == url.scheme()
                && e.host_str() == url.host_str()
                && ((any_port && e.port().is_none()) || e.port_or_known_default() == url.port_or_known_default())
        })
    };
    origin(platform.api_host(), false) || allowed.iter().any(|a| origin(a, true))
}

/// Checks a connector endpoint's configuration; returns the API base (the
/// platform's host unless `url` overrides it), or the field at fault and
/// why (in Chinese).
pub fn check_config(
    platform: Platform,
    url: Option<&str>,
    c: Option<&ConnectorConfig>,
    delivery: &DeliverySettings,
) -> Result<String, (&'static str, String)> {
    let host = platform.api_host();
    let kind = platform.label();
    let base = url.unwrap_or(host).trim_end_matches('/').to_owned();
    if !(base.starts_with("http://") || base.starts_with("https://")) || base.len() > 2048 {
        return Err(("url", "平台接口地址须为 http:// 或 https:// 开头的 URL".into()));
    }
    if !base_allowed(platform, &base, &delivery.connector_api_bases) {
        return Err((
            "url",
            format!(
                "平台接口地址只能是 {host}：平台密钥只发往平台本身。其他地址（如测试替身、经审计的中转）须由运维人员在配置文件 [delivery] connector_api_bases 中允许"
            ),
        ));
    }
    let Some(c) = c else {
        return Err(("secret_name", format!("{kind}端点须配置密钥名称（密钥所在的环境变量名或文件名）")));
    };
    if !is_secret_name(&c.secret_name) {
        return Err((
            "secret_name",
            format!(
                "密钥名称须为 1–64 位字母、数字或下划线：数据目录下 secrets/ 中的文件名（或环境变量 {SECRET_ENV_PREFIX}<名称> 的名称部分），不是密钥本身"
            ),
        ));
    }
    if let Some(link) = &c.link_template
        && (!(link.starts_with("http://") || link.starts_with("https://")) || !link.contains("{serial}"))
    {
        return Err((
            "link_template",
            "专用章公示页地址须以 http:// 或 https:// 开头，并含 {serial}（专用章编号所在位置）".into(),
        ));
    }
    if c.recheck_secs < 0 {
        return Err(("recheck_secs", "复查间隔（秒）不能为负数".into()));
    }
    match platform {
        Platform::Wechat => {
            if !c.app_id.as_deref().is_some_and(is_secret_name) {
                return Err(("app_id", "微信公众号端点须配置 AppID".into()));
            }
            if !c.cover_media_id.as_deref().is_some_and(|m| !m.is_empty() && m.len() <= 256) {
                return Err(("cover_media_id", "微信图文须有封面：请填写封面素材（永久图片素材的 media_id）".into()));
            }
        }
        Platform::Weibo => {
            if c.link_template.is_none() {
                return Err((
                    "link_template",
                    "微博只能分享链接：请填写应用安全域名下的专用章公示页地址，含 {serial}".into(),
                ));
            }
        }
    }
    Ok(base)
}

/// Runs a claimed delivery of a connector endpoint.
pub async fn deliver(
    state: &Context,
    client: &reqwest::Client,
    shared: &Shared,
    platform: Platform,
    c: &Claimed,
    settings: &DeliverySettings,
) -> (Outcome, Vec<PostUpdate>) {
    let start = Instant::now();
    let log = Log::default();
    let ms = || i64::try_from(start.elapsed().as_millis()).unwrap_or(i64::MAX);
    let fail = |error: String, retry_after: Option<Duration>, log: &Log| {
        super::failed(c, settings, log.status(), ms(), Some(log.excerpt()), Some(error), retry_after)
    };
    let Some(config) = c.connector.as_ref() else {
        return (fail("连接器端点缺少配置".into(), None, &log), Vec::new());
    };
    if let Err(why) = may_call(&state.settings.delivery, platform, &c.url) {
        return (fail(why, None, &log), Vec::new());
    }
    let secret = match read_secret(&state.settings, &config.secret_name) {
        Ok(s) => s,
        Err(why) => return (fail(why, None, &log), Vec::new()),
    };
    let event: Value = match serde_json::from_str(&c.body) {
        Ok(v) => v,
        Err(e) => return (fail(format!("事件无法解析：{e}"), None, &log), Vec::new()),
    };
    let result = match platform {
        Platform::Wechat => {
            let app_id = config.app_id.as_deref().unwrap_or_default();
            let cover = config.cover_media_id.as_deref();
            let connector = wechat::WeChat::new(client, &c.url, app_id, &secret, cover, &shared.tokens, &log);
            run(state, &connector, c, config, &event).await
        }
        Platform::Weibo => run(state, &weibo::Weibo::new(client, &c.url, &secret, &log), c, config, &event).await,
    };
    let status = log.status().unwrap_or(200);
    match result {
        Ok((Publication::Published, posts)) => {
            (Outcome::Delivered { status, latency_ms: ms(), excerpt: log.excerpt() }, posts)
        }
        Ok((Publication::Pending, posts)) if waited_too_long(c, settings) => {
            let days = settings.give_up_after_secs / 86_400;
            let reason = format!("平台超过 {days} 天仍未给出发布结果，已停止等待。请在平台管理后台核实该文章的状态。");
            (Outcome::Rejected { status, latency_ms: ms(), excerpt: log.excerpt(), reason }, posts)
        }
        Ok((Publication::Pending, posts)) => {
            let poll_at = Timestamp::from_offset(
                Timestamp::now().as_offset() + super::backoff(settings, c.attempts.max(2), None),
            );
            (Outcome::Accepted { status, latency_ms: ms(), excerpt: log.excerpt(), poll_at }, posts)
        }
        Ok((Publication::Rejected(reason) | Publication::Removed(reason), posts)) => {
            (Outcome::Rejected { status, latency_ms: ms(), excerpt: log.excerpt(), reason }, posts)
        }
        Err((ConnectorError::Refused(reason), posts)) => {
            (Outcome::Rejected { status, latency_ms: ms(), excerpt: log.excerpt(), reason }, posts)
        }
        Err((ConnectorError::Retry { reason, retry_after }, posts)) => (fail(reason, retry_after, &log), posts),
    }
}

/// A publication still pending on the platform after the retry window
/// (`delivery.give_up_after_secs`, about three days) is given up, as a
/// failing webhook would be, instead of being polled forever.
fn waited_too_long(c: &Claimed, settings: &DeliverySettings) -> bool {
    let waited = (Timestamp::now().as_offset() - c.first_attempt_at.as_offset()).whole_seconds();
    waited >= i64::try_from(settings.give_up_after_secs).unwrap_or(i64::MAX)
}

type Run = Result<(Publication, Vec<PostUpdate>), (ConnectorError, Vec<PostUpdate>)>;

/// A publish (or the poll of a pending one), or a withdrawal.
async fn run(state: &Context, k: &impl Connector, c: &Claimed, config: &ConnectorConfig, event: &Value) -> Run {
    let text = |v: &Value| v.as_str().map(str::to_owned);
    let kind = event["type"].as_str();
    match kind.and_then(|k| k.parse::<EventKind>().ok()) {
        Some(EventKind::Publish) => {
            let content = &event["envelope"]["content"];
            let serial = text(&event["serial"]).unwrap_or_default();
            let post = Post {
                title: text(&content["title"]).unwrap_or_default(),
                body: text(&content["body"]).unwrap_or_default(),
                issuer: text(&content["issuer"]),
                doc_number: text(&content["doc_number"]),
                link: config.link_template.as_ref().map(|t| t.replace("{serial}", &serial)),
                serial,
            };
            let stored = state.db.post_of_delivery(&c.id).await.map_err(|e| (store_error(e), Vec::new()))?;
            let mut ids = stored.as_ref().map(ids_of).unwrap_or_default();
            let result = match stored.as_ref().map(|p| p.status) {
                Some(PostStatus::Submitted) => k.poll(&mut ids).await,
                // Live already; an earlier attempt failed after that (retiring a superseded post).
                Some(PostStatus::Published) => Ok(Publication::Published),
                Some(PostStatus::Drafted | PostStatus::Rejected | PostStatus::Removed | PostStatus::Deleted) | None => {
                    k.publish(&post, &mut ids).await
                }
            };
            let update = |status: PostStatus, reason: Option<String>| PostUpdate {
                delivery_id: c.id.clone(),
                status,
                draft_id: ids.draft_id.clone(),
                job_id: ids.job_id.clone(),
                post_id: ids.post_id.clone(),
                post_url: ids.post_url.clone(),
                reason,
            };
            match result {
                Ok(p) => {
                    let status = p.post_status();
                    let reason = match &p {
                        Publication::Rejected(r) | Publication::Removed(r) => Some(r.clone()),
                        _ => None,
                    };
                    let mut posts = vec![update(status, reason)];
                    if p == Publication::Published && event["supersedes"].is_string() {
                        retire_superseded(state, k, c, &post.serial, &mut posts).await?;
                    }
                    Ok((p, posts))
                }
                Err(e) => {
                    let started = if ids.job_id.is_some() {
                        Some(PostStatus::Submitted)
                    } else {
                        ids.draft_id.as_ref().map(|_| PostStatus::Drafted)
                    };
                    Err((e, started.map(|s| update(s, None)).into_iter().collect()))
                }
            }
        }
        Some(EventKind::Withdraw) => {
            let posts =
                state.db.posts_of(&c.item_id, &c.endpoint_id).await.map_err(|e| (store_error(e), Vec::new()))?;
            withdraw(k, &posts).await.map(|done| (Publication::Published, done))
        }
        None => Err((ConnectorError::Refused(format!("未知的事件类型 {kind:?}")), Vec::new())),
    }
}

/// A correction (更正) is live: the platforms cannot edit a published post
/// in place, so the item's earlier live posts on this endpoint are deleted.
/// On an error the correction's own post is still recorded (in `posts`) and
/// the retry resumes from it.
async fn retire_superseded(
    state: &Context,
    k: &impl Connector,
    c: &Claimed,
    serial: &str,
    posts: &mut Vec<PostUpdate>,
) -> Result<(), (ConnectorError, Vec<PostUpdate>)> {
    let older = match state.db.posts_of(&c.item_id, &c.endpoint_id).await {
        Ok(o) => o,
        Err(e) => return Err((store_error(e), std::mem::take(posts))),
    };
    for p in older.iter().filter(|p| p.status == PostStatus::Published && p.delivery_id != c.id) {
        let ids = ids_of(p);
        if let Err(e) = k.delete(&ids).await {
            return Err((e, std::mem::take(posts)));
        }
        posts.push(PostUpdate {
            reason: Some(format!("已由更正稿（信息公开专用章 {serial}）取代")),
            ..PostUpdate::new(p.delivery_id.clone(), PostStatus::Deleted)
        });
    }
    Ok(())
}

/// Deletes every post of the item that is or may become live; a post the
/// platform is still publishing is waited for (retry), one it refused or
/// removed needs nothing. Returns what changed, also on an error.
async fn withdraw(
    k: &impl Connector,
    posts: &[PostRecord],
) -> Result<Vec<PostUpdate>, (ConnectorError, Vec<PostUpdate>)> {
    let update = |p: &PostRecord, status: PostStatus, reason: Option<String>, ids: &Ids| PostUpdate {
        post_id: ids.post_id.clone(),
        post_url: ids.post_url.clone(),
        reason,
        ..PostUpdate::new(p.delivery_id.clone(), status)
    };
    let mut done = Vec::new();
    for p in posts.iter().filter(|p| p.status.may_be_live()) {
        let mut ids = ids_of(p);
        if p.status == PostStatus::Submitted {
            match k.poll(&mut ids).await {
                Ok(Publication::Published) => {}
                Ok(Publication::Pending) => {
                    return Err((ConnectorError::retry("平台仍在发布该文章，发布结束后再删除"), done));
                }
                Ok(Publication::Rejected(r)) => {
                    done.push(update(p, PostStatus::Rejected, Some(r), &ids));
                    continue;
                }
                Ok(Publication::Removed(r)) => {
                    done.push(update(p, PostStatus::Removed, Some(r), &ids));
                    continue;
                }
                Err(e) => return Err((e, done)),
            }
        }
        match k.delete(&ids).await {
            Ok(()) => done.push(update(p, PostStatus::Deleted, None, &ids)),
            Err(e) => return Err((e, done)),
        }
    }
    Ok(done)
}

fn ids_of(p: &PostRecord) -> Ids {
    Ids {
        draft_id: p.draft_id.clone(),
        job_id: p.job_id.clone(),
        post_id: p.post_id.clone(),
        post_url: p.post_url.clone(),
    }
}

fn store_error(e: crate::store::StoreError) -> ConnectorError {
    ConnectorError::retry(format!("数据库错误：{e}"))
}

/// Asks the platforms about the posts that are due ([`crate::store::Db::claim_rechecks`]).
/// A live post removed on the platform is recorded (audit
/// `delivery.platform_removed`) and the publication office told. A stray
/// post — published although its seal was withdrawn, because the
/// publication was in flight when the item was withdrawn — is deleted
/// (audit `delivery.stray_post`). Errors are logged; the post is asked
/// about again later.
pub async fn recheck(state: &Context, client: &reqwest::Client, shared: &Shared) {
    let due = match state.db.claim_rechecks(16).await {
        Ok(d) => d,
        Err(e) => {
            tracing::warn!(error = %e, "cannot claim connector rechecks; will retry");
            return;
        }
    };
    for (post, ep, stray) in due {
        let Some(config) = ep.connector.as_ref() else { continue };
        let platform = match ep.kind {
            EndpointKind::Connector(p) => p,
            EndpointKind::Webhook | EndpointKind::Pull => continue,
        };
        let base = ep.url.as_deref().unwrap_or_default();
        if let Err(why) = may_call(&state.settings.delivery, platform, base) {
            tracing::warn!(endpoint = %ep.id, why, "refusing to recheck a connector post");
            continue;
        }
        let secret = match read_secret(&state.settings, &config.secret_name) {
            Ok(s) => s,
            Err(why) => {
                tracing::warn!(endpoint = %ep.id, why, "cannot recheck a connector post");
                continue;
            }
        };
        let log = Log::default();
        let result = match platform {
            Platform::Wechat => {
                let app_id = config.app_id.as_deref().unwrap_or_default();
                let k = wechat::WeChat::new(client, base, app_id, &secret, None, &shared.tokens, &log);
                ask(state, &k, &post, stray).await
            }
            Platform::Weibo => ask(state, &weibo::Weibo::new(client, base, &secret, &log), &post, stray).await,
        };
        let reason = match result {
            Ok(removed) => removed,
            Err(e) => {
                tracing::warn!(item = %post.item_id, endpoint = %ep.id, error = %e, "connector recheck failed; will retry");
                None
            }
        };
        if let Some(reason) = reason {
            let message = format!(
                "事项 {} 在{}的发布已被平台删除或封禁（{}），专用章编号 {}，原链接 {}。请核实并处理。",
                post.item_id,
                platform.label(),
                reason,
                post.serial,
                post.post_url.as_deref().unwrap_or("-")
            );
            let key = format!("platform-removed:{}", post.delivery_id);
            notify_office(state, &post.item_id, "platform_removed", &message, &key).await;
        }
    }
}

/// One recheck: a stray post is deleted (once the platform has finished
/// publishing it); a live one that the platform removed is recorded, and
/// the platform's reason returned.
async fn ask(state: &Context, k: &impl Connector, post: &PostRecord, stray: bool) -> Result<Option<String>, String> {
    let mut ids = ids_of(post);
    let said = k.poll(&mut ids).await.map_err(|e| e.to_string())?;
    let update = |status: PostStatus, reason: Option<String>, ids: &Ids| PostUpdate {
        post_id: ids.post_id.clone(),
        post_url: ids.post_url.clone(),
        reason,
        ..PostUpdate::new(post.delivery_id.clone(), status)
    };
    let store = |e: crate::store::StoreError| e.to_string();
    match (said, stray) {
        (Publication::Removed(reason), false) => {
            let recorded = state.db.record_platform_removal(post, &reason).await.map_err(store)?;
            if recorded {
                tracing::error!(item = %post.item_id, post = ?post.post_id, reason, "a published post was removed on the platform");
                return Ok(Some(reason));
            }
        }
        (Publication::Published, true) => {
            k.delete(&ids).await.map_err(|e| e.to_string())?;
            tracing::warn!(item = %post.item_id, post = ?ids.post_id, "deleted a post published after its seal was withdrawn");
            state.db.record_stray_post(post, &update(PostStatus::Deleted, None, &ids)).await.map_err(store)?;
        }
        (Publication::Rejected(r), true) => {
            state.db.record_stray_post(post, &update(PostStatus::Rejected, Some(r), &ids)).await.map_err(store)?
        }
        (Publication::Removed(r), true) => {
            state.db.record_stray_post(post, &update(PostStatus::Removed, Some(r), &ids)).await.map_err(store)?
        }
        _ => {}
    }
    Ok(None)
}

/// Tells the publication office (every active publisher): in-app, and
/// through the notification hook (SMS/e-mail) if configured.
pub async fn notify_office(state: &Context, item: &str, kind: &str, message: &str, key: &str) {
    let item = item.parse().ok();
    let users = match state.db.users().await {
        Ok(u) => u,
        Err(e) => {
            tracing::warn!(error = %e, "cannot notify the publication office; the event is in the audit trail");
            return;
        }
    };
    for user in users.into_iter().filter(|u| u.active && u.roles.contains(&crate::auth::Role::Publisher)) {
        if let Err(e) = state.db.notify(user.id, kind, item, message, &format!("{key}:{}", user.id)).await {
            tracing::warn!(error = %e, "cannot notify a publisher; the event is in the audit trail");
        }
    }
}

/// The first `n` characters of `s`, with `…` when cut.
fn clip(s: &str, n: usize) -> String {
    if s.chars().count() <= n {
        return s.to_owned();
    }
    let mut out: String = s.chars().take(n.saturating_sub(1)).collect();
    out.push('…');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> ConnectorConfig {
        ConnectorConfig {
            app_id: Some("wx0123456789abcdef".into()),
            secret_name: "WECHAT_SECRET".into(),
            link_template: Some("https://gk.example.gov.cn/seal/{serial}".into()),
            cover_media_id: Some("cover".into()),
            recheck_secs: 3600,
        }
    }

    #[test]
    fn configuration_is_checked() {
        let d = DeliverySettings::default();
        let check = |kind, url, c: Option<&ConnectorConfig>| check_config(kind, url, c, &d);
        assert_eq!(check(Platform::Wechat, None, Some(&config())).unwrap(), "https://api.weixin.qq.com");
        assert_eq!(
            check(Platform::Wechat, Some("https://api.weixin.qq.com/"), Some(&config())).unwrap(),
            "https://api.weixin.qq.com"
        );
        assert_eq!(check(Platform::Wechat, None, None).unwrap_err().0, "secret_name");
        let secret_itself = ConnectorConfig { secret_name: "abc def!".into(), ..config() };
        assert_eq!(check(Platform::Wechat, None, Some(&secret_itself)).unwrap_err().0, "secret_name");
        let no_cover = ConnectorConfig { cover_media_id: None, ..config() };
        assert_eq!(check(Platform::Wechat, None, Some(&no_cover)).unwrap_err().0, "cover_media_id");
        let no_link = ConnectorConfig { link_template: None, ..config() };
        assert_eq!(check(Platform::Weibo, None, Some(&no_link)).unwrap_err().0, "link_template");
        assert!(check(Platform::Wechat, None, Some(&no_link)).is_ok());
        let bad_link = ConnectorConfig { link_template: Some("https://x/seal".into()), ..config() };
        assert_eq!(check(Platform::Weibo, None, Some(&bad_link)).unwrap_err().0, "link_template");
        assert_eq!(check(Platform::Wechat, Some("ftp://x"), Some(&config())).unwrap_err().0, "url");
    }

    /// Issue 16, finding 1: a platform secret only goes to the platform, or
    /// to a base the configuration file (never the API) allows.
    #[test]
    fn a_connector_calls_its_platform_or_what_the_file_allows() {
        let d = DeliverySettings::default();
        for elsewhere in [
            "http://127.0.0.1:9",
            "https://attacker.example",
            "https://api.weixin.qq.com.attacker.example",
            "https://api.weixin.qq.com:8443",
            "http://api.weixin.qq.com",
            "https://api.weibo.com",
        ] {
            let (field, why) = check_config(Platform::Wechat, Some(elsewhere), Some(&config()), &d).unwrap_err();
            assert_eq!(field, "url", "{elsewhere}");
            assert!(why.contains("connector_api_bases"), "{why}");
        }
        let relay = DeliverySettings { connector_api_bases: vec!["http://127.0.0.1".into()], ..d.clone() };
        assert_eq!(
            check_config(Platform::Weibo, Some("http://127.0.0.1:9/"), Some(&config()), &relay).unwrap(),
            "http://127.0.0.1:9"
        );
        let pinned = DeliverySettings { connector_api_bases: vec!["http://127.0.0.1:7".into()], ..d.clone() };
        assert!(check_config(Platform::Weibo, Some("http://127.0.0.1:9"), Some(&config()), &pinned).is_err());
        // Allowed as a base, the address must still be permitted to connect.
        assert!(may_call(&relay, Platform::Weibo, "http://127.0.0.1:9").unwrap_err().contains("allowed_networks"));
        let open = DeliverySettings { allowed_networks: vec!["127.0.0.0/8".parse().unwrap()], ..relay };
        assert!(may_call(&open, Platform::Weibo, "http://127.0.0.1:9").is_ok());
        assert!(may_call(&open, Platform::Weibo, "http://10.0.0.1:9").is_err());
    }

    #[test]
    fn secrets_are_read_only_from_their_own_place() {
        let dir = tempfile::tempdir().unwrap();
        let settings = Settings { data_dir: dir.path().to_owned(), ..Settings::default() };
        let secrets = dir.path().join("secrets");
        std::fs::create_dir_all(&secrets).unwrap();
        std::fs::create_dir_all(dir.path().join("keys")).unwrap();
        std::fs::write(dir.path().join("keys/dev-seal.pem"), "PRIVATE KEY").unwrap();
        let mode =
            |p: &std::path::Path, m| std::fs::set_permissions(p, std::os::unix::fs::PermissionsExt::from_mode(m));
        mode(&dir.path().join("keys/dev-seal.pem"), 0o600).unwrap();
        // The gateway's own variables are not connector secrets.
        for name in ["GATEWAY_SEAL_KEY", "DATABASE_URL", "PATH", "HOME"] {
            assert!(read_secret(&settings, name).unwrap_err().contains("未找到"), "{name}");
        }
        for name in ["../keys/dev-seal.pem", "a/b", ""] {
            assert!(read_secret(&settings, name).is_err(), "{name}");
        }
        // A link, even to a 0600 file, is refused.
        std::os::unix::fs::symlink(dir.path().join("keys/dev-seal.pem"), secrets.join("LINKED")).unwrap();
        assert!(read_secret(&settings, "LINKED").unwrap_err().contains("符号链接"));
        std::fs::write(secrets.join("WECHAT"), "s3cret\n").unwrap();
        mode(&secrets.join("WECHAT"), 0o644).unwrap();
        assert!(read_secret(&settings, "WECHAT").unwrap_err().contains("chmod 600"));
        mode(&secrets.join("WECHAT"), 0o600).unwrap();
        assert_eq!(read_secret(&settings, "WECHAT").unwrap(), "s3cret");
    }

    #[test]
    fn clipping_counts_characters() {
        assert_eq!(clip("政务公开", 4), "政务公开");
        assert_eq!(clip("政务公开办公室", 4), "政务公…");
    }
}
