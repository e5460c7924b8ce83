//! Data-driven tests of the expression rules, on the shipped data files.

use super::*;
use rulekit::ItemExt;

fn rules() -> Rules {
    let cfg = Config {
        roster: Some(toml::from_str(include_str!("../../../policies/data/roster.toml")).unwrap()),
        formulations: Some(toml::from_str(include_str!("../../../policies/data/formulations.toml")).unwrap()),
        misspellings: Some(toml::from_str(include_str!("../../../policies/data/misspellings.toml")).unwrap()),
        sovereignty: Some(toml::from_str(include_str!("../../../policies/data/sovereignty.toml")).unwrap()),
    };
    Rules::new(cfg).unwrap()
}

#[track_caller]
fn check(body: &str, now: &str, want: &[(&str, &str)]) {
    let mut it = Item::with_body("e", body);
    it.now = now.into();
    let got: Vec<(String, String)> =
        rules().review(&it).into_iter().map(|f| (f.rule_id, body[f.span.expect("span").range()].to_string())).collect();
    let want: Vec<(String, String)> = want.iter().map(|(r, s)| (r.to_string(), s.to_string())).collect();
    assert_eq!(got, want, "{body}");
}

const NOW: &str = "2025-03-10T10:00:00+08:00";

#[test]
fn leader_titles_against_the_roster() {
    check("市长林望舒主持召开常务会议。", NOW, &[]);
    check("林望舒市长强调，要抓好落实。", NOW, &[]);
    check("副市长林望舒出席会议。", NOW, &[("EXP-001", "副市长林望舒")]);
    check("常务副市长周启航、副市长沈知远出席。", NOW, &[]);
    check("副市长周启航出席。", NOW, &[("EXP-001", "副市长周启航")]);
    // 方若谷 left the government at the end of 2024
    check("常务副市长方若谷出席。", "2024-09-01T10:00:00+08:00", &[]);
    check("副市长方若谷出席。", "2024-09-01T10:00:00+08:00", &[("EXP-001", "副市长方若谷")]);
    check("常务副市长方若谷出席。", NOW, &[("EXP-001", "常务副市长方若谷")]);
    // a name without a title is not checked; traditional characters are folded
    check("林望舒、周启航等同志参加调研。", NOW, &[]);
    check("副市長林望舒出席會議。", NOW, &[("EXP-001", "副市長林望舒")]);
}

#[test]
fn protocol_order() {
    check("市长林望舒，常务副市长周启航，副市长沈知远出席。", NOW, &[]);
    check("副市长沈知远、市长林望舒出席。", NOW, &[("EXP-001", "副市长沈知远、市长林望舒")]);
    // not a list: separate sentences
    check("副市长沈知远出席开幕式。下午，市长林望舒主持座谈。", NOW, &[]);
}

#[test]
fn removed_officials() {
    check("副市长钱茂林出席。", NOW, &[("EXP-002", "副市长钱茂林")]);
    check("钱茂林严重违纪违法案件通报。", NOW, &[]);
    check("副市长钱茂林出席。", "2024-01-10T10:00:00+08:00", &[]);
}

#[test]
fn formulations_misspellings_sovereignty() {
    check("深入开展党史教育。", NOW, &[("EXP-003", "党史教育")]);
    check("深入开展党史学习教育。", NOW, &[]);
    check("深入开展党史教育。", "2020-05-01T10:00:00+08:00", &[]);
    check("持续推进扫黑险恶工作。", NOW, &[("EXP-004", "扫黑险恶")]);
    check("持续推进扫黑除恶常态化。", NOW, &[]);
    check("台湾总统发表讲话。", NOW, &[("EXP-005", "台湾总统")]);
    check("来自美国、日本、香港等国家的客商。", NOW, &[("EXP-005", "香港等国家")]);
    check("来自美国、日本等国家和香港、澳门地区的客商。", NOW, &[]);
    check("南中國海", NOW, &[("EXP-005", "南中國海")]);
}

#[test]
fn lists_are_validated() {
    assert!(Rules::from_config_json("").is_ok());
    assert!(
        Rules::from_config_json(r#"{"sovereignty": {"version": "x", "pattern": [{"regex": "(", "message": "m"}]}}"#)
            .is_err()
    );
    assert!(
        Rules::from_config_json(r#"{"misspellings": {"version": "x", "term": [{"wrong": "甲", "right": "甲"}]}}"#)
            .is_err()
    );
    assert!(
        Rules::from_config_json(
            r#"{"roster": {"version": "x", "leader": [{"name": "甲", "title": "市长", "order": 1, "from": "2025-01-01", "to": "2024-01-01"}]}}"#
        )
        .is_err()
    );
    assert!(Rules::from_config_json(r#"{"roster": {"version": "x", "leader": [], "extra": 1}}"#).is_err());
    // without lists the rules are silent
    let it = Item::with_body("e", "副市长钱茂林、党史教育、台湾总统、扫黑险恶");
    assert!(Rules::default().review(&it).is_empty());
    assert_eq!(rules().review(&it).len(), 4);
    // the data files convert to the JSON configuration
    let json = serde_json::json!({
        "roster": toml::from_str::<toml::Value>(include_str!("../../../policies/data/roster.toml")).unwrap(),
        "sovereignty": toml::from_str::<toml::Value>(include_str!("../../../policies/data/sovereignty.toml")).unwrap(),
    });
    assert!(Rules::from_config_json(&json.to_string()).is_ok());
    assert!(serde_json::from_str::<serde_json::Value>(CONFIG_SCHEMA).is_ok());
}

#[test]
fn keeps_the_contract() {
    rulekit::check_contract::<Rules>();
}
