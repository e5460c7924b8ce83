//! A natural person's residence (PII-005): 住址, 家庭住址, 户籍地址, 现住址 …,
//! "住" + an address after a person in a 处罚决定, or a cell under such a
//! column header — down to the street, building or house number. Never an
//! organ's, a company's or a site's address, which are public.
//!
//! Whose address it is is decided by the label and by the subject of the
//! clause, never by a list of streets:
//! - a residence label (住址, 家庭住址, 户籍地址, 现住址, 家住 …) names a
//!   person's home unless the clause is about an organisation;
//! - 住所 is a legal term for both (民法典 §25 for a person, §63 for a legal
//!   person): a person's unless the clause names an organisation first;
//! - a plain 地址 (联系地址, 通讯地址, 送达地址 …) is a person's only when the
//!   clause is about a person (a role such as 申请人 or 当事人, 男/女, a
//!   birth date, an ID number) or the table has a 姓名 column and no
//!   organisation column;
//! - a bare 住 counts only right after a clause break in a clause about a
//!   person (`当事人张某，男，…，住江城市…12号`);
//! - a label right after an organisation or site word (单位地址, 公司住所,
//!   办公地址, 项目地址, 注册地址) is never a person's.
//!
//! The span runs from the start of the address to the end of its last
//! street/house part; an address without one (only 省市区, a 镇 or a
//! 街道) is what a 公示 may show and is not reported.

use std::ops::Range;

/// What the label in front of an address says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LabelKind {
    /// 住址, 家庭住址, 户籍地址, 现住址, 家住 …: a home.
    Residence,
    /// 住所: a person's or a legal person's.
    Domicile,
    /// 地址, 联系地址, 通讯地址 …: anybody's.
    Plain,
    /// A bare 住.
    Bare,
}

/// The labels (normalised text), longest first where one starts another.
pub const LABELS: &[(&str, LabelKind)] = &[
    ("家庭住址", LabelKind::Residence),
    ("家庭地址", LabelKind::Residence),
    ("现住址", LabelKind::Residence),
    ("现居住地址", LabelKind::Residence),
    ("现居住地", LabelKind::Residence),
    ("现居地", LabelKind::Residence),
    ("居住地址", LabelKind::Residence),
    ("居住地", LabelKind::Residence),
    ("户籍地址", LabelKind::Residence),
    ("户籍地", LabelKind::Residence),
    ("住址", LabelKind::Residence),
    ("住所地", LabelKind::Domicile),
    ("住所", LabelKind::Domicile),
    ("家住", LabelKind::Residence),
    ("现住", LabelKind::Residence),
    ("联系地址", LabelKind::Plain),
    ("通讯地址", LabelKind::Plain),
    ("通信地址", LabelKind::Plain),
    ("送达地址", LabelKind::Plain),
    ("邮寄地址", LabelKind::Plain),
    ("地址", LabelKind::Plain),
    ("住", LabelKind::Bare),
];

/// The kind of a label as matched.
pub fn label_kind(label: &str) -> Option<LabelKind> {
    LABELS.iter().find(|(w, _)| *w == label).map(|(_, k)| *k)
}

/// Words right before a label that make it an organisation's or a site's.
const ORG_PREFIXES: &[&str] = &[
    "单位", "公司", "企业", "办公", "注册", "经营", "营业", "项目", "工程", "施工", "机构", "机关", "门店", "场所",
    "工作", "网点", "活动", "会议", "服务", "办理", "生产", "仓库", "厂", "店", "部",
];

/// Endings of an organisation's name.
const ORG_SUFFIXES: &[&str] = &[
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
    "小学",
    "中学",
    "大学",
    "医院",
    "卫生院",
    "机构",
    "单位",
    "事务所",
    "委员会",
    "居委会",
    "村委会",
    "政府",
    "局",
    "银行",
    "经营部",
    "门市部",
    "研究院",
    "法院",
    "检察院",
    "派出所",
    "所",
    "站",
    "馆",
    "办",
    "处",
    "队",
    "社",
    "商行",
    "超市",
    "酒店",
    "宾馆",
    "工作室",
    "俱乐部",
    "基金会",
];

