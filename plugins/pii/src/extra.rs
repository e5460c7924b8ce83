//! The text-shaped detectors: e-mail addresses, QQ and WeChat ids, plate
//! numbers, home addresses finer than 乡镇/街道, and PIPL §28 sensitive
//! categories tied to an identifiable person.
//!
//! All patterns run on the normalised, lower-cased text. QQ, WeChat and
//! plates are only reported after their label (QQ号, 微信号, 车牌), because
//! bare digit or letter runs are too ambiguous; addresses only after a
//! personal label (住址, 住所, 家住 ...), never an office's 地址.

use std::ops::Range;

use regex::Regex;

/// Compiled once per detector.
#[derive(Debug)]
pub struct Patterns {
    email: Regex,
    qq: Regex,
    wechat: Regex,
    plate: Regex,
    address: Regex,
    fine_address: Regex,
    coarse_end: Regex,
    person: Regex,
    categories: Vec<(&'static str, Regex)>,
}

/// Words that make the subject of a clause an organisation.
const ORGANISATIONS: &[&str] = &[
    "公司",
    "企业",
    "集团",
    "厂",
    "店",
    "合作社",
    "中心",
    "协会",
    "学会",
    "学校",
    "医院",
    "机构",
    "单位",
    "事务所",
    "委员会",
    "政府",
    "局",
    "银行",
    "经营部",
    "门市部",
];

/// PIPL §28 categories and the wording that reveals them about a person.
const CATEGORIES: &[(&str, &str)] = &[
    (
        "医疗健康",
        r"艾滋病|hiv|乙肝|梅毒|结核病|精神病|精神分裂|抑郁症|癌症|白血病|尿毒症|确诊|病史|诊断为|患有|传染病患者|残疾等级|残疾人证号",
    ),
    ("宗教信仰", r"宗教信仰|信仰(?:佛教|基督教|天主教|伊斯兰教|道教)|基督徒|穆斯林|受洗"),
    ("特定身份", r"刑满释放|前科|服刑|吸毒|戒毒|社区矫正|性取向|同性恋"),
    ("生物识别", r"指纹|虹膜|人脸信息|面部特征|基因|dna"),
    ("行踪轨迹", r"行踪|活动轨迹|行程轨迹|出行轨迹"),
    ("未成年人", r"(?:^|[^0-9])(?:[1-9]|1[0-3])(?:周岁|岁)"),
];

impl Patterns {
    pub fn new() -> Patterns {
        let re = |s: &str| Regex::new(s).expect("built-in pattern compiles");
        Patterns {
            // `@`, or the anti-spam spellings `(at)`, `[at]` and `#`.
            email: re(r"[a-z0-9][a-z0-9._%+-]*(?:@| ?\(at\) ?| ?\[at\] ?|#)[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}"),
            qq: re(r"qq(?:号码|号)?[ ]?[:]?[ ]?([1-9][0-9]{4,10})(?:[^0-9]|$)"),
            wechat: re(r"(?:微信号|微信)[ ]?[:][ ]?([a-z][-_a-z0-9]{5,19})(?:[^-_a-z0-9]|$)"),
            plate: re(
                r"(?:车牌|号牌|车辆)[^\n。;]{0,12}?([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][a-hj-np-z][·.]?[a-hj-np-z0-9]{4}[a-hj-np-z0-9挂学警]{1,2})(?:[^a-z0-9]|$)",
            ),
            address: re(
                r"(?:家庭住址|家庭地址|现住址|居住地址|户籍地址|户籍地|住址|住所|家住|现住)[:]?[ ]?([^\n,;。()]{4,40})",
            ),
            fine_address: re(r"[0-9一二三四五六七八九十]+(?:号楼|号院|号|幢|栋|单元|室|组|弄|巷|户|排|层)"),
            coarse_end: re(r"(?:街道|镇|乡|社区|区|县|市)"),
            person: re(
                r"(?:姓名|当事人|申请人|被申请人|患者|村民|户主|学生|职工|举报人|投诉人|家属|经营者)[:]?[ ]?\p{Han}{2,4}",
            ),
            categories: CATEGORIES.iter().map(|(c, p)| (*c, re(p))).collect(),
        }
    }

