"""`separated_json_processor`, `unseparated_json_processor`, `json_line_arrays_processor`: inline edge cases,
then the predefined services that use them on the genuine files of their kind."""

from __future__ import annotations

import gzip

import orjson
import pytest

from tests.support.realdata import REALDATA, needs_realdata
from tests.unit.processing.harness import parse_cli, processor, records, same_in_every_chunking

# --- separated_json_processor -------------------------------------------------------------------------------


def test_separated_objects_are_sent_as_written_and_parsed() -> None:
    run = processor("separated_json_processor")
    messages, parsed, ctx = same_in_every_chunking(run, b'\xef\xbb\xbf{"a": 1}\r\n\r\n{"b":2}\n{"c":3}')
    assert messages == [b'{"a": 1}', b'{"b":2}', b'{"c":3}']
    assert parsed == [{"a": 1}, {"b": 2}, {"c": 3}]
    assert ctx.stats.failed == 0


def test_a_custom_separator_splits_parts_and_trims_the_whitespace_around_them() -> None:
    run = processor("separated_json_processor", separator="||")
    messages, parsed, _ = same_in_every_chunking(run, b'{"a":1}||\n{"b":"x|y"} ||{"c":3}\n')
    assert messages == [b'{"a":1}', b'{"b":"x|y"}', b'{"c":3}']
    assert parsed == [{"a": 1}, {"b": "x|y"}, {"c": 3}]


def test_a_part_written_over_several_lines_is_sent_as_compact_json() -> None:
    run = processor("separated_json_processor", separator="||")
    messages, _, _ = same_in_every_chunking(run, b'{\n  "a": 1\n}||{"b": 2}')
    assert messages == [b'{"a":1}', b'{"b": 2}']


def test_a_separated_part_that_is_not_json_is_counted_and_skipped() -> None:
    run = processor("separated_json_processor", separator="||")
    messages, _, ctx = same_in_every_chunking(run, b'{"a":1}||not json||{"c":\xff3}||{"d":4}')
    assert messages == [b'{"a":1}', b'{"d":4}']
    assert (ctx.stats.failed, ctx.stats.replaced_bytes) == (2, 1)


def test_an_empty_separated_file_has_no_records() -> None:
    assert records(processor("separated_json_processor"), b"")[0] == []


# --- unseparated_json_processor -----------------------------------------------------------------------------

FIREHOSE = (
    b'{"detail":{"eventName":"A","n":1},"account":"1"}{"detail":{"eventName":"B","n":2},"account":"1"}\n'
    b'{"eventName":"C","n":3}'
)


def test_records_under_key_are_taken_out_and_an_object_without_key_is_the_record() -> None:
    run = processor("unseparated_json_processor", key="detail")
    messages, parsed, ctx = same_in_every_chunking(run, FIREHOSE)
    assert messages == [b'{"eventName":"A","n":1}', b'{"eventName":"B","n":2}', b'{"eventName":"C","n":3}']
    assert parsed == [{"eventName": "A", "n": 1}, {"eventName": "B", "n": 2}, {"eventName": "C", "n": 3}]
    assert ctx.stats.failed == 0


def test_a_list_under_a_dotted_key_gives_one_record_per_element_with_included_outer_values() -> None:
    run = processor("unseparated_json_processor", key="data.events", include={"logGroup": "group", "meta.id": "id"})
    data = (
        b'{"logGroup":"g1","meta":{"id":7},"data":{"events":[{"m":"a"},{"m":"b"}]}}\n'
        b'{"logGroup":"g2","data":{"events":[]}}{\n "logGroup": "g3",\n "data": {"events": [{"m": "c"}]}\n}'
    )
    messages, parsed, _ = same_in_every_chunking(run, data)
    assert messages == [
        b'{"m":"a","group":"g1","id":7}',
        b'{"m":"b","group":"g1","id":7}',
        b'{"m":"c","group":"g3"}',
    ]
    assert parsed == [orjson.loads(message) for message in messages]


def test_flat_makes_each_whole_object_the_record_sent_compact() -> None:
    run = processor("unseparated_json_processor", key="detail", flat=True)
    messages, _, _ = same_in_every_chunking(run, b'{\n  "detail": {"x": 1}\n}\n{"y": [1, 2]}')
    assert messages == [b'{"detail":{"x":1}}', b'{"y":[1,2]}']


def test_a_malformed_object_between_good_ones_is_counted_and_skipped() -> None:
    run = processor("unseparated_json_processor")
    messages, _, ctx = same_in_every_chunking(run, b'{"a":1}{"b":,}{"c":"\xff"}{"d":4')
    assert messages == [b'{"a":1}', '{"c":"\ufffd"}'.encode()]
    assert (ctx.stats.failed, ctx.stats.replaced_bytes) == (2, 1)


def test_parse_records_false_still_splits_the_stream() -> None:
    messages, _, _ = records(processor("unseparated_json_processor", parse=False), b'{"a":1}{"b":2}')
    assert messages == [b'{"a":1}', b'{"b":2}']


# --- json_line_arrays_processor -----------------------------------------------------------------------------


