"""Realistic AWS log data for the benchmark: CloudTrail records with their real nesting and type changes, VPC flow
and ALB lines, CloudWatch Logs payloads and EventBridge-wrapped CloudTrail as Firehose writes them, VPC parquet.

Every generator is seeded, so two runs read the same bytes.
"""

from __future__ import annotations

import itertools
import random
import time
import uuid
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import Any

import orjson
import pyarrow as pa
import pyarrow.parquet as pq
from isal import igzip

from tests.support.vpc_parquet import PARQUET_SCHEMA  # the benchmark runs with the repository root on sys.path

MB = 1_000_000

ACCOUNTS = ("111122223333", "444455556666", "777788889999")
REGIONS = ("us-east-1", "eu-west-1", "ap-southeast-2")
AGENTS = (
    "aws-cli/2.15.10 Python/3.11.6 Linux/6.1.66-91.160.amzn2023.x86_64 exe/x86_64.amzn.2023 prompt/off command/ec2",
    "Boto3/1.34.21 md/Botocore#1.34.21 ua/2.0 os/linux#5.10.205 md/arch#x86_64 lang/python#3.11.6 cfg/retry-mode#std",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/120.0.0.0 Safari/537.36",
    "lambda.amazonaws.com",
)


def _identity(rng: random.Random, account: str) -> dict[str, Any]:
    kind = rng.random()
    if kind < 0.6:
        role = rng.choice(("OrdersApiRole", "DataPipelineRole", "AWSReservedSSO_AdministratorAccess_0123456789abcdef"))
        session = f"session-{rng.randrange(10**6)}"
        return {
            "type": "AssumedRole",
            "principalId": f"AROA{rng.randrange(16**12):012X}:{session}",
            "arn": f"arn:aws:sts::{account}:assumed-role/{role}/{session}",
            "accountId": account,
            "accessKeyId": f"ASIA{rng.randrange(16**16):016X}",
            "sessionContext": {
                "sessionIssuer": {
                    "type": "Role",
                    "principalId": f"AROA{rng.randrange(16**12):012X}",
                    "arn": f"arn:aws:iam::{account}:role/{role}",
                    "accountId": account,
                    "userName": role,
                },
                "webIdFederationData": {},
                "attributes": {"creationDate": "2024-01-16T11:02:37Z", "mfaAuthenticated": "false"},
            },
        }
    if kind < 0.85:
        user = rng.choice(("alice", "bob", "ci-deployer", "terraform"))
        return {
            "type": "IAMUser",
            "principalId": f"AIDA{rng.randrange(16**12):012X}",
            "arn": f"arn:aws:iam::{account}:user/{user}",
            "accountId": account,
            "accessKeyId": f"AKIA{rng.randrange(16**16):016X}",
            "userName": user,
        }
    return {"type": "AWSService", "invokedBy": rng.choice(("lambda.amazonaws.com", "autoscaling.amazonaws.com"))}


