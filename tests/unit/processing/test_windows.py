"""`windows_security_processor`: Windows Security events as XML `<Event>` elements or JSON lines.

No genuine export with a licence to keep was found, so tests/fixtures/windows/security-events.xml was written by
hand from Microsoft's Windows event schema (http://schemas.microsoft.com/win/2004/08/events/event: System with
Provider, EventID, TimeCreated, Channel, Computer...; EventData with `<Data Name=...>`) and the documented fields
of events 4624, 4625 and 4688, pretty-printed inside an `<Events>` root as Event Viewer saves them.
"""

from __future__ import annotations

from pathlib import Path
from xml.etree import ElementTree

import orjson
import pytest

from devo_sqs.processing.processors.windows import event_fields
from tests.unit.processing.harness import parse_cli, processor, records, same_in_every_chunking
from tests.unit.processing.parse_runs import config_file

FIXTURE = Path(__file__).parents[2] / "fixtures" / "windows" / "security-events.xml"
NS = 'xmlns="http://schemas.microsoft.com/win/2004/08/events/event"'
SMALL = (
    f"<Event {NS}><System><EventID>4634</EventID><TimeCreated SystemTime='2024-01-16T13:00:00.1Z'/>"
    "<Channel>Security</Channel><Computer>DC1</Computer></System>"
    "<EventData><Data Name='TargetUserName'>bob</Data><Data Name='LogonType'>3</Data></EventData></Event>"
)


def test_every_event_of_a_pretty_printed_export_is_one_record_on_one_line() -> None:
    messages, parsed, ctx = same_in_every_chunking(processor("windows_security_processor"), FIXTURE.read_bytes())
    assert parsed is not None
    assert [record["EventID"] for record in parsed] == ["4624", "4625", "4688"]
    assert all(b"\n" not in message and b"\r" not in message for message in messages)
    assert messages[1].startswith(
        f'<Event {NS}><System><Provider Name="Microsoft-Windows-Security-Auditing" '
        """Guid="{54849625-5478-4994-A5BA-3E3B0328C30D}" /><EventID>4625</EventID><Version>0</Version>""".encode()
    )
    assert messages[2].endswith(
        b'<Data Name="CommandLine">cmd.exe /c "whoami &amp; hostname &gt; C:\\Users\\alice\\out.txt"</Data>'
        b'<Data Name="TargetUserSid">S-1-0-0</Data><Data Name="TargetUserName">-</Data>'
        b'<Data Name="TargetDomainName">-</Data><Data Name="TargetLogonId">0x0</Data>'
        b'<Data Name="ParentProcessName">C:\\Windows\\explorer.exe</Data>'
        b'<Data Name="MandatoryLabel">S-1-16-8192</Data></EventData></Event>'
    )
    assert [event_fields_of(message) for message in messages] == parsed
    assert (ctx.stats.failed, ctx.stats.bytes_read) == (0, len(FIXTURE.read_bytes()))


def event_fields_of(message: bytes) -> dict[str, object]:
    return event_fields(ElementTree.fromstring(message))


def test_the_parsed_record_names_system_fields_and_event_data() -> None:
    _, parsed, _ = records(processor("windows_security_processor"), FIXTURE.read_bytes())
    assert parsed is not None
    assert parsed[1] == {
        "Provider": "Microsoft-Windows-Security-Auditing",
        "ProviderGuid": "{54849625-5478-4994-A5BA-3E3B0328C30D}",
        "EventID": "4625",
        "Version": "0",
        "Level": "0",
        "Task": "12544",
        "Opcode": "0",
        "Keywords": "0x8010000000000000",
        "TimeCreated": "2024-01-16T12:47:09.5110873Z",
        "EventRecordID": "1187350",
        "ActivityID": "{6A3E2F1C-48B2-0001-7B2F-3E6AB248DA01}",
        "ProcessID": "724",
        "ThreadID": "7712",
        "Channel": "Security",
        "Computer": "WS01.corp.example.com",
        "EventData": {
            "SubjectUserSid": "S-1-0-0",
            "SubjectUserName": "-",
            "SubjectDomainName": "-",
            "SubjectLogonId": "0x0",
            "TargetUserSid": "S-1-0-0",
            "TargetUserName": "administrator",
            "TargetDomainName": "CORP",
            "Status": "0xc000006d",
            "FailureReason": "%%2313",
            "SubStatus": "0xc000006a",
            "LogonType": "3",
            "LogonProcessName": "NtLmSsp ",
            "AuthenticationPackageName": "NTLM",
            "WorkstationName": "KALI",
            "TransmittedServices": "-",
            "LmPackageName": "-",
            "KeyLength": "0",
            "ProcessId": "0x0",
            "ProcessName": "-",
            "IpAddress": "203.0.113.66",
            "IpPort": "41982",
        },
    }
    assert parsed[2]["EventData"]["CommandLine"] == 'cmd.exe /c "whoami & hostname > C:\\Users\\alice\\out.txt"'


