//! Data-driven tests of the attribute rules: one `check` per case, listing
//! the (rule, kind) pairs expected.

use super::*;
use rulekit::FindingExt;

fn item(f: impl FnOnce(&mut Item)) -> Item {
    let mut it = Item::with_body("t", "各区人民政府：\n现将有关事项通知如下。\n（此件公开发布）");
    it.title = "关于做好有关工作的通知".into();
    it.now = "2025-03-10T10:00:00+08:00".into();
    f(&mut it);
    it
}

fn calendar_rules() -> Rules {
    let mut cal = Calendar::from_toml(include_str!("../../../policies/calendar/2025.toml")).unwrap();
    cal.add_toml(include_str!("../../../policies/calendar/2026.toml")).unwrap();
    Rules::with_calendar(cal)
}

#[track_caller]
fn check(it: Item, want: &[(&str, &str)]) {
    let got: Vec<(String, String)> = calendar_rules().review(&it).into_iter().map(|f| (f.rule_id, f.kind)).collect();
    let want: Vec<(String, String)> = want.iter().map(|(r, k)| (r.to_string(), k.to_string())).collect();
    assert_eq!(got, want, "item {it:?}");
}

const REASON: &str = "属于内部事务信息（《中华人民共和国政府信息公开条例》第十六条第一款）";

#[test]
fn clean_public_notice_passes() {
    check(item(|_| {}), &[]);
}

#[test]
fn non_public_to_public_channels_conflicts() {
    for (attr, channels) in [
        ("withheld", vec!["website"]),
        ("on_request", vec!["website", "wechat"]),
        ("on-request", vec!["weibo"]),
        ("withheld", vec!["applicant", "wechat"]),
    ] {
        check(
            item(|it| {
                it.attribute = attr.into();
                it.attribute_reason = Some(REASON.into());
                it.channels = channels.iter().map(|c| c.to_string()).collect();
                it.body = "请于1月10日前报送。".into();
            }),
            &[("ATTR-001", "attribute_conflict")],
        );
    }
    // to the applicant only, or nowhere: consistent
    for channels in [vec![], vec!["applicant"]] {
        check(
            item(|it| {
                it.attribute = "on_request".into();
                it.attribute_reason = Some(REASON.into());
                it.channels = channels.iter().map(|c| c.to_string()).collect();
                it.body = "请于1月10日前报送。".into();
            }),
            &[],
        );
    }
}

#[test]
fn blank_reasons_are_missing() {
    for reason in [None, Some(""), Some("   "), Some("无"), Some("暂无。")] {
        check(
            item(|it| {
                it.attribute = "withheld".into();
                it.attribute_reason = reason.map(str::to_string);
                it.channels = vec![];
                it.body = "会议研究了有关事项。".into();
            }),
            &[("ATTR-002", "reason_missing")],
        );
    }
    // a reply without a reason, too
    check(
        item(|it| {
            it.kind = "reply".into();
            it.attribute = "on_request".into();
            it.channels = vec!["applicant".into()];
            it.body = "经检索……".into();
        }),
        &[("ATTR-002", "reason_missing")],
    );
}

#[test]
fn reasons_need_a_legal_ground() {
    for (reason, want) in [
        ("仅供系统内部参考", &[("ATTR-008", "legal_basis_missing")][..]),
        ("暂不宜公开", &[("ATTR-008", "legal_basis_missing")]),
        ("涉及人事调整，暂不公开", &[]),
        ("属于过程性信息，方案未定稿", &[]),
        ("涉及第三方商业秘密，第三方不同意公开", &[]),
        ("涉及个人隐私（条例第十五条）", &[]),
        ("依據條例第十四條", &[]),
    ] {
        check(
            item(|it| {
                it.attribute = "withheld".into();
                it.attribute_reason = Some(reason.into());
                it.channels = vec![];
                it.body = "会议研究了有关事项。".into();
            }),
            want,
        );
    }
    // a separate legal-basis field is enough
    check(
        item(|it| {
            it.attribute = "withheld".into();
            it.attribute_reason = Some("不宜公开".into());
            it.legal_basis = Some("《政府信息公开条例》第十六条第二款".into());
            it.channels = vec![];
            it.body = "会议研究了有关事项。".into();
        }),
        &[],
    );
}

#[test]
fn annotations_must_agree() {
    for (body, want) in [
        ("春节将至，请做好工作。\n2025年1月15日\n（此件不予公开）", &[("ATTR-003", "attribute_conflict")][..]),
        ("正文。\n（此件不公开）", &[("ATTR-003", "attribute_conflict")]),
        ("正文。\n(内部发行)", &[("ATTR-003", "attribute_conflict")]),
        ("正文。\n（此件依申请公开）", &[("ATTR-003", "attribute_conflict")]),
        ("正文。\n（此件不予公開）", &[("ATTR-003", "attribute_conflict")]),
        ("正文。\n（此件仅供内部使用）", &[("ATTR-003", "attribute_conflict")]),
        ("正文。\n2025年1月15日\n此件不予公开", &[("ATTR-003", "attribute_conflict")]),
        ("正文。\n（此件公开发布）", &[]),
        ("正文。\n（此件主动公开）", &[]),
        ("对依法不予公开的信息，应说明理由。", &[]),
    ] {
        check(item(|it| it.body = body.into()), want);
    }
    // the reverse: a withheld item annotated as published
    check(
        item(|it| {
            it.attribute = "withheld".into();
            it.attribute_reason = Some(REASON.into());
            it.channels = vec![];
            it.body = "正文。\n（此件公开发布）".into();
        }),
        &[("ATTR-003", "attribute_conflict")],
    );
}

