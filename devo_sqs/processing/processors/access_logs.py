"""`aws_access_logs_processor`: space-separated access logs with "quoted" and [bracketed] fields
(S3 server access, classic ELB, ALB, NLB) and CloudFront's tab-separated standard logs.

The original line is sent. Fields are named after the AWS documentation's columns, lower-case, with
`:`, `-`, spaces and brackets as `_`; columns AWS appends later are kept as `column_N`.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from devo_sqs.config.processors import AwsAccessLogsConfig
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.text import line_blocks, split_lines

COLUMNS = {
    "alb": (
        "type time elb client:port target:port request_processing_time target_processing_time "
        "response_processing_time elb_status_code target_status_code received_bytes sent_bytes request "
        "user_agent ssl_cipher ssl_protocol target_group_arn trace_id domain_name chosen_cert_arn "
        "matched_rule_priority request_creation_time actions_executed redirect_url error_reason "
        "target:port_list target_status_code_list classification classification_reason conn_trace_id"
    ),
    "elb": (
        "time elb client:port backend:port request_processing_time backend_processing_time "
        "response_processing_time elb_status_code backend_status_code received_bytes sent_bytes request "
        "user_agent ssl_cipher ssl_protocol"
    ),
    "nlb": (
        "type version time elb listener client:port destination:port connection_time tls_handshake_time "
        "received_bytes sent_bytes incoming_tls_alert chosen_cert_arn chosen_cert_serial tls_cipher "
        "tls_protocol_version tls_named_group domain_name alpn_fe_protocol alpn_be_protocol "
        "alpn_client_preference_list tls_connection_creation_time"
    ),
    "s3": (
        "bucket_owner bucket time remote_ip requester request_id operation key request_uri http_status "
        "error_code bytes_sent object_size total_time turn_around_time referer user_agent version_id host_id "
        "signature_version cipher_suite authentication_type host_header tls_version access_point_arn "
        "acl_required"
    ),
    "cloudfront": (
        "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
        "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol "
        "cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type "
        "cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte "
        "x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"
    ),
}
TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"|\[([^\]]*)\]|(\S+)')
NOT_NAME = re.compile(r"[^a-z0-9]+")


def column_name(documented: str) -> str:
    """`client:port` -> `client_port`, `cs(User-Agent)` -> `cs_user_agent`, `Turn-Around Time` -> ..."""
    return NOT_NAME.sub("_", documented.lower()).strip("_")


def tokens(line: str) -> list[str]:
    """Split on spaces, keeping "quoted" (quotes removed) and [bracketed] values whole."""
    return [quoted or bracketed or bare for quoted, bracketed, bare in TOKEN.findall(line)]


def named(names: list[str], values: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = dict(zip(names, values, strict=False))
    for index in range(len(names), len(values)):
        record[f"column_{index + 1}"] = values[index]
    return record


class AwsAccessLogs:
    def __init__(self, config: AwsAccessLogsConfig, *, parse_records: bool) -> None:
        self.cloudfront = config.log_type == "cloudfront"
        self.names = [column_name(column) for column in COLUMNS[config.log_type].split()]
        self.parse = parse_records

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        names = self.names
        for block in line_blocks(chunks, ctx):
            lines = split_lines(block)
            if self.cloudfront and lines and lines[0].startswith(b"#"):
                names = _cloudfront_fields(lines) or names
                lines = [line for line in lines if not line.startswith(b"#")]
            if not self.parse:
                yield Records(lines, None)
            elif self.cloudfront:
                yield Records(lines, [named(names, line.decode().split("\t")) for line in lines])
            else:
                yield Records(lines, [named(names, tokens(line.decode())) for line in lines])


def _cloudfront_fields(lines: list[bytes]) -> list[str] | None:
    for line in lines:
        if line.startswith(b"#Fields:"):
            return [column_name(field) for field in line[len(b"#Fields:") :].decode().split()]
    return None
