//! Validity periods as ACM Private CA expresses them: a `Value` and a `Type`.

use std::fmt;
use std::str::FromStr;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

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

impl Validity {
    /// Computes notAfter for a certificate issued at `issued_at`.
    ///
    /// Relative types count from `issued_at`; `ABSOLUTE` and `END_DATE` name the
    /// instant itself. Fails for a value below the type's minimum.
    pub fn not_after(&self, issued_at: OffsetDateTime) -> Result<OffsetDateTime> {
        let _ = issued_at;
        todo!("calendar arithmetic")
    }
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
        let _ = s;
        todo!("shorthand parser")
    }
}
