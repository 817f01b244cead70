"""`windows_security_processor`: Windows Security events exported as XML `<Event>` elements (wevtutil,
Get-WinEvent's ToXml, Event Viewer "Save as XML": one or many per file, inside an `<Events>` root or not, one
per line or pretty-printed, UTF-8 or UTF-16 with its BOM) or as JSON (Winlogbeat or NXLog lines, PowerShell's
ConvertTo-Json array).

An XML event is sent as its element on one line: the indentation between tags is dropped and a line break
inside a value is written as the character reference `&#10;` (XML reads CRLF and CR as LF), so the XML means
the same. For mapping, the record is the System fields by name (`EventID`, `Computer`, `Channel`,
`TimeCreated` = its SystemTime, `Provider`, `EventRecordID`, `ProcessID`, ...) and `EventData` =
{Data Name: value} (unnamed Data as a list under `Data`). Events are only parsed when a mapping needs them; an
event that is then not well-formed XML is counted and skipped. JSON events are sent as compact JSON (for
compact one-line events, the same text) and parsed as they are.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any
from xml.etree import ElementTree

from devo_sqs.config.processors import _Empty
from devo_sqs.processing.processors.base import json_records
from devo_sqs.processing.processors.json_stream import json_values
from devo_sqs.processing.records import ObjectContext, Records, in_runs
from devo_sqs.processing.text import is_utf8, to_utf8, utf8_chunks, without_bom

EVENT = re.compile(rb"<Event[\s>].*?</Event>", re.DOTALL)
EVENT_START = re.compile(rb"<Event[\s>]")
EVENT_END = b"</Event>"
INDENTATION = re.compile(rb">[ \t]*\r?\n[ \t\r\n]*<")
UTF16_BOMS = (b"\xff\xfe", b"\xfe\xff")
SYSTEM_ATTRIBUTES = {
    "Provider": {"Name": "Provider", "Guid": "ProviderGuid"},
    "TimeCreated": {"SystemTime": "TimeCreated"},
    "Correlation": {"ActivityID": "ActivityID", "RelatedActivityID": "RelatedActivityID"},
    "Execution": {"ProcessID": "ProcessID", "ThreadID": "ThreadID"},
    "Security": {"UserID": "UserID"},
}


class WindowsSecurity:
    def __init__(self, config: _Empty, *, parse_records: bool) -> None:
        self.parse = parse_records

    def __call__(self, chunks: Iterator[bytes], ctx: ObjectContext) -> Iterator[Records]:
        chunks, ctx = _as_utf8(chunks, ctx)
        first, chunks = _first_byte(chunks)
        if first in (b"{", b"["):
            for objects in json_values(chunks, ctx):
                yield json_records(objects, ctx)
            return
        for events in xml_events(chunks, ctx):
            yield self._records(events, ctx)

    def _records(self, events: list[bytes], ctx: ObjectContext) -> Records:
        if not self.parse:
            return Records([one_line(event) for event in events], None)
        messages: list[bytes] = []
        parsed: list[Any] = []
        for event in events:
            try:
                parsed.append(event_fields(ElementTree.fromstring(event)))
            except ElementTree.ParseError as exc:
                ctx.malformed(f"not well-formed XML ({exc})", event)
                continue
            messages.append(one_line(event))
        return Records(messages, parsed)


def _as_utf8(chunks: Iterable[bytes], ctx: ObjectContext) -> tuple[Iterator[bytes], ObjectContext]:
    """UTF-16 exports (a BOM, or `charset: utf-16`) and other charsets, converted while streaming."""
    iterator = iter(chunks)
    head = b""
    for chunk in iterator:
        head += chunk
        if len(head) >= 2:
            break
    stream = chain([head], iterator)
    charset = "utf-16" if head.startswith(UTF16_BOMS) and is_utf8(ctx.charset) else ctx.charset
    if is_utf8(charset):
        return stream, ctx
    return utf8_chunks(stream, ctx.with_charset(charset)), ctx.with_charset("utf-8")


def _first_byte(chunks: Iterable[bytes]) -> tuple[bytes, Iterator[bytes]]:
    """The first byte that is not whitespace (after a BOM), and the chunks from there on."""
    iterator = without_bom(chunks)
    for chunk in iterator:
        if text := chunk.lstrip():
            return text[:1], chain([chunk], iterator)
    return b"", iter(())


def xml_events(chunks: Iterable[bytes], ctx: ObjectContext) -> Iterator[list[bytes]]:
    """Runs of whole `<Event>...</Event>` elements as valid UTF-8; what lies between them (the XML
    declaration, an `<Events>` root, whitespace) is dropped. Memory: one chunk plus one event."""
    carry = b""
    largest = ctx.limits.max_record_bytes
    for chunk in chunks:
        ctx.stats.bytes_read += len(chunk)
        buffer = carry + chunk if carry else chunk
        cut = buffer.rfind(EVENT_END)
        if cut < 0:
            carry = buffer
            if len(carry) > largest:
                ctx.malformed(f"event longer than limits.max_record_bytes ({largest})", carry[:80])
                carry = b""
            continue
        cut += len(EVENT_END)
        yield from in_runs(_events_in(to_utf8(buffer[:cut], ctx), ctx), ctx.limits.records_per_run)
        carry = buffer[cut:]
    if start := EVENT_START.search(carry):
        ctx.malformed("unfinished event at the end of the file", carry[start.start() :])


def _events_in(block: bytes, ctx: ObjectContext) -> list[bytes]:
    events = EVENT.findall(block)
    for index, event in enumerate(events):
        restart = EVENT_START.search(event, 1)
        if restart is not None:
            ctx.malformed("unfinished event", event[: restart.start()])
            events[index] = event[restart.start() :]
    return events


def one_line(event: bytes) -> bytes:
    """The event element on one line, meaning the same XML."""
    text = INDENTATION.sub(b"><", event)
    if b"\n" in text or b"\r" in text:
        text = text.replace(b"\r\n", b"\n").replace(b"\r", b"\n").replace(b"\n", b"&#10;")
    return text


def event_fields(event: ElementTree.Element) -> dict[str, Any]:
    """System fields by name, `EventData` as {Name: value}, `UserData`'s fields, `Message` if rendered."""
    record: dict[str, Any] = {}
    for part in event:
        name = _local(part.tag)
        if name == "System":
            record.update(_system_fields(part))
        elif name == "EventData":
            record["EventData"] = _event_data(part)
        elif name == "UserData" and len(part):
            record["UserData"] = {_local(field.tag): field.text or "" for field in part[0]}
        elif name == "RenderingInfo":
            message = part.find("{*}Message")
            if message is not None:
                record["Message"] = message.text or ""
    return record


def _system_fields(system: ElementTree.Element) -> dict[str, str]:
    fields: dict[str, str] = {}
    for element in system:
        name = _local(element.tag)
        renames = SYSTEM_ATTRIBUTES.get(name)
        if renames is None:
            fields[name] = element.text or ""
            continue
        for attribute, field in renames.items():
            if attribute in element.attrib:
                fields[field] = element.attrib[attribute]
    return fields


def _event_data(event_data: ElementTree.Element) -> dict[str, Any]:
    named: dict[str, Any] = {}
    unnamed: list[str] = []
    for data in event_data:
        name = data.get("Name")
        if name is None:
            unnamed.append(data.text or "")
        else:
            named[name] = data.text or ""
    if unnamed:
        named["Data"] = unnamed
    return named


def _local(tag: str) -> str:
    """`{namespace}Name` -> `Name`."""
    return tag.rpartition("}")[2]
