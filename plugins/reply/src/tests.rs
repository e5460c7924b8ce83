//! Data-driven tests of the reply rules.

use super::*;
use rulekit::ItemExt;

const SEARCH: &str = "经查询本局公文管理系统和档案室存档资料，";
const BASIS: &str = "根据《中华人民共和国政府信息公开条例》第三十六条第（二）项的规定，现将该信息提供给您。";
const REMEDY: &str = "如不服本答复，可在收到本答复之日起六十日内向青州市人民政府申请行政复议，也可在六个月内向青州市人民法院提起行政诉讼。";

fn reply(body: &str) -> Item {
    let mut it = Item::with_body("r", body);
    it.kind = "reply".into();
    it.attribute = "on_request".into();
    it.channels = vec!["applicant".into()];
    it
}

#[track_caller]
fn check(body: &str, want: &[&str]) {
    let got: Vec<String> = Rules::default().review(&reply(body)).into_iter().map(|f| f.rule_id).collect();
    assert_eq!(got, want, "{body}");
    for f in Rules::default().review(&reply(body)) {
        assert!(f.kind == "reply_incomplete" || f.kind == "remedy_organ_missing", "{}", f.kind);
        assert_eq!(f.field, Field::Body);
        assert!(f.message.contains("依据") || f.message.contains("第三十六条"), "{}", f.message);
    }
}

#[test]
fn a_template_placeholder_left_in_blocks_at_its_place() {
    let body = format!(
        "张某：\n{SEARCH}（【写明检索的范围、方式和结果】）该信息由本局制作。{BASIS}\n如不服本答复，可在收到本答复之日起六十日内向【本级人民政府或上一级主管部门】申请行政复议，也可在六个月内向青州市人民法院提起行政诉讼。"
    );
    let found = Rules::default().review(&reply(&body));
    let placeholders: Vec<&Finding> = found.iter().filter(|f| f.rule_id == "REPLY-007").collect();
    assert_eq!(placeholders.len(), 2, "{found:#?}");
    for (f, text) in placeholders.iter().zip(["【写明检索的范围、方式和结果】", "【本级人民政府或上一级主管部门】"])
    {
        assert_eq!(f.severity, Severity::Block);
        let span = f.span.as_ref().expect("at its place");
        assert_eq!(&body[span.start as usize..span.end as usize], text);
        assert!(f.message.contains(text) && f.message.contains("依据"), "{}", f.message);
    }
    // Filled in, nothing is left.
    let filled = body
        .replace("【写明检索的范围、方式和结果】", "按关键词检索2025年以来的发文")
        .replace("【本级人民政府或上一级主管部门】", "青州市人民政府");
    assert!(Rules::default().review(&reply(&filled)).iter().all(|f| f.rule_id != "REPLY-007"));
}

#[test]
fn complete_replies_pass() {
    check(&format!("张某：\n{SEARCH}该信息由本局制作。{BASIS}\n{REMEDY}"), &[]);
    // traditional characters
    check(
        "李某：\n經檢索本機關檔案系統，該信息由本機關製作。根據《中華人民共和國政府信息公開條例》第三十六條第（二）項的規定，\
         現將該信息提供給您。\n如對本答復不服，可以自收到本答復之日起60日內向臨川市人民政府申請行政複議，或者在6個月內向臨川市人民法院提起行政訴訟。",
        &[],
    );
    // a complete refusal with its ground
    check(
        &format!(
            "赵某：\n经检索本机关户籍管理系统，该信息存在。因涉及第三方个人隐私，根据《中华人民共和国政府信息公开条例》第十五条、\
             第三十六条第（三）项的规定，决定不予公开。\n{REMEDY}"
        ),
        &[],
    );
}

#[test]
fn each_missing_element_is_named() {
    // no search process ("经审查" is no search)
    check(
        &format!("经审查，该信息不存在。根据《政府信息公开条例》第三十六条第（四）项的规定，特此告知。\n{REMEDY}"),
        &["REPLY-001"],
    );
    // the applicant is told where to look, but the agency did not say how it searched
    check(
        &format!("您申请的信息已主动公开，您可通过本局网站查阅。根据《条例》第三十六条第（一）项规定告知。\n{REMEDY}"),
        &["REPLY-001"],
    );
    // 可 earlier in the sentence is no instruction to the applicant
    check(&format!("您的申请材料齐全，可予受理。经检索本机关档案，{BASIS}\n{REMEDY}"), &[]);
    check(&format!("经审查，您可自行查询本局网站。{BASIS}\n{REMEDY}"), &["REPLY-001"]);
    // no article cited
    check(&format!("{SEARCH}该信息由本局制作，现提供给您。\n{REMEDY}"), &["REPLY-002"]);
    // no remedy at all
    check(&format!("{SEARCH}{BASIS}"), &["REPLY-003"]);
    // remedy without deadlines or organ
    check(&format!("{SEARCH}{BASIS}\n如对本答复不服，可依法申请行政复议或者提起行政诉讼。"), &["REPLY-003"]);
    // all three missing
    check("该信息由本局制作，现提供给您。", &["REPLY-001", "REPLY-002", "REPLY-003"]);
}