def _call(rng: random.Random, account: str, region: str) -> dict[str, Any]:
    """eventSource, eventName and what those calls carry (field types change between records, as they do)."""
    kind = rng.randrange(6)
    if kind == 0:
        bucket, key = f"orders-{account}", f"exports/2024/01/16/part-{rng.randrange(10**5):05d}.json.gz"
        return {
            "eventSource": "s3.amazonaws.com",
            "eventName": rng.choice(("GetObject", "PutObject", "HeadObject")),
            "requestParameters": {"bucketName": bucket, "Host": f"{bucket}.s3.{region}.amazonaws.com", "key": key},
            "responseElements": None,
            "additionalEventData": {
                "SignatureVersion": "SigV4",
                "CipherSuite": "ECDHE-RSA-AES128-GCM-SHA256",
                "bytesTransferredIn": 0,
                "AuthenticationMethod": "AuthHeader",
                "x-amz-id-2": uuid.UUID(int=rng.getrandbits(128)).hex * 2,
                "bytesTransferredOut": rng.randrange(10**7),
            },
            "resources": [
                {"type": "AWS::S3::Object", "ARN": f"arn:aws:s3:::{bucket}/{key}"},
                {"accountId": account, "type": "AWS::S3::Bucket", "ARN": f"arn:aws:s3:::{bucket}"},
            ],
            "readOnly": True,
            "eventCategory": "Data",
            "managementEvent": False,
        }
    if kind == 1:
        key_id = uuid.UUID(int=rng.getrandbits(128))
        return {
            "eventSource": "kms.amazonaws.com",
            "eventName": "Decrypt",
            "requestParameters": {
                "encryptionAlgorithm": "SYMMETRIC_DEFAULT",
                "encryptionContext": {"aws:lambda:FunctionArn": f"arn:aws:lambda:{region}:{account}:function:orders"},
            },
            "responseElements": None,
            "resources": [
                {"accountId": account, "type": "AWS::KMS::Key", "ARN": f"arn:aws:kms:{region}:{account}:key/{key_id}"}
            ],
            "readOnly": True,
            "eventCategory": "Management",
            "managementEvent": True,
        }
    if kind == 2:
        return {
            "eventSource": "sts.amazonaws.com",
            "eventName": "AssumeRole",
            "requestParameters": {
                "roleArn": f"arn:aws:iam::{account}:role/DataPipelineRole",
                "roleSessionName": f"pipeline-{rng.randrange(10**6)}",
                "durationSeconds": rng.choice((900, 3600, "3600")),
            },
            "responseElements": {
                "credentials": {
                    "accessKeyId": f"ASIA{rng.randrange(16**16):016X}",
                    "sessionToken": "IQoJb3JpZ2luX2VjE" + uuid.UUID(int=rng.getrandbits(128)).hex * 3,
                    "expiration": "Jan 16, 2024, 1:47:04 PM",
                },
                "assumedRoleUser": {
                    "assumedRoleId": f"AROA{rng.randrange(16**12):012X}:pipeline",
                    "arn": f"arn:aws:sts::{account}:assumed-role/DataPipelineRole/pipeline",
                },
            },
            "readOnly": True,
            "eventCategory": "Management",
            "managementEvent": True,
        }
    if kind == 3:
        failed = rng.random() < 0.3
        call = {
            "eventSource": "iam.amazonaws.com",
            "eventName": rng.choice(("CreateUser", "AttachRolePolicy", "PutRolePolicy")),
            "requestParameters": {"userName": f"svc-{rng.randrange(1000)}", "path": "/service/"},
            "responseElements": None if failed else {"user": {"userId": f"AIDA{rng.randrange(16**12):012X}"}},
            "readOnly": False,
            "eventCategory": "Management",
            "managementEvent": True,
        }
        if failed:
            call["errorCode"] = "AccessDenied"
            call["errorMessage"] = f"User: arn:aws:iam::{account}:user/ci-deployer is not authorized to perform this"
        return call
    instances = [{"instanceId": f"i-{rng.randrange(16**17):017x}"} for _ in range(rng.randrange(1, 4))]
    return {
        "eventSource": "ec2.amazonaws.com",
        "eventName": rng.choice(("DescribeInstances", "DescribeSecurityGroups", "StartInstances")),
        "requestParameters": {
            "instancesSet": {"items": instances},
            "filterSet": {"items": [{"name": "instance-state-name", "valueSet": {"items": [{"value": "running"}]}}]},
        },
        "responseElements": None,
        "readOnly": True,
        "eventCategory": "Management",
        "managementEvent": True,
    }


def cloudtrail_record(rng: random.Random, n: int) -> dict[str, Any]:
    """A CloudTrail record (~1.4 KB as compact JSON) with the nesting and type changes real ones have."""
    account, region = rng.choice(ACCOUNTS), rng.choice(REGIONS)
    second = 1705406400 + n // 50
    record: dict[str, Any] = {
        "eventVersion": "1.09",
        "userIdentity": _identity(rng, account),
        "eventTime": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime(second)),
        "awsRegion": region,
        "sourceIPAddress": f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}",
        "userAgent": rng.choice(AGENTS),
        **_call(rng, account, region),
        "requestID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventID": str(uuid.UUID(int=rng.getrandbits(128))),
        "eventType": "AwsApiCall",
        "recipientAccountId": account,
        "tlsDetails": {
            "tlsVersion": "TLSv1.3",
            "cipherSuite": "TLS_AES_128_GCM_SHA256",
            "clientProvidedHostHeader": f"{region}.amazonaws.com",
        },
    }
    return record


VPC_HEADER = b"version account-id interface-id srcaddr dstaddr srcport dstport protocol packets bytes start end action "
VPC_HEADER += b"log-status"


_POOL = random.Random(0)
ENIS = [f"eni-{_POOL.randrange(16**17):017x}" for _ in range(300)]
PRIVATE = [f"10.{_POOL.randrange(4)}.{_POOL.randrange(256)}.{_POOL.randrange(256)}" for _ in range(2000)]
PUBLIC = [".".join(str(_POOL.randrange(1, 224)) for _ in range(4)) for _ in range(5000)]


