"""A private rsyslogd: the reference syslog server, to prove a sender against the real thing, not our parser.

It listens on plain TCP and on mutual TLS (gtls, `x509/certvalid`) and writes each message's `%rawmsg%` plus
LF to a file, so tests see byte for byte what arrived. rsyslogd's own messages go to a separate file.
Like a production relay it escapes control characters on receive: an LF inside an octet-counted frame
arrives as `#012`, so one message is one line.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import time
from pathlib import Path
from types import TracebackType

from tests.support.certs import Pki

_READY_SECONDS = 10.0
_STOP_SECONDS = 10.0
_POLL_SECONDS = 0.05
MAX_MESSAGE_BYTES = 256 * 1024  # rsyslog's default (8k) would truncate long records

_CONFIG = """\
global(
    workDirectory="{work}"
    processInternalMessages="on"
    maxMessageSize="{max_message_bytes}"
    defaultNetstreamDriverCAFile="{ca}"
    defaultNetstreamDriverCertFile="{cert}"
    defaultNetstreamDriverKeyFile="{key}"
)
main_queue(queue.workerThreads="1")
module(load="imtcp")
template(name="rawmsg" type="string" string="%rawmsg%\\n")

input(type="imtcp" name="plain" port="0" listenPortFileName="{work}/tcp.port" ruleset="received")
input(type="imtcp" name="tls" port="0" listenPortFileName="{work}/tls.port" ruleset="received"
      streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="x509/certvalid")

ruleset(name="received") {{
    action(type="omfile" file="{received}" template="rawmsg")
}}
action(type="omfile" file="{internal}")
"""


def find_rsyslogd() -> str | None:
    """Path of rsyslogd on PATH or in /usr/sbin (often not on a normal user's PATH), or None."""
    return shutil.which("rsyslogd") or shutil.which("rsyslogd", path="/usr/sbin")


class Rsyslog:
    """One rsyslogd process working in `directory` (config, pid, ports, logs), stopped by its own pid.

    Both ports are chosen by rsyslogd (port 0) and read back from its listenPortFileName files, so there is
    no race for a "free" port. The directory is left in place for post-mortems (pytest's tmp_path is ideal).
    """

    def __init__(self, pki: Pki, *, directory: Path, rsyslogd: str | None = None) -> None:
        self._rsyslogd = rsyslogd or find_rsyslogd() or "rsyslogd"
        self._pki = pki
        self._work = directory
        self._process: subprocess.Popen[bytes] | None = None
        self._tcp_port = 0
        self._tls_port = 0

    def start(self) -> Rsyslog:
        """Write the config, validate it with -N1, start rsyslogd -n and wait for both ports.

        A restart gets new ports and appends to the same received file.
        """
        if self._process is not None:
            raise RuntimeError("rsyslogd already started")
        work = self._work
        work.mkdir(parents=True, exist_ok=True)
        for port_file in (work / "tcp.port", work / "tls.port"):
            port_file.unlink(missing_ok=True)
        config = self._write_config(work)
        self._validate(config)
        with (work / "stdout.log").open("wb") as output:
            self._process = subprocess.Popen(
                [self._rsyslogd, "-n", "-f", str(config), "-i", str(work / "rsyslogd.pid")],
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        try:
            self._tcp_port = self._read_port(work / "tcp.port")
            self._tls_port = self._read_port(work / "tls.port")
        except BaseException:
            self.stop()
            raise
        return self

    def stop(self) -> None:
        """SIGTERM rsyslogd (it flushes its queue), SIGKILL if it lingers; `lines()` stays readable."""
        if self._process is not None:
            _terminate(self._process)
            self._process = None

    def __enter__(self) -> Rsyslog:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        self.stop()

    @property
    def tcp_port(self) -> int:
        """Port of the plain TCP input."""
        return self._tcp_port

    @property
    def tls_port(self) -> int:
        """Port of the mutual TLS input (client certificate must chain to the Pki's CA)."""
        return self._tls_port

    def lines(self) -> list[str]:
        """Every `%rawmsg%` received so far, in order (a message containing LF spans several lines)."""
        data = self._received_path().read_bytes() if self._received_path().exists() else b""
        return data.decode("utf-8", errors="backslashreplace").split("\n")[:-1]

    def wait_for(self, count: int, timeout: float) -> bool:
        """Poll until at least `count` lines are written; False on timeout."""
        deadline = time.monotonic() + timeout
        while True:
            if self._line_count() >= count:
                return True
            if time.monotonic() >= deadline:
                return False
            time.sleep(_POLL_SECONDS)

    def internal_log(self) -> str:
        """rsyslogd's own messages and stdout/stderr (for failure messages)."""
        work = self._work
        parts = [work / "internal.log", work / "stdout.log"]
        return "".join(path.read_text(errors="replace") for path in parts if path.exists())

    def _validate(self, config: Path) -> None:
        """`rsyslogd -N1`: unlike a normal start, it rejects unknown parameters instead of ignoring them."""
        result = subprocess.run([self._rsyslogd, "-N1", "-f", str(config)], capture_output=True, text=True, timeout=30)
        if result.returncode != 0:
            raise RuntimeError(f"rsyslogd rejected {config}:\n{result.stdout}{result.stderr}")

    def _write_config(self, work: Path) -> Path:
        config = work / "rsyslog.conf"
        config.write_text(
            _CONFIG.format(
                work=work,
                max_message_bytes=MAX_MESSAGE_BYTES,
                ca=self._pki.ca_chain,
                cert=self._pki.server.cert,
                key=self._pki.server.key,
                received=work / "received.log",
                internal=work / "internal.log",
            )
        )
        return config

    def _read_port(self, port_file: Path) -> int:
        """Wait for rsyslogd to write the port it listens on; fail early if it exits."""
        deadline = time.monotonic() + _READY_SECONDS
        while time.monotonic() < deadline:
            text = port_file.read_text().strip() if port_file.exists() else ""
            if text.isdigit():
                return int(text)
            if self._process is None or self._process.poll() is not None:
                break
            time.sleep(_POLL_SECONDS)
        raise RuntimeError(f"rsyslogd did not start listening ({port_file.name}):\n{self.internal_log()}")

    def _line_count(self) -> int:
        path = self._received_path()
        return path.read_bytes().count(b"\n") if path.exists() else 0

    def _received_path(self) -> Path:
        return self._work / "received.log"


def _terminate(process: subprocess.Popen[bytes]) -> None:
    """Stop one process by its pid: SIGTERM, then SIGKILL after a grace period; always reaped."""
    if process.poll() is None:
        os.kill(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=_STOP_SECONDS)
        except subprocess.TimeoutExpired:
            os.kill(process.pid, signal.SIGKILL)
            process.wait()
