//! Working days over the national holiday calendar.
//!
//! The State Council publishes each year which days are 法定节假日 and which
//! weekend days become working days instead (调休上班). This crate reads that
//! arrangement from a small TOML file per year (`policies/calendar/<year>.toml`)
//! and answers the two questions the 条例 asks: what is the N-th working day
//! after a date (§26, §33 deadlines) and how many working days lie between two
//! dates. It deliberately knows nothing about time zones beyond reading an
//! RFC 3339 timestamp as a date in China (UTC+8), and it refuses to guess for a
//! year it has no arrangement for: a deadline computed on plain weekdays would
//! be silently wrong around 春节.
//!
//! Where a deadline must still be shown past the calendar's end, the
//! `reckon_*` methods compute it by a documented fallback and say so: a year
//! marked `provisional` (only the statutory days known, 调休 not yet
//! published) is used as written, and a year with no arrangement at all
//! counts Monday to Friday minus the statutory holidays whose dates are fixed
//! in the solar calendar (元旦 1-1, 劳动节 5-1/5-2, 国庆节 10-1..10-3; the lunar
//! ones need the year's arrangement). Every such result is [`Reckoned`] with
//! `provisional: true`, never silently exact.
//!
//! It depends only on `serde`, `toml` and `thiserror`, so that the gateway can
//! use it natively and plugins can link it on `wasm32-wasip2`.
//!
//! ```
//! use workdays::{Calendar, Date};
//! let cal = Calendar::from_toml(include_str!("../../../policies/calendar/2025.toml")).unwrap();
//! let formed = Date::parse("2025-01-20").unwrap();
//! // 1-26 (Sunday) is a make-up workday, 1-28..2-4 are off.
//! assert_eq!(cal.add_working_days(formed, 5).unwrap(), Date::parse("2025-01-26").unwrap());
//! assert_eq!(cal.add_working_days(formed, 7).unwrap(), Date::parse("2025-02-05").unwrap());
//! ```

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde::{Deserialize, Serialize};

/// Everything that can go wrong when reading a calendar or computing with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The text is not a date of the form `YYYY-MM-DD` (or an RFC 3339 time).
    #[error("invalid date {0:?}")]
    InvalidDate(String),
    /// The calendar file is not valid TOML of the expected shape.
    #[error("invalid calendar file: {0}")]
    InvalidFile(String),
    /// A date in a year's file lies outside that year, or a range is reversed.
    #[error("calendar for {year}: {problem}")]
    Inconsistent {
        /// The `year` of the offending file.
        year: i32,
        /// What is wrong.
        problem: String,
    },
    /// Two files were given for the same year.
    #[error("calendar for {0} given twice")]
    DuplicateYear(i32),
    /// A computation needed a year for which no arrangement is loaded.
    #[error("no holiday arrangement loaded for {0}")]
    YearNotCovered(i32),
}

/// A calendar date (proleptic Gregorian).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Date {
    year: i32,
    month: u8,
    day: u8,
}

impl Date {
    /// A checked date.
    pub fn new(year: i32, month: u8, day: u8) -> Result<Date, Error> {
        if !(1..=12).contains(&month) || day == 0 || day > days_in_month(year, month) {
            return Err(Error::InvalidDate(format!("{year:04}-{month:02}-{day:02}")));
        }
        Ok(Date { year, month, day })
    }

    /// Parses `YYYY-MM-DD`.
    pub fn parse(s: &str) -> Result<Date, Error> {
        let bad = || Error::InvalidDate(s.to_string());
        let b = s.as_bytes();
        if b.len() != 10 || b[4] != b'-' || b[7] != b'-' {
            return Err(bad());
        }
        let year: i32 = s[0..4].parse().map_err(|_| bad())?;
        let month: u8 = s[5..7].parse().map_err(|_| bad())?;
        let day: u8 = s[8..10].parse().map_err(|_| bad())?;
        Date::new(year, month, day).map_err(|_| bad())
    }

