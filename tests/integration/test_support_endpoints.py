"""The test endpoints in tests/support work, proved with plain clients (sockets, ssl, boto3) before the
collector's integration tests rely on them."""

from __future__ import annotations

import gzip
import itertools
import json
import re
import socket
import ssl
import threading
import time
from collections.abc import Callable
from typing import Any

import pytest

from devo_sqs.demo.local_aws import LocalAws
from tests.support.certs import CertPair, Pki
from tests.support.rsyslog import Rsyslog
from tests.support.syslog_framing import Frame, parse_frame
from tests.support.syslog_receiver import SyslogReceiver

pytestmark = pytest.mark.timeout(60)

LF_FRAME = b"<134>Nov  6 09:01:02 host-1 my.app.tag: plain line \xc3\xa9"
OCTET_FRAME = b"<13>Dec 31 23:59:59 host-2 other.tag: octet-counted\nsecond line"
PLAIN = Frame(134, "Nov  6 09:01:02", "host-1", "my.app.tag", "plain line é")  # LF_FRAME parsed
OCTET = Frame(13, "Dec 31 23:59:59", "host-2", "other.tag", "octet-counted\nsecond line")  # OCTET_FRAME parsed
ISO_TIME = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z")


def octet_counted(frame: bytes) -> bytes:
    return b"%d %s" % (len(frame), frame)


def tls_client(pki: Pki, client: CertPair, port: int, *, server_hostname: str) -> ssl.SSLSocket:
    """A client that verifies the server against the session CA and presents `client`."""
    context = ssl.create_default_context(cafile=pki.ca_chain)
    context.load_cert_chain(client.cert, client.key)
    raw = socket.create_connection(("127.0.0.1", port), timeout=5)
    return context.wrap_socket(raw, server_hostname=server_hostname)


def send_plain(port: int, *chunks: bytes) -> None:
    """Send each chunk in its own write, pausing so the receiver sees them as separate reads."""
    with socket.create_connection(("127.0.0.1", port), timeout=5) as connection:
        for chunk in chunks:
            connection.sendall(chunk)
            time.sleep(0.01)


def refused(client: ssl.SSLSocket, data: bytes) -> bool:
    """Send, then read: True when the server turned the client away.

    With TLS 1.3 the client's handshake completes before the server checks its certificate, so the
    rejection shows up later: as an error on this write (server already gone), as the server's alert or an
    error on the read, or as EOF. A sender must treat all of them as "not delivered".
    """
    try:
        client.sendall(data)
        return client.recv(1) == b""
    except (ssl.SSLError, ConnectionError):
        return True


def wait_until(condition: Callable[[], bool], timeout: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.02)
    return True


# --- frame parsing -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (b"<134>Nov  6 09:01:02 h t: m", Frame(134, "Nov  6 09:01:02", "h", "t", "m")),
        (b"<0>Jan 31 00:00:00 h t.x-y: ", Frame(0, "Jan 31 00:00:00", "h", "t.x-y", "")),
        (b"<191>Feb 10 23:59:59 h t: a: b\nc", Frame(191, "Feb 10 23:59:59", "h", "t", "a: b\nc")),
        (b"<192>Nov  6 09:01:02 h t: priority too big", None),
        (b"<134>Nov 6 09:01:02 h t: day not padded", None),
        (b"<134>Nov  6 09:01:02 h t:no space after colon", None),
        (b"<134>2024-11-06T09:01:02Z h t: RFC 5424 time", None),
        (b"<134>Nov  6 09:01:02 h t: not utf-8 \xff", None),
    ],
)
def test_frames_parse_as_rfc3164_or_not_at_all(raw: bytes, expected: Frame | None) -> None:
    assert parse_frame(raw) == expected


# --- SyslogReceiver ------------------------------------------------------------------------------------


