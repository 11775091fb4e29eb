//! Validity arithmetic, the `Value=..,Type=..` shorthand, subject parsing, serials
//! and template names.

#![allow(
    clippy::unwrap_used,
    reason = "a test fails on the first unexpected error"
)]

use privateca_issuer::pki::{
    ErrorKind, SerialNumber, SubjectName, Template, Validity, ValidityType,
};
use time::macros::datetime;

fn validity(value: i64, kind: ValidityType) -> Validity {
    Validity { value, kind }
}

#[test]
fn days_add_whole_days() {
    let start = datetime!(2026-03-01 10:20:30.999 UTC);
    let end = validity(365, ValidityType::Days).not_after(start).unwrap();
    assert_eq!(end, datetime!(2027-03-01 10:20:30 UTC));
}

#[test]
fn days_cross_leap_day() {
    let start = datetime!(2028-02-28 00:00:00 UTC);
    let end = validity(2, ValidityType::Days).not_after(start).unwrap();
    assert_eq!(end, datetime!(2028-03-01 00:00:00 UTC));
}

#[test]
fn months_clamp_to_february_end() {
    // One month from Jan 31 is the last day of February, same time of day.
    let common = validity(1, ValidityType::Months)
        .not_after(datetime!(2027-01-31 13:14:15 UTC))
        .unwrap();
    assert_eq!(common, datetime!(2027-02-28 13:14:15 UTC));
    let leap = validity(1, ValidityType::Months)
        .not_after(datetime!(2028-01-31 13:14:15 UTC))
        .unwrap();
    assert_eq!(leap, datetime!(2028-02-29 13:14:15 UTC));
}

#[test]
fn months_clamp_to_thirty_days() {
    let end = validity(1, ValidityType::Months)
        .not_after(datetime!(2026-03-31 08:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2026-04-30 08:00:00 UTC));
}

#[test]
fn months_cross_year_end() {
    let end = validity(14, ValidityType::Months)
        .not_after(datetime!(2026-11-15 08:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2028-01-15 08:00:00 UTC));
}

#[test]
fn years_from_leap_day() {
    let one = validity(1, ValidityType::Years)
        .not_after(datetime!(2028-02-29 12:00:00 UTC))
        .unwrap();
    assert_eq!(one, datetime!(2029-02-28 12:00:00 UTC));
    let four = validity(4, ValidityType::Years)
        .not_after(datetime!(2028-02-29 12:00:00 UTC))
        .unwrap();
    assert_eq!(four, datetime!(2032-02-29 12:00:00 UTC));
}

#[test]
fn absolute_is_unix_seconds() {
    let end = validity(1_900_000_000, ValidityType::Absolute)
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2030-03-17 17:46:40 UTC));
}

#[test]
fn end_date_utc_time_2049() {
    // Value=491231235959,Type=END_DATE.
    let parsed: Validity = "Value=491231235959,Type=END_DATE".parse().unwrap();
    let end = parsed
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2049-12-31 23:59:59 UTC));
}

#[test]
fn end_date_utc_time_1950s() {
    let end = validity(500101000000, ValidityType::EndDate)
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(1950-01-01 00:00:00 UTC));
}

#[test]
fn end_date_utc_time_lost_zeros() {
    // 051231235959 read as an integer loses its leading zero.
    let end = validity(51231235959, ValidityType::EndDate)
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2005-12-31 23:59:59 UTC));
}

#[test]
fn end_date_generalized_time() {
    let end = validity(20991231235959, ValidityType::EndDate)
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2099-12-31 23:59:59 UTC));
}

#[test]
fn end_date_rejects_invalid_dates() {
    let start = datetime!(2026-01-01 00:00:00 UTC);
    for value in [
        270229000000_i64, // Feb 29 in a common year
        271301000000,     // month 13
        270431000000,     // April 31
        270101246000,     // hour 24
        270101006000,     // minute 60
        202702290000000,  // 15 digits
        -1,
    ] {
        let result = validity(value, ValidityType::EndDate).not_after(start);
        assert!(result.is_err(), "END_DATE {value} must be rejected");
    }
}

