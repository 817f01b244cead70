"""deploy/kubernetes agrees with the image and the code: the container runs the CLI's commands on the config
from the ConfigMap, mounts what the Dockerfile declares as volumes, keeps a volume per pod, gives the collector
time to drain, scales the workload it names on the queue the config reads, and holds no real secret."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import PurePosixPath
from typing import Any

import pytest
import yaml

from devo_sqs.cli import build_parser
from devo_sqs.collector import STOP_BUDGET_SECONDS
from devo_sqs.config.loader import parse_config, yaml_load
from devo_sqs.config.models import DevoOutput
from devo_sqs.ingest.concurrency import MAX_PER_RECEIVE
from tests.support.dockerfile import ROOT, console_scripts, env_pairs, final_stage, instructions, volumes

MANIFESTS = ROOT / "deploy" / "kubernetes"
IMAGE = final_stage(instructions((ROOT / "Dockerfile").read_text()))


def documents() -> Iterator[tuple[str, dict[str, Any]]]:
    for path in sorted(MANIFESTS.glob("*.yaml")):
        for document in yaml.safe_load_all(path.read_text()):
            if document is not None:
                yield path.name, document


DOCUMENTS = list(documents())


def one(kind: str) -> dict[str, Any]:
    [document] = [document for _, document in DOCUMENTS if document["kind"] == kind]
    return document


def named(kind: str, name: str) -> dict[str, Any]:
    [document] = [d for _, d in DOCUMENTS if d["kind"] == kind and d["metadata"]["name"] == name]
    return document


WORKLOAD = one("StatefulSet")
POD = WORKLOAD["spec"]["template"]["spec"]
[CONTAINER] = POD["containers"]
ENV = {variable["name"]: variable for variable in CONTAINER["env"]}
CONFIG_FILE = ENV["CONFIG_FILE"]["value"]
MOUNTS = {mount["name"]: mount for mount in CONTAINER["volumeMounts"]}
VOLUMES = {volume["name"]: volume for volume in POD["volumes"]}


def collector_config() -> Any:
    path = PurePosixPath(CONFIG_FILE)
    [config_mount] = [mount for mount in MOUNTS.values() if mount["mountPath"] == str(path.parent)]
    config_map = named("ConfigMap", VOLUMES[config_mount["name"]]["configMap"]["name"])
    return parse_config(yaml_load(config_map["data"][path.name]))


def test_the_manifests_hold_exactly_these_objects_and_kustomize_lists_every_file() -> None:
    assert [(file, document["kind"], document.get("metadata", {}).get("name")) for file, document in DOCUMENTS] == [
        ("configmap.yaml", "ConfigMap", "devo-sqs-config"),
        ("deployment.yaml", "Service", "devo-sqs"),
        ("deployment.yaml", "StatefulSet", "devo-sqs"),
        ("kustomization.yaml", "Kustomization", None),
        ("scaledobject.yaml", "TriggerAuthentication", "devo-sqs-aws"),
        ("scaledobject.yaml", "ScaledObject", "devo-sqs"),
        ("secret.yaml", "Secret", "devo-sqs-certs"),
        ("secret.yaml", "Secret", "devo-sqs-aws"),
    ]
    files = {path.name for path in MANIFESTS.glob("*.yaml")} - {"kustomization.yaml"}
    assert sorted(one("Kustomization")["resources"]) == sorted(files)


def test_the_container_runs_the_console_script_on_the_config_file_from_its_env() -> None:
    assert CONTAINER["command"] == ["devo-sqs"]
    assert "devo-sqs" in console_scripts()
    assert CONTAINER["args"] == ["run", "$(CONFIG_FILE)"]
    assert CONFIG_FILE == env_pairs(IMAGE)["CONFIG_FILE"] == "/devo-collector/config/config.yaml"
    args = build_parser().parse_args([CONTAINER["args"][0], CONFIG_FILE])
    assert (args.command, args.config) == ("run", CONFIG_FILE)


def test_the_liveness_probe_runs_the_health_command_on_the_same_config() -> None:
    probe = CONTAINER["livenessProbe"]
    command = probe["exec"]["command"]
    assert command == ["devo-sqs", "health", CONFIG_FILE]
    args = build_parser().parse_args(command[1:])
    assert (args.command, args.config, args.max_age_seconds) == ("health", CONFIG_FILE, 60.0)
    assert probe["periodSeconds"] * probe["failureThreshold"] >= args.max_age_seconds


def test_the_mounts_are_the_dockerfile_volumes_plus_a_scratch_tmp() -> None:
    paths = {name: mount["mountPath"] for name, mount in MOUNTS.items()}
    assert sorted(set(paths.values()) - {"/tmp"}) == sorted(volumes(IMAGE))
    assert paths == {
        "config": "/devo-collector/config",
        "certs": "/devo-collector/certs",
        "state": "/devo-collector/state",
        "tmp": "/tmp",
    }
    assert (MOUNTS["config"]["readOnly"], MOUNTS["certs"]["readOnly"]) == (True, True)
    assert VOLUMES["config"]["configMap"]["name"] == "devo-sqs-config"
    assert VOLUMES["certs"]["secret"]["secretName"] == "devo-sqs-certs"
    assert "emptyDir" in VOLUMES["tmp"]


def test_each_pod_gets_its_own_persistent_state_volume_that_outlives_scale_in() -> None:
    assert "state" not in VOLUMES
    [claim] = WORKLOAD["spec"]["volumeClaimTemplates"]
    assert claim["metadata"]["name"] == "state"
    assert claim["spec"]["accessModes"] == ["ReadWriteOnce"]
    assert WORKLOAD["spec"]["persistentVolumeClaimRetentionPolicy"] == {"whenScaled": "Retain", "whenDeleted": "Retain"}
    assert WORKLOAD["spec"]["serviceName"] == named("Service", "devo-sqs")["metadata"]["name"]
    assert named("Service", "devo-sqs")["spec"]["clusterIP"] == "None"


def test_the_pod_runs_as_the_image_user_and_can_write_its_state() -> None:
    user, _, group = [i for i in IMAGE if i.name == "USER"][-1].args.partition(":")
    context = POD["securityContext"]
    assert (context["runAsNonRoot"], context["runAsUser"], context["runAsGroup"]) == (True, int(user), int(group))
    assert context["fsGroup"] == int(group)


def test_the_config_map_holds_a_valid_config_whose_paths_are_on_the_mounts() -> None:
    config = collector_config()
    assert config.globals.persistence.config.directory_name == MOUNTS["state"]["mountPath"]
    [devo] = config.outputs.values()
    assert isinstance(devo, DevoOutput)
    certs = PurePosixPath(MOUNTS["certs"]["mountPath"])
    cert_files = [PurePosixPath(path) for path in (devo.chain, devo.cert, devo.key) if path]
    assert [path.parent for path in cert_files] == [certs] * 3
    assert sorted(path.name for path in cert_files) == sorted(named("Secret", "devo-sqs-certs")["stringData"])
    assert config.inputs.sqs_collector.credentials.aws_secret_access_key is None


def test_the_pod_has_time_to_drain_before_it_is_killed() -> None:
    assert STOP_BUDGET_SECONDS == 30  # input, then output, each killed at its deadline: the README's budget
    assert POD["terminationGracePeriodSeconds"] > STOP_BUDGET_SECONDS


def test_keda_scales_the_workload_on_the_queue_the_config_reads() -> None:
    scaled = one("ScaledObject")
    assert scaled["apiVersion"] == "keda.sh/v1alpha1"
    assert scaled["spec"]["scaleTargetRef"] == {
        "apiVersion": WORKLOAD["apiVersion"],
        "kind": WORKLOAD["kind"],
        "name": WORKLOAD["metadata"]["name"],
    }
    assert scaled["spec"]["minReplicaCount"] >= 1
    [trigger] = scaled["spec"]["triggers"]
    assert trigger["type"] == "aws-sqs-queue"
    spec = collector_config().inputs.sqs_collector
    assert trigger["metadata"]["queueURL"] == spec.base_url
    assert trigger["metadata"]["awsRegion"] == spec.queue_region == "eu-west-1"
    assert (spec.puller_threads, spec.sqs_max_messages) == (None, None)  # adaptive
    assert int(trigger["metadata"]["queueLength"]) >= MAX_PER_RECEIVE  # at least one receive's worth per pod
    scale_down = scaled["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert scale_down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]


def test_prometheus_finds_the_metrics_port_the_config_serves() -> None:
    port = collector_config().globals.metrics_port
    assert port == 9100
    assert CONTAINER["ports"] == [{"name": "metrics", "containerPort": port}]
    annotations = WORKLOAD["spec"]["template"]["metadata"]["annotations"]
    assert annotations == {
        "prometheus.io/scrape": "true",
        "prometheus.io/port": str(port),
        "prometheus.io/path": "/metrics",
    }
    service = named("Service", WORKLOAD["spec"]["serviceName"])
    assert service["spec"]["ports"] == [{"name": "metrics", "port": port, "targetPort": "metrics"}]


def test_keda_and_the_pod_read_the_aws_keys_from_the_secret_that_holds_them() -> None:
    authentication = named(
        "TriggerAuthentication", one("ScaledObject")["spec"]["triggers"][0]["authenticationRef"]["name"]
    )
    keys = named("Secret", "devo-sqs-aws")["stringData"]
    references = [(ref["parameter"], ref["name"], ref["key"]) for ref in authentication["spec"]["secretTargetRef"]]
    assert references == [
        ("awsAccessKeyID", "devo-sqs-aws", "AWS_ACCESS_KEY_ID"),
        ("awsSecretAccessKey", "devo-sqs-aws", "AWS_SECRET_ACCESS_KEY"),
    ]
    for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
        assert ENV[name]["valueFrom"]["secretKeyRef"] == {"name": "devo-sqs-aws", "key": name}
        assert name in keys


@pytest.mark.parametrize("name", ["devo-sqs-certs", "devo-sqs-aws"])
def test_secrets_hold_nothing_but_obvious_placeholders(name: str) -> None:
    secret = named("Secret", name)
    assert "data" not in secret  # base64 would hide what is in there
    for key, value in secret["stringData"].items():
        content = [line for line in value.splitlines() if not line.startswith("-----")]
        assert content and all(line.startswith("REPLACE_ME") for line in content), key
