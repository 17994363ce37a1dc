//! Calendar dates and clock times of server timestamps, as users see them (`MM/DD` in
//! tables, `YYYY-MM-DD` in views, `HH:MM` in the TUI). The server stores UTC milliseconds;
//! every display goes through a [`Zone`]: the user's local zone by default, or the
//! `timezone` setting of `bbs-client.toml` (`[ui]`) / the server's `[bbs]` table (classic
//! port). Zone rules (daylight saving) come from the `jiff` crate's time zone database.

use jiff::tz::{Offset, TimeZone};
use jiff::Timestamp;

use crate::model::Millis;

/// Milliseconds since the Unix epoch by the system clock: the client crate's clock, so the
/// BBS (its in-process backend, the server's hooks) and the Kafka client stamp alike.
pub use client::util::now_ms;

/// The time zone dates are shown in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Zone(TimeZone);

impl Zone {
    /// Coordinated Universal Time (what the server stores; tests pin it).
    pub fn utc() -> Zone {
        Zone(TimeZone::UTC)
    }

    /// The system's zone (`TZ`, `/etc/localtime`, ...); UTC when it cannot be found.
    pub fn local() -> Zone {
        match TimeZone::try_system() {
            Ok(tz) => Zone(tz),
            Err(e) => {
                tracing::warn!(error = %e, "local time zone unknown; showing UTC");
                Zone::utc()
            }
        }
    }

    /// A `timezone` setting: `"local"` (or empty), `"UTC"`, an IANA name such as
    /// `"Asia/Taipei"`, or a fixed offset `"+08:00"` / `"-0530"` / `"+8"`.
    pub fn parse(setting: &str) -> Result<Zone, String> {
        let s = setting.trim();
        if s.is_empty() || s.eq_ignore_ascii_case("local") {
            return Ok(Zone::local());
        }
        if s.eq_ignore_ascii_case("utc") || s == "Z" {
            return Ok(Zone::utc());
        }
        if let Some(tz) = fixed_offset(s) {
            return Ok(Zone(tz));
        }
        TimeZone::get(s).map(Zone).map_err(|_| {
            format!(
                "unknown time zone {s:?} (use \"local\", \"UTC\", an IANA name such as \
                 \"Asia/Taipei\", or an offset such as \"+08:00\")"
            )
        })
    }

    /// The wall clock of `ms` in this zone.
    fn civil(&self, ms: Millis) -> Civil {
        let ts = Timestamp::from_millisecond(ms).unwrap_or(if ms < 0 {
            Timestamp::MIN
        } else {
            Timestamp::MAX
        });
        let dt = self.0.to_datetime(ts);
        Civil {
            year: i64::from(dt.year()),
            month: u32::try_from(dt.month()).unwrap_or(1),
            day: u32::try_from(dt.day()).unwrap_or(1),
            hour: u32::try_from(dt.hour()).unwrap_or(0),
            minute: u32::try_from(dt.minute()).unwrap_or(0),
        }
    }
}

impl Default for Zone {
    /// The local zone (the documented default of both configs).
    fn default() -> Zone {
        Zone::local()
    }
}

/// `+08:00`, `-0530`, `+8`, `UTC+8`: a fixed offset from UTC.
fn fixed_offset(s: &str) -> Option<TimeZone> {
    let s = s
        .strip_prefix("UTC")
        .or_else(|| s.strip_prefix("utc"))
        .unwrap_or(s);
    let (sign, rest) = match s.as_bytes().first()? {
        b'+' => (1, &s[1..]),
        b'-' => (-1, &s[1..]),
        _ => return None,
    };
    let digits: String = rest.chars().filter(|c| *c != ':').collect();
    if digits.is_empty() || digits.len() > 4 || !digits.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let (h, m) = if digits.len() <= 2 {
        (digits.parse::<i32>().ok()?, 0)
    } else {
        let (h, m) = digits.split_at(digits.len() - 2);
        (h.parse::<i32>().ok()?, m.parse::<i32>().ok()?)
    };
    if h > 25 || m > 59 || (!rest.contains(':') && rest.len() == 3) {
        return None;
    }
    Offset::from_seconds(sign * (h * 3600 + m * 60))
        .ok()
        .map(TimeZone::fixed)
}

