"""docs/aws-setup.md cannot drift from the code: every JSON block parses, every policy is a 2012-10-17 policy,
the collector's identity policies allow every AWS call devo_sqs/ingest makes and the backfill policy every call
devo_sqs/backfill makes (found by reading the code, mapped to IAM actions through botocore's service models), the
trust policy demands the external id, and every `file://` the commands use is a document of the page or a file
the commands write."""

from __future__ import annotations

import json
import re
from typing import Any

import botocore.session
from botocore import xform_name

from devo_sqs.config.loader import yaml_load
from devo_sqs.config.models import Credentials
from tests.support.dockerfile import ROOT

DOC = (ROOT / "docs" / "aws-setup.md").read_text()
BLOCK = re.compile(r"^([^\n]*)\n\n```json\n(.*?)\n```$", re.MULTILINE | re.DOTALL)
BLOCKS = [(match.group(1), json.loads(match.group(2))) for match in BLOCK.finditer(DOC)]


def named_documents() -> dict[str, Any]:
    """Each JSON block under the file name its introducing line ends with (`name.json`:)."""
    documents: dict[str, Any] = {}
    for label, document in BLOCKS:
        [name] = re.findall(r"`([\w.-]+\.json)`:$", label) or [f"unnamed: {label}"]
        assert name not in documents, name
        documents[name] = document
    return documents


DOCUMENTS = named_documents()
POLICIES = {name: document for name, document in DOCUMENTS.items() if "Statement" in document}


def statements(policy: dict[str, Any]) -> list[dict[str, Any]]:
    return list(policy["Statement"])


def actions(statement: dict[str, Any]) -> set[str]:
    action = statement["Action"]
    return {action} if isinstance(action, str) else set(action)


def calls_in_ingest() -> set[tuple[str, str]]:
    return calls_in("ingest")


def calls_in(package: str) -> set[tuple[str, str]]:
    """(service, operation) of every boto3 client method devo_sqs/<package> calls."""
    session = botocore.session.get_session()
    operations = {
        (xform_name(operation), service, operation)
        for service in ("sqs", "s3", "sts")
        for operation in session.get_service_model(service).operation_names
    }
    called = {
        name
        for path in (ROOT / "devo_sqs" / package).rglob("*.py")
        for name in re.findall(r"\.(\w+)\(", path.read_text())
    }
    return {(service, operation) for method, service, operation in operations if method in called}


S3_ACTIONS = {"ListObjectsV2": "ListBucket"}  # S3 operations authorized by an action of another name


def iam_actions(calls: set[tuple[str, str]]) -> set[str]:
    """SQS authorizes its batch calls with the single-message action (DeleteMessageBatch -> sqs:DeleteMessage)."""
    return {
        f"{service}:{operation.removesuffix('Batch') if service == 'sqs' else S3_ACTIONS.get(operation, operation)}"
        for service, operation in calls
    }


def test_every_json_block_parses_and_has_a_file_name() -> None:
    assert len(BLOCKS) == DOC.count("```json") == 12
    assert sorted(DOCUMENTS) == [
        "assume-role-policy.json",
        "backfill-policy.json",
        "collector-policy.json",
        "eventbridge-pattern.json",
        "notification-sns.json",
        "notification.json",
        "queue-policy-eventbridge.json",
        "queue-policy-sns.json",
        "queue-policy.json",
        "redrive-policy.json",
        "topic-policy.json",
        "trust-policy.json",
    ]


def test_every_policy_is_a_2012_10_17_policy_of_allow_statements() -> None:
    assert len(POLICIES) == 8
    for name, policy in POLICIES.items():
        assert policy["Version"] == "2012-10-17", name
        assert all(statement["Effect"] == "Allow" for statement in statements(policy)), name


def test_the_code_makes_exactly_the_calls_the_page_explains() -> None:
    assert calls_in_ingest() == {
        ("sqs", "ReceiveMessage"),
        ("sqs", "DeleteMessageBatch"),
        ("sqs", "ChangeMessageVisibilityBatch"),
        ("sqs", "GetQueueAttributes"),
        ("s3", "GetObject"),
        ("sts", "AssumeRole"),
    }


def test_the_collector_identity_policies_allow_every_call_the_code_makes() -> None:
    identity = [
        statement for policy in POLICIES.values() for statement in statements(policy) if "Principal" not in statement
    ]
    allowed = set().union(*(actions(statement) for statement in identity))
    assert iam_actions(calls_in_ingest()) <= allowed
    assert [action for action in allowed if "*" in action] == []  # least privilege: no wildcards


