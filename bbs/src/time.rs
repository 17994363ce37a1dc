//! Calendar dates of server timestamps, as the command language shows them (`MM/DD` in
//! tables, `YYYY-MM-DD` in views). Dates are UTC so that every session of a class sees the
//! same date for the same post. Pure arithmetic on days since the epoch.

use crate::model::Millis;

/// (year, month 1-12, day 1-31) of a timestamp, in UTC.
pub fn ymd(ms: Millis) -> (i64, u32, u32) {
    let days = ms.div_euclid(86_400_000);
    // Shift the epoch to 0000-03-01 so leap days fall at the end of a 400-year era.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    (year, month, day)
}

/// `MM/DD`.
pub fn month_day(ms: Millis) -> String {
    let (_, m, d) = ymd(ms);
    format!("{m:02}/{d:02}")
}

/// `YYYY-MM-DD`.
pub fn full_date(ms: Millis) -> String {
    let (y, m, d) = ymd(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn known_dates() {
        assert_eq!(full_date(0), "1970-01-01");
        assert_eq!(full_date(951_782_400_000), "2000-02-29");
        assert_eq!(full_date(1_584_748_800_000), "2020-03-21");
        assert_eq!(month_day(1_584_748_800_000 - 1), "03/20");
        assert_eq!(full_date(1_735_689_599_999), "2024-12-31");
        assert_eq!(full_date(-1), "1969-12-31");
    }

    #[test]
    fn consecutive_days_step_by_one() {
        let mut prev = ymd(0);
        for day in 1..(366 * 8) {
            let cur = ymd(day * 86_400_000);
            let next_in_month = cur.0 == prev.0 && cur.1 == prev.1 && cur.2 == prev.2 + 1;
            let new_month = cur.2 == 1 && (cur.1 == prev.1 + 1 || (cur.1 == 1 && prev.1 == 12));
            assert!(next_in_month || new_month, "{prev:?} -> {cur:?}");
            prev = cur;
        }
    }
}
