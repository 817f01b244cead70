"""`devo-sqs validate [CONFIG]`: every problem at once, or the resolved services exactly as they will run."""

from __future__ import annotations

import sys

import yaml

from devo_sqs.config.server_mode import load_config_source
from devo_sqs.config.sizing import Sizing
from devo_sqs.processing.services import ServiceRouter


def validate(path: str | None) -> int:
    """`path` None: Collector Server mode (the job and collector config files)."""
    config, source = load_config_source(path)
    spec = config.inputs.sqs_collector
    ServiceRouter.for_input(spec)
    resolved = {
        "globals": config.globals.model_dump(mode="json"),
        "outputs": {name: output.model_dump(mode="json") for name, output in config.outputs.items()},
        "inputs": {"sqs_collector": spec.model_dump(mode="json", by_alias=True)},
    }
    print(f"Configuration {source} is valid. Resolved (predefined definitions merged, defaults filled in):")
    yaml.safe_dump(resolved, sys.stdout, sort_keys=False, default_flow_style=False, width=120)
    print("# Worst-case memory of each process (README: Memory):")  # comments: the output stays YAML
    for line in Sizing.of(config).lines():
        print(f"#   {line}")
    return 0