def test_lines_holding_one_or_more_objects_give_one_record_per_object_as_written() -> None:
    run = processor("json_line_arrays_processor")
    data = b'{"a":1}{"b":"}{"} {"c":3}\r\n{"d": 4}\n\n[{"e":5},{"f":6}]\n{"g":7}'
    messages, parsed, ctx = same_in_every_chunking(run, data)
    assert messages == [b'{"a":1}', b'{"b":"}{"}', b'{"c":3}', b'{"d": 4}', b'{"e":5}', b'{"f":6}', b'{"g":7}']
    assert parsed == [{"a": 1}, {"b": "}{"}, {"c": 3}, {"d": 4}, {"e": 5}, {"f": 6}, {"g": 7}]
    assert ctx.stats.failed == 0


def test_a_bad_object_on_a_line_is_counted_and_the_others_kept() -> None:
    run = processor("json_line_arrays_processor")
    messages, _, ctx = same_in_every_chunking(run, b'{"a":1}{"b":}{"c":3}\nnot json\n7\n{"d":"\xff"}')
    assert messages == [b'{"a":1}', b'{"c":3}', '{"d":"\ufffd"}'.encode()]
    assert (ctx.stats.failed, ctx.stats.replaced_bytes) == (3, 1)


PRETTY = b'{\n    "q": "a{b}[",\n    "answers": [\n        {"Type": "PTR"}\n    ]\n}'


def test_an_object_written_over_several_lines_is_one_record_sent_as_compact_json() -> None:
    run = processor("json_line_arrays_processor")
    data = b'{"a":1}\n' + PRETTY + b"\n" + PRETTY + b'{"b":2}\n{"c":3}'
    messages, parsed, ctx = same_in_every_chunking(run, data)
    compact = b'{"q":"a{b}[","answers":[{"Type":"PTR"}]}'
    assert messages == [b'{"a":1}', compact, compact, b'{"b":2}', b'{"c":3}']
    assert parsed is not None and parsed[1] == {"q": "a{b}[", "answers": [{"Type": "PTR"}]}
    assert ctx.stats.failed == 0


def test_a_line_cut_short_costs_only_itself_when_the_next_line_starts_an_object() -> None:
    run = processor("json_line_arrays_processor")
    messages, _, ctx = same_in_every_chunking(run, b'{"a":1}\n{"cut": [1,\n{"b":2}\n{"c":\n3}\n{"never":')
    assert messages == [b'{"a":1}', b'{"b":2}', b'{"c":3}']
    assert ctx.stats.failed == 2


def test_text_lines_are_records_sent_as_written_when_asked() -> None:
    data = b'1.0 2017-12-13T08:16:02.130Z Z1 example.com A NOERROR UDP FRA6 192.0.2.1 -\n{"a":1}\n' + PRETTY
    strict = same_in_every_chunking(processor("json_line_arrays_processor"), data)
    assert (strict[0], strict[2].stats.failed) == ([b'{"a":1}', b'{"q":"a{b}[","answers":[{"Type":"PTR"}]}'], 2)
    messages, parsed, ctx = same_in_every_chunking(processor("json_line_arrays_processor", text_lines=True), data)
    assert messages == [data.split(b"\n")[0], b'{"a":1}', b'{"q":"a{b}[","answers":[{"Type":"PTR"}]}']
    assert parsed is not None and parsed[0] == {}
    assert ctx.stats.failed == 0


def test_a_document_without_key_gives_the_records_at_fallback_key() -> None:
    run = processor("single_json_object_processor", key="configurationItems", fallback_key="configurationItem")
    assert records(run, b'{"configurationItem": {"a": 1}, "messageType": "x"}')[0] == [b'{"a":1}']
    assert records(run, b'{"configurationItems": [{"a": 1}, {"b": 2}]}')[0] == [b'{"a":1}', b'{"b":2}']
    _, _, ctx = records(run, b'{"other": 1}')
    assert ctx.stats.failed == 1


# --- genuine files through the predefined services ----------------------------------------------------------

GENUINE = [
    ("aws_sqs_waf", "aws_waf/elastic-integrations_test-waf.log", 4, "cloud.aws.waf.logs"),
    ("aws_sqs_waf", "aws_waf/loki-lambda-promtail_waflog.log.gz", 1, "cloud.aws.waf.logs"),
    ("aws_sqs_waf", "aws_waf/wazuh_aws-waf.ndjson", 7, "cloud.aws.waf.logs"),
    (
        "aws_sqs_guard_duty",
        "aws_guardduty/elastic-integrations_test-guardduty.ndjson",
        5,  # the last line, `{"findings":[]}`, holds no finding
        "cloud.aws.guardduty.findings",
    ),
    (
        "aws_sqs_guard_duty_kinesis",
        "aws_guardduty_eventbridge_firehose/foxsec-pipeline_guardduty-sample-findings-with-duplicates.txt",
        5,
        "cloud.aws.guardduty.findings",
    ),
    (
        "aws_sqs_guard_duty_kinesis",
        "aws_guardduty_eventbridge_firehose/foxsec-pipeline_guardduty-sample-findings.txt",
        20,
        "cloud.aws.guardduty.findings",
    ),
    ("aws_sqs_route53", "aws_route53_resolver/elastic-integrations_test-route53-resolver.log", 34, "dns.aws.route53"),
    (
        "aws_sqs_cloudtrail_kinesis",
        "json_framing_fixtures/beats_awss3_log-concatenated-no-separator.json",
        2,
        "cloud.aws.cloudtrail.null.null",
    ),
    (
        "aws_sqs_cloudtrail_kinesis",
        "json_framing_fixtures/beats_awss3_multiline.json",
        2,
        "cloud.aws.cloudtrail.null.null",
    ),
]


