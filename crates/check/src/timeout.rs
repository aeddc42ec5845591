//! OCF duration strings, as found in meta-data `timeout=` and `interval=` attributes.
//!
//! Pacemaker reads these with `crm_get_msec`: a whole number with an optional unit, where a bare number
//! means seconds. We accept the same units, plus `d`, which the OCF 1.1 spec lists. A timeout we cannot
//! read is an error rather than a silent default: Pacemaker would fall back to its own default and the
//! agent author would never learn that the advertised value was ignored.

use std::time::Duration;

/// Why a duration string could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TimeoutError {
    /// The attribute is empty or only whitespace.
    #[error("empty duration")]
    Empty,
    /// The text does not start with a digit.
    #[error("{0:?} does not start with a whole number")]
    NoNumber(String),
    /// The number is followed by something that is not a known unit.
    #[error("{value:?} has an unknown unit {unit:?} (use ms, s, m, h or d)")]
    UnknownUnit {
        /// The whole attribute value.
        value: String,
        /// The unit as written.
        unit: String,
    },
    /// The value does not fit in 64-bit milliseconds.
    #[error("{0:?} is too large")]
    Overflow(String),
}

/// Parses an OCF duration such as `20s`, `2m`, `500ms` or `90` (seconds).
///
/// Accepted units (case-insensitive, optionally separated from the number by spaces): `us`/`usec`,
/// `ms`/`msec`, `s`/`sec`, `m`/`min`, `h`/`hr`, `d`. No unit means seconds.
///
/// # Errors
///
/// [`TimeoutError`] when the text is empty, has no leading number, has an unknown unit or overflows.
pub fn parse_timeout(text: &str) -> Result<Duration, TimeoutError> {
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(TimeoutError::Empty);
    }
    let digits_end = trimmed.find(|c: char| !c.is_ascii_digit()).unwrap_or(trimmed.len());
    if digits_end == 0 {
        return Err(TimeoutError::NoNumber(text.to_owned()));
    }
    let number: u64 =
        trimmed[..digits_end].parse().map_err(|_| TimeoutError::Overflow(text.to_owned()))?;
    let unit = trimmed[digits_end..].trim_start().to_ascii_lowercase();
    if unit == "us" || unit == "usec" {
        return Ok(Duration::from_micros(number));
    }
    let millis_per_unit: u64 = match unit.as_str() {
        "ms" | "msec" => 1,
        "" | "s" | "sec" => 1_000,
        "m" | "min" => 60_000,
        "h" | "hr" => 3_600_000,
        "d" => 86_400_000,
        _ => {
            return Err(TimeoutError::UnknownUnit {
                value: text.to_owned(),
                unit: trimmed[digits_end..].trim_start().to_owned(),
            });
        }
    };
    let millis = number
        .checked_mul(millis_per_unit)
        .ok_or_else(|| TimeoutError::Overflow(text.to_owned()))?;
    Ok(Duration::from_millis(millis))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn units() {
        assert_eq!(parse_timeout("20s"), Ok(Duration::from_secs(20)));
        assert_eq!(parse_timeout("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_timeout("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_timeout("1h"), Ok(Duration::from_secs(3600)));
        assert_eq!(parse_timeout("1d"), Ok(Duration::from_secs(86_400)));
        assert_eq!(parse_timeout("1500us"), Ok(Duration::from_micros(1500)));
        assert_eq!(parse_timeout("3min"), Ok(Duration::from_secs(180)));
        assert_eq!(parse_timeout("7 sec"), Ok(Duration::from_secs(7)));
        assert_eq!(parse_timeout("10S"), Ok(Duration::from_secs(10)));
    }

    #[test]
    fn plain_number_is_seconds() {
        assert_eq!(parse_timeout("90"), Ok(Duration::from_secs(90)));
        assert_eq!(parse_timeout(" 0 "), Ok(Duration::ZERO));
    }

    #[test]
    fn rejects_garbage() {
        assert_eq!(parse_timeout(""), Err(TimeoutError::Empty));
        assert_eq!(parse_timeout("  "), Err(TimeoutError::Empty));
        assert_eq!(parse_timeout("s"), Err(TimeoutError::NoNumber("s".into())));
        assert_eq!(parse_timeout("-5s"), Err(TimeoutError::NoNumber("-5s".into())));
        assert_eq!(
            parse_timeout("20 seconds"),
            Err(TimeoutError::UnknownUnit { value: "20 seconds".into(), unit: "seconds".into() })
        );
        // A decimal point is not a unit Pacemaker knows either.
        assert!(matches!(parse_timeout("1.5s"), Err(TimeoutError::UnknownUnit { .. })));
        assert!(matches!(parse_timeout("99999999999999999999s"), Err(TimeoutError::Overflow(_))));
        assert!(matches!(parse_timeout("18446744073709551615d"), Err(TimeoutError::Overflow(_))));
    }

    mod properties {
        use super::*;
        use proptest::prelude::*;

        proptest! {
            #[test]
            fn any_text_is_a_duration_or_refused(text in any::<String>()) {
                let _ = parse_timeout(&text);
            }

            #[test]
            fn a_number_and_a_unit_read_back(
                n in any::<u64>(),
                sep in prop_oneof![Just(""), Just(" "), Just("  ")],
                (unit, ms) in prop::sample::select(&[
                    ("", 1000u64), ("s", 1000), ("sec", 1000), ("ms", 1), ("msec", 1), ("m", 60_000),
                    ("min", 60_000), ("h", 3_600_000), ("hr", 3_600_000), ("d", 86_400_000), ("MS", 1),
                ][..]),
            ) {
                let got = parse_timeout(&format!(" {n}{sep}{unit} "));
                match n.checked_mul(ms) {
                    Some(total) => prop_assert_eq!(got, Ok(Duration::from_millis(total))),
                    None => prop_assert!(matches!(got, Err(TimeoutError::Overflow(_)))),
                }
            }
        }
    }
}