def test_receiver_parses_lf_and_octet_counted_frames_on_one_connection(
    syslog_receiver: SyslogReceiver,
) -> None:
    stream = LF_FRAME + b"\n" + octet_counted(OCTET_FRAME) + b"not syslog\n" + octet_counted(LF_FRAME)
    # Cut mid-length-prefix, mid-frame and right after an LF: the receiver must reassemble.
    cuts = [0, len(LF_FRAME) + 2, len(LF_FRAME) + 30, len(stream) - len(LF_FRAME) - 4, len(stream)]
    send_plain(syslog_receiver.port, *(stream[a:b] for a, b in itertools.pairwise(cuts)))

    assert syslog_receiver.wait_for(4, timeout=5)
    assert syslog_receiver.frames() == [PLAIN, OCTET, PLAIN]
    assert syslog_receiver.malformed() == ["not syslog"]
    assert syslog_receiver.messages_by_tag() == {
        "my.app.tag": ["plain line é", "plain line é"],
        "other.tag": ["octet-counted\nsecond line"],
    }
    assert wait_until(lambda: syslog_receiver.connections_closed == 1)
    assert syslog_receiver.connections_accepted == 1
    assert syslog_receiver.broken_streams == 0


def test_receiver_keeps_an_unfinished_last_frame_as_malformed(syslog_receiver: SyslogReceiver) -> None:
    send_plain(syslog_receiver.port, LF_FRAME + b"\n<134>Nov  6 09:01:02 host-1 t: cut")

    assert wait_until(lambda: syslog_receiver.connections_closed == 1)
    assert syslog_receiver.frames() == [PLAIN]
    assert syslog_receiver.malformed() == ["<134>Nov  6 09:01:02 host-1 t: cut"]  # parseable, but unterminated
    assert syslog_receiver.broken_streams == 1


def test_tls_receiver_accepts_a_client_signed_by_its_ca(pki: Pki, tls_syslog_receiver: SyslogReceiver) -> None:
    with tls_client(pki, pki.client, tls_syslog_receiver.port, server_hostname="localhost") as client:
        client.sendall(LF_FRAME + b"\n" + octet_counted(OCTET_FRAME))

    assert tls_syslog_receiver.wait_for(2, timeout=5)
    assert tls_syslog_receiver.frames() == [PLAIN, OCTET]
    assert tls_syslog_receiver.handshake_failures == 0


def test_tls_receiver_rejects_a_client_signed_by_another_ca(pki: Pki, tls_syslog_receiver: SyslogReceiver) -> None:
    with tls_client(pki, pki.rogue_client, tls_syslog_receiver.port, server_hostname="127.0.0.1") as client:
        assert client.version() == "TLSv1.3"
        assert refused(client, LF_FRAME + b"\n")

    assert wait_until(lambda: tls_syslog_receiver.connections_closed == 1)
    assert tls_syslog_receiver.handshake_failures == 1
    assert tls_syslog_receiver.received_count == 0
    assert tls_syslog_receiver.frames() == []
    assert tls_syslog_receiver.connections_accepted == 1


def test_gzip_receiver_decompresses_concatenated_members_fed_in_pieces() -> None:
    first = gzip.compress(LF_FRAME + b"\n" + octet_counted(OCTET_FRAME)[:20])
    second = gzip.compress(octet_counted(OCTET_FRAME)[20:] + LF_FRAME + b"\n")
    stream = first + second
    with SyslogReceiver(gzip_stream=True) as receiver:
        send_plain(receiver.port, stream[:7], stream[7 : len(first) + 3], stream[len(first) + 3 :])
        assert receiver.wait_for(3, timeout=5)
        assert receiver.frames() == [PLAIN, OCTET, PLAIN]
        assert wait_until(lambda: receiver.connections_closed == 1)
        assert receiver.broken_streams == 0


def test_gzip_receiver_counts_a_truncated_member_as_broken() -> None:
    member = gzip.compress(LF_FRAME + b"\n")
    with SyslogReceiver(gzip_stream=True) as receiver:
        send_plain(receiver.port, member[:-4])  # the gzip trailer (ISIZE) is missing
        assert wait_until(lambda: receiver.connections_closed == 1)
        assert receiver.received_count == 1
        assert receiver.frames() == [PLAIN]
        assert receiver.malformed() == []
        assert receiver.broken_streams == 1


