"""The RELP sender against rsyslogd's imrelp: frames byte-exact and in order, batches acknowledged by marks,
pipelining, a large batch, a relay killed -9 and started again (0 lost), serverclose, mutual TLS."""

from __future__ import annotations

import logging
import socket
import threading
from collections import Counter
from typing import Any

import pytest

from devo_sqs.output.relp_protocol import Frame, encode_frame
from devo_sqs.output.senders.base import OutputError
from devo_sqs.output.senders.relp import RelpSender
from devo_sqs.output.senders.syslog import tls_context
from tests.integration.conftest import wait_until
from tests.support.certs import CertPair, Pki
from tests.support.rsyslog_relp import RelpRsyslog
from tests.support.scripted_relp import ScriptedRelpServer, answer_open_then

STAMP = b"Nov  6 09:01:02"
HOST = "relp-host"
TAG = "my.app.relp"
Groups = list[tuple[str, list[bytes]]]


def plain_sender(server: RelpRsyslog | ScriptedRelpServer, **options: Any) -> RelpSender:
    return RelpSender(address="127.0.0.1", port=server.port, hostname=HOST, **options)


def tls_sender(server: RelpRsyslog, pki: Pki, client: CertPair) -> RelpSender:
    context = tls_context(chain=str(pki.ca_chain), cert=str(client.cert), key=str(client.key))
    return RelpSender(address="127.0.0.1", port=server.tls_port, tls=context, hostname=HOST)


def batch(index: int, size: int, *, tag: str = TAG, padding: int = 0) -> Groups:
    return [(tag, [b"batch %d record %d%s" % (index, number, b"." * padding) for number in range(size)])]


def arrived(groups: Groups) -> list[bytes]:
    """The lines rsyslogd writes for `groups` (`%rawmsg%`: the syslog line of each frame)."""
    return [b"<14>%s %s %s: %s" % (STAMP, HOST.encode(), tag.encode(), message) for tag, ms in groups for message in ms]


def acknowledged(sender: RelpSender, mark: int, *, timeout: float = 60.0) -> bool:
    return wait_until(lambda: sender.acknowledged() >= mark, timeout=timeout, interval=0.01)


def test_frames_arrive_byte_exact_in_order_and_every_mark_is_acknowledged(relp_rsyslog: RelpRsyslog) -> None:
    batches: list[Groups] = [
        [("my.app.first", [b"plain", "café ✓".encode(), b"  spaced  ", b""]), ("cloud.aws.second", [b'{"a": 1}'])],
        [("my.app.first", [b"x" * 200_000])],
        [("my.app.third", [b"tab\there", b"one\ntwo"])],
    ]
    sender = plain_sender(relp_rsyslog)
    marks = [sender.send(groups, timestamp=STAMP) for groups in batches]
    assert marks == [1, 2, 3]
    assert acknowledged(sender, 3)
    # imrelp answers only after the line is written (direct queue): acknowledged means it is in the file
    expected = [line for groups in batches for line in arrived(groups)]
    expected[-2:] = [line.replace(b"\t", b"#011").replace(b"\n", b"#012") for line in expected[-2:]]  # rsyslog
    assert relp_rsyslog.lines() == expected
    sender.close()
    assert not sender.is_open


def test_batches_are_written_while_the_relay_answers_nothing_and_acknowledged_once_it_does(
    relp_rsyslog: RelpRsyslog,
) -> None:
    sender = plain_sender(relp_rsyslog)
    assert acknowledged(sender, sender.send(batch(0, 10), timestamp=STAMP))
    relp_rsyslog.pause()  # a stalled relay: reads and answers nothing
    marks = [sender.send(batch(index, 50), timestamp=STAMP) for index in range(1, 11)]  # 500 frames < window 1024
    assert marks == list(range(2, 12))
    assert sender.acknowledged() == 1
    relp_rsyslog.resume()
    assert acknowledged(sender, 11)
    assert relp_rsyslog.lines() == [
        line for index in range(11) for line in arrived(batch(index, 10 if not index else 50))
    ]


def test_a_batch_of_20000_frames_all_unanswered_at_once_is_delivered_whole_and_in_order(
    relp_rsyslog: RelpRsyslog,
) -> None:
    sender = plain_sender(relp_rsyslog, window_frames=20_000)  # the whole batch may be unanswered at once
    large = batch(0, 20_000, padding=1000)  # 20 MB of frames; ~400 KB of answers read while they go out
    mark = sender.send(large, timestamp=STAMP)
    assert acknowledged(sender, mark)
    assert relp_rsyslog.lines() == arrived(large)


