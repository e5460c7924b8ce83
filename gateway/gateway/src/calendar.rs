//! The holiday calendar in force: the years shipped in `policies/calendar/`
//! overlaid with the years the publication office loaded into the store (a
//! loaded year replaces the shipped one, provisional or not), swapped in
//! without a restart; the checks a loaded year must pass, with the reasons
//! in Chinese; the office's pasted form of a State Council notice; and the
//! warning that the published years are about to run out.
//!
//! Working-day arithmetic itself is `workdays`; deadlines are
//! `workflow::deadline`. This module does no SQL (`store::calendar`) and
//! knows no HTTP shapes (`http::calendar`).

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};

use arc_swap::ArcSwap;
use workdays::{Calendar, Date, Holiday, YearArrangement};

use crate::model::{Timestamp, UserId};
use crate::store::{Db, StoreError, StoredCalendarYear};

/// Days before the published years end when the gateway starts warning.
pub const WARN_DAYS_BEFORE_END: i64 = 60;

/// Where a year of the calendar in force comes from.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Origin {
    /// A file in `policies/calendar/`.
    Shipped,
    /// Loaded by the office (web page, API or `gateway calendar load`).
    Loaded { by: Option<UserId>, at: Timestamp },
}

/// One year of the calendar in force.
#[derive(Clone, Debug)]
pub struct EffectiveYear {
    pub arrangement: YearArrangement,
    pub origin: Origin,
}

/// The calendar in force and the years it is made of.
#[derive(Debug)]
pub struct Effective {
    pub calendar: Calendar,
    pub years: Vec<EffectiveYear>,
}

/// The calendar in force, shared by every request and the sweeper.
pub struct Calendars {
    shipped: Vec<YearArrangement>,
    current: ArcSwap<Effective>,
    /// The China date the end-of-calendar warning was last logged.
    logged_on: Mutex<Option<Date>>,
}

impl Calendars {
    /// The shipped years only (the store is read by [`Calendars::refresh`]).
    pub fn new(shipped: Vec<YearArrangement>) -> Calendars {
        let current = ArcSwap::from_pointee(effective(&shipped, Vec::new()));
        Calendars { shipped, current, logged_on: Mutex::new(None) }
    }

    /// The calendar in force now.
    pub fn current(&self) -> Arc<Effective> {
        self.current.load_full()
    }

    /// Re-reads the loaded years from the store and swaps the calendar in
    /// force. Called at start, after a load, and by the sweeper (so several
    /// gateway processes on one database converge).
    pub async fn refresh(&self, db: &Db) -> Result<(), StoreError> {
        let loaded = db.calendar_years().await?;
        self.current.store(Arc::new(effective(&self.shipped, loaded)));
        Ok(())
    }

    /// Logs the end-of-calendar warning at most once per China day.
    pub fn log_warning_daily(&self, today: Date) {
        let Some(w) = warning(&self.current().calendar, today) else { return };
        let mut logged = self.logged_on.lock().expect("not poisoned");
        if *logged != Some(today) {
            *logged = Some(today);
            tracing::warn!(confirmed_until = %w.confirmed_until.map(|d| d.to_string()).unwrap_or_default(),
                days_left = w.days_left, "{}", w.message);
        }
    }
}

/// Why a year was not loaded.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The arrangement fails [`check`]: every problem, in Chinese.
    #[error("{}", .0.join("；"))]
    Invalid(Vec<String>),
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Loads a year's arrangement: checks it, stores it with its
/// `calendar.load` audit event (what it replaced: the shipped file, its
/// provisional mark, or an earlier load), and puts it in force at once.
/// The one way in for the web page, the API and `gateway calendar load`.
pub async fn load_year(
    calendars: &Calendars,
    db: &Db,
    arrangement: &YearArrangement,
    actor: Option<UserId>,
    via: &str,
) -> Result<(), LoadError> {
    check(arrangement).map_err(LoadError::Invalid)?;
    calendars.refresh(db).await?;
    let current = calendars.current();
    let replaced = match current.years.iter().find(|y| y.arrangement.year == arrangement.year) {
        None => serde_json::Value::Null,
        Some(y) => serde_json::json!({
            "origin": match &y.origin { Origin::Shipped => "shipped", Origin::Loaded { .. } => "loaded" },
            "provisional": y.arrangement.provisional,
            "source": y.arrangement.source,
            "holidays": y.arrangement.holiday,
        }),
    };
    db.load_calendar_year(arrangement, actor, via, replaced).await?;
    calendars.refresh(db).await?;
    Ok(())
}