def test_receiver_restarts_on_the_same_port_and_keeps_what_it_received() -> None:
    receiver = SyslogReceiver().start()
    try:
        port = receiver.port
        send_plain(port, LF_FRAME + b"\n")
        assert receiver.wait_for(1, timeout=5)
        receiver.stop()
        with pytest.raises(ConnectionRefusedError):
            socket.create_connection(("127.0.0.1", port), timeout=5)

        receiver.start()
        assert receiver.port == port
        send_plain(port, octet_counted(OCTET_FRAME))
        assert receiver.wait_for(2, timeout=5)
        assert receiver.frames() == [PLAIN, OCTET]
        assert receiver.connections_accepted == 2
    finally:
        receiver.stop()


def test_receiver_takes_a_fast_stream_of_small_frames_whole(syslog_receiver: SyslogReceiver) -> None:
    count, per_write = 500_000, 5_000
    frame = b"<134>Nov  6 09:01:02 host-1 bench.tag: a small frame of about 70 bytes\n"

    def send() -> None:
        with socket.create_connection(("127.0.0.1", syslog_receiver.port)) as connection:
            for _ in range(count // per_write):
                connection.sendall(frame * per_write)

    sender = threading.Thread(target=send)
    sender.start()
    assert syslog_receiver.wait_for(count, timeout=20)
    sender.join()

    frames = syslog_receiver.frames()
    assert len(frames) == count
    assert frames[-1] == Frame(134, "Nov  6 09:01:02", "host-1", "bench.tag", "a small frame of about 70 bytes")


# --- rsyslogd ------------------------------------------------------------------------------------------


def test_rsyslog_writes_plain_and_tls_messages_byte_exact(pki: Pki, rsyslog: Rsyslog) -> None:
    send_plain(rsyslog.tcp_port, LF_FRAME + b"\n" + octet_counted(OCTET_FRAME))
    with tls_client(pki, pki.client, rsyslog.tls_port, server_hostname="localhost") as client:
        client.sendall(b"<14>Nov 16 19:01:02 host-3 tls.tag: over TLS\n")

    assert rsyslog.wait_for(3, timeout=10)
    assert rsyslog.lines() == [
        "<134>Nov  6 09:01:02 host-1 my.app.tag: plain line é",
        "<13>Dec 31 23:59:59 host-2 other.tag: octet-counted#012second line",  # rsyslog escapes LF
        "<14>Nov 16 19:01:02 host-3 tls.tag: over TLS",
    ]


def test_rsyslog_drops_a_client_signed_by_another_ca(pki: Pki, rsyslog: Rsyslog) -> None:
    with tls_client(pki, pki.rogue_client, rsyslog.tls_port, server_hostname="localhost") as client:
        assert refused(client, b"<14>Nov 16 19:01:02 host-3 tls.tag: rogue\n")
    send_plain(rsyslog.tcp_port, b"<14>Nov 16 19:01:02 host-3 plain.tag: marker\n")

    assert rsyslog.wait_for(1, timeout=10)
    time.sleep(0.2)  # a wrongly accepted rogue line would show up by now
    assert rsyslog.lines() == ["<14>Nov 16 19:01:02 host-3 plain.tag: marker"]
    assert "signer not found" in rsyslog.internal_log()


# --- moto ----------------------------------------------------------------------------------------------


def receive_bodies(moto: LocalAws, queue_url: str, *, visibility_timeout: int = 30) -> list[Any]:
    response = moto.client("sqs").receive_message(
        QueueUrl=queue_url, MaxNumberOfMessages=10, WaitTimeSeconds=1, VisibilityTimeout=visibility_timeout
    )
    return [json.loads(message["Body"]) for message in response.get("Messages", [])]


def expected_test_event(bucket: str, time_field: str) -> dict[str, str]:
    assert ISO_TIME.fullmatch(time_field)
    return {"Service": "Amazon S3", "Event": "s3:TestEvent", "Time": time_field, "Bucket": bucket}


def expected_object_created(bucket: str, encoded_key: str, body: dict[str, Any]) -> dict[str, Any]:
    """moto's notification for a 6-byte object; time and configurationId are checked for shape only."""
    record = body["Records"][0]
    assert ISO_TIME.fullmatch(record["eventTime"])
    assert re.fullmatch(r"[A-Za-z0-9]{50}", record["s3"]["configurationId"])
    s3 = {
        "s3SchemaVersion": "1.0",
        "configurationId": record["s3"]["configurationId"],
        "bucket": {"name": bucket, "arn": f"arn:aws:s3:::{bucket}"},
        "object": {"key": encoded_key, "size": 6, "eTag": "b1946ac92492d2347c6235b4d2611184"},
    }
    return {
        "Records": [
            {
                "eventVersion": "2.1",
                "eventSource": "aws:s3",
                "awsRegion": "us-east-1",
                "eventTime": record["eventTime"],
                "eventName": "ObjectCreated:Put",
                "s3": s3,
            }
        ]
    }


def test_moto_notifies_the_queue_with_a_url_encoded_key(moto: LocalAws) -> None:
    setup = moto.make_bucket_to_queue("logs-bucket", "logs-queue", prefix="a", suffix=".log")
    moto.client("s3").put_object(Bucket="logs-bucket", Key="a b+c/d.log", Body=b"hello\n")
    moto.client("s3").put_object(Bucket="logs-bucket", Key="a b+c/d.txt", Body=b"hello\n")  # filtered

    test_event, created = receive_bodies(moto, setup.queue_url)
    assert test_event == expected_test_event("logs-bucket", test_event["Time"])
    assert created == expected_object_created("logs-bucket", "a+b%2Bc%2Fd.log", created)
    assert moto.queue_depth(setup.queue_url) == (0, 2)
    assert setup.dlq_url is None


def test_moto_wraps_the_notification_in_an_sns_envelope(moto: LocalAws) -> None:
    setup = moto.make_bucket_to_queue("logs-bucket", "logs-queue", via_sns=True)
    moto.client("s3").put_object(Bucket="logs-bucket", Key="a b+c/d.log", Body=b"hello\n")

    envelopes = receive_bodies(moto, setup.queue_url)
    assert [envelope["Type"] for envelope in envelopes] == ["Notification", "Notification"]
    assert [envelope["TopicArn"] for envelope in envelopes] == [setup.topic_arn] * 2
    assert "Subject" not in envelopes[1]
    test_event, created = (json.loads(envelope["Message"]) for envelope in envelopes)
    assert test_event == expected_test_event("logs-bucket", test_event["Time"])
    assert created == expected_object_created("logs-bucket", "a+b%2Bc%2Fd.log", created)


def test_moto_moves_a_message_received_too_often_to_the_dlq(moto: LocalAws) -> None:
    setup = moto.make_bucket_to_queue("logs-bucket", "logs-queue", redrive_dlq=2, visibility_timeout=30)
    assert setup.dlq_url is not None
    moto.client("s3").put_object(Bucket="logs-bucket", Key="k.log", Body=b"hello\n")

    for _ in range(2):  # received twice and never deleted (visibility 0: back at once)
        assert len(receive_bodies(moto, setup.queue_url, visibility_timeout=0)) == 2
    assert receive_bodies(moto, setup.queue_url, visibility_timeout=0) == []

    assert moto.queue_depth(setup.queue_url) == (0, 0)
    assert moto.queue_depth(setup.dlq_url) == (2, 0)
    in_dlq = receive_bodies(moto, setup.dlq_url)
    assert [body.get("Event") for body in in_dlq] == ["s3:TestEvent", None]
    assert in_dlq[1]["Records"][0]["s3"]["object"]["key"] == "k.log"


def test_eventbridge_events_carry_the_key_unencoded(moto: LocalAws) -> None:
    setup = moto.make_bucket_to_queue("logs-bucket", "logs-queue", eventbridge=True)
    moto.client("s3").put_object(Bucket="logs-bucket", Key="a b+c/d.log", Body=b"hello\n")
    assert moto.queue_depth(setup.queue_url) == (0, 0)  # nothing configured on the bucket

    moto.send_eventbridge_event(setup.queue_url, "logs-bucket", "a b+c/d.log")
    (event,) = receive_bodies(moto, setup.queue_url)
    assert (event["source"], event["detail-type"]) == ("aws.s3", "Object Created")
    assert event["resources"] == ["arn:aws:s3:::logs-bucket"]
    assert event["detail"]["bucket"] == {"name": "logs-bucket"}
    assert event["detail"]["object"]["key"] == "a b+c/d.log"
    assert (event["detail"]["object"]["size"], event["detail"]["object"]["etag"]) == (
        6,
        "b1946ac92492d2347c6235b4d2611184",
    )
