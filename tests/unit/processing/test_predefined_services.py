"""Every predefined service through `devo-sqs parse`, on genuine files of its kind under the S3 key AWS or the
vendor writes, or on a fixture written from the vendor's format documentation where no genuine file exists
(tests/fixtures/README.md): exact record counts, tags and messages. Rows on genuine files skip when
the genuine samples are missing; fixture rows always run."""

from __future__ import annotations

import gzip
import json
import re
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import orjson
import pytest

from tests.support.realdata import REALDATA, needs_realdata, skip_if_missing
from tests.unit.processing.parse_runs import ParseRun, config_file, parse

FIXTURES = Path(__file__).parents[2] / "fixtures"


def source(name: str) -> Path:
    """`fixtures/...` in the repository, anything else a genuine file under REALDATA."""
    return FIXTURES / name.removeprefix("fixtures/") if name.startswith("fixtures/") else REALDATA / name


def text_of(name: str) -> str:
    data = source(name).read_bytes()
    return (gzip.decompress(data) if data[:2] == b"\x1f\x8b" else data).decode()


@dataclass(frozen=True)
class Line:
    """The n-th non-empty line of a genuine file, as written (what line-based services send)."""

    name: str
    n: int

    def text(self) -> str:
        return [line for line in text_of(self.name).splitlines() if line][self.n]


@dataclass(frozen=True)
class Item:
    """The value at `path` in the first JSON value of a genuine file, as compact JSON (what JSON services
    extract)."""

    name: str
    path: tuple[str | int, ...]

    def text(self) -> str:
        value: Any = json.JSONDecoder().raw_decode(text_of(self.name).lstrip())[0]
        for step in self.path:
            value = value[step]
        return orjson.dumps(value).decode()


Expected = str | Line | Item


@dataclass(frozen=True)
class Case:
    id: str
    service: str
    files: tuple[str, ...]
    key: str  # as AWS or the vendor writes it
    tags: dict[str, int]  # exact records per tag
    messages: dict[int, Expected] = field(default_factory=dict)  # position in the output -> exact message

    @property
    def genuine(self) -> bool:
        return not all(name.startswith("fixtures/") for name in self.files)


def run(capsys: pytest.CaptureFixture[bytes], case: Case, *extra: str) -> ParseRun:
    return parse(capsys, "--service", case.service, "--key", case.key, *extra, *map(source, case.files))


CT = "aws_cloudtrail/"
CT_KEY = (
    "AWSLogs/123456789012/CloudTrail/us-east-1/2024/01/16/123456789012_CloudTrail_us-east-1_20240116T1205Z_abc.json.gz"
)
CONFIG_HISTORY = "aws_config/awsdocs_config-history-ebs-example.json"
CONFIG_SNAPSHOT = "aws_config/awsdocs_config-snapshot-example.json"
LB = "aws_elb_alb_nlb/"
CWL = "aws_cloudwatch_logs_subscription/"
FIREHOSE_KEY = "firehose/2024/01/16/12/stream-1-2024-01-16-12-05-31-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.gz"
FDR_DATA_KEY = "data/3f2b1a9c-8d7e-4f6a-9b5c-1d2e3f4a5b6c/part-00000.gz"
GUARDDUTY = "aws_guardduty/elastic-integrations_test-guardduty.ndjson"
RESOLVER = "aws_route53_resolver/elastic-integrations_test-route53-resolver.log"
PUBLIC_DNS = "aws_route53_public_dns/elastic-integrations_test-route53-public.log"
CT_FIREHOSE = "fixtures/cloudtrail_firehose/cloudtrail-firehose-object.json"
GD_FIREHOSE = "fixtures/guardduty_firehose/guardduty-firehose-object.json"
LACEWORK = "fixtures/lacework/alerts-export.json"

CT_ASSUME_ROLE = (
    '{"eventVersion":"1.08","userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},'
    '"eventTime":"2024-01-16T12:06:40Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole",'
    '"awsRegion":"us-east-2","sourceIPAddress":"lambda.amazonaws.com","userAgent":"lambda.amazonaws.com",'
    '"requestParameters":{"roleArn":"arn:aws:iam::123456789012:role/service-role/processor",'
    '"roleSessionName":"processor"},"responseElements":null,"requestID":"4b1c2d3e-5f6a-4b7c-8d9e-0f1a2b3c4d5e",'
    '"eventID":"8e7d6c5b-4a39-4281-9f0e-1d2c3b4a5f6e","readOnly":true,"eventType":"AwsApiCall",'
    '"managementEvent":true,"recipientAccountId":"123456789012","eventCategory":"Management"}'
)
LACEWORK_NEW_USER = (
    '{"alertId":813640,"alertName":"New AWS user","alertType":"NewAwsUser","severity":"Medium",'
    '"alertInfo":{"subject":"New AWS user Alice in account 123456789012",'
    '"description":"Alice performed AWS API calls for the first time"},'
    '"alertSpec":{"alertProfile":"LW_CloudTrail_Alerts.CloudTrailDefaultAlert_AwsUser","name":"NewAwsUser"},'
    '"status":"Open","startTime":"2024-01-16T11:00:00.000Z","endTime":"2024-01-16T12:00:00.000Z",'
    '"lastUserUpdateTime":"","policyId":"lacework-global-157",'
    '"derivedFields":{"category":"Anomaly","sub_category":"Cloud Activity","source":"AWS"},'
    '"reachability":"UnknownReachability"}'
)