/// Shipped years overlaid with loaded ones. A stored year that no longer
/// passes the checks (it cannot, unless the database was edited by hand)
/// is skipped with an error in the log, and the shipped year stays.
fn effective(shipped: &[YearArrangement], loaded: Vec<StoredCalendarYear>) -> Effective {
    let mut years: BTreeMap<i32, EffectiveYear> =
        shipped.iter().map(|a| (a.year, EffectiveYear { arrangement: a.clone(), origin: Origin::Shipped })).collect();
    for l in loaded {
        if let Err(problems) = check(&l.arrangement) {
            tracing::error!(year = l.arrangement.year, problems = ?problems, "a stored holiday arrangement fails its checks; using the shipped year");
            continue;
        }
        let origin = Origin::Loaded { by: l.loaded_by, at: l.loaded_at };
        years.insert(l.arrangement.year, EffectiveYear { arrangement: l.arrangement, origin });
    }
    let mut calendar = Calendar::new();
    for y in years.values() {
        // Every year was checked on its own, and each year appears once.
        if let Err(e) = calendar.add_year(y.arrangement.clone()) {
            tracing::error!(year = y.arrangement.year, error = %e, "holiday arrangement refused");
        }
    }
    Effective { calendar, years: years.into_values().collect() }
}

/// The end-of-calendar warning.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Warning {
    /// The last day of the latest published year, if any.
    pub confirmed_until: Option<Date>,
    /// Calendar days from today to that day (negative once past).
    pub days_left: i64,
    /// In Chinese, for the banner, the log and the notification.
    pub message: String,
}

/// The warning, if the published years end within
/// [`WARN_DAYS_BEFORE_END`] days of `today` (or have ended).
pub fn warning(calendar: &Calendar, today: Date) -> Option<Warning> {
    let until = calendar.confirmed_until();
    let days_left = until.map_or(-1, |u| today.days_until(u));
    if days_left > WARN_DAYS_BEFORE_END {
        return None;
    }
    let next = until.map_or(today.year(), |u| u.year() + 1);
    let state = match until {
        Some(u) if days_left >= 0 => format!("已载入的国务院办公厅放假安排只到 {u}，还剩 {days_left} 天"),
        Some(u) => format!("已载入的国务院办公厅放假安排已于 {u} 结束"),
        None => "尚未载入任何年份的国务院办公厅放假安排".to_owned(),
    };
    let after = if calendar.is_provisional(next) {
        format!("{next} 年目前只有法定节假日的暂定安排（未含调休）")
    } else {
        format!("{next} 年没有任何安排，按周一至周五扣除固定日期的法定节假日推算")
    };
    Some(Warning {
        confirmed_until: until,
        days_left,
        message: format!(
            "{state}；{after}，跨入该年的期限都标为“暂定”。请政务公开办公室在“节假日安排”页面载入\
             《国务院办公厅关于{next}年部分节假日安排的通知》。"
        ),
    })
}

