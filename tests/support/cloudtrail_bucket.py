"""A bucket of pre-existing CloudTrail log files as CloudTrail writes them (four accounts, two regions, five days,
a file every 28 minutes), plus a digest per account and region, an object of another service with a space and a
plus in its key, and a key no service of the test configuration takes."""

from __future__ import annotations

import gzip
import hashlib
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import orjson

ACCOUNTS = ("111122223333", "444455556666", "777788889999", "123456789012")
REGIONS = ("us-east-1", "eu-west-1")
FIRST_DAY = datetime(2024, 1, 1, tzinfo=UTC)
DAYS = 5
FILES_PER_DAY = 50
MINUTES_APART = 28
RECORDS_PER_FILE = 3
DIGEST_TIME = datetime(2024, 1, 3, 12, 1, 31, tzinfo=UTC)
APP_KEY = "app/2024/01/03/report 1+2.json.gz"
UNCLAIMED_KEY = "AWSLogs/111122223333/unknown-service/us-east-1/2024/01/03/notes.txt"


@dataclass(frozen=True)
class LogFile:
    key: str
    written: datetime  # the time in its name
    body: bytes
    records: dict[str, list[str]]  # tag -> messages the collector sends


@dataclass
class Bucket:
    name: str
    trails: list[LogFile] = field(default_factory=list)  # the CloudTrail log files
    digests: list[LogFile] = field(default_factory=list)
    app: LogFile | None = None
    unclaimed: LogFile | None = None

    def trails_between(self, since: datetime, until: datetime, *, account: str | None = None) -> list[LogFile]:
        return [
            log
            for log in self.trails
            if since <= log.written < until and (account is None or log.key.split("/")[1] == account)
        ]


def fill(s3: Any, name: str) -> Bucket:
    """Create the bucket and upload everything (in parallel: moto takes ~150 puts a second)."""
    s3.create_bucket(Bucket=name)
    bucket = Bucket(name, trails=list(_trails()), digests=list(_digests()))
    bucket.app = _app_object()
    bucket.unclaimed = LogFile(UNCLAIMED_KEY, DIGEST_TIME, b"not a log file\n", {})
    objects = [*bucket.trails, *bucket.digests, bucket.app, bucket.unclaimed]
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(lambda log: s3.put_object(Bucket=name, Key=log.key, Body=log.body), objects))
    return bucket


def _trails() -> Any:
    for account in ACCOUNTS:
        for region in REGIONS:
            for day in range(DAYS):
                for n in range(FILES_PER_DAY):
                    written = FIRST_DAY + timedelta(days=day, minutes=n * MINUTES_APART)
                    yield _trail(account, region, written)


def _trail(account: str, region: str, written: datetime) -> LogFile:
    stamp = written.strftime("%Y%m%dT%H%MZ")
    unique = hashlib.sha256(f"{account}{region}{stamp}".encode()).hexdigest()[:16]
    folder = f"AWSLogs/{account}/CloudTrail/{region}/{written:%Y/%m/%d}"
    key = f"{folder}/{account}_CloudTrail_{region}_{stamp}_{unique}.json.gz"
    records = [
        {
            "eventVersion": "1.08",
            "eventID": f"{unique}-{r}",
            "eventTime": (written - timedelta(minutes=r + 1)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "eventSource": "ec2.amazonaws.com",
            "eventName": ("DescribeInstances", "StartInstances", "StopInstances")[r % 3],
            "awsRegion": region,
            "recipientAccountId": account,
            "userIdentity": {"type": "IAMUser", "accountId": account, "userName": f"user{r}"},
        }
        for r in range(RECORDS_PER_FILE)
    ]
    tag = f"cloud.aws.cloudtrail.{account}.{region}"
    body = gzip.compress(orjson.dumps({"Records": records}), compresslevel=1)
    return LogFile(key, written, body, {tag: [orjson.dumps(record).decode() for record in records]})


def _digests() -> Any:
    stamp = DIGEST_TIME.strftime("%Y%m%dT%H%M%SZ")
    for account in ACCOUNTS:
        for region in REGIONS:
            key = (
                f"AWSLogs/{account}/CloudTrail-Digest/{region}/{DIGEST_TIME:%Y/%m/%d}/"
                f"{account}_CloudTrail-Digest_{region}_trail_{region}_{stamp}.json.gz"
            )
            body = gzip.compress(orjson.dumps({"awsAccountId": account, "logFiles": []}))
            yield LogFile(key, DIGEST_TIME, body, {})


def _app_object() -> LogFile:
    lines = [orjson.dumps({"n": n, "kind": ("login", "logout")[n % 2], "user": f"user{n}"}) for n in range(5)]
    records: dict[str, list[str]] = {}
    for line in lines:
        records.setdefault(f"my.app.ndjson.{orjson.loads(line)['kind']}", []).append(line.decode())
    return LogFile(APP_KEY, DIGEST_TIME, gzip.compress(b"\n".join(lines) + b"\n"), records)