/// A wall-clock reading.
struct Civil {
    year: i64,
    month: u32,
    day: u32,
    hour: u32,
    minute: u32,
}

/// (year, month 1-12, day 1-31) of a timestamp in `zone`.
pub fn ymd(ms: Millis, zone: &Zone) -> (i64, u32, u32) {
    let c = zone.civil(ms);
    (c.year, c.month, c.day)
}

/// `MM/DD`.
pub fn month_day(ms: Millis, zone: &Zone) -> String {
    let (_, m, d) = ymd(ms, zone);
    format!("{m:02}/{d:02}")
}

/// `YYYY-MM-DD`.
pub fn full_date(ms: Millis, zone: &Zone) -> String {
    let (y, m, d) = ymd(ms, zone);
    format!("{y:04}-{m:02}-{d:02}")
}

/// `HH:MM`.
pub fn hour_minute(ms: Millis, zone: &Zone) -> String {
    let c = zone.civil(ms);
    format!("{:02}:{:02}", c.hour, c.minute)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn utc() -> Zone {
        Zone::utc()
    }

    #[test]
    fn known_dates() {
        assert_eq!(full_date(0, &utc()), "1970-01-01");
        assert_eq!(full_date(951_782_400_000, &utc()), "2000-02-29");
        assert_eq!(full_date(1_584_748_800_000, &utc()), "2020-03-21");
        assert_eq!(month_day(1_584_748_800_000 - 1, &utc()), "03/20");
        assert_eq!(full_date(1_735_689_599_999, &utc()), "2024-12-31");
        assert_eq!(full_date(-1, &utc()), "1969-12-31");
        assert_eq!(full_date(i64::MAX, &utc()).len(), 10);
    }

    #[test]
    fn consecutive_days_step_by_one() {
        let mut prev = ymd(0, &utc());
        for day in 1..(366 * 8) {
            let cur = ymd(day * 86_400_000, &utc());
            let next_in_month = cur.0 == prev.0 && cur.1 == prev.1 && cur.2 == prev.2 + 1;
            let new_month = cur.2 == 1 && (cur.1 == prev.1 + 1 || (cur.1 == 1 && prev.1 == 12));
            assert!(next_in_month || new_month, "{prev:?} -> {cur:?}");
            prev = cur;
        }
    }

    #[test]
    fn zones_move_the_date_and_the_clock() {
        // 2024-03-21 20:30 UTC is already the 22nd in Taipei and still the 21st in New York.
        let ms = 1_711_053_000_000;
        let taipei = Zone::parse("Asia/Taipei").expect("zone");
        assert_eq!(full_date(ms, &taipei), "2024-03-22");
        assert_eq!(hour_minute(ms, &taipei), "04:30");
        let ny = Zone::parse("America/New_York").expect("zone");
        assert_eq!(month_day(ms, &ny), "03/21");
        assert_eq!(hour_minute(ms, &ny), "16:30"); // daylight saving time (UTC-4)
        assert_eq!(
            hour_minute(ms, &Zone::parse("+05:30").expect("fixed")),
            "02:00"
        );
        assert_eq!(
            hour_minute(ms, &Zone::parse("UTC-8").expect("fixed")),
            "12:30"
        );
        assert_eq!(hour_minute(ms, &Zone::parse("utc").expect("utc")), "20:30");
    }

    #[test]
    fn bad_zones_are_refused_with_the_accepted_forms() {
        for bad in ["Mars/Olympus", "+99:00", "+123", "8"] {
            let e = Zone::parse(bad).expect_err(bad);
            assert!(e.contains("unknown time zone") && e.contains("IANA"), "{e}");
        }
        assert!(Zone::parse("local").is_ok());
    }
}
