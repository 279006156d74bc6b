//! Times on the wire: `2023-03-08T07:38:43.408Z` (RFC 3339, UTC,
//! milliseconds), written straight into the answer.
//!
//! A file listing carries two times per file; chrono's general formatter
//! walks a format description for each, so the common case (years 0-9999)
//! is written digit by digit into a fixed buffer, and anything else falls
//! back to chrono, which gives the same text.

use chrono::{DateTime, Datelike, SecondsFormat, Timelike, Utc};
use serde::{Serialize, Serializer};

/// `2023-03-08T07:38:43.408Z`.
pub fn format_time(t: DateTime<Utc>) -> String {
    match digits(t) {
        Some(buf) => text(&buf).to_owned(),
        None => t.to_rfc3339_opts(SecondsFormat::Millis, true),
    }
}

/// A time that serializes as [`format_time`]'s text without allocating.
#[derive(Debug, Clone, Copy)]
pub(crate) struct WireTime(pub(crate) DateTime<Utc>);

impl Serialize for WireTime {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        match digits(self.0) {
            Some(buf) => s.serialize_str(text(&buf)),
            None => s.serialize_str(&format_time(self.0)),
        }
    }
}

const LEN: usize = "2023-03-08T07:38:43.408Z".len();

/// The text of `t` for a four-digit year; `None` otherwise.
fn digits(t: DateTime<Utc>) -> Option<[u8; LEN]> {
    // The UTC fields, computed once (a `DateTime`'s accessors each apply
    // the offset again).
    let t = t.naive_utc();
    let year = u32::try_from(t.year()).ok().filter(|y| *y <= 9999)?;
    // A leap second (nanosecond >= 1e9) is shown as :60 by chrono; leave
    // it to chrono.
    let nanos = t.nanosecond();
    if nanos >= 1_000_000_000 {
        return None;
    }
    let mut buf = *b"0000-00-00T00:00:00.000Z";
    let mut put = |at: usize, width: usize, mut v: u32| {
        for i in (at..at + width).rev() {
            // `v % 10` is a single digit.
            buf[i] = b'0' + u8::try_from(v % 10).unwrap_or(0);
            v /= 10;
        }
    };
    put(0, 4, year);
    put(5, 2, t.month());
    put(8, 2, t.day());
    put(11, 2, t.hour());
    put(14, 2, t.minute());
    put(17, 2, t.second());
    put(20, 3, nanos / 1_000_000);
    Some(buf)
}

fn text(buf: &[u8; LEN]) -> &str {
    // Only ASCII digits and punctuation were written.
    std::str::from_utf8(buf).unwrap_or("")
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;
    use proptest::prelude::*;

    fn chrono_text(t: DateTime<Utc>) -> String {
        t.to_rfc3339_opts(SecondsFormat::Millis, true)
    }

    #[test]
    fn edges_match_chrono() {
        let times = [
            Utc.with_ymd_and_hms(2023, 3, 8, 7, 38, 43).unwrap()
                + chrono::Duration::milliseconds(408),
            Utc.with_ymd_and_hms(0, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(9999, 12, 31, 23, 59, 59).unwrap()
                + chrono::Duration::nanoseconds(999_999_999),
            Utc.with_ymd_and_hms(10000, 1, 1, 0, 0, 0).unwrap(),
            Utc.with_ymd_and_hms(-1, 6, 1, 0, 0, 0).unwrap(),
            DateTime::<Utc>::MIN_UTC,
            DateTime::<Utc>::MAX_UTC,
        ];
        for t in times {
            assert_eq!(format_time(t), chrono_text(t), "{t:?}");
            assert_eq!(
                serde_json::to_string(&WireTime(t)).unwrap(),
                format!("\"{}\"", chrono_text(t))
            );
        }
        assert_eq!(format_time(times[0]), "2023-03-08T07:38:43.408Z");
        assert!(digits(times[3]).is_none(), "five-digit years go to chrono");
    }

    #[test]
    fn a_leap_second_is_written_as_chrono_writes_it() {
        let leap = chrono::NaiveDate::from_ymd_opt(2016, 12, 31)
            .and_then(|d| d.and_hms_milli_opt(23, 59, 59, 1_500))
            .map(|n| n.and_utc())
            .unwrap();
        assert_eq!(format_time(leap), chrono_text(leap));
    }

    proptest! {
        #[test]
        fn any_time_matches_chrono(secs in -62_000_000_000i64..260_000_000_000, nanos in 0u32..1_000_000_000) {
            let t = DateTime::<Utc>::from_timestamp(secs, nanos).unwrap();
            prop_assert_eq!(format_time(t), chrono_text(t));
        }
    }
}
