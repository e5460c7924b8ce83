//! Data-driven tests per rule: positive, negative, look-alike and disguised
//! cases, each rendered as `rule kind severity "original text"`.

use super::*;

fn render(text: &str, findings: &[Finding]) -> Vec<String> {
    findings
        .iter()
        .map(|f| {
            let sev = match f.severity {
                Severity::Info => "info",
                Severity::Warn => "warn",
                Severity::Block => "block",
            };
            format!("{} {} {} {:?}", f.rule, f.kind, sev, &text[f.span.clone()])
        })
        .collect()
}

#[track_caller]
fn check_with(detector: &Detector, text: &str, expect: &[&str]) {
    let got = render(text, &detector.scan(text));
    assert_eq!(got, expect, "in {text:?}");
}

#[track_caller]
fn check(text: &str, expect: &[&str]) {
    check_with(&Detector::new(Config::default()).unwrap(), text, expect);
}

#[test]
fn pii_001_valid_id_numbers() {
    check(
        "当事人：王建军，公民身份号码：321183198506120412，住所：江城市东湖区。",
        &[r#"PII-001 id_number block "321183198506120412""#],
    );
    check("经营者李秀梅，身份证号码330106199507184517。", &[r#"PII-001 id_number block "330106199507184517""#]);
    check("证件号11010519491231002X", &[r#"PII-001 id_number block "11010519491231002X""#]);
    // no context needed: a valid number is personal data wherever it stands
    check("备注321183198506120412", &[r#"PII-001 id_number block "321183198506120412""#]);
}

#[test]
fn pii_001_disguised_ids() {
    check("身份证号 320102 19900101 1232，", &[r#"PII-001 id_number block "320102 19900101 1232""#]);
    check(
        "身份证号：４４０３０５１９７８０８１５３３２８）",
        &[r#"PII-001 id_number block "４４０３０５１９７８０８１５３３２８""#],
    );
    check(
        "身份证号：4101051964\u{3000}0909004X；",
        &[&format!("PII-001 id_number block {:?}", "4101051964\u{3000}0909004X")],
    );
    check(
        "身份证3211\u{200B}83198506120412。",
        &[&format!("PII-001 id_number block {:?}", "3211\u{200B}83198506120412")],
    );
}

#[test]
fn pii_002_bad_check_digit_in_id_context_warns() {
    check("申请人身份证号码：321183198506120413。", &[r#"PII-002 id_number warn "321183198506120413""#]);
    check("身份证号：110105491231002", &[r#"PII-002 id_number warn "110105491231002""#]);
}

#[test]
fn look_alike_reference_numbers_are_not_reported() {
    check("其中受理编号321183202405150117的申请已于5月30日答复。", &[]);
    check("项目编号321183198506120413已纳入年度计划。", &[]);
    check("工单编号12024031500的投诉已按时办结。", &[]);
    check("档案号：13951287764，保管期限30年。", &[]);
    check("系统流水号6222021103000123457，请妥善保存。", &[]);
    check("注册证书编号：苏1322015201612347", &[]);
    check("发票号码：13951287764", &[]);
    check("索引号：014123458/2024-00031", &[]);
}

#[test]
fn pii_003_mobiles() {
    check("联系人：刘海涛，联系电话：0511-87210345，13951287764。", &[r#"PII-003 mobile warn "13951287764""#]);
    check("手机139 5128 7764，或直接到局", &[r#"PII-003 mobile warn "139 5128 7764""#]);
    check("手机：１３９５１２８７７６４", &[r#"PII-003 mobile warn "１３９５１２８７７６４""#]);
    check("电话+86 13951287764", &[r#"PII-003 mobile warn "86 13951287764""#]);
    check("手机：139-5128-7764。", &[r#"PII-003 mobile warn "139-5128-7764""#]);
    check("全市统一热线：12345，服务监督电话：400-828-1234。咨询电话：0512-66881234。", &[]);
    check(
        "两个号码13951287764 13800138000",
        &[r#"PII-003 mobile warn "13951287764""#, r#"PII-003 mobile warn "13800138000""#],
    );
}

#[test]
fn allow_list_suppresses_public_lines() {
    let d = Detector::from_json(r#"{"allow": ["139-5128-7764", "zwgk@163.com"]}"#).unwrap();
    check_with(&d, "值班手机13951287764，邮箱zwgk@163.com", &[]);
}

#[test]
fn pii_004_bank_cards() {
    check("1 周永福 6222021103000123456 1262.40元", &[r#"PII-004 bank_card block "6222021103000123456""#]);
    check("账号：6228 4804 3312 3456 785。", &[r#"PII-004 bank_card block "6228 4804 3312 3456 785""#]);
    // Luhn fails, but a person's account: still personal data (warn)
    check("补助资金已发放至申请人银行卡号6225880123456784。", &[r#"PII-004 bank_card warn "6225880123456784""#]);
    // Luhn fails and no person: not a card
    check("如银行卡号6225880123456784扣款失败，请联系开户行。", &[]);
    // a 22-digit corporate account is not a card
    check("户名：江城市财政局非税收入专户，账号：3205016436010000012345。", &[]);
}

#[test]
fn pii_004_table_rows_use_the_header() {
    let t = "序号 姓名 银行卡号 补贴金额\n1 周永福 6225880123456784 1262.40元";
    check(t, &[r#"PII-004 bank_card warn "6225880123456784""#]);
}

#[test]
fn pii_008_email_and_org_mailboxes() {
    check("来稿请发送至zhangwei1988@163.com，截稿", &[r#"PII-008 email warn "zhangwei1988@163.com""#]);
    check("电子邮箱：zwgk@jiangcheng.gov.cn。", &[r#"PII-008 email info "zwgk@jiangcheng.gov.cn""#]);
    check("邮箱：zhang\u{200D}wei@163.com", &[&format!("PII-008 email warn {:?}", "zhang\u{200D}wei@163.com")]);
    check("邮箱123456789@qq.com", &[r#"PII-008 email warn "123456789@qq.com""#]);
    check("投稿邮箱：Zhang.Wei（at）163.com", &[r#"PII-008 email warn "Zhang.Wei（at）163.com""#]);
    check("邮箱：xxgk#jiangcheng.gov.cn", &[r#"PII-008 email info "xxgk#jiangcheng.gov.cn""#]);
    check("话题#政务公开#欢迎参与", &[]);
}

#[test]
fn pii_008_qq_wechat_plates() {
    check("QQ号：123456789，", &[r#"PII-008 qq warn "123456789""#]);
    check("微信号：zhang_wei88。", &[r#"PII-008 wechat warn "zhang_wei88""#]);
    check("车牌号苏A12345的车辆", &[r#"PII-008 plate warn "苏A12345""#]);
    check("苏政办发〔2025〕12号", &[]);
}

#[test]
fn pii_005_addresses() {
    check("住所：江城市东湖区幸福里8幢。", &[r#"PII-005 address warn "江城市东湖区幸福里8幢""#]);
    check("家庭住址：南溪县城关镇建设路12号3单元", &[r#"PII-005 address warn "南溪县城关镇建设路12号3单元""#]);
    // coarse enough, or an office address
    check("身份证号：略；联系地址：江城市某街道。", &[]);
    check("办公地址：江城市人民路1号", &[]);
    check("当事人：江城市某某食品有限公司，住所：江城市东湖区人民路12号。", &[]);
}

#[test]
fn pii_006_sensitive_categories_need_a_person() {
    check("患者张建国，确诊为肺结核。", &[r#"PII-006 sensitive_category block "确诊""#]);
    check("申请人王某某患有慢性病。", &[]);
    check("全市共有传染病防治机构12家，均已确诊病例管理到位。", &[]);
}

#[test]
fn pii_009_mask_quality() {
    check("公民身份号码：3211**********0412。", &[]);
    check("身份证号：32118319850612****", &[r#"PII-009 mask_quality block "32118319850612****""#]);
    check(
        "身份证号3211**********0412，另见321183********0412。",
        &[r#"PII-009 mask_quality block "321183********0412""#],
    );
    check("手机138****5678", &[]);
}

#[test]
fn pii_010_credit_codes() {
    check("统一社会信用代码：91321183MA1MXK5L7Q\n", &[r#"PII-010 credit_code info "91321183MA1MXK5L7Q""#]);
    check("（统一社会信用代码：113211830141234588）", &[r#"PII-010 credit_code info "113211830141234588""#]);
    check("（统一社会信用代码：51321183MA1MXK5L7R）已完成清算", &[]);
    check(
        "统一社会信用代码：92321183MA1N3C7K7N，经营者：李秀梅，身份证号码：330106199507184517。",
        &[r#"PII-010 credit_code info "92321183MA1N3C7K7N""#, r#"PII-001 id_number block "330106199507184517""#],
    );
}

#[test]
fn suggestions_follow_the_mask_profile() {
    let d = Detector::from_json(r#"{"mask": {"id_head": 6, "id_tail": 2, "mask_char": "×"}}"#).unwrap();
    let f = d.scan("身份证号321183198506120412");
    assert_eq!(f[0].suggestion.as_deref(), Some("321183××××××××××12"));
    assert!(Detector::from_json(r#"{"mask": {"id_head": 8}}"#).is_err());
    assert!(Detector::from_json(r#"{"unknown": 1}"#).is_err());
}

#[test]
fn emoji_before_a_finding_keeps_byte_offsets() {
    let t = "🎉🎉联系手机13951287764";
    let f = Detector::new(Config::default()).unwrap().scan(t);
    assert_eq!(&t[f[0].span.clone()], "13951287764");
}