/// Checks a year's arrangement before it is stored. Every problem, in
/// Chinese; nothing is stored unless there are none.
pub fn check(arr: &YearArrangement) -> Result<(), Vec<String>> {
    let mut problems = Vec::new();
    let year = arr.year;
    if !(2000..=2100).contains(&year) {
        problems.push(format!("年份 {year} 不在 2000—2100 之间"));
        return Err(problems);
    }
    if arr.provisional {
        problems.push("只能载入国务院办公厅正式公布的放假安排（provisional 必须为 false）".into());
    }
    let source = arr.source.trim();
    if source.is_empty() {
        problems.push("请填写依据（通知的标题、文号和日期）".into());
    } else if source.chars().count() > 200 {
        problems.push("依据不能超过 200 个字".into());
    }
    if arr.holiday.is_empty() {
        problems.push("没有任何节日的放假安排".into());
    }
    let mut off: BTreeMap<Date, &str> = BTreeMap::new();
    let mut work: BTreeMap<Date, &str> = BTreeMap::new();
    for h in &arr.holiday {
        let name = h.name.trim();
        let label = if name.is_empty() { "（未命名）" } else { name };
        if name.is_empty() {
            problems.push("有一个节日没有名称".into());
        } else if name.chars().count() > 20 {
            problems.push(format!("节日名称“{}…”过长", name.chars().take(20).collect::<String>()));
        }
        let mut in_year = true;
        for d in [h.from, h.to].iter().chain(&h.workdays) {
            if d.year() != year {
                problems.push(format!("{label}：日期 {d} 不在 {year} 年内"));
                in_year = false;
            }
        }
        if h.from > h.to {
            problems.push(format!("{label}：放假开始日期 {} 晚于结束日期 {}", h.from, h.to));
            continue;
        }
        if h.from.days_until(h.to) >= 15 {
            problems.push(format!("{label}：放假 {} 至 {} 超过 15 天，请核对", h.from, h.to));
            continue;
        }
        if !in_year {
            continue;
        }
        let mut d = h.from;
        while d <= h.to {
            if let Some(other) = off.insert(d, label) {
                problems.push(format!("{label}：{d} 已在“{other}”的放假期间内"));
            }
            d = d.add_days(1);
        }
        for w in &h.workdays {
            if w.weekday() < 6 {
                problems.push(format!("{label}：调休上班日 {w} 是{}，不是周末", weekday_zh(*w)));
            }
            if work.insert(*w, label).is_some() {
                problems.push(format!("{label}：调休上班日 {w} 重复"));
            }
        }
    }
    for (w, label) in &work {
        if let Some(holiday) = off.get(w) {
            problems.push(format!("{label}：调休上班日 {w} 落在“{holiday}”的放假期间内"));
        }
    }
    for (m, d) in workdays::FIXED_STATUTORY_HOLIDAYS {
        if let Ok(date) = Date::new(year, m, d)
            && !off.contains_key(&date)
            && problems.iter().all(|p| !p.contains("不在"))
        {
            problems.push(format!("{date} 是法定节假日（《全国年节及纪念日放假办法》），安排中却没有放假，请核对"));
        }
    }
    if problems.is_empty() {
        // The crate's own checks agree; a disagreement is a bug here.
        if let Err(e) = Calendar::new().add_year(arr.clone()) {
            problems.push(format!("安排不一致：{e}"));
        }
    }
    if problems.is_empty() { Ok(()) } else { Err(problems) }
}

fn weekday_zh(d: Date) -> &'static str {
    ["星期一", "星期二", "星期三", "星期四", "星期五", "星期六", "星期日"][usize::from(d.weekday() - 1)]
}

/// Reads the office's pasted form of a notice: one festival a line,
///
/// ```text
/// 元旦 2027-01-01 至 2027-01-03
/// 春节 2027-02-05 至 2027-02-11 调休上班 2027-01-31、2027-02-20
/// 清明节 2027-04-05
/// ```
///
/// (dates also as `2027年2月5日`; a leading `一、` and separators `，`、`；`
/// are allowed), then runs [`check`]. Every problem, in Chinese, with its
/// line number.
pub fn parse_notice(year: i32, source: &str, text: &str) -> Result<YearArrangement, Vec<String>> {
    let mut problems = Vec::new();
    let mut holiday = Vec::new();
    for (i, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() {
            continue;
        }
        match parse_line(line) {
            Ok(h) => holiday.push(h),
            Err(p) => problems.push(format!("第 {} 行：{p}", i + 1)),
        }
    }
    if !problems.is_empty() {
        return Err(problems);
    }
    let arr = YearArrangement { year, source: source.trim().to_owned(), provisional: false, holiday };
    check(&arr)?;
    Ok(arr)
}

