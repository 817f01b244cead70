"""`jamf_processor`: Jamf Protect / Jamf Pro exports, one JSON object per line or back to back."""

from __future__ import annotations

from pathlib import Path

import orjson
import pytest

from tests.support.realdata import REALDATA, needs_realdata
from tests.unit.processing.harness import parse_cli, processor, records, same_in_every_chunking
from tests.unit.processing.parse_runs import config_file

THREATS = REALDATA / "jamf_protect" / "elastic-integrations_test-jamf-protect-threat-sample-logs.ndjson"


def test_objects_one_per_line_or_back_to_back_are_one_record_each() -> None:
    data = (
        '{"event":{"type":"A"}}\r\n{"event":{"type":"B \u2019"}}{"event":{"type":"C"}}\n{\n  "event": {"type": "D"}\n}'
    )
    messages, parsed, ctx = same_in_every_chunking(processor("jamf_processor"), data.encode())
    assert messages == [
        b'{"event":{"type":"A"}}',
        '{"event":{"type":"B \u2019"}}'.encode(),
        b'{"event":{"type":"C"}}',
        b'{"event":{"type":"D"}}',
    ]
    assert parsed == [orjson.loads(message) for message in messages]
    assert ctx.stats.failed == 0


def test_a_line_that_is_not_a_json_object_is_counted_and_skipped() -> None:
    messages, _, ctx = same_in_every_chunking(processor("jamf_processor"), b'{"a":1}\nnot json\n{"b":}\n{"c":3}')
    assert messages == [b'{"a":1}', b'{"c":3}']
    assert ctx.stats.failed == 2


def test_an_empty_export_has_no_records() -> None:
    assert records(processor("jamf_processor"), b"")[0] == []


@needs_realdata
def test_the_genuine_threat_events_export_gives_its_eight_events_as_written(
    capsysbinary: pytest.CaptureFixture[bytes], tmp_path: Path
) -> None:
    config = config_file(
        tmp_path,
        {
            "custom_service": {
                "file_format": {"type": "jamf_processor"},
                "record_field_mapping": {"kind": {"keys": ["event", "eventType", "name"]}},
                "routing_template": "endpoint.jamf.threats.[record-kind]",
            }
        },
    )
    code, tagged, err = parse_cli(capsysbinary, "--config", str(config), "--service", "custom_service", str(THREATS))
    assert code == 0
    assert [message for _, message in tagged] == THREATS.read_bytes().splitlines()
    kinds = ["SIDE_LOADED_APP_IN_INVENTORY", "OUTDATED_OS", *["ACCESS_BAD_HOST"] * 5, "ACCESS_CRYPTOJACKING_HOST"]
    assert [tag for tag, _ in tagged] == [f"endpoint.jamf.threats.{kind}" for kind in kinds]
    assert "records=8 sent=8 filtered=0 failed=0 replaced_bytes=0 bytes=8535" in err
    assert "\u2019".encode() in b"".join(message for _, message in tagged)
