"""`aws_sqs_vpc` on every genuine VPC flow log sample, and on a genuine (if trivial) Parquet file."""

from __future__ import annotations

import gzip
from collections import Counter
from pathlib import Path
from typing import Any

import pytest

from tests.support.realdata import needs_realdata, realdata
from tests.unit.processing.parse_runs import config_file, parse

pytestmark = needs_realdata

V2 = (
    "version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action log-status"
)
V5 = (
    f"{V2} vpc-id subnet-id instance-id tcp-flags type pkt-srcaddr pkt-dstaddr region az-id sublocation-type "
    "sublocation-id pkt-src-aws-service pkt-dst-aws-service flow-direction traffic-path"
)
ECS = (
    "ecs-cluster-arn ecs-cluster-name ecs-container-instance-arn ecs-container-instance-id ecs-container-id "
    "ecs-second-container-id ecs-service-name ecs-task-definition-arn ecs-task-arn ecs-task-id reject-reason"
)
TGW = (
    "version resource-type account-id tgw-id tgw-attachment-id tgw-src-vpc-account-id tgw-dst-vpc-account-id "
    "tgw-src-vpc-id tgw-dst-vpc-id tgw-src-subnet-id tgw-dst-subnet-id tgw-src-eni tgw-dst-eni tgw-src-az-id "
    "tgw-dst-az-id tgw-pair-attachment-id srcaddr dstaddr srcport dstport protocol packets bytes start end "
    "log-status type packets-lost-no-route packets-lost-blackhole packets-lost-mtu-exceeded packets-lost-ttl-expired "
    "tcp-flags region flow-direction pkt-src-aws-service pkt-dst-aws-service"
)  # the AWS documentation's default Transit Gateway flow log format
DIR = "aws_vpcflow/"


def records_of(relative: str) -> list[str]:
    path = realdata(relative)
    text = gzip.decompress(path.read_bytes()).decode() if path.suffix == ".gz" else path.read_text()
    return [line for line in text.splitlines() if line and not line.startswith("version ")]


def vpc(fields: dict[str, str], template: str, field_names: str | None = None) -> dict[str, Any]:
    service: dict[str, Any] = {
        "record_field_mapping": {variable: {"keys": [key]} for variable, key in fields.items()},
        "routing_template": template,
    }
    if field_names:
        service["file_format"] = {"type": "vpc_flow_processor", "config": {"field_names": field_names.split()}}
    return {"aws_sqs_vpc": service}


BASIC = {"a": "action", "s": "log_status", "p": "dstport"}
BASIC_TAG = "cloud.aws.vpc.flow.[record-a].[record-s].[record-p]"

