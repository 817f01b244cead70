"""`aws_access_logs_processor` on inline lines: tokens, documented column names, kind detection, CloudFront."""

from __future__ import annotations

from typing import Any

import pytest

from devo_sqs.config.processors import AwsAccessLogsConfig
from devo_sqs.processing.processors.access_logs import AwsAccessLogs, column_name, tokens
from devo_sqs.processing.records import ObjectContext


def run(data: bytes, log_type: str, *, size: int | None = None, parse: bool = True) -> tuple[list[bytes], list[Any]]:
    processor = AwsAccessLogs(AwsAccessLogsConfig(log_type=log_type), parse_records=parse)  # type: ignore[arg-type]
    chunks = [data] if size is None else [data[i : i + size] for i in range(0, len(data), size)]
    messages: list[bytes] = []
    parsed: list[Any] = []
    for records in processor(iter(chunks), ObjectContext(source="test.log")):
        messages += records.messages
        parsed += records.parsed or []
    return messages, parsed


# From the ALB access log documentation's examples, with the three columns added in 2025 and one more after them.
ALB = (
    b"h2 2018-07-02T22:23:00.186641Z app/my-loadbalancer/50dc6c495c0c9188 10.0.1.252:48160 10.0.0.66:9000 0.000 "
    b'0.002 0.000 200 200 5 257 "GET https://10.0.2.105:773/ HTTP/2.0" "curl/7.46.0 \\"quoted\\"" '
    b"ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 arn:aws:elasticloadbalancing:us-east-2:123456789012:targetgroup/t/73e2d6 "
    b'"Root=1-58337327-72bd00b0343d75b906739c42" "-" "-" 1 2018-07-02T22:22:48.364000Z "redirect" '
    b'"https://example.com:80/" "-" "10.0.0.66:9000" "200" "Ambiguous" "UndefinedContentLengthSemantics" '
    b'TID_1234abcd5678ef90 "-" "-" "-" future'
)


def test_tokens_keep_quoted_and_bracketed_values_whole_and_unescape_quotes() -> None:
    line = '[06/Feb/2019:00:00:38 +0000] "GET /a b HTTP/1.1" "say \\"hi\\" \\\\ end" - "" [x](https://x/)'
    assert tokens(line) == [
        "06/Feb/2019:00:00:38 +0000",
        "GET /a b HTTP/1.1",
        'say "hi" \\ end',
        "-",
        "",
        "[x](https://x/)",
    ]


@pytest.mark.parametrize(
    ("documented", "name"),
    [
        ("client:port", "client_port"),
        ("target:port_list", "target_port_list"),
        ("cs(User-Agent)", "cs_user_agent"),
        ("Turn-Around Time", "turn_around_time"),
        ("x-edge-location", "x_edge_location"),
        ("aclRequired", "aclrequired"),
    ],
)
def test_columns_are_the_documented_names_lower_cased_with_separators_as_underscores(
    documented: str, name: str
) -> None:
    assert column_name(documented) == name


def test_an_alb_line_is_named_by_every_documented_column_and_later_columns_are_column_n() -> None:
    messages, parsed = run(ALB + b"\n", "alb")
    assert messages == [ALB]
    record = parsed[0]
    assert record["type"] == "h2"
    assert record["client_port"] == "10.0.1.252:48160"
    assert record["target_port"] == "10.0.0.66:9000"
    assert record["elb_status_code"] == "200"
    assert record["request"] == "GET https://10.0.2.105:773/ HTTP/2.0"
    assert record["user_agent"] == 'curl/7.46.0 "quoted"'
    assert record["target_port_list"] == "10.0.0.66:9000"
    assert record["classification"] == "Ambiguous"
    assert record["classification_reason"] == "UndefinedContentLengthSemantics"
    assert record["conn_trace_id"] == "TID_1234abcd5678ef90"
    assert (record["transformed_host"], record["transformed_uri"], record["request_transform_status"]) == ("-",) * 3
    assert record["column_34"] == "future"
    assert len(record) == 34


NLB = (
    b"tls 2.0 2018-12-20T02:59:40 net/my-network-loadbalancer/c6e77e28c25b2234 g3d4b5e8bb8464cd "
    b"72.21.218.154:51341 172.100.100.185:443 5 2 98 246 - arn:aws:acm:us-east-2:671290407336:certificate/2a1 - "
    b'ECDHE-RSA-AES128-SHA tlsv12 - my.example.com h2 h2 "h2","http/1.1" 2018-12-20T02:59:30'
)
CONNECTION = (
    b"2024-10-04T17:05:15.514108Z 192.168.131.39 36280 443 TLSv1.2 ECDHE-RSA-AES128-GCM-SHA256 4.036 "
    b'"CN=amazondomains.com,O=endEntity" NotBefore=2023-09-21T22:43:21Z;NotAfter=2026-06-17T22:43:21Z '
    b"FEF257372D5C14D4 Success TID_abc"
)
CLASSIC = (
    b"2015-05-13T23:39:43.945958Z my-loadbalancer 192.168.131.39:2817 10.0.0.1:80 0.000073 0.001048 0.000057 "
    b'200 200 0 29 "GET http://www.example.com:80/ HTTP/1.1" "curl/7.38.0" - -'
)