    /// The date in China (UTC+8) of an RFC 3339 timestamp such as
    /// `2025-01-26T18:30:00Z` (which is 2025-01-27 in Beijing). A bare
    /// `YYYY-MM-DD` is taken as that date.
    pub fn from_rfc3339_in_china(s: &str) -> Result<Date, Error> {
        let bad = || Error::InvalidDate(s.to_string());
        let s = s.trim();
        if s.len() == 10 {
            return Date::parse(s);
        }
        if s.len() < 16 || !matches!(s.as_bytes()[10], b'T' | b't' | b' ') {
            return Err(bad());
        }
        let date = Date::parse(&s[..10]).map_err(|_| bad())?;
        let hour: i64 = s.get(11..13).and_then(|h| h.parse().ok()).ok_or_else(bad)?;
        let minute: i64 = s.get(14..16).and_then(|m| m.parse().ok()).ok_or_else(bad)?;
        if hour > 23 || minute > 59 || s.as_bytes()[13] != b':' {
            return Err(bad());
        }
        // The offset is the trailing `Z` or `±HH:MM`; seconds and fractions
        // in between do not move the date.
        let offset_minutes: i64 = if s.ends_with(['Z', 'z']) {
            0
        } else {
            let tail = s.get(s.len() - 6..).ok_or_else(bad)?;
            let sign = match tail.as_bytes()[0] {
                b'+' => 1,
                b'-' => -1,
                _ => return Err(bad()),
            };
            let oh: i64 = tail[1..3].parse().map_err(|_| bad())?;
            let om: i64 = tail[4..6].parse().map_err(|_| bad())?;
            sign * (oh * 60 + om)
        };
        let local_minutes = hour * 60 + minute - offset_minutes + 8 * 60;
        Ok(date.add_days(local_minutes.div_euclid(24 * 60)))
    }

    /// The year.
    pub fn year(&self) -> i32 {
        self.year
    }

    /// The month, 1–12.
    pub fn month(&self) -> u8 {
        self.month
    }

    /// The day of the month, 1–31.
    pub fn day(&self) -> u8 {
        self.day
    }

    /// ISO weekday: 1 = Monday … 7 = Sunday.
    pub fn weekday(&self) -> u8 {
        // 1970-01-01 was a Thursday (4).
        ((self.days_since_epoch() + 3).rem_euclid(7) + 1) as u8
    }

    /// The date `n` calendar days later (earlier for negative `n`).
    pub fn add_days(&self, n: i64) -> Date {
        from_days(self.days_since_epoch() + n)
    }

    /// Calendar days from `self` to `other` (negative when `other` is earlier).
    pub fn days_until(&self, other: Date) -> i64 {
        other.days_since_epoch() - self.days_since_epoch()
    }

    fn days_since_epoch(&self) -> i64 {
        // Howard Hinnant's days_from_civil.
        let y = i64::from(self.year) - i64::from(self.month <= 2);
        let era = y.div_euclid(400);
        let yoe = y - era * 400;
        let m = i64::from(self.month);
        let doy = (153 * (if m > 2 { m - 3 } else { m + 9 }) + 2) / 5 + i64::from(self.day) - 1;
        let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
        era * 146_097 + doe - 719_468
    }
}

impl fmt::Display for Date {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:04}-{:02}-{:02}", self.year, self.month, self.day)
    }
}

impl Serialize for Date {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for Date {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Date::parse(&s).map_err(serde::de::Error::custom)
    }
}

fn from_days(z: i64) -> Date {
    // Howard Hinnant's civil_from_days.
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u8;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u8;
    let year = (yoe + era * 400 + i64::from(month <= 2)) as i32;
    Date { year, month, day }
}

fn is_leap(year: i32) -> bool {
    (year % 4 == 0 && year % 100 != 0) || year % 400 == 0
}

fn days_in_month(year: i32, month: u8) -> u8 {
    match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if is_leap(year) => 29,
        2 => 28,
        _ => 0,
    }
}

/// One year's arrangement, as written in `policies/calendar/<year>.toml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct YearArrangement {
    /// The year the arrangement is for.
    pub year: i32,
    /// The notice it is taken from (title, number, date).
    pub source: String,
    /// Only the statutory holidays are known (the State Council has not yet
    /// published the year's 调休): every result that depends on this year
    /// is [`Reckoned::provisional`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub provisional: bool,
    /// The festivals, each with its days off and make-up workdays.
    #[serde(default)]
    pub holiday: Vec<Holiday>,
}

/// One festival's days off and make-up workdays.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Holiday {
    /// e.g. `春节`.
    pub name: String,
    /// First day off.
    pub from: Date,
    /// Last day off (inclusive).
    pub to: Date,
    /// Weekend days that are working days because of this holiday (调休上班).
    #[serde(default)]
    pub workdays: Vec<Date>,
}