def test_a_relay_killed_while_it_answers_loses_nothing_once_the_unacknowledged_batches_are_sent_again(
    relp_rsyslog: RelpRsyslog,
) -> None:
    killer = threading.Thread(
        target=lambda: relp_rsyslog.wait_for(30_000, timeout=120) and relp_rsyslog.kill(), daemon=True
    )
    sender = plain_sender(relp_rsyslog)
    sent: dict[int, Groups] = {}  # by mark
    pending: Groups = []  # the batch whose send failed, if one did
    killer.start()
    with pytest.raises(OutputError) as broken:  # on a send or on reading answers, whichever meets the dead relay
        for index in range(1_000):  # a stream of batches (a few within the window at once), cut by the kill
            pending = batch(index, 400)
            sent[sender.send(pending, timestamp=STAMP)] = pending
            pending = []
            sender.acknowledged()
    killer.join(timeout=120)
    assert str(broken.value).startswith(sender.description), broken.value
    done = sender.acknowledged()  # no session now: the last mark acknowledged before the break
    assert 0 < done <= max(sent)
    received = Counter(relp_rsyslog.lines())
    assert all(received[line] == 1 for mark in sent if mark <= done for line in arrived(sent[mark]))

    relp_rsyslog.start()  # same port, same received.log
    again = [sent[mark] for mark in sorted(sent) if mark > done] + ([pending] if pending else [])
    for groups in again:
        last = sender.send(groups, timestamp=STAMP)
    assert acknowledged(sender, last)

    received = Counter(relp_rsyslog.lines())
    every = [line for groups in [*sent.values(), pending] for line in arrived(groups)]
    resent = {line for groups in again for line in arrived(groups)}
    duplicated = sum(count - 1 for count in received.values())
    assert [line for line in every if not received[line]] == []  # 0 lost
    assert sum(received.values()) == len(every) + duplicated
    assert all(line in resent for line, count in received.items() if count > 1)  # duplicates only from resends
    assert duplicated <= len(resent)


def test_frames_written_to_a_stalled_relay_that_is_killed_stay_unacknowledged_and_arrive_once_after_a_resend(
    relp_rsyslog: RelpRsyslog,
) -> None:
    sender = plain_sender(relp_rsyslog)
    first, second, third = batch(1, 1_000), batch(2, 500), batch(3, 20_000)
    assert acknowledged(sender, sender.send(first, timestamp=STAMP))
    relp_rsyslog.pause()
    assert sender.send(second, timestamp=STAMP) == 2  # within the window: written, not answered
    killer = threading.Timer(0.5, relp_rsyslog.kill)  # while the third batch waits for room in the window
    killer.start()
    with pytest.raises(OutputError) as broken:
        sender.send(third, timestamp=STAMP)
    killer.join(timeout=30)
    assert str(broken.value).startswith(sender.description), broken.value
    assert sender.acknowledged() == 1
    assert not sender.is_open

    relp_rsyslog.start()
    assert sender.send(second, timestamp=STAMP) == 3
    assert sender.send(third, timestamp=STAMP) == 4
    assert acknowledged(sender, 4)
    assert relp_rsyslog.lines() == arrived(first) + arrived(second) + arrived(third)


def test_a_relay_stopping_gracefully_sends_serverclose_and_the_next_batch_opens_a_new_session(
    relp_rsyslog: RelpRsyslog, caplog: pytest.LogCaptureFixture
) -> None:
    sender = plain_sender(relp_rsyslog)
    assert acknowledged(sender, sender.send(batch(1, 100), timestamp=STAMP))
    relp_rsyslog.stop()  # SIGTERM: imrelp sends `0 serverclose 0` and closes
    with caplog.at_level(logging.INFO, logger="devo_sqs.output.senders.relp"):
        assert sender.acknowledged() == 1  # every frame was answered: nothing to send again, no error
    assert not sender.is_open
    assert f"{sender.description}: the server closed the session (serverclose); every frame was answered" in (
        caplog.messages
    )
    relp_rsyslog.start()
    assert acknowledged(sender, sender.send(batch(2, 100), timestamp=STAMP))
    assert relp_rsyslog.lines() == arrived(batch(1, 100)) + arrived(batch(2, 100))


def test_close_waits_for_the_answers_still_due(relp_rsyslog: RelpRsyslog) -> None:
    sender = plain_sender(relp_rsyslog)
    mark = sender.send(batch(1, 5_000), timestamp=STAMP)
    sender.close()
    assert (sender.acknowledged(), sender.is_open) == (mark, False)
    assert relp_rsyslog.lines() == arrived(batch(1, 5_000))


def test_an_old_session_is_recycled_after_its_answers_and_marks_go_on_growing(relp_rsyslog: RelpRsyslog) -> None:
    sender = plain_sender(relp_rsyslog, max_age_seconds=0.0)  # every send finds the session too old
    marks = [sender.send(batch(index, 1_000), timestamp=STAMP) for index in range(3)]
    assert marks == [1, 2, 3]
    assert acknowledged(sender, 3)
    assert relp_rsyslog.lines() == [line for index in range(3) for line in arrived(batch(index, 1_000))]
    assert relp_rsyslog.records() == Counter(
        {(TAG, f"batch {index} record {number}"): 1 for index in range(3) for number in range(1_000)}
    )


