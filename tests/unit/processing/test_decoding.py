"""Decoding: gzip members, zstd frames, bzip2 streams, sniffing, broken objects, charsets, and bounded memory."""

from __future__ import annotations

import bz2
import gzip
import io
import random
import zlib
from collections.abc import Callable
from pathlib import Path

import orjson
import pytest
import zstandard
from isal import igzip

from devo_sqs.config.limits import Limits
from devo_sqs.config.loader import parse_config
from devo_sqs.config.models import Service
from devo_sqs.errors import PermanentObjectError
from devo_sqs.processing.decoding import decompressed_chunks, sniff
from devo_sqs.processing.pipeline import ServicePipeline
from devo_sqs.processing.records import ObjectContext
from devo_sqs.processing.services import ServiceRouter
from tests.unit.processing.parse_runs import measure_parse, parse, slow

PAYLOAD = b"".join(b"record %05d of the test object\n" % n for n in range(20_000))
HALVES = (PAYLOAD[:300_000], PAYLOAD[300_000:])
COMPRESS: dict[str, Callable[[bytes], bytes]] = {
    "gzip": gzip.compress,
    "zstd": zstandard.ZstdCompressor().compress,
    "bz2": bz2.compress,
}


def decode(data: bytes, encoding: str, *, chunk_bytes: int = 1 << 16) -> tuple[bytes, list[int], str | None]:
    """(everything decoded, chunk sizes, the PermanentObjectError message or None)."""
    chunks: list[bytes] = []
    try:
        for chunk in decompressed_chunks(io.BytesIO(data), encoding, chunk_bytes=chunk_bytes):
            chunks.append(chunk)
    except PermanentObjectError as exc:
        return b"".join(chunks), [len(c) for c in chunks], str(exc)
    return b"".join(chunks), [len(c) for c in chunks], None


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "bz2"])
def test_members_frames_and_streams_written_back_to_back_decode_as_one_object(encoding: str) -> None:
    data = b"".join(COMPRESS[encoding](half) for half in HALVES)
    assert decode(data, encoding)[::2] == (PAYLOAD, None)


def test_zero_padding_between_and_after_gzip_members_is_skipped() -> None:
    data = gzip.compress(HALVES[0]) + b"\0" * 512 + gzip.compress(HALVES[1]) + b"\0" * 100
    assert decode(data, "gzip")[::2] == (PAYLOAD, None)


@pytest.mark.parametrize(
    ("encoding", "reason"),
    [
        ("gzip", "cannot decode gzip content: gzip stream truncated: it ends inside a member"),
        ("zstd", "cannot decode zstd content: zstd stream truncated: it ends inside a frame"),
        ("bz2", "cannot decode bz2 content: bzip2 stream truncated: it ends inside a stream"),
    ],
)
def test_a_truncated_object_yields_what_precedes_the_cut_then_fails_once(encoding: str, reason: str) -> None:
    first = COMPRESS[encoding](HALVES[0])
    second = COMPRESS[encoding](HALVES[1])
    decoded, _, error = decode(first + second[: len(second) // 2], encoding)
    assert error == reason
    assert decoded.startswith(HALVES[0])
    assert PAYLOAD.startswith(decoded)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (
            b"\x1f\x8b\x07" + b"\0" * 20,
            "cannot decode gzip content: Error -5 Gzip/zlib wrapper specifies unsupported compress method",
        ),
        (b"plain text, not gzip", "cannot decode gzip content: Error -4 Invalid gzip/zlib wrapper found"),
    ],
)
def test_a_corrupt_gzip_header_fails_the_object_without_output(data: bytes, reason: str) -> None:
    assert decode(data, "gzip") == (b"", [], reason)


@pytest.mark.parametrize("encoding", ["gzip", "zstd", "bz2", "none", "auto"])
def test_an_empty_object_has_no_content_and_no_error(encoding: str) -> None:
    stream, sniffed = sniff(io.BytesIO(b"")) if encoding == "auto" else (io.BytesIO(b""), encoding)
    assert decode(stream.read(), sniffed) == (b"", [], None)