CASES = [
    (
        "loki-lambda-promtail_vpcflowlog.log.gz",  # v2 with its header, as delivered to S3
        vpc(BASIC, BASIC_TAG),
        {
            "cloud.aws.vpc.flow.ACCEPT.OK.443": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.60220": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.57879": 1,
        },
    ),
    (
        "elastic-integrations_test-extra-samples-v2.log",  # v2 without header: the default fields
        vpc(BASIC, BASIC_TAG),
        {
            "cloud.aws.vpc.flow.ACCEPT.OK.22": 2,
            "cloud.aws.vpc.flow.-.NODATA.-": 1,
            "cloud.aws.vpc.flow.-.SKIPDATA.-": 1,
            "cloud.aws.vpc.flow.REJECT.OK.3389": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.0": 1,
            "cloud.aws.vpc.flow.REJECT.OK.0": 1,
        },
    ),
    (
        "awsdocs_custom-v3-tcpflags_with-header.log",
        vpc({**BASIC, "f": "tcp_flags", "t": "type"}, BASIC_TAG + ".[record-f].[record-t]"),
        {
            "cloud.aws.vpc.flow.ACCEPT.OK.5001.2.IPv4": 2,
            "cloud.aws.vpc.flow.ACCEPT.OK.43416.18.IPv4": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.43418.18.IPv4": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.43418.1.IPv4": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.5001.1.IPv4": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.5001.3.IPv4": 1,
            "cloud.aws.vpc.flow.ACCEPT.OK.43638.19.IPv4": 1,  # after the double space in this record
        },
    ),
    (
        "awsdocs_custom-v5-all-with-header.log",
        vpc(
            {"svc": "pkt_src_aws_service", "d": "flow_direction", "tp": "traffic_path"},
            "cloud.aws.vpc.flow.[record-svc].[record-d].[record-tp]",
        ),
        {"cloud.aws.vpc.flow.S3.ingress.-": 1, "cloud.aws.vpc.flow.-.egress.8": 1},
    ),
    (
        "elastic-integrations_test-v5-all-fields.log",
        vpc(
            {"src": "pkt_src_aws_service", "dst": "pkt_dst_aws_service", "tp": "traffic_path"},
            "cloud.aws.vpc.flow.[record-src].[record-dst].[record-tp]",
            V5,
        ),
        {"cloud.aws.vpc.flow.AMAZON.CLOUDFRONT.1": 1},
    ),
    (
        "elastic-integrations_test-v8-ecs-samples.log",
        vpc(
            {"c": "ecs_cluster_name", "svc": "ecs_service_name", "r": "reject_reason"},
            "cloud.aws.vpc.flow.[record-c].[record-svc].[record-r]",
            f"{V5} {ECS}",
        ),
        {"cloud.aws.vpc.flow.backend-cluster.payments-service.BPA": 1},
    ),
    (
        "elastic-integrations_test-tgw-samples.log",
        vpc(
            {"s": "log_status", "d": "flow_direction", "p": "dstport"},
            "cloud.aws.vpc.flow.tgw.[record-s].[record-d].[record-p]",
            TGW,
        ),
        {
            "cloud.aws.vpc.flow.tgw.SKIPDATA.ingress.22": 1,
            "cloud.aws.vpc.flow.tgw.NODATA.ingress.80": 1,
            "cloud.aws.vpc.flow.tgw.OK.ingress.8080": 1,
            "cloud.aws.vpc.flow.tgw.SKIPDATA.ingress.3389": 3,
            "cloud.aws.vpc.flow.tgw.SKIPDATA.ingress.80": 2,
            "cloud.aws.vpc.flow.tgw.OK.ingress.443": 2,
        },
    ),
]


@pytest.mark.parametrize(("name", "services", "tags"), CASES, ids=[case[0] for case in CASES])
def test_every_vpc_sample_is_split_into_records_named_by_its_header_or_format(
    name: str,
    services: dict[str, Any],
    tags: dict[str, int],
    tmp_path: Path,
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    result = parse(
        capsysbinary, "--config", config_file(tmp_path, services), "--service", "aws_sqs_vpc", realdata(DIR + name)
    )
    assert result.code == 0
    assert result.tags == Counter(tags)
    assert sorted(result.messages) == sorted(records_of(DIR + name))


@pytest.mark.parametrize(
    ("name", "records"),
    [
        ("loki-lambda-promtail_vpcflowlog.log.gz", 3),
        ("elastic-integrations_test-extra-samples-v2.log", 7),
        ("awsdocs_custom-v3-tcpflags_with-header.log", 8),
        ("awsdocs_custom-v5-all-with-header.log", 2),
        ("elastic-integrations_test-v5-all-fields.log", 1),
        ("elastic-integrations_test-v8-ecs-samples.log", 1),
        ("elastic-integrations_test-tgw-samples.log", 10),
    ],
)
def test_the_predefined_vpc_service_sends_every_record_but_no_header_in_order(
    name: str, records: int, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_vpc", realdata(DIR + name))
    assert result.code == 0
    assert result.tags == Counter({"cloud.aws.vpc.flow": records})
    assert result.messages == records_of(DIR + name)


def test_a_genuine_parquet_file_is_sniffed_and_each_row_sent_as_json(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = realdata("aws_security_lake_parquet/wazuh_security-lake_test_file.parquet")
    result = parse(capsysbinary, "--service", "aws_sqs_vpc", path)
    assert result.code == 0
    assert result.records == [("cloud.aws.vpc.flow", '{"key1":"value1","key2":"value2"}')]