#[test]
fn end_date_accepts_leap_day() {
    let end = validity(280229120000, ValidityType::EndDate)
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap();
    assert_eq!(end, datetime!(2028-02-29 12:00:00 UTC));
}

#[test]
fn value_zero_rejected() {
    // The error names the value and the minimum.
    let parsed: Validity = "Value=0,Type=DAYS".parse().unwrap();
    let error = parsed
        .not_after(datetime!(2026-01-01 00:00:00 UTC))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert_eq!(
        error.message(),
        "validity Value=0,Type=DAYS is invalid: Value must be at least 1"
    );
}

#[test]
fn negative_months_rejected() {
    let result = validity(-3, ValidityType::Months).not_after(datetime!(2026-01-01 00:00:00 UTC));
    assert!(result.is_err());
}

#[test]
fn past_year_9999_rejected() {
    let start = datetime!(2026-01-01 00:00:00 UTC);
    assert!(
        validity(i64::MAX, ValidityType::Days)
            .not_after(start)
            .is_err()
    );
    assert!(
        validity(i64::MAX, ValidityType::Months)
            .not_after(start)
            .is_err()
    );
    assert!(
        validity(i64::MAX, ValidityType::Years)
            .not_after(start)
            .is_err()
    );
    assert!(
        validity(8000, ValidityType::Years)
            .not_after(start)
            .is_err()
    );
    assert!(
        validity(i64::MAX, ValidityType::Absolute)
            .not_after(start)
            .is_err()
    );
}

#[test]
fn shorthand_parses_both_orders() {
    let expected = validity(365, ValidityType::Days);
    let plain: Validity = "Value=365,Type=DAYS".parse().unwrap();
    assert_eq!(plain, expected);
    let quoted: Validity = "Value=365,Type=\"DAYS\"".parse().unwrap();
    assert_eq!(quoted, expected);
    let reversed: Validity = "Type=DAYS,Value=365".parse().unwrap();
    assert_eq!(reversed, expected);
    let months: Validity = "Type=\"MONTHS\",Value=6".parse().unwrap();
    assert_eq!(months, validity(6, ValidityType::Months));
}

#[test]
fn shorthand_round_trips_display() {
    for kind in [
        ValidityType::Days,
        ValidityType::Months,
        ValidityType::Years,
        ValidityType::Absolute,
        ValidityType::EndDate,
    ] {
        let original = validity(12, kind);
        let parsed: Validity = original.to_string().parse().unwrap();
        assert_eq!(parsed, original);
    }
}

#[test]
fn shorthand_rejects_garbage() {
    for input in [
        "",
        "365",
        "Value=365",
        "Type=DAYS",
        "Value=365,Type=WEEKS",
        "Value=abc,Type=DAYS",
        "Value=365,Type=DAYS,Extra=1",
        "Value=1,Value=2,Type=DAYS",
        "value=365,type=DAYS",
    ] {
        let error = input.parse::<Validity>().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgs, "input {input:?}");
        assert!(
            error.message().contains("Value=") || error.message().contains("Type"),
            "message for {input:?} must show the expected form: {}",
            error.message()
        );
    }
}

#[test]
fn subject_parses_all_keys() {
    let subject =
        SubjectName::parse("CN=Example Root,O=Example\\, Inc.,OU=PKI,C=us,ST=Wa,L=Seattle")
            .unwrap();
    assert_eq!(subject.common_name.as_deref(), Some("Example Root"));
    assert_eq!(subject.organization.as_deref(), Some("Example, Inc."));
    assert_eq!(subject.organizational_unit.as_deref(), Some("PKI"));
    assert_eq!(subject.country.as_deref(), Some("US"));
    assert_eq!(subject.state.as_deref(), Some("Wa"));
    assert_eq!(subject.locality.as_deref(), Some("Seattle"));
}

#[test]
fn subject_rejects_bad_input() {
    for input in [
        "",
        " , ",
        "CN=",
        "XX=value",
        "CN=a,CN=b",
        "C=USA",
        "C=1A",
        "CN",
    ] {
        let error = SubjectName::parse(input).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgs, "input {input:?}");
    }
}

