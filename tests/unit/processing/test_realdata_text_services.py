"""Predefined text services on genuine files, through `devo-sqs parse`: Cisco Umbrella CSV, Imperva CEF,
Palo Alto CSV lines, Linux syslog."""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import pytest

from tests.support.realdata import needs_realdata, realdata
from tests.unit.processing.parse_runs import config_file, parse

pytestmark = needs_realdata

UMBRELLA = "cisco_umbrella/elastic-integrations_test-umbrella-{}.csv"


def lines_of(relative: str) -> list[str]:
    return [line for line in realdata(relative).read_text().splitlines() if line]


def test_umbrella_dns_logs_are_sent_line_by_line_to_the_dns_tag(capsysbinary: pytest.CaptureFixture[bytes]) -> None:
    path = realdata(UMBRELLA.format("dnslogs"))
    result = parse(capsysbinary, "--service", "aws_sqs_cisco_umbrella", path)
    assert result.code == 0
    assert result.tags == Counter({"sig.cisco.umbrella.dns": 15})
    assert result.messages == lines_of(UMBRELLA.format("dnslogs"))


def test_umbrella_dns_fields_are_named_even_in_legacy_rows_with_spaces_after_commas(
    tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    config = config_file(
        tmp_path,
        {
            "aws_sqs_cisco_umbrella": {
                "record_field_mapping": {
                    "action": {"keys": ["action"]},
                    "qtype": {"keys": ["query_type"]},
                    "identities": {"keys": ["identities"]},
                },
                "routing_template": "sig.cisco.umbrella.[record-action].[record-qtype].[record-identities]",
            }
        },
    )
    result = parse(
        capsysbinary, "--config", config, "--service", "aws_sqs_cisco_umbrella", realdata(UMBRELLA.format("dnslogs"))
    )
    assert result.code == 0
    assert Counter(tag.rsplit(".", 1)[0] for tag in result.tags.elements()) == Counter(
        {
            "sig.cisco.umbrella.Allowed.1__A_": 12,
            "sig.cisco.umbrella.Allowed.28__AAAA_": 1,
            "sig.cisco.umbrella.Blocked.1__A_": 2,
        }
    )
    tags = [tag for tag, _ in result.records]
    assert tags[0] == "sig.cisco.umbrella.Allowed.1__A_.elasticuser_Elastic_Machine"  # a comma inside quotes
    assert tags[8] == "sig.cisco.umbrella.Allowed.1__A_.ActiveDirectoryUserName_ADSite_Network"  # a 2015 row


@pytest.mark.parametrize(("kind", "records"), [("proxylogs", 9), ("iplogs", 2), ("cloudfirewalllogs", 4)])
def test_other_umbrella_logs_read_with_the_same_processor_under_their_own_tag(
    kind: str, records: int, tmp_path: Path, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    name = kind.removesuffix("logs")
    services = {
        "aws_sqs_cisco_umbrella": {
            "key_pattern": f"{kind}/",
            "file_format": {"type": "text_file_processor", "config": {"field_names": []}},
            "record_field_mapping": {"second": {"keys": ["field_2"]}},
            "routing_template": f"sig.cisco.umbrella.{name}.[record-second]",
        }
    }
    path = realdata(UMBRELLA.format(kind))
    result = parse(
        capsysbinary, "--config", config_file(tmp_path, services), "--service", "aws_sqs_cisco_umbrella", path
    )
    assert result.code == 0
    assert sorted(result.messages) == sorted(lines_of(UMBRELLA.format(kind)))  # grouped by tag within a run
    assert len(result.records) == records
    second = {"proxylogs": "TheComputerName", "iplogs": "elasticuser", "cloudfirewalllogs": "_211039844_"}[kind]
    assert result.records[0][0] == f"sig.cisco.umbrella.{name}.{second}"


IMPERVA = "imperva_incapsula_cef/elastic-integrations_imperva_cloud_waf_test-events.log"


def test_imperva_files_send_only_the_cef_lines_after_their_header_block(
    capsysbinary: pytest.CaptureFixture[bytes],
) -> None:
    result = parse(capsysbinary, "--service", "aws_sqs_incapsula", realdata(IMPERVA))
    assert result.code == 0
    assert result.tags == Counter({"cef0.imperva.incapsula": 1})
    [cef] = result.messages
    assert cef == lines_of(IMPERVA)[7]
    assert cef.startswith("CEF:0|Incapsula|SIEMintegration|1|1|Normal|0| sourceServiceName=site123.abcd.info ")
    assert cef.endswith('charset\\=UTF-8"}]')


@pytest.mark.parametrize(
    ("relative", "key", "tag", "records"),
    [
        (
            "paloalto_panos/elastic-integrations_test-panw-panos-traffic-sample_EXCERPT.log",
            "traffic/2018/11/30/PA-220.log",
            "firewall.paloalto.traffic",
            11,
        ),
        (
            "paloalto_panos/elastic-integrations_test-panw-panos-threat-sample_EXCERPT.log",
            "threat/2018/11/30/PA-220.log",
            "firewall.paloalto.threat",
            2,
        ),
        (
            "paloalto_panos/elastic-integrations_test-panw-panos-threat-url-no-xff-sample.log",
            "threat/2018/11/30/PA-220-url.log",
            "firewall.paloalto.threat",
            1,
        ),
        ("linux_syslog/elastic-integrations_test-secure-rhel7.log", "unix/secure/slave22.log", "box.unix.secure.us", 7),
        ("linux_syslog/elastic-integrations_test-systemd.log", "unix/syslog/hostname.log", "box.unix.syslog.us", 4),
    ],
)
def test_line_services_send_each_line_under_the_tag_their_key_names(
    relative: str, key: str, tag: str, records: int, capsysbinary: pytest.CaptureFixture[bytes]
) -> None:
    service = "aws_sqs_palo_alto" if relative.startswith("paloalto") else "aws_sqs_os"
    result = parse(capsysbinary, "--service", service, "--key", key, realdata(relative))
    assert result.code == 0
    assert result.tags == Counter({tag: records})
    assert result.messages == lines_of(relative)
