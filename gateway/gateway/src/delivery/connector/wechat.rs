//! The WeChat official-account connector (微信公众号 发布能力): the article
//! goes into the draft box (`draft/add` → `media_id`), is submitted for
//! publication (`freepublish/submit` → `publish_id`), and the result is
//! polled (`freepublish/get`: `publish_status` 0 success with `article_id`
//! and `article_url`, 1 publishing, 2 原创声明失败, 3 常规失败, 4 平台审核不通过,
//! 5 成功后用户删除所有文章, 6 成功后系统封禁所有文章). A withdrawal calls
//! `freepublish/delete` with the `article_id` (irreversible). Polling is the
//! source of truth; the `PUBLISHJOBFINISH` push event is not used.
//!
//! The access token comes from `cgi-bin/stable_token` in normal mode (several
//! gateways get the same token and do not invalidate each other's), cached
//! until shortly before `expires_in`, fetched again once when a call answers
//! 40001/40014/42001.
//!
//! Platform documentation used (developers.weixin.qq.com):
//! - getStableAccessToken: /doc/service/api/base/api_getstableaccesstoken.html
//! - draft_add: /doc/service/api/draftbox/draftmanage/api_draft_add.md
//! - freepublish_submit: /doc/service/api/public/api_freepublish_submit
//!   (also /doc/service/Publish/Publish.html: errcodes 53503–53505)
//! - freepublish_get: /doc/service/api/public/api_freepublish_get
//! - freepublishDelete: /doc/service/api/public/api_freepublishdelete
//! - global error codes (-1, 40001, 42001, 45009, 45011, 48001, 40164): /doc/oplatform/developers/errCode/errCode.html

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use serde_json::{Value, json};

use super::{Connector, ConnectorError, Ids, Log, Post, Publication, clip, exchange};

/// Access tokens per (API base, AppID), until they expire.
#[derive(Debug, Default)]
pub struct Tokens(Mutex<HashMap<String, (String, Instant)>>);

impl Tokens {
    fn get(&self, key: &str) -> Option<String> {
        let map = self.0.lock().unwrap_or_else(|e| e.into_inner());
        map.get(key).filter(|(_, until)| Instant::now() < *until).map(|(t, _)| t.clone())
    }

    fn put(&self, key: String, token: String, until: Instant) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).insert(key, (token, until));
    }

    fn forget(&self, key: &str) {
        self.0.lock().unwrap_or_else(|e| e.into_inner()).remove(key);
    }
}

/// One official account.
pub struct WeChat<'a> {
    http: &'a reqwest::Client,
    base: &'a str,
    app_id: &'a str,
    secret: &'a str,
    cover: Option<&'a str>,
    tokens: &'a Tokens,
    log: &'a Log,
}

/// Token errors: invalid (40001, 40014) or expired (42001).
const TOKEN_ERRORS: [i64; 3] = [40001, 40014, 42001];

