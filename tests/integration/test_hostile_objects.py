"""Objects someone who can write into the bucket may put there, through `devo-sqs parse --summary` and
`devo-sqs run` as real processes: each ends with one clear outcome, no traceback, no inflated output, and a
peak RSS (psutil, sampled on the process tree) under 300 MiB in every process."""

from __future__ import annotations

import subprocess
import sys
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

import orjson
import pytest

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import input_config, ndjson_object, wait_until
from tests.support import hostile_objects
from tests.support.collector_process import CollectorProcess
from tests.support.rss import PeakRss
from tests.support.syslog_receiver import SyslogReceiver

MIB = 1 << 20
RSS_LIMIT = 300 * MIB
CAP = "ERROR decoded past limits.max_expansion_ratio:"


@dataclass(frozen=True)
class Hostile:
    parquet_bomb: Path  # 346 bytes: a 1 MiB dictionary value, 40,000 rows
    cloudtrail_huge_record: Path  # 600 KB gzip: a CloudTrail document holding one 600 MB record
    empty_objects_line: Path  # 30 KB gzip: 30 MB of `{}` on one line
    zeros: Path  # 1 MB gzip: 1 GiB of zeros without a newline


@pytest.fixture(scope="module")
def hostile(tmp_path_factory: pytest.TempPathFactory) -> Hostile:
    directory = tmp_path_factory.mktemp("hostile")
    return Hostile(
        parquet_bomb=hostile_objects.parquet_dictionary_bomb(directory / "bomb.parquet"),
        cloudtrail_huge_record=hostile_objects.cloudtrail_with_a_huge_record(directory / "huge.json.gz"),
        empty_objects_line=hostile_objects.empty_objects_on_one_line(directory / "empty.json.gz"),
        zeros=hostile_objects.zeros_without_newline(directory / "zeros.gz"),
    )


@dataclass(frozen=True)
class Parsed:
    code: int
    summary: dict[str, int]
    stderr: str
    rss: PeakRss


def parse_summary(*args: str | Path) -> Parsed:
    """`devo-sqs parse --summary ARGS` in its own process, its RSS sampled until it exits."""
    command = [sys.executable, "-m", "devo_sqs", "parse", "--summary", *map(str, args)]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    with PeakRss(process.pid) as rss:
        out, err = process.communicate(timeout=240)
    return Parsed(process.returncode, orjson.loads(out), err.decode(), rss)


def outcome(parsed: Parsed, path: Path) -> str:
    """The one line that says how the file ended (the malformed-record warnings come before it)."""
    [line] = [line for line in parsed.stderr.splitlines() if line.startswith(f"{path}: ")]
    return line.removeprefix(f"{path}: ")


def test_a_parquet_bomb_under_a_text_service_key_is_read_as_text_never_as_parquet(hostile: Hostile) -> None:
    key = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/01/16/x.log.gz"
    parsed = parse_summary("--service", "aws_sqs_alb", "--key", key, hostile.parquet_bomb)
    assert (parsed.code, parsed.summary) == (0, {"web.aws.alb.access": 1})  # its 346 bytes, one line of text
    assert outcome(parsed, hostile.parquet_bomb).startswith("aws_sqs_alb: records=1 sent=1 filtered=0 failed=0")
    assert "Traceback" not in parsed.stderr
    assert parsed.rss.largest < RSS_LIMIT, parsed.rss.summary()


def test_a_parquet_bomb_under_a_parquet_service_fails_at_the_expansion_cap(hostile: Hostile) -> None:
    parsed = parse_summary("--service", "aws_sqs_vpc", hostile.parquet_bomb)
    assert (parsed.code, parsed.summary) == (1, {})
    line = outcome(parsed, hostile.parquet_bomb)
    assert line.startswith(f"{CAP} 4194344 bytes from 346 stored, more than 4194304 (500x")
    assert "records=0 sent=0 filtered=0 failed=3" in line
    assert "Traceback" not in parsed.stderr
    assert parsed.rss.largest < RSS_LIMIT, parsed.rss.summary()


def test_a_cloudtrail_document_holding_a_600_mb_record_delivers_what_precedes_it_then_fails_at_the_cap(
    hostile: Hostile,
) -> None:
    path = hostile.cloudtrail_huge_record
    parsed = parse_summary("--service", "aws_sqs_cloudtrail", path)
    assert (parsed.code, parsed.summary) == (1, {"cloud.aws.cloudtrail.123456789012.eu-west-1": 1})
    stored = path.stat().st_size
    assert outcome(parsed, path).startswith(f"{CAP} ")
    assert f" bytes from {stored} stored, more than {500 * stored} (500x" in outcome(parsed, path)
    assert "Traceback" not in parsed.stderr
    assert parsed.rss.largest < RSS_LIMIT, parsed.rss.summary()


