"""Which period an object key names, from the layouts the predefined services document, so `--since`/`--until`
select by the date in the key (else by LastModified), and the walk can skip whole date prefixes out of range.

The file name says it most precisely (a date-time stamp); the directories say the day, sometimes the hour:

    AWSLogs/ACCOUNT/CloudTrail/REGION/2024/01/16/ACCOUNT_CloudTrail_REGION_20240116T1205Z_X.json.gz
    AWSLogs/ACCOUNT/Config/REGION/2016/9/27/ConfigHistory/..._20160927T195818Z_20160927T195818Z_1.json.gz
    AWSLogs/ACCOUNT/WAFLogs/REGION/WEBACL/2024/01/16/12/05/...
    firehose/2024/01/16/12/NAME-1-2024-01-16-12-05-33-ID
    AWSLogs/aws-account-id=ACCOUNT/aws-service=vpcflowlogs/.../year=2021/month=07/day=13/hour=18/...
    dnslogs/2024-01-16/2024-01-16-12-05-ID.csv.gz    logpush/20240116/20240116T120000Z_20240116T120030Z_X.log.gz
    logs/2024-01-16-12-05-33-0123456789ABCDEF (S3 server access)    cf/EDFDVBD6EXAMPLE.2024-01-16-12.a1b2c3d4.gz
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import UTC, datetime, timedelta

from devo_sqs.backfill.dates import Period

YEAR = r"(?P<y>(?:19|20)\d\d)"
PARTS = ("m", "d", "H", "M", "S")
TIME_PARTS = {"H": (24, timedelta(hours=1)), "M": (60, timedelta(minutes=1)), "S": (60, timedelta(seconds=1))}

NAME_STAMPS = (
    # CloudTrail, ELB/ALB, VPC flow logs, AWS Config, Cloudflare Logpush: 20240116T1205Z, 20240116T120533Z
    re.compile(r"(?<!\d)" + YEAR + r"(?P<m>\d\d)(?P<d>\d\d)T(?P<H>\d\d)(?P<M>\d\d)(?P<S>\d\d)?Z"),
    # Firehose, S3 server access, Cisco Umbrella, CloudFront: 2024-01-16-12-05-33, 2024-01-16-12-05, 2024-01-16-12
    re.compile(r"(?<!\d)" + YEAR + r"-(?P<m>\d\d)-(?P<d>\d\d)-(?P<H>\d\d)(?:-(?P<M>\d\d)(?:-(?P<S>\d\d))?)?(?!\d)"),
)
NAME_DATE = re.compile(r"(?<!\d)" + YEAR + r"-(?P<m>\d\d)-(?P<d>\d\d)(?!\d)")

DIRECTORY_DATES = (
    # 2024/01/16/ (AWS Config unpadded: 2016/9/27/), with an hour (Firehose) and a minute (WAF) below
    re.compile(r"(?:^|/)" + YEAR + r"(?:/(?P<m>\d{1,2})(?:/(?P<d>\d{1,2})(?:/(?P<H>\d\d)(?:/(?P<M>\d\d))?)?)?)?(?=/)"),
    # Hive-compatible partitions: year=2021/month=07/day=13/hour=18/
    re.compile(r"(?:^|/)year=" + YEAR + r"(?:/month=(?P<m>\d\d?)(?:/day=(?P<d>\d\d?)(?:/hour=(?P<H>\d\d?))?)?)?(?=/)"),
    # one folder per day: 2024-01-16/ (Cisco Umbrella), 20240116/ (Cloudflare Logpush)
    re.compile(r"(?:^|/)" + YEAR + r"-(?P<m>\d\d)-(?P<d>\d\d)(?=/)"),
    re.compile(r"(?:^|/)" + YEAR + r"(?P<m>\d\d)(?P<d>\d\d)(?=/)"),
)

AWSLOGS = re.compile(r"(?:^|/)AWSLogs/")


def key_period(key: str) -> Period | None:
    """The period the key names: its file name's date-time stamp, else its directories' date, else a date in
    its file name; None when it names none (then LastModified decides)."""
    folder, _, name = key.rpartition("/")
    stamped = _name_stamp(name)
    if stamped is not None:
        return stamped
    dated = _rightmost(f"{folder}/" if folder else "", trailing=False)
    if dated is not None:
        return dated
    day = NAME_DATE.search(name)
    return _period(day.groupdict(), complete=True) if day else None


def prefix_period(prefix: str) -> Period | None:
    """The period a listing prefix ending in date folders covers (`.../2024/` a year, `.../2024/01/16/` a day)."""
    return _rightmost(prefix, trailing=True) if prefix.endswith("/") else None


def under_awslogs(prefix: str) -> bool:
    """AWS's own layout: AWSLogs/[o-ORG/]ACCOUNT/SERVICE/REGION/[...]/YYYY/MM/DD/."""
    return AWSLOGS.search(prefix) is not None


def _name_stamp(name: str) -> Period | None:
    for pattern in NAME_STAMPS:
        for match in pattern.finditer(name):
            period = _period(match.groupdict(), complete=True)
            if period is not None:
                return period
    return None


def _rightmost(path: str, *, trailing: bool) -> Period | None:
    matches = [match for pattern in DIRECTORY_DATES for match in pattern.finditer(path)]
    if trailing:
        matches = [match for match in matches if match.end() == len(path) - 1]
    if not matches:
        return None
    best = max(matches, key=lambda match: (match.end(), match.end() - match.start()))
    return _period(best.groupdict(), complete=False)


def _period(groups: dict[str, str | None], *, complete: bool) -> Period | None:
    """The period of the date parts found, as precise as they are valid. `complete`: all of them must be."""
    start = datetime(int(str(groups["y"])), 1, 1, tzinfo=UTC)
    end = start.replace(year=start.year + 1)
    for part, value in _present(groups):
        refined = _refine(start, part, int(value))
        if refined is None:
            return None if complete else Period(start, end)
        start, end = refined
    return Period(start, end)


def _present(groups: dict[str, str | None]) -> Iterable[tuple[str, str]]:
    for part in PARTS:
        value = groups.get(part)
        if value is None:
            return
        yield part, value


def _refine(start: datetime, part: str, value: int) -> tuple[datetime, datetime] | None:
    try:
        if part == "m":
            begin = start.replace(month=value)
            return begin, (begin + timedelta(days=32)).replace(day=1)
        if part == "d":
            begin = start.replace(day=value)
            return begin, begin + timedelta(days=1)
    except ValueError:
        return None
    limit, length = TIME_PARTS[part]
    return (start + value * length, start + (value + 1) * length) if 0 <= value < limit else None