#[test]
fn remedy_gaps_are_specific() {
    let f = Rules::default().review(&reply(&format!(
        "{SEARCH}{BASIS}\n如不服，可于60日内向市人民政府申请行政复议，或者依法提起行政诉讼。"
    )));
    assert_eq!(f.len(), 1);
    assert!(f[0].message.contains("6个月"), "{}", f[0].message);
    assert!(!f[0].message.contains("（60日）"), "{}", f[0].message);
    // deadlines without the organ: complete for the verdict, an info note for the drafter
    let no_organ = reply(&format!("{SEARCH}{BASIS}\n可在60日内申请行政复议或6个月内提起行政诉讼。"));
    let lax = Rules::from_config_json(r#"{"require_organ": false}"#).unwrap();
    assert!(lax.review(&no_organ).is_empty());
    let f = Rules::default().review(&no_organ);
    assert_eq!(f.len(), 1);
    assert_eq!(
        (f[0].rule_id.as_str(), f[0].kind.as_str(), f[0].severity),
        ("REPLY-006", "remedy_organ_missing", Severity::Info)
    );
    let upper =
        reply(&format!("{SEARCH}{BASIS}\n可在60日内向本机关的上一级行政机关申请行政复议，或6个月内依法提起行政诉讼。"));
    assert!(Rules::default().review(&upper).is_empty());
}

#[test]
fn decision_type_must_be_readable() {
    check(&format!("{SEARCH}根据《政府信息公开条例》第三十六条的规定，特此答复。\n{REMEDY}"), &["REPLY-004"]);
    for (text, d) in [
        ("该信息已主动公开，可通过门户网站获取。", Decision::AlreadyPublic),
        ("本机关未制作该信息。", Decision::NotExisting),
        ("该信息不属于本机关负责公开，建议您向市自然资源局申请。", Decision::NotThisAgency),
        ("您的申请属于重复申请。", Decision::Repeated),
        ("请于15个工作日内补正申请内容。", Decision::Procedural),
        ("对涉及个人隐私的内容作区分处理后予以公开。", Decision::Partial),
    ] {
        assert!(decisions(text).contains(&d), "{text}: {:?}", decisions(text));
    }
}

#[test]
fn procedural_notices_need_only_their_basis() {
    check(
        "王某：\n您提交的政府信息公开申请内容不明确，根据《中华人民共和国政府信息公开条例》第三十条的规定，\
         请您自收到本告知书之日起15个工作日内补正申请内容，明确所需信息的名称、文号或者便于查询的其他特征性描述。",
        &[],
    );
    check("王某：\n请您于15个工作日内补正申请内容。", &["REPLY-002"]);
    // a substantive decision with a word of procedure is checked in full
    check("经补正后，现将该信息提供给您。根据《条例》第三十六条第（二）项告知。", &["REPLY-001", "REPLY-003"]);
}

#[test]
fn refusals_need_a_ground() {
    check(
        &format!(
            "{SEARCH}该信息存在。根据《中华人民共和国政府信息公开条例》第三十六条第（三）项的规定，决定不予公开。\n{REMEDY}"
        ),
        &["REPLY-005"],
    );
    let body = format!("{SEARCH}根据《条例》第三十七条，对该信息作区分处理，部分公开。\n{REMEDY}");
    let f = Rules::default().review(&reply(&body));
    assert_eq!(f.len(), 1);
    let span = f[0].span.unwrap().range();
    assert_eq!(&body[span], "区分处理");
    // "not existing" is not a refusal
    check(&format!("{SEARCH}本机关未制作该信息，无法提供。根据《条例》第三十六条第（四）项告知。\n{REMEDY}"), &[]);
}

#[test]
fn only_replies_are_checked() {
    let mut it = reply("各区人民政府：现将有关事项通知如下。");
    it.kind = "notice".into();
    assert!(Rules::default().review(&it).is_empty());
    it.title = "政府信息公开申请答复书".into();
    assert_eq!(Rules::default().review(&it).len(), 4);
    assert!(Rules::from_config_json(r#"{"x": 1}"#).is_err());
    assert!(serde_json::from_str::<serde_json::Value>(CONFIG_SCHEMA).is_ok());
}

#[test]
fn keeps_the_contract() {
    rulekit::check_contract::<Rules>();
}
