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
    check("申请人身份证号码：11010519491231002Y。", &[]);
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
    check("电话+86 13951287764", &[r#"PII-003 mobile warn "+86 13951287764""#]);
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
    check("住所：江城市东湖区幸福里8幢。", &[r#"PII-005 address block "江城市东湖区幸福里8幢""#]);
    check("家庭住址：南溪县城关镇建设路12号3单元", &[r#"PII-005 address block "南溪县城关镇建设路12号3单元""#]);
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

#[test]
fn pii_001_first_generation_ids_block() {
    check("姓名：赵某某，身份证号：320102800101123，", &[r#"PII-001 id_number block "320102800101123""#]);
    // no label needed, like an 18-digit number: area code and date decide
    check("被执行人钱某（110105491231002）逾期未履行。", &[r#"PII-001 id_number block "110105491231002""#]);
    // a column so labelled
    check("序号\t姓名\t公民身份号码\n1\t孙某\t330106750718451", &[r#"PII-001 id_number block "330106750718451""#]);
    // decoys: month 13, day 32, no such province, labelled as another number
    check("合同编号：320102801301123", &[]);
    check("身份证号：320102800132123", &[]);
    check("990102800101123号文件", &[]);
    check("合同号320102800101123已备案。", &[]);
    check("订单号：320102800101123", &[]);
    check("序号\t姓名\t联系电话\n1\t孙某\t320102800101123", &[]);
    // the mask keeps the birth date (positions 7–12) hidden
    let f = Detector::new(Config::default()).unwrap().scan("身份证号：320102800101123");
    assert_eq!(f[0].suggestion.as_deref(), Some("3201********123"));
}

#[test]
fn pii_001_ids_grouped_broken_and_lower_case() {
    check("申请人：钱某某（身份证号 320102 19900307 101x）", &[r#"PII-001 id_number block "320102 19900307 101x""#]);
    check("身份证号：3201021990\n03071239", &[r#"PII-001 id_number block "3201021990\n03071239""#]);
    check("身份证号：320102199003071239\n2 李某", &[r#"PII-001 id_number block "320102199003071239""#]);
    // a table: a row ending in a card and the next row's 序号 are not one number
    check(
        "序号 姓名 银行卡号\n1 周永福 6222021103000123456\n2 李某 6222021103000123456",
        &[r#"PII-004 bank_card block "6222021103000123456""#, r#"PII-004 bank_card block "6222021103000123456""#],
    );
    // already masked: what we ask for
    check("身份证号：3201**********1239", &[]);
}

#[test]
fn pii_003_mobiles_with_country_codes_and_hyphens() {
    check("联系电话：+86 139 5128 7764。", &[r#"PII-003 mobile warn "+86 139 5128 7764""#]);
    check("手机：0086-139-5128-7764", &[r#"PII-003 mobile warn "0086-139-5128-7764""#]);
    check("手机：86-13951287764", &[r#"PII-003 mobile warn "86-13951287764""#]);
    check("手机：139-5128-7764", &[r#"PII-003 mobile warn "139-5128-7764""#]);
    let f = Detector::new(Config::default()).unwrap().scan("手机：+8613951287764");
    assert_eq!(f[0].suggestion.as_deref(), Some("+86 139****7764"));
    // digits inside a longer number are not a mobile
    check("请凭2025-139-5128-7764-01号单据办理。", &[]);
    check("订单号：202503139512877640。", &[]);
    check("流水号 20251395128776412", &[]);
    check("手机138****5678", &[]);
}

#[test]
fn pii_008_disguised_mailboxes() {
    check("电子邮件发送至 zhangwei_jc#163.com（发送时请将#换成@）", &[r#"PII-008 email warn "zhangwei_jc#163.com""#]);
    check("邮箱：lihua(at)qq.com", &[r#"PII-008 email warn "lihua(at)qq.com""#]);
    check("邮箱：lihua # qq.com", &[r#"PII-008 email warn "lihua # qq.com""#]);
    check("邮箱：lihua[at]126[dot]com", &[r#"PII-008 email warn "lihua[at]126[dot]com""#]);
    check("邮箱：wang.fang at 126 dot com，", &[r#"PII-008 email warn "wang.fang at 126 dot com""#]);
    check("来信请寄 wangfang★sina.cn（★换成@）", &[r#"PII-008 email warn "wangfang★sina.cn""#]);
    check("邮箱：xxgk at jiangcheng dot gov dot cn", &[r#"PII-008 email info "xxgk at jiangcheng dot gov dot cn""#]);
    // English words around "at" are no mailbox
    check("meeting at 3 dot points", &[]);
    let f = Detector::new(Config::default()).unwrap().scan("邮箱：Zhang.Wei（at）163.com");
    assert_eq!(f[0].suggestion.as_deref(), Some("Zh****（at）163.com"));
}

#[test]
fn pii_011_passports_and_permits() {
    check("李某某，市外办副主任，护照号码：E12345678，赴新加坡", &[r#"PII-011 passport block "E12345678""#]);
    check("持因私护照（EF1260892）出境", &[r#"PII-011 passport block "EF1260892""#]);
    check("港澳居民来往内地通行证号码：H1234567801。", &[r#"PII-011 passport block "H1234567801""#]);
    check("台湾居民来往大陆通行证：01234567，", &[r#"PII-011 passport block "01234567""#]);
    check("往来港澳通行证号 C12345678", &[r#"PII-011 passport block "C12345678""#]);
    check(
        "序号\t姓名\t护照号\n1\t张某\tG12345678\n2\t王某\tE87654321",
        &[r#"PII-011 passport block "G12345678""#, r#"PII-011 passport block "E87654321""#],
    );
    // the mask keeps the first and last characters
    let f = Detector::new(Config::default()).unwrap().scan("护照号码：E12345678");
    assert_eq!(f[0].suggestion.as_deref(), Some("E*******8"));
    let f =
        Detector::from_json(r#"{"mask": {"permit_head": 2, "permit_tail": 2}}"#).unwrap().scan("回乡证：H1234567801");
    assert_eq!(f[0].suggestion.as_deref(), Some("H1*******01"));
}

#[test]
fn pii_011_look_alikes() {
    // labelled as a project number in the same sentence
    check("护照号码：E12345678，项目编号G20250318，在外5天。", &[r#"PII-011 passport block "E12345678""#]);
    // a passport-shaped approval number
    check("关于同意办理因公护照的批复（批复编号E12345678）", &[]);
    check("出国任务批件号：G20250318", &[]);
    // no label, or the wrong format for the document named
    check("项目代码G20250318", &[]);
    check("往来港澳通行证号码：E12345678", &[]);
    // already masked
    check("护照号码：E1234****", &[]);
    check("护照号码：E*******8", &[]);
}

#[test]
fn pii_005_residences_of_people() {
    check(
        "姓名：赵某某，家庭住址：江城市新城区幸福路12号3栋502室，联系电话",
        &[r#"PII-005 address block "江城市新城区幸福路12号3栋502室""#],
    );
    check(
        "当事人：孙某，男，1975年3月出生，住江南省江城市东湖区建设路88号2单元301室。",
        &[r#"PII-005 address block "江南省江城市东湖区建设路88号2单元301室""#],
    );
    check("信访人：周某，联系地址：江城市东湖区五一路7号。", &[r#"PII-005 address block "江城市东湖区五一路7号""#]);
    check("户籍地址：南溪县城关镇建设路12号", &[r#"PII-005 address block "南溪县城关镇建设路12号""#]);
    check("经查，村民李某（住南溪县城关镇建设路12号）", &[r#"PII-005 address block "南溪县城关镇建设路12号""#]);
    check("家庭住址：江城市新城区解放大道8号3-2-501，", &[r#"PII-005 address block "江城市新城区解放大道8号3-2-501""#]);
    check("现住址：江城市柳林镇柳林村3组", &[r#"PII-005 address block "江城市柳林镇柳林村3组""#]);
    check("被处罚人：吴某，住所地：江城市东湖区五一路7号", &[r#"PII-005 address block "江城市东湖区五一路7号""#]);
    // a roster: the 住址 column
    check(
        "序号\t姓名\t家庭住址\t保障人数\n1\t钱某\t江城市新城区和平路5号1栋\t3",
        &[r#"PII-005 address block "江城市新城区和平路5号1栋""#],
    );
    check("序号  姓名  地址\n1  吴某  江城市新城区和平路5号", &[r#"PII-005 address block "江城市新城区和平路5号""#]);
    // the one-click mask keeps 市、区（县）、乡镇
    let f = Detector::new(Config::default()).unwrap().scan("家庭住址：江城市新城区幸福路12号3栋502室");
    assert_eq!(f[0].suggestion.as_deref(), Some("江城市新城区（详细地址略）"));
}

#[test]
fn pii_005_organs_companies_and_sites_are_public() {
    // an organ's address
    check("监督电话：0511-87210000（江城市新城区民政局，地址：江城市新城区人民路1号）", &[]);
    check("信函寄至江城市新城区人民路8号市住建局城建科（邮编212000）", &[]);
    // a company's 住所 (a legal person's)
    check("当事人：江城市某某商贸有限公司，住所：江城市东湖区人民路12号，法定代表人：张某。", &[]);
    check("当事人：江城市某某商贸有限公司，法定代表人：张某，住所：江城市东湖区人民路12号。", &[]);
    check("企业住所：江城市东湖区人民路12号", &[]);
    // a site
    check("项目地址：江城市新城区幸福路12号。施工地点：和平路5号。", &[]);
    check("办理地点：江城市新城区幸福路社区服务中心（幸福路20号）。", &[]);
    // an unlabelled address, a bare 住 outside a person's clause
    check("请到户籍所在地社区居委会办理。", &[]);
    check("全市保障性住房12万套，住建部门负责。", &[]);
    // an organisation's table
    check("序号\t单位名称\t地址\n1\t江城市图书馆\t江城市新城区文化路1号", &[]);
    // only to the 街道 level, or masked: what a 公示 may show
    check("家庭住址：江城市新城区幸福街道", &[]);
    check("家庭住址：江城市新城区幸福路**号", &[]);
}