@needs_realdata
@pytest.mark.parametrize(("service", "path", "count", "tag"), GENUINE, ids=[path for _, path, _, _ in GENUINE])
def test_genuine_files_give_every_record_under_the_service_tag(
    capsysbinary: pytest.CaptureFixture[bytes], service: str, path: str, count: int, tag: str
) -> None:
    code, tagged, err = parse_cli(capsysbinary, "--service", service, str(REALDATA / path))
    assert code == 0
    assert [found for found, _ in tagged] == [tag] * count
    assert f"records={count} sent={count} filtered=0 failed=0 replaced_bytes=0" in err


@needs_realdata
@pytest.mark.parametrize(
    "path",
    [
        "aws_waf/elastic-integrations_test-waf.log",
        "aws_guardduty/elastic-integrations_test-guardduty.ndjson",
        "aws_route53_resolver/elastic-integrations_test-route53-resolver.log",
    ],
)
def test_one_object_per_line_files_are_sent_line_for_line(
    capsysbinary: pytest.CaptureFixture[bytes], path: str
) -> None:
    service = {"aws_waf": "aws_sqs_waf", "aws_guardduty": "aws_sqs_guard_duty"}.get(
        path.split("/")[0], "aws_sqs_route53"
    )
    _, tagged, _ = parse_cli(capsysbinary, "--service", service, str(REALDATA / path))
    lines = (REALDATA / path).read_bytes().splitlines()
    assert [message for _, message in tagged] == [line for line in lines if line != b'{"findings":[]}']


@needs_realdata
def test_waf_lines_with_objects_back_to_back_are_cut_into_objects_as_written(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = REALDATA / "aws_waf/wazuh_aws-waf.ndjson"
    _, tagged, _ = parse_cli(capsysbinary, "--service", "aws_sqs_waf", str(path))
    messages = [message for _, message in tagged]
    assert b"".join(messages) == path.read_bytes().replace(b"\n", b"")
    assert [orjson.loads(message)["timestamp"] for message in messages] == [
        1592357192516,
        1592361810888,
        1576280412771,
        1576280412771,
        1576280412771,
        1576280412771,
        1576280412771,
    ]
    assert messages[0].startswith(b'{"timestamp":1592357192516,"formatVersion":1,"webaclId":"arn:aws:wafv2:us-east-1')
    assert messages[0].endswith(b'"requestId":"rid"},"labels":[{"name":"value"}]}')


@needs_realdata
def test_the_waf_gzip_object_is_its_one_record(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = REALDATA / "aws_waf/loki-lambda-promtail_waflog.log.gz"
    _, tagged, _ = parse_cli(capsysbinary, "--service", "aws_sqs_waf", str(path))
    assert tagged == [("cloud.aws.waf.logs", gzip.decompress(path.read_bytes()).rstrip(b"\n"))]


@needs_realdata
def test_guardduty_eventbridge_envelopes_give_their_detail_as_compact_json(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    path = REALDATA / "aws_guardduty_eventbridge_firehose/foxsec-pipeline_guardduty-sample-findings.txt"
    _, tagged, _ = parse_cli(capsysbinary, "--service", "aws_sqs_guard_duty_kinesis", str(path))
    details = [orjson.dumps(orjson.loads(line)["detail"]) for line in path.read_bytes().splitlines()]
    assert [message for _, message in tagged] == details
    firehose_shape = path.read_bytes().replace(b"\n", b"")  # what Firehose writes: no separators
    run = processor("unseparated_json_processor", key="detail")
    assert records(run, firehose_shape, chunk_size=4096)[0] == details
    assert orjson.loads(details[0])["type"] == "Stealth:IAMUser/LoggingConfigurationModified"


@needs_realdata
def test_the_framing_fixtures_give_the_same_two_records_concatenated_or_pretty(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    files = ["beats_awss3_log-concatenated-no-separator.json", "beats_awss3_multiline.json"]
    _, tagged, _ = parse_cli(
        capsysbinary,
        "--service",
        "aws_sqs_cloudtrail_kinesis",
        *(str(REALDATA / "json_framing_fixtures" / f) for f in files),
    )
    first = b'{"@timestamp":"2021-05-25T17:25:42.806Z","log.level":"error","message":"error making http request"}'
    second = b'{"@timestamp":"2021-05-25T17:25:51.391Z","log.level":"info","message":"available disk space 44.3gb"}'
    assert [message for _, message in tagged] == [first, second, first, second]
