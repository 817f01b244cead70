"""Timestamps from AWS answers parse as botocore's own parser would have parsed them."""

from __future__ import annotations

import pytest
from botocore.parsers import DEFAULT_TIMESTAMP_PARSER

from devo_sqs.ingest.aws import parse_timestamp


@pytest.mark.parametrize(
    "value",
    [
        "Tue, 16 Jan 2024 12:47:04 GMT",  # Last-Modified and other headers
        "2024-01-16T12:47:04Z",  # bodies (STS credentials' Expiration)
        "2024-01-16T12:47:04.123456Z",
        "2024-01-16T12:47:04+02:00",
        "2024-01-16T12:47:04",  # no zone: botocore's own answer
        "1705409224",
        1705409224,
    ],
)
def test_timestamps_parse_as_botocore_parses_them(value: str | int) -> None:
    assert parse_timestamp(value) == DEFAULT_TIMESTAMP_PARSER(value)
    assert parse_timestamp(value).utcoffset() == DEFAULT_TIMESTAMP_PARSER(value).utcoffset()
