//! The Weibo connector (微博开放平台 v2): a publication is a status that
//! shares a link to the item's seal page (`statuses/share`, which requires
//! a URL in the app's authorised domain and at most 140 characters, no
//! `#话题#`); a withdrawal deletes it (`statuses/destroy`, own statuses
//! only); a live status is rechecked with `statuses/show` (error 20101:
//! the status no longer exists). The OAuth2 access token is the endpoint's
//! secret: Weibo has no client-credential refresh, so an expired token is a
//! retry with a message until an operator renews it.
//!
//! Platform documentation used (open.weibo.com/wiki): 2/statuses/share,
//! 2/statuses/destroy, 2/statuses/show, Error_code (error JSON
//! `{"error", "error_code", "request"}`; 10022–10024 and 20016 rate
//! limits, 20019 repeated content, 20012 text too long, 20021 illegal
//! content, 20101 target status does not exist, 21314–21332 token
//! problems).

use std::time::Duration;

use serde_json::Value;

use super::{Connector, ConnectorError, Ids, Log, Post, Publication, clip, exchange};

/// The status text limit, in characters (the link counted in full, which
/// is safe: Weibo counts a shortened link as less).
const LIMIT: usize = 140;

/// Error 20101: the target status does not exist.
const NO_SUCH_STATUS: i64 = 20101;

/// One Weibo account.
pub struct Weibo<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    token: &'a str,
    log: &'a Log,
}

impl<'a> Weibo<'a> {
    pub fn new(http: &'a reqwest::Client, base: &'a str, token: &'a str, log: &'a Log) -> Weibo<'a> {
        Weibo { http, base: base.trim_end_matches('/'), token, log }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/2/{path}.json", self.base)
    }

    /// The token goes in the `Authorization` header (Weibo's OAuth2
    /// form), never in a URL or form that could be logged.
    fn authorization(&self) -> String {
        format!("OAuth2 {}", self.token)
    }

    fn post(&self, path: &str) -> reqwest::RequestBuilder {
        self.http.post(self.url(path)).header("authorization", self.authorization())
    }
}

/// The status text: 【title】, the start of the body, the seal serial and
/// the link, within [`LIMIT`]; `#` is dropped (it would make a topic).
pub fn status_text(post: &Post, link: &str) -> String {
    let clean = |s: &str| s.replace(['#', '\n'], " ").split_whitespace().collect::<Vec<_>>().join(" ");
    let tail = format!(" 专用章{} {link}", post.serial);
    let room = LIMIT.saturating_sub(tail.chars().count());
    let title = clip(&format!("【{}】", clean(&post.title)), room);
    let room = room.saturating_sub(title.chars().count());
    let body = if room > 1 { clip(&clean(&post.body), room) } else { String::new() };
    format!("{title}{body}{tail}")
}

impl Connector for Weibo<'_> {
    async fn publish(&self, post: &Post, ids: &mut Ids) -> Result<Publication, ConnectorError> {
        if ids.post_id.is_some() {
            return Ok(Publication::Published);
        }
        let Some(link) = &post.link else {
            return Err(ConnectorError::Refused("微博须分享专用章公示页链接，但端点未配置 link_template".into()));
        };
        let form = [("status", status_text(post, link))];
        let v = answer(exchange(self.log, "statuses/share", self.post("statuses/share").form(&form)).await?)?;
        let id = v["idstr"].as_str().map(str::to_owned).or_else(|| v["id"].as_u64().map(|n| n.to_string()));
        let id = id.ok_or_else(|| ConnectorError::retry("微博接口 statuses/share 的回答缺少 idstr"))?;
        ids.post_url = Some(format!("https://m.weibo.cn/status/{id}"));
        ids.post_id = Some(id);
        Ok(Publication::Published)
    }

    async fn poll(&self, ids: &mut Ids) -> Result<Publication, ConnectorError> {
        let Some(id) = ids.post_id.as_deref() else { return Ok(Publication::Pending) };
        let request =
            self.http.get(self.url("statuses/show")).header("authorization", self.authorization()).query(&[("id", id)]);
        let v = exchange(self.log, "statuses/show", request).await?;
        if v["error_code"].as_i64() == Some(NO_SUCH_STATUS) {
            return Ok(Publication::Removed("微博：该微博已不存在（已被删除或屏蔽）".into()));
        }
        answer(v).map(|_| Publication::Published)
    }

    async fn delete(&self, ids: &Ids) -> Result<(), ConnectorError> {
        let Some(id) = ids.post_id.as_deref() else { return Ok(()) };
        let v = exchange(self.log, "statuses/destroy", self.post("statuses/destroy").form(&[("id", id)])).await?;
        if v["error_code"].as_i64() == Some(NO_SUCH_STATUS) {
            // Already gone: the removal we want.
            return Ok(());
        }
        answer(v).map(|_| ())
    }
}

/// A Weibo answer: the status, or its error.
fn answer(v: Value) -> Result<Value, ConnectorError> {
    let Some(code) = v["error_code"].as_i64() else { return Ok(v) };
    let msg = v["error"].as_str().unwrap_or("");
    let retry = |what: &str, after: Option<u64>| ConnectorError::Retry {
        reason: format!("微博接口：{what}（{code} {msg}）"),
        retry_after: after.map(Duration::from_secs),
    };
    let refused = |what: &str| ConnectorError::Refused(format!("微博拒绝发布：{what}（{code} {msg}）"));
    Err(match code {
        10022..=10024 | 20016 => retry("调用或发布过于频繁，稍后重试", Some(600)),
        21314..=21319 | 21327 | 21332 => retry("访问令牌无效或已过期，请重新授权并更新密钥", None),
        20017 | 20019 => refused("内容与已发微博重复"),
        20012 | 20013 => refused("文本超过长度限制"),
        20021 => refused("内容含有非法网址或不被允许的内容"),
        _ => retry("调用失败", None),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_status_fits_and_keeps_the_link_and_serial() {
        let link = "https://gk.example.gov.cn/seal/321183-2026-000001";
        let post = Post {
            title: "关于#开展#政务公开培训的通知".into(),
            body: "各区、各部门：\n".repeat(40),
            serial: "321183-2026-000001".into(),
            ..Post::default()
        };
        let s = status_text(&post, link);
        assert!(s.chars().count() <= LIMIT, "{} {s}", s.chars().count());
        assert!(s.starts_with("【关于 开展 政务公开培训的通知】各区、各部门："), "{s}");
        assert!(s.ends_with(&format!(" 专用章321183-2026-000001 {link}")), "{s}");
        assert!(!s.contains('#'));
    }

    #[test]
    fn errors_are_retried_or_refused() {
        let e = |code: i64| answer(serde_json::json!({ "error": "x", "error_code": code, "request": "/2/x.json" }));
        assert!(matches!(e(20019), Err(ConnectorError::Refused(_))));
        assert!(matches!(e(10023), Err(ConnectorError::Retry { retry_after: Some(_), .. })));
        assert!(matches!(e(21327), Err(ConnectorError::Retry { retry_after: None, .. })));
        assert!(answer(serde_json::json!({ "idstr": "1" })).is_ok());
    }
}