def test_the_collector_policy_alone_covers_the_queue_the_objects_and_kms_and_nothing_more() -> None:
    collector = POLICIES["collector-policy.json"]
    allowed = set().union(*(actions(statement) for statement in statements(collector)))
    needed = {action for action in iam_actions(calls_in_ingest()) if not action.startswith("sts:")}
    if "VersionId" in (ROOT / "devo_sqs" / "ingest" / "objects.py").read_text():
        needed.add("s3:GetObjectVersion")  # notifications from versioned buckets name the version to read
    assert needed == {
        "sqs:ReceiveMessage",
        "sqs:DeleteMessage",
        "sqs:ChangeMessageVisibility",
        "sqs:GetQueueAttributes",
        "s3:GetObject",
        "s3:GetObjectVersion",
    }
    assert allowed - needed == {"kms:Decrypt", "s3:ListBucket"}  # SSE-KMS; NoSuchKey rather than AccessDenied
    assert needed <= allowed


def test_the_backfill_lists_the_bucket_and_sends_to_the_queue_and_its_policy_allows_exactly_that() -> None:
    calls = calls_in("backfill")
    assert calls == {("s3", "ListObjectsV2"), ("sqs", "SendMessageBatch")}
    backfill = POLICIES["backfill-policy.json"]
    allowed = set().union(*(actions(statement) for statement in statements(backfill)))
    assert allowed == iam_actions(calls) == {"s3:ListBucket", "sqs:SendMessage"}


def test_the_cross_account_trust_policy_demands_the_external_id() -> None:
    [statement] = statements(POLICIES["trust-policy.json"])
    assert actions(statement) == {"sts:AssumeRole"}
    assert set(statement["Principal"]) == {"AWS"}
    assert statement["Condition"]["StringEquals"]["sts:ExternalId"] == "REPLACE-WITH-A-LONG-RANDOM-EXTERNAL-ID"
    [assume] = statements(POLICIES["assume-role-policy.json"])
    assert assume["Resource"] == "arn:aws:iam::111122223333:role/devo-sqs-reader"


def test_resource_policies_admit_aws_services_only_from_the_named_source() -> None:
    services = [
        (name, statement)
        for name, policy in POLICIES.items()
        for statement in statements(policy)
        if "Service" in statement.get("Principal", {})
    ]
    assert sorted(name for name, _ in services) == [
        "queue-policy-eventbridge.json",
        "queue-policy-sns.json",
        "queue-policy.json",
        "topic-policy.json",
    ]
    for name, statement in services:
        conditions = {key for operator in statement["Condition"].values() for key in operator}
        assert "aws:SourceArn" in conditions, name
        if statement["Principal"]["Service"] == "s3.amazonaws.com":
            assert "aws:SourceAccount" in conditions, name


def test_notifications_announce_created_objects_with_prefix_and_suffix_filters() -> None:
    for name, key in (("notification.json", "QueueConfigurations"), ("notification-sns.json", "TopicConfigurations")):
        for entry in DOCUMENTS[name][key]:
            assert entry["Events"] == ["s3:ObjectCreated:*"]
            rules = {rule["Name"] for rule in entry["Filter"]["Key"]["FilterRules"]}
            assert rules == {"prefix", "suffix"}
    assert DOCUMENTS["redrive-policy.json"]["maxReceiveCount"] == "10"


def test_the_commands_use_every_document_of_the_page_and_only_those_or_files_they_write() -> None:
    [commands] = re.findall(r"```sh\n(.*?)\n```", DOC, re.DOTALL)
    read = set(re.findall(r"file://([\w.-]+)", commands)) | set(re.findall(r"jq '[^']*' ([\w.-]+\.json)", commands))
    written = set(re.findall(r"> ([\w.-]+\.json)", commands))
    assert written == {"redrive-attributes.json", "policy-attributes.json"}
    assert read - written == set(DOCUMENTS)


def test_the_configuration_snippet_is_valid_credentials() -> None:
    [snippet] = re.findall(r"```yaml\n(.*?)\n```", DOC, re.DOTALL)
    credentials = Credentials.model_validate(yaml_load(snippet)["inputs"]["sqs_collector"]["credentials"])
    assert credentials.aws_cross_account_role == "arn:aws:iam::111122223333:role/devo-sqs-reader"
    [trust] = statements(POLICIES["trust-policy.json"])
    assert credentials.aws_external_id is not None
    assert credentials.aws_external_id.get_secret_value() == trust["Condition"]["StringEquals"]["sts:ExternalId"]