def test_mutual_tls_delivers_and_a_client_certificate_the_relay_does_not_trust_is_an_output_error(
    relp_rsyslog: RelpRsyslog, pki: Pki
) -> None:
    trusted = tls_sender(relp_rsyslog, pki, pki.client)
    assert trusted.description == f"127.0.0.1:{relp_rsyslog.tls_port} (relp+tls)"
    assert acknowledged(trusted, trusted.send(batch(1, 2_000), timestamp=STAMP))
    trusted.close()

    rogue = tls_sender(relp_rsyslog, pki, pki.rogue_client)
    with pytest.raises(OutputError) as rejected:
        rogue.send(batch(2, 10), timestamp=STAMP)
    assert "unknown ca" in str(rejected.value)
    assert str(rejected.value).endswith("the session was not opened (client certificate rejected?)")
    assert (rogue.acknowledged(), rogue.is_open) == (0, False)
    assert relp_rsyslog.lines() == arrived(batch(1, 2_000))


def test_a_relay_that_is_down_is_an_output_error_on_send() -> None:
    with socket.socket() as unused:
        unused.bind(("127.0.0.1", 0))
        port = unused.getsockname()[1]
    sender = RelpSender(address="127.0.0.1", port=port)
    with pytest.raises(OutputError, match=f"cannot connect to 127.0.0.1:{port} \\(relp\\)"):
        sender.send(batch(1, 1), timestamp=STAMP)


# Answers rsyslogd does not give on cue: a scripted server on a real socket.


def answer_ok(frame: Frame) -> bytes:
    return encode_frame(frame.txnr, b"rsp", b"200 OK")


def test_a_refused_frame_breaks_the_session_and_its_batch_stays_unacknowledged() -> None:
    def refuse_the_third(frame: Frame) -> bytes:
        return encode_frame(frame.txnr, b"rsp", b"500 queue full" if frame.txnr == 4 else b"200 OK")

    with ScriptedRelpServer(answer_open_then(refuse_the_third)) as server:
        sender = plain_sender(server)
        assert sender.send(batch(1, 2), timestamp=STAMP) == 1  # txnr 2, 3
        assert sender.send(batch(2, 2), timestamp=STAMP) == 2  # txnr 4, 5
        with pytest.raises(OutputError) as refused:
            wait_until(lambda: sender.acknowledged() > 1, timeout=10, interval=0.01)
        assert str(refused.value) == f"{sender.description}: txnr 4 refused: 500 queue full"
        assert (sender.acknowledged(), sender.is_open) == (1, False)


def test_an_answer_out_of_order_breaks_the_session() -> None:
    def answer_late_ones_first(frame: Frame) -> bytes:
        return encode_frame(frame.txnr + 1, b"rsp", b"200 OK")

    with ScriptedRelpServer(answer_open_then(answer_late_ones_first)) as server:
        sender = plain_sender(server)
        sender.send(batch(1, 2), timestamp=STAMP)
        with pytest.raises(OutputError) as broken:
            wait_until(lambda: sender.acknowledged() > 0, timeout=10, interval=0.01)
        assert str(broken.value) == f"{sender.description}: response to txnr 3 out of order (expected 2)"


def test_serverclose_with_frames_unanswered_is_an_output_error_and_the_next_session_starts_afresh() -> None:
    def answer_two_then_close(frame: Frame) -> bytes:
        if frame.txnr == 6:  # the last frame of the second batch
            return encode_frame(0, b"serverclose")
        return answer_ok(frame) if frame.txnr in (2, 3) else b""

    with ScriptedRelpServer(answer_open_then(answer_two_then_close)) as server:
        sender = plain_sender(server)
        assert sender.send(batch(1, 2), timestamp=STAMP) == 1  # txnr 2, 3: answered
        assert sender.send(batch(2, 3), timestamp=STAMP) == 2  # txnr 4..6: never answered
        with pytest.raises(OutputError) as closed:
            wait_until(lambda: sender.acknowledged() > 1, timeout=10, interval=0.01)
        assert str(closed.value) == (
            f"{sender.description}: the server closed the session (serverclose) with 3 frame(s) unanswered"
        )
        assert (sender.acknowledged(), sender.is_open) == (1, False)
        assert sender.send(batch(3, 1), timestamp=STAMP) == 3  # a new session: open, then txnr 2 again
        assert acknowledged(sender, 3, timeout=10)
        assert [(frame.txnr, frame.command) for frame in server.frames[-2:]] == [(1, b"open"), (2, b"syslog")]