impl<'a> WeChat<'a> {
    pub fn new(
        http: &'a reqwest::Client,
        base: &'a str,
        app_id: &'a str,
        secret: &'a str,
        cover: Option<&'a str>,
        tokens: &'a Tokens,
        log: &'a Log,
    ) -> WeChat<'a> {
        WeChat { http, base: base.trim_end_matches('/'), app_id, secret, cover, tokens, log }
    }

    fn key(&self) -> String {
        format!("{}|{}", self.base, self.app_id)
    }

    async fn token(&self) -> Result<String, ConnectorError> {
        if let Some(t) = self.tokens.get(&self.key()) {
            return Ok(t);
        }
        let body = json!({ "grant_type": "client_credential", "appid": self.app_id, "secret": self.secret,
                           "force_refresh": false });
        let request = self.http.post(format!("{}/cgi-bin/stable_token", self.base)).json(&body);
        let v = exchange(self.log, "stable_token", request).await?;
        let Some(token) = v["access_token"].as_str().filter(|t| !t.is_empty()) else {
            return Err(error(&v));
        };
        // Renew a little before the platform's deadline (at most 7200 s).
        let secs = v["expires_in"].as_u64().unwrap_or(7200).saturating_sub(300).max(60);
        self.tokens.put(self.key(), token.to_owned(), Instant::now() + Duration::from_secs(secs));
        Ok(token.to_owned())
    }

    /// POSTs `body` to `cgi-bin/<path>` with the access token; fetches a new
    /// token once when the platform says the token is invalid or expired.
    async fn call(&self, path: &str, body: &Value) -> Result<Value, ConnectorError> {
        for first in [true, false] {
            let token = self.token().await?;
            let request = self
                .http
                .post(format!("{}/cgi-bin/{path}", self.base))
                .query(&[("access_token", token.as_str())])
                .json(body);
            let v = exchange(self.log, path, request).await?;
            let code = v["errcode"].as_i64().unwrap_or(0);
            if code == 0 {
                return Ok(v);
            }
            if first && TOKEN_ERRORS.contains(&code) {
                self.tokens.forget(&self.key());
                continue;
            }
            return Err(error(&v));
        }
        unreachable!("the loop returns on its second pass")
    }

    /// The article (`draft/add` `articles[0]`): the title within 32
    /// characters (in full as the first paragraph when cut), the body as
    /// escaped paragraphs, the digest from the body, the seal serial and
    /// page as a footer, the seal page as 「阅读原文」.
    fn article(&self, post: &Post) -> Value {
        let mut html = String::new();
        if post.title.chars().count() > 32 {
            html.push_str(&format!("<p><strong>{}</strong></p>", escape(&post.title)));
        }
        if let Some(n) = &post.doc_number {
            html.push_str(&format!("<p style=\"text-align:center\">{}</p>", escape(n)));
        }
        for line in post.body.lines().map(str::trim).filter(|l| !l.is_empty()) {
            html.push_str(&format!("<p>{}</p>", escape(line)));
        }
        html.push_str(&format!("<p>本文已经审核并加盖信息公开专用章，专用章编号：{}", escape(&post.serial)));
        if let Some(link) = &post.link {
            html.push_str(&format!("，核验地址：{}", escape(link)));
        }
        html.push_str("。</p>");
        let digest: String = post.body.split_whitespace().collect::<Vec<_>>().join(" ");
        let mut article = json!({
            "article_type": "news",
            "title": clip(&post.title, 32),
            "digest": clip(&digest, 54),
            "content": html,
            "thumb_media_id": self.cover,
            "need_open_comment": 0,
            "only_fans_can_comment": 0,
        });
        if let Some(issuer) = post.issuer.as_deref().filter(|i| i.chars().count() <= 16) {
            article["author"] = json!(issuer);
        }
        if let Some(link) = &post.link {
            article["content_source_url"] = json!(link);
        }
        article
    }
}

impl Connector for WeChat<'_> {
    async fn publish(&self, post: &Post, ids: &mut Ids) -> Result<Publication, ConnectorError> {
        if ids.draft_id.is_none() {
            let v = self.call("draft/add", &json!({ "articles": [self.article(post)] })).await?;
            ids.draft_id = Some(text(&v["media_id"]).ok_or_else(|| missing("draft/add", "media_id"))?);
        }
        if ids.job_id.is_none() {
            let v = self.call("freepublish/submit", &json!({ "media_id": ids.draft_id })).await?;
            ids.job_id = Some(text(&v["publish_id"]).ok_or_else(|| missing("freepublish/submit", "publish_id"))?);
        }
        Ok(Publication::Pending)
    }

    async fn poll(&self, ids: &mut Ids) -> Result<Publication, ConnectorError> {
        let v = self.call("freepublish/get", &json!({ "publish_id": ids.job_id })).await?;
        let status = v["publish_status"].as_i64().ok_or_else(|| missing("freepublish/get", "publish_status"))?;
        if let Some(article) = text(&v["article_id"]) {
            ids.post_id = Some(article);
        }
        if let Some(url) =
            v["article_detail"]["item"].as_array().and_then(|a| a.first()).and_then(|i| text(&i["article_url"]))
        {
            ids.post_url = Some(url);
        }
        let failed_articles = v["fail_idx"]
            .as_array()
            .filter(|a| !a.is_empty())
            .map(|a| format!("（失败文章编号 {}）", a.iter().map(|i| i.to_string()).collect::<Vec<_>>().join("、")));
        let reason = |what: &str| format!("微信公众平台：{what}{}", failed_articles.clone().unwrap_or_default());
        Ok(match status {
            0 if ids.post_id.is_some() => Publication::Published,
            0 => return Err(missing("freepublish/get", "article_id")),
            1 => Publication::Pending,
            2 => Publication::Rejected(reason("原创声明失败，发布未成功")),
            3 => Publication::Rejected(reason("常规失败，发布未成功")),
            4 => Publication::Rejected(reason("平台审核不通过，发布未成功")),
            5 => Publication::Removed(reason("发布成功后文章已被公众号运营者删除")),
            6 => Publication::Removed(reason("发布成功后文章已被平台封禁")),
            other => return Err(ConnectorError::retry(format!("微信返回未知的发布状态 {other}"))),
        })
    }

    async fn delete(&self, ids: &Ids) -> Result<(), ConnectorError> {
        let Some(article) = &ids.post_id else { return Ok(()) };
        // index 0: every article of the post (we publish one).
        self.call("freepublish/delete", &json!({ "article_id": article, "index": 0 })).await?;
        Ok(())
    }
}

