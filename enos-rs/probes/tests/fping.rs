use enos_probes::fping::{FpingError, parse as parse_fping};

// --- fping ---------------------------------------------------------------------------------------

#[test]
fn fping_results_with_padding_icmp_errors_names_and_a_silent_target() {
    let output = "\
ICMP Host Unreachable from 198.18.1.1 for ICMP Echo sent to 198.18.1.9
198.18.1.3     : 10.12 10.09 - 10.11
198.18.1.4     : 20.51  20.48 20.50 20.49   \n\
paris-server-2 : 0.05 0.04 0.06 0.05
ICMP Host Unreachable from 198.18.1.1 for ICMP Echo sent to 198.18.1.9
198.18.1.9     : - - - -
198.18.1.3 : duplicate for [1], 64 bytes, 10.10 ms

";
    let results = parse_fping(output).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        results,
        vec![
            (
                "198.18.1.3".to_owned(),
                vec![Some(10.12), Some(10.09), None, Some(10.11)]
            ),
            (
                "198.18.1.4".to_owned(),
                vec![Some(20.51), Some(20.48), Some(20.50), Some(20.49)]
            ),
            (
                "paris-server-2".to_owned(),
                vec![Some(0.05), Some(0.04), Some(0.06), Some(0.05)]
            ),
            ("198.18.1.9".to_owned(), vec![None, None, None, None]),
        ]
    );
}

#[test]
fn fping_ipv6_targets_keep_their_colons() {
    let results = parse_fping("fd00::3 : 1.01 - 1.02\n").unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        results,
        vec![("fd00::3".to_owned(), vec![Some(1.01), None, Some(1.02)])]
    );
}

#[test]
fn fping_errors_say_which_line_and_why() {
    assert_eq!(parse_fping(""), Err(FpingError::NoResult));
    assert_eq!(
        parse_fping("ICMP Host Unreachable from 10.0.0.1 for ICMP Echo sent to 10.0.0.2\n"),
        Err(FpingError::NoResult)
    );
    let bad = parse_fping("10.0.0.2 : 1.0 1.x -\n");
    assert_eq!(
        bad,
        Err(FpingError::BadValue {
            line: 1,
            value: "1.x".to_owned()
        })
    );
    assert!(
        bad.unwrap_err()
            .to_string()
            .contains("'1.x' is neither a round-trip time")
    );
    assert!(matches!(
        parse_fping("10.0.0.2 : 1.0 -3.0\n"),
        Err(FpingError::BadValue { .. })
    ));
    let unresolved = parse_fping("10.0.0.2 : 1.0 1.1\nnohost: Name or service not known\n");
    assert_eq!(
        unresolved,
        Err(FpingError::Unexpected {
            line: 2,
            text: "nohost: Name or service not known".to_owned()
        })
    );
    assert_eq!(
        unresolved.unwrap_err().to_string(),
        "line 2: fping said: nohost: Name or service not known"
    );
}
