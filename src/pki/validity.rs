//! Validity periods as ACM Private CA expresses them: a `Value` and a `Type`.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::{Date, Duration, Month, OffsetDateTime, PrimitiveDateTime, Time, UtcOffset};

use super::error::{Error, Result};

/// Unit of a [`Validity`] value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum ValidityType {
    /// Whole days from issuance.
    Days,
    /// Calendar months from issuance, clamped to the end of a shorter month.
    Months,
    /// Calendar years from issuance (Feb 29 plus one year is Feb 28).
    Years,
    /// An instant in Unix seconds.
    Absolute,
    /// A UTC date as `YYMMDDHHMMSS` (UTCTime, YY >= 50 is 19YY) or `YYYYMMDDHHMMSS`.
    EndDate,
}

/// A validity period: a `Value` and a `Type`, as in `Value=365,Type=DAYS`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
pub struct Validity {
    /// The amount, or the instant for `ABSOLUTE` and `END_DATE`.
    pub value: i64,
    /// The unit of `value`.
    #[serde(rename = "type")]
    pub kind: ValidityType,
}

/// Maximum year of a notAfter: GeneralizedTime and the `time` crate both end at 9999.
const MAX_YEAR: i32 = 9999;

impl Validity {
    /// Computes notAfter for a certificate issued at `issued_at`.
    ///
    /// Relative types count from `issued_at` and keep its time of day. `ABSOLUTE` and
    /// `END_DATE` name the instant itself. The result is truncated to whole seconds.
    /// Fails when the value is below the type's minimum, is not a valid date, or lies
    /// after the year 9999.
    pub fn not_after(&self, issued_at: OffsetDateTime) -> Result<OffsetDateTime> {
        let issued_at = truncate_to_seconds(issued_at.to_offset(UtcOffset::UTC));
        match self.kind {
            ValidityType::Days => {
                self.check_minimum(1)?;
                // More days than fit before the year 9999; checked here because
                // `Duration::days` panics on overflow.
                if self.value > i64::from(MAX_YEAR) * 366 {
                    return Err(self.too_late());
                }
                let days = Duration::days(self.value);
                issued_at
                    .checked_add(days)
                    .filter(|t| t.year() <= MAX_YEAR)
                    .ok_or_else(|| self.too_late())
            }
            ValidityType::Months => {
                self.check_minimum(1)?;
                add_months(issued_at, self.value).ok_or_else(|| self.too_late())
            }
            ValidityType::Years => {
                self.check_minimum(1)?;
                let months = self.value.checked_mul(12).ok_or_else(|| self.too_late())?;
                add_months(issued_at, months).ok_or_else(|| self.too_late())
            }
            ValidityType::Absolute => {
                self.check_minimum(1)?;
                OffsetDateTime::from_unix_timestamp(self.value)
                    .ok()
                    .filter(|t| t.year() <= MAX_YEAR)
                    .ok_or_else(|| self.too_late())
            }
            ValidityType::EndDate => self.end_date(),
        }
    }

    fn check_minimum(&self, minimum: i64) -> Result<()> {
        if self.value >= minimum {
            return Ok(());
        }
        Err(Error::invalid_args(format!(
            "validity {self} is invalid: Value must be at least {minimum}"
        )))
    }

    fn too_late(&self) -> Error {
        Error::invalid_args(format!(
            "validity {self} is invalid: notAfter would be after the year {MAX_YEAR}; \
             use a smaller Value"
        ))
    }

    /// Reads an `END_DATE` value. `Value` is an integer, so the leading zeros of a
    /// `YYMMDDHHMMSS` date in 2000-2009 are gone: up to 12 digits is UTCTime and
    /// 14 digits is `YYYYMMDDHHMMSS`. 13 digits fit neither form.
    fn end_date(&self) -> Result<OffsetDateTime> {
        let invalid = |reason: &str| {
            Error::invalid_args(format!(
                "validity {self} is invalid: {reason}; write END_DATE as YYMMDDHHMMSS \
                 (UTCTime) or YYYYMMDDHHMMSS, in UTC"
            ))
        };
        if self.value < 0 {
            return Err(invalid("Value must not be negative"));
        }
        let digits = self.value.to_string();
        let (year, rest, reading) = match digits.len() {
            0..=12 => {
                let padded = format!("{digits:0>12}");
                let reading = format!("it reads as YYMMDDHHMMSS {padded}");
                let yy: i32 = parse_digits(&padded[0..2]);
                // UTCTime: YY >= 50 means 19YY, YY < 50 means 20YY (RFC 5280, 4.1.2.5.1).
                let year = if yy >= 50 { 1900 + yy } else { 2000 + yy };
                (year, padded[2..].to_string(), reading)
            }
            14 => {
                let reading = format!("it reads as YYYYMMDDHHMMSS {digits}");
                (
                    parse_digits(&digits[0..4]),
                    digits[4..].to_string(),
                    reading,
                )
            }
            count => {
                return Err(invalid(&format!(
                    "Value has {count} digits, not 12 (YYMMDDHHMMSS) or 14 (YYYYMMDDHHMMSS)"
                )));
            }
        };
        let month: u8 = parse_digits(&rest[0..2]);
        let day: u8 = parse_digits(&rest[2..4]);
        let hour: u8 = parse_digits(&rest[4..6]);
        let minute: u8 = parse_digits(&rest[6..8]);
        let second: u8 = parse_digits(&rest[8..10]);

        let month = Month::try_from(month)
            .map_err(|_| invalid(&format!("{reading}, and its month is not 01-12")))?;
        let date = Date::from_calendar_date(year, month, day).map_err(|_| {
            invalid(&format!(
                "{reading}, and its day does not exist in that month"
            ))
        })?;
        let time = Time::from_hms(hour, minute, second).map_err(|_| {
            invalid(&format!(
                "{reading}, and its time of day is not a valid HHMMSS"
            ))
        })?;
        Ok(PrimitiveDateTime::new(date, time).assume_utc())
    }
}