@pytest.mark.parametrize(
    ("data", "encoding"),
    [
        (gzip.compress(b"x"), "gzip"),
        (zstandard.ZstdCompressor().compress(b"x"), "zstd"),
        (bz2.compress(b"x"), "bz2"),
        (b"PAR1....PAR1", "parquet"),
        (b"BZ", "none"),
        (b"\x1f", "none"),
        (b"hello", "none"),
    ],
)
def test_auto_sniffs_the_magic_bytes_and_keeps_the_stream_whole(data: bytes, encoding: str) -> None:
    stream, sniffed = sniff(io.BytesIO(data))
    assert (sniffed, stream.read()) == (encoding, data)


def test_output_chunks_stay_bounded_however_well_the_input_compresses() -> None:
    zeros = b"\0" * (64 << 20)
    _, gzip_sizes, _ = decode(gzip.compress(zeros), "gzip", chunk_bytes=1 << 20)
    _, zstd_sizes, _ = decode(zstandard.ZstdCompressor().compress(zeros), "zstd", chunk_bytes=1 << 20)
    assert sum(gzip_sizes) == sum(zstd_sizes) == len(zeros)
    assert max(gzip_sizes) == 1 << 20
    assert max(zstd_sizes) <= (1 << 20) + (128 << 10)  # zstd is fed block by block: 128 KiB at most per call


def zstd_frame(data: bytes, **options: bool) -> bytes:
    return zstandard.ZstdCompressor(**options).compress(data)


def test_zstd_frames_with_checksums_content_sizes_and_skippable_frames_between_decode_whole() -> None:
    skippable = (0x184D2A5A).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"12345"
    data = (
        zstd_frame(HALVES[0], write_checksum=True, write_content_size=False)
        + skippable
        + zstd_frame(HALVES[1][:1000], write_checksum=False)
        + zstd_frame(b"")
        + zstd_frame(HALVES[1][1000:], write_content_size=True)
    )
    for chunk_bytes in (1 << 10, 1 << 16):
        assert decode(data, "zstd", chunk_bytes=chunk_bytes)[::2] == (PAYLOAD, None)


@pytest.mark.parametrize(
    ("data", "reason"),
    [
        (b"not zstd at all", "cannot decode zstd content: not a zstd frame (magic 6e6f7420)"),
        (zstd_frame(PAYLOAD)[:6], "cannot decode zstd content: zstd stream truncated: it ends inside a frame"),
    ],
)
def test_what_is_not_a_whole_zstd_frame_fails_the_object(data: bytes, reason: str) -> None:
    assert decode(data, "zstd")[2] == reason


BOMB = gzip.compress(b"\0" * (64 << 20), compresslevel=9)


