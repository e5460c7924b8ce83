//! The text-shaped detectors: e-mail addresses (also written to dodge
//! harvesters), QQ and WeChat ids, plate numbers, a person's home address
//! (the decision is `address`'s), and PIPL §28 sensitive
//! categories tied to an identifiable person.
//!
//! All patterns run on the normalised, lower-cased text. QQ, WeChat and
//! plates are only reported after their label (QQ号, 微信号, 车牌), because
//! bare digit or letter runs are too ambiguous; addresses only after an
//! address label or under an address column, when `address` decides the
//! address is a natural person's.

use std::ops::Range;

use regex::Regex;

use crate::{address, table};

/// Compiled once per detector.
#[derive(Debug)]
pub struct Patterns {
    email: Regex,
    qq: Regex,
    wechat: Regex,
    plate: Regex,
    address: Regex,
    person: Regex,
    minor: Regex,
    triggers: Triggers,
}

/// PIPL §28 categories and the words that reveal them about a person (in
/// the order a regex alternation of them would try them), and the
/// pattern of an age below 14 for 未成年人.
const CATEGORIES: &[(&str, &[&str])] = &[
    (
        "医疗健康",
        &[
            "艾滋病",
            "hiv",
            "乙肝",
            "梅毒",
            "结核病",
            "精神病",
            "精神分裂",
            "抑郁症",
            "癌症",
            "白血病",
            "尿毒症",
            "确诊",
            "病史",
            "诊断为",
            "患有",
            "传染病患者",
            "残疾等级",
            "残疾人证号",
        ],
    ),
    (
        "宗教信仰",
        &["宗教信仰", "信仰佛教", "信仰基督教", "信仰天主教", "信仰伊斯兰教", "信仰道教", "基督徒", "穆斯林", "受洗"],
    ),
    ("特定身份", &["刑满释放", "前科", "服刑", "吸毒", "戒毒", "社区矫正", "性取向", "同性恋"]),
    ("生物识别", &["指纹", "虹膜", "人脸信息", "面部特征", "基因", "dna"]),
    ("行踪轨迹", &["行踪", "活动轨迹", "行程轨迹", "出行轨迹"]),
];
const MINOR: (&str, &str) = ("未成年人", r"(?:^|[^0-9])(?:[1-9]|1[0-3])(?:周岁|岁)");

/// The labels every QQ, WeChat, plate and address match starts with.
const QQ_LABELS: &[&str] = &["qq"];
const WECHAT_LABELS: &[&str] = &["微信"];
const PLATE_LABELS: &[&str] = &["车牌", "号牌", "车辆"];
/// What every e-mail match contains (its `@` or anti-spam spelling).
const EMAIL_MARKS: &[&str] = &["@", "#", "(at)", "[at]", "{at}", " at "];
/// Top-level domains accepted after the spelled-out ` at … dot …` form, which
/// English words could otherwise imitate.
const SPELLED_TLDS: &[&str] =
    &["com", "cn", "net", "org", "edu", "gov", "info", "biz", "top", "xyz", "io", "me", "cc", "hk", "mo", "tw"];

/// Header words of an organisation's column (单位地址, 企业名称).
const ORG_HEADER_WORDS: &[&str] = &["单位", "企业", "公司", "机构", "名称", "办公", "项目", "场所", "经营"];

/// A table about people: a 姓名 (or 户主) column and no organisation column.
fn person_table(header: &str) -> bool {
    (header.contains("姓名") || header.contains("户主")) && !ORG_HEADER_WORDS.iter().any(|w| header.contains(w))
}

/// A match spelled out with ` at ` or ` dot ` must end in a common
/// top-level domain; other matches pass.
fn spelled_ok(a: &str) -> bool {
    let spelled = a.contains(" at ") || a.contains(" dot ");
    !spelled || SPELLED_TLDS.iter().any(|d| a.ends_with(&format!(".{d}")) || a.ends_with(&format!(" {d}")))
}

