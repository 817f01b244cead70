"""RELP sender throughput against a private rsyslogd with imrelp (tests/support/rsyslog_relp.py), over plain TCP
and mutual TLS, for several windows and record sizes: records/s from the first send to the last acknowledgement,
and the CPU time per record of the sender and of rsyslogd (on a shared machine the CPU per record holds better
than the rate). The relay answers a frame only after writing it to its file (a direct queue, as in the tests),
so this measures sender and relay together on the same cores.

    .venv/bin/python scripts/bench_relp.py [--records 200000] [--windows 128,1024,4096] [--repeat 3]
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import psutil  # noqa: E402

from devo_sqs.output.senders.relp import RelpSender  # noqa: E402
from devo_sqs.output.senders.syslog import tls_context  # noqa: E402
from tests.support.certs import Pki, make_pki  # noqa: E402
from tests.support.rsyslog_relp import RelpRsyslog  # noqa: E402

STAMP = b"Nov  6 09:01:02"
BATCH_MAX_RECORDS = 20_000  # the collector's defaults: 20,000 records or 8 MiB a batch
BATCH_MAX_BYTES = 8 << 20
ACK_DEADLINE_SECONDS = 300.0


def run_once(server: RelpRsyslog, pki: Pki, *, tls: bool, window: int, size: int, records: int) -> tuple[float, ...]:
    """records/s, and the CPU microseconds per record of the sender and of rsyslogd, for `records` of `size` bytes."""
    context = tls_context(chain=str(pki.ca_chain), cert=str(pki.client.cert), key=str(pki.client.key)) if tls else None
    sender = RelpSender(
        address="127.0.0.1", port=server.tls_port if tls else server.port, tls=context, window_frames=window
    )
    per_batch = min(BATCH_MAX_RECORDS, BATCH_MAX_BYTES // size)
    messages = [b"%08d " % number + b"x" * (size - 9) for number in range(per_batch)]
    sender.send([("my.app.bench", messages[:1])], timestamp=STAMP)  # session open, outside the measurement
    relay = psutil.Process(server.pid)
    relay_cpu, own_cpu, started = _cpu(relay), time.process_time(), time.monotonic()
    mark = 0
    for start in range(0, records, per_batch):
        mark = sender.send([("my.app.bench", messages[: min(per_batch, records - start)])], timestamp=STAMP)
    deadline = started + ACK_DEADLINE_SECONDS
    while sender.acknowledged() < mark:
        if time.monotonic() > deadline:
            raise RuntimeError(f"mark {mark} not acknowledged within {ACK_DEADLINE_SECONDS:.0f} s")
        time.sleep(0.001)
    elapsed = time.monotonic() - started
    own_us, relay_us = (time.process_time() - own_cpu) * 1e6 / records, (_cpu(relay) - relay_cpu) * 1e6 / records
    result = (records / elapsed, own_us, relay_us)
    sender.close()
    os.truncate(server.received_path, 0)  # rsyslogd appends at the new end
    return result


def _cpu(process: psutil.Process) -> float:
    times = process.cpu_times()
    return float(times.user + times.system)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=200_000)
    parser.add_argument("--windows", default="128,1024,4096")
    parser.add_argument("--sizes", default="200,1400", help="record sizes in bytes")
    parser.add_argument("--repeat", type=int, default=3, help="runs per case; the median is shown")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-relp-") as directory:
        pki = make_pki(Path(directory) / "pki")
        with RelpRsyslog(pki, directory=Path(directory) / "rsyslog") as server:
            print("| transport | record bytes | window | records/s | sender CPU us/record | rsyslogd CPU us/record |")
            print("|---|---|---|---|---|---|")
            for tls in (False, True):
                for size in map(int, args.sizes.split(",")):
                    for window in map(int, args.windows.split(",")):
                        runs = [
                            run_once(server, pki, tls=tls, window=window, size=size, records=args.records)
                            for _ in range(args.repeat)
                        ]
                        rate, own, relay = (statistics.median(values) for values in zip(*runs, strict=True))
                        transport = "relp+tls" if tls else "relp"
                        print(f"| {transport} | {size} | {window} | {rate:,.0f} | {own:.1f} | {relay:.1f} |")


if __name__ == "__main__":
    main()