def vpc_line(rng: random.Random, n: int) -> bytes:
    """A default-format (v2) flow record: one account, a few hundred interfaces, busy addresses recurring."""
    start = 1705406400 + n // 200
    src, dst = rng.choice(PRIVATE), rng.choice(PUBLIC if rng.random() < 0.7 else PRIVATE)
    if rng.random() < 0.5:
        src, dst = dst, src
    return (
        f"2 111122223333 {rng.choice(ENIS)} {src} {dst} {rng.randrange(1024, 65536)} "
        f"{rng.choice((443, 80, 53, 5432, 22))} {rng.choice((6, 6, 17))} {rng.randrange(1, 500)} "
        f"{rng.randrange(40, 10**6)} {start} {start + rng.randrange(1, 60)} "
        f"{rng.choice(('ACCEPT', 'ACCEPT', 'REJECT'))} OK"
    ).encode()


def alb_line(rng: random.Random, n: int) -> bytes:
    second = 1705406400 + n // 100
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(second)) + f".{rng.randrange(10**6):06d}Z"
    path = rng.choice(("/api/orders", "/api/orders/123/items", "/health", "/static/app.js", "/login"))
    status = rng.choice((200, 200, 200, 201, 301, 404, 502))
    return (
        f"{rng.choice(('https', 'h2', 'http'))} {stamp} app/orders-prod/50dc6c495c0c9188 "
        f"{rng.randrange(1, 224)}.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}:"
        f"{rng.randrange(1024, 65536)} "
        f"10.0.{rng.randrange(4)}.{rng.randrange(256)}:8080 0.000 {rng.random():.3f} 0.000 {status} {status} "
        f"{rng.randrange(100, 3000)} {rng.randrange(100, 50000)} "
        f'"GET https://orders.example.com:443{path}?page={rng.randrange(50)} HTTP/2.0" "{rng.choice(AGENTS)}" '
        "ECDHE-RSA-AES128-GCM-SHA256 TLSv1.2 "
        "arn:aws:elasticloadbalancing:us-east-1:111122223333:targetgroup/orders-tg/73e2d6bc24d8a067 "
        f'"Root=1-65a6a3c0-{rng.randrange(16**24):024x}" "orders.example.com" '
        '"arn:aws:acm:us-east-1:111122223333:certificate/12345678-1234-1234-1234-123456789012" 0 '
        f'{stamp} "forward" "-" "-" "10.0.{rng.randrange(4)}.{rng.randrange(256)}:8080" "{status}" "-" "-" '
        f"TID_{rng.randrange(16**32):032x}"
    ).encode()


