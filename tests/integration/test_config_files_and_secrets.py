"""`validate` and `run` on what a config names outside itself: certificate and key files, secrets."""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any

from tests.integration.test_commands import devo_sqs
from tests.support.certs import Pki

QUEUE = "https://sqs.us-east-1.amazonaws.com/123456789012/q"


def config_with_devo_output(files: dict[str, str], *, endpoint_port: int = 9) -> dict[str, Any]:
    return {
        "outputs": {"devo": {"type": "devo_platform", "address": "127.0.0.1", "port": 6514, **files}},
        "inputs": {
            "sqs_collector": {
                "id": "12345",
                "base_url": f"http://127.0.0.1:{endpoint_port}/123456789012/q",
                "endpoint_url": f"http://127.0.0.1:{endpoint_port}",
                "services": {"aws_sqs_vpc": {}},
            }
        },
    }


def test_missing_certificate_files_stop_validate_and_run_before_any_aws_call(pki: Pki, tmp_path: Path) -> None:
    with socket.create_server(("127.0.0.1", 0)) as tripwire:
        tripwire.settimeout(0.5)
        files = {"chain": str(pki.ca_chain), "cert": str(tmp_path / "missing.crt"), "key": str(tmp_path)}
        path = tmp_path / "config.json"
        path.write_text(json.dumps(config_with_devo_output(files, endpoint_port=tripwire.getsockname()[1])))
        for command in ("validate", "run"):
            result = devo_sqs(command, str(path))
            assert (result.returncode, result.stdout) == (2, "")
            assert result.stderr.splitlines() == [
                "Invalid configuration (2 problem(s)):",
                f"  outputs.devo.cert: file not found: {tmp_path}/missing.crt",
                f"  outputs.devo.key: {tmp_path} is not a regular file",
            ]
        try:
            tripwire.accept()
            raise AssertionError("the collector connected to the AWS endpoint")
        except TimeoutError:
            pass


def test_a_private_key_readable_by_others_is_a_warning_of_validate(pki: Pki, tmp_path: Path) -> None:
    key = tmp_path / "client.key"
    shutil.copy(pki.client.key, key)
    key.chmod(0o640)
    files = {"chain": str(pki.ca_chain), "cert": str(pki.client.cert), "key": str(key)}
    path = tmp_path / "config.json"
    path.write_text(json.dumps(config_with_devo_output(files)))
    result = devo_sqs("validate", str(path))
    assert result.returncode == 0
    assert result.stderr == (
        f"Warning: outputs.devo.key: private key {key} is readable by group/others (mode 0640); "
        "only the collector's user should read it\n"
    )
    key.chmod(0o600)
    assert devo_sqs("validate", str(path)).stderr == ""


def test_validate_masks_the_secrets_and_shows_four_characters_of_the_access_key_id(tmp_path: Path) -> None:
    credentials = {
        "aws_access_key_id": "AKIAIOSFODNN7EXAMPLE",
        "aws_secret_access_key": "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY",
        "aws_base_account_role": "arn:aws:iam::123456789012:role/base",
        "aws_cross_account_role": "arn:aws:iam::210987654321:role/collector",
        "aws_external_id": "ext-id-0f9e8d",
    }
    path = tmp_path / "config.json"
    services = {"aws_sqs_vpc": {}}
    path.write_text(
        json.dumps(
            {
                "inputs": {
                    "sqs_collector": {"id": 1, "base_url": QUEUE, "credentials": credentials, "services": services}
                }
            }
        )
    )
    result = devo_sqs("validate", str(path))
    assert result.returncode == 0, result.stderr
    lines = result.stdout.splitlines()
    start = lines.index("    credentials:")
    assert lines[start : start + 6] == [
        "    credentials:",
        "      aws_access_key_id: '****************MPLE'",
        "      aws_secret_access_key: '********'",
        "      aws_base_account_role: arn:aws:iam::123456789012:role/base",
        "      aws_cross_account_role: arn:aws:iam::210987654321:role/collector",
        "      aws_external_id: '********'",
    ]
    for secret in ("AKIAIOSFODNN7", "wJalrXUtnFEMI", "EXAMPLEKEY", "ext-id-0f9e8d"):
        assert secret not in result.stdout + result.stderr


def test_validate_shows_no_credentials_it_was_not_given(tmp_path: Path) -> None:
    path = tmp_path / "config.json"
    path.write_text(
        json.dumps({"inputs": {"sqs_collector": {"id": 1, "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}}}})
    )
    result = devo_sqs("validate", str(path))
    lines = result.stdout.splitlines()
    start = lines.index("    credentials:")
    assert lines[start + 1 : start + 6] == [
        "      aws_access_key_id: null",
        "      aws_secret_access_key: null",
        "      aws_base_account_role: null",
        "      aws_cross_account_role: null",
        "      aws_external_id: null",
    ]
