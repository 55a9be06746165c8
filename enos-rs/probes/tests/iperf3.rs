use enos_probes::iperf3::{Iperf3Error, parse as parse_iperf3};

// --- iperf3 --------------------------------------------------------------------------------------

const IPERF3_OK: &str = r#"{
	"start":	{
		"connected":	[{
				"socket":	5,
				"local_host":	"198.18.1.2",
				"local_port":	50312,
				"remote_host":	"198.18.1.3",
				"remote_port":	5201
			}],
		"version":	"iperf 3.12",
		"test_start":	{ "protocol": "TCP", "num_streams": 1, "duration": 5 }
	},
	"intervals":	[{
			"streams":	[{ "socket": 5, "start": 0, "end": 1.000154, "bytes": 12320768,
				"bits_per_second": 98551065.4, "retransmits": 0, "omitted": false }],
			"sum":	{ "start": 0, "end": 1.000154, "bytes": 12320768,
				"bits_per_second": 98551065.4, "retransmits": 0, "omitted": false }
		}],
	"end":	{
		"streams":	[],
		"sum_sent":	{ "start": 0, "end": 5.000201, "seconds": 5.000201, "bytes": 59768832,
			"bits_per_second": 95626209.91, "retransmits": 12, "sender": true },
		"sum_received":	{ "start": 0, "end": 5.041788, "seconds": 5.000201, "bytes": 58981376,
			"bits_per_second": 93587813.56, "sender": true },
		"cpu_utilization_percent":	{ "host_total": 1.2, "remote_total": 0.7 }
	}
}"#;

#[test]
fn iperf3_gives_the_received_throughput() {
    assert_eq!(parse_iperf3(IPERF3_OK), Ok(93587813.56));
}

#[test]
fn iperf3_failures_are_errors() {
    let refused = r#"{
	"start":	{ "connected": [], "version": "iperf 3.12" },
	"intervals":	[],
	"end":	{},
	"error":	"unable to connect to server: Connection refused"
}"#;
    let error = parse_iperf3(refused);
    assert_eq!(
        error,
        Err(Iperf3Error::Failed(
            "unable to connect to server: Connection refused".to_owned()
        ))
    );
    assert_eq!(
        error.unwrap_err().to_string(),
        "iperf3 failed: unable to connect to server: Connection refused"
    );
    assert!(matches!(
        parse_iperf3("iperf3: error - unable to connect to server"),
        Err(Iperf3Error::NotJson(_))
    ));
    assert_eq!(
        parse_iperf3(r#"{"end": {"sum_sent": {"bits_per_second": 1.0}}}"#),
        Err(Iperf3Error::MissingThroughput)
    );
    assert_eq!(
        parse_iperf3(r#"{"end": {"sum_received": {"bits_per_second": -1.0}}}"#),
        Err(Iperf3Error::InvalidThroughput(-1.0))
    );
}