/// The union of the loaded years' arrangements.
#[derive(Debug, Clone, Default)]
pub struct Calendar {
    /// Year → the notice it came from.
    years: BTreeMap<i32, String>,
    /// Years whose arrangement is provisional (statutory days only).
    provisional: BTreeSet<i32>,
    days_off: BTreeSet<Date>,
    make_up_workdays: BTreeSet<Date>,
}

/// How far `add_working_days` looks before giving up (a year and a bit).
const MAX_SPAN_DAYS: i64 = 400;

/// A value computed on the calendar, and whether it rests on a year whose
/// arrangement is provisional or missing (then it is an estimate that the
/// published arrangement may change).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reckoned<T> {
    /// The value.
    pub value: T,
    /// `true` when a day it depends on lies in a provisional or unloaded year.
    pub provisional: bool,
}

/// The statutory holidays of 《全国年节及纪念日放假办法》 (2024) whose dates
/// are fixed in the solar calendar: 元旦, 劳动节 (2 days), 国庆节 (3 days).
pub const FIXED_STATUTORY_HOLIDAYS: [(u8, u8); 6] = [(1, 1), (5, 1), (5, 2), (10, 1), (10, 2), (10, 3)];

/// The fallback for a year without an arrangement: Monday to Friday, except
/// the statutory holidays with fixed solar dates.
fn fallback_working_day(date: Date) -> bool {
    date.weekday() < 6 && !FIXED_STATUTORY_HOLIDAYS.contains(&(date.month(), date.day()))
}

impl Calendar {
    /// An empty calendar: every computation fails with [`Error::YearNotCovered`].
    pub fn new() -> Calendar {
        Calendar::default()
    }

    /// A calendar from one year's TOML file.
    pub fn from_toml(text: &str) -> Result<Calendar, Error> {
        let mut cal = Calendar::new();
        cal.add_toml(text)?;
        Ok(cal)
    }

    /// Adds one year's TOML file.
    pub fn add_toml(&mut self, text: &str) -> Result<(), Error> {
        let year: YearArrangement = toml::from_str(text).map_err(|e| Error::InvalidFile(e.message().to_string()))?;
        self.add_year(year)
    }

    /// Adds one year's arrangement, checking that it is consistent.
    pub fn add_year(&mut self, arr: YearArrangement) -> Result<(), Error> {
        let year = arr.year;
        if self.years.contains_key(&year) {
            return Err(Error::DuplicateYear(year));
        }
        let inconsistent = |problem: String| Error::Inconsistent { year, problem };
        let mut off = BTreeSet::new();
        let mut work = BTreeSet::new();
        for h in &arr.holiday {
            if h.from > h.to {
                return Err(inconsistent(format!("{}: {} is after {}", h.name, h.from, h.to)));
            }
            for d in [h.from, h.to].iter().chain(&h.workdays) {
                if d.year() != year {
                    return Err(inconsistent(format!("{}: {d} is not in {year}", h.name)));
                }
            }
            let mut d = h.from;
            while d <= h.to {
                off.insert(d);
                d = d.add_days(1);
            }
            for w in &h.workdays {
                if w.weekday() < 6 {
                    return Err(inconsistent(format!("{}: make-up workday {w} is not a weekend day", h.name)));
                }
                work.insert(*w);
            }
        }
        if let Some(d) = off.intersection(&work).next() {
            return Err(inconsistent(format!("{d} is both a day off and a workday")));
        }
        self.years.insert(year, arr.source);
        if arr.provisional {
            self.provisional.insert(year);
        }
        self.days_off.extend(off);
        self.make_up_workdays.extend(work);
        Ok(())
    }

    /// The years loaded, with the notice each comes from.
    pub fn years(&self) -> impl Iterator<Item = (i32, &str)> {
        self.years.iter().map(|(y, s)| (*y, s.as_str()))
    }

    /// Whether `date` is a working day: a weekday that is not a day off, or
    /// a weekend day that is a make-up workday.
    pub fn is_working_day(&self, date: Date) -> Result<bool, Error> {
        if !self.years.contains_key(&date.year()) {
            return Err(Error::YearNotCovered(date.year()));
        }
        if self.days_off.contains(&date) {
            return Ok(false);
        }
        if self.make_up_workdays.contains(&date) {
            return Ok(true);
        }
        Ok(date.weekday() < 6)
    }