CASES = [
    Case(
        "config-history",
        "aws_sqs_config",
        (CONFIG_HISTORY,),
        "AWSLogs/123456789012/Config/us-east-1/2024/1/16/ConfigHistory/123456789012_Config_us-east-1_ConfigHistory_"
        "AWS::EC2::Volume_20240116T120531Z_20240116T130531Z_1.json.gz",
        {"cloud.aws.configlogs.events": 3},
        {0: Item(CONFIG_HISTORY, ("configurationItems", 0)), 2: Item(CONFIG_HISTORY, ("configurationItems", 2))},
    ),
    Case(
        "config-snapshot",
        "aws_sqs_config",
        (CONFIG_SNAPSHOT,),
        "AWSLogs/123456789012/Config/us-east-1/2024/1/16/ConfigSnapshot/123456789012_Config_us-east-1_ConfigSnapshot_"
        "20240116T120531Z_0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d.json.gz",
        {"cloud.aws.configlogs.events": 2},
        {1: Item(CONFIG_SNAPSHOT, ("configurationItems", 1))},
    ),
    Case(
        "elb",
        "aws_sqs_elb",
        (
            f"{LB}beats_classic-elb-http.log",
            f"{LB}beats_classic-elb-tcp.log",
            f"{LB}beats_classic-elb-example-https.log",
        ),
        "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/16/"
        "123456789012_elasticloadbalancing_us-east-1_my-loadbalancer_20240116T1205Z_192.0.2.1_abc123.log",
        {"web.aws.elb.access": 12},
        {0: Line(f"{LB}beats_classic-elb-http.log", 0), 11: Line(f"{LB}beats_classic-elb-example-https.log", 0)},
    ),
    Case(
        "alb",
        "aws_sqs_alb",
        (f"{LB}loki-lambda-promtail_albaccesslog.log.gz", f"{LB}beats_alb-application-lb-http.log"),
        "AWSLogs/123456789012/elasticloadbalancing/us-east-1/2024/01/16/123456789012_elasticloadbalancing_us-east-1_"
        "app.my-alb.1234567890abcdef_20240116T1205Z_192.0.2.1_2abc3def.log.gz",
        {"web.aws.alb.access": 12},
        {
            1: Line(f"{LB}loki-lambda-promtail_albaccesslog.log.gz", 1),
            2: Line(f"{LB}beats_alb-application-lb-http.log", 0),
        },
    ),
    Case(
        "cisco-umbrella",
        "aws_sqs_cisco_umbrella",
        ("cisco_umbrella/elastic-integrations_test-umbrella-dnslogs.csv",),
        "my-org/dnslogs/2024-01-16/2024-01-16-12-10-abcd.csv.gz",
        {"sig.cisco.umbrella.dns": 15},
        {
            1: '"2020-07-23 23:50:25","elasticuser","elasticuser,Elastic Machine","192.168.1.1","67.43.156.12",'
            '"Blocked","1 (A)","NOERROR","elastic.co.","Chat,Instant Messaging,Block List,Application",'
            '"Test Policy Name","AD Users, Roaming Computers","BlockedCategories"',
        },
    ),
    Case(
        "cloudflare-logpush",
        "aws_sqs_cloudflare_logpush",
        ("cloudflare_logpush/elastic-integrations_test-pipeline-http_request.ndjson",),
        "cloudflare/http_requests/20240116/20240116T120000Z_20240116T120500Z_a1b2c3d4.log.gz",
        {"cloud.cloudflare.logpush.http": 2},
        {1: Line("cloudflare_logpush/elastic-integrations_test-pipeline-http_request.ndjson", 1)},
    ),
    Case(
        "cloudflare-audit",
        "aws_sqs_cloudflare_audit",
        ("cloudflare_logpush/elastic-integrations_test-pipeline-audit.ndjson",),
        "cloudflare/audit_logs/20240116/20240116T120000Z_20240116T120500Z_e5f6a7b8.log.gz",
        {"cloud.aws.cloudflare.audit": 3},
        {0: Line("cloudflare_logpush/elastic-integrations_test-pipeline-audit.ndjson", 0)},
    ),
    Case(
        "cloudtrail",
        "aws_sqs_cloudtrail",
        (f"{CT}loki-lambda-promtail_cloudtrail-log-file.json.gz", f"{CT}awsdocs_log-file-example-8.json"),
        CT_KEY,
        {"cloud.aws.cloudtrail.123456789.eu-west-3": 2, "cloud.aws.cloudtrail.123456789012.us-east-2": 1},
        {
            0: Item(f"{CT}loki-lambda-promtail_cloudtrail-log-file.json.gz", ("Records", 0)),
            2: Item(f"{CT}awsdocs_log-file-example-8.json", ("Records", 0)),
        },
    ),
    Case(
        "cloudtrail-63-records-of-several-accounts-and-regions",
        "aws_sqs_cloudtrail",
        (f"{CT}beats_aws-cloudtrail.json",),
        CT_KEY,
        {
            "cloud.aws.cloudtrail.123456789012.us-east-1": 14,  # insight events
            # 42 records of AWS's doc examples have no recipientAccountId: the caller's account stands in
            "cloud.aws.cloudtrail.123456789012.us-east-2": 49,
        },
    ),
    Case(
        "cloudtrail-insight",
        "aws_sqs_cloudtrail",
        (f"{CT}awsdocs_log-file-example-9.json",),
        "AWSLogs/123456789012/CloudTrail-Insight/us-east-1/2024/01/16/"
        "123456789012_CloudTrail-Insight_us-east-1_20240116T1205Z_def.json.gz",
        {"cloud.aws.cloudtrail.123456789012.us-east-1": 2},
        {1: Item(f"{CT}awsdocs_log-file-example-9.json", ("Records", 1))},
    ),
    Case(
        "cloudtrail-kinesis",
        "aws_sqs_cloudtrail_kinesis",
        (CT_FIREHOSE,),
        "cloudtrail-firehose/2024/01/16/12/cloudtrail-1-2024-01-16-12-05-31-0a1b2c3d-4e5f-6a7b-8c9d-0e1f2a3b4c5d",
        {
            "cloud.aws.cloudtrail.123456789012.us-east-1": 2,
            "cloud.aws.cloudtrail.111122223333.eu-west-1": 1,
            "cloud.aws.cloudtrail.123456789012.us-east-2": 1,
        },
        {2: CT_ASSUME_ROLE},
    ),
    Case(
        "cloudwatch",
        "aws_sqs_cloudwatch",
        (
            f"{CWL}datadog_cloudwatch_logs.json",
            f"{CWL}vector-docs_cwl-data-message-record0.json.gz",
            f"{CWL}vector-tests_cwl-control-message.json",
        ),
        FIREHOSE_KEY,
        {"cloud.aws.cloudwatch.logs": 21},
        {
            20: '{"bytes":17707,"datetime":"14/Sep/2020:11:45:41 -0400","host":"109.81.244.252","method":"GET",'
            '"protocol":"HTTP/2.0","referer":"http://www.investormission-critical.io/24/7/vortals",'
            '"request":"/scale/functionalities/optimize","source_type":"stdin","status":502,'
            '"user-identifier":"feeney1708"}',
        },
    ),
    Case(
        "fdr",
        "aws_sqs_fdr",
        (
            "crowdstrike_fdr/elastic-integrations_test-linux.ndjson",
            "crowdstrike_fdr/elastic-integrations_test-windows_EXCERPT-8-of-many-lines.ndjson",
        ),
        FDR_DATA_KEY,
        {"edr.crowdstrike.cannon": 13},
        {
            0: Line("crowdstrike_fdr/elastic-integrations_test-linux.ndjson", 0),
            12: Line("crowdstrike_fdr/elastic-integrations_test-windows_EXCERPT-8-of-many-lines.ndjson", 7),
        },
    ),
    Case(
        "guard-duty",
        "aws_sqs_guard_duty",
        (GUARDDUTY,),
        "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/16/0b1c2d3e-4f5a-6b7c-8d9e-0f1a2b3c4d5e.jsonl.gz",
        {"cloud.aws.guardduty.findings": 5},  # the last line, `{"findings":[]}`, holds none
        {0: Line(GUARDDUTY, 0), 4: Line(GUARDDUTY, 4)},
    ),
    Case(
        "guard-duty-kinesis-genuine-eventbridge-events",
        "aws_sqs_guard_duty_kinesis",
        ("aws_guardduty_eventbridge_firehose/foxsec-pipeline_guardduty-sample-findings-with-duplicates.txt",),
        FIREHOSE_KEY,
        {"cloud.aws.guardduty.findings": 5},
        {
            0: Item(
                "aws_guardduty_eventbridge_firehose/foxsec-pipeline_guardduty-sample-findings-with-duplicates.txt",
                ("detail",),
            )
        },
    ),
    Case(
        "guard-duty-kinesis-firehose-object",
        "aws_sqs_guard_duty_kinesis",
        (GD_FIREHOSE,),
        FIREHOSE_KEY,
        {"cloud.aws.guardduty.findings": 3},
    ),
    Case(
        "incapsula",
        "aws_sqs_incapsula",
        ("imperva_incapsula_cef/elastic-integrations_imperva_cloud_waf_test-events.log",),
        "imperva/1234_5678.log",
        {"cef0.imperva.incapsula": 1},
        {0: Line("imperva_incapsula_cef/elastic-integrations_imperva_cloud_waf_test-events.log", 7)},
    ),
    Case(
        "lacework",
        "aws_sqs_lacework",
        (LACEWORK,),
        "lacework-export/ALERTS/2024-01-16T12-00-00Z_0001.json.gz",
        {"monitor.lacework.ALERTS": 3},
        {1: LACEWORK_NEW_USER},
    ),
    Case(
        "palo-alto-traffic",
        "aws_sqs_palo_alto",
        ("paloalto_panos/elastic-integrations_test-panw-panos-traffic-sample_EXCERPT.log",),
        "traffic/2018/11/30/PA-220_traffic_20181130T1609.log.gz",
        {"firewall.paloalto.traffic": 11},
        {10: Line("paloalto_panos/elastic-integrations_test-panw-panos-traffic-sample_EXCERPT.log", 10)},
    ),
    Case(
        "palo-alto-threat",
        "aws_sqs_palo_alto",
        (
            "paloalto_panos/elastic-integrations_test-panw-panos-threat-sample_EXCERPT.log",
            "paloalto_panos/elastic-integrations_test-panw-panos-threat-url-no-xff-sample.log",
        ),
        "threat/2018/11/30/PA-220_threat_20181130T1609.log.gz",
        {"firewall.paloalto.threat": 3},
        {2: Line("paloalto_panos/elastic-integrations_test-panw-panos-threat-url-no-xff-sample.log", 0)},
    ),
    Case(
        "route53-resolver",
        "aws_sqs_route53",
        (RESOLVER,),
        "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0a1b2c3d4e5f60718/2024/01/16/"
        "123456789012_vpcdnsquerylogs_vpc-0a1b2c3d4e5f60718_20240116T1205Z_a1b2c3d4.log.gz",
        {"dns.aws.route53": 34},
        {
            0: '{"version":"1.100000","account_id":"626345947581","region":"us-east-1","vpc_id":"vpc-01e31a7c",'
            '"query_timestamp":"2021-12-11T22:46:23Z","query_name":"does-not-exist.abc.com.","query_type":"A",'
            '"query_class":"IN","rcode":"NXDOMAIN","answers":[],"srcaddr":"172.31.86.159","srcport":"48701",'
            '"transport":"UDP","srcids":{}}',
            33: Line(RESOLVER, 33),
        },
    ),
    Case(
        "route53-public-dns-text",
        "aws_sqs_route53",
        (PUBLIC_DNS,),
        "route53-public/us-east-1/2024/01/16/Z123412341234-example.com.log.gz",
        {"dns.aws.route53": 5},
        {
            0: "1.0 2017-12-13T08:16:02.130Z Z123412341234 example.com A NOERROR UDP FRA6 55.36.5.7 -",
            2: "1.0 2017-12-13T08:16:03.983Z Z123412341234 example.com ANY NOERROR UDP FRA6 2001:db8::1234 "
            "2001:db8:abcd::/48",
        },
    ),
    Case(
        "os",
        "aws_sqs_os",
        ("linux_syslog/elastic-integrations_test-secure-rhel7.log",),
        "unix/secure/slave22/2024/01/16/secure.log.gz",
        {"box.unix.secure.us": 7},
        {0: "Feb 22 16:45:20 slave22 sshd[2738]: Failed password for root from 202.109.143.106 port 1786 ssh2"},
    ),
    Case(
        "s1-funnel",
        "aws_sqs_s1_funnel",
        ("sentinelone_deep_visibility/elastic-integrations_cloud_funnel_test-process.ndjson",),
        "s1-cloud-funnel/2024/01/16/12/deep-visibility-events-0001.json.gz",
        {"edr.sentinelone.dv": 1},
        {0: Line("sentinelone_deep_visibility/elastic-integrations_cloud_funnel_test-process.ndjson", 0)},
    ),
    Case(
        "s3-access",
        "aws_sqs_s3_access",
        (
            "aws_s3_access/elastic-integrations_test-s3-server-access.log",
            "aws_s3_access/loki-lambda-promtail_s3accesslog.log",
        ),
        "s3-access-logs/2024-01-16-12-05-31-0123456789ABCDEF",
        {"web.aws.s3.access": 11},
        {10: Line("aws_s3_access/loki-lambda-promtail_s3accesslog.log", 0)},
    ),
    Case(
        "vpc",
        "aws_sqs_vpc",
        ("aws_vpcflow/loki-lambda-promtail_vpcflowlog.log.gz", "aws_vpcflow/awsdocs_custom-v5-all-with-header.log"),
        "AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/16/"
        "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20240116T1205Z_a1b2c3d4.log.gz",
        {"cloud.aws.vpc.flow": 5},  # header lines are not records
        {
            0: "2 123456789012 eni-0050644426037aa0f 10.26.1.153 3.239.232.29 60220 443 6 48 21869 1669842701 "
            "1669842702 ACCEPT OK",
            4: Line("aws_vpcflow/awsdocs_custom-v5-all-with-header.log", 2),
        },
    ),
    Case(
        "waf",
        "aws_sqs_waf",
        (
            "aws_waf/elastic-integrations_test-waf.log",
            "aws_waf/loki-lambda-promtail_waflog.log.gz",
            "aws_waf/wazuh_aws-waf.ndjson",
        ),
        "AWSLogs/123456789012/WAFLogs/us-east-1/my-web-acl/2024/01/16/12/05/"
        "123456789012_waflogs_us-east-1_my-web-acl_20240116T1205Z_a1b2c3d4.log.gz",
        {"cloud.aws.waf.logs": 12},
        {
            3: Line("aws_waf/elastic-integrations_test-waf.log", 3),
            4: Line("aws_waf/loki-lambda-promtail_waflog.log.gz", 0),
        },
    ),
    Case(
        "rds",
        "aws_sqs_rds",
        (f"{CWL}datadog_cloudwatch_logs_2.json",),
        FIREHOSE_KEY,
        {"cloud.aws.rds.audit.null.null": 1},  # no queue: its region and account are unknown
        {0: '{"status":"info","message":"datadog:This is a custom message","ddtags":"my:tag"}\\n'},
    ),
    Case(
        "cloudfront",
        "aws_sqs_cloudfront",
        ("aws_cloudfront/loki-lambda-promtail_cloudfront.log.gz",),
        "cloudfront-logs/E2ABCDEFGHIJ12.2024-01-16-12.1a2b3c4d.gz",
        {"web.aws.cloudfront.access": 2},  # the #Version and #Fields lines are not records
        {1: Line("aws_cloudfront/loki-lambda-promtail_cloudfront.log.gz", 3)},
    ),
]


