"""How `validate` shows credentials (secrets masked whole, the access key id by its last four characters) and the
settings the collector sizes itself when they are unset."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml

from devo_sqs.commands.validate import masked_credentials, validate


@pytest.mark.parametrize(
    ("key_id", "shown"),
    [("AKIAIOSFODNN7EXAMPLE", "****************MPLE"), ("AKIA1", "*KIA1"), ("ABCD", "********"), (None, None)],
)
def test_the_access_key_id_shows_only_its_last_four_characters(key_id: str | None, shown: str | None) -> None:
    assert masked_credentials({"aws_access_key_id": key_id})["aws_access_key_id"] == shown


def test_the_secret_key_and_external_id_are_masked_entirely_and_roles_shown() -> None:
    credentials = {
        "aws_secret_access_key": "**********",
        "aws_external_id": "**********",
        "aws_base_account_role": "arn:aws:iam::1:role/r",
    }
    assert masked_credentials(credentials) == {
        "aws_secret_access_key": "********",
        "aws_external_id": "********",
        "aws_base_account_role": "arn:aws:iam::1:role/r",
    }
    assert masked_credentials({"aws_secret_access_key": None}) == {"aws_secret_access_key": None}


@pytest.mark.parametrize(
    ("settings", "shown"),
    [({}, ("adaptive", "adaptive")), ({"puller_threads": 4, "sqs_max_messages": 10}, (4, 10))],
)
def test_unset_puller_threads_and_sqs_max_messages_show_as_adaptive(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], settings: dict[str, int], shown: tuple[object, object]
) -> None:
    spec = {"id": "12345", "base_url": "https://sqs.us-east-1.amazonaws.com/1/q", "services": {"aws_sqs_vpc": {}}}
    path = tmp_path / "config.json"
    path.write_text(json.dumps({"inputs": {"sqs_collector": {**spec, **settings}}}))
    assert validate(str(path)) == 0
    resolved = yaml.safe_load(capsys.readouterr().out.partition("\n")[2])["inputs"]["sqs_collector"]
    assert (resolved["puller_threads"], resolved["sqs_max_messages"]) == shown