#[test]
fn markings_conflict_unless_withheld() {
    for (attr, body, want) in [
        ("public", "秘密★1年\n各区人民政府：\n通知如下。", &[("ATTR-003", "attribute_conflict")][..]),
        ("public", "機密★5年\n各鄉鎮：", &[("ATTR-003", "attribute_conflict")]),
        ("public", "内部资料　注意保密\n各区：", &[("ATTR-003", "attribute_conflict")]),
        ("public", "凡涉及国家秘密、商业秘密的，依法不予公开。没有什么秘密可言。", &[]),
        ("public", "加强内部审计工作，健全内部控制制度。", &[]),
        ("on_request", "本件密级：机密★10年\n市政府：", &[("ATTR-003", "attribute_conflict")]),
        ("withheld", "秘密★1年\n市委保密委员会：", &[]),
    ] {
        check(
            item(|it| {
                it.attribute = attr.into();
                it.attribute_reason = Some(REASON.into());
                it.channels = if attr == "public" { vec!["website".into()] } else { vec![] };
                it.body = body.into();
            }),
            want,
        );
    }
}

#[test]
fn prior_classification_findings_are_used() {
    let mut it = item(|it| it.body = "绝 密\n各区：".into());
    check(it.clone(), &[]);
    it.prior_findings
        .push(Finding::new("SEC-002", "classification_marker", Severity::Block, Field::Body, "m").at(0.."绝 密".len()));
    let f = calendar_rules().review(&it);
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("“绝 密”"), "{}", f[0].message);
}

#[test]
fn process_information_cues() {
    for (title, body, want) in [
        (
            "关于申请追加2025年专项经费的请示",
            "市政府：现就有关事项请示如下。",
            &[("ATTR-004", "process_information")][..],
        ),
        ("江城市物业管理办法（送审稿）", "第一条 ……", &[("ATTR-004", "process_information")]),
        ("局长办公会议记录", "会议研究了……", &[("ATTR-004", "process_information")]),
        // the word 请示 in a published 批复 is fine
        (
            "关于同意设立江城市东湖区社区卫生服务中心的批复",
            "你局《关于设立社区卫生服务中心的请示》收悉。经研究，同意设立。",
            &[],
        ),
        ("关于东湖区请示事项的批复", "你区请示收悉。", &[]),
        // a draft put out for public consultation is meant to be public
        ("江城市养犬管理条例（征求意见稿）", "现向社会公开征求意见，公众可于3月5日前反馈。", &[]),
        ("关于城区供水管网改造方案的征求意见稿", "送你单位征求意见。", &[("ATTR-004", "process_information")]),
    ] {
        check(
            item(|it| {
                it.title = title.into();
                it.body = body.into();
            }),
            want,
        );
    }
}

#[test]
fn reply_letters_kept_from_public() {
    check(
        item(|it| {
            it.title = "关于江城市城东片区控制性详细规划调整的批复".into();
            it.attribute = "withheld".into();
            it.attribute_reason = Some(REASON.into());
            it.channels = vec![];
            it.body = "你局请示收悉。经研究，同意调整。".into();
        }),
        &[("ATTR-005", "should_be_public")],
    );
    // a letter on an internal matter may stay withheld
    check(
        item(|it| {
            it.title = "关于局机关办公用房调配的复函".into();
            it.attribute = "withheld".into();
            it.attribute_reason = Some(REASON.into());
            it.channels = vec![];
            it.body = "你处来函收悉。同意调配。".into();
        }),
        &[],
    );
}

#[test]
fn downgrades() {
    for (sup, attr, want) in [
        ("public", "on_request", &[("ATTR-007", "attribute_downgrade")][..]),
        ("public", "withheld", &[("ATTR-007", "attribute_downgrade")]),
        ("public", "public", &[]),
        ("on_request", "on_request", &[]),
        ("on-request", "withheld", &[]),
    ] {
        check(
            item(|it| {
                it.superior = Some(rulekit::SuperiorRef {
                    doc_number: Some("苏政办发〔2025〕12号".into()),
                    issuer: None,
                    attribute: sup.into(),
                });
                it.attribute = attr.into();
                it.attribute_reason = Some(REASON.into());
                it.channels = if attr == "public" { vec!["website".into()] } else { vec![] };
                it.body = "现将有关文件转发给你们。".into();
            }),
            want,
        );
    }
    // downgraded, no reason, and sent to the website by default
    check(
        item(|it| {
            it.superior = Some(rulekit::SuperiorRef { doc_number: None, issuer: None, attribute: "public".into() });
            it.attribute = "withheld".into();
            it.body = "现将有关文件转发给你们。".into();
        }),
        &[("ATTR-001", "attribute_conflict"), ("ATTR-002", "reason_missing"), ("ATTR-007", "attribute_downgrade")],
    );
}

