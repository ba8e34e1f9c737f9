//! When a run must stop: a wall-clock deadline (the end of a Slurm job) and the margin kept
//! before it.
//!
//! A deadline comes from `--deadline` (an RFC 3339 time such as `2025-06-01T18:00:00Z`, or a
//! duration from now: `3600`, `90s`, `45m`, `2h`) or from Slurm's `SLURM_JOB_END_TIME` (Unix
//! seconds); when both are given the earlier one counts. With a deadline `T` and a margin `M`
//! (`--deadline-margin`, default [`DEFAULT_MARGIN_SECONDS`]):
//!
//! - no new candidate is handed out from `T − M` on ([`Deadline::accepts_new_work`]);
//! - evaluations already running are awaited until `T − M/4` ([`Deadline::finish_by`]); what is
//!   still running then is abandoned (not stored; a resumed run evaluates it again);
//! - the remaining `M/4` is left for closing the file and ending the processes.
//!
//! Every stored row is flushed as it arrives, so the result file is consistent at any of these
//! points. Pure logic: the caller passes the current time and the environment value.

use std::time::{Duration, SystemTime, UNIX_EPOCH};
use thiserror::Error;

/// Default margin: stop handing out work this many seconds before the deadline.
pub const DEFAULT_MARGIN_SECONDS: f64 = 120.0;

/// Environment variable (set by Slurm ≥ 23.02 inside a job) with the job's end time.
pub const SLURM_END_TIME_VARIABLE: &str = "SLURM_JOB_END_TIME";

#[derive(Debug, Error, PartialEq)]
pub enum DeadlineError {
    #[error(
        "--deadline {value:?}: {reason}; expected an RFC 3339 time \
         (2025-06-01T18:00:00Z, 2025-06-01T20:00:00+02:00) or seconds from now (3600, 90s, 45m, 2h)"
    )]
    Option { value: String, reason: String },
    #[error("{SLURM_END_TIME_VARIABLE}={value:?}: expected Unix seconds")]
    Slurm { value: String },
    #[error("--deadline-margin {value}: must be a finite number of seconds >= 0")]
    Margin { value: f64 },
}

/// Where the deadline came from (for messages).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DeadlineSource {
    Option,
    Slurm,
}

impl std::fmt::Display for DeadlineSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            DeadlineSource::Option => f.write_str("--deadline"),
            DeadlineSource::Slurm => f.write_str(SLURM_END_TIME_VARIABLE),
        }
    }
}

/// A wall-clock deadline with its safety margin.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Deadline {
    /// When the job ends (processes may be killed from then on).
    pub at: SystemTime,
    /// How long before `at` to stop handing out new work.
    pub margin: Duration,
    pub source: DeadlineSource,
}

impl Deadline {
    /// The deadline that applies: the earlier of `--deadline` and `SLURM_JOB_END_TIME`, or none.
    pub fn resolve(
        option: Option<&str>,
        margin_seconds: f64,
        slurm_end_time: Option<&str>,
        now: SystemTime,
    ) -> Result<Option<Deadline>, DeadlineError> {
        if !margin_seconds.is_finite() || margin_seconds < 0.0 {
            return Err(DeadlineError::Margin {
                value: margin_seconds,
            });
        }
        let margin = Duration::from_secs_f64(margin_seconds);
        let from_option = option
            .map(|value| parse_deadline(value, now))
            .transpose()?
            .map(|at| (at, DeadlineSource::Option));
        let from_slurm = slurm_end_time
            .filter(|value| !value.trim().is_empty())
            .map(parse_slurm_end_time)
            .transpose()?
            .map(|at| (at, DeadlineSource::Slurm));
        let earliest = [from_option, from_slurm]
            .into_iter()
            .flatten()
            .min_by_key(|(at, _)| *at);
        Ok(earliest.map(|(at, source)| Deadline { at, margin, source }))
    }

    /// From then on no new candidate is handed out.
    pub fn stop_dispatch_at(&self) -> SystemTime {
        self.at.checked_sub(self.margin).unwrap_or(UNIX_EPOCH)
    }

    /// Evaluations still running then are abandoned.
    pub fn finish_by(&self) -> SystemTime {
        self.at.checked_sub(self.margin / 4).unwrap_or(UNIX_EPOCH)
    }

    /// May new work be handed out at `now`?
    pub fn accepts_new_work(&self, now: SystemTime) -> bool {
        now < self.stop_dispatch_at()
    }

    /// How long running evaluations may still be awaited (zero once past [`Self::finish_by`]).
    pub fn time_to_finish(&self, now: SystemTime) -> Duration {
        self.finish_by()
            .duration_since(now)
            .unwrap_or(Duration::ZERO)
    }