def test_one_event_per_line_without_a_root_crlf_and_no_final_newline() -> None:
    data = f"{SMALL}\r\n{SMALL.replace('bob', 'carol')}".encode()
    messages, parsed, _ = same_in_every_chunking(processor("windows_security_processor"), data)
    assert messages == [SMALL.encode(), SMALL.replace("bob", "carol").encode()]
    assert parsed == [
        {
            "EventID": "4634",
            "TimeCreated": "2024-01-16T13:00:00.1Z",
            "Channel": "Security",
            "Computer": "DC1",
            "EventData": {"TargetUserName": name, "LogonType": "3"},
        }
        for name in ("bob", "carol")
    ]


def test_a_line_break_inside_a_value_becomes_a_character_reference() -> None:
    data = (
        f"<Events>\n  <Event {NS}>\n    <EventData>\n      <Data>line 1\r\nline 2</Data>\n"
        "    </EventData>\n  </Event>\n</Events>"
    )
    messages, parsed, _ = records(processor("windows_security_processor"), data.encode())
    assert messages == [f"<Event {NS}><EventData><Data>line 1&#10;line 2</Data></EventData></Event>".encode()]
    assert parsed == [{"EventData": {"Data": ["line 1\nline 2"]}}]
    assert event_fields_of(messages[0]) == parsed[0]


def test_a_utf16_export_with_its_bom_is_read() -> None:
    data = ("\ufeff<Events>" + SMALL.replace("bob", "b\u00f6b") + "</Events>").encode("utf-16-le")
    messages, parsed, _ = same_in_every_chunking(processor("windows_security_processor"), data)
    assert messages == [SMALL.replace("bob", "b\u00f6b").encode()]
    assert parsed is not None and parsed[0]["EventData"]["TargetUserName"] == "b\u00f6b"


def test_broken_and_unfinished_events_are_counted_and_skipped() -> None:
    broken = f"<Event {NS}><System><EventID>1</EventID></Sys></Event>"
    data = f"{SMALL}\n<Event {NS}><System>cut short\n{SMALL}\n{broken}\n<Event {NS}><System>".encode()
    messages, _, ctx = same_in_every_chunking(processor("windows_security_processor"), data)
    assert messages == [SMALL.encode(), SMALL.encode()]
    assert ctx.stats.failed == 3


def test_without_a_mapping_events_are_only_cut_out() -> None:
    messages, parsed, _ = records(processor("windows_security_processor", parse=False), FIXTURE.read_bytes())
    assert (len(messages), parsed) == (3, None)


def test_json_lines_are_sent_as_compact_json_and_parsed() -> None:
    lines = [b'{"EventID":4624,"Computer":"WS01","TargetUserName":"alice"}', b'{"EventID":4688,"Computer":"WS01"}']
    data = b"\xef\xbb\xbf\n" + b"\r\n".join(lines) + b"\nnot json"
    messages, parsed, ctx = same_in_every_chunking(processor("windows_security_processor"), data)
    assert messages == lines
    assert parsed == [orjson.loads(line) for line in lines]
    assert ctx.stats.failed == 1


def test_a_powershell_json_array_gives_one_record_per_event() -> None:
    data = (
        b'[\r\n    {\r\n        "Id":  4624,\r\n        "MachineName":  "WS01"\r\n    },\r\n'
        b'    {\r\n        "Id":  4625\r\n    }\r\n]'
    )
    messages, parsed, _ = same_in_every_chunking(processor("windows_security_processor"), data)
    assert messages == [b'{"Id":4624,"MachineName":"WS01"}', b'{"Id":4625}']
    assert parsed == [{"Id": 4624, "MachineName": "WS01"}, {"Id": 4625}]


def test_an_empty_file_has_no_events() -> None:
    assert records(processor("windows_security_processor"), b"")[0] == []
    assert records(processor("windows_security_processor"), b" \n")[0] == []


def test_the_fixture_through_a_custom_service_is_routed_by_event_id(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    config = config_file(
        tmp_path,
        {
            "custom_service": {
                "file_format": {"type": "windows_security_processor"},
                "record_field_mapping": {
                    "event": {"keys": ["EventID"]},
                    "user": {"keys": ["EventData", "TargetUserName"]},
                },
                "routing_template": "box.win.security.[record-event].[record-user]",
            }
        },
    )
    code, tagged, err = parse_cli(capsysbinary, "--config", str(config), "--service", "custom_service", str(FIXTURE))
    assert code == 0
    assert [tag for tag, _ in tagged] == [
        "box.win.security.4624.alice",
        "box.win.security.4625.administrator",
        "box.win.security.4688.-",
    ]
    assert "records=3 sent=3 filtered=0 failed=0" in err
