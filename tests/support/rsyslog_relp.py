"""A private rsyslogd with imrelp (Debian package rsyslog-relp): the reference RELP server, to prove the RELP sender
against the real thing and to make it crash.

Two RELP inputs, plain on `port` and mutual TLS (`tls.authMode="certvalid"`) on `tls_port`, write each message's
`%rawmsg%` plus LF to received.log. Their ruleset runs with a direct queue: imrelp answers a frame only after
omfile wrote it, so `kill()` (SIGKILL) loses nothing that was acknowledged (with rsyslog's default in-memory
queue a kill -9 loses messages it already acknowledged). TLS uses librelp's OpenSSL driver: with its GnuTLS
driver (librelp 1.11) `certvalid` accepted a client certificate from an unknown CA.

Both ports are chosen at the first start and kept: `start()` again after `kill()` or `stop()` serves the same
ports and appends to the same received.log.
"""

from __future__ import annotations

import contextlib
import os
import re
import signal
import socket
import subprocess
import tempfile
import time
from collections import Counter
from pathlib import Path
from types import TracebackType

from tests.support.certs import Pki
from tests.support.rsyslog import MAX_MESSAGE_BYTES, find_rsyslogd

REQUIRE_VARIABLE = "DEVO_SQS_REQUIRE_RELP"  # set (CI): a missing imrelp fails the RELP tests instead of skipping
_READY_SECONDS = 15.0
_STOP_SECONDS = 10.0
_POLL_SECONDS = 0.05

_LINE = re.compile(
    r"<14>[A-Z][a-z]{2} [ 1-3]\d \d\d:\d\d:\d\d \S+ (?P<tag>[A-Za-z0-9_.-]+): (?P<message>.*)", re.DOTALL
)
_PROBE = 'module(load="imrelp")\naction(type="omfile" file="/dev/null")\n'
_CONFIG = """\
global(
    workDirectory="{work}"
    processInternalMessages="on"
    maxMessageSize="{max_message_bytes}"
)
module(load="imrelp" tls.tlslib="openssl")
template(name="rawmsg" type="string" string="%rawmsg%\\n")

input(type="imrelp" name="relp" port="{port}" ruleset="received")
input(type="imrelp" name="relp_tls" port="{tls_port}" ruleset="received"
      tls="on" tls.authMode="certvalid" tls.caCert="{ca}" tls.myCert="{cert}" tls.myPrivKey="{key}")

ruleset(name="received" queue.type="Direct") {{
    action(type="omfile" file="{received}" template="rawmsg")
}}
action(type="omfile" file="{internal}")
"""


def imrelp_missing(rsyslogd: str | None) -> str | None:
    """Why rsyslogd with imrelp cannot run here, or None when it can."""
    if rsyslogd is None:
        return "rsyslogd not found on PATH or in /usr/sbin (apt-get install rsyslog rsyslog-relp)"
    with tempfile.TemporaryDirectory() as directory:
        config = Path(directory) / "probe.conf"
        config.write_text(_PROBE)
        probe = subprocess.run([rsyslogd, "-N1", "-f", str(config)], capture_output=True, text=True, timeout=30)
    if probe.returncode != 0:
        return f"rsyslogd cannot load imrelp (apt-get install rsyslog-relp):\n{probe.stdout}{probe.stderr}"
    return None