    /// The deadline as Unix seconds (for messages).
    pub fn unix_seconds(&self) -> f64 {
        self.at
            .duration_since(UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

/// `--deadline`: an RFC 3339 time or a duration from `now`.
pub fn parse_deadline(value: &str, now: SystemTime) -> Result<SystemTime, DeadlineError> {
    let error = |reason: &str| DeadlineError::Option {
        value: value.to_string(),
        reason: reason.to_string(),
    };
    let text = value.trim();
    if text.contains('-') && text.len() >= 10 {
        let seconds = parse_rfc3339(text).map_err(error)?;
        return Ok(unix_time(seconds));
    }
    let (number, unit) = match text.char_indices().last() {
        Some((index, 's')) => (&text[..index], 1.0),
        Some((index, 'm')) => (&text[..index], 60.0),
        Some((index, 'h')) => (&text[..index], 3600.0),
        _ => (text, 1.0),
    };
    let amount: f64 = number
        .trim()
        .parse()
        .map_err(|_| error("not a time or a duration"))?;
    if !amount.is_finite() || amount < 0.0 {
        return Err(error("a duration must be finite and >= 0"));
    }
    Ok(now + Duration::from_secs_f64(amount * unit))
}

/// `SLURM_JOB_END_TIME`: Unix seconds.
pub fn parse_slurm_end_time(value: &str) -> Result<SystemTime, DeadlineError> {
    value
        .trim()
        .parse::<f64>()
        .ok()
        .filter(|seconds| seconds.is_finite() && *seconds > 0.0)
        .map(unix_time)
        .ok_or_else(|| DeadlineError::Slurm {
            value: value.to_string(),
        })
}

fn unix_time(seconds: f64) -> SystemTime {
    if seconds >= 0.0 {
        UNIX_EPOCH + Duration::from_secs_f64(seconds)
    } else {
        UNIX_EPOCH
            .checked_sub(Duration::from_secs_f64(-seconds))
            .unwrap_or(UNIX_EPOCH)
    }
}

/// Seconds since the Unix epoch of `YYYY-MM-DDTHH:MM:SS[.fraction](Z|±HH:MM)` (a space or a
/// lower-case `t`/`z` are accepted too).
fn parse_rfc3339(text: &str) -> Result<f64, &'static str> {
    let bytes = text.as_bytes();
    if bytes.len() < 20 {
        return Err("too short for an RFC 3339 time");
    }
    let number = |range: std::ops::Range<usize>| -> Result<i64, &'static str> {
        text.get(range)
            .filter(|digits| digits.bytes().all(|b| b.is_ascii_digit()))
            .and_then(|digits| digits.parse().ok())
            .ok_or("malformed date or time")
    };
    let separators_ok = bytes[4] == b'-'
        && bytes[7] == b'-'
        && matches!(bytes[10], b'T' | b't' | b' ')
        && bytes[13] == b':'
        && bytes[16] == b':';
    if !separators_ok {
        return Err("malformed date or time");
    }
    let (year, month, day) = (number(0..4)?, number(5..7)?, number(8..10)?);
    let (hour, minute, second) = (number(11..13)?, number(14..16)?, number(17..19)?);
    if !(1..=12).contains(&month)
        || !(1..=days_in_month(year, month)).contains(&day)
        || hour > 23
        || minute > 59
        || second > 60
    {
        return Err("date or time out of range");
    }
    let mut rest = &text[19..];
    let mut fraction = 0.0;
    if let Some(after_dot) = rest.strip_prefix('.') {
        let digits = after_dot.bytes().take_while(u8::is_ascii_digit).count();
        if digits == 0 {
            return Err("malformed fraction of a second");
        }
        fraction = format!("0.{}", &after_dot[..digits])
            .parse()
            .map_err(|_| "malformed fraction of a second")?;
        rest = &after_dot[digits..];
    }
    let offset_seconds = match rest {
        "Z" | "z" => 0,
        _ => {
            let sign = match rest.as_bytes().first() {
                Some(b'+') => 1,
                Some(b'-') => -1,
                _ => return Err("missing time zone (Z or ±HH:MM)"),
            };
            if rest.len() != 6 || rest.as_bytes()[3] != b':' {
                return Err("malformed time zone offset");
            }
            let hours: i64 = rest[1..3].parse().map_err(|_| "malformed offset")?;
            let minutes: i64 = rest[4..6].parse().map_err(|_| "malformed offset")?;
            sign * (hours * 3600 + minutes * 60)
        }
    };
    let days = days_from_civil(year, month, day);
    let seconds = days * 86_400 + hour * 3600 + minute * 60 + second - offset_seconds;
    Ok(seconds as f64 + fraction)
}

fn days_in_month(year: i64, month: i64) -> i64 {
    match month {
        2 if (year % 4 == 0 && year % 100 != 0) || year % 400 == 0 => 29,
        2 => 28,
        4 | 6 | 9 | 11 => 30,
        _ => 31,
    }
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant, "chrono-Compatible
/// Low-Level Date Algorithms").
fn days_from_civil(year: i64, month: i64, day: i64) -> i64 {
    let year = if month <= 2 { year - 1 } else { year };
    let era = year.div_euclid(400);
    let year_of_era = year - era * 400;
    let month_index = (month + 9) % 12;
    let day_of_year = (153 * month_index + 2) / 5 + day - 1;
    let day_of_era = year_of_era * 365 + year_of_era / 4 - year_of_era / 100 + day_of_year;
    era * 146_097 + day_of_era - 719_468
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(seconds: f64) -> SystemTime {
        unix_time(seconds)
    }

    #[test]
    fn rfc3339_times_parse_to_unix_seconds() {
        let now = at(0.0);
        let cases = [
            ("1970-01-01T00:00:00Z", 0.0),
            ("2000-03-01T00:00:00Z", 951_868_800.0),
            ("2024-02-29T12:30:15Z", 1_709_209_815.0),
            ("2024-02-29t12:30:15.25z", 1_709_209_815.25),
            ("2024-02-29 14:30:15+02:00", 1_709_209_815.0),
            ("2024-02-29T07:30:15-05:00", 1_709_209_815.0),
        ];
        for (text, expected) in cases {
            let parsed = parse_deadline(text, now).unwrap();
            let seconds = parsed.duration_since(UNIX_EPOCH).unwrap().as_secs_f64();
            assert!((seconds - expected).abs() < 1e-6, "{text}: {seconds}");
        }
    }

    #[test]
    fn durations_count_from_now() {
        let now = at(1000.0);
        for (text, expected) in [
            ("30", 1030.0),
            ("2.5", 1002.5),
            ("90s", 1090.0),
            ("45m", 3700.0),
            ("2h", 8200.0),
        ] {
            assert_eq!(parse_deadline(text, now).unwrap(), at(expected), "{text}");
        }
    }

    #[test]
    fn bad_deadlines_are_rejected_with_the_value() {
        for text in [
            "",
            "soon",
            "-5",
            "2024-02-30T00:00:00Z",
            "2024-01-01T25:00:00Z",
            "2024-01-01T00:00:00",
            "2024-01-01T00:00:00+0200",
            "2024-01-01",
        ] {
            let error = parse_deadline(text, at(0.0)).unwrap_err().to_string();
            assert!(error.contains(&format!("{text:?}")), "{error}");
        }
    }

    #[test]
    fn the_earlier_deadline_wins_and_the_margin_splits_the_end() {
        let now = at(1000.0);
        let deadline = Deadline::resolve(Some("600"), 120.0, Some("1500"), now)
            .unwrap()
            .unwrap();
        assert_eq!(deadline.source, DeadlineSource::Slurm);
        assert_eq!(deadline.at, at(1500.0));
        assert_eq!(deadline.stop_dispatch_at(), at(1380.0));
        assert_eq!(deadline.finish_by(), at(1470.0));
        assert!(deadline.accepts_new_work(at(1379.0)));
        assert!(!deadline.accepts_new_work(at(1380.0)));
        assert_eq!(deadline.time_to_finish(at(1460.0)), Duration::from_secs(10));
        assert_eq!(deadline.time_to_finish(at(1480.0)), Duration::ZERO);

        let option = Deadline::resolve(Some("100"), 10.0, Some("5000"), now)
            .unwrap()
            .unwrap();
        assert_eq!(option.source, DeadlineSource::Option);
        assert_eq!(option.at, at(1100.0));
        assert_eq!(Deadline::resolve(None, 10.0, None, now).unwrap(), None);
        assert_eq!(Deadline::resolve(None, 10.0, Some(" "), now).unwrap(), None);
    }

    #[test]
    fn bad_margin_and_slurm_values_are_errors() {
        let now = at(0.0);
        assert!(Deadline::resolve(None, -1.0, None, now).is_err());
        assert!(Deadline::resolve(None, f64::NAN, None, now).is_err());
        let error = Deadline::resolve(None, 1.0, Some("tomorrow"), now).unwrap_err();
        assert!(error.to_string().contains("SLURM_JOB_END_TIME"), "{error}");
    }
}
