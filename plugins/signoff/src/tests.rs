//! Data-driven tests of the sign-off rules.

use rulekit::{Approval, ItemExt, Signoff};

use super::*;

fn item(signoff: Option<Signoff>) -> Item {
    let mut it = Item::with_body("s", "各区人民政府：\n现将有关事项通知如下。");
    it.signoff = signoff;
    it.now = "2025-03-10T10:00:00+08:00".into();
    it.content_digest = "sha256:aa".into();
    it
}

fn accepted(name: &str) -> Option<Signoff> {
    Some(Signoff {
        name: name.into(),
        title: "办公室主任".into(),
        statement_accepted: true,
        statement_version: None,
        accepted_at: None,
    })
}

#[track_caller]
fn check(rules: &Rules, it: &Item, want: &[&str]) {
    let got: Vec<String> = rules.review(it).into_iter().map(|f| f.rule_id).collect();
    assert_eq!(got, want, "{it:?}");
}

#[test]
fn signoff_is_required() {
    let r = Rules::default();
    check(&r, &item(accepted("陈立群")), &[]);
    check(&r, &item(None), &["SGN-004"]);
    check(&r, &item(accepted("")), &["SGN-004"]);
    check(&r, &item(accepted(" \u{3000}")), &["SGN-004"]);
    let mut s = accepted("高敏");
    s.as_mut().unwrap().statement_accepted = false;
    check(&r, &item(s), &["SGN-004"]);
    for f in r.review(&item(None)) {
        assert_eq!((f.kind.as_str(), f.field, f.severity), ("signoff_missing", Field::Signoff, Severity::Block));
    }
}

#[test]
fn statement_version_when_configured() {
    let r = Rules::from_config_json(r#"{"current_statement_version": "2025-1"}"#).unwrap();
    let mut s = accepted("陈立群");
    check(&r, &item(s.clone()), &["SGN-004"]);
    s.as_mut().unwrap().statement_version = Some("2024-2".into());
    check(&r, &item(s.clone()), &["SGN-004"]);
    s.as_mut().unwrap().statement_version = Some("2025-1".into());
    check(&r, &item(s), &[]);
}

fn approve(stage: &str, who: &str, digest: &str) -> Approval {
    Approval { stage: stage.into(), reviewer: who.into(), digest: digest.into() }
}

#[test]
fn stages_bound_to_digest_and_distinct() {
    let r = Rules::from_config_json(
        r#"{"required_stages": ["first", "final"], "stages_by_channel": {"wechat": ["second"]},
            "require_secrecy_review": true}"#,
    )
    .unwrap();
    let mut it = item(accepted("陈立群"));
    check(&r, &it, &["SGN-001", "SGN-002"]);
    it.approvals = vec![
        approve("first", "u1", "sha256:aa"),
        approve("secrecy", "u2", "sha256:aa"),
        approve("final", "u3", "sha256:aa"),
    ];
    check(&r, &it, &[]);
    // a new version voids the old approvals
    it.content_digest = "sha256:bb".into();
    let f = r.review(&it);
    assert_eq!(f.iter().map(|f| f.rule_id.as_str()).collect::<Vec<_>>(), ["SGN-001", "SGN-002"]);
    assert!(f[0].message.contains("旧版本"), "{}", f[0].message);
    // new media need 复审 too
    it.content_digest = "sha256:aa".into();
    it.channels = vec!["wechat".into()];
    check(&r, &it, &["SGN-001"]);
    // one person may not fill two stages
    it.approvals.push(approve("second", "u1", "sha256:aa"));
    let f = r.review(&it);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("同一人"), "{}", f[0].message);
    // stage rules are off by default
    check(&Rules::default(), &item(accepted("陈立群")), &[]);
}

#[test]
fn backdated_publication_dates() {
    let r = Rules::from_config_json(r#"{"check_backdating": true}"#).unwrap();
    for (body, want) in [
        ("发布日期：2025-03-01\n正文", &["SGN-003"][..]),
        ("发布时间：2025年3月9日\n正文", &["SGN-003"]),
        ("发布日期：2025年3月10日\n正文", &[]),
        ("发布日期：2025-03-12\n正文", &[]),
        ("成文日期：2025年1月2日\n正文", &[]),
        ("正文。\n2025年1月2日", &[]),
    ] {
        let mut it = item(accepted("陈立群"));
        it.body = body.into();
        check(&r, &it, want);
    }
    let mut it = item(accepted("陈立群"));
    it.body = "发布日期：2025-03-01".into();
    let f = r.review(&it);
    assert_eq!(&it.body[f[0].span.unwrap().range()], "发布日期：2025-03-01");
    assert!(Rules::from_config_json(r#"{"required_stage": []}"#).is_err());
    // off by default
    assert!(Rules::default().review(&it).is_empty());
}

#[test]
fn keeps_the_contract() {
    rulekit::check_contract::<Rules>();
}
