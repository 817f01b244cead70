"""`devo-sqs validate [CONFIG]`: every problem at once, or the resolved services exactly as they will run.

Secrets are never printed: the secret key and the external id are masked entirely, the access key id shows
its last four characters (enough to tell which key is configured)."""

from __future__ import annotations

import sys
from typing import Any

import yaml

from devo_sqs.config.advice import warnings
from devo_sqs.config.server_mode import load_config_source
from devo_sqs.processing.services import ServiceRouter

MASK = "********"
SECRET_CREDENTIALS = ("aws_secret_access_key", "aws_external_id")


def validate(path: str | None) -> int:
    """`path` None: Collector Server mode (the job and collector config files)."""
    config, source = load_config_source(path, check_files=True)
    spec = config.inputs.sqs_collector
    ServiceRouter.for_input(spec)
    shown_input = spec.model_dump(mode="json", by_alias=True)
    shown_input["credentials"] = masked_credentials(shown_input["credentials"])
    resolved = {
        "globals": config.globals.model_dump(mode="json"),
        "outputs": {name: output.model_dump(mode="json") for name, output in config.outputs.items()},
        "inputs": {"sqs_collector": shown_input},
    }
    for warning in warnings(config):
        print(f"Warning: {warning}", file=sys.stderr)
    print(f"Configuration {source} is valid. Resolved (predefined definitions merged, defaults filled in):")
    yaml.safe_dump(resolved, sys.stdout, sort_keys=False, default_flow_style=False, width=120)
    return 0


def masked_credentials(credentials: dict[str, Any]) -> dict[str, Any]:
    """The credentials as `validate` shows them."""
    shown = {**credentials, **{name: MASK for name in SECRET_CREDENTIALS if credentials.get(name) is not None}}
    key_id = credentials.get("aws_access_key_id")
    if key_id is not None:
        shown["aws_access_key_id"] = "*" * (len(key_id) - 4) + key_id[-4:] if len(key_id) > 4 else MASK
    return shown
