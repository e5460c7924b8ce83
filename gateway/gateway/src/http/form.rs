//! The printable 审批表 / 保密审查单 of an item, generated from the audit
//! chain and the workflow records ("保存备查"): what was reviewed (title,
//! 发文字号, attribute, content digest), every stage with who decided what
//! and when, waivers, overrides, the sign-off statement, and the audit
//! events with their hashes, so a paper copy can be checked against the
//! chain. Plain HTML with print styles; no script.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use axum::extract::{Path, State};
use axum::response::Html;

use super::items::{parse_item_id, readable_item};
use super::{ApiError, AppState, Auth};
use crate::model::UserId;
use crate::workflow::VoteValue;

/// HTML-escapes text.
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
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

/// The 审批表 of an item's current version, for printing.
#[utoipa::path(get, path = "/api/v1/items/{id}/form", tag = "workflow", params(("id" = String, Path)),
    responses((status = 200, content_type = "text/html", description = "审批表 / 保密审查单"), (status = 404, body = super::Problem)))]
pub async fn approval_form(
    State(state): State<AppState>,
    auth: Auth,
    Path(id): Path<String>,
) -> Result<Html<String>, ApiError> {
    let id = parse_item_id(&id)?;
    readable_item(&state, &auth, id).await?;
    let ctx = state.db.workflow_context(id).await?;
    let evaluation = ctx.evaluate(&state.workflow);
    let (_, approvals_digest) = ctx.approval_record(&evaluation);
    let names: BTreeMap<UserId, String> =
        state.db.users().await?.into_iter().map(|u| (u.id, format!("{}（{}）", u.display_name, u.username))).collect();
    let name = |u: &UserId| names.get(u).cloned().unwrap_or_else(|| u.to_string());
    let c = &ctx.version.content;
    let mut h = String::new();
    let _ = write!(
        h,
        r#"<!doctype html><html lang="zh-CN"><head><meta charset="utf-8"><title>审批表 — {title}</title>
<style>
body{{font-family:"Noto Serif CJK SC","Songti SC",serif;margin:2em;color:#000}}
h1{{text-align:center;font-size:1.6em;letter-spacing:.3em}}
table{{width:100%;border-collapse:collapse;margin:1em 0}}
th,td{{border:1px solid #000;padding:.4em .6em;vertical-align:top;text-align:left}}
th{{width:9em;background:#f2f2f2}}
code{{font-size:.8em;word-break:break-all}}
.note{{font-size:.85em;color:#333}}
@media print{{body{{margin:0}} th{{background:none}} a{{color:#000;text-decoration:none}}}}
</style></head><body>
<h1>政府信息公开审批表（含保密审查单）</h1>
<table>
<tr><th>标题</th><td>{title}</td></tr>
<tr><th>发文字号</th><td>{doc}</td></tr>
<tr><th>发布机关</th><td>{issuer}</td></tr>
<tr><th>公开属性</th><td>{attr}{reason}</td></tr>
<tr><th>发布渠道</th><td>{channels}</td></tr>
<tr><th>版本</th><td>第 {version} 版，内容摘要 <code>{digest}</code></td></tr>
<tr><th>当前状态</th><td>{state}</td></tr>
<tr><th>审批记录摘要</th><td><code>{approvals}</code></td></tr>
</table>
<h2>审核环节</h2>
<table><tr><th>环节</th><th>结论</th><th>审核人与意见</th></tr>
"#,
        title = esc(&c.title),
        doc = esc(c.doc_number.as_deref().unwrap_or("—")),
        issuer = esc(c.issuer.as_deref().unwrap_or("—")),
        attr = c.attribute.label(),
        reason = c
            .attribute_reason
            .as_deref()
            .map(|r| format!("（理由：{}；依据：{}）", esc(r), esc(c.legal_basis.as_deref().unwrap_or("—"))))
            .unwrap_or_default(),
        channels = esc(&c.channels.join("、")),
        version = ctx.version.version,
        digest = ctx.version.content_digest,
        state = ctx.item.state.label(),
        approvals = approvals_digest,
    );
    for r in &evaluation.requirements {
        let mut cell = String::new();
        // Votes of this version by people who may still decide (a lifted one
        // is shown as lifted); see `Snapshot::counts`.
        let votes = ctx.snapshot.votes.iter().filter(|v| ctx.snapshot.counts(v.user, v.version, &v.digest));
        for v in votes.filter(|v| v.stage == r.stage) {
            let verb = match v.value {
                VoteValue::Approve => "同意",
                VoteValue::Changes => "要求修改",
                VoteValue::Block => "拦截",
            };
            let _ = write!(cell, "{}　{}　{}", esc(&name(&v.user)), verb, v.created_at);
            if let Some(comment) = &v.comment {
                let _ = write!(cell, "：{}", esc(comment));
            }
            if let Some(lifted) = v.lifted_at {
                let _ = write!(cell, "（已于 {lifted} 撤销）");
            }
            if let Some(s) = &v.signoff {
                let _ = write!(
                    cell,
                    "<br><span class=note>签发声明 {} 第 {} 版（已再次验证密码）：{}</span>",
                    esc(s["statement_id"].as_str().unwrap_or("")),
                    esc(s["statement_version"].as_str().unwrap_or("")),
                    esc(&state.workflow.statement.text),
                );
            }
            cell.push_str("<br>");
        }
        for o in ctx.snapshot.current_overrides().filter(|o| o.stage == r.stage) {
            let _ = write!(
                cell,
                "越级通过：{}（{}）　{}：{}<br>",
                esc(&name(&o.user)),
                o.role.label(),
                o.created_at,
                esc(&o.reason)
            );
        }
        let _ = writeln!(h, "<tr><td>{}</td><td>{}</td><td>{}</td></tr>", esc(&r.label), r.status.label(), cell);
    }
    h.push_str("</table>\n");
    if !ctx.waivers.is_empty() {
        h.push_str("<h2>豁免的阻断级问题</h2><table><tr><th>规则</th><th>豁免人</th><th>理由</th></tr>\n");
        for w in &ctx.waivers {
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}（{}）{}</td><td>{}</td></tr>",
                esc(&w.rule_id),
                esc(&name(&w.user_id)),
                w.role.label(),
                w.created_at,
                esc(&w.reason)
            );
        }
        h.push_str("</table>\n");
    }
    h.push_str("<h2>审计记录</h2><table><tr><th>序号</th><th>时间 / 操作 / 人员</th></tr>\n");
    for e in state.db.audit_events(Some(id), 0, 10_000).await? {
        let actor = e.actor_id.as_deref().and_then(|a| a.parse().ok()).map_or_else(|| "系统".to_owned(), |u| name(&u));
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td>{}　{}　{}<br><code>{}</code></td></tr>",
            e.seq,
            esc(&e.at),
            esc(&e.action),
            esc(&actor),
            esc(&e.hash)
        );
    }
    h.push_str("</table><p class=note>本表由发布审核网关根据审计链生成；各记录的哈希可用 <code>gateway audit verify</code> 核验。</p></body></html>\n");
    Ok(Html(h))
}
