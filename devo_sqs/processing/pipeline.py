"""A service compiled once: key -> file variables; object stream -> records -> (tag, messages), placed in the
object's record sequence (see `sequence.py`) so that a checkpoint can count what was delivered.

This is all pure: no threads, no network. The puller feeds it S3 streams, `devo-sqs parse` local files.
"""

from __future__ import annotations

import gc
import re
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, cast

from devo_sqs.config.limits import DEFAULT_LIMITS, Limits
from devo_sqs.config.models import Service
from devo_sqs.processing.decoding import decompressed_chunks, seekable_copy, sniff
from devo_sqs.processing.expansion import CountingReader, ExpansionCap
from devo_sqs.processing.fields import compile_extractor, compile_file_variables, compile_record_key
from devo_sqs.processing.filters import LineFilter, compile_filename_filter
from devo_sqs.processing.processors import READS_PARQUET, build_processor
from devo_sqs.processing.processors.direct import body_records
from devo_sqs.processing.records import ObjectContext, Records
from devo_sqs.processing.routing import UNKNOWN_TAG, RecordRoutes, Template
from devo_sqs.processing.sequence import Positions, Span, TagRun, sequence_fingerprint
from devo_sqs.processing.text import ascii_compatible, utf8_chunks

ROUTES_KEPT = 256  # objects' file values whose routing decisions are kept
UNDECIDED = ""  # no tag is empty
RECORD_FRAME_BYTES = 32  # what a record costs on the wire besides its own bytes: the syslog header, counted by the cap