#[test]
fn publication_clock_uses_the_holiday_calendar() {
    for (formed, now, want) in [
        // 20 working days after 2025-01-20 is 2025-02-21 (春节, make-up days)
        ("2025-01-20T09:00:00+08:00", "2025-02-21T18:00:00+08:00", &[][..]),
        ("2025-01-20T09:00:00+08:00", "2025-02-24T09:00:00+08:00", &[("ATTR-006", "publication_late")]),
        // on plain weekdays the deadline would have been 2025-02-17
        ("2025-01-20", "2025-02-18T09:00:00+08:00", &[]),
        ("2024-12-20", "2025-02-18T09:00:00+08:00", &[("ATTR-006", "publication_late")]),
    ] {
        check(
            item(|it| {
                it.formed_at = Some(formed.into());
                it.now = now.into();
            }),
            want,
        );
    }
    // Without a calendar the rule stays silent. Past the calendar's end
    // (2025 and 2026 configured) the deadline is computed on weekdays minus
    // the fixed statutory days and marked 暂定: from 2027-01-04, 1-5..8 (4),
    // then four full weeks to 2-1 (20); 20 working days late on 3-1.
    let it = item(|it| {
        it.formed_at = Some("2027-01-04".into());
        it.now = "2027-03-01T09:00:00+08:00".into();
    });
    assert!(Rules::default().review(&it).is_empty());
    let f = calendar_rules().review(&it);
    assert_eq!(f.len(), 1);
    assert_eq!(f[0].severity, Severity::Warn);
    assert!(f[0].message.contains("即2027-02-01前"), "{}", f[0].message);
    assert!(f[0].message.contains("逾期20个工作日（暂定"), "{}", f[0].message);
    // In time by the provisional deadline: nothing.
    let early = item(|it| {
        it.formed_at = Some("2027-01-04".into());
        it.now = "2027-02-01T18:00:00+08:00".into();
    });
    assert!(calendar_rules().review(&early).is_empty());
    // A provisional year as configured: 春节 2027-02-05..08 is known.
    let mut cal = Calendar::from_toml(include_str!("../../../policies/calendar/2026.toml")).unwrap();
    cal.add_toml(include_str!("../../../policies/calendar/2027.toml")).unwrap();
    let late = item(|it| {
        it.formed_at = Some("2027-01-25".into());
        it.now = "2027-02-25T09:00:00+08:00".into();
    });
    // 1-26..29 (4), 2-1..4 (8), 2-5..8 off, 2-9..12 (12), 2-15..19 (17), 2-22 (18), 2-23 (19), 2-24 (20).
    let f = Rules::with_calendar(cal).review(&late);
    assert_eq!(f.len(), 1, "{f:?}");
    assert!(f[0].message.contains("即2027-02-24前") && f[0].message.contains("暂定"), "{}", f[0].message);
}

#[test]
fn missing_attribute_blocks() {
    check(item(|it| it.attribute = "".into()), &[("ATTR-009", "attribute_missing")]);
}

#[test]
fn configuration() {
    let toml_year: toml::Value = toml::from_str(include_str!("../../../policies/calendar/2025.toml")).unwrap();
    let json =
        serde_json::json!({"calendar": [toml_year], "publication_working_days": 15, "private_channels": ["applicant"]});
    let rules = Rules::from_config_json(&json.to_string()).unwrap();
    assert_eq!(rules.publication_working_days, 15);
    assert!(Rules::from_config_json("").is_ok());
    assert!(Rules::from_config_json(r#"{"calender": []}"#).is_err());
    assert!(Rules::from_config_json(r#"{"publication_working_days": 0}"#).is_err());
    let schema: serde_json::Value = serde_json::from_str(CONFIG_SCHEMA).unwrap();
    assert_eq!(schema["type"], "object");
    for r in RULES {
        assert!(
            ["attribute_conflict", "attribute_downgrade", "reason_missing"].contains(&r.kind)
                || EXTRA_KINDS.contains(&r.kind),
            "{} has an undeclared kind",
            r.id
        );
    }
}

#[test]
fn messages_are_chinese_and_cite_a_basis() {
    let it = item(|it| {
        it.attribute = "withheld".into();
        it.title = "关于某事项的复函".into();
        it.body = "秘密★1年\n正文\n（此件公开发布）".into();
        it.superior = Some(rulekit::SuperiorRef { doc_number: None, issuer: None, attribute: "public".into() });
    });
    let f = calendar_rules().review(&it);
    assert!(f.len() >= 4, "{f:?}");
    for f in f {
        assert!(f.message.contains("依据"), "{}", f.message);
        assert!(f.message.chars().any(|c| ('\u{4e00}'..='\u{9fff}').contains(&c)));
    }
}

#[test]
fn keeps_the_contract() {
    rulekit::check_contract::<Rules>();
}