class RelpRsyslog:
    """One rsyslogd with imrelp working in `directory` (config, pid, logs, received.log), controlled by its pid."""

    def __init__(self, pki: Pki, *, directory: Path, rsyslogd: str | None = None) -> None:
        self._rsyslogd = rsyslogd or find_rsyslogd() or "rsyslogd"
        self._pki = pki
        self._work = directory
        self._process: subprocess.Popen[bytes] | None = None
        self.port = 0
        self.tls_port = 0

    def start(self) -> RelpRsyslog:
        """Write the config, check it with -N1, start rsyslogd -n, wait until both ports accept connections."""
        if self._process is not None:
            raise RuntimeError("rsyslogd already started")
        self._work.mkdir(parents=True, exist_ok=True)
        if not self.port:
            self.port, self.tls_port = _free_port(), _free_port()
        config = self._write_config()
        self._validate(config)
        with (self._work / "stdout.log").open("ab") as output:
            self._process = subprocess.Popen(
                [self._rsyslogd, "-n", "-f", str(config), "-i", str(self._work / "rsyslogd.pid")],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self._wait_listening()
        except BaseException:
            self.stop()
            raise
        return self

    def kill(self) -> None:
        """SIGKILL, as a crash: open sessions end without `serverclose`, unread frames are lost with the process."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGKILL)
            self._process.wait(timeout=_STOP_SECONDS)
            self._process = None

    def stop(self) -> None:
        """SIGTERM (rsyslogd sends `serverclose` to every session), SIGKILL if it lingers."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGTERM)
            try:
                self._process.wait(timeout=_STOP_SECONDS)
            except subprocess.TimeoutExpired:
                os.kill(self._process.pid, signal.SIGKILL)
                self._process.wait()
            self._process = None

    def pause(self) -> None:
        """SIGSTOP: a stalled relay that reads and answers nothing until `resume()`. Returns once every thread of
        rsyslogd is stopped (the signal is delivered asynchronously)."""
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGSTOP)
            deadline = time.monotonic() + _STOP_SECONDS
            while not _all_threads_stopped(self._process.pid):
                if time.monotonic() >= deadline:
                    raise RuntimeError(f"rsyslogd {self._process.pid} did not stop on SIGSTOP")
                time.sleep(0.001)

    def resume(self) -> None:
        if self._process is not None:
            os.kill(self._process.pid, signal.SIGCONT)

    def __enter__(self) -> RelpRsyslog:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.resume()
        self.stop()

    @property
    def pid(self) -> int:
        if self._process is None:
            raise RuntimeError("rsyslogd is not running")
        return self._process.pid

    @property
    def received_path(self) -> Path:
        return self._work / "received.log"

    def lines(self) -> list[bytes]:
        """Every `%rawmsg%` received so far, in order, without its LF (control characters arrive as #ooo)."""
        data = self.received_path.read_bytes() if self.received_path.exists() else b""
        return data.split(b"\n")[:-1]

    def counts(self) -> Counter[bytes]:
        """How many times each message arrived (more than once after a resend)."""
        return Counter(self.lines())

    def records(self) -> Counter[tuple[str, str]]:
        """How many times each (tag, message) arrived, from lines `<14>MMM dd HH:MM:SS host tag: message`."""
        found: Counter[tuple[str, str]] = Counter()
        for line in self.lines():
            match = _LINE.match(line.decode("utf-8", errors="backslashreplace"))
            if match is None:
                raise AssertionError(f"not a syslog line from devo-sqs: {line[:200]!r}")
            found[match["tag"], match["message"]] += 1
        return found

    def line_count(self) -> int:
        return self.received_path.read_bytes().count(b"\n") if self.received_path.exists() else 0

    def wait_for(self, count: int, *, timeout: float) -> bool:
        """Poll until at least `count` messages are written; False on timeout."""
        deadline = time.monotonic() + timeout
        while self.line_count() < count:
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)
        return True

    def internal_log(self) -> str:
        """rsyslogd's own messages and its stdout/stderr (for failure messages)."""
        parts = [self._work / "internal.log", self._work / "stdout.log"]
        return "".join(path.read_text(errors="replace") for path in parts if path.exists())

    def _write_config(self) -> Path:
        config = self._work / "rsyslog.conf"
        config.write_text(
            _CONFIG.format(
                work=self._work,
                max_message_bytes=MAX_MESSAGE_BYTES,
                port=self.port,
                tls_port=self.tls_port,
                ca=self._pki.ca_chain,
                cert=self._pki.server.cert,
                key=self._pki.server.key,
                received=self.received_path,
                internal=self._work / "internal.log",
            )
        )
        return config

    def _validate(self, config: Path) -> None:
        result = subprocess.run([self._rsyslogd, "-N1", "-f", str(config)], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"rsyslogd rejected {config}:\n{result.stdout}{result.stderr}")

    def _wait_listening(self) -> None:
        """imrelp has no port file: wait until both ports accept a connection (or rsyslogd exits)."""
        deadline = time.monotonic() + _READY_SECONDS
        for port in (self.port, self.tls_port):
            while not _accepts(port):
                if self._process is None or self._process.poll() is not None or time.monotonic() >= deadline:
                    raise RuntimeError(f"rsyslogd did not start listening on {port}:\n{self.internal_log()}")
                time.sleep(_POLL_SECONDS)


def _all_threads_stopped(pid: int) -> bool:
    """Every thread of `pid` in state T (stopped), from /proc/PID/task/TID/stat (the state follows the `(comm)`)."""
    for stat in Path(f"/proc/{pid}/task").glob("*/stat"):
        with contextlib.suppress(FileNotFoundError):  # a thread that just ended
            if stat.read_text().rpartition(")")[2].split()[0] != "T":
                return False
    return True


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _accepts(port: int) -> bool:
    try:
        socket.create_connection(("127.0.0.1", port), timeout=1.0).close()
    except OSError:
        return False
    return True
