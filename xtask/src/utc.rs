//! Calendar date and time (UTC) of a Unix time, for the places that write
//! SOURCE_DATE_EPOCH into an output in a human format: the kernel's build
//! timestamp, the SBOM's RFC 3339 time, the FAT filesystem's timestamps.

/// A Unix time split into its proleptic Gregorian date and time of day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Utc {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday .. 6 = Saturday.
    pub weekday: u32,
}

impl Utc {
    pub fn from_epoch(epoch: u64) -> Utc {
        let days = (epoch / 86_400) as i64;
        let secs = (epoch % 86_400) as u32;
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468;
        let era = z.div_euclid(146_097);
        let doe = z - era * 146_097;
        let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
        let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
        let mp = (5 * doy + 2) / 153;
        let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
        let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
        let year = yoe + era * 400 + i64::from(month <= 2);
        Utc {
            year,
            month,
            day,
            hour: secs / 3600,
            minute: secs / 60 % 60,
            second: secs % 60,
            // 1970-01-01 was a Thursday.
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn epochs_give_their_calendar_dates() {
        let t = Utc::from_epoch(0);
        assert_eq!((t.year, t.month, t.day, t.weekday), (1970, 1, 1, 4));
        // 2000-02-29 12:34:56, a Tuesday (leap day of a century leap year).
        let t = Utc::from_epoch(951_827_696);
        assert_eq!((t.year, t.month, t.day), (2000, 2, 29));
        assert_eq!((t.hour, t.minute, t.second, t.weekday), (12, 34, 56, 2));
        // 2100 is not a leap year.
        let t = Utc::from_epoch(4_107_542_399);
        assert_eq!((t.year, t.month, t.day), (2100, 2, 28));
        assert_eq!((t.hour, t.minute, t.second), (23, 59, 59));
        assert_eq!(Utc::from_epoch(4_107_542_400).month, 3);
    }
}