/// Roles that introduce a natural person.
const PERSON_ROLES: &[&str] = &[
    "姓名",
    "当事人",
    "被处罚人",
    "申请人",
    "被申请人",
    "信访人",
    "投诉人",
    "举报人",
    "户主",
    "村民",
    "居民",
    "被执行人",
    "申请执行人",
    "第三人",
    "原告",
    "被告",
    "上诉人",
    "被上诉人",
    "持证人",
    "监护人",
    "代理人",
    "救助对象",
    "保障对象",
    "低保户",
    "受助人",
    "收件人",
    "收货人",
    "本人",
    "法定代表人",
    "负责人",
    "经营者",
];

/// Who a clause is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Subject {
    Person,
    Organisation,
    Unknown,
}

fn is_org_name(seg: &str) -> bool {
    seg.chars().count() >= 3 && ORG_SUFFIXES.iter().any(|s| seg.ends_with(s))
}

/// Marks that only a natural person has: a sex, a birth date, an ethnic
/// group, an age, an ID number.
fn person_mark(seg: &str) -> bool {
    seg == "男"
        || seg == "女"
        || seg.contains("出生")
        || seg.contains("身份证")
        || seg.contains("身份号码")
        || (seg.ends_with('族') && seg.chars().count() <= 4)
        || (seg.ends_with('岁') && seg.chars().count() <= 4)
}

fn person_role(seg: &str) -> bool {
    PERSON_ROLES.iter().any(|r| seg.contains(r))
}

/// Who the clause before byte `at` is about: the segments (split at commas,
/// `、`, `:` and spaces) from the clause start, nearest first. `strict`
/// (for 住所) lets only a person's own marks, not a role, outweigh an
/// organisation named earlier in the clause.
pub fn subject(t: &str, at: usize, strict: bool) -> Subject {
    let start = t[..at]
        .rfind(['。', '\n', ';', '!', '?', '(', '\t'])
        .map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
    let scope = &t[start..at];
    let mut role = false;
    for seg in scope.rsplit([',', '、', ':', ' ']).map(str::trim).filter(|s| !s.is_empty()) {
        if person_mark(seg) {
            return Subject::Person;
        }
        if is_org_name(seg) {
            return Subject::Organisation;
        }
        if person_role(seg) {
            if !strict {
                return Subject::Person;
            }
            role = true;
        }
    }
    if role {
        return Subject::Person;
    }
    // A parenthesis after a name (`村民张某（住…）`): the clause before it.
    match t[..start].strip_suffix('(') {
        Some(before) => subject(t, before.len(), strict),
        None => Subject::Unknown,
    }
}

/// Does the text right before a label name an organisation or a site?
pub fn org_prefix(t: &str, label_start: usize) -> bool {
    let before = &t[..label_start];
    ORG_PREFIXES.iter().any(|p| before.ends_with(p))
}

fn is_digitish(c: char) -> bool {
    c.is_ascii_digit() || "一二三四五六七八九十零〇百".contains(c)
}

/// House-level parts: `12号`, `3栋`, `502室`, `5组`, `2单元` ….
const FINE_SUFFIXES: &[&str] =
    &["号楼", "号院", "号", "幢", "栋", "单元", "室", "组", "弄", "巷", "户", "排", "层", "楼"];

/// The end of the last house-level part in `addr` (a number followed by a
/// house-level suffix), if any.
pub fn fine_end(addr: &str) -> Option<usize> {
    let mut end: Option<usize> = None;
    let mut it = addr.char_indices().peekable();
    while let Some((i, c)) = it.next() {
        if !is_digitish(c) {
            continue;
        }
        // A run right after a house part is its continuation without a
        // suffix: `8号3-2-501`, `2单元401`.
        let continues = end == Some(i) && c.is_ascii_digit();
        let mut j = addr.len();
        while let Some(&(k, d)) = it.peek() {
            if is_digitish(d) || d == '-' {
                it.next();
            } else {
                j = k;
                break;
            }
        }
        if let Some(s) = FINE_SUFFIXES.iter().find(|s| addr[j..].starts_with(**s)) {
            end = Some(j + s.len());
        } else if continues {
            end = Some(j);
        }
    }
    end
}

/// Levels an address may keep in a 公示: 省, 市, 区, 县, 乡镇, 街道.
const COARSE: &[&str] = &["自治区", "自治州", "省", "市", "地区", "盟", "州", "区", "县", "旗", "街道", "镇", "乡"];
/// Endings that look like a level but are finer (a 小区 is a housing estate).
const NOT_COARSE: &[&str] = &["社区", "小区", "园区", "校区", "厂区", "景区", "新区花园"];

