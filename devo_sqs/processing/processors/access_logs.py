"""`aws_access_logs_processor`: space-separated access logs with "quoted" and [bracketed] fields
(S3 server access, classic ELB, ALB, ALB connection logs, NLB) and CloudFront's tab-separated standard logs.

The original line is sent. Fields are named after the AWS documentation's columns, lower-case, with
`:`, `-`, spaces and brackets as `_`; columns AWS appends later are kept as `column_N` (N their position).
Load balancers of every kind write to the same `elasticloadbalancing/` prefix, so for the load balancer types
each line is named by the kind its first fields show (`tls` -> nlb, `http`/`h2`/... -> alb, a timestamp then a
bare port -> alb_connection, a timestamp then `ip:port` -> elb), and by `log_type` when they show none.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from typing import Any

from devo_sqs.config.processors import AwsAccessLogsConfig
from devo_sqs.processing.records import ObjectContext, Records, in_runs
from devo_sqs.processing.text import line_blocks, split_lines

COLUMNS = {
    "alb": (
        "type time elb client:port target:port request_processing_time target_processing_time "
        "response_processing_time elb_status_code target_status_code received_bytes sent_bytes request "
        "user_agent ssl_cipher ssl_protocol target_group_arn trace_id domain_name chosen_cert_arn "
        "matched_rule_priority request_creation_time actions_executed redirect_url error_reason "
        "target:port_list target_status_code_list classification classification_reason conn_trace_id "
        "transformed_host transformed_uri request_transform_status"
    ),
    "alb_connection": (
        "timestamp client_ip client_port listener_port tls_protocol tls_cipher tls_handshake_latency "
        "leaf_client_cert_subject leaf_client_cert_validity leaf_client_cert_serial_number tls_verify_status "
        "conn_trace_id"
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
        "Bucket_Owner Bucket Time Remote_IP Requester Request_ID Operation Key Request-URI HTTP_status "
        "Error_Code Bytes_Sent Object_Size Total_Time Turn-Around_Time Referer User-Agent Version_Id Host_Id "
        "Signature_Version Cipher_Suite Authentication_Type Host_Header TLS_version Access_Point_ARN aclRequired "
        "Source_region"
    ),
    "cloudfront": (
        "date time x-edge-location sc-bytes c-ip cs-method cs(Host) cs-uri-stem sc-status cs(Referer) "
        "cs(User-Agent) cs-uri-query cs(Cookie) x-edge-result-type x-edge-request-id x-host-header cs-protocol "
        "cs-bytes time-taken x-forwarded-for ssl-protocol ssl-cipher x-edge-response-result-type "
        "cs-protocol-version fle-status fle-encrypted-fields c-port time-to-first-byte "
        "x-edge-detailed-result-type sc-content-type sc-content-len sc-range-start sc-range-end"
    ),
}  # S3's documented names hold spaces ("Turn-Around Time"): written here with `_` to split the list on spaces
LOAD_BALANCER_TYPES = frozenset(("alb", "alb_connection", "elb", "nlb"))
ALB_REQUEST_TYPES = frozenset(("http", "https", "h2", "grpcs", "ws", "wss"))
TOKEN = re.compile(r'"((?:[^"\\]|\\.)*)"(?!,)|\[([^\]]*)\](?=\s|$)|(\S+)')  # `"h2","http/1.1"`: one value
ESCAPED = re.compile(r'\\(["\\])')
NOT_NAME = re.compile(r"[^a-z0-9]+")


def column_name(documented: str) -> str:
    """`client:port` -> `client_port`, `cs(User-Agent)` -> `cs_user_agent`, `Turn-Around Time` -> ..."""
    return NOT_NAME.sub("_", documented.lower()).strip("_")


def tokens(line: str) -> list[str]:
    """Split on spaces, keeping "quoted" (quotes removed, `\\"` unescaped) and [bracketed] values whole."""
    found = TOKEN.findall(line)
    if "\\" in line:
        return [ESCAPED.sub(r"\1", quoted) if quoted else bracketed or bare for quoted, bracketed, bare in found]
    return [quoted or bracketed or bare for quoted, bracketed, bare in found]


def load_balancer_type(values: list[str]) -> str | None:
    """The kind of load balancer log a line is, from its first fields; None when they do not say."""
    first = values[0]
    if first in ALB_REQUEST_TYPES:
        return "alb"
    if first == "tls":
        return "nlb"
    if len(values) > 2 and first[:4].isdigit():
        return "alb_connection" if values[2].isdigit() else "elb"
    return None


def named(names: list[str], values: list[str]) -> dict[str, Any]:
    record: dict[str, Any] = dict(zip(names, values, strict=False))
    for index in range(len(names), len(values)):
        record[f"column_{index + 1}"] = values[index]
    return record


class AwsAccessLogs:
    def __init__(self, config: AwsAccessLogsConfig, *, parse_records: bool) -> None:
        self.log_type = config.log_type
        self.names = {kind: [column_name(column) for column in columns.split()] for kind, columns in COLUMNS.items()}
        self.detects = config.log_type in LOAD_BALANCER_TYPES
        self.parse = parse_records

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        if self.log_type == "cloudfront":
            yield from self._cloudfront(chunks, ctx)
            return
        for block in line_blocks(chunks, ctx):
            for lines in in_runs(split_lines(block), ctx.limits.records_per_run):
                yield Records(lines, [self._record(line) for line in lines] if self.parse else None)

    def _record(self, line: bytes) -> dict[str, Any]:
        values = tokens(line.decode())
        kind = (load_balancer_type(values) or self.log_type) if self.detects and values else self.log_type
        return named(self.names[kind], values)

    def _cloudfront(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        """Tab-separated; `#Version`/`#Fields` lines are not sent, `#Fields` names the columns.
        Values are kept as sent (URL-encoded)."""
        names = self.names["cloudfront"]
        for block in line_blocks(chunks, ctx):
            lines = split_lines(block)
            if block.startswith(b"#") or b"\n#" in block:
                names = _cloudfront_fields(lines) or names
                lines = [line for line in lines if not line.startswith(b"#")]
            for run in in_runs(lines, ctx.limits.records_per_run):
                yield Records(run, [named(names, line.decode().split("\t")) for line in run] if self.parse else None)


def _cloudfront_fields(lines: list[bytes]) -> list[str] | None:
    fields = [line for line in lines if line.startswith(b"#Fields:")]
    return [column_name(field) for field in fields[-1][len(b"#Fields:") :].decode().split()] if fields else None
