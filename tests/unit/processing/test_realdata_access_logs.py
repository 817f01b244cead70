"""Access log services on genuine files, through `devo-sqs parse`: S3 server access, classic ELB, ALB (and the
NLB and connection log lines that share its bucket prefix), CloudFront. Parsed field names are checked through
record_field_mapping in the tags."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.realdata import needs_realdata, realdata
from tests.unit.processing.parse_runs import config_file, parse

pytestmark = needs_realdata

LB = "aws_elb_alb_nlb/"


def lines_of(relative: str) -> list[str]:
    path = realdata(relative)
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    return [line for line in text.splitlines() if line and not line.startswith("#")]  # CloudFront headers


def mapped(service: str, fields: dict[str, str], template: str) -> dict[str, Any]:
    return {
        service: {"record_field_mapping": {v: {"keys": [k]} for v, k in fields.items()}, "routing_template": template}
    }


CASES = [
    (
        "aws_s3_access/elastic-integrations_test-s3-server-access.log",
        mapped(
            "aws_sqs_s3_access",
            {"s": "http_status", "op": "operation", "t": "turn_around_time"},
            "web.aws.s3.access.[record-s].[record-op].[record-t]",
        ),
        {
            "web.aws.s3.access.200.REST_GET_LOCATION.-": 3,
            "web.aws.s3.access.200.REST_GET_BUCKET.1": 1,
            "web.aws.s3.access.204.BATCH_DELETE_OBJECT.-": 2,
            "web.aws.s3.access.200.REST_PUT_OBJECT.13": 2,
            "web.aws.s3.access.-.REST_PUT_OBJECT.13": 1,
            "web.aws.s3.access.-.S3_EXPIRE_OBJECT.-": 1,
        },
    ),
    (
        "aws_s3_access/loki-lambda-promtail_s3accesslog.log",
        mapped(
            "aws_sqs_s3_access",
            {"s": "http_status", "ua": "user_agent", "tls": "tls_version"},
            "web.aws.s3.access.[record-s].[record-tls].[record-ua]",
        ),
        {
            "web.aws.s3.access.200.TLSv1_3.aws-cli_2_24_10_md_awscrt_0_23_8_ua_2_0_os_macos_24_3_0_md_arch_amd64_lang_python_3_12_9_"
            "md_pyimpl_CPython_cfg_retry-mode_standard_md_installer_source_md_prompt_off_md_command_s3_cp": 1
        },
    ),
    (
        LB + "beats_classic-elb-example-http.log",
        mapped(
            "aws_sqs_elb",
            {"s": "elb_status_code", "b": "backend_status_code", "ua": "user_agent"},
            "web.aws.elb.access.[record-s].[record-b].[record-ua]",
        ),
        {"web.aws.elb.access.200.200.curl_7_38_0": 1, "web.aws.elb.access.503.-.curl_7_38_0": 1},
    ),
    (
        LB + "beats_classic-elb-example-https.log",
        mapped("aws_sqs_elb", {"c": "ssl_cipher", "p": "ssl_protocol"}, "web.aws.elb.access.[record-c].[record-p]"),
        {"web.aws.elb.access.DHE-RSA-AES128-SHA.TLSv1_2": 1},
    ),
    (
        LB + "beats_classic-elb-http.log",
        mapped("aws_sqs_elb", {"s": "elb_status_code", "c": "client_port"}, "web.aws.elb.access.[record-s].[record-c]"),
        {
            "web.aws.elb.access.200.175_16_199_1_54106": 1,
            "web.aws.elb.access.200.81_2_69_143_54001": 1,
            "web.aws.elb.access.200.81_2_69_193_52406": 1,
            "web.aws.elb.access.200.81_2_69_193_52410": 1,
            "web.aws.elb.access.200.81_2_69_193_52414": 1,
        },
    ),
    (
        LB + "beats_classic-elb-tcp.log",
        mapped("aws_sqs_elb", {"s": "elb_status_code", "r": "request"}, "web.aws.elb.access.[record-s].[record-r]"),
        {"web.aws.elb.access.-.-_-_-_": 6},
    ),
    (
        LB + "beats_alb-application-lb-http.log",
        mapped(
            "aws_sqs_alb",
            {"s": "elb_status_code", "t": "target_status_code"},
            "web.aws.alb.access.[record-s].[record-t]",
        ),
        {"web.aws.alb.access.460.-": 1, "web.aws.alb.access.504.-": 6, "web.aws.alb.access.200.200": 3},
    ),
    (
        LB + "beats_alb-example-http-https-h2-ws-wss.log",
        mapped(
            "aws_sqs_alb",
            {"t": "type", "s": "elb_status_code", "a": "actions_executed"},
            "web.aws.alb.access.[record-t].[record-s].[record-a]",
        ),
        {
            "web.aws.alb.access.http.200.forward": 2,
            "web.aws.alb.access.https.200.authenticate_forward": 1,
            "web.aws.alb.access.h2.200.redirect": 1,
            "web.aws.alb.access.ws.101.forward": 1,
            "web.aws.alb.access.wss.101.forward": 1,  # its missing space (`"-"1`) does not shift the fields
            "web.aws.alb.access.http.502.forward": 1,
            "web.aws.alb.access.http.400.-": 2,
        },
    ),
    (
        LB + "elastic-integrations_test-alb.log",
        mapped(
            "aws_sqs_alb",
            {
                "t": "type",
                "s": "elb_status_code",
                "ua": "user_agent",
                "v": "tls_verify_status",
                "cls": "classification_reason",
                "lp": "listener_port",
            },
            "web.aws.alb.access.[record-t].[record-s].[record-cls].[record-v].[record-lp]",
        ),
        {
            "web.aws.alb.access.http.200.-.null.null": 2,
            "web.aws.alb.access.http.301.SpaceInUri.null.null": 1,
            "web.aws.alb.access.tls.null.null.null.null": 4,
            "web.aws.alb.access.null.null.null.Success.443": 1,
            "web.aws.alb.access.null.null.null.Failed_ClientCertUntrusted.443": 1,
            "web.aws.alb.access.null.null.null.-.80": 1,
        },
    ),
    (
        LB + "loki-lambda-promtail_albaccesslog.log.gz",
        mapped(
            "aws_sqs_alb",
            {"t": "type", "s": "elb_status_code", "a": "actions_executed", "c": "client_port"},
            "web.aws.alb.access.[record-t].[record-s].[record-a].[record-c]",
        ),
        {
            "web.aws.alb.access.http.301.redirect.12_34_178_90_32_40860": 1,
            "web.aws.alb.access.https.404.fixed-response.12_34_178_90_32_39054": 1,
        },
    ),
    (
        LB + "loki-lambda-promtail_nlbaccesslog.log.gz",
        mapped(
            "aws_sqs_alb",
            {"t": "type", "c": "client_port", "p": "tls_protocol_version", "alpn": "alpn_fe_protocol"},
            "web.aws.nlb.access.[record-t].[record-c].[record-p].[record-alpn]",
        ),
        {
            "web.aws.nlb.access.tls.72_21_218_154_51341.tlsv12.-": 1,
            "web.aws.nlb.access.tls.72_21_218_154_51341.tlsv12.h2": 1,
        },
    ),
    (
        "aws_cloudfront/loki-lambda-promtail_cloudfront.log.gz",
        mapped(
            "aws_sqs_cloudfront",
            {"s": "sc_status", "ip": "c_ip", "ct": "sc_content_type"},
            "web.aws.cloudfront.access.[record-s].[record-ip].[record-ct]",
        ),
        {
            "web.aws.cloudfront.access.200.13_231_15_129.application_javascript": 1,
            "web.aws.cloudfront.access.200.13_231_15_129.binary_octet-stream": 1,
        },
    ),
]


@pytest.mark.parametrize(("relative", "services", "tags"), CASES, ids=[case[0].split("/")[-1] for case in CASES])
def test_access_log_fields_carry_their_documented_names(
    relative: str,
    services: dict[str, Any],
    tags: dict[str, int],
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    [service] = services
    result = parse(capsysbinary, "--config", config_file(tmp_path, services), "--service", service, realdata(relative))
    assert result.code == 0
    assert result.tags == Counter(tags)
    assert sorted(result.messages) == sorted(lines_of(relative))  # the original lines, grouped by tag


@pytest.mark.parametrize(
    ("service", "relative", "tag", "records"),
    [
        ("aws_sqs_s3_access", "aws_s3_access/elastic-integrations_test-s3-server-access.log", "web.aws.s3.access", 10),
        ("aws_sqs_elb", LB + "beats_classic-elb-tcp.log", "web.aws.elb.access", 6),
        ("aws_sqs_alb", LB + "beats_alb-example-http-https-h2-ws-wss.log", "web.aws.alb.access", 9),
        ("aws_sqs_alb", LB + "loki-lambda-promtail_albaccesslog.log.gz", "web.aws.alb.access", 2),
        ("aws_sqs_cloudfront", "aws_cloudfront/loki-lambda-promtail_cloudfront.log.gz", "web.aws.cloudfront.access", 2),
    ],
)
def test_predefined_access_log_services_send_the_original_lines_in_order(
    service: str, relative: str, tag: str, records: int, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(capsysbinary, "--service", service, realdata(relative))
    assert result.code == 0
    assert result.tags == Counter({tag: records})
    assert result.messages == lines_of(relative)


def test_cloudfront_values_stay_url_encoded_as_sent(tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    services = mapped("aws_sqs_cloudfront", {"ff": "x_forwarded_for"}, "web.aws.cloudfront.[record-ff]")
    relative = "aws_cloudfront/loki-lambda-promtail_cloudfront.log.gz"
    result = parse(
        capsysbinary, "--config", config_file(tmp_path, services), "--service", "aws_sqs_cloudfront", realdata(relative)
    )
    forwarded = ("10_3_200_121__x2010_56_14_213", "10_3_200_121__x2010_56_1_111")  # CloudFront writes a space as \x20
    assert result.tags == Counter({f"web.aws.cloudfront.{value}": 1 for value in forwarded})
    assert "Mozilla/5.0%20(Macintosh;%20Intel%20Mac%20OS%20X%2010_15_7)" in result.messages[0]
