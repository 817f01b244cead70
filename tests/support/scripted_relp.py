"""A RELP server that answers as a test tells it, on a real socket: for the answers rsyslogd never gives on cue
(a refused frame, an answer out of order, `serverclose` while frames are unanswered). Everything else is tested
against rsyslogd itself (tests/support/rsyslog_relp.py)."""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Callable
from types import TracebackType

from devo_sqs.output.relp_protocol import Frame, FrameReader, encode_frame

Script = Callable[[Frame], bytes]  # the bytes to write back after each frame received (b"": nothing)
OPEN_OK = b"200 OK\nrelp_version=0\nrelp_software=scripted\ncommands=syslog"
_JOIN_SECONDS = 5.0


def answer_open_then(script: Script) -> Script:
    """Answers `open` as imrelp does and hands every later frame to `script`."""

    def answer(frame: Frame) -> bytes:
        return encode_frame(frame.txnr, b"rsp", OPEN_OK) if frame.command == b"open" else script(frame)

    return answer


class ScriptedRelpServer:
    """Serves one connection at a time on 127.0.0.1:`port`; closes it once the script's answer ends with
    `serverclose`. `frames` lists every frame received, in order."""

    def __init__(self, script: Script) -> None:
        self._script = script
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.port: int = self._listener.getsockname()[1]
        self.frames: list[Frame] = []
        self._connection: socket.socket | None = None
        self._thread = threading.Thread(target=self._serve, name="scripted-relp", daemon=True)

    def __enter__(self) -> ScriptedRelpServer:
        self._thread.start()
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, traceback: TracebackType | None
    ) -> None:
        for open_socket in (self._listener, self._connection):  # shutdown wakes a thread blocked in accept/recv
            if open_socket is not None:
                with contextlib.suppress(OSError):
                    open_socket.shutdown(socket.SHUT_RDWR)
        self._thread.join(_JOIN_SECONDS)
        self._listener.close()

    def _serve(self) -> None:
        while True:
            try:
                connection, _ = self._listener.accept()
            except OSError:  # the listener was shut down: the test is over
                return
            self._connection = connection
            with connection, contextlib.suppress(OSError):  # the client went away: serve the next one
                self._converse(connection)

    def _converse(self, connection: socket.socket) -> None:
        reader = FrameReader(max_data_bytes=1 << 20)
        while data := connection.recv(65536):
            for frame in reader.feed(data):
                self.frames.append(frame)
                answer = self._script(frame)
                connection.sendall(answer)
                if answer.endswith(b"serverclose 0\n"):
                    return
