//! What changed in a version's header fields, field by field and in the
//! office's words (标题 and 正文 have their own text diff): `发文字号：
//! 江民发〔2026〕3号 → 江民发〔2026〕5号`, channels by their names,
//! attachments by file name (added and removed), never the canonical JSON.

use super::{FLAGS, channel_label};
use crate::model::VersionContent;

/// One header field that differs between two versions.
pub struct HeaderChange {
    pub label: &'static str,
    pub before: String,
    pub after: String,
}

fn text(v: Option<&str>) -> String {
    v.map_or_else(|| "（空）".to_owned(), str::to_owned)
}

fn list(values: impl Iterator<Item = String>) -> String {
    let joined = values.collect::<Vec<_>>().join("、");
    if joined.is_empty() { "（无）".to_owned() } else { joined }
}

fn flag_label(flag: &str) -> String {
    FLAGS.iter().find(|(f, _)| *f == flag).map_or_else(|| flag.to_owned(), |(_, l)| (*l).to_owned())
}

/// The header fields of `new` that differ from `old`, in the form's order.
pub fn header_changes(old: &VersionContent, new: &VersionContent) -> Vec<HeaderChange> {
    let mut out = Vec::new();
    let mut push = |label, before: String, after: String| {
        if before != after {
            out.push(HeaderChange { label, before, after });
        }
    };
    push("类型", old.kind.label().to_owned(), new.kind.label().to_owned());
    push("发文字号", text(old.doc_number.as_deref()), text(new.doc_number.as_deref()));
    push("发文机关", text(old.issuer.as_deref()), text(new.issuer.as_deref()));
    push("公开属性", old.attribute.label().to_owned(), new.attribute.label().to_owned());
    push("不公开或依申请公开的理由", text(old.attribute_reason.as_deref()), text(new.attribute_reason.as_deref()));
    push("法律依据", text(old.legal_basis.as_deref()), text(new.legal_basis.as_deref()));
    let superior = |c: &VersionContent| {
        c.superior.as_ref().map_or_else(
            || "（无）".to_owned(),
            |s| {
                let number = s.doc_number.as_deref().unwrap_or("（无文号）");
                let issuer = s.issuer.as_deref().unwrap_or("（未填机关）");
                format!("{issuer} {number}（{}）", s.attribute.label())
            },
        )
    };
    push("上级文件", superior(old), superior(new));
    push(
        "所解读的政策",
        old.interprets.map_or_else(|| "（无）".to_owned(), |i| i.to_string()),
        new.interprets.map_or_else(|| "（无）".to_owned(), |i| i.to_string()),
    );
    push(
        "发布渠道",
        list(old.channels.iter().map(|c| channel_label(c))),
        list(new.channels.iter().map(|c| channel_label(c))),
    );
    push("形成日期", text(old.formed_at.as_deref()), text(new.formed_at.as_deref()));
    push("标记", list(old.flags.iter().map(|f| flag_label(f))), list(new.flags.iter().map(|f| flag_label(f))));
    // Attachments by file name: what was added and removed (a file
    // replaced under the same name counts as both).
    let names = |c: &VersionContent| c.attachments.iter().map(|a| a.name.clone()).collect::<Vec<_>>();
    if old.attachments != new.attachments {
        let removed: Vec<String> =
            old.attachments.iter().filter(|a| !new.attachments.contains(a)).map(|a| a.name.clone()).collect();
        let added: Vec<String> =
            new.attachments.iter().filter(|a| !old.attachments.contains(a)).map(|a| a.name.clone()).collect();
        let mut after = Vec::new();
        if !added.is_empty() {
            after.push(format!("新增 {}", added.join("、")));
        }
        if !removed.is_empty() {
            after.push(format!("删除 {}", removed.join("、")));
        }
        if added.is_empty() && removed.is_empty() {
            after.push("调整了顺序".to_owned());
        }
        out.push(HeaderChange {
            label: "附件",
            before: list(names(old).into_iter()),
            after: format!("{}（{}）", list(names(new).into_iter()), after.join("；")),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::tests::sample;
    use crate::model::{AttachmentRef, Attribute};

    fn attachment(name: &str, byte: u8) -> AttachmentRef {
        let digest = format!("sha256:{}", hex::encode([byte; 32]));
        AttachmentRef { name: name.into(), digest: digest.parse().unwrap(), media_type: "text/plain".into(), size: 1 }
    }

    #[test]
    fn header_fields_are_compared_in_the_offices_words() {
        let old = sample();
        let mut new = old.clone();
        assert!(header_changes(&old, &new).is_empty());
        new.doc_number = Some("江民发〔2026〕5号".into());
        new.attribute = Attribute::OnRequest;
        new.channels = vec!["website".into(), "wechat".into()];
        new.attachments = vec![attachment("名单.xlsx", 1)];
        let changes = header_changes(&old, &new);
        let shown: Vec<String> = changes.iter().map(|c| format!("{}：{} → {}", c.label, c.before, c.after)).collect();
        let all = shown.join("\n");
        assert!(all.contains("发文字号："), "{all}");
        assert!(all.contains("江民发〔2026〕5号"), "{all}");
        assert!(all.contains("公开属性：主动公开 → 依申请公开"), "{all}");
        assert!(all.contains("微信公众号"), "{all}");
        assert!(all.contains("附件：（无） → 名单.xlsx（新增 名单.xlsx）"), "{all}");
        for raw in ["sha256:", "{", "\"", "on_request", "wechat"] {
            assert!(!all.contains(raw), "{raw:?} in {all}");
        }
    }
}
