"""The outputs' CA chain, certificate and key: readable files where the collector runs, the key private."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from devo_sqs.config.files import exposed_private_keys, exposes
from devo_sqs.config.loader import parse_config
from devo_sqs.errors import ConfigError

QUEUE = "https://sqs.eu-west-1.amazonaws.com/123456789012/logs"


def with_outputs(outputs: dict[str, Any]) -> dict[str, Any]:
    return {
        "outputs": outputs,
        "inputs": {"sqs_collector": {"id": "12345", "base_url": QUEUE, "services": {"aws_sqs_vpc": {}}}},
    }


def pem_files(directory: Path, *, key_mode: int = 0o600) -> dict[str, str]:
    paths = {name: directory / f"{name}.pem" for name in ("chain", "cert", "key")}
    for path in paths.values():
        path.write_text("-----BEGIN X-----\n")
    paths["key"].chmod(key_mode)
    return {name: str(path) for name, path in paths.items()}


def test_missing_or_non_file_certificates_are_problems_with_their_paths(tmp_path: Path) -> None:
    files = pem_files(tmp_path)
    document = with_outputs(
        {
            "devo": {**files, "type": "devo_platform", "chain": str(tmp_path / "absent.pem"), "key": str(tmp_path)},
            "relay": {"type": "relay", "address": "10.0.0.1", "port": 6514, "chain": str(tmp_path / "gone.pem")},
            "half": {"type": "devo_platform", "cert": str(tmp_path / "half.crt")},
            "ok": {"type": "syslog", "address": "10.0.0.2", "port": 6514, **files},
        }
    )
    with pytest.raises(ConfigError) as caught:
        parse_config(document, check_files=True)
    assert caught.value.problems == [
        f"outputs.devo.chain: file not found: {tmp_path}/absent.pem",
        f"outputs.devo.key: {tmp_path} is not a regular file",
        f"outputs.relay.chain: file not found: {tmp_path}/gone.pem",
        "outputs.half: devo_platform needs chain, cert and key for mutual TLS; missing: chain, key",
        f"outputs.half.cert: file not found: {tmp_path}/half.crt",
    ]
    del document["outputs"]["half"]
    assert parse_config(document).outputs["devo"].key == str(tmp_path)  # `parse` and `health` do not look


def test_a_private_key_readable_by_others_is_a_warning_not_a_problem(tmp_path: Path) -> None:
    (tmp_path / "open").mkdir()
    (tmp_path / "closed").mkdir()
    exposed = pem_files(tmp_path / "open", key_mode=0o644)
    private = pem_files(tmp_path / "closed", key_mode=0o600)
    config = parse_config(
        with_outputs(
            {
                "devo": {"type": "devo_platform", **exposed},
                "backup": {"type": "devo_platform", **private},
                "console": {"type": "console"},
            }
        ),
        check_files=True,
    )
    assert list(exposed_private_keys(config)) == [
        f"outputs.devo.key: private key {exposed['key']} is readable by group/others (mode 0644); "
        "only the collector's user should read it"
    ]


@pytest.mark.parametrize(
    ("mode", "owner", "exposed"),
    [
        (0o600, 1000, False),
        (0o400, 1000, False),
        (0o640, 1000, True),  # the collector owns it: its group need not read it
        (0o644, 1000, True),
        (0o440, 0, False),  # a Kubernetes secret (root-owned, defaultMode 0440): read through the pod's fsGroup
        (0o444, 0, True),
    ],
)
def test_a_key_is_exposed_when_anyone_or_the_group_of_its_owner_may_read_it(
    mode: int, owner: int, exposed: bool
) -> None:
    assert exposes(mode, owner=owner, user=1000) is exposed
