//! RFC 3339 timestamps in UTC with whole seconds, as the JSON output and the records use them.

use time::OffsetDateTime;

/// Formats `instant` as RFC 3339 UTC with whole seconds, such as `2049-12-31T23:59:59Z`.
pub fn format_rfc3339(instant: OffsetDateTime) -> String {
    match jiff::Timestamp::from_second(instant.unix_timestamp()) {
        Ok(timestamp) => timestamp.to_string(),
        // Outside jiff's range (years -9999 to 9999), which X.509 times never reach.
        Err(_) => instant.unix_timestamp().to_string(),
    }
}

/// `instant` with the sub-second part dropped, as X.509 encodes times.
pub fn whole_seconds(instant: OffsetDateTime) -> OffsetDateTime {
    instant.replace_nanosecond(0).unwrap_or(instant)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_rfc3339_uses_utc_seconds() {
        let instant = OffsetDateTime::from_unix_timestamp(2_524_607_999).expect("in range");
        assert_eq!(format_rfc3339(instant), "2049-12-31T23:59:59Z");
    }

    #[test]
    fn whole_seconds_drops_nanoseconds() {
        let instant =
            OffsetDateTime::from_unix_timestamp_nanos(1_700_000_000_999_999_999).expect("in range");
        assert_eq!(
            whole_seconds(instant).unix_timestamp_nanos(),
            1_700_000_000_000_000_000
        );
    }
}