@pytest.mark.parametrize("told", [True, False], ids=["size-told", "size-counted"])
def test_an_object_decoding_past_the_expansion_cap_fails_with_one_line_naming_the_limit(told: bool) -> None:
    pipeline = ServicePipeline("test", Service.model_validate(LINES), sqs_values={})
    ctx = ObjectContext(source="bomb.gz")
    stored = len(BOMB) if told else None
    with pytest.raises(PermanentObjectError) as raised:
        for _ in pipeline.run(io.BytesIO(BOMB), "k", ctx, stored_bytes=stored):
            pass
    limit = 500 * len(BOMB)
    decoded = -(-limit // (256 << 10)) * (256 << 10)  # the first whole chunk past the limit
    assert str(raised.value) == (
        f"decoded past limits.max_expansion_ratio: {decoded} bytes from {len(BOMB)} stored, more than {limit} "
        "(500x, at least limits.expansion_floor_bytes)"
    )
    assert (ctx.stats.bytes_read, ctx.stats.failed) == (decoded - (256 << 10), 1)


def test_an_object_within_the_expansion_cap_is_read_whole() -> None:
    data = gzip.compress(PAYLOAD)
    assert len(PAYLOAD) / len(data) > 10
    messages, ctx = lines_through({**LINES, "encoding": "gzip"}, data)
    assert b"\n".join(messages) + b"\n" == PAYLOAD
    assert ctx.stats.failed == 0


PARQUET_LOOKALIKE = b"PAR1 not really parquet\nsecond line PAR1"


@pytest.mark.parametrize(
    ("service", "key", "outcome"),
    [
        ("aws_sqs_alb", "AWSLogs/1/elasticloadbalancing/x.log", "text"),
        ("aws_sqs_alb", "AWSLogs/1/elasticloadbalancing/x.parquet", "parquet"),
        ("aws_sqs_vpc", "AWSLogs/1/vpcflowlogs/x.log", "parquet"),
    ],
)
def test_auto_reads_par1_as_parquet_only_for_a_parquet_service_or_a_parquet_key(
    service: str, key: str, outcome: str
) -> None:
    pipeline = ServiceRouter.for_input(parse_config(input_with(service)).inputs.sqs_collector).pipeline_named(
        service, key
    )
    assert pipeline is not None
    ctx = ObjectContext(source=key)
    if outcome == "text":
        sent = [message for _, run in pipeline.run(io.BytesIO(PARQUET_LOOKALIKE), key, ctx) for message in run]
        assert sent == PARQUET_LOOKALIKE.split(b"\n")
        return
    with pytest.raises(PermanentObjectError, match=r"^cannot read parquet content"):
        list(pipeline.run(io.BytesIO(PARQUET_LOOKALIKE), key, ctx))


def input_with(service: str) -> dict[str, object]:
    queue = "https://sqs.eu-west-1.amazonaws.com/123456789012/q"
    return {"inputs": {"sqs_collector": {"id": "1", "base_url": queue, "services": {service: {}}}}}


def lines_through(service: dict[str, object], data: bytes) -> tuple[list[bytes], ObjectContext]:
    pipeline = ServicePipeline("test", Service.model_validate(service), sqs_values={})
    ctx = ObjectContext(source="test.log")
    messages = [message for _, run in pipeline.run(io.BytesIO(data), "k", ctx) for message in run]
    return messages, ctx


LINES = {"file_format": {"type": "line_split_processor"}, "routing_template": "my.app.test"}


@pytest.mark.parametrize(
    ("charset", "data", "expected"),
    [
        ("latin-1", b"caf\xe9\nna\xefve\n", ["café", "naïve"]),
        ("cp1252", b"\x80 5\n", ["€ 5"]),
        ("shift_jis", "ログ\n".encode("shift_jis"), ["ログ"]),
    ],
)
def test_a_charset_names_any_ascii_compatible_python_codec(charset: str, data: bytes, expected: list[str]) -> None:
    messages, ctx = lines_through({**LINES, "charset": charset, "encoding": "gzip"}, gzip.compress(data))
    assert [message.decode() for message in messages] == expected
    assert ctx.stats.replaced_bytes == 0


def test_undecodable_utf8_bytes_are_replaced_and_counted_never_fatal() -> None:
    messages, ctx = lines_through({**LINES, "encoding": "none"}, b"ok \xff\xfe end\nfine \xe2\x82\xac\n")
    assert messages == ["ok \ufffd\ufffd end".encode(), "fine €".encode()]
    assert ctx.stats.replaced_bytes == 2


VPC_HEADER = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
VPC_HEADER += b"log-status\n"


def vpc_lines(count: int, *, seed: int = 7) -> bytes:
    rng = random.Random(seed)
    return b"".join(
        b"2 123456789012 eni-%017x 10.%d.%d.%d 172.31.%d.%d %d %d 6 %d %d %d %d %s OK\n"
        % (
            rng.getrandbits(64),
            rng.randrange(256),
            rng.randrange(256),
            rng.randrange(256),
            rng.randrange(256),
            rng.randrange(256),
            rng.randrange(65536),
            rng.randrange(1024),
            rng.randrange(1, 500),
            rng.randrange(40, 10**6),
            1669842701 + n,
            1669842760 + n,
            (b"ACCEPT", b"REJECT")[n % 2],
        )
        for n in range(count)
    )


def test_parse_delivers_the_records_before_a_gzip_truncation_then_prints_one_error_and_exits_1(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    body = vpc_lines(20_000)
    compressed = gzip.compress(VPC_HEADER + body)
    truncated = compressed[: len(compressed) * 2 // 3]
    path = tmp_path / "flow.log.gz"
    path.write_bytes(truncated)
    readable = zlib.decompressobj(31).decompress(truncated)  # all that can be decoded before the cut
    expected = readable.split(b"\n")[1:-1]  # minus the header and the line cut short

    result = parse(capsysbinary, "--service", "aws_sqs_vpc", path)

    assert result.code == 1
    assert [message.encode() for message in result.messages] == expected
    assert 10_000 < len(expected) < 20_000
    assert set(result.tags) == {"cloud.aws.vpc.flow"}
    [line] = result.stderr.splitlines()
    assert line.startswith(
        f"{path}: ERROR cannot decode gzip content: gzip stream truncated: it ends inside a member "
        f"(records={len(expected)} sent={len(expected)} filtered=0 failed=0 replaced_bytes=0 bytes="
    )


def write_vpc_gzip(path: Path, decompressed_bytes: int) -> int:
    """Stream a VPC flow log of about `decompressed_bytes` to `path`; returns the number of records."""
    block = vpc_lines(10_000)
    blocks = -(-decompressed_bytes // len(block))
    with igzip.open(path, "wb", compresslevel=1) as out:
        out.write(VPC_HEADER)
        for _ in range(blocks):
            out.write(block)
    return blocks * 10_000


def assert_parse_stays_small(directory: Path, decompressed_bytes: int, *, limit_bytes: int) -> None:
    """Generate the object in `directory`, parse it with --summary in its own process, delete it."""
    path = directory / "flow.log.gz"
    records = write_vpc_gzip(path, decompressed_bytes)
    try:
        result = measure_parse("--summary", "--service", "aws_sqs_vpc", path)
    finally:
        path.unlink()
    peak_mib = result.peak_rss_bytes / 2**20
    print(
        f"VPC {decompressed_bytes >> 20} MiB: {records} records in {result.seconds:.1f} s, peak RSS {peak_mib:.0f} MiB"
    )
    assert result.code == 0
    assert orjson.loads(result.stdout) == {"cloud.aws.vpc.flow": records}
    assert result.peak_rss_bytes < limit_bytes


def test_parse_summary_of_a_100_mb_vpc_object_stays_under_200_mb_of_rss(tmp_path: Path) -> None:
    assert_parse_stays_small(tmp_path, 100 << 20, limit_bytes=200 << 20)


@slow
def test_parse_summary_of_a_2_gb_vpc_object_stays_under_200_mb_of_rss(tmp_path: Path) -> None:
    assert_parse_stays_small(tmp_path, 2 << 30, limit_bytes=200 << 20)


def test_the_expansion_cap_counts_each_record_frame_so_tiny_records_cannot_flood_the_output() -> None:
    """50,000 one-byte lines decode to 100 KB (20x the stored 5 KB, well under the ratio), but each costs a 32-byte
    frame on the wire: 1.7 MB of output, 340x. The cap sees that and stops the object early."""
    limits = Limits(max_expansion_ratio=100, expansion_floor_bytes=0)
    pipeline = ServicePipeline("test", Service.model_validate(LINES), sqs_values={}, limits=limits)
    data = b"x\n" * 50_000
    ctx = ObjectContext(source="tiny.log")
    delivered = 0
    with pytest.raises(PermanentObjectError, match=r"decoded past limits\.max_expansion_ratio"):
        for _, messages in pipeline.run(io.BytesIO(data), "k", ctx, stored_bytes=5_000):
            delivered += len(messages)
    assert delivered < 500_000 // 34  # what 100x of 5 KB pays for at 2 + 32 bytes a record, at most
    plain = [
        message
        for _, run in pipeline.run(io.BytesIO(b"x\n" * 1_000), "k", ObjectContext(source="s"))
        for message in run
    ]
    assert len(plain) == 1_000  # a small object of tiny lines is well inside the cap
