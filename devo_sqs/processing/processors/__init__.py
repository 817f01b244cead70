"""Processors by `file_format.type`: each turns decompressed chunks into runs of records."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from devo_sqs.processing.processors.access_logs import AwsAccessLogs
from devo_sqs.processing.processors.base import Processor
from devo_sqs.processing.processors.cloudwatch import CloudwatchLogs
from devo_sqs.processing.processors.direct import DictProcessor
from devo_sqs.processing.processors.jamf import Jamf
from devo_sqs.processing.processors.json_documents import JsonArray, SingleJsonObject
from devo_sqs.processing.processors.json_streams import JsonLineArrays, SeparatedJson, UnseparatedJson
from devo_sqs.processing.processors.lines import LineSplit
from devo_sqs.processing.processors.text_file import TextFile
from devo_sqs.processing.processors.vpc_flow import VpcFlow
from devo_sqs.processing.processors.windows import WindowsSecurity

PROCESSORS: dict[str, Callable[..., Processor]] = {
    "line_split_processor": LineSplit,
    "single_json_object_processor": SingleJsonObject,
    "json_array_processor": JsonArray,
    "vpc_flow_processor": VpcFlow,
    "aws_access_logs_processor": AwsAccessLogs,
    "dict_processor": DictProcessor,
    "separated_json_processor": SeparatedJson,
    "unseparated_json_processor": UnseparatedJson,
    "json_line_arrays_processor": JsonLineArrays,
    "cloudwatch_logs_processor": CloudwatchLogs,
    "windows_security_processor": WindowsSecurity,
    "jamf_processor": Jamf,
    "text_file_processor": TextFile,
}


READS_PARQUET = frozenset({"vpc_flow_processor"})  # `encoding: auto` honours `PAR1` for these


def build_processor(file_format: Any, *, parse_records: bool) -> Processor:
    """The processor a validated `file_format` names, configured."""
    return PROCESSORS[file_format.type](file_format.config, parse_records=parse_records)