    /// The `n`-th working day after `start` (the start day itself never
    /// counts, as for statutory periods). `n = 0` gives `start`.
    pub fn add_working_days(&self, start: Date, n: u32) -> Result<Date, Error> {
        let mut d = start;
        let mut left = n;
        let mut steps = 0;
        while left > 0 {
            d = d.add_days(1);
            steps += 1;
            if steps > MAX_SPAN_DAYS * (i64::from(n) / 200 + 1) {
                return Err(Error::YearNotCovered(d.year()));
            }
            if self.is_working_day(d)? {
                left -= 1;
            }
        }
        Ok(d)
    }

    /// The number of working days `d` with `start < d <= end`; zero when
    /// `end` is not after `start`.
    pub fn working_days_between(&self, start: Date, end: Date) -> Result<u32, Error> {
        let mut count = 0;
        let mut d = start;
        while d < end {
            d = d.add_days(1);
            if self.is_working_day(d)? {
                count += 1;
            }
        }
        Ok(count)
    }

    /// Whether `year`'s arrangement is loaded and marked provisional.
    pub fn is_provisional(&self, year: i32) -> bool {
        self.provisional.contains(&year)
    }

    /// The last day of the latest year loaded as published (not
    /// provisional): where exact deadlines end.
    pub fn confirmed_until(&self) -> Option<Date> {
        let year = self.years.keys().rev().find(|y| !self.provisional.contains(y))?;
        Date::new(*year, 12, 31).ok()
    }

    /// The last day of the latest year loaded at all, provisional or not.
    pub fn covered_until(&self) -> Option<Date> {
        let year = self.years.keys().next_back()?;
        Date::new(*year, 12, 31).ok()
    }

    /// Whether `date` is a working day, by the fallback past the calendar's
    /// end (see the crate documentation); `provisional` unless the year is
    /// loaded and published.
    pub fn reckon_working_day(&self, date: Date) -> Reckoned<bool> {
        match self.is_working_day(date) {
            Ok(working) => Reckoned { value: working, provisional: self.provisional.contains(&date.year()) },
            Err(_) => Reckoned { value: fallback_working_day(date), provisional: true },
        }
    }

    /// [`Calendar::add_working_days`] that never fails: past the calendar's
    /// end it uses the fallback and says so.
    pub fn reckon_add_working_days(&self, start: Date, n: u32) -> Reckoned<Date> {
        let (mut d, mut left, mut provisional) = (start, n, false);
        while left > 0 {
            d = d.add_days(1);
            let day = self.reckon_working_day(d);
            provisional |= day.provisional;
            if day.value {
                left -= 1;
            }
        }
        Reckoned { value: d, provisional }
    }