/// A string or number field as text (`publish_id` is documented as a string
/// but often sent as a number).
fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn missing(what: &str, field: &str) -> ConnectorError {
    ConnectorError::retry(format!("微信接口 {what} 的回答缺少 {field}"))
}

/// An `errcode` answer: limits and platform trouble are retried; content
/// the platform will never take is refused.
fn error(v: &Value) -> ConnectorError {
    let code = v["errcode"].as_i64().unwrap_or(-2);
    let msg = v["errmsg"].as_str().unwrap_or("");
    let retry = |what: &str, after: Option<u64>| ConnectorError::Retry {
        reason: format!("微信接口：{what}（{code} {msg}）"),
        retry_after: after.map(Duration::from_secs),
    };
    let refused = |what: &str| ConnectorError::Refused(format!("微信公众平台拒绝：{what}（{code} {msg}）"));
    match code {
        -1 => retry("系统繁忙，稍后重试", None),
        45009 => retry("接口调用超过每日限额，稍后重试", Some(3600)),
        45011 => retry("接口调用过于频繁，稍后重试", Some(60)),
        40001 | 40014 | 42001 => retry("access_token 无效或已过期", None),
        40013 | 40125 | 41004 => retry("AppID 或 AppSecret 不正确，请检查端点配置和密钥", None),
        40164 => retry("调用 IP 不在公众号的 IP 白名单中", None),
        48001 => retry("接口未授权：公众号须认证并开通发布能力", None),
        40007 => refused("封面素材 media_id 无效"),
        45002 | 45003 | 45004 | 45110 => refused("正文、标题、摘要或作者超过长度限制"),
        53503 => refused("草稿未通过发布检查"),
        53504 | 53505 => refused("该草稿须在公众平台官网手动处理后才能发表"),
        _ => retry("调用失败", None),
    }
}

/// HTML text escaping for the article body.
fn escape(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for ch in s.chars() {
        match ch {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_article_is_escaped_and_carries_the_serial() {
        let (http, tokens, log) = (reqwest::Client::new(), Tokens::default(), Log::default());
        let k = WeChat::new(&http, "http://x", "wx1", "s", Some("cover"), &tokens, &log);
        let post = Post {
            title: "关于<试行>办法的通知".into(),
            body: "第一段 & 说明\n\n第二段".into(),
            issuer: Some("江城市人民政府办公室".into()),
            doc_number: Some("江政办发〔2025〕3号".into()),
            serial: "321183-2026-000001".into(),
            link: Some("https://gk.example.gov.cn/seal/321183-2026-000001".into()),
        };
        let a = k.article(&post);
        assert_eq!(a["title"], "关于<试行>办法的通知");
        assert_eq!(a["digest"], "第一段 & 说明 第二段");
        assert_eq!(a["thumb_media_id"], "cover");
        assert_eq!(a["content_source_url"], "https://gk.example.gov.cn/seal/321183-2026-000001");
        let html = a["content"].as_str().unwrap();
        assert!(html.contains("<p>第一段 &amp; 说明</p><p>第二段</p>"), "{html}");
        assert!(html.contains("专用章编号：321183-2026-000001"), "{html}");
        assert!(!html.contains("<试行>"));
    }

    #[test]
    fn errcodes_are_retried_or_refused() {
        let e = |code: i64| error(&json!({ "errcode": code, "errmsg": "x" }));
        assert!(
            matches!(e(45009), ConnectorError::Retry { retry_after: Some(d), .. } if d == Duration::from_secs(3600))
        );
        assert!(matches!(e(53503), ConnectorError::Refused(_)));
        assert!(matches!(e(48001), ConnectorError::Retry { .. }));
    }
}