@pytest.mark.parametrize(
    ("service", "sent"),
    [("aws_sqs_waf", {}), ("aws_sqs_route53", {}), ("aws_sqs_guard_duty", "findings")],
)
def test_30_mb_of_empty_objects_on_one_line_never_hold_millions_of_records_at_once(
    hostile: Hostile, service: str, sent: object
) -> None:
    path = hostile.empty_objects_line
    parsed = parse_summary("--service", service, path)
    line = outcome(parsed, path)
    assert parsed.code == 1
    assert line.startswith(f"{CAP} ")  # 30 MB from 30 KB: past 500x, whatever the service makes of it
    if sent == "findings":  # back-to-back objects: each `{}` a record, handed on a run at a time, up to the cap
        assert list(parsed.summary) == ["cloud.aws.guardduty.findings"]
        assert parsed.summary["cloud.aws.guardduty.findings"] <= 500 * path.stat().st_size // 2
    else:  # one line longer than max_record_bytes: counted as malformed, nothing sent
        assert (parsed.summary, "records=0 sent=0 filtered=0 failed=1" in line) == ({}, True)
    assert "Traceback" not in parsed.stderr
    assert parsed.rss.largest < RSS_LIMIT, parsed.rss.summary()


def test_a_gibibyte_of_zeros_without_a_newline_is_dropped_as_it_streams(hostile: Hostile) -> None:
    path = hostile.zeros
    parsed = parse_summary("--service", "aws_sqs_os", "--key", "syslog/auth/zeros.gz", path)
    assert (parsed.code, parsed.summary) == (1, {})
    line = outcome(parsed, path)
    assert line.startswith(f"{CAP} ")
    assert "records=0 sent=0 filtered=0 failed=1" in line
    assert "Traceback" not in parsed.stderr
    assert parsed.rss.largest < RSS_LIMIT, parsed.rss.summary()


HOSTILE_KEYS = {
    "parquet_bomb": "AWSLogs/123456789012/vpcflowlogs/eu-west-1/2024/01/16/flow.parquet",
    "cloudtrail_huge_record": "AWSLogs/123456789012/CloudTrail/eu-west-1/2024/01/16/x.json.gz",
    "empty_objects_line": "waf/2024/01/16/x.log.gz",
    "zeros": "app/zeros.json.gz",
}


def test_run_ends_each_hostile_object_clearly_delivers_the_rest_and_stays_under_300_mib(
    hostile: Hostile, moto: LocalAws, syslog_receiver: SyslogReceiver, tmp_path: Path
) -> None:
    queue = moto.make_bucket_to_queue("logs", "collector", redrive_dlq=1)
    s3 = moto.client("s3")
    text_key = "AWSLogs/123456789012/elasticloadbalancing/eu-west-1/2024/01/16/bomb.log"
    s3.put_object(Bucket="logs", Key=text_key, Body=hostile.parquet_bomb.read_bytes())
    for name, key in HOSTILE_KEYS.items():
        s3.put_object(Bucket="logs", Key=key, Body=getattr(hostile, name).read_bytes())
    good, by_tag = ndjson_object(0, 5000)
    s3.put_object(Bucket="logs", Key="app/good.json.gz", Body=good)
    spec = input_config(queue.queue_url, moto.url, sqs_visibility_timeout=30)
    spec["services"]["aws_sqs_waf"] = {"key_pattern": "^waf/"}
    config = {
        "globals": {"persistence": {"config": {"directory_name": str(tmp_path / "state")}}},
        "outputs": {"relay": {"type": "relay", "address": "127.0.0.1", "port": syslog_receiver.port}},
        "inputs": {"sqs_collector": spec},
    }
    expected = Counter({tag: len(messages) for tag, messages in by_tag.items()})
    expected["web.aws.alb.access"] = 1  # the bomb's 346 bytes, read as the text line they are
    with CollectorProcess(config, directory=tmp_path) as collector, PeakRss(collector.process.pid) as rss:
        settled = wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=180)
        assert settled, collector.log()[-4000:]
        assert wait_until(lambda: collected(syslog_receiver) == expected, timeout=30), collected(syslog_receiver)
        assert collector.terminate()[0] == 0
    log = collector.log()
    failed = [line for line in log.splitlines() if "failed permanently" in line]
    assert len(failed) == len(HOSTILE_KEYS)
    for key in HOSTILE_KEYS.values():
        [line] = [line for line in failed if f"object=s3://logs/{key};" in line]
        assert "decoded past limits.max_expansion_ratio:" in line
        assert line.endswith("left to the dead-letter policy, back in 5 s")
    assert "Traceback" not in log
    assert moto.queue_depth(queue.dlq_url)[0] == len(HOSTILE_KEYS)
    assert collected(syslog_receiver) == expected
    assert rss.largest < RSS_LIMIT, rss.summary()
    print(f"\nhostile objects through run: peak RSS {rss.summary()}")


def collected(receiver: SyslogReceiver) -> Counter[str]:
    return Counter(
        {tag: len(messages) for tag, messages in receiver.messages_by_tag().items() if not tag.startswith("devo.")}
    )