    /// [`Calendar::working_days_between`] that never fails: past the
    /// calendar's end it uses the fallback and says so.
    pub fn reckon_working_days_between(&self, start: Date, end: Date) -> Reckoned<u32> {
        let (mut d, mut count, mut provisional) = (start, 0, false);
        while d < end {
            d = d.add_days(1);
            let day = self.reckon_working_day(d);
            provisional |= day.provisional;
            if day.value {
                count += 1;
            }
        }
        Reckoned { value: count, provisional }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cal() -> Calendar {
        let mut c = Calendar::from_toml(include_str!("../../../policies/calendar/2025.toml")).unwrap();
        c.add_toml(include_str!("../../../policies/calendar/2026.toml")).unwrap();
        c
    }

    fn d(s: &str) -> Date {
        Date::parse(s).unwrap()
    }

    #[test]
    fn weekdays_are_right() {
        for (date, wd) in [
            ("1970-01-01", 4),
            ("2025-01-01", 3),
            ("2025-01-26", 7),
            ("2026-02-14", 6),
            ("2000-02-29", 2),
            ("2026-10-10", 6),
        ] {
            assert_eq!(d(date).weekday(), wd, "{date}");
        }
    }

    #[test]
    fn date_round_trip_and_validation() {
        assert_eq!(d("2024-02-29").add_days(1), d("2024-03-01"));
        assert_eq!(d("2025-12-31").add_days(1), d("2026-01-01"));
        assert_eq!(d("2025-03-01").add_days(-1), d("2025-02-28"));
        assert_eq!(d("2025-01-01").days_until(d("2026-01-01")), 365);
        for bad in ["2025-02-29", "2025-13-01", "2025-1-01", "20250101", "2025-04-31"] {
            assert!(Date::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn rfc3339_is_read_in_china_time() {
        for (ts, date) in [
            ("2025-01-26T18:30:00Z", "2025-01-27"),
            ("2025-01-26T15:59:59Z", "2025-01-26"),
            ("2025-01-27T00:10:00+08:00", "2025-01-27"),
            ("2025-01-27T00:10:00.123-05:00", "2025-01-27"),
            ("2025-01-01T01:00:00+09:00", "2025-01-01"),
            ("2025-01-01T07:00:00+09:00", "2025-01-01"),
            ("2025-01-01T05:00:00+14:00", "2024-12-31"),
            ("2025-06-01", "2025-06-01"),
        ] {
            assert_eq!(Date::from_rfc3339_in_china(ts).unwrap(), d(date), "{ts}");
        }
        assert!(Date::from_rfc3339_in_china("yesterday").is_err());
    }

    #[test]
    fn holidays_and_make_up_days() {
        let c = cal();
        for (date, working) in [
            ("2025-01-01", false), // 元旦
            ("2025-01-02", true),
            ("2025-01-26", true), // Sunday, 调休上班
            ("2025-01-28", false),
            ("2025-02-04", false),
            ("2025-02-05", true),
            ("2025-02-08", true), // Saturday, 调休上班
            ("2025-02-09", false),
            ("2025-04-27", true),
            ("2025-05-05", false),
            ("2025-10-08", false),
            ("2025-10-11", true),
            ("2026-01-04", true),
            ("2026-02-23", false),
            ("2026-02-28", true),
            ("2026-09-20", true),
            ("2026-09-25", false),
            ("2026-10-10", true),
            ("2026-10-11", false), // ordinary Sunday
        ] {
            assert_eq!(c.is_working_day(d(date)).unwrap(), working, "{date}");
        }
    }

    #[test]
    fn add_working_days_across_spring_festival() {
        let c = cal();
        for (start, n, end) in [
            ("2025-01-20", 0, "2025-01-20"),
            ("2025-01-20", 5, "2025-01-26"), // 21,22,23,24,26(Sun, make-up)
            ("2025-01-20", 6, "2025-01-27"),
            ("2025-01-20", 7, "2025-02-05"),  // 1-28..2-4 off
            ("2025-01-20", 20, "2025-02-21"), // 2-8 (Sat) is a make-up day
            ("2025-09-26", 1, "2025-09-28"),  // Friday → make-up Sunday
            ("2025-09-30", 1, "2025-10-09"),
            ("2025-12-25", 10, "2026-01-09"), // crosses the year: 1-1..3 off, 1-4 works
            ("2026-02-13", 1, "2026-02-14"),
        ] {
            assert_eq!(c.add_working_days(d(start), n).unwrap(), d(end), "{start}+{n}");
        }
    }

    #[test]
    fn working_days_between_counts_half_open() {
        let c = cal();
        assert_eq!(c.working_days_between(d("2025-01-20"), d("2025-02-21")).unwrap(), 20);
        assert_eq!(c.working_days_between(d("2025-02-21"), d("2025-01-20")).unwrap(), 0);
        assert_eq!(c.working_days_between(d("2025-10-01"), d("2025-10-08")).unwrap(), 0);
        assert_eq!(c.working_days_between(d("2025-09-27"), d("2025-09-28")).unwrap(), 1);
        // inverse of add_working_days
        for n in [1, 7, 20, 40] {
            let s = d("2025-04-25");
            assert_eq!(c.working_days_between(s, c.add_working_days(s, n).unwrap()).unwrap(), n);
        }
    }

    #[test]
    fn reckoning_across_the_year_end_is_provisional_past_the_published_years() {
        // Published 2026 only: from Sun 2026-12-20, 12-21..25 (5), 12-28..31
        // (4) = 9; then the fallback for 2027: 1-1 (Fri) is 元旦, a fixed
        // statutory day; 1-4..8 (5) = 14, 1-11..15 (5) = 19, 1-18 is the 20th.
        let c = cal();
        let due = c.reckon_add_working_days(d("2026-12-20"), 20);
        assert_eq!(due, Reckoned { value: d("2027-01-18"), provisional: true });
        // Entirely inside the published year: exact.
        assert_eq!(
            c.reckon_add_working_days(d("2026-09-21"), 20),
            Reckoned { value: d("2026-10-26"), provisional: false }
        );
        assert_eq!(
            c.reckon_working_days_between(d("2026-12-20"), d("2027-01-18")),
            Reckoned { value: 20, provisional: true }
        );
        assert_eq!(
            c.reckon_working_days_between(d("2026-12-01"), d("2026-12-31")),
            Reckoned { value: 22, provisional: false }
        );
        // The fallback knows only the fixed solar-date statutory days.
        for (date, working) in
            [("2028-01-01", false), ("2028-01-03", true), ("2028-05-01", false), ("2028-10-02", false)]
        {
            assert_eq!(c.reckon_working_day(d(date)), Reckoned { value: working, provisional: true }, "{date}");
        }
        assert_eq!(c.confirmed_until(), Some(d("2026-12-31")));
    }

    #[test]
    fn a_provisional_year_is_used_as_written_and_flagged() {
        let mut c = cal();
        c.add_toml(include_str!("../../../policies/calendar/2027.toml")).unwrap();
        assert!(c.is_provisional(2027) && !c.is_provisional(2026));
        assert_eq!(c.confirmed_until(), Some(d("2026-12-31")));
        assert_eq!(c.covered_until(), Some(d("2027-12-31")));
        // Same 20 days as the fallback in January (only 元旦 off)…
        assert_eq!(
            c.reckon_add_working_days(d("2026-12-20"), 20),
            Reckoned { value: d("2027-01-18"), provisional: true }
        );
        // …but 春节 (除夕 2-5 Fri … 初三 2-8 Mon) is known: from Mon 2027-02-01,
        // 2-2..4 (3), 2-9..12 (4) = 7, 2-15 is the 8th.
        assert_eq!(
            c.reckon_add_working_days(d("2027-02-01"), 8),
            Reckoned { value: d("2027-02-15"), provisional: true }
        );
        for (date, working) in
            [("2027-02-05", false), ("2027-02-08", false), ("2027-02-09", true), ("2027-04-05", false)]
        {
            assert_eq!(c.reckon_working_day(d(date)).value, working, "{date}");
        }
        // The strict methods still work on the provisional year's data.
        assert_eq!(c.add_working_days(d("2027-02-01"), 8), Ok(d("2027-02-15")));
    }

    #[test]
    fn uncovered_years_are_refused() {
        let c = cal();
        assert_eq!(c.is_working_day(d("2024-12-31")), Err(Error::YearNotCovered(2024)));
        assert_eq!(c.add_working_days(d("2026-12-20"), 20), Err(Error::YearNotCovered(2027)));
        assert!(Calendar::new().add_working_days(d("2025-01-01"), 0).is_ok());
    }

    #[test]
    fn inconsistent_files_are_refused() {
        let base = "year = 2025\nsource = \"x\"\n";
        for (body, want) in [
            ("[[holiday]]\nname = \"a\"\nfrom = \"2025-01-03\"\nto = \"2025-01-01\"\n", "after"),
            ("[[holiday]]\nname = \"a\"\nfrom = \"2024-12-31\"\nto = \"2025-01-01\"\n", "not in 2025"),
            (
                "[[holiday]]\nname = \"a\"\nfrom = \"2025-01-01\"\nto = \"2025-01-01\"\nworkdays = [\"2025-01-02\"]\n",
                "not a weekend day",
            ),
            ("[[holiday]]\nname = \"a\"\nfrom = \"2025-02-30\"\nto = \"2025-03-01\"\n", "invalid date"),
            ("[[holiday]]\nname = \"a\"\nfrom = \"2025-01-01\"\n", "missing field"),
        ] {
            let err = Calendar::from_toml(&format!("{base}{body}")).unwrap_err().to_string();
            assert!(err.contains(want), "{err} should mention {want}");
        }
        let mut c = cal();
        assert_eq!(c.add_toml(include_str!("../../../policies/calendar/2025.toml")), Err(Error::DuplicateYear(2025)));
        assert_eq!(c.years().map(|(y, _)| y).collect::<Vec<_>>(), vec![2025, 2026]);
    }
}