@pytest.mark.parametrize("log_type", ["alb", "nlb", "elb", "alb_connection"])
def test_each_load_balancer_line_is_named_by_the_kind_its_first_fields_show(log_type: str) -> None:
    data = b"\n".join([ALB, NLB, CONNECTION, CLASSIC])
    messages, parsed = run(data, log_type)
    assert messages == [ALB, NLB, CONNECTION, CLASSIC]
    alb, nlb, connection, classic = parsed
    assert alb["elb_status_code"] == "200"
    assert (nlb["listener"], nlb["client_port"], nlb["tls_handshake_time"]) == (
        "g3d4b5e8bb8464cd",
        "72.21.218.154:51341",
        "2",
    )
    assert nlb["alpn_client_preference_list"] == '"h2","http/1.1"'
    assert (connection["client_ip"], connection["client_port"], connection["tls_verify_status"]) == (
        "192.168.131.39",
        "36280",
        "Success",
    )
    assert connection["leaf_client_cert_subject"] == "CN=amazondomains.com,O=endEntity"
    assert (classic["backend_port"], classic["backend_status_code"], classic["user_agent"]) == (
        "10.0.0.1:80",
        "200",
        "curl/7.38.0",
    )


def test_a_line_whose_first_field_shows_no_kind_uses_the_configured_columns() -> None:
    _, parsed = run(b"odd 1 2\n", "nlb")
    assert parsed == [{"type": "odd", "version": "1", "time": "2"}]


S3 = (
    b"79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be amzn-s3-demo-bucket1 "
    b"[06/Feb/2019:00:00:38 +0000] 192.0.2.3 79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be "
    b'3E57427F3EXAMPLE REST.GET.VERSIONING - "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1" 200 - 113 - 7 - "-" '
    b'"S3Console/0.4" - s9lzHYrFp76ZVxRcpX9+5cjAnEH2ROuNkd2BHfIa6UkFVdtjf5mKR3/eTPFvsiP/XV/VLi31234= SigV4 '
    b"ECDHE-RSA-AES128-GCM-SHA256 AuthHeader amzn-s3-demo-bucket1.s3.us-west-1.amazonaws.com TLSV1.2 "
    b"arn:aws:s3:us-west-1:123456789012:accesspoint/example-AP Yes us-east-1"
)


def test_an_s3_server_access_line_is_named_by_the_documented_columns_including_source_region() -> None:
    _, parsed = run(S3, "s3")
    record = parsed[0]
    assert record["time"] == "06/Feb/2019:00:00:38 +0000"
    assert record["request_uri"] == "GET /amzn-s3-demo-bucket1?versioning HTTP/1.1"
    assert (record["http_status"], record["turn_around_time"], record["user_agent"]) == ("200", "-", "S3Console/0.4")
    assert (record["tls_version"], record["aclrequired"], record["source_region"]) == ("TLSV1.2", "Yes", "us-east-1")
    assert len(record) == 27


CLOUDFRONT = (
    b"#Version: 1.0\n"
    b"#Fields: date time c-ip cs(User-Agent) sc-status\n"
    b"2023-04-26\t07:25:11\t13.231.15.129\tMozilla/5.0%20(Macintosh)\t200\r\n"
    b"#Fields: date time c-ip cs(User-Agent) sc-status x-new\n"
    b"2023-04-27\t08:00:00\t10.0.0.1\t-\t404\textra"
)


@pytest.mark.parametrize("size", [None, 1, 3, 7])
def test_cloudfront_header_lines_are_not_sent_and_fields_line_names_the_tab_separated_values(size: int | None) -> None:
    messages, parsed = run(CLOUDFRONT, "cloudfront", size=size)
    assert messages == [
        b"2023-04-26\t07:25:11\t13.231.15.129\tMozilla/5.0%20(Macintosh)\t200",
        b"2023-04-27\t08:00:00\t10.0.0.1\t-\t404\textra",
    ]
    assert parsed == [
        {
            "date": "2023-04-26",
            "time": "07:25:11",
            "c_ip": "13.231.15.129",
            "cs_user_agent": "Mozilla/5.0%20(Macintosh)",
            "sc_status": "200",
        },
        {
            "date": "2023-04-27",
            "time": "08:00:00",
            "c_ip": "10.0.0.1",
            "cs_user_agent": "-",
            "sc_status": "404",
            "x_new": "extra",
        },
    ]


def test_fields_are_not_built_when_no_record_variable_needs_them() -> None:
    assert run(CLASSIC + b"\r\n" + CLASSIC, "elb", parse=False) == ([CLASSIC, CLASSIC], [])