class ServicePipeline:
    """Everything one service does to one object, with regexes, paths and templates compiled here."""

    def __init__(
        self, name: str, service: Service, *, sqs_values: Mapping[str, str], limits: Limits = DEFAULT_LIMITS
    ) -> None:
        assert service.routing_template is not None
        self.name = name
        self.service = service
        self.limits = limits
        self._key_pattern = re.compile(service.key_pattern) if service.key_pattern else None
        self._skips_key = compile_filename_filter(service.filename_filter_rules)
        self._file_variables = compile_file_variables(service.file_field_definitions)
        self._template = Template(service.routing_template)
        self._line_filter = LineFilter(service.line_filter_rules)
        needed = set(self._template.record_variables) | self._line_filter.record_variables
        mapping = service.record_field_mapping
        self._variables = tuple(variable for variable in mapping if variable in needed)
        self._record_key = compile_record_key([compile_extractor(mapping[variable]) for variable in self._variables])
        self._processor = (
            build_processor(service.file_format, parse_records=bool(self._variables))
            if service.file_format is not None
            else None
        )
        self._sqs_values = dict(sqs_values)
        self._routes_by_file: dict[tuple[tuple[str, str | None], ...], RecordRoutes] = {}
        self._to_unknown = service.send_filtered_out_to_unknown
        self._reads_parquet = service.file_format is None or service.file_format.type in READS_PARQUET
        self.fingerprint = sequence_fingerprint(name, service, bounds=limits)  # what a checkpoint counts

    def matches(self, key: str) -> bool:
        return self._key_pattern is None or self._key_pattern.search(key) is not None

    def skips(self, key: str) -> bool:
        """True when filename_filter_rules drop this object."""
        return self._skips_key(key)

    def run(
        self,
        raw: IO[bytes],
        key: str,
        ctx: ObjectContext,
        *,
        spool_dir: str | None = None,
        stored_bytes: int | None = None,
    ) -> Iterator[TagRun]:
        """Decode, split, map, filter and route one object. Yields (tag, messages) as it streams."""
        for span in self.spans(raw, key, ctx, spool_dir=spool_dir, stored_bytes=stored_bytes):
            yield from span.runs

    def spans(
        self,
        raw: IO[bytes],
        key: str,
        ctx: ObjectContext,
        *,
        spool_dir: str | None = None,
        stored_bytes: int | None = None,
        resume_at: int = 0,
        max_records: int | None = None,
    ) -> Iterator[Span]:
        """`run`, with the positions each span of runs covers in the object's record sequence; what lies before
        `resume_at` is left out before it is filtered or routed, and a span holds at most `max_records`.

        `stored_bytes` is the object's size as stored (S3's ContentLength, a file's size), for the expansion cap;
        when it is not given, the bytes read so far stand for it. The cap counts the bytes the object decodes to
        and, for each record, the frame it costs on the wire: a bomb of tiny records cannot flood the output."""
        ctx.charset = self.service.charset
        ctx.limits = self.limits
        routes = self._routes(self._file_variables(key))
        positions = Positions(ctx.stats, resume_at=resume_at, max_records=max_records)
        counted = CountingReader(raw) if stored_bytes is None else None
        cap = ExpansionCap(self.limits, stored_bytes=_stored_size(stored_bytes, counted))
        blocks = self._records(cast(IO[bytes], counted) if counted is not None else raw, key, ctx, spool_dir, cap)
        while True:
            with _cycles_uncollected():
                records = next(blocks, None)
                if records is None:
                    break
                ctx.stats.records += len(records.messages)
                cap.add(RECORD_FRAME_BYTES * len(records.messages))
                spans = [self._span(placed, routes, ctx) for placed in positions.place(records)]
                del records  # the parsed records die here, before the collector is back
            yield from spans
        for placed in positions.rest():
            yield self._span(placed, routes, ctx)

    def run_body(self, body: bytes, ctx: ObjectContext) -> Iterator[TagRun]:
        """Direct mode: an SQS message body is the data (JSON: the dict processor; else one text record)."""
        ctx.charset = self.service.charset
        ctx.limits = self.limits
        records = body_records(body, ctx)
        ctx.stats.records += len(records.messages)
        yield from self._route(records, self._routes({}), ctx)

    def _span(self, placed: tuple[int, int, Records], routes: RecordRoutes, ctx: ObjectContext) -> Span:
        start, end, records = placed
        return Span(start, end, list(self._route(records, routes, ctx)) if records.messages else [])

    def _routes(self, file_values: Mapping[str, str | None]) -> RecordRoutes:
        """Template and line filter with this object's file (and sqs) values settled; the same for every object
        with the same file values, so a tag is decided once per record key, not once per small object."""
        by_file = tuple(sorted(file_values.items()))
        routes = self._routes_by_file.get(by_file)
        if routes is None:
            template = self._template.for_object(file_values, self._sqs_values)
            routes = RecordRoutes(template, self._line_filter.bind(file_values), self._variables)
            if len(self._routes_by_file) >= ROUTES_KEPT:
                self._routes_by_file.clear()
            self._routes_by_file[by_file] = routes
        return routes

    def _records(
        self, source: IO[bytes], key: str, ctx: ObjectContext, spool_dir: str | None, cap: ExpansionCap
    ) -> Iterator[Records]:
        stream, encoding = sniff(source) if self.service.encoding == "auto" else (source, self.service.encoding)
        if encoding == "parquet" and self.service.encoding == "auto" and not self._parquet_honoured(key):
            encoding = "none"  # a text service never reads parquet: the bytes are its text
        if encoding == "parquet":
            from devo_sqs.processing.processors.parquet import parquet_records  # pyarrow: ~35 MiB RSS, when needed

            with seekable_copy(stream, directory=spool_dir) as seekable:
                yield from parquet_records(seekable, ctx, cap=cap)
        elif self._processor is not None:
            chunks = cap.chunks(decompressed_chunks(stream, encoding))
            if not ascii_compatible(ctx.charset):
                chunks, ctx.charset = utf8_chunks(chunks, ctx), "utf-8"
            yield from self._processor(chunks, ctx)

    def _parquet_honoured(self, key: str) -> bool:
        """`encoding: auto` reads `PAR1` objects as parquet only for a processor that reads parquet or a key
        ending in `.parquet`: an ALB log object must never be turned into parquet rows."""
        return self._reads_parquet or key.endswith(".parquet")

    def _route(self, records: Records, routes: RecordRoutes, ctx: ObjectContext) -> Iterator[TagRun]:
        messages, parsed = records
        stats = ctx.stats
        if routes.line_filter.drops_everything:
            stats.filtered += len(messages)
            if self._to_unknown:
                yield UNKNOWN_TAG, messages
            return
        if routes.template.static and routes.line_filter.inactive:
            stats.sent += len(messages)
            yield routes.template.tag, messages
            return
        yield from self._route_each(messages, parsed, routes, ctx)

    def _route_each(
        self, messages: list[bytes], parsed: list[object] | None, routes: RecordRoutes, ctx: ObjectContext
    ) -> Iterator[TagRun]:
        decided = routes.decided
        runs: dict[str, list[bytes]] = {}
        dropped: list[bytes] = []
        records = parsed if parsed is not None else [None] * len(messages)
        for message, record_key in zip(messages, map(self._record_key, records), strict=True):
            tag = decided.get(record_key, UNDECIDED)  # one lookup: another puller may clear `decided` meanwhile
            if tag == UNDECIDED:
                tag = routes.decide(record_key)
            if tag is None:
                dropped.append(message)
                continue
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


def _stored_size(stored_bytes: int | None, counted: CountingReader | None) -> Callable[[], int]:
    if counted is not None:
        return lambda: counted.count
    known = stored_bytes or 0
    return lambda: known


@contextmanager
def _cycles_uncollected() -> Iterator[None]:
    """Pause the cyclic garbage collector while a run of records is made and routed. Parsed records hold no
    reference cycles and are freed by reference counting once the run is routed; a collection meanwhile would
    traverse every one of them, and again as they age (parsing 1.5-3x slower). The thread that paused it
    resumes it: another puller's run may then meet the collector, which is only slower."""
    paused = gc.isenabled()
    if paused:
        gc.disable()
    try:
        yield
    finally:
        if paused:
            gc.enable()
