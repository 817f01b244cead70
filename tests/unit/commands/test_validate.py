"""How `validate` shows credentials: secrets masked whole, the access key id by its last four characters."""

from __future__ import annotations

import pytest

from devo_sqs.commands.validate import masked_credentials


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
