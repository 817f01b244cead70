"""A service compiled once: key -> file variables; object stream -> records -> (tag, messages).

This is all pure: no threads, no network. The puller feeds it S3 streams, `devo-sqs parse` local files.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from typing import IO

from devo_sqs.config.models import Service
from devo_sqs.processing.decoding import decompressed_chunks, seekable_copy, sniff
from devo_sqs.processing.fields import compile_extractor, file_variables
from devo_sqs.processing.filters import BoundFilter, LineFilter, compile_filename_filter
from devo_sqs.processing.processors import build_processor
from devo_sqs.processing.processors.direct import body_records
from devo_sqs.processing.processors.parquet import parquet_records
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.routing import UNKNOWN_TAG, RecordTemplate, Template

TagRun = tuple[str, list[bytes]]


class ServicePipeline:
    """Everything one service does to one object, with regexes, paths and templates compiled here."""

    def __init__(self, name: str, service: Service, *, sqs_values: Mapping[str, str]) -> None:
        assert service.routing_template is not None
        self.name = name
        self.service = service
        self._key_pattern = re.compile(service.key_pattern) if service.key_pattern else None
        self._skips_key = compile_filename_filter(service.filename_filter_rules)
        self._template = Template(service.routing_template)
        self._line_filter = LineFilter(service.line_filter_rules)
        needed = set(self._template.record_variables) | self._line_filter.record_variables
        self._extractors = {
            variable: compile_extractor(mapping)
            for variable, mapping in service.record_field_mapping.items()
            if variable in needed
        }
        self._processor = (
            build_processor(service.file_format, parse_records=bool(self._extractors))
            if service.file_format is not None
            else None
        )
        self._sqs_values = dict(sqs_values)
        self._to_unknown = service.send_filtered_out_to_unknown

    def matches(self, key: str) -> bool:
        return self._key_pattern is None or self._key_pattern.search(key) is not None

    def skips(self, key: str) -> bool:
        """True when filename_filter_rules drop this object."""
        return self._skips_key(key)

    def run(self, raw: IO[bytes], key: str, ctx: ObjectContext, *, spool_dir: str | None = None) -> Iterator[TagRun]:
        """Decode, split, map, filter and route one object. Yields (tag, messages) as it streams."""
        ctx.charset = self.service.charset
        file_values = file_variables(key, self.service.file_field_definitions)
        template = self._template.for_object(file_values, self._sqs_values)
        line_filter = self._line_filter.bind(file_values)
        for records in self._records(raw, ctx, spool_dir):
            ctx.stats.records += len(records.messages)
            yield from self._route(records, template, line_filter, ctx)

    def run_body(self, body: bytes, ctx: ObjectContext) -> Iterator[TagRun]:
        """Direct mode: an SQS message body is the data (JSON: the dict processor; else one text record)."""
        template = self._template.for_object({}, self._sqs_values)
        ctx.charset = self.service.charset
        records = body_records(body, ctx)
        ctx.stats.records += len(records.messages)
        yield from self._route(records, template, self._line_filter.bind({}), ctx)

    def _records(self, raw: IO[bytes], ctx: ObjectContext, spool_dir: str | None) -> Iterator[Records]:
        stream, encoding = sniff(raw) if self.service.encoding == "auto" else (raw, self.service.encoding)
        if encoding == "parquet":
            with seekable_copy(stream, directory=spool_dir) as seekable:
                yield from parquet_records(seekable, ctx)
        elif self._processor is not None:
            yield from self._processor(decompressed_chunks(stream, encoding), ctx)

    def _route(
        self, records: Records, template: RecordTemplate, line_filter: BoundFilter, ctx: ObjectContext
    ) -> Iterator[TagRun]:
        messages, parsed = records
        stats = ctx.stats
        if line_filter.drops_everything:
            stats.filtered += len(messages)
            if self._to_unknown:
                yield UNKNOWN_TAG, messages
            return
        if template.static and line_filter.inactive:
            stats.sent += len(messages)
            yield template.tag, messages
            return
        yield from self._route_each(messages, parsed, template, line_filter, ctx)

    def _route_each(
        self,
        messages: list[bytes],
        parsed: list[object] | None,
        template: RecordTemplate,
        line_filter: BoundFilter,
        ctx: ObjectContext,
    ) -> Iterator[TagRun]:
        extractors = self._extractors.items()
        runs: dict[str, list[bytes]] = {}
        dropped: list[bytes] = []
        records = parsed if parsed is not None else [None] * len(messages)
        for message, record in zip(messages, records, strict=True):
            values = {variable: extract(record) for variable, extract in extractors}
            if line_filter.drops(values):
                dropped.append(message)
                continue
            tag = template.render(values)
            run = runs.get(tag)
            if run is None:
                runs[tag] = [message]
            else:
                run.append(message)
        ctx.stats.filtered += len(dropped)
        ctx.stats.sent += len(messages) - len(dropped)
        if dropped and self._to_unknown:
            runs.setdefault(UNKNOWN_TAG, []).extend(dropped)
        yield from runs.items()
