"""Processors by `file_format.type`: each turns decompressed chunks into runs of records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devo_sqs.processing.processors.access_logs import AwsAccessLogs
from devo_sqs.processing.processors.base import Processor
from devo_sqs.processing.processors.direct import DictProcessor
from devo_sqs.processing.processors.json_documents import JsonArray, SingleJsonObject
from devo_sqs.processing.processors.lines import LineSplit
from devo_sqs.processing.processors.text_file import TextFile
from devo_sqs.processing.processors.vpc_flow import VpcFlow

PROCESSORS: dict[str, Callable[..., Processor]] = {
    "line_split_processor": LineSplit,
    "single_json_object_processor": SingleJsonObject,
    "json_array_processor": JsonArray,
    "vpc_flow_processor": VpcFlow,
    "aws_access_logs_processor": AwsAccessLogs,
    "dict_processor": DictProcessor,
    "text_file_processor": TextFile,
}


def build_processor(file_format: Any, *, parse_records: bool) -> Processor:
    """The processor a validated `file_format` names, configured."""
    return PROCESSORS[file_format.type](file_format.config, parse_records=parse_records)