def expected_text(expected: Expected) -> str:
    return expected if isinstance(expected, str) else expected.text()


@pytest.mark.parametrize("case", CASES, ids=[case.id for case in CASES])
def test_every_predefined_service_sends_each_record_of_its_format_under_its_tag(
    case: Case, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    if case.genuine:
        skip_if_missing(REALDATA)
    result = run(capsysbinary, case)
    assert result.code == 0, result.stderr
    assert result.tags == Counter(case.tags)
    assert {index: result.messages[index] for index in case.messages} == {
        index: expected_text(expected) for index, expected in case.messages.items()
    }
    assert re.findall(r"failed=(\d+)", result.stderr) == ["0"] * len(case.files)
    summary = run(capsysbinary, case, "--summary")
    assert orjson.loads(summary.records[0][0]) == case.tags


# --- what each definition decides, beyond the table --------------------------------------------------------


@needs_realdata
def test_cloudtrail_digest_files_are_skipped_by_their_key(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    digest = (
        "AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/16/"
        "123456789012_CloudTrail-Digest_us-east-1_trail_us-east-1_20240116T120531Z.json.gz"
    )
    result = parse(
        capsysbinary,
        "--service",
        "aws_sqs_cloudtrail",
        "--key",
        digest,
        source(f"{CT}awsdocs_digest-file-example.json"),
    )
    assert (result.code, result.records) == (0, [])
    assert "awsdocs_digest-file-example.json: skipped by aws_sqs_cloudtrail filename_filter_rules" in result.stderr


@needs_realdata
def test_config_writability_check_files_are_skipped(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    result = parse(
        capsysbinary,
        "--service",
        "aws_sqs_config",
        "--key",
        "AWSLogs/123456789012/Config/ConfigWritabilityCheckFile",
        source(CONFIG_HISTORY),
    )
    assert (result.code, result.records) == (0, [])
    assert "skipped by aws_sqs_config filename_filter_rules" in result.stderr


@needs_realdata
def test_a_config_oversized_change_notification_file_sends_its_configuration_item(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    # The S3 object Config writes when a change notification is too big for SNS holds the whole notification;
    # the genuine one AWS documents is the `Message` of the SNS example.
    notification = json.loads(text_of("aws_config/awsdocs_sns-config-item-change-notification.json"))["Message"]
    path = tmp_path / "notification.json.gz"
    path.write_bytes(gzip.compress(orjson.dumps(notification)))
    key = (
        "AWSLogs/123456789012/Config/us-east-2/2024/1/16/OversizedChangeNotification/AWS::EC2::Instance/"
        "i-007d374c8912e3e90/123456789012_Config_us-east-2_ChangeNotification_AWS::EC2::Instance_"
        "i-007d374c8912e3e90_20240116T120531Z_1.json.gz"
    )
    result = parse(capsysbinary, "--service", "aws_sqs_config", "--key", key, path)
    assert result.code == 0
    assert result.records == [("cloud.aws.configlogs.events", orjson.dumps(notification["configurationItem"]).decode())]


@needs_realdata
def test_guard_duty_findings_wrappers_stand_for_the_findings_they_hold(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    first, second, *_ = [line for line in text_of(GUARDDUTY).splitlines() if line]
    wrapped = '{"findings":[' + first + "," + second + ']}\n{"findings":[]}\n' + json.dumps(json.loads(first), indent=2)
    path = tmp_path / "findings.jsonl"
    path.write_text(wrapped)
    result = parse(capsysbinary, "--service", "aws_sqs_guard_duty", path)
    assert result.code == 0
    assert result.records == [("cloud.aws.guardduty.findings", line) for line in (first, second, first)]


def test_guard_duty_through_firehose_reads_the_gzip_object_firehose_writes(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    plain = source(GD_FIREHOSE).read_bytes()
    path = tmp_path / "guardduty-1-2024-01-16-12-05-31-0a1b2c3d.gz"
    path.write_bytes(gzip.compress(plain))
    result = parse(capsysbinary, "--service", "aws_sqs_guard_duty_kinesis", "--key", FIREHOSE_KEY, path)
    assert result.code == 0
    findings = [json.loads(message) for message in result.messages]
    assert [(f["type"], f["severity"], f["service"]["count"]) for f in findings] == [
        ("Recon:EC2/PortProbeUnprotectedPort", 2, 4),
        ("CryptoCurrency:EC2/BitcoinTool.B!DNS", 8, 1),
        ("UnauthorizedAccess:IAMUser/InstanceCredentialExfiltration.OutsideAWS", 8, 1),
    ]
    assert result.messages == [orjson.dumps(event["detail"]).decode() for event in _values(plain)]


def _values(data: bytes) -> list[Any]:
    """JSON values written back to back, decoded one by one (independently of the collector's reader)."""
    decoder, text, position, values = json.JSONDecoder(), data.decode(), 0, []
    while position < len(text):
        value, position = decoder.raw_decode(text, position)
        values.append(value)
        while position < len(text) and text[position].isspace():
            position += 1
    return values


def test_cloudtrail_through_firehose_unwraps_eventbridge_events_and_keeps_bare_records(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_cloudtrail_kinesis", "--key", FIREHOSE_KEY, source(CT_FIREHOSE))
    values = _values(source(CT_FIREHOSE).read_bytes())
    assert [json.loads(message) for message in result.messages] == [value.get("detail", value) for value in values]
    assert [json.loads(message)["eventName"] for message in result.messages] == [
        "CreateBucket",
        "StopInstances",
        "AssumeRole",
        "ConsoleLogin",
    ]


@needs_realdata
def test_route53_resolver_logs_written_pretty_are_read_as_compact_records(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    lines = [line for line in text_of(RESOLVER).splitlines() if line][:3]
    path = tmp_path / "resolver.log"
    path.write_text("\n".join(json.dumps(json.loads(line), indent=4) for line in lines) + "\n")
    result = parse(capsysbinary, "--service", "aws_sqs_route53", path)
    assert result.code == 0
    assert result.records == [("dns.aws.route53", line) for line in lines]


@needs_realdata
@pytest.mark.parametrize(
    "key",
    [
        "fdrv2/aidmaster/3f2b1a9c-8d7e-4f6a-9b5c-1d2e3f4a5b6c/part-00000.gz",
        "fdrv2/managedassets/3f2b1a9c-8d7e-4f6a-9b5c-1d2e3f4a5b6c/part-00000.gz",
        "fdrv2/notmanaged/3f2b1a9c-8d7e-4f6a-9b5c-1d2e3f4a5b6c/part-00000.gz",
        "aidmaster/3f2b1a9c-8d7e-4f6a-9b5c-1d2e3f4a5b6c/part-00000.gz",
    ],
)
def test_fdr_inventory_files_are_not_sent_as_events(key: str, capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    result = parse(
        capsysbinary,
        "--service",
        "aws_sqs_fdr",
        "--key",
        key,
        source("crowdstrike_fdr/elastic-integrations_test-linux.ndjson"),
    )
    assert (result.code, result.records) == (0, [])
    assert "skipped by aws_sqs_fdr filename_filter_rules" in result.stderr


RDS_PAYLOAD = f"{CWL}datadog_cloudwatch_logs_2.json"


@needs_realdata
@pytest.mark.parametrize(
    ("queue", "tag"),
    [
        ("https://sqs.eu-west-1.amazonaws.com/123456789012/rds-logs", "cloud.aws.rds.audit.eu-west-1.123456789012"),
        ("https://sqs.us-gov-west-1.amazonaws.com/210987654321/rds", "cloud.aws.rds.audit.us-gov-west-1.210987654321"),
    ],
)
def test_rds_levels_are_the_region_and_account_of_the_queue_url(
    queue: str, tag: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_rds", "--queue-url", queue, source(RDS_PAYLOAD))
    assert result.code == 0
    assert result.tags == Counter({tag: 1})


@needs_realdata
def test_rds_levels_come_from_the_configured_queue_unless_a_queue_url_is_given(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    config = config_file(tmp_path, {"aws_sqs_rds": {}})  # queue https://sqs.eu-west-1.amazonaws.com/123456789012/q
    configured = parse(capsysbinary, "--config", config, "--service", "aws_sqs_rds", source(RDS_PAYLOAD))
    assert configured.tags == Counter({"cloud.aws.rds.audit.eu-west-1.123456789012": 1})
    other = "https://sqs.ap-southeast-2.amazonaws.com/999999999999/rds"
    overridden = parse(
        capsysbinary, "--config", config, "--service", "aws_sqs_rds", "--queue-url", other, source(RDS_PAYLOAD)
    )
    assert overridden.tags == Counter({"cloud.aws.rds.audit.ap-southeast-2.999999999999": 1})


@needs_realdata
def test_a_queue_url_that_is_not_one_is_a_configuration_error(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_rds", "--queue-url", "rds-logs", source(RDS_PAYLOAD))
    assert (result.code, result.records) == (2, [])
    assert "--queue-url: 'rds-logs' is not an SQS queue URL" in result.stderr


@needs_realdata
def test_vpc_flow_logs_through_cloudwatch_and_firehose_send_each_flow_line(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    flows = [
        line for line in text_of("aws_vpcflow/elastic-integrations_test-extra-samples-v2.log").splitlines() if line
    ]
    payloads = [_payload(flows[:4], 0), CONTROL, _payload(flows[4:], 4)]
    path = tmp_path / "vpc-stream-1-2024-01-16-12-05-31-0a1b2c3d.gz"
    path.write_bytes(b"".join(gzip.compress(orjson.dumps(payload)) for payload in payloads))  # one member each
    result = parse(capsysbinary, "--service", "aws_sqs_cloudwatch_vpc", "--key", FIREHOSE_KEY, path)
    assert result.code == 0
    assert result.records == [("cloud.aws.vpc.flow", flow) for flow in flows]


def _payload(messages: list[str], first_id: int) -> dict[str, Any]:
    """A CloudWatch Logs subscription DATA_MESSAGE as documented (CloudWatch Logs User Guide, subscriptions)."""
    events = [{"id": str(first_id + n), "timestamp": 1705406731000 + n, "message": m} for n, m in enumerate(messages)]
    return {
        "messageType": "DATA_MESSAGE",
        "owner": "123456789012",
        "logGroup": "vpc-flow-logs",
        "logStream": "eni-1235b8ca123456789-all",
        "subscriptionFilters": ["to-firehose"],
        "logEvents": events,
    }


CONTROL = {
    "messageType": "CONTROL_MESSAGE",
    "owner": "CloudwatchLogs",
    "logGroup": "",
    "logStream": "",
    "subscriptionFilters": [],
    "logEvents": [
        {"id": "", "timestamp": 0, "message": "CWL CONTROL MESSAGE: Checking health of destination Firehose."}
    ],
}


CONTROL_TOWER = [
    (
        f"{CT}loki-lambda-promtail_cloudtrail-log-file.json.gz",
        "o-abc123def4/AWSLogs/o-abc123def4/123456789012/CloudTrail/eu-west-3/2024/01/16/"
        "123456789012_CloudTrail_eu-west-3_20240116T1205Z_abc.json.gz",
        "aws_sqs_cloudtrail",
        {"cloud.aws.cloudtrail.123456789.eu-west-3": 2},
    ),
    (
        "aws_vpcflow/loki-lambda-promtail_vpcflowlog.log.gz",
        "o-abc123def4/AWSLogs/123456789012/vpcflowlogs/us-east-1/2024/01/16/"
        "123456789012_vpcflowlogs_us-east-1_fl-1234abcd_20240116T1205Z_a1b2c3d4.log.gz",
        "aws_sqs_vpc",
        {"cloud.aws.vpc.flow": 3},
    ),
    (
        CONFIG_HISTORY,
        "o-abc123def4/AWSLogs/123456789012/Config/us-east-1/2024/1/16/ConfigHistory/"
        "123456789012_Config_us-east-1_ConfigHistory_AWS::EC2::Volume_20240116T120531Z_20240116T130531Z_1.json.gz",
        "aws_sqs_config",
        {"cloud.aws.configlogs.events": 3},
    ),
    (
        "aws_cloudfront/loki-lambda-promtail_cloudfront.log.gz",
        "cloudfront/E2ABCDEFGHIJ12.2024-01-16-12.1a2b3c4d.gz",
        "aws_sqs_cloudfront",
        {"web.aws.cloudfront.access": 2},
    ),
    (
        "aws_s3_access/loki-lambda-promtail_s3accesslog.log",
        "aws-controltower-s3-access-logs/2024-01-16-12-05-31-0123456789ABCDEF",
        "aws_sqs_s3_access",
        {"web.aws.s3.access": 1},
    ),
]


@needs_realdata
@pytest.mark.parametrize(
    ("name", "key", "definition", "tags"),
    CONTROL_TOWER,
    ids=[row[2] for row in CONTROL_TOWER],
)
def test_control_tower_hands_each_object_to_the_definition_its_key_names(
    name: str, key: str, definition: str, tags: dict[str, int], capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_control_tower", "--key", key, source(name))
    assert result.code == 0
    assert result.tags == Counter(tags)
    assert f"{Path(name).name}: aws_sqs_control_tower/{definition}: records=" in result.stderr


@needs_realdata
@pytest.mark.parametrize(
    ("key", "said"),
    [
        (
            "o-abc123def4/AWSLogs/123456789012/CloudTrail-Digest/us-east-1/2024/01/16/123456789012_CloudTrail-Digest_x.json.gz",
            "skipped by aws_sqs_control_tower/aws_sqs_cloudtrail filename_filter_rules",
        ),
        (
            "o-abc123def4/AWSLogs/123456789012/Config/ConfigWritabilityCheckFile",
            "skipped by aws_sqs_control_tower/aws_sqs_config filename_filter_rules",
        ),
        ("o-abc123def4/notes/readme.txt", "aws_sqs_control_tower has no dispatch rule for key"),
    ],
)
def test_control_tower_skips_digests_check_files_and_keys_it_does_not_know(
    key: str, said: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_control_tower", "--key", key, source(CONFIG_HISTORY))
    assert (result.code, result.records) == (0, [])
    assert said in result.stderr


@needs_realdata
@pytest.mark.parametrize(
    ("service", "key", "tag"),
    [
        ("aws_sqs_palo_alto", "traffic/2024/01/16/fw01.log", "firewall.paloalto.traffic"),
        ("aws_sqs_palo_alto", "panorama/traffic/2024/01/16/fw01.log", "firewall.paloalto.panorama"),
        ("aws_sqs_os", "unix/secure/host01/secure.log", "box.unix.secure.us"),
        ("aws_sqs_os", "secure.log", "box.secure_log.null.us"),
    ],
)
def test_key_typed_services_take_the_first_folders_of_the_key_as_they_are(
    service: str, key: str, tag: str, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    result = parse(
        capsysbinary, "--service", service, "--key", key, source("linux_syslog/elastic-integrations_test-systemd.log")
    )
    assert result.tags == Counter({tag: 4})


@needs_realdata
def test_a_palo_alto_bucket_prefix_is_skipped_by_raising_the_split_element(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    config = config_file(
        tmp_path,
        {
            "aws_sqs_palo_alto": {
                "file_field_definitions": {"log_type": [{"operator": "split", "on": "/", "element": 1}]}
            }
        },
    )
    name = "paloalto_panos/elastic-integrations_test-panw-panos-threat-sample_EXCERPT.log"
    result = parse(
        capsysbinary,
        "--config",
        config,
        "--service",
        "aws_sqs_palo_alto",
        "--key",
        "panorama/threat/2024/01/16/fw01.log",
        source(name),
    )
    assert result.tags == Counter({"firewall.paloalto.threat": 2})


def test_lacework_exports_written_pretty_give_the_same_records(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    lines = source(LACEWORK).read_text().splitlines()
    path = tmp_path / "alerts.json.gz"
    path.write_bytes(gzip.compress("\n".join(json.dumps(json.loads(line), indent=2) for line in lines).encode()))
    result = parse(
        capsysbinary, "--service", "aws_sqs_lacework", "--key", "lacework-export/COMPLIANCE/2024-01-16T12.json.gz", path
    )
    assert result.records == [("monitor.lacework.COMPLIANCE", line) for line in lines]


@needs_realdata
def test_custom_service_runs_as_its_configuration_says(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    services = {
        "custom_service": {
            "file_format": {"type": "line_split_processor", "config": {"json": True}},
            "record_field_mapping": {"event": {"keys": ["event", "eventType", "name"]}},
            "routing_template": "my.app.jamf.[record-event]",
        }
    }
    name = "jamf_protect/elastic-integrations_test-jamf-protect-threat-sample-logs.ndjson"
    result = parse(
        capsysbinary,
        "--config",
        config_file(tmp_path, services),
        "--service",
        "custom_service",
        "--key",
        "jamf/2024/01/16/threats.log",
        source(name),
    )
    assert result.code == 0
    assert result.tags == Counter(
        {
            "my.app.jamf.SIDE_LOADED_APP_IN_INVENTORY": 1,
            "my.app.jamf.OUTDATED_OS": 1,
            "my.app.jamf.ACCESS_BAD_HOST": 5,
            "my.app.jamf.ACCESS_CRYPTOJACKING_HOST": 1,
        }
    )
    assert sorted(result.messages) == sorted(Line(name, n).text() for n in range(8))
