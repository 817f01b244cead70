"""Credentials: static keys, and assumed roles (base role, then cross-account role with an external id)
through a real STS endpoint (moto server)."""

from __future__ import annotations

from devo_sqs.config.loader import parse_config
from devo_sqs.config.models import SqsInput
from devo_sqs.demo.local_aws import LocalAws
from devo_sqs.ingest.aws import client, make_session

ROLE_BASE = "arn:aws:iam::111111111111:role/devo-base"
ROLE_CROSS = "arn:aws:iam::123456789012:role/devo-reader"  # moto keeps state per account


def spec(moto: LocalAws, credentials: dict[str, str]) -> SqsInput:
    queue = moto.make_bucket_to_queue("logs", "q")
    document = {
        "inputs": {
            "sqs_collector": {
                "id": 1,
                "base_url": queue.queue_url,
                "endpoint_url": moto.url,
                "credentials": credentials,
                "services": {"aws_sqs_vpc": {}},
            }
        }
    }
    return parse_config(document).inputs.sqs_collector


def test_static_keys_are_used_as_given(moto: LocalAws) -> None:
    session = make_session(spec(moto, {"aws_access_key_id": "AKIASTATIC", "aws_secret_access_key": "s"}))
    assert session.get_credentials().access_key == "AKIASTATIC"


def test_roles_are_assumed_in_turn_and_the_temporary_credentials_reach_s3_and_sqs(moto: LocalAws) -> None:
    settings = spec(
        moto,
        {
            "aws_access_key_id": "AKIASTATIC",
            "aws_secret_access_key": "s",
            "aws_base_account_role": ROLE_BASE,
            "aws_cross_account_role": ROLE_CROSS,
            "aws_external_id": "ext-123",
        },
    )
    session = make_session(settings)
    credentials = session.get_credentials().get_frozen_credentials()
    assert credentials.access_key.startswith("ASIA") and credentials.token
    identity = client(session, "sts", settings).get_caller_identity()
    assert identity["Arn"].startswith("arn:aws:sts::123456789012:assumed-role/devo-reader/devo-sqs")
    assert client(session, "s3", settings).list_objects_v2(Bucket="logs")["KeyCount"] == 0
    assert client(session, "sqs", settings).get_queue_url(QueueName="q")["QueueUrl"] == settings.base_url