def lambda_message(rng: random.Random, n: int) -> str:
    request = uuid.UUID(int=rng.getrandbits(128))
    stamp = time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(1705406400 + n // 100)) + ".044Z"
    kind = n % 4
    if kind == 0:
        return f"START RequestId: {request} Version: $LATEST\n"
    if kind == 3:
        return (
            f"REPORT RequestId: {request}\tDuration: {rng.random() * 100:.2f} ms\tBilled Duration: "
            f"{rng.randrange(1, 100)} ms\tMemory Size: 256 MB\tMax Memory Used: {rng.randrange(60, 200)} MB\t\n"
        )
    return (
        f"{stamp}\t{request}\tINFO\tprocessed order id={rng.randrange(10**8)} items={rng.randrange(1, 9)} "
        f"total={rng.random() * 300:.2f} customer=c-{rng.randrange(10**6)} duration_ms={rng.random() * 50:.1f}\n"
    )


# --- files as AWS writes them ------------------------------------------------------------------------------------


def write_gzip(path: Path, parts: Iterable[bytes]) -> int:
    """Stream `parts` into a gzip file; returns the decompressed size."""
    size = 0
    with igzip.open(path, "wb", compresslevel=1) as out:
        for part in parts:
            out.write(part)
            size += len(part)
    return size


def lines_up_to(make: Callable[[random.Random, int], bytes], size: int, *, seed: int) -> Iterator[bytes]:
    """Blocks of newline-terminated lines, about `size` bytes in all."""
    rng = random.Random(seed)
    written, n = 0, 0
    while written < size:
        block = b"\n".join(make(rng, n + i) for i in range(2000)) + b"\n"
        n += 2000
        written += len(block)
        yield block


def ndjson_line(rng: random.Random, n: int) -> bytes:
    return orjson.dumps(cloudtrail_record(rng, n))


def make_cloudtrail_files(directory: Path, files: int, per_file: int) -> list[Path]:
    rng = random.Random(2)
    paths = []
    for index in range(files):
        path = directory / f"111122223333_CloudTrail_us-east-1_20240116T1200Z_{index:04d}.json.gz"
        records = [cloudtrail_record(rng, index * per_file + n) for n in range(per_file)]
        write_gzip(path, [orjson.dumps({"Records": records})])
        paths.append(path)
    return paths


def cloudwatch_payloads(size: int) -> Iterator[bytes]:
    """CloudWatch Logs subscription payloads, each its own gzip member, as Firehose writes them to S3."""
    rng = random.Random(3)
    written, n = 0, 0
    groups = ("/aws/lambda/orders-api", "/aws/lambda/billing", "/ecs/checkout")
    while written < size:
        events = [
            {"id": str(37 * 10**50 + n + i), "timestamp": 1705406400000 + n + i, "message": lambda_message(rng, n + i)}
            for i in range(rng.randrange(20, 120))
        ]
        n += len(events)
        payload = orjson.dumps(
            {
                "messageType": "DATA_MESSAGE",
                "owner": rng.choice(ACCOUNTS),
                "logGroup": rng.choice(groups),
                "logStream": f"2024/01/16/[$LATEST]{rng.randrange(16**32):032x}",
                "subscriptionFilters": ["to-firehose"],
                "logEvents": events,
            }
        )
        written += len(payload)
        yield payload


def eventbridge_cloudtrail(size: int) -> Iterator[bytes]:
    """CloudTrail records wrapped by EventBridge, back to back with nothing between (Firehose to S3)."""
    rng = random.Random(4)
    written, n = 0, 0
    while written < size:
        parts = []
        for _ in range(500):
            record = cloudtrail_record(rng, n)
            n += 1
            parts.append(
                orjson.dumps(
                    {
                        "version": "0",
                        "id": str(uuid.UUID(int=rng.getrandbits(128))),
                        "detail-type": "AWS API Call via CloudTrail",
                        "source": "aws." + record["eventSource"].split(".")[0],
                        "account": record["recipientAccountId"],
                        "time": record["eventTime"],
                        "region": record["awsRegion"],
                        "resources": [],
                        "detail": record,
                    }
                )
            )
        block = b"".join(parts)
        written += len(block)
        yield block


def write_vpc_parquet(path: Path, rows: int) -> None:
    """VPC flow logs in parquet, named and typed as AWS writes them (gzip-compressed columns)."""
    rng = random.Random(5)
    schema = PARQUET_SCHEMA
    with pq.ParquetWriter(path, schema, compression="gzip") as writer:
        for first in range(0, rows, 100_000):
            fields = [line.split() for line in (vpc_line(rng, n) for n in range(first, min(rows, first + 100_000)))]
            columns = list(zip(*fields, strict=True))
            arrays = [
                pa.array([value.decode() if kind == pa.string() else int(value) for value in column], kind)
                for column, kind in zip(columns, schema.types, strict=True)
            ]
            writer.write_table(pa.Table.from_arrays(arrays, schema=schema))


def write_big_vpc(path: Path, size: int) -> int:
    """A VPC flow object of `size` decompressed bytes (a block of distinct lines, repeated); returns its records."""
    block = b"".join(lines_up_to(vpc_line, 8 * MB, seed=21))
    repeats = max(1, size // len(block))
    write_gzip(path, itertools.chain([VPC_HEADER + b"\n"], itertools.repeat(block, repeats)))
    return block.count(b"\n") * repeats


def ndjson_body(records: int, *, seed: int) -> tuple[bytes, int]:
    """A gzip NDJSON object and how many of its records pass the filter."""
    rng = random.Random(seed)
    lines = [ndjson_line(rng, n) for n in range(records)]
    kept = sum(1 for line in lines if b'"eventName":"Decrypt"' not in line)
    return igzip.compress(b"\n".join(lines) + b"\n", compresslevel=1), kept


# The custom service an operator would write for the NDJSON: two mapped fields, one filter rule, a record tag.
NDJSON_SERVICE: dict[str, Any] = {
    "file_format": {"type": "line_split_processor", "config": {"json": True}},
    "file_field_definitions": {"object": [{"operator": "split", "on": "/", "element": -1}]},
    "record_field_mapping": {
        "source": {"keys": ["eventSource"], "operations": [{"operator": "split", "on": ".", "element": 0}]},
        "event": {"keys": ["eventName"]},
    },
    "line_filter_rules": [[{"source": "record", "key": "event", "type": "match", "value": "Decrypt"}]],
    "routing_template": "cloud.aws.cloudtrail.[record-source]",
}