fn parse_line(line: &str) -> Result<Holiday, String> {
    let spaced: String = line
        .chars()
        .flat_map(|c| match c {
            '，' | ',' | '、' | '；' | ';' | '：' | ':' | '。' | '\t' | '\u{3000}' => vec![' '],
            '至' | '到' | '~' | '～' => vec![' ', '至', ' '],
            c => vec![c],
        })
        .collect();
    let spaced = spaced.replace("调休上班", " 调休上班 ");
    let mut tokens: Vec<&str> = spaced.split_whitespace().collect();
    if tokens.first().is_some_and(|t| t.chars().all(|c| "一二三四五六七八九十".contains(c))) {
        tokens.remove(0);
    }
    let first_date = tokens.iter().position(|t| t.starts_with(|c: char| c.is_ascii_digit()));
    let Some(first_date) = first_date.filter(|i| *i > 0) else {
        return Err(format!("应为“节日名称 放假开始日期 至 结束日期 [调休上班 日期…]”，无法识别“{line}”"));
    };
    let name = tokens[..first_date].join("、");
    let mut rest = tokens[first_date..].iter();
    let from = parse_date(rest.next().expect("a date token"))?;
    let mut to = from;
    let mut workdays = Vec::new();
    let mut in_workdays = false;
    let mut expect_to = false;
    for t in rest {
        match *t {
            "至" if !in_workdays && !expect_to && to == from => expect_to = true,
            "调休上班" if !in_workdays => {
                if expect_to {
                    return Err("“至”后面缺少结束日期".into());
                }
                in_workdays = true;
            }
            t if expect_to => {
                to = parse_date(t)?;
                expect_to = false;
            }
            t if in_workdays => workdays.push(parse_date(t)?),
            t => return Err(format!("无法识别“{t}”：放假日期后只能写“至 结束日期”和“调休上班 日期…”")),
        }
    }
    if expect_to {
        return Err("“至”后面缺少结束日期".into());
    }
    if in_workdays && workdays.is_empty() {
        return Err("“调休上班”后面缺少日期".into());
    }
    Ok(Holiday { name, from, to, workdays })
}