/// Characters a text says stand for `@` (`将★换成@`, `#替换为@`).
fn stand_ins(t: &str) -> Vec<char> {
    let mut out = Vec::new();
    for verb in ["换成@", "替换为@", "替换成@", "改为@", "改成@", "换为@"] {
        for (at, _) in t.match_indices(verb) {
            let c = t[..at].trim_end_matches(['"', '\'', '“', '”', '‘', '’']).chars().next_back();
            if let Some(c) = c.filter(|c| !c.is_alphanumeric() && !c.is_whitespace() && *c != '@' && *c != '#')
                && !out.contains(&c)
            {
                out.push(c);
            }
        }
    }
    out
}

/// The mailbox around a stand-in for `@` at byte `at`: a local part before,
/// a dotted domain after.
fn around(t: &str, at: usize, c: char) -> Option<Range<usize>> {
    let local = |b: u8| b.is_ascii_alphanumeric() || b"._%+-".contains(&b);
    let b = t.as_bytes();
    let mut start = at;
    while start > 0 && local(b[start - 1]) {
        start -= 1;
    }
    let from = at + c.len_utf8();
    let mut end = from;
    while end < b.len() && (b[end].is_ascii_alphanumeric() || b[end] == b'-' || b[end] == b'.') {
        end += 1;
    }
    let domain = t[from..end].trim_end_matches('.');
    let end = from + domain.len();
    let tld = domain.rsplit('.').next().unwrap_or("");
    let ok = start < at
        && b[start].is_ascii_alphanumeric()
        && domain.contains('.')
        && tld.len() >= 2
        && tld.bytes().all(|x| x.is_ascii_lowercase());
    ok.then_some(start..end)
}

/// An e-mail match taken apart: where its local part ends and its domain
/// with `(dot)`, ` dot ` … read as dots.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EmailParts {
    pub local_end: usize,
    pub local: String,
    pub domain: String,
}

impl EmailParts {
    /// `local@domain`.
    pub fn canonical(&self) -> String {
        format!("{}@{}", self.local, self.domain)
    }
}

/// Splits an e-mail match (normalised text) at its `@` or stand-in.
pub fn email_parts(addr: &str) -> Option<EmailParts> {
    let local_end = addr.find(|c: char| !(c.is_ascii_alphanumeric() || "._%+-".contains(c)))?;
    let rest = addr[local_end..].trim_start();
    let rest = ["(at)", "[at]", "{at}", "at ", "@", "#"]
        .iter()
        .find_map(|s| rest.strip_prefix(s))
        .unwrap_or_else(|| rest.get(rest.chars().next().map_or(0, char::len_utf8)..).unwrap_or(""));
    let domain = rest.trim().replace("(dot)", ".").replace("[dot]", ".").replace(" dot ", ".").replace(' ', "");
    Some(EmailParts { local_end, local: addr[..local_end].to_owned(), domain })
}

/// Longer than any match of the label-led patterns (with the character
/// after it): a match starting at a label is found in a window this long.
const WINDOW: usize = 256;

/// What a trigger word found by [`Triggers`] stands for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Trigger {
    /// A word of `CATEGORIES[i]`.
    Category(usize),
    Qq,
    Wechat,
    Plate,
    Address,
    Email,
    /// `岁`, which every match of the age pattern contains.
    Age,
}

