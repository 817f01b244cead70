"""Fixtures for the real test endpoints in tests/support: syslog receivers, rsyslogd, moto, certificates."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING

import pytest

from tests.support.certs import Pki, make_pki
from tests.support.realdata import MISSING, SKIP_REASON
from tests.support.rsyslog import Rsyslog, find_rsyslogd
from tests.support.rsyslog_relp import REQUIRE_VARIABLE, RelpRsyslog, imrelp_missing
from tests.support.syslog_receiver import ServerTls, SyslogReceiver

if TYPE_CHECKING:
    from devo_sqs.demo.local_aws import LocalAws


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter) -> None:
    """Say loudly how many tests were skipped for want of the genuine samples."""
    wanting = [report for report in terminalreporter.stats.get("skipped", []) if MISSING in str(report.longrepr)]
    if wanting:
        terminalreporter.write_sep("!", f"{len(wanting)} tests SKIPPED: {SKIP_REASON}", red=True, bold=True)


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    """CA, server, client and rogue-client certificates, made once per session."""
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture(scope="session")
def moto_endpoint() -> Iterator[LocalAws]:
    """One moto server for the whole session (imported here: unit tests need not pay for moto)."""
    from devo_sqs.demo.local_aws import LocalAws

    endpoint = LocalAws().start()
    try:
        yield endpoint
    finally:
        endpoint.stop()


@pytest.fixture
def moto(moto_endpoint: LocalAws) -> Iterator[LocalAws]:
    """The session's moto server, emptied before the test."""
    moto_endpoint.reset()
    yield moto_endpoint


@pytest.fixture
def syslog_receiver() -> Iterator[SyslogReceiver]:
    """A plain TCP syslog receiver on an ephemeral port."""
    with SyslogReceiver() as receiver:
        yield receiver


@pytest.fixture
def tls_syslog_receiver(pki: Pki) -> Iterator[SyslogReceiver]:
    """A TLS syslog receiver requiring a client certificate signed by the session CA."""
    with SyslogReceiver(tls=ServerTls.from_pki(pki)) as receiver:
        yield receiver


@pytest.fixture
def rsyslog(pki: Pki, tmp_path: Path) -> Iterator[Rsyslog]:
    """A private rsyslogd with plain TCP and mutual TLS inputs; skips when rsyslogd is not installed.

    Its config, logs and received messages stay in the test's tmp_path/rsyslog.
    """
    rsyslogd = find_rsyslogd()
    if rsyslogd is None:
        pytest.skip("rsyslogd not found on PATH or in /usr/sbin (apt-get install rsyslog rsyslog-gnutls)")
    with Rsyslog(pki, directory=tmp_path / "rsyslog", rsyslogd=rsyslogd) as server:
        yield server


@pytest.fixture(scope="session")
def rsyslogd_with_imrelp() -> str:
    """The rsyslogd binary, checked to load imrelp. Skips without it, but fails where DEVO_SQS_REQUIRE_RELP is
    set (.ci/run sets it): there a missing rsyslog-relp must not pass as skipped RELP tests."""
    rsyslogd = find_rsyslogd()
    missing = imrelp_missing(rsyslogd)
    if missing is None and rsyslogd is not None:
        return rsyslogd
    if os.environ.get(REQUIRE_VARIABLE):
        pytest.fail(f"{REQUIRE_VARIABLE} is set but {missing}")
    pytest.skip(missing or "rsyslogd not found")


@pytest.fixture
def relp_rsyslog(pki: Pki, tmp_path: Path, rsyslogd_with_imrelp: str) -> Iterator[RelpRsyslog]:
    """A private rsyslogd with imrelp (plain `port`, mutual TLS `tls_port`) that a test may kill -9 and start again
    on the same ports; its config, logs and received.log stay in the test's tmp_path/rsyslog-relp."""
    with RelpRsyslog(pki, directory=tmp_path / "rsyslog-relp", rsyslogd=rsyslogd_with_imrelp) as server:
        yield server