/// `2027-02-05` or `2027年2月5日`.
fn parse_date(t: &str) -> Result<Date, String> {
    let bad = || format!("“{t}”不是有效日期（应为 2027-02-05 或 2027年2月5日）");
    if let Ok(d) = Date::parse(t) {
        return Ok(d);
    }
    let (y, rest) = t.split_once('年').ok_or_else(bad)?;
    let (m, rest) = rest.split_once('月').ok_or_else(bad)?;
    let d = rest.strip_suffix('日').ok_or_else(bad)?;
    let num = |s: &str| s.parse::<u32>().map_err(|_| bad());
    let (y, m, d) = (num(y)?, num(m)?, num(d)?);
    Date::new(
        i32::try_from(y).map_err(|_| bad())?,
        u8::try_from(m).map_err(|_| bad())?,
        u8::try_from(d).map_err(|_| bad())?,
    )
    .map_err(|_| bad())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    fn shipped() -> Vec<YearArrangement> {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../policies/calendar");
        crate::workflow::policy::read_calendar_years(&dir).unwrap()
    }

    const NOTICE: &str = "一、元旦：2027年1月1日 至 2027年1月3日\n\
        春节 2027-02-05 至 2027-02-11 调休上班 2027-02-20\n\
        清明节 2027-04-03 至 2027-04-05\n\
        劳动节 2027-05-01 至 2027-05-05 调休上班 2027-04-25、2027-05-08\n\
        端午节 2027-06-09\n\
        中秋节 2027-09-15 至 2027-09-17\n\
        国庆节 2027-10-01 至 2027-10-07 调休上班 2027-09-26，2027-10-09\n";

    #[test]
    fn the_pasted_notice_is_read() {
        let arr = parse_notice(2027, " 国办发明电〔2026〕1号 ", NOTICE).unwrap();
        assert_eq!(arr.source, "国办发明电〔2026〕1号");
        assert_eq!(arr.holiday.len(), 7);
        assert_eq!(arr.holiday[0].name, "元旦");
        assert_eq!((arr.holiday[0].from, arr.holiday[0].to), (d("2027-01-01"), d("2027-01-03")));
        assert_eq!(arr.holiday[3].workdays, vec![d("2027-04-25"), d("2027-05-08")]);
        assert_eq!((arr.holiday[4].from, arr.holiday[4].to), (d("2027-06-09"), d("2027-06-09")));
        assert_eq!(arr.holiday[6].workdays, vec![d("2027-09-26"), d("2027-10-09")]);
    }

    #[test]
    fn bad_notices_are_refused_in_chinese() {
        let base = |extra: &str| {
            format!("元旦 2027-01-01\n劳动节 2027-05-01 至 2027-05-02\n国庆节 2027-10-01 至 2027-10-03\n{extra}")
        };
        for (text, want) in [
            (base("春节 2026-02-05 至 2026-02-08"), "不在 2027 年内"),
            (base("春节 2027-02-08 至 2027-02-05"), "晚于结束日期"),
            (base("春节 2027-02-05 至 2027-02-11 调休上班 2027-02-09"), "落在“春节”的放假期间内"),
            (base("春节 2027-02-05 至 2027-02-11 调休上班 2027-02-17"), "是星期三，不是周末"),
            (base("春节 2027-02-05 至"), "缺少结束日期"),
            (base("春节 2027-02-30"), "不是有效日期"),
            (base("春节 2027-02-05 至 2027-03-11"), "超过 15 天"),
            (base("春节 2027-02-05 调休上班"), "缺少日期"),
            (base("春节 放假"), "无法识别"),
            (base("中秋节 2027-10-01"), "已在“国庆节”的放假期间内"),
            ("春节 2027-02-05 至 2027-02-11".to_owned(), "2027-01-01 是法定节假日"),
            (String::new(), "没有任何节日"),
        ] {
            let problems = parse_notice(2027, "通知", &text).unwrap_err().join("；");
            assert!(problems.contains(want), "{text:?}: {problems} should mention {want}");
        }
        assert!(parse_notice(2027, "  ", &base("")).unwrap_err()[0].contains("请填写依据"));
        assert!(parse_notice(1999, "x", &base("")).unwrap_err()[0].contains("不在 2000"));
        let mut provisional = parse_notice(2027, "x", &base("")).unwrap();
        provisional.provisional = true;
        assert!(check(&provisional).unwrap_err()[0].contains("正式公布"));
    }

    #[test]
    fn a_loaded_year_replaces_the_shipped_provisional_one() {
        let shipped = shipped();
        let before = effective(&shipped, Vec::new());
        assert!(before.calendar.is_provisional(2027));
        let arr = parse_notice(2027, "通知", NOTICE).unwrap();
        let at = Timestamp::now();
        let after = effective(&shipped, vec![StoredCalendarYear { arrangement: arr, loaded_by: None, loaded_at: at }]);
        assert!(!after.calendar.is_provisional(2027));
        assert_eq!(after.calendar.confirmed_until(), Some(d("2027-12-31")));
        let y = after.years.iter().find(|y| y.arrangement.year == 2027).unwrap();
        assert_eq!(y.origin, Origin::Loaded { by: None, at });
        // 2027-02-20 (Sat) is now a working day, 2-9 is off.
        assert_eq!(after.calendar.is_working_day(d("2027-02-20")), Ok(true));
        assert_eq!(after.calendar.is_working_day(d("2027-02-09")), Ok(false));
    }

    #[test]
    fn the_warning_starts_sixty_days_before_the_published_years_end() {
        let shipped = shipped();
        let cal = effective(&shipped, Vec::new()).calendar;
        // Today, 2026-12-07, with 2026 the last published year.
        let w = warning(&cal, d("2026-12-07")).unwrap();
        assert_eq!((w.confirmed_until, w.days_left), (Some(d("2026-12-31")), 24));
        assert!(w.message.contains("2027 年目前只有法定节假日的暂定安排"), "{}", w.message);
        assert!(w.message.contains("《国务院办公厅关于2027年部分节假日安排的通知》"));
        assert_eq!(warning(&cal, d("2026-11-01")).map(|w| w.days_left), Some(60));
        assert_eq!(warning(&cal, d("2026-10-31")), None, "61 days before");
        let past = warning(&cal, d("2027-01-04")).unwrap();
        assert!(past.days_left < 0 && past.message.contains("已于 2026-12-31 结束"));
        // Without the provisional 2027 file the message says what happens.
        let bare = effective(&shipped.iter().filter(|y| y.year < 2027).cloned().collect::<Vec<_>>(), Vec::new());
        assert!(warning(&bare.calendar, d("2026-12-07")).unwrap().message.contains("2027 年没有任何安排"));
        // Once 2027 is published, nothing to warn about in December 2026.
        let arr = parse_notice(2027, "通知", NOTICE).unwrap();
        let loaded = StoredCalendarYear { arrangement: arr, loaded_by: None, loaded_at: Timestamp::now() };
        assert_eq!(warning(&effective(&shipped, vec![loaded]).calendar, d("2026-12-07")), None);
    }
}
