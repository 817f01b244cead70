"""`devo-sqs validate CONFIG`: every problem at once, or the resolved services exactly as they will run."""

from __future__ import annotations

import sys

import yaml

from devo_sqs.config.loader import load_config
from devo_sqs.processing.services import ServiceRouter


def validate(path: str) -> int:
    config = load_config(path)
    spec = config.inputs.sqs_collector
    ServiceRouter.for_input(spec)
    resolved = {
        "outputs": {name: output.model_dump(mode="json") for name, output in config.outputs.items()},
        "inputs": {"sqs_collector": spec.model_dump(mode="json", by_alias=True)},
    }
    print(f"Configuration {path} is valid. Resolved (predefined definitions merged, defaults filled in):")
    yaml.safe_dump(resolved, sys.stdout, sort_keys=False, default_flow_style=False, width=120)
    return 0
