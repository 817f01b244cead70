"""The date an object key names, for the key layouts the predefined services document; the keys are real ones
(AWS documentation, the CloudTrail digests and Config notifications in ../shared/realdata) or follow the layout
AWS or the vendor documents, character for character."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from devo_sqs.backfill.layouts import key_period, prefix_period, under_awslogs


def utc(*parts: int) -> datetime:
    return datetime(*parts, tzinfo=UTC)  # type: ignore[misc]


DAY, HOUR, MINUTE, SECOND = 86_400, 3_600, 60, 1

KEYS = [
    # CloudTrail (realdata aws_cloudtrail/awsdocs_digest-file-example.json, logFiles[].s3Object)
    (
        "AWSLogs/111122223333/CloudTrail/us-east-2/2015/08/17/"
        "111122223333_CloudTrail_us-east-2_20150817T1445Z_9nYN7gp2eWAJHIfT.json.gz",
        utc(2015, 8, 17, 14, 45),
        MINUTE,
    ),
    # CloudTrail digest (realdata aws_cloudtrail/elastic-integrations_test-cloudtrail-digest-json.log)
    (
        "AWSLogs/123456789123/CloudTrail-Digest/us-west-2/2020/09/11/"
        "123456789123_CloudTrail-Digest_us-west-2_leh-ct-test_us-west-2_20200911T193649Z.json.gz",
        utc(2020, 9, 11, 19, 36, 49),
        SECOND,
    ),
    # CloudTrail in an organization trail with a bucket prefix
    (
        "trails/AWSLogs/o-exampleorgid/111122223333/CloudTrail/eu-west-1/2024/01/16/"
        "111122223333_CloudTrail_eu-west-1_20240116T2355Z_Ab3dE5gH7jK9mN1p.json.gz",
        utc(2024, 1, 16, 23, 55),
        MINUTE,
    ),
    # AWS Config history and snapshot, unpadded month and day (realdata aws_config/awsdocs_sns-config-*.json)
    (
        "AWSLogs/123456789012/Config/us-east-2/2016/9/27/ConfigHistory/123456789012_Config_us-east-2_ConfigHistory_"
        "AWS::CloudTrail::Trail_20160927T195818Z_20160927T195818Z_1.json.gz",
        utc(2016, 9, 27, 19, 58, 18),
        SECOND,
    ),
    (
        "AWSLogs/123456789012/Config/us-east-2/2016/9/27/ConfigSnapshot/123456789012_Config_us-east-2_ConfigSnapshot_"
        "20160927T183939Z_16da64e4-cb65-4846-b061-e6c3ba43cb96.json.gz",
        utc(2016, 9, 27, 18, 39, 39),
        SECOND,
    ),
    # AWS Config oversized change notification (realdata aws_config/awsdocs_sns-oversized-...txt): folders below the day
    (
        "AWSLogs/123456789012/Config/us-west-2/2016/10/6/OversizedChangeNotification/AWS::EC2::Instance/"
        "resourceId_14b76876-7969-4097-ab8e-a31942b02e80/123456789012_Config_us-west-2_ChangeNotification_"
        "AWS::EC2::Instance_resourceId_14b76876-7969-4097-ab8e-a31942b02e80_20161006T164616Z_0.json.gz",
        utc(2016, 10, 6, 16, 46, 16),
        SECOND,
    ),
    # VPC flow logs (realdata aws_s3_access/elastic-integrations_test-s3-server-access.log names this PUT)
    (
        "AWSLogs/000000000000/vpcflowlogs/us-gov-east-1/2021/07/13/"
        "000000000000_vpcflowlogs_us-gov-east-1_fl-0e7c13bf00cf15bfe_20210713T1855Z_f12aa632.log.gz",
        utc(2021, 7, 13, 18, 55),
        MINUTE,
    ),
    # VPC flow logs, Hive-compatible partitions by the hour
    (
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/"
        "year=2021/month=07/day=13/hour=18/123456789012_vpcflowlogs_us-east-1_fl-0e7c13bf00cf15bfe_20210713T1855Z_"
        "f12aa632.log.parquet",
        utc(2021, 7, 13, 18, 55),
        MINUTE,
    ),
    (
        "AWSLogs/aws-account-id=123456789012/aws-service=vpcflowlogs/aws-region=us-east-1/year=2021/month=07/day=13/"
        "hour=18/flows.parquet",
        utc(2021, 7, 13, 18),
        HOUR,
    ),
    # ALB and classic ELB access logs (AWS documentation examples)
    (
        "my-bucket/AWSLogs/123456789012/elasticloadbalancing/us-east-2/2022/02/15/123456789012_elasticloadbalancing_"
        "us-east-2_app.my-loadbalancer.1234567890abcdef_20220215T2340Z_172.160.001.192_20sg8hgm.log.gz",
        utc(2022, 2, 15, 23, 40),
        MINUTE,
    ),
    (
        "AWSLogs/123456789012/elasticloadbalancing/us-west-2/2014/02/15/"
        "123456789012_elasticloadbalancing_us-west-2_my-loadbalancer_20140215T2340Z_172.160.001.192_20sg8hgm.log",
        utc(2014, 2, 15, 23, 40),
        MINUTE,
    ),
    # GuardDuty export: the day folder only
    (
        "AWSLogs/123456789012/GuardDuty/us-east-1/2024/01/16/d8c5d8b6-1b0c-3b0e-9a8c-0a1b2c3d4e5f.jsonl.gz",
        utc(2024, 1, 16),
        DAY,
    ),
    # WAF: folders down to the minute, and a stamp in the name
    (
        "AWSLogs/123456789012/WAFLogs/us-east-1/my-web-acl/2024/01/16/12/05/"
        "123456789012_waflogs_us-east-1_my-web-acl_20240116T1205Z_a1b2c3d4.log.gz",
        utc(2024, 1, 16, 12, 5),
        MINUTE,
    ),
    ("AWSLogs/123456789012/WAFLogs/us-east-1/my-web-acl/2024/01/16/12/05/part.log.gz", utc(2024, 1, 16, 12, 5), MINUTE),
    # Route 53 Resolver query logs: a VPC where the region usually is
    (
        "AWSLogs/123456789012/vpcdnsquerylogs/vpc-0a1b2c3d4e5f67890/2024/01/16/"
        "123456789012_vpcdnsquerylogs_vpc-0a1b2c3d4e5f67890_20240116T0930Z_a1b2c3d4.log.gz",
        utc(2024, 1, 16, 9, 30),
        MINUTE,
    ),
    # S3 server access logs, flat and date-partitioned (AWS documentation examples)
    ("mylogs/2023-10-16-21-32-16-E568B2907131C0C0", utc(2023, 10, 16, 21, 32, 16), SECOND),
    (
        "mylogs/123456789012/us-east-1/DOC-EXAMPLE-BUCKET/2023/10/16/2023-10-16-21-32-16-E568B2907131C0C0",
        utc(2023, 10, 16, 21, 32, 16),
        SECOND,
    ),
    # CloudFront standard logs: the hour in the name
    ("myprefix/EMLARXS9EXAMPLE.2019-11-14-20.RT4KCN4SGK9.gz", utc(2019, 11, 14, 20), HOUR),
    # Firehose (CloudWatch Logs, RDS, GuardDuty/CloudTrail via EventBridge): hour folders, the second in the name
    (
        "cloudwatch/2024/01/16/12/my-delivery-stream-1-2024-01-16-12-05-33-6a1b2c3d-4e5f-6789-abcd-ef0123456789",
        utc(2024, 1, 16, 12, 5, 33),
        SECOND,
    ),
    ("cloudwatch/2024/01/16/12/part-0001", utc(2024, 1, 16, 12), HOUR),
    # Cisco Umbrella log export: a day folder, the minute in the name
    ("dnslogs/2024-01-16/2024-01-16-12-05-a1b2.csv.gz", utc(2024, 1, 16, 12, 5), MINUTE),
    ("proxylogs/2024-01-16/export.csv.gz", utc(2024, 1, 16), DAY),
    # Cloudflare Logpush: a compact day folder, start and end stamps in the name
    ("http_requests/20240116/20240116T120000Z_20240116T120030Z_a1b2c3d4.log.gz", utc(2024, 1, 16, 12), SECOND),
    ("audit/20240116/batch.log.gz", utc(2024, 1, 16), DAY),
    # Palo Alto and OS logs from a shipper: LOG_TYPE/[SUBTYPE/HOST/]YYYY/MM/DD/
    ("traffic/2024/01/16/fw01.log.gz", utc(2024, 1, 16), DAY),
    ("unix/secure/host01/2024/01/16/secure.log.gz", utc(2024, 1, 16), DAY),
    # Lacework: a date folder when the export has one
    ("lacework/CloudTrailRawEvents/2024/01/16/export.json.gz", utc(2024, 1, 16), DAY),
    # a date in the file name only
    ("exports/app-2024-01-16.log.gz", utc(2024, 1, 16), DAY),
]


@pytest.mark.parametrize(("key", "start", "seconds"), KEYS)
def test_the_key_names_its_period_as_precisely_as_its_layout_does(key: str, start: datetime, seconds: int) -> None:
    period = key_period(key)
    assert period is not None
    assert (period.start, (period.end - period.start).total_seconds()) == (start, seconds)


@pytest.mark.parametrize(
    "key",
    [
        "AWSLogs/123456789012/Config/ConfigWritabilityCheckFile",  # written when Config delivery is set up
        "data/5b1c3f7e-9a2d-4c8e-b1f0-123456789abc/part-00000.gz",  # CrowdStrike FDR
        "fdrv2/aidmaster/5b1c3f7e-9a2d-4c8e-b1f0-123456789abc/part-00000.gz",
        "lacework/CloudTrailRawEvents/export.json.gz",
        "AWSLogs/123456789012/CloudTrail/us-east-1/trail.json.gz",
    ],
)
def test_a_key_without_a_date_names_none(key: str) -> None:
    assert key_period(key) is None


@pytest.mark.parametrize(
    ("key", "start", "seconds"),
    [
        ("app/2024/13/x.log", utc(2024, 1, 1), 366 * DAY),  # no month 13: the year folder
        ("app/2024/02/30/x.log", utc(2024, 2, 1), 29 * DAY),  # no 30 February: the month
        ("app/2024/01/16/25/x.log", utc(2024, 1, 16), DAY),  # no hour 25: the day
        ("x/20241399T1200Z_2024-01-16-10-00.log", utc(2024, 1, 16, 10), MINUTE),  # an impossible stamp is passed over
    ],
)
def test_impossible_dates_are_read_as_far_as_they_make_sense(key: str, start: datetime, seconds: int) -> None:
    period = key_period(key)
    assert period is not None
    assert (period.start, (period.end - period.start).total_seconds()) == (start, seconds)


@pytest.mark.parametrize(
    ("prefix", "start", "seconds"),
    [
        ("AWSLogs/111122223333/CloudTrail/us-east-1/2024/", utc(2024, 1, 1), 366 * DAY),
        ("AWSLogs/111122223333/CloudTrail/us-east-1/2024/02/", utc(2024, 2, 1), 29 * DAY),
        ("AWSLogs/111122223333/CloudTrail/us-east-1/2024/02/29/", utc(2024, 2, 29), DAY),
        ("AWSLogs/123456789012/Config/us-east-2/2016/9/", utc(2016, 9, 1), 30 * DAY),
        ("AWSLogs/123456789012/Config/us-east-2/2016/9/7/", utc(2016, 9, 7), DAY),
        (
            "AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=us-east-1/year=2021/",
            utc(2021, 1, 1),
            365 * DAY,
        ),
        (
            "AWSLogs/aws-account-id=1/aws-service=vpcflowlogs/aws-region=us-east-1/year=2021/month=07/day=13/",
            utc(2021, 7, 13),
            DAY,
        ),
        ("dnslogs/2024-01-16/", utc(2024, 1, 16), DAY),
        ("http_requests/20240116/", utc(2024, 1, 16), DAY),
        ("cloudwatch/2024/01/16/12/", utc(2024, 1, 16, 12), HOUR),
    ],
)
def test_a_prefix_ending_in_date_folders_covers_their_period(prefix: str, start: datetime, seconds: int) -> None:
    period = prefix_period(prefix)
    assert period is not None
    assert (period.start, (period.end - period.start).total_seconds()) == (start, seconds)


@pytest.mark.parametrize(
    "prefix",
    [
        "AWSLogs/",
        "AWSLogs/111122223333/",  # twelve digits: an account, not a date
        "AWSLogs/111122223333/CloudTrail/us-east-1/",
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024",  # not a folder yet
        "AWSLogs/111122223333/CloudTrail/us-east-1/2024/01/16/host/",
        "data/5b1c3f7e-9a2d-4c8e-b1f0-123456789abc/",
        "",
    ],
)
def test_a_prefix_not_ending_in_date_folders_covers_no_period(prefix: str) -> None:
    assert prefix_period(prefix) is None


def test_awslogs_is_recognized_as_a_folder_anywhere_in_the_prefix() -> None:
    assert [under_awslogs(prefix) for prefix in ("AWSLogs/", "trails/AWSLogs/o-1/", "AWSLogs", "MyAWSLogs/")] == [
        True,
        True,
        False,
        False,
    ]