/// Parses a run of ASCII digits that the caller sliced from a number's decimal form.
fn parse_digits<T: From<u8> + std::ops::Mul<Output = T> + std::ops::Add<Output = T>>(s: &str) -> T {
    s.bytes()
        .fold(T::from(0), |acc, b| acc * T::from(10) + T::from(b - b'0'))
}

/// Drops the sub-second part: certificates carry whole seconds.
pub(crate) fn truncate_to_seconds(t: OffsetDateTime) -> OffsetDateTime {
    t.replace_nanosecond(0).unwrap_or(t)
}

/// Formats an instant as RFC 3339 in UTC with whole seconds, such as
/// `2049-12-31T23:59:59Z`, for messages.
pub fn rfc3339(t: OffsetDateTime) -> String {
    let t = t.to_offset(UtcOffset::UTC);
    format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}Z",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    )
}

/// Adds calendar months, clamping the day to the end of a shorter month
/// (Jan 31 + 1 month = Feb 28 or 29). Returns None past the year 9999.
fn add_months(start: OffsetDateTime, months: i64) -> Option<OffsetDateTime> {
    let start_index = i64::from(start.year()) * 12 + i64::from(u8::from(start.month()) - 1);
    let index = start_index.checked_add(months)?;
    let year = i32::try_from(index.div_euclid(12)).ok()?;
    if year > MAX_YEAR {
        return None;
    }
    let month = Month::try_from(u8::try_from(index.rem_euclid(12) + 1).ok()?).ok()?;
    let day = start.day().min(month.length(year));
    let date = Date::from_calendar_date(year, month, day).ok()?;
    Some(start.replace_date(date))
}

impl fmt::Display for ValidityType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            ValidityType::Days => "DAYS",
            ValidityType::Months => "MONTHS",
            ValidityType::Years => "YEARS",
            ValidityType::Absolute => "ABSOLUTE",
            ValidityType::EndDate => "END_DATE",
        })
    }
}

impl fmt::Display for Validity {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Value={},Type={}", self.value, self.kind)
    }
}

impl FromStr for Validity {
    type Err = Error;

    /// Parses the AWS CLI shorthand `Value=365,Type=DAYS` (quotes around the type allowed).
    fn from_str(s: &str) -> Result<Self> {
        let mut value = None;
        let mut kind = None;
        for pair in s.trim().split(',') {
            let (key, raw) = pair.split_once('=').ok_or_else(|| shorthand_error(s))?;
            let raw = raw.trim();
            match key.trim() {
                "Value" if value.is_none() => {
                    let parsed = raw.parse::<i64>().map_err(|error| {
                        let reason = match error.kind() {
                            std::num::IntErrorKind::PosOverflow
                            | std::num::IntErrorKind::NegOverflow => "is out of range",
                            _ => "is not an integer",
                        };
                        Error::invalid_args(format!(
                            "validity {s:?} is invalid: Value {raw:?} {reason}"
                        ))
                    })?;
                    value = Some(parsed);
                }
                "Type" if kind.is_none() => kind = Some(parse_type(s, raw)?),
                _ => return Err(shorthand_error(s)),
            }
        }
        match (value, kind) {
            (Some(value), Some(kind)) => Ok(Validity { value, kind }),
            _ => Err(shorthand_error(s)),
        }
    }
}

fn shorthand_error(input: &str) -> Error {
    Error::invalid_args(format!(
        "validity {input:?} is invalid; write it as Value=<integer>,Type=<DAYS|MONTHS|YEARS|\
         ABSOLUTE|END_DATE>, for example Value=365,Type=DAYS"
    ))
}

fn parse_type(input: &str, raw: &str) -> Result<ValidityType> {
    let unquoted = raw
        .strip_prefix('"')
        .and_then(|r| r.strip_suffix('"'))
        .unwrap_or(raw);
    match unquoted {
        "DAYS" => Ok(ValidityType::Days),
        "MONTHS" => Ok(ValidityType::Months),
        "YEARS" => Ok(ValidityType::Years),
        "ABSOLUTE" => Ok(ValidityType::Absolute),
        "END_DATE" => Ok(ValidityType::EndDate),
        _ => Err(Error::invalid_args(format!(
            "validity {input:?} is invalid: Type {raw:?} is unknown; use DAYS, MONTHS, YEARS, \
             ABSOLUTE or END_DATE"
        ))),
    }
}
