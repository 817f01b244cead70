"""Files at rest: the collector's state directory (delivery state, emergency spool, heartbeat) is private to its
user, including diskcache's database and write-ahead files, and what an older version left readable is tightened."""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import sqlite3
import stat
import subprocess
import sys
from pathlib import Path

import yaml

from devo_sqs.demo.local_aws import LocalAws
from tests.integration.conftest import input_config, ndjson_object, wait_until
from tests.support.certs import Pki
from tests.support.collector_process import CollectorProcess


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def modes(state: Path) -> dict[str, int]:
    """Every path below `state` (and itself) -> its permission bits."""
    found = {".": stat.S_IMODE(os.lstat(state).st_mode)}
    for root, directories, files in os.walk(state):
        for name in directories + files:
            path = Path(root, name)
            found[str(path.relative_to(state))] = stat.S_IMODE(os.lstat(path).st_mode)
    return found


def loose(found: dict[str, int], state: Path) -> dict[str, str]:
    """Paths whose mode is not 0700 (directories) or 0600 (files)."""
    return {
        path: f"{mode:04o}" for path, mode in found.items() if mode != (0o700 if (state / path).is_dir() else 0o600)
    }


def test_state_and_spool_are_private_and_older_files_are_tightened(moto: LocalAws, pki: Pki, tmp_path: Path) -> None:
    state = tmp_path / "state"
    (state / "12345").mkdir(parents=True)
    (state / "left-by-an-older-version").write_bytes(b"records")
    for path, mode in [(state, 0o755), (state / "12345", 0o755), (state / "left-by-an-older-version", 0o644)]:
        path.chmod(mode)
    key = tmp_path / "client.key"
    shutil.copy(pki.client.key, key)
    key.chmod(0o644)
    queue = moto.make_bucket_to_queue("logs", "collector")
    for index in range(3):
        body, _ = ndjson_object(index * 2000, 2000)
        moto.client("s3").put_object(Bucket="logs", Key=f"app/{index}.json.gz", Body=body)
    output = {
        "type": "syslog",
        "address": "127.0.0.1",
        "port": closed_port(),  # the output is down: every batch goes to the spool
        "chain": str(pki.ca_chain),
        "cert": str(pki.client.cert),
        "key": str(key),
        "spool_after_in_sec": 0,
    }
    config = {
        "globals": {"persistence": {"config": {"directory_name": str(state)}}},
        "outputs": {"tls": output},
        "inputs": {"sqs_collector": input_config(queue.queue_url, moto.url)},
    }
    with CollectorProcess(config, directory=tmp_path) as collector:
        assert wait_until(lambda: moto.queue_depth(queue.queue_url) == (0, 0), timeout=60), collector.log()[-3000:]
        assert wait_until(lambda: spooled_batches(state / "spool" / "standard") == 3, timeout=30), collector.log()[
            -3000:
        ]
        assert wait_until(lambda: (state / "heartbeat").exists(), timeout=30)
        running = modes(state)
        assert collector.terminate()[0] == 0
    stopped = modes(state)
    kinds = {
        Path(path).name.split("-")[-1] if "cache.db" in path else Path(path).suffix or Path(path).name
        for path in running
    }
    assert {"cache.db", "wal", "shm", "heartbeat", "left-by-an-older-version"} <= kinds, sorted(running)
    assert loose(running, state) == {}, running
    assert loose(stopped, state) == {}, stopped
    log = collector.log()
    assert (
        f"Tightened the permissions of 3 path(s) in the state directory {state} (directories 0700, files 0600)" in log
    )
    assert (
        f"outputs.tls.key: private key {key} is readable by group/others (mode 0644); "
        "only the collector's user should read it" in log
    )


def spooled_batches(spool: Path) -> int:
    """Batches in the spools under `spool`, read without writing anything (the modes are what is tested)."""
    total = 0
    for database in spool.rglob("cache.db"):
        with contextlib.closing(sqlite3.connect(f"file:{database}?mode=ro", uri=True)) as connection:
            total += connection.execute("SELECT COUNT(*) FROM Cache").fetchone()[0]
    return total


def test_a_state_directory_that_cannot_be_created_stops_run_with_one_line_before_any_aws_call(
    tmp_path: Path,
) -> None:
    (tmp_path / "a-file").write_bytes(b"")
    state = tmp_path / "a-file" / "state"
    with socket.create_server(("127.0.0.1", 0)) as tripwire:
        tripwire.settimeout(0.5)
        endpoint = f"http://127.0.0.1:{tripwire.getsockname()[1]}"
        config = {
            "globals": {"persistence": {"config": {"directory_name": str(state)}}},
            "inputs": {"sqs_collector": input_config(f"{endpoint}/123456789012/q", endpoint)},
        }
        path = tmp_path / "config.yaml"
        path.write_text(yaml.safe_dump(config))
        result = subprocess.run(
            [sys.executable, "-m", "devo_sqs", "run", str(path)], capture_output=True, text=True, timeout=60
        )
        assert (result.returncode, result.stdout) == (1, "")
        [line] = result.stderr.splitlines()
        reason = f"Cannot create the state directory {state}: Not a directory"
        assert re.fullmatch(r"\S+ +ERROR MainProcess::MainThread -> " + re.escape(reason), line), line
        try:
            tripwire.accept()
            raise AssertionError("a collector process connected to the AWS endpoint")
        except TimeoutError:
            pass