/// Every trigger word, found in one pass over the text instead of one
/// regex scan per pattern (a regex's literal prefilter is a SIMD search
/// natively, but a byte-at-a-time automaton in WebAssembly).
#[derive(Debug)]
struct Triggers {
    /// (first character, word, trigger), sorted by first character; words
    /// of one category keep their order.
    words: Vec<(char, &'static str, Trigger)>,
    /// One bit per code point below 0xA000 (every first character is).
    firsts: Vec<u64>,
}

/// Where the patterns can match in one text.
#[derive(Debug, Default)]
pub struct Hits {
    /// Per literal category, its matches as a leftmost-first regex
    /// alternation of its words would find them.
    categories: Vec<Vec<Range<usize>>>,
    qq: Vec<usize>,
    wechat: Vec<usize>,
    plate: Vec<usize>,
    address: Vec<usize>,
    email: bool,
    age: bool,
}

impl Triggers {
    fn new() -> Triggers {
        let mut words = Vec::new();
        for (i, (_, list)) in CATEGORIES.iter().enumerate() {
            words.extend(list.iter().map(|w| (w, Trigger::Category(i))));
        }
        for (list, t) in [
            (QQ_LABELS, Trigger::Qq),
            (WECHAT_LABELS, Trigger::Wechat),
            (PLATE_LABELS, Trigger::Plate),
            (EMAIL_MARKS, Trigger::Email),
            (&["岁"][..], Trigger::Age),
        ] {
            words.extend(list.iter().map(|w| (w, t)));
        }
        words.extend(address::LABELS.iter().map(|(w, _)| (w, Trigger::Address)));
        let mut words: Vec<(char, &'static str, Trigger)> =
            words.into_iter().map(|(w, t)| (w.chars().next().expect("non-empty word"), *w, t)).collect();
        words.sort_by_key(|(c, _, _)| *c);
        let mut firsts = vec![0u64; 0xA000 / 64];
        for (c, _, _) in &words {
            let i = *c as usize;
            assert!(i < 0xA000, "trigger {c} outside the bitmap");
            firsts[i / 64] |= 1 << (i % 64);
        }
        Triggers { words, firsts }
    }

    fn scan(&self, t: &str) -> Hits {
        let b = t.as_bytes();
        let mut hits = Hits { categories: vec![Vec::new(); CATEGORIES.len()], ..Hits::default() };
        // Per category, where its alternation resumes after its last match.
        let mut resume = vec![0usize; CATEGORIES.len()];
        for (s, c) in t.char_indices() {
            let cp = c as usize;
            if cp >= 0xA000 || self.firsts[cp / 64] & (1 << (cp % 64)) == 0 {
                continue;
            }
            let from = self.words.partition_point(|(f, _, _)| *f < c);
            for (_, word, trigger) in self.words[from..].iter().take_while(|(f, _, _)| *f == c) {
                let at = |list: &mut Vec<usize>| {
                    if b[s..].starts_with(word.as_bytes()) && list.last() != Some(&s) {
                        list.push(s);
                    }
                };
                match *trigger {
                    Trigger::Category(i) => {
                        if resume[i] <= s && b[s..].starts_with(word.as_bytes()) {
                            hits.categories[i].push(s..s + word.len());
                            resume[i] = s + word.len();
                        }
                    }
                    Trigger::Qq => at(&mut hits.qq),
                    Trigger::Wechat => at(&mut hits.wechat),
                    Trigger::Plate => at(&mut hits.plate),
                    Trigger::Address => at(&mut hits.address),
                    Trigger::Email => hits.email |= b[s..].starts_with(word.as_bytes()),
                    Trigger::Age => hits.age = true,
                }
            }
        }
        hits
    }
}

/// The matches of `re` in `t`, as `re.captures_iter(t)` gives them, given
/// every position where a match can start (ascending): `re` runs only on a
/// window from each candidate. `re` must match only at a candidate, never
/// match empty, never look past `WINDOW` bytes from its start, and have no
/// `$`-like assertion that the window's end could fake within that length.
fn captures_at_candidates<'t>(re: &Regex, t: &'t str, starts: &[usize]) -> Vec<regex::Captures<'t>> {
    let mut out = Vec::new();
    let mut resume = 0;
    for &s in starts {
        if s < resume {
            continue;
        }
        let mut end = (s + WINDOW).min(t.len());
        while !t.is_char_boundary(end) {
            end += 1;
        }
        if let Some(c) = re.captures_at(&t[..end], s) {
            let m = c.get(0).expect("group 0");
            if m.start() == s {
                resume = m.end();
                out.push(c);
            }
        }
    }
    out
}