#[test]
fn subject_unknown_key_named() {
    let error = SubjectName::parse("CN=x,EMAIL=a@b").unwrap_err();
    assert!(error.message().contains("\"EMAIL\""), "{}", error.message());
}

#[test]
fn serial_random_is_positive_128_bits() {
    let first = SerialNumber::random();
    let second = SerialNumber::random();
    assert_ne!(first, second);
    assert!(!first.as_bytes().is_empty());
    assert!(first.as_bytes().len() <= 16);
    assert_ne!(first.as_bytes()[0], 0);
    assert_eq!(first.to_hex().len(), first.as_bytes().len() * 2);
}

#[test]
fn serial_hex_forms() {
    let serial = SerialNumber::from_bytes(&[0x00, 0x8a, 0x01]);
    assert_eq!(serial.as_bytes(), &[0x8a, 0x01]);
    assert_eq!(serial.to_hex(), "8a01");
    assert_eq!(serial.to_colon_hex(), "8a:01");
}

#[test]
fn template_names_and_arns_parse() {
    for template in Template::ALL {
        assert_eq!(template.name().parse::<Template>().unwrap(), template);
        assert_eq!(template.arn().parse::<Template>().unwrap(), template);
    }
    assert!("EndEntityCertificate/V2".parse::<Template>().is_err());
}

#[test]
fn template_path_len_limits() {
    let sub = |path_len| Template::SubordinateCa { path_len };
    assert!(sub(3).check_issuable(None).is_ok());
    assert!(sub(0).check_issuable(Some(1)).is_ok());
    assert!(sub(1).check_issuable(Some(1)).is_err());
    assert!(sub(0).check_issuable(Some(0)).is_err());
    assert!(sub(2).check_issuable(Some(3)).is_ok());
    assert!(sub(4).check_issuable(None).is_err());
    assert!(Template::RootCa.check_issuable(None).is_err());
    assert!(Template::EndEntity.check_issuable(Some(0)).is_ok());
}

#[test]
fn end_date_thirteen_digits_rejected() {
    let validity: Validity = "Value=2027123123595,Type=END_DATE".parse().unwrap();
    let error = validity
        .not_after(datetime!(2026-06-15 12:00:00 UTC))
        .unwrap_err();
    assert_eq!(error.kind(), ErrorKind::InvalidArgs);
    assert!(error.message().contains("13 digits"), "{}", error.message());
}

#[test]
fn end_date_short_value_names_reading() {
    let validity: Validity = "Value=1,Type=END_DATE".parse().unwrap();
    let error = validity
        .not_after(datetime!(2026-06-15 12:00:00 UTC))
        .unwrap_err();
    assert!(
        error.message().contains("YYMMDDHHMMSS 000000000001"),
        "{}",
        error.message()
    );
}

#[test]
fn value_out_of_range_named() {
    let error = "Value=18446744073709551616,Type=DAYS"
        .parse::<Validity>()
        .unwrap_err();
    assert!(
        error.message().contains("out of range"),
        "{}",
        error.message()
    );
}

#[test]
fn subject_escapes_resolved() {
    let subject = SubjectName::parse(r"CN=a\+b,O=x\\y,OU=c\=d").unwrap();
    assert_eq!(subject.common_name.as_deref(), Some("a+b"));
    assert_eq!(subject.organization.as_deref(), Some(r"x\y"));
    assert_eq!(subject.organizational_unit.as_deref(), Some("c=d"));
}

#[test]
fn subject_malformed_parts_rejected() {
    let cases = [
        ("CN=a+O=b", "unescaped +"),
        (r"CN=x\", "lone backslash"),
        ("CN=x,,O=y", "empty part"),
        ("CN=x,", "empty part"),
    ];
    for (input, fragment) in cases {
        let error = SubjectName::parse(input).unwrap_err();
        assert_eq!(error.kind(), ErrorKind::InvalidArgs, "{input}");
        assert!(
            error.message().contains(fragment),
            "{input}: {}",
            error.message()
        );
    }
}
