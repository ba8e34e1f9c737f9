//! Durations in the configuration: a number of seconds (`timeout = 90`) or a text made of
//! `<number><unit>` parts in decreasing unit order (`"30s"`, `"5m"`, `"2h"`, `"1h30m"`,
//! `"1.5s"`, `"500ms"`). Values are kept to the millisecond, so that the resolved
//! configuration prints them back exactly ([`format_duration`]).

use super::file::DurationValue;
use std::time::Duration;

const EXPECTED: &str =
    "expected a duration like \"30s\", \"5m\", \"2h\", \"1h30m\", \"500ms\" or a number of seconds";

/// Units in the order they must appear, with their length in milliseconds.
const UNITS: [(&str, f64); 4] = [
    ("h", 3_600_000.0),
    ("m", 60_000.0),
    ("s", 1_000.0),
    ("ms", 1.0),
];

/// A duration from its file form; the error says what was expected.
pub fn duration_from_value(value: &DurationValue) -> Result<Duration, String> {
    match value {
        DurationValue::Seconds(seconds) => from_millis(seconds * 1000.0)
            .ok_or_else(|| format!("{seconds}: {EXPECTED} (a finite number ≥ 0)")),
        DurationValue::Text(text) => parse_duration(text),
    }
}

/// Parse `"1h30m"` and the like.
pub fn parse_duration(text: &str) -> Result<Duration, String> {
    let error = || format!("{text:?}: {EXPECTED}");
    let mut rest = text.trim();
    if rest.is_empty() {
        return Err(error());
    }
    let mut total = 0.0;
    // Index into UNITS of the next unit allowed (units appear in decreasing order, once).
    let mut next_unit = 0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(|| format!("{text:?}: missing unit (h, m, s or ms); {EXPECTED}"))?;
        let (number, after) = rest.split_at(digits);
        let number: f64 = number.parse().map_err(|_| error())?;
        let unit_len = after
            .find(|c: char| !c.is_ascii_alphabetic())
            .unwrap_or(after.len());
        let (unit, after) = after.split_at(unit_len);
        let position = UNITS[next_unit..]
            .iter()
            .position(|(name, _)| *name == unit)
            .ok_or_else(error)?;
        total += number * UNITS[next_unit + position].1;
        next_unit += position + 1;
        rest = after.trim_start();
        if next_unit == UNITS.len() && !rest.is_empty() {
            return Err(error());
        }
    }
    from_millis(total).ok_or_else(error)
}

fn from_millis(millis: f64) -> Option<Duration> {
    // Up to about 31 years: plenty for a time limit, and exact in f64.
    (millis.is_finite() && (0.0..1e12).contains(&millis))
        .then(|| Duration::from_millis(millis.round() as u64))
}

/// The text form that [`parse_duration`] reads back to the same value (to the millisecond).
pub fn format_duration(duration: Duration) -> String {
    let mut millis = duration.as_millis();
    if millis == 0 {
        return "0s".to_string();
    }
    let mut text = String::new();
    for (name, length) in UNITS {
        let length = length as u128;
        if millis >= length {
            text.push_str(&format!("{}{name}", millis / length));
            millis %= length;
        }
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn good_durations() {
        let cases: &[(&str, u64)] = &[
            ("30s", 30_000),
            ("5m", 300_000),
            ("2h", 7_200_000),
            ("1h30m", 5_400_000),
            ("1h 30m 5s", 5_405_000),
            ("1.5s", 1_500),
            ("0.5h", 1_800_000),
            ("500ms", 500),
            ("2s250ms", 2_250),
            (" 10m ", 600_000),
            ("0s", 0),
        ];
        for (text, millis) in cases {
            assert_eq!(
                parse_duration(text),
                Ok(Duration::from_millis(*millis)),
                "{text}"
            );
        }
        for (seconds, millis) in [(30.0, 30_000), (0.25, 250), (0.0, 0)] {
            assert_eq!(
                duration_from_value(&DurationValue::Seconds(seconds)),
                Ok(Duration::from_millis(millis))
            );
        }
    }

    #[test]
    fn bad_durations() {
        let cases: &[(&str, &str)] = &[
            ("", "expected a duration"),
            ("30", "missing unit"),
            ("abc", "expected a duration"),
            ("5x", "expected a duration"),
            ("30m1h", "expected a duration"),
            ("1m1m", "expected a duration"),
            ("1.2.3s", "expected a duration"),
            ("-5s", "expected a duration"),
            ("5 s", "expected a duration"),
            ("1ms2s", "expected a duration"),
        ];
        for (text, fragment) in cases {
            let message = parse_duration(text).expect_err(text);
            assert!(message.contains(fragment), "{text}: {message}");
        }
        for seconds in [-1.0, f64::NAN, f64::INFINITY] {
            assert!(duration_from_value(&DurationValue::Seconds(seconds)).is_err());
        }
    }

    #[test]
    fn formatting_round_trips() {
        for millis in [
            0, 1, 500, 1_000, 59_999, 60_000, 5_400_000, 5_405_250, 90_061_001,
        ] {
            let duration = Duration::from_millis(millis);
            let text = format_duration(duration);
            assert_eq!(parse_duration(&text), Ok(duration), "{text}");
        }
        assert_eq!(format_duration(Duration::from_secs(5400)), "1h30m");
        assert_eq!(format_duration(Duration::from_millis(1500)), "1s500ms");
    }
}
