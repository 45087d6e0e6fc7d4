//! Goal periods (a month, quarter or year, aligned as the `goals` table requires) and the
//! working calendar that picks the days activity happens on.

use std::collections::BTreeSet;

use chrono::{Datelike, Months, NaiveDate, Weekday};
use serde::{Deserialize, Serialize};

use super::GoalError;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum PeriodKind {
    Month,
    Quarter,
    Year,
}

impl PeriodKind {
    fn months(self) -> u32 {
        match self {
            Self::Month => 1,
            Self::Quarter => 3,
            Self::Year => 12,
        }
    }
}

/// A month, quarter or year starting on its first day.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Period {
    kind: PeriodKind,
    start: NaiveDate,
}

impl Period {
    /// A period whose start is the first day of a month (months), of January, April, July or
    /// October (quarters), or of January (years).
    pub fn new(kind: PeriodKind, start: NaiveDate) -> Result<Self, GoalError> {
        let aligned = start.day() == 1
            && match kind {
                PeriodKind::Month => true,
                PeriodKind::Quarter => start.month() % 3 == 1,
                PeriodKind::Year => start.month() == 1,
            };
        if !aligned {
            let rule = match kind {
                PeriodKind::Month => "the first day of a month",
                PeriodKind::Quarter => "the first day of January, April, July or October",
                PeriodKind::Year => "the first day of January",
            };
            return Err(GoalError::new("period.start", format!("must be {rule}")));
        }
        if start.checked_add_months(Months::new(12)).is_none() {
            return Err(GoalError::new("period.start", "is out of range"));
        }
        Ok(Self { kind, start })
    }

    pub fn kind(self) -> PeriodKind {
        self.kind
    }

    pub fn start(self) -> NaiveDate {
        self.start
    }

    /// The last day of the period.
    pub fn end(self) -> NaiveDate {
        let next = self.start.checked_add_months(Months::new(self.kind.months()));
        next.and_then(|d| d.pred_opt()).unwrap_or(NaiveDate::MAX)
    }

    pub fn days(self) -> impl Iterator<Item = NaiveDate> {
        let end = self.end();
        self.start.iter_days().take_while(move |d| *d <= end)
    }
}

/// Which days are worked: ISO weekdays, minus days off.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Calendar {
    weekdays: [bool; 7],
    days_off: BTreeSet<NaiveDate>,
}

/// Most days off a calendar may list.
pub const MAX_DAYS_OFF: usize = 400;

impl Calendar {
    /// A calendar from ISO weekday numbers (1 = Monday … 7 = Sunday) and dates not worked.
    pub fn new(weekdays: &[u8], days_off: &[NaiveDate]) -> Result<Self, GoalError> {
        let mut worked = [false; 7];
        for (i, &day) in weekdays.iter().enumerate() {
            if !(1..=7).contains(&day) {
                return Err(GoalError::new(
                    format!("calendar.working_weekdays[{i}]"),
                    "must be an ISO weekday from 1 (Monday) to 7 (Sunday)",
                ));
            }
            worked[usize::from(day - 1)] = true;
        }
        if !worked.contains(&true) {
            return Err(GoalError::new("calendar.working_weekdays", "must name at least one day"));
        }
        if days_off.len() > MAX_DAYS_OFF {
            return Err(GoalError::new(
                "calendar.days_off",
                format!("may list at most {MAX_DAYS_OFF} dates"),
            ));
        }
        Ok(Self { weekdays: worked, days_off: days_off.iter().copied().collect() })
    }

    /// Monday to Friday, no days off.
    pub fn weekdays() -> Self {
        Self { weekdays: [true, true, true, true, true, false, false], days_off: BTreeSet::new() }
    }

    pub fn is_working_day(&self, date: NaiveDate) -> bool {
        self.weekdays[date.weekday().num_days_from_monday() as usize]
            && !self.days_off.contains(&date)
    }

    /// The working days of `period`, in order.
    pub fn working_days(&self, period: Period) -> Vec<NaiveDate> {
        period.days().filter(|d| self.is_working_day(*d)).collect()
    }
}

/// The Monday starting `date`'s ISO week.
pub fn week_start(date: NaiveDate) -> NaiveDate {
    date.week(Weekday::Mon).first_day()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn date(text: &str) -> NaiveDate {
        text.parse().unwrap()
    }

    #[test]
    fn periods_end_on_their_last_day() {
        let check = |kind, start: &str, end: &str| {
            assert_eq!(Period::new(kind, date(start)).unwrap().end(), date(end));
        };
        check(PeriodKind::Month, "2026-02-01", "2026-02-28");
        check(PeriodKind::Month, "2028-02-01", "2028-02-29");
        check(PeriodKind::Quarter, "2026-10-01", "2026-12-31");
        check(PeriodKind::Year, "2026-01-01", "2026-12-31");
        assert_eq!(Period::new(PeriodKind::Year, date("2026-01-01")).unwrap().days().count(), 365);
    }

    #[test]
    fn a_period_must_start_where_its_kind_starts() {
        let check = |kind, start: &str| {
            assert_eq!(
                Period::new(kind, date(start)).unwrap_err().field,
                "period.start",
                "{start}"
            );
        };
        check(PeriodKind::Month, "2026-01-02");
        check(PeriodKind::Quarter, "2026-02-01");
        check(PeriodKind::Year, "2026-04-01");
        check(PeriodKind::Year, "+262142-01-01");
    }

    #[test]
    fn working_days_follow_the_weekdays_and_skip_days_off() {
        let january = Period::new(PeriodKind::Month, date("2026-01-01")).unwrap();
        assert_eq!(Calendar::weekdays().working_days(january).len(), 22);
        let calendar =
            Calendar::new(&[1, 2, 3, 4, 5], &[date("2026-01-01"), date("2025-12-25")]).unwrap();
        let days = calendar.working_days(january);
        assert_eq!((days.len(), days[0]), (21, date("2026-01-02")));
        let saturdays = Calendar::new(&[6, 6], &[]).unwrap();
        assert_eq!(saturdays.working_days(january).len(), 5);
    }

    #[test]
    fn a_calendar_needs_real_weekdays_and_a_bounded_list_of_days_off() {
        assert_eq!(Calendar::new(&[], &[]).unwrap_err().field, "calendar.working_weekdays");
        assert_eq!(Calendar::new(&[1, 8], &[]).unwrap_err().field, "calendar.working_weekdays[1]");
        assert_eq!(Calendar::new(&[0], &[]).unwrap_err().field, "calendar.working_weekdays[0]");
        let many = vec![date("2026-01-01"); MAX_DAYS_OFF + 1];
        assert_eq!(Calendar::new(&[1], &many).unwrap_err().field, "calendar.days_off");
    }

    #[test]
    fn weeks_start_on_monday() {
        assert_eq!(week_start(date("2026-01-01")), date("2025-12-29"));
        assert_eq!(week_start(date("2025-12-29")), date("2025-12-29"));
        assert_eq!(week_start(date("2026-01-04")), date("2025-12-29"));
    }
}