    /// E-mail address spans.
    pub fn emails(&self, t: &str) -> Vec<Range<usize>> {
        self.email.find_iter(t).map(|m| m.range()).collect()
    }

    /// QQ, WeChat and plate findings: (rule, kind, span, message).
    pub fn contacts(&self, t: &str) -> Vec<(&'static str, &'static str, Range<usize>, String)> {
        let mut out = Vec::new();
        for c in self.qq.captures_iter(t) {
            let m = c.get(1).expect("group");
            out.push((
                "PII-008",
                "qq",
                m.range(),
                "含有QQ号。个人QQ号属于个人信息，公开前请遮蔽，或改用单位公开联系方式。".to_owned(),
            ));
        }
        for c in self.wechat.captures_iter(t) {
            let m = c.get(1).expect("group");
            out.push((
                "PII-008",
                "wechat",
                m.range(),
                "含有微信号。个人微信号属于个人信息，公开前请遮蔽；如为机构公众号，请加入白名单。".to_owned(),
            ));
        }
        for c in self.plate.captures_iter(t) {
            let m = c.get(1).expect("group");
            out.push((
                "PII-008",
                "plate",
                m.range(),
                "含有机动车号牌号码，可关联到个人，公开前请部分遮蔽（如“苏A·1**23”）。".to_owned(),
            ));
        }
        out
    }

    /// Personal addresses with a part finer than 乡镇/街道: (span, suggestion).
    pub fn addresses(&self, t: &str) -> Vec<(Range<usize>, String)> {
        let mut out = Vec::new();
        for c in self.address.captures_iter(t) {
            let m = c.get(1).expect("group");
            let addr = m.as_str();
            let Some(fine) = self.fine_address.find(addr) else {
                continue;
            };
            // An enterprise's or an organ's 住所 is public registration data,
            // not a home address: skip when the clause is about one.
            let line_start = t[..m.start()].rfind(['\n', '。', ';']).map_or(0, |i| i + 1);
            let subject = &t[line_start..m.start()];
            if ORGANISATIONS.iter().any(|o| subject.contains(o)) {
                continue;
            }
            let keep = self.coarse_end.find_iter(&addr[..fine.start()]).last().map_or(0, |e| e.end());
            out.push((m.range(), format!("{}（详细地址略）", &addr[..keep])));
        }
        out
    }

    /// Sensitive-category words in a clause that also identifies a person
    /// (a named person after a role word, or an unmasked ID/mobile/card).
    /// Category words are rare, so they are searched first and the clause
    /// is examined only around a hit.
    pub fn categories(&self, t: &str, anchors: &[Range<usize>]) -> Vec<(Range<usize>, &'static str)> {
        let is_end = |c: char| matches!(c, '。' | ';' | '!' | '?' | '\n');
        let mut out: Vec<(Range<usize>, &'static str)> = Vec::new();
        let mut seen: Vec<(usize, &'static str)> = Vec::new();
        for (category, re) in &self.categories {
            for m in re.find_iter(t) {
                let start =
                    t[..m.start()].rfind(is_end).map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
                let end = t[m.end()..].find(is_end).map_or(t.len(), |i| m.end() + i);
                if seen.contains(&(start, category)) {
                    continue;
                }
                let clause = &t[start..end];
                let named = self.person.find_iter(clause).any(|p| !p.as_str().contains('某'));
                let anchored = anchors.iter().any(|a| a.start >= start && a.end <= end);
                if named || anchored {
                    seen.push((start, category));
                    out.push((m.range(), *category));
                }
            }
        }
        out
    }
}
