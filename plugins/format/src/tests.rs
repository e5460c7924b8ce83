//! Data-driven tests of the format rules.

use super::*;
use rulekit::ItemExt;

#[track_caller]
fn doc(dn: &str, want: &[(&str, Option<&str>)]) {
    let got: Vec<(String, Option<String>)> = check_doc_number(dn)
        .into_iter()
        .map(|f| {
            assert_eq!(f.kind, "doc_number_format");
            assert_eq!(f.field, Field::DocNumber);
            assert!(f.message.contains("GB/T 9704"), "{}", f.message);
            let span = f.span.expect("span");
            (dn[span.range()].to_string(), f.suggestion)
        })
        .collect();
    let want: Vec<(String, Option<String>)> =
        want.iter().map(|(s, g)| (s.to_string(), g.map(str::to_string))).collect();
    assert_eq!(got, want, "{dn}");
}

#[test]
fn correct_numbers_pass() {
    for dn in [
        "句政发〔2023〕12号",
        "国办秘函〔2019〕19号",
        "江政办发〔2024〕6号",
        "苏政办发〔2025〕120号",
        "京政发〔2010〕1号",
        "",
        "  ",
    ] {
        doc(dn, &[]);
    }
}

#[test]
fn malformed_numbers_are_spanned() {
    doc("江政办发[2024]12号", &[("[2024]", Some("〔2024〕"))]);
    doc("江政办发(2024)18号", &[("(2024)", Some("〔2024〕"))]);
    doc("临政办发（2024）5号", &[("（2024）", Some("〔2024〕"))]);
    doc("临政办发【2024】5号", &[("【2024】", Some("〔2024〕"))]);
    doc("江政办发［2024］5号", &[("［2024］", Some("〔2024〕"))]);
    doc("江政办发2024年5号", &[("2024年", Some("〔2024〕"))]);
    doc("江政办发〔24〕5号", &[("〔24〕", Some("〔2024〕"))]);
    doc("江政办发〔2024〕012号", &[("012", Some("12"))]);
    doc("江政办发〔2024〕27", &[("27", Some("27号"))]);
    doc("江政办发〔2024〕第5号", &[("第", Some(""))]);
    doc("江政办发〔2024〕十二号", &[("十二", Some("12"))]);
    doc("江政办发〔2024〕5号文", &[("文", Some(""))]);
    doc("〔2024〕5号", &[("〔2024〕", None)]);
    doc("江政办发", &[("江政办发", None)]);
    // several defects at once, each its own finding
    doc(
        "江政办发[2024]第012",
        &[("[2024]", Some("〔2024〕")), ("第", Some("")), ("012", Some("12")), ("012", Some("012号"))],
    );
}

#[track_caller]
fn body(text: &str, want: &[(&str, &str)]) {
    let mut it = Item::with_body("f", text);
    it.doc_number = Some("江政发〔2024〕1号".into());
    let got: Vec<(String, String)> = Rules::default()
        .review(&it)
        .into_iter()
        .map(|f| (f.rule_id, text[f.span.expect("span").range()].to_string()))
        .collect();
    let want: Vec<(String, String)> = want.iter().map(|(r, s)| (r.to_string(), s.to_string())).collect();
    assert_eq!(got, want, "{text}");
}

#[test]
fn numbers_in_the_body_are_not_the_items_own() {
    body("根据《考核实施方案》（蓝政公办发[2010]1号）文件的要求，现将情况汇报如下。\n（此件公开发布）", &[]);
    body("江政办发〔2024〕012号\n各区人民政府：", &[]);
}

#[test]
fn dates_and_urgency() {
    body("各区：\n正文。\n江城市人民政府办公室\n2024年12月26日\n（此件公开发布）", &[]);
    body("正文。\n江城市人民政府\n2024年03月05日", &[("FMT-002", "2024年03月05日")]);
    body("正文。\n　　二〇二四年三月五日", &[("FMT-002", "二〇二四年三月五日")]);
    body("正文。\n二〇一一年三月五日", &[]);
    body("请于2024年03月05日前报送。", &[]);
    body("特急\n江政办发〔2024〕41号\n各区人民政府：", &[("FMT-003", "特急")]);
    body("各区人民政府：\n请特急办理。\n加急处理有关事项", &[]);
    let off = Rules::from_config_json(r#"{"check_dates": false, "check_urgency": false}"#).unwrap();
    let it = Item::with_body("f", "特急\n正文\n2024年03月05日");
    assert!(off.review(&it).is_empty());
    assert_eq!(Rules::default().review(&it).len(), 2);
    assert!(Rules::from_config_json(r#"{"check_dates": "yes"}"#).is_err());
}

#[test]
fn keeps_the_contract() {
    rulekit::check_contract::<Rules>();
}