impl Patterns {
    pub fn new() -> Patterns {
        let re = |s: &str| Regex::new(s).expect("built-in pattern compiles");
        Patterns {
            // `@`, or the anti-spam spellings `(at)`, `[at]`, `{at}`, `#` and
            // ` at `, with `.` or `(dot)`, `[dot]`, ` dot ` in the domain.
            email: re(
                r"[a-z0-9][a-z0-9._%+-]*(?:@| ?\(at\) ?| ?\[at\] ?| ?\{at\} ?| ?# ?| at )[a-z0-9-]+(?:(?:\.| ?\(dot\) ?| ?\[dot\] ?| dot )[a-z0-9-]+)*(?:\.| ?\(dot\) ?| ?\[dot\] ?| dot )[a-z]{2,}",
            ),
            qq: re(r"qq(?:号码|号)?[ ]?[:]?[ ]?([1-9][0-9]{4,10})(?:[^0-9]|$)"),
            wechat: re(r"(?:微信号|微信)[ ]?[:][ ]?([a-z][-_a-z0-9]{5,19})(?:[^-_a-z0-9]|$)"),
            plate: re(
                r"(?:车牌|号牌|车辆)[^\n。;]{0,12}?([京津沪渝冀豫云辽黑湘皖鲁新苏浙赣鄂桂甘晋蒙陕吉闽贵粤青藏川宁琼][a-hj-np-z][·.]?[a-hj-np-z0-9]{4}[a-hj-np-z0-9挂学警]{1,2})(?:[^a-z0-9]|$)",
            ),
            address: re(&format!(
                r"(?:{})[:]?[ ]?([^\n\t,;。()]{{4,40}})",
                address::LABELS.iter().map(|(w, _)| *w).collect::<Vec<_>>().join("|")
            )),
            person: re(
                r"(?:姓名|当事人|申请人|被申请人|患者|村民|户主|学生|职工|举报人|投诉人|家属|经营者)[:]?[ ]?\p{Han}{2,4}",
            ),
            minor: re(MINOR.1),
            triggers: Triggers::new(),
        }
    }

    /// Where the patterns can match in `t`: one pass, for the methods below.
    pub fn scan(&self, t: &str) -> Hits {
        self.triggers.scan(t)
    }

    /// E-mail address spans: the patterns above, and an address written
    /// with any other stand-in for `@` that the text explains (`将★换成@`).
    pub fn emails(&self, t: &str, hits: &Hits) -> Vec<Range<usize>> {
        if !hits.email {
            return Vec::new();
        }
        let mut out: Vec<Range<usize>> =
            self.email.find_iter(t).filter(|m| spelled_ok(m.as_str())).map(|m| m.range()).collect();
        for c in stand_ins(t) {
            for (at, _) in t.match_indices(c) {
                if let Some(r) = around(t, at, c)
                    && !out.iter().any(|o| o.start < r.end && r.start < o.end)
                {
                    out.push(r);
                }
            }
        }
        out.sort_by_key(|r| r.start);
        out
    }