/// The leading 省/市/区/县/乡镇/街道 parts of an address (what a 公示 may
/// keep), as a byte length.
pub fn coarse_prefix(addr: &str) -> usize {
    let mut keep = 0;
    'outer: loop {
        let rest = &addr[keep..];
        for (n, (i, c)) in rest.char_indices().enumerate() {
            if n >= 10 || !('\u{4E00}'..='\u{9FFF}').contains(&c) {
                break 'outer;
            }
            let end = i + c.len_utf8();
            let part = &rest[..end];
            if COARSE.iter().any(|s| part.ends_with(s)) && part.chars().count() >= 2 {
                if NOT_COARSE.iter().any(|s| part.ends_with(s)) {
                    break 'outer;
                }
                keep += end;
                continue 'outer;
            }
        }
        break;
    }
    keep
}

/// Does `addr` read like a place (a level or a road before its house part)?
fn place_like(addr: &str, fine: usize) -> bool {
    let head = &addr[..fine];
    [
        "省", "市", "区", "县", "镇", "乡", "村", "街道", "路", "街", "巷", "道", "弄", "小区", "苑", "园", "里", "庄",
        "屯",
    ]
    .iter()
    .any(|w| head.contains(w))
}

/// An address value after a label: strips a leading 在/于/为 and returns
/// the span of the address (start .. end of its last house part), if it has
/// a house part.
pub fn value_span(t: &str, value: Range<usize>, need_place: bool) -> Option<Range<usize>> {
    let v = &t[value.clone()];
    let trimmed = v.trim_start_matches([':', ' ', '在', '于', '为', '是']);
    let start = value.start + (v.len() - trimmed.len());
    let fine = fine_end(trimmed)?;
    if need_place && !place_like(trimmed, fine) {
        return None;
    }
    Some(start..start + fine)
}

/// The masked replacement: the 省市区县/乡镇街道 kept, the rest left out.
pub fn suggestion(addr: &str) -> String {
    format!("{}（详细地址略）", &addr[..coarse_prefix(addr)])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn house_parts_and_the_kept_prefix() {
        assert_eq!(fine_end("江城市新城区幸福路12号3栋502室,"), Some("江城市新城区幸福路12号3栋502室".len()));
        assert_eq!(fine_end("南溪县城关镇建设路12-3号"), Some("南溪县城关镇建设路12-3号".len()));
        assert_eq!(fine_end("江城市新城区幸福路"), None);
        assert_eq!(fine_end("解放大道8号3-2-501,"), Some("解放大道8号3-2-501".len()));
        assert_eq!(fine_end("文昌路7号院3号楼2单元401 "), Some("文昌路7号院3号楼2单元401".len()));
        assert_eq!(fine_end("幸福路12号,2025年"), Some("幸福路12号".len()));
        assert_eq!(fine_end("江城市新城区幸福路**号"), None);
        assert_eq!(suggestion("江城市新城区幸福路12号3栋502室"), "江城市新城区（详细地址略）");
        assert_eq!(suggestion("南溪县城关镇建设路12号"), "南溪县城关镇（详细地址略）");
        assert_eq!(suggestion("江南省江城市新城区幸福路社区5组"), "江南省江城市新城区（详细地址略）");
        assert_eq!(suggestion("幸福小区3栋"), "（详细地址略）");
    }

    #[test]
    fn subjects() {
        let at = |t: &str| t.find('#').unwrap();
        let s = |t: &str| subject(t, at(t), false);
        assert_eq!(s("当事人:张某,男,1980年3月出生,#"), Subject::Person);
        assert_eq!(s("申请人:李某,#"), Subject::Person);
        assert_eq!(s("(江城市新城区民政局,#"), Subject::Organisation);
        assert_eq!(s("当事人:江城市某某食品有限公司,#"), Subject::Organisation);
        assert_eq!(s("欢迎来信,#"), Subject::Unknown);
        assert_eq!(s("村民张某(#"), Subject::Person);
        assert_eq!(s("临川市民政局(#"), Subject::Organisation);
        let t = "当事人:江城市某某商贸有限公司,法定代表人:张某,#";
        assert_eq!(subject(t, at(t), true), Subject::Organisation);
        assert_eq!(subject(t, at(t), false), Subject::Person);
    }
}