    /// QQ, WeChat and plate findings: (rule, kind, span, message).
    pub fn contacts(&self, t: &str, hits: &Hits) -> Vec<(&'static str, &'static str, Range<usize>, String)> {
        let mut out = Vec::new();
        for c in captures_at_candidates(&self.qq, t, &hits.qq) {
            let m = c.get(1).expect("group");
            out.push((
                "PII-008",
                "qq",
                m.range(),
                "含有QQ号。个人QQ号属于个人信息，公开前请遮蔽，或改用单位公开联系方式。".to_owned(),
            ));
        }
        for c in captures_at_candidates(&self.wechat, t, &hits.wechat) {
            let m = c.get(1).expect("group");
            out.push((
                "PII-008",
                "wechat",
                m.range(),
                "含有微信号。个人微信号属于个人信息，公开前请遮蔽；如为机构公众号，请加入白名单。".to_owned(),
            ));
        }
        for c in captures_at_candidates(&self.plate, t, &hits.plate) {
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

    /// A natural person's addresses, down to a house part: (span, suggestion).
    pub fn addresses(&self, t: &str, hits: &Hits) -> Vec<(Range<usize>, String)> {
        use address::{LabelKind, Subject};
        let mut out: Vec<(Range<usize>, String)> = Vec::new();
        for c in captures_at_candidates(&self.address, t, &hits.address) {
            let (m, v) = (c.get(0).expect("group 0"), c.get(1).expect("group 1"));
            let Some(kind) = address::label_kind(t[m.start()..v.start()].trim_end_matches([':', ' '])) else {
                continue;
            };
            if address::org_prefix(t, m.start()) {
                continue;
            }
            if kind == LabelKind::Bare && !t[..m.start()].ends_with([',', '、', ' ', '(', ':']) {
                continue;
            }
            let need_place = matches!(kind, LabelKind::Bare | LabelKind::Plain);
            let Some(span) = address::value_span(t, v.range(), need_place) else { continue };
            let who = address::subject(t, m.start(), kind == LabelKind::Domicile);
            let person = match kind {
                LabelKind::Residence | LabelKind::Domicile => who != Subject::Organisation,
                LabelKind::Plain => {
                    who == Subject::Person
                        || (who == Subject::Unknown
                            && table::header_of(t, m.start()).is_some_and(|(_, h)| person_table(h)))
                }
                LabelKind::Bare => who == Subject::Person,
            };
            if person {
                let s = address::suggestion(&t[span.clone()]);
                out.push((span, s));
            }
        }
        // Cells under an address column.
        let mut seen: Vec<(usize, usize)> = Vec::new();
        for &p in &hits.address {
            let Some((_, kind)) = address::LABELS.iter().find(|(w, _)| t[p..].starts_with(w)) else { continue };
            let Some((start, col)) = table::header_column(t, p) else { continue };
            if kind == &LabelKind::Bare || seen.contains(&(start, col)) {
                continue;
            }
            seen.push((start, col));
            let header = &t[table::line_at(t, start)];
            let cell = &header[table::cells(header)[col].clone()];
            let org_cell = ORG_HEADER_WORDS.iter().any(|w| cell.contains(w));
            if org_cell || (kind == &LabelKind::Plain && !person_table(header)) {
                continue;
            }
            for r in table::column_below(t, start, col) {
                if out.iter().any(|(o, _)| o.start < r.end && r.start < o.end) {
                    continue;
                }
                if let Some(span) = address::value_span(t, r, false) {
                    let s = address::suggestion(&t[span.clone()]);
                    out.push((span, s));
                }
            }
        }
        out.sort_by_key(|(r, _)| r.start);
        out
    }

    /// Sensitive-category words in a clause that also identifies a person
    /// (a named person after a role word, or an unmasked ID/mobile/card).
    /// Category words are rare, so they are searched first and the clause
    /// is examined only around a hit.
    pub fn categories(&self, t: &str, anchors: &[Range<usize>], hits: &Hits) -> Vec<(Range<usize>, &'static str)> {
        let is_end = |c: char| matches!(c, '。' | ';' | '!' | '?' | '\n');
        let mut out: Vec<(Range<usize>, &'static str)> = Vec::new();
        let mut seen: Vec<(usize, &'static str)> = Vec::new();
        let minor: Vec<Range<usize>> =
            if hits.age { self.minor.find_iter(t).map(|m| m.range()).collect() } else { Vec::new() };
        let found = CATEGORIES.iter().zip(&hits.categories).map(|((c, _), m)| (*c, m)).chain([(MINOR.0, &minor)]);
        for (category, matches) in found {
            for m in matches {
                let start =
                    t[..m.start].rfind(is_end).map_or(0, |i| i + t[i..].chars().next().map_or(1, char::len_utf8));
                let end = t[m.end..].find(is_end).map_or(t.len(), |i| m.end + i);
                if seen.contains(&(start, category)) {
                    continue;
                }
                let clause = &t[start..end];
                let named = self.person.find_iter(clause).any(|p| !p.as_str().contains('某'));
                let anchored = anchors.iter().any(|a| a.start >= start && a.end <= end);
                if named || anchored {
                    seen.push((start, category));
                    out.push((m.clone(), category));
                }
            }
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The regexes the trigger scan replaces, as they were.
    struct Reference {
        qq: Regex,
        wechat: Regex,
        plate: Regex,
        address: Regex,
        email: Regex,
        categories: Vec<Regex>,
    }

    fn reference(p: &Patterns) -> Reference {
        let re = |s: &str| Regex::new(s).unwrap();
        let mut categories: Vec<Regex> = vec![
            re(
                "艾滋病|hiv|乙肝|梅毒|结核病|精神病|精神分裂|抑郁症|癌症|白血病|尿毒症|确诊|病史|诊断为|患有|传染病患者|残疾等级|残疾人证号",
            ),
            re("宗教信仰|信仰(?:佛教|基督教|天主教|伊斯兰教|道教)|基督徒|穆斯林|受洗"),
            re("刑满释放|前科|服刑|吸毒|戒毒|社区矫正|性取向|同性恋"),
            re("指纹|虹膜|人脸信息|面部特征|基因|dna"),
            re("行踪|活动轨迹|行程轨迹|出行轨迹"),
        ];
        categories.push(p.minor.clone());
        Reference {
            qq: p.qq.clone(),
            wechat: p.wechat.clone(),
            plate: p.plate.clone(),
            address: p.address.clone(),
            email: p.email.clone(),
            categories,
        }
    }

    /// The trigger scan finds exactly what every regex finds on its own.
    #[track_caller]
    fn same_as_regexes(p: &Patterns, r: &Reference, t: &str) {
        let hits = p.scan(t);
        let ranges = |re: &Regex| re.find_iter(t).map(|m| m.range()).collect::<Vec<_>>();
        let groups = |re: &Regex| re.captures_iter(t).map(|c| c.get(1).unwrap().range()).collect::<Vec<_>>();
        let emails: Vec<Range<usize>> =
            r.email.find_iter(t).filter(|m| spelled_ok(m.as_str())).map(|m| m.range()).collect();
        assert_eq!(p.emails(t, &hits), emails, "emails in {t:?}");
        let contacts: Vec<Range<usize>> = p.contacts(t, &hits).into_iter().map(|c| c.2).collect();
        let want: Vec<Range<usize>> = [&r.qq, &r.wechat, &r.plate].into_iter().flat_map(groups).collect();
        assert_eq!(contacts, want, "contacts in {t:?}");
        let addresses: Vec<Range<usize>> = captures_at_candidates(&p.address, t, &hits.address)
            .into_iter()
            .map(|c| c.get(1).unwrap().range())
            .collect();
        assert_eq!(addresses, groups(&r.address), "addresses in {t:?}");
        for (i, re) in r.categories.iter().enumerate().take(CATEGORIES.len()) {
            assert_eq!(hits.categories[i], ranges(re), "category {i} in {t:?}");
        }
        assert!(hits.age || !r.categories[CATEGORIES.len()].is_match(t));
    }

    #[test]
    fn trigger_scan_equals_the_regexes() {
        let p = Patterns::new();
        let r = reference(&p);
        let words: Vec<&str> = CATEGORIES
            .iter()
            .flat_map(|(_, l)| l.iter().copied())
            .chain(QQ_LABELS.iter().chain(WECHAT_LABELS).chain(PLATE_LABELS).copied())
            .chain(address::LABELS.iter().map(|(w, _)| *w))
            .chain([
                "精神",
                "信仰",
                "病",
                "号:",
                ": ",
                " ",
                "12345678",
                "1",
                "7",
                "12",
                "岁",
                "周岁",
                "苏a",
                "b1234",
                "·",
                "江城市东湖区幸福路12号3幢",
                "@",
                "(at)",
                "[at]",
                " at ",
                " dot ",
                "(dot)",
                "126",
                "#",
                "zhang.san",
                "example.com",
                "wx_abc123",
                "\n",
                "。",
                "某",
                "患者张三",
                "住",
                "qqq",
                "q",
                "家",
                "户籍",
                "微",
                "车",
                "，",
                "a",
                "-",
            ])
            .collect();
        let mut seed: u64 = 0x2545_F491_4F6C_DD1D;
        let mut next = || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        for _ in 0..20_000 {
            let n = (next() % 12) as usize;
            let t: String = (0..n).map(|_| words[(next() % words.len() as u64) as usize]).collect();
            same_as_regexes(&p, &r, &t.replace("\\n", "\n"));
        }
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        for corpus in ["corpus", "corpus-evasion", "corpus-s7"] {
            let Ok(text) = std::fs::read_to_string(root.join(corpus).join("items.jsonl")) else { continue };
            for line in text.lines().take(300) {
                let v: serde_json::Value = serde_json::from_str(line).unwrap();
                for field in ["title", "body"] {
                    let norm =
                        textnorm::Normalized::new(v[field].as_str().unwrap_or(""), &textnorm::Options::keep_layout());
                    same_as_regexes(&p, &r, norm.text());
                }
            }
        }
    }
}
